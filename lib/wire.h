/*
 * wire.h: the npdfs frame format and the payload codec.
 *
 * Every message between npdfs processes is one frame: a fixed 24-byte
 * header followed by a payload of little-endian fields.  doc/protocol.md
 * describes the format in prose.
 */
#ifndef DFS_WIRE_H
#define DFS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DFS_WIRE_MAGIC		0x4644504eU	/* "NPDF" as bytes on the wire */
#define DFS_WIRE_VERSION	1
#define DFS_WIRE_HDR_LEN	24
/* Hard bound on a payload: a data packet (1 MiB) plus its checksums and
 * fields fits with room to spare; anything larger is hostile. */
#define DFS_WIRE_MAX_PAYLOAD	(4U << 20)
/* Bound on any string field (a path is at most 4096 bytes). */
#define DFS_WIRE_MAX_STR	4096

struct dfs_frame_hdr {
	uint16_t	version;
	uint16_t	type;
	uint64_t	req_id;
	uint32_t	len;		/* payload bytes that follow */
	uint32_t	flags;		/* reserved, zero */
};

void	dfs_frame_hdr_encode(const struct dfs_frame_hdr *, uint8_t *out);
int	dfs_frame_hdr_decode(const uint8_t *buf, size_t len,
	    struct dfs_frame_hdr *, char **cause);

/* A growable output buffer.  Appends never fail (out of memory is fatal). */
struct dfs_wbuf {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	size_t		 frame_start;
};

void	dfs_wbuf_init(struct dfs_wbuf *);
void	dfs_wbuf_release(struct dfs_wbuf *);
void	dfs_wbuf_reset(struct dfs_wbuf *);
void	*dfs_wbuf_reserve(struct dfs_wbuf *, size_t);
void	dfs_put_u8(struct dfs_wbuf *, uint8_t);
void	dfs_put_u16(struct dfs_wbuf *, uint16_t);
void	dfs_put_u32(struct dfs_wbuf *, uint32_t);
void	dfs_put_u64(struct dfs_wbuf *, uint64_t);
void	dfs_put_i32(struct dfs_wbuf *, int32_t);
void	dfs_put_i64(struct dfs_wbuf *, int64_t);
void	dfs_put_raw(struct dfs_wbuf *, const void *, size_t);
void	dfs_put_blob(struct dfs_wbuf *, const void *, size_t);
void	dfs_put_str(struct dfs_wbuf *, const char *);

/* Start a frame at the end of the buffer; dfs_frame_end fills in its length. */
void	dfs_frame_begin(struct dfs_wbuf *, uint16_t type, uint64_t req_id);
void	dfs_frame_end(struct dfs_wbuf *);

/*
 * A bounded reader over a received payload.  The first short read or bad
 * field sets err to -EBADMSG; later reads return zeros and leave it set,
 * so a decoder can read every field and check once at the end.
 */
struct dfs_rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 err;
};

void	 dfs_rbuf_init(struct dfs_rbuf *, const void *, size_t);
uint8_t	 dfs_get_u8(struct dfs_rbuf *);
uint16_t dfs_get_u16(struct dfs_rbuf *);
uint32_t dfs_get_u32(struct dfs_rbuf *);
uint64_t dfs_get_u64(struct dfs_rbuf *);
int32_t	 dfs_get_i32(struct dfs_rbuf *);
int64_t	 dfs_get_i64(struct dfs_rbuf *);
const void *dfs_get_raw(struct dfs_rbuf *, size_t);
const void *dfs_get_blob(struct dfs_rbuf *, size_t max, size_t *lenp);
int	 dfs_get_strbuf(struct dfs_rbuf *, char *out, size_t cap);
char	*dfs_get_strdup(struct dfs_rbuf *, size_t max);
size_t	 dfs_rbuf_left(const struct dfs_rbuf *);
int	 dfs_rbuf_done(const struct dfs_rbuf *);

/* Little-endian helpers for fixed layouts (block files, sidecars). */
static inline void
dfs_le32enc(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static inline uint32_t
dfs_le32dec(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
dfs_le64enc(uint8_t *p, uint64_t v)
{
	dfs_le32enc(p, (uint32_t)v);
	dfs_le32enc(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t
dfs_le64dec(const uint8_t *p)
{
	return (uint64_t)dfs_le32dec(p) | (uint64_t)dfs_le32dec(p + 4) << 32;
}

#endif
