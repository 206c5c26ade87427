/*
 * dn-nn.c: the data node's link to the namenode.
 *
 * Why it is built this way.  The namenode is the node's master but never
 * its bottleneck: one thread owns a long-lived connection and does
 * everything periodic on it (register, full block report, heartbeats and
 * the commands they return, queued notifications), while the data path
 * never waits on it, with one deliberate exception: when a block is
 * finalized, the writing thread tells the namenode (RECEIVED) itself and
 * synchronously, before the client gets its last ack, so a client that
 * holds that ack knows the namenode knows the replica.  Those calls use a
 * small pool of separate connections so they neither queue behind a block
 * report nor hold a lock across the network.
 *
 * While the namenode is unreachable the node keeps serving reads and
 * writes; the thread retries every second until it first registers, then
 * reconnects with exponential backoff.  Every (re)connection registers
 * again and sends a full block report, which repairs anything the
 * namenode missed meanwhile; notifications that could not be delivered
 * wait in a bounded queue and are sent once the link is back.
 */
#include <sys/socket.h>

#include <openssl/crypto.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "net.h"
#include "xmalloc.h"

#include "dn_i.h"

#define NN_POOL			4	/* idle connections kept for RECEIVED */
#define NN_MAX_NOTES		100000	/* queued notifications */
#define NN_MAX_BACKOFF_MS	8000
#define NN_MOVE_MS		200	/* before asking another member */
#if DFS_REPORT_PART_MAX * 25 + 256 > DFS_WIRE_MAX_PAYLOAD
#error "a block report part does not fit a frame"
#endif

/* A notification waiting for the link: RECEIVED or VERIFIED. */
struct nn_note {
	uint16_t	 type;
	dfs_block_id	 block;
	uint64_t	 gen;
	uint64_t	 len;		/* RECEIVED; VERIFIED: the result */
	char		*why;
	struct nn_note	*next;
};

struct dn_nn {
	struct dn	*dn;
	char		 addr[256];	/* the namenode asked now (lock) */
	char		**addrs;	/* namenode.address: every one */
	int		 naddrs;
	int64_t		 report_ms;	/* namenode.block_report_interval */
	size_t		 report_part;	/* namenode.block_report_part */
	uint64_t	 block_size;	/* cluster.block_size */
	bool		 full;		/* under one block free, last said */
	uint64_t	 reports;	/* block reports sent: their ids */
	pthread_t	 thread;
	bool		 started;

	/* The lock is never held across network I/O. */
	pthread_mutex_t	 lock;		/* guards everything below */
	pthread_cond_t	 cond;		/* stop, or a note was queued */
	bool		 stopping;
	bool		 registered;
	dfs_node_id	 node;
	uint32_t	 heartbeat_ms;
	int		 link_fd;	/* the thread's connection, or -1 */
	struct nn_note	*notes;
	struct nn_note	**notes_tail;
	size_t		 nnotes;
	struct dfs_conn	*pool[NN_POOL];
	int		 npool;
};

/* namenode.address: one namenode, or a group's members, comma-separated;
 * the first is asked first. */
static void
nn_addrs(struct dn_nn *nn, const char *list)
{
	char	*copy = xstrdup(list), *tok, *save = NULL;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		nn->addrs = xrealloc(nn->addrs, (nn->naddrs + 1) *
		    sizeof *nn->addrs);
		nn->addrs[nn->naddrs++] = xstrdup(tok);
	}
	free(copy);
	snprintf(nn->addr, sizeof nn->addr, "%s", nn->naddrs > 0 ?
	    nn->addrs[0] : list);
}

/* The namenode asked now, copied. */
static void
nn_addr(struct dn_nn *nn, char *addr, size_t len)
{
	pthread_mutex_lock(&nn->lock);
	snprintf(addr, len, "%s", nn->addr);
	pthread_mutex_unlock(&nn->lock);
}

/* Ask the leader named by cause (a group follower's ERROR), or else the
 * next namenode of the list.  Whether the address changed.  The link
 * thread's alone: the only one that moves it. */
static bool
nn_move(struct dn_nn *nn, const char *cause)
{
	char	hint[256], was[256];
	bool	moved;
	int	next = 0;

	pthread_mutex_lock(&nn->lock);
	snprintf(was, sizeof was, "%s", nn->addr);
	if (cause != NULL && dfs_leader_hint(cause, hint, sizeof hint) == 0)
		snprintf(nn->addr, sizeof nn->addr, "%s", hint);
	else if (nn->naddrs > 1) {
		for (int i = 0; i < nn->naddrs; i++)
			if (strcmp(nn->addrs[i], was) == 0)
				next = (i + 1) % nn->naddrs;
		snprintf(nn->addr, sizeof nn->addr, "%s", nn->addrs[next]);
	}
	moved = strcmp(was, nn->addr) != 0;
	pthread_mutex_unlock(&nn->lock);
	if (moved)
		log_info("namenode %s: asking %s from now on", was, nn->addr);
	return moved;
}

/* The link's state; dn_nn_start starts its thread.  Caller frees. */
struct dn_nn *
dn_nn_create(struct dn *dn)
{
	struct dn_nn		*nn;

	nn = xcalloc(1, sizeof *nn);
	nn->dn = dn;
	nn_addrs(nn, dfs_config_str(dn->cfg, "namenode.address"));
	nn->report_ms = dfs_config_int(dn->cfg,
	    "namenode.block_report_interval");
	nn->block_size = (uint64_t)dfs_config_int(dn->cfg,
	    "cluster.block_size");
	nn->report_part = (size_t)dfs_config_int(dn->cfg,
	    "namenode.block_report_part");
	nn->heartbeat_ms = 3000;
	nn->link_fd = -1;
	nn->notes_tail = &nn->notes;
	pthread_mutex_init(&nn->lock, NULL);
	dfs_cond_init(&nn->cond);
	return nn;
}

/* Free the link after dn_nn_stop; NULL does nothing. */
void
dn_nn_free(struct dn_nn *nn)
{
	struct nn_note	*n, *next;

	if (nn == NULL)
		return;
	for (n = nn->notes; n != NULL; n = next) {
		next = n->next;
		free(n->why);
		free(n);
	}
	for (int i = 0; i < nn->npool; i++)
		dfs_conn_free(nn->pool[i]);
	for (int i = 0; i < nn->naddrs; i++)
		free(nn->addrs[i]);
	free(nn->addrs);
	pthread_mutex_destroy(&nn->lock);
	pthread_cond_destroy(&nn->cond);
	free(nn);
}

/* Queue a notification for the link thread.  Consumes why. */
static void
nn_note_add(struct dn_nn *nn, uint16_t type, dfs_block_id block,
    uint64_t gen, uint64_t len, char *why)
{
	struct nn_note	*n;

	pthread_mutex_lock(&nn->lock);
	if (nn->nnotes >= NN_MAX_NOTES) {
		pthread_mutex_unlock(&nn->lock);
		log_warn("namenode notification queue full: dropping %s of "
		    "block %" PRIu64 " (the next block report covers it)",
		    dfs_msg_name(type), block);
		free(why);
		return;
	}
	n = xcalloc(1, sizeof *n);
	n->type = type;
	n->block = block;
	n->gen = gen;
	n->len = len;
	n->why = why;
	*nn->notes_tail = n;
	nn->notes_tail = &n->next;
	nn->nnotes++;
	pthread_cond_broadcast(&nn->cond);
	pthread_mutex_unlock(&nn->lock);
}

/* Take the oldest notification, or NULL.  Caller frees n and n->why. */
static struct nn_note *
nn_note_take(struct dn_nn *nn)
{
	struct nn_note	*n;

	pthread_mutex_lock(&nn->lock);
	if ((n = nn->notes) != NULL) {
		nn->notes = n->next;
		if (nn->notes == NULL)
			nn->notes_tail = &nn->notes;
		nn->nnotes--;
	}
	pthread_mutex_unlock(&nn->lock);
	return n;
}

/* Put a notification back at the head, to retry it first. */
static void
nn_note_return(struct dn_nn *nn, struct nn_note *n)
{
	pthread_mutex_lock(&nn->lock);
	n->next = nn->notes;
	nn->notes = n;
	if (n->next == NULL)
		nn->notes_tail = &n->next;
	nn->nnotes++;
	pthread_mutex_unlock(&nn->lock);
}

/*
 * One request/reply on c.  On failure *answered says whether the namenode
 * replied with an ERROR (the connection is still good) or the transport
 * failed (drop the connection).
 */
static int
nn_call(struct dfs_conn *c, uint16_t expect, struct dfs_rbuf *r,
    bool *answered, char **cause)
{
	int	rc;

	c->reply.type = 0;
	rc = dfs_conn_call(c, expect, r, cause);
	*answered = rc == 0 || c->reply.type == DFS_MSG_ERROR;
	return rc;
}

/* Sleep up to ms, waking early on stop or a queued notification. */
static void
nn_sleep(struct dn_nn *nn, int64_t ms, bool wake_on_note)
{
	int64_t		deadline = dfs_now_ms() + ms;

	pthread_mutex_lock(&nn->lock);
	while (!nn->stopping && !(wake_on_note && nn->registered &&
	    nn->notes != NULL))
		if (dfs_cond_wait_until(&nn->cond, &nn->lock, deadline) != 0)
			break;
	pthread_mutex_unlock(&nn->lock);
}

/* Whether dn_nn_stop was called. */
static bool
nn_stopping(struct dn_nn *nn)
{
	bool	s;

	pthread_mutex_lock(&nn->lock);
	s = nn->stopping;
	pthread_mutex_unlock(&nn->lock);
	return s;
}

/* The namenode's token keys (KEYS): kept with those it sent before
 * until they expire, in memory only (lib/token.c). */
static void
nn_keys(struct dn_nn *nn, struct dfs_rbuf *r)
{
	struct dfs_token_key	keys[DFS_TOKEN_MAX_KEYS];
	size_t			n;

	n = dfs_token_get_keys(r, keys, DFS_TOKEN_MAX_KEYS);
	if (r->err == 0)
		dfs_token_keys_merge(&nn->dn->keys, time(NULL), keys, n);
	OPENSSL_cleanse(keys, sizeof keys);
}

/*
 * REGISTER: our cluster, uuid, address and space; learn our node id and
 * the namenode's cluster.  A node that has joined a cluster talks to no
 * namenode of another (it would carry out its DELETEs); one that has not
 * joins this one now, for good.
 */
static int
nn_register(struct dn_nn *nn, struct dfs_conn *c, bool *answered,
    char **cause)
{
	struct dn	*dn = nn->dn;
	struct dfs_wbuf	*b;
	struct dfs_rbuf	 r;
	char		 cluster[DFS_MAX_CLUSTER_ID + 1];
	const char	*ours = dn_store_cluster(dn->store);
	struct dfs_token_key keys[DFS_TOKEN_MAX_KEYS];
	size_t		 nkeys = 0;
	struct dfs_dn_usage u;
	dfs_node_id	 node;
	uint32_t	 hb;
	int		 rc;

	dn_store_usage(dn->store, &u.capacity, &u.used);
	u.dfs_used = dn_store_bytes(dn->store);
	b = dfs_conn_begin(c, DFS_DN_REGISTER);
	dfs_proto_put_register(b, ours, dn_store_uuid(dn->store),
	    dn->advertise, &u);
	if ((rc = nn_call(c, DFS_DN_REGISTERED, &r, answered, cause)) != 0)
		return rc;
	if (dfs_proto_get_registered(&r, &node, &hb, cluster,
	    sizeof cluster) == 0 && dfs_rbuf_left(&r) > 0)
		nkeys = dfs_token_get_keys(&r, keys, DFS_TOKEN_MAX_KEYS);
	if (dfs_rbuf_done(&r) != 0) {
		xasprintf(cause, "malformed REGISTERED reply");
		*answered = false;
		return -EPROTO;
	}
	if (ours[0] != '\0' && strcmp(ours, cluster) != 0) {
		xasprintf(cause, "namenode %s serves cluster %.64s, but this "
		    "node belongs to cluster %s (%s/cluster.id): not joining",
		    nn->addr, cluster, ours, dn_store_dir(dn->store));
		*answered = false;
		return -EXDEV;
	}
	if (ours[0] == '\0' && (rc = dn_store_join(dn->store, cluster,
	    cause)) != 0) {
		*answered = false;
		return rc;
	}
	dfs_token_keys_merge(&dn->keys, time(NULL), keys, nkeys);
	OPENSSL_cleanse(keys, sizeof keys);
	if (hb < 100)
		hb = 100;
	if (hb > 3600 * 1000)
		hb = 3600 * 1000;
	pthread_mutex_lock(&nn->lock);
	nn->registered = true;
	nn->node = node;
	nn->heartbeat_ms = hb;
	pthread_cond_broadcast(&nn->cond);
	pthread_mutex_unlock(&nn->lock);
	log_info("registered with namenode %s as node %" PRIu64 " (uuid %s, "
	    "address %s, heartbeat every %u ms)", nn->addr, node,
	    dn_store_uuid(dn->store), dn->advertise, hb);
	return 0;
}

/*
 * A full block report: every finalized replica we hold, in parts of at
 * most namenode.block_report_part (<= DFS_REPORT_PART_MAX) under one
 * report id, so a report of any size
 * arrives whole and the namenode takes one part at a time.  A part
 * refused midway ends the report; the next attempt starts over.
 */
static int
nn_block_report(struct dn_nn *nn, struct dfs_conn *c, bool *answered,
    char **cause)
{
	struct dfs_wbuf	*b;
	struct dfs_rbuf	 r;
	struct dn_block	*v;
	struct dfs_report_part p;
	size_t		 n, nparts, at = 0, bad = 0;
	uint64_t	 report;
	int		 rc = 0;

	v = dn_store_list(nn->dn->store, &n);
	nparts = n == 0 ? 1 : (n + nn->report_part - 1) / nn->report_part;
	if (nparts > DFS_REPORT_PARTS_MAX) {
		free(v);
		xasprintf(cause, "%zu replicas are more than a block report "
		    "may carry (%d parts of %zu)", n, DFS_REPORT_PARTS_MAX,
		    nn->report_part);
		*answered = false;
		return -E2BIG;
	}
	report = (uint64_t)dfs_now_ms() << 16 | (nn->reports++ & 0xffff);
	report &= INT64_MAX;
	for (size_t part = 0; part < nparts; part++) {
		size_t k = n - at < nn->report_part ? n - at :
		    nn->report_part;
		p.node = nn->node;
		p.report = report;
		p.part = (uint32_t)part;
		p.nparts = (uint32_t)nparts;
		p.n = (uint32_t)k;
		b = dfs_conn_begin(c, DFS_DN_BLOCK_REPORT);
		dfs_proto_put_report_part(b, dn_store_cluster(nn->dn->store),
		    &p);
		for (size_t i = at; i < at + k; i++) {
			dfs_proto_put_replica(b, v[i].id, v[i].gen, v[i].len,
			    v[i].flags);
			if (v[i].flags & DFS_REPORT_CORRUPT)
				bad++;
		}
		at += k;
		if ((rc = nn_call(c, DFS_MSG_OK, &r, answered, cause)) != 0)
			break;
	}
	free(v);
	if (rc == 0)
		log_info("block report: %zu block%s in %zu part%s%s", n,
		    n == 1 ? "" : "s", nparts, nparts == 1 ? "" : "s",
		    bad > 0 ? ", some flagged corrupt" : "");
	return rc;
}

/*
 * Carry out the commands of a heartbeat reply, in order.  A malformed or
 * unknown command stops the rest (their length is unknown).
 */
static void
nn_commands(struct dn_nn *nn, struct dfs_rbuf *r, bool *reregister)
{
	struct dfs_lblock	*lb = NULL;
	dfs_block_id		 block;
	uint64_t		 gen;
	uint32_t		 n;
	uint8_t			 kind;
	char			*cause = NULL;

	n = dfs_get_u32(r);
	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		kind = dfs_get_u8(r);
		if (r->err != 0)
			break;
		switch (kind) {
		case DFS_CMD_DELETE:
			block = dfs_get_u64(r);
			gen = dfs_get_u64(r);
			if (r->err != 0)
				break;
			if (dn_patch_delete(nn->dn, block, gen,
			    &cause) == 0)
				log_info("deleted block %" PRIu64 " generation "
				    "%" PRIu64 " (namenode command)", block,
				    gen);
			else
				log_info("DELETE of block %" PRIu64 ": %s",
				    block, cause);
			free(cause);
			cause = NULL;
			break;
		case DFS_CMD_REPLICATE:
			if (lb == NULL)
				lb = xmalloc(sizeof *lb);
			dfs_proto_get_lblock(r, lb);
			if (r->err == 0)
				dn_replicate_start(nn->dn, lb);
			break;
		case DFS_CMD_REREGISTER:
			*reregister = true;
			break;
		case DFS_CMD_KEYS:
			nn_keys(nn, r);
			break;
		case DFS_CMD_VERIFY:
			block = dfs_get_u64(r);
			gen = dfs_get_u64(r);
			if (r->err == 0 && dn_scan_verify(nn->dn, block, gen,
			    false) != 0)
				log_warn("VERIFY of block %" PRIu64 " not "
				    "queued (the namenode asks again)", block);
			break;
		default:
			log_warn("unknown namenode command %u; ignoring the "
			    "rest", kind);
			free(lb);
			return;
		}
	}
	if (r->err != 0)
		log_warn("malformed COMMANDS from namenode %s", nn->addr);
	free(lb);
}

/* Log when the data directory fills up (it then refuses new blocks, and
 * the namenode places them elsewhere) or has room again. */
static void
nn_log_space(struct dn_nn *nn, uint64_t cap, uint64_t used)
{
	uint64_t	left = used < cap ? cap - used : 0;
	bool		full = cap > 0 && left < DN_BLOCK_ROOM(nn->block_size);

	if (full == nn->full)
		return;
	nn->full = full;
	if (full)
		log_err("data directory %s is full: %" PRIu64 " bytes free, "
		    "too few for a block of %" PRIu64 "; new blocks are "
		    "refused",
		    dn_store_dir(nn->dn->store), left, nn->block_size);
	else
		log_info("data directory %s has room again: %" PRIu64 " bytes "
		    "free", dn_store_dir(nn->dn->store), left);
}

/* HEARTBEAT: space and load out, commands back. */
static int
nn_heartbeat(struct dn_nn *nn, struct dfs_conn *c, bool *reregister,
    bool *answered, char **cause)
{
	struct dfs_wbuf	*b;
	struct dfs_rbuf	 r;
	struct dfs_dn_usage u;
	int		 rc;

	dn_store_usage(nn->dn->store, &u.capacity, &u.used);
	u.dfs_used = dn_store_bytes(nn->dn->store);
	nn_log_space(nn, u.capacity, u.used);
	b = dfs_conn_begin(c, DFS_DN_HEARTBEAT);
	dfs_proto_put_heartbeat(b, dn_store_cluster(nn->dn->store), nn->node,
	    &u, (uint32_t)atomic_load(&nn->dn->xfers));
	if ((rc = nn_call(c, DFS_DN_COMMANDS, &r, answered, cause)) != 0)
		return rc;
	nn_commands(nn, &r, reregister);
	return 0;
}

/* Build a notification's request on c. */
static void
nn_note_request(struct dfs_conn *c, dfs_node_id node,
    const struct nn_note *n)
{
	struct dfs_wbuf	*b = dfs_conn_begin(c, n->type);

	if (n->type == DFS_DN_RECEIVED)
		dfs_proto_put_received(b, node, n->block, n->gen, n->len);
	else if (n->type == DFS_DN_VERIFIED) {
		dfs_put_u64(b, node);
		dfs_put_u64(b, n->block);
		dfs_put_u64(b, n->gen);
		dfs_put_u8(b, (uint8_t)n->len);
		dfs_put_str(b, n->why != NULL ? n->why : "");
	} else {
		dfs_put_u64(b, n->block);
		dfs_put_u64(b, n->gen);
		dfs_put_u64(b, node);
		dfs_put_str(b, n->why != NULL ? n->why : "");
	}
}

/* Send queued notifications on the link.  Transport failure: -errno. */
static int
nn_send_notes(struct dn_nn *nn, struct dfs_conn *c, char **cause)
{
	struct nn_note	*n;
	struct dn_block	 b;
	struct dfs_rbuf	 r;
	bool		 answered;
	char		*why = NULL;
	int		 rc;

	while ((n = nn_note_take(nn)) != NULL) {
		if (n->type == DFS_DN_RECEIVED && (dn_store_find(nn->dn->store,
		    n->block, &b) != 0 || b.gen != n->gen)) {
			free(n->why);
			free(n);
			continue;	/* deleted meanwhile */
		}
		nn_note_request(c, nn->node, n);
		if ((rc = nn_call(c, DFS_MSG_OK, &r, &answered, &why)) != 0) {
			if (!answered) {
				nn_note_return(nn, n);
				*cause = why;
				return rc;
			}
			log_warn("namenode refused %s of block %" PRIu64 ": %s",
			    dfs_msg_name(n->type), n->block, why);
		}
		free(why);
		why = NULL;
		free(n->why);
		free(n);
	}
	return 0;
}

/* Publish the link's fd so dn_nn_stop can cut a call short. */
static void
nn_set_link(struct dn_nn *nn, struct dfs_conn *c)
{
	pthread_mutex_lock(&nn->lock);
	nn->link_fd = c != NULL ? dfs_sock_fd(c->s) : -1;
	pthread_mutex_unlock(&nn->lock);
}

/* Lose the link.  Until we register again, RECEIVED goes to the queue
 * at once instead of each finished write trying a dead namenode. */
static void
nn_drop(struct dn_nn *nn, struct dfs_conn **c)
{
	pthread_mutex_lock(&nn->lock);
	nn->registered = false;
	pthread_mutex_unlock(&nn->lock);
	nn_set_link(nn, NULL);
	dfs_conn_free(*c);
	*c = NULL;
}

/*
 * Log a link problem as a warning when it is news, at debug level when it
 * repeats what *said already holds, so a namenode that stays away does
 * not fill the log with one line a second.
 */
static void
nn_log_change(char **said, const char *cause)
{
	if (*said != NULL && strcmp(*said, cause) == 0) {
		log_debug("namenode link: %s (still)", cause);
		return;
	}
	log_warn("namenode link: %s; retrying", cause);
	free(*said);
	*said = xstrdup(cause);
}

/* The link thread. */
static void *
nn_main(void *arg)
{
	struct dn_nn	*nn = arg;
	struct dfs_conn	*c = NULL;
	int64_t		 now, next_hb = 0, next_report = 0, wait;
	int64_t		 backoff = 1000;
	bool		 need_register = true, ever = false;
	bool		 answered, rereg;
	char		*cause = NULL, *said = NULL;
	int		 rc;

	while (!nn_stopping(nn)) {
		if (c == NULL) {
			rc = dfs_conn_open(nn->dn->tls, nn->addr,
			    DFS_ROLE_NAMENODE, nn->naddrs > 1 &&
			    nn->dn->timeout_ms > DFS_GROUP_CONNECT_MS ?
			    DFS_GROUP_CONNECT_MS : nn->dn->timeout_ms, &c,
			    &cause);
			if (rc != 0) {
				nn_log_change(&said, cause);
				/* A group: try the next member soon. */
				if (nn_move(nn, NULL))
					backoff = NN_MOVE_MS;
				goto retry;
			}
			nn_set_link(nn, c);
			need_register = true;
		}
		if (need_register) {
			if ((rc = nn_register(nn, c, &answered,
			    &cause)) != 0 ||
			    (rc = nn_block_report(nn, c, &answered,
			    &cause)) != 0) {
				nn_log_change(&said, cause);
				nn_drop(nn, &c);
				/* A follower named its leader (or knows none
				 * yet: the next member). */
				if (rc == -EREMOTE && nn_move(nn, cause)) {
					free(cause);
					cause = NULL;
					continue;
				}
				goto retry;
			}
			need_register = false;
			free(said);
			said = NULL;
			ever = true;
			backoff = 1000;
			now = dfs_now_ms();
			next_hb = now + nn->heartbeat_ms;
			next_report = now + nn->report_ms;
		}
		now = dfs_now_ms();
		if (now >= next_report) {
			if ((rc = nn_block_report(nn, c, &answered,
			    &cause)) != 0)
				goto failed;
			next_report = now + nn->report_ms;
		}
		if (now >= next_hb) {
			rereg = false;
			if ((rc = nn_heartbeat(nn, c, &rereg, &answered,
			    &cause)) != 0)
				goto failed;
			next_hb = now + nn->heartbeat_ms;
			if (rereg) {
				log_info("namenode asked us to register again");
				need_register = true;
				continue;
			}
		}
		if ((rc = nn_send_notes(nn, c, &cause)) != 0) {
			answered = false;
			goto failed;
		}
		/* The link itself is checked against the current list. */
		if (dfs_sock_recheck(c->s, nn->dn->tls, &cause) != 0) {
			answered = false;
			goto failed;
		}
		wait = (next_hb < next_report ? next_hb : next_report) -
		    dfs_now_ms();
		if (wait > 0)
			nn_sleep(nn, wait, true);
		continue;
failed:
		/* After an ERROR reply, register again on the same
		 * connection (the namenode may have restarted and forgotten
		 * us); after a transport failure, reconnect first. */
		nn_log_change(&said, cause);
		need_register = true;
		/* The leader stepped down, or went: find the new one. */
		if (rc == -EREMOTE || (!answered && nn->naddrs > 1)) {
			nn_drop(nn, &c);
			if (nn_move(nn, rc == -EREMOTE ? cause : NULL))
				backoff = NN_MOVE_MS;
			goto retry;
		}
		free(cause);
		cause = NULL;
		if (answered)
			continue;
		nn_drop(nn, &c);
retry:
		free(cause);
		cause = NULL;
		nn_sleep(nn, backoff, false);
		/* A namenode of another cluster keeps refusing: no need to
		 * ask it every second. */
		if (ever || rc == -EXDEV)
			backoff = backoff * 2 > NN_MAX_BACKOFF_MS ?
			    NN_MAX_BACKOFF_MS : backoff * 2;
	}
	free(cause);
	free(said);
	if (c != NULL)
		nn_drop(nn, &c);
	return NULL;
}

/* Start the link thread; it registers as soon as the namenode answers. */
int
dn_nn_start(struct dn_nn *nn, char **cause)
{
	if (pthread_create(&nn->thread, NULL, nn_main, nn) != 0) {
		xasprintf(cause, "cannot start the namenode thread");
		return -EAGAIN;
	}
	nn->started = true;
	return 0;
}

/* Stop the link thread: wake it, cut its connection, wait for it. */
void
dn_nn_stop(struct dn_nn *nn)
{
	if (nn == NULL || !nn->started)
		return;
	pthread_mutex_lock(&nn->lock);
	nn->stopping = true;
	if (nn->link_fd >= 0)
		shutdown(nn->link_fd, SHUT_RDWR);
	pthread_cond_broadcast(&nn->cond);
	pthread_mutex_unlock(&nn->lock);
	pthread_join(nn->thread, NULL);
	nn->started = false;
}

/*
 * Tell the namenode a replica is finalized, now, on a pooled connection
 * (the write's final ack waits for this).  When the namenode cannot be
 * reached the notification is queued for the link thread instead.
 */
void
dn_nn_received(struct dn_nn *nn, dfs_block_id block, uint64_t gen,
    uint64_t len)
{
	struct nn_note	 n = {
		.type = DFS_DN_RECEIVED, .block = block, .gen = gen, .len = len
	};
	struct dfs_conn	*c = NULL, *stale[NN_POOL];
	struct dfs_rbuf	 r;
	dfs_node_id	 node;
	bool		 registered, pooled, answered = false;
	char		 addr[256] = "";
	int		 nstale;
	char		*cause = NULL;
	int		 rc = -ENOTCONN;

	for (int attempt = 0; attempt < 2; attempt++) {
		pthread_mutex_lock(&nn->lock);
		registered = nn->registered;
		node = nn->node;
		if ((pooled = nn->npool > 0))
			c = nn->pool[--nn->npool];
		pthread_mutex_unlock(&nn->lock);
		if (!registered)
			break;
		nn_addr(nn, addr, sizeof addr);
		if (!pooled && (rc = dfs_conn_open(nn->dn->tls, addr,
		    DFS_ROLE_NAMENODE, nn->dn->timeout_ms, &c, &cause)) != 0)
			break;
		nn_note_request(c, node, &n);
		rc = nn_call(c, DFS_MSG_OK, &r, &answered, &cause);
		if (rc == 0 || answered)
			break;
		dfs_conn_free(c);
		c = NULL;
		if (!pooled)
			break;
		/* Pooled connections may have gone stale (a namenode
		 * restart): drop them all and retry on a fresh one. */
		pthread_mutex_lock(&nn->lock);
		nstale = nn->npool;
		memcpy(stale, nn->pool, sizeof stale);
		nn->npool = 0;
		pthread_mutex_unlock(&nn->lock);
		for (int i = 0; i < nstale; i++)
			dfs_conn_free(stale[i]);
		free(cause);
		cause = NULL;
	}
	if (c != NULL) {
		pthread_mutex_lock(&nn->lock);
		if (nn->npool < NN_POOL) {
			nn->pool[nn->npool++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&nn->lock);
		dfs_conn_free(c);
	}
	if (rc != 0 && answered)
		log_warn("namenode refused RECEIVED of block %" PRIu64 ": %s",
		    block, cause);
	else if (rc != 0) {
		if (registered)
			log_warn("cannot tell namenode %s about block %" PRIu64
			    " now (%s); queued", addr, block, cause);
		nn_note_add(nn, DFS_DN_RECEIVED, block, gen, len, NULL);
	}
	free(cause);
}

/*
 * A read of one of our replicas failed its checksums: the scanner
 * verifies the whole replica and reports it if bad (dn-scan.c), so the
 * namenode hears a holder's verdict, not a guess.  Without a scanner
 * (or with its queue full) it is reported bad at once.  Never blocks.
 */
void
dn_nn_bad_block(struct dn_nn *nn, dfs_block_id block, uint64_t gen,
    const char *why)
{
	if (dn_scan_verify(nn->dn, block, gen, true) != 0)
		dn_nn_verified(nn, block, gen, DFS_VERIFY_BAD, why);
}

/* Tell the namenode what verifying our replica of (block, gen) found
 * (enum dfs_verify); the link thread sends it.  Never blocks. */
void
dn_nn_verified(struct dn_nn *nn, dfs_block_id block, uint64_t gen,
    int result, const char *why)
{
	nn_note_add(nn, DFS_DN_VERIFIED, block, gen, (uint64_t)result,
	    xstrdup(why != NULL ? why : ""));
}
