/*
 * nn-bench.c: the namenode's throughput, in the spirit of HDFS's
 * NNThroughputBenchmark, but over the real wire: T threads, each with its
 * own client and so its own namenode connection, run N operations of one
 * kind, and the run prints operations per second and latency percentiles.
 * Beside them it runs the statements the namenode's storage needs for the
 * same operations on a bare SQLite database in this process (nb-floor.c),
 * the floor no namenode built on SQLite goes below; and with -op
 * blockreport or heartbeat it drives the namenode with simulated data
 * nodes (nb-sim.c).
 *
 * The namespace lives under -dir (default /nn-bench/PID): thread t works
 * in BASE/tT/dK, P files per directory.  stat, open, ls, rename and
 * delete first create their files (untimed); the run's directory is
 * removed afterwards unless -keep.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

#include "nb_i.h"

static const char *nb_op_names[] = {
	"create", "mkdir", "stat", "open", "ls", "rename", "delete",
	"blockreport", "heartbeat",
};

struct nb_thread {
	const struct nb_opts	*o;
	struct dfs_config	*cfg;
	int			 id;
	uint64_t		 n;		/* this thread's operations */
	struct dfs_client	*client;
	struct nb_stats		 stats;
	pthread_t		 tid;
	pthread_barrier_t	*start;
	char			*cause;		/* the first error */
	int			 rc;
};

/* The synopsis, as -help prints it. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: nn-bench [-c FILE] -op OP [-threads T] [-n N] "
	    "[-files-per-dir P]\n"
	    "       [-dir PATH] [-keep] [-no-floor] [-sync MODE] "
	    "[-datanodes D]\n"
	    "       [-blocks-per-node B] [-report-part K] [-unknown] "
	    "[-rounds R]\n"
	    "       [-hold SECONDS] [-replication R] [-ca DIR] "
	    "[-acked FILE]\n"
	    "OP: create mkdir stat open ls rename delete blockreport "
	    "heartbeat\n"
	    "The cluster comes from -c FILE, else $NPDFS_CONF (a client.conf)."
	    "\n");
}

/* Monotonic nanoseconds. */
int64_t
nb_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Record one latency. */
void
nb_stats_add(struct nb_stats *s, uint64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 1024 : s->cap * 2;
		s->lat = xrealloc(s->lat, s->cap * sizeof *s->lat);
	}
	s->lat[s->n++] = ns;
}

/* Add src's latencies, units and errors to dst (the wall time is the
 * caller's). */
void
nb_stats_merge(struct nb_stats *dst, const struct nb_stats *src)
{
	for (uint64_t i = 0; i < src->n; i++)
		nb_stats_add(dst, src->lat[i]);
	dst->units += src->units;
	dst->errors += src->errors;
}

/* qsort's order of latencies. */
static int
nb_cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The latency at quantile q of sorted s, in microseconds. */
static double
nb_pct(const struct nb_stats *s, double q)
{
	uint64_t	i;

	if (s->n == 0)
		return 0;
	i = (uint64_t)(q * (double)(s->n - 1) + 0.5);
	return (double)s->lat[i] / 1e3;
}

/* One line: rate, and latencies in microseconds. */
void
nb_stats_print(const char *label, const char *unit, struct nb_stats *s)
{
	double	secs = (double)s->wall_ns / 1e9;

	qsort(s->lat, s->n, sizeof *s->lat, nb_cmp_u64);
	printf("%-24s %12.0f %s/s  (%" PRIu64 " in %.3f s)  latency us: "
	    "p50 %.0f p90 %.0f p99 %.0f max %.0f", label,
	    secs > 0 ? (double)s->units / secs : 0, unit, s->units, secs,
	    nb_pct(s, 0.5), nb_pct(s, 0.9), nb_pct(s, 0.99),
	    nb_pct(s, 1.0));
	if (s->errors > 0)
		printf("  errors %" PRIu64, s->errors);
	printf("\n");
}

/* Free the latencies; s may be reused. */
void
nb_stats_free(struct nb_stats *s)
{
	free(s->lat);
	memset(s, 0, sizeof *s);
}

/* The path of thread t's i-th object: BASE/tT/dK/PREFIXi. */
static void
nb_path(const struct nb_opts *o, int t, uint64_t i, const char *prefix,
    char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/t%d/d%" PRIu64 "/%s%" PRIu64, o->base, t,
	    i / o->per_dir, prefix, i);
}

/* Create an empty file: CREATE then COMPLETE, as a put of nothing. */
static int
nb_create(struct dfs_client *c, const char *path, char **cause)
{
	struct dfs_write_opts	 wo = { .mode = 0644 };
	struct dfs_writer	*w;
	int			 rc;

	if ((rc = dfs_writer_open(c, path, &wo, &w, cause)) != 0)
		return rc;
	return dfs_writer_close(w, cause);
}

/* Count a listing's entries (the listing is what is timed). */
static int
nb_list_cb(const char *name, const struct dfs_attr *a, void *arg)
{
	(void)name;
	(void)a;
	(*(uint64_t *)arg)++;
	return 0;
}

/* Operation i of thread t (for ls: a listing of directory i). */
static int
nb_one(struct nb_thread *th, enum nb_op op, uint64_t i, char **cause)
{
	const struct nb_opts	*o = th->o;
	struct dfs_reader	*rd;
	struct dfs_attr		 a;
	char			 path[512], to[520], dir[512];
	uint64_t		 seen = 0;
	int			 rc;

	nb_path(o, th->id, i, op == NB_MKDIR ? "m" : "f", path, sizeof path);
	switch (op) {
	case NB_CREATE:
		return nb_create(th->client, path, cause);
	case NB_MKDIR:
		return dfs_client_mkdir(th->client, path, 0755, false, cause);
	case NB_STAT:
		return dfs_client_stat(th->client, path, &a, cause);
	case NB_OPEN:
		if ((rc = dfs_reader_open(th->client, path, &rd, cause)) != 0)
			return rc;
		dfs_reader_close(rd);
		return 0;
	case NB_LS:
		snprintf(dir, sizeof dir, "%s/t%d/d%" PRIu64, o->base, th->id,
		    i % ((th->n + o->per_dir - 1) / o->per_dir));
		return dfs_client_list(th->client, dir, nb_list_cb, &seen,
		    cause);
	case NB_RENAME:
		snprintf(to, sizeof to, "%s.r", path);
		return dfs_client_rename(th->client, path, to, 0, cause);
	case NB_DELETE:
		return dfs_client_delete(th->client, path, false, cause);
	default:
		return -EINVAL;
	}
}

/* A thread's directories and, for ops that need them, its files. */
static int
nb_setup(struct nb_thread *th, char **cause)
{
	const struct nb_opts	*o = th->o;
	char			 path[512];
	int			 rc;

	for (uint64_t d = 0; d * o->per_dir < th->n || d == 0; d++) {
		snprintf(path, sizeof path, "%s/t%d/d%" PRIu64, o->base,
		    th->id, d);
		if ((rc = dfs_client_mkdir(th->client, path, 0755, true,
		    cause)) != 0 && rc != -EEXIST)
			return rc;
		free(*cause);
		*cause = NULL;
	}
	if (o->op == NB_CREATE || o->op == NB_MKDIR)
		return 0;
	for (uint64_t i = 0; i < th->n; i++)
		if ((rc = nb_one(th, NB_CREATE, i, cause)) != 0)
			return rc;
	return 0;
}

/*
 * -acked FILE: the path of every operation the namenode acknowledged, a
 * line each, written before the next operation starts, so that a test
 * can check after a kill -9 of the namenode that each one survived.
 */
static void
nb_acked(struct nb_thread *th, uint64_t i)
{
	char	line[600];
	int	n;

	if (th->o->acked_fd < 0)
		return;
	nb_path(th->o, th->id, i, th->o->op == NB_MKDIR ? "m" : "f", line,
	    sizeof line - 1);
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(th->o->acked_fd, line, (size_t)n) != n)
		fatal("cannot write the -acked file");
}

/* A thread: its client and setup, then its timed share. */
static void *
nb_thread_main(void *arg)
{
	struct nb_thread	*th = arg;
	char			*cause = NULL;
	int64_t			 t0;
	int			 rc;

	th->rc = dfs_client_from_config(th->cfg, &th->client, &th->cause);
	if (th->rc == 0)
		th->rc = nb_setup(th, &th->cause);
	pthread_barrier_wait(th->start);
	if (th->rc != 0)
		return NULL;
	for (uint64_t i = 0; i < th->n; i++) {
		t0 = nb_now_ns();
		rc = nb_one(th, th->o->op, i, &cause);
		nb_stats_add(&th->stats, (uint64_t)(nb_now_ns() - t0));
		if (rc != 0) {
			th->stats.errors++;
			if (th->cause == NULL)
				th->cause = cause;
			else
				free(cause);
			cause = NULL;
			/* -acked: the run ends at the first error (the
			 * namenode was killed). */
			if (th->o->acked_fd >= 0)
				break;
		} else {
			th->stats.units++;
			nb_acked(th, i);
		}
	}
	return NULL;
}

/* The namespace operations: T threads, then the floor. */
static int
nb_run_ns(const struct nb_opts *o, struct dfs_config *cfg)
{
	struct nb_thread	*th;
	struct nb_stats		 all = { 0 }, floor = { 0 };
	struct dfs_client	*c = NULL;
	pthread_barrier_t	 start;
	char			*cause = NULL, label[64];
	int64_t			 t0;
	int			 rc = 0, i;

	th = xcalloc((size_t)o->threads, sizeof *th);
	pthread_barrier_init(&start, NULL, (unsigned)o->threads + 1);
	for (i = 0; i < o->threads; i++) {
		th[i].o = o;
		th[i].cfg = cfg;
		th[i].id = i;
		th[i].n = o->n / (uint64_t)o->threads +
		    ((uint64_t)i < o->n % (uint64_t)o->threads);
		th[i].start = &start;
		if (pthread_create(&th[i].tid, NULL, nb_thread_main,
		    &th[i]) != 0)
			fatalx("cannot start a thread");
	}
	pthread_barrier_wait(&start);
	t0 = nb_now_ns();
	for (i = 0; i < o->threads; i++)
		pthread_join(th[i].tid, NULL);
	all.wall_ns = nb_now_ns() - t0;
	for (i = 0; i < o->threads; i++) {
		if (th[i].rc != 0 && rc == 0) {
			fprintf(stderr, "nn-bench: thread %d: %s\n", i,
			    th[i].cause);
			rc = th[i].rc;
		} else if (th[i].cause != NULL)
			fprintf(stderr, "nn-bench: thread %d: first error: "
			    "%s\n", i, th[i].cause);
		nb_stats_merge(&all, &th[i].stats);
	}
	if (rc == 0) {
		snprintf(label, sizeof label, "%s x%d (namenode)", o->op_name,
		    o->threads);
		nb_stats_print(label, "ops", &all);
		/* A run with failed operations is no clean figure. */
		if (all.errors > 0)
			rc = -EIO;
	}
	if (rc == 0 && o->floor) {
		if ((rc = nb_floor_run(o, &floor, &cause)) != 0)
			fprintf(stderr, "nn-bench: floor: %s\n", cause);
		else {
			snprintf(label, sizeof label, "%s (sqlite floor)",
			    o->op_name);
			nb_stats_print(label, "ops", &floor);
		}
	}
	if (!o->keep && th[0].client != NULL) {
		c = th[0].client;
		if (dfs_client_delete(c, o->base, true, &cause) != 0)
			fprintf(stderr, "nn-bench: cannot remove %s: %s\n",
			    o->base, cause);
	}
	for (i = 0; i < o->threads; i++) {
		dfs_client_free(th[i].client);
		free(th[i].cause);
		nb_stats_free(&th[i].stats);
	}
	free(cause);
	nb_stats_free(&all);
	nb_stats_free(&floor);
	pthread_barrier_destroy(&start);
	free(th);
	return rc;
}

/* A positive count from s, at most max, or exit with usage. */
static uint64_t
nb_count(const char *opt, const char *s, uint64_t max)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v == 0 || v > max) {
		fprintf(stderr, "nn-bench: -%s takes a number from 1 to %"
		    PRIu64 ", not '%s'\n", opt, max, s);
		exit(2);
	}
	return v;
}

/* Options, the cluster's configuration, then the run. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "op", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "n", required_argument, NULL, 'n' },
		{ "files-per-dir", required_argument, NULL, 'p' },
		{ "dir", required_argument, NULL, 'd' },
		{ "keep", no_argument, NULL, 'k' },
		{ "no-floor", no_argument, NULL, 'F' },
		{ "sync", required_argument, NULL, 's' },
		{ "datanodes", required_argument, NULL, 'D' },
		{ "blocks-per-node", required_argument, NULL, 'B' },
		{ "report-part", required_argument, NULL, 'K' },
		{ "unknown", no_argument, NULL, 'U' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "hold", required_argument, NULL, 'H' },
		{ "replication", required_argument, NULL, 'r' },
		{ "ca", required_argument, NULL, 'a' },
		{ "acked", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct nb_opts		 o = {
		.threads = 1, .n = 10000, .per_dir = 1000, .floor = true,
		.sync = "NORMAL", .datanodes = 100, .blocks = 1000,
		.part = DFS_REPORT_PART_MAX, .rounds = 3, .replication = 3,
		.acked_fd = -1,
	};
	struct dfs_config	*cfg;
	struct nb_stats		 st = { 0 };
	char			*cause = NULL, *base = NULL;
	int			 ch, rc = 0;

	o.op_name = NULL;
	while ((ch = getopt_long_only(argc, argv, "c:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.conf = optarg;
			break;
		case 'o':
			o.op_name = optarg;
			break;
		case 't':
			o.threads = (int)nb_count("threads", optarg, 1024);
			break;
		case 'n':
			o.n = nb_count("n", optarg, UINT64_C(1) << 32);
			break;
		case 'p':
			o.per_dir = nb_count("files-per-dir", optarg,
			    UINT64_C(1) << 32);
			break;
		case 'd':
			o.base = optarg;
			break;
		case 'k':
			o.keep = true;
			break;
		case 'F':
			o.floor = false;
			break;
		case 's':
			o.sync = optarg;
			break;
		case 'D':
			o.datanodes = (int)nb_count("datanodes", optarg,
			    65536);
			break;
		case 'B':
			o.blocks = nb_count("blocks-per-node", optarg,
			    (uint64_t)DFS_REPORT_PART_MAX *
			    DFS_REPORT_PARTS_MAX);
			break;
		case 'K':
			o.part = (uint32_t)nb_count("report-part", optarg,
			    DFS_REPORT_PART_MAX);
			break;
		case 'U':
			o.unknown = true;
			break;
		case 'R':
			o.rounds = (int)nb_count("rounds", optarg, 1000000);
			break;
		case 'H':
			o.hold_s = (int)nb_count("hold", optarg, 86400);
			break;
		case 'r':
			o.replication = (int)nb_count("replication", optarg,
			    DFS_MAX_REPLICATION);
			break;
		case 'a':
			o.ca_dir = optarg;
			break;
		case 'A':
			if ((o.acked_fd = open(optarg, O_WRONLY | O_CREAT |
			    O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) < 0) {
				fprintf(stderr, "nn-bench: %s: %s\n", optarg,
				    strerror(errno));
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("nn-bench (npdfs) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || o.op_name == NULL) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof nb_op_names / sizeof *nb_op_names; i++)
		if (strcmp(o.op_name, nb_op_names[i]) == 0)
			o.op = (enum nb_op)i, rc = 1;
	if (rc != 1) {
		fprintf(stderr, "nn-bench: unknown -op '%s'\n", o.op_name);
		usage(stderr);
		return 2;
	}
	if (o.acked_fd >= 0 && o.op != NB_CREATE && o.op != NB_MKDIR) {
		fprintf(stderr, "nn-bench: -acked is for -op create or mkdir\n");
		return 2;
	}
	if (o.conf == NULL)
		o.conf = getenv("NPDFS_CONF");
	if (o.conf == NULL) {
		fprintf(stderr, "nn-bench: no configuration: give -c FILE or "
		    "set NPDFS_CONF (a cluster's client.conf)\n");
		return 2;
	}
	dfs_log_open("nn-bench", DFS_LOG_WARN, false);
	setvbuf(stdout, NULL, _IOLBF, 0);	/* progress, also into a file */
	cfg = dfs_config_create();
	if (dfs_config_load(cfg, o.conf, &cause) != 0) {
		fprintf(stderr, "nn-bench: %s\n", cause);
		return 1;
	}
	if (o.base == NULL) {
		xasprintf(&base, "/nn-bench/%ld", (long)getpid());
		o.base = base;
	}
	if (o.op == NB_BLOCKREPORT || o.op == NB_HEARTBEAT) {
		if ((rc = nb_sim_run(&o, cfg, &st, &cause)) != 0)
			fprintf(stderr, "nn-bench: %s\n", cause);
		nb_stats_free(&st);
	} else
		rc = nb_run_ns(&o, cfg);
	free(cause);
	free(base);
	dfs_config_free(cfg);
	return rc == 0 ? 0 : 1;
}
