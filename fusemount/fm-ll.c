/*
 * fm-ll.c: dfs-mount through libfuse's low-level API (mount.lowlevel).
 *
 * The kernel names files by inode, and so can the namenode: "#N" is inode
 * N, "#N/name" an entry of directory N (doc/protocol.md), each checked as
 * the path walk that would reach it.  So the kernel's node id of a file
 * is the namenode's inode number (FUSE_ROOT_ID is DFS_ROOT_INO), and this
 * mount keeps no table of its own: no path is ever rebuilt (a relative
 * path far longer than PATH_MAX works from a deep working directory, as
 * on ext4), and every name of a hard-linked file is one kernel inode with
 * one cache of attributes.  Inode numbers are never used twice, so
 * generation 0 tells them apart, and forget has nothing to release.
 *
 * Each operation is the path-based one (fm-ops.c, fm-io.c) applied to
 * such a path, so both APIs share every rule of the data path; open
 * files are known by "#N", which a rename does not change, nor an unlink:
 * the mount holds every file it has open on the namenode (an open's STAT
 * takes the hold, lib/client-hold.c), which keeps one unlinked while
 * held, so its handles go on by "#N" as before.  A request's
 * caller is its fuse_req's (fm_caller): the thread serving it says which
 * request that is for as long as it works on it.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fm_i.h"
#include "log.h"
#include "xmalloc.h"

/* The request this thread is serving (NULL: none, or a high-level one). */
static __thread fuse_req_t fm_ll_current;

fuse_req_t
fm_ll_req(void)
{
	return fm_ll_current;
}

/* Say which request this thread serves, NULL once it has answered (the
 * request is freed with its reply). */
void
fm_ll_serving(fuse_req_t req)
{
	fm_ll_current = req;
}

/* Answer req with an error (or success with nothing more, rc 0). */
static void
fm_ll_err(fuse_req_t req, int rc)
{
	fm_ll_serving(NULL);
	fuse_reply_err(req, rc < 0 ? -rc : rc);
}

/* Inode ino's path.  Caller frees. */
static char *
fm_ll_path(fuse_ino_t ino)
{
	char	*p;

	xasprintf(&p, "#%" PRIu64, (uint64_t)ino);
	return p;
}

/* Entry name of directory parent's path, or NULL (ENAMETOOLONG) for a
 * name the namenode could not take.  Caller frees. */
static char *
fm_ll_entry(fuse_ino_t parent, const char *name)
{
	char	*p;

	if (strlen(name) > DFS_MAX_NAME)
		return NULL;
	xasprintf(&p, "#%" PRIu64 "/%s", (uint64_t)parent, name);
	return p;
}

/*
 * Drop what the kernel caches of path's inode (close-to-open, a link
 * count changed elsewhere).  A low-level mount knows only "#N" this way;
 * a high-level one asks libfuse, which knows the path's node.
 */
void
fm_invalidate(struct fm *fm, const char *path)
{
	uint64_t	ino = 0;
	const char	*p;

	if (!fm->lowlevel) {
		fuse_invalidate_path(fuse_get_context()->fuse, path);
		return;
	}
	if (path[0] != '#' || path[1] == '\0')
		return;
	for (p = path + 1; *p >= '0' && *p <= '9'; p++)
		ino = ino * 10 + (uint64_t)(*p - '0');
	if (*p == '\0' && fm->se != NULL)
		fuse_lowlevel_notify_inval_inode(fm->se, (fuse_ino_t)ino, 0, 0);
}

/* The entry at path for a reply to the kernel: its inode and attributes,
 * cached for mount.attr_timeout. */
static int
fm_ll_lookup_path(struct fm *fm, const char *path, struct fuse_entry_param *e)
{
	char	*self;
	int	 rc;

	memset(e, 0, sizeof *e);
	if ((rc = fm_ops.getattr(path, &e->attr, NULL)) != 0)
		return rc;
	if (atomic_load(&fm->nfiles) > 0) {
		/* Open here, it is best known here (fm_file_overlay). */
		self = fm_ll_path((fuse_ino_t)e->attr.st_ino);
		fm_file_overlay(fm, self, &e->attr, false);
		free(self);
	}
	e->ino = (fuse_ino_t)e->attr.st_ino;
	e->attr_timeout = fm->attr_timeout;
	e->entry_timeout = fm->attr_timeout;
	return 0;
}

/* Answer req with the entry at path (after rc, the making of it). */
static void
fm_ll_reply_entry(fuse_req_t req, int rc, const char *path)
{
	struct fuse_entry_param	e;

	if (rc == 0)
		rc = fm_ll_lookup_path(fm_mount, path, &e);
	if (rc != 0) {
		fm_ll_err(req, rc);
		return;
	}
	fm_ll_serving(NULL);
	fuse_reply_entry(req, &e);
}

static void
fm_ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char	*path;

	fm_ll_serving(req);
	if ((path = fm_ll_entry(parent, name)) == NULL) {
		fm_ll_err(req, -ENAMETOOLONG);
		return;
	}
	fm_ll_reply_entry(req, 0, path);
	free(path);
}

/* Nothing is kept per inode: the kernel's lookups need no counting. */
static void
fm_ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);
}

static void
fm_ll_forget_multi(fuse_req_t req, size_t count,
    struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

/*
 * Whether inode ino is a file unlinked here while open here: its handles
 * keep it (fm_file_keep), and fstat(2), which names no handle, shows its
 * last attributes with no link, as a local file system does.
 */
static bool
fm_ll_gone(struct fm *fm, fuse_ino_t ino, struct stat *st)
{
	struct fm_file	*f;
	struct dfs_attr	 a;
	char		*path;

	if (atomic_load(&fm->ngone) == 0)
		return false;
	path = fm_ll_path(ino);
	pthread_mutex_lock(&fm->lock);
	for (f = fm->gone; f != NULL && strcmp(f->path, path) != 0;
	    f = f->gone_next)
		;
	if (f != NULL)
		f->refs++;
	pthread_mutex_unlock(&fm->lock);
	free(path);
	if (f == NULL)
		return false;
	pthread_mutex_lock(&f->lock);
	a = f->attr;
	a.size = f->state == FM_CLEAN ? f->attr.size : f->size;
	pthread_mutex_unlock(&f->lock);
	fm_file_put(f);
	fm_attr_to_stat(&a, st);
	st->st_nlink = 0;
	return true;
}

static void
fm_ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat	 st;
	char		*path = fm_ll_path(ino);
	int		 rc = 0;

	fm_ll_serving(req);
	memset(&st, 0, sizeof st);
	if (fi != NULL || !fm_ll_gone(fm_mount, ino, &st))
		rc = fm_ops.getattr(path, &st, fi);
	free(path);
	if (rc != 0) {
		fm_ll_err(req, rc);
		return;
	}
	fm_ll_serving(NULL);
	fuse_reply_attr(req, &st, fm_mount->attr_timeout);
}

/* A time of setattr for utimens: now, the one given, or unchanged. */
static struct timespec
fm_ll_time(int to_set, int set, int now, struct timespec given)
{
	struct timespec	ts = { 0, UTIME_OMIT };

	if (to_set & now)
		ts.tv_nsec = UTIME_NOW;
	else if (to_set & set)
		ts = given;
	return ts;
}

/* chmod, chown, truncate and utimens, in the order libfuse's high-level
 * API makes them, each as the path-based operation. */
static void
fm_ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct timespec	 tv[2];
	struct stat	 st;
	char		*path = fm_ll_path(ino);
	int		 rc = 0;

	fm_ll_serving(req);
	if (fi == NULL && fm_ll_gone(fm_mount, ino, &st)) {
		/* Unlinked: nothing left to change (fm_op_setattr). */
		free(path);
		fm_ll_serving(NULL);
		fuse_reply_attr(req, &st, fm_mount->attr_timeout);
		return;
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		rc = fm_ops.chmod(path, attr->st_mode, fi);
	if (rc == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		rc = fm_ops.chown(path, (to_set & FUSE_SET_ATTR_UID) ?
		    attr->st_uid : (uid_t)-1, (to_set & FUSE_SET_ATTR_GID) ?
		    attr->st_gid : (gid_t)-1, fi);
	if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		rc = fm_ops.truncate(path, attr->st_size, fi);
	if (rc == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
	    FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))) {
		tv[0] = fm_ll_time(to_set, FUSE_SET_ATTR_ATIME,
		    FUSE_SET_ATTR_ATIME_NOW, attr->st_atim);
		tv[1] = fm_ll_time(to_set, FUSE_SET_ATTR_MTIME,
		    FUSE_SET_ATTR_MTIME_NOW, attr->st_mtim);
		rc = fm_ops.utimens(path, tv, fi);
	}
	free(path);
	if (rc != 0) {
		fm_ll_err(req, rc);
		return;
	}
	fm_ll_getattr(req, ino, fi);
}

static void
fm_ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char	 buf[DFS_MAX_PATH + 1];
	char	*path = fm_ll_path(ino);
	int	 rc;

	fm_ll_serving(req);
	rc = fm_ops.readlink(path, buf, sizeof buf);
	free(path);
	if (rc != 0) {
		fm_ll_err(req, rc);
		return;
	}
	fm_ll_serving(NULL);
	fuse_reply_readlink(req, buf);
}

static void
fm_ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	char	*path;

	fm_ll_serving(req);
	if ((path = fm_ll_entry(parent, name)) == NULL) {
		fm_ll_err(req, -ENAMETOOLONG);
		return;
	}
	fm_ll_reply_entry(req, fm_ops.mknod(path, mode, rdev), path);
	free(path);
}

static void
fm_ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	char	*path;

	fm_ll_serving(req);
	if ((path = fm_ll_entry(parent, name)) == NULL) {
		fm_ll_err(req, -ENAMETOOLONG);
		return;
	}
	fm_ll_reply_entry(req, fm_ops.mkdir(path, mode), path);
	free(path);
}

static void
fm_ll_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
    const char *name)
{
	char	*path;

	fm_ll_serving(req);
	if ((path = fm_ll_entry(parent, name)) == NULL) {
		fm_ll_err(req, -ENAMETOOLONG);
		return;
	}
	fm_ll_reply_entry(req, fm_ops.symlink(target, path), path);
	free(path);
}

/*
 * Before the name at path goes (an unlink, or a rename onto it): when it
 * is the last name of a file open here, the namenode keeps the file for
 * as long as this mount holds it (client-hold.c), and its handles go on
 * as before; *held says so.  Against a namenode that keeps no holds, its
 * handles keep a copy instead (fm_file_keep).  Open files are known by
 * inode, so the name is looked up first, only when something is open.
 * The inode's path, or NULL.
 */
static char *
fm_ll_going(struct fm *fm, const char *path, bool *held)
{
	struct fm_file	*f;
	struct dfs_attr	 a;
	char		*cause = NULL, *self;

	*held = false;
	if (atomic_load(&fm->nfiles) == 0)
		return NULL;
	if (dfs_client_stat(fm->client, path, &a, &cause) != 0 ||
	    a.type != DFS_FT_FILE || a.nlink > 1) {
		free(cause);
		return NULL;
	}
	self = fm_ll_path((fuse_ino_t)a.ino);
	if ((f = fm_file_get_open(fm, self)) == NULL)
		return self;
	fm_file_put(f);
	if (dfs_hold_ensure(fm->client, a.ino, self, &cause) == 0)
		*held = true;
	else {
		free(cause);
		fm_file_keep(fm, self);
	}
	return self;
}

/* The last name of open file self went, which the namenode keeps for
 * this mount: fstat(2) shows no link, as on a local file system. */
static void
fm_ll_orphaned(struct fm *fm, const char *self)
{
	struct fm_file	*f;

	if ((f = fm_file_get_open(fm, self)) == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->attr.nlink = 0;
	fm_file_show(f);
	pthread_mutex_unlock(&f->lock);
	fm_file_put(f);
}

/* After the name of path's inode self went: fm_ll_going's outcome. */
static void
fm_ll_gone_name(struct fm *fm, const char *self, bool held)
{
	if (held)
		fm_ll_orphaned(fm, self);
	else
		fm_file_unlinked(fm, self);
}

/* unlink(2) and rmdir(2). */
static void
fm_ll_remove(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct fm	*fm;
	char		*path, *self = NULL;
	bool		 held = false;
	int		 rc;

	fm_ll_serving(req);
	fm = fm_get();
	if ((path = fm_ll_entry(parent, name)) == NULL) {
		fm_ll_err(req, -ENAMETOOLONG);
		return;
	}
	if (!dir)
		self = fm_ll_going(fm, path, &held);
	rc = dir ? fm_ops.rmdir(path) : fm_ops.unlink(path);
	if (rc == 0 && self != NULL)
		fm_ll_gone_name(fm, self, held);
	free(self);
	free(path);
	fm_ll_err(req, rc);
}

static void
fm_ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fm_ll_remove(req, parent, name, false);
}

static void
fm_ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fm_ll_remove(req, parent, name, true);
}

static void
fm_ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fm	*fm;
	char		*from, *to, *self = NULL;
	bool		 held = false;
	int		 rc;

	fm_ll_serving(req);
	fm = fm_get();
	from = fm_ll_entry(parent, name);
	to = fm_ll_entry(newparent, newname);
	if (from == NULL || to == NULL)
		rc = -ENAMETOOLONG;
	else {
		if (!(flags & RENAME_NOREPLACE))
			self = fm_ll_going(fm, to, &held);
		rc = fm_ops.rename(from, to, flags);
		if (rc == 0 && self != NULL)
			fm_ll_gone_name(fm, self, held);
	}
	free(self);
	free(from);
	free(to);
	fm_ll_err(req, rc);
}

static void
fm_ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname)
{
	char	*from = fm_ll_path(ino), *to;

	fm_ll_serving(req);
	if ((to = fm_ll_entry(newparent, newname)) == NULL)
		fm_ll_err(req, -ENAMETOOLONG);
	else
		fm_ll_reply_entry(req, fm_ops.link(from, to), to);
	free(from);
	free(to);
}

/*
 * open(2).  The kernel may hold a name whose inode was replaced elsewhere
 * (a rename over it, a dfs put -f) until mount.attr_timeout passes: the
 * inode is asked for first, unless this mount has it open, so that such
 * an open fails with ESTALE, on which the kernel looks the name up again
 * and opens what it names now (close-to-open, as over NFS).
 */
static void
fm_ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fm	*fm;
	struct fm_file	*f;
	struct dfs_attr	 a;
	char		*path = fm_ll_path(ino), *cause = NULL;
	int		 rc = 0;

	fm_ll_serving(req);
	fm = fm_get();
	if ((f = fm_file_get_open(fm, path)) != NULL) {
		fm_file_put(f);
		dfs_hold_take(fm->client, ino);
	} else
		rc = fm_errno(dfs_hold_open(fm->client, ino, path, &a, &cause),
		    cause, "open", path);
	if (rc == 0 && (rc = fm_ops.open(path, fi)) != 0)
		dfs_hold_drop(fm->client, ino);
	free(path);
	if (rc != 0) {
		fm_ll_err(req, rc);
		return;
	}
	fm_ll_serving(NULL);
	if (fuse_reply_open(req, fi) != 0) {	/* interrupted: nobody has it */
		fm_ops.release(NULL, fi);
		dfs_hold_drop(fm->client, ino);
	}
}

/* create(2): the file made and opened by name (fm_file_create), then
 * known by its inode like every open file here. */
static void
fm_ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct fm		*fm;
	struct fuse_entry_param	 e;
	char			*path, *self;
	int			 rc;

	fm_ll_serving(req);
	fm = fm_get();
	if ((path = fm_ll_entry(parent, name)) == NULL) {
		fm_ll_err(req, -ENAMETOOLONG);
		return;
	}
	if ((rc = fm_ops.create(path, mode, fi)) == 0 &&
	    (rc = fm_ll_lookup_path(fm, path, &e)) != 0)
		fm_ops.release(NULL, fi);
	if (rc == 0) {
		self = fm_ll_path(e.ino);
		fm_file_renamed(fm, path, self);
		free(self);
		dfs_hold_take(fm->client, e.ino);
	}
	free(path);
	if (rc != 0) {
		fm_ll_err(req, rc);
		return;
	}
	fm_ll_serving(NULL);
	if (fuse_reply_create(req, &e, fi) != 0) {
		fm_ops.release(NULL, fi);
		dfs_hold_drop(fm->client, e.ino);
	}
}

static void
fm_ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	char	*buf = xmalloc(size > 0 ? size : 1);
	int	 n;

	fm_ll_serving(req);
	n = fm_ops.read(NULL, buf, size, off, fi);
	if (n < 0)
		fm_ll_err(req, n);
	else {
		fm_ll_serving(NULL);
		fuse_reply_buf(req, buf, (size_t)n);
	}
	free(buf);
}

static void
fm_ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	int	n;

	fm_ll_serving(req);
	n = fm_ops.write(NULL, buf, size, off, fi);
	if (n < 0) {
		fm_ll_err(req, n);
		return;
	}
	fm_ll_serving(NULL);
	fuse_reply_write(req, (size_t)n);
}

static void
fm_ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fm_ll_serving(req);
	fm_ll_err(req, fm_ops.flush(NULL, fi));
}

static void
fm_ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int	rc;

	fm_ll_serving(req);
	rc = fm_ops.release(NULL, fi);
	dfs_hold_drop(fm_mount->client, ino);
	fm_ll_err(req, rc);
}

static void
fm_ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	fm_ll_serving(req);
	fm_ll_err(req, fm_ops.fsync(NULL, datasync, fi));
}

static void
fm_ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char	*path = fm_ll_path(ino);
	int	 rc;

	fm_ll_serving(req);
	rc = fm_ops.opendir(path, fi);
	free(path);
	if (rc != 0) {
		fm_ll_err(req, rc);
		return;
	}
	fm_ll_serving(NULL);
	if (fuse_reply_open(req, fi) != 0)
		fm_ops.releasedir(NULL, fi);
}

/* A reply buffer of readdir or readdirplus being filled. */
struct fm_ll_dirbuf {
	fuse_req_t	 req;
	char		*buf;
	size_t		 size;
	size_t		 len;
	bool		 plus;
};

/* fm_dir_fill's callback: one entry into the buffer; non-zero once it is
 * full (the entry is then left for the next request). */
static int
fm_ll_fill(void *arg, const char *name, const struct stat *st, off_t next)
{
	struct fm_ll_dirbuf	*b = arg;
	struct fuse_entry_param	 e;
	size_t			 n;

	if (!b->plus)
		n = fuse_add_direntry(b->req, b->buf + b->len,
		    b->size - b->len, name, st, next);
	else {
		/* "." and ".." carry no entry (ino 0): the kernel looks
		 * nothing up for them. */
		memset(&e, 0, sizeof e);
		e.attr = *st;
		if (next > 2) {
			e.ino = (fuse_ino_t)st->st_ino;
			e.attr_timeout = fm_mount->attr_timeout;
			e.entry_timeout = fm_mount->attr_timeout;
		}
		n = fuse_add_direntry_plus(b->req, b->buf + b->len,
		    b->size - b->len, name, &e, next);
	}
	if (n > b->size - b->len)
		return 1;
	b->len += n;
	return 0;
}

static void
fm_ll_readdir_any(fuse_req_t req, size_t size, off_t off,
    struct fuse_file_info *fi, bool plus)
{
	struct fm_ll_dirbuf	b = { req, NULL, size, 0, plus };
	int			rc;

	fm_ll_serving(req);
	b.buf = xmalloc(size > 0 ? size : 1);
	if ((rc = fm_dir_fill(fi, off, fm_ll_fill, &b)) != 0 && b.len == 0)
		fm_ll_err(req, rc);
	else {
		fm_ll_serving(NULL);
		fuse_reply_buf(req, b.buf, b.len);
	}
	free(b.buf);
}

static void
fm_ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	fm_ll_readdir_any(req, size, off, fi, false);
}

static void
fm_ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	fm_ll_readdir_any(req, size, off, fi, true);
}

static void
fm_ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fm_ll_serving(req);
	fm_ll_err(req, fm_ops.releasedir(NULL, fi));
}

static void
fm_ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	fm_ll_serving(req);
	fm_ll_err(req, fm_ops.fsyncdir(NULL, datasync, fi));
}

static void
fm_ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs	sv;
	int		rc;

	fm_ll_serving(req);
	if ((rc = fm_ops.statfs("/", &sv)) != 0) {
		fm_ll_err(req, rc);
		return;
	}
	fm_ll_serving(NULL);
	fuse_reply_statfs(req, &sv);
}

/* The settings of fm_ops' init, for the low-level session. */
static void
fm_ll_init(void *userdata, struct fuse_conn_info *conn)
{
	fm_conn_want(conn);
}

/* Unmounting: commit whatever is still local. */
static void
fm_ll_destroy(void *userdata)
{
	fm_file_flush_all(userdata);
}

const struct fuse_lowlevel_ops fm_ll_ops = {
	.init = fm_ll_init,
	.destroy = fm_ll_destroy,
	.lookup = fm_ll_lookup,
	.forget = fm_ll_forget,
	.forget_multi = fm_ll_forget_multi,
	.getattr = fm_ll_getattr,
	.setattr = fm_ll_setattr,
	.readlink = fm_ll_readlink,
	.mknod = fm_ll_mknod,
	.mkdir = fm_ll_mkdir,
	.unlink = fm_ll_unlink,
	.rmdir = fm_ll_rmdir,
	.symlink = fm_ll_symlink,
	.rename = fm_ll_rename,
	.link = fm_ll_link,
	.open = fm_ll_open,
	.read = fm_ll_read,
	.write = fm_ll_write,
	.flush = fm_ll_flush,
	.release = fm_ll_release,
	.fsync = fm_ll_fsync,
	.opendir = fm_ll_opendir,
	.readdir = fm_ll_readdir,
	.readdirplus = fm_ll_readdirplus,
	.releasedir = fm_ll_releasedir,
	.fsyncdir = fm_ll_fsyncdir,
	.statfs = fm_ll_statfs,
	.create = fm_ll_create,
};
