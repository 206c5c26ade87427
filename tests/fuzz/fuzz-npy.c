/*
 * fuzz-npy.c: libFuzzer target for the .npy header parser.
 *
 * Any input must give a clean return code, never a crash or an overread
 * (ASan), and whatever the parser accepts must be self-consistent and must
 * survive a round trip through the writer: re-writing the header from the
 * parsed fields and parsing that again gives the same array description.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Abort with a useful stack when an invariant breaks. */
#define CHECK(x) do {							\
	if (!(x))							\
		abort();						\
} while (0)

/* Fields a successful parse must get right whatever the input. */
static void
check_sane(const struct dfs_npy_header *h, size_t size)
{
	uint64_t	count = 1;
	int		i;

	CHECK(h->major >= 1 && h->major <= 3 && h->minor == 0);
	CHECK(h->ndim >= 0 && h->ndim <= DFS_NPY_MAXDIM);
	CHECK(h->kind >= DFS_NPY_BOOL && h->kind <= DFS_NPY_COMPLEX);
	CHECK(h->itemsize >= 1 && h->itemsize <= 16);
	CHECK(h->byteorder == '<' || h->byteorder == '>' ||
	    h->byteorder == '|');
	CHECK((h->byteorder == '|') == (h->itemsize == 1));
	CHECK(h->little == (h->byteorder != '>'));
	CHECK(h->descr[0] == h->byteorder);
	CHECK(memchr(h->descr, '\0', sizeof h->descr) != NULL);
	CHECK(h->header_len <= DFS_NPY_MAX_HEADER);
	CHECK(h->data_offset == h->header_len +
	    (h->major == 1 ? DFS_NPY_PREFIX_V1 : DFS_NPY_PREFIX_V2));
	CHECK(h->data_offset <= size);
	for (i = 0; i < h->ndim; i++) {
		CHECK(h->shape[i] <= INT64_MAX);
		count = h->shape[i] == 0 ? 0 : count * h->shape[i];
	}
	CHECK(h->count == count);
	CHECK(h->data_bytes == h->count * h->itemsize);
	CHECK(h->count == 0 || h->data_bytes / h->count == h->itemsize);
	CHECK(h->data_bytes <= INT64_MAX - h->data_offset);
}

/* Write what was parsed and parse it back: the same array. */
static void
check_roundtrip(const struct dfs_npy_header *h)
{
	static unsigned char	 out[4096];
	struct dfs_npy_header	 w, r;
	ssize_t			 n;
	char			*cause = NULL;

	memset(&w, 0, sizeof w);
	w.kind = h->kind;
	w.itemsize = h->itemsize;
	w.byteorder = h->byteorder;
	w.fortran_order = h->fortran_order;
	w.ndim = h->ndim;
	memcpy(w.shape, h->shape, sizeof w.shape);
	n = dfs_npy_write_header(&w, out, sizeof out);
	CHECK(n > 0 && n % DFS_NPY_ALIGN == 0);
	CHECK(dfs_npy_parse(out, (size_t)n, &r, NULL, &cause) == 0);
	CHECK(cause == NULL);
	CHECK(strcmp(r.descr, h->descr) == 0);
	CHECK(r.fortran_order == h->fortran_order);
	CHECK(r.ndim == h->ndim);
	CHECK(memcmp(r.shape, h->shape, sizeof r.shape[0] * (size_t)h->ndim)
	    == 0);
	CHECK(r.count == h->count && r.data_bytes == h->data_bytes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dfs_npy_header	 h;
	size_t			 need = 0;
	char			*cause = NULL;
	int			 rc;

	rc = dfs_npy_parse(data, size, &h, &need, &cause);
	switch (rc) {
	case 0:
		CHECK(cause == NULL);
		CHECK(need == h.data_offset);
		check_sane(&h, size);
		check_roundtrip(&h);
		break;
	case -EAGAIN:
		CHECK(need > size);
		CHECK(need <= DFS_NPY_PREFIX_V2 + DFS_NPY_MAX_HEADER);
		/* FALLTHROUGH */
	case -EINVAL:
	case -ENOTSUP:
	case -EOVERFLOW:
		CHECK(cause != NULL && cause[0] != '\0');
		break;
	default:
		abort();
	}
	free(cause);
	return 0;
}
