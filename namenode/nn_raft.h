/*
 * nn_raft.h: a namenode's seat in a Raft group of namenodes (nn-raft.c,
 * over libraft, its peers reached through mutual TLS).
 */
#ifndef NN_RAFT_H
#define NN_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NN_RAFT_MAX_MEMBERS	9

struct dfs_sock;
struct dfs_tls;
struct nn_raft;

struct nn_raft_conf {
	uint64_t	 id;		/* this member's, 1.. */
	const char	*address;	/* this member's namenode host:port */
	const char	*dir;		/* the log and snapshots (exists) */
	unsigned	 nmembers;	/* the group, for its first start */
	uint64_t	 ids[NN_RAFT_MAX_MEMBERS];
	const char	*addrs[NN_RAFT_MAX_MEMBERS];
	unsigned	 election_ms;	/* election timeout */
	int		 timeout_ms;	/* connecting to a peer */
	unsigned	 snapshot_every; /* entries between snapshots (0:
					   libraft's default, 1024) */
	unsigned	 snapshot_trailing; /* entries kept after one */
	bool		 join;		/* no bootstrap: nn_raft_rejoin */
};

/* The state machine, called on the group's thread one at a time: apply a
 * committed entry, make a snapshot (malloc'ed), restore one.  0 or
 * -errno. */
struct nn_raft_cb {
	void	*arg;
	int	(*apply)(void *arg, const void *buf, size_t len);
	int	(*snapshot)(void *arg, void **buf, size_t *len);
	int	(*restore)(void *arg, const void *buf, size_t len);
};

enum nn_raft_role {
	NN_RAFT_UNAVAILABLE,
	NN_RAFT_FOLLOWER,
	NN_RAFT_CANDIDATE,
	NN_RAFT_LEADER
};

struct nn_raft_status {
	enum nn_raft_role role;
	uint64_t	 term;
	uint64_t	 applied;	/* index of the last entry applied */
	uint64_t	 leader;	/* id, 0: none known */
	char		 leader_addr[256];
};

int	nn_raft_start(const struct nn_raft_conf *, const struct nn_raft_cb *,
	    struct dfs_tls *, struct nn_raft **, char **cause);
/* Stop: the loop ends, connections close, proposals fail -ESHUTDOWN; a
 * connection being handed over now is refused.  Free once nothing can
 * call nn_raft_hello with it any more (its server stopped). */
void	nn_raft_stop(struct nn_raft *);
void	nn_raft_free(struct nn_raft *);
/* Append an entry and wait until it is committed and applied here: 0,
 * -EREMOTE (not the leader, or leadership lost: ask the leader), -EIO,
 * -ESHUTDOWN. */
int	nn_raft_propose(struct nn_raft *, const void *, size_t);
/* Wait until every entry before now is applied here (a new leader's
 * first step): 0, -EREMOTE, -EIO, -ESHUTDOWN. */
int	nn_raft_barrier(struct nn_raft *);
void	nn_raft_status(struct nn_raft *, struct nn_raft_status *);
/*
 * On the leader: member leaves the configuration (add false), or comes
 * back at address (add true: a spare first, then a voter once libraft has
 * caught it up).  What is already so succeeds.  0, -EREMOTE (not the
 * leader), -EBUSY (another change under way: try again), -EIO.
 */
int	nn_raft_rejoin(struct nn_raft *, uint64_t member, const char *address,
	    bool add);
/* Answer a connection's RAFT_HELLO (payload pl): a namenode's certificate
 * and another member's id get OK and the connection is carried for Raft
 * until it ends (nn_raft_serve); anything else an ERROR.  0 or -errno. */
int	nn_raft_hello(struct nn_raft *, struct dfs_sock *, uint64_t req_id,
	    const void *pl, size_t len);
/* Carry a peer's connection (its RAFT_HELLO answered) until it ends. */
int	nn_raft_serve(struct nn_raft *, struct dfs_sock *, uint64_t id,
	    const char *address);

#endif
