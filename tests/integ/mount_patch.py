"""mount_patch.py: the parts of mount-patch.sh that need Python.

    mount_patch.py seq FILE EXPECT SIZE SEED       write FILE sequentially,
                                                   EXPECT the same bytes
    mount_patch.py random FILE FILE2 EXPECT N SEED N random writes of 4-64
                                                   KiB into FILE, an fsync
                                                   every 16; after each,
                                                   FILE2 (the same file in a
                                                   second mount) is opened
                                                   again and must read as
                                                   EXPECT does
    mount_patch.py grow FILE FILE2 EXPECT SEED     appends inside the last
                                                   block, each fsync'ed and
                                                   read back through FILE2
    mount_patch.py same FILE EXPECT                FILE reads as EXPECT
    mount_patch.py hostile CONF PATH OTHER MNT     PATCH_BLOCK refused for
                                                   what it must refuse (MNT:
                                                   a low-level mount)

Prints one "ok - ..." or "not ok - ..." line per check.
"""
import os
import random
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."),
                                "tests", "lib"))
import npdfs_wire as w  # noqa: E402

PATCH_BLOCK, LBLOCK, STAT, ATTR, GET_BLOCKS, BLOCKS = (
    131, 107, 101, 102, 110, 111)
def read_all(path):
    with open(path, "rb") as f:
        return f.read()


def seq(path, expect, size, seed):
    data = random.Random(seed).randbytes(size)
    with open(path, "wb") as f:
        for o in range(0, size, 1 << 20):
            f.write(data[o:o + (1 << 20)])
    with open(expect, "wb") as f:
        f.write(data)
    w.ok("a %d-byte file written sequentially reads back" % size,
          read_all(path) == data)


def first_diff(a, b):
    if len(a) != len(b):
        return "length %d, wanted %d" % (len(a), len(b))
    for i in range(0, len(a), 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            return "differs in the 4 KiB at %d" % i
    return "?"


def rand_writes(path, path2, expect, n, seed):
    rnd = random.Random(seed)
    want = bytearray(read_all(expect))
    size = len(want)
    bad = []
    fsyncs = 0
    with open(path, "r+b", buffering=0) as f:
        for i in range(1, n + 1):
            ln = rnd.randrange(4096, 65537)
            off = rnd.randrange(0, size - ln + 1)
            buf = rnd.randbytes(ln)
            os.pwrite(f.fileno(), buf, off)
            want[off:off + ln] = buf
            if i % 16 == 0:
                os.fsync(f.fileno())
                fsyncs += 1
                got = read_all(path2)
                if got != want:
                    bad.append("after fsync %d: %s" % (fsyncs,
                               first_diff(got, bytes(want))))
    with open(expect, "wb") as e:
        e.write(want)
    w.ok("%d random writes, %d fsyncs: the second mount reads every fsync's "
          "bytes" % (n, fsyncs), not bad, "; ".join(bad[:3]))


def grow(path, path2, expect, seed):
    """Appends inside the last block, each fsync'ed and read back through
    the second mount."""
    rnd = random.Random(seed)
    want = bytearray(read_all(expect))
    bad = []
    with open(path, "r+b", buffering=0) as f:
        for ln in (1000, 200000, 65536):
            buf = rnd.randbytes(ln)
            os.pwrite(f.fileno(), buf, len(want))
            want += buf
            os.fsync(f.fileno())
            got = read_all(path2)
            if got != want:
                bad.append("after %d more bytes: %s" % (
                    ln, first_diff(got, bytes(want))))
    with open(expect, "wb") as e:
        e.write(want)
    w.ok("3 appends inside the last block, each fsync'ed, read back "
          "through the second mount", not bad, "; ".join(bad))


def same(path, expect):
    got, want = read_all(path), read_all(expect)
    w.ok("%s reads the latest bytes" % path, got == want,
          first_diff(got, want))


def patch_block(c, ino, client, block, gen, new_len):
    return c.call(PATCH_BLOCK, w.Payload().u64(ino).str(client).u64(block)
                  .u64(gen).u64(new_len))


def refused(desc, reply, want_errno):
    t, p = reply
    if t != w.MSG_ERROR:
        w.ok(desc, False, "answered type %d" % t)
        return
    e, msg = w.error_of(p)
    w.ok("%s: %s" % (desc, msg), e == -want_errno, "errno %d" % e)


def block_state(c, path, tokens=None):
    """(ino, size, [(block, gen, len)]) of path, from GET_BLOCKS; each
    block's token appended to tokens when given."""
    t, p = c.call(GET_BLOCKS, w.Payload().str(path).u64(0).u64(1 << 62))
    if t != BLOCKS:
        raise RuntimeError("GET_BLOCKS %s: %s" % (path, w.error_of(p)))
    r = w.Reader(p)
    ino, _ = r.u64(), r.u8()
    r.u32(), r.u32(), r.u32()
    size = r.u64()
    r.i64(), r.i64(), r.i64(), r.u32(), r.u16(), r.u64(), r.u8(), r.u32()
    if r.u8():
        r.str(), r.u8()
        for _ in range(r.u8()):
            r.u64()
        r.u64(), r.u32(), r.u64()
    blocks = []
    for _ in range(r.u32()):
        b, g, _, ln = r.u64(), r.u64(), r.u64(), r.u64()
        for _ in range(r.u32()):
            r.u64(), r.str()
        tok = w.get_token(r)
        if tokens is not None:
            tokens.append(tok)
        blocks.append((b, g, ln))
    return ino, size, blocks


def hostile(conf, path, other, mnt):
    import errno
    nn = w.read_conf(conf)["namenode.address"]
    host, port = nn.rsplit(":", 1)
    c = w.Conn(host, int(port))
    before = block_state(c, path)
    ino, _, blocks = before
    oino = block_state(c, other)[0]
    block, gen, ln = blocks[-1]
    refused("PATCH_BLOCK without a client name", patch_block(
        c, ino, "", block, gen, ln), errno.EINVAL)
    refused("PATCH_BLOCK for a block of another file", patch_block(
        c, oino, "hostile-a", block, gen, ln), errno.EINVAL)
    refused("PATCH_BLOCK with an old generation that is not current",
            patch_block(c, ino, "hostile-a", block, gen - 1, ln),
            errno.ESTALE)
    refused("PATCH_BLOCK with a length that shrinks the block",
            patch_block(c, ino, "hostile-a", block, gen, ln - 1),
            errno.EINVAL)
    refused("PATCH_BLOCK of a block that is not the file's last, growing",
            patch_block(c, ino, "hostile-a", blocks[0][0], blocks[0][1],
                        blocks[0][2] + 1), errno.EINVAL)
    refused("PATCH_BLOCK of an unknown inode", patch_block(
        c, 1 << 40, "hostile-a", block, gen, ln), errno.ENOENT)
    t, p = patch_block(c, ino, "hostile-a", block, gen, ln)
    w.ok("a first client gets a new generation (and the file's patch "
          "lease)", t == LBLOCK, w.error_of(p) if t == w.MSG_ERROR else t)
    refused("PATCH_BLOCK from another client meanwhile", patch_block(
        c, ino, "hostile-b", block, gen, ln), errno.EPERM)
    w.ok("nothing changed on the namenode (no replica was patched)",
          block_state(c, path) == before, block_state(c, path))
    # A file being written (a stream of the mount, under construction).
    with open(os.path.join(mnt, "uc"), "wb") as f:
        f.write(b"x" * (1 << 20))
        f.flush()
        ino = os.fstat(f.fileno()).st_ino
        refused("PATCH_BLOCK of a file under construction", patch_block(
            c, ino, "hostile-a", block, gen, ln), errno.EBUSY)
    c.close()


def main():
    part = sys.argv[1]
    a = sys.argv[2:]
    if part == "seq":
        seq(a[0], a[1], int(a[2]), int(a[3]))
    elif part == "random":
        rand_writes(a[0], a[1], a[2], int(a[3]), int(a[4]))
    elif part == "grow":
        grow(a[0], a[1], a[2], int(a[3]))
    elif part == "same":
        same(a[0], a[1])
    elif part == "hostile":
        hostile(a[0], a[1], a[2], a[3])
    sys.exit(1 if w.failed else 0)


if __name__ == "__main__":
    main()
