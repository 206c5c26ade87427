/*
 * nn-audit.c: the namenode's audit log, one line per namespace request,
 * as HDFS keeps hdfs-audit.log: who (the certificate's name and role and
 * the credential the request acted as), from where, what, on which
 * path(s), and whether it was allowed.
 *
 * Why it is built this way.  nn_server_dispatch calls nn_audit_req once
 * per request, after the handler has returned and the namenode lock is
 * released, so an audit line never lengthens a critical section; the
 * handlers only leave their decoded paths in the request (nn_meta_paths
 * does it for every path request).  Lines go into a memory buffer under
 * the audit's own mutex; one flusher thread swaps the buffer out and
 * writes it to the file at least once a second (sooner when it fills),
 * so no connection thread ever waits on the disk.  The file is opened
 * and written only by the flusher: SIGHUP (log rotation) asks it to
 * reopen.  If the disk stalls, the buffer is bounded: lines past
 * NN_AUDIT_MAX are counted and the count is written once it drains.
 *
 * Every value is one word: names are escaped as dfs prints them
 * (lib/name.c) with spaces as \x20 too, so a path holding a newline or
 * " cmd=" cannot forge a line or a field.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "name.h"
#include "nn_i.h"
#include "xmalloc.h"

#define NN_AUDIT_FLUSH_MS	1000		/* at least this often */
#define NN_AUDIT_HIGH		(256 * 1024)	/* wake the flusher early */
#define NN_AUDIT_MAX		(64 * 1024 * 1024)	/* then drop lines */

struct nn_audit {
	char		*path;
	int		 fd;		/* the flusher's alone */
	pthread_t	 flusher;

	pthread_mutex_t	 lock;		/* guards what follows */
	pthread_cond_t	 wake;
	char		*buf;
	size_t		 len, cap;
	uint64_t	 dropped;
	bool		 stop;
	bool		 reopen;
};

/* Open the file at a's path for appending, private to its owner. */
static int
nn_audit_open_file(struct nn_audit *a, char **cause)
{
	struct stat	sb;
	int		fd;

	fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0) {
		xasprintf(cause, "namenode.audit_log: cannot open %s: %s",
		    a->path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		xasprintf(cause, "namenode.audit_log: %s is not a regular "
		    "file", a->path);
		close(fd);
		return -EINVAL;
	}
	/* Paths of every user: not for other local users to read. */
	if ((sb.st_mode & 077) != 0 && fchmod(fd, sb.st_mode & 0700) != 0)
		log_warn("namenode.audit_log: chmod %s: %s", a->path,
		    strerror(errno));
	a->fd = fd;
	return 0;
}

/* Write all of buf to the file; a failure is logged, not retried. */
static void
nn_audit_write(struct nn_audit *a, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(a->fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			log_err("audit log %s: %zu bytes lost: %s", a->path,
			    len, strerror(errno));
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* The flusher: what the connection threads buffered, to the file. */
static void *
nn_audit_flusher(void *arg)
{
	struct nn_audit	*a = arg;
	char		*out = NULL, *cause = NULL, *t, lost[96];
	size_t		 outlen, outcap = 0, c;
	uint64_t	 dropped;
	bool		 stop, reopen;

	for (;;) {
		pthread_mutex_lock(&a->lock);
		if (!a->stop && !a->reopen && a->len < NN_AUDIT_HIGH) {
			dfs_cond_wait_until(&a->wake, &a->lock,
			    dfs_now_ms() + NN_AUDIT_FLUSH_MS);
		}
		/* Swap buffers: writers go on into the empty one. */
		t = a->buf;
		a->buf = out;
		out = t;
		outlen = a->len;
		c = a->cap;
		a->cap = outcap;
		outcap = c;
		a->len = 0;
		dropped = a->dropped;
		a->dropped = 0;
		stop = a->stop;
		reopen = a->reopen;
		a->reopen = false;
		pthread_mutex_unlock(&a->lock);

		if (outlen > 0)
			nn_audit_write(a, out, outlen);
		if (dropped > 0) {
			snprintf(lost, sizeof lost, "# %llu audit lines lost: "
			    "the log could not keep up\n",
			    (unsigned long long)dropped);
			nn_audit_write(a, lost, strlen(lost));
			log_err("audit log %s: %llu lines lost", a->path,
			    (unsigned long long)dropped);
		}
		if (reopen) {
			int old = a->fd;

			if (nn_audit_open_file(a, &cause) != 0) {
				log_err("keeping the old audit log: %s", cause);
				free(cause);
				cause = NULL;
			} else {
				close(old);
				log_info("audit log %s reopened", a->path);
			}
		}
		if (stop)
			break;
	}
	free(out);
	return NULL;
}

/*
 * Start the audit log that namenode.audit_log names (relative to
 * namenode.meta_dir), or none when it is empty.
 */
int
nn_audit_open(struct nn *nn, const struct dfs_config *cfg, char **cause)
{
	const char		*path;
	struct nn_audit		*a;
	int			 rc;

	path = dfs_config_str(cfg, "namenode.audit_log");
	nn->audit = NULL;
	if (path[0] == '\0') {
		log_info("no audit log (namenode.audit_log is empty)");
		return 0;
	}
	a = xcalloc(1, sizeof *a);
	a->fd = -1;
	if (path[0] == '/')
		a->path = xstrdup(path);
	else
		xasprintf(&a->path, "%s/%s", dfs_config_str(cfg,
		    "namenode.meta_dir"), path);
	if ((rc = nn_audit_open_file(a, cause)) != 0) {
		free(a->path);
		free(a);
		return rc;
	}
	pthread_mutex_init(&a->lock, NULL);
	dfs_cond_init(&a->wake);
	if ((rc = pthread_create(&a->flusher, NULL, nn_audit_flusher,
	    a)) != 0) {
		xasprintf(cause, "audit log: pthread_create: %s",
		    strerror(rc));
		close(a->fd);
		free(a->path);
		free(a);
		return -rc;
	}
	log_info("audit log: %s", a->path);
	nn->audit = a;
	return 0;
}

/* SIGHUP: reopen the file (after a rotation renamed it). */
void
nn_audit_reopen(struct nn *nn)
{
	struct nn_audit	*a = nn->audit;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->reopen = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

/*
 * At shut-down: write what is buffered and stop the flusher.  A
 * connection thread may still be finishing a request (the process exits
 * without waiting for them), so the audit stays allocated and takes its
 * lines, unwritten, until the end.
 */
void
nn_audit_close(struct nn *nn)
{
	struct nn_audit	*a = nn->audit;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->flusher, NULL);
	close(a->fd);
	a->fd = -1;
}

/* Add one line (with its newline) to the buffer. */
static void
nn_audit_add(struct nn_audit *a, const char *line, size_t n)
{
	pthread_mutex_lock(&a->lock);
	if (a->len + n > NN_AUDIT_MAX)
		a->dropped++;
	else {
		if (a->len + n > a->cap) {
			a->cap = a->cap == 0 ? 4096 : a->cap;
			while (a->cap < a->len + n)
				a->cap *= 2;
			a->buf = xrealloc(a->buf, a->cap);
		}
		memcpy(a->buf + a->len, line, n);
		a->len += n;
		if (a->len >= NN_AUDIT_HIGH)
			pthread_cond_signal(&a->wake);
	}
	pthread_mutex_unlock(&a->lock);
}

/*
 * The requests audited whatever their result: every namespace operation,
 * reads too (GET_BLOCKS is HDFS's "open", STAT its "getfileinfo", LIST
 * its "listStatus").  Not the write steps of a file already opened
 * (ADD_BLOCK, COMPLETE, RENEW_LEASE...), nor data node traffic, nor
 * requests that touch no name (STATFS, REPORT, WHOAMI), nor ACT_AS (a
 * mount sends one whenever its caller changes, and every line says whom
 * its request acted as): those only when refused (nn_audit_req).
 */
static bool
nn_audit_wanted(uint16_t type)
{
	static const uint16_t types[] = {
		DFS_NN_MKDIR, DFS_NN_STAT, DFS_NN_LIST, DFS_NN_CREATE,
		DFS_NN_GET_BLOCKS, DFS_NN_RENAME, DFS_NN_DELETE,
		DFS_NN_SET_REPL, DFS_NN_FSCK, DFS_NN_BAD_BLOCK, DFS_NN_SETATTR,
		DFS_NN_UNLINK, DFS_NN_SYMLINK, DFS_NN_READLINK,
		DFS_NN_HARDLINK, DFS_NN_MKNOD, DFS_NN_VERIFY,
		/* A complete file changed in place: as an open for write. */
		DFS_NN_PATCH_BLOCK,
	};

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (types[i] == type)
			return true;
	return false;
}

/* Keep a request's decoded paths (either may be NULL) for its audit
 * line; consumes them, leaving NULL behind.  The dispatch frees them. */
void
nn_audit_paths(struct nn_req *req, char **src, char **dst)
{
	free(req->audit_src);
	req->audit_src = *src;
	*src = NULL;
	if (dst != NULL) {
		free(req->audit_dst);
		req->audit_dst = *dst;
		*dst = NULL;
	}
}

/* "ok", or the name of errno err ("EACCES"). */
static const char *
nn_audit_result(int err, char *buf, size_t len)
{
	const char	*name;

	if (err == 0)
		return "ok";
	if ((name = strerrorname_np(-err)) != NULL)
		return name;
	snprintf(buf, len, "E%d", -err);
	return buf;
}

/*
 * A path for an audit line: one that starts at an inode ("#17/a", from a
 * mount addressing files by inode) is shown from the root as the inode's
 * first name has it now, so the log reads the same whichever way a
 * client names files; "#17/a" itself when that inode is gone.  Caller
 * frees.
 */
static char *
nn_audit_path(struct nn *nn, const char *path)
{
	const char	*rest;
	dfs_ino		 ino;
	char		*top, *full;
	size_t		 n;

	if ((n = nn_path_ino(path, &ino)) == 0)
		return xstrdup(path);
	rest = path + n;
	pthread_mutex_lock(&nn->lock);
	top = nn_path_of(nn, ino);
	pthread_mutex_unlock(&nn->lock);
	if (top == NULL)
		return xstrdup(path);
	xasprintf(&full, "%s%s", strcmp(top, "/") == 0 && *rest == '/' ? "" :
	    top, rest);
	free(top);
	return full;
}

/*
 * One audit line for req, which ended with rc, in the format
 * dfs-namenode(8) documents:
 *
 *   TIME result=R cmd=C cert=NAME role=ROLE uid=U gid=G addr=A src=P dst=P
 *
 * "-" stands for a field with no value.  Requests of the types above,
 * and any request refused (-EACCES, -EPERM: a data node message from a
 * user's certificate, a write step on a file not the caller's).
 */
void
nn_audit_req(struct nn_req *req, int rc)
{
	const struct nn_peer	*p = req->peer;
	struct nn_audit		*a = req->nn->audit;
	const char		*role;
	struct timespec		 ts;
	struct tm		 tm;
	char			 when[32], err[16], *cert, *src, *dst, *addr;
	char			*path;
	char			*line;
	int			 n;

	if (a == NULL || (!nn_audit_wanted(req->type) && rc != -EACCES &&
	    rc != -EPERM))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	role = p->id.role != DFS_ROLE_NONE ?
	    dfs_pki_role_name(p->id.role) : NULL;
	cert = dfs_name_escape_word(p->id.name[0] != '\0' ? p->id.name : "-");
	addr = dfs_name_escape_word(p->addr);
	src = nn_audit_path(req->nn, req->audit_src != NULL ?
	    req->audit_src : "-");
	dst = nn_audit_path(req->nn, req->audit_dst != NULL ?
	    req->audit_dst : "-");
	path = src;
	src = dfs_name_escape_word(path);
	free(path);
	path = dst;
	dst = dfs_name_escape_word(path);
	free(path);
	n = xasprintf(&line, "%s.%03ldZ result=%s cmd=%s cert=%s role=%s "
	    "uid=%u gid=%u addr=%s src=%s dst=%s\n", when,
	    ts.tv_nsec / 1000000, nn_audit_result(rc, err, sizeof err),
	    dfs_msg_name(req->type), cert, role != NULL ? role : "none",
	    p->cred.uid, p->cred.gid, addr, src, dst);
	nn_audit_add(a, line, (size_t)n);
	free(line);
	free(cert);
	free(addr);
	free(src);
	free(dst);
}
