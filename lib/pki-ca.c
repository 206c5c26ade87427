/*
 * pki-ca.c: the cluster's certificate authority: make it, issue
 * certificates that carry an npdfs identity, revoke them, list them.
 *
 * The CA is a directory (layout in pki.h) rather than a database: the
 * issued certificates themselves are the record (DIR/issued/NAME.crt), so
 * "list" and "revoke" read what was really issued, and an operator can
 * inspect everything with openssl(1).  Keys are EC P-256 (small, fast to
 * make and to handshake with, what TLS 1.3 offers first) signed with
 * SHA-256.  Serial numbers are 64 random bits, as the CA/Browser forum
 * asks, so no serial counter has to survive a crash.
 *
 * Revocation is a CRL (DIR/crl.pem) re-signed with every revocation, with
 * a next-update as far away as the CA's own expiry: OpenSSL refuses an
 * expired CRL, and a cluster must not stop because nobody re-signed one.
 * Daemons load it with dfs_pki_store_load() and reload it when it changes.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "xmalloc.h"

#define PKI_CA_YEARS	20
#define PKI_LEAF_YEARS	10
#define PKI_YEAR	(365L * 86400)

struct dfs_pki_ca {
	char		*dir;
	char		*cert_path;
	char		*crl_path;
	X509		*cert;
	EVP_PKEY	*key;
};

static char *
pki_ca_path(const char *dir, const char *name)
{
	char	*p;

	xasprintf(&p, "%s/%s", dir, name);
	return p;
}

/* A new P-256 key.  Caller frees. */
static EVP_PKEY *
pki_ca_newkey(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");

	if (k == NULL)
		abort();	/* out of memory or no EC: nothing works */
	return k;
}

/* 64 random bits, positive and non-zero. */
static void
pki_ca_serial(X509 *x)
{
	unsigned char	 b[8];
	BIGNUM		*bn;

	do {
		if (RAND_bytes(b, sizeof b) != 1)
			abort();
		b[0] &= 0x7f;
	} while (b[0] == 0);
	bn = BN_bin2bn(b, sizeof b, NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
}

/* Serial as lower-case hex.  Caller frees. */
static char *
pki_ca_serial_hex(const ASN1_INTEGER *ai)
{
	BIGNUM	*bn = ASN1_INTEGER_to_BN(ai, NULL);
	char	*h = BN_bn2hex(bn), *s;

	for (char *p = h; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	s = xstrdup(h);
	OPENSSL_free(h);
	BN_free(bn);
	return s;
}

/* One extension from its openssl.cnf spelling. */
static int
pki_ca_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;
	int		 ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -EINVAL;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : -EINVAL;
}

/* PEM text of a certificate or key, written to path with mode. */
static int
pki_ca_write_pem(const char *path, mode_t mode, X509 *x, X509_CRL *crl,
    EVP_PKEY *k, char **cause)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*data;
	long	 len;
	int	 ok, rc;

	if (x != NULL)
		ok = PEM_write_bio_X509(b, x);
	else if (crl != NULL)
		ok = PEM_write_bio_X509_CRL(b, crl);
	else
		ok = PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	if (ok != 1)
		abort();
	len = BIO_get_mem_data(b, &data);
	rc = dfs_pki_write_file(path, mode, data, (size_t)len, cause);
	BIO_free(b);	/* BIO_s_mem clears its buffer */
	return rc;
}

/* Set a time to now + offset seconds. */
static void
pki_ca_time(ASN1_TIME *t, time_t at)
{
	if (ASN1_TIME_set(t, at) == NULL)
		abort();
}

/* A CRL with the CA's name, re-signed, holding revoked (may be NULL). */
static X509_CRL *
pki_ca_crl(X509 *cacert, EVP_PKEY *cakey, X509_CRL *old, X509_REVOKED *add)
{
	X509_CRL	*crl = X509_CRL_new();
	ASN1_TIME	*t = ASN1_TIME_new();
	time_t		 now = time(NULL);

	X509_CRL_set_version(crl, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(cacert));
	pki_ca_time(t, now);
	X509_CRL_set1_lastUpdate(crl, t);
	/* As long as the CA lives: an expired CRL stops the cluster. */
	X509_CRL_set1_nextUpdate(crl, X509_get0_notAfter(cacert));
	if (old != NULL) {
		STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(old);
		for (int i = 0; i < sk_X509_REVOKED_num(rev); i++)
			X509_CRL_add0_revoked(crl,
			    X509_REVOKED_dup(sk_X509_REVOKED_value(rev, i)));
	}
	if (add != NULL)
		X509_CRL_add0_revoked(crl, add);
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, cakey, EVP_sha256()) == 0)
		abort();
	ASN1_TIME_free(t);
	return crl;
}

/* The directory must not hold a CA already: never overwrite a CA key. */
int
dfs_pki_ca_init(const char *dir, char **cause)
{
	char		*certp = pki_ca_path(dir, "ca.crt");
	char		*keyp = pki_ca_path(dir, "ca.key");
	char		*crlp = pki_ca_path(dir, "crl.pem");
	char		*issued = pki_ca_path(dir, "issued");
	char		 host[64] = "", cn[128];
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	X509_CRL	*crl = NULL;
	X509_NAME	*name;
	time_t		 now = time(NULL);
	int		 rc;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		rc = -errno;
		xasprintf(cause, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	if (access(keyp, F_OK) == 0 || access(certp, F_OK) == 0) {
		rc = -EEXIST;
		xasprintf(cause, "%s already holds a CA (%s)", dir, certp);
		goto out;
	}
	if (mkdir(issued, 0755) != 0 && errno != EEXIST) {
		rc = -errno;
		xasprintf(cause, "cannot create %s: %s", issued,
		    strerror(errno));
		goto out;
	}
	key = pki_ca_newkey();
	x = X509_new();
	X509_set_version(x, X509_VERSION_3);
	pki_ca_serial(x);
	gethostname(host, sizeof host - 1);
	snprintf(cn, sizeof cn, "npdfs cluster CA %s", host);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"npdfs", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	pki_ca_time(X509_getm_notBefore(x), now - 300);
	pki_ca_time(X509_getm_notAfter(x), now + PKI_CA_YEARS * PKI_YEAR);
	X509_set_pubkey(x, key);
	if (pki_ca_ext(x, x, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0") != 0 ||
	    pki_ca_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    pki_ca_ext(x, x, NID_subject_key_identifier, "hash") != 0 ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		abort();
	crl = pki_ca_crl(x, key, NULL, NULL);
	/* The key first: a ca.crt without its key would look like a CA. */
	if ((rc = pki_ca_write_pem(keyp, 0600, NULL, NULL, key, cause)) != 0 ||
	    (rc = pki_ca_write_pem(crlp, 0644, NULL, crl, NULL, cause)) != 0 ||
	    (rc = pki_ca_write_pem(certp, 0644, x, NULL, NULL, cause)) != 0)
		goto out;
	rc = 0;
out:
	X509_CRL_free(crl);
	X509_free(x);
	EVP_PKEY_free(key);
	free(issued);
	free(crlp);
	free(keyp);
	free(certp);
	return rc;
}

/* The CA's certificate and key, checked to belong together. */
int
dfs_pki_ca_open(const char *dir, struct dfs_pki_ca **out, char **cause)
{
	struct dfs_pki_ca	*ca = xcalloc(1, sizeof *ca);
	char			*keyp = pki_ca_path(dir, "ca.key");
	int			 rc;

	*out = NULL;
	ca->dir = xstrdup(dir);
	ca->cert_path = pki_ca_path(dir, "ca.crt");
	ca->crl_path = pki_ca_path(dir, "crl.pem");
	if (access(ca->cert_path, F_OK) != 0) {
		rc = -ENOENT;
		xasprintf(cause, "no CA in %s (dfs ca init %s makes one)", dir,
		    dir);
		goto out;
	}
	if ((rc = dfs_pki_load_cert(ca->cert_path, &ca->cert, cause)) != 0 ||
	    (rc = dfs_pki_load_key(keyp, &ca->key, cause)) != 0)
		goto out;
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		rc = -EINVAL;
		xasprintf(cause, "%s does not match %s", keyp, ca->cert_path);
		goto out;
	}
	*out = ca;
	ca = NULL;
out:
	free(keyp);
	dfs_pki_ca_free(ca);
	return rc;
}

/* Free a CA handle; NULL does nothing. */
void
dfs_pki_ca_free(struct dfs_pki_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca->crl_path);
	free(ca->cert_path);
	free(ca->dir);
	free(ca);
}

/* For messages: what to copy to every host. */
const char *
dfs_pki_ca_cert_path(const struct dfs_pki_ca *ca)
{
	return ca->cert_path;
}

/* For messages: what to copy after a revocation. */
const char *
dfs_pki_ca_crl_path(const struct dfs_pki_ca *ca)
{
	return ca->crl_path;
}

/* A host name (DNS) or address (IP) as a SAN entry; NULL if neither. */
static GENERAL_NAME *
pki_ca_host(const char *h)
{
	unsigned char	 a[16];
	GENERAL_NAME	*g;
	int		 alen = 0;

	if (inet_pton(AF_INET, h, a) == 1)
		alen = 4;
	else if (inet_pton(AF_INET6, h, a) == 1)
		alen = 16;
	if (alen == 0) {
		size_t n = strlen(h);
		if (n == 0 || n > 253)
			return NULL;
		for (const char *p = h; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' &&
			    *p != '.' && *p != '*')
				return NULL;
	}
	g = GENERAL_NAME_new();
	if (alen != 0) {
		ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(o, a, alen);
		GENERAL_NAME_set0_value(g, GEN_IPADD, o);
	} else {
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		ASN1_STRING_set(s, h, -1);
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
	}
	return g;
}

/*
 * The subjectAltName built by hand, not from openssl.cnf text: that
 * syntax splits on commas, and a groups list has commas.
 */
static int
pki_ca_san(X509 *x, const struct dfs_pki_request *req, char **cause)
{
	GENERAL_NAMES	*gens = GENERAL_NAMES_new();
	GENERAL_NAME	*g = GENERAL_NAME_new();
	ASN1_IA5STRING	*s = ASN1_IA5STRING_new();
	char		*uri = dfs_pki_identity_format(&req->id);
	int		 rc = 0;

	ASN1_STRING_set(s, uri, -1);
	GENERAL_NAME_set0_value(g, GEN_URI, s);
	sk_GENERAL_NAME_push(gens, g);
	for (size_t i = 0; i < req->nhosts; i++) {
		if ((g = pki_ca_host(req->hosts[i])) == NULL) {
			xasprintf(cause, "bad host name or address '%.64s'",
			    req->hosts[i]);
			rc = -EINVAL;
			goto out;
		}
		sk_GENERAL_NAME_push(gens, g);
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) != 1)
		abort();
out:
	GENERAL_NAMES_free(gens);
	free(uri);
	return rc;
}

/* What a request must satisfy before anything is signed. */
static int
pki_ca_check_request(const struct dfs_pki_request *req, char **cause)
{
	const struct dfs_identity	*id = &req->id;
	char				*uri, *why = NULL;
	struct dfs_identity		 back;
	int				 rc;

	if (!dfs_pki_name_valid(id->name)) {
		xasprintf(cause, "bad certificate name '%.64s': use letters, "
		    "digits, '.', '_', '-' (at most %d)", id->name,
		    DFS_PKI_NAME_MAX);
		return -EINVAL;
	}
	if (dfs_pki_role_name(id->role) == NULL) {
		xasprintf(cause, "no role");
		return -EINVAL;
	}
	if (!dfs_pki_role_has_uid(id->role) &&
	    (id->uid != 0 || id->gid != 0 || id->ngroups != 0)) {
		xasprintf(cause, "role %s takes no uid, gid or groups",
		    dfs_pki_role_name(id->role));
		return -EINVAL;
	}
	if (id->role != DFS_ROLE_HOST && (id->all_uids || id->nranges != 0)) {
		xasprintf(cause, "only role host takes uids");
		return -EINVAL;
	}
	if (id->nranges > DFS_PKI_MAX_UID_RANGES) {
		xasprintf(cause, "more than %d uid ranges",
		    DFS_PKI_MAX_UID_RANGES);
		return -E2BIG;
	}
	if (id->ngroups > DFS_PKI_MAX_GROUPS) {
		xasprintf(cause, "more than %d groups", DFS_PKI_MAX_GROUPS);
		return -E2BIG;
	}
	if (req->nhosts > DFS_PKI_MAX_HOSTS) {
		xasprintf(cause, "more than %d host names", DFS_PKI_MAX_HOSTS);
		return -E2BIG;
	}
	/* What is signed must read back as the same identity. */
	uri = dfs_pki_identity_format(id);
	rc = dfs_pki_identity_parse(uri, strlen(uri), &back, &why);
	free(uri);
	if (rc != 0) {
		xasprintf(cause, "%s", why);
		free(why);
	}
	return rc;
}

/* The record is written last: a failed issue leaves the name free. */
int
dfs_pki_ca_issue(struct dfs_pki_ca *ca, const struct dfs_pki_request *req,
    const char *outdir, char **cert_path, char **key_path, char **cause)
{
	const char	*name = req->id.name;
	char		*record = NULL, *certp = NULL, *keyp = NULL, *rel;
	const char	*eku;
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	X509_NAME	*subj;
	time_t		 now = time(NULL);
	int		 rc;

	if ((rc = pki_ca_check_request(req, cause)) != 0)
		goto out;
	xasprintf(&rel, "issued/%s.crt", name);
	record = pki_ca_path(ca->dir, rel);
	free(rel);
	if (access(record, F_OK) == 0) {
		rc = -EEXIST;
		xasprintf(cause, "a certificate named %s was issued already "
		    "(%s); revoke it and issue another name", name, record);
		goto out;
	}
	if (outdir == NULL) {
		certp = xstrdup(record);
		xasprintf(&keyp, "%s/issued/%s.key", ca->dir, name);
	} else {
		xasprintf(&certp, "%s/%s.crt", outdir, name);
		xasprintf(&keyp, "%s/%s.key", outdir, name);
	}

	key = pki_ca_newkey();
	x = X509_new();
	X509_set_version(x, X509_VERSION_3);
	pki_ca_serial(x);
	subj = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_ASC,
	    (const unsigned char *)"npdfs", -1, -1, 0);
	X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca->cert));
	pki_ca_time(X509_getm_notBefore(x), req->not_before != 0 ?
	    req->not_before : now - 300);
	pki_ca_time(X509_getm_notAfter(x), req->not_after != 0 ?
	    req->not_after : now + PKI_LEAF_YEARS * PKI_YEAR);
	X509_set_pubkey(x, key);
	/* Daemons serve and call; users, hosts, the superuser only call. */
	eku = req->id.role == DFS_ROLE_NAMENODE ||
	    req->id.role == DFS_ROLE_DATANODE ? "serverAuth,clientAuth" :
	    "clientAuth";
	if (pki_ca_ext(x, ca->cert, NID_basic_constraints,
	    "critical,CA:FALSE") != 0 ||
	    pki_ca_ext(x, ca->cert, NID_key_usage,
	    "critical,digitalSignature") != 0 ||
	    pki_ca_ext(x, ca->cert, NID_ext_key_usage, eku) != 0 ||
	    pki_ca_ext(x, ca->cert, NID_subject_key_identifier, "hash") != 0 ||
	    pki_ca_ext(x, ca->cert, NID_authority_key_identifier,
	    "keyid:always") != 0)
		abort();
	if ((rc = pki_ca_san(x, req, cause)) != 0)
		goto out;
	if (X509_sign(x, ca->key, EVP_sha256()) == 0)
		abort();
	if ((rc = pki_ca_write_pem(keyp, 0600, NULL, NULL, key, cause)) != 0 ||
	    (rc = pki_ca_write_pem(certp, 0644, x, NULL, NULL, cause)) != 0)
		goto out;
	if (strcmp(certp, record) != 0 &&
	    (rc = pki_ca_write_pem(record, 0644, x, NULL, NULL, cause)) != 0)
		goto out;
	if (cert_path != NULL) {
		*cert_path = certp;
		certp = NULL;
	}
	if (key_path != NULL) {
		*key_path = keyp;
		keyp = NULL;
	}
out:
	X509_free(x);
	EVP_PKEY_free(key);
	free(keyp);
	free(certp);
	free(record);
	return rc;
}

/* The CA's current CRL.  Caller frees. */
static int
pki_ca_crl_load(struct dfs_pki_ca *ca, X509_CRL **out, char **cause)
{
	FILE	*f;

	if ((f = fopen(ca->crl_path, "r")) == NULL) {
		int e = errno;
		xasprintf(cause, "%s: %s", ca->crl_path, strerror(e));
		return -e;
	}
	*out = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL) {
		ERR_clear_error();
		xasprintf(cause, "%s is not a revocation list", ca->crl_path);
		return -EINVAL;
	}
	if (X509_CRL_verify(*out, ca->key) != 1) {
		ERR_clear_error();
		X509_CRL_free(*out);
		*out = NULL;
		xasprintf(cause, "%s is not signed by this CA", ca->crl_path);
		return -EINVAL;
	}
	return 0;
}

/* By name, so a listing reads the same every time. */
static int
pki_ca_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dfs_pki_entry *)a)->name,
	    ((const struct dfs_pki_entry *)b)->name);
}

/* One issued certificate into e. */
static int
pki_ca_entry(struct dfs_pki_ca *ca, X509_CRL *crl, const char *path,
    struct dfs_pki_entry *e, char **cause)
{
	struct dfs_identity	 id;
	X509_REVOKED		*rev;
	X509			*x;
	struct tm		 tm;
	char			*hex, *why = NULL, *uri;
	int			 rc;

	memset(e, 0, sizeof *e);
	if ((rc = dfs_pki_load_cert(path, &x, cause)) != 0)
		return rc;
	hex = pki_ca_serial_hex(X509_get0_serialNumber(x));
	snprintf(e->serial, sizeof e->serial, "%s", hex);
	free(hex);
	if (dfs_pki_identity(x, &id, &why) == 0) {
		snprintf(e->name, sizeof e->name, "%s", id.name);
		snprintf(e->role, sizeof e->role, "%s",
		    dfs_pki_role_name(id.role));
		uri = dfs_pki_identity_format(&id);
		snprintf(e->uri, sizeof e->uri, "%s", uri);
		free(uri);
	} else {
		snprintf(e->role, sizeof e->role, "?");
		snprintf(e->uri, sizeof e->uri, "(%s)", why);
		free(why);
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		e->not_after = timegm(&tm);
	e->expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
	e->revoked = crl != NULL && X509_CRL_get0_by_serial(crl, &rev,
	    X509_get0_serialNumber(x)) == 1;
	X509_free(x);
	return 0;
}

/* The issued certificates themselves are the record: read them back. */
int
dfs_pki_ca_list(struct dfs_pki_ca *ca, struct dfs_pki_entry **out,
    size_t *n, char **cause)
{
	char		*issued = pki_ca_path(ca->dir, "issued");
	X509_CRL	*crl = NULL;
	DIR		*d;
	struct dirent	*de;
	size_t		 cap = 0;
	int		 rc;

	*out = NULL;
	*n = 0;
	if ((rc = pki_ca_crl_load(ca, &crl, cause)) != 0)
		goto out;
	if ((d = opendir(issued)) == NULL) {
		rc = -errno;
		xasprintf(cause, "%s: %s", issued, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t	 len = strlen(de->d_name);
		char	*p;

		if (len < 5 || strcmp(de->d_name + len - 4, ".crt") != 0)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		p = pki_ca_path(issued, de->d_name);
		rc = pki_ca_entry(ca, crl, p, &(*out)[*n], cause);
		free(p);
		if (rc != 0)
			break;
		(*n)++;
	}
	closedir(d);
	if (rc == 0)
		qsort(*out, *n, sizeof **out, pki_ca_entry_cmp);
	else {
		free(*out);
		*out = NULL;
		*n = 0;
	}
out:
	X509_CRL_free(crl);
	free(issued);
	return rc;
}

/* Whether s names the same serial as hex (leading zeros, case aside). */
static int
pki_ca_serial_eq(const char *s, const char *hex)
{
	while (*s == '0' && s[1] != '\0')
		s++;
	while (*hex == '0' && hex[1] != '\0')
		hex++;
	return strcasecmp(s, hex) == 0;
}

/* Re-sign the CRL with one more entry; the old entries are kept. */
int
dfs_pki_ca_revoke(struct dfs_pki_ca *ca, const char *what, char **cause)
{
	struct dfs_pki_entry	*all = NULL, *e = NULL;
	X509_CRL		*old = NULL, *crl = NULL;
	X509_REVOKED		*rev;
	ASN1_TIME		*t;
	BIGNUM			*bn = NULL;
	ASN1_INTEGER		*serial;
	size_t			 n;
	int			 rc;

	if ((rc = dfs_pki_ca_list(ca, &all, &n, cause)) != 0)
		goto out;
	for (size_t i = 0; i < n && e == NULL; i++)
		if (strcmp(all[i].name, what) == 0)
			e = &all[i];
	for (size_t i = 0; i < n && e == NULL; i++)
		if (pki_ca_serial_eq(what, all[i].serial))
			e = &all[i];
	if (e == NULL) {
		rc = -ENOENT;
		xasprintf(cause, "no certificate named or numbered '%.64s' "
		    "(dfs ca list shows them)", what);
		goto out;
	}
	if (e->revoked) {
		rc = -EALREADY;
		xasprintf(cause, "%s (serial %s) is revoked already", e->name,
		    e->serial);
		goto out;
	}
	if ((rc = pki_ca_crl_load(ca, &old, cause)) != 0)
		goto out;
	if (BN_hex2bn(&bn, e->serial) == 0)
		abort();
	rev = X509_REVOKED_new();
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	X509_REVOKED_set_serialNumber(rev, serial);
	ASN1_INTEGER_free(serial);
	t = ASN1_TIME_new();
	pki_ca_time(t, time(NULL));
	X509_REVOKED_set_revocationDate(rev, t);
	ASN1_TIME_free(t);
	crl = pki_ca_crl(ca->cert, ca->key, old, rev);
	rc = pki_ca_write_pem(ca->crl_path, 0644, NULL, crl, NULL, cause);
out:
	BN_free(bn);
	X509_CRL_free(crl);
	X509_CRL_free(old);
	free(all);
	return rc;
}
