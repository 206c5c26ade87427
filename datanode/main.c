/*
 * main.c: dfs-datanode start-up: options, configuration, the data
 * directory, the listener, the namenode link, and a clean stop on SIGTERM
 * or SIGINT.  The work lives in dn-*.c (see dn_i.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "net.h"
#include "pki.h"
#include "xmalloc.h"

#include "dn_i.h"
#include "dn_local.h"

/* The synopsis, as in dfs-datanode(8). */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " DN_PROG " [-dhV] [-c file] [-o key=value]... "
	    "[--port-file file]\n"
	    "  -c, --config FILE     read the configuration file FILE\n"
	    "  -o, --set KEY=VALUE   set a configuration key (after the "
	    "file)\n"
	    "  -d, --debug           log at debug level\n"
	    "      --port-file FILE  write the bound host:port to FILE\n"
	    "  -h, --help            show this help\n"
	    "  -V, --version         show the version\n"
	    "Keys used: datanode.listen, datanode.advertise, "
	    "datanode.data_dir,\n"
	    "namenode.address, "
	    "namenode.block_report_interval, namenode.block_report_part,\n"
	    "datanode.scan_period, "
	    "datanode.scan_rate, datanode.local_socket, cluster.block_size,\n"
	    "client.timeout, log.level, log.syslog\n"
	    "(see npdfs.conf(5)).\n");
}

static bool	use_syslog;

/* Print a start-up error and exit 1.  Consumes msg. */
static void __attribute__((noreturn))
die(char *msg)
{
	fprintf(stderr, DN_PROG ": %s\n", msg);
	if (use_syslog)
		log_err("%s", msg);
	free(msg);
	exit(1);
}

/* host:port, bracketing an IPv6 host.  Caller frees. */
static char *
join_hostport(const char *host, int port)
{
	char	*s;

	if (strchr(host, ':') != NULL)
		xasprintf(&s, "[%s]:%d", host, port);
	else
		xasprintf(&s, "%s:%d", host, port);
	return s;
}

/* Whether a listen host means every address. */
static bool
wildcard_host(const char *host)
{
	return host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 ||
	    strcmp(host, "::") == 0;
}

/* Write text to path atomically (temp + rename). */
static int
write_port_file(const char *path, const char *text)
{
	char	*tmp;
	FILE	*f;
	int	 rc = 0;

	xasprintf(&tmp, "%s.tmp.%d", path, (int)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		rc = -errno;
	else {
		fprintf(f, "%s\n", text);
		if (fflush(f) != 0 || fsync(fileno(f)) != 0)
			rc = -errno;
		if (fclose(f) != 0 && rc == 0)
			rc = -errno;
		if (rc == 0 && rename(tmp, path) != 0)
			rc = -errno;
		if (rc != 0)
			unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* Bind the listener; fill the bound, connectable and advertised names. */
static int
start_listener(struct dn *dn, const struct dfs_config *cfg, int *fdp,
    char **local, char **cause)
{
	const char	*listen = dfs_config_str(cfg, "datanode.listen");
	const char	*adv = dfs_config_str(cfg, "datanode.advertise");
	char		 host[256], hn[256];
	uint16_t	 p;
	int		 port, rc;

	if ((rc = dfs_hostport_split(listen, host, sizeof host, &p,
	    cause)) != 0)
		return rc;
	if ((rc = dfs_net_listen(listen, fdp, cause)) != 0)
		return rc;
	if ((port = dfs_net_local_port(*fdp)) < 0) {
		xasprintf(cause, "cannot find the port bound for %s", listen);
		return port;
	}
	dn->listen_addr = join_hostport(host, port);
	if (strcmp(host, "::") == 0)
		*local = join_hostport("::1", port);
	else
		*local = join_hostport(wildcard_host(host) ? "127.0.0.1" : host,
		    port);
	if (adv[0] != '\0') {
		if ((rc = dfs_hostport_split(adv, hn, sizeof hn, &p,
		    cause)) != 0)
			return rc;
		dn->advertise = xstrdup(adv);
	} else if (wildcard_host(host)) {
		if (gethostname(hn, sizeof hn) != 0)
			snprintf(hn, sizeof hn, "localhost");
		hn[sizeof hn - 1] = '\0';
		dn->advertise = join_hostport(hn, port);
		log_warn("listening on all addresses; advertising %s (set "
		    "datanode.advertise to choose)", dn->advertise);
	} else
		dn->advertise = xstrdup(dn->listen_addr);
	return 0;
}

/* Parse, configure, open the store, listen, serve until a signal. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "set",	required_argument,	NULL, 'o' },
		{ "debug",	no_argument,		NULL, 'd' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "port-file",	required_argument,	NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct dn		 dn;
	struct dfs_config	*cfg;
	const char		*conf = NULL, *port_file = NULL;
	char			**sets, *cause = NULL, *local = NULL;
	int			 nsets = 0, ch, level, fd = -1, sig, rc;
	int			 local_left;
	bool			 debug = false;
	sigset_t		 sigs;

	memset(&dn, 0, sizeof dn);
	sets = xcalloc(argc + 1, sizeof *sets);
	while ((ch = getopt_long(argc, argv, "c:o:dhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'o':
			sets[nsets++] = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf(DN_PROG " (npdfs) %s\n", PACKAGE_VERSION);
			exit(0);
		case 'P':
			port_file = optarg;
			break;
		default:
			usage(stderr);
			exit(1);
		}
	}
	if (optind != argc) {
		fprintf(stderr, DN_PROG ": unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		exit(1);
	}

	cfg = dfs_config_create();
	if (conf != NULL && dfs_config_load(cfg, conf, &cause) != 0)
		die(cause);
	for (int i = 0; i < nsets; i++) {
		if (dfs_config_set_arg(cfg, sets[i], &cause) != 0) {
			char *msg;
			xasprintf(&msg, "-o %s: %s", sets[i], cause);
			free(cause);
			die(msg);
		}
	}
	free(sets);
	if (dfs_pki_check_config(cfg, &cause) != 0)	/* tls.key 0600 */
		die(cause);
	level = debug ? DFS_LOG_DEBUG : (int)dfs_config_int(cfg, "log.level");
	use_syslog = dfs_config_bool(cfg, "log.syslog");
	dfs_log_open(DN_PROG, level, use_syslog);
	dn.cfg = cfg;
	dn.timeout_ms = (int)dfs_config_int(cfg, "client.timeout");

	/* Every thread inherits this mask; main alone takes the signals. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	/* Empty until the namenode sends its keys (REGISTERED, KEYS). */
	dfs_token_keys_init(&dn.keys, 0, 0);
	if (dfs_tls_open(cfg, &dn.tls, &cause) != 0)
		die(cause);
	if (dfs_tls_self(dn.tls)->role != DFS_ROLE_DATANODE) {
		xasprintf(&cause, "tls.cert (%s) is a %s's certificate, not a "
		    "data node's", dfs_config_str(cfg, "tls.cert"),
		    dfs_pki_role_name(dfs_tls_self(dn.tls)->role));
		die(cause);
	}
	if (dn_store_open(dfs_config_str(cfg, "datanode.data_dir"), &dn.store,
	    &cause) != 0)
		die(cause);
	if (start_listener(&dn, cfg, &fd, &local, &cause) != 0)
		die(cause);
	if (dn_local_start(&dn, &cause) != 0)
		die(cause);
	log_info("listening on %s", dn.listen_addr);
	if (port_file != NULL && (rc = write_port_file(port_file,
	    local)) != 0) {
		xasprintf(&cause, "cannot write port file %s: %s", port_file,
		    strerror(-rc));
		die(cause);
	}
	dn.nn = dn_nn_create(&dn);
	dn.pool = dfs_sockpool_new();
	if (dn_server_start(&dn, fd, &cause) != 0 ||
	    dn_nn_start(dn.nn, &cause) != 0 ||
	    dn_scan_start(&dn, &cause) != 0)
		die(cause);
	log_info(DN_PROG " %s: node %s, advertised as %s, data in %s, "
	    "namenode %s", PACKAGE_VERSION, dn_store_uuid(dn.store),
	    dn.advertise, dn_store_dir(dn.store),
	    dfs_config_str(cfg, "namenode.address"));

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP ignored (restart to reload the "
			    "configuration)");
			continue;
		}
		break;
	}
	log_info("%s: shutting down", strsignal(sig));
	atomic_store(&dn.stopping, true);
	dn_scan_stop(&dn);
	local_left = dn_local_stop(&dn);
	dn_server_stop(&dn);
	dn_nn_stop(dn.nn);
	dn_replicate_drop_queued();
	for (int i = 0; i < 50 && dn_replicate_active() > 0; i++)
		usleep(100 * 1000);
	/* Threads that did not finish still use the store: keep it. */
	if (dn.server == NULL && local_left == 0 &&
	    dn_replicate_active() == 0) {
		dn_nn_free(dn.nn);
		dn_store_free(dn.store);
		dfs_sockpool_free(dn.pool);
		dfs_tls_free(dn.tls);
		free(dn.listen_addr);
		free(dn.advertise);
		free(local);
		dfs_config_free(cfg);
	}
	log_info("stopped");
	return 0;
}
