/*
 * fm-ops.c: dfs-mount's file system: the namespace operations, and what
 * every operation shares (the mount, errors, attributes).  The data path
 * of open files is in fm-file.c.
 *
 * Two APIs, one file system.  The operations here take a path, as
 * libfuse's high-level API hands them out; by default (mount.lowlevel) the
 * mount serves the low-level API instead, and fm-ll.c applies the same
 * operations to paths that start at an inode ("#17", "#17/name"), which
 * the namenode resolves and checks inside the transaction that acts on
 * them, as it does full paths.  Either way one FUSE request is one
 * namenode request.  The low-level API names a file by inode, so no path
 * is rebuilt (the high-level one fails paths over 4096 bytes that the
 * kernel reached one component at a time) and all the names of a
 * hard-linked file are one kernel inode with one cache of attributes (the
 * high-level API makes each name a node, whose cached attributes lag by
 * up to mount.attr_timeout).  Open files do not depend on paths staying
 * put: they are found through their file handle (nullpath_ok), and
 * fm-file.c follows renames and unlinks of the files it has open
 * (hard_remove: an unlinked open file is not renamed to a .fuse_hidden
 * name that other clients would see; fm_file_keep gives its handles a
 * copy instead).
 *
 * Inode numbers are the namenode's (use_ino), so st_ino is the same
 * across mounts and across the names of a hard link, and find, du, tar
 * and cp -a recognise links.
 *
 * Caching.  The kernel caches entries and attributes for
 * mount.attr_timeout (1 s by default): a rename or delete made by another
 * mount is seen here within that time.  Negative entries are not cached,
 * so a file created elsewhere appears at once.  Opening a file drops its
 * cached pages and attributes (close-to-open; fm-file.c).  A directory
 * walked in name order is looked up a page ahead (fm-fresh.c).
 *
 * Errors.  The namenode's -errno is passed straight through (ENOENT,
 * EEXIST, ENOTEMPTY, EISDIR, ENOTDIR, EINVAL, ...); names longer than 255
 * bytes and paths longer than 4096 are ENAMETOOLONG before anything is
 * sent.  ESTALE (an inode replaced elsewhere, by a rename or a put -f,
 * while the kernel still held its name) makes the kernel's open and stat
 * look the name up again and retry, as over NFS.  A namenode that cannot be reached, or a broken conversation
 * with it, is EIO after at most client.timeout, with the cause in the
 * log; the next operation reconnects.
 *
 * Permissions are the kernel's first (default_permissions is always on):
 * it checks the modes and owners returned here, the sticky bit on unlink
 * and rename, and asks for S_ISUID and S_ISGID to be cleared (a chmod)
 * on a write or chown by someone without CAP_FSETID.  The namenode checks
 * them again, since every request acts as its caller (fm-cred.c), so
 * attributes the kernel cached before a change elsewhere let nothing
 * through.  New entries belong to the calling process's uid and gid; in a
 * set-group-ID directory the namenode gives them the directory's group
 * (and new directories the bit), so every client gets the same rule.
 *
 * Special files.  A FIFO, socket or device is an inode with its type and
 * device number and nothing else: opening one never reaches this file
 * system (the kernel serves FIFOs itself, between processes of this
 * mount), and devices only open on a mount made with -o dev by root.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fm_i.h"
#include "log.h"
#include "xmalloc.h"

#define FM_FREE_INODES	(1ULL << 32)	/* the namespace has no fixed limit */
/* The namenode refused UNLINK's flag once: ask without it from then on. */
static atomic_bool	 fm_unlink_plain;

/* One entry of a directory page. */
struct fm_dirent {
	char		*name;
	struct stat	 st;
};

/* An open directory: the page of entries last fetched from the namenode,
 * which covers entries base .. base + n - 1 of the listing, and the page
 * before it (prev_base .. base - 1), kept for the kernel's next offset. */
struct fm_dir {
	struct fm	*fm;
	char		*path;
	struct fm_dirent *ents;
	size_t		 n;
	size_t		 cap;
	uint64_t	 base;
	bool		 more;		/* pages after this one */
	bool		 loaded;
	struct fm_dirent *prev;
	size_t		 prev_n;
	uint64_t	 prev_base;
};

/*
 * Widen the kernel's read-ahead window for this mount to FM_READ_AHEAD_KB.
 * With its default 128 KiB every read is one round trip to a data node;
 * wider, several 1 MiB reads are in flight.  It must happen after the
 * kernel took our INIT reply (which caps the window), so the first
 * request after it does it.  Only root may; others keep the default.
 */
static void
fm_read_ahead(struct fm *fm)
{
	FILE	*f;

	if (fm->read_ahead_path == NULL)
		return;
	if ((f = fopen(fm->read_ahead_path, "w")) == NULL ||
	    fprintf(f, "%d\n", FM_READ_AHEAD_KB) < 0 || fclose(f) != 0)
		log_debug("cannot set %s: %s", fm->read_ahead_path,
		    strerror(errno));
	else
		log_debug("%s: %d KiB", fm->read_ahead_path, FM_READ_AHEAD_KB);
}

struct fm	*fm_mount;

/* The mount of the request being served; the namenode calls that follow
 * act as its caller (fm-cred.c). */
struct fm *
fm_get(void)
{
	struct fm	*fm = fm_mount;

	if (!atomic_load(&fm->read_ahead_set) &&
	    !atomic_exchange(&fm->read_ahead_set, true))
		fm_read_ahead(fm);
	fm_cred_caller(fm);	/* its namenode calls act as its caller */
	return fm;
}

/*
 * The errno for a failed client call, with its cause logged (cause is
 * consumed).  Failures of the conversation with the cluster, rather than
 * answers to the request, become EIO.
 */
int
fm_errno(int rc, char *cause, const char *op, const char *path)
{
	const char	*why;

	if (rc == 0) {
		free(cause);
		return 0;
	}
	why = cause != NULL ? cause : strerror(rc < 0 ? -rc : rc);
	switch (rc) {
	case -ENOENT:
	case -EEXIST:
	case -ENOTEMPTY:
	case -ENOTDIR:
	case -EISDIR:
	case -EINVAL:
	case -ENAMETOOLONG:
	case -EPERM:
	case -EACCES:
	case -EBUSY:
	case -ETXTBSY:
	case -EXDEV:
	case -ELOOP:
	case -EMLINK:
		log_debug("%s %s: %s", op, path, why);
		break;
	case -ESTALE:
		/* An inode gone: the kernel looks its name up again, which
		 * no name this mount saw before may answer. */
		log_debug("%s %s: %s", op, path, why);
		fm_fresh_clear();
		break;
	case -ENOSPC:
	case -EDQUOT:
		log_warn("%s %s: %s", op, path, why);
		break;
	default:
		log_warn("%s %s: %s", op, path, why);
		rc = -EIO;
		break;
	}
	free(cause);
	return rc;
}

/* ENAMETOOLONG for a name over 255 bytes or a path over 4096. */
int
fm_check_path(const char *path)
{
	size_t	name = 0, total = 0;

	for (const char *p = path; *p != '\0'; p++, total++) {
		if (*p == '/')
			name = 0;
		else if (++name > DFS_MAX_NAME)
			return -ENAMETOOLONG;
	}
	return total > DFS_MAX_PATH ? -ENAMETOOLONG : 0;
}

static void
fm_ns_to_timespec(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += 1000000000;
	}
}

/* stat(2) attributes from the namenode's. */
void
fm_attr_to_stat(const struct dfs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = (ino_t)a->ino;
	st->st_mode = (mode_t)(a->mode & 07777);
	switch (a->type) {
	case DFS_FT_DIR:
		st->st_mode |= S_IFDIR;
		break;
	case DFS_FT_SYMLINK:
		st->st_mode |= S_IFLNK;
		break;
	case DFS_FT_FIFO:
		st->st_mode |= S_IFIFO;
		break;
	case DFS_FT_SOCK:
		st->st_mode |= S_IFSOCK;
		break;
	case DFS_FT_CHR:
		st->st_mode |= S_IFCHR;
		st->st_rdev = (dev_t)a->rdev;
		break;
	case DFS_FT_BLK:
		st->st_mode |= S_IFBLK;
		st->st_rdev = (dev_t)a->rdev;
		break;
	default:
		st->st_mode |= S_IFREG;
		break;
	}
	/* A file has no link only once unlinked while held open
	 * (namenode/nn-hold.c). */
	st->st_nlink = a->nlink != 0 || a->type == DFS_FT_FILE ? a->nlink : 1;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = 1 << 20;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	fm_ns_to_timespec(a->atime_ns, &st->st_atim);
	fm_ns_to_timespec(a->mtime_ns, &st->st_mtim);
	fm_ns_to_timespec(a->ctime_ns, &st->st_ctim);
}

/* The path an operation works on: its own, or an open file's.  NULL with
 * *rc 0 when that open file was unlinked.  Caller frees. */
static char *
fm_op_path(const char *path, struct fuse_file_info *fi, int *rc)
{
	*rc = 0;
	if (fi != NULL)
		return fm_file_path(fi, NULL);
	if ((*rc = fm_check_path(path)) != 0)
		return NULL;
	return xstrdup(path);
}

static int
fm_op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct fm	*fm = fm_get();
	struct dfs_attr	 a;
	char		*p, *cause = NULL;
	int		 rc;

	if (fi != NULL) {
		if ((p = fm_file_path(fi, &a)) == NULL) {
			fm_attr_to_stat(&a, st);
			st->st_nlink = 0;	/* unlinked while open */
			return 0;
		}
		/* Right after create: the file as MKNOD made it. */
		if (fm_fresh_take(p, &a)) {
			fm_attr_to_stat(&a, st);
			free(p);
			return 0;
		}
	} else {
		if ((rc = fm_check_path(path)) != 0)
			return rc;
		if (fm_fresh_take(path, &a)) {
			fm_attr_to_stat(&a, st);
			return 0;
		}
		p = xstrdup(path);
	}
	/* A file this mount is writing is best known here. */
	if (fm_file_overlay(fm, p, st, true)) {
		free(p);
		return 0;
	}
	/* A lookup in a directory walked in name order (fm-fresh.c). */
	if (fi == NULL && (rc = fm_fresh_lookup(fm, p, &a)) != 0) {
		if (rc < 0) {
			free(p);
			return rc;
		}
		fm_attr_to_stat(&a, st);
		fm_file_overlay(fm, p, st, false);
		free(p);
		return 0;
	}
	rc = dfs_client_stat(fm->client, p, &a, &cause);
	if ((rc = fm_errno(rc, cause, "stat", p)) == 0) {
		if (fi == NULL)
			fm_fresh_found(fm, p);
		fm_fresh_seen(fm, p, &a);
		fm_attr_to_stat(&a, st);
		fm_file_overlay(fm, p, st, false);
	}
	free(p);
	return rc;
}

static int
fm_op_readlink(const char *path, char *buf, size_t size)
{
	struct fm	*fm = fm_get();
	char		*cause = NULL;
	int		 rc;

	if ((rc = fm_check_path(path)) != 0)
		return rc;
	rc = dfs_client_readlink(fm->client, path, buf, size, &cause);
	return fm_errno(rc, cause, "readlink", path);
}

/* mknod(2) and mkfifo(3): one MKNOD, which keeps the type, mode and
 * device number; a regular file is made empty and complete. */
static int
fm_op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct fm		*fm = fm_get();
	struct fm_caller	 ctx;
	char			*cause = NULL;
	uint8_t			 type;
	int			 rc;

	switch (mode & S_IFMT) {
	case S_IFREG:
		type = DFS_FT_FILE;
		break;
	case S_IFIFO:
		type = DFS_FT_FIFO;
		break;
	case S_IFSOCK:
		type = DFS_FT_SOCK;
		break;
	case S_IFCHR:
		type = DFS_FT_CHR;
		break;
	case S_IFBLK:
		type = DFS_FT_BLK;
		break;
	default:
		return -EINVAL;
	}
	if ((rc = fm_check_path(path)) != 0)
		return rc;
	fm_fresh_clear();
	fm_caller(&ctx);
	rc = dfs_client_mknod(fm->client, path, type, mode & 07777, ctx.uid,
	    ctx.gid, (uint64_t)rdev, NULL, &cause);
	return fm_errno(rc, cause, "mknod", path);
}

static int
fm_op_mkdir(const char *path, mode_t mode)
{
	struct fm		*fm = fm_get();
	struct fm_caller	 ctx;
	char			*cause = NULL;
	int			 rc;

	if ((rc = fm_check_path(path)) != 0)
		return rc;
	fm_fresh_clear();
	fm_caller(&ctx);
	rc = dfs_client_mkdir_as(fm->client, path, mode & 07777, ctx.uid,
	    ctx.gid, false, &cause);
	return fm_errno(rc, cause, "mkdir", path);
}

/* unlink(2) and rmdir(2): one UNLINK, whose reply (the parent's
 * attributes) answers the kernel's next GETATTR of the parent. */
static int
fm_op_remove(const char *path, bool dir)
{
	struct fm	*fm = fm_get();
	struct dfs_attr	 parent;
	char		*cause = NULL, *up;
	int		 rc;

	if ((rc = fm_check_path(path)) != 0)
		return rc;
	fm_fresh_removing(path);
	if (!dir)
		fm_file_keep(fm, path);
	if (!atomic_load(&fm_unlink_plain)) {
		rc = dfs_client_unlink_parent(fm->client, path, dir, &parent,
		    &cause);
		if (rc == -EBADMSG) {
			/* A namenode from before the flag: it did nothing. */
			log_info("the namenode does not answer UNLINK with "
			    "attributes; asking it the old way");
			atomic_store(&fm_unlink_plain, true);
			free(cause);
			cause = NULL;
		}
	}
	if (atomic_load(&fm_unlink_plain))
		rc = dfs_client_unlink(fm->client, path, dir, &cause);
	if ((rc = fm_errno(rc, cause, dir ? "rmdir" : "unlink", path)) != 0)
		return rc;
	if (!dir)
		fm_file_unlinked(fm, path);
	if (!atomic_load(&fm_unlink_plain)) {
		up = fm_parent_of(path);
		fm_fresh_put(fm, up, &parent, dfs_now_ns());
		free(up);
	}
	return 0;
}

static int
fm_op_unlink(const char *path)
{
	return fm_op_remove(path, false);
}

static int
fm_op_rmdir(const char *path)
{
	return fm_op_remove(path, true);
}

static int
fm_op_symlink(const char *target, const char *path)
{
	struct fm		*fm = fm_get();
	struct fm_caller	 ctx;
	char			*cause = NULL;
	int			 rc;

	if ((rc = fm_check_path(path)) != 0)
		return rc;
	if (strlen(target) > DFS_MAX_PATH)
		return -ENAMETOOLONG;
	fm_fresh_clear();
	fm_caller(&ctx);
	rc = dfs_client_symlink(fm->client, path, target, ctx.uid, ctx.gid,
	    NULL, &cause);
	return fm_errno(rc, cause, "symlink", path);
}

/* rename(2) and renameat2(2) with RENAME_NOREPLACE; RENAME_EXCHANGE has
 * no namenode operation (EINVAL, as for a file system without it). */
static int
fm_op_rename(const char *from, const char *to, unsigned int flags)
{
	struct fm	*fm = fm_get();
	char		*cause = NULL;
	int		 rc;

	if ((flags & ~(unsigned)RENAME_NOREPLACE) != 0)
		return -EINVAL;
	if ((rc = fm_check_path(from)) != 0 || (rc = fm_check_path(to)) != 0)
		return rc;
	fm_fresh_clear();
	if (!(flags & RENAME_NOREPLACE))
		fm_file_keep(fm, to);	/* a file open at to may be replaced */
	rc = dfs_client_rename(fm->client, from, to,
	    (flags & RENAME_NOREPLACE) ? 1 : 0, &cause);
	if ((rc = fm_errno(rc, cause, "rename", from)) == 0)
		fm_file_renamed(fm, from, to);
	return rc;
}

/*
 * link(2): a new name for from's inode (EPERM for a directory).  The
 * kernel knows from as a node of its own, whose cached link count and
 * ctime are now stale: drop them (asking the kernel from inside a request
 * is safe, it only marks them out of date).
 */
static int
fm_op_link(const char *from, const char *to)
{
	struct fm	*fm = fm_get();
	char		*cause = NULL;
	int		 rc;

	if ((rc = fm_check_path(from)) != 0 || (rc = fm_check_path(to)) != 0)
		return rc;
	fm_fresh_clear();
	rc = dfs_client_link(fm->client, from, to, NULL, &cause);
	if ((rc = fm_errno(rc, cause, "link", to)) == 0)
		fm_invalidate(fm, from);
	return rc;
}

/*
 * open(2) for writing by anyone but root clears S_ISUID, and S_ISGID with
 * group execute, as a write by a process without CAP_FSETID must.  The
 * kernel does this itself only for writes through its page cache; files
 * opened with direct_io (fm-io.c) write around it, so it happens here, at
 * the open rather than at the first write, before the file's attributes
 * are taken for its new version.  The kernel's cached mode is dropped.
 */
static int
fm_op_open(const char *path, struct fuse_file_info *fi)
{
	struct fm		*fm;
	struct fm_caller	 ctx;
	struct dfs_setattr	 s = { .valid = DFS_SET_MODE };
	struct dfs_attr		 a;
	char			*cause = NULL;
	int			 rc;

	fm_caller(&ctx);
	if ((fi->flags & O_ACCMODE) == O_RDONLY || ctx.uid == 0 ||
	    fm_check_path(path) != 0)
		return fm_file_open(path, fi);
	fm = fm_get();
	rc = dfs_client_stat(fm->client, path, &a, &cause);
	if (rc == -ETIMEDOUT)	/* not a second wait in fm_file_open */
		return fm_errno(rc, cause, "open", path);
	if (rc == 0 && a.type == DFS_FT_FILE && ((a.mode & S_ISUID) ||
	    (a.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))) {
		s.mode = a.mode & 07777 & ~(uint32_t)S_ISUID;
		if (s.mode & S_IXGRP)
			s.mode &= ~(uint32_t)S_ISGID;
		fm_fresh_clear();
		rc = dfs_client_setattr(fm->client, path, &s, NULL, &cause);
		if ((rc = fm_errno(rc, cause, "open (clearing set-ID bits)",
		    path)) != 0)
			return rc;
		cause = NULL;
		fm_invalidate(fm, path);
	}
	free(cause);
	return fm_file_open(path, fi);
}

/* creat(2) and open(2) with O_CREAT of a new name (fm-io.c), which
 * changes the parent: no fresh slot may answer for it (fm-io.c puts the
 * parent's new attributes in one once the file exists). */
static int
fm_op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	fm_fresh_creating();
	return fm_file_create(path, mode, fi);
}

/* One SETATTR; an open file that was unlinked takes it as a no-op. */
static int
fm_op_setattr(const char *path, struct fuse_file_info *fi,
    const struct dfs_setattr *s, const char *op)
{
	struct fm	*fm = fm_get();
	char		*p, *cause = NULL;
	int		 rc;

	if ((p = fm_op_path(path, fi, &rc)) == NULL)
		return rc;
	fm_fresh_clear();
	rc = dfs_client_setattr(fm->client, p, s, NULL, &cause);
	if ((rc = fm_errno(rc, cause, op, p)) == 0 &&
	    (s->valid & (DFS_SET_ATIME | DFS_SET_MTIME | DFS_SET_ATIME_NOW |
	    DFS_SET_MTIME_NOW)))
		fm_file_pending_times(fm, p, s->valid, s->atime_ns,
		    s->mtime_ns);
	free(p);
	return rc;
}

static int
fm_op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct dfs_setattr	s = { .valid = DFS_SET_MODE };

	s.mode = mode & 07777;
	return fm_op_setattr(path, fi, &s, "chmod");
}

static int
fm_op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct dfs_setattr	s = { .valid = 0 };

	if (uid != (uid_t)-1) {
		s.valid |= DFS_SET_UID;
		s.uid = uid;
	}
	if (gid != (gid_t)-1) {
		s.valid |= DFS_SET_GID;
		s.gid = gid;
	}
	if (s.valid == 0)
		return 0;
	return fm_op_setattr(path, fi, &s, "chown");
}

static int
fm_op_utimens(const char *path, const struct timespec tv[2],
    struct fuse_file_info *fi)
{
	struct dfs_setattr	s = { .valid = 0 };

	if (tv == NULL)
		s.valid = DFS_SET_ATIME_NOW | DFS_SET_MTIME_NOW;
	else {
		if (tv[0].tv_nsec == UTIME_NOW)
			s.valid |= DFS_SET_ATIME_NOW;
		else if (tv[0].tv_nsec != UTIME_OMIT) {
			s.valid |= DFS_SET_ATIME;
			s.atime_ns = (int64_t)tv[0].tv_sec * 1000000000 +
			    tv[0].tv_nsec;
		}
		if (tv[1].tv_nsec == UTIME_NOW)
			s.valid |= DFS_SET_MTIME_NOW;
		else if (tv[1].tv_nsec != UTIME_OMIT) {
			s.valid |= DFS_SET_MTIME;
			s.mtime_ns = (int64_t)tv[1].tv_sec * 1000000000 +
			    tv[1].tv_nsec;
		}
	}
	if (s.valid == 0)
		return 0;
	return fm_op_setattr(path, fi, &s, "utimens");
}

/* statfs(2): the capacity of the live data nodes.  Each byte stored takes
 * its replication factor in raw space, which df cannot show. */
static int
fm_op_statfs(const char *path, struct statvfs *sv)
{
	struct fm		*fm = fm_get();
	struct dfs_statfs	 s;
	char			*cause = NULL;
	int			 rc;

	rc = dfs_client_statfs(fm->client, &s, &cause);
	if ((rc = fm_errno(rc, cause, "statfs", path)) != 0)
		return rc;
	memset(sv, 0, sizeof *sv);
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_blocks = s.capacity / 4096;
	sv->f_bfree = s.remaining / 4096;
	sv->f_bavail = s.remaining / 4096;
	sv->f_files = s.files + FM_FREE_INODES;
	sv->f_ffree = FM_FREE_INODES;
	sv->f_favail = FM_FREE_INODES;
	sv->f_namemax = DFS_MAX_NAME;
	return 0;
}

static int
fm_op_opendir(const char *path, struct fuse_file_info *fi)
{
	struct fm_dir	*d;
	int		 rc;

	if ((rc = fm_check_path(path)) != 0)
		return rc;
	d = xcalloc(1, sizeof *d);
	d->fm = fm_get();
	d->path = xstrdup(path);
	fi->fh = (uint64_t)(uintptr_t)d;
	return 0;
}

/* Forget the page of d. */
static void
fm_dir_clear(struct fm_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	d->n = 0;
	d->loaded = false;
}

/* Forget the page before d's. */
static void
fm_dir_drop_prev(struct fm_dir *d)
{
	for (size_t i = 0; i < d->prev_n; i++)
		free(d->prev[i].name);
	free(d->prev);
	d->prev = NULL;
	d->prev_n = 0;
}

/* A listing entry into the page, with the local size of a file this mount
 * is writing. */
static int
fm_dir_add(const char *name, const struct dfs_attr *a, void *arg)
{
	struct fm_dir	*d = arg;
	struct fm_dirent *e;
	char		*child;

	if (d->n == d->cap) {
		d->cap = d->cap == 0 ? 64 : d->cap * 2;
		d->ents = xrealloc(d->ents, d->cap * sizeof *d->ents);
	}
	e = &d->ents[d->n++];
	e->name = xstrdup(name);
	fm_attr_to_stat(a, &e->st);
	if (atomic_load(&d->fm->nfiles) > 0) {
		xasprintf(&child, "%s/%s", strcmp(d->path, "/") == 0 ? "" :
		    d->path, name);
		fm_file_overlay(d->fm, child, &e->st, false);
		free(child);
	}
	return 0;
}

/* Fetch the page of d after the name after ("" for the first page); it
 * starts at entry base. */
static int
fm_dir_load(struct fm_dir *d, const char *after, uint64_t base)
{
	char	*cause = NULL, *from = xstrdup(after);
	bool	 more = false;
	int	 rc;

	fm_dir_clear(d);
	rc = dfs_client_list_page(d->fm->client, d->path, from, fm_dir_add, d,
	    &more, &cause);
	free(from);
	if ((rc = fm_errno(rc, cause, "list", d->path)) != 0) {
		fm_dir_clear(d);
		return rc;
	}
	d->base = base;
	d->more = more;
	d->loaded = true;
	return 0;
}

/*
 * The entries of open directory fi from offset off, each given to fill
 * with the offset of the next, until fill says the buffer is full
 * (non-zero).  The offset of entry i of the listing is i + 3 (1 and 2 are
 * "." and ".."), so the kernel resumes exactly where a full buffer
 * stopped.  Each page (up to DFS_LIST_MAX entries) is fetched after the
 * last name of the one before, and the page before is kept, so names
 * removed or added while a program reads the directory never shift
 * where it resumes: every name there from its opendir to its end comes
 * exactly once.  Only rewinddir or a seek further back lists from the
 * start again (and counts).  The entries carry their attributes, so
 * readdirplus (`ls -l`) needs no request per file.
 */
int
fm_dir_fill(struct fuse_file_info *fi, off_t off,
    int (*fill)(void *, const char *, const struct stat *, off_t), void *arg)
{
	struct fm_dir	*d = (struct fm_dir *)(uintptr_t)fi->fh;
	struct stat	 dot;
	uint64_t	 k;
	int		 rc;

	fm_cred_caller(d->fm);
	if (off < 0)
		return -EINVAL;
	/* With use_ino, an inode number of 0 would hide "." and ".." from
	 * readdir(3): say "unknown" as libfuse does. */
	memset(&dot, 0, sizeof dot);
	dot.st_mode = S_IFDIR;
	dot.st_ino = 0xffffffff;
	if (off == 0 && fill(arg, ".", &dot, 1))
		return 0;
	if (off <= 1 && fill(arg, "..", &dot, 2))
		return 0;
	k = off >= 2 ? (uint64_t)off - 2 : 0;
	if (off == 0 || !d->loaded || (k < d->base && (d->prev_n == 0 ||
	    k < d->prev_base))) {
		fm_dir_drop_prev(d);
		if ((rc = fm_dir_load(d, "", 0)) != 0)
			return rc;
	}
	/* A reply that ran into the next page, of which the caller took
	 * less, resumes in the page before: served as it was fetched, so
	 * names removed meanwhile shift nothing. */
	if (k < d->base) {
		for (size_t i = k - d->prev_base; i < d->prev_n; i++)
			if (fill(arg, d->prev[i].name, &d->prev[i].st,
			    (off_t)(d->prev_base + i + 3)))
				return 0;
		k = d->base;
	}
	for (;;) {
		while (k >= d->base + d->n) {
			if (!d->more || d->n == 0)
				return 0;
			/* The next page starts after this one's last name;
			 * this one is kept as the page before. */
			fm_dir_drop_prev(d);
			d->prev = d->ents;
			d->prev_n = d->n;
			d->prev_base = d->base;
			d->ents = NULL;
			d->n = d->cap = 0;
			if ((rc = fm_dir_load(d, d->prev[d->prev_n - 1].name,
			    d->prev_base + d->prev_n)) != 0)
				return rc;
		}
		for (size_t i = k - d->base; i < d->n; i++)
			if (fill(arg, d->ents[i].name, &d->ents[i].st,
			    (off_t)(d->base + i + 3)))
				return 0;
		k = d->base + d->n;
	}
}

/* What fm_op_readdir hands libfuse's filler. */
struct fm_filler {
	void			*buf;
	fuse_fill_dir_t		 filler;
	enum fuse_fill_dir_flags plus;
};

static int
fm_op_fill(void *arg, const char *name, const struct stat *st, off_t next)
{
	struct fm_filler	*f = arg;

	/* "." and ".." have no attributes to give. */
	return f->filler(f->buf, name, st, next, next > 2 ? f->plus : 0);
}

/* readdir and readdirplus: fm_dir_fill. */
static int
fm_op_readdir(const char *unused, void *buf, fuse_fill_dir_t filler,
    off_t off, struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fm_filler	f = { buf, filler, 0 };

	if (flags & FUSE_READDIR_PLUS)
		f.plus = FUSE_FILL_DIR_PLUS;
	return fm_dir_fill(fi, off, fm_op_fill, &f);
}

/* The namespace on the namenode's disk: fsync(2) of a file or a
 * directory (namenode.sync in npdfs.conf(5)). */
int
fm_sync_namespace(struct fm *fm, const char *op)
{
	char	*cause = NULL;
	int	 rc;

	rc = dfs_client_sync(fm->client, &cause);
	return fm_errno(rc, cause, op, "/");
}

static int
fm_op_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fm	*fm = fm_get();

	fm_cred_caller(fm);
	return fm_sync_namespace(fm, "fsyncdir");
}

static int
fm_op_releasedir(const char *unused, struct fuse_file_info *fi)
{
	struct fm_dir	*d = (struct fm_dir *)(uintptr_t)fi->fh;

	fm_dir_clear(d);
	fm_dir_drop_prev(d);
	free(d->ents);
	free(d->path);
	free(d);
	return 0;
}

/*
 * The settings this file system needs from libfuse: no path for
 * operations on open files, no hidden renames of unlinked open files,
 * the namenode's inode numbers, our timeouts, ordered writes (no
 * writeback cache: a stream must see writes in the order the program
 * made them) and O_TRUNC handed to open (so open+truncate is one new
 * stream, not a truncation and a rewrite).
 */
static void *
fm_op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct fm	*fm = fm_mount;

	cfg->nullpath_ok = 1;
	cfg->hard_remove = 1;
	cfg->use_ino = 1;
	cfg->entry_timeout = fm->attr_timeout;
	cfg->attr_timeout = fm->attr_timeout;
	cfg->negative_timeout = 0;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->direct_io = 0;
	fm_conn_want(conn);
	return fm;
}

/* What both APIs ask of the kernel at INIT: O_TRUNC handed to open,
 * readdirplus, ordered writes (no writeback cache). */
void
fm_conn_want(struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	/* The kernel clears S_ISUID and S_ISGID on a write, truncation or
	 * chown (one chmod through here), rather than every write asking. */
	conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
	log_debug("fuse: max_write %u, max_readahead %u, want 0x%x",
	    conn->max_write, conn->max_readahead, conn->want);
}

/* Unmounting: commit whatever is still local. */
static void
fm_op_destroy(void *data)
{
	fm_file_flush_all(data);
}

const struct fuse_operations fm_ops = {
	.getattr = fm_op_getattr,
	.readlink = fm_op_readlink,
	.mknod = fm_op_mknod,
	.mkdir = fm_op_mkdir,
	.unlink = fm_op_unlink,
	.rmdir = fm_op_rmdir,
	.symlink = fm_op_symlink,
	.rename = fm_op_rename,
	.link = fm_op_link,
	.chmod = fm_op_chmod,
	.chown = fm_op_chown,
	.truncate = fm_file_truncate,
	.open = fm_op_open,
	.read = fm_file_read,
	.write = fm_file_write,
	.statfs = fm_op_statfs,
	.flush = fm_file_flush,
	.release = fm_file_release,
	.fsync = fm_file_fsync,
	.opendir = fm_op_opendir,
	.readdir = fm_op_readdir,
	.releasedir = fm_op_releasedir,
	.fsyncdir = fm_op_fsyncdir,
	.init = fm_op_init,
	.destroy = fm_op_destroy,
	.create = fm_op_create,
	.utimens = fm_op_utimens,
};
