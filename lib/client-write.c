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
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum.h"
#include "client_i.h"
#include "log.h"
#include "npy.h"
#include "xmalloc.h"

#define DFS_WINDOW		16	/* packets in flight per block */
#define DFS_PIPELINE_TRIES	3

enum head_state { HEAD_PENDING, HEAD_NPY, HEAD_PLAIN };

struct dfs_writer {
	struct dfs_client	*c;
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
	uint64_t		 block_start;
	uint64_t		 block_end;	/* planned end (file offset) */
	uint64_t		 sent;		/* bytes of the block sent */
	int			 fd;
	uint8_t			*pkt;
	size_t			 pkt_len;
	uint64_t		 seq;
	struct dfs_wbuf		 hdr;

	pthread_t		 acker;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	uint64_t		 acked;		/* packets acknowledged */
	uint64_t		 last_seq;	/* of the block's last packet */
	int			 ack_err;
	char			*ack_cause;
	bool			 failed;
};

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
	dfs_put_u8(b, o->overwrite);
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
	w->path = xstrdup(path);
	w->chunk = c->chunk_size;
	w->fd = -1;
	w->opts = opts;
	rc = dfs_client_call(c, DFS_NN_CREATE, DFS_NN_ATTR, build_create, w,
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
	w->pkt = xmalloc(DFS_MAX_PACKET);
	dfs_wbuf_init(&w->hdr);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
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
	int			 rc;

	dfs_wbuf_init(&in);
	for (;;) {
		rc = dfs_net_recv_frame(w->fd, &h, &in, w->c->timeout_ms, &why);
		pthread_mutex_lock(&w->lock);
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
			uint32_t failed = dfs_get_u32(&r);
			char *msg = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
			if (dfs_rbuf_done(&r) != 0 || seq != w->acked) {
				rc = -EPROTO;
				xasprintf(&why, "bad acknowledgement from %s",
				    w->lb.locs[0].addr);
			} else if (status != 0) {
				rc = status < 0 ? status : -EIO;
				if (failed < w->lb.nlocs)
					xasprintf(&why, "data node %s: %s",
					    w->lb.locs[failed].addr,
					    msg != NULL ? msg : "failed");
				else
					why = xstrdup(msg != NULL ? msg :
					    "pipeline failed");
			} else
				w->acked++;
			free(msg);
		}
		if (rc != 0) {
			if (why == NULL)
				xasprintf(&why, "pipeline to %s: %s",
				    w->lb.locs[0].addr, strerror(-rc));
			w->ack_err = rc;
			w->ack_cause = why;
			why = NULL;
		}
		pthread_cond_broadcast(&w->cond);
		bool done = rc != 0 || w->acked > w->last_seq;
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

struct abandon_args {
	struct dfs_writer	*w;
	dfs_block_id		 block;
};

static void
build_abandon(struct dfs_wbuf *b, void *arg)
{
	struct abandon_args	*a = arg;

	dfs_put_u64(b, a->w->attr.ino);
	dfs_put_str(b, a->w->c->name);
	dfs_put_u64(b, a->block);
}

/* Connect to the first node of lb and set the pipeline up. */
static int
writer_connect(struct dfs_writer *w, bool *first_failed, char **cause)
{
	struct dfs_wbuf		 b;
	struct dfs_frame_hdr	 h;
	struct dfs_rbuf		 r;
	int			 rc;

	if (w->lb.nlocs == 0) {
		xasprintf(cause, "the namenode gave no data nodes");
		return -ENOSPC;
	}
	*first_failed = true;
	if ((rc = dfs_net_connect(w->lb.locs[0].addr, w->c->timeout_ms,
	    &w->fd, cause)) != 0)
		return rc;
	*first_failed = false;
	dfs_wbuf_init(&b);
	dfs_frame_begin(&b, DFS_DX_WRITE, 1);
	dfs_proto_put_token(&b, &w->lb.token);
	dfs_put_u64(&b, w->lb.block);
	dfs_put_u64(&b, w->lb.gen);
	dfs_put_u32(&b, w->chunk);
	dfs_put_u32(&b, w->lb.nlocs - 1);
	for (uint32_t i = 1; i < w->lb.nlocs; i++)
		dfs_put_str(&b, w->lb.locs[i].addr);
	dfs_frame_end(&b);
	if ((rc = dfs_net_send(w->fd, &b, w->c->timeout_ms)) == 0)
		rc = dfs_net_recv_frame(w->fd, &h, &b, w->c->timeout_ms,
		    cause);
	if (rc == 0 && h.type == DFS_MSG_ERROR) {
		dfs_rbuf_init(&r, b.data, h.len);
		rc = dfs_get_i32(&r);
		*cause = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
		if (rc >= 0)
			rc = -EIO;
	} else if (rc == 0 && h.type != DFS_MSG_OK) {
		rc = -EPROTO;
		xasprintf(cause, "%s answered %s to WRITE", w->lb.locs[0].addr,
		    dfs_msg_name(h.type));
	} else if (rc != 0 && *cause == NULL)
		xasprintf(cause, "%s: %s", w->lb.locs[0].addr, strerror(-rc));
	dfs_wbuf_release(&b);
	if (rc != 0) {
		close(w->fd);
		w->fd = -1;
	}
	return rc;
}

/* Ask for a new block and open its pipeline, avoiding nodes that failed. */
static int
writer_begin_block(struct dfs_writer *w, char **cause)
{
	struct abandon_args	 a = { w, 0 };
	bool			 first_failed = false;
	int			 rc = 0;

	w->lb.nlocs = 0;
	for (int tries = 0; tries < DFS_PIPELINE_TRIES; tries++) {
		struct dfs_lblock excl = w->lb;
		char *why = NULL;

		rc = dfs_client_call(w->c, DFS_NN_ADD_BLOCK, DFS_NN_LBLOCK,
		    build_add_block, w, parse_lblock, &w->lb, cause);
		if (rc != 0)
			return rc;
		w->prev_block = 0;	/* committed by ADD_BLOCK */
		if ((rc = writer_connect(w, &first_failed, &why)) == 0)
			break;
		log_warn("pipeline for block %llu failed: %s",
		    (unsigned long long)w->lb.block, why);
		free(*cause);
		*cause = why;
		a.block = w->lb.block;
		dfs_client_call(w->c, DFS_NN_ABANDON, DFS_MSG_OK,
		    build_abandon, &a, NULL, NULL, NULL);
		/* Exclude what failed before plus this pipeline's nodes. */
		struct dfs_lblock next = w->lb;
		next.nlocs = 0;
		for (uint32_t i = 0; i < excl.nlocs &&
		    next.nlocs < DFS_MAX_REPLICATION; i++)
			next.locs[next.nlocs++] = excl.locs[i];
		/* Which node failed is known only when it was the first;
		 * otherwise avoid the rest of the pipeline. */
		for (uint32_t i = first_failed ? 0 : 1; i < (first_failed ?
		    1 : w->lb.nlocs) && next.nlocs < DFS_MAX_REPLICATION; i++)
			next.locs[next.nlocs++] = w->lb.locs[i];
		w->lb = next;
	}
	if (rc != 0)
		return rc;
	w->in_block = true;
	w->sent = 0;
	w->seq = 0;
	w->acked = 0;
	w->last_seq = UINT64_MAX;
	w->ack_err = 0;
	if (pthread_create(&w->acker, NULL, writer_acker, w) != 0) {
		xasprintf(cause, "cannot start a thread");
		return -EAGAIN;
	}
	return 0;
}

/* Wait for the acker: for a window slot, or for everything when all. */
static int
writer_wait(struct dfs_writer *w, bool all, char **cause)
{
	int	rc;

	pthread_mutex_lock(&w->lock);
	while (w->ack_err == 0 &&
	    (all ? w->acked < w->seq : w->seq - w->acked >= DFS_WINDOW))
		pthread_cond_wait(&w->cond, &w->lock);
	rc = w->ack_err;
	if (rc != 0 && cause != NULL) {
		free(*cause);
		*cause = xstrdup(w->ack_cause);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* Close the block's pipeline after its last acknowledgement or an error. */
static void
writer_end_block(struct dfs_writer *w)
{
	if (!w->in_block)
		return;
	shutdown(w->fd, SHUT_RDWR);
	pthread_join(w->acker, NULL);
	close(w->fd);
	w->fd = -1;
	w->in_block = false;
	free(w->ack_cause);
	w->ack_cause = NULL;
}

/* Send the buffered packet; last closes the block. */
static int
writer_send_packet(struct dfs_writer *w, bool last, char **cause)
{
	uint32_t	nchunks = (w->pkt_len + w->chunk - 1) / w->chunk;
	int		rc;

	if (!w->in_block && (rc = writer_begin_block(w, cause)) != 0)
		return rc;
	if ((rc = writer_wait(w, false, cause)) != 0)
		return rc;
	dfs_wbuf_reset(&w->hdr);
	dfs_frame_begin(&w->hdr, DFS_DX_PACKET, w->seq);
	dfs_put_u64(&w->hdr, w->seq);
	dfs_put_u64(&w->hdr, w->sent);
	dfs_put_u8(&w->hdr, last);
	dfs_put_u32(&w->hdr, nchunks);
	for (uint32_t i = 0; i < nchunks; i++) {
		size_t off = (size_t)i * w->chunk;
		size_t n = w->pkt_len - off < w->chunk ? w->pkt_len - off :
		    w->chunk;
		dfs_put_u32(&w->hdr, dfs_crc32c(0, w->pkt + off, n));
	}
	dfs_put_u32(&w->hdr, (uint32_t)w->pkt_len);
	dfs_frame_end(&w->hdr);
	dfs_le32enc(w->hdr.data + 16, (uint32_t)(w->hdr.len -
	    DFS_WIRE_HDR_LEN + w->pkt_len));
	pthread_mutex_lock(&w->lock);
	if (last)
		w->last_seq = w->seq;
	w->seq++;
	pthread_mutex_unlock(&w->lock);
	if ((rc = dfs_net_send(w->fd, &w->hdr, w->c->timeout_ms)) != 0 ||
	    (rc = dfs_net_write_all(w->fd, w->pkt, w->pkt_len,
	    w->c->timeout_ms)) != 0) {
		/* The acker usually knows why the stream broke. */
		if (writer_wait(w, true, cause) == 0 || *cause == NULL)
			xasprintf(cause, "sending to %s: %s",
			    w->lb.locs[0].addr, strerror(-rc));
		return rc;
	}
	w->sent += w->pkt_len;
	w->pkt_len = 0;
	if (last) {
		if ((rc = writer_wait(w, true, cause)) != 0)
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
		return -EIO;
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
		rc = -EIO;
		goto out;
	}
	if (w->head_state == HEAD_PENDING &&
	    (rc = writer_decide(w, true, cause)) != 0)
		goto out;
	if ((w->in_block || w->pkt_len > 0) &&
	    (rc = writer_send_packet(w, true, cause)) != 0)
		goto out;
	rc = dfs_client_call(w->c, DFS_NN_COMPLETE, DFS_MSG_OK, build_complete,
	    w, NULL, NULL, cause);
out:
	dfs_writer_abort(w);
	return rc;
}

/* Stop writing and free w; the file stays under construction. */
void
dfs_writer_abort(struct dfs_writer *w)
{
	if (w == NULL)
		return;
	writer_end_block(w);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	dfs_wbuf_release(&w->hdr);
	free(w->ack_cause);
	free(w->head);
	free(w->pkt);
	free(w->path);
	free(w);
}
