/*
 * nn-hold.c: files held open by mounts, and files kept alive by those
 * holds after their last name went (orphans).
 *
 * POSIX keeps a file unlinked while open readable, writable and
 * fstat-able until its last close.  Only the namenode can do that for
 * every mount at once, so a mount registers a hold on each inode it has
 * open: holder = the client's lease name (what writers' leases are
 * named by) and the authenticated identity (certificate name) that sent
 * it, so a lease name alone claims nothing.  A hold is taken by the STAT
 * a mount's open makes anyway (its hold flag), renewed with the client's
 * leases (one HOLDS message per renewal pass) and released by HOLDS when
 * the mount's last handle closes.
 *
 * While a file has a name its holds live here only, in memory: nothing
 * is lost if they are (a renewal takes them again).  When the last name
 * of a file with live holds goes (unlink, rmdir of nothing, a rename
 * over it), nn_meta_drop keeps the inode (nlink 0) and its blocks and
 * records each holder in the orphans table, in the transaction of that
 * removal: a restarted namenode loads them and gives each holder a full
 * lease period from start-up to renew.  An orphan can be reached only by
 * its holders' identities, as "#N" (nn_path_reach).  It is reclaimed (its
 * inode and blocks deleted the way an unlink deletes them) when its last
 * hold is released, or when every hold lapsed: no renewal for
 * namenode.lease_timeout, the bound after which a writer's lease is
 * recovered.  Never on anything weaker.
 *
 * All of it is under the namenode lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nn_i.h"
#include "xmalloc.h"

#define NN_HOLD_BUCKETS	4096
#define NN_MAX_HOLDS	(1U << 20)	/* in memory, all clients */
#define NN_HOLDS_MAX_N	4096		/* inodes in one HOLDS */

struct nn_hold {
	dfs_ino		 ino;
	char		*client;	/* lease name */
	char		*who;		/* identity that holds it */
	uint64_t	 seq;		/* latest hold from the client */
	int64_t		 renewed_ms;
	bool		 orphan;	/* has a row in orphans */
	struct nn_hold	*next;
};

struct nn_holds {
	struct nn_hold	*b[NN_HOLD_BUCKETS];
	size_t		 n;
};

static unsigned
nn_hold_bucket(dfs_ino ino)
{
	return (unsigned)((ino * 0x9e3779b97f4a7c15ULL) >> 52) %
	    NN_HOLD_BUCKETS;
}

/* The table, made at first use. */
static struct nn_holds *
nn_hold_table(struct nn *nn)
{
	if (nn->holds == NULL)
		nn->holds = xcalloc(1, sizeof *nn->holds);
	return nn->holds;
}

static void
nn_hold_free_one(struct nn_hold *h)
{
	free(h->client);
	free(h->who);
	free(h);
}

/* Release every hold (at exit). */
void
nn_hold_free(struct nn *nn)
{
	struct nn_hold	*h, *next;

	if (nn->holds == NULL)
		return;
	for (unsigned i = 0; i < NN_HOLD_BUCKETS; i++)
		for (h = nn->holds->b[i]; h != NULL; h = next) {
			next = h->next;
			nn_hold_free_one(h);
		}
	free(nn->holds);
	nn->holds = NULL;
}

/* The hold of client on ino, or NULL. */
static struct nn_hold *
nn_hold_find(struct nn *nn, dfs_ino ino, const char *client)
{
	struct nn_hold	*h;

	for (h = nn_hold_table(nn)->b[nn_hold_bucket(ino)]; h != NULL;
	    h = h->next)
		if (h->ino == ino && strcmp(h->client, client) == 0)
			return h;
	return NULL;
}

static struct nn_hold *
nn_hold_add(struct nn *nn, dfs_ino ino, const char *client, const char *who,
    uint64_t seq, int64_t now)
{
	struct nn_holds	*t = nn_hold_table(nn);
	struct nn_hold	*h;
	unsigned	 b = nn_hold_bucket(ino);

	h = xcalloc(1, sizeof *h);
	h->ino = ino;
	h->client = xstrdup(client);
	h->who = xstrdup(who);
	h->seq = seq;
	h->renewed_ms = now;
	h->next = t->b[b];
	t->b[b] = h;
	t->n++;
	return h;
}

static void
nn_hold_unlink(struct nn *nn, struct nn_hold *h)
{
	struct nn_holds	*t = nn_hold_table(nn);
	struct nn_hold	**hp;

	for (hp = &t->b[nn_hold_bucket(h->ino)]; *hp != NULL;
	    hp = &(*hp)->next)
		if (*hp == h) {
			*hp = h->next;
			t->n--;
			break;
		}
	nn_hold_free_one(h);
}

/* Whether a hold on ino is still live (renewed within the lease). */
static bool
nn_hold_live(struct nn *nn, const struct nn_hold *h, int64_t now)
{
	return now - h->renewed_ms <= nn->lease_timeout_ms;
}

/* Whether anyone holds ino (live holds only). */
static bool
nn_hold_held(struct nn *nn, dfs_ino ino)
{
	struct nn_hold	*h;
	int64_t		 now = dfs_now_ms();

	for (h = nn_hold_table(nn)->b[nn_hold_bucket(ino)]; h != NULL;
	    h = h->next)
		if (h->ino == ino && nn_hold_live(nn, h, now))
			return true;
	return false;
}

/* Whether identity who holds ino: what lets it reach an orphan. */
bool
nn_hold_reaches(struct nn *nn, dfs_ino ino, const char *who)
{
	struct nn_hold	*h;
	int64_t		 now = dfs_now_ms();

	if (who == NULL)
		return false;
	for (h = nn_hold_table(nn)->b[nn_hold_bucket(ino)]; h != NULL;
	    h = h->next)
		if (h->ino == ino && strcmp(h->who, who) == 0 &&
		    nn_hold_live(nn, h, now))
			return true;
	return false;
}

/*
 * Take or renew client's hold on ino for identity who.  -EPERM when
 * another identity holds it under that lease name, -ENOSPC when the
 * table is full.  The caller checked that who may reach ino.
 */
int
nn_hold_take(struct nn *nn, dfs_ino ino, const char *client, const char *who,
    uint64_t seq)
{
	struct nn_hold	*h;

	if ((h = nn_hold_find(nn, ino, client)) != NULL) {
		if (strcmp(h->who, who) != 0)
			return -EPERM;
		if (seq > h->seq)
			h->seq = seq;
		h->renewed_ms = dfs_now_ms();
		return 0;
	}
	if (nn_hold_table(nn)->n >= NN_MAX_HOLDS)
		return -ENOSPC;
	nn_hold_add(nn, ino, client, who, seq, dfs_now_ms());
	return 0;
}

/*
 * Delete orphan ino, which no one holds any more: its rows, and the inode
 * with its blocks when it still has no name (the transaction that made it
 * an orphan may have been rolled back).  In a transaction.
 */
static int
nn_hold_reclaim(struct nn *nn, dfs_ino ino)
{
	int64_t	names, type;
	int	rc;

	if ((rc = nn_db_exec(nn, "DELETE FROM orphans WHERE ino = ?", "i",
	    (int64_t)ino)) != 0)
		return rc;
	if ((rc = nn_db_i64(nn, &type, "SELECT type FROM inodes WHERE id = ?",
	    "i", (int64_t)ino)) != 0)
		return rc == -ENOENT ? 0 : rc;
	if ((rc = nn_db_i64(nn, &names, "SELECT count(*) FROM dirents "
	    "WHERE ino = ?", "i", (int64_t)ino)) != 0)
		return rc;
	if (names > 0 || type != DFS_FT_FILE)
		return 0;
	if ((rc = nn_blockmap_drop_file(nn, ino)) != 0)
		return rc;
	if ((rc = nn_db_exec(nn, "DELETE FROM inodes WHERE id = ?", "i",
	    (int64_t)ino)) != 0)
		return rc;
	log_info("inode %" PRIu64 " reclaimed: its last holder let it go",
	    (uint64_t)ino);
	return 0;
}

/* Drop hold h; an orphan nobody holds any more is reclaimed.  In a
 * transaction. */
static int
nn_hold_drop(struct nn *nn, struct nn_hold *h)
{
	dfs_ino	ino = h->ino;
	bool	orphan = h->orphan;
	int	rc = 0;

	if (orphan && (rc = nn_db_exec(nn, "DELETE FROM orphans WHERE "
	    "ino = ? AND client = ?", "it", (int64_t)ino, h->client)) != 0)
		return rc;
	nn_hold_unlink(nn, h);
	if (orphan && !nn_hold_held(nn, ino))
		rc = nn_hold_reclaim(nn, ino);
	return rc;
}

/*
 * The last name of file ino went (nn_meta_drop): when it is held, keep
 * it as an orphan, recording its holders, and say so (*kept).  In the
 * removal's transaction.
 */
int
nn_hold_keep(struct nn *nn, dfs_ino ino, int64_t now_ns, bool *kept)
{
	struct nn_hold	*h;
	int64_t		 now = dfs_now_ms();
	int		 rc;

	*kept = false;
	if (nn->holds == NULL || !nn_hold_held(nn, ino))
		return 0;
	for (h = nn->holds->b[nn_hold_bucket(ino)]; h != NULL; h = h->next) {
		if (h->ino != ino || !nn_hold_live(nn, h, now))
			continue;
		if ((rc = nn_db_exec(nn, "INSERT OR REPLACE INTO orphans(ino, "
		    "client, who, since_ms) VALUES (?, ?, ?, ?)", "itti",
		    (int64_t)ino, h->client, h->who, now_ns / 1000000)) != 0)
			return rc;
		h->orphan = true;
		log_info("inode %" PRIu64 " unlinked while held open by %s: "
		    "kept until its last holder lets it go", (uint64_t)ino,
		    h->client);
	}
	if ((rc = nn_db_exec(nn, "UPDATE inodes SET nlink = 0, ctime_ns = ? "
	    "WHERE id = ?", "ii", now_ns, (int64_t)ino)) != 0)
		return rc;
	*kept = true;
	return 0;
}

/*
 * At start-up: the orphans a previous run kept, each holder given a full
 * lease period from now to renew its hold.
 */
int
nn_hold_load(struct nn *nn)
{
	sqlite3_stmt	*st;
	struct nn_hold	*h;
	size_t		 n = 0;
	int		 rc;

	st = nn_db_sql(nn, "SELECT ino, client, who FROM orphans", "");
	while ((rc = nn_db_step(nn, st)) == 1) {
		h = nn_hold_add(nn, (dfs_ino)sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2), 0, dfs_now_ms());
		h->orphan = true;
		n++;
	}
	if (n > 0)
		log_info("%zu hold(s) on files unlinked while open; their "
		    "holders have %lld ms to renew them", n,
		    (long long)nn->lease_timeout_ms);
	return rc;
}

/*
 * The monitor's pass: holds not renewed for namenode.lease_timeout are
 * dropped, and orphans left with none reclaimed.  Not in safe mode,
 * where holders may still be coming back.
 */
void
nn_hold_expire(struct nn *nn)
{
	struct nn_hold	*h, *next;
	int64_t		 now = dfs_now_ms();
	int		 rc = 0;
	bool		 begun = false;

	if (nn->holds == NULL || nn->holds->n == 0 || nn->safemode)
		return;
	for (unsigned i = 0; i < NN_HOLD_BUCKETS && rc == 0; i++)
		for (h = nn->holds->b[i]; h != NULL && rc == 0; h = next) {
			next = h->next;
			if (nn_hold_live(nn, h, now))
				continue;
			if (h->orphan && !begun) {
				if ((rc = nn_db_begin(nn)) != 0)
					break;
				begun = true;
			}
			if (h->orphan)
				log_warn("hold of %s on unlinked inode %" PRIu64
				    " lapsed (no renewal for %lld ms)",
				    h->client, (uint64_t)h->ino,
				    (long long)nn->lease_timeout_ms);
			/* next may go with an orphan's reclaim: restart */
			rc = nn_hold_drop(nn, h);
			next = nn->holds->b[i];
		}
	if (begun && (rc = nn_db_end(nn, rc)) != 0)
		log_err("cannot reclaim lapsed holds: %s", strerror(-rc));
}

/*
 * Release client's hold on ino for identity who, unless the hold is
 * another identity's or newer than seq (a take that crossed this release
 * on the wire).  An orphan left with no hold is reclaimed.  In a
 * transaction.
 */
int
nn_hold_release(struct nn *nn, dfs_ino ino, const char *client,
    const char *who, uint64_t seq)
{
	struct nn_hold	*h = nn_hold_find(nn, ino, client);

	if (h == NULL || strcmp(h->who, who) != 0 || seq < h->seq)
		return 0;
	return nn_hold_drop(nn, h);
}

/* One entry of HOLDS: take or renew (op 1), or release (op 0). */
static int
nn_hold_one(struct nn_req *req, const char *client, dfs_ino ino,
    uint64_t seq, uint8_t op)
{
	struct nn	*nn = req->nn;
	const char	*who = req->peer->cred.who;
	struct nn_hold	*h = nn_hold_find(nn, ino, client);
	struct nn_perm_obj o;

	if (op == 0)
		return nn_hold_release(nn, ino, client, who, seq);
	if (h != NULL)
		return nn_hold_take(nn, ino, client, who, seq) == -ENOSPC ?
		    -ENOSPC : 0;
	/* A new hold: only on a file this peer may reach by a path. */
	if (nn_perm_load(nn, ino, &o) != 0 || o.type != DFS_FT_FILE ||
	    nn_path_reach(nn, &req->peer->cred, ino, o.type) != 0)
		return 0;
	return nn_hold_take(nn, ino, client, who, seq) == -ENOSPC ? -ENOSPC :
	    0;
}

/*
 * HOLDS: a client's holds, taken, renewed or released in one message.
 * What it may not do (another's hold, an inode it cannot reach, one gone)
 * is skipped, not refused: a renewal races with unlinks and reclaims.
 */
int
nn_hold_op_holds(struct nn_req *req)
{
	char		*client;
	uint32_t	 n;
	dfs_ino		*inos = NULL;
	uint64_t	*seqs = NULL;
	uint8_t		*ops = NULL;
	int		 rc = 0;

	client = dfs_get_strdup(&req->in, NN_MAX_CLIENT_NAME);
	n = dfs_get_u32(&req->in);
	if (n > NN_HOLDS_MAX_N) {
		rc = nn_server_fail(req, -EINVAL, "too many holds in one "
		    "message (%u, at most %d)", n, NN_HOLDS_MAX_N);
		goto out;
	}
	inos = xcalloc(n + 1, sizeof *inos);
	seqs = xcalloc(n + 1, sizeof *seqs);
	ops = xcalloc(n + 1, 1);
	for (uint32_t i = 0; i < n; i++) {
		inos[i] = dfs_get_u64(&req->in);
		seqs[i] = dfs_get_u64(&req->in);
		ops[i] = dfs_get_u8(&req->in);
	}
	if ((rc = nn_server_decoded(req)) != 0)
		goto out;
	if (client == NULL || client[0] == '\0') {
		rc = nn_server_fail(req, -EINVAL, "HOLDS needs a client name");
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		if (ops[i] > 1) {
			rc = nn_server_fail(req, -EINVAL, "unknown hold "
			    "operation %u", ops[i]);
			goto out;
		}
	if ((rc = nn_server_enter(req)) != 0)
		goto out;
	for (uint32_t i = 0; i < n && rc == 0; i++)
		rc = nn_hold_one(req, client, inos[i], seqs[i], ops[i]);
	if (rc == -ENOSPC)
		rc = nn_server_fail(req, rc, "too many files held open");
out:
	free(client);
	free(inos);
	free(seqs);
	free(ops);
	return rc;
}
