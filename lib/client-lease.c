/*
 * client-lease.c: keeping the leases of a client's open writers.
 *
 * Each namenode call a writer makes renews its file's lease; one thread
 * per client (as HDFS's lease renewer) sends RENEW_LEASE for each open
 * writer that made none for DFS_RENEW_MS, so a writer that sits idle (a
 * file held open in the mount) keeps its file.  One thread per client
 * rather than per writer: a mount creating many small files would
 * otherwise start and join a thread for each.  A writer's lease is a
 * struct dfs_lease inside it, on the client's list while it is open;
 * renewals act as the writer does (its credential).  The same thread
 * sends the client's holds on open files (client-hold.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "client_i.h"
#include "log.h"
#include "xmalloc.h"

#define DFS_RENEW_MS		2000	/* lease renewal when idle */
#define DFS_RENEW_BATCH		256	/* leases renewed per pass */

struct renew_args {
	dfs_ino			 ino;
	const char		*client;
};

static void
build_renew(struct dfs_wbuf *b, void *arg)
{
	struct renew_args	*a = arg;

	dfs_put_u64(b, a->ino);
	dfs_put_str(b, a->client);
}

/* A namenode call was just made for the lease's file. */
void
dfs_lease_touch(struct dfs_lease *l)
{
	atomic_store(&l->last_nn_ms, dfs_now_ms());
}

/*
 * The client's renewer: every DFS_RENEW_MS, RENEW_LEASE for each lease
 * quiet that long.  The inodes are copied under rlock and renewed without
 * it, so closing a writer never waits for a namenode call.
 */
static void *
lease_renewer(void *arg)
{
	struct dfs_client	*c = arg;
	struct dfs_lease	*l;
	dfs_ino			 due[DFS_RENEW_BATCH];
	struct dfs_cred		*creds;		/* each writer's, or NULL */
	struct dfs_cred		**as;
	char			*why = NULL;
	bool			 warned = false;
	int			 n;

	creds = xcalloc(DFS_RENEW_BATCH, sizeof *creds);
	as = xcalloc(DFS_RENEW_BATCH, sizeof *as);
	pthread_mutex_lock(&c->rlock);
	while (!c->rstop) {
		int64_t until = dfs_now_ms() + DFS_RENEW_MS;
		if (c->holds_due && c->holds_due_ms < until)
			until = c->holds_due_ms;
		if (until > dfs_now_ms())
			dfs_cond_wait_until(&c->rcond, &c->rlock, until);
		if (c->rstop)
			break;
		dfs_hold_pass(c, dfs_now_ms() - c->holds_renewed_ms >=
		    DFS_RENEW_MS);
		if (c->rstop)
			break;
		n = 0;
		for (l = c->leases; l != NULL && n < DFS_RENEW_BATCH;
		    l = l->next)
			if (dfs_now_ms() - atomic_load(&l->last_nn_ms) >=
			    DFS_RENEW_MS) {
				creds[n] = l->cred;
				as[n] = l->has_cred ? &creds[n] : NULL;
				due[n++] = l->ino;
			}
		pthread_mutex_unlock(&c->rlock);
		for (int i = 0; i < n; i++) {
			struct renew_args a = { due[i], c->name };
			if (dfs_client_call_as(c, as[i], DFS_NN_RENEW_LEASE,
			    DFS_MSG_OK, build_renew, &a, NULL, NULL,
			    &why) != 0 &&
			    !warned) {
				log_warn("cannot renew the lease of inode "
				    "%llu: %s", (unsigned long long)due[i],
				    why != NULL ? why : "error");
				warned = true;
			}
			free(why);
			why = NULL;
		}
		pthread_mutex_lock(&c->rlock);
		/* Calls made here count for the leases renewed. */
		for (l = c->leases; l != NULL; l = l->next)
			for (int i = 0; i < n; i++)
				if (l->ino == due[i])
					dfs_lease_touch(l);
	}
	pthread_mutex_unlock(&c->rlock);
	free(creds);
	free(as);
	return NULL;
}

/* Start the renewer unless it runs.  Hold rlock. */
void
dfs_renewer_start(struct dfs_client *c)
{
	if (c->renewer_running || c->rstop)
		return;
	if (pthread_create(&c->renewer, NULL, lease_renewer, c) == 0)
		c->renewer_running = true;
	else
		log_warn("cannot start the lease renewer");
}

/* Put l on c's list, starting the renewer with the first. */
void
dfs_lease_register(struct dfs_client *c, struct dfs_lease *l)
{
	pthread_mutex_lock(&c->rlock);
	dfs_renewer_start(c);
	l->next = c->leases;
	c->leases = l;
	l->registered = true;
	pthread_mutex_unlock(&c->rlock);
}

/* Take l off c's list. */
void
dfs_lease_unregister(struct dfs_client *c, struct dfs_lease *l)
{
	struct dfs_lease	**pp;

	if (!l->registered)
		return;
	pthread_mutex_lock(&c->rlock);
	for (pp = &c->leases; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	l->registered = false;
	pthread_mutex_unlock(&c->rlock);
}

/* Stop c's renewer (dfs_client_free; every writer is closed by then). */
void
dfs_client_renewer_stop(struct dfs_client *c)
{
	pthread_mutex_lock(&c->rlock);
	c->rstop = true;
	pthread_cond_signal(&c->rcond);
	pthread_mutex_unlock(&c->rlock);
	if (c->renewer_running)
		pthread_join(c->renewer, NULL);
	c->renewer_running = false;
}
