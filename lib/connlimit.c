/*
 * connlimit.c: connection caps per peer address and per identity.
 *
 * Why: a server with one thread per connection and a global cap is locked
 * by whoever opens the most sockets; 1,024 idle ones from one host were
 * enough.  So every peer is counted where it can be told apart: by its
 * source address from the moment it is accepted (before any thread or TLS
 * work, so a refusal costs an accept and a close), and by the name in its
 * certificate once the handshake has proved it.  The handshaking cap is
 * the small one: a socket that never completes a handshake holds a thread
 * for DFS_TLS_HANDSHAKE_MS, and a flood of them is what an attacker
 * without a certificate can do.  An address's total cap keeps one host
 * from filling the global cap; the identity cap keeps one certificate
 * from doing it from many hosts.
 *
 * The counts live in one small chained hash table under one mutex, an
 * entry per address or identity that holds a connection (at most two per
 * connection, so the table is bounded by the global cap).  Refusals are
 * counted in the entry and logged at most once per CONNLIMIT_LOG_MS per
 * peer, and when the entry goes, with how many were refused since.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "connlimit.h"
#include "log.h"
#include "xmalloc.h"

#define CONNLIMIT_BUCKETS	256
#define CONNLIMIT_LOG_MS	10000	/* one refusal line per peer per 10 s */

struct connlimit_entry {
	struct connlimit_entry	*next;
	char			 key[DFS_CONNLIMIT_KEY_MAX];
	int			 handshaking;
	int			 total;
	int			 refused;	/* since the last line */
	int64_t			 logged_ms;	/* that line, 0: never */
	int			 failed;	/* handshakes, likewise */
	int64_t			 failed_ms;
};

struct dfs_connlimit {
	char			 who[32];
	int			 max_handshakes;	/* per address */
	int			 max_addr;		/* per address */
	int			 max_id;		/* per identity */
	pthread_mutex_t		 lock;		/* guards the table */
	struct connlimit_entry	*table[CONNLIMIT_BUCKETS];
};

/* The caps from cfg.  Caller frees. */
struct dfs_connlimit *
dfs_connlimit_create(const struct dfs_config *cfg, const char *who)
{
	struct dfs_connlimit	*cl = xcalloc(1, sizeof *cl);

	snprintf(cl->who, sizeof cl->who, "%s", who);
	cl->max_handshakes = (int)dfs_config_int(cfg,
	    "net.max_handshakes_per_addr");
	cl->max_addr = (int)dfs_config_int(cfg, "net.max_conns_per_addr");
	cl->max_id = (int)dfs_config_int(cfg, "net.max_conns_per_identity");
	pthread_mutex_init(&cl->lock, NULL);
	return cl;
}

/* Free the table; every connection must have been released. */
void
dfs_connlimit_free(struct dfs_connlimit *cl)
{
	struct connlimit_entry	*e, *next;

	if (cl == NULL)
		return;
	for (size_t i = 0; i < CONNLIMIT_BUCKETS; i++)
		for (e = cl->table[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

/* FNV-1a: spreads addresses that differ in one byte. */
static size_t
connlimit_hash(const char *key)
{
	uint32_t	h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (uint8_t)*key) * 16777619u;
	return h % CONNLIMIT_BUCKETS;
}

/* The entry of key, made when create is set and it has none.  Borrowed;
 * the lock is held. */
static struct connlimit_entry *
connlimit_find(struct dfs_connlimit *cl, const char *key, bool create)
{
	size_t			 b = connlimit_hash(key);
	struct connlimit_entry	*e;

	for (e = cl->table[b]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	if (!create)
		return NULL;
	e = xcalloc(1, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s", key);
	e->next = cl->table[b];
	cl->table[b] = e;
	return e;
}

/* How a log line names e's peer: "from" an address, "with certificate"
 * a name. */
static const char *
connlimit_whose(const struct connlimit_entry *e)
{
	return e->key[0] == 'a' ? "from" : "with certificate";
}

/* Drop e when nothing holds it, saying how many were refused since the
 * last line; the lock is held. */
static void
connlimit_put(struct dfs_connlimit *cl, struct connlimit_entry *e)
{
	struct connlimit_entry	**pp;

	if (e->total > 0 || e->handshaking > 0)
		return;
	if (e->refused > 0)
		log_warn("%s: %d more connection%s %s %s refused before its "
		    "count fell", cl->who, e->refused, e->refused == 1 ? "" :
		    "s", connlimit_whose(e), e->key + 2);
	for (pp = &cl->table[connlimit_hash(e->key)]; *pp != e;
	    pp = &(*pp)->next)
		;
	*pp = e->next;
	free(e);
}

/* Count a refusal of e and log it if its last line is old enough; the
 * lock is held. */
static void
connlimit_refuse(struct dfs_connlimit *cl, struct connlimit_entry *e,
    const char *what, int cap, const char *key)
{
	int64_t	now = dfs_now_ms();

	e->refused++;
	if (e->logged_ms != 0 && now - e->logged_ms < CONNLIMIT_LOG_MS)
		return;
	log_warn("%s: refusing connections %s %s: %d %s (%s); %d refused "
	    "(at most one line per %d s)", cl->who, connlimit_whose(e),
	    e->key + 2, cap, what, key, e->refused, CONNLIMIT_LOG_MS / 1000);
	e->refused = 0;
	e->logged_ms = now;
}

/* The peer's IP address of fd as "a:IP" ("a:local", "a:?"). */
static void
connlimit_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof ss;
	char			 host[INET6_ADDRSTRLEN] = "?";

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->
			    sin_addr, host, sizeof host);
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->
			    sin6_addr, host, sizeof host);
		else if (ss.ss_family == AF_UNIX)
			snprintf(host, sizeof host, "local");
	}
	snprintf(buf, len, "a:%s", host);
}

/* A socket just accepted: counted against its address, as handshaking. */
int
dfs_connlimit_admit(struct dfs_connlimit *cl, int fd, struct dfs_conntick *t)
{
	struct connlimit_entry	*e;
	int			 rc = 0;

	memset(t, 0, sizeof *t);
	connlimit_addr(fd, t->addr, sizeof t->addr);
	pthread_mutex_lock(&cl->lock);
	e = connlimit_find(cl, t->addr, true);
	if (e->handshaking >= cl->max_handshakes) {
		connlimit_refuse(cl, e, "still in their TLS handshake",
		    cl->max_handshakes, "net.max_handshakes_per_addr");
		rc = -EBUSY;
	} else if (e->total >= cl->max_addr) {
		connlimit_refuse(cl, e, "open", cl->max_addr,
		    "net.max_conns_per_addr");
		rc = -EBUSY;
	} else {
		e->handshaking++;
		e->total++;
		t->held = t->handshaking = true;
	}
	connlimit_put(cl, e);
	pthread_mutex_unlock(&cl->lock);
	return rc;
}

/* Not handshaking any more; the lock is held. */
static void
connlimit_handshaken(struct dfs_connlimit *cl, struct dfs_conntick *t)
{
	struct connlimit_entry	*e;

	if (!t->handshaking)
		return;
	t->handshaking = false;
	if ((e = connlimit_find(cl, t->addr, false)) != NULL)
		e->handshaking--;
}

/* The handshake failed (why): no longer handshaking, and said so at
 * most once per interval per address, with how many failed since. */
void
dfs_connlimit_failed(struct dfs_connlimit *cl, struct dfs_conntick *t,
    const char *why)
{
	struct connlimit_entry	*e;
	int64_t			 now = dfs_now_ms();

	pthread_mutex_lock(&cl->lock);
	connlimit_handshaken(cl, t);
	if ((e = connlimit_find(cl, t->addr, false)) != NULL) {
		e->failed++;
		if (e->failed_ms == 0 || now - e->failed_ms >=
		    CONNLIMIT_LOG_MS) {
			log_info("refused a connection: %s (%d handshake%s "
			    "from %s failed since the last such line)", why,
			    e->failed, e->failed == 1 ? "" : "s", t->addr + 2);
			e->failed = 0;
			e->failed_ms = now;
		}
	}
	pthread_mutex_unlock(&cl->lock);
}

/* The handshake proved the peer is name: counted against it. */
int
dfs_connlimit_identify(struct dfs_connlimit *cl, struct dfs_conntick *t,
    const char *name)
{
	struct connlimit_entry	*e;
	int			 rc = 0;

	snprintf(t->id, sizeof t->id, "i:%s", name);
	pthread_mutex_lock(&cl->lock);
	connlimit_handshaken(cl, t);
	e = connlimit_find(cl, t->id, true);
	if (e->total >= cl->max_id) {
		connlimit_refuse(cl, e, "open", cl->max_id,
		    "net.max_conns_per_identity");
		rc = -EBUSY;
	} else {
		e->total++;
		t->identified = true;
	}
	connlimit_put(cl, e);
	pthread_mutex_unlock(&cl->lock);
	return rc;
}

/* The connection is gone. */
void
dfs_connlimit_release(struct dfs_connlimit *cl, struct dfs_conntick *t)
{
	struct connlimit_entry	*e;

	pthread_mutex_lock(&cl->lock);
	if (t->held && (e = connlimit_find(cl, t->addr, false)) != NULL) {
		if (t->handshaking)
			e->handshaking--;
		e->total--;
		connlimit_put(cl, e);
	}
	if (t->identified && (e = connlimit_find(cl, t->id, false)) != NULL) {
		e->total--;
		connlimit_put(cl, e);
	}
	t->held = t->handshaking = t->identified = false;
	pthread_mutex_unlock(&cl->lock);
}
