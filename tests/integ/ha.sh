#!/bin/sh
# ha.sh: a group of three namenodes (issue 12).  `dfs cluster up
# --namenodes 3` starts them; `dfs cluster status` shows one leader and
# two followers.  A loop of 200 operations (put, mkdir, mv, rm, chmod)
# runs while the leader is killed with SIGKILL three times, at random
# moments, and restarted each time (ha_ops.py): every operation that
# succeeded is there with its bytes and mode, none was applied twice, and
# each failover's pause is logged.  Then fsck is healthy, the restarted
# members have caught up, and the three databases hold the same
# namespace (an ordered dump of every table, compared after a clean
# stop).
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/group.sh"
set -u

cluster_start --namenodes 3 -n 3 -b 64K -r 2 --heartbeat 1 \
    --dead-timeout 30 -o namenode.election_timeout=1000
st() { "$top_builddir/dfs" cluster status "$C" 2>/dev/null; }
roles() { st | grep -c " $1 term "; }
ok "status: one leader" test "$(roles leader)" -eq 1
ok "status: two followers" test "$(roles follower)" -eq 2
ok "client.conf lists the three members" \
    test "$(sed -n 's/^address *= *//p' "$C/client.conf" |
    tr ',' '\n' | grep -c :)" -eq 3

seed=${NPDFS_TEST_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
"$PYTHON" "$top_srcdir/tests/integ/ha_ops.py" "$top_builddir/dfs" "$C" "$T" \
    "$seed" >"$T/ops.log" 2>&1
rc=$?
cat "$T/ops.log"
ok "the operation loop's checks passed (seed $seed)" test "$rc" -eq 0

ok "within 60 s fsck is healthy" wait_for 60 dfs fsck /
ok "one leader again" wait_for 30 sh -c \
    "'$top_builddir/dfs' cluster status '$C' | grep -q ' leader term '"
# Every member applied the same entries.
ok "every member applied the same log" wait_for 30 \
    sh -c "[ \$('$top_builddir/dfs' cluster status '$C' | sed -n \
    's/.* applied \([0-9]*\)\$/\1/p' | sort -u | wc -l) -eq 1 ]"
"$top_builddir/dfs" cluster down "$C" >/dev/null
ok "the three databases hold the same namespace" same_namespace
n=$("$PYTHON" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT count(*) FROM inodes").fetchone()[0])' "$C/namenode/namespace.db")
ok "and it is not empty ($n inodes)" test "$n" -gt 20
finish
