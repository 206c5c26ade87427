/* client_i.h: what the client files share inside lib/. */
#ifndef DFS_CLIENT_I_H
#define DFS_CLIENT_I_H

#include <pthread.h>
#include <unistd.h>

#include "client.h"

#define DFS_CLIENT_POOL	8	/* idle namenode connections kept */

struct dfs_client {
	char		*nn_addr;
	char		*name;		/* lease holder name */
	int		 timeout_ms;
	uint32_t	 chunk_size;
	pthread_mutex_t	 lock;		/* guards nn, idle, nidle */
	struct dfs_conn	*nn;		/* for dfs_client_nn() callers */
	/* Connections not in use by a call; a call takes one (or opens
	 * one) so concurrent callers do not wait on each other. */
	struct dfs_conn	*idle[DFS_CLIENT_POOL];
	int		 nidle;
};

int	dfs_client_call(struct dfs_client *, uint16_t type, uint16_t expect,
	    void (*build)(struct dfs_wbuf *, void *), void *,
	    int (*parse)(struct dfs_rbuf *, void *), void *, char **cause);

#endif
