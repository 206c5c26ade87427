/*
 * dn-replicate.c: carry out the namenode's REPLICATE commands.
 *
 * A copy is pushed exactly as a client writes: WRITE to the first target
 * with the others as its downstream pipeline and the namenode's write
 * token, then the block in packets with their CRCs, acks read back with
 * a window so the pipeline stays full without a second thread.  The
 * bytes come from the local replica through the same verified read as a
 * client's READ, with the CRCs as stored, so a copy can never spread
 * corruption: a local checksum error stops the copy and reports this
 * replica as bad.  Commands wait in a bounded queue (a node coming back
 * from the dead may be asked for hundreds of copies at once) and at most
 * DN_MAX_REPLICATIONS copies run at a time, each on a detached worker
 * thread that lives while there is work; the namenode re-issues any copy
 * it does not see completed, so a copy that fails is simply logged.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "xmalloc.h"

#include "dn_i.h"

/* Packets sent before waiting for the oldest ack. */
#define REPL_WINDOW	32

/* Copies waiting beyond this are dropped (the namenode re-issues). */
#define REPL_MAX_QUEUED	4096

struct repl_job {
	struct dfs_lblock	 lb;
	struct repl_job		*next;
};

/* The queue of copies and its workers.  One per process, as is struct dn. */
static struct {
	pthread_mutex_t	 lock;		/* guards all below */
	struct repl_job	*head;
	struct repl_job	**tail;
	int		 queued;
	int		 workers;	/* running worker threads */
} repl = { .lock = PTHREAD_MUTEX_INITIALIZER, .tail = &repl.head };

/* Copies queued or running (for a clean shutdown). */
int
dn_replicate_active(void)
{
	int	n;

	pthread_mutex_lock(&repl.lock);
	n = repl.queued + repl.workers;
	pthread_mutex_unlock(&repl.lock);
	return n;
}

/* Read the reply to our WRITE: 0 for OK, else an error with *cause. */
static int
repl_open_reply(struct dfs_sock *s, const struct dfs_lblock *lb, struct dfs_wbuf *in,
    int timeout_ms, char **cause)
{
	struct dfs_frame_hdr	h;
	struct dfs_rbuf		r;
	char			*why = NULL, *msg;
	int			 rc;

	if ((rc = dfs_net_recv_frame(s, &h, in, timeout_ms, &why)) != 0) {
		xasprintf(cause, "%s: %s", lb->locs[0].addr, why != NULL ? why :
		    "connection closed");
		free(why);
		return rc == -ENOTCONN ? -ECONNRESET : rc;
	}
	if (h.type == DFS_MSG_OK)
		return 0;
	dfs_rbuf_init(&r, in->data, h.len);
	if (h.type == DFS_MSG_ERROR) {
		rc = dfs_get_i32(&r);
		msg = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
		if (rc >= 0 || rc < -4095)
			rc = -EPROTO;
		xasprintf(cause, "%s refused the copy: %s", lb->locs[0].addr,
		    msg != NULL ? msg : "error");
		free(msg);
		return rc;
	}
	xasprintf(cause, "%s answered WRITE with %s", lb->locs[0].addr,
	    dfs_msg_name(h.type));
	return -EPROTO;
}

/* Read the ack of packet seqno: 0 when every target has it. */
static int
repl_ack(struct dfs_sock *conn, const struct dfs_lblock *lb,
    struct dfs_wbuf *in, uint64_t seqno, int timeout_ms, char **cause)
{
	struct dfs_frame_hdr	h;
	struct dfs_rbuf		r;
	uint64_t		s;
	int32_t			status;
	uint32_t		failed;
	char			*why = NULL, *msg;
	int			 rc;

	if ((rc = dfs_net_recv_frame(conn, &h, in, timeout_ms, &why)) != 0) {
		xasprintf(cause, "%s: %s", lb->locs[0].addr, why != NULL ? why :
		    "connection closed");
		free(why);
		return rc == -ENOTCONN ? -ECONNRESET : rc;
	}
	if (h.type != DFS_DX_ACK) {
		xasprintf(cause, "%s sent %s where an ACK was expected",
		    lb->locs[0].addr, dfs_msg_name(h.type));
		return -EPROTO;
	}
	dfs_rbuf_init(&r, in->data, h.len);
	s = dfs_get_u64(&r);
	status = dfs_get_i32(&r);
	failed = dfs_get_u32(&r);
	msg = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
	if (dfs_rbuf_done(&r) != 0 || s != seqno || status > 0) {
		xasprintf(cause, "%s sent a bad ACK", lb->locs[0].addr);
		rc = -EPROTO;
	} else if (status != 0) {
		xasprintf(cause, "pipeline node %s failed: %s",
		    failed < lb->nlocs ? lb->locs[failed].addr : "?",
		    msg != NULL ? msg : "error");
		rc = status;
	}
	free(msg);
	return rc;
}

/* Push the local replica of lb->block to lb's targets. */
static int
repl_run(struct dn *dn, const struct dfs_lblock *lb, char **cause)
{
	struct dn_rfile		*rf = NULL;
	const struct dn_block	*b;
	struct dfs_wbuf		 out, in;
	uint64_t		 pos = 0, seq = 0, acked = 0, maxd, n;
	uint32_t		 nch;
	size_t			 crc_off, data_off;
	bool			 last;
	struct dfs_sock		*s = NULL;
	int			 rc, T = dn->timeout_ms;

	dfs_wbuf_init(&out);
	dfs_wbuf_init(&in);
	if ((rc = dn_store_open_replica(dn->store, lb->block, lb->gen, &rf,
	    cause)) != 0)
		goto out;
	b = dn_rfile_block(rf);
	if ((rc = dfs_sock_connect(dn->tls, lb->locs[0].addr,
	    DFS_ROLE_DATANODE, T, &s, cause)) != 0)
		goto out;
	dfs_frame_begin(&out, DFS_DX_WRITE, 1);
	dfs_proto_put_token(&out, &lb->token);
	dfs_put_u64(&out, lb->block);
	dfs_put_u64(&out, lb->gen);
	dfs_put_u32(&out, b->chunk_size);
	dfs_put_u32(&out, lb->nlocs - 1);
	for (uint32_t i = 1; i < lb->nlocs; i++)
		dfs_put_str(&out, lb->locs[i].addr);
	dfs_put_u32(&out, 1);	/* depth: not a writer's first node */
	dfs_frame_end(&out);
	if ((rc = dfs_net_send(s, &out, T)) != 0) {
		xasprintf(cause, "%s: %s", lb->locs[0].addr, strerror(-rc));
		goto out;
	}
	if ((rc = repl_open_reply(s, lb, &in, T * (int)lb->nlocs,
	    cause)) != 0)
		goto out;
	maxd = (DFS_MAX_PACKET / b->chunk_size) * b->chunk_size;
	do {
		n = b->len - pos < maxd ? b->len - pos : maxd;
		last = pos + n == b->len;
		nch = (uint32_t)((n + b->chunk_size - 1) / b->chunk_size);
		dfs_wbuf_reset(&out);
		dfs_frame_begin(&out, DFS_DX_PACKET, seq + 1);
		dfs_put_u64(&out, seq);
		dfs_put_u64(&out, pos);
		dfs_put_u8(&out, last);
		dfs_put_u32(&out, nch);
		crc_off = out.len;
		dfs_wbuf_reserve(&out, 4 * (size_t)nch);
		dfs_put_u32(&out, (uint32_t)n);
		data_off = out.len;
		dfs_wbuf_reserve(&out, n);
		dfs_frame_end(&out);
		if ((rc = dn_rfile_read(rf, pos, n, out.data + data_off,
		    out.data + crc_off, cause)) != 0) {
			if (rc == -EBADMSG || rc == -EIO)
				dn_nn_bad_block(dn->nn, lb->block, lb->gen,
				    *cause);
			goto out;
		}
		if ((rc = dfs_net_send(s, &out, T)) != 0) {
			xasprintf(cause, "%s: %s", lb->locs[0].addr,
			    strerror(-rc));
			goto out;
		}
		seq++;
		pos += n;
		while (seq - acked > REPL_WINDOW || (last && acked < seq)) {
			if ((rc = repl_ack(s, lb, &in, acked, last &&
			    acked + 1 == seq ? 2 * T : T, cause)) != 0)
				goto out;
			acked++;
		}
	} while (!last);
out:
	dfs_sock_close(s);
	dn_rfile_free(rf);
	dfs_wbuf_release(&out);
	dfs_wbuf_release(&in);
	return rc;
}

/* A worker: copy queued blocks until none is left (or we stop). */
static void *
repl_main(void *arg)
{
	struct dn		*dn = arg;
	struct repl_job		*j;
	const struct dfs_lblock	*lb;
	char			*cause;

	for (;;) {
		pthread_mutex_lock(&repl.lock);
		if ((j = repl.head) == NULL || atomic_load(&dn->stopping)) {
			repl.workers--;
			pthread_mutex_unlock(&repl.lock);
			return NULL;
		}
		if ((repl.head = j->next) == NULL)
			repl.tail = &repl.head;
		repl.queued--;
		pthread_mutex_unlock(&repl.lock);

		lb = &j->lb;
		cause = NULL;
		atomic_fetch_add(&dn->xfers, 1);
		if (repl_run(dn, lb, &cause) == 0)
			log_info("copied block %" PRIu64 " generation %" PRIu64
			    " to %s%s", lb->block, lb->gen, lb->locs[0].addr,
			    lb->nlocs > 1 ? " and its pipeline" : "");
		else
			log_warn("copy of block %" PRIu64 " generation %" PRIu64
			    " to %s failed: %s", lb->block, lb->gen,
			    lb->locs[0].addr, cause != NULL ? cause : "error");
		atomic_fetch_sub(&dn->xfers, 1);
		free(cause);
		free(j);
	}
}

/* Whether two copies are the same: block, generation and targets. */
static bool
repl_same(const struct dfs_lblock *a, const struct dfs_lblock *b)
{
	if (a->block != b->block || a->gen != b->gen || a->nlocs != b->nlocs)
		return false;
	for (uint32_t i = 0; i < a->nlocs; i++)
		if (a->locs[i].node != b->locs[i].node ||
		    strcmp(a->locs[i].addr, b->locs[i].addr) != 0)
			return false;
	return true;
}

/*
 * Queue a copy as the namenode asked (the same copy already queued is not
 * queued twice; one of the same block to other targets is a new plan, the
 * old one's targets having died, and is queued too) and start a worker if
 * fewer than DN_MAX_REPLICATIONS run.
 */
void
dn_replicate_start(struct dn *dn, const struct dfs_lblock *lb)
{
	struct repl_job	*j;
	pthread_attr_t	 attr;
	pthread_t	 t;
	bool		 spawn = false;

	if (lb->nlocs == 0) {
		log_warn("REPLICATE of block %" PRIu64 " names no target",
		    lb->block);
		return;
	}
	if (atomic_load(&dn->stopping))
		return;
	pthread_mutex_lock(&repl.lock);
	for (j = repl.head; j != NULL; j = j->next)
		if (repl_same(&j->lb, lb))
			break;
	if (j != NULL || repl.queued >= REPL_MAX_QUEUED) {
		pthread_mutex_unlock(&repl.lock);
		log_info("REPLICATE of block %" PRIu64 " not queued: %s",
		    lb->block, j != NULL ? "already queued" : "queue full");
		return;
	}
	j = xmalloc(sizeof *j);
	j->lb = *lb;
	j->next = NULL;
	*repl.tail = j;
	repl.tail = &j->next;
	repl.queued++;
	if (repl.workers < DN_MAX_REPLICATIONS) {
		repl.workers++;
		spawn = true;
	}
	pthread_mutex_unlock(&repl.lock);
	if (!spawn)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, repl_main, dn) != 0) {
		log_err("cannot start a thread to copy blocks");
		pthread_mutex_lock(&repl.lock);
		repl.workers--;
		pthread_mutex_unlock(&repl.lock);
	}
	pthread_attr_destroy(&attr);
}

/* At shutdown: forget the copies not started yet. */
void
dn_replicate_drop_queued(void)
{
	struct repl_job	*j, *next;

	pthread_mutex_lock(&repl.lock);
	j = repl.head;
	repl.head = NULL;
	repl.tail = &repl.head;
	repl.queued = 0;
	pthread_mutex_unlock(&repl.lock);
	for (; j != NULL; j = next) {
		next = j->next;
		free(j);
	}
}
