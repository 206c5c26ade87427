/*
 * pki.c: reading identities out of certificates, checking them against
 * the cluster CA and its revocation list, and the file hygiene keys need.
 *
 * Where the identity lives.  A certificate carries its holder's role (and
 * a user's uid, gid and groups) as one subjectAltName URI:
 *
 *	npdfs:role=user;uid=1000;gid=1000;groups=10,20
 *	npdfs:role=host;uids=1000-1999,2500
 *	npdfs:role=datanode
 *
 * A SAN URI rather than a private X.509 extension because (1) a private
 * extension needs an OID from an arc we own, and npdfs has none; (2) every
 * TLS stack hands a peer's SAN to the application after the handshake
 * (SSL_get0_peer_certificate + X509_get_ext_d2i here), so the next slice
 * reads it with no custom ASN.1; (3) operators see it in plain
 * `openssl x509 -text` output, and tests can grep it.  The CN is the
 * certificate's name (for lists and revocation), never an authority.
 * Daemons' host names and addresses are ordinary DNS/IP SAN entries, so
 * hostname verification works as it does for HTTPS.
 *
 * The URI is parsed strictly: one npdfs: URI per certificate, at most
 * DFS_PKI_URI_MAX bytes of printable ASCII, each key once, no unknown
 * keys, numbers in canonical decimal below 2^32 - 1 ((uid_t)-1 means "no
 * change" to chown and is never an identity), at most DFS_PKI_MAX_GROUPS
 * groups, uid/gid present exactly for user and superuser, uids exactly
 * for host.  A host's uids are "all" or at most DFS_PKI_MAX_UID_RANGES
 * ranges ("N-M", or "N" for one uid), sorted and apart (touching ranges
 * are written as one), so a set of uids has one spelling and what an
 * operator reads is what it grants.  A host certificate without uids is
 * refused rather than read as "all": every host says for whom it speaks
 * (there were no such certificates in use to stay compatible with).
 * A certificate
 * the CA did not sign never gets this far; the strictness is against a
 * CA operator's typo and a future bug, not against forgers.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "xmalloc.h"

#define PKI_URI_PREFIX	"npdfs:"

static const char *const pki_roles[] = {
	[DFS_ROLE_NAMENODE] = "namenode",
	[DFS_ROLE_DATANODE] = "datanode",
	[DFS_ROLE_HOST] = "host",
	[DFS_ROLE_USER] = "user",
	[DFS_ROLE_SUPERUSER] = "superuser",
};

/* Static names, so messages and URIs spell roles one way. */
const char *
dfs_pki_role_name(enum dfs_role role)
{
	if (role <= DFS_ROLE_NONE || role > DFS_ROLE_SUPERUSER)
		return NULL;
	return pki_roles[role];
}

/* The inverse of dfs_pki_role_name(), for the CLI and the parser. */
enum dfs_role
dfs_pki_role_parse(const char *s)
{
	for (int r = DFS_ROLE_NAMENODE; r <= DFS_ROLE_SUPERUSER; r++)
		if (strcmp(s, pki_roles[r]) == 0)
			return (enum dfs_role)r;
	return DFS_ROLE_NONE;
}

/* Only users and the superuser are bound to a uid; daemons are not. */
bool
dfs_pki_role_has_uid(enum dfs_role role)
{
	return role == DFS_ROLE_USER || role == DFS_ROLE_SUPERUSER;
}

/* Names become file names (DIR/issued/NAME.crt): keep them plain. */
bool
dfs_pki_name_valid(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > DFS_PKI_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return false;
	return true;
}

/* Canonical decimal only, so one id has one spelling in a certificate. */
int
dfs_pki_parse_id(const char *s, size_t len, uint32_t *out)
{
	uint64_t	v = 0;

	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* The groups list is shared by the URI parser and the CLI. */
int
dfs_pki_parse_groups(const char *s, size_t len, uint32_t *groups, size_t *n,
    char **cause)
{
	size_t	start = 0;

	*n = 0;
	if (len == 0)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		if (*n == DFS_PKI_MAX_GROUPS) {
			if (cause != NULL)
				xasprintf(cause, "more than %d groups",
				    DFS_PKI_MAX_GROUPS);
			return -E2BIG;
		}
		if (dfs_pki_parse_id(s + start, i - start, &groups[*n]) != 0) {
			if (cause != NULL)
				xasprintf(cause, "bad group id '%.*s'",
				    (int)(i - start > 16 ? 16 : i - start),
				    s + start);
			return -EINVAL;
		}
		(*n)++;
		start = i + 1;
	}
	return 0;
}

/* Why a uids list is bad, with the piece at fault (at most 24 bytes). */
static int
pki_uids_bad(struct dfs_identity *id, char **cause, const char *why,
    const char *s, size_t n)
{
	id->all_uids = false;
	id->nranges = 0;
	if (cause != NULL)
		xasprintf(cause, "uids: %s '%.*s'", why, (int)(n > 24 ? 24 : n),
		    s);
	return -EINVAL;
}

/*
 * A host's uids, shared by the URI parser and the CLI.  One spelling per
 * set (see the top of this file): "all", or ranges in increasing order
 * with a gap between each two, one uid as "N", never "N-N".
 */
int
dfs_pki_parse_uids(const char *s, size_t len, struct dfs_identity *id,
    char **cause)
{
	struct dfs_uid_range	 r;
	const char		*f, *dash;
	size_t			 start = 0, n;

	id->all_uids = false;
	id->nranges = 0;
	if (len == 3 && memcmp(s, "all", 3) == 0) {
		id->all_uids = true;
		return 0;
	}
	if (len == 0) {
		if (cause != NULL)
			xasprintf(cause, "uids: empty (all, or ranges such as "
			    "1000-1999,2500)");
		return -EINVAL;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		f = s + start;
		n = i - start;
		start = i + 1;
		if (id->nranges == DFS_PKI_MAX_UID_RANGES) {
			if (cause != NULL)
				xasprintf(cause, "uids: more than %d ranges",
				    DFS_PKI_MAX_UID_RANGES);
			id->nranges = 0;
			return -EINVAL;
		}
		if ((dash = memchr(f, '-', n)) == NULL) {
			if (dfs_pki_parse_id(f, n, &r.lo) != 0)
				return pki_uids_bad(id, cause, "bad uid", f, n);
			r.hi = r.lo;
		} else {
			if (dfs_pki_parse_id(f, (size_t)(dash - f),
			    &r.lo) != 0 || dfs_pki_parse_id(dash + 1,
			    n - (size_t)(dash - f) - 1, &r.hi) != 0)
				return pki_uids_bad(id, cause, "bad range", f,
				    n);
			if (r.hi <= r.lo)
				return pki_uids_bad(id, cause, "reversed or "
				    "one-uid range (write one uid as N)", f, n);
		}
		if (id->nranges > 0 && (uint64_t)r.lo <=
		    (uint64_t)id->ranges[id->nranges - 1].hi + 1)
			return pki_uids_bad(id, cause, "out of order, "
			    "overlapping or touching the range before (sort "
			    "them, and join touching ones)", f, n);
		id->ranges[id->nranges++] = r;
	}
	return 0;
}

/* The text dfs_pki_parse_uids() reads back; "" for no uids at all. */
char *
dfs_pki_uids_format(const struct dfs_identity *id)
{
	char	*s = xstrdup(""), *t;

	if (id->all_uids) {
		free(s);
		return xstrdup("all");
	}
	for (size_t i = 0; i < id->nranges && i < DFS_PKI_MAX_UID_RANGES;
	    i++) {
		const struct dfs_uid_range *r = &id->ranges[i];
		if (r->hi != r->lo)
			xasprintf(&t, "%s%s%u-%u", s, i == 0 ? "" : ",", r->lo,
			    r->hi);
		else
			xasprintf(&t, "%s%s%u", s, i == 0 ? "" : ",", r->lo);
		free(s);
		s = t;
	}
	return s;
}

/* What a host's root may claim: only the uids its certificate names. */
bool
dfs_pki_host_speaks_for(const struct dfs_identity *id, uint32_t uid)
{
	if (id->role != DFS_ROLE_HOST)
		return false;
	if (id->all_uids)
		return true;
	for (size_t i = 0; i < id->nranges && i < DFS_PKI_MAX_UID_RANGES; i++)
		if (uid >= id->ranges[i].lo && uid <= id->ranges[i].hi)
			return true;
	return false;
}

/* The one spelling of an identity; the parser reads it back exactly. */
char *
dfs_pki_identity_format(const struct dfs_identity *id)
{
	char	*s, *t;

	xasprintf(&s, "%srole=%s", PKI_URI_PREFIX,
	    dfs_pki_role_name(id->role));
	if (id->role == DFS_ROLE_HOST) {
		char *u = dfs_pki_uids_format(id);
		xasprintf(&t, "%s;uids=%s", s, u);
		free(u);
		free(s);
		return t;
	}
	if (!dfs_pki_role_has_uid(id->role))
		return s;
	xasprintf(&t, "%s;uid=%u;gid=%u", s, id->uid, id->gid);
	free(s);
	s = t;
	if (id->ngroups > 0) {
		xasprintf(&t, "%s;groups=", s);
		free(s);
		s = t;
		for (size_t i = 0; i < id->ngroups; i++) {
			xasprintf(&t, "%s%s%u", s, i == 0 ? "" : ",",
			    id->groups[i]);
			free(s);
			s = t;
		}
	}
	return s;
}

/* One "key=value" field of the URI into id; seen tracks duplicates. */
static int
pki_field(const char *f, size_t len, struct dfs_identity *id, unsigned *seen,
    char **cause)
{
	static const char *const keys[] = { "role", "uid", "gid", "groups",
	    "uids" };
	const char	*eq = memchr(f, '=', len), *v;
	size_t		 klen, vlen;
	unsigned	 k;
	char		 role[16];

	if (eq == NULL) {
		xasprintf(cause, "field '%.*s' has no '='",
		    (int)(len > 32 ? 32 : len), f);
		return -EINVAL;
	}
	klen = (size_t)(eq - f);
	v = eq + 1;
	vlen = len - klen - 1;
	for (k = 0; k < 5; k++)
		if (strlen(keys[k]) == klen && memcmp(keys[k], f, klen) == 0)
			break;
	if (k == 5) {
		xasprintf(cause, "unknown field '%.*s'",
		    (int)(klen > 32 ? 32 : klen), f);
		return -EINVAL;
	}
	if (*seen & (1u << k)) {
		xasprintf(cause, "field '%s' twice", keys[k]);
		return -EINVAL;
	}
	*seen |= 1u << k;
	switch (k) {
	case 0:
		if (vlen >= sizeof role)
			goto bad;
		memcpy(role, v, vlen);
		role[vlen] = '\0';
		if ((id->role = dfs_pki_role_parse(role)) == DFS_ROLE_NONE)
			goto bad;
		return 0;
	case 1:
		if (dfs_pki_parse_id(v, vlen, &id->uid) != 0)
			goto bad;
		return 0;
	case 2:
		if (dfs_pki_parse_id(v, vlen, &id->gid) != 0)
			goto bad;
		return 0;
	case 3:
		return dfs_pki_parse_groups(v, vlen, id->groups, &id->ngroups,
		    cause);
	default:
		return dfs_pki_parse_uids(v, vlen, id, cause);
	}
bad:
	xasprintf(cause, "bad %s '%.*s'", keys[k], (int)(vlen > 16 ? 16 : vlen),
	    v);
	return -EINVAL;
}

/* Strict: see the comment at the top of this file. */
int
dfs_pki_identity_parse(const char *uri, size_t len, struct dfs_identity *id,
    char **cause)
{
	const size_t	 plen = strlen(PKI_URI_PREFIX);
	char		*why = NULL;
	unsigned	 seen = 0;
	size_t		 start;
	int		 rc = -EINVAL;

	memset(id, 0, sizeof *id);
	if (len > DFS_PKI_URI_MAX) {
		xasprintf(&why, "%zu bytes, longer than %d", len,
		    DFS_PKI_URI_MAX);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if (uri[i] <= ' ' || uri[i] > '~') {
			xasprintf(&why, "byte %zu is not printable", i);
			goto out;
		}
	if (len < plen || memcmp(uri, PKI_URI_PREFIX, plen) != 0) {
		xasprintf(&why, "does not start with %s", PKI_URI_PREFIX);
		goto out;
	}
	start = plen;
	for (size_t i = plen; i <= len; i++) {
		if (i < len && uri[i] != ';')
			continue;
		if ((rc = pki_field(uri + start, i - start, id, &seen,
		    &why)) != 0)
			goto out;
		start = i + 1;
	}
	rc = -EINVAL;
	if (!(seen & 1)) {
		xasprintf(&why, "no role");
		goto out;
	}
	if (dfs_pki_role_has_uid(id->role) && (seen & 6) != 6) {
		xasprintf(&why, "role %s needs uid and gid",
		    dfs_pki_role_name(id->role));
		goto out;
	}
	if (!dfs_pki_role_has_uid(id->role) && (seen & 14) != 0) {
		xasprintf(&why, "role %s takes no uid, gid or groups",
		    dfs_pki_role_name(id->role));
		goto out;
	}
	if (id->role == DFS_ROLE_HOST && !(seen & 16)) {
		xasprintf(&why, "role host needs uids (all, or ranges such as "
		    "1000-1999,2500)");
		goto out;
	}
	if (id->role != DFS_ROLE_HOST && (seen & 16) != 0) {
		xasprintf(&why, "only role host takes uids");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		memset(id, 0, sizeof *id);
		if (cause != NULL)
			xasprintf(cause, "bad npdfs identity: %s", why);
	}
	free(why);
	return rc;
}

/* The subject CN, which must be a valid name. */
static int
pki_cn(X509 *cert, char *out, char **cause)
{
	X509_NAME	*subj = X509_get_subject_name(cert);
	ASN1_STRING	*s;
	int		 i, len;

	if (subj == NULL ||
	    (i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) < 0 ||
	    X509_NAME_get_index_by_NID(subj, NID_commonName, i) >= 0) {
		xasprintf(cause, "certificate needs exactly one common name");
		return -EINVAL;
	}
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
	len = ASN1_STRING_length(s);
	if (len <= 0 || len > DFS_PKI_NAME_MAX ||
	    memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len) != NULL) {
		xasprintf(cause, "certificate common name is not a name");
		return -EINVAL;
	}
	memcpy(out, ASN1_STRING_get0_data(s), (size_t)len);
	out[len] = '\0';
	if (!dfs_pki_name_valid(out)) {
		out[0] = '\0';
		xasprintf(cause, "certificate common name is not a name");
		return -EINVAL;
	}
	return 0;
}

/* What a daemon calls on a peer's certificate after the handshake. */
int
dfs_pki_identity(X509 *cert, struct dfs_identity *id, char **cause)
{
	GENERAL_NAMES	*gens;
	const char	*uri = NULL;
	size_t		 urilen = 0;
	int		 crit = -1, n = 0, rc = -EINVAL;
	char		 name[DFS_PKI_NAME_MAX + 1];

	memset(id, 0, sizeof *id);
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		xasprintf(cause, crit == -2 ? "certificate has more than one "
		    "subjectAltName extension" : "certificate has no "
		    "subjectAltName (not issued by dfs ca?)");
		return -EINVAL;
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const char *d;
		int len;

		if (g->type != GEN_URI)
			continue;
		d = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
		if (len < 6 || strncasecmp(d, PKI_URI_PREFIX, 6) != 0)
			continue;
		n++;
		uri = d;
		urilen = (size_t)len;
	}
	if (n != 1) {
		xasprintf(cause, n == 0 ? "certificate carries no npdfs "
		    "identity" : "certificate carries %d npdfs identities", n);
		goto out;
	}
	if ((rc = dfs_pki_identity_parse(uri, urilen, id, cause)) != 0)
		goto out;
	if ((rc = pki_cn(cert, name, cause)) != 0) {
		memset(id, 0, sizeof *id);
		goto out;
	}
	memcpy(id->name, name, sizeof id->name);
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/*
 * A key file must be private to its owner.  A certificate is public (it
 * is sent in every handshake), so one readable by all is fine, and the
 * CA certificate must be readable by every user; but a certificate others
 * can replace is refused, as is anything but a regular file.
 */
int
dfs_pki_check_file(const char *path, enum dfs_pki_file kind, char **cause)
{
	struct stat	st;
	mode_t		bad = kind == DFS_PKI_KEY ? 077 : 022;

	if (stat(path, &st) != 0) {
		int e = errno;
		xasprintf(cause, "%s %s: %s", kind == DFS_PKI_KEY ? "key file" :
		    "certificate file", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s is not a regular file", path);
		return -EINVAL;
	}
	if ((st.st_mode & bad) == 0)
		return 0;
	if (kind == DFS_PKI_KEY)
		xasprintf(cause, "key file %s is accessible by group or others "
		    "(mode %04o): refusing it; chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
	else
		xasprintf(cause, "certificate file %s is writable by group or "
		    "others (mode %04o): refusing it; chmod 644 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
	return -EPERM;
}

/* Every program's start-up check of its own TLS files. */
int
dfs_pki_check_config(const struct dfs_config *cfg, char **cause)
{
	static const struct {
		const char		*key;
		enum dfs_pki_file	 kind;
	} files[] = {
		{ "tls.key", DFS_PKI_KEY },
		{ "tls.cert", DFS_PKI_CERT },
		{ "tls.ca", DFS_PKI_CERT },
		{ "tls.crl", DFS_PKI_CERT },
	};
	char	*why = NULL;
	int	 rc;

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		const char *p = dfs_config_str(cfg, files[i].key);
		if (p[0] == '\0')
			continue;
		if ((rc = dfs_pki_check_file(p, files[i].kind, &why)) != 0) {
			xasprintf(cause, "%s: %s", files[i].key, why);
			free(why);
			return rc;
		}
	}
	return 0;
}

/* fsync the directory holding path, so a rename into it is durable. */
static int
pki_fsync_dir(const char *path)
{
	char	*copy = xstrdup(path);
	int	 fd, rc = 0;

	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = -errno;
	else {
		if (fsync(fd) != 0)
			rc = -errno;
		close(fd);
	}
	free(copy);
	return rc;
}

/* Never a window where the file exists with a looser mode or half-written. */
int
dfs_pki_write_file(const char *path, mode_t mode, const void *data,
    size_t len, char **cause)
{
	char		*tmp;
	const char	*p = data;
	int		 fd, rc = 0;

	xasprintf(&tmp, "%s.tmpXXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {	/* mode 0600 */
		rc = -errno;
		goto out;
	}
	if (fchmod(fd, mode) != 0)
		rc = -errno;
	while (rc == 0 && len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	else
		rc = pki_fsync_dir(path);
out:
	if (rc != 0 && cause != NULL)
		xasprintf(cause, "cannot write %s: %s", path, strerror(-rc));
	free(tmp);
	return rc;
}

/* OpenSSL's first queued error as text (none: when the queue is empty),
 * and clear the queue. */
const char *
dfs_pki_ssl_error(char *buf, size_t size, const char *none)
{
	unsigned long	e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "%s", none);
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* PEM readers of the one shape pki_load_pem takes. */
static void *
pki_read_cert(FILE *f)
{
	return PEM_read_X509(f, NULL, NULL, NULL);
}

static void *
pki_read_key(FILE *f)
{
	return PEM_read_PrivateKey(f, NULL, NULL, NULL);
}

/*
 * Check path as kind says, then read one PEM object from it with read
 * (what names it in messages).  *out: the object, caller frees.
 */
static int
pki_load_pem(const char *path, enum dfs_pki_file kind, const char *what,
    void *(*read)(FILE *), void **out, char **cause)
{
	char	 err[256];
	FILE	*f;
	int	 rc;

	*out = NULL;
	if ((rc = dfs_pki_check_file(path, kind, cause)) != 0)
		return rc;
	if ((f = fopen(path, "r")) == NULL) {
		rc = -errno;
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return rc;
	}
	*out = read(f);
	fclose(f);
	if (*out == NULL) {
		xasprintf(cause, "%s: not a %s (%s)", path, what,
		    dfs_pki_ssl_error(err, sizeof err, "not PEM"));
		return -EINVAL;
	}
	return 0;
}

/* A certificate file is checked before it is believed. */
int
dfs_pki_load_cert(const char *path, X509 **out, char **cause)
{
	void	*p;
	int	 rc;

	rc = pki_load_pem(path, DFS_PKI_CERT, "certificate", pki_read_cert,
	    &p, cause);
	*out = p;
	return rc;
}

/* A key file is refused before it is read if others could read it too. */
int
dfs_pki_load_key(const char *path, EVP_PKEY **out, char **cause)
{
	void	*p;
	int	 rc;

	rc = pki_load_pem(path, DFS_PKI_KEY, "private key", pki_read_key, &p,
	    cause);
	*out = p;
	return rc;
}

/* The CA alone is trusted: no system roots, ever. */
int
dfs_pki_store_load(const char *ca, const char *crl, X509_STORE **out,
    char **cause)
{
	X509_STORE	*st = X509_STORE_new();
	X509		*cert = NULL;
	X509_CRL	*list = NULL;
	FILE		*f = NULL;
	char		 err[256];
	int		 rc;

	*out = NULL;
	if (st == NULL)
		abort();	/* out of memory */
	if ((rc = dfs_pki_load_cert(ca, &cert, cause)) != 0)
		goto out;
	if (X509_STORE_add_cert(st, cert) != 1) {
		xasprintf(cause, "%s: %s", ca, dfs_pki_ssl_error(err,
		    sizeof err, "not PEM"));
		rc = -EINVAL;
		goto out;
	}
	if (crl != NULL && crl[0] != '\0') {
		if ((rc = dfs_pki_check_file(crl, DFS_PKI_CERT, cause)) != 0)
			goto out;
		if ((f = fopen(crl, "r")) == NULL) {
			rc = -errno;
			xasprintf(cause, "%s: %s", crl, strerror(errno));
			goto out;
		}
		if ((list = PEM_read_X509_CRL(f, NULL, NULL, NULL)) == NULL ||
		    X509_STORE_add_crl(st, list) != 1) {
			xasprintf(cause, "%s: not a revocation list (%s)", crl,
			    dfs_pki_ssl_error(err, sizeof err, "not PEM"));
			rc = -EINVAL;
			goto out;
		}
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	*out = st;
	st = NULL;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	X509_CRL_free(list);
	X509_free(cert);
	X509_STORE_free(st);
	return rc;
}

/* OpenSSL's verdict, the one the TLS handshake will give, in our terms. */
int
dfs_pki_verify(X509_STORE *st, X509 *cert, time_t now, char **cause)
{
	X509_STORE_CTX	*ctx = X509_STORE_CTX_new();
	int		 rc = 0;

	if (ctx == NULL || X509_STORE_CTX_init(ctx, st, cert, NULL) != 1)
		abort();	/* out of memory */
	if (now != 0)
		X509_STORE_CTX_set_time(ctx, 0, now);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		xasprintf(cause, "certificate refused: %s",
		    X509_verify_cert_error_string(e));
		rc = -EACCES;
	}
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	return rc;
}
