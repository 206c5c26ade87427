/*
 * cp-tls.c: the certificates of a local cluster (dfs cluster up and
 * adduser): its CA, every daemon's certificate, the invoking user's and
 * this host's, and a user's own client config.  Moved out of
 * cp-cluster.c, which starts and stops the daemons that use them.
 */
#include <sys/types.h>

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_i.h"
#include "xmalloc.h"

/* Make DIR/ca unless it holds a CA; set the keys every party shares. */
int
cp_tls_ca(const struct cp_cluster *cl, struct dfs_config *common)
{
	char	*ca = cp_path(cl, "%s", "ca"), *p, *cause = NULL;
	int	 rc = 0;

	p = cp_path(cl, "%s", "ca/ca.crt");
	if (access(p, F_OK) != 0 && dfs_pki_ca_init(ca, &cause) != 0) {
		fprintf(stderr, "dfs cluster up: %s\n", cause);
		rc = -1;
		goto out;
	}
	cp_set(common, "tls.ca", p);
	free(p);
	cp_set(common, "tls.crl", (p = cp_path(cl, "%s", "ca/crl.pem")));
out:
	free(p);
	free(cause);
	free(ca);
	return rc;
}

/*
 * Point c at NAME's certificate and key in DIR/ca/issued, issuing them
 * first when they do not exist (a new cluster, a new data node).  addr's
 * host goes into the certificate for daemons.
 */
static int
cp_tls_party(const struct cp_cluster *cl, struct dfs_config *c,
    const struct dfs_identity *id, const char *addr)
{
	struct dfs_pki_request	 req;
	char			*crt, *key, *ca = cp_path(cl, "%s", "ca");
	char			 host[256];
	const char		*colon;
	int			 rc = 0;

	xasprintf(&crt, "%s/ca/issued/%s.crt", cl->dir, id->name);
	xasprintf(&key, "%s/ca/issued/%s.key", cl->dir, id->name);
	if (access(crt, F_OK) != 0 || access(key, F_OK) != 0) {
		memset(&req, 0, sizeof req);
		req.id = *id;
		if (addr != NULL && (colon = strrchr(addr, ':')) != NULL) {
			snprintf(host, sizeof host, "%.*s", (int)(colon - addr),
			    addr);
			req.hosts[req.nhosts++] = host;
			req.hosts[req.nhosts++] = "localhost";
		}
		if (cp_ca_issue_one(ca, &req, NULL, true) != 0) {
			rc = -1;
			goto out;
		}
	}
	cp_set(c, "tls.cert", crt);
	cp_set(c, "tls.key", key);
out:
	free(ca);
	free(key);
	free(crt);
	return rc;
}

/* A daemon's identity: its role and its name (namenode, datanode2). */
int
cp_tls_daemon(const struct cp_cluster *cl, struct dfs_config *c,
    const struct cp_daemon *d, enum dfs_role role)
{
	struct dfs_identity	id;

	memset(&id, 0, sizeof id);
	id.role = role;
	snprintf(id.name, sizeof id.name, "%s", d->name);
	return cp_tls_party(cl, c, &id, d->addr);
}

/*
 * The invoking user as the certificate's identity: login name, uid, gid
 * and groups; root is the cluster's superuser.
 */
int
cp_tls_self(const struct cp_cluster *cl, struct dfs_config *c)
{
	struct dfs_identity	 id;
	struct passwd		*pw = getpwuid(geteuid());
	gid_t			 groups[DFS_PKI_MAX_GROUPS];
	int			 n;

	memset(&id, 0, sizeof id);
	id.uid = (uint32_t)geteuid();
	id.gid = (uint32_t)getegid();
	id.role = id.uid == 0 ? DFS_ROLE_SUPERUSER : DFS_ROLE_USER;
	if (pw != NULL && dfs_pki_name_valid(pw->pw_name))
		snprintf(id.name, sizeof id.name, "%s", pw->pw_name);
	else
		snprintf(id.name, sizeof id.name, "uid%u", id.uid);
	n = getgroups(DFS_PKI_MAX_GROUPS, groups);
	for (int i = 0; i < n; i++)
		if ((uint32_t)groups[i] != id.gid)
			id.groups[id.ngroups++] = (uint32_t)groups[i];
	return cp_tls_party(cl, c, &id, NULL);
}

/* DIR/host.conf: this machine's host identity, for a root dfs-mount.  On
 * one machine its root speaks for all its users: uids=all. */
int
cp_tls_host(const struct cp_cluster *cl, const struct dfs_config *common)
{
	struct dfs_config	*c = dfs_config_create();
	struct dfs_identity	 id;
	int			 rc;

	memset(&id, 0, sizeof id);
	id.role = DFS_ROLE_HOST;
	id.all_uids = true;
	snprintf(id.name, sizeof id.name, "host");
	cp_set(c, "namenode.address", cl->nn_list);
	cp_set(c, "tls.ca", dfs_config_str(common, "tls.ca"));
	cp_set(c, "tls.crl", dfs_config_str(common, "tls.crl"));
	if ((rc = cp_tls_party(cl, c, &id, "127.0.0.1:0")) == 0)
		rc = cp_write_private_conf(cl, "host.conf", c);
	dfs_config_free(c);
	return rc;
}

/*
 * dfs cluster adduser DIR NAME --uid UID --gid GID [--groups G1,G2]:
 * DIR/users/NAME.conf, a client config with NAME's own certificate and
 * key (role user), all 0600: hand them to that user (chown).
 */
int
cp_tls_adduser(struct cp_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "groups", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 }
	};
	struct cp_cluster	 cl = { 0 };
	struct dfs_pki_request	 req;
	struct dfs_config	*c = NULL;
	char			*users = NULL, *ca = NULL, *rel = NULL;
	unsigned		 seen = 0;
	int			 ch, rc = 2;

	memset(&req, 0, sizeof req);
	req.id.role = DFS_ROLE_USER;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((rc = cp_ca_id_option(ch, optarg, &req.id, &seen)) < 0)
			return 2;
		if (rc == 0)
			return cp_usage("cluster");
	}
	if (argc - optind != 2 || (seen & (CP_ID_UID | CP_ID_GID)) !=
	    (CP_ID_UID | CP_ID_GID))
		return cp_usage("cluster");
	rc = 1;
	if (!dfs_pki_name_valid(argv[optind + 1])) {
		fprintf(stderr, "dfs cluster adduser: bad user name '%.64s': "
		    "use letters, digits, '.', '_', '-'\n", argv[optind + 1]);
		return 1;
	}
	snprintf(req.id.name, sizeof req.id.name, "%s", argv[optind + 1]);
	if (cp_cluster_load(&cl, argv[optind]) != 0)
		return 1;
	if (cl.nn.addr[0] == '\0') {
		fprintf(stderr, "dfs cluster adduser: no cluster in %s (dfs "
		    "cluster up %s makes one)\n", argv[optind], argv[optind]);
		goto out;
	}
	users = cp_path(&cl, "%s", "users");
	ca = cp_path(&cl, "%s", "ca");
	cp_mkdir(users);
	if (cp_ca_issue_one(ca, &req, users, true) != 0)
		goto out;
	c = dfs_config_create();
	cp_set(c, "namenode.address", cl.nn_list);
	xasprintf(&rel, "%s/ca.crt", ca);
	cp_set(c, "tls.ca", rel);
	free(rel);
	xasprintf(&rel, "%s/crl.pem", ca);
	cp_set(c, "tls.crl", rel);
	free(rel);
	xasprintf(&rel, "%s/%s.crt", users, req.id.name);
	cp_set(c, "tls.cert", rel);
	free(rel);
	xasprintf(&rel, "%s/%s.key", users, req.id.name);
	cp_set(c, "tls.key", rel);
	free(rel);
	xasprintf(&rel, "users/%s.conf", req.id.name);
	if (cp_write_private_conf(&cl, rel, c) != 0)
		goto out;
	printf("%s/%s\n", cl.dir, rel);
	rc = 0;
out:
	free(rel);
	dfs_config_free(c);
	free(ca);
	free(users);
	free(cl.dir);
	return rc;
}
