#!/usr/bin/env python3
"""dn_token.py: block tokens, checksums and hostile input at real data nodes.

Run by dn-token.sh, which starts two data nodes (A and B) whose fake
namenode hands them one token key, and passes their addresses, data
directories, that key's file, two users' certificates and a host's that
speaks for uids 1000-1999.  Tokens are
signed here with the key exactly as the namenode signs them (lib/token.c,
doc/protocol.md section 10); CRC32C is computed here, independently of the
C code.  Prints "ok - ..." per check and "N passed, M failed";
exits 0 only when nothing failed.
"""
import argparse
import errno
import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import npdfs_wire as w  # noqa: E402

CHUNK = 4096
PACKET = 128 * 1024
DX_RESUME = 307     # lib/proto.h

check, expect = w.check, w.expect


def hostport(addr):
    host, port = addr.rsplit(":", 1)
    return host, int(port)


def connect(addr, hello=True, conf=None):
    h, p = hostport(addr)
    return w.Conn(h, p, timeout=15.0, hello=hello, conf=conf)


def dir_digest(d):
    """sha256 over the sorted names and contents of current/."""
    cur = os.path.join(d, "current")
    h = hashlib.sha256()
    for name in sorted(os.listdir(cur)):
        h.update(name.encode() + b"\0")
        with open(os.path.join(cur, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def tmp_empty(d, wait=3.0):
    """Whether tmp/ is empty, allowing the node a moment to clean up."""
    deadline = time.time() + wait
    while True:
        left = os.listdir(os.path.join(d, "tmp"))
        if not left or time.time() > deadline:
            return not left
        time.sleep(0.05)


def tmp_kept(d, block, gen):
    """Whether tmp/ holds the interrupted write of (block, gen), its
    data and checksum files: a write whose stream broke elsewhere is kept
    for a RESUME (pipeline recovery) rather than discarded at once."""
    left = os.listdir(os.path.join(d, "tmp"))
    pfx = "blk_%d_%d." % (block, gen)
    return len([f for f in left if f.startswith(pfx)]) == 2


def block_files(d, block, gen):
    cur = os.path.join(d, "current")
    return [os.path.join(cur, "blk_%d_%d%s" % (block, gen, s))
            for s in ("", ".meta")]


def error_reply(conn):
    """(errno, message) of the ERROR the node must send next."""
    t, p = conn.recv()
    expect(t == w.MSG_ERROR, "expected ERROR, got type %d" % t)
    return w.error_of(p)


def error_failed(conn):
    """(errno, message, failed) of the ERROR the node must send next.
    failed is the trailing u32 a WRITE or RESUME refusal carries, naming
    the node that refused counted from this one (lib/proto.h), or None
    when the ERROR has no trailing bytes, as every other ERROR."""
    t, p = conn.recv()
    expect(t == w.MSG_ERROR, "expected ERROR, got type %d" % t)
    r = w.Reader(p)
    e, msg = r.i32(), r.str()
    rest = p[r.off:]
    expect(len(rest) in (0, 4), "%d stray bytes after the ERROR" % len(rest))
    return e, msg, w.Reader(rest).u32() if rest else None


def write_block(addr, tok, block, gen, data, downstream=(), chunk=CHUNK,
                packet=PACKET):
    """Write a whole block; returns the acks [(seqno, status, failed,
    msg)]."""
    c = connect(addr)
    try:
        c.send_raw(w.frame(w.DX_WRITE, w.write_request(
            tok, block, gen, chunk, downstream), 7))
        t, p = c.recv()
        if t == w.MSG_ERROR:
            raise RuntimeError("WRITE refused: %d %s" % w.error_of(p))
        expect(t == w.MSG_OK, "WRITE answered with type %d" % t)
        offs = list(range(0, len(data), packet)) or [0]
        for seq, off in enumerate(offs):
            last = seq == len(offs) - 1
            c.send_raw(w.frame(w.DX_PACKET, w.packet_payload(
                seq, off, last, data[off:off + packet], chunk), 100 + seq))
        acks = []
        for _ in offs:
            t, p = c.recv()
            expect(t == w.DX_ACK, "expected ACK, got type %d" % t)
            acks.append(w.parse_ack(p))
        return acks
    finally:
        c.close()


def read_block(addr, tok, block, gen, off, length, conn=None, conf=None):
    """Read a range; returns (bytes covering it, list of DATA frames)."""
    c = conn or connect(addr, conf=conf)
    try:
        c.send_raw(w.frame(w.DX_READ, w.read_request(tok, block, gen, off,
                                                     length), 9))
        frames = []
        while True:
            t, p = c.recv()
            if t == w.MSG_ERROR:
                raise RuntimeError("READ refused: %d %s" % w.error_of(p))
            expect(t == w.DX_DATA, "expected DATA, got type %d" % t)
            fo, chunk, crcs, data = w.parse_data(p)
            if not data:
                expect(not crcs and chunk and fo % chunk == 0,
                       "end DATA at offset %d, chunk %d" % (fo, chunk))
                break
            frames.append((fo, chunk, crcs, data))
        return frames
    finally:
        if conn is None:
            c.close()


def frames_cover(frames, data, off, length):
    """Check DATA frames: chunk-aligned, stored CRCs right, bytes equal to
    data, covering [off, off + length)."""
    end = min(off + length, len(data))
    expect(frames, "no DATA frames")
    pos = frames[0][0]
    expect(pos <= off and pos % CHUNK == 0,
           "first frame at %d for offset %d" % (pos, off))
    for fo, chunk, crcs, fdata in frames:
        expect(chunk == CHUNK, "chunk size %d" % chunk)
        expect(fo == pos, "frame at %d, expected %d" % (fo, pos))
        expect(len(fdata) <= 1 << 20, "frame of %d bytes" % len(fdata))
        expect(fdata == data[fo:fo + len(fdata)],
               "bytes differ in frame at %d" % fo)
        expect(crcs == w.chunk_crcs(fdata, CHUNK),
               "stored CRCs differ in frame at %d" % fo)
        pos += len(fdata)
    expect(pos >= end, "frames end at %d, wanted %d" % (pos, end))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", required=True)
    ap.add_argument("--alice", required=True, help="uid 1001's config")
    ap.add_argument("--bob", required=True, help="uid 1002's config")
    ap.add_argument("--host", required=True,
                    help="config of a host speaking for uids 1000-1999")
    ap.add_argument("--node-a", required=True)
    ap.add_argument("--dir-a", required=True)
    ap.add_argument("--node-b", required=True)
    ap.add_argument("--dir-b", required=True)
    ap.add_argument("--closed", required=True,
                    help="host:port where nothing listens")
    a = ap.parse_args()
    secret = w.load_keys(a.keys)
    A, B = a.node_a, a.node_b
    data = os.urandom(300000)          # 3 packets, short last chunk
    blk, gen = 1001, 7
    rtok = w.sign_token(secret, blk, gen, w.TOKEN_READ)

    def crc_oracle():
        expect(w.crc32c(b"123456789") == 0xE3069283, "CRC32C check value")

    def valid_write():
        tok = w.sign_token(secret, blk, gen, w.TOKEN_WRITE,
                           targets=[A])
        acks = write_block(A, tok, blk, gen, data)
        expect([x[0] for x in acks] == [0, 1, 2], "ack seqnos %r" % acks)
        expect(all(x[1] == 0 for x in acks), "ack status %r" % acks)
        d, m = block_files(a.dir_a, blk, gen)
        with open(d, "rb") as f:
            expect(f.read() == data, "block file differs from data")
        with open(m, "rb") as f:
            meta = f.read()
        expect(meta[:4] == b"NPDM", "sidecar magic")
        r = w.Reader(meta[4:24])
        ver, zero, chunk, length, hcrc = (r.u16(), r.u16(), r.u32(),
                                          r.u64(), r.u32())
        expect((ver, zero, chunk, length) == (1, 0, CHUNK, len(data)),
               "sidecar header %r" % ((ver, zero, chunk, length),))
        expect(hcrc == w.crc32c(meta[:20]), "sidecar header CRC")
        crcs = [w.Reader(meta[i:i + 4]).u32()
                for i in range(24, len(meta), 4)]
        expect(crcs == w.chunk_crcs(data, CHUNK), "sidecar CRCs")
        expect(tmp_empty(a.dir_a), "tmp/ not empty after a write")

    def valid_read():
        frames = read_block(A, rtok, blk, gen, 0, len(data))
        expect(b"".join(f[3] for f in frames) == data, "bytes differ")
        frames_cover(frames, data, 0, len(data))

    def partial_reads_one_conn():
        c = connect(A)
        try:
            for off, n in ((5000, 10000), (0, 1), (299999, 50),
                           (131072, 1 << 20), (4095, 2)):
                frames_cover(read_block(A, rtok, blk, gen, off, n, c),
                             data, off, n)
        finally:
            c.close()

    def read_missing_block():
        tok = w.sign_token(secret, 424242, 1, w.TOKEN_READ)
        c = connect(A)
        try:
            c.send_raw(w.frame(w.DX_READ, w.read_request(tok, 424242, 1, 0,
                                                         10)))
            e, msg = error_reply(c)
            expect(e == -errno.ENOENT and "no such block" in msg,
                   "got %d %r" % (e, msg))
        finally:
            c.close()

    def read_beyond_end():
        c = connect(A)
        try:
            c.send_raw(w.frame(w.DX_READ, w.read_request(
                rtok, blk, gen, len(data) + 1, 10)))
            e, msg = error_reply(c)
            expect(e == -errno.EINVAL and "beyond the end" in msg,
                   "got %d %r" % (e, msg))
        finally:
            c.close()

    check("crc32c oracle matches the standard check value", crc_oracle)
    check("valid write token stores a 3-packet block with its sidecar",
          valid_write)
    check("valid read token reads back identical bytes and CRCs",
          valid_read)
    check("several partial READs on one connection", partial_reads_one_conn)
    check("READ of a block the node lacks: ENOENT no such block",
          read_missing_block)
    check("READ past the end of the block: EINVAL", read_beyond_end)

    # Tokens name their user: a user's certificate may present only its
    # own uid's tokens; the superuser's (and a host's) any.
    BOB = 1002

    def bobs_token_by(conf):
        return read_block(A, w.sign_token(secret, blk, gen, w.TOKEN_READ,
                                          uid=BOB), blk, gen, 0, len(data),
                          conf=conf)

    def bob_reads_his_own():
        frames = bobs_token_by(a.bob)
        expect(b"".join(f[3] for f in frames) == data, "bytes differ")

    def alice_presents_bobs():
        try:
            bobs_token_by(a.alice)
        except RuntimeError as ex:
            msg = str(ex)
            expect(("%d " % -errno.EACCES) in msg and "uid 1002" in msg and
                   "alice" in msg, msg)
            return
        raise AssertionError("alice read with bob's token")

    def write_refused(block, uid, conf):
        """A WRITE with a token issued to uid, under conf's certificate:
        EACCES naming the uid, and no block file made."""
        tok = w.sign_token(secret, block, 1, w.TOKEN_WRITE, uid=uid,
                           targets=[A])
        c = connect(A, conf=conf)
        try:
            c.send_raw(w.frame(w.DX_WRITE, w.write_request(
                tok, block, 1, CHUNK), 7))
            e, msg = error_reply(c)
            expect(e == -errno.EACCES and "uid %d" % uid in msg, msg)
        finally:
            c.close()
        expect(not os.path.exists(block_files(a.dir_a, block, 1)[0]),
               "a block file was created")

    def alice_writes_with_bobs():
        write_refused(5551, BOB, a.alice)

    def root_presents_bobs():
        bobs_token_by(None)

    check("bob's certificate reads with a token issued to bob",
          bob_reads_his_own)
    check("alice's certificate with bob's read token: EACCES, says whose",
          alice_presents_bobs)
    check("alice's certificate with bob's write token: EACCES, no block",
          alice_writes_with_bobs)
    check("the superuser's certificate may present bob's token",
          root_presents_bobs)

    # A host's certificate (uids=1000-1999 here) may present the tokens
    # of the uids it speaks for, and no other's, uid 0's included.
    def host_reads_as(uid):
        return read_block(A, w.sign_token(secret, blk, gen, w.TOKEN_READ,
                                          uid=uid), blk, gen, 0, len(data),
                          conf=a.host)

    def host_presents_its_uids():
        for uid in (1000, BOB, 1999):
            frames = host_reads_as(uid)
            expect(b"".join(f[3] for f in frames) == data,
                   "bytes differ for uid %d" % uid)

    def host_refused(uid):
        def fn():
            try:
                host_reads_as(uid)
            except RuntimeError as ex:
                msg = str(ex)
                expect(("%d " % -errno.EACCES) in msg and
                       ("issued to uid %d," % uid) in msg and
                       "host mnt" in msg and "1000-1999" in msg, msg)
                return
            raise AssertionError("the host read with uid %d's token" % uid)
        return fn

    def host_writes_outside():
        write_refused(5552, 3000, a.host)

    check("a host of uids 1000-1999 reads with tokens of uids 1000, 1002, "
          "1999", host_presents_its_uids)
    check("... with uid 3000's read token: EACCES, names the host, its uids",
          host_refused(3000))
    check("... with uid 2000's (just past its range): EACCES",
          host_refused(2000))
    check("... with uid 0's: EACCES (root squash)", host_refused(0))
    check("... with uid 3000's write token: EACCES, no block",
          host_writes_outside)

    before = dir_digest(a.dir_a)
    nblk, ngen = 2002, 3
    now = int(time.time())
    good_w = w.sign_token(secret, nblk, ngen, w.TOKEN_WRITE, targets=[A])
    forged = dict(good_w, mac=bytes([good_w["mac"][0] ^ 1]) +
                  good_w["mac"][1:])
    refusals = [
        ("no token (zeroed)", w.zero_token(), "token refused"),
        ("forged mac", forged, "bad signature"),
        ("token for another block",
         w.sign_token(secret, nblk + 1, ngen, w.TOKEN_WRITE,
                      targets=[A]),
         "another block"),
        ("token for another generation",
         w.sign_token(secret, nblk, ngen + 1, w.TOKEN_WRITE,
                      targets=[A]),
         "another block"),
        ("expired token",
         w.sign_token(secret, nblk, ngen, w.TOKEN_WRITE, expiry=now - 10,
                      targets=[A]),
         "expired"),
        ("token under a retired key",
         w.sign_token(secret, nblk, ngen, w.TOKEN_WRITE,
                      key_id=secret[0][0] ^ 0x5a5a, targets=[A]), "key"),
        ("read token used to write",
         w.sign_token(secret, nblk, ngen, w.TOKEN_READ, targets=[A]),
         "does not grant"),
        ("token for the pipeline A -> B used for A alone",
         w.sign_token(secret, nblk, ngen, w.TOKEN_WRITE, targets=[A, B]),
         "pipeline it does not name"),
        ("token for a pipeline without A",
         w.sign_token(secret, nblk, ngen, w.TOKEN_WRITE, targets=[B]),
         "pipeline it does not name"),
    ]

    def refused_write(tok, words):
        def fn():
            c = connect(A)
            try:
                c.send_raw(w.frame(w.DX_WRITE, w.write_request(
                    tok, nblk, ngen, CHUNK)))
                e, msg, fail = error_failed(c)
                expect(e == -errno.EACCES, "errno %d, message %r" % (e, msg))
                expect(fail == 0, "failed = %r, not this node's 0" % fail)
                expect(words in msg and str(nblk) in msg,
                       "unclear message %r" % msg)
                # Whatever follows must not create a block either.
                try:
                    c.send_raw(w.frame(w.DX_PACKET, w.packet_payload(
                        0, 0, True, data[:5000], CHUNK)))
                except OSError:
                    pass
            finally:
                c.close()
            expect(not any(os.path.exists(p)
                           for p in block_files(a.dir_a, nblk, ngen)),
                   "a block file was created")
            expect(tmp_empty(a.dir_a), "tmp/ not empty")
        return fn

    for name, tok, words in refusals:
        check("WRITE refused with EACCES: " + name, refused_write(tok, words))

    def refused_read(tok, words):
        def fn():
            c = connect(A)
            try:
                c.send_raw(w.frame(w.DX_READ, w.read_request(tok, blk, gen,
                                                             0, 100)))
                e, msg, fail = error_failed(c)
                expect(fail is None, "a READ's ERROR has a trailing u32")
                expect(e == -errno.EACCES and words in msg,
                       "errno %d, message %r" % (e, msg))
                # The connection still serves a valid read.
                frames_cover(read_block(A, rtok, blk, gen, 0, 100, c),
                             data, 0, 100)
            finally:
                c.close()
        return fn

    check("READ refused with EACCES: write token used to read",
          refused_read(w.sign_token(secret, blk, gen, w.TOKEN_WRITE),
                       "does not grant"))
    check("READ refused with EACCES: no token (zeroed)",
          refused_read(w.zero_token(), "token refused"))
    check("READ refused with EACCES: token for another generation",
          refused_read(w.sign_token(secret, blk, gen + 1, w.TOKEN_READ),
                       "another block"))

    def rewrite_exists():
        c = connect(A)
        try:
            tok = w.sign_token(secret, blk, gen, w.TOKEN_WRITE,
                               targets=[A])
            c.send_raw(w.frame(w.DX_WRITE, w.write_request(tok, blk, gen,
                                                           CHUNK)))
            e, msg = error_reply(c)
            expect(e == -errno.EEXIST, "errno %d %r" % (e, msg))
        finally:
            c.close()

    check("WRITE of an existing block and generation: EEXIST",
          rewrite_exists)

    def bad_crc():
        bblk, bgen = 3003, 1
        tok = w.sign_token(secret, bblk, bgen, w.TOKEN_WRITE,
                           targets=[A])
        c = connect(A)
        try:
            c.send_raw(w.frame(w.DX_WRITE, w.write_request(tok, bblk, bgen,
                                                           CHUNK)))
            t, p = c.recv()
            expect(t == w.MSG_OK, "WRITE answered %d" % t)
            first = data[:PACKET]
            c.send_raw(w.frame(w.DX_PACKET, w.packet_payload(
                0, 0, False, first, CHUNK)))
            second = data[PACKET:2 * PACKET]
            crcs = w.chunk_crcs(second, CHUNK)
            crcs[5] ^= 0x10
            c.send_raw(w.frame(w.DX_PACKET, w.packet_payload(
                1, PACKET, True, second, CHUNK, crcs)))
            t, p = c.recv()
            expect(t == w.DX_ACK and w.parse_ack(p)[:2] == (0, 0),
                   "first packet not acked: %d" % t)
            t, p = c.recv()
            expect(t == w.DX_ACK, "expected ACK, got %d" % t)
            seq, status, fail, msg = w.parse_ack(p)
            expect(seq == 1 and status == -errno.EBADMSG and fail == 0,
                   "ack %r" % ((seq, status, fail, msg),))
            want = "checksum mismatch at offset %d" % (PACKET + 5 * CHUNK)
            expect(want in msg, "message %r" % msg)
        finally:
            c.close()
        expect(not any(os.path.exists(p)
                       for p in block_files(a.dir_a, bblk, bgen)),
               "a block file was created")
        expect(tmp_empty(a.dir_a), "temp files left in tmp/")

    check("packet with a wrong CRC: ACK EBADMSG at its offset, no block",
          bad_crc)

    def bad_packet_offset():
        bblk, bgen = 3004, 1
        tok = w.sign_token(secret, bblk, bgen, w.TOKEN_WRITE,
                           targets=[A])
        c = connect(A)
        try:
            c.send_raw(w.frame(w.DX_WRITE, w.write_request(tok, bblk, bgen,
                                                           CHUNK)))
            t, p = c.recv()
            expect(t == w.MSG_OK, "WRITE answered %d" % t)
            c.send_raw(w.frame(w.DX_PACKET, w.packet_payload(
                0, 8192, True, data[:100], CHUNK)))
            t, p = c.recv()
            seq, status, fail, msg = w.parse_ack(p)
            expect(t == w.DX_ACK and status == -errno.EPROTO and fail == 0,
                   "ack %r" % ((seq, status, fail, msg),))
        finally:
            c.close()
        expect(not os.path.exists(block_files(a.dir_a, bblk, bgen)[0]),
               "a block file was created")
        expect(tmp_empty(a.dir_a), "temp files left in tmp/")

    check("packet at the wrong offset: ACK EPROTO, no block",
          bad_packet_offset)

    def hostile(name, raw, expect_errno, then_hello=False, half=False,
                want_failed=None):
        def fn():
            c = connect(A, hello=False)
            try:
                c.send_raw(raw)
                if half:
                    c.sock.shutdown(socket.SHUT_WR)
                try:
                    t, p = c.recv()
                except (ConnectionError, OSError):
                    expect(expect_errno is None,
                           "closed without an ERROR")
                    return
                expect(t == w.MSG_ERROR, "reply type %d" % t)
                r = w.Reader(p)
                e, msg = r.i32(), r.str()
                expect(expect_errno is None or e == -expect_errno,
                       "errno %d %r" % (e, msg))
                expect(msg, "empty message")
                # Only a WRITE's ERROR names the refusing node (u32).
                tail = p[r.off:]
                expect(tail == (b"" if want_failed is None else
                                w.Payload().u32(want_failed).bytes()),
                       "ERROR ends with %r" % tail)
                if then_hello:
                    t, p = c.call(w.MSG_HELLO,
                                  w.Payload().u16(1).str("after"))
                    expect(t == w.MSG_HELLO, "no HELLO after the error")
            finally:
                c.close()
        return fn

    hostiles = [
        ("bad magic", w.frame(w.MSG_HELLO, b"", magic=b"XXXX"),
         errno.EPROTO, False, False),
        ("protocol version 9", w.frame(w.MSG_HELLO, b"", version=9),
         errno.EPROTONOSUPPORT, False, False),
        ("oversized length", w.frame(w.DX_READ, b"", length=(4 << 20) + 1),
         errno.EMSGSIZE, False, False),
        ("non-zero flags", w.frame(w.MSG_HELLO, b"", flags=1),
         errno.EPROTO, False, False),
        ("truncated payload", w.frame(w.DX_READ, b"x" * 10, length=100),
         None, False, True),
        ("unknown message type", w.frame(9999, b"abc"), errno.ENOSYS,
         True, False),
        ("namenode request sent to a data node", w.frame(101, b""),
         errno.ENOSYS, True, False),
        ("garbage bytes", os.urandom(200), None, False, False),
        ("malformed READ payload", w.frame(w.DX_READ, b"\x01\x02"),
         errno.EBADMSG, True, False),
        ("malformed WRITE (1000 downstream nodes)",
         w.frame(w.DX_WRITE, w.Payload().raw(w.write_request(
             good_w, nblk, ngen, CHUNK)[:-4]).u32(1000).bytes()),
         errno.EBADMSG, True, False, 0),
        ("PACKET outside a WRITE", w.frame(w.DX_PACKET, w.packet_payload(
            0, 0, True, b"abc", CHUNK)), errno.EPROTO, True, False),
        ("WRITE with a bad chunk size", w.frame(w.DX_WRITE, w.write_request(
            good_w, nblk, ngen, 1000)), errno.EINVAL, False, False, 0),
        ("malformed RESUME payload", w.frame(DX_RESUME, b"\x01\x02"),
         errno.EBADMSG, True, False, 0),
        ("LOCAL_OPEN on the TCP port", w.frame(w.DX_LOCAL_OPEN, b""),
         errno.EPROTO, True, False),
    ]
    for name, raw, en, hello, half, *fail in hostiles:
        check("hostile frame answered or closed: " + name,
              hostile(name, raw, en, hello, half, *fail))

    def version_message():
        c = connect(A, hello=False)
        try:
            c.send_raw(w.frame(w.MSG_HELLO, b"", version=9))
            e, msg = error_reply(c)
            expect("protocol version 9 not supported (this is 1)" in msg,
                   "message %r" % msg)
        finally:
            c.close()

    check("version mismatch names both versions", version_message)

    def still_serves():
        frames = read_block(A, rtok, blk, gen, 0, len(data))
        expect(b"".join(f[3] for f in frames) == data, "bytes differ")

    check("node still serves a valid read after the hostile frames",
          still_serves)

    def unchanged():
        expect(dir_digest(a.dir_a) == before,
               "current/ changed during the refusals")
        expect(tmp_empty(a.dir_a), "tmp/ not empty")

    check("current/ unchanged (sha256 of names and contents) by refusals",
          unchanged)

    def empty_block():
        eb, eg = 5005, 2
        tok = w.sign_token(secret, eb, eg, w.TOKEN_WRITE,
                           targets=[A])
        acks = write_block(A, tok, eb, eg, b"")
        expect(acks == [(0, 0, 0xFFFFFFFF, "")], "acks %r" % acks)
        expect(os.path.getsize(block_files(a.dir_a, eb, eg)[0]) == 0,
               "empty block file")
        frames = read_block(A, w.sign_token(secret, eb, eg, w.TOKEN_READ),
                            eb, eg, 0, 100)
        expect(frames == [], "DATA from an empty block")

    check("empty block: one last packet, zero-length replica", empty_block)

    pdata = os.urandom(PACKET * 2 + 777)
    pb, pg = 4004, 1

    def pipeline():
        tok = w.sign_token(secret, pb, pg, w.TOKEN_WRITE,
                           targets=[A, B])
        acks = write_block(A, tok, pb, pg, pdata, downstream=[B])
        expect([x[:3] for x in acks] == [(i, 0, 0xFFFFFFFF)
                                         for i in range(3)],
               "acks %r" % acks)
        fa, fb = (block_files(d, pb, pg) for d in (a.dir_a, a.dir_b))
        for x, y in zip(fa, fb):
            with open(x, "rb") as f1, open(y, "rb") as f2:
                expect(f1.read() == f2.read(), "%s and %s differ" % (x, y))
        with open(fb[0], "rb") as f:
            expect(f.read() == pdata, "B's block differs from the data")
        frames = read_block(B, w.sign_token(secret, pb, pg, w.TOKEN_READ),
                            pb, pg, 0, len(pdata))
        expect(b"".join(f[3] for f in frames) == pdata, "read from B")

    check("two-node pipeline A -> B: both hold identical block files",
          pipeline)

    def pipeline_refused(blk, gen, tok, downstream, err):
        # A answers the WRITE with ERROR err naming the downstream node
        # (in words, and as failed = 1: the node below A), and stores
        # nothing.
        c = connect(A)
        try:
            c.send_raw(w.frame(w.DX_WRITE, w.write_request(
                tok, blk, gen, CHUNK, [downstream])))
            e, msg, fail = error_failed(c)
            expect(e == -err and downstream in msg,
                   "errno %d %r" % (e, msg))
            expect(fail == 1, "failed = %r, not 1" % fail)
        finally:
            c.close()
        expect(not os.path.exists(block_files(a.dir_a, blk, gen)[0]),
               "a block file was created on A")
        expect(tmp_empty(a.dir_a), "temp files left in tmp/")

    def pipeline_unreachable():
        ub, ug = 4005, 1
        tok = w.sign_token(secret, ub, ug, w.TOKEN_WRITE,
                           targets=[A, a.closed])
        pipeline_refused(ub, ug, tok, a.closed, errno.EHOSTUNREACH)

    check("unreachable downstream: ERROR EHOSTUNREACH naming it",
          pipeline_unreachable)

    def pipeline_refused_downstream():
        # B already holds the block: A relays B's refusal, naming B.
        rb, rg = 4006, 1
        tok = w.sign_token(secret, rb, rg, w.TOKEN_WRITE,
                           targets=[A, B])
        write_block(B, w.sign_token(secret, rb, rg, w.TOKEN_WRITE,
                                       targets=[B]), rb, rg, b"x" * 10)
        pipeline_refused(rb, rg, tok, B, errno.EEXIST)

    check("downstream refuses the WRITE: A relays its error, stores nothing",
          pipeline_refused_downstream)

    def unsigned_downstream(targets):
        # A WRITE naming a downstream the token does not: EACCES, and A
        # never dials it (a listener there sees no connection).
        def fn():
            ls = socket.socket()
            ls.bind(("127.0.0.1", 0))
            ls.listen(4)
            ls.settimeout(1.0)
            evil = "127.0.0.1:%d" % ls.getsockname()[1]
            ub, ug = 4010 + len(targets), 1
            tok = w.sign_token(secret, ub, ug, w.TOKEN_WRITE,
                               targets=targets)
            c = connect(A)
            try:
                c.send_raw(w.frame(w.DX_WRITE, w.write_request(
                    tok, ub, ug, CHUNK, [evil])))
                e, msg = error_reply(c)
                expect(e == -errno.EACCES and "pipeline" in msg,
                       "errno %d %r" % (e, msg))
            finally:
                c.close()
            try:
                s, _ = ls.accept()
                s.close()
                raise AssertionError("A dialed the unsigned node")
            except socket.timeout:
                pass
            finally:
                ls.close()
            expect(not os.path.exists(block_files(a.dir_a, ub, ug)[0]),
                   "a block file was created on A")
        return fn

    check("WRITE naming a downstream its token does not: EACCES, not dialed",
          unsigned_downstream([A]))
    check("WRITE swapping B for another downstream: EACCES, not dialed",
          unsigned_downstream([A, B]))

    def open_pipeline(blk, gen):
        # A WRITE to A with B downstream, accepted; the caller closes it.
        tok = w.sign_token(secret, blk, gen, w.TOKEN_WRITE,
                           targets=[A, B])
        c = connect(A)
        c.send_raw(w.frame(w.DX_WRITE, w.write_request(
            tok, blk, gen, CHUNK, [B])))
        t, p = c.recv()
        expect(t == w.MSG_OK, "WRITE answered %d" % t)
        return c

    def pipeline_bad_crc():
        # A corrupted chunk is stopped at A and never reaches B.
        cb, cg = 4007, 1
        c = open_pipeline(cb, cg)
        try:
            crcs = w.chunk_crcs(pdata[:PACKET], CHUNK)
            crcs[0] ^= 1
            c.send_raw(w.frame(w.DX_PACKET, w.packet_payload(
                0, 0, True, pdata[:PACKET], CHUNK, crcs)))
            t, p = c.recv()
            seq, status, fail, msg = w.parse_ack(p)
            expect(status == -errno.EBADMSG and fail == 0,
                   "ack %r" % ((seq, status, fail, msg),))
        finally:
            c.close()
        for d in (a.dir_a, a.dir_b):
            expect(not os.path.exists(block_files(d, cb, cg)[0]),
                   "a block file was created in " + d)
            expect(tmp_empty(d), "temp files left in " + d)

    check("pipeline packet with a wrong CRC: stopped at A, B discards",
          pipeline_bad_crc)

    def upstream_drops():
        ub, ug = 6006, 1
        c = open_pipeline(ub, ug)
        try:
            c.send_raw(w.frame(w.DX_PACKET, w.packet_payload(
                0, 0, False, pdata[:PACKET], CHUNK)))
            t, p = c.recv()
            expect(t == w.DX_ACK and w.parse_ack(p)[1] == 0, "no ack")
        finally:
            c.close()
        for d in (a.dir_a, a.dir_b):
            time.sleep(0.5)
            expect(tmp_kept(d, ub, ug), "interrupted write not kept in "
                   + d + " for a RESUME")
            expect(not os.path.exists(block_files(d, ub, ug)[0]),
                   "a block file was created in " + d)

    check("client drops the connection mid-block: A and B keep it "
          "unfinished",
          upstream_drops)

    def fake_downstream(behaviour):
        """A listening socket that plays a misbehaving next node: it
        accepts the WRITE, answers OK, reads one packet, then either
        closes or acks with an error.  Returns (address, thread)."""
        import threading
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        ls.settimeout(15)

        def serve():
            s, _ = ls.accept()
            s.settimeout(15)
            # A next node shows a data node's certificate.
            s = w.tls_context(os.environ["NPDFS_TEST_DN_CONF"],
                              server=True).wrap_socket(s, server_side=True)
            c = w.Conn.__new__(w.Conn)
            c.sock = s
            try:
                t, p = c.recv()
                if t == w.MSG_HELLO:
                    c.send_raw(w.frame(w.MSG_HELLO, p))
                    t, p = c.recv()
                c.send_raw(w.frame(w.MSG_OK))
                t, p = c.recv()
                seq = w.Reader(p).u64()
                if behaviour == "close":
                    return
                c.send_raw(w.frame(w.DX_ACK, w.Payload().u64(seq)
                                   .i32(-errno.ENOSPC).u32(behaviour)
                                   .str("disk full further down").bytes()))
                try:
                    c.recv()
                except (ConnectionError, OSError):
                    pass
            finally:
                s.close()
                ls.close()
        th = threading.Thread(target=serve, daemon=True)
        th.start()
        return "127.0.0.1:%d" % ls.getsockname()[1], th

    def downstream_fails(behaviour, want_status, want_failed, words):
        def fn():
            fb, fg = 7007 + want_failed, 1
            addr, th = fake_downstream(behaviour)
            tok = w.sign_token(secret, fb, fg, w.TOKEN_WRITE,
                               targets=[A, addr])
            c = connect(A)
            try:
                c.send_raw(w.frame(w.DX_WRITE, w.write_request(
                    tok, fb, fg, CHUNK, [addr])))
                t, p = c.recv()
                expect(t == w.MSG_OK, "WRITE answered %d" % t)
                c.send_raw(w.frame(w.DX_PACKET, w.packet_payload(
                    0, 0, False, pdata[:PACKET], CHUNK)))
                t, p = c.recv()
                expect(t == w.DX_ACK, "expected ACK, got %d" % t)
                seq, status, fail, msg = w.parse_ack(p)
                expect((seq, status, fail) == (0, want_status, want_failed)
                       and words in msg,
                       "ack %r" % ((seq, status, fail, msg),))
                expect(behaviour != "close" or addr in msg,
                       "message %r does not name %s" % (msg, addr))
            finally:
                c.close()
            th.join(15)
            time.sleep(0.5)
            expect(tmp_kept(a.dir_a, fb, fg), "interrupted write not kept "
                   "in tmp/ for a RESUME")
            expect(not os.path.exists(block_files(a.dir_a, fb, fg)[0]),
                   "a block file was created")
        return fn

    check("downstream node dies mid-block: ACK EIO, failed = 1, named",
          downstream_fails("close", -errno.EIO, 1, "pipeline node"))
    check("downstream reports its own failure: failed = 1",
          downstream_fails(0, -errno.ENOSPC, 1, "disk full"))
    check("failure reported from further down: its index plus one",
          downstream_fails(1, -errno.ENOSPC, 2, "disk full"))

    return w.summary()


if __name__ == "__main__":
    sys.exit(main())
