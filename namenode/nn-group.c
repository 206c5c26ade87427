/*
 * nn-group.c: a namenode as one member of a group of namenodes (issue
 * 12) that keep one namespace through a Raft log (nn-raft.c): which
 * requests a member serves, how a transaction becomes an entry of the
 * log, and the log's state machine (apply, snapshot, restore).
 *
 * Why it is built this way.  Every change to the namespace is already
 * one SQLite transaction (nn-db.c), and nn-repl.c turns what one changed
 * in "main" into a changeset.  So nn_db_begin and nn_db_end are the only
 * hooks: in a group, a transaction that changed "main" is not committed
 * as it stands; its changeset is proposed as an entry, and every member
 * (the leader too) applies committed entries in log order on the log's
 * thread (group_apply), which is what makes the change real.  A reply is
 * sent only once the entry is applied here, i.e. in a majority's log,
 * which libraft syncs: that is a group's durability, whatever
 * namenode.sync says.
 *
 * Two ways to leave a transaction, because its changes to "live" (each
 * member's own: the replica map, queued commands) are of two kinds:
 *
 *   discard  a client's namespace request: the whole transaction is
 *            rolled back, and the live effects that matter are derived
 *            again when the entry is applied (nn-repl.c's repl_live:
 *            a deleted block's replicas are sent DELETE then, and only
 *            then: never for an operation that may not commit);
 *   keep     a data node's report (RECEIVED, a block report), COMPLETE,
 *            the background tasks: their live effects are what they are
 *            for, so the inverse of the changeset is applied inside the
 *            transaction, which then commits only its live part.
 *
 * One writer at a time: ids come from counters in meta, so a second
 * transaction must never run on a state that lacks the first one's
 * entry.  The write lock (g->wlock) is taken in nn_db_begin and given
 * back once the entry is applied; the namenode lock is let go while the
 * entry travels, so reads and the log's own thread (which takes it to
 * apply and to snapshot) go on.  Lock order: wlock, then nn->lock; a
 * thread holding nn->lock that must wait for wlock lets nn->lock go
 * first.
 *
 * One writer at a time would make an entry's round trip to the
 * followers (about 2.5 ms on loopback) the cost of every change, however
 * many clients wait.  So clients' namespace changes, and COMPLETE's
 * transaction, queue while an entry is on its way, and the first of them
 * then runs those queued (up to 64 of one kind) in one transaction, a
 * savepoint each, as one entry (nn-batch.c): a request that fails undoes only its own
 * savepoint, and each answer waits for the entry that holds its change.
 *
 * Entries carry a serial number, one more than the last applied
 * (meta.raft_serial, written with the rows): libraft replays its log
 * from the last snapshot when a member restarts, and an entry this
 * database already holds is skipped.  A new leader first waits for a
 * barrier (every earlier entry applied), re-enters safe mode (its block
 * map is cold until the data nodes, which follow the leader, report to
 * it) and only then serves.
 *
 * Followers serve nothing but HELLO, WHOAMI and GROUP_STATUS: every
 * other request gets ERROR -EREMOTE "not the leader; the leader is at
 * HOST:PORT" (or "no leader known"), and clients and data nodes go there.
 */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "net.h"
#include "nn_i.h"
#include "nn_raft.h"
#include "private.h"
#include "proto.h"
#include "wire.h"
#include "xmalloc.h"

#define GROUP_ENTRY_HDR	8	/* u64 serial */

struct nn_group {
	struct nn_raft	*raft;
	uint64_t	 id;
	char		 addr[256];
	/* What the log's configuration points to, for its lifetime. */
	char		 store[NN_RAFT_MAX_MEMBERS * 256];
	char		 dir[4096];
	pthread_mutex_t	 wlock;		/* one writer: see above */
	uint64_t	 ready_term;	/* term whose barrier is done */
	bool		 broken;	/* an entry did not apply */

	/* The transaction under way (under wlock and nn->lock). */
	struct nn_repl	*cap;
	bool		 discard;
	bool		 applying;	/* the log's thread is applying */

	/* The members, as namenode.peers names them (into store). */
	unsigned	 n;
	uint64_t	 ids[NN_RAFT_MAX_MEMBERS];
	const char	*addrs[NN_RAFT_MAX_MEMBERS];

	/* The database copy a joining member is fetching (GROUP_DB). */
	pthread_mutex_t	 dblock;
	unsigned char	*db;		/* sqlite3_malloc'ed */
	uint64_t	 dblen;
	uint64_t	 dbfor;		/* member id */
};

/* ----- the state machine (the log's thread) ------------------------------ */

static int
group_apply(void *arg, const void *buf, size_t len)
{
	struct nn	*nn = arg;
	struct nn_group	*g = nn->group;
	char		*cause = NULL;
	uint64_t	 serial;
	int		 rc;

	if (len < GROUP_ENTRY_HDR) {
		log_err("group: an entry of %zu bytes", len);
		g->broken = true;
		return 0;
	}
	serial = dfs_le64dec(buf);
	pthread_mutex_lock(&nn->lock);
	g->applying = true;
	rc = nn_repl_apply_entry(nn, serial, (const uint8_t *)buf +
	    GROUP_ENTRY_HDR, len - GROUP_ENTRY_HDR, &cause);
	g->applying = false;
	pthread_mutex_unlock(&nn->lock);
	if (rc != 0) {
		/* Refuse to serve rather than serve a namespace that is not
		 * the group's. */
		log_err("group: entry %" PRIu64 " not applied: %s; this "
		    "member stops serving", serial,
		    cause != NULL ? cause : strerror(-rc));
		g->broken = true;
	}
	free(cause);
	return 0;
}

static int
group_snapshot(void *arg, void **buf, size_t *len)
{
	struct nn	*nn = arg;
	unsigned char	*p;
	sqlite3_int64	 n = 0;

	pthread_mutex_lock(&nn->lock);
	nn_db_reset_all(nn);
	p = sqlite3_serialize(nn->db, "main", &n, 0);
	pthread_mutex_unlock(&nn->lock);
	if (p == NULL || n <= 0)
		return -EIO;
	*buf = xmalloc((size_t)n);
	memcpy(*buf, p, (size_t)n);
	*len = (size_t)n;
	sqlite3_free(p);
	return 0;
}

static int
group_restore(void *arg, const void *buf, size_t len)
{
	struct nn	*nn = arg;
	sqlite3		*src = NULL;
	sqlite3_backup	*b;
	unsigned char	*copy;
	int		 rc = -EIO, src_rc = SQLITE_OK;

	if (len == 0 || len > INT64_MAX ||
	    sqlite3_open(":memory:", &src) != SQLITE_OK)
		goto out;
	if ((copy = sqlite3_malloc64(len)) == NULL)
		goto out;
	memcpy(copy, buf, len);
	/* The image of a database in WAL mode says so (header bytes 18
	 * and 19), and SQLite's in-memory files cannot be opened in WAL
	 * mode: "unable to open database file" at the first read.  As a
	 * rollback-journal image it reads the same. */
	if (len >= 20)
		copy[18] = copy[19] = 1;
	if (sqlite3_deserialize(src, "main", copy, (sqlite3_int64)len,
	    (sqlite3_int64)len, SQLITE_DESERIALIZE_FREEONCLOSE |
	    SQLITE_DESERIALIZE_READONLY) != SQLITE_OK)
		goto out;
	pthread_mutex_lock(&nn->lock);
	nn_db_reset_all(nn);
	if ((b = sqlite3_backup_init(nn->db, "main", src, "main")) != NULL) {
		if ((src_rc = sqlite3_backup_step(b, -1)) == SQLITE_DONE)
			rc = 0;
		sqlite3_backup_finish(b);
	}
	pthread_mutex_unlock(&nn->lock);
out:
	if (rc != 0)
		log_err("group: cannot restore a snapshot of %zu bytes: %s",
		    len, src_rc != SQLITE_OK ? sqlite3_errstr(src_rc) :
		    src != NULL ? sqlite3_errmsg(src) : "no memory");
	else
		log_info("group: namespace restored from a snapshot of %zu "
		    "bytes", len);
	sqlite3_close(src);
	return rc;
}

/* ----- configuration ----------------------------------------------------- */

/* "1=host:port,2=host:port,..." into conf.  0 or -EINVAL. */
static int
group_peers(const char *s, struct nn_raft_conf *conf, char *store,
    size_t storelen, char **cause)
{
	char	*copy = xstrdup(s), *tok, *save = NULL, *eq, *end;
	size_t	 used = 0;
	int	 rc = 0;

	conf->nmembers = 0;
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, ", \t", &save)) {
		unsigned long long id;
		size_t n;

		if ((eq = strchr(tok, '=')) == NULL) {
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		errno = 0;
		id = strtoull(tok, &end, 10);
		n = strlen(eq + 1) + 1;
		if (errno != 0 || *end != '\0' || id == 0 || id > 1000 ||
		    n < 4 || n > 256 || used + n > storelen ||
		    conf->nmembers == NN_RAFT_MAX_MEMBERS) {
			rc = -EINVAL;
			break;
		}
		for (unsigned i = 0; i < conf->nmembers; i++)
			if (conf->ids[i] == id)
				rc = -EINVAL;
		memcpy(store + used, eq + 1, n);
		conf->ids[conf->nmembers] = id;
		conf->addrs[conf->nmembers++] = store + used;
		used += n;
	}
	free(copy);
	if (rc == 0 && conf->nmembers < 2)
		rc = -EINVAL;
	if (rc != 0)
		xasprintf(cause, "namenode.peers: expected 'ID=HOST:PORT' for "
		    "each member, at least two, distinct ids 1-1000, "
		    "separated by commas: '%s'", s);
	return rc;
}

/*
 * namenode.peers and namenode.id into conf (the strings in store): the
 * members, this member's id and address.  0 or -EINVAL with *cause.
 */
static int
group_seat(const struct dfs_config *cfg, struct nn_raft_conf *conf,
    char *store, size_t storelen, char **cause)
{
	const char	*peers = dfs_config_str(cfg, "namenode.peers");
	int		 rc;

	memset(conf, 0, sizeof *conf);
	if ((rc = group_peers(peers, conf, store, storelen, cause)) != 0)
		return rc;
	conf->id = (uint64_t)dfs_config_int(cfg, "namenode.id");
	for (unsigned i = 0; i < conf->nmembers; i++)
		if (conf->ids[i] == conf->id)
			conf->address = conf->addrs[i];
	if (conf->address == NULL) {
		xasprintf(cause, "namenode.id %" PRIu64 " is not one of "
		    "namenode.peers (%s)", conf->id, peers);
		return -EINVAL;
	}
	return 0;
}

/*
 * The other members' addresses, comma-separated (malloc'ed), and this
 * member's id, from namenode.peers and namenode.id: whom a joining
 * member asks (nn-join.c).
 */
int
nn_group_others(const struct dfs_config *cfg, uint64_t *id, char **others,
    char **cause)
{
	struct nn_raft_conf	 conf;
	char			 store[NN_RAFT_MAX_MEMBERS * 256];
	size_t			 len = 0;
	int			 rc;

	if (dfs_config_str(cfg, "namenode.peers")[0] == '\0') {
		xasprintf(cause, "--join: namenode.peers is not set; only a "
		    "member of a group joins one");
		return -EINVAL;
	}
	if ((rc = group_seat(cfg, &conf, store, sizeof store, cause)) != 0)
		return rc;
	*id = conf.id;
	*others = xcalloc(1, sizeof store + NN_RAFT_MAX_MEMBERS);
	for (unsigned i = 0; i < conf.nmembers; i++)
		if (conf.ids[i] != conf.id)
			len += (size_t)sprintf(*others + len, "%s%s",
			    len > 0 ? "," : "", conf.addrs[i]);
	return 0;
}

/*
 * Before the namespace is opened: a group's member with no namespace in
 * its state directory lost it (the first member formats, the others
 * start from a copy of its namespace: dfs cluster up does both).  It
 * must neither format a namespace of its own nor start empty; true with
 * *cause saying how it comes back.
 */
bool
nn_group_member_lost(const struct dfs_config *cfg, char **cause)
{
	const char	*dir = dfs_config_str(cfg, "namenode.meta_dir");
	char		*path;
	bool		 lost;

	if (dfs_config_str(cfg, "namenode.peers")[0] == '\0')
		return false;
	xasprintf(&path, "%s/namespace.db", dir);
	lost = access(path, F_OK) != 0 && errno == ENOENT;
	if (lost)
		xasprintf(cause, "member %lld of a namenode group has no "
		    "namespace in %s: it comes back only by 'dfs-namenode "
		    "--join' (a local cluster: dfs cluster namenode join DIR "
		    "%lld), which takes the leader's",
		    (long long)dfs_config_int(cfg, "namenode.id"), dir,
		    (long long)dfs_config_int(cfg, "namenode.id"));
	free(path);
	return lost;
}

/* Whether dir holds anything (a Raft log): false when missing or empty. */
static bool
group_dir_used(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	bool		 used = false;

	if ((d = opendir(dir)) == NULL)
		return false;
	while (!used && (e = readdir(d)) != NULL)
		used = strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0;
	closedir(d);
	return used;
}

/*
 * A member whose Raft state is gone must not start as if the group were
 * new: it would have forgotten its votes and its log, and with another
 * member that lags it could elect a leader that lacks acknowledged
 * entries.  Its namespace says it was a member (entries applied): it
 * comes back only by dfs-namenode --join, which the leader admits as a
 * new voter once caught up.  A raft dir never used and a namespace with
 * no entry is a group's first start.
 */
static int
group_check_state(struct nn *nn, const char *dir, uint64_t id, bool join,
    char **cause)
{
	int64_t	serial = 0;
	bool	used = group_dir_used(dir);

	if (join && used) {
		xasprintf(cause, "--join: %s holds a Raft log already; a "
		    "member joins with an empty state directory", dir);
		return -EEXIST;
	}
	if (join || used)
		return 0;
	if (nn_db_i64(nn, &serial, "SELECT value FROM meta WHERE key = "
	    "'raft_serial'", "") != 0)
		serial = 0;
	if (serial > 0) {
		xasprintf(cause, "member %" PRIu64 "'s Raft state (%s) is gone "
		    "but its namespace holds the group's entries up to %"
		    PRId64 ": it rejoins only by 'dfs-namenode --join' (a "
		    "local cluster: dfs cluster namenode join DIR %" PRIu64
		    "), after its state directory is emptied", id, dir, serial,
		    id);
		return -ESTALE;
	}
	return 0;
}

int
nn_group_start(struct nn *nn, const struct dfs_config *cfg, bool join,
    char **cause)
{
	static const struct nn_raft_cb cb = {
		.apply = group_apply, .snapshot = group_snapshot,
		.restore = group_restore
	};
	struct nn_raft_conf	 conf;
	struct nn_raft_cb	 c = cb;
	struct nn_group		*g;
	int			 rc;

	if (dfs_config_str(cfg, "namenode.peers")[0] == '\0')
		return 0;	/* one namenode: no log at all */
	g = xcalloc(1, sizeof *g);
	if ((rc = group_seat(cfg, &conf, g->store, sizeof g->store,
	    cause)) != 0)
		goto fail;
	if ((size_t)snprintf(g->dir, sizeof g->dir, "%s/raft",
	    dfs_config_str(cfg, "namenode.meta_dir")) >= sizeof g->dir) {
		xasprintf(cause, "namenode.meta_dir is too long");
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if ((mkdir(g->dir, 0700) != 0 && errno != EEXIST) ||
	    dfs_private_dir(g->dir, cause) != 0) {
		if (*cause == NULL)
			xasprintf(cause, "%s: %s", g->dir, strerror(errno));
		rc = -EIO;
		goto fail;
	}
	if ((rc = group_check_state(nn, g->dir, conf.id, join, cause)) != 0)
		goto fail;
	conf.dir = g->dir;
	conf.join = join;
	g->n = conf.nmembers;
	for (unsigned i = 0; i < conf.nmembers; i++) {
		g->ids[i] = conf.ids[i];
		g->addrs[i] = conf.addrs[i];
	}
	conf.election_ms = (unsigned)dfs_config_int(cfg,
	    "namenode.election_timeout");	/* (ms) */
	conf.timeout_ms = (int)conf.election_ms;
	conf.snapshot_every = (unsigned)dfs_config_int(cfg,
	    "namenode.snapshot_entries");
	conf.snapshot_trailing = conf.snapshot_every / 4 + 1;
	g->id = conf.id;
	snprintf(g->addr, sizeof g->addr, "%s", conf.address);
	pthread_mutex_init(&g->wlock, NULL);
	pthread_mutex_init(&g->dblock, NULL);
	nn->batch = nn_batch_new();
	nn->group = g;
	c.arg = nn;
	if ((rc = nn_raft_start(&conf, &c, nn->tls, &g->raft, cause)) != 0) {
		nn->group = NULL;
		pthread_mutex_destroy(&g->wlock);
		pthread_mutex_destroy(&g->dblock);
		nn_batch_free(nn->batch);
		nn->batch = NULL;
		goto fail;
	}
	log_info("group: member %" PRIu64 " of %u at %s (election timeout "
	    "%u ms)", conf.id, conf.nmembers, conf.address, conf.election_ms);
	return 0;
fail:
	free(g);
	return rc;
}

void
nn_group_stop(struct nn *nn)
{
	if (nn->group != NULL)
		nn_raft_stop(nn->group->raft);
}

void
nn_group_free(struct nn *nn)
{
	struct nn_group	*g = nn->group;

	if (g == NULL)
		return;
	nn_raft_free(g->raft);
	pthread_mutex_destroy(&g->wlock);
	pthread_mutex_destroy(&g->dblock);
	nn_batch_free(nn->batch);
	nn->batch = NULL;
	sqlite3_free(g->db);
	free(g);
	nn->group = NULL;
}

/* ----- serving ----------------------------------------------------------- */

/*
 * A member that takes the lead (nn->lock held): safe mode until the data
 * nodes report to it; what it kept in memory from the namespace (holds on
 * unlinked files, patch promises) read again from the tables the log
 * filled; every writer a full lease period (renewals are volatile); the
 * group's token keys (nn-keys.c); and nothing left of an earlier term's commands, copies in
 * flight or queue of blocks to repair: they were decided on a state that
 * other leaders have changed since.
 */
static void
group_take_lead(struct nn *nn)
{
	nn->safemode = true;
	nn->start_ms = dfs_now_ms();
	nn_hold_free(nn);
	if (nn_hold_load(nn) != 0)
		log_err("group: cannot read the orphans table");
	nn_patch_free();
	if (nn_patch_load(nn) != 0)
		log_err("group: cannot read the patches table");
	if (nn_recover_grant(nn) != 0)
		log_err("group: cannot give the writers their leases");
	nn_keys_adopt(nn);
	if (nn_db_exec(nn, "DELETE FROM live.commands", "") != 0 ||
	    nn_db_exec(nn, "DELETE FROM live.pending", "") != 0 ||
	    nn_db_exec(nn, "DELETE FROM live.needed", "") != 0)
		log_err("group: cannot clear the last term's work");
}

/*
 * Whether this member serves requests now: one namenode always; in a
 * group, the leader once its barrier is done.  A leader of a new term
 * waits for the barrier here (never under nn->lock), then re-enters safe
 * mode and reads its tables again (group_take_lead).
 */
bool
nn_group_serving(struct nn *nn)
{
	struct nn_group		*g = nn->group;
	struct nn_raft_status	 st;

	if (g == NULL)
		return true;
	if (g->broken)
		return false;
	nn_raft_status(g->raft, &st);
	if (st.role != NN_RAFT_LEADER)
		return false;
	if (__atomic_load_n(&g->ready_term, __ATOMIC_ACQUIRE) == st.term)
		return true;
	pthread_mutex_lock(&g->wlock);
	if (g->ready_term != st.term && nn_raft_barrier(g->raft) == 0) {
		/* After the barrier: the tables it reads again hold every
		 * entry of the earlier terms. */
		pthread_mutex_lock(&nn->lock);
		group_take_lead(nn);
		pthread_mutex_unlock(&nn->lock);
		log_info("group: member %" PRIu64 " leads term %" PRIu64
		    " (applied %" PRIu64 "); in safe mode until the data "
		    "nodes report", g->id, st.term, st.applied);
		__atomic_store_n(&g->ready_term, st.term, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&g->wlock);
	return __atomic_load_n(&g->ready_term, __ATOMIC_ACQUIRE) == st.term;
}

/* The ERROR text of a request this member does not serve (malloc'ed). */
char *
nn_group_redirect(struct nn *nn)
{
	struct nn_raft_status	 st;
	char			*s;

	nn_raft_status(nn->group->raft, &st);
	if (nn->group->broken)
		xasprintf(&s, "namenode member %" PRIu64 " is out of step "
		    "with its group and serves nothing (see its log)",
		    nn->group->id);
	else if (st.leader != 0 && st.leader != nn->group->id &&
	    st.leader_addr[0] != '\0')
		xasprintf(&s, DFS_NOT_LEADER_AT "%s", st.leader_addr);
	else
		xasprintf(&s, "not the leader; no leader known yet (an "
		    "election is under way)");
	return s;
}

/* GROUP_STATUS: this member's seat (any member answers). */
int
nn_group_op_status(struct nn_req *req)
{
	struct nn_group		*g = req->nn->group;
	struct nn_raft_status	 st;
	struct dfs_wbuf		*b;

	if (nn_server_decoded(req) != 0)
		return -EBADMSG;
	memset(&st, 0, sizeof st);
	if (g != NULL)
		nn_raft_status(g->raft, &st);
	b = nn_server_reply(req, DFS_NN_GROUP_STATUS_REPLY);
	dfs_put_u64(b, g != NULL ? g->id : 0);
	dfs_put_u8(b, g == NULL ? DFS_GROUP_SINGLE : g->broken ?
	    DFS_GROUP_BROKEN : st.role == NN_RAFT_LEADER ? DFS_GROUP_LEADER :
	    st.role == NN_RAFT_FOLLOWER ? DFS_GROUP_FOLLOWER :
	    st.role == NN_RAFT_CANDIDATE ? DFS_GROUP_CANDIDATE :
	    DFS_GROUP_UNAVAILABLE);
	dfs_put_u64(b, st.term);
	dfs_put_u64(b, st.applied);
	dfs_put_u64(b, st.leader);
	dfs_put_str(b, st.leader_addr);
	return 0;
}

/* The address namenode.peers gives member id, or NULL when it names no
 * such member other than this one. */
static const char *
group_member_addr(const struct nn_group *g, uint64_t id)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->ids[i] == id && id != g->id)
			return g->addrs[i];
	return NULL;
}

/* The member a GROUP_JOIN or GROUP_DB names, or -errno answered. */
static int
group_joiner(struct nn_req *req, uint64_t id, const char **addr)
{
	struct nn_group	*g = req->nn->group;

	if (g == NULL)
		return nn_server_fail(req, -ENOSYS, "this namenode is not a "
		    "member of a group (namenode.peers)");
	if ((*addr = group_member_addr(g, id)) == NULL)
		return nn_server_fail(req, -EINVAL, "member %" PRIu64 " is "
		    "not another member of this group (namenode.peers)", id);
	return 0;
}

/*
 * GROUP_JOIN, on the leader: step 0, member id leaves the log's
 * configuration (its old seat: what it voted and logged is gone with its
 * disk); step 1, it comes back at its namenode.peers address, a voter
 * once libraft has caught it up.  Waits for the log, outside the lock.
 */
int
nn_group_op_join(struct nn_req *req)
{
	const char	*addr;
	uint64_t	 id;
	uint8_t		 step;
	int		 rc;

	id = dfs_get_u64(&req->in);
	step = dfs_get_u8(&req->in);
	if (nn_server_decoded(req) != 0)
		return -EBADMSG;
	if (step > 1)
		return nn_server_fail(req, -EINVAL, "bad GROUP_JOIN step %u",
		    step);
	if ((rc = group_joiner(req, id, &addr)) != 0)
		return rc;
	log_info("group: member %" PRIu64 " at %s %s (asked by %s)", id,
	    addr, step == 0 ? "leaves the log's configuration to join again" :
	    "joins again: a voter once caught up", req->peer->addr);
	/* Another change under way: after it, for a minute at most. */
	for (int tries = 0; (rc = nn_raft_rejoin(req->nn->group->raft, id,
	    addr, step == 1)) == -EBUSY && tries < 600; tries++)
		usleep(100 * 1000);
	if (rc == -EBUSY)
		return nn_server_fail(req, rc, "another change of the group's "
		    "members has been under way for a minute; try again");
	if (rc == -EREMOTE) {
		char *to = nn_group_redirect(req->nn);
		rc = nn_server_fail(req, rc, "%s", to);
		free(to);
		return rc;
	}
	if (rc != 0)
		return nn_server_fail(req, rc, "the log did not take member %"
		    PRIu64 "'s %s: %s", id, step == 0 ? "removal" : "return",
		    strerror(-rc));
	log_info("group: member %" PRIu64 " %s", id, step == 0 ? "left the "
	    "configuration" : "is a voter again");
	nn_server_reply(req, DFS_MSG_OK);
	return 0;
}

/*
 * GROUP_DB, on the leader: its namespace database for a joining member,
 * a piece at a time.  Offset 0 takes a copy as of now (every applied
 * entry in it, meta.raft_serial naming the last), which the next pieces
 * come from; the entries after it reach the member through the log, and
 * those it holds already are skipped by their serials.
 */
int
nn_group_op_db(struct nn_req *req)
{
	struct nn		*nn = req->nn;
	struct nn_group		*g = nn->group;
	struct dfs_wbuf		*b;
	const char		*addr;
	sqlite3_int64		 n = 0;
	uint64_t		 id, off, len;
	int			 rc;

	id = dfs_get_u64(&req->in);
	off = dfs_get_u64(&req->in);
	if (nn_server_decoded(req) != 0)
		return -EBADMSG;
	if ((rc = group_joiner(req, id, &addr)) != 0)
		return rc;
	pthread_mutex_lock(&g->dblock);
	if (off == 0) {
		sqlite3_free(g->db);
		pthread_mutex_lock(&nn->lock);
		nn_db_reset_all(nn);
		g->db = sqlite3_serialize(nn->db, "main", &n, 0);
		pthread_mutex_unlock(&nn->lock);
		g->dblen = g->db != NULL && n > 0 ? (uint64_t)n : 0;
		g->dbfor = id;
		if (g->db != NULL)
			log_info("group: a copy of the namespace (%" PRIu64
			    " bytes) for member %" PRIu64, g->dblen, id);
	}
	if (g->db == NULL || g->dbfor != id || off > g->dblen) {
		pthread_mutex_unlock(&g->dblock);
		return nn_server_fail(req, g->db == NULL && off == 0 ? -EIO :
		    -EINVAL, g->db == NULL && off == 0 ? "cannot copy the "
		    "namespace" : "no copy of the namespace for member %"
		    PRIu64 " reaches offset %" PRIu64 ": start at 0", id, off);
	}
	len = g->dblen - off < DFS_GROUP_DB_PIECE ? g->dblen - off :
	    DFS_GROUP_DB_PIECE;
	b = nn_server_reply(req, DFS_NN_GROUP_DB_REPLY);
	dfs_put_u64(b, g->dblen);
	dfs_put_u64(b, off);
	dfs_put_raw(b, g->db + off, (size_t)len);
	if (off + len == g->dblen) {	/* all sent: the copy goes */
		sqlite3_free(g->db);
		g->db = NULL;
		g->dblen = 0;
	}
	pthread_mutex_unlock(&g->dblock);
	return 0;
}

/* A connection's RAFT_HELLO: handed to the log for good.  -ENOSYS
 * without a group. */
int
nn_group_hello(struct nn *nn, struct dfs_sock *s, uint64_t req_id,
    const void *pl, size_t len)
{
	if (nn->group == NULL) {
		dfs_net_send_error(s, req_id, -ENOSYS, "this namenode is not a "
		    "member of a group (namenode.peers)");
		return -ENOSYS;
	}
	return nn_raft_hello(nn->group->raft, s, req_id, pl, len);
}

/* ----- transactions (nn-db.c's hooks) ------------------------------------ */

/* Whether this member leads, its barrier done (never waits). */
static bool
group_ready(struct nn_group *g)
{
	struct nn_raft_status	st;

	if (g->broken || g->raft == NULL)
		return false;
	nn_raft_status(g->raft, &st);
	return st.role == NN_RAFT_LEADER && __atomic_load_n(&g->ready_term,
	    __ATOMIC_ACQUIRE) == st.term;
}

/*
 * After BEGIN, with nn->lock held: take the write lock (letting nn->lock
 * go meanwhile when another writer has it) and record the transaction.
 * Nothing for one namenode, or for the log's own applying.
 */
int
nn_group_begin(struct nn *nn)
{
	struct nn_group	*g = nn->group;
	char		*cause = NULL;
	int		 rc;

	if (g == NULL || g->applying)
		return 0;
	if (pthread_mutex_trylock(&g->wlock) != 0) {
		pthread_mutex_unlock(&nn->lock);
		pthread_mutex_lock(&g->wlock);
		pthread_mutex_lock(&nn->lock);
	}
	/* Only a leader whose barrier is done writes: a background task of
	 * a member that has just won an election would otherwise decide on
	 * a namespace still missing the last term's entries, and its entry
	 * would not fit anywhere. */
	if (!group_ready(g)) {
		pthread_mutex_unlock(&g->wlock);
		return -EREMOTE;
	}
	if ((rc = nn_repl_capture(nn, &g->cap, &cause)) != 0) {
		log_err("group: %s", cause);
		free(cause);
		pthread_mutex_unlock(&g->wlock);
		return rc;
	}
	return 0;
}

/* Whether the transaction being begun is recorded (nn_db_begin calls
 * nn_group_begin before its BEGIN). */
bool
nn_group_in_txn(struct nn *nn)
{
	return nn->group != NULL && nn->group->cap != NULL;
}

/* The next client transaction is rolled back rather than kept (see
 * above); cleared at its end. */
void
nn_group_discard(struct nn *nn)
{
	if (nn->group != NULL)
		nn->group->discard = true;
}

/*
 * End the recorded transaction (nn->lock held, the transaction open):
 * rc != 0 rolls back; no change to "main" commits as one namenode would;
 * otherwise the changeset becomes an entry, proposed with nn->lock let
 * go, and rc is what the log says: 0 once applied here, -EREMOTE when
 * this member is not (or no longer) the leader.
 */
int
nn_group_end(struct nn *nn, int rc,
    int (*finish)(struct nn *, int))
{
	struct nn_group	*g = nn->group;
	struct nn_repl	*cap = g->cap;
	bool		 discard = g->discard;
	void		*cs = NULL;
	uint8_t		*entry;
	size_t		 len = 0;
	int64_t		 last = 0;
	char		*cause = NULL;

	g->cap = NULL;
	g->discard = false;
	if (rc == 0 && (rc = nn_repl_changeset(cap, &cs, &len,
	    &cause)) != 0) {
		log_err("group: %s", cause);
		free(cause);
	}
	nn_repl_free(cap);
	if (rc != 0 || len == 0) {
		rc = finish(nn, rc);
		pthread_mutex_unlock(&g->wlock);
		free(cs);
		return rc;
	}
	if ((rc = nn_db_i64(nn, &last, "SELECT value FROM meta WHERE key = "
	    "'raft_serial'", "")) == 0 && !discard)
		rc = nn_repl_undo(nn, cs, len);
	rc = finish(nn, discard && rc == 0 ? -ECANCELED : rc);
	if (rc == -ECANCELED)
		rc = 0;
	if (rc != 0) {
		pthread_mutex_unlock(&g->wlock);
		free(cs);
		return rc;
	}
	entry = xmalloc(GROUP_ENTRY_HDR + len);
	dfs_le64enc(entry, (uint64_t)last + 1);
	memcpy(entry + GROUP_ENTRY_HDR, cs, len);
	free(cs);
	pthread_mutex_unlock(&nn->lock);
	rc = nn_raft_propose(g->raft, entry, GROUP_ENTRY_HDR + len);
	pthread_mutex_lock(&nn->lock);
	pthread_mutex_unlock(&g->wlock);
	free(entry);
	if (rc == 0 && g->broken)
		rc = -EIO;
	return rc;
}
