#!/usr/bin/env python3
"""sum_check.py: NumPy-written arrays and independent oracles for sum.sh.

The expected sums come from Python alone, never from npdfs code:
math.fsum over the values as Python floats for float dtypes (each part of
a complex by itself), with the IEEE rules of DESIGN.md promise 4 (any NaN,
or +inf with -inf, gives nan; infinities of one sign give that infinity;
an exact sum beyond the double range gives +-inf, found with exact
Fractions where fsum overflows on the way), and Python's exact integer
sum for bool and integer dtypes.  Values are printed as dfs-sum prints
them: repr() of the float, str() of the int, repr() of the complex.

  sum_check.py gen DIR        write DIR/*.npy and DIR/expected.txt
                              ("NAME VALUE" per line)
  sum_check.py oracle FILE    print the expected value for one .npy
  sum_check.py json FILE      check one line of dfs-sum --json (stdin)
  sum_check.py big FILE MIB   write a MIB MiB float64 array
  sum_check.py hostile ADDR SECRET BLOCK GEN LEN
                              malformed and forged REDUCE requests at a
                              data node holding BLOCK (LEN bytes of
                              little-endian f8 from offset 0)
  sum_check.py odd FILE DESCR N
                              write N random elements of DESCR with the
                              data at an odd offset (133): a valid .npy
                              that NumPy reads, whose elements straddle
                              chunk and segment edges
"""

import errno
import json
import math
import os
import sys
from fractions import Fraction

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import npdfs_wire as w  # noqa: E402

DX_REDUCE, DX_PARTIAL = 305, 306

INF = float("inf")


def float_sum(vals):
    """The exact sum of Python floats rounded once, IEEE NaN/inf rules."""
    nan = any(math.isnan(v) for v in vals)
    pinf = any(v == INF for v in vals)
    ninf = any(v == -INF for v in vals)
    if nan or (pinf and ninf):
        return float("nan")
    if pinf:
        return INF
    if ninf:
        return -INF
    # fsum answers 0.0 for a sum of only -0.0 values, and so does dfs-sum.
    try:
        return math.fsum(vals)
    except OverflowError:
        # fsum gives up when a partial sum overflows; the exact sum may
        # still be a double.  int / int is correctly rounded in Python.
        exact = sum(Fraction(v) for v in vals)
        try:
            return exact.numerator / exact.denominator
        except OverflowError:
            return INF if exact > 0 else -INF


def expected(a):
    """The line dfs-sum prints for array a."""
    flat = a.ravel(order="K").tolist()
    k = a.dtype.kind
    if k in "biu":
        return str(sum(int(x) for x in flat))
    if k == "f":
        return repr(float_sum([float(x) for x in flat]))
    if k == "c":
        re = float_sum([complex(x).real for x in flat])
        im = float_sum([complex(x).imag for x in flat])
        return repr(complex(re, im))
    raise ValueError("unsupported dtype %s" % a.dtype)


def random_array(rng, dt, shape):
    """Random values covering the type's range."""
    n = int(np.prod(shape))
    if dt.kind == "b":
        v = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        v = rng.integers(info.min, info.max, n, dtype=dt.newbyteorder("="),
                         endpoint=True)
    elif dt.kind == "f":
        scale = {2: 100.0, 4: 1e10, 8: 1e100}[dt.itemsize]
        v = rng.standard_normal(n) * scale
    else:
        scale = {8: 1e10, 16: 1e100}[dt.itemsize]
        v = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * scale
    return v.astype(dt).reshape(shape)


def gen(out):
    rng = np.random.default_rng(20261123)
    arrays = {}
    codes = ["b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
             "f2", "f4", "f8", "c8", "c16"]
    for code in codes:
        orders = "|" if code in ("b1", "i1", "u1") else "<>"
        for bo in orders:
            dt = np.dtype(bo + code)
            tag = {"<": "le", ">": "be", "|": "na"}[bo]
            base = "%s-%s" % (code, tag)
            a = random_array(rng, dt, (60, 50, 7))
            arrays[base + "-c3d"] = a
            arrays[base + "-f3d"] = np.asfortranarray(
                random_array(rng, dt, (33, 41, 13)))
            arrays[base + "-0d"] = random_array(rng, dt, ()).reshape(())
            arrays[base + "-empty"] = np.zeros((0, 5), dtype=dt)
            arrays[base + "-1d"] = random_array(rng, dt, (100003,))

    # Adversarial floats.
    canc = np.array([1e16, 1.0, -1e16] * 20000)
    arrays["adv-cancel-f8"] = canc
    arrays["adv-cancel-f8-be"] = canc.astype(">f8")
    mag = 10.0 ** rng.uniform(-300, 300, 50000) * rng.choice([-1, 1], 50000)
    arrays["adv-magnitudes-f8"] = mag
    arrays["adv-magnitudes-c16"] = mag[:25000] + 1j * mag[25000:]
    # Every huge value cancels exactly; only the small ones remain.
    small = rng.standard_normal(1000) * 1e-20
    mc = np.concatenate([mag, -mag, small])
    rng.shuffle(mc)
    arrays["adv-magnitudes-cancel-f8"] = mc
    arrays["adv-tiny-f8"] = np.full(70000, 5e-324)
    arrays["adv-overflow-inf-f8"] = np.full(5, 1.7e308)
    arrays["adv-overflow-neg-f8"] = np.full(5, -1.7e308)
    arrays["adv-overflow-back-f8"] = np.array([1e308, 1e308, -1e308])
    arrays["adv-max-f4"] = np.full(40000, np.finfo(np.float32).max,
                                   dtype="<f4")
    arrays["adv-max-f2"] = np.full(40000, 65504.0, dtype=">f2")
    arrays["adv-sub-f2"] = np.full(40000, np.float16(6e-8), dtype="<f2")
    withnan = rng.standard_normal(50000)
    withnan[31337] = np.nan
    arrays["adv-nan-f8"] = withnan
    arrays["adv-nan-f4"] = withnan.astype("<f4")
    pn = rng.standard_normal(50000)
    pn[7] = np.inf
    pn[40000] = -np.inf
    arrays["adv-pinf-ninf-f8"] = pn
    pi = rng.standard_normal(50000) * 1e300
    pi[12345] = np.inf
    arrays["adv-pinf-f8"] = pi
    arrays["adv-ninf-f2"] = np.array([1.0, -np.inf, 65504.0] * 1000,
                                     dtype=">f2")
    cn = (rng.standard_normal(30000) + 1j * rng.standard_normal(30000))
    cn[100] = complex(1.0, np.nan)
    arrays["adv-nan-imag-c16"] = cn
    ci = np.zeros(30000, dtype="<c8")
    ci[5] = complex(np.inf, 0)
    ci[6] = complex(0, -np.inf)
    arrays["adv-inf-c8"] = ci
    arrays["adv-negzero-f8"] = np.full(70000, -0.0)
    arrays["adv-mixzero-f8"] = np.array([-0.0, 0.0] * 30000)
    arrays["adv-negzero-c16"] = np.full(10000, complex(-0.0, -0.0))
    arrays["adv-zero-c16"] = np.zeros(10000, dtype="<c16")
    arrays["adv-imag-c16"] = np.full(10000, 2.5j)

    # Adversarial integers.
    arrays["adv-i8-max"] = np.full(70000, np.iinfo(np.int64).max)
    arrays["adv-i8-min"] = np.full(70000, np.iinfo(np.int64).min, ">i8")
    arrays["adv-i8-mixed"] = np.array([np.iinfo(np.int64).max] * 40000 +
                                      [np.iinfo(np.int64).min] * 39999)
    arrays["adv-u8-top"] = (np.uint64(2**64 - 1) -
                            np.arange(70000, dtype=np.uint64))
    arrays["adv-u8-top-be"] = arrays["adv-u8-top"].astype(">u8")
    arrays["adv-u4-max"] = np.full(70000, 2**32 - 1, dtype="<u4")
    arrays["adv-b1-true"] = np.ones((300, 300), dtype=bool)

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "expected.txt"), "w") as f:
        for name in sorted(arrays):
            a = arrays[name]
            np.save(os.path.join(out, name + ".npy"), a)
            # Read back: the oracle sees exactly what NumPy wrote.
            b = np.load(os.path.join(out, name + ".npy"))
            f.write("%s %s\n" % (name, expected(b)))


def write_odd(path, descr, n):
    rng = np.random.default_rng(11)
    a = random_array(rng, np.dtype(descr), (n,))
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }" % (
        a.dtype.str, n)
    hl = 133 - 10
    h = d + " " * (hl - len(d) - 1) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + hl.to_bytes(2, "little") +
                h.encode("latin1") + a.tobytes())
    assert (np.load(path) == a).all()


def hostile(addr, keys_path, block, gen, blen):
    """Every malformed or forged REDUCE gets its ERROR; the connection
    goes on serving; a good request is answered with the right count."""
    host, port = addr.rsplit(":", 1)
    secret = w.load_keys(keys_path)
    good = w.sign_token(secret, block, gen, w.TOKEN_READ)
    count = blen // 8
    passed = failed = 0

    def req(tok, blk, g, off, n, kind, isz, little):
        p = w.put_token(w.Payload(), tok)
        return p.u64(blk).u64(g).u64(off).u64(n).u8(kind).u8(isz).u8(little)

    cases = [
        ("write token", req(w.sign_token(secret, block, gen, w.TOKEN_WRITE),
                            block, gen, 0, count, ord("f"), 8, 1),
         errno.EACCES),
        ("zero token", req(w.zero_token(), block, gen, 0, count, ord("f"), 8,
                           1), errno.EACCES),
        ("token of another block", req(w.sign_token(secret, block + 1, gen,
                                                    w.TOKEN_READ),
                                       block, gen, 0, count, ord("f"), 8, 1),
         errno.EACCES),
        ("expired token", req(w.sign_token(secret, block, gen, w.TOKEN_READ,
                                           expiry=1), block, gen, 0, count,
                              ord("f"), 8, 1), errno.EACCES),
        ("kind 'x'", req(good, block, gen, 0, count, ord("x"), 8, 1),
         errno.EINVAL),
        ("kind 0", req(good, block, gen, 0, count, 0, 8, 1), errno.EINVAL),
        ("f3", req(good, block, gen, 0, count, ord("f"), 3, 1), errno.EINVAL),
        ("f16", req(good, block, gen, 0, count, ord("f"), 16, 1),
         errno.EINVAL),
        ("c4", req(good, block, gen, 0, count, ord("c"), 4, 1), errno.EINVAL),
        ("b2", req(good, block, gen, 0, count, ord("b"), 2, 1), errno.EINVAL),
        ("i0", req(good, block, gen, 0, count, ord("i"), 0, 1), errno.EINVAL),
        ("byte order 7", req(good, block, gen, 0, count, ord("f"), 8, 7),
         errno.EINVAL),
        ("count 2^61 (overflows in bytes)", req(good, block, gen, 0, 2**61,
                                               ord("f"), 8, 1), errno.EINVAL),
        ("count 2^64-1", req(good, block, gen, 0, 2**64 - 1, ord("f"), 8, 1),
         errno.EINVAL),
        ("one element too many", req(good, block, gen, 0, count + 1,
                                     ord("f"), 8, 1), errno.EINVAL),
        ("offset beyond the block", req(good, block, gen, blen + 8, 0,
                                        ord("f"), 8, 1), errno.EINVAL),
        ("offset 2^64-8", req(good, block, gen, 2**64 - 8, 1, ord("f"), 8,
                              1), errno.EINVAL),
        ("wrong generation", req(w.sign_token(secret, block, gen + 7,
                                              w.TOKEN_READ),
                                 block, gen + 7, 0, count, ord("f"), 8, 1),
         errno.ENOENT),
        ("truncated payload", req(good, block, gen, 0, count, ord("f"), 8,
                                  1).bytes()[:-1], errno.EBADMSG),
        ("empty payload", b"", errno.EBADMSG),
    ]
    conn = w.Conn(host, int(port), timeout=15.0)

    def ok(name, cond, why=""):
        nonlocal passed, failed
        if cond:
            passed += 1
            print("ok - REDUCE: %s" % name)
        else:
            failed += 1
            print("not ok - REDUCE: %s %s" % (name, why))

    for name, payload, want in cases:
        t, pl = conn.call(DX_REDUCE, payload)
        e, msg = w.error_of(pl) if t == w.MSG_ERROR else (0, "")
        ok("%s -> ERROR %s" % (name, errno.errorcode[want]),
           t == w.MSG_ERROR and e == -want, "(type %d, %d %r)" % (t, e, msg))
    for off, n in ((0, count), (8, count - 1), (blen - 8, 1), (blen, 0),
                   (24, 0)):
        t, pl = conn.call(DX_REDUCE, req(good, block, gen, off, n, ord("f"),
                                         8, 1))
        r = w.Reader(pl) if t == DX_PARTIAL else None
        got = r.u64() if r else None
        nread = r.u64() if r else 0
        if r:
            r.u64()
            blob = r.blob()
        ok("elements [%d, %d): PARTIAL of %d, %d bytes read" % (
            off, off + 8 * n, n, nread),
           t == DX_PARTIAL and got == n and nread >= 8 * n and
           len(blob) > 0 and r.off == len(pl),
           "(type %d, count %r)" % (t, got))
    return failed == 0


def check_json(path):
    a = np.load(path)
    line = sys.stdin.readline()
    o = json.loads(line)
    assert o["dtype"] == a.dtype.str, (o["dtype"], a.dtype.str)
    assert o["shape"] == list(a.shape), (o["shape"], a.shape)
    assert o["count"] == a.size, (o["count"], a.size)
    assert o["bytes"] == a.nbytes, (o["bytes"], a.nbytes)
    assert o["seconds"] >= 0
    want = expected(a)
    k = a.dtype.kind
    if k in "biu":
        assert isinstance(o["sum"], int) and str(o["sum"]) == want, \
            (o["sum"], want)
    elif k == "f":
        got = o["sum"]
        got = float(got) if isinstance(got, str) else got
        assert repr(float(got)) == want, (got, want)
    else:
        re, im = (float(x) for x in o["sum"])
        assert repr(complex(re, im)) == want, (o["sum"], want)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "oracle":
        print(expected(np.load(sys.argv[2])))
    elif len(sys.argv) == 3 and sys.argv[1] == "json":
        check_json(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "big":
        n = int(sys.argv[3]) * (1 << 20) // 8
        rng = np.random.default_rng(5)
        np.save(sys.argv[2], rng.standard_normal(n) * 1e6)
    elif len(sys.argv) == 7 and sys.argv[1] == "hostile":
        sys.exit(0 if hostile(sys.argv[2], sys.argv[3], int(sys.argv[4]),
                              int(sys.argv[5]), int(sys.argv[6])) else 1)
    elif len(sys.argv) == 5 and sys.argv[1] == "odd":
        write_odd(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
