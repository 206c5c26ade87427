/*
 * nn-raft.c: a namenode's seat in a group of namenodes that agree on one
 * log, by Raft (libraft).  The only file that knows libraft.
 *
 * Why it is built this way.  libraft does consensus, its log on disk and
 * snapshots, all on one libuv loop; we give it a thread of its own
 * running that loop, and talk to it through a wake-up handle (uv_async):
 * a proposal from a request thread is queued, the loop hands it to
 * raft_apply, and the request thread waits until the entry is committed
 * and applied here (or fails: not the leader, leadership lost).
 *
 * Transport.  libraft's own TCP transport is plaintext, and every
 * connection of a cluster is mutual TLS (issue 11).  So the transport is
 * ours: a connection to a peer is a TLS connection to its namenode port,
 * opened with our namenode certificate (the peer must show a namenode's
 * too) and a RAFT_HELLO frame naming our member id and address; after
 * the peer's OK it carries nothing but libraft's bytes.  libraft gets one
 * end of a socketpair as its stream, and a thread joins the other end to
 * the TLS connection (dfs_net_pipe).  The accepting side is the namenode's
 * server: a connection whose first request is RAFT_HELLO is handed to
 * nn_raft_serve, which does the same on its thread.
 *
 * The state machine is the caller's (apply, snapshot, restore callbacks,
 * all run on the loop thread, one at a time).
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "clock.h"
#include "log.h"
#include "net.h"
#include "nn_raft.h"
#include "proto.h"
#include "xmalloc.h"

#define RAFT_PIPE_TIMEOUT_MS	10000	/* a peer that takes no bytes */
#define RAFT_STATUS_MS		50	/* status refresh */

/* What a proposal asks of libraft. */
enum raft_prop_kind {
	PROP_ENTRY,
	PROP_BARRIER,
	PROP_REMOVE,		/* a member leaves the configuration */
	PROP_ADD,		/* one comes in, a spare */
	PROP_VOTER		/* and is made a voter, once caught up */
};

/* A proposal waiting for its entry to commit. */
struct raft_prop {
	struct raft_apply	 req;		/* req.data = this */
	struct raft_barrier	 breq;		/* a barrier's */
	struct raft_change	 creq;		/* a membership change's */
	enum raft_prop_kind	 kind;
	uint64_t		 member;	/* a change's */
	char			 addr[256];
	struct nn_raft		*r;
	struct raft_buffer	 buf;
	int			 rc;		/* 1 until done */
	struct raft_prop	*next;
};

/* A connection ready to hand to libraft (connected or accepted). */
struct raft_ready {
	struct raft_uv_connect	*req;		/* NULL: accepted */
	raft_id			 id;
	char			 addr[256];
	int			 fd;		/* -1: the connect failed */
	struct raft_ready	*next;
};

struct nn_raft {
	struct nn_raft_conf	 conf;
	struct nn_raft_cb	 cb;
	struct dfs_tls		*tls;

	uv_loop_t		 loop;
	uv_async_t		 wake;
	uv_timer_t		 timer;
	pthread_t		 thread;
	struct raft		 raft;
	struct raft_io		 io;
	struct raft_fsm		 fsm;
	struct raft_uv_transport transport;
	raft_uv_accept_cb	 accept_cb;

	pthread_mutex_t		 lock;		/* guards below */
	pthread_cond_t		 cond;
	struct raft_prop	*props;		/* to hand to raft_apply */
	struct raft_ready	*ready;		/* to hand to libraft */
	int			 pending;	/* connect threads running */
	int			 pipes;		/* pipe threads running */
	bool			 stopping;	/* stop asked */
	bool			 tclosed;	/* the transport is closed */
	bool			 stopped;	/* the loop has ended */
	struct nn_raft_status	 st;
};

/* ----- the state machine ------------------------------------------------ */

/*
 * An entry as libraft stores it: libraft's log reads entries back as if
 * every one were padded to 8 bytes (it writes them as they are), so ours
 * are: the payload's length as 8 little-endian bytes, the payload, zeros
 * to a multiple of 8.
 */
#define RAFT_ENTRY_HDR		8
#define RAFT_PAD8(n)		(((n) + 7) & ~(size_t)7)

static int
fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct nn_raft	*r = fsm->data;
	uint64_t	 len;

	*result = NULL;
	if (buf->len < RAFT_ENTRY_HDR)
		return RAFT_MALFORMED;
	len = dfs_le64dec(buf->base);
	if (len > buf->len - RAFT_ENTRY_HDR)
		return RAFT_MALFORMED;
	return r->cb.apply(r->cb.arg, (const uint8_t *)buf->base +
	    RAFT_ENTRY_HDR, (size_t)len) == 0 ? 0 : RAFT_IOERR;
}

static int
fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
    unsigned *n_bufs)
{
	struct nn_raft	*r = fsm->data;
	void		*p = NULL;
	size_t		 len = 0;

	if (r->cb.snapshot(r->cb.arg, &p, &len) != 0)
		return RAFT_IOERR;
	/* Framed as an entry is (see above). */
	if ((*bufs = raft_malloc(sizeof **bufs)) == NULL ||
	    ((*bufs)[0].base = raft_calloc(1, RAFT_ENTRY_HDR +
	    RAFT_PAD8(len))) == NULL) {
		raft_free(*bufs);
		free(p);
		return RAFT_NOMEM;
	}
	dfs_le64enc((*bufs)[0].base, len);
	memcpy((uint8_t *)(*bufs)[0].base + RAFT_ENTRY_HDR, p, len);
	(*bufs)[0].len = RAFT_ENTRY_HDR + RAFT_PAD8(len);
	*n_bufs = 1;
	free(p);
	return 0;
}

static int
fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
    unsigned *n_bufs)
{
	for (unsigned i = 0; i < *n_bufs; i++)
		raft_free((*bufs)[i].base);
	raft_free(*bufs);
	*bufs = NULL;
	*n_bufs = 0;
	return 0;
}

static int
fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct nn_raft	*r = fsm->data;
	uint64_t	 len;
	int		 rc = -EBADMSG;

	if (buf->len >= RAFT_ENTRY_HDR &&
	    (len = dfs_le64dec(buf->base)) <= buf->len - RAFT_ENTRY_HDR)
		rc = r->cb.restore(r->cb.arg, (const uint8_t *)buf->base +
		    RAFT_ENTRY_HDR, (size_t)len);
	raft_free(buf->base);
	return rc == 0 ? 0 : RAFT_IOERR;
}

/* ----- the transport ------------------------------------------------------ */

/* Queue a connection for the loop thread and wake it. */
static void
raft_ready_push(struct nn_raft *r, struct raft_ready *c)
{
	pthread_mutex_lock(&r->lock);
	if (r->stopped) {
		/* The loop is gone, and libraft with it: nobody takes it. */
		pthread_mutex_unlock(&r->lock);
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return;
	}
	c->next = r->ready;
	r->ready = c;
	pthread_mutex_unlock(&r->lock);
	uv_async_send(&r->wake);
}

static int
transport_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
	return 0;
}

/* Incoming connections come through nn_raft_serve. */
static int
transport_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	struct nn_raft	*r = t->impl;

	r->accept_cb = cb;
	return 0;
}

struct connect_args {
	struct nn_raft		*r;
	struct raft_ready	*c;
};

/* A peer's pipe: its TLS connection joined to our socketpair end. */
struct pipe_args {
	struct nn_raft		*r;
	struct dfs_sock		*s;
	int			 fd;
};

static void *
pipe_main(void *arg)
{
	struct pipe_args	*p = arg;
	struct nn_raft		*r = p->r;

	dfs_net_pipe(p->s, p->fd, RAFT_PIPE_TIMEOUT_MS);
	close(p->fd);
	dfs_sock_close(p->s);
	free(p);
	pthread_mutex_lock(&r->lock);
	r->pipes--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Start joining s to a new socketpair; the other end, or -1. */
static int
raft_pipe_start(struct nn_raft *r, struct dfs_sock *s)
{
	struct pipe_args	*p;
	pthread_attr_t		 attr;
	pthread_t		 t;
	int			 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		dfs_sock_close(s);
		return -1;
	}
	p = xcalloc(1, sizeof *p);
	p->r = r;
	p->s = s;
	p->fd = sv[1];
	pthread_mutex_lock(&r->lock);
	r->pipes++;
	pthread_mutex_unlock(&r->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, pipe_main, p) != 0) {
		pthread_attr_destroy(&attr);
		pthread_mutex_lock(&r->lock);
		r->pipes--;
		pthread_mutex_unlock(&r->lock);
		close(sv[0]);
		close(sv[1]);
		dfs_sock_close(s);
		free(p);
		return -1;
	}
	pthread_attr_destroy(&attr);
	return sv[0];
}

/* Connect to a peer, say who we are, and hand libraft its stream. */
static void *
connect_main(void *arg)
{
	struct connect_args	*a = arg;
	struct nn_raft		*r = a->r;
	struct raft_ready	*c = a->c;
	struct dfs_sock		*s = NULL;
	struct dfs_frame_hdr	 h;
	struct dfs_wbuf		 b;
	char			*cause = NULL;
	int			 rc;

	free(a);
	dfs_wbuf_init(&b);
	rc = dfs_sock_connect(r->tls, c->addr, DFS_ROLE_NAMENODE,
	    r->conf.timeout_ms, &s, &cause);
	if (rc == 0) {
		dfs_frame_begin(&b, DFS_NN_RAFT_HELLO, 1);
		dfs_put_u64(&b, r->conf.id);
		dfs_put_str(&b, r->conf.address);
		dfs_frame_end(&b);
		if ((rc = dfs_net_send(s, &b, r->conf.timeout_ms)) == 0)
			rc = dfs_net_recv_frame(s, &h, &b,
			    r->conf.timeout_ms, &cause);
		if (rc == 0 && h.type != DFS_MSG_OK)
			rc = -EPROTO;
	}
	if (rc != 0) {
		log_debug("raft: cannot reach member %" PRIu64 " at %s: %s",
		    (uint64_t)c->id, c->addr, cause != NULL ? cause :
		    strerror(-rc));
		dfs_sock_close(s);
		c->fd = -1;
	} else
		c->fd = raft_pipe_start(r, s);
	free(cause);
	dfs_wbuf_release(&b);
	raft_ready_push(r, c);
	pthread_mutex_lock(&r->lock);
	r->pending--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static int
transport_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
    raft_id id, const char *address, raft_uv_connect_cb cb)
{
	struct nn_raft		*r = t->impl;
	struct connect_args	*a;
	struct raft_ready	*c;
	pthread_attr_t		 attr;
	pthread_t		 th;

	req->cb = cb;
	c = xcalloc(1, sizeof *c);
	c->req = req;
	c->id = id;
	snprintf(c->addr, sizeof c->addr, "%s", address);
	a = xcalloc(1, sizeof *a);
	a->r = r;
	a->c = c;
	pthread_mutex_lock(&r->lock);
	r->pending++;
	pthread_mutex_unlock(&r->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, connect_main, a) != 0) {
		pthread_attr_destroy(&attr);
		pthread_mutex_lock(&r->lock);
		r->pending--;
		pthread_mutex_unlock(&r->lock);
		free(a);
		free(c);
		return RAFT_NOCONNECTION;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

static void
transport_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
	struct nn_raft	*r = t->impl;

	pthread_mutex_lock(&r->lock);
	r->tclosed = true;
	pthread_mutex_unlock(&r->lock);
	cb(t);
}

static void
pipe_close_cb(uv_handle_t *h)
{
	free(h);
}

/* On the loop: hand queued connections to libraft (or refuse them). */
static void
raft_hand_ready(struct nn_raft *r)
{
	struct raft_ready	*c, *next;
	uv_pipe_t		*p;
	bool			 closed;

	pthread_mutex_lock(&r->lock);
	c = r->ready;
	r->ready = NULL;
	closed = r->tclosed;
	pthread_mutex_unlock(&r->lock);
	for (; c != NULL; c = next) {
		next = c->next;
		p = NULL;
		if (c->fd >= 0 && !closed) {
			p = xcalloc(1, sizeof *p);
			if (uv_pipe_init(&r->loop, p, 0) != 0 ||
			    uv_pipe_open(p, c->fd) != 0) {
				uv_close((uv_handle_t *)p, pipe_close_cb);
				p = NULL;
			}
		}
		if (p == NULL && c->fd >= 0)
			close(c->fd);
		if (c->req != NULL)
			c->req->cb(c->req, (uv_stream_t *)p, closed ?
			    RAFT_CANCELED : p != NULL ? 0 : RAFT_NOCONNECTION);
		else if (p != NULL && r->accept_cb != NULL)
			r->accept_cb(&r->transport, c->id, c->addr,
			    (uv_stream_t *)p);
		else if (p != NULL)
			uv_close((uv_handle_t *)p, pipe_close_cb);
		free(c);
	}
}

/* ----- the loop ---------------------------------------------------------- */

static void
raft_finish(struct nn_raft *r, struct raft_prop *p, int rc)
{
	pthread_mutex_lock(&r->lock);
	p->rc = rc;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void
apply_cb(struct raft_apply *req, int status, void *result)
{
	struct raft_prop	*p = req->data;

	raft_finish(p->r, p, status == 0 ? 0 : status == RAFT_NOTLEADER ||
	    status == RAFT_LEADERSHIPLOST ? -EREMOTE : -EIO);
}

static void
barrier_cb(struct raft_barrier *req, int status)
{
	struct raft_prop	*p = req->data;

	raft_finish(p->r, p, status == 0 ? 0 : status == RAFT_NOTLEADER ||
	    status == RAFT_LEADERSHIPLOST ? -EREMOTE : -EIO);
}

static void
change_cb(struct raft_change *req, int status)
{
	struct raft_prop	*p = req->data;

	if (status != 0)
		log_warn("raft: membership change for member %" PRIu64
		    " failed: %s", p->member, raft_strerror(status));
	raft_finish(p->r, p, status == 0 ? 0 : status == RAFT_NOTLEADER ||
	    status == RAFT_LEADERSHIPLOST ? -EREMOTE : -EIO);
}

/* Hand a membership change to libraft; its raft_* error. */
static int
raft_change_start(struct nn_raft *r, struct raft_prop *p)
{
	p->creq.data = p;
	switch (p->kind) {
	case PROP_REMOVE:
		return raft_remove(&r->raft, &p->creq, p->member, change_cb);
	case PROP_ADD:
		return raft_add(&r->raft, &p->creq, p->member, p->addr,
		    change_cb);
	default:
		return raft_assign(&r->raft, &p->creq, p->member, RAFT_VOTER,
		    change_cb);
	}
}

/* Refresh the status others read without touching libraft. */
static void
raft_refresh(struct nn_raft *r)
{
	struct nn_raft_status	 st;
	raft_id			 lid = 0;
	const char		*laddr = NULL;

	memset(&st, 0, sizeof st);
	st.role = raft_state(&r->raft) == RAFT_LEADER ? NN_RAFT_LEADER :
	    raft_state(&r->raft) == RAFT_CANDIDATE ? NN_RAFT_CANDIDATE :
	    raft_state(&r->raft) == RAFT_FOLLOWER ? NN_RAFT_FOLLOWER :
	    NN_RAFT_UNAVAILABLE;
	st.term = r->raft.current_term;
	st.applied = raft_last_applied(&r->raft);
	raft_leader(&r->raft, &lid, &laddr);
	st.leader = lid;
	if (laddr != NULL)
		snprintf(st.leader_addr, sizeof st.leader_addr, "%s", laddr);
	pthread_mutex_lock(&r->lock);
	r->st = st;
	pthread_mutex_unlock(&r->lock);
}

static void
timer_cb(uv_timer_t *t)
{
	raft_refresh(t->data);
}

static void
handle_close_cb(uv_handle_t *h)
{
}

static void
raft_closed(struct raft *raft)
{
	struct nn_raft	*r = raft->data;

	raft_uv_close(&r->io);
	uv_close((uv_handle_t *)&r->wake, handle_close_cb);
	uv_close((uv_handle_t *)&r->timer, handle_close_cb);
}

static void
wake_cb(uv_async_t *a)
{
	struct nn_raft		*r = a->data;
	struct raft_prop	*p, *next;
	bool			 stop;
	int			 rc;

	raft_hand_ready(r);
	pthread_mutex_lock(&r->lock);
	p = r->props;
	r->props = NULL;
	stop = r->stopping;
	pthread_mutex_unlock(&r->lock);
	for (; p != NULL; p = next) {
		next = p->next;
		if (stop) {
			raft_free(p->buf.base);	/* (NULL for a barrier) */
			raft_finish(r, p, -ESHUTDOWN);
			continue;
		}
		if (p->kind == PROP_BARRIER) {
			p->breq.data = p;
			if ((rc = raft_barrier(&r->raft, &p->breq,
			    barrier_cb)) != 0)
				raft_finish(r, p, rc == RAFT_NOTLEADER ?
				    -EREMOTE : -EIO);
			continue;
		}
		if (p->kind != PROP_ENTRY) {
			/* Already so: done.  Another change under way:
			 * -EBUSY, to try again. */
			if ((rc = raft_change_start(r, p)) != 0)
				raft_finish(r, p, rc == RAFT_NOTLEADER ?
				    -EREMOTE : rc == RAFT_BADID &&
				    p->kind == PROP_REMOVE ? 0 :
				    rc == RAFT_DUPLICATEID &&
				    p->kind == PROP_ADD ? 0 :
				    rc == RAFT_BADROLE &&
				    p->kind == PROP_VOTER ? 0 :
				    rc == RAFT_CANTCHANGE ? -EBUSY : -EIO);
			continue;
		}
		/* libraft owns the entry's buffer once it took it. */
		p->req.data = p;
		rc = raft_apply(&r->raft, &p->req, &p->buf, 1, apply_cb);
		if (rc != 0) {
			raft_free(p->buf.base);
			raft_finish(r, p, rc == RAFT_NOTLEADER ? -EREMOTE :
			    -EIO);
		}
	}
	raft_refresh(r);
	if (stop && !uv_is_closing((uv_handle_t *)&r->wake)) {
		uv_timer_stop(&r->timer);
		raft_close(&r->raft, raft_closed);
	}
}

static void *
loop_main(void *arg)
{
	struct nn_raft	*r = arg;

	uv_run(&r->loop, UV_RUN_DEFAULT);
	pthread_mutex_lock(&r->lock);
	r->stopped = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ----- the interface ----------------------------------------------------- */

int
nn_raft_start(const struct nn_raft_conf *conf, const struct nn_raft_cb *cb,
    struct dfs_tls *tls, struct nn_raft **out, char **cause)
{
	struct raft_configuration	 c;
	struct nn_raft			*r;
	int				 rc;

	*out = NULL;
	r = xcalloc(1, sizeof *r);
	r->conf = *conf;
	r->cb = *cb;
	r->tls = tls;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if ((rc = uv_loop_init(&r->loop)) != 0) {
		xasprintf(cause, "libuv: %s", uv_strerror(rc));
		free(r);
		return -ENOMEM;
	}
	uv_async_init(&r->loop, &r->wake, wake_cb);
	r->wake.data = r;
	uv_timer_init(&r->loop, &r->timer);
	r->timer.data = r;
	r->transport.impl = r;	/* (data is libraft's) */
	r->transport.init = transport_init;
	r->transport.listen = transport_listen;
	r->transport.connect = transport_connect;
	r->transport.close = transport_close;
	r->fsm.version = 2;
	r->fsm.data = r;
	r->fsm.apply = fsm_apply;
	r->fsm.snapshot = fsm_snapshot;
	r->fsm.snapshot_finalize = fsm_snapshot_finalize;
	r->fsm.restore = fsm_restore;
	if ((rc = raft_uv_init(&r->io, &r->loop, conf->dir,
	    &r->transport)) != 0) {
		xasprintf(cause, "raft: %s: %s", conf->dir, r->io.errmsg);
		goto fail;
	}
	if ((rc = raft_init(&r->raft, &r->io, &r->fsm, conf->id,
	    conf->address)) != 0) {
		xasprintf(cause, "raft: %s", raft_errmsg(&r->raft));
		raft_uv_close(&r->io);
		goto fail;
	}
	r->raft.data = r;
	raft_configuration_init(&c);
	for (unsigned i = 0; i < conf->nmembers; i++)
		raft_configuration_add(&c, conf->ids[i], conf->addrs[i],
		    RAFT_VOTER);
	/* A group's first start; later starts find the log and keep it.
	 * A member joining again starts with nothing: the leader sends it
	 * the configuration with the log. */
	rc = conf->join ? RAFT_CANTBOOTSTRAP : raft_bootstrap(&r->raft, &c);
	raft_configuration_close(&c);
	if (rc != 0 && rc != RAFT_CANTBOOTSTRAP) {
		xasprintf(cause, "raft: bootstrap: %s", raft_errmsg(&r->raft));
		goto fail_raft;
	}
	raft_set_election_timeout(&r->raft, conf->election_ms);
	raft_set_heartbeat_timeout(&r->raft, conf->election_ms / 10);
	/*
	 * Pre-vote: a follower asks whether it could win before it raises
	 * the term.  libraft's followers refuse to vote while they still
	 * have a leader (their own timeout has not run out), so when the
	 * leader dies the first of the two others to time out is refused;
	 * without pre-vote it has voted for itself in the new term by then,
	 * the second is refused in turn, and a third timeout passes before
	 * a leader is elected (bench/failover.sh: pauses of 3.3 s for an
	 * election timeout of 1 s).  With it, the second one's election
	 * wins.  It also keeps a member cut off from the others from
	 * raising the term and unseating the leader when it comes back.
	 */
	raft_set_pre_vote(&r->raft, true);
	if (conf->snapshot_every > 0) {
		raft_set_snapshot_threshold(&r->raft, conf->snapshot_every);
		raft_set_snapshot_trailing(&r->raft, conf->snapshot_trailing);
	}
	if ((rc = raft_start(&r->raft)) != 0) {
		xasprintf(cause, "raft: start: %s", raft_errmsg(&r->raft));
		goto fail_raft;
	}
	uv_timer_start(&r->timer, timer_cb, RAFT_STATUS_MS, RAFT_STATUS_MS);
	if (pthread_create(&r->thread, NULL, loop_main, r) != 0) {
		xasprintf(cause, "cannot start a thread");
		goto fail_raft;
	}
	*out = r;
	return 0;
fail_raft:
	/* Run the loop until libraft has closed. */
	raft_close(&r->raft, raft_closed);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	uv_loop_close(&r->loop);
	free(r);
	return -EIO;
fail:
	uv_close((uv_handle_t *)&r->wake, handle_close_cb);
	uv_close((uv_handle_t *)&r->timer, handle_close_cb);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	uv_loop_close(&r->loop);
	free(r);
	return -EIO;
}

void
nn_raft_stop(struct nn_raft *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_mutex_unlock(&r->lock);
	uv_async_send(&r->wake);
	pthread_join(r->thread, NULL);
	/* Proposals the loop never took. */
	pthread_mutex_lock(&r->lock);
	for (struct raft_prop *p = r->props, *next; p != NULL; p = next) {
		next = p->next;		/* (p is gone once its rc is set) */
		raft_free(p->buf.base);
		p->rc = -ESHUTDOWN;
	}
	r->props = NULL;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	/* Connections in flight end with their peers' sockets. */
	pthread_mutex_lock(&r->lock);
	while (r->pending > 0 || r->pipes > 0) {
		pthread_mutex_unlock(&r->lock);
		raft_hand_ready(r);	/* (closes what came too late) */
		usleep(10 * 1000);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	raft_hand_ready(r);
}

void
nn_raft_free(struct nn_raft *r)
{
	if (r == NULL)
		return;
	uv_loop_close(&r->loop);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
}

/* Queue p for the loop and wait for its end.  0 or -errno. */
static int
raft_submit(struct nn_raft *r, struct raft_prop *p)
{
	int	rc;

	p->r = r;
	p->rc = 1;
	pthread_mutex_lock(&r->lock);
	if (r->stopping) {
		pthread_mutex_unlock(&r->lock);
		raft_free(p->buf.base);
		return -ESHUTDOWN;
	}
	p->next = r->props;
	r->props = p;
	pthread_mutex_unlock(&r->lock);
	uv_async_send(&r->wake);
	/* An entry handed to libraft is its until its callback: wait for
	 * that (a lost quorum ends it when the leader steps down, a stop
	 * with RAFT_SHUTDOWN). */
	pthread_mutex_lock(&r->lock);
	while (p->rc == 1)
		pthread_cond_wait(&r->cond, &r->lock);
	rc = p->rc;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int
nn_raft_propose(struct nn_raft *r, const void *buf, size_t len)
{
	struct raft_prop	 p;

	memset(&p, 0, sizeof p);
	p.buf.len = RAFT_ENTRY_HDR + RAFT_PAD8(len);
	if ((p.buf.base = raft_calloc(1, p.buf.len)) == NULL)
		return -ENOMEM;
	dfs_le64enc(p.buf.base, len);
	memcpy((uint8_t *)p.buf.base + RAFT_ENTRY_HDR, buf, len);
	return raft_submit(r, &p);
}

int
nn_raft_barrier(struct nn_raft *r)
{
	struct raft_prop	 p;

	memset(&p, 0, sizeof p);
	p.kind = PROP_BARRIER;
	return raft_submit(r, &p);
}

int
nn_raft_rejoin(struct nn_raft *r, uint64_t member, const char *address,
    bool add)
{
	struct raft_prop	 p;
	int			 rc;

	memset(&p, 0, sizeof p);
	p.member = member;
	snprintf(p.addr, sizeof p.addr, "%s", address);
	if (!add) {
		p.kind = PROP_REMOVE;
		return raft_submit(r, &p);
	}
	p.kind = PROP_ADD;
	if ((rc = raft_submit(r, &p)) != 0)
		return rc;
	memset(&p, 0, sizeof p);
	p.member = member;
	p.kind = PROP_VOTER;
	return raft_submit(r, &p);
}

void
nn_raft_status(struct nn_raft *r, struct nn_raft_status *st)
{
	pthread_mutex_lock(&r->lock);
	*st = r->st;
	pthread_mutex_unlock(&r->lock);
}

int
nn_raft_hello(struct nn_raft *r, struct dfs_sock *s, uint64_t req_id,
    const void *pl, size_t len)
{
	struct dfs_rbuf	 rb;
	char		 addr[256];
	uint64_t	 id;
	bool		 member = false;

	dfs_rbuf_init(&rb, pl, len);
	id = dfs_get_u64(&rb);
	dfs_get_strbuf(&rb, addr, sizeof addr);
	if (dfs_rbuf_done(&rb) != 0) {
		dfs_net_send_error(s, req_id, -EBADMSG, "malformed RAFT_HELLO");
		return -EBADMSG;
	}
	/* Only another namenode of the group takes part in its log. */
	if (dfs_sock_peer(s)->role != DFS_ROLE_NAMENODE) {
		log_warn("raft: RAFT_HELLO from %s (%s), not a namenode",
		    dfs_sock_addr(s), dfs_sock_peer(s)->name);
		dfs_net_send_error(s, req_id, -EACCES, "only a namenode's "
		    "certificate may join the group's log");
		return -EACCES;
	}
	for (unsigned i = 0; i < r->conf.nmembers; i++)
		if (r->conf.ids[i] == id && id != r->conf.id)
			member = true;
	if (!member) {
		log_warn("raft: RAFT_HELLO from %s claims member %" PRIu64
		    ", not another member of this group", dfs_sock_addr(s),
		    id);
		dfs_net_send_error(s, req_id, -EACCES, "member %" PRIu64
		    " is not another member of this group", id);
		return -EACCES;
	}
	if (dfs_net_send_ok(s, req_id) != 0)
		return -ECONNRESET;
	return nn_raft_serve(r, s, id, addr);
}

int
nn_raft_serve(struct nn_raft *r, struct dfs_sock *s, uint64_t id,
    const char *address)
{
	struct raft_ready	*c;
	int			 sv[2];

	/* Counted as a pipe, so nn_raft_stop waits for it to end. */
	pthread_mutex_lock(&r->lock);
	if (r->stopping) {
		pthread_mutex_unlock(&r->lock);
		return -ESHUTDOWN;
	}
	r->pipes++;
	pthread_mutex_unlock(&r->lock);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		sv[0] = -errno;
		goto out;
	}
	c = xcalloc(1, sizeof *c);
	c->id = id;
	snprintf(c->addr, sizeof c->addr, "%s", address);
	c->fd = sv[0];
	raft_ready_push(r, c);
	dfs_net_pipe(s, sv[1], RAFT_PIPE_TIMEOUT_MS);
	close(sv[1]);
	sv[0] = 0;
out:
	pthread_mutex_lock(&r->lock);
	r->pipes--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return sv[0];
}
