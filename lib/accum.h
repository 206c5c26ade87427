/*
 * accum.h: exact, order-independent sums of NumPy array elements.
 *
 * dfs-sum reduces every block of an array on the data node that holds it
 * into a partial (struct dfs_acc), ships the partial to the client and
 * merges the partials there.  A partial holds the exact sum, not a rounded
 * one, so the printed answer has the same bits however the array was cut
 * into blocks and in whatever order the partials are merged:
 *
 * - Floats (f2 f4 f8, and each half of c8 c16) are summed in a fixed-point
 *   superaccumulator covering every double exactly, and rounded once, to
 *   nearest with ties to even, when the result is asked for.  NaN, +inf and
 *   -inf are remembered as flags: any NaN, or +inf with -inf, gives NaN;
 *   infinities of one sign give that infinity; an exact sum beyond the
 *   double range gives +-inf.  A sum of nothing but -0.0 is -0.0, any other
 *   zero sum is +0.0.  Wherever Python's math.fsum returns a number over
 *   the same values the bits are the same (fsum itself, up to 3.13 at
 *   least, answers 0.0 for all -0.0 input).
 * - Integers and bool are summed exactly in a 256-bit two's complement
 *   integer: no wrap-around for any count of elements below 2^64.
 *
 * The encoding of a partial is canonical: equal exact sums of equal counts
 * encode to equal bytes, whatever the merge order.
 */
#ifndef DFS_ACCUM_H
#define DFS_ACCUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum dfs_acc_kind {
	DFS_ACC_FLOAT = 1,
	DFS_ACC_INT,
	DFS_ACC_COMPLEX,
};

/* Version byte that starts an encoded partial. */
#define DFS_ACC_VERSION		1
/*
 * 32-bit chunks of the float superaccumulator, least significant first:
 * chunk i weighs 2^(32 i - 1074).  Every double is an integer multiple of
 * 2^-1074 below 2^2098; 2^64 of them sum below 2^2162 < 2^(32 * 68).
 */
#define DFS_ACC_NCHUNK		68
/* Bytes an encoded partial never exceeds (a complex one, every chunk). */
#define DFS_ACC_ENC_MAX		(10 + 2 * (4 + 4 * DFS_ACC_NCHUNK))
/* Room for the longest decimal dfs_acc_result_dec writes, with its NUL. */
#define DFS_ACC_DEC_MAX		80
/* Room for the longest dfs_fmt_double output ("-2.2250738585072014e-308"). */
#define DFS_FMT_DOUBLE_MAX	32

/*
 * One float sum.  Private to lib/accum*.c: the fields are here only so a
 * partial has a fixed size and lives on the stack, with no heap.
 */
struct dfs_acc_fp {
	int64_t		chunk[DFS_ACC_NCHUNK];	/* signed, carries pending */
	uint32_t	pending;	/* bound on |chunk[i]|, 2^32 units */
	uint8_t		nan;		/* saw a NaN */
	uint8_t		pinf;		/* saw +inf */
	uint8_t		ninf;		/* saw -inf */
	uint8_t		all_neg;	/* every element had its sign bit set */
};

/* A partial.  Treat as opaque; dfs_acc_init before use. */
struct dfs_acc {
	enum dfs_acc_kind	kind;
	uint64_t		count;	/* elements added (saturates) */
	union {
		struct dfs_acc_fp	fp[2];	/* FLOAT [0]; COMPLEX re, im */
		uint64_t		limb[4];/* INT: two's complement, LE */
	} u;
};

void		dfs_acc_init(struct dfs_acc *, enum dfs_acc_kind);
enum dfs_acc_kind dfs_acc_kind(const struct dfs_acc *);

/*
 * Add n elements stored at p: raw bytes from a .npy file, no alignment
 * assumed.  kind is the NumPy type char ('b' bool, 'i', 'u', 'f', 'c'),
 * itemsize 1, 2, 4 or 8 (8 or 16 for complex), little is true for '<' and
 * '|'.  'f' needs a DFS_ACC_FLOAT partial, 'c' a DFS_ACC_COMPLEX one, and
 * 'b' 'i' 'u' a DFS_ACC_INT one.  Returns 0, or -EINVAL for an unsupported
 * combination (the partial is then unchanged).
 */
int		dfs_acc_add(struct dfs_acc *, char kind, unsigned itemsize,
		    bool little, const void *p, size_t n);

/*
 * dst += src, exactly; associative and commutative.  Returns 0, or -EINVAL
 * (dst unchanged) if the two are of different kinds.
 */
int		dfs_acc_merge(struct dfs_acc *dst, const struct dfs_acc *src);

uint64_t	dfs_acc_count(const struct dfs_acc *);

/* The sum of a DFS_ACC_FLOAT partial, rounded once; NaN for another kind. */
double		dfs_acc_result_f64(const struct dfs_acc *);
/* Both parts of a DFS_ACC_COMPLEX partial's sum (NaN for another kind). */
void		dfs_acc_result_c128(const struct dfs_acc *, double *re,
		    double *im);
/*
 * The sum of a DFS_ACC_INT partial in full decimal ("-1234", "0") into out.
 * Returns 0, -ENOSPC if cap is too small (DFS_ACC_DEC_MAX always does), or
 * -EINVAL for another kind.
 */
int		dfs_acc_result_dec(const struct dfs_acc *, char *out,
		    size_t cap);

/*
 * A double as Python's repr() prints it: the shortest decimal that reads
 * back to the same bits ("0.1", "1e+16", "1e-05", "100.0", "-0.0", "nan",
 * "inf").  Truncated (always NUL-terminated) if cap is too small;
 * DFS_FMT_DOUBLE_MAX always does.
 */
void		dfs_fmt_double(double, char *out, size_t cap);

/*
 * A partial for the wire: a version byte, the kind, the count and the
 * exact sum in a canonical sign-magnitude form (at most DFS_ACC_ENC_MAX
 * bytes, a few dozen for typical data).  Appends to the buffer.
 */
void		dfs_acc_encode(const struct dfs_acc *, struct dfs_wbuf *);

/*
 * Read one partial written by dfs_acc_encode.  Everything is checked: the
 * version, the kind, that the form is canonical, that the sum is no larger
 * than count elements of its type can make.  Returns 0, or -EBADMSG with
 * the reader's error set; dst is then an empty partial (of the encoded kind
 * if that was readable, else DFS_ACC_FLOAT).
 */
int		dfs_acc_decode(struct dfs_rbuf *, struct dfs_acc *dst);

/*
 * Which float kernel dfs_acc_add uses: "avx2" or "portable".  Both give
 * identical partials (the sum is exact either way); tests and benchmarks
 * flip between them with dfs_acc_set_simd(false / true).  set_simd(true)
 * only takes effect on a CPU that has AVX2; it returns the previous state.
 * Not thread-safe: call it before any worker starts.
 */
const char	*dfs_acc_impl(void);
bool		 dfs_acc_set_simd(bool enable);

#endif
