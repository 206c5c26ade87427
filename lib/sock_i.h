/* sock_i.h: the connection's primitives, for net.c's loops. */
#ifndef DFS_SOCK_I_H
#define DFS_SOCK_I_H

#include <sys/types.h>

#include <stdint.h>

#include "net.h"

/* One step: bytes moved (> 0), 0 at end of stream (reads), -EAGAIN with
 * *want the poll events to wait for, or another -errno. */
ssize_t	dfs_sock_read_some(struct dfs_sock *, void *, size_t, short *want);
ssize_t	dfs_sock_write_some(struct dfs_sock *, const void *, size_t,
	    short *want);
/* Wait for events until deadline (dfs_now_ms): 0 or -ETIMEDOUT. */
int	dfs_sock_poll(struct dfs_sock *, short events, int64_t deadline);
/* What TLS said when a step failed with -EPROTO ("" if nothing). */
const char *dfs_sock_error(const struct dfs_sock *);

#endif
