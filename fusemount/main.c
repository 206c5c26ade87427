/*
 * main.c: dfs-mount start-up: options (parsed with fuse_opt, so FUSE's
 * own -o options pass through), the configuration, a first word with the
 * namenode, the spool directory, then mount, daemonize (only once the
 * mount worked, so a failure is exit status 1) and serve until unmounted
 * or signalled, the session's I/O passing through fm_io_read and
 * fm_io_writev (which ask the kernel to mmap direct_io files).  The file
 * system is in fm-ops.c, fm-io.c and fm-file.c.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <linux/fuse.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "fm_i.h"
#include "log.h"
#include "pki.h"
#include "xmalloc.h"

/* FUSE 7.39's FUSE_DIRECT_IO_RELAX, 7.40's FUSE_DIRECT_IO_ALLOW_MMAP: the
 * kernel may mmap (MAP_SHARED) files opened with direct_io. */
#define FM_DIO_MMAP_BIT2	(1U << 4)	/* bit 36: in flags2 */

struct fm_opts {
	char	*conf_path;
	char	*namenode;
	char	*mountpoint;
	int	 foreground;
	int	 debug;
	int	 help;
	int	 version;
	int	 direct_io;
	char	**sets;		/* -o section.key=value, in order */
	int	 nsets;
	int	 bad;
};

#define FM_OPT(t, p, v)	{ t, offsetof(struct fm_opts, p), v }

static const struct fuse_opt fm_optspec[] = {
	FM_OPT("-c %s", conf_path, 0),
	FM_OPT("--config=%s", conf_path, 0),
	FM_OPT("--config %s", conf_path, 0),
	FM_OPT("--namenode=%s", namenode, 0),
	FM_OPT("--namenode %s", namenode, 0),
	FM_OPT("-f", foreground, 1),
	FM_OPT("--foreground", foreground, 1),
	FM_OPT("-d", debug, 1),
	FM_OPT("--debug", debug, 1),
	FM_OPT("-h", help, 1),
	FM_OPT("--help", help, 1),
	FM_OPT("-V", version, 1),
	FM_OPT("--version", version, 1),
	FM_OPT("direct_io", direct_io, 1),
	FUSE_OPT_END
};

/* The synopsis, as in dfs-mount(8). */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dfs-mount [-c FILE | --namenode HOST:PORT] MOUNTPOINT "
	    "[-f] [-d] [-o OPTIONS]\n"
	    "       dfs-mount --help | --version\n"
	    "  -c, --config FILE     read the configuration from FILE "
	    "(else $NPDFS_CONF)\n"
	    "      --namenode H:P    the namenode's address\n"
	    "  -f, --foreground      do not daemonize\n"
	    "  -d, --debug           log at debug level (and stay in the "
	    "foreground)\n"
	    "  -o OPTIONS            comma-separated FUSE mount options "
	    "(allow_other, ro,\n"
	    "                        debug, ...), direct_io, and npdfs "
	    "settings as\n"
	    "                        section.key=value (e.g. "
	    "mount.attr_timeout=5s)\n"
	    "  -h, --help            show this help\n"
	    "  -V, --version         show the version\n"
	    "Keys used: namenode.address client.timeout mount.attr_timeout "
	    "mount.max_memory\n"
	    "  mount.lowlevel log.level log.syslog\n");
}

/* fuse_opt's callback for what the table does not match: the mount
 * point, npdfs keys given with -o, and FUSE options to pass on. */
static int
fm_opt_proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct fm_opts	*o = data;
	const char	*eq, *dot;
	char		*set;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (o->mountpoint == NULL) {
			o->mountpoint = xstrdup(arg);
			return 0;
		}
		fprintf(stderr, "dfs-mount: unexpected argument '%s'\n", arg);
		o->bad = 1;
		return -1;
	case FUSE_OPT_KEY_OPT:
		if (arg[0] == '-') {
			fprintf(stderr, "dfs-mount: unknown option '%s'\n",
			    arg);
			o->bad = 1;
			return -1;
		}
		eq = strchr(arg, '=');
		dot = strchr(arg, '.');
		if (strncmp(arg, "attr_timeout=", 13) == 0 ||
		    strncmp(arg, "entry_timeout=", 14) == 0)
			xasprintf(&set, "mount.attr_timeout=%s", eq + 1);
		else if (dot != NULL && (eq == NULL || dot < eq))
			set = xstrdup(arg);
		else
			return 1;	/* for FUSE */
		o->sets = xrealloc(o->sets, (o->nsets + 1) * sizeof *o->sets);
		o->sets[o->nsets++] = set;
		return 0;
	default:
		return 1;
	}
}

/* The configuration: -c FILE, else $NPDFS_CONF, else defaults; then the
 * -o keys and --namenode.  Exits 1 with a message on any error. */
static struct dfs_config *
fm_config(const struct fm_opts *o)
{
	struct dfs_config	*cfg = dfs_config_create();
	const char		*path = o->conf_path;
	char			*cause = NULL;

	if (path == NULL && (path = getenv("NPDFS_CONF")) != NULL &&
	    path[0] == '\0')
		path = NULL;
	if (path != NULL && dfs_config_load(cfg, path, &cause) != 0) {
		fprintf(stderr, "dfs-mount: %s\n", cause);
		exit(1);
	}
	for (int i = 0; i < o->nsets; i++)
		if (dfs_config_set_arg(cfg, o->sets[i], &cause) != 0) {
			fprintf(stderr, "dfs-mount: -o %s: %s\n", o->sets[i],
			    cause);
			exit(1);
		}
	if (o->namenode != NULL && dfs_config_set(cfg, "namenode.address",
	    o->namenode, &cause) != 0) {
		fprintf(stderr, "dfs-mount: --namenode: %s\n", cause);
		exit(1);
	}
	if (dfs_pki_check_config(cfg, &cause) != 0) {	/* tls.key 0600 */
		fprintf(stderr, "dfs-mount: %s\n", cause);
		exit(1);
	}
	return cfg;
}

/*
 * Where this mount's read-ahead window is set: its device's bdi, found in
 * /proc/self/mountinfo (asking the mount itself would wait for us).
 * Caller frees; NULL when not found.
 */
static char *
fm_read_ahead_path(const char *mountpoint)
{
	char		 real[PATH_MAX], line[4096], mp[4096], *path = NULL;
	unsigned	 major, minor;
	FILE		*f;

	if (realpath(mountpoint, real) == NULL ||
	    (f = fopen("/proc/self/mountinfo", "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &major, &minor,
		    mp) == 3 && strcmp(mp, real) == 0) {
			free(path);
			xasprintf(&path, "/sys/class/bdi/%u:%u/read_ahead_kb",
			    major, minor);
		}
	}
	fclose(f);
	return path;
}

/*
 * Negotiating mmap of direct_io files.  A kernel that was not told
 * FUSE_DIRECT_IO_ALLOW_MMAP in the INIT reply refuses MAP_SHARED mappings
 * of files opened with direct_io (ENODEV), which np.load(mmap_mode='r')
 * needs, so -o direct_io used to break NumPy.  libfuse 3.14 predates the
 * flag and cannot send it, so the session's I/O goes through the two
 * functions below: they note the kernel's INIT request and, when the
 * kernel offers the flag, add it to libfuse's INIT reply.  Everything
 * else passes through untouched.  fm->dio_mmap says whether it was
 * agreed: only then do write-only opens get direct_io (fm-io.c), the
 * combination whose coherency with cached readers and mappings of the
 * same file was tested here.
 */
static struct fm	*fm_io_mount;
static _Atomic uint64_t	 fm_io_init_unique;	/* the INIT request's */

/* read(2) of the next request, noting INIT. */
static ssize_t
fm_io_read(int fd, void *buf, size_t len, void *unused)
{
	const struct fuse_in_header	*in = buf;
	const struct fuse_init_in	*init;
	ssize_t				 n;

	n = read(fd, buf, len);
	if (n >= (ssize_t)(sizeof *in + offsetof(struct fuse_init_in,
	    flags2) + sizeof init->flags2) && in->opcode == FUSE_INIT) {
		init = (const struct fuse_init_in *)(in + 1);
		if (init->major == FUSE_KERNEL_VERSION &&
		    (init->flags & FUSE_INIT_EXT) &&
		    (init->flags2 & FM_DIO_MMAP_BIT2))
			atomic_store(&fm_io_init_unique, in->unique);
	}
	return n;
}

/* writev(2) of a reply; the INIT reply gains FUSE_DIRECT_IO_ALLOW_MMAP. */
static ssize_t
fm_io_writev(int fd, struct iovec *iov, int count, void *unused)
{
	uint8_t			 msg[sizeof(struct fuse_out_header) +
				    sizeof(struct fuse_init_out)];
	struct fuse_out_header	*out = (struct fuse_out_header *)msg;
	struct fuse_init_out	*init = (struct fuse_init_out *)(out + 1);
	uint64_t		 unique = atomic_load(&fm_io_init_unique);
	size_t			 total = 0, len;
	ssize_t			 n;

	if (unique == 0 || count < 1 || iov[0].iov_len != sizeof *out ||
	    ((struct fuse_out_header *)iov[0].iov_base)->unique != unique)
		return writev(fd, iov, count);
	atomic_store(&fm_io_init_unique, 0);
	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	if (total > sizeof msg || ((struct fuse_out_header *)
	    iov[0].iov_base)->error != 0)
		return writev(fd, iov, count);
	memset(msg, 0, sizeof msg);
	len = 0;
	for (int i = 0; i < count; i++) {
		memcpy(msg + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	/* A shorter reply (an older protocol) is zero-extended. */
	if (len < sizeof *out + offsetof(struct fuse_init_out, flags2) +
	    sizeof init->flags2)
		len = sizeof msg;
	out->len = (uint32_t)len;
	init->flags |= FUSE_INIT_EXT;
	init->flags2 |= FM_DIO_MMAP_BIT2;
	if ((n = write(fd, msg, len)) != (ssize_t)len)
		return n;
	atomic_store(&fm_io_mount->dio_mmap, true);
	log_debug("fuse: direct_io files may be mmapped");
	return (ssize_t)total;
}

/* Route the session's I/O through fm_io_read and fm_io_writev.  Without
 * them the mount works, with the page cache for every open. */
static void
fm_io_hook(struct fm *fm, struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = fm_io_read,
		.writev = fm_io_writev,
	};

	fm_io_mount = fm;
	if (fuse_session_custom_io(se, &io, fuse_session_fd(se)) != 0)
		log_warn("cannot hook the FUSE session: files are read "
		    "through the page cache");
}

/* The private spool directory, $TMPDIR/dfs-mount.PID.  Caller frees. */
static char *
fm_spool_dir(void)
{
	const char	*tmp = getenv("TMPDIR");
	char		*dir;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	xasprintf(&dir, "%s/dfs-mount.%ld", tmp, (long)getpid());
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "dfs-mount: cannot create the spool directory "
		    "%s: %s\n", dir, strerror(errno));
		exit(1);
	}
	return dir;
}

/*
 * Serve the mount through the low-level API (mount.lowlevel, fm-ll.c):
 * the same steps as main's for the high-level one, on a session of our
 * own.  The exit status.
 */
static int
fm_serve_lowlevel(struct fm *fm, struct fuse_args *fargs,
    const struct fm_opts *o, int level, bool use_syslog, const char *nn)
{
	struct fuse_loop_config	 lc = { .clone_fd = 0, .max_idle_threads = 10 };
	struct fuse_session	*se;
	int			 rc = 1;

	if ((se = fuse_session_new(fargs, &fm_ll_ops, sizeof fm_ll_ops,
	    fm)) == NULL) {
		fprintf(stderr, "dfs-mount: bad FUSE options\n");
		return 1;
	}
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		fprintf(stderr, "dfs-mount: cannot mount at %s\n",
		    o->mountpoint);
		fuse_session_destroy(se);
		return 1;
	}
	fm->se = se;
	fm->read_ahead_path = fm_read_ahead_path(o->mountpoint);
	fm_io_hook(fm, se);
	if (fuse_daemonize(o->foreground || o->debug) != 0) {
		fprintf(stderr, "dfs-mount: cannot become a daemon\n");
		goto out;
	}
	if (!o->foreground && !o->debug && !use_syslog)
		dfs_log_open(FM_NAME, level, true);	/* stderr is gone */
	if (fuse_set_signal_handlers(se) != 0) {
		log_err("cannot install signal handlers");
		goto out;
	}
	log_info("mounted %s at %s (low-level API)", nn, o->mountpoint);
	rc = fuse_session_loop_mt(se, &lc) < 0 ? 1 : 0;
	log_info("unmounting %s", o->mountpoint);
	fm_file_flush_all(fm);
	fm_ahead_pool_free(fm);
	fuse_remove_signal_handlers(se);
out:
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	fm->se = NULL;
	return rc;
}

int
main(int argc, char **argv)
{
	struct fuse_args	 args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_args	 fargs = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config	 lc = { .clone_fd = 0, .max_idle_threads = 10 };
	struct fm_opts		 o;
	struct dfs_config	*cfg = NULL;
	struct dfs_attr		 root;
	struct fuse		*fuse = NULL;
	struct stat		 st;
	struct fm		 fm;
	char			*cause = NULL, *opt;
	int			 level, rc = 1;
	bool			 use_syslog;

	memset(&o, 0, sizeof o);
	memset(&fm, 0, sizeof fm);
	if (fuse_opt_parse(&args, &o, fm_optspec, fm_opt_proc) != 0 ||
	    o.bad) {
		usage(stderr);
		rc = 2;
		goto early;
	}
	if (o.help) {
		usage(stdout);
		rc = 0;
		goto early;
	}
	if (o.version) {
		printf("dfs-mount (npdfs) %s, libfuse %s\n", PACKAGE_VERSION,
		    fuse_pkgversion());
		rc = 0;
		goto early;
	}
	if (o.mountpoint == NULL) {
		usage(stderr);
		rc = 2;
		goto early;
	}
	cfg = fm_config(&o);
	level = o.debug ? DFS_LOG_DEBUG : (int)dfs_config_int(cfg,
	    "log.level");
	use_syslog = dfs_config_bool(cfg, "log.syslog");
	dfs_log_open(FM_NAME, level, use_syslog);
	if (stat(o.mountpoint, &st) != 0) {
		fprintf(stderr, "dfs-mount: %s: %s\n", o.mountpoint,
		    strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "dfs-mount: %s: not a directory\n",
		    o.mountpoint);
		goto out;
	}

	/* A mount nobody can use is refused here, with the reason. */
	if (dfs_client_from_config(cfg, &fm.client, &cause) != 0) {
		fprintf(stderr, "dfs-mount: %s\n", cause);
		goto out;
	}
	fm_cred_own(&fm);	/* each request then acts as its caller */
	if (dfs_client_stat(fm.client, "/", &root, &cause) != 0) {
		fprintf(stderr, "dfs-mount: cannot reach the namenode at %s: "
		    "%s\n", dfs_config_str(cfg, "namenode.address"), cause);
		goto out;
	}
	fm.attr_timeout = (double)dfs_config_int(cfg, "mount.attr_timeout") /
	    1000.0;
	fm.max_memory = (uint64_t)dfs_config_int(cfg, "mount.max_memory");
	fm.direct_io = o.direct_io != 0;
	fm.lowlevel = dfs_config_bool(cfg, "mount.lowlevel");
	pthread_mutex_init(&fm.lock, NULL);
	fm.spool_dir = fm_spool_dir();
	fm_mount = &fm;

	/* FUSE's arguments: ours first, then what the user gave. */
	fuse_opt_add_arg(&fargs, argv[0]);
	/* A group's addresses are joined by '+' in the source shown by
	 * mount(8): a comma would end FUSE's option (dfs-sum reads it
	 * back, compute/sum-mount.c). */
	xasprintf(&opt, "-odefault_permissions,fsname=npdfs:%s,subtype=npdfs",
	    dfs_config_str(cfg, "namenode.address"));
	for (char *q = opt + strlen("-odefault_permissions,fsname=npdfs:");
	    *q != '\0' && strncmp(q, ",subtype=", 9) != 0; q++)
		if (*q == ',' || *q == ' ')
			*q = '+';
	fuse_opt_add_arg(&fargs, opt);
	free(opt);
	for (int i = 1; i < args.argc; i++)
		fuse_opt_add_arg(&fargs, args.argv[i]);
	if (fm.lowlevel) {
		rc = fm_serve_lowlevel(&fm, &fargs, &o, level, use_syslog,
		    dfs_config_str(cfg, "namenode.address"));
		goto out;
	}
	if ((fuse = fuse_new(&fargs, &fm_ops, sizeof fm_ops, &fm)) == NULL) {
		fprintf(stderr, "dfs-mount: bad FUSE options\n");
		goto out;
	}
	if (fuse_mount(fuse, o.mountpoint) != 0) {
		fprintf(stderr, "dfs-mount: cannot mount at %s\n",
		    o.mountpoint);
		fuse_destroy(fuse);
		fuse = NULL;
		goto out;
	}
	fm.read_ahead_path = fm_read_ahead_path(o.mountpoint);
	fm_io_hook(&fm, fuse_get_session(fuse));
	if (fuse_daemonize(o.foreground || o.debug) != 0) {
		fprintf(stderr, "dfs-mount: cannot become a daemon\n");
		fuse_unmount(fuse);
		goto out;
	}
	if (!o.foreground && !o.debug && !use_syslog)
		dfs_log_open(FM_NAME, level, true);	/* stderr is gone */
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0) {
		log_err("cannot install signal handlers");
		fuse_unmount(fuse);
		goto out;
	}
	log_info("mounted %s at %s", dfs_config_str(cfg, "namenode.address"),
	    o.mountpoint);
	rc = fuse_loop_mt(fuse, &lc) < 0 ? 1 : 0;
	log_info("unmounting %s", o.mountpoint);
	fm_file_flush_all(&fm);
	fm_ahead_pool_free(&fm);
	fuse_remove_signal_handlers(fuse_get_session(fuse));
	fuse_unmount(fuse);
out:
	if (fuse != NULL)
		fuse_destroy(fuse);
	if (fm.spool_dir != NULL && rmdir(fm.spool_dir) != 0 &&
	    errno != ENOENT)
		log_warn("cannot remove %s: %s", fm.spool_dir,
		    strerror(errno));
	free(fm.spool_dir);
	free(fm.read_ahead_path);
	free(cause);
	dfs_client_free(fm.client);
	dfs_config_free(cfg);
	if (fm.client != NULL)
		log_info("stopped");
early:
	fuse_opt_free_args(&fargs);
	fuse_opt_free_args(&args);
	for (int i = 0; i < o.nsets; i++)
		free(o.sets[i]);
	free(o.sets);
	free(o.conf_path);
	free(o.namenode);
	free(o.mountpoint);
	return rc;
}
