/*
 * nn-write.c: the write path of a file: blocks allocated to its writer
 * (ADD_BLOCK), given up after a failed pipeline (ABANDON), and the file
 * committed (COMPLETE) with its final size and, for a .npy, its array
 * metadata.
 *
 * Why it is built this way.  A file being written carries a lease, the
 * name of its writing client; every step checks it, so two writers can
 * never interleave blocks.  A block's length becomes final when the next
 * block is asked for or the file completes, and only then do replicas of
 * another length stop counting.  COMPLETE succeeds only when every block
 * has a replica a data node has confirmed (RECEIVED); it waits for them,
 * briefly and without the lock, because data nodes confirm just before
 * the writer sees its last acknowledgement.  The array metadata is kept
 * only when it is true of the bytes: the header parses, the data fills
 * the file exactly and every block starts on a whole element, so each
 * block can later be reduced on its own.
 *
 * Recovery.  When a node of a pipeline fails mid-block, the writer keeps
 * the block and asks for a new generation stamp for it (UPDATE_PIPELINE)
 * naming the nodes that survive; those continue the replica under the new
 * stamp, so a replica of the old one that turns up later (a node that
 * comes back) is stale and deleted (nn-blockmap.c).  A writer renews its
 * lease with every call and, while idle, with RENEW_LEASE; a file whose
 * lease is older than namenode.lease_timeout lost its writer and is
 * recovered by the monitor (nn-recover.c), with the helpers below that
 * close a file.
 *
 * Refusals.  A pipeline a data node refused is abandoned (ABANDON), and
 * its writer names the node and its errno: one that refused for space is
 * marked full (nn_place_refused) until its heartbeat shows room, so no
 * writer is sent to it again meanwhile.  A writer whose write failed may
 * also give the whole file up (DFS_ABANDON_FILE): it is closed empty,
 * which is what dfs-mount leaves of a failed copy.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "npy.h"
#include "nn_i.h"
#include "token.h"
#include "xmalloc.h"

static const char sql_block[] =
	"SELECT id, idx, gen, offset, length, complete FROM blocks "
	"WHERE id = ?";
static const char sql_last_block[] =
	"SELECT id, idx, gen, offset, length, complete FROM blocks "
	"WHERE ino = ? ORDER BY idx DESC LIMIT 1";
static const char sql_file_blocks[] =
	"SELECT id, idx, gen, offset, length, complete FROM blocks "
	"WHERE ino = ? ORDER BY idx";

/* The state of a file being written, from its inode. */
struct nn_wfile {
	int		 type;
	bool		 uc;
	char		*lease;
	uint64_t	 block_size;
	unsigned	 repl;
};

/* Release what nn_write_lease filled in. */
static void
nn_write_wfile_free(struct nn_wfile *f)
{
	free(f->lease);
	f->lease = NULL;
}

/*
 * The longest a block at this file offset may be.  The first block of a
 * .npy file holds the header as well as a block's worth of elements, so
 * it may exceed the block size by at most the largest header.
 */
static uint64_t
nn_write_max_block(const struct nn_wfile *f, uint64_t offset)
{
	return f->block_size + (offset == 0 ? DFS_NPY_MAX_HEADER + 16 : 0);
}

/* The two fields every write request opens with: the file's inode into
 * *ino and, returned, its writer's client name (NULL when the payload is
 * bad: nn_server_decoded says so).  Caller frees. */
static char *
nn_write_get_file(struct nn_req *req, dfs_ino *ino)
{
	*ino = dfs_get_u64(&req->in);
	return dfs_get_strdup(&req->in, NN_MAX_CLIENT_NAME);
}

/* Answer ADD_BLOCK or UPDATE_PIPELINE: block lb, with a token to write
 * it to the data nodes of its pipeline. */
static void
nn_write_reply_block(struct nn_req *req, struct dfs_lblock *lb)
{
	nn_keys_sign(req->nn, &lb->token, lb->block, lb->gen,
	    DFS_TOKEN_WRITE, req->peer->cred.uid, lb, time(NULL));
	dfs_proto_put_lblock(nn_server_reply(req, DFS_NN_LBLOCK), lb);
}

/*
 * Check that client holds the lease of file ino, which is being written;
 * fills f.  Renews the lease when renew is set (inside a transaction).
 */
static int
nn_write_lease(struct nn_req *req, dfs_ino ino, const char *client,
    bool renew, struct nn_wfile *f)
{
	static const char sql[] =
	    "SELECT type, under_construction, lease_client, block_size, "
	    "replication FROM inodes WHERE id = ?";
	struct nn	*nn = req->nn;
	sqlite3_stmt	*st;
	const char	*lease;
	int		 rc;

	memset(f, 0, sizeof *f);
	st = nn_db_sql(nn, sql, "i", (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc != 0 ? rc : nn_server_fail(req, -ENOENT, "no such "
		    "file (inode %llu): it was deleted or replaced",
		    (unsigned long long)ino);
	f->type = sqlite3_column_int(st, 0);
	f->uc = sqlite3_column_int(st, 1) != 0;
	lease = (const char *)sqlite3_column_text(st, 2);
	f->lease = lease != NULL ? xstrdup(lease) : NULL;
	f->block_size = (uint64_t)sqlite3_column_int64(st, 3);
	f->repl = (unsigned)sqlite3_column_int(st, 4);
	nn_db_reset(st);
	if (f->type != DFS_FT_FILE)
		return nn_server_fail(req, -EISDIR, "inode %llu is a directory",
		    (unsigned long long)ino);
	if (!f->uc)
		return nn_server_fail(req, -EINVAL, "file (inode %llu) is not "
		    "being written", (unsigned long long)ino);
	if (f->lease == NULL || strcmp(f->lease, client) != 0)
		return nn_server_fail(req, -EPERM, "file is being written by "
		    "another client");
	if ((rc = nn_perm_writer(req, ino)) != 0)
		return rc;
	if (renew)
		return nn_recover_renew(nn, ino);
	return 0;
}

/*
 * Why no node could take a new block of file f: -ENOSPC, with a cause
 * that says whether no data node is live or none has room (the
 * programs of a mount see ENOSPC, "No space left on device").
 */
static int
nn_write_no_room(struct nn_req *req, const struct nn_wfile *f,
    unsigned nexcl)
{
	int64_t	live = 0;

	(void)nn_db_i64(req->nn, &live, "SELECT count(*) FROM live.nodes "
	    "WHERE state = 1", "");
	if (live == 0)
		return nn_server_fail(req, -ENOSPC, "no live data nodes to "
		    "place a block on (0 of %u wanted)", f->repl);
	return nn_server_fail(req, -ENOSPC, "no space left: none of the "
	    "%lld live data node%s has room for a block of %llu bytes%s",
	    (long long)live, live == 1 ? "" : "s",
	    (unsigned long long)f->block_size, nexcl > 0 ?
	    " (or the writer had to avoid it)" : "");
}

/* The ADD_BLOCK work inside its transaction; the reply goes into lb. */
static int
nn_write_do_add(struct nn_req *req, dfs_ino ino, const char *client,
    dfs_block_id prev, uint64_t prev_len, uint64_t offset,
    const dfs_node_id *excl, unsigned nexcl, struct dfs_lblock *lb)
{
	struct nn	*nn = req->nn;
	struct nn_wfile	 f;
	struct nn_block	 last;
	struct nn_target targets[DFS_MAX_REPLICATION];
	bool		 have_last;
	int64_t		 id, gen, now = dfs_now_ms();
	uint64_t	 expect;
	int		 n, rc;

	if ((rc = nn_write_lease(req, ino, client, true, &f)) != 0 ||
	    (rc = nn_perm_wrote(req, ino)) != 0)
		goto out;
	rc = nn_blockmap_get(nn, sql_last_block, (int64_t)ino, &last);
	if (rc != 0 && rc != -ENOENT)
		goto out;
	have_last = rc == 0;
	if (prev != 0) {
		if (!have_last || last.id != prev) {
			rc = nn_server_fail(req, -EINVAL, "block %llu is not "
			    "the last block of the file",
			    (unsigned long long)prev);
			goto out;
		}
		if (prev_len > nn_write_max_block(&f, last.offset) ||
		    (last.complete && last.len != prev_len)) {
			rc = nn_server_fail(req, -EINVAL, "bad length %llu for "
			    "block %llu", (unsigned long long)prev_len,
			    (unsigned long long)prev);
			goto out;
		}
		if ((rc = nn_db_exec(nn, "UPDATE blocks SET length = ?2, "
		    "complete = 1 WHERE id = ?1", "ii", (int64_t)prev,
		    (int64_t)prev_len)) != 0)
			goto out;
		last.len = prev_len;
		last.complete = true;
	} else if (have_last && !last.complete) {
		/* A retry for the same slot: the unfinished block goes. */
		if (last.offset != offset) {
			rc = nn_server_fail(req, -EINVAL, "the last block %llu "
			    "is not finished", (unsigned long long)last.id);
			goto out;
		}
		if ((rc = nn_blockmap_drop_block(nn, last.id, last.gen)) != 0)
			goto out;
		rc = nn_blockmap_get(nn, sql_last_block, (int64_t)ino, &last);
		if (rc != 0 && rc != -ENOENT)
			goto out;
		have_last = rc == 0;
	}
	expect = have_last ? last.offset + last.len : 0;
	if (offset != expect) {
		rc = nn_server_fail(req, -EINVAL, "block offset %llu does not "
		    "follow the file's blocks (expected %llu)",
		    (unsigned long long)offset, (unsigned long long)expect);
		goto out;
	}
	n = nn_place_choose(nn, f.repl, f.block_size, excl, nexcl, targets);
	if (n <= 0) {
		rc = n < 0 ? n : nn_write_no_room(req, &f, nexcl);
		goto out;
	}
	if ((rc = nn_db_counter(nn, "next_block", &id)) != 0 ||
	    (rc = nn_db_counter(nn, "next_gen", &gen)) != 0)
		goto out;
	if ((rc = nn_db_exec(nn, "INSERT INTO blocks(id, ino, idx, gen, offset,"
	    " length, complete) VALUES (?, ?, ?, ?, ?, 0, 0)", "iiiii", id,
	    (int64_t)ino, have_last ? last.idx + 1 : (int64_t)0, gen,
	    (int64_t)offset)) != 0)
		goto out;
	memset(lb, 0, sizeof *lb);
	lb->block = (dfs_block_id)id;
	lb->gen = (uint64_t)gen;
	lb->offset = offset;
	for (int i = 0; i < n && rc == 0; i++) {
		lb->locs[i].node = targets[i].node;
		memcpy(lb->locs[i].addr, targets[i].addr,
		    sizeof lb->locs[i].addr);
		rc = nn_db_exec(nn, "INSERT OR REPLACE INTO live.pending("
		    "block, node, bytes, kind, since_ms) VALUES (?, ?, ?, 1, "
		    "?)",
		    "iiii", id, (int64_t)targets[i].node,
		    (int64_t)f.block_size, now);
	}
	lb->nlocs = (uint32_t)n;
	if (n < (int)f.repl)
		log_info("block %lld of inode %llu: only %d of %u data nodes",
		    (long long)id, (unsigned long long)ino, n, f.repl);
out:
	nn_write_wfile_free(&f);
	return rc;
}

/* ADD_BLOCK: finish the previous block and place a new one. */
int
nn_write_op_add_block(struct nn_req *req)
{
	struct dfs_lblock lb;
	dfs_node_id	 excl[NN_MAX_EXCLUDE];
	dfs_ino		 ino;
	char		*client;
	dfs_block_id	 prev;
	uint64_t	 prev_len, offset;
	uint32_t	 nexcl;
	int		 rc;

	client = nn_write_get_file(req, &ino);
	prev = dfs_get_u64(&req->in);
	prev_len = dfs_get_u64(&req->in);
	offset = dfs_get_u64(&req->in);
	nexcl = dfs_get_u32(&req->in);
	if (nexcl > NN_MAX_EXCLUDE) {
		free(client);
		return nn_server_fail(req, -EINVAL, "too many excluded nodes "
		    "(%u, at most %d)", nexcl, NN_MAX_EXCLUDE);
	}
	for (uint32_t i = 0; i < nexcl; i++)
		excl[i] = dfs_get_u64(&req->in);
	if ((rc = nn_server_decoded(req)) != 0) {
		free(client);
		return rc;
	}
	if (offset > INT64_MAX || prev_len > INT64_MAX) {
		free(client);
		return nn_server_fail(req, -EINVAL, "offset out of range");
	}
	if ((rc = nn_server_enter(req)) == 0)
		rc = nn_write_do_add(req, ino, client, prev, prev_len,
		    offset, excl, nexcl, &lb);
	if (rc == 0) {
		log_debug("block %llu gen %llu at %llu of inode %llu on %u "
		    "nodes", (unsigned long long)lb.block,
		    (unsigned long long)lb.gen, (unsigned long long)offset,
		    (unsigned long long)ino, lb.nlocs);
		nn_write_reply_block(req, &lb);
	}
	free(client);
	return rc;
}

struct nn_complete {
	dfs_ino		 ino;
	char		*client;
	dfs_block_id	 last;
	uint64_t	 last_len;
	uint64_t	 size;
	const void	*header;
	size_t		 header_len;
	/* Found by the check. */
	struct nn_block	*blocks;
	size_t		 nblocks;
	dfs_block_id	 waiting;	/* a block without a replica yet */
};

/* The blocks of c->ino, with the last one's length as the client says. */
static int
nn_write_load(struct nn *nn, struct nn_complete *c)
{
	sqlite3_stmt	*st;
	size_t		 cap = 0;
	int		 rc;

	free(c->blocks);
	c->blocks = NULL;
	c->nblocks = 0;
	st = nn_db_sql(nn, sql_file_blocks, "i", (int64_t)c->ino);
	while ((rc = nn_db_step(nn, st)) == 1) {
		if (c->nblocks == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			c->blocks = xrealloc(c->blocks, cap *
			    sizeof *c->blocks);
		}
		nn_blockmap_row(st, &c->blocks[c->nblocks++]);
	}
	return rc;
}

/*
 * Whether file c->ino can be completed as c says: its lease, the last
 * block, contiguous blocks adding up to the size.  -EAGAIN when all is
 * right but a block has no good replica yet (c->waiting).
 */
static int
nn_write_check_complete(struct nn_req *req, struct nn_complete *c,
    bool renew)
{
	static const char sql_good[] =
	    "SELECT count(*) FROM live.replicas r JOIN live.nodes n "
	    "ON n.id = r.node WHERE r.block = ?1 AND r.gen = ?2 AND "
	    "r.corrupt = 0 AND n.state = 1 AND r.len = ?3";
	struct nn	*nn = req->nn;
	struct nn_wfile	 f;
	uint64_t	 off = 0;
	int64_t		 good;
	int		 rc;

	if ((rc = nn_write_lease(req, c->ino, c->client, renew, &f)) != 0 ||
	    (rc = nn_write_load(nn, c)) != 0)
		goto out;
	if (c->last != 0 && (c->nblocks == 0 ||
	    c->blocks[c->nblocks - 1].id != c->last)) {
		rc = nn_server_fail(req, -EINVAL, "block %llu is not the last "
		    "block of the file", (unsigned long long)c->last);
		goto out;
	}
	for (size_t i = 0; i < c->nblocks; i++) {
		struct nn_block *b = &c->blocks[i];
		if (b->id == c->last)
			b->len = c->last_len;
		else if (!b->complete) {
			rc = nn_server_fail(req, -EINVAL, "block %llu is not "
			    "finished", (unsigned long long)b->id);
			goto out;
		}
		if (b->offset != off || b->len > nn_write_max_block(&f, off)) {
			rc = nn_server_fail(req, -EINVAL, "block %llu does not "
			    "fit (offset %llu, length %llu)",
			    (unsigned long long)b->id,
			    (unsigned long long)b->offset,
			    (unsigned long long)b->len);
			goto out;
		}
		off += b->len;
	}
	if (off != c->size) {
		rc = nn_server_fail(req, -EINVAL, "size %llu does not match "
		    "the blocks (%llu bytes)", (unsigned long long)c->size,
		    (unsigned long long)off);
		goto out;
	}
	for (size_t i = 0; i < c->nblocks; i++) {
		struct nn_block *b = &c->blocks[i];
		if ((rc = nn_db_i64(nn, &good, sql_good, "iii", (int64_t)b->id,
		    (int64_t)b->gen, (int64_t)b->len)) != 0)
			goto out;
		if (good == 0) {
			c->waiting = b->id;
			rc = -EAGAIN;
			goto out;
		}
	}
out:
	nn_write_wfile_free(&f);
	return rc;
}

/*
 * Whether the header (a file's first bytes, up to its data) describes
 * the file of this size and these blocks: it parses, its data fills the
 * file exactly and every block after the first starts on a whole element,
 * so each block can be reduced on its own.  Fills h.  False means plain
 * bytes; the log says why (ino names the file).
 */
bool
nn_write_npy_fits(dfs_ino ino, const void *header, size_t header_len,
    uint64_t size, const struct nn_block *blocks, size_t nblocks,
    struct dfs_npy_header *h)
{
	char	*cause = NULL;
	int	 rc;

	if (header_len == 0)
		return false;
	if ((rc = dfs_npy_parse(header, header_len, h, NULL, &cause)) != 0) {
		log_debug("inode %llu is plain bytes: %s",
		    (unsigned long long)ino, cause != NULL ? cause :
		    strerror(-rc));
		free(cause);
		return false;
	}
	if (h->itemsize == 0 || h->data_offset > size ||
	    h->data_bytes != size - h->data_offset) {
		log_debug("inode %llu is plain bytes: .npy data of %llu bytes "
		    "does not match the size", (unsigned long long)ino,
		    (unsigned long long)h->data_bytes);
		return false;
	}
	for (size_t i = 1; i < nblocks; i++) {
		uint64_t off = blocks[i].offset;
		if (off < h->data_offset ||
		    (off - h->data_offset) % h->itemsize != 0) {
			log_debug("inode %llu is plain bytes: block %zu "
			    "starts mid-element", (unsigned long long)ino, i);
			return false;
		}
	}
	return true;
}

/* Queue for deletion the replicas of block b that disagree with its final
 * generation and length, and forget them. */
int
nn_write_drop_stale(struct nn *nn, const struct nn_block *b)
{
	static const char sql_stale[] =
	    "SELECT node, gen FROM live.replicas WHERE block = ?1 AND "
	    "(gen != ?2 OR len != ?3)";
	sqlite3_stmt	*st;
	int64_t		 nodes[64], gens[64];
	int		 n = 0, rc;

	st = nn_db_sql(nn, sql_stale, "iii", (int64_t)b->id, (int64_t)b->gen,
	    (int64_t)b->len);
	while (n < 64 && (rc = nn_db_step(nn, st)) == 1) {
		nodes[n] = sqlite3_column_int64(st, 0);
		gens[n++] = sqlite3_column_int64(st, 1);
	}
	nn_db_reset(st);
	if (rc == 1)
		rc = 0;
	for (int k = 0; rc == 0 && k < n; k++) {
		rc = nn_datanodes_queue(nn, (dfs_node_id)nodes[k],
		    DFS_CMD_DELETE, b->id, (uint64_t)gens[k], NULL, 0);
		if (rc == 0)
			rc = nn_db_exec(nn, "DELETE FROM live.replicas WHERE "
			    "block = ? AND node = ?", "ii", (int64_t)b->id,
			    nodes[k]);
	}
	return rc;
}

/* Close file ino at size bytes, with the array metadata of h, or as plain
 * bytes when h is NULL: no lease any more, mtime and ctime now. */
int
nn_write_close(struct nn *nn, dfs_ino ino, uint64_t size,
    const struct dfs_npy_header *h)
{
	static const char sql_done[] =
	    "UPDATE inodes SET size = ?2, under_construction = 0, "
	    "lease_client = NULL, lease_ms = NULL, mtime_ns = ?3, "
	    "ctime_ns = ?3, descr = ?4, fortran = ?5, shape = ?6, "
	    "data_offset = ?7, itemsize = ?8, header_len = ?9 WHERE id = ?1";
	char	shape[64 * 21 + 1];

	if (h == NULL)
		return nn_db_exec(nn, sql_done, "iiinnnnnn", (int64_t)ino,
		    (int64_t)size, nn_wall_ns());
	shape[0] = '\0';
	for (int i = 0; i < h->ndim; i++)
		snprintf(shape + strlen(shape), sizeof shape - strlen(shape),
		    "%s%" PRIu64, i == 0 ? "" : ",", h->shape[i]);
	return nn_db_exec(nn, sql_done, "iiititiii", (int64_t)ino,
	    (int64_t)size, nn_wall_ns(), h->descr, (int64_t)h->fortran_order,
	    shape, (int64_t)h->data_offset, (int64_t)h->itemsize,
	    (int64_t)h->header_len);
}

/* The COMPLETE work inside its transaction. */
static int
nn_write_do_complete(struct nn_req *req, struct nn_complete *c)
{
	struct nn		*nn = req->nn;
	struct dfs_npy_header	 h;
	bool			 valid;
	int			 rc;

	if ((rc = nn_write_check_complete(req, c, true)) != 0)
		return rc;
	if (c->last != 0 && (rc = nn_db_exec(nn, "UPDATE blocks SET "
	    "length = ?2, complete = 1 WHERE id = ?1", "ii", (int64_t)c->last,
	    (int64_t)c->last_len)) != 0)
		return rc;
	/* Replicas that disagree with the final length go. */
	for (size_t i = 0; rc == 0 && i < c->nblocks; i++)
		rc = nn_write_drop_stale(nn, &c->blocks[i]);
	if (rc != 0)
		return rc;
	valid = nn_write_npy_fits(c->ino, c->header, c->header_len, c->size,
	    c->blocks, c->nblocks, &h);
	rc = nn_write_close(nn, c->ino, c->size, valid ? &h : NULL);
	if (rc == 0)
		log_debug("completed inode %llu: %llu bytes in %zu blocks%s",
		    (unsigned long long)c->ino, (unsigned long long)c->size,
		    c->nblocks, valid ? ", an array" : "");
	return rc;
}

/* Whether file ino is already complete with this size (a retried
 * COMPLETE whose reply was lost). */
static bool
nn_write_completed(struct nn *nn, const struct nn_complete *c)
{
	int64_t	size;

	return nn_db_i64(nn, &size, "SELECT size FROM inodes WHERE id = ? AND "
	    "type = 1 AND under_construction = 0", "i", (int64_t)c->ino) == 0 &&
	    (uint64_t)size == c->size;
}

/* COMPLETE's transaction as a group's batch runs it (nn-batch.c), the
 * lock and the transaction held: its checks again, as the state may have
 * changed since the wait. */
static int
nn_write_complete_batched(struct nn_req *req)
{
	struct nn_complete	*c = req->batch_arg;

	if (nn_write_completed(req->nn, c))
		return 0;	/* by a retry meanwhile */
	return nn_write_do_complete(req, c);
}

/*
 * COMPLETE: finish a file.  Waits (without the lock) up to
 * NN_COMPLETE_WAIT_MS for every block to have a replica, then commits the
 * last length, the size and any array metadata in one transaction.  The
 * server takes the lock (NN_LOCK) but not the transaction: it is begun
 * here, after the wait, since the wait lets the lock go.
 */
int
nn_write_op_complete(struct nn_req *req)
{
	struct nn		*nn = req->nn;
	struct nn_complete	 c;
	int64_t			 deadline = dfs_now_ms() + NN_COMPLETE_WAIT_MS;
	int			 rc;

	memset(&c, 0, sizeof c);
	c.client = nn_write_get_file(req, &c.ino);
	c.last = dfs_get_u64(&req->in);
	c.last_len = dfs_get_u64(&req->in);
	c.size = dfs_get_u64(&req->in);
	c.header = dfs_get_blob(&req->in, NN_MAX_NPY_HEADER, &c.header_len);
	if ((rc = nn_server_decoded(req)) != 0)
		goto out;
	if (c.size > INT64_MAX || c.last_len > INT64_MAX) {
		rc = nn_server_fail(req, -EINVAL, "size out of range");
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0 || nn_write_completed(nn, &c))
		goto out;
	for (;;) {
		rc = nn_write_check_complete(req, &c, false);
		if (rc != -EAGAIN || dfs_now_ms() >= deadline)
			break;
		dfs_cond_wait_until(&nn->replica_added, &nn->lock, deadline);
	}
	if (rc == -EAGAIN) {
		rc = nn_server_fail(req, -EAGAIN, "block not yet replicated "
		    "(block %llu has no replica reported)",
		    (unsigned long long)c.waiting);
		goto out;
	}
	if (rc != 0)
		goto out;
	if (nn->group != NULL) {
		/* A group's COMPLETEs share entries (nn-batch.c). */
		pthread_mutex_unlock(&nn->lock);
		req->locked = false;
		req->batch_arg = &c;
		rc = nn_batch_run(nn, req, nn_write_complete_batched, true);
		goto out;
	}
	if ((rc = nn_db_begin(nn)) == 0) {
		rc = nn_write_do_complete(req, &c);
		rc = nn_db_end(nn, rc);
	}
out:
	free(c.client);
	free(c.blocks);
	return rc;
}

/*
 * What ABANDON says besides its block (the optional tail): give the whole
 * file up, and which node of the block's pipeline refused it and why.
 */
struct nn_abandon {
	dfs_ino		 ino;
	char		*client;
	dfs_block_id	 block;
	uint8_t		 flags;		/* DFS_ABANDON_* */
	dfs_node_id	 refuser;	/* 0: none named */
	int32_t		 reason;	/* its -errno */
};

/*
 * A node of the pipeline of block refused it for lack of space (as its
 * writer tells): no new block goes to it until its next heartbeat shows
 * room.  Only a node the block was placed on may be named, so a writer
 * can speak only of nodes it was sent to.
 */
static int
nn_write_refused(struct nn_req *req, const struct nn_abandon *a)
{
	struct nn	*nn = req->nn;
	int64_t		 placed;
	int		 rc;

	if (a->refuser == 0)
		return 0;
	if ((rc = nn_db_i64(nn, &placed, "SELECT count(*) FROM live.pending "
	    "WHERE block = ? AND node = ? AND kind = 1", "ii",
	    (int64_t)a->block, (int64_t)a->refuser)) != 0)
		return rc;
	if (placed == 0)
		return nn_server_fail(req, -EINVAL, "data node %llu is not in "
		    "the pipeline of block %llu", (unsigned long long)a->refuser,
		    (unsigned long long)a->block);
	if (a->reason != -ENOSPC && a->reason != -EDQUOT)
		return 0;
	return nn_place_refused(nn, a->refuser, a->client);
}

/* Give file a->ino up (DFS_ABANDON_FILE): its blocks go and it is closed
 * empty, so nothing its failed writer wrote is shown as its contents. */
static int
nn_write_discard(struct nn *nn, const struct nn_abandon *a)
{
	int	rc;

	if ((rc = nn_blockmap_drop_file(nn, a->ino)) != 0 ||
	    (rc = nn_write_close(nn, a->ino, 0, NULL)) != 0)
		return rc;
	log_info("inode %llu given up by its writer %s: closed empty",
	    (unsigned long long)a->ino, a->client);
	return 0;
}

/* The ABANDON work inside its transaction. */
static int
nn_write_do_abandon(struct nn_req *req, const struct nn_abandon *a)
{
	struct nn	*nn = req->nn;
	struct nn_wfile	 f;
	struct nn_block	 last;
	int		 rc;

	if ((rc = nn_write_lease(req, a->ino, a->client, true, &f)) != 0)
		goto out;
	if ((rc = nn_write_refused(req, a)) != 0)
		goto out;
	if (a->flags & DFS_ABANDON_FILE) {
		rc = nn_write_discard(nn, a);
		goto out;
	}
	rc = nn_blockmap_get(nn, sql_last_block, (int64_t)a->ino, &last);
	if (rc == -ENOENT || (rc == 0 && last.id != a->block)) {
		/* Already gone, or never this file's last block. */
		rc = nn_blockmap_get(nn, sql_block, (int64_t)a->block, &last);
		if (rc == 0)
			rc = nn_server_fail(req, -EINVAL, "block %llu is not "
			    "the last block of the file",
			    (unsigned long long)a->block);
		else if (rc == -ENOENT)
			rc = 0;
	} else if (rc == 0 && last.complete)
		rc = nn_server_fail(req, -EINVAL, "block %llu is finished",
		    (unsigned long long)a->block);
	else if (rc == 0) {
		log_debug("abandoning block %llu of inode %llu",
		    (unsigned long long)a->block, (unsigned long long)a->ino);
		rc = nn_blockmap_drop_block(nn, last.id, last.gen);
	}
out:
	nn_write_wfile_free(&f);
	return rc;
}

/*
 * ABANDON: drop the unfinished last block after a failed pipeline, or
 * (DFS_ABANDON_FILE) the whole file after a failed write; the node that
 * refused the pipeline may be named with its reason.
 */
int
nn_write_op_abandon(struct nn_req *req)
{
	struct nn_abandon	 a;
	int			 rc;

	memset(&a, 0, sizeof a);
	a.client = nn_write_get_file(req, &a.ino);
	a.block = dfs_get_u64(&req->in);
	if (req->in.err == 0 && dfs_rbuf_left(&req->in) > 0) {
		a.flags = dfs_get_u8(&req->in);
		a.refuser = dfs_get_u64(&req->in);
		a.reason = dfs_get_i32(&req->in);
	}
	if ((rc = nn_server_decoded(req)) != 0)
		goto out;
	if ((a.flags & ~DFS_ABANDON_FILE) != 0 || a.reason > 0 ||
	    a.reason < -4095 || a.refuser > INT64_MAX ||
	    a.block > INT64_MAX) {
		rc = nn_server_fail(req, -EINVAL, "bad ABANDON (flags 0x%x, "
		    "reason %d)", a.flags, a.reason);
		goto out;
	}
	if ((rc = nn_server_enter(req)) == 0)
		rc = nn_write_do_abandon(req, &a);
out:
	free(a.client);
	return rc;
}

/* The UPDATE_PIPELINE work inside its transaction; the reply into lb. */
static int
nn_write_do_update(struct nn_req *req, dfs_ino ino, const char *client,
    dfs_block_id block, uint64_t old_gen, const dfs_node_id *keep,
    uint32_t nkeep, struct dfs_lblock *lb)
{
	static const char sql_addr[] =
	    "SELECT d.addr FROM datanodes d JOIN live.nodes n ON n.id = d.id "
	    "WHERE d.id = ? AND n.state = 1";
	static const char sql_old[] =
	    "SELECT node, gen FROM live.replicas WHERE block = ?1 AND gen != ?2";
	struct nn	*nn = req->nn;
	struct nn_wfile	 f;
	struct nn_block	 last;
	sqlite3_stmt	*st;
	int64_t		 gen, nodes[64], gens[64];
	int		 n = 0, rc;

	memset(lb, 0, sizeof *lb);
	if ((rc = nn_write_lease(req, ino, client, true, &f)) != 0 ||
	    (rc = nn_perm_wrote(req, ino)) != 0)
		goto out;
	rc = nn_blockmap_get(nn, sql_last_block, (int64_t)ino, &last);
	if (rc != 0 && rc != -ENOENT)
		goto out;
	if (rc == -ENOENT || last.id != block) {
		rc = nn_server_fail(req, -EINVAL, "block %llu is not the last "
		    "block of the file", (unsigned long long)block);
		goto out;
	}
	if (last.complete) {
		rc = nn_server_fail(req, -EINVAL, "block %llu is finished",
		    (unsigned long long)block);
		goto out;
	}
	if (last.gen != old_gen) {
		rc = nn_server_fail(req, -ESTALE, "block %llu is at generation "
		    "%llu, not %llu", (unsigned long long)block,
		    (unsigned long long)last.gen, (unsigned long long)old_gen);
		goto out;
	}
	for (uint32_t i = 0; i < nkeep; i++) {
		const char *addr;
		for (uint32_t j = 0; j < i; j++)
			if (keep[j] == keep[i]) {
				rc = nn_server_fail(req, -EINVAL, "data node "
				    "%llu named twice",
				    (unsigned long long)keep[i]);
				goto out;
			}
		st = nn_db_sql(nn, sql_addr, "i", (int64_t)keep[i]);
		if ((rc = nn_db_step(nn, st)) != 1) {
			if (rc == 0)
				rc = nn_server_fail(req, -EHOSTDOWN, "data "
				    "node %llu is unknown or dead",
				    (unsigned long long)keep[i]);
			goto out;
		}
		addr = (const char *)sqlite3_column_text(st, 0);
		lb->locs[i].node = keep[i];
		snprintf(lb->locs[i].addr, sizeof lb->locs[i].addr, "%s",
		    addr != NULL ? addr : "");
		nn_db_reset(st);
	}
	lb->nlocs = nkeep;
	if ((rc = nn_db_counter(nn, "next_gen", &gen)) != 0 ||
	    (rc = nn_db_exec(nn, "UPDATE blocks SET gen = ?2 WHERE id = ?1",
	    "ii", (int64_t)block, gen)) != 0)
		goto out;
	/* Space is reserved on the survivors only; replicas of another
	 * generation (none, normally: the block was unfinished) go. */
	if ((rc = nn_db_exec(nn, "DELETE FROM live.pending WHERE block = ?",
	    "i", (int64_t)block)) != 0)
		goto out;
	for (uint32_t i = 0; i < nkeep && rc == 0; i++)
		rc = nn_db_exec(nn, "INSERT OR REPLACE INTO live.pending(block, "
		    "node, bytes, kind, since_ms) VALUES (?, ?, ?, 1, ?)",
		    "iiii", (int64_t)block, (int64_t)keep[i],
		    (int64_t)f.block_size, dfs_now_ms());
	st = nn_db_sql(nn, sql_old, "ii", (int64_t)block, gen);
	while (rc == 0 && n < 64 && (rc = nn_db_step(nn, st)) == 1) {
		nodes[n] = sqlite3_column_int64(st, 0);
		gens[n++] = sqlite3_column_int64(st, 1);
		rc = 0;
	}
	nn_db_reset(st);
	if (rc == 1)
		rc = 0;
	/* Not on a survivor: the last packet may have reached it, which then
	 * finalized the block, and its RESUME starts from that replica
	 * (dn-store.c); the new generation replaces it there, or its next
	 * block report shows it superseded. */
	for (int k = 0; rc == 0 && k < n; k++) {
		bool kept = false;
		for (uint32_t i = 0; i < nkeep; i++)
			kept |= keep[i] == (dfs_node_id)nodes[k];
		if (!kept)
			rc = nn_datanodes_queue(nn, (dfs_node_id)nodes[k],
			    DFS_CMD_DELETE, block, (uint64_t)gens[k], NULL, 0);
	}
	if (rc == 0 && n > 0)
		rc = nn_db_exec(nn, "DELETE FROM live.replicas WHERE block = ?1 "
		    "AND gen != ?2", "ii", (int64_t)block, gen);
	if (rc != 0)
		goto out;
	lb->block = block;
	lb->gen = (uint64_t)gen;
	lb->offset = last.offset;
out:
	nn_write_wfile_free(&f);
	return rc;
}

/*
 * UPDATE_PIPELINE: a node of the pipeline of the file's unfinished last
 * block failed; the block continues on the survivors under a new
 * generation stamp.
 */
int
nn_write_op_update_pipeline(struct nn_req *req)
{
	struct dfs_lblock lb;
	dfs_node_id	 keep[DFS_MAX_REPLICATION];
	dfs_ino		 ino;
	dfs_block_id	 block;
	uint64_t	 old_gen;
	uint32_t	 nkeep;
	char		*client;
	int		 rc;

	client = nn_write_get_file(req, &ino);
	block = dfs_get_u64(&req->in);
	old_gen = dfs_get_u64(&req->in);
	nkeep = dfs_get_u32(&req->in);
	if (nkeep > DFS_MAX_REPLICATION)
		req->in.err = -EBADMSG;
	for (uint32_t i = 0; i < nkeep && req->in.err == 0; i++)
		keep[i] = dfs_get_u64(&req->in);
	if ((rc = nn_server_decoded(req)) != 0)
		goto out;
	if (nkeep == 0 || block > INT64_MAX) {
		rc = nn_server_fail(req, -EINVAL, "a pipeline needs at least "
		    "one data node");
		goto out;
	}
	for (uint32_t i = 0; i < nkeep; i++)
		if (keep[i] > INT64_MAX) {
			rc = nn_server_fail(req, -EINVAL, "bad node id");
			goto out;
		}
	if ((rc = nn_server_enter(req)) == 0)
		rc = nn_write_do_update(req, ino, client, block, old_gen, keep,
		    nkeep, &lb);
	if (rc == 0) {
		log_info("block %llu of inode %llu: pipeline recovered on %u "
		    "node%s, generation %llu (was %llu)",
		    (unsigned long long)block, (unsigned long long)ino, nkeep,
		    nkeep == 1 ? "" : "s", (unsigned long long)lb.gen,
		    (unsigned long long)old_gen);
		nn_write_reply_block(req, &lb);
	}
out:
	free(client);
	return rc;
}

/* RENEW_LEASE: the writer of file ino is alive, though idle. */
int
nn_write_op_renew_lease(struct nn_req *req)
{
	struct nn_wfile	 f;
	dfs_ino		 ino;
	char		*client;
	int		 rc;

	client = nn_write_get_file(req, &ino);
	memset(&f, 0, sizeof f);
	if ((rc = nn_server_decoded(req)) != 0)
		goto out;
	if ((rc = nn_server_enter(req)) == 0)
		rc = nn_write_lease(req, ino, client, true, &f);
out:
	nn_write_wfile_free(&f);
	free(client);
	return rc;
}
