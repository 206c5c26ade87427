/*
 * wire.c: frame headers and the payload codec.
 *
 * Why it is built this way: every byte that arrives from the network is
 * hostile until checked.  The header has a fixed size and is validated in
 * full (magic, version, a hard bound on the payload length) before a single
 * payload byte is read, so a peer can never make us allocate or wait for
 * more than DFS_WIRE_MAX_PAYLOAD.  Payload fields carry explicit lengths
 * and every read is bounds-checked against what was received; errors are
 * sticky so decoders stay short and cannot forget a check.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "xmalloc.h"

void
dfs_frame_hdr_encode(const struct dfs_frame_hdr *h, uint8_t *out)
{
	dfs_le32enc(out, DFS_WIRE_MAGIC);
	out[4] = h->version & 0xff;
	out[5] = h->version >> 8;
	out[6] = h->type & 0xff;
	out[7] = h->type >> 8;
	dfs_le64enc(out + 8, h->req_id);
	dfs_le32enc(out + 16, h->len);
	dfs_le32enc(out + 20, h->flags);
}

/*
 * Decode and validate a frame header.  Returns 0, -EAGAIN when fewer than
 * DFS_WIRE_HDR_LEN bytes are given, -EPROTO for a bad magic or flags,
 * -EPROTONOSUPPORT for another protocol version (h->version is still set so
 * the caller can say which) and -EMSGSIZE for an oversized payload.
 */
int
dfs_frame_hdr_decode(const uint8_t *buf, size_t len, struct dfs_frame_hdr *h,
    char **cause)
{
	uint32_t	magic;

	if (len < DFS_WIRE_HDR_LEN) {
		if (cause != NULL)
			xasprintf(cause, "truncated frame header (%zu of %d "
			    "bytes)", len, DFS_WIRE_HDR_LEN);
		return -EAGAIN;
	}
	magic = dfs_le32dec(buf);
	h->version = (uint16_t)(buf[4] | buf[5] << 8);
	h->type = (uint16_t)(buf[6] | buf[7] << 8);
	h->req_id = dfs_le64dec(buf + 8);
	h->len = dfs_le32dec(buf + 16);
	h->flags = dfs_le32dec(buf + 20);
	if (magic != DFS_WIRE_MAGIC) {
		if (cause != NULL)
			xasprintf(cause, "not an npdfs peer (bad frame magic "
			    "0x%08x)", magic);
		return -EPROTO;
	}
	if (h->version != DFS_WIRE_VERSION) {
		if (cause != NULL)
			xasprintf(cause, "peer speaks protocol version %u, this "
			    "build speaks %u", h->version, DFS_WIRE_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (h->len > DFS_WIRE_MAX_PAYLOAD) {
		if (cause != NULL)
			xasprintf(cause, "frame payload of %u bytes exceeds the "
			    "limit of %u", h->len, DFS_WIRE_MAX_PAYLOAD);
		return -EMSGSIZE;
	}
	if (h->flags != 0) {
		if (cause != NULL)
			xasprintf(cause, "unknown frame flags 0x%x", h->flags);
		return -EPROTO;
	}
	return 0;
}

void
dfs_wbuf_init(struct dfs_wbuf *b)
{
	memset(b, 0, sizeof *b);
}

void
dfs_wbuf_release(struct dfs_wbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* Empty the buffer but keep its memory for the next message. */
void
dfs_wbuf_reset(struct dfs_wbuf *b)
{
	b->len = 0;
	b->frame_start = 0;
}

/* Append n uninitialised bytes and return them.  Borrowed until the next
 * append. */
void *
dfs_wbuf_reserve(struct dfs_wbuf *b, size_t n)
{
	void	*p;

	if (b->cap - b->len < n) {
		size_t ncap = b->cap == 0 ? 256 : b->cap;
		while (ncap - b->len < n)
			ncap *= 2;
		b->data = xrealloc(b->data, ncap);
		b->cap = ncap;
	}
	p = b->data + b->len;
	b->len += n;
	return p;
}

void
dfs_put_u8(struct dfs_wbuf *b, uint8_t v)
{
	*(uint8_t *)dfs_wbuf_reserve(b, 1) = v;
}

void
dfs_put_u16(struct dfs_wbuf *b, uint16_t v)
{
	uint8_t	*p = dfs_wbuf_reserve(b, 2);

	p[0] = v & 0xff;
	p[1] = v >> 8;
}

void
dfs_put_u32(struct dfs_wbuf *b, uint32_t v)
{
	dfs_le32enc(dfs_wbuf_reserve(b, 4), v);
}

void
dfs_put_u64(struct dfs_wbuf *b, uint64_t v)
{
	dfs_le64enc(dfs_wbuf_reserve(b, 8), v);
}

void
dfs_put_i32(struct dfs_wbuf *b, int32_t v)
{
	dfs_put_u32(b, (uint32_t)v);
}

void
dfs_put_i64(struct dfs_wbuf *b, int64_t v)
{
	dfs_put_u64(b, (uint64_t)v);
}

void
dfs_put_raw(struct dfs_wbuf *b, const void *p, size_t n)
{
	if (n != 0)
		memcpy(dfs_wbuf_reserve(b, n), p, n);
}

/* A u32 length followed by the bytes. */
void
dfs_put_blob(struct dfs_wbuf *b, const void *p, size_t n)
{
	dfs_put_u32(b, (uint32_t)n);
	dfs_put_raw(b, p, n);
}

/* A string travels as a blob without its terminating NUL. */
void
dfs_put_str(struct dfs_wbuf *b, const char *s)
{
	dfs_put_blob(b, s, s == NULL ? 0 : strlen(s));
}

void
dfs_frame_begin(struct dfs_wbuf *b, uint16_t type, uint64_t req_id)
{
	struct dfs_frame_hdr	h = {
		.version = DFS_WIRE_VERSION, .type = type, .req_id = req_id
	};

	b->frame_start = b->len;
	dfs_frame_hdr_encode(&h, dfs_wbuf_reserve(b, DFS_WIRE_HDR_LEN));
}

void
dfs_frame_end(struct dfs_wbuf *b)
{
	size_t	plen = b->len - b->frame_start - DFS_WIRE_HDR_LEN;

	dfs_le32enc(b->data + b->frame_start + 16, (uint32_t)plen);
}

void
dfs_rbuf_init(struct dfs_rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

/* Take n bytes, or fail the reader.  Borrowed from the payload. */
const void *
dfs_get_raw(struct dfs_rbuf *r, size_t n)
{
	const void	*p;

	if (r->err != 0 || r->len - r->off < n) {
		r->err = -EBADMSG;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t
dfs_get_u8(struct dfs_rbuf *r)
{
	const uint8_t	*p = dfs_get_raw(r, 1);

	return p == NULL ? 0 : p[0];
}

uint16_t
dfs_get_u16(struct dfs_rbuf *r)
{
	const uint8_t	*p = dfs_get_raw(r, 2);

	return p == NULL ? 0 : (uint16_t)(p[0] | p[1] << 8);
}

uint32_t
dfs_get_u32(struct dfs_rbuf *r)
{
	const uint8_t	*p = dfs_get_raw(r, 4);

	return p == NULL ? 0 : dfs_le32dec(p);
}

uint64_t
dfs_get_u64(struct dfs_rbuf *r)
{
	const uint8_t	*p = dfs_get_raw(r, 8);

	return p == NULL ? 0 : dfs_le64dec(p);
}

int32_t
dfs_get_i32(struct dfs_rbuf *r)
{
	return (int32_t)dfs_get_u32(r);
}

int64_t
dfs_get_i64(struct dfs_rbuf *r)
{
	return (int64_t)dfs_get_u64(r);
}

/* A length-prefixed byte run of at most max bytes.  Borrowed. */
const void *
dfs_get_blob(struct dfs_rbuf *r, size_t max, size_t *lenp)
{
	uint32_t	 n = dfs_get_u32(r);
	const void	*p;

	*lenp = 0;
	if (r->err != 0)
		return NULL;
	if (n > max) {
		r->err = -EBADMSG;
		return NULL;
	}
	if ((p = dfs_get_raw(r, n)) != NULL)
		*lenp = n;
	return p;
}

/*
 * A string into out (cap bytes, NUL-terminated).  A string that does not
 * fit or holds a NUL byte fails the reader.
 */
int
dfs_get_strbuf(struct dfs_rbuf *r, char *out, size_t cap)
{
	size_t		 n;
	const char	*p = dfs_get_blob(r, cap == 0 ? 0 : cap - 1, &n);

	if (cap != 0)
		out[0] = '\0';
	if (p == NULL)
		return r->err != 0 ? r->err : -EBADMSG;
	if (memchr(p, '\0', n) != NULL) {
		r->err = -EBADMSG;
		return r->err;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* A string of at most max bytes as a new allocation, or NULL on error.
 * Caller frees. */
char *
dfs_get_strdup(struct dfs_rbuf *r, size_t max)
{
	size_t		 n;
	const char	*p = dfs_get_blob(r, max, &n);

	if (p == NULL || memchr(p, '\0', n) != NULL) {
		r->err = -EBADMSG;
		return NULL;
	}
	return xstrndup(p, n);
}

size_t
dfs_rbuf_left(const struct dfs_rbuf *r)
{
	return r->len - r->off;
}

/* The reader's verdict: 0 only if every read succeeded and nothing is left
 * over. */
int
dfs_rbuf_done(const struct dfs_rbuf *r)
{
	if (r->err != 0)
		return r->err;
	return r->off == r->len ? 0 : -EBADMSG;
}
