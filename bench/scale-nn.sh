#!/bin/sh
# scale-nn.sh: one namenode with a large namespace of empty files (issue
# 14).  Not a test: prints figures.
#
#   bench/scale-nn.sh [BUILD_DIR] [FILES] [BIG]
#
# Fills the namespace through the namenode (bench/ns_fill.py: MKNOD,
# pipelined on 4 connections; not straight into SQLite) with FILES empty
# files (default 10,000,000), BIG of them (default 100,000) in one
# directory and the rest 1,000 a directory, then prints: the namenode's
# RSS, the database's size, the time from a kill -9 and restart to
# serving and to leaving safe mode, stat and open rates (nn-bench, 16
# threads) against the same on an empty namespace, and the time to list
# the largest directory with dfs ls.  Blocks at scale come from the
# simulated data nodes instead (nn-bench -op blockreport): 20 million
# block files would exhaust this disk's inodes.
set -eu
b=$(cd "${1:-build}" && pwd)
files=${2:-10000000}
big=${3:-100000}
src=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
t=$(mktemp -d "${TMPDIR:-/var/tmp}/npdfs-scale.XXXXXX")
trap '"$b/dfs" cluster down "$t/c" >/dev/null 2>&1 || true; rm -rf "$t"' EXIT
trap 'exit 1' INT TERM HUP
. "$(dirname "$0")/lib.sh"

"$b/dfs" cluster up "$t/c" -n 1 -r 1 >/dev/null
conf="$t/c/client.conf"
dfs() { "$b/dfs" -c "$conf" "$@"; }
nnpid() { cat "$t/c/run/namenode.pid"; }
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$(nnpid)/status"; }
# rates LABEL: stat and open ops/s (16 threads, 20,000 each)
rates() {
	for op in stat open; do
		NPDFS_CONF=$conf "$b/bench/nn-bench" -op "$op" -threads 16 \
		    -n 20000 -no-floor -dir "/nb-$op" |
		    awk -v l="$1" -v op="$op" '/ops\/s/ {
		        for (i = 1; i <= NF; i++) if ($(i + 1) == "ops/s")
		            printf "%s %s: %s ops/s\n", l, op, $i }'
	done
}
# restart: kill -9, then up; prints "SERVING SAFEMODE_OFF" seconds
restart() {
	kill -9 "$(nnpid)"
	while kill -0 "$(nnpid)" 2>/dev/null; do sleep 0.05; done
	s=$(now)
	"$b/dfs" cluster up "$t/c" >/dev/null 2>&1 &
	until dfs stat / >/dev/null 2>&1; do sleep 0.05; done
	e1=$(now)
	until dfs report 2>/dev/null | grep -q '^safe mode: off'; do
		sleep 0.05
	done
	e2=$(now)
	wait
	echo "$s $e1 $e2" | awk '{ printf "%.2f %.2f", $2 - $1, $3 - $1 }'
}

echo "== empty namespace"
echo "namenode RSS: $(rss) KiB"
rates empty
set -- $(restart)
echo "restart after kill -9: serving in $1 s, safe mode off in $2 s"

echo "== filling: $files files ($big in one directory)"
"$py" "$src/bench/ns_fill.py" "$conf" "$files" 1000 "$big"
db=$(du -k "$t/c/namenode/namespace.db" | cut -f1)
wal=$(du -k "$t/c/namenode/namespace.db-wal" 2>/dev/null | cut -f1 || echo 0)
echo "== $files files"
echo "namenode RSS: $(rss) KiB; database $db KiB (+ WAL $wal KiB)"
set -- $(restart)
echo "restart after kill -9: serving in $1 s, safe mode off in $2 s"
echo "namenode RSS after the restart: $(rss) KiB"
rates full
s=$(now)
n=$(dfs ls /scale/big | wc -l)
e=$(now)
echo "$n $s $e" | awk '{ printf "dfs ls of the largest directory (%d entries): %.2f s\n", $1, $3 - $2 }'
