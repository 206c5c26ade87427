/*
 * test-accum.c: exact sums (dfs_acc), their wire form, dfs_fmt_double.
 *
 * The expected answers come from places other than the code under test:
 *
 * - Python.  tests/unit/gen-accum.py (run with $PYTHON, default
 *   /usr/bin/python3, which has NumPy) writes arrays of every dtype and
 *   byte order with repr(math.fsum(...)) / str(sum(...)) of them, and
 *   doubles with their repr(), into a private temp dir.
 * - A slow reference written plainly here (struct ref): a 2304-bit two's
 *   complement integer that takes one element at a time, found through
 *   frexp, and a rounding done bit by bit.  Half floats are decoded by
 *   ldexp, single ones by a C cast.  Integers are checked against
 *   __int128 sums.
 * - IEEE 754 rules written out: NaN and infinities, signed zeros, ties to
 *   even, overflow.
 *
 * Every float test runs on both kernels (AVX2 and portable) where the CPU
 * has both, and most through random splits, merges and wire round trips,
 * which must give the same bits and the same bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accum.h"
#include "wire.h"
#include "accum-util.h"
#include "unit-gen.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* Python's answers (gen-accum.py). */

/* A temp dir that Python fills (unit-gen.c). */
static int
gen_setup(void **state)
{
	*state = unit_gen_create("test-accum", "gen-accum.py");
	return *state != NULL ? 0 : -1;
}

static int
gen_teardown(void **state)
{
	unit_gen_free(*state);
	return 0;
}

/* A whole generated file.  Caller frees. */
static uint8_t *
gen_read(const struct unit_gen *g, const char *name, size_t *len)
{
	char	*path;
	FILE	*f;
	uint8_t	*buf;
	long	 n;

	xasprintf(&path, "%s/%s", g->dir, name);
	f = fopen(path, "rb");
	if (f == NULL) {
		print_error("%s: %s\n", path, strerror(errno));
		fail();
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	free(path);
	*len = (size_t)n;
	return buf;
}

/* Every manifest entry: the exact string Python printed, and more. */
static void
test_python_oracle(void **state)
{
	struct unit_gen	*g = *state;
	size_t		 mlen, len, ncases = 0, nfloat = 0;
	char		*manifest = (char *)gen_read(g, "manifest.txt", &mlen);
	char		*line, *save = NULL, *f[6], got[256], want[256];
	struct dfs_acc	 acc;

	manifest[mlen] = '\0';
	rng_seed(1);
	for (line = strtok_r(manifest, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct arr	a;
		char		*p = line;
		int		 nf = 0;

		while (nf < 6 && (f[nf] = strsep(&p, "\t")) != NULL)
			nf++;
		assert_true(nf == 4 || nf == 5);
		a.order = f[1][0];
		a.kind = f[1][1];
		a.size = (unsigned)atoi(f[1] + 2);
		a.n = strtoull(f[2], NULL, 10);
		a.data = gen_read(g, f[0], &len);
		assert_true(len == a.n * a.size);
		if (nf == 5)
			snprintf(want, sizeof want, "%s\t%s", f[3], f[4]);
		else
			snprintf(want, sizeof want, "%s", f[3]);

		acc_range(&acc, &a, 0, a.n);
		acc_str(&acc, got, sizeof got);
		if (strcmp(got, want) != 0) {
			print_error("%s (%s, %zu elements): got %s, Python "
			    "says %s\n", f[0], f[1], a.n, got, want);
			fail();
		}
		if (a.kind == 'f' || a.kind == 'c') {
			check_float_arr(&a, f[0]);
			nfloat++;
		} else {
			__int128	s = 0;
			char		ref[64];

			for (size_t i = 0; i < a.n; i++)
				s += elem_int(&a, i);
			i128_dec(s, ref);
			assert_string_equal(ref, want);
			check_split_merge(&a, &acc, f[0]);
		}
		arr_free(&a);
		ncases++;
	}
	free(manifest);
	assert_true(ncases > 100 && nfloat > 50);
}

/* repr() of a few thousand doubles of every kind. */
static void
test_fmt_oracle(void **state)
{
	struct unit_gen	*g = *state;
	size_t		 blen, tlen, n = 0;
	uint8_t		*bin = gen_read(g, "fmt.bin", &blen);
	char		*txt = (char *)gen_read(g, "fmt.txt", &tlen);
	char		*line, *save = NULL, got[DFS_FMT_DOUBLE_MAX];

	txt[tlen] = '\0';
	for (line = strtok_r(txt, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++) {
		uint8_t		b[8];
		double		x;

		assert_true(8 * (n + 1) <= blen);
		for (int k = 0; k < 8; k++)
			b[k] = host_little() ? bin[8 * n + k] :
			    bin[8 * n + 7 - k];
		memcpy(&x, b, 8);
		dfs_fmt_double(x, got, sizeof got);
		if (strcmp(got, line) != 0) {
			print_error("%a: got %s, repr() says %s\n", x, got,
			    line);
			fail();
		}
		/* And it reads back. */
		assert_true(to_bits(strtod(got, NULL)) == to_bits(x));
	}
	assert_true(n > 3000 && 8 * n == blen);
	free(bin);
	free(txt);
}

/* ------------------------------------------------------------------ */
/* Floats against the reference. */


/* Every kind of data and every length around the block size. */
static void
test_float_reference(void **state UNUSED)
{
	static const size_t	lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 1023,
				    1024, 1025, 2051, 10007 };
	char			what[64];

	rng_seed(2);
	for (int d = 0; d < D_NDIST; d++) {
		for (size_t l = 0; l < NELEM(lens); l++) {
			uint64_t	run = rnd();
			double		*v = xcalloc(lens[l] + 1, sizeof *v);
			struct arr	a;

			for (size_t i = 0; i < lens[l]; i++)
				v[i] = rnd_double((enum dist)d, run);
			a = arr_of_doubles(v, lens[l], rnd() & 1 ? '<' : '>',
			    8);
			snprintf(what, sizeof what, "dist %d, %zu elements",
			    d, lens[l]);
			check_float_arr(&a, what);
			arr_free(&a);
			free(v);
		}
	}
}

/* [1e16, 1, -1e16] k times sums to exactly k. */
static void
test_cancellation(void **state UNUSED)
{
	static const size_t	ks[] = { 1, 7, 1000, 100000 };
	bool			simd = dfs_acc_set_simd(true);

	rng_seed(3);
	for (size_t t = 0; t < NELEM(ks); t++) {
		size_t		n = 3 * ks[t];
		double		*v = xmalloc(n * sizeof *v);
		struct dfs_acc	acc;

		for (size_t i = 0; i < n; i++)
			v[i] = i % 3 == 0 ? 1e16 : i % 3 == 1 ? 1 : -1e16;
		for (int shuffled = 0; shuffled < 2; shuffled++) {
			for (int s = 0; s < 2; s++) {
				dfs_acc_set_simd(s);
				dfs_acc_init(&acc, DFS_ACC_FLOAT);
				assert_int_equal(dfs_acc_add(&acc, 'f', 8,
				    host_little(), v, n), 0);
				assert_same_double(dfs_acc_result_f64(&acc),
				    (double)ks[t], "cancellation");
			}
			for (size_t i = n - 1; i > 0; i--) {
				size_t	j = rnd_below(i + 1);
				double	x = v[i];

				v[i] = v[j];
				v[j] = x;
			}
		}
		free(v);
	}
	dfs_acc_set_simd(simd);
}

/* Sums of small subnormals are exact even in plain double arithmetic. */
static void
test_subnormals(void **state UNUSED)
{
	double		v[4096], plain = 0;
	struct arr	a;

	rng_seed(4);
	for (size_t i = 0; i < NELEM(v); i++) {
		/* Significands below 2^40 keep every partial sum exact. */
		v[i] = from_bits((rnd() & 0x8000000000000000ULL) |
		    (rnd() & ((1ULL << 40) - 1)));
		plain += v[i];
	}
	a = arr_of_doubles(v, NELEM(v), '<', 8);
	check_float_arr(&a, "subnormals");
	{
		struct dfs_acc	acc;

		acc_range(&acc, &a, 0, a.n);
		assert_same_double(dfs_acc_result_f64(&acc), plain,
		    "subnormals, plain");
	}
	arr_free(&a);

	/* Where subnormal meets normal. */
	{
		double		w[] = { DBL_MIN, -0x1p-1074 };
		struct dfs_acc	acc;

		a = arr_of_doubles(w, 2, '<', 8);
		acc_range(&acc, &a, 0, 2);
		assert_same_double(dfs_acc_result_f64(&acc),
		    DBL_MIN - 0x1p-1074, "DBL_MIN - tiny");
		arr_free(&a);
	}
}

/* One small float case with an IEEE answer, on both kernels. */
static void
check_small(const double *v, size_t n, double want, const char *what)
{
	bool	simd = dfs_acc_set_simd(true);

	for (int s = 0; s < 2; s++) {
		struct dfs_acc	acc;

		dfs_acc_set_simd(s);
		dfs_acc_init(&acc, DFS_ACC_FLOAT);
		assert_int_equal(dfs_acc_add(&acc, 'f', 8, host_little(), v,
		    n), 0);
		assert_same_double(dfs_acc_result_f64(&acc), want, what);
	}
	dfs_acc_set_simd(simd);
}

/* Exact sums beyond the double range are +-inf, not before. */
static void
test_overflow(void **state UNUSED)
{
	const double	max = DBL_MAX, tiny = 0x1p-1074;
	double		v[3], *big;
	size_t		n = 5000;
	struct arr	a;

	v[0] = v[1] = max;
	check_small(v, 2, INFINITY, "max + max");
	v[0] = v[1] = -max;
	check_small(v, 2, -INFINITY, "-max - max");
	v[0] = v[1] = max;
	v[2] = -max;
	check_small(v, 3, max, "max + max - max (no overflow on the way)");
	/* max + half its ulp is a tie: to even, which is 2^1024: inf. */
	v[0] = max;
	v[1] = 0x1p970;
	check_small(v, 2, INFINITY, "max + ulp/2");
	v[2] = -tiny;
	check_small(v, 3, max, "max + ulp/2 - tiny");
	v[1] = 0x1p969;
	check_small(v, 2, max, "max + ulp/4");
	v[0] = -max;
	v[1] = -0x1p970;
	check_small(v, 2, -INFINITY, "-max - ulp/2");

	/* Long runs at the top of the range: every lane at its bound. */
	big = xmalloc((2 * n + 1) * sizeof *big);
	for (size_t i = 0; i < n; i++) {
		big[i] = max;
		big[n + i] = -max;
	}
	big[2 * n] = 1.0;
	check_small(big, n, INFINITY, "5000 max");
	check_small(big + n, n, -INFINITY, "5000 -max");
	check_small(big, 2 * n + 1, 1.0, "5000 max, 5000 -max, 1");
	a = arr_of_doubles(big, 2 * n + 1, '<', 8);
	check_float_arr(&a, "max runs");
	arr_free(&a);
	free(big);
}

/* x + ulp(x)/2 is a tie: it rounds to whichever has an even significand. */
static void
test_ties(void **state UNUSED)
{
	const double	tiny = 0x1p-1074;

	rng_seed(5);
	for (int t = 0; t < 2000; t++) {
		double	x = ldexp(1 + rnd_unit(), (int)rnd_below(2000) - 1000);
		/* The next double up: x is positive and finite. */
		double	up = from_bits(to_bits(x) + 1), half = (up - x) / 2;
		double	even = (to_bits(x) & 1) == 0 ? x : up;
		double	v[3] = { x, half, tiny }, w[3];

		check_small(v, 2, even, "tie");
		check_small(v, 3, up, "tie + tiny");
		v[2] = -tiny;
		check_small(v, 3, x, "tie - tiny");
		for (int i = 0; i < 3; i++)
			w[i] = -v[i];
		check_small(w, 3, -x, "-(tie - tiny)");
		check_small(w, 2, -even, "-tie");
	}
}

/* NaN and infinities by the IEEE rules, in every width and merge. */
static void
test_specials(void **state UNUSED)
{
	static const struct {
		double	v[4];
		size_t	n;
		double	want;
	} c[] = {
		{ { NAN }, 1, NAN },
		{ { 1, NAN, 2 }, 3, NAN },
		{ { INFINITY, 1 }, 2, INFINITY },
		{ { -INFINITY, DBL_MAX, DBL_MAX }, 3, -INFINITY },
		{ { INFINITY, -INFINITY }, 2, NAN },
		{ { INFINITY, INFINITY, 3 }, 3, INFINITY },
		{ { NAN, INFINITY }, 2, NAN },
		{ { DBL_MAX, DBL_MAX, -INFINITY }, 3, -INFINITY },
		{ { -INFINITY, -INFINITY, 5 }, 3, -INFINITY },
	};
	/* Odd NaNs: negative, signalling, payloads. */
	static const uint64_t	nans[] = { 0xfff8000000000000ULL,
				    0x7ff0000000000001ULL,
				    0xfff0000000000001ULL,
				    0x7fffffffffffffffULL };
	static const uint16_t	h[][2] = { { 0x7c00, 0x3c00 },
				    { 0xfc00, 0x3c00 }, { 0x7e00, 0x3c00 },
				    { 0x7c00, 0xfc00 } };
	static const double	hw[] = { INFINITY, -INFINITY, NAN, NAN };
	struct dfs_acc		acc, one, t;

	for (size_t i = 0; i < NELEM(c); i++) {
		check_small(c[i].v, c[i].n, c[i].want, "special");
		/* Each element its own partial, through the wire. */
		dfs_acc_init(&acc, DFS_ACC_FLOAT);
		for (size_t k = 0; k < c[i].n; k++) {
			dfs_acc_init(&one, DFS_ACC_FLOAT);
			assert_int_equal(dfs_acc_add(&one, 'f', 8,
			    host_little(), &c[i].v[k], 1), 0);
			acc_wire(&one, &t);
			assert_int_equal(dfs_acc_merge(&acc, &t), 0);
		}
		assert_same_double(dfs_acc_result_f64(&acc), c[i].want,
		    "special, merged");
	}
	for (size_t i = 0; i < NELEM(nans); i++) {
		double	v[2] = { from_bits(nans[i]), 1.0 };

		check_small(v, 2, NAN, "odd NaN");
	}
	for (size_t i = 0; i < NELEM(h); i++) {
		dfs_acc_init(&acc, DFS_ACC_FLOAT);
		assert_int_equal(dfs_acc_add(&acc, 'f', 2, host_little(),
		    h[i], 2), 0);
		assert_same_double(dfs_acc_result_f64(&acc), hw[i], "half");
	}
	{
		float	f[3] = { INFINITY, -1.0f, NAN };
		double	re, im;
		double	z[4] = { NAN, 1.0, 2.0, 3.0 };	/* (nan+1j), (2+3j) */

		dfs_acc_init(&acc, DFS_ACC_FLOAT);
		assert_int_equal(dfs_acc_add(&acc, 'f', 4, host_little(), f,
		    2), 0);
		assert_same_double(dfs_acc_result_f64(&acc), INFINITY,
		    "single inf");
		assert_int_equal(dfs_acc_add(&acc, 'f', 4, host_little(),
		    f + 2, 1), 0);
		assert_same_double(dfs_acc_result_f64(&acc), NAN,
		    "single nan");
		/* A NaN in one part leaves the other alone. */
		dfs_acc_init(&acc, DFS_ACC_COMPLEX);
		assert_int_equal(dfs_acc_add(&acc, 'c', 16, host_little(), z,
		    2), 0);
		dfs_acc_result_c128(&acc, &re, &im);
		assert_true(isnan(re));
		assert_same_double(im, 4.0, "complex imaginary");
	}
}

/* -0.0 only from nothing but -0.0; any other zero is +0.0. */
static void
test_signed_zero(void **state UNUSED)
{
	double		nz[5000], v[3];
	struct dfs_acc	a, b, t, e;
	uint16_t	hz = 0x8000;
	float		fz = -0.0f;
	double		re, im, z[2] = { -0.0, 0.0 };

	for (size_t i = 0; i < NELEM(nz); i++)
		nz[i] = -0.0;
	check_small(nz, 1, -0.0, "-0");
	check_small(nz, NELEM(nz), -0.0, "5000 x -0");
	check_small(nz, 0, 0.0, "empty");
	for (size_t i = 0; i < NELEM(nz); i++)
		nz[i] = i % 1000 == 999 ? -0.0 : 0.0;
	check_small(nz, NELEM(nz), 0.0, "5000 x +-0");
	for (size_t i = 0; i < NELEM(nz); i++)
		nz[i] = -0.0;
	v[0] = -0.0;
	v[1] = 0.0;
	check_small(v, 2, 0.0, "-0 + 0");
	v[0] = -1.0;
	v[1] = 1.0;
	check_small(v, 2, 0.0, "-1 + 1");
	v[0] = -1e-300;
	v[1] = 1e-300;
	v[2] = -0.0;
	check_small(v, 3, 0.0, "-x + x - 0");
	v[0] = -0x1p-1074;
	v[1] = 0x1p-1074;
	check_small(v, 2, 0.0, "-tiny + tiny");

	/* Through merges and the wire. */
	dfs_acc_init(&a, DFS_ACC_FLOAT);
	assert_int_equal(dfs_acc_add(&a, 'f', 8, host_little(), nz, 3), 0);
	dfs_acc_init(&e, DFS_ACC_FLOAT);
	t = a;
	assert_int_equal(dfs_acc_merge(&t, &e), 0);
	assert_same_double(dfs_acc_result_f64(&t), -0.0, "-0 + empty");
	assert_int_equal(dfs_acc_merge(&e, &t), 0);
	assert_same_double(dfs_acc_result_f64(&e), -0.0, "empty + -0");
	acc_wire(&a, &t);
	assert_same_double(dfs_acc_result_f64(&t), -0.0, "-0 on the wire");
	assert_int_equal(dfs_acc_merge(&t, &a), 0);
	assert_same_double(dfs_acc_result_f64(&t), -0.0, "-0 + -0");
	dfs_acc_init(&b, DFS_ACC_FLOAT);
	assert_int_equal(dfs_acc_add(&b, 'f', 8, host_little(), z + 1, 1),
	    0);
	assert_int_equal(dfs_acc_merge(&t, &b), 0);
	assert_same_double(dfs_acc_result_f64(&t), 0.0, "-0 + +0");
	dfs_acc_init(&b, DFS_ACC_FLOAT);
	v[0] = -1.0;
	v[1] = 1.0;
	assert_int_equal(dfs_acc_add(&b, 'f', 8, host_little(), v, 2), 0);
	t = a;
	assert_int_equal(dfs_acc_merge(&t, &b), 0);
	assert_same_double(dfs_acc_result_f64(&t), 0.0, "-0 + (-1 + 1)");
	dfs_acc_init(&e, DFS_ACC_FLOAT);
	assert_same_double(dfs_acc_result_f64(&e), 0.0, "nothing");

	/* Other widths, complex parts on their own. */
	dfs_acc_init(&a, DFS_ACC_FLOAT);
	assert_int_equal(dfs_acc_add(&a, 'f', 2, host_little(), &hz, 1), 0);
	assert_int_equal(dfs_acc_add(&a, 'f', 4, host_little(), &fz, 1), 0);
	assert_same_double(dfs_acc_result_f64(&a), -0.0, "half, single -0");
	dfs_acc_init(&a, DFS_ACC_COMPLEX);
	assert_int_equal(dfs_acc_add(&a, 'c', 16, host_little(), z, 1), 0);
	dfs_acc_result_c128(&a, &re, &im);
	assert_same_double(re, -0.0, "complex -0 real");
	assert_same_double(im, 0.0, "complex +0 imaginary");
}

/* Every half, and many singles, alone: exactly their value. */
static void
test_half_single(void **state UNUSED)
{
	struct dfs_acc	acc;
	uint8_t		b[4];

	for (uint32_t h = 0; h < 65536; h++) {
		for (int order = 0; order < 2; order++) {
			b[0] = order ? (uint8_t)(h >> 8) : (uint8_t)h;
			b[1] = order ? (uint8_t)h : (uint8_t)(h >> 8);
			dfs_acc_init(&acc, DFS_ACC_FLOAT);
			assert_int_equal(dfs_acc_add(&acc, 'f', 2, !order, b,
			    1), 0);
			assert_same_double(dfs_acc_result_f64(&acc),
			    ref_half((uint16_t)h), "half");
		}
	}
	rng_seed(6);
	for (int i = 0; i < 200000; i++) {
		uint32_t	u = (uint32_t)rnd();
		float		f;

		if (i < 512)		/* every exponent, both signs */
			u = (uint32_t)i << 23 | (u & 0x7fffff);
		memcpy(&f, &u, 4);
		dfs_acc_init(&acc, DFS_ACC_FLOAT);
		assert_int_equal(dfs_acc_add(&acc, 'f', 4, host_little(), &f,
		    1), 0);
		assert_same_double(dfs_acc_result_f64(&acc), (double)f,
		    "single");
	}
}

/* Random arrays of every float width and complex, against the reference. */
static void
test_widths_complex(void **state UNUSED)
{
	static const char	*descrs[] = { "<f4", ">f4", "<f2", ">f2",
				    "<c8", ">c8", "<c16", ">c16" };
	char			 what[64];

	rng_seed(7);
	for (size_t d = 0; d < NELEM(descrs); d++) {
		for (int t = 0; t < 4; t++) {
			struct arr	a = { descrs[d][0], descrs[d][1],
					    (unsigned)atoi(descrs[d] + 2),
					    1 + rnd_below(6000), NULL };

			a.data = xmalloc(a.n * a.size);
			for (size_t i = 0; i < a.n * a.size; i++)
				a.data[i] = (uint8_t)rnd();
			snprintf(what, sizeof what, "%s, %zu", descrs[d],
			    a.n);
			check_float_arr(&a, what);
			arr_free(&a);
		}
	}
}

/* Big-endian data is the same sum as its little-endian twin. */
static void
test_big_endian(void **state UNUSED)
{
	static const char	 kinds[] = "fffcciiiiuuuu";
	static const unsigned	 sizes[] = { 8, 4, 2, 16, 8, 1, 2, 4, 8, 1,
				    2, 4, 8 };
	struct dfs_acc		 le, be;

	rng_seed(8);
	for (size_t k = 0; k < NELEM(sizes); k++) {
		unsigned	w = kinds[k] == 'c' ? sizes[k] / 2 : sizes[k];
		size_t		n = 1 + rnd_below(5000);
		uint8_t		*l = xmalloc(n * sizes[k]);
		uint8_t		*b = xmalloc(n * sizes[k]);

		for (size_t i = 0; i < n * sizes[k]; i++)
			l[i] = (uint8_t)rnd();
		for (size_t i = 0; i < n * sizes[k]; i += w)
			for (unsigned j = 0; j < w; j++)
				b[i + j] = l[i + w - 1 - j];
		dfs_acc_init(&le, acc_kind_of(kinds[k]));
		dfs_acc_init(&be, acc_kind_of(kinds[k]));
		assert_int_equal(dfs_acc_add(&le, kinds[k], sizes[k], true, l,
		    n), 0);
		assert_int_equal(dfs_acc_add(&be, kinds[k], sizes[k],
		    w == 1, b, n), 0);
		assert_same_enc(&le, &be, "big-endian twin");
		free(l);
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_python_oracle,
		    gen_setup, gen_teardown),
		cmocka_unit_test_setup_teardown(test_fmt_oracle, gen_setup,
		    gen_teardown),
		cmocka_unit_test(test_float_reference),
		cmocka_unit_test(test_cancellation),
		cmocka_unit_test(test_subnormals),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_signed_zero),
		cmocka_unit_test(test_half_single),
		cmocka_unit_test(test_widths_complex),
		cmocka_unit_test(test_big_endian),
		cmocka_unit_test(test_int_exact),
		cmocka_unit_test(test_int_long_runs),
		cmocka_unit_test(test_int_wide),
		cmocka_unit_test(test_merge_orders),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_add_einval),
		cmocka_unit_test(test_kernels_agree),
		cmocka_unit_test(test_fmt_basic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
