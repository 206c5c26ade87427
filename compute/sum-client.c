/*
 * sum-client.c: one file's sum: its blocks reduced on the data nodes that
 * hold them, the partials merged here.
 *
 * Why it is built this way.  A block is reduced where it lies and only a
 * partial of a few hundred bytes comes back (DX_REDUCE -> DX_PARTIAL), so
 * the client's job is scheduling, not arithmetic.  Each data node that
 * holds a block of the file gets up to SUM_INFLIGHT threads, each with its
 * own connection to that node; a thread that is free takes the next block
 * its node holds (the most constrained first: the block with the fewest
 * replicas left to try), so every node is kept busy with a bounded number
 * of requests, and a faster node simply takes more blocks.  The partials
 * are exact (lib/accum.h), so the order in which they come back and the
 * replica that made each one change nothing in the answer: merging is
 * exact and commutative, and the printed bits are the same on any cluster.
 *
 * Failures.  A block whose request fails on one replica goes back to the
 * pending list with that replica struck off, and another node's thread
 * takes it.  A node whose connection fails (refused, reset, timed out) is
 * struck off for the rest of the file and its threads end; an ERROR reply
 * (a checksum error, which the data node has already reported to the
 * namenode, or a missing replica) strikes off only that replica.  A
 * block still running after SUM_HEDGE_MS, when a node holding another
 * replica has a thread free, is sent there as well and the first answer
 * wins: a stopped node costs seconds, not client.timeout.  When every
 * replica of a block has failed, the file fails, naming the block.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_i.h"
#include "clock.h"
#include "log.h"
#include "npy.h"
#include "xmalloc.h"

#include "sum_i.h"

/* A file with more blocks than this is refused (a hostile reply). */
#define RUN_MAX_BLOCKS		(1U << 20)
/* How often waiting threads look again (hedging, progress). */
#define RUN_TICK_MS		200
/* A progress line appears after this long. */
#define RUN_PROGRESS_MS		2000

enum run_state {
	BLK_PENDING,
	BLK_RUNNING,
	BLK_DONE,
};

struct run_block {
	struct dfs_lblock	 lb;
	uint64_t		 eoff;		/* first element, in the block */
	uint64_t		 ecount;	/* elements in the block */
	enum run_state		 state;
	int			 nrun;		/* requests in flight */
	uint32_t		 tried;		/* bit i: locs[i] failed */
	uint32_t		 running;	/* bit i: locs[i] in flight */
	int			 plan;		/* node meant to do it, or -1 */
	size_t			 node[DFS_MAX_REPLICATION]; /* of locs[i] */
	int64_t			 started_ms;
	char			*why;		/* the last failure */
};

struct run_node {
	dfs_node_id		 id;
	char			 addr[256];
	bool			 dead;		/* struck off for this file */
	size_t			 stat;		/* index in sum_stats */
	uint32_t		 nblocks;	/* blocks it holds */
	uint64_t		 planned;	/* bytes planned for it */
	int			 nthreads;	/* its threads */
	int			 inflight;	/* its requests in flight */
	uint32_t		 cursor;	/* blocks before are not its plan */
};

struct run_worker {
	struct run		*run;
	size_t			 node;		/* index in run->nodes */
	pthread_t		 thread;
	struct dfs_conn		*conn;		/* pointer guarded by run->lock */
};

/* One file being summed. */
struct run {
	struct dfs_client	*c;
	const char		*path;
	const struct sum_opts	*o;
	struct sum_stats	*stats;
	struct sum_result	*res;
	uint8_t			 little;

	/* Guards all below, and stats and res; never held while calling
	 * the namenode (whose connection has a lock of its own). */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* a block finished or failed */
	struct run_block	*blocks;
	uint32_t		 nblocks;
	uint32_t		 ndone;
	uint32_t		 npending;	/* blocks waiting for a thread */
	struct run_node		*nodes;
	size_t			 nnodes;
	bool			 finished;	/* all done, or err set */
	int			 err;
	char			*cause;
};

/* GET_BLOCKS, page after page, appending to blocks. */
struct fetch_args {
	const char		*path;
	uint64_t		 offset;
	uint64_t		 length;
	struct dfs_attr		*attr;
	struct dfs_lblock	*blocks;
	uint32_t		 n;
	uint32_t		 cap;
	uint32_t		 got;		/* blocks in the last page */
};

static void
fetch_build(struct dfs_wbuf *b, void *arg)
{
	struct fetch_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u64(b, a->offset);
	dfs_put_u64(b, a->length);
}

static int
fetch_parse(struct dfs_rbuf *r, void *arg)
{
	struct fetch_args	*a = arg;
	uint32_t		 n;

	dfs_proto_get_attr(r, a->attr);
	n = dfs_get_u32(r);
	if (r->err != 0 || n > dfs_rbuf_left(r) / 8 ||
	    n > RUN_MAX_BLOCKS - a->n)
		return -EBADMSG;
	if (a->n + n > a->cap) {
		a->cap = a->n + n > 2 * a->cap ? a->n + n : 2 * a->cap;
		a->blocks = xrealloc(a->blocks, (size_t)a->cap *
		    sizeof *a->blocks);
	}
	for (uint32_t i = 0; i < n; i++)
		dfs_proto_get_lblock(r, &a->blocks[a->n + i]);
	if (dfs_rbuf_done(r) != 0)
		return -EBADMSG;
	a->n += n;
	a->got = n;
	return 0;
}

/*
 * The attributes of path and its blocks from offset on, all pages of
 * them (only the first when length is small).  Caller frees a->blocks.
 */
static int
run_fetch(struct dfs_client *c, struct fetch_args *a, char **cause)
{
	uint64_t	end;
	int		rc;

	for (;;) {
		rc = dfs_client_call(c, DFS_NN_GET_BLOCKS, DFS_NN_BLOCKS,
		    fetch_build, a, fetch_parse, a, cause);
		if (rc != 0 || a->got == 0 || a->length != UINT64_MAX)
			return rc;
		end = a->blocks[a->n - 1].offset + a->blocks[a->n - 1].len;
		if (end >= a->attr->size || end <= a->offset)
			return 0;
		a->offset = end;
	}
}

/* A fresh read token for block bi, after a data node refused the old. */
static void
run_renew_token(struct run *run, uint32_t bi)
{
	struct dfs_attr		attr;
	struct fetch_args	a = { .path = run->path, .attr = &attr,
	    .length = 1 };
	struct run_block	*b = &run->blocks[bi];

	pthread_mutex_lock(&run->lock);
	a.offset = b->lb.offset;
	pthread_mutex_unlock(&run->lock);
	if (run_fetch(run->c, &a, NULL) == 0) {
		pthread_mutex_lock(&run->lock);
		for (uint32_t i = 0; i < a.n; i++)
			if (a.blocks[i].block == b->lb.block &&
			    a.blocks[i].gen == b->lb.gen)
				b->lb.token = a.blocks[i].token;
		pthread_mutex_unlock(&run->lock);
	}
	free(a.blocks);
}

/* Errors after which the connection, not just the request, is gone. */
static bool
run_node_failed(const struct dfs_conn *conn, int rc)
{
	if (conn == NULL || conn->reply.type != DFS_MSG_ERROR)
		return true;
	return rc == -ESHUTDOWN || rc == -EBUSY;
}

/*
 * Connect the worker to its node and say HELLO.  The connection is the
 * worker's as soon as the socket exists, so run_execute can cut short a
 * node that accepts but never answers (a stopped process).
 */
static int
run_conn_open(struct run_worker *w, const char *addr, struct dfs_conn **cp,
    char **cause)
{
	struct run		*run = w->run;
	struct dfs_conn		*conn;
	struct dfs_wbuf		*out;
	struct dfs_rbuf		 r;
	struct dfs_sock		*s;
	int			 rc;

	if ((rc = dfs_sock_tcp(addr, run->o->timeout_ms, &s, cause)) != 0)
		return rc;
	conn = xcalloc(1, sizeof *conn);
	conn->s = s;
	conn->timeout_ms = run->o->timeout_ms;
	conn->next_id = 1;
	conn->peer = xstrdup(addr);
	dfs_wbuf_init(&conn->out);
	dfs_wbuf_init(&conn->in);
	pthread_mutex_lock(&run->lock);
	w->conn = conn;
	if (run->finished)
		dfs_sock_shutdown(s);
	pthread_mutex_unlock(&run->lock);
	if ((rc = dfs_sock_start_tls(s, dfs_client_tls(run->c),
	    DFS_ROLE_DATANODE, run->o->timeout_ms, cause)) == 0) {
		out = dfs_conn_begin(conn, DFS_MSG_HELLO);
		dfs_put_u16(out, DFS_WIRE_VERSION);
		dfs_put_str(out, "dfs-sum " PACKAGE_VERSION);
		rc = dfs_conn_call(conn, DFS_MSG_HELLO, &r, cause);
	}
	if (rc != 0) {
		pthread_mutex_lock(&run->lock);
		w->conn = NULL;
		pthread_mutex_unlock(&run->lock);
		dfs_conn_free(conn);
		return rc;
	}
	*cp = conn;
	return 0;
}

/*
 * Send one REDUCE for block b (a copy of its record) to the worker's node
 * and read the partial into part.  0, or a negative errno with a message.
 * The connection is dropped when it failed.
 */
static int
run_reduce(struct run_worker *w, const struct run_block *b,
    struct dfs_acc *part, uint64_t *bytes, uint64_t *usec, bool *node_failed,
    char **cause)
{
	struct run		*run = w->run;
	struct sum_result	*res = run->res;
	const char		*addr = run->nodes[w->node].addr;
	struct dfs_conn		*conn = w->conn;
	struct dfs_wbuf		*out;
	struct dfs_rbuf		 r, pr;
	const void		*blob;
	size_t			 bloblen;
	uint64_t		 count;
	char			*why = NULL;
	int			 rc;

	*node_failed = false;
	if (conn == NULL && (rc = run_conn_open(w, addr, &conn, &why)) != 0) {
		*node_failed = true;
		goto out;
	}
	out = dfs_conn_begin(conn, DFS_DX_REDUCE);
	dfs_proto_put_token(out, &b->lb.token);
	dfs_put_u64(out, b->lb.block);
	dfs_put_u64(out, b->lb.gen);
	dfs_put_u64(out, b->eoff);
	dfs_put_u64(out, b->ecount);
	dfs_put_u8(out, (uint8_t)res->kind);
	dfs_put_u8(out, (uint8_t)res->itemsize);
	dfs_put_u8(out, run->little);
	conn->reply.type = 0;
	if ((rc = dfs_conn_call(conn, DFS_DX_PARTIAL, &r, &why)) != 0) {
		*node_failed = run_node_failed(conn, rc);
		goto out;
	}
	count = dfs_get_u64(&r);
	*bytes = dfs_get_u64(&r);
	*usec = dfs_get_u64(&r);
	blob = dfs_get_blob(&r, DFS_ACC_ENC_MAX, &bloblen);
	if (dfs_rbuf_done(&r) != 0) {
		rc = -EPROTO;
		xasprintf(&why, "malformed PARTIAL reply");
		goto out;
	}
	dfs_rbuf_init(&pr, blob, bloblen);
	if (dfs_acc_decode(&pr, part) != 0 || dfs_rbuf_done(&pr) != 0) {
		rc = -EPROTO;
		xasprintf(&why, "malformed partial result");
		goto out;
	}
	if (count != b->ecount || dfs_acc_count(part) != b->ecount ||
	    dfs_acc_kind(part) != dfs_acc_kind(&res->acc)) {
		rc = -EPROTO;
		xasprintf(&why, "partial result of %" PRIu64 " elements where "
		    "%" PRIu64 " were asked for", dfs_acc_count(part),
		    b->ecount);
		goto out;
	}
out:
	if (rc != 0) {
		/* Transport errors name the node already. */
		if (why != NULL && strstr(why, addr) != NULL)
			*cause = xstrdup(why);
		else
			xasprintf(cause, "%s: %s", addr, why != NULL ? why :
			    strerror(-rc));
		if (*node_failed || rc == -EPROTO) {
			pthread_mutex_lock(&run->lock);
			w->conn = NULL;
			pthread_mutex_unlock(&run->lock);
			dfs_conn_free(conn);
		}
	}
	free(why);
	return rc;
}

/* Index in b->lb.locs of the replica on node ni, or -1. */
static int
run_loc(const struct run_block *b, size_t ni)
{
	for (uint32_t i = 0; i < b->lb.nlocs; i++)
		if (b->node[i] == ni)
			return (int)i;
	return -1;
}

/* Replicas of b not yet failed, on nodes not struck off.  Hold the lock. */
static int
run_viable(const struct run *run, const struct run_block *b)
{
	int	n = 0;

	for (uint32_t i = 0; i < b->lb.nlocs; i++)
		if (!(b->tried & (1U << i)) && !run->nodes[b->node[i]].dead)
			n++;
	return n;
}

/*
 * The next block for a thread of node ni, or -1: first a pending block
 * planned for this node; else one planned for a node that cannot take it
 * now (all its threads busy, or struck off) or whose planned replica
 * failed, the block with the fewest replicas left first; else a block
 * running too long elsewhere (hedging).  Hold the lock.
 */
static int
run_pick(struct run *run, size_t ni, int *locp)
{
	struct run_node		*n = &run->nodes[ni];
	int64_t			 now;
	int			 best = -1, bestv = INT_MAX, li, v;

	/*
	 * A block stops being planned for a node when it is taken, for
	 * good (a failure clears its plan), so this cursor only moves on.
	 */
	for (; n->cursor < run->nblocks; n->cursor++) {
		struct run_block *b = &run->blocks[n->cursor];
		if (b->state == BLK_PENDING && b->plan == (int)ni) {
			*locp = run_loc(b, ni);
			return (int)n->cursor;
		}
	}
	for (uint32_t i = 0; i < run->nblocks && run->npending > 0; i++) {
		struct run_block *b = &run->blocks[i];
		const struct run_node *p;
		if (b->state != BLK_PENDING || (li = run_loc(b, ni)) < 0 ||
		    (b->tried & (1U << li)))
			continue;
		p = b->plan >= 0 ? &run->nodes[b->plan] : NULL;
		if (p != NULL && !p->dead && p->inflight < p->nthreads)
			continue;
		if ((v = run_viable(run, b)) < bestv) {
			best = (int)i;
			bestv = v;
			*locp = li;
			if (v == 1)
				break;
		}
	}
	if (best >= 0)
		return best;
	now = dfs_now_ms();
	for (uint32_t i = 0; i < run->nblocks; i++) {
		struct run_block *b = &run->blocks[i];
		if (b->state != BLK_RUNNING || b->nrun != 1 ||
		    now - b->started_ms < SUM_HEDGE_MS ||
		    (li = run_loc(b, ni)) < 0 ||
		    (b->tried & (1U << li)) || (b->running & (1U << li)))
			continue;
		log_warn("block %" PRIu64 " of %s: no answer after %.1f s; "
		    "asking %s too", b->lb.block, run->path,
		    (double)(now - b->started_ms) / 1000, n->addr);
		*locp = li;
		return (int)i;
	}
	return -1;
}

/*
 * After a failure: a block with no request in flight and no replica left
 * to try fails the file.  Hold the lock.
 */
static void
run_check(struct run *run)
{
	for (uint32_t i = 0; i < run->nblocks && run->err == 0; i++) {
		struct run_block *b = &run->blocks[i];
		if (b->state != BLK_PENDING || run_viable(run, b) > 0)
			continue;
		run->err = -EIO;
		xasprintf(&run->cause, "%s: block %" PRIu64 " could not be "
		    "reduced on any of its %u replica%s (last: %s)", run->path,
		    b->lb.block, b->lb.nlocs, b->lb.nlocs == 1 ? "" : "s",
		    b->why != NULL ? b->why : "no live replica");
	}
	if (run->err != 0)
		run->finished = true;
}

/* Record the outcome of one request.  Hold the lock. */
static void
run_record(struct run *run, struct run_worker *w, uint32_t bi, int li,
    int rc, const struct dfs_acc *part, uint64_t bytes, uint64_t usec,
    bool node_failed, char *why)
{
	struct run_block	*b = &run->blocks[bi];
	struct run_node		*n = &run->nodes[w->node];
	struct sum_node_stats	*st = &run->stats->nodes[n->stat];

	b->running &= ~(1U << li);
	b->nrun--;
	n->inflight--;
	if (rc == 0) {
		st->blocks++;
		st->bytes += bytes;
		st->usec += usec;
		if (b->state != BLK_DONE) {
			dfs_acc_merge(&run->res->acc, part);
			run->res->bytes += bytes;
			b->state = BLK_DONE;
			if (++run->ndone == run->nblocks)
				run->finished = true;
		}
		free(why);
		return;
	}
	/* Requests cut short at the end are not the node's fault. */
	if (!run->finished)
		st->failures++;
	if (node_failed)
		n->dead = true;
	if (b->state == BLK_DONE || run->finished) {
		free(why);
		return;
	}
	log_warn("block %" PRIu64 " of %s: %s; trying another replica",
	    b->lb.block, run->path, why);
	b->tried |= 1U << li;
	b->plan = -1;
	free(b->why);
	b->why = why;
	if (b->nrun == 0) {
		b->state = BLK_PENDING;
		run->npending++;
	}
	run_check(run);
}

/* A thread of one node: blocks it holds, one at a time, until the end. */
static void *
run_worker_main(void *arg)
{
	struct run_worker	*w = arg;
	struct run		*run = w->run;
	struct run_node		*n = &run->nodes[w->node];
	struct run_block	 copy;
	struct dfs_acc		 part;
	uint64_t		 bytes, usec;
	bool			 node_failed;
	char			*why;
	int			 bi, li, rc;

	pthread_mutex_lock(&run->lock);
	while (!run->finished && !n->dead) {
		if ((bi = run_pick(run, w->node, &li)) < 0) {
			dfs_cond_wait_until(&run->cond, &run->lock,
			    dfs_now_ms() + RUN_TICK_MS);
			continue;
		}
		struct run_block *b = &run->blocks[bi];
		if (b->nrun++ == 0)
			b->started_ms = dfs_now_ms();
		if (b->state == BLK_PENDING)
			run->npending--;
		b->state = BLK_RUNNING;
		b->running |= 1U << li;
		n->inflight++;
		copy = *b;
		pthread_mutex_unlock(&run->lock);

		why = NULL;
		bytes = usec = 0;
		rc = run_reduce(w, &copy, &part, &bytes, &usec, &node_failed,
		    &why);
		if (rc == -EACCES) {
			/* The token expired or its key rotated: once more. */
			run_renew_token(run, (uint32_t)bi);
			pthread_mutex_lock(&run->lock);
			copy.lb.token = b->lb.token;
			pthread_mutex_unlock(&run->lock);
			free(why);
			why = NULL;
			rc = run_reduce(w, &copy, &part, &bytes, &usec,
			    &node_failed, &why);
		}

		pthread_mutex_lock(&run->lock);
		run_record(run, w, (uint32_t)bi, li, rc, &part, bytes, usec,
		    node_failed, why);
		pthread_cond_broadcast(&run->cond);
	}
	pthread_mutex_unlock(&run->lock);
	return NULL;
}

/* The stats entry for addr, made on first sight. */
static size_t
run_stat_index(struct sum_stats *st, const char *addr)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->nodes[i].addr, addr) == 0)
			return i;
	st->nodes = xrealloc(st->nodes, (st->n + 1) * sizeof *st->nodes);
	memset(&st->nodes[st->n], 0, sizeof *st->nodes);
	snprintf(st->nodes[st->n].addr, sizeof st->nodes[st->n].addr, "%s",
	    addr);
	return st->n++;
}

/*
 * Why a file the namenode keeps as plain bytes cannot be summed: its
 * first bytes may be a .npy header of a dtype npdfs does not sum (strings,
 * objects, structured, datetimes), which deserves its own message.
 */
static int
run_why_plain(struct dfs_client *c, const char *path, uint64_t size,
    char **cause)
{
	struct dfs_reader	*r = NULL;
	struct dfs_npy_header	 h;
	uint8_t			*buf = NULL;
	size_t			 len = DFS_NPY_MAX_HEADER + DFS_NPY_PREFIX_V2;
	ssize_t			 n = 0;
	char			*why = NULL;
	int			 rc = -EINVAL;

	if (len > size)
		len = (size_t)size;
	if (len > 0 && dfs_reader_open(c, path, &r, NULL) == 0) {
		buf = xmalloc(len);
		n = dfs_reader_pread(r, buf, len, 0, NULL);
	}
	if (n > 0 && dfs_npy_parse(buf, (size_t)n, &h, NULL, &why) ==
	    -ENOTSUP) {
		rc = -ENOTSUP;
		xasprintf(cause, "%s: %s", path, why);
	} else
		xasprintf(cause, "not a .npy array: %s (stored as plain bytes)",
		    path);
	free(why);
	free(buf);
	dfs_reader_close(r);
	return rc;
}

/*
 * Check the array metadata: a supported dtype and a size that fits.
 * Fills res->kind, itemsize, count.
 */
static int
run_check_npy(struct dfs_client *c, const char *path, struct sum_result *res,
    char **cause)
{
	const struct dfs_attr		*a = &res->attr;
	const struct dfs_npy_meta	*m = &a->npy;
	static const char		 kinds[] = "biufc";
	uint64_t			 count = 1, bytes, end;
	char				*e;
	unsigned long			 isz;

	if (a->type == DFS_FT_DIR) {
		xasprintf(cause, "is a directory: %s", path);
		return -EISDIR;
	}
	if (a->type != DFS_FT_FILE) {
		xasprintf(cause, "not a regular file: %s", path);
		return -EINVAL;
	}
	if (a->under_construction) {
		xasprintf(cause, "file is still being written: %s", path);
		return -EBUSY;
	}
	if (!m->valid)
		return run_why_plain(c, path, a->size, cause);
	isz = strtoul(m->descr + 2, &e, 10);
	if (strchr("<>|=", m->descr[0]) == NULL || m->descr[1] == '\0' ||
	    strchr(kinds, m->descr[1]) == NULL || *e != '\0' ||
	    isz != m->itemsize ||
	    dfs_acc_add(&res->acc, m->descr[1], m->itemsize, true, NULL,
	    0) != 0) {
		xasprintf(cause, "unsupported dtype %.8s: %s (dfs-sum sums "
		    "bool, integer, float and complex arrays)", m->descr, path);
		return -ENOTSUP;
	}
	for (unsigned i = 0; i < m->ndim && i < 64; i++) {
		if (__builtin_mul_overflow(count, m->shape[i], &count)) {
			xasprintf(cause, "%s: the shape overflows", path);
			return -EOVERFLOW;
		}
	}
	if (__builtin_mul_overflow(count, (uint64_t)m->itemsize, &bytes) ||
	    __builtin_add_overflow(bytes, m->data_offset, &end) ||
	    end > a->size) {
		xasprintf(cause, "%s: the file (%" PRIu64 " bytes) is too short "
		    "for its array header", path, a->size);
		return -EINVAL;
	}
	res->kind = m->descr[1];
	res->itemsize = m->itemsize;
	res->count = count;
	return 0;
}

/*
 * Each block's element range: [offset, offset + len) of the file cut to
 * the array data.  Blocks must tile the file and start and end on whole
 * elements (the writer cuts them so).
 */
static int
run_ranges(struct run *run, struct dfs_lblock *lbs, uint32_t n,
    char **cause)
{
	struct sum_result	*res = run->res;
	uint64_t		 d = res->attr.npy.data_offset;
	uint64_t		 e = d + res->count * res->itemsize;
	uint64_t		 pos = 0, lo, hi, total = 0;

	run->blocks = xcalloc(n > 0 ? n : 1, sizeof *run->blocks);
	for (uint32_t i = 0; i < n; i++) {
		struct run_block *b = &run->blocks[run->nblocks];
		const struct dfs_lblock *lb = &lbs[i];
		if (lb->offset != pos || lb->len > UINT64_MAX - pos) {
			xasprintf(cause, "%s: the block map has a gap or an "
			    "overlap at offset %" PRIu64, run->path, pos);
			return -EIO;
		}
		pos += lb->len;
		lo = lb->offset > d ? lb->offset : d;
		hi = pos < e ? pos : e;
		if (lo >= hi)
			continue;
		if ((lo - d) % res->itemsize != 0 ||
		    (hi - d) % res->itemsize != 0) {
			xasprintf(cause, "%s: block %" PRIu64 " [%" PRIu64 ", %"
			    PRIu64 ") does not start and end on whole "
			    "elements", run->path, lb->block, lb->offset, pos);
			return -EINVAL;
		}
		if (lb->nlocs == 0) {
			xasprintf(cause, "%s: block %" PRIu64 " has no live "
			    "replica", run->path, lb->block);
			return -EIO;
		}
		b->lb = *lb;
		b->eoff = lo - lb->offset;
		b->ecount = (hi - lo) / res->itemsize;
		total += b->ecount;
		run->nblocks++;
	}
	if (pos < e || total != res->count) {
		xasprintf(cause, "%s: the block map covers %" PRIu64 " of %"
		    PRIu64 " bytes", run->path, pos, res->attr.size);
		return -EIO;
	}
	return 0;
}

/* The index of the node of lb->locs[j] in run->nodes, added if new. */
static size_t
run_node_index(struct run *run, const struct dfs_lblock *lb, uint32_t j)
{
	size_t	k;

	for (k = 0; k < run->nnodes; k++)
		if (run->nodes[k].id == lb->locs[j].node &&
		    strcmp(run->nodes[k].addr, lb->locs[j].addr) == 0)
			return k;
	run->nodes = xrealloc(run->nodes, (k + 1) * sizeof *run->nodes);
	memset(&run->nodes[k], 0, sizeof *run->nodes);
	run->nodes[k].id = lb->locs[j].node;
	memcpy(run->nodes[k].addr, lb->locs[j].addr, sizeof run->nodes[k].addr);
	run->nodes[k].stat = run_stat_index(run->stats, lb->locs[j].addr);
	run->nnodes++;
	return k;
}

/*
 * The data nodes holding the blocks, and the plan: each block to the
 * replica whose node has the fewest bytes planned so far (the namenode's
 * order breaks ties), so the work is spread evenly before it starts.
 */
static void
run_nodes(struct run *run)
{
	for (uint32_t i = 0; i < run->nblocks; i++) {
		struct run_block *b = &run->blocks[i];
		b->plan = -1;
		for (uint32_t j = 0; j < b->lb.nlocs; j++) {
			size_t k = run_node_index(run, &b->lb, j);
			b->node[j] = k;
			run->nodes[k].nblocks++;
			if (b->plan < 0 || run->nodes[k].planned <
			    run->nodes[b->plan].planned)
				b->plan = (int)k;
		}
		run->nodes[b->plan].planned += b->ecount * run->res->itemsize;
	}
	run->npending = run->nblocks;
}

/* The progress line: blocks done and the rate so far. */
static void
run_progress(struct run *run, int64_t t0, int *width)
{
	double	secs = (double)(dfs_now_ms() - t0) / 1000;
	int	n;

	n = fprintf(stderr, "\rdfs-sum: %s: %" PRIu32 " of %" PRIu32 " blocks, "
	    "%.2f GB/s ", run->path, run->ndone, run->nblocks,
	    secs > 0 ? (double)run->res->bytes / secs / 1e9 : 0.0);
	if (n > *width)
		*width = n;
}

/*
 * Start the threads, wait for the blocks, stop the threads.  0, or the
 * first failure that left a block without a replica.
 */
static int
run_execute(struct run *run, char **cause)
{
	struct run_worker	*ws;
	size_t			 nw = 0, per, cap = 0;
	int64_t			 t0 = dfs_now_ms();
	int			 width = 0, rc;

	per = SUM_INFLIGHT;
	if (run->nnodes * per > SUM_MAX_WORKERS)
		per = SUM_MAX_WORKERS / run->nnodes > 0 ?
		    SUM_MAX_WORKERS / run->nnodes : 1;
	for (size_t k = 0; k < run->nnodes; k++)
		cap += per < run->nodes[k].nblocks ? per :
		    run->nodes[k].nblocks;
	ws = xcalloc(cap > 0 ? cap : 1, sizeof *ws);
	pthread_mutex_lock(&run->lock);
	run->finished = run->ndone == run->nblocks;
	for (size_t k = 0; k < run->nnodes && !run->finished; k++) {
		for (size_t j = 0; j < per && j < run->nodes[k].nblocks; j++) {
			ws[nw].run = run;
			ws[nw].node = k;
			if (pthread_create(&ws[nw].thread, NULL,
			    run_worker_main, &ws[nw]) != 0) {
				log_warn("cannot start a thread");
				break;
			}
			nw++;
			run->nodes[k].nthreads++;
		}
	}
	if (nw == 0 && !run->finished) {
		run->err = -EAGAIN;
		run->cause = xstrdup("cannot start any thread");
		run->finished = true;
	}
	while (!run->finished) {
		dfs_cond_wait_until(&run->cond, &run->lock, dfs_now_ms() +
		    RUN_TICK_MS);
		if (run->o->progress && dfs_now_ms() - t0 >= RUN_PROGRESS_MS)
			run_progress(run, t0, &width);
	}
	/* Requests still out (hedged, or the file failed) are cut short. */
	for (size_t i = 0; i < nw; i++)
		if (ws[i].conn != NULL)
			dfs_sock_shutdown(ws[i].conn->s);
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
	for (size_t i = 0; i < nw; i++) {
		pthread_join(ws[i].thread, NULL);
		dfs_conn_free(ws[i].conn);
	}
	free(ws);
	if (width > 0)
		fprintf(stderr, "\r%*s\r", width, "");
	if ((rc = run->err) != 0) {
		*cause = run->cause;
		run->cause = NULL;
	}
	return rc;
}

/*
 * Sum the array at path into res, adding per-node figures to stats.
 * Returns 0 or a negative errno with a message naming path.
 */
int
sum_client_file(struct dfs_client *c, const char *path,
    const struct sum_opts *o, struct sum_stats *stats, struct sum_result *res,
    char **cause)
{
	struct run		 run;
	struct fetch_args	 fa;
	int64_t			 t0 = dfs_now_ns();
	char			*why = NULL;
	int			 rc;

	memset(res, 0, sizeof *res);
	memset(&run, 0, sizeof run);
	run.c = c;
	run.path = path;
	run.o = o;
	run.stats = stats;
	run.res = res;
	pthread_mutex_init(&run.lock, NULL);
	dfs_cond_init(&run.cond);
	memset(&fa, 0, sizeof fa);
	fa.path = path;
	fa.length = UINT64_MAX;
	fa.attr = &res->attr;
	if ((rc = run_fetch(c, &fa, &why)) != 0) {
		xasprintf(cause, "%s", why != NULL ? why : strerror(-rc));
		goto out;
	}
	/* The accumulator's kind decides which dtypes dfs_acc_add takes. */
	switch (res->attr.npy.descr[1]) {
	case 'f':
		dfs_acc_init(&res->acc, DFS_ACC_FLOAT);
		break;
	case 'c':
		dfs_acc_init(&res->acc, DFS_ACC_COMPLEX);
		break;
	default:
		dfs_acc_init(&res->acc, DFS_ACC_INT);
		break;
	}
	if ((rc = run_check_npy(c, path, res, cause)) != 0)
		goto out;
	run.little = res->attr.npy.descr[0] != '>';
	if ((rc = run_ranges(&run, fa.blocks, fa.n, cause)) != 0)
		goto out;
	res->nblocks = run.nblocks;
	run_nodes(&run);
	rc = run_execute(&run, cause);
out:
	res->seconds = (double)(dfs_now_ns() - t0) / 1e9;
	for (uint32_t i = 0; i < run.nblocks; i++)
		free(run.blocks[i].why);
	free(run.blocks);
	free(run.nodes);
	free(run.cause);
	free(fa.blocks);
	free(why);
	pthread_mutex_destroy(&run.lock);
	pthread_cond_destroy(&run.cond);
	return rc;
}

void
sum_stats_release(struct sum_stats *st)
{
	free(st->nodes);
	st->nodes = NULL;
	st->n = 0;
}
