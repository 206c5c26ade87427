/*
 * fm-cred.c: each request of the mount acts as its caller.
 *
 * The namenode checks every request against the credential of its
 * connection (ACT_AS), so the kernel's default_permissions, which this
 * mount keeps, is the first check and never the only one.  Each FUSE
 * request sets its thread's credential in the client library to its
 * caller's uid, gid and supplementary groups (fuse_getgroups reads them
 * from /proc, so they are kept per thread for a second per process), and
 * the library tells a connection only when it changes.  The kernel sends
 * some requests on no process's behalf (pid 0: a release after the last
 * close): those act as the mount itself, except a file's commit, which
 * acts as whoever last wrote the file here (fm_cred_file).
 */
#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fm_i.h"
#include "log.h"

#define FM_CRED_KEEP_MS	1000	/* a process's groups, reused this long */

/* The last caller's credential this thread worked out. */
static __thread struct {
	pid_t		pid;
	uid_t		uid;
	gid_t		gid;
	int64_t		at_ms;
	struct dfs_cred	cred;
} fm_cred_last;

/* Who made the request being served, through either API: the
 * low-level one's request (fm-ll.c), else the high-level one's context. */
void
fm_caller(struct fm_caller *c)
{
	const struct fuse_ctx	*lc;
	struct fuse_context	*hc;
	fuse_req_t		 req = fm_ll_req();

	memset(c, 0, sizeof *c);
	if (req != NULL) {
		if ((lc = fuse_req_ctx(req)) != NULL) {
			c->uid = lc->uid;
			c->gid = lc->gid;
			c->pid = lc->pid;
		}
	} else if (!fm_mount->lowlevel && (hc = fuse_get_context()) != NULL) {
		c->uid = hc->uid;
		c->gid = hc->gid;
		c->pid = hc->pid;
	}
}

/* The caller's supplementary groups (read from /proc by libfuse). */
static int
fm_cred_groups(gid_t *groups, int max)
{
	fuse_req_t	req = fm_ll_req();

	return req != NULL ? fuse_req_getgroups(req, max, groups) :
	    fuse_getgroups(max, groups);
}

/* The caller of the request being served; false when the kernel makes it
 * on nobody's behalf. */
static bool
fm_cred_of_caller(const struct fm_caller *ctx, struct dfs_cred *cred)
{
	gid_t	groups[DFS_MAX_GROUPS];
	int64_t	now = dfs_now_ms();
	int	n;

	if (ctx->pid <= 0)
		return false;
	if (fm_cred_last.at_ms != 0 && fm_cred_last.pid == ctx->pid &&
	    fm_cred_last.uid == ctx->uid && fm_cred_last.gid == ctx->gid &&
	    now - fm_cred_last.at_ms < FM_CRED_KEEP_MS) {
		*cred = fm_cred_last.cred;
		return true;
	}
	memset(cred, 0, sizeof *cred);
	cred->uid = (uint32_t)ctx->uid;
	cred->gid = (uint32_t)ctx->gid;
	/* A process gone already has no groups to read: none, then. */
	if ((n = fm_cred_groups(groups, DFS_MAX_GROUPS)) > DFS_MAX_GROUPS) {
		log_warn("process %ld is in %d groups: only the first %d are "
		    "sent to the namenode", (long)ctx->pid, n,
		    DFS_MAX_GROUPS);
		n = DFS_MAX_GROUPS;
	}
	for (int i = 0; i < n; i++)
		cred->groups[cred->ngroups++] = (uint32_t)groups[i];
	fm_cred_last.pid = ctx->pid;
	fm_cred_last.uid = ctx->uid;
	fm_cred_last.gid = ctx->gid;
	fm_cred_last.at_ms = now;
	fm_cred_last.cred = *cred;
	return true;
}

/* Make the namenode calls of this thread act as the caller of the request
 * being served (or as the mount, for the kernel's own requests). */
void
fm_cred_caller(struct fm *fm)
{
	struct fm_caller	c;
	struct dfs_cred		cred;

	fm_caller(&c);
	if (fm_cred_of_caller(&c, &cred))
		dfs_client_act_as_thread(fm->client, &cred);
	else
		dfs_client_act_as_thread(fm->client, NULL);
}

/* Remember who writes f now, for a commit on nobody's behalf.  Hold
 * f->lock. */
void
fm_cred_wrote(struct fm_file *f)
{
	f->has_wcred = dfs_client_cred_get(f->fm->client, &f->wcred) == 0;
}

/* Before a commit of f: act as its last writer when the request is the
 * kernel's own (a release).  Hold f->lock. */
void
fm_cred_file(struct fm_file *f)
{
	struct fm_caller	c;

	fm_caller(&c);
	if (f->has_wcred && c.pid <= 0)
		dfs_client_act_as_thread(f->fm->client, &f->wcred);
}

/* The mount's own credential (its process's), for the kernel's own
 * requests: its client never acts as nobody, so a connection told a
 * caller's credential is never taken for the mount's. */
int
fm_cred_own(struct fm *fm)
{
	gid_t		groups[DFS_MAX_GROUPS];
	uint32_t	g[DFS_MAX_GROUPS];
	int		n;

	if ((n = getgroups(DFS_MAX_GROUPS, groups)) < 0)
		n = 0;
	for (int i = 0; i < n; i++)
		g[i] = (uint32_t)groups[i];
	return dfs_client_act_as(fm->client, (uint32_t)getuid(),
	    (uint32_t)getgid(), g, (size_t)n);
}
