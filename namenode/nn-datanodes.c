/*
 * nn-datanodes.c: the data node registry, heartbeats, per-node command
 * queues and the monitor thread (liveness, then replication and safe mode).
 *
 * A data node is known by the uuid of its storage; the datanodes table
 * maps it to a small node id that stays the same across restarts of
 * either side.  Liveness is in memory only (live.nodes): after a namenode
 * restart every node is unknown until it registers again, which its next
 * heartbeat is told to do (REREGISTER), and its block report then rebuilds
 * its replicas.  A node silent for namenode.dead_timeout is declared dead:
 * its replicas stop counting at once (every query joins on the node's
 * state), and when it speaks again it is told to register and report
 * afresh.  Commands (DELETE, REPLICATE) wait in live.commands and ride
 * back on the node's next heartbeat reply, at most NN_MAX_CMDS at a time.
 *
 * A data node carries out the DELETEs of a reply before it sends its next
 * heartbeat (and registers afresh instead when the reply was lost), so
 * that heartbeat confirms them: a corrupt replica whose DELETE was handed
 * out (corrupt = 3) leaves the map only then, and only then may the
 * monitor send a good copy to the same node (nn-place.c).  The same
 * heartbeat's usage figures include the blocks the node stored before
 * it, so their space reservations (live.pending kind 3) end there too.
 */
#include <openssl/crypto.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "net.h"
#include "nn_i.h"
#include "xmalloc.h"

/* Between replication passes: one heartbeat, within these bounds. */
#define NN_REPL_PERIOD_MIN_MS	500
#define NN_REPL_PERIOD_MAX_MS	3000
/* A heartbeat's usage is taken this long before it arrives, at most. */
#define NN_USAGE_LAG_MS		250
/* A copy not confirmed after this, plus a second per NN_COPY_RATE bytes,
 * is given up and scheduled again. */
#define NN_COPY_TIMEOUT_MS	20000
#define NN_COPY_RATE		(4 << 20)

/* Whether node is registered and live. */
bool
nn_datanodes_live(struct nn *nn, dfs_node_id node)
{
	int64_t	state;

	if (node > INT64_MAX)
		return false;
	return nn_db_i64(nn, &state, "SELECT state FROM live.nodes WHERE "
	    "id = ?", "i", (int64_t)node) == 0 && state == DFS_NODE_LIVE;
}

/*
 * Whether DELETEs may go out now: never in safe mode, when the replica
 * map is still being rebuilt, and not within namenode.delete_grace of
 * start-up, so that an operator who started the namenode on the wrong
 * database or with the wrong clock has time to stop it before any
 * replica goes.  Until then DELETEs wait in their queues.
 */
bool
nn_datanodes_may_delete(struct nn *nn)
{
	return !nn->safemode && dfs_now_ms() - nn->start_ms >=
	    nn->delete_grace_ms;
}

/*
 * A data node message's cluster id, which must be ours: a node of
 * another cluster would take our deletions for its own, and we its
 * replicas for garbage.  "" is a node that has never joined a cluster
 * (only REGISTER may say so; it then joins ours).
 */
int
nn_datanodes_cluster(struct nn_req *req, const char *cluster)
{
	if (strcmp(cluster, req->nn->cluster_id) == 0)
		return 0;
	if (cluster[0] == '\0' && req->type == DFS_DN_REGISTER)
		return 0;
	log_err("refused %s from a data node of cluster '%.64s': this is "
	    "cluster %s", dfs_msg_name(req->type), cluster,
	    req->nn->cluster_id);
	return nn_server_fail(req, -EXDEV, "this namenode serves cluster %s, "
	    "not '%.64s': a data node joins one cluster for good (see "
	    "DATA_DIR/cluster.id)", req->nn->cluster_id, cluster);
}

/*
 * Queue a command for node's next heartbeat; the same DELETE or
 * REPLICATE of the same block is queued once.  body is what follows the
 * kind byte (REPLICATE: an lblock without its token).
 */
int
nn_datanodes_queue(struct nn *nn, dfs_node_id node, uint8_t kind,
    dfs_block_id block, uint64_t gen, const void *body, size_t len)
{
	static const char sql[] =
	    "INSERT INTO live.commands(node, kind, block, gen, body) "
	    "SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM "
	    "live.commands WHERE block = ?3 AND node = ?1 AND kind = ?2 AND "
	    "gen = ?4)";

	return nn_db_exec(nn, sql, "iiiib", (int64_t)node, (int64_t)kind,
	    (int64_t)block, (int64_t)gen, body, len);
}

/* Whether s is a printable, non-empty string of at most max bytes. */
static bool
nn_datanodes_printable(const char *s, size_t max)
{
	size_t	n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* The registration itself, inside its transaction. */
static int
nn_datanodes_do_register(struct nn_req *req, const char *uuid,
    const char *addr, uint64_t capacity, uint64_t used, uint64_t dfs_used,
    int64_t *idp)
{
	static const char sql_insert[] =
	    "INSERT INTO datanodes(id, uuid, addr) VALUES (?1, ?2, ?3)";
	static const char sql_others[] =
	    "SELECT n.id FROM live.nodes n JOIN datanodes d ON d.id = n.id "
	    "WHERE d.addr = ?1 AND d.id != ?2 AND n.state = 1";
	struct nn	*nn = req->nn;
	sqlite3_stmt	*st;
	int64_t		 id, others[16];
	int		 n = 0, rc;

	/* A uuid already known keeps its certificate (nn_datanodes_own)
	 * before its address may change. */
	rc = nn_db_i64(nn, &id, "SELECT id FROM datanodes WHERE uuid = ?",
	    "t", uuid);
	if (rc == 0 && (rc = nn_datanodes_own(req, id, false)) != 0)
		return rc;
	/* A new node's id from meta's counter, not AUTOINCREMENT: a
	 * replicated namespace hands out the same ids on every member
	 * (nn-repl.c). */
	if (rc == -ENOENT) {
		if ((rc = nn_db_counter(nn, "next_node", &id)) != 0 ||
		    (rc = nn_db_exec(nn, sql_insert, "itt", id, uuid,
		    addr)) != 0)
			return rc;
	} else if (rc != 0 || (rc = nn_db_exec(nn, "UPDATE datanodes SET "
	    "addr = ? WHERE id = ? AND addr != ?", "tit", addr, id,
	    addr)) != 0)
		return rc;
	if ((rc = nn_datanodes_own(req, id, true)) != 0)
		return rc;
	/* Another node id at the same address is gone: its storage was
	 * replaced. */
	st = nn_db_sql(nn, sql_others, "ti", addr, id);
	while (n < 16 && nn_db_step(nn, st) == 1)
		others[n++] = sqlite3_column_int64(st, 0);
	nn_db_reset(st);
	for (int i = 0; i < n; i++) {
		log_warn("data node %lld at %s replaced by node %lld",
		    (long long)others[i], addr, (long long)id);
		if ((rc = nn_db_exec(nn, "UPDATE live.nodes SET state = 2 "
		    "WHERE id = ?", "i", others[i])) != 0)
			return rc;
	}
	if ((rc = nn_db_exec(nn, "INSERT OR REPLACE INTO live.nodes(id, state,"
	    " capacity, used, dfs_used, xceivers, last_hb_ms) VALUES "
	    "(?, 1, ?, ?, ?, 0, ?)", "iiiii", id,
	    (int64_t)(capacity > INT64_MAX ? INT64_MAX : capacity),
	    (int64_t)(used > INT64_MAX ? INT64_MAX : used),
	    (int64_t)(dfs_used > INT64_MAX ? INT64_MAX : dfs_used),
	    dfs_now_ms())) != 0)
		return rc;
	/*
	 * Its block report, which follows, says what it holds now.  A
	 * replica known to be corrupt stays so marked if the report names
	 * it again, and its DELETE is asked for again (the last one may
	 * never have arrived).
	 */
	if ((rc = nn_db_exec(nn, "DELETE FROM live.replicas WHERE node = ? "
	    "AND corrupt = 0", "i", id)) != 0 ||
	    (rc = nn_db_exec(nn, "UPDATE live.replicas SET corrupt = 1 WHERE "
	    "node = ? AND corrupt > 1", "i", id)) != 0 ||
	    (rc = nn_db_exec(nn, "DELETE FROM live.pending WHERE node = ? "
	    "AND kind = 3", "i", id)) != 0 ||
	    (rc = nn_db_exec(nn, "DELETE FROM live.unknown WHERE node = ?",
	    "i", id)) != 0)
		return rc;
	*idp = id;
	return 0;
}

/*
 * A node id belongs to the certificate that first registered it: another
 * data node's certificate may not register, heartbeat, report or
 * acknowledge as that node (it would take its address, its commands and
 * its replicas).  The first registration binds; a peer without a
 * certificate (unit tests) binds nothing.  0, or -EACCES logged.
 */
int
nn_datanodes_own(struct nn_req *req, int64_t node, bool bind)
{
	const char	*mine = req->peer->id.name;
	char		*cert = NULL;
	sqlite3_stmt	*st;
	int		 rc;

	if (mine[0] == '\0' || req->peer->id.role != DFS_ROLE_DATANODE)
		return 0;
	st = nn_db_sql(req->nn, "SELECT cert FROM datanode_certs WHERE id = ?",
	    "i", node);
	if ((rc = nn_db_step(req->nn, st)) == 1) {
		cert = xstrdup((const char *)sqlite3_column_text(st, 0));
		rc = 0;
	} else if (rc == 0)
		rc = -ENOENT;
	nn_db_reset(st);
	if (rc == -ENOENT) {
		if (!bind)
			return 0;	/* unknown: the handler says so */
		return nn_db_exec(req->nn, "INSERT INTO datanode_certs(id, "
		    "cert) VALUES (?, ?)", "it", node, mine);
	}
	if (rc != 0)
		return rc;
	if (strcmp(cert, mine) != 0) {
		log_warn("refused %s for data node %lld from %s: that node "
		    "belongs to certificate %s, not %s",
		    dfs_msg_name(req->type), (long long)node, req->peer->addr,
		    cert, mine);
		rc = nn_server_fail(req, -EACCES, "data node %lld belongs to "
		    "another certificate (%s)", (long long)node, cert);
	}
	free(cert);
	return rc;
}

/*
 * The token keys a data node needs (lib/token.c), on every REGISTERED and
 * every heartbeat reply: a few hundred bytes, and a lost reply never leaves
 * a node without the key that signs the next tokens.
 */
static void
nn_datanodes_put_keys(struct nn *nn, struct dfs_wbuf *b)
{
	struct dfs_token_key	keys[DFS_TOKEN_MAX_KEYS];
	size_t			n;

	nn_keys_rotate(nn);
	n = dfs_token_keys_export(&nn->keys, time(NULL), keys,
	    DFS_TOKEN_MAX_KEYS, NULL);
	dfs_token_put_keys(b, keys, n);
	OPENSSL_cleanse(keys, sizeof keys);
}

/* DN_REGISTER: a data node (re)joins; it learns its id and heartbeat. */
int
nn_datanodes_op_register(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	struct dfs_wbuf	*b;
	char		 uuid[NN_MAX_UUID + 1], addr[256], host[256];
	char		 cluster[DFS_MAX_CLUSTER_ID + 1];
	uint64_t	 capacity, used, dfs_used;
	uint16_t	 port;
	int64_t		 id = 0;
	int		 rc;

	dfs_get_strbuf(&req->in, cluster, sizeof cluster);
	dfs_get_strbuf(&req->in, uuid, sizeof uuid);
	dfs_get_strbuf(&req->in, addr, sizeof addr);
	capacity = dfs_get_u64(&req->in);
	used = dfs_get_u64(&req->in);
	dfs_used = dfs_get_u64(&req->in);
	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	if ((rc = nn_datanodes_cluster(req, cluster)) != 0)
		return rc;
	if (!nn_datanodes_printable(uuid, NN_MAX_UUID))
		return nn_server_fail(req, -EINVAL, "bad data node uuid");
	if (!nn_datanodes_printable(addr, sizeof addr - 1) ||
	    dfs_hostport_split(addr, host, sizeof host, &port, NULL) != 0 ||
	    host[0] == '\0' || port == 0)
		return nn_server_fail(req, -EINVAL, "bad data node address "
		    "'%s': expected HOST:PORT", addr);
	if ((rc = nn_server_enter(req)) != 0 ||
	    (rc = nn_datanodes_do_register(req, uuid, addr, capacity, used,
	    dfs_used, &id)) != 0)
		return rc;
	log_info("data node %lld (%s) registered at %s%s", (long long)id,
	    uuid, addr, cluster[0] == '\0' ? ", joining this cluster" : "");
	b = nn_server_reply(req, DFS_DN_REGISTERED);
	dfs_put_u64(b, (uint64_t)id);
	dfs_put_u32(b, (uint32_t)nn->heartbeat_ms);
	dfs_put_str(b, nn->cluster_id);
	nn_datanodes_put_keys(nn, b);
	return 0;
}

/* The targets of a queued REPLICATE (an lblock without its token, as
 * nn-place.c queued it), for the token that binds them; none if it does
 * not parse. */
static void
nn_datanodes_pipeline(const void *body, size_t len, struct dfs_lblock *lb)
{
	struct dfs_rbuf	r;

	memset(lb, 0, sizeof *lb);
	dfs_rbuf_init(&r, body, len);
	lb->block = dfs_get_u64(&r);
	lb->gen = dfs_get_u64(&r);
	lb->offset = dfs_get_u64(&r);
	lb->len = dfs_get_u64(&r);
	lb->nlocs = dfs_get_u32(&r);
	if (lb->nlocs > DFS_MAX_REPLICATION)
		r.err = -EBADMSG;
	for (uint32_t i = 0; i < lb->nlocs && r.err == 0; i++) {
		lb->locs[i].node = dfs_get_u64(&r);
		dfs_get_strbuf(&r, lb->locs[i].addr, sizeof lb->locs[i].addr);
	}
	if (r.err != 0)
		lb->nlocs = 0;
}

/* Append node's queued commands to b (at most NN_MAX_CMDS) and forget
 * them.  Returns how many. */
static uint32_t
nn_datanodes_drain(struct nn *nn, dfs_node_id node, struct dfs_wbuf *b)
{
	static const char sql[] =
	    "SELECT seq, kind, block, gen, body FROM live.commands "
	    "WHERE node = ?1 AND (?3 OR kind != 1) ORDER BY seq LIMIT ?2";
	static const char sql_done[] =
	    "DELETE FROM live.commands WHERE node = ?1 AND seq <= ?2 AND "
	    "(?3 OR kind != 1)";
	bool		 deletes = nn_datanodes_may_delete(nn);
	struct dfs_lblock *lb = xmalloc(sizeof *lb);
	struct dfs_token tok;
	sqlite3_stmt	*st;
	int64_t		 last = -1;
	uint32_t	 n = 0;
	time_t		 now = time(NULL);

	st = nn_db_sql(nn, sql, "iii", (int64_t)node, (int64_t)NN_MAX_CMDS,
	    (int64_t)deletes);
	while (nn_db_step(nn, st) == 1) {
		uint8_t kind = (uint8_t)sqlite3_column_int(st, 1);
		dfs_block_id block = (dfs_block_id)sqlite3_column_int64(st, 2);
		uint64_t gen = (uint64_t)sqlite3_column_int64(st, 3);

		last = sqlite3_column_int64(st, 0);
		dfs_put_u8(b, kind);
		if (kind == DFS_CMD_DELETE) {
			dfs_put_u64(b, block);
			dfs_put_u64(b, gen);
			nn_db_exec(nn, "UPDATE live.replicas SET corrupt = 3 "
			    "WHERE block = ? AND node = ? AND corrupt = 2",
			    "ii", (int64_t)block, (int64_t)node);
		} else if (kind == DFS_CMD_VERIFY) {
			dfs_put_u64(b, block);
			dfs_put_u64(b, gen);
		} else if (kind == DFS_CMD_REPLICATE) {
			const void *body = sqlite3_column_blob(st, 4);
			size_t len = (size_t)sqlite3_column_bytes(st, 4);

			dfs_put_raw(b, body, len);
			nn_datanodes_pipeline(body, len, lb);
			nn_keys_sign(nn, &tok, block, gen,
			    DFS_TOKEN_WRITE, 0, lb, now);
			dfs_proto_put_token(b, &tok);
		}
		n++;
	}
	if (last >= 0 && nn_db_exec(nn, sql_done, "iii", (int64_t)node, last,
	    (int64_t)deletes) != 0)
		log_warn("cannot dequeue commands of node %llu",
		    (unsigned long long)node);
	free(lb);
	return n;
}

/*
 * What a heartbeat from a live node confirms (see the top of the file):
 * the DELETEs of corrupt replicas handed to it are done, the blocks it
 * stored before it are counted in its usage; and whether it still has
 * room for a block of the cluster's size, logged when that changes.
 */
static void
nn_datanodes_confirm(struct nn *nn, dfs_node_id node, uint64_t capacity,
    uint64_t used)
{
	sqlite3_stmt	*st;
	int64_t		 was;
	uint64_t	 left = used < capacity ? capacity - used : 0;
	uint64_t	 room = NN_BLOCK_ROOM(nn->block_size) + NN_ROOM_SLACK;
	bool		 full = capacity > 0 && left < room;

	if (nn_db_exec(nn, "DELETE FROM live.replicas WHERE node = ? AND "
	    "corrupt = 3", "i", (int64_t)node) != 0 ||
	    nn_db_exec(nn, "DELETE FROM live.pending WHERE node = ? AND "
	    "kind = 3 AND since_ms < ?", "ii", (int64_t)node, dfs_now_ms() -
	    NN_USAGE_LAG_MS) != 0)
		log_warn("cannot update the replicas of node %llu",
		    (unsigned long long)node);
	if (nn_db_i64(nn, &was, "SELECT isfull FROM live.nodes WHERE id = ?",
	    "i", (int64_t)node) != 0 || (was != 0) == full)
		return;
	nn_db_exec(nn, "UPDATE live.nodes SET isfull = ? WHERE id = ?", "ii",
	    (int64_t)full, (int64_t)node);
	st = nn_db_sql(nn, "SELECT addr FROM datanodes WHERE id = ?", "i",
	    (int64_t)node);
	if (nn_db_step(nn, st) != 1)
		return;
	if (full)
		log_warn("data node %llu at %s is full: %llu bytes free, too "
		    "few for a block of %llu; new blocks go to other nodes",
		    (unsigned long long)node, sqlite3_column_text(st, 0),
		    (unsigned long long)left,
		    (unsigned long long)nn->block_size);
	else
		log_info("data node %llu at %s has room again: %llu bytes "
		    "free", (unsigned long long)node,
		    sqlite3_column_text(st, 0), (unsigned long long)left);
	nn_db_reset(st);
}

/* DN_HEARTBEAT: the node is alive; it gets its queued commands, or
 * REREGISTER when we do not know it (restart) or had declared it dead. */
int
nn_datanodes_op_heartbeat(struct nn_req *req)
{
	static const char sql[] =
	    "UPDATE live.nodes SET capacity = ?2, used = ?3, xceivers = ?4, "
	    "last_hb_ms = ?5, dfs_used = ?6 WHERE id = ?1 AND state = 1";
	struct nn	*nn = req->nn;
	struct dfs_wbuf	*b;
	char		 cluster[DFS_MAX_CLUSTER_ID + 1];
	dfs_node_id	 node;
	uint64_t	 capacity, used, dfs_used;
	uint32_t	 xceivers, n = 0;
	size_t		 npos;
	int		 rc;

	dfs_get_strbuf(&req->in, cluster, sizeof cluster);
	node = dfs_get_u64(&req->in);
	capacity = dfs_get_u64(&req->in);
	used = dfs_get_u64(&req->in);
	dfs_used = dfs_get_u64(&req->in);
	xceivers = dfs_get_u32(&req->in);
	if ((rc = nn_server_decoded(req)) != 0)
		return rc;
	if ((rc = nn_datanodes_cluster(req, cluster)) != 0)
		return rc;
	b = nn_server_reply(req, DFS_DN_COMMANDS);
	npos = b->len;
	dfs_put_u32(b, 0);
	if ((rc = nn_server_enter(req)) == 0 && node <= INT64_MAX &&
	    (rc = nn_datanodes_own(req, (int64_t)node, false)) == 0 &&
	    (rc = nn_db_exec(nn, sql, "iiiiii",
	    (int64_t)node, (int64_t)(capacity > INT64_MAX ? INT64_MAX :
	    capacity), (int64_t)(used > INT64_MAX ? INT64_MAX : used),
	    (int64_t)xceivers, dfs_now_ms(), (int64_t)(dfs_used > INT64_MAX ?
	    INT64_MAX : dfs_used))) == 0 && nn_db_changes(nn) == 1) {
		nn_datanodes_confirm(nn, node, capacity, used);
		dfs_put_u8(b, DFS_CMD_KEYS);
		nn_datanodes_put_keys(nn, b);
		n = 1 + nn_datanodes_drain(nn, node, b);
	} else if (rc == 0) {
		log_info("heartbeat from unknown or dead node %llu: asking it "
		    "to register", (unsigned long long)node);
		dfs_put_u8(b, DFS_CMD_REREGISTER);
		n = 1;
	}
	if (rc != 0)
		return rc;
	dfs_le32enc(b->data + npos, n);
	return 0;
}

/*
 * Declare dead every live node silent for longer than the timeout.  Copies
 * to or from a dead node will not finish: they are forgotten (and its
 * queued REPLICATEs dropped) so the monitor schedules them elsewhere at
 * once.  So are copies that took too long, whatever the reason.
 */
static void
nn_datanodes_reap(struct nn *nn)
{
	static const char sql[] =
	    "SELECT n.id, d.addr, ?1 - n.last_hb_ms FROM live.nodes n "
	    "JOIN datanodes d ON d.id = n.id WHERE n.state = 1 AND "
	    "n.last_hb_ms < ?1 - ?2";
	/* Copies given up: those of blocks with a copy to or from node ?1,
	 * or with one that took too long. */
	static const char sql_gone[] =
	    "SELECT DISTINCT block FROM live.pending WHERE kind = 2 AND "
	    "(node = ?1 OR src = ?1 OR since_ms < ?2 - ?3 - bytes * 1000 / ?4)";
	sqlite3_stmt	*st;
	int64_t		 ids[64], now = dfs_now_ms();
	int		 n = 0;

	st = nn_db_sql(nn, sql, "ii", now, nn->dead_timeout_ms);
	while (n < 64 && nn_db_step(nn, st) == 1) {
		ids[n++] = sqlite3_column_int64(st, 0);
		log_warn("data node %lld at %s is dead: no heartbeat for %lld "
		    "ms", (long long)ids[n - 1], sqlite3_column_text(st, 1),
		    (long long)sqlite3_column_int64(st, 2));
	}
	nn_db_reset(st);
	for (int i = 0; i < n; i++) {
		nn_db_exec(nn, "UPDATE live.nodes SET state = 2 WHERE id = ?",
		    "i", ids[i]);
		nn_db_exec(nn, "DELETE FROM live.commands WHERE node = ? AND "
		    "kind = 2", "i", ids[i]);
		nn_place_need_node(nn, (dfs_node_id)ids[i]);
	}
	/* Copies that will not finish: their blocks are scheduled afresh
	 * (a REPLICATE not yet handed out is withdrawn with them). */
	for (int i = -1; i < n; i++) {
		int64_t blocks[256];
		int nb = 0;
		st = nn_db_sql(nn, sql_gone, "iiii", i < 0 ? (int64_t)-1 :
		    ids[i], now, (int64_t)NN_COPY_TIMEOUT_MS,
		    (int64_t)NN_COPY_RATE);
		while (nb < 256 && nn_db_step(nn, st) == 1)
			blocks[nb++] = sqlite3_column_int64(st, 0);
		nn_db_reset(st);
		for (int j = 0; j < nb; j++) {
			nn_db_exec(nn, "DELETE FROM live.pending WHERE "
			    "block = ? AND kind = 2", "i", blocks[j]);
			nn_db_exec(nn, "DELETE FROM live.commands WHERE "
			    "block = ? AND kind = 2", "i", blocks[j]);
		}
		if (nb > 0)
			log_info("%d block cop%s given up (%s); scheduling "
			    "again", nb, nb == 1 ? "y" : "ies", i < 0 ?
			    "not confirmed in time" : "its node died");
	}
	/* Blocks promised to a node that never confirmed them, and patches
	 * a node did not report in time (nn-patch.c: a copy may go there
	 * now). */
	nn_db_exec(nn, "DELETE FROM live.pending WHERE since_ms < ? OR "
	    "(kind = 4 AND since_ms < ?)", "ii",
	    now - nn->token_lifetime_s * 1000, now - NN_PATCH_WAIT_MS);
}

/* The monitor: once a second, liveness, expired leases and holds, then
 * safe mode or (once a heartbeat) replication. */
static void *
nn_datanodes_monitor(void *arg)
{
	struct nn	*nn = arg;
	int64_t		 wake, period = nn->heartbeat_ms;

	if (period < NN_REPL_PERIOD_MIN_MS)
		period = NN_REPL_PERIOD_MIN_MS;
	if (period > NN_REPL_PERIOD_MAX_MS)
		period = NN_REPL_PERIOD_MAX_MS;
	pthread_mutex_lock(&nn->lock);
	while (!atomic_load(&nn->stopping)) {
		wake = dfs_now_ms() + 1000;
		if (!nn->safemode && nn->last_repl_ms + period < wake)
			wake = nn->last_repl_ms + period;
		dfs_cond_wait_until(&nn->wake, &nn->lock, wake);
		if (atomic_load(&nn->stopping))
			break;
		nn_datanodes_reap(nn);
		nn_keys_publish(nn);	/* (a group's leader) */
		/* Replicas are not all known in safe mode: a file's last
		 * block could look unfinished when it is not. */
		if (!nn->safemode) {
			nn_recover_leases(nn);
			nn_hold_expire(nn);
			nn_patch_expire(nn);
		}
		if (nn->safemode)
			nn_place_safemode(nn);
		else if (dfs_now_ms() - nn->last_repl_ms >= period) {
			nn_place_replicate(nn);
			nn->last_repl_ms = dfs_now_ms();
		}
	}
	pthread_mutex_unlock(&nn->lock);
	return NULL;
}

/* Start the monitor thread. */
int
nn_datanodes_start(struct nn *nn, char **cause)
{
	if (pthread_create(&nn->monitor, NULL, nn_datanodes_monitor, nn) != 0) {
		if (cause != NULL)
			xasprintf(cause, "cannot start the monitor thread");
		return -EAGAIN;
	}
	return 0;
}

/* Stop the monitor; the caller has set nn->stopping. */
void
nn_datanodes_stop(struct nn *nn)
{
	pthread_mutex_lock(&nn->lock);
	pthread_cond_broadcast(&nn->wake);
	pthread_mutex_unlock(&nn->lock);
	pthread_join(nn->monitor, NULL);
}
