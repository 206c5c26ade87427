/*
 * nn-balance.c: the balancer (dfs admin balance, issue 14): moves
 * replicas from the data nodes storing most to those storing least until
 * every live node is within a threshold of the cluster's mean.
 *
 * Why it is built this way.  It is a task of the namenode, not a client
 * program as HDFS's balancer is: the namenode already knows every
 * replica, every node's load and every copy in flight, and it already has
 * the machinery a move needs.  A move is a re-replication copy with a
 * chosen source and target (a REPLICATE to the source, a live.pending
 * row of kind 2, given up by nn-datanodes.c's reaper if it takes too
 * long or a node dies), followed, once the target's replica is in the
 * map, by the deletion of the source's replica, as a trim would do it.
 * So a move never leaves a block with fewer good replicas than its
 * replication (the source's replica goes only after the target's has
 * arrived, and only while the others still count enough), never puts two
 * replicas on one node (the target holds no replica of the block and has
 * none on its way), and never reduces the number of hosts a block's
 * replicas span.
 *
 * A node's load is what placement ranks by: the bytes of the replicas it
 * stores, as its last heartbeat said (dfs_used), plus the bytes on their
 * way to it (live.pending, which keeps a stored block until the
 * heartbeat that counts it), less the replicas a move is taking from it
 * until its heartbeat no longer counts them.  A move is only made when
 * it brings the source and the target closer (the block is smaller than
 * their difference), so the sum of the squared differences from the mean
 * falls with every move and the balancer cannot oscillate.
 *
 * A node that gave replicas in a run never takes any in it, and one that
 * took never gives: a node's load moves one way only.  Loads seen a
 * heartbeat late, and writes and deletions beside the balancer, make
 * nodes near the threshold look above it one pass and below it the
 * next; without this rule the balancer chased them, moving back what it
 * had moved (a probe of an eighth of the data, written and removed in a
 * loop, had it move 20 times the data in ten minutes).
 *
 * It runs from the replication monitor's pass (nn-place.c), before the
 * scan: it sees a move's arrival before the scan could trim the surplus
 * replica from some other holder.  While blocks wait for re-replication,
 * it schedules nothing: repair comes first.  Moves are throttled by a
 * token bucket of the bandwidth it was given (bytes scheduled per
 * second) and by NN_BALANCE_STREAMS copies to or from one node.  Its
 * state is in memory: a namenode restart stops it (moves in flight then
 * end as surplus replicas, which the scan trims), as does `dfs admin
 * balance --stop`, after which the moves in flight still finish.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "nn_i.h"
#include "xmalloc.h"

#define NN_BALANCE_STREAMS	8	/* moves to or from one node */
#define NN_BALANCE_TRIES	32	/* block searches per pass */
#define NN_BALANCE_LOOK		16	/* candidates per search */
#define NN_BALANCE_STUCK	5	/* passes with nothing to move */

/* A live node as the balancer sees it. */
struct nn_bnode {
	dfs_node_id	id;
	int64_t		load;		/* bytes (top of the file) */
	int		in;		/* copies to it in flight */
	int		out;		/* ... from it */
	char		addr[256];
	char		host[256];
};

/* Node id's entry in nodes[n], or NULL. */
static struct nn_bnode *
nn_balance_find(struct nn_bnode *nodes, size_t n, dfs_node_id id)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i].id == id)
			return &nodes[i];
	return NULL;
}

/*
 * The live nodes and their loads (see the top of the file).  *nodesp is
 * the caller's to free; returns how many, or a negative errno.
 */
static int
nn_balance_loads(struct nn *nn, struct nn_bnode **nodesp)
{
	static const char sql[] =
	    "SELECT n.id, d.addr, n.dfs_used + coalesce((SELECT sum(p.bytes) "
	    " FROM live.pending p WHERE p.node = n.id), 0), "
	    "(SELECT count(*) FROM live.pending p WHERE p.node = n.id AND "
	    " p.kind = 2), "
	    "(SELECT count(*) FROM live.pending p WHERE p.src = n.id AND "
	    " p.kind = 2) "
	    "FROM live.nodes n JOIN datanodes d ON d.id = n.id "
	    "WHERE n.state = 1 ORDER BY n.id";
	struct nn_balance	*bl = &nn->balance;
	struct nn_bnode		*nodes = NULL, *x;
	sqlite3_stmt		*st;
	size_t			 n = 0, cap = 0;
	uint16_t		 port;
	int			 rc;

	*nodesp = NULL;
	st = nn_db_sql(nn, sql, "");
	while ((rc = nn_db_step(nn, st)) == 1) {
		const char *addr = (const char *)sqlite3_column_text(st, 1);

		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			nodes = xrealloc(nodes, cap * sizeof *nodes);
		}
		x = &nodes[n++];
		memset(x, 0, sizeof *x);
		x->id = (dfs_node_id)sqlite3_column_int64(st, 0);
		snprintf(x->addr, sizeof x->addr, "%s", addr != NULL ? addr :
		    "");
		if (dfs_hostport_split(x->addr, x->host, sizeof x->host, &port,
		    NULL) != 0)
			snprintf(x->host, sizeof x->host, "%s", x->addr);
		x->load = sqlite3_column_int64(st, 2);
		x->in = sqlite3_column_int(st, 3);
		x->out = sqlite3_column_int(st, 4);
	}
	if (rc != 0) {
		free(nodes);
		return rc;
	}
	/* What moves are taking away, until their sources' heartbeats no
	 * longer count it. */
	for (unsigned i = 0; i < bl->nmoves; i++)
		if ((x = nn_balance_find(nodes, n, bl->moves[i].src)) != NULL)
			x->load -= (int64_t)bl->moves[i].len;
	*nodesp = nodes;
	return (int)n;
}

/* The cluster's mean load, and the imbalance figures of the status. */
static void
nn_balance_measure(struct nn *nn, const struct nn_bnode *nodes, size_t n,
    double *meanp, bool *over, bool *under)
{
	struct nn_balance	*bl = &nn->balance;
	double			 mean = 0, t = bl->threshold_bp / 10000.0;
	double			 dev, worst = 0, above = 0, below = 0;

	for (size_t i = 0; i < n; i++)
		mean += (double)nodes[i].load;
	mean = n > 0 ? mean / (double)n : 0;
	*over = *under = false;
	for (size_t i = 0; i < n; i++) {
		double l = (double)nodes[i].load;
		if (l > mean * (1 + t)) {
			*over = true;
			above += l - mean * (1 + t);
		}
		if (l < mean * (1 - t)) {
			*under = true;
			below += mean * (1 - t) - l;
		}
		dev = mean > 0 ? (l > mean ? l - mean : mean - l) / mean : 0;
		if (dev > worst)
			worst = dev;
	}
	*meanp = mean;
	bl->mean = (uint64_t)mean;
	bl->max_dev_bp = (uint32_t)(worst * 10000 + 0.5);
	bl->to_move = (uint64_t)(above > below ? above : below);
}

/* How many distinct hosts hosts[n] and extra make. */
static int
nn_balance_hosts(char hosts[][256], int n, const char *extra)
{
	int	distinct = 0;
	bool	dup;

	for (int i = 0; i < n; i++) {
		dup = false;
		for (int j = 0; j < i && !dup; j++)
			dup = strcmp(hosts[i], hosts[j]) == 0;
		distinct += !dup;
	}
	dup = false;
	for (int i = 0; i < n && !dup; i++)
		dup = strcmp(hosts[i], extra) == 0;
	return distinct + !dup;
}

/* Whether moving block's replica from src to a node on host keeps the
 * number of hosts its good replicas span. */
static bool
nn_balance_spread(struct nn *nn, dfs_block_id block, dfs_node_id src,
    const char *host)
{
	static const char sql[] =
	    "SELECT r.node, d.addr FROM live.replicas r JOIN live.nodes n "
	    "ON n.id = r.node JOIN datanodes d ON d.id = r.node "
	    "JOIN blocks b ON b.id = r.block WHERE b.id = ?1 AND "
	    NN_GOOD("b");
	char		 hosts[DFS_MAX_REPLICATION][256], srchost[256] = "";
	sqlite3_stmt	*st;
	uint16_t	 port;
	int		 n = 0;

	st = nn_db_sql(nn, sql, "i", (int64_t)block);
	while (n < DFS_MAX_REPLICATION && nn_db_step(nn, st) == 1) {
		const char *a = (const char *)sqlite3_column_text(st, 1);
		bool is_src = (dfs_node_id)sqlite3_column_int64(st, 0) == src;
		char *h = is_src ? srchost : hosts[n];

		if (a == NULL || dfs_hostport_split(a, h, 256, &port,
		    NULL) != 0)
			snprintf(h, 256, "%s", a != NULL ? a : "");
		if (!is_src)
			n++;
	}
	nn_db_reset(st);
	return nn_balance_hosts(hosts, n, host) >=
	    nn_balance_hosts(hosts, n, srchost);
}

/*
 * A block whose replica on src may move to tgt: finished, fully (not
 * over-) replicated, with nothing else happening to it (no copy, queued
 * repair or command), not on tgt, smaller than gap, and keeping its host
 * spread.  0 with *out filled, -ENOENT, or a negative errno.
 */
static int
nn_balance_pick(struct nn *nn, dfs_node_id src, const struct nn_bnode *tgt,
    int64_t gap, struct nn_balance_move *out)
{
	static const char sql[] =
	    "SELECT b.id, b.gen, b.length FROM live.replicas s "
	    "JOIN blocks b ON b.id = s.block JOIN inodes i ON i.id = b.ino "
	    "WHERE s.node = ?1 AND s.block > ?3 AND s.corrupt = 0 AND "
	    "s.gen = b.gen AND s.len = b.length AND b.complete = 1 AND "
	    "i.under_construction = 0 AND b.length > 0 AND b.length < ?4 AND "
	    "NOT EXISTS (SELECT 1 FROM live.replicas x WHERE x.block = b.id "
	    " AND x.node = ?2) AND "
	    "NOT EXISTS (SELECT 1 FROM live.pending p WHERE p.block = b.id) "
	    "AND NOT EXISTS (SELECT 1 FROM live.needed q WHERE "
	    " q.block = b.id) AND "
	    "NOT EXISTS (SELECT 1 FROM live.commands c WHERE c.block = b.id) "
	    "AND (SELECT count(*) FROM live.replicas r JOIN live.nodes n ON "
	    " n.id = r.node WHERE " NN_GOOD("b") ") = i.replication "
	    "ORDER BY s.block LIMIT ?5";
	struct nn_balance_move	 cand[NN_BALANCE_LOOK];
	sqlite3_stmt		*st;
	int64_t			 cursor = 0;
	int			 n, rc;

	for (int round = 0; round < 4; round++) {
		n = 0;
		st = nn_db_sql(nn, sql, "iiiii", (int64_t)src, (int64_t)tgt->id,
		    cursor, gap, (int64_t)NN_BALANCE_LOOK);
		while (n < NN_BALANCE_LOOK && (rc = nn_db_step(nn, st)) == 1) {
			memset(&cand[n], 0, sizeof cand[n]);
			cand[n].block = (dfs_block_id)sqlite3_column_int64(st,
			    0);
			cand[n].gen = (uint64_t)sqlite3_column_int64(st, 1);
			cand[n].len = (uint64_t)sqlite3_column_int64(st, 2);
			n++;
		}
		nn_db_reset(st);
		if (rc < 0)
			return rc;
		for (int i = 0; i < n; i++) {
			if (!nn_balance_spread(nn, cand[i].block, src,
			    tgt->host))
				continue;
			*out = cand[i];
			out->src = src;
			out->tgt = tgt->id;
			out->state = NN_MOVE_COPY;
			return 0;
		}
		if (n < NN_BALANCE_LOOK)
			break;
		cursor = (int64_t)cand[n - 1].block;
	}
	return -ENOENT;
}

/* Queue move m's copy: a REPLICATE to its source, a copy on its way to
 * its target. */
static int
nn_balance_copy(struct nn *nn, const struct nn_balance_move *m,
    const struct nn_bnode *tgt)
{
	struct nn_block	 b;
	struct dfs_wbuf	 body;
	int		 rc;

	if ((rc = nn_blockmap_get(nn, "SELECT id, idx, gen, offset, length, "
	    "complete FROM blocks WHERE id = ?", (int64_t)m->block, &b)) != 0)
		return rc;
	/* An lblock without its token, as nn-place.c queues a copy. */
	dfs_wbuf_init(&body);
	dfs_put_u64(&body, m->block);
	dfs_put_u64(&body, m->gen);
	dfs_put_u64(&body, b.offset);
	dfs_put_u64(&body, m->len);
	dfs_put_u32(&body, 1);
	dfs_put_u64(&body, tgt->id);
	dfs_put_str(&body, tgt->addr);
	rc = nn_datanodes_queue(nn, m->src, DFS_CMD_REPLICATE, m->block,
	    m->gen, body.data, body.len);
	dfs_wbuf_release(&body);
	if (rc == 0)
		rc = nn_db_exec(nn, "INSERT OR REPLACE INTO live.pending("
		    "block, node, bytes, kind, since_ms, src) VALUES (?, ?, ?, "
		    "2, ?, ?)", "iiiii", (int64_t)m->block, (int64_t)m->tgt,
		    (int64_t)m->len, dfs_now_ms(), (int64_t)m->src);
	if (rc == 0)
		log_debug("balancer: block %llu (%llu bytes) from node %llu "
		    "to node %llu", (unsigned long long)m->block,
		    (unsigned long long)m->len, (unsigned long long)m->src,
		    (unsigned long long)m->tgt);
	return rc;
}

/*
 * A copied move: the source's replica goes once the target's is in the
 * map and the block has a good replica more than it needs.  1 when the
 * move is over (done, or nothing more to do), 0 to look again later.
 */
static int
nn_balance_drop(struct nn *nn, struct nn_balance_move *m)
{
	static const char sql_src[] =
	    "SELECT count(*) FROM live.replicas r JOIN live.nodes n ON "
	    "n.id = r.node JOIN blocks b ON b.id = r.block WHERE b.id = ?1 "
	    "AND r.node = ?2 AND " NN_GOOD("b");
	struct nn_balance	*bl = &nn->balance;
	int64_t			 repl, on_src;
	int			 good, bad, rc;

	if (!nn_datanodes_may_delete(nn))
		return 0;
	if (nn_db_i64(nn, &repl, "SELECT i.replication FROM blocks b JOIN "
	    "inodes i ON i.id = b.ino WHERE b.id = ? AND b.gen = ?", "ii",
	    (int64_t)m->block, (int64_t)m->gen) != 0 ||
	    nn_blockmap_good_count(nn, m->block, &good, &bad) != 0 ||
	    nn_db_i64(nn, &on_src, sql_src, "ii", (int64_t)m->block,
	    (int64_t)m->src) != 0)
		return 1;
	/* Another replica was lost meanwhile, or the source's: the new
	 * one stays, and the scan sees to the rest. */
	if (on_src == 0 || good <= repl)
		return 1;
	if ((rc = nn_datanodes_queue(nn, m->src, DFS_CMD_DELETE, m->block,
	    m->gen, NULL, 0)) != 0 ||
	    (rc = nn_db_exec(nn, "DELETE FROM live.replicas WHERE block = ? "
	    "AND node = ?", "ii", (int64_t)m->block, (int64_t)m->src)) != 0)
		return rc;
	m->state = NN_MOVE_DROP;
	bl->moved_blocks++;
	bl->moved_bytes += m->len;
	log_debug("balancer: block %llu moved from node %llu to node %llu",
	    (unsigned long long)m->block, (unsigned long long)m->src,
	    (unsigned long long)m->tgt);
	return 0;
}

/*
 * Where move m stands: 1 when it is over and leaves the list, 0 when it
 * is still under way (its copy, or its source's heartbeat to count the
 * deletion), or a negative errno.
 */
static int
nn_balance_advance(struct nn *nn, struct nn_balance_move *m)
{
	static const char sql_arrived[] =
	    "SELECT count(*) FROM live.replicas r JOIN live.nodes n ON "
	    "n.id = r.node JOIN blocks b ON b.id = r.block WHERE b.id = ?1 "
	    "AND r.node = ?2 AND b.gen = ?3 AND " NN_GOOD("b");
	int64_t	 arrived, copying, queued, hb;

	if (m->state == NN_MOVE_DROP) {
		if (nn_db_i64(nn, &queued, "SELECT count(*) FROM live.commands "
		    "WHERE node = ? AND block = ? AND kind = 1", "ii",
		    (int64_t)m->src, (int64_t)m->block) != 0 || queued > 0)
			return 0;
		if (m->drained_ms == 0) {
			m->drained_ms = dfs_now_ms();
			return 0;
		}
		/* Settled once a heartbeat sent after the DELETE was
		 * handed out has counted it, or the node is gone. */
		if (nn_db_i64(nn, &hb, "SELECT last_hb_ms FROM live.nodes "
		    "WHERE id = ? AND state = 1", "i", (int64_t)m->src) != 0)
			return 1;
		return hb > m->drained_ms;
	}
	if (nn_db_i64(nn, &arrived, sql_arrived, "iii", (int64_t)m->block,
	    (int64_t)m->tgt, (int64_t)m->gen) != 0)
		return 1;
	if (arrived > 0)
		return nn_balance_drop(nn, m);
	if (nn_db_i64(nn, &copying, "SELECT count(*) FROM live.pending WHERE "
	    "block = ? AND node = ? AND kind = 2", "ii", (int64_t)m->block,
	    (int64_t)m->tgt) != 0 || copying == 0) {
		/* Given up (nn-datanodes.c), or the block changed. */
		nn->balance.failed++;
		return 1;
	}
	return 0;
}

/* What node did in this run: NN_BALANCE_GAVE, _TOOK or 0. */
static int
nn_balance_role(const struct nn_balance *bl, dfs_node_id node)
{
	for (size_t i = 0; i < bl->nroles; i++)
		if (bl->roles[i].id == node)
			return bl->roles[i].role;
	return 0;
}

/* Remember that node gave or took (see the top of the file). */
static void
nn_balance_set_role(struct nn_balance *bl, dfs_node_id node, int role)
{
	if (nn_balance_role(bl, node) != 0)
		return;
	if (bl->nroles == bl->roles_cap) {
		bl->roles_cap = bl->roles_cap == 0 ? 16 : bl->roles_cap * 2;
		bl->roles = xrealloc(bl->roles, bl->roles_cap *
		    sizeof *bl->roles);
	}
	bl->roles[bl->nroles].id = node;
	bl->roles[bl->nroles++].role = role;
}

/* Sort nodes fullest first. */
static int
nn_balance_cmp(const void *a, const void *b)
{
	const struct nn_bnode	*x = a, *y = b;

	return x->load < y->load ? 1 : x->load > y->load ? -1 : 0;
}

/* End the run in state with a reason for the status. */
static void
nn_balance_end(struct nn *nn, uint8_t state, const char *why)
{
	struct nn_balance	*bl = &nn->balance;

	bl->state = state;
	bl->end_ms = dfs_now_ms();
	snprintf(bl->why, sizeof bl->why, "%s", why);
	log_info("balancer: %s; %llu block%s (%llu bytes) moved in %lld ms",
	    why, (unsigned long long)bl->moved_blocks,
	    bl->moved_blocks == 1 ? "" : "s",
	    (unsigned long long)bl->moved_bytes,
	    (long long)(bl->end_ms - bl->start_ms));
}

/*
 * Schedule moves from the fullest nodes to the emptiest, within the
 * bandwidth's budget and the per-node streams.  Returns how many, or a
 * negative errno.
 */
static int
nn_balance_schedule(struct nn *nn, struct nn_bnode *nodes, size_t n,
    double mean, bool over, bool under)
{
	struct nn_balance	*bl = &nn->balance;
	double			 t = bl->threshold_bp / 10000.0;
	dfs_node_id		 tried[NN_BALANCE_TRIES][2];
	struct nn_balance_move	 m;
	int			 ntried = 0, made = 0, rc;
	bool			 again = true;

	while (again && bl->budget > 0 && bl->nmoves < NN_BALANCE_MOVES &&
	    ntried < NN_BALANCE_TRIES) {
		again = false;
		qsort(nodes, n, sizeof *nodes, nn_balance_cmp);
		/* Sources from the fullest, targets from the emptiest: an
		 * over node to one below the mean, or one above the mean
		 * to an under node. */
		for (size_t i = 0; i < n && !again; i++) {
			struct nn_bnode *s = &nodes[i];
			double ls = (double)s->load;
			if (ls <= mean || !(ls > mean * (1 + t) || under))
				break;
			if (s->out >= NN_BALANCE_STREAMS ||
			    nn_balance_role(bl, s->id) == NN_BALANCE_TOOK)
				continue;
			for (size_t j = n; j-- > i + 1 && !again;) {
				struct nn_bnode *d = &nodes[j];
				double ld = (double)d->load;
				bool seen = false;
				if (ld >= mean || !(ld < mean * (1 - t) ||
				    over))
					break;
				if (d->in >= NN_BALANCE_STREAMS ||
				    nn_balance_role(bl, d->id) ==
				    NN_BALANCE_GAVE)
					continue;
				for (int k = 0; k < ntried && !seen; k++)
					seen = tried[k][0] == s->id &&
					    tried[k][1] == d->id;
				if (seen || ntried == NN_BALANCE_TRIES)
					continue;
				rc = nn_balance_pick(nn, s->id, d,
				    s->load - d->load, &m);
				if (rc == -ENOENT) {
					tried[ntried][0] = s->id;
					tried[ntried++][1] = d->id;
					continue;
				}
				if (rc != 0 || (rc = nn_balance_copy(nn, &m,
				    d)) != 0)
					return rc;
				bl->moves[bl->nmoves++] = m;
				nn_balance_set_role(bl, s->id,
				    NN_BALANCE_GAVE);
				nn_balance_set_role(bl, d->id,
				    NN_BALANCE_TOOK);
				bl->budget -= (double)m.len;
				s->load -= (int64_t)m.len;
				d->load += (int64_t)m.len;
				s->out++;
				d->in++;
				made++;
				again = true;
			}
		}
	}
	return made;
}

/*
 * One balancer pass, from the replication monitor (its transaction and
 * the lock held): moves under way advance, and while the balancer runs,
 * new ones are scheduled, or it ends once every node is within the
 * threshold (or nothing can move).
 */
int
nn_balance_tick(struct nn *nn)
{
	struct nn_balance	*bl = &nn->balance;
	struct nn_bnode		*nodes = NULL;
	int64_t			 now = dfs_now_ms(), needed;
	unsigned		 kept = 0;
	double			 mean;
	bool			 over, under;
	int			 n, rc = 0;

	for (unsigned i = 0; i < bl->nmoves; i++) {
		if ((rc = nn_balance_advance(nn, &bl->moves[i])) < 0)
			return rc;
		if (rc == 0)
			bl->moves[kept++] = bl->moves[i];
	}
	bl->nmoves = kept;
	if (bl->state != DFS_BALANCE_RUNNING)
		return 0;
	bl->budget += (double)bl->bandwidth * (double)(now - bl->last_ms) /
	    1000.0;
	if (bl->budget > (double)bl->bandwidth)
		bl->budget = (double)bl->bandwidth;
	bl->last_ms = now;
	if ((n = nn_balance_loads(nn, &nodes)) < 0)
		return n;
	nn_balance_measure(nn, nodes, (size_t)n, &mean, &over, &under);
	rc = 0;
	if (!over && !under) {
		if (bl->nmoves == 0)
			nn_balance_end(nn, DFS_BALANCE_DONE, "done: every node "
			    "is within the threshold of the mean");
		goto out;
	}
	if ((rc = nn_db_i64(nn, &needed, "SELECT count(*) FROM live.needed",
	    "")) != 0)
		goto out;
	if (needed > 0) {
		snprintf(bl->why, sizeof bl->why, "waiting: %lld block%s to "
		    "re-replicate first", (long long)needed, needed == 1 ?
		    "" : "s");
		bl->idle = 0;
		goto out;
	}
	if (!nn_datanodes_may_delete(nn)) {
		snprintf(bl->why, sizeof bl->why, "waiting: no replica may be "
		    "deleted yet (namenode.delete_grace)");
		goto out;
	}
	bl->why[0] = '\0';
	if ((rc = nn_balance_schedule(nn, nodes, (size_t)n, mean, over,
	    under)) < 0)
		goto out;
	if (rc > 0 || bl->nmoves > 0 || bl->budget <= 0)
		bl->idle = 0;
	else if (++bl->idle >= NN_BALANCE_STUCK)
		nn_balance_end(nn, DFS_BALANCE_STUCK, "stopped: no replica "
		    "can move closer to the mean (the emptier nodes hold "
		    "every block of the fuller ones, the blocks are too "
		    "large, or the nodes it could move between gave or took "
		    "the other way in this run)");
	rc = 0;
out:
	free(nodes);
	return rc;
}

/* Put the status (and the nodes' loads) in a BALANCE_REPLY. */
static int
nn_balance_reply(struct nn_req *req)
{
	struct nn		*nn = req->nn;
	struct nn_balance	*bl = &nn->balance;
	struct nn_bnode		*nodes = NULL;
	struct dfs_wbuf		*b;
	uint64_t		 flight = 0;
	double			 mean;
	bool			 over, under;
	int			 n;

	if ((n = nn_balance_loads(nn, &nodes)) < 0)
		return n;
	if (bl->threshold_bp > 0)
		nn_balance_measure(nn, nodes, (size_t)n, &mean, &over, &under);
	for (unsigned i = 0; i < bl->nmoves; i++)
		if (bl->moves[i].state == NN_MOVE_COPY)
			flight += bl->moves[i].len;
	b = nn_server_reply(req, DFS_NN_BALANCE_REPLY);
	dfs_put_u8(b, bl->state);
	dfs_put_u32(b, bl->threshold_bp);
	dfs_put_u64(b, bl->bandwidth);
	dfs_put_u64(b, bl->moved_blocks);
	dfs_put_u64(b, bl->moved_bytes);
	dfs_put_u64(b, bl->failed);
	dfs_put_u32(b, bl->nmoves);
	dfs_put_u64(b, flight);
	dfs_put_u64(b, bl->mean);
	dfs_put_u32(b, bl->max_dev_bp);
	dfs_put_u64(b, bl->to_move);
	dfs_put_i64(b, bl->start_ms == 0 ? -1 : (bl->end_ms > 0 ?
	    bl->end_ms : dfs_now_ms()) - bl->start_ms);
	dfs_put_str(b, bl->why);
	dfs_put_u32(b, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		dfs_put_u64(b, nodes[i].id);
		dfs_put_str(b, nodes[i].addr);
		dfs_put_u64(b, nodes[i].load > 0 ? (uint64_t)nodes[i].load : 0);
	}
	free(nodes);
	return 0;
}

/* BALANCE: start, stop or ask after the balancer; superuser only. */
int
nn_balance_op_balance(struct nn_req *req)
{
	struct nn		*nn = req->nn;
	struct nn_balance	*bl = &nn->balance;
	uint8_t			 op;
	uint32_t		 threshold;
	uint64_t		 bandwidth;
	int			 rc;

	op = dfs_get_u8(&req->in);
	threshold = dfs_get_u32(&req->in);
	bandwidth = dfs_get_u64(&req->in);
	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	if (!req->peer->cred.super)
		return nn_server_fail(req, -EACCES, "only the superuser may "
		    "run the balancer");
	if (threshold == 0)
		threshold = DFS_BALANCE_THRESHOLD;
	if (bandwidth == 0)
		bandwidth = DFS_BALANCE_BANDWIDTH;
	if (op > DFS_BALANCE_STOP)
		return nn_server_fail(req, -EINVAL, "unknown balance "
		    "operation %u", op);
	if (op == DFS_BALANCE_START && (threshold > 10000 ||
	    bandwidth < DFS_BALANCE_MIN_BANDWIDTH))
		return nn_server_fail(req, -EINVAL, "bad balance settings: a "
		    "threshold of 0.01%% to 100%% and a bandwidth of at least "
		    "%u bytes/s", DFS_BALANCE_MIN_BANDWIDTH);
	if ((rc = nn_server_enter(req)) != 0)
		return rc;
	if (op == DFS_BALANCE_START) {
		if (nn->safemode)
			return nn_server_fail(req, -EROFS, "namenode is in "
			    "safe mode: nothing moves until it leaves it "
			    "(see dfs report)");
		if (bl->state == DFS_BALANCE_RUNNING)
			return nn_server_fail(req, -EBUSY, "the balancer is "
			    "already running (dfs admin balance --status; "
			    "--stop to stop it)");
		bl->state = DFS_BALANCE_RUNNING;
		bl->threshold_bp = threshold;
		bl->bandwidth = bandwidth;
		bl->start_ms = bl->last_ms = dfs_now_ms();
		bl->end_ms = 0;
		bl->budget = (double)bandwidth;
		bl->moved_blocks = bl->moved_bytes = bl->failed = 0;
		bl->idle = 0;
		bl->nroles = 0;
		bl->why[0] = '\0';
		log_info("balancer started by %s: threshold %.2f%%, "
		    "bandwidth %llu bytes/s", req->peer->addr,
		    threshold / 100.0, (unsigned long long)bandwidth);
		pthread_cond_broadcast(&nn->wake);
	} else if (op == DFS_BALANCE_STOP &&
	    bl->state == DFS_BALANCE_RUNNING)
		nn_balance_end(nn, DFS_BALANCE_STOPPED, "stopped on request");
	return nn_balance_reply(req);
}
