/*
 * sock.c: a connection, under mutual TLS or plain, with deadlines.
 *
 * Why it is built this way: npdfs keeps a thread per connection and
 * blocking semantics (net.c), and the write pipeline reads acks in one
 * thread while another sends packets on the same connection.  An OpenSSL
 * session may not be used by two threads at once, so the socket is
 * non-blocking and each TLS call is one short step under the connection's
 * lock; the waiting (poll, with the caller's deadline) happens outside
 * it.  Reads and writes of one session then interleave safely, and a
 * stopped peer still costs a bounded stall, never a hang.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "log.h"
#include "net.h"
#include "sock_i.h"
#include "tls.h"
#include "xmalloc.h"

struct dfs_sock {
	int			 fd;
	SSL			*ssl;		/* NULL: plain */
	bool			 broken;	/* no close_notify after a
						   fatal TLS error */
	pthread_mutex_t		 lock;
	X509			*peer_cert;
	struct dfs_identity	 peer;
	unsigned		 gen;		/* list last checked against */
	char			 addr[64];
	char			 err[160];	/* TLS's word on -EPROTO */
	struct dfs_sock_mac	*mac;		/* block data outside TLS */
};

static struct dfs_sock *
sock_new(int fd)
{
	struct dfs_sock	*s = xcalloc(1, sizeof *s);

	s->fd = fd;
	pthread_mutex_init(&s->lock, NULL);
	s->peer.role = DFS_ROLE_NONE;
	dfs_net_peer_addr(fd, s->addr, sizeof s->addr);
	return s;
}

struct dfs_sock *
dfs_sock_plain(int fd)
{
	return sock_new(fd);
}

int
dfs_sock_fd(const struct dfs_sock *s)
{
	return s->fd;
}

const struct dfs_identity *
dfs_sock_peer(const struct dfs_sock *s)
{
	return &s->peer;
}

const char *
dfs_sock_addr(const struct dfs_sock *s)
{
	return s->addr;
}

struct dfs_sock_mac *
dfs_sock_mac(const struct dfs_sock *s)
{
	return s->mac;
}

const char *
dfs_sock_error(const struct dfs_sock *s)
{
	return s->err;
}

void
dfs_sock_shutdown(struct dfs_sock *s)
{
	if (s != NULL)
		shutdown(s->fd, SHUT_RDWR);
}

void
dfs_sock_close(struct dfs_sock *s)
{
	if (s == NULL)
		return;
	if (s->ssl != NULL) {
		/* One try at close_notify; the peer need not answer. */
		pthread_mutex_lock(&s->lock);
		if (!s->broken && s->mac == NULL) {
			ERR_clear_error();
			SSL_shutdown(s->ssl);
		}
		ERR_clear_error();
		pthread_mutex_unlock(&s->lock);
		SSL_free(s->ssl);
	}
	close(s->fd);
	dfs_sock_mac_free(s->mac);
	X509_free(s->peer_cert);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/*
 * A TLS step's outcome in errno terms: 0 done, -EAGAIN with *want the
 * poll event to wait for, 0 bytes at end of stream (reads), or an error.
 * Called under the lock, right after the step.
 */
static int
sock_ssl_result(struct dfs_sock *s, int r, short *want)
{
	int	e = SSL_get_error(s->ssl, r);

	switch (e) {
	case SSL_ERROR_NONE:
		return 0;
	case SSL_ERROR_WANT_READ:
		*want = POLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want = POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return -ENOTCONN;
	case SSL_ERROR_SYSCALL:
		/* Fatal: OpenSSL takes no further call on the session (our
		 * BIO reports EAGAIN as a retry, never as this). */
		s->broken = true;
		return errno != 0 && errno != EAGAIN ? -errno : -ECONNRESET;
	default:
		s->broken = true;
		if (ERR_peek_error() != 0)
			ERR_error_string_n(ERR_peek_error(), s->err,
			    sizeof s->err);
		return -EPROTO;
	}
}

/*
 * One step of a read (writing false) or a write: a plain socket's
 * recv(2) or send(2), or one TLS call under the lock.  See sock_i.h.
 */
static ssize_t
sock_step(struct dfs_sock *s, bool writing, void *buf, size_t len,
    short *want)
{
	size_t	n = 0;
	ssize_t	r;
	int	rc;

	if (s->ssl == NULL) {
		r = writing ? send(s->fd, buf, len, MSG_NOSIGNAL |
		    MSG_DONTWAIT) : recv(s->fd, buf, len, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			*want = writing ? POLLOUT : POLLIN;
			return -EAGAIN;
		}
		return r < 0 ? -errno : r;
	}
	pthread_mutex_lock(&s->lock);
	ERR_clear_error();
	errno = 0;
	r = writing ? SSL_write_ex(s->ssl, buf, len, &n) :
	    SSL_read_ex(s->ssl, buf, len, &n);
	rc = r == 1 ? 0 : sock_ssl_result(s, (int)r, want);
	ERR_clear_error();
	pthread_mutex_unlock(&s->lock);
	if (rc == -ENOTCONN)
		return writing ? -EPIPE : 0;	/* end of stream */
	return rc != 0 ? rc : (ssize_t)n;
}

ssize_t
dfs_sock_read_some(struct dfs_sock *s, void *buf, size_t len, short *want)
{
	return sock_step(s, false, buf, len, want);
}

ssize_t
dfs_sock_write_some(struct dfs_sock *s, const void *buf, size_t len,
    short *want)
{
	return sock_step(s, true, (void *)buf, len, want);
}

/* Send what the TLS layer holds back (tls.c batches records) before the
 * deadline: after each buffer a writer writes. */
int
dfs_sock_flush(struct dfs_sock *s, int64_t deadline)
{
	int	r, rc;

	if (s->ssl == NULL || s->mac != NULL)
		return 0;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		r = BIO_flush(SSL_get_wbio(s->ssl));
		pthread_mutex_unlock(&s->lock);
		if (r > 0)
			return 0;
		if (r < 0 && !BIO_should_retry(SSL_get_wbio(s->ssl)))
			return errno != 0 ? -errno : -EPIPE;
		if ((rc = dfs_sock_poll(s, POLLOUT, deadline)) != 0)
			return rc;
	}
}

/* Wait for events on the socket until the deadline (dfs_now_ms). */
int
dfs_sock_poll(struct dfs_sock *s, short events, int64_t deadline)
{
	return dfs_net_wait(s->fd, events, deadline);
}

int
dfs_sock_wait_readable(struct dfs_sock *s, int timeout_ms)
{
	int	pending = 0, rc;

	if (s->mac != NULL && dfs_sock_mac_pending(s->mac))
		return 1;
	if (s->ssl != NULL && s->mac == NULL) {
		pthread_mutex_lock(&s->lock);
		/* Read ahead: bytes may wait in OpenSSL, not the socket. */
		pending = SSL_has_pending(s->ssl);
		pthread_mutex_unlock(&s->lock);
	}
	if (pending)
		return 1;
	rc = dfs_sock_poll(s, POLLIN, dfs_now_ms() + timeout_ms);
	if (rc == -ETIMEDOUT)
		return 0;
	return rc == 0 ? 1 : rc;
}

/* Why a handshake failed, in words for the log and the user. */
static void
sock_handshake_cause(struct dfs_sock *s, int rc, char **cause)
{
	long		 v = SSL_get_verify_result(s->ssl);
	unsigned long	 e = ERR_peek_error();
	char		 buf[256];

	if (cause == NULL)
		return;
	if (v != X509_V_OK)
		xasprintf(cause, "TLS handshake with %s: certificate refused: "
		    "%s", s->addr, X509_verify_cert_error_string(v));
	else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		xasprintf(cause, "TLS handshake with %s failed: %s", s->addr,
		    buf);
	} else if (rc == -ETIMEDOUT)
		xasprintf(cause, "TLS handshake with %s timed out", s->addr);
	else
		xasprintf(cause, "TLS handshake with %s failed: %s", s->addr,
		    rc == -ENOTCONN ? "connection closed" : strerror(-rc));
}

/*
 * When both ends allowed block data in the clear (ALPN, tls.c), leave
 * TLS for sock-mac.c's authenticated records, keyed per direction from
 * the session.
 */
static int
sock_plain_data(struct dfs_sock *s, char **cause)
{
	static const char	 label[] = "EXPORTER-npdfs-plain-data";
	const unsigned char	*alpn = NULL;
	unsigned int		 alen = 0;
	uint8_t			 k[32];

	SSL_get0_alpn_selected(s->ssl, &alpn, &alen);
	if (alen != sizeof DFS_TLS_ALPN_PLAIN - 1 ||
	    memcmp(alpn, DFS_TLS_ALPN_PLAIN, alen) != 0)
		return 0;
	if (SSL_export_keying_material(s->ssl, k, sizeof k, label,
	    sizeof label - 1, NULL, 0, 0) != 1) {
		xasprintf(cause, "%s: cannot derive the data keys", s->addr);
		return -EPROTO;
	}
	/* k[0..15] protects what the client sends, k[16..31] the server. */
	s->mac = SSL_is_server(s->ssl) ? dfs_sock_mac_new(k + 16, k) :
	    dfs_sock_mac_new(k, k + 16);
	OPENSSL_cleanse(k, sizeof k);
	return 0;
}

/* Run the handshake to its end before the deadline; then learn who the
 * peer is from its certificate, which must be of role want (or any). */
static int
sock_handshake(struct dfs_sock *s, enum dfs_role want, int64_t deadline,
    char **cause)
{
	short	ev = POLLIN;
	int	r, rc;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		ERR_clear_error();
		errno = 0;
		r = SSL_do_handshake(s->ssl);
		rc = r == 1 ? 0 : sock_ssl_result(s, r, &ev);
		if (rc != 0 && rc != -EAGAIN)
			sock_handshake_cause(s, rc, cause);
		ERR_clear_error();
		pthread_mutex_unlock(&s->lock);
		if (rc == 0)
			break;
		if (rc != -EAGAIN)
			/* A peer that went away is not a refusal. */
			return rc == -ENOTCONN ? -ECONNRESET : rc == -EPROTO ?
			    -EACCES : rc;
		if ((rc = dfs_sock_poll(s, ev, deadline)) != 0) {
			sock_handshake_cause(s, rc, cause);
			return rc;
		}
	}
	if ((s->peer_cert = SSL_get1_peer_certificate(s->ssl)) == NULL) {
		xasprintf(cause, "%s showed no certificate", s->addr);
		return -EACCES;
	}
	if ((rc = dfs_pki_identity(s->peer_cert, &s->peer, cause)) != 0)
		return -EACCES;
	if (want != DFS_ROLE_NONE && s->peer.role != want) {
		xasprintf(cause, "%s is not a %s: its certificate (%s) is "
		    "a %s's", s->addr, dfs_pki_role_name(want), s->peer.name,
		    dfs_pki_role_name(s->peer.role));
		return -EACCES;
	}
	return sock_plain_data(s, cause);
}

int
dfs_sock_tcp(const char *addr, int timeout_ms, struct dfs_sock **out,
    char **cause)
{
	int	fd, rc;

	*out = NULL;
	if ((rc = dfs_net_connect(addr, timeout_ms, &fd, cause)) != 0)
		return rc;
	*out = sock_new(fd);
	snprintf((*out)->addr, sizeof (*out)->addr, "%s", addr);
	return 0;
}

/* The handshake, asking for plain block data only when sealed is false. */
static int
sock_start_tls(struct dfs_sock *s, struct dfs_tls *tls, enum dfs_role want,
    bool sealed, int timeout_ms, char **cause)
{
	/* The list the handshake checks against is the one now or later. */
	s->gen = dfs_tls_generation(tls);
	s->ssl = dfs_tls_session(tls, s->fd, false);
	if (want == DFS_ROLE_DATANODE && dfs_tls_plain_data(tls) && !sealed) {
		static const unsigned char proto[] = "\x10" DFS_TLS_ALPN_PLAIN;
		if (SSL_set_alpn_protos(s->ssl, proto, sizeof proto - 1) != 0)
			abort();	/* out of memory */
	}
	return sock_handshake(s, want, dfs_now_ms() + timeout_ms, cause);
}

int
dfs_sock_start_tls(struct dfs_sock *s, struct dfs_tls *tls,
    enum dfs_role want, int timeout_ms, char **cause)
{
	return sock_start_tls(s, tls, want, false, timeout_ms, cause);
}

static int
sock_connect(struct dfs_tls *tls, const char *addr, enum dfs_role want,
    bool sealed, int timeout_ms, struct dfs_sock **out, char **cause)
{
	struct dfs_sock	*s;
	int64_t		 deadline = dfs_now_ms() + timeout_ms;
	int		 rc;

	*out = NULL;
	if ((rc = dfs_sock_tcp(addr, timeout_ms, &s, cause)) != 0)
		return rc;
	rc = sock_start_tls(s, tls, want, sealed,
	    (int)(deadline - dfs_now_ms()), cause);
	if (rc != 0) {
		dfs_sock_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
dfs_sock_connect(struct dfs_tls *tls, const char *addr, enum dfs_role want,
    int timeout_ms, struct dfs_sock **out, char **cause)
{
	return sock_connect(tls, addr, want, false, timeout_ms, out, cause);
}

int
dfs_sock_connect_sealed(struct dfs_tls *tls, const char *addr,
    enum dfs_role want, int timeout_ms, struct dfs_sock **out, char **cause)
{
	return sock_connect(tls, addr, want, true, timeout_ms, out, cause);
}

bool
dfs_sock_plain_data(const struct dfs_sock *s)
{
	return s->mac != NULL;
}

int
dfs_sock_accept(struct dfs_tls *tls, int fd, int timeout_ms,
    struct dfs_sock **out, char **cause)
{
	struct dfs_sock	*s = sock_new(fd);
	int		 rc, fl, one = 1;

	*out = NULL;
	/* A TLS record is one write, smaller than loopback's segments:
	 * Nagle would hold the second record of a reply for an ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* TLS steps must never block under the lock (see above). */
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		rc = -errno;
		xasprintf(cause, "fcntl: %s", strerror(errno));
		dfs_sock_close(s);
		return rc;
	}
	s->gen = dfs_tls_generation(tls);
	s->ssl = dfs_tls_session(tls, fd, true);
	if ((rc = sock_handshake(s, DFS_ROLE_NONE, dfs_now_ms() + timeout_ms,
	    cause)) != 0) {
		dfs_sock_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

/*
 * Whether a connection put aside between requests may carry another: no
 * TLS error on it, nothing buffered or arrived since (a peer that closed
 * it shows as readable), the peer's certificate still good.
 */
bool
dfs_sock_idle_ok(struct dfs_sock *s, struct dfs_tls *tls)
{
	struct pollfd	 pfd = { .fd = s->fd, .events = POLLIN };
	char		*cause = NULL;
	bool		 ok;

	pthread_mutex_lock(&s->lock);
	ok = !s->broken && (s->ssl == NULL || SSL_pending(s->ssl) == 0) &&
	    (s->mac == NULL || !dfs_sock_mac_pending(s->mac));
	pthread_mutex_unlock(&s->lock);
	if (!ok || poll(&pfd, 1, 0) != 0)
		return false;
	if (tls != NULL && dfs_sock_recheck(s, tls, &cause) != 0) {
		log_info("not reusing the connection to %s: %s", s->addr,
		    cause);
		free(cause);
		return false;
	}
	return true;
}

int
dfs_sock_recheck(struct dfs_sock *s, struct dfs_tls *tls, char **cause)
{
	unsigned	gen;
	int		rc;

	if (s->ssl == NULL || s->peer_cert == NULL)
		return 0;
	if ((gen = dfs_tls_generation(tls)) == s->gen)
		return 0;
	if ((rc = dfs_tls_recheck(tls, s->peer_cert, cause)) != 0)
		return rc;
	s->gen = gen;
	return 0;
}
