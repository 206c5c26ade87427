#!/bin/sh
# group-commit.sh: nothing a client was told is done is lost when the
# namenode is killed (kill -9) while 16 clients create files at once
# (issue 14), with namenode.sync = always (the creates share syncs) and
# with the default interval.  bench/nn-bench -acked records every create
# the namenode acknowledged; after a restart each one must be there.
. "$top_srcdir/tests/lib/cluster.sh"

BENCH="$top_builddir/bench/nn-bench"
BENCHPID=

gc_cleanup() {
	[ -n "$BENCHPID" ] && kill "$BENCHPID" 2>/dev/null
	cluster_cleanup
}
trap gc_cleanup EXIT

acked() {
	if [ -f "$T/acked" ]; then wc -l <"$T/acked"; else echo 0; fi
}
acked_past() {
	[ "$(acked)" -ge "$1" ]
}
serving() {
	dfs stat / >/dev/null 2>&1
}

# round MODE: 16 creators, the namenode killed under them, then checked.
round() {
	mode=$1
	C="$T/c-$mode"
	cluster_start -n 1 -r 1 -o "namenode.sync=$mode"
	NN=$(sed -n 's/^address *= *"*\([^"]*\)"*$/\1/p' "$C/client.conf" |
	    head -n 1)
	rm -f "$T/acked"
	"$BENCH" -c "$C/client.conf" -op create -threads 16 -n 100000000 \
	    -files-per-dir 500 -dir /gc -keep -no-floor -acked "$T/acked" \
	    >"$T/bench-$mode.out" 2>&1 &
	BENCHPID=$!
	ok "$mode: the 16 creators have 1,000 creates acknowledged" \
	    wait_for 300 acked_past 1000
	kill -9 "$(cat "$C/run/namenode.pid")"
	ok "$mode: nn-bench ends once the namenode is gone" \
	    wait_for 180 sh -c "! kill -0 $BENCHPID 2>/dev/null"
	wait "$BENCHPID"
	st=$?
	BENCHPID=
	ok "$mode: its creators stopped at errors (exit 1)" test "$st" -eq 1
	n=$(acked)
	echo "# $mode: $n creates acknowledged before the kill"
	ok "$mode: the namenode starts again" sh -c \
	    "'$top_builddir/dfs' cluster up '$C' >>'$T/up.log' 2>&1"
	ok "$mode: it serves" wait_for 60 serving
	"$PYTHON" "$top_srcdir/tests/integ/group_commit_check.py" "$NN" \
	    "$T/acked" >"$T/check-$mode.out" 2>&1
	cat "$T/check-$mode.out"
	ok "$mode: every acknowledged create survived the kill" \
	    grep -q "^acked $n missing 0\$" "$T/check-$mode.out"
	ok "$mode: fsck is healthy" sh -c "'$top_builddir/dfs' -c \
	    '$C/client.conf' fsck / | grep -q 'status: HEALTHY'"
	"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
}

round always
round interval
finish
