#!/bin/sh
# put-get.sh: dfs put and dfs get of a 1 GiB file on a 3-node local
# cluster (replication 3), against cp of the same file on the same disk in
# the same run.  Not a test: prints MB/s and ratios.
#
#   bench/put-get.sh [BUILD_DIR] [SIZE_MIB]
set -eu
b=$(cd "${1:-build}" && pwd)
mib=${2:-1024}
t=$(mktemp -d "${TMPDIR:-/var/tmp}/npdfs-bench.XXXXXX")
trap '"$b/dfs" cluster down "$t/c" >/dev/null 2>&1 || true; rm -rf "$t"' EXIT

now() { date +%s.%N; }
rate() { echo "$1 $2 $3" | awk '{ printf "%.0f", $1 / ($3 - $2) }'; }
best() { echo "$@" | tr ' ' '\n' | sort -n | tail -1; }

head -c $((mib << 20)) /dev/urandom >"$t/src"
"$b/dfs" cluster up "$t/c" -n 3 -r 3 >/dev/null
dfs() { "$b/dfs" -c "$t/c/client.conf" "$@"; }

cps=""; puts=""; gets=""; cpr=""
for i in 1 2 3; do
	sync
	s=$(now); cp "$t/src" "$t/cp$i"; sync "$t/cp$i"; e=$(now)
	cps="$cps $(rate "$mib" "$s" "$e")"
	sync
	s=$(now); dfs put -f "$t/src" /big; e=$(now)
	puts="$puts $(rate "$mib" "$s" "$e")"
	sync
	s=$(now); dfs get /big "$t/got$i"; sync "$t/got$i"; e=$(now)
	gets="$gets $(rate "$mib" "$s" "$e")"
	cmp "$t/src" "$t/got$i"
	rm -f "$t/cp$i" "$t/got$i"
done
cp=$(best $cps); put=$(best $puts); get=$(best $gets)
echo "file: $mib MiB, 3 data nodes, replication 3 (best of 3 runs)"
echo "cp (local disk, synced): $cp MB/s   runs:$cps"
echo "dfs put:                 $put MB/s   runs:$puts"
echo "dfs get (synced):        $get MB/s   runs:$gets"
echo "$put $get $cp" | awk '{ printf "put/cp = %.2fx (target >= 0.45)\nget/cp = %.2fx (target >= 0.80)\n", $1 / $3, $2 / $3 }'
