#!/usr/bin/python3
"""gen-npy.py: NumPy writes the .npy files that test-npy checks the parser on.

    gen-npy.py OUTDIR            test files and OUTDIR/manifest.txt
    gen-npy.py --corpus OUTDIR   the small seed corpus for tests/fuzz

NumPy is the oracle: every expected value in the manifest comes from NumPy
(the dtype, its name and size, the shape and fortran flag as NumPy's own
header reader returns them) or from the file's bytes (HEADER_LEN, where the
data starts), never from the C code under test.

manifest.txt has one tab-separated line per file:
    name descr fortran shape data_offset major minor itemsize size nbytes
    header_len dtype_name
where descr is dtype.str, fortran is 0 or 1, shape is a comma list ("-"
for 0-d).  Files with a dtype the parser must refuse have the line
    name unsupported dtype.str
"""

import os
import struct
import sys
import warnings

import numpy as np
from numpy.lib import format as npformat

# (file name tag, dtype code): every supported type.
SUPPORTED = [("b1", "?"), ("i1", "i1"), ("i2", "i2"), ("i4", "i4"),
             ("i8", "i8"), ("u1", "u1"), ("u2", "u2"), ("u4", "u4"),
             ("u8", "u8"), ("f2", "f2"), ("f4", "f4"), ("f8", "f8"),
             ("c8", "c8"), ("c16", "c16")]


def values(dtype, shape):
    """Deterministic, distinct-ish values of dtype in shape."""
    n = int(np.prod(shape, dtype=np.int64))
    a = np.arange(n) % 100
    if dtype.kind == "b":
        a = a % 3 == 1
    elif dtype.kind == "c":
        a = a + 1j * (a / 7)
    elif dtype.kind == "f":
        a = a / 4
    return a.astype(dtype).reshape(shape)


def write(path, arr, version=None, allow_pickle=False):
    with open(path, "wb") as f:
        if version is None:
            np.save(f, arr, allow_pickle=allow_pickle)
        else:
            npformat.write_array(f, arr, version=version,
                                 allow_pickle=allow_pickle)


def numpy_header(path):
    """The header as NumPy's own reader sees it."""
    with open(path, "rb") as f:
        version = npformat.read_magic(f)
        raw_len = f.read(2 if version == (1, 0) else 4)
        header_len = struct.unpack("<H" if version == (1, 0) else "<I",
                                   raw_len)[0]
        f.seek(0)
        npformat.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(f)
        elif hasattr(npformat, "_read_array_header"):
            shape, fortran, dtype = npformat._read_array_header(f, version)
        else:
            shape, fortran, dtype = npformat.read_array_header_2_0(f)
        return version, header_len, shape, fortran, dtype, f.tell()


def record(outdir, manifest, name, arr, version=None):
    path = os.path.join(outdir, name)
    write(path, arr, version)
    ver, header_len, shape, fortran, dtype, offset = numpy_header(path)
    size = os.path.getsize(path)
    assert offset == size - arr.nbytes, (name, offset, size, arr.nbytes)
    assert np.array_equal(np.load(path), arr)
    manifest.append("\t".join([
        name, dtype.str, "1" if fortran else "0",
        ",".join(str(d) for d in shape) if shape else "-",
        str(offset), str(ver[0]), str(ver[1]), str(dtype.itemsize),
        str(arr.size), str(arr.nbytes), str(header_len), dtype.name]))


def pad64(outdir, manifest):
    """An empty array whose header needs a whole 64 bytes of padding."""
    for k in range(1, 16):
        for j in range(1, 19):
            shape = (1,) + (0,) * k + (10 ** j,)
            name = "pad64-%d-%d.npy" % (k, j)
            path = os.path.join(outdir, name)
            write(path, np.zeros(shape, "<i4"))
            _, header_len, _, _, _, offset = numpy_header(path)
            with open(path, "rb") as f:
                text = f.read(offset)[10:]
            growth = 21 - len(str(shape[0]))
            if header_len - len(text.rstrip()) - 1 - growth == 64:
                os.unlink(path)
                record(outdir, manifest, name, np.zeros(shape, "<i4"))
                return
            os.unlink(path)
    raise AssertionError("no shape needs 64 bytes of padding")


def fortran_growth(outdir, manifest):
    """A fortran-order array whose header length depends on NumPy sizing
    its growth room by the last dim, not the first."""
    for k in range(0, 21):
        for last in (10, 100, 1000, 10000):
            shape = (2,) + (1,) * k + (last,)
            arr = np.asfortranarray(values(np.dtype("|u1"), shape))
            name = "fortran-growth-%d-%d.npy" % (k, last)
            path = os.path.join(outdir, name)
            write(path, arr)
            _, _, _, fortran, _, offset = numpy_header(path)
            with open(path, "rb") as f:
                text = f.read(offset)[10:].rstrip()
            os.unlink(path)
            assert fortran
            right = 10 + len(text) + 21 - len(str(shape[-1])) + 1
            wrong = 10 + len(text) + 21 - len(str(shape[0])) + 1
            if right // 64 != wrong // 64:
                record(outdir, manifest, name, arr)
                return
    raise AssertionError("no fortran shape where the growth axis matters")


def unsupported(outdir, manifest, name, arr, version=None):
    path = os.path.join(outdir, name)
    write(path, arr, version, allow_pickle=True)
    manifest.append("\t".join([name, "unsupported", arr.dtype.str]))


def generate(outdir):
    m = []
    for name, code in SUPPORTED:
        for order, tag in (("<", "le"), (">", "be")):
            dt = np.dtype(order + code)
            base = "%s-%s" % (name, tag)
            record(outdir, m, base + "-1d.npy", values(dt, (7,)))
            record(outdir, m, base + "-2d.npy", values(dt, (3, 4)))
            record(outdir, m, base + "-0d.npy", values(dt, ()))
            record(outdir, m, base + "-fortran.npy",
                   np.asfortranarray(values(dt, (2, 3, 4))))
            record(outdir, m, base + "-v2.npy", values(dt, (5, 2)),
                   version=(2, 0))
            record(outdir, m, base + "-v3.npy", values(dt, (2, 5)),
                   version=(3, 0))

    f8 = np.dtype("<f8")
    record(outdir, m, "empty-0.npy", np.zeros((0,), f8))
    record(outdir, m, "empty-3x0.npy", np.zeros((3, 0), ">i4"))
    record(outdir, m, "empty-0x5-fortran.npy",
           np.asfortranarray(np.zeros((0, 5), "<u2")))
    record(outdir, m, "4d.npy", values(f8, (2, 3, 4, 5)))
    record(outdir, m, "fortran-2d.npy",
           np.asfortranarray(values(np.dtype("<i8"), (4, 6))))
    record(outdir, m, "fortran-2d-wide.npy",
           np.asfortranarray(values(np.dtype("<i2"), (3, 123456))))
    record(outdir, m, "wide-1d.npy", np.zeros((1234567,), "|u1"))
    record(outdir, m, "ones-32d.npy",
           values(np.dtype("<i4"), (1,) * 31 + (2,)))
    record(outdir, m, "noncontig.npy",
           values(np.dtype("<f4"), (6, 8))[::2, ::3])
    record(outdir, m, "transposed.npy", values(f8, (4, 9)).T)
    record(outdir, m, "empty-v2.npy", np.zeros((0, 2), "<c8"), version=(2, 0))
    record(outdir, m, "0d-v3.npy", np.array(True), version=(3, 0))
    pad64(outdir, m)
    fortran_growth(outdir, m)

    unsupported(outdir, m, "structured.npy",
                np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]))
    unsupported(outdir, m, "structured-nested.npy",
                np.zeros(2, dtype=[("x", [("y", "<i2"), ("z", "u1", (3,))]),
                                   ("w", ">f4")]))
    unsupported(outdir, m, "structured-utf8.npy",
                np.zeros(2, dtype=[("\u03b1\u03b2", "<i4")]))
    unsupported(outdir, m, "object.npy",
                np.array([1, "two", None], dtype=object))
    unsupported(outdir, m, "unicode.npy", np.array(["abc", "de"], "<U5"))
    unsupported(outdir, m, "bytes.npy", np.array([b"ab", b"c"], "S3"))
    unsupported(outdir, m, "datetime.npy",
                np.array(["2024-01-01", "2024-06-30"], "datetime64[ns]"))
    unsupported(outdir, m, "timedelta.npy", np.array([1, 2], "m8[s]"))
    unsupported(outdir, m, "void.npy", np.zeros(2, "V4"))
    if np.dtype(np.longdouble).itemsize > 8:
        unsupported(outdir, m, "longdouble.npy",
                    np.arange(3, dtype=np.longdouble))
        unsupported(outdir, m, "clongdouble.npy",
                    np.arange(3, dtype=np.clongdouble))
    unsupported(outdir, m, "structured-v2.npy",
                np.zeros(2, dtype=[("a", "<i4")]), version=(2, 0))

    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.write("\n".join(m) + "\n")


def corpus(outdir):
    """Small valid and invalid headers to seed the fuzzer."""
    def save(name, data):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)

    def npy(arr, version=None):
        path = os.path.join(outdir, ".tmp.npy")
        write(path, arr, version, allow_pickle=True)
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
        return data

    save("f8-3x4.npy", npy(np.arange(12, dtype="<f8").reshape(3, 4)))
    save("i2-be-fortran.npy",
         npy(np.asfortranarray(np.arange(6, dtype=">i2").reshape(2, 3))))
    save("b1-0d.npy", npy(np.array(True)))
    save("c16-v2.npy", npy(np.zeros((2,), "<c16"), version=(2, 0)))
    save("u4-v3-empty.npy", npy(np.zeros((3, 0), "<u4"), version=(3, 0)))
    save("structured.npy", npy(np.zeros(1, [("a", "<i4"), ("b", "S2")])))
    save("unicode.npy", npy(np.array(["ab"], "<U2")))
    save("truncated.npy", npy(np.zeros((2, 2), "<f4"))[:40])
    bad = bytearray(npy(np.zeros((4,), "<i8")))
    bad[6] = 4
    save("bad-version.npy", bytes(bad))


def main():
    # Version 3.0 is what we ask for; NumPy's reminder is noise here.
    warnings.simplefilter("ignore", UserWarning)
    if len(sys.argv) == 3 and sys.argv[1] == "--corpus":
        os.makedirs(sys.argv[2], exist_ok=True)
        corpus(sys.argv[2])
    elif len(sys.argv) == 2:
        os.makedirs(sys.argv[1], exist_ok=True)
        generate(sys.argv[1])
    else:
        sys.stderr.write("usage: gen-npy.py [--corpus] OUTDIR\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
