#!/usr/bin/python3
"""gen-accum.py: Python computes the sums that test-accum checks dfs_acc on.

    gen-accum.py OUTDIR [SEED]

Writes raw array files (the bytes NumPy stores after a .npy header, in
either byte order) and OUTDIR/manifest.txt, one tab-separated line each:

    name  descr  count  expected  [expected_imag]

descr is the NumPy dtype string ('<f8', '>f2', '|b1', '<c16', ...); the
expected value is repr(math.fsum(values)) for floats (each part of a
complex), str(sum(values)) of Python ints for integers and bool.  Python
is the oracle, never the C code under test:

- math.fsum rounds the exact sum once, ties to even.  Where it raises
  instead of answering (an intermediate or final overflow), the exact sum
  is a fractions.Fraction and float() of it rounds it, or overflows to
  +-inf, which is what dfs_acc promises there; an inf - inf is 'nan'.
- A sum of nothing but -0.0 is '-0.0' by IEEE 754 and NumPy, and by
  dfs_acc's promise; math.fsum (3.6 to 3.13 at least) answers 0.0 there,
  so that one case is written down by rule, here, and nowhere else.

It also writes fmt.bin (little-endian doubles) and fmt.txt (repr() of
each, one a line) for the test of dfs_fmt_double.
"""

import math
import os
import struct
import sys
from fractions import Fraction

import numpy as np

DBL_MAX = sys.float_info.max


def fsum_repr(vals):
    """What dfs_acc must answer for these Python floats, as repr()."""
    vals = [float(v) for v in vals]
    if vals and all(v == 0 and math.copysign(1, v) < 0 for v in vals):
        return "-0.0"
    try:
        return repr(math.fsum(vals))
    except ValueError:          # -inf + inf
        return "nan"
    except OverflowError:
        pass
    if any(math.isnan(v) for v in vals):
        return "nan"
    infs = {v for v in vals if math.isinf(v)}
    if len(infs) == 2:
        return "nan"
    if infs:
        return repr(infs.pop())
    exact = sum(Fraction(v) for v in vals)
    try:
        return repr(float(exact))
    except OverflowError:
        return "inf" if exact > 0 else "-inf"


class Gen:
    def __init__(self, outdir, seed):
        self.outdir = outdir
        self.rng = np.random.default_rng(seed)
        self.lines = []

    def emit(self, name, arr, expected):
        """Write arr's raw bytes and its manifest line."""
        arr = np.ascontiguousarray(arr)
        with open(os.path.join(self.outdir, name), "wb") as f:
            f.write(arr.tobytes())
        self.lines.append("\t".join([name, arr.dtype.str, str(arr.size)]
                                    + list(expected)))

    def floats(self, name, vals, codes=("<f8", ">f8")):
        """vals (exactly representable in each code) in each byte order."""
        for code in codes:
            arr = np.array(vals, dtype=np.float64).astype(code)
            assert all(float(a) == float(v) or (math.isnan(a) and
                       math.isnan(v)) for a, v in zip(arr, vals))
            tag = "le" if code[0] == "<" else "be"
            self.emit("%s-%s" % (name, tag), arr,
                      [fsum_repr(arr.tolist())])

    def ints(self, name, arr):
        arr = np.asarray(arr)
        total = sum(int(v) for v in arr.tolist())
        if arr.dtype.kind == "b":
            assert total == int(np.count_nonzero(arr))
        self.emit(name, arr, [str(total)])

    def complex(self, name, vals, code):
        arr = np.array(vals, dtype=code)
        self.emit(name, arr, [fsum_repr(arr.real.tolist()),
                              fsum_repr(arr.imag.tolist())])

    def wide(self, n):
        """n doubles spread log-uniformly over 1e-300..1e300, both signs."""
        mag = 10.0 ** self.rng.uniform(-300, 300, n)
        return (mag * self.rng.choice([-1.0, 1.0], n)).tolist()

    def bits_f8(self, n, exp_lo, exp_hi):
        """n doubles of random bits, biased exponent in [exp_lo, exp_hi]."""
        b = (self.rng.integers(0, 1 << 52, n, dtype=np.uint64)
             | (self.rng.integers(exp_lo, exp_hi + 1, n, dtype=np.uint64)
                << np.uint64(52))
             | (self.rng.integers(0, 2, n, dtype=np.uint64)
                << np.uint64(63)))
        return b.view(np.float64).tolist()

    def run(self):
        rng = self.rng
        # Floats, f8 first: every range, cancellation, the edges.
        self.floats("f8-wide", self.wide(3001))
        self.floats("f8-uniform", rng.uniform(-1, 1, 100003).tolist())
        self.floats("f8-normal", (rng.standard_normal(20000) *
                                  10.0 ** rng.uniform(-3, 3, 20000))
                    .tolist())
        self.floats("f8-bits", self.bits_f8(5000, 0, 2030))
        self.floats("f8-cancel", [1e16, 1.0, -1e16] * 1000)
        cancel = [1e16, 1.0, -1e16] * 700
        rng.shuffle(cancel)
        self.floats("f8-cancel-shuffled", cancel)
        self.floats("f8-subnormal", self.bits_f8(3000, 0, 0))
        self.floats("f8-subnormal-mix", self.bits_f8(2000, 0, 3) +
                    [5e-324, -5e-324] * 10)
        scales = np.tile([1e300, 1, 1e-300, 1e100], 1000)
        self.floats("f8-mixed-scale",
                    (rng.uniform(-1, 1, 4000) * scales).tolist())
        self.floats("f8-overflow", [DBL_MAX] * 3)
        self.floats("f8-overflow-neg", [-DBL_MAX, -DBL_MAX, 1.0])
        self.floats("f8-overflow-back", [DBL_MAX, DBL_MAX, -DBL_MAX])
        self.floats("f8-overflow-tie", [DBL_MAX, 2.0 ** 970])
        self.floats("f8-overflow-below", [DBL_MAX, 2.0 ** 969])
        self.floats("f8-huge-cancel", [DBL_MAX] * 2000 + [-DBL_MAX] * 2000
                    + [3.5])
        self.floats("f8-tie-even", [1.0, 2.0 ** -53])
        self.floats("f8-tie-odd", [1.0 + 2.0 ** -52, 2.0 ** -53])
        self.floats("f8-tie-sticky", [1.0, 2.0 ** -53, 2.0 ** -1074])
        self.floats("f8-tie-sticky-neg", [1.0, 2.0 ** -53, -(2.0 ** -1074)])
        ties = []
        for x in rng.uniform(1, 2, 200).tolist():
            ties += [x * 2.0 ** int(rng.integers(-900, 900)), 0.0]
            ties[-1] = math.ulp(ties[-2]) / 2 * (1 if rng.random() < .5
                                                 else -1)
        for i in range(0, 40, 2):
            self.floats("f8-tie-%02d" % (i // 2), ties[i:i + 2], ("<f8",))
        self.floats("f8-one", [0.1])
        self.floats("f8-tenths", [0.1] * 10)
        self.floats("f8-nan", [1.0, float("nan"), 2.0])
        self.floats("f8-pinf", [1.0, float("inf"), -DBL_MAX, -DBL_MAX])
        self.floats("f8-ninf", [float("-inf")] * 3 + [5.0])
        self.floats("f8-inf-inf", [float("inf"), float("-inf")])
        self.floats("f8-negzero", [-0.0] * 5)
        self.floats("f8-negzero-block", [-0.0] * 5000)
        self.floats("f8-zero-mix", [-0.0, 0.0, -0.0])
        self.floats("f8-zero-cancel", [-1e-300, 1e-300, -0.0])
        self.floats("f8-empty", [])

        # Single and half precision: every bit pattern class.
        f4 = (rng.integers(0, 1 << 32, 6000, dtype=np.uint64)
              .astype(np.uint32).view(np.float32))
        f4 = f4[np.isfinite(f4)]
        self.floats("f4-bits", f4.astype(np.float64).tolist(),
                    ("<f4", ">f4"))
        sub4 = (rng.integers(0, 1 << 23, 2000, dtype=np.uint64)
                .astype(np.uint32) | (rng.integers(0, 2, 2000,
                                                   dtype=np.uint64)
                                      .astype(np.uint32) << 31))
        self.floats("f4-subnormal", sub4.view(np.float32).astype(np.float64)
                    .tolist(), ("<f4", ">f4"))
        self.floats("f4-uniform", rng.uniform(-1, 1, 10007)
                    .astype(np.float32).astype(np.float64).tolist(),
                    ("<f4", ">f4"))
        self.floats("f4-specials", [1.0, float("inf"), 2.0], ("<f4", ">f4"))
        self.floats("f4-nan", [1.0, float("nan")], ("<f4",))
        f2 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
        f2 = f2.view(np.float16)
        f2 = f2[np.isfinite(f2)]
        self.floats("f2-all", f2.astype(np.float64).tolist(),
                    ("<f2", ">f2"))
        self.floats("f2-positive", f2[f2 > 0].astype(np.float64).tolist(),
                    ("<f2", ">f2"))
        f2r = (rng.integers(0, 1 << 16, 5000, dtype=np.uint64)
               .astype(np.uint16).view(np.float16))
        f2r = f2r[np.isfinite(f2r)]
        self.floats("f2-random", f2r.astype(np.float64).tolist(),
                    ("<f2", ">f2"))
        self.floats("f2-inf", [1.0, float("-inf")], ("<f2", ">f2"))

        # Complex: two independent sums.
        for code in ("<c16", ">c16"):
            re = self.wide(2000)
            im = rng.standard_normal(2000).tolist()
            self.complex("c16-%s" % code[0].replace("<", "le")
                         .replace(">", "be"),
                         [complex(a, b) for a, b in zip(re, im)], code)
        for code in ("<c8", ">c8"):
            re = rng.uniform(-1, 1, 3000).astype(np.float32)
            im = (rng.standard_normal(3000) * 1e30).astype(np.float32)
            self.complex("c8-%s" % code[0].replace("<", "le")
                         .replace(">", "be"),
                         [complex(a, b) for a, b in zip(re, im)], code)
        self.complex("c16-specials", [complex(float("nan"), 1.0),
                                      complex(2.0, float("-inf")),
                                      complex(3.0, -0.0)], "<c16")
        self.complex("c16-negzero", [complex(-0.0, -0.0)] * 3, "<c16")

        # Integers: exact however large.
        ii64 = np.iinfo(np.int64)
        for code in ("<i8", ">i8"):
            tag = code[0].replace("<", "le").replace(">", "be")
            self.ints("i8-full-%s" % tag,
                      rng.integers(ii64.min, ii64.max, 10001,
                                   dtype=np.int64, endpoint=True)
                      .astype(code))
            self.ints("i8-max-%s" % tag,
                      np.full(1001, ii64.max, dtype=code))
            self.ints("i8-min-%s" % tag,
                      np.full(1003, ii64.min, dtype=code))
            self.ints("u8-top-%s" % tag.replace("i8", "u8"),
                      (np.uint64((1 << 64) - 1) -
                       rng.integers(0, 1000, 4099, dtype=np.uint64))
                      .astype(code.replace("i", "u")))
            self.ints("u8-max-%s" % tag,
                      np.full(777, (1 << 64) - 1,
                              dtype=code.replace("i", "u")))
            self.ints("u8-full-%s" % tag,
                      rng.integers(0, (1 << 64) - 1, 5003, dtype=np.uint64,
                                   endpoint=True)
                      .astype(code.replace("i", "u")))
        for size in (1, 2, 4):
            for signed in ("i", "u"):
                info = np.iinfo("%s%d" % (signed, size))
                for order in ("<", ">") if size > 1 else ("|",):
                    code = "%s%s%d" % (order, signed, size)
                    tag = {"<": "le", ">": "be", "|": "na"}[order]
                    n = int(rng.integers(1, 70000))
                    self.ints("%s%d-%s" % (signed, size, tag),
                              rng.integers(info.min, info.max, n,
                                           dtype=np.int64, endpoint=True)
                              .astype(code))
                    self.ints("%s%d-ext-%s" % (signed, size, tag),
                              np.array([info.min, info.max] * 2000 +
                                       [info.max] * 77, dtype=code))
        raw = rng.integers(0, 256, 70001, dtype=np.uint8)
        raw[rng.random(70001) < 0.5] = 0
        self.ints("b1-raw", raw.view(np.bool_))
        self.ints("b1-ones", np.ones(33, dtype=np.bool_))
        self.ints("i8-empty", np.zeros(0, dtype="<i8"))

        with open(os.path.join(self.outdir, "manifest.txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")

    def fmt(self):
        """Doubles of every kind and their repr()."""
        rng = self.rng
        vals = self.bits_f8(2000, 0, 2046)
        vals += self.wide(500)
        vals += [float(int(v)) for v in rng.integers(-10 ** 17, 10 ** 17,
                                                     200)]
        vals += [2.0 ** k for k in range(-1074, 1024, 7)]
        vals += [10.0 ** k for k in range(-320, 309)]
        vals += [float("%de%d" % (rng.integers(1, 10 ** int(rng.integers(
            1, 17))), rng.integers(-330, 300))) for _ in range(500)]
        vals += [0.1, 0.2, 0.3, 1e16, 1e15, 123456789012345678.0, 1e-4,
                 1e-5, 9.999999999999999e-5, 100.0, 1e22, 1e23, 5e-324,
                 DBL_MAX, 2.2250738585072014e-308, 1.5, 2.0 ** 53,
                 2.0 ** 53 + 2, 0.5, 1 / 3]
        vals += [-v for v in vals[-20:]]
        vals = [v for v in vals if v != 0 and math.isfinite(v)]
        with open(os.path.join(self.outdir, "fmt.bin"), "wb") as f:
            f.write(struct.pack("<%dd" % len(vals), *vals))
        with open(os.path.join(self.outdir, "fmt.txt"), "w") as f:
            f.write("".join(repr(v) + "\n" for v in vals))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: gen-accum.py OUTDIR [SEED]")
    seed = int(sys.argv[2]) if len(sys.argv) == 3 else 20240611
    g = Gen(sys.argv[1], seed)
    g.run()
    g.fmt()


if __name__ == "__main__":
    main()
