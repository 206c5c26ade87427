#!/bin/sh
# perm.sh: the namenode's permission checks on a real cluster.  root puts
# a file into a 0755 directory with `dfs`; perm_check.py then acts as the
# superuser, alice (uid 1002) and bob (uid 1001) over the raw protocol
# (ACT_AS) and checks what each may read, list, create, delete, rename,
# chmod, chown and write against what Linux allows (see its header).
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
cluster_start -n 1

head -c 100000 /dev/urandom >"$T/data"
ok "root makes /pub (0755)" dfs mkdir /pub
ok "root puts /pub/rootfile" dfs put "$T/data" /pub/rootfile
addr=$(sed -n 's/^ *address *= *"*\([^"]*\)"*$/\1/p' "$C/client.conf" | head -n 1)
ok "the namenode's address is in client.conf" test -n "$addr"

PYTHONDONTWRITEBYTECODE=1 "$PYTHON" "$top_srcdir/tests/integ/perm_check.py" \
    "$addr" /pub/rootfile >"$T/py.out" 2>&1
st=$?
cat "$T/py.out"
ok "perm_check.py: every check passed" test "$st" -eq 0
ok "perm_check.py ran its checks" grep -q '^[1-9][0-9]* passed, 0 failed' \
    "$T/py.out"
# The CLI acting as bob and alice (--as: ACT_AS through the client
# library, sent once per connection).
bob() { dfs --as 1001:1001:100 "$@"; }
alice() { dfs --as 1002:1002 "$@"; }
ok "dfs --as: whoami shows bob's credential as the namenode holds it" \
    sh -c "'$top_builddir/dfs' -c '$C/client.conf' --as 1001:1001:100 \
    whoami | tr '\n' ' ' | grep -q 'uid: 1001 gid: 1001 groups: 100 \
superuser: no'"
ok "dfs whoami: root without --as is the superuser" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' whoami | grep -qx 'superuser: yes'"
ok "dfs --as rejects a malformed credential" fails_with "not UID:GID" \
    dfs --as 1001 whoami
head -c 5000 /dev/urandom >"$T/secret"
ok "alice puts a file" sh -c "'$top_builddir/dfs' -c '$C/client.conf' \
    --as 1002:1002 mkdir /tmp/alice && '$top_builddir/dfs' -c \
    '$C/client.conf' --as 1002:1002 put '$T/secret' /tmp/alice/secret"
ok "alice reads it back" sh -c "'$top_builddir/dfs' -c '$C/client.conf' \
    --as 1002:1002 cat /tmp/alice/secret | cmp - '$T/secret'"
u=$(getent passwd 1002 | cut -d: -f1)
u=${u:-1002}
ok "her put left it hers (the request's uid 0 was not honoured)" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' ls -l /tmp/alice/secret | \
    grep -q ' $u '"
ok "bob can read it while it is 0644" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' --as 1001:1001 cat /tmp/alice/secret | cmp - '$T/secret'"
# (no dfs chmod yet: alice's chmod over the raw protocol)
ok "alice chmods her file 0600" env PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -c '
import sys; sys.path.insert(0, sys.argv[1])
import perm_check as p
a = p.As(sys.argv[2], 1002, 1002)
sys.exit(a.setattr("/tmp/alice/secret", p.SET_MODE, 0o600)[0] != 0)' \
    "$top_srcdir/tests/integ" "$addr"
ok "dfs cat as bob of alice's 0600 file exits 1: permission denied" \
    fails_with "permission denied" bob cat /tmp/alice/secret
ok "dfs get as bob likewise" fails_with "permission denied" \
    bob get /tmp/alice/secret "$T/stolen"
ok "dfs rm as bob of root's file exits 1: permission denied" \
    fails_with "permission denied" bob rm /pub/rootfile
ok "dfs mv as bob of root's file exits 1: permission denied" \
    fails_with "permission denied" bob mv /pub/rootfile /tmp/x
ok "dfs put as bob into root's 0755 directory fails" \
    fails_with "permission denied" bob put "$T/data" /pub/bobs
ok "dfs ls as bob of / works" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' --as 1001:1001 ls / | grep -q pub"
ok "dfs rm -r as alice of her own tree works" alice rm -r /tmp/alice
# --- a host certificate speaks only for the uids it names -------------
# One issued with --uids 1000-1999 (host.conf's keys swapped for its own)
# acts as uid 1000 but not as 3000, and not as 0: root squash makes a
# host's uid 0 a plain uid, and even that needs 0 among its uids.
ok "dfs ca issue --role host --uids 1000-1999" "$top_builddir/dfs" ca issue \
    "$C/ca" --role host --uids 1000-1999 mnt-r
sed "s|/issued/host\.|/issued/mnt-r.|" "$C/host.conf" >"$T/mnt-r.conf"
chmod 600 "$T/mnt-r.conf"
hostr() { "$top_builddir/dfs" -c "$T/mnt-r.conf" "$@"; }
ok "the ranged host acts as uid 1000" sh -c "'$top_builddir/dfs' -c \
    '$T/mnt-r.conf' --as 1000:1000 whoami | tr '\n' ' ' | grep -q \
    'name: mnt-r role: host .*uid: 1000 gid: 1000 groups: superuser: no'"
ok "... and lists / as uid 1999" sh -c "'$top_builddir/dfs' -c \
    '$T/mnt-r.conf' --as 1999:1999 ls / | grep -q pub"
ok "... is refused as uid 3000, naming the host and the uid" \
    fails_with "host mnt-r may not act as uid 3000" hostr --as 3000:3000 ls /
ok "... is refused as uid 0" \
    fails_with "host mnt-r may not act as uid 0" hostr --as 0:0 ls /
ok "... is refused as uid 2000, just past its range" \
    fails_with "speaks only for uids 1000-1999" hostr --as 2000:2000 ls /
# --- through dfs-mount, run as root: each caller acts as itself --------
# The kernel's default_permissions is the first check; these cases get
# past it with attributes the kernel cached before a change made behind
# its back (mount.attr_timeout=10m), so only the namenode can refuse.
if [ -c /dev/fuse ] && (exec 3<>/dev/fuse) 2>/dev/null &&
    command -v fusermount3 >/dev/null 2>&1 && command -v setpriv \
    >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	M="$T/mnt"
	mkdir "$M"
	chmod 711 "$T"
	"$top_builddir/dfs-mount" -c "$C/client.conf" -o allow_other \
	    -o mount.attr_timeout=10m -f "$M" 2>>"$T/mount.log" &
	MOUNT_PID=$!
	perm_unmount() {
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" \
		    2>/dev/null
		kill "$MOUNT_PID" 2>/dev/null
		wait "$MOUNT_PID" 2>/dev/null
		cluster_cleanup
	}
	trap perm_unmount EXIT
	ok "dfs-mount -o allow_other mounts" wait_for 10 \
	    grep -q " $M fuse" /proc/mounts
	chmod 755 "$M"
	as() {	# as UID COMMAND
		u=$1
		shift
		setpriv --reuid="$u" --regid="$u" --clear-groups sh -c "$1"
	}
	raw_chmod() {	# raw_chmod UID PATH MODE: SETATTR over the protocol
		PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -c '
import sys; sys.path.insert(0, sys.argv[1])
import perm_check as p
c = p.As(sys.argv[2], int(sys.argv[3]), int(sys.argv[3]))
sys.exit(c.setattr(sys.argv[4], p.SET_MODE, int(sys.argv[5], 8))[0] != 0)' \
		    "$top_srcdir/tests/integ" "$addr" "$1" "$2" "$3"
	}
	ok "alice writes a file through the mount" as 1002 \
	    "mkdir $M/tmp/am && head -c 70000 /dev/urandom >$M/tmp/am/f"
	ok "it is hers on the namenode" sh -c "'$top_builddir/dfs' -c \
	    '$C/client.conf' ls -l /tmp/am/f | grep -q ' $u '"
	ok "alice writes a file she creates 0444 (as cp and git do)" as 1002 \
	    "'$PYTHON' -c 'import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o444)
os.write(fd, b\"x\" * 100000)
os.close(fd)' $M/tmp/am/ro && test \$(wc -c <$M/tmp/am/ro) -eq 100000"
	ok "bob stats it (the kernel caches 0644)" as 1001 "stat $M/tmp/am/f"
	ok "bob lists her directory (cached 0755)" as 1001 "ls $M/tmp/am"
	ok "alice chmods her file 0600 behind the mount's back" \
	    raw_chmod 1002 /tmp/am/f 600
	ok "... and her directory 0700" raw_chmod 1002 /tmp/am 700
	ok "... the chmods took" sh -c "'$top_builddir/dfs' -c \
	    '$C/client.conf' ls -l /tmp/am | grep -q '^-rw-------'"
	ok "bob's read through the mount is refused by the namenode" \
	    sh -c "! setpriv --reuid=1001 --regid=1001 --clear-groups \
	    cat $M/tmp/am/f >/dev/null 2>'$T/bobcat.err' && \
	    grep -qi 'permission denied' '$T/bobcat.err'"
	ok "bob's listing of it is refused by the namenode" \
	    sh -c "! setpriv --reuid=1001 --regid=1001 --clear-groups \
	    ls $M/tmp/am >/dev/null 2>'$T/bobls.err' && \
	    grep -qi 'permission denied' '$T/bobls.err'"
	ok "alice still reads it" as 1002 "cat $M/tmp/am/f >/dev/null"
	ok "bob cannot make a file of root's set-uid" as 1001 \
	    "touch $M/tmp/bs && chmod 4755 $M/tmp/bs && \
	    ! chown 0 $M/tmp/bs 2>/dev/null"
	ok "bob's set-uid file is his on the namenode" sh -c \
	    "'$top_builddir/dfs' -c '$C/client.conf' ls -l /tmp/bs | \
	    grep -q '^-rwsr-xr-x'"
	ok "bob cannot remove alice's file in sticky /tmp" as 1001 \
	    "! rm -f $M/tmp/am/f 2>/dev/null && ! rm -rf $M/tmp/am 2>/dev/null"
	ok "root reads everything through the mount" sh -c \
	    "cat $M/tmp/am/f >/dev/null && cmp $M/pub/rootfile '$T/data'"
else
	echo "# skip: the dfs-mount part needs root, setpriv(1) and /dev/fuse"
fi
ok "root still reads its file whole" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' cat /pub/rootfile | cmp - '$T/data'"
finish
