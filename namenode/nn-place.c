/*
 * nn-place.c: where replicas go: targets for a new block, and the
 * replication monitor that copies under-replicated blocks, trims surplus
 * replicas and clears out corrupt ones.  Also safe mode: when it ends,
 * and the gate that keeps the namespace read-only until then.
 *
 * Why it is built this way.  Placement ranks live nodes by their load,
 * the bytes of replicas they hold as last heartbeated (dfs_used) plus the
 * bytes of blocks on their way to them (live.pending), so a burst of
 * writes spreads before the next heartbeat has a chance to say so; ties
 * are broken at random.  It is not ranked by the file system's used
 * space: nodes sharing a disk (a local cluster, or several data
 * directories on one volume) would be ordered by whichever heartbeat
 * happened to see the disk fuller, and one node got none of 14 blocks
 * while other writers filled the disk.  The file system's figures say
 * whether a node has room: one whose free space, less what is
 * on its way to it, would not hold the block (with its checksums and some
 * slack, NN_BLOCK_ROOM) gets no new block, so a full disk is avoided
 * before a write can fail on it half-way (a stored block keeps its
 * reservation until the heartbeat that counts it, see nn-datanodes.c).
 * A node that refused a block for space all the same (its own test of
 * room is stricter than these figures can know) is skipped until its
 * next heartbeat shows room (nn_place_refused).
 * Nodes on distinct hosts are taken first, so replicas survive the loss
 * of a host where the cluster has more than one.
 *
 * The monitor runs once a heartbeat, outside safe mode, in two steps, each
 * bounded so that one pass holds the namenode lock for a short time
 * however large the namespace:
 *
 *   scan      the next slice of NN_REPL_SLICE blocks (a whole scan takes
 *             blocks / slice passes): surplus replicas are trimmed, corrupt
 *             ones deleted once another replica has been verified good by
 *             its holder (nn-corrupt.c), and blocks short of
 *             replicas enter live.needed with a priority.  A dead node's
 *             blocks and a block reported bad enter it at once.
 *   schedule  the most urgent entries of live.needed, as HDFS orders its
 *             low-redundancy queues: a block down to one replica first,
 *             then one below a third of its replicas, then the rest,
 *             oldest first within each.  A copy goes from the least busy
 *             good holder to nodes that do not hold the block, and only
 *             while the source sends and each target receives fewer than
 *             NN_REPL_STREAMS copies (NN_REPL_STREAMS_URGENT for a block
 *             with one replica left), so that repair never starves
 *             clients of a node's disk and network.
 *
 * Copies in flight are live.pending rows (kind 2, with their source) until
 * the target reports RECEIVED, its node dies or a timeout passes (see
 * nn-datanodes.c), so a block is not copied twice at once.
 *
 * A corrupt replica is replaced even where no other node is free, as on a
 * cluster with exactly as many nodes as the replication factor (HDFS-17798
 * shows the block staying under-replicated for ever otherwise): its DELETE
 * is queued as soon as another replica has been verified good since the
 * corruption was found (nn_corrupt_purge), the node confirms it by its
 * next heartbeat, and only then does the replica leave the map, which
 * makes that node a candidate for a fresh copy like any other.  The data
 * node therefore never sees a copy of a block it still holds, and a
 * replica marked corrupt is never counted or handed out meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "nn_i.h"
#include "xmalloc.h"

#define NN_REPL_SLICE		10000	/* blocks scanned per pass */
#define NN_REPL_LOOK		2048	/* queued blocks looked at per pass */
#define NN_REPL_MAX_WORK	256	/* commands queued per pass */
#define NN_REPL_STREAMS		4	/* copies from or to one node */
#define NN_REPL_STREAMS_URGENT	8	/* ... for a block's last replica */
#define NN_AVOID_MAX		64

/* Priorities in live.needed, most urgent first. */
enum nn_prio {
	NN_PRIO_LAST = 0,	/* one good replica left */
	NN_PRIO_LOW = 1,	/* fewer than a third of its replicas */
	NN_PRIO_UNDER = 2,	/* short of replicas */
};

/* The priority of a block with good of repl replicas. */
static int
nn_place_prio(int good, int repl)
{
	if (good <= 1)
		return NN_PRIO_LAST;
	return good * 3 < repl ? NN_PRIO_LOW : NN_PRIO_UNDER;
}

/* The same, as SQL over the expressions g and r. */
#define NN_PRIO_SQL(g, r)						\
	"CASE WHEN " g " <= 1 THEN 0 WHEN " g " * 3 < " r " THEN 1 "	\
	"ELSE 2 END"

struct nn_cand {
	dfs_node_id	id;
	char		addr[256];
	char		host[256];
	bool		taken;
};

/*
 * Choose up to want live nodes, not in avoid, with room for bytes more,
 * least loaded first and on distinct hosts while there are any; with
 * max_in >= 0, only nodes receiving fewer than max_in copies.  Returns how
 * many were put in out (0 when none fits), or a negative errno.
 */
static int
nn_place_pick(struct nn *nn, unsigned want, uint64_t bytes,
    const dfs_node_id *avoid, unsigned navoid, int max_in,
    struct nn_target *out)
{
	static const char sql[] =
	    "SELECT n.id, d.addr, n.capacity, n.used, "
	    "coalesce((SELECT sum(p.bytes + p.bytes / 64 + 4096) FROM "
	    " live.pending p WHERE p.node = n.id), 0) AS coming, "
	    "(SELECT count(*) FROM live.pending p WHERE p.node = n.id AND "
	    " p.kind = 2), n.isfull "
	    "FROM live.nodes n JOIN datanodes d ON d.id = n.id "
	    "WHERE n.state = 1 ORDER BY n.dfs_used + coming, random() LIMIT 4096";
	struct nn_cand	*c = NULL;
	sqlite3_stmt	*st;
	size_t		 n = 0, cap = 0;
	unsigned	 got = 0;
	uint16_t	 port;
	int		 rc;

	if (want > DFS_MAX_REPLICATION)
		want = DFS_MAX_REPLICATION;
	st = nn_db_sql(nn, sql, "");
	while ((rc = nn_db_step(nn, st)) == 1) {
		dfs_node_id id = (dfs_node_id)sqlite3_column_int64(st, 0);
		const char *addr = (const char *)sqlite3_column_text(st, 1);
		int64_t capacity = sqlite3_column_int64(st, 2);
		int64_t used = sqlite3_column_int64(st, 3);
		int64_t coming = sqlite3_column_int64(st, 4);
		bool skip = addr == NULL || strlen(addr) >= sizeof c->addr;

		for (unsigned i = 0; i < navoid && !skip; i++)
			skip = avoid[i] == id;
		/* It said no for space since its last heartbeat: whatever
		 * our figures say, it would say no again. */
		if (!skip && sqlite3_column_int(st, 6) == NN_FULL_REFUSED) {
			log_debug("node %llu refused a block for space; "
			    "skipped until its heartbeat shows room",
			    (unsigned long long)id);
			skip = true;
		}
		/* A node that has not said its size yet is given a chance. */
		if (!skip && capacity > 0 && (capacity - used - coming < 0 ||
		    (uint64_t)(capacity - used - coming) <
		    NN_BLOCK_ROOM(bytes) + NN_ROOM_SLACK)) {
			log_debug("node %llu has no room for %llu bytes "
			    "(%lld of %lld used, %lld on the way)",
			    (unsigned long long)id, (unsigned long long)bytes,
			    (long long)used, (long long)capacity,
			    (long long)coming);
			skip = true;
		}
		if (!skip && max_in >= 0 && sqlite3_column_int(st, 5) >= max_in)
			skip = true;
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

/*
 * Targets for a new block: up to want live nodes, not in avoid, with room
 * for bytes, least loaded first and on distinct hosts while there are
 * any.  Returns how many were put in out (0 when none fits), or a negative
 * errno.
 */
int
nn_place_choose(struct nn *nn, unsigned want, uint64_t bytes,
    const dfs_node_id *avoid, unsigned navoid, struct nn_target *out)
{
	return nn_place_pick(nn, want, bytes, avoid, navoid, -1, out);
}

/*
 * Node refused a block for lack of space (who says so: the writer whose
 * pipeline it refused): placement skips it until its next heartbeat
 * shows room, when nn_datanodes_confirm clears the mark.  Without this,
 * a node whose own test of room is stricter than our figures (a block
 * smaller than the cluster's, space taken outside its data directory,
 * writes under way) is chosen, and refuses, block after block.
 */
int
nn_place_refused(struct nn *nn, dfs_node_id node, const char *who)
{
	int64_t	was;
	int	rc;

	if ((rc = nn_db_i64(nn, &was, "SELECT isfull FROM live.nodes WHERE "
	    "id = ? AND state = 1", "i", (int64_t)node)) != 0)
		return rc == -ENOENT ? 0 : rc;	/* dead meanwhile */
	if (was == NN_FULL_REFUSED)
		return 0;
	if ((rc = nn_db_exec(nn, "UPDATE live.nodes SET isfull = ? WHERE "
	    "id = ?", "ii", (int64_t)NN_FULL_REFUSED, (int64_t)node)) != 0)
		return rc;
	log_warn("data node %llu refused a block for lack of space (says %s); "
	    "no new blocks go to it until its heartbeat shows room",
	    (unsigned long long)node, who);
	return 0;
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

/* Queue the blocks of node (just declared dead) that are now short of
 * replicas, so that their copies need not wait for the scan to come by. */
void
nn_place_need_node(struct nn *nn, dfs_node_id node)
{
	static const char sql[] =
	    "INSERT OR IGNORE INTO live.needed(block, prio, since_ms) "
	    "SELECT x.id, " NN_PRIO_SQL("x.good", "x.repl") ", ?2 FROM "
	    "(SELECT b.id AS id, i.replication AS repl, "
	    " (SELECT count(*) FROM live.replicas r JOIN live.nodes n "
	    "  ON n.id = r.node WHERE " NN_GOOD("b") ") AS good "
	    " FROM live.replicas q JOIN blocks b ON b.id = q.block "
	    " JOIN inodes i ON i.id = b.ino WHERE q.node = ?1 AND "
	    " b.complete = 1 AND i.under_construction = 0) x "
	    "WHERE x.good < x.repl";

	if (nn_db_exec(nn, sql, "ii", (int64_t)node, dfs_now_ms()) == 0 &&
	    nn_db_changes(nn) > 0)
		log_info("%d block%s of node %llu queued for re-replication",
		    nn_db_changes(nn), nn_db_changes(nn) == 1 ? "" : "s",
		    (unsigned long long)node);
}

/* Queue one block short of replicas (good of repl) for a copy. */
void
nn_place_need(struct nn *nn, dfs_block_id block, int good, int repl)
{
	static const char sql[] =
	    "INSERT INTO live.needed(block, prio, since_ms) VALUES (?1, "
	    NN_PRIO_SQL("?2", "?3") ", ?4) ON CONFLICT(block) DO UPDATE SET "
	    "prio = excluded.prio";

	if (good < repl)
		nn_db_exec(nn, sql, "iiii", (int64_t)block, (int64_t)good,
		    (int64_t)repl, dfs_now_ms());
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
	int		prio;
	bool		reprio;		/* prio changed since it was queued */
};

/*
 * Whether a copy of w may be scheduled now as far as commands go: not
 * while a REPLICATE of it waits to be handed out with its copies still
 * expected; one whose copies were given up (they are no longer pending)
 * is withdrawn.
 */
static bool
nn_place_undelivered(struct nn *nn, const struct nn_work *w)
{
	int64_t	queued;

	if (nn_db_i64(nn, &queued, "SELECT count(*) FROM live.commands WHERE "
	    "block = ? AND kind = 2", "i", (int64_t)w->id) != 0 || queued == 0)
		return false;
	if (w->pend > 0)
		return true;
	nn_db_exec(nn, "DELETE FROM live.commands WHERE block = ? AND kind = 2",
	    "i", (int64_t)w->id);
	return false;
}

/*
 * Queue copies of an under-replicated block from its least busy good
 * holder to nodes that do not hold it, within the per-node limits.
 * Returns 1 when a copy was queued, 0 when none can be now, or an error.
 */
static int
nn_place_copy(struct nn *nn, const struct nn_work *w)
{
	static const char sql_src[] =
	    "SELECT r.node, (SELECT count(DISTINCT p.block) FROM "
	    " live.pending p WHERE p.src = r.node AND p.kind = 2) AS busy "
	    "FROM live.replicas r JOIN live.nodes n "
	    "ON n.id = r.node JOIN blocks b ON b.id = r.block "
	    "WHERE b.id = ?1 AND " NN_GOOD("b") " AND busy < ?2 "
	    "ORDER BY busy, n.xceivers, random() LIMIT 1";
	struct nn_target targets[DFS_MAX_REPLICATION];
	dfs_node_id	 avoid[NN_AVOID_MAX];
	struct dfs_wbuf	 body;
	int64_t		 src;
	unsigned	 navoid;
	int		 n, rc, limit;

	limit = w->prio == NN_PRIO_LAST ? NN_REPL_STREAMS_URGENT :
	    NN_REPL_STREAMS;
	if (nn_place_undelivered(nn, w))
		return 0;
	if ((rc = nn_db_i64(nn, &src, sql_src, "ii", (int64_t)w->id,
	    (int64_t)limit)) != 0)
		return rc == -ENOENT ? 0 : rc;	/* every holder is busy */
	navoid = nn_place_holders(nn, w->id, avoid);
	n = nn_place_pick(nn, (unsigned)(w->repl - w->good - w->pend),
	    w->len, avoid, navoid, limit, targets);
	if (n <= 0) {
		/* To the back of its class, so blocks that cannot be placed
		 * do not keep those behind them from being looked at. */
		log_debug("block %llu has %d of %d replicas: no node to copy "
		    "it to now", (unsigned long long)w->id, w->good, w->repl);
		if (n == 0)
			n = nn_db_exec(nn, "UPDATE live.needed SET since_ms = ? "
			    "WHERE block = ?", "ii", dfs_now_ms(),
			    (int64_t)w->id);
		return n;
	}
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
		    " node, bytes, kind, since_ms, src) VALUES (?, ?, ?, 2, ?, "
		    "?)", "iiiii", (int64_t)w->id, (int64_t)targets[i].node,
		    (int64_t)w->len, dfs_now_ms(), src);
	if (rc != 0)
		return rc;
	log_info("block %llu has %d of %d replicas: node %lld copies it to "
	    "%d more (first %s)", (unsigned long long)w->id, w->good, w->repl,
	    (long long)src, n, targets[0].addr);
	return 1;
}

/* Delete surplus good replicas, from the nodes holding most first. */
static int
nn_place_trim(struct nn *nn, const struct nn_work *w)
{
	static const char sql[] =
	    "SELECT r.node FROM live.replicas r JOIN live.nodes n "
	    "ON n.id = r.node JOIN blocks b ON b.id = r.block "
	    "WHERE b.id = ?1 AND " NN_GOOD("b") " "
	    "ORDER BY n.dfs_used DESC, random() LIMIT ?2";
	sqlite3_stmt	*st;
	int64_t		 nodes[DFS_MAX_REPLICATION];
	int		 n = 0, rc;

	/* Not while DELETEs are held back: the trimmed replica would leave
	 * the map long before it leaves its node. */
	if (!nn_datanodes_may_delete(nn))
		return 0;
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

/* Append x to the array *w of *n (capacity *cap). */
static void
nn_place_push(struct nn_work **w, size_t *n, size_t *cap,
    const struct nn_work *x)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 64 : *cap * 2;
		*w = xrealloc(*w, *cap * sizeof **w);
	}
	(*w)[(*n)++] = *x;
}

/*
 * The scan step over the next slice of blocks of finished files: trim,
 * purge, and queue blocks short of replicas.  Returns the commands queued
 * or a negative errno.
 */
static int
nn_place_scan(struct nn *nn)
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
	struct nn_work	*w = NULL, x;
	sqlite3_stmt	*st;
	size_t		 n = 0, cap = 0, rows = 0;
	int		 rc, work = 0;

	st = nn_db_sql(nn, sql, "ii", (int64_t)nn->repl_cursor,
	    (int64_t)NN_REPL_SLICE);
	while ((rc = nn_db_step(nn, st)) == 1) {
		rows++;
		memset(&x, 0, sizeof x);
		x.id = (dfs_block_id)sqlite3_column_int64(st, 0);
		x.gen = (uint64_t)sqlite3_column_int64(st, 1);
		x.offset = (uint64_t)sqlite3_column_int64(st, 2);
		x.len = (uint64_t)sqlite3_column_int64(st, 3);
		x.repl = sqlite3_column_int(st, 4);
		x.good = sqlite3_column_int(st, 5);
		x.pend = sqlite3_column_int(st, 6);
		x.bad = sqlite3_column_int(st, 7);
		nn->repl_cursor = x.id;
		if (x.good == 0)	/* nothing to copy from */
			continue;
		if (x.good == x.repl && x.bad == 0)
			continue;
		nn_place_push(&w, &n, &cap, &x);
	}
	if (rc == 0 && rows < NN_REPL_SLICE) {
		/* The next pass starts over; forget blocks now gone. */
		nn->repl_cursor = 0;
		rc = nn_db_exec(nn, "DELETE FROM live.needed WHERE block NOT "
		    "IN (SELECT id FROM blocks)", "");
	}
	for (size_t i = 0; rc >= 0 && i < n && work < NN_REPL_MAX_WORK; i++) {
		if (w[i].bad > 0 && (rc = nn_corrupt_purge(nn, w[i].id,
		    w[i].gen)) > 0)
			work += rc;
		if (rc >= 0 && w[i].good < w[i].repl)
			nn_place_need(nn, w[i].id, w[i].good, w[i].repl);
		else if (rc >= 0 && w[i].good > w[i].repl && w[i].pend == 0 &&
		    (rc = nn_place_trim(nn, &w[i])) > 0)
			work += rc;
	}
	free(w);
	return rc < 0 ? rc : work;
}

/*
 * The schedule step: copies for the most urgent queued blocks, within the
 * per-node limits; a block that needs none any more leaves the queue.
 */
static int
nn_place_schedule(struct nn *nn, int work)
{
	static const char sql[] =
	    "SELECT b.id, b.gen, b.offset, b.length, i.replication, "
	    "(SELECT count(*) FROM live.replicas r JOIN live.nodes n "
	    " ON n.id = r.node WHERE " NN_GOOD("b") "), "
	    "(SELECT count(*) FROM live.pending p WHERE p.block = b.id AND "
	    " p.kind = 2), q.prio, b.complete AND NOT i.under_construction "
	    "FROM live.needed q JOIN blocks b ON b.id = q.block "
	    "JOIN inodes i ON i.id = b.ino ORDER BY q.prio, q.since_ms "
	    "LIMIT ?1";
	struct nn_work	*w = NULL, x;
	sqlite3_stmt	*st;
	size_t		 n = 0, cap = 0;
	int		 rc, copies = 0, urgent = 0, waiting = 0;

	st = nn_db_sql(nn, sql, "i", (int64_t)NN_REPL_LOOK);
	while ((rc = nn_db_step(nn, st)) == 1) {
		memset(&x, 0, sizeof x);
		x.id = (dfs_block_id)sqlite3_column_int64(st, 0);
		x.gen = (uint64_t)sqlite3_column_int64(st, 1);
		x.offset = (uint64_t)sqlite3_column_int64(st, 2);
		x.len = (uint64_t)sqlite3_column_int64(st, 3);
		x.repl = sqlite3_column_int(st, 4);
		x.good = sqlite3_column_int(st, 5);
		x.pend = sqlite3_column_int(st, 6);
		x.prio = nn_place_prio(x.good, x.repl);
		x.reprio = x.prio != sqlite3_column_int(st, 7);
		/* Done, hopeless (no replica left), or no longer finished. */
		if (x.good >= x.repl || x.good == 0 ||
		    sqlite3_column_int(st, 8) == 0)
			x.prio = -1;
		nn_place_push(&w, &n, &cap, &x);
	}
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		if (w[i].prio < 0) {
			rc = nn_db_exec(nn, "DELETE FROM live.needed WHERE "
			    "block = ?", "i", (int64_t)w[i].id);
			continue;
		}
		if (w[i].reprio && (rc = nn_db_exec(nn, "UPDATE live.needed SET "
		    "prio = ? WHERE block = ?", "ii", (int64_t)w[i].prio,
		    (int64_t)w[i].id)) != 0)
			break;
		if (w[i].good + w[i].pend >= w[i].repl)
			continue;	/* in flight */
		if (work >= NN_REPL_MAX_WORK || (rc = nn_place_copy(nn,
		    &w[i])) == 0) {
			waiting++;
			continue;
		}
		if (rc > 0) {
			work += rc;
			copies++;
			urgent += w[i].prio == NN_PRIO_LAST;
		}
	}
	if (copies > 0)
		log_info("replication: %d cop%s scheduled (%d of blocks down "
		    "to one replica), %d block%s waiting", copies, copies == 1 ?
		    "y" : "ies", urgent, waiting, waiting == 1 ? "" : "s");
	free(w);
	return rc < 0 ? rc : work;
}

/*
 * One pass of the replication monitor: the scan step, then the schedule
 * step (see the top of the file).  Runs in its own transaction; errors are
 * logged and the pass is simply tried again later.
 */
void
nn_place_replicate(struct nn *nn)
{
	int	rc;

	if (nn_db_begin(nn) != 0)
		return;
	nn_corrupt_tick(nn);
	/* Before the scan: a balancer move's surplus replica is the
	 * balancer's to delete (nn-balance.c). */
	if ((rc = nn_balance_tick(nn)) >= 0 && (rc = nn_place_scan(nn)) >= 0)
		rc = nn_place_schedule(nn, rc);
	if (nn_db_end(nn, rc < 0 ? rc : 0) != 0)
		log_warn("replication monitor: pass failed; will retry");
}

/* How many finished blocks there are (*total) and how many of them have a
 * good replica reported (*seen). */
static int
nn_place_safemode_counts(struct nn *nn, int64_t *seen, int64_t *total)
{
	static const char sql_total[] =
	    "SELECT count(*) FROM blocks WHERE complete = 1";
	static const char sql_seen[] =
	    "SELECT count(*) FROM blocks b WHERE b.complete = 1 AND EXISTS "
	    "(SELECT 1 FROM live.replicas r JOIN live.nodes n ON "
	    "n.id = r.node WHERE " NN_GOOD("b") ")";
	int	rc;

	if ((rc = nn_db_i64(nn, total, sql_total, "")) != 0)
		return rc;
	*seen = *total;
	if (*total > 0)
		rc = nn_db_i64(nn, seen, sql_seen, "");
	return rc;
}

/* Leave safe mode once enough blocks have a reported replica, or when
 * namenode.safemode_timeout has passed since the start. */
void
nn_place_safemode(struct nn *nn)
{
	int64_t	total, seen, waited;

	if (!nn->safemode)
		return;
	if (nn_place_safemode_counts(nn, &seen, &total) != 0)
		return;
	waited = dfs_now_ms() - nn->start_ms;
	if (total > 0 && (double)seen < nn->safemode_threshold * (double)total
	    && waited < nn->safemode_timeout_ms)
		return;
	/* A group's new leader with no block to wait for still waits for a
	 * data node the namespace knows to find it: a write let through
	 * before would fail for want of a node rather than wait. */
	if (nn->group != NULL && waited < nn->safemode_timeout_ms) {
		int64_t known = 0, live = 0;
		if (nn_db_i64(nn, &known, "SELECT count(*) FROM datanodes",
		    "") != 0 || nn_db_i64(nn, &live, "SELECT count(*) FROM "
		    "live.nodes WHERE state = 1", "") != 0 ||
		    (known > 0 && live == 0))
			return;
	}
	nn->safemode = false;
	if (total == 0)
		log_info("leaving safe mode: no blocks to wait for");
	else
		log_info("leaving safe mode: %lld of %lld blocks reported "
		    "after %lld ms", (long long)seen, (long long)total,
		    (long long)waited);
}

/*
 * The gate of every request that changes the namespace or the block map
 * (takes the lock): 0 outside safe mode, else -EROFS with a cause saying
 * how far the block reports have come and when safe mode ends at the
 * latest.  -EROFS is never a namenode's answer otherwise, so clients can
 * wait and ask again (lib/client.c).  Safe mode never comes back once
 * left, so a request let through stays let through.
 */
int
nn_place_safemode_refuse(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	int64_t		 seen = 0, total = 0, left;
	int		 rc = 0;

	pthread_mutex_lock(&nn->lock);
	if (nn->safemode) {
		(void)nn_place_safemode_counts(nn, &seen, &total);
		left = nn->start_ms + nn->safemode_timeout_ms - dfs_now_ms();
		rc = nn_server_fail(req, -EROFS, "namenode is in safe mode "
		    "(read-only): %lld of %lld blocks reported; it leaves "
		    "safe mode at %g%% or in %lld s", (long long)seen,
		    (long long)total, nn->safemode_threshold * 100,
		    (long long)(left > 0 ? (left + 999) / 1000 : 0));
	}
	pthread_mutex_unlock(&nn->lock);
	return rc;
}
