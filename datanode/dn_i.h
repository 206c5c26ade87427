/*
 * dn_i.h: the data node's internal interfaces.
 *
 * The daemon is these parts around one struct dn:
 *   dn-store.c      the data directory and the block table in memory;
 *   dn-ident.c      the node's identity files (node.uuid, cluster.id);
 *   dn-blkfile.c    one replica's files: block bytes and checksum sidecar,
 *                   written durably, read back verified;
 *   dn-server.c     the listener, one thread per connection, the table
 *                   of requests and their one dispatch, READ;
 *   dn-write.c      WRITE: verify, forward down the pipeline, store, ack;
 *   dn-nn.c         the link to the namenode: registration, heartbeats,
 *                   block reports, notifications, commands;
 *   dn-replicate.c  REPLICATE commands: push a local block to other nodes;
 *   dn-reduce.c     REDUCE: sum a block's elements in place, verified;
 *   dn-scan.c       the block scanner: every replica re-verified in the
 *                   background, bad ones reported;
 *   dn-local.c      the Unix socket that hands local clients a replica's
 *                   files for short-circuit reads (dn_local.h);
 *   dn-patch.c      PATCH: a finalized replica changed in place under a
 *                   new generation, through a journal; the per-block
 *                   guard that keeps readers out meanwhile; tmp/ at
 *                   start-up.
 * main.c parses options and starts them in that order.
 */
#ifndef DN_I_H
#define DN_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "clock.h"
#include "net.h"
#include "proto.h"
#include "tls.h"
#include "token.h"
#include "uuid.h"
#include "wire.h"

#define DN_PROG			"dfs-datanode"
/* A block longer than this is refused (cluster.block_size is <= 2 GiB). */
#define DN_MAX_BLOCK_LEN	(UINT64_C(4) << 30)
/* Connections served at once; more are refused with EBUSY. */
#define DN_MAX_CONNS		1024
/* How long a connection may sit idle between requests or packets. */
#define DN_IDLE_MS		(300 * 1000)
/* How long an interrupted write's temp files wait for a RESUME. */
#define DN_PARK_MS		(120 * 1000)
/* Packets of one write between receipt and their ack going upstream. */
#define DN_WINDOW		64
/* REPLICATE commands running at once; more wait in a queue. */
#define DN_MAX_REPLICATIONS	4
/* Free space needed to take a block of up to b bytes: its data, its
 * checksums, file system overhead and some slack (as the namenode's
 * placement reckons it). */
#define DN_BLOCK_ROOM(b)	((b) + (b) / 64 + 4096 + 64 * 1024)
/* The meta sidecar's fixed header. */
#define DN_META_MAGIC		"NPDM"
#define DN_META_VERSION		1
#define DN_META_HDR_LEN		24

/* What the block table knows about a finalized replica. */
struct dn_block {
	dfs_block_id	id;
	uint64_t	gen;
	uint64_t	len;
	uint32_t	chunk_size;
	uint8_t		flags;		/* DFS_REPORT_CORRUPT: its files do
					   not check; never served */
};

struct dn_store;
struct dn_blkw;
struct dn_rfile;
struct dn_nn;
struct dn_server;
struct dn_scan;
struct dn_local;
struct ucred;

/* The daemon.  Set up by main.c before any thread starts, then read-only
 * except for the atomic counters. */
struct dn {
	const struct dfs_config	*cfg;		/* borrowed */
	struct dfs_tls		*tls;		/* every connection's */
	struct dfs_token_keys	 keys;
	struct dn_store		*store;
	struct dn_nn		*nn;
	struct dn_server	*server;
	struct dn_scan		*scan;
	struct dn_local		*local;		/* dn-local.c, or NULL */
	struct dfs_sockpool	*pool;		/* pipeline connections kept
						   between blocks */
	char			*listen_addr;	/* as bound, host:port */
	char			*advertise;	/* given to the namenode */
	int			 timeout_ms;	/* client.timeout */
	atomic_int		 xfers;		/* reads, writes, copies */
	atomic_bool		 stopping;
};

/* dn-store.c: the data directory and the block table */
int	dn_store_open(const char *dir, struct dn_store **, char **cause);
void	dn_store_free(struct dn_store *);
const char *dn_store_uuid(const struct dn_store *);
const char *dn_store_dir(const struct dn_store *);
const char *dn_store_cluster(struct dn_store *);
int	dn_store_join(struct dn_store *, const char *id, char **cause);
int	dn_store_find(struct dn_store *, dfs_block_id, struct dn_block *);
struct dn_block *dn_store_list(struct dn_store *, size_t *np);
int	dn_store_delete(struct dn_store *, dfs_block_id, uint64_t gen,
	    char **cause);
uint64_t dn_store_bytes(struct dn_store *);
void	dn_store_usage(struct dn_store *, uint64_t *capacity,
	    uint64_t *used);
int	dn_store_room(struct dn_store *, uint64_t need, char **cause);
int	dn_store_create(struct dn_store *, dfs_block_id, uint64_t gen,
	    uint32_t chunk_size, struct dn_blkw **, char **cause);
int	dn_store_commit(struct dn_store *, struct dn_blkw *, char **cause);
void	dn_store_release(struct dn_store *, struct dn_blkw *);
void	dn_store_park(struct dn_store *, struct dn_blkw *);
int	dn_store_resume(struct dn_store *, dfs_block_id, uint64_t old_gen,
	    uint64_t new_gen, uint64_t offset, uint32_t chunk_size,
	    int wait_ms, struct dn_blkw **, char **cause);
void	dn_store_sweep(struct dn_store *);
int	dn_store_open_replica(struct dn_store *, dfs_block_id, uint64_t gen,
	    struct dn_rfile **, char **cause);
int	dn_store_patch_find(struct dn_store *, dfs_block_id, uint64_t gen,
	    struct dn_block *, char **cause);
void	dn_store_patched(struct dn_store *, const struct dn_block *old,
	    const struct dn_block *now);

/* dn-ident.c: node.uuid and cluster.id; and an fsync of a directory. */
int	dn_ident_load(const char *dir, char uuid[DFS_UUID_LEN + 1],
	    char cluster[DFS_MAX_CLUSTER_ID + 1], char **cause);
int	dn_ident_join(const char *dir, const char *id, char **cause);

/* dn-blkfile.c: the two files of one replica */
bool	dn_blkfile_chunk_ok(uint32_t chunk_size);
char	*dn_blkfile_path(const char *dir, dfs_block_id, uint64_t gen,
	    bool meta);
void	dn_blkfile_unlink(const char *dir, dfs_block_id, uint64_t gen);
int	dn_blkfile_pwrite(int fd, const void *, size_t len, uint64_t off);
int	dn_blkfile_pread(int fd, void *, size_t len, uint64_t off);
void	dn_blkfile_hdr_encode(uint8_t *, uint32_t chunk, uint64_t len);
bool	dn_blkfile_parse_name(const char *name, dfs_block_id *,
	    uint64_t *gen, bool *meta);
const char *dn_blkfile_check(const char *dir, dfs_block_id, uint64_t gen,
	    struct dn_block *);
int	dn_blkw_create(const char *tmpdir, const char *where,
	    const struct dn_block *, uint64_t seq, struct dn_blkw **,
	    char **cause);
int	dn_blkw_append(struct dn_blkw *, const void *data, size_t len,
	    const uint8_t *crcs_le, char **cause);
int	dn_blkw_resume(struct dn_blkw *, uint64_t gen, uint64_t offset,
	    char **cause);
void	dn_blkw_direct(struct dn_blkw *);
const struct dn_block *dn_blkw_block(const struct dn_blkw *);
int	dn_blkw_finish(struct dn_blkw *, const char *curdir, int cur_fd,
	    char **cause);
void	dn_blkw_free(struct dn_blkw *);
int	dn_rfile_open(const char *curdir, const struct dn_block *,
	    struct dn_rfile **, char **cause);
const struct dn_block *dn_rfile_block(const struct dn_rfile *);
int	dn_rfile_read(struct dn_rfile *, uint64_t off, size_t len,
	    void *data, uint8_t *crcs_le, char **cause);
void	dn_rfile_guard(struct dn_rfile *, uint64_t epoch);
void	dn_rfile_prefetch(struct dn_rfile *, uint64_t off, uint64_t len);
void	dn_rfile_free(struct dn_rfile *);

/*
 * One request on a data node connection, as its handler in dn-server.c's
 * table sees it.  A handler either answers (its reply, or its stream of
 * DATA frames or acks) and returns 0, or returns a negative errno with a
 * cause for the user, and dn-server.c sends the one ERROR.  The flags say
 * what becomes of the connection after that.
 */
struct dn_req {
	struct dn		*dn;
	struct dfs_sock		*s;	/* the peer's connection */
	const char		*peer;	/* "ip:port", for logs */
	const struct ucred	*cred;	/* the local socket's peer, from
					   SO_PEERCRED; NULL on TCP */
	const struct dfs_frame_hdr *h;
	const uint8_t		*pl;	/* the payload, h->len bytes */
	struct dfs_wbuf		*in;	/* the frame; WRITE receives into it */
	struct dfs_wbuf		*out;	/* the connection's replies */
	uint32_t		 failed;	/* WRITE: the node that refused,
						   from this one (proto.h) */
	bool			 close;	/* end the connection after the ERROR */
	bool			 hangup;	/* end it with no ERROR: the
						   peer is gone, or the answer
						   is under way */
};
typedef int (*dn_handler)(struct dn_req *, char **cause);

/* dn-server.c */
int	dn_server_start(struct dn *, int listen_fd, char **cause);
void	dn_server_stop(struct dn *);
int	dn_server_dispatch(struct dn_req *, bool local);
int	dn_server_send(struct dn_req *);
int	dn_recv_frame(struct dfs_sock *, struct dfs_frame_hdr *,
	    struct dfs_wbuf *, int timeout_ms, char **cause);
void	dn_close_graceful(int fd);

/* dn-token.c: the token check every block operation goes through. */
int	dn_token_check(struct dn_req *, const struct dfs_token *,
	    dfs_block_id, uint64_t gen, uint8_t mode, const uint8_t *targets,
	    char **cause);

/* dn-write.c */
int	dn_write_op_write(struct dn_req *, char **cause);

/* dn-nn.c */
struct dn_nn *dn_nn_create(struct dn *);
int	dn_nn_start(struct dn_nn *, char **cause);
void	dn_nn_stop(struct dn_nn *);
void	dn_nn_free(struct dn_nn *);
void	dn_nn_received(struct dn_nn *, dfs_block_id, uint64_t gen,
	    uint64_t len);
void	dn_nn_bad_block(struct dn_nn *, dfs_block_id, uint64_t gen,
	    const char *why);
void	dn_nn_verified(struct dn_nn *, dfs_block_id, uint64_t gen,
	    int result, const char *why);

/* dn-reduce.c */
int	dn_reduce_op_reduce(struct dn_req *, char **cause);

/* dn-patch.c */
int	dn_patch_op_patch(struct dn_req *, char **cause);
int	dn_patch_delete(struct dn *, dfs_block_id, uint64_t gen, char **);
void	dn_patch_rdlock(dfs_block_id);
void	dn_patch_rdunlock(dfs_block_id);
uint64_t dn_patch_epoch(dfs_block_id);
void	dn_patch_startup(const char *tmpdir, const char *curdir);

/* dn-scan.c */
int	dn_scan_start(struct dn *, char **cause);
int	dn_scan_verify(struct dn *, dfs_block_id, uint64_t gen, bool reader);
void	dn_scan_stop(struct dn *);

/* dn-replicate.c */
void	dn_replicate_start(struct dn *, const struct dfs_lblock *);
int	dn_replicate_active(void);
void	dn_replicate_drop_queued(void);

#endif
