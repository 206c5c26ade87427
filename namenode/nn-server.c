/*
 * nn-server.c: the namenode's listener, its connection threads and the
 * dispatch of each request to the file that owns the operation.
 *
 * Why it is built this way: a blocking thread per connection (detached,
 * at most NN_MAX_CONNS) is the simplest server that cannot be stalled by
 * one slow peer, and every operation ends in the one namenode lock anyway
 * (nn-db.c), so an event loop would buy nothing.  So that one peer cannot
 * take every thread, the accept loop counts each socket against its
 * source address before it starts one, and the thread counts it against
 * the certificate's name after the handshake (lib/connlimit.c).  A connection thread
 * reads a frame (the header is validated before the payload, whose length
 * is bounded: wire.c), looks its type up in one table, checks the peer's
 * role and calls the handler, which decodes the payload with the
 * sticky-error reader, enters what the table says it needs (the lock, a
 * transaction), does its work and either builds its reply or returns a
 * negative errno with a message for the user; the dispatch then commits
 * or rolls back, unlocks and replies, in one place.  A malformed payload costs
 * the peer an ERROR reply, a malformed header its connection; neither
 * costs the namenode anything.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connlimit.h"
#include "log.h"
#include "net.h"
#include "nn_i.h"
#include "xmalloc.h"

struct nn_conn {
	struct nn	*nn;
	int		 fd;		/* until the handshake */
	struct dfs_sock	*s;		/* after it */
	struct nn_peer	 peer;
	struct dfs_conntick tick;	/* counted per address and identity */
};

static int	nn_server_hello(struct nn_req *);

/*
 * Every request type, its handler, what the handler needs around its work
 * and the role a peer must hold to send it: one place, redis's call(),
 * that takes the lock and the transaction and checks the caller, so the
 * handlers keep only their decoding, their work and their reply.
 *
 * NN_WRITES marks those that change the namespace or the block map: safe
 * mode refuses them (nn-place.c), so a namenode that has not yet heard
 * from its data nodes never decides on a half-known block map.  Data node
 * traffic and lease renewal (which only delays recovery) are not marked.
 * NN_LOCK and NN_TXN: see nn_i.h; a handler decodes its payload first,
 * outside the lock, then calls nn_server_enter().  The role is checked
 * before the handler runs (nn_server_permitted).
 *
 * Where a handler keeps part of its locking, and why:
 * - COMPLETE (NN_LOCK, no NN_TXN) waits on a condition variable
 *   (replica_added) for the data nodes' RECEIVED, which lets the lock go
 *   while it waits; its transaction is begun after the wait, by itself;
 * - FSCK and VERIFY walk the namespace a page per request, so one request
 *   is one short critical section, and the pager is the client;
 * - HEARTBEAT, STAT, LIST, GET_BLOCKS, READLINK, FSCK, REPORT and STATFS
 *   only read (or, HEARTBEAT, update the in-memory live tables, statement
 *   by statement): the lock, no transaction;
 * - BLOCK_REPORT is one part of a report per frame, so one transaction
 *   per part: the lock is never held for a whole report;
 * - HELLO touches no shared state.
 */
#define NN_READ		NN_LOCK			/* under the lock */
#define NN_UPDATE	(NN_LOCK | NN_TXN)	/* in one transaction */
#define NN_CHANGE	(NN_WRITES | NN_UPDATE)	/* and not in safe mode */
typedef int (*nn_handler)(struct nn_req *);
static const struct nn_server_entry {
	uint16_t	type;
	nn_handler	fn;
	int		flags;
	int		role;
} nn_server_table[] = {
	{ DFS_MSG_HELLO, nn_server_hello, 0, NN_ROLE_ANY },
	{ DFS_NN_MKDIR, nn_meta_op_mkdir, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_STAT, nn_meta_op_stat, NN_READ, NN_ROLE_CLIENT },
	{ DFS_NN_LIST, nn_meta_op_list, NN_READ, NN_ROLE_CLIENT },
	{ DFS_NN_CREATE, nn_meta_op_create, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_ADD_BLOCK, nn_write_op_add_block, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_COMPLETE, nn_write_op_complete, NN_WRITES | NN_LOCK,
	    NN_ROLE_CLIENT },
	{ DFS_NN_ABANDON, nn_write_op_abandon, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_GET_BLOCKS, nn_blockmap_op_get_blocks, NN_READ,
	    NN_ROLE_CLIENT },
	{ DFS_NN_RENAME, nn_meta_op_rename, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_DELETE, nn_meta_op_delete, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_SET_REPL, nn_meta_op_set_repl, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_FSCK, nn_fsck_op_fsck, NN_READ, NN_ROLE_CLIENT },
	{ DFS_NN_REPORT, nn_fsck_op_report, NN_READ, NN_ROLE_CLIENT },
	/* From a reader who found a bad replica, or a data node. */
	{ DFS_NN_BAD_BLOCK, nn_corrupt_op_bad_block, NN_UPDATE,
	    NN_ROLE_CLIENT | NN_ROLE_DATANODE },
	{ DFS_DN_REGISTER, nn_datanodes_op_register, NN_UPDATE,
	    NN_ROLE_DATANODE },
	{ DFS_DN_HEARTBEAT, nn_datanodes_op_heartbeat, NN_READ,
	    NN_ROLE_DATANODE },
	{ DFS_DN_BLOCK_REPORT, nn_blockmap_op_block_report, NN_UPDATE,
	    NN_ROLE_DATANODE },
	{ DFS_DN_RECEIVED, nn_blockmap_op_received, NN_UPDATE,
	    NN_ROLE_DATANODE },
	{ DFS_NN_SETATTR, nn_meta_op_setattr, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_STATFS, nn_fsck_op_statfs, NN_READ, NN_ROLE_CLIENT },
	{ DFS_NN_UNLINK, nn_meta_op_unlink, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_SYMLINK, nn_meta_op_symlink, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_READLINK, nn_meta_op_readlink, NN_READ, NN_ROLE_CLIENT },
	{ DFS_NN_UPDATE_PIPELINE, nn_write_op_update_pipeline, NN_CHANGE,
	    NN_ROLE_CLIENT },
	{ DFS_NN_RENEW_LEASE, nn_write_op_renew_lease, NN_UPDATE,
	    NN_ROLE_CLIENT },
	{ DFS_NN_PATCH_BLOCK, nn_patch_op_patch_block, NN_CHANGE,
	    NN_ROLE_CLIENT },
	{ DFS_NN_HARDLINK, nn_meta_op_hardlink, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_NN_MKNOD, nn_meta_op_mknod, NN_CHANGE, NN_ROLE_CLIENT },
	{ DFS_DN_VERIFIED, nn_corrupt_op_verified, NN_UPDATE,
	    NN_ROLE_DATANODE },
	{ DFS_NN_VERIFY, nn_fsck_op_verify, NN_UPDATE, NN_ROLE_CLIENT },
	/* Waits for the disk outside the namenode lock (nn-sync.c). */
	{ DFS_NN_SYNC, nn_sync_op_sync, 0, NN_ROLE_CLIENT },
	/* Releases may reclaim an orphan: a transaction; renewals go on in
	 * safe mode (nn-hold.c). */
	{ DFS_NN_HOLDS, nn_hold_op_holds, NN_UPDATE, NN_ROLE_CLIENT },
	/* A connection's own credential: no shared state (nn-perm.c). */
	{ DFS_NN_ACT_AS, nn_perm_op_act_as, 0, NN_ROLE_CLIENT },
	{ DFS_NN_WHOAMI, nn_perm_op_whoami, 0, NN_ROLE_ANY },
	/* Any member answers: where clients find the leader (nn-group.c). */
	{ DFS_NN_GROUP_STATUS, nn_group_op_status, 0, NN_ROLE_ANY },
	/* A member coming back (dfs-namenode --join): the leader only;
	 * they wait for the log outside the lock. */
	{ DFS_NN_GROUP_JOIN, nn_group_op_join, 0, NN_ROLE_NAMENODE },
	{ DFS_NN_GROUP_DB, nn_group_op_db, 0, NN_ROLE_NAMENODE },
	/* The balancer's state is in memory; its moves are queued by the
	 * monitor's pass (nn-balance.c). */
	{ DFS_NN_BALANCE, nn_balance_op_balance, NN_LOCK, NN_ROLE_CLIENT },
};

/* Nanoseconds since the epoch: file times and leases. */
int64_t
nn_wall_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Begin the reply frame of type; its fields go into the returned buffer.
 * Borrowed.  A handler that begins no reply answers OK. */
struct dfs_wbuf *
nn_server_reply(struct nn_req *req, uint16_t type)
{
	dfs_wbuf_reset(req->out);
	dfs_frame_begin(req->out, type, req->req_id);
	req->replied = true;
	req->reply_type = type;
	return req->out;
}

/* A handler's check once it has read every field: -EBADMSG when the
 * payload was short, long or bad. */
int
nn_server_decoded(struct nn_req *req)
{
	if (dfs_rbuf_done(&req->in) == 0)
		return 0;
	return nn_server_fail(req, -EBADMSG, "malformed %s request",
	    dfs_msg_name(req->type));
}

/* Fail the request with err and a message for the user; returns err. */
int
nn_server_fail(struct nn_req *req, int err, const char *fmt, ...)
{
	va_list	ap;

	free(req->cause);
	va_start(ap, fmt);
	if (vasprintf(&req->cause, fmt, ap) < 0)
		req->cause = NULL;
	va_end(ap);
	return err;
}

/* HELLO: the peer's protocol version must be ours. */
static int
nn_server_hello(struct nn_req *req)
{
	uint16_t	 version;
	char		*who;
	struct dfs_wbuf	*b;

	version = dfs_get_u16(&req->in);
	who = dfs_get_strdup(&req->in, DFS_WIRE_MAX_STR);
	if (nn_server_decoded(req) != 0) {
		free(who);
		return -EBADMSG;
	}
	if (version != DFS_WIRE_VERSION) {
		free(who);
		return nn_server_fail(req, -EPROTONOSUPPORT, "protocol version "
		    "%u not supported (this is %u)", version,
		    DFS_WIRE_VERSION);
	}
	log_debug("hello from %.100s", who);
	free(who);
	b = nn_server_reply(req, DFS_MSG_HELLO);
	dfs_put_u16(b, DFS_WIRE_VERSION);
	dfs_put_str(b, NN_NAME " " PACKAGE_VERSION);
	return 0;
}

/* Take what the request's table entry says its handler needs: the lock,
 * then the transaction.  Called once by a handler, after decoding; the
 * server releases both when the handler returns (nn_server_leave). */
int
nn_server_enter(struct nn_req *req)
{
	int	rc;

	/* In a batch (nn-batch.c) its runner holds the lock and the
	 * transaction, this request's savepoint begun. */
	if (req->batched) {
		req->in_txn = (req->flags & NN_TXN) != 0;
		return req->in_txn ? nn_once_lookup(req) : 0;
	}
	if (req->flags & NN_LOCK) {
		pthread_mutex_lock(&req->nn->lock);
		req->locked = true;
	}
	if (req->flags & NN_TXN) {
		if ((rc = nn_db_begin(req->nn)) != 0)
			return rc;
		if (req->discard)
			nn_group_discard(req->nn);
		req->in_txn = true;
		/* A retry of a request answered already runs nothing. */
		if ((rc = nn_once_lookup(req)) != 0)
			return rc;
	}
	return 0;
}

/* Commit (rc 0) or roll back what nn_server_enter() began, and unlock.
 * Returns rc, or the commit's error; a failed request sends no reply. */
static int
nn_server_leave(struct nn_req *req, int rc)
{
	if (req->in_txn && rc == 0)
		rc = nn_once_record(req);
	if (req->in_txn)
		rc = nn_db_end(req->nn, rc);
	if (req->locked)
		pthread_mutex_unlock(&req->nn->lock);
	req->in_txn = req->locked = false;
	if (rc != 0)
		req->replied = false;
	return rc;
}

/* Whether any member of a group answers type, the leader or not. */
static bool
nn_server_any_member(uint16_t type)
{
	return type == DFS_MSG_HELLO || type == DFS_NN_WHOAMI ||
	    type == DFS_NN_ACT_AS || type == DFS_NN_GROUP_STATUS;
}

/* The table entry of a message type, or NULL. */
static const struct nn_server_entry *
nn_server_lookup(uint16_t type)
{
	for (size_t i = 0; i < sizeof nn_server_table /
	    sizeof nn_server_table[0]; i++)
		if (nn_server_table[i].type == type)
			return &nn_server_table[i];
	return NULL;
}

/* May a peer holding roles send a message of type?  0, -ENOSYS for an
 * unknown type or -EACCES; *flags gets the entry's NN_* flags. */
int
nn_server_permitted(uint16_t type, int roles, int *flags)
{
	const struct nn_server_entry	*e;

	if ((e = nn_server_lookup(type)) == NULL)
		return -ENOSYS;
	*flags = e->flags;
	/* An entry names the roles that may send it: any one will do. */
	if (e->role != NN_ROLE_ANY && (e->role & roles) == 0)
		return -EACCES;
	return 0;
}

/*
 * A peer as every connection starts today: no authenticated identity, so
 * every role, and namespace requests act as the superuser (what they did
 * before there were credentials).  addr may be NULL.
 */
void
nn_server_peer_init(struct nn_peer *p, const char *addr)
{
	memset(p, 0, sizeof *p);
	p->roles = NN_ROLES_UNAUTHENTICATED;
	p->id.role = DFS_ROLE_NONE;
	p->cred.super = true;
	p->cred.who = p->id.name;
	snprintf(p->addr, sizeof p->addr, "%s", addr != NULL ? addr : "?");
}

/*
 * A peer as its certificate says: data nodes may send data node
 * messages; users, hosts and the superuser namespace requests, as the
 * credential the certificate carries (a host's acts as nobody until it
 * says for whom it acts; a namenode's is for the namenode group to come).
 */
void
nn_server_peer_from(struct nn_peer *p, const struct dfs_identity *id,
    const char *addr)
{
	nn_server_peer_init(p, addr);
	p->id = *id;
	p->roles = 0;
	p->cred.super = false;
	p->cred.uid = p->cred.gid = NN_NOBODY;
	switch (id->role) {
	case DFS_ROLE_DATANODE:
		p->roles = NN_ROLE_DATANODE;
		break;
	case DFS_ROLE_NAMENODE:
		p->roles = NN_ROLE_NAMENODE;
		break;
	case DFS_ROLE_SUPERUSER:
		p->cred.super = true;
		/* FALLTHROUGH */
	case DFS_ROLE_USER:
		p->cred.uid = id->uid;
		p->cred.gid = id->gid;
		p->cred.ngroups = (uint32_t)id->ngroups;
		memcpy(p->cred.groups, id->groups,
		    id->ngroups * sizeof id->groups[0]);
		/* FALLTHROUGH */
	case DFS_ROLE_HOST:
		p->roles = NN_ROLE_CLIENT;
		break;
	default:
		break;
	}
}

/* Serve one request from peer; a non-zero return closes the connection. */
int
nn_server_dispatch(struct nn *nn, struct dfs_sock *s, struct nn_peer *peer,
    const struct dfs_frame_hdr *h, const struct dfs_wbuf *in,
    struct dfs_wbuf *out)
{
	struct nn_req	 req;
	int		 rc;

	memset(&req, 0, sizeof req);
	req.nn = nn;
	req.peer = peer;
	req.type = h->type;
	req.req_id = h->req_id;
	req.out = out;
	dfs_rbuf_init(&req.in, in->data, h->len);
	/* ONCE wraps a request that must apply once (nn-once.c): from here
	 * on it is that request, with its client's pair. */
	if (h->type == DFS_NN_ONCE && nn_once_unwrap(&req, &req.type) != 0)
		rc = nn_server_fail(&req, -EBADMSG, "malformed ONCE request");
	else
		rc = nn_server_permitted(req.type, peer->roles, &req.flags);
	if (rc == -EBADMSG)
		;	/* a bad wrapper, said above */
	else if (rc == -ENOSYS)
		nn_server_fail(&req, rc, "unknown message type %u", req.type);
	else if (rc == -EACCES) {
		int need = nn_server_lookup(req.type)->role;
		const char *only = need == NN_ROLE_DATANODE ? "data nodes" :
		    need == NN_ROLE_CLIENT ? "clients" :
		    need == NN_ROLE_NAMENODE ? "the group's namenodes" :
		    "clients and data nodes";
		log_warn("refused %s from %s (%s, a %s certificate): it is for "
		    "%s only", dfs_msg_name(req.type), peer->addr,
		    peer->id.name[0] != '\0' ? peer->id.name : "-",
		    peer->id.role != DFS_ROLE_NONE ?
		    dfs_pki_role_name(peer->id.role) : "no", only);
		nn_server_fail(&req, rc, "%s is for %s only",
		    dfs_msg_name(req.type), only);
	} else if (nn->group != NULL && !nn_server_any_member(req.type) &&
	    !nn_group_serving(nn)) {
		/* In a group only the leader serves (nn-group.c). */
		rc = -EREMOTE;
		req.cause = nn_group_redirect(nn);
	} else if ((req.flags & NN_WRITES) &&
	    (rc = nn_place_safemode_refuse(&req)) != 0)
		;	/* read-only until the block map is known */
	else {
		/* A client's change is rolled back and made real by its
		 * entry; a data node's keeps its live part (nn-group.c). */
		if (nn->group != NULL && (req.flags & NN_TXN) &&
		    (nn_server_lookup(req.type)->role & NN_ROLE_DATANODE) == 0)
			req.discard = true;
		/* A group's namespace changes share entries (nn-batch.c). */
		if (req.discard && nn_batch_accepts(req.type))
			rc = nn_batch_run(nn, &req,
			    nn_server_lookup(req.type)->fn, false);
		else
			rc = nn_server_leave(&req,
			    nn_server_lookup(req.type)->fn(&req));
		if (rc == -EALREADY && req.once_found) {
			rc = 0;		/* a retry: the first answer */
			nn_once_reply(&req);
		}
		/* namenode.sync = always: on disk before it is answered,
		 * outside the lock (nn-sync.c). */
		if (rc == 0 && (req.flags & (NN_TXN | NN_WRITES)) &&
		    (rc = nn_sync_ack(nn)) != 0) {
			req.replied = false;
			free(req.cause);
			xasprintf(&req.cause, "the change was made, but the "
			    "namenode cannot sync it to disk (see its log)");
		}
		if (rc == -EREMOTE && nn->group != NULL &&
		    req.cause == NULL)
			req.cause = nn_group_redirect(nn);
	}
	nn_audit_req(&req, rc > 0 || rc < -4095 ? -EIO : rc);
	if (rc != 0) {
		if (rc > 0 || rc < -4095)
			rc = -EIO;
		log_debug("%s failed: %s", dfs_msg_name(req.type),
		    req.cause != NULL ? req.cause : strerror(-rc));
		/* A message quoting a long path must still decode. */
		if (req.cause != NULL && strlen(req.cause) > NN_MAX_MESSAGE)
			strcpy(req.cause + NN_MAX_MESSAGE - 3, "...");
		rc = dfs_net_send_error(s, h->req_id, rc, "%s",
		    req.cause != NULL ? req.cause : strerror(-rc));
	} else if (!req.replied)
		rc = dfs_net_send_ok(s, h->req_id);
	else {
		dfs_frame_end(out);
		rc = dfs_net_send(s, out, NN_SEND_TIMEOUT_MS);
	}
	free(req.cause);
	free(req.once_reply);
	free(req.audit_src);
	free(req.audit_dst);
	if (rc != 0)
		log_debug("reply to %s: %s", dfs_msg_name(req.type),
		    strerror(-rc));
	return rc;
}

/* A connection thread: the handshake, then frames in and replies out
 * until the peer goes (or its certificate is revoked). */
static void *
nn_server_conn(void *arg)
{
	struct nn_conn		*c = arg;
	struct nn		*nn = c->nn;
	struct dfs_frame_hdr	 h;
	struct dfs_wbuf		 in, out;
	char			*cause = NULL;
	int			 rc;

	dfs_wbuf_init(&in);
	dfs_wbuf_init(&out);
	rc = dfs_sock_accept(nn->tls, c->fd, DFS_TLS_HANDSHAKE_MS, &c->s,
	    &cause);
	if (rc != 0) {
		dfs_connlimit_failed(nn->limits, &c->tick, cause);
		free(cause);
		goto out;
	}
	if (dfs_connlimit_identify(nn->limits, &c->tick,
	    dfs_sock_peer(c->s)->name) != 0) {
		dfs_net_send_error(c->s, 0, -EBUSY, "too many connections "
		    "with this certificate (net.max_conns_per_identity)");
		goto out;
	}
	nn_server_peer_from(&c->peer, dfs_sock_peer(c->s),
	    dfs_sock_addr(c->s));
	while (!atomic_load(&nn->stopping)) {
		cause = NULL;
		rc = dfs_net_recv_frame(c->s, &h, &in, NN_CLIENT_IDLE_MS,
		    &cause);
		if (rc == -EPROTO || rc == -EPROTONOSUPPORT ||
		    rc == -EMSGSIZE) {
			/* The stream cannot be trusted past a bad header. */
			log_info("closing a connection: %s", cause);
			dfs_net_send_error(c->s, h.req_id, rc, "%s", cause);
			free(cause);
			break;
		}
		if (rc != 0) {
			if (rc != -ENOTCONN)
				log_debug("closing a connection: %s",
				    cause != NULL ? cause : strerror(-rc));
			free(cause);
			break;
		}
		free(cause);
		cause = NULL;
		if (dfs_sock_recheck(c->s, nn->tls, &cause) != 0) {
			log_warn("closing the connection of %s (%s): %s",
			    c->peer.addr, c->peer.id.name, cause);
			dfs_net_send_error(c->s, h.req_id, -EACCES, "%s",
			    cause);
			free(cause);
			break;
		}
		/* A member of the group: the connection is the log's now. */
		if (h.type == DFS_NN_RAFT_HELLO) {
			nn_group_hello(nn, c->s, h.req_id, in.data, h.len);
			break;
		}
		if (nn_server_dispatch(nn, c->s, &c->peer, &h, &in, &out) != 0)
			break;
		/* Do not keep a 4 MiB buffer for an idle connection. */
		if (in.cap > (1U << 20)) {
			dfs_wbuf_release(&in);
			dfs_wbuf_init(&in);
		}
		if (out.cap > (1U << 20)) {
			dfs_wbuf_release(&out);
			dfs_wbuf_init(&out);
		}
	}
out:
	dfs_sock_close(c->s);	/* (the handshake closed fd if it failed) */
	dfs_wbuf_release(&in);
	dfs_wbuf_release(&out);
	dfs_connlimit_release(nn->limits, &c->tick);
	free(c);
	atomic_fetch_sub(&nn->nconns, 1);
	return NULL;
}

/* Say the global cap is reached, at most once every ten seconds. */
static void
nn_server_full(int64_t *last)
{
	if (*last != 0 && dfs_now_ms() - *last < 10000)
		return;
	*last = dfs_now_ms();
	log_warn("refusing connections: %d already open", NN_MAX_CONNS);
}

/* The accept loop; polls so a stop is noticed within half a second. */
static void *
nn_server_accept(void *arg)
{
	struct nn	*nn = arg;
	pthread_attr_t	 attr;
	int64_t		 reloaded = dfs_now_ms(), full_ms = 0;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	while (!atomic_load(&nn->stopping)) {
		struct pollfd	 pfd = { nn->listen_fd, POLLIN, 0 };
		struct nn_conn	*c;
		pthread_t	 t;
		int		 fd;

		dfs_tls_tick(nn->tls, &reloaded);
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		fd = accept4(nn->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED) {
				log_warn("accept: %s", strerror(errno));
				usleep(100 * 1000);	/* e.g. EMFILE */
			}
			continue;
		}
		c = xcalloc(1, sizeof *c);
		/* Per address first: one peer over its cap costs an
		 * accept and a close, and never a slot of the global cap. */
		if (dfs_connlimit_admit(nn->limits, fd, &c->tick) != 0) {
			close(fd);
			free(c);
			continue;
		}
		if (atomic_fetch_add(&nn->nconns, 1) >= NN_MAX_CONNS) {
			atomic_fetch_sub(&nn->nconns, 1);
			nn_server_full(&full_ms);
			dfs_connlimit_release(nn->limits, &c->tick);
			close(fd);
			free(c);
			continue;
		}
		c->nn = nn;
		c->fd = fd;
		if (pthread_create(&t, &attr, nn_server_conn, c) != 0) {
			log_warn("cannot start a connection thread");
			dfs_connlimit_release(nn->limits, &c->tick);
			close(fd);
			free(c);
			atomic_fetch_sub(&nn->nconns, 1);
		}
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

/* Start accepting on nn->listen_fd (already bound and listening). */
int
nn_server_start(struct nn *nn, char **cause)
{
	if (pthread_create(&nn->acceptor, NULL, nn_server_accept, nn) != 0) {
		if (cause != NULL)
			xasprintf(cause, "cannot start the accept thread");
		return -EAGAIN;
	}
	return 0;
}

/* Stop accepting and close the listener.  Connection threads are left to
 * find the stop flag (or the process exit). */
void
nn_server_stop(struct nn *nn)
{
	atomic_store(&nn->stopping, true);
	pthread_join(nn->acceptor, NULL);
	close(nn->listen_fd);
	nn->listen_fd = -1;
}
