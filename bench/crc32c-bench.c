/*
 * crc32c-bench.c: how fast CRC32C runs here, SSE4.2 against the tables.
 *
 * Checksums one reused, already-touched buffer over and over, so the
 * figures are the CPU's and not the page faults' (first touch of fresh
 * memory is slow on these machines, see shared/MEASUREMENTS.md).  Each
 * figure is the best of three timed runs; the machines are noisy, so read
 * the ratio on the last line, measured side by side, before the absolutes.
 * GB is 10^9 bytes.
 *
 *	crc32c-bench [total-MiB]	(default 1024; the tables get a quarter)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "clock.h"
#include "xmalloc.h"

#define BENCH_TRIALS	3

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

/* Stops the compiler from dropping the work. */
static volatile uint32_t bench_sink;

static double
bench_now(void)
{
	return (double)dfs_now_ns() / 1e9;
}

/* Best GB/s of BENCH_TRIALS runs, each `total` bytes in `chunk` pieces. */
static double
bench_run(crc_fn fn, const uint8_t *buf, size_t chunk, size_t total)
{
	size_t		n = total / chunk;
	double		best = 0;
	uint32_t	crc = 0;

	if (n == 0)
		n = 1;
	crc = fn(crc, buf, chunk);		/* warm caches and tables */
	for (int t = 0; t < BENCH_TRIALS; t++) {
		double	start = bench_now(), secs, rate;

		for (size_t i = 0; i < n; i++)
			crc = fn(crc, buf, chunk);
		secs = bench_now() - start;
		rate = (double)(n * chunk) / secs / 1e9;
		if (rate > best)
			best = rate;
	}
	bench_sink ^= crc;
	return best;
}

static void
bench_size(char *out, size_t len, size_t bytes)
{
	if (bytes >= (1 << 20))
		snprintf(out, len, "%zu MiB", bytes >> 20);
	else if (bytes >= 1024)
		snprintf(out, len, "%zu KiB", bytes >> 10);
	else
		snprintf(out, len, "%zu B", bytes);
}

int
main(int argc, char **argv)
{
	static const size_t	 chunks[] = { 512, 4 << 10, 64 << 10, 1 << 20 };
	size_t			 total = (size_t)1 << 30, max = 1 << 20;
	uint8_t			*buf;
	uint64_t		 x = 0x243F6A8885A308D3ull;
	double			 hw64 = 0, sw64;
	char			 size[32];

	if (argc > 2 || (argc == 2 && atoi(argv[1]) <= 0)) {
		fprintf(stderr, "usage: %s [total-MiB]\n", argv[0]);
		return 1;
	}
	if (argc == 2)
		total = (size_t)atoi(argv[1]) << 20;

	buf = xmalloc(max);
	for (size_t i = 0; i < max; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	if (dfs_crc32c_hw_available() &&
	    dfs_crc32c_hw(0, buf, max) != dfs_crc32c_sw(0, buf, max)) {
		fprintf(stderr, "crc32c: sse4.2 and table disagree\n");
		return 1;
	}
	printf("crc32c dispatcher uses: %s\n", dfs_crc32c_impl());

	if (dfs_crc32c_hw_available()) {
		for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
			double	r = bench_run(dfs_crc32c_hw, buf, chunks[i],
				    total);

			bench_size(size, sizeof size, chunks[i]);
			printf("crc32c sse4.2 %s chunks: %.2f GB/s\n", size, r);
			if (chunks[i] == (64 << 10))
				hw64 = r;
		}
	} else
		printf("crc32c sse4.2: not on this CPU\n");

	sw64 = bench_run(dfs_crc32c_sw, buf, 64 << 10, total / 4);
	printf("crc32c table 64 KiB chunks: %.2f GB/s\n", sw64);
	if (hw64 > 0)
		printf("crc32c sse4.2/table at 64 KiB: %.1fx\n", hw64 / sw64);

	free(buf);
	return 0;
}
