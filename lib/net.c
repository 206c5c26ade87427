/*
 * net.c: blocking TCP with deadlines.
 *
 * npdfs servers use a thread per connection with blocking sockets: simpler
 * than an event loop and, on loopback here, fast enough to move data at
 * memory speed.  Every read and write waits at most a timeout (poll before
 * each system call), so a stopped peer costs a bounded stall, never a hang.
 * A frame is received in two steps: the fixed header is read and validated
 * (wire.c) before the payload, whose length is bounded, is read into a
 * buffer that the connection reuses and that grows only as the payload
 * arrives (dfs_net_read_grow).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "clock.h"
#include "proto.h"
#include "sock_i.h"
#include "xmalloc.h"

/* Split "host:port" ("[v6]:port" too).  Host may be empty (any address). */
int
dfs_hostport_split(const char *addr, char *host, size_t hostcap,
    uint16_t *port, char **cause)
{
	const char	*colon, *h = addr;
	size_t		 hlen;
	char		*end;
	unsigned long	 p;

	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');
		if (rb == NULL || rb[1] != ':')
			goto bad;
		h = addr + 1;
		hlen = rb - h;
		colon = rb + 1;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			goto bad;
		hlen = colon - addr;
	}
	if (hlen >= hostcap)
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p > 65535)
		goto bad;
	*port = (uint16_t)p;
	return 0;
bad:
	if (cause != NULL)
		xasprintf(cause, "bad address '%s': expected HOST:PORT", addr);
	return -EINVAL;
}

static int
net_resolve(const char *addr, bool passive, struct addrinfo **res,
    char **cause)
{
	char		host[256], port[8];
	uint16_t	p;
	struct addrinfo	hints;
	int		rc;

	if ((rc = dfs_hostport_split(addr, host, sizeof host, &p, cause)) != 0)
		return rc;
	snprintf(port, sizeof port, "%u", p);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	if ((rc = getaddrinfo(host[0] == '\0' ? NULL : host, port, &hints,
	    res)) != 0) {
		if (cause != NULL)
			xasprintf(cause, "cannot resolve '%s': %s", addr,
			    gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	return 0;
}

/* Listen on addr ("127.0.0.1:0" picks a free port). */
int
dfs_net_listen(const char *addr, int *fdp, char **cause)
{
	struct addrinfo	*res = NULL;
	int		 fd = -1, rc, one = 1;

	if ((rc = net_resolve(addr, true, &res, cause)) != 0)
		return rc;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, 512) != 0) {
		rc = -errno;
		goto fail;
	}
	freeaddrinfo(res);
	*fdp = fd;
	return 0;
fail:
	if (cause != NULL)
		xasprintf(cause, "cannot listen on %s: %s", addr,
		    strerror(-rc));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

int
dfs_net_local_port(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}

/* Wait until fd is ready for events or the deadline (dfs_now_ms) passes:
 * 0, -ETIMEDOUT or -errno. */
int
dfs_net_wait(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = events };
	int		n;

	for (;;) {
		int64_t left = deadline - dfs_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static void
net_tune(int fd)
{
	int	one = 1, sz = 4 << 20;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

/* Connect within timeout_ms, trying each address the name resolves to. */
int
dfs_net_connect(const char *addr, int timeout_ms, int *fdp, char **cause)
{
	struct addrinfo	*res = NULL, *ai;
	int		 fd = -1, rc, err = 0;
	socklen_t	 elen = sizeof err;
	int64_t		 deadline = dfs_now_ms() + timeout_ms;

	if ((rc = net_resolve(addr, false, &res, cause)) != 0)
		return rc;
	rc = -ECONNREFUSED;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				rc = -errno;
				goto next;
			}
			if ((rc = dfs_net_wait(fd, POLLOUT, deadline)) != 0)
				goto next;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
			if (err != 0) {
				rc = -err;
				goto next;
			}
		}
		net_tune(fd);
		freeaddrinfo(res);
		*fdp = fd;
		return 0;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (cause != NULL)
		xasprintf(cause, "cannot connect to %s: %s", addr,
		    strerror(-rc));
	return rc;
}

/* The peer's address of a socket as "host:port" (or "?"). */
void
dfs_net_peer_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof ss;
	char			 host[INET6_ADDRSTRLEN];

	snprintf(buf, len, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (ss.ss_family == AF_UNIX)
		snprintf(buf, len, "local");
}

/*
 * Write through the authenticated record layer (sock-mac.c), each frame
 * header in the buffer a record of its own and its payload another: the
 * reader asks for exactly those, so each arrives proven straight into its
 * buffer.  Bytes that do not start a frame (a payload sent on its own)
 * are one record.
 */
static int
net_mac_write(struct dfs_sock *s, const void *buf, size_t len, int timeout_ms)
{
	struct dfs_sock_mac	*m = dfs_sock_mac(s);
	struct dfs_frame_hdr	 h;
	const uint8_t		*p = buf;
	size_t			 n;
	int			 rc;

	while (len > 0) {
		n = len;
		if (len >= DFS_WIRE_HDR_LEN &&
		    dfs_frame_hdr_decode(p, DFS_WIRE_HDR_LEN, &h, NULL) == 0) {
			if ((rc = dfs_sock_mac_write(m, dfs_sock_fd(s), p,
			    DFS_WIRE_HDR_LEN, timeout_ms)) != 0)
				return rc;
			p += DFS_WIRE_HDR_LEN;
			len -= DFS_WIRE_HDR_LEN;
			n = h.len < len ? h.len : len;
			if (n == 0)
				continue;
		}
		if ((rc = dfs_sock_mac_write(m, dfs_sock_fd(s), p, n,
		    timeout_ms)) != 0)
			return rc;
		p += n;
		len -= n;
	}
	return 0;
}

/* Write all bytes before the deadline. */
int
dfs_net_write_all(struct dfs_sock *s, const void *buf, size_t len,
    int timeout_ms)
{
	const uint8_t	*p = buf;
	int64_t		 deadline = dfs_now_ms() + timeout_ms;
	ssize_t		 n;
	short		 want;
	int		 rc;

	if (dfs_sock_mac(s) != NULL)
		return net_mac_write(s, buf, len, timeout_ms);
	while (len > 0) {
		n = dfs_sock_write_some(s, p, len, &want);
		if (n == -EAGAIN) {
			if ((rc = dfs_sock_poll(s, want, deadline)) != 0)
				return rc;
			continue;
		}
		if (n < 0)
			return (int)n;
		p += n;
		len -= n;
	}
	return dfs_sock_flush(s, deadline);
}

/*
 * Read exactly len bytes before the deadline, or, when idle, before the
 * peer has been silent for timeout_ms (each byte received moves the
 * deadline on).  End of stream before the first byte is -ENOTCONN (the
 * peer closed between frames); after it, -ECONNRESET (the peer died
 * mid-frame).
 */
static int
net_read(struct dfs_sock *s, void *buf, size_t len, int timeout_ms,
    bool idle)
{
	uint8_t	*p = buf;
	size_t	 got = 0;
	int64_t	 deadline = dfs_now_ms() + timeout_ms;
	ssize_t	 n;
	short	 want;
	int	 rc;

	if (dfs_sock_mac(s) != NULL)
		return dfs_sock_mac_read(dfs_sock_mac(s), dfs_sock_fd(s), buf,
		    len, timeout_ms, idle);
	while (got < len) {
		n = dfs_sock_read_some(s, p + got, len - got, &want);
		if (n == -EAGAIN) {
			if ((rc = dfs_sock_poll(s, want, deadline)) != 0)
				return rc;
			continue;
		}
		if (n == 0)
			return got == 0 ? -ENOTCONN : -ECONNRESET;
		if (n < 0)
			return (int)n;
		got += n;
		if (idle)
			deadline = dfs_now_ms() + timeout_ms;
	}
	return 0;
}

/*
 * The same on a plain local socket given by its descriptor (the
 * short-circuit Unix socket, which carries descriptors beside frames).
 */
int
dfs_net_write_fd(int fd, const void *buf, size_t len, int timeout_ms)
{
	const uint8_t	*p = buf;
	int64_t		 deadline = dfs_now_ms() + timeout_ms;
	ssize_t		 n;
	int		 rc;

	while (len > 0) {
		if ((rc = dfs_net_wait(fd, POLLOUT, deadline)) != 0)
			return rc;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int
dfs_net_read_fd(int fd, void *buf, size_t len, int timeout_ms)
{
	uint8_t	*p = buf;
	size_t	 got = 0;
	int64_t	 deadline = dfs_now_ms() + timeout_ms;
	ssize_t	 n;
	int	 rc;

	while (got < len) {
		if ((rc = dfs_net_wait(fd, POLLIN, deadline)) != 0)
			return rc;
		n = recv(fd, p + got, len - got, MSG_DONTWAIT);
		if (n == 0)
			return got == 0 ? -ENOTCONN : -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		got += n;
	}
	return 0;
}

/* Read exactly len bytes before the deadline (see net_read). */
int
dfs_net_read_all(struct dfs_sock *s, void *buf, size_t len, int timeout_ms)
{
	return net_read(s, buf, len, timeout_ms, false);
}

#define NET_GROW_MIN	(64U << 10)	/* the first step of a new buffer */

/*
 * Append len bytes to buf, read as net_read does, growing buf only as
 * the bytes arrive: a peer that announces 4 MiB and sends nothing costs
 * the first 64 KiB step, not 4 MiB.  Each step is at least what has
 * arrived so far (doubling), so a big payload on a new buffer is copied
 * by realloc about once in all; a buffer already big enough (the
 * connection reuses it) is read into directly, the fast path.
 */
int
dfs_net_read_grow(struct dfs_sock *s, struct dfs_wbuf *buf, size_t len,
    int timeout_ms, bool idle)
{
	size_t	 start = buf->len, got = 0, room, step;
	int64_t	 deadline = dfs_now_ms() + timeout_ms;
	ssize_t	 n;
	short	 want;
	int	 rc;

	/* Authenticated records (sock-mac.c) are proven whole before a byte
	 * is handed over, so they are read whole, from a peer that both
	 * showed its certificate and asked for plain data. */
	if (dfs_sock_mac(s) != NULL) {
		rc = net_read(s, dfs_wbuf_reserve(buf, len), len, timeout_ms,
		    idle);
		buf->len = rc == 0 ? start + len : start;
		return rc;
	}
	while (got < len) {
		room = buf->cap - start - got;
		if (room == 0) {
			step = got > NET_GROW_MIN ? got : NET_GROW_MIN;
			if (step > len - got)
				step = len - got;
			buf->len = start + got;
			dfs_wbuf_reserve(buf, step);	/* grows cap */
			room = buf->cap - start - got;
		}
		if (room > len - got)
			room = len - got;
		n = dfs_sock_read_some(s, buf->data + start + got, room, &want);
		if (n == -EAGAIN) {
			if ((rc = dfs_sock_poll(s, want, deadline)) != 0)
				goto fail;
			continue;
		}
		if (n == 0) {
			rc = got == 0 ? -ENOTCONN : -ECONNRESET;
			goto fail;
		}
		if (n < 0) {
			rc = (int)n;
			goto fail;
		}
		got += n;
		if (idle)
			deadline = dfs_now_ms() + timeout_ms;
	}
	buf->len = start + len;
	return 0;
fail:
	buf->len = start;
	return rc;
}

/* Why a read failed, in words: TLS's own for a protocol error. */
static const char *
net_why(struct dfs_sock *s, int rc)
{
	if (rc == -EPROTO && dfs_sock_error(s)[0] != '\0')
		return dfs_sock_error(s);
	return strerror(-rc);
}

static int
net_recv_frame(struct dfs_sock *s, struct dfs_frame_hdr *h,
    struct dfs_wbuf *buf, int timeout_ms, bool idle, char **cause)
{
	uint8_t	hdr[DFS_WIRE_HDR_LEN];
	int	rc;

	dfs_wbuf_reset(buf);
	if ((rc = net_read(s, hdr, sizeof hdr, timeout_ms, idle)) != 0) {
		if (cause != NULL && rc != -ENOTCONN)
			xasprintf(cause, "receiving a frame: %s",
			    net_why(s, rc));
		return rc;
	}
	if ((rc = dfs_frame_hdr_decode(hdr, sizeof hdr, h, cause)) != 0)
		return rc;
	if ((rc = dfs_net_read_grow(s, buf, h->len, timeout_ms, idle)) != 0) {
		if (rc == -ENOTCONN)
			rc = -ECONNRESET;
		if (cause != NULL)
			xasprintf(cause, "receiving a %u-byte payload: %s",
			    h->len, net_why(s, rc));
		return rc;
	}
	return 0;
}

/* Receive one frame: validated header into h, payload into buf (reset). */
int
dfs_net_recv_frame(struct dfs_sock *s, struct dfs_frame_hdr *h,
    struct dfs_wbuf *buf, int timeout_ms, char **cause)
{
	return net_recv_frame(s, h, buf, timeout_ms, false, cause);
}

/*
 * Receive one frame from a peer that must never fall silent for more than
 * idle_ms: -ETIMEDOUT once it has sent nothing for that long, however
 * long the whole frame takes.
 */
int
dfs_net_recv_frame_idle(struct dfs_sock *s, struct dfs_frame_hdr *h,
    struct dfs_wbuf *buf, int idle_ms, char **cause)
{
	return net_recv_frame(s, h, buf, idle_ms, true, cause);
}

int
dfs_net_send(struct dfs_sock *s, const struct dfs_wbuf *b, int timeout_ms)
{
	return dfs_net_write_all(s, b->data, b->len, timeout_ms);
}

/* Reply with an error: a negative errno and a message for the user. */
int
dfs_net_send_error(struct dfs_sock *s, uint64_t req_id, int err,
    const char *fmt, ...)
{
	struct dfs_wbuf	 b;
	char		*msg;
	va_list		 ap;
	int		 rc;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	dfs_wbuf_init(&b);
	dfs_frame_begin(&b, DFS_MSG_ERROR, req_id);
	dfs_put_i32(&b, err > 0 ? -err : err);
	dfs_put_str(&b, msg == NULL ? "" : msg);
	dfs_frame_end(&b);
	rc = dfs_net_send(s, &b, 5000);
	dfs_wbuf_release(&b);
	free(msg);
	return rc;
}

int
dfs_net_send_ok(struct dfs_sock *s, uint64_t req_id)
{
	uint8_t			hdr[DFS_WIRE_HDR_LEN];
	struct dfs_frame_hdr	h = {
		.version = DFS_WIRE_VERSION, .type = DFS_MSG_OK,
		.req_id = req_id
	};

	dfs_frame_hdr_encode(&h, hdr);
	return dfs_net_write_all(s, hdr, sizeof hdr, 5000);
}

/* Connect and exchange HELLO, so a version mismatch is caught at once. */
int
dfs_conn_open(struct dfs_tls *tls, const char *addr, enum dfs_role want,
    int timeout_ms, struct dfs_conn **cp, char **cause)
{
	struct dfs_sock	*s;
	int		 rc;

	*cp = NULL;
	if ((rc = dfs_sock_connect(tls, addr, want, timeout_ms, &s,
	    cause)) != 0)
		return rc;
	return dfs_conn_wrap(s, addr, timeout_ms, cp, cause);
}

/*
 * A connection over s, whose handshake is done, after the HELLO that
 * checks the versions; the connection owns s, even on failure.  For
 * callers that made the socket themselves (bench/nn-bench's simulated
 * data nodes, each from its own loopback address).
 */
int
dfs_conn_wrap(struct dfs_sock *s, const char *addr, int timeout_ms,
    struct dfs_conn **cp, char **cause)
{
	struct dfs_conn	*c;
	struct dfs_wbuf	*b;
	struct dfs_rbuf	 r;
	int		 rc;

	*cp = NULL;
	c = xcalloc(1, sizeof *c);
	c->s = s;
	c->timeout_ms = timeout_ms;
	c->next_id = 1;
	c->peer = xstrdup(addr);
	b = dfs_conn_begin(c, DFS_MSG_HELLO);
	dfs_put_u16(b, DFS_WIRE_VERSION);
	dfs_put_str(b, "npdfs " PACKAGE_VERSION);
	if ((rc = dfs_conn_call(c, DFS_MSG_HELLO, &r, cause)) != 0) {
		dfs_conn_free(c);
		return rc;
	}
	*cp = c;
	return 0;
}

void
dfs_conn_free(struct dfs_conn *c)
{
	if (c == NULL)
		return;
	dfs_sock_close(c->s);
	dfs_wbuf_release(&c->out);
	dfs_wbuf_release(&c->in);
	free(c->peer);
	free(c);
}

/* Start a request; append its fields to the returned buffer.  Borrowed. */
struct dfs_wbuf *
dfs_conn_begin(struct dfs_conn *c, uint16_t type)
{
	dfs_wbuf_reset(&c->out);
	dfs_frame_begin(&c->out, type, c->next_id++);
	return &c->out;
}

/* Send the request built since dfs_conn_begin. */
int
dfs_conn_send(struct dfs_conn *c, char **cause)
{
	int	rc;

	dfs_frame_end(&c->out);
	if ((rc = dfs_net_send(c->s, &c->out, c->timeout_ms)) != 0 &&
	    cause != NULL)
		xasprintf(cause, "sending to %s: %s", c->peer, strerror(-rc));
	return rc;
}

/*
 * Receive one reply.  An ERROR reply becomes its errno with its message in
 * *cause; a reply of another type than expected is -EPROTO.  The reader
 * borrows the connection's buffer until the next call.
 */
int
dfs_conn_recv(struct dfs_conn *c, uint16_t expect, struct dfs_rbuf *r,
    char **cause)
{
	char	*why = NULL;
	int	 rc;

	rc = dfs_net_recv_frame(c->s, &c->reply, &c->in, c->timeout_ms, &why);
	if (rc != 0) {
		if (rc == -ENOTCONN)
			rc = -ECONNRESET;
		if (cause != NULL)
			xasprintf(cause, "%s: %s", c->peer, why != NULL ? why :
			    "connection closed");
		free(why);
		return rc;
	}
	dfs_rbuf_init(r, c->in.data, c->reply.len);
	if (c->reply.type == DFS_MSG_ERROR) {
		int32_t err = dfs_get_i32(r);
		char *msg = dfs_get_strdup(r, DFS_WIRE_MAX_STR);
		if (r->err != 0 || err >= 0 || err < -4095)
			err = -EPROTO;
		if (cause != NULL)
			*cause = msg != NULL ? msg : xstrdup(strerror(-err));
		else
			free(msg);
		return err;
	}
	if (c->reply.type != expect) {
		if (cause != NULL)
			xasprintf(cause, "%s answered %s where %s was expected",
			    c->peer, dfs_msg_name(c->reply.type),
			    dfs_msg_name(expect));
		return -EPROTO;
	}
	return 0;
}

int
dfs_conn_call(struct dfs_conn *c, uint16_t expect, struct dfs_rbuf *r,
    char **cause)
{
	int	rc;

	if ((rc = dfs_conn_send(c, cause)) != 0)
		return rc;
	return dfs_conn_recv(c, expect, r, cause);
}

/* All of buf onto a plain descriptor: 0 or -errno. */
static int
net_fd_write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

struct net_pipe_out {
	struct dfs_sock	*s;
	int		 fd;
	int		 timeout_ms;
};

/* dfs_net_pipe's second half: fd's bytes onto the connection. */
static void *
net_pipe_out_main(void *arg)
{
	struct net_pipe_out	*o = arg;
	uint8_t			 buf[16384];
	ssize_t			 n;

	for (;;) {
		n = read(o->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || dfs_net_write_all(o->s, buf, (size_t)n,
		    o->timeout_ms) != 0)
			break;
	}
	dfs_sock_shutdown(o->s);	/* and the other half stops */
	return NULL;
}

int
dfs_net_pipe(struct dfs_sock *s, int fd, int timeout_ms)
{
	struct net_pipe_out	 o = { s, fd, timeout_ms };
	pthread_t		 t;
	uint8_t			 buf[16384];
	ssize_t			 n;
	short			 want;
	int			 rc = 0;

	if (pthread_create(&t, NULL, net_pipe_out_main, &o) != 0)
		return -EAGAIN;
	for (;;) {
		if ((rc = dfs_sock_wait_readable(s, 1000)) < 0)
			break;
		if (rc == 0)
			continue;
		n = dfs_sock_read_some(s, buf, sizeof buf, &want);
		if (n == -EAGAIN)
			continue;
		if (n <= 0) {
			rc = n == 0 ? 0 : (int)n;
			break;
		}
		if ((rc = net_fd_write_all(fd, buf, (size_t)n)) != 0)
			break;
	}
	shutdown(fd, SHUT_RDWR);	/* the other half's read ends */
	pthread_join(t, NULL);
	return rc;
}
