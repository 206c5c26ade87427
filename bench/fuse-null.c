/*
 * fuse-null.c: the fastest a FUSE file system can read on this machine.
 *
 * A low-level libfuse3 file system with one file, "zero", of SIZE bytes
 * that reads as zeros from one static buffer: no storage, no checksums,
 * no network.  bench/mount.sh reads it with dd beside dfs-mount and a
 * local directory, so the read ratio of dfs-mount can be set against the
 * ratio that FUSE itself allows in the same run.  Not a test.
 *
 *   bench/fuse-null MOUNTPOINT SIZE_MIB [-o direct_io] [FUSE OPTIONS...]
 *
 * Runs in the foreground until unmounted (fusermount3 -u).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fuse_lowlevel.h>

#define NULL_INO	2
#define NULL_NAME	"zero"
#define NULL_BUF	(1U << 20)

static uint64_t	null_size;
static int	null_direct_io;
static char	null_zeros[NULL_BUF];

static void
null_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)null_size;
	}
}

static void
null_init(void *data, struct fuse_conn_info *conn)
{
	(void)data;
	/* As dfs-mount: no write-back cache, the kernel's read-ahead. */
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

static void
null_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param	e;

	if (parent != FUSE_ROOT_ID || strcmp(name, NULL_NAME) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof e);
	e.ino = NULL_INO;
	e.attr_timeout = e.entry_timeout = 60;
	null_stat(NULL_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void
null_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat	st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != NULL_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	null_stat(ino, &st);
	fuse_reply_attr(req, &st, 60);
}

static void
null_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != NULL_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = null_direct_io;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void
null_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	if ((uint64_t)off >= null_size)
		size = 0;
	else if (size > null_size - (uint64_t)off)
		size = null_size - (uint64_t)off;
	if (size > NULL_BUF)
		size = NULL_BUF;
	fuse_reply_buf(req, null_zeros, size);
}

static const struct fuse_lowlevel_ops null_ops = {
	.init = null_init,
	.lookup = null_lookup,
	.getattr = null_getattr,
	.open = null_open,
	.read = null_read,
};

int
main(int argc, char **argv)
{
	struct fuse_args		 args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session		*se;
	struct fuse_loop_config		 lc = { .clone_fd = 0,
					    .max_idle_threads = 10 };
	char				*end;
	int				 rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: fuse-null MOUNTPOINT SIZE_MIB "
		    "[-o direct_io] [FUSE OPTIONS...]\n");
		return 2;
	}
	null_size = strtoull(argv[2], &end, 10) << 20;
	if (*end != '\0' || null_size == 0) {
		fprintf(stderr, "fuse-null: bad size %s\n", argv[2]);
		return 2;
	}
	fuse_opt_add_arg(&args, argv[0]);
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc &&
		    strcmp(argv[i + 1], "direct_io") == 0) {
			null_direct_io = 1;
			i++;
			continue;
		}
		fuse_opt_add_arg(&args, argv[i]);
	}
	se = fuse_session_new(&args, &null_ops, sizeof null_ops, NULL);
	if (se == NULL)
		goto out;
	if (fuse_session_mount(se, argv[1]) != 0)
		goto out_se;
	rc = fuse_session_loop_mt(se, &lc) != 0;
	fuse_session_unmount(se);
out_se:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	return rc;
}
