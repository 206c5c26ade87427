#!/bin/sh
# group-commit.sh: nothing a client was told is done is lost when the
# namenode is killed (kill -9) while 16 clients create files at once
# (issue 14), with namenode.sync = always (the creates share syncs), with
# the default interval, and in a group of three (issue 12), where they
# share entries of the log.  bench/nn-bench -acked records every create
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

# creators LABEL: 16 creators (nn-bench) on $C in the background, until
# 1,000 of their creates are acknowledged.
creators() {
	rm -f "$T/acked"
	"$BENCH" -c "$C/client.conf" -op create -threads 16 -n 160000 \
	    -files-per-dir 500 -dir /gc -keep -no-floor -acked "$T/acked" \
	    >"$T/bench-$1.out" 2>&1 &
	BENCHPID=$!
	ok "$1: the 16 creators have 1,000 creates acknowledged" \
	    wait_for 300 acked_past 1000
}

# round MODE: 16 creators, the namenode killed under them, then checked.
round() {
	mode=$1
	C="$T/c-$mode"
	cluster_start -n 1 -r 1 -o "namenode.sync=$mode"
	NN=$(sed -n 's/^address *= *"*\([^"]*\)"*$/\1/p' "$C/client.conf" |
	    head -n 1)
	creators "$mode"
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

# --- a group of three: the leader killed under 16 creators ---------------
# Their creates share entries of the log (nn-group.c's batches); the
# clients go on with the new leader, and are stopped once it has
# acknowledged 500 more.  Every acknowledged create is there, the killed
# member catches up, and the three databases hold the same namespace.
. "$top_srcdir/tests/lib/group.sh"
C="$T/c-group"
cluster_start --namenodes 3 -n 1 -r 1 -o namenode.election_timeout=1000
ADDRS=$(sed -n 's/^address *= *"*\([^"]*\)"*$/\1/p' "$C/client.conf" |
    head -n 1)
leader_pid() {
	"$top_builddir/dfs" cluster status "$C" 2>/dev/null |
	    awk '/ leader term / { print $4; exit }'
}
applied() {
	"$top_builddir/dfs" cluster status "$C" 2>/dev/null |
	    sed -n 's/.* applied \([0-9]*\)$/\1/p' | sort -n | tail -n 1
}
a0=$(applied)
creators group
n1=$(acked)
a1=$(applied)
echo "# group: $n1 creates (a CREATE and a COMPLETE each) in $((a1 - a0))" \
    "entries of the log"
# Alone, each create takes two entries (and each of nn-bench's 320
# directories one more).
ok "group: creates shared entries (fewer than 2 a create)" \
    test $((a1 - a0)) -lt $((2 * n1))
lp=$(leader_pid)
ok "group: the leader is known" test -n "$lp"
kill -9 "$lp"
ok "group: the creators go on with a new leader (500 more acknowledged)" \
    wait_for 300 acked_past $((n1 + 500))
kill "$BENCHPID"
wait "$BENCHPID"
BENCHPID=
n=$(acked)
echo "# group: $n creates acknowledged"
ok "group: the killed member starts again" sh -c \
    "'$top_builddir/dfs' cluster up '$C' >>'$T/up.log' 2>&1"
"$PYTHON" "$top_srcdir/tests/integ/group_commit_check.py" "$ADDRS" \
    "$T/acked" >"$T/check-group.out" 2>&1
cat "$T/check-group.out"
ok "group: every acknowledged create is there" \
    grep -q "^acked $n missing 0\$" "$T/check-group.out"
ok "group: every member applied the same log" wait_for 60 \
    sh -c "[ \$('$top_builddir/dfs' cluster status '$C' | sed -n \
    's/.* applied \([0-9]*\)\$/\1/p' | sort -u | wc -l) -eq 1 ]"
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
ok "group: the three databases hold the same namespace" same_namespace
finish
