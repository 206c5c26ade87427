#!/bin/sh
# safemode.sh: a restarted namenode is read-only until its data nodes have
# reported their blocks (issue 6): reads answer, every change is refused
# with a cause naming safe mode, a client asks again until client.timeout
# and then fails with that cause, and a change asked for during safe mode
# with the default timeout succeeds once safe mode ends.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
HB="--heartbeat 1 --dead-timeout 4"

# Checks, as functions so that ok and wait_for can run them.
safemode_is() { dfs report | grep -q "safe mode: $1"; }
says() { pat=$1; shift; "$@" 2>&1 | grep -q -- "$pat"; }

cluster_start -n 2 -b 64K -r 2 $HB
head -c 300000 /dev/urandom >"$T/f1"
dfs mkdir /d
dfs put "$T/f1" /d/f1
dfs put "$T/f1" /d/f2
ok "the cluster starts out of safe mode" safemode_is off

# Every daemon stopped by PID; then the namenode alone, with a safe mode
# timeout far beyond this test's waits.
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
"$top_builddir/dfs-namenode" -c "$C/namenode.conf" \
    -o namenode.safemode_timeout=120s >>"$C/logs/namenode.log" 2>&1 &
echo $! >"$C/run/namenode.pid"
ok "the namenode comes back alone" wait_for 10 dfs report
ok "dfs report says safe mode" safemode_is ON
dfs fsck / >"$T/fsck" 2>&1 && st=0 || st=$?
ok "dfs fsck answers in safe mode (blocks unreported: not healthy)" \
    sh -c "test $st -ne 0 && grep -q '/d/f1' '$T/fsck'"
ok "dfs fsck says safe mode" grep -q "^safe mode: ON" "$T/fsck"
ok "dfs ls works in safe mode" says f2 dfs ls /d
ok "dfs stat works in safe mode" says "size: 300000" dfs stat /d/f1

t0=$(date +%s)
ok "dfs mkdir fails in safe mode, saying so" \
    fails_with "safe mode" dfs -o client.timeout=2s mkdir /x
t1=$(date +%s)
ok "the refused mkdir waited about client.timeout ($((t1 - t0)) s)" \
    test $((t1 - t0)) -ge 1 -a $((t1 - t0)) -le 10
ok "the cause says how many blocks are reported" says \
    "0 of [1-9][0-9]* blocks reported" dfs -o client.timeout=1s mkdir /x
ok "/x does not exist after the refused mkdir" \
    fails_with "no such" dfs stat /x
for op in "rm /d/f2" "mv /d/f1 /d/f3" "put $T/f1 /d/f4" "put -f $T/f1 /d/f2"; do
	ok "dfs $op fails in safe mode" \
	    fails_with "safe mode" dfs -o client.timeout=1s $op
done
dfs ls /d >"$T/ls" 2>&1
ok "nothing changed: /d/f1 and /d/f2 still there, no f3 or f4" sh -c \
    "grep -q f1 '$T/ls' && grep -q f2 '$T/ls' && ! grep -q 'f[34]' '$T/ls'"

# A mkdir and a put started now wait (client.timeout 30 s by default)...
dfs mkdir /y >"$T/bg-mkdir.out" 2>&1 &
bg_mkdir=$!
dfs put "$T/f1" /d/f5 >"$T/bg-put.out" 2>&1 &
bg_put=$!
sleep 3
ok "the waiting mkdir has not finished while in safe mode" \
    kill -0 "$bg_mkdir"
# ... until the data nodes come back and report.
"$top_builddir/dfs" cluster up "$C" -n 2 >>"$T/up.log" 2>&1
ok "safe mode ends once the data nodes report" wait_for 30 safemode_is off
wait "$bg_mkdir" && st=0 || st=$?
ok "the mkdir started during safe mode succeeded" test "$st" -eq 0
wait "$bg_put" && st=0 || st=$?
ok "the put started during safe mode succeeded" test "$st" -eq 0
ok "/y exists" dfs stat /y
dfs get /d/f5 "$T/f5" 2>/dev/null
ok "the put's bytes are right" cmp "$T/f1" "$T/f5"
ok "the same mkdir /x succeeds now" dfs -o client.timeout=2s mkdir /x
ok "dfs fsck is healthy and no longer says safe mode" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' fsck / >'$T/fsck2' && \
    ! grep -q 'safe mode' '$T/fsck2'"
dfs get /d/f1 "$T/f1.back" 2>/dev/null
ok "the data written before the restart reads back" cmp "$T/f1" "$T/f1.back"
finish
