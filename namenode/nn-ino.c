/*
 * nn-ino.c: the namespace addressed by inode, for a mount on libfuse's
 * low-level API, which names files by the inode numbers the namenode
 * hands out (issue 13): LOOKUP of a name in a directory inode, GETATTR of
 * an inode.  The path-based requests stay for dfs and the library, where
 * paths are what users type.
 *
 * Inode numbers come from a counter in the database and are never used
 * twice, so an inode number cannot come to name another file; a removed
 * one is -ESTALE, as NFS says of a file handle whose file is gone.
 *
 * They are no secret either: they are handed out in order, and anyone can
 * guess them.  So an inode is not a capability: every request addressed
 * by inode is checked as the path walk that would have reached it
 * (nn_path_reach): search permission on every directory above it, on one
 * of its paths when a file has several names.  A user who may not search
 * a directory learns nothing of what is below it by number, not even
 * whether it exists (-EACCES before -ENOENT, as a walk would say).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_i.h"
#include "xmalloc.h"

/* A name as one entry of a directory: not empty, no '/', not "." or
 * ".." (-EINVAL; NUL is refused by the decoder), at most DFS_MAX_NAME
 * bytes (-ENAMETOOLONG, as POSIX says of a name over NAME_MAX). */
static int
nn_ino_name_check(struct nn_req *req, dfs_ino parent, const char *name)
{
	if (strlen(name) > DFS_MAX_NAME)
		return nn_server_fail(req, -ENAMETOOLONG, "a name in inode %"
		    PRIu64 " is longer than %d bytes", parent, DFS_MAX_NAME);
	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return nn_server_fail(req, -EINVAL, "invalid name in inode %"
		    PRIu64 " (empty, \".\", \"..\" or with a '/')", parent);
	return 0;
}

/* The type of ino: 0, or -ESTALE when there is no such inode. */
static int
nn_ino_type(struct nn *nn, dfs_ino ino, int *type)
{
	static const char sql[] = "SELECT type FROM inodes WHERE id = ?";
	sqlite3_stmt	*st;
	int		 rc;

	st = nn_db_sql(nn, sql, "i", (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ESTALE : rc;
	*type = sqlite3_column_int(st, 0);
	nn_db_reset(st);
	return 0;
}

/* Fail req for rc, which a check of inode ino (and name) returned. */
static int
nn_ino_fail(struct nn_req *req, int rc, dfs_ino ino, const char *name)
{
	const char	*what;

	switch (rc) {
	case -ESTALE:
		what = "no longer exists";
		break;
	case -EACCES:
		what = "permission denied (no search permission on a "
		    "directory above it)";
		break;
	case -ENOENT:
		what = "no such entry";
		break;
	case -ENOTDIR:
		what = "not a directory";
		break;
	default:
		return rc;
	}
	return nn_server_fail(req, rc, "inode %" PRIu64 "%s%s: %s", ino,
	    name != NULL ? ", name " : "", name != NULL ? name : "", what);
}

/*
 * LOOKUP: the entry name in directory parent.  The caller must reach the
 * directory (nn_path_reach) and may search it, as the step of a path walk
 * into it.
 */
int
nn_ino_op_lookup(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	const struct nn_cred *c = &req->peer->cred;
	struct nn_perm_obj o;
	struct dfs_attr	 a;
	dfs_ino		 parent, ino;
	char		*name, *src = NULL;
	int		 type, rc;

	parent = dfs_get_u64(&req->in);
	name = dfs_get_strdup(&req->in, DFS_MAX_PATH);
	if ((rc = nn_server_decoded(req)) != 0)
		goto out;
	xasprintf(&src, "#%" PRIu64 "/%s", parent, name);
	nn_audit_paths(req, &src, NULL);
	if ((rc = nn_ino_name_check(req, parent, name)) != 0 ||
	    (rc = nn_server_enter(req)) != 0)
		goto out;
	if ((rc = nn_ino_type(nn, parent, &type)) == 0 && type != DFS_FT_DIR)
		rc = -ENOTDIR;
	if (rc == 0)
		rc = nn_path_reach(nn, c, parent, type);
	if (rc == 0 && !c->super && ((rc = nn_perm_load(nn, parent,
	    &o)) != 0 || !nn_perm_may(c, &o, NN_PERM_X)))
		rc = rc != 0 ? rc : -EACCES;
	if (rc == 0)
		rc = nn_path_lookup(nn, parent, name, &ino, &type);
	if (rc == 0)
		rc = nn_meta_attr(nn, ino, &a);
	if (rc == 0)
		dfs_proto_put_attr(nn_server_reply(req, DFS_NN_ATTR), &a);
	else if (rc == -ENOENT)
		rc = nn_ino_fail(req, rc, parent, name);
	else
		rc = nn_ino_fail(req, rc, parent, NULL);
out:
	free(name);
	free(src);
	return rc;
}

/* GETATTR: the attributes of inode ino, which the caller must reach. */
int
nn_ino_op_getattr(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct dfs_attr	 a;
	dfs_ino		 ino;
	char		*src = NULL;
	int		 type, rc;

	ino = dfs_get_u64(&req->in);
	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	xasprintf(&src, "#%" PRIu64, ino);
	nn_audit_paths(req, &src, NULL);
	if ((rc = nn_server_enter(req)) != 0)
		return rc;
	if ((rc = nn_ino_type(nn, ino, &type)) == 0)
		rc = nn_path_reach(nn, &req->peer->cred, ino, type);
	if (rc == 0)
		rc = nn_meta_attr(nn, ino, &a);
	if (rc == 0)
		dfs_proto_put_attr(nn_server_reply(req, DFS_NN_ATTR), &a);
	return rc == 0 ? 0 : nn_ino_fail(req, rc, ino, NULL);
}
