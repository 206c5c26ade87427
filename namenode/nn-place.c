/*
 * nn-place.c: where replicas go: targets for a new block, and the
 * replication monitor that copies under-replicated blocks, trims surplus
 * replicas and clears out corrupt ones.  Also the safe mode check.
 *
 * Why it is built this way.  Placement ranks live nodes by their load,
 * bytes used as last heartbeated plus the bytes of blocks on their way to
 * them (live.pending), so a burst of writes spreads before the next
 * heartbeat has a chance to say so; ties are broken at random.  Nodes on
 * distinct hosts are taken first, so replicas survive the loss of a host
 * where the cluster has more than one.  The monitor scans the block table
 * in slices of NN_REPL_SLICE ids per pass, so one pass holds the namenode
 * lock for a bounded time however large the namespace; a whole scan takes
 * (blocks / slice) passes.  Copies in flight are remembered in
 * live.pending (kind 2) until the target reports RECEIVED or the token
 * lifetime passes, so a block is not copied twice at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "nn_i.h"
#include "xmalloc.h"

#define NN_REPL_SLICE		10000	/* blocks looked at per pass */
#define NN_REPL_MAX_WORK	256	/* commands queued per pass */
#define NN_AVOID_MAX		64

struct nn_cand {
	dfs_node_id	id;
	char		addr[256];
	char		host[256];
	bool		taken;
};

/*
 * Choose up to want live nodes, not in avoid, least loaded first and on
 * distinct hosts while there are any.  Returns how many were put in out
 * (0 when none is live), or a negative errno.
 */
int
nn_place_choose(struct nn *nn, unsigned want, uint64_t bytes,
    const dfs_node_id *avoid, unsigned navoid, struct nn_target *out)
{
	static const char sql[] =
	    "SELECT n.id, d.addr FROM live.nodes n "
	    "JOIN datanodes d ON d.id = n.id WHERE n.state = 1 "
	    "ORDER BY n.used + coalesce((SELECT sum(p.bytes) FROM "
	    "live.pending p WHERE p.node = n.id), 0), random() LIMIT 4096";
	struct nn_cand	*c = NULL;
	sqlite3_stmt	*st;
	size_t		 n = 0, cap = 0;
	unsigned	 got = 0;
	uint16_t	 port;
	int		 rc;

	(void)bytes;	/* capacity is not checked: see the report */
	if (want > DFS_MAX_REPLICATION)
		want = DFS_MAX_REPLICATION;
	st = nn_db_sql(nn, sql, "");
	while ((rc = nn_db_step(nn, st)) == 1) {
		dfs_node_id id = (dfs_node_id)sqlite3_column_int64(st, 0);
		const char *addr = (const char *)sqlite3_column_text(st, 1);
		bool skip = addr == NULL || strlen(addr) >= sizeof c->addr;
		for (unsigned i = 0; i < navoid && !skip; i++)
			skip = avoid[i] == id;
		if (skip)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			c = xrealloc(c, cap * sizeof *c);
		}
		c[n].id = id;
		c[n].taken = false;
		strcpy(c[n].addr, addr);
		if (dfs_hostport_split(addr, c[n].host, sizeof c[n].host, &port,
		    NULL) != 0)
			strcpy(c[n].host, addr);
		n++;
	}
	if (rc != 0) {
		free(c);
		return rc;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n && got < want; i++) {
			bool same = false;
			if (c[i].taken)
				continue;
			/* First pass: one node per host. */
			for (size_t j = 0; pass == 0 && j < n && !same; j++)
				same = c[j].taken &&
				    strcmp(c[i].host, c[j].host) == 0;
			if (same)
				continue;
			c[i].taken = true;
			out[got].node = c[i].id;
			memcpy(out[got].addr, c[i].addr, sizeof out[got].addr);
			got++;
		}
	}
	free(c);
	return (int)got;
}

/* The nodes that hold (or are being sent) a block: never a copy target. */
static unsigned
nn_place_holders(struct nn *nn, dfs_block_id block, dfs_node_id *out)
{
	static const char sql[] =
	    "SELECT node FROM live.replicas WHERE block = ?1 "
	    "UNION SELECT node FROM live.pending WHERE block = ?1";
	sqlite3_stmt	*st = nn_db_sql(nn, sql, "i", (int64_t)block);
	unsigned	 n = 0;

	while (n < NN_AVOID_MAX && nn_db_step(nn, st) == 1)
		out[n++] = (dfs_node_id)sqlite3_column_int64(st, 0);
	nn_db_reset(st);
	return n;
}

struct nn_work {
	dfs_block_id	id;
	uint64_t	gen;
	uint64_t	offset;
	uint64_t	len;
	int		repl;
	int		good;
	int		pend;
	int		bad;
};

/* Queue copies of an under-replicated block from its least busy good
 * holder.  Returns the number of commands queued. */
static int
nn_place_copy(struct nn *nn, const struct nn_work *w)
{
	static const char sql_src[] =
	    "SELECT r.node FROM live.replicas r JOIN live.nodes n "
	    "ON n.id = r.node JOIN blocks b ON b.id = r.block "
	    "WHERE b.id = ?1 AND " NN_GOOD("b") " "
	    "ORDER BY n.xceivers, random() LIMIT 1";
	struct nn_target targets[DFS_MAX_REPLICATION];
	dfs_node_id	 avoid[NN_AVOID_MAX];
	struct dfs_wbuf	 body;
	int64_t		 src;
	unsigned	 navoid;
	int		 n, rc;

	if (nn_db_i64(nn, &src, sql_src, "i", (int64_t)w->id) != 0)
		return 0;
	navoid = nn_place_holders(nn, w->id, avoid);
	n = nn_place_choose(nn, (unsigned)(w->repl - w->good - w->pend),
	    w->len, avoid, navoid, targets);
	if (n <= 0)
		return 0;
	/* An lblock without its token: the heartbeat signs a fresh one. */
	dfs_wbuf_init(&body);
	dfs_put_u64(&body, w->id);
	dfs_put_u64(&body, w->gen);
	dfs_put_u64(&body, w->offset);
	dfs_put_u64(&body, w->len);
	dfs_put_u32(&body, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		dfs_put_u64(&body, targets[i].node);
		dfs_put_str(&body, targets[i].addr);
	}
	rc = nn_datanodes_queue(nn, (dfs_node_id)src, DFS_CMD_REPLICATE,
	    w->id, w->gen, body.data, body.len);
	dfs_wbuf_release(&body);
	for (int i = 0; rc == 0 && i < n; i++)
		rc = nn_db_exec(nn, "INSERT OR REPLACE INTO live.pending(block,"
		    " node, bytes, kind, since_ms) VALUES (?, ?, ?, 2, ?)",
		    "iiii", (int64_t)w->id, (int64_t)targets[i].node,
		    (int64_t)w->len, nn_now_ms());
	if (rc != 0)
		return rc;
	log_info("block %llu has %d of %d replicas: node %lld copies it to "
	    "%d more (first %s)", (unsigned long long)w->id, w->good, w->repl,
	    (long long)src, n, targets[0].addr);
	return 1;
}

/* Delete surplus good replicas, from the fullest nodes first. */
static int
nn_place_trim(struct nn *nn, const struct nn_work *w)
{
	static const char sql[] =
	    "SELECT r.node FROM live.replicas r JOIN live.nodes n "
	    "ON n.id = r.node JOIN blocks b ON b.id = r.block "
	    "WHERE b.id = ?1 AND " NN_GOOD("b") " "
	    "ORDER BY n.used DESC LIMIT ?2";
	sqlite3_stmt	*st;
	int64_t		 nodes[DFS_MAX_REPLICATION];
	int		 n = 0, rc;

	st = nn_db_sql(nn, sql, "ii", (int64_t)w->id,
	    (int64_t)(w->good - w->repl));
	while (n < DFS_MAX_REPLICATION && (rc = nn_db_step(nn, st)) == 1)
		nodes[n++] = sqlite3_column_int64(st, 0);
	nn_db_reset(st);
	for (int i = 0; i < n; i++) {
		if ((rc = nn_datanodes_queue(nn, (dfs_node_id)nodes[i],
		    DFS_CMD_DELETE, w->id, w->gen, NULL, 0)) != 0 ||
		    (rc = nn_db_exec(nn, "DELETE FROM live.replicas WHERE "
		    "block = ? AND node = ?", "ii", (int64_t)w->id,
		    nodes[i])) != 0)
			return rc;
		log_info("block %llu has %d of %d replicas: node %lld deletes "
		    "one", (unsigned long long)w->id, w->good, w->repl,
		    (long long)nodes[i]);
	}
	return n;
}

/* Corrupt replicas of a block that has a good one are deleted. */
static int
nn_place_purge(struct nn *nn, const struct nn_work *w)
{
	static const char sql[] =
	    "SELECT node, gen FROM live.replicas WHERE block = ? AND "
	    "corrupt = 1";
	sqlite3_stmt	*st;
	int64_t		 nodes[NN_AVOID_MAX], gens[NN_AVOID_MAX];
	int		 n = 0, rc;

	st = nn_db_sql(nn, sql, "i", (int64_t)w->id);
	while (n < NN_AVOID_MAX && nn_db_step(nn, st) == 1) {
		nodes[n] = sqlite3_column_int64(st, 0);
		gens[n++] = sqlite3_column_int64(st, 1);
	}
	nn_db_reset(st);
	for (int i = 0; i < n; i++) {
		if ((rc = nn_datanodes_queue(nn, (dfs_node_id)nodes[i],
		    DFS_CMD_DELETE, w->id, (uint64_t)gens[i], NULL, 0)) != 0 ||
		    (rc = nn_db_exec(nn, "UPDATE live.replicas SET corrupt = 2 "
		    "WHERE block = ? AND node = ?", "ii", (int64_t)w->id,
		    nodes[i])) != 0)
			return rc;
	}
	return n;
}

/*
 * One pass of the replication monitor over the next slice of blocks of
 * finished files.  Runs in its own transaction; errors are logged and the
 * pass is simply tried again later.
 */
void
nn_place_replicate(struct nn *nn)
{
	static const char sql[] =
	    "SELECT b.id, b.gen, b.offset, b.length, i.replication, "
	    "(SELECT count(*) FROM live.replicas r JOIN live.nodes n "
	    " ON n.id = r.node WHERE " NN_GOOD("b") "), "
	    "(SELECT count(*) FROM live.pending p WHERE p.block = b.id AND "
	    " p.kind = 2), "
	    "(SELECT count(*) FROM live.replicas r WHERE r.block = b.id AND "
	    " r.corrupt = 1) "
	    "FROM blocks b JOIN inodes i ON i.id = b.ino "
	    "WHERE b.id > ?1 AND b.complete = 1 AND i.under_construction = 0 "
	    "ORDER BY b.id LIMIT ?2";
	struct nn_work	*w = NULL;
	sqlite3_stmt	*st;
	size_t		 n = 0, cap = 0, rows = 0;
	int		 rc, work = 0;

	st = nn_db_sql(nn, sql, "ii", (int64_t)nn->repl_cursor,
	    (int64_t)NN_REPL_SLICE);
	while ((rc = nn_db_step(nn, st)) == 1) {
		struct nn_work x;
		rows++;
		x.id = (dfs_block_id)sqlite3_column_int64(st, 0);
		x.gen = (uint64_t)sqlite3_column_int64(st, 1);
		x.offset = (uint64_t)sqlite3_column_int64(st, 2);
		x.len = (uint64_t)sqlite3_column_int64(st, 3);
		x.repl = sqlite3_column_int(st, 4);
		x.good = sqlite3_column_int(st, 5);
		x.pend = sqlite3_column_int(st, 6);
		x.bad = sqlite3_column_int(st, 7);
		nn->repl_cursor = x.id;
		if (x.good == x.repl && x.bad == 0)
			continue;
		if (x.good == 0)	/* nothing to copy from */
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			w = xrealloc(w, cap * sizeof *w);
		}
		w[n++] = x;
	}
	if (rc == 0 && rows < NN_REPL_SLICE)
		nn->repl_cursor = 0;	/* the next pass starts over */
	if (rc != 0 || n == 0 || nn_db_begin(nn) != 0)
		goto out;
	for (size_t i = 0; rc >= 0 && i < n && work < NN_REPL_MAX_WORK; i++) {
		if (w[i].good + w[i].pend < w[i].repl)
			rc = nn_place_copy(nn, &w[i]);
		else if (w[i].good > w[i].repl && w[i].pend == 0)
			rc = nn_place_trim(nn, &w[i]);
		else
			rc = 0;
		if (rc > 0)
			work += rc;
		if (rc >= 0 && w[i].bad > 0) {
			rc = nn_place_purge(nn, &w[i]);
			if (rc > 0)
				work += rc;
		}
	}
	if (nn_db_end(nn, rc < 0 ? rc : 0) != 0)
		log_warn("replication monitor: pass failed; will retry");
out:
	free(w);
}

/* Leave safe mode once enough blocks have a reported replica, or when
 * namenode.safemode_timeout has passed since the start. */
void
nn_place_safemode(struct nn *nn)
{
	static const char sql_total[] =
	    "SELECT count(*) FROM blocks WHERE complete = 1";
	static const char sql_seen[] =
	    "SELECT count(*) FROM blocks b WHERE b.complete = 1 AND EXISTS "
	    "(SELECT 1 FROM live.replicas r JOIN live.nodes n ON "
	    "n.id = r.node WHERE " NN_GOOD("b") ")";
	int64_t	total, seen, waited;

	if (!nn->safemode)
		return;
	if (nn_db_i64(nn, &total, sql_total, "") != 0)
		return;
	seen = total;
	if (total > 0 && nn_db_i64(nn, &seen, sql_seen, "") != 0)
		return;
	waited = nn_now_ms() - nn->start_ms;
	if (total > 0 && (double)seen < nn->safemode_threshold * (double)total
	    && waited < nn->safemode_timeout_ms)
		return;
	nn->safemode = false;
	if (total == 0)
		log_info("leaving safe mode: no blocks to wait for");
	else
		log_info("leaving safe mode: %lld of %lld blocks reported "
		    "after %lld ms", (long long)seen, (long long)total,
		    (long long)waited);
}
