/*
 * dn-store.c: the replicas this node holds: the data directory and the
 * block table in memory.
 *
 * Layout of datanode.data_dir (directories 0700, files 0600, tightened
 * at start-up when found looser: see lib/private.c):
 *   node.uuid    this node's identity, made on first start; the namenode
 *                maps it to a stable node id
 *   cluster.id   the cluster this node joined at its first registration;
 *                a namenode of any other cluster is refused
 *   lock         flock'ed while a data node uses the directory
 *   tmp/         replicas being written, patch journals (dn-patch.c:
 *                both dealt with at start-up)
 *   current/     finalized replicas, two files each (see dn-blkfile.c)
 *
 * Why it is built this way.  current/ holds finished replicas and nothing
 * else (dn-blkfile.c renames a replica in only once it is durable), so
 * start-up is a directory scan: every replica whose sidecar header and
 * sizes check is entered in the table.  One that does not check (a
 * damaged sidecar, a size that disagrees) is entered too, flagged
 * corrupt: it is never served, the block report says so, and only the
 * namenode, which knows whether good copies exist elsewhere, may have it
 * deleted.  A node never deletes a replica on its own because it looks
 * bad: the fault may be in what it read, and it may be the last copy.
 * Bytes are not re-read at start-up: the scanner and every read verify
 * them.  The table (id -> generation, length, chunk size) lives
 * behind one mutex, held only for memory work and the open(2) of a
 * replica being read, so a concurrent delete or a newer generation can
 * unlink the names but never pull the bytes from under a reader.  One
 * write per (id, generation) may be in progress; a newer generation
 * replaces an older one when it is finalized.  A write whose stream broke
 * before its end is "parked": its temp files stay for DN_PARK_MS so the
 * surviving nodes of a pipeline can continue it from the writer's last
 * acknowledged byte under a new generation (RESUME, see dn-write.c);
 * unclaimed, it is discarded at the next sweep (once a heartbeat).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "private.h"
#include "xmalloc.h"

#include "dn_i.h"

struct store_ent {
	struct dn_block		 b;
	struct store_ent	*next;
};

/* A write in progress: at most one per (id, gen). */
struct store_pending {
	dfs_block_id		 id;
	uint64_t		 gen;
	struct store_pending	*next;
};

/* A write whose stream broke, kept for a RESUME until expire_ms. */
struct store_parked {
	struct dn_blkw		*w;
	int64_t			 expire_ms;
	struct store_parked	*next;
};

struct dn_store {
	char			*dir;
	char			*cur;		/* DIR/current */
	char			*tmp;		/* DIR/tmp */
	int			 cur_fd;	/* current/, for fsync */
	int			 lock_fd;
	char			 uuid[DFS_UUID_LEN + 1];	/* dn-ident.c */
	char			 cluster[DFS_MAX_CLUSTER_ID + 1];	/* or "" */

	pthread_mutex_t		 lock;		/* guards all below */
	struct store_ent	**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 count;
	uint64_t		 bytes;
	struct store_pending	*pending;
	struct store_parked	*parked;
	pthread_cond_t		 parked_cond;	/* a write was parked or
						   released */
	uint64_t		 seq;		/* temp file names */
};

/* Fibonacci hashing: block ids are often sequential. */
static size_t
store_hash(const struct dn_store *st, dfs_block_id id)
{
	return (size_t)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 32) &
	    (st->nbuckets - 1);
}

/* Look a block up; the lock is held.  Borrowed. */
static struct store_ent *
store_get(struct dn_store *st, dfs_block_id id)
{
	struct store_ent	*e;

	for (e = st->buckets[store_hash(st, id)]; e != NULL; e = e->next)
		if (e->b.id == id)
			return e;
	return NULL;
}

/* Double the buckets when the table gets dense; the lock is held. */
static void
store_grow(struct dn_store *st)
{
	struct store_ent	**old = st->buckets, *e, *next;
	size_t			  n = st->nbuckets;

	st->nbuckets *= 2;
	st->buckets = xcalloc(st->nbuckets, sizeof *st->buckets);
	for (size_t i = 0; i < n; i++) {
		for (e = old[i]; e != NULL; e = next) {
			size_t h = store_hash(st, e->b.id);
			next = e->next;
			e->next = st->buckets[h];
			st->buckets[h] = e;
		}
	}
	free(old);
}

/* Insert or replace the entry for b->id; the lock is held. */
static void
store_put(struct dn_store *st, const struct dn_block *b)
{
	struct store_ent	*e = store_get(st, b->id);
	size_t			 h;

	if (e != NULL) {
		st->bytes -= e->b.len;
		e->b = *b;
		st->bytes += b->len;
		return;
	}
	if (st->count >= st->nbuckets)
		store_grow(st);
	h = store_hash(st, b->id);
	e = xmalloc(sizeof *e);
	e->b = *b;
	e->next = st->buckets[h];
	st->buckets[h] = e;
	st->count++;
	st->bytes += b->len;
}

/* Remove the entry for id; the lock is held. */
static void
store_del(struct dn_store *st, dfs_block_id id)
{
	struct store_ent	**pp, *e;

	for (pp = &st->buckets[store_hash(st, id)]; (e = *pp) != NULL;
	    pp = &e->next) {
		if (e->b.id == id) {
			*pp = e->next;
			st->count--;
			st->bytes -= e->b.len;
			free(e);
			return;
		}
	}
}

/* The cluster this node has joined, or "".  Borrowed. */
const char *
dn_store_cluster(struct dn_store *st)
{
	return st->cluster;
}

/*
 * Join cluster id for good (dn_ident_join) before the node takes a
 * single command from its namenode.  Called by the namenode link's one
 * thread only.
 */
int
dn_store_join(struct dn_store *st, const char *id, char **cause)
{
	int	rc;

	if ((rc = dn_ident_join(st->dir, id, cause)) == 0)
		memcpy(st->cluster, id, DFS_UUID_LEN + 1);
	return rc;
}

/*
 * A replica whose files do not check at start-up: entered in the table
 * flagged corrupt (never served, reported as such), never deleted here.
 * 0 when entered, -1 when it is no replica at all (not a regular file).
 */
static int
store_flag_bad(struct dn_store *st, int dfd, const char *name,
    struct dn_block *b, const char *why)
{
	struct stat	sb;

	if (fstatat(dfd, name, &sb, 0) != 0 || !S_ISREG(sb.st_mode)) {
		log_warn("ignoring %s/%s: not a regular file", st->cur, name);
		return -1;
	}
	log_err("replica %s/%s does not check (%s): kept, not served, and "
	    "reported corrupt to the namenode", st->cur, name, why);
	b->len = (uint64_t)sb.st_size;
	b->chunk_size = 0;
	b->flags = DFS_REPORT_CORRUPT;
	return 0;
}

/* Build the block table from current/; see the top of the file. */
static int
store_scan(struct dn_store *st, char **cause)
{
	DIR		*d;
	struct dirent	*de;
	struct dn_block	 b;
	struct store_ent *e;
	dfs_block_id	 id;
	uint64_t	 gen;
	bool		 meta;
	const char	*why;
	char		*path;
	size_t		 bad = 0;

	if ((d = opendir(st->cur)) == NULL) {
		xasprintf(cause, "cannot read %s: %s", st->cur,
		    strerror(errno));
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!dn_blkfile_parse_name(de->d_name, &id, &gen, &meta)) {
			log_warn("ignoring unexpected file %s/%s", st->cur,
			    de->d_name);
			continue;
		}
		if (meta) {
			/* A sidecar alone holds no data; it is left be. */
			path = dn_blkfile_path(st->cur, id, gen, false);
			if (access(path, F_OK) != 0 && errno == ENOENT)
				log_warn("ignoring %s/%s: no data file",
				    st->cur, de->d_name);
			free(path);
			continue;
		}
		if ((why = dn_blkfile_check(st->cur, id, gen, &b)) != NULL) {
			if (store_flag_bad(st, dirfd(d), de->d_name, &b,
			    why) != 0)
				continue;
			bad++;
		}
		if ((e = store_get(st, id)) != NULL) {
			/* A crash between finalizing a newer generation and
			 * removing the older one.  The older goes only when
			 * the newer checks: it may be the only good copy. */
			uint64_t old = e->b.gen < gen ? e->b.gen : gen;
			bool newer_bad = ((e->b.gen > gen ? e->b.flags :
			    b.flags) & DFS_REPORT_CORRUPT) != 0;
			if (newer_bad)
				log_warn("block %" PRIu64 ": generation %"
				    PRIu64 " kept on disk (superseded, but the "
				    "newer one does not check)", id, old);
			else {
				log_warn("block %" PRIu64 ": discarding "
				    "generation %" PRIu64 ", superseded", id,
				    old);
				dn_blkfile_unlink(st->cur, id, old);
			}
			bad++;
			if (e->b.gen > gen)
				continue;
		}
		store_put(st, &b);
	}
	closedir(d);
	log_info("%zu block%s, %" PRIu64 " bytes in %s%s", st->count,
	    st->count == 1 ? "" : "s", st->bytes, st->cur,
	    bad > 0 ? " (some do not check or were superseded, see above)" :
	    "");
	return 0;
}

/* Open (creating if needed) the data directory and load its blocks. */
int
dn_store_open(const char *dir, struct dn_store **stp, char **cause)
{
	struct dn_store	*st;
	char		*lockp;
	int		 rc;

	*stp = NULL;
	st = xcalloc(1, sizeof *st);
	st->cur_fd = st->lock_fd = -1;
	st->dir = xstrdup(dir);
	xasprintf(&st->cur, "%s/current", dir);
	xasprintf(&st->tmp, "%s/tmp", dir);
	pthread_mutex_init(&st->lock, NULL);
	dfs_cond_init(&st->parked_cond);
	st->nbuckets = 1024;
	st->buckets = xcalloc(st->nbuckets, sizeof *st->buckets);
	/* Block files 0600 in 0700 directories: see lib/private.c. */
	if ((rc = dfs_private_dir(dir, cause)) != 0 ||
	    (rc = dfs_private_dir(st->cur, cause)) != 0 ||
	    (rc = dfs_private_dir(st->tmp, cause)) != 0)
		goto fail;
	xasprintf(&lockp, "%s/lock", dir);
	st->lock_fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lockp);
	if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rc = -errno;
		if (errno == EWOULDBLOCK)
			xasprintf(cause, "data directory %s is in use by "
			    "another %s", dir, DN_PROG);
		else
			xasprintf(cause, "cannot lock %s/lock: %s", dir,
			    strerror(errno));
		goto fail;
	}
	if ((st->cur_fd = open(st->cur, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		rc = -errno;
		xasprintf(cause, "cannot open %s: %s", st->cur,
		    strerror(errno));
		goto fail;
	}
	if ((rc = dfs_private_files(dir, NULL, cause)) != 0 ||
	    (rc = dfs_private_files(st->cur, NULL, cause)) != 0)
		goto fail;
	if ((rc = dn_ident_load(st->dir, st->uuid, st->cluster, cause)) != 0)
		goto fail;
	dn_patch_startup(st->tmp, st->cur);	/* before the scan */
	if ((rc = store_scan(st, cause)) != 0)
		goto fail;
	*stp = st;
	return 0;
fail:
	dn_store_free(st);
	return rc;
}

/* Close the store (and release its lock file); NULL does nothing. */
void
dn_store_free(struct dn_store *st)
{
	struct store_ent	*e, *next;
	struct store_pending	*p, *pn;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nbuckets; i++) {
		for (e = st->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	for (p = st->pending; p != NULL; p = pn) {
		pn = p->next;
		free(p);
	}
	while (st->parked != NULL) {
		struct store_parked *k = st->parked;
		st->parked = k->next;
		dn_blkw_free(k->w);
		free(k);
	}
	free(st->buckets);
	if (st->cur_fd >= 0)
		close(st->cur_fd);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->parked_cond);
	free(st->dir);
	free(st->cur);
	free(st->tmp);
	free(st);
}

/* This node's identity.  Borrowed. */
const char *
dn_store_uuid(const struct dn_store *st)
{
	return st->uuid;
}

/* The data directory.  Borrowed. */
const char *
dn_store_dir(const struct dn_store *st)
{
	return st->dir;
}

/* The finalized replica of id, whatever its generation: 0 or -ENOENT. */
int
dn_store_find(struct dn_store *st, dfs_block_id id, struct dn_block *b)
{
	struct store_ent	*e;
	int			 rc = -ENOENT;

	pthread_mutex_lock(&st->lock);
	if ((e = store_get(st, id)) != NULL) {
		*b = e->b;
		rc = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* A snapshot of every finalized replica, for block reports.  Caller
 * frees. */
struct dn_block *
dn_store_list(struct dn_store *st, size_t *np)
{
	struct dn_block		*v;
	struct store_ent	*e;
	size_t			 n = 0;

	pthread_mutex_lock(&st->lock);
	v = xcalloc(st->count + 1, sizeof *v);
	for (size_t i = 0; i < st->nbuckets; i++)
		for (e = st->buckets[i]; e != NULL; e = e->next)
			v[n++] = e->b;
	pthread_mutex_unlock(&st->lock);
	*np = n;
	return v;
}

/* Remove a replica if it has this generation: 0 or -ENOENT. */
int
dn_store_delete(struct dn_store *st, dfs_block_id id, uint64_t gen,
    char **cause)
{
	struct store_ent	*e;
	uint64_t		 have = 0;
	bool			 found = false;

	pthread_mutex_lock(&st->lock);
	if ((e = store_get(st, id)) != NULL) {
		have = e->b.gen;
		if (have == gen) {
			store_del(st, id);
			found = true;
		}
	}
	pthread_mutex_unlock(&st->lock);
	if (!found) {
		if (cause != NULL && e != NULL)
			xasprintf(cause, "block %" PRIu64 " is held at "
			    "generation %" PRIu64 ", not %" PRIu64, id, have,
			    gen);
		else if (cause != NULL)
			xasprintf(cause, "no such block: %" PRIu64, id);
		return -ENOENT;
	}
	dn_blkfile_unlink(st->cur, id, gen);
	return 0;
}

/* Bytes of the finalized replicas this node holds. */
uint64_t
dn_store_bytes(struct dn_store *st)
{
	uint64_t	n;

	pthread_mutex_lock(&st->lock);
	n = st->bytes;
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* Size and use of the file system holding the data directory. */
void
dn_store_usage(struct dn_store *st, uint64_t *capacity, uint64_t *used)
{
	struct statvfs	sv;

	*capacity = *used = 0;
	dn_store_sweep(st);	/* once a heartbeat */
	if (statvfs(st->dir, &sv) != 0)
		return;
	*capacity = (uint64_t)sv.f_blocks * sv.f_frsize;
	*used = *capacity - (uint64_t)sv.f_bavail * sv.f_frsize;
	if (*used > *capacity)
		*used = *capacity;
}

/*
 * Whether a new replica of up to need bytes fits: the free space of the
 * data directory's file system, less need for every write already in
 * progress, must hold it.  0, or -ENOSPC with *cause ("disk full: ...").
 * A file system that cannot say is given the benefit of the doubt; a
 * write that then runs out of space fails and leaves nothing behind.
 */
int
dn_store_room(struct dn_store *st, uint64_t need, char **cause)
{
	struct store_pending	*p;
	struct statvfs		 sv;
	uint64_t		 avail, writing = 0;

	if (statvfs(st->dir, &sv) != 0)
		return 0;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	pthread_mutex_lock(&st->lock);
	for (p = st->pending; p != NULL; p = p->next)
		writing++;
	pthread_mutex_unlock(&st->lock);
	if (avail / (writing + 1) >= need)
		return 0;
	if (cause != NULL)
		xasprintf(cause, "disk full: %" PRIu64 " bytes free in %s "
		    "with %" PRIu64 " write%s in progress; a new block needs "
		    "up to %" PRIu64, avail, st->dir, writing, writing == 1 ?
		    "" : "s", need);
	return -ENOSPC;
}

/* Drop the write-in-progress mark of (id, gen). */
static void
store_unpend(struct dn_store *st, dfs_block_id id, uint64_t gen)
{
	struct store_pending	**pp, *p;

	pthread_mutex_lock(&st->lock);
	for (pp = &st->pending; (p = *pp) != NULL; pp = &p->next) {
		if (p->id == id && p->gen == gen) {
			*pp = p->next;
			free(p);
			break;
		}
	}
	pthread_cond_broadcast(&st->parked_cond);
	pthread_mutex_unlock(&st->lock);
}

/*
 * Start a replica: -EEXIST if this (id, gen) is stored or being written,
 * -ESTALE if a newer generation is stored.  The files live in tmp/ until
 * dn_store_commit.  Caller releases with dn_store_release.
 */
int
dn_store_create(struct dn_store *st, dfs_block_id id, uint64_t gen,
    uint32_t chunk_size, struct dn_blkw **wp, char **cause)
{
	struct store_ent	*e;
	struct store_pending	*p;
	struct dn_block		 b = {
		.id = id, .gen = gen, .chunk_size = chunk_size
	};
	uint64_t		 seq;
	int			 rc = 0;

	*wp = NULL;
	pthread_mutex_lock(&st->lock);
	if ((e = store_get(st, id)) != NULL && e->b.gen >= gen) {
		if (e->b.gen == gen) {
			rc = -EEXIST;
			xasprintf(cause, "block %" PRIu64 " generation %" PRIu64
			    " already exists on this node", id, gen);
		} else {
			rc = -ESTALE;
			xasprintf(cause, "block %" PRIu64 ": this node holds "
			    "generation %" PRIu64 ", newer than %" PRIu64, id,
			    e->b.gen, gen);
		}
	}
	for (p = st->pending; rc == 0 && p != NULL; p = p->next) {
		if (p->id == id && p->gen == gen) {
			rc = -EEXIST;
			xasprintf(cause, "block %" PRIu64 " generation %" PRIu64
			    " is already being written on this node", id, gen);
		}
	}
	if (rc == 0) {
		p = xmalloc(sizeof *p);
		p->id = id;
		p->gen = gen;
		p->next = st->pending;
		st->pending = p;
	}
	seq = ++st->seq;
	pthread_mutex_unlock(&st->lock);
	if (rc != 0)
		return rc;
	if ((rc = dn_blkw_create(st->tmp, st->dir, &b, seq, wp, cause)) != 0)
		store_unpend(st, id, gen);
	return rc;
}

/*
 * Finalize a replica (durable, in current/) and enter it in the table,
 * where it replaces an older generation, whose files go.  -ESTALE if a
 * newer generation was finalized meanwhile (ours is then removed).
 */
int
dn_store_commit(struct dn_store *st, struct dn_blkw *w, char **cause)
{
	const struct dn_block	*b = dn_blkw_block(w);
	struct store_ent	*e;
	uint64_t		 old = 0;
	bool			 replace = false, stale = false;
	int			 rc;

	if ((rc = dn_blkw_finish(w, st->cur, st->cur_fd, cause)) != 0)
		return rc;
	pthread_mutex_lock(&st->lock);
	if ((e = store_get(st, b->id)) != NULL && e->b.gen > b->gen)
		stale = true;
	else {
		if (e != NULL && e->b.gen != b->gen) {
			old = e->b.gen;
			replace = true;
		}
		store_put(st, b);
	}
	pthread_mutex_unlock(&st->lock);
	if (stale) {
		dn_blkfile_unlink(st->cur, b->id, b->gen);
		if (cause != NULL)
			xasprintf(cause, "block %" PRIu64 ": a newer "
			    "generation was stored while generation %" PRIu64
			    " was being written", b->id, b->gen);
		return -ESTALE;
	}
	if (replace) {
		log_info("block %" PRIu64 ": generation %" PRIu64 " replaces %"
		    PRIu64, b->id, b->gen, old);
		dn_blkfile_unlink(st->cur, b->id, old);
	}
	return 0;
}

/* End a write: unless committed, its temp files go. */
void
dn_store_release(struct dn_store *st, struct dn_blkw *w)
{
	const struct dn_block	*b;

	if (w == NULL)
		return;
	b = dn_blkw_block(w);
	store_unpend(st, b->id, b->gen);
	dn_blkw_free(w);
}

/*
 * Open the finalized replica (id, gen) for reading: -ENOENT "no such
 * block" when this node does not hold that generation, -EIO when its
 * files are damaged.  Caller frees with dn_rfile_free.
 */
int
dn_store_open_replica(struct dn_store *st, dfs_block_id id, uint64_t gen,
    struct dn_rfile **rp, char **cause)
{
	struct store_ent	*e;
	int			 rc;

	*rp = NULL;
	/* No patch between the table's answer and the files' opening. */
	dn_patch_rdlock(id);
	pthread_mutex_lock(&st->lock);
	if ((e = store_get(st, id)) != NULL && e->b.gen == gen &&
	    (e->b.flags & DFS_REPORT_CORRUPT)) {
		rc = -EIO;
		if (cause != NULL)
			xasprintf(cause, "block %" PRIu64 " generation %" PRIu64
			    ": this replica's files do not check", id, gen);
	} else if (e != NULL && e->b.gen == gen)
		rc = dn_rfile_open(st->cur, &e->b, rp, cause);
	else {
		rc = -ENOENT;
		if (cause != NULL && e != NULL)
			xasprintf(cause, "no such block: %" PRIu64
			    " generation %" PRIu64 " (this node holds "
			    "generation %" PRIu64 ")", id, gen, e->b.gen);
		else if (cause != NULL)
			xasprintf(cause, "no such block: %" PRIu64
			    " generation %" PRIu64, id, gen);
	}
	pthread_mutex_unlock(&st->lock);
	if (rc == 0)
		dn_rfile_guard(*rp, dn_patch_epoch(id));
	dn_patch_rdunlock(id);
	return rc;
}

/*
 * The replica (id, gen) a PATCH would change: finalized here, checking,
 * and with no write of the block in progress or parked.  0, -ENOENT,
 * -ESTALE (another generation), -EIO (flagged corrupt) or -EBUSY.
 */
int
dn_store_patch_find(struct dn_store *st, dfs_block_id id, uint64_t gen,
    struct dn_block *b, char **cause)
{
	struct store_ent	*e;
	struct store_pending	*p;
	struct store_parked	*k;
	int			 rc = 0;

	pthread_mutex_lock(&st->lock);
	if ((e = store_get(st, id)) == NULL || e->b.gen != gen)
		rc = e == NULL ? -ENOENT : -ESTALE;
	else if (e->b.flags & DFS_REPORT_CORRUPT)
		rc = -EIO;
	for (p = st->pending; p != NULL; p = p->next)
		rc = rc == 0 && p->id == id ? -EBUSY : rc;
	for (k = st->parked; k != NULL; k = k->next)
		rc = rc == 0 && dn_blkw_block(k->w)->id == id ? -EBUSY : rc;
	if (rc == 0)
		*b = e->b;
	else
		xasprintf(cause, "block %" PRIu64 " generation %" PRIu64 ": %s",
		    id, gen, rc == -ENOENT || rc == -ESTALE ? "no such block" :
		    rc == -EIO ? "this replica's files do not check" :
		    "being written");
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* A PATCH made replica old into now (or flagged it), if it is still old. */
void
dn_store_patched(struct dn_store *st, const struct dn_block *old,
    const struct dn_block *now)
{
	struct store_ent	*e;

	pthread_mutex_lock(&st->lock);
	if ((e = store_get(st, old->id)) != NULL && e->b.gen == old->gen)
		store_put(st, now);
	pthread_mutex_unlock(&st->lock);
}

/*
 * Keep the temp files of a write whose stream broke before its end, so
 * that the survivors of its pipeline can continue it under a new
 * generation (dn_store_resume).  Unclaimed for DN_PARK_MS, they go.
 * Consumes w.
 */
void
dn_store_park(struct dn_store *st, struct dn_blkw *w)
{
	const struct dn_block	*b;
	struct store_parked	*k, **kp, *old = NULL;
	struct store_pending	**pp, *p;

	if (w == NULL)
		return;
	b = dn_blkw_block(w);
	log_info("block %" PRIu64 " generation %" PRIu64 ": write interrupted "
	    "at %" PRIu64 " bytes; kept for %d s in case it resumes", b->id,
	    b->gen, b->len, DN_PARK_MS / 1000);
	k = xcalloc(1, sizeof *k);
	k->w = w;
	k->expire_ms = dfs_now_ms() + DN_PARK_MS;
	pthread_mutex_lock(&st->lock);
	for (pp = &st->pending; (p = *pp) != NULL; pp = &p->next) {
		if (p->id == b->id && p->gen == b->gen) {
			*pp = p->next;
			free(p);
			break;
		}
	}
	/* An older interrupted write of the block is superseded. */
	for (kp = &st->parked; *kp != NULL;) {
		struct store_parked *o = *kp;
		const struct dn_block *ob = dn_blkw_block(o->w);
		if (ob->id == b->id && ob->gen <= b->gen) {
			*kp = o->next;
			o->next = old;
			old = o;
		} else
			kp = &o->next;
	}
	*kp = k;
	pthread_cond_broadcast(&st->parked_cond);
	pthread_mutex_unlock(&st->lock);
	while ((k = old) != NULL) {
		old = k->next;
		dn_blkw_free(k->w);
		free(k);
	}
}

/* Discard parked writes nobody resumed in time. */
void
dn_store_sweep(struct dn_store *st)
{
	struct store_parked	*k, **kp, *gone = NULL;
	int64_t			 now = dfs_now_ms();

	pthread_mutex_lock(&st->lock);
	for (kp = &st->parked; (k = *kp) != NULL;) {
		if (k->expire_ms <= now) {
			*kp = k->next;
			k->next = gone;
			gone = k;
		} else
			kp = &k->next;
	}
	pthread_mutex_unlock(&st->lock);
	while ((k = gone) != NULL) {
		const struct dn_block *b = dn_blkw_block(k->w);
		log_info("block %" PRIu64 " generation %" PRIu64 ": interrupted "
		    "write not resumed; discarded", b->id, b->gen);
		gone = k->next;
		dn_blkw_free(k->w);
		free(k);
	}
}

/*
 * A RESUME of a block this node finalized (see dn_store_resume): its
 * first offset bytes, checked against their stored CRCs, are copied into
 * a new write under new_gen, which then goes on as a resumed one.  The
 * finalized replica stays until the new generation replaces it.  Called
 * with new_gen pending; on failure it is not.
 */
static int
resume_finalized(struct dn_store *st, const struct dn_block *fin,
    uint64_t new_gen, uint64_t offset, uint32_t chunk_size,
    struct dn_blkw **wp, char **cause)
{
	struct dn_rfile	*r = NULL;
	struct dn_blkw	*w = NULL;
	uint8_t		*data = NULL, crcs[4 * (DFS_MAX_PACKET / DFS_MIN_CHUNK)];
	uint64_t	 seq, off;
	size_t		 n;
	int		 rc;

	if (fin->chunk_size != chunk_size || offset > fin->len ||
	    offset % chunk_size != 0) {
		if (cause != NULL)
			xasprintf(cause, "block %" PRIu64 ": cannot resume at "
			    "offset %" PRIu64 " in chunks of %u (this node "
			    "stored %" PRIu64 " bytes in chunks of %u)",
			    fin->id, offset, chunk_size, fin->len,
			    fin->chunk_size);
		rc = -EINVAL;
		goto out;
	}
	if ((rc = dn_store_open_replica(st, fin->id, fin->gen, &r,
	    cause)) != 0)
		goto out;
	pthread_mutex_lock(&st->lock);
	seq = ++st->seq;
	pthread_mutex_unlock(&st->lock);
	if ((rc = dn_blkw_create(st->tmp, st->dir, fin, seq, &w, cause)) != 0)
		goto out;
	data = xmalloc(DFS_MAX_PACKET);
	for (off = 0; off < offset; off += n) {
		n = offset - off < DFS_MAX_PACKET ? offset - off :
		    DFS_MAX_PACKET;
		if ((rc = dn_rfile_read(r, off, n, data, crcs, cause)) != 0 ||
		    (rc = dn_blkw_append(w, data, n, crcs, cause)) != 0)
			goto out;
	}
	if ((rc = dn_blkw_resume(w, new_gen, offset, cause)) != 0)
		goto out;
	log_info("block %" PRIu64 ": the write resumes from generation %"
	    PRIu64 ", which this node had finalized (%" PRIu64 " bytes)",
	    fin->id, fin->gen, fin->len);
	*wp = w;
	w = NULL;
out:
	free(data);
	dn_rfile_free(r);
	dn_blkw_free(w);
	if (rc != 0)
		store_unpend(st, fin->id, new_gen);
	return rc;
}

/*
 * Take over the interrupted write of block id for a RESUME: cut to
 * offset bytes, renamed to new_gen, pending again.  The writer names the
 * generation it knew (old_gen); any older than new_gen will do, since
 * one block id has one writer and every generation of it holds the same
 * bytes up to what that writer saw acknowledged.  A write of it still
 * running (its stream is breaking as we speak) is waited for up to
 * wait_ms.  With no such write, an older finalized replica does as well:
 * a node finalizes the block when the last packet reaches it, so when a
 * node below fails on that packet the writer holds no final ack and
 * resumes a block this node already stored (resume_finalized).  -ENOENT
 * when this node has neither, -ESTALE when it stores new_gen or newer
 * already, -EINVAL for a bad offset or chunk size.  Caller releases with
 * dn_store_release (or parks it again).
 */
int
dn_store_resume(struct dn_store *st, dfs_block_id id, uint64_t old_gen,
    uint64_t new_gen, uint64_t offset, uint32_t chunk_size, int wait_ms,
    struct dn_blkw **wp, char **cause)
{
	struct store_parked	*k = NULL, **kp;
	struct store_pending	*p;
	struct store_ent	*e;
	struct dn_block		 fin = { 0 };
	int64_t			 deadline = dfs_now_ms() + wait_ms;
	bool			 running, have_fin = false;
	int			 rc = 0;

	*wp = NULL;
	pthread_mutex_lock(&st->lock);
	for (;;) {
		/* The newest older generation: a node may have taken an
		 * earlier RESUME of this block that failed further down. */
		struct store_parked **best = NULL;
		for (kp = &st->parked; (k = *kp) != NULL; kp = &k->next) {
			const struct dn_block *b = dn_blkw_block(k->w);
			if (b->id == id && b->gen < new_gen && (best == NULL ||
			    b->gen > dn_blkw_block((*best)->w)->gen))
				best = kp;
		}
		k = NULL;
		if (best != NULL) {
			k = *best;
			*best = k->next;
		}
		running = false;
		for (p = st->pending; k == NULL && p != NULL; p = p->next)
			if (p->id == id && p->gen < new_gen)
				running = true;
		if (!running || dfs_now_ms() >= deadline)
			break;
		dfs_cond_wait_until(&st->parked_cond, &st->lock, deadline);
	}
	e = store_get(st, id);
	if (k == NULL && e != NULL && e->b.gen < new_gen &&
	    !(e->b.flags & DFS_REPORT_CORRUPT)) {
		fin = e->b;
		have_fin = true;
	}
	if (k == NULL && !have_fin)
		rc = -ENOENT;
	else if (e != NULL && e->b.gen >= new_gen)
		rc = -ESTALE;
	else {
		for (p = st->pending; p != NULL; p = p->next)
			if (p->id == id && p->gen == new_gen)
				rc = -EEXIST;
	}
	if (rc == 0) {
		p = xmalloc(sizeof *p);
		p->id = id;
		p->gen = new_gen;
		p->next = st->pending;
		st->pending = p;
	}
	pthread_mutex_unlock(&st->lock);
	if (rc != 0) {
		if (cause != NULL)
			xasprintf(cause, rc == -ENOENT ? "block %" PRIu64
			    " generation %" PRIu64 " is not being written "
			    "on this node" : "block %" PRIu64 " generation %"
			    PRIu64 " cannot resume here: a newer generation "
			    "exists", id, old_gen);
		if (k != NULL) {
			dn_blkw_free(k->w);
			free(k);
		}
		return rc;
	}
	if (k == NULL)
		return resume_finalized(st, &fin, new_gen, offset, chunk_size,
		    wp, cause);
	if (dn_blkw_block(k->w)->chunk_size != chunk_size) {
		if (cause != NULL)
			xasprintf(cause, "block %" PRIu64 ": chunk size %u "
			    "differs from the interrupted write's %u", id,
			    chunk_size, dn_blkw_block(k->w)->chunk_size);
		rc = -EINVAL;
	} else
		rc = dn_blkw_resume(k->w, new_gen, offset, cause);
	if (rc != 0) {
		store_unpend(st, id, new_gen);
		dn_blkw_free(k->w);
		free(k);
		return rc;
	}
	*wp = k->w;
	free(k);
	return 0;
}
