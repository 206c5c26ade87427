/*
 * client-patch.c: changed chunks of a block of a complete file, written
 * in place on its replicas (issue 13's random writes that fsync).
 *
 * The caller gives whole chunks of the block (block-relative offsets,
 * each range a run of whole chunks, the last one short only where it ends
 * at the new length).  They go in pieces of at most DFS_MAX_PATCH bytes;
 * each piece is one generation: PATCH_BLOCK asks the namenode for it
 * (and for the block's good replicas and one WRITE token signed over
 * them), then the same DX_PATCH goes to every replica at once, each on a
 * connection of the client's pool: every frame is sent before any answer
 * is read, so the nodes journal and apply side by side.  A node answers
 * OK only after it told the namenode (RECEIVED), whose first such report
 * commits the generation (namenode/nn-patch.c, which records the promise
 * durably: a node whose RECEIVED is queued still answers OK, and a
 * namenode restarted meanwhile commits the piece from its report), so one
 * OK means the piece will be in the namespace.  A piece with no OK fails
 * the patch with -EREMOTEIO (-ENOSPC when a node had no room), which
 * tells the caller the replicas, not the namenode, said no: nothing of
 * that piece changed; the pieces already done stay (the namespace holds
 * them: each is whole).
 *
 * Pieces are sent from the block's end backwards: when the block grows,
 * the first piece sent holds its new tail, as DX_PATCH requires of the
 * patch that grows a replica.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "client_i.h"
#include "log.h"
#include "xmalloc.h"

#define PATCH_MAX_RANGES	4096

/* A piece: ranges [first, last) of the split ranges. */
struct patch_piece {
	size_t		first;
	size_t		last;
};

struct patch_block_args {
	dfs_ino		 ino;
	const char	*client;
	dfs_block_id	 block;
	uint64_t	 old_gen;
	uint64_t	 new_len;
};

static void
build_patch_block(struct dfs_wbuf *b, void *arg)
{
	struct patch_block_args	*a = arg;

	dfs_put_u64(b, a->ino);
	dfs_put_str(b, a->client);
	dfs_put_u64(b, a->block);
	dfs_put_u64(b, a->old_gen);
	dfs_put_u64(b, a->new_len);
}

static int
parse_patch_lblock(struct dfs_rbuf *r, void *arg)
{
	dfs_proto_get_lblock(r, arg);
	return dfs_rbuf_done(r);
}

/* The DX_PATCH frame of one piece, for replica set lb. */
static void
patch_frame(struct dfs_wbuf *b, const struct dfs_lblock *lb,
    uint64_t old_gen, uint32_t chunk, uint64_t new_len,
    const struct dfs_patch_range *r, size_t n)
{
	uint8_t	crc[4];

	dfs_wbuf_reset(b);
	dfs_frame_begin(b, DFS_DX_PATCH, 1);
	dfs_proto_put_token(b, &lb->token);
	dfs_put_u64(b, lb->block);
	dfs_put_u64(b, old_gen);
	dfs_put_u64(b, lb->gen);
	dfs_put_u32(b, chunk);
	dfs_put_u64(b, new_len);
	dfs_put_u32(b, lb->nlocs);
	for (uint32_t i = 0; i < lb->nlocs; i++)
		dfs_put_str(b, lb->locs[i].addr);
	dfs_put_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint32_t nch = (r[i].len + chunk - 1) / chunk;
		dfs_put_u64(b, r[i].off);
		dfs_put_u32(b, nch);
		for (uint32_t k = 0; k < nch; k++) {
			uint32_t o = k * chunk;
			uint32_t l = r[i].len - o < chunk ? r[i].len - o :
			    chunk;
			dfs_le32enc(crc, dfs_crc32c(0, r[i].data + o, l));
			dfs_put_raw(b, crc, 4);
		}
		dfs_put_blob(b, r[i].data, r[i].len);
	}
	dfs_frame_end(b);
}

/* The answer to a PATCH on s: 0, or the node's -errno with *cause. */
static int
patch_answer(struct dfs_client *c, struct dfs_sock *s, const char *addr,
    struct dfs_wbuf *in, char **cause)
{
	struct dfs_frame_hdr	 h;
	struct dfs_rbuf		 rb;
	char			*msg;
	int			 rc;

	if ((rc = dfs_net_recv_frame(s, &h, in, c->timeout_ms, cause)) != 0)
		return rc;
	if (h.type == DFS_MSG_OK)
		return 0;
	if (h.type != DFS_MSG_ERROR) {
		xasprintf(cause, "%s sent %s to a PATCH", addr,
		    dfs_msg_name(h.type));
		return -EPROTO;
	}
	dfs_rbuf_init(&rb, in->data, h.len);
	rc = dfs_get_i32(&rb);
	msg = dfs_get_strdup(&rb, DFS_WIRE_MAX_STR);
	xasprintf(cause, "%s: %s", addr, msg != NULL ? msg : "error");
	free(msg);
	return rc < 0 ? rc : -EIO;
}

/*
 * Send frame out to every replica of lb at once and read their answers:
 * returns how many said OK; *cause names the first failure, *full is set
 * when a node said it had no room.
 */
static unsigned
patch_fan_out(struct dfs_client *c, const struct dfs_lblock *lb,
    const struct dfs_wbuf *out, bool *full, char **cause)
{
	struct dfs_sock	*s[DFS_MAX_REPLICATION] = { NULL };
	bool		 reused[DFS_MAX_REPLICATION] = { false };
	int		 err[DFS_MAX_REPLICATION] = { 0 };
	struct dfs_wbuf	 in;
	unsigned	 ok = 0;
	char		*why;

	dfs_wbuf_init(&in);
	for (uint32_t i = 0; i < lb->nlocs; i++) {
		why = NULL;
		err[i] = dfs_sockpool_connect(c->dnpool, c->tls,
		    lb->locs[i].addr, DFS_ROLE_DATANODE, false, c->timeout_ms,
		    &s[i], &reused[i], &why);
		if (err[i] == 0)
			err[i] = dfs_net_send(s[i], out, c->timeout_ms);
		if (err[i] != 0 && reused[i]) {
			/* A kept connection its node closed: a new one. */
			dfs_sock_close(s[i]);
			s[i] = NULL;
			free(why);
			why = NULL;
			err[i] = dfs_sock_connect(c->tls, lb->locs[i].addr,
			    DFS_ROLE_DATANODE, c->timeout_ms, &s[i], &why);
			reused[i] = false;
			if (err[i] == 0)
				err[i] = dfs_net_send(s[i], out,
				    c->timeout_ms);
		}
		if (err[i] != 0 && why == NULL)
			xasprintf(&why, "%s: %s", lb->locs[i].addr,
			    strerror(-err[i]));
		if (err[i] != 0 && *cause == NULL)
			*cause = why;
		else
			free(why);
	}
	for (uint32_t i = 0; i < lb->nlocs; i++) {
		if (err[i] != 0) {
			if (s[i] != NULL)
				dfs_sock_close(s[i]);
			continue;
		}
		why = NULL;
		err[i] = patch_answer(c, s[i], lb->locs[i].addr, &in, &why);
		if (err[i] == 0 || (why != NULL && err[i] != -ETIMEDOUT &&
		    err[i] != -EPROTO && err[i] != -ECONNRESET &&
		    err[i] != -EPIPE && err[i] != -ENOTCONN))
			/* An answer, good or bad: the connection is fine. */
			dfs_sockpool_put(c->dnpool, lb->locs[i].addr, false,
			    s[i]);
		else
			dfs_sock_close(s[i]);
		if (err[i] == 0)
			ok++;
		else {
			if (err[i] == -ENOSPC || err[i] == -EDQUOT)
				*full = true;
			log_warn("PATCH of block %llu gen %llu: %s",
			    (unsigned long long)lb->block,
			    (unsigned long long)lb->gen, why != NULL ? why :
			    strerror(-err[i]));
			if (*cause == NULL)
				*cause = why;
			else
				free(why);
		}
	}
	dfs_wbuf_release(&in);
	return ok;
}

/* Split ranges r into pieces of at most DFS_MAX_PATCH bytes each (ranges
 * cut at chunk boundaries).  Caller frees *outp. */
static size_t
patch_split(const struct dfs_patch_range *r, size_t n,
    struct dfs_patch_range **outp)
{
	struct dfs_patch_range	*out = NULL;
	size_t			 cap = 0, m = 0;

	for (size_t i = 0; i < n; i++)
		for (uint32_t o = 0; o < r[i].len; o += DFS_MAX_PATCH) {
			if (m == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				out = xrealloc(out, cap * sizeof *out);
			}
			out[m].off = r[i].off + o;
			out[m].len = r[i].len - o < DFS_MAX_PATCH ?
			    r[i].len - o : DFS_MAX_PATCH;
			out[m].data = r[i].data + o;
			m++;
		}
	*outp = out;
	return m;
}

/* The chunk size this client writes blocks in. */
uint32_t
dfs_client_chunk_size(const struct dfs_client *c)
{
	return c->chunk_size != 0 ? c->chunk_size : DFS_DEFAULT_CHUNK;
}

int
dfs_client_patch(struct dfs_client *c, dfs_ino ino, dfs_block_id block,
    uint64_t gen, uint32_t chunk, uint64_t new_len,
    const struct dfs_patch_range *ranges, size_t n, uint64_t *new_gen,
    unsigned *nok, char **cause)
{
	struct dfs_patch_range	*r = NULL;
	struct patch_block_args	 a;
	struct dfs_lblock	 lb;
	struct dfs_wbuf		 out;
	size_t			 m, end, start, bytes;
	unsigned		 ok, least = DFS_MAX_REPLICATION;
	bool			 full = false;
	int			 rc = 0;

	*new_gen = gen;
	*nok = 0;
	if (chunk == 0 || (chunk & (chunk - 1)) != 0 || chunk > DFS_MAX_PATCH)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (ranges[i].len == 0 || ranges[i].off % chunk != 0 ||
		    ranges[i].off + ranges[i].len > new_len ||
		    (ranges[i].len % chunk != 0 &&
		    ranges[i].off + ranges[i].len != new_len) ||
		    (i > 0 && ranges[i].off < ranges[i - 1].off +
		    ranges[i - 1].len)) {
			xasprintf(cause, "bad patch range %zu of block %llu",
			    i, (unsigned long long)block);
			return -EINVAL;
		}
	m = patch_split(ranges, n, &r);
	dfs_wbuf_init(&out);
	memset(&a, 0, sizeof a);
	a.ino = ino;
	a.client = c->name;
	a.block = block;
	a.new_len = new_len;
	/* From the end backwards: the first piece holds a growing tail. */
	for (end = m; end > 0; end = start) {
		bytes = 0;
		for (start = end; start > 0 && end - start < PATCH_MAX_RANGES &&
		    bytes + r[start - 1].len <= DFS_MAX_PATCH; start--)
			bytes += r[start - 1].len;
		a.old_gen = *new_gen;
		memset(&lb, 0, sizeof lb);
		if ((rc = dfs_client_call(c, DFS_NN_PATCH_BLOCK, DFS_NN_LBLOCK,
		    build_patch_block, &a, parse_patch_lblock, &lb,
		    cause)) != 0)
			break;
		if (lb.block != block || lb.nlocs == 0 ||
		    lb.nlocs > DFS_MAX_REPLICATION) {
			xasprintf(cause, "PATCH_BLOCK of block %llu: a bad "
			    "answer", (unsigned long long)block);
			rc = -EPROTO;
			break;
		}
		patch_frame(&out, &lb, *new_gen, chunk, new_len, r + start,
		    end - start);
		if ((ok = patch_fan_out(c, &lb, &out, &full, cause)) == 0) {
			rc = full ? -ENOSPC : -EREMOTEIO;
			break;
		}
		if (ok < least)
			least = ok;
		if (ok < lb.nlocs)
			log_warn("block %llu patched on %u of %u replicas; the "
			    "namenode copies it again", (unsigned long long)
			    block, ok, lb.nlocs);
		*new_gen = lb.gen;
		free(*cause);
		*cause = NULL;
	}
	if (rc == 0)
		*nok = least;
	dfs_wbuf_release(&out);
	free(r);
	return rc;
}
