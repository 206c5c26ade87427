/*
 * nn_i.h: what the namenode's files share: the server state, a request
 * being served, and each file's entry points.
 *
 * Lock order: there is one lock, struct nn's lock (see nn-db.c for why).
 * It guards the SQLite connection (the persistent namespace and the
 * in-memory "live" tables alike), the safe mode flag and the counters
 * below it.  Functions named nn_*_op_* are request handlers: they decode
 * their payload outside the lock, then call nn_server_enter(), which takes
 * what their entry in nn-server.c's table says they need (the lock, a
 * write transaction); the server releases it when they return.  A few keep
 * their own locking (the table says which and why).  Every other function
 * taking a struct nn * assumes the lock is held unless its comment says
 * otherwise.
 */
#ifndef NN_I_H
#define NN_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "config.h"
#include "connlimit.h"
#include "clock.h"
#include "pki.h"
#include "proto.h"
#include "net.h"
#include "tls.h"
#include "token.h"
#include "wire.h"

#define NN_NAME			"dfs-namenode"
#define NN_MAX_CONNS		1024
#define NN_CLIENT_IDLE_MS	(5 * 60 * 1000)
#define NN_SEND_TIMEOUT_MS	30000
#define NN_COMPLETE_WAIT_MS	5000	/* COMPLETE waits this for RECEIVED */
#define NN_PATCH_WAIT_MS	15000	/* a patch's other replicas, for theirs */
#define NN_MAX_EXCLUDE		16
#define NN_RECOVER_MAX		16	/* leases recovered per monitor pass */
#define NN_MAX_CLIENT_NAME	255
#define NN_MAX_UUID		128
#define NN_MAX_MESSAGE		1024	/* bytes of an ERROR message */
/* A reply is cut into pages well below the frame limit. */
#define NN_PAGE_BYTES		(DFS_WIRE_MAX_PAYLOAD / 2)
#define NN_MAX_CMDS		512	/* commands in one heartbeat reply */
#define NN_FSCK_MAX		1000	/* files in one fsck page */
#define NN_FSCK_SCAN		20000	/* inodes looked at for one page */
#define NN_VERIFY_PAGE		4096	/* replicas asked by one VERIFY */
#define NN_SCHEMA_VERSION	4
/* Free space a data node needs for a replica of b bytes (its checksums
 * and file system overhead included), and for a new block beyond that. */
#define NN_BLOCK_ROOM(b)	((b) + (b) / 64 + 4096)
#define NN_ROOM_SLACK		(64 * 1024)
/* The header blob of COMPLETE: a .npy's bytes up to its data, which may
 * pass 64 KiB by the fixed prefix and padding. */
#define NN_MAX_NPY_HEADER	(64 * 1024 + 128)

/* Replica states in an fsck page (the u8 rstate). */
enum nn_rstate {
	NN_RSTATE_GOOD = 0,	/* on a live node, right generation */
	NN_RSTATE_CORRUPT = 1,	/* its holder found it bad */
	NN_RSTATE_DEAD = 2,	/* its node is dead */
	NN_RSTATE_STALE = 3,	/* wrong generation or length */
	NN_RSTATE_SUSPECT = 4,	/* a reader reported it; not verified yet */
	NN_RSTATE_VERIFYING = 5, /* its holder is verifying it now */
};

/* File states in an fsck page (the u8 state). */
enum nn_fstate {
	NN_FSTATE_COMPLETE = 0,
	NN_FSTATE_WRITING = 1,	/* under construction */
};

/* The WHERE of a good replica r (with its node n joined) of block b: on a
 * live node, not corrupt, of the block's generation and, once the block is
 * complete, of its length. */
#define NN_GOOD(b)							\
	"r.block = " b ".id AND r.gen = " b ".gen AND r.corrupt = 0 AND "\
	"n.state = 1 AND (" b ".complete = 0 OR r.len = " b ".length)"

struct nn_stmt_slot {
	const char	*sql;
	sqlite3_stmt	*st;
};

#define NN_STMT_SLOTS	256

/* namenode.sync (nn-sync.c). */
struct nn_sync {
	bool		 always;	/* a sync before each change's answer */
	int64_t		 interval_ms;
	char		*wal;		/* namespace.db-wal */
	atomic_uint_fast64_t commits;	/* COMMITs to the WAL */
	atomic_uint_fast64_t syncs;	/* of the WAL, for REPORT */
	pthread_mutex_t	 lock;		/* guards below; one sync at once */
	pthread_cond_t	 cond;		/* wakes the thread to stop */
	uint64_t	 synced;	/* commits known on disk */
	int		 fd;		/* the WAL, or -1 */
	bool		 stop;
	bool		 started;
	pthread_t	 thread;
};

struct nn_holds;

/* The balancer (nn-balance.c): its run and its moves under way. */
#define NN_BALANCE_MOVES	64
enum nn_move_state {
	NN_MOVE_COPY = 0,	/* the copy to tgt under way */
	NN_MOVE_DROP = 1,	/* src's replica deleted; until src's
				   heartbeat counts it */
};
struct nn_balance_move {
	dfs_block_id	block;
	uint64_t	gen;
	uint64_t	len;
	dfs_node_id	src;
	dfs_node_id	tgt;
	int		state;		/* enum nn_move_state */
	int64_t		drained_ms;	/* DROP: DELETE seen handed out */
};
struct nn_balance {
	uint8_t		state;		/* enum dfs_balance_state */
	uint32_t	threshold_bp;
	uint64_t	bandwidth;
	int64_t		start_ms;
	int64_t		end_ms;
	int64_t		last_ms;	/* of the last pass */
	double		budget;		/* bytes it may schedule now */
	uint64_t	moved_blocks;
	uint64_t	moved_bytes;
	uint64_t	failed;
	int		idle;		/* passes with nothing to move */
	char		why[256];
	uint64_t	mean;		/* as last measured */
	uint32_t	max_dev_bp;
	uint64_t	to_move;
	struct nn_balance_move moves[NN_BALANCE_MOVES];
	unsigned	nmoves;
	/* What each node did in this run (NN_BALANCE_GAVE, _TOOK). */
	struct nn_balance_role {
		dfs_node_id	id;
		int		role;
	}		*roles;
	size_t		nroles;
	size_t		roles_cap;
};
#define NN_BALANCE_GAVE	1
#define NN_BALANCE_TOOK	2

struct nn {
	const struct dfs_config *cfg;		/* borrowed */

	/* Settings read once at start-up. */
	uint64_t	 block_size;
	unsigned	 replication;
	int64_t		 heartbeat_ms;
	int64_t		 dead_timeout_ms;
	int64_t		 token_lifetime_s;
	int64_t		 lease_timeout_ms;
	int64_t		 safemode_timeout_ms;
	double		 safemode_threshold;
	int64_t		 delete_grace_ms;	/* no DELETE before this */
	struct dfs_token_keys keys;		/* nn-keys.c */
	uint64_t	 keys_published;	/* ring version in token_keys */
	const char	*test_key_file;		/* "": none */
	char		 cluster_id[DFS_MAX_CLUSTER_ID + 1];	/* nn-db.c */

	/* The namenode lock and what it guards. */
	pthread_mutex_t	 lock;
	pthread_cond_t	 replica_added;		/* with lock */
	pthread_cond_t	 wake;			/* with lock: monitor */
	sqlite3		*db;
	struct nn_stmt_slot stmts[NN_STMT_SLOTS];
	bool		 safemode;
	int64_t		 start_ms;
	int64_t		 last_repl_ms;
	dfs_block_id	 repl_cursor;		/* where the next scan starts */
	struct nn_holds	*holds;			/* nn-hold.c */
	struct nn_batch	*batch;			/* nn-batch.c, in a group */
	struct nn_group	*group;			/* nn-group.c; NULL: one
						   namenode */
	struct nn_balance balance;		/* nn-balance.c */

	/* Outside the lock. */
	struct nn_sync	 sync;			/* nn-sync.c */
	struct nn_audit	*audit;			/* nn-audit.c; NULL: off */
	struct dfs_tls	*tls;			/* every connection's */
	struct dfs_connlimit *limits;		/* per address, identity */
	int		 listen_fd;
	atomic_bool	 stopping;
	atomic_int	 nconns;
	pthread_t	 monitor;
	pthread_t	 acceptor;
};

/*
 * What a handler needs around its work (nn-server.c's table): NN_LOCK the
 * namenode lock, NN_TXN (with NN_LOCK) one write transaction, committed
 * when the handler returns 0 and rolled back otherwise; NN_WRITES refused
 * in safe mode.
 */
#define NN_WRITES	0x1
#define NN_LOCK		0x2
#define NN_TXN		0x4

/*
 * Roles: what a peer may act as.  A table entry names the roles its
 * request needs; a connection holds a set of them.  Nothing authenticates
 * a peer yet, so every connection holds NN_ROLES_UNAUTHENTICATED, which is
 * every role: the check is in place, and refuses nothing today.
 */
#define NN_ROLE_ANY		0x0	/* needs no role */
#define NN_NOBODY		65534	/* uid and gid of no one */
#define NN_ROLE_CLIENT		0x1
#define NN_ROLE_DATANODE	0x2
#define NN_ROLE_NAMENODE	0x4	/* another member of the group */
#define NN_ROLES_UNAUTHENTICATED (NN_ROLE_CLIENT | NN_ROLE_DATANODE)

/*
 * Whom namespace requests act as: the uid, gid and supplementary groups
 * POSIX permissions are checked against.  super: the superuser, whom no
 * permission check refuses (uid 0 does not by itself make one).
 */
struct nn_cred {
	uint32_t	uid;
	uint32_t	gid;
	uint32_t	ngroups;
	uint32_t	groups[DFS_PKI_MAX_GROUPS];
	bool		super;
	const char	*who;	/* the peer's identity (certificate name),
				   whatever it acts as: who holds a file
				   (nn-hold.c); borrowed from the peer */
};

/*
 * The peer at the other end of a connection, for as long as it lasts:
 * what it may act as (roles), its authenticated identity (id; role
 * DFS_ROLE_NONE until connections are authenticated) and the credential
 * its namespace requests are checked against.
 */
struct nn_peer {
	int			roles;	/* NN_ROLE_* */
	struct dfs_identity	id;
	struct nn_cred		cred;
	char			addr[64];	/* "host:port", for logs */
};

/* A request being served by a connection thread. */
struct nn_req {
	struct nn	*nn;
	struct nn_peer	*peer;		/* whose request; never NULL */
	uint16_t	 type;
	uint64_t	 req_id;
	struct dfs_rbuf	 in;
	struct dfs_wbuf	*out;
	bool		 replied;	/* a reply frame was begun */
	bool		 discard;	/* group: roll back, the entry
					   makes it real (nn-group.c) */
	char		*cause;		/* for an ERROR reply */
	int		 flags;		/* the table's NN_LOCK, NN_TXN */
	bool		 locked;	/* nn_server_enter() took the lock */
	bool		 in_txn;	/* ... and began the transaction */
	bool		 batched;	/* group: run in a batch, whose
					   runner holds both (nn-batch.c) */
	void		*batch_arg;	/* for the part a batch runs */
	char		*audit_src;	/* its path(s) as sent, for the */
	char		*audit_dst;	/* audit line (nn_audit_paths) */
	uint16_t	 reply_type;	/* of the reply begun */
	/* A request wrapped in ONCE (nn-once.c). */
	bool		 once;
	bool		 once_found;	/* answered already: */
	uint64_t	 once_client;
	uint64_t	 once_seq;
	uint16_t	 once_type;	/* the answer recorded */
	void		*once_reply;
	size_t		 once_len;
};

/* nn-server.c */
int	 nn_server_start(struct nn *, char **cause);
void	 nn_server_stop(struct nn *);
struct dfs_wbuf *nn_server_reply(struct nn_req *, uint16_t type);
int	 nn_server_decoded(struct nn_req *);
int	 nn_server_enter(struct nn_req *);
int	 nn_server_permitted(uint16_t type, int roles, int *flags);
void	 nn_server_peer_init(struct nn_peer *, const char *addr);
void	 nn_server_peer_from(struct nn_peer *, const struct dfs_identity *,
	     const char *addr);
int	 nn_server_dispatch(struct nn *, struct dfs_sock *, struct nn_peer *,
	     const struct dfs_frame_hdr *, const struct dfs_wbuf *in,
	     struct dfs_wbuf *out);
int	 nn_server_fail(struct nn_req *, int err, const char *fmt, ...)
	     __attribute__((format(printf, 3, 4)));
int64_t	 nn_wall_ns(void);

/* nn-batch.c */
struct nn_batch *nn_batch_new(void);
void	 nn_batch_free(struct nn_batch *);
bool	 nn_batch_accepts(uint16_t type);
int	 nn_batch_run(struct nn *, struct nn_req *, int (*)(struct nn_req *),
	     bool keep);

/* nn-sync.c */
int	 nn_sync_start(struct nn *, const struct dfs_config *, char **cause);
void	 nn_sync_stop(struct nn *);
int	 nn_sync_now(struct nn *);
int	 nn_sync_ack(struct nn *);
int	 nn_sync_op_sync(struct nn_req *);

/* nn-audit.c */
struct dfs_config;
int	 nn_audit_open(struct nn *, const struct dfs_config *, char **cause);
void	 nn_audit_reopen(struct nn *);
void	 nn_audit_close(struct nn *);
void	 nn_audit_paths(struct nn_req *, char **src, char **dst);
void	 nn_audit_req(struct nn_req *, int rc);

/* nn-db.c */
int	 nn_db_open(struct nn *, const char *dir, bool format,
	     char **cause);
void	 nn_db_close(struct nn *);
sqlite3_stmt *nn_db_sql(struct nn *, const char *sql, const char *types,
	     ...);
int	 nn_db_step(struct nn *, sqlite3_stmt *);
void	 nn_db_reset(sqlite3_stmt *);
int	 nn_db_exec(struct nn *, const char *sql, const char *types, ...);
int	 nn_db_i64(struct nn *, int64_t *out, const char *sql,
	     const char *types, ...);
int	 nn_db_begin(struct nn *);
int	 nn_db_end(struct nn *, int rc);
int	 nn_db_counter(struct nn *, const char *key, int64_t *value);
void	 nn_db_reset_all(struct nn *);
enum { NN_SP_BEGIN, NN_SP_RELEASE, NN_SP_UNDO };
int	 nn_db_savepoint(struct nn *, int op);
int64_t	 nn_db_last_id(struct nn *);
int	 nn_db_changes(struct nn *);

/* nn-once.c: a retried request is applied once. */
int	 nn_once_unwrap(struct nn_req *, uint16_t *type);
int	 nn_once_lookup(struct nn_req *);
int	 nn_once_record(struct nn_req *);
void	 nn_once_reply(struct nn_req *);

/* nn-group.c: a member of a group of namenodes (issue 12). */
struct nn_group;
struct dfs_sock;
int	 nn_group_start(struct nn *, const struct dfs_config *, bool join,
	     char **cause);
void	 nn_group_stop(struct nn *);
void	 nn_group_free(struct nn *);
bool	 nn_group_serving(struct nn *);
char	*nn_group_redirect(struct nn *);
int	 nn_group_op_status(struct nn_req *);
int	 nn_group_op_join(struct nn_req *);
bool	 nn_group_member_lost(const struct dfs_config *, char **cause);
int	 nn_group_others(const struct dfs_config *, uint64_t *id,
	     char **others, char **cause);
/* nn-join.c: dfs-namenode --join (before and after the server starts). */
int	 nn_join_fetch(const struct dfs_config *, char **cause);
int	 nn_join_finish(const struct dfs_config *, char **cause);
int	 nn_group_op_db(struct nn_req *);
int	 nn_group_hello(struct nn *, struct dfs_sock *, uint64_t req_id,
	     const void *pl, size_t len);
int	 nn_group_begin(struct nn *);
bool	 nn_group_in_txn(struct nn *);
void	 nn_group_discard(struct nn *);

int	 nn_group_end(struct nn *, int rc, int (*finish)(struct nn *, int));

/* nn-repl.c: a transaction's changes to "main" as a changeset (issue 12):
 * capture after BEGIN, take the changeset before the end; apply one in a
 * transaction of its own, all or nothing (-EPROTO: it does not fit). */
struct nn_repl;
int	 nn_repl_capture(struct nn *, struct nn_repl **, char **cause);
int	 nn_repl_changeset(struct nn_repl *, void **buf, size_t *len,
	     char **cause);
void	 nn_repl_free(struct nn_repl *);
int	 nn_repl_apply_entry(struct nn *, uint64_t serial, const void *buf,
	     size_t len, char **cause);
int	 nn_repl_undo(struct nn *, const void *buf, size_t len);
int	 nn_repl_apply(struct nn *, const void *buf, size_t len,
	     char **cause);

/* nn-path.c */
struct nn_path {
	char		 *norm;		/* "/a/b", "/", "#17/a" or "#17" */
	char		 *buf;		/* components, NUL-separated */
	const char	**comp;
	int		  n;
	dfs_ino		  start;	/* where the walk starts: the root,
					   or the inode of "#N/..." */
	bool		  by_ino;
};
size_t	 nn_path_ino(const char *, dfs_ino *);
int	 nn_path_parse(const char *, struct nn_path *, char **cause);
void	 nn_path_free(struct nn_path *);
char	*nn_path_prefix(const struct nn_path *, int n);
int	 nn_path_lookup(struct nn *, dfs_ino parent, const char *name,
	     dfs_ino *ino, int *type);
int	 nn_path_resolve(struct nn *, const struct nn_cred *,
	     const struct nn_path *, int upto, dfs_ino *ino, int *type,
	     char **cause);
int	 nn_path_parent(struct nn *, const struct nn_cred *,
	     const struct nn_path *, dfs_ino *parent, char **cause);
char	*nn_path_of(struct nn *, dfs_ino);
int	 nn_path_reach(struct nn *, const struct nn_cred *, dfs_ino,
	     int type);
int	 nn_path_is_ancestor(struct nn *, dfs_ino anc, dfs_ino ino,
	     bool *yes);

/* nn-perm.c */
#define NN_PERM_X	1	/* as MAY_EXEC: search, for a directory */
#define NN_PERM_W	2
#define NN_PERM_R	4
/* What a permission check needs of an inode. */
struct nn_perm_obj {
	int		type;		/* enum dfs_ftype */
	uint32_t	mode;
	uint32_t	uid;
	uint32_t	gid;
};
bool	 nn_perm_in_group(const struct nn_cred *, uint32_t gid);
bool	 nn_perm_may(const struct nn_cred *, const struct nn_perm_obj *,
	     int mask);
int	 nn_perm_may_create(const struct nn_cred *,
	     const struct nn_perm_obj *dir);
int	 nn_perm_may_delete(const struct nn_cred *,
	     const struct nn_perm_obj *dir, const struct nn_perm_obj *victim);
int	 nn_perm_may_rename(const struct nn_cred *,
	     const struct nn_perm_obj *sdir, const struct nn_perm_obj *src,
	     const struct nn_perm_obj *ddir, const struct nn_perm_obj *dst,
	     bool same_parent);
int	 nn_perm_may_setattr(const struct nn_cred *,
	     const struct nn_perm_obj *, uint32_t valid, uint32_t *mode,
	     uint32_t uid, uint32_t gid);
uint32_t nn_perm_kill_suid(int type, uint32_t mode);
void	 nn_perm_new_owner(const struct nn_cred *,
	     const struct nn_perm_obj *parent, int type, uint32_t *mode,
	     uint32_t *uid, uint32_t *gid);
int	 nn_perm_may_act_as(const struct nn_peer *, struct nn_cred *want,
	     char **cause);
int	 nn_perm_load(struct nn *, dfs_ino, struct nn_perm_obj *);
void	 nn_perm_row(sqlite3_stmt *, int col, struct nn_perm_obj *);
int	 nn_perm_check(struct nn_req *, dfs_ino, int mask, const char *path);
int	 nn_perm_create(struct nn_req *, dfs_ino parent, const char *path,
	     int type, uint32_t *mode, uint32_t *uid, uint32_t *gid);
int	 nn_perm_delete(struct nn_req *, dfs_ino parent, dfs_ino ino,
	     const char *path);
int	 nn_perm_rename(struct nn_req *, dfs_ino sp, dfs_ino sino, dfs_ino dp,
	     dfs_ino dino, const char *src, const char *dst);
int	 nn_perm_setattr(struct nn_req *, dfs_ino, const char *path,
	     uint32_t *valid, uint32_t *mode, uint32_t uid, uint32_t gid);
int	 nn_perm_wrote(struct nn_req *, dfs_ino);
int	 nn_perm_rewrite(struct nn_req *, dfs_ino, const char *path,
	     uint32_t *mode, uint32_t *uid, uint32_t *gid);
int	 nn_perm_writer(struct nn_req *, dfs_ino);
int	 nn_perm_tree(struct nn_req *, dfs_ino top, const char *path);
int	 nn_perm_super(struct nn_req *, const char *path);
int	 nn_perm_block(struct nn_req *, dfs_block_id);
int	 nn_perm_op_act_as(struct nn_req *);
int	 nn_perm_op_whoami(struct nn_req *);

/* nn-meta.c */
#define NN_MODE_MASK		07777	/* the mode bits an inode keeps */
#define NN_MAX_LINKS		65000	/* names of one inode (EMLINK) */
int	 nn_meta_attr(struct nn *, dfs_ino, struct dfs_attr *);
int	 nn_meta_new(struct nn *, dfs_ino parent, const char *name, int type,
	     uint32_t mode, uint32_t uid, uint32_t gid, unsigned repl,
	     uint64_t block_size, const char *client, dfs_ino *inop);
int	 nn_meta_unlink(struct nn *, dfs_ino parent, const char *name,
	     dfs_ino ino, int type);
int	 nn_meta_has_children(struct nn *, dfs_ino, bool *yes);
char	*nn_meta_get_path(struct nn_req *);
int	 nn_meta_paths(struct nn_req *, char **path1, struct nn_path *p1,
	     char **path2, struct nn_path *p2);
int	 nn_meta_op_mkdir(struct nn_req *);
int	 nn_meta_op_stat(struct nn_req *);
int	 nn_meta_op_list(struct nn_req *);
int	 nn_meta_op_create(struct nn_req *);
int	 nn_meta_op_rename(struct nn_req *);
int	 nn_meta_op_delete(struct nn_req *);
int	 nn_meta_op_set_repl(struct nn_req *);
/* nn-attr.c (its handlers keep the nn_meta_op_ prefix) */
int	 nn_meta_op_setattr(struct nn_req *);
int	 nn_meta_op_unlink(struct nn_req *);
int	 nn_meta_op_symlink(struct nn_req *);
int	 nn_meta_op_readlink(struct nn_req *);
int	 nn_meta_op_hardlink(struct nn_req *);
int	 nn_meta_op_mknod(struct nn_req *);

/* nn-hold.c */
void	 nn_hold_free(struct nn *);
bool	 nn_hold_reaches(struct nn *, dfs_ino, const char *who);
int	 nn_hold_take(struct nn *, dfs_ino, const char *client,
	     const char *who, uint64_t seq);
int	 nn_hold_release(struct nn *, dfs_ino, const char *client,
	     const char *who, uint64_t seq);
int	 nn_hold_keep(struct nn *, dfs_ino, int64_t now_ns, bool *kept);
int	 nn_hold_load(struct nn *);
void	 nn_hold_expire(struct nn *);
int	 nn_hold_op_holds(struct nn_req *);

/* nn-blockmap.c */
struct nn_block {
	dfs_block_id	 id;
	int64_t		 idx;
	uint64_t	 gen;
	uint64_t	 offset;
	uint64_t	 len;
	bool		 complete;	/* its length is final */
};
void	 nn_blockmap_row(sqlite3_stmt *, struct nn_block *);
int	 nn_blockmap_get(struct nn *, const char *sql, int64_t key,
	     struct nn_block *);
int	 nn_blockmap_file_blocks(struct nn *, dfs_ino, bool complete_only,
	     int64_t **idsp, size_t *np);
int	 nn_blockmap_drop_file(struct nn *, dfs_ino);
int	 nn_blockmap_drop_block(struct nn *, dfs_block_id, uint64_t gen);
int	 nn_blockmap_forget(struct nn *, dfs_block_id, uint64_t gen);
int	 nn_blockmap_good_count(struct nn *, dfs_block_id, int *good,
	     int *bad);
enum dfs_block_status nn_blockmap_status(int good, int bad, int wanted);
int	 nn_blockmap_op_get_blocks(struct nn_req *);
int	 nn_blockmap_op_block_report(struct nn_req *);
int	 nn_blockmap_op_received(struct nn_req *);

/* nn-patch.c */
int	 nn_patch_op_patch_block(struct nn_req *);
int	 nn_patch_received(struct nn *, struct nn_block *, dfs_node_id,
	     uint64_t gen, uint64_t len);
int	 nn_patch_load(struct nn *);
int	 nn_patch_expect(struct nn *, const struct nn_block *, dfs_node_id);
void	 nn_patch_free(void);
void	 nn_patch_expire(struct nn *);

/* nn-write.c */
int	 nn_write_op_add_block(struct nn_req *);
int	 nn_write_op_complete(struct nn_req *);
int	 nn_write_op_abandon(struct nn_req *);
int	 nn_write_op_update_pipeline(struct nn_req *);
int	 nn_write_op_renew_lease(struct nn_req *);
struct dfs_npy_header;
bool	 nn_write_npy_fits(dfs_ino, const void *header, size_t header_len,
	     uint64_t size, const struct nn_block *, size_t nblocks,
	     struct dfs_npy_header *);
int	 nn_write_drop_stale(struct nn *, const struct nn_block *);
int	 nn_write_close(struct nn *, dfs_ino, uint64_t size,
	     const struct dfs_npy_header *);

/* nn-recover.c */
#define NN_RECOVER_READ_MS	2000	/* reading a header back, at most */
void	 nn_recover_leases(struct nn *);
int	 nn_recover_renew(struct nn *, dfs_ino);
int	 nn_recover_grant(struct nn *);

/* nn-place.c */
struct nn_target {
	dfs_node_id	node;
	char		addr[256];
};
/* live.nodes.isfull: 1 when its last heartbeat left too little room for
 * a block of the cluster's size; NN_FULL_REFUSED when it refused a block
 * for lack of space since (placement skips it until a heartbeat shows
 * room, nn_datanodes_confirm). */
#define NN_FULL_REFUSED		2
int	 nn_place_choose(struct nn *, unsigned want, uint64_t bytes,
	     const dfs_node_id *avoid, unsigned navoid, struct nn_target *out);
int	 nn_place_refused(struct nn *, dfs_node_id, const char *who);
void	 nn_place_replicate(struct nn *);
void	 nn_place_safemode(struct nn *);
int	 nn_place_safemode_refuse(struct nn_req *);
void	 nn_place_need(struct nn *, dfs_block_id, int good, int repl);
void	 nn_place_need_node(struct nn *, dfs_node_id);

/* nn-balance.c */
int	 nn_balance_tick(struct nn *);
int	 nn_balance_op_balance(struct nn_req *);

/* nn-corrupt.c */
int	 nn_corrupt_op_bad_block(struct nn_req *);
int	 nn_corrupt_op_verified(struct nn_req *);
int	 nn_corrupt_holder_bad(struct nn *, dfs_node_id node,
	     dfs_block_id block, uint64_t gen, const char *why);
int	 nn_corrupt_verify_block(struct nn *, dfs_block_id, uint64_t gen);
int	 nn_corrupt_purge(struct nn *, dfs_block_id, uint64_t gen);
void	 nn_corrupt_tick(struct nn *);

/* nn-fsck.c */
int	 nn_fsck_op_fsck(struct nn_req *);
int	 nn_fsck_op_report(struct nn_req *);
int	 nn_fsck_op_statfs(struct nn_req *);
int	 nn_fsck_op_verify(struct nn_req *);

/* nn-keys.c */
int	 nn_keys_init(struct nn *, const struct dfs_config *, char **cause);
void	 nn_keys_rotate(struct nn *);
void	 nn_keys_publish(struct nn *);
void	 nn_keys_adopt(struct nn *);
void	 nn_keys_sign(struct nn *, struct dfs_token *, dfs_block_id,
	     uint64_t gen, uint8_t mode, uint32_t uid,
	     const struct dfs_lblock *pipeline, time_t now);

/* nn-datanodes.c */
bool	 nn_datanodes_live(struct nn *, dfs_node_id);
bool	 nn_datanodes_may_delete(struct nn *);
int	 nn_datanodes_cluster(struct nn_req *, const char *cluster);
int	 nn_datanodes_queue(struct nn *, dfs_node_id, uint8_t kind,
	     dfs_block_id, uint64_t gen, const void *body, size_t len);
int	 nn_datanodes_start(struct nn *, char **cause);
void	 nn_datanodes_stop(struct nn *);
int	 nn_datanodes_op_register(struct nn_req *);
int	 nn_datanodes_own(struct nn_req *, int64_t node, bool bind);
int	 nn_datanodes_op_heartbeat(struct nn_req *);

#endif
