/*
 * sock-mac.c: block data outside TLS, authenticated (net.encrypt_data).
 *
 * Why it is built this way: on a trusted network, encrypting block data
 * costs CPU that buys nothing, but integrity still matters (a CRC32C is
 * no defence against someone who can rewrite packets).  OpenSSL 3.0 has
 * no TLS 1.3 suite that authenticates without encrypting, so a connection
 * whose two ends agreed on it in the handshake (tls.c, ALPN) leaves TLS
 * once the handshake is done and carries its bytes in records of its own:
 *
 *   u32 length (little-endian) | length bytes | 16-byte tag
 *
 * where the tag is AES-128-GCM's with no plaintext and the length and
 * bytes as associated data: GHASH alone, several times faster than
 * encrypting.  Each direction has its own key, exported from the TLS
 * session (RFC 8446 section 7.5), and its own record counter as nonce, so
 * a record cannot be altered, replayed, reordered, cut or moved to the
 * other direction without the tag failing, which ends the connection.
 * No byte reaches the reader before its record's tag is checked.  Writers
 * send a frame's header and its payload as separate records (net.c), so
 * the reader, which asks for exactly those, gets each straight into its
 * own buffer; a record longer than a read goes through a buffer here.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "clock.h"
#include "wire.h"
#include "sock_i.h"
#include "xmalloc.h"

#define MAC_TAG		16
/* No record longer than a frame's payload (wire.h), whatever a header
 * announces before its tag is checked. */
#define MAC_MAX_RECORD	DFS_WIRE_MAX_PAYLOAD

struct dfs_sock_mac {
	EVP_CIPHER_CTX	*tx;
	EVP_CIPHER_CTX	*rx;
	uint64_t	 tx_seq;
	uint64_t	 rx_seq;
	uint8_t		*rbuf;		/* a verified record a read did not */
	size_t		 rcap;		/* take whole: [roff, rlen) waits */
	size_t		 roff;
	size_t		 rlen;
	bool		 broken;	/* a tag failed: nothing more */
	bool		 tx_broken;	/* a record half sent */
};

static EVP_CIPHER_CTX *
mac_ctx(const uint8_t key[16])
{
	EVP_CIPHER_CTX	*c = EVP_CIPHER_CTX_new();

	if (c == NULL || EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key,
	    NULL) != 1)
		abort();	/* out of memory */
	return c;
}

/* Whether proven bytes wait in the connection's buffer. */
bool
dfs_sock_mac_pending(const struct dfs_sock_mac *m)
{
	return m->roff < m->rlen;
}

struct dfs_sock_mac *
dfs_sock_mac_new(const uint8_t tx_key[16], const uint8_t rx_key[16])
{
	struct dfs_sock_mac	*m = xcalloc(1, sizeof *m);

	m->tx = mac_ctx(tx_key);
	m->rx = mac_ctx(rx_key);
	return m;
}

void
dfs_sock_mac_free(struct dfs_sock_mac *m)
{
	if (m == NULL)
		return;
	EVP_CIPHER_CTX_free(m->tx);
	EVP_CIPHER_CTX_free(m->rx);
	free(m->rbuf);
	free(m);
}

/* Begin a record's tag: nonce = 4 zero bytes and the record counter. */
static void
mac_begin(EVP_CIPHER_CTX *c, uint64_t seq)
{
	uint8_t	iv[12] = { 0 };

	for (int i = 0; i < 8; i++)
		iv[4 + i] = (uint8_t)(seq >> (8 * i));
	if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1)
		abort();
}

static void
mac_add(EVP_CIPHER_CTX *c, const void *p, size_t len)
{
	int	outl;

	while (len > 0) {
		int n = len > (1U << 30) ? 1 << 30 : (int)len;
		if (EVP_EncryptUpdate(c, NULL, &outl, p, n) != 1)
			abort();
		p = (const uint8_t *)p + n;
		len -= (size_t)n;
	}
}

static void
mac_end(EVP_CIPHER_CTX *c, uint8_t tag[MAC_TAG])
{
	uint8_t	none[16];
	int	outl;

	if (EVP_EncryptFinal_ex(c, none, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, MAC_TAG, tag) != 1)
		abort();
}

int
dfs_sock_mac_write(struct dfs_sock_mac *m, int fd, const void *buf,
    size_t len, int timeout_ms)
{
	int64_t		 deadline = dfs_now_ms() + timeout_ms;
	const uint8_t	*p = buf;
	uint8_t		 hdr[4], tag[MAC_TAG];
	struct iovec	 iov[3];
	struct msghdr	 msg;
	ssize_t		 n;
	int		 rc;

	if (m->tx_broken)
		return -EPIPE;
	while (len > 0) {
		uint32_t rl = len > MAC_MAX_RECORD ? MAC_MAX_RECORD :
		    (uint32_t)len;
		for (int i = 0; i < 4; i++)
			hdr[i] = (uint8_t)(rl >> (8 * i));
		mac_begin(m->tx, m->tx_seq++);
		mac_add(m->tx, hdr, sizeof hdr);
		mac_add(m->tx, p, rl);
		mac_end(m->tx, tag);
		iov[0] = (struct iovec){ hdr, sizeof hdr };
		iov[1] = (struct iovec){ (void *)p, rl };
		iov[2] = (struct iovec){ tag, sizeof tag };
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = iov;
		msg.msg_iovlen = 3;
		while (msg.msg_iovlen > 0) {
			n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0) {
				rc = -errno;
				if ((errno == EAGAIN || errno == EINTR) &&
				    (rc = dfs_net_wait(fd, POLLOUT,
				    deadline)) == 0)
					continue;
				/* The counter moved on: no more records. */
				m->tx_broken = true;
				return rc;
			}
			while (msg.msg_iovlen > 0 && (size_t)n >=
			    msg.msg_iov[0].iov_len) {
				n -= (ssize_t)msg.msg_iov[0].iov_len;
				msg.msg_iov++;
				msg.msg_iovlen--;
			}
			if (msg.msg_iovlen > 0) {
				msg.msg_iov[0].iov_base =
				    (uint8_t *)msg.msg_iov[0].iov_base + n;
				msg.msg_iov[0].iov_len -= (size_t)n;
			}
		}
		p += rl;
		len -= rl;
	}
	return 0;
}

/*
 * Read exactly len raw bytes; *moved says whether any came (for the
 * caller's end-of-stream rule).  With idle, each byte moves the deadline.
 */
static int
mac_recv(int fd, void *buf, size_t len, int64_t *deadline, int timeout_ms,
    bool idle, bool *moved)
{
	uint8_t	*p = buf;
	ssize_t	 n;
	int	 rc;

	while (len > 0) {
		n = recv(fd, p, len, MSG_DONTWAIT);
		if (n == 0)
			return -ENOTCONN;
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			if ((rc = dfs_net_wait(fd, POLLIN, *deadline)) != 0)
				return rc;
			continue;
		}
		*moved = true;
		p += n;
		len -= (size_t)n;
		if (idle)
			*deadline = dfs_now_ms() + timeout_ms;
	}
	return 0;
}

/*
 * Read the rest of a record whose length is rl (its header hdr already
 * read) into dst, then its tag: 0 once the record is proven, -EBADMSG
 * for good if it is not.
 */
static int
mac_record(struct dfs_sock_mac *m, int fd, const uint8_t hdr[4], uint8_t *dst,
    uint32_t rl, int64_t *deadline, int timeout_ms, bool idle, bool *moved)
{
	uint8_t	got[MAC_TAG], want[MAC_TAG];
	int	rc;

	if ((rc = mac_recv(fd, dst, rl, deadline, timeout_ms, idle,
	    moved)) != 0 ||
	    (rc = mac_recv(fd, got, sizeof got, deadline, timeout_ms, idle,
	    moved)) != 0)
		return rc == -ENOTCONN ? -ECONNRESET : rc;
	mac_begin(m->rx, m->rx_seq++);
	mac_add(m->rx, hdr, 4);
	mac_add(m->rx, dst, rl);
	mac_end(m->rx, want);
	if (CRYPTO_memcmp(got, want, MAC_TAG) != 0)
		return -EBADMSG;
	return 0;
}

/*
 * Read exactly len bytes, none of them handed over before its record's
 * tag is checked.  A record that fits what is asked is read straight
 * into buf; a longer one (a writer that did not split a frame's header
 * from its payload) goes through the connection's buffer.  Errors as
 * net.c's reads: -ENOTCONN at a clean end before the first byte.
 */
int
dfs_sock_mac_read(struct dfs_sock_mac *m, int fd, void *buf, size_t len,
    int timeout_ms, bool idle)
{
	int64_t		 deadline = dfs_now_ms() + timeout_ms;
	uint8_t		*p = buf, hdr[4];
	uint32_t	 rl;
	bool		 moved = false;
	int		 rc;

	if (m->broken)
		return -EBADMSG;
	while (len > 0) {
		if (m->roff < m->rlen) {
			size_t n = m->rlen - m->roff < len ? m->rlen - m->roff :
			    len;
			memcpy(p, m->rbuf + m->roff, n);
			m->roff += n;
			p += n;
			len -= n;
			moved = true;
			if (m->roff == m->rlen && m->rcap > (256U << 10)) {
				free(m->rbuf);	/* not kept while idle */
				m->rbuf = NULL;
				m->rcap = m->roff = m->rlen = 0;
			}
			continue;
		}
		if ((rc = mac_recv(fd, hdr, sizeof hdr, &deadline, timeout_ms,
		    idle, &moved)) != 0)
			goto fail;
		rl = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 |
		    (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
		if (rl == 0 || rl > MAC_MAX_RECORD) {
			rc = -EBADMSG;
			goto fail;
		}
		if (rl <= len) {
			if ((rc = mac_record(m, fd, hdr, p, rl, &deadline,
			    timeout_ms, idle, &moved)) != 0)
				goto fail;
			p += rl;
			len -= rl;
			continue;
		}
		if (m->rcap < rl) {
			free(m->rbuf);
			m->rbuf = xmalloc(rl);
			m->rcap = rl;
		}
		m->roff = m->rlen = 0;
		if ((rc = mac_record(m, fd, hdr, m->rbuf, rl, &deadline,
		    timeout_ms, idle, &moved)) != 0)
			goto fail;
		m->rlen = rl;
	}
	return 0;
fail:
	if (rc == -ENOTCONN && moved)
		rc = -ECONNRESET;	/* cut mid-record */
	/* A record half read leaves the stream unusable, whatever the
	 * cause; only a wait that read nothing may be tried again. */
	if (moved || rc == -EBADMSG || (rc != -ETIMEDOUT && rc != -ENOTCONN))
		m->broken = true;
	return rc;
}
