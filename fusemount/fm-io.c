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
	/* A write-only descriptor cannot be mmapped, so its writes may skip
	 * the page cache (a copy, and the kernel's time to fill it), once
	 * the kernel agreed to mmap direct_io files (main.c).  Reads keep
	 * it: with direct_io each read(2), 4 KiB ones too, would be a
	 * request of its own (measured: 4 KiB reads at 0.15 GB/s against 1.2
	 * through the cache), while behind the cache the kernel reads ahead
	 * in 1 MiB requests, which our read-ahead serves. */
	fi->direct_io = f->fm->direct_io || (atomic_load(&f->fm->dio_mmap) &&
	    (fi->flags & O_ACCMODE) == O_WRONLY);
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
	fm_fresh_opened(path);
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
		fm_invalidate(fm, path);
	return 0;
}

/*
 * create(2), or open(2) with O_CREAT of a name the kernel did not know:
 * one MKNOD, which makes the file empty and complete at once.  A file
 * closed without a write (touch, lock and marker files) so costs one
 * namenode round trip rather than three (CREATE, COMPLETE, and the
 * kernel's GETATTR, answered here from the reply); the first write turns
 * it into a stream (fm_file_write), with the CREATE that a stream needs.
 * Another mount sees a complete empty file until then, as it would have
 * seen an empty file under construction.
 */
int
fm_file_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct fm		*fm = fm_get();
	struct fm_caller	 ctx;
	struct fm_file		*f;
	struct dfs_attr		 a;
	char			*cause = NULL;
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
	fm_caller(&ctx);
	rc = dfs_client_mknod(fm->client, path, DFS_FT_FILE, mode & 07777,
	    ctx.uid, ctx.gid, 0, &a, &cause);
	if (rc == -EEXIST && !(fi->flags & O_EXCL)) {
		/* The kernel's negative entry was stale: open it instead
		 * (unless it is no file at all). */
		free(cause);
		cause = NULL;
		rc = dfs_client_stat(fm->client, path, &a, &cause);
		if ((rc = fm_errno(rc, cause, "stat", path)) == 0 &&
		    a.type == DFS_FT_DIR)
			rc = -EISDIR;
		else if (rc == 0 && (fi->flags & O_TRUNC))
			rc = fm_file_trunc_open(f, path, true);
		goto out;
	}
	if ((rc = fm_errno(rc, cause, "create", path)) != 0)
		goto out;
	f->attr = a;
	f->have_attr = true;
	f->born_ns = dfs_now_ns();
	/* libfuse asks for the new file's attributes next, and the kernel
	 * for the parent's after the reply. */
	fm_fresh_put(fm, path, &a, f->born_ns);
	fm_fresh_created(fm, path, &a);
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

/*
 * Read-ahead.  Served one at a time, each read request would wait for a
 * data node's round trip: the kernel's read-ahead (1 MiB requests, a few
 * at once) hides only part of it, and none with -o direct_io, where each
 * read(2) is a request.  From a handle's second read in sequence that
 * did not reach the end of the file (a small file read whole needs
 * none), a thread of its own fetches the next FM_AHEAD_SLOTS slots of
 * FM_AHEAD_SLOT bytes, and reads are copied from them, waiting only for a
 * fetch already under way.  A read elsewhere drops the window; it starts
 * again at the next sequential read.  Slots are fetched through the
 * handle's readers, so every byte is checked as any read's, and a failed
 * fetch is only a miss: the read then goes to the data nodes itself and
 * reports its own error.  The buffers count against half of
 * mount.max_memory (the streams have the other half); past it, handles
 * read ahead less, or not at all.  Closed handles leave up to
 * FM_AHEAD_POOL buffers in a pool for the next: a new buffer costs page
 * faults that, at this machine's 0.2-1.2 GB/s first touch, would cost
 * more than reading a file of a few MiB.
 */
enum fm_slot_state {
	FM_SLOT_FREE,
	FM_SLOT_BUSY,		/* being fetched */
	FM_SLOT_READY,
};

struct fm_slot {
	enum fm_slot_state	 state;
	uint64_t		 off;		/* of buf[0] in the file */
	size_t			 want;		/* asked for */
	size_t			 len;		/* got (READY) */
	bool			 failed;	/* READY, but read directly */
	bool			 stale;		/* BUSY, but no longer wanted */
	uint8_t			*buf;
};

struct fm_ahead {
	struct fm_handle	*h;
	pthread_t		 threads[FM_AHEAD_THREADS];
	int			 nthreads;
	pthread_mutex_t		 lock;		/* guards what follows */
	pthread_cond_t		 cond;		/* a slot changed state */
	bool			 stop;
	uint64_t		 gen;		/* of the bytes fetched */
	uint64_t		 next;		/* to fetch from */
	uint64_t		 end;		/* not past (EOF or paused) */
	struct fm_slot		 slots[FM_AHEAD_SLOTS];
};

/* A slot's buffer: a pooled one (already touched, so no page faults), a
 * new one if the budget has room, else NULL. */
static uint8_t *
fm_ahead_buf_take(struct fm *fm)
{
	uint8_t	*buf = NULL;
	bool	 ok;

	pthread_mutex_lock(&fm->lock);
	if (fm->ahead_npool > 0)
		buf = fm->ahead_pool[--fm->ahead_npool];
	ok = buf != NULL ||
	    fm->ahead_mem + FM_AHEAD_SLOT <= fm->max_memory / 2;
	if (buf == NULL && ok)
		fm->ahead_mem += FM_AHEAD_SLOT;
	pthread_mutex_unlock(&fm->lock);
	if (buf == NULL && ok)
		buf = xmalloc(FM_AHEAD_SLOT);
	return buf;
}

/* Give a slot's buffer back: to the pool, or freed once it is full. */
static void
fm_ahead_buf_give(struct fm *fm, uint8_t *buf)
{
	if (buf == NULL)
		return;
	pthread_mutex_lock(&fm->lock);
	if (fm->ahead_npool < FM_AHEAD_POOL) {
		fm->ahead_pool[fm->ahead_npool++] = buf;
		buf = NULL;
	} else
		fm->ahead_mem -= FM_AHEAD_SLOT;
	pthread_mutex_unlock(&fm->lock);
	free(buf);
}

/* Free the pool (at unmount, with no handle left). */
void
fm_ahead_pool_free(struct fm *fm)
{
	pthread_mutex_lock(&fm->lock);
	while (fm->ahead_npool > 0) {
		free(fm->ahead_pool[--fm->ahead_npool]);
		fm->ahead_mem -= FM_AHEAD_SLOT;
	}
	pthread_mutex_unlock(&fm->lock);
}

/* A free slot with a buffer for the thread to fill, or NULL.  Hold
 * a->lock. */
static struct fm_slot *
fm_ahead_free_slot(struct fm_ahead *a)
{
	struct fm_slot	*bare = NULL;

	for (int i = 0; i < FM_AHEAD_SLOTS; i++) {
		if (a->slots[i].state != FM_SLOT_FREE)
			continue;
		if (a->slots[i].buf != NULL)
			return &a->slots[i];
		bare = &a->slots[i];
	}
	if (bare != NULL &&
	    (bare->buf = fm_ahead_buf_take(a->h->f->fm)) == NULL)
		bare = NULL;
	return bare;
}

static int	fm_file_read_cluster(struct fm_handle *, const char *,
		    uint64_t, char *, size_t, uint64_t);

/* The read-ahead thread: fill free slots from a->next on, in order. */
static void *
fm_ahead_main(void *arg)
{
	struct fm_ahead	*a = arg;
	struct fm_slot	*s = NULL;
	char		*path;
	uint64_t	 gen;
	int		 n;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->stop && (a->next >= a->end ||
		    (s = fm_ahead_free_slot(a)) == NULL))
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->stop)
			break;
		s->state = FM_SLOT_BUSY;
		s->stale = false;
		s->off = a->next;
		s->want = a->end - a->next < FM_AHEAD_SLOT ?
		    (size_t)(a->end - a->next) : FM_AHEAD_SLOT;
		a->next += s->want;
		gen = a->gen;
		pthread_mutex_unlock(&a->lock);
		if ((path = fm_file_pathdup(a->h->f)) == NULL)
			n = -ENOENT;
		else
			n = fm_file_read_cluster(a->h, path, gen,
			    (char *)s->buf, s->want, s->off);
		free(path);
		pthread_mutex_lock(&a->lock);
		if (s->stale) {
			s->state = FM_SLOT_FREE;
		} else {
			s->state = FM_SLOT_READY;
			s->failed = n < 0;
			s->len = n < 0 ? 0 : (size_t)n;
			if (n >= 0 && (size_t)n < s->want)
				a->end = s->off + (uint64_t)n;	/* EOF */
		}
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Forget every slot and fetch again from next on (end == next: not until
 * the next sequential read).  Hold a->lock. */
static void
fm_ahead_restart(struct fm_ahead *a, uint64_t gen, uint64_t next,
    uint64_t end)
{
	for (int i = 0; i < FM_AHEAD_SLOTS; i++) {
		struct fm_slot *s = &a->slots[i];
		if (s->state == FM_SLOT_BUSY)
			s->stale = true;
		else
			s->state = FM_SLOT_FREE;
	}
	a->gen = gen;
	a->next = next;
	a->end = end;
	pthread_cond_broadcast(&a->cond);
}

static void	fm_ahead_free(struct fm_ahead *);

/* A read-ahead for h with its threads, or NULL when the memory budget is
 * spent (or no thread can start). */
static struct fm_ahead *
fm_ahead_create(struct fm_handle *h)
{
	struct fm_ahead	*a;
	uint8_t		*buf;

	if ((buf = fm_ahead_buf_take(h->f->fm)) == NULL)
		return NULL;
	a = xcalloc(1, sizeof *a);
	a->h = h;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->slots[0].buf = buf;
	for (int i = 0; i < FM_AHEAD_THREADS; i++) {
		if (pthread_create(&a->threads[i], NULL, fm_ahead_main,
		    a) != 0) {
			log_warn("cannot start a read-ahead thread");
			break;
		}
		a->nthreads++;
	}
	if (a->nthreads == 0) {
		fm_ahead_free(a);
		return NULL;
	}
	return a;
}

/* Stop the threads and give the buffers back. */
static void
fm_ahead_free(struct fm_ahead *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	for (int i = 0; i < a->nthreads; i++)
		pthread_join(a->threads[i], NULL);
	for (int i = 0; i < FM_AHEAD_SLOTS; i++)
		fm_ahead_buf_give(a->h->f->fm, a->slots[i].buf);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* Note a read of [off, off+size) of h: whether it follows the last one
 * (seq), and how far the run of such reads goes back (run).  Returns h's
 * read-ahead, or NULL while it has none. */
static struct fm_ahead *
fm_ahead_note(struct fm_handle *h, uint64_t off, size_t size, bool *seq,
    uint64_t *run)
{
	struct fm_ahead	*a;

	pthread_mutex_lock(&h->rlock);
	*seq = off == h->seq_next;
	if (!*seq)
		h->seq_start = off;
	*run = off - h->seq_start;
	h->seq_next = off + size;
	a = h->ahead;
	pthread_mutex_unlock(&h->rlock);
	return a;
}

/* Give h a read-ahead of version gen fetching from next on (unless the
 * memory budget is spent). */
static void
fm_ahead_start(struct fm_handle *h, uint64_t gen, uint64_t next)
{
	struct fm_ahead	*a;

	if ((a = fm_ahead_create(h)) == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	fm_ahead_restart(a, gen, next, UINT64_MAX);
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_lock(&h->rlock);
	if (h->ahead == NULL) {
		h->ahead = a;
		a = NULL;
	}
	pthread_mutex_unlock(&h->rlock);
	fm_ahead_free(a);		/* another read was first */
}

/* Whether off lies in or just past the window: a read the kernel's own
 * read-ahead sent out of order, not a seek.  Hold a->lock. */
static bool
fm_ahead_near(struct fm_ahead *a, uint64_t off)
{
	uint64_t	lo = a->next;

	if (a->next >= a->end)
		return false;		/* paused */
	for (int i = 0; i < FM_AHEAD_SLOTS; i++) {
		struct fm_slot *s = &a->slots[i];
		if (s->state != FM_SLOT_FREE && !s->stale && s->off < lo)
			lo = s->off;
	}
	return off >= lo && off - lo < (uint64_t)2 * FM_AHEAD_SLOT *
	    FM_AHEAD_SLOTS;
}

/*
 * Copy what the read-ahead holds of [off, off+size) of version gen into
 * buf, waiting for fetches under way; returns the bytes copied from off
 * on.  The caller reads the rest itself; a sequential read (seq) that
 * missed moves the window past it.
 */
static size_t
fm_ahead_serve(struct fm_ahead *a, uint64_t gen, char *buf, size_t size,
    uint64_t off, bool seq)
{
	struct fm_slot	*s;
	uint64_t	 pos;
	size_t		 done = 0, n;

	pthread_mutex_lock(&a->lock);
	if (a->gen != gen)
		fm_ahead_restart(a, gen, 0, 0);
	while (done < size) {
		pos = off + done;
		s = NULL;
		for (int i = 0; i < FM_AHEAD_SLOTS; i++) {
			struct fm_slot *t = &a->slots[i];
			if (t->state != FM_SLOT_FREE && !t->stale &&
			    pos >= t->off && pos < t->off + t->want) {
				s = t;
				break;
			}
		}
		if (s == NULL)
			break;
		if (s->state == FM_SLOT_BUSY) {
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		if (s->failed || pos >= s->off + s->len)
			break;		/* read directly: its error, or EOF */
		n = (size_t)(s->off + s->len - pos);
		if (n > size - done)
			n = size - done;
		memcpy(buf + done, s->buf + (pos - s->off), n);
		done += n;
	}
	pos = off + done;
	if (done == 0 && (seq || !fm_ahead_near(a, off))) {
		/* A miss: start after this read, or wait for the next
		 * sequential one. */
		fm_ahead_restart(a, gen, off + size, seq ? UINT64_MAX :
		    off + size);
	} else if (done > 0) {
		/* What lies behind the reader is done with. */
		for (int i = 0; i < FM_AHEAD_SLOTS; i++) {
			s = &a->slots[i];
			if (s->state == FM_SLOT_READY && (s->failed ||
			    s->off + s->want <= pos))
				s->state = FM_SLOT_FREE;
		}
		if (a->next < off + size)
			a->next = off + size;
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return done;
}

int
fm_file_read(const char *unused, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fm_handle	*h = fm_handle_of(fi);
	struct fm_file		*f = h->f;
	struct fm_ahead		*a;
	char			*path;
	uint64_t		 gen;
	uint64_t		 run;
	size_t			 done = 0;
	ssize_t			 n;
	bool			 seq;
	int			 rc;

	fm_cred_caller(h->f->fm);
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
	if ((a = fm_ahead_note(h, (uint64_t)off, size, &seq, &run)) != NULL &&
	    (done = fm_ahead_serve(a, gen, buf, size, (uint64_t)off,
	    seq)) == size)
		return (int)done;
	if ((path = fm_file_pathdup(f)) == NULL)
		return -ENOENT;		/* unlinked and never local */
	rc = fm_file_read_cluster(h, path, gen, buf + done, size - done,
	    (uint64_t)off + done);
	free(path);
	if (rc < 0)
		return done > 0 ? (int)done : rc;
	/* A second read in sequence, short of the end: read ahead.  (A
	 * small file read whole ends short, or at its end, and needs
	 * none.) */
	if (a == NULL && seq && run > 0 && (size_t)rc == size - done)
		fm_ahead_start(h, gen, (uint64_t)off + size);
	return (int)done + rc;
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

	fm_cred_caller(h->f->fm);
	pthread_mutex_lock(&f->lock);
	fm_cred_wrote(f);
	if (f->err != 0) {
		rc = f->err;	/* until a flush reports it */
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
	fm_commit_mark(f, at, size);
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

	fm_cred_caller(h->f->fm);
	if (!h->wrote)
		return 0;
	h->wrote = false;
	return fm_file_sync(h->f);
}

/* fsync(2): the file's data committed, then the namespace on the
 * namenode's disk (namenode.sync), as a local file system promises. */
int
fm_file_fsync(const char *unused, int datasync, struct fuse_file_info *fi)
{
	struct fm_handle	*h = fm_handle_of(fi);
	int			 rc;

	fm_cred_caller(h->f->fm);
	if (fm_writing(h->flags) && (rc = fm_file_sync(h->f)) != 0)
		return rc;
	return fm_sync_namespace(h->f->fm, "fsync");
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

	fm_cred_caller(h->f->fm);
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
	fm_ahead_free(h->ahead);
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
