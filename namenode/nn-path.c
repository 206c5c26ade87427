/*
 * nn-path.c: paths in the namespace: parsing and checking a path from the
 * network, resolving it to an inode, and the way back from an inode to
 * its path.
 *
 * A path is resolved one component at a time from the root through
 * dirents(parent, name), whose primary key makes each step one index
 * probe; an inode's own path is found by walking up through the index
 * on dirents(ino).  A directory has exactly one entry (the root none), so
 * a walk up through directories is bounded by the deepest path there can
 * be; a file may have several (hard links), and then its path is any one
 * of them, and it is under a directory when any of them is.
 *
 * A path may also start at an inode: "#17/a/b" is a/b in directory inode
 * 17, and "#17" that inode itself.  A mount on libfuse's low-level API
 * names files so (issue 13), and every request that takes a path takes
 * that form as well.  Inode numbers are never used twice (a counter hands
 * them out), so one cannot come to name another file; a removed one is
 * -ESTALE, as NFS says of a stale file handle.  Neither are they secret:
 * they are handed out in order.  So the inode a path starts at is checked
 * as the walk that would reach it (nn_path_reach): a user learns nothing
 * by number of what is below a directory they may not search.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_i.h"
#include "xmalloc.h"

static const char sql_lookup[] =
	"SELECT d.ino, i.type FROM dirents d JOIN inodes i ON i.id = d.ino "
	"WHERE d.parent = ? AND d.name = ?";

/* "#N" at the start of s: N (canonical decimal, 1 to 2^63 - 1) into
 * *ino, and how many bytes it took; 0 when s does not start so. */
size_t
nn_path_ino(const char *s, dfs_ino *ino)
{
	uint64_t	v = 0;
	size_t		i;

	if (s[0] != '#' || s[1] < '1' || s[1] > '9')
		return 0;
	for (i = 1; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (s[i] != '\0' && s[i] != '/')
		return 0;
	*ino = (dfs_ino)v;
	return i;
}

/*
 * Split a path into components: absolute, or from an inode ("#N/...").
 * Repeated and trailing slashes are fine; "." and ".." components, empty
 * or over-long names are not.  On success p->norm is the canonical form.
 * Free with nn_path_free.
 */
int
nn_path_parse(const char *s, struct nn_path *p, char **cause)
{
	size_t	len = strlen(s), skip;
	char	*c, *save = NULL;

	memset(p, 0, sizeof *p);
	p->start = DFS_ROOT_INO;
	if ((skip = nn_path_ino(s, &p->start)) > 0)
		p->by_ino = true;
	if ((s[0] != '/' && !p->by_ino) || len > DFS_MAX_PATH) {
		if (cause != NULL)
			xasprintf(cause, "invalid path: %.*s (%s)", 256, s,
			    len > DFS_MAX_PATH ? "too long" : "neither "
			    "absolute nor #INODE/...");
		return -EINVAL;
	}
	s += skip;
	p->buf = xstrdup(s);
	p->comp = xcalloc(len / 2 + 1, sizeof *p->comp);
	for (c = strtok_r(p->buf, "/", &save); c != NULL;
	    c = strtok_r(NULL, "/", &save)) {
		size_t clen = strlen(c);
		if (clen > DFS_MAX_NAME || strcmp(c, ".") == 0 ||
		    strcmp(c, "..") == 0) {
			if (cause != NULL)
				xasprintf(cause, "invalid path: %s (%s)", s,
				    clen > DFS_MAX_NAME ? "a name is longer "
				    "than 255 bytes" : "\".\" and \"..\" are "
				    "not allowed");
			nn_path_free(p);
			return -EINVAL;
		}
		p->comp[p->n++] = c;
	}
	p->norm = nn_path_prefix(p, p->n);
	return 0;
}

/* Release what nn_path_parse filled in. */
void
nn_path_free(struct nn_path *p)
{
	free(p->norm);
	free(p->buf);
	free(p->comp);
	memset(p, 0, sizeof *p);
}

/* The first n components as a path, for messages.  Caller frees. */
char *
nn_path_prefix(const struct nn_path *p, int n)
{
	size_t	 len = 24;
	char	*s;

	for (int i = 0; i < n; i++)
		len += strlen(p->comp[i]) + 1;
	s = xmalloc(len);
	s[0] = '\0';
	if (p->by_ino)
		snprintf(s, len, "#%" PRIu64, (uint64_t)p->start);
	for (int i = 0; i < n; i++) {
		strcat(s, "/");
		strcat(s, p->comp[i]);
	}
	if (s[0] == '\0')
		strcpy(s, "/");
	return s;
}

/* The entry name in directory parent: 0 (ino and type set), -ENOENT or
 * another negative errno. */
int
nn_path_lookup(struct nn *nn, dfs_ino parent, const char *name, dfs_ino *ino,
    int *type)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = nn_db_sql(nn, sql_lookup, "it", (int64_t)parent, name);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	*ino = (dfs_ino)sqlite3_column_int64(st, 0);
	*type = sqlite3_column_int(st, 1);
	nn_db_reset(st);
	return 0;
}

/*
 * The entry name in directory parent, with what a permission check needs
 * of it (*o); as nn_path_lookup.
 */
static int
nn_path_step(struct nn *nn, dfs_ino parent, const char *name, dfs_ino *ino,
    struct nn_perm_obj *o)
{
	static const char sql[] =
	    "SELECT d.ino, i.type, i.mode, i.uid, i.gid FROM dirents d "
	    "JOIN inodes i ON i.id = d.ino WHERE d.parent = ? AND d.name = ?";
	sqlite3_stmt	*st;
	int		 rc;

	st = nn_db_sql(nn, sql, "it", (int64_t)parent, name);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	*ino = (dfs_ino)sqlite3_column_int64(st, 0);
	nn_perm_row(st, 1, o);
	nn_db_reset(st);
	return 0;
}

/* -EACCES when c may not search directory o, the first n components of
 * p (the path asked for is named, and the directory that refused). */
static int
nn_path_search(const struct nn_cred *c, const struct nn_perm_obj *o,
    const struct nn_path *p, int n, char **cause)
{
	char	*where;

	if (c == NULL || nn_perm_may(c, o, NN_PERM_X))
		return 0;
	if (cause != NULL) {
		where = nn_path_prefix(p, n);
		free(*cause);
		xasprintf(cause, "permission denied: %s (no search permission "
		    "on %s)", p->norm, where);
		free(where);
	}
	return -EACCES;
}

/*
 * The inode a path "#N/..." starts at, which c (NULL: unchecked) must
 * reach (nn_path_reach): its owner, mode and type into *o.  -ESTALE when
 * it no longer exists, -EACCES.
 */
static int
nn_path_start(struct nn *nn, const struct nn_cred *c, const struct nn_path *p,
    struct nn_perm_obj *o, char **cause)
{
	int	rc;

	if ((rc = nn_perm_load(nn, p->start, o)) == -ENOENT)
		rc = -ESTALE;
	if (rc == 0)
		rc = nn_path_reach(nn, c, p->start, o->type);
	if (rc == 0 || cause == NULL)
		return rc;
	free(*cause);
	if (rc == -ESTALE)
		xasprintf(cause, "stale inode: #%" PRIu64 " no longer exists",
		    (uint64_t)p->start);
	else if (rc == -EACCES)
		xasprintf(cause, "permission denied: %s (no search permission "
		    "on a directory above inode #%" PRIu64 ")", p->norm,
		    (uint64_t)p->start);
	return rc;
}

/*
 * Resolve the first upto components of p: 0 with its inode and type,
 * -ENOENT when one is missing, -ENOTDIR when a file is on the way.  With
 * a credential c that is not the superuser's, each directory looked into
 * must be searchable by c (-EACCES), as a Linux path walk asks, once per
 * component; *last (when not NULL) gets the inode's owner and mode then.
 */
static int
nn_path_walk(struct nn *nn, const struct nn_cred *c, const struct nn_path *p,
    int upto, dfs_ino *inop, int *typep, struct nn_perm_obj *last,
    char **cause)
{
	struct nn_perm_obj o = { DFS_FT_DIR, 0, 0, 0 };
	dfs_ino	 ino = p->start;
	int	 type = DFS_FT_DIR, rc;
	char	*where;

	/* (nn_path_reach wants the superuser's too: who it is) */
	if (p->by_ino && (rc = nn_path_start(nn, c, p, &o, cause)) != 0)
		return rc;
	if (c != NULL && c->super)
		c = NULL;	/* no directory refuses it a search */
	type = o.type;
	if (c != NULL && !p->by_ino &&
	    (rc = nn_perm_load(nn, DFS_ROOT_INO, &o)) != 0)
		return rc;
	for (int i = 0; i < upto; i++) {
		if (type != DFS_FT_DIR) {
			if (cause != NULL) {
				where = nn_path_prefix(p, i);
				xasprintf(cause, "not a directory: %s", where);
				free(where);
			}
			return -ENOTDIR;
		}
		if ((rc = nn_path_search(c, &o, p, i, cause)) != 0)
			return rc;
		if (c != NULL)
			rc = nn_path_step(nn, ino, p->comp[i], &ino, &o);
		else
			rc = nn_path_lookup(nn, ino, p->comp[i], &ino, &type);
		if (rc == 0 && c != NULL)
			type = o.type;
		if (rc != 0) {
			if (rc == -ENOENT && cause != NULL) {
				where = nn_path_prefix(p, upto);
				xasprintf(cause, "no such file or "
				    "directory: %s", where);
				free(where);
			}
			return rc;
		}
	}
	*inop = ino;
	*typep = type;
	if (last != NULL && c != NULL)
		*last = o;
	return 0;
}

/* Resolve the first upto components of p as c (NULL: unchecked) may:
 * nn_path_walk. */
int
nn_path_resolve(struct nn *nn, const struct nn_cred *c,
    const struct nn_path *p, int upto, dfs_ino *inop, int *typep,
    char **cause)
{
	return nn_path_walk(nn, c, p, upto, inop, typep, NULL, cause);
}

/* Resolve the parent directory of p (which is not the root), which c (NULL:
 * unchecked) must also be able to search: its last entry is looked up
 * next. */
int
nn_path_parent(struct nn *nn, const struct nn_cred *c, const struct nn_path *p,
    dfs_ino *parent, char **cause)
{
	struct nn_perm_obj o = { 0, 0, 0, 0 };
	int	type, rc;
	char	*where;

	if ((rc = nn_path_walk(nn, c, p, p->n - 1, parent, &type, &o,
	    cause)) != 0)
		return rc;
	if (c != NULL && c->super)
		c = NULL;
	if (type != DFS_FT_DIR) {
		if (cause != NULL) {
			where = nn_path_prefix(p, p->n - 1);
			xasprintf(cause, "not a directory: %s", where);
			free(where);
		}
		return -ENOTDIR;
	}
	return nn_path_search(c, &o, p, p->n - 1, cause);
}

/* The path of ino (of a file with several names, any one of them), walking
 * up to the root; NULL if it is not linked.  Caller frees. */
char *
nn_path_of(struct nn *nn, dfs_ino ino)
{
	static const char sql[] =
	    "SELECT parent, name FROM dirents WHERE ino = ?";
	char		*path = xstrdup(""), *next;
	sqlite3_stmt	*st;

	for (int depth = 0; ino != DFS_ROOT_INO; depth++) {
		st = nn_db_sql(nn, sql, "i", (int64_t)ino);
		if (depth > DFS_MAX_PATH / 2 || nn_db_step(nn, st) != 1) {
			free(path);
			return NULL;
		}
		ino = (dfs_ino)sqlite3_column_int64(st, 0);
		xasprintf(&next, "/%s%s", sqlite3_column_text(st, 1), path);
		nn_db_reset(st);
		free(path);
		path = next;
	}
	if (path[0] == '\0') {
		free(path);
		path = xstrdup("/");
	}
	return path;
}

/* Whether directory anc is directory dir or one of its ancestors. */
static int
nn_path_dir_under(struct nn *nn, dfs_ino anc, dfs_ino dir, bool *yes)
{
	static const char sql[] = "SELECT parent FROM dirents WHERE ino = ?";
	int64_t	parent;
	int	rc;

	*yes = false;
	for (int depth = 0; depth <= DFS_MAX_PATH / 2; depth++) {
		if (dir == anc) {
			*yes = true;
			return 0;
		}
		if (dir == DFS_ROOT_INO)
			return 0;
		if ((rc = nn_db_i64(nn, &parent, sql, "i", (int64_t)dir)) != 0)
			return rc;
		dir = (dfs_ino)parent;
	}
	return -ELOOP;
}

/* The directories holding ino's names (one for a directory, several for
 * a file with hard links, none once it has no name) into *parents (caller
 * frees) and their number into *n.  0 or a database error. */
static int
nn_path_parents(struct nn *nn, dfs_ino ino, int64_t **parents, size_t *n)
{
	static const char sql[] = "SELECT parent FROM dirents WHERE ino = ?";
	sqlite3_stmt	*st;
	size_t		 cap = 0;
	int		 rc;

	*parents = NULL;
	*n = 0;
	st = nn_db_sql(nn, sql, "i", (int64_t)ino);
	while ((rc = nn_db_step(nn, st)) == 1) {
		if (*n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			*parents = xrealloc(*parents, cap * sizeof **parents);
		}
		(*parents)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	return rc;
}

/* Whether directory anc is ino or an ancestor of one of its names. */
int
nn_path_is_ancestor(struct nn *nn, dfs_ino anc, dfs_ino ino, bool *yes)
{
	int64_t		*parents;
	size_t		 n;
	int		 rc;

	*yes = false;
	if (ino == anc || ino == DFS_ROOT_INO) {
		*yes = ino == anc;
		return 0;
	}
	rc = nn_path_parents(nn, ino, &parents, &n);
	for (size_t i = 0; rc == 0 && i < n && !*yes; i++)
		rc = nn_path_dir_under(nn, anc, (dfs_ino)parents[i], yes);
	free(parents);
	return rc;
}

/*
 * Whether c (NULL or the superuser: unchecked) may reach directory dir by
 * a path walk: search permission on every directory above it, from the
 * root down.  A directory has one entry, so the walk up is one probe a
 * level.  -ESTALE when dir is not linked (removed).
 */
static int
nn_path_reach_dir(struct nn *nn, const struct nn_cred *c, dfs_ino dir)
{
	static const char sql[] =
	    "SELECT d.parent, i.type, i.mode, i.uid, i.gid FROM dirents d "
	    "JOIN inodes i ON i.id = d.parent WHERE d.ino = ?";
	struct nn_perm_obj o;
	sqlite3_stmt	*st;
	int		 rc;

	for (int depth = 0; dir != DFS_ROOT_INO; depth++) {
		if (depth > DFS_MAX_PATH / 2)
			return -ELOOP;
		st = nn_db_sql(nn, sql, "i", (int64_t)dir);
		if ((rc = nn_db_step(nn, st)) != 1)
			return rc == 0 ? -ESTALE : rc;
		dir = (dfs_ino)sqlite3_column_int64(st, 0);
		nn_perm_row(st, 1, &o);
		nn_db_reset(st);
		if (c != NULL && !nn_perm_may(c, &o, NN_PERM_X))
			return -EACCES;
	}
	return 0;
}

/*
 * Whether c may reach inode ino of type type through some path, as a path
 * walk would have let it: for a directory, search permission on every
 * directory above it; for any other inode, on one of the directories
 * holding one of its names and every directory above that one, or, once
 * it has none, a hold on it (nn-hold.c).  What a
 * request addressed by inode must pass, since inode numbers are no
 * secret (they are handed out in order).  0, -EACCES, or -ESTALE when the
 * inode has no name left.
 */
int
nn_path_reach(struct nn *nn, const struct nn_cred *c, dfs_ino ino, int type)
{
	struct nn_perm_obj o;
	int64_t		*parents;
	size_t		 n;
	int		 rc;
	const char	*who = c != NULL ? c->who : NULL;

	if (c != NULL && c->super)
		c = NULL;
	if (type == DFS_FT_DIR || ino == DFS_ROOT_INO)
		return nn_path_reach_dir(nn, c, ino);
	if ((rc = nn_path_parents(nn, ino, &parents, &n)) == 0 && n == 0) {
		/* An orphan (nn-hold.c): its holders only, the superuser
		 * included; to anyone else it is gone. */
		free(parents);
		return nn_hold_reaches(nn, ino, who) ? 0 : -ESTALE;
	}
	if (rc == 0)
		rc = -EACCES;
	for (size_t i = 0; rc == -EACCES && i < n; i++) {
		if (c != NULL && ((rc = nn_perm_load(nn, (dfs_ino)parents[i],
		    &o)) != 0 || !nn_perm_may(c, &o, NN_PERM_X))) {
			rc = rc != 0 ? rc : -EACCES;
			continue;
		}
		rc = nn_path_reach_dir(nn, c, (dfs_ino)parents[i]);
	}
	free(parents);
	return rc;
}
