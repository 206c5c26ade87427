#!/bin/sh
# patch-cases.sh: random writes through the mount whose patches cannot be
# taken, and two mounts writing one file at once (issue 13).
# 1. Every replica fails the PATCH (the data nodes run with
#    NPDFS_TEST_PATCH_CRASH=refuse: EIO after the journal, the replica
#    untouched): the fsync returns EIO to the application, the file is not
#    written again whole (no CREATE of it), every reader keeps seeing its
#    old bytes, no journal is left, fsck is healthy.  Once the nodes take
#    patches again, the next write and fsync succeed as a patch.
# 2. Two mounts write one file at once, each from its own thread with an
#    fsync per round, some regions both, some one: an fsync either
#    succeeds or fails with EPERM (the other mount holds the file's patch
#    lease, or is writing it again whole), and none corrupts anything: the
#    file keeps its length, each 64 KiB region holds the bytes one writer
#    wrote there (or its old ones), fsck is healthy and every block is at
#    one generation on its nodes.  Which writer's bytes a region ends with
#    is not defined (dfs-mount(8), CONCURRENT WRITERS).
# Skips (exit 77) only when /dev/fuse cannot be used here.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

three_mounts

cases_py() {
	py_part patch_cases.py "$@"
}
healthy() { dfs fsck /; }
creates_of() { grep -c "cmd=CREATE .*src=$1 " "$C/logs/audit.log"; }
refusals() { cat "$C"/logs/datanode*.log | grep -c "refuse: failing"; }
no_journal() { test -z "$(ls "$C"/datanode*/tmp/*.patch 2>/dev/null)"; }

# === 1. a patch every replica fails ======================================
NPDFS_TEST_PATCH_CRASH=refuse
export NPDFS_TEST_PATCH_CRASH
cluster_start -n 3 -b 4M -r 3 --heartbeat 1
unset NPDFS_TEST_PATCH_CRASH
head -c 6000000 /dev/urandom >"$T/old"
dfs put "$T/old" /f
ok "a mount comes up" mount_at "$M" $LL
ok "a second one" mount_at "$M2" $LL
cases_py write "$M/f" "$T/old" 1 EIO
ok "every data node failed the patch" test "$(refusals)" -ge 3
ok "... and left no journal" no_journal
cases_py same "$M2/f" "$T/old"
dfs get /f "$T/got1" 2>/dev/null
ok "dfs get gives the old bytes" cmp -s "$T/got1" "$T/old"
ok "fsck is healthy" healthy
sleep 2		# the audit log is flushed at least once a second
ok "the mount did not write the file again whole (no CREATE of /f)" \
    test "$(creates_of /f)" -eq 0
for f in "$C"/run/datanode*.pid; do
	kill -9 "$(cat "$f")"
done
"$top_builddir/dfs" cluster up "$C" >>"$T/up.log" 2>&1
ok "the data nodes restart, taking patches" test $? -eq 0
ok "within 60 s fsck is healthy" wait_for 60 healthy
cp "$T/old" "$T/new"
cases_py write "$M/f" "$T/new" 2
cases_py same "$M2/f" "$T/new"
dfs get /f "$T/got2" 2>/dev/null
ok "dfs get gives the new bytes" cmp -s "$T/got2" "$T/new"
sleep 2
ok "... which went as a patch (still no CREATE of /f)" \
    test "$(creates_of /f)" -eq 0

# === 2. two mounts writing one file at once ==============================
head -c 6000000 /dev/urandom >"$T/t"
dfs put "$T/t" /t
cases_py two "$M/t" "$M2/t" "$T/t" "$T/wrote" 3 12
ok "a fresh mount" mount_at "$M3" $LL
cases_py regions "$M3/t" "$T/t" "$T/wrote"
dfs get /t "$T/t.got" 2>/dev/null
ok "dfs get reads what the fresh mount reads" cmp -s "$T/t.got" "$M3/t"
ok "within 60 s fsck is healthy" wait_for 60 healthy
one_gen() {
	dfs fsck /t --blocks >"$T/fsck" 2>&1 || return 1
	"$PYTHON" - "$C" "$T/fsck" <<'PY'
import glob, re, sys
c, fsck = sys.argv[1], open(sys.argv[2]).read()
blocks = re.findall(r"block (\d+) gen (\d+) ", fsck)
if not blocks:
    sys.exit("fsck lists no blocks: " + fsck)
for b, g in blocks:
    files = [f for f in glob.glob("%s/datanode*/current/**/blk_%s_*" %
             (c, b), recursive=True) if not f.endswith(".meta")]
    gens = sorted(set(re.sub(r".*_", "", f) for f in files))
    if len(files) != 3 or gens != [g]:
        sys.exit("block %s: files %s, fsck says gen %s" % (b, files, g))
PY
}
ok "within 60 s every block of /t is at one generation on all 3 nodes" \
    wait_for 60 one_gen
echo "# PATCH_BLOCKs in all: $(grep -c "cmd=PATCH_BLOCK" "$C/logs/audit.log")"
echo "# CREATEs of /t: $(creates_of /t)"
[ "$FAILED" -eq 0 ] || tail -n 30 "$T/mount.log"
finish
