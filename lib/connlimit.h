/*
 * connlimit.h: how many connections one peer may hold on a server.
 *
 * A server asks before it spends anything on a new socket (a thread, a
 * TLS handshake): dfs_connlimit_admit() counts it against its source
 * address (at most net.max_handshakes_per_addr still handshaking, at most
 * net.max_conns_per_addr in all), and once the handshake has named the
 * peer, dfs_connlimit_identify() counts it against the certificate's name
 * (net.max_conns_per_identity).  A refusal is logged once per peer per
 * interval, with the number refused since, never once per connection.
 */
#ifndef DFS_CONNLIMIT_H
#define DFS_CONNLIMIT_H

#include <stdbool.h>

#include "config.h"

#define DFS_CONNLIMIT_KEY_MAX	80	/* "a:ADDRESS" or "i:NAME" */

/* What one connection holds; the connection owns it, zeroed at first. */
struct dfs_conntick {
	char	addr[DFS_CONNLIMIT_KEY_MAX];	/* the peer, "a:IP" */
	char	id[DFS_CONNLIMIT_KEY_MAX];	/* "i:NAME" once identified */
	bool	held;		/* counted against addr */
	bool	handshaking;	/* and as handshaking */
	bool	identified;	/* counted against id */
};

struct dfs_connlimit;

/* The caps from cfg (net.*); who names the server in log lines.
 * Caller frees with dfs_connlimit_free(). */
struct dfs_connlimit *dfs_connlimit_create(const struct dfs_config *cfg,
	    const char *who);
void	dfs_connlimit_free(struct dfs_connlimit *);

/* A socket just accepted: 0, or -EBUSY (close it at once; logged). */
int	dfs_connlimit_admit(struct dfs_connlimit *, int fd,
	    struct dfs_conntick *);
/* Its handshake is done and named the peer: 0 or -EBUSY (logged). */
int	dfs_connlimit_identify(struct dfs_connlimit *, struct dfs_conntick *,
	    const char *name);
/* The handshake failed (why): no longer handshaking; logged at most
 * once per address per interval. */
void	dfs_connlimit_failed(struct dfs_connlimit *, struct dfs_conntick *,
	    const char *why);
/* The connection is gone: give back whatever it held. */
void	dfs_connlimit_release(struct dfs_connlimit *, struct dfs_conntick *);

#endif
