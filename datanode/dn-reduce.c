/*
 * dn-reduce.c: REDUCE, the in-place sum of a range of elements of a block
 * this node holds, answered with an exact partial (lib/accum.h).
 *
 * Why it is built this way.  dfs-sum moves partial results, never data:
 * a few hundred bytes come back for a 64 MiB block.  So the work here is
 * reading the block from the page cache, checking it, and adding it up,
 * and all three are kept at memory speed (MEASUREMENTS.md):
 *
 * - The block is read with pread in segments of up to 1 MiB (whole
 *   chunks) into a buffer that is allocated once and reused by every
 *   later reduction: pread into a reused buffer beat mmap here, and the
 *   first touch of fresh memory runs at a fraction of memory speed.
 * - Each segment is checked against the stored CRC32Cs by the same
 *   verified read as READ (dn_rfile_read) while it is still in this
 *   core's cache, then handed to dfs_acc_add, whose loops are vectorized;
 *   no element is added before its chunk has passed.  A checksum error
 *   ends the reduction with an ERROR and reports the replica to the
 *   namenode: a reduction never turns bad bytes into a number.
 * - At most datanode.reduce_threads reductions run at once (a counting
 *   semaphore; later requests wait their turn on their connection
 *   threads).  Each running reduction owns one slot of the pool, and a
 *   slot's buffers live for the life of the process, so the memory a
 *   node spends on reductions is bounded and touched once.
 *
 * The client names the element range (offset of the first element in the
 * block, element count) and the dtype; elements need not start on a
 * chunk or segment boundary: an element cut by a segment edge is carried
 * over in a small buffer and added whole.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accum.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

#include "dn_i.h"

/* Bytes read and checked at a time: whole chunks, at most this many. */
#define REDUCE_SEG		(1U << 20)
/* The most slots datanode.reduce_threads may ask for (its upper bound). */
#define REDUCE_MAX_SLOTS	256
/* The largest element: c16. */
#define REDUCE_MAX_ITEM		16

/* The buffers of one running reduction, kept between reductions. */
struct reduce_slot {
	uint8_t		*data;		/* REDUCE_SEG bytes */
	uint8_t		*crcs;		/* the segment's stored CRCs */
	bool		 busy;
};

/* The semaphore and its slots.  One per process, as is struct dn. */
static struct {
	pthread_mutex_t		lock;		/* guards all below */
	pthread_cond_t		cond;		/* a slot was released */
	int			limit;		/* 0 until first use */
	int			busy;
	struct reduce_slot	slot[REDUCE_MAX_SLOTS];
} red = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* An element cut by a segment edge, and the partial it is added to. */
struct reduce_acc {
	struct dfs_acc	acc;
	char		kind;
	unsigned	itemsize;
	bool		little;
	uint8_t		carry[REDUCE_MAX_ITEM];
	unsigned	ncarry;
};

/*
 * Take a slot, waiting while datanode.reduce_threads reductions run.
 * NULL when the node is stopping.
 */
static struct reduce_slot *
reduce_acquire(struct dn *dn)
{
	struct reduce_slot	*s = NULL;
	struct timespec		 ts;

	pthread_mutex_lock(&red.lock);
	if (red.limit == 0) {
		red.limit = (int)dfs_config_int(dn->cfg,
		    "datanode.reduce_threads");
		if (red.limit < 1 || red.limit > REDUCE_MAX_SLOTS)
			red.limit = red.limit < 1 ? 1 : REDUCE_MAX_SLOTS;
	}
	while (red.busy >= red.limit && !atomic_load(&dn->stopping)) {
		/* Wake now and then to notice a shutdown. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&red.cond, &red.lock, &ts);
	}
	if (!atomic_load(&dn->stopping)) {
		for (int i = 0; i < red.limit; i++) {
			if (!red.slot[i].busy) {
				s = &red.slot[i];
				break;
			}
		}
		s->busy = true;
		red.busy++;
		if (s->data == NULL) {
			s->data = xmalloc(REDUCE_SEG);
			s->crcs = xmalloc(4 * (REDUCE_SEG / DFS_MIN_CHUNK));
		}
	}
	pthread_mutex_unlock(&red.lock);
	return s;
}

/* Give a slot back (its buffers stay allocated for the next one). */
static void
reduce_release(struct reduce_slot *s)
{
	pthread_mutex_lock(&red.lock);
	s->busy = false;
	red.busy--;
	pthread_cond_signal(&red.cond);
	pthread_mutex_unlock(&red.lock);
}

/*
 * Add n bytes of element data, which continue the bytes added before: an
 * element cut at the end waits in carry for the rest.
 */
static void
reduce_add(struct reduce_acc *ra, const uint8_t *p, size_t n)
{
	size_t	whole, take;

	if (ra->ncarry > 0) {
		take = ra->itemsize - ra->ncarry;
		if (take > n)
			take = n;
		memcpy(ra->carry + ra->ncarry, p, take);
		ra->ncarry += take;
		p += take;
		n -= take;
		if (ra->ncarry < ra->itemsize)
			return;
		dfs_acc_add(&ra->acc, ra->kind, ra->itemsize, ra->little,
		    ra->carry, 1);
		ra->ncarry = 0;
	}
	whole = n / ra->itemsize;
	if (whole > 0)
		dfs_acc_add(&ra->acc, ra->kind, ra->itemsize, ra->little, p,
		    whole);
	p += whole * ra->itemsize;
	n -= whole * ra->itemsize;
	memcpy(ra->carry, p, n);
	ra->ncarry = n;
}

/*
 * Read [off, off + len) of the replica segment by segment, each checked
 * against its CRCs before its elements are added.  0, or the error of
 * dn_rfile_read (-EBADMSG for a checksum mismatch, -EIO for a replica
 * that cannot be read in full).  *bytes_read counts the bytes read from
 * disk, whole chunks.
 */
static int
reduce_range(struct dn_rfile *rf, struct reduce_slot *s,
    struct reduce_acc *ra, uint64_t off, uint64_t len, uint64_t *bytes_read,
    char **cause)
{
	const struct dn_block	*b = dn_rfile_block(rf);
	uint64_t		 chunk = b->chunk_size;
	uint64_t		 seg = REDUCE_SEG / chunk * chunk;
	uint64_t		 end = off + len, pos, n, lo, hi;
	int			 rc;

	*bytes_read = 0;
	for (pos = off - off % chunk; pos < end; pos += n) {
		n = end - pos < seg ? end - pos : seg;
		n = (n + chunk - 1) / chunk * chunk;
		if (n > b->len - pos)
			n = b->len - pos;
		if ((rc = dn_rfile_read(rf, pos, n, s->data, s->crcs,
		    cause)) != 0)
			return rc;
		*bytes_read += n;
		lo = pos > off ? pos : off;
		hi = pos + n < end ? pos + n : end;
		reduce_add(ra, s->data + (lo - pos), hi - lo);
	}
	return 0;
}

/* The partial's kind for a NumPy type char, or 0 for none. */
static enum dfs_acc_kind
reduce_kind(char kind)
{
	switch (kind) {
	case 'f':
		return DFS_ACC_FLOAT;
	case 'c':
		return DFS_ACC_COMPLEX;
	case 'b':
	case 'i':
	case 'u':
		return DFS_ACC_INT;
	}
	return 0;
}

/*
 * REDUCE: token (READ), block, generation, offset of the first element,
 * element count, kind, item size, byte order -> PARTIAL (count, bytes
 * read, microseconds, the encoded partial).  0 when answered, or an
 * errno with the cause for the ERROR (dn-server.c).
 */
int
dn_reduce_op_reduce(struct dn_req *req, char **cause)
{
	struct dn		*dn = req->dn;
	struct dfs_wbuf		*out = req->out;
	struct dfs_rbuf		 r;
	struct dfs_token	 tok;
	struct dn_rfile		*rf = NULL;
	struct reduce_slot	*slot = NULL;
	struct reduce_acc	 ra;
	const struct dn_block	*b;
	enum dfs_acc_kind	 akind;
	dfs_block_id		 block;
	uint64_t		 gen, off, count, len = 0, bytes_read = 0;
	int64_t			 t0;
	uint64_t		 usec;
	uint8_t			 kind, itemsize, little;
	size_t			 lenpos, start;
	int			 rc = 0;

	dfs_rbuf_init(&r, req->pl, req->h->len);
	dfs_proto_get_token(&r, &tok);
	block = dfs_get_u64(&r);
	gen = dfs_get_u64(&r);
	off = dfs_get_u64(&r);
	count = dfs_get_u64(&r);
	kind = dfs_get_u8(&r);
	itemsize = dfs_get_u8(&r);
	little = dfs_get_u8(&r);
	if (dfs_rbuf_done(&r) != 0) {
		xasprintf(cause, "malformed REDUCE request");
		return -EBADMSG;
	}
	memset(&ra, 0, sizeof ra);
	akind = reduce_kind((char)kind);
	if (akind != 0)
		dfs_acc_init(&ra.acc, akind);
	if (akind == 0 || little > 1 || dfs_acc_add(&ra.acc, (char)kind,
	    itemsize, little, NULL, 0) != 0) {
		xasprintf(cause, "cannot reduce elements of kind '%c', %u "
		    "bytes, byte order %u", kind >= 0x20 && kind < 0x7f ?
		    kind : '?', itemsize, little);
		rc = -EINVAL;
		goto out;
	}
	ra.kind = (char)kind;
	ra.itemsize = itemsize;
	ra.little = little;
	if (dn_token_check(req, &tok, block, gen, DFS_TOKEN_READ,
	    NULL, cause) != 0) {
		log_warn("REDUCE of block %" PRIu64 " from %s refused: %s",
		    block, req->peer, *cause);
		rc = -EACCES;
		goto out;
	}
	if (count > DN_MAX_BLOCK_LEN / itemsize) {
		xasprintf(cause, "%" PRIu64 " elements of %u bytes cannot be "
		    "in one block", count, itemsize);
		rc = -EINVAL;
		goto out;
	}
	len = count * itemsize;
	if ((rc = dn_store_open_replica(dn->store, block, gen, &rf,
	    cause)) != 0) {
		if (rc == -EIO)
			dn_nn_bad_block(dn->nn, block, gen, *cause);
		goto out;
	}
	b = dn_rfile_block(rf);
	if (off > b->len || len > b->len - off) {
		xasprintf(cause, "elements [%" PRIu64 ", %" PRIu64 ") are "
		    "beyond the end of block %" PRIu64 " (%" PRIu64 " bytes)",
		    off, off + len, block, b->len);
		rc = -EINVAL;
		goto out;
	}
	/* The time reported is the work, not the wait for a slot. */
	usec = 0;
	if (len > 0) {
		if ((slot = reduce_acquire(dn)) == NULL) {
			xasprintf(cause, "data node is shutting down");
			rc = -ESHUTDOWN;
			goto out;
		}
		atomic_fetch_add(&dn->xfers, 1);
		t0 = dfs_now_ns();
		rc = reduce_range(rf, slot, &ra, off, len, &bytes_read, cause);
		usec = (uint64_t)(dfs_now_ns() - t0) / 1000;
		atomic_fetch_sub(&dn->xfers, 1);
		reduce_release(slot);
	}
	if (rc != 0) {
		log_err("REDUCE of block %" PRIu64 " for %s: %s", block,
		    req->peer, *cause);
		if (rc == -EBADMSG || rc == -EIO)
			dn_nn_bad_block(dn->nn, block, gen, *cause);
		if (rc != -ESTALE)	/* patched meanwhile (dn-patch.c) */
			rc = -EIO;
		goto out;
	}
	dfs_wbuf_reset(out);
	dfs_frame_begin(out, DFS_DX_PARTIAL, req->h->req_id);
	dfs_put_u64(out, dfs_acc_count(&ra.acc));
	dfs_put_u64(out, bytes_read);
	dfs_put_u64(out, usec);
	/* The partial as a blob, encoded in place. */
	lenpos = out->len;
	dfs_put_u32(out, 0);
	start = out->len;
	dfs_acc_encode(&ra.acc, out);
	dfs_le32enc(out->data + lenpos, (uint32_t)(out->len - start));
	dfs_frame_end(out);
	rc = dn_server_send(req);
	log_debug("REDUCE block %" PRIu64 " [%" PRIu64 ", %" PRIu64 ") %c%u "
	    "for %s: %" PRIu64 " us", block, off, off + len, kind, itemsize,
	    req->peer, usec);
out:
	dn_rfile_free(rf);
	return rc;
}
