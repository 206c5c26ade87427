/*
 * sockpool.c: connections to data nodes kept for the next request.
 *
 * Why: a block write opens a connection to the first node of its
 * pipeline, which opens one to the next, and so on; each is a TCP connect
 * and a mutual TLS handshake, a few hundred microseconds of CPU on each
 * end and a round trip or two.  For a 64 MiB block that is nothing; for a
 * file of a few KiB it was most of the time a close(2) took.  A data node
 * already serves request after request on one connection, so a client (or
 * a data node forwarding down a pipeline) that ended a request cleanly
 * keeps the connection here and the next request to that node skips the
 * handshake.
 *
 * Rules.  Only a connection whose request ended cleanly comes back (the
 * caller decides); one is handed out again only while young enough
 * (SOCKPOOL_IDLE_MS, well inside the data node's 300 s idle limit), with
 * nothing readable on it (a peer that closed it shows as readable) and its
 * peer's certificate still good by the current revocation list.  The pool
 * holds at most SOCKPOOL_MAX connections, the oldest going first, so a
 * client that wrote to every node of a large cluster keeps a bounded
 * number of sockets and of the data nodes' connection slots.  A pooled
 * connection can still be closed by its peer just as it is taken; the
 * caller retries once on a new one (*reused says when to).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "net.h"
#include "xmalloc.h"

#define SOCKPOOL_MAX		32
#define SOCKPOOL_IDLE_MS	20000

struct sockpool_ent {
	struct dfs_sock	*s;
	char		 addr[256];
	bool		 sealed;
	int64_t		 since;		/* dfs_now_ms when put */
};

struct dfs_sockpool {
	pthread_mutex_t		 lock;
	struct sockpool_ent	 ent[SOCKPOOL_MAX];
	int			 n;
};

struct dfs_sockpool *
dfs_sockpool_new(void)
{
	struct dfs_sockpool	*p = xcalloc(1, sizeof *p);

	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void
dfs_sockpool_free(struct dfs_sockpool *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->n; i++)
		dfs_sock_close(p->ent[i].s);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Take entry i out of the pool (lock held): its socket, to the caller. */
static struct dfs_sock *
sockpool_remove(struct dfs_sockpool *p, int i)
{
	struct dfs_sock	*s = p->ent[i].s;

	p->ent[i] = p->ent[--p->n];
	return s;
}

/*
 * The newest pooled connection to addr of the kind asked for, or NULL;
 * connections found too old on the way are closed (outside the lock).
 */
static struct dfs_sock *
sockpool_take(struct dfs_sockpool *p, const char *addr, bool sealed)
{
	struct dfs_sock	*s = NULL, *old[SOCKPOOL_MAX];
	int64_t		 now = dfs_now_ms();
	int		 nold = 0, best = -1;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->n; i++) {
		if (now - p->ent[i].since > SOCKPOOL_IDLE_MS) {
			old[nold++] = sockpool_remove(p, i--);
			continue;
		}
		if (p->ent[i].sealed == sealed &&
		    strcmp(p->ent[i].addr, addr) == 0 &&
		    (best < 0 || p->ent[i].since > p->ent[best].since))
			best = i;
	}
	if (best >= 0)
		s = sockpool_remove(p, best);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < nold; i++)
		dfs_sock_close(old[i]);
	return s;
}

int
dfs_sockpool_connect(struct dfs_sockpool *p, struct dfs_tls *tls,
    const char *addr, enum dfs_role want, bool sealed, int timeout_ms,
    struct dfs_sock **out, bool *reused, char **cause)
{
	struct dfs_sock	*s;

	*reused = false;
	while (p != NULL && (s = sockpool_take(p, addr, sealed)) != NULL) {
		if (dfs_sock_peer(s)->role == want && dfs_sock_idle_ok(s, tls)) {
			*reused = true;
			*out = s;
			return 0;
		}
		dfs_sock_close(s);
	}
	return (sealed ? dfs_sock_connect_sealed : dfs_sock_connect)(tls,
	    addr, want, timeout_ms, out, cause);
}

void
dfs_sockpool_put(struct dfs_sockpool *p, const char *addr, bool sealed,
    struct dfs_sock *s)
{
	struct dfs_sock	*drop = NULL;
	int		 oldest = 0;

	if (p == NULL || s == NULL || strlen(addr) >= sizeof p->ent[0].addr) {
		dfs_sock_close(s);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (p->n == SOCKPOOL_MAX) {
		for (int i = 1; i < p->n; i++)
			if (p->ent[i].since < p->ent[oldest].since)
				oldest = i;
		drop = sockpool_remove(p, oldest);
	}
	p->ent[p->n].s = s;
	snprintf(p->ent[p->n].addr, sizeof p->ent[p->n].addr, "%s", addr);
	p->ent[p->n].sealed = sealed;
	p->ent[p->n].since = dfs_now_ms();
	p->n++;
	pthread_mutex_unlock(&p->lock);
	dfs_sock_close(drop);
}
