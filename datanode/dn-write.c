/*
 * dn-write.c: WRITE, one node of a replication pipeline.
 *
 * Why it is built this way.  A block goes client -> dn1 -> dn2 -> dn3 as a
 * stream of packets, and acks come back up the same chain.  Each node
 * checks the packet's chunk CRCs before doing anything with it, so a
 * corrupt byte is refused where it first appears and never reaches a disk
 * or the next node; then it forwards the frame unchanged, writes the data
 * to its temp file and queues the packet's seqno.  Two threads share the
 * work so that the pipeline stays full:
 *
 *   receiver   (the connection's thread) reads packet k+1 while packet k
 *              is still travelling down the chain;
 *   responder  (one per write) takes seqnos off the queue in order, waits
 *              for the downstream node's ack of the same seqno, and sends
 *              our ack upstream.
 *
 * So the client sees an ack only when every node below has the packet on
 * its way to disk, and the receiver never waits for an ack.  The queue
 * holds at most DN_WINDOW packets: a slow node pushes back on the sender
 * through TCP rather than growing memory.  Errors travel the same queue,
 * so they reach the client after the acks of every packet before them:
 * a local failure (bad checksum, full disk, a broken protocol rule) is an
 * ACK with failed = 0, a broken downstream node an ACK with failed = 1,
 * and an error reported from further down is passed on with its index
 * plus one, so the client knows which node of its pipeline to drop.
 *
 * The last packet makes the replica durable (fsync, rename into current/)
 * and tells the namenode (RECEIVED, synchronously) before it is acked, so
 * once the client holds the final ack the namenode knows the replica.
 *
 * Recovery.  A write that fails here (bad checksum, full disk) leaves no
 * trace: its temp files go when it ends.  One whose stream broke for
 * another reason (upstream gone, a node below failed) is parked with its
 * temp files instead (dn-store.c), because this node may be a survivor:
 * the writer asks the namenode for a new generation stamp and sends
 * RESUME down the surviving nodes, each of which cuts its replica back to
 * the writer's last acknowledged byte, renames it to the new generation,
 * forwards the RESUME and then carries on exactly as for WRITE (a node
 * that had already finalized the block, the last packet having reached
 * it before a node below failed on it, starts from a copy of its
 * replica).  A
 * refusal of WRITE or RESUME names the node that refused (a u32 after
 * the ERROR's message, 0 for this node, k for the k-th below), so the
 * writer avoids that node and no other.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

#include "dn_i.h"

/* A queue entry whose forward to the downstream node failed. */
#define WRITE_DOWN_LOST	1

struct write_ent {
	uint64_t	 seqno;
	uint64_t	 req_id;
	bool		 last;
	int		 status;	/* 0, WRITE_DOWN_LOST, local -errno */
	char		*msg;		/* with a local error */
};

struct write_xfer {
	struct dn	*dn;
	struct dfs_sock	*up;
	const char	*peer;
	dfs_block_id	 block;
	uint64_t	 gen;
	uint32_t	 chunk;
	bool		 resume;	/* RESUME, not WRITE */
	uint64_t	 old_gen;	/* RESUME: the interrupted write's */
	uint64_t	 offset;	/* where the stream starts */
	uint32_t	 depth;		/* nodes above us; 0: the writer's */
	uint8_t		 above[DFS_TOKEN_TARGETS_LEN];	/* the pipeline's
					   targets hash down to us (token.c) */
	bool		 streaming;	/* packets were accepted */
	bool		 local_err;	/* the failure is this node's */
	bool		 committed;	/* the replica is in current/ */
	struct dn_blkw	*wf;
	struct dfs_sock	*down;		/* NULL: the last node of the pipeline */
	char		 down_addr[256];
	bool		 down_sealed;	/* data kept inside TLS below */
	int		 down_err;	/* why a forward failed */

	pthread_t	 responder;
	pthread_mutex_t	 lock;		/* guards everything below */
	pthread_cond_t	 cond;		/* the queue or a flag changed */
	struct write_ent q[DN_WINDOW];
	unsigned	 qhead;
	unsigned	 qlen;
	bool		 closing;	/* the receiver will queue no more */
	bool		 abort;		/* upstream is gone: stop at once */
	bool		 failed;	/* the write cannot succeed */
	bool		 acked_last;	/* the final ack went upstream */
};

/*
 * Queue a packet for the responder, waiting while the window is full.
 * Consumes msg.  False when the write has failed meanwhile.
 */
static bool
write_push(struct write_xfer *x, uint64_t seqno, uint64_t req_id, bool last,
    int status, char *msg)
{
	struct write_ent	*e;

	pthread_mutex_lock(&x->lock);
	while (x->qlen == DN_WINDOW && !x->failed && !x->abort)
		pthread_cond_wait(&x->cond, &x->lock);
	if (x->failed || x->abort) {
		pthread_mutex_unlock(&x->lock);
		free(msg);
		return false;
	}
	e = &x->q[(x->qhead + x->qlen) % DN_WINDOW];
	e->seqno = seqno;
	e->req_id = req_id;
	e->last = last;
	e->status = status;
	e->msg = msg;
	x->qlen++;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	return true;
}

/* Queue a local failure for seqno; its ack ends the write. */
static void
write_push_err(struct write_xfer *x, uint64_t seqno, uint64_t req_id,
    int status, char *msg)
{
	x->local_err = true;
	log_warn("WRITE of block %" PRIu64 " from %s failed: %s", x->block,
	    x->peer, msg);
	write_push(x, seqno, req_id, false, status, msg);
}

/* Mark the write failed and wake whoever waits on the queue. */
static void
write_fail(struct write_xfer *x)
{
	pthread_mutex_lock(&x->lock);
	x->failed = true;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

/* Send one ACK upstream.  Only the responder sends, so no lock. */
static int
write_ack(struct write_xfer *x, struct dfs_wbuf *b, const struct write_ent *e,
    int32_t status, uint32_t failed, const char *msg)
{
	dfs_wbuf_reset(b);
	dfs_frame_begin(b, DFS_DX_ACK, e->req_id);
	dfs_put_u64(b, e->seqno);
	dfs_put_i32(b, status);
	dfs_put_u32(b, failed);
	dfs_put_str(b, msg);
	dfs_frame_end(b);
	return dfs_net_send(x->up, b, x->dn->timeout_ms);
}

/*
 * Wait for the downstream node's ack of e.  0 with *status, *failed and
 * *msg (caller frees) as it sent them, or a transport or protocol error
 * with *why (caller frees).
 */
static int
write_down_ack(struct write_xfer *x, struct dfs_wbuf *in,
    const struct write_ent *e, int32_t *status, uint32_t *failed, char **msg,
    char **why)
{
	struct dfs_frame_hdr	h;
	struct dfs_rbuf		r;
	uint64_t		seqno;
	int			timeout = x->dn->timeout_ms, rc;

	/* The last ack waits for the node's fsync and its RECEIVED call. */
	if (e->last)
		timeout *= 2;
	if ((rc = dfs_net_recv_frame(x->down, &h, in, timeout, why)) != 0) {
		if (rc == -ENOTCONN) {
			rc = -ECONNRESET;
			*why = xstrdup("connection closed");
		}
		return rc;
	}
	dfs_rbuf_init(&r, in->data, h.len);
	if (h.type == DFS_MSG_ERROR) {
		*status = dfs_get_i32(&r);
		*msg = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
		if (*status >= 0 || *msg == NULL) {
			*status = -EPROTO;
			free(*msg);
			*msg = xstrdup("malformed ERROR");
		}
		*failed = 0;
		return 0;
	}
	if (h.type != DFS_DX_ACK) {
		xasprintf(why, "sent %s where an ACK was expected",
		    dfs_msg_name(h.type));
		return -EPROTO;
	}
	seqno = dfs_get_u64(&r);
	*status = dfs_get_i32(&r);
	*failed = dfs_get_u32(&r);
	*msg = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
	if (dfs_rbuf_done(&r) != 0 || *status > 0 || *status < -4095) {
		free(*msg);
		*msg = NULL;
		*why = xstrdup("malformed ACK");
		return -EPROTO;
	}
	if (seqno != e->seqno) {
		free(*msg);
		*msg = NULL;
		xasprintf(why, "acked packet %" PRIu64 " where %" PRIu64
		    " was expected", seqno, e->seqno);
		return -EPROTO;
	}
	return 0;
}

/* The responder: in-order acks, each after the downstream node's. */
static void *
write_responder(void *arg)
{
	struct write_xfer	*x = arg;
	struct write_ent	 e;
	struct dfs_wbuf		 in, out;
	int32_t			 dstatus;
	uint32_t		 dfailed;
	char			*dmsg, *why, *text;
	int			 rc;

	dfs_wbuf_init(&in);
	dfs_wbuf_init(&out);
	for (;;) {
		pthread_mutex_lock(&x->lock);
		while (x->qlen == 0 && !x->closing && !x->abort)
			pthread_cond_wait(&x->cond, &x->lock);
		if (x->abort || x->qlen == 0) {
			pthread_mutex_unlock(&x->lock);
			break;
		}
		e = x->q[x->qhead];
		x->q[x->qhead].msg = NULL;
		x->qhead = (x->qhead + 1) % DN_WINDOW;
		x->qlen--;
		pthread_cond_broadcast(&x->cond);
		pthread_mutex_unlock(&x->lock);

		if (e.status < 0) {
			write_ack(x, &out, &e, e.status, 0, e.msg);
			free(e.msg);
			break;
		}
		if (x->down != NULL) {
			dmsg = why = NULL;
			if (e.status == WRITE_DOWN_LOST) {
				rc = x->down_err;
				why = xstrdup(strerror(-rc));
			} else
				rc = write_down_ack(x, &in, &e, &dstatus,
				    &dfailed, &dmsg, &why);
			if (rc != 0) {
				xasprintf(&text, "pipeline node %s: %s",
				    x->down_addr, why);
				log_warn("WRITE of block %" PRIu64 ": %s",
				    x->block, text);
				write_ack(x, &out, &e, -EIO, 1, text);
				free(text);
				free(why);
				break;
			}
			if (dstatus != 0) {
				if (dfailed >= DFS_MAX_REPLICATION)
					dfailed = 0;
				log_warn("WRITE of block %" PRIu64 ": pipeline "
				    "node %u failed: %s", x->block, dfailed + 1,
				    dmsg);
				write_ack(x, &out, &e, dstatus, dfailed + 1,
				    dmsg);
				free(dmsg);
				break;
			}
			free(dmsg);
		}
		if (write_ack(x, &out, &e, 0, UINT32_MAX, "") != 0)
			break;
		if (e.last) {
			pthread_mutex_lock(&x->lock);
			x->acked_last = true;
			pthread_mutex_unlock(&x->lock);
			break;
		}
	}
	write_fail(x);		/* no more acks: whatever is left fails */
	dfs_wbuf_release(&in);
	dfs_wbuf_release(&out);
	return NULL;
}

/*
 * Wait until upstream sends something, giving up when the write failed
 * (the responder has told the client) or the peer stays silent too long.
 */
static int
write_wait_input(struct write_xfer *x)
{
	int64_t		deadline = dfs_now_ms() + DN_IDLE_MS;
	bool		failed;

	for (;;) {
		pthread_mutex_lock(&x->lock);
		failed = x->failed;
		pthread_mutex_unlock(&x->lock);
		if (failed)
			return -ECANCELED;
		if (dfs_sock_wait_readable(x->up, 250) > 0)
			return 0;
		if (dfs_now_ms() > deadline)
			return -ETIMEDOUT;
	}
}

/* The WRITE or RESUME for the next node, into b. */
static void
write_build_down(struct write_xfer *x, const struct dfs_frame_hdr *h,
    const struct dfs_token *tok, char (*down)[256], uint32_t ndown,
    struct dfs_wbuf *b)
{
	dfs_wbuf_reset(b);
	dfs_frame_begin(b, x->resume ? DFS_DX_RESUME : DFS_DX_WRITE,
	    h->req_id);
	dfs_proto_put_token(b, tok);
	dfs_put_u64(b, x->block);
	if (x->resume) {
		dfs_put_u64(b, x->old_gen);
		dfs_put_u64(b, x->gen);
		dfs_put_u64(b, x->offset);
	} else
		dfs_put_u64(b, x->gen);
	dfs_put_u32(b, x->chunk);
	dfs_put_u32(b, ndown - 1);
	for (uint32_t i = 1; i < ndown; i++)
		dfs_put_str(b, down[i]);
	dfs_put_u32(b, x->depth + 1);
	dfs_put_raw(b, x->above, sizeof x->above);
	dfs_frame_end(b);
}

/*
 * Connect to the next node and open its part of the pipeline with the
 * same token, block and chunk size (and, for a RESUME, the same
 * generations and offset).  0, or an errno with the cause for the ERROR
 * upstream and in *failed the node that refused, counted from this one.
 */
static int
write_connect_down(struct write_xfer *x, const struct dfs_frame_hdr *h,
    const struct dfs_token *tok, char (*down)[256], uint32_t ndown,
    uint32_t *failed, char **cause)
{
	struct dfs_frame_hdr	rh;
	struct dfs_wbuf		b;
	struct dfs_rbuf		r;
	char			*why = NULL, *msg;
	bool			 reused;
	int			 rc, err;

	dfs_wbuf_init(&b);
	*failed = 1;
	memcpy(x->down_addr, down[0], sizeof x->down_addr);
	/* Data that reached us encrypted leaves us encrypted: the writer's
	 * choice holds down the whole pipeline. */
	x->down_sealed = !dfs_sock_plain_data(x->up);
	for (;;) {
		if ((rc = dfs_sockpool_connect(x->dn->pool, x->dn->tls,
		    down[0], DFS_ROLE_DATANODE, x->down_sealed,
		    x->dn->timeout_ms, &x->down, &reused, &why)) != 0) {
			x->down = NULL;
			rc = -EHOSTUNREACH;
			xasprintf(cause, "cannot reach pipeline node %s: %s",
			    down[0], why);
			goto out;
		}
		write_build_down(x, h, tok, down, ndown, &b);
		if ((rc = dfs_net_send(x->down, &b, x->dn->timeout_ms)) == 0)
			rc = dfs_net_recv_frame(x->down, &rh, &b,
			    x->dn->timeout_ms * (int)ndown, &why);
		/* A kept connection closed by its node meanwhile fails
		 * before any answer: once more on a new one. */
		if (rc == 0 || !reused)
			break;
		dfs_sock_close(x->down);
		x->down = NULL;
		free(why);
		why = NULL;
	}
	if (rc != 0) {
		err = rc == -ETIMEDOUT ? rc : -EHOSTUNREACH;
		xasprintf(cause, "pipeline node %s: %s", down[0], why != NULL ?
		    why : rc == -ENOTCONN ? "closed the connection" :
		    strerror(-rc));
		rc = err;
		goto out;
	}
	if (rh.type == DFS_MSG_OK)
		goto out;
	dfs_rbuf_init(&r, b.data, rh.len);
	if (rh.type == DFS_MSG_ERROR) {
		uint32_t below = 0;
		err = dfs_get_i32(&r);
		msg = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
		if (dfs_rbuf_left(&r) >= 4)
			below = dfs_get_u32(&r);
		if (err >= 0 || err < -4095)
			err = -EPROTO;
		if (below >= DFS_MAX_REPLICATION)
			below = 0;
		*failed = below + 1;
		xasprintf(cause, "pipeline node %s: %s", down[0], msg != NULL ?
		    msg : "error");
		free(msg);
		rc = err;
	} else {
		rc = -EPROTO;
		xasprintf(cause, "pipeline node %s answered %s with %s",
		    down[0], x->resume ? "RESUME" : "WRITE",
		    dfs_msg_name(rh.type));
	}
out:
	if (rc != 0)
		log_warn("WRITE of block %" PRIu64 " from %s: pipeline node %s "
		    "failed: %s", x->block, x->peer, down[0],
		    why != NULL ? why : strerror(-rc));
	free(why);
	dfs_wbuf_release(&b);
	return rc;
}

/*
 * Check one packet against the rules of the stream and its checksums.
 * 0, or an errno with *why (caller frees).
 */
static int
write_check_packet(struct write_xfer *x, uint64_t received, uint64_t off,
    uint32_t nchunks, const uint8_t *crcs, const uint8_t *data, size_t len,
    char **why)
{
	uint64_t	want = (len + x->chunk - 1) / x->chunk;

	if (off != received) {
		xasprintf(why, "packet at offset %" PRIu64 " where %" PRIu64
		    " was expected", off, received);
		return -EPROTO;
	}
	if (len > 0 && received % x->chunk != 0) {
		xasprintf(why, "data after a short chunk at offset %" PRIu64,
		    received);
		return -EPROTO;
	}
	if (nchunks != want) {
		xasprintf(why, "packet of %zu bytes has %u checksums, not %"
		    PRIu64, len, nchunks, want);
		return -EPROTO;
	}
	if (len > DN_MAX_BLOCK_LEN - received) {
		xasprintf(why, "block longer than %" PRIu64 " bytes",
		    DN_MAX_BLOCK_LEN);
		return -EFBIG;
	}
	for (uint32_t i = 0; i < nchunks; i++) {
		size_t o = (size_t)i * x->chunk;
		size_t n = len - o < x->chunk ? len - o : x->chunk;
		if (dfs_crc32c(0, data + o, n) != dfs_le32dec(crcs + 4 * i)) {
			xasprintf(why, "checksum mismatch at offset %" PRIu64,
			    off + o);
			return -EBADMSG;
		}
	}
	return 0;
}

/*
 * The receiver's loop: packets in, verified, forwarded, stored, queued.
 * Returns when the last packet is queued, the write failed, or upstream
 * went away (x->abort).
 */
static void
write_receive(struct write_xfer *x, struct dfs_wbuf *in)
{
	struct dfs_frame_hdr	 h;
	struct dfs_rbuf		 r;
	const uint8_t		*crcs, *data;
	uint64_t		 received = x->offset, seqno, off, next = 0;
	uint32_t		 nchunks;
	size_t			 len;
	bool			 last;
	char			*why = NULL;
	int			 rc;

	for (;;) {
		if ((rc = write_wait_input(x)) == -ECANCELED)
			return;
		if (rc == 0)
			rc = dn_recv_frame(x->up, &h, in, x->dn->timeout_ms,
			    &why);
		if (rc == -EPROTO || rc == -EPROTONOSUPPORT ||
		    rc == -EMSGSIZE) {
			write_push_err(x, next, h.req_id, rc, why);
			return;
		}
		if (rc != 0) {
			log_warn("WRITE of block %" PRIu64 " from %s abandoned "
			    "at %" PRIu64 " bytes: %s", x->block, x->peer,
			    received, why != NULL ? why : rc == -ENOTCONN ?
			    "connection closed" : strerror(-rc));
			free(why);
			pthread_mutex_lock(&x->lock);
			x->abort = true;
			pthread_cond_broadcast(&x->cond);
			pthread_mutex_unlock(&x->lock);
			return;
		}
		if (h.type != DFS_DX_PACKET) {
			xasprintf(&why, "expected PACKET, got %s (type %u)",
			    dfs_msg_name(h.type), h.type);
			write_push_err(x, next, h.req_id, -EPROTO, why);
			return;
		}
		dfs_rbuf_init(&r, in->data + DFS_WIRE_HDR_LEN, h.len);
		seqno = dfs_get_u64(&r);
		off = dfs_get_u64(&r);
		last = dfs_get_u8(&r) != 0;
		nchunks = dfs_get_u32(&r);
		if (nchunks > DFS_MAX_PACKET / DFS_MIN_CHUNK)
			r.err = -EBADMSG;
		crcs = dfs_get_raw(&r, 4 * (size_t)nchunks);
		data = dfs_get_blob(&r, DFS_MAX_PACKET, &len);
		if (dfs_rbuf_done(&r) != 0) {
			write_push_err(x, next, h.req_id, -EBADMSG,
			    xstrdup("malformed PACKET"));
			return;
		}
		if (seqno < next) {
			xasprintf(&why, "packet %" PRIu64 " out of order "
			    "(after %" PRIu64 ")", seqno, next - 1);
			write_push_err(x, seqno, h.req_id, -EPROTO, why);
			return;
		}
		next = seqno + 1;
		if ((rc = write_check_packet(x, received, off, nchunks, crcs,
		    data, len, &why)) != 0) {
			write_push_err(x, seqno, h.req_id, rc, why);
			return;
		}
		x->streaming = true;
		if (x->down != NULL && (rc = dfs_net_write_all(x->down,
		    in->data, in->len, x->dn->timeout_ms)) != 0) {
			x->down_err = rc;
			write_push(x, seqno, h.req_id, last, WRITE_DOWN_LOST,
			    NULL);
			return;
		}
		if ((rc = dn_blkw_append(x->wf, data, len, crcs,
		    &why)) != 0) {
			write_push_err(x, seqno, h.req_id, rc, why);
			return;
		}
		received += len;
		if (!last) {
			if (!write_push(x, seqno, h.req_id, false, 0, NULL))
				return;
			continue;
		}
		if ((rc = dn_store_commit(x->dn->store, x->wf, &why)) != 0) {
			write_push_err(x, seqno, h.req_id, rc, why);
			return;
		}
		x->committed = true;
		log_info("stored block %" PRIu64 " generation %" PRIu64 " (%"
		    PRIu64 " bytes) from %s%s%s", x->block, x->gen, received,
		    x->peer, x->down != NULL ? ", forwarded to " : "",
		    x->down != NULL ? x->down_addr : "");
		dn_nn_received(x->dn->nn, x->block, x->gen, received);
		write_push(x, seqno, h.req_id, true, 0, NULL);
		return;
	}
}

/*
 * Whether a replica at this depth of its pipeline is written with direct
 * I/O (datanode.direct_io; the choices in lib/config-table.c's order).
 * By default every node skips the page cache (see dn-blkfile.c for why).
 * With "downstream" the first node, the one nearest the writer, keeps its
 * copy in the page cache, where a read soon after the write on the
 * writer's machine finds it, and only the nodes below it, whose copies
 * are there for safety, skip the cache.
 */
static bool
write_direct(struct dn *dn, uint32_t depth)
{
	switch (dfs_config_int(dn->cfg, "datanode.direct_io")) {
	case 0:		/* false */
		return false;
	case 1:		/* true */
		return true;
	default:	/* downstream */
		return depth > 0;
	}
}

/*
 * The pipeline this request names, as the token must have signed it: the
 * upstream node's hash of the nodes above us (a writer sends none: 32
 * zero bytes), stepped over us (our advertised address, as the namenode
 * knows us) and the nodes we are asked to forward to.  x->above keeps the
 * hash down to us, for the next node.
 */
static void
write_targets(struct dfs_rbuf *r, struct write_xfer *x, char (*down)[256],
    uint32_t ndown, uint8_t *targets)
{
	const void	*raw;

	memset(x->above, 0, sizeof x->above);
	if (r->err == 0 && dfs_rbuf_left(r) > 0 &&
	    (raw = dfs_get_raw(r, sizeof x->above)) != NULL)
		memcpy(x->above, raw, sizeof x->above);
	dfs_token_targets_step(x->above, x->dn->advertise);
	memcpy(targets, x->above, sizeof x->above);
	for (uint32_t i = 0; i < ndown && i < DFS_MAX_REPLICATION; i++)
		dfs_token_targets_step(targets, down[i]);
}

/*
 * WRITE or RESUME on a connection: check the token, take the replica's
 * files (new ones, or an interrupted write's cut back to the offset),
 * open the rest of the pipeline, answer OK, then receive the block.  0
 * when the block was stored and acked (the connection may carry another
 * request).  A refusal is an errno with the cause and, in req->failed,
 * the node that refused, for the ERROR dn-server.c sends; only a
 * malformed request leaves the connection open after it.
 */
int
dn_write_op_write(struct dn_req *req, char **cause)
{
	struct dn		*dn = req->dn;
	const struct dfs_frame_hdr *h = req->h;
	struct write_xfer	*x;
	struct dfs_rbuf		 r;
	struct dfs_token	 tok;
	char			 down[DFS_MAX_REPLICATION][256];
	uint8_t			 targets[DFS_TOKEN_TARGETS_LEN];
	const char		*what;
	uint32_t		 ndown;
	bool			 ok = false, started = false;
	int			 rc;

	x = xcalloc(1, sizeof *x);
	x->dn = dn;
	x->up = req->s;
	x->peer = req->peer;
	x->resume = h->type == DFS_DX_RESUME;
	what = x->resume ? "RESUME" : "WRITE";
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cond, NULL);

	dfs_rbuf_init(&r, req->pl, h->len);
	dfs_proto_get_token(&r, &tok);
	x->block = dfs_get_u64(&r);
	if (x->resume) {
		x->old_gen = dfs_get_u64(&r);
		x->gen = dfs_get_u64(&r);
		x->offset = dfs_get_u64(&r);
	} else
		x->gen = dfs_get_u64(&r);
	x->chunk = dfs_get_u32(&r);
	ndown = dfs_get_u32(&r);
	if (ndown >= DFS_MAX_REPLICATION)
		r.err = -EBADMSG;
	for (uint32_t i = 0; i < ndown && r.err == 0; i++)
		dfs_get_strbuf(&r, down[i], sizeof down[i]);
	/* From a data node: how deep in the pipeline we are. */
	if (r.err == 0 && dfs_rbuf_left(&r) > 0)
		x->depth = dfs_get_u32(&r);
	write_targets(&r, x, down, ndown, targets);
	if (dfs_rbuf_done(&r) != 0 || x->depth >= DFS_MAX_REPLICATION ||
	    (x->resume && (x->gen <= x->old_gen ||
	    x->offset > DN_MAX_BLOCK_LEN))) {
		xasprintf(cause, "malformed %s request", what);
		rc = -EBADMSG;
		goto out;
	}
	/* Past here every refusal ends the connection. */
	req->close = true;
	if (dn_token_check(req, &tok, x->block, x->gen, DFS_TOKEN_WRITE,
	    targets, cause) != 0) {
		log_warn("%s of block %" PRIu64 " from %s refused: %s", what,
		    x->block, req->peer, *cause);
		rc = -EACCES;
		goto out;
	}
	if (!dn_blkfile_chunk_ok(x->chunk)) {
		xasprintf(cause, "chunk size %u is not a power of two from %u "
		    "to %u", x->chunk, DFS_MIN_CHUNK, DFS_MAX_CHUNK);
		rc = -EINVAL;
		goto out;
	}
	/* A full disk refuses the block before a byte is sent, so the
	 * writer can go elsewhere; the namenode avoids us meanwhile. */
	if (x->resume)
		rc = dn_store_resume(dn->store, x->block, x->old_gen, x->gen,
		    x->offset, x->chunk, dn->timeout_ms / 2, &x->wf, cause);
	else if ((rc = dn_store_room(dn->store, DN_BLOCK_ROOM((uint64_t)
	    dfs_config_int(dn->cfg, "cluster.block_size")), cause)) == 0)
		rc = dn_store_create(dn->store, x->block, x->gen, x->chunk,
		    &x->wf, cause);
	if (rc != 0) {
		log_warn("%s of block %" PRIu64 " from %s refused: %s", what,
		    x->block, req->peer, *cause);
		goto out;
	}
	if (write_direct(dn, x->depth))
		dn_blkw_direct(x->wf);
	if (x->resume)
		log_info("block %" PRIu64 ": resuming at %" PRIu64 " bytes as "
		    "generation %" PRIu64 " (was %" PRIu64 ") for %s",
		    x->block, x->offset, x->gen, x->old_gen, req->peer);
	atomic_fetch_add(&dn->xfers, 1);
	started = true;
	if (ndown > 0 && (rc = write_connect_down(x, h, &tok, down, ndown,
	    &req->failed, cause)) != 0)
		goto out;
	/* From the OK on, failures travel in the acks, never an ERROR. */
	req->hangup = true;
	if ((rc = dfs_net_send_ok(req->s, h->req_id)) != 0)
		goto out;
	if (pthread_create(&x->responder, NULL, write_responder, x) != 0) {
		rc = -EAGAIN;
		log_err("WRITE of block %" PRIu64 ": cannot start a thread",
		    x->block);
		goto out;
	}
	write_receive(x, req->in);
	pthread_mutex_lock(&x->lock);
	x->closing = true;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	if (x->abort)
		dfs_sock_shutdown(x->down);	/* wake the responder */
	pthread_join(x->responder, NULL);
	ok = x->acked_last;
	rc = ok ? 0 : -EIO;
out:
	if (started)
		atomic_fetch_sub(&dn->xfers, 1);
	/* The node below acked the last packet too: its connection may
	 * carry the next block (sockpool.c). */
	if (ok && x->down != NULL)
		dfs_sockpool_put(dn->pool, x->down_addr, x->down_sealed,
		    x->down);
	else
		dfs_sock_close(x->down);
	for (unsigned i = 0; i < x->qlen; i++)
		free(x->q[(x->qhead + i) % DN_WINDOW].msg);
	/* This node's bytes are good when the failure was elsewhere: keep
	 * them for a RESUME. */
	if (!ok && x->wf != NULL && (x->streaming || x->resume) &&
	    !x->local_err && !x->committed)
		dn_store_park(dn->store, x->wf);
	else
		dn_store_release(dn->store, x->wf);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->cond);
	free(x);
	return rc;
}
