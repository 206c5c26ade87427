"""nn_hostile.py: the namenode against hostile frames and raw protocol.

Run by nn-hostile.sh against a running dfs-namenode:

    nn_hostile.py main HOST:PORT                hostile input, namespace
                                                 and fake data node checks
    nn_hostile.py persist HOST:PORT STEP         namespace after a restart

Prints one "ok - ..." or "not ok - ..." line per check (the shell script
counts them).  Fake data nodes speak the data node side of the protocol
so the block map is tested without a real data node; block tokens are
checked against an HMAC computed here with the keys the namenode sent
those fake data nodes (REGISTERED, KEYS).
"""
import errno
import hmac
import os
import random
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # the source tree may be read-only
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."),
                                "tests", "lib"))
import npdfs_wire as w  # noqa: E402

MKDIR, STAT, ATTR, LIST, LISTING, CREATE = 100, 101, 102, 103, 104, 105
ADD_BLOCK, LBLOCK, COMPLETE, ABANDON, GET_BLOCKS, BLOCKS = (
    106, 107, 108, 109, 110, 111)
RENAME, DELETE, SET_REPL, FSCK, FSCK_PAGE, REPORT, REPORT_REPLY = (
    112, 113, 114, 115, 116, 117, 118)
BAD_BLOCK = 119
DN_REGISTER, DN_REGISTERED, DN_HEARTBEAT, DN_COMMANDS = 200, 201, 202, 203
DN_BLOCK_REPORT, DN_RECEIVED, DN_VERIFIED = 204, 205, 210
CMD_DELETE, CMD_REPLICATE, CMD_REREGISTER, CMD_VERIFY, CMD_KEYS = \
    1, 2, 3, 4, 5
VERIFY_GOOD, VERIFY_BAD, VERIFY_ABSENT = 0, 1, 2
BLK_HEALTHY, BLK_UNDER, BLK_MISSING, BLK_CORRUPT, BLK_OVER = range(5)




check = w.ok


# --- records --------------------------------------------------------------

def get_npy(r):
    if not r.u8():
        return None
    m = {"descr": r.str(), "fortran": r.u8()}
    ndim = r.u8()
    m["shape"] = tuple(r.u64() for _ in range(ndim))
    m["data_offset"], m["itemsize"], m["header_len"] = r.u64(), r.u32(), \
        r.u64()
    return m


def get_attr(r):
    a = {}
    for k, f in (("ino", r.u64), ("type", r.u8), ("mode", r.u32),
                 ("uid", r.u32), ("gid", r.u32), ("size", r.u64),
                 ("mtime", r.i64), ("atime", r.i64), ("ctime", r.i64),
                 ("nlink", r.u32), ("replication", r.u16),
                 ("block_size", r.u64), ("uc", r.u8), ("nblocks", r.u32)):
        a[k] = f()
    a["npy"] = get_npy(r)
    return a


get_token = w.get_token

# Token keys the namenode sent the fake data nodes (REGISTERED, KEYS):
# id -> (expiry, key).  Tokens it signs are checked against these.
KEYS = {}


def get_keys(r):
    """A keys record (doc/protocol.md section 10) into KEYS."""
    for _ in range(r.u32()):
        kid, exp, key = r.u32(), r.u64(), r.raw(32)
        KEYS[kid] = (exp, key)


def get_lblock(r):
    lb = {"block": r.u64(), "gen": r.u64(), "offset": r.u64(),
          "len": r.u64()}
    n = r.u32()
    lb["locs"] = [(r.u64(), r.str()) for _ in range(n)]
    lb["token"] = get_token(r)
    return lb


def token_ok(uid, t, targets=None):
    """The token is for uid (and a write token for the pipeline of the
    addresses targets) and its HMAC, recomputed as doc/protocol.md section
    10 says with a key the namenode sent its data nodes, agrees."""
    if t["key_id"] not in KEYS or t["uid"] != uid:
        return False
    exp, key = KEYS[t["key_id"]]
    return t["expiry"] <= exp and hmac.compare_digest(
        w.token_mac(key, t["block"], t["gen"], t["mode"], t["expiry"],
                    t["key_id"], t["uid"], targets), t["mac"])


# --- a client -------------------------------------------------------------

class NN:
    def __init__(self, addr, hello=True, timeout=15.0, conf=None):
        host, port = addr.rsplit(":", 1)
        self.addr = addr
        self.c = w.Conn(host, int(port), timeout=timeout, hello=hello,
                        conf=conf)

    def close(self):
        self.c.close()

    def call(self, mtype, p=b""):
        """(errno or 0, Reader of the reply payload)."""
        t, payload = self.c.call(mtype, p)
        if t == w.MSG_ERROR:
            e, msg = w.error_of(payload)
            return e, msg
        return 0, w.Reader(payload)

    def mkdir(self, path, parents=False, mode=0o755):
        return self.call(MKDIR, w.Payload().str(path).u32(mode).u32(0)
                         .u32(0).u8(parents))[0]

    def stat(self, path):
        e, r = self.call(STAT, w.Payload().str(path))
        return (e, None) if e else (0, get_attr(r))

    def list(self, path, after="", mx=0):
        e, r = self.call(LIST, w.Payload().str(path).str(after).u32(mx))
        if e:
            return e, None, None
        names = []
        for _ in range(r.u32()):
            names.append(r.str())
            get_attr(r)
        return 0, names, r.u8()

    def create(self, path, client="c1", overwrite=False, repl=0, bsize=0,
               flags=None):
        # flags: CREATE's flags byte; by default just overwrite (bit 0).
        flags = int(overwrite) if flags is None else flags
        e, r = self.call(CREATE, w.Payload().str(path).u32(0o644).u32(0)
                         .u32(0).u16(repl).u64(bsize).u8(flags)
                         .str(client))
        return (e, r) if e else (0, get_attr(r))

    def add_block(self, ino, client, prev, prev_len, offset, exclude=()):
        p = w.Payload().u64(ino).str(client).u64(prev).u64(prev_len) \
            .u64(offset).u32(len(exclude))
        for n in exclude:
            p.u64(n)
        e, r = self.call(ADD_BLOCK, p)
        return (e, r) if e else (0, get_lblock(r))

    def complete(self, ino, client, last, last_len, size, header=b""):
        return self.call(COMPLETE, w.Payload().u64(ino).str(client)
                         .u64(last).u64(last_len).u64(size)
                         .blob(header))

    def rename(self, src, dst, flags=0):
        return self.call(RENAME, w.Payload().str(src).str(dst).u32(flags))[0]

    def delete(self, path, recursive=False):
        return self.call(DELETE, w.Payload().str(path).u8(recursive))[0]

    def get_blocks(self, path, off=0, length=0xFFFFFFFFFFFFFFFF):
        e, r = self.call(GET_BLOCKS, w.Payload().str(path).u64(off)
                         .u64(length))
        if e:
            return e, None, None
        a = get_attr(r)
        return 0, a, [get_lblock(r) for _ in range(r.u32())]

    def fsck(self, path, cursor=0, mx=0):
        e, r = self.call(FSCK, w.Payload().str(path).u64(cursor).u32(mx))
        if e:
            return e, None, None, None
        files = []
        for _ in range(r.u32()):
            f = {"path": r.str(), "size": r.u64(), "repl": r.u16(),
                 "state": r.u8(), "blocks": []}
            for _ in range(r.u32()):
                b = {"id": r.u64(), "gen": r.u64(), "offset": r.u64(),
                     "len": r.u64(), "status": r.u8(), "reps": []}
                for _ in range(r.u32()):
                    b["reps"].append((r.u64(), r.str(), r.u8()))
                f["blocks"].append(b)
            files.append(f)
        return 0, files, r.u64(), r.u8()

    def report(self):
        e, r = self.call(REPORT)
        if e:
            return e, None
        rep = {"safemode": r.u8(), "blocks": r.u64(), "under": r.u64(),
               "missing": r.u64(), "corrupt": r.u64(), "pending": r.u64(),
               "nodes": {}}
        for _ in range(r.u32()):
            n = {"id": r.u64(), "uuid": r.str(), "addr": r.str(),
                 "state": r.u8(), "capacity": r.u64(), "used": r.u64(),
                 "nblocks": r.u64(), "ms": r.i64(), "unknown": r.u64(),
                 "dfs_used": r.u64()}
            rep["nodes"][n["id"]] = n
        return 0, rep


# --- fake data nodes ------------------------------------------------------

class FakeDN:
    """The data node side of the protocol, without any data."""

    def __init__(self, addr, uuid, dn_addr):
        # With a data node's certificate: the namenode takes data node
        # messages from no one else.
        self.nn = NN(addr, conf=os.environ["NPDFS_TEST_DN_CONF"])
        self.uuid, self.dn_addr = uuid, dn_addr
        self.cluster = ""       # joins the namenode's at registration
        self.reports = 0
        self.id = None
        self.commands = []
        self.beating = True
        self.lock = threading.Lock()
        self.io = threading.Lock()  # the heartbeat thread shares self.nn

    def call(self, mtype, p):
        with self.io:
            return self.nn.call(mtype, p)

    def register(self, cluster=None):
        e, r = self.call(DN_REGISTER, w.Payload()
                            .str(self.cluster if cluster is None else cluster)
                            .str(self.uuid).str(self.dn_addr)
                            .u64(1 << 40).u64(0).u64(0))
        if e:
            return e, None
        self.id = r.u64()
        hb = r.u32()
        self.cluster = r.str()
        get_keys(r)
        return 0, hb

    def heartbeat(self, node=None, cluster=None):
        e, r = self.call(DN_HEARTBEAT, w.Payload()
                            .str(self.cluster if cluster is None else cluster)
                            .u64(self.id if node is None else node)
                            .u64(1 << 40).u64(0).u64(0).u32(0))
        if e:
            return e, None
        cmds = []
        for _ in range(r.u32()):
            kind = r.u8()
            if kind in (CMD_DELETE, CMD_VERIFY):
                cmds.append((kind, r.u64(), r.u64()))
            elif kind == CMD_REPLICATE:
                cmds.append((kind, get_lblock(r)))
            elif kind == CMD_KEYS:
                get_keys(r)
            else:
                cmds.append((kind,))
        with self.lock:
            self.commands.extend(cmds)
        return 0, cmds

    def received(self, block, gen, length):
        return self.call(DN_RECEIVED, w.Payload().u64(self.id).u64(block)
                            .u64(gen).u64(length))[0]

    def verified(self, block, gen, result, why=""):
        return self.call(DN_VERIFIED, w.Payload().u64(self.id).u64(block)
                         .u64(gen).u8(result).str(why))

    def report_part(self, report, part, nparts, entries, cluster=None):
        p = w.Payload().str(self.cluster if cluster is None else cluster) \
            .u64(self.id).u64(report).u32(part).u32(nparts) \
            .u32(len(entries))
        for e in entries:
            b, g, n = e[:3]
            p.u64(b).u64(g).u64(n).u8(e[3] if len(e) > 3 else 0)
        return self.call(DN_BLOCK_REPORT, p)

    def block_report(self, entries, per_part=0):
        """A whole report, in parts of per_part entries (0: one part)."""
        per = per_part or max(len(entries), 1)
        parts = [entries[i:i + per] for i in range(0, len(entries), per)] \
            or [[]]
        self.reports += 1
        for i, part in enumerate(parts):
            e = self.report_part(self.reports, i, len(parts), part)[0]
            if e:
                return e
        return 0

    def take(self, kind):
        with self.lock:
            got = [c for c in self.commands if c[0] == kind]
            self.commands = [c for c in self.commands if c[0] != kind]
        return got


def beat_forever(dns, stop):
    """Heartbeats for every fake node that is beating, twice a second."""
    while not stop.is_set():
        for d in dns:
            if d.beating:
                try:
                    d.heartbeat()
                except Exception:
                    pass
        stop.wait(0.5)


# --- hostile input --------------------------------------------------------

def closed_or_error(sock, timeout=5.0):
    """'error:<msg>' if an ERROR frame arrives, 'closed' on EOF, else what
    happened (a hang is 'timeout')."""
    sock.settimeout(timeout)
    buf = b""
    try:
        while len(buf) < w.HDR.size:
            chunk = sock.recv(w.HDR.size - len(buf))
            if not chunk:
                return "closed"
            buf += chunk
        magic, ver, t, req, length, flags = w.HDR.unpack(buf)
        body = b""
        while len(body) < length:
            chunk = sock.recv(length - len(body))
            if not chunk:
                return "closed"
            body += chunk
        if t == w.MSG_ERROR:
            return "error:" + w.error_of(body)[1]
        return "frame %d" % t
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "closed"


def raw_sock(addr, tls=True):
    """A socket to send hostile bytes on: inside an authenticated TLS
    session (a peer holding a certificate), or plain TCP."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    if tls:
        s = w.tls_context(os.environ["NPDFS_TEST_CONF"]).wrap_socket(s)
    return s


def hostile(addr):
    # A half-sent header holds one connection's thread, no one else's;
    # once closed, the namenode still answers new connections.
    s = raw_sock(addr)
    s.sendall(w.frame(w.MSG_HELLO, b"")[:10])
    c = NN(addr, timeout=5.0)
    e, a = c.stat("/")
    c.close()
    check("a truncated header does not stall other connections",
          e == 0 and a["type"] == 2, (e, a))
    s.close()
    time.sleep(0.2)
    try:
        c = NN(addr, timeout=5.0)
        e, a = c.stat("/")
        c.close()
    except OSError as x:
        e, a = x, None
    check("truncated header then close is survived: a fresh connection "
          "gets STAT answered", e == 0 and a["type"] == 2, (e, a))

    s = raw_sock(addr)
    s.sendall(w.frame(STAT, w.Payload().str("/").bytes(), magic=b"XXXX"))
    res = closed_or_error(s)
    check("bad magic gets an error or a close", res.startswith("error:")
          or res == "closed", res)
    s.close()

    s = raw_sock(addr)
    s.sendall(w.frame(STAT, w.Payload().str("/").bytes(), version=9))
    res = closed_or_error(s)
    check("wrong version gets an ERROR naming the version",
          res.startswith("error:") and "version" in res and "9" in res, res)
    check("connection closed after a bad header",
          closed_or_error(s, 5) == "closed")
    s.close()

    s = raw_sock(addr)
    s.sendall(w.frame(STAT, b"", length=0xFFFFFFFF))
    res = closed_or_error(s)
    check("oversized length gets an error or a close, no hang",
          res.startswith("error:") or res == "closed", res)
    s.close()

    s = raw_sock(addr)
    s.sendall(w.frame(STAT, b"", flags=7))
    res = closed_or_error(s)
    check("unknown frame flags get an error or a close",
          res.startswith("error:") or res == "closed", res)
    s.close()

    c = NN(addr)
    e, msg = c.call(9999, b"abc")
    check("unknown type gets -ENOSYS", e == -errno.ENOSYS, (e, msg))
    check("the connection still works after it", c.stat("/")[0] == 0)
    e, msg = c.call(STAT, w.Payload().u32(10).raw(b"/ab").bytes())
    check("STAT with a truncated payload gets -EBADMSG",
          e == -errno.EBADMSG, (e, msg))
    e, msg = c.call(STAT, w.Payload().u32(0xFFFFFFFF).bytes())
    check("string length 0xFFFFFFFF gets -EBADMSG", e == -errno.EBADMSG,
          (e, msg))
    e, msg = c.call(STAT, w.Payload().str("/").u8(1).bytes())
    check("trailing bytes get -EBADMSG", e == -errno.EBADMSG, (e, msg))
    e, msg = c.call(STAT, w.Payload().str("/a\0b").bytes())
    check("a NUL inside a path gets -EBADMSG", e == -errno.EBADMSG, (e, msg))
    p = w.Payload().u64(1).str("x").u64(0).u64(0).u64(0).u32(0xFFFFFFFF)
    e, msg = c.call(ADD_BLOCK, p)
    check("an exclude count of 2^32-1 is refused", e in (-errno.EINVAL,
          -errno.EBADMSG), (e, msg))
    p = w.Payload().str("").u64(1).u64(1).u32(0).u32(1).u32(0x7FFFFFFF)
    e, msg = c.call(DN_BLOCK_REPORT, p)
    check("a client's block report is refused by its role",
          e == -errno.EACCES, (e, msg))
    d = NN(addr, conf=os.environ["NPDFS_TEST_DN_CONF"])
    e, msg = d.call(DN_BLOCK_REPORT, p)
    d.close()
    check("a data node's block report count beyond the payload is refused",
          e == -errno.EBADMSG, (e, msg))
    e, msg = c.call(FSCK, w.Payload().str("/").u64(0).bytes())
    check("a short FSCK gets -EBADMSG", e == -errno.EBADMSG, (e, msg))
    check("the connection still works after bad payloads",
          c.stat("/")[0] == 0)

    rng = random.Random(20240611)
    types = [w.MSG_HELLO, w.MSG_OK, w.MSG_ERROR] + list(range(100, 120)) + \
        list(range(200, 206)) + [300, 0, 65535]
    answered = 0
    for i in range(200):
        t = rng.choice(types)
        payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(64)))
        c.c.send_raw(w.frame(t, payload, req_id=i + 100))
        try:
            rt, _ = c.c.recv()
            answered += 1
        except Exception as ex:
            check("garbage frame %d (type %d) answered" % (i, t), False, ex)
            c = NN(addr)
    check("200 random garbage frames each answered", answered == 200,
          answered)
    c.close()

    closed = 0
    for i in range(20):
        s = raw_sock(addr)
        s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randrange(
            24, 200))))
        res = closed_or_error(s)
        closed += res.startswith("error:") or res == "closed"
        s.close()
    check("20 connections of random bytes each refused", closed == 20, closed)

    c = NN(addr)
    check("a fresh connection gets HELLO and STAT /", c.stat("/")[0] == 0)
    check("MKDIR on a fresh connection", c.mkdir("/hostile") == 0)
    e, names, more = c.list("/")
    check("LIST on a fresh connection", e == 0 and "hostile" in names,
          names)
    c.close()


# --- namespace ------------------------------------------------------------

def namespace(addr):
    c = NN(addr)
    check("mkdir /a", c.mkdir("/a") == 0)
    check("mkdir /a again is -EEXIST", c.mkdir("/a") == -errno.EEXIST)
    check("mkdir -p /a/b/c", c.mkdir("/a/b/c", parents=True) == 0)
    check("mkdir -p of an existing tree is fine",
          c.mkdir("/a/b", parents=True) == 0)
    check("mkdir /x/y without -p is -ENOENT",
          c.mkdir("/x/y") == -errno.ENOENT)
    e, names, more = c.list("/a")
    check("list /a", e == 0 and names == ["b"] and more == 0, (e, names))
    e, a = c.stat("/a//b/c/")
    check("repeated and trailing slashes resolve", e == 0 and a["type"] == 2)
    e, a = c.stat("/nope/x")
    check("stat of a missing path is -ENOENT", e == -errno.ENOENT)
    for bad in ("a/b", "/a/./b", "/a/../b", "/" + "n" * 256):
        e, a = c.stat(bad)
        check("path %r is -EINVAL" % bad[:20], e == -errno.EINVAL, e)
    e, a = c.stat("/")
    check("root is inode 1, a directory", e == 0 and a["ino"] == 1 and
          a["type"] == 2)
    e, f = c.create("/a/f", client="w1")
    check("create /a/f", e == 0 and f["type"] == 1 and f["uc"] == 1, e)
    e, r = c.complete(f["ino"], "w1", 0, 0, 0)
    check("complete with zero blocks", e == 0, r)
    e, a = c.stat("/a/f")
    check("the file is complete and empty",
          e == 0 and a["uc"] == 0 and a["size"] == 0 and a["nblocks"] == 0)
    e, _ = c.create("/a/f", client="w1")
    check("create over a file without overwrite is -EEXIST",
          e == -errno.EEXIST)
    e, _ = c.create("/a/b", client="w1", overwrite=True)
    check("create over a directory is -EISDIR", e == -errno.EISDIR)
    e, _ = c.create("/a/f/g", client="w1")
    check("create under a file is -ENOTDIR", e == -errno.ENOTDIR)
    e, _ = c.create("/a/g", client="w1", repl=17)
    check("replication 17 is -EINVAL", e == -errno.EINVAL)
    e, _ = c.create("/a/g", client="w1", bsize=1000)
    check("block size 1000 is -EINVAL", e == -errno.EINVAL)
    for bad in (4, 0x80, 0xff):
        e, _ = c.create("/a/g", client="w1", flags=bad)
        check("create flags 0x%x are -EINVAL" % bad, e == -errno.EINVAL, e)
    check("and made nothing", c.stat("/a/g")[0] == -errno.ENOENT)
    e, f2 = c.create("/a/f", client="w2", overwrite=True)
    check("create with overwrite rewrites the file in place",
          e == 0 and f2["ino"] == f["ino"] and f2["uc"] == 1 and
          f2["size"] == 0)
    e, r = c.complete(f2["ino"], "w1", 0, 0, 0)
    check("complete by another client is -EPERM", e == -errno.EPERM, r)
    check("complete by the writer", c.complete(f2["ino"], "w2", 0, 0, 0)[0]
          == 0)
    e, names, _ = c.list("/a/f")
    check("listing a file lists the file", e == 0 and names == ["f"])
    check("rename /a/f to /a/g", c.rename("/a/f", "/a/g") == 0)
    check("the old name is gone", c.stat("/a/f")[0] == -errno.ENOENT)
    check("the new name is the file", c.stat("/a/g")[1]["ino"] == f2["ino"])
    check("rename to itself", c.rename("/a/g", "/a/g") == 0)
    check("rename of a missing file is -ENOENT",
          c.rename("/a/zz", "/a/yy") == -errno.ENOENT)
    check("rename a dir into itself is -EINVAL",
          c.rename("/a", "/a/b/c/d") == -errno.EINVAL)
    check("rename a file over a dir is -EISDIR",
          c.rename("/a/g", "/a/b") == -errno.EISDIR)
    check("rename a dir over a file is -ENOTDIR",
          c.rename("/a/b", "/a/g") == -errno.ENOTDIR)
    check("rename a dir over a non-empty dir is -ENOTEMPTY",
          c.mkdir("/d1") == 0 and c.rename("/d1", "/a") == -errno.ENOTEMPTY)
    check("rename a dir over an empty dir replaces it",
          c.mkdir("/d2") == 0 and c.rename("/d1", "/d2") == 0 and
          c.stat("/d1")[0] == -errno.ENOENT)
    e, g2 = c.create("/a/h", client="w3")
    c.complete(g2["ino"], "w3", 0, 0, 0)
    check("RENAME_NOREPLACE over a file is -EEXIST",
          c.rename("/a/g", "/a/h", 1) == -errno.EEXIST)
    check("rename flags 4 are -EINVAL",
          c.rename("/a/g", "/a/h", 4) == -errno.EINVAL)
    e, u = c.create("/a/u", client="w4")
    check("NOREPLACE_UC over a file being written is -EPERM",
          e == 0 and c.rename("/a/h", "/a/u", 2) == -errno.EPERM)
    check("which stays the one being written",
          c.stat("/a/u")[1]["ino"] == u["ino"] and
          c.stat("/a/h")[0] == 0)
    c.complete(u["ino"], "w4", 0, 0, 0)
    check("NOREPLACE_UC over a complete file replaces it",
          c.rename("/a/h", "/a/u", 2) == 0 and
          c.stat("/a/u")[1]["ino"] == g2["ino"] and
          c.rename("/a/u", "/a/h") == 0)
    check("rename a file over a file replaces it",
          c.rename("/a/g", "/a/h") == 0 and
          c.stat("/a/h")[1]["ino"] == f2["ino"])
    check("rename into a missing dir is -ENOENT",
          c.rename("/a/h", "/q/h") == -errno.ENOENT)
    e, a = c.stat("/a")
    check("a directory's nlink counts its subdirectories",
          e == 0 and a["nlink"] == 3, a)
    check("delete a non-empty dir without recursive is -ENOTEMPTY",
          c.delete("/a") == -errno.ENOTEMPTY)
    check("delete / is refused", c.delete("/", True) in
          (-errno.EBUSY, -errno.EPERM))
    check("delete a missing file is -ENOENT", c.delete("/zz") ==
          -errno.ENOENT)
    check("delete -r of a tree", c.delete("/d2") == 0 and
          c.delete("/a", True) == 0 and c.stat("/a/b/c")[0] == -errno.ENOENT)
    for i in range(5):
        c.mkdir("/p/e%d" % i, parents=True)
    e, n1, m1 = c.list("/p", mx=2)
    e2, n2, m2 = c.list("/p", after=n1[-1], mx=2)
    e3, n3, m3 = c.list("/p", after=n2[-1], mx=2)
    check("list pages of two", n1 + n2 + n3 == ["e%d" % i for i in range(5)]
          and (m1, m2, m3) == (1, 1, 0), (n1, n2, n3, m1, m2, m3))
    # Left for the restart checks.
    c.mkdir("/keep/deep", parents=True)
    e, k = c.create("/keep/file", client="w9")
    c.complete(k["ino"], "w9", 0, 0, 0)
    c.close()


# --- the block map, through fake data nodes -------------------------------

def npy_header(shape, descr="<f8"):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (
        descr, repr(tuple(shape)))
    total = 10 + len(d) + 1
    pad = (64 - total % 64) % 64
    d = d + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode()


def write_file(c, byid, path, client, sizes, header=b""):
    """Create path with one block per size (replication 1, 4 KiB blocks),
    each reported by its node, then complete it."""
    e, f = c.create(path, client=client, repl=1, bsize=4096)
    if e:
        return e, f
    prev, prev_len, off = 0, 0, 0
    for n in sizes:
        e, lb = c.add_block(f["ino"], client, prev, prev_len, off)
        if e:
            return e, lb
        byid[lb["locs"][0][0]].received(lb["block"], lb["gen"], n)
        prev, prev_len, off = lb["block"], n, off + n
    return c.complete(f["ino"], client, prev, prev_len, off, header)


def full_node(c, dns):
    """ABANDON's tail: hostile forms; a node named as refusing for space
    gets no block until its next heartbeat shows room; a whole file given
    up is left complete and empty."""
    e, f = c.create("/full", client="w7", repl=3)
    e, x = c.add_block(f["ino"], "w7", 0, 0, 0)
    check("a block of a 3-replica file goes to all three nodes",
          e == 0 and len(x["locs"]) == 3, x)

    def abandon(block, tail, client="w7"):
        return c.call(ABANDON, w.Payload().u64(f["ino"]).str(client)
                      .u64(block).raw(tail))[0]

    def tail(flags, node, reason):
        return struct.pack("<BQi", flags, node, reason)
    victim = x["locs"][2][0]
    check("ABANDON with unknown flags is -EINVAL",
          abandon(x["block"], tail(0x80, 0, 0)) == -errno.EINVAL)
    check("ABANDON with a positive reason is -EINVAL",
          abandon(x["block"], tail(0, victim, 28)) == -errno.EINVAL)
    check("ABANDON naming a node outside the block's pipeline is -EINVAL",
          abandon(x["block"], tail(0, 99999, -errno.ENOSPC)) ==
          -errno.EINVAL)
    check("ABANDON with a cut tail is refused",
          abandon(x["block"], b"\x00\x01") < 0)
    vic = [d for d in dns if d.id == victim][0]
    vic.beating = False
    time.sleep(1.0)     # no heartbeat of it is under way any more
    check("ABANDON naming the node that refused it for space",
          abandon(x["block"], tail(0, victim, -errno.ENOSPC)) == 0)
    got = []
    for _ in range(8):
        e, y = c.add_block(f["ino"], "w7", 0, 0, 0)
        got.append(None if e else sorted(n for n, _ in y["locs"]))
    check("... it gets no block (of any writer) until it heartbeats",
          all(g is not None and len(g) == 2 and victim not in g
              for g in got), (victim, got))
    e, cmds = vic.heartbeat()
    e, y = c.add_block(f["ino"], "w7", 0, 0, 0)
    check("... and after a heartbeat showing room it gets blocks again",
          e == 0 and victim in [n for n, _ in y["locs"]], y)
    vic.beating = True
    check("ABANDON of the whole file by another client is -EPERM",
          abandon(0, tail(1, 0, 0), client="w8") == -errno.EPERM)
    check("ABANDON of the whole file by its writer",
          abandon(0, tail(1, 0, 0)) == 0)
    e, a = c.stat("/full")
    check("... leaves it complete and empty",
          e == 0 and a["uc"] == 0 and a["size"] == 0 and
          a["nblocks"] == 0, a)


def blockmap(addr):
    c = NN(addr)
    dns = [FakeDN(addr, "uuid-%d" % i, "127.0.0.1:%d" % (40001 + i))
           for i in range(3)]
    e, wr = c.create("/early", client="w0")
    e, r = c.add_block(wr["ino"], "w0", 0, 0, 0)
    check("add_block with no data nodes is -ENOSPC", e == -errno.ENOSPC, r)
    regs = [d.register() for d in dns]
    check("three data nodes register", all(r[0] == 0 for r in regs) and
          len({d.id for d in dns}) == 3 and regs[0][1] == 1000, regs)
    again = FakeDN(addr, "uuid-0", "127.0.0.1:40001")
    check("a node keeps its id across registrations",
          again.register()[0] == 0 and again.id == dns[0].id)
    again.nn.close()
    bad = FakeDN(addr, "uuid-bad", "no-port-here")
    check("a registration with a bad address is -EINVAL",
          bad.register()[0] == -errno.EINVAL)
    bad.nn.close()
    stop = threading.Event()
    beater = threading.Thread(target=beat_forever, args=(dns, stop),
                              daemon=True)
    beater.start()

    e, f = c.create("/data", client="w1", repl=2, bsize=65536)
    e, lb = c.add_block(f["ino"], "w1", 0, 0, 0)
    check("add_block places two distinct nodes", e == 0 and
          len(lb["locs"]) == 2 and len({n for n, _ in lb["locs"]}) == 2, lb)
    t = lb["token"]
    check("the block token is a valid WRITE token for the block",
          t["mode"] == 2 and t["block"] == lb["block"] and
          t["gen"] == lb["gen"] and
          token_ok(0, t, [a for _, a in lb["locs"]]) and
          not token_ok(0, t, [a for _, a in lb["locs"]][::-1] + ["x:1"]))
    e, r = c.add_block(f["ino"], "w2", 0, 0, 0)
    check("add_block by another client is -EPERM", e == -errno.EPERM, r)
    byid = {d.id: d for d in dns}
    for n, _ in lb["locs"]:
        byid[n].received(lb["block"], lb["gen"], 65536)
    e, lb2 = c.add_block(f["ino"], "w1", lb["block"], 65536, 65536,
                         exclude=[lb["locs"][0][0]])
    check("add_block avoids an excluded node", e == 0 and
          lb["locs"][0][0] not in [n for n, _ in lb2["locs"]], lb2)
    e, r = c.add_block(f["ino"], "w1", lb2["block"], 100, 12345)
    check("add_block at the wrong offset is -EINVAL", e == -errno.EINVAL, r)
    e, r = c.complete(f["ino"], "w1", lb2["block"], 100, 65636)
    check("complete waits, then -EAGAIN without replicas",
          e == -errno.EAGAIN, r)
    for n, _ in lb2["locs"]:
        byid[n].received(lb2["block"], lb2["gen"], 100)
    e, r = c.complete(f["ino"], "w1", lb2["block"], 100, 65000)
    check("complete with a size that disagrees is -EINVAL",
          e == -errno.EINVAL, r)
    e, r = c.complete(f["ino"], "w1", lb2["block"], 100, 65636)
    check("complete once replicas are reported", e == 0, r)
    e, a, blocks = c.get_blocks("/data")
    check("get_blocks returns both blocks with two locations",
          e == 0 and a["size"] == 65636 and len(blocks) == 2 and
          all(len(b["locs"]) == 2 for b in blocks) and
          blocks[1]["offset"] == 65536 and blocks[1]["len"] == 100, blocks)
    check("read tokens are valid READ tokens", blocks and all(
        b["token"]["mode"] == 1 and token_ok(0, b["token"]) for b in
        blocks))
    e, a, part = c.get_blocks("/data", 65536, 10)
    check("get_blocks of a range returns the overlapping block",
          e == 0 and [b["block"] for b in part] == [lb2["block"]])
    check("get_blocks of a directory is -EISDIR",
          c.get_blocks("/")[0] == -errno.EISDIR)
    e, files, cur, more = c.fsck("/")
    data = [x for x in files if x["path"] == "/data"]
    check("fsck finds /data healthy", e == 0 and data and
          all(b["status"] == BLK_HEALTHY for b in data[0]["blocks"]),
          files)
    e, rep = c.report()
    check("report lists three live nodes", e == 0 and
          sum(1 for n in rep["nodes"].values() if n["state"] == 1) == 3 and
          rep["blocks"] >= 2, rep)

    # A damaged replica (issue 15): a reader's report makes it suspect
    # (never handed out) and its holder is asked to VERIFY it; the
    # holder's verdict makes it corrupt and the other holder is asked to
    # verify its own; only once that one is verified good is the corrupt
    # replica deleted.  The victim's heartbeats are sent by hand here,
    # so that its block report can be sent in the window a real node
    # has too: after the DELETE is handed out, before the heartbeat that
    # confirms it was carried out (a fake node never deletes anything).
    b0, g0 = blocks[0]["block"], blocks[0]["gen"]
    victim = blocks[0]["locs"][0][0]
    vdn = byid[victim]
    odn = byid[blocks[0]["locs"][1][0]]
    vdn.beating = False
    time.sleep(0.6)     # a background heartbeat may be in flight
    odn.take(CMD_VERIFY)
    e, r = c.call(BAD_BLOCK, w.Payload().u64(b0).u64(g0).u64(victim)
                  .str("test"))
    check("bad_block accepted", e == 0, r)
    e, a, after = c.get_blocks("/data", 0, 1)
    check("the suspect replica is no longer a location",
          e == 0 and [n for n, _ in after[0]["locs"]] ==
          [n for n, _ in blocks[0]["locs"] if n != victim], after)
    e, cmds = vdn.heartbeat()
    check("a reader's report makes its holder verify it, deletes nothing",
          e == 0 and (CMD_VERIFY, b0, g0) in cmds and
          not [x for x in cmds if x[0] == CMD_DELETE], cmds)
    e, r = vdn.verified(b0, g0, 7, "?")
    check("VERIFIED with an unknown result is -EINVAL",
          e == -errno.EINVAL, r)
    e, r = vdn.call(DN_VERIFIED, w.Payload().u64(vdn.id).u64(b0))
    check("a truncated VERIFIED is -EBADMSG", e == -errno.EBADMSG, r)
    e, r = vdn.call(DN_VERIFIED, w.Payload().u64(123456).u64(b0).u64(g0)
                    .u8(VERIFY_BAD).str("x"))
    check("VERIFIED from an unknown node is refused", e != 0, r)
    e, r = vdn.verified(b0, g0, VERIFY_BAD, "test: checksum error")
    check("the holder's verdict (bad) is accepted", e == 0, r)
    dels = []
    for _ in range(4):
        e, cmds = vdn.heartbeat()
        dels += [x for x in cmds if x[0] == CMD_DELETE]
        time.sleep(0.5)
    check("no DELETE before another replica is verified good", not dels,
          dels)
    asked = odn.take(CMD_VERIFY)
    check("the other holder is asked to verify its replica",
          (CMD_VERIFY, b0, g0) in asked, asked)
    e, r = odn.verified(b0, g0, VERIFY_GOOD)
    check("the other holder's verdict (good) is accepted", e == 0, r)
    for _ in range(10):
        vdn.heartbeat()
        dels = vdn.take(CMD_DELETE)
        if dels:
            break
        time.sleep(0.5)
    check("then the node holding the corrupt one is told to delete it",
          (CMD_DELETE, b0, g0) in dels, dels)
    vheld = [(b["block"], b["gen"], b["len"]) for b in blocks
             if victim in [n for n, _ in b["locs"]]]
    check("a block report in that window is accepted",
          vdn.block_report(vheld) == 0)
    e, a, bl = c.get_blocks("/data")
    check("a corrupt replica stays out of a later report", e == 0 and all(
        victim not in [n for n, _ in b["locs"]] for b in bl
        if b["block"] == blocks[0]["block"]), bl)
    vdn.beating = True
    time.sleep(4)
    reps = byid[victim].take(CMD_REPLICATE)
    others = [d for d in dns if d.id != victim]
    reps += sum((d.take(CMD_REPLICATE) for d in others), [])
    check("the under-replicated block is copied to another node",
          any(cmd[1]["block"] == blocks[0]["block"] and
              token_ok(0, cmd[1]["token"],
                       [a for _, a in cmd[1]["locs"]]) for cmd in reps), reps)

    # Block reports: a replica is deleted only on positive knowledge.  A
    # block id below the namenode's counter that the namespace no longer
    # holds was deleted, and an older generation was superseded: both go.
    # An id the namenode has not handed out yet, or a newer generation,
    # is unknown: kept, and listed.  (A node that carried out the DELETE
    # of its corrupt replica no longer reports it.)
    d0 = dns[0]
    held = [(b["block"], b["gen"], b["len"]) for b in blocks
            if d0.id in [n for n, _ in b["locs"]] and
            not (d0.id == victim and b["block"] == blocks[0]["block"])]
    e, tmp = c.create("/gone", client="w9", repl=1)
    e, gb = c.add_block(tmp["ino"], "w9", 0, 0, 0)
    check("a block is made and its file deleted",
          e == 0 and c.delete("/gone") == 0, gb)
    time.sleep(1.5)     # the DELETE for its holder is taken now
    for d in dns:
        d.take(CMD_DELETE)
    extra = [(999999, 1, 10), (blocks[1]["block"], 1, 100),
             (blocks[1]["block"], blocks[1]["gen"] + 7, 100),
             (gb["block"], gb["gen"], 10)]
    check("a block report is accepted", d0.block_report(held + extra) == 0)
    time.sleep(1.5)
    dels = d0.take(CMD_DELETE)
    check("a deleted block in a report is deleted",
          (CMD_DELETE, gb["block"], gb["gen"]) in dels, dels)
    check("a stale generation in a report is deleted",
          (CMD_DELETE, blocks[1]["block"], 1) in dels, dels)
    check("an id not handed out yet is kept, not deleted",
          not [d for d in dels if d[1] == 999999], dels)
    check("a generation newer than the namespace's is kept",
          (CMD_DELETE, blocks[1]["block"], blocks[1]["gen"] + 7)
          not in dels, dels)
    e, a, bl = c.get_blocks("/data")
    check("replicas in the report still count", e == 0 and all(
        d0.id in [n for n, _ in b["locs"]] for b in bl
        if (b["block"], b["gen"], b["len"]) in held), bl)
    e, rep = c.report()
    check("report counts the node's unknown replicas",
          e == 0 and rep["nodes"][d0.id]["unknown"] == 2, rep)
    check("received for an unknown block is answered",
          d0.received(888888, 5, 7) == 0)
    time.sleep(1.5)
    check("and the block is kept",
          not [d for d in d0.take(CMD_DELETE) if d[1] == 888888])

    # A report of several parts is one report: replicas named in any part
    # count, and only the last part drops the ones not named at all.
    e, a, bl = c.get_blocks("/data")
    before = [b for b in bl if d0.id in [n for n, _ in b["locs"]]]
    check("a report in one-replica parts is accepted",
          d0.block_report(held + [(777777, 1, 1)] * 3, per_part=1) == 0)
    e, a, bl = c.get_blocks("/data")
    check("after it the same replicas count",
          [b["block"] for b in bl if d0.id in [n for n, _ in b["locs"]]]
          == [b["block"] for b in before], (before, bl))
    d0.reports += 1
    e1 = d0.report_part(d0.reports, 0, 3, [])[0]
    e2 = d0.report_part(d0.reports, 2, 3, [])[0]
    check("a report part out of order is refused",
          e1 == 0 and e2 == -errno.EPROTO, (e1, e2))
    e3 = d0.report_part(d0.reports + 5, 1, 3, [])[0]
    check("a part of another report midway is refused",
          e3 == -errno.EPROTO, e3)
    e4 = d0.report_part(d0.reports, 0, 0, [])[0]
    e5 = d0.report_part(d0.reports, 3, 3, [])[0]
    check("part counts of 0 or past the end are refused",
          e4 == -errno.EINVAL and e5 == -errno.EINVAL, (e4, e5))
    e6 = d0.report_part(d0.reports, 0, 1 << 20, [])[0]
    check("more parts than a report may have are refused",
          e6 == -errno.EINVAL, e6)
    p = w.Payload().str(d0.cluster).u64(d0.id).u64(1).u32(0).u32(1) \
        .u32(16385)
    for i in range(16385):
        p.u64(i + 1).u64(1).u64(1).u8(0)
    e7 = d0.call(DN_BLOCK_REPORT, p)[0]
    check("a part of more than 16384 replicas is refused",
          e7 == -errno.EBADMSG, e7)
    check("after those refusals a whole report still works",
          d0.block_report(held) == 0)
    e, a, bl = c.get_blocks("/data")
    check("and its replicas count", e == 0 and all(
        d0.id in [n for n, _ in b["locs"]] for b in bl
        if (b["block"], b["gen"], b["len"]) in held), bl)

    # Cluster identity: a node of another cluster is refused everywhere.
    other = "0badc0de-0000-4000-8000-000000000000"
    alien = FakeDN(addr, "uuid-alien", "127.0.0.1:40999")
    e, r = alien.register(cluster=other)
    check("REGISTER from another cluster is -EXDEV", e == -errno.EXDEV, r)
    alien.nn.close()
    e, r = d0.heartbeat(cluster=other)
    check("HEARTBEAT with another cluster id is -EXDEV",
          e == -errno.EXDEV, r)
    e, r = d0.heartbeat(cluster="")
    check("HEARTBEAT without a cluster id is -EXDEV",
          e == -errno.EXDEV, r)
    e = d0.report_part(99, 0, 1, [(999999, 1, 10)], cluster=other)[0]
    check("BLOCK_REPORT with another cluster id is -EXDEV",
          e == -errno.EXDEV, e)
    check("the joined cluster id is a uuid", len(d0.cluster) == 36 and
          all(d.cluster == d0.cluster for d in dns), d0.cluster)

    # An array: its metadata when blocks fall on element boundaries.
    hdr = npy_header((1000, 3))
    size = len(hdr) + 1000 * 3 * 8
    e, r = write_file(c, byid, "/arr.npy", "w4", [4096] * 5 +
                      [size - 5 * 4096], hdr)
    e2, a = c.stat("/arr.npy")
    check("a .npy file gets its array metadata", e == 0 and e2 == 0 and
          a["npy"] is not None and a["npy"]["shape"] == (1000, 3) and
          a["npy"]["descr"] == "<f8" and a["npy"]["itemsize"] == 8 and
          a["npy"]["data_offset"] == len(hdr) and a["nblocks"] == 6,
          (r, a))
    e, r = write_file(c, byid, "/plain.npy", "w5", [4092] + [4096] * 4 +
                      [size - 4092 - 4 * 4096], hdr)
    e2, a = c.stat("/plain.npy")
    check("a .npy split mid-element is plain bytes",
          e == 0 and e2 == 0 and a["npy"] is None and a["size"] == size,
          (r, a))
    e, r = write_file(c, byid, "/short.npy", "w5", [4096] * 5 +
                      [size - 8 - 5 * 4096], hdr)
    e2, a = c.stat("/short.npy")
    check("a .npy shorter than its header says is plain bytes",
          e == 0 and e2 == 0 and a["npy"] is None, (r, a))

    # fsck: pages, a subtree, one file, and what replication changes.
    e, whole, cur, more = c.fsck("/")
    paths, cursor, pages = [], 0, 0
    while pages < 100:
        e1, files, cursor, more1 = c.fsck("/", cursor, 1)
        if e1:
            break
        paths += [x["path"] for x in files]
        pages += 1
        if not more1:
            break
    check("fsck pages of one file list every file once",
          e == 0 and more == 0 and
          paths == [x["path"] for x in whole] and len(paths) == len(set(
              paths)) and {"/arr.npy", "/keep/file", "/early"} <= set(paths),
          (paths, [x["path"] for x in whole]))
    check("fsck reports a file being written as such",
          [x["state"] for x in whole if x["path"] == "/early"] == [1])
    e, sub, _, _ = c.fsck("/keep")
    check("fsck of a directory covers only its subtree",
          e == 0 and [x["path"] for x in sub] == ["/keep/file"], sub)
    e, one, _, more = c.fsck("/arr.npy")
    check("fsck of a file is that file, every block healthy",
          e == 0 and more == 0 and len(one) == 1 and
          len(one[0]["blocks"]) == 6 and
          all(b["status"] == BLK_HEALTHY and len(b["reps"]) == 1 and
              b["reps"][0][2] == 0 for b in one[0]["blocks"]), one)
    check("set_repl of a directory is -EISDIR", c.call(
        SET_REPL, w.Payload().str("/keep").u16(2))[0] == -errno.EISDIR)
    check("set_repl 0 is -EINVAL", c.call(
        SET_REPL, w.Payload().str("/arr.npy").u16(0))[0] == -errno.EINVAL)
    e = c.call(SET_REPL, w.Payload().str("/arr.npy").u16(2))[0]
    e2, one, _, _ = c.fsck("/arr.npy")
    check("after set_repl 2 its blocks are under-replicated",
          e == 0 and e2 == 0 and one[0]["repl"] == 2 and
          all(b["status"] == BLK_UNDER for b in one[0]["blocks"]), one)
    e, rep = c.report()
    check("report counts the under-replicated blocks",
          e == 0 and rep["under"] >= 6, rep)

    # Deleting a file sends its blocks' DELETE to their holders.
    holders = {n for b in blocks for n, _ in b["locs"]}
    check("delete /data", c.delete("/data") == 0)
    time.sleep(1.5)
    got = set()
    for d in dns:
        for cmd in d.take(CMD_DELETE):
            if cmd[1] in (blocks[0]["block"], blocks[1]["block"]):
                got.add(d.id)
    check("its blocks are deleted on the nodes that held them",
          holders - {victim} <= got, (holders, got))

    # An abandoned block goes; add_block can then retry the slot.
    e, af = c.create("/ab", client="w6", repl=1)
    e, x = c.add_block(af["ino"], "w6", 0, 0, 0)
    e1 = c.call(ABANDON, w.Payload().u64(af["ino"]).str("w6")
                .u64(x["block"]))[0]
    e, y = c.add_block(af["ino"], "w6", 0, 0, 0)
    check("abandon drops the block and a new one takes its place",
          e1 == 0 and e == 0 and y["block"] != x["block"])
    full_node(c, dns)

    # A silent node dies; when it speaks again it must register.
    quiet = dns[2]
    quiet.beating = False
    time.sleep(6)
    e, rep = c.report()
    check("a silent node is declared dead", e == 0 and
          rep["nodes"][quiet.id]["state"] == 2, rep and rep["nodes"])
    e, cmds = quiet.heartbeat()
    check("a dead node's heartbeat gets REREGISTER",
          e == 0 and cmds == [(CMD_REREGISTER,)], cmds)
    e, cmds = dns[0].heartbeat(node=12345)
    check("an unknown node's heartbeat gets REREGISTER",
          e == 0 and cmds == [(CMD_REREGISTER,)], cmds)
    check("it registers again with the same id",
          quiet.register()[0] == 0 and quiet.id == dns[2].id)
    quiet.beating = True
    stop.set()
    beater.join()
    for d in dns:
        d.nn.close()
    c.close()


def persist(addr, step):
    c = NN(addr)
    e, a = c.stat("/keep/deep")
    check("after restart %s: directories survive" % step,
          e == 0 and a["type"] == 2)
    e, a = c.stat("/keep/file")
    check("after restart %s: files survive" % step,
          e == 0 and a["type"] == 1 and a["uc"] == 0)
    check("after restart %s: deleted trees stay deleted" % step,
          c.stat("/a")[0] == -errno.ENOENT)
    if step == "1":
        check("a directory made before kill -9", c.mkdir("/k9") == 0)
    else:
        check("a directory made before kill -9 survived it",
              c.stat("/k9")[0] == 0)
    e, rep = c.report()
    check("after restart %s: nodes are known but not live" % step,
          e == 0 and rep["nodes"] and
          all(n["state"] == 2 and n["ms"] == -1
              for n in rep["nodes"].values()), rep)
    c.close()


ONCE = 163


def once(addr):
    """A request wrapped in ONCE (client id, sequence number) is applied
    once however often it comes; a bad wrapper is refused."""
    c = NN(addr)
    client = int.from_bytes(os.urandom(8), "little") | 1

    def wrapped(seq, mtype, p):
        return c.call(ONCE, w.Payload().u64(client).u64(seq).u16(mtype)
                      .raw(p.bytes()).bytes())

    mk = w.Payload().str("/once").u32(0o755).u32(0).u32(0).u8(0)
    check("ONCE MKDIR: done", wrapped(1, MKDIR, mk)[0] == 0)
    e, _ = wrapped(1, MKDIR, mk)
    check("the same pair again: the first answer, not EEXIST", e == 0, e)
    e, _ = wrapped(2, MKDIR, mk)
    check("a new sequence number runs again: EEXIST", e == -errno.EEXIST, e)
    e, names, _ = c.list("/once")
    check("the directory is there once, empty", e == 0 and names == [],
          (e, names))
    # A reply with a payload comes back the same, and nothing is made
    # twice: a rename retried after it happened answers OK, not ENOENT.
    cr = w.Payload().str("/once/f").u32(0o644).u32(0).u32(0).u16(0) \
        .u64(0).u8(0).str("once-client")
    e1, r1 = wrapped(3, CREATE, cr)
    e2, r2 = wrapped(3, CREATE, cr)
    check("ONCE CREATE twice: the same attributes both times",
          e1 == 0 and e2 == 0 and get_attr(r1) == get_attr(r2), (e1, e2))
    rn = w.Payload().str("/once/f").str("/once/g").u32(0)
    check("ONCE RENAME", wrapped(4, RENAME, rn)[0] == 0)
    check("ONCE RENAME retried: OK, not ENOENT", wrapped(4, RENAME, rn)[0] == 0)
    e, names, _ = c.list("/once")
    check("one file, renamed", e == 0 and names == ["g"], (e, names))
    dl = w.Payload().str("/once/g").u8(0)
    check("ONCE DELETE", wrapped(5, DELETE, dl)[0] == 0)
    check("ONCE DELETE retried: OK", wrapped(5, DELETE, dl)[0] == 0)
    # Another client's pair with the same numbers is its own.
    other = NN(addr)
    e, _ = other.call(ONCE, w.Payload().u64(client ^ 2).u64(1).u16(MKDIR)
                      .raw(mk.bytes()).bytes())
    check("another client's pair: runs, EEXIST", e == -errno.EEXIST, e)
    other.close()
    # Hostile wrappers.
    e, _ = c.call(ONCE, w.Payload().u64(client).u32(7).bytes())
    check("a truncated ONCE gets -EBADMSG", e == -errno.EBADMSG, e)
    e, _ = c.call(ONCE, w.Payload().u64(client).u64(9).u16(ONCE)
                  .u64(client).u64(9).u16(MKDIR).raw(mk.bytes()).bytes())
    check("ONCE inside ONCE gets -EBADMSG", e == -errno.EBADMSG, e)
    e, _ = c.call(ONCE, w.Payload().u64(client).u64(10).u16(0x7777)
                  .bytes())
    check("ONCE of an unknown type gets -ENOSYS", e == -errno.ENOSYS, e)
    e, _ = c.call(ONCE, w.Payload().u64(client).u64(11).u16(DN_HEARTBEAT)
                  .bytes())
    check("ONCE of a data node's request from a client: -EACCES",
          e == -errno.EACCES, e)
    e, _ = wrapped(12, MKDIR, w.Payload().str("/once/x"))
    check("ONCE of a truncated MKDIR gets -EBADMSG", e == -errno.EBADMSG, e)
    check("the connection still serves", c.stat("/once")[0] == 0)
    c.close()


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: nn_hostile.py main ADDR | persist ADDR STEP")
    mode, addr = sys.argv[1], sys.argv[2]
    try:
        if mode == "main":
            hostile(addr)
            once(addr)
            namespace(addr)
            blockmap(addr)
        else:
            persist(addr, sys.argv[3])
    except Exception as ex:  # a crash of the test is a failure, not a pass
        import traceback
        traceback.print_exc()
        check("the checks ran to the end", False, ex)
    sys.exit(1 if w.failed else 0)


if __name__ == "__main__":
    main()
