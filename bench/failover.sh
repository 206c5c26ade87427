#!/bin/sh
# failover.sh: a group of three namenodes against one (issue 12).  Not a
# test: prints figures.
#
# 1. The pause a client sees when the leader dies: a loop of `dfs stat`
#    runs while the leader is killed with SIGKILL KILLS times (and
#    restarted, and caught up, before the next); the pause is the time
#    from the kill to the first stat begun after it that succeeds.
#    Median and worst.
# 2. Namespace rates (bench/nn-bench create, stat, delete; THREADS
#    threads, N operations) on the group against one namenode that syncs
#    every change (namenode.sync = always), in the same run.
#
#   bench/failover.sh [BUILD_DIR] [KILLS] [N] [THREADS]
set -eu
b=$(cd "${1:-build}" && pwd)
kills=${2:-5}
n=${3:-5000}
threads=${4:-4}
t=$(mktemp -d "${TMPDIR:-/var/tmp}/npdfs-bench.XXXXXX")
trap '"$b/dfs" cluster down "$t/g" >/dev/null 2>&1 || true
"$b/dfs" cluster down "$t/s" >/dev/null 2>&1 || true; rm -rf "$t"' EXIT
trap 'exit 1' INT TERM HUP
. "$(dirname "$0")/lib.sh"

"$b/dfs" cluster up "$t/g" --namenodes 3 -n 3 --heartbeat 1 >/dev/null
g="$b/dfs -c $t/g/client.conf"
$g mkdir /p
leader() {
	"$b/dfs" cluster status "$t/g" | awk '$6 == "leader" { print $1 }'
}
same() {
	[ "$("$b/dfs" cluster status "$t/g" |
	    sed -n 's/.* applied \([0-9]*\)$/\1/p' | sort -u | wc -l)" -eq 1 ]
}
pauses=""
for k in $(seq "$kills"); do
	L=$(leader)
	: >"$t/stats"
	( while :; do
		s=$(now)
		if $g stat /p >/dev/null 2>&1; then
			echo "$s $(now)" >>"$t/stats"
		fi
	done ) &
	loop=$!
	sleep 1
	kt=$(now)
	kill -9 "$(cat "$t/g/run/$L.pid")"
	# Until a stat begun after the kill has succeeded.
	while ! awk -v k="$kt" '$1 >= k { f = 1 } END { exit !f }' \
	    "$t/stats"; do
		sleep 0.05
	done
	kill "$loop"
	wait "$loop" 2>/dev/null || true
	p=$(awk -v k="$kt" '$1 >= k { if (!m || $2 < m) m = $2 }
	    END { printf "%.2f", m - k }' "$t/stats")
	echo "kill $k: $L, pause $p s"
	pauses="$pauses $p"
	"$b/dfs" cluster up "$t/g" >/dev/null
	while ! same; do sleep 0.2; done
done
echo "$pauses" | tr ' ' '\n' | grep . | sort -n | awk '
    { v[NR] = $1 }
    END { printf "failover pause over %d kills: median %.2f s, worst %.2f s " \
        "(targets: 3 s, 6 s)\n", NR, v[int((NR + 1) / 2)], v[NR] }'

"$b/dfs" cluster up "$t/s" -n 3 -o namenode.sync=always >/dev/null
rates() {	# rates CONF: "create stat delete" ops/s
	for op in create stat delete; do
		NPDFS_CONF=$1 "$b/bench/nn-bench" -op "$op" -threads "$threads" \
		    -n "$n" -no-floor -dir /nb 2>/dev/null |
		    awk '/ops\/s|\/s / { for (i = 1; i <= NF; i++)
		        if ($(i + 1) ~ /\/s$/) { print $i; exit } }'
	done | tr '\n' ' '
}
set -- $(rates "$t/s/client.conf")
s_c=$1 s_s=$2 s_d=$3
set -- $(rates "$t/g/client.conf")
g_c=$1 g_s=$2 g_d=$3
for x in "create $s_c $g_c" "stat $s_s $g_s" "delete $s_d $g_d"; do
	set -- $x
	echo "$1/s: one namenode (sync always) $2, group of three $3," \
	    "ratio $(echo "$3 $2" | awk '{ printf "%.2f", $1 / $2 }')" \
	    "(target 0.5)"
done
