/* nb_i.h: what bench/nn-bench's files share. */
#ifndef NB_I_H
#define NB_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "config.h"
#include "pki.h"

enum nb_op {
	NB_CREATE, NB_MKDIR, NB_STAT, NB_OPEN, NB_LS, NB_RENAME, NB_DELETE,
	NB_BLOCKREPORT, NB_HEARTBEAT,
};

struct nb_opts {
	enum nb_op	 op;
	const char	*op_name;
	int		 threads;
	uint64_t	 n;		/* operations in all */
	uint64_t	 per_dir;	/* files per directory */
	const char	*conf;		/* client.conf */
	const char	*ca_dir;	/* the cluster CA (simulated nodes) */
	const char	*base;		/* namespace directory of the run */
	bool		 keep;
	bool		 floor;		/* run the SQLite floor too */
	int		 acked_fd;	/* -acked FILE, or -1 */
	const char	*sync;		/* the floor's synchronous= */
	/* Simulated data nodes. */
	int		 datanodes;
	uint64_t	 blocks;	/* per node */
	uint32_t	 part;		/* replicas per report part */
	bool		 unknown;	/* report ids the namenode never gave */
	int		 rounds;	/* heartbeats per node */
	int		 hold_s;	/* keep heartbeating this long */
	int		 replication;
};

/* Latencies of one run, in nanoseconds, and its wall time. */
struct nb_stats {
	uint64_t	*lat;
	uint64_t	 n;
	uint64_t	 cap;
	int64_t		 wall_ns;
	uint64_t	 units;		/* what /s counts: ops or blocks */
	uint64_t	 errors;
};

int64_t	nb_now_ns(void);
void	nb_stats_add(struct nb_stats *, uint64_t ns);
void	nb_stats_merge(struct nb_stats *, const struct nb_stats *);
void	nb_stats_print(const char *label, const char *unit,
	    struct nb_stats *);
void	nb_stats_free(struct nb_stats *);

/* nb-floor.c: the same statements on a bare SQLite database. */
int	nb_floor_run(const struct nb_opts *, struct nb_stats *,
	    char **cause);

/* nb-sim.c: simulated data nodes. */
int	nb_sim_run(const struct nb_opts *, struct dfs_config *,
	    struct nb_stats *, char **cause);

/*
 * The simulated data nodes (nb-sim.c runs them; nb-node.c speaks for
 * one).  Defined here as both files use them.
 */
#define NB_MAX_EXCLUDE	16		/* the namenode's NN_MAX_EXCLUDE */
#define NB_CAPACITY	(UINT64_C(1) << 60)	/* room for any report */
#define NB_BLOCK_LEN	1024		/* every simulated replica's */
#define NB_BLOCKS_PER_FILE 100

struct nb_replica {
	dfs_block_id	block;
	uint64_t	gen;
};

struct nb_node {
	int			 idx;
	char			 src[32];	/* 127.a.b.c */
	char			 addr[48];	/* advertised, never served */
	char			 uuid[48];
	struct dfs_tls		*tls;
	/* One call at a time on the node's connection: a worker's, or the
	 * pacer's heartbeat. */
	pthread_mutex_t		 use;		/* guards c, id, reports,
						   last_ms */
	struct dfs_conn		*c;
	dfs_node_id		 id;
	uint64_t		 reports;
	int64_t			 last_ms;	/* last heard by the namenode */
	pthread_mutex_t		 lock;		/* guards v, n, cap */
	struct nb_replica	*v;
	size_t			 n;
	size_t			 cap;
};

struct nb_sim {
	const struct nb_opts	*o;
	struct dfs_config	*cfg;
	const char		*nn_addr;
	char			 cluster[DFS_MAX_CLUSTER_ID + 1];
	uint32_t		 heartbeat_ms;
	struct nb_node		*nodes;
	int			 nnodes;
	dfs_node_id		 real[NB_MAX_EXCLUDE];	/* excluded */
	uint32_t		 nreal;
	pthread_mutex_t		 lock;		/* guards cluster, commands,
						   reregister, stop, pacer_* */
	uint64_t		 commands;	/* heartbeat commands seen */
	uint64_t		 reregister;
	/* The pacers (-threads of them, each for its share of the nodes):
	 * a heartbeat for every node due one, as each node's own link
	 * thread would send it, from registration to the end. */
	struct nb_worker	*pacers;
	bool			 pacing;
	bool			 stop;
	uint64_t		 pacer_beats;
	char			*pacer_cause;	/* its first error */
	/* For the CONNECT phase. */
	struct dfs_pki_ca	*ca;
	const char		*ca_dir;
};

struct nb_worker {
	struct nb_sim		*sim;
	int			 id;
	pthread_t		 tid;
	int			 phase;
	struct nb_stats		 stats;
	int			 rc;
	char			*cause;
};

enum nb_phase {
	NB_PH_CONNECT, NB_PH_FILES, NB_PH_REPORT, NB_PH_HEARTBEAT,
};


void	nb_node_src(int i, char *buf, size_t cap);
int	nb_node_identity(struct nb_sim *, struct dfs_pki_ca *,
	    const char *ca_dir, struct nb_node *, char **cause);
int	nb_node_connect(struct nb_sim *, struct nb_node *, char **cause);
int	nb_node_register(struct nb_sim *, struct nb_node *, char **cause);
int	nb_node_report(struct nb_sim *, struct nb_node *, char **cause);
int	nb_node_again(struct nb_sim *, struct nb_node *, char **cause);
int	nb_node_heartbeat(struct nb_sim *, struct nb_node *, char **cause);
struct nb_node *nb_node_find(struct nb_sim *, dfs_node_id);
void	nb_node_hold(struct nb_node *, dfs_block_id, uint64_t gen);

#endif
