/*
 * fm-io.c: the FUSE operations on an open file (open, create, read, write,
 * flush, fsync, release, truncate) and the per-handle pool of readers.
 *
 * They map each call onto the states of struct fm_file; where a file's
 * bytes live and how they get back into the cluster is fm-file.c's part
 * (see its design notes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fm_i.h"
#include "log.h"
#include "xmalloc.h"

/* A handle of f for flags; fi gets it.  Consumes the reference on f. */
static void
fm_file_handle(struct fm_file *f, struct fuse_file_info *fi, bool wrote)
{
	struct fm_handle	*h = xcalloc(1, sizeof *h);

	h->f = f;
	h->flags = fi->flags;
	h->wrote = wrote;
	pthread_mutex_init(&h->rlock, NULL);
	pthread_cond_init(&h->rcond, NULL);
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = f->fm->direct_io;
	fi->keep_cache = 0;
}

static bool
fm_writing(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

/* open(2) of an existing file. */
int
fm_file_open(const char *path, struct fuse_file_info *fi)
{
	struct fm	*fm = fm_get();
	struct fm_file	*f;
	bool		 local;
	int		 rc = 0;

	if ((rc = fm_check_path(path)) != 0)
		return rc;
	f = fm_file_get(fm, path);
	if (fm_writing(fi->flags) && (fi->flags & O_TRUNC)) {
		pthread_mutex_lock(&f->lock);
		rc = fm_file_trunc_open(f, path, fm_file_alone(f));
		pthread_mutex_unlock(&f->lock);
		if (rc != 0) {
			fm_file_put(f);
			return rc;
		}
		fm_file_handle(f, fi, true);
		return 0;
	}
	fm_file_handle(f, fi, false);
	/* Close-to-open: whatever the kernel cached of this file's attributes
	 * may predate another mount's close. */
	pthread_mutex_lock(&fm->lock);
	local = f->local;
	pthread_mutex_unlock(&fm->lock);
	if (!local)
		fuse_invalidate_path(fuse_get_context()->fuse, path);
	return 0;
}

/* create(2), or open(2) with O_CREAT of a name the kernel did not know. */
int
fm_file_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct fm		*fm = fm_get();
	struct fuse_context	*ctx = fuse_get_context();
	struct dfs_write_opts	 o;
	struct fm_file		*f;
	bool			 alone;
	int			 rc;

	if ((rc = fm_check_path(path)) != 0)
		return rc;
	f = fm_file_get(fm, path);
	pthread_mutex_lock(&f->lock);
	alone = fm_file_alone(f);
	if (!alone || f->state != FM_CLEAN) {
		/* Open here already: it exists. */
		if (fi->flags & O_EXCL)
			rc = -EEXIST;
		else if (fi->flags & O_TRUNC)
			rc = fm_file_truncate_locked(f, 0);
		goto out;
	}
	memset(&o, 0, sizeof o);
	o.mode = mode & 07777;
	o.set_owner = true;
	o.uid = ctx->uid;
	o.gid = ctx->gid;
	rc = fm_file_stream(f, path, &o);
	if (rc == -EAGAIN) {
		/* No stream memory: commit it empty now, spool later. */
		struct dfs_writer *w = NULL;
		char *cause = NULL;
		if ((rc = dfs_writer_open(fm->client, path, &o, &w,
		    &cause)) == 0)
			rc = dfs_writer_close(w, &cause);
		rc = fm_errno(rc, cause, "create", path);
	}
	if (rc == -EEXIST && !(fi->flags & O_EXCL)) {
		/* The kernel's negative entry was stale: open it instead. */
		rc = (fi->flags & O_TRUNC) ? fm_file_trunc_open(f, path,
		    true) : 0;
	}
out:
	pthread_mutex_unlock(&f->lock);
	if (rc != 0) {
		fm_file_put(f);
		return rc;
	}
	fm_file_handle(f, fi, true);
	return 0;
}

/* A reader of version gen of the file for one read: an idle one, a new
 * one, or (all FM_READERS busy) the next to come back. */
static int
fm_reader_take(struct fm_handle *h, const char *path, uint64_t gen,
    struct fm_reader *out)
{
	struct dfs_reader	*stale[FM_READERS];
	char			*cause = NULL;
	int			 nstale = 0, rc;

	pthread_mutex_lock(&h->rlock);
	/* Readers of an older version read blocks that may be gone. */
	for (int i = 0; i < h->nidle; i++) {
		if (h->idle[i].gen == gen)
			continue;
		stale[nstale++] = h->idle[i].r;
		h->idle[i--] = h->idle[--h->nidle];
		h->nreaders--;
	}
	while (h->nidle == 0 && h->nreaders >= FM_READERS)
		pthread_cond_wait(&h->rcond, &h->rlock);
	if (h->nidle > 0) {
		*out = h->idle[--h->nidle];
		pthread_mutex_unlock(&h->rlock);
		rc = 0;
	} else {
		h->nreaders++;
		pthread_mutex_unlock(&h->rlock);
		out->gen = gen;
		if ((rc = dfs_reader_open(h->f->fm->client, path, &out->r,
		    &cause)) != 0) {
			pthread_mutex_lock(&h->rlock);
			h->nreaders--;
			pthread_cond_signal(&h->rcond);
			pthread_mutex_unlock(&h->rlock);
			rc = fm_errno(rc, cause, "open", path);
		}
	}
	for (int i = 0; i < nstale; i++)
		dfs_reader_close(stale[i]);
	return rc;
}

/* Give a reader back after a read; a failed one is closed. */
static void
fm_reader_give(struct fm_handle *h, struct fm_reader *rd, bool ok)
{
	pthread_mutex_lock(&h->rlock);
	if (ok)
		h->idle[h->nidle++] = *rd;
	else
		h->nreaders--;
	pthread_cond_signal(&h->rcond);
	pthread_mutex_unlock(&h->rlock);
	if (!ok)
		dfs_reader_close(rd->r);
}

/* Read through one of the handle's readers (the file is clean here). */
static int
fm_file_read_cluster(struct fm_handle *h, const char *path, uint64_t gen,
    char *buf, size_t size, uint64_t off)
{
	struct fm_reader	 rd;
	char			*cause = NULL;
	size_t			 done = 0;
	ssize_t			 n;
	int			 rc;

	if ((rc = fm_reader_take(h, path, gen, &rd)) != 0)
		return rc;
	while (done < size) {
		n = dfs_reader_pread(rd.r, buf + done, size - done,
		    off + done, &cause);
		if (n < 0) {
			fm_reader_give(h, &rd, false);
			return fm_errno((int)n, cause, "read", path);
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	fm_reader_give(h, &rd, true);
	return (int)done;
}

int
fm_file_read(const char *unused, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fm_handle	*h = fm_handle_of(fi);
	struct fm_file		*f = h->f;
	char			*path;
	uint64_t		 gen;
	ssize_t			 n;
	int			 rc;

	pthread_mutex_lock(&f->lock);
	if (f->state == FM_STREAM && (rc = fm_file_unstream(f)) != 0) {
		pthread_mutex_unlock(&f->lock);
		return rc;
	}
	if (f->state == FM_SPOOL) {
		if ((uint64_t)off >= f->size)
			n = 0;
		else {
			if (size > f->size - (uint64_t)off)
				size = (size_t)(f->size - (uint64_t)off);
			n = pread(f->spool_fd, buf, size, off);
		}
		rc = n < 0 ? -errno : (int)n;
		pthread_mutex_unlock(&f->lock);
		return rc;
	}
	gen = f->gen;
	pthread_mutex_unlock(&f->lock);
	if ((path = fm_file_pathdup(f)) == NULL)
		return -ENOENT;		/* unlinked and never local */
	rc = fm_file_read_cluster(h, path, gen, buf, size, (uint64_t)off);
	free(path);
	return rc;
}

int
fm_file_write(const char *unused, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fm_handle	*h = fm_handle_of(fi);
	struct fm_file		*f = h->f;
	struct dfs_write_opts	 o;
	uint64_t		 at = (uint64_t)off;
	char			*path;
	int			 rc = 0;

	pthread_mutex_lock(&f->lock);
	if (f->err != 0) {
		rc = -EIO;
		goto out;
	}
	if (f->state == FM_STREAM) {
		if (at > f->size && at - f->size <= FM_HOLE_STREAM)
			rc = fm_file_push_zeros(f, at - f->size);
		if (rc == 0 && at == f->size) {
			rc = fm_file_push(f, buf, size);
			goto out;
		}
		if (rc == 0)
			rc = fm_file_unstream(f);
		if (rc != 0)
			goto out;
	}
	if (f->state == FM_CLEAN) {
		/* An empty file written from 0 can still stream. */
		if (at == 0 && fm_file_alone(f) &&
		    (path = fm_file_pathdup(f)) != NULL) {
			if (fm_file_empty(f, path)) {
				fm_file_opts(&f->attr, &o);
				if (fm_file_stream(f, path, &o) == 0) {
					free(path);
					rc = fm_file_push(f, buf, size);
					goto out;
				}
			}
			free(path);
		}
		if ((rc = fm_file_fetch(f, UINT64_MAX)) != 0)
			goto out;
	}
	if ((rc = fm_file_pwrite_all(f->spool_fd, buf, size, at)) != 0) {
		log_err("writing a spool: %s", strerror(-rc));
		goto out;
	}
	if (at + size > f->size)
		f->size = at + size;
	f->dirty = true;
	fm_file_touch(f);
	fm_file_show(f);
out:
	if (rc == 0) {
		h->wrote = true;
		f->pend_valid &= ~(uint32_t)(DFS_SET_MTIME |
		    DFS_SET_MTIME_NOW);
	}
	pthread_mutex_unlock(&f->lock);
	return rc == 0 ? (int)size : rc;
}

/* Commit and report the error a write could not (close(2), fsync(2)). */
static int
fm_file_sync(struct fm_file *f)
{
	int	rc;

	pthread_mutex_lock(&f->lock);
	rc = fm_file_commit(f);
	if (rc == 0 && f->err != 0)
		rc = f->err;
	f->err = 0;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int
fm_file_flush(const char *unused, struct fuse_file_info *fi)
{
	struct fm_handle	*h = fm_handle_of(fi);

	if (!h->wrote)
		return 0;
	h->wrote = false;
	return fm_file_sync(h->f);
}

int
fm_file_fsync(const char *unused, int datasync, struct fuse_file_info *fi)
{
	struct fm_handle	*h = fm_handle_of(fi);

	if (!fm_writing(h->flags))
		return 0;
	return fm_file_sync(h->f);
}

/* The last close of a handle.  What is still local is committed (a
 * failure can only be logged now: close(2) returned already). */
int
fm_file_release(const char *unused, struct fuse_file_info *fi)
{
	struct fm_handle	*h = fm_handle_of(fi);
	struct fm_file		*f = h->f;
	char			*path;
	int			 rc;

	if (h->wrote || fm_file_alone(f)) {
		pthread_mutex_lock(&f->lock);
		if ((rc = fm_file_commit(f)) != 0 || f->err != 0) {
			path = fm_file_pathdup(f);
			log_err("%s: changes lost at close: %s",
			    path != NULL ? path : "(unlinked file)",
			    strerror(rc != 0 ? -rc : -f->err));
			free(path);
		}
		pthread_mutex_unlock(&f->lock);
	}
	for (int i = 0; i < h->nidle; i++)
		dfs_reader_close(h->idle[i].r);
	pthread_cond_destroy(&h->rcond);
	pthread_mutex_destroy(&h->rlock);
	free(h);
	fm_file_put(f);
	return 0;
}

/* truncate(2) and ftruncate(2). */
int
fm_file_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fm		*fm = fm_get();
	struct fm_handle	*h;
	struct fm_file		*f;
	struct dfs_setattr	 s;
	char			*cause = NULL;
	int			 rc;

	if (size < 0)
		return -EINVAL;
	if (fi != NULL) {
		h = fm_handle_of(fi);
		pthread_mutex_lock(&h->f->lock);
		rc = fm_file_truncate_locked(h->f, (uint64_t)size);
		pthread_mutex_unlock(&h->f->lock);
		if (rc == 0)
			h->wrote = true;
		return rc;
	}
	if ((rc = fm_check_path(path)) != 0)
		return rc;
	if (size == 0 && (f = fm_file_get_open(fm, path)) == NULL) {
		/* Nothing of it is open here: the namenode does it all. */
		memset(&s, 0, sizeof s);
		s.valid = DFS_SET_SIZE0;
		rc = dfs_client_setattr(fm->client, path, &s, NULL, &cause);
		return fm_errno(rc, cause, "truncate", path);
	}
	if (size == 0)
		fm_file_put(f);
	/* By path the change is visible at once: commit it now. */
	f = fm_file_get(fm, path);
	pthread_mutex_lock(&f->lock);
	if ((rc = fm_file_truncate_locked(f, (uint64_t)size)) == 0)
		rc = fm_file_commit(f);
	pthread_mutex_unlock(&f->lock);
	fm_file_put(f);
	return rc;
}
