/* sum_i.h: what dfs-sum's files share (sum-main.c, sum-client.c). */
#ifndef SUM_I_H
#define SUM_I_H

#include <stdbool.h>
#include <stdint.h>

#include "accum.h"
#include "client.h"
#include "proto.h"

/* REDUCE requests kept in flight on one data node (one thread each). */
#define SUM_INFLIGHT		3
/* Threads a run never exceeds, whatever the number of data nodes. */
#define SUM_MAX_WORKERS		96
/*
 * A block still running this long, while a thread of another of its
 * replicas' nodes sits idle, is sent there too (first answer wins): a
 * stopped node costs seconds, not client.timeout.
 */
#define SUM_HEDGE_MS		2000

/* What one data node did for dfs-sum, over all the files of a run. */
struct sum_node_stats {
	char		addr[256];
	uint64_t	blocks;		/* partials it gave */
	uint64_t	bytes;		/* bytes it read and checked */
	uint64_t	usec;		/* its own time reducing them */
	uint64_t	failures;	/* requests that failed */
};

struct sum_stats {
	struct sum_node_stats	*nodes;
	size_t			 n;
};

struct sum_opts {
	int		timeout_ms;	/* client.timeout */
	bool		progress;	/* a progress line on stderr */
};

/* One file's answer. */
struct sum_result {
	struct dfs_attr	attr;		/* attr.npy: dtype, shape */
	char		kind;		/* 'b' 'i' 'u' 'f' 'c' */
	unsigned	itemsize;
	uint64_t	count;		/* elements */
	struct dfs_acc	acc;		/* the exact sum */
	uint64_t	bytes;		/* bytes the data nodes reduced */
	uint32_t	nblocks;	/* blocks holding elements */
	double		seconds;	/* wall time for the file */
};

/* sum-client.c */
int	sum_client_file(struct dfs_client *, const char *path,
	    const struct sum_opts *, struct sum_stats *, struct sum_result *,
	    char **cause);
void	sum_stats_release(struct sum_stats *);

/* sum-mount.c */
int	sum_mount_resolve(const char *arg, char **nn, char **path);

#endif
