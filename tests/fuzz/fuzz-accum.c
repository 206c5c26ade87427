/*
 * fuzz-accum.c: libFuzzer target for partials of dfs-sum.
 *
 * The input is first read as an encoded partial, as it would arrive from a
 * data node.  Whatever decodes must be canonical (it re-encodes to the very
 * bytes it came from), must merge with another partial in either order to
 * the same bytes, and the merge must survive its own round trip.  Whatever
 * does not decode must fail cleanly and leave an empty partial.
 *
 * The bytes after the partial (or all of them, when nothing decodes) are
 * also summed as raw array elements of a dtype picked by their first byte,
 * on the portable kernel and on the AVX2 one: both must make the same
 * partial, whatever NaNs, subnormals and byte orders the fuzzer finds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accum.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Abort with a useful stack when an invariant breaks. */
#define CHECK(x) do {							\
	if (!(x))							\
		abort();						\
} while (0)

static const struct {
	char		kind;
	unsigned	size;
} dtypes[] = {
	{ 'f', 8 }, { 'f', 4 }, { 'f', 2 }, { 'c', 16 }, { 'c', 8 },
	{ 'i', 8 }, { 'u', 8 }, { 'i', 4 }, { 'u', 2 }, { 'i', 1 },
	{ 'b', 1 },
};

/* The partial kind a NumPy type char needs. */
static enum dfs_acc_kind
kind_of(char kind)
{
	return kind == 'f' ? DFS_ACC_FLOAT : kind == 'c' ? DFS_ACC_COMPLEX :
	    DFS_ACC_INT;
}

/* Whether two partials encode to the same bytes. */
static bool
same_enc(const struct dfs_acc *a, const struct dfs_acc *b)
{
	struct dfs_wbuf	wa, wb;
	bool		same;

	dfs_wbuf_init(&wa);
	dfs_wbuf_init(&wb);
	dfs_acc_encode(a, &wa);
	dfs_acc_encode(b, &wb);
	CHECK(wa.len <= DFS_ACC_ENC_MAX && wb.len <= DFS_ACC_ENC_MAX);
	same = wa.len == wb.len && memcmp(wa.data, wb.data, wa.len) == 0;
	dfs_wbuf_release(&wa);
	dfs_wbuf_release(&wb);
	return same;
}

/* Read every result the partial offers; none may crash. */
static void
results(const struct dfs_acc *a)
{
	char	buf[DFS_ACC_DEC_MAX];
	double	re, im;

	switch (dfs_acc_kind(a)) {
	case DFS_ACC_INT:
		CHECK(dfs_acc_result_dec(a, buf, sizeof buf) == 0);
		break;
	case DFS_ACC_COMPLEX:
		dfs_acc_result_c128(a, &re, &im);
		dfs_fmt_double(re, buf, DFS_FMT_DOUBLE_MAX);
		dfs_fmt_double(im, buf, DFS_FMT_DOUBLE_MAX);
		break;
	default:
		dfs_fmt_double(dfs_acc_result_f64(a), buf,
		    DFS_FMT_DOUBLE_MAX);
		break;
	}
}

/* Encode, decode, encode: the same bytes. */
static void
roundtrip(const struct dfs_acc *a)
{
	struct dfs_wbuf	w;
	struct dfs_rbuf	r;
	struct dfs_acc	b;

	dfs_wbuf_init(&w);
	dfs_acc_encode(a, &w);
	dfs_rbuf_init(&r, w.data, w.len);
	CHECK(dfs_acc_decode(&r, &b) == 0);
	CHECK(dfs_rbuf_done(&r) == 0);
	CHECK(same_enc(a, &b));
	dfs_wbuf_release(&w);
}

/* data[1..] as elements of the dtype data[0] picks, on both kernels. */
static void
raw_sum(const uint8_t *data, size_t size, char want_kind,
    struct dfs_acc *out)
{
	struct dfs_acc	x, y;
	size_t		t, n;
	bool		little, simd;

	if (size == 0) {
		dfs_acc_init(out, kind_of(want_kind));
		return;
	}
	t = data[0] % (sizeof dtypes / sizeof dtypes[0]);
	if (want_kind != 0)
		while (kind_of(dtypes[t].kind) != kind_of(want_kind))
			t = (t + 1) % (sizeof dtypes / sizeof dtypes[0]);
	little = (data[0] & 0x80) == 0;
	n = (size - 1) / dtypes[t].size;
	dfs_acc_init(&x, kind_of(dtypes[t].kind));
	dfs_acc_init(&y, kind_of(dtypes[t].kind));
	simd = dfs_acc_set_simd(false);
	CHECK(dfs_acc_add(&x, dtypes[t].kind, dtypes[t].size, little,
	    data + 1, n) == 0);
	dfs_acc_set_simd(true);
	CHECK(dfs_acc_add(&y, dtypes[t].kind, dtypes[t].size, little,
	    data + 1, n) == 0);
	dfs_acc_set_simd(simd);
	CHECK(dfs_acc_count(&x) == n);
	CHECK(same_enc(&x, &y));
	results(&x);
	roundtrip(&x);
	*out = x;
}

/* One input: a partial, then raw elements. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dfs_rbuf	r;
	struct dfs_wbuf	w;
	struct dfs_acc	a, b, ab, ba;
	int		rc;

	dfs_rbuf_init(&r, data, size);
	rc = dfs_acc_decode(&r, &a);
	if (rc != 0) {
		CHECK(rc == -EBADMSG && r.err == -EBADMSG);
		CHECK(dfs_acc_count(&a) == 0);
		results(&a);
		raw_sum(data, size, 0, &b);
		return 0;
	}
	/* Only the canonical form is accepted. */
	dfs_wbuf_init(&w);
	dfs_acc_encode(&a, &w);
	CHECK(w.len == r.off && memcmp(w.data, data, w.len) == 0);
	dfs_wbuf_release(&w);
	results(&a);

	/* Merge with the rest of the input summed as an array. */
	raw_sum(data + r.off, size - r.off,
	    dfs_acc_kind(&a) == DFS_ACC_FLOAT ? 'f' :
	    dfs_acc_kind(&a) == DFS_ACC_COMPLEX ? 'c' : 'i', &b);
	ab = a;
	ba = b;
	CHECK(dfs_acc_merge(&ab, &b) == 0);
	CHECK(dfs_acc_merge(&ba, &a) == 0);
	CHECK(same_enc(&ab, &ba));
	results(&ab);
	if (dfs_acc_count(&ab) < UINT64_MAX)
		roundtrip(&ab);
	/* And with itself: still a plausible partial unless saturated. */
	CHECK(dfs_acc_merge(&ab, &a) == 0);
	results(&ab);
	if (dfs_acc_count(&ab) < UINT64_MAX)
		roundtrip(&ab);
	return 0;
}
