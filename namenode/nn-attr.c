/*
 * nn-attr.c: the namespace requests only mounts make: setattr (chmod,
 * chown, utimens, truncation to zero), POSIX unlink/rmdir, symbolic
 * links, whose targets live in their own table, hard links and special
 * files (FIFOs, sockets, devices: an inode with a type and a device
 * number, nothing more).
 *
 * They share nn-meta.c's inode helpers and, like its operations, each
 * runs as one transaction that makes its POSIX checks inside it.  They
 * keep the nn_meta_op_ names nn-server.c dispatches on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nn_i.h"

/*
 * SETATTR: chmod, chown, utimens and truncation to zero bytes, one
 * transaction; ctime becomes now.  Replies with the attributes after.
 */
int
nn_meta_op_setattr(struct nn_req *req)
{
	static const char sql_set[] =
	    "UPDATE inodes SET "
	    "mode = CASE WHEN ?2 & 1 THEN ?3 ELSE mode END, "
	    "uid = CASE WHEN ?2 & 2 THEN ?4 ELSE uid END, "
	    "gid = CASE WHEN ?2 & 4 THEN ?5 ELSE gid END, "
	    "atime_ns = CASE WHEN ?2 & 8 THEN ?6 WHEN ?2 & 64 THEN ?8 "
	    "ELSE atime_ns END, "
	    "mtime_ns = CASE WHEN ?2 & 16 THEN ?7 WHEN ?2 & 160 THEN ?8 "
	    "ELSE mtime_ns END, "
	    "ctime_ns = ?8 WHERE id = ?1";
	static const char sql_empty[] =
	    "UPDATE inodes SET size = 0, descr = NULL, fortran = NULL, "
	    "shape = NULL, data_offset = NULL, itemsize = NULL, "
	    "header_len = NULL WHERE id = ?1";
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_attr	 a;
	char		*path;
	uint32_t	 valid, mode, uid, gid;
	int64_t		 atime, mtime;
	dfs_ino		 ino;
	int		 type, rc;

	path = nn_meta_get_path(req);
	valid = dfs_get_u32(&req->in);
	mode = dfs_get_u32(&req->in);
	uid = dfs_get_u32(&req->in);
	gid = dfs_get_u32(&req->in);
	atime = dfs_get_i64(&req->in);
	mtime = dfs_get_i64(&req->in);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		return rc;
	if ((valid & ~0xffU) != 0) {
		rc = nn_server_fail(req, -EINVAL, "unknown attribute bits 0x%x",
		    valid);
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_path_resolve(nn, &req->peer->cred, &p, p.n,
	    &ino, &type, &req->cause)) != 0)
		goto out;
	if ((rc = nn_perm_setattr(req, ino, p.norm, &valid, &mode, uid,
	    gid)) != 0)
		goto out;
	if (valid & DFS_SET_SIZE0) {
		/* mtime changes with the size, as truncate(2) says. */
		valid |= DFS_SET_MTIME_NOW;
		if (type != DFS_FT_FILE)
			rc = nn_server_fail(req, type == DFS_FT_DIR ? -EISDIR :
			    -EINVAL, "not a regular file: %s", p.norm);
		else if ((rc = nn_meta_attr(nn, ino, &a)) == 0 &&
		    a.under_construction)
			rc = nn_server_fail(req, -ETXTBSY, "file is being "
			    "written: %s", p.norm);
		else if (rc == 0 && (rc = nn_blockmap_drop_file(nn, ino)) == 0 &&
		    (rc = nn_perm_wrote(req, ino)) == 0)
			rc = nn_db_exec(nn, sql_empty, "i", (int64_t)ino);
		if (rc != 0)
			goto out;
	}
	if ((rc = nn_db_exec(nn, sql_set, "iiiiiiii", (int64_t)ino,
	    (int64_t)valid, (int64_t)(mode & NN_MODE_MASK), (int64_t)uid,
	    (int64_t)gid, atime, mtime, nn_wall_ns())) != 0)
		goto out;
	if ((rc = nn_meta_attr(nn, ino, &a)) == 0)
		dfs_proto_put_attr(nn_server_reply(req, DFS_NN_ATTR), &a);
out:
	nn_path_free(&p);
	return rc;
}

/*
 * UNLINK: unlink(2) (never a directory) or rmdir(2) (only an empty one),
 * checked inside the transaction so a stale client cache cannot remove
 * the wrong kind of entry.  With flag bit 0 (a field newer clients add)
 * the reply is the parent directory's attributes after the removal, which
 * a mount's kernel asks for next: one round trip instead of two.
 */
int
nn_meta_op_unlink(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_attr	 a;
	char		*path;
	bool		 dir, yes;
	uint8_t		 flags = 0;
	dfs_ino		 parent, ino;
	int		 type, rc;

	path = nn_meta_get_path(req);
	dir = dfs_get_u8(&req->in) != 0;
	if (dfs_rbuf_left(&req->in) > 0)
		flags = dfs_get_u8(&req->in);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		return rc;
	if ((flags & ~1U) != 0) {
		rc = nn_server_fail(req, -EINVAL, "unknown unlink flags 0x%x",
		    flags);
		goto out;
	}
	if (p.n == 0) {
		rc = nn_server_fail(req, dir ? -EBUSY : -EISDIR, "cannot "
		    "remove the root directory");
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
	if (dir && type != DFS_FT_DIR)
		rc = nn_server_fail(req, -ENOTDIR, "not a directory: %s",
		    p.norm);
	else if (!dir && type == DFS_FT_DIR)
		rc = nn_server_fail(req, -EISDIR, "is a directory: %s", p.norm);
	else if (dir && (rc = nn_meta_has_children(nn, ino, &yes)) == 0 &&
	    yes)
		rc = nn_server_fail(req, -ENOTEMPTY, "directory not empty: %s",
		    p.norm);
	if (rc == 0)
		rc = nn_meta_unlink(nn, parent, p.comp[p.n - 1], ino, type);
	if (rc == 0 && (flags & 1) && (rc = nn_meta_attr(nn, parent, &a)) == 0)
		dfs_proto_put_attr(nn_server_reply(req, DFS_NN_ATTR), &a);
out:
	if (rc == 0)
		log_debug("removed %s", p.norm);
	nn_path_free(&p);
	return rc;
}

/* SYMLINK: a symbolic link whose target is kept as given; the namenode
 * never follows links (a mount's kernel does). */
int
nn_meta_op_symlink(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_attr	 a;
	char		*path, *target;
	uint32_t	 uid, gid, mode = 0777;
	dfs_ino		 parent, ino;
	int		 type, rc;

	path = nn_meta_get_path(req);
	target = dfs_get_strdup(&req->in, DFS_MAX_PATH);
	uid = dfs_get_u32(&req->in);
	gid = dfs_get_u32(&req->in);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		goto out;
	if (target[0] == '\0') {
		rc = nn_server_fail(req, -ENOENT, "empty symbolic link target");
		goto out;
	}
	if (p.n == 0) {
		rc = nn_server_fail(req, -EEXIST, "file exists: /");
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_path_parent(nn, &req->peer->cred, &p, &parent,
	    &req->cause)) != 0)
		goto out;
	rc = nn_path_lookup(nn, parent, p.comp[p.n - 1], &ino, &type);
	if (rc == 0)
		rc = nn_server_fail(req, -EEXIST, "file exists: %s", p.norm);
	else if (rc == -ENOENT && (rc = nn_perm_create(req, parent, p.norm,
	    DFS_FT_SYMLINK, &mode, &uid, &gid)) == 0)
		rc = nn_meta_new(nn, parent, p.comp[p.n - 1], DFS_FT_SYMLINK,
		    mode, uid, gid, 0, 0, NULL, &ino);
	if (rc == 0)
		rc = nn_db_exec(nn, "UPDATE inodes SET size = ?2 WHERE id = ?1",
		    "ii", (int64_t)ino, (int64_t)strlen(target));
	if (rc == 0)
		rc = nn_db_exec(nn, "INSERT INTO symlinks(ino, target) "
		    "VALUES (?, ?)", "it", (int64_t)ino, target);
	if (rc == 0 && (rc = nn_meta_attr(nn, ino, &a)) == 0)
		dfs_proto_put_attr(nn_server_reply(req, DFS_NN_ATTR), &a);
out:
	nn_path_free(&p);
	free(target);
	return rc;
}

/* READLINK: the target of a symbolic link. */
int
nn_meta_op_readlink(struct nn_req *req)
{
	static const char sql[] = "SELECT target FROM symlinks WHERE ino = ?";
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	sqlite3_stmt	*st;
	char		*path;
	dfs_ino		 ino;
	int		 type, rc;

	path = nn_meta_get_path(req);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		return rc;
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_path_resolve(nn, &req->peer->cred, &p, p.n,
	    &ino, &type, &req->cause)) != 0)
		goto out;
	if (type != DFS_FT_SYMLINK) {
		rc = nn_server_fail(req, -EINVAL, "not a symbolic link: %s",
		    p.norm);
		goto out;
	}
	st = nn_db_sql(nn, sql, "i", (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) == 1) {
		dfs_put_str(nn_server_reply(req, DFS_NN_LINK),
		    (const char *)sqlite3_column_text(st, 0));
		nn_db_reset(st);
		rc = 0;
	} else if (rc == 0)
		rc = nn_server_fail(req, -EIO, "symbolic link %s has no "
		    "target", p.norm);
out:
	nn_path_free(&p);
	return rc;
}

/*
 * HARDLINK: a new name for an existing inode that is not a directory;
 * its nlink counts the names and its ctime becomes now, as link(2) does.
 * Replies with the inode's attributes after.
 */
int
nn_meta_op_hardlink(struct nn_req *req)
{
	static const char sql_link[] =
	    "INSERT INTO dirents(parent, name, ino) VALUES (?, ?, ?)";
	static const char sql_count[] =
	    "UPDATE inodes SET nlink = (SELECT count(*) FROM dirents WHERE "
	    "ino = ?1), ctime_ns = ?2 WHERE id = ?1";
	static const char sql_touch[] =
	    "UPDATE inodes SET mtime_ns = ?2, ctime_ns = ?2 WHERE id = ?1";
	struct nn	*nn = req->nn;
	struct nn_path	 s, d;
	struct dfs_attr	 a;
	char		*src, *dst;
	dfs_ino		 ino, parent, other;
	uint32_t	 mode = 0, uid = 0, gid = 0;	/* unused */
	int64_t		 now = nn_wall_ns();
	int		 type, otype, rc;

	src = nn_meta_get_path(req);
	dst = nn_meta_get_path(req);
	if ((rc = nn_meta_paths(req, &src, &s, &dst, &d)) != 0)
		goto out;
	if (d.n == 0) {
		rc = nn_server_fail(req, -EEXIST, "file exists: /");
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_path_resolve(nn, &req->peer->cred, &s, s.n,
	    &ino, &type, &req->cause)) != 0)
		goto out;
	if (type == DFS_FT_DIR) {
		rc = nn_server_fail(req, -EPERM, "cannot hard-link a "
		    "directory: %s", s.norm);
		goto out;
	}
	if ((rc = nn_path_parent(nn, &req->peer->cred, &d, &parent,
	    &req->cause)) != 0)
		goto out;
	rc = nn_path_lookup(nn, parent, d.comp[d.n - 1], &other, &otype);
	if (rc == 0)
		rc = nn_server_fail(req, -EEXIST, "file exists: %s", d.norm);
	else if (rc == -ENOENT)
		rc = nn_perm_create(req, parent, d.norm, type, &mode, &uid,
		    &gid);
	if (rc == 0 && (rc = nn_meta_attr(nn, ino, &a)) == 0 &&
	    a.nlink >= NN_MAX_LINKS)
		rc = nn_server_fail(req, -EMLINK, "too many links: %s",
		    s.norm);
	if (rc != 0)
		goto out;
	if ((rc = nn_db_exec(nn, sql_link, "iti", (int64_t)parent,
	    d.comp[d.n - 1], (int64_t)ino)) != 0 ||
	    (rc = nn_db_exec(nn, sql_count, "ii", (int64_t)ino, now)) != 0 ||
	    (rc = nn_db_exec(nn, sql_touch, "ii", (int64_t)parent, now)) != 0)
		goto out;
	if ((rc = nn_meta_attr(nn, ino, &a)) == 0)
		dfs_proto_put_attr(nn_server_reply(req, DFS_NN_ATTR), &a);
out:
	if (rc == 0)
		log_debug("linked %s to %s", d.norm, s.norm);
	nn_path_free(&s);
	nn_path_free(&d);
	return rc;
}

/*
 * MKNOD: a FIFO, socket or device (its number kept in rdev), or an empty,
 * complete regular file; the owner and set-group-ID rules are those of
 * every new entry (nn_meta_new).
 */
int
nn_meta_op_mknod(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct nn_path	 p;
	struct dfs_attr	 a;
	char		*path;
	uint8_t		 ftype;
	uint32_t	 mode, uid, gid;
	uint64_t	 rdev;
	dfs_ino		 parent, ino;
	int		 type, rc;

	path = nn_meta_get_path(req);
	ftype = dfs_get_u8(&req->in);
	mode = dfs_get_u32(&req->in);
	uid = dfs_get_u32(&req->in);
	gid = dfs_get_u32(&req->in);
	rdev = dfs_get_u64(&req->in);
	if ((rc = nn_meta_paths(req, &path, &p, NULL, NULL)) != 0)
		goto out;
	if (ftype != DFS_FT_FILE && ftype != DFS_FT_FIFO &&
	    ftype != DFS_FT_SOCK && ftype != DFS_FT_CHR &&
	    ftype != DFS_FT_BLK) {
		rc = nn_server_fail(req, -EINVAL, "mknod: type %u is not a "
		    "file, FIFO, socket or device", ftype);
		goto out;
	}
	if (ftype != DFS_FT_CHR && ftype != DFS_FT_BLK)
		rdev = 0;
	if (rdev > INT64_MAX) {
		rc = nn_server_fail(req, -EINVAL, "mknod: device number out "
		    "of range");
		goto out;
	}
	if (p.n == 0) {
		rc = nn_server_fail(req, -EEXIST, "file exists: /");
		goto out;
	}
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_path_parent(nn, &req->peer->cred, &p, &parent,
	    &req->cause)) != 0)
		goto out;
	rc = nn_path_lookup(nn, parent, p.comp[p.n - 1], &ino, &type);
	if (rc == 0)
		rc = nn_server_fail(req, -EEXIST, "file exists: %s", p.norm);
	else if (rc == -ENOENT)
		rc = nn_perm_create(req, parent, p.norm, ftype, &mode, &uid,
		    &gid);
	if (rc == 0 && ftype == DFS_FT_FILE)
		rc = nn_meta_new(nn, parent, p.comp[p.n - 1], ftype, mode, uid,
		    gid, nn->replication, nn->block_size, NULL, &ino);
	else if (rc == 0)
		rc = nn_meta_new(nn, parent, p.comp[p.n - 1], ftype, mode, uid,
		    gid, 0, 0, NULL, &ino);
	if (rc == 0 && rdev != 0)
		rc = nn_db_exec(nn, "UPDATE inodes SET rdev = ?2 WHERE id = ?1",
		    "ii", (int64_t)ino, (int64_t)rdev);
	if (rc == 0 && (rc = nn_meta_attr(nn, ino, &a)) == 0)
		dfs_proto_put_attr(nn_server_reply(req, DFS_NN_ATTR), &a);
out:
	nn_path_free(&p);
	return rc;
}
