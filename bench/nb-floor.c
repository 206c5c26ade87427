/*
 * nb-floor.c: nn-bench's floor, the statements the namenode's storage
 * runs for each operation, on a bare SQLite database in this process:
 * the same schema (the tables these operations touch, from
 * namenode/nn-db.c), the same pragmas (exclusive locking, WAL,
 * synchronous=NORMAL unless -sync says otherwise), one connection, one
 * transaction per operation where the namenode has one (a create is two:
 * CREATE and COMPLETE), and no network, no locks, no permission or
 * lease logic.  What the namenode adds to these figures is its own cost.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "xmalloc.h"

#include "nb_i.h"

static const char nb_floor_schema[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE inodes(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  type INTEGER NOT NULL, mode INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	"  size INTEGER NOT NULL DEFAULT 0, mtime_ns INTEGER NOT NULL,"
	"  atime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
	"  nlink INTEGER NOT NULL, replication INTEGER NOT NULL DEFAULT 0,"
	"  block_size INTEGER NOT NULL DEFAULT 0,"
	"  under_construction INTEGER NOT NULL DEFAULT 0,"
	"  lease_client TEXT, lease_ms INTEGER, descr TEXT, fortran INTEGER,"
	"  shape TEXT, data_offset INTEGER, itemsize INTEGER,"
	"  header_len INTEGER, rdev INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE dirents(parent INTEGER NOT NULL REFERENCES inodes(id),"
	"  name TEXT NOT NULL, ino INTEGER NOT NULL REFERENCES inodes(id),"
	"  PRIMARY KEY(parent, name)) WITHOUT ROWID;"
	"CREATE INDEX dirents_ino ON dirents(ino);"
	"CREATE TABLE blocks(id INTEGER PRIMARY KEY,"
	"  ino INTEGER NOT NULL REFERENCES inodes(id),"
	"  idx INTEGER NOT NULL, gen INTEGER NOT NULL,"
	"  offset INTEGER NOT NULL, length INTEGER NOT NULL,"
	"  complete INTEGER NOT NULL DEFAULT 0, UNIQUE(ino, idx));"
	"CREATE INDEX inodes_writing ON inodes(lease_ms) "
	"  WHERE under_construction = 1;"
	"INSERT INTO meta VALUES ('next_ino', 2), ('next_block', 1);"
	"INSERT INTO inodes(id, type, mode, uid, gid, mtime_ns, atime_ns,"
	"  ctime_ns, nlink) VALUES (1, 2, 493, 0, 0, 0, 0, 0, 2);"
	"ATTACH ':memory:' AS live;"
	"CREATE TABLE live.nodes(id INTEGER PRIMARY KEY,"
	"  state INTEGER NOT NULL, capacity INTEGER NOT NULL DEFAULT 0,"
	"  used INTEGER NOT NULL DEFAULT 0,"
	"  xceivers INTEGER NOT NULL DEFAULT 0,"
	"  last_hb_ms INTEGER NOT NULL, isfull INTEGER NOT NULL DEFAULT 0,"
	"  dfs_used INTEGER NOT NULL DEFAULT 0,"
	"  report_id INTEGER NOT NULL DEFAULT 0,"
	"  report_next INTEGER NOT NULL DEFAULT -1);"
	"CREATE TABLE live.replicas(block INTEGER NOT NULL,"
	"  node INTEGER NOT NULL, gen INTEGER NOT NULL, len INTEGER NOT NULL,"
	"  corrupt INTEGER NOT NULL DEFAULT 0,"
	"  seen INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY(block, node)) WITHOUT ROWID;"
	"CREATE INDEX live.replicas_node ON replicas(node);"
	"CREATE INDEX live.replicas_corrupt ON replicas(corrupt, node);"
	"CREATE TABLE live.pending(block INTEGER NOT NULL,"
	"  node INTEGER NOT NULL, bytes INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL, since_ms INTEGER NOT NULL, src INTEGER,"
	"  PRIMARY KEY(block, node)) WITHOUT ROWID;"
	"CREATE INDEX live.pending_node ON pending(node);"
	"CREATE TABLE live.commands(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  node INTEGER NOT NULL, kind INTEGER NOT NULL,"
	"  block INTEGER NOT NULL, gen INTEGER NOT NULL, body BLOB);"
	"CREATE INDEX live.commands_node ON commands(node, seq);"
	"CREATE TABLE live.unknown(block INTEGER NOT NULL,"
	"  node INTEGER NOT NULL, gen INTEGER NOT NULL, len INTEGER NOT NULL,"
	"  PRIMARY KEY(block, node)) WITHOUT ROWID;"
	"CREATE INDEX live.unknown_node ON unknown(node);";

/* The statements, prepared once. */
enum {
	S_LOOKUP, S_INODE, S_NEXT, S_BUMP, S_INSERT, S_DIRENT, S_TOUCH,
	S_DONE, S_BLOCKS, S_LIST, S_UNLINK, S_DROPBLK, S_DROPINO,
	S_NODE, S_SEEN0, S_NODESET, S_BLOCK, S_DOOMED, S_UPSERT, S_PENDING,
	S_UNSEEN, S_HB, S_HBREP, S_HBPEND, S_ISFULL, S_CMDS, S_ADDBLK,
	S_ADDNODE, S_NEXTBLK, S_UNKNOWN, S_UNKNOWN0, S_UNKNOWNS, S_COUNT
};

static const char *nb_floor_sql[S_COUNT] = {
	"SELECT ino FROM dirents WHERE parent = ? AND name = ?",
	"SELECT id, type, mode, uid, gid, size, mtime_ns, atime_ns, "
	"ctime_ns, nlink, replication, block_size, under_construction, "
	"lease_client, descr, shape, rdev FROM inodes WHERE id = ?",
	"SELECT value FROM meta WHERE key = 'next_ino'",
	"UPDATE meta SET value = value + 1 WHERE key = 'next_ino'",
	"INSERT INTO inodes(id, type, mode, uid, gid, mtime_ns, atime_ns, "
	"ctime_ns, nlink, replication, block_size, under_construction, "
	"lease_client, lease_ms) VALUES (?1, ?2, 420, 0, 0, ?3, ?3, ?3, 1, "
	"3, 67108864, ?4, 'nn-bench', ?3)",
	"INSERT INTO dirents(parent, name, ino) VALUES (?, ?, ?)",
	"UPDATE inodes SET mtime_ns = ?2, ctime_ns = ?2 WHERE id = ?1",
	"UPDATE inodes SET under_construction = 0, size = 0, "
	"lease_client = NULL, lease_ms = NULL, mtime_ns = ?2 WHERE id = ?1",
	"SELECT id, idx, gen, offset, length, complete FROM blocks "
	"WHERE ino = ? ORDER BY idx",
	"SELECT d.name, i.id, i.type, i.mode, i.uid, i.gid, i.size, "
	"i.mtime_ns, i.nlink FROM dirents d JOIN inodes i ON i.id = d.ino "
	"WHERE d.parent = ? AND d.name > '' ORDER BY d.name LIMIT 1000",
	"DELETE FROM dirents WHERE parent = ? AND name = ?",
	"DELETE FROM blocks WHERE ino = ?",
	"DELETE FROM inodes WHERE id = ?",
	"SELECT report_id, report_next FROM live.nodes WHERE id = ?",
	"UPDATE live.replicas SET seen = 0 WHERE node = ?",
	"UPDATE live.nodes SET report_id = ?, report_next = ? WHERE id = ?",
	"SELECT id, idx, gen, offset, length, complete FROM blocks "
	"WHERE id = ?",
	"SELECT EXISTS (SELECT 1 FROM live.commands WHERE node = ?1 AND "
	"block = ?2 AND gen = ?3 AND kind = 1)",
	"INSERT INTO live.replicas(block, node, gen, len, corrupt, seen) "
	"VALUES (?1, ?2, ?3, ?4, 0, 1) ON CONFLICT(block, node) DO UPDATE "
	"SET corrupt = CASE WHEN gen = excluded.gen THEN corrupt ELSE 0 END, "
	"gen = excluded.gen, len = excluded.len, seen = 1",
	"UPDATE live.pending SET kind = 3, bytes = ?3, since_ms = ?4 "
	"WHERE block = ?1 AND node = ?2 AND kind != 3",
	"DELETE FROM live.replicas WHERE node = ? AND seen = 0",
	"UPDATE live.nodes SET capacity = ?2, used = ?3, xceivers = ?4, "
	"last_hb_ms = ?5, dfs_used = ?6 WHERE id = ?1 AND state = 1",
	"DELETE FROM live.replicas WHERE node = ? AND corrupt = 3",
	"DELETE FROM live.pending WHERE node = ? AND kind = 3 AND "
	"since_ms < ?",
	"SELECT isfull FROM live.nodes WHERE id = ?",
	"SELECT seq, kind, block, gen, body FROM live.commands "
	"WHERE node = ?1 ORDER BY seq LIMIT 64",
	"INSERT INTO blocks(id, ino, idx, gen, offset, length, complete) "
	"VALUES (?1, 1, ?1, 1000, ?2, 1024, 1)",
	"INSERT INTO live.nodes(id, state, last_hb_ms) VALUES (?, 1, 0)",
	"SELECT value FROM meta WHERE key = 'next_block'",
	"INSERT OR REPLACE INTO live.unknown(block, node, gen, len) "
	"VALUES (?, ?, 1, 1024)",
	"DELETE FROM live.unknown WHERE node = ?",
	"SELECT count(*) FROM live.unknown WHERE node = ?",
};

struct nb_floor {
	sqlite3		*db;
	sqlite3_stmt	*st[S_COUNT];
	char		 dir[256];
	int64_t		 now;
};

/* Bind ints (and, where text is not NULL, text at index ti) and step
 * to the end; the number of rows seen, or -EIO. */
static int
nb_floor_go(struct nb_floor *f, int s, int ti, const char *text, int n,
    const int64_t *v)
{
	sqlite3_stmt	*st = f->st[s];
	int		 rows = 0, rc;

	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1 + (ti > 0 && i + 1 >= ti), v[i]);
	if (text != NULL)
		sqlite3_bind_text(st, ti, text, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rows++;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? rows : -EIO;
}

/* One integer from a one-row query of one integer argument. */
static int64_t
nb_floor_one(struct nb_floor *f, int s, int ti, const char *text,
    int n, const int64_t *v)
{
	sqlite3_stmt	*st = f->st[s];
	int64_t		 out = -1;

	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1 + (ti > 0 && i + 1 >= ti), v[i]);
	if (text != NULL)
		sqlite3_bind_text(st, ti, text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return out;
}

/* Run sql (no rows wanted): 0 or -EIO. */
static int
nb_floor_exec(struct nb_floor *f, const char *sql)
{
	return sqlite3_exec(f->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 :
	    -EIO;
}

/* The inode of path, a lookup per component as the namenode walks it
 * (and the inode read of each directory on the way, its permission
 * check); -1 when absent.  *parent and *leaf: the last step. */
static int64_t
nb_floor_walk(struct nb_floor *f, const char *path, int64_t *parent,
    const char **leaf)
{
	char		 name[256];
	const char	*p = path, *e;
	int64_t		 ino = 1;

	*parent = 1;
	*leaf = path;
	while (*p == '/')
		p++;
	while (*p != '\0' && ino > 0) {
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		snprintf(name, sizeof name, "%.*s", (int)(e - p), p);
		(void)nb_floor_go(f, S_INODE, 0, NULL, 1, &ino);
		*parent = ino;
		*leaf = p;
		ino = nb_floor_one(f, S_LOOKUP, 2, name, 1, &ino);
		p = *e == '/' ? e + 1 : e;
	}
	return ino;
}

/* Make a file or directory at path (whose parent exists). */
static int
nb_floor_make(struct nb_floor *f, const char *path, int type, bool uc)
{
	const char	*leaf;
	int64_t		 parent, ino, v[4];

	if (nb_floor_walk(f, path, &parent, &leaf) > 0)
		return -EEXIST;
	ino = nb_floor_one(f, S_NEXT, 0, NULL, 0, NULL);
	v[0] = ino;
	v[1] = type;
	v[2] = ++f->now;
	v[3] = uc;
	if (nb_floor_go(f, S_BUMP, 0, NULL, 0, NULL) < 0 ||
	    nb_floor_go(f, S_INSERT, 0, NULL, 4, v) < 0)
		return -EIO;
	v[0] = parent;
	v[1] = ino;
	if (nb_floor_go(f, S_DIRENT, 2, leaf, 2, v) < 0)
		return -EIO;
	v[1] = f->now;
	return nb_floor_go(f, S_TOUCH, 0, NULL, 2, v) < 0 ? -EIO : 0;
}

/* One namespace operation on path, as the namenode's storage does it. */
static int
nb_floor_op(struct nb_floor *f, enum nb_op op, const char *path)
{
	const char	*leaf;
	char		 to[520];
	int64_t		 parent, ino, tparent, v[2];
	int		 rc = 0;

	switch (op) {
	case NB_CREATE:
	case NB_MKDIR:
		if (nb_floor_exec(f, "BEGIN IMMEDIATE") != 0)
			return -EIO;
		rc = nb_floor_make(f, path, op == NB_MKDIR ? 2 : 1,
		    op == NB_CREATE);
		if (nb_floor_exec(f, rc == 0 ? "COMMIT" : "ROLLBACK") != 0 ||
		    rc != 0 || op == NB_MKDIR)
			return rc;
		/* COMPLETE, its own request and transaction. */
		if (nb_floor_exec(f, "BEGIN IMMEDIATE") != 0)
			return -EIO;
		ino = nb_floor_walk(f, path, &parent, &leaf);
		v[0] = ino;
		v[1] = ++f->now;
		if (nb_floor_go(f, S_INODE, 0, NULL, 1, v) < 0 ||
		    nb_floor_go(f, S_BLOCKS, 0, NULL, 1, v) < 0 ||
		    nb_floor_go(f, S_DONE, 0, NULL, 2, v) < 0)
			rc = -EIO;
		return nb_floor_exec(f, rc == 0 ? "COMMIT" : "ROLLBACK") ||
		    rc;
	case NB_STAT:
	case NB_OPEN:
	case NB_LS:
		if ((ino = nb_floor_walk(f, path, &parent, &leaf)) < 0)
			return -ENOENT;
		if (nb_floor_go(f, S_INODE, 0, NULL, 1, &ino) < 0)
			return -EIO;
		if (op == NB_OPEN &&
		    nb_floor_go(f, S_BLOCKS, 0, NULL, 1, &ino) < 0)
			return -EIO;
		if (op == NB_LS && nb_floor_go(f, S_LIST, 0, NULL, 1,
		    &ino) < 0)
			return -EIO;
		return 0;
	case NB_RENAME:
	case NB_DELETE:
		if (nb_floor_exec(f, "BEGIN IMMEDIATE") != 0)
			return -EIO;
		ino = nb_floor_walk(f, path, &parent, &leaf);
		snprintf(to, sizeof to, "%s", leaf);
		v[0] = parent;
		if (ino < 0 || nb_floor_go(f, S_INODE, 0, NULL, 1, &ino) < 0 ||
		    nb_floor_go(f, S_UNLINK, 2, to, 1, v) < 0)
			rc = -EIO;
		if (rc == 0 && op == NB_RENAME) {
			snprintf(to, sizeof to, "%s.r", path);
			(void)nb_floor_walk(f, to, &tparent, &leaf);
			v[0] = tparent;
			v[1] = ino;
			if (nb_floor_go(f, S_DIRENT, 2, leaf, 2, v) < 0)
				rc = -EIO;
		} else if (rc == 0 && (nb_floor_go(f, S_DROPBLK, 0, NULL, 1,
		    &ino) < 0 || nb_floor_go(f, S_DROPINO, 0, NULL, 1,
		    &ino) < 0))
			rc = -EIO;
		v[0] = parent;
		v[1] = ++f->now;
		if (rc == 0 && nb_floor_go(f, S_TOUCH, 0, NULL, 2, v) < 0)
			rc = -EIO;
		return nb_floor_exec(f, rc == 0 ? "COMMIT" : "ROLLBACK") ||
		    rc;
	default:
		return -EINVAL;
	}
}

/* One replica of a report part, as nn_blockmap_accept takes it: one
 * the namespace knows, or with -unknown one it never handed out (the
 * namenode also logs each of those, which the floor does not). */
static int
nb_floor_replica(struct nb_floor *f, bool unknown, int64_t node,
    int64_t block)
{
	int64_t	v[4] = { node, block, 1000, 0 };
	int64_t	u[4] = { block, node, 1000, 1024 };
	int64_t	p[4] = { block, node, 1024, f->now };

	if (unknown)
		return nb_floor_go(f, S_BLOCK, 0, NULL, 1, &block) != 0 ||
		    nb_floor_go(f, S_NEXTBLK, 0, NULL, 0, NULL) < 0 ||
		    nb_floor_go(f, S_UNKNOWN, 0, NULL, 2, u) < 0 ? -EIO : 0;
	if (nb_floor_go(f, S_BLOCK, 0, NULL, 1, &block) != 1 ||
	    nb_floor_go(f, S_DOOMED, 0, NULL, 3, v) < 0 ||
	    nb_floor_go(f, S_UPSERT, 0, NULL, 4, u) < 0 ||
	    nb_floor_go(f, S_PENDING, 0, NULL, 4, p) < 0)
		return -EIO;
	return 0;
}

/* Node's whole report of nblocks from first, in parts of o->part, one
 * transaction each. */
static int
nb_floor_report(struct nb_floor *f, const struct nb_opts *o, int64_t node,
    int64_t first, uint64_t nblocks)
{
	uint64_t	nparts = nblocks == 0 ? 1 : (nblocks + o->part - 1) /
			    o->part, at = 0;
	int64_t		v[3];
	int		rc = 0;

	for (uint64_t part = 0; part < nparts && rc == 0; part++) {
		uint64_t k = nblocks - at < o->part ? nblocks - at : o->part;

		if (nb_floor_exec(f, "BEGIN IMMEDIATE") != 0)
			return -EIO;
		v[0] = 7;
		v[1] = part + 1 < nparts ? (int64_t)part + 1 : -1;
		v[2] = node;
		if (nb_floor_go(f, S_NODE, 0, NULL, 1, &node) < 0 ||
		    (part == 0 && nb_floor_go(f, S_SEEN0, 0, NULL, 1,
		    &node) < 0) ||
		    (part == 0 && nb_floor_go(f, S_UNKNOWN0, 0, NULL, 1,
		    &node) < 0) ||
		    nb_floor_go(f, S_NODESET, 0, NULL, 3, v) < 0)
			rc = -EIO;
		for (uint64_t i = at; i < at + k && rc == 0; i++)
			rc = nb_floor_replica(f, o->unknown, node, first +
			    (int64_t)i);
		at += k;
		if (rc == 0 && part + 1 == nparts &&
		    (nb_floor_go(f, S_UNSEEN, 0, NULL, 1, &node) < 0 ||
		    nb_floor_go(f, S_UNKNOWNS, 0, NULL, 1, &node) < 0))
			rc = -EIO;
		if (nb_floor_exec(f, rc == 0 ? "COMMIT" : "ROLLBACK") != 0)
			rc = -EIO;
	}
	return rc;
}

/* One heartbeat of node, as nn_datanodes_op_heartbeat runs it. */
static int
nb_floor_heartbeat(struct nb_floor *f, int64_t node)
{
	int64_t	v[6] = { node, INT64_C(1) << 60, 0, 0, ++f->now, 0 };
	int64_t	p[2] = { node, f->now - 250 };

	if (nb_floor_go(f, S_HB, 0, NULL, 6, v) < 0 ||
	    nb_floor_go(f, S_HBREP, 0, NULL, 1, &node) < 0 ||
	    nb_floor_go(f, S_HBPEND, 0, NULL, 2, p) < 0 ||
	    nb_floor_go(f, S_ISFULL, 0, NULL, 1, &node) < 0 ||
	    nb_floor_go(f, S_CMDS, 0, NULL, 1, &node) < 0)
		return -EIO;
	return 0;
}

/* The data node operations: D nodes, each holding B blocks. */
static int
nb_floor_nodes(struct nb_floor *f, const struct nb_opts *o,
    struct nb_stats *st)
{
	uint64_t	 B = o->blocks;
	int64_t		 v[2], t0, w0;
	int		 rc = 0;

	if (nb_floor_exec(f, "BEGIN") != 0)
		return -EIO;
	for (int64_t i = 1; i <= o->datanodes && rc == 0; i++)
		rc = nb_floor_go(f, S_ADDNODE, 0, NULL, 1, &i) < 0 ? -EIO : 0;
	for (uint64_t b = 1; !o->unknown && b <= B * (uint64_t)o->datanodes &&
	    rc == 0; b++) {
		v[0] = (int64_t)b;
		v[1] = (int64_t)b * 1024;
		rc = nb_floor_go(f, S_ADDBLK, 0, NULL, 2, v) < 0 ? -EIO : 0;
	}
	if (nb_floor_exec(f, rc == 0 ? "COMMIT" : "ROLLBACK") != 0 || rc != 0)
		return -EIO;
	/* A first report, untimed, so the timed one is the steady state. */
	for (int64_t i = 1; i <= o->datanodes && rc == 0; i++)
		rc = nb_floor_report(f, o, i, 1 + (i - 1) * (int64_t)B, B);
	w0 = nb_now_ns();
	for (int k = 0; k < (o->op == NB_HEARTBEAT ? o->rounds : 1); k++)
		for (int64_t i = 1; i <= o->datanodes && rc == 0; i++) {
			t0 = nb_now_ns();
			if (o->op == NB_BLOCKREPORT)
				rc = nb_floor_report(f, o, i, 1 + (i - 1) *
				    (int64_t)B, B);
			else
				rc = nb_floor_heartbeat(f, i);
			nb_stats_add(st, (uint64_t)(nb_now_ns() - t0));
			st->units += o->op == NB_BLOCKREPORT ? B : 1;
		}
	st->wall_ns = nb_now_ns() - w0;
	return rc;
}

/* The namespace operations: the same paths as the threads use, one
 * after another on the one connection, as the namenode's lock has it. */
static int
nb_floor_ns(struct nb_floor *f, const struct nb_opts *o,
    struct nb_stats *st)
{
	char		 path[512];
	uint64_t	 per = o->n / (uint64_t)o->threads + 1;
	int64_t		 t0, w0;
	int		 rc = 0;

	/* The directories (and files the operation needs), untimed. */
	if (nb_floor_exec(f, "BEGIN") != 0)
		return -EIO;
	snprintf(path, sizeof path, "%s", o->base);
	for (char *p = path + 1; ; p++)
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			(void)nb_floor_make(f, path, 2, false);
			if ((*p = c) == '\0')
				break;
		}
	for (int t = 0; t < o->threads; t++) {
		snprintf(path, sizeof path, "%s/t%d", o->base, t);
		(void)nb_floor_make(f, path, 2, false);
		for (uint64_t d = 0; d * o->per_dir < per; d++) {
			snprintf(path, sizeof path, "%s/t%d/d%" PRIu64,
			    o->base, t, d);
			(void)nb_floor_make(f, path, 2, false);
		}
		for (uint64_t i = 0; i < per && o->op != NB_CREATE &&
		    o->op != NB_MKDIR; i++) {
			snprintf(path, sizeof path, "%s/t%d/d%" PRIu64 "/f%"
			    PRIu64, o->base, t, i / o->per_dir, i);
			(void)nb_floor_make(f, path, 1, false);
		}
	}
	if (nb_floor_exec(f, "COMMIT") != 0)
		return -EIO;
	w0 = nb_now_ns();
	for (uint64_t n = 0; n < o->n && rc == 0; n++) {
		int t = (int)(n % (uint64_t)o->threads);
		uint64_t i = n / (uint64_t)o->threads;

		if (o->op == NB_LS)
			snprintf(path, sizeof path, "%s/t%d/d%" PRIu64,
			    o->base, t, i % ((per + o->per_dir - 1) /
			    o->per_dir));
		else
			snprintf(path, sizeof path, "%s/t%d/d%" PRIu64 "/%s%"
			    PRIu64, o->base, t, i / o->per_dir,
			    o->op == NB_MKDIR ? "m" : "f", i);
		t0 = nb_now_ns();
		rc = nb_floor_op(f, o->op, path);
		nb_stats_add(st, (uint64_t)(nb_now_ns() - t0));
		st->units++;
	}
	st->wall_ns = nb_now_ns() - w0;
	return rc;
}

/* The floor of the run's operation, on a new database in $TMPDIR. */
int
nb_floor_run(const struct nb_opts *o, struct nb_stats *st, char **cause)
{
	struct nb_floor	 f = { .now = 1 };
	const char	*tmp = getenv("TMPDIR");
	char		 path[300], *pragmas;
	int		 rc = -EIO;

	snprintf(f.dir, sizeof f.dir, "%s/nn-bench-floor.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(f.dir) == NULL) {
		xasprintf(cause, "cannot make %s: %s", f.dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof path, "%s/namespace.db", f.dir);
	xasprintf(&pragmas, "PRAGMA locking_mode=EXCLUSIVE;"
	    "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
	    "PRAGMA foreign_keys=ON;", o->sync);
	if (sqlite3_open(path, &f.db) != SQLITE_OK ||
	    nb_floor_exec(&f, pragmas) != 0 ||
	    nb_floor_exec(&f, nb_floor_schema) != 0)
		goto out;
	for (int i = 0; i < S_COUNT; i++)
		if (sqlite3_prepare_v2(f.db, nb_floor_sql[i], -1, &f.st[i],
		    NULL) != SQLITE_OK)
			goto out;
	if (o->op == NB_BLOCKREPORT || o->op == NB_HEARTBEAT)
		rc = nb_floor_nodes(&f, o, st);
	else
		rc = nb_floor_ns(&f, o, st);
out:
	if (rc != 0)
		xasprintf(cause, "SQLite: %s", f.db != NULL ?
		    sqlite3_errmsg(f.db) : "cannot open");
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(f.st[i]);
	sqlite3_close(f.db);
	unlink(path);
	snprintf(path, sizeof path, "%s/namespace.db-wal", f.dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/namespace.db-shm", f.dir);
	unlink(path);
	rmdir(f.dir);
	free(pragmas);
	return rc;
}
