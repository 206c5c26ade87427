#!/usr/bin/env python3
"""dn_patch.py: PATCH (doc/protocol.md 8b) at a real data node.

Run by dn-patch.sh, which starts one data node (A) with the fake namenode
of dn-token.sh (dn_keys.py) and runs this script in phases:

  main       a block written with WRITE is patched in the middle and
             extended; READ gives back exactly the expected bytes, whose
             CRCs are computed here; the files carry the new generation and
             the old names are gone.  Hostile PATCHes each get a clear
             ERROR and leave the replica untouched and readable under its
             old generation.  Also writes the blocks the later phases use.
  crash      sends one PATCH to a node started with NPDFS_TEST_PATCH_CRASH
             (it exits after its journal, or after the apply): no OK comes.
  plant      (node stopped) writes journals here, in the documented format:
             a valid one, and a torn one.
  recovered  after a restart: the crashed patches and the valid planted
             journal were applied, the torn one discarded, tmp/ is empty.

Tokens are signed here as the namenode signs them; CRC32C is computed
here, independently of the C code.  Expected bytes are reproducible from
seeds, so every phase knows them.  Prints "ok - ..." per check and
"N passed, M failed"; exits 0 only when nothing failed.
"""
import argparse
import errno
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import npdfs_wire as w  # noqa: E402
from dn_token import (block_files, connect, error_reply,  # noqa: E402
                      read_block, tmp_empty, write_block)

CHUNK = 4096
check, expect = w.check, w.expect


def det(seed, n):
    """n reproducible bytes."""
    return random.Random(seed).randbytes(n)


def apply(old, ranges, new_len):
    """The block after a patch, computed here."""
    b = bytearray(old) + bytearray(max(0, new_len - len(old)))
    for off, data in ranges:
        b[off:off + len(data)] = data
    return bytes(b[:new_len])


# The main block: 10 full chunks and a short one, patched in chunk 2 and
# chunks 5-6, and rewritten from chunk 10 (the short one) to a new end.
BLK, GEN = 7001, 1
OLD = det(1, 10 * CHUNK + 1000)
NEW_LEN = 16 * CHUNK + 123
RANGES = [(2 * CHUNK, det(2, CHUNK)), (5 * CHUNK, det(3, 2 * CHUNK)),
          (10 * CHUNK, det(4, NEW_LEN - 10 * CHUNK))]
NEW = apply(OLD, RANGES, NEW_LEN)

# The recovery blocks: (block, seed); each is patched 1 -> 2 the same way.
CRASH_JOURNAL, CRASH_APPLY, TORN, PLANTED = 7002, 7003, 7004, 7005


def rec_old(blk):
    return det(blk, 5 * CHUNK + 77)


def rec_ranges(blk):
    return [(CHUNK, det(blk + 100, CHUNK)),
            (5 * CHUNK, det(blk + 200, 2 * CHUNK + 5))]


def rec_new(blk):
    return apply(rec_old(blk), rec_ranges(blk), 7 * CHUNK + 5)


def wtok(secret, blk, gen, locs):
    return w.sign_token(secret, blk, gen, w.TOKEN_WRITE, targets=locs)


def send_patch(addr, payload):
    """(type, payload) of the answer to one PATCH."""
    c = connect(addr)
    try:
        c.send_raw(w.frame(w.DX_PATCH, payload, 11))
        return c.recv()
    finally:
        c.close()


def read_all(addr, secret, blk, gen):
    tok = w.sign_token(secret, blk, gen, w.TOKEN_READ)
    frames = read_block(addr, tok, blk, gen, 0, 1 << 30)
    for fo, chunk, crcs, data in frames:
        expect(chunk == CHUNK and crcs == w.chunk_crcs(data, CHUNK),
               "CRCs of the DATA frame at %d" % fo)
    return b"".join(f[3] for f in frames)


def on_disk(d, blk, gen, want):
    """The replica's files under gen hold want: data, sidecar header and
    one CRC per chunk, computed here."""
    dp, mp = block_files(d, blk, gen)
    with open(dp, "rb") as f:
        expect(f.read() == want, "data file of gen %d differs" % gen)
    with open(mp, "rb") as f:
        meta = f.read()
    ver, zero, chunk, length, hcrc = struct.unpack("<HHIQI", meta[4:24])
    expect(meta[:4] == b"NPDM" and (ver, zero, chunk, length) ==
           (1, 0, CHUNK, len(want)), "sidecar header %r" %
           ((ver, zero, chunk, length),))
    expect(hcrc == w.crc32c(meta[:20]), "sidecar header CRC")
    crcs = list(struct.unpack("<%dI" % ((len(meta) - 24) // 4), meta[24:]))
    expect(crcs == w.chunk_crcs(want, CHUNK), "sidecar CRCs")


def gone(d, blk, gen):
    return not any(os.path.exists(p) for p in block_files(d, blk, gen))


def phase_main(a, secret):
    A = a.node
    locs = [A]

    def write_first():
        acks = write_block(A, wtok(secret, BLK, GEN, locs), BLK, GEN, OLD,
                           chunk=CHUNK)
        expect(all(x[1] == 0 for x in acks), "acks %r" % acks)
        expect(read_all(A, secret, BLK, GEN) == OLD, "read back")

    check("a block of 10 chunks and a short one is written", write_first)

    def refused(payload, err, words):
        def fn():
            t, p = send_patch(A, payload)
            expect(t == w.MSG_ERROR, "answered type %d, not ERROR" % t)
            e, msg = w.error_of(p)
            expect(e == -err, "errno %d (%s), wanted %d" % (-e, msg, err))
            expect(all(x in msg for x in words),
                   "message %r lacks %r" % (msg, words))
            expect(read_all(A, secret, BLK, GEN) == OLD,
                   "the replica no longer reads as before")
            on_disk(a.dir, BLK, GEN, OLD)
            expect(gone(a.dir, BLK, GEN + 1), "new gen files made")
            expect(tmp_empty(a.dir), "a journal was left in tmp/")
        return fn

    def patch(ranges, new_len=NEW_LEN, old_gen=GEN, new_gen=GEN + 1,
              chunk=CHUNK, tok=None, plocs=None, blk=BLK):
        if tok is None:
            tok = wtok(secret, blk, new_gen, locs)
        return w.patch_request(tok, blk, old_gen, new_gen, chunk, new_len,
                               plocs or locs, ranges)

    good = [(o, d) for o, d in RANGES]
    bad_crc = list(good)
    bad_crc[1] = (RANGES[1][0], RANGES[1][1],
                  [w.crc32c(RANGES[1][1][:CHUNK]),
                   w.crc32c(RANGES[1][1][CHUNK:]) ^ 1])
    cases = [
        ("a chunk's CRC is wrong", patch(bad_crc), errno.EBADMSG,
         ["checksum error", str(6 * CHUNK)]),
        ("a range offset is not chunk-aligned",
         patch([(CHUNK + 512, det(5, CHUNK))] + good[2:]), errno.EINVAL,
         ["bad range 0"]),
        ("ranges overlap",
         patch([(2 * CHUNK, det(5, 2 * CHUNK)), (3 * CHUNK, det(6, CHUNK))]
               + good[2:]), errno.EINVAL, ["bad range 1"]),
        ("ranges out of order", patch([good[1], good[0], good[2]]),
         errno.EINVAL, ["bad range 1"]),
        ("a range past the new length",
         patch(good[:2] + [(10 * CHUNK, det(4, NEW_LEN - 10 * CHUNK + 1))]),
         errno.EINVAL, ["bad range 2"]),
        ("a short range that does not end at the new length",
         patch([(2 * CHUNK, det(5, 100))] + good[2:]), errno.EINVAL,
         ["bad range 0"]),
        ("growth with a hole (chunk 11 given, chunk 10 not)",
         patch(good[:2] + [(11 * CHUNK, det(4, NEW_LEN - 11 * CHUNK))]),
         errno.EINVAL, ["not all given", str(10 * CHUNK)]),
        ("a shrink", patch(good[:2], new_len=len(OLD) - 1000),
         errno.EINVAL, ["shrink"]),
        ("a chunk size not the replica's",
         patch([(0, det(5, 8192))], new_len=len(OLD), chunk=8192),
         errno.EINVAL, ["chunks of 4096"]),
        ("an old generation that is not the replica's",
         patch(good, old_gen=5, new_gen=6), errno.ESTALE,
         ["generation 5", "no such block"]),
        ("a new generation not newer than the old",
         patch(good, old_gen=GEN, new_gen=GEN), errno.EINVAL, ["not newer"]),
        ("a block the node lacks", patch(good, blk=999999), errno.ENOENT,
         ["no such block"]),
        ("more than 2 MiB of data (CRCs not even computed)",
         patch([(0, bytes(2 * 1024 * 1024 + CHUNK), [0] * 513)],
               new_len=2 * 1024 * 1024 + CHUNK), errno.EINVAL,
         ["more than"]),
        ("a READ token",
         patch(good, tok=w.sign_token(secret, BLK, GEN + 1, w.TOKEN_READ,
                                      targets=locs)), errno.EACCES,
         ["does not grant"]),
        ("a token for another generation",
         patch(good, tok=wtok(secret, BLK, GEN + 2, locs)), errno.EACCES,
         ["another block"]),
        ("a token for the old generation",
         patch(good, tok=wtok(secret, BLK, GEN, locs)), errno.EACCES,
         ["another block"]),
        ("a token over other replicas than those named",
         patch(good, tok=wtok(secret, BLK, GEN + 1, [A, a.closed])),
         errno.EACCES, ["does not name"]),
        ("replicas that do not include this node (token signed for them)",
         patch(good, tok=wtok(secret, BLK, GEN + 1, [a.closed]),
               plocs=[a.closed]), errno.EACCES,
         ["do not include this node"]),
    ]
    for name, payload, err, words in cases:
        check("PATCH refused, replica untouched: " + name,
              refused(payload, err, words))

    # Hostile counts and lengths: the frame does not decode.
    tok = wtok(secret, BLK, GEN + 1, locs)
    head = w.put_token(w.Payload(), tok).u64(BLK).u64(GEN).u64(GEN + 1) \
        .u32(CHUNK).u64(NEW_LEN)
    one = w.Payload().str(A)

    def hostile(tail):
        return head.bytes() + tail

    malformed = [
        ("2^32-1 ranges in a short frame",
         hostile(w.Payload().u32(1).str(A).u32(0xffffffff).u64(0)
                 .raw(bytes(64)).bytes())),
        ("a range claiming 2^32-1 CRCs",
         hostile(w.Payload().u32(1).str(A).u32(1).u64(0).u32(0xffffffff)
                 .raw(bytes(64)).bytes())),
        ("a data blob claiming 4 GiB",
         hostile(w.Payload().u32(1).str(A).u32(1).u64(0).u32(1).u32(0)
                 .u32(0xffffffff).bytes())),
        ("2^32-1 replicas", hostile(w.Payload().u32(0xffffffff).bytes() +
                                    one.bytes())),
        ("no replicas", hostile(w.Payload().u32(0).u32(1).bytes())),
        ("zero ranges", hostile(w.Payload().u32(1).str(A).u32(0).bytes())),
        ("trailing bytes", patch(good) + b"x"),
        ("a truncated frame", patch(good)[:-10]),
    ]
    for name, payload in malformed:
        check("PATCH refused as malformed, replica untouched: " + name,
              refused(payload, errno.EBADMSG, ["malformed PATCH"]))

    def valid():
        t, p = send_patch(A, patch(good))
        expect(t == w.MSG_OK, "answered %d %r" % (t, p))
        expect(read_all(A, secret, BLK, GEN + 1) == NEW,
               "READ of gen 2 differs from the expected bytes")
        on_disk(a.dir, BLK, GEN + 1, NEW)
        expect(gone(a.dir, BLK, GEN), "gen 1 files are still there")
        expect(tmp_empty(a.dir), "the journal was left in tmp/")

    check("PATCH of chunks 2, 5-6 and 10 to a new end: OK, READ gives the "
          "expected bytes and CRCs, files renamed", valid)

    def old_gen_gone():
        tok = w.sign_token(secret, BLK, GEN, w.TOKEN_READ)
        c = connect(A)
        try:
            c.send_raw(w.frame(w.DX_READ, w.read_request(tok, BLK, GEN, 0,
                                                         10)))
            e, msg = error_reply(c)
            expect(e == -errno.ENOENT and "no such block" in msg, msg)
        finally:
            c.close()

    check("READ of the old generation: ENOENT", old_gen_gone)

    def fan_out():
        # The namenode signs one token over the replica set; the client
        # sends the same PATCH to each node of it.
        rs = [a.closed, A]
        more = [(0, det(9, CHUNK)), (NEW_LEN - 123, det(10, 123))]
        t, p = send_patch(A, w.patch_request(
            wtok(secret, BLK, GEN + 2, rs), BLK, GEN + 1, GEN + 2, CHUNK,
            NEW_LEN, rs, more))
        expect(t == w.MSG_OK, "answered %d %r" % (t, p))
        want = apply(NEW, more, NEW_LEN)
        expect(read_all(A, secret, BLK, GEN + 2) == want, "bytes differ")
        on_disk(a.dir, BLK, GEN + 2, want)

    check("PATCH with a token over a two-node replica set, the last short "
          "chunk alone", fan_out)

    def straddle():
        # A READ of 24 MiB whose reader stops reading: the node blocks in
        # its send with frames to go, a PATCH comes in, and the READ must
        # end with ESTALE rather than go on with the new generation's
        # bytes, or report a checksum error.  All chunks alike: one CRC.
        big, chunk = 7010, 64 * 1024
        pat = det(11, chunk)
        crc = w.crc32c(pat)
        n = 24 * 1024 * 1024
        old = pat * (n // chunk)
        c = connect(A)
        try:
            c.send_raw(w.frame(w.DX_WRITE, w.write_request(
                wtok(secret, big, 1, locs), big, 1, chunk), 7))
            t, p = c.recv()
            expect(t == w.MSG_OK, "WRITE answered %d" % t)
            per = 1 << 20
            offs = list(range(0, n, per))
            for seq, off in enumerate(offs):
                c.send_raw(w.frame(w.DX_PACKET, w.packet_payload(
                    seq, off, seq == len(offs) - 1, old[off:off + per],
                    chunk, [crc] * (per // chunk)), 100 + seq))
            for _ in offs:
                t, p = c.recv()
                expect(t == w.DX_ACK and w.parse_ack(p)[1] == 0,
                       "ack %d %r" % (t, p))
        finally:
            c.close()
        r = connect(A)
        # A small receive buffer, locked: the kernel must not take the
        # whole block off the node's hands while we do not read.
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        try:
            r.send_raw(w.frame(w.DX_READ, w.read_request(
                w.sign_token(secret, big, 1, w.TOKEN_READ), big, 1, 0, n),
                9))
            time.sleep(1.0)     # the node fills the socket and waits
            newc = det(12, chunk)
            t, p = send_patch(A, w.patch_request(
                wtok(secret, big, 2, locs), big, 1, 2, chunk, n, locs,
                [(n - chunk, newc)]))
            expect(t == w.MSG_OK, "PATCH answered %d %r" % (t, p))
            got = 0
            while True:
                t, p = r.recv()
                if t == w.MSG_ERROR:
                    e, msg = w.error_of(p)
                    break
                expect(t == w.DX_DATA, "type %d" % t)
                fo, ch, crcs, data = w.parse_data(p)
                expect(data, "the READ ended without an error")
                expect(data == old[fo:fo + len(data)] and
                       crcs == [crc] * len(crcs),
                       "DATA at %d is not generation 1's" % fo)
                got += len(data)
        finally:
            r.close()
        expect(e == -errno.ESTALE and "patched to a newer generation" in msg,
               "ended with %d %r" % (e, msg))
        expect(0 < got < n, "%d bytes before the error" % got)
        want = old[:n - chunk] + newc
        tok = w.sign_token(secret, big, 2, w.TOKEN_READ)
        frames = read_block(A, tok, big, 2, 0, n)
        expect(b"".join(f[3] for f in frames) == want,
               "generation 2 does not read as patched")

    check("a READ of the old generation left waiting across a PATCH ends "
          "with ESTALE naming the patch, every byte before it the old "
          "generation's; the new one reads whole", straddle)

    def prep():
        for blk in (CRASH_JOURNAL, CRASH_APPLY, TORN, PLANTED):
            write_block(A, wtok(secret, blk, 1, locs), blk, 1, rec_old(blk),
                        chunk=CHUNK)
            expect(read_all(A, secret, blk, 1) == rec_old(blk), "read back")

    check("blocks for the recovery phases written", prep)


def phase_crash(a, secret):
    blk = CRASH_JOURNAL if a.which == "journal" else CRASH_APPLY

    def crash():
        try:
            t, p = send_patch(a.node, w.patch_request(
                wtok(secret, blk, 2, [a.node]), blk, 1, 2, CHUNK,
                7 * CHUNK + 5, [a.node], rec_ranges(blk)))
        except OSError:
            return      # the connection ended with the node
        raise AssertionError("the node answered %d %r" % (t, p))

    check("PATCH to a node that crashes after its %s: no OK" % a.which,
          crash)


def journal(blk, old_len, new_len, ranges):
    """A journal in the format of datanode/dn-patch.c's header comment."""
    p = w.Payload().raw(b"NPDJ").u32(1).u64(blk).u64(1).u64(2)
    p.u64(old_len).u64(new_len).u32(CHUNK).u32(len(ranges))
    for off, data in ranges:
        p.u64(off).u32(len(data))
        for c in w.chunk_crcs(data, CHUNK):
            p.u32(c)
        p.raw(data)
    b = p.bytes()
    return b + struct.pack("<I", w.crc32c(b))


def phase_plant(a, secret):
    tmp = os.path.join(a.dir, "tmp")

    def plant():
        for blk in (TORN, PLANTED):
            j = journal(blk, len(rec_old(blk)), 7 * CHUNK + 5,
                        rec_ranges(blk))
            if blk == TORN:  # a crash while it was written: cut short
                j = j[:len(j) // 2]
            with open(os.path.join(tmp, "blk_%d_2.patch" % blk), "wb") as f:
                f.write(j)

    check("a valid and a torn journal planted in tmp/", plant)


def phase_recovered(a, secret):
    for blk, what in ((CRASH_JOURNAL, "its journal"),
                      (CRASH_APPLY, "the apply, before any sync"),
                      (PLANTED, "a journal written in the documented "
                       "format")):
        def fn(blk=blk):
            expect(read_all(a.node, secret, blk, 2) == rec_new(blk),
                   "READ of gen 2 differs")
            on_disk(a.dir, blk, 2, rec_new(blk))
            expect(gone(a.dir, blk, 1), "gen 1 files still there")
        check("after a crash after %s, the restart applied the patch" %
              what, fn)

    def torn():
        expect(read_all(a.node, secret, TORN, 1) == rec_old(TORN),
               "the replica changed")
        on_disk(a.dir, TORN, 1, rec_old(TORN))
        expect(gone(a.dir, TORN, 2), "gen 2 files made")

    check("a torn journal was discarded, the replica left as it was", torn)
    check("tmp/ is empty after the restart",
          lambda: expect(tmp_empty(a.dir), "tmp/ not empty"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", required=True)
    ap.add_argument("--node", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--closed", required=True,
                    help="host:port where nothing listens")
    ap.add_argument("--phase", required=True,
                    choices=("main", "crash", "plant", "recovered"))
    ap.add_argument("--which", default="journal")
    a = ap.parse_args()
    secret = w.load_keys(a.keys)
    {"main": phase_main, "crash": phase_crash, "plant": phase_plant,
     "recovered": phase_recovered}[a.phase](a, secret)
    return w.summary()


if __name__ == "__main__":
    sys.exit(main())
