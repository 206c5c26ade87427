/* net.h: TCP sockets, frame I/O with timeouts, and request/reply calls. */
#ifndef DFS_NET_H
#define DFS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pki.h"
#include "wire.h"

int	dfs_hostport_split(const char *addr, char *host, size_t hostcap,
	    uint16_t *port, char **cause);
int	dfs_net_listen(const char *addr, int *fdp, char **cause);
int	dfs_net_local_port(int fd);
int	dfs_net_connect(const char *addr, int timeout_ms, int *fdp,
	    char **cause);
int	dfs_net_wait(int fd, short events, int64_t deadline);
/*
 * A connection: a TCP socket under mutual TLS, or a plain socket (the
 * short-circuit Unix socket, whose peer the kernel vouches for).  One
 * thread may read while another writes (the write pipeline does): every
 * TLS call is made under the socket's lock, never while waiting.
 */
struct dfs_sock;
struct dfs_tls;

/* Connect to addr and complete the handshake within timeout_ms.  The
 * peer must hold a certificate of role want (DFS_ROLE_NONE: any). */
int	dfs_sock_connect(struct dfs_tls *, const char *addr,
	    enum dfs_role want, int timeout_ms, struct dfs_sock **,
	    char **cause);
/* The same, keeping block data inside TLS whatever net.encrypt_data
 * says: a data node forwarding what reached it encrypted. */
int	dfs_sock_connect_sealed(struct dfs_tls *, const char *addr,
	    enum dfs_role want, int timeout_ms, struct dfs_sock **,
	    char **cause);
/* Whether the connection carries block data outside TLS (MAC only). */
bool	dfs_sock_plain_data(const struct dfs_sock *);
/* The same in two steps, so another thread may cut a slow handshake
 * short (dfs_sock_shutdown): a TCP connection, then its handshake. */
int	dfs_sock_tcp(const char *addr, int timeout_ms, struct dfs_sock **,
	    char **cause);
int	dfs_sock_start_tls(struct dfs_sock *, struct dfs_tls *,
	    enum dfs_role want, int timeout_ms, char **cause);
/* Complete the server side of a handshake on an accepted socket, which
 * the dfs_sock then owns (on failure it is closed). */
int	dfs_sock_accept(struct dfs_tls *, int fd, int timeout_ms,
	    struct dfs_sock **, char **cause);
/* A plain socket; the dfs_sock owns fd. */
struct dfs_sock *dfs_sock_plain(int fd);
/* Close the connection (a TLS session says so first) and free it. */
void	dfs_sock_close(struct dfs_sock *);
/* Wake every thread blocked on the connection; it is closed later. */
void	dfs_sock_shutdown(struct dfs_sock *);
int	dfs_sock_fd(const struct dfs_sock *);
/* The peer's identity from its certificate; role NONE on a plain one. */
const struct dfs_identity *dfs_sock_peer(const struct dfs_sock *);
/* "host:port" of the peer (or "local"), for logs. */
const char *dfs_sock_addr(const struct dfs_sock *);
/* Whether the peer's certificate is still good by the current list:
 * checked when tls's list changed since the last check.  -EACCES. */
int	dfs_sock_recheck(struct dfs_sock *, struct dfs_tls *, char **cause);
/* Whether an idle connection may carry another request (sockpool.c). */
bool	dfs_sock_idle_ok(struct dfs_sock *, struct dfs_tls *);

/*
 * Connections to data nodes kept between requests (sockpool.c): a small
 * file's block costs a TLS handshake on every hop of its pipeline
 * otherwise.  dfs_sockpool_connect takes a live pooled connection to
 * addr of the same kind (sealed or not), or opens one; *reused says
 * which, so a caller whose first request fails on a reused one (its peer
 * closed it meanwhile) tries once more on a new one.  dfs_sockpool_put
 * gives back a connection whose request ended cleanly; any other is
 * closed with dfs_sock_close.
 */
struct dfs_sockpool;
struct dfs_sockpool *dfs_sockpool_new(void);
void	dfs_sockpool_free(struct dfs_sockpool *);
int	dfs_sockpool_connect(struct dfs_sockpool *, struct dfs_tls *,
	    const char *addr, enum dfs_role want, bool sealed, int timeout_ms,
	    struct dfs_sock **, bool *reused, char **cause);
void	dfs_sockpool_put(struct dfs_sockpool *, const char *addr,
	    bool sealed, struct dfs_sock *);
/*
 * Join connection s and the plain descriptor fd (one end of a socketpair)
 * until either ends: what arrives on one is written to the other.  For a
 * library that speaks its own protocol over a descriptor (libraft), so
 * that its traffic travels inside the connection's mutual TLS.  Writes to
 * s give up after timeout_ms without progress.  Returns when either side
 * closed (0) or failed (-errno); fd is shut down, not closed.
 */
int	dfs_net_pipe(struct dfs_sock *, int fd, int timeout_ms);
/* Wait until bytes can be read (decrypted ones count) or timeout_ms
 * passes: 1 readable, 0 timed out, or -errno. */
int	dfs_sock_wait_readable(struct dfs_sock *, int timeout_ms);

int	dfs_net_write_all(struct dfs_sock *, const void *, size_t,
	    int timeout_ms);
int	dfs_net_read_all(struct dfs_sock *, void *, size_t, int timeout_ms);
/* Append len bytes to the buffer, growing it only as they arrive. */
int	dfs_net_read_grow(struct dfs_sock *, struct dfs_wbuf *, size_t len,
	    int timeout_ms, bool idle);
int	dfs_net_recv_frame(struct dfs_sock *, struct dfs_frame_hdr *,
	    struct dfs_wbuf *payload, int timeout_ms, char **cause);
int	dfs_net_recv_frame_idle(struct dfs_sock *, struct dfs_frame_hdr *,
	    struct dfs_wbuf *payload, int idle_ms, char **cause);
int	dfs_net_send(struct dfs_sock *, const struct dfs_wbuf *,
	    int timeout_ms);
int	dfs_net_send_error(struct dfs_sock *, uint64_t req_id, int err,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int	dfs_net_send_ok(struct dfs_sock *, uint64_t req_id);
/* dfs_net_write_all and dfs_net_read_all on a plain local socket. */
int	dfs_net_write_fd(int fd, const void *, size_t, int timeout_ms);
int	dfs_net_read_fd(int fd, void *, size_t, int timeout_ms);
/* The peer's address of a socket as "host:port" (or "?"). */
void	dfs_net_peer_addr(int fd, char *buf, size_t len);

/*
 * A client connection: one request at a time, buffers reused between
 * calls.  Not thread-safe; use one per thread.
 */
struct dfs_conn {
	struct dfs_sock	*s;
	int		 timeout_ms;
	uint64_t	 next_id;
	char		*peer;
	struct dfs_wbuf	 out;
	struct dfs_wbuf	 in;
	struct dfs_frame_hdr reply;
};

int	 dfs_conn_open(struct dfs_tls *, const char *addr, enum dfs_role want,
	     int timeout_ms, struct dfs_conn **, char **cause);
int	 dfs_conn_wrap(struct dfs_sock *, const char *addr, int timeout_ms,
	     struct dfs_conn **, char **cause);
void	 dfs_conn_free(struct dfs_conn *);
struct dfs_wbuf *dfs_conn_begin(struct dfs_conn *, uint16_t type);
int	 dfs_conn_call(struct dfs_conn *, uint16_t expect,
	     struct dfs_rbuf *reply, char **cause);
int	 dfs_conn_send(struct dfs_conn *, char **cause);
int	 dfs_conn_recv(struct dfs_conn *, uint16_t expect,
	     struct dfs_rbuf *reply, char **cause);

#endif
