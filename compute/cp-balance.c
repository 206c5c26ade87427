/*
 * cp-balance.c: dfs admin balance: start the namenode's balancer
 * (namenode/nn-balance.c), follow it until every data node stores
 * within the threshold of the mean, ask where it stands, or stop it.
 * The namenode does the work: this command only asks and prints, so
 * interrupting it leaves the balancer running.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_i.h"
#include "cp_i.h"
#include "xmalloc.h"

#define CP_BALANCE_POLL_MS	1000

struct balance_args {
	uint8_t		 op;
	uint32_t	 threshold;	/* hundredths of a percent */
	uint64_t	 bandwidth;
	/* The reply. */
	uint8_t		 state;
	uint64_t	 moved_blocks, moved_bytes, failed, copying, mean;
	uint64_t	 to_move;
	uint32_t	 moves, max_dev;
	int64_t		 ms;
	char		 why[512];
	bool		 nodes;		/* print the nodes' loads */
};

static void
build_balance(struct dfs_wbuf *b, void *arg)
{
	struct balance_args	*a = arg;

	dfs_put_u8(b, a->op);
	dfs_put_u32(b, a->threshold);
	dfs_put_u64(b, a->bandwidth);
}

static const char *
cp_balance_state(uint8_t s)
{
	switch (s) {
	case DFS_BALANCE_IDLE:
		return "not run since the namenode started";
	case DFS_BALANCE_RUNNING:
		return "running";
	case DFS_BALANCE_DONE:
		return "done";
	case DFS_BALANCE_STOPPED:
		return "stopped";
	case DFS_BALANCE_STUCK:
		return "stuck";
	}
	return "unknown";
}

/* Decode a BALANCE_REPLY, printing the nodes' loads if asked. */
static int
parse_balance(struct dfs_rbuf *r, void *arg)
{
	struct balance_args	*a = arg;
	char			 addr[256];
	uint32_t		 n;

	a->state = dfs_get_u8(r);
	a->threshold = dfs_get_u32(r);
	a->bandwidth = dfs_get_u64(r);
	a->moved_blocks = dfs_get_u64(r);
	a->moved_bytes = dfs_get_u64(r);
	a->failed = dfs_get_u64(r);
	a->moves = dfs_get_u32(r);
	a->copying = dfs_get_u64(r);
	a->mean = dfs_get_u64(r);
	a->max_dev = dfs_get_u32(r);
	a->to_move = dfs_get_u64(r);
	a->ms = dfs_get_i64(r);
	dfs_get_strbuf(r, a->why, sizeof a->why);
	n = dfs_get_u32(r);
	if (a->nodes && r->err == 0)
		printf("%-4s %-22s %14s %9s\n", "id", "address", "load",
		    "vs mean");
	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		uint64_t id = dfs_get_u64(r);
		dfs_get_strbuf(r, addr, sizeof addr);
		uint64_t load = dfs_get_u64(r);
		if (!a->nodes || r->err != 0)
			continue;
		printf("%-4llu %-22s %14llu %+8.1f%%\n",
		    (unsigned long long)id, addr, (unsigned long long)load,
		    a->mean > 0 ? ((double)load - (double)a->mean) * 100 /
		    (double)a->mean : 0.0);
	}
	return dfs_rbuf_done(r);
}

/* One line of progress. */
static void
cp_balance_line(const struct balance_args *a)
{
	printf("balance: %s, %llu block%s (%llu bytes) moved, %u in flight "
	    "(%llu bytes), %llu failed; farthest node %.1f%% from the mean of "
	    "%llu bytes (threshold %.2f%%), %llu bytes beyond it%s%s\n",
	    cp_balance_state(a->state), (unsigned long long)a->moved_blocks,
	    a->moved_blocks == 1 ? "" : "s",
	    (unsigned long long)a->moved_bytes, a->moves,
	    (unsigned long long)a->copying,
	    (unsigned long long)a->failed, a->max_dev / 100.0,
	    (unsigned long long)a->mean, a->threshold / 100.0,
	    (unsigned long long)a->to_move, a->why[0] != '\0' ? "; " : "",
	    a->why);
	fflush(stdout);
}

/* --threshold PCT: a percentage of the mean, 0.01 to 100. */
static int
cp_balance_pct(const char *s, uint32_t *out)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '%')
		end++;
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.01) ||
	    v > 100)
		return -EINVAL;
	*out = (uint32_t)(v * 100 + 0.5);
	return 0;
}

/* Ask the namenode; prints its refusal.  0 or the exit code 1. */
static int
cp_balance_call(struct cp_ctx *ctx, struct balance_args *a)
{
	char	*cause = NULL;
	int	 rc;

	rc = dfs_client_call(cp_client(ctx), DFS_NN_BALANCE,
	    DFS_NN_BALANCE_REPLY, build_balance, a, parse_balance, a, &cause);
	return rc == 0 ? 0 : cp_fail(ctx, "admin balance", rc, cause);
}

/* dfs admin balance [--threshold PCT] [--bandwidth RATE] [--no-wait] |
 * --status | --stop */
static int
cp_balance(struct cp_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threshold", required_argument, NULL, 't' },
		{ "bandwidth", required_argument, NULL, 'b' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "status", no_argument, NULL, 's' },
		{ "stop", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 }
	};
	struct balance_args	 a = { .op = DFS_BALANCE_START };
	bool			 wait = true, settings = false;
	int			 ch, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (cp_balance_pct(optarg, &a.threshold) != 0) {
				fprintf(stderr, "%s admin balance: --threshold "
				    "%s: a percentage of the mean, 0.01 to "
				    "100\n", ctx->prog, optarg);
				return 1;
			}
			settings = true;
			break;
		case 'b':
			if (cp_parse_size(optarg, &a.bandwidth) != 0 ||
			    a.bandwidth < DFS_BALANCE_MIN_BANDWIDTH) {
				fprintf(stderr, "%s admin balance: --bandwidth "
				    "%s: bytes a second (K, M, G: powers of "
				    "1024), at least %uK\n", ctx->prog, optarg,
				    DFS_BALANCE_MIN_BANDWIDTH >> 10);
				return 1;
			}
			settings = true;
			break;
		case 'n':
			wait = false;
			break;
		case 's':
			a.op = DFS_BALANCE_STATUS;
			break;
		case 'x':
			a.op = DFS_BALANCE_STOP;
			break;
		default:
			return cp_usage("admin");
		}
	}
	if (optind != argc || (a.op != DFS_BALANCE_START && (settings ||
	    !wait)))
		return cp_usage("admin");
	a.nodes = a.op != DFS_BALANCE_START;
	if ((rc = cp_balance_call(ctx, &a)) != 0)
		return rc;
	cp_balance_line(&a);
	if (a.op != DFS_BALANCE_START || !wait)
		return 0;
	printf("balance: the namenode runs it; interrupting this command does "
	    "not stop it (dfs admin balance --stop does)\n");
	a.op = DFS_BALANCE_STATUS;
	while (a.state == DFS_BALANCE_RUNNING) {
		usleep(CP_BALANCE_POLL_MS * 1000);
		if ((rc = cp_balance_call(ctx, &a)) != 0)
			return rc;
		cp_balance_line(&a);
	}
	a.nodes = true;
	if ((rc = cp_balance_call(ctx, &a)) != 0)
		return rc;
	return a.state == DFS_BALANCE_DONE ? 0 : 1;
}

/* dfs admin SUBCOMMAND: the superuser's tools that change the cluster. */
int
cp_cmd_admin(struct cp_ctx *ctx, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "balance") == 0)
		return cp_balance(ctx, argc - 1, argv + 1);
	return cp_usage("admin");
}
