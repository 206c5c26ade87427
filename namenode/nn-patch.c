/*
 * nn-patch.c: PATCH_BLOCK, a new generation for a block of a complete
 * file whose changed chunks a client patches in place on the block's
 * replicas (DX_PATCH, datanode/dn-patch.c), and the commit of that
 * generation when the first patched replica is reported.
 *
 * Why it is built this way.  A file written at random and fsync'ed often
 * (issue 13) should cost the changed chunks, not a new file.  The client
 * asks for a generation here and sends the same PATCH to every replica
 * itself; each node applies it and reports RECEIVED(block, new_gen,
 * new_len) before it answers OK.
 *
 * The rule that keeps a block readable whatever fails: the block's
 * generation and length (and the file's size and mtime) change only when
 * the first replica of the new generation is reported, in the transaction
 * of that RECEIVED (or block report).  Until then the patch is only
 * promised (a row of the patches table) and the replicas at the old
 * generation stay the good ones; a patch that fails everywhere changes
 * nothing, and a client that dies before patching leaves nothing to
 * undo.  From that commit on, replicas still at the old generation are
 * superseded: not counted, deleted when their node next reports them, and
 * the block is copied again from the patched ones; a patched replica
 * always matches the namespace (same generation, same length), so nothing
 * deletes it.
 * A replica reported at the promised generation but flagged corrupt by
 * its node commits nothing: the old replicas stay the good ones.
 *
 * Two writers: a file's patch lease is held by the client that asked,
 * for namenode.lease_timeout after its last PATCH_BLOCK; another client's
 * PATCH_BLOCK meanwhile is refused (EPERM), as is one for a file under
 * construction (its writer holds the lease).
 *
 * Promises are durable (the patches table, schema 4), written in the
 * PATCH_BLOCK transaction, because a data node answers the client OK once
 * its patch is applied even when its RECEIVED could not reach the
 * namenode (it is queued and sent again): the client has then been told
 * its bytes are stored, and a namenode restarted in that window must still
 * commit them when the replicas report the promised generation, not take
 * them for unknown and the block for missing.  Leases stay in memory; a
 * namenode that starts finds the promises of the last run (nn_patch_load)
 * and gives each writer a full lease period from then.  A promise is
 * dropped when its writer's lease lapsed (the monitor, outside safe mode,
 * nn_patch_expire) with no replica of the new generation reported: the
 * old generation stays the block's, and a patched replica that shows up
 * later is unknown, kept, never deleted (nn-blockmap.c).  Replicas some
 * nodes patched and others not: until the commit the old ones are the
 * block's; from it, the patched ones, the old ones are superseded and the
 * block copied again from the patched: a block never counts replicas of
 * two generations.  One promise per block: a PATCH_BLOCK of a block with
 * one outstanding (its patch failed everywhere and the writer tries
 * again) replaces it.
 *
 * For tests only: NPDFS_TEST_PATCH_CRASH=commit in the namenode's
 * environment makes it exit (status 86) when a replica reported at a
 * promised generation is about to commit it, so a test can restart it in
 * the window where every replica is patched and nothing is committed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nn_i.h"
#include "npy.h"
#include "token.h"
#include "xmalloc.h"

#define NN_PATCH_MAX	1024	/* files with a patch lease at once */

/* A file's patch lease. */
struct nn_patch {
	dfs_ino		 ino;
	char		 client[NN_MAX_CLIENT_NAME + 1];
	int64_t		 until_ms;	/* the lease lapses then */
};

/* A promise: a row of the patches table. */
struct nn_patch_promise {
	dfs_ino		 ino;
	uint64_t	 old_gen;
	uint64_t	 new_gen;
	uint64_t	 new_len;
	uint64_t	 new_size;	/* the file's, once committed */
};

/* Under the namenode lock. */
static struct nn_patch	nn_patches[NN_PATCH_MAX];
static int		nn_npatches;

/* The lease of file ino, dropping lapsed ones; NULL. */
static struct nn_patch *
nn_patch_find(dfs_ino ino, int64_t now)
{
	for (int i = 0; i < nn_npatches; i++) {
		if (nn_patches[i].until_ms < now) {
			nn_patches[i--] = nn_patches[--nn_npatches];
			continue;
		}
		if (nn_patches[i].ino == ino)
			return &nn_patches[i];
	}
	return NULL;
}

/* Give client the lease of file ino until until_ms (the caller checked
 * that no other client holds it); NULL when there is no room. */
static struct nn_patch *
nn_patch_lease(dfs_ino ino, const char *client, int64_t now,
    int64_t until_ms)
{
	struct nn_patch	*p;

	if ((p = nn_patch_find(ino, now)) == NULL) {
		if (nn_npatches == NN_PATCH_MAX)
			return NULL;
		p = &nn_patches[nn_npatches++];
		memset(p, 0, sizeof *p);
		p->ino = ino;
		snprintf(p->client, sizeof p->client, "%s", client);
	}
	p->until_ms = until_ms;
	return p;
}

/* The promise recorded for block: 1 and *pr, 0 when none, or -errno. */
static int
nn_patch_promised(struct nn *nn, dfs_block_id block,
    struct nn_patch_promise *pr)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = nn_db_sql(nn, "SELECT ino, old_gen, new_gen, new_len, new_size "
	    "FROM patches WHERE block = ?", "i", (int64_t)block);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc;
	pr->ino = (dfs_ino)sqlite3_column_int64(st, 0);
	pr->old_gen = (uint64_t)sqlite3_column_int64(st, 1);
	pr->new_gen = (uint64_t)sqlite3_column_int64(st, 2);
	pr->new_len = (uint64_t)sqlite3_column_int64(st, 3);
	pr->new_size = (uint64_t)sqlite3_column_int64(st, 4);
	nn_db_reset(st);
	return 1;
}

/* Exit here if a test asked (see the top of the file). */
static void
nn_patch_test_crash(const char *where)
{
	const char	*v = getenv("NPDFS_TEST_PATCH_CRASH");

	if (v != NULL && strcmp(v, where) == 0) {
		log_warn("NPDFS_TEST_PATCH_CRASH=%s: exiting, as a test asked",
		    where);
		_exit(86);
	}
}

/*
 * Block b was just committed at its patched generation, from node's
 * replica.  The other replicas in the map are of the older generation:
 * either their patch is on its way (the client patches every replica at
 * once, and the first to report commits), or their node missed it.  They
 * leave the map without a DELETE, which would race the patch on its way
 * and could unlink the only other copy of the bytes, and their nodes are
 * marked as expecting the block (live.pending kind 4) for NN_PATCH_WAIT_MS:
 * a patched replica comes back by its RECEIVED; after that, a node that
 * missed the patch is a copy target like any other, and the copy replaces
 * its old generation there.  node 0: none.  0 or a negative errno.
 */
int
nn_patch_expect(struct nn *nn, const struct nn_block *b, dfs_node_id node)
{
	static const char sql_mark[] =
	    "INSERT OR REPLACE INTO live.pending(block, node, bytes, kind, "
	    "since_ms) SELECT block, node, 0, 4, ?3 FROM live.replicas "
	    "WHERE block = ?1 AND gen != ?2 AND node != ?4";
	int	rc;

	if ((rc = nn_db_exec(nn, sql_mark, "iiii", (int64_t)b->id,
	    (int64_t)b->gen, dfs_now_ms(), (int64_t)node)) != 0)
		return rc;
	return nn_db_exec(nn, "DELETE FROM live.replicas WHERE block = ? AND "
	    "gen != ? AND node != ?", "iii", (int64_t)b->id, (int64_t)b->gen,
	    (int64_t)node);
}

/*
 * Node reports replica (block, gen, len) with gen newer than block b's:
 * when it is the generation the block's promise names, from b's, with its
 * length, commit it (the block's generation and length, the file's size
 * and mtime; the promise goes; the older replicas, nn_patch_expect) and
 * return 1, b updated; 0 when nothing was promised.  In the report's
 * transaction.
 */
int
nn_patch_received(struct nn *nn, struct nn_block *b, dfs_node_id node,
    uint64_t gen, uint64_t len)
{
	struct nn_patch_promise	 pr = { 0 };
	int64_t			 size = 0;
	int			 rc;

	if (!b->complete || (rc = nn_patch_promised(nn, b->id, &pr)) == 0)
		return 0;
	if (rc < 0)
		return rc;
	if (pr.new_gen != gen || pr.old_gen != b->gen || pr.new_len != len)
		return 0;
	nn_patch_test_crash("commit");
	if ((rc = nn_db_exec(nn, "UPDATE blocks SET gen = ?2, length = ?3 "
	    "WHERE id = ?1", "iii", (int64_t)b->id, (int64_t)gen,
	    (int64_t)len)) != 0 ||
	    (rc = nn_db_exec(nn, "DELETE FROM patches WHERE block = ?", "i",
	    (int64_t)b->id)) != 0 ||
	    (rc = nn_db_i64(nn, &size, "SELECT size FROM inodes WHERE id = ?",
	    "i", (int64_t)pr.ino)) != 0)
		return rc;
	if ((uint64_t)size < pr.new_size)
		size = (int64_t)pr.new_size;
	if ((rc = nn_db_exec(nn, "UPDATE inodes SET size = ?2, mtime_ns = ?3,"
	    " ctime_ns = ?3 WHERE id = ?1", "iii", (int64_t)pr.ino, size,
	    nn_wall_ns())) != 0)
		return rc;
	log_info("block %llu of inode %llu: patched to generation %llu "
	    "(was %llu), %llu bytes", (unsigned long long)b->id,
	    (unsigned long long)pr.ino, (unsigned long long)gen,
	    (unsigned long long)b->gen, (unsigned long long)len);
	b->gen = gen;
	b->len = len;
	if ((rc = nn_patch_expect(nn, b, node)) != 0)
		return rc;
	return 1;
}

/* Forget every lease (a test's restart; a namenode that stops leading). */
void
nn_patch_free(void)
{
	nn_npatches = 0;
}

/*
 * At start-up: the promises a previous run recorded, each writer given a
 * full lease period from now (reports from the data nodes may commit its
 * patches meanwhile).
 */
int
nn_patch_load(struct nn *nn)
{
	sqlite3_stmt	*st;
	int64_t		 now = dfs_now_ms();
	size_t		 n = 0;
	int		 rc;

	st = nn_db_sql(nn, "SELECT ino, client FROM patches", "");
	while ((rc = nn_db_step(nn, st)) == 1) {
		n++;
		/* No room (more files than leases): its promise goes once
		 * safe mode ends, unless a report commits it first. */
		if (nn_patch_lease((dfs_ino)sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1), now,
		    now + nn->lease_timeout_ms) == NULL)
			log_warn("no room for the patch lease of inode %lld",
			    (long long)sqlite3_column_int64(st, 0));
	}
	if (rc == 0 && n > 0)
		log_info("%zu patch(es) promised and not committed before the "
		    "restart; their writers have %lld ms", n,
		    (long long)nn->lease_timeout_ms);
	return rc;
}

/*
 * The monitor's pass: promises whose writer's lease lapsed (or whose
 * block is gone) with no replica of the new generation reported are
 * dropped; the old generation stays the block's.  Not in safe mode, where
 * the replicas that would commit them may still be coming.
 */
void
nn_patch_expire(struct nn *nn)
{
	static const char sql[] =
	    "SELECT p.block, p.ino, p.client, p.old_gen, p.new_gen, "
	    "b.id IS NULL FROM patches p LEFT JOIN blocks b ON b.id = p.block "
	    "ORDER BY p.block";
	struct nn_patch	*p;
	sqlite3_stmt	*st;
	int64_t		 drop[64], now = dfs_now_ms();
	const char	*client;
	int		 n = 0, rc = 0;
	bool		 gone;

	if (nn->safemode)
		return;
	st = nn_db_sql(nn, sql, "");
	while (n < 64 && nn_db_step(nn, st) == 1) {
		p = nn_patch_find((dfs_ino)sqlite3_column_int64(st, 1), now);
		client = (const char *)sqlite3_column_text(st, 2);
		gone = sqlite3_column_int(st, 5) != 0;
		if (!gone && p != NULL && client != NULL &&
		    strcmp(p->client, client) == 0)
			continue;
		drop[n++] = sqlite3_column_int64(st, 0);
		log_warn("block %lld: the patch to generation %lld promised "
		    "to %s is dropped (%s, no replica of it reported); "
		    "generation %lld stays", (long long)drop[n - 1],
		    (long long)sqlite3_column_int64(st, 4), client != NULL ?
		    client : "?", gone ? "the block is gone" : p == NULL ?
		    "its lease lapsed" : "another client holds the file",
		    (long long)sqlite3_column_int64(st, 3));
	}
	nn_db_reset(st);
	if (n == 0)
		return;
	if ((rc = nn_db_begin(nn)) == 0) {
		for (int i = 0; i < n && rc == 0; i++)
			rc = nn_db_exec(nn, "DELETE FROM patches WHERE "
			    "block = ?", "i", drop[i]);
		rc = nn_db_end(nn, rc);
	}
	if (rc != 0)
		log_err("cannot drop lapsed patch promises: %s",
		    strerror(-rc));
}

/* The file ino may be patched by client: its type, its state, its lease,
 * the caller's permission.  Fills *has_array. */
static int
nn_patch_file(struct nn_req *req, dfs_ino ino, const char *client,
    int64_t now, bool *has_array)
{
	static const char sql[] =
	    "SELECT type, under_construction, descr IS NOT NULL FROM inodes "
	    "WHERE id = ?";
	struct nn	*nn = req->nn;
	struct nn_patch	*p;
	sqlite3_stmt	*st;
	int		 type, uc, rc;

	st = nn_db_sql(nn, sql, "i", (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc != 0 ? rc : nn_server_fail(req, -ENOENT, "no such "
		    "file (inode %llu): it was deleted or replaced",
		    (unsigned long long)ino);
	type = sqlite3_column_int(st, 0);
	uc = sqlite3_column_int(st, 1);
	*has_array = sqlite3_column_int(st, 2) != 0;
	nn_db_reset(st);
	if (type != DFS_FT_FILE)
		return nn_server_fail(req, -EINVAL, "inode %llu is not a "
		    "regular file", (unsigned long long)ino);
	if (uc)
		return nn_server_fail(req, -EBUSY, "file (inode %llu) is "
		    "being written", (unsigned long long)ino);
	if ((rc = nn_perm_writer(req, ino)) != 0)
		return rc;
	p = nn_patch_find(ino, now);
	if (p != NULL && strcmp(p->client, client) != 0)
		return nn_server_fail(req, -EPERM, "file (inode %llu) is being "
		    "patched by another client", (unsigned long long)ino);
	return 0;
}

/* The PATCH_BLOCK work inside its transaction; the reply into lb. */
static int
nn_patch_do(struct nn_req *req, dfs_ino ino, const char *client,
    dfs_block_id block, uint64_t old_gen, uint64_t new_len,
    struct dfs_lblock *lb)
{
	static const char sql_block[] =
	    "SELECT id, idx, gen, offset, length, complete FROM blocks "
	    "WHERE id = ? AND ino = ?";
	static const char sql_good[] =
	    "SELECT r.node, d.addr FROM live.replicas r "
	    "JOIN live.nodes n ON n.id = r.node "
	    "JOIN datanodes d ON d.id = r.node "
	    "WHERE r.block = ?1 AND r.gen = ?2 AND r.len = ?3 AND "
	    "r.corrupt = 0 AND n.state = 1 ORDER BY r.node";
	struct nn	*nn = req->nn;
	struct nn_block	 b;
	sqlite3_stmt	*st;
	const char	*addr;
	int64_t		 now = dfs_now_ms(), gen, last, bsize;
	bool		 has_array = false;
	int		 rc;

	memset(lb, 0, sizeof *lb);
	if ((rc = nn_patch_file(req, ino, client, now, &has_array)) != 0)
		return rc;
	st = nn_db_sql(nn, sql_block, "ii", (int64_t)block, (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc != 0 ? rc : nn_server_fail(req, -EINVAL, "block %llu "
		    "is not a block of file (inode %llu)",
		    (unsigned long long)block, (unsigned long long)ino);
	nn_blockmap_row(st, &b);
	nn_db_reset(st);
	if (!b.complete)
		return nn_server_fail(req, -EBUSY, "block %llu is not "
		    "finished", (unsigned long long)block);
	if (b.gen != old_gen)
		return nn_server_fail(req, -ESTALE, "block %llu is at "
		    "generation %llu, not %llu", (unsigned long long)block,
		    (unsigned long long)b.gen, (unsigned long long)old_gen);
	if ((rc = nn_db_i64(nn, &last, "SELECT max(idx) FROM blocks WHERE "
	    "ino = ?", "i", (int64_t)ino)) != 0 ||
	    (rc = nn_db_i64(nn, &bsize, "SELECT block_size FROM inodes WHERE "
	    "id = ?", "i", (int64_t)ino)) != 0)
		return rc;
	if (new_len < b.len || (new_len != b.len && (b.idx != last ||
	    has_array || new_len > (uint64_t)bsize + (b.offset == 0 ?
	    DFS_NPY_MAX_HEADER + 16 : 0))))
		return nn_server_fail(req, -EINVAL, "bad length %llu for "
		    "block %llu (%llu bytes): a patch may only grow the last "
		    "block, up to the block size, of a file without array "
		    "metadata", (unsigned long long)new_len,
		    (unsigned long long)block, (unsigned long long)b.len);
	st = nn_db_sql(nn, sql_good, "iii", (int64_t)block, (int64_t)b.gen,
	    (int64_t)b.len);
	while ((rc = nn_db_step(nn, st)) == 1 &&
	    lb->nlocs < DFS_MAX_REPLICATION) {
		lb->locs[lb->nlocs].node =
		    (dfs_node_id)sqlite3_column_int64(st, 0);
		addr = (const char *)sqlite3_column_text(st, 1);
		snprintf(lb->locs[lb->nlocs].addr,
		    sizeof lb->locs[lb->nlocs].addr, "%s",
		    addr != NULL ? addr : "");
		lb->nlocs++;
	}
	if (rc == 1) {
		nn_db_reset(st);
		rc = 0;
	}
	if (rc != 0)
		return rc;
	if (lb->nlocs == 0)
		return nn_server_fail(req, -EIO, "block %llu has no live good "
		    "replica to patch", (unsigned long long)block);
	if ((rc = nn_db_counter(nn, "next_gen", &gen)) != 0)
		return rc;
	if (nn_patch_lease(ino, client, now, now + nn->lease_timeout_ms) ==
	    NULL)
		return nn_server_fail(req, -EAGAIN, "too many files being "
		    "patched (%d)", NN_PATCH_MAX);
	if ((rc = nn_db_exec(nn, "INSERT OR REPLACE INTO patches(block, ino, "
	    "client, old_gen, new_gen, new_len, new_size) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?)", "iitiiii", (int64_t)block, (int64_t)ino,
	    client, (int64_t)old_gen, gen, (int64_t)new_len,
	    (int64_t)(b.offset + new_len))) != 0)
		return rc;
	lb->block = block;
	lb->gen = (uint64_t)gen;
	lb->offset = b.offset;
	lb->len = new_len;
	return 0;
}

/*
 * PATCH_BLOCK: a new generation for a finished block of a complete file,
 * for the client to patch its replicas with; committed by the first
 * replica reported at it (nn_patch_received).
 */
int
nn_patch_op_patch_block(struct nn_req *req)
{
	struct dfs_lblock lb;
	dfs_ino		 ino;
	dfs_block_id	 block;
	uint64_t	 old_gen, new_len;
	char		*client;
	int		 rc;

	ino = dfs_get_u64(&req->in);
	client = dfs_get_strdup(&req->in, NN_MAX_CLIENT_NAME);
	block = dfs_get_u64(&req->in);
	old_gen = dfs_get_u64(&req->in);
	new_len = dfs_get_u64(&req->in);
	if ((rc = nn_server_decoded(req)) != 0)
		goto out;
	if (client[0] == '\0' || block > INT64_MAX || old_gen > INT64_MAX ||
	    new_len > INT64_MAX || ino > INT64_MAX) {
		rc = nn_server_fail(req, -EINVAL, "bad PATCH_BLOCK (a client "
		    "name is needed; ids and lengths below 2^63)");
		goto out;
	}
	if ((rc = nn_server_enter(req)) == 0)
		rc = nn_patch_do(req, ino, client, block, old_gen, new_len,
		    &lb);
	if (rc == 0) {
		log_debug("block %llu of inode %llu: patch to generation %llu "
		    "promised to %s", (unsigned long long)block,
		    (unsigned long long)ino, (unsigned long long)lb.gen,
		    client);
		nn_keys_sign(req->nn, &lb.token, lb.block, lb.gen,
		    DFS_TOKEN_WRITE, req->peer->cred.uid, &lb, time(NULL));
		dfs_proto_put_lblock(nn_server_reply(req, DFS_NN_LBLOCK), &lb);
	}
out:
	free(client);
	return rc;
}
