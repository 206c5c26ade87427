/*
 * client.c: namespace calls and the namenode connections.
 *
 * Each call takes a connection of its own, an idle one from a small pool
 * or a new one, so the threads of one client (dfs-mount serves many
 * requests at once) never queue behind each other's round trips; at most
 * DFS_CLIENT_POOL idle connections are kept.  A broken connection is
 * dropped with the idle ones and the call retried once on a fresh one, so
 * a restarted namenode is picked up without the caller doing anything;
 * a call that timed out is not retried, so no call waits on a silent
 * namenode for longer than client.timeout (and the connect before it).
 * Block data never passes through here: see client-write.c and
 * client-read.c, which talk to the data nodes directly.
 */
#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_i.h"
#include "log.h"
#include "xmalloc.h"

/* A client of the namenode at nn_addr, speaking TLS with tls (which it
 * owns from now on, even on failure). */
int
dfs_client_create(const char *nn_addr, struct dfs_tls *tls, int timeout_ms,
    struct dfs_client **cp, char **cause)
{
	struct dfs_client	*c;
	char			 host[256], *copy, *tok, *save = NULL;
	char			**addrs = NULL;
	uint16_t		 port;
	int			 rc = 0, n = 0;

	/* One namenode, or the members of a group, comma-separated. */
	copy = xstrdup(nn_addr);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if ((rc = dfs_hostport_split(tok, host, sizeof host, &port,
		    cause)) != 0)
			break;
		addrs = xrealloc(addrs, (n + 1) * sizeof *addrs);
		addrs[n++] = xstrdup(tok);
	}
	free(copy);
	if (rc == 0 && n == 0) {
		xasprintf(cause, "no namenode address in '%s'", nn_addr);
		rc = -EINVAL;
	}
	if (rc != 0) {
		while (n > 0)
			free(addrs[--n]);
		free(addrs);
		dfs_tls_free(tls);
		return rc;
	}
	c = xcalloc(1, sizeof *c);
	c->tls = tls;
	c->nn_addrs = addrs;
	c->nn_naddrs = n;
	c->nn_addr = xstrdup(addrs[0]);
	c->timeout_ms = timeout_ms;
	c->stall_ms = timeout_ms < 2000 ? timeout_ms : 2000;
	c->chunk_size = DFS_DEFAULT_CHUNK;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->rlock, NULL);
	dfs_cond_init(&c->rcond);
	c->dnpool = dfs_sockpool_new();
	/* Who asks, for ONCE: random, so that no two clients share it. */
	if (getrandom(&c->once_id, sizeof c->once_id, 0) !=
	    (ssize_t)sizeof c->once_id || c->once_id == 0)
		c->once_id = ((uint64_t)getpid() << 32) ^
		    (uint64_t)dfs_now_ns();
	xasprintf(&c->name, "dfs-client-%ld-%p", (long)getpid(), (void *)c);
	*cp = c;
	return 0;
}

/* A client for the namenode named by namenode.address, with the client.*
 * timeouts and short-circuit choice of cfg. */
int
dfs_client_from_config(const struct dfs_config *cfg, struct dfs_client **cp,
    char **cause)
{
	struct dfs_tls	*tls;
	int		 rc;

	*cp = NULL;
	if ((rc = dfs_tls_open(cfg, &tls, cause)) != 0)
		return rc;
	rc = dfs_client_create(dfs_config_str(cfg, "namenode.address"), tls,
	    (int)dfs_config_int(cfg, "client.timeout"), cp, cause);
	if (rc == 0) {
		(*cp)->stall_ms = (int)dfs_config_int(cfg,
		    "client.read_stall_timeout");
		(*cp)->no_short_circuit = !dfs_config_bool(cfg,
		    "client.short_circuit");
	}
	return rc;
}

/*
 * Remember that addr fell silent mid-read, so the readers of this client
 * try it last for a while instead of each paying the stall again.  The
 * oldest entry makes room.
 */
void
dfs_client_mark_slow(struct dfs_client *c, const char *addr)
{
	struct dfs_slow_node	*victim;
	int64_t			 now = dfs_now_ms();

	pthread_mutex_lock(&c->lock);
	victim = &c->slow[0];
	for (int i = 0; i < DFS_CLIENT_SLOW; i++) {
		struct dfs_slow_node *s = &c->slow[i];
		if (strcmp(s->addr, addr) == 0) {
			victim = s;
			break;
		}
		if (s->until_ms < victim->until_ms)
			victim = s;
	}
	snprintf(victim->addr, sizeof victim->addr, "%s", addr);
	victim->until_ms = now + DFS_SLOW_MS;
	pthread_mutex_unlock(&c->lock);
}

/* Whether addr stalled a reader of this client lately. */
bool
dfs_client_is_slow(struct dfs_client *c, const char *addr)
{
	int64_t	now = dfs_now_ms();
	bool	slow = false;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < DFS_CLIENT_SLOW && !slow; i++)
		slow = c->slow[i].until_ms > now &&
		    strcmp(c->slow[i].addr, addr) == 0;
	pthread_mutex_unlock(&c->lock);
	return slow;
}

void
dfs_client_free(struct dfs_client *c)
{
	if (c == NULL)
		return;
	dfs_client_renewer_stop(c);
	dfs_hold_free_all(c);
	pthread_mutex_destroy(&c->rlock);
	pthread_cond_destroy(&c->rcond);
	dfs_conn_free(c->nn);
	for (int i = 0; i < c->nidle; i++)
		dfs_conn_free(c->idle[i]);
	dfs_sockpool_free(c->dnpool);
	pthread_mutex_destroy(&c->lock);
	dfs_tls_free(c->tls);
	free(c->nn_addr);
	for (int i = 0; i < c->nn_naddrs; i++)
		free(c->nn_addrs[i]);
	free(c->nn_addrs);
	free(c->name);
	free(c);
}

/* The client's TLS context, for connections of its own.  Borrowed. */
struct dfs_tls *
dfs_client_tls(struct dfs_client *c)
{
	return c->tls;
}

/* The namenode connection, opened on first use.  Borrowed; hold c->lock. */
struct dfs_conn *
dfs_client_nn(struct dfs_client *c, char **cause)
{
	if (c->nn == NULL &&
	    dfs_conn_open(c->tls, c->nn_addr, DFS_ROLE_NAMENODE,
	    c->timeout_ms, &c->nn, cause) != 0)
		return NULL;
	return c->nn;
}

/* The namenode asked now (copied: another thread may move it). */
static void
client_addr(struct dfs_client *c, char *addr, size_t len)
{
	pthread_mutex_lock(&c->lock);
	snprintf(addr, len, "%s", c->nn_addr);
	pthread_mutex_unlock(&c->lock);
}

/*
 * Ask another namenode of a group from now on: the leader named by
 * cause (a follower's ERROR, DFS_NOT_LEADER_AT), or else the next one of
 * namenode.address after was (the one that failed or knew no leader).
 * Whether there is another to ask.
 */
static bool
client_move(struct dfs_client *c, const char *was, const char *cause)
{
	char	 hint[256];
	int	 next = 0;

	if (c->nn_naddrs < 2 && (cause == NULL ||
	    dfs_leader_hint(cause, hint, sizeof hint) != 0))
		return false;
	pthread_mutex_lock(&c->lock);
	if (strcmp(c->nn_addr, was) == 0) {
		if (cause != NULL &&
		    dfs_leader_hint(cause, hint, sizeof hint) == 0) {
			free(c->nn_addr);
			c->nn_addr = xstrdup(hint);
		} else {
			for (int i = 0; i < c->nn_naddrs; i++)
				if (strcmp(c->nn_addrs[i], was) == 0)
					next = (i + 1) % c->nn_naddrs;
			free(c->nn_addr);
			c->nn_addr = xstrdup(c->nn_addrs[next]);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return true;
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

/* An idle connection, or a new one when there is none or fresh is set;
 * *told: the credential it was told (client-cred.c).  The lock is never
 * held while connecting.  Caller puts or frees it. */
static struct dfs_conn *
client_take(struct dfs_client *c, bool fresh, struct dfs_told *told,
    char **cause)
{
	struct dfs_conn	*nn = NULL;

	told->set = false;
	pthread_mutex_lock(&c->lock);
	if (!fresh && c->nidle > 0) {
		nn = c->idle[--c->nidle];
		*told = c->idle_told[c->nidle];
	}
	pthread_mutex_unlock(&c->lock);
	if (nn != NULL && !dfs_client_cred_fits(c, told)) {
		dfs_conn_free(nn);	/* it acts for someone: not for us */
		nn = NULL;
		told->set = false;
	}
	if (nn == NULL) {
		char addr[256];

		client_addr(c, addr, sizeof addr);
		/* With a group to choose from, a member cut off costs a
		 * short wait, not the whole call's. */
		if (dfs_conn_open(c->tls, addr, DFS_ROLE_NAMENODE,
		    c->nn_naddrs > 1 && c->timeout_ms > DFS_GROUP_CONNECT_MS ?
		    DFS_GROUP_CONNECT_MS : c->timeout_ms, &nn, cause) != 0)
			return NULL;
	}
	return nn;
}

/* Give a healthy connection back to the pool (or close it if full). */
static void
client_give(struct dfs_client *c, struct dfs_conn *nn,
    const struct dfs_told *told)
{
	pthread_mutex_lock(&c->lock);
	if (c->nidle < DFS_CLIENT_POOL) {
		c->idle_told[c->nidle] = *told;
		c->idle[c->nidle++] = nn;
		nn = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	dfs_conn_free(nn);
}

/* Close every idle connection: after one broke, the others (to the same,
 * perhaps restarted, namenode) are suspect too. */
static void
client_drop_idle(struct dfs_client *c)
{
	struct dfs_conn	*old[DFS_CLIENT_POOL];
	int		 n;

	pthread_mutex_lock(&c->lock);
	n = c->nidle;
	memcpy(old, c->idle, sizeof old);
	c->nidle = 0;
	pthread_mutex_unlock(&c->lock);
	for (int i = 0; i < n; i++)
		dfs_conn_free(old[i]);
}

/* One try of dfs_client_call: a broken connection is retried once on a
 * fresh one; a timed-out one is not. */
/*
 * Requests that change the namespace go wrapped in ONCE with the client's
 * id and a sequence number of its own, the same for every retry of one
 * call: a request that was applied before its answer was lost (the
 * namenode died, a group's leader changed) is not applied twice
 * (namenode/nn-once.c).
 */
static bool
client_once(uint16_t type)
{
	switch (type) {
	case DFS_NN_MKDIR: case DFS_NN_CREATE: case DFS_NN_ADD_BLOCK:
	case DFS_NN_ABANDON: case DFS_NN_RENAME: case DFS_NN_DELETE:
	case DFS_NN_SET_REPL: case DFS_NN_SETATTR: case DFS_NN_UNLINK:
	case DFS_NN_SYMLINK: case DFS_NN_HARDLINK: case DFS_NN_MKNOD:
	case DFS_NN_UPDATE_PIPELINE: case DFS_NN_PATCH_BLOCK:
		return true;
	default:
		return false;
	}
}

static int
client_call_once(struct dfs_client *c, uint16_t type, uint16_t expect,
    void (*build)(struct dfs_wbuf *, void *), void *barg,
    int (*parse)(struct dfs_rbuf *, void *), void *parg, uint64_t seq,
    char **cause)
{
	struct dfs_conn	*nn;
	struct dfs_rbuf	 r;
	struct dfs_told	 told;
	int		 rc = 0, tries;

	for (tries = 0; tries < 2; tries++) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		if ((nn = client_take(c, tries > 0, &told, cause)) == NULL) {
			rc = -ECONNREFUSED;
			break;
		}
		if ((rc = dfs_client_cred_sync(c, nn, &told, cause)) == 0) {
			struct dfs_wbuf *b;
			if (seq != 0) {
				b = dfs_conn_begin(nn, DFS_NN_ONCE);
				dfs_put_u64(b, c->once_id);
				dfs_put_u64(b, seq);
				dfs_put_u16(b, type);
			} else
				b = dfs_conn_begin(nn, type);
			build(b, barg);
			rc = dfs_conn_call(nn, expect, &r, cause);
		}
		if (rc == 0) {
			rc = parse != NULL ? parse(&r, parg) :
			    dfs_rbuf_done(&r);
			if (rc != 0 && cause != NULL && *cause == NULL)
				xasprintf(cause, "malformed reply from the "
				    "namenode");
			client_give(c, nn, &told);
			break;
		}
		if (!client_conn_broken(rc)) {
			client_give(c, nn, &told);
			break;
		}
		dfs_conn_free(nn);
		/*
		 * A namenode that stayed silent for client.timeout is not
		 * asked again: a second wait would double the bound on how
		 * long an operation can take (the mount promises one).
		 */
		if (rc == -EPROTO || rc == -ETIMEDOUT)
			break;
		client_drop_idle(c);
	}
	return rc;
}

/*
 * Run one namenode call: build() appends the request fields, the reply is
 * handed to parse() (which may be NULL for OK replies).  Each call has a
 * connection of its own from a small pool, so threads sharing a client
 * (dfs-mount) do not wait for each other.  A namenode in safe mode
 * refuses changes with -EROFS (doc/protocol.md) for a while: the call is
 * asked again, 50 ms later and then less and less often, until
 * client.timeout has passed, when the namenode's cause is the answer.
 */
int
dfs_client_call(struct dfs_client *c, uint16_t type, uint16_t expect,
    void (*build)(struct dfs_wbuf *, void *), void *barg,
    int (*parse)(struct dfs_rbuf *, void *), void *parg, char **cause)
{
	int64_t		 deadline = dfs_now_ms() + c->timeout_ms, left;
	int64_t		 pause_ms = 50;
	struct timespec	 ts;
	int		 rc;

	char		 was[256];
	uint64_t	 seq = client_once(type) ?
	    atomic_fetch_add(&c->once_seq, 1) + 1 : 0;

	for (;;) {
		client_addr(c, was, sizeof was);
		rc = client_call_once(c, type, expect, build, barg, parse,
		    parg, seq, cause);
		/* A group's follower names its leader; a namenode that is
		 * gone leaves the others of namenode.address to ask. */
		if ((rc == -EREMOTE || (c->nn_naddrs > 1 &&
		    (client_conn_broken(rc) || rc == -ECONNREFUSED))) &&
		    dfs_now_ms() < deadline && client_move(c, was,
		    cause != NULL ? *cause : NULL)) {
			char now[256];

			client_drop_idle(c);
			client_addr(c, now, sizeof now);
			if (cause != NULL) {
				free(*cause);
				*cause = NULL;
			}
			/* Straight to a named leader; a pause before a
			 * round of the list, while an election runs. */
			if (strcmp(now, was) == 0 || rc != -EREMOTE ||
			    pause_ms > 50) {
				ts.tv_sec = pause_ms / 1000;
				ts.tv_nsec = (pause_ms % 1000) * 1000000;
				nanosleep(&ts, NULL);
				pause_ms = pause_ms * 2 < DFS_ELECTION_RETRY_MS ?
				    pause_ms * 2 : DFS_ELECTION_RETRY_MS;
			} else
				pause_ms = 100;
			continue;
		}
		if (rc != -EROFS || (left = deadline - dfs_now_ms()) <= 0)
			break;
		if (cause != NULL) {
			free(*cause);	/* the next answer replaces it */
			*cause = NULL;
		}
		if (pause_ms > left)
			pause_ms = left;
		ts.tv_sec = pause_ms / 1000;
		ts.tv_nsec = (pause_ms % 1000) * 1000000;
		nanosleep(&ts, NULL);
		pause_ms = pause_ms * 2 < 1000 ? pause_ms * 2 : 1000;
	}
	return rc;
}

struct mkdir_args {
	const char	*path;
	uint32_t	 mode;
	uint32_t	 uid;
	uint32_t	 gid;
	bool		 parents;
};

static void
build_mkdir(struct dfs_wbuf *b, void *arg)
{
	struct mkdir_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u32(b, a->mode);
	dfs_put_u32(b, a->uid);
	dfs_put_u32(b, a->gid);
	dfs_put_u8(b, a->parents);
}

int
dfs_client_mkdir(struct dfs_client *c, const char *path, uint32_t mode,
    bool parents, char **cause)
{
	return dfs_client_mkdir_as(c, path, mode, getuid(), getgid(), parents,
	    cause);
}

/* mkdir owned by uid and gid (dfs-mount creates for its callers). */
int
dfs_client_mkdir_as(struct dfs_client *c, const char *path, uint32_t mode,
    uint32_t uid, uint32_t gid, bool parents, char **cause)
{
	struct mkdir_args	a = { path, mode, uid, gid, parents };

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

struct stat_hold_args {
	const char	*path;
	const char	*client;
	uint64_t	 seq;
};

static void
build_stat_hold(struct dfs_wbuf *b, void *arg)
{
	struct stat_hold_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u8(b, DFS_STAT_HOLD);
	dfs_put_str(b, a->client);
	dfs_put_u64(b, a->seq);
}

/* STAT that also takes this client's hold on the file (client-hold.c). */
int
dfs_client_stat_hold(struct dfs_client *c, const char *path, uint64_t seq,
    struct dfs_attr *a, char **cause)
{
	struct stat_hold_args	args = { path, c->name, seq };

	return dfs_client_call(c, DFS_NN_STAT, DFS_NN_ATTR, build_stat_hold,
	    &args, parse_attr, a, cause);
}

struct list_args {
	const char	*path;
	uint32_t	 max;		/* entries a page; 0: DFS_LIST_MAX */
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
	dfs_put_u32(b, a->max != 0 ? a->max : DFS_LIST_MAX);
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

/* One page of a directory listing, after the name after ("" from the
 * start); *more says whether another page follows.  A non-zero cb return
 * stops the page and is returned. */
int
dfs_client_list_page(struct dfs_client *c, const char *path,
    const char *after, dfs_list_cb cb, void *arg, bool *more, char **cause)
{
	struct list_args	a = { .path = path, .cb = cb, .arg = arg };
	int			rc;

	if (strlen(after) > DFS_MAX_NAME)
		return -ENAMETOOLONG;
	strcpy(a.after, after);
	rc = dfs_client_call(c, DFS_NN_LIST, DFS_NN_LISTING, build_list, &a,
	    parse_list, &a, cause);
	*more = rc == 0 && a.more && a.cb_rc == 0;
	return rc != 0 ? rc : a.cb_rc;
}

/* dfs_client_list_page of at most max entries (1 to DFS_LIST_MAX): a
 * short page costs the namenode less when only the next few are wanted
 * (dfs-mount's lookups ahead). */
int
dfs_client_list_some(struct dfs_client *c, const char *path,
    const char *after, uint32_t max, dfs_list_cb cb, void *arg, bool *more,
    char **cause)
{
	struct list_args	a = { .path = path, .cb = cb, .arg = arg };
	int			rc;

	if (strlen(after) > DFS_MAX_NAME)
		return -ENAMETOOLONG;
	if (max == 0 || max > DFS_LIST_MAX)
		return -EINVAL;
	a.max = max;
	strcpy(a.after, after);
	rc = dfs_client_call(c, DFS_NN_LIST, DFS_NN_LISTING, build_list, &a,
	    parse_list, &a, cause);
	*more = rc == 0 && a.more && a.cb_rc == 0;
	return rc != 0 ? rc : a.cb_rc;
}

static void
build_unlink(struct dfs_wbuf *b, void *arg)
{
	struct delete_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u8(b, a->recursive);
}

/* unlink(2) (dir false: never a directory) or rmdir(2) (dir true: only an
 * empty directory). */
int
dfs_client_unlink(struct dfs_client *c, const char *path, bool dir,
    char **cause)
{
	struct delete_args	a = { path, dir };

	return dfs_client_call(c, DFS_NN_UNLINK, DFS_MSG_OK, build_unlink, &a,
	    NULL, NULL, cause);
}

struct setattr_args {
	const char			*path;
	const struct dfs_setattr	*s;
};

static void
build_setattr(struct dfs_wbuf *b, void *arg)
{
	struct setattr_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u32(b, a->s->valid);
	dfs_put_u32(b, a->s->mode);
	dfs_put_u32(b, a->s->uid);
	dfs_put_u32(b, a->s->gid);
	dfs_put_i64(b, a->s->atime_ns);
	dfs_put_i64(b, a->s->mtime_ns);
}

/* Change attributes in one namenode transaction; after (may be NULL)
 * receives the attributes as they now are. */
int
dfs_client_setattr(struct dfs_client *c, const char *path,
    const struct dfs_setattr *s, struct dfs_attr *after, char **cause)
{
	struct setattr_args	a = { path, s };
	struct dfs_attr		tmp;

	return dfs_client_call(c, DFS_NN_SETATTR, DFS_NN_ATTR, build_setattr,
	    &a, parse_attr, after != NULL ? after : &tmp, cause);
}

static void
build_nothing(struct dfs_wbuf *b, void *arg)
{
}

static int
parse_statfs(struct dfs_rbuf *r, void *arg)
{
	struct dfs_statfs	*st = arg;

	st->capacity = dfs_get_u64(r);
	st->used = dfs_get_u64(r);
	st->remaining = dfs_get_u64(r);
	st->files = dfs_get_u64(r);
	st->live_nodes = dfs_get_u32(r);
	return dfs_rbuf_done(r);
}

/* The cluster's capacity, for statfs(2). */
int
dfs_client_statfs(struct dfs_client *c, struct dfs_statfs *st, char **cause)
{
	return dfs_client_call(c, DFS_NN_STATFS, DFS_NN_STATFS_REPLY,
	    build_nothing, NULL, parse_statfs, st, cause);
}

/* Ask the namenode to put every operation it acknowledged so far on its
 * disk (namenode.sync): fsync(2) through a mount, the end of a put. */
int
dfs_client_sync(struct dfs_client *c, char **cause)
{
	return dfs_client_call(c, DFS_NN_SYNC, DFS_MSG_OK, build_nothing,
	    NULL, NULL, NULL, cause);
}

struct symlink_args {
	const char	*path;
	const char	*target;
	uint32_t	 uid;
	uint32_t	 gid;
};

static void
build_symlink(struct dfs_wbuf *b, void *arg)
{
	struct symlink_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_str(b, a->target);
	dfs_put_u32(b, a->uid);
	dfs_put_u32(b, a->gid);
}

/* A symbolic link at path pointing to target (stored, never resolved by
 * the namenode). */
int
dfs_client_symlink(struct dfs_client *c, const char *path,
    const char *target, uint32_t uid, uint32_t gid, struct dfs_attr *after,
    char **cause)
{
	struct symlink_args	a = { path, target, uid, gid };
	struct dfs_attr		tmp;

	return dfs_client_call(c, DFS_NN_SYMLINK, DFS_NN_ATTR, build_symlink,
	    &a, parse_attr, after != NULL ? after : &tmp, cause);
}

struct readlink_args {
	char	*buf;
	size_t	 cap;
};

static int
parse_link(struct dfs_rbuf *r, void *arg)
{
	struct readlink_args	*a = arg;

	dfs_get_strbuf(r, a->buf, a->cap);
	return dfs_rbuf_done(r);
}

/* The target of a symbolic link, NUL-terminated and cut to cap - 1 bytes
 * like readlink(2) would. */
int
dfs_client_readlink(struct dfs_client *c, const char *path, char *buf,
    size_t cap, char **cause)
{
	struct readlink_args	a;
	char			tmp[DFS_MAX_PATH + 1];
	int			rc;

	a.buf = tmp;
	a.cap = sizeof tmp;
	if (cap == 0)
		return -EINVAL;
	rc = dfs_client_call(c, DFS_NN_READLINK, DFS_NN_LINK, build_path,
	    (void *)path, parse_link, &a, cause);
	if (rc == 0)
		snprintf(buf, cap, "%s", tmp);
	return rc;
}

struct hardlink_args {
	const char	*existing;
	const char	*path;
};

static void
build_hardlink(struct dfs_wbuf *b, void *arg)
{
	struct hardlink_args	*a = arg;

	dfs_put_str(b, a->existing);
	dfs_put_str(b, a->path);
}

/* link(2): path becomes a new name of existing's inode (not a directory);
 * after, if not NULL, gets the inode's attributes with its new nlink. */
int
dfs_client_link(struct dfs_client *c, const char *existing, const char *path,
    struct dfs_attr *after, char **cause)
{
	struct hardlink_args	a = { existing, path };
	struct dfs_attr		tmp;

	return dfs_client_call(c, DFS_NN_HARDLINK, DFS_NN_ATTR, build_hardlink,
	    &a, parse_attr, after != NULL ? after : &tmp, cause);
}

struct mknod_args {
	const char	*path;
	uint8_t		 type;
	uint32_t	 mode;
	uint32_t	 uid;
	uint32_t	 gid;
	uint64_t	 rdev;
};

static void
build_mknod(struct dfs_wbuf *b, void *arg)
{
	struct mknod_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u8(b, a->type);
	dfs_put_u32(b, a->mode);
	dfs_put_u32(b, a->uid);
	dfs_put_u32(b, a->gid);
	dfs_put_u64(b, a->rdev);
}

/* mknod(2): a FIFO, socket or device (type an enum dfs_ftype, rdev the
 * device number), or an empty complete file, owned by uid and gid. */
int
dfs_client_mknod(struct dfs_client *c, const char *path, uint8_t type,
    uint32_t mode, uint32_t uid, uint32_t gid, uint64_t rdev,
    struct dfs_attr *after, char **cause)
{
	struct mknod_args	a = { path, type, mode, uid, gid, rdev };
	struct dfs_attr		tmp;

	return dfs_client_call(c, DFS_NN_MKNOD, DFS_NN_ATTR, build_mknod, &a,
	    parse_attr, after != NULL ? after : &tmp, cause);
}

struct unlink_parent_args {
	const char	*path;
	bool		 dir;
};

static void
build_unlink_parent(struct dfs_wbuf *b, void *arg)
{
	struct unlink_parent_args *a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u8(b, a->dir);
	dfs_put_u8(b, 1);	/* reply with the parent's attributes */
}

/* dfs_client_unlink that also hands back the parent directory's
 * attributes after the removal, in the same round trip (dfs-mount's
 * kernel asks for them next). */
int
dfs_client_unlink_parent(struct dfs_client *c, const char *path, bool dir,
    struct dfs_attr *parent, char **cause)
{
	struct unlink_parent_args a = { path, dir };

	return dfs_client_call(c, DFS_NN_UNLINK, DFS_NN_ATTR,
	    build_unlink_parent, &a, parse_attr, parent, cause);
}
