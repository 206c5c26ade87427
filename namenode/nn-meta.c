/*
 * nn-meta.c: the namespace: inodes and directory entries, and the
 * operations on them (mkdir, stat, list, create, rename, delete, set
 * replication; the requests only mounts make are in nn-attr.c).
 *
 * An inode row holds a file's or directory's attributes (and a file's
 * lease and array metadata); a directory entry links it under its name.
 * Paths are resolved by nn-path.c.  Each operation runs as one transaction
 * (nn-db.c); the checks POSIX asks for (ENOTDIR on the way, EEXIST,
 * EISDIR, ENOTEMPTY, a directory moved into itself) are made inside it,
 * so they cannot race with another request.
 *
 * Hard links.  An inode that is not a directory may have several entries;
 * its nlink is the number of them, recounted whenever one goes, and the
 * inode (with its blocks) goes with its last entry.  An entry is therefore
 * always named by (parent, name), never by its inode.  A file some mount
 * holds open outlives its last name as an orphan (nn-hold.c).  Rewriting
 * a file (CREATE with overwrite) keeps its inode, so every name of it
 * sees the new contents, as O_TRUNC on a local file would.
 *
 * Set-group-ID directories.  A new entry in a directory with S_ISGID takes
 * the directory's group, and a new directory inherits S_ISGID, whichever
 * client creates it (nn_meta_new).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nn_i.h"
#include "xmalloc.h"

/* The attribute columns of inode alias i, in nn_meta_row_attr's order. */
#define NN_ATTR_COLS							\
	"i.id, i.type, i.mode, i.uid, i.gid, i.size, i.mtime_ns, "	\
	"i.atime_ns, i.ctime_ns, i.nlink, i.replication, i.block_size, "\
	"i.under_construction, i.descr, i.fortran, i.shape, "		\
	"i.data_offset, i.itemsize, i.header_len, "			\
	"(SELECT count(*) FROM blocks b WHERE b.ino = i.id), i.rdev"

static const char sql_touch[] =
	"UPDATE inodes SET mtime_ns = ?2, ctime_ns = ?2 WHERE id = ?1";
static const char sql_nlink[] =
	"UPDATE inodes SET nlink = nlink + ?2 WHERE id = ?1";

/* The array metadata from its columns; a bad row reads as plain bytes. */
static void
nn_meta_row_npy(sqlite3_stmt *st, int col, struct dfs_npy_meta *m)
{
	const char	*descr, *shape;
	char		*end;

	memset(m, 0, sizeof *m);
	descr = (const char *)sqlite3_column_text(st, col);
	shape = (const char *)sqlite3_column_text(st, col + 2);
	if (descr == NULL || shape == NULL || strlen(descr) >= sizeof m->descr)
		return;
	strcpy(m->descr, descr);
	m->fortran_order = sqlite3_column_int(st, col + 1) != 0;
	while (*shape != '\0') {
		if (m->ndim == sizeof m->shape / sizeof m->shape[0])
			return;
		m->shape[m->ndim++] = strtoull(shape, &end, 10);
		if (end == shape || (*end != ',' && *end != '\0'))
			return;
		shape = *end == ',' ? end + 1 : end;
	}
	m->data_offset = (uint64_t)sqlite3_column_int64(st, col + 3);
	m->itemsize = (uint32_t)sqlite3_column_int64(st, col + 4);
	m->header_len = (uint64_t)sqlite3_column_int64(st, col + 5);
	m->valid = m->itemsize > 0 && m->itemsize <= 16;
}

/* Attributes from the NN_ATTR_COLS columns starting at col. */
static void
nn_meta_row_attr(sqlite3_stmt *st, int col, struct dfs_attr *a)
{
	memset(a, 0, sizeof *a);
	a->ino = (dfs_ino)sqlite3_column_int64(st, col);
	a->type = (uint8_t)sqlite3_column_int(st, col + 1);
	a->mode = (uint32_t)sqlite3_column_int64(st, col + 2);
	a->uid = (uint32_t)sqlite3_column_int64(st, col + 3);
	a->gid = (uint32_t)sqlite3_column_int64(st, col + 4);
	a->size = (uint64_t)sqlite3_column_int64(st, col + 5);
	a->mtime_ns = sqlite3_column_int64(st, col + 6);
	a->atime_ns = sqlite3_column_int64(st, col + 7);
	a->ctime_ns = sqlite3_column_int64(st, col + 8);
	a->nlink = (uint32_t)sqlite3_column_int64(st, col + 9);
	a->replication = (uint16_t)sqlite3_column_int(st, col + 10);
	a->block_size = (uint64_t)sqlite3_column_int64(st, col + 11);
	a->under_construction = sqlite3_column_int(st, col + 12) != 0;
	nn_meta_row_npy(st, col + 13, &a->npy);
	a->nblocks = (uint32_t)sqlite3_column_int64(st, col + 19);
	a->rdev = (uint64_t)sqlite3_column_int64(st, col + 20);
}

/* The attributes of ino: 0, -ENOENT or another negative errno. */
int
nn_meta_attr(struct nn *nn, dfs_ino ino, struct dfs_attr *a)
{
	static const char sql[] =
	    "SELECT " NN_ATTR_COLS " FROM inodes i WHERE i.id = ?";
	sqlite3_stmt	*st;
	int		 rc;

	st = nn_db_sql(nn, sql, "i", (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	nn_meta_row_attr(st, 0, a);
	nn_db_reset(st);
	return 0;
}

/* A new inode linked as name in parent; the parent's times and link count
 * follow.  In a set-group-ID parent the group is the parent's (and a
 * directory inherits the bit). */
int
nn_meta_new(struct nn *nn, dfs_ino parent, const char *name, int type,
    uint32_t mode, uint32_t uid, uint32_t gid, unsigned repl,
    uint64_t block_size, const char *client, dfs_ino *inop)
{
	static const char sql_ins[] =
	    "INSERT INTO inodes(type, mode, uid, gid, size, mtime_ns, atime_ns,"
	    " ctime_ns, nlink, replication, block_size, under_construction,"
	    " lease_client, lease_ms, id) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
	static const char sql_link[] =
	    "INSERT INTO dirents(parent, name, ino) VALUES (?, ?, ?)";
	static const char sql_parent[] =
	    "SELECT mode, gid FROM inodes WHERE id = ?";
	sqlite3_stmt	*st;
	int64_t		 now = nn_wall_ns(), id;
	dfs_ino		 ino;
	int		 rc;

	st = nn_db_sql(nn, sql_parent, "i", (int64_t)parent);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	if (sqlite3_column_int64(st, 0) & S_ISGID) {
		gid = (uint32_t)sqlite3_column_int64(st, 1);
		if (type == DFS_FT_DIR)
			mode |= S_ISGID;
	}
	nn_db_reset(st);
	/* From meta's counter, not AUTOINCREMENT: a replicated namespace
	 * must hand out the same numbers on every member (nn-repl.c). */
	if ((rc = nn_db_counter(nn, "next_ino", &id)) != 0)
		return rc;
	if ((rc = nn_db_exec(nn, sql_ins, "iiiiiiiiitii", (int64_t)type,
	    (int64_t)(mode & NN_MODE_MASK), (int64_t)uid, (int64_t)gid, now,
	    (int64_t)(type == DFS_FT_DIR ? 2 : 1), (int64_t)repl,
	    (int64_t)block_size, (int64_t)(client != NULL), client,
	    now / 1000000, id)) != 0)
		return rc;
	ino = (dfs_ino)id;
	if ((rc = nn_db_exec(nn, sql_link, "iti", (int64_t)parent, name,
	    (int64_t)ino)) != 0)
		return rc;
	if (type == DFS_FT_DIR &&
	    (rc = nn_db_exec(nn, sql_nlink, "ii", (int64_t)parent,
	    (int64_t)1)) != 0)
		return rc;
	if ((rc = nn_db_exec(nn, sql_touch, "ii", (int64_t)parent, now)) != 0)
		return rc;
	*inop = ino;
	return 0;
}

/*
 * Remove the entry name of parent, which names ino.  A directory (empty
 * by now) goes with it; any other inode only with its last name, its
 * blocks then queued for deletion on the data nodes.  The parent is left
 * as it is.
 */
static int
nn_meta_drop(struct nn *nn, dfs_ino parent, const char *name, dfs_ino ino,
    int type, int64_t now)
{
	int64_t	names;
	bool	kept;
	int	rc;

	if ((rc = nn_db_exec(nn, "DELETE FROM dirents WHERE parent = ? AND "
	    "name = ?", "it", (int64_t)parent, name)) != 0)
		return rc;
	if (type != DFS_FT_DIR) {
		if ((rc = nn_db_i64(nn, &names, "SELECT count(*) FROM dirents "
		    "WHERE ino = ?", "i", (int64_t)ino)) != 0)
			return rc;
		if (names > 0)
			return nn_db_exec(nn, "UPDATE inodes SET nlink = ?2, "
			    "ctime_ns = ?3 WHERE id = ?1", "iii", (int64_t)ino,
			    names, now);
	}
	if (type == DFS_FT_FILE) {
		/* Open in a mount: kept until its last holder lets go
		 * (nn-hold.c). */
		if ((rc = nn_hold_keep(nn, ino, now, &kept)) != 0 || kept)
			return rc;
		if ((rc = nn_blockmap_drop_file(nn, ino)) != 0)
			return rc;
	}
	return nn_db_exec(nn, "DELETE FROM inodes WHERE id = ?", "i",
	    (int64_t)ino);
}

/* Remove the entry name of parent (a file's name, a special file's, or an
 * empty directory), as nn_meta_drop does; the parent's times and link
 * count follow. */
int
nn_meta_unlink(struct nn *nn, dfs_ino parent, const char *name, dfs_ino ino,
    int type)
{
	int64_t	now = nn_wall_ns();
	int	rc;

	if ((rc = nn_meta_drop(nn, parent, name, ino, type, now)) != 0)
		return rc;
	if (type == DFS_FT_DIR &&
	    (rc = nn_db_exec(nn, sql_nlink, "ii", (int64_t)parent,
	    (int64_t)-1)) != 0)
		return rc;
	return nn_db_exec(nn, sql_touch, "ii", (int64_t)parent, now);
}

/* Whether directory ino has entries. */
int
nn_meta_has_children(struct nn *nn, dfs_ino ino, bool *yes)
{
	int64_t	v;
	int	rc;

	rc = nn_db_i64(nn, &v, "SELECT 1 FROM dirents WHERE parent = ? LIMIT 1",
	    "i", (int64_t)ino);
	*yes = rc == 0;
	return rc == -ENOENT ? 0 : rc;
}

/* One entry found under a tree being removed. */
struct nn_meta_ent {
	int64_t	 parent;
	char	*name;
	int64_t	 ino;
	int	 type;
};

/* Remove directory top (the entry name of parent) and everything under
 * it, children first; a file linked from outside the tree keeps its
 * other names. */
static int
nn_meta_unlink_tree(struct nn *nn, dfs_ino parent, const char *name,
    dfs_ino top)
{
	static const char sql[] =
	    "WITH RECURSIVE sub(parent, name, id) AS (SELECT 0, '', ?1 "
	    "UNION ALL SELECT d.parent, d.name, d.ino FROM dirents d "
	    "JOIN sub ON d.parent = sub.id) "
	    "SELECT sub.parent, sub.name, sub.id, i.type FROM sub "
	    "JOIN inodes i ON i.id = sub.id";
	struct nn_meta_ent *e = NULL;
	sqlite3_stmt	*st;
	size_t		 n = 0, cap = 0;
	int64_t		 now = nn_wall_ns();
	int		 rc;

	st = nn_db_sql(nn, sql, "i", (int64_t)top);
	while ((rc = nn_db_step(nn, st)) == 1) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			e = xrealloc(e, cap * sizeof *e);
		}
		e[n].parent = sqlite3_column_int64(st, 0);
		e[n].name = xstrdup((const char *)sqlite3_column_text(st, 1));
		e[n].ino = sqlite3_column_int64(st, 2);
		e[n++].type = sqlite3_column_int(st, 3);
	}
	/* Each entry was found after its parent: undo in reverse. */
	for (size_t i = n; rc == 0 && i > 0; i--) {
		if (e[i - 1].ino == (int64_t)top)
			continue;
		rc = nn_meta_drop(nn, (dfs_ino)e[i - 1].parent, e[i - 1].name,
		    (dfs_ino)e[i - 1].ino, e[i - 1].type, now);
	}
	if (rc == 0)
		rc = nn_meta_unlink(nn, parent, name, top, DFS_FT_DIR);
	if (rc == 0)
		log_info("deleted a tree of %zu entries", n);
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
	return rc;
}

/* The next path field of the request, or NULL when it does not decode
 * (nn_meta_paths then says so).  Caller frees. */
char *
nn_meta_get_path(struct nn_req *req)
{
	return dfs_get_strdup(&req->in, DFS_MAX_PATH);
}

/* Whether a request's (first) path names an entry it makes, removes or
 * renames, which "#N" alone (an inode, not an entry) cannot. */
static bool
nn_meta_names_entry(uint16_t type)
{
	switch (type) {
	case DFS_NN_MKDIR:
	case DFS_NN_RENAME:
	case DFS_NN_DELETE:
	case DFS_NN_UNLINK:
	case DFS_NN_SYMLINK:
	case DFS_NN_MKNOD:
		return true;
	default:
		return false;
	}
}

/*
 * The preamble every path request shares, once all its fields are read:
 * the payload must have decoded exactly (-EBADMSG), then *path1 (and
 * *path2 unless path2 is NULL) must parse (-EINVAL, with a cause) into p1
 * (and p2).  Consumes the path strings, leaving NULL behind (the request
 * keeps them for its audit line); p1 and p2 are safe to nn_path_free
 * whatever the result.
 */
int
nn_meta_paths(struct nn_req *req, char **path1, struct nn_path *p1,
    char **path2, struct nn_path *p2)
{
	int	rc;

	memset(p1, 0, sizeof *p1);
	if (p2 != NULL)
		memset(p2, 0, sizeof *p2);
	if ((rc = nn_server_decoded(req)) == 0)
		rc = nn_path_parse(*path1, p1, &req->cause);
	if (rc == 0 && path2 != NULL)
		rc = nn_path_parse(*path2, p2, &req->cause);
	if (rc == 0 && ((p1->by_ino && p1->n == 0 &&
	    nn_meta_names_entry(req->type)) ||
	    (path2 != NULL && p2->by_ino && p2->n == 0)))
		rc = nn_server_fail(req, -EINVAL, "%s names an inode, not an "
		    "entry of a directory: this request needs #INODE/NAME",
		    p1->by_ino && p1->n == 0 ? p1->norm : p2->norm);
	nn_audit_paths(req, path1, path2);
	return rc;
}

/* MKDIR: one directory, or with parents every missing one (mkdir -p). */
int
nn_meta_op_mkdir(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	char		*path, *where;
	uint32_t	 mode, uid, gid;
	bool		 parents;
	dfs_ino		 ino, next;
	int		 type, rc;

	path = nn_meta_get_path(req);
	mode = dfs_get_u32(&req->in);
	uid = dfs_get_u32(&req->in);
	gid = dfs_get_u32(&req->in);
	parents = dfs_get_u8(&req->in) != 0;
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		return rc;
	if (p.n == 0) {
		rc = parents ? 0 : nn_server_fail(req, -EEXIST,
		    "file exists: %s", p.norm);
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0 || (rc = nn_path_resolve(nn,
	    &req->peer->cred, &p, 0, &ino, &type, &req->cause)) != 0)
		goto out;
	if (type != DFS_FT_DIR) {
		rc = nn_server_fail(req, -ENOTDIR, "not a directory: %s",
		    p.norm);
		goto out;
	}
	for (int i = 0; i < p.n && rc == 0; i++) {
		uint32_t m = mode, u = uid, g = gid;

		where = nn_path_prefix(&p, i + 1);
		if ((rc = nn_perm_check(req, ino, NN_PERM_X, where)) == 0)
			rc = nn_path_lookup(nn, ino, p.comp[i], &next, &type);
		if (rc == -EACCES)
			;	/* no search permission on the way */
		else if (rc == 0 && type != DFS_FT_DIR)
			rc = nn_server_fail(req, i + 1 < p.n ? -ENOTDIR :
			    -EEXIST, "%s: %s", i + 1 < p.n ? "not a directory"
			    : "file exists", where);
		else if (rc == 0 && i + 1 == p.n && !parents)
			rc = nn_server_fail(req, -EEXIST, "file exists: %s",
			    where);
		else if (rc == -ENOENT && i + 1 < p.n && !parents)
			rc = nn_server_fail(req, -ENOENT, "no such file or "
			    "directory: %s", where);
		else if (rc == -ENOENT && (rc = nn_perm_create(req, ino, where,
		    DFS_FT_DIR, &m, &u, &g)) == 0)
			rc = nn_meta_new(nn, ino, p.comp[i], DFS_FT_DIR, m, u,
			    g, 0, 0, NULL, &next);
		free(where);
		ino = next;
	}
out:
	nn_path_free(&p);
	return rc;
}

/* STAT: the attributes of one path; with DFS_STAT_HOLD (a field newer
 * clients add) a mount's open also takes its hold on the file. */
int
nn_meta_op_stat(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_attr	 a;
	char		*path, *client = NULL;
	uint64_t	 seq = 0;
	uint8_t		 flags = 0;
	dfs_ino		 ino;
	int		 type, rc;

	memset(&p, 0, sizeof p);

	path = nn_meta_get_path(req);
	if (dfs_rbuf_left(&req->in) > 0) {
		flags = dfs_get_u8(&req->in);
		client = dfs_get_strdup(&req->in, NN_MAX_CLIENT_NAME);
		seq = dfs_get_u64(&req->in);
	}
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		goto out;
	if ((flags & ~(uint8_t)DFS_STAT_HOLD) != 0 || ((flags &
	    DFS_STAT_HOLD) && (client == NULL || client[0] == '\0'))) {
		rc = nn_server_fail(req, -EINVAL, "bad STAT flags 0x%x or "
		    "client name", flags);
		goto out;
	}
	if ((rc = nn_server_enter(req)) == 0 &&
	    (rc = nn_path_resolve(nn, &req->peer->cred, &p, p.n, &ino, &type,
	    &req->cause)) == 0 && (rc = nn_meta_attr(nn, ino, &a)) == 0) {
		/* An open's STAT: the mount holds the file (nn-hold.c). */
		if ((flags & DFS_STAT_HOLD) && type == DFS_FT_FILE &&
		    (rc = nn_hold_take(nn, ino, client, req->peer->cred.who,
		    seq)) != 0) {
			rc = nn_server_fail(req, rc, "cannot hold %s open: %s",
			    p.norm, rc == -ENOSPC ? "too many files held "
			    "open" : "held under that name by another");
			goto out;
		}
		dfs_proto_put_attr(nn_server_reply(req, DFS_NN_ATTR), &a);
	}
out:
	free(client);
	nn_path_free(&p);
	return rc;
}

/*
 * LIST: a page of a directory's entries in byte order of their names,
 * after start_after, ending when the page is full (by count or bytes);
 * "more" says whether entries remain.  A file lists as itself.
 */
int
nn_meta_op_list(struct nn_req *req)
{
	static const char sql[] =
	    "SELECT d.name, " NN_ATTR_COLS " FROM dirents d "
	    "JOIN inodes i ON i.id = d.ino "
	    "WHERE d.parent = ?1 AND d.name > ?2 ORDER BY d.name LIMIT ?3";
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_attr	 a;
	struct dfs_wbuf	*b;
	sqlite3_stmt	*st;
	char		*path, *after;
	uint32_t	 max, n = 0;
	size_t		 npos;
	uint8_t		 more = 0;
	dfs_ino		 ino;
	int		 type, rc;

	path = nn_meta_get_path(req);
	after = dfs_get_strdup(&req->in, DFS_MAX_PATH);
	max = dfs_get_u32(&req->in);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0) {
		free(after);
		return rc;
	}
	if (max == 0 || max > DFS_LIST_MAX)
		max = DFS_LIST_MAX;
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_path_resolve(nn, &req->peer->cred, &p, p.n,
	    &ino, &type, &req->cause)) != 0)
		goto out;
	if (type == DFS_FT_DIR &&
	    (rc = nn_perm_check(req, ino, NN_PERM_R, p.norm)) != 0)
		goto out;
	b = nn_server_reply(req, DFS_NN_LISTING);
	npos = b->len;
	dfs_put_u32(b, 0);
	if (type != DFS_FT_DIR) {
		const char *name = p.comp[p.n - 1];
		if (strcmp(name, after) > 0 &&
		    (rc = nn_meta_attr(nn, ino, &a)) == 0) {
			dfs_put_str(b, name);
			dfs_proto_put_attr(b, &a);
			n = 1;
		}
	} else {
		st = nn_db_sql(nn, sql, "iti", (int64_t)ino, after,
		    (int64_t)max + 1);
		while ((rc = nn_db_step(nn, st)) == 1) {
			if (n == max || b->len > NN_PAGE_BYTES) {
				more = 1;
				nn_db_reset(st);
				rc = 0;
				break;
			}
			nn_meta_row_attr(st, 1, &a);
			dfs_put_str(b, (const char *)sqlite3_column_text(st,
			    0));
			dfs_proto_put_attr(b, &a);
			n++;
		}
	}
	dfs_put_u8(b, more);
	dfs_le32enc(b->data + npos, n);
out:
	nn_path_free(&p);
	free(after);
	return rc;
}

/* Whether client may replace or extend file ino now (its lease). */
static int
nn_meta_lease_ok(struct nn *nn, dfs_ino ino, const char *client, bool *ok)
{
	static const char sql[] =
	    "SELECT i.under_construction, i.lease_client, max(i.lease_ms, "
	    "coalesce((SELECT l.renewed_ms FROM live.leases l WHERE "
	    "l.ino = i.id), 0)) FROM inodes i WHERE i.id = ?";
	sqlite3_stmt	*st;
	const char	*holder;
	int		 rc;

	*ok = true;
	st = nn_db_sql(nn, sql, "i", (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	holder = (const char *)sqlite3_column_text(st, 1);
	if (sqlite3_column_int(st, 0) != 0 && holder != NULL &&
	    strcmp(holder, client) != 0 &&
	    nn_wall_ns() / 1000000 - sqlite3_column_int64(st, 2) <
	    nn->lease_timeout_ms)
		*ok = false;
	nn_db_reset(st);
	return 0;
}

/*
 * A new version of file ino, empty and under construction for client: its
 * blocks are queued for deletion, it takes the mode, owner and layout
 * given, and keeps its inode and so all its names.  A rewrite never grants
 * S_ISUID or S_ISGID the inode does not have now (only chmod does), so a
 * writer holding a mode read before the bits were cleared cannot bring
 * them back.
 */
static int
nn_meta_reuse(struct nn *nn, dfs_ino ino, uint32_t mode, uint32_t uid,
    uint32_t gid, unsigned repl, uint64_t block_size, const char *client)
{
	static const char sql[] =
	    "UPDATE inodes SET mode = ?2, uid = ?3, gid = ?4, size = 0, "
	    "mtime_ns = ?5, atime_ns = ?5, ctime_ns = ?5, replication = ?6, "
	    "block_size = ?7, under_construction = 1, lease_client = ?8, "
	    "lease_ms = ?9, descr = NULL, fortran = NULL, shape = NULL, "
	    "data_offset = NULL, itemsize = NULL, header_len = NULL "
	    "WHERE id = ?1";
	int64_t	now = nn_wall_ns(), old;
	int	rc;

	if ((rc = nn_db_i64(nn, &old, "SELECT mode FROM inodes WHERE id = ?",
	    "i", (int64_t)ino)) != 0)
		return rc;
	mode &= ~(uint32_t)(S_ISUID | S_ISGID) | (uint32_t)old;
	if ((rc = nn_blockmap_drop_file(nn, ino)) != 0)
		return rc;
	return nn_db_exec(nn, sql, "iiiiiiiti", (int64_t)ino,
	    (int64_t)(mode & NN_MODE_MASK), (int64_t)uid, (int64_t)gid, now,
	    (int64_t)repl, (int64_t)block_size, client, now / 1000000);
}

/*
 * Record whether file ino is the temporary name of a put (CREATE with
 * DFS_CREATE_PUT_TEMP), which lease recovery removes rather than closes:
 * its writer had not renamed it, so its bytes are nobody's file yet.
 */
static int
nn_meta_put_temp(struct nn *nn, dfs_ino ino, bool temp)
{
	if (temp)
		return nn_db_exec(nn, "INSERT OR REPLACE INTO put_temps(ino, "
		    "closed_ms) VALUES (?, NULL)", "i", (int64_t)ino);
	return nn_db_exec(nn, "DELETE FROM put_temps WHERE ino = ?", "i",
	    (int64_t)ino);
}

/*
 * CREATE: a new empty file under construction, leased to client.  An
 * existing file is rewritten only with DFS_CREATE_OVERWRITE, in the same
 * transaction, its blocks queued for deletion; it keeps its inode
 * (nn_meta_reuse), so its other hard links see the new contents.  Any
 * other kind of entry is replaced by a new file.  DFS_CREATE_PUT_TEMP
 * marks the file as a put's temporary (nn_meta_put_temp).  A bare "#N"
 * path names no entry: it may only rewrite file N (a mount addressing
 * files by inode writes them that way).
 */
int
nn_meta_op_create(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_attr	 a;
	char		*path, *client;
	uint32_t	 mode, uid, gid;
	uint16_t	 repl;
	uint64_t	 bsize;
	uint8_t		 flags;
	bool		 overwrite, ok;
	dfs_ino		 parent, old, ino = 0;
	int		 type, rc;

	path = nn_meta_get_path(req);
	mode = dfs_get_u32(&req->in);
	uid = dfs_get_u32(&req->in);
	gid = dfs_get_u32(&req->in);
	repl = dfs_get_u16(&req->in);
	bsize = dfs_get_u64(&req->in);
	flags = dfs_get_u8(&req->in);
	overwrite = (flags & DFS_CREATE_OVERWRITE) != 0;
	client = dfs_get_strdup(&req->in, DFS_WIRE_MAX_STR);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		goto out;
	if ((flags & ~(DFS_CREATE_OVERWRITE | DFS_CREATE_PUT_TEMP)) != 0) {
		rc = nn_server_fail(req, -EINVAL, "unknown create flags 0x%x",
		    flags);
		goto out;
	}
	if (repl == 0)
		repl = (uint16_t)nn->replication;
	if (bsize == 0)
		bsize = nn->block_size;
	if (repl > DFS_MAX_REPLICATION) {
		rc = nn_server_fail(req, -EINVAL, "replication %u is out of "
		    "range (1 to %d)", repl, DFS_MAX_REPLICATION);
		goto out;
	}
	if (bsize < 4096 || bsize > ((uint64_t)2 << 30)) {
		rc = nn_server_fail(req, -EINVAL, "block size %llu is out of "
		    "range (4K to 2G)", (unsigned long long)bsize);
		goto out;
	}
	if (client[0] == '\0' || strlen(client) > NN_MAX_CLIENT_NAME) {
		rc = nn_server_fail(req, -EINVAL, "bad client name");
		goto out;
	}
	if (p.n == 0 && !p.by_ino) {
		rc = nn_server_fail(req, -EISDIR, "is a directory: /");
		goto out;
	}
	if (p.n == 0 && !overwrite) {
		rc = nn_server_fail(req, -EINVAL, "%s names an inode, not an "
		    "entry of a directory: only a rewrite (overwrite) may "
		    "create it", p.norm);
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if (p.n == 0) {
		/* "#N": the existing file N, rewritten in place. */
		rc = nn_path_resolve(nn, &req->peer->cred, &p, 0, &old,
		    &type, &req->cause);
		if (rc == 0 && type != DFS_FT_FILE)
			rc = nn_server_fail(req, type == DFS_FT_DIR ?
			    -EISDIR : -EINVAL, "not a regular file: %s",
			    p.norm);
		if (rc != 0)
			goto out;
		parent = 0;
	} else if ((rc = nn_path_parent(nn, &req->peer->cred, &p, &parent,
	    &req->cause)) != 0)
		goto out;
	else
		rc = nn_path_lookup(nn, parent, p.comp[p.n - 1], &old, &type);
	if (rc == 0 && type == DFS_FT_DIR)
		rc = nn_server_fail(req, -EISDIR, "is a directory: %s", p.norm);
	else if (rc == 0 && !overwrite)
		rc = nn_server_fail(req, -EEXIST, "file exists: %s (use -f to "
		    "overwrite)", p.norm);
	else if (rc == 0 && type == DFS_FT_FILE &&
	    (rc = nn_perm_rewrite(req, old, p.norm, &mode, &uid, &gid)) != 0)
		;	/* may not write it */
	else if (rc == 0 && type != DFS_FT_FILE &&
	    ((rc = nn_perm_delete(req, parent, old, p.norm)) != 0 ||
	    (rc = nn_perm_create(req, parent, p.norm, DFS_FT_FILE, &mode,
	    &uid, &gid)) != 0))
		;	/* may not replace it */
	else if (rc == 0 && (rc = nn_meta_lease_ok(nn, old, client,
	    &ok)) == 0 && !ok)
		rc = nn_server_fail(req, -EPERM, "file is being written by "
		    "another client: %s", p.norm);
	else if (rc == 0 && type == DFS_FT_FILE) {
		log_debug("create: rewriting %s", p.norm);
		if ((rc = nn_meta_reuse(nn, old, mode, uid, gid, repl, bsize,
		    client)) == 0)
			ino = old;
	} else if (rc == 0) {
		log_debug("create: replacing %s", p.norm);
		rc = nn_meta_unlink(nn, parent, p.comp[p.n - 1], old, type);
	} else if (rc == -ENOENT)
		rc = nn_perm_create(req, parent, p.norm, DFS_FT_FILE, &mode,
		    &uid, &gid);
	if (rc != 0)
		goto out;
	if (ino == 0)
		rc = nn_meta_new(nn, parent, p.comp[p.n - 1], DFS_FT_FILE,
		    mode, uid, gid, repl, bsize, client, &ino);
	if (rc == 0)
		rc = nn_meta_put_temp(nn, ino,
		    (flags & DFS_CREATE_PUT_TEMP) != 0);
	if (rc == 0 && (rc = nn_meta_attr(nn, ino, &a)) == 0)
		dfs_proto_put_attr(nn_server_reply(req, DFS_NN_ATTR), &a);
out:
	nn_path_free(&p);
	free(client);
	return rc;
}

/* -EPERM when file ino (at path) is being written by a writer whose lease
 * holds, as CREATE answers; else 0. */
static int
nn_meta_writing(struct nn_req *req, dfs_ino ino, const char *path)
{
	bool	ok;
	int	rc;

	if ((rc = nn_meta_lease_ok(req->nn, ino, "", &ok)) != 0)
		return rc;
	if (!ok)
		return nn_server_fail(req, -EPERM, "file is being written by "
		    "another client: %s", path);
	return 0;
}

/* The checks and changes of a rename, inside its transaction. */
static int
nn_meta_do_rename(struct nn_req *req, const struct nn_path *s,
    const struct nn_path *d, uint32_t flags)
{
	struct nn	*nn = req->nn;
	dfs_ino		 sp, dp, sino, dino;
	int		 stype, dtype, rc;
	bool		 yes, dexists;
	int64_t		 now = nn_wall_ns();

	if ((rc = nn_path_parent(nn, &req->peer->cred, s, &sp,
	    &req->cause)) != 0)
		return rc;
	if ((rc = nn_path_lookup(nn, sp, s->comp[s->n - 1], &sino,
	    &stype)) != 0)
		return rc != -ENOENT ? rc : nn_server_fail(req, -ENOENT,
		    "no such file or directory: %s", s->norm);
	if ((rc = nn_path_parent(nn, &req->peer->cred, d, &dp,
	    &req->cause)) != 0)
		return rc;
	rc = nn_path_lookup(nn, dp, d->comp[d->n - 1], &dino, &dtype);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	dexists = rc == 0;
	if (dexists && dino == sino)
		return 0;
	if (stype == DFS_FT_DIR) {
		if ((rc = nn_path_is_ancestor(nn, sino, dp, &yes)) != 0)
			return rc;
		if (yes)
			return nn_server_fail(req, -EINVAL, "cannot move a "
			    "directory into itself: %s to %s", s->norm,
			    d->norm);
	}
	if ((rc = nn_perm_rename(req, sp, sino, dp, dexists ? dino : 0,
	    s->norm, d->norm)) != 0)
		return rc;
	if (dexists) {
		if (flags & DFS_RENAME_NOREPLACE)
			return nn_server_fail(req, -EEXIST, "file exists: %s",
			    d->norm);
		if ((flags & DFS_RENAME_NOREPLACE_UC) && dtype == DFS_FT_FILE &&
		    (rc = nn_meta_writing(req, dino, d->norm)) != 0)
			return rc;
		if (stype == DFS_FT_DIR && dtype != DFS_FT_DIR)
			return nn_server_fail(req, -ENOTDIR, "not a directory: "
			    "%s", d->norm);
		if (stype != DFS_FT_DIR && dtype == DFS_FT_DIR)
			return nn_server_fail(req, -EISDIR, "is a directory: "
			    "%s", d->norm);
		if (dtype == DFS_FT_DIR) {
			if ((rc = nn_meta_has_children(nn, dino, &yes)) != 0)
				return rc;
			if (yes)
				return nn_server_fail(req, -ENOTEMPTY,
				    "directory not empty: %s", d->norm);
		}
		if ((rc = nn_meta_unlink(nn, dp, d->comp[d->n - 1], dino,
		    dtype)) != 0)
			return rc;
	}
	if ((rc = nn_db_exec(nn, "UPDATE dirents SET parent = ?1, name = ?2 "
	    "WHERE parent = ?3 AND name = ?4", "itit", (int64_t)dp,
	    d->comp[d->n - 1], (int64_t)sp, s->comp[s->n - 1])) != 0)
		return rc;
	if (stype == DFS_FT_DIR && sp != dp &&
	    ((rc = nn_db_exec(nn, sql_nlink, "ii", (int64_t)sp,
	    (int64_t)-1)) != 0 || (rc = nn_db_exec(nn, sql_nlink, "ii",
	    (int64_t)dp, (int64_t)1)) != 0))
		return rc;
	if ((rc = nn_db_exec(nn, sql_touch, "ii", (int64_t)sp, now)) != 0 ||
	    (rc = nn_db_exec(nn, sql_touch, "ii", (int64_t)dp, now)) != 0)
		return rc;
	/* A put's temporary renamed is a file like any other now. */
	if ((rc = nn_meta_put_temp(nn, sino, false)) != 0)
		return rc;
	return nn_db_exec(nn, "UPDATE inodes SET ctime_ns = ?2 WHERE id = ?1",
	    "ii", (int64_t)sino, now);
}

/* RENAME with POSIX rename(2) semantics; DFS_RENAME_NOREPLACE is
 * RENAME_NOREPLACE, and DFS_RENAME_NOREPLACE_UC keeps a file being
 * written, as CREATE does (a put's final rename). */
int
nn_meta_op_rename(struct nn_req *req)
{
	struct nn_path	 s, d;
	char		*src, *dst;
	uint32_t	 flags;
	int		 rc;

	src = nn_meta_get_path(req);
	dst = nn_meta_get_path(req);
	flags = dfs_get_u32(&req->in);
	if ((rc = nn_meta_paths(req, &src, &s, &dst, &d)) != 0)
		goto out;
	if ((flags & ~(uint32_t)(DFS_RENAME_NOREPLACE |
	    DFS_RENAME_NOREPLACE_UC)) != 0) {
		rc = nn_server_fail(req, -EINVAL, "unknown rename flags 0x%x",
		    flags);
		goto out;
	}
	if (s.n == 0 || d.n == 0) {
		rc = nn_server_fail(req, -EBUSY, "cannot rename %sthe root "
		    "directory", s.n == 0 ? "" : "over ");
		goto out;
	}
	if ((rc = nn_server_enter(req)) == 0 &&
	    (rc = nn_meta_do_rename(req, &s, &d, flags)) == 0)
		log_debug("renamed %s to %s", s.norm, d.norm);
out:
	nn_path_free(&s);
	nn_path_free(&d);
	return rc;
}

/* DELETE: a file, an empty directory, or with recursive a whole tree. */
int
nn_meta_op_delete(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	char		*path;
	bool		 recursive, yes;
	dfs_ino		 parent, ino;
	int		 type, rc;

	path = nn_meta_get_path(req);
	recursive = dfs_get_u8(&req->in) != 0;
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		return rc;
	if (p.n == 0) {
		rc = nn_server_fail(req, -EBUSY, "cannot delete the root "
		    "directory");
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_path_parent(nn, &req->peer->cred, &p, &parent,
	    &req->cause)) != 0)
		goto out;
	if ((rc = nn_path_lookup(nn, parent, p.comp[p.n - 1], &ino,
	    &type)) != 0) {
		if (rc == -ENOENT)
			nn_server_fail(req, rc, "no such file or directory: %s",
			    p.norm);
		goto out;
	}
	if ((rc = nn_perm_delete(req, parent, ino, p.norm)) != 0)
		goto out;
	if (type == DFS_FT_DIR) {
		if ((rc = nn_meta_has_children(nn, ino, &yes)) != 0)
			goto out;
		if (yes && !recursive)
			rc = nn_server_fail(req, -ENOTEMPTY, "directory not "
			    "empty: %s", p.norm);
		else if (yes && (rc = nn_perm_tree(req, ino, p.norm)) != 0)
			;	/* rm -r may not empty all of it */
		else if (yes)
			rc = nn_meta_unlink_tree(nn, parent, p.comp[p.n - 1],
			    ino);
		else
			rc = nn_meta_unlink(nn, parent, p.comp[p.n - 1], ino,
			    type);
	} else
		rc = nn_meta_unlink(nn, parent, p.comp[p.n - 1], ino, type);
out:
	if (rc == 0)
		log_debug("deleted %s", p.norm);
	nn_path_free(&p);
	return rc;
}

/* SET_REPL: a file's replication factor; the monitor copies or trims. */
int
nn_meta_op_set_repl(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	char		*path;
	uint16_t	 repl;
	dfs_ino		 ino;
	int		 type, rc;

	path = nn_meta_get_path(req);
	repl = dfs_get_u16(&req->in);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		return rc;
	if (repl < 1 || repl > DFS_MAX_REPLICATION) {
		rc = nn_server_fail(req, -EINVAL, "replication %u is out of "
		    "range (1 to %d)", repl, DFS_MAX_REPLICATION);
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_path_resolve(nn, &req->peer->cred, &p, p.n,
	    &ino, &type, &req->cause)) == 0) {
		if (type != DFS_FT_FILE)
			rc = nn_server_fail(req, -EISDIR, "is a directory: %s",
			    p.norm);
		else if ((rc = nn_perm_check(req, ino, NN_PERM_W,
		    p.norm)) == 0)
			rc = nn_db_exec(nn, "UPDATE inodes SET "
			    "replication = ?2, ctime_ns = ?3 WHERE id = ?1",
			    "iii", (int64_t)ino, (int64_t)repl, nn_wall_ns());
	}
	/* The monitor wakes once the wrapper commits and unlocks. */
	if (rc == 0)
		pthread_cond_signal(&nn->wake);
out:
	nn_path_free(&p);
	return rc;
}
