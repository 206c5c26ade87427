/* client_i.h: what the client files share inside lib/. */
#ifndef DFS_CLIENT_I_H
#define DFS_CLIENT_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"

#define DFS_CLIENT_POOL	8	/* idle namenode connections kept */
#define DFS_CLIENT_SLOW	8	/* stalled data nodes remembered */
#define DFS_SLOW_MS	60000	/* how long one stays set aside */
#define DFS_CLIENT_LOCAL 16	/* data nodes' local sockets remembered */
#define DFS_LOCAL_RETRY_MS 30000 /* a node without one is asked again */

/* A data node that fell silent mid-read, tried last until until_ms. */
struct dfs_slow_node {
	char		addr[256];
	int64_t		until_ms;
};

/* What a data node said of its local socket (client-local.c). */
enum dfs_local_state {
	DFS_LOCAL_FREE = 0,	/* an empty slot */
	DFS_LOCAL_YES,		/* on this machine, at path, as uuid */
	DFS_LOCAL_NO,		/* not local, or no socket: until until_ms */
};

struct dfs_local_node {
	char		addr[256];
	int		state;		/* enum dfs_local_state */
	char		uuid[64];
	char		path[108];	/* sizeof sun_path */
	int64_t		until_ms;
	uint64_t	used;		/* for replacing the oldest */
};

/*
 * A replica opened for short-circuit reading: its two files, as the data
 * node passed them.  data_fd -1 remembers that this replica could not be
 * opened so (the reader uses TCP for it).
 */
struct dfs_local_blk {
	dfs_block_id	block;
	uint64_t	gen;
	dfs_node_id	node;
	int		data_fd;
	int		meta_fd;
	uint64_t	len;
	uint32_t	chunk;
	uint64_t	used;		/* for replacing the oldest */
};

/* A reader's buffers for short-circuit reads, reused across calls. */
struct dfs_local_scratch {
	uint8_t		*chunk;		/* one chunk, for partial ones */
	size_t		 chunk_cap;
	uint8_t		*crcs;		/* the stored CRCs of one step */
	size_t		 crcs_cap;
};

/* What a namenode connection was told to act as (ACT_AS), if anything. */
struct dfs_told {
	bool		set;
	struct dfs_cred	cred;
};

/*
 * An open writer's lease as the client's renewer sees it (client-lease.c):
 * on the client's list while the writer is open.
 */
struct dfs_lease {
	struct dfs_lease	*next;
	dfs_ino			 ino;
	const char		*path;		/* for messages */
	struct dfs_cred		 cred;		/* whom the writer acts as */
	bool			 has_cred;
	bool			 registered;
	atomic_int_fast64_t	 last_nn_ms;	/* last namenode call */
};

/* A file this client holds open (client-hold.c). */
#define DFS_HOLD_BUCKETS	256
struct dfs_hold {
	struct dfs_hold	*next;
	dfs_ino		 ino;
	unsigned	 count;		/* opens using it */
	uint64_t	 seq;		/* of the namenode's hold */
	bool		 registered;	/* the namenode has it */
	bool		 sent;		/* a take of it is on its way (the
					   renewer's), not yet answered */
	struct dfs_cred	 cred;		/* whom its last open acted as, */
	bool		 has_cred;	/* which a new hold is taken as */
};

struct dfs_client {
	struct dfs_tls	*tls;		/* every connection's credentials */
	char		*nn_addr;	/* the one asked now (c->lock) */
	char		**nn_addrs;	/* namenode.address: every one */
	uint64_t	 once_id;	/* ONCE: this client, at random */
	atomic_uint_fast64_t once_seq;	/* ... and its last request */
	int		 nn_naddrs;
	char		*name;		/* lease holder name */
	int		 timeout_ms;
	int		 stall_ms;	/* client.read_stall_timeout */
	uint32_t	 chunk_size;
	pthread_mutex_t	 lock;		/* guards nn, idle, nidle, slow,
					   local, local_tick */
	struct dfs_conn	*nn;		/* for dfs_client_nn() callers */
	/* Connections not in use by a call; a call takes one (or opens
	 * one) so concurrent callers do not wait on each other. */
	struct dfs_conn	*idle[DFS_CLIENT_POOL];
	int		 nidle;
	struct dfs_slow_node slow[DFS_CLIENT_SLOW];
	/* Data node connections between blocks (sockpool.c). */
	struct dfs_sockpool *dnpool;
	/* Short-circuit local reads (client-local.c); no_short_circuit is
	 * client.short_circuit inverted, so a zeroed client reads local
	 * replicas short-circuit. */
	bool		 no_short_circuit;
	struct dfs_local_node local[DFS_CLIENT_LOCAL];
	uint64_t	 local_tick;
	/* Whom calls act as (client-cred.c), with lock: the client's
	 * credential when has_cred, and the one each idle connection was
	 * told last. */
	struct dfs_cred	 cred;
	bool		 has_cred;
	struct dfs_told	 idle_told[DFS_CLIENT_POOL];
	/* Lease renewal for the open writers (client-lease.c). */
	pthread_mutex_t	 rlock;		/* guards leases, rstop, renewer* */
	pthread_cond_t	 rcond;
	struct dfs_lease *leases;
	pthread_t	 renewer;
	bool		 renewer_running;
	bool		 rstop;
	/* Files held open (client-hold.c), with rlock. */
	struct dfs_hold	*holds[DFS_HOLD_BUCKETS];
	size_t		 nholds;
	uint64_t	 hold_seq;
	int64_t		 holds_renewed_ms;
	bool		 holds_due;	/* something to send, */
	int64_t		 holds_due_ms;	/* at this time (dfs_now_ms) */
	bool		 no_holds;	/* the namenode has no HOLDS */
};

int	dfs_client_call(struct dfs_client *, uint16_t type, uint16_t expect,
	    void (*build)(struct dfs_wbuf *, void *), void *,
	    int (*parse)(struct dfs_rbuf *, void *), void *, char **cause);
int	dfs_client_call_as(struct dfs_client *, const struct dfs_cred *,
	    uint16_t type, uint16_t expect,
	    void (*build)(struct dfs_wbuf *, void *), void *,
	    int (*parse)(struct dfs_rbuf *, void *), void *, char **cause);
int	dfs_client_cred_sync(struct dfs_client *, struct dfs_conn *,
	    struct dfs_told *, char **cause);
bool	dfs_client_cred_fits(struct dfs_client *, const struct dfs_told *);
void	dfs_client_mark_slow(struct dfs_client *, const char *addr);
bool	dfs_client_is_slow(struct dfs_client *, const char *addr);
void	dfs_client_renewer_stop(struct dfs_client *);
void	dfs_lease_register(struct dfs_client *, struct dfs_lease *);
void	dfs_lease_unregister(struct dfs_client *, struct dfs_lease *);
void	dfs_lease_touch(struct dfs_lease *);
void	dfs_renewer_start(struct dfs_client *);
void	dfs_hold_pass(struct dfs_client *, bool renew);
void	dfs_hold_free_all(struct dfs_client *);
int	dfs_client_stat_hold(struct dfs_client *, const char *path,
	    uint64_t seq, struct dfs_attr *, char **cause);

/* client-local.c: short-circuit reads of replicas on this machine. */
int	dfs_local_open(struct dfs_client *, const struct dfs_lblock *,
	    uint32_t loc, struct dfs_local_blk *, char **cause);
int	dfs_local_read(struct dfs_local_blk *, uint64_t boff, size_t len,
	    uint8_t *dst, size_t *got, struct dfs_local_scratch *,
	    char **cause);
void	dfs_local_close(struct dfs_local_blk *);
void	dfs_local_scratch_free(struct dfs_local_scratch *);

#endif
