/*
 * nn-blockmap.c: blocks and their replicas: dropping blocks, block
 * locations for readers, and the replica map as data nodes report it
 * (block reports, RECEIVED).  The write path that creates blocks is
 * nn-write.c; replicas reported bad are nn-corrupt.c's.
 *
 * Why it is built this way.  Blocks are part of the namespace and live in
 * the blocks table with their generation stamp, file offset and length; a
 * block is "complete" once its length is final (the next ADD_BLOCK or the
 * file's COMPLETE).  Replicas are facts about data nodes and live in
 * live.replicas, rebuilt from block reports after a restart.  A replica
 * counts ("good") only if its node is live, it is not marked corrupt, its
 * generation is the block's and, for a complete block, its length is the
 * block's: anything else a node reports is stale and gets a DELETE, so a
 * node can never serve bytes the namespace does not vouch for.  The one
 * newer generation that counts is the one a patch promised (nn-patch.c):
 * its first replica reported moves the block to it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "nn_i.h"
#include "token.h"
#include "xmalloc.h"

static const char sql_block[] =
	"SELECT id, idx, gen, offset, length, complete FROM blocks "
	"WHERE id = ?";
static const char sql_upsert_replica[] =
	"INSERT INTO live.replicas(block, node, gen, len, corrupt, seen) "
	"VALUES (?1, ?2, ?3, ?4, 0, 1) ON CONFLICT(block, node) DO UPDATE "
	"SET corrupt = CASE WHEN gen = excluded.gen THEN corrupt ELSE 0 END, "
	"gen = excluded.gen, len = excluded.len, seen = 1";

/* A block from a row of "id, idx, gen, offset, length, complete". */
void
nn_blockmap_row(sqlite3_stmt *st, struct nn_block *b)
{
	b->id = (dfs_block_id)sqlite3_column_int64(st, 0);
	b->idx = sqlite3_column_int64(st, 1);
	b->gen = (uint64_t)sqlite3_column_int64(st, 2);
	b->offset = (uint64_t)sqlite3_column_int64(st, 3);
	b->len = (uint64_t)sqlite3_column_int64(st, 4);
	b->complete = sqlite3_column_int(st, 5) != 0;
}

/* One block by a query returning a block row: 0, -ENOENT or an error. */
int
nn_blockmap_get(struct nn *nn, const char *sql, int64_t key,
    struct nn_block *b)
{
	sqlite3_stmt	*st = nn_db_sql(nn, sql, "i", key);
	int		 rc;

	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	nn_blockmap_row(st, b);
	nn_db_reset(st);
	return 0;
}

/* What fsck and reports call a block with this many good and corrupt
 * replicas. */
enum dfs_block_status
nn_blockmap_status(int good, int bad, int wanted)
{
	if (good == 0)
		return bad > 0 ? DFS_BLK_CORRUPT : DFS_BLK_MISSING;
	if (good < wanted)
		return DFS_BLK_UNDER;
	if (good > wanted)
		return DFS_BLK_OVER;
	return DFS_BLK_HEALTHY;
}

/* Good and corrupt replicas of a block, as the monitor and fsck count
 * them. */
int
nn_blockmap_good_count(struct nn *nn, dfs_block_id block, int *good,
    int *bad)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM live.replicas r JOIN live.nodes n "
	    "ON n.id = r.node WHERE " NN_GOOD("b") "), "
	    "(SELECT count(*) FROM live.replicas r WHERE r.block = b.id AND "
	    "r.corrupt != 0) FROM blocks b WHERE b.id = ?";
	sqlite3_stmt	*st = nn_db_sql(nn, sql, "i", (int64_t)block);
	int		 rc;

	*good = *bad = 0;
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	*good = sqlite3_column_int(st, 0);
	*bad = sqlite3_column_int(st, 1);
	nn_db_reset(st);
	return 0;
}

/*
 * Forget a block: queue a DELETE for every node that holds it or was
 * sent it, and remove it from the namespace.
 */
int
nn_blockmap_drop_block(struct nn *nn, dfs_block_id block, uint64_t gen)
{
	int	rc;

	if ((rc = nn_blockmap_forget(nn, block, gen)) != 0)
		return rc;
	return nn_db_exec(nn, "DELETE FROM blocks WHERE id = ?", "i",
	    (int64_t)block);
}

/*
 * The live half of dropping a block: a DELETE queued for every node that
 * holds it or was sent it, and its rows in the replica map gone.  Also
 * what a namenode applying a replicated deletion does (nn-repl.c).
 */
int
nn_blockmap_forget(struct nn *nn, dfs_block_id block, uint64_t gen)
{
	static const char sql_holders[] =
	    "SELECT node, gen FROM live.replicas WHERE block = ?1 "
	    "UNION SELECT node, ?2 FROM live.pending WHERE block = ?1";
	sqlite3_stmt	*st;
	int64_t		 nodes[64], gens[64];
	int		 n = 0, rc;

	st = nn_db_sql(nn, sql_holders, "ii", (int64_t)block, (int64_t)gen);
	while ((rc = nn_db_step(nn, st)) == 1) {
		if (n == 64) {
			nn_db_reset(st);
			rc = 0;
			break;
		}
		nodes[n] = sqlite3_column_int64(st, 0);
		gens[n++] = sqlite3_column_int64(st, 1);
	}
	for (int i = 0; rc == 0 && i < n; i++)
		rc = nn_datanodes_queue(nn, (dfs_node_id)nodes[i],
		    DFS_CMD_DELETE, block, (uint64_t)gens[i], NULL, 0);
	if (rc == 0)
		rc = nn_db_exec(nn, "DELETE FROM live.replicas WHERE block = ?",
		    "i", (int64_t)block);
	if (rc == 0)
		rc = nn_db_exec(nn, "DELETE FROM live.pending WHERE block = ?",
		    "i", (int64_t)block);
	return rc;
}

/*
 * The (id, gen) pairs of file ino's blocks in file order, only the
 * finished ones with complete_only: two int64_t a block in *idsp (caller
 * frees; NULL with none), their number in *np.  Read whole before the
 * caller changes anything, so no statement stays open across its work.
 */
int
nn_blockmap_file_blocks(struct nn *nn, dfs_ino ino, bool complete_only,
    int64_t **idsp, size_t *np)
{
	static const char sql[] =
	    "SELECT id, gen FROM blocks WHERE ino = ?1 AND "
	    "(?2 = 0 OR complete = 1) ORDER BY idx";
	sqlite3_stmt	*st;
	int64_t		*ids = NULL;
	size_t		 n = 0, cap = 0;
	int		 rc;

	st = nn_db_sql(nn, sql, "ii", (int64_t)ino, (int64_t)complete_only);
	while ((rc = nn_db_step(nn, st)) == 1) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			ids = xrealloc(ids, cap * 2 * sizeof *ids);
		}
		ids[2 * n] = sqlite3_column_int64(st, 0);
		ids[2 * n + 1] = sqlite3_column_int64(st, 1);
		n++;
	}
	if (rc != 0) {
		free(ids);
		ids = NULL;
		n = 0;
	}
	*idsp = ids;
	*np = n;
	return rc;
}

/* Drop every block of a file being deleted or replaced. */
int
nn_blockmap_drop_file(struct nn *nn, dfs_ino ino)
{
	int64_t		*ids;
	size_t		 n;
	int		 rc;

	rc = nn_blockmap_file_blocks(nn, ino, false, &ids, &n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = nn_blockmap_drop_block(nn, (dfs_block_id)ids[2 * i],
		    (uint64_t)ids[2 * i + 1]);
	free(ids);
	return rc;
}

/* Locations of block b for a reader: live, good replicas, least loaded
 * first, and a read token. */
static int
nn_blockmap_locate(struct nn *nn, const struct nn_block *b, uint32_t uid,
    struct dfs_lblock *lb)
{
	static const char sql[] =
	    "SELECT r.node, d.addr FROM live.replicas r "
	    "JOIN live.nodes n ON n.id = r.node "
	    "JOIN datanodes d ON d.id = r.node "
	    "WHERE r.block = ?1 AND r.gen = ?2 AND r.corrupt = 0 AND "
	    "n.state = 1 AND (?3 = 0 OR r.len = ?4) "
	    "ORDER BY n.xceivers, random() LIMIT 16";
	sqlite3_stmt	*st;
	const char	*addr;
	int		 rc;

	memset(lb, 0, sizeof *lb);
	lb->block = b->id;
	lb->gen = b->gen;
	lb->offset = b->offset;
	lb->len = b->len;
	st = nn_db_sql(nn, sql, "iiii", (int64_t)b->id, (int64_t)b->gen,
	    (int64_t)b->complete, (int64_t)b->len);
	while ((rc = nn_db_step(nn, st)) == 1 &&
	    lb->nlocs < DFS_MAX_REPLICATION) {
		lb->locs[lb->nlocs].node = (dfs_node_id)sqlite3_column_int64(st,
		    0);
		addr = (const char *)sqlite3_column_text(st, 1);
		snprintf(lb->locs[lb->nlocs].addr,
		    sizeof lb->locs[lb->nlocs].addr, "%s", addr != NULL ? addr :
		    "");
		lb->nlocs++;
	}
	if (rc == 1) {
		nn_db_reset(st);
		rc = 0;
	}
	nn_keys_sign(nn, &lb->token, b->id, b->gen, DFS_TOKEN_READ, uid, NULL,
	    time(NULL));
	return rc;
}

/*
 * GET_BLOCKS: the file's attributes and the finished blocks overlapping
 * [offset, offset + length).  A reply stops at NN_PAGE_BYTES; the reader
 * asks again from the end of the last block it got.
 */
int
nn_blockmap_op_get_blocks(struct nn_req *req)
{
	static const char sql[] =
	    "SELECT id, idx, gen, offset, length, complete FROM blocks "
	    "WHERE ino = ?1 AND complete = 1 AND offset < ?3 AND "
	    "offset + length > ?2 ORDER BY idx";
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_attr	 a;
	struct dfs_wbuf	*b;
	struct nn_block	*blocks = NULL;
	struct dfs_lblock lb;
	sqlite3_stmt	*st;
	char		*path;
	uint64_t	 offset, length, end;
	size_t		 n = 0, cap = 0, npos;
	uint32_t	 sent = 0;
	dfs_ino		 ino;
	int		 type, rc;

	path = dfs_get_strdup(&req->in, DFS_MAX_PATH);
	offset = dfs_get_u64(&req->in);
	length = dfs_get_u64(&req->in);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		goto out;
	end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
	if (end > INT64_MAX)
		end = INT64_MAX;
	if (offset > INT64_MAX)
		offset = INT64_MAX;
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_path_resolve(nn, &req->peer->cred, &p, p.n,
	    &ino, &type, &req->cause)) != 0)
		goto out;
	if (type != DFS_FT_FILE) {
		rc = nn_server_fail(req, -EISDIR, "is a directory: %s", p.norm);
		goto out;
	}
	/* Read tokens only for those who may read. */
	if ((rc = nn_perm_check(req, ino, NN_PERM_R, p.norm)) != 0)
		goto out;
	if ((rc = nn_meta_attr(nn, ino, &a)) != 0)
		goto out;
	st = nn_db_sql(nn, sql, "iii", (int64_t)ino, (int64_t)offset,
	    (int64_t)end);
	while ((rc = nn_db_step(nn, st)) == 1) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			blocks = xrealloc(blocks, cap * sizeof *blocks);
		}
		nn_blockmap_row(st, &blocks[n++]);
	}
	if (rc != 0)
		goto out;
	b = nn_server_reply(req, DFS_NN_BLOCKS);
	dfs_proto_put_attr(b, &a);
	npos = b->len;
	dfs_put_u32(b, 0);
	for (size_t i = 0; i < n && b->len < NN_PAGE_BYTES; i++) {
		if ((rc = nn_blockmap_locate(nn, &blocks[i],
		    req->peer->cred.uid, &lb)) != 0)
			break;
		dfs_proto_put_lblock(b, &lb);
		sent++;
	}
	dfs_le32enc(b->data + npos, sent);
out:
	nn_path_free(&p);
	free(blocks);
	return rc;
}

/*
 * A replica the namespace cannot vouch for, and knows nothing against
 * either: a block id the namenode has not handed out yet (its database
 * is older than the node's disk) or a generation newer than it knows.
 * It is kept where it is, listed by fsck and report, for an operator to
 * judge.
 */
static int
nn_blockmap_unknown(struct nn *nn, dfs_node_id node, dfs_block_id block,
    uint64_t gen, uint64_t len, const char *why)
{
	log_warn("node %llu: replica %llu gen %llu (%llu bytes) is unknown "
	    "(%s): kept, not deleted", (unsigned long long)node,
	    (unsigned long long)block, (unsigned long long)gen,
	    (unsigned long long)len, why);
	return nn_db_exec(nn, "INSERT OR REPLACE INTO live.unknown(block, "
	    "node, gen, len) VALUES (?, ?, ?, ?)", "iiii", (int64_t)block,
	    (int64_t)node, (int64_t)gen, (int64_t)(len > INT64_MAX ?
	    INT64_MAX : len));
}

/* Tell node to delete a replica the namenode knows is garbage. */
static int
nn_blockmap_garbage(struct nn *nn, dfs_node_id node, dfs_block_id block,
    uint64_t gen, const char *why)
{
	log_info("node %llu: replica %llu gen %llu is %s: to be deleted",
	    (unsigned long long)node, (unsigned long long)block,
	    (unsigned long long)gen, why);
	return nn_datanodes_queue(nn, node, DFS_CMD_DELETE, block, gen, NULL,
	    0);
}

/*
 * One replica a node says it has.  Returns 1 when it counts as a good
 * replica, 0 when it does not, or a negative errno.
 *
 * A replica is deleted only on positive knowledge: its block was deleted
 * (an id below the block counter that the namespace no longer holds),
 * superseded (an older generation), or it disagrees with a complete
 * block's length while the block has its full count of good replicas
 * elsewhere.  What the namespace does not know (an id at or above the
 * counter, a newer generation) is kept and listed as unknown, and a
 * replica its holder flags as corrupt is never deleted from here (see
 * nn-corrupt.c).  One the node was told to delete (a surplus replica) but
 * has not heard of yet is not counted again: the next pass could
 * otherwise trim another replica in its place.
 */
static int
nn_blockmap_accept(struct nn *nn, dfs_node_id node, dfs_block_id block,
    uint64_t gen, uint64_t len, uint8_t flags)
{
	static const char sql_doomed[] =
	    "SELECT EXISTS (SELECT 1 FROM live.commands WHERE node = ?1 AND "
	    "block = ?2 AND gen = ?3 AND kind = 1)";
	static const char sql_repl[] =
	    "SELECT i.replication FROM blocks b JOIN inodes i ON "
	    "i.id = b.ino WHERE b.id = ?";
	struct nn_block	b;
	int64_t		doomed, next, repl;
	int		good, bad, rc;

	if (block > INT64_MAX || gen > INT64_MAX || len > INT64_MAX)
		return nn_blockmap_unknown(nn, node, block, gen, len,
		    "out of range");
	rc = nn_blockmap_get(nn, sql_block, (int64_t)block, &b);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	if (rc == -ENOENT) {
		if ((rc = nn_db_i64(nn, &next, "SELECT value FROM meta WHERE "
		    "key = 'next_block'", "")) != 0)
			return rc;
		if ((int64_t)block < next)
			return nn_blockmap_garbage(nn, node, block, gen,
			    "of a deleted block");
		return nn_blockmap_unknown(nn, node, block, gen, len,
		    "block id not handed out yet");
	}
	if (gen < b.gen)
		return nn_blockmap_garbage(nn, node, block, gen, "superseded");
	/* The first replica of a promised patch commits it, and the
	 * replicas of the older generation leave the map (nn-patch.c),
	 * unless its own node doubts it. */
	if (gen > b.gen && !(flags & DFS_REPORT_CORRUPT) &&
	    (rc = nn_patch_received(nn, &b, node, gen, len)) < 0)
		return rc;
	if (gen > b.gen)
		return nn_blockmap_unknown(nn, node, block, gen, len,
		    "generation newer than the namespace's");
	if (b.complete && b.len != len && !(flags & DFS_REPORT_CORRUPT)) {
		if ((rc = nn_blockmap_good_count(nn, block, &good, &bad)) != 0 ||
		    (rc = nn_db_i64(nn, &repl, sql_repl, "i",
		    (int64_t)block)) != 0)
			return rc;
		if (good >= repl)
			return nn_blockmap_garbage(nn, node, block, gen,
			    "of the wrong length, with enough good replicas "
			    "elsewhere");
		/* Kept, counting as nothing, until good copies exist. */
	}
	if ((rc = nn_db_i64(nn, &doomed, sql_doomed, "iii", (int64_t)node,
	    (int64_t)block, (int64_t)gen)) != 0)
		return rc;
	if (doomed != 0)	/* a corrupt replica keeps its mark */
		return nn_db_exec(nn, "UPDATE live.replicas SET seen = 1 WHERE "
		    "block = ? AND node = ?", "ii", (int64_t)block,
		    (int64_t)node);
	/* A write or copy on its way there has arrived; its space stays
	 * reserved until the node's next heartbeat counts it. */
	if ((rc = nn_db_exec(nn, sql_upsert_replica, "iiii", (int64_t)block,
	    (int64_t)node, (int64_t)gen, (int64_t)len)) != 0 ||
	    (rc = nn_db_exec(nn, "UPDATE live.pending SET kind = 3, bytes = ?3,"
	    " since_ms = ?4 WHERE block = ?1 AND node = ?2 AND kind != 3",
	    "iiii", (int64_t)block, (int64_t)node, (int64_t)len,
	    dfs_now_ms())) != 0)
		return rc;
	if (flags & DFS_REPORT_CORRUPT)
		return nn_corrupt_holder_bad(nn, node, block, gen,
		    "its files do not check (found by its node at start-up)");
	return b.complete && b.len != len ? 0 : 1;
}

/* The node a data node request names, which must be registered and live. */
static int
nn_blockmap_node(struct nn_req *req, dfs_node_id node)
{
	if (nn_datanodes_live(req->nn, node))
		return nn_datanodes_own(req, (int64_t)node, false);
	return nn_server_fail(req, -ENOENT, "unknown or dead data node %llu: "
	    "register again", (unsigned long long)node);
}

/*
 * Where a node's report stands: part 0 of a report id starts it, each
 * next part must follow in order, and only the last one drops the
 * replicas the report did not name.  Anything else (a part out of order,
 * another report id midway) is refused, and the node starts over.
 */
static int
nn_blockmap_report_part(struct nn_req *req, dfs_node_id node,
    uint64_t report, uint32_t part, uint32_t nparts)
{
	struct nn	*nn = req->nn;
	sqlite3_stmt	*st;
	int64_t		 cur_id = 0, cur_next = -1;
	int		 rc;

	if (nparts == 0 || nparts > DFS_REPORT_PARTS_MAX || part >= nparts ||
	    report > INT64_MAX)
		return nn_server_fail(req, -EINVAL, "bad block report part "
		    "%u of %u", part, nparts);
	st = nn_db_sql(nn, "SELECT report_id, report_next FROM live.nodes "
	    "WHERE id = ?", "i", (int64_t)node);
	if ((rc = nn_db_step(nn, st)) == 1) {
		cur_id = sqlite3_column_int64(st, 0);
		cur_next = sqlite3_column_int64(st, 1);
		nn_db_reset(st);
	} else if (rc < 0)
		return rc;
	if (part == 0) {
		if ((rc = nn_db_exec(nn, "UPDATE live.replicas SET seen = 0 "
		    "WHERE node = ?", "i", (int64_t)node)) != 0 ||
		    (rc = nn_db_exec(nn, "DELETE FROM live.unknown WHERE "
		    "node = ?", "i", (int64_t)node)) != 0)
			return rc;
	} else if (cur_id != (int64_t)report || cur_next != (int64_t)part)
		return nn_server_fail(req, -EPROTO, "block report %llu part %u "
		    "out of order (expected report %lld part %lld): send the "
		    "whole report again", (unsigned long long)report, part,
		    (long long)cur_id, (long long)cur_next);
	return nn_db_exec(nn, "UPDATE live.nodes SET report_id = ?, "
	    "report_next = ? WHERE id = ?", "iii", (int64_t)report,
	    part + 1 < nparts ? (int64_t)part + 1 : (int64_t)-1,
	    (int64_t)node);
}

/*
 * DN_BLOCK_REPORT: one part of the node's full replica set, which
 * replaces what we knew once its last part has come.  Each part is its
 * own frame, so its own transaction (the server's NN_TXN): the lock is
 * held for one part at a time.  The wait for RECEIVED (COMPLETE) wakes
 * once the server commits and lets the lock go.
 */
int
nn_blockmap_op_block_report(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	char		 cluster[DFS_MAX_CLUSTER_ID + 1];
	dfs_node_id	 node;
	uint64_t	 report;
	uint32_t	 part, nparts, n, kept = 0;
	int64_t		 unknown = 0;
	int		 rc;

	dfs_get_strbuf(&req->in, cluster, sizeof cluster);
	node = dfs_get_u64(&req->in);
	report = dfs_get_u64(&req->in);
	part = dfs_get_u32(&req->in);
	nparts = dfs_get_u32(&req->in);
	n = dfs_get_u32(&req->in);
	if (req->in.err != 0 || n > DFS_REPORT_PART_MAX ||
	    n != dfs_rbuf_left(&req->in) / 25 ||
	    dfs_rbuf_left(&req->in) % 25 != 0)
		return nn_server_fail(req, -EBADMSG, "malformed %s request",
		    dfs_msg_name(req->type));
	if ((rc = nn_datanodes_cluster(req, cluster)) != 0)
		return rc;
	if ((rc = nn_server_enter(req)) != 0 ||
	    (rc = nn_blockmap_node(req, node)) != 0)
		return rc;
	rc = nn_blockmap_report_part(req, node, report, part, nparts);
	for (uint32_t i = 0; rc >= 0 && i < n; i++) {
		dfs_block_id block = dfs_get_u64(&req->in);
		uint64_t gen = dfs_get_u64(&req->in);
		uint64_t len = dfs_get_u64(&req->in);
		uint8_t flags = dfs_get_u8(&req->in);
		if ((rc = nn_blockmap_accept(nn, node, block, gen, len,
		    flags)) == 1)
			kept++;
	}
	if (rc >= 0 && part + 1 == nparts)
		rc = nn_db_exec(nn, "DELETE FROM live.replicas WHERE node = ? "
		    "AND seen = 0", "i", (int64_t)node);
	if (rc >= 0 && part + 1 == nparts)
		rc = nn_db_i64(nn, &unknown, "SELECT count(*) FROM "
		    "live.unknown WHERE node = ?", "i", (int64_t)node);
	if (rc < 0)
		return rc;
	pthread_cond_broadcast(&nn->replica_added);
	log_info("block report from node %llu (part %u of %u): %u "
	    "replicas, %u good%s", (unsigned long long)node, part + 1,
	    nparts, n, kept, unknown > 0 ? "; some unknown, kept "
	    "(see fsck)" : "");
	return 0;
}

/* DN_RECEIVED: a node finished writing a replica. */
int
nn_blockmap_op_received(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	dfs_node_id	 node;
	dfs_block_id	 block;
	uint64_t	 gen, len;
	int		 rc;

	node = dfs_get_u64(&req->in);
	block = dfs_get_u64(&req->in);
	gen = dfs_get_u64(&req->in);
	len = dfs_get_u64(&req->in);
	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	if ((rc = nn_server_enter(req)) != 0 ||
	    (rc = nn_blockmap_node(req, node)) != 0 ||
	    (rc = nn_blockmap_accept(nn, node, block, gen, len, 0)) < 0)
		return rc;
	/* COMPLETE's waiters wake once the server commits and unlocks. */
	pthread_cond_broadcast(&nn->replica_added);
	log_debug("node %llu received block %llu gen %llu (%llu "
	    "bytes)", (unsigned long long)node,
	    (unsigned long long)block, (unsigned long long)gen,
	    (unsigned long long)len);
	return 0;
}
