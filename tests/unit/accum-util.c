/*
 * accum-util.c: the helpers of the dfs_acc tests (see accum-util.h and
 * the essay at the top of test-accum.c on where the answers come from).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accum-util.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* Random numbers: splitmix64, seeded per test so failures reproduce. */

static uint64_t	rng_state;

void
rng_seed(uint64_t s)
{
	rng_state = s;
}

/* The next 64 random bits. */
uint64_t
rnd(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), 0 for n = 0. */
size_t
rnd_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

/* Uniform in [0, 1). */
double
rnd_unit(void)
{
	return (double)(rnd() >> 11) * 0x1p-53;
}

double
from_bits(uint64_t b)
{
	double	x;

	memcpy(&x, &b, 8);
	return x;
}

uint64_t
to_bits(double x)
{
	uint64_t	b;

	memcpy(&b, &x, 8);
	return b;
}

/* ------------------------------------------------------------------ */
/* The reference: one element at a time into a big integer (2^-1074). */


/* Zero, and "every element -0.0" of nothing. */
void
ref_init(struct ref *r)
{
	memset(r, 0, sizeof *r);
	r->negzero = true;
}

/* r += m * 2^sh, or r -= it. */
void
ref_addsub(struct ref *r, uint64_t m, unsigned sh, bool neg)
{
	uint32_t	t[REF_DIG];
	uint64_t	c;

	memset(t, 0, sizeof t);
	for (unsigned b = 0; b < 64; b++)
		if ((m >> b) & 1)
			t[(sh + b) / 32] |= 1U << ((sh + b) % 32);
	c = neg ? 1 : 0;
	for (int i = 0; i < REF_DIG; i++) {
		c += (uint64_t)r->d[i] + (neg ? (uint32_t)~t[i] : t[i]);
		r->d[i] = (uint32_t)c;
		c >>= 32;
	}
}

/* One element, through frexp rather than its bits. */
void
ref_add(struct ref *r, double x)
{
	uint64_t	m;
	int		e, sh;

	r->n++;
	if (!(x == 0 && signbit(x)))
		r->negzero = false;
	if (isnan(x)) {
		r->nan = true;
		return;
	}
	if (isinf(x)) {
		if (x > 0)
			r->pinf = true;
		else
			r->ninf = true;
		return;
	}
	if (x == 0)
		return;
	/* |x| = f 2^e, f in [1/2, 1): |x| = (f 2^53) 2^(e - 53). */
	m = (uint64_t)ldexp(frexp(fabs(x), &e), 53);
	sh = e - 53 + 1074;
	for (; sh < 0; sh++) {
		assert_true((m & 1) == 0);
		m >>= 1;
	}
	ref_addsub(r, m, (unsigned)sh, x < 0);
}

/* Bit i of a digit array (0 for i < 0). */
bool
bit_of(const uint32_t *d, int i)
{
	return i >= 0 && ((d[i / 32] >> (i % 32)) & 1);
}

/* The exact sum rounded to nearest, ties to even, bit by bit. */
double
ref_result(const struct ref *r)
{
	uint32_t	d[REF_DIG];
	bool		neg, half, sticky = false;
	uint64_t	q = 0, c = 1;
	int		top, i;
	double		x;

	if (r->nan || (r->pinf && r->ninf))
		return NAN;
	if (r->pinf)
		return INFINITY;
	if (r->ninf)
		return -INFINITY;
	memcpy(d, r->d, sizeof d);
	neg = d[REF_DIG - 1] >> 31;
	if (neg) {
		for (i = 0; i < REF_DIG; i++) {
			c += (uint32_t)~d[i];
			d[i] = (uint32_t)c;
			c >>= 32;
		}
	}
	for (top = 32 * REF_DIG - 1; top >= 0 && !bit_of(d, top); top--)
		;
	if (top < 0)
		return r->n > 0 && r->negzero ? -0.0 : 0.0;
	if (top < 53) {
		for (i = top; i >= 0; i--)
			q = q << 1 | bit_of(d, i);
		x = ldexp((double)q, -1074);
	} else {
		for (i = top; i > top - 53; i--)
			q = q << 1 | bit_of(d, i);
		half = bit_of(d, top - 53);
		for (i = top - 54; i >= 0 && !sticky; i--)
			sticky = bit_of(d, i);
		if (half && (sticky || (q & 1)))
			q++;
		x = ldexp((double)q, top - 52 - 1074);
	}
	return neg ? -x : x;
}

/* IEEE half precision to double, the plain way. */
double
ref_half(uint16_t h)
{
	int	e = (h >> 10) & 31, m = h & 1023;
	double	v;

	if (e == 31)
		v = m != 0 ? NAN : INFINITY;
	else if (e == 0)
		v = ldexp(m, -24);
	else
		v = ldexp(m + 1024, e - 25);
	return (h >> 15) ? -v : v;
}

/* An __int128 in decimal, the plain way. */
void
i128_dec(__int128 v, char *out)
{
	char			buf[64], *p = buf + sizeof buf;
	unsigned __int128	u = v < 0 ? -(unsigned __int128)v :
				    (unsigned __int128)v;

	*--p = '\0';
	do {
		*--p = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	strcpy(out, p);
}

/* ------------------------------------------------------------------ */
/* Arrays as raw .npy element bytes. */


/* Whether this machine is little-endian. */
bool
host_little(void)
{
	uint16_t	x = 1;

	return *(uint8_t *)&x == 1;
}

/* Element i's bytes in host order into out (size bytes). */
void
elem_bytes(const struct arr *a, size_t i, unsigned part, uint8_t *out)
{
	unsigned	w = a->kind == 'c' ? a->size / 2 : a->size;
	const uint8_t	*p = a->data + i * a->size + part * w;
	bool		rev = a->order != '|' &&
			    (a->order == '<') != host_little();

	for (unsigned k = 0; k < w; k++)
		out[k] = rev ? p[w - 1 - k] : p[k];
}

/* Float element i (part 0 real, 1 imaginary) as a double. */
double
elem_float(const struct arr *a, size_t i, unsigned part)
{
	uint8_t		b[8];
	unsigned	w = a->kind == 'c' ? a->size / 2 : a->size;
	uint16_t	h;
	float		f;
	double		x;

	elem_bytes(a, i, part, b);
	switch (w) {
	case 2:
		memcpy(&h, b, 2);
		return ref_half(h);
	case 4:
		memcpy(&f, b, 4);
		return (double)f;
	default:
		memcpy(&x, b, 8);
		return x;
	}
}

/* Integer element i as an __int128. */
__int128
elem_int(const struct arr *a, size_t i)
{
	uint8_t		b[8];
	uint64_t	u = 0;

	elem_bytes(a, i, 0, b);
	if (a->kind == 'b')
		return b[0] != 0;
	memcpy(&u, b, a->size);
	if (!host_little())
		u >>= 64 - 8 * a->size;
	if (a->kind == 'i' && a->size < 8 && (u >> (8 * a->size - 1)) & 1)
		u |= ~0ULL << (8 * a->size);
	return a->kind == 'i' ? (__int128)(int64_t)u : (__int128)u;
}

void
arr_free(struct arr *a)
{
	free(a->data);
	a->data = NULL;
}

/* An array of n doubles in the given order ('<' or '>') and float kind. */
struct arr
arr_of_doubles(const double *v, size_t n, char order, unsigned size)
{
	struct arr	a = { order, 'f', size, n, xcalloc(n + 1, size) };
	bool		rev = (order == '<') != host_little();
	uint8_t		b[8];

	for (size_t i = 0; i < n; i++) {
		float		f = (float)v[i];

		if (size == 8)
			memcpy(b, &v[i], 8);
		else
			memcpy(b, &f, 4);
		for (unsigned k = 0; k < size; k++)
			a.data[i * size + k] = rev ? b[size - 1 - k] : b[k];
	}
	return a;
}

/* The partial kind a NumPy type char needs. */
enum dfs_acc_kind
acc_kind_of(char kind)
{
	return kind == 'f' ? DFS_ACC_FLOAT : kind == 'c' ? DFS_ACC_COMPLEX :
	    DFS_ACC_INT;
}

/* Elements [from, to) of a into a fresh partial. */
void
acc_range(struct dfs_acc *acc, const struct arr *a, size_t from, size_t to)
{
	dfs_acc_init(acc, acc_kind_of(a->kind));
	assert_int_equal(dfs_acc_add(acc, a->kind, a->size, a->order != '>',
	    a->data + from * a->size, to - from), 0);
	assert_true(dfs_acc_count(acc) == to - from);
}

/* The result as the oracle prints it ("re\tim" for complex). */
void
acc_str(const struct dfs_acc *acc, char *out, size_t cap)
{
	char	re[DFS_FMT_DOUBLE_MAX], im[DFS_FMT_DOUBLE_MAX];
	double	x, y;

	switch (dfs_acc_kind(acc)) {
	case DFS_ACC_INT:
		assert_int_equal(dfs_acc_result_dec(acc, out, cap), 0);
		break;
	case DFS_ACC_COMPLEX:
		dfs_acc_result_c128(acc, &x, &y);
		dfs_fmt_double(x, re, sizeof re);
		dfs_fmt_double(y, im, sizeof im);
		snprintf(out, cap, "%s\t%s", re, im);
		break;
	default:
		dfs_fmt_double(dfs_acc_result_f64(acc), out, cap);
		break;
	}
}

/* The encoding of a partial.  Caller releases w. */
void
acc_enc(const struct dfs_acc *acc, struct dfs_wbuf *w)
{
	dfs_wbuf_init(w);
	dfs_acc_encode(acc, w);
	assert_true(w->len <= DFS_ACC_ENC_MAX);
}

/* Encode, decode: what travels.  The copy must decode whole. */
void
acc_wire(const struct dfs_acc *src, struct dfs_acc *dst)
{
	struct dfs_wbuf	w;
	struct dfs_rbuf	r;

	acc_enc(src, &w);
	dfs_rbuf_init(&r, w.data, w.len);
	assert_int_equal(dfs_acc_decode(&r, dst), 0);
	assert_int_equal(dfs_rbuf_done(&r), 0);
	dfs_wbuf_release(&w);
}

/* Two partials must encode to the same bytes. */
void
assert_same_enc(const struct dfs_acc *a, const struct dfs_acc *b,
    const char *what)
{
	struct dfs_wbuf	wa, wb;

	acc_enc(a, &wa);
	acc_enc(b, &wb);
	if (wa.len != wb.len || memcmp(wa.data, wb.data, wa.len) != 0) {
		print_error("%s: encodings differ (%zu and %zu bytes)\n",
		    what, wa.len, wb.len);
		fail();
	}
	dfs_wbuf_release(&wa);
	dfs_wbuf_release(&wb);
}

/* Bits equal, or both NaN. */
void
assert_same_double(double got, double want, const char *what)
{
	if (isnan(got) && isnan(want))
		return;
	if (to_bits(got) != to_bits(want)) {
		print_error("%s: got %a (%.17g), want %a (%.17g)\n", what,
		    got, got, want, want);
		fail();
	}
}

/*
 * The array cut at random points into k partials, merged in a random
 * tree, some of them through the wire on the way: must encode exactly as
 * the whole array does.
 */
void
check_split_merge(const struct arr *a, const struct dfs_acc *whole,
    const char *what)
{
	struct dfs_acc	*parts, t;
	size_t		 k = 1 + rnd_below(a->n < 12 ? a->n + 1 : 12);
	size_t		*cut = xcalloc(k + 1, sizeof *cut);

	parts = xcalloc(k, sizeof *parts);
	for (size_t i = 1; i < k; i++)
		cut[i] = rnd_below(a->n + 1);
	cut[k] = a->n;
	/* Sort the cuts (k is small). */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i + 1; j < k; j++)
			if (cut[j] < cut[i]) {
				size_t	x = cut[i];

				cut[i] = cut[j];
				cut[j] = x;
			}
	for (size_t i = 0; i < k; i++) {
		acc_range(&parts[i], a, cut[i], cut[i + 1]);
		if (rnd() & 1) {
			acc_wire(&parts[i], &t);
			parts[i] = t;
		}
	}
	while (k > 1) {
		size_t	i = rnd_below(k), j = rnd_below(k - 1);

		if (j >= i)
			j++;
		assert_int_equal(dfs_acc_merge(&parts[i], &parts[j]), 0);
		if (rnd() % 3 == 0) {
			acc_wire(&parts[i], &t);
			parts[i] = t;
		}
		parts[j] = parts[--k];
	}
	assert_true(dfs_acc_count(&parts[0]) == a->n);
	assert_same_enc(&parts[0], whole, what);
	free(parts);
	free(cut);
}

/* The float array against the reference, bit for bit, on each kernel. */
void
check_float_arr(const struct arr *a, const char *what)
{
	struct dfs_acc	acc, other;
	struct ref	ref[2];
	double		got[2];
	unsigned	parts = a->kind == 'c' ? 2 : 1;
	bool		simd = dfs_acc_set_simd(false);

	for (unsigned p = 0; p < parts; p++) {
		ref_init(&ref[p]);
		for (size_t i = 0; i < a->n; i++)
			ref_add(&ref[p], elem_float(a, i, p));
	}
	acc_range(&other, a, 0, a->n);		/* portable */
	dfs_acc_set_simd(true);
	acc_range(&acc, a, 0, a->n);		/* AVX2 where there is */
	dfs_acc_set_simd(simd);
	assert_same_enc(&acc, &other, what);
	if (parts == 2)
		dfs_acc_result_c128(&acc, &got[0], &got[1]);
	else
		got[0] = dfs_acc_result_f64(&acc);
	for (unsigned p = 0; p < parts; p++)
		assert_same_double(got[p], ref_result(&ref[p]), what);
	check_split_merge(a, &acc, what);
}

/* One double of a kind of data; `run` fixes what D_EXTREME repeats. */
double
rnd_double(enum dist d, uint64_t run)
{
	uint64_t	r = rnd();

	switch (d) {
	case D_UNIFORM:
		return 2 * rnd_unit() - 1;
	case D_WIDE:	/* log-uniform over 2^-996 .. 2^997, both signs */
		return ldexp(r & 1 ? -1 - rnd_unit() : 1 + rnd_unit(),
		    (int)rnd_below(1993) - 996);
	case D_BITS:	/* any finite exponent short of overflow */
		return from_bits((r & ~(0x7ffULL << 52)) |
		    (uint64_t)rnd_below(2031) << 52);
	case D_SUBNORMAL:
		return from_bits(r & 0x800fffffffffffffULL);
	case D_MIXED:	/* most in one window, some far below it */
		if (r % 10 == 0)
			return (2 * rnd_unit() - 1) * 1e-30;
		if (r % 97 == 1)
			return from_bits(rnd() & 0x800fffffffffffffULL);
		return 2 * rnd_unit() - 1;
	case D_INTS:
		return (double)(int64_t)(r >> 11) - 0x1p52;
	case D_ZEROS:
		if (r & 1)
			return r & 2 ? -0.0 : 0.0;
		return 2 * rnd_unit() - 1;
	case D_EXTREME:	/* full significands where the window ends */
		return from_bits((run & 1) << 63 |
		    (uint64_t)(32 * (run % 63) + 32) << 52 |
		    ((1ULL << 52) - 1));
	default:
		switch (r % 60) {
		case 0:
			return NAN;
		case 1:
			return INFINITY;
		case 2:
			return -INFINITY;
		}
		return rnd_double(D_WIDE, run);
	}
}
