/*
 * accum.c: partials of dfs-sum: adding, merging, results, the wire form,
 * and doubles printed the way Python prints them.
 *
 * The arithmetic lives in accum-float.c (the superaccumulator) and
 * accum-int.c (256-bit totals); this file is the API around them.
 *
 * The wire form is canonical so that equal sums encode to equal bytes
 * however they were reached: each value is normalized and written as sign
 * and magnitude with no leading or trailing zero digits, and the flags are
 * reduced to what can still change the result (a NaN or an infinity makes
 * the finite part irrelevant, so it is dropped).  Decoding accepts only
 * that form, and only sums that `count` elements of the type could make,
 * so a hostile data node cannot plant a value that overflows a merge.
 * doc/protocol.md describes the layout in prose:
 *
 *	u8 version (1)  u8 kind (1 float, 2 int, 3 complex)  u64 count
 *	float part (once for float, real then imaginary for complex):
 *	    u8 flags (1 NaN, 2 +inf, 4 -inf, 8 every element was -0.0)
 *	    u8 sign  u8 lo  u8 n  n x u32 magnitude digits 32 lo ... upward,
 *	    in units of 2^-1074; first and last digit nonzero
 *	int: u8 sign  u8 n (<= 3)  n x u64 magnitude limbs, last nonzero
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accum.h"
#include "accum_i.h"

#define FL_NAN		0x01
#define FL_PINF		0x02
#define FL_NINF		0x04
#define FL_NEGZERO	0x08
/* Every |double| is below 2^1024, 2^2098 units of 2^-1074. */
#define FP_ELEM_BITS	2098
/*
 * Whether a float magnitude (digits of 2^-1074 units) is one that count
 * doubles can sum to: |sum| <= count * 2^2098.  The bound is closed under
 * merging, so merged plausible partials encode to plausible ones.
 */
static bool
fp_plausible(const uint32_t *d, uint64_t count)
{
	int		h;
	unsigned	bits;
	uint64_t	hi;

	for (h = DFS_ACC_NCHUNK - 1; h >= 0 && d[h] == 0; h--)
		;
	if (h < 0)
		return true;
	bits = 32 * (unsigned)h + 32 - (unsigned)__builtin_clz(d[h]);
	if (bits <= FP_ELEM_BITS)
		return count > 0;
	if (bits > FP_ELEM_BITS + 64)
		return false;
	hi = acc_mag_bits64(d, FP_ELEM_BITS);
	if (hi != count)
		return hi < count;
	return !acc_mag_sticky(d, FP_ELEM_BITS);
}

/* An empty partial: zero, no flags, and "all -0.0" (of nothing). */
void
dfs_acc_init(struct dfs_acc *a, enum dfs_acc_kind kind)
{
	memset(a, 0, sizeof *a);
	a->kind = kind;
	if (kind != DFS_ACC_INT) {
		acc_fp_init(&a->u.fp[0]);
		acc_fp_init(&a->u.fp[1]);
	}
}

enum dfs_acc_kind
dfs_acc_kind(const struct dfs_acc *a)
{
	return a->kind;
}

uint64_t
dfs_acc_count(const struct dfs_acc *a)
{
	return a->count;
}

/* count += n, stopping at the top rather than wrapping. */
static void
count_add(struct dfs_acc *a, uint64_t n)
{
	if (__builtin_add_overflow(a->count, n, &a->count))
		a->count = UINT64_MAX;
}

/* Check the dtype against the partial's kind, then hand to the kernels. */
int
dfs_acc_add(struct dfs_acc *a, char kind, unsigned itemsize, bool little,
    const void *p, size_t n)
{
	const uint8_t	*b = p;
	int		 rc = 0;

	switch (kind) {
	case 'f':
		if (a->kind != DFS_ACC_FLOAT ||
		    (itemsize != 2 && itemsize != 4 && itemsize != 8))
			return -EINVAL;
		if (n > 0)
			acc_fp_add(&a->u.fp[0], itemsize, little, b, itemsize,
			    n);
		break;
	case 'c':
		if (a->kind != DFS_ACC_COMPLEX ||
		    (itemsize != 8 && itemsize != 16))
			return -EINVAL;
		if (n > 0) {
			acc_fp_add(&a->u.fp[0], itemsize / 2, little, b,
			    itemsize, n);
			acc_fp_add(&a->u.fp[1], itemsize / 2, little,
			    b + itemsize / 2, itemsize, n);
		}
		break;
	case 'b':
	case 'i':
	case 'u':
		if (a->kind != DFS_ACC_INT)
			return -EINVAL;
		if (n > 0)
			rc = acc_int_add(a->u.limb, kind, itemsize, little, b,
			    n);
		else if (itemsize != 1 && itemsize != 2 && itemsize != 4 &&
		    itemsize != 8)
			rc = -EINVAL;
		else if (kind == 'b' && itemsize != 1)
			rc = -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (rc == 0)
		count_add(a, n);
	return rc;
}

/* Exact, so any order of merges gives the same partial. */
int
dfs_acc_merge(struct dfs_acc *dst, const struct dfs_acc *src)
{
	if (dst->kind != src->kind)
		return -EINVAL;
	switch (dst->kind) {
	case DFS_ACC_INT:
		acc_int_add256(dst->u.limb, src->u.limb);
		break;
	case DFS_ACC_COMPLEX:
		acc_fp_merge(&dst->u.fp[1], &src->u.fp[1]);
		/* FALLTHROUGH */
	case DFS_ACC_FLOAT:
		acc_fp_merge(&dst->u.fp[0], &src->u.fp[0]);
		break;
	default:
		return -EINVAL;
	}
	count_add(dst, src->count);
	return 0;
}

/* Rounded once, here, never before. */
double
dfs_acc_result_f64(const struct dfs_acc *a)
{
	if (a->kind != DFS_ACC_FLOAT)
		return NAN;
	return acc_fp_result(&a->u.fp[0], a->count);
}

/* Each part rounded once on its own. */
void
dfs_acc_result_c128(const struct dfs_acc *a, double *re, double *im)
{
	if (a->kind != DFS_ACC_COMPLEX) {
		*re = *im = NAN;
		return;
	}
	*re = acc_fp_result(&a->u.fp[0], a->count);
	*im = acc_fp_result(&a->u.fp[1], a->count);
}

/* The integer total, all its digits. */
int
dfs_acc_result_dec(const struct dfs_acc *a, char *out, size_t cap)
{
	if (a->kind != DFS_ACC_INT)
		return -EINVAL;
	return acc_int_dec(a->u.limb, out, cap);
}

const char *
dfs_acc_impl(void)
{
	return acc_simd ? "avx2" : "portable";
}

/* For tests and benchmarks: both kernels must give the same bits. */
bool
dfs_acc_set_simd(bool enable)
{
	bool	was = acc_simd;

	acc_simd = enable && acc_fp_avx2_ok();
	return was;
}

/*
 * The digits of |x| (x finite, nonzero) that Python's repr prints: the
 * shortest decimal that reads back as x, the nearest one if there are
 * several.  *decpt is where the decimal point goes (x = 0.DIGITS e decpt).
 */
static void
shortest_digits(double x, char *digits, int *decpt)
{
	char		buf[40], *e;
	uint64_t	d, cand[3];
	int		exp10 = 0, p, k, n;

	for (p = 1; p <= 17; p++) {
		/* The nearest p-digit decimal, "d.ddde+XX". */
		snprintf(buf, sizeof buf, "%.*e", p - 1, x);
		d = 0;
		/* Digits only: the radix character is the locale's. */
		for (e = buf; *e != 'e'; e++)
			if (*e >= '0' && *e <= '9')
				d = d * 10 + (uint64_t)(*e - '0');
		exp10 = atoi(e + 1) - (p - 1);	/* x ~ d * 10^exp10 */
		/*
		 * Next to a power of two the interval that reads back as x
		 * is lopsided, and a neighbour of the nearest p-digit
		 * decimal may fit where the nearest does not.
		 */
		cand[0] = d;
		cand[1] = d + 1;
		cand[2] = d - 1;
		for (k = 0; k < 3; k++) {
			if (cand[k] == 0)
				continue;
			snprintf(buf, sizeof buf, "%" PRIu64 "e%d", cand[k],
			    exp10);
			if (strtod(buf, NULL) == x)
				goto found;
		}
	}
	/* Not reached: 17 significant digits always read back. */
	abort();
found:
	n = snprintf(digits, 24, "%" PRIu64, cand[k]);
	while (n > 1 && digits[n - 1] == '0') {
		digits[--n] = '\0';
		exp10++;
	}
	*decpt = n + exp10;
}

/* Python's repr(): fixed notation for 1e-4 <= |x| < 1e16, else exponent. */
void
dfs_fmt_double(double x, char *out, size_t cap)
{
	char	buf[DFS_FMT_DOUBLE_MAX + 8], digits[24], *o = buf;
	int	decpt, n, i;

	if (cap == 0)
		return;
	if (isnan(x)) {
		snprintf(out, cap, "nan");
		return;
	}
	if (isinf(x)) {
		snprintf(out, cap, "%s", x < 0 ? "-inf" : "inf");
		return;
	}
	if (x == 0) {
		snprintf(out, cap, "%s", signbit(x) ? "-0.0" : "0.0");
		return;
	}
	if (x < 0)
		*o++ = '-';
	shortest_digits(fabs(x), digits, &decpt);
	n = (int)strlen(digits);
	if (decpt <= -4 || decpt > 16) {
		/* Python's repr: "d.ddde+XX", at least two exponent digits. */
		*o++ = digits[0];
		if (n > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)n - 1);
			o += n - 1;
		}
		snprintf(o, 16, "e%c%02d", decpt - 1 < 0 ? '-' : '+',
		    abs(decpt - 1));
	} else if (decpt <= 0) {
		*o++ = '0';
		*o++ = '.';
		for (i = decpt; i < 0; i++)
			*o++ = '0';
		memcpy(o, digits, (size_t)n + 1);
	} else if (decpt >= n) {
		memcpy(o, digits, (size_t)n);
		o += n;
		for (i = n; i < decpt; i++)
			*o++ = '0';
		memcpy(o, ".0", 3);
	} else {
		memcpy(o, digits, (size_t)decpt);
		o += decpt;
		*o++ = '.';
		memcpy(o, digits + decpt, (size_t)(n - decpt) + 1);
	}
	snprintf(out, cap, "%s", buf);
}

/* One float part in canonical form. */
static void
encode_fp(const struct dfs_acc_fp *f, uint64_t count, struct dfs_wbuf *w)
{
	struct acc_fp_mag	mg;
	uint8_t			flags = 0;
	int			lo, hi;

	acc_fp_to_mag(f, &mg);
	for (hi = DFS_ACC_NCHUNK - 1; hi >= 0 && mg.d[hi] == 0; hi--)
		;
	for (lo = 0; lo < hi && mg.d[lo] == 0; lo++)
		;
	if (f->nan)
		flags |= FL_NAN;
	if (f->pinf)
		flags |= FL_PINF;
	if (f->ninf)
		flags |= FL_NINF;
	if (flags == 0 && hi < 0 && count > 0 && f->all_neg)
		flags |= FL_NEGZERO;
	dfs_put_u8(w, flags);
	if (hi < 0) {
		dfs_put_u8(w, 0);
		dfs_put_u8(w, 0);
		dfs_put_u8(w, 0);
		return;
	}
	dfs_put_u8(w, mg.neg);
	dfs_put_u8(w, (uint8_t)lo);
	dfs_put_u8(w, (uint8_t)(hi - lo + 1));
	for (int i = lo; i <= hi; i++)
		dfs_put_u32(w, mg.d[i]);
}

/* Canonical: equal sums of equal counts give equal bytes. */
void
dfs_acc_encode(const struct dfs_acc *a, struct dfs_wbuf *w)
{
	int	n = 0;

	dfs_put_u8(w, DFS_ACC_VERSION);
	dfs_put_u8(w, (uint8_t)a->kind);
	dfs_put_u64(w, a->count);
	switch (a->kind) {
	case DFS_ACC_INT: {
		uint64_t	mag[4];
		bool		neg = a->u.limb[3] >> 63;
		unsigned __int128 c = 1;

		for (int i = 0; i < 4; i++) {
			mag[i] = a->u.limb[i];
			if (neg) {
				c += ~a->u.limb[i];
				mag[i] = (uint64_t)c;
				c >>= 64;
			}
			if (mag[i] != 0)
				n = i + 1;
		}
		/* More than 3 limbs only from a flood of hostile merges. */
		if (n > ACC_INT_MAXLIMB)
			n = ACC_INT_MAXLIMB;
		dfs_put_u8(w, neg && n > 0);
		dfs_put_u8(w, (uint8_t)n);
		for (int i = 0; i < n; i++)
			dfs_put_u64(w, mag[i]);
		break;
	}
	case DFS_ACC_COMPLEX:
		encode_fp(&a->u.fp[0], a->count, w);
		encode_fp(&a->u.fp[1], a->count, w);
		break;
	default:
		encode_fp(&a->u.fp[0], a->count, w);
		break;
	}
}

/* One float part; false if it is not in canonical, plausible form. */
static bool
decode_fp(struct dfs_rbuf *r, struct dfs_acc_fp *f, uint64_t count)
{
	struct acc_fp_mag	mg;
	uint8_t			flags = dfs_get_u8(r), sign = dfs_get_u8(r);
	uint8_t			lo = dfs_get_u8(r), n = dfs_get_u8(r);
	if (r->err != 0 || (flags & ~0x0f) != 0 || sign > 1 ||
	    lo + n > DFS_ACC_NCHUNK)
		return false;
	memset(&mg, 0, sizeof mg);
	for (int i = 0; i < n; i++)
		mg.d[lo + i] = dfs_get_u32(r);
	if (r->err != 0)
		return false;
	if (n == 0 && (lo != 0 || sign != 0))
		return false;
	if (n > 0 && (mg.d[lo] == 0 || mg.d[lo + n - 1] == 0))
		return false;
	/* A NaN or an infinity drops the finite part; -0.0 is zero. */
	if ((flags & (FL_NAN | FL_PINF | FL_NINF)) != 0 &&
	    (n != 0 || (flags & FL_NEGZERO) != 0))
		return false;
	if ((flags & FL_NEGZERO) != 0 && n != 0)
		return false;
	if (count == 0 && (flags != 0 || n != 0))
		return false;
	if (!fp_plausible(mg.d, count))
		return false;
	acc_fp_init(f);
	f->nan = (flags & FL_NAN) != 0;
	f->pinf = (flags & FL_PINF) != 0;
	f->ninf = (flags & FL_NINF) != 0;
	f->all_neg = count == 0 || (flags & FL_NEGZERO) != 0;
	mg.neg = sign;
	acc_fp_from_mag(f, &mg);
	return true;
}

/* An int total; false if it is not in canonical, plausible form. */
static bool
decode_int(struct dfs_rbuf *r, uint64_t limb[4], uint64_t count)
{
	uint8_t		sign = dfs_get_u8(r), n = dfs_get_u8(r);
	uint64_t	mag[4] = { 0 };
	unsigned __int128 c = 1;

	if (r->err != 0 || sign > 1 || n > ACC_INT_MAXLIMB)
		return false;
	for (int i = 0; i < n; i++)
		mag[i] = dfs_get_u64(r);
	if (r->err != 0)
		return false;
	if (n == 0 && sign != 0)
		return false;
	if (n > 0 && mag[n - 1] == 0)
		return false;
	/* |sum| <= count * 2^64: the high limbs against count. */
	if (mag[2] != 0 || mag[1] > count || (mag[1] == count && mag[0] != 0))
		return false;
	for (int i = 0; i < 4; i++) {
		limb[i] = mag[i];
		if (sign) {
			c += ~mag[i];
			limb[i] = (uint64_t)c;
			c >>= 64;
		}
	}
	return true;
}

/* Accept only what dfs_acc_encode could have written for real data. */
int
dfs_acc_decode(struct dfs_rbuf *r, struct dfs_acc *dst)
{
	uint8_t		version = dfs_get_u8(r), kind = dfs_get_u8(r);
	uint64_t	count = dfs_get_u64(r);
	bool		ok;

	if (kind == DFS_ACC_FLOAT || kind == DFS_ACC_INT ||
	    kind == DFS_ACC_COMPLEX)
		dfs_acc_init(dst, (enum dfs_acc_kind)kind);
	else
		dfs_acc_init(dst, DFS_ACC_FLOAT);
	ok = r->err == 0 && version == DFS_ACC_VERSION &&
	    dst->kind == (enum dfs_acc_kind)kind;
	if (ok) {
		switch (dst->kind) {
		case DFS_ACC_INT:
			ok = decode_int(r, dst->u.limb, count);
			break;
		case DFS_ACC_COMPLEX:
			ok = decode_fp(r, &dst->u.fp[0], count) &&
			    decode_fp(r, &dst->u.fp[1], count);
			break;
		default:
			ok = decode_fp(r, &dst->u.fp[0], count);
			break;
		}
	}
	if (!ok) {
		dfs_acc_init(dst, dst->kind);
		if (r->err == 0)
			r->err = -EBADMSG;
		return r->err;
	}
	dst->count = count;
	return 0;
}
