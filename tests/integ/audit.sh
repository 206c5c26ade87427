#!/bin/sh
# audit.sh: the namenode's audit log (issue 11).  After a few operations
# by alice and bob (their own certificates from `dfs cluster adduser`),
# DIR/logs/audit.log holds one line per namespace request with the right
# certificate, role, uid, gid, command, path(s) and result, refusals
# included (EACCES); a path holding a newline and " cmd=..." stays on one
# line and cannot fake a field; a data node message sent with a user's
# certificate is there with that certificate's name.  And BAD_BLOCK (a
# reader's report of a corrupt replica) is refused to someone who may not
# read the block's file, and only makes the replica suspect for one who
# may: it deletes nothing.
set -u
. "$top_srcdir/tests/lib/cluster.sh"

B="$top_builddir"
A="$C/logs/audit.log"
alice() { "$B/dfs" -c "$C/users/alice.conf" "$@"; }
bob() { "$B/dfs" -c "$C/users/bob.conf" "$@"; }
# lines PATTERN: how many audit lines match the extended regex PATTERN.
lines() { grep -cE -- "$1" "$A"; }
# once PATTERN: exactly one audit line matches, within 10 s (the log is
# written at least once a second).
once() {
	wait_for 10 sh -c "[ \$(grep -cE -- '$1' '$A') -ge 1 ]" >/dev/null
	n=$(lines "$1")
	[ "$n" -eq 1 ] || { echo "   $n lines match '$1':"; \
	    tail -n 30 "$A"; return 1; }
}

cluster_start -n 1
ok "cluster up writes the audit log in DIR/logs" test -f "$A"
ok "the audit log is 0600" test "$(stat -c %a "$A")" = 600
"$B/dfs" cluster adduser "$C" alice --uid 2001 --gid 2001 >/dev/null
"$B/dfs" cluster adduser "$C" bob --uid 2002 --gid 2002 >/dev/null
printf 'secret\n' >"$T/small"
dfs mkdir /home
dfs mkdir /home/alice
dfs chown 2001:2001 /home/alice

alice put "$T/small" /home/alice/f
alice chmod 600 /home/alice/f
alice mv /home/alice/f /home/alice/g
bob cat /home/alice/g >/dev/null 2>&1
bob rm /home/alice/g >/dev/null 2>&1
bob ls /home/alice >/dev/null
NL='/home/alice/x
2026-01-01T00:00:00.000Z result=ok cmd=DELETE cert=bob'
alice mkdir "$NL"

ID_A='cert=alice role=user uid=2001 gid=2001 addr=127\.0\.0\.1:[0-9]+'
ID_B='cert=bob role=user uid=2002 gid=2002 addr=127\.0\.0\.1:[0-9]+'
TS='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
ok "alice's put: one CREATE line (of its temporary name), ok" \
    once "$TS result=ok cmd=CREATE $ID_A src=/home/alice/\\.f\\.[^ ]+_COPYING_ dst=-$"
ok "... and one RENAME line to its name" \
    once "result=ok cmd=RENAME $ID_A src=/home/alice/\\.f\\.[^ ]+ dst=/home/alice/f$"
ok "alice's chmod: one SETATTR line" \
    once "result=ok cmd=SETATTR $ID_A src=/home/alice/f dst=-$"
ok "alice's mv: one RENAME line with both paths" \
    once "result=ok cmd=RENAME $ID_A src=/home/alice/f dst=/home/alice/g$"
ok "bob's cat of alice's 0600 file: GET_BLOCKS refused, EACCES" \
    once "result=EACCES cmd=GET_BLOCKS $ID_B src=/home/alice/g dst=-$"
ok "bob's rm in alice's 0755 directory: refused, EACCES" \
    once "result=EACCES cmd=(DELETE|UNLINK) $ID_B src=/home/alice/g dst=-$"
ok "bob's ls: a LIST line, ok" \
    once "result=ok cmd=LIST $ID_B src=/home/alice dst=-$"
ok "the superuser's chown: its identity, uid 0" \
    once "result=ok cmd=SETATTR cert=[^ ]+ role=superuser uid=0 gid=0 .* src=/home/alice dst=-$"
ok "a path with a newline and ' cmd=': one line, escaped" \
    once "result=ok cmd=MKDIR $ID_A src=/home/alice/x\\\\n2026-01-01T00:00:00\\.000Z\\\\x20result=ok\\\\x20cmd=DELETE\\\\x20cert=bob dst=-$"
ok "every line has the documented shape (nothing forged)" \
    test "$(grep -cvE "$TS result=[A-Za-z0-9]+ cmd=[A-Z_]+ cert=[^ ]+ role=[a-z]+ uid=[0-9]+ gid=[0-9]+ addr=[^ ]+ src=[^ ]+ dst=[^ ]+$" "$A")" -eq 0
ok "no forged line (the only DELETE is bob's refused one)" \
    test "$(lines "$TS result=[^ ]+ cmd=DELETE ")" -eq 1
ok "data node heartbeats are not audited" test "$(lines "cmd=HEARTBEAT")" -eq 0

# A data node message with bob's certificate, then BAD_BLOCK: refused to
# bob (he cannot read /home/alice/g), accepted from alice, and neither
# deletes a replica.
bid=$(dfs fsck /home/alice/g --blocks | sed -n 's/^ *block \([0-9]*\) gen \([0-9]*\).*/\1 \2/p' | head -n 1)
ok "fsck names the block of /home/alice/g" test -n "$bid"
"$PYTHON" - "$C" $bid >"$T/py" 2>&1 <<'EOF'
import errno, os, sys
sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "lib"))
import npdfs_wire as w
c, block, gen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host, port = w.read_conf(os.path.join(c, "client.conf"))[
    "namenode.address"].rsplit(":", 1)
def call(who, t, p):
    conn = w.Conn(host, int(port), conf=os.path.join(c, "users",
                                                    who + ".conf"))
    rt, rp = conn.call(t, p)
    conn.close()
    return w.error_of(rp)[0] if rt == w.MSG_ERROR else 0
bad = w.Payload().u64(block).u64(gen).u64(1).str("test")
print("HEARTBEAT", call("bob", 202, w.Payload().str("x").u64(1).u64(0)
      .u64(0).u64(0).u32(0)) == -errno.EACCES)
print("ACT_AS", call("bob", 150, w.Payload().u32(2001).u32(2001).u32(0)))
print("BAD_BLOCK bob", call("bob", 119, bad))
print("BAD_BLOCK alice", call("alice", 119, bad))
EOF
ok "HEARTBEAT with bob's certificate refused" grep -q "^HEARTBEAT True" "$T/py"
ok "the refused HEARTBEAT is audited with bob's certificate" \
    once "result=EACCES cmd=HEARTBEAT cert=bob role=user .* src=- dst=-$"
ok "bob claiming alice's uid (ACT_AS) is refused" \
    grep -qx "ACT_AS -$(python3 -c 'import errno; print(errno.EACCES)')" "$T/py"
ok "... and audited, as bob" \
    once "result=EACCES cmd=ACT_AS $ID_B src=- dst=-$"
ok "BAD_BLOCK from bob, who cannot read the file: EACCES" \
    grep -qx "BAD_BLOCK bob -$(python3 -c 'import errno; print(errno.EACCES)')" "$T/py"
ok "BAD_BLOCK from alice, who can: accepted" \
    grep -qx "BAD_BLOCK alice 0" "$T/py"
ok "bob's BAD_BLOCK audited as refused, with the file's path" \
    once "result=EACCES cmd=BAD_BLOCK $ID_B src=/home/alice/g dst=-$"
ok "alice's BAD_BLOCK audited" \
    once "result=ok cmd=BAD_BLOCK $ID_A src=/home/alice/g dst=-$"
ok "the replica was not deleted: alice still reads her file" \
    wait_for 20 sh -c "'$B/dfs' -c '$C/users/alice.conf' cat \
    /home/alice/g | cmp -s - '$T/small'"
ok "every block file is still on disk" \
    test "$(ls "$C"/datanode1/current/blk_* | grep -vc meta)" -ge 1

# Log rotation: SIGHUP reopens the file.
mv "$A" "$A.1"
kill -HUP "$(cat "$C/run/namenode.pid")"
dfs stat /home >/dev/null
ok "after a rotation and SIGHUP, new lines go to a new audit.log" \
    wait_for 10 grep -q "cmd=STAT .* src=/home dst=-" "$A"
ok "... and not to the renamed one" \
    test "$(grep -c "cmd=STAT .* src=/home dst=-" "$A.1")" -eq 0

# namenode.audit_log: a relative path is in namenode.meta_dir; empty is
# no audit log at all.
restart() {	# restart VALUE: the cluster again, with audit_log=VALUE
	"$B/dfs" cluster down "$C" >/dev/null 2>&1
	cluster_start -o namenode.audit_log="$1"
	wait_for 20 dfs stat /home
}
restart rel.log
dfs stat /home/alice >/dev/null
ok "audit_log=rel.log: the log is namenode.meta_dir/rel.log" \
    wait_for 10 grep -q "cmd=STAT .* src=/home/alice dst=-" \
    "$C/namenode/rel.log"
# (every audit line there is, wherever a default could have put it)
all_lines() { cat "$A" "$C"/namenode/*.log 2>/dev/null | wc -l; }
n=$(all_lines)
restart ""
dfs stat /home/alice >/dev/null
bob cat /home/alice/g >/dev/null 2>&1
sleep 2
ok "audit_log empty: no audit line anywhere" \
    test "$(all_lines)" -eq "$n"
ok "... and the namenode says so" grep -q "no audit log" \
    "$C/logs/namenode.log"
finish
