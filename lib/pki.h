/*
 * pki.h: identities from the cluster's certificate authority.
 *
 * Every party (namenode, data node, host, user, superuser) holds an X.509
 * certificate signed by the cluster CA.  The certificate says who its
 * holder is: a role and, for users, the uid, gid and supplementary groups
 * it may act as; for hosts, the uids it speaks for.  pki.c reads and checks identities (what a daemon does
 * with a peer's certificate after a TLS handshake); pki-ca.c makes the CA,
 * issues and revokes (what "dfs ca" and "dfs cluster up" do).
 *
 * For TLS (the next slice): an SSL_CTX takes the store of
 * dfs_pki_store_load() (SSL_CTX_set1_cert_store), tls.cert and tls.key
 * through dfs_pki_load_cert/key, and SSL_VERIFY_PEER |
 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT; after the handshake,
 * dfs_pki_identity(SSL_get0_peer_certificate(ssl)) gives the identity
 * every request is authorized against.  A reloaded CRL means a new store
 * for new connections, and a check of live ones' serials against it.
 */
#ifndef DFS_PKI_H
#define DFS_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "config.h"

enum dfs_role {
	DFS_ROLE_NONE = 0,
	DFS_ROLE_NAMENODE,
	DFS_ROLE_DATANODE,
	DFS_ROLE_HOST,		/* a machine whose root acts for its users */
	DFS_ROLE_USER,		/* only the uid/gid/groups it carries */
	DFS_ROLE_SUPERUSER,
};

#define DFS_PKI_MAX_GROUPS	64	/* supplementary groups */
#define DFS_PKI_URI_MAX		1024	/* longest identity URI, bytes */
#define DFS_PKI_NAME_MAX	64	/* certificate name (CN) */
#define DFS_PKI_MAX_HOSTS	16	/* SAN host names/addresses */
#define DFS_PKI_MAX_UID_RANGES	16	/* a host's uid ranges */

/* The uids lo to hi, both included. */
struct dfs_uid_range {
	uint32_t	lo;
	uint32_t	hi;
};

struct dfs_identity {
	enum dfs_role	role;
	uint32_t	uid;		/* USER, SUPERUSER only */
	uint32_t	gid;
	size_t		ngroups;
	uint32_t	groups[DFS_PKI_MAX_GROUPS];
	/* HOST only: the uids its root speaks for (uids=all, or ranges
	 * sorted, apart, at least one). */
	bool		all_uids;
	size_t		nranges;
	struct dfs_uid_range ranges[DFS_PKI_MAX_UID_RANGES];
	char		name[DFS_PKI_NAME_MAX + 1];	/* the subject CN */
};

/* "namenode", ...; NULL for a value out of range.  Static. */
const char *dfs_pki_role_name(enum dfs_role);
/* The role named s, or DFS_ROLE_NONE. */
enum dfs_role dfs_pki_role_parse(const char *s);
bool	dfs_pki_role_has_uid(enum dfs_role);

/* The identity as its SAN URI text.  Caller frees. */
char	*dfs_pki_identity_format(const struct dfs_identity *);
/* Parse len bytes of URI text (not NUL-terminated); 0 or -EINVAL. */
int	dfs_pki_identity_parse(const char *uri, size_t len,
	    struct dfs_identity *, char **cause);
/* The identity a certificate carries (its one npdfs: SAN URI and CN). */
int	dfs_pki_identity(X509 *, struct dfs_identity *, char **cause);
/* Whether name is a good certificate name: [A-Za-z0-9._-], 1..64. */
bool	dfs_pki_name_valid(const char *);
/* A uid or gid: decimal, no sign or leading zero, below 2^32 - 1. */
int	dfs_pki_parse_id(const char *s, size_t len, uint32_t *out);
/* "10,20,30" (or "") into at most DFS_PKI_MAX_GROUPS ids. */
int	dfs_pki_parse_groups(const char *s, size_t len, uint32_t *groups,
	    size_t *n, char **cause);
/* A host's "all" or "1000-1999,2500" (canonical: sorted, apart, "N" for
 * one uid, at most DFS_PKI_MAX_UID_RANGES) into id.  0 or -EINVAL. */
int	dfs_pki_parse_uids(const char *s, size_t len, struct dfs_identity *,
	    char **cause);
/* The text dfs_pki_parse_uids() reads back.  Caller frees. */
char	*dfs_pki_uids_format(const struct dfs_identity *);
/* Whether id is a host certificate speaking for uid. */
bool	dfs_pki_host_speaks_for(const struct dfs_identity *, uint32_t uid);

/* What a file holds, for dfs_pki_check_file(). */
enum dfs_pki_file {
	DFS_PKI_KEY,		/* private: no group/other bits at all */
	DFS_PKI_CERT,		/* public, but only its owner may replace it */
};
/* Refuse a file with loose permissions: -EPERM naming the file. */
int	dfs_pki_check_file(const char *path, enum dfs_pki_file, char **cause);
/* dfs_pki_check_file() on tls.key, tls.cert, tls.ca when they are set. */
int	dfs_pki_check_config(const struct dfs_config *, char **cause);

/* Write data to path with mode: temp file, fsync, rename, fsync dir. */
int	dfs_pki_write_file(const char *path, mode_t mode, const void *data,
	    size_t len, char **cause);
/* A PEM certificate; the file is checked first.  Caller frees. */
int	dfs_pki_load_cert(const char *path, X509 **, char **cause);
/* A PEM private key; a key file others can read is refused. */
int	dfs_pki_load_key(const char *path, EVP_PKEY **, char **cause);

/*
 * A trust store: the CA certificate and, when crl is not NULL or "", the
 * CA's revocation list, checked for every certificate.  Loading again
 * gives a daemon the new list (the next slice does it on a timer).
 * Caller frees with X509_STORE_free().
 */
int	dfs_pki_store_load(const char *ca, const char *crl, X509_STORE **,
	    char **cause);
/* Whether cert is signed by the store's CA, in its validity, and not
 * revoked, at time now (0: the clock).  0 or -EACCES with the reason. */
int	dfs_pki_verify(X509_STORE *, X509 *, time_t now, char **cause);
/* OpenSSL's first queued error as text in buf (none: the queue is empty);
 * clears the queue.  Returns buf. */
const char *dfs_pki_ssl_error(char *buf, size_t size, const char *none);

/* ---- the CA (pki-ca.c) ---------------------------------------------- */

struct dfs_pki_ca;

/*
 * A CA directory:
 *   DIR/ca.crt          the CA certificate (public, give it to every host)
 *   DIR/ca.key          its private key (0600; never leaves this machine)
 *   DIR/crl.pem         the revocation list, re-signed on each revocation
 *   DIR/issued/NAME.crt every certificate issued (with NAME.key for those
 *                       issued into this directory)
 */
int	dfs_pki_ca_init(const char *dir, char **cause);
int	dfs_pki_ca_open(const char *dir, struct dfs_pki_ca **, char **cause);
void	dfs_pki_ca_free(struct dfs_pki_ca *);
/* Borrowed paths into the CA directory. */
const char *dfs_pki_ca_cert_path(const struct dfs_pki_ca *);
const char *dfs_pki_ca_crl_path(const struct dfs_pki_ca *);

struct dfs_pki_request {
	struct dfs_identity	 id;		/* id.name is the CN */
	const char		*hosts[DFS_PKI_MAX_HOSTS]; /* DNS or IP */
	size_t			 nhosts;
	time_t			 not_before;	/* 0: now - 5 min */
	time_t			 not_after;	/* 0: 10 years on */
};

/*
 * Issue a certificate and a new key: NAME.crt and NAME.key (0600) in
 * outdir (NULL: DIR/issued), and the record DIR/issued/NAME.crt.  A name
 * already issued is refused (-EEXIST).  Paths are optional; caller frees.
 */
int	dfs_pki_ca_issue(struct dfs_pki_ca *, const struct dfs_pki_request *,
	    const char *outdir, char **cert_path, char **key_path,
	    char **cause);
/* Add the certificate named name (or with hex serial) to the CRL. */
int	dfs_pki_ca_revoke(struct dfs_pki_ca *, const char *name_or_serial,
	    char **cause);

struct dfs_pki_entry {
	char		name[DFS_PKI_NAME_MAX + 1];
	char		serial[64];	/* hex */
	char		role[16];
	char		uri[DFS_PKI_URI_MAX + 1];
	time_t		not_after;
	bool		revoked;
	bool		expired;
};
/* Every issued certificate, sorted by name.  Caller frees *out. */
int	dfs_pki_ca_list(struct dfs_pki_ca *, struct dfs_pki_entry **out,
	    size_t *n, char **cause);

#endif
