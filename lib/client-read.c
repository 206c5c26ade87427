/*
 * client-read.c: reading a file straight from the data nodes.
 *
 * Every byte is checked against its chunk's CRC32C here, in the client,
 * before it is handed to the caller: the data node checks too, but only an
 * end-to-end check covers the network and the node's memory.  A replica
 * that fails (refused connection, timeout, error reply, bad checksum) is
 * set aside and the next one is tried, so a reader never sees an error
 * while one good replica exists; a checksum failure is also reported to
 * the namenode so the replica can be replaced.
 *
 * A replica that stops talking (a stopped or overloaded data node) is
 * given up after client.read_stall_timeout of silence, not the whole
 * client.timeout: the read goes on from the next replica at the first
 * byte not yet delivered, and the client remembers the node (client.c) so
 * the next blocks try it last instead of paying the stall again.
 *
 * A replica on this machine is read short-circuit when the client allows
 * it (client.short_circuit): its data node passes the replica's files
 * over a Unix socket and they are read here directly, each chunk checked
 * as above (client-local.c).  The reader keeps the last READER_LOCAL
 * replicas it opened so (and those it could not open, so as not to ask
 * again).  Any failure there, a bad checksum too, hands the rest of the
 * range to TCP on the same replica, where the node checks the replica
 * and reports it bad if it is (then the next replica is read as above);
 * only a node that does not answer on its local socket sends the reader
 * to the next replica at once, as a stall would.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_i.h"
#include "log.h"
#include "xmalloc.h"

#define READER_CONNS	4
#define READER_LOCAL	8	/* replicas kept open for local reads */

struct reader_conn {
	char		 addr[256];
	struct dfs_sock	*s;		/* NULL: none */
};

struct dfs_reader {
	struct dfs_client	*c;
	struct dfs_cred		 cred;		/* its opener's, for later */
	bool			 has_cred;	/* fetches (client-cred.c) */
	char			*path;
	struct dfs_attr		 attr;
	uint32_t		 nblocks;
	struct dfs_lblock	*blocks;
	uint8_t			*bad;		/* per block: bitmask of bad locs */
	struct reader_conn	 conns[READER_CONNS];
	unsigned		 next_conn;
	struct dfs_local_blk	 local[READER_LOCAL];
	uint64_t		 local_tick;
	struct dfs_local_scratch scratch;
	struct dfs_wbuf		 in;
	struct dfs_wbuf		 out;
};

struct blocks_args {
	const char		*path;
	struct dfs_reader	*r;
	uint64_t		 offset;	/* ask from here */
	uint32_t		 got;		/* blocks in the last reply */
};

static void
build_get_blocks(struct dfs_wbuf *b, void *arg)
{
	struct blocks_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u64(b, a->offset);
	dfs_put_u64(b, UINT64_MAX);
}

/* Append one reply's blocks to the reader's list. */
static int
parse_blocks(struct dfs_rbuf *rb, void *arg)
{
	struct blocks_args	*a = arg;
	struct dfs_reader	*r = a->r;
	uint32_t		 n;

	dfs_proto_get_attr(rb, &r->attr);
	n = dfs_get_u32(rb);
	if (rb->err != 0 || n > dfs_rbuf_left(rb) / 8)
		return -EBADMSG;
	r->blocks = xrealloc(r->blocks, (r->nblocks + n) * sizeof *r->blocks);
	r->bad = xrealloc(r->bad, r->nblocks + n);
	memset(r->bad + r->nblocks, 0, n);
	for (uint32_t i = 0; i < n; i++)
		dfs_proto_get_lblock(rb, &r->blocks[r->nblocks + i]);
	r->nblocks += n;
	a->got = n;
	return dfs_rbuf_done(rb);
}

/*
 * Fetch every block's locations.  The namenode bounds each reply, so ask
 * again from the end of the last block until the file is covered.
 */
static int
reader_fetch(struct dfs_reader *r, char **cause)
{
	struct blocks_args	a = { r->path, r, 0, 0 };
	int			rc;

	r->nblocks = 0;
	for (;;) {
		rc = dfs_client_call_as(r->c, r->has_cred ? &r->cred : NULL,
		    DFS_NN_GET_BLOCKS, DFS_NN_BLOCKS, build_get_blocks, &a,
		    parse_blocks, &a, cause);
		if (rc != 0 || a.got == 0 || r->nblocks == 0)
			return rc;
		const struct dfs_lblock *last = &r->blocks[r->nblocks - 1];
		if (last->offset + last->len >= r->attr.size)
			return 0;
		a.offset = last->offset + last->len;
	}
}

/* Open path for reading: its attributes and every block's locations. */
int
dfs_reader_open(struct dfs_client *c, const char *path,
    struct dfs_reader **rp, char **cause)
{
	struct dfs_reader	*r;
	int			 rc;

	r = xcalloc(1, sizeof *r);
	r->c = c;
	r->has_cred = dfs_client_cred_get(c, &r->cred) == 0;
	r->path = xstrdup(path);
	for (int i = 0; i < READER_LOCAL; i++)
		r->local[i].data_fd = r->local[i].meta_fd = -1;
	dfs_wbuf_init(&r->in);
	dfs_wbuf_init(&r->out);
	if ((rc = reader_fetch(r, cause)) != 0) {
		dfs_reader_close(r);
		return rc;
	}
	*rp = r;
	return 0;
}

const struct dfs_attr *
dfs_reader_attr(const struct dfs_reader *r)
{
	return &r->attr;
}

/* The blocks as fetched at open: *n of them.  Borrowed. */
const struct dfs_lblock *
dfs_reader_blocks(const struct dfs_reader *r, uint32_t *n)
{
	*n = r->nblocks;
	return r->blocks;
}

static void
reader_drop(struct dfs_reader *r, const char *addr)
{
	for (int i = 0; i < READER_CONNS; i++) {
		if (r->conns[i].s != NULL &&
		    strcmp(r->conns[i].addr, addr) == 0) {
			dfs_sock_close(r->conns[i].s);
			r->conns[i].s = NULL;
		}
	}
}

/*
 * A connection to the data node at addr, reused across reads, and taken
 * from the client's kept ones (sockpool.c) when the reader has none;
 * *reused says it was, and that its node may have closed it meanwhile.
 */
static int
reader_conn(struct dfs_reader *r, const char *addr, struct dfs_sock **sp,
    bool *reused, char **cause)
{
	struct reader_conn	*rc;
	struct dfs_sock		*s;
	int			 err;

	*reused = false;
	for (int i = 0; i < READER_CONNS; i++)
		if (r->conns[i].s != NULL &&
		    strcmp(r->conns[i].addr, addr) == 0) {
			*sp = r->conns[i].s;
			return 0;
		}
	if ((err = dfs_sockpool_connect(r->c->dnpool, r->c->tls, addr,
	    DFS_ROLE_DATANODE, false, r->c->stall_ms, &s, reused,
	    cause)) != 0)
		return err;
	rc = &r->conns[r->next_conn++ % READER_CONNS];
	/* Every failure drops its connection (reader_drop): one still
	 * here ended its last read cleanly. */
	if (rc->s != NULL)
		dfs_sockpool_put(r->c->dnpool, rc->addr, false, rc->s);
	rc->s = s;
	snprintf(rc->addr, sizeof rc->addr, "%s", addr);
	*sp = s;
	return 0;
}

struct bad_args {
	const struct dfs_lblock	*lb;
	dfs_node_id		 node;
	const char		*why;
};

static void
build_bad(struct dfs_wbuf *b, void *arg)
{
	struct bad_args	*a = arg;

	dfs_put_u64(b, a->lb->block);
	dfs_put_u64(b, a->lb->gen);
	dfs_put_u64(b, a->node);
	dfs_put_str(b, a->why);
}

/*
 * Read [boff, boff+len) of one block from one replica into dst, checking
 * every chunk.  -EILSEQ means the replica sent bytes that fail their
 * checksum; -ETIMEDOUT that it fell silent.  Whatever the result, *got is
 * how many bytes from boff on were checked and placed in dst.
 */
static int
reader_from(struct dfs_reader *r, const struct dfs_lblock *lb,
    const char *addr, uint64_t boff, size_t len, uint8_t *dst, size_t *got,
    char **cause)
{
	struct dfs_frame_hdr	 h;
	struct dfs_rbuf		 rb;
	uint64_t		 end = boff + len;
	struct dfs_sock		*s;
	bool			 reused;
	int			 rc;

	*got = 0;
again:
	if ((rc = reader_conn(r, addr, &s, &reused, cause)) != 0)
		return rc;
	dfs_wbuf_reset(&r->out);
	dfs_frame_begin(&r->out, DFS_DX_READ, 1);
	dfs_proto_put_token(&r->out, &lb->token);
	dfs_put_u64(&r->out, lb->block);
	dfs_put_u64(&r->out, lb->gen);
	dfs_put_u64(&r->out, boff);
	dfs_put_u64(&r->out, len);
	dfs_frame_end(&r->out);
	if ((rc = dfs_net_send(s, &r->out, r->c->stall_ms)) == 0)
		rc = dfs_net_recv_frame_idle(s, &h, &r->in, r->c->stall_ms,
		    cause);
	if (rc != 0 && reused && rc != -ETIMEDOUT) {
		/* A kept connection its node closed meanwhile: once more
		 * on a new one. */
		reader_drop(r, addr);
		free(*cause);
		*cause = NULL;
		goto again;
	}
	if (rc != 0) {
		if (*cause == NULL)
			xasprintf(cause, "%s: %s", addr, strerror(-rc));
		return rc;
	}
	for (;; rc = dfs_net_recv_frame_idle(s, &h, &r->in, r->c->stall_ms,
	    cause)) {
		struct dfs_data d;
		uint64_t bad;

		if (rc != 0)
			return rc;
		dfs_rbuf_init(&rb, r->in.data, h.len);
		if (h.type == DFS_MSG_ERROR) {
			rc = dfs_get_i32(&rb);
			char *msg = dfs_get_strdup(&rb, DFS_WIRE_MAX_STR);
			xasprintf(cause, "%s: %s", addr, msg != NULL ? msg :
			    "error");
			free(msg);
			return rc < 0 ? rc : -EIO;
		}
		if (h.type != DFS_DX_DATA) {
			xasprintf(cause, "%s sent %s, not DATA", addr,
			    dfs_msg_name(h.type));
			return -EPROTO;
		}
		if (dfs_proto_get_data(&rb, &d) != 0) {
			xasprintf(cause, "%s sent a malformed DATA frame", addr);
			return -EPROTO;
		}
		if (d.len == 0)
			break;
		if (dfs_proto_check_data(&d, &bad) != 0) {
			xasprintf(cause, "%s: checksum error in block %llu at "
			    "offset %llu", addr, (unsigned long long)lb->block,
			    (unsigned long long)bad);
			return -EILSEQ;
		}
		/* Copy the part of [d.off, d.off + d.len) asked for. */
		uint64_t lo = d.off > boff ? d.off : boff;
		uint64_t hi = d.off + d.len < end ? d.off + d.len : end;
		if (lo < hi) {
			memcpy(dst + (lo - boff), d.data + (lo - d.off),
			    hi - lo);
			if (lo <= boff + *got && hi > boff + *got)
				*got = hi - boff;
		}
	}
	return 0;
}

/*
 * The replica of lb at lb->locs[loc] opened for local reading: from the
 * reader's cache, else asked of its data node now (the oldest entry makes
 * room).  NULL when it is not to be read so (not local, or it failed:
 * that is remembered too).  Borrowed.
 */
static struct dfs_local_blk *
reader_local_get(struct dfs_reader *r, const struct dfs_lblock *lb,
    uint32_t loc, int *rcp)
{
	struct dfs_local_blk	*b, *victim = &r->local[0];
	char			*why = NULL;

	*rcp = -EOPNOTSUPP;
	for (int i = 0; i < READER_LOCAL; i++) {
		b = &r->local[i];
		if (b->used != 0 && b->block == lb->block &&
		    b->gen == lb->gen && b->node == lb->locs[loc].node) {
			b->used = ++r->local_tick;
			return b->data_fd >= 0 ? b : NULL;
		}
		if (b->used < victim->used)
			victim = b;
	}
	dfs_local_close(victim);
	*rcp = dfs_local_open(r->c, lb, loc, victim, &why);
	victim->used = ++r->local_tick;
	if (*rcp == -ETIMEDOUT)
		victim->used = 0;	/* to be asked again */
	else if (*rcp != 0 && *rcp != -EOPNOTSUPP)
		log_info("block %llu at %s: no short-circuit read: %s",
		    (unsigned long long)lb->block, lb->locs[loc].addr, why);
	free(why);
	return *rcp == 0 ? victim : NULL;
}

/*
 * Read [boff, boff+len) of lb's replica at loc short-circuit, as
 * reader_from does over TCP.  -EOPNOTSUPP (nothing read) when it cannot
 * be read so: read it over TCP; -ETIMEDOUT when its node did not answer
 * on its local socket (a stopped node: as a TCP stall, go to the next
 * replica); -EILSEQ on a bad checksum, -EIO when its files fail (read
 * the rest over TCP: the node checks and reports the replica).
 */
static int
reader_local(struct dfs_reader *r, const struct dfs_lblock *lb, uint32_t loc,
    uint64_t boff, size_t len, uint8_t *dst, size_t *got, char **cause)
{
	struct dfs_local_blk	*b;
	int			 rc;

	*got = 0;
	if (r->c->no_short_circuit)
		return -EOPNOTSUPP;
	if ((b = reader_local_get(r, lb, loc, &rc)) == NULL)
		return rc == -ETIMEDOUT ? rc : -EOPNOTSUPP;
	rc = dfs_local_read(b, boff, len, dst, got, &r->scratch, cause);
	if (rc != 0)
		dfs_local_close(b);
	return rc;
}

static ssize_t	reader_pread(struct dfs_reader *, void *, size_t, uint64_t,
		    char **);

/* The order to try lb's replicas in: those that stalled lately last. */
static uint32_t
reader_order(struct dfs_reader *r, const struct dfs_lblock *lb,
    uint32_t *order)
{
	uint32_t	n = 0, nlocs = lb->nlocs;
	bool		slow[DFS_MAX_REPLICATION];

	if (nlocs > DFS_MAX_REPLICATION)
		nlocs = DFS_MAX_REPLICATION;
	for (uint32_t i = 0; i < nlocs; i++)
		if (!(slow[i] = dfs_client_is_slow(r->c, lb->locs[i].addr)))
			order[n++] = i;
	for (uint32_t i = 0; i < nlocs; i++)
		if (slow[i])
			order[n++] = i;
	return n;
}

/*
 * Read from the first replica that gives good bytes.  A replica that fails
 * mid-way hands over to the next at the first byte it did not deliver, so
 * no byte is fetched twice and every one was checked.
 */
static int
reader_block(struct dfs_reader *r, uint32_t bi, uint64_t boff, size_t len,
    uint8_t *dst, char **cause)
{
	const struct dfs_lblock	*lb = &r->blocks[bi];
	uint32_t		 order[DFS_MAX_REPLICATION], n;
	size_t			 done = 0;
	int			 rc = -EIO;
	bool			 refetched = false;

again:
	n = reader_order(r, lb, order);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = order[k];
		char *why = NULL;
		size_t got = 0;

		if (i < 8 && (r->bad[bi] & (1U << i)))
			continue;
		rc = reader_local(r, lb, i, boff + done, len - done,
		    dst + done, &got, &why);
		done += got;
		if (rc != 0 && rc != -ETIMEDOUT) {
			/* Not local, or its files failed (a bad checksum
			 * too): over TCP, where the node checks the
			 * replica and reports it bad if it is. */
			if (rc != -EOPNOTSUPP)
				log_warn("reading block %llu from %s: %s; "
				    "going on over TCP", (unsigned long long)
				    lb->block, lb->locs[i].addr, why);
			free(why);
			why = NULL;
			rc = reader_from(r, lb, lb->locs[i].addr, boff + done,
			    len - done, dst + done, &got, &why);
			done += got;
		}
		if (rc == 0) {
			/* Earlier replicas' errors were read around. */
			free(why);
			free(*cause);
			*cause = NULL;
			return 0;
		}
		if (rc == -ETIMEDOUT)
			log_warn("reading block %llu from %s: silent for %d "
			    "ms, going on from the next replica at offset "
			    "%llu", (unsigned long long)lb->block,
			    lb->locs[i].addr, r->c->stall_ms,
			    (unsigned long long)(boff + done));
		else
			log_warn("reading block %llu from %s: %s",
			    (unsigned long long)lb->block, lb->locs[i].addr,
			    why != NULL ? why : strerror(-rc));
		reader_drop(r, lb->locs[i].addr);
		if (rc == -ETIMEDOUT)
			dfs_client_mark_slow(r->c, lb->locs[i].addr);
		if (rc == -EILSEQ || rc == -EIO) {
			struct bad_args a = { lb, lb->locs[i].node, why };
			dfs_client_call(r->c, DFS_NN_BAD_BLOCK, DFS_MSG_OK,
			    build_bad, &a, NULL, NULL, NULL);
		}
		if (i < 8 && rc != -EACCES)
			r->bad[bi] |= 1U << i;
		free(*cause);
		*cause = why;
		if (done == len) {
			/* All asked for came, checked, before it broke. */
			free(*cause);
			*cause = NULL;
			return 0;
		}
	}
	/* Tokens expire and replicas move: ask again once. */
	if (!refetched) {
		char *why = NULL;
		uint64_t block = lb->block;
		refetched = true;
		if (reader_fetch(r, &why) == 0 && bi < r->nblocks &&
		    r->blocks[bi].block == block) {
			free(why);
			lb = &r->blocks[bi];
			goto again;
		}
		free(why);
	}
	if (lb->nlocs == 0) {
		free(*cause);
		xasprintf(cause, "block %llu of %s has no live replica",
		    (unsigned long long)lb->block, r->path);
	}
	return rc == -EILSEQ || rc == 0 ? -EIO : rc;
}

/*
 * Read up to len bytes at off; returns the count (0 at end of file).
 * cause may be NULL when the caller wants no message.
 */
ssize_t
dfs_reader_pread(struct dfs_reader *r, void *buf, size_t len, uint64_t off,
    char **cause)
{
	char		*ignored = NULL;
	ssize_t		 n;

	n = reader_pread(r, buf, len, off, cause != NULL ? cause : &ignored);
	free(ignored);
	return n;
}

static ssize_t
reader_pread(struct dfs_reader *r, void *buf, size_t len, uint64_t off,
    char **cause)
{
	uint8_t		*dst = buf;
	size_t		 done = 0;
	int		 rc;

	if (off >= r->attr.size)
		return 0;
	if (len > r->attr.size - off)
		len = r->attr.size - off;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	for (uint32_t bi = 0; bi < r->nblocks && done < len; bi++) {
		const struct dfs_lblock *lb = &r->blocks[bi];
		uint64_t pos = off + done;
		if (pos < lb->offset || pos >= lb->offset + lb->len)
			continue;
		size_t n = lb->offset + lb->len - pos;
		if (n > len - done)
			n = len - done;
		if ((rc = reader_block(r, bi, pos - lb->offset, n, dst + done,
		    cause)) != 0)
			return rc;
		done += n;
	}
	if (done < len) {
		xasprintf(cause, "%s: the block map does not cover offset "
		    "%llu", r->path, (unsigned long long)(off + done));
		return -EIO;
	}
	return (ssize_t)done;
}

void
dfs_reader_close(struct dfs_reader *r)
{
	if (r == NULL)
		return;
	/* What is left ended its reads cleanly (reader_conn): kept. */
	for (int i = 0; i < READER_CONNS; i++)
		if (r->conns[i].s != NULL)
			dfs_sockpool_put(r->c->dnpool, r->conns[i].addr, false,
			    r->conns[i].s);
	for (int i = 0; i < READER_LOCAL; i++)
		dfs_local_close(&r->local[i]);
	dfs_local_scratch_free(&r->scratch);
	dfs_wbuf_release(&r->in);
	dfs_wbuf_release(&r->out);
	free(r->blocks);
	free(r->bad);
	free(r->path);
	free(r);
}
