"""patch_cases.py: the parts of patch-restart.sh and patch-cases.sh that
need Python (random writes through a mount that commit as patches).

    patch_cases.py write FILE EXPECT SEED [WANT]
        a few 4-64 KiB writes into the first 4 MiB of FILE (a file of the
        mount) and an fsync; EXPECT gets the bytes FILE should then hold.
        WANT: "ok" (the default), the fsync must succeed; "any", it may
        fail (its result is shown); an errno name
        (e.g. ENOSPC, EIO), it must fail, with that errno or EIO, and
        EXPECT is left as it was (the bytes the file must keep)
    patch_cases.py same FILE EXPECT
        FILE reads exactly as EXPECT
    patch_cases.py two FILE1 FILE2 BASE OUT SEED ROUNDS
        two writers at once (threads) on one file through two mounts
        (FILE1, FILE2; BASE its bytes before): each round, 64 KiB patterns
        into some regions (some both write, some only one) and an fsync;
        OUT gets the patterns written to each region
    patch_cases.py promise CONF PATH STATE
        a PATCH_BLOCK of PATH's first block that no PATCH follows (as from
        a client that died); STATE gets the blocks as they were
    patch_cases.py unchanged CONF PATH STATE
        PATH's blocks (ids, generations, lengths) are as in STATE
    patch_cases.py regions FILE BASE OUT
        every 64 KiB region of FILE is a pattern one writer wrote there
        (OUT, from the two part) or BASE's bytes; BASE's length is kept

Prints one "ok - ..." or "not ok - ..." line per check.
"""
import errno
import json
import os
import random
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."),
                                "tests", "lib"))
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."),
                                "tests", "integ"))
import npdfs_wire as w  # noqa: E402
import mount_patch as mp  # noqa: E402

CHUNK = 65536
def write(path, expect, seed, want="ok"):
    rnd = random.Random(seed)
    data = bytearray(mp.read_all(expect))
    with open(path, "r+b", buffering=0) as f:
        for _ in range(6):
            ln = rnd.randrange(4096, 65537)
            off = rnd.randrange(0, min(len(data), 4 << 20) - ln)
            buf = rnd.randbytes(ln)
            os.pwrite(f.fileno(), buf, off)
            data[off:off + ln] = buf
        seen = os.pread(f.fileno(), len(data) + 1, 0)
        try:
            os.fsync(f.fileno())
            got = 0
        except OSError as e:
            got = e.errno
        try:
            f.close()
        except OSError:
            pass
    w.ok("6 random writes: the writer reads them back before its fsync",
          seen == data, mp.first_diff(seen, bytes(data)))
    if want == "any":
        print("# the fsync: %s" % (os.strerror(got) if got else "success"),
              flush=True)
    elif want == "ok":
        w.ok("... and its fsync through the mount succeeds", got == 0,
              os.strerror(got) if got else "")
    else:
        codes = (getattr(errno, want), errno.EIO)
        w.ok("... and its fsync fails with %s (or EIO)" % want,
              got in codes, os.strerror(got) if got else "it succeeded")
        return
    with open(expect, "wb") as e:
        e.write(data)


def same(path, expect):
    got, want = mp.read_all(path), mp.read_all(expect)
    w.ok("%s reads as %s" % (path, os.path.basename(expect)), got == want,
          mp.first_diff(got, want))


def two(p1, p2, base, out, seed, rounds):
    """Two writers at once, one thread each, on one file through two
    mounts: each round a writer puts 64 KiB patterns (its number and a
    random byte) into a few chunk-aligned regions, then fsyncs.  Writer 1
    takes the even regions, writer 2 the odd ones, and both take those
    with k % 8 in (3, 4).  OUT gets, per region, the patterns written
    there (for the regions part)."""
    size = len(mp.read_all(base))
    nreg = size // CHUNK
    wrote = [set() for _ in range(nreg)]
    results = [[0, 0], [0, 0]]  # per writer: fsyncs ok, failed
    errs = set()

    def writer(w, path):
        rnd = random.Random(seed * 10 + w)
        with open(path, "r+b", buffering=0) as f:
            for _ in range(rounds):
                for _ in range(4):
                    k = rnd.randrange(0, nreg)
                    if not (k % 2 == w or k % 8 in (3, 4)):
                        continue
                    pat = bytes([w + 1, rnd.randrange(256)])
                    wrote[k].add(pat.hex())
                    os.pwrite(f.fileno(), pat * (CHUNK // 2), k * CHUNK)
                try:
                    os.fsync(f.fileno())
                    results[w][0] += 1
                except OSError as e:
                    results[w][1] += 1
                    errs.add("writer %d: %s" % (w + 1, e.strerror))
            try:
                f.close()
            except OSError:
                results[w][1] += 1

    ts = [threading.Thread(target=writer, args=(w, p))
          for w, p in ((0, p1), (1, p2))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(out, "w") as e:
        json.dump([sorted(x) for x in wrote], e)
    print("# fsyncs ok/failed: writer 1 %d/%d, writer 2 %d/%d" %
          tuple(results[0] + results[1]), flush=True)
    if errs:
        print("# fsync errors: %s" % "; ".join(sorted(errs)), flush=True)
    bad = [e for e in errs if not e.endswith(os.strerror(errno.EPERM))]
    w.ok("every fsync succeeded or met the other mount's lease (EPERM)",
          not bad, bad)
    w.ok("at least %d of the %d fsyncs succeeded" % (rounds, 2 * rounds),
          results[0][0] + results[1][0] >= rounds, results)


def regions(path, base, wrote):
    got, old = mp.read_all(path), mp.read_all(base)
    pats = json.load(open(wrote))
    w.ok("the file keeps its length (%d)" % len(old), len(got) == len(old),
          len(got))
    bad = []
    whose = [0, 0, 0]
    for k in range(min(len(got), len(old)) // CHUNK):
        r = got[k * CHUNK:(k + 1) * CHUNK]
        if r == old[k * CHUNK:(k + 1) * CHUNK]:
            whose[2] += 1
        elif r[:2].hex() in pats[k] and r == r[:2] * (CHUNK // 2):
            whose[r[0] - 1] += 1
        else:
            bad.append(k)
    print("# regions last written by writer 1: %d, writer 2: %d, as "
          "before: %d" % tuple(whose), flush=True)
    w.ok("every 64 KiB region holds the bytes one writer wrote there, or "
          "its old ones", not bad, "regions %s" % bad[:5])
    w.ok("some region holds a writer's bytes", whose[0] + whose[1] > 0,
          whose)


def conn(conf):
    host, port = w.read_conf(conf)["namenode.address"].rsplit(":", 1)
    return w.Conn(host, int(port))


def promise(conf, path, state):
    c = conn(conf)
    ino, size, blocks = mp.block_state(c, path)
    with open(state, "w") as f:
        json.dump([ino, size, blocks], f)
    b, g, ln = blocks[0]
    t, p = mp.patch_block(c, ino, "patch-cases-died", b, g, ln)
    w.ok("PATCH_BLOCK of block %d promises a new generation" % b,
          t == mp.LBLOCK, w.error_of(p) if t == w.MSG_ERROR else t)
    c.close()


def unchanged(conf, path, state):
    c = conn(conf)
    got = json.loads(json.dumps(list(mp.block_state(c, path))))
    want = json.load(open(state))
    w.ok("%s's blocks keep their generations and lengths" % path,
          got == want, "%s, was %s" % (got, want))
    c.close()


def main():
    part, a = sys.argv[1], sys.argv[2:]
    if part == "write":
        write(a[0], a[1], int(a[2]), a[3] if len(a) > 3 else "ok")
    elif part == "same":
        same(a[0], a[1])
    elif part == "two":
        two(a[0], a[1], a[2], a[3], int(a[4]), int(a[5]))
    elif part == "promise":
        promise(a[0], a[1], a[2])
    elif part == "unchanged":
        unchanged(a[0], a[1], a[2])
    elif part == "regions":
        regions(a[0], a[1], a[2])
    else:
        sys.exit("unknown part " + part)
    sys.exit(1 if w.failed else 0)


if __name__ == "__main__":
    main()
