/*
 * nn-perm.c: who may do what to the namespace.  Every namespace request
 * is checked here against the credential of its connection (struct
 * nn_cred), with the rules Linux applies with its default permissions,
 * and a peer's claim to a credential (ACT_AS) against what its identity
 * allows.
 *
 * Why it is built this way.  The rules are small pure functions of a
 * credential and the owner and mode of the inodes involved (the
 * nn_perm_may_* below, which the unit tests drive directly); the
 * handlers call one nn_perm_* wrapper where they resolve their paths,
 * which loads the inodes, applies a rule and words the refusal with the
 * path.  Search permission is checked by the path walk itself
 * (nn-path.c), once per component, so no handler can forget it.  All of
 * it runs inside the request's transaction, so a check and the change it
 * guards see the same namespace, and a refusal anywhere (a recursive
 * delete meeting one protected directory) rolls back everything.
 *
 * The superuser is what Linux's CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN,
 * CAP_FSETID and CAP_MKNOD together make a process: no permission bit
 * refuses it, except execute on a file with no execute bit at all.  A
 * credential is the superuser only when its connection may be one
 * (nn_perm_may_act_as); uid 0 alone does not make one (root squash).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nn_i.h"
#include "xmalloc.h"

/* Whether gid is the credential's group or one of its supplementary
 * groups (in_group_p). */
bool
nn_perm_in_group(const struct nn_cred *c, uint32_t gid)
{
	if (c->gid == gid)
		return true;
	for (uint32_t i = 0; i < c->ngroups && i < DFS_PKI_MAX_GROUPS; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

/*
 * Whether c may access o for mask (NN_PERM_R, _W, _X): the owner's bits
 * when c owns it, else the group's when c is in its group, else the
 * others' (generic_permission: only one class ever applies).
 */
bool
nn_perm_may(const struct nn_cred *c, const struct nn_perm_obj *o, int mask)
{
	uint32_t	bits;

	if (c->super) {
		/* Execute needs one x bit somewhere, even for root. */
		if ((mask & NN_PERM_X) && o->type != DFS_FT_DIR &&
		    (o->mode & 0111) == 0)
			return false;
		return true;
	}
	if (c->uid == o->uid)
		bits = (o->mode >> 6) & 7;
	else if (nn_perm_in_group(c, o->gid))
		bits = (o->mode >> 3) & 7;
	else
		bits = o->mode & 7;
	return ((int)bits & mask) == mask;
}

/* A new entry in directory dir: write and search on it (may_create). */
int
nn_perm_may_create(const struct nn_cred *c, const struct nn_perm_obj *dir)
{
	return nn_perm_may(c, dir, NN_PERM_W | NN_PERM_X) ? 0 : -EACCES;
}

/*
 * Removing victim's entry from dir (may_delete): write and search on dir,
 * and in a sticky directory only the victim's owner, the directory's
 * owner or the superuser (-EPERM, as Linux answers).
 */
int
nn_perm_may_delete(const struct nn_cred *c, const struct nn_perm_obj *dir,
    const struct nn_perm_obj *victim)
{
	if (!nn_perm_may(c, dir, NN_PERM_W | NN_PERM_X))
		return -EACCES;
	if ((dir->mode & S_ISVTX) && !c->super && c->uid != victim->uid &&
	    c->uid != dir->uid)
		return -EPERM;
	return 0;
}

/*
 * A rename of src (in sdir) to an entry of ddir, over dst when one exists
 * (dst NULL otherwise): src deleted from sdir, dst deleted from or an
 * entry created in ddir, and a directory moving to another parent needs
 * write on itself (its ".." changes), as vfs_rename asks.
 */
int
nn_perm_may_rename(const struct nn_cred *c, const struct nn_perm_obj *sdir,
    const struct nn_perm_obj *src, const struct nn_perm_obj *ddir,
    const struct nn_perm_obj *dst, bool same_parent)
{
	int	rc;

	if ((rc = nn_perm_may_delete(c, sdir, src)) != 0)
		return rc;
	if (dst != NULL)
		rc = nn_perm_may_delete(c, ddir, dst);
	else
		rc = nn_perm_may_create(c, ddir);
	if (rc != 0)
		return rc;
	if (src->type == DFS_FT_DIR && !same_parent &&
	    !nn_perm_may(c, src, NN_PERM_W))
		return -EACCES;
	return 0;
}

/*
 * SETATTR on o (setattr_prepare and the utimes rules): valid is a mask of
 * enum dfs_set, *mode the mode asked for, uid and gid the owner asked
 * for.  -EPERM or -EACCES where Linux answers so; on 0, *mode may have
 * lost S_ISGID (a chmod by a non-superuser outside the file's group).
 */
int
nn_perm_may_setattr(const struct nn_cred *c, const struct nn_perm_obj *o,
    uint32_t valid, uint32_t *mode, uint32_t uid, uint32_t gid)
{
	bool	owner = c->super || c->uid == o->uid;

	if ((valid & DFS_SET_SIZE0) && !nn_perm_may(c, o, NN_PERM_W))
		return -EACCES;
	/* chown: only the superuser gives a file away. */
	if ((valid & DFS_SET_UID) && !c->super &&
	    (c->uid != o->uid || uid != o->uid))
		return -EPERM;
	/* chgrp: the owner, to a group it is in. */
	if ((valid & DFS_SET_GID) && !c->super && (c->uid != o->uid ||
	    (gid != o->gid && !nn_perm_in_group(c, gid))))
		return -EPERM;
	if (valid & DFS_SET_MODE) {
		/*
		 * A writer that is not the owner may clear exactly what its
		 * write would clear anyway (nn_perm_kill_suid): what
		 * dfs-mount does at an open for writing.
		 */
		if (!owner && !(*mode != o->mode && *mode ==
		    nn_perm_kill_suid(o->type, o->mode) &&
		    nn_perm_may(c, o, NN_PERM_W)))
			return -EPERM;
		if (!c->super && !nn_perm_in_group(c,
		    (valid & DFS_SET_GID) ? gid : o->gid))
			*mode &= ~(uint32_t)S_ISGID;
	}
	/* Explicit times: the owner; "now": the owner or a writer. */
	if ((valid & (DFS_SET_ATIME | DFS_SET_MTIME)) && !owner)
		return -EPERM;
	if ((valid & (DFS_SET_ATIME_NOW | DFS_SET_MTIME_NOW)) && !owner &&
	    !nn_perm_may(c, o, NN_PERM_W))
		return -EACCES;
	return 0;
}

/*
 * The mode of a file after a change of owner or a write: S_ISUID goes,
 * and S_ISGID when group execute is set (without it, S_ISGID marks
 * mandatory locking and stays), as should_remove_suid() has it.
 * Directories keep theirs.
 */
uint32_t
nn_perm_kill_suid(int type, uint32_t mode)
{
	if (type == DFS_FT_DIR)
		return mode;
	mode &= ~(uint32_t)S_ISUID;
	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		mode &= ~(uint32_t)S_ISGID;
	return mode;
}

/*
 * The owner and mode of a new entry of type in parent, from what the
 * request asked (*mode, *uid, *gid): the caller's uid and gid unless it
 * is the superuser (a mount run as root creates for its callers), the
 * parent's group in a set-group-ID parent (a new directory keeps the
 * bit), and S_ISGID dropped from a new non-directory whose group the
 * caller is not in (inode_init_owner, mode_strip_sgid).
 */
void
nn_perm_new_owner(const struct nn_cred *c, const struct nn_perm_obj *parent,
    int type, uint32_t *mode, uint32_t *uid, uint32_t *gid)
{
	if (!c->super) {
		*uid = c->uid;
		*gid = c->gid;
	}
	if (parent->mode & S_ISGID) {
		*gid = parent->gid;
		if (type == DFS_FT_DIR)
			*mode |= S_ISGID;
	}
	if (type != DFS_FT_DIR && !c->super &&
	    (*mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
	    !nn_perm_in_group(c, *gid))
		*mode &= ~(uint32_t)S_ISGID;
}

/* Whether every group of a is one of b. */
static bool
nn_perm_subset(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	for (size_t i = 0; i < na; i++) {
		bool	found = false;

		for (size_t j = 0; j < nb && !found; j++)
			found = a[i] == b[j];
		if (!found)
			return false;
	}
	return true;
}

/* Whether a and b hold the same groups, in any order. */
static bool
nn_perm_same_groups(const uint32_t *a, size_t na, const uint32_t *b,
    size_t nb)
{
	return nn_perm_subset(a, na, b, nb) && nn_perm_subset(b, nb, a, na);
}

/*
 * Whether peer may act as want (ACT_AS), and as the superuser: want->super
 * is set here.  An unauthenticated peer (role none, today's connections)
 * is trusted as before: any credential, the superuser with uid 0.  A user
 * only as its certificate says, groups as a set (dropping a group could
 * grant what a group's bits deny).  The superuser as anyone, the
 * superuser with uid 0.  A host (a mount's machine) as the uids its
 * certificate speaks for (uids=all or ranges), never the superuser: its
 * uid 0 is a plain uid 0 (root squash), and only when 0 is one of its
 * uids.  Data nodes and namenodes never act for users.
 */
int
nn_perm_may_act_as(const struct nn_peer *peer, struct nn_cred *want,
    char **cause)
{
	const struct dfs_identity *id = &peer->id;
	const char	*why = NULL;
	char		*uids;

	want->super = false;
	if (want->ngroups > DFS_PKI_MAX_GROUPS) {
		if (cause != NULL)
			xasprintf(cause, "too many groups (%u, at most %d)",
			    want->ngroups, DFS_PKI_MAX_GROUPS);
		return -EINVAL;
	}
	switch (id->role) {
	case DFS_ROLE_NONE:
	case DFS_ROLE_SUPERUSER:
		want->super = want->uid == 0;
		return 0;
	case DFS_ROLE_HOST:
		if (dfs_pki_host_speaks_for(id, want->uid))
			return 0;
		if (cause != NULL) {
			uids = dfs_pki_uids_format(id);
			xasprintf(cause, "permission denied: host %s may not "
			    "act as uid %u: its certificate speaks only for "
			    "uids %s", id->name[0] != '\0' ? id->name :
			    peer->addr, want->uid, uids);
			free(uids);
		}
		return -EACCES;
	case DFS_ROLE_USER:
		if (want->uid != id->uid || want->gid != id->gid)
			why = "a user certificate acts only as its own uid "
			    "and gid";
		else if (!nn_perm_same_groups(want->groups, want->ngroups,
		    id->groups, id->ngroups))
			why = "a user certificate acts only with its own "
			    "groups";
		break;
	default:
		why = "a data node or namenode does not act for users";
		break;
	}
	if (why == NULL)
		return 0;
	if (cause != NULL)
		xasprintf(cause, "permission denied: %s may not act as uid %u "
		    "gid %u: %s", id->name[0] != '\0' ? id->name : peer->addr,
		    want->uid, want->gid, why);
	return -EACCES;
}

/* ---- the checks handlers make, inside their transaction ------------- */

/* The owner, group, mode and type of inode ino. */
int
nn_perm_load(struct nn *nn, dfs_ino ino, struct nn_perm_obj *o)
{
	static const char sql[] =
	    "SELECT type, mode, uid, gid FROM inodes WHERE id = ?";
	sqlite3_stmt	*st;
	int		 rc;

	st = nn_db_sql(nn, sql, "i", (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	nn_perm_row(st, 0, o);
	nn_db_reset(st);
	return 0;
}

/* An nn_perm_obj from the columns type, mode, uid, gid at col. */
void
nn_perm_row(sqlite3_stmt *st, int col, struct nn_perm_obj *o)
{
	o->type = sqlite3_column_int(st, col);
	o->mode = (uint32_t)sqlite3_column_int64(st, col + 1);
	o->uid = (uint32_t)sqlite3_column_int64(st, col + 2);
	o->gid = (uint32_t)sqlite3_column_int64(st, col + 3);
}

/* Fail req with rc (-EACCES or -EPERM) for path, and log it. */
static int
nn_perm_refuse(struct nn_req *req, int rc, const char *what,
    const char *path)
{
	const struct nn_cred *c = &req->peer->cred;

	log_info("%s refused to uid %u (%s): %s %s", dfs_msg_name(req->type),
	    c->uid, req->peer->addr, what, path);
	return nn_server_fail(req, rc, "%s: %s%s%s", rc == -EPERM ?
	    "operation not permitted" : "permission denied", path,
	    what[0] != '\0' ? " " : "", what);
}

/* Access to inode ino (at path) for mask: 0 or -EACCES. */
int
nn_perm_check(struct nn_req *req, dfs_ino ino, int mask, const char *path)
{
	struct nn_perm_obj	o;
	int			rc;

	if (req->peer->cred.super && !(mask & NN_PERM_X))
		return 0;
	if ((rc = nn_perm_load(req->nn, ino, &o)) != 0)
		return rc;
	if (nn_perm_may(&req->peer->cred, &o, mask))
		return 0;
	return nn_perm_refuse(req, -EACCES, mask & NN_PERM_W ? "(no write "
	    "permission)" : mask & NN_PERM_R ? "(no read permission)" :
	    "(no search permission on its directory)", path);
}

/* A new entry of type at path in parent: the check, then its owner and
 * mode (nn_perm_new_owner) in *mode, *uid and *gid. */
int
nn_perm_create(struct nn_req *req, dfs_ino parent, const char *path, int type,
    uint32_t *mode, uint32_t *uid, uint32_t *gid)
{
	const struct nn_cred	*c = &req->peer->cred;
	struct nn_perm_obj	 dir;
	int			 rc;

	if ((rc = nn_perm_load(req->nn, parent, &dir)) != 0)
		return rc;
	if (nn_perm_may_create(c, &dir) != 0)
		return nn_perm_refuse(req, -EACCES, "(no write permission "
		    "on its directory)", path);
	if ((type == DFS_FT_CHR || type == DFS_FT_BLK) && !c->super)
		return nn_perm_refuse(req, -EPERM, "(only the superuser "
		    "makes devices)", path);
	nn_perm_new_owner(c, &dir, type, mode, uid, gid);
	return 0;
}

/* Removing the entry path (inode ino) from parent. */
int
nn_perm_delete(struct nn_req *req, dfs_ino parent, dfs_ino ino,
    const char *path)
{
	struct nn_perm_obj	dir, victim;
	int			rc;

	if (req->peer->cred.super)
		return 0;
	if ((rc = nn_perm_load(req->nn, parent, &dir)) != 0 ||
	    (rc = nn_perm_load(req->nn, ino, &victim)) != 0)
		return rc;
	rc = nn_perm_may_delete(&req->peer->cred, &dir, &victim);
	if (rc != 0)
		return nn_perm_refuse(req, rc, rc == -EPERM ? "(sticky "
		    "directory: not its owner's nor the directory's)" :
		    "(no write permission on its directory)", path);
	return 0;
}

/* A rename of sino (in sp) to an entry of dp, over dino when it is not 0. */
int
nn_perm_rename(struct nn_req *req, dfs_ino sp, dfs_ino sino, dfs_ino dp,
    dfs_ino dino, const char *src, const char *dst)
{
	struct nn	*nn = req->nn;
	struct nn_perm_obj sdir, s, ddir, d;
	int		 rc;

	if (req->peer->cred.super)
		return 0;
	if ((rc = nn_perm_load(nn, sp, &sdir)) != 0 ||
	    (rc = nn_perm_load(nn, sino, &s)) != 0 ||
	    (rc = nn_perm_load(nn, dp, &ddir)) != 0 ||
	    (dino != 0 && (rc = nn_perm_load(nn, dino, &d)) != 0))
		return rc;
	rc = nn_perm_may_rename(&req->peer->cred, &sdir, &s, &ddir,
	    dino != 0 ? &d : NULL, sp == dp);
	if (rc == 0)
		return 0;
	log_info("RENAME refused to uid %u (%s): %s to %s",
	    req->peer->cred.uid, req->peer->addr, src, dst);
	return nn_server_fail(req, rc, "%s: rename %s to %s", rc == -EPERM ?
	    "operation not permitted (sticky directory)" :
	    "permission denied", src, dst);
}

/*
 * SETATTR of ino at path: the check (nn_perm_may_setattr) and what it
 * implies: a change of owner without a mode clears the file's set-ID
 * bits (chown(2) on Linux, whoever calls it), so *valid may gain
 * DFS_SET_MODE, and *mode may lose S_ISGID.
 */
int
nn_perm_setattr(struct nn_req *req, dfs_ino ino, const char *path,
    uint32_t *valid, uint32_t *mode, uint32_t uid, uint32_t gid)
{
	struct nn_perm_obj	o;
	uint32_t		kept;
	int			rc;

	if ((rc = nn_perm_load(req->nn, ino, &o)) != 0)
		return rc;
	rc = nn_perm_may_setattr(&req->peer->cred, &o, *valid, mode, uid, gid);
	if (rc != 0)
		return nn_perm_refuse(req, rc, *valid & DFS_SET_SIZE0 ?
		    "(no write permission)" : *valid & DFS_SET_UID ?
		    "(only the superuser changes an owner)" :
		    *valid & DFS_SET_GID ? "(only its owner, to a group of "
		    "its own)" : "(not its owner)", path);
	if ((*valid & (DFS_SET_UID | DFS_SET_GID)) &&
	    !(*valid & DFS_SET_MODE) &&
	    (kept = nn_perm_kill_suid(o.type, o.mode)) != o.mode) {
		*valid |= DFS_SET_MODE;
		*mode = kept;
	}
	return 0;
}

/*
 * A file being written by req's caller (a block added, a truncation):
 * unless it is the superuser, S_ISUID and S_ISGID with group execute go,
 * as file_remove_privs() does on a write without CAP_FSETID.
 */
int
nn_perm_wrote(struct nn_req *req, dfs_ino ino)
{
	struct nn_perm_obj	o;
	uint32_t		mode;
	int			rc;

	if (req->peer->cred.super)
		return 0;
	if ((rc = nn_perm_load(req->nn, ino, &o)) != 0)
		return rc;
	if ((mode = nn_perm_kill_suid(o.type, o.mode)) == o.mode)
		return 0;
	return nn_db_exec(req->nn, "UPDATE inodes SET mode = ?2, ctime_ns = ?3 "
	    "WHERE id = ?1", "iii", (int64_t)ino, (int64_t)mode,
	    nn_wall_ns());
}

/*
 * CREATE over the existing file ino (open with O_TRUNC): write permission
 * on it, or its owner.  The owner could give itself write permission
 * anyway, and dfs-mount rewrites a file it created at the first write
 * after the open, which open(2) lets write whatever mode it gave (a file
 * made 0444 by cp, tar or git).  A non-superuser leaves its owner and
 * mode as they are (less the set-ID bits a write clears), as open(2)
 * does, whatever the request asked.
 */
int
nn_perm_rewrite(struct nn_req *req, dfs_ino ino, const char *path,
    uint32_t *mode, uint32_t *uid, uint32_t *gid)
{
	const struct nn_cred	*c = &req->peer->cred;
	struct nn_perm_obj	 o;
	int			 rc;

	if (c->super)
		return 0;
	if ((rc = nn_perm_load(req->nn, ino, &o)) != 0)
		return rc;
	if (c->uid != o.uid && !nn_perm_may(c, &o, NN_PERM_W))
		return nn_perm_refuse(req, -EACCES, "(no write permission)",
		    path);
	*mode = nn_perm_kill_suid(o.type, o.mode);
	*uid = o.uid;
	*gid = o.gid;
	return 0;
}

/*
 * A write step (ADD_BLOCK, COMPLETE, ABANDON, UPDATE_PIPELINE,
 * RENEW_LEASE) on file ino, whose lease names the client already
 * (nn_write_lease): the caller must also be its owner, the superuser or
 * someone who may write it, so a lease name that leaked gives nobody a
 * write they could not open themselves.
 */
int
nn_perm_writer(struct nn_req *req, dfs_ino ino)
{
	struct nn_perm_obj	o;
	char			where[64];
	int			rc;

	if (req->peer->cred.super)
		return 0;
	if ((rc = nn_perm_load(req->nn, ino, &o)) != 0)
		return rc;
	if (o.uid == req->peer->cred.uid ||
	    nn_perm_may(&req->peer->cred, &o, NN_PERM_W))
		return 0;
	snprintf(where, sizeof where, "file (inode %llu)",
	    (unsigned long long)ino);
	return nn_perm_refuse(req, -EACCES, "(not its writer)", where);
}

/*
 * A recursive delete of directory top (at path): like rm -r, every
 * directory under it that has entries must be readable (to list it),
 * writable and searchable, and each entry of a sticky one removable by
 * the caller.  Checked for the whole tree before anything goes, so a
 * refusal removes nothing.
 */
int
nn_perm_tree(struct nn_req *req, dfs_ino top, const char *path)
{
	static const char sql[] =
	    "WITH RECURSIVE sub(id) AS (SELECT ?1 UNION ALL "
	    "SELECT d.ino FROM dirents d JOIN sub ON d.parent = sub.id "
	    "JOIN inodes c ON c.id = d.ino WHERE c.type = ?2) "
	    "SELECT p.id, p.type, p.mode, p.uid, p.gid, c.type, c.mode, "
	    "c.uid, c.gid FROM sub JOIN inodes p ON p.id = sub.id "
	    "JOIN dirents d ON d.parent = sub.id "
	    "JOIN inodes c ON c.id = d.ino";
	const struct nn_cred *c = &req->peer->cred;
	struct nn	*nn = req->nn;
	struct nn_perm_obj dir, victim;
	sqlite3_stmt	*st;
	dfs_ino		 bad = 0;
	char		*where;
	int		 rc, err = 0;

	if (c->super)
		return 0;
	st = nn_db_sql(nn, sql, "ii", (int64_t)top, (int64_t)DFS_FT_DIR);
	while ((rc = nn_db_step(nn, st)) == 1) {
		nn_perm_row(st, 1, &dir);
		nn_perm_row(st, 5, &victim);
		if (!nn_perm_may(c, &dir, NN_PERM_R | NN_PERM_W | NN_PERM_X))
			err = -EACCES;
		else
			err = nn_perm_may_delete(c, &dir, &victim);
		if (err != 0) {
			bad = (dfs_ino)sqlite3_column_int64(st, 0);
			nn_db_reset(st);
			break;
		}
	}
	if (rc < 0)
		return rc;
	if (err == 0)
		return 0;
	where = nn_path_of(nn, bad);
	rc = nn_perm_refuse(req, err, err == -EPERM ? "(sticky directory: "
	    "an entry is neither the caller's nor the directory's)" :
	    "(cannot remove its entries)", where != NULL ? where : path);
	free(where);
	return rc;
}

/*
 * FSCK and VERIFY walk whole trees (every name under path, whatever the
 * modes of the directories on the way) and set data nodes to work: the
 * superuser's, as HDFS keeps fsck.
 */
int
nn_perm_super(struct nn_req *req, const char *path)
{
	if (req->peer->cred.super)
		return 0;
	return nn_perm_refuse(req, -EACCES, "(only the superuser checks a "
	    "tree)", path);
}

/*
 * A reader's report on block (BAD_BLOCK): the caller must be able to
 * read the file the block belongs to, reached through a path it may
 * search (nn_path_reach), as GET_BLOCKS asked before it handed out a read
 * token, so nobody sets VERIFYs going on blocks they could not have read.
 * A path of the file is kept for the audit line.
 */
int
nn_perm_block(struct nn_req *req, dfs_block_id block)
{
	struct nn	*nn = req->nn;
	int64_t		 ino;
	char		*path, where[64];
	int		 rc;

	if ((rc = nn_db_i64(nn, &ino, "SELECT ino FROM blocks WHERE id = ?",
	    "i", (int64_t)block)) != 0)
		return rc;
	snprintf(where, sizeof where, "file (inode %lld)", (long long)ino);
	path = nn_path_of(nn, (dfs_ino)ino);
	/* A file with no name left is judged by its own bits alone. */
	if ((rc = nn_path_reach(nn, &req->peer->cred, (dfs_ino)ino,
	    DFS_FT_FILE)) == -ESTALE)
		rc = 0;
	if (rc == -EACCES)
		rc = nn_perm_refuse(req, rc, "(no search permission on a "
		    "directory above it)", path != NULL ? path : where);
	else if (rc == 0)
		rc = nn_perm_check(req, (dfs_ino)ino, NN_PERM_R,
		    path != NULL ? path : where);
	if (path != NULL)
		nn_audit_paths(req, &path, NULL);
	return rc;
}

/* ---- ACT_AS and WHOAMI ---------------------------------------------- */

/* ACT_AS: the credential the following requests of this connection act
 * as, when the peer may claim it (nn_perm_may_act_as). */
int
nn_perm_op_act_as(struct nn_req *req)
{
	struct nn_cred	want;
	uint32_t	n;
	int		rc;

	memset(&want, 0, sizeof want);
	want.uid = dfs_get_u32(&req->in);
	want.gid = dfs_get_u32(&req->in);
	n = dfs_get_u32(&req->in);
	if (n > DFS_PKI_MAX_GROUPS) {
		return nn_server_fail(req, -EINVAL, "too many groups (%u, at "
		    "most %d)", n, DFS_PKI_MAX_GROUPS);
	}
	want.ngroups = n;
	for (uint32_t i = 0; i < n; i++)
		want.groups[i] = dfs_get_u32(&req->in);
	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	free(req->cause);
	req->cause = NULL;
	if ((rc = nn_perm_may_act_as(req->peer, &want, &req->cause)) != 0) {
		log_warn("%s: refused ACT_AS uid %u gid %u: %s",
		    req->peer->addr, want.uid, want.gid, req->cause);
		return rc;
	}
	want.who = req->peer->cred.who;
	req->peer->cred = want;
	log_debug("%s acts as uid %u gid %u (%u groups)%s", req->peer->addr,
	    want.uid, want.gid, want.ngroups, want.super ? ", superuser" : "");
	return 0;
}

/* WHOAMI: what this connection is to the namenode. */
int
nn_perm_op_whoami(struct nn_req *req)
{
	const struct nn_peer	*p = req->peer;
	const char		*role;
	struct dfs_wbuf		*b;
	int			 rc;

	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	role = dfs_pki_role_name(p->id.role);
	b = nn_server_reply(req, DFS_NN_WHOAMI_REPLY);
	dfs_put_str(b, p->id.name);
	dfs_put_str(b, role != NULL ? role : "none");
	dfs_put_str(b, p->addr);
	dfs_put_u32(b, p->cred.uid);
	dfs_put_u32(b, p->cred.gid);
	dfs_put_u32(b, p->cred.ngroups);
	for (uint32_t i = 0; i < p->cred.ngroups; i++)
		dfs_put_u32(b, p->cred.groups[i]);
	dfs_put_u8(b, p->cred.super);
	return 0;
}
