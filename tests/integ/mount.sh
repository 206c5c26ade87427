#!/bin/sh
# mount.sh: dfs-mount on a real 3-node cluster (replication 3, 64 KiB
# blocks), used through real tools: cp in and out (cmp, sha256sum), mkdir
# -p, ls -l, mv, rm -r, tar of a 500-file tree in and out (diff -r), rsync
# twice (the second run transfers nothing), NumPy for every dtype (np.save
# onto the mount, np.load and mmap back, dfs stat, element-aligned
# blocks), POSIX errors, a randomized write tester (fsx.py) checked again
# after a remount, two mounts of one cluster (close-to-open, renames), a
# stopped namenode (EIO within the timeout, then recovery), SIGTERM
# committing an open file, a data node killed during a read, and
# unmounting with fusermount3 -u and dfs cluster down.
# Skips (exit 77) only when /dev/fuse cannot be used here.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

need_fuse

B=65536
M="$C/mnt"
M2="$T/mnt2"
MOUNT2_PID=

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

# Unmount before the cluster goes (a killed dfs-mount would leave a dead
# mount point behind), then stop everything by PID.
mount_cleanup() {
	for mp in "$M2" "$M"; do
		if is_mounted "$mp"; then
			fusermount3 -u "$mp" 2>/dev/null ||
			    fusermount3 -uz "$mp" 2>/dev/null
		fi
	done
	if [ -n "$MOUNT2_PID" ]; then
		kill "$MOUNT2_PID" 2>/dev/null
	fi
	cluster_cleanup
}
trap mount_cleanup EXIT

# fails_with PATTERN COMMAND...: as in cluster.sh, but leaving errexit off
# (this script checks every status itself and must reach its cleanup).
fails_with() {
	pat=$1
	shift
	out=$("$@" 2>&1)
	st=$?
	if [ "$st" -ne 1 ]; then
		echo "   exit status $st, wanted 1: $out"
		return 1
	fi
	if ! printf '%s' "$out" | grep -qi -- "$pat"; then
		echo "   message '$out' does not say '$pat'"
		return 1
	fi
	return 0
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

cluster_start -n 3 -b 64K -r 3 --mount
ok "cluster up --mount mounts DIR/mnt" is_mounted "$M"
ok "the mount's PID is recorded and is a dfs-mount" sh -c \
    "ps -o comm= -p \"\$(cat '$C/run/mount.pid')\" | grep -qx dfs-mount"
ok "dfs cluster status lists the mount as running" sh -c \
    "'$top_builddir/dfs' cluster status '$C' | grep -q '^mount .*running'"
ok "df shows the cluster's capacity" sh -c \
    "df -P '$M' | awk 'NR == 2 { exit !(\$2 > 0) }'"

# --- cp in and out at the block edges -------------------------------------
mkdir "$T/in" "$T/out"
for n in 0 1 $((B - 1)) $B $((B + 1)) 3000017; do
	head -c "$n" /dev/urandom >"$T/in/f$n"
	ok "cp of $n bytes into the mount" cp "$T/in/f$n" "$M/f$n"
	ok "cp of $n bytes out of it: cmp" sh -c "cp '$M/f$n' '$T/out/f$n' \
	    && cmp '$T/in/f$n' '$T/out/f$n'"
	ok "$n bytes: the same sha256" test "$(sha "$T/in/f$n")" = \
	    "$(sha "$T/out/f$n")"
	ok "$n bytes: the cluster has them (dfs cat)" sh -c \
	    "'$top_builddir/dfs' -c '$C/client.conf' cat /f$n | \
	    cmp - '$T/in/f$n'"
done
ok "cat of a file written through the mount" sh -c \
    "cat '$M/f3000017' | cmp - '$T/in/f3000017'"

# --- directories, ls -l, mv, rm -r ---------------------------------------
ok "mkdir -p of nested directories" mkdir -p "$M/a/b/c"
ok "dfs ls sees them" sh -c "'$top_builddir/dfs' -c '$C/client.conf' ls \
    /a/b | grep -qx c"
cp "$T/in/f$((B + 1))" "$M/a/b/c/file"
chmod 640 "$M/a/b/c/file"
ok "ls -l shows the mode and the size" sh -c "ls -l '$M/a/b/c/file' | \
    grep -q '^-rw-r----- .* $((B + 1)) '"
ok "ls -l shows a directory as one" sh -c "ls -ld '$M/a/b' | grep -q '^drwx'"
ok "ls -l lists a directory's entries with their sizes" sh -c "ls -l \
    '$M/a/b/c' | grep -q ' $((B + 1)) .* file\$'"
touch -d '2001-02-03 04:05:06' "$M/a/b/c/file"
ok "touch -d sets the modification time" test \
    "$(stat -c %Y "$M/a/b/c/file")" = "$(date -d '2001-02-03 04:05:06' +%s)"
ok "chown is kept" sh -c "chown 1234:5678 '$M/a/b/c/file' && \
    test \"\$(stat -c %u:%g '$M/a/b/c/file')\" = 1234:5678"
printf one >"$M/m1"
printf two >"$M/m2"
ok "mv of a file over a file" mv "$M/m1" "$M/m2"
ok "the target has the source's bytes" test "$(cat "$M/m2")" = one
ok "the source name is gone" test ! -e "$M/m1"
ok "mv of a directory" mv "$M/a/b" "$M/a/moved"
ok "its files moved with it" cmp "$M/a/moved/c/file" "$T/in/f$((B + 1))"
ok "ln -s and readlink" sh -c "ln -s ../f1 '$M/a/link' && \
    test \"\$(readlink '$M/a/link')\" = ../f1 && cmp '$M/a/link' '$T/in/f1'"
ok "rm -r of a tree" rm -r "$M/a"
ok "the tree is gone from the cluster" fails_with "no such file" \
    dfs stat /a
ok "appending with >>" sh -c "printf abc >'$M/app' && printf def >>'$M/app' \
    && test \"\$(cat '$M/app')\" = abcdef"
ok "truncate -s shrinks and grows (zeros)" sh -c "truncate -s 2 '$M/app' && \
    truncate -s 4 '$M/app' && printf 'ab\\000\\000' | cmp - '$M/app'"

# --- POSIX errors -------------------------------------------------------
py_checks '
import ctypes, errno, os, sys
m = sys.argv[1]
os.mkdir(m + "/e")
with open(m + "/e/f", "w") as f:
    f.write("x")
with open(m + "/e/g", "w") as f:
    f.write("y")
check("stat of a missing name", err(os.stat, m + "/e/nope"), errno.ENOENT)
check("mkdir of an existing name", err(os.mkdir, m + "/e"), errno.EEXIST)
check("rmdir of a non-empty directory", err(os.rmdir, m + "/e"),
      errno.ENOTEMPTY)
check("unlink of a directory", err(os.unlink, m + "/e"), errno.EISDIR)
check("rmdir of a file", err(os.rmdir, m + "/e/f"), errno.ENOTDIR)
check("a path through a file", err(os.stat, m + "/e/f/x"), errno.ENOTDIR)
check("open O_EXCL of an existing file", err(os.open, m + "/e/f",
      os.O_CREAT | os.O_EXCL | os.O_WRONLY), errno.EEXIST)
check("a name of 255 bytes is fine", err(os.mkdir, m + "/" + "n" * 255), 0)
check("a name of 256 bytes", err(os.mkdir, m + "/" + "n" * 256),
      errno.ENAMETOOLONG)
os.mkdir(m + "/e2")
check("rename of a directory over a file", err(os.rename, m + "/e2",
      m + "/e/f"), errno.ENOTDIR)
check("rename of a file over a directory", err(os.rename, m + "/e/f",
      m + "/e2"), errno.EISDIR)
check("rename of a directory into itself", err(os.rename, m + "/e",
      m + "/e/sub"), errno.EINVAL)
libc = ctypes.CDLL(None, use_errno=True)
def renameat2(a, b, flags):
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) == 0:
        return 0
    return ctypes.get_errno()
check("RENAME_NOREPLACE over an existing file",
      renameat2(m + "/e/g", m + "/e/f", 1), errno.EEXIST)
check("RENAME_NOREPLACE to a new name", renameat2(m + "/e/g", m + "/e/h", 1),
      0)
check("RENAME_EXCHANGE is not supported", renameat2(m + "/e/h", m + "/e/f",
      2), errno.EINVAL)
check("link of a directory", err(os.link, m + "/e", m + "/e-link"),
      errno.EPERM)
' "$M"

# --- tar of 500 files in 3 levels, in and out ---------------------------
mkdir -p "$T/tree"
for i in 1 2 3 4 5; do
	for j in 1 2 3 4 5 6 7 8 9 10; do
		mkdir -p "$T/tree/d$i/e$j"
		for k in 1 2 3 4 5 6 7 8 9 10; do
			head -c $(((i * 1000 + j * 100 + k) * 7)) /dev/urandom \
			    >"$T/tree/d$i/e$j/f$k"
		done
	done
done
ok "the tree has 500 files" test "$(find "$T/tree" -type f | wc -l)" -eq 500
ok "tar -x of the tree into the mount" sh -c "tar -C '$T' -cf - tree | \
    tar -C '$M' -xf -"
mkdir "$T/untar"
ok "tar -c of it out of the mount" sh -c "tar -C '$M' -cf - tree | \
    tar -C '$T/untar' -xf -"
ok "diff -r: the trees are identical" diff -r "$T/tree" "$T/untar/tree"

# --- rsync -a twice -------------------------------------------------------
ok "rsync -a of the tree into the mount" rsync -a "$T/tree/" "$M/rs/"
ok "diff -r: rsync copied it right" diff -r "$T/tree" "$M/rs"
rsync -a --itemize-changes "$T/tree/" "$M/rs/" >"$T/rsync2" 2>&1
ok "a second rsync -a transfers nothing" test ! -s "$T/rsync2"

# --- NumPy --------------------------------------------------------------
mkdir "$M/npy" "$T/npy"
py_checks '
import subprocess, sys
import numpy as np
m, t, dfs = sys.argv[1], sys.argv[2], sys.argv[3:]
rng = np.random.default_rng(20261123)
shape = (37, 41)
def array(code):
    if code == "b1":
        return rng.random(shape) < 0.5
    if code[1] in "iu":
        i = np.iinfo(code)
        return rng.integers(i.min, i.max, size=shape, dtype=code[1:],
                            endpoint=True).astype(code)
    if code[1] == "f":
        return rng.standard_normal(shape).astype(code)
    return (rng.standard_normal(shape) +
            1j * rng.standard_normal(shape)).astype(code)
def say(good, what):
    print("%s - %s" % ("ok" if good else "not ok", what))
for code in ("b1 <i1 <i2 <i4 <i8 <u1 <u2 <u4 <u8 <f2 <f4 <f8 <c8 <c16 "
             ">i4 >f8").split():
    a = array(code)
    name = code.replace("<", "").replace(">", "be")
    mp, lp = "%s/npy/%s.npy" % (m, name), "%s/%s.npy" % (t, name)
    np.save(mp, a)
    np.save(lp, a)
    b = np.load(mp)
    say(b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b),
        "np.save onto the mount, np.load back: %s" % code)
    with open(mp, "rb") as f1, open(lp, "rb") as f2:
        say(f1.read() == f2.read(), "%s: byte for byte what NumPy wrote" %
            code)
    c = np.load(mp, mmap_mode="r")
    say(np.array_equal(a, c), "%s: np.load(mmap_mode=r) reads right" % code)
    out = subprocess.run(dfs + ["stat", "/npy/%s.npy" % name],
                         capture_output=True, text=True).stdout.splitlines()
    descr = np.lib.format.dtype_to_descr(a.dtype)
    say("array: npy" in out and "dtype: " + descr in out and
        "shape: (37, 41)" in out,
        "%s: dfs stat shows the array metadata (%s, (37, 41))" %
        (code, descr))
# Arrays over many 64 KiB blocks, for the block map check below.
np.save(m + "/npy/big8.npy", np.arange(300001, dtype="<f8") * 0.25)
np.save(m + "/npy/big16.npy", np.arange(100003, dtype="<c16") * (1 + 2j))
a = np.load(m + "/npy/big8.npy", mmap_mode="r")
say(a.shape == (300001,) and a[300000] == 75000.0 and a[12345] == 12345 / 4,
    "a 2.4 MB array reads back through mmap")
' "$M" "$T/npy" "$top_builddir/dfs" -c "$C/client.conf"
dfs fsck / --blocks >"$T/fsck" 2>&1
ok "arrays written through the mount have element-aligned blocks on 3 \
nodes each" "$PYTHON" "$top_srcdir/tests/integ/blockmap_check.py" "$C" 3 \
    --npy /npy/big8.npy 128 8 --npy /npy/big16.npy 128 16 <"$T/fsck"

# dfs-sum given a path inside the mount asks the mount's cluster directly.
# Credentials only (no namenode address): the address must come from the
# mount, the certificate from the user's config, as for any connection.
sed -n '/^\[tls\]/,$p' "$C/client.conf" >"$T/tls-only.conf"
ok "dfs-sum of a mount path equals dfs-sum of the cluster path" sh -c \
    "a=\$(NPDFS_CONF='$T/tls-only.conf' '$top_builddir/dfs-sum' \
    '$M/npy/big8.npy') && \
    b=\$('$top_builddir/dfs-sum' -c '$C/client.conf' /npy/big8.npy) && \
    test \"\$a\" = \"\$b\" && test \"\$a\" = 11250037500.0"
ok "dfs-sum of a relative path inside the mount" sh -c "cd '$M/npy' && \
    test \"\$(NPDFS_CONF='$T/tls-only.conf' '$top_builddir/dfs-sum' \
    big8.npy)\" = 11250037500.0"

# --- the randomized write tester, then a remount ------------------------
SEED=${FSX_SEED:-$(date +%s)}
ok "fsx: 2,000 random operations (seed $SEED) against a local file" \
    "$PYTHON" "$top_srcdir/tests/integ/fsx.py" --seed "$SEED" --ops 2000 \
    "$T/fsx.local" "$M/fsx.file"
pid=$(cat "$C/run/mount.pid")
ok "fusermount3 -u unmounts" fusermount3 -u "$M"
ok "the dfs-mount process exits after fusermount3 -u" wait_for 30 \
    "! kill -0 $pid"
ok "nothing is mounted there any more" sh -c "! grep -q ' $M fuse' \
    /proc/mounts"
ok "cluster up --mount mounts it again" sh -c "'$top_builddir/dfs' cluster \
    up '$C' --mount >/dev/null"
ok "after the remount the fsx file equals the local one" "$PYTHON" \
    "$top_srcdir/tests/integ/fsx.py" --compare "$T/fsx.local" "$M/fsx.file"
ok "after the remount the 3 MB file reads back" cmp "$M/f3000017" \
    "$T/in/f3000017"

# --- two mounts of one cluster --------------------------------------------
mkdir "$M2"
"$top_builddir/dfs-mount" -c "$C/client.conf" -o client.timeout=2s \
    -o log.level=debug -f "$M2" 2>"$T/mount2.log" &
MOUNT2_PID=$!
ok "a second mount of the same cluster" wait_for 10 "grep -q ' $M2 fuse' \
    /proc/mounts"
head -c 1000000 /dev/urandom >"$T/in/two"
head -c 1500001 /dev/urandom >"$T/in/two.b"
ls -l "$M2" >/dev/null
cp "$T/in/two" "$M/two"
ok "written and closed in one mount, read whole in the other" \
    cmp "$M2/two" "$T/in/two"
cp "$T/in/two.b" "$M/two"
ok "rewritten in one mount, the other reads the whole new file at once" \
    cmp "$M2/two" "$T/in/two.b"
ls -l "$M2" >/dev/null
"$PYTHON" -c "import os; os.close(os.open('$M/empty', os.O_CREAT | os.O_WRONLY,
    0o644))"
ok "created empty and closed in one mount, the other opens it at once" \
    sh -c "test -f '$M2/empty' && test ! -s '$M2/empty' && cat '$M2/empty'"
ok "... and it is complete, not under construction" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' stat /empty | \
    grep -q '^state: complete'"
# Lookups ahead (fm-fresh.c): the second mount walks a directory in name
# order, so its lookups after the first come from one listing page; a file
# the first mount rewrites meanwhile is still read whole (close-to-open),
# and a walk that removes every file removes every file.
mkdir "$M/walk"
for i in 0 1 2 3 4 5 6 7 8 9; do printf old >"$M/walk/a00$i"; done
printf 'a new and longer content' >"$T/in/walk.new"
ok "a walk of the other mount reads a file rewritten meanwhile whole" \
    "$PYTHON" -c "
import os, sys
a, b = '$M2/walk/', '$M/walk/'
os.stat(a + 'a000')
os.stat(a + 'a001')
with open(b + 'a005', 'wb') as f:
    f.write(open('$T/in/walk.new', 'rb').read())
got = open(a + 'a005', 'rb').read()
sys.exit(0 if got == open('$T/in/walk.new', 'rb').read() else 1)"
ok "... whose lookups came from a page fetched ahead" grep -q \
    "looked up 10 names of \(/walk\|#[0-9]*\) ahead" "$T/mount2.log"
sleep 1.1	# the kernel forgets the entries it was given
ok "a walk removing every file in order removes every file" "$PYTHON" -c "
import os, sys
d = '$M2/walk/'
for i in range(10):
    os.unlink(d + 'a00%d' % i)
sys.exit(0 if os.listdir(d) == [] and not os.path.exists(d + 'a005') else 1)"
ok "... as the first mount sees" test -z "$(ls -A "$M/walk")"
mv "$M/two" "$M/two.renamed"
ok "a rename in one mount is seen in the other within the timeout" \
    wait_for 3 "test -e '$M2/two.renamed' && test ! -e '$M2/two'"
rm "$M/two.renamed"
ok "a delete in one mount is seen in the other" wait_for 3 \
    "test ! -e '$M2/two.renamed'"

# A namenode that stops answering: an operation fails (EIO) within
# client.timeout (a silent namenode is not asked twice) instead of
# hanging, and the mount works again, without a remount, once it is back.
NNPID=$(cat "$C/run/namenode.pid")
mkdir "$M/nn-d" && : >"$M/nn-d/a"
# Each case stops the namenode, waits until every thread of it has stopped
# (kill(2) returns before they are), and times one stat: a plain lookup,
# then one in a directory walked in name order, where a lookup first asks
# for a page of the names after it (fm-fresh.c): a silent namenode costs
# one wait there too, not the page's and then the lookup's.  The kernel
# has nn-d's attributes from the first two stats of the walk, so its third
# sends just the LOOKUP.  Prints the ms each took to fail with EIO, or
# what it did instead.
set -- $("$PYTHON" -c "
import errno, os, signal, time
tasks = '/proc/$NNPID/task'
def stopped():
    return all(open('%s/%s/stat' % (tasks, k)).read().rsplit(')', 1)[1]
               .split()[0] == 'T' for k in os.listdir(tasks))
def timed_stat(path):
    os.kill($NNPID, signal.SIGSTOP)
    for i in range(500):
        if stopped():
            break
        time.sleep(0.01)
    t = time.monotonic()
    try:
        os.stat(path)
        out = 'found'
    except OSError as e:
        out = (int((time.monotonic() - t) * 1000) if e.errno == errno.EIO
               else errno.errorcode.get(e.errno, e.errno))
    os.kill($NNPID, signal.SIGCONT)
    return out
plain = timed_stat('$M2/nn-stopped')
os.stat('$M2/nn-d')
os.stat('$M2/nn-d/a')
print(plain, timed_stat('$M2/nn-d/b'))
")
plain=${1:-none} walked=${2:-none}
ok "with the namenode stopped, stat fails with EIO instead of hanging" \
    test "$plain" -ge 0 2>/dev/null
ok "... within client.timeout of 2 s and 0.5 s more (it took $plain ms)" \
    test "$plain" -le 2500 2>/dev/null
ok "... and a lookup after a walked name too (EIO in $walked ms)" \
    test "$walked" -le 2500 2>/dev/null
ok "the namenode back, the mount works again without a remount" sh -c \
    "cp '$T/in/f1' '$M2/nn-back' && cmp '$M2/nn-back' '$T/in/f1'"

# SIGTERM while a program holds a written file open: the bytes written so
# far are committed before the mount goes.
head -c 200000 /dev/urandom >"$T/in/held"
"$PYTHON" -c "
import os, sys, time
fd = os.open('$M2/held', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, open('$T/in/held', 'rb').read())
open('$T/held.ready', 'w').close()
time.sleep(60)
" 2>/dev/null &
HOLDER=$!
wait_for 10 "test -e '$T/held.ready'"
kill -TERM "$MOUNT2_PID"
ok "SIGTERM unmounts the second mount" wait_for 10 "! grep -q ' $M2 fuse' \
    /proc/mounts"
# 60 s: under a sanitizer on a busy machine, exit (LeakSanitizer's scan)
# has taken over 10 s.
ok "and its dfs-mount exits" wait_for 60 "! kill -0 $MOUNT2_PID"
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
ok "what the open file held was committed at SIGTERM" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' cat /held | cmp - '$T/in/held'"
MOUNT2_PID=

# --- a data node killed during a read ------------------------------------
head -c 24000000 /dev/urandom >"$T/in/long"
cp "$T/in/long" "$M/long"
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
"$PYTHON" -c "
import sys, time
with open('$M/long', 'rb') as f, open('$T/out/long', 'wb') as o:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        o.write(b)
        time.sleep(0.05)
" &
READER=$!
sleep 0.3
kill -9 "$(cat "$C/run/datanode1.pid")"
wait "$READER"
ok "a data node killed -9 during a read: the reader gets the right bytes" \
    cmp "$T/in/long" "$T/out/long"

# --- a killed dfs-mount -------------------------------------------------
kill -9 "$(cat "$C/run/mount.pid")"
ok "after kill -9 of dfs-mount the mount point is dead, not hanging" \
    sh -c "! timeout 10 ls '$M' >/dev/null 2>&1"
ok "cluster up --mount unmounts the dead mount and mounts again" sh -c \
    "'$top_builddir/dfs' cluster up '$C' --mount >/dev/null && \
    cmp '$M/f3000017' '$T/in/f3000017'"

# --- unmount at the end -------------------------------------------------
pid=$(cat "$C/run/mount.pid")
ok "dfs cluster down unmounts the mount first" sh -c "'$top_builddir/dfs' \
    cluster down '$C' >/dev/null"
ok "nothing is mounted after down" sh -c "! grep -q ' $M fuse' /proc/mounts"
ok "the mount's dfs-mount is gone" sh -c "! kill -0 $pid 2>/dev/null"
if [ "$FAILED" -ne 0 ]; then
	for f in "$C/logs/mount.log" "$T/mount2.log"; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
	done
fi
finish
