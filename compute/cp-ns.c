/* cp-ns.c: dfs ls, mkdir, rm, mv and stat: the namespace commands. */
#include <sys/sysmacros.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_i.h"
#include "xmalloc.h"

/* A type's letter and name, as ls -l and stat(1) show them. */
static const struct {
	uint8_t		 type;
	char		 letter;
	const char	*name;
} cp_types[] = {
	{ DFS_FT_FILE, '-', "file" }, { DFS_FT_DIR, 'd', "directory" },
	{ DFS_FT_SYMLINK, 'l', "symlink" }, { DFS_FT_FIFO, 'p', "fifo" },
	{ DFS_FT_SOCK, 's', "socket" },
	{ DFS_FT_CHR, 'c', "character device" },
	{ DFS_FT_BLK, 'b', "block device" },
};

/* The cp_types index of a type (a file's for one not listed). */
static size_t
cp_type_index(uint8_t type)
{
	for (size_t i = 0; i < sizeof cp_types / sizeof cp_types[0]; i++)
		if (cp_types[i].type == type)
			return i;
	return 0;
}

/* The mode as ls -l writes it, set-ID and sticky bits included. */
static void
cp_mode_string(const struct dfs_attr *a, char *s)
{
	static const char rwx[] = "rwxrwxrwx";

	s[0] = cp_types[cp_type_index(a->type)].letter;
	for (int i = 0; i < 9; i++)
		s[1 + i] = (a->mode & (0400 >> i)) ? rwx[i] : '-';
	if (a->mode & 04000)
		s[3] = s[3] == 'x' ? 's' : 'S';
	if (a->mode & 02000)
		s[6] = s[6] == 'x' ? 's' : 'S';
	if (a->mode & 01000)
		s[9] = s[9] == 'x' ? 't' : 'T';
	s[10] = '\0';
}

static void
cp_time_string(int64_t ns, char *s, size_t cap)
{
	time_t		t = (time_t)(ns / 1000000000);
	struct tm	tm;

	localtime_r(&t, &tm);
	strftime(s, cap, "%Y-%m-%d %H:%M", &tm);
}

static void
cp_owner(uint32_t uid, uint32_t gid, char *s, size_t cap)
{
	struct passwd	*pw = getpwuid(uid);
	struct group	*gr = getgrgid(gid);
	char		 u[32], g[32];

	snprintf(u, sizeof u, "%u", uid);
	snprintf(g, sizeof g, "%u", gid);
	snprintf(s, cap, "%-8s %-8s", pw != NULL ? pw->pw_name : u,
	    gr != NULL ? gr->gr_name : g);
}

struct ls_args {
	bool	long_form;
};

static int
ls_entry(const char *name, const struct dfs_attr *a, void *arg)
{
	struct ls_args	*la = arg;
	char		 mode[11], when[32], owner[80], *e;

	if (!la->long_form) {
		dfs_name_print(stdout, name);
		putchar('\n');
		return 0;
	}
	cp_mode_string(a, mode);
	cp_time_string(a->mtime_ns, when, sizeof when);
	cp_owner(a->uid, a->gid, owner, sizeof owner);
	if (a->type == DFS_FT_CHR || a->type == DFS_FT_BLK)
		printf("%s %2u %s %5u, %5u %s %s\n", mode, a->nlink, owner,
		    major((dev_t)a->rdev), minor((dev_t)a->rdev), when,
		    (e = dfs_name_escape(name)));
	else
		printf("%s %2u %s %12llu %s %s\n", mode, a->nlink, owner,
		    (unsigned long long)a->size, when,
		    (e = dfs_name_escape(name)));
	free(e);
	return 0;
}

int
cp_cmd_ls(struct cp_ctx *ctx, int argc, char **argv)
{
	struct ls_args	 la = { false };
	char		*cause = NULL;
	int		 ch, rc, status = 0;

	optind = 0;	/* full reset: main() parsed with "+" */
	while ((ch = getopt(argc, argv, "l")) != -1) {
		if (ch != 'l')
			return cp_usage("ls");
		la.long_form = true;
	}
	if (optind == argc) {
		rc = dfs_client_list(cp_client(ctx), "/", ls_entry, &la, &cause);
		return rc == 0 ? 0 : cp_fail(ctx, "ls", rc, cause);
	}
	for (int i = optind; i < argc; i++) {
		if (argc - optind > 1) {
			printf("%s", i > optind ? "\n" : "");
			dfs_name_print(stdout, argv[i]);
			printf(":\n");
		}
		rc = dfs_client_list(cp_client(ctx), argv[i], ls_entry, &la,
		    &cause);
		if (rc != 0) {
			status = cp_fail(ctx, "ls", rc, cause);
			cause = NULL;
		}
	}
	return status;
}

int
cp_cmd_mkdir(struct cp_ctx *ctx, int argc, char **argv)
{
	char	*cause = NULL;
	bool	 parents = false;
	int	 ch, status = 0;

	optind = 0;	/* full reset: main() parsed with "+" */
	while ((ch = getopt(argc, argv, "p")) != -1) {
		if (ch != 'p')
			return cp_usage("mkdir");
		parents = true;
	}
	if (optind == argc)
		return cp_usage("mkdir");
	for (int i = optind; i < argc; i++) {
		int rc = dfs_client_mkdir(cp_client(ctx), argv[i], 0755,
		    parents, &cause);
		if (rc != 0) {
			status = cp_fail(ctx, "mkdir", rc, cause);
			cause = NULL;
		}
	}
	return status;
}

int
cp_cmd_rm(struct cp_ctx *ctx, int argc, char **argv)
{
	char	*cause = NULL;
	bool	 recursive = false;
	int	 ch, status = 0;

	optind = 0;	/* full reset: main() parsed with "+" */
	while ((ch = getopt(argc, argv, "rR")) != -1) {
		if (ch != 'r' && ch != 'R')
			return cp_usage("rm");
		recursive = true;
	}
	if (optind == argc)
		return cp_usage("rm");
	for (int i = optind; i < argc; i++) {
		int rc = dfs_client_delete(cp_client(ctx), argv[i], recursive,
		    &cause);
		if (rc == -ENOTEMPTY) {
			free(cause);
			xasprintf(&cause, "%s is a non-empty directory (use -r)",
			    argv[i]);
		}
		if (rc != 0) {
			status = cp_fail(ctx, "rm", rc, cause);
			cause = NULL;
		}
	}
	return status;
}

int
cp_cmd_mv(struct cp_ctx *ctx, int argc, char **argv)
{
	struct dfs_attr	 a;
	char		*cause = NULL, *dst;
	int		 rc;

	if (argc != 3)
		return cp_usage("mv");
	/* Like mv(1): into an existing directory keeps the name. */
	if (dfs_client_stat(cp_client(ctx), argv[2], &a, &cause) == 0 &&
	    a.type == DFS_FT_DIR)
		dst = cp_join(argv[2], cp_basename(argv[1]));
	else
		dst = xstrdup(argv[2]);
	free(cause);
	cause = NULL;
	rc = dfs_client_rename(cp_client(ctx), argv[1], dst, 0, &cause);
	free(dst);
	return rc == 0 ? 0 : cp_fail(ctx, "mv", rc, cause);
}

static void
cp_print_stat(const char *path, const struct dfs_attr *a)
{
	char	mode[11], when[32];

	cp_mode_string(a, mode);
	printf("path: ");
	dfs_name_print(stdout, path);
	printf("\n");
	printf("type: %s\n", cp_types[cp_type_index(a->type)].name);
	printf("inode: %llu\n", (unsigned long long)a->ino);
	printf("links: %u\n", a->nlink);
	if (a->type == DFS_FT_CHR || a->type == DFS_FT_BLK)
		printf("device: %u,%u\n", major((dev_t)a->rdev),
		    minor((dev_t)a->rdev));
	printf("size: %llu\n", (unsigned long long)a->size);
	printf("mode: %04o (%s)\n", a->mode & 07777, mode);
	printf("owner: %u\ngroup: %u\n", a->uid, a->gid);
	cp_time_string(a->mtime_ns, when, sizeof when);
	printf("modified: %s\n", when);
	if (a->type == DFS_FT_FILE) {
		printf("blocks: %u\n", a->nblocks);
		printf("block_size: %llu\n", (unsigned long long)a->block_size);
		printf("replication: %u\n", a->replication);
		printf("state: %s\n", a->under_construction ?
		    "under construction" : "complete");
		printf("array: %s\n", a->npy.valid ? "npy" : "none");
	}
	if (a->npy.valid) {
		printf("dtype: %s\n", a->npy.descr);
		printf("shape: (");
		for (unsigned i = 0; i < a->npy.ndim; i++)
			printf("%s%llu", i > 0 ? ", " : "",
			    (unsigned long long)a->npy.shape[i]);
		printf("%s)\n", a->npy.ndim == 1 ? "," : "");
		printf("fortran_order: %s\n", a->npy.fortran_order ? "True" :
		    "False");
		printf("itemsize: %u\n", a->npy.itemsize);
		printf("data_offset: %llu\n",
		    (unsigned long long)a->npy.data_offset);
	}
}

int
cp_cmd_stat(struct cp_ctx *ctx, int argc, char **argv)
{
	struct dfs_attr	 a;
	char		*cause = NULL;
	int		 status = 0;

	if (argc < 2)
		return cp_usage("stat");
	for (int i = 1; i < argc; i++) {
		int rc = dfs_client_stat(cp_client(ctx), argv[i], &a, &cause);
		if (rc != 0) {
			status = cp_fail(ctx, "stat", rc, cause);
			cause = NULL;
			continue;
		}
		if (i > 1)
			printf("\n");
		cp_print_stat(argv[i], &a);
	}
	return status;
}
