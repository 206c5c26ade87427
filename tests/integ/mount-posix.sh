#!/bin/sh
# mount-posix.sh: the POSIX corners of dfs-mount on a real 2-node cluster:
# hard links (one inode number, nlink, contents shared through a rewrite,
# the blocks freed with the last name, EPERM/EEXIST/ENOENT/ENAMETOOLONG,
# ctime), FIFOs between two processes, sockets and device nodes (stat(1)
# and dfs ls -l), set-group-ID directories (through the mount and through
# dfs), a second user mounting with allow_other (owner, sticky directory,
# set-user-ID cleared on a write and a chown), files unlinked while open,
# a spool directory that fills up (ENOSPC, nothing acknowledged lost), and
# the namenode upgrading a schema 1 database (no hard links) on open.
# Skips (exit 77) only when /dev/fuse cannot be used here.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

need_fuse
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	echo "skip: needs root and setpriv(1) to act as a second user"
	exit 77
fi

M="$T/mnt"
MOUNT_PID=
U=1000	# the second user (and group); need not exist in /etc/passwd

# Unmount before the cluster goes, then stop everything by PID.
posix_cleanup() {
	if is_mounted "$M"; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" \
		    2>/dev/null
	fi
	if [ -n "$MOUNT_PID" ]; then
		kill "$MOUNT_PID" 2>/dev/null
	fi
	if is_mounted "$T/mnt-full"; then
		fusermount3 -u "$T/mnt-full" 2>/dev/null ||
		    fusermount3 -uz "$T/mnt-full" 2>/dev/null
	fi
	if is_mounted "$T/spool-fs" tmpfs; then
		sleep 0.2	# the full-spool mount's process lets go of it
		umount "$T/spool-fs" 2>/dev/null
	fi
	cluster_cleanup
}
trap posix_cleanup EXIT

# wait_for SECONDS COMMAND: poll every 0.1 s until COMMAND succeeds.
wait_for() {
	n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		if sh -c "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# mount_up: dfs-mount with allow_other at $M, in the foreground of a
# background job whose PID we keep.
mount_up() {
	"$top_builddir/dfs-mount" -c "$C/client.conf" -o allow_other -f \
	    "$M" 2>>"$T/mount.log" &
	MOUNT_PID=$!
	wait_for 10 "grep -q ' $M fuse' /proc/mounts"
}

# mount_down: fusermount3 -u, and the process exits (says how long it
# took).
mount_down() {
	d0=$(date +%s%N)
	if ! fusermount3 -u "$M" 2>"$T/umount.err"; then
		echo "# fusermount3 -u: $(cat "$T/umount.err")"
		return 1
	fi
	if ! wait_for 60 "! kill -0 $MOUNT_PID"; then
		echo "# the mount process is still there 60 s after" \
		    "fusermount3 -u; its threads wait in:"
		for t in /proc/"$MOUNT_PID"/task/*; do
			echo "#   $(cat "$t/comm" 2>/dev/null):" \
			    "$(cat "$t/wchan" 2>/dev/null)"
		done
		return 1
	fi
	MOUNT_PID=
	echo "# the mount process ended $((($(date +%s%N) - d0) / 1000000))" \
	    "ms after fusermount3 -u"
}

# as_user COMMAND: run a shell command as uid and gid $U, no other groups.
as_user() {
	setpriv --reuid=$U --regid=$U --clear-groups sh -c "$1"
}

# blocks_on_disk: block files (not their .meta) in every data directory.
blocks_on_disk() {
	find "$C"/datanode*/current -name 'blk_*' ! -name '*.meta' | wc -l
}

# dfs_field PATH KEY: one "key: value" line of dfs stat.
dfs_field() {
	dfs stat "$1" | sed -n "s/^$2: //p"
}

cluster_start -n 2 -b 64K -r 2 --heartbeat 1
chmod 711 "$T"		# the second user must reach the mount point
mkdir "$M"
ok "dfs-mount -o allow_other mounts" mount_up
chmod 755 "$M"

# === hard links ==========================================================
head -c 200000 /dev/urandom >"$T/in1"
head -c 300001 /dev/urandom >"$T/in2"
base=$(blocks_on_disk)
cp "$T/in1" "$M/a"
ok "ln of a file" ln "$M/a" "$M/b"
ok "both names have one inode number" test \
    "$(stat -c %i "$M/a")" = "$(stat -c %i "$M/b")"
ok "stat shows 2 links on each name" test \
    "$(stat -c %h "$M/a"):$(stat -c %h "$M/b")" = 2:2
ok "the namenode agrees (dfs stat: same inode, 2 links)" test \
    "$(dfs_field /a inode):$(dfs_field /b links)" = \
    "$(dfs_field /b inode):2"
ok "reading the new name gives the bytes written to the old" \
    cmp "$M/b" "$T/in1"
ino=$(stat -c %i "$M/a")
c0=$(stat -c %Z "$M/a")
sleep 1.1
ln "$M/a" "$M/c"
ok "link changes the inode's ctime" test "$(stat -c %Z "$M/c")" -gt "$c0"
ok "3 links now" test "$(dfs_field /a links)" = 3
cp "$T/in2" "$M/b"
ok "a rewrite through one name is read through the others" sh -c \
    "cmp '$M/a' '$T/in2' && cmp '$M/c' '$T/in2'"
ok "and keeps the inode number" test "$(stat -c %i "$M/a")" = "$ino"
ok "dfs cat of another name has the new bytes" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' cat /c | cmp - '$T/in2'"
ok "rm of one name" rm "$M/a"
ok "the other names still read" sh -c "cmp '$M/b' '$T/in2' && \
    cmp '$M/c' '$T/in2'"
ok "the link count drops to 2" wait_for 5 \
    "test \"\$(stat -c %h '$M/b')\" = 2"
ok "fsck: the file is still whole" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' fsck / | grep -q '^files: 1, blocks: 5, healthy: 5'"
ok "dfs rm of a second name (the CLI path)" dfs rm /c
ok "the last name still reads" cmp "$M/b" "$T/in2"
ok "rm of the last name" rm "$M/b"
ok "fsck is healthy with no files and no blocks left" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' fsck / | grep -q \
    '^files: 0, blocks: 0,' && '$top_builddir/dfs' -c '$C/client.conf' \
    fsck / | grep -q '^status: HEALTHY'"
ok "the data nodes deleted the block files" wait_for 20 \
    "test \"\$(find '$C'/datanode*/current -name 'blk_*' ! -name '*.meta' \
    | wc -l)\" -eq $base"

# rename over a hard link, rm -r of a tree holding one name of a file
printf one >"$M/x"
ln "$M/x" "$M/y"
printf two >"$M/z"
ok "mv of a file over one name of a linked file" mv "$M/z" "$M/y"
ok "the other name keeps its bytes and has 1 link" test \
    "$(cat "$M/x"):$(dfs_field /x links)" = one:1
ok "the target name has the moved bytes" test "$(cat "$M/y")" = two
mkdir -p "$M/t/u"
ln "$M/x" "$M/t/u/x2"
ok "rm -r of a tree holding a second name" rm -r "$M/t"
ok "the name outside the tree survives, with 1 link" test \
    "$(cat "$M/x"):$(dfs_field /x links)" = one:1
rm -f "$M/x" "$M/y"

py_checks '
import errno, os, sys
m = sys.argv[1]
os.mkdir(m + "/ld")
with open(m + "/lf", "w") as f:
    f.write("x")
with open(m + "/lg", "w") as f:
    f.write("y")
check("link of a directory", err(os.link, m + "/ld", m + "/ld2"),
      errno.EPERM)
check("link onto an existing name", err(os.link, m + "/lf", m + "/lg"),
      errno.EEXIST)
check("link of a missing name", err(os.link, m + "/nope", m + "/n2"),
      errno.ENOENT)
check("link into a missing directory",
      err(os.link, m + "/lf", m + "/nodir/n"), errno.ENOENT)
check("link with a 256-byte name", err(os.link, m + "/lf", m + "/" + "n" * 256),
      errno.ENAMETOOLONG)
check("link with a 255-byte name", err(os.link, m + "/lf", m + "/" + "n" * 255),
      0)
check("a link of a symbolic link is a second symbolic link",
      err(lambda: (os.symlink("lf", m + "/ls"),
                   os.link(m + "/ls", m + "/ls2", follow_symlinks=False))), 0)
check("which reads the same target", 0 if os.readlink(m + "/ls2") == "lf"
      else errno.EIO, 0)
' "$M"
rm -rf "$M/ld" "$M/lf" "$M/lg" "$M/ls" "$M/ls2" "$M/$(printf 'n%.0s' \
    $(seq 255))"

# === a directory's attributes after an unlink (sent with UNLINK's reply) ===
mkdir "$M/fr"
touch "$M/fr/a" "$M/fr/b"
mkdir "$M/fr/sub"
touch -d '2001-02-03 04:05:06' "$M/fr"
old=$(date -d '2001-02-03 04:05:06' +%s)
ok "the directory shows the time set" test "$(stat -c %Y "$M/fr")" = "$old"
rm "$M/fr/a"
ok "after rm, the directory's mtime is new" test \
    "$(stat -c %Y "$M/fr")" -gt "$old"
ok "and is the namenode's (dfs stat, to the minute)" test \
    "$(date -d "@$(stat -c %Y "$M/fr")" '+%Y-%m-%d %H:%M')" = \
    "$(dfs_field /fr modified)"
ok "rmdir drops the link count the directory shows" sh -c "rmdir \
    '$M/fr/sub' && test \"\$(stat -c %h '$M/fr')\" = 2"
rm "$M/fr/b"
chmod 700 "$M/fr"
ok "a chmod right after an rm is seen at once" test \
    "$(stat -c %a "$M/fr")" = 700
rm -r "$M/fr"

# === FIFOs, sockets, devices ===============================================
ok "mkfifo" mkfifo "$M/fifo"
ok "stat says fifo" test "$(stat -c %F "$M/fifo")" = fifo
(printf 'through the pipe\n' >"$M/fifo") &
writer=$!
ok "a reader gets what a writer put into the FIFO" test \
    "$(timeout 10 cat "$M/fifo")" = "through the pipe"
wait $writer 2>/dev/null
ok "the FIFO works again, reader first" sh -c "timeout 10 cat '$M/fifo' \
    >'$T/fifo.out' & r=\$!; sleep 0.3; printf again >'$M/fifo'; \
    wait \$r; test \"\$(cat '$T/fifo.out')\" = again"
ok "mknod of a character device (4, 5)" mknod "$M/cdev" c 4 5
ok "stat shows a character device 4:5" test \
    "$(stat -c '%F %t:%T' "$M/cdev")" = "character special file 4:5"
ok "mknod of a block device (7, 200)" mknod "$M/bdev" b 7 200
ok "stat shows a block device 7:c8" test \
    "$(stat -c '%F %t:%T' "$M/bdev")" = "block special file 7:c8"
ok "unmount" mount_down
ok "mount again" mount_up
ok "(remounted) stat still shows 4:5" test \
    "$(stat -c '%t:%T' "$M/cdev")" = 4:5
ok "ls -l shows c, p and the device numbers" sh -c "ls -l '$M' | \
    grep -q '^crw.* 4, *5 .* cdev\$' && ls -l '$M' | grep -q '^prw.* fifo\$'"
ok "dfs ls -l shows c, b and p" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' ls -l / >'$T/ls' && grep -q '^crw.* 4, *5 .* cdev\$' \
    '$T/ls' && grep -q '^brw.* 7, *200 .* bdev\$' '$T/ls' && \
    grep -q '^prw.* fifo\$' '$T/ls'"
ok "dfs stat names the type and the device" test \
    "$(dfs_field /cdev type):$(dfs_field /cdev device)" = \
    "character device:4,5"
py_checks '
import os, socket, stat, sys
p = sys.argv[1] + "/sock"
s = socket.socket(socket.AF_UNIX)
s.bind(p)
ok = stat.S_ISSOCK(os.stat(p).st_mode)
print("%s - a UNIX socket bound on the mount is a socket" %
      ("ok" if ok else "not ok"))
s.close()
' "$M"
ok "rm of the special files" rm "$M/fifo" "$M/cdev" "$M/bdev" "$M/sock"

# === set-group-ID directories ============================================
mkdir "$M/g"
chgrp 1234 "$M/g"
chmod 2775 "$M/g"
touch "$M/g/f"
mkdir "$M/g/s"
mkfifo "$M/g/p"
ln -s f "$M/g/l"
ok "a new file takes the directory's group" test \
    "$(stat -c %g "$M/g/f")" = 1234
ok "a new directory takes the group and the set-group-ID bit" test \
    "$(stat -c %g:%a "$M/g/s")" = 1234:2755
ok "so does its own new file" sh -c "touch '$M/g/s/f' && \
    test \"\$(stat -c %g '$M/g/s/f')\" = 1234"
ok "a FIFO and a symbolic link take the group" test \
    "$(stat -c %g "$M/g/p"):$(stat -c %g "$M/g/l")" = 1234:1234
ok "a file put with dfs takes the group" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' put '$T/in1' /g/put && \
    test \"\$(stat -c %g '$M/g/put')\" = 1234"
ok "a directory made with dfs mkdir takes both" sh -c "'$top_builddir/dfs' \
    -c '$C/client.conf' mkdir /g/dm && \
    test \"\$(stat -c %g:%a '$M/g/dm')\" = 1234:2755"
ok "outside it, new files keep the creator's group" sh -c "touch '$M/h' && \
    test \"\$(stat -c %g '$M/h')\" = 0"

# === a second user ==========================================================
mkdir "$M/pub"
chmod 1777 "$M/pub"
printf root >"$M/pub/rootfile"
chmod 666 "$M/pub/rootfile"
ok "user $U creates a file through the allow_other mount" \
    as_user "printf mine >'$M/pub/userfile'"
ok "it belongs to $U:$U" test "$(stat -c %u:%g "$M/pub/userfile")" = "$U:$U"
ok "user $U makes a directory, owned by $U:$U" sh -c "setpriv \
    --reuid=$U --regid=$U --clear-groups mkdir '$M/pub/ud' && \
    test \"\$(stat -c %u:%g '$M/pub/ud')\" = '$U:$U'"
ok "user $U may not unlink root's file in the sticky directory" \
    fails_with "not permitted" as_user "rm -f '$M/pub/rootfile'"
ok "nor rename it" fails_with "not permitted" \
    as_user "mv '$M/pub/rootfile' '$M/pub/stolen'"
ok "root's file is still there" test "$(cat "$M/pub/rootfile")" = root
ok "user $U may write to it (mode 666)" \
    as_user "printf more >>'$M/pub/rootfile'"
ok "user $U removes a file of its own" as_user "rm '$M/pub/userfile'"
ok "user $U may not write into a directory it cannot" fails_with \
    "permission denied" as_user "touch '$M/g/nope'"
printf suid >"$M/pub/suid"
chmod 4777 "$M/pub/suid"
ok "a set-user-ID file is 4777" test "$(stat -c %a "$M/pub/suid")" = 4777
ok "user $U (not the owner) writes to it" \
    as_user "printf x >>'$M/pub/suid'"
ok "the write cleared set-user-ID" test "$(stat -c %a "$M/pub/suid")" = 777
ok "the namenode has the cleared mode" test \
    "$(dfs_field /pub/suid mode | cut -d' ' -f1)" = 0777
printf sgid >"$M/pub/sgid"
chmod 2777 "$M/pub/sgid"
ok "a non-owner's write clears set-group-ID (group-executable)" sh -c \
    "setpriv --reuid=$U --regid=$U --clear-groups sh -c \
    \"printf x >>'$M/pub/sgid'\" && test \"\$(stat -c %a '$M/pub/sgid')\" \
    = 777"
printf c >"$M/pub/chown"
chmod 4755 "$M/pub/chown"
ok "chown clears set-user-ID" sh -c "chown $U '$M/pub/chown' && \
    test \"\$(stat -c %u:%a '$M/pub/chown')\" = '$U:755'"

# === a file unlinked (or replaced) while open stays readable ===========
# POSIX keeps an unlinked file alive for its open descriptors: the
# namenode keeps it for the mounts holding it open (namenode/nn-hold.c;
# mount-unlinked.sh tests that further), and a mount on the path API
# keeps a copy for its handles (fm_file_keep).  Files span several
# 64 KiB blocks here.
py_checks '
import os, sys, tempfile
d = sys.argv[1]
def ok(what, cond):
    print("%s - %s" % ("ok" if cond else "not ok", what))
def readall(fd):
    out = b""
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            return out
        out += b
data = os.urandom(700000)
with tempfile.TemporaryFile(dir=d) as f:
    f.write(data); f.flush(); f.seek(0)
    ok("tempfile.TemporaryFile (create, unlink, write, read back)",
       f.read() == data)
p = d + "/ul-read"
with open(p, "wb") as f:
    f.write(data)
fd = os.open(p, os.O_RDONLY)
os.read(fd, 1000)
os.unlink(p)
ok("the unlinked name is gone at once", not os.path.exists(p))
ok("an open descriptor reads the unlinked file whole",
   os.pread(fd, len(data) + 1, 0) == data and readall(fd) == data[1000:])
os.close(fd)
p = d + "/ul-over"
with open(p, "wb") as f:
    f.write(data)
fd = os.open(p, os.O_RDONLY)
with open(d + "/ul-new", "wb") as f:
    f.write(b"new")
os.rename(d + "/ul-new", p)
ok("a file replaced by rename reads whole through an old descriptor",
   os.pread(fd, len(data) + 1, 0) == data)
with open(p, "rb") as f:
    ok("... while its name shows the new file", f.read() == b"new")
os.close(fd)
p = d + "/ul-stream"
fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, data[:300000])
os.unlink(p)
os.write(fd, data[300000:])
os.pwrite(fd, b"patched", 5)
want = data[:5] + b"patched" + data[12:]
ok("a file unlinked while written takes writes and reads them back",
   os.pread(fd, len(data) + 1, 0) == want)
os.close(fd)
left = sorted(n for n in os.listdir(d) if n.startswith("ul-"))
ok("... and nothing of it comes back after close (%s)" % left,
   left == ["ul-over"])
' "$M"
# === a full spool directory ================================================
# A write that is not sequential from the start is kept in the mount's
# spool ($TMPDIR) until close.  With the spool on a 1 MiB tmpfs, writes
# that need more fail with ENOSPC, what the cluster holds stays as it was,
# and what a write acknowledged is what the file holds after close.
F="$T/mnt-full"
S="$T/spool-fs"
mkdir -p "$F" "$S"
ok "a 1 MiB tmpfs for the spool" mount -t tmpfs -o size=1m tmpfs "$S"
if is_mounted "$S" tmpfs; then
	TMPDIR="$S" "$top_builddir/dfs-mount" -c "$C/client.conf" -f "$F" \
	    2>"$T/mount-full.log" &
	FULL_PID=$!
	ok "a mount whose spool is on a 1 MiB tmpfs" \
	    wait_for 10 "grep -q ' $F fuse' /proc/mounts"
	head -c 3000000 /dev/urandom >"$T/big"
	ok "cp of 3 MB into it streams, with no spool" sh -c \
	    "cp '$T/big' '$F/big' && cmp '$T/big' '$F/big'"
	py_checks '
import os, sys
f, m = sys.argv[1], sys.argv[2]
big = open(sys.argv[3], "rb").read()
fd = os.open(f + "/big", os.O_RDWR)
check("a write into the middle of a 3 MB file, no room to spool it",
      err(os.pwrite, fd, b"X" * 10, 100), errno.ENOSPC)
os.close(fd)
print("%s - the cluster keeps the file as it was" %
      ("ok" if open(m + "/big", "rb").read() == big else "not ok"))
for name, mode in (("read-write", os.O_RDWR), ("write-only", os.O_WRONLY)):
    p = "/holes-" + name
    fd = os.open(f + p, mode | os.O_CREAT, 0o644)
    done, e = 0, 0
    while done < 2000000:
        try:
            n = os.pwrite(fd, b"Y" * 65536, 500000 + done)
        except OSError as x:
            e = x.errno
            break
        done += n
    check("%s: writes at an offset, past the room of the spool" % name,
          e, errno.ENOSPC)
    os.close(fd)
    got = open(m + p, "rb").read()
    print("%s - %s: after close the file holds what the writes "
          "acknowledged (%d bytes)" % ("ok" if got == b"\0" * 500000 +
          b"Y" * done and done > 0 else "not ok", name, done))
' "$F" "$M" "$T/big"
	ok "the mount says why" grep -q "No space left on device" \
	    "$T/mount-full.log"
	ok "unmount of the full-spool mount" sh -c "fusermount3 -u '$F'"
	# 60 s, as mount_down: a sanitizer build's exit (LeakSanitizer's
	# scan) takes 0.1 s idle, 1.6 s beside 6 busy loops, and once over
	# 10 s in CI.
	ok "its dfs-mount exits" wait_for 60 "! kill -0 $FULL_PID"
	ok "... and leaves nothing in the spool" test -z "$(ls -A "$S")"
	umount "$S"
fi

# === a schema 1 database is upgraded on open =============================
ok "unmount" mount_down
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
# Schema 1 as the namenode before hard links made it.
py_checks '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
BEGIN;
CREATE TABLE d1(
  parent INTEGER NOT NULL REFERENCES inodes(id),
  name TEXT NOT NULL,
  ino INTEGER NOT NULL UNIQUE REFERENCES inodes(id),
  PRIMARY KEY(parent, name)) WITHOUT ROWID;
INSERT INTO d1 SELECT parent, name, ino FROM dirents;
DROP TABLE dirents;
ALTER TABLE d1 RENAME TO dirents;
ALTER TABLE inodes DROP COLUMN rdev;
DROP TABLE IF EXISTS patches;
UPDATE meta SET value = 1 WHERE key = "schema";
COMMIT;
""")
n = db.execute("SELECT count(*) FROM dirents").fetchone()[0]
print("%s - a schema 1 database with %d entries" %
      ("ok" if n > 5 else "not ok", n))
db.close()
' "$C/namenode/namespace.db"
ok "the cluster starts again on it" sh -c "'$top_builddir/dfs' cluster up \
    '$C' -n 2 -b 64K -r 2 --heartbeat 1 >>'$T/up.log' 2>&1"
ok "the namenode says it upgraded the schema" grep -q \
    "schema 1 upgraded to 2" "$C/logs/namenode.log"
ok "... through every version to 4" grep -q \
    "schema 3 upgraded to 4" "$C/logs/namenode.log"
ok "files survive the upgrade" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' cat /g/put | cmp - '$T/in1'"
ok "and their attributes" test "$(dfs_field /g/s mode | cut -d' ' -f1)" = 2755
mount_up
ok "a hard link after the upgrade" sh -c "ln '$M/g/put' '$M/put2' && \
    test \"\$(stat -c %h '$M/put2')\" = 2 && cmp '$M/put2' '$T/in1'"
ok "a device node after the upgrade" sh -c "mknod '$M/cd2' c 1 3 && \
    test \"\$(stat -c %t:%T '$M/cd2')\" = 1:3"
ok "unmount at the end" mount_down
# The namenode holds its database exclusively (nn-db.c): nobody else may
# read it while it runs, everybody once it stopped.
py_checks '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=0.2)
try:
    db.execute("SELECT count(*) FROM dirents").fetchone()
    print("not ok - the live database is locked (it could be read)")
except sqlite3.OperationalError as e:
    print("%s - the live database is locked (%s)" %
          ("ok" if "locked" in str(e) else "not ok", e))
' "$C/namenode/namespace.db"
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
py_checks '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
sql = db.execute("SELECT sql FROM sqlite_master WHERE name = \"dirents\"")\
    .fetchone()[0]
idx = db.execute("SELECT count(*) FROM sqlite_master WHERE type = \"index\" "
                 "AND name = \"dirents_ino\"").fetchone()[0]
ver = db.execute("SELECT value FROM meta WHERE key = \"schema\"").fetchone()[0]
orph = db.execute("SELECT count(*) FROM sqlite_master WHERE type = \"table\" "
                  "AND name = \"orphans\"").fetchone()[0]
print("%s - schema 2: dirents.ino not UNIQUE, indexed" %
      ("ok" if "UNIQUE" not in sql and idx == 1 else "not ok"))
patches = db.execute("SELECT count(*) FROM sqlite_master WHERE type = "
                     "\"table\" AND name = \"patches\"").fetchone()[0]
print("%s - schema 3: an orphans table" % ("ok" if orph == 1 else "not ok"))
print("%s - schema 4: a patches table, and version 4 (got %s)" %
      ("ok" if patches == 1 and ver == 4 else "not ok", ver))
' "$C/namenode/namespace.db"

finish
