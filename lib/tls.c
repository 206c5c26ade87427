/*
 * tls.c: one program's TLS context, from its tls.* configuration.
 *
 * Why it is built this way: every connection is mutual TLS 1.3 with
 * certificates from the cluster's own CA (pki.h), so both ends know whom
 * they talk to before a byte of the protocol moves, with no setup beyond
 * what `dfs cluster up` or `dfs ca` writes.  Only TLS 1.3, only AEAD
 * suites, no session tickets (nothing resumable is kept anywhere: a short
 * command pays one full handshake, measured in bench/tls.sh), and the
 * peer's certificate is always required.
 *
 * The revocation list can change under a running daemon: a reload builds
 * a new SSL_CTX and store and swaps them in under a lock; sessions made
 * before keep their own reference to the old context, and their peers are
 * checked against the new store before their next request
 * (dfs_tls_recheck), so a revoked certificate is refused within about a
 * second of the list reaching the daemon's disk.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "tls.h"
#include "clock.h"
#include "log.h"
#include "xmalloc.h"

struct dfs_tls {
	pthread_mutex_t		 lock;
	SSL_CTX			*ctx;		/* under lock */
	X509_STORE		*store;		/* under lock */
	unsigned		 gen;		/* under lock */
	X509			*cert;
	EVP_PKEY		*key;
	struct dfs_identity	 self;
	bool			 plain_data;	/* net.encrypt_data=false */
	char			*ca_path;
	char			*crl_path;	/* NULL: no list */
	struct timespec		 crl_mtime;
	struct timespec		 crl_ctime;
	ino_t			 crl_ino;
	off_t			 crl_size;
};

/*
 * Block data in the clear (net.encrypt_data=false) is asked for in the
 * handshake, by ALPN: a client whose configuration allows it offers
 * DFS_TLS_ALPN_PLAIN to a data node, and a data node whose configuration
 * allows it too selects it.  Either side left at the default keeps the
 * whole connection inside TLS.
 */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char plain[] = DFS_TLS_ALPN_PLAIN;
	size_t	n = sizeof plain - 1;

	(void)ssl;
	(void)arg;
	for (unsigned int i = 0; i < inlen; i += 1 + in[i])
		if (in[i] == n && i + 1 + n <= inlen &&
		    memcmp(in + i + 1, plain, n) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_NOACK;
}

/* A context for this program's certificate and the given trust store. */
static SSL_CTX *
tls_ctx_new(struct dfs_tls *t, X509_STORE *store, char **cause)
{
	SSL_CTX	*ctx;
	char	 err[256];

	if ((ctx = SSL_CTX_new(TLS_method())) == NULL)
		abort();	/* out of memory */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:"
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1)
		goto fail;
	if (SSL_CTX_use_certificate(ctx, t->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, t->key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		xasprintf(cause, "the certificate and key do not match: %s",
		    dfs_pki_ssl_error(err, sizeof err, "unknown error"));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set1_cert_store(ctx, store);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 2);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* A peer that just closes ends the stream: frames carry their
	 * own lengths, so a cut is seen anyway. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Writes return per record, so a deadline can be kept between them;
	 * idle sessions give their buffers back (many may be open). */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
	if (t->plain_data && t->self.role == DFS_ROLE_DATANODE)
		SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, NULL);
	return ctx;
fail:
	xasprintf(cause, "cannot set up TLS 1.3: %s", dfs_pki_ssl_error(err,
	    sizeof err, "unknown error"));
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * No OpenSSL clean-up at exit: a daemon told to stop exits while its
 * connection threads may still be in a handshake, and OpenSSL's atexit
 * handler freed the providers under one of them (a namenode crashed in a
 * certificate decode as it exited, seen under ASan).  The process is
 * going; the memory goes with it.  Before main, so before any other
 * OpenSSL call initializes it with the handler.
 */
__attribute__((constructor)) static void
tls_no_atexit(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

/* Remember the list file's state, to notice when it changes. */
static void
tls_crl_stat(struct dfs_tls *t, struct stat *st)
{
	t->crl_mtime = st->st_mtim;
	t->crl_ctime = st->st_ctim;	/* cp -p keeps mtime, not ctime */
	t->crl_ino = st->st_ino;
	t->crl_size = st->st_size;
}

int
dfs_tls_open(const struct dfs_config *cfg, struct dfs_tls **out,
    char **cause)
{
	static const char *keys[] = { "tls.ca", "tls.cert", "tls.key" };
	struct dfs_tls	*t;
	X509_STORE	*store = NULL;
	const char	*crl;
	struct stat	 st;
	int		 rc;

	*out = NULL;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (dfs_config_str(cfg, keys[i])[0] == '\0') {
			xasprintf(cause, "%s is not set: every npdfs "
			    "connection needs a certificate from the cluster's "
			    "CA (dfs cluster up makes them; for real hosts, "
			    "dfs ca: see dfs(1))",
			    keys[i]);
			return -ENOKEY;
		}
	t = xcalloc(1, sizeof *t);
	pthread_mutex_init(&t->lock, NULL);
	t->ca_path = xstrdup(dfs_config_str(cfg, "tls.ca"));
	crl = dfs_config_str(cfg, "tls.crl");
	t->crl_path = crl[0] != '\0' ? xstrdup(crl) : NULL;
	t->plain_data = !dfs_config_bool(cfg, "net.encrypt_data");
	if ((rc = dfs_pki_load_cert(dfs_config_str(cfg, "tls.cert"), &t->cert,
	    cause)) != 0 ||
	    (rc = dfs_pki_load_key(dfs_config_str(cfg, "tls.key"), &t->key,
	    cause)) != 0 ||
	    (rc = dfs_pki_identity(t->cert, &t->self, cause)) != 0)
		goto fail;
	if (t->crl_path != NULL && stat(t->crl_path, &st) == 0)
		tls_crl_stat(t, &st);
	if ((rc = dfs_pki_store_load(t->ca_path, t->crl_path, &store,
	    cause)) != 0)
		goto fail;
	/* Our own certificate must pass what every peer will check. */
	if ((rc = dfs_pki_verify(store, t->cert, 0, cause)) != 0) {
		char *why = *cause;
		xasprintf(cause, "this program's certificate (%s): %s",
		    dfs_config_str(cfg, "tls.cert"), why);
		free(why);
		goto fail;
	}
	if ((t->ctx = tls_ctx_new(t, store, cause)) == NULL) {
		rc = -EINVAL;
		goto fail;
	}
	t->store = store;
	*out = t;
	return 0;
fail:
	X509_STORE_free(store);
	dfs_tls_free(t);
	return rc;
}

void
dfs_tls_free(struct dfs_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	X509_STORE_free(t->store);
	X509_free(t->cert);
	EVP_PKEY_free(t->key);
	free(t->ca_path);
	free(t->crl_path);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

bool
dfs_tls_plain_data(const struct dfs_tls *t)
{
	return t->plain_data;
}

const struct dfs_identity *
dfs_tls_self(const struct dfs_tls *t)
{
	return &t->self;
}

int
dfs_tls_reload(struct dfs_tls *t, bool *changed, char **cause)
{
	X509_STORE	*store = NULL;
	SSL_CTX		*ctx, *old;
	X509_STORE	*oldst;
	struct stat	 st;
	int		 rc;

	if (changed != NULL)
		*changed = false;
	if (t->crl_path == NULL)
		return 0;
	if (stat(t->crl_path, &st) != 0) {
		xasprintf(cause, "%s: %s", t->crl_path, strerror(errno));
		return -errno;
	}
	if (st.st_mtim.tv_sec == t->crl_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == t->crl_mtime.tv_nsec &&
	    st.st_ctim.tv_sec == t->crl_ctime.tv_sec &&
	    st.st_ctim.tv_nsec == t->crl_ctime.tv_nsec &&
	    st.st_ino == t->crl_ino && st.st_size == t->crl_size)
		return 0;
	if ((rc = dfs_pki_store_load(t->ca_path, t->crl_path, &store,
	    cause)) != 0) {
		/* Keep the list we have, and say so once for this file. */
		tls_crl_stat(t, &st);
		return rc;
	}
	if ((ctx = tls_ctx_new(t, store, cause)) == NULL) {
		X509_STORE_free(store);
		return -EINVAL;
	}
	pthread_mutex_lock(&t->lock);
	old = t->ctx;
	oldst = t->store;
	t->ctx = ctx;
	t->store = store;
	t->gen++;
	pthread_mutex_unlock(&t->lock);
	tls_crl_stat(t, &st);
	SSL_CTX_free(old);
	X509_STORE_free(oldst);
	if (changed != NULL)
		*changed = true;
	return 0;
}

/* A daemon's timer: about once a second, take a changed list (logged). */
void
dfs_tls_tick(struct dfs_tls *t, int64_t *last)
{
	char	*cause = NULL;
	bool	 changed;

	if (dfs_now_ms() - *last < 1000)
		return;
	*last = dfs_now_ms();
	if (dfs_tls_reload(t, &changed, &cause) != 0) {
		log_warn("keeping the revocation list: %s", cause);
		free(cause);
	} else if (changed)
		log_info("revocation list reloaded");
}

unsigned
dfs_tls_generation(struct dfs_tls *t)
{
	unsigned	gen;

	pthread_mutex_lock(&t->lock);
	gen = t->gen;
	pthread_mutex_unlock(&t->lock);
	return gen;
}

int
dfs_tls_recheck(struct dfs_tls *t, X509 *cert, char **cause)
{
	X509_STORE	*store;
	int		 rc;

	pthread_mutex_lock(&t->lock);
	store = t->store;
	X509_STORE_up_ref(store);
	pthread_mutex_unlock(&t->lock);
	rc = dfs_pki_verify(store, cert, 0, cause);
	X509_STORE_free(store);
	return rc;
}

/*
 * A socket BIO of our own, for one reason: OpenSSL's writes with write(2),
 * which raises SIGPIPE on a connection the peer reset.  Programs ignore
 * the signal, but a debugger stops on it and a library must not rely on
 * its host program; send(2) with MSG_NOSIGNAL says EPIPE and nothing else.
 */
/* What our BIO holds: the socket, and records not yet sent. */
struct tls_bio {
	int	 fd;
	uint8_t	*wbuf;		/* TLS_BIO_BATCH bytes */
	size_t	 wlen;
};
#define TLS_BIO_BATCH	(256U << 10)

/* Send what is held; 1 when all went, 0 when the socket is full, -1. */
static int
tls_bio_push(struct tls_bio *t)
{
	size_t	off = 0;
	ssize_t	n;

	if (t->wlen == 0)
		return 1;
	while (off < t->wlen) {
		n = send(t->fd, t->wbuf + off, t->wlen - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -1;
			break;
		}
		off += (size_t)n;
	}
	memmove(t->wbuf, t->wbuf + off, t->wlen - off);
	t->wlen -= off;
	return t->wlen == 0 ? 1 : 0;
}

/*
 * Records are collected and sent a batch at a time: OpenSSL writes each
 * 16 KiB record on its own, which for a 1 MiB packet meant 64 sends and
 * as many segments (TCP_NODELAY).  The writer flushes at the end of each
 * buffer it writes (dfs_sock_flush), and OpenSSL after each handshake
 * flight.
 */
static int
tls_bio_write(BIO *b, const char *buf, int len)
{
	struct tls_bio	*t = BIO_get_data(b);
	int		 rc;

	BIO_clear_retry_flags(b);
	if (t->wlen + (size_t)len > TLS_BIO_BATCH) {
		if ((rc = tls_bio_push(t)) < 0)
			return -1;
		if (t->wlen + (size_t)len > TLS_BIO_BATCH) {
			BIO_set_retry_write(b);
			return -1;
		}
	}
	if (t->wbuf == NULL)	/* idle connections hold no buffer */
		t->wbuf = xmalloc(TLS_BIO_BATCH);
	memcpy(t->wbuf + t->wlen, buf, (size_t)len);
	t->wlen += (size_t)len;
	return len;
}

static int
tls_bio_read(BIO *b, char *buf, int len)
{
	struct tls_bio	*t = BIO_get_data(b);
	ssize_t		 n;

	BIO_clear_retry_flags(b);
	n = recv(t->fd, buf, (size_t)len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long
tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls_bio	*t = BIO_get_data(b);
	int		 rc;

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		BIO_clear_retry_flags(b);
		if ((rc = tls_bio_push(t)) == 0)
			BIO_set_retry_write(b);
		return rc;
	case BIO_CTRL_WPENDING:
		return (long)t->wlen;
	default:
		return 0;
	}
}

static int
tls_bio_destroy(BIO *b)
{
	struct tls_bio	*t = BIO_get_data(b);

	if (t != NULL) {
		free(t->wbuf);	/* the descriptor is the dfs_sock's */
		free(t);
	}
	BIO_set_data(b, NULL);
	return 1;
}

static BIO_METHOD	*tls_bio_method;
static pthread_once_t	 tls_bio_once = PTHREAD_ONCE_INIT;

static void
tls_bio_init(void)
{
	BIO_METHOD	*m;

	if ((m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "npdfs socket")) == NULL ||
	    BIO_meth_set_write(m, tls_bio_write) != 1 ||
	    BIO_meth_set_read(m, tls_bio_read) != 1 ||
	    BIO_meth_set_ctrl(m, tls_bio_ctrl) != 1 ||
	    BIO_meth_set_destroy(m, tls_bio_destroy) != 1)
		abort();	/* out of memory */
	tls_bio_method = m;
}

SSL *
dfs_tls_session(struct dfs_tls *t, int fd, bool server)
{
	SSL	*ssl;
	BIO	*bio;
	struct tls_bio	*tb = xcalloc(1, sizeof *tb);

	pthread_once(&tls_bio_once, tls_bio_init);
	pthread_mutex_lock(&t->lock);
	ssl = SSL_new(t->ctx);
	pthread_mutex_unlock(&t->lock);
	if (ssl == NULL || (bio = BIO_new(tls_bio_method)) == NULL)
		abort();	/* out of memory */
	tb->fd = fd;
	BIO_set_data(bio, tb);
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio);
	/* Where block data may leave TLS after the handshake, OpenSSL must
	 * not read ahead past its last record (sock.c reads the rest). */
	if (t->plain_data && (!server || t->self.role == DFS_ROLE_DATANODE))
		SSL_set_read_ahead(ssl, 0);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	return ssl;
}
