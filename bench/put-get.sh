#!/bin/sh
# put-get.sh: dfs put and dfs get of a 1 GiB file on a 3-node local
# cluster (replication 3), against cp of the same file on the same disk in
# the same run, and against three durable copies of the file written at
# once (what three replicas on one disk cost at the least, so the most a
# put can reach here).  Not a test: prints MB/s and ratios.  Then how long a
# reader stalls when the data node serving it hangs (SIGSTOP): a 64 MiB
# file in 1 MiB blocks is read with each node stopped in turn, against
# the same read with all nodes up; the worst extra time is printed.
#
#   bench/put-get.sh [BUILD_DIR] [SIZE_MIB] [KEY=VALUE...]
#
# KEY=VALUE settings go to the cluster's configuration, for instance
# datanode.direct_io=false to write through the page cache (see
# npdfs.conf(5)).
set -eu
b=$(cd "${1:-build}" && pwd)
mib=${2:-1024}
shift $(($# < 2 ? $# : 2))
opts=""
for kv in "$@"; do
	opts="$opts -o $kv"
done
t=$(mktemp -d "${TMPDIR:-/var/tmp}/npdfs-bench.XXXXXX")
stopped=
trap '[ -n "$stopped" ] && kill -CONT "$stopped"
"$b/dfs" cluster down "$t/c" >/dev/null 2>&1 || true
"$b/dfs" cluster down "$t/p" >/dev/null 2>&1 || true; rm -rf "$t"' EXIT
# A bench stopped by a signal still stops its cluster.
trap 'exit 1' INT TERM HUP

. "$(dirname "$0")/lib.sh"

head -c $((mib << 20)) /dev/urandom >"$t/src"
"$b/dfs" cluster up "$t/c" -n 3 -r 3 $opts >/dev/null
dfs() { "$b/dfs" -c "$t/c/client.conf" "$@"; }
# The same cluster with block data outside TLS (net.encrypt_data=false on
# every node and the client: authenticated, not encrypted), side by side.
"$b/dfs" cluster up "$t/p" -n 3 -r 3 $opts -o net.encrypt_data=false \
    >/dev/null
dfsp() { "$b/dfs" -c "$t/p/client.conf" -o net.encrypt_data=false "$@"; }

cps=""; puts=""; gets=""; floors=""; pputs=""; pgets=""
for i in 1 2 3; do
	sync
	s=$(now); cp "$t/src" "$t/cp$i"; sync "$t/cp$i"; e=$(now)
	cps="$cps $(rate "$mib" "$s" "$e")"
	rm -f "$t/cp$i"
	floors="$floors $(floor "$t/src" "$mib")"
	sync
	s=$(now); dfs put -f "$t/src" /big; e=$(now)
	puts="$puts $(rate "$mib" "$s" "$e")"
	sync
	s=$(now); dfs get /big "$t/got$i"; sync "$t/got$i"; e=$(now)
	gets="$gets $(rate "$mib" "$s" "$e")"
	cmp "$t/src" "$t/got$i"
	rm -f "$t/got$i"
	sync
	s=$(now); dfsp put -f "$t/src" /big; e=$(now)
	pputs="$pputs $(rate "$mib" "$s" "$e")"
	sync
	s=$(now); dfsp get /big "$t/got$i"; sync "$t/got$i"; e=$(now)
	pgets="$pgets $(rate "$mib" "$s" "$e")"
	cmp "$t/src" "$t/got$i"
	rm -f "$t/got$i"
done
"$b/dfs" cluster down "$t/p" >/dev/null
cp=$(best $cps); put=$(best $puts); get=$(best $gets); fl=$(best $floors)
pput=$(best $pputs); pget=$(best $pgets)
echo "file: $mib MiB, 3 data nodes, replication 3" \
    "(best of 3 runs)${opts:+,$opts}"
echo "cp (local disk, synced): $cp MB/s   runs:$cps"
echo "3 durable copies at once: $fl MB/s   runs:$floors"
echo "dfs put:                 $put MB/s   runs:$puts"
echo "dfs get (synced):        $get MB/s   runs:$gets"
echo "$put $get $cp $fl" | awk '{ printf "put/cp = %.2fx (target >= 0.45; the disk allows at most %.2fx)\nput/(3 durable copies) = %.2fx\nget/cp = %.2fx (target >= 0.80)\n", $1 / $3, $4 / $3, $1 / $4, $2 / $3 }'
echo "dfs put, data unencrypted:  $pput MB/s   runs:$pputs"
echo "dfs get, data unencrypted:  $pget MB/s   runs:$pgets"
echo "$put $get $pput $pget" | awk '{ printf "encrypted/unencrypted: put %.2fx (target >= 0.85), get %.2fx (target >= 0.75)\n", $1 / $3, $2 / $4 }'

# The stall: extra seconds of a read while one data node is stopped.
head -c $((64 << 20)) "$t/src" >"$t/small"
dfs put -f -b 1M "$t/small" /small
secs() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }
base=""
for i in 1 2 3; do
	s=$(now); dfs get /small "$t/g"; e=$(now); rm -f "$t/g"
	base="$base $(secs "$s" "$e")"
done
base=$(echo "$base" | tr ' ' '\n' | sed '/^$/d' | sort -n | head -1)
worst=0; each=""
for n in 1 2 3; do
	stopped=$(cat "$t/c/run/datanode$n.pid")
	kill -STOP "$stopped"
	s=$(now); dfs get /small "$t/g" 2>/dev/null; e=$(now)
	kill -CONT "$stopped"; stopped=
	cmp "$t/small" "$t/g"; rm -f "$t/g"
	x=$(echo "$(secs "$s" "$e") $base" | awk '{ printf "%.2f", $1 - $2 }')
	each="$each $x"
	worst=$(echo "$worst $x" | awk '{ print ($2 > $1) ? $2 : $1 }')
done
echo "stall when a data node is stopped: $worst s   (node 1-3:$each;" \
    "read of 64 MiB unstopped: $base s; target <= 3)"
