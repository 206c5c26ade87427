#!/usr/bin/env python3
"""fsx.py: a randomized file-write tester for dfs-mount, in the spirit of
fsx: a seeded sequence of pwrite, append, truncate, read, mmap read,
fsync, close/reopen and whole-file rewrites, applied side by side to a
local file (the oracle: the local file system) and a file on the mount.
After every step the mount file's size and every byte are compared with
the local file's; the first difference stops the run with the operations
that led to it.

  fsx.py [--seed N] [--ops N] [--max-size BYTES] LOCAL MOUNTFILE
  fsx.py --compare LOCAL MOUNTFILE      (e.g. after a remount)

Exit status 0 when the files never differed, 1 otherwise.
"""
import argparse
import mmap
import os
import random
import sys


def die(msg, log):
    print("fsx: FAILED: " + msg)
    for line in log[-15:]:
        print("fsx:   " + line)
    sys.exit(1)


def read_all(fd):
    size = os.fstat(fd).st_size
    out = bytearray()
    while len(out) < size:
        chunk = os.pread(fd, size - len(out), len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out), size


def compare(lfd, mfd, log, what):
    want, lsize = read_all(lfd)
    got, msize = read_all(mfd)
    if lsize != msize:
        die("%s: size %d on the mount, %d locally" % (what, msize, lsize),
            log)
    if got != want:
        first = next(i for i in range(min(len(got), len(want)))
                     if got[i] != want[i]) if len(got) == len(want) else \
            min(len(got), len(want))
        die("%s: bytes differ from offset %d (mount read %d bytes)" %
            (what, first, len(got)), log)


def run(args):
    rng = random.Random(args.seed)
    maxsize = args.max_size
    log = []
    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC
    lfd = os.open(args.local, flags, 0o644)
    mfd = os.open(args.mount, flags, 0o644)
    counts = {}
    for n in range(args.ops):
        size = os.fstat(lfd).st_size
        r = rng.random()
        if r < 0.35:
            op = "pwrite"
            off = rng.randrange(0, min(size + 8192, maxsize))
            ln = rng.randrange(1, min(65536, maxsize - off) + 1)
            data = rng.randbytes(ln)
            log.append("%d pwrite off=%d len=%d" % (n, off, ln))
            os.pwrite(lfd, data, off)
            if os.pwrite(mfd, data, off) != ln:
                die("short write", log)
        elif r < 0.45:
            op = "append"
            ln = rng.randrange(1, 20000)
            if size + ln > maxsize:
                ln = max(1, maxsize - size)
            data = rng.randbytes(ln)
            log.append("%d append len=%d (size %d)" % (n, ln, size))
            for path in (args.local, args.mount):
                afd = os.open(path, os.O_WRONLY | os.O_APPEND)
                os.write(afd, data)
                os.close(afd)
        elif r < 0.60:
            op = "truncate"
            ln = rng.randrange(0, maxsize + 1)
            if rng.random() < 0.2:
                ln = 0
            log.append("%d truncate to %d (size %d)" % (n, ln, size))
            os.ftruncate(lfd, ln)
            os.ftruncate(mfd, ln)
        elif r < 0.72:
            op = "read"
            off = rng.randrange(0, size + 100)
            ln = rng.randrange(1, 70000)
            log.append("%d read off=%d len=%d" % (n, off, ln))
            if os.pread(lfd, ln, off) != os.pread(mfd, ln, off):
                die("read of %d at %d differs" % (ln, off), log)
        elif r < 0.77:
            op = "mmap"
            log.append("%d mmap read (size %d)" % (n, size))
            if size > 0:
                with mmap.mmap(mfd, size, prot=mmap.PROT_READ) as m:
                    got = m[:]
                if got != os.pread(lfd, size, 0):
                    die("mmap read differs", log)
        elif r < 0.82:
            op = "fsync"
            log.append("%d fsync" % n)
            os.fsync(lfd)
            os.fsync(mfd)
        elif r < 0.93:
            op = "reopen"
            log.append("%d close and reopen" % n)
            os.close(mfd)
            os.close(lfd)
            lfd = os.open(args.local, os.O_RDWR)
            mfd = os.open(args.mount, os.O_RDWR)
        else:
            op = "rewrite"
            # O_TRUNC and sequential writes: the streaming path.
            want, _ = read_all(lfd)
            if rng.random() < 0.5:
                want = rng.randbytes(rng.randrange(0, maxsize))
            log.append("%d rewrite from scratch, %d bytes" % (n, len(want)))
            os.close(mfd)
            os.close(lfd)
            lfd = os.open(args.local, os.O_RDWR | os.O_TRUNC)
            mfd = os.open(args.mount, os.O_RDWR | os.O_TRUNC)
            step = rng.choice([4096, 65536, 131072, 1 << 20])
            for off in range(0, len(want), step):
                os.write(lfd, want[off:off + step])
                os.write(mfd, want[off:off + step])
        counts[op] = counts.get(op, 0) + 1
        compare(lfd, mfd, log, "after operation %d (%s)" % (n, op))
    os.close(mfd)
    os.close(lfd)
    print("fsx: %d operations (%s), seed %d: no difference" % (
        args.ops, ", ".join("%s %d" % kv for kv in sorted(counts.items())),
        args.seed))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ops", type=int, default=2000)
    p.add_argument("--max-size", type=int, default=300000)
    p.add_argument("--compare", action="store_true")
    p.add_argument("local")
    p.add_argument("mount")
    args = p.parse_args()
    if args.compare:
        lfd = os.open(args.local, os.O_RDONLY)
        mfd = os.open(args.mount, os.O_RDONLY)
        compare(lfd, mfd, [], "comparing " + args.mount)
        print("fsx: %s equals %s" % (args.mount, args.local))
        return
    run(args)


if __name__ == "__main__":
    main()
