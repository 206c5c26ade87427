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
#define CP_DIO_ALIGN	4096U	/* O_DIRECT offset, length and memory */

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

/* Where a put's bytes go: a temporary renamed on success (dfs_put_*),
 * or, with -d, straight to the target (dfs_writer_*). */
struct cp_put {
	struct dfs_put		*p;
	struct dfs_writer	*w;
};

/* Append n bytes to whichever the put writes. */
static int
cp_put_write(struct cp_put *cp, const void *buf, size_t n, char **cause)
{
	if (cp->p != NULL)
		return dfs_put_write(cp->p, buf, n, cause);
	return dfs_writer_write(cp->w, buf, n, cause);
}

/* Copy fd (named local) into the put; its bytes, then its end. */
static int
cp_put_copy(struct cp_put *cp, int fd, const char *local, char **cause)
{
	uint8_t	*buf = xmalloc(CP_IOBUF);
	ssize_t	 n;
	int	 rc = 0;

	for (;;) {
		n = read(fd, buf, CP_IOBUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			xasprintf(cause, "reading %s: %s", local,
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((rc = cp_put_write(cp, buf, n, cause)) != 0)
			break;
	}
	free(buf);
	return rc;
}

/*
 * Store fd (named local) as path.  By default through a temporary that is
 * renamed onto path only when complete (lib/client-put.c), so a put that
 * fails, or whose client or namenode dies, leaves nothing under path.
 * With direct (-d), the old way: straight into path, removed on failure
 * when the namenode answers, else closed by its lease recovery at what
 * was acknowledged.  A put that succeeds is on the namenode's disk when it
 * returns (SYNC; namenode.sync in npdfs.conf(5)).
 */
static int
cp_put_run(struct dfs_client *c, int fd, const char *local, const char *path,
    const struct dfs_write_opts *o, bool direct, char **cause)
{
	struct cp_put	 cp = { NULL, NULL };
	char		*why = NULL;
	int		 rc;

	rc = direct ? dfs_writer_open(c, path, o, &cp.w, cause) :
	    dfs_put_open(c, path, o, &cp.p, cause);
	if (rc != 0)
		return rc;
	rc = cp_put_copy(&cp, fd, local, cause);
	if (cp.p != NULL) {
		if (rc != 0) {
			dfs_put_abort(cp.p);
			return rc;
		}
		if ((rc = dfs_put_commit(cp.p, cause)) != 0)
			return rc;
		return dfs_client_sync(c, cause);
	}
	if (rc == 0)
		rc = dfs_writer_close(cp.w, cause);	/* frees cp.w */
	else
		dfs_writer_abort(cp.w);
	if (rc == 0)
		return dfs_client_sync(c, cause);
	/* Leave nothing half-written behind under the name, if we can. */
	dfs_client_delete(c, path, false, &why);
	free(why);
	return rc;
}

int
cp_cmd_put(struct cp_ctx *ctx, int argc, char **argv)
{
	struct dfs_write_opts	 o = { .mode = 0644 };
	char			*cause = NULL, *path = NULL;
	bool			 direct = false;
	int			 ch, fd = -1, rc = 0;

	optind = 0;	/* full reset: main() parsed with "+" */
	while ((ch = getopt(argc, argv, "dfr:b:")) != -1) {
		switch (ch) {
		case 'd':
			direct = true;
			break;
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
	path = cp_target(ctx, argv[optind + 1], argv[optind]);
	rc = cp_put_run(cp_client(ctx), fd, argv[optind], path, &o, direct,
	    &cause);
	if (rc == -EEXIST && !o.overwrite) {
		free(cause);
		xasprintf(&cause, "%s exists (use -f to overwrite)", path);
	}
	if (fd > STDIN_FILENO)
		close(fd);
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
 * A get moves every byte over the network, checks it and writes it to the
 * local disk; those overlap here.  Two fetcher threads, each with its own
 * reader (so its own data node connections), fill the 4 MiB pieces of the
 * file turn about into a ring of CP_NBUF buffers, and the calling thread
 * writes the pieces out in file order.  The two streams usually go to
 * different data nodes, so the nodes' disks and the client's cores work
 * at once instead of one request at a time.  A regular file is written
 * with O_DIRECT where it can be (dfd): filling fresh page-cache pages is
 * the largest cost of a get on these machines (MEASUREMENTS.md).  The tail
 * that is not CP_DIO_ALIGN-aligned goes through fd.
 */
#define CP_FETCHERS	2
#define CP_NBUF		4

struct cp_out {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 fd;
	int		 dfd;		/* O_DIRECT on the same file, or -1 */
	bool		 seekable;	/* dfd was given: pwrite at pos */
	uint64_t	 pos;
	uint64_t	 size;		/* of the cluster file, at open */
	uint64_t	 npieces;
	uint8_t		*buf[CP_NBUF];
	size_t		 len[CP_NBUF];	/* bytes of a fetched piece */
	uint64_t	 piece[CP_NBUF];	/* which piece buf[i] holds */
	bool		 full[CP_NBUF];
	uint64_t	 written;	/* pieces written out */
	int		 err;		/* first failure, -errno */
	char		*cause;
};

struct cp_fetcher {
	struct cp_out		*o;
	struct dfs_reader	*r;
	unsigned		 first;	/* piece numbers first, first + 2.. */
	pthread_t		 thr;
	bool			 running;
};

/* Write n bytes of p at o->pos, directly where aligned: 0 or errno. */
static int
cp_out_pwrite(struct cp_out *o, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t a = n & ~(size_t)(CP_DIO_ALIGN - 1);
		bool direct = o->dfd >= 0 && a > 0 &&
		    o->pos % CP_DIO_ALIGN == 0 &&
		    (uintptr_t)p % CP_DIO_ALIGN == 0;
		ssize_t m = direct ? pwrite(o->dfd, p, a, (off_t)o->pos) :
		    pwrite(o->fd, p, n, (off_t)o->pos);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0 && direct && errno == EINVAL) {
			close(o->dfd);		/* stay buffered */
			o->dfd = -1;
			continue;
		}
		if (m < 0)
			return errno;
		p += m;
		n -= m;
		o->pos += m;
	}
	return 0;
}

/* Write all of p to a pipe or terminal: 0 or errno. */
static int
cp_out_write(int fd, const uint8_t *p, size_t n)
{
	for (size_t done = 0; done < n; ) {
		ssize_t m = write(fd, p + done, n - done);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0)
			return errno;
		done += m;
	}
	return 0;
}

/* Record the first failure; the others stop when they see it. */
static void
cp_out_fail(struct cp_out *o, int err, char *cause)
{
	pthread_mutex_lock(&o->lock);
	if (o->err == 0) {
		o->err = err;
		o->cause = cause;
		cause = NULL;
	}
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	free(cause);
}

/* A fetcher: its pieces, in order, each into the ring once it is free. */
static void *
cp_fetcher_main(void *arg)
{
	struct cp_fetcher	*f = arg;
	struct cp_out		*o = f->o;

	for (uint64_t k = f->first; k < o->npieces; k += CP_FETCHERS) {
		unsigned b = k % CP_NBUF;
		uint64_t off = k * CP_IOBUF;
		size_t want = o->size - off < CP_IOBUF ? o->size - off :
		    CP_IOBUF;
		char *cause = NULL;
		ssize_t n;

		pthread_mutex_lock(&o->lock);
		while (o->err == 0 && (o->full[b] || o->written + CP_NBUF <= k))
			pthread_cond_wait(&o->cond, &o->lock);
		pthread_mutex_unlock(&o->lock);
		if (o->err != 0)
			break;
		n = dfs_reader_pread(f->r, o->buf[b], want, off, &cause);
		if (n >= 0 && (size_t)n != want) {
			free(cause);
			xasprintf(&cause, "the file changed while it was read");
			n = -EIO;
		}
		if (n < 0) {
			cp_out_fail(o, (int)n, cause);
			break;
		}
		pthread_mutex_lock(&o->lock);
		o->len[b] = (size_t)n;
		o->piece[b] = k;
		o->full[b] = true;
		pthread_cond_broadcast(&o->cond);
		pthread_mutex_unlock(&o->lock);
	}
	return NULL;
}

/*
 * Copy a whole cluster file to fd; dfd, if not -1, is the same new regular
 * file opened with O_DIRECT (closed here).
 */
static int
cp_copy_out(struct cp_ctx *ctx, const char *path, int fd, int dfd,
    const char *name, char **cause)
{
	struct cp_out		 o = { .fd = fd, .dfd = dfd,
				       .seekable = dfd >= 0 };
	struct cp_fetcher	 f[CP_FETCHERS];
	struct dfs_reader	*r0 = NULL;
	int			 rc, err;

	memset(f, 0, sizeof f);
	if ((rc = dfs_reader_open(cp_client(ctx), path, &r0, cause)) != 0)
		goto out;
	if (dfs_reader_attr(r0)->type == DFS_FT_DIR) {
		dfs_reader_close(r0);
		xasprintf(cause, "%s is a directory", path);
		rc = -EISDIR;
		goto out;
	}
	o.size = dfs_reader_attr(r0)->size;
	o.npieces = (o.size + CP_IOBUF - 1) / CP_IOBUF;
	f[0].r = r0;
	for (int i = 1; i < CP_FETCHERS && o.npieces > 1; i++)
		if ((rc = dfs_reader_open(cp_client(ctx), path, &f[i].r,
		    cause)) != 0)
			goto close;
	pthread_mutex_init(&o.lock, NULL);
	pthread_cond_init(&o.cond, NULL);
	for (int k = 0; k < CP_NBUF; k++)
		if (posix_memalign((void **)&o.buf[k], CP_DIO_ALIGN,
		    CP_IOBUF) != 0)
			fatalx("out of memory");
	for (int i = 0; i < CP_FETCHERS; i++) {
		f[i].o = &o;
		f[i].first = i;
		if (f[i].r != NULL && pthread_create(&f[i].thr, NULL,
		    cp_fetcher_main, &f[i]) != 0)
			fatalx("cannot start a thread");
		f[i].running = f[i].r != NULL;
	}
	/* Write the pieces out in order as they arrive. */
	for (uint64_t k = 0; k < o.npieces; k++) {
		unsigned b = k % CP_NBUF;

		pthread_mutex_lock(&o.lock);
		while (o.err == 0 && !(o.full[b] && o.piece[b] == k))
			pthread_cond_wait(&o.cond, &o.lock);
		pthread_mutex_unlock(&o.lock);
		if (o.err != 0)
			break;
		err = o.seekable ? cp_out_pwrite(&o, o.buf[b], o.len[b]) :
		    cp_out_write(fd, o.buf[b], o.len[b]);
		if (err != 0) {
			char *why = NULL;
			xasprintf(&why, "writing %s: %s", name, strerror(err));
			cp_out_fail(&o, -err, why);
			break;
		}
		pthread_mutex_lock(&o.lock);
		o.full[b] = false;
		o.written = k + 1;
		pthread_cond_broadcast(&o.cond);
		pthread_mutex_unlock(&o.lock);
	}
	for (int i = 0; i < CP_FETCHERS; i++)
		if (f[i].running)
			pthread_join(f[i].thr, NULL);
	rc = o.err;
	if (rc != 0) {
		free(*cause);
		*cause = o.cause;
	}
	for (int k = 0; k < CP_NBUF; k++)
		free(o.buf[k]);
	pthread_mutex_destroy(&o.lock);
	pthread_cond_destroy(&o.cond);
close:
	for (int i = 0; i < CP_FETCHERS; i++)
		dfs_reader_close(f[i].r);
out:
	if (o.dfd >= 0)
		close(o.dfd);
	return rc;
}

int
cp_cmd_get(struct cp_ctx *ctx, int argc, char **argv)
{
	struct stat	 st;
	char		*cause = NULL, *local, *tmp;
	int		 fd, dfd, rc;

	if (argc != 3)
		return cp_usage("get");
	if (strcmp(argv[2], "-") == 0) {
		rc = cp_copy_out(ctx, argv[1], STDOUT_FILENO, -1, "stdout",
		    &cause);
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
	/* Where the file system refuses O_DIRECT, plain writes do. */
	dfd = open(tmp, O_WRONLY | O_DIRECT | O_CLOEXEC);
	rc = cp_copy_out(ctx, argv[1], fd, dfd, local, &cause);
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
		rc = cp_copy_out(ctx, argv[i], STDOUT_FILENO, -1, "stdout",
		    &cause);
		if (rc != 0) {
			status = cp_fail(ctx, "cat", rc, cause);
			cause = NULL;
		}
	}
	return status;
}
