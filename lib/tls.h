/*
 * tls.h: mutual TLS 1.3 under every npdfs TCP connection.
 *
 * A struct dfs_tls is one program's side of it: its certificate and key,
 * the cluster CA it trusts and the CA's revocation list, loaded from the
 * tls.* keys of its configuration.  Both ends of every connection show a
 * certificate; each learns the other's identity (pki.h) from it, so the
 * namenode can authorize a request by who sent it rather than by what it
 * claims.  A struct dfs_sock (net.h) carries the session.
 */
#ifndef DFS_TLS_H
#define DFS_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "config.h"
#include "pki.h"

/* How long a peer may take over its handshake, in milliseconds. */
#define DFS_TLS_HANDSHAKE_MS	5000

struct dfs_tls;

/* The ALPN name that asks for block data outside TLS records. */
#define DFS_TLS_ALPN_PLAIN	"npdfs-plain-data"

/*
 * Load tls.ca, tls.cert, tls.key and tls.crl from cfg.  Every one but
 * tls.crl must be set: there is no unauthenticated mode.  A key file
 * others may read is refused, naming the file.
 */
int	dfs_tls_open(const struct dfs_config *, struct dfs_tls **,
	    char **cause);
void	dfs_tls_free(struct dfs_tls *);
/* Whether net.encrypt_data is false: block data may travel in the
 * clear (authenticated by sock.c's MAC), where both ends allow it. */
bool	dfs_tls_plain_data(const struct dfs_tls *);
/* The identity of this program's own certificate.  Borrowed. */
const struct dfs_identity *dfs_tls_self(const struct dfs_tls *);

/*
 * Read the revocation list again if its file changed since it was last
 * read: new handshakes check against it at once, and live connections do
 * at their next request (dfs_tls_recheck).  Cheap when nothing changed;
 * daemons call it about once a second.  *changed (may be NULL) says
 * whether a new list was taken.
 */
int	dfs_tls_reload(struct dfs_tls *, bool *changed, char **cause);
/* dfs_tls_reload() about once a second (*last: when it last ran, in
 * dfs_now_ms(); start it at 0), logging a new list or a bad one. */
void	dfs_tls_tick(struct dfs_tls *, int64_t *last);
/* A number that grows each time dfs_tls_reload() takes a new list. */
unsigned dfs_tls_generation(struct dfs_tls *);
/* Verify cert against the current CA and revocation list (-EACCES). */
int	dfs_tls_recheck(struct dfs_tls *, X509 *cert, char **cause);

/* A new session on connected socket fd, as client or server.  The SSL
 * holds a reference to the context, which may be reloaded meanwhile. */
SSL	*dfs_tls_session(struct dfs_tls *, int fd, bool server);

#endif
