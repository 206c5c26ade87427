/*
 * cp-cluster.c: dfs cluster up/down/status: a whole cluster on one
 * machine, with every file it needs under one directory.
 *
 * DIR/namenode.conf        each daemon's config file, written here
 * DIR/datanodeN.conf
 * DIR/client.conf          for dfs -c, or NPDFS_CONF (the invoking user's
 *                          identity; root's is the superuser)
 * DIR/host.conf            the same with this host's identity, for a
 *                          dfs-mount run as root (mode 0600)
 * DIR/ca/                  the cluster CA (see dfs_pki_ca_init) and, in
 *                          DIR/ca/issued/, every daemon's certificate and
 *                          key, named like its config file
 * DIR/users/NAME.conf      from "adduser": a client config with NAME's own
 *                          certificate and key (all 0600)
 * DIR/namenode/, DIR/datanodeN/   their state (SQLite, block files)
 * DIR/logs/NAME.log (0600), DIR/run/NAME.pid
 * DIR/logs/audit.log       the namenode's audit log (0600)
 * DIR/run/datanodeN.sock   each data node's local socket (run/ is 0755,
 *                          the socket 0666: a token decides)
 * DIR/mnt                  with --mount, the cluster through dfs-mount
 *                          (run/mount.pid; "down" unmounts it first)
 *
 * The config files are the cluster's memory: "up" on an existing DIR
 * reads them back, so the same ports, data and certificates come back, and
 * only daemons that are not running are started.  "down" stops exactly the
 * processes whose PIDs it recorded, after checking that each PID still
 * runs the program it started.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_i.h"
#include "cp_i.h"
#include "log.h"
#include "xmalloc.h"

char *
cp_path(const struct cp_cluster *cl, const char *fmt, const char *name)
{
	char	*p, *rel;

	xasprintf(&rel, fmt, name);
	xasprintf(&p, "%s/%s", cl->dir, rel);
	free(rel);
	return p;
}

/* The daemon's executable: beside this dfs, in ../sbin, or on PATH. */
static char *
cp_find_prog(const char *prog)
{
	char	 self[PATH_MAX], *slash, *p;
	ssize_t	 n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		xasprintf(&p, "%s/%s", self, prog);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
		xasprintf(&p, "%s/../sbin/%s", self, prog);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return xstrdup(prog);	/* execvp searches PATH */
}

/* The PID in DIR/run/NAME.pid if that process still runs PROG, else 0. */
pid_t
cp_running(const struct cp_cluster *cl, const struct cp_daemon *d)
{
	char	*pidf = cp_path(cl, "run/%s.pid", d->name), *procf;
	char	 buf[PATH_MAX];
	FILE	*f;
	long	 pid = 0;
	ssize_t	 n;
	int	 fd;

	if ((f = fopen(pidf, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	free(pidf);
	if (pid <= 0 || kill((pid_t)pid, 0) != 0)
		return 0;
	/* A recycled PID must not be mistaken for ours. */
	xasprintf(&procf, "/proc/%ld/cmdline", pid);
	fd = open(procf, O_RDONLY);
	free(procf);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *base = strrchr(buf, '/');
	base = base == NULL ? buf : base + 1;
	if (strcmp(base, d->prog) != 0)
		return 0;
	/* Its config file must be this cluster's (argv[2]). */
	const char *arg = buf + strlen(buf) + 1;
	if (arg < buf + n)
		arg += strlen(arg) + 1;
	if (arg >= buf + n || strncmp(arg, cl->dir, strlen(cl->dir)) != 0)
		return 0;
	return (pid_t)pid;
}

static int	cp_stop(const struct cp_cluster *, const struct cp_daemon *);

/*
 * Run d's program with "-c CONF", d's arguments and extra (or NULL),
 * output to its log, in a session of its own.  Returns its PID, or -1.
 */
static pid_t
cp_spawn(const struct cp_cluster *cl, const struct cp_daemon *d,
    const char *extra)
{
	char	*conf = cp_path(cl, "%s.conf", d->conf != NULL ? d->conf :
		    d->name);
	char	*log = cp_path(cl, "logs/%s.log", d->name);
	char	*exe = cp_find_prog(d->prog);
	pid_t	 pid;

	if ((pid = fork()) < 0)
		fprintf(stderr, "dfs cluster: fork: %s\n", strerror(errno));
	if (pid == 0) {
		/* Logs name paths and blocks: the owner's alone. */
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_RDONLY);
		int i = 3;
		setsid();
		if (fd >= 0) {
			(void)fchmod(fd, 0600);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		char *argv[7] = { (char *)d->prog, (char *)"-c", conf };
		for (int k = 0; k < 3 && d->args[k] != NULL; k++)
			argv[i++] = d->args[k];
		if (extra != NULL)
			argv[i] = (char *)extra;
		execvp(exe, argv);
		fprintf(stderr, "cannot run %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	free(conf);
	free(log);
	free(exe);
	return pid;
}

static int
cp_start(const struct cp_cluster *cl, struct cp_daemon *d)
{
	return cp_start_with(cl, d, NULL);
}

/* Start d (with one extra argument, or NULL) and note its PID. */
int
cp_start_with(const struct cp_cluster *cl, struct cp_daemon *d,
    const char *extra)
{
	char	*pidf;
	pid_t	 pid;
	FILE	*f;

	if ((pid = cp_spawn(cl, d, extra)) < 0)
		return -1;
	d->started = pid;
	pidf = cp_path(cl, "run/%s.pid", d->name);
	if ((f = fopen(pidf, "w")) != NULL) {
		(void)fchmod(fileno(f), 0644);	/* "down" trusts it */
		fprintf(f, "%ld\n", (long)pid);
		fclose(f);
	}
	free(pidf);
	return 0;
}

/* Print the last lines of a daemon's log, to say why it did not start. */
void
cp_log_tail(const struct cp_cluster *cl, const struct cp_daemon *d)
{
	char	*log = cp_path(cl, "logs/%s.log", d->name);
	char	*lines[8] = { NULL }, buf[1024];
	size_t	 n = 0;
	FILE	*f;

	if ((f = fopen(log, "r")) == NULL) {
		free(log);
		return;
	}
	while (fgets(buf, sizeof buf, f) != NULL) {
		free(lines[n % 8]);
		lines[n++ % 8] = xstrdup(buf);
	}
	fclose(f);
	fprintf(stderr, "dfs cluster: the last lines of %s:\n", log);
	for (size_t i = n > 8 ? n - 8 : 0; i < n; i++) {
		fprintf(stderr, "  %s", lines[i % 8]);
		if (strchr(lines[i % 8], '\n') == NULL)
			fputc('\n', stderr);
	}
	for (size_t i = 0; i < 8; i++)
		free(lines[i]);
	free(log);
}

/*
 * Make a new cluster's namespace (and cluster id): dfs-namenode --format,
 * which refuses to replace one that exists.  Only "up" on a new DIR does
 * this; an existing cluster's namenode never formats.
 */
static int
cp_format(const struct cp_cluster *cl)
{
	pid_t	pid;
	int	status;

	if ((pid = cp_spawn(cl, &cl->nn, "--format")) < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "dfs cluster: dfs-namenode --format failed\n");
	cp_log_tail(cl, &cl->nn);
	return -1;
}

void
cp_set(struct dfs_config *cfg, const char *key, const char *value)
{
	char	*cause = NULL;

	if (dfs_config_set(cfg, key, value, &cause) != 0) {
		fprintf(stderr, "dfs cluster: %s: %s\n", key, cause);
		exit(1);
	}
}

static int
cp_write_conf(const struct cp_cluster *cl, const char *name,
    const struct dfs_config *cfg)
{
	char	*path = cp_path(cl, "%s.conf", name), *tmp;
	FILE	*f;
	int	 rc = 0;

	xasprintf(&tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "dfs cluster: cannot write %s: %s\n", tmp,
		    strerror(errno));
		rc = -1;
	} else {
		/* Readable by all (it names no secret, only paths), writable
		 * by its owner alone, whatever the umask. */
		(void)fchmod(fileno(f), 0644);
		fprintf(f, "# written by dfs cluster up\n");
		if (dfs_config_write(cfg, f, NULL) != 0 || fclose(f) != 0 ||
		    rename(tmp, path) != 0) {
			fprintf(stderr, "dfs cluster: cannot write %s\n", path);
			rc = -1;
		}
	}
	free(tmp);
	free(path);
	return rc;
}

/* A config file only its owner reads: DIR/REL, mode 0600, durably. */
int
cp_write_private_conf(const struct cp_cluster *cl, const char *rel,
    const struct dfs_config *cfg)
{
	char	*path = cp_path(cl, "%s", rel), *buf = NULL, *cause = NULL;
	size_t	 len = 0;
	FILE	*f;
	int	 rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	fprintf(f, "# written by dfs cluster\n");
	dfs_config_write(cfg, f, NULL);
	fclose(f);
	if ((rc = dfs_pki_write_file(path, 0600, buf, len, &cause)) != 0)
		fprintf(stderr, "dfs cluster: %s\n", cause);
	free(cause);
	free(buf);
	free(path);
	return rc;
}

/* Read a daemon's address back from its config file. */
int
cp_read_addr(const struct cp_cluster *cl, struct cp_daemon *d,
    const char *key)
{
	struct dfs_config	*cfg = dfs_config_create();
	char			*path = cp_path(cl, "%s.conf", d->name);
	char			*cause = NULL;
	int			 rc;

	if ((rc = dfs_config_load(cfg, path, &cause)) == 0)
		snprintf(d->addr, sizeof d->addr, "%s",
		    dfs_config_str(cfg, key));
	else if (rc != -ENOENT)
		fprintf(stderr, "dfs cluster: %s\n", cause);
	free(cause);
	free(path);
	dfs_config_free(cfg);
	return rc;
}

void
cp_daemon_init(struct cp_daemon *d, const char *name, const char *prog)
{
	memset(d, 0, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", name);
	snprintf(d->prog, sizeof d->prog, "%s", prog);
}

/* The dfs-mount of DIR/mnt, run in the foreground so its PID is the one
 * recorded.  Caller frees args[0]. */
void
cp_mount_init(const struct cp_cluster *cl, struct cp_daemon *d)
{
	cp_daemon_init(d, "mount", "dfs-mount");
	d->conf = "client";
	d->args[0] = cp_path(cl, "%s", "mnt");
	d->args[1] = (char *)"-f";
}

/* Whether path is a mount point (its device differs from its parent's),
 * a dead FUSE mount (whose daemon is gone) included. */
static bool
cp_is_mounted(const char *path)
{
	struct stat	 a, b;
	char		*parent;
	bool		 yes;

	if (stat(path, &a) != 0)
		return errno == ENOTCONN;
	xasprintf(&parent, "%s/..", path);
	yes = stat(parent, &b) == 0 && a.st_dev != b.st_dev;
	free(parent);
	return yes;
}

/* fusermount3 -u path, quietly. */
static void
cp_unmount(const char *path)
{
	pid_t	pid;

	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("fusermount3", "fusermount3", "-u", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Mount the cluster at DIR/mnt unless it is mounted; wait until it is. */
static int
cp_mount_up(struct cp_cluster *cl)
{
	struct cp_daemon	 d;
	int			 rc = -1;

	cp_mount_init(cl, &d);
	if (cp_running(cl, &d) > 0 && cp_is_mounted(d.args[0])) {
		rc = 0;
		goto out;
	}
	if (cp_is_mounted(d.args[0]))
		cp_unmount(d.args[0]);	/* left by a dfs-mount that died */
	cp_mkdir(d.args[0]);
	if (cp_start(cl, &d) != 0)
		goto out;
	for (int i = 0; i < 200; i++) {
		if (cp_is_mounted(d.args[0])) {
			rc = 0;
			goto out;
		}
		if (waitpid(d.started, NULL, WNOHANG) == d.started) {
			fprintf(stderr, "dfs cluster: dfs-mount exited at "
			    "start-up; see %s/logs/mount.log\n", cl->dir);
			goto out;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "dfs cluster: %s is not mounted after 10 s; see "
	    "%s/logs/mount.log\n", d.args[0], cl->dir);
out:
	free(d.args[0]);
	return rc;
}

/* Fill cl from DIR: the daemons whose config files exist there. */
int
cp_cluster_load(struct cp_cluster *cl, const char *dir)
{
	char	 real[PATH_MAX], name[32];

	if (realpath(dir, real) == NULL) {
		fprintf(stderr, "dfs cluster: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	cl->dir = xstrdup(real);
	cp_daemon_init(&cl->nn, "namenode", "dfs-namenode");
	cp_read_addr(cl, &cl->nn, "namenode.listen");
	for (cl->n = 0; cl->n < CP_MAX_NODES; cl->n++) {
		snprintf(name, sizeof name, "datanode%d", cl->n + 1);
		cp_daemon_init(&cl->dn[cl->n], name, "dfs-datanode");
		if (cp_read_addr(cl, &cl->dn[cl->n], "datanode.listen") != 0)
			break;
	}
	cp_group_load(cl);	/* a group's members 2.. (cp-group.c) */
	return 0;
}

struct live_args {
	unsigned	live;
};

static void
build_nothing(struct dfs_wbuf *b, void *arg)
{
}

static int
parse_live(struct dfs_rbuf *r, void *arg)
{
	struct live_args	*a = arg;
	char			 s[256];

	dfs_get_raw(r, 1 + 5 * 8);
	uint32_t n = dfs_get_u32(r);
	a->live = 0;
	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		dfs_get_u64(r);
		dfs_get_strbuf(r, s, sizeof s);
		dfs_get_strbuf(r, s, sizeof s);
		if (dfs_get_u8(r) == DFS_NODE_LIVE)
			a->live++;
		dfs_get_raw(r, 6 * 8);
	}
	dfs_get_strbuf(r, s, sizeof s);		/* namenode.sync */
	dfs_get_u64(r);
	return dfs_rbuf_done(r);
}

/* Wait until the namenode answers and n data nodes are live. */
static int
cp_wait_live(struct cp_cluster *cl, int n, int seconds)
{
	struct dfs_client	*c = NULL;
	struct live_args	 a = { 0 };
	struct dfs_config	*cc = dfs_config_create();
	struct dfs_tls		*tls = NULL;
	char			*path = cp_path(cl, "%s", "client.conf");
	char			*cause = NULL;
	int			 rc = -1;

	/* As the cluster's client (client.conf has its certificate). */
	rc = dfs_config_load(cc, path, &cause) != 0 ||
	    dfs_tls_open(cc, &tls, &cause) != 0 ||
	    dfs_client_create(cl->nn_list, tls, 2000, &c, &cause) != 0 ? -1 :
	    0;
	dfs_config_free(cc);
	free(path);
	if (rc != 0) {
		fprintf(stderr, "dfs cluster: %s\n", cause);
		goto out;
	}
	rc = -1;
	for (int i = 0; i < seconds * 10; i++) {
		free(cause);
		cause = NULL;
		if (dfs_client_call(c, DFS_NN_REPORT, DFS_NN_REPORT_REPLY,
		    build_nothing, NULL, parse_live, &a, &cause) == 0 &&
		    a.live >= (unsigned)n) {
			rc = 0;
			break;
		}
		/* A child we started that has exited will not come up. */
		for (int j = -1 - cl->nnn; j < cl->n; j++) {
			struct cp_daemon *d = j == -1 ? &cl->nn : j < -1 ?
			    &cl->nnx[-2 - j] : &cl->dn[j];
			if (d->started > 0 &&
			    waitpid(d->started, NULL, WNOHANG) == d->started) {
				fprintf(stderr, "dfs cluster: %s exited at "
				    "start-up; see %s/logs/%s.log\n", d->name,
				    cl->dir, d->name);
				cp_log_tail(cl, d);
				d->started = 0;
				goto out;
			}
		}
		usleep(100 * 1000);
	}
	if (rc != 0) {
		fprintf(stderr, "dfs cluster: only %u of %d data nodes live "
		    "after %d s (%s); see %s/logs/\n", a.live, n, seconds,
		    cause != NULL ? cause : "namenode answered", cl->dir);
		cp_log_tail(cl, &cl->nn);
	}
out:
	free(cause);
	dfs_client_free(c);
	return rc;
}

/* Set in dst every key explicitly set in src. */
static void
cp_conf_overlay(struct dfs_config *dst, const struct dfs_config *src)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	dfs_config_write(src, f, NULL);
	fclose(f);
	if ((f = fmemopen(buf, len, "r")) == NULL)
		fatal("fmemopen");
	dfs_config_load_stream(dst, f, "settings", NULL);
	fclose(f);
	free(buf);
}

/* A copy of the explicitly set keys of cfg.  Caller frees. */
static struct dfs_config *
cp_conf_copy(const struct dfs_config *cfg)
{
	struct dfs_config	*c = dfs_config_create();

	cp_conf_overlay(c, cfg);
	return c;
}


/*
 * mkdir, accepting an existing directory.  A new one is 0755 whatever
 * the umask: run/ holds the data nodes' local sockets, which every local
 * user must reach (each node keeps its own directory 0700 itself).
 */
void
cp_mkdir(const char *path)
{
	if (mkdir(path, 0755) == 0) {
		if (chmod(path, 0755) == 0)
			return;
	} else if (errno == EEXIST)
		return;
	fprintf(stderr, "dfs cluster: cannot create %s: %s\n", path,
	    strerror(errno));
	exit(1);
}

/*
 * A data node's local socket in DIR/run (0755), where every local user
 * reaches it, unless the command line chose one (or none).  A DIR too
 * long for a socket path leaves the node's own default.
 */
static void
cp_local_socket(const struct cp_cluster *cl, const struct dfs_config *common,
    struct dfs_config *c, const struct cp_daemon *d)
{
	struct sockaddr_un	 sun;
	char			*p;

	if (dfs_config_is_set(common, "datanode.local_socket"))
		return;
	p = cp_path(cl, "run/%s.sock", d->name);
	if (strlen(p) < sizeof sun.sun_path)
		cp_set(c, "datanode.local_socket", p);
	free(p);
}

static int
cp_cluster_up(struct cp_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "dead-timeout", required_argument, NULL, 'D' },
		{ "mount", no_argument, NULL, 'M' },
		{ "namenodes", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	struct cp_cluster	 cl = { 0 };
	struct dfs_config	*common;
	char			*cause = NULL, *p;
	int			 ch, n = 3, repl = 0, nset = 0, rc = 1;
	int			 nns = 0;
	bool			 fresh, reconf, mount = false;
	const char		*bs = NULL, *hb = NULL, *dead = NULL;

	common = dfs_config_create();
	optind = 0;	/* full reset: main() parsed with "+" */
	while ((ch = getopt_long(argc, argv, "n:b:r:o:", longopts, NULL)) != -1) {
		if (ch != 'M')
			nset++;		/* a setting: the configs are rewritten */
		switch (ch) {
		case 'n':
			n = atoi(optarg);
			if (n < 1 || n > CP_MAX_NODES) {
				fprintf(stderr, "dfs cluster up: -n takes 1..%d\n",
				    CP_MAX_NODES);
				dfs_config_free(common);
				return 1;
			}
			break;
		case 'b':
			bs = optarg;
			break;
		case 'r':
			repl = atoi(optarg);
			if (repl < 1 || repl > DFS_MAX_REPLICATION) {
				fprintf(stderr, "dfs cluster up: -r takes 1..%d\n",
				    DFS_MAX_REPLICATION);
				dfs_config_free(common);
				return 1;
			}
			break;
		case 'H':
			hb = optarg;
			break;
		case 'D':
			dead = optarg;
			break;
		case 'M':
			mount = true;
			break;
		case 'N':
			nns = atoi(optarg);
			if (nns < 1 || nns > CP_MAX_NAMENODES) {
				fprintf(stderr, "dfs cluster up: --namenodes "
				    "takes 1..%d\n", CP_MAX_NAMENODES);
				dfs_config_free(common);
				return 1;
			}
			break;
		case 'o':
			if (dfs_config_set_arg(common, optarg, &cause) != 0) {
				fprintf(stderr, "dfs cluster up: -o %s: %s\n",
				    optarg, cause);
				free(cause);
				dfs_config_free(common);
				return 1;
			}
			break;
		default:
			dfs_config_free(common);
			return cp_usage("cluster");
		}
	}
	if (argc - optind != 1) {
		rc = cp_usage("cluster");
		goto out;
	}
	cp_mkdir(argv[optind]);
	if (cp_cluster_load(&cl, argv[optind]) != 0) {
		cl.dir = NULL;
		goto out;
	}
	fresh = cl.nn.addr[0] == '\0';
	reconf = fresh || nset > 0;
	if (!fresh && nns != 0 && nns != cl.nnn + 1) {
		fprintf(stderr, "dfs cluster up: %s has %d namenode(s); "
		    "--namenodes cannot change that\n", cl.dir, cl.nnn + 1);
		goto out;
	}
	if (!fresh)
		cp_ports_keep(&cl);
	if (!fresh && nset > 0) {
		/* New settings for an existing cluster add to its old ones. */
		struct dfs_config *base = dfs_config_create();
		p = cp_path(&cl, "%s", "namenode.conf");
		if (dfs_config_load(base, p, &cause) != 0) {
			fprintf(stderr, "dfs cluster up: %s\n", cause);
			dfs_config_free(base);
			free(p);
			goto out;
		}
		free(p);
		cp_conf_overlay(base, common);
		dfs_config_free(common);
		common = base;
	}
	cp_mkdir((p = cp_path(&cl, "%s", "logs")));
	free(p);
	cp_mkdir((p = cp_path(&cl, "%s", "run")));
	free(p);

	/* Settings every daemon shares. */
	if (cp_tls_ca(&cl, common) != 0)
		goto out;
	if (bs != NULL)
		cp_set(common, "cluster.block_size", bs);
	if (repl == 0 && !dfs_config_is_set(common, "cluster.replication"))
		repl = n < 3 ? n : 3;
	if (repl != 0) {
		char r[16];
		snprintf(r, sizeof r, "%d", repl);
		cp_set(common, "cluster.replication", r);
	}
	if (hb != NULL)
		cp_set(common, "namenode.heartbeat", hb);
	if (dead != NULL)
		cp_set(common, "namenode.dead_timeout", dead);

	if (fresh && (cp_ports_free_addr(cl.dir, cl.nn.addr,
	    sizeof cl.nn.addr, &cause) != 0 || (nns > 1 &&
	    cp_group_new(&cl, nns) != 0))) {
		if (cause != NULL)
			fprintf(stderr, "dfs cluster up: %s\n", cause);
		goto out;
	}
	cp_group_list(&cl);
	cp_set(common, "namenode.address", cl.nn_list);
	/* A new cluster, or new settings for an existing one. */
	for (int k = 1; reconf && k <= cl.nnn + 1; k++) {
		struct cp_daemon *d = cp_group_member(&cl, k);
		struct dfs_config *c = cp_conf_copy(common);
		cp_set(c, "namenode.listen", d->addr);
		cp_set(c, "namenode.meta_dir", (p = cp_path(&cl, "%s",
		    k == 1 ? "namenode" : d->name)));
		free(p);
		if (cl.nnn > 0)
			cp_group_seat(&cl, c, k);
		/* Beside the daemons' logs, unless -o said otherwise. */
		if (!dfs_config_is_set(common, "namenode.audit_log")) {
			char *rel;
			if (k == 1)
				rel = xstrdup("logs/audit.log");
			else
				xasprintf(&rel, "logs/audit-%s.log", d->name);
			cp_set(c, "namenode.audit_log", (p = cp_path(&cl,
			    "%s", rel)));
			free(p);
			free(rel);
		}
		rc = cp_tls_daemon(&cl, c, d, DFS_ROLE_NAMENODE);
		if (rc == 0)
			rc = cp_write_conf(&cl, d->name, c);
		dfs_config_free(c);
		if (rc != 0) {
			rc = 1;
			goto out;
		}
	}
	/* A new DIR: its namespace is made now, once and for all, and a
	 * group's members all start from that one (cp-group.c). */
	if (fresh && (cp_format(&cl) != 0 || cp_group_seed(&cl) != 0)) {
		rc = 1;
		goto out;
	}
	if (n < cl.n)
		n = cl.n;
	for (int i = 0; i < n; i++) {
		struct cp_daemon *d = &cl.dn[i];
		if (i >= cl.n) {
			char name[32];
			snprintf(name, sizeof name, "datanode%d", i + 1);
			cp_daemon_init(d, name, "dfs-datanode");
			if (cp_ports_free_addr(cl.dir, d->addr, sizeof d->addr,
			    &cause) != 0) {
				fprintf(stderr, "dfs cluster up: %s\n", cause);
				goto out;
			}
		} else if (!(reconf))
			continue;
		struct dfs_config *c = cp_conf_copy(common);
		cp_set(c, "datanode.listen", d->addr);
		cp_set(c, "datanode.data_dir", (p = cp_path(&cl, "%s",
		    d->name)));
		free(p);
		cp_local_socket(&cl, common, c, d);
		rc = cp_tls_daemon(&cl, c, d, DFS_ROLE_DATANODE);
		if (rc == 0)
			rc = cp_write_conf(&cl, d->name, c);
		dfs_config_free(c);
		if (rc != 0) {
			rc = 1;
			goto out;
		}
	}
	cl.n = n;

	/* client.conf: what a user needs to reach this cluster. */
	struct dfs_config *cc = dfs_config_create();
	cp_set(cc, "namenode.address", cl.nn_list);
	cp_set(cc, "tls.ca", dfs_config_str(common, "tls.ca"));
	cp_set(cc, "tls.crl", dfs_config_str(common, "tls.crl"));
	rc = cp_tls_self(&cl, cc);
	if (rc == 0)
		rc = cp_write_conf(&cl, "client", cc);
	if (rc == 0)
		rc = cp_tls_host(&cl, common);
	dfs_config_free(cc);
	if (rc != 0) {
		rc = 1;
		goto out;
	}

	/* From here every failure exits 1. */
	rc = 1;
	for (int k = 1; k <= cl.nnn + 1; k++)
		if (cp_running(&cl, cp_group_member(&cl, k)) == 0 &&
		    cp_start(&cl, cp_group_member(&cl, k)) != 0)
			goto out;
	for (int i = 0; i < cl.n; i++)
		if (cp_running(&cl, &cl.dn[i]) == 0 &&
		    cp_start(&cl, &cl.dn[i]) != 0)
			goto out;
	if (cp_wait_live(&cl, cl.n, 60) != 0)
		goto out;
	if (mount && cp_mount_up(&cl) != 0)
		goto out;
	printf("cluster up: namenode %s, %d data node(s) live, state in %s\n",
	    cl.nn_list, cl.n, cl.dir);
	if (mount)
		printf("  mounted at %s/mnt\n", cl.dir);
	printf("  export NPDFS_CONF=%s/client.conf   # or: dfs -c %s/client.conf"
	    " ...\n", cl.dir, cl.dir);
	rc = 0;
out:
	free(cause);
	dfs_config_free(common);
	free(cl.dir);
	return rc;
}

static bool
cp_wait_exit(pid_t pid, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (kill(pid, 0) != 0)
			return true;
		waitpid(pid, NULL, WNOHANG);
		usleep(50 * 1000);
	}
	return kill(pid, 0) != 0;
}

static int
cp_stop(const struct cp_cluster *cl, const struct cp_daemon *d)
{
	pid_t	 pid = cp_running(cl, d);
	char	*pidf = cp_path(cl, "run/%s.pid", d->name);

	if (pid > 0) {
		kill(pid, SIGTERM);
		if (!cp_wait_exit(pid, 10000)) {
			fprintf(stderr, "dfs cluster down: %s (pid %ld) did not "
			    "stop; killing it\n", d->name, (long)pid);
			kill(pid, SIGKILL);
			cp_wait_exit(pid, 5000);
		}
		printf("stopped %s (pid %ld)\n", d->name, (long)pid);
	}
	unlink(pidf);
	free(pidf);
	return 0;
}

/* Unmount DIR/mnt (fusermount3 -u) and stop its dfs-mount by PID. */
static void
cp_mount_down(const struct cp_cluster *cl)
{
	struct cp_daemon	 d;
	char			*pidf = cp_path(cl, "run/%s.pid", "mount");

	cp_mount_init(cl, &d);
	if (access(pidf, F_OK) == 0 || cp_is_mounted(d.args[0])) {
		if (cp_is_mounted(d.args[0]))
			cp_unmount(d.args[0]);
		/* The daemon exits once unmounted; SIGTERM if it does not. */
		cp_stop(cl, &d);
		if (cp_is_mounted(d.args[0]))
			fprintf(stderr, "dfs cluster down: %s is still mounted "
			    "(busy?); try fusermount3 -u %s\n", d.args[0],
			    d.args[0]);
	}
	free(pidf);
	free(d.args[0]);
}

static int
cp_cluster_down(struct cp_ctx *ctx, const char *dir)
{
	struct cp_cluster	cl;

	if (cp_cluster_load(&cl, dir) != 0)
		return 1;
	if (cl.nn.addr[0] == '\0') {
		fprintf(stderr, "dfs cluster down: no cluster in %s\n", dir);
		free(cl.dir);
		return 1;
	}
	cp_mount_down(&cl);
	for (int i = 0; i < cl.n; i++)
		cp_stop(&cl, &cl.dn[i]);
	for (int i = 0; i < cl.nnn; i++)
		cp_stop(&cl, &cl.nnx[i]);
	cp_stop(&cl, &cl.nn);
	free(cl.dir);
	return 0;
}

int
cp_cmd_cluster(struct cp_ctx *ctx, int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "up") == 0)
		return cp_cluster_up(ctx, argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[1], "down") == 0)
		return cp_cluster_down(ctx, argv[2]);
	if (argc == 3 && strcmp(argv[1], "status") == 0)
		return cp_group_status(argv[2]);
	if (argc == 5 && strcmp(argv[1], "namenode") == 0 &&
	    strcmp(argv[2], "join") == 0)
		return cp_group_join(argv[3], argv[4]);
	if (argc >= 3 && strcmp(argv[1], "adduser") == 0)
		return cp_tls_adduser(ctx, argc - 1, argv + 1);
	return cp_usage("cluster");
}
