/*
 * dfs-main.c: the dfs command: option parsing and dispatch to one
 * function per subcommand (cp-fs.c, cp-ns.c, cp-admin.c, cp-balance.c,
 * cp-cluster.c, cp-tls.c, cp-ca.c, cp-owner.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_i.h"
#include "log.h"
#include "pki.h"
#include "xmalloc.h"

static const struct {
	const char	*name;
	cp_cmd_fn	 fn;
	const char	*usage;
} cp_cmds[] = {
	{ "put", cp_cmd_put, "put [-df] [-r REPLICATION] [-b BLOCKSIZE] LOCAL PATH" },
	{ "get", cp_cmd_get, "get PATH LOCAL" },
	{ "cat", cp_cmd_cat, "cat PATH..." },
	{ "ls", cp_cmd_ls, "ls [-l] [PATH...]" },
	{ "mkdir", cp_cmd_mkdir, "mkdir [-p] PATH..." },
	{ "rm", cp_cmd_rm, "rm [-r] PATH..." },
	{ "mv", cp_cmd_mv, "mv SRC DST" },
	{ "stat", cp_cmd_stat, "stat PATH..." },
	{ "chmod", cp_cmd_chmod, "chmod [-R] MODE PATH..." },
	{ "chown", cp_cmd_chown, "chown [-R] OWNER[:GROUP] PATH..." },
	{ "chgrp", cp_cmd_chgrp, "chgrp [-R] GROUP PATH..." },
	{ "whoami", cp_cmd_whoami, "whoami" },
	{ "fsck", cp_cmd_fsck, "fsck [PATH] [--blocks] "
	    "[--verify [--timeout SECONDS]]" },
	{ "report", cp_cmd_report, "report" },
	{ "admin", cp_cmd_admin, "admin balance [--threshold PCT] "
	    "[--bandwidth RATE] [--no-wait]\n"
	    "       dfs admin balance --status | --stop" },
	{ "cluster", cp_cmd_cluster, "cluster up DIR [-n DATANODES] [-b BLOCKSIZE] "
	    "[-r REPLICATION] [--heartbeat SECONDS] [--dead-timeout SECONDS] "
	    "[-o KEY=VALUE]... [--mount]\n       dfs cluster down DIR\n"
	    "       dfs cluster status DIR\n"
	    "       dfs cluster namenode join DIR ID\n"
	    "       dfs cluster adduser DIR NAME --uid UID --gid GID "
	    "[--groups G1,G2]" },
	{ "ca", cp_cmd_ca, "ca init DIR\n"
	    "       dfs ca issue DIR --role ROLE NAME [--uid UID --gid GID "
	    "[--groups G1,G2]] [--uids all|LO-HI,...] [--host HOST]... "
	    "[--days DAYS]\n"
	    "       dfs ca list DIR\n"
	    "       dfs ca revoke DIR NAME|SERIAL" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: dfs [-c FILE | --namenode HOST:PORT] [-o KEY=VALUE] "
	    "[--as UID:GID[:G1,G2...]] COMMAND [ARGS]\n       dfs --help | --version\ncommands:\n");
	for (size_t i = 0; i < sizeof cp_cmds / sizeof cp_cmds[0]; i++)
		fprintf(f, "  dfs %s\n", cp_cmds[i].usage);
	fprintf(f, "The client configuration comes from -c FILE, else "
	    "$NPDFS_CONF; see npdfs.conf(5).\n");
}

/* Print a subcommand's usage line; returns the exit code for misuse. */
int
cp_usage(const char *cmd)
{
	for (size_t i = 0; i < sizeof cp_cmds / sizeof cp_cmds[0]; i++)
		if (strcmp(cp_cmds[i].name, cmd) == 0)
			fprintf(stderr, "usage: dfs %s\n", cp_cmds[i].usage);
	return 2;
}

/* Report a failed operation and return exit code 1.  Consumes cause,
 * which is escaped (lib/name.c): it may quote a path. */
int
cp_fail(struct cp_ctx *ctx, const char *cmd, int rc, char *cause)
{
	fprintf(stderr, "%s %s: ", ctx->prog, cmd);
	dfs_name_print(stderr, cause != NULL ? cause :
	    strerror(rc < 0 ? -rc : rc));
	fputc('\n', stderr);
	free(cause);
	return 1;
}

/*
 * --as UID:GID[:G1,G2...]: whom the namespace calls act as (ACT_AS), when
 * this client's identity may claim it (a host or the superuser; see
 * dfs(1)).  0 or -EINVAL.
 */
static int
cp_act_as(struct dfs_client *c, const char *spec, char **cause)
{
	const char	*colon, *colon2;
	uint32_t	 uid, gid, groups[DFS_MAX_GROUPS];
	size_t		 n = 0;

	if ((colon = strchr(spec, ':')) == NULL ||
	    dfs_pki_parse_id(spec, (size_t)(colon - spec), &uid) != 0)
		goto bad;
	colon2 = strchr(colon + 1, ':');
	if (dfs_pki_parse_id(colon + 1, colon2 != NULL ?
	    (size_t)(colon2 - colon - 1) : strlen(colon + 1), &gid) != 0)
		goto bad;
	if (colon2 != NULL && dfs_pki_parse_groups(colon2 + 1,
	    strlen(colon2 + 1), groups, &n, NULL) != 0)
		goto bad;
	return dfs_client_act_as(c, uid, gid, groups, n);
bad:
	xasprintf(cause, "--as %s: not UID:GID or UID:GID:G1,G2...", spec);
	return -EINVAL;
}

/* The cluster client, created on first use (exits on a bad address). */
struct dfs_client *
cp_client(struct cp_ctx *ctx)
{
	char	*cause = NULL;

	if (ctx->client == NULL &&
	    (dfs_client_from_config(ctx->cfg, &ctx->client, &cause) != 0 ||
	    (ctx->act_as != NULL && cp_act_as(ctx->client, ctx->act_as,
	    &cause) != 0))) {
		fprintf(stderr, "%s: %s\n", ctx->prog, cause);
		exit(1);
	}
	return ctx->client;
}

int
cp_parse_size(const char *s, uint64_t *out)
{
	int64_t	v;

	if (dfs_parse_size(s, &v) != 0 || v <= 0)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

/* dir + "/" + name.  Caller frees. */
char *
cp_join(const char *dir, const char *name)
{
	char	*p;
	size_t	 n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	xasprintf(&p, "%.*s/%s", (int)n, dir, name);
	if (p[0] == '/' && p[1] == '/')
		memmove(p, p + 1, strlen(p));
	return p;
}

/* The last component of a path ("" for "/").  Borrowed from path. */
const char *
cp_basename(const char *path)
{
	const char	*s = strrchr(path, '/');

	return s == NULL ? path : s + 1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "namenode", required_argument, NULL, 'N' },
		{ "as", required_argument, NULL, 'A' },
		{ "set", required_argument, NULL, 'o' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct cp_ctx	 ctx = { .prog = "dfs" };
	const char	*namenode = NULL;
	char		*cause = NULL;
	int		 ch, rc, level = DFS_LOG_WARN;

	signal(SIGPIPE, SIG_IGN);
	ctx.cfg = dfs_config_create();
	ctx.conf_path = getenv("NPDFS_CONF");
	if (ctx.conf_path != NULL && ctx.conf_path[0] == '\0')
		ctx.conf_path = NULL;
	/* Options stop at the command: "dfs ls -l" passes -l on. */
	while ((ch = getopt_long(argc, argv, "+c:o:dhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctx.conf_path = optarg;
			break;
		case 'N':
			namenode = optarg;
			break;
		case 'A':
			ctx.act_as = optarg;
			break;
		case 'o':
			break;		/* applied after the file */
		case 'd':
			level = DFS_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		case 'V':
			printf("dfs (npdfs) %s\n", PACKAGE_VERSION);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			rc = 2;
			goto out;
		}
	}
	dfs_log_open("dfs", level, false);
	if (ctx.conf_path != NULL &&
	    dfs_config_load(ctx.cfg, ctx.conf_path, &cause) != 0) {
		fprintf(stderr, "dfs: %s\n", cause);
		rc = 1;
		goto out;
	}
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+c:o:dhV", longopts, NULL)) != -1)
		if (ch == 'o' && dfs_config_set_arg(ctx.cfg, optarg,
		    &cause) != 0) {
			fprintf(stderr, "dfs: -o %s: %s\n", optarg, cause);
			rc = 1;
			goto out;
		}
	/* A key others can read is refused before it is ever used. */
	if (dfs_pki_check_config(ctx.cfg, &cause) != 0) {
		fprintf(stderr, "dfs: %s\n", cause);
		rc = 1;
		goto out;
	}
	if (namenode != NULL && dfs_config_set(ctx.cfg, "namenode.address",
	    namenode, &cause) != 0) {
		fprintf(stderr, "dfs: --namenode: %s\n", cause);
		rc = 1;
		goto out;
	}
	if (optind >= argc) {
		usage(stderr);
		rc = 2;
		goto out;
	}
	for (size_t i = 0; i < sizeof cp_cmds / sizeof cp_cmds[0]; i++) {
		if (strcmp(cp_cmds[i].name, argv[optind]) != 0)
			continue;
		rc = cp_cmds[i].fn(&ctx, argc - optind, argv + optind);
		goto out;
	}
	fprintf(stderr, "dfs: unknown command '%s' (dfs --help lists them)\n",
	    argv[optind]);
	rc = 2;
out:
	free(cause);
	dfs_client_free(ctx.client);
	dfs_config_free(ctx.cfg);
	return rc;
}
