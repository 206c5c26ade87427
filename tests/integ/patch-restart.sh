#!/bin/sh
# patch-restart.sh: a patch that every replica applied survives a kill -9
# of the namenode before its commit (issue 13; the promise is durable,
# nn-patch.c).  The namenode runs with NPDFS_TEST_PATCH_CRASH=commit, so
# it exits when the first replica of a patch is reported, before the
# block's generation moves: the data nodes have applied the patch,
# queue their RECEIVED and answer the client OK (the fsync through the
# mount then fails or not, as its sync of the namespace could reach the
# namenode or not: every replica holds the patch).  Restarted, the namenode must commit the patch from
# what the data nodes report: the file reads the patched bytes, fsck is
# healthy.  Then the mixed case: one data node down (not yet declared
# dead) during the patch, so two replicas are patched and one is not; the
# namenode dies in the window again; after both restart, the block is at
# the new generation on all three nodes (the old replica superseded and
# copied again), never a mix.  Last, a promise nobody applied (every
# replica fails the patch) is dropped once its lease lapses, the old
# bytes staying.  Skips (exit 77) only when /dev/fuse cannot be used.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

three_mounts

cases_py() {
	py_part patch_cases.py "$@"
}

nn_pid() { cat "$C/run/namenode.pid"; }
# mark: remember how long the namenode's log is; logged PATTERN: the
# namenode logged PATTERN since.
mark() { NNLOG=$(wc -l <"$C/logs/namenode.log"); }
logged() { tail -n +$((NNLOG + 1)) "$C/logs/namenode.log" | grep -q "$1"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
out_of_safemode() { dfs report 2>/dev/null | grep -q "^safe mode: off"; }
healthy() { dfs fsck /; }

# at_gen BLOCK: the 3 data nodes each hold BLOCK's files at the
# namenode's generation and no other.
at_gen() {
	dfs fsck /f --blocks >"$T/fsck" 2>&1 || return 1
	"$PYTHON" - "$C" "$T/fsck" <<'PY'
import glob, re, sys
c, fsck = sys.argv[1], open(sys.argv[2]).read()
for b, g in re.findall(r"block (\d+) gen (\d+) ", fsck):
    files = [f for f in glob.glob("%s/datanode*/current/**/blk_%s_*" %
             (c, b), recursive=True) if not f.endswith(".meta")]
    gens = sorted(set(re.sub(r".*_", "", f) for f in files))
    if len(files) != 3 or gens != [g]:
        sys.exit("block %s: files %s, fsck says gen %s" % (b, files, g))
PY
}

# restart_nn [ENV]: the namenode (and any data node that is down) started
# again by `dfs cluster up`, with NPDFS_TEST_PATCH_CRASH=ENV when given.
restart_nn() {
	if [ -n "${1:-}" ]; then
		NPDFS_TEST_PATCH_CRASH=$1 "$top_builddir/dfs" cluster up "$C" \
		    >>"$T/up.log" 2>&1
	else
		"$top_builddir/dfs" cluster up "$C" >>"$T/up.log" 2>&1
	fi
}

# Heartbeat 1 s and data nodes declared dead only after 30 s: the mixed
# case needs a dead node still listed as a replica when the patch goes.
NPDFS_TEST_PATCH_CRASH=commit
export NPDFS_TEST_PATCH_CRASH
cluster_start -n 3 -b 4M -r 3 --heartbeat 1 --dead-timeout 30
unset NPDFS_TEST_PATCH_CRASH
head -c 6000000 /dev/urandom >"$T/expect"
dfs put "$T/expect" /f
head -c 5000000 /dev/urandom >"$T/p"
dfs put "$T/p" /p
ok "a mount comes up" mount_at "$M" $LL

# === 1. every replica patched, the namenode killed before the commit ===
pid=$(nn_pid)
cases_py write "$M/f" "$T/expect" 1 any
ok "the namenode died at the commit (as the test asked)" wait_for 30 gone "$pid"
ok "... with the test's message" grep -q \
    "NPDFS_TEST_PATCH_CRASH=commit: exiting" "$C/logs/namenode.log"
ok "all 3 data nodes applied the patch" test "$(cat "$C"/logs/datanode*.log |
    grep -c 'patched to')" -eq 3
mark
ok "the namenode restarts" restart_nn
ok "it found the promise in its database" wait_for 10 logged \
    "1 patch(es) promised and not committed"
ok "within 60 s it leaves safe mode" wait_for 60 out_of_safemode
ok "within 60 s fsck is healthy" wait_for 60 healthy
dfs get /f "$T/got1" 2>"$T/get1.err"
ok "dfs get gives the patched bytes" cmp -s "$T/got1" "$T/expect"
ok "a fresh mount reads the patched bytes" mount_at "$M2" $LL
cases_py same "$M2/f" "$T/expect"
ok "every block is at the namenode's generation on all 3 nodes" \
    wait_for 60 at_gen
fusermount3 -u "$M2"
fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M"

# === 2. two replicas patched, one not (its node down), then the crash ===
pid=$(nn_pid)
kill -9 "$pid"
wait_for 30 gone "$pid"
ok "the namenode restarts with the hook again" restart_nn commit
ok "... and leaves safe mode" wait_for 60 out_of_safemode
ok "a mount comes up" mount_at "$M3" $LL
pid=$(nn_pid)
kill -9 "$(cat "$C/run/datanode3.pid")"
cases_py write "$M3/f" "$T/expect" 2 any
ok "the namenode died at the commit" wait_for 30 gone "$pid"
ok "2 data nodes more applied a patch (5 in all), not the third" \
    test "$(cat "$C"/logs/datanode*.log | grep -c 'patched to')" -eq 5
ok "the namenode and the third data node restart" restart_nn
ok "within 60 s it leaves safe mode" wait_for 60 out_of_safemode
ok "within 60 s fsck is healthy" wait_for 60 healthy
dfs get /f "$T/got2" 2>"$T/get2.err"
ok "dfs get gives the bytes of the second patch" cmp -s "$T/got2" \
    "$T/expect"
ok "within 60 s every block is at one generation on all 3 nodes" \
    wait_for 60 at_gen
fusermount3 -u "$M3" 2>/dev/null || fusermount3 -uz "$M3"

# === 3. a promise no replica applied lapses; the old bytes stay ===
# A PATCH_BLOCK that no PATCH follows (its client died), then a kill -9:
# the restarted namenode keeps the promise for a lease period (3 s here),
# then drops it; the block keeps its generation, the file its bytes.
cases_py promise "$C/client.conf" /p "$T/state"
pid=$(nn_pid)
kill -9 "$pid"
wait_for 30 gone "$pid"
mark
"$top_builddir/dfs" cluster up "$C" -o namenode.lease_timeout=3s \
    >>"$T/up.log" 2>&1
ok "the namenode restarts (lease timeout 3 s)" wait_for 60 out_of_safemode
ok "it found the promise in its database" wait_for 10 logged \
    "1 patch(es) promised and not committed"
ok "the promise is dropped once its lease lapses" wait_for 30 logged \
    "promised to patch-cases-died is dropped (its lease lapsed"
cases_py unchanged "$C/client.conf" /p "$T/state"
dfs get /p "$T/got3" 2>/dev/null
ok "dfs get gives /p's bytes as before" cmp -s "$T/got3" "$T/p"
ok "fsck is healthy" healthy
[ "$FAILED" -eq 0 ] || tail -n 30 "$T/mount.log"
finish
