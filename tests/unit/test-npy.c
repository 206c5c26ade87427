/*
 * test-npy.c: the .npy header parser and writer.
 *
 * The oracle is NumPy: tests/unit/gen-npy.py (run with $PYTHON, default
 * /usr/bin/python3) writes files of every supported dtype, order, version
 * and shape into a private temp dir with a manifest of what NumPy says is
 * in each; every field the parser returns is checked against it, and the
 * header the writer produces must equal NumPy's byte for byte.  Hostile
 * headers are built by hand, each for one specific error code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"
#include "unit-gen.h"
#include "xmalloc.h"

#define UNUSED		__attribute__((unused))
#define HEAD_MAX	(128 * 1024)	/* bytes of each file the tests read */

/* One manifest line, split into its fields (borrowed from the line). */
struct entry {
	char	*line;
	char	*name;
	char	*descr;
	int	 fortran;
	int	 ndim;
	uint64_t shape[DFS_NPY_MAXDIM];
	uint64_t offset, itemsize, size, nbytes, header_len;
	int	 major, minor;
	char	*dtype_name;
	bool	 unsupported;
};

/* A temp dir that Python fills (unit-gen.c). */
static int
gen_setup(void **state)
{
	*state = unit_gen_create("test-npy", "gen-npy.py");
	return *state != NULL ? 0 : -1;
}

static int
gen_teardown(void **state)
{
	unit_gen_free(*state);
	return 0;
}

/* Split one manifest line; false if it is not well formed. */
static bool
entry_parse(struct entry *e, char *line)
{
	char	*p = line, *f[12], *shape, *tok;
	int	 n = 0;

	memset(e, 0, sizeof *e);
	e->line = line;
	line[strcspn(line, "\n")] = '\0';
	while (n < 12 && (f[n] = strsep(&p, "\t")) != NULL)
		n++;
	e->name = f[0];
	if (n == 3 && strcmp(f[1], "unsupported") == 0) {
		e->unsupported = true;
		e->descr = f[2];
		return true;
	}
	if (n != 12 || p != NULL)
		return false;
	e->descr = f[1];
	e->fortran = atoi(f[2]);
	shape = f[3];
	if (strcmp(shape, "-") != 0) {
		while ((tok = strsep(&shape, ",")) != NULL &&
		    e->ndim < DFS_NPY_MAXDIM)
			e->shape[e->ndim++] = strtoull(tok, NULL, 10);
	}
	e->offset = strtoull(f[4], NULL, 10);
	e->major = atoi(f[5]);
	e->minor = atoi(f[6]);
	e->itemsize = strtoull(f[7], NULL, 10);
	e->size = strtoull(f[8], NULL, 10);
	e->nbytes = strtoull(f[9], NULL, 10);
	e->header_len = strtoull(f[10], NULL, 10);
	e->dtype_name = f[11];
	return true;
}

/* Read up to HEAD_MAX bytes of a generated file.  Caller frees. */
static unsigned char *
read_head(const struct unit_gen *g, const char *name, size_t *len)
{
	unsigned char	*buf = xmalloc(HEAD_MAX);
	char		*path;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	xasprintf(&path, "%s/%s", g->dir, name);
	fd = open(path, O_RDONLY);
	if (fd == -1)
		fail_msg("open %s: %s", path, strerror(errno));
	while (got < HEAD_MAX && (n = read(fd, buf + got, HEAD_MAX - got)) > 0)
		got += (size_t)n;
	close(fd);
	free(path);
	*len = got;
	return buf;
}

/* Call fn for every line of the manifest; returns the number of lines. */
static int
each_entry(const struct unit_gen *g, void (*fn)(const struct unit_gen *,
    const struct entry *, void *), void *arg)
{
	struct entry	 e;
	char		*path, *line = NULL;
	size_t		 cap = 0;
	FILE		*f;
	int		 n = 0;

	xasprintf(&path, "%s/manifest.txt", g->dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		if (!entry_parse(&e, line))
			fail_msg("bad manifest line: %s", line);
		fn(g, &e, arg);
		n++;
	}
	free(line);
	fclose(f);
	free(path);
	return n;
}

/* NumPy's kind character to ours: the test's own table. */
static enum dfs_npy_kind
kind_of(char c)
{
	switch (c) {
	case 'b':
		return DFS_NPY_BOOL;
	case 'i':
		return DFS_NPY_INT;
	case 'u':
		return DFS_NPY_UINT;
	case 'f':
		return DFS_NPY_FLOAT;
	case 'c':
		return DFS_NPY_COMPLEX;
	}
	fail_msg("unexpected numpy kind '%c'", c);
	return 0;
}

struct counts {
	int	supported, unsupported, v1, v2, v3, fortran, big_endian;
	int	zero_d, empty;
};

/* Every field of one file against what NumPy said. */
static void
check_file(const struct unit_gen *g, const struct entry *e, void *arg)
{
	struct counts		*n = arg;
	struct dfs_npy_header	 h;
	unsigned char		*buf;
	char			*cause = NULL, name[32];
	size_t			 len, need = 0;
	int			 rc, i;

	buf = read_head(g, e->name, &len);
	rc = dfs_npy_parse(buf, len, &h, &need, &cause);
	if (e->unsupported) {
		n->unsupported++;
		if (rc != -ENOTSUP)
			print_error("%s: rc %d\n", e->name, rc);
		assert_int_equal(rc, -ENOTSUP);
		assert_non_null(cause);
		assert_non_null(strstr(cause, "unsupported dtype"));
		if (strncmp(e->name, "structured", 10) == 0)
			assert_non_null(strstr(cause, "structured"));
		else
			assert_non_null(strstr(cause, e->descr));
		free(cause);
		free(buf);
		return;
	}

	n->supported++;
	if (rc != 0)
		print_error("%s: rc %d: %s\n", e->name, rc, cause);
	assert_int_equal(rc, 0);
	assert_null(cause);
	assert_string_equal(h.descr, e->descr);
	assert_int_equal(h.byteorder, e->descr[0]);
	assert_int_equal(h.little, e->descr[0] != '>');
	assert_int_equal(h.kind, kind_of(e->descr[1]));
	assert_int_equal(h.itemsize, e->itemsize);
	assert_int_equal(h.fortran_order, e->fortran);
	assert_int_equal(h.ndim, e->ndim);
	for (i = 0; i < e->ndim; i++)
		assert_int_equal(h.shape[i], e->shape[i]);
	assert_int_equal(h.count, e->size);
	assert_int_equal(h.data_bytes, e->nbytes);
	assert_int_equal(h.header_len, e->header_len);
	assert_int_equal(h.data_offset, e->offset);
	assert_int_equal(need, e->offset);
	assert_int_equal(h.major, e->major);
	assert_int_equal(h.minor, e->minor);
	assert_string_equal(dfs_npy_kind_name(&h, name, sizeof name),
	    e->dtype_name);

	/* Exactly the header is enough; one byte less is not. */
	assert_int_equal(dfs_npy_parse(buf, e->offset, &h, &need, NULL), 0);
	assert_int_equal(dfs_npy_parse(buf, e->offset - 1, &h, &need, NULL),
	    -EAGAIN);
	assert_int_equal(need, e->offset);

	n->v1 += e->major == 1;
	n->v2 += e->major == 2;
	n->v3 += e->major == 3;
	n->fortran += e->fortran;
	n->big_endian += e->descr[0] == '>';
	n->zero_d += e->ndim == 0;
	n->empty += e->size == 0;
	free(buf);
}

/* The parser agrees with NumPy on every file NumPy wrote. */
static void
test_numpy_files(void **state)
{
	struct counts	n;
	int		lines;

	memset(&n, 0, sizeof n);
	lines = each_entry(*state, check_file, &n);
	assert_int_equal(lines, n.supported + n.unsupported);
	/* The generator really covered what it is meant to. */
	assert_true(n.supported >= 150);
	assert_true(n.unsupported >= 8);
	assert_true(n.v1 > 0 && n.v2 >= 28 && n.v3 >= 28);
	assert_true(n.fortran >= 28);
	assert_true(n.big_endian >= 40);
	assert_true(n.zero_d >= 28);
	assert_true(n.empty >= 4);
}

/* Our header for a NumPy file's array equals NumPy's, byte for byte. */
static void
rewrite_file(const struct unit_gen *g, const struct entry *e, void *arg)
{
	struct dfs_npy_header	 h, w;
	unsigned char		*buf, out[4096];
	size_t			 len;
	ssize_t			 n;
	int			*count = arg;

	if (e->unsupported || e->major != 1)
		return;
	buf = read_head(g, e->name, &len);
	assert_int_equal(dfs_npy_parse(buf, len, &h, NULL, NULL), 0);
	memset(&w, 0, sizeof w);
	w.kind = h.kind;
	w.itemsize = h.itemsize;
	w.byteorder = h.byteorder;
	w.fortran_order = h.fortran_order;
	w.ndim = h.ndim;
	memcpy(w.shape, h.shape, sizeof w.shape);
	n = dfs_npy_write_header(&w, out, sizeof out);
	if (n != (ssize_t)e->offset || memcmp(out, buf, e->offset) != 0)
		print_error("%s: our header differs from NumPy's\n", e->name);
	assert_int_equal(n, e->offset);
	assert_memory_equal(out, buf, e->offset);
	assert_int_equal(w.header_len, e->header_len);
	assert_int_equal(w.count, e->size);
	assert_int_equal(w.data_bytes, e->nbytes);
	assert_string_equal(w.descr, e->descr);
	(*count)++;
	free(buf);
}

static void
test_numpy_rewrite(void **state)
{
	int	count = 0;

	each_entry(*state, rewrite_file, &count);
	assert_true(count >= 100);
}

/* Every proper prefix of a NumPy header asks for more, never succeeds. */
static void
prefix_file(const struct unit_gen *g, const struct entry *e, void *arg)
{
	struct dfs_npy_header	 h;
	unsigned char		*buf, *copy;
	size_t			 len, i, need;
	int			 rc, *count = arg;

	buf = read_head(g, e->name, &len);
	/* Where the data starts, from the file's own HEADER_LEN. */
	if (buf[6] == 1)
		need = 10 + (buf[8] | (size_t)buf[9] << 8);
	else
		need = 12 + (buf[8] | (size_t)buf[9] << 8 |
		    (size_t)buf[10] << 16 | (size_t)buf[11] << 24);
	assert_true(need <= len);
	if (!e->unsupported)
		assert_int_equal(need, e->offset);
	for (i = 0; i < need; i++) {
		size_t	got = 0;

		/* A heap copy of exactly i bytes, so ASan sees overreads. */
		copy = xmalloc(i);
		memcpy(copy, buf, i);
		rc = dfs_npy_parse(i ? copy : NULL, i, &h, &got, NULL);
		free(copy);
		if (rc != -EAGAIN)
			print_error("%s: prefix %zu: rc %d\n", e->name, i, rc);
		assert_int_equal(rc, -EAGAIN);
		assert_true(got > i);
		assert_true(got <= need);
		(*count)++;
	}
	free(buf);
}

static void
test_numpy_prefixes(void **state)
{
	int	count = 0;

	each_entry(*state, prefix_file, &count);
	assert_true(count >= 150 * 128);
}

/* Build a header: magic, version, HEADER_LEN = strlen(dict), dict. */
static size_t
mkhdr(unsigned char *buf, size_t cap, int major, int minor, const char *dict)
{
	size_t	n = strlen(dict), prefix = major == 1 ? 10 : 12;

	assert_true(prefix + n <= cap);
	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (unsigned char)major;
	buf[7] = (unsigned char)minor;
	buf[8] = n & 0xff;
	buf[9] = n >> 8 & 0xff;
	if (prefix == 12) {
		buf[10] = n >> 16 & 0xff;
		buf[11] = n >> 24 & 0xff;
	}
	memcpy(buf + prefix, dict, n);
	return prefix + n;
}

/* Parse a v1 header with this dict; rc must be want, with a cause. */
static void
expect_dict(const char *dict, int want, struct dfs_npy_header *h)
{
	static unsigned char	 buf[DFS_NPY_MAX_HEADER + 16];
	struct dfs_npy_header	 tmp;
	char			*cause = NULL;
	size_t			 len;
	int			 rc;

	len = mkhdr(buf, sizeof buf, 1, 0, dict);
	rc = dfs_npy_parse(buf, len, h != NULL ? h : &tmp, NULL, &cause);
	if (rc != want)
		print_error("dict %s: rc %d, want %d (%s)\n", dict, rc, want,
		    cause != NULL ? cause : "no cause");
	assert_int_equal(rc, want);
	if (want != 0)
		assert_non_null(cause);
	else
		assert_null(cause);
	free(cause);
}

#define F8(shape) "{'descr': '<f8', 'fortran_order': False, 'shape': " \
	shape ", }\n"

/* Not a .npy: the magic is checked on whatever bytes there are. */
static void
test_bad_magic(void **state UNUSED)
{
	struct dfs_npy_header	 h;
	unsigned char		 buf[256];
	char			*cause = NULL;
	size_t			 len, need = 0;

	len = mkhdr(buf, sizeof buf, 1, 0, F8("(3,)"));
	buf[5] = 'Z';
	assert_int_equal(dfs_npy_parse(buf, len, &h, NULL, &cause), -EINVAL);
	assert_non_null(strstr(cause, "bad magic"));
	free(cause);
	/* A zip file is refused at once, not after "more bytes". */
	assert_int_equal(dfs_npy_parse("PK\3\4", 4, &h, &need, NULL),
	    -EINVAL);
	/* A correct partial magic asks for the fixed prefix. */
	assert_int_equal(dfs_npy_parse("\x93NUM", 4, &h, &need, NULL),
	    -EAGAIN);
	assert_int_equal(need, 10);
	assert_int_equal(dfs_npy_parse(NULL, 0, &h, &need, NULL), -EAGAIN);
	assert_int_equal(need, 10);
}

/* Only versions 1.0, 2.0 and 3.0 exist. */
static void
test_bad_version(void **state UNUSED)
{
	static const int	 bad[][2] = { { 4, 0 }, { 1, 5 }, { 0, 0 },
	    { 2, 1 }, { 255, 255 } };
	struct dfs_npy_header	 h;
	unsigned char		 buf[256];
	char			*cause = NULL;
	size_t			 len, i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		len = mkhdr(buf, sizeof buf, bad[i][0], bad[i][1], F8("(3,)"));
		assert_int_equal(dfs_npy_parse(buf, len, &h, NULL, &cause),
		    -EINVAL);
		assert_non_null(strstr(cause, "version"));
		free(cause);
		cause = NULL;
	}
	/* Version 3.0 reads like 2.0: a 4-byte HEADER_LEN. */
	len = mkhdr(buf, sizeof buf, 3, 0, F8("(3,)"));
	assert_int_equal(dfs_npy_parse(buf, len, &h, NULL, NULL), 0);
	assert_int_equal(h.major, 3);
	assert_int_equal(h.data_offset, len);
}

/* Short input asks for exactly the bytes it needs. */
static void
test_truncated(void **state UNUSED)
{
	struct dfs_npy_header	 h;
	unsigned char		 buf[256];
	char			*cause = NULL;
	size_t			 len, need = 0;

	len = mkhdr(buf, sizeof buf, 1, 0, F8("(3,)"));
	assert_int_equal(dfs_npy_parse(buf, 9, &h, &need, &cause), -EAGAIN);
	assert_int_equal(need, 10);
	assert_non_null(cause);
	free(cause);
	assert_int_equal(dfs_npy_parse(buf, 10, &h, &need, NULL), -EAGAIN);
	assert_int_equal(need, len);
	assert_int_equal(dfs_npy_parse(buf, len - 1, &h, &need, NULL),
	    -EAGAIN);
	assert_int_equal(need, len);
	assert_int_equal(dfs_npy_parse(buf, len, &h, &need, NULL), 0);
	assert_int_equal(need, len);
	/* Data after the header is not the parser's business. */
	memset(buf + len, 0xff, 16);
	assert_int_equal(dfs_npy_parse(buf, len + 16, &h, &need, NULL), 0);
	assert_int_equal(h.data_offset, len);

	/* Version 2.0 has a 4-byte HEADER_LEN. */
	len = mkhdr(buf, sizeof buf, 2, 0, F8("(3,)"));
	assert_int_equal(dfs_npy_parse(buf, 11, &h, &need, NULL), -EAGAIN);
	assert_int_equal(need, 12);
	assert_int_equal(dfs_npy_parse(buf, 12, &h, &need, NULL), -EAGAIN);
	assert_int_equal(need, len);
	/* need and cause are optional. */
	assert_int_equal(dfs_npy_parse(buf, 5, &h, NULL, NULL), -EAGAIN);
}

/* A hostile HEADER_LEN is refused before anything is read or allocated. */
static void
test_hostile_header_len(void **state UNUSED)
{
	struct dfs_npy_header	 h;
	unsigned char		 buf[16];
	char			*cause = NULL;
	size_t			 need = 0;

	memcpy(buf, "\x93NUMPY\2\0\xff\xff\xff\xff", 12);
	assert_int_equal(dfs_npy_parse(buf, 12, &h, &need, &cause), -EINVAL);
	assert_non_null(strstr(cause, "header length"));
	free(cause);
	/* 65537 is one past the limit; 65536 is within it. */
	memcpy(buf, "\x93NUMPY\3\0\x01\x00\x01\x00", 12);
	assert_int_equal(dfs_npy_parse(buf, 12, &h, &need, NULL), -EINVAL);
	memcpy(buf, "\x93NUMPY\2\0\x00\x00\x01\x00", 12);
	assert_int_equal(dfs_npy_parse(buf, 12, &h, &need, NULL), -EAGAIN);
	assert_int_equal(need, 12 + 65536);
	/* Version 1.0 can say at most 65535: allowed, just short. */
	memcpy(buf, "\x93NUMPY\1\0\xff\xff", 10);
	assert_int_equal(dfs_npy_parse(buf, 10, &h, &need, NULL), -EAGAIN);
	assert_int_equal(need, 10 + 65535);
}

/* The header must be exactly one dict with the three keys. */
static void
test_bad_dict(void **state UNUSED)
{
	struct dfs_npy_header	h;
	unsigned char		buf[256];
	size_t			len;

	expect_dict("[1, 2]\n", -EINVAL, NULL);
	expect_dict("'descr'\n", -EINVAL, NULL);
	expect_dict("\n", -EINVAL, NULL);
	expect_dict("", -EINVAL, NULL);
	expect_dict("{}\n", -EINVAL, NULL);
	/* Missing, duplicate and extra keys. */
	expect_dict("{'descr': '<f8', 'fortran_order': False}\n", -EINVAL,
	    NULL);
	expect_dict("{'descr': '<f8', 'shape': (2,)}\n", -EINVAL, NULL);
	expect_dict("{'fortran_order': False, 'shape': (2,)}\n", -EINVAL,
	    NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), "
	    "'descr': '<f8'}\n", -EINVAL, NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), "
	    "'shape': (2,)}\n", -EINVAL, NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), "
	    "'extra': 1}\n", -EINVAL, NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': False, 'Shape': (2,)}"
	    "\n", -EINVAL, NULL);
	expect_dict("{1: '<f8', 'fortran_order': False, 'shape': (2,)}\n",
	    -EINVAL, NULL);
	/* Punctuation. */
	expect_dict("{'descr' '<f8', 'fortran_order': False, 'shape': (2,)}\n",
	    -EINVAL, NULL);
	expect_dict("{'descr': '<f8' 'fortran_order': False, 'shape': (2,)}\n",
	    -EINVAL, NULL);
	expect_dict("{'descr': '<f8',, 'fortran_order': False, 'shape': (2,)}"
	    "\n", -EINVAL, NULL);
	expect_dict("{, 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}"
	    "\n", -EINVAL, NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)\n",
	    -EINVAL, NULL);
	/* Unterminated strings. */
	expect_dict("{'descr: '<f8', 'fortran_order': False, 'shape': (2,)}\n",
	    -EINVAL, NULL);
	expect_dict("{'descr': '<f8", -EINVAL, NULL);
	expect_dict("{'descr': \"<f8', 'fortran_order': False, 'shape': (2,)}"
	    "\n", -EINVAL, NULL);
	/* Garbage after the dict. */
	expect_dict(F8("(2,)") " x\n", -EINVAL, NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}}"
	    "\n", -EINVAL, NULL);
	/* A NUL byte cannot hide in the padding. */
	len = mkhdr(buf, sizeof buf, 1, 0, F8("(2,)") "  ");
	buf[len - 2] = '\0';
	assert_int_equal(dfs_npy_parse(buf, len, &h, NULL, NULL), -EINVAL);
	/* fortran_order is a Python bool, nothing else. */
	expect_dict("{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}\n",
	    -EINVAL, NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': 'True', 'shape': (2,)}"
	    "\n", -EINVAL, NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': Truely, 'shape': (2,)}"
	    "\n", -EINVAL, NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': false, 'shape': (2,)}"
	    "\n", -EINVAL, NULL);
	/* descr is a string or a list, not a number. */
	expect_dict("{'descr': 8, 'fortran_order': False, 'shape': (2,)}\n",
	    -EINVAL, NULL);
}

/* Dimensions are plain non-negative decimal integers. */
static void
test_bad_shape(void **state UNUSED)
{
	expect_dict(F8("(-1,)"), -EINVAL, NULL);
	expect_dict(F8("(3, -2)"), -EINVAL, NULL);
	expect_dict(F8("(+3,)"), -EINVAL, NULL);
	expect_dict(F8("(2.5,)"), -EINVAL, NULL);
	expect_dict(F8("(5L,)"), -EINVAL, NULL);
	expect_dict(F8("(0x10,)"), -EINVAL, NULL);
	expect_dict(F8("(1e3,)"), -EINVAL, NULL);
	expect_dict(F8("(1_000,)"), -EINVAL, NULL);
	expect_dict(F8("(07,)"), -EINVAL, NULL);
	expect_dict(F8("('3',)"), -EINVAL, NULL);
	expect_dict(F8("(None,)"), -EINVAL, NULL);
	expect_dict(F8("(5)"), -EINVAL, NULL);	/* an int, not a tuple */
	expect_dict(F8("[5]"), -EINVAL, NULL);
	expect_dict(F8("5"), -EINVAL, NULL);
	expect_dict(F8("(,)"), -EINVAL, NULL);
	expect_dict(F8("(3,,)"), -EINVAL, NULL);
	expect_dict(F8("(3 4)"), -EINVAL, NULL);
	expect_dict(F8("(3,"), -EINVAL, NULL);
	expect_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (3",
	    -EINVAL, NULL);
}

/* At most DFS_NPY_MAXDIM dimensions. */
static void
test_too_many_dims(void **state UNUSED)
{
	struct dfs_npy_header	 h;
	char			 dict[1024], *p;
	int			 i;

	p = dict + sprintf(dict, "{'descr': '|u1', 'fortran_order': False, "
	    "'shape': (");
	for (i = 0; i < 64; i++)
		p += sprintf(p, "1, ");
	strcpy(p, "), }\n");
	expect_dict(dict, 0, &h);
	assert_int_equal(h.ndim, 64);
	assert_int_equal(h.count, 1);

	strcpy(p, "1, ), }\n");
	expect_dict(dict, -EINVAL, NULL);
}

/* Sizes that cannot be addressed are refused. */
static void
test_overflow(void **state UNUSED)
{
	struct dfs_npy_header	h;

	expect_dict(F8("(4294967296, 4294967296)"), -EOVERFLOW, NULL);
	expect_dict(F8("(99999999999999999999999,)"), -EOVERFLOW, NULL);
	expect_dict(F8("(1152921504606846976,)"), -EOVERFLOW, NULL);
	expect_dict("{'descr': '|u1', 'fortran_order': False, 'shape': "
	    "(9223372036854775808,), }\n", -EOVERFLOW, NULL);
	expect_dict("{'descr': '<c16', 'fortran_order': False, 'shape': "
	    "(65536, 65536, 65536, 65536), }\n", -EOVERFLOW, NULL);
	/* As in NumPy, a zero dim does not excuse the others. */
	expect_dict(F8("(0, 4611686018427387904)"), -EOVERFLOW, NULL);

	/* The largest sizes that do fit. */
	expect_dict("{'descr': '|u1', 'fortran_order': False, 'shape': "
	    "(4611686018427387904,), }\n", 0, &h);
	assert_int_equal(h.count, 4611686018427387904ULL);
	assert_int_equal(h.data_bytes, 4611686018427387904ULL);
	expect_dict(F8("(0, 1099511627776)"), 0, &h);
	assert_int_equal(h.count, 0);
	assert_int_equal(h.data_bytes, 0);
	assert_int_equal(h.shape[1], 1099511627776ULL);
}

/* Dtypes outside bool/int/float/complex are valid but not supported. */
static void
test_unsupported_dtypes(void **state UNUSED)
{
	static const char	*bad[] = { "<f16", "<c32", "|O", "<U5", "|S3",
	    "<M8[ns]", ">m8[s]", "|V4", "<i16", "<f1", "<b2", "|u3", "<f08",
	    "", "float64", "<x8" };
	char			 dict[256], *cause = NULL;
	unsigned char		 buf[512];
	struct dfs_npy_header	 h;
	size_t			 i, len;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': "
		    "False, 'shape': (2,), }\n", bad[i]);
		len = mkhdr(buf, sizeof buf, 1, 0, dict);
		if (dfs_npy_parse(buf, len, &h, NULL, &cause) != -ENOTSUP)
			fail_msg("descr '%s' was not refused", bad[i]);
		assert_non_null(strstr(cause, "unsupported dtype"));
		assert_non_null(strstr(cause, bad[i]));
		free(cause);
		cause = NULL;
	}
	/* The message says what kind of thing the dtype is. */
	len = mkhdr(buf, sizeof buf, 1, 0, "{'descr': '>m8[us]', "
	    "'fortran_order': False, 'shape': (), }");
	assert_int_equal(dfs_npy_parse(buf, len, &h, NULL, &cause), -ENOTSUP);
	assert_non_null(strstr(cause, "timedelta"));
	free(cause);
	len = mkhdr(buf, sizeof buf, 1, 0, "{'descr': '|O', "
	    "'fortran_order': False, 'shape': (), }");
	assert_int_equal(dfs_npy_parse(buf, len, &h, NULL, &cause), -ENOTSUP);
	assert_non_null(strstr(cause, "object"));
	free(cause);

	expect_dict("{'descr': [('a', '<i4'), ('b', [('c', '|u1', (2, 3))])], "
	    "'fortran_order': False, 'shape': (2,), }\n", -ENOTSUP, NULL);
	expect_dict("{'descr': ('<i4', (2,)), 'fortran_order': False, "
	    "'shape': (2,), }\n", -ENOTSUP, NULL);
	/* A badly formed structured descr is malformed, not unsupported. */
	expect_dict("{'descr': [('a', '<i4'), 'fortran_order': False, "
	    "'shape': (2,), }\n", -EINVAL, NULL);
	expect_dict("{'descr': [('a', '<i4']), 'fortran_order': False, "
	    "'shape': (2,), }\n", -EINVAL, NULL);
	/* Syntax errors win over an unsupported dtype. */
	expect_dict("{'descr': '<U5', 'fortran_order': False}\n", -EINVAL,
	    NULL);
}

/* Hostile nesting inside a descr is bounded, not recursed into. */
static void
test_deep_nesting(void **state UNUSED)
{
	static char	dict[2 * 100000 + 128];
	char		*p;
	int		 i;

	p = dict + sprintf(dict, "{'descr': ");
	for (i = 0; i < 30000; i++)
		*p++ = '[';
	for (i = 0; i < 30000; i++)
		*p++ = ']';
	strcpy(p, ", 'fortran_order': False, 'shape': (2,), }\n");
	expect_dict(dict, -EINVAL, NULL);
}

/* What NumPy and other writers may legally vary is accepted. */
static void
test_accepted_variants(void **state UNUSED)
{
	struct dfs_npy_header	h;

	/* Key order, double quotes, no trailing comma, odd whitespace. */
	expect_dict("{\"shape\":(2,3),\"fortran_order\":True,"
	    "\"descr\":\">i4\"}", 0, &h);
	assert_string_equal(h.descr, ">i4");
	assert_int_equal(h.byteorder, '>');
	assert_false(h.little);
	assert_int_equal(h.kind, DFS_NPY_INT);
	assert_int_equal(h.itemsize, 4);
	assert_true(h.fortran_order);
	assert_int_equal(h.ndim, 2);
	assert_int_equal(h.shape[0], 2);
	assert_int_equal(h.shape[1], 3);
	assert_int_equal(h.count, 6);
	assert_int_equal(h.data_bytes, 24);
	assert_int_equal(h.header_len, 50);
	assert_int_equal(h.data_offset, 60);

	expect_dict("  {\n\t'descr' :\t'<u2' ,\r\n 'fortran_order'\n: False ,"
	    " 'shape' : ( 7 , 8 , ) , }  \n\n  ", 0, &h);
	assert_string_equal(h.descr, "<u2");
	assert_int_equal(h.kind, DFS_NPY_UINT);
	assert_int_equal(h.ndim, 2);
	assert_int_equal(h.shape[1], 8);
	assert_int_equal(h.count, 56);

	/* 0-d. */
	expect_dict("{'descr': '<c8', 'fortran_order': False, 'shape': ()}",
	    0, &h);
	assert_int_equal(h.ndim, 0);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.data_bytes, 8);
	assert_int_equal(h.kind, DFS_NPY_COMPLEX);

	/* '=' is the host's order; one byte has none. */
	expect_dict("{'descr': '=f4', 'fortran_order': False, 'shape': (1,)}",
	    0, &h);
	assert_string_equal(h.descr, "<f4");
	assert_true(h.little);
	expect_dict("{'descr': '<i1', 'fortran_order': False, 'shape': (1,)}",
	    0, &h);
	assert_string_equal(h.descr, "|i1");
	assert_int_equal(h.byteorder, '|');
	expect_dict("{'descr': '>u1', 'fortran_order': False, 'shape': (1,)}",
	    0, &h);
	assert_string_equal(h.descr, "|u1");
	assert_true(h.little);
	expect_dict("{'descr': '=b1', 'fortran_order': False, 'shape': (1,)}",
	    0, &h);
	assert_string_equal(h.descr, "|b1");
	assert_int_equal(h.kind, DFS_NPY_BOOL);
	/* NumPy reads a missing or '|' order on a wide type as native. */
	expect_dict("{'descr': 'f8', 'fortran_order': False, 'shape': (1,)}",
	    0, &h);
	assert_string_equal(h.descr, "<f8");
	expect_dict("{'descr': '|f2', 'fortran_order': False, 'shape': (1,)}",
	    0, &h);
	assert_string_equal(h.descr, "<f2");
	assert_int_equal(h.itemsize, 2);
	/* 0 is a plain integer, and so is 00 in Python. */
	expect_dict(F8("(0, 00)"), 0, &h);
	assert_int_equal(h.count, 0);
}

/* Headers we write parse back to what we asked for. */
static void
test_write_roundtrip(void **state UNUSED)
{
	static const struct {
		enum dfs_npy_kind kind;
		unsigned	 itemsize;
		char		 byteorder;
		bool		 fortran;
		int		 ndim;
		uint64_t	 shape[3];
		const char	*descr;
		uint64_t	 count;
	} c[] = {
		{ DFS_NPY_FLOAT, 8, '<', false, 2, { 3, 4 }, "<f8", 12 },
		{ DFS_NPY_INT, 2, '>', true, 3, { 2, 3, 5 }, ">i2", 30 },
		{ DFS_NPY_BOOL, 1, '<', false, 0, { 0 }, "|b1", 1 },
		{ DFS_NPY_COMPLEX, 16, '>', false, 1, { 0 }, ">c16", 0 },
		{ DFS_NPY_UINT, 8, '=', false, 1, { 1ULL << 40 }, "<u8",
		    1ULL << 40 },
	};
	struct dfs_npy_header	w, r;
	unsigned char		buf[512];
	size_t			i;
	ssize_t			n;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		memset(&w, 0, sizeof w);
		w.kind = c[i].kind;
		w.itemsize = c[i].itemsize;
		w.byteorder = c[i].byteorder;
		w.fortran_order = c[i].fortran;
		w.ndim = c[i].ndim;
		memcpy(w.shape, c[i].shape, sizeof c[i].shape);
		n = dfs_npy_write_header(&w, buf, sizeof buf);
		assert_true(n > 0);
		assert_int_equal(n % 64, 0);
		assert_int_equal(buf[n - 1], '\n');
		assert_int_equal(w.major, 1);
		assert_int_equal(w.data_offset, n);
		assert_int_equal(w.count, c[i].count);
		assert_int_equal(w.data_bytes, c[i].count * c[i].itemsize);
		assert_string_equal(w.descr, c[i].descr);

		assert_int_equal(dfs_npy_parse(buf, (size_t)n, &r, NULL, NULL),
		    0);
		assert_string_equal(r.descr, c[i].descr);
		assert_int_equal(r.kind, c[i].kind);
		assert_int_equal(r.itemsize, c[i].itemsize);
		assert_int_equal(r.fortran_order, c[i].fortran);
		assert_int_equal(r.ndim, c[i].ndim);
		assert_memory_equal(r.shape, c[i].shape,
		    (size_t)c[i].ndim * sizeof r.shape[0]);
		assert_int_equal(r.count, c[i].count);
		assert_int_equal(r.data_offset, n);
		assert_int_equal(r.header_len, w.header_len);

		/* One byte too few is no room at all. */
		assert_int_equal(dfs_npy_write_header(&w, buf, (size_t)n - 1),
		    -ENOSPC);
	}
}

/* The writer refuses what it cannot describe. */
static void
test_write_invalid(void **state UNUSED)
{
	struct dfs_npy_header	w;
	unsigned char		buf[4096];

	memset(&w, 0, sizeof w);
	w.kind = DFS_NPY_FLOAT;
	w.itemsize = 16;
	w.byteorder = '<';
	assert_int_equal(dfs_npy_write_header(&w, buf, sizeof buf), -EINVAL);
	w.itemsize = 8;
	w.kind = 0;
	assert_int_equal(dfs_npy_write_header(&w, buf, sizeof buf), -EINVAL);
	w.kind = DFS_NPY_BOOL;
	w.itemsize = 2;
	assert_int_equal(dfs_npy_write_header(&w, buf, sizeof buf), -EINVAL);
	w.itemsize = 1;
	w.byteorder = 'x';
	assert_int_equal(dfs_npy_write_header(&w, buf, sizeof buf), -EINVAL);
	w.byteorder = '|';
	w.ndim = DFS_NPY_MAXDIM + 1;
	assert_int_equal(dfs_npy_write_header(&w, buf, sizeof buf), -EINVAL);
	w.ndim = -1;
	assert_int_equal(dfs_npy_write_header(&w, buf, sizeof buf), -EINVAL);
	/* 2^62 bytes fit; 2^64 do not. */
	w.ndim = 2;
	w.shape[0] = 1ULL << 32;
	w.shape[1] = 1ULL << 30;
	assert_true(dfs_npy_write_header(&w, buf, sizeof buf) > 0);
	assert_int_equal(w.data_bytes, 1ULL << 62);
	w.kind = DFS_NPY_INT;
	w.itemsize = 4;
	assert_int_equal(dfs_npy_write_header(&w, buf, sizeof buf),
	    -EOVERFLOW);
	assert_int_equal(dfs_npy_write_header(&w, buf, 0), -EOVERFLOW);
	w.itemsize = 1;
	assert_int_equal(dfs_npy_write_header(&w, buf, 0), -ENOSPC);
}

/* Names as NumPy spells them. */
static void
test_kind_name(void **state UNUSED)
{
	struct dfs_npy_header	h;
	char			buf[32];

	memset(&h, 0, sizeof h);
	h.kind = DFS_NPY_BOOL;
	h.itemsize = 1;
	assert_string_equal(dfs_npy_kind_name(&h, buf, sizeof buf), "bool");
	h.kind = DFS_NPY_UINT;
	assert_string_equal(dfs_npy_kind_name(&h, buf, sizeof buf), "uint8");
	h.kind = DFS_NPY_FLOAT;
	h.itemsize = 2;
	assert_string_equal(dfs_npy_kind_name(&h, buf, sizeof buf),
	    "float16");
	h.kind = DFS_NPY_COMPLEX;
	h.itemsize = 16;
	assert_string_equal(dfs_npy_kind_name(&h, buf, sizeof buf),
	    "complex128");
	h.kind = DFS_NPY_INT;
	h.itemsize = 3;
	assert_string_equal(dfs_npy_kind_name(&h, buf, sizeof buf),
	    "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numpy_files, gen_setup,
		    gen_teardown),
		cmocka_unit_test_setup_teardown(test_numpy_rewrite, gen_setup,
		    gen_teardown),
		cmocka_unit_test_setup_teardown(test_numpy_prefixes, gen_setup,
		    gen_teardown),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_hostile_header_len),
		cmocka_unit_test(test_bad_dict),
		cmocka_unit_test(test_bad_shape),
		cmocka_unit_test(test_too_many_dims),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_unsupported_dtypes),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_accepted_variants),
		cmocka_unit_test(test_write_roundtrip),
		cmocka_unit_test(test_write_invalid),
		cmocka_unit_test(test_kind_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
