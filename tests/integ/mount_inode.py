"""mount_inode.py: the POSIX classes of issue 13 that a path-based mount
failed, through a real mount addressing the namenode by inode.

  mount_inode.py deep MOUNT        long relative paths from a deep cwd
  mount_inode.py links MOUNT MOUNT2 DELAY
                                   one inode's attributes through all its
                                   names, in one mount and, after DELAY s
                                   (the attribute timeout), in a second
  mount_inode.py unlinked MOUNT    a file unlinked while open

Prints "ok - ..." / "not ok - ..." lines; exits 1 if any failed.
"""
import collections
import ctypes
import errno
import os
import stat
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import npdfs_wire as w  # noqa: E402



check = w.ok


def err(f, *a):
    """The errno f(*a) raised, 0 if none."""
    try:
        f(*a)
    except OSError as e:
        return e.errno
    return 0


def deep(mnt):
    """A working directory whose absolute path is over 4,096 bytes, and
    from it relative paths of about 4,000 bytes for every call that takes
    one: the kernel resolves them a component at a time, as ext4 does."""
    comp = "d" * 200
    os.chdir(mnt)
    os.mkdir("deep")
    os.chdir("deep")
    for _ in range(22):             # cwd: 22 x 201 bytes below the mount
        os.mkdir(comp)
        os.chdir(comp)
    check("the working directory is deeper than PATH_MAX",
          len(os.getcwd()) > 4096, len(os.getcwd()))
    # 19 more levels below it, made with growing relative paths.
    rel = ""
    for i in range(19):
        rel = os.path.join(rel, comp) if rel else comp
        e = err(os.mkdir, rel)
        if e:
            check("mkdir of a %d-byte relative path" % len(rel), False,
                  errno.errorcode.get(e, e))
            return
    check("mkdir of relative paths up to %d bytes" % len(rel), True)
    f = rel + "/f"
    fd = os.open(f, os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"deep data")
    os.close(fd)
    check("open(O_CREAT) and write of a %d-byte relative path" % len(f),
          len(f) > 3800)
    with open(f, "rb") as r:
        check("read it back", r.read() == b"deep data")
    check("stat", os.stat(f).st_size == 9)
    os.chmod(f, 0o600)
    check("chmod", stat.S_IMODE(os.stat(f).st_mode) == 0o600)
    os.chown(f, 1000, 1000)
    check("chown", os.stat(f).st_uid == 1000)
    os.truncate(f, 4)
    check("truncate", os.stat(f).st_size == 4)
    os.utime(f, (1000000, 2000000))
    check("utimes", os.stat(f).st_mtime == 2000000)
    os.link(f, rel + "/g")
    check("link", os.stat(f).st_nlink == 2 and
          os.stat(rel + "/g").st_ino == os.stat(f).st_ino)
    os.symlink("f", rel + "/s")
    check("symlink and readlink", os.readlink(rel + "/s") == "f")
    os.mkfifo(rel + "/p")
    check("mkfifo", stat.S_ISFIFO(os.stat(rel + "/p").st_mode))
    os.mknod(rel + "/n", 0o644 | stat.S_IFREG)
    check("mknod", stat.S_ISREG(os.stat(rel + "/n").st_mode))
    os.rename(rel + "/n", rel + "/m")
    check("rename", sorted(os.listdir(rel)) == ["f", "g", "m", "p", "s"],
          sorted(os.listdir(rel)))
    for n in ("f", "g", "m", "p", "s"):
        os.unlink(rel + "/" + n)
    check("unlink", os.listdir(rel) == [])
    os.rmdir(rel)
    check("rmdir", err(os.stat, rel) == errno.ENOENT)


def links(mnt, mnt2, delay):
    """Every name of a hard-linked file shows the inode's attributes as
    they are now: in one mount at once, in another after its timeout."""
    a = os.path.join(mnt, "la")
    os.mkdir(os.path.join(mnt, "ld"))
    b = os.path.join(mnt, "ld", "lb")
    with open(a, "w") as f:
        f.write("linked")
    os.link(a, b)
    a2 = os.path.join(mnt2, "la")
    b2 = os.path.join(mnt2, "ld", "lb")
    # The second mount caches both names now.
    check("the second mount sees two links",
          os.stat(a2).st_nlink == 2 and os.stat(b2).st_nlink == 2)
    os.chmod(a, 0o640)
    check("chmod through one name shows through the other at once",
          stat.S_IMODE(os.stat(b).st_mode) == 0o640)
    os.chown(b, 1000, 1001)
    st = os.stat(a)
    check("chown through one name shows through the other at once",
          (st.st_uid, st.st_gid) == (1000, 1001), (st.st_uid, st.st_gid))
    c = os.path.join(mnt, "lc")
    os.link(b, c)
    check("a third link counts through every name at once",
          [os.stat(p).st_nlink for p in (a, b, c)] == [3, 3, 3])
    os.unlink(c)
    check("an unlink counts through every name at once",
          [os.stat(p).st_nlink for p in (a, b)] == [2, 2])
    time.sleep(delay)
    st_a, st_b = os.stat(a2), os.stat(b2)
    check("after the attribute timeout the second mount agrees "
          "through both names",
          all(stat.S_IMODE(s.st_mode) == 0o640 and s.st_uid == 1000 and
              s.st_gid == 1001 and s.st_nlink == 2 for s in (st_a, st_b)),
          (oct(st_a.st_mode), st_a.st_uid, st_a.st_nlink,
           oct(st_b.st_mode), st_b.st_uid, st_b.st_nlink))
    with open(b2) as f:
        check("and reads the same bytes", f.read() == "linked")


def unlinked(mnt):
    """read, write and fstat of a file unlinked while open."""
    p = os.path.join(mnt, "gone")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fd, b"x" * 100000)
    os.fsync(fd)
    ro = os.open(p, os.O_RDONLY)
    os.unlink(p)
    check("the name is gone", err(os.stat, p) == errno.ENOENT)
    st = os.fstat(ro)
    check("fstat of the open file: no link, its size",
          st.st_nlink == 0 and st.st_size == 100000,
          (st.st_nlink, st.st_size))
    check("it reads back", os.pread(ro, 100000, 0) == b"x" * 100000)
    os.pwrite(fd, b"more", 100000)
    check("it takes a write", os.fstat(fd).st_size == 100004)
    check("which its other descriptor reads",
          os.pread(ro, 10, 99998) == b"xxmore")
    os.fchmod(fd, 0o600)
    os.close(fd)
    os.close(ro)
    check("after the last close nothing is there",
          "gone" not in os.listdir(mnt))


def getdents(fd, size=2048):
    """One getdents64(2) of at most size bytes: the names it returned
    ([] at the end).  A small buffer makes the kernel ask the mount for
    the directory a few dozen entries at a time, at the offsets it was
    given, as a program reading slowly would."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(size)
    n = libc.syscall(217, fd, buf, size)   # SYS_getdents64 on x86-64
    if n < 0:
        raise OSError(ctypes.get_errno(), "getdents64")
    names, off = [], 0
    while off < n:
        reclen = struct.unpack_from("<H", buf.raw, off + 16)[0]
        name = buf.raw[off + 19:off + reclen].split(b"\0", 1)[0].decode()
        if name not in (".", ".."):
            names.append(name)
        off += reclen
    return names


def listing(mnt):
    """A directory of 2,600 names (more than two of the namenode's
    1,000-entry pages) read by one open directory stream while entries
    read and not yet read are removed and new ones added: every name
    present from the opendir to the end is returned exactly once, and no
    name twice (readdir's guarantee; the mount resumes each page after the
    last name it had, not at a count that removals would shift)."""
    d = os.path.join(mnt, "list")
    os.mkdir(d)
    names = ["f%05d" % i for i in range(2600)]
    for n in names:
        os.close(os.open(os.path.join(d, n), os.O_CREAT | os.O_WRONLY,
                         0o644))
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    seen = []
    while len(seen) < 900:
        got = getdents(fd)
        if not got:
            break
        seen += got
    first = set(seen)
    later = [n for n in names if n not in first]
    gone = set(seen[::3]) | set(later[::4])
    for n in sorted(gone):
        os.unlink(os.path.join(d, n))
    for i in range(200):
        os.close(os.open(os.path.join(d, "g%05d" % i), os.O_CREAT |
                         os.O_WRONLY, 0o644))
    while True:
        got = getdents(fd)
        if not got:
            break
        seen += got
    os.close(fd)
    stayed = [n for n in names if n not in gone]
    count = collections.Counter(seen)
    missing = [n for n in stayed if n not in count]
    twice = sorted(n for n, k in count.items() if k > 1)
    check("readdir across pages, with removals and additions under way, "
          "returns every name that stayed (%d read before the changes)"
          % len(first), not missing, missing[:5])
    check("... and none twice", not twice, twice[:5])
    check("a fresh listing shows exactly what is there",
          sorted(os.listdir(d)) == sorted(stayed + ["g%05d" % i
                                                    for i in range(200)]))


def main():
    what = sys.argv[1]
    if what == "listing":
        listing(sys.argv[2])
    elif what == "deep":
        deep(sys.argv[2])
    elif what == "links":
        links(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif what == "unlinked":
        unlinked(sys.argv[2])
    sys.exit(1 if w.failed else 0)


main()
