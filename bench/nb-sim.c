/*
 * nb-sim.c: many simulated data nodes in one process, for nn-bench's
 * -op blockreport and -op heartbeat.
 *
 * Each simulated node is a data node as far as the namenode can tell: it
 * holds its own data node certificate from the cluster CA (issued once as
 * simdn-N into the CA's issued/ directory, then reused), so the
 * namenode's per-identity connection cap counts each on its own; and it
 * connects from its own loopback address (127.a.b.c, all of 127/8 being
 * the loopback device), so the per-address caps see a thousand hosts as
 * a thousand, not one.  It speaks the data node's messages (nb-node.c)
 * through the same encoders as datanode/dn-nn.c (lib/proto.c): REGISTER,
 * BLOCK_REPORT in parts of -report-part replicas, HEARTBEAT, RECEIVED.
 *
 * What the reports hold.  By default the replicas are real to the
 * namenode: files of the run (BASE/blocks/fN) are created through it,
 * ADD_BLOCK places each block on simulated nodes only (the real ones are
 * excluded), its nodes say RECEIVED and the file is completed, as a
 * real write goes; each node then reports what was placed on it once
 * (untimed), and the timed round is the steady state, every replica
 * known and of a complete file, as a data node's periodic report is.
 * With -unknown, the replicas carry block ids the namenode never handed
 * out, which it keeps and lists as unknown (nn-blockmap.c), logging each:
 * that measures the processing of unknown replicas instead.  The run
 * says which.  At the end the run's files are deleted, unless -keep.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "log.h"
#include "net.h"
#include "pki.h"
#include "tls.h"
#include "token.h"
#include "xmalloc.h"

#include "nb_i.h"

/* The live real data nodes, which ADD_BLOCK is told to avoid (the first
 * NB_MAX_EXCLUDE of them). */
static int
nb_sim_real_nodes(struct nb_sim *sim, struct dfs_client *cl, char **cause)
{
	struct dfs_conn	*c;
	struct dfs_rbuf	 r;
	char		 s[256];
	uint32_t	 n;
	int		 rc;

	if ((c = dfs_client_nn(cl, cause)) == NULL)
		return -ENOTCONN;
	dfs_conn_begin(c, DFS_NN_REPORT);
	if ((rc = dfs_conn_call(c, DFS_NN_REPORT_REPLY, &r, cause)) != 0)
		return rc;
	(void)dfs_get_u8(&r);
	for (int i = 0; i < 5; i++)
		(void)dfs_get_u64(&r);
	n = dfs_get_u32(&r);
	for (uint32_t i = 0; i < n && r.err == 0; i++) {
		dfs_node_id id = dfs_get_u64(&r);
		uint8_t state;

		dfs_get_strbuf(&r, s, sizeof s);
		dfs_get_strbuf(&r, s, sizeof s);
		state = dfs_get_u8(&r);
		for (int k = 0; k < 6; k++)	/* ... dfs_used */
			(void)dfs_get_u64(&r);
		if (r.err == 0 && state == DFS_NODE_LIVE &&
		    sim->nreal < NB_MAX_EXCLUDE)
			sim->real[sim->nreal++] = id;
	}
	if (r.err != 0) {
		xasprintf(cause, "malformed REPORT reply");
		return -EPROTO;
	}
	return 0;
}

static int	nb_sim_complete(struct dfs_client *, const char *, dfs_ino,
		    dfs_block_id, uint64_t, char **);

/* Each node of a block tells the namenode it is stored (RECEIVED), as
 * data nodes do when a write ends: COMPLETE wants a replica of every
 * block, and placement counts a block as on its way to a node until
 * then. */
static int
nb_sim_received(struct nb_sim *sim, const struct dfs_lblock *lb,
    char **cause)
{
	struct nb_node	*nd;
	struct dfs_rbuf	 r;
	uint32_t	 told = 0;
	int		 rc = 0;

	for (uint32_t i = 0; i < lb->nlocs && rc == 0; i++) {
		if ((nd = nb_node_find(sim, lb->locs[i].node)) == NULL)
			continue;
		pthread_mutex_lock(&nd->use);
		dfs_proto_put_received(dfs_conn_begin(nd->c, DFS_DN_RECEIVED),
		    nd->id, lb->block, lb->gen, NB_BLOCK_LEN);
		rc = dfs_conn_call(nd->c, DFS_MSG_OK, &r, cause);
		pthread_mutex_unlock(&nd->use);
		told++;
	}
	if (rc == 0 && told == 0) {
		xasprintf(cause, "block %" PRIu64 " was placed on no "
		    "simulated node", lb->block);
		rc = -ENXIO;
	}
	return rc;
}

/* File f of the run: CREATE, then its blocks by ADD_BLOCK, each placed
 * by the namenode among the simulated nodes and remembered there, then
 * RECEIVED of each block from its nodes, and COMPLETE. */
static int
nb_sim_file(struct nb_sim *sim, struct dfs_client *cl, const char *client,
    uint64_t f, uint64_t nblocks, dfs_ino *ino, dfs_block_id *last,
    char **cause)
{
	const struct nb_opts	*o = sim->o;
	struct dfs_lblock	 lb;
	struct dfs_attr		 a;
	struct dfs_conn		*c;
	struct dfs_rbuf		 r;
	struct dfs_wbuf		*b;
	struct nb_node		*nd;
	char			 path[512];
	int			 rc;

	if ((c = dfs_client_nn(cl, cause)) == NULL)
		return -ENOTCONN;
	snprintf(path, sizeof path, "%s/blocks/f%" PRIu64, o->base, f);
	b = dfs_conn_begin(c, DFS_NN_CREATE);
	dfs_put_str(b, path);
	dfs_put_u32(b, 0644);
	dfs_put_u32(b, getuid());
	dfs_put_u32(b, getgid());
	dfs_put_u16(b, (uint16_t)o->replication);
	dfs_put_u64(b, 0);
	dfs_put_u8(b, 0);
	dfs_put_str(b, client);
	if ((rc = dfs_conn_call(c, DFS_NN_ATTR, &r, cause)) != 0)
		return rc;
	dfs_proto_get_attr(&r, &a);
	if (dfs_rbuf_done(&r) != 0) {
		xasprintf(cause, "malformed ATTR reply");
		return -EPROTO;
	}
	*ino = a.ino;
	*last = 0;
	for (uint64_t k = 0; k < nblocks; k++) {
		b = dfs_conn_begin(c, DFS_NN_ADD_BLOCK);
		dfs_put_u64(b, a.ino);
		dfs_put_str(b, client);
		dfs_put_u64(b, *last);
		dfs_put_u64(b, *last != 0 ? NB_BLOCK_LEN : 0);
		dfs_put_u64(b, k * NB_BLOCK_LEN);
		dfs_put_u32(b, sim->nreal);
		for (uint32_t i = 0; i < sim->nreal; i++)
			dfs_put_u64(b, sim->real[i]);
		if ((rc = dfs_conn_call(c, DFS_NN_LBLOCK, &r, cause)) != 0)
			return rc;
		dfs_proto_get_lblock(&r, &lb);
		if (dfs_rbuf_done(&r) != 0) {
			xasprintf(cause, "malformed LBLOCK reply");
			return -EPROTO;
		}
		for (uint32_t i = 0; i < lb.nlocs; i++)
			if ((nd = nb_node_find(sim, lb.locs[i].node)) != NULL)
				nb_node_hold(nd, lb.block, lb.gen);
		*last = lb.block;
		if ((rc = nb_sim_received(sim, &lb, cause)) != 0)
			return rc;
	}
	return nb_sim_complete(cl, client, *ino, *last, nblocks, cause);
}

/* COMPLETE file ino, whose last block its nodes have reported. */
static int
nb_sim_complete(struct dfs_client *cl, const char *client, dfs_ino ino,
    dfs_block_id last, uint64_t nblocks, char **cause)
{
	struct dfs_conn	*c;
	struct dfs_rbuf	 r;
	struct dfs_wbuf	*b;

	if ((c = dfs_client_nn(cl, cause)) == NULL)
		return -ENOTCONN;
	b = dfs_conn_begin(c, DFS_NN_COMPLETE);
	dfs_put_u64(b, ino);
	dfs_put_str(b, client);
	dfs_put_u64(b, last);
	dfs_put_u64(b, NB_BLOCK_LEN);
	dfs_put_u64(b, nblocks * NB_BLOCK_LEN);
	dfs_put_blob(b, NULL, 0);
	return dfs_conn_call(c, DFS_MSG_OK, &r, cause);
}

struct nb_file {
	dfs_ino		ino;
	dfs_block_id	last;
	uint64_t	nblocks;
};

struct nb_simrun {
	struct nb_sim	*sim;
	struct nb_file	*files;
	uint64_t	 nfiles;
	uint64_t	 blocks;	/* to create in all */
	struct dfs_client **clients;	/* one per worker */
};

/* Worker w's share of one phase. */
static int
nb_sim_work(struct nb_simrun *run, struct nb_worker *w, char **cause)
{
	struct nb_sim		*sim = run->sim;
	const struct nb_opts	*o = sim->o;
	struct dfs_client	*cl = run->clients[w->id];
	char			 client[64];
	int			 T = o->threads, rc = 0;
	int64_t			 t0;

	snprintf(client, sizeof client, "nn-bench-%ld-%d", (long)getpid(),
	    w->id);
	switch (w->phase) {
	case NB_PH_CONNECT:
		for (int i = w->id; i < sim->nnodes && rc == 0; i += T) {
			struct nb_node *nd = &sim->nodes[i];

			pthread_mutex_lock(&nd->use);
			if ((rc = nb_node_identity(sim, sim->ca, sim->ca_dir, nd,
			    cause)) == 0 &&
			    (rc = nb_node_connect(sim, nd, cause)) == 0)
				rc = nb_node_register(sim, nd, cause);
			pthread_mutex_unlock(&nd->use);
		}
		return rc;
	case NB_PH_FILES:
		for (uint64_t f = (uint64_t)w->id; f < run->nfiles && rc == 0;
		    f += (uint64_t)T) {
			struct nb_file *fl = &run->files[f];

			fl->nblocks = run->blocks - f * NB_BLOCKS_PER_FILE;
			if (fl->nblocks > NB_BLOCKS_PER_FILE)
				fl->nblocks = NB_BLOCKS_PER_FILE;
			rc = nb_sim_file(sim, cl, client, f, fl->nblocks,
			    &fl->ino, &fl->last, cause);
		}
		return rc;
	case NB_PH_REPORT:
		for (int i = w->id; i < sim->nnodes && rc == 0; i += T) {
			pthread_mutex_lock(&sim->nodes[i].use);
			t0 = nb_now_ns();
			rc = nb_node_report(sim, &sim->nodes[i], cause);
			if (rc == -ENOENT)	/* declared dead meanwhile */
				rc = nb_node_again(sim, &sim->nodes[i], cause);
			pthread_mutex_unlock(&sim->nodes[i].use);
			nb_stats_add(&w->stats, (uint64_t)(nb_now_ns() - t0));
			w->stats.units += sim->nodes[i].n;
		}
		return rc;
	case NB_PH_HEARTBEAT:
		for (int k = 0; k < o->rounds && rc == 0; k++)
			for (int i = w->id; i < sim->nnodes && rc == 0;
			    i += T) {
				pthread_mutex_lock(&sim->nodes[i].use);
				t0 = nb_now_ns();
				rc = nb_node_heartbeat(sim, &sim->nodes[i],
				    cause);
				pthread_mutex_unlock(&sim->nodes[i].use);
				nb_stats_add(&w->stats, (uint64_t)(nb_now_ns() -
				    t0));
				w->stats.units++;
			}
		return rc;
	}
	return -EINVAL;
}

struct nb_arg {
	struct nb_simrun	*run;
	struct nb_worker	*w;
};

/* A worker thread of a phase. */
static void *
nb_sim_worker(void *arg)
{
	struct nb_arg	*a = arg;

	a->w->rc = nb_sim_work(a->run, a->w, &a->w->cause);
	return NULL;
}

/* Run one phase on every worker; its latencies into st (may be NULL). */
static int
nb_sim_phase(struct nb_simrun *run, int phase, struct nb_stats *st,
    char **cause)
{
	const struct nb_opts	*o = run->sim->o;
	struct nb_worker	*w = xcalloc((size_t)o->threads, sizeof *w);
	struct nb_arg		*a = xcalloc((size_t)o->threads, sizeof *a);
	int64_t			 t0 = nb_now_ns();
	int			 rc = 0;

	for (int i = 0; i < o->threads; i++) {
		w[i].sim = run->sim;
		w[i].id = i;
		w[i].phase = phase;
		a[i].run = run;
		a[i].w = &w[i];
		if (pthread_create(&w[i].tid, NULL, nb_sim_worker, &a[i]) != 0)
			fatalx("cannot start a thread");
	}
	for (int i = 0; i < o->threads; i++)
		pthread_join(w[i].tid, NULL);
	if (st != NULL)
		st->wall_ns = nb_now_ns() - t0;
	for (int i = 0; i < o->threads; i++) {
		if (w[i].rc != 0 && rc == 0) {
			rc = w[i].rc;
			*cause = w[i].cause;
			w[i].cause = NULL;
		}
		if (st != NULL)
			nb_stats_merge(st, &w[i].stats);
		nb_stats_free(&w[i].stats);
		free(w[i].cause);
	}
	free(w);
	free(a);
	return rc;
}

/*
 * The pacer thread: a heartbeat for every node that has not been heard
 * for an interval, as its own link thread would send it, so that nodes
 * stay live however long a phase of the run takes.  A node busy with a
 * worker's call is skipped until the next pass.
 */
static void *
nb_sim_pacer(void *arg)
{
	struct nb_worker *w = arg;
	struct nb_sim	*sim = w->sim;
	char		*cause = NULL;
	uint64_t	 beats = 0;
	bool		 stop = false;

	while (!stop) {
		for (int i = w->id; i < sim->nnodes; i += sim->o->threads) {
			struct nb_node *nd = &sim->nodes[i];

			if (pthread_mutex_trylock(&nd->use) != 0)
				continue;	/* a worker's call */
			if (nd->c != NULL && dfs_now_ms() - nd->last_ms >=
			    (int64_t)sim->heartbeat_ms) {
				if (nb_node_heartbeat(sim, nd, &cause) == 0)
					beats++;
				else if (cause != NULL) {
					pthread_mutex_lock(&sim->lock);
					if (sim->pacer_cause == NULL) {
						sim->pacer_cause = cause;
						cause = NULL;
					}
					pthread_mutex_unlock(&sim->lock);
					free(cause);
					cause = NULL;
				}
			}
			pthread_mutex_unlock(&nd->use);
		}
		usleep(20 * 1000);
		pthread_mutex_lock(&sim->lock);
		stop = sim->stop;
		sim->pacer_beats += beats;
		pthread_mutex_unlock(&sim->lock);
		beats = 0;
	}
	return NULL;
}

/* Stop the pacer; say whether it met an error. */
static void
nb_sim_pacer_stop(struct nb_sim *sim)
{
	if (!sim->pacing)
		return;
	pthread_mutex_lock(&sim->lock);
	sim->stop = true;
	pthread_mutex_unlock(&sim->lock);
	for (int i = 0; i < sim->o->threads; i++)
		pthread_join(sim->pacers[i].tid, NULL);
	free(sim->pacers);
	sim->pacing = false;
	printf("%-24s the pacer sent %" PRIu64 " heartbeats at the namenode's "
	    "interval (%u ms)%s%s\n", "", sim->pacer_beats, sim->heartbeat_ms,
	    sim->pacer_cause != NULL ? "; first error: " : "",
	    sim->pacer_cause != NULL ? sim->pacer_cause : "");
	free(sim->pacer_cause);
	sim->pacer_cause = NULL;
}

/* Certificates, connections and registrations, issued and made by the
 * workers; then the pacer keeps every node live. */
static int
nb_sim_start(struct nb_simrun *run, char **cause)
{
	struct nb_sim		*sim = run->sim;
	const struct nb_opts	*o = sim->o;
	struct nb_stats		 st = { 0 };
	char			*tmp = NULL, *dir;
	int			 rc;

	if (o->ca_dir != NULL)
		dir = xstrdup(o->ca_dir);
	else {
		tmp = xstrdup(dfs_config_str(sim->cfg, "tls.ca"));
		dir = xstrdup(dirname(tmp));
	}
	if ((rc = dfs_pki_ca_open(dir, &sim->ca, cause)) != 0)
		goto out;
	sim->ca_dir = dir;
	for (int i = 0; i < sim->nnodes; i++) {
		struct nb_node *nd = &sim->nodes[i];

		nd->idx = i;
		nb_node_src(i, nd->src, sizeof nd->src);
		snprintf(nd->addr, sizeof nd->addr, "%s:1", nd->src);
		snprintf(nd->uuid, sizeof nd->uuid, "simdn-%d", i);
	}
	sim->heartbeat_ms = 1000;	/* until REGISTERED says */
	sim->pacers = xcalloc((size_t)o->threads, sizeof *sim->pacers);
	for (int i = 0; i < o->threads; i++) {
		sim->pacers[i].sim = sim;
		sim->pacers[i].id = i;
		if (pthread_create(&sim->pacers[i].tid, NULL, nb_sim_pacer,
		    &sim->pacers[i]) != 0)
			fatalx("cannot start a thread");
	}
	sim->pacing = true;
	rc = nb_sim_phase(run, NB_PH_CONNECT, &st, cause);
	if (rc != 0)
		goto out;
	printf("%-24s %d simulated data nodes connected and registered in "
	    "%.3f s (certificates simdn-N from %s, issued where missing)\n",
	    "setup", sim->nnodes, (double)st.wall_ns / 1e9, dir);
out:
	nb_stats_free(&st);
	dfs_pki_ca_free(sim->ca);
	sim->ca = NULL;
	sim->ca_dir = NULL;
	free(tmp);
	free(dir);
	return rc;
}

/* The replicas of the run: made known through the namenode (see the top
 * of the file), or ids it never handed out with -unknown. */
static int
nb_sim_blocks(struct nb_simrun *run, char **cause)
{
	struct nb_sim		*sim = run->sim;
	const struct nb_opts	*o = sim->o;
	struct nb_stats		 st = { 0 };
	char			 path[512];
	uint64_t		 total = 0;
	int			 rc;

	if (o->unknown) {
		for (int i = 0; i < sim->nnodes; i++)
			for (uint64_t k = 0; k < o->blocks; k++)
				nb_node_hold(&sim->nodes[i], (UINT64_C(1) << 62)
				    + (uint64_t)i * o->blocks + k, 1);
		printf("%-24s replicas: block ids the namenode never handed "
		    "out (unknown: kept and listed, each logged)\n", "setup");
		return 0;
	}
	snprintf(path, sizeof path, "%s/blocks", o->base);
	if ((rc = dfs_client_mkdir(run->clients[0], path, 0755, true,
	    cause)) != 0)
		return rc;
	run->blocks = ((uint64_t)sim->nnodes * o->blocks +
	    (uint64_t)o->replication - 1) / (uint64_t)o->replication;
	run->nfiles = (run->blocks + NB_BLOCKS_PER_FILE - 1) /
	    NB_BLOCKS_PER_FILE;
	run->files = xcalloc(run->nfiles, sizeof *run->files);
	if ((rc = nb_sim_phase(run, NB_PH_FILES, &st, cause)) != 0)
		goto out;
	printf("%-24s %" PRIu64 " blocks in %" PRIu64 " files created "
	    "(CREATE, ADD_BLOCK, COMPLETE) in %.3f s: %.0f blocks/s\n",
	    "setup",
	    run->blocks, run->nfiles, (double)st.wall_ns / 1e9,
	    (double)run->blocks / ((double)st.wall_ns / 1e9));
	st.wall_ns = 0;
	if ((rc = nb_sim_phase(run, NB_PH_REPORT, &st, cause)) != 0)
		goto out;
	printf("%-24s first reports in %.3f s\n", "setup",
	    (double)st.wall_ns / 1e9);
	for (int i = 0; i < sim->nnodes; i++)
		total += sim->nodes[i].n;
	printf("%-24s replicas: %" PRIu64 " placed by the namenode on the "
	    "simulated nodes, of complete files (known)\n", "setup", total);
out:
	nb_stats_free(&st);
	return rc;
}

/* The measured phase, then a hold, the floor and the clean-up. */
static int
nb_sim_measure(struct nb_simrun *run, struct nb_stats *st, char **cause)
{
	struct nb_sim		*sim = run->sim;
	const struct nb_opts	*o = sim->o;
	struct nb_stats		 floor = { 0 };
	char			 label[64];
	int			 rc;

	snprintf(label, sizeof label, "%s x%d (namenode)", o->op_name,
	    o->threads);
	if (o->op == NB_BLOCKREPORT) {
		if ((rc = nb_sim_phase(run, NB_PH_REPORT, st, cause)) != 0)
			return rc;
		nb_stats_print(label, "blocks", st);
		printf("%-24s latency above: one node's whole report (%d "
		    "nodes, parts of %u)\n", "", sim->nnodes, o->part);
	} else {
		if (o->unknown || o->blocks == 0) {
			if ((rc = nb_sim_phase(run, NB_PH_REPORT, NULL,
			    cause)) != 0)
				return rc;
		}
		if ((rc = nb_sim_phase(run, NB_PH_HEARTBEAT, st, cause)) != 0)
			return rc;
		nb_stats_print(label, "heartbeats", st);
		printf("%-24s commands received %" PRIu64 ", registrations "
		    "asked again %" PRIu64 "\n", "", sim->commands,
		    sim->reregister);
	}
	if (o->hold_s > 0) {
		printf("%-24s holding %d s\n", "", o->hold_s);
		fflush(stdout);
		sleep((unsigned)o->hold_s);
	}
	if (o->floor) {
		if ((rc = nb_floor_run(o, &floor, cause)) != 0)
			return rc;
		snprintf(label, sizeof label, "%s (sqlite floor)", o->op_name);
		nb_stats_print(label, o->op == NB_BLOCKREPORT ? "blocks" :
		    "heartbeats", &floor);
		nb_stats_free(&floor);
	}
	return 0;
}

/* Simulated data nodes: start, set up, measure, clean up. */
int
nb_sim_run(const struct nb_opts *o, struct dfs_config *cfg,
    struct nb_stats *st, char **cause)
{
	struct nb_sim		 sim = { .o = o, .cfg = cfg };
	struct nb_simrun	 run = { .sim = &sim };
	char			*why = NULL;
	int			 rc = 0;

	sim.nn_addr = dfs_config_str(cfg, "namenode.address");
	sim.nnodes = o->datanodes;
	sim.nodes = xcalloc((size_t)sim.nnodes, sizeof *sim.nodes);
	pthread_mutex_init(&sim.lock, NULL);
	for (int i = 0; i < sim.nnodes; i++) {
		pthread_mutex_init(&sim.nodes[i].lock, NULL);
		pthread_mutex_init(&sim.nodes[i].use, NULL);
	}
	run.clients = xcalloc((size_t)o->threads, sizeof *run.clients);
	for (int i = 0; i < o->threads && rc == 0; i++)
		rc = dfs_client_from_config(cfg, &run.clients[i], cause);
	if (rc == 0 && !o->unknown && o->blocks > 0)
		rc = nb_sim_real_nodes(&sim, run.clients[0], cause);
	if (rc == 0)
		rc = nb_sim_start(&run, cause);
	if (rc == 0 && o->blocks > 0)
		rc = nb_sim_blocks(&run, cause);
	if (rc == 0)
		rc = nb_sim_measure(&run, st, cause);
	/* File by file first: one recursive delete of all their blocks
	 * would hold the namenode's lock for as long as it takes. */
	for (uint64_t f = 0; !o->keep && f < run.nfiles; f++) {
		char path[512];

		snprintf(path, sizeof path, "%s/blocks/f%" PRIu64, o->base, f);
		if (dfs_client_delete(run.clients[0], path, false, &why) != 0)
			break;
	}
	free(why);
	why = NULL;
	if (!o->keep && run.clients[0] != NULL && dfs_client_delete(
	    run.clients[0], o->base, true, &why) != 0 && why != NULL &&
	    o->blocks > 0 && !o->unknown)
		fprintf(stderr, "nn-bench: cannot remove %s: %s\n", o->base,
		    why);
	free(why);
	nb_sim_pacer_stop(&sim);
	for (int i = 0; i < sim.nnodes; i++) {
		pthread_mutex_destroy(&sim.nodes[i].use);
		dfs_conn_free(sim.nodes[i].c);
		dfs_tls_free(sim.nodes[i].tls);
		free(sim.nodes[i].v);
		pthread_mutex_destroy(&sim.nodes[i].lock);
	}
	for (int i = 0; i < o->threads; i++)
		dfs_client_free(run.clients[i]);
	free(run.clients);
	free(run.files);
	free(sim.nodes);
	pthread_mutex_destroy(&sim.lock);
	return rc;
}
