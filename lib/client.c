/*
 * client.c: namespace calls and the namenode connection.
 *
 * One connection to the namenode per client, used one call at a time under
 * a mutex; a broken connection is dropped and the next call reconnects, so
 * a restarted namenode is picked up without the caller doing anything.
 * Block data never passes through here: see client-write.c and
 * client-read.c, which talk to the data nodes directly.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "log.h"
#include "xmalloc.h"

int
dfs_client_create(const char *nn_addr, int timeout_ms, struct dfs_client **cp,
    char **cause)
{
	struct dfs_client	*c;
	char			 host[256];
	uint16_t		 port;
	int			 rc;

	if ((rc = dfs_hostport_split(nn_addr, host, sizeof host, &port,
	    cause)) != 0)
		return rc;
	c = xcalloc(1, sizeof *c);
	c->nn_addr = xstrdup(nn_addr);
	c->timeout_ms = timeout_ms;
	c->chunk_size = DFS_DEFAULT_CHUNK;
	pthread_mutex_init(&c->lock, NULL);
	xasprintf(&c->name, "dfs-client-%ld-%p", (long)getpid(), (void *)c);
	*cp = c;
	return 0;
}

/* A client for the namenode named by namenode.address and client.timeout. */
int
dfs_client_from_config(const struct dfs_config *cfg, struct dfs_client **cp,
    char **cause)
{
	return dfs_client_create(dfs_config_str(cfg, "namenode.address"),
	    (int)dfs_config_int(cfg, "client.timeout"), cp, cause);
}

void
dfs_client_free(struct dfs_client *c)
{
	if (c == NULL)
		return;
	dfs_conn_free(c->nn);
	pthread_mutex_destroy(&c->lock);
	free(c->nn_addr);
	free(c->name);
	free(c);
}

/* The namenode connection, opened on first use.  Borrowed; hold c->lock. */
struct dfs_conn *
dfs_client_nn(struct dfs_client *c, char **cause)
{
	if (c->nn == NULL &&
	    dfs_conn_open(c->nn_addr, c->timeout_ms, &c->nn, cause) != 0)
		return NULL;
	return c->nn;
}

/* Drop the namenode connection after an I/O error. */
void
dfs_client_nn_reset(struct dfs_client *c)
{
	dfs_conn_free(c->nn);
	c->nn = NULL;
}

/* Errors that mean the connection, not the request, failed. */
static bool
client_conn_broken(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE || rc == -ETIMEDOUT ||
	    rc == -ENOTCONN || rc == -EPROTO || rc == -ECONNREFUSED;
}

/*
 * Run one namenode call: build() appends the request fields, the reply is
 * handed to parse() (which may be NULL for OK replies).  A broken
 * connection is retried once on a fresh one.
 */
int
dfs_client_call(struct dfs_client *c, uint16_t type, uint16_t expect,
    void (*build)(struct dfs_wbuf *, void *), void *barg,
    int (*parse)(struct dfs_rbuf *, void *), void *parg, char **cause)
{
	struct dfs_conn	*nn;
	struct dfs_rbuf	 r;
	int		 rc = 0, tries;

	pthread_mutex_lock(&c->lock);
	for (tries = 0; tries < 2; tries++) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		if ((nn = dfs_client_nn(c, cause)) == NULL) {
			rc = -ECONNREFUSED;
			break;
		}
		build(dfs_conn_begin(nn, type), barg);
		rc = dfs_conn_call(nn, expect, &r, cause);
		if (rc == 0) {
			rc = parse != NULL ? parse(&r, parg) :
			    dfs_rbuf_done(&r);
			if (rc != 0 && cause != NULL && *cause == NULL)
				xasprintf(cause, "malformed reply from the "
				    "namenode");
			break;
		}
		if (!client_conn_broken(rc) || rc == -EPROTO) {
			if (rc == -EPROTO)
				dfs_client_nn_reset(c);
			break;
		}
		dfs_client_nn_reset(c);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

struct mkdir_args {
	const char	*path;
	uint32_t	 mode;
	bool		 parents;
};

static void
build_mkdir(struct dfs_wbuf *b, void *arg)
{
	struct mkdir_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u32(b, a->mode);
	dfs_put_u32(b, getuid());
	dfs_put_u32(b, getgid());
	dfs_put_u8(b, a->parents);
}

int
dfs_client_mkdir(struct dfs_client *c, const char *path, uint32_t mode,
    bool parents, char **cause)
{
	struct mkdir_args	a = { path, mode, parents };

	return dfs_client_call(c, DFS_NN_MKDIR, DFS_MSG_OK, build_mkdir, &a,
	    NULL, NULL, cause);
}

static void
build_path(struct dfs_wbuf *b, void *arg)
{
	dfs_put_str(b, arg);
}

static int
parse_attr(struct dfs_rbuf *r, void *arg)
{
	dfs_proto_get_attr(r, arg);
	return dfs_rbuf_done(r);
}

int
dfs_client_stat(struct dfs_client *c, const char *path, struct dfs_attr *a,
    char **cause)
{
	return dfs_client_call(c, DFS_NN_STAT, DFS_NN_ATTR, build_path,
	    (void *)path, parse_attr, a, cause);
}

struct list_args {
	const char	*path;
	char		 after[DFS_MAX_NAME + 1];
	dfs_list_cb	 cb;
	void		*arg;
	bool		 more;
	int		 cb_rc;
};

static void
build_list(struct dfs_wbuf *b, void *arg)
{
	struct list_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_str(b, a->after);
	dfs_put_u32(b, DFS_LIST_MAX);
}

static int
parse_list(struct dfs_rbuf *r, void *arg)
{
	struct list_args	*a = arg;
	struct dfs_attr		 attr;
	char			 name[DFS_MAX_NAME + 1];
	uint32_t		 n = dfs_get_u32(r);

	if (n > DFS_LIST_MAX)
		return -EBADMSG;
	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		dfs_get_strbuf(r, name, sizeof name);
		dfs_proto_get_attr(r, &attr);
		if (r->err != 0)
			break;
		if (a->cb_rc == 0)
			a->cb_rc = a->cb(name, &attr, a->arg);
		memcpy(a->after, name, sizeof name);
	}
	a->more = dfs_get_u8(r) != 0 && n > 0;
	return dfs_rbuf_done(r);
}

/* Call cb for every entry of a directory (or the file itself), in name
 * order, fetching pages as it goes.  A non-zero cb return stops the walk. */
int
dfs_client_list(struct dfs_client *c, const char *path, dfs_list_cb cb,
    void *arg, char **cause)
{
	struct list_args	a = { .path = path, .cb = cb, .arg = arg };
	int			rc;

	do {
		rc = dfs_client_call(c, DFS_NN_LIST, DFS_NN_LISTING,
		    build_list, &a, parse_list, &a, cause);
	} while (rc == 0 && a.more && a.cb_rc == 0);
	return rc != 0 ? rc : a.cb_rc;
}

struct rename_args {
	const char	*src;
	const char	*dst;
	uint32_t	 flags;
};

static void
build_rename(struct dfs_wbuf *b, void *arg)
{
	struct rename_args	*a = arg;

	dfs_put_str(b, a->src);
	dfs_put_str(b, a->dst);
	dfs_put_u32(b, a->flags);
}

int
dfs_client_rename(struct dfs_client *c, const char *src, const char *dst,
    uint32_t flags, char **cause)
{
	struct rename_args	a = { src, dst, flags };

	return dfs_client_call(c, DFS_NN_RENAME, DFS_MSG_OK, build_rename, &a,
	    NULL, NULL, cause);
}

struct delete_args {
	const char	*path;
	bool		 recursive;
};

static void
build_delete(struct dfs_wbuf *b, void *arg)
{
	struct delete_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u8(b, a->recursive);
}

int
dfs_client_delete(struct dfs_client *c, const char *path, bool recursive,
    char **cause)
{
	struct delete_args	a = { path, recursive };

	return dfs_client_call(c, DFS_NN_DELETE, DFS_MSG_OK, build_delete, &a,
	    NULL, NULL, cause);
}
