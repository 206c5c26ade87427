/*
 * test-pki.c: the cluster CA and the identities its certificates carry.
 *
 * Certificates are issued by lib/pki-ca.c and checked by OpenSSL's own
 * verifier (dfs_pki_verify is a thin wrapper over X509_verify_cert), so
 * "valid", "wrong CA", "expired" and "revoked" are OpenSSL's verdicts,
 * not ours.  The identity parser gets hostile input first: URIs too long,
 * numbers out of range or in odd spellings, missing and repeated fields,
 * and certificates built here by hand with two identities, none, or a
 * name that is a path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "xmalloc.h"

static char	 tmpdir[] = "/tmp/test-pki.XXXXXX";
static char	*ca_dir;		/* tmpdir/ca */
static char	*ca2_dir;		/* tmpdir/other: another CA */

static int
setup(void **state)
{
	char	*cause = NULL;

	if (mkdtemp(tmpdir) == NULL)
		return -1;
	xasprintf(&ca_dir, "%s/ca", tmpdir);
	xasprintf(&ca2_dir, "%s/other", tmpdir);
	if (dfs_pki_ca_init(ca_dir, &cause) != 0 ||
	    dfs_pki_ca_init(ca2_dir, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	char	*cmd;

	xasprintf(&cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	free(ca_dir);
	free(ca2_dir);
	return 0;
}

/* Issue name from the CA in dir; returns its certificate (caller frees). */
static X509 *
issue(const char *dir, struct dfs_pki_request *req, const char *name)
{
	struct dfs_pki_ca	*ca = NULL;
	char			*cause = NULL, *crt = NULL, *key = NULL;
	X509			*x = NULL;

	snprintf(req->id.name, sizeof req->id.name, "%s", name);
	assert_int_equal(dfs_pki_ca_open(dir, &ca, &cause), 0);
	if (dfs_pki_ca_issue(ca, req, NULL, &crt, &key, &cause) != 0)
		fail_msg("issue %s: %s", name, cause);
	assert_int_equal(dfs_pki_load_cert(crt, &x, &cause), 0);
	free(crt);
	free(key);
	dfs_pki_ca_free(ca);
	return x;
}

static X509_STORE *
store(const char *dir)
{
	X509_STORE	*st = NULL;
	char		*ca, *crl, *cause = NULL;

	xasprintf(&ca, "%s/ca.crt", dir);
	xasprintf(&crl, "%s/crl.pem", dir);
	if (dfs_pki_store_load(ca, crl, &st, &cause) != 0)
		fail_msg("store: %s", cause);
	free(ca);
	free(crl);
	return st;
}

/* Verify and return the cause (caller frees) or NULL when accepted. */
static char *
verify(X509_STORE *st, X509 *x, time_t now)
{
	char	*cause = NULL;
	int	 rc = dfs_pki_verify(st, x, now, &cause);

	if (rc == 0) {
		assert_null(cause);
		return NULL;
	}
	assert_int_equal(rc, -EACCES);
	assert_non_null(cause);
	return cause;
}

static void
test_issue_verify(void **state)
{
	struct dfs_pki_request	 req = { .id.role = DFS_ROLE_DATANODE };
	struct dfs_identity	 id;
	X509_STORE		*st = store(ca_dir);
	X509			*x;
	char			*cause = NULL;

	req.hosts[req.nhosts++] = "b.example.org";
	req.hosts[req.nhosts++] = "10.0.0.2";
	req.hosts[req.nhosts++] = "::1";
	x = issue(ca_dir, &req, "dn-b");
	assert_null(verify(st, x, 0));
	assert_int_equal(dfs_pki_identity(x, &id, &cause), 0);
	assert_int_equal(id.role, DFS_ROLE_DATANODE);
	assert_string_equal(id.name, "dn-b");
	assert_int_equal(id.ngroups, 0);
	/* The host names are there for TLS hostname checks. */
	assert_int_equal(X509_check_host(x, "b.example.org", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "c.example.org", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(x, "10.0.0.2", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "10.0.0.3", 0), 0);
	/* A leaf may not sign: it is not a CA. */
	assert_int_equal(X509_check_ca(x), 0);
	X509_free(x);
	X509_STORE_free(st);
}

static void
test_user_round_trip(void **state)
{
	struct dfs_pki_request	 req = { .id.role = DFS_ROLE_USER };
	struct dfs_identity	 id;
	X509_STORE		*st = store(ca_dir);
	X509			*x;
	char			*cause = NULL;

	req.id.uid = 4294967294u;	/* the largest uid there is */
	req.id.gid = 0;
	req.id.ngroups = DFS_PKI_MAX_GROUPS;
	for (size_t i = 0; i < DFS_PKI_MAX_GROUPS; i++)
		req.id.groups[i] = (uint32_t)(1000000000u + i * 7);
	x = issue(ca_dir, &req, "alice");
	assert_null(verify(st, x, 0));
	assert_int_equal(dfs_pki_identity(x, &id, &cause), 0);
	assert_int_equal(id.role, DFS_ROLE_USER);
	assert_int_equal(id.uid, 4294967294u);
	assert_int_equal(id.gid, 0);
	assert_int_equal(id.ngroups, DFS_PKI_MAX_GROUPS);
	assert_memory_equal(id.groups, req.id.groups, sizeof id.groups);
	assert_string_equal(id.name, "alice");
	X509_free(x);

	memset(&req, 0, sizeof req);
	req.id.role = DFS_ROLE_SUPERUSER;
	req.id.groups[0] = 10;
	req.id.groups[1] = 20;
	req.id.ngroups = 2;
	x = issue(ca_dir, &req, "root");
	assert_int_equal(dfs_pki_identity(x, &id, &cause), 0);
	assert_int_equal(id.role, DFS_ROLE_SUPERUSER);
	assert_int_equal(id.uid, 0);
	assert_int_equal(id.ngroups, 2);
	assert_int_equal(id.groups[1], 20);
	X509_free(x);
	X509_STORE_free(st);
}

static void
test_wrong_ca(void **state)
{
	struct dfs_pki_request	 req = { .id.role = DFS_ROLE_NAMENODE };
	X509_STORE		*st = store(ca_dir), *st2 = store(ca2_dir);
	X509			*x = issue(ca2_dir, &req, "intruder");
	char			*cause;

	assert_null(verify(st2, x, 0));
	assert_non_null(cause = verify(st, x, 0));
	assert_non_null(strstr(cause, "unable to get local issuer"));
	free(cause);
	X509_free(x);
	X509_STORE_free(st);
	X509_STORE_free(st2);
}

static void
test_expired(void **state)
{
	struct dfs_pki_request	 req = { .id.role = DFS_ROLE_HOST,
				    .id.all_uids = true };
	X509_STORE		*st = store(ca_dir);
	X509			*x;
	char			*cause;
	time_t			 now = time(NULL);

	req.not_before = now - 2 * 86400;
	req.not_after = now - 86400;
	x = issue(ca_dir, &req, "old-host");
	assert_non_null(cause = verify(st, x, 0));
	assert_non_null(strstr(cause, "expired"));
	free(cause);
	X509_free(x);

	/* Good for an hour: accepted now, refused two hours on. */
	memset(&req, 0, sizeof req);
	req.id.role = DFS_ROLE_HOST;
	req.id.all_uids = true;
	req.not_after = now + 3600;
	x = issue(ca_dir, &req, "hour-host");
	assert_null(verify(st, x, 0));
	assert_non_null(cause = verify(st, x, now + 7200));
	assert_non_null(strstr(cause, "expired"));
	free(cause);
	X509_free(x);

	/* And one not yet valid. */
	memset(&req, 0, sizeof req);
	req.id.role = DFS_ROLE_HOST;
	req.id.all_uids = true;
	req.not_before = now + 86400;
	req.not_after = now + 2 * 86400;
	x = issue(ca_dir, &req, "future-host");
	assert_non_null(cause = verify(st, x, 0));
	assert_non_null(strstr(cause, "not yet valid"));
	free(cause);
	X509_free(x);
	X509_STORE_free(st);
}

static struct dfs_pki_entry *
find(struct dfs_pki_entry *all, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0)
			return &all[i];
	return NULL;
}

static void
test_revoked(void **state)
{
	struct dfs_pki_request	 req = { .id.role = DFS_ROLE_USER };
	struct dfs_pki_entry	*all, *e;
	struct dfs_pki_ca	*ca;
	X509_STORE		*before = store(ca_dir), *after;
	X509			*x, *y;
	char			*cause = NULL, serial[80];
	size_t			 n;

	req.id.uid = req.id.gid = 1001;
	x = issue(ca_dir, &req, "bob");
	y = issue(ca_dir, &req, "carol");
	X509_free(issue(ca_dir, &req, "dave"));
	assert_int_equal(dfs_pki_ca_open(ca_dir, &ca, &cause), 0);
	assert_int_equal(dfs_pki_ca_revoke(ca, "bob", &cause), 0);
	/* Revoking twice says so. */
	assert_int_equal(dfs_pki_ca_revoke(ca, "bob", &cause), -EALREADY);
	free(cause);
	cause = NULL;
	assert_int_equal(dfs_pki_ca_revoke(ca, "nobody", &cause), -ENOENT);
	free(cause);
	cause = NULL;

	after = store(ca_dir);
	assert_non_null(cause = verify(after, x, 0));
	assert_non_null(strstr(cause, "revoked"));
	free(cause);
	assert_null(verify(after, y, 0));
	/* A store loaded before the revocation knows nothing of it: a
	 * daemon must reload crl.pem. */
	assert_null(verify(before, x, 0));

	/* By serial, with leading zeros and upper case. */
	assert_int_equal(dfs_pki_ca_list(ca, &all, &n, &cause), 0);
	assert_non_null(e = find(all, n, "carol"));
	assert_false(e->revoked);
	snprintf(serial, sizeof serial, "000%s", e->serial);
	for (char *p = serial; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	free(all);
	assert_int_equal(dfs_pki_ca_revoke(ca, serial, &cause), 0);
	assert_int_equal(dfs_pki_ca_list(ca, &all, &n, &cause), 0);
	assert_true(find(all, n, "carol")->revoked);
	assert_true(find(all, n, "bob")->revoked);
	assert_non_null(find(all, n, "dave"));
	assert_false(find(all, n, "dave")->revoked);
	assert_string_equal(find(all, n, "bob")->role, "user");
	free(all);
	X509_STORE_free(after);
	after = store(ca_dir);
	assert_non_null(cause = verify(after, y, 0));
	free(cause);
	assert_non_null(cause = verify(after, x, 0));	/* still revoked */
	free(cause);

	dfs_pki_ca_free(ca);
	X509_free(x);
	X509_free(y);
	X509_STORE_free(before);
	X509_STORE_free(after);
}

static void
test_issue_refused(void **state)
{
	struct dfs_pki_request	 req = { .id.role = DFS_ROLE_DATANODE };
	struct dfs_pki_ca	*ca;
	char			*cause = NULL;

	assert_int_equal(dfs_pki_ca_init(ca_dir, &cause), -EEXIST);
	free(cause);
	cause = NULL;
	assert_int_equal(dfs_pki_ca_open(ca_dir, &ca, &cause), 0);
	snprintf(req.id.name, sizeof req.id.name, "twice");
	assert_int_equal(dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL, &cause),
	    0);
	assert_int_equal(dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL, &cause),
	    -EEXIST);
	free(cause);
	cause = NULL;
	snprintf(req.id.name, sizeof req.id.name, "../escape");
	assert_int_equal(dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL, &cause),
	    -EINVAL);
	free(cause);
	cause = NULL;
	snprintf(req.id.name, sizeof req.id.name, "badhost");
	req.hosts[req.nhosts++] = "a b";
	assert_int_equal(dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL, &cause),
	    -EINVAL);
	free(cause);
	cause = NULL;
	/* A datanode with a uid is a contradiction, not a datanode. */
	req.nhosts = 0;
	req.id.uid = 5;
	snprintf(req.id.name, sizeof req.id.name, "dn-uid");
	assert_int_equal(dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL, &cause),
	    -EINVAL);
	free(cause);
	dfs_pki_ca_free(ca);
}

/* A host's uids survive issue and read-back, and bound what it speaks
 * for; requests the parser would not read back are never signed. */
static void
test_host_uids(void **state)
{
	struct dfs_pki_request	 req = { .id.role = DFS_ROLE_HOST };
	struct dfs_pki_ca	*ca;
	struct dfs_identity	 id;
	X509			*x;
	char			*cause = NULL, *u;

	assert_int_equal(dfs_pki_parse_uids("1000-1999,2500", 14, &req.id,
	    &cause), 0);
	x = issue(ca_dir, &req, "mnt-b");
	assert_int_equal(dfs_pki_identity(x, &id, &cause), 0);
	X509_free(x);
	assert_int_equal(id.role, DFS_ROLE_HOST);
	assert_false(id.all_uids);
	assert_int_equal(id.nranges, 2);
	u = dfs_pki_uids_format(&id);
	assert_string_equal(u, "1000-1999,2500");
	free(u);
	assert_false(dfs_pki_host_speaks_for(&id, 0));
	assert_false(dfs_pki_host_speaks_for(&id, 999));
	assert_true(dfs_pki_host_speaks_for(&id, 1000));
	assert_true(dfs_pki_host_speaks_for(&id, 1999));
	assert_false(dfs_pki_host_speaks_for(&id, 2000));
	assert_false(dfs_pki_host_speaks_for(&id, 2499));
	assert_true(dfs_pki_host_speaks_for(&id, 2500));
	assert_false(dfs_pki_host_speaks_for(&id, 2501));
	assert_false(dfs_pki_host_speaks_for(&id, 4294967294u));
	/* Only a host speaks for anyone this way, whatever it carries. */
	id.role = DFS_ROLE_USER;
	assert_false(dfs_pki_host_speaks_for(&id, 1000));
	id.role = DFS_ROLE_HOST;
	id.nranges = 0;
	assert_false(dfs_pki_host_speaks_for(&id, 1000));
	id.all_uids = true;
	assert_true(dfs_pki_host_speaks_for(&id, 0));
	assert_true(dfs_pki_host_speaks_for(&id, 4294967294u));

	/* Refused before signing: a host with no uids, ranges out of order
	 * (made by hand, past the parser), too many, ranges on a user. */
	assert_int_equal(dfs_pki_ca_open(ca_dir, &ca, &cause), 0);
	memset(&req, 0, sizeof req);
	req.id.role = DFS_ROLE_HOST;
	snprintf(req.id.name, sizeof req.id.name, "nouids");
	assert_int_equal(dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL, &cause),
	    -EINVAL);
	assert_non_null(strstr(cause, "uids"));
	free(cause);
	req.id.nranges = 2;
	req.id.ranges[0].lo = req.id.ranges[0].hi = 50;
	req.id.ranges[1].lo = req.id.ranges[1].hi = 40;
	assert_int_equal(dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL, &cause),
	    -EINVAL);
	assert_non_null(strstr(cause, "out of order"));
	free(cause);
	req.id.nranges = DFS_PKI_MAX_UID_RANGES + 1;
	assert_int_equal(dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL, &cause),
	    -E2BIG);
	free(cause);
	memset(&req, 0, sizeof req);
	req.id.role = DFS_ROLE_USER;
	req.id.uid = req.id.gid = 7;
	req.id.all_uids = true;
	snprintf(req.id.name, sizeof req.id.name, "useruids");
	assert_int_equal(dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL, &cause),
	    -EINVAL);
	assert_non_null(strstr(cause, "only role host"));
	free(cause);
	dfs_pki_ca_free(ca);
}

/* Good and bad identity URIs, the bad ones each for one reason. */
static void
test_parse_hostile(void **state)
{
	static const char *const good[] = {
		"npdfs:role=namenode",
		"npdfs:role=datanode",
		"npdfs:role=host;uids=all",
		"npdfs:uids=1000-1999,2500;role=host",
		"npdfs:role=host;uids=0",
		"npdfs:role=host;uids=0-4294967294",
		"npdfs:role=host;uids=1,3,5-6,8-4294967294",
		"npdfs:role=user;uid=0;gid=0",
		"npdfs:gid=7;uid=1000;role=user",
		"npdfs:role=user;uid=4294967294;gid=1;groups=",
		"npdfs:role=superuser;uid=0;gid=0;groups=1,2,3",
	};
	static const char *const bad[] = {
		"",
		"npdfs:",
		"npdfs:role=",
		"npdfs:role=root",
		"npdfs:role=user",			/* no uid, gid */
		"npdfs:role=user;uid=1",		/* no gid */
		"npdfs:role=datanode;uid=1",		/* uid on a daemon */
		"npdfs:role=host;uids=all;groups=1",
		"npdfs:role=host;uids=all;uid=1;gid=1",
		"npdfs:role=host",			/* no uids */
		"npdfs:role=host;uids=",		/* empty */
		"npdfs:role=host;uids=1000-1999;uids=all",
		"npdfs:role=user;uid=1;gid=1;uids=1",	/* only hosts */
		"npdfs:role=superuser;uid=0;gid=0;uids=all",
		"npdfs:role=datanode;uids=all",
		"npdfs:role=host;uids=ALL",
		"npdfs:role=host;uids=all,1",
		"npdfs:role=host;uids=1,all",
		"npdfs:role=host;uids=*",
		"npdfs:role=host;uids=1999-1000",	/* reversed */
		"npdfs:role=host;uids=5-5",		/* one uid is "5" */
		"npdfs:role=host;uids=2000,1000",	/* out of order */
		"npdfs:role=host;uids=1000-1999,1500",	/* overlapping */
		"npdfs:role=host;uids=1000-1999,1999-2500",
		"npdfs:role=host;uids=1000-1999,2000",	/* touching */
		"npdfs:role=host;uids=5,5",		/* repeated */
		"npdfs:role=host;uids=0-4294967295",	/* (uid_t)-1 */
		"npdfs:role=host;uids=4294967296",
		"npdfs:role=host;uids=01-5",
		"npdfs:role=host;uids=1-05",
		"npdfs:role=host;uids=-5",
		"npdfs:role=host;uids=5-",
		"npdfs:role=host;uids=-",
		"npdfs:role=host;uids=1--5",
		"npdfs:role=host;uids=1-2-3",
		"npdfs:role=host;uids=+1-2",
		"npdfs:role=host;uids=1,,3",
		"npdfs:role=host;uids=1,",
		"npdfs:role=host;uids=,1",
		"npdfs:role=host;uids=0x10",
		"npdfs:role=host;uids=1:2",
		"npdfs:role=user;uid=4294967295;gid=1",	/* (uid_t)-1 */
		"npdfs:role=user;uid=4294967296;gid=1",
		"npdfs:role=user;uid=99999999999;gid=1",
		"npdfs:role=user;uid=-1;gid=1",
		"npdfs:role=user;uid=+1;gid=1",
		"npdfs:role=user;uid=01;gid=1",
		"npdfs:role=user;uid=1e3;gid=1",
		"npdfs:role=user;uid=0x10;gid=1",
		"npdfs:role=user;uid=;gid=1",
		"npdfs:role=user;uid=1;gid=1;groups=1,,2",
		"npdfs:role=user;uid=1;gid=1;groups=1,",
		"npdfs:role=user;uid=1;gid=1;groups=,1",
		"npdfs:role=user;uid=1;uid=2;gid=1",	/* twice */
		"npdfs:role=user;role=superuser;uid=1;gid=1",
		"npdfs:role=user;uid=1;gid=1;shell=sh",	/* unknown */
		"npdfs:role=user;;uid=1;gid=1",
		"npdfs:role=user;uid=1;gid=1;",
		"npdfs:role=user;uid 1;gid=1",
		"npdfs:role=user; uid=1;gid=1",
		"npdfs:role=user;uid=1;gid=1\n",
		"NPDFS:role=namenode",
		"npdfx:role=namenode",
		"https://npdfs/role=namenode",
		"npdfs:ROLE=namenode",
	};
	struct dfs_identity	 id;
	char			*cause, *big;
	size_t			 n;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		cause = NULL;
		if (dfs_pki_identity_parse(good[i], strlen(good[i]), &id,
		    &cause) != 0)
			fail_msg("refused %s: %s", good[i], cause);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		if (dfs_pki_identity_parse(bad[i], strlen(bad[i]), &id,
		    &cause) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(cause);
		assert_int_equal(id.role, DFS_ROLE_NONE);	/* cleared */
		free(cause);
	}

	/* A NUL inside: the length, not the terminator, is the end. */
	cause = NULL;
	assert_int_equal(dfs_pki_identity_parse("npdfs:role=host\0;x", 18,
	    &id, &cause), -EINVAL);
	free(cause);

	/* One group too many, and the most allowed. */
	big = xstrdup("npdfs:role=user;uid=1;gid=1;groups=1");
	for (int i = 1; i < DFS_PKI_MAX_GROUPS; i++) {
		char *t;
		xasprintf(&t, "%s,%d", big, i + 1);
		free(big);
		big = t;
	}
	cause = NULL;
	assert_int_equal(dfs_pki_identity_parse(big, strlen(big), &id, &cause),
	    0);
	assert_int_equal(id.ngroups, DFS_PKI_MAX_GROUPS);
	assert_int_equal(id.groups[DFS_PKI_MAX_GROUPS - 1], DFS_PKI_MAX_GROUPS);
	{
		char *t;
		xasprintf(&t, "%s,99", big);
		free(big);
		big = t;
	}
	assert_int_not_equal(dfs_pki_identity_parse(big, strlen(big), &id,
	    &cause), 0);
	assert_non_null(strstr(cause, "groups"));
	free(cause);
	free(big);

	/* The most uid ranges allowed, and one more. */
	big = xstrdup("npdfs:role=host;uids=0-1");
	for (int i = 1; i < DFS_PKI_MAX_UID_RANGES; i++) {
		char *t;
		xasprintf(&t, "%s,%d-%d", big, 10 * i, 10 * i + 5);
		free(big);
		big = t;
	}
	cause = NULL;
	assert_int_equal(dfs_pki_identity_parse(big, strlen(big), &id, &cause),
	    0);
	assert_int_equal(id.nranges, DFS_PKI_MAX_UID_RANGES);
	assert_int_equal(id.ranges[DFS_PKI_MAX_UID_RANGES - 1].hi,
	    10 * (DFS_PKI_MAX_UID_RANGES - 1) + 5);
	{
		char *t;
		xasprintf(&t, "%s,9999", big);
		free(big);
		big = t;
	}
	assert_int_equal(dfs_pki_identity_parse(big, strlen(big), &id,
	    &cause), -EINVAL);
	assert_non_null(strstr(cause, "more than 16 ranges"));
	assert_int_equal(id.nranges, 0);
	free(cause);
	free(big);

	/* Too long, even when every byte is a harmless one. */
	n = DFS_PKI_URI_MAX + 1;
	big = xmalloc(n);
	memcpy(big, "npdfs:role=host", 15);
	memset(big + 15, 'x', n - 15);
	cause = NULL;
	assert_int_equal(dfs_pki_identity_parse(big, n, &id, &cause), -EINVAL);
	assert_non_null(strstr(cause, "longer"));
	free(cause);
	free(big);
}

/* Format then parse gives back the identity, for every role. */
static void
test_format_round_trip(void **state)
{
	struct dfs_identity	 in, out;
	char			*uri, *cause = NULL;

	for (int r = DFS_ROLE_NAMENODE; r <= DFS_ROLE_SUPERUSER; r++) {
		memset(&in, 0, sizeof in);
		in.role = (enum dfs_role)r;
		if (in.role == DFS_ROLE_HOST) {
			in.nranges = 3;
			in.ranges[0].lo = in.ranges[0].hi = 0;
			in.ranges[1].lo = 1000;
			in.ranges[1].hi = 1999;
			in.ranges[2].lo = 2001;
			in.ranges[2].hi = 4294967294u;
		}
		if (dfs_pki_role_has_uid(in.role)) {
			in.uid = 1000 + (uint32_t)r;
			in.gid = 100;
			in.ngroups = 3;
			in.groups[0] = 0;
			in.groups[1] = 7;
			in.groups[2] = 4294967294u;
		}
		uri = dfs_pki_identity_format(&in);
		assert_int_equal(dfs_pki_identity_parse(uri, strlen(uri), &out,
		    &cause), 0);
		assert_memory_equal(&in, &out, sizeof in);
		assert_int_equal(dfs_pki_role_parse(dfs_pki_role_name(in.role)),
		    in.role);
		free(uri);
	}
	assert_null(dfs_pki_role_name(DFS_ROLE_NONE));
	assert_null(dfs_pki_role_name((enum dfs_role)99));
	assert_int_equal(dfs_pki_role_parse("admin"), DFS_ROLE_NONE);
}

/* A certificate made here, with whatever SAN URIs and CN a test wants. */
static X509 *
handmade(const char *cn, const char *const *uris, size_t nuris, bool san)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	X509_NAME	*name = X509_get_subject_name(x);

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	if (san) {
		GENERAL_NAMES *gens = GENERAL_NAMES_new();
		for (size_t i = 0; i < nuris; i++) {
			GENERAL_NAME *g = GENERAL_NAME_new();
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();
			ASN1_STRING_set(s, uris[i], -1);
			GENERAL_NAME_set0_value(g, GEN_URI, s);
			sk_GENERAL_NAME_push(gens, g);
		}
		X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0);
		GENERAL_NAMES_free(gens);
	}
	X509_sign(x, k, EVP_sha256());
	EVP_PKEY_free(k);
	return x;
}

static void
test_identity_cert_hostile(void **state)
{
	static const char *const one[] = { "npdfs:role=host;uids=all" };
	static const char *const two[] = { "npdfs:role=user;uid=1;gid=1",
	    "npdfs:role=superuser;uid=0;gid=0" };
	static const char *const other[] = { "https://example.org/" };
	static const char *const badone[] = { "npdfs:role=user;uid=0" };
	struct dfs_identity	 id;
	struct {
		X509		*x;
		const char	*why;
	} cases[] = {
		{ handmade("h", two, 2, true), "2 npdfs identities" },
		{ handmade("h", other, 1, true), "no npdfs identity" },
		{ handmade("h", NULL, 0, false), "no subjectAltName" },
		{ handmade("h", badone, 1, true), "needs uid and gid" },
		{ handmade("../h", one, 1, true), "common name" },
		{ handmade(NULL, one, 1, true), "common name" },
		{ handmade("", one, 1, true), "common name" },
	};
	X509	*good = handmade("h", one, 1, true);
	char	*cause = NULL;

	assert_int_equal(dfs_pki_identity(good, &id, &cause), 0);
	assert_int_equal(id.role, DFS_ROLE_HOST);
	assert_string_equal(id.name, "h");
	X509_free(good);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		assert_int_equal(dfs_pki_identity(cases[i].x, &id, &cause),
		    -EINVAL);
		if (strstr(cause, cases[i].why) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, cause,
			    cases[i].why);
		assert_int_equal(id.role, DFS_ROLE_NONE);
		free(cause);
		X509_free(cases[i].x);
	}
}

static void
test_check_file(void **state)
{
	char		*key, *crt, *cause = NULL;
	EVP_PKEY	*k = NULL;
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	int		 files = 0;

	xasprintf(&key, "%s/k.pem", tmpdir);
	xasprintf(&crt, "%s/c.pem", tmpdir);
	assert_int_equal(dfs_pki_write_file(key, 0600, "secret\n", 7, &cause),
	    0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 7);
	assert_int_equal(dfs_pki_check_file(key, DFS_PKI_KEY, &cause), 0);
	for (mode_t m = 01; m <= 040; m <<= 1) {
		chmod(key, 0600 | m);
		assert_int_equal(dfs_pki_check_file(key, DFS_PKI_KEY, &cause),
		    -EPERM);
		assert_non_null(strstr(cause, key));	/* names the file */
		free(cause);
		cause = NULL;
	}
	chmod(key, 0644);
	assert_int_equal(dfs_pki_load_key(key, &k, &cause), -EPERM);
	assert_null(k);
	free(cause);
	cause = NULL;
	chmod(key, 0400);
	assert_int_equal(dfs_pki_check_file(key, DFS_PKI_KEY, &cause), 0);
	/* Right mode, wrong content. */
	assert_int_equal(dfs_pki_load_key(key, &k, &cause), -EINVAL);
	free(cause);
	cause = NULL;

	/* Certificates are public, but nobody else may replace them. */
	assert_int_equal(dfs_pki_write_file(crt, 0644, "x", 1, &cause), 0);
	assert_int_equal(dfs_pki_check_file(crt, DFS_PKI_CERT, &cause), 0);
	chmod(crt, 0664);
	assert_int_equal(dfs_pki_check_file(crt, DFS_PKI_CERT, &cause), -EPERM);
	assert_non_null(strstr(cause, crt));
	free(cause);
	cause = NULL;
	chmod(crt, 0646);
	assert_int_equal(dfs_pki_check_file(crt, DFS_PKI_CERT, &cause), -EPERM);
	free(cause);
	cause = NULL;

	assert_int_equal(dfs_pki_check_file(tmpdir, DFS_PKI_KEY, &cause),
	    -EINVAL);
	free(cause);
	cause = NULL;
	unlink(crt);
	assert_int_equal(dfs_pki_check_file(crt, DFS_PKI_CERT, &cause),
	    -ENOENT);
	assert_non_null(strstr(cause, crt));
	free(cause);

	/* No temporary file is left behind. */
	assert_non_null(d = opendir(tmpdir));
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, "tmp") != NULL)
			fail_msg("left %s", de->d_name);
		else if (de->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 3);	/* ca, other, k.pem */
	unlink(key);
	free(key);
	free(crt);
}

/* Issued key files are 0600 and hold the key of the certificate. */
static void
test_issued_files(void **state)
{
	struct dfs_pki_request	 req = { .id.role = DFS_ROLE_NAMENODE };
	struct dfs_pki_ca	*ca;
	char			*cause = NULL, *crt, *key, *out;
	struct stat		 st;
	EVP_PKEY		*k;
	X509			*x;

	xasprintf(&out, "%s/ca/issued", tmpdir);
	snprintf(req.id.name, sizeof req.id.name, "nn");
	req.hosts[req.nhosts++] = "localhost";
	assert_int_equal(dfs_pki_ca_open(ca_dir, &ca, &cause), 0);
	assert_int_equal(dfs_pki_ca_issue(ca, &req, tmpdir, &crt, &key,
	    &cause), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(dfs_pki_load_key(key, &k, &cause), 0);
	assert_int_equal(dfs_pki_load_cert(crt, &x, &cause), 0);
	assert_int_equal(X509_check_private_key(x, k), 1);
	/* The record in the CA directory, but not the key. */
	free(key);
	xasprintf(&key, "%s/nn.crt", out);
	assert_int_equal(access(key, F_OK), 0);
	free(key);
	xasprintf(&key, "%s/nn.key", out);
	assert_int_not_equal(access(key, F_OK), 0);
	free(key);
	xasprintf(&key, "%s/ca/ca.key", tmpdir);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	EVP_PKEY_free(k);
	X509_free(x);
	dfs_pki_ca_free(ca);
	free(crt);
	free(key);
	free(out);
}

static void
test_names(void **state)
{
	assert_true(dfs_pki_name_valid("datanode12"));
	assert_true(dfs_pki_name_valid("a.b_c-d"));
	assert_false(dfs_pki_name_valid(""));
	assert_false(dfs_pki_name_valid(".hidden"));
	assert_false(dfs_pki_name_valid("-opt"));
	assert_false(dfs_pki_name_valid("a/b"));
	assert_false(dfs_pki_name_valid("a b"));
	assert_false(dfs_pki_name_valid("caf\xc3\xa9"));
	assert_true(dfs_pki_name_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(dfs_pki_name_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_uids),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_identity_cert_hostile),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_check_file),
		cmocka_unit_test(test_issue_verify),
		cmocka_unit_test(test_user_round_trip),
		cmocka_unit_test(test_wrong_ca),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_issue_refused),
		cmocka_unit_test(test_issued_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
