#!/bin/sh
# ha-mount.sh: dfs-mount through a namenode failover (issue 12).  On
# three namenodes, `cp` of a 100 MiB file into the mount while the
# leader is killed with SIGKILL: the copy either succeeds and the file is
# whole and identical, or cp reports an error; never a success with
# missing bytes.  The mount keeps serving afterwards: a second copy, and
# reads of both, through the same mount; and dfs-sum works on the new
# leader, which signs tokens with the keys of the last one.  Last, a
# writer holding its file open renews its lease without adding entries to
# the log.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u
need_fuse
M="$T/mnt"
trap 'mounts_cleanup "$M"' EXIT

cluster_start --namenodes 3 -n 3 -b 1M -r 2 --heartbeat 1 \
    --dead-timeout 30
ok "mounted" mount_at "$M"
head -c $((100 << 20)) /dev/urandom >"$T/big"
leader() {
	"$top_builddir/dfs" cluster status "$C" |
	    awk '$6 == "leader" { print $1 }'
}
L=$(leader)
ok "a leader ($L)" test -n "$L"
# The key that signs tokens now, as the leader hands them out.
addr_of() {
	"$top_builddir/dfs" cluster status "$C" |
	    awk -v n="$1" '$1 == n { print $3 }'
}
key_of() { "$PYTHON" "$top_srcdir/tests/integ/ha_token.py" "$(addr_of "$1")" /k; }
head -c 1000 /dev/urandom >"$T/k"
dfs put "$T/k" /k
k1=$(key_of "$L")
ok "the leader signs tokens (key $k1)" test -n "$k1"
cp "$T/big" "$M/big" 2>"$T/cp.err" &
cpid=$!
# Kill the leader once a tenth of the file went (or after 5 s).
n=0
while [ "$n" -lt 50 ] && kill -0 "$cpid" 2>/dev/null; do
	sz=$(stat -c %s "$M/big" 2>/dev/null || echo 0)
	[ "$sz" -ge $((10 << 20)) ] && break
	sleep 0.1
	n=$((n + 1))
done
sz=$(stat -c %s "$M/big" 2>/dev/null || echo 0)
ok "the copy was under way when the leader died ($sz bytes)" \
    kill -0 "$cpid"
kill -9 "$(cat "$C/run/$L.pid")"
echo "# killed the leader $L with $sz bytes copied"
wait "$cpid"
rc=$?
if [ "$rc" -eq 0 ]; then
	ok "cp succeeded: the file is whole and identical" \
	    cmp "$T/big" "$M/big"
	ok "and so it is through dfs get" sh -c \
	    "'$top_builddir/dfs' -c '$C/client.conf' get /big '$T/big.get' &&
	    cmp '$T/big' '$T/big.get'"
else
	echo "# cp failed: $(cat "$T/cp.err")"
	ok "cp reported an error (allowed), and said why" test -s "$T/cp.err"
fi
N=$(leader)
ok "another member leads ($N)" test -n "$N" -a "$N" != "$L"
k2=$(key_of "$N")
ok "it signs with the last leader's key ($k1), not one of its own ($k2)" \
    test -n "$k2" -a "$k2" = "$k1"
"$top_builddir/dfs" cluster up "$C" >/dev/null 2>&1
ok "the killed member is back" sh -c \
    "'$top_builddir/dfs' cluster status '$C' | grep '^$L ' |
    grep -q running"
head -c $((5 << 20)) /dev/urandom >"$T/small"
ok "a second copy through the same mount" cp "$T/small" "$M/small"
ok "reads back identical" cmp "$T/small" "$M/small"
"$PYTHON" -c 'import numpy as np, sys
np.save(sys.argv[1], np.arange(300000, dtype=np.float64))' "$T/a.npy"
ok "a .npy through the mount" cp "$T/a.npy" "$M/a.npy"
s=$("$top_builddir/dfs-sum" -c "$C/client.conf" /a.npy 2>&1)
ok "dfs-sum on the new leader: $s" test "$s" = "44999850000.0"
s=$("$top_builddir/dfs-sum" -c "$C/client.conf" "$M/a.npy" 2>&1)
ok "dfs-sum of the mount's path finds the group from the mount: $s" \
    test "$s" = "44999850000.0"
# A writer that holds its file open renews the lease every 2 s; renewals
# are volatile (live.leases), no entries of the log: the leader's applied
# index stays put while the writer sits idle (a put reading a pipe).
applied() {
	"$top_builddir/dfs" cluster status "$C" |
	    awk '$6 == "leader" { print $10 }'
}
(printf held; sleep 10) | dfs put - /held &
put=$!
sleep 3
a1=$(applied)
sleep 5
a2=$(applied)
ok "an idle writer's lease renewals add no entry (applied $a1, then $a2)" \
    test -n "$a1" -a "$a1" = "$a2"
ok "the put ends" wait "$put"
ok "... with its bytes" test "$(dfs cat /held)" = held
ok "within 60 s fsck is healthy" wait_for 60 dfs fsck /
finish
