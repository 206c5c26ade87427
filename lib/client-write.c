/*
 * client-write.c: streaming a file into the cluster.
 *
 * Design.  Bytes are cut into packets of up to 1 MiB (whole checksum
 * chunks) and streamed down a pipeline of data nodes: we send to the first,
 * which verifies, stores and forwards to the next.  Acknowledgements flow
 * back up on the same connection and are read by a second thread, so the
 * sender never waits for a round trip per packet; it only stops when
 * DFS_WINDOW packets are unacknowledged, which bounds memory on every node.
 * A block is finished when its last packet is acknowledged: by then every
 * node of the pipeline has fsync'ed it and told the namenode.
 *
 * Block boundaries.  For a .npy file the block boundaries after the header
 * fall on whole elements: block 0 holds the header and E bytes of elements,
 * every later block E bytes, where E is the block size rounded down to the
 * item size.  Whether the file is a .npy is decided from its first bytes,
 * which are held back until the header parses (or cannot).
 *
 * Recovery.  Every packet not yet acknowledged stays in a ring of
 * DFS_RING buffers (one more than the window), so when a node of the
 * pipeline fails mid-block nothing acknowledged is lost and nothing else
 * need be re-read from the caller: the writer asks the namenode for a new
 * generation stamp for the block on the nodes that survive
 * (UPDATE_PIPELINE), sends RESUME down them from the last acknowledged
 * byte, and sends the retained packets again.  The block ends with fewer
 * replicas than wanted and the namenode's re-replication makes up the
 * rest after COMPLETE.  Which node failed comes from the ACK's failed
 * index, the trailing index of an ERROR that refuses WRITE or RESUME, or
 * is the first node when its connection breaks.  A write given up
 * because nodes had no room fails with -ENOSPC, never -EIO, and the
 * ABANDON of a pipeline refused for space names the node, so that the
 * namenode sends no writer to it until its heartbeat shows room.
 *
 * Leases.  Each namenode call renews the file's lease, and the client's
 * renewer (client-lease.c) renews those of writers that sit idle.
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "client_i.h"
#include "log.h"
#include "npy.h"
#include "xmalloc.h"

#define DFS_WINDOW		16	/* packets in flight per block */
#define DFS_RING		(DFS_WINDOW + 1)	/* + the one filling */
#define DFS_PIPELINE_TRIES	3
#define DFS_RECOVER_TRIES	3	/* pipeline recoveries per block */

enum head_state { HEAD_PENDING, HEAD_NPY, HEAD_PLAIN };

struct dfs_writer {
	struct dfs_client	*c;
	struct dfs_cred		 cred;		/* whom its calls act as */
	bool			 has_cred;	/* (client-cred.c) */
	char			*path;
	const struct dfs_write_opts *opts;	/* during open only */
	struct dfs_attr		 attr;		/* of the new file */
	uint32_t		 chunk;

	enum head_state		 head_state;
	uint8_t			*head;		/* first bytes, until decided */
	size_t			 head_len;
	struct dfs_npy_header	 npy;

	uint64_t		 size;		/* bytes accepted so far */
	dfs_block_id		 prev_block;
	uint64_t		 prev_len;

	/* The block being written. */
	bool			 in_block;
	struct dfs_lblock	 lb;
	uint64_t		 old_gen;	/* before the last recovery */
	uint64_t		 block_start;
	uint64_t		 block_end;	/* planned end (file offset) */
	uint64_t		 sent;		/* bytes of the block sent */
	int			 recoveries;
	struct dfs_sock		*s;		/* to the pipeline */
	uint8_t			*pkt;		/* = ring[seq % DFS_RING] */
	size_t			 pkt_len;
	struct dfs_wbuf		 hdr;

	/* Packets by index (counted over the writer's life): the data of
	 * those not yet acknowledged, and where each goes in its block. */
	uint8_t			*ring[DFS_RING];
	size_t			 ring_len[DFS_RING];
	uint64_t		 ring_off[DFS_RING];
	bool			 ring_last[DFS_RING];

	pthread_t		 acker;
	bool			 acker_running;
	pthread_mutex_t		 lock;		/* guards below */
	pthread_cond_t		 cond;
	uint64_t		 seq;		/* packets queued */
	uint64_t		 acked;		/* packets acknowledged */
	uint64_t		 base;		/* first packet of this connection */
	uint64_t		 acked_bytes;	/* of the block */
	uint64_t		 last_seq;	/* of the block's last packet */
	int			 ack_err;
	char			*ack_cause;
	uint32_t		 fail_idx;	/* pipeline index that failed */
	bool			 ack_done;	/* the acker has stopped */
	bool			 failed;
	int			 fail_rc;	/* why (-ENOSPC: no room) */

	/* Renewed by the client's renewer while open (client-lease.c). */
	struct dfs_lease	 lease;
};

/* The ring buffer of packet idx, allocated on first use.  Borrowed. */
static uint8_t *
writer_slot(struct dfs_writer *w, uint64_t idx)
{
	uint8_t	**p = &w->ring[idx % DFS_RING];

	if (*p == NULL)
		*p = xmalloc(DFS_MAX_PACKET);
	return *p;
}

/* A namenode call on w's behalf; it renews the lease too. */
static int
writer_nn_call(struct dfs_writer *w, uint16_t type, uint16_t expect,
    void (*build)(struct dfs_wbuf *, void *), void *barg,
    int (*parse)(struct dfs_rbuf *, void *), void *parg, char **cause)
{
	int	rc;

	rc = dfs_client_call_as(w->c, w->has_cred ? &w->cred : NULL, type,
	    expect, build, barg, parse, parg, cause);
	dfs_lease_touch(&w->lease);
	return rc;
}

static void
build_create(struct dfs_wbuf *b, void *arg)
{
	struct dfs_writer		*w = arg;
	const struct dfs_write_opts	*o = w->opts;

	dfs_put_str(b, w->path);
	dfs_put_u32(b, o->mode);
	dfs_put_u32(b, o->set_owner ? o->uid : getuid());
	dfs_put_u32(b, o->set_owner ? o->gid : getgid());
	dfs_put_u16(b, o->replication);
	dfs_put_u64(b, o->block_size);
	dfs_put_u8(b, (o->overwrite ? DFS_CREATE_OVERWRITE : 0) |
	    (o->put_temp ? DFS_CREATE_PUT_TEMP : 0));
	dfs_put_str(b, w->c->name);
}

static int
parse_attr(struct dfs_rbuf *r, void *arg)
{
	dfs_proto_get_attr(r, arg);
	return dfs_rbuf_done(r);
}

/* Create path on the namenode and return a writer for it.  Caller closes
 * or aborts it. */
int
dfs_writer_open(struct dfs_client *c, const char *path,
    const struct dfs_write_opts *opts, struct dfs_writer **wp, char **cause)
{
	struct dfs_writer	*w;
	int			 rc;

	w = xcalloc(1, sizeof *w);
	w->c = c;
	w->has_cred = dfs_client_cred_get(c, &w->cred) == 0;
	w->path = xstrdup(path);
	w->chunk = c->chunk_size;
	w->opts = opts;
	rc = writer_nn_call(w, DFS_NN_CREATE, DFS_NN_ATTR, build_create, w,
	    parse_attr, &w->attr, cause);
	w->opts = NULL;
	if (rc != 0) {
		free(w->path);
		free(w);
		return rc;
	}
	if (w->attr.block_size == 0)
		w->attr.block_size = 64 << 20;
	w->head = xmalloc(DFS_NPY_MAX_HEADER + 16);
	w->pkt = writer_slot(w, 0);
	w->last_seq = UINT64_MAX;
	dfs_wbuf_init(&w->hdr);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->lease.ino = w->attr.ino;
	w->lease.path = w->path;
	w->lease.cred = w->cred;
	w->lease.has_cred = w->has_cred;
	dfs_lease_register(c, &w->lease);
	*wp = w;
	return 0;
}

/* The new file's attributes as the namenode created it (size 0, under
 * construction).  Borrowed. */
const struct dfs_attr *
dfs_writer_attr(const struct dfs_writer *w)
{
	return &w->attr;
}

/* Where the block starting at file offset start ends. */
static uint64_t
writer_block_end(const struct dfs_writer *w, uint64_t start)
{
	uint64_t	bs = w->attr.block_size, e;

	if (w->head_state != HEAD_NPY)
		return start + bs;
	e = bs / w->npy.itemsize * w->npy.itemsize;
	if (e == 0)
		e = w->npy.itemsize;
	if (start == 0)
		return w->npy.data_offset + e;
	return start + e;
}

/* Read acknowledgements until the last packet's or an error. */
static void *
writer_acker(void *arg)
{
	struct dfs_writer	*w = arg;
	struct dfs_frame_hdr	 h;
	struct dfs_wbuf		 in;
	struct dfs_rbuf		 r;
	char			*why = NULL;
	uint32_t		 failed;
	int			 rc;

	dfs_wbuf_init(&in);
	for (;;) {
		rc = dfs_net_recv_frame(w->s, &h, &in, w->c->timeout_ms, &why);
		pthread_mutex_lock(&w->lock);
		failed = 0;	/* unless the pipeline says otherwise */
		if (rc == 0 && h.type == DFS_MSG_ERROR) {
			dfs_rbuf_init(&r, in.data, h.len);
			rc = dfs_get_i32(&r);
			why = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
			if (rc >= 0)
				rc = -EIO;
		} else if (rc == 0 && h.type != DFS_DX_ACK) {
			rc = -EPROTO;
			xasprintf(&why, "data node sent %s, not ACK",
			    dfs_msg_name(h.type));
		} else if (rc == 0) {
			dfs_rbuf_init(&r, in.data, h.len);
			uint64_t seq = dfs_get_u64(&r);
			int32_t status = dfs_get_i32(&r);
			uint32_t fidx = dfs_get_u32(&r);
			char *msg = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
			if (dfs_rbuf_done(&r) != 0 ||
			    seq != w->acked - w->base || w->acked >= w->seq) {
				rc = -EPROTO;
				xasprintf(&why, "bad acknowledgement from %s",
				    w->lb.locs[0].addr);
			} else if (status != 0) {
				rc = status < 0 ? status : -EIO;
				if (fidx < w->lb.nlocs) {
					failed = fidx;
					xasprintf(&why, "data node %s: %s",
					    w->lb.locs[fidx].addr,
					    msg != NULL ? msg : "failed");
				} else
					why = xstrdup(msg != NULL ? msg :
					    "pipeline failed");
			} else {
				size_t k = w->acked % DFS_RING;
				w->acked_bytes = w->ring_off[k] +
				    w->ring_len[k];
				w->acked++;
			}
			free(msg);
		}
		if (rc != 0) {
			if (why == NULL)
				xasprintf(&why, "pipeline to %s: %s",
				    w->lb.locs[0].addr, strerror(-rc));
			w->ack_err = rc;
			w->ack_cause = why;
			w->fail_idx = failed;
			why = NULL;
		}
		bool done = rc != 0 || w->acked > w->last_seq;
		if (done)
			w->ack_done = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		if (done)
			break;
	}
	dfs_wbuf_release(&in);
	return NULL;
}

static void
build_add_block(struct dfs_wbuf *b, void *arg)
{
	struct dfs_writer	*w = arg;

	dfs_put_u64(b, w->attr.ino);
	dfs_put_str(b, w->c->name);
	dfs_put_u64(b, w->prev_block);
	dfs_put_u64(b, w->prev_len);
	dfs_put_u64(b, w->block_start);
	dfs_put_u32(b, w->lb.nlocs);	/* reused as the exclude list */
	for (uint32_t i = 0; i < w->lb.nlocs; i++)
		dfs_put_u64(b, w->lb.locs[i].node);
}

static int
parse_lblock(struct dfs_rbuf *r, void *arg)
{
	dfs_proto_get_lblock(r, arg);
	return dfs_rbuf_done(r);
}

/* ABANDON: a block whose pipeline refused (and the node that refused,
 * with its -errno), or with DFS_ABANDON_FILE the whole file. */
struct abandon_args {
	dfs_ino			 ino;
	const char		*client;
	dfs_block_id		 block;
	uint8_t			 flags;
	dfs_node_id		 refuser;
	int32_t			 reason;
};

static void
build_abandon(struct dfs_wbuf *b, void *arg)
{
	struct abandon_args	*a = arg;

	dfs_put_u64(b, a->ino);
	dfs_put_str(b, a->client);
	dfs_put_u64(b, a->block);
	dfs_put_u8(b, a->flags);
	dfs_put_u64(b, a->refuser);
	dfs_put_i32(b, a->reason);
}

/* Whether a data node's -errno means it has no room. */
static bool
writer_no_room(int rc)
{
	return rc == -ENOSPC || rc == -EDQUOT;
}

/*
 * Which node of the pipeline refused, from an ERROR answering WRITE or
 * RESUME: its trailing index when it has one; else a data node that
 * relays a refusal from below names the node in its message.
 */
static uint32_t
writer_refuser(const struct dfs_writer *w, struct dfs_rbuf *r,
    const char *msg)
{
	static const char *const pfx[] = { "cannot reach pipeline node ",
	    "pipeline node " };
	uint32_t	failed;

	if (dfs_rbuf_left(r) >= 4) {
		failed = dfs_get_u32(r);
		return failed < w->lb.nlocs ? failed : 0;
	}
	for (size_t i = 0; msg != NULL && i < 2; i++) {
		size_t n = strlen(pfx[i]);
		if (strncmp(msg, pfx[i], n) != 0)
			continue;
		for (uint32_t k = 1; k < w->lb.nlocs; k++) {
			size_t a = strlen(w->lb.locs[k].addr);
			if (strncmp(msg + n, w->lb.locs[k].addr, a) == 0 &&
			    (msg[n + a] == ':' || msg[n + a] == ' '))
				return k;
		}
	}
	return 0;
}

/*
 * Connect to the first node of lb and set the pipeline up: WRITE, or
 * RESUME from w->acked_bytes after a recovery.  On failure *failed is the
 * index of the node to blame.
 */
/* The WRITE or RESUME that opens the pipeline, into b. */
static void
writer_build_open(struct dfs_writer *w, bool resume, struct dfs_wbuf *b)
{
	dfs_wbuf_reset(b);
	dfs_frame_begin(b, resume ? DFS_DX_RESUME : DFS_DX_WRITE, 1);
	dfs_proto_put_token(b, &w->lb.token);
	dfs_put_u64(b, w->lb.block);
	if (resume) {
		dfs_put_u64(b, w->old_gen);
		dfs_put_u64(b, w->lb.gen);
		dfs_put_u64(b, w->acked_bytes);
	} else
		dfs_put_u64(b, w->lb.gen);
	dfs_put_u32(b, w->chunk);
	dfs_put_u32(b, w->lb.nlocs - 1);
	for (uint32_t i = 1; i < w->lb.nlocs; i++)
		dfs_put_str(b, w->lb.locs[i].addr);
	dfs_frame_end(b);
}

static int
writer_connect(struct dfs_writer *w, bool resume, uint32_t *failed,
    char **cause)
{
	struct dfs_wbuf		 b;
	struct dfs_frame_hdr	 h;
	struct dfs_rbuf		 r;
	bool			 reused;
	int			 rc;

	*failed = 0;
	if (w->lb.nlocs == 0) {
		xasprintf(cause, "the namenode gave no data nodes");
		return -ENOSPC;
	}
	/*
	 * Nothing acknowledged: nothing to resume.  A node that lost its
	 * upstream before the first packet has dropped its (empty) write,
	 * so a RESUME would be refused by every survivor; the block starts
	 * again under its new generation instead.
	 */
	if (resume && w->acked_bytes == 0)
		resume = false;
	dfs_wbuf_init(&b);
	/* A kept connection its node closed meanwhile fails before any
	 * answer: once more on a new one. */
	for (;;) {
		if ((rc = dfs_sockpool_connect(w->c->dnpool, w->c->tls,
		    w->lb.locs[0].addr, DFS_ROLE_DATANODE, false,
		    w->c->timeout_ms, &w->s, &reused, cause)) != 0) {
			dfs_wbuf_release(&b);
			return rc;
		}
		writer_build_open(w, resume, &b);
		if ((rc = dfs_net_send(w->s, &b, w->c->timeout_ms)) == 0)
			rc = dfs_net_recv_frame(w->s, &h, &b, w->c->timeout_ms *
			    (int)w->lb.nlocs, cause);
		if (rc == 0 || !reused)
			break;
		dfs_sock_close(w->s);
		w->s = NULL;
		free(*cause);
		*cause = NULL;
	}
	if (rc == 0 && h.type == DFS_MSG_ERROR) {
		dfs_rbuf_init(&r, b.data, h.len);
		rc = dfs_get_i32(&r);
		*cause = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
		*failed = writer_refuser(w, &r, *cause);
		if (rc >= 0)
			rc = -EIO;
	} else if (rc == 0 && h.type != DFS_MSG_OK) {
		rc = -EPROTO;
		xasprintf(cause, "%s answered %s to %s", w->lb.locs[0].addr,
		    dfs_msg_name(h.type), resume ? "RESUME" : "WRITE");
	} else if (rc != 0 && *cause == NULL)
		xasprintf(cause, "%s: %s", w->lb.locs[0].addr, strerror(-rc));
	dfs_wbuf_release(&b);
	if (rc != 0) {
		dfs_sock_close(w->s);
		w->s = NULL;
	}
	return rc;
}

/* Start reading acknowledgements on a new connection. */
static int
writer_start_acker(struct dfs_writer *w, char **cause)
{
	pthread_mutex_lock(&w->lock);
	w->base = w->acked;
	w->ack_err = 0;
	free(w->ack_cause);
	w->ack_cause = NULL;
	w->ack_done = false;
	pthread_mutex_unlock(&w->lock);
	if (pthread_create(&w->acker, NULL, writer_acker, w) != 0) {
		free(*cause);
		xasprintf(cause, "cannot start a thread");
		return -EAGAIN;
	}
	w->acker_running = true;
	return 0;
}

/*
 * Ask for a new block and open its pipeline, avoiding nodes that failed.
 * The ABANDON of a refused pipeline names the node that refused and why,
 * so that one refusing for space gets no more blocks, from this writer or
 * any other, until its heartbeat shows room (doc/protocol.md).
 */
static int
writer_begin_block(struct dfs_writer *w, char **cause)
{
	struct abandon_args	 a;
	uint32_t		 failed = 0;
	int			 rc = 0;

	w->lb.nlocs = 0;
	for (int tries = 0; tries < DFS_PIPELINE_TRIES; tries++) {
		struct dfs_lblock excl = w->lb;
		char *why = NULL;

		rc = writer_nn_call(w, DFS_NN_ADD_BLOCK, DFS_NN_LBLOCK,
		    build_add_block, w, parse_lblock, &w->lb, cause);
		if (rc != 0)
			return rc;
		w->prev_block = 0;	/* committed by ADD_BLOCK */
		if ((rc = writer_connect(w, false, &failed, &why)) == 0)
			break;
		if (writer_no_room(rc) && failed < w->lb.nlocs) {
			char *s;
			xasprintf(&s, "no space left on data node %s: %s",
			    w->lb.locs[failed].addr, why != NULL ? why :
			    strerror(-rc));
			free(why);
			why = s;
		}
		log_warn("pipeline for block %llu failed: %s",
		    (unsigned long long)w->lb.block, why);
		free(*cause);
		*cause = why;
		memset(&a, 0, sizeof a);
		a.ino = w->attr.ino;
		a.client = w->c->name;
		a.block = w->lb.block;
		if (failed < w->lb.nlocs) {
			a.refuser = w->lb.locs[failed].node;
			a.reason = rc;
		}
		writer_nn_call(w, DFS_NN_ABANDON, DFS_MSG_OK, build_abandon,
		    &a, NULL, NULL, NULL);
		/* Exclude what failed before plus the node that refused. */
		struct dfs_lblock next = w->lb;
		next.nlocs = 0;
		for (uint32_t i = 0; i < excl.nlocs &&
		    next.nlocs < DFS_MAX_REPLICATION; i++)
			next.locs[next.nlocs++] = excl.locs[i];
		if (failed < w->lb.nlocs && next.nlocs < DFS_MAX_REPLICATION)
			next.locs[next.nlocs++] = w->lb.locs[failed];
		w->lb = next;
	}
	if (rc != 0)
		return rc;
	w->in_block = true;
	w->sent = 0;
	w->recoveries = 0;
	pthread_mutex_lock(&w->lock);
	w->acked_bytes = 0;
	w->last_seq = UINT64_MAX;
	pthread_mutex_unlock(&w->lock);
	return writer_start_acker(w, cause);
}

/* Wait for the acker: for a window slot, or for everything when all. */
static int
writer_wait(struct dfs_writer *w, bool all)
{
	int	rc;

	pthread_mutex_lock(&w->lock);
	while (w->ack_err == 0 && !w->ack_done &&
	    (all ? w->acked < w->seq : w->seq - w->acked >= DFS_WINDOW))
		pthread_cond_wait(&w->cond, &w->lock);
	rc = w->ack_err;
	if (rc == 0 && w->ack_done && w->acked < w->seq)
		rc = -EPROTO;	/* acks ended before the packets did */
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* Stop the acker and close the connection to the pipeline. */
static void
writer_disconnect(struct dfs_writer *w)
{
	dfs_sock_shutdown(w->s);
	if (w->acker_running)
		pthread_join(w->acker, NULL);
	w->acker_running = false;
	dfs_sock_close(w->s);
	w->s = NULL;
}

/* Close the block's pipeline after its last acknowledgement or an error. */
static void
writer_end_block(struct dfs_writer *w)
{
	bool	clean;

	if (!w->in_block)
		return;
	/* Every packet acknowledged and nothing else said: the connection
	 * may carry the next block (sockpool.c). */
	pthread_mutex_lock(&w->lock);
	clean = w->ack_done && w->ack_err == 0 && w->acked == w->seq &&
	    w->last_seq != UINT64_MAX && w->acked > w->last_seq;
	pthread_mutex_unlock(&w->lock);
	if (clean && w->acker_running) {
		pthread_join(w->acker, NULL);
		w->acker_running = false;
		dfs_sockpool_put(w->c->dnpool, w->lb.locs[0].addr, false,
		    w->s);
		w->s = NULL;
	} else
		writer_disconnect(w);
	w->in_block = false;
	free(w->ack_cause);
	w->ack_cause = NULL;
}

/* Send packet idx (retained in the ring) on the current connection. */
static int
writer_send_idx(struct dfs_writer *w, uint64_t idx)
{
	size_t		 k = idx % DFS_RING, len = w->ring_len[k];
	const uint8_t	*p = w->ring[k];
	uint32_t	 nchunks = (len + w->chunk - 1) / w->chunk;
	int		 rc;

	dfs_wbuf_reset(&w->hdr);
	dfs_frame_begin(&w->hdr, DFS_DX_PACKET, idx - w->base);
	dfs_put_u64(&w->hdr, idx - w->base);
	dfs_put_u64(&w->hdr, w->ring_off[k]);
	dfs_put_u8(&w->hdr, w->ring_last[k]);
	dfs_put_u32(&w->hdr, nchunks);
	for (uint32_t i = 0; i < nchunks; i++) {
		size_t off = (size_t)i * w->chunk;
		size_t n = len - off < w->chunk ? len - off : w->chunk;
		dfs_put_u32(&w->hdr, dfs_crc32c(0, p + off, n));
	}
	dfs_put_u32(&w->hdr, (uint32_t)len);
	dfs_frame_end(&w->hdr);
	dfs_le32enc(w->hdr.data + 16, (uint32_t)(w->hdr.len -
	    DFS_WIRE_HDR_LEN + len));
	if ((rc = dfs_net_send(w->s, &w->hdr, w->c->timeout_ms)) == 0)
		rc = dfs_net_write_all(w->s, p, len, w->c->timeout_ms);
	return rc;
}

struct update_args {
	struct dfs_writer	*w;
	dfs_node_id		 keep[DFS_MAX_REPLICATION];
	uint32_t		 nkeep;
};

static void
build_update(struct dfs_wbuf *b, void *arg)
{
	struct update_args	*u = arg;

	dfs_put_u64(b, u->w->attr.ino);
	dfs_put_str(b, u->w->c->name);
	dfs_put_u64(b, u->w->lb.block);
	dfs_put_u64(b, u->w->lb.gen);
	dfs_put_u32(b, u->nkeep);
	for (uint32_t i = 0; i < u->nkeep; i++)
		dfs_put_u64(b, u->keep[i]);
}

/*
 * A node of the block's pipeline failed: continue the block on the
 * others under a new generation stamp from the last acknowledged byte,
 * and send the unacknowledged packets again.  0, or the write fails with
 * *cause.
 */
static int
writer_recover(struct dfs_writer *w, char **cause)
{
	struct update_args	 u;
	struct dfs_lblock	 lb;
	uint32_t		 failed;
	char			*why;
	int			 rc, last = -EIO;

	for (;;) {
		/* The acker knows which node failed; let it finish. */
		pthread_mutex_lock(&w->lock);
		while (w->acker_running && !w->ack_done)
			pthread_cond_wait(&w->cond, &w->lock);
		failed = w->fail_idx;
		if (w->ack_err != 0)
			last = w->ack_err;
		why = w->ack_cause != NULL ? xstrdup(w->ack_cause) :
		    xstrdup("pipeline broken");
		w->fail_idx = 0;
		pthread_mutex_unlock(&w->lock);
		writer_disconnect(w);
retry:
		/* Given up for lack of space, the write fails with ENOSPC,
		 * which programs understand; anything else is EIO. */
		last = writer_no_room(last) ? last : -EIO;
		if (w->recoveries++ >= DFS_RECOVER_TRIES) {
			free(*cause);
			xasprintf(cause, "block %llu: pipeline failed %d times, "
			    "last: %s%s", (unsigned long long)w->lb.block,
			    DFS_RECOVER_TRIES + 1, writer_no_room(last) ?
			    "no space left: " : "", why);
			free(why);
			return last;
		}
		u.w = w;
		u.nkeep = 0;
		for (uint32_t i = 0; i < w->lb.nlocs; i++)
			if (i != failed)
				u.keep[u.nkeep++] = w->lb.locs[i].node;
		if (u.nkeep == 0) {
			free(*cause);
			xasprintf(cause, "%s%s (no data node of the pipeline is "
			    "left)", writer_no_room(last) ? "no space left: " :
			    "", why);
			free(why);
			return last;
		}
		log_warn("block %llu: %s; continuing on %u node%s from byte "
		    "%llu", (unsigned long long)w->lb.block, why, u.nkeep,
		    u.nkeep == 1 ? "" : "s",
		    (unsigned long long)w->acked_bytes);
		free(why);
		why = NULL;
		if ((rc = writer_nn_call(w, DFS_NN_UPDATE_PIPELINE,
		    DFS_NN_LBLOCK, build_update, &u, parse_lblock, &lb,
		    cause)) != 0)
			return rc;
		w->old_gen = w->lb.gen;
		w->lb = lb;
		if ((rc = writer_connect(w, true, &failed, &why)) != 0) {
			last = rc;
			goto retry;
		}
		if ((rc = writer_start_acker(w, cause)) != 0)
			return rc;
		rc = 0;
		for (uint64_t i = w->acked; rc == 0 && i < w->seq; i++)
			rc = writer_send_idx(w, i);
		if (rc == 0)
			return 0;
	}
}

/* Send the buffered packet; last closes the block. */
static int
writer_send_packet(struct dfs_writer *w, bool last, char **cause)
{
	uint64_t	idx;
	size_t		k;
	int		rc;

	if (!w->in_block && (rc = writer_begin_block(w, cause)) != 0)
		return rc;
	while (writer_wait(w, false) != 0)
		if ((rc = writer_recover(w, cause)) != 0)
			return rc;
	pthread_mutex_lock(&w->lock);
	idx = w->seq;
	k = idx % DFS_RING;
	w->ring_len[k] = w->pkt_len;
	w->ring_off[k] = w->sent;
	w->ring_last[k] = last;
	if (last)
		w->last_seq = idx;
	w->seq++;
	pthread_mutex_unlock(&w->lock);
	/* Sent again by the recovery if the stream breaks. */
	if (writer_send_idx(w, idx) != 0 &&
	    (rc = writer_recover(w, cause)) != 0)
		return rc;
	w->sent += w->pkt_len;
	w->pkt_len = 0;
	w->pkt = writer_slot(w, w->seq);
	if (last) {
		while (writer_wait(w, true) != 0)
			if ((rc = writer_recover(w, cause)) != 0)
				return rc;
		writer_end_block(w);
		w->prev_block = w->lb.block;
		w->prev_len = w->sent;
	}
	return 0;
}

/* Append bytes to the packet, sending packets as they fill. */
static int
writer_push(struct dfs_writer *w, const uint8_t *p, size_t len, char **cause)
{
	int	rc;

	while (len > 0) {
		uint64_t block_left, room;
		size_t n;

		if (!w->in_block && w->pkt_len == 0) {
			w->block_start = w->size;
			w->block_end = writer_block_end(w, w->size);
		}
		block_left = w->block_end - w->size;
		room = DFS_MAX_PACKET - w->pkt_len;
		n = len;
		if (n > room)
			n = room;
		if (n > block_left)
			n = block_left;
		memcpy(w->pkt + w->pkt_len, p, n);
		w->pkt_len += n;
		w->size += n;
		p += n;
		len -= n;
		if (w->size == w->block_end) {
			if ((rc = writer_send_packet(w, true, cause)) != 0)
				return rc;
		} else if (w->pkt_len == DFS_MAX_PACKET) {
			if ((rc = writer_send_packet(w, false, cause)) != 0)
				return rc;
		}
	}
	return 0;
}

/* Decide from the held-back head whether this is a .npy file. */
static int
writer_decide(struct dfs_writer *w, bool final, char **cause)
{
	size_t	need = 0;
	int	rc;

	rc = dfs_npy_parse(w->head, w->head_len, &w->npy, &need, NULL);
	if (rc == -EAGAIN && !final && need <= DFS_NPY_MAX_HEADER + 16)
		return 0;
	w->head_state = rc == 0 ? HEAD_NPY : HEAD_PLAIN;
	return writer_push(w, w->head, w->head_len, cause);
}

int
dfs_writer_write(struct dfs_writer *w, const void *buf, size_t len,
    char **cause)
{
	const uint8_t	*p = buf;
	int		 rc;

	if (w->failed) {
		xasprintf(cause, "an earlier write to %s failed", w->path);
		return w->fail_rc;
	}
	if (w->head_state == HEAD_PENDING) {
		size_t cap = DFS_NPY_MAX_HEADER + 16 - w->head_len;
		size_t n = len < cap ? len : cap;
		memcpy(w->head + w->head_len, p, n);
		w->head_len += n;
		p += n;
		len -= n;
		if ((rc = writer_decide(w, false, cause)) != 0)
			goto fail;
		if (w->head_state == HEAD_PENDING)
			return 0;
	}
	if ((rc = writer_push(w, p, len, cause)) != 0)
		goto fail;
	return 0;
fail:
	w->failed = true;
	w->fail_rc = rc;
	return rc;
}

struct complete_args {
	struct dfs_writer	*w;
};

static void
build_complete(struct dfs_wbuf *b, void *arg)
{
	struct dfs_writer	*w = arg;

	dfs_put_u64(b, w->attr.ino);
	dfs_put_str(b, w->c->name);
	dfs_put_u64(b, w->prev_block);
	dfs_put_u64(b, w->prev_len);
	dfs_put_u64(b, w->size);
	if (w->head_state == HEAD_NPY && w->npy.data_offset <= w->head_len)
		dfs_put_blob(b, w->head, w->npy.data_offset);
	else
		dfs_put_blob(b, NULL, 0);
}

/* Flush, finish the last block and commit the file.  Frees w. */
int
dfs_writer_close(struct dfs_writer *w, char **cause)
{
	int	rc = 0;

	if (w->failed) {
		xasprintf(cause, "an earlier write to %s failed", w->path);
		rc = w->fail_rc;
		goto out;
	}
	if (w->head_state == HEAD_PENDING &&
	    (rc = writer_decide(w, true, cause)) != 0)
		goto out;
	if ((w->in_block || w->pkt_len > 0) &&
	    (rc = writer_send_packet(w, true, cause)) != 0)
		goto out;
	rc = writer_nn_call(w, DFS_NN_COMPLETE, DFS_MSG_OK, build_complete,
	    w, NULL, NULL, cause);
out:
	dfs_writer_abort(w);
	return rc;
}

/* Stop writing and free w; the file stays under construction (until its
 * lease expires, when the namenode recovers it). */
void
dfs_writer_abort(struct dfs_writer *w)
{
	if (w == NULL)
		return;
	dfs_lease_unregister(w->c, &w->lease);
	writer_end_block(w);
	writer_disconnect(w);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	dfs_wbuf_release(&w->hdr);
	free(w->ack_cause);
	for (size_t i = 0; i < DFS_RING; i++)
		free(w->ring[i]);
	free(w->head);
	free(w->path);
	free(w);
}

/*
 * Give file ino (written by this client, its writer aborted or failed to
 * close) up: the namenode drops its blocks and closes it empty, so what
 * a failed write left is not shown, then or after lease recovery, as the
 * file's contents.  Fails (the file stays under construction) when the
 * lease has gone to another writer or the namenode cannot be reached.
 */
int
dfs_writer_discard(struct dfs_client *c, dfs_ino ino, char **cause)
{
	struct abandon_args	a;

	memset(&a, 0, sizeof a);
	a.ino = ino;
	a.client = c->name;
	a.flags = DFS_ABANDON_FILE;
	return dfs_client_call(c, DFS_NN_ABANDON, DFS_MSG_OK, build_abandon,
	    &a, NULL, NULL, cause);
}
