/*
 * nn-repl.c: what a transaction changed in the namespace, as a SQLite
 * changeset, and applying one: how a group of namenodes (issue 12) is to
 * carry the namespace through its Raft log (nn-raft.c).
 *
 * Why it is built this way.  Every mutating request is one transaction
 * today (nn-db.c); the session extension records the rows it inserted,
 * updated and deleted in the persistent database ("main") as they were
 * before and after, whatever SQL the request ran, so the leader needs no
 * second description of each operation: it runs the request, takes the
 * changeset, and the other members apply it.  Only "main" is recorded:
 * the attached in-memory database ("live": liveness, the replica map,
 * queued commands) is each member's own and rebuilt from data node
 * reports, as after a restart.
 *
 * Applying is strict: a row the changeset expects but finds different
 * (or missing, or already there) means this member's namespace is no
 * longer the leader's, and nothing of the changeset is applied: the
 * member must be rebuilt from a snapshot, never patched up by guessing.
 *
 * What the leader's transaction did to "live" is lost with the changeset,
 * so applying one also does the live part its rows imply (repl_live): a
 * deleted block's holders are sent DELETE and its replica map rows go; a
 * finished block whose generation changed loses the replicas of the older
 * one.  (ADD_BLOCK's targets in live.pending, and UPDATE_PIPELINE's
 * rewrite of them, cannot be derived from rows: they will travel beside
 * the changeset.)
 *
 * Every id a transaction allocates must travel in its changeset: ids from
 * counters in meta (next_ino, next_block, next_gen) do, as rows of meta;
 * SQLite's AUTOINCREMENT does not (sqlite_sequence has no primary key, so
 * no session records it): a follower would hand out different ids.
 */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nn_i.h"
#include "xmalloc.h"

struct nn_repl {
	sqlite3_session	*s;
};

int
nn_repl_capture(struct nn *nn, struct nn_repl **out, char **cause)
{
	struct nn_repl	*r = xcalloc(1, sizeof *r);
	int		 src;

	*out = NULL;
	if ((src = sqlite3session_create(nn->db, "main", &r->s)) !=
	    SQLITE_OK || (src = sqlite3session_attach(r->s, NULL)) !=
	    SQLITE_OK) {
		xasprintf(cause, "cannot record the transaction: %s",
		    sqlite3_errstr(src));
		if (r->s != NULL)
			sqlite3session_delete(r->s);
		free(r);
		return -EIO;
	}
	*out = r;
	return 0;
}

int
nn_repl_changeset(struct nn_repl *r, void **buf, size_t *len, char **cause)
{
	void	*p = NULL;
	int	 n = 0, src;

	*buf = NULL;
	*len = 0;
	if ((src = sqlite3session_changeset(r->s, &n, &p)) != SQLITE_OK) {
		xasprintf(cause, "cannot take the changeset: %s",
		    sqlite3_errstr(src));
		return -EIO;
	}
	/* Ours with malloc, so callers need not know SQLite's allocator. */
	*buf = xmalloc(n > 0 ? (size_t)n : 1);
	if (n > 0)	/* (nothing changed: p is NULL) */
		memcpy(*buf, p, (size_t)n);
	*len = (size_t)n;
	sqlite3_free(p);
	return 0;
}

void
nn_repl_free(struct nn_repl *r)
{
	if (r == NULL)
		return;
	sqlite3session_delete(r->s);
	free(r);
}

/*
 * A changeset that does not fit this database: stop, apply nothing.  One
 * exception: rows of the tables whose inode's deletion cascades to them
 * (symlinks, put_temps) are in the changeset as deleted, and applying the
 * inode's delete has already removed them here as it did on the leader;
 * their own delete then finds nothing, which is the state wanted.
 */
static int
repl_conflict(void *arg, int kind, sqlite3_changeset_iter *it)
{
	const char	*table = NULL;
	int		 ncol = 0, op = 0, *conflicts = arg;

	sqlite3changeset_op(it, &table, &ncol, &op, NULL);
	if (kind == SQLITE_CHANGESET_NOTFOUND && op == SQLITE_DELETE &&
	    table != NULL && (strcmp(table, "symlinks") == 0 ||
	    strcmp(table, "put_temps") == 0))
		return SQLITE_CHANGESET_OMIT;
	log_err("replicated change to %s does not fit this namespace "
	    "(conflict %d, operation %d)", table != NULL ? table : "?", kind,
	    op);
	(*conflicts)++;
	return SQLITE_CHANGESET_ABORT;
}

/* Columns of blocks, as nn-db.c creates the table. */
enum { BLK_ID, BLK_INO, BLK_IDX, BLK_GEN, BLK_OFFSET, BLK_LENGTH,
    BLK_COMPLETE, BLK_NCOL };

/* Column c of a changed row: the new value, or (unchanged, or a delete)
 * the old one; -1 when the changeset has neither. */
static int64_t
repl_col(sqlite3_changeset_iter *it, int op, int c, bool old)
{
	sqlite3_value	*v = NULL;

	if (!old && op != SQLITE_DELETE &&
	    sqlite3changeset_new(it, c, &v) == SQLITE_OK && v != NULL)
		return sqlite3_value_int64(v);
	if (op != SQLITE_INSERT &&
	    sqlite3changeset_old(it, c, &v) == SQLITE_OK && v != NULL)
		return sqlite3_value_int64(v);
	return -1;
}

/* Block id got a new generation: if finished, its replicas of another
 * generation or length are stale.  One whose patch the same changeset
 * committed keeps its other replicas' files (nn_patch_expect: their
 * patches may be on their way). */
static int
repl_new_gen(struct nn *nn, dfs_block_id id, bool patched)
{
	struct nn_block	b;
	int		rc;

	rc = nn_blockmap_get(nn, "SELECT id, idx, gen, offset, length, "
	    "complete FROM blocks WHERE id = ?", (int64_t)id, &b);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0 || !b.complete)
		return rc;
	if (patched)
		return nn_patch_expect(nn, &b, 0);
	return nn_write_drop_stale(nn, &b);
}

/* The lease of the file block id is part of, when that file is being
 * written (a blocks row was written: ADD_BLOCK, UPDATE_PIPELINE). */
static int
repl_renew(struct nn *nn, dfs_block_id id)
{
	return nn_db_exec(nn, "INSERT OR REPLACE INTO live.leases(ino, "
	    "renewed_ms) SELECT i.id, ?2 FROM blocks b JOIN inodes i ON "
	    "i.id = b.ino WHERE b.id = ?1 AND i.under_construction = 1", "ii",
	    (int64_t)id, nn_wall_ns() / 1000000);
}

/* Whether the changeset deletes block id's row of patches: the patch's
 * commit. */
static bool
repl_patch_done(const void *buf, size_t len, dfs_block_id id)
{
	sqlite3_changeset_iter	*it = NULL;
	const char		*table;
	int			 ncol, op;
	bool			 done = false;

	if (sqlite3changeset_start(&it, (int)len, (void *)buf) != SQLITE_OK)
		return false;
	while (!done && sqlite3changeset_next(it) == SQLITE_ROW)
		if (sqlite3changeset_op(it, &table, &ncol, &op, NULL) ==
		    SQLITE_OK && op == SQLITE_DELETE &&
		    strcmp(table, "patches") == 0 &&
		    repl_col(it, op, 0, true) == (int64_t)id)
			done = true;
	sqlite3changeset_finalize(it);
	return done;
}

/* The live part of a changeset just applied (see above). */
static int
repl_live(struct nn *nn, const void *buf, size_t len)
{
	sqlite3_changeset_iter	*it = NULL;
	const char		*table;
	dfs_block_id		 id;
	int			 ncol, op, rc = 0, src;

	if (sqlite3changeset_start(&it, (int)len, (void *)buf) != SQLITE_OK)
		return -EPROTO;
	while (rc == 0 && (src = sqlite3changeset_next(it)) == SQLITE_ROW) {
		if (sqlite3changeset_op(it, &table, &ncol, &op, NULL) !=
		    SQLITE_OK || strcmp(table, "blocks") != 0 ||
		    ncol != BLK_NCOL)
			continue;
		id = (dfs_block_id)repl_col(it, op, BLK_ID, true);
		/* A client's call on a file it writes renewed its lease,
		 * which its rolled-back transaction forgot (nn-group.c). */
		if (op != SQLITE_DELETE && (rc = repl_renew(nn, id)) != 0)
			break;
		if (op == SQLITE_DELETE)
			rc = nn_blockmap_forget(nn, id,
			    (uint64_t)repl_col(it, op, BLK_GEN, true));
		else if (op == SQLITE_UPDATE &&
		    repl_col(it, op, BLK_GEN, false) !=
		    repl_col(it, op, BLK_GEN, true))
			/* (An update carries only the columns it changed:
			 * the rest is read from the row as it is now.) */
			rc = repl_new_gen(nn, id, repl_patch_done(buf, len,
			    id));
	}
	if (sqlite3changeset_finalize(it) != SQLITE_OK && rc == 0)
		rc = -EPROTO;
	return rc;
}

/*
 * Apply a changeset as one transaction.  serial > 0 numbers a group's
 * entry (nn-group.c): meta.raft_serial says the last one this database
 * holds, so an entry replayed after a restart (libraft replays its log
 * from the last snapshot) is skipped, and the number is written in the
 * same transaction as the rows.
 */
int
nn_repl_apply_entry(struct nn *nn, uint64_t serial, const void *buf,
    size_t len, char **cause)
{
	int64_t	last = 0;
	int	conflicts = 0, rc, src;

	if (len > INT32_MAX) {
		xasprintf(cause, "changeset of %zu bytes", len);
		return -EMSGSIZE;
	}
	if ((rc = nn_db_begin(nn)) != 0) {
		xasprintf(cause, "cannot begin a transaction");
		return rc;
	}
	if (serial > 0) {
		if ((rc = nn_db_i64(nn, &last, "SELECT value FROM meta WHERE "
		    "key = 'raft_serial'", "")) != 0) {
			nn_db_end(nn, rc);
			xasprintf(cause, "cannot read meta.raft_serial");
			return rc;
		}
		if (serial <= (uint64_t)last)
			return nn_db_end(nn, 0);	/* had it already */
		if (serial != (uint64_t)last + 1) {
			nn_db_end(nn, -EPROTO);
			xasprintf(cause, "entry %" PRIu64 " follows %" PRId64
			    ": this member missed entries", serial, last);
			return -EPROTO;
		}
	}
	src = sqlite3changeset_apply(nn->db, (int)len, (void *)buf, NULL,
	    repl_conflict, &conflicts);
	if (src != SQLITE_OK || conflicts > 0) {
		nn_db_end(nn, -EPROTO);
		if (conflicts > 0)
			xasprintf(cause, "the changeset does not fit this "
			    "namespace (%d conflict%s): this member diverged",
			    conflicts, conflicts == 1 ? "" : "s");
		else
			xasprintf(cause, "malformed changeset: %s",
			    sqlite3_errstr(src));
		return -EPROTO;
	}
	if ((rc = repl_live(nn, buf, len)) != 0) {
		nn_db_end(nn, rc);
		xasprintf(cause, "cannot update the replica map: %s",
		    strerror(-rc));
		return rc;
	}
	if (serial > 0 && (rc = nn_db_exec(nn, "UPDATE meta SET value = ? "
	    "WHERE key = 'raft_serial'", "i", (int64_t)serial)) != 0) {
		nn_db_end(nn, rc);
		xasprintf(cause, "cannot write meta.raft_serial");
		return rc;
	}
	if ((rc = nn_db_end(nn, 0)) != 0)
		xasprintf(cause, "cannot commit the changeset");
	return rc;
}

int
nn_repl_apply(struct nn *nn, const void *buf, size_t len, char **cause)
{
	return nn_repl_apply_entry(nn, 0, buf, len, cause);
}

/*
 * Undo, inside the open transaction, what buf (a changeset this
 * transaction made) did: its inverse is applied, so the transaction keeps
 * only its changes to "live" (nn-group.c).  0 or -errno.
 */
int
nn_repl_undo(struct nn *nn, const void *buf, size_t len)
{
	void	*inv = NULL;
	int	 n = 0, conflicts = 0, src;

	if (len > INT32_MAX)
		return -EMSGSIZE;
	if ((src = sqlite3changeset_invert((int)len, buf, &n, &inv)) !=
	    SQLITE_OK)
		return -EIO;
	src = sqlite3changeset_apply(nn->db, n, inv, NULL, repl_conflict,
	    &conflicts);
	sqlite3_free(inv);
	return src == SQLITE_OK && conflicts == 0 ? 0 : -EIO;
}
