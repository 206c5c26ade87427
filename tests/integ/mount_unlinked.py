"""mount_unlinked.py: files unlinked while open, kept by the namenode for
the mounts that hold them (namenode/nn-hold.c), for mount-unlinked.sh.

  mount_unlinked.py local A            open, unlink, write, read, fstat
  mount_unlinked.py cross A B          B holds it (opened or created),
                                       A unlinks it
  mount_unlinked.py killed A C CPID    C holds it and is killed (kill -9)
  mount_unlinked.py restart A          the namenode restarts meanwhile
  mount_unlinked.py hostile A ADDR     others reach it by inode, or release

Environment: DFS (the dfs program), C (the cluster's directory), LEASE
(namenode.lease_timeout in seconds).  Prints "ok - " / "not ok - " lines.
"""
import errno
import hashlib
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import npdfs_wire as w  # noqa: E402

C = os.environ["C"]
LEASE = float(os.environ.get("LEASE", "6"))
BLOCK = 64 * 1024
NN_STAT, NN_ATTR, NN_HOLDS = 101, 102, 143



check = w.ok


def dfs(*args):
    return subprocess.run([os.environ["DFS"], "-c", C + "/client.conf"] +
                          list(args), capture_output=True, text=True)


def nn_blocks():
    """The namenode's count of blocks, those of files with no name
    included (dfs report; fsck walks names), or -1."""
    m = re.search(r"^blocks: (\d+),", dfs("report").stdout, re.M)
    return int(m.group(1)) if m else -1


def dn_blocks():
    """Block files on the data nodes' disks."""
    n = 0
    for _, _, files in os.walk(C):
        n += sum(1 for f in files if re.fullmatch(r"blk_\d+_\d+", f))
    return n


def baseline():
    """(namenode blocks, block files) once the data nodes hold exactly
    the namenode's blocks, twice each (replication 2): a part's count
    taken while an earlier part's deletions are still on their way to
    the data nodes would wait for a number that never comes back."""
    wait(lambda: dn_blocks() == 2 * nn_blocks(), 30)
    return nn_blocks(), dn_blocks()


def wait(cond, secs):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.5)
    return cond()


def data(n, seed):
    out = b""
    while len(out) < n:
        out += hashlib.sha256(b"%d %d" % (seed, len(out))).digest()
    return out[:n]


def put(path, body):
    with open(path, "wb") as f:
        f.write(body)


def read_all(fd, n):
    out = b""
    while len(out) < n:
        b = os.pread(fd, n - len(out), len(out))
        if not b:
            break
        out += b
    return out


def freed_after_close(fd, nn0, dn0, what):
    """Blocks are still there while fd is open, and go after its close."""
    check(what + ": its blocks stay on the namenode while it is open",
          nn_blocks() > nn0, (nn_blocks(), nn0))
    check(what + ": ... and on the data nodes", dn_blocks() > dn0,
          (dn_blocks(), dn0))
    os.close(fd)
    # A release goes out with the mount's next renewal pass (at once),
    # the data nodes delete at their next heartbeat: 30 s is >= 5x.
    check(what + ": freed on the namenode after the last close",
          wait(lambda: nn_blocks() == nn0, 30), (nn_blocks(), nn0))
    check(what + ": ... and on the data nodes",
          wait(lambda: dn_blocks() == dn0, 30), (dn_blocks(), dn0))


def local(a):
    """(1) One mount: open, unlink, write more, read back, fstat."""
    nn0, dn0 = baseline()
    p = os.path.join(a, "local")
    body = data(3 * BLOCK + 100, 1)
    put(p, body)
    fd = os.open(p, os.O_RDWR)
    os.unlink(p)
    check("the name is gone", not os.path.exists(p))
    st = os.fstat(fd)
    check("fstat after unlink: no link, its size",
          st.st_nlink == 0 and st.st_size == len(body),
          (st.st_nlink, st.st_size))
    check("it reads back whole", read_all(fd, len(body)) == body)
    rep = dfs("report").stdout
    check("dfs report counts its blocks neither missing nor corrupt",
          "missing: 0, corrupt: 0" in rep, rep)
    more = data(BLOCK, 2)
    os.pwrite(fd, more, len(body))
    os.fsync(fd)
    st = os.fstat(fd)
    check("it takes a write (fsync-ed)", st.st_size == len(body) + len(more)
          and st.st_nlink == 0, (st.st_size, st.st_nlink))
    fd2 = os.open("/proc/self/fd/%d" % fd, os.O_RDONLY)
    check("a second descriptor reads both",
          read_all(fd2, len(body) + len(more)) == body + more)
    os.close(fd2)
    freed_after_close(fd, nn0, dn0, "one mount")


def cross(a, b):
    """(2) Mount B holds it open, mount A unlinks it."""
    nn0, dn0 = baseline()
    body = data(4 * BLOCK + 7, 3)
    put(os.path.join(a, "cross"), body)
    fd = os.open(os.path.join(b, "cross"), os.O_RDONLY)
    os.unlink(os.path.join(a, "cross"))
    check("mount A sees it gone", not os.path.exists(os.path.join(a,
                                                                  "cross")))
    # B read nothing of it before: every byte comes from the data nodes.
    check("mount B still reads all of it", read_all(fd, len(body)) == body)
    check("mount B's fstat says no link", os.fstat(fd).st_nlink == 0,
          os.fstat(fd).st_nlink)
    freed_after_close(fd, nn0, dn0, "two mounts")


def created(a, b):
    """(2b) A file created through mount B (held from B's next renewal
    pass, which a create wakes at once) and unlinked through A."""
    nn0, dn0 = baseline()
    body = data(2 * BLOCK + 5, 7)
    p = os.path.join(b, "created")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fd, body)
    os.fsync(fd)
    time.sleep(2)       # the pass is immediate; 2 s is its whole period
    os.unlink(os.path.join(a, "created"))
    check("mount A sees the created file gone",
          not os.path.exists(os.path.join(a, "created")))
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    check("mount B, which created it, still reads it",
          read_all(fd, len(body)) == body)
    freed_after_close(fd, nn0, dn0, "created in one mount, unlinked in "
                      "another")


def killed(a, c, cpid):
    """(3) The holder mount dies (kill -9): blocks stay until its lease
    lapses, then go."""
    nn0, dn0 = baseline()
    body = data(2 * BLOCK, 4)
    put(os.path.join(a, "killed"), body)
    fd = os.open(os.path.join(c, "killed"), os.O_RDONLY)
    os.unlink(os.path.join(a, "killed"))
    t0 = time.time()
    os.kill(cpid, signal.SIGKILL)
    n = nn_blocks()
    # Lapsing takes LEASE s without a renewal, and the holder renewed
    # at most 2 s before the kill: still there this soon after.
    if time.time() - t0 < LEASE - 2:
        check("right after the kill its blocks are still there", n > nn0,
              (n, nn0))
    check("after the lease lapses they are freed",
          wait(lambda: nn_blocks() == nn0, 10 * LEASE), (nn_blocks(), nn0))
    check("... on the data nodes too",
          wait(lambda: dn_blocks() == dn0, 30), (dn_blocks(), dn0))
    try:
        os.close(fd)
    except OSError:
        pass


def restart(a):
    """(4) The namenode restarts while a mount holds an unlinked file."""
    nn0, dn0 = baseline()
    body = data(3 * BLOCK + 1, 5)
    p = os.path.join(a, "restart")
    put(p, body)
    fd = os.open(p, os.O_RDONLY)
    os.unlink(p)
    with open(C + "/run/namenode.pid") as f:
        os.kill(int(f.read()), signal.SIGKILL)
    time.sleep(1)
    up = subprocess.run([os.environ["DFS"], "cluster", "up", C],
                        capture_output=True, text=True)
    check("the namenode restarts", up.returncode == 0, up.stderr)
    check("out of safe mode", wait(lambda: "safe mode: off" in
                                   dfs("report").stdout, 60),
          dfs("report").stdout)
    # Past a whole lease period after the restart: the holder's renewals
    # kept it.
    time.sleep(LEASE + 2)
    check("after the restart and a lease period its blocks are there",
          nn_blocks() > nn0, (nn_blocks(), nn0))
    # The kernel may have cached pages: a fresh descriptor through
    # /proc reads through the same open file, so drop them first.
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    check("the holder still reads all of it", read_all(fd, len(body)) ==
          body)
    freed_after_close(fd, nn0, dn0, "across a restart")


def stat_ino(conn, ino):
    t, p = conn.call(NN_STAT, w.Payload().str("#%d" % ino))
    if t == w.MSG_ERROR:
        return w.error_of(p)[0], None
    return 0, p


def holds(conn, client, items):
    pl = w.Payload().str(client).u32(len(items))
    for ino, seq, op in items:
        pl.u64(ino).u64(seq).u8(op)
    t, p = conn.call(NN_HOLDS, pl)
    return w.error_of(p)[0] if t == w.MSG_ERROR else 0


def hostile(a, addr):
    """(5) Nobody but its holders reaches an orphan; a release or renewal
    for a hold one does not have changes nothing."""
    nn0 = nn_blocks()
    body = data(BLOCK + 3, 6)
    p = os.path.join(a, "hostile")
    put(p, body)
    fd = os.open(p, os.O_RDONLY)
    ino = os.fstat(fd).st_ino
    host, port = addr.rsplit(":", 1)
    other = w.Conn(host, int(port), conf=C + "/host.conf")
    same = w.Conn(host, int(port))     # the mount's own certificate
    rc, _ = stat_ino(other, ino)
    check("before the unlink another identity may STAT #%d" % ino, rc == 0,
          rc)
    os.unlink(p)
    rc, _ = stat_ino(other, ino)
    check("after it, another identity is told it is stale",
          rc == -errno.ESTALE, rc)
    rc, _ = stat_ino(same, ino)
    check("the holder's identity still reaches it", rc == 0, rc)
    with open(C + "/logs/namenode.log") as f:
        m = re.findall(r"inode %d unlinked while held open by (\S+):" % ino,
                       f.read())
    check("the namenode logs who holds it", len(m) == 1, m)
    client = m[0] if m else "x"
    check("another identity's release of the holder's hold is answered OK",
          holds(other, client, [(ino, 1 << 62, 0)]) == 0)
    check("another identity's take of the orphan is answered OK",
          holds(other, "thief", [(ino, 1, 1)]) == 0)
    rc, _ = stat_ino(other, ino)
    check("... and reaches nothing", rc == -errno.ESTALE, rc)
    check("a release by the holder's identity under another lease name "
          "is answered OK", holds(same, "not-the-mount",
                                  [(ino, 1 << 62, 0)]) == 0)
    check("a renewal of an inode nobody holds is answered OK",
          holds(same, client, [(1 << 40, 1, 1), (1 << 40, 2, 0)]) == 0)
    check("an unknown hold operation is refused",
          holds(same, client, [(ino, 1, 7)]) == -errno.EINVAL)
    check("a HOLDS without a client name is refused",
          holds(same, "", [(ino, 1, 1)]) == -errno.EINVAL)
    pl = w.Payload().str(client).u32(1 << 30).bytes()
    t, pay = same.call(NN_HOLDS, pl)
    check("a HOLDS claiming 2^30 entries is refused",
          t == w.MSG_ERROR and w.error_of(pay)[0] == -errno.EINVAL)
    time.sleep(3)
    check("none of that let the file go", nn_blocks() > nn0,
          (nn_blocks(), nn0))
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    check("the holder still reads it", read_all(fd, len(body)) == body)
    os.close(fd)
    check("its close frees it", wait(lambda: nn_blocks() == nn0, 30),
          (nn_blocks(), nn0))
    rc, _ = stat_ino(same, ino)
    check("then even the holder's identity finds it stale",
          rc == -errno.ESTALE, rc)
    other.close()
    same.close()


def main():
    what = sys.argv[1]
    if what == "local":
        local(sys.argv[2])
    elif what == "cross":
        cross(sys.argv[2], sys.argv[3])
        created(sys.argv[2], sys.argv[3])
    elif what == "killed":
        killed(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif what == "restart":
        restart(sys.argv[2])
    elif what == "hostile":
        hostile(sys.argv[2], sys.argv[3])
    sys.exit(1 if w.failed else 0)


main()
