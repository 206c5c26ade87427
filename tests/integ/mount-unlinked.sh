#!/bin/sh
# mount-unlinked.sh: a file unlinked while open stays readable, writable
# and fstat-able through every mount that holds it, because the namenode
# keeps the inode and its blocks for its holders (namenode/nn-hold.c),
# and frees them after the last close, or once a killed holder's lease
# lapsed; also across a namenode restart.  Nobody else reaches it by its
# inode number.  Low-level mounts (mount.lowlevel=true) of a 2-node
# cluster with namenode.lease_timeout=6s.  Skips (exit 77) only when
# /dev/fuse cannot be used here.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

need_fuse
A="$T/a"
B="$T/b"
K="$T/k"
LEASE=6

unlinked_cleanup() {
	mounts_cleanup "$A" "$B" "$K"
}
trap unlinked_cleanup EXIT

# mount_at options for a low-level mount with a 1 s attribute timeout.
LL="-o mount.lowlevel=true -o mount.attr_timeout=1s"

# part NAME ARGS...: one part of mount_unlinked.py (tests/lib/mount.sh),
# which finds dfs, the cluster and the lease in its environment.
part() {
	DFS="$top_builddir/dfs"
	export DFS C LEASE
	py_part mount_unlinked.py "$@"
}

cluster_start -n 2 -b 64K -r 2 --heartbeat 1 \
    -o namenode.lease_timeout=${LEASE}s
addr=$(sed -n 's/^ *address *= *"*\([^"]*\)"*$/\1/p' "$C/client.conf" |
    head -n 1)
ok "mount A comes up" mount_at "$A" $LL
ok "mount B comes up" mount_at "$B" $LL

part local "$A"
part cross "$A" "$B"
part hostile "$A" "$addr"

ok "mount K comes up" mount_at "$K" $LL
kpid=$MPID
part killed "$A" "$K" "$kpid"
fusermount3 -uz "$K" 2>/dev/null
ok "the namenode says the killed holder's hold lapsed" grep -q \
    "hold of .* on unlinked inode .* lapsed" "$C/logs/namenode.log"

part restart "$A"
ok "the restarted namenode loaded the hold" grep -q \
    "1 hold(s) on files unlinked while open" "$C/logs/namenode.log"

ok "no mount fell back to copying an unlinked file" sh -c \
    "! grep -q 'copied instead\|cannot keep a copy' '$T/mount.log'"
for m in "$A" "$B"; do
	fusermount3 -u "$m" 2>/dev/null
done
ok "both unmount" wait_for 10 sh -c "! grep -q ' $A \| $B ' /proc/mounts"
finish
