/*
 * nn-corrupt.c: replicas that look corrupt: a reader's report, a holder's
 * own verdict, and when a corrupt replica may go.
 *
 * Why it is built this way.  A checksum error says that one party could
 * not verify some bytes; it does not say whose fault that is.  A reader
 * may have a bad network card or a bug, a sidecar may be damaged while
 * the data is whole, and all replicas of a block may look bad at once.
 * So, as HDFS does, nothing is deleted on one party's word:
 *
 *   - A reader's BAD_BLOCK makes the replica suspect (live.replicas
 *     corrupt = -1): it is no longer handed out, and its holder is sent
 *     VERIFY.  The holder reads the whole replica through the scanner's
 *     checked path (datanode/dn-scan.c) and answers DN_VERIFIED.
 *   - A holder's verdict is the only one that makes a replica corrupt
 *     (corrupt = 1): a VERIFIED bad (from a VERIFY, its scanner, or a
 *     read it refused to serve), or nn_corrupt_holder_bad from a block
 *     report.  Every other holder of the block is then asked to VERIFY
 *     its own replica.
 *   - A corrupt replica is deleted (and so, where the cluster has no
 *     other node, replaced on the same node: see nn-place.c) only once
 *     another replica of the block has been verified good by its own
 *     holder since the corruption was found (nn_corrupt_purge).  When no
 *     replica verifies good, every replica is kept and fsck calls the
 *     block CORRUPT, so an operator can still save what is there.
 *   - A holder that verifies good a replica it once found bad is
 *     believed: the replica counts again (a transient read error).
 *
 * What holders answered lives in live.verify (nn-db.c): the VERIFY
 * outstanding, the last result and when it came, and when the replica
 * was found bad.  A VERIFY unanswered after NN_VERIFY_RETRY_MS (a lost
 * reply, a node restarted) is asked again by the monitor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nn_i.h"
#include "xmalloc.h"

/* A VERIFY unanswered this long is asked again. */
#define NN_VERIFY_RETRY_MS	60000
/* VERIFYs asked again per monitor pass, at most. */
#define NN_VERIFY_REASK_MAX	256

static const char sql_block[] =
	"SELECT id, idx, gen, offset, length, complete FROM blocks "
	"WHERE id = ?";

/*
 * Ask node to verify its replica of (block, gen), unless a VERIFY to it
 * is already outstanding and recent.  Returns 1 when asked, 0 when one
 * was outstanding, or an error.
 */
static int
nn_corrupt_ask(struct nn *nn, dfs_node_id node, dfs_block_id block,
    uint64_t gen)
{
	static const char sql_mark[] =
	    "INSERT INTO live.verify(block, node, asked_ms) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT(block, node) DO UPDATE "
	    "SET asked_ms = excluded.asked_ms";
	int64_t	asked, now = dfs_now_ms();
	int	rc;

	rc = nn_db_i64(nn, &asked, "SELECT asked_ms FROM live.verify WHERE "
	    "block = ? AND node = ?", "ii", (int64_t)block, (int64_t)node);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	if (rc == 0 && asked > 0 && now - asked < NN_VERIFY_RETRY_MS)
		return 0;
	if ((rc = nn_datanodes_queue(nn, node, DFS_CMD_VERIFY, block, gen,
	    NULL, 0)) != 0 ||
	    (rc = nn_db_exec(nn, sql_mark, "iii", (int64_t)block,
	    (int64_t)node, now)) != 0)
		return rc;
	log_debug("asked node %llu to verify block %llu gen %llu",
	    (unsigned long long)node, (unsigned long long)block,
	    (unsigned long long)gen);
	return 1;
}

/*
 * Ask every holder of block (gen) other than but to verify its replica,
 * for a corrupt one (but) or fsck --verify (but 0).  Replicas already
 * on their way out (corrupt 2, 3) are left alone.  Returns how many were
 * asked, or an error.
 */
static int
nn_corrupt_ask_holders(struct nn *nn, dfs_block_id block, uint64_t gen,
    dfs_node_id but)
{
	static const char sql[] =
	    "SELECT r.node FROM live.replicas r JOIN live.nodes n ON "
	    "n.id = r.node WHERE r.block = ?1 AND r.gen = ?2 AND "
	    "r.node != ?3 AND r.corrupt IN (-1, 0, 1) AND n.state = 1 "
	    "LIMIT 64";
	sqlite3_stmt	*st;
	int64_t		 nodes[64];
	int		 n = 0, asked = 0, rc;

	st = nn_db_sql(nn, sql, "iii", (int64_t)block, (int64_t)gen,
	    (int64_t)but);
	while (n < 64 && (rc = nn_db_step(nn, st)) == 1)
		nodes[n++] = sqlite3_column_int64(st, 0);
	nn_db_reset(st);
	for (int i = 0; i < n; i++) {
		if ((rc = nn_corrupt_ask(nn, (dfs_node_id)nodes[i], block,
		    gen)) < 0)
			return rc;
		asked += rc;
	}
	return asked;
}

/* fsck --verify: ask every holder of block to verify it now.  Returns
 * how many were asked, or an error. */
int
nn_corrupt_verify_block(struct nn *nn, dfs_block_id block, uint64_t gen)
{
	return nn_corrupt_ask_holders(nn, block, gen, 0);
}

/*
 * The holder itself found its replica of (block, gen) bad: mark it
 * corrupt, never hand it out or copy from it again, and ask the other
 * holders to verify theirs (see the top of the file).  Nothing is deleted
 * here.  Assumes the lock and an open transaction.
 */
int
nn_corrupt_holder_bad(struct nn *nn, dfs_node_id node, dfs_block_id block,
    uint64_t gen, const char *why)
{
	static const char sql_mark[] =
	    "INSERT INTO live.replicas(block, node, gen, len, corrupt, seen) "
	    "VALUES (?1, ?2, ?3, ?4, 1, 1) ON CONFLICT(block, node) DO UPDATE "
	    "SET corrupt = 1, gen = excluded.gen, len = excluded.len "
	    "WHERE corrupt IN (-1, 0) OR gen != excluded.gen";
	static const char sql_found[] =
	    "INSERT INTO live.verify(block, node, result, result_ms, found_ms)"
	    " VALUES (?1, ?2, 1, ?3, ?3) ON CONFLICT(block, node) DO UPDATE "
	    "SET asked_ms = 0, result = 1, result_ms = ?3, "
	    "found_ms = CASE WHEN ?4 THEN ?3 ELSE found_ms END";
	static const char sql_repl[] =
	    "SELECT i.replication FROM blocks b JOIN inodes i ON "
	    "i.id = b.ino WHERE b.id = ?";
	struct nn_block	 b;
	int64_t		 repl;
	bool		 news;
	int		 good, bad, rc;

	if (node > INT64_MAX || block > INT64_MAX)
		return 0;
	rc = nn_blockmap_get(nn, sql_block, (int64_t)block, &b);
	if (rc == -ENOENT || (rc == 0 && b.gen != gen)) {
		log_info("bad replica of an unknown or old block %llu gen %llu "
		    "on node %llu ignored", (unsigned long long)block,
		    (unsigned long long)gen, (unsigned long long)node);
		return 0;
	}
	if (rc != 0)
		return rc;
	if ((rc = nn_db_exec(nn, sql_mark, "iiii", (int64_t)block,
	    (int64_t)node, (int64_t)gen, (int64_t)b.len)) != 0)
		return rc;
	news = nn_db_changes(nn) > 0;
	/* A block report in progress (its caller) keeps the row. */
	if ((rc = nn_db_exec(nn, "UPDATE live.replicas SET seen = 1 WHERE "
	    "block = ? AND node = ?", "ii", (int64_t)block,
	    (int64_t)node)) != 0 ||
	    (rc = nn_db_exec(nn, sql_found, "iiii", (int64_t)block,
	    (int64_t)node, dfs_now_ms(), (int64_t)news)) != 0)
		return rc;
	if (!news) {
		log_debug("replica of block %llu on node %llu is still bad: "
		    "%.200s", (unsigned long long)block,
		    (unsigned long long)node, why != NULL ? why : "");
		return 0;
	}
	log_warn("replica of block %llu on node %llu is bad: %.200s",
	    (unsigned long long)block, (unsigned long long)node,
	    why != NULL ? why : "(no reason given)");
	/* A copy from that replica fails (the copier reports it so). */
	if ((rc = nn_db_exec(nn, "DELETE FROM live.pending WHERE block = ? "
	    "AND src = ? AND kind = 2", "ii", (int64_t)block,
	    (int64_t)node)) != 0)
		return rc;
	if ((rc = nn_corrupt_ask_holders(nn, block, gen, node)) < 0)
		return rc;
	if (rc > 0)
		log_info("block %llu: asked %d other holder%s to verify their "
		    "replicas", (unsigned long long)block, rc, rc == 1 ? "" :
		    "s");
	/* A copy to a node without the block need not wait for the scan. */
	if ((rc = nn_blockmap_good_count(nn, block, &good, &bad)) != 0)
		return rc;
	if (good > 0 && b.complete && (rc = nn_db_i64(nn, &repl, sql_repl,
	    "i", (int64_t)block)) == 0)
		nn_place_need(nn, block, good, (int)repl);
	return rc;
}

/*
 * BAD_BLOCK: a reader could not verify a replica.  The replica becomes
 * suspect and its holder is asked to verify it; nothing more until the
 * holder answers (DN_VERIFIED).  Only from a caller who may read the
 * block's file (-EACCES otherwise).
 */
int
nn_corrupt_op_bad_block(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_block	 b;
	dfs_block_id	 block;
	uint64_t	 gen;
	dfs_node_id	 node;
	char		*why;
	int64_t		 one;
	int		 rc;

	block = dfs_get_u64(&req->in);
	gen = dfs_get_u64(&req->in);
	node = dfs_get_u64(&req->in);
	why = dfs_get_strdup(&req->in, DFS_WIRE_MAX_STR);
	if ((rc = nn_server_decoded(req)) != 0)
		goto out;
	if (block > INT64_MAX || node > INT64_MAX)
		goto out;	/* no such block or node */
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	rc = nn_blockmap_get(nn, sql_block, (int64_t)block, &b);
	if (rc == -ENOENT || (rc == 0 && b.gen != gen)) {
		log_info("reader's report of an unknown or old block %llu on "
		    "node %llu ignored", (unsigned long long)block,
		    (unsigned long long)node);
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	/* Only a reader of the file (see nn_perm_block), or a data node,
	 * whose word on replicas the namenode takes anyway. */
	if (!(req->peer->roles & NN_ROLE_DATANODE) &&
	    (rc = nn_perm_block(req, block)) != 0)
		goto out;
	if ((rc = nn_db_exec(nn, "UPDATE live.replicas SET corrupt = -1 "
	    "WHERE block = ? AND node = ? AND gen = ? AND corrupt = 0", "iii",
	    (int64_t)block, (int64_t)node, (int64_t)gen)) != 0)
		goto out;
	if (nn_db_changes(nn) > 0)
		log_info("a reader could not verify the replica of block %llu "
		    "on node %llu (%.200s): it is suspect until the node "
		    "verifies it", (unsigned long long)block,
		    (unsigned long long)node, why);
	else if ((rc = nn_db_i64(nn, &one, "SELECT 1 FROM live.replicas "
	    "WHERE block = ? AND node = ? AND corrupt = -1", "ii",
	    (int64_t)block, (int64_t)node)) != 0) {
		rc = rc == -ENOENT ? 0 : rc;	/* not held, or known bad */
		goto out;
	}
	if ((rc = nn_corrupt_ask(nn, node, block, gen)) > 0)
		rc = 0;
out:
	free(why);
	return rc;
}

/* A VERIFIED good: the replica counts again, and may prove the block's
 * corrupt replicas expendable (nn_corrupt_purge). */
static int
nn_corrupt_good(struct nn *nn, dfs_node_id node, dfs_block_id block,
    uint64_t gen)
{
	static const char sql_verify[] =
	    "INSERT INTO live.verify(block, node, result, result_ms) "
	    "VALUES (?1, ?2, 0, ?3) ON CONFLICT(block, node) DO UPDATE SET "
	    "asked_ms = 0, result = 0, result_ms = ?3";
	int64_t	was;
	int	rc;

	if ((rc = nn_db_exec(nn, sql_verify, "iii", (int64_t)block,
	    (int64_t)node, dfs_now_ms())) != 0)
		return rc;
	rc = nn_db_i64(nn, &was, "SELECT corrupt FROM live.replicas WHERE "
	    "block = ? AND node = ? AND gen = ?", "iii", (int64_t)block,
	    (int64_t)node, (int64_t)gen);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	log_info("node %llu verified its replica of block %llu good%s",
	    (unsigned long long)node, (unsigned long long)block,
	    rc == -ENOENT ? " (not in the map yet)" : was == 1 ?
	    " after finding it bad: it counts again" : was == -1 ?
	    ": no longer suspect" : "");
	if (rc == -ENOENT || (was != -1 && was != 1))
		return 0;
	return nn_db_exec(nn, "UPDATE live.replicas SET corrupt = 0 WHERE "
	    "block = ? AND node = ?", "ii", (int64_t)block, (int64_t)node);
}

/* A VERIFIED absent: the node does not hold what the map says. */
static int
nn_corrupt_absent(struct nn *nn, dfs_node_id node, dfs_block_id block,
    uint64_t gen)
{
	int	rc;

	if ((rc = nn_db_exec(nn, "UPDATE live.verify SET asked_ms = 0, "
	    "result = 2, result_ms = ? WHERE block = ? AND node = ?", "iii",
	    dfs_now_ms(), (int64_t)block, (int64_t)node)) != 0 ||
	    (rc = nn_db_exec(nn, "DELETE FROM live.replicas WHERE block = ? "
	    "AND node = ? AND gen = ? AND corrupt IN (-1, 0, 1)", "iii",
	    (int64_t)block, (int64_t)node, (int64_t)gen)) != 0)
		return rc;
	if (nn_db_changes(nn) > 0)
		log_info("node %llu does not hold block %llu gen %llu: "
		    "forgotten there", (unsigned long long)node,
		    (unsigned long long)block, (unsigned long long)gen);
	return 0;
}

/* DN_VERIFIED: a holder's verdict on its own replica. */
int
nn_corrupt_op_verified(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_block	 b;
	dfs_node_id	 node;
	dfs_block_id	 block;
	uint64_t	 gen;
	uint8_t		 result;
	char		*why;
	int		 rc;

	node = dfs_get_u64(&req->in);
	block = dfs_get_u64(&req->in);
	gen = dfs_get_u64(&req->in);
	result = dfs_get_u8(&req->in);
	why = dfs_get_strdup(&req->in, DFS_WIRE_MAX_STR);
	if ((rc = nn_server_decoded(req)) != 0)
		goto out;
	if (result > DFS_VERIFY_ABSENT) {
		rc = nn_server_fail(req, -EINVAL, "unknown VERIFIED result %u",
		    result);
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0 ||
	    (node <= INT64_MAX &&
	    (rc = nn_datanodes_own(req, (int64_t)node, false)) != 0))
		goto out;
	if (!nn_datanodes_live(nn, node)) {
		rc = nn_server_fail(req, -ENOENT, "unknown or dead data node "
		    "%llu: register again", (unsigned long long)node);
		goto out;
	}
	if (block > INT64_MAX)
		goto out;
	rc = nn_blockmap_get(nn, sql_block, (int64_t)block, &b);
	if (rc == -ENOENT || (rc == 0 && b.gen != gen)) {
		/* Deleted or superseded meanwhile: the answer is moot. */
		rc = nn_db_exec(nn, "UPDATE live.verify SET asked_ms = 0 "
		    "WHERE block = ? AND node = ?", "ii", (int64_t)block,
		    (int64_t)node);
		goto out;
	}
	if (rc != 0)
		goto out;
	if (result == DFS_VERIFY_GOOD)
		rc = nn_corrupt_good(nn, node, block, gen);
	else if (result == DFS_VERIFY_BAD)
		rc = nn_corrupt_holder_bad(nn, node, block, gen, why);
	else
		rc = nn_corrupt_absent(nn, node, block, gen);
	/* The monitor may act on a proven block at once (it wakes once the
	 * server commits and unlocks). */
	if (rc == 0 && result == DFS_VERIFY_GOOD)
		pthread_cond_signal(&nn->wake);
out:
	free(why);
	return rc;
}

/*
 * A block with a corrupt replica and no proof yet: ask the holders of
 * its other replicas that have not verified theirs since it was found
 * bad (their VERIFY may have been lost, or their answer forgotten with a
 * re-registration).  A block whose replicas all verified bad asks
 * nothing: it waits for an operator, or a holder's scanner.  Returns 0.
 */
static int
nn_corrupt_unproven(struct nn *nn, dfs_block_id block, uint64_t gen)
{
	static const char sql[] =
	    "SELECT r.node FROM live.replicas r JOIN live.nodes n ON "
	    "n.id = r.node LEFT JOIN live.verify v ON v.block = r.block AND "
	    "v.node = r.node WHERE r.block = ?1 AND r.gen = ?2 AND "
	    "r.corrupt IN (-1, 0) AND n.state = 1 AND "
	    "coalesce(v.result_ms, -1) < (SELECT coalesce(max(vc.found_ms), 0) "
	    " FROM live.replicas c JOIN live.verify vc ON vc.block = c.block "
	    " AND vc.node = c.node WHERE c.block = ?1 AND c.corrupt = 1) "
	    "LIMIT 64";
	sqlite3_stmt	*st;
	int64_t		 nodes[64];
	int		 n = 0, rc;

	st = nn_db_sql(nn, sql, "ii", (int64_t)block, (int64_t)gen);
	while (n < 64 && nn_db_step(nn, st) == 1)
		nodes[n++] = sqlite3_column_int64(st, 0);
	nn_db_reset(st);
	for (int i = 0; i < n; i++)
		if ((rc = nn_corrupt_ask(nn, (dfs_node_id)nodes[i], block,
		    gen)) < 0)
			return rc;
	return 0;
}

/*
 * The monitor's step for a finished block (gen) with corrupt replicas:
 * each one is deleted (corrupt 2, its DELETE queued) only when another
 * replica of the block, good and on a live node, was verified good by
 * its holder since that one was found bad.  Returns how many DELETEs
 * were queued, or an error.
 */
int
nn_corrupt_purge(struct nn *nn, dfs_block_id block, uint64_t gen)
{
	static const char sql[] =
	    "SELECT c.node, c.gen FROM live.replicas c "
	    "LEFT JOIN live.verify vc ON vc.block = c.block AND "
	    "vc.node = c.node WHERE c.block = ?1 AND c.corrupt = 1 AND "
	    "EXISTS (SELECT 1 FROM live.replicas r JOIN live.nodes n "
	    " ON n.id = r.node JOIN blocks b ON b.id = r.block "
	    " JOIN live.verify v ON v.block = r.block AND v.node = r.node "
	    " WHERE r.block = ?1 AND r.node != c.node AND " NN_GOOD("b")
	    " AND v.result = 0 AND v.result_ms >= coalesce(vc.found_ms, 0)) "
	    "LIMIT 64";
	sqlite3_stmt	*st;
	int64_t		 nodes[64], gens[64];
	int		 n = 0, rc;

	st = nn_db_sql(nn, sql, "i", (int64_t)block);
	while (n < 64 && nn_db_step(nn, st) == 1) {
		nodes[n] = sqlite3_column_int64(st, 0);
		gens[n++] = sqlite3_column_int64(st, 1);
	}
	nn_db_reset(st);
	if (n == 0)
		return nn_corrupt_unproven(nn, block, gen);
	for (int i = 0; i < n; i++) {
		if ((rc = nn_datanodes_queue(nn, (dfs_node_id)nodes[i],
		    DFS_CMD_DELETE, block, (uint64_t)gens[i], NULL, 0)) != 0 ||
		    (rc = nn_db_exec(nn, "UPDATE live.replicas SET corrupt = 2 "
		    "WHERE block = ? AND node = ?", "ii", (int64_t)block,
		    nodes[i])) != 0)
			return rc;
		log_info("block %llu gen %llu: node %lld deletes its corrupt "
		    "replica (another was verified good since)",
		    (unsigned long long)block, (unsigned long long)gen,
		    (long long)nodes[i]);
	}
	return n;
}

/*
 * Once a monitor pass: ask again the VERIFYs left unanswered (a lost
 * command or reply, a node that restarted), and forget what holders said
 * of replicas no longer in the map.
 */
void
nn_corrupt_tick(struct nn *nn)
{
	static const char sql[] =
	    "SELECT v.block, v.node, b.gen FROM live.verify v "
	    "JOIN blocks b ON b.id = v.block JOIN live.nodes n ON "
	    "n.id = v.node WHERE v.asked_ms > 0 AND v.asked_ms < ?1 AND "
	    "n.state = 1 LIMIT ?2";
	sqlite3_stmt	*st;
	int64_t		 rows[NN_VERIFY_REASK_MAX][3];
	int		 n = 0;

	st = nn_db_sql(nn, sql, "ii", dfs_now_ms() - NN_VERIFY_RETRY_MS,
	    (int64_t)NN_VERIFY_REASK_MAX);
	while (n < NN_VERIFY_REASK_MAX && nn_db_step(nn, st) == 1) {
		for (int j = 0; j < 3; j++)
			rows[n][j] = sqlite3_column_int64(st, j);
		n++;
	}
	nn_db_reset(st);
	for (int i = 0; i < n; i++)
		if (nn_corrupt_ask(nn, (dfs_node_id)rows[i][1],
		    (dfs_block_id)rows[i][0], (uint64_t)rows[i][2]) < 0)
			return;
	if (n > 0)
		log_info("asked again for %d unanswered VERIFY%s", n, n == 1 ?
		    "" : "s");
	nn_db_exec(nn, "DELETE FROM live.verify WHERE NOT EXISTS (SELECT 1 "
	    "FROM live.replicas r WHERE r.block = verify.block AND "
	    "r.node = verify.node) AND (asked_ms = 0 OR NOT EXISTS (SELECT 1 "
	    "FROM blocks b WHERE b.id = verify.block))", "");
}
