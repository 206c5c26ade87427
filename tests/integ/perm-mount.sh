#!/bin/sh
# perm-mount.sh: issue 11's permission cases through dfs-mount run as root
# with the host identity (-c DIR/host.conf, which `dfs cluster up`
# writes), each caller a real uid by setpriv(1): bob (1001) cannot read
# alice's 0600 file, delete or rename root's files in a 0755 directory,
# chmod or chown what is not his, or make a set-uid-root file; alice
# (1002) does what Linux lets her.  The kernel's default_permissions
# refuses most of these first, so several cases get past it with
# attributes the kernel cached (mount.attr_timeout=10m) before a change
# made behind its back: only the namenode can refuse those, and the audit
# log shows that it did, for the host's certificate acting as bob.  Under
# a host certificate uid 0 is not the superuser (root squash): root
# through the mount is refused what uid 0 may not do, by the namenode.
set -u
. "$top_srcdir/tests/lib/cluster.sh"
. "$top_srcdir/tests/lib/mount.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	echo "skip: needs root and setpriv(1)"
	exit 77
fi
need_fuse
B="$top_builddir"
A="$C/logs/audit.log"
cluster_start -n 1
su_() { "$B/dfs" -c "$C/client.conf" "$@"; }
owner() { su_ stat "$1" | sed -n 's/^owner: //p'; }
mode() { su_ stat "$1" | sed -n 's/^mode: \([0-7]*\).*/\1/p'; }
as() {	# as UID SHELL-COMMAND: run it as uid (and gid) UID, no groups
	u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups sh -c "$1"
}
# refused UID SHELL-COMMAND: it fails, saying permission denied or
# operation not permitted.
refused() {
	if as "$1" "$2" >"$T/out" 2>&1; then
		echo "   '$2' as $1 succeeded"
		return 1
	fi
	grep -qiE "permission denied|not permitted" "$T/out" || {
	    echo "   '$2' as $1:"; cat "$T/out"; return 1; }
}
audited() {	# audited PATTERN: an audit line matches, within 10 s
	wait_for 10 grep -qE -- "$1" "$A" || { echo "   no audit line" \
	    "'$1'"; tail -n 5 "$A"; return 1; }
}

head -c 70000 /dev/urandom >"$T/data"
su_ mkdir /pub /tmp /home /home/alice /shared
su_ chmod 1777 /tmp
su_ chmod 777 /shared
su_ chown 1002:1002 /home/alice
su_ put "$T/data" /pub/rootfile
su_ put "$T/data" /shared/rootfile
su_ chmod 644 /pub/rootfile /shared/rootfile

ok "cluster up wrote host.conf, 0600" test "$(stat -c %a "$C/host.conf")" = 600
M="$T/mnt"
mkdir "$M"
chmod 711 "$T"
"$B/dfs-mount" -c "$C/host.conf" -o allow_other \
    -o mount.attr_timeout=10m -f "$M" 2>>"$T/mount.log" &
MOUNT_PID=$!
unmount() {
	fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null
	kill "$MOUNT_PID" 2>/dev/null
	wait "$MOUNT_PID" 2>/dev/null
	cluster_cleanup
}
trap unmount EXIT
ok "dfs-mount -c host.conf -o allow_other mounts" wait_for 10 \
    is_mounted "$M"
chmod 755 "$M"
ok "the mount holds the host identity" sh -c "'$B/dfs' -c '$C/host.conf' \
    whoami | grep -qx 'role: host'"

# alice, in her own directory: what Linux lets her do.
ok "alice writes a file in her directory" as 1002 \
    "head -c 70000 /dev/urandom >$M/home/alice/f && cat $M/home/alice/f >/dev/null"
ok "... it is hers on the namenode" test "$(owner /home/alice/f)" = 1002
ok "alice chmods it 0600" as 1002 "chmod 600 $M/home/alice/f"
ok "alice renames, links and removes her own files" as 1002 \
    "cp $M/home/alice/f $M/home/alice/g && mv $M/home/alice/g \
    $M/home/alice/h && mkdir $M/home/alice/d && rm $M/home/alice/h && \
    rmdir $M/home/alice/d"
ok "alice makes a set-gid file of her own group" as 1002 \
    "touch $M/home/alice/sg && chmod 2755 $M/home/alice/sg"
ok "... and the namenode keeps the bit" test "$(mode /home/alice/sg)" = 2755
ok "alice cannot give her file away (chown)" refused 1002 \
    "chown 1001 $M/home/alice/f"

# bob: the Done-when cases (the kernel refuses first).
ok "bob cannot read alice's 0600 file" refused 1001 "cat $M/home/alice/f"
ok "bob cannot delete root's file in a 0755 directory" refused 1001 \
    "rm -f $M/pub/rootfile"
ok "bob cannot rename it" refused 1001 "mv $M/pub/rootfile $M/tmp/x"
ok "bob cannot chmod it" refused 1001 "chmod 666 $M/pub/rootfile"
ok "bob cannot chown it" refused 1001 "chown 1001 $M/pub/rootfile"
ok "bob makes a file in /tmp and sets its set-uid bit" as 1001 \
    "touch $M/tmp/bs && chmod 4755 $M/tmp/bs"
ok "... but cannot make it root's" refused 1001 "chown 0 $M/tmp/bs"
ok "... it is still his" test "$(owner /tmp/bs)" = 1001
ok "root's file is untouched" sh -c "'$B/dfs' -c '$C/client.conf' cat \
    /pub/rootfile | cmp -s - '$T/data'"

# Cases only the namenode can refuse: bob's kernel holds attributes
# that say yes, changed behind its back.
ok "alice makes a 0644 file" as 1002 "echo hers >$M/home/alice/open"
ok "bob reads it (the kernel caches 0644)" as 1001 "cat $M/home/alice/open"
ok "bob lists /shared (the kernel caches 0777)" as 1001 "ls -l $M/shared"
ok "bob makes a file, cached as his" as 1001 "echo bob >$M/tmp/mine && \
    stat $M/tmp/mine >/dev/null"
su_ chmod 600 /home/alice/open
su_ chmod 755 /shared
su_ chown 1002 /tmp/mine
ok "the namenode refuses bob's read of what is now 0600" refused 1001 \
    "cat $M/home/alice/open"
ok "... the refusal is the namenode's, for the host acting as bob" \
    audited "result=EACCES cmd=GET_BLOCKS cert=[^ ]+ role=host uid=1001 gid=1001 .* src=/home/alice/open "
ok "the namenode refuses bob's delete in what is now 0755" refused 1001 \
    "rm -f $M/shared/rootfile"
ok "... (audited: host as bob, EACCES)" audited \
    "result=EACCES cmd=UNLINK cert=[^ ]+ role=host uid=1001 .* src=/shared/rootfile "
ok "the namenode refuses bob's chmod of what is now alice's" refused 1001 \
    "chmod 4777 $M/tmp/mine"
ok "... (audited: host as bob, EPERM)" audited \
    "result=EPERM cmd=SETATTR cert=[^ ]+ role=host uid=1001 .* src=/tmp/mine "
ok "root's file in /shared is still there" sh -c "'$B/dfs' -c \
    '$C/client.conf' cat /shared/rootfile | cmp -s - '$T/data'"

# Root through a host mount is uid 0, not the superuser (root squash):
# the kernel lets root do anything, the namenode does not.
ok "root reads its own file (uid 0 owns it)" cmp "$M/pub/rootfile" \
    "$T/data"
ok "root writes in its own 0755 directory" sh -c "echo r >$M/pub/r && \
    rm $M/pub/r"
ok "root cannot read alice's 0600 file" refused 0 "cat $M/home/alice/f"
ok "... refused by the namenode (host as uid 0)" audited \
    "result=EACCES cmd=GET_BLOCKS cert=[^ ]+ role=host uid=0 .* src=/home/alice/f "
ok "root cannot delete in alice's 0755 directory" refused 0 \
    "rm -f $M/home/alice/f"
ok "root cannot chown alice's file" refused 0 "chown 0 $M/home/alice/f"
ok "root cannot chmod alice's file" refused 0 "chmod 777 $M/home/alice/f"
ok "root cannot make a device" refused 0 "mknod $M/pub/null c 1 3"
ok "alice's file is still hers" test "$(owner /home/alice/f)" = 1002
ok "... and 0600" test "$(mode /home/alice/f)" = 0600
finish
