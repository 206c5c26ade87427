/* net.h: TCP sockets, frame I/O with timeouts, and request/reply calls. */
#ifndef DFS_NET_H
#define DFS_NET_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

int	dfs_hostport_split(const char *addr, char *host, size_t hostcap,
	    uint16_t *port, char **cause);
int	dfs_net_listen(const char *addr, int *fdp, char **cause);
int	dfs_net_local_port(int fd);
int	dfs_net_connect(const char *addr, int timeout_ms, int *fdp,
	    char **cause);
int	dfs_net_write_all(int fd, const void *, size_t, int timeout_ms);
int	dfs_net_read_all(int fd, void *, size_t, int timeout_ms);
int	dfs_net_recv_frame(int fd, struct dfs_frame_hdr *,
	    struct dfs_wbuf *payload, int timeout_ms, char **cause);
int	dfs_net_recv_frame_idle(int fd, struct dfs_frame_hdr *,
	    struct dfs_wbuf *payload, int idle_ms, char **cause);
int	dfs_net_send(int fd, const struct dfs_wbuf *, int timeout_ms);
int	dfs_net_send_error(int fd, uint64_t req_id, int err,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int	dfs_net_send_ok(int fd, uint64_t req_id);

/*
 * A client connection: one request at a time, buffers reused between
 * calls.  Not thread-safe; use one per thread.
 */
struct dfs_conn {
	int		 fd;
	int		 timeout_ms;
	uint64_t	 next_id;
	char		*peer;
	struct dfs_wbuf	 out;
	struct dfs_wbuf	 in;
	struct dfs_frame_hdr reply;
};

int	 dfs_conn_open(const char *addr, int timeout_ms, struct dfs_conn **,
	     char **cause);
void	 dfs_conn_free(struct dfs_conn *);
struct dfs_wbuf *dfs_conn_begin(struct dfs_conn *, uint16_t type);
int	 dfs_conn_call(struct dfs_conn *, uint16_t expect,
	     struct dfs_rbuf *reply, char **cause);
int	 dfs_conn_send(struct dfs_conn *, char **cause);
int	 dfs_conn_recv(struct dfs_conn *, uint16_t expect,
	     struct dfs_rbuf *reply, char **cause);

#endif
