#!/bin/sh
# mount-patch.sh: random writes that fsync commit only their chunks
# (issue 13): a 16 MiB file of 4 blocks on a 3-node cluster, written
# sequentially through a mount, then written at random (4-64 KiB, an
# fsync every 16 writes) while a second mount opens it again after every
# fsync and must read exactly the bytes written; the commits are patches
# (PATCH_BLOCK in the namenode's audit log, no CREATE of the file after
# the first, the data nodes' patched bytes a small part of what rewrites
# would cost), every block's three replicas are at one generation, `dfs
# get` gives the latest sha256; a file grows inside its last block by
# patches too; a data node killed between fsyncs does
# not stop the next ones, and once it is back its stale replicas are not
# served (a fresh mount reads the latest bytes, fsck healthy after
# re-replication); a remount reads the latest bytes; hostile PATCH_BLOCKs
# (no client name, another file's block, an old generation, a shrinking or
# a growing non-last block, another client while one holds the file's
# patch lease, a file under construction) are refused with nothing
# changed.  Skips (exit 77) only when /dev/fuse
# cannot be used here.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

three_mounts

# patch_py PART ARGS...: one part of mount_patch.py (tests/lib/mount.sh).
patch_py() {
	py_part mount_patch.py "$@"
}

# patched_bytes: the bytes the data nodes patched, summed over them.
patched_bytes() {
	cat "$C"/logs/datanode*.log | sed -n \
	    's/.* patched to .* range.*, \([0-9]*\) bytes; length.*/\1/p' |
	    awk '{ s += $1 } END { print s + 0 }'
}

# one_gen: every block of /f has one block file on each of the 3 nodes,
# all at the namenode's generation.
one_gen() {
	dfs fsck /f --blocks >"$T/fsck" 2>&1 || return 1
	"$PYTHON" - "$C" "$T/fsck" <<'EOF'
import glob, re, sys
c, fsck = sys.argv[1], open(sys.argv[2]).read()
blocks = re.findall(r"block (\d+) gen (\d+) ", fsck)
if len(blocks) != 4:
    sys.exit("fsck lists %d blocks: %s" % (len(blocks), fsck))
for b, g in blocks:
    files = glob.glob("%s/datanode*/current/**/blk_%s_*" % (c, b),
                      recursive=True)
    files = [f for f in files if not f.endswith(".meta")]
    gens = sorted(set(re.sub(r".*_", "", f) for f in files))
    if len(files) != 3 or gens != [g]:
        sys.exit("block %s: files %s, fsck says gen %s" % (b, files, g))
EOF
}

creates_of_f() {
	grep -c "cmd=CREATE .*src=/f " "$C/logs/audit.log"
}
# (The audit log is written a moment later.)
one_create() { test "$(creates_of_f)" -eq 1; }

cluster_start -n 3 -b 4M -r 3 --heartbeat 1 --dead-timeout 4
ok "a mount comes up" mount_at "$M" $LL
ok "a second one" mount_at "$M2" $LL
echo other >"$M/g"

patch_py seq "$M/f" "$T/expect" 16777216 1
ok "the sequential write made the file once (one CREATE of /f)" \
    wait_for 10 one_create
patch_py random "$M/f" "$M2/f" "$T/expect" 320 2
n=$(patched_bytes)
echo "# data nodes patched $n bytes in all (rewrites: $((20 * 3 * 16)) MiB)"
ok "the fsyncs were patches: PATCH_BLOCK in the audit log" \
    wait_for 10 grep -q "cmd=PATCH_BLOCK" "$C/logs/audit.log"
sleep 5	# the audit log is flushed at least once a second
ok "... and no CREATE of /f after the first" one_create
ok "... and the data nodes patched at most 3 x 320 x 128 KiB" \
    test "$n" -gt 0 -a "$n" -le $((3 * 320 * 131072))
ok "fsck is healthy" dfs fsck /
ok "every block's 3 block files are at the namenode's generation" one_gen
dfs get /f "$T/got" 2>/dev/null
ok "dfs get gives the latest sha256" \
    test "$(sha256sum <"$T/got")" = "$(sha256sum <"$T/expect")"

# A file whose last block is not full (and ends inside a chunk) grows by
# patches of that block.
head -c 5243880 /dev/urandom >"$T/grow"
dfs put "$T/grow" /grow
patch_py grow "$M/grow" "$M2/grow" "$T/grow" 4
sleep 5	# the audit log is flushed at least once a second
ok "... without a CREATE of it" test "$(grep -c "cmd=CREATE .*src=/grow " \
    "$C/logs/audit.log")" -eq 0
dfs get /grow "$T/grow.got" 2>/dev/null
ok "... and dfs get gives its latest bytes" cmp -s "$T/grow" "$T/grow.got"

# A data node killed between fsyncs.
victim=$(cat "$C/run/datanode2.pid")
kill -9 "$victim"
patch_py random "$M/f" "$M2/f" "$T/expect" 64 3
patch_py same "$M/f" "$T/expect"
sleep 5	# the audit log is flushed at least once a second
ok "... as patches on the survivors (still one CREATE of /f)" one_create
"$top_builddir/dfs" cluster up "$C" >"$T/up2.log" 2>&1
ok "the killed node restarts" test $? -eq 0
ok "a fresh mount" mount_at "$M3" $LL
patch_py same "$M3/f" "$T/expect"
healthy() { dfs fsck / >/dev/null 2>&1 && one_gen; }
ok "within 60 s fsck is healthy, 3 replicas of each block at one \
generation" wait_for 60 healthy
fusermount3 -u "$M3"
ok "a fresh mount after the re-replication" mount_at "$M3" $LL
patch_py same "$M3/f" "$T/expect"

# A remount of the writer's mount.
fusermount3 -u "$M"
ok "the writer's mount remounts" mount_at "$M" $LL
patch_py same "$M/f" "$T/expect"
dfs get /f "$T/got2" 2>/dev/null
ok "dfs get gives the latest sha256 at the end" \
    test "$(sha256sum <"$T/got2")" = "$(sha256sum <"$T/expect")"

# Hostile requests, on a file of two blocks that no mount patched (the
# mount's patch lease of /f would refuse any other client first).
head -c 6000000 /dev/urandom >"$T/h"
dfs put "$T/h" /h
patch_py hostile "$C/client.conf" /h /g "$M"
dfs get /h "$T/h.got" 2>/dev/null
ok "dfs get still gives /h's bytes after the hostile requests" \
    cmp -s "$T/h" "$T/h.got"

fusermount3 -u "$M" && fusermount3 -u "$M2" && fusermount3 -u "$M3"
[ "$FAILED" -eq 0 ] || grep -i "patch\|again" "$T/mount.log" | tail -n 20
finish
