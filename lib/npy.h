/*
 * npy.h: the NumPy .npy header, parsed from untrusted bytes and written
 * byte for byte as NumPy writes it.
 *
 * A .npy file is a 6-byte magic, a version, a little-endian HEADER_LEN and
 * a Python dict literal giving the dtype, the memory order and the shape;
 * the raw array data follows at data_offset.  Only plain numeric arrays
 * (bool, integers, floats, complex) are supported: their elements have a
 * fixed size, so a byte range of the data is a range of whole elements.
 */
#ifndef DFS_NPY_H
#define DFS_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DFS_NPY_MAXDIM		64
/* A hostile HEADER_LEN above this is rejected before anything is read. */
#define DFS_NPY_MAX_HEADER	(64 * 1024)
/* Bytes before the header dict: magic, version, HEADER_LEN. */
#define DFS_NPY_PREFIX_V1	10
#define DFS_NPY_PREFIX_V2	12
/* NumPy pads the header so the data starts on this boundary. */
#define DFS_NPY_ALIGN		64

enum dfs_npy_kind {
	DFS_NPY_BOOL = 1,
	DFS_NPY_INT,
	DFS_NPY_UINT,
	DFS_NPY_FLOAT,
	DFS_NPY_COMPLEX,
};

struct dfs_npy_header {
	int		 major, minor;	/* 1.0, 2.0 or 3.0 */
	enum dfs_npy_kind kind;
	/*
	 * '<', '>' or '|' as written in the file.  '=' (and '|' or no
	 * byte order on a multi-byte type, which NumPy reads as native) is
	 * normalized to the host order; 1-byte types are always '|'.
	 */
	char		 byteorder;
	bool		 little;	/* little-endian data (or '|') */
	unsigned	 itemsize;	/* 1, 2, 4, 8 or 16 (c16) */
	char		 descr[8];	/* canonical: "<f8", "|b1", ">i4" */
	bool		 fortran_order;
	int		 ndim;
	uint64_t	 shape[DFS_NPY_MAXDIM];
	uint64_t	 count;		/* prod(shape); 1 for 0-d */
	uint64_t	 header_len;	/* the HEADER_LEN field */
	uint64_t	 data_offset;	/* prefix + HEADER_LEN: data starts */
	uint64_t	 data_bytes;	/* count * itemsize */
};

/*
 * Parse the header at the start of buf (len bytes available; buf may be
 * NULL when len is 0).  Never reads past len and allocates nothing but
 * *cause.  Returns
 *   0		and fills *h; *need (if not NULL) = data_offset;
 *   -EAGAIN	buf is a valid prefix that is too short: *need (if not NULL)
 *		is the total number of bytes needed to go on (10 or 12 for
 *		the fixed prefix, then data_offset);
 *   -EINVAL	malformed: bad magic or version, HEADER_LEN above
 *		DFS_NPY_MAX_HEADER, not a dict, bad syntax, missing, extra
 *		or duplicate keys, a dim that is not a plain non-negative
 *		integer, more than DFS_NPY_MAXDIM dims, trailing garbage;
 *   -ENOTSUP	a valid header whose dtype is not bool, integer, float
 *		(f2 f4 f8) or complex (c8 c16);
 *   -EOVERFLOW	a dim, or the data size, exceeds INT64_MAX.
 * On any negative return (-EAGAIN too) *cause, if cause is not NULL, gets
 * a message for a human.  Caller frees.  *h is unspecified on error.
 */
int		 dfs_npy_parse(const void *buf, size_t len,
		     struct dfs_npy_header *h, size_t *need, char **cause);

/*
 * Write the header NumPy would write for an array of h's kind, itemsize,
 * byteorder, fortran_order, ndim and shape: version 1.0 unless the header
 * needs more than 65535 bytes (then 2.0), padded with spaces and a '\n' so
 * data_offset is a multiple of 64.  Fills h's major, minor, descr,
 * byteorder, little, header_len, data_offset, count and data_bytes.
 * Returns the number of bytes written (data_offset), or -ENOSPC if cap is
 * too small, -EINVAL for a bad kind, itemsize, byte order or ndim,
 * -EOVERFLOW if the data size exceeds INT64_MAX.
 */
ssize_t		 dfs_npy_write_header(struct dfs_npy_header *h, void *out,
		     size_t cap);

/*
 * NumPy's name for h's dtype ("bool", "int32", "uint8", "float16",
 * "complex128"), for messages.  Written into buf; returns buf.
 */
const char	*dfs_npy_kind_name(const struct dfs_npy_header *h, char *buf,
		     size_t cap);

#endif
