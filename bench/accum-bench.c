/*
 * accum-bench.c: what an exact sum costs against a plain loop.
 *
 * Sums one reused, already-touched 256 MiB buffer (first touch of fresh
 * memory is slow on these machines, see shared/MEASUREMENTS.md) with a
 * plain `s += x[i]` loop and with dfs_acc_add, fed 1 MiB at a time as a
 * data node reading its block file would.  Each figure is the best of
 * three runs; read the ratio (exact time / plain time) before the
 * absolutes, the machines are noisy.  GB is 10^9 bytes.  Build with -O2 and
 * no -march: the AVX2 kernels are picked at run time.
 *
 *	accum-bench [MiB]		(default 256)
 *
 * Data sets: f8 uniform in [-1, 1) (what sensor or model data looks like),
 * f8 nearly normal with a spread of magnitudes, f8 spread log-uniformly
 * over 2^-996..2^997 (the worst case: few neighbours share an exponent),
 * and int64 uniform over the whole range.
 */
#include <math.h>		/* ldexp, in libc proper */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accum.h"
#include "clock.h"
#include "xmalloc.h"

#define BENCH_TRIALS	3
#define BENCH_PIECE	((size_t)1 << 20)

/* Stops the compiler from dropping the work. */
static volatile double	bench_sinkd;
static volatile int64_t	bench_sinki;

/* Seconds on a clock that does not jump. */
static double
bench_now(void)
{
	return (double)dfs_now_ns() / 1e9;
}

static uint64_t	bench_state = 0x243F6A8885A308D3ULL;

/* xorshift64*: fast, and good enough to fill a buffer. */
static uint64_t
bench_rand(void)
{
	bench_state ^= bench_state >> 12;
	bench_state ^= bench_state << 25;
	bench_state ^= bench_state >> 27;
	return bench_state * 0x2545F4914F6CDD1DULL;
}

/* A double uniform in [0, 1). */
static double
bench_unit(void)
{
	return (double)(bench_rand() >> 11) * 0x1p-53;
}

/* The plain loop the exact sum is measured against. */
__attribute__((noinline)) static double
plain_f8(const double *x, size_t n)
{
	double	s = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s;
}

/* The plain int64 loop (it wraps; the exact sum does not). */
__attribute__((noinline)) static int64_t
plain_i8(const int64_t *x, size_t n)
{
	uint64_t	s = 0;	/* wraps: that is the point of the exact one */

	for (size_t i = 0; i < n; i++)
		s += (uint64_t)x[i];
	return (int64_t)s;
}

/* Best seconds of BENCH_TRIALS plain passes over the buffer. */
static double
time_plain(const void *buf, size_t bytes, bool is_float)
{
	double	best = 1e9;

	for (int t = 0; t < BENCH_TRIALS; t++) {
		double	start = bench_now(), secs;

		if (is_float)
			bench_sinkd = plain_f8(buf, bytes / 8);
		else
			bench_sinki = plain_i8(buf, bytes / 8);
		secs = bench_now() - start;
		if (secs < best)
			best = secs;
	}
	return best;
}

/* Best seconds of BENCH_TRIALS exact passes; *r gets the last result. */
static double
time_exact(const uint8_t *buf, size_t bytes, char kind, char *r, size_t cap)
{
	struct dfs_acc	a;
	double		best = 1e9;

	for (int t = 0; t < BENCH_TRIALS; t++) {
		double	start = bench_now(), secs;

		dfs_acc_init(&a, kind == 'f' ? DFS_ACC_FLOAT : DFS_ACC_INT);
		for (size_t off = 0; off < bytes; off += BENCH_PIECE) {
			size_t	len = bytes - off < BENCH_PIECE ?
				    bytes - off : BENCH_PIECE;

			if (dfs_acc_add(&a, kind, 8, true, buf + off,
			    len / 8) != 0) {
				fprintf(stderr, "dfs_acc_add failed\n");
				exit(1);
			}
		}
		secs = bench_now() - start;
		if (secs < best)
			best = secs;
	}
	if (kind == 'f')
		dfs_fmt_double(dfs_acc_result_f64(&a), r, cap);
	else
		dfs_acc_result_dec(&a, r, cap);
	return best;
}

/* One data set: plain, then the exact sum on each kernel. */
static void
bench_set(const char *name, const uint8_t *buf, size_t bytes, char kind)
{
	char	r[DFS_ACC_DEC_MAX];
	double	plain, exact;
	bool	had = dfs_acc_set_simd(true);

	plain = time_plain(buf, bytes, kind == 'f');
	printf("%-22s plain loop      %6.2f GB/s\n", name,
	    (double)bytes / plain / 1e9);
	for (int simd = 0; simd <= 1; simd++) {
		dfs_acc_set_simd(simd);
		if (simd && strcmp(dfs_acc_impl(), "avx2") != 0)
			continue;
		exact = time_exact(buf, bytes, kind, r, sizeof r);
		printf("%-22s exact %-9s %6.2f GB/s  %.2fx plain  (sum %s)\n",
		    name, dfs_acc_impl(), (double)bytes / exact / 1e9,
		    exact / plain, r);
	}
	dfs_acc_set_simd(had);
}

int
main(int argc, char **argv)
{
	size_t		 bytes = (size_t)256 << 20, n;
	double		*d;
	int64_t		*q;
	uint8_t		*buf;

	if (argc > 2 || (argc == 2 && atoi(argv[1]) <= 0)) {
		fprintf(stderr, "usage: %s [MiB]\n", argv[0]);
		return 1;
	}
	if (argc == 2)
		bytes = (size_t)atoi(argv[1]) << 20;
	n = bytes / 8;
	buf = xmalloc(bytes);
	d = (double *)buf;
	q = (int64_t *)buf;
	printf("accum-bench: %zu MiB, best of %d, dfs_acc kernel %s\n",
	    bytes >> 20, BENCH_TRIALS, dfs_acc_impl());

	for (size_t i = 0; i < n; i++)
		d[i] = 2 * bench_unit() - 1;
	bench_set("f8 uniform [-1,1)", buf, bytes, 'f');

	for (size_t i = 0; i < n; i++) {
		/* Nearly normal (twelve uniforms), scaled by 2^-10 .. 2^10. */
		double	u = -6;

		for (int k = 0; k < 12; k++)
			u += bench_unit();
		d[i] = ldexp(u, (int)(bench_rand() % 21) - 10);
	}
	bench_set("f8 normal 2^-10..2^10", buf, bytes, 'f');

	for (size_t i = 0; i < n; i++)
		d[i] = ldexp(bench_rand() & 1 ? -1 - bench_unit() :
		    1 + bench_unit(), (int)(bench_rand() % 1993) - 996);
	bench_set("f8 2^-996..2^997", buf, bytes, 'f');

	for (size_t i = 0; i < n; i++)
		q[i] = (int64_t)bench_rand();
	bench_set("i8 uniform", buf, bytes, 'i');

	free(buf);
	return 0;
}
