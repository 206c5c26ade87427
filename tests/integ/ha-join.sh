#!/bin/sh
# ha-join.sh: a member of a namenode group that lost its state comes back
# only by the join command (issue 12).  Three namenodes, a log compacted
# every 64 entries.  A follower is killed with SIGKILL; with its Raft log
# removed (its namespace kept) it refuses to start, and with its whole
# state directory removed it refuses too, each time naming the join
# command.  `dfs cluster namenode join` brings it back: it takes the
# leader's namespace, the leader admits it as a voter once caught up,
# and a client loop of mkdirs runs throughout without one failure.  Then
# it is a voter indeed: with the leader killed, it and the third member
# elect a new leader that serves.  Last, the three databases hold the
# same namespace.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/group.sh"
set -u

cluster_start --namenodes 3 -n 3 -b 64K -r 2 --heartbeat 1 \
    --dead-timeout 30 -o namenode.election_timeout=1000 \
    -o namenode.snapshot_entries=64
status() { "$top_builddir/dfs" cluster status "$C" 2>/dev/null; }
# role NAME: the seat a member says it has ("-" when it does not answer).
role() { status | awk -v n="$1" '$1 == n { print $6 }'; }
leader() { status | awk '$6 == "leader" { print $1 }'; }
is_role() { [ "$(role "$1")" = "$2" ]; }
has_leader() { [ -n "$(leader)" ]; }
gone() { ! status | grep -q "^$1 .*running"; }
reads_back() { dfs get /f "$T/f.get" && cmp "$T/f" "$T/f.get"; }
member_dir() { [ "$1" = namenode ] && echo "$C/namenode" || echo "$C/$1"; }
member_id() { [ "$1" = namenode ] && echo 1 || echo "${1#namenode}"; }

# More entries than a snapshot's 64 and the 17 kept after it: the log the
# leader keeps no longer starts at 1, so the joining member gets a
# snapshot and then the log.
for i in $(seq 1 100); do
	dfs mkdir "/before$i" || echo "# mkdir /before$i failed"
done
head -c 300000 /dev/urandom >"$T/f"
ok "a file goes in" dfs put "$T/f" /f

L=$(leader)
F=$(status | awk '$6 == "follower" { print $1; exit }')
ok "a leader ($L) and a follower ($F)" test -n "$L" -a -n "$F"
FD=$(member_dir "$F")
FID=$(member_id "$F")
addr_of() { status | awk -v n="$1" '$1 == n { print $3 }'; }
"$PYTHON" "$top_srcdir/tests/integ/ha_join_hostile.py" "$C" "$(addr_of "$L")" \
    "$(addr_of "$F")" "$FID" >"$T/hostile.log" 2>&1
rc=$?
cat "$T/hostile.log"
ok "hostile GROUP_JOIN and GROUP_DB requests get clear errors" test "$rc" -eq 0
ok "... and the group still has its three members" \
    test "$(status | grep -c ' term ')" -eq 3
kill -9 "$(cat "$C/run/$F.pid")"
ok "the follower is gone" wait_for 10 gone "$F"

# A client loop throughout, from here to the end of the join.
: >"$T/loop.fail"
(
	i=0
	while [ ! -e "$T/loop.stop" ]; do
		i=$((i + 1))
		"$top_builddir/dfs" -c "$C/client.conf" mkdir "/during$i" \
		    2>>"$T/loop.fail" || echo "mkdir /during$i failed" \
		    >>"$T/loop.fail"
		echo "$i" >"$T/loop.n"
	done
) &
loop=$!

mark=$(wc -l <"$C/logs/$F.log")
rm -rf "$FD/raft"
"$top_builddir/dfs" cluster up "$C" >/dev/null 2>&1
refused() {
	tail -n +$((mark + 1)) "$C/logs/$F.log" | grep -q "$1" && gone "$F"
}
ok "its Raft log gone, it refuses to start, naming the join command" \
    wait_for 30 refused "rejoins only by 'dfs-namenode --join'"

mark=$(wc -l <"$C/logs/$F.log")
rm -rf "$FD"
"$top_builddir/dfs" cluster up "$C" >/dev/null 2>&1
ok "its state directory gone, it refuses to start (never formats)" \
    wait_for 30 refused "comes back only by 'dfs-namenode --join'"
ok "... and made no namespace" test ! -e "$FD/namespace.db"

ok "dfs cluster namenode join $FID" \
    "$top_builddir/dfs" cluster namenode join "$C" "$FID"
ok "it is a follower again" wait_for 30 is_role "$F" follower
ok "it took the leader's namespace" test -e "$FD/namespace.db"
ok "... and caught up from a snapshot and the log" \
    grep -q "namespace restored from a snapshot" "$C/logs/$F.log"
sleep 2
touch "$T/loop.stop"
wait "$loop"
n=$(cat "$T/loop.n")
echo "# $n mkdirs during the kill and the join"
ok "the group served throughout: $n mkdirs, none failed" \
    test ! -s "$T/loop.fail" -a "$n" -gt 5
[ -s "$T/loop.fail" ] && sed 's/^/# /' "$T/loop.fail" | head -5

ok "a join of a running member is refused" sh -c \
    "! '$top_builddir/dfs' cluster namenode join '$C' '$FID' 2>/dev/null"

# A voter: with the leader gone, it and the third member elect one.
L=$(leader)
kill -9 "$(cat "$C/run/$L.pid")"
ok "with the leader ($L) killed, another is elected" wait_for 30 has_leader
N=$(leader)
ok "... not the killed one ($N)" test -n "$N" -a "$N" != "$L"
ok "and it serves: mkdir /after" dfs mkdir /after
dfs ls / >"$T/ls"
ok "every mkdir of the loop is there, once" \
    test "$(grep -c 'during[0-9]' "$T/ls")" -eq "$n"
ok "the file reads back" reads_back

"$top_builddir/dfs" cluster up "$C" >/dev/null 2>&1
ok "every member applied the same log" wait_for 60 \
    sh -c "[ \$('$top_builddir/dfs' cluster status '$C' | sed -n \
    's/.* applied \([0-9]*\)\$/\1/p' | sort -u | wc -l) -eq 1 ]"
"$top_builddir/dfs" cluster down "$C" >/dev/null
ok "the three databases hold the same namespace" same_namespace
finish
