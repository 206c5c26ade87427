/*
 * proto.h: npdfs message types and the layout of every payload.
 *
 * A request is a frame whose type names the operation; the reply carries
 * the same request id and is either DFS_MSG_ERROR or the reply type listed
 * beside the request.  Fields are little-endian (see wire.h); "str" is a
 * u32 length and that many bytes (no NUL, at most DFS_WIRE_MAX_STR), "attr",
 * "npy", "token" and "lblock" are the composite records encoded by the
 * dfs_proto_* helpers below.  doc/protocol.md says the same in prose.
 */
#ifndef DFS_PROTO_H
#define DFS_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

typedef uint64_t dfs_block_id;
typedef uint64_t dfs_ino;
typedef uint64_t dfs_node_id;

#define DFS_ROOT_INO		1
#define DFS_MAX_NAME		255
#define DFS_MAX_PATH		4096
#define DFS_MAX_REPLICATION	16
#define DFS_MAX_PACKET		(1U << 20)	/* data bytes in one packet */
#define DFS_MIN_CHUNK		512
#define DFS_MAX_CHUNK		(1U << 20)
#define DFS_MAX_PATCH		(2U << 20)	/* data bytes in one PATCH */
#define DFS_LIST_MAX		1000		/* entries in one list page */

enum dfs_msg {
	/* Replies common to all. */
	DFS_MSG_ERROR = 1,	/* i32 -errno, str message */
	DFS_MSG_OK = 2,		/* (empty) */
	DFS_MSG_HELLO = 3,	/* u16 version, str who  -> HELLO (same) */

	/* Client -> namenode (path based). */
	DFS_NN_MKDIR = 100,	/* str path, u32 mode, u32 uid, u32 gid,
				   u8 parents -> OK */
	DFS_NN_STAT = 101,	/* str path [, u8 flags, str client,
				   u64 seq] -> NN_ATTR; flags
				   DFS_STAT_HOLD: client holds the file
				   open (nn-hold.c) */
	DFS_NN_ATTR = 102,	/* attr */
	DFS_NN_LIST = 103,	/* str path, str start_after, u32 max
				   -> NN_LISTING */
	DFS_NN_LISTING = 104,	/* u32 n, n x (str name, attr), u8 more */
	DFS_NN_CREATE = 105,	/* str path, u32 mode, u32 uid, u32 gid,
				   u16 replication (0: default),
				   u64 block_size (0: default), u8 flags
				   (enum dfs_create_flag), str client
				   -> NN_ATTR (the new file) */
	DFS_NN_ADD_BLOCK = 106,	/* u64 ino, str client, u64 prev_block,
				   u64 prev_len, u64 offset, u32 nexclude,
				   nexclude x u64 node -> NN_LBLOCK */
	DFS_NN_LBLOCK = 107,	/* lblock (targets in pipeline order,
				   token for writing) */
	DFS_NN_COMPLETE = 108,	/* u64 ino, str client, u64 last_block,
				   u64 last_len, u64 size, blob header
				   (the file's first bytes, up to its data
				   offset, when they parse as a .npy header;
				   else empty; at most 64 KiB) -> OK */
	DFS_NN_ABANDON = 109,	/* u64 ino, str client, u64 block
				   [, u8 flags (DFS_ABANDON_*), u64 refuser,
				   i32 reason] -> OK */
	DFS_NN_GET_BLOCKS = 110, /* str path, u64 offset, u64 length
				   -> NN_BLOCKS */
	DFS_NN_BLOCKS = 111,	/* attr, u32 n, n x lblock (replicas
				   best first, read tokens) */
	DFS_NN_RENAME = 112,	/* str src, str dst, u32 flags
				   (enum dfs_rename_flag) -> OK */
	DFS_NN_DELETE = 113,	/* str path, u8 recursive -> OK */
	DFS_NN_SET_REPL = 114,	/* str path, u16 replication -> OK */
	DFS_NN_FSCK = 115,	/* str path, u64 cursor, u32 max
				   -> NN_FSCK_PAGE */
	DFS_NN_FSCK_PAGE = 116,	/* u32 n, n x fsck-file, u64 next_cursor,
				   u8 more; fsck-file = str path, u64 size,
				   u16 replication, u8 state, u32 nblocks,
				   nblocks x (u64 id, u64 gen, u64 offset,
				   u64 len, u8 status, u32 nrep, nrep x
				   (u64 node, str addr, u8 rstate)) */
	DFS_NN_REPORT = 117,	/* (empty) -> NN_REPORT_REPLY */
	DFS_NN_REPORT_REPLY = 118, /* u8 safemode, u64 blocks, u64 under,
				   u64 missing, u64 corrupt, u64 pending,
				   u32 n, n x (u64 id, str uuid, str addr,
				   u8 state, u64 capacity, u64 used,
				   u64 nblocks, i64 ms_since_heartbeat,
				   u64 unknown, u64 dfs_used (bytes of
				   its replicas, as it last heartbeated)),
				   str sync (namenode.sync),
				   u64 syncs (of the namespace, since the
				   namenode started) */
	DFS_NN_BAD_BLOCK = 119,	/* u64 block, u64 gen, u64 node, str why
				   -> OK (a reader saw a bad replica of
				   node: the namenode asks node to VERIFY
				   it; a holder reports its own with
				   DN_VERIFIED) */

	/* Data node -> namenode. */
	DFS_DN_REGISTER = 200,	/* str cluster, str uuid, str addr,
				   u64 capacity, u64 used, u64 dfs_used
				   -> DN_REGISTERED (cluster "" from a node
				   that has never joined one) */
	DFS_DN_REGISTERED = 201, /* u64 node, u32 heartbeat_ms,
				   str cluster */
	DFS_DN_HEARTBEAT = 202,	/* str cluster, u64 node, u64 capacity,
				   u64 used, u64 dfs_used, u32 xceivers
				   -> DN_COMMANDS */
	DFS_DN_COMMANDS = 203,	/* u32 n, n x cmd; cmd = u8 kind, then
				   DELETE: u64 block, u64 gen;
				   REPLICATE: lblock (targets to copy to,
				   token for writing them);
				   REREGISTER: (nothing);
				   VERIFY: u64 block, u64 gen */
	DFS_DN_BLOCK_REPORT = 204, /* str cluster, u64 node, u64 report,
				   u32 part, u32 nparts, u32 n,
				   n x (u64 block, u64 gen, u64 len,
				   u8 flags) -> OK; see DFS_REPORT_* */
	DFS_DN_RECEIVED = 205,	/* u64 node, u64 block, u64 gen, u64 len
				   -> OK */
	DFS_DN_VERIFIED = 210,	/* u64 node, u64 block, u64 gen,
				   u8 result (enum dfs_verify), str why
				   -> OK: the holder checked its own
				   replica (a VERIFY, its scanner, or a
				   read it served) */

	/* Client (or data node) -> data node. */
	DFS_DX_WRITE = 300,	/* token, u64 block, u64 gen, u32 chunk_size,
				   u32 ndown, ndown x str addr (the rest of
				   the pipeline) -> OK once the pipeline is
				   connected, then PACKETs flow down and
				   ACKs up */
	DFS_DX_PACKET = 301,	/* u64 seqno, u64 offset, u8 last,
				   u32 nchunks, nchunks x u32 crc32c,
				   blob data (chunk-aligned offset) */
	DFS_DX_ACK = 302,	/* u64 seqno, i32 status (0 or -errno),
				   u32 failed (pipeline index of a failed
				   node, or 0xffffffff), str message */
	DFS_DX_READ = 303,	/* token, u64 block, u64 gen, u64 offset,
				   u64 length -> DX_DATA... */
	DFS_DX_DATA = 304,	/* u64 offset (chunk-aligned), u32 chunk_size,
				   u32 nchunks, nchunks x u32 crc32c,
				   blob data; a DATA with no data ends the
				   read */
	DFS_DX_REDUCE = 305,	/* token (READ), u64 block, u64 gen,
				   u64 offset (in the block, of the first
				   element), u64 count (elements), u8 kind
				   ('b' 'i' 'u' 'f' 'c'), u8 itemsize,
				   u8 little -> DX_PARTIAL */
	DFS_DX_PARTIAL = 306,	/* u64 count, u64 bytes_read, u64 usec,
				   blob partial (dfs_acc_encode) */

	/* Client -> namenode, added for dfs-mount (issue 4). */
	DFS_NN_SETATTR = 120,	/* str path, u32 valid (enum dfs_set),
				   u32 mode, u32 uid, u32 gid, i64 atime_ns,
				   i64 mtime_ns -> NN_ATTR (after); one
				   transaction, ctime set to now */
	DFS_NN_STATFS = 121,	/* (empty) -> NN_STATFS_REPLY */
	DFS_NN_STATFS_REPLY = 122, /* u64 capacity, u64 used, u64 remaining
				   (bytes, summed over live data nodes),
				   u64 files (inodes), u32 live nodes */
	DFS_NN_UNLINK = 123,	/* str path, u8 dir [, u8 flags] -> OK:
				   unlink(2) when dir is 0 (EISDIR on a
				   directory), rmdir(2) when 1 (ENOTDIR,
				   ENOTEMPTY); flags bit 0: reply NN_ATTR
				   (the parent's, after) instead of OK */
	DFS_NN_SYMLINK = 124,	/* str path, str target, u32 uid, u32 gid
				   -> NN_ATTR (the new link) */
	DFS_NN_READLINK = 125,	/* str path -> NN_LINK */
	DFS_NN_LINK = 126,	/* str target */

	/* Write pipeline and lease recovery (issue 6). */
	DFS_NN_UPDATE_PIPELINE = 127, /* u64 ino, str client, u64 block,
				   u64 old_gen, u32 nkeep, nkeep x u64 node
				   (the surviving pipeline, in order)
				   -> NN_LBLOCK (same block, a new gen, locs
				   = the survivors, token for writing) */
	DFS_NN_RENEW_LEASE = 128, /* u64 ino, str client -> OK */
	DFS_DX_RESUME = 307,	/* token (new gen, WRITE), u64 block,
				   u64 old_gen, u64 new_gen, u64 offset,
				   u32 chunk_size, u32 ndown, ndown x str
				   addr -> OK, then as WRITE from offset:
				   the node's unfinished replica of
				   (block, old_gen) is cut to offset bytes
				   and continues as new_gen */

	/* Hard links and special files for dfs-mount (issue 4). */
	DFS_NN_HARDLINK = 129,	/* str existing, str new_path -> NN_ATTR
				   (the inode, its nlink counted): a new
				   name for a non-directory (EPERM for a
				   directory, EEXIST, ENOENT, ENOTDIR,
				   EMLINK) */
	DFS_NN_MKNOD = 130,	/* str path, u8 type (enum dfs_ftype: FILE,
				   FIFO, SOCK, CHR or BLK), u32 mode,
				   u32 uid, u32 gid, u64 rdev -> NN_ATTR
				   (the new inode; a FILE is empty and
				   complete) */

	/* Random writes that fsync (issue 13, nn-patch.c; doc/protocol.md
	 * section 6): changed chunks of a complete file's block, in place. */
	DFS_NN_PATCH_BLOCK = 131, /* u64 ino, str client, u64 block,
				   u64 old_gen, u64 new_len -> NN_LBLOCK
				   (same block, a new gen, len = new_len,
				   locs = its good replicas, one WRITE token
				   signed over them for DX_PATCH) */

	/* Re-verification on demand (issue 15, dfs fsck --verify). */
	DFS_NN_VERIFY = 140,	/* str path, u64 cursor -> NN_VERIFY_PAGE:
				   every holder of a finished block of the
				   files under path is sent VERIFY */
	DFS_NN_VERIFY_PAGE = 141, /* u32 replicas asked, u64 next_cursor,
				   u8 more */

	/* Durability on request (nn-sync.c). */
	DFS_NN_SYNC = 142,	/* (empty) -> OK once every operation the
				   namenode committed before it is on its
				   disk (EIO when it cannot sync) */

	/* Files held open by mounts (nn-hold.c, issue 13). */
	DFS_NN_HOLDS = 143,	/* str client, u32 n, n x (u64 ino, u64 seq,
				   u8 op: 1 take or renew, 0 release)
				   -> OK */

	/* Who a connection acts as (issue 11, nn-perm.c). */
	DFS_NN_ACT_AS = 150,	/* u32 uid, u32 gid, u32 n, n x u32 groups
				   -> OK: the namespace requests that follow
				   on this connection act as this credential
				   (EACCES when the peer's identity may not
				   claim it, EINVAL over DFS_MAX_GROUPS) */
	DFS_NN_WHOAMI = 151,	/* (empty) -> NN_WHOAMI_REPLY */
	DFS_NN_WHOAMI_REPLY = 152, /* str name, str role, str peer address,
				   u32 uid, u32 gid, u32 n, n x u32 groups,
				   u8 superuser */

	/* A group of namenodes (issue 12, nn-raft.c). */
	DFS_NN_RAFT_HELLO = 160, /* u64 member id, str member address -> OK;
				   only from a namenode's certificate: the
				   connection then carries Raft's messages */
	DFS_NN_GROUP_STATUS = 161, /* (empty) -> NN_GROUP_STATUS_REPLY; any
				   member answers, any role may ask */
	DFS_NN_ONCE = 163,	/* u64 client id, u64 sequence number, u16
				   type, then that request's payload: the
				   request, applied once however often it
				   is sent with this pair (nn-once.c); the
				   reply is the request's */
	DFS_NN_GROUP_STATUS_REPLY = 162, /* u64 member id (0: one namenode),
				   u8 enum dfs_group_role, u64 term, u64
				   applied index, u64 leader id (0: none
				   known), str leader address */
	DFS_NN_GROUP_JOIN = 164, /* u64 member id, u8 step (0: leave the
				   configuration, 1: come back, a voter
				   once caught up) -> OK; the leader
				   answers, to a namenode's certificate
				   (dfs-namenode --join) */
	DFS_NN_GROUP_DB = 165,	/* u64 member id, u64 offset -> NN_GROUP_DB_
				   REPLY: the leader's namespace database
				   as of now (offset 0 takes the copy),
				   a piece at a time; namenodes only */
	DFS_NN_GROUP_DB_REPLY = 166, /* u64 total bytes, u64 offset, the
				   bytes from there (the rest of the
				   frame, DFS_GROUP_DB_PIECE at most) */

	/* The balancer (issue 14, nn-balance.c; dfs admin balance). */
	DFS_NN_BALANCE = 170,	/* u8 op (enum dfs_balance_op),
				   u32 threshold (hundredths of a percent
				   of the mean; 0: DFS_BALANCE_THRESHOLD),
				   u64 bandwidth (bytes scheduled a second;
				   0: DFS_BALANCE_BANDWIDTH)
				   -> NN_BALANCE_REPLY; superuser only */
	DFS_NN_BALANCE_REPLY = 171, /* u8 state (enum dfs_balance_state),
				   u32 threshold, u64 bandwidth,
				   u64 moved_blocks, u64 moved_bytes,
				   u64 failed (copies given up),
				   u32 moves (in flight or settling),
				   u64 copying (bytes), u64 mean (bytes a
				   node), u32 max_dev (hundredths of a
				   percent of the mean), u64 to_move (bytes
				   still beyond the threshold), i64 ms
				   (run time; -1 never run), str why,
				   u32 n, n x (u64 node, str addr,
				   u64 load) */

	/* Short-circuit local reads: a client on the data node's machine
	 * gets a replica's files as descriptors over a Unix socket. */
	DFS_DX_LOCAL_WHERE = 308, /* (empty) -> DX_LOCAL_HERE, or ERROR
				   -EOPNOTSUPP when the node has no local
				   socket */
	DFS_DX_LOCAL_HERE = 309, /* str uuid, str socket path */
	DFS_DX_LOCAL_OPEN = 310, /* on the Unix socket only: token (READ),
				   u64 block, u64 gen, str uuid (the node
				   meant; empty: any) -> DX_LOCAL_FDS */
	DFS_DX_LOCAL_FDS = 311,	/* str uuid, u64 len, u32 chunk_size,
				   u32 nfds (2); the block file and its
				   checksum sidecar, read-only, travel with
				   the frame's first byte (SCM_RIGHTS) */

	/* Changed chunks of a finalized replica, in place (issue 13,
	 * datanode/dn-patch.c; doc/protocol.md 8b). */
	DFS_DX_PATCH = 312,	/* token (WRITE, block, new_gen, signed over
				   the replica set), u64 block, u64 old_gen,
				   u64 new_gen, u32 chunk_size, u64 new_len,
				   u32 nlocs, nlocs x str addr (the replica
				   set, this node among them), u32 nranges,
				   nranges x (u64 offset, u32 nchunks,
				   nchunks x u32 crc32c, blob data) -> OK
				   once applied, durable and RECEIVED sent */
};

/*
 * An ERROR answering WRITE or RESUME carries one more field after its
 * message: u32 failed, the pipeline index (counted from the node that
 * answers, 0 being itself) of the node that refused, so the writer knows
 * which node to avoid.  Other readers of ERROR ignore it.
 */

/* Supplementary groups of one credential (ACT_AS), at most. */
#define DFS_MAX_GROUPS	64

/* A namenode's seat (GROUP_STATUS). */
enum dfs_group_role {
	DFS_GROUP_SINGLE = 0,		/* one namenode, no group */
	DFS_GROUP_LEADER = 1,
	DFS_GROUP_FOLLOWER = 2,
	DFS_GROUP_CANDIDATE = 3,
	DFS_GROUP_UNAVAILABLE = 4,
	DFS_GROUP_BROKEN = 5		/* out of step: serves nothing */
};

#define DFS_GROUP_DB_PIECE	(1024 * 1024)	/* bytes of one GROUP_DB reply */

/*
 * A member of a namenode group that is not the leader answers ERROR
 * -EREMOTE with this text and the leader's HOST:PORT, or another text
 * when it knows no leader: clients and data nodes go there (or to the
 * next namenode they know) and ask again.
 */
#define DFS_NOT_LEADER_AT	"not the leader; the leader is at "
int	dfs_leader_hint(const char *cause, char *addr, size_t len);
/* Connecting to one member of a group gives up after this long, so that
 * a member cut off from the network costs a short wait before the next
 * is tried (clients, data nodes). */
#define DFS_GROUP_CONNECT_MS	3000
/* While a group elects a leader, a client asks the members again at
 * least this often: a follower's answer costs it next to nothing, and
 * the pause a client sees after a failover is the election plus this at
 * most. */
#define DFS_ELECTION_RETRY_MS	200

/* The valid mask of DFS_NN_SETATTR. */
enum dfs_set {
	DFS_SET_MODE = 1,
	DFS_SET_UID = 2,
	DFS_SET_GID = 4,
	DFS_SET_ATIME = 8,
	DFS_SET_MTIME = 16,
	DFS_SET_SIZE0 = 32,	/* truncate a complete file to 0 bytes */
	DFS_SET_ATIME_NOW = 64,	/* the namenode's clock, not atime_ns */
	DFS_SET_MTIME_NOW = 128,
};

/* STAT's flags. */
#define DFS_STAT_HOLD	0x1	/* the client holds the file open */

/* One BLOCK_REPORT part carries at most this many replicas (25 bytes
 * each): a report of any size is split into parts of one report id, and
 * the namenode holds its lock for one part at a time. */
#define DFS_REPORT_PART_MAX	16384
#define DFS_REPORT_PARTS_MAX	65536
/* Flags of a replica in a block report. */
#define DFS_REPORT_CORRUPT	0x01	/* its holder found it does not check
					   (a bad sidecar at start-up) */

/* A cluster id: text, at most this long (a uuid is 36). */
#define DFS_MAX_CLUSTER_ID	64

/* The flags of DFS_NN_ABANDON's optional tail. */
enum dfs_abandon {
	DFS_ABANDON_FILE = 1,	/* give the whole file up: closed empty */
};

/* The flags byte of DFS_NN_CREATE. */
enum dfs_create_flag {
	DFS_CREATE_OVERWRITE = 1,	/* rewrite an existing file */
	DFS_CREATE_PUT_TEMP = 2,	/* the temporary name of a put: lease
					   recovery removes it, never closes
					   it (nn-recover.c) */
};

/* The flags of DFS_NN_RENAME. */
enum dfs_rename_flag {
	DFS_RENAME_NOREPLACE = 1,	/* an existing dst is -EEXIST */
	DFS_RENAME_NOREPLACE_UC = 2,	/* a dst being written is -EPERM */
};

enum dfs_dn_cmd {
	DFS_CMD_DELETE = 1,
	DFS_CMD_REPLICATE = 2,
	DFS_CMD_REREGISTER = 3,
	DFS_CMD_VERIFY = 4,	/* verify a whole replica, answer VERIFIED */
	DFS_CMD_KEYS = 5,	/* the token keys (lib/token.h), all of them */
};

/* What BALANCE asks. */
enum dfs_balance_op {
	DFS_BALANCE_STATUS = 0,
	DFS_BALANCE_START = 1,
	DFS_BALANCE_STOP = 2,	/* moves in flight still finish */
};

/* Where the balancer stands. */
enum dfs_balance_state {
	DFS_BALANCE_IDLE = 0,	/* not run since the namenode started */
	DFS_BALANCE_RUNNING = 1,
	DFS_BALANCE_DONE = 2,	/* every node within the threshold */
	DFS_BALANCE_STOPPED = 3, /* by --stop */
	DFS_BALANCE_STUCK = 4,	/* imbalanced, but no replica can move */
};

#define DFS_BALANCE_THRESHOLD	1000		/* 10% */
#define DFS_BALANCE_BANDWIDTH	(32U << 20)	/* bytes a second */
#define DFS_BALANCE_MIN_BANDWIDTH (64U << 10)

/* The result of DN_VERIFIED. */
enum dfs_verify {
	DFS_VERIFY_GOOD = 0,	/* every chunk matched its checksum */
	DFS_VERIFY_BAD = 1,	/* a chunk, the sidecar or the file failed */
	DFS_VERIFY_ABSENT = 2,	/* the node holds no such replica */
};

enum dfs_ftype {
	DFS_FT_FILE = 1,
	DFS_FT_DIR = 2,
	DFS_FT_SYMLINK = 3,
	/* Special files: only their inode is stored; I/O on them is the
	 * kernel's business (a FIFO between processes of one mount). */
	DFS_FT_FIFO = 4,
	DFS_FT_SOCK = 5,
	DFS_FT_CHR = 6,		/* character device, rdev its number */
	DFS_FT_BLK = 7,		/* block device, rdev its number */
};

enum dfs_node_state {
	DFS_NODE_LIVE = 1,
	DFS_NODE_DEAD = 2,
};

enum dfs_block_status {
	DFS_BLK_HEALTHY = 0,
	DFS_BLK_UNDER = 1,	/* fewer live replicas than wanted */
	DFS_BLK_MISSING = 2,	/* no live good replica */
	DFS_BLK_CORRUPT = 3,	/* only corrupt replicas */
	DFS_BLK_OVER = 4,	/* more than wanted */
};

enum dfs_token_mode {
	DFS_TOKEN_READ = 1,
	DFS_TOKEN_WRITE = 2,
};

/* Array metadata the namenode keeps for a .npy file. */
struct dfs_npy_meta {
	bool		valid;		/* false: plain bytes */
	char		descr[8];	/* e.g. "<f8" */
	bool		fortran_order;
	uint8_t		ndim;
	uint64_t	shape[64];
	uint64_t	data_offset;
	uint32_t	itemsize;
	uint64_t	header_len;
};

/* attr: u64 ino, u8 type, u32 mode, u32 uid, u32 gid, u64 size,
 * i64 mtime_ns, i64 atime_ns, i64 ctime_ns, u32 nlink, u16 replication,
 * u64 block_size, u8 under_construction, u32 nblocks, npy.  A device
 * (DFS_FT_CHR, DFS_FT_BLK) has no block size: its slot carries rdev, so
 * the record keeps one layout for every reader. */
struct dfs_attr {
	dfs_ino		ino;
	uint8_t		type;
	uint32_t	mode;
	uint32_t	uid;
	uint32_t	gid;
	uint64_t	size;
	int64_t		mtime_ns;
	int64_t		atime_ns;
	int64_t		ctime_ns;
	uint32_t	nlink;
	uint16_t	replication;
	uint64_t	block_size;
	uint8_t		under_construction;
	uint32_t	nblocks;
	struct dfs_npy_meta npy;
	uint64_t	rdev;		/* a device's number (Linux dev_t) */
};

/* token: u64 block, u64 gen, u8 mode, u64 expiry (unix s), u32 key_id,
 * u32 uid (the user it was issued to), 32 bytes HMAC-SHA256: 65 bytes */
struct dfs_token {
	dfs_block_id	block;
	uint64_t	gen;
	uint8_t		mode;
	uint64_t	expiry;
	uint32_t	key_id;
	uint32_t	uid;
	uint8_t		mac[32];
};

struct dfs_replica_loc {
	dfs_node_id	node;
	char		addr[256];
};

/* lblock: u64 block, u64 gen, u64 offset, u64 len, u32 nlocs,
 * nlocs x (u64 node, str addr), token */
struct dfs_lblock {
	dfs_block_id	block;
	uint64_t	gen;
	uint64_t	offset;		/* in the file */
	uint64_t	len;
	uint32_t	nlocs;
	struct dfs_replica_loc locs[DFS_MAX_REPLICATION];
	struct dfs_token token;
};

void	dfs_proto_put_npy(struct dfs_wbuf *, const struct dfs_npy_meta *);
void	dfs_proto_get_npy(struct dfs_rbuf *, struct dfs_npy_meta *);
void	dfs_proto_put_attr(struct dfs_wbuf *, const struct dfs_attr *);
void	dfs_proto_get_attr(struct dfs_rbuf *, struct dfs_attr *);
void	dfs_proto_put_token(struct dfs_wbuf *, const struct dfs_token *);
void	dfs_proto_get_token(struct dfs_rbuf *, struct dfs_token *);
void	dfs_proto_put_lblock(struct dfs_wbuf *, const struct dfs_lblock *);
void	dfs_proto_get_lblock(struct dfs_rbuf *, struct dfs_lblock *);
const char *dfs_msg_name(uint16_t type);

/*
 * The data node's messages to the namenode, written once for the data
 * node (datanode/dn-nn.c) and bench/nn-bench's simulated data nodes.
 */
struct dfs_dn_usage {
	uint64_t	capacity;	/* bytes of its file system */
	uint64_t	used;		/* used there, by anyone */
	uint64_t	dfs_used;	/* by its replicas */
};
/* One part of a block report: its head, then n dfs_proto_put_replica. */
struct dfs_report_part {
	dfs_node_id	node;
	uint64_t	report;		/* the report's id */
	uint32_t	part;
	uint32_t	nparts;
	uint32_t	n;		/* replicas in this part */
};
void	dfs_proto_put_register(struct dfs_wbuf *, const char *cluster,
	    const char *uuid, const char *addr, const struct dfs_dn_usage *);
int	dfs_proto_get_registered(struct dfs_rbuf *, dfs_node_id *,
	    uint32_t *heartbeat_ms, char *cluster, size_t cap);
void	dfs_proto_put_heartbeat(struct dfs_wbuf *, const char *cluster,
	    dfs_node_id, const struct dfs_dn_usage *, uint32_t xceivers);
void	dfs_proto_put_report_part(struct dfs_wbuf *, const char *cluster,
	    const struct dfs_report_part *);
void	dfs_proto_put_replica(struct dfs_wbuf *, dfs_block_id, uint64_t gen,
	    uint64_t len, uint8_t flags);
void	dfs_proto_put_received(struct dfs_wbuf *, dfs_node_id, dfs_block_id,
	    uint64_t gen, uint64_t len);

/* A DATA frame's payload (DFS_DX_DATA), pointing into the frame. */
struct dfs_data {
	uint64_t	 off;		/* in the block, chunk-aligned */
	uint32_t	 chunk;		/* chunk size, a power of two */
	uint32_t	 nchunks;
	const uint8_t	*crcs;		/* nchunks little-endian CRC32Cs */
	const uint8_t	*data;
	size_t		 len;		/* 0: the end of the stream */
};

int	dfs_proto_get_data(struct dfs_rbuf *, struct dfs_data *);
int	dfs_proto_check_data(const struct dfs_data *, uint64_t *bad);

#endif
