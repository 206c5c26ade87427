/*
 * client-cred.c: whom a client's namespace calls act as.
 *
 * The namenode checks every namespace request against its connection's
 * credential, which a peer sets with ACT_AS (doc/protocol.md) and which
 * lasts as long as the connection.  A client may hold a credential
 * (dfs_client_act_as), and a thread may hold its own for one client
 * (dfs_client_act_as_thread): dfs-mount's threads each serve whichever
 * caller the kernel hands them.  A call acts as its thread's credential,
 * else the client's, else as the namenode treats the connection without
 * one.  Each pooled connection remembers the credential it was told last,
 * so ACT_AS is sent only when a call's credential is another: once per
 * connection for the CLI, at a change of caller for a mount, and again on
 * every new connection (after a reconnect, too).  A
 * file being written keeps the credential it was opened with
 * (dfs_client_call_as), so its later calls (from a release, or the lease
 * renewer's thread) act as its writer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "xmalloc.h"

/* The calling thread's credential for client c, when set. */
static __thread struct {
	const struct dfs_client	*c;
	struct dfs_cred		 cred;
	bool			 set;
} client_tcred;

/* Whether a and b are the same credential. */
static bool
client_cred_same(const struct dfs_cred *a, const struct dfs_cred *b)
{
	return a->uid == b->uid && a->gid == b->gid &&
	    a->ngroups == b->ngroups && memcmp(a->groups, b->groups,
	    a->ngroups * sizeof a->groups[0]) == 0;
}

/* Every call of c from now on acts as uid, gid and groups (unless its
 * thread has a credential of its own); -EINVAL with more than
 * DFS_MAX_GROUPS groups. */
int
dfs_client_act_as(struct dfs_client *c, uint32_t uid, uint32_t gid,
    const uint32_t *groups, size_t n)
{
	if (n > DFS_MAX_GROUPS)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	memset(&c->cred, 0, sizeof c->cred);
	c->cred.uid = uid;
	c->cred.gid = gid;
	c->cred.ngroups = (uint32_t)n;
	if (n > 0)
		memcpy(c->cred.groups, groups, n * sizeof *groups);
	c->has_cred = true;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* The calling thread's calls of c act as cred from now on; NULL goes
 * back to the client's credential. */
int
dfs_client_act_as_thread(struct dfs_client *c, const struct dfs_cred *cred)
{
	if (cred == NULL) {
		client_tcred.set = false;
		return 0;
	}
	if (cred->ngroups > DFS_MAX_GROUPS)
		return -EINVAL;
	client_tcred.c = c;
	client_tcred.cred = *cred;
	client_tcred.set = true;
	return 0;
}

/* The credential a call of c from this thread acts as now: 0, or
 * -ENOENT when it has none (the namenode's default for the connection). */
int
dfs_client_cred_get(struct dfs_client *c, struct dfs_cred *cred)
{
	int	rc = 0;

	if (client_tcred.c == c && client_tcred.set) {
		*cred = client_tcred.cred;
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	if (c->has_cred)
		*cred = c->cred;
	else
		rc = -ENOENT;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Whether a connection that was told *told can serve a call from this
 * thread: not when it acts for someone and the call has no credential
 * (ACT_AS cannot be taken back). */
bool
dfs_client_cred_fits(struct dfs_client *c, const struct dfs_told *told)
{
	struct dfs_cred	cred;

	return !told->set || dfs_client_cred_get(c, &cred) == 0;
}

/*
 * Before a call on connection nn, which was last told *told: tell it this
 * thread's credential, unless it has it (compared by value, so threads
 * acting for the same caller share connections without a word).  A
 * refusal (-EACCES: the peer's identity may not claim it) fails the call
 * with the namenode's reason.
 */
int
dfs_client_cred_sync(struct dfs_client *c, struct dfs_conn *nn,
    struct dfs_told *told, char **cause)
{
	struct dfs_cred	 cred;
	struct dfs_wbuf	*b;
	struct dfs_rbuf	 r;
	int		 rc;

	if (dfs_client_cred_get(c, &cred) != 0 ||
	    (told->set && client_cred_same(&told->cred, &cred)))
		return 0;
	b = dfs_conn_begin(nn, DFS_NN_ACT_AS);
	dfs_put_u32(b, cred.uid);
	dfs_put_u32(b, cred.gid);
	dfs_put_u32(b, cred.ngroups);
	for (uint32_t i = 0; i < cred.ngroups; i++)
		dfs_put_u32(b, cred.groups[i]);
	/* Unknown until the answer: told again next time unless it is OK. */
	told->set = false;
	if ((rc = dfs_conn_call(nn, DFS_MSG_OK, &r, cause)) == 0) {
		told->set = true;
		told->cred = cred;
	}
	return rc;
}

/* dfs_client_call acting as cred (NULL: as the thread would anyway);
 * the thread's own credential is as it was afterwards. */
int
dfs_client_call_as(struct dfs_client *c, const struct dfs_cred *cred,
    uint16_t type, uint16_t expect, void (*build)(struct dfs_wbuf *, void *),
    void *barg, int (*parse)(struct dfs_rbuf *, void *), void *parg,
    char **cause)
{
	const struct dfs_client	*oc = client_tcred.c;
	struct dfs_cred		 ocred = client_tcred.cred;
	bool			 oset = client_tcred.set;
	int			 rc;

	if (cred != NULL && dfs_client_act_as_thread(c, cred) != 0)
		return -EINVAL;
	rc = dfs_client_call(c, type, expect, build, barg, parse, parg, cause);
	client_tcred.c = oc;
	client_tcred.cred = ocred;
	client_tcred.set = oset;
	return rc;
}

static void
build_nothing(struct dfs_wbuf *b, void *arg)
{
	(void)b;
	(void)arg;
}

static int
parse_whoami(struct dfs_rbuf *r, void *arg)
{
	struct dfs_whoami	*w = arg;

	memset(w, 0, sizeof *w);
	dfs_get_strbuf(r, w->name, sizeof w->name);
	dfs_get_strbuf(r, w->role, sizeof w->role);
	dfs_get_strbuf(r, w->addr, sizeof w->addr);
	w->cred.uid = dfs_get_u32(r);
	w->cred.gid = dfs_get_u32(r);
	w->cred.ngroups = dfs_get_u32(r);
	if (w->cred.ngroups > DFS_MAX_GROUPS)
		return -EBADMSG;
	for (uint32_t i = 0; i < w->cred.ngroups; i++)
		w->cred.groups[i] = dfs_get_u32(r);
	w->super = dfs_get_u8(r) != 0;
	return dfs_rbuf_done(r);
}

/* What the namenode holds for this client's connection: its identity and
 * the credential its calls act as (WHOAMI). */
int
dfs_client_whoami(struct dfs_client *c, struct dfs_whoami *w, char **cause)
{
	return dfs_client_call(c, DFS_NN_WHOAMI, DFS_NN_WHOAMI_REPLY,
	    build_nothing, NULL, parse_whoami, w, cause);
}
