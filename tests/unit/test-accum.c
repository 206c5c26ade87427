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
#include "xmalloc.h"

#define UNUSED		__attribute__((unused))
#define NELEM(a)	(sizeof (a) / sizeof (a)[0])
#define REF_DIG		72		/* 2304-bit reference integer */

/* ------------------------------------------------------------------ */
/* Random numbers: splitmix64, seeded per test so failures reproduce. */

static uint64_t	rng_state;

static void
rng_seed(uint64_t s)
{
	rng_state = s;
}

/* The next 64 random bits. */
static uint64_t
rnd(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), 0 for n = 0. */
static size_t
rnd_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

/* Uniform in [0, 1). */
static double
rnd_unit(void)
{
	return (double)(rnd() >> 11) * 0x1p-53;
}

static double
from_bits(uint64_t b)
{
	double	x;

	memcpy(&x, &b, 8);
	return x;
}

static uint64_t
to_bits(double x)
{
	uint64_t	b;

	memcpy(&b, &x, 8);
	return b;
}

/* ------------------------------------------------------------------ */
/* The reference: one element at a time into a big integer (2^-1074). */

struct ref {
	uint32_t	d[REF_DIG];	/* two's complement, LE digits */
	bool		nan, pinf, ninf;
	bool		negzero;	/* every element so far was -0.0 */
	uint64_t	n;
};

/* Zero, and "every element -0.0" of nothing. */
static void
ref_init(struct ref *r)
{
	memset(r, 0, sizeof *r);
	r->negzero = true;
}

/* r += m * 2^sh, or r -= it. */
static void
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
static void
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
static bool
bit_of(const uint32_t *d, int i)
{
	return i >= 0 && ((d[i / 32] >> (i % 32)) & 1);
}

/* The exact sum rounded to nearest, ties to even, bit by bit. */
static double
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
static double
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
static void
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

struct arr {
	char		order;		/* '<', '>' or '|' */
	char		kind;		/* 'b' 'i' 'u' 'f' 'c' */
	unsigned	size;		/* itemsize */
	size_t		n;
	uint8_t		*data;		/* n * size bytes; owned */
};

/* Whether this machine is little-endian. */
static bool
host_little(void)
{
	uint16_t	x = 1;

	return *(uint8_t *)&x == 1;
}

/* Element i's bytes in host order into out (size bytes). */
static void
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
static double
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
static __int128
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

static void
arr_free(struct arr *a)
{
	free(a->data);
	a->data = NULL;
}

/* An array of n doubles in the given order ('<' or '>') and float kind. */
static struct arr
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
static enum dfs_acc_kind
acc_kind_of(char kind)
{
	return kind == 'f' ? DFS_ACC_FLOAT : kind == 'c' ? DFS_ACC_COMPLEX :
	    DFS_ACC_INT;
}

/* Elements [from, to) of a into a fresh partial. */
static void
acc_range(struct dfs_acc *acc, const struct arr *a, size_t from, size_t to)
{
	dfs_acc_init(acc, acc_kind_of(a->kind));
	assert_int_equal(dfs_acc_add(acc, a->kind, a->size, a->order != '>',
	    a->data + from * a->size, to - from), 0);
	assert_true(dfs_acc_count(acc) == to - from);
}

/* The result as the oracle prints it ("re\tim" for complex). */
static void
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
static void
acc_enc(const struct dfs_acc *acc, struct dfs_wbuf *w)
{
	dfs_wbuf_init(w);
	dfs_acc_encode(acc, w);
	assert_true(w->len <= DFS_ACC_ENC_MAX);
}

/* Encode, decode: what travels.  The copy must decode whole. */
static void
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
static void
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
static void
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
static void
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
static void
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

/* ------------------------------------------------------------------ */
/* Python's answers (gen-accum.py). */

struct gen {
	char	dir[PATH_MAX];
};

/* Quote s for sh inside single quotes.  Caller frees. */
static char *
shell_quote(const char *s)
{
	char	*out = xmalloc(strlen(s) * 4 + 3), *o = out;

	*o++ = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else
			*o++ = *s;
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* Run gen-accum.py with one interpreter; 0 if it succeeded. */
static int
run_generator(const char *python, const char *script, const char *dir)
{
	char	*qp = shell_quote(python), *qs = shell_quote(script);
	char	*qd = shell_quote(dir), *cmd;
	int	 rc;

	xasprintf(&cmd, "%s %s %s", qp, qs, qd);
	rc = system(cmd);
	free(cmd);
	free(qd);
	free(qs);
	free(qp);
	return rc == 0 ? 0 : -1;
}

/* Remove the temp dir and everything the generator put in it. */
static int
gen_teardown(void **state)
{
	struct gen	*g = *state;
	struct dirent	*de;
	DIR		*d;

	if (g == NULL)
		return 0;
	if ((d = opendir(g->dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(g->dir);
	free(g);
	return 0;
}

/* A temp dir that Python fills with arrays and their sums. */
static int
gen_setup(void **state)
{
	struct gen	*g = xcalloc(1, sizeof *g);
	const char	*tmp = getenv("TMPDIR"), *top = getenv("top_srcdir");
	const char	*python = getenv("PYTHON");
	char		*script;
	int		 rc = -1;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if (top == NULL || *top == '\0')
		top = ".";
	snprintf(g->dir, sizeof g->dir, "%s/test-accum.XXXXXX", tmp);
	if (mkdtemp(g->dir) == NULL) {
		print_error("mkdtemp %s: %s\n", g->dir, strerror(errno));
		free(g);
		return -1;
	}
	xasprintf(&script, "%s/tests/unit/gen-accum.py", top);
	if (python != NULL && *python != '\0')
		rc = run_generator(python, script, g->dir);
	if (rc != 0 && (python == NULL ||
	    strcmp(python, "/usr/bin/python3") != 0))
		rc = run_generator("/usr/bin/python3", script, g->dir);
	*state = g;
	if (rc != 0) {
		print_error("%s failed: is NumPy installed (PYTHON=%s)?\n",
		    script, python != NULL ? python : "");
		gen_teardown(state);
		*state = NULL;
	}
	free(script);
	return rc;
}

/* A whole generated file.  Caller frees. */
static uint8_t *
gen_read(const struct gen *g, const char *name, size_t *len)
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
	struct gen	*g = *state;
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
	struct gen	*g = *state;
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

enum dist {
	D_UNIFORM, D_WIDE, D_BITS, D_SUBNORMAL, D_MIXED, D_INTS, D_ZEROS,
	D_EXTREME, D_SPECIALS, D_NDIST
};

/* One double of a kind of data; `run` fixes what D_EXTREME repeats. */
static double
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

/* ------------------------------------------------------------------ */
/* Integers. */

/* Every integer type and order against __int128 sums. */
static void
test_int_exact(void **state UNUSED)
{
	static const char	 kinds[] = "iiiiuuuub";
	static const unsigned	 sizes[] = { 1, 2, 4, 8, 1, 2, 4, 8, 1 };
	char			 got[DFS_ACC_DEC_MAX], want[64], what[64];

	rng_seed(9);
	for (size_t k = 0; k < NELEM(sizes); k++) {
		for (int t = 0; t < 12; t++) {
			struct arr	a = { sizes[k] == 1 ? '|' :
					    rnd() & 1 ? '<' : '>', kinds[k],
					    sizes[k], 0, NULL };
			struct dfs_acc	acc;
			__int128	s = 0;
			uint8_t		fill = (uint8_t)rnd();

			a.n = t == 0 ? 0 : t < 4 ? (size_t)t :
			    rnd_below(100000);
			a.data = xmalloc(a.n * a.size + 1);
			/* Random, or one byte repeated: the extremes. */
			for (size_t i = 0; i < a.n * a.size; i++)
				a.data[i] = t % 3 == 0 ? fill :
				    t % 3 == 1 ? (uint8_t)(fill ^ 0x7f) :
				    (uint8_t)rnd();
			for (size_t i = 0; i < a.n; i++)
				s += elem_int(&a, i);
			acc_range(&acc, &a, 0, a.n);
			assert_int_equal(dfs_acc_result_dec(&acc, got,
			    sizeof got), 0);
			i128_dec(s, want);
			snprintf(what, sizeof what, "%c%u%c x %zu", a.kind,
			    a.size, a.order, a.n);
			if (strcmp(got, want) != 0) {
				print_error("%s: got %s, want %s\n", what,
				    got, want);
				fail();
			}
			check_split_merge(&a, &acc, what);
			arr_free(&a);
		}
	}
}

/* Long runs of the extremes: every lane and field bound is hit. */
static void
test_int_long_runs(void **state UNUSED)
{
	static const char	 kinds[] = "iiiiuuuub";
	static const unsigned	 sizes[] = { 1, 2, 4, 8, 1, 2, 4, 8, 1 };
	size_t			 n = ((size_t)1 << 20) + 37;
	uint8_t			*buf = xmalloc(8 * n);
	char			 got[DFS_ACC_DEC_MAX], want[64];

	for (size_t k = 0; k < NELEM(sizes); k++) {
		for (int hi = 0; hi < 2; hi++) {
			struct arr	a = { sizes[k] == 1 ? '|' : '<',
					    kinds[k], sizes[k], n, buf };
			struct dfs_acc	acc;

			/* All ones (max, or -1), or the signed minimum. */
			for (size_t i = 0; i < n * a.size; i++)
				buf[i] = hi ? 0xff : (i + 1) % a.size == 0 ?
				    0x80 : 0;
			acc_range(&acc, &a, 0, n);
			assert_int_equal(dfs_acc_result_dec(&acc, got,
			    sizeof got), 0);
			i128_dec((__int128)n * elem_int(&a, 0), want);
			assert_string_equal(got, want);
		}
	}
	free(buf);
}

/* A partial in the documented wire layout, decoded: valid or not. */
static int
decode_bytes(const struct dfs_wbuf *w, struct dfs_acc *acc)
{
	struct dfs_rbuf	r;
	int		rc;

	dfs_rbuf_init(&r, w->data, w->len);
	rc = dfs_acc_decode(&r, acc);
	if (rc == 0)
		assert_int_equal(dfs_rbuf_done(&r), 0);
	else
		assert_int_equal(r.err, -EBADMSG);
	return rc;
}

/* An int partial written by hand in the documented layout. */
static void
put_int_partial(struct dfs_wbuf *w, uint64_t count, int sign,
    const uint64_t *limb, int n)
{
	dfs_wbuf_init(w);
	dfs_put_u8(w, DFS_ACC_VERSION);
	dfs_put_u8(w, DFS_ACC_INT);
	dfs_put_u64(w, count);
	dfs_put_u8(w, (uint8_t)sign);
	dfs_put_u8(w, (uint8_t)n);
	for (int i = 0; i < n; i++)
		dfs_put_u64(w, limb[i]);
}

/* Totals past 128 bits, from partials as large as their counts allow. */
static void
test_int_wide(void **state UNUSED)
{
	static const uint64_t	l127[2] = { 0, 1ULL << 63 };
	struct dfs_wbuf		w;
	struct dfs_acc		p, n, t;
	char			s[DFS_ACC_DEC_MAX];

	/* 2^63 elements summing to 2^127 (each 2^64: allowed). */
	put_int_partial(&w, 1ULL << 63, 0, l127, 2);
	assert_int_equal(decode_bytes(&w, &p), 0);
	dfs_wbuf_release(&w);
	put_int_partial(&w, 1ULL << 63, 1, l127, 2);
	assert_int_equal(decode_bytes(&w, &n), 0);
	dfs_wbuf_release(&w);

	t = p;
	assert_int_equal(dfs_acc_merge(&t, &p), 0);
	assert_int_equal(dfs_acc_result_dec(&t, s, sizeof s), 0);
	assert_string_equal(s, "340282366920938463463374607431768211456");
	assert_true(dfs_acc_count(&t) == UINT64_MAX);	/* saturated */
	assert_int_equal(dfs_acc_merge(&t, &p), 0);
	assert_int_equal(dfs_acc_result_dec(&t, s, sizeof s), 0);
	assert_string_equal(s, "510423550381407695195061911147652317184");
	t = n;
	assert_int_equal(dfs_acc_merge(&t, &n), 0);
	assert_int_equal(dfs_acc_result_dec(&t, s, sizeof s), 0);
	assert_string_equal(s, "-340282366920938463463374607431768211456");
	assert_int_equal(dfs_acc_merge(&t, &p), 0);
	assert_int_equal(dfs_acc_merge(&t, &p), 0);
	assert_int_equal(dfs_acc_result_dec(&t, s, sizeof s), 0);
	assert_string_equal(s, "0");
	/* Room for the result is checked. */
	t = n;
	assert_int_equal(dfs_acc_merge(&t, &n), 0);
	assert_int_equal(dfs_acc_result_dec(&t, s, 40), -ENOSPC);
	assert_int_equal(dfs_acc_result_dec(&t, s, 41), 0);
	assert_int_equal(dfs_acc_result_dec(&t, s, 0), -ENOSPC);
}

/* ------------------------------------------------------------------ */
/* Merging and the wire. */

/* Many cuts and merge trees of the same data: the same bytes. */
static void
test_merge_orders(void **state UNUSED)
{
	char	what[64];

	rng_seed(10);
	for (int t = 0; t < 60; t++) {
		size_t		n = rnd_below(20000);
		struct arr	a;
		struct dfs_acc	whole;
		double		*v = xcalloc(n + 1, sizeof *v);

		for (size_t i = 0; i < n; i++)
			v[i] = rnd_double((enum dist)(t % D_NDIST), 7);
		a = arr_of_doubles(v, n, '<', 8);
		acc_range(&whole, &a, 0, n);
		snprintf(what, sizeof what, "merge orders %d", t);
		/* Many cuts and trees of the same data. */
		for (int k = 0; k < 8; k++)
			check_split_merge(&a, &whole, what);
		arr_free(&a);
		free(v);
	}
}

/* The bytes of the wire form are a promise (doc/protocol.md). */
static void
test_layout(void **state UNUSED)
{
	static const uint8_t	one[] = { 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
				    0, 0, 33, 1, 0x00, 0x00, 0x04, 0x00 };
	static const uint8_t	m25[] = { 1, 1, 2, 0, 0, 0, 0, 0, 0, 0,
				    0, 1, 33, 1, 0x00, 0x00, 0x0a, 0x00 };
	static const uint8_t	im5[] = { 1, 2, 1, 0, 0, 0, 0, 0, 0, 0,
				    1, 1, 5, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t	nz[] = { 1, 3, 1, 0, 0, 0, 0, 0, 0, 0,
				    8, 0, 0, 0, 2, 0, 0, 0 };
	double			v[2] = { -1.0, -1.5 };
	double			z[2] = { -0.0, INFINITY };
	int64_t			i5 = -5;
	struct dfs_acc		acc;
	struct dfs_wbuf		w;

	/* 1.0 = 2^1074 units: digit 33 (bits 1056..1087) = 1 << 18. */
	dfs_acc_init(&acc, DFS_ACC_FLOAT);
	v[0] = 1.0;
	assert_int_equal(dfs_acc_add(&acc, 'f', 8, host_little(), v, 1), 0);
	acc_enc(&acc, &w);
	assert_int_equal(w.len, sizeof one);
	assert_memory_equal(w.data, one, sizeof one);
	dfs_wbuf_release(&w);
	/* -1 - 1.5 = -2.5 = -5 * 2^1073 units. */
	dfs_acc_init(&acc, DFS_ACC_FLOAT);
	v[0] = -1.0;
	assert_int_equal(dfs_acc_add(&acc, 'f', 8, host_little(), v, 2), 0);
	acc_enc(&acc, &w);
	assert_int_equal(w.len, sizeof m25);
	assert_memory_equal(w.data, m25, sizeof m25);
	dfs_wbuf_release(&w);
	dfs_acc_init(&acc, DFS_ACC_INT);
	assert_int_equal(dfs_acc_add(&acc, 'i', 8, host_little(), &i5, 1),
	    0);
	acc_enc(&acc, &w);
	assert_int_equal(w.len, sizeof im5);
	assert_memory_equal(w.data, im5, sizeof im5);
	dfs_wbuf_release(&w);
	/* Complex (-0 + inf j): flags "all -0" and "+inf", no digits. */
	dfs_acc_init(&acc, DFS_ACC_COMPLEX);
	assert_int_equal(dfs_acc_add(&acc, 'c', 16, host_little(), z, 1), 0);
	acc_enc(&acc, &w);
	assert_int_equal(w.len, sizeof nz);
	assert_memory_equal(w.data, nz, sizeof nz);
	dfs_wbuf_release(&w);
}

/* Partials of every sort survive the wire, bytes and results alike. */
static void
test_roundtrip(void **state UNUSED)
{
	static const double	fv[][3] = {
		{ -0.0 }, { 1.0 }, { -2.5, 1e300, -1e-300 }, { NAN },
		{ INFINITY }, { -INFINITY }, { INFINITY, -INFINITY },
		{ DBL_MAX, DBL_MAX, 0x1p-1074 }, { 0.1, 0.2, 0.3 },
	};
	static const int64_t	iv[][3] = { { 0 }, { -5 }, { INT64_MIN,
				    INT64_MIN, -1 }, { INT64_MAX, 1, 2 } };
	struct dfs_acc		acc, back;
	char			a[256], b[256];
	double			big[3000];

	rng_seed(11);
	for (size_t i = 0; i <= NELEM(fv) + NELEM(iv) + 3; i++) {
		if (i < NELEM(fv)) {
			dfs_acc_init(&acc, DFS_ACC_FLOAT);
			assert_int_equal(dfs_acc_add(&acc, 'f', 8,
			    host_little(), fv[i], 1 + i % 3), 0);
		} else if (i < NELEM(fv) + NELEM(iv)) {
			dfs_acc_init(&acc, DFS_ACC_INT);
			assert_int_equal(dfs_acc_add(&acc, 'i', 8,
			    host_little(), iv[i - NELEM(fv)], 3), 0);
		} else if (i == NELEM(fv) + NELEM(iv)) {
			for (size_t k = 0; k < NELEM(big); k++)
				big[k] = rnd_double(D_WIDE, 0);
			dfs_acc_init(&acc, DFS_ACC_COMPLEX);
			assert_int_equal(dfs_acc_add(&acc, 'c', 16,
			    host_little(), big, NELEM(big) / 2), 0);
		} else {	/* empty partials of each kind */
			dfs_acc_init(&acc, (enum dfs_acc_kind)
			    (i - NELEM(fv) - NELEM(iv)));
		}
		acc_wire(&acc, &back);
		assert_same_enc(&acc, &back, "round trip");
		assert_true(dfs_acc_count(&acc) == dfs_acc_count(&back));
		assert_int_equal(dfs_acc_kind(&acc), dfs_acc_kind(&back));
		acc_str(&acc, a, sizeof a);
		acc_str(&back, b, sizeof b);
		assert_string_equal(a, b);
	}
}

/* A float partial written by hand: flags, sign, lo, n, digits. */
static void
put_fp_partial(struct dfs_wbuf *w, uint8_t kind, uint64_t count,
    uint8_t flags, uint8_t sign, uint8_t lo, uint8_t n, const uint32_t *d)
{
	dfs_wbuf_init(w);
	dfs_put_u8(w, DFS_ACC_VERSION);
	dfs_put_u8(w, kind);
	dfs_put_u64(w, count);
	dfs_put_u8(w, flags);
	dfs_put_u8(w, sign);
	dfs_put_u8(w, lo);
	dfs_put_u8(w, n);
	for (int i = 0; i < n; i++)
		dfs_put_u32(w, d[i]);
}

/* What a failed decode must leave: an empty partial. */
static void
assert_empty(const struct dfs_acc *acc)
{
	struct dfs_acc	e;

	assert_true(dfs_acc_count(acc) == 0);
	dfs_acc_init(&e, dfs_acc_kind(acc));
	assert_same_enc(acc, &e, "empty after a failed decode");
}

/* Malformed and implausible partials are refused, cleanly. */
static void
test_decode_hostile(void **state UNUSED)
{
	static const uint32_t	d1[] = { 1 }, d0[] = { 0 }, d10[] = { 1, 0 };
	static const uint32_t	d01[] = { 0, 1 };
	static const uint32_t	top[] = { 1U << 18 }, top1[] = { 1, 1U << 18 };
	static const uint32_t	top3[] = { 3U << 18 }, top17[] = { 1U << 17 };
	static const uint64_t	l1[] = { 1 }, l2[] = { 0, 1 };
	static const uint64_t	l2x[] = { 1, 1 }, l3[] = { 0, 0, 1 };
	static const uint64_t	l0[] = { 0 }, l4[] = { 1, 1, 1, 1 };
	static const struct {
		uint8_t		kind, flags, sign, lo, n;
		uint64_t	count;
		const uint32_t	*d;
		int		ok;
	} fp[] = {
		{ 1, 0, 0, 0, 1, 1, d1, 0 },
		{ 1, 0, 1, 7, 1, 1, d1, 0 },
		{ 1, 0, 2, 7, 1, 1, d1, -EBADMSG },	/* sign 2 */
		{ 1, 0x10, 0, 0, 0, 1, NULL, -EBADMSG },/* unknown flag */
		{ 1, 0x80, 0, 0, 0, 1, NULL, -EBADMSG },
		{ 1, 0, 0, 3, 0, 1, NULL, -EBADMSG },	/* lo with no digits */
		{ 1, 0, 1, 0, 0, 1, NULL, -EBADMSG },	/* -0 magnitude */
		{ 1, 0, 0, 5, 1, 1, d0, -EBADMSG },	/* zero digit */
		{ 1, 0, 0, 5, 2, 1, d10, -EBADMSG },	/* trailing zero */
		{ 1, 0, 0, 5, 2, 1, d01, -EBADMSG },	/* leading zero */
		{ 1, 0, 0, 67, 2, 1, d01, -EBADMSG },	/* past the top */
		{ 1, 0, 0, 255, 1, 1, d1, -EBADMSG },
		{ 1, 1, 0, 0, 0, 1, NULL, 0 },		/* NaN */
		{ 1, 7, 0, 0, 0, 1, NULL, 0 },		/* everything */
		{ 1, 1, 0, 5, 1, 1, d1, -EBADMSG },	/* NaN with digits */
		{ 1, 2, 0, 5, 1, 1, d1, -EBADMSG },
		{ 1, 8, 0, 0, 0, 1, NULL, 0 },		/* all -0 */
		{ 1, 8, 0, 5, 1, 1, d1, -EBADMSG },	/* -0 with digits */
		{ 1, 9, 0, 0, 0, 1, NULL, -EBADMSG },	/* -0 and NaN */
		{ 1, 8, 0, 0, 0, 0, NULL, -EBADMSG },	/* -0 of nothing */
		{ 1, 2, 0, 0, 0, 0, NULL, -EBADMSG },	/* inf of nothing */
		{ 1, 0, 0, 0, 0, 0, NULL, 0 },		/* empty */
		{ 1, 0, 0, 0, 1, 0, d1, -EBADMSG },	/* value of nothing */
		/* |sum| <= count * 2^2098 (2^2098 is digit 65, bit 18). */
		{ 1, 0, 0, 65, 1, 1, top, 0 },
		{ 1, 0, 1, 65, 1, 1, top, 0 },
		{ 1, 0, 0, 64, 2, 1, top1, -EBADMSG },
		{ 1, 0, 0, 65, 1, 2, top3, -EBADMSG },
		{ 1, 0, 0, 65, 1, 3, top3, 0 },
		{ 1, 0, 0, 67, 1, UINT64_MAX, top17, 0 },	/* 2^2161 */
		{ 1, 0, 0, 67, 1, UINT64_MAX, top, -EBADMSG },
		{ 1, 0, 0, 67, 1, UINT64_MAX >> 1, top3, -EBADMSG },
		{ 3, 0, 0, 0, 1, 1, d1, -EBADMSG },	/* complex: 1 part */
	};
	static const struct {
		uint64_t	count;
		int		sign, n;
		const uint64_t	*l;
		int		ok;
	} in[] = {
		{ 1, 0, 1, l1, 0 }, { 1, 1, 1, l1, 0 },
		{ 1, 0, 2, l2, 0 },			/* 2^64: the bound */
		{ 1, 0, 2, l2x, -EBADMSG },		/* 2^64 + 1 */
		{ 0, 0, 1, l1, -EBADMSG },
		{ 0, 0, 0, NULL, 0 },
		{ 5, 1, 0, NULL, -EBADMSG },		/* -0 */
		{ 5, 0, 1, l0, -EBADMSG },		/* zero limb */
		{ UINT64_MAX, 0, 3, l3, -EBADMSG },	/* 2^128 */
		{ UINT64_MAX, 0, 4, l4, -EBADMSG },	/* 4 limbs */
		{ 5, 2, 1, l1, -EBADMSG },		/* sign 2 */
	};
	struct dfs_wbuf	w;
	struct dfs_acc	acc;
	struct dfs_rbuf	r;
	double		v[4] = { 1.5, -1e300, NAN, 3.25 };
	int64_t		q[2] = { INT64_MIN, -7 };

	for (size_t i = 0; i < NELEM(fp); i++) {
		put_fp_partial(&w, fp[i].kind, fp[i].count, fp[i].flags,
		    fp[i].sign, fp[i].lo, fp[i].n, fp[i].d);
		if (decode_bytes(&w, &acc) != fp[i].ok) {
			print_error("float case %zu: wrong verdict\n", i);
			fail();
		}
		if (fp[i].ok != 0)
			assert_empty(&acc);
		else {
			/* What decodes re-encodes to the same bytes. */
			struct dfs_wbuf	w2;

			acc_enc(&acc, &w2);
			assert_int_equal(w2.len, w.len);
			assert_memory_equal(w2.data, w.data, w.len);
			dfs_wbuf_release(&w2);
		}
		dfs_wbuf_release(&w);
	}
	for (size_t i = 0; i < NELEM(in); i++) {
		put_int_partial(&w, in[i].count, in[i].sign, in[i].l,
		    in[i].n);
		if (decode_bytes(&w, &acc) != in[i].ok) {
			print_error("int case %zu: wrong verdict\n", i);
			fail();
		}
		if (in[i].ok != 0)
			assert_empty(&acc);
		dfs_wbuf_release(&w);
	}

	/* Every truncation of real partials; bad versions and kinds. */
	for (int k = 0; k < 3; k++) {
		dfs_acc_init(&acc, k == 0 ? DFS_ACC_FLOAT : k == 1 ?
		    DFS_ACC_COMPLEX : DFS_ACC_INT);
		if (k == 2)
			assert_int_equal(dfs_acc_add(&acc, 'i', 8,
			    host_little(), q, 2), 0);
		else
			assert_int_equal(dfs_acc_add(&acc, k ? 'c' : 'f',
			    k ? 16 : 8, host_little(), v, k ? 1 : 2), 0);
		acc_enc(&acc, &w);
		for (size_t len = 0; len < w.len; len++) {
			struct dfs_acc	t;

			dfs_rbuf_init(&r, w.data, len);
			assert_int_equal(dfs_acc_decode(&r, &t), -EBADMSG);
			assert_int_equal(r.err, -EBADMSG);
			assert_true(dfs_acc_count(&t) == 0);
		}
		/* Trailing bytes are the caller's to judge. */
		dfs_put_u8(&w, 0);
		dfs_rbuf_init(&r, w.data, w.len);
		assert_int_equal(dfs_acc_decode(&r, &acc), 0);
		assert_int_equal(dfs_rbuf_left(&r), 1);
		for (int bad = 0; bad < 256; bad++) {
			uint8_t	save = w.data[0];

			if (bad == DFS_ACC_VERSION)
				continue;
			w.data[0] = (uint8_t)bad;
			dfs_rbuf_init(&r, w.data, w.len);
			assert_int_equal(dfs_acc_decode(&r, &acc), -EBADMSG);
			w.data[0] = save;
			save = w.data[1];
			w.data[1] = (uint8_t)bad;
			dfs_rbuf_init(&r, w.data, w.len);
			if (bad < 1 || bad > 3) {
				assert_int_equal(dfs_acc_decode(&r, &acc),
				    -EBADMSG);
				assert_int_equal(dfs_acc_kind(&acc),
				    DFS_ACC_FLOAT);
				assert_empty(&acc);
			}
			w.data[1] = save;
		}
		/* A reader already in error stays so. */
		dfs_rbuf_init(&r, w.data, w.len);
		r.err = -EBADMSG;
		assert_int_equal(dfs_acc_decode(&r, &acc), -EBADMSG);
		dfs_wbuf_release(&w);
	}
}

/* Counts add up and stop at the top. */
static void
test_counts(void **state UNUSED)
{
	struct dfs_wbuf	w;
	struct dfs_acc	a, b;
	int8_t		x[5] = { 1, 2, 3, 4, 5 };

	put_int_partial(&w, UINT64_MAX - 1, 0, NULL, 0);
	assert_int_equal(decode_bytes(&w, &a), 0);
	dfs_wbuf_release(&w);
	assert_true(dfs_acc_count(&a) == UINT64_MAX - 1);
	dfs_acc_init(&b, DFS_ACC_INT);
	assert_int_equal(dfs_acc_add(&b, 'i', 1, true, x, 5), 0);
	assert_int_equal(dfs_acc_add(&b, 'u', 1, true, x, 2), 0);
	assert_true(dfs_acc_count(&b) == 7);
	assert_int_equal(dfs_acc_merge(&a, &b), 0);
	assert_true(dfs_acc_count(&a) == UINT64_MAX);
	assert_int_equal(dfs_acc_add(&a, 'i', 1, true, x, 5), 0);
	assert_true(dfs_acc_count(&a) == UINT64_MAX);
}

/* Unsupported combinations are refused and change nothing. */
static void
test_add_einval(void **state UNUSED)
{
	static const struct {
		enum dfs_acc_kind	acc;
		char			kind;
		unsigned		size;
	} bad[] = {
		{ DFS_ACC_FLOAT, 'f', 1 }, { DFS_ACC_FLOAT, 'f', 3 },
		{ DFS_ACC_FLOAT, 'f', 16 }, { DFS_ACC_FLOAT, 'i', 8 },
		{ DFS_ACC_FLOAT, 'c', 16 }, { DFS_ACC_COMPLEX, 'c', 4 },
		{ DFS_ACC_COMPLEX, 'c', 32 }, { DFS_ACC_COMPLEX, 'f', 8 },
		{ DFS_ACC_INT, 'b', 2 }, { DFS_ACC_INT, 'i', 16 },
		{ DFS_ACC_INT, 'u', 3 }, { DFS_ACC_INT, 'f', 8 },
		{ DFS_ACC_INT, 'O', 8 }, { DFS_ACC_INT, 'U', 4 },
		{ DFS_ACC_FLOAT, 'V', 8 }, { DFS_ACC_INT, 'i', 0 },
	};
	uint8_t		buf[64];
	struct dfs_acc	acc, before;

	memset(buf, 0x11, sizeof buf);
	for (size_t i = 0; i < NELEM(bad); i++) {
		for (size_t n = 0; n < 3; n += 2) {
			dfs_acc_init(&acc, bad[i].acc);
			before = acc;
			assert_int_equal(dfs_acc_add(&acc, bad[i].kind,
			    bad[i].size, true, buf, n), -EINVAL);
			assert_true(dfs_acc_count(&acc) == 0);
			assert_same_enc(&acc, &before, "refused add");
		}
	}
	/* Merging partials of different kinds is refused too. */
	dfs_acc_init(&acc, DFS_ACC_FLOAT);
	dfs_acc_init(&before, DFS_ACC_INT);
	assert_int_equal(dfs_acc_add(&before, 'i', 1, true, buf, 4), 0);
	assert_int_equal(dfs_acc_merge(&acc, &before), -EINVAL);
	assert_true(dfs_acc_count(&acc) == 0);
	assert_true(isnan(dfs_acc_result_f64(&before)));
	assert_int_equal(dfs_acc_result_dec(&acc, (char *)buf, sizeof buf),
	    -EINVAL);
}

/* Both kernels make the same partial from anything. */
static void
test_kernels_agree(void **state UNUSED)
{
	static const char	*descrs[] = { "<f8", ">f8", "<f4", "<f2",
				    "<c16", "<c8" };
	bool			 simd = dfs_acc_set_simd(true);
	char			 what[64];

	if (strcmp(dfs_acc_impl(), "avx2") != 0) {
		dfs_acc_set_simd(simd);
		skip();
	}
	rng_seed(12);
	for (int t = 0; t < 400; t++) {
		const char	*d = descrs[t % NELEM(descrs)];
		struct arr	 a = { d[0], d[1], (unsigned)atoi(d + 2),
				    rnd_below(4000), NULL };
		struct dfs_acc	 x, y;
		uint64_t	 run = rnd();

		a.data = xmalloc(a.n * a.size + 8);
		for (size_t i = 0; i < a.n * a.size; i += 8) {
			double	v = rnd_double((enum dist)(rnd() % D_NDIST),
				    run);

			memcpy(a.data + i, &v, 8);
		}
		dfs_acc_set_simd(true);
		acc_range(&x, &a, 0, a.n);
		dfs_acc_set_simd(false);
		acc_range(&y, &a, 0, a.n);
		snprintf(what, sizeof what, "kernels, %s x %zu", d, a.n);
		assert_same_enc(&x, &y, what);
		arr_free(&a);
	}
	dfs_acc_set_simd(simd);
}

/* repr() cases worth naming, and truncation. */
static void
test_fmt_basic(void **state UNUSED)
{
	static const char	*reprs[] = { "0.1", "-5.782404060751238",
				    "1e+16", "1.5e-300", "0.0", "-0.0",
				    "100.0", "1e+22", "1e-05", "0.0001",
				    "5e-324", "1.7976931348623157e+308",
				    "2.2250738585072014e-308",
				    "9007199254740992.0",
				    "1234567890123456.8",
				    "1.2345678901234568e+17",
				    "1000000000000000.0", "0.001",
				    "0.3333333333333333", "5e-05",
				    "-1.4142135623730951", "12345.678" };
	char			 buf[DFS_FMT_DOUBLE_MAX];

	for (size_t i = 0; i < NELEM(reprs); i++) {
		dfs_fmt_double(strtod(reprs[i], NULL), buf, sizeof buf);
		assert_string_equal(buf, reprs[i]);
	}
	dfs_fmt_double(NAN, buf, sizeof buf);
	assert_string_equal(buf, "nan");
	dfs_fmt_double(-NAN, buf, sizeof buf);
	assert_string_equal(buf, "nan");
	dfs_fmt_double(INFINITY, buf, sizeof buf);
	assert_string_equal(buf, "inf");
	dfs_fmt_double(-INFINITY, buf, sizeof buf);
	assert_string_equal(buf, "-inf");
	dfs_fmt_double(0.125, buf, 4);
	assert_string_equal(buf, "0.1");
	buf[0] = 'x';
	dfs_fmt_double(0.125, buf, 0);
	assert_int_equal(buf[0], 'x');
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
