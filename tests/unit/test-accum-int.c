/*
 * test-accum-int.c: exact integer sums, merging in any order, the wire
 * form of partials and hostile ones, for test-accum (its main is in
 * test-accum.c).  Integers are checked against __int128 sums and, past
 * 128 bits, against partials built by hand in the documented layout.
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
/* Integers. */

/* Every integer type and order against __int128 sums. */
void
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
void
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
void
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
void
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
void
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
void
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
void
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
void
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
void
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
void
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
void
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
