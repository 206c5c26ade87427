/*
 * nn-join.c: a member of a namenode group that lost its state comes back
 * (dfs-namenode --join, issue 12).
 *
 * Why it is built this way.  A member whose disk was wiped has forgotten
 * what it voted and what its log held; were it to start as a new group's
 * member does, it could help a member that lags elect itself, and lose
 * entries that were acknowledged.  So it never starts by itself
 * (nn-group.c refuses), and joining is an explicit step in three parts,
 * each asked of the leader through the other members' addresses (a
 * follower redirects, as for any client):
 *
 *   1. GROUP_JOIN step 0: the leader takes the member out of the log's
 *      configuration.  From then on the other members alone make a
 *      majority, so nothing the member forgot can count.
 *   2. GROUP_DB: the leader's namespace database as of now, in pieces,
 *      written to namespace.db (never over one that exists).
 *   3. The namenode starts (its Raft log empty, no bootstrap), and
 *      GROUP_JOIN step 1 has the leader add it back: a spare, then a voter
 *      once libraft has sent it the log it lacks.  Entries the copied
 *      database holds already are skipped by their serials (nn-repl.c).
 *
 * The group keeps serving throughout: the remaining members are a
 * majority of the configuration without the joining one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "client_i.h"
#include "config.h"
#include "log.h"
#include "nn_i.h"
#include "private.h"
#include "proto.h"
#include "tls.h"
#include "wire.h"
#include "xmalloc.h"

#define JOIN_TIMEOUT_MS		(120 * 1000)	/* each step's answer */
#define JOIN_DB_TRIES		3	/* a leader changed mid-copy */

struct join_step {
	uint64_t	id;
	uint8_t		step;
};

static void
build_join(struct dfs_wbuf *b, void *arg)
{
	struct join_step	*s = arg;

	dfs_put_u64(b, s->id);
	dfs_put_u8(b, s->step);
}

/* A client of the other members of the group (the leader among them). */
static int
join_client(const struct dfs_config *cfg, struct dfs_client **c,
    uint64_t *id, char **cause)
{
	struct dfs_tls	*tls = NULL;
	char		*others = NULL;
	int		 rc;

	if ((rc = nn_group_others(cfg, id, &others, cause)) != 0)
		return rc;
	if ((rc = dfs_tls_open(cfg, &tls, cause)) == 0)
		rc = dfs_client_create(others, tls, JOIN_TIMEOUT_MS, c, cause);
	free(others);
	return rc;
}

/* One GROUP_JOIN step. */
static int
join_step(struct dfs_client *c, uint64_t id, uint8_t step, char **cause)
{
	struct join_step	s = { id, step };

	return dfs_client_call(c, DFS_NN_GROUP_JOIN, DFS_MSG_OK, build_join,
	    &s, NULL, NULL, cause);
}

struct join_piece {
	uint64_t	id;
	uint64_t	off;		/* asked */
	uint64_t	total;		/* answered */
	int		fd;
};

static void
build_piece(struct dfs_wbuf *b, void *arg)
{
	struct join_piece	*p = arg;

	dfs_put_u64(b, p->id);
	dfs_put_u64(b, p->off);
}

/* A GROUP_DB_REPLY: its bytes written at their offset. */
static int
parse_piece(struct dfs_rbuf *r, void *arg)
{
	struct join_piece	*p = arg;
	const void		*bytes;
	uint64_t		 total, off;
	size_t			 n;
	ssize_t			 w;

	total = dfs_get_u64(r);
	off = dfs_get_u64(r);
	n = dfs_rbuf_left(r);
	if (r->err != 0 || off != p->off || n > DFS_GROUP_DB_PIECE ||
	    off > total || n > total - off ||
	    (p->off > 0 && total != p->total) || (n == 0 && off != total))
		return -EBADMSG;
	p->total = total;
	bytes = dfs_get_raw(r, n);
	if (n > 0 && (bytes == NULL || (w = pwrite(p->fd, bytes, n,
	    (off_t)off)) < 0 || (size_t)w != n))
		return -EIO;
	p->off = off + n;
	return 0;
}

/* The leader's database into fd, whole.  0 or -errno with *cause. */
static int
join_copy(struct dfs_client *c, uint64_t id, int fd, char **cause)
{
	struct join_piece	p;
	int			rc = 0;

	for (int tries = 0; tries < JOIN_DB_TRIES; tries++) {
		memset(&p, 0, sizeof p);
		p.id = id;
		p.fd = fd;
		if (ftruncate(fd, 0) != 0)
			return -errno;
		do {
			free(*cause);
			*cause = NULL;
			rc = dfs_client_call(c, DFS_NN_GROUP_DB,
			    DFS_NN_GROUP_DB_REPLY, build_piece, &p,
			    parse_piece, &p, cause);
		} while (rc == 0 && p.off < p.total);
		if (rc == 0 && p.total > 0)
			return fsync(fd) == 0 ? 0 : -errno;
		/* (A new leader knows no copy: start over there.) */
		log_warn("join: copying the namespace failed at byte %" PRIu64
		    ": %s%s", p.off, *cause != NULL ? *cause : strerror(-rc),
		    tries + 1 < JOIN_DB_TRIES ? "; again from the start" : "");
		if (rc == 0)
			rc = -EBADMSG;
	}
	return rc;
}

int
nn_join_fetch(const struct dfs_config *cfg, char **cause)
{
	const char		*dir = dfs_config_str(cfg, "namenode.meta_dir");
	struct dfs_client	*c = NULL;
	char			*path, *tmp;
	uint64_t		 id = 0;
	int			 fd = -1, rc;

	xasprintf(&path, "%s/namespace.db", dir);
	xasprintf(&tmp, "%s/namespace.db.join", dir);
	if (access(path, F_OK) == 0) {
		xasprintf(cause, "--join: %s exists; a member joins with an "
		    "empty state directory (remove the namespace first, if "
		    "it is really this member's old one)", path);
		rc = -EEXIST;
		goto out;
	}
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    dfs_private_dir(dir, cause) != 0) {
		if (*cause == NULL)
			xasprintf(cause, "%s: %s", dir, strerror(errno));
		rc = -EIO;
		goto out;
	}
	if ((rc = join_client(cfg, &c, &id, cause)) != 0)
		goto out;
	log_info("join: member %" PRIu64 " leaves the group's configuration "
	    "first", id);
	if ((rc = join_step(c, id, 0, cause)) != 0)
		goto out;
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		rc = -errno;
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((rc = join_copy(c, id, fd, cause)) != 0) {
		if (*cause == NULL)
			xasprintf(cause, "cannot copy the namespace: %s",
			    strerror(-rc));
		goto out;
	}
	if (rename(tmp, path) != 0 || dfs_fsync_dir(dir) != 0) {
		rc = -errno;
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	log_info("join: the leader's namespace copied into %s", path);
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	dfs_client_free(c);
	free(path);
	free(tmp);
	return rc;
}

int
nn_join_finish(const struct dfs_config *cfg, char **cause)
{
	struct dfs_client	*c = NULL;
	uint64_t		 id = 0;
	int			 rc;

	if ((rc = join_client(cfg, &c, &id, cause)) != 0)
		return rc;
	log_info("join: member %" PRIu64 " asks to come back; a voter once "
	    "the log has caught it up", id);
	if ((rc = join_step(c, id, 1, cause)) == 0)
		log_info("join: member %" PRIu64 " is a voter of the group "
		    "again", id);
	dfs_client_free(c);
	return rc;
}
