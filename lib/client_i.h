/* client_i.h: what the client files share inside lib/. */
#ifndef DFS_CLIENT_I_H
#define DFS_CLIENT_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "client.h"

#define DFS_CLIENT_POOL	8	/* idle namenode connections kept */
#define DFS_CLIENT_SLOW	8	/* stalled data nodes remembered */
#define DFS_SLOW_MS	60000	/* how long one stays set aside */

/* A data node that fell silent mid-read, tried last until until_ms. */
struct dfs_slow_node {
	char		addr[256];
	int64_t		until_ms;
};

struct dfs_client {
	char		*nn_addr;
	char		*name;		/* lease holder name */
	int		 timeout_ms;
	int		 stall_ms;	/* client.read_stall_timeout */
	uint32_t	 chunk_size;
	pthread_mutex_t	 lock;		/* guards nn, idle, nidle, slow */
	struct dfs_conn	*nn;		/* for dfs_client_nn() callers */
	/* Connections not in use by a call; a call takes one (or opens
	 * one) so concurrent callers do not wait on each other. */
	struct dfs_conn	*idle[DFS_CLIENT_POOL];
	int		 nidle;
	struct dfs_slow_node slow[DFS_CLIENT_SLOW];
	/* Lease renewal for the open writers (client-write.c). */
	pthread_mutex_t	 rlock;		/* guards writers, rstop, renewer* */
	pthread_cond_t	 rcond;
	struct dfs_writer *writers;
	pthread_t	 renewer;
	bool		 renewer_running;
	bool		 rstop;
};

int	dfs_client_call(struct dfs_client *, uint16_t type, uint16_t expect,
	    void (*build)(struct dfs_wbuf *, void *), void *,
	    int (*parse)(struct dfs_rbuf *, void *), void *, char **cause);
void	dfs_client_mark_slow(struct dfs_client *, const char *addr);
bool	dfs_client_is_slow(struct dfs_client *, const char *addr);
void	dfs_client_renewer_stop(struct dfs_client *);

#endif
