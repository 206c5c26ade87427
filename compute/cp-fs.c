/* cp-fs.c: dfs put, get and cat: moving file contents in and out. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_i.h"
#include "log.h"
#include "xmalloc.h"

#define CP_IOBUF	(4U << 20)

/* If path names a directory in the cluster, the file goes inside it. */
static char *
cp_target(struct cp_ctx *ctx, const char *path, const char *local)
{
	struct dfs_attr	 a;
	char		*cause = NULL;

	if (dfs_client_stat(cp_client(ctx), path, &a, &cause) == 0 &&
	    a.type == DFS_FT_DIR && strcmp(local, "-") != 0)
		return cp_join(path, cp_basename(local));
	free(cause);
	return xstrdup(path);
}

int
cp_cmd_put(struct cp_ctx *ctx, int argc, char **argv)
{
	struct dfs_write_opts	 o = { .mode = 0644 };
	struct dfs_writer	*w = NULL;
	struct dfs_client	*c;
	uint8_t			*buf = NULL;
	char			*cause = NULL, *path = NULL;
	int			 ch, fd = -1, rc = 0;
	ssize_t			 n;

	optind = 0;	/* full reset: main() parsed with "+" */
	while ((ch = getopt(argc, argv, "fr:b:")) != -1) {
		switch (ch) {
		case 'f':
			o.overwrite = true;
			break;
		case 'r': {
			char *end;
			long r = strtol(optarg, &end, 10);
			if (*end != '\0' || r < 1 || r > DFS_MAX_REPLICATION) {
				fprintf(stderr, "dfs put: bad replication '%s' "
				    "(1..%d)\n", optarg, DFS_MAX_REPLICATION);
				return 1;
			}
			o.replication = (uint16_t)r;
			break;
		}
		case 'b':
			if (cp_parse_size(optarg, &o.block_size) != 0) {
				fprintf(stderr, "dfs put: bad block size '%s' "
				    "(e.g. 4096, 64K, 1M)\n", optarg);
				return 1;
			}
			break;
		default:
			return cp_usage("put");
		}
	}
	if (argc - optind != 2)
		return cp_usage("put");
	if (strcmp(argv[optind], "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(argv[optind], O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "dfs put: cannot open %s: %s\n", argv[optind],
		    strerror(errno));
		return 1;
	} else {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			fprintf(stderr, "dfs put: %s is a directory\n",
			    argv[optind]);
			close(fd);
			return 1;
		}
		o.mode = st.st_mode & 0777;
	}
	c = cp_client(ctx);
	path = cp_target(ctx, argv[optind + 1], argv[optind]);
	if ((rc = dfs_writer_open(c, path, &o, &w, &cause)) != 0) {
		if (rc == -EEXIST && !o.overwrite) {
			free(cause);
			xasprintf(&cause, "%s exists (use -f to overwrite)",
			    path);
		}
		goto out;
	}
	buf = xmalloc(CP_IOBUF);
	for (;;) {
		n = read(fd, buf, CP_IOBUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			xasprintf(&cause, "reading %s: %s", argv[optind],
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((rc = dfs_writer_write(w, buf, n, &cause)) != 0)
			break;
	}
	if (rc == 0) {
		rc = dfs_writer_close(w, &cause);
		w = NULL;
	}
	if (rc != 0) {
		/* Leave nothing half-written behind under the name. */
		char *why = NULL;
		dfs_writer_abort(w);
		w = NULL;
		dfs_client_delete(c, path, false, &why);
		free(why);
	}
out:
	if (fd > STDIN_FILENO)
		close(fd);
	free(buf);
	if (rc != 0) {
		char *msg;
		xasprintf(&msg, "%s: %s", path, cause != NULL ? cause :
		    strerror(-rc));
		free(cause);
		free(path);
		return cp_fail(ctx, "put", rc, msg);
	}
	free(path);
	return 0;
}

/*
 * Writing the local copy overlaps fetching the next buffer: a writer
 * thread drains one buffer while the reader fills the other, so a get
 * costs about the larger of the network and the local disk, not the sum.
 */
struct cp_out {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 fd;
	const char	*name;
	uint8_t		*buf[2];
	size_t		 len[2];	/* bytes waiting in buf[i]; 0 = free */
	bool		 done;
	int		 err;		/* errno of a failed write */
};

static void *
cp_out_writer(void *arg)
{
	struct cp_out	*o = arg;
	int		 i = 0;

	for (;;) {
		pthread_mutex_lock(&o->lock);
		while (o->len[i] == 0 && !o->done)
			pthread_cond_wait(&o->cond, &o->lock);
		size_t n = o->len[i];
		pthread_mutex_unlock(&o->lock);
		if (n == 0)
			return NULL;
		for (size_t done = 0; done < n && o->err == 0; ) {
			ssize_t m = write(o->fd, o->buf[i] + done, n - done);
			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0)
				o->err = errno;
			else
				done += m;
		}
		pthread_mutex_lock(&o->lock);
		o->len[i] = 0;
		pthread_cond_broadcast(&o->cond);
		pthread_mutex_unlock(&o->lock);
		i ^= 1;
	}
}

/* Copy a whole cluster file to fd. */
static int
cp_copy_out(struct cp_ctx *ctx, const char *path, int fd, const char *name,
    char **cause)
{
	struct dfs_reader	*r = NULL;
	struct cp_out		 o = { .fd = fd, .name = name };
	pthread_t		 writer;
	uint64_t		 off = 0;
	ssize_t			 n = 0;
	int			 rc = 0, i = 0;

	if ((rc = dfs_reader_open(cp_client(ctx), path, &r, cause)) != 0)
		return rc;
	if (dfs_reader_attr(r)->type == DFS_FT_DIR) {
		dfs_reader_close(r);
		xasprintf(cause, "%s is a directory", path);
		return -EISDIR;
	}
	pthread_mutex_init(&o.lock, NULL);
	pthread_cond_init(&o.cond, NULL);
	o.buf[0] = xmalloc(CP_IOBUF);
	o.buf[1] = xmalloc(CP_IOBUF);
	if (pthread_create(&writer, NULL, cp_out_writer, &o) != 0)
		fatalx("cannot start a thread");
	for (;;) {
		pthread_mutex_lock(&o.lock);
		while (o.len[i] != 0)
			pthread_cond_wait(&o.cond, &o.lock);
		pthread_mutex_unlock(&o.lock);
		if (o.err != 0)
			break;
		n = dfs_reader_pread(r, o.buf[i], CP_IOBUF, off, cause);
		if (n <= 0)
			break;
		off += n;
		pthread_mutex_lock(&o.lock);
		o.len[i] = n;
		pthread_cond_broadcast(&o.cond);
		pthread_mutex_unlock(&o.lock);
		i ^= 1;
	}
	pthread_mutex_lock(&o.lock);
	o.done = true;
	pthread_cond_broadcast(&o.cond);
	pthread_mutex_unlock(&o.lock);
	pthread_join(writer, NULL);
	if (o.err != 0) {
		rc = -o.err;
		free(*cause);
		xasprintf(cause, "writing %s: %s", name, strerror(o.err));
	} else if (n < 0)
		rc = (int)n;
	free(o.buf[0]);
	free(o.buf[1]);
	pthread_mutex_destroy(&o.lock);
	pthread_cond_destroy(&o.cond);
	dfs_reader_close(r);
	return rc;
}

int
cp_cmd_get(struct cp_ctx *ctx, int argc, char **argv)
{
	struct stat	 st;
	char		*cause = NULL, *local, *tmp;
	int		 fd, rc;

	if (argc != 3)
		return cp_usage("get");
	if (strcmp(argv[2], "-") == 0) {
		rc = cp_copy_out(ctx, argv[1], STDOUT_FILENO, "stdout", &cause);
		return rc == 0 ? 0 : cp_fail(ctx, "get", rc, cause);
	}
	if (stat(argv[2], &st) == 0 && S_ISDIR(st.st_mode))
		local = cp_join(argv[2], cp_basename(argv[1]));
	else
		local = xstrdup(argv[2]);
	/* Write beside the target and rename: never a partial file. */
	xasprintf(&tmp, "%s.dfs-get.%ld", local, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		xasprintf(&cause, "cannot create %s: %s", tmp, strerror(errno));
		rc = -errno;
		goto out;
	}
	rc = cp_copy_out(ctx, argv[1], fd, local, &cause);
	if (close(fd) != 0 && rc == 0) {
		rc = -errno;
		xasprintf(&cause, "writing %s: %s", local, strerror(errno));
	}
	if (rc == 0 && rename(tmp, local) != 0) {
		rc = -errno;
		xasprintf(&cause, "cannot rename to %s: %s", local,
		    strerror(errno));
	}
	if (rc != 0)
		unlink(tmp);
out:
	free(tmp);
	free(local);
	return rc == 0 ? 0 : cp_fail(ctx, "get", rc, cause);
}

int
cp_cmd_cat(struct cp_ctx *ctx, int argc, char **argv)
{
	char	*cause = NULL;
	int	 rc, status = 0;

	if (argc < 2)
		return cp_usage("cat");
	for (int i = 1; i < argc; i++) {
		rc = cp_copy_out(ctx, argv[i], STDOUT_FILENO, "stdout", &cause);
		if (rc != 0) {
			status = cp_fail(ctx, "cat", rc, cause);
			cause = NULL;
		}
	}
	return status;
}
