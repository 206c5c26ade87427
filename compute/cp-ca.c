/*
 * cp-ca.c: dfs ca init/issue/list/revoke: the operator's hands on the
 * cluster CA (lib/pki-ca.c does the work).  "dfs cluster up" uses the
 * same functions for a cluster on one machine.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_i.h"
#include "pki.h"
#include "xmalloc.h"

/* "--groups 10,20" or group names ("wheel,staff") into id.  0 or 2. */
static int
cp_ca_groups(const char *arg, struct dfs_identity *id)
{
	char	*copy = xstrdup(arg), *tok, *save = NULL;
	int	 rc = 0;

	if (dfs_pki_parse_groups(arg, strlen(arg), id->groups, &id->ngroups,
	    NULL) == 0)
		goto out;
	id->ngroups = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		struct group *g;
		if (id->ngroups == DFS_PKI_MAX_GROUPS) {
			fprintf(stderr, "dfs: --groups: more than %d groups\n",
			    DFS_PKI_MAX_GROUPS);
			rc = 2;
			goto out;
		}
		if (dfs_pki_parse_id(tok, strlen(tok),
		    &id->groups[id->ngroups]) == 0) {
			id->ngroups++;
			continue;
		}
		if ((g = getgrnam(tok)) == NULL) {
			fprintf(stderr, "dfs: --groups: no group '%s'\n", tok);
			rc = 2;
			goto out;
		}
		id->groups[id->ngroups++] = (uint32_t)g->gr_gid;
	}
out:
	free(copy);
	return rc;
}

/* A --uid or --gid value; prints why and returns 2 when it is bad. */
static int
cp_ca_id(const char *opt, const char *arg, uint32_t *out)
{
	if (dfs_pki_parse_id(arg, strlen(arg), out) != 0) {
		fprintf(stderr, "dfs: %s takes a number below 4294967295, not "
		    "'%s'\n", opt, arg);
		return 2;
	}
	return 0;
}

/*
 * The identity options dfs ca issue and dfs cluster adduser share, as
 * getopt_long returned them: --uid ('u'), --gid ('g'), --groups ('G')
 * into id, each noted in *seen (CP_ID_UID, CP_ID_GID, CP_ID_GROUPS).  1
 * when ch was one of them, 0 when not, -1 after saying why arg is bad.
 */
int
cp_ca_id_option(int ch, const char *arg, struct dfs_identity *id,
    unsigned *seen)
{
	int	rc;

	switch (ch) {
	case 'u':
		*seen |= CP_ID_UID;
		rc = cp_ca_id("--uid", arg, &id->uid);
		break;
	case 'g':
		*seen |= CP_ID_GID;
		rc = cp_ca_id("--gid", arg, &id->gid);
		break;
	case 'G':
		*seen |= CP_ID_GROUPS;
		rc = cp_ca_groups(arg, id);
		break;
	default:
		return 0;
	}
	return rc == 0 ? 1 : -1;
}

/* Issue req from the CA in dir; print the paths.  0 or 1. */
int
cp_ca_issue_one(const char *dir, const struct dfs_pki_request *req,
    const char *outdir, bool quiet)
{
	struct dfs_pki_ca	*ca = NULL;
	char			*cause = NULL, *cert = NULL, *key = NULL;
	int			 rc = 1;

	if (dfs_pki_ca_open(dir, &ca, &cause) != 0 ||
	    dfs_pki_ca_issue(ca, req, outdir, &cert, &key, &cause) != 0) {
		fprintf(stderr, "dfs ca issue: %s\n", cause);
		goto out;
	}
	if (!quiet)
		printf("issued %s (%s): certificate %s, key %s\n",
		    req->id.name, dfs_pki_role_name(req->id.role), cert, key);
	rc = 0;
out:
	free(cert);
	free(key);
	free(cause);
	dfs_pki_ca_free(ca);
	return rc;
}

/* dfs ca init DIR: a new CA, never over an old one. */
static int
cp_ca_init(const char *dir)
{
	char	*cause = NULL;

	if (dfs_pki_ca_init(dir, &cause) != 0) {
		fprintf(stderr, "dfs ca init: %s\n", cause);
		free(cause);
		return 1;
	}
	printf("CA made in %s: give %s/ca.crt to every host (tls.ca); "
	    "%s/ca.key stays here\n", dir, dir, dir);
	return 0;
}

/* dfs ca issue: the role's fields are checked here for a usage error. */
static int
cp_ca_issue(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "groups", required_argument, NULL, 'G' },
		{ "uids", required_argument, NULL, 'U' },
		{ "host", required_argument, NULL, 'h' },
		{ "days", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	struct dfs_pki_request	 req;
	unsigned		 seen = 0;
	bool			 uids = false;
	long			 days = 0;
	char			*end, *cause = NULL;
	int			 ch, id;

	memset(&req, 0, sizeof req);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((id = cp_ca_id_option(ch, optarg, &req.id, &seen)) != 0) {
			if (id < 0)
				return 2;
			continue;
		}
		switch (ch) {
		case 'r':
			if ((req.id.role = dfs_pki_role_parse(optarg)) ==
			    DFS_ROLE_NONE) {
				fprintf(stderr, "dfs ca issue: unknown role "
				    "'%s' (namenode, datanode, host, user, "
				    "superuser)\n", optarg);
				return 2;
			}
			break;
		case 'U':
			uids = true;
			if (dfs_pki_parse_uids(optarg, strlen(optarg), &req.id,
			    &cause) != 0) {
				fprintf(stderr, "dfs ca issue: --%s\n", cause);
				free(cause);
				return 2;
			}
			break;
		case 'h':
			if (req.nhosts == DFS_PKI_MAX_HOSTS) {
				fprintf(stderr, "dfs ca issue: at most %d "
				    "--host\n", DFS_PKI_MAX_HOSTS);
				return 2;
			}
			req.hosts[req.nhosts++] = optarg;
			break;
		case 'd':
			days = strtol(optarg, &end, 10);
			if (*end != '\0' || days < 1 || days > 36500) {
				fprintf(stderr, "dfs ca issue: --days takes "
				    "1..36500\n");
				return 2;
			}
			break;
		default:
			return cp_usage("ca");
		}
	}
	if (argc - optind != 2 || req.id.role == DFS_ROLE_NONE)
		return cp_usage("ca");
	if (dfs_pki_role_has_uid(req.id.role) != ((seen & CP_ID_UID) &&
	    (seen & CP_ID_GID)) || ((seen & CP_ID_GROUPS) &&
	    !dfs_pki_role_has_uid(req.id.role))) {
		fprintf(stderr, "dfs ca issue: roles user and superuser need "
		    "--uid and --gid (and may have --groups); other roles take "
		    "none of them\n");
		return 2;
	}
	if (uids != (req.id.role == DFS_ROLE_HOST)) {
		fprintf(stderr, "dfs ca issue: role host needs --uids, the "
		    "uids its root speaks for (all, or ranges such as "
		    "1000-1999,2500); other roles take none\n");
		return 2;
	}
	snprintf(req.id.name, sizeof req.id.name, "%s", argv[optind + 1]);
	if (strlen(argv[optind + 1]) > DFS_PKI_NAME_MAX)
		req.id.name[0] = '\0';	/* refused as a bad name */
	if (days > 0)
		req.not_after = time(NULL) + days * 86400;
	return cp_ca_issue_one(argv[optind], &req, NULL, false);
}

/* dfs ca list DIR: one line per certificate, revoked ones marked. */
static int
cp_ca_list(const char *dir)
{
	struct dfs_pki_ca	*ca = NULL;
	struct dfs_pki_entry	*all = NULL;
	char			*cause = NULL, when[32];
	size_t			 n;
	int			 rc = 1;

	if (dfs_pki_ca_open(dir, &ca, &cause) != 0 ||
	    dfs_pki_ca_list(ca, &all, &n, &cause) != 0) {
		fprintf(stderr, "dfs ca list: %s\n", cause);
		goto out;
	}
	printf("%-20s %-10s %-17s %-10s %-8s %s\n", "name", "role", "serial",
	    "expires", "status", "identity");
	for (size_t i = 0; i < n; i++) {
		struct dfs_pki_entry *e = &all[i];
		struct tm tm;
		gmtime_r(&e->not_after, &tm);
		strftime(when, sizeof when, "%Y-%m-%d", &tm);
		printf("%-20s %-10s %-17s %-10s %-8s %s\n", e->name, e->role,
		    e->serial, when, e->revoked ? "revoked" : e->expired ?
		    "expired" : "valid", e->uri);
	}
	rc = 0;
out:
	free(all);
	free(cause);
	dfs_pki_ca_free(ca);
	return rc;
}

/* dfs ca revoke DIR NAME|SERIAL, then tell what to copy where. */
static int
cp_ca_revoke(const char *dir, const char *what)
{
	struct dfs_pki_ca	*ca = NULL;
	char			*cause = NULL;
	int			 rc = 1;

	if (dfs_pki_ca_open(dir, &ca, &cause) != 0 ||
	    dfs_pki_ca_revoke(ca, what, &cause) != 0) {
		fprintf(stderr, "dfs ca revoke: %s\n", cause);
		goto out;
	}
	printf("revoked %s: copy %s to every host's tls.crl\n", what,
	    dfs_pki_ca_crl_path(ca));
	rc = 0;
out:
	free(cause);
	dfs_pki_ca_free(ca);
	return rc;
}

/* dfs ca SUBCOMMAND: usage error (2) for anything else. */
int
cp_cmd_ca(struct cp_ctx *ctx, int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "init") == 0)
		return cp_ca_init(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "issue") == 0)
		return cp_ca_issue(argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[1], "list") == 0)
		return cp_ca_list(argv[2]);
	if (argc == 4 && strcmp(argv[1], "revoke") == 0)
		return cp_ca_revoke(argv[2], argv[3]);
	return cp_usage("ca");
}
