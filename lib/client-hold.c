/*
 * client-hold.c: the files a client (a mount) holds open, so that the
 * namenode keeps one unlinked while open until its last close
 * (namenode/nn-hold.c).
 *
 * A hold costs an open no round trip: the STAT an open makes anyway
 * carries the hold (dfs_hold_open).  Closing costs none either: the last
 * close of an inode here only marks it, and the lease renewer
 * (client-lease.c) sends the releases, and every DFS_RENEW_MS the
 * renewals of all holds, in one HOLDS message a pass.  A hold taken with
 * no STAT (a file this client created) is registered by that thread too.
 * What changed is sent DFS_HOLD_BATCH_MS after the first change, so that
 * the releases of many files closed together travel in one message, and
 * a file created and closed within that time (touch, a shell's `>`, most
 * of a `tar -x`) costs the namenode nothing at all: sending a take and a
 * release for each cut a mount's create rate by a third.  An unlink
 * through this client takes a hold not yet sent itself first
 * (dfs_hold_ensure).  Each hold the namenode is sent carries a sequence
 * number, and
 * a release names the one it ends: a release that crosses a new hold on
 * the wire (on another connection) is ignored by the namenode, so an
 * open racing the previous close never loses its hold.  The namenode
 * takes a new hold only on a file the sender may reach by a path, so a
 * hold is sent acting as whom its last open acted as (a mount acts for
 * its callers), one HOLDS per credential.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "log.h"
#include "xmalloc.h"

#define DFS_HOLDS_PER_MSG	4096	/* namenode's bound (NN_HOLDS_MAX_N) */
#define DFS_HOLD_BATCH_MS	100	/* changes gathered into one pass */

static unsigned
hold_bucket(dfs_ino ino)
{
	return (unsigned)(ino % DFS_HOLD_BUCKETS);
}

/* The entry of ino, or NULL.  Hold rlock. */
static struct dfs_hold *
hold_find(struct dfs_client *c, dfs_ino ino)
{
	struct dfs_hold	*h;

	for (h = c->holds[hold_bucket(ino)]; h != NULL; h = h->next)
		if (h->ino == ino)
			return h;
	return NULL;
}

/* The entry of ino, made when missing.  Hold rlock. */
static struct dfs_hold *
hold_get(struct dfs_client *c, dfs_ino ino)
{
	struct dfs_hold	*h;

	if ((h = hold_find(c, ino)) != NULL)
		return h;
	h = xcalloc(1, sizeof *h);
	h->ino = ino;
	h->next = c->holds[hold_bucket(ino)];
	c->holds[hold_bucket(ino)] = h;
	c->nholds++;
	return h;
}

/* Forget h.  Hold rlock. */
static void
hold_remove(struct dfs_client *c, struct dfs_hold *h)
{
	struct dfs_hold	**hp;

	for (hp = &c->holds[hold_bucket(h->ino)]; *hp != NULL;
	    hp = &(*hp)->next)
		if (*hp == h) {
			*hp = h->next;
			c->nholds--;
			break;
		}
	free(h);
}

/* One more use of ino, whose hold acts as cred (NULL: the client's
 * own).  Hold rlock. */
static struct dfs_hold *
hold_use(struct dfs_client *c, dfs_ino ino, const struct dfs_cred *cred)
{
	struct dfs_hold	*h = hold_get(c, ino);

	h->count++;
	h->has_cred = cred != NULL;
	if (cred != NULL)
		h->cred = *cred;
	return h;
}

/* Whether holds a and b are taken as the same credential. */
static bool
hold_same_cred(const struct dfs_hold *a, const struct dfs_hold *b)
{
	if (a->has_cred != b->has_cred)
		return false;
	return !a->has_cred || (a->cred.uid == b->cred.uid &&
	    a->cred.gid == b->cred.gid && a->cred.ngroups ==
	    b->cred.ngroups && memcmp(a->cred.groups, b->cred.groups,
	    a->cred.ngroups * sizeof a->cred.groups[0]) == 0);
}

/* Ask the renewer to send what changed now.  Hold rlock. */
static void
hold_wake(struct dfs_client *c)
{
	/* One wake-up a batch: the renewer then sleeps until it is due. */
	if (c->holds_due && c->renewer_running)
		return;
	c->holds_due = true;
	c->holds_due_ms = dfs_now_ms() + DFS_HOLD_BATCH_MS;
	dfs_renewer_start(c);
	pthread_cond_signal(&c->rcond);
}

/* One use of ino fewer; the last releases it.  Hold rlock. */
static void
hold_put(struct dfs_client *c, struct dfs_hold *h)
{
	if (h->count > 0)
		h->count--;
	if (h->count > 0)
		return;
	/* A take on its way may reach the namenode yet: release it too. */
	if (h->registered || h->sent)
		hold_wake(c);
	else
		hold_remove(c, h);
}

/*
 * An open of inode ino (at path): its attributes, and a hold on it, in
 * one STAT.  When this client holds it already, a plain STAT.  Drop the
 * hold with dfs_hold_drop at the close.
 */
int
dfs_hold_open(struct dfs_client *c, dfs_ino ino, const char *path,
    struct dfs_attr *a, char **cause)
{
	struct dfs_hold	*h;
	struct dfs_cred	 cred;
	bool		 has_cred = dfs_client_cred_get(c, &cred) == 0;
	uint64_t	 seq = 0;
	bool		 need;
	int		 rc;

	pthread_mutex_lock(&c->rlock);
	h = hold_use(c, ino, has_cred ? &cred : NULL);
	need = !h->registered && !c->no_holds;
	if (need)
		seq = ++c->hold_seq;
	pthread_mutex_unlock(&c->rlock);
	if (need) {
		rc = dfs_client_stat_hold(c, path, seq, a, cause);
		if (rc == -EBADMSG) {
			/* A namenode that knows no holds. */
			log_warn("the namenode keeps no files open: a file "
			    "unlinked while open here is copied instead");
			pthread_mutex_lock(&c->rlock);
			c->no_holds = true;
			pthread_mutex_unlock(&c->rlock);
			need = false;
		}
	}
	if (!need)
		rc = dfs_client_stat(c, path, a, cause);
	pthread_mutex_lock(&c->rlock);
	h = hold_find(c, ino);
	if (rc == 0 && need && h != NULL && seq >= h->seq) {
		h->seq = seq;
		h->registered = true;
		dfs_renewer_start(c);
	}
	if (rc != 0 && h != NULL)
		hold_put(c, h);
	pthread_mutex_unlock(&c->rlock);
	return rc;
}

/* One more use of ino with no STAT (a file just created here): the hold
 * is sent by the renewer. */
void
dfs_hold_take(struct dfs_client *c, dfs_ino ino)
{
	struct dfs_hold	*h;
	struct dfs_cred	 cred;
	bool		 has_cred = dfs_client_cred_get(c, &cred) == 0;

	pthread_mutex_lock(&c->rlock);
	h = hold_use(c, ino, has_cred ? &cred : NULL);
	if (!h->registered && !c->no_holds)
		hold_wake(c);
	pthread_mutex_unlock(&c->rlock);
}

/* One use of ino fewer (a close); the last one's release is sent by the
 * renewer. */
void
dfs_hold_drop(struct dfs_client *c, dfs_ino ino)
{
	struct dfs_hold	*h;

	pthread_mutex_lock(&c->rlock);
	if ((h = hold_find(c, ino)) != NULL)
		hold_put(c, h);
	pthread_mutex_unlock(&c->rlock);
}

/*
 * Before an unlink that may drop ino's last name: make sure the namenode
 * has this client's hold now (path names the inode).  0, -ENOENT when
 * ino is not open here, -EOPNOTSUPP when the namenode keeps no holds, or
 * the STAT's error.
 */
int
dfs_hold_ensure(struct dfs_client *c, dfs_ino ino, const char *path,
    char **cause)
{
	struct dfs_hold	*h;
	struct dfs_attr	 a;
	uint64_t	 seq;
	int		 rc;

	pthread_mutex_lock(&c->rlock);
	if (c->no_holds || (h = hold_find(c, ino)) == NULL || h->count == 0) {
		rc = c->no_holds ? -EOPNOTSUPP : -ENOENT;
		pthread_mutex_unlock(&c->rlock);
		return rc;
	}
	if (h->registered) {
		pthread_mutex_unlock(&c->rlock);
		return 0;
	}
	seq = ++c->hold_seq;
	pthread_mutex_unlock(&c->rlock);
	rc = dfs_client_stat_hold(c, path, seq, &a, cause);
	pthread_mutex_lock(&c->rlock);
	if (rc == -EBADMSG) {
		c->no_holds = true;
		rc = -EOPNOTSUPP;
	}
	if (rc == 0 && (h = hold_find(c, ino)) != NULL && seq >= h->seq) {
		h->seq = seq;
		h->registered = true;
		dfs_renewer_start(c);
	}
	pthread_mutex_unlock(&c->rlock);
	return rc;
}

struct holds_args {
	const char	*client;
	dfs_ino		*ino;
	uint64_t	*seq;
	uint8_t		*op;
	size_t		 n;
};

static void
build_holds(struct dfs_wbuf *b, void *arg)
{
	struct holds_args	*a = arg;

	dfs_put_str(b, a->client);
	dfs_put_u32(b, (uint32_t)a->n);
	for (size_t i = 0; i < a->n; i++) {
		dfs_put_u64(b, a->ino[i]);
		dfs_put_u64(b, a->seq[i]);
		dfs_put_u8(b, a->op[i]);
	}
}

/* Send the n entries of a (a slice of a pass) acting as cred (NULL: as
 * the client does), DFS_HOLDS_PER_MSG a message. */
static int
hold_send(struct dfs_client *c, const struct dfs_cred *cred,
    struct holds_args *a)
{
	struct holds_args part;
	char		*why = NULL;
	int		 rc = 0, err;

	for (size_t off = 0; off < a->n; off += DFS_HOLDS_PER_MSG) {
		part = *a;
		part.ino += off;
		part.seq += off;
		part.op += off;
		part.n = a->n - off < DFS_HOLDS_PER_MSG ? a->n - off :
		    DFS_HOLDS_PER_MSG;
		if ((err = dfs_client_call_as(c, cred, DFS_NN_HOLDS,
		    DFS_MSG_OK, build_holds, &part, NULL, NULL, &why)) != 0) {
			log_warn("cannot renew the holds on open files: %s",
			    why != NULL ? why : "error");
			rc = err;
		}
		free(why);
		why = NULL;
	}
	return rc;
}

/*
 * The renewer's part for holds, with rlock held (let go while sending):
 * releases of inodes no longer open, new holds, and with renew the
 * renewal of every hold, in HOLDS messages, one set per credential the
 * holds are taken as (releases: the client's own).
 */
void
dfs_hold_pass(struct dfs_client *c, bool renew)
{
	struct holds_args a;
	struct dfs_hold	*h, *next, *as;		/* copies of the holds sent */
	bool		*sent, *failed;
	size_t		 cap, i, total, start;

	if (c->no_holds || c->nholds == 0) {
		c->holds_due = false;
		return;
	}
	if (!renew && !(c->holds_due && dfs_now_ms() >= c->holds_due_ms))
		return;
	cap = c->nholds;
	as = xcalloc(cap, sizeof *as);
	sent = xcalloc(cap, sizeof *sent);
	failed = xcalloc(cap, sizeof *failed);
	a.client = c->name;
	a.ino = xcalloc(cap, sizeof *a.ino);
	a.seq = xcalloc(cap, sizeof *a.seq);
	a.op = xcalloc(cap, 1);
	a.n = 0;
	for (unsigned b = 0; b < DFS_HOLD_BUCKETS; b++)
		for (h = c->holds[b]; h != NULL; h = next) {
			next = h->next;
			if (h->count == 0) {
				if (h->registered || h->sent) {
					as[a.n] = *h;
					as[a.n].has_cred = false;
					as[a.n++].count = 0;
				}
				hold_remove(c, h);
				continue;
			}
			if (h->registered && !renew)
				continue;
			/* Registered once the namenode answered (below):
			 * till then an unlink here takes the hold itself
			 * (dfs_hold_ensure), never trusting one in flight. */
			if (!h->registered) {
				h->seq = ++c->hold_seq;
				h->sent = true;
			}
			as[a.n++] = *h;
		}
	c->holds_due = false;
	if (renew)
		c->holds_renewed_ms = dfs_now_ms();
	pthread_mutex_unlock(&c->rlock);
	/* Each credential's entries in one set of messages. */
	total = a.n;
	for (start = 0; start < total; start++) {
		if (sent[start])
			continue;
		a.n = 0;
		for (i = start; i < total; i++) {
			if (sent[i] || !hold_same_cred(&as[start], &as[i]))
				continue;
			a.ino[a.n] = as[i].ino;
			a.seq[a.n] = as[i].seq;
			a.op[a.n++] = as[i].count > 0 ? 1 : 0;
			sent[i] = true;
		}
		if (hold_send(c, as[start].has_cred ? &as[start].cred : NULL,
		    &a) != 0)
			for (i = start; i < total; i++)
				if (hold_same_cred(&as[start], &as[i]))
					failed[i] = true;
	}
	pthread_mutex_lock(&c->rlock);
	for (i = 0; i < total; i++) {
		if (as[i].count == 0 || as[i].registered || failed[i] ||
		    (h = hold_find(c, as[i].ino)) == NULL ||
		    h->seq != as[i].seq)
			continue;
		h->registered = true;
	}
	pthread_mutex_unlock(&c->rlock);
	free(failed);
	free(as);
	free(sent);
	free(a.ino);
	free(a.seq);
	free(a.op);
	pthread_mutex_lock(&c->rlock);
}

/* At the client's end (its renewer stopped): send the releases still
 * due, forget the rest (the namenode lets them lapse). */
void
dfs_hold_free_all(struct dfs_client *c)
{
	struct dfs_hold	*h, *next;

	pthread_mutex_lock(&c->rlock);
	dfs_hold_pass(c, false);
	for (unsigned b = 0; b < DFS_HOLD_BUCKETS; b++) {
		for (h = c->holds[b]; h != NULL; h = next) {
			next = h->next;
			free(h);
		}
		c->holds[b] = NULL;
	}
	c->nholds = 0;
	pthread_mutex_unlock(&c->rlock);
}
