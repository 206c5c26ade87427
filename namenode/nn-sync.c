/*
 * nn-sync.c: when the namespace reaches the disk (namenode.sync).
 *
 * Why it is built this way.  The database runs in WAL mode (nn-db.c): a
 * COMMIT appends the transaction to namespace.db-wal with write(2), so it
 * survives kill -9 of the namenode at once, but a power loss keeps only
 * what was synced.  SQLite's synchronous=NORMAL syncs the WAL only at a
 * checkpoint, with no bound on how long that takes; synchronous=FULL
 * syncs it at every COMMIT, one fdatasync per operation.  namenode.sync
 * picks the model a local file system offers:
 *
 *   interval  (the default) a thread syncs the WAL every
 *             namenode.sync_interval when something was committed since
 *             its last sync, as ext4's journal commits every few seconds;
 *             fsync(2) through a mount and the end of dfs put ask for a
 *             sync at once (SYNC), which covers every COMMIT before it.
 *   always    every acknowledged operation is on disk: a request that
 *             changed something waits, after it let the namenode lock go
 *             and before its answer, for a sync that started after its
 *             COMMIT (nn_sync_ack).  One sync serves every request that
 *             committed while the one before it ran, so concurrent
 *             clients share syncs (group commit), where SQLite's
 *             synchronous=FULL would sync once per COMMIT under the lock.
 *             Other requests see a change before it is synced, as HDFS's
 *             readers see an edit before its logSync; its writer hears of
 *             it only once it is on disk.
 *
 * Syncing the WAL file through a descriptor of our own is enough: an
 * fdatasync covers every byte written to the file before it started, and
 * what a checkpoint moved into the database file SQLite synced itself
 * (NORMAL syncs the WAL before a checkpoint and the database after it).
 * A sync that overlaps a COMMIT may catch half of it, which recovery
 * ignores (WAL frames are checksummed; a transaction counts only with its
 * commit frame).  SQLite's commit hook for WAL databases counts commits;
 * a caller waits for a sync that started after its own commit, and one
 * sync serves every caller waiting meanwhile (group commit).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nn_i.h"
#include "xmalloc.h"

/* What SQLite's default hook does: checkpoint at this many WAL pages. */
#define NN_SYNC_CHECKPOINT_PAGES	1000

/* After every COMMIT to the WAL (under the namenode lock). */
static int
nn_sync_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct nn_sync	*s = arg;

	atomic_fetch_add(&s->commits, 1);
	/* Installing a hook replaced SQLite's automatic checkpoint. */
	if (pages >= NN_SYNC_CHECKPOINT_PAGES)
		sqlite3_wal_checkpoint(db, name);
	return SQLITE_OK;
}

/* fdatasync the WAL, opening it again if SQLite made a new one. */
static int
nn_sync_wal(struct nn_sync *s)
{
	struct stat	sb;

	if (s->fd >= 0 && (fstat(s->fd, &sb) != 0 || sb.st_nlink == 0)) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->fd < 0 && (s->fd = open(s->wal, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;	/* nothing written */
	return fdatasync(s->fd) == 0 ? 0 : -errno;
}

/*
 * Make every operation committed before the call durable.  0, or -EIO
 * when the WAL cannot be synced (the namenode's disk is failing).
 */
int
nn_sync_now(struct nn *nn)
{
	struct nn_sync	*s = &nn->sync;
	uint64_t	 want = atomic_load(&s->commits), upto;
	int		 rc = 0;

	if (s->wal == NULL)			/* not started */
		return 0;
	pthread_mutex_lock(&s->lock);
	if (s->synced < want) {
		upto = atomic_load(&s->commits);
		if ((rc = nn_sync_wal(s)) == 0) {
			s->synced = upto;
			atomic_fetch_add(&s->syncs, 1);
		} else
			log_err("cannot sync %s: %s", s->wal, strerror(-rc));
	}
	pthread_mutex_unlock(&s->lock);
	return rc == 0 ? 0 : -EIO;
}

/*
 * namenode.sync = always, before a request's answer: its change on disk.
 * A group's durability is its Raft log, which the engine syncs.
 */
int
nn_sync_ack(struct nn *nn)
{
	if (!nn->sync.always || nn->group != NULL)
		return 0;
	return nn_sync_now(nn);
}

/* namenode.sync = interval: sync what was committed, once a period. */
static void *
nn_sync_main(void *arg)
{
	struct nn	*nn = arg;
	struct nn_sync	*s = &nn->sync;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		dfs_cond_wait_until(&s->cond, &s->lock, dfs_now_ms() +
		    s->interval_ms);
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->lock);
		nn_sync_now(nn);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Set the model up on the open database; start the interval thread. */
int
nn_sync_start(struct nn *nn, const struct dfs_config *cfg, char **cause)
{
	struct nn_sync		*s = &nn->sync;

	s->fd = -1;
	s->always = strcmp(dfs_config_str(cfg, "namenode.sync"),
	    "always") == 0;
	s->interval_ms = dfs_config_int(cfg, "namenode.sync_interval");
	xasprintf(&s->wal, "%s-wal", sqlite3_db_filename(nn->db, "main"));
	pthread_mutex_init(&s->lock, NULL);
	dfs_cond_init(&s->cond);
	/* Both models sync the WAL themselves; NORMAL still syncs it before
	 * a checkpoint, and the database after. */
	if (sqlite3_exec(nn->db, "PRAGMA synchronous=NORMAL", NULL, NULL,
	    NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot set namenode.sync: %s",
		    sqlite3_errmsg(nn->db));
		return -EIO;
	}
	sqlite3_wal_hook(nn->db, nn_sync_wal_hook, s);
	if (!s->always && pthread_create(&s->thread, NULL, nn_sync_main,
	    nn) != 0) {
		xasprintf(cause, "cannot start the sync thread");
		return -EAGAIN;
	}
	s->started = !s->always;
	log_info("namenode.sync = %s%s", s->always ? "always" : "interval",
	    s->always ? " (every change is on disk before its answer; "
	    "concurrent changes share a sync)" : " (the WAL is synced at "
	    "least every namenode.sync_interval, and on request)");
	return 0;
}

/* Stop the thread after a last sync. */
void
nn_sync_stop(struct nn *nn)
{
	struct nn_sync	*s = &nn->sync;

	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	nn_sync_now(nn);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->wal);
	s->wal = NULL;
}

/* SYNC: answered once every operation committed before it is on disk. */
int
nn_sync_op_sync(struct nn_req *req)
{
	int	rc;

	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	if ((rc = nn_sync_now(req->nn)) != 0)
		return nn_server_fail(req, rc, "the namenode cannot sync its "
		    "namespace to disk (see its log)");
	return 0;
}
