/* cp-admin.c: dfs fsck and dfs report: the health of the cluster. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_i.h"
#include "cp_i.h"
#include "xmalloc.h"

static const char *
cp_block_status(uint8_t s)
{
	switch (s) {
	case DFS_BLK_HEALTHY:
		return "HEALTHY";
	case DFS_BLK_UNDER:
		return "UNDER-REPLICATED";
	case DFS_BLK_MISSING:
		return "MISSING";
	case DFS_BLK_CORRUPT:
		return "CORRUPT";
	case DFS_BLK_OVER:
		return "OVER-REPLICATED";
	}
	return "UNKNOWN";
}

struct fsck_args {
	const char	*path;
	uint64_t	 cursor;
	bool		 blocks;
	bool		 more;
	bool		 quiet;		/* count only: fsck --verify waiting */
	uint64_t	 files, nblocks, counts[5], building, verifying;
};

/* A replica's state in an fsck page (namenode/nn_i.h enum nn_rstate), as
 * fsck --blocks shows it after node@address. */
static const char *
cp_replica_flag(uint8_t rs)
{
	switch (rs) {
	case 0:
		return "";
	case 1:
		return "(corrupt)";
	case 4:
		return "(suspect)";
	case 5:
		return "(verifying)";
	}
	return "(stale)";
}

static void
build_fsck(struct dfs_wbuf *b, void *arg)
{
	struct fsck_args	*a = arg;

	dfs_put_str(b, a->path);
	dfs_put_u64(b, a->cursor);
	dfs_put_u32(b, 200);
}

/* Print one page of files as it is decoded. */
static int
parse_fsck(struct dfs_rbuf *r, void *arg)
{
	struct fsck_args	*a = arg;
	char			 path[DFS_MAX_PATH + 1], addr[256];
	uint32_t		 n = dfs_get_u32(r);

	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		uint64_t size;
		uint16_t repl;
		uint8_t state, worst = DFS_BLK_HEALTHY;
		uint32_t nb;

		dfs_get_strbuf(r, path, sizeof path);
		size = dfs_get_u64(r);
		repl = dfs_get_u16(r);
		state = dfs_get_u8(r);
		nb = dfs_get_u32(r);
		if (r->err != 0 || nb > dfs_rbuf_left(r) / 37)
			return -EBADMSG;
		char *lines = NULL;
		size_t linelen = 0;
		FILE *f = open_memstream(&lines, &linelen);
		for (uint32_t j = 0; j < nb && r->err == 0; j++) {
			uint64_t id = dfs_get_u64(r), gen = dfs_get_u64(r);
			uint64_t off = dfs_get_u64(r), len = dfs_get_u64(r);
			uint8_t st = dfs_get_u8(r);
			uint32_t nrep = dfs_get_u32(r);
			if (nrep > DFS_MAX_REPLICATION * 4)
				r->err = -EBADMSG;
			if (st > DFS_BLK_OVER)
				st = DFS_BLK_MISSING;
			a->nblocks++;
			a->counts[st]++;
			if (st != DFS_BLK_HEALTHY && st != DFS_BLK_OVER &&
			    (worst == DFS_BLK_HEALTHY || st > worst))
				worst = st;
			fprintf(f, "  block %llu gen %llu offset %llu len %llu "
			    "%s replicas %u:", (unsigned long long)id,
			    (unsigned long long)gen, (unsigned long long)off,
			    (unsigned long long)len, cp_block_status(st), nrep);
			for (uint32_t k = 0; k < nrep && r->err == 0; k++) {
				uint64_t node = dfs_get_u64(r);
				dfs_get_strbuf(r, addr, sizeof addr);
				uint8_t rs = dfs_get_u8(r);
				if (rs == 5)
					a->verifying++;
				fprintf(f, " %llu@%s%s", (unsigned long long)node,
				    addr, cp_replica_flag(rs));
			}
			fprintf(f, "\n");
		}
		fclose(f);
		a->files++;
		if (state != 0)
			a->building++;
		if (a->quiet) {
			free(lines);
			continue;
		}
		dfs_name_print(stdout, path);
		printf(": %s%s, %llu bytes, %u block(s), replication %u\n",
		    cp_block_status(worst), state != 0 ?
		    " (being written)" : "", (unsigned long long)size, nb, repl);
		if (a->blocks)
			fputs(lines, stdout);
		free(lines);
	}
	a->cursor = dfs_get_u64(r);
	a->more = dfs_get_u8(r) != 0;
	return dfs_rbuf_done(r);
}

static void	build_empty(struct dfs_wbuf *, void *);

/* Only the safe mode flag of a REPORT reply (its first field). */
static int
parse_safemode(struct dfs_rbuf *r, void *arg)
{
	uint8_t	*on = arg;

	*on = dfs_get_u8(r);
	return r->err;
}

/* One pass of FSCK pages over a.path (printing unless a->quiet). */
static int
cp_fsck_pass(struct cp_ctx *ctx, struct fsck_args *a, char **cause)
{
	int	rc;

	a->cursor = 0;
	a->files = a->nblocks = a->building = a->verifying = 0;
	memset(a->counts, 0, sizeof a->counts);
	do {
		rc = dfs_client_call(cp_client(ctx), DFS_NN_FSCK,
		    DFS_NN_FSCK_PAGE, build_fsck, a, parse_fsck, a, cause);
	} while (rc == 0 && a->more);
	return rc;
}

struct verify_args {
	const char	*path;
	uint64_t	 cursor;
	uint64_t	 asked;
	bool		 more;
};

static void
build_verify(struct dfs_wbuf *b, void *arg)
{
	struct verify_args	*v = arg;

	dfs_put_str(b, v->path);
	dfs_put_u64(b, v->cursor);
}

static int
parse_verify(struct dfs_rbuf *r, void *arg)
{
	struct verify_args	*v = arg;

	v->asked += dfs_get_u32(r);
	v->cursor = dfs_get_u64(r);
	v->more = dfs_get_u8(r) != 0;
	return dfs_rbuf_done(r);
}

/*
 * fsck --verify: ask the holders of every block under the path to verify
 * their replicas now, then wait (at most timeout_s) until no answer is
 * awaited.  The fsck that follows shows what they found.
 */
static int
cp_fsck_verify(struct cp_ctx *ctx, const char *path, int timeout_s,
    char **cause)
{
	struct verify_args	 v = { .path = path };
	struct fsck_args	 a = { .path = path, .quiet = true };
	struct timespec		 t0, t;
	int			 rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		rc = dfs_client_call(cp_client(ctx), DFS_NN_VERIFY,
		    DFS_NN_VERIFY_PAGE, build_verify, &v, parse_verify, &v,
		    cause);
	} while (rc == 0 && v.more);
	if (rc != 0)
		return rc;
	printf("verify: %llu replica%s asked to verify\n",
	    (unsigned long long)v.asked, v.asked == 1 ? "" : "s");
	for (;;) {
		if ((rc = cp_fsck_pass(ctx, &a, cause)) != 0)
			return rc;
		if (a.verifying == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= timeout_s) {
			printf("verify: %llu replica%s not verified after %d s "
			    "(shown as verifying)\n",
			    (unsigned long long)a.verifying, a.verifying == 1 ?
			    "" : "s", timeout_s);
			return -ETIMEDOUT;
		}
		usleep(250 * 1000);
	}
	printf("verify: every holder answered\n\n");
	return 0;
}

int
cp_cmd_fsck(struct cp_ctx *ctx, int argc, char **argv)
{
	struct fsck_args	 a = { .path = "/" };
	char			*cause = NULL, *end;
	bool			 verify = false;
	long			 timeout_s = 120;
	int			 rc, vrc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--blocks") == 0)
			a.blocks = true;
		else if (strcmp(argv[i], "--verify") == 0)
			verify = true;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout_s = strtol(argv[++i], &end, 10);
			if (*end != '\0' || end == argv[i] || timeout_s < 1 ||
			    timeout_s > 86400)
				return cp_usage("fsck");
		} else if (argv[i][0] == '-')
			return cp_usage("fsck");
		else
			a.path = argv[i];
	}
	if (verify && (vrc = cp_fsck_verify(ctx, a.path, (int)timeout_s,
	    &cause)) != 0 && vrc != -ETIMEDOUT)
		return cp_fail(ctx, "fsck --verify", vrc, cause);
	if ((rc = cp_fsck_pass(ctx, &a, &cause)) != 0)
		return cp_fail(ctx, "fsck", rc, cause);
	bool healthy = a.counts[DFS_BLK_UNDER] == 0 &&
	    a.counts[DFS_BLK_MISSING] == 0 && a.counts[DFS_BLK_CORRUPT] == 0 &&
	    vrc == 0;
	printf("\nfiles: %llu, blocks: %llu, healthy: %llu, under-replicated: "
	    "%llu, missing: %llu, corrupt: %llu, over-replicated: %llu, "
	    "being written: %llu\n", (unsigned long long)a.files,
	    (unsigned long long)a.nblocks,
	    (unsigned long long)a.counts[DFS_BLK_HEALTHY],
	    (unsigned long long)a.counts[DFS_BLK_UNDER],
	    (unsigned long long)a.counts[DFS_BLK_MISSING],
	    (unsigned long long)a.counts[DFS_BLK_CORRUPT],
	    (unsigned long long)a.counts[DFS_BLK_OVER],
	    (unsigned long long)a.building);
	/* Counts taken in safe mode may lack blocks not yet reported. */
	uint8_t safemode = 0;
	if (dfs_client_call(cp_client(ctx), DFS_NN_REPORT,
	    DFS_NN_REPORT_REPLY, build_empty, NULL, parse_safemode, &safemode,
	    &cause) != 0) {
		free(cause);
		cause = NULL;
	} else if (safemode)
		printf("safe mode: ON (the namenode is waiting for block "
		    "reports; see dfs report)\n");
	printf("status: %s\n", healthy ? "HEALTHY" : "UNHEALTHY");
	return healthy ? 0 : 1;
}

static void
build_empty(struct dfs_wbuf *b, void *arg)
{
}

static int
parse_report(struct dfs_rbuf *r, void *arg)
{
	char		 uuid[128], addr[256], sync[16];
	uint8_t		 safemode = dfs_get_u8(r);
	uint64_t	 blocks = dfs_get_u64(r), under = dfs_get_u64(r);
	uint64_t	 missing = dfs_get_u64(r), corrupt = dfs_get_u64(r);
	uint64_t	 pending = dfs_get_u64(r);
	uint32_t	 n = dfs_get_u32(r);
	uint64_t	 unknown = 0, syncs;
	unsigned	 live = 0;

	if (r->err != 0)
		return r->err;
	printf("safe mode: %s\nblocks: %llu, under-replicated: %llu, "
	    "missing: %llu, corrupt: %llu, pending replications: %llu\n",
	    safemode ? "ON" : "off", (unsigned long long)blocks,
	    (unsigned long long)under, (unsigned long long)missing,
	    (unsigned long long)corrupt, (unsigned long long)pending);
	/* "stored": what npdfs keeps there; capacity and used are the
	 * node's file system's, which other nodes and programs may share. */
	printf("%-4s %-22s %-5s %14s %14s %14s %8s %10s\n", "id", "address",
	    "state", "capacity", "used", "stored", "blocks", "heartbeat");
	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		uint64_t id = dfs_get_u64(r);
		dfs_get_strbuf(r, uuid, sizeof uuid);
		dfs_get_strbuf(r, addr, sizeof addr);
		uint8_t state = dfs_get_u8(r);
		uint64_t cap = dfs_get_u64(r), used = dfs_get_u64(r);
		uint64_t nb = dfs_get_u64(r);
		int64_t ago = dfs_get_i64(r);
		unknown += dfs_get_u64(r);
		uint64_t stored = dfs_get_u64(r);
		if (state == DFS_NODE_LIVE)
			live++;
		printf("%-4llu %-22s %-5s %14llu %14llu %14llu %8llu %8.1fs\n",
		    (unsigned long long)id, addr, state == DFS_NODE_LIVE ?
		    "live" : "dead", (unsigned long long)cap,
		    (unsigned long long)used, (unsigned long long)stored,
		    (unsigned long long)nb, ago / 1000.0);
	}
	printf("data nodes: %u live, %u dead\n", live, n - live);
	if (unknown > 0)
		printf("unknown replicas: %llu, kept on their nodes (the "
		    "namespace does not know their blocks; see the namenode "
		    "log)\n", (unsigned long long)unknown);
	dfs_get_strbuf(r, sync, sizeof sync);
	syncs = dfs_get_u64(r);
	if (r->err == 0)
		printf("namespace synced to disk: %llu times (namenode.sync = "
		    "%s)\n", (unsigned long long)syncs, sync);
	return dfs_rbuf_done(r);
}

int
cp_cmd_report(struct cp_ctx *ctx, int argc, char **argv)
{
	char	*cause = NULL;
	int	 rc;

	if (argc != 1)
		return cp_usage("report");
	rc = dfs_client_call(cp_client(ctx), DFS_NN_REPORT,
	    DFS_NN_REPORT_REPLY, build_empty, NULL, parse_report, NULL,
	    &cause);
	return rc == 0 ? 0 : cp_fail(ctx, "report", rc, cause);
}

/* whoami: whom the namenode takes this client for (WHOAMI). */
int
cp_cmd_whoami(struct cp_ctx *ctx, int argc, char **argv)
{
	struct dfs_whoami	 w;
	char			*cause = NULL;
	int			 rc;

	(void)argv;
	if (argc != 1)
		return cp_usage("whoami");
	if ((rc = dfs_client_whoami(cp_client(ctx), &w, &cause)) != 0)
		return cp_fail(ctx, "whoami", rc, cause);
	printf("name: %s\nrole: %s\naddress: %s\nuid: %u\ngid: %u\ngroups:",
	    w.name[0] != '\0' ? w.name : "-", w.role, w.addr, w.cred.uid,
	    w.cred.gid);
	for (uint32_t i = 0; i < w.cred.ngroups; i++)
		printf("%s%u", i == 0 ? " " : ",", w.cred.groups[i]);
	printf("\nsuperuser: %s\n", w.super ? "yes" : "no");
	return 0;
}
