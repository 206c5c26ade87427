"""perm_check.py: the namenode's permission checks through the raw
protocol, as the superuser, alice (uid 1002) and bob (uid 1001, also in
group 100), each on a connection of its own that says whom it acts as
(ACT_AS).  Run by perm.sh against a running cluster:

    perm_check.py HOST:PORT ROOTFILE

ROOTFILE is a file root put into a 0755 directory beforehand (it has
blocks, so a read token could be handed out).  The expected answers are
those Linux gives for the same owners, modes and callers.  Prints one
"ok - ..." or "not ok - ..." line per check.
"""
import errno
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."),
                                "tests", "lib"))
import npdfs_wire as w  # noqa: E402

MKDIR, STAT, ATTR, LIST, CREATE, ADD_BLOCK = 100, 101, 102, 103, 105, 106
COMPLETE, GET_BLOCKS, RENAME, DELETE, SET_REPL = 108, 110, 112, 113, 114
SETATTR, UNLINK, HARDLINK, MKNOD = 120, 123, 129, 130
FSCK, VERIFY = 115, 140
ACT_AS, WHOAMI, WHOAMI_REPLY = 150, 151, 152
SET_MODE, SET_UID, SET_GID, SET_ATIME, SET_MTIME, SET_SIZE0 = (
    1, 2, 4, 8, 16, 32)
SET_ATIME_NOW, SET_MTIME_NOW = 64, 128
FT_FILE, FT_DIR, FT_CHR = 1, 2, 6
EACCES, EPERM = -errno.EACCES, -errno.EPERM




check = w.ok


def connect(addr):
    """The one place a connection to the namenode is made (TLS will
    come in here)."""
    host, port = addr.rsplit(":", 1)
    return w.Conn(host, int(port), timeout=30.0)


def get_attr(r):
    a = {}
    for k, f in (("ino", r.u64), ("type", r.u8), ("mode", r.u32),
                 ("uid", r.u32), ("gid", r.u32), ("size", r.u64)):
        a[k] = f()
    return a


class As:
    """A connection acting as uid, gid and groups (None: as it starts,
    the superuser of an unauthenticated connection)."""

    def __init__(self, addr, uid=None, gid=None, groups=()):
        self.c = connect(addr)
        self.uid = uid
        if uid is not None:
            p = w.Payload().u32(uid).u32(gid).u32(len(groups))
            for g in groups:
                p.u32(g)
            e, msg = self.call(ACT_AS, p)
            if e:
                raise RuntimeError("ACT_AS refused: %s" % msg)

    def call(self, mtype, p=b""):
        """(0, Reader) or (-errno, message)."""
        t, payload = self.c.call(mtype, p)
        if t == w.MSG_ERROR:
            return w.error_of(payload)
        return 0, w.Reader(payload)

    def err(self, mtype, p):
        return self.call(mtype, p)[0]

    def mkdir(self, path, mode=0o755, uid=0, gid=0):
        return self.err(MKDIR, w.Payload().str(path).u32(mode).u32(uid)
                        .u32(gid).u8(0))

    def stat(self, path):
        e, r = self.call(STAT, w.Payload().str(path))
        return (e, r) if e else (0, get_attr(r))

    def list(self, path):
        return self.err(LIST, w.Payload().str(path).str("").u32(0))

    def create(self, path, mode=0o644, uid=0, gid=0, client="c",
               overwrite=False):
        e, r = self.call(CREATE, w.Payload().str(path).u32(mode).u32(uid)
                         .u32(gid).u16(0).u64(0).u8(int(overwrite))
                         .str(client))
        return (e, r) if e else (0, get_attr(r))

    def complete(self, ino, client="c"):
        return self.err(COMPLETE, w.Payload().u64(ino).str(client).u64(0)
                        .u64(0).u64(0).blob(b""))

    def put(self, path, mode=0o644, client="c"):
        """An empty, complete file; its attributes."""
        e, a = self.create(path, mode, client=client)
        if e:
            raise RuntimeError("create %s: %s" % (path, a))
        e = self.complete(a["ino"], client)
        if e:
            raise RuntimeError("complete %s: %d" % (path, e))
        return a

    def add_block(self, ino, client):
        return self.err(ADD_BLOCK, w.Payload().u64(ino).str(client).u64(0)
                        .u64(0).u64(0).u32(0))

    def get_blocks(self, path):
        return self.err(GET_BLOCKS, w.Payload().str(path).u64(0)
                        .u64(1 << 62))

    def rename(self, src, dst):
        return self.err(RENAME, w.Payload().str(src).str(dst).u32(0))

    def delete(self, path, recursive=False):
        return self.err(DELETE, w.Payload().str(path).u8(recursive))

    def unlink(self, path, d=False):
        return self.err(UNLINK, w.Payload().str(path).u8(d))

    def set_repl(self, path, n):
        return self.err(SET_REPL, w.Payload().str(path).u16(n))

    def setattr(self, path, valid, mode=0, uid=0, gid=0, at=0, mt=0):
        e, r = self.call(SETATTR, w.Payload().str(path).u32(valid)
                         .u32(mode).u32(uid).u32(gid).i64(at).i64(mt))
        return (e, r) if e else (0, get_attr(r))

    def mknod(self, path, ftype, mode=0o644, rdev=0):
        return self.err(MKNOD, w.Payload().str(path).u8(ftype).u32(mode)
                        .u32(0).u32(0).u64(rdev))

    def hardlink(self, existing, new):
        return self.err(HARDLINK, w.Payload().str(existing).str(new))

    def whoami(self):
        e, r = self.call(WHOAMI)
        if e:
            return e, r
        d = {"name": r.str(), "role": r.str(), "addr": r.str(),
             "uid": r.u32(), "gid": r.u32()}
        d["groups"] = [r.u32() for _ in range(r.u32())]
        d["super"] = r.u8()
        return 0, d


def by_inode(root, alice, bob):
    """Paths may start at an inode ("#17/name", "#17"), which anyone can
    guess: the inode is checked as the path walk that reaches it would
    be."""
    ENOENT, ENOTDIR, ESTALE = -errno.ENOENT, -errno.ENOTDIR, -errno.ESTALE
    EINVAL = -errno.EINVAL
    home = "#%d" % alice.stat("/home/alice")[1]["ino"]
    priv_ino = alice.stat("/home/alice/private")[1]["ino"]
    priv = "#%d" % priv_ino
    f_ino = alice.stat("/home/alice/private/f")[1]["ino"]
    f = "#%d" % f_ino
    secret_ino = alice.stat("/home/alice/secret")[1]["ino"]
    e, a = alice.stat(priv + "/f")
    check("#INO/NAME: alice finds f in her 0700 directory by its inode",
          e == 0 and a["ino"] == f_ino, (e, a))
    e, msg = bob.stat(priv + "/f")
    check("#INO/NAME: bob cannot look into it (no search permission)",
          e == EACCES and priv in msg, (e, msg))
    check("... nor learn that a name is missing there (EACCES first)",
          bob.stat(priv + "/nothing")[0] == EACCES)
    check("#INO/NAME of a missing name: ENOENT",
          alice.stat(priv + "/nothing")[0] == ENOENT)
    e, a = bob.stat(home + "/secret")
    check("#INO/NAME: bob finds alice's 0600 file in her 0755 directory",
          e == 0 and a["ino"] == secret_ino and a["mode"] & 0o777 == 0o600,
          (e, a))
    check("#INO/NAME below a file: ENOTDIR",
          alice.stat("#%d/x" % secret_ino)[0] == ENOTDIR)
    for bad in ("#0", "#017", "#12x", "#", "#99999999999999999999",
                home + "/..", "17"):
        check("the path %r is refused (EINVAL)" % bad,
              alice.stat(bad)[0] == EINVAL)
    e, msg = bob.stat(f)
    check("#INO: bob cannot reach a file below alice's 0700 directory "
          "by its number", e == EACCES, (e, msg))
    check("#INO: nor read it (GET_BLOCKS)", bob.get_blocks(f) == EACCES)
    check("#INO: nor list that directory by its number",
          bob.list(priv) == EACCES)
    check("#INO: bob may stat the 0700 directory itself",
          bob.stat(priv)[0] == 0)
    e, a = alice.stat(f)
    check("#INO: alice sees her file", e == 0 and a["ino"] == f_ino, (e, a))
    check("#INO: the superuser reaches anything", root.stat(f)[0] == 0)
    check("#1 is the root", bob.stat("#1")[1]["ino"] == 1)
    check("a second name in a directory bob may search",
          alice.hardlink("/home/alice/private/f", "/home/alice/f2") == 0)
    check("#INO: bob reaches the file through it", bob.stat(f)[0] == 0)
    alice.unlink("/home/alice/f2")
    check("#INO: not once that name is gone", bob.stat(f)[0] == EACCES)
    # Requests that change the namespace, by inode.
    e, a = alice.setattr(f, SET_MODE, 0o640)
    check("SETATTR #INO: alice chmods her file by its number",
          e == 0 and a["mode"] & 0o777 == 0o640, (e, a))
    check("SETATTR #INO: bob cannot (he cannot even reach it)",
          bob.setattr(f, SET_MODE, 0o666)[0] == EACCES)
    e, a = alice.create(priv + "/made", 0o600)
    check("CREATE #INO/NAME: alice makes a file in her directory",
          e == 0 and alice.complete(a["ino"]) == 0 and
          alice.stat("/home/alice/private/made")[0] == 0, (e, a))
    check("CREATE #INO/NAME: bob cannot",
          bob.create(priv + "/bobs")[0] == EACCES)
    check("MKDIR #INO/NAME", alice.mkdir(priv + "/sub", 0o700) == 0 and
          alice.stat("/home/alice/private/sub")[0] == 0)
    check("RENAME between #INO/NAME paths", alice.rename(
        priv + "/made", home + "/moved") == 0 and
          alice.stat("/home/alice/moved")[0] == 0)
    check("UNLINK #INO/NAME: bob cannot remove from a 0755 directory "
          "not his", bob.unlink(home + "/moved") == EACCES)
    check("UNLINK #INO/NAME", alice.unlink(home + "/moved") == 0 and
          alice.stat("/home/alice/moved")[0] == ENOENT)
    check("a request that makes an entry needs a name after #INO",
          alice.mkdir(priv) == EINVAL and alice.unlink(priv) == EINVAL)
    # CREATE of a bare #INO rewrites that file in place (a mount writing
    # by inode): only with overwrite, only a file, as a walk allows.
    check("CREATE #INO without overwrite: EINVAL",
          alice.create(f, client="rw")[0] == EINVAL)
    e, a = alice.create(f, client="rw", overwrite=True)
    check("CREATE #INO with overwrite rewrites the file, same inode",
          e == 0 and a["ino"] == f_ino and a["size"] == 0 and
          alice.complete(f_ino, "rw") == 0, (e, a))
    check("CREATE #INO of a directory: EISDIR",
          alice.create(priv, overwrite=True)[0] == -errno.EISDIR)
    check("CREATE #INO: bob cannot rewrite a file he cannot reach",
          bob.create(f, client="b", overwrite=True)[0] == EACCES)
    alice.put("/home/alice/gone")
    gone = "#%d" % alice.stat("/home/alice/gone")[1]["ino"]
    alice.unlink("/home/alice/gone")
    check("#INO of a removed inode: ESTALE", alice.stat(gone)[0] == ESTALE)
    check("#INO/NAME in a removed inode: ESTALE",
          root.stat(gone + "/x")[0] == ESTALE)
    check("#INO never handed out: ESTALE",
          root.stat("#%d" % (1 << 40))[0] == ESTALE)


def mode_of(c, path):
    e, a = c.stat(path)
    return a["mode"] & 0o7777 if e == 0 else e


def main(addr, rootfile):
    root = As(addr, 0, 0)
    alice = As(addr, 1002, 1002)
    bob = As(addr, 1001, 1001, (100,))

    # whoami: what the namenode holds for each connection.
    e, me = bob.whoami()
    check("WHOAMI tells bob's connection its credential",
          e == 0 and me["uid"] == 1001 and me["gid"] == 1001 and
          me["groups"] == [100] and not me["super"], me)
    e, me = root.whoami()
    check("WHOAMI: uid 0 on an unauthenticated connection is the superuser",
          e == 0 and me["uid"] == 0 and me["super"] == 1, me)

    # The layout: root's /home (0755) with alice's home, a /tmp (1777).
    root.mkdir("/home", 0o755)
    check("the superuser makes a directory owned by whom it says",
          root.mkdir("/home/alice", 0o755, 1002, 1002) == 0 and
          alice.stat("/home/alice")[1]["uid"] == 1002)
    check("bob cannot mkdir in root's 0755 directory",
          bob.mkdir("/home/bob") == EACCES)
    root.mkdir("/tmp", 0o1777)

    # alice's 0600 file and 0700 directory.
    e, a = alice.create("/home/alice/secret", 0o600, uid=0, gid=0)
    check("a new file is its creator's, whatever owner it claims",
          e == 0 and a["uid"] == 1002 and a["gid"] == 1002, a)
    alice.complete(a["ino"])
    check("alice makes a 0700 directory",
          alice.mkdir("/home/alice/private", 0o700) == 0)
    alice.put("/home/alice/private/f")
    check("bob cannot read alice's 0600 file (no read token: GET_BLOCKS)",
          bob.get_blocks("/home/alice/secret") == EACCES)
    check("alice reads her own file", alice.get_blocks(
        "/home/alice/secret") == 0)
    check("the superuser reads it", root.get_blocks(
        "/home/alice/secret") == 0)
    check("bob may stat it (search on its directory is enough)",
          bob.stat("/home/alice/secret")[0] == 0)
    check("bob cannot list alice's 0700 directory",
          bob.list("/home/alice/private") == EACCES)
    e, msg = bob.stat("/home/alice/private/f")
    check("bob cannot stat through it (no search permission)",
          e == EACCES and "/home/alice/private" in msg, (e, msg))
    check("alice lists it", alice.list("/home/alice/private") == 0)
    by_inode(root, alice, bob)
    check("bob reads root's 0644 file", bob.get_blocks(rootfile) == 0)

    # root's files in a 0755 directory.
    rootdir = rootfile.rsplit("/", 1)[0] or "/"
    check("bob cannot delete root's file", bob.delete(rootfile) == EACCES)
    check("bob cannot unlink root's file", bob.unlink(rootfile) == EACCES)
    check("bob cannot rename root's file away",
          bob.rename(rootfile, "/tmp/stolen") == EACCES)
    check("bob cannot rename a file of his over root's",
          bob.put("/tmp/bobs") and bob.rename("/tmp/bobs", rootfile) ==
          EACCES)
    check("root's file is still there", bob.stat(rootfile)[0] == 0)
    check("bob cannot truncate root's 0644 file",
          bob.setattr(rootfile, SET_SIZE0)[0] == EACCES)
    check("bob cannot change its replication",
          bob.set_repl(rootfile, 2) == EACCES)
    check("bob cannot make a device", bob.mknod("/tmp/dev", FT_CHR,
                                                0o666, 0x0103) == EPERM)
    check("bob cannot rewrite root's file (CREATE over it)",
          bob.create(rootfile, overwrite=True)[0] == EACCES)

    # chmod, chown, chgrp.
    check("bob cannot chmod root's file",
          bob.setattr(rootfile, SET_MODE, 0o666)[0] == EPERM)
    check("bob cannot chmod alice's file",
          bob.setattr("/home/alice/secret", SET_MODE, 0o644)[0] == EPERM)
    check("bob cannot chown alice's file to himself",
          bob.setattr("/home/alice/secret", SET_UID, uid=1001)[0] == EPERM)
    check("bob cannot give his own file to alice",
          bob.setattr("/tmp/bobs", SET_UID, uid=1002)[0] == EPERM)
    check("bob cannot chgrp his file to alice's group",
          bob.setattr("/tmp/bobs", SET_GID, gid=1002)[0] == EPERM)
    e, a = bob.setattr("/tmp/bobs", SET_GID, gid=100)
    check("bob chgrps his file to a group he is in",
          e == 0 and a["gid"] == 100, (e, a))
    e, a = alice.setattr("/home/alice/secret", SET_MODE, 0o640)
    check("alice chmods her file", e == 0 and a["mode"] & 0o7777 == 0o640)
    e, a = root.setattr("/home/alice/secret", SET_UID | SET_GID, uid=1001,
                        gid=1001)
    check("the superuser chowns anything", e == 0 and a["uid"] == 1001)
    root.setattr("/home/alice/secret", SET_UID | SET_GID, uid=1002,
                 gid=1002)

    # Set-ID bits.
    e, a = bob.create("/tmp/suid", 0o4755, uid=0, gid=0)
    check("bob's set-uid file is his, not root's",
          e == 0 and a["uid"] == 1001 and a["mode"] & 0o4000, a)
    bob.complete(a["ino"])
    e, a = bob.setattr("/tmp/suid", SET_UID, uid=0)
    check("bob cannot chown it to root", e == EPERM)
    e, a = root.setattr("/tmp/suid", SET_UID, uid=1002)
    check("a chown clears set-uid (even the superuser's)",
          e == 0 and a["uid"] == 1002 and not a["mode"] & 0o4000, a)
    a = alice.put("/tmp/shared", 0o666)
    alice.setattr("/tmp/shared", SET_MODE, 0o6777)
    e, a = bob.create("/tmp/shared", 0o644, uid=1001, overwrite=True)
    check("bob's rewrite of alice's 0666 set-ID file keeps her owner, "
          "clears set-uid and set-gid",
          e == 0 and a["uid"] == 1002 and a["mode"] & 0o7777 == 0o777,
          (e, a))
    bob.complete(a["ino"])
    root.setattr("/tmp/shared", SET_GID, gid=555)
    e, a = alice.setattr("/tmp/shared", SET_MODE, 0o2755)
    check("alice's chmod g+s on a file of a group she is not in drops it",
          e == 0 and a["mode"] & 0o7777 == 0o755, (e, a))

    # A read-only file its owner made is still its owner's to write (a
    # mount rewrites at the first write after open(O_CREAT, 0444)).
    check("alice makes a 0444 file", alice.mknod("/tmp/ro", FT_FILE,
                                                 0o444) == 0)
    e, a = alice.create("/tmp/ro", 0o444, client="ro", overwrite=True)
    check("alice, its owner, may rewrite it", e == 0, (e, a))
    alice.complete(a["ino"], "ro")
    check("bob may not", bob.create("/tmp/ro", overwrite=True)[0] ==
          EACCES)

    # Times.
    check("bob cannot set explicit times on alice's 0666 file",
          bob.setattr("/tmp/shared", SET_MTIME, mt=1)[0] == EPERM)
    alice.setattr("/tmp/shared", SET_MODE, 0o666)
    check("bob may set them to now (he may write it)",
          bob.setattr("/tmp/shared", SET_MTIME_NOW | SET_ATIME_NOW)[0] == 0)

    # A lease name is not a write permission.
    e, a = alice.create("/home/alice/wip", 0o644, client="alice-w")
    check("bob cannot add a block to alice's file under her lease name",
          e == 0 and bob.add_block(a["ino"], "alice-w") == EACCES)
    check("bob cannot complete it either",
          bob.complete(a["ino"], "alice-w") == EACCES)
    alice.complete(a["ino"], "alice-w")

    # Sticky /tmp.
    alice.put("/tmp/alices")
    check("bob cannot delete alice's file in sticky /tmp",
          bob.delete("/tmp/alices") == EPERM)
    check("bob cannot rename over it", bob.rename("/tmp/bobs",
                                                  "/tmp/alices") == EPERM)
    check("bob cannot rename it away", bob.rename("/tmp/alices",
                                                  "/tmp/mine") == EPERM)
    check("bob renames his own file in /tmp",
          bob.rename("/tmp/bobs", "/tmp/bobs2") == 0)
    check("bob deletes his own file in /tmp", bob.delete("/tmp/bobs2") == 0)
    check("alice deletes hers", alice.delete("/tmp/alices") == 0)

    # rm -r: every directory emptied must be writable; all or nothing.
    alice.mkdir("/home/alice/t")
    alice.mkdir("/home/alice/t/a")
    alice.put("/home/alice/t/a/f")
    alice.mkdir("/home/alice/t/locked")
    alice.put("/home/alice/t/locked/g")
    alice.setattr("/home/alice/t/locked", SET_MODE, 0o555)
    e = alice.delete("/home/alice/t", True)
    check("alice's rm -r of a tree holding a 0555 directory is refused",
          e == EACCES, (e, mode_of(alice, "/home/alice/t/locked")))
    check("... and removes nothing", alice.stat("/home/alice/t/a/f")[0] ==
          0 and alice.stat("/home/alice/t/locked/g")[0] == 0)
    alice.setattr("/home/alice/t/locked", SET_MODE, 0o755)
    check("bob cannot rm -r alice's tree", bob.delete("/home/alice/t",
                                                      True) == EACCES)
    check("alice can, once it is writable",
          alice.delete("/home/alice/t", True) == 0)
    # A directory moving to a new parent needs w on itself.
    root.mkdir("/tmp/rootdir", 0o755)
    bob.mkdir("/tmp/bobdir", 0o755)
    check("bob cannot move root's directory into his own",
          bob.rename("/tmp/rootdir", "/tmp/bobdir/x") in (EACCES, EPERM))
    root.setattr("/tmp", SET_MODE, 0o777)
    check("... even where the sticky bit does not stop him",
          bob.rename("/tmp/rootdir", "/tmp/bobdir/x") == EACCES)
    check("but may rename it within /tmp (no '..' changes)",
          bob.rename("/tmp/rootdir", "/tmp/rootdir2") == 0)
    root.setattr("/tmp", SET_MODE, 0o1777)

    # fsck and verify walk whole trees: the superuser's.
    check("bob cannot fsck /", bob.err(FSCK, w.Payload().str("/").u64(0)
                                       .u32(0)) == EACCES)
    check("bob cannot ask for a verify of /", bob.err(
        VERIFY, w.Payload().str("/").u64(0)) == EACCES)
    check("the superuser can fsck /", root.err(
        FSCK, w.Payload().str("/").u64(0).u32(0)) == 0)

    # The superuser does everything.
    check("the superuser deletes alice's private tree",
          root.delete("/home/alice/private", True) == 0)
    check("the superuser deletes bob's file in sticky /tmp",
          root.delete("/tmp/suid") == 0)
    check("the superuser makes a device", root.mknod("/tmp/dev", FT_CHR,
                                                     0o600, 0x0103) == 0)

    print("%d passed, %d failed" % (w.passed, w.failed))
    return 0 if w.failed == 0 and w.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
