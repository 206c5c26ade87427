/*
 * fm-file.c: files open through the mount: where their bytes live while
 * they are open, and how they get back into the cluster.  The FUSE
 * operations on open files that drive them are in fm-io.c.
 *
 * Design.  A cluster file is written once, front to back, by one writer
 * (lib/client-write.c), and is under construction until COMPLETE; the
 * namenode never shows a file's new bytes before that.  The POSIX calls a
 * program makes are mapped onto that model per path, in struct fm_file,
 * which all handles of one path share so that each sees the others'
 * writes:
 *
 *  - The fast path.  A file opened with O_TRUNC, or created (which makes
 *    it empty and complete, fm-io.c) and then written from 0, is streamed:
 *    each write at the current end goes straight into a dfs_writer, whose
 *    .npy detection cuts element-aligned blocks exactly as `dfs put` does.
 *    flush (close(2)), fsync or the last release commits it, and a commit
 *    that fails is the error close(2) or fsync(2) returns.  A stream
 *    that fails (no data node has room: ENOSPC) is given up whole: the
 *    file is left empty and complete (fm_file_discard), never holding a
 *    prefix that would later look like the whole file.
 *
 *  - Everything else (a write inside or past the end of an existing file,
 *    an append, a truncation to a size, holes, a read of a file being
 *    streamed) goes through a spool: a private local file holding the
 *    file's bytes, fetched from the cluster on the first such write.
 *    Writes land in the spool, reads of that path are served from it, and
 *    a commit writes the whole spool back as the file's new contents
 *    (create with overwrite, streamed through a dfs_writer, so the array
 *    metadata is right again).  A stream that turns non-sequential is
 *    committed as far as it got and continues as a spool: no byte is
 *    lost, at the cost of showing that prefix as the file's contents
 *    until the next commit.  Spools are unlinked at once, so a crash
 *    leaves nothing behind in the spool directory.
 *
 *  - A file nobody in this mount writes is read through a dfs_reader per
 *    handle: every byte checked against its CRC32C, a failing replica
 *    replaced by the next.  The kernel's page cache sits in front (so
 *    mmap works, and small reads are cheap), backed by our own read-ahead
 *    (fm-io.c); write-only opens skip it (direct_io).  It is dropped at
 *    each open, and the file's attributes are invalidated too, so an
 *    open after another mount's close sees the whole new file
 *    (close-to-open).
 *
 * Memory stays bounded: a stream holds at most FM_WRITER_MEM, and streams
 * together may hold half of mount.max_memory (past that, new files are
 * spooled and written back one copy buffer at a time); read-ahead buffers
 * (FM_AHEAD_SLOTS a handle, pooled when it closes) may hold the other
 * half (past that, handles read ahead less or not at all); a reader holds
 * a packet, and a handle at most FM_READERS readers; spools live on
 * disk.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fm_i.h"
#include "log.h"
#include "xmalloc.h"

static const uint8_t fm_zeros[64 * 1024];

/* FNV-1a of a path, reduced to a bucket. */
static unsigned
fm_file_hash(const char *path)
{
	uint32_t	h = 2166136261U;

	for (; *path != '\0'; path++) {
		h ^= (uint8_t)*path;
		h *= 16777619U;
	}
	return h % FM_BUCKETS;
}

/* The file open at path, or NULL.  Hold fm->lock. */
static struct fm_file *
fm_file_find(struct fm *fm, const char *path)
{
	struct fm_file	*f;

	for (f = fm->files[fm_file_hash(path)]; f != NULL; f = f->next)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* Link f into the table under its path.  Hold fm->lock. */
static void
fm_file_link(struct fm *fm, struct fm_file *f)
{
	unsigned	b = fm_file_hash(f->path);

	f->next = fm->files[b];
	fm->files[b] = f;
	atomic_fetch_add(&fm->nfiles, 1);
}

/* Take f out of the table.  Hold fm->lock. */
static void
fm_file_unhash(struct fm *fm, struct fm_file *f)
{
	struct fm_file	**fp;

	for (fp = &fm->files[fm_file_hash(f->path)]; *fp != NULL;
	    fp = &(*fp)->next) {
		if (*fp == f) {
			*fp = f->next;
			f->next = NULL;
			atomic_fetch_sub(&fm->nfiles, 1);
			return;
		}
	}
}

/* f's last name went: out of the table, onto the list of unlinked open
 * files (fm_ll_gone finds them by inode).  Hold fm->lock. */
static void
fm_file_gone(struct fm *fm, struct fm_file *f)
{
	fm_file_unhash(fm, f);
	f->unlinked = true;
	f->gone_next = fm->gone;
	fm->gone = f;
	atomic_fetch_add(&fm->ngone, 1);
}

/* The open file of path with a reference taken, created when missing. */
struct fm_file *
fm_file_get(struct fm *fm, const char *path)
{
	struct fm_file	*f;

	pthread_mutex_lock(&fm->lock);
	if ((f = fm_file_find(fm, path)) == NULL) {
		f = xcalloc(1, sizeof *f);
		f->fm = fm;
		f->path = xstrdup(path);
		f->spool_fd = -1;
		pthread_mutex_init(&f->lock, NULL);
		fm_file_link(fm, f);
	}
	f->refs++;
	pthread_mutex_unlock(&fm->lock);
	return f;
}

/* The open file of path with a reference, or NULL when none is open. */
struct fm_file *
fm_file_get_open(struct fm *fm, const char *path)
{
	struct fm_file	*f;

	pthread_mutex_lock(&fm->lock);
	if ((f = fm_file_find(fm, path)) != NULL)
		f->refs++;
	pthread_mutex_unlock(&fm->lock);
	return f;
}

/* Drop a reference; the last one frees the file. */
void
fm_file_put(struct fm_file *f)
{
	struct fm	*fm = f->fm;
	bool		 last;

	pthread_mutex_lock(&fm->lock);
	last = --f->refs == 0;
	if (last && !f->unlinked)
		fm_file_unhash(fm, f);
	for (struct fm_file **fp = &fm->gone; last && f->unlinked &&
	    *fp != NULL; fp = &(*fp)->gone_next)
		if (*fp == f) {
			*fp = f->gone_next;
			atomic_fetch_sub(&fm->ngone, 1);
			break;
		}
	if (last && f->w_mem)
		fm->writer_mem -= FM_WRITER_MEM;
	pthread_mutex_unlock(&fm->lock);
	if (!last)
		return;
	dfs_writer_abort(f->w);
	if (f->spool_fd >= 0)
		close(f->spool_fd);
	fm_commit_forget(f);
	pthread_mutex_destroy(&f->lock);
	free(f->path);
	free(f);
}

/* A copy of f's path, or NULL once it was unlinked.  Caller frees. */
char *
fm_file_pathdup(struct fm_file *f)
{
	struct fm	*fm = f->fm;
	char		*p;

	pthread_mutex_lock(&fm->lock);
	p = f->unlinked ? NULL : xstrdup(f->path);
	pthread_mutex_unlock(&fm->lock);
	return p;
}

/* Publish what getattr shows while the bytes are local.  Hold f->lock. */
void
fm_file_show(struct fm_file *f)
{
	struct fm	*fm = f->fm;

	pthread_mutex_lock(&fm->lock);
	f->local = f->have_attr && (f->state == FM_STREAM ||
	    (f->state == FM_SPOOL && f->dirty));
	f->vattr = f->attr;
	f->vattr.size = f->size;
	pthread_mutex_unlock(&fm->lock);
}

/* The file changed now: its mtime and ctime, as write(2) sets them. */
void
fm_file_touch(struct fm_file *f)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	f->attr.mtime_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	f->attr.ctime_ns = f->attr.mtime_ns;
}

/* Reserve a stream's memory, if the budget has room. */
static bool
fm_file_mem_take(struct fm_file *f)
{
	struct fm	*fm = f->fm;
	bool		 ok;

	pthread_mutex_lock(&fm->lock);
	ok = fm->writer_mem + FM_WRITER_MEM <= fm->max_memory / 2;
	if (ok) {
		fm->writer_mem += FM_WRITER_MEM;
		f->w_mem = true;
	}
	pthread_mutex_unlock(&fm->lock);
	return ok;
}

static void
fm_file_mem_give(struct fm_file *f)
{
	struct fm	*fm = f->fm;

	pthread_mutex_lock(&fm->lock);
	if (f->w_mem)
		fm->writer_mem -= FM_WRITER_MEM;
	f->w_mem = false;
	pthread_mutex_unlock(&fm->lock);
}

/* Options that write a new version of a file with a's mode, owner,
 * replication and block size. */
void
fm_file_opts(const struct dfs_attr *a, struct dfs_write_opts *o)
{
	memset(o, 0, sizeof *o);
	o->mode = a->mode & 07777;
	o->replication = a->replication;
	o->block_size = a->block_size;
	o->overwrite = true;
	o->set_owner = true;
	o->uid = a->uid;
	o->gid = a->gid;
}

/* Write all of buf at off in fd. */
int
fm_file_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = pwrite(fd, p, len, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* A new, already unlinked spool file for f (replacing any old one). */
static int
fm_file_spool_new(struct fm_file *f)
{
	const char	*dir = f->fm->spool_dir;
	char		*tmpl;
	int		 fd, err;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL)) {
		xasprintf(&tmpl, "%s/spool.XXXXXX", dir);
		if ((fd = mkostemp(tmpl, O_CLOEXEC)) >= 0)
			unlink(tmpl);
		free(tmpl);
	}
	if (fd < 0) {
		err = errno;
		log_err("cannot create a spool file in %s: %s", dir,
		    strerror(err));
		return -err;
	}
	if (f->spool_fd >= 0)
		close(f->spool_fd);
	f->spool_fd = fd;
	fm_commit_forget(f);
	return 0;
}

/*
 * Start streaming a new version of f from offset 0: the cluster file is
 * replaced now (O_TRUNC semantics) and stays under construction until the
 * commit.  -EAGAIN when the stream memory is spent; the caller spools.
 */
int
fm_file_stream(struct fm_file *f, const char *path,
    const struct dfs_write_opts *o)
{
	char	*cause = NULL;
	int	 rc;

	if (!fm_file_mem_take(f))
		return -EAGAIN;
	if ((rc = dfs_writer_open(f->fm->client, path, o, &f->w,
	    &cause)) != 0) {
		fm_file_mem_give(f);
		return fm_errno(rc, cause, "create", path);
	}
	if (f->spool_fd >= 0) {
		close(f->spool_fd);
		f->spool_fd = -1;
	}
	f->state = FM_STREAM;
	f->born_ns = 0;
	f->size = 0;
	f->dirty = false;
	f->gen++;
	f->attr = *dfs_writer_attr(f->w);
	f->have_attr = true;
	fm_file_show(f);
	return 0;
}

/* The errno a program sees for a failed write or commit: ENOSPC and
 * EDQUOT as they are (cp and friends say "No space left on device"),
 * anything else EIO. */
int
fm_file_write_errno(int rc)
{
	return rc == -ENOSPC || rc == -EDQUOT ? rc : -EIO;
}

/*
 * A write of cluster file ino (at path, for the log) failed: give the
 * file up, so that it is left empty and complete rather than holding a
 * prefix that lease recovery would later show as the whole file (see
 * dfs-mount(8), FAILED WRITES).
 */
void
fm_file_discard(struct fm_file *f, dfs_ino ino, const char *path)
{
	char	*cause = NULL;
	int	 rc;

	if ((rc = dfs_writer_discard(f->fm->client, ino, &cause)) != 0)
		log_err("%s: cannot give the failed write up (%s); the file "
		    "stays under construction until its lease expires", path,
		    cause != NULL ? cause : strerror(-rc));
	else
		log_warn("%s: left empty after its write failed", path);
	free(cause);
	f->gen++;
	f->attr.size = 0;
}

/* Give the stream up after a failure: the cluster file is left empty
 * (fm_file_discard); the next flush reports the error. */
static void
fm_file_stream_failed(struct fm_file *f, const char *what, char *cause,
    int rc)
{
	char	*path = fm_file_pathdup(f);

	log_err("%s %s: %s", what, path != NULL ? path : "(unlinked file)",
	    cause != NULL ? cause : strerror(-rc));
	free(cause);
	dfs_writer_abort(f->w);
	f->w = NULL;
	if (path != NULL)
		fm_file_discard(f, f->attr.ino, path);
	free(path);
	fm_file_mem_give(f);
	f->state = FM_CLEAN;
	f->size = 0;
	f->err = fm_file_write_errno(rc);
	fm_file_show(f);
}

/* Append to the stream. */
int
fm_file_push(struct fm_file *f, const void *buf, size_t len)
{
	char	*cause = NULL;
	int	 rc;

	if ((rc = dfs_writer_write(f->w, buf, len, &cause)) != 0) {
		fm_file_stream_failed(f, "writing", cause, rc);
		return f->err;
	}
	f->size += len;
	fm_file_touch(f);
	fm_file_show(f);
	return 0;
}

/* Append len zero bytes to the stream (a small hole). */
int
fm_file_push_zeros(struct fm_file *f, uint64_t len)
{
	int	rc;

	while (len > 0) {
		size_t n = len < sizeof fm_zeros ? (size_t)len :
		    sizeof fm_zeros;
		if ((rc = fm_file_push(f, fm_zeros, n)) != 0)
			return rc;
		len -= n;
	}
	return 0;
}

/* Commit the stream: the file is complete in the cluster. */
static int
fm_file_close_stream(struct fm_file *f)
{
	char	*cause = NULL, *path = fm_file_pathdup(f);
	int	 rc = 0;

	if (path == NULL) {
		/* Unlinked while written: nothing to keep. */
		dfs_writer_abort(f->w);
	} else if ((rc = dfs_writer_close(f->w, &cause)) != 0) {
		log_err("committing %s: %s", path, cause != NULL ? cause :
		    strerror(-rc));
		free(cause);
		rc = fm_file_write_errno(rc);
	}
	f->w = NULL;
	fm_file_mem_give(f);
	f->state = FM_CLEAN;
	f->gen++;
	f->attr.size = f->size;
	if (rc != 0) {
		fm_file_discard(f, f->attr.ino, path);
		f->size = 0;
	}
	fm_file_show(f);
	free(path);
	return rc;
}

/*
 * Make a spool of the cluster's bytes of f, at most limit of them.  A file
 * that is no longer in the cluster gives an empty spool (the commit
 * recreates it).
 */
int
fm_file_fetch(struct fm_file *f, uint64_t limit)
{
	struct dfs_reader	*r = NULL;
	const struct dfs_attr	*a;
	char			*path = NULL, *cause = NULL;
	uint8_t			*buf = NULL;
	uint64_t		 n = 0, off;
	ssize_t			 got;
	int			 rc;

	if ((rc = fm_file_spool_new(f)) != 0)
		return rc;
	if (fm_file_born(f) || (path = fm_file_pathdup(f)) == NULL)
		goto done;
	rc = dfs_reader_open(f->fm->client, path, &r, &cause);
	if (rc == -ENOENT) {
		free(cause);
		rc = 0;
		goto done;
	}
	if (rc != 0) {
		rc = fm_errno(rc, cause, "open", path);
		goto out;
	}
	a = dfs_reader_attr(r);
	if (a->type != DFS_FT_FILE) {
		rc = -EISDIR;
		goto out;
	}
	f->attr = *a;
	f->have_attr = true;
	n = a->size < limit ? a->size : limit;
	buf = xmalloc(FM_IO_BUF);
	for (off = 0; off < n; off += (uint64_t)got) {
		size_t want = n - off < FM_IO_BUF ? (size_t)(n - off) :
		    FM_IO_BUF;
		if ((got = dfs_reader_pread(r, buf, want, off, &cause)) <= 0) {
			rc = fm_errno(got < 0 ? (int)got : -EIO, cause,
			    "read", path);
			goto out;
		}
		if ((rc = fm_file_pwrite_all(f->spool_fd, buf, (size_t)got,
		    off)) != 0) {
			log_err("spooling %s: %s", path, strerror(-rc));
			goto out;
		}
	}
	if (n == a->size)
		fm_commit_base(f, r);
done:
	f->born_ns = 0;
	f->state = FM_SPOOL;
	f->size = n;
	f->dirty = false;
	fm_file_show(f);
out:
	if (rc != 0) {
		close(f->spool_fd);
		f->spool_fd = -1;
	}
	dfs_reader_close(r);
	free(buf);
	free(path);
	return rc;
}

/* A stream that must become a spool: commit what was streamed, fetch it
 * back. */
int
fm_file_unstream(struct fm_file *f)
{
	int	rc;

	if ((rc = fm_file_close_stream(f)) != 0) {
		f->err = rc;
		return rc;
	}
	return fm_file_fetch(f, UINT64_MAX);
}

/*
 * Put f's local bytes into the cluster (finish the stream or write the
 * dirty spool back), then redo the utimens the commit overwrote.  Hold
 * f->lock.
 */
int
fm_file_commit(struct fm_file *f)
{
	struct dfs_setattr	 s;
	char			*path, *cause = NULL;
	int			 rc;

	if (f->state != FM_STREAM && !(f->state == FM_SPOOL && f->dirty))
		return 0;
	fm_cred_file(f);	/* a release acts as the file's writer */
	if (f->state == FM_STREAM)
		rc = fm_file_close_stream(f);
	else
		rc = fm_commit_spool(f);
	if (rc != 0 || f->pend_valid == 0)
		return rc;
	memset(&s, 0, sizeof s);
	s.valid = f->pend_valid;
	s.atime_ns = f->pend_atime;
	s.mtime_ns = f->pend_mtime;
	f->pend_valid = 0;
	if ((path = fm_file_pathdup(f)) == NULL)
		return 0;
	rc = dfs_client_setattr(f->fm->client, path, &s, NULL, &cause);
	rc = fm_errno(rc, cause, "utimens", path);
	free(path);
	return rc;
}

/* Truncate f to size, in whatever state it is.  Hold f->lock. */
int
fm_file_truncate_locked(struct fm_file *f, uint64_t size)
{
	int	rc;

	if (f->state == FM_STREAM) {
		if (size == f->size)
			return 0;
		if (size > f->size && size - f->size <= FM_HOLE_STREAM)
			return fm_file_push_zeros(f, size - f->size);
		if ((rc = fm_file_close_stream(f)) != 0) {
			f->err = rc;
			return rc;
		}
	}
	if (size == 0 && fm_file_born(f))
		return 0;	/* empty already */
	if (f->state == FM_CLEAN && (rc = fm_file_fetch(f, size)) != 0)
		return rc;
	if (ftruncate(f->spool_fd, (off_t)size) != 0) {
		rc = -errno;
		log_err("truncating a spool: %s", strerror(errno));
		return rc;
	}
	fm_commit_truncated(f, f->size, size);
	f->size = size;
	f->dirty = true;
	f->pend_valid &= ~(uint32_t)(DFS_SET_MTIME | DFS_SET_MTIME_NOW);
	fm_file_touch(f);
	fm_file_show(f);
	return 0;
}

/* open(2) with O_TRUNC: a new stream when nothing else of this mount has
 * the file open, else truncation in place.  Hold f->lock. */
int
fm_file_trunc_open(struct fm_file *f, const char *path, bool alone)
{
	struct dfs_write_opts	 o;
	struct dfs_attr		 a;
	char			*cause = NULL;
	int			 rc;

	if (!alone || f->state != FM_CLEAN)
		return fm_file_truncate_locked(f, 0);
	if ((rc = dfs_client_stat(f->fm->client, path, &a, &cause)) != 0)
		return fm_errno(rc, cause, "stat", path);
	if (a.type != DFS_FT_FILE)
		return -EISDIR;
	fm_file_opts(&a, &o);
	if ((rc = fm_file_stream(f, path, &o)) != -EAGAIN)
		return rc;
	/* No stream memory: an empty spool, written back at the commit. */
	f->attr = a;
	f->have_attr = true;
	return fm_file_truncate_locked(f, 0);
}

/*
 * Whether f is still the empty file this mount created (fm-io.c), recently
 * enough to go without asking: within mount.attr_timeout, the time a
 * change made elsewhere may take to be seen here anyway.  Hold f->lock.
 */
bool
fm_file_born(struct fm_file *f)
{
	return f->born_ns != 0 && f->state == FM_CLEAN &&
	    dfs_now_ns() - f->born_ns < (int64_t)(f->fm->attr_timeout * 1e9);
}

/* Whether the cluster file at path is complete and empty (f->attr gets
 * its attributes). */
bool
fm_file_empty(struct fm_file *f, const char *path)
{
	struct dfs_attr	 a;
	char		*cause = NULL;

	if (fm_file_born(f))
		return true;
	if (dfs_client_stat(f->fm->client, path, &a, &cause) != 0) {
		free(cause);
		return false;
	}
	f->attr = a;
	f->have_attr = true;
	return a.type == DFS_FT_FILE && a.size == 0 && !a.under_construction;
}

/* Whether f has handles other than the reference being set up. */
bool
fm_file_alone(struct fm_file *f)
{
	bool	alone;

	pthread_mutex_lock(&f->fm->lock);
	alone = f->refs == 1;
	pthread_mutex_unlock(&f->fm->lock);
	return alone;
}

/* The current path of an open file, or NULL once it was unlinked (then
 * gone, if not NULL, receives its last known attributes).  Caller frees. */
char *
fm_file_path(struct fuse_file_info *fi, struct dfs_attr *gone)
{
	struct fm_file	*f = fm_handle_of(fi)->f;
	char		*path;

	if ((path = fm_file_pathdup(f)) == NULL && gone != NULL) {
		pthread_mutex_lock(&f->lock);
		*gone = f->attr;
		gone->nlink = 0;
		gone->size = f->state == FM_CLEAN ? f->attr.size : f->size;
		pthread_mutex_unlock(&f->lock);
	}
	return path;
}

/*
 * What getattr shows of a file this mount is writing: its local size
 * (whole: all its attributes, so getattr needs no namenode request);
 * false when its bytes are the cluster's.
 */
bool
fm_file_overlay(struct fm *fm, const char *path, struct stat *st, bool whole)
{
	struct fm_file	*f;
	bool		 local = false;

	if (atomic_load(&fm->nfiles) == 0)
		return false;
	pthread_mutex_lock(&fm->lock);
	if ((f = fm_file_find(fm, path)) != NULL && (local = f->local)) {
		if (whole)
			fm_attr_to_stat(&f->vattr, st);
		else {
			st->st_size = (off_t)f->vattr.size;
			st->st_blocks = (st->st_size + 511) / 512;
		}
	}
	pthread_mutex_unlock(&fm->lock);
	return local;
}

/* utimens of a file whose bytes are local: its commit would set mtime to
 * the commit's time, so the times are set again after it. */
void
fm_file_pending_times(struct fm *fm, const char *path, uint32_t valid,
    int64_t atime, int64_t mtime)
{
	struct fm_file	*f;

	if ((f = fm_file_get_open(fm, path)) == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->state == FM_STREAM || (f->state == FM_SPOOL && f->dirty)) {
		f->pend_valid |= valid;
		if (valid & (DFS_SET_ATIME | DFS_SET_ATIME_NOW)) {
			f->pend_valid &= ~(uint32_t)(DFS_SET_ATIME |
			    DFS_SET_ATIME_NOW);
			f->pend_valid |= valid & (DFS_SET_ATIME |
			    DFS_SET_ATIME_NOW);
			f->pend_atime = atime;
		}
		if (valid & (DFS_SET_MTIME | DFS_SET_MTIME_NOW)) {
			f->pend_valid &= ~(uint32_t)(DFS_SET_MTIME |
			    DFS_SET_MTIME_NOW);
			f->pend_valid |= valid & (DFS_SET_MTIME |
			    DFS_SET_MTIME_NOW);
			f->pend_mtime = mtime;
		}
	}
	pthread_mutex_unlock(&f->lock);
	fm_file_put(f);
}

/* After a rename: files open at from (or under it) now live at to; a file
 * open at to was replaced. */
void
fm_file_renamed(struct fm *fm, const char *from, const char *to)
{
	struct fm_file	*f, *next, *moved = NULL;
	size_t		 flen = strlen(from);

	if (atomic_load(&fm->nfiles) == 0)
		return;
	pthread_mutex_lock(&fm->lock);
	if ((f = fm_file_find(fm, to)) != NULL)
		fm_file_gone(fm, f);
	for (unsigned b = 0; b < FM_BUCKETS; b++) {
		for (f = fm->files[b]; f != NULL; f = next) {
			next = f->next;
			if (strncmp(f->path, from, flen) != 0 ||
			    (f->path[flen] != '\0' && f->path[flen] != '/'))
				continue;
			fm_file_unhash(fm, f);
			f->next = moved;
			moved = f;
		}
	}
	for (f = moved; f != NULL; f = next) {
		char *p;
		next = f->next;
		xasprintf(&p, "%s%s", to, f->path + flen);
		free(f->path);
		f->path = p;
		fm_file_link(fm, f);
	}
	pthread_mutex_unlock(&fm->lock);
}

/*
 * Before path's name goes (unlink, or a rename onto it): a file open here
 * keeps its bytes for its handles, as POSIX wants of a file unlinked
 * while open.  On the path API (and against a namenode that keeps no
 * holds, see fm-ll.c) the cluster deletes a file's blocks with its last
 * name, so its handles read (and write) from then on a spool of their own: a
 * stream is committed and fetched back, a clean file fetched.  After the
 * name is gone nothing of it is committed (fm_file_unlinked).  A fetch
 * that fails (a full spool disk) does not stop the unlink: the handles
 * then fail their reads, as they did before this existed.
 */
void
fm_file_keep(struct fm *fm, const char *path)
{
	struct fm_file	*f;
	int		 rc = 0;

	if (atomic_load(&fm->nfiles) == 0 ||
	    (f = fm_file_get_open(fm, path)) == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->state == FM_STREAM)
		rc = fm_file_unstream(f);
	else if (f->state == FM_CLEAN)
		rc = fm_file_fetch(f, UINT64_MAX);
	pthread_mutex_unlock(&f->lock);
	if (rc != 0)
		log_warn("%s: cannot keep a copy for the handles still open "
		    "on it (%s); their reads will fail", path,
		    strerror(-rc));
	fm_file_put(f);
}

/* After an unlink: a file open at path keeps its handles but leaves the
 * table; nothing of it is committed any more. */
void
fm_file_unlinked(struct fm *fm, const char *path)
{
	struct fm_file	*f;

	if (atomic_load(&fm->nfiles) == 0)
		return;
	pthread_mutex_lock(&fm->lock);
	if ((f = fm_file_find(fm, path)) != NULL)
		fm_file_gone(fm, f);
	pthread_mutex_unlock(&fm->lock);
}

/* Commit every open file (at unmount or SIGTERM), so nothing written
 * before it is lost. */
void
fm_file_flush_all(struct fm *fm)
{
	struct fm_file	**all = NULL, *f;
	size_t		  n = 0, cap = 0;

	pthread_mutex_lock(&fm->lock);
	for (unsigned b = 0; b < FM_BUCKETS; b++) {
		for (f = fm->files[b]; f != NULL; f = f->next) {
			if (n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				all = xrealloc(all, cap * sizeof *all);
			}
			f->refs++;
			all[n++] = f;
		}
	}
	pthread_mutex_unlock(&fm->lock);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&all[i]->lock);
		if (fm_file_commit(all[i]) != 0) {
			char *path = fm_file_pathdup(all[i]);
			log_err("%s: changes lost at unmount",
			    path != NULL ? path : "(unlinked file)");
			free(path);
		}
		pthread_mutex_unlock(&all[i]->lock);
		fm_file_put(all[i]);
	}
	free(all);
	if (n > 0)
		log_info("committed %zu open file(s) before unmounting", n);
}
