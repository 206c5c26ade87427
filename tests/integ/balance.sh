#!/bin/sh
# balance.sh: the balancer (issue 14, namenode/nn-balance.c).  60 files on
# 3 data nodes (replication 3), 2 empty nodes added to the running
# cluster, `dfs admin balance --threshold 10`: it ends "done", every node
# then stores within 10% of the mean (measured on the disks: the bytes of
# the block files of each node's directory), every block has exactly 3
# replicas on 3 nodes, every file reads back identical, and fsck is
# healthy at every poll while it runs, also while one of the new nodes
# is stopped (SIGSTOP) for 4 s, its copies stalled: a source replica
# deleted before its copy has arrived would show as under-replicated.
# Also: only the superuser may run
# it; bad arguments are refused with a clear message (by dfs, and by the
# namenode when sent raw); --stop stops a run whose moves then finish; a
# second start while one runs is refused; a namenode killed during a run
# restarts without it, and its half-done moves leave nothing amiss.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
TH=10
mkdir "$T/in" "$T/out"
cluster_start -n 3 -b 256K -r 3 --heartbeat 1 --dead-timeout 30

# disk_bytes N: the bytes of data node N's block files (checksum
# sidecars aside).
disk_bytes() {
	find "$C/datanode$1/current" -name 'blk_*' ! -name '*.meta' \
	    -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

# within PCT N...: every node N's disk bytes within PCT% of their mean.
within() {
	pct=$1
	shift
	sizes=""
	for n in "$@"; do
		sizes="$sizes $(disk_bytes "$n")"
	done
	echo "$sizes" | awk -v p="$pct" '{
		for (i = 1; i <= NF; i++) s += $i
		m = s / NF
		for (i = 1; i <= NF; i++) {
			d = ($i > m ? $i - m : m - $i) / m * 100
			if (d > p) { print "   node " i ": " $i " bytes, " d \
			    "% from the mean " m; bad = 1 }
		}
		exit bad }'
}

# exactly_3: fsck healthy, every block with 3 replicas on 3 nodes, and
# as many block files on the disks as replicas.
exactly_3() {
	dfs fsck / --blocks >"$T/fsck3" 2>&1 || return 1
	grep -q "status: HEALTHY" "$T/fsck3" || return 1
	! grep -q "OVER-REPLICATED" "$T/fsck3" || return 1
	nb=$(grep -c '^ *block ' "$T/fsck3")
	n3=$(grep -c '^ *block .* replicas 3: [^ ]* [^ ]* [^ ]*$' "$T/fsck3")
	files=$(find "$C"/datanode*/current -name 'blk_*' ! -name '*.meta' |
	    wc -l)
	[ "$nb" -eq 60 ] && [ "$n3" -eq 60 ] && [ "$files" -eq 180 ]
}

all_read_back() {
	for i in $(seq 1 60); do
		rm -f "$T/out/f$i"
		dfs get "/f$i" "$T/out/f$i" 2>/dev/null || return 1
		cmp -s "$T/in/f$i" "$T/out/f$i" || return 1
	done
}

# --- 60 files of one block each on 3 nodes ---------------------------------
i=1
while [ $i -le 60 ]; do
	head -c $((20000 + (i * 7919) % 230000)) /dev/urandom >"$T/in/f$i"
	dfs put "$T/in/f$i" "/f$i" || echo "   put /f$i failed"
	i=$((i + 1))
done
ok "60 files stored, 3 replicas each" exactly_3

# --- who may, and bad arguments --------------------------------------------
ok "--status before any run says it has not run" sh -c "'$top_builddir/dfs' \
    -c '$C/client.conf' admin balance --status | grep -q 'not run since'"
"$top_builddir/dfs" cluster adduser "$C" alice --uid 2001 --gid 2001 \
    >/dev/null
alice() { "$top_builddir/dfs" -c "$C/users/alice.conf" "$@"; }
ok "a user who is not the superuser is refused" fails_with \
    "only the superuser" alice admin balance
ok "... also for --status and --stop" sh -c "'$top_builddir/dfs' -c \
    '$C/users/alice.conf' admin balance --status 2>&1 | grep -q superuser \
    && '$top_builddir/dfs' -c '$C/users/alice.conf' admin balance --stop \
    2>&1 | grep -q superuser"
ok "--threshold 0 is refused" fails_with "0.01 to 100" \
    dfs admin balance --threshold 0
ok "--threshold 101 is refused" fails_with "0.01 to 100" \
    dfs admin balance --threshold 101
ok "--threshold abc is refused" fails_with "a percentage" \
    dfs admin balance --threshold abc
ok "--bandwidth 1K is refused" fails_with "at least 64K" \
    dfs admin balance --bandwidth 1K
ok "--bandwidth fast is refused" fails_with "bytes a second" \
    dfs admin balance --bandwidth fast
usage2() {
	out=$(dfs "$@" 2>&1) && st=0 || st=$?
	[ "$st" -eq 2 ] && printf '%s' "$out" | grep -q "usage: dfs admin"
}
# An unknown option, --status with settings, an extra word, no or an
# unknown subcommand: the usage, exit 2.
for args in "admin balance --fast" "admin balance --status --threshold 5" \
    "admin balance now" "admin" "admin rebalance"; do
	# shellcheck disable=SC2086
	ok "dfs $args prints the usage (exit 2)" usage2 $args
done
# The namenode checks what it is sent whatever the client: an unknown
# operation, a threshold over 100% and a bandwidth under 64 KiB/s.
raw_check() {
	"$PYTHON" - "$top_srcdir/tests/lib" "$(sed -n \
	    's/^address *= *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$C/client.conf" |
	    head -n 1)" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import npdfs_wire as w
host, port = sys.argv[2].rsplit(":", 1)
c = w.Conn(host, int(port))
bad = 0
for op, th, bw, want in ((7, 0, 0, "unknown balance operation"),
                         (1, 20000, 0, "threshold"),
                         (1, 0, 1024, "bandwidth")):
    t, p = c.call(170, w.Payload().u8(op).u32(th).u64(bw))
    e, msg = w.error_of(p) if t == w.MSG_ERROR else (0, "")
    if t != w.MSG_ERROR or e != -22 or want not in msg:
        print("   op %d threshold %d bandwidth %d: reply %d %r" %
              (op, th, bw, t, msg))
        bad = 1
t, p = c.call(170, w.Payload().u8(0))
if t != w.MSG_ERROR or "malformed" not in w.error_of(p)[1]:
    print("   a short BALANCE was answered %d" % t)
    bad = 1
sys.exit(bad)
EOF
}
ok "the namenode refuses a bad operation, threshold, bandwidth or a short \
request (EINVAL, EBADMSG)" raw_check

# --- 2 nodes added, balanced -------------------------------------------------
"$top_builddir/dfs" cluster up "$C" -n 5 >"$T/up2.log" 2>&1
ok "cluster up -n 5 adds 2 data nodes" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' report | grep -q 'data nodes: 5 live, 0 dead'"
unbalanced() { ! within $TH 1 2 3 4 5 >/dev/null; }
ok "before: the 5 nodes are not within $TH% of their mean" unbalanced
t0=$(date +%s)
timeout 120 "$top_builddir/dfs" -c "$C/client.conf" admin balance \
    --threshold $TH --bandwidth 64M >"$T/balance.log" 2>&1 &
bpid=$!
polls=0
sick=0
stopped=0
n4=$(cat "$C/run/datanode4.pid")
while kill -0 $bpid 2>/dev/null; do
	polls=$((polls + 1))
	if ! dfs fsck / >"$T/fsck.poll" 2>&1; then
		sick=$((sick + 1))
		grep -v HEALTHY "$T/fsck.poll" | sed 's/^/#   /' | head -n 3
	fi
	# From 1 s to 5 s in, node 4 (a target) is stopped: no copy to it
	# arrives, and none of their sources may lose its replica.
	el=$(($(date +%s) - t0))
	if [ $stopped -eq 0 ] && [ $el -ge 1 ]; then
		kill -STOP "$n4"
		stopped=1
	elif [ $stopped -eq 1 ] && [ $el -ge 5 ]; then
		kill -CONT "$n4"
		stopped=2
	fi
	sleep 0.3
done
[ $stopped -eq 1 ] && kill -CONT "$n4"
wait $bpid
brc=$?
echo "# balanced in $(($(date +%s) - t0)) s; fsck polled $polls times"
sed 's/^/# /' "$T/balance.log"
ok "dfs admin balance exits 0, saying done" test $brc -eq 0 -a \
    "$(grep -c '^balance: done' "$T/balance.log")" -eq 1
ok "fsck was healthy at every one of $polls polls while it ran" \
    test "$sick" -eq 0 -a "$polls" -ge 2
ok "it moved blocks" grep -q "^balance: done, [1-9][0-9]* blocks" \
    "$T/balance.log"
ok "every node's disk within $TH% of the mean" wait_for 10 within $TH \
    1 2 3 4 5
ok "every block has exactly 3 replicas, on 3 nodes, and the disks hold \
180 block files" wait_for 10 exactly_3
ok "every file reads back identical" all_read_back
ok "--status says done, with each node's load" sh -c "'$top_builddir/dfs' \
    -c '$C/client.conf' admin balance --status >'$T/status' && grep -q \
    '^balance: done' '$T/status' && test \$(grep -c '^[0-9]' \
    '$T/status') -eq 5"

# --- a sixth node, a slow run stopped ----------------------------------------
"$top_builddir/dfs" cluster up "$C" -n 6 >"$T/up3.log" 2>&1
ok "a sixth node is added" sh -c "'$top_builddir/dfs' -c '$C/client.conf' \
    report | grep -q 'data nodes: 6 live, 0 dead'"
ts=$(date +%s)
ok "a slow run starts (--no-wait returns)" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' admin balance --threshold $TH --bandwidth 64K \
    --no-wait | grep -q '^balance: running'"
ok "a second start while it runs is refused" fails_with "already running" \
    dfs admin balance
sleep 3
# The bytes moved and in flight after E seconds at 64 KiB a second: at
# most a second's budget ahead, plus the one block that overdraws it.
throttled() {
	dfs admin balance --status >"$T/slow" || return 1
	e=$(($(date +%s) - ts + 1))
	re='.* (\([0-9]*\) bytes) moved, [0-9]* in flight (\([0-9]*\) bytes).*'
	sed -n "s/$re/\\1 \\2/p" "$T/slow" >"$T/slow.n"
	read -r mv fl <"$T/slow.n" || return 1
	echo "# after about $e s at 64 KiB/s: $mv bytes moved, $fl in flight"
	[ $((mv + fl)) -gt 0 ] &&
	    [ $((mv + fl)) -le $((65536 * (e + 1) + 262144)) ]
}
ok "the bandwidth holds it back (at most 64 KiB a second scheduled)" \
    throttled
ok "--stop stops it" sh -c "'$top_builddir/dfs' -c '$C/client.conf' admin \
    balance --stop | grep -q '^balance: stopped'"
settled() {
	dfs admin balance --status | grep -q '^balance: stopped, .* 0 in flight'
}
ok "its moves in flight finish" wait_for 30 settled
ok "after the stop: 3 replicas of every block, healthy" wait_for 15 \
    exactly_3
ok "every file still reads back identical" all_read_back
grep -q "balancer: stopped on request" "$C/logs/namenode.log"
ok "the namenode logged the stop" test $? -eq 0

# --- a namenode killed in the middle of a run ----------------------------
ok "another slow run starts" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' admin balance --threshold $TH --bandwidth 64K \
    --no-wait | grep -q '^balance: running'"
sleep 2
kill -9 "$(cat "$C/run/namenode.pid")"
"$top_builddir/dfs" cluster up "$C" >"$T/up4.log" 2>&1
ok "the namenode killed with SIGKILL restarts" test $? -eq 0
not_run() {
	dfs admin balance --status | grep -q 'not run since'
}
ok "after the restart no balancer runs" wait_for 30 not_run
ok "... and within 30 s: 3 replicas of every block, healthy (a copy left \
half-done is trimmed)" wait_for 30 exactly_3
ok "every file still reads back identical" all_read_back
finish
