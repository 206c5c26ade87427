/*
 * sumloop.c: the plainest sum of a .npy file's elements, as a yardstick
 * for bench/sum.sh: pread into one reused 1 MiB buffer (the fastest way
 * to stream a cached file here, MEASUREMENTS.md) and `s += x[i]`, rounded
 * at every step (floats) or wrapping (int64).  Not exact, and not meant
 * to be: it is what an exact sum is measured against.
 *
 *	sumloop FILE.npy	(little-endian f8 or i8, as bench/sum.sh writes)
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUMLOOP_BUF	(1U << 20)

/* The data offset and element kind of a v1/v2/v3 .npy header, or -1. */
static long
sumloop_header(int fd, char *kind)
{
	unsigned char	 pre[12];
	char		*hdr, *d;
	long		 hl, off;

	if (pread(fd, pre, sizeof pre, 0) != (ssize_t)sizeof pre ||
	    memcmp(pre, "\x93NUMPY", 6) != 0)
		return -1;
	if (pre[6] == 1) {
		hl = pre[8] | (long)pre[9] << 8;
		off = 10;
	} else {
		hl = pre[8] | (long)pre[9] << 8 | (long)pre[10] << 16 |
		    (long)pre[11] << 24;
		off = 12;
	}
	if (hl <= 0 || hl > (1L << 20) || (hdr = calloc(1, hl + 1)) == NULL)
		return -1;
	if (pread(fd, hdr, hl, off) != hl) {
		free(hdr);
		return -1;
	}
	*kind = 0;
	if ((d = strstr(hdr, "'descr': '<")) != NULL && d[12] == '8')
		*kind = d[11];
	free(hdr);
	return off + hl;
}

int
main(int argc, char **argv)
{
	static double	 buf[SUMLOOP_BUF / sizeof(double)];
	double		 s = 0;
	int64_t		 si = 0;
	off_t		 off;
	ssize_t		 n;
	char		 kind;
	int		 fd;

	if (argc != 2) {
		fprintf(stderr, "usage: sumloop FILE.npy\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY)) < 0 ||
	    (off = sumloop_header(fd, &kind)) < 0 ||
	    (kind != 'f' && kind != 'i')) {
		fprintf(stderr, "sumloop: %s: not a little-endian f8 or i8 "
		    ".npy\n", argv[1]);
		return 1;
	}
	while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
		size_t k = (size_t)n / 8;
		if (kind == 'f')
			for (size_t i = 0; i < k; i++)
				s += buf[i];
		else {
			const int64_t *x = (const int64_t *)(void *)buf;
			for (size_t i = 0; i < k; i++)
				si = (int64_t)((uint64_t)si + (uint64_t)x[i]);
		}
		off += n;
	}
	if (kind == 'f')
		printf("%.17g\n", s);
	else
		printf("%" PRId64 "\n", si);
	close(fd);
	return 0;
}
