/* sock_i.h: the connection's primitives, for net.c's loops. */
#ifndef DFS_SOCK_I_H
#define DFS_SOCK_I_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "net.h"

/* One step: bytes moved (> 0), 0 at end of stream (reads), -EAGAIN with
 * *want the poll events to wait for, or another -errno. */
ssize_t	dfs_sock_read_some(struct dfs_sock *, void *, size_t, short *want);
ssize_t	dfs_sock_write_some(struct dfs_sock *, const void *, size_t,
	    short *want);
/* Send what TLS holds back, before deadline (dfs_now_ms). */
int	dfs_sock_flush(struct dfs_sock *, int64_t deadline);
/* Wait for events until deadline (dfs_now_ms): 0 or -ETIMEDOUT. */
int	dfs_sock_poll(struct dfs_sock *, short events, int64_t deadline);
/* What TLS said when a step failed with -EPROTO ("" if nothing). */
const char *dfs_sock_error(const struct dfs_sock *);

/* Block data outside TLS, authenticated (sock-mac.c): the connection's
 * record layer once both ends agreed on it, or NULL. */
struct dfs_sock_mac;
struct dfs_sock_mac *dfs_sock_mac(const struct dfs_sock *);
struct dfs_sock_mac *dfs_sock_mac_new(const uint8_t tx_key[16],
	    const uint8_t rx_key[16]);
void	dfs_sock_mac_free(struct dfs_sock_mac *);
bool	dfs_sock_mac_pending(const struct dfs_sock_mac *);
int	dfs_sock_mac_write(struct dfs_sock_mac *, int fd, const void *,
	    size_t, int timeout_ms);
int	dfs_sock_mac_read(struct dfs_sock_mac *, int fd, void *, size_t,
	    int timeout_ms, bool idle);

#endif
