#!/bin/sh
# balance.sh: what the balancer costs (issue 14).  SIZE MiB of files on 3
# data nodes (replication 3), 2 empty nodes added to the running cluster,
# `dfs admin balance`: the bytes it moved against the bytes that had to
# move (those beyond the threshold when it started; target <= 1.2x), and
# put/get throughput of a probe file while it runs against the same before
# it (target >= 0.7x).  Not a test: prints figures and ratios.
#
#   bench/balance.sh [BUILD_DIR] [SIZE_MIB] [THRESHOLD_PCT] [BANDWIDTH]
#
# Defaults: 4096 MiB, 10%, 64M a second; PROBE_MIB=N in the environment
# sets the probe's size (default 1/64 of the data).  Blocks are 64 MiB from 1 GiB up,
# 1 MiB below (a small run still has blocks to move).
set -eu
b=$(cd "${1:-build}" && pwd)
mib=${2:-4096}
th=${3:-10}
bw=${4:-64M}
t=$(mktemp -d "${TMPDIR:-/var/tmp}/npdfs-bench.XXXXXX")
trap '"$b/dfs" cluster down "$t/c" >/dev/null 2>&1 || true; rm -rf "$t"' \
    EXIT
# A bench stopped by a signal still stops its cluster.
trap 'exit 1' INT TERM HUP

. "$(dirname "$0")/lib.sh"

bs=64M
[ "$mib" -lt 1024 ] && bs=1M
nfiles=32
fmib=$((mib / nfiles))
[ "$fmib" -ge 1 ] || fmib=1
# A probe of 1/64 of the data: its replicas, landing on the emptiest
# nodes and deleted after each round, are noise well inside the threshold.
pmib=${PROBE_MIB:-$((mib / 64))}
[ "$pmib" -le 256 ] || pmib=256
[ "$pmib" -ge 1 ] || pmib=1
head -c $((fmib << 20)) /dev/urandom >"$t/file"
head -c $((pmib << 20)) /dev/urandom >"$t/probe"
# Replicas may go at once (as in the tests): the probe's are removed.
"$b/dfs" cluster up "$t/c" -n 3 -r 3 -b $bs -o namenode.delete_grace=0 \
    >/dev/null
dfs() { "$b/dfs" -c "$t/c/client.conf" "$@"; }

i=1
while [ $i -le $nfiles ]; do
	dfs put "$t/file" "/f$i"
	i=$((i + 1))
done

# probe: one put and one get of the probe file, then removed so that the
# probes leave the balance as they found it; prints "PUT GET" MB/s.
probe() {
	s=$(now); dfs put "$t/probe" /probe; m=$(now)
	dfs get /probe "$t/got"; e=$(now)
	cmp "$t/probe" "$t/got"
	rm -f "$t/got"
	dfs rm /probe
	echo "$(rate "$pmib" "$s" "$m") $(rate "$pmib" "$m" "$e")"
}
before=""
for k in 1 2 3; do
	before="$before$(probe)\n"
done

"$b/dfs" cluster up "$t/c" -n 5 >/dev/null
sleep 2		# a heartbeat from each new node
s0=$(now)
dfs admin balance --threshold "$th" --bandwidth "$bw" --no-wait \
    >"$t/start"
must=$(sed -n 's/.*, \([0-9]*\) bytes beyond it.*/\1/p' "$t/start")
dfs admin balance --status >"$t/status0"
# To the mean exactly: what the nodes below it lack.
tomean=$(awk '/^[0-9]/ { l[NR] = $3; s += $3; n++ }
    END { m = s / n; for (i in l) if (l[i] < m) d += m - l[i]
    printf "%.0f", d }' "$t/status0")

during=""
k=0
while [ $k -lt 20 ] && dfs admin balance --status |
    grep -q '^balance: running'; do
	during="$during$(probe)\n"
	k=$((k + 1))
done
while dfs admin balance --status | grep -q '^balance: running'; do
	sleep 1
done
e0=$(now)
dfs admin balance --status >"$t/status1"
moved=$(sed -n 's/^balance: [a-z]*, [0-9]* blocks* (\([0-9]*\) bytes).*/\1/p' \
    "$t/status1")
state=$(sed -n 's/^balance: \([a-z]*\),.*/\1/p' "$t/status1")

echo "files: $nfiles x $fmib MiB, blocks $bs, replication 3; 3 data nodes" \
    "+ 2 added; threshold $th%, bandwidth $bw"
sed 's/^/  /' "$t/status1"
echo "balancer: $state after $(echo "$s0 $e0" | awk '{ printf "%.1f", $2 - $1 }') s"
echo "bytes moved: $moved; beyond the threshold at the start: $must;" \
    "to the mean exactly: $tomean"
echo "$moved $must $tomean" | awk '{ if ($2 > 0) printf "moved / had to move = %.2fx (target <= 1.2)\n", $1 / $2;
    if ($3 > 0) printf "moved / to the mean = %.2fx\n", $1 / $3 }'
avg() { printf "$1" | awk -v c="$2" 'NF { s += $c; n++ } END { if (n) printf "%.0f", s / n; else print 0 }'; }
bp=$(avg "$before" 1); bg=$(avg "$before" 2)
dp=$(avg "$during" 1); dg=$(avg "$during" 2)
nd=$(printf "$during" | grep -c . || true)
echo "probe of $pmib MiB: put $bp MB/s, get $bg MB/s without the balancer" \
    "(mean of 3)"
echo "                   put $dp MB/s, get $dg MB/s while it ran" \
    "(mean of $nd)"
echo "$bp $bg $dp $dg" | awk '{ if ($1 > 0 && $2 > 0 && $3 > 0)
    printf "while balancing / without: put %.2fx, get %.2fx (target >= 0.7)\n", $3 / $1, $4 / $2 }'
