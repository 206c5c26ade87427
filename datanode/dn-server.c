/*
 * dn-server.c: the data node's listener, its connections, and READ.
 *
 * Why it is built this way.  One detached thread per connection with
 * blocking sockets and deadlines (lib/net.c): a connection carries one
 * long transfer at a time (a block being written or read), so a thread
 * that simply loops read-verify-send is the clearest code and, on these
 * machines, moves data at memory and loopback speed.  The number of
 * connections is capped, in all and per source address and certificate
 * name (lib/connlimit.c, counted before a thread is started), and each
 * keeps its buffers for its whole life, so a busy node allocates nothing
 * per request; a buffer grows only as payload bytes arrive, so a length
 * announced and never sent costs little.  Every frame is validated
 * before it is used: a header that does not decode gets an ERROR and the
 * connection is closed (the stream can no longer be trusted), a payload
 * that does not decode gets an ERROR and the connection goes on.
 *
 * Like the namenode (nn-server.c), a request's type is looked up in one
 * table, which also serves the Unix socket of short-circuit reads
 * (dn-local.c), and its handler is called with a struct dn_req (dn_i.h).
 * Handlers stream their own answers (DATA frames, acks), but never send
 * an ERROR: they return a negative errno with a cause, and
 * dn_server_dispatch alone sends it (with the refusing node for a
 * pipeline opener), so every refusal is decided, logged and answered in
 * one place.
 *
 * A READ is served in DATA frames of up to 1 MiB, each starting on a
 * chunk boundary and carrying the stored CRCs of its chunks.  The bytes
 * are read with pread into the connection's reused frame buffer and
 * checked against those CRCs in the same pass before they are sent
 * (MEASUREMENTS.md: pread into a reused buffer beats mmap here, and
 * first-touch of fresh memory is slow), so a node never sends a byte that
 * fails its checksum; a mismatch ends the read with an ERROR and the
 * replica is reported to the namenode as bad.
 *
 * LOCAL_WHERE tells a client on this machine where the node's Unix socket
 * for short-circuit reads is (dn-local.c); the token check behind READ is
 * dn_token_check (dn-token.c), shared with that socket's LOCAL_OPEN.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connlimit.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

#include "dn_i.h"
#include "dn_local.h"

struct dn_server {
	struct dn	*dn;
	int		 listen_fd;
	pthread_t	 accept_thread;
	pthread_mutex_t	 lock;		/* guards conns and nconns */
	pthread_cond_t	 cond;		/* a connection ended */
	int		 conns[DN_MAX_CONNS];	/* fds, -1 when free */
	int		 nconns;
	int64_t		 full_ms;	/* last "already open" line */
	struct dfs_connlimit *limits;	/* per address and identity */
};

/* One client connection, owned by its thread. */
struct server_conn {
	struct dn	*dn;
	int		 fd;		/* until the handshake */
	struct dfs_sock	*s;		/* after it */
	int		 slot;
	struct dfs_conntick tick;	/* counted per address, identity */
	char		 peer[80];
	struct dfs_wbuf	 in;		/* a received frame, header first */
	struct dfs_wbuf	 out;		/* replies and DATA frames */
};

/*
 * Receive one frame into buf with its 24-byte header first, so a frame
 * can be forwarded down a pipeline unchanged in one send.  Errors as
 * dfs_net_recv_frame: -ENOTCONN for a clean end of stream, a header
 * error (-EPROTO, -EPROTONOSUPPORT, -EMSGSIZE) with h decoded as far as
 * it goes, or a transport error.
 */
int
dn_recv_frame(struct dfs_sock *s, struct dfs_frame_hdr *h,
    struct dfs_wbuf *buf, int timeout_ms, char **cause)
{
	uint8_t	 hdr[DFS_WIRE_HDR_LEN];
	int	 rc;

	dfs_wbuf_reset(buf);
	memset(h, 0, sizeof *h);
	if ((rc = dfs_net_read_all(s, hdr, sizeof hdr, timeout_ms)) != 0) {
		if (cause != NULL && rc != -ENOTCONN)
			xasprintf(cause, "receiving a frame: %s",
			    strerror(-rc));
		return rc;
	}
	if ((rc = dfs_frame_hdr_decode(hdr, sizeof hdr, h, cause)) != 0)
		return rc;
	memcpy(dfs_wbuf_reserve(buf, sizeof hdr), hdr, sizeof hdr);
	/* The payload grows the buffer only as it arrives (lib/net.c). */
	if ((rc = dfs_net_read_grow(s, buf, h->len, timeout_ms,
	    false)) != 0) {
		if (rc == -ENOTCONN)
			rc = -ECONNRESET;
		if (cause != NULL)
			xasprintf(cause, "receiving a %u-byte payload: %s",
			    h->len, strerror(-rc));
		return rc;
	}
	return 0;
}

/*
 * Before closing after an error: stop sending, then read and drop what
 * the peer still sends for a moment, so our last frame is not lost to a
 * reset caused by unread data (the "lingering close").
 */
void
dn_close_graceful(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		buf[65536];
	int64_t		deadline = dfs_now_ms() + 2000;
	size_t		total = 0;
	ssize_t		n;

	shutdown(fd, SHUT_WR);
	while (total < (64U << 20)) {
		int64_t left = deadline - dfs_now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
		if (n > 0)
			total += n;
	}
}

/* HELLO: say who we are; a peer of another version is told and dropped. */
static int
server_hello(struct dn_req *req, char **cause)
{
	struct dfs_rbuf	r;
	char		who[256];
	uint16_t	ver;

	dfs_rbuf_init(&r, req->pl, req->h->len);
	ver = dfs_get_u16(&r);
	dfs_get_strbuf(&r, who, sizeof who);
	if (dfs_rbuf_done(&r) != 0) {
		xasprintf(cause, "malformed HELLO request");
		return -EBADMSG;
	}
	if (ver != DFS_WIRE_VERSION) {
		xasprintf(cause, "protocol version %u not supported (this is "
		    "%u)", ver, DFS_WIRE_VERSION);
		req->close = true;
		return -EPROTONOSUPPORT;
	}
	dfs_wbuf_reset(req->out);
	dfs_frame_begin(req->out, DFS_MSG_HELLO, req->h->req_id);
	dfs_put_u16(req->out, DFS_WIRE_VERSION);
	dfs_put_str(req->out, DN_PROG " " PACKAGE_VERSION);
	dfs_frame_end(req->out);
	return dn_server_send(req);
}

/*
 * Build one DATA frame in c->out for [pos, pos + n) of the replica, its
 * bytes read and verified in place.  0, or the store's error.
 */
static int
server_data_frame(struct dn_req *req, struct dn_rfile *rf, uint64_t pos,
    size_t n, char **cause)
{
	uint32_t	chunk = dn_rfile_block(rf)->chunk_size;
	uint32_t	nch = (uint32_t)((n + chunk - 1) / chunk);
	size_t		crc_off, data_off;
	uint8_t		*base;

	dfs_wbuf_reset(req->out);
	dfs_frame_begin(req->out, DFS_DX_DATA, req->h->req_id);
	dfs_put_u64(req->out, pos);
	dfs_put_u32(req->out, chunk);
	dfs_put_u32(req->out, nch);
	crc_off = req->out->len;
	dfs_wbuf_reserve(req->out, 4 * (size_t)nch);
	dfs_put_u32(req->out, (uint32_t)n);
	data_off = req->out->len;
	dfs_wbuf_reserve(req->out, n);
	dfs_frame_end(req->out);
	base = req->out->data;
	return dn_rfile_read(rf, pos, n, base + data_off, base + crc_off,
	    cause);
}

/*
 * LOCAL_WHERE: where this node's local socket is, and who this node is,
 * so a client on this machine can read replicas short-circuit and make
 * sure it reached the same node there.
 */
static int
server_local_where(struct dn_req *req, char **cause)
{
	const char	*path = dn_local_path(req->dn);

	if (req->h->len != 0) {
		xasprintf(cause, "malformed LOCAL_WHERE request");
		return -EBADMSG;
	}
	if (path == NULL) {
		xasprintf(cause, "this data node has no local socket "
		    "(datanode.local_socket is empty)");
		return -EOPNOTSUPP;
	}
	dfs_wbuf_reset(req->out);
	dfs_frame_begin(req->out, DFS_DX_LOCAL_HERE, req->h->req_id);
	dfs_put_str(req->out, dn_store_uuid(req->dn->store));
	dfs_put_str(req->out, path);
	dfs_frame_end(req->out);
	return dn_server_send(req);
}

/* A PACKET belongs to the WRITE that dn-write.c is receiving. */
static int
server_packet(struct dn_req *req, char **cause)
{
	(void)req;
	xasprintf(cause, "PACKET outside a WRITE");
	return -EPROTO;
}

#define DN_READ_AHEAD	(8U << 20)	/* after a bulk read's range */

/*
 * READ: token, block, generation, range; DATA frames, then an empty DATA.
 * 0 when all was sent, or an errno with the cause for the ERROR (which
 * may follow DATA frames: the reader sees where the stream broke).
 */
static int
server_read(struct dn_req *req, char **cause)
{
	struct dn		*dn = req->dn;
	struct dfs_rbuf		 r;
	struct dfs_token	 tok;
	struct dn_rfile		*rf = NULL;
	const struct dn_block	*b;
	dfs_block_id		 block;
	uint64_t		 gen, off, len, end, pos, maxd;
	int			 rc = 0;

	dfs_rbuf_init(&r, req->pl, req->h->len);
	dfs_proto_get_token(&r, &tok);
	block = dfs_get_u64(&r);
	gen = dfs_get_u64(&r);
	off = dfs_get_u64(&r);
	len = dfs_get_u64(&r);
	if (dfs_rbuf_done(&r) != 0) {
		xasprintf(cause, "malformed READ request");
		return -EBADMSG;
	}
	if (dn_token_check(req, &tok, block, gen, DFS_TOKEN_READ,
	    NULL, cause) != 0) {
		log_warn("READ of block %" PRIu64 " from %s refused: %s", block,
		    req->peer, *cause);
		return -EACCES;
	}
	if ((rc = dn_store_open_replica(dn->store, block, gen, &rf,
	    cause)) != 0) {
		if (rc == -EIO)
			dn_nn_bad_block(dn->nn, block, gen, *cause);
		goto out;
	}
	atomic_fetch_add(&dn->xfers, 1);
	b = dn_rfile_block(rf);
	if (off > b->len) {
		xasprintf(cause, "offset %" PRIu64 " is beyond the end of "
		    "block %" PRIu64 " (%" PRIu64 " bytes)", off, block,
		    b->len);
		rc = -EINVAL;
		goto done;
	}
	end = len > b->len - off ? b->len : off + len;
	pos = off - off % b->chunk_size;
	maxd = (DFS_MAX_PACKET / b->chunk_size) * b->chunk_size;
	/* This range and, for a bulk reader (dfs get asks 4 MiB at a time)
	 * that will likely go on through the block, the next DN_READ_AHEAD
	 * bytes: the disk works while we send.  Small reads (the mount's
	 * page-sized ones) get no more than they asked for. */
	dn_rfile_prefetch(rf, pos, end - pos +
	    (end - pos >= DFS_MAX_PACKET ? DN_READ_AHEAD : 0));
	while (pos < end) {
		uint64_t n = end - pos < maxd ? end - pos : maxd;
		n = (n + b->chunk_size - 1) / b->chunk_size * b->chunk_size;
		if (n > b->len - pos)
			n = b->len - pos;
		if ((rc = server_data_frame(req, rf, pos, n, cause)) ==
		    -ESTALE) {
			/* A PATCH (dn-patch.c): no fault of the replica's. */
			log_info("READ of block %" PRIu64 " for %s: %s", block,
			    req->peer, *cause);
			goto done;
		}
		if (rc != 0) {
			log_err("READ of block %" PRIu64 " for %s: %s", block,
			    req->peer, *cause);
			if (rc == -EBADMSG || rc == -EIO)
				dn_nn_bad_block(dn->nn, block, gen, *cause);
			rc = -EIO;
			goto done;
		}
		if ((rc = dn_server_send(req)) != 0)
			goto done;
		pos += n;
	}
	/* The end: no data, at a chunk-aligned offset like every DATA. */
	dfs_wbuf_reset(req->out);
	dfs_frame_begin(req->out, DFS_DX_DATA, req->h->req_id);
	dfs_put_u64(req->out, pos - pos % b->chunk_size);
	dfs_put_u32(req->out, b->chunk_size);
	dfs_put_u32(req->out, 0);
	dfs_put_u32(req->out, 0);
	dfs_frame_end(req->out);
	rc = dn_server_send(req);
	log_debug("READ block %" PRIu64 " [%" PRIu64 ", %" PRIu64 ") for %s",
	    block, off, end, req->peer);
done:
	atomic_fetch_sub(&dn->xfers, 1);
out:
	dn_rfile_free(rf);
	return rc;
}

/*
 * Every request type a data node serves, its handler, and where: on the
 * TCP port, or on the Unix socket of short-circuit reads (dn-local.c),
 * which serves LOCAL_OPEN alone.  DN_PIPELINE marks the pipeline's
 * openers, whose ERROR also names the node that refused (proto.h), so a
 * writer knows whom to leave out.
 */
#define DN_TCP		0x1
#define DN_LOCAL	0x2
#define DN_PIPELINE	0x4
static const struct {
	uint16_t	type;
	dn_handler	fn;
	int		flags;
} server_table[] = {
	{ DFS_MSG_HELLO, server_hello, DN_TCP },
	{ DFS_DX_READ, server_read, DN_TCP },
	{ DFS_DX_WRITE, dn_write_op_write, DN_TCP | DN_PIPELINE },
	{ DFS_DX_RESUME, dn_write_op_write, DN_TCP | DN_PIPELINE },
	{ DFS_DX_REDUCE, dn_reduce_op_reduce, DN_TCP },
	{ DFS_DX_PATCH, dn_patch_op_patch, DN_TCP },
	{ DFS_DX_LOCAL_WHERE, server_local_where, DN_TCP },
	{ DFS_DX_LOCAL_OPEN, dn_local_op_open, DN_LOCAL },
	{ DFS_DX_PACKET, server_packet, DN_TCP },
};

/* The handler of a message type, or NULL; *flags gets its flags. */
static dn_handler
server_lookup(uint16_t type, int *flags)
{
	for (size_t i = 0; i < sizeof server_table / sizeof server_table[0];
	    i++)
		if (server_table[i].type == type) {
			*flags = server_table[i].flags;
			return server_table[i].fn;
		}
	return NULL;
}

/*
 * Send req->out, built by a handler.  On failure the peer can be told
 * nothing more: the connection ends without an ERROR.
 */
int
dn_server_send(struct dn_req *req)
{
	int	rc;

	if ((rc = dfs_net_send(req->s, req->out, req->dn->timeout_ms)) != 0)
		req->hangup = true;
	return rc;
}

#define DN_ERROR_SEND_MS	5000	/* as lib/net.c's ERROR replies */

/*
 * The one ERROR a refused request gets: the errno and the cause and, for
 * a pipeline opener, the node that refused.  0 or the send's error.
 */
static int
server_refuse(struct dn_req *req, int flags, int err, const char *cause)
{
	dfs_wbuf_reset(req->out);
	dfs_frame_begin(req->out, DFS_MSG_ERROR, req->h->req_id);
	dfs_put_i32(req->out, err);
	dfs_put_str(req->out, cause != NULL ? cause : strerror(-err));
	if (flags & DN_PIPELINE)
		dfs_put_u32(req->out, req->failed);
	dfs_frame_end(req->out);
	return dfs_net_send(req->s, req->out, DN_ERROR_SEND_MS);
}

/*
 * Why a request of this type is not served on this socket (local: the
 * Unix one).  Caller frees.
 */
static char *
server_misplaced(uint16_t type, dn_handler fn, bool local)
{
	char	*why;

	if (local)
		xasprintf(&why, "message type %u (%s) is not served on the "
		    "local socket (only LOCAL_OPEN is)", type,
		    dfs_msg_name(type));
	else if (fn != NULL)
		xasprintf(&why, "%s is served on the local socket only",
		    dfs_msg_name(type));
	else if (strcmp(dfs_msg_name(type), "UNKNOWN") == 0)
		xasprintf(&why, "unknown message type %u", type);
	else
		xasprintf(&why, "%s is not a data node request",
		    dfs_msg_name(type));
	return why;
}

/*
 * Serve one request, from the TCP port or (local) the Unix socket: look
 * its handler up, call it, send the ERROR when it refused.  0 to go on,
 * negative to close the connection.
 */
int
dn_server_dispatch(struct dn_req *req, bool local)
{
	const struct dfs_frame_hdr	*h = req->h;
	dn_handler			 fn;
	char				*cause = NULL;
	int				 flags = 0, rc, sent;

	fn = server_lookup(h->type, &flags);
	if (fn != NULL && (flags & (local ? DN_LOCAL : DN_TCP)))
		rc = fn(req, &cause);
	else {
		cause = server_misplaced(h->type, fn, local);
		rc = fn != NULL && !local ? -EPROTO : -ENOSYS;
		flags = 0;
	}
	if (rc == 0 || req->hangup)
		goto out;
	if (rc > 0 || rc < -4095)
		rc = -EIO;
	log_debug("%s from %s failed: %s", dfs_msg_name(h->type), req->peer,
	    cause != NULL ? cause : strerror(-rc));
	if ((sent = server_refuse(req, flags, rc, cause)) != 0)
		rc = sent;
	else if (!req->close)
		rc = 0;
out:
	free(cause);
	return rc;
}

/* A connection's thread: requests one after another until it ends. */
static void *
server_conn_main(void *arg)
{
	struct server_conn	*c = arg;
	struct dn_server	*s = c->dn->server;
	struct dfs_frame_hdr	 h;
	struct dn_req		 req;
	char			*cause = NULL;
	int			 rc;

	rc = dfs_sock_accept(c->dn->tls, c->fd, DFS_TLS_HANDSHAKE_MS, &c->s,
	    &cause);
	if (rc != 0) {
		dfs_connlimit_failed(s->limits, &c->tick, cause);
		free(cause);
		goto out;
	}
	if (dfs_connlimit_identify(s->limits, &c->tick,
	    dfs_sock_peer(c->s)->name) != 0) {
		dfs_net_send_error(c->s, 0, -EBUSY, "too many connections "
		    "with this certificate (net.max_conns_per_identity)");
		goto out;
	}
	for (;;) {
		rc = dn_recv_frame(c->s, &h, &c->in, DN_IDLE_MS, &cause);
		if (rc == -EPROTONOSUPPORT) {
			log_warn("%s: %s", c->peer, cause);
			dfs_net_send_error(c->s, h.req_id, rc, "protocol "
			    "version %u not supported (this is %u)", h.version,
			    DFS_WIRE_VERSION);
		} else if (rc == -EPROTO || rc == -EMSGSIZE) {
			log_warn("%s: %s", c->peer, cause);
			dfs_net_send_error(c->s, h.req_id, rc, "%s", cause);
		} else if (rc != 0 && rc != -ENOTCONN)
			log_debug("%s: %s", c->peer, cause);
		free(cause);
		cause = NULL;
		if (rc != 0)
			break;
		if (dfs_sock_recheck(c->s, c->dn->tls, &cause) != 0) {
			log_warn("closing the connection of %s (%s): %s",
			    c->peer, dfs_sock_peer(c->s)->name, cause);
			dfs_net_send_error(c->s, h.req_id, -EACCES, "%s",
			    cause);
			free(cause);
			cause = NULL;
			break;
		}
		memset(&req, 0, sizeof req);
		req.dn = c->dn;
		req.s = c->s;
		req.peer = c->peer;
		req.h = &h;
		req.pl = c->in.data + DFS_WIRE_HDR_LEN;
		req.in = &c->in;
		req.out = &c->out;
		if ((rc = dn_server_dispatch(&req, false)) != 0)
			break;
	}
	if (rc != -ENOTCONN)
		dn_close_graceful(c->fd);
out:
	/* Everything of s first: once nconns says this thread is gone,
	 * dn_server_stop may free s. */
	dfs_connlimit_release(s->limits, &c->tick);
	pthread_mutex_lock(&s->lock);
	s->conns[c->slot] = -1;
	s->nconns--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	dfs_sock_close(c->s);	/* (the handshake closed fd if it failed) */
	dfs_wbuf_release(&c->in);
	dfs_wbuf_release(&c->out);
	free(c);
	return NULL;
}

/* Hand an accepted socket to a new thread, or refuse it when full. */
static void
server_take(struct dn_server *s, int fd)
{
	struct server_conn	*c;
	pthread_attr_t		 attr;
	pthread_t		 t;
	struct dfs_conntick	 tick;
	int			 one = 1, sz = 4 << 20, slot = -1;

	/* Per address first: one peer over its cap costs an accept and a
	 * close, and never a slot of the global cap. */
	if (dfs_connlimit_admit(s->limits, fd, &tick) != 0) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	pthread_mutex_lock(&s->lock);
	if (s->nconns < DN_MAX_CONNS) {
		for (slot = 0; s->conns[slot] >= 0; slot++)
			;
		s->conns[slot] = fd;
		s->nconns++;
	}
	if (slot < 0 && dfs_now_ms() - s->full_ms >= 10000) {
		s->full_ms = dfs_now_ms();
		log_warn("refusing connections: %d already open",
		    DN_MAX_CONNS);
	}
	pthread_mutex_unlock(&s->lock);
	if (slot < 0) {
		dfs_connlimit_release(s->limits, &tick);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->dn = s->dn;
	c->fd = fd;
	c->slot = slot;
	c->tick = tick;
	dfs_net_peer_addr(fd, c->peer, sizeof c->peer);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, server_conn_main, c) != 0) {
		log_err("cannot start a thread for %s", c->peer);
		pthread_mutex_lock(&s->lock);
		s->conns[slot] = -1;
		s->nconns--;
		pthread_mutex_unlock(&s->lock);
		dfs_connlimit_release(s->limits, &c->tick);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

/* The accept thread, until dn_server_stop shuts the listener down. */
static void *
server_accept_main(void *arg)
{
	struct dn_server	*s = arg;
	struct pollfd		 pfd = { .fd = s->listen_fd, .events = POLLIN };
	int64_t			 reloaded = 0;
	int			 fd;

	while (!atomic_load(&s->dn->stopping)) {
		/* A revoked certificate is refused within about a second,
		 * whether or not the namenode is reachable. */
		dfs_tls_tick(s->dn->tls, &reloaded);
		if (poll(&pfd, 1, 1000) == 0)
			continue;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			server_take(s, fd);
			continue;
		}
		if (atomic_load(&s->dn->stopping))
			break;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		log_warn("accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == ENOBUFS)
			usleep(100 * 1000);
		else if (errno == EINVAL || errno == EBADF)
			break;
	}
	return NULL;
}

/* Start accepting on listen_fd, which the server now owns. */
int
dn_server_start(struct dn *dn, int listen_fd, char **cause)
{
	struct dn_server	*s;

	s = xcalloc(1, sizeof *s);
	s->dn = dn;
	s->listen_fd = listen_fd;
	pthread_mutex_init(&s->lock, NULL);
	dfs_cond_init(&s->cond);
	s->limits = dfs_connlimit_create(dn->cfg, "data node");
	for (int i = 0; i < DN_MAX_CONNS; i++)
		s->conns[i] = -1;
	dn->server = s;
	if (pthread_create(&s->accept_thread, NULL, server_accept_main,
	    s) != 0) {
		xasprintf(cause, "cannot start the accept thread");
		dn->server = NULL;
		dfs_connlimit_free(s->limits);
		free(s);
		return -EAGAIN;
	}
	return 0;
}

/*
 * Stop: close the listener, cut every connection (a write in progress is
 * discarded, its temp files removed by its thread), and wait a moment
 * for the threads to finish.  dn->stopping is already set.
 */
void
dn_server_stop(struct dn *dn)
{
	struct dn_server	*s = dn->server;
	int64_t			 deadline;
	int			 left;

	if (s == NULL)
		return;
	shutdown(s->listen_fd, SHUT_RDWR);
	pthread_join(s->accept_thread, NULL);
	close(s->listen_fd);
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < DN_MAX_CONNS; i++)
		if (s->conns[i] >= 0)
			shutdown(s->conns[i], SHUT_RDWR);
	deadline = dfs_now_ms() + 5000;
	while (s->nconns > 0)
		if (dfs_cond_wait_until(&s->cond, &s->lock, deadline) != 0)
			break;
	left = s->nconns;
	pthread_mutex_unlock(&s->lock);
	if (left > 0)
		log_warn("%d connection%s still open at exit", left,
		    left == 1 ? "" : "s");
	/* Threads still running keep using s: leave it allocated. */
	if (left == 0) {
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->cond);
		dfs_connlimit_free(s->limits);
		free(s);
		dn->server = NULL;
	}
}
