/*
 * nn-batch.c: many clients' changes as one entry of a namenode group's
 * log (issue 12).
 *
 * Why it is built this way.  A group writes one entry at a time
 * (nn-group.c): a transaction's changeset goes to the followers, and the
 * next transaction may only start once it is applied, since ids come
 * from counters in the namespace.  Each entry's round trip (about 2.5 ms
 * on loopback) was the cost of every change, however many clients
 * waited: 16 clients got what one did.  So a client's namespace change,
 * and COMPLETE's transaction, join a queue; whichever request finds no
 * batch running runs those queued (up to NN_BATCH_MAX of the kind it is)
 * in one transaction, each in a savepoint of its own, and proposes what
 * they changed as one entry.  A request that fails undoes only its
 * savepoint; each answer waits for the entry that holds its change, and
 * is sent by the request's own thread.  One entry is in flight at a
 * time, so a batch holds about half of the waiting clients.
 *
 * Which requests may share: those whose effects on "live" all come from
 * their entry (discard), and which change "main" whenever they change
 * anything; COMPLETE's (keep: its live changes stay) only with others of
 * its kind.  A request that may change only "live" (a renewal, holds, a
 * pipeline) commits that part by itself when its changeset is empty; in
 * a batch with others it would be rolled back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "clock.h"
#include "nn_i.h"
#include "proto.h"
#include "xmalloc.h"

#define NN_BATCH_MAX	64	/* client requests in one entry */

/* A request queued for the next batch. */
struct batch_item {
	struct nn_req		*req;
	int			(*fn)(struct nn_req *);
	bool			 keep;	/* its live changes stay */
	int			 rc;
	bool			 done;	/* rc is its outcome */
	bool			 lead;	/* run the next batch */
	struct batch_item	*next;
};

/* The requests waiting to be run as one entry. */
struct nn_batch {
	pthread_mutex_t		 qlock;	/* guards the queue */
	pthread_cond_t		 qcond;
	struct batch_item	*qhead;
	struct batch_item	**qtail;
	bool			 qbusy;	/* a batch is being run */
};

struct nn_batch *
nn_batch_new(void)
{
	struct nn_batch	*q = xcalloc(1, sizeof *q);

	pthread_mutex_init(&q->qlock, NULL);
	dfs_cond_init(&q->qcond);
	q->qtail = &q->qhead;
	return q;
}

void
nn_batch_free(struct nn_batch *q)
{
	if (q == NULL)
		return;
	pthread_mutex_destroy(&q->qlock);
	pthread_cond_destroy(&q->qcond);
	free(q);
}

/* Whether a request of this type may share an entry (see above). */
bool
nn_batch_accepts(uint16_t type)
{
	switch (type) {
	case DFS_NN_MKDIR:
	case DFS_NN_CREATE:
	case DFS_NN_RENAME:
	case DFS_NN_DELETE:
	case DFS_NN_SET_REPL:
	case DFS_NN_SETATTR:
	case DFS_NN_UNLINK:
	case DFS_NN_SYMLINK:
	case DFS_NN_HARDLINK:
	case DFS_NN_MKNOD:
		return true;
	default:
		return false;
	}
}

/*
 * Run the requests from first (n of them, detached from the queue) as
 * one transaction, each in a savepoint of its own, and propose what they
 * changed as one entry.  A request that fails rolls back to its
 * savepoint alone; if the entry fails, every request that had succeeded
 * fails with it (a client retries; ONCE makes the retry safe).
 */
static void
batch_run(struct nn *nn, struct batch_item *first, int n, bool keep)
{
	struct batch_item	*it;
	bool			 broken = false;
	int			 rc, i;

	pthread_mutex_lock(&nn->lock);
	if ((rc = nn_db_begin(nn)) == 0 && !nn_group_in_txn(nn)) {
		/* The log's own thread applying: cannot be, but never
		 * write outside the log. */
		nn_db_end(nn, -EIO);
		rc = -EIO;
	}
	if (rc != 0) {
		for (it = first, i = 0; i < n; it = it->next, i++)
			it->rc = rc;
		pthread_mutex_unlock(&nn->lock);
		return;
	}
	if (!keep)
		nn_group_discard(nn);
	for (it = first, i = 0; i < n; it = it->next, i++) {
		struct nn_req *req = it->req;

		req->batched = true;
		if (broken || nn_db_savepoint(nn, NN_SP_BEGIN) != 0) {
			broken = true;
			it->rc = -EIO;
			continue;
		}
		rc = it->fn(req);
		if (rc == 0 && req->in_txn)
			rc = nn_once_record(req);
		req->in_txn = req->locked = false;
		if (nn_db_savepoint(nn, rc == 0 ? NN_SP_RELEASE :
		    NN_SP_UNDO) != 0) {
			broken = true;	/* the whole batch is rolled back */
			rc = -EIO;
		}
		it->rc = rc;
	}
	rc = nn_db_end(nn, broken ? -EIO : 0);
	for (it = first, i = 0; i < n; it = it->next, i++) {
		if (it->rc == 0 && rc != 0)
			it->rc = rc;
		if (it->rc != 0)	/* a failed request sends no reply */
			it->req->replied = false;
	}
	pthread_mutex_unlock(&nn->lock);
}

/*
 * Serve a request nn_batch_accepts (or COMPLETE's transaction, keep) on
 * a group's leader, without nn->lock: fn is its handler (or the part of
 * it that writes).  Returns its outcome, as fn and nn_server_leave
 * would.
 */
int
nn_batch_run(struct nn *nn, struct nn_req *req, int (*fn)(struct nn_req *),
    bool keep)
{
	struct nn_batch		*q = nn->batch;
	struct batch_item	 me = { .req = req, .fn = fn, .keep = keep };
	struct batch_item	*first, *it, *last, **pp;
	int			 n;

	pthread_mutex_lock(&q->qlock);
	*q->qtail = &me;
	q->qtail = &me.next;
	if (q->qbusy)
		while (!me.done && !me.lead)
			pthread_cond_wait(&q->qcond, &q->qlock);
	if (me.done) {
		pthread_mutex_unlock(&q->qlock);
		return me.rc;
	}
	/* This thread runs the batch: the queue's head is me.  It takes the
	 * requests that leave their transaction as it does, wherever they
	 * wait (a client's CREATE and COMPLETE alternate); each connection
	 * has one request in flight, so no client's order changes. */
	q->qbusy = true;
	first = last = NULL;
	n = 0;
	for (pp = &q->qhead; *pp != NULL && n < NN_BATCH_MAX;) {
		it = *pp;
		if (it->keep != keep) {
			pp = &it->next;
			continue;
		}
		*pp = it->next;
		it->next = NULL;
		if (last == NULL)
			first = it;
		else
			last->next = it;
		last = it;
		n++;
	}
	for (q->qtail = &q->qhead; *q->qtail != NULL;
	    q->qtail = &(*q->qtail)->next)
		;
	pthread_mutex_unlock(&q->qlock);

	batch_run(nn, first, n, keep);

	pthread_mutex_lock(&q->qlock);
	for (it = first; it != NULL; it = it->next)
		it->done = true;
	if (q->qhead != NULL)
		q->qhead->lead = true;
	else
		q->qbusy = false;
	pthread_cond_broadcast(&q->qcond);
	pthread_mutex_unlock(&q->qlock);
	return me.rc;
}
