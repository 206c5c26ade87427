/*
 * test-checksum.c: CRC32C and SHA-256 against outside oracles.
 *
 * The CRC32C expectations are the published check value and the iSCSI
 * test vectors of RFC 3720 (B.4), plus a one-bit-at-a-time CRC written
 * here straight from the definition, which shares no code or table with
 * the library.  The table and SSE4.2 paths are then held to each other
 * over every length to 4 KiB at every start offset to 15, across the
 * three-stripe boundaries of the fast path, and when chained.  SHA-256
 * is checked against the FIPS 180-2 examples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "checksum.h"
#include "xmalloc.h"

/*
 * Stripe lengths in lib/checksum.c, only to aim the boundary tests at them;
 * the random-length tests cover other choices.
 */
#define STRIPE_LONG	8192
#define STRIPE_MID	1360
#define STRIPE_SHORT	168

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* xorshift64*: a fixed seed, so a failure replays. */
static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static void
rng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rng_next() >> 56);
}

/* The definition, one bit at a time: the oracle nobody optimised. */
static uint32_t
ref_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	uint32_t	c = ~crc;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

/* sw, the dispatcher, and hw where this CPU has it, all give want. */
static void
check_crc(const void *buf, size_t len, uint32_t want)
{
	assert_int_equal(dfs_crc32c_sw(0, buf, len), want);
	assert_int_equal(dfs_crc32c(0, buf, len), want);
	if (dfs_crc32c_hw_available())
		assert_int_equal(dfs_crc32c_hw(0, buf, len), want);
}

/* sw and hw agree (hw only where present; the dispatcher always). */
static void
check_agree(const uint8_t *buf, size_t len)
{
	uint32_t	sw = dfs_crc32c_sw(0, buf, len);

	if (dfs_crc32c_hw_available())
		assert_int_equal(dfs_crc32c_hw(0, buf, len), sw);
	assert_int_equal(dfs_crc32c(0, buf, len), sw);
}

#define FIRST_THREADS	4
#define FIRST_LEN	(3 * STRIPE_LONG * 2 + 77)

struct first_arg {
	pthread_barrier_t	*barrier;
	const uint8_t		*buf;
	uint32_t		 sw, dispatch, hw;
};

static void *
first_thread(void *v)
{
	struct first_arg	*a = v;

	pthread_barrier_wait(a->barrier);
	a->dispatch = dfs_crc32c(0, a->buf, FIRST_LEN);
	a->sw = dfs_crc32c_sw(0, a->buf, FIRST_LEN);
	if (dfs_crc32c_hw_available())
		a->hw = dfs_crc32c_hw(0, a->buf, FIRST_LEN);
	return NULL;
}

/*
 * Runs first, so the tables are built while several threads race for
 * them: each must see finished tables (the check fails on half-built ones).
 */
static void
test_crc32c_first_use_threads(void **state)
{
	pthread_barrier_t	 barrier;
	pthread_t		 tid[FIRST_THREADS];
	struct first_arg	 arg[FIRST_THREADS];
	uint8_t			*buf = xmalloc(FIRST_LEN);
	uint32_t		 want;

	(void)state;
	rng_fill(buf, FIRST_LEN);
	want = ref_crc32c(0, buf, FIRST_LEN);
	assert_int_equal(pthread_barrier_init(&barrier, NULL, FIRST_THREADS),
	    0);
	for (int i = 0; i < FIRST_THREADS; i++) {
		arg[i] = (struct first_arg){ &barrier, buf, 0, 0, 0 };
		assert_int_equal(pthread_create(&tid[i], NULL, first_thread,
		    &arg[i]), 0);
	}
	/* Join them all before any check can jump out of this frame. */
	for (int i = 0; i < FIRST_THREADS; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	for (int i = 0; i < FIRST_THREADS; i++) {
		assert_int_equal(arg[i].sw, want);
		assert_int_equal(arg[i].dispatch, want);
		if (dfs_crc32c_hw_available())
			assert_int_equal(arg[i].hw, want);
	}
	pthread_barrier_destroy(&barrier);
	free(buf);
}

/* RFC 3720 B.4 and the catalogue check value. */
static void
test_crc32c_vectors(void **state)
{
	uint8_t		b[32];

	(void)state;
	check_crc("123456789", 9, 0xE3069283u);
	check_crc("", 0, 0);
	check_crc(NULL, 0, 0);

	memset(b, 0x00, sizeof b);
	check_crc(b, sizeof b, 0x8A9136AAu);
	assert_int_equal(ref_crc32c(0, b, sizeof b), 0x8A9136AAu);
	memset(b, 0xff, sizeof b);
	check_crc(b, sizeof b, 0x62A8AB43u);
	assert_int_equal(ref_crc32c(0, b, sizeof b), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	check_crc(b, sizeof b, 0x46DD794Eu);
	assert_int_equal(ref_crc32c(0, b, sizeof b), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	check_crc(b, sizeof b, 0x113FDB5Cu);
	assert_int_equal(ref_crc32c(0, b, sizeof b), 0x113FDB5Cu);
	assert_int_equal(ref_crc32c(0, (const uint8_t *)"123456789", 9),
	    0xE3069283u);
}

/* Zero bytes leave any running value as it is, in every implementation. */
static void
test_crc32c_empty_keeps_crc(void **state)
{
	static const uint32_t	v[] = { 0, 1, 0xE3069283u, 0xFFFFFFFFu };

	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		assert_int_equal(dfs_crc32c_sw(v[i], NULL, 0), v[i]);
		assert_int_equal(dfs_crc32c(v[i], "x", 0), v[i]);
		if (dfs_crc32c_hw_available())
			assert_int_equal(dfs_crc32c_hw(v[i], NULL, 0), v[i]);
	}
}

/* The name in the logs matches what the dispatcher really calls. */
static void
test_crc32c_impl(void **state)
{
	const char	*impl = dfs_crc32c_impl();

	(void)state;
	assert_non_null(impl);
	if (dfs_crc32c_hw_available())
		assert_string_equal(impl, "sse4.2");
	else
		assert_string_equal(impl, "table");
	assert_ptr_equal(dfs_crc32c_impl(), impl);
#if defined(__x86_64__) || defined(__i386__)
	{
		/* Ask the CPU directly: CPUID leaf 1, ECX bit 20 is SSE4.2. */
		unsigned int	a = 0, b = 0, c = 0, d = 0;

		assert_true(__get_cpuid(1, &a, &b, &c, &d));
		assert_int_equal(dfs_crc32c_hw_available(),
		    (c & bit_SSE4_2) != 0);
	}
#else
	assert_false(dfs_crc32c_hw_available());
#endif
}

/* The bit-at-a-time oracle against all paths on short random buffers. */
static void
test_crc32c_oracle_short(void **state)
{
	uint8_t	buf[600 + 16];

	(void)state;
	for (size_t len = 0; len <= 600; len++) {
		size_t	off = len % 16;

		rng_fill(buf, sizeof buf);
		check_crc(buf + off, len, ref_crc32c(0, buf + off, len));
	}
}

/* The oracle on long buffers, so every stripe length is checked too. */
static void
test_crc32c_oracle_long(void **state)
{
	static const size_t	lens[] = {
		3 * STRIPE_SHORT, 3 * STRIPE_MID, 3 * STRIPE_LONG,
		3 * STRIPE_LONG + 1, 3 * STRIPE_LONG + 3 * STRIPE_SHORT + 13,
		3 * (STRIPE_LONG + STRIPE_MID + STRIPE_SHORT) + 5, 4096, 65536,
		100003, 4 * 3 * STRIPE_LONG + 2 * 3 * STRIPE_MID + 7, 1 << 20,
	};
	size_t			 max = 1 << 20;
	uint8_t			*buf = xmalloc(max + 16);

	(void)state;
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t	off = i % 16;

		rng_fill(buf, max + 16);
		check_crc(buf + off, lens[i], ref_crc32c(0, buf + off,
		    lens[i]));
	}
	free(buf);
}

/* Every length to 4 KiB at every start offset to 15: sw == hw. */
static void
test_crc32c_all_lengths_offsets(void **state)
{
	size_t	 max = 4096;
	uint8_t	*buf = xmalloc(max + 16);

	(void)state;
	rng_fill(buf, max + 16);
	for (size_t len = 0; len <= max; len++) {
		if (len % 64 == 0)
			rng_fill(buf, max + 16);
		for (size_t off = 0; off < 16; off++)
			check_agree(buf + off, len);
	}
	free(buf);
}

/*
 * Lengths just around whole passes of three stripes of each length, and
 * random lengths to 256 KiB, each at several offsets.
 */
static void
test_crc32c_stripe_boundaries(void **state)
{
	static const size_t	 stripes[] = {
		STRIPE_SHORT, STRIPE_MID, STRIPE_LONG
	};
	size_t			 max = (256 << 10) + 64;
	uint8_t			*buf = xmalloc(max);

	(void)state;
	rng_fill(buf, max);
	for (size_t s = 0; s < sizeof stripes / sizeof stripes[0]; s++)
		for (size_t m = 1; m <= 4; m++)
			for (int d = -17; d <= 17; d++) {
				size_t	len = 3 * stripes[s] * m + (size_t)d;

				for (size_t off = 0; off < 16; off += 3)
					check_agree(buf + off, len);
			}
	for (int i = 0; i < 200; i++) {
		size_t	len = (size_t)(rng_next() % (256 << 10));
		size_t	off = (size_t)(rng_next() % 64);

		check_agree(buf + off, len);
	}
	free(buf);
}

/* crc(crc(a), b) == crc(a || b), within one path and across paths. */
static void
test_crc32c_chaining(void **state)
{
	size_t		 n = 1000, big = 200 << 10;
	uint8_t		*buf = xmalloc(big);
	uint32_t	 whole, c;
	bool		 hw = dfs_crc32c_hw_available();

	(void)state;
	rng_fill(buf, big);
	whole = ref_crc32c(0, buf, n);
	for (size_t cut = 0; cut <= n; cut++) {
		c = dfs_crc32c_sw(0, buf, cut);
		assert_int_equal(dfs_crc32c_sw(c, buf + cut, n - cut), whole);
		c = dfs_crc32c(0, buf, cut);
		assert_int_equal(dfs_crc32c(c, buf + cut, n - cut), whole);
		if (hw) {
			c = dfs_crc32c_hw(0, buf, cut);
			assert_int_equal(dfs_crc32c_hw(c, buf + cut,
			    n - cut), whole);
			assert_int_equal(dfs_crc32c_sw(c, buf + cut,
			    n - cut), whole);
		}
	}

	/* Three random pieces of a big buffer, pieces long enough to stripe. */
	whole = dfs_crc32c_sw(0, buf, big);
	assert_int_equal(ref_crc32c(0, buf, big), whole);
	for (int i = 0; i < 50; i++) {
		size_t	a = (size_t)(rng_next() % big);
		size_t	b = (size_t)(rng_next() % big);

		if (a > b) {
			size_t	t = a;

			a = b;
			b = t;
		}
		c = dfs_crc32c_sw(0, buf, a);
		c = dfs_crc32c_sw(c, buf + a, b - a);
		assert_int_equal(dfs_crc32c_sw(c, buf + b, big - b), whole);
		c = dfs_crc32c(0, buf, a);
		c = dfs_crc32c(c, buf + a, b - a);
		assert_int_equal(dfs_crc32c(c, buf + b, big - b), whole);
		if (hw) {
			c = dfs_crc32c_hw(0, buf, a);
			c = dfs_crc32c_sw(c, buf + a, b - a);
			assert_int_equal(dfs_crc32c_hw(c, buf + b, big - b),
			    whole);
		}
	}
	free(buf);
}

/* A CRC catches every single-bit error; so must each implementation. */
static void
test_crc32c_single_bit_flips(void **state)
{
	size_t		 n = 3 * STRIPE_SHORT + 40;
	uint8_t		*buf = xmalloc(n);
	uint32_t	 clean;

	(void)state;
	rng_fill(buf, n);
	clean = dfs_crc32c(0, buf, n);
	for (size_t bit = 0; bit < 8 * n; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(dfs_crc32c(0, buf, n), clean);
		assert_int_not_equal(dfs_crc32c_sw(0, buf, n), clean);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(dfs_crc32c(0, buf, n), clean);
	free(buf);
}

static void
check_sha256(const void *buf, size_t len, const char *want)
{
	uint8_t		 d[32];
	char		 hex[65];

	assert_int_equal(dfs_sha256(buf, len, d), 0);
	dfs_hex(d, sizeof d, hex);
	assert_string_equal(hex, want);
}

/* FIPS 180-2 examples (B.1, B.2, B.3) and the empty string. */
static void
test_sha256_vectors(void **state)
{
	static const char	 m448[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char	 mil[] =
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	char			*a = xmalloc(1000000);
	struct dfs_sha256_ctx	*ctx;
	uint8_t			 d[32];
	char			 hex[65];

	(void)state;
	check_sha256("", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha256(NULL, 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha256("abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha256(m448, strlen(m448),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(a, 'a', 1000000);
	check_sha256(a, 1000000, mil);

	/* The million, a thousand at a time, as FIPS describes it. */
	ctx = dfs_sha256_create();
	assert_non_null(ctx);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(dfs_sha256_update(ctx, a, 1000), 0);
	assert_int_equal(dfs_sha256_final(ctx, d), 0);
	dfs_hex(d, sizeof d, hex);
	assert_string_equal(hex, mil);
	dfs_sha256_free(ctx);
	free(a);
}

/* Streaming equals one-shot for random cuts, empty pieces included. */
static void
test_sha256_streaming(void **state)
{
	size_t			 n = 10000;
	uint8_t			*buf = xmalloc(n);
	uint8_t			 once[32], streamed[32];

	(void)state;
	rng_fill(buf, n);
	assert_int_equal(dfs_sha256(buf, n, once), 0);
	for (int round = 0; round < 100; round++) {
		struct dfs_sha256_ctx	*ctx = dfs_sha256_create();
		size_t			 at = 0;

		while (at < n) {
			size_t	piece = (size_t)(rng_next() % 300);

			if (piece > n - at)
				piece = n - at;
			assert_int_equal(dfs_sha256_update(ctx, buf + at,
			    piece), 0);
			at += piece;
		}
		assert_int_equal(dfs_sha256_update(ctx, NULL, 0), 0);
		memset(streamed, 0, sizeof streamed);
		assert_int_equal(dfs_sha256_final(ctx, streamed), 0);
		assert_memory_equal(streamed, once, sizeof once);
		dfs_sha256_free(ctx);
	}

	/* A different message must give a different digest. */
	buf[n / 2] ^= 1;
	assert_int_equal(dfs_sha256(buf, n, streamed), 0);
	assert_memory_not_equal(streamed, once, sizeof once);
	free(buf);
}

/* A finished context refuses more work instead of digesting garbage. */
static void
test_sha256_after_final(void **state)
{
	struct dfs_sha256_ctx	*ctx = dfs_sha256_create();
	uint8_t			 d[32], again[32];

	(void)state;
	assert_int_equal(dfs_sha256_update(ctx, "abc", 3), 0);
	assert_int_equal(dfs_sha256_final(ctx, d), 0);
	memset(again, 0x5a, sizeof again);
	assert_int_equal(dfs_sha256_update(ctx, "abc", 3), -EINVAL);
	assert_int_equal(dfs_sha256_final(ctx, again), -EINVAL);
	for (size_t i = 0; i < sizeof again; i++)
		assert_int_equal(again[i], 0x5a);
	dfs_sha256_free(ctx);
	dfs_sha256_free(NULL);
}

static void
test_hex(void **state)
{
	static const uint8_t	in[] = { 0x00, 0x01, 0x09, 0x0a, 0x7f, 0x80,
				    0xab, 0xcd, 0xef, 0xf0, 0xff };
	char			out[2 * sizeof in + 1 + 4];

	(void)state;
	memset(out, '#', sizeof out);
	dfs_hex(in, sizeof in, out);
	assert_string_equal(out, "0001090a7f80abcdeff0ff");
	for (size_t i = 2 * sizeof in + 1; i < sizeof out; i++)
		assert_int_equal(out[i], '#');

	memset(out, '#', sizeof out);
	dfs_hex(in, 0, out);
	assert_string_equal(out, "");
	assert_int_equal(out[1], '#');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_first_use_threads),
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_crc32c_empty_keeps_crc),
		cmocka_unit_test(test_crc32c_impl),
		cmocka_unit_test(test_crc32c_oracle_short),
		cmocka_unit_test(test_crc32c_oracle_long),
		cmocka_unit_test(test_crc32c_all_lengths_offsets),
		cmocka_unit_test(test_crc32c_stripe_boundaries),
		cmocka_unit_test(test_crc32c_chaining),
		cmocka_unit_test(test_crc32c_single_bit_flips),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_streaming),
		cmocka_unit_test(test_sha256_after_final),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
