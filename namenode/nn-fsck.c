/*
 * nn-fsck.c: the health of the file system as users ask for it: FSCK
 * (every file under a path, block by block, replica by replica) and
 * REPORT (totals and one line per data node), and STATFS (the capacity
 * a mount shows to df).
 *
 * FSCK pages through files in inode order, the cursor being the last
 * inode reported, so a page is cheap to resume and stable while files
 * come and go.  Files under a directory are found by scanning inodes and
 * walking each one's parents, at most NN_FSCK_SCAN inodes per request, so
 * one request holds the namenode lock for a bounded time; a page may then
 * come back short (even empty) with "more" set.
 *
 * VERIFY (dfs fsck --verify) walks the same files and asks the holders
 * of their blocks to re-verify them (nn-corrupt.c); FSCK then shows the
 * replicas whose answer is awaited as "verifying".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nn_i.h"
#include "xmalloc.h"

/* One file's fsck record: blocks, their status and their replicas. */
static int
nn_fsck_file(struct nn *nn, dfs_ino ino, const char *path, uint64_t size,
    unsigned repl, bool uc, struct dfs_wbuf *b)
{
	static const char sql_blocks[] =
	    "SELECT id, gen, offset, length, complete FROM blocks "
	    "WHERE ino = ? ORDER BY idx";
	static const char sql_reps[] =
	    "SELECT r.node, coalesce(d.addr, ''), r.gen, r.len, r.corrupt, "
	    "coalesce(n.state, 2), coalesce(v.asked_ms, 0) "
	    "FROM live.replicas r "
	    "LEFT JOIN live.nodes n ON n.id = r.node "
	    "LEFT JOIN datanodes d ON d.id = r.node "
	    "LEFT JOIN live.verify v ON v.block = r.block AND v.node = r.node "
	    "WHERE r.block = ? ORDER BY r.node LIMIT 64";
	sqlite3_stmt	*bs, *rs;
	size_t		 start = b->len, npos, spos, rpos;
	uint32_t	 nblocks = 0;
	int		 rc;

	dfs_put_str(b, path);
	dfs_put_u64(b, size);
	dfs_put_u16(b, (uint16_t)repl);
	dfs_put_u8(b, uc ? NN_FSTATE_WRITING : NN_FSTATE_COMPLETE);
	npos = b->len;
	dfs_put_u32(b, 0);
	bs = nn_db_sql(nn, sql_blocks, "i", (int64_t)ino);
	while ((rc = nn_db_step(nn, bs)) == 1) {
		uint64_t gen = (uint64_t)sqlite3_column_int64(bs, 1);
		uint64_t len = (uint64_t)sqlite3_column_int64(bs, 3);
		bool complete = sqlite3_column_int(bs, 4) != 0;
		dfs_block_id id = (dfs_block_id)sqlite3_column_int64(bs, 0);
		uint32_t nrep = 0;
		int good = 0, bad = 0;

		/* A file with more blocks than a page holds is cut short. */
		if (b->len - start > NN_PAGE_BYTES / 2) {
			log_warn("fsck: %s has too many blocks for one reply; "
			    "listing %u", path, nblocks);
			nn_db_reset(bs);
			rc = 0;
			break;
		}
		dfs_put_u64(b, id);
		dfs_put_u64(b, gen);
		dfs_put_u64(b, (uint64_t)sqlite3_column_int64(bs, 2));
		dfs_put_u64(b, len);
		spos = b->len;
		dfs_put_u8(b, 0);
		rpos = b->len;
		dfs_put_u32(b, 0);
		rs = nn_db_sql(nn, sql_reps, "i", (int64_t)id);
		while ((rc = nn_db_step(nn, rs)) == 1) {
			uint8_t state;
			int c = sqlite3_column_int(rs, 4);
			bool asked = sqlite3_column_int64(rs, 6) != 0;
			if (c != 0 && c != -1) {
				state = NN_RSTATE_CORRUPT;
				bad++;
			} else if (sqlite3_column_int(rs, 5) != DFS_NODE_LIVE)
				state = NN_RSTATE_DEAD;
			else if ((uint64_t)sqlite3_column_int64(rs, 2) != gen ||
			    (complete && (uint64_t)sqlite3_column_int64(rs, 3)
			    != len))
				state = NN_RSTATE_STALE;
			else if (c == -1) {
				state = NN_RSTATE_SUSPECT;
				bad++;
			} else {
				state = NN_RSTATE_GOOD;
				good++;
			}
			/* A holder's verdict awaited (fsck --verify waits). */
			if (asked && c >= -1 && c <= 1 &&
			    sqlite3_column_int(rs, 5) == DFS_NODE_LIVE)
				state = NN_RSTATE_VERIFYING;
			dfs_put_u64(b, (uint64_t)sqlite3_column_int64(rs, 0));
			dfs_put_str(b, (const char *)sqlite3_column_text(rs,
			    1));
			dfs_put_u8(b, state);
			nrep++;
		}
		if (rc != 0)
			break;
		b->data[spos] = (uint8_t)nn_blockmap_status(good, bad,
		    (int)repl);
		dfs_le32enc(b->data + rpos, nrep);
		nblocks++;
	}
	dfs_le32enc(b->data + npos, nblocks);
	return rc;
}

/* Whether inode ino is at or under directory top (root: everything). */
static int
nn_fsck_under(struct nn *nn, dfs_ino top, dfs_ino ino, bool *yes)
{
	if (top == DFS_ROOT_INO) {
		*yes = true;
		return 0;
	}
	return nn_path_is_ancestor(nn, top, ino, yes);
}

/* FSCK: a page of files under a path, each with its blocks' health. */
int
nn_fsck_op_fsck(struct nn_req *req)
{
	static const char sql_files[] =
	    "SELECT id, size, replication, under_construction FROM inodes "
	    "WHERE type = 1 AND id > ?1 ORDER BY id LIMIT ?2";
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_wbuf	*b;
	sqlite3_stmt	*st;
	char		*path, *fpath;
	uint64_t	 cursor, next;
	uint32_t	 max, n = 0, scanned = 0;
	uint8_t		 more = 0;
	size_t		 npos;
	dfs_ino		 top;
	int		 type, rc;
	bool		 yes;

	path = dfs_get_strdup(&req->in, DFS_MAX_PATH);
	cursor = dfs_get_u64(&req->in);
	max = dfs_get_u32(&req->in);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		goto out;
	if (max == 0 || max > NN_FSCK_MAX)
		max = NN_FSCK_MAX;
	if (cursor > INT64_MAX)
		cursor = INT64_MAX;
	next = cursor;
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_perm_super(req, p.norm)) != 0 ||
	    (rc = nn_path_resolve(nn, &req->peer->cred, &p, p.n,
	    &top, &type, &req->cause)) != 0)
		goto out;
	b = nn_server_reply(req, DFS_NN_FSCK_PAGE);
	npos = b->len;
	dfs_put_u32(b, 0);
	st = nn_db_sql(nn, sql_files, "ii", type == DFS_FT_DIR ?
	    (int64_t)cursor : (int64_t)top - 1, type == DFS_FT_DIR ?
	    (int64_t)NN_FSCK_SCAN : (int64_t)1);
	while ((rc = nn_db_step(nn, st)) == 1) {
		dfs_ino ino = (dfs_ino)sqlite3_column_int64(st, 0);
		if (type != DFS_FT_DIR && ino != top)
			break;
		if (n == max || b->len > NN_PAGE_BYTES) {
			more = 1;
			break;
		}
		scanned++;
		next = ino;
		if (type != DFS_FT_DIR && ino <= cursor)
			continue;
		if ((rc = nn_fsck_under(nn, top, ino, &yes)) != 0)
			break;
		if (!yes)
			continue;
		if ((fpath = nn_path_of(nn, ino)) == NULL)
			continue;
		rc = nn_fsck_file(nn, ino, fpath,
		    (uint64_t)sqlite3_column_int64(st, 1),
		    (unsigned)sqlite3_column_int(st, 2),
		    sqlite3_column_int(st, 3) != 0, b);
		free(fpath);
		if (rc != 0)
			break;
		n++;
	}
	nn_db_reset(st);
	if (rc == 1)
		rc = 0;
	if (type == DFS_FT_DIR && scanned == NN_FSCK_SCAN)
		more = 1;
	dfs_le32enc(b->data + npos, n);
	dfs_put_u64(b, next);
	dfs_put_u8(b, more);
out:
	nn_path_free(&p);
	return rc;
}

/* Block totals by status, over finished blocks. */
static int
nn_fsck_totals(struct nn *nn, uint64_t *blocks, uint64_t *under,
    uint64_t *missing, uint64_t *corrupt)
{
	static const char sql[] =
	    "SELECT i.replication, "
	    "(SELECT count(*) FROM live.replicas r JOIN live.nodes n "
	    " ON n.id = r.node WHERE " NN_GOOD("b") "), "
	    "(SELECT count(*) FROM live.replicas r WHERE r.block = b.id AND "
	    " r.corrupt != 0) "
	    "FROM blocks b JOIN inodes i ON i.id = b.ino WHERE b.complete = 1";
	sqlite3_stmt	*st = nn_db_sql(nn, sql, "");
	int		 rc;

	*blocks = *under = *missing = *corrupt = 0;
	while ((rc = nn_db_step(nn, st)) == 1) {
		(*blocks)++;
		switch (nn_blockmap_status(sqlite3_column_int(st, 1),
		    sqlite3_column_int(st, 2), sqlite3_column_int(st, 0))) {
		case DFS_BLK_UNDER:
			(*under)++;
			break;
		case DFS_BLK_MISSING:
			(*missing)++;
			break;
		case DFS_BLK_CORRUPT:
			(*corrupt)++;
			break;
		default:
			break;
		}
	}
	return rc;
}

/*
 * REPORT: safe mode, block totals (finished blocks; "pending" counts the
 * replicas still to be copied for the blocks queued for re-replication,
 * in flight or waiting for a source or a target) and every data node ever
 * registered, dead ones included.
 */
int
nn_fsck_op_report(struct nn_req *req)
{
	static const char sql_nodes[] =
	    "SELECT d.id, d.uuid, d.addr, coalesce(n.state, 2), "
	    "coalesce(n.capacity, 0), coalesce(n.used, 0), "
	    "(SELECT count(*) FROM live.replicas r WHERE r.node = d.id), "
	    "n.last_hb_ms, "
	    "(SELECT count(*) FROM live.unknown u WHERE u.node = d.id), "
	    "coalesce(n.dfs_used, 0) "
	    "FROM datanodes d LEFT JOIN live.nodes n "
	    "ON n.id = d.id ORDER BY d.id";
	static const char sql_pending[] =
	    "SELECT coalesce(sum(max(i.replication - "
	    "(SELECT count(*) FROM live.replicas r JOIN live.nodes n "
	    " ON n.id = r.node WHERE " NN_GOOD("b") "), 0)), 0) "
	    "FROM live.needed q JOIN blocks b ON b.id = q.block "
	    "JOIN inodes i ON i.id = b.ino";
	struct nn	*nn = req->nn;
	struct dfs_wbuf	*b;
	sqlite3_stmt	*st;
	uint64_t	 blocks, under, missing, corrupt;
	int64_t		 pending, now = dfs_now_ms();
	uint32_t	 n = 0;
	size_t		 npos;
	int		 rc;

	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	if ((rc = nn_server_enter(req)) != 0)
		return rc;
	if ((rc = nn_fsck_totals(nn, &blocks, &under, &missing,
	    &corrupt)) != 0 ||
	    (rc = nn_db_i64(nn, &pending, sql_pending, "")) != 0)
		goto out;
	b = nn_server_reply(req, DFS_NN_REPORT_REPLY);
	dfs_put_u8(b, nn->safemode);
	dfs_put_u64(b, blocks);
	dfs_put_u64(b, under);
	dfs_put_u64(b, missing);
	dfs_put_u64(b, corrupt);
	dfs_put_u64(b, (uint64_t)pending);
	npos = b->len;
	dfs_put_u32(b, 0);
	st = nn_db_sql(nn, sql_nodes, "");
	while ((rc = nn_db_step(nn, st)) == 1) {
		if (b->len > NN_PAGE_BYTES) {
			nn_db_reset(st);
			rc = 0;
			break;
		}
		dfs_put_u64(b, (uint64_t)sqlite3_column_int64(st, 0));
		dfs_put_str(b, (const char *)sqlite3_column_text(st, 1));
		dfs_put_str(b, (const char *)sqlite3_column_text(st, 2));
		dfs_put_u8(b, (uint8_t)sqlite3_column_int(st, 3));
		dfs_put_u64(b, (uint64_t)sqlite3_column_int64(st, 4));
		dfs_put_u64(b, (uint64_t)sqlite3_column_int64(st, 5));
		dfs_put_u64(b, (uint64_t)sqlite3_column_int64(st, 6));
		dfs_put_i64(b, sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 :
		    now - sqlite3_column_int64(st, 7));
		dfs_put_u64(b, (uint64_t)sqlite3_column_int64(st, 8));
		dfs_put_u64(b, (uint64_t)sqlite3_column_int64(st, 9));
		n++;
	}
	dfs_le32enc(b->data + npos, n);
	if (rc == 0) {
		dfs_put_str(b, nn->sync.always ? "always" : "interval");
		dfs_put_u64(b, atomic_load(&nn->sync.syncs));
	}
out:
	return rc;
}

/* STATFS: capacity, use and free space summed over the live data nodes,
 * and the number of inodes, for statfs(2) on a mount. */
int
nn_fsck_op_statfs(struct nn_req *req)
{
	static const char sql_space[] =
	    "SELECT coalesce(sum(capacity), 0), coalesce(sum(used), 0), "
	    "coalesce(sum(max(capacity - used, 0)), 0), count(*) "
	    "FROM live.nodes WHERE state = 1";
	static const char sql_files[] = "SELECT count(*) FROM inodes";
	struct nn	*nn = req->nn;
	struct dfs_wbuf	*b;
	sqlite3_stmt	*st;
	int64_t		 cap = 0, used = 0, left = 0, live = 0, files = 0;
	int		 rc;

	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	if ((rc = nn_server_enter(req)) != 0)
		return rc;
	st = nn_db_sql(nn, sql_space, "");
	if ((rc = nn_db_step(nn, st)) == 1) {
		cap = sqlite3_column_int64(st, 0);
		used = sqlite3_column_int64(st, 1);
		left = sqlite3_column_int64(st, 2);
		live = sqlite3_column_int64(st, 3);
		nn_db_reset(st);
		rc = nn_db_i64(nn, &files, sql_files, "");
	}
	if (rc != 0)
		return rc;
	b = nn_server_reply(req, DFS_NN_STATFS_REPLY);
	dfs_put_u64(b, (uint64_t)cap);
	dfs_put_u64(b, (uint64_t)used);
	dfs_put_u64(b, (uint64_t)left);
	dfs_put_u64(b, (uint64_t)files);
	dfs_put_u32(b, (uint32_t)live);
	return 0;
}

/* The holders of file ino's finished blocks are asked to verify them;
 * *asked counts the VERIFYs queued. */
static int
nn_fsck_verify_file(struct nn *nn, dfs_ino ino, uint32_t *asked)
{
	int64_t		*ids;
	size_t		 n;
	int		 rc;

	rc = nn_blockmap_file_blocks(nn, ino, true, &ids, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = nn_corrupt_verify_block(nn, (dfs_block_id)ids[2 * i],
		    (uint64_t)ids[2 * i + 1]);
		if (rc > 0) {
			*asked += (uint32_t)rc;
			rc = 0;
		}
	}
	free(ids);
	return rc;
}

/*
 * VERIFY (dfs fsck --verify): every holder of a finished block of the
 * files under a path is sent VERIFY; FSCK then shows the replicas whose
 * answer is awaited.  Paged like FSCK, and cut short once a page has
 * asked NN_VERIFY_PAGE replicas, so one request holds the lock briefly.
 */
int
nn_fsck_op_verify(struct nn_req *req)
{
	static const char sql_files[] =
	    "SELECT id FROM inodes WHERE type = 1 AND id > ?1 ORDER BY id "
	    "LIMIT ?2";
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_wbuf	*b;
	sqlite3_stmt	*st;
	int64_t		*inos = NULL;
	char		*path;
	uint64_t	 cursor, next;
	uint32_t	 asked = 0;
	size_t		 n = 0, cap = 0, i;
	uint8_t		 more = 0;
	dfs_ino		 top;
	int		 type, rc;
	bool		 yes;

	path = dfs_get_strdup(&req->in, DFS_MAX_PATH);
	cursor = dfs_get_u64(&req->in);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		goto out;
	if (cursor > INT64_MAX)
		cursor = INT64_MAX;
	next = cursor;
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_perm_super(req, p.norm)) != 0 ||
	    (rc = nn_path_resolve(nn, &req->peer->cred, &p, p.n,
	    &top, &type, &req->cause)) != 0)
		goto out;
	if (type != DFS_FT_DIR) {
		if (cursor < top)
			rc = nn_fsck_verify_file(nn, top, &asked);
		next = top;
		goto reply;
	}
	st = nn_db_sql(nn, sql_files, "ii", (int64_t)cursor,
	    (int64_t)NN_FSCK_SCAN);
	while ((rc = nn_db_step(nn, st)) == 1) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			inos = xrealloc(inos, cap * sizeof *inos);
		}
		inos[n++] = sqlite3_column_int64(st, 0);
	}
	if (rc != 0)
		goto out;
	for (i = 0; rc == 0 && i < n; i++) {
		if (asked >= NN_VERIFY_PAGE) {
			more = 1;
			break;
		}
		next = (uint64_t)inos[i];
		if ((rc = nn_fsck_under(nn, top, (dfs_ino)inos[i],
		    &yes)) == 0 && yes)
			rc = nn_fsck_verify_file(nn, (dfs_ino)inos[i], &asked);
	}
	if (n == NN_FSCK_SCAN)
		more = 1;
reply:
	if (rc == 0) {
		if (asked > 0)
			log_info("fsck --verify: %u replica%s under %s asked "
			    "to verify", asked, asked == 1 ? "" : "s", p.norm);
		b = nn_server_reply(req, DFS_NN_VERIFY_PAGE);
		dfs_put_u32(b, asked);
		dfs_put_u64(b, next);
		dfs_put_u8(b, more);
	}
out:
	nn_path_free(&p);
	free(inos);
	return rc;
}
