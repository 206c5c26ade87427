/*
 * client-put.c: all-or-nothing puts.
 *
 * A put that fails part way must leave nothing under the name the user
 * asked for, also when nobody is left to clean up: the client killed, or
 * the namenode killed so that the client cannot remove what it wrote (the
 * namenode's lease recovery would then close the file at the length its
 * replicas acknowledged, a truncated prefix that looks healthy).  So, as
 * `hdfs dfs -put` does with NAME._COPYING_, the bytes go to a hidden
 * temporary name in the target's directory, ".NAME.XXXXXXXX._COPYING_"
 * (eight random hex digits, so two puts to one name never meet), created
 * with DFS_CREATE_PUT_TEMP, and only a complete file is renamed onto the
 * target.  The namenode removes a temporary whose writer is gone rather
 * than close it (nn-recover.c); a put that fails removes its own when it
 * can.
 *
 * The target keeps put's rules: without overwrite an existing target is
 * refused before any byte is sent, and the final rename is
 * DFS_RENAME_NOREPLACE, so a file that appeared meanwhile is refused too
 * (and stays); with overwrite the rename replaces the target in one step,
 * but not a file another writer is writing (DFS_RENAME_NOREPLACE_UC, as
 * CREATE refuses it).  Replacing is a rename: the target's name gets a
 * new inode, and other hard links of the old file keep the old bytes.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_i.h"
#include "log.h"
#include "xmalloc.h"

#define PUT_TAG		"._COPYING_"
#define PUT_TRIES	4	/* temporary names tried before giving up */

struct dfs_put {
	struct dfs_client	*c;
	struct dfs_writer	*w;
	char			*path;	/* the user's name */
	char			*temp;	/* the bytes, until the rename */
	bool			 overwrite;
};

/*
 * The temporary name of a put to path: ".NAME.XXXXXXXX._COPYING_" in
 * path's directory, with nonce as the hex digits; NAME is cut so that the
 * name fits in DFS_MAX_NAME bytes (the rename gives the real one).
 * Trailing slashes of path are ignored.  Caller frees.
 */
char *
dfs_put_temp_name(const char *path, uint32_t nonce)
{
	const char	*slash, *name;
	size_t		 len, dirlen, max;
	char		*out;

	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	slash = memrchr(path, '/', len);
	name = slash != NULL ? slash + 1 : path;
	dirlen = (size_t)(name - path);
	len -= dirlen;
	max = DFS_MAX_NAME - (1 + 1 + 8 + strlen(PUT_TAG));
	if (len > max)
		len = max;
	xasprintf(&out, "%.*s.%.*s.%08x%s", (int)dirlen, path, (int)len, name,
	    nonce, PUT_TAG);
	return out;
}

/* A fresh nonce for a temporary name. */
static uint32_t
put_nonce(void)
{
	struct timespec	ts;
	uint32_t	n;

	if (getrandom(&n, sizeof n, GRND_NONBLOCK) == (ssize_t)sizeof n)
		return n;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16 ^
	    (uint32_t)ts.tv_sec;
}

/* Replace *cause (which may be NULL: the caller wants none) with a
 * message. */
static void
put_cause(char **cause, const char *what, const char *path)
{
	if (cause == NULL)
		return;
	free(*cause);
	*cause = NULL;
	if (what != NULL)
		xasprintf(cause, "%s: %s", what, path);
}

/* Release p, its writer aborted. */
static void
put_free(struct dfs_put *p)
{
	dfs_writer_abort(p->w);
	free(p->path);
	free(p->temp);
	free(p);
}

/* Remove p's temporary, if the namenode can be asked; when it cannot,
 * its lease recovery will. */
static void
put_remove_temp(struct dfs_put *p)
{
	char	*why = NULL;
	int	 rc;

	rc = dfs_client_unlink(p->c, p->temp, false, &why);
	if (rc != 0 && rc != -ENOENT)
		log_debug("put: cannot remove %s (%s); the namenode will when "
		    "its lease expires", p->temp, why != NULL ? why :
		    strerror(-rc));
	free(why);
}

/*
 * Start a put to path: check the target as put's rules say and create a
 * temporary for the bytes (opts as for dfs_writer_open; its put_temp is
 * ignored).  Caller commits or aborts *pp.
 */
int
dfs_put_open(struct dfs_client *c, const char *path,
    const struct dfs_write_opts *opts, struct dfs_put **pp, char **cause)
{
	struct dfs_write_opts	 o = *opts;
	struct dfs_attr		 a;
	struct dfs_put		*p;
	int			 rc;

	*pp = NULL;
	rc = dfs_client_stat(c, path, &a, cause);
	if (rc == 0 && a.type == DFS_FT_DIR) {
		put_cause(cause, "is a directory", path);
		return -EISDIR;
	}
	if (rc == 0 && !opts->overwrite) {
		put_cause(cause, "file exists", path);
		return -EEXIST;
	}
	if (rc != 0 && rc != -ENOENT)
		return rc;
	put_cause(cause, NULL, NULL);

	p = xcalloc(1, sizeof *p);
	p->c = c;
	p->path = xstrdup(path);
	p->overwrite = opts->overwrite;
	o.overwrite = false;
	o.put_temp = true;
	for (int tries = 0; tries < PUT_TRIES; tries++) {
		free(p->temp);
		p->temp = dfs_put_temp_name(path, put_nonce());
		put_cause(cause, NULL, NULL);
		if ((rc = dfs_writer_open(c, p->temp, &o, &p->w,
		    cause)) != -EEXIST)
			break;
	}
	if (rc != 0) {
		p->w = NULL;
		put_free(p);
		return rc;
	}
	log_debug("put: writing %s as %s", path, p->temp);
	*pp = p;
	return 0;
}

/* Append n bytes to the put. */
int
dfs_put_write(struct dfs_put *p, const void *buf, size_t n, char **cause)
{
	return dfs_writer_write(p->w, buf, n, cause);
}

/*
 * Finish the put: complete the temporary and rename it onto the target.
 * On failure the temporary is removed (when the namenode answers) and the
 * target is as it was.  Frees p either way.
 */
int
dfs_put_commit(struct dfs_put *p, char **cause)
{
	uint32_t	flags;
	int		rc;

	rc = dfs_writer_close(p->w, cause);
	p->w = NULL;
	if (rc == 0) {
		flags = p->overwrite ? DFS_RENAME_NOREPLACE_UC :
		    DFS_RENAME_NOREPLACE;
		rc = dfs_client_rename(p->c, p->temp, p->path, flags, cause);
	}
	if (rc != 0)
		put_remove_temp(p);
	put_free(p);
	return rc;
}

/* Give the put up: the temporary goes (when the namenode answers), the
 * target is as it was.  Frees p; NULL does nothing. */
void
dfs_put_abort(struct dfs_put *p)
{
	if (p == NULL)
		return;
	dfs_writer_abort(p->w);
	p->w = NULL;
	put_remove_temp(p);
	put_free(p);
}

/* Where the bytes of put p go until it is committed.  Borrowed. */
const char *
dfs_put_temp_path(const struct dfs_put *p)
{
	return p->temp;
}
