#!/bin/sh
# mount-inode.sh: dfs-mount on libfuse's low-level API, which addresses
# the namenode by inode (issue 13), on a real 2-node cluster with two
# mounts: relative paths of about 4,000 bytes from a working directory
# deeper than PATH_MAX, for every call that takes a path; one inode's
# attributes through all its names after chmod, chown, link and unlink,
# at once in the mount that changed them and after the attribute timeout
# in the other; a file unlinked while open read, written and fstat-ed,
# and its blocks freed once it is closed; the namenode's audit log shows
# paths from the root for requests that named an inode; a directory of
# 2,600 entries read by one stream while entries come and go.  Skips (exit 77)
# only when /dev/fuse cannot be used here.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

need_fuse
M="$T/mnt"
M2="$T/mnt2"

inode_cleanup() {
	mounts_cleanup "$M" "$M2"
}
trap inode_cleanup EXIT

# mount_at options for a low-level mount with a 1 s attribute timeout.
LL="-o mount.lowlevel=true -o mount.attr_timeout=1s"

# blocks: the namenode's count of blocks (dfs report's: fsck's walks
# names, and an unlinked open file has none).
blocks() {
	dfs report 2>/dev/null | sed -n 's/^blocks: \([0-9]*\),.*/\1/p'
}
blocks_are() { test "$(blocks)" = "$1"; }
unmounted() { ! is_mounted "$M" && ! is_mounted "$M2"; }

# inode_py PART ARGS...: one part of mount_inode.py (tests/lib/mount.sh).
inode_py() {
	py_part mount_inode.py "$@"
}

cluster_start -n 2 -b 64K -r 2 --heartbeat 1
ok "a low-level mount comes up" mount_at "$M" $LL
ok "a second one" mount_at "$M2" $LL
ok "it says which API it serves" grep -q "low-level API" "$T/mount.log"

inode_py deep "$M"
inode_py links "$M" "$M2" 2

base=$(blocks)
inode_py unlinked "$M"
inode_py listing "$M"
ok "the unlinked file's blocks are freed (fsck: $base blocks again)" \
    wait_for 30 blocks_are "$base"

# (The audit log is written a moment later.)
ok "the audit log shows an inode's path from the root" wait_for 10 \
    grep -q "cmd=UNLINK .* src=/gone " "$C/logs/audit.log"
ok "... for one deeper than PATH_MAX too" grep -q \
    "cmd=MKDIR .* src=/deep\(/d\{200\}\)\{40\} " "$C/logs/audit.log"

fusermount3 -u "$M" && fusermount3 -u "$M2"
ok "both unmount" wait_for 10 unmounted
finish
