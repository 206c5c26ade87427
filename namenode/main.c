/*
 * main.c: dfs-namenode start-up: options, configuration, the database,
 * the listener, then wait for SIGTERM or SIGINT and stop cleanly.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "net.h"
#include "nn_i.h"
#include "pki.h"
#include "xmalloc.h"

#define OPT_PORT_FILE	256
#define OPT_FORMAT	257
#define OPT_JOIN	258

static const struct option nn_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "set", required_argument, NULL, 'o' },
	{ "debug", no_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "format", no_argument, NULL, OPT_FORMAT },
	{ "join", no_argument, NULL, OPT_JOIN },
	{ NULL, 0, NULL, 0 }
};

/* The synopsis, as in dfs-namenode(8). */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dfs-namenode [-dhV] [-c file] [-o key=value] "
	    "[--port-file file] [--join]\n"
	    "       dfs-namenode --format [-c file] [-o key=value]\n"
	    "  -c, --config FILE     read the configuration from FILE\n"
	    "  -o, --set KEY=VALUE   set a configuration key (repeatable)\n"
	    "  -d, --debug           log at debug level\n"
	    "      --port-file FILE  write the bound host:port to FILE\n"
	    "      --format          make a new, empty namespace with a new "
	    "cluster id, and exit\n"
	    "      --join            a group's member whose state is gone: "
	    "take the leader's\n"
	    "                        namespace and come back into the group\n"
	    "  -h, --help            show this help\n"
	    "  -V, --version         show the version\n"
	    "Keys used: cluster.block_size cluster.replication "
	    "namenode.test_key_file\n"
	    "  namenode.listen namenode.meta_dir namenode.heartbeat "
	    "namenode.dead_timeout\n"
	    "  namenode.safemode_threshold namenode.safemode_timeout "
	    "namenode.token_lifetime\n"
	    "  namenode.key_rotation namenode.lease_timeout "
	    "namenode.delete_grace log.level "
	    "log.syslog\n");
}

/* Write "host:port" of the bound listener to path (temp file + rename). */
static int
nn_write_port_file(const char *path, const char *hostport, char **cause)
{
	char	*tmp;
	FILE	*f;
	int	 rc = 0;

	xasprintf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL) {
		rc = -errno;
		goto out;
	}
	if (fprintf(f, "%s\n", hostport) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0)
		rc = errno != 0 ? -errno : -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
out:
	if (rc != 0) {
		unlink(tmp);
		xasprintf(cause, "cannot write %s: %s", path, strerror(-rc));
	}
	free(tmp);
	return rc;
}

/* Bind the listener and say where, in the log and the port file. */
static int
nn_listen(struct nn *nn, const char *listen, const char *port_file,
    char **cause)
{
	char		 host[256], *hostport;
	uint16_t	 port;
	int		 rc, bound;

	if ((rc = dfs_hostport_split(listen, host, sizeof host, &port,
	    cause)) != 0)
		return rc;
	if ((rc = dfs_net_listen(listen, &nn->listen_fd, cause)) != 0)
		return rc;
	if ((bound = dfs_net_local_port(nn->listen_fd)) < 0) {
		xasprintf(cause, "cannot find the bound port: %s",
		    strerror(-bound));
		return bound;
	}
	if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0)
		strcpy(host, "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		strcpy(host, "::1");
	if (strchr(host, ':') != NULL)
		xasprintf(&hostport, "[%s]:%d", host, bound);
	else
		xasprintf(&hostport, "%s:%d", host, bound);
	log_info("listening on %s", hostport);
	if (port_file != NULL)
		rc = nn_write_port_file(port_file, hostport, cause);
	free(hostport);
	return rc;
}

/* Settings from the configuration into nn; 0 or -EINVAL with a cause. */
static int
nn_settings(struct nn *nn, const struct dfs_config *cfg, char **cause)
{
	const char	*listen = dfs_config_str(cfg, "namenode.listen");
	char		 host[256];
	uint16_t	 port;
	int		 rc;

	nn->cfg = cfg;
	nn->block_size = (uint64_t)dfs_config_int(cfg, "cluster.block_size");
	nn->replication = (unsigned)dfs_config_int(cfg, "cluster.replication");
	nn->heartbeat_ms = dfs_config_int(cfg, "namenode.heartbeat");
	nn->dead_timeout_ms = dfs_config_int(cfg, "namenode.dead_timeout");
	nn->token_lifetime_s = dfs_config_int(cfg, "namenode.token_lifetime") /
	    1000;
	nn->lease_timeout_ms = dfs_config_int(cfg, "namenode.lease_timeout");
	nn->safemode_timeout_ms = dfs_config_int(cfg,
	    "namenode.safemode_timeout");
	nn->safemode_threshold = dfs_config_double(cfg,
	    "namenode.safemode_threshold");
	nn->delete_grace_ms = dfs_config_int(cfg, "namenode.delete_grace");
	/* Never freed: connection threads may outlive the stop. */
	nn->limits = dfs_connlimit_create(cfg, "namenode");
	if (nn->token_lifetime_s < 1)
		nn->token_lifetime_s = 1;
	if ((rc = dfs_hostport_split(listen, host, sizeof host, &port,
	    cause)) != 0) {
		free(*cause);
		xasprintf(cause, "namenode.listen: bad address '%s': expected "
		    "HOST:PORT", listen);
		return rc;
	}
	return nn_keys_init(nn, cfg, cause);
}

/* The lock, its condition variables (on the monotonic clock). */
static void
nn_init_sync(struct nn *nn)
{
	pthread_mutex_init(&nn->lock, NULL);
	dfs_cond_init(&nn->replica_added);
	dfs_cond_init(&nn->wake);
}

/* Options, configuration, start-up; then wait for a stop signal. */
int
main(int argc, char **argv)
{
	static struct nn	 nn;
	struct dfs_config	*cfg;
	const char		*cfg_file = NULL, *port_file = NULL;
	char			**sets = NULL, *cause = NULL;
	int			 nsets = 0, ch, debug = 0, level, sig;
	int			 status = 0;
	bool			 format = false, join = false;
	sigset_t		 ss;

	while ((ch = getopt_long(argc, argv, "c:o:dhV", nn_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg_file = optarg;
			break;
		case 'o':
			sets = xrealloc(sets, (nsets + 1) * sizeof *sets);
			sets[nsets++] = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("dfs-namenode (npdfs) %s\n", PACKAGE_VERSION);
			return 0;
		case OPT_PORT_FILE:
			port_file = optarg;
			break;
		case OPT_FORMAT:
			format = true;
			break;
		case OPT_JOIN:
			join = true;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	cfg = dfs_config_create();
	if (cfg_file != NULL && dfs_config_load(cfg, cfg_file, &cause) != 0)
		goto bad_config;
	for (int i = 0; i < nsets; i++)
		if (dfs_config_set_arg(cfg, sets[i], &cause) != 0)
			goto bad_config;
	free(sets);
	sets = NULL;
	if (dfs_pki_check_config(cfg, &cause) != 0)	/* tls.key 0600 */
		goto bad_config;
	level = debug ? DFS_LOG_DEBUG : (int)dfs_config_int(cfg, "log.level");
	dfs_log_open("dfs-namenode", level, dfs_config_bool(cfg, "log.syslog"));
	if (nn_settings(&nn, cfg, &cause) != 0)
		goto bad_config;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);	/* every thread inherits it */

	nn_init_sync(&nn);
	nn.listen_fd = -1;
	nn.start_ms = dfs_now_ms();
	nn.safemode = true;
	if (format && join) {
		cause = xstrdup("--format and --join: a member either starts a "
		    "group's namespace or takes the group's");
		goto fail;
	}
	/* A group's member never formats itself, and one whose state is
	 * gone comes back only when asked (nn-join.c). */
	if (join && nn_join_fetch(cfg, &cause) != 0)
		goto fail;
	if (!format && !join && nn_group_member_lost(cfg, &cause))
		goto fail;
	if (nn_db_open(&nn, dfs_config_str(cfg, "namenode.meta_dir"), format,
	    &cause) != 0)
		goto fail;
	if (format) {
		printf("cluster id %s\n", nn.cluster_id);
		nn_db_close(&nn);
		dfs_config_free(cfg);
		return 0;
	}
	if (nn_hold_load(&nn) != 0) {
		cause = xstrdup("cannot read the orphans table");
		goto fail;
	}
	if (nn_patch_load(&nn) != 0) {
		cause = xstrdup("cannot read the patches table");
		goto fail;
	}
	if (nn_recover_grant(&nn) != 0) {
		cause = xstrdup("cannot give the writers their leases");
		goto fail;
	}
	if (dfs_tls_open(cfg, &nn.tls, &cause) != 0)
		goto fail;
	if (dfs_tls_self(nn.tls)->role != DFS_ROLE_NAMENODE) {
		xasprintf(&cause, "tls.cert (%s) is a %s's certificate, not a "
		    "namenode's", dfs_config_str(cfg, "tls.cert"),
		    dfs_pki_role_name(dfs_tls_self(nn.tls)->role));
		goto fail;
	}
	nn_place_safemode(&nn);
	if (nn_listen(&nn, dfs_config_str(cfg, "namenode.listen"), port_file,
	    &cause) != 0)
		goto fail;
	if (nn_sync_start(&nn, cfg, &cause) != 0)
		goto fail;
	if (nn_audit_open(&nn, cfg, &cause) != 0)
		goto fail;
	/* The group's seat before the monitor, whose transactions ask it
	 * whether this member may write. */
	if (nn_group_start(&nn, cfg, join, &cause) != 0)
		goto fail;
	if (nn_datanodes_start(&nn, &cause) != 0)
		goto fail;
	if (nn_server_start(&nn, &cause) != 0)
		goto fail;
	log_info("dfs-namenode %s started (block size %llu, replication %u)",
	    PACKAGE_VERSION, (unsigned long long)nn.block_size,
	    nn.replication);
	/* Back into the group, now that the leader can reach us. */
	if (join && nn_join_finish(cfg, &cause) != 0) {
		log_err("join: %s", cause != NULL ? cause : "refused");
		free(cause);
		cause = NULL;
		sig = SIGTERM;
		status = 1;
		goto stop;
	}

	for (;;) {
		if (sigwait(&ss, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: reopening the audit log (restart to "
			    "reconfigure)");
			nn_audit_reopen(&nn);
			continue;
		}
		break;
	}
stop:
	log_info("%s: shutting down", strsignal(sig));
	nn_group_stop(&nn);
	nn_server_stop(&nn);
	nn_datanodes_stop(&nn);
	nn_sync_stop(&nn);
	nn_audit_close(&nn);
	nn_group_free(&nn);
	/* Keep the lock: a connection thread must not use the closed
	 * database before the process is gone. */
	pthread_mutex_lock(&nn.lock);
	nn_hold_free(&nn);
	nn_db_close(&nn);
	dfs_config_free(cfg);
	log_info("stopped");
	exit(status);

bad_config:
	fprintf(stderr, "dfs-namenode: %s\n", cause != NULL ? cause :
	    "bad configuration");
	free(cause);
	free(sets);
	dfs_config_free(cfg);
	return 1;
fail:
	log_err("%s", cause != NULL ? cause : "cannot start");
	free(cause);
	nn_db_close(&nn);
	dfs_config_free(cfg);
	return 1;
}
