/*
 * nn-db.c: the namenode's SQLite database: schema, cached statements and
 * transactions.
 *
 * Why it is built this way.  The namespace (inodes, directory entries,
 * blocks, data node ids and counters) lives in namespace.db under
 * namenode.meta_dir, in WAL mode: a committed transaction survives kill -9
 * of the namenode (the WAL is in the file system before COMMIT returns);
 * what survives a power loss is namenode.sync's business (nn-sync.c: the
 * WAL synced every interval and on request, or at every COMMIT).  Every
 * user-visible operation is one
 * BEGIN IMMEDIATE ... COMMIT, rolled back on any error, so a crash never
 * leaves half a rename or half a delete.
 *
 * What HDFS keeps only in memory, the namenode keeps in an attached
 * in-memory database, "live": data node liveness and load, the replica map
 * (which node holds which block), blocks being written to a node, and the
 * commands queued for each node.  They vanish on restart, exactly as they
 * should (block reports rebuild them), and holding them in SQL rather than
 * in hand-written hash maps buys three things: the same transaction that
 * deletes a file also drops its replicas and queues their DELETE commands,
 * so a rollback undoes both; every lookup we need (replicas by block, by
 * node, counts per node) is one index; and fsck, placement and reports are
 * queries that join the two worlds.
 *
 * One connection serves every thread, behind one mutex (struct nn's lock).
 * SQLite would serialize writers anyway, the operations are short (WAL
 * commits append to a file without fsync), and one lock makes each
 * request's view of the namespace and the replica map consistent without
 * a lock order to get wrong; HDFS's namenode also runs on one global lock.
 * Statements are prepared once and cached by the address of their SQL text.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "nn_i.h"
#include "private.h"
#include "uuid.h"
#include "xmalloc.h"

static const char nn_db_schema[] =
	"CREATE TABLE IF NOT EXISTS meta("
	"  key TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS inodes("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  type INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  gid INTEGER NOT NULL,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  mtime_ns INTEGER NOT NULL,"
	"  atime_ns INTEGER NOT NULL,"
	"  ctime_ns INTEGER NOT NULL,"
	"  nlink INTEGER NOT NULL,"
	"  replication INTEGER NOT NULL DEFAULT 0,"
	"  block_size INTEGER NOT NULL DEFAULT 0,"
	"  under_construction INTEGER NOT NULL DEFAULT 0,"
	"  lease_client TEXT,"
	"  lease_ms INTEGER,"
	"  descr TEXT,"
	"  fortran INTEGER,"
	"  shape TEXT,"
	"  data_offset INTEGER,"
	"  itemsize INTEGER,"
	"  header_len INTEGER,"
	"  rdev INTEGER NOT NULL DEFAULT 0);"	/* schema 2 */
	/* An inode may have several names (hard links, schema 2). */
	"CREATE TABLE IF NOT EXISTS dirents("
	"  parent INTEGER NOT NULL REFERENCES inodes(id),"
	"  name TEXT NOT NULL,"
	"  ino INTEGER NOT NULL REFERENCES inodes(id),"
	"  PRIMARY KEY(parent, name)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS dirents_ino ON dirents(ino);"
	"CREATE TABLE IF NOT EXISTS blocks("
	"  id INTEGER PRIMARY KEY,"
	"  ino INTEGER NOT NULL REFERENCES inodes(id),"
	"  idx INTEGER NOT NULL,"
	"  gen INTEGER NOT NULL,"
	"  offset INTEGER NOT NULL,"
	"  length INTEGER NOT NULL,"
	"  complete INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE(ino, idx));"
	"CREATE TABLE IF NOT EXISTS datanodes("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  addr TEXT NOT NULL);"
	/* Added with certificates (an older database gains it on open):
	 * the data node certificate that first registered each node id. */
	"CREATE TABLE IF NOT EXISTS datanode_certs("
	"  id INTEGER PRIMARY KEY,"
	"  cert TEXT NOT NULL);"
	/* Added with symbolic links; an older database gains it on open. */
	"CREATE TABLE IF NOT EXISTS symlinks("
	"  ino INTEGER PRIMARY KEY REFERENCES inodes(id) ON DELETE CASCADE,"
	"  target TEXT NOT NULL);"
	/* The temporary names puts write to (CREATE's DFS_CREATE_PUT_TEMP),
	 * until their rename; closed_ms is when lease recovery first saw
	 * one complete (nn-recover.c).  An older database gains it on open. */
	"CREATE TABLE IF NOT EXISTS put_temps("
	"  ino INTEGER PRIMARY KEY REFERENCES inodes(id) ON DELETE CASCADE,"
	"  closed_ms INTEGER);"
	/* Files being written, for lease recovery; an older database
	 * gains it on open. */
	"CREATE INDEX IF NOT EXISTS inodes_writing ON inodes(lease_ms) "
	"  WHERE under_construction = 1;"
	/* Files unlinked while mounts held them open, one row per holder
	 * (nn-hold.c, schema 3). */
	"CREATE TABLE IF NOT EXISTS orphans("
	"  ino INTEGER NOT NULL REFERENCES inodes(id),"
	"  client TEXT NOT NULL,"	/* the holder's lease name */
	"  who TEXT NOT NULL,"		/* and its identity */
	"  since_ms INTEGER NOT NULL,"
	"  PRIMARY KEY(ino, client)) WITHOUT ROWID;"
	/* Requests answered, so that a retry gets the same answer and
	 * changes nothing (nn-once.c); an older database gains it on
	 * open. */
	"CREATE TABLE IF NOT EXISTS requests("
	"  client INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  reply BLOB,"
	"  at_ms INTEGER NOT NULL,"
	"  PRIMARY KEY(client, seq)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS requests_at ON requests(at_ms);"
	/* Patches promised and not yet committed, one per block (nn-patch.c,
	 * schema 4).  No foreign key: a row whose block went is dropped by
	 * the monitor, and a block id is never handed out again. */
	"CREATE TABLE IF NOT EXISTS patches("
	"  block INTEGER PRIMARY KEY,"
	"  ino INTEGER NOT NULL,"
	"  client TEXT NOT NULL,"	/* the writer's lease name */
	"  old_gen INTEGER NOT NULL,"
	"  new_gen INTEGER NOT NULL,"
	"  new_len INTEGER NOT NULL,"
	"  new_size INTEGER NOT NULL);"
	/* A namenode group's token keys (nn-keys.c), so that a new leader
	 * signs with the keys the data nodes already hold: the ring of the
	 * last leader, role 1 its signing key, 2 the next one.  One
	 * namenode keeps its keys in memory only and leaves this empty. */
	"CREATE TABLE IF NOT EXISTS token_keys("
	"  id INTEGER PRIMARY KEY,"
	"  expiry INTEGER NOT NULL,"
	"  secret BLOB NOT NULL,"
	"  role INTEGER NOT NULL,"
	"  rotated INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta VALUES ('schema', 4);"
	"INSERT OR IGNORE INTO meta VALUES ('next_block', 1);"
	"INSERT OR IGNORE INTO meta VALUES ('next_gen', 1000);"
	/* The last entry of a namenode group's log in this database
	 * (nn-repl.c, nn-group.c). */
	"INSERT OR IGNORE INTO meta VALUES ('raft_serial', 0);"
	/* Inode numbers from a counter a changeset carries (nn-repl.c),
	 * never reused: an older database starts it past every number its
	 * AUTOINCREMENT handed out. */
	"INSERT OR IGNORE INTO meta SELECT 'next_ino', max(1,"
	"  coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'inodes'),"
	"  0), coalesce((SELECT max(id) FROM inodes), 0)) + 1;"
	/* Data node ids likewise. */
	"INSERT OR IGNORE INTO meta SELECT 'next_node', max("
	"  coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
	"  'datanodes'), 0), coalesce((SELECT max(id) FROM datanodes), 0))"
	"  + 1;";

/*
 * Schema 1 to 2: dirents.ino loses its UNIQUE (an inode may have several
 * names) and keeps an index; inodes gain rdev.  SQLite cannot drop a
 * constraint, so dirents is copied into a new table, inside the
 * transaction of the open: a crash leaves version 1 whole.
 */
static const char nn_db_migrate_1[] =
	"CREATE TABLE dirents_v2("
	"  parent INTEGER NOT NULL REFERENCES inodes(id),"
	"  name TEXT NOT NULL,"
	"  ino INTEGER NOT NULL REFERENCES inodes(id),"
	"  PRIMARY KEY(parent, name)) WITHOUT ROWID;"
	"INSERT INTO dirents_v2(parent, name, ino) "
	"  SELECT parent, name, ino FROM dirents;"
	"DROP TABLE dirents;"
	"ALTER TABLE dirents_v2 RENAME TO dirents;"
	"CREATE INDEX IF NOT EXISTS dirents_ino ON dirents(ino);"
	"ALTER TABLE inodes ADD COLUMN rdev INTEGER NOT NULL DEFAULT 0;"
	"UPDATE meta SET value = 2 WHERE key = 'schema';";

/* Schema 2 to 3: the orphans table, which the schema script above has
 * just made. */
static const char nn_db_migrate_2[] =
	"UPDATE meta SET value = 3 WHERE key = 'schema';";

/* Schema 3 to 4: the patches table (durable patch promises), which the
 * schema script has just made. */
static const char nn_db_migrate_3[] =
	"UPDATE meta SET value = 4 WHERE key = 'schema';";

/* The in-memory half; see the essay above. */
static const char nn_db_live_schema[] =
	"ATTACH ':memory:' AS live;"
	"CREATE TABLE live.nodes("
	"  id INTEGER PRIMARY KEY,"
	"  state INTEGER NOT NULL,"
	"  capacity INTEGER NOT NULL DEFAULT 0,"
	"  used INTEGER NOT NULL DEFAULT 0,"
	"  xceivers INTEGER NOT NULL DEFAULT 0,"
	"  last_hb_ms INTEGER NOT NULL,"
	"  isfull INTEGER NOT NULL DEFAULT 0,"	/* under one block free */
	"  dfs_used INTEGER NOT NULL DEFAULT 0,"	/* its replicas' bytes */
	/* The block report under way: its id and the part expected next
	 * (-1: none under way). */
	"  report_id INTEGER NOT NULL DEFAULT 0,"
	"  report_next INTEGER NOT NULL DEFAULT -1);"
	"CREATE TABLE live.replicas("
	"  block INTEGER NOT NULL,"
	"  node INTEGER NOT NULL,"
	"  gen INTEGER NOT NULL,"
	"  len INTEGER NOT NULL,"
	/* 0 good; 1 corrupt: its holder found it bad; 2 its DELETE queued
	 * (only once another replica verified good, nn-corrupt.c); 3 its
	 * DELETE handed to the node, the row goes at the node's next
	 * heartbeat; -1 suspect: a reader reported it and its holder is
	 * asked to VERIFY it (negative, so that what is done to 0 and to
	 * 2-3 leaves it alone).  Only 0 is counted and handed out. */
	"  corrupt INTEGER NOT NULL DEFAULT 0,"
	"  seen INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY(block, node)) WITHOUT ROWID;"
	"CREATE INDEX live.replicas_node ON replicas(node);"
	"CREATE INDEX live.replicas_corrupt ON replicas(corrupt, node);"
	/*
	 * Blocks on their way to a node: written by a client (kind 1) or
	 * copied from node src (kind 2); then, once stored, kept as kind 3
	 * until the node's next heartbeat counts them in its usage, so that
	 * placement never sees the space twice free.  Kind 4: a patch the
	 * node has yet to report (nn-patch.c).
	 */
	"CREATE TABLE live.pending("
	"  block INTEGER NOT NULL,"
	"  node INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  since_ms INTEGER NOT NULL,"
	"  src INTEGER,"
	"  PRIMARY KEY(block, node)) WITHOUT ROWID;"
	"CREATE INDEX live.pending_node ON pending(node);"
	"CREATE INDEX live.pending_src ON pending(src);"
	/* Writers' lease renewals (nn-write.c): volatile, so that a renewal
	 * is not a change to the namespace (in a group, an entry of the
	 * log).  A file's lease is the later of this and inodes.lease_ms
	 * (set when it was opened for writing).  At start-up and when a
	 * group member takes the lead, every writer gets a full period
	 * (nn_recover_grant). */
	"CREATE TABLE live.leases("
	"  ino INTEGER PRIMARY KEY,"
	"  renewed_ms INTEGER NOT NULL);"
	/* Blocks short of replicas, most urgent (lowest prio) first; see
	 * nn-place.c. */
	"CREATE TABLE live.needed("
	"  block INTEGER PRIMARY KEY,"
	"  prio INTEGER NOT NULL,"
	"  since_ms INTEGER NOT NULL);"
	"CREATE INDEX live.needed_prio ON needed(prio, since_ms);"
	/* Replicas a node reported that the namespace does not know (a block
	 * id not handed out yet, a newer generation): kept on the node, and
	 * listed by fsck and report; see nn-blockmap.c. */
	"CREATE TABLE live.unknown("
	"  block INTEGER NOT NULL,"
	"  node INTEGER NOT NULL,"
	"  gen INTEGER NOT NULL,"
	"  len INTEGER NOT NULL,"
	"  PRIMARY KEY(block, node)) WITHOUT ROWID;"
	"CREATE INDEX live.unknown_node ON unknown(node);"
	"CREATE TABLE live.commands("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  node INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  block INTEGER NOT NULL,"
	"  gen INTEGER NOT NULL,"
	"  body BLOB);"
	"CREATE INDEX live.commands_node ON commands(node, seq);"
	"CREATE INDEX live.commands_block ON commands(block);"
	/* What holders said of their replicas (nn-corrupt.c): a VERIFY
	 * outstanding since asked_ms (0: none), the last result (-1 none,
	 * else enum dfs_verify) and when it came, and when the replica was
	 * last found bad (0: never). */
	"CREATE TABLE live.verify("
	"  block INTEGER NOT NULL,"
	"  node INTEGER NOT NULL,"
	"  asked_ms INTEGER NOT NULL DEFAULT 0,"
	"  result INTEGER NOT NULL DEFAULT -1,"
	"  result_ms INTEGER NOT NULL DEFAULT 0,"
	"  found_ms INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY(block, node)) WITHOUT ROWID;";

/* The first time a fresh database starts: the root directory. */
static const char nn_db_root[] =
	"INSERT OR IGNORE INTO inodes(id, type, mode, uid, gid, size, mtime_ns,"
	"  atime_ns, ctime_ns, nlink) VALUES (1, 2, 493, 0, 0, 0, ?1, ?1, ?1,"
	"  2)";

/* Log an SQLite failure and turn its code into a negative errno. */
static int
nn_db_err(struct nn *nn, int src, const char *what)
{
	int	rc;

	switch (src & 0xff) {
	case SQLITE_CONSTRAINT:
		rc = -EEXIST;
		break;
	case SQLITE_FULL:
		rc = -ENOSPC;
		break;
	case SQLITE_NOMEM:
		rc = -ENOMEM;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		rc = -EBUSY;
		break;
	default:
		rc = -EIO;
		break;
	}
	log_err("sqlite: %s: %s", what, nn->db != NULL ?
	    sqlite3_errmsg(nn->db) : sqlite3_errstr(src));
	return rc;
}

/* Run a script of statements; only for start-up. */
static int
nn_db_script(struct nn *nn, const char *sql, char **cause)
{
	char	*msg = NULL;
	int	 src;

	if ((src = sqlite3_exec(nn->db, sql, NULL, NULL, &msg)) == SQLITE_OK)
		return 0;
	if (cause != NULL)
		xasprintf(cause, "database: %s", msg != NULL ? msg :
		    sqlite3_errstr(src));
	sqlite3_free(msg);
	return -EIO;
}

/*
 * Whether the open database holds a namespace at all: an empty or
 * foreign SQLite file has no meta table.
 */
static bool
nn_db_has_namespace(struct nn *nn)
{
	int64_t	n;

	return nn_db_i64(nn, &n, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name IN ('meta', 'inodes', 'dirents', "
	    "'blocks')", "") == 0 && n == 4;
}

/*
 * The cluster id in meta, into nn->cluster_id.  A namespace made before
 * clusters had ids gets one now: it is the cluster's namespace already,
 * so naming it formats nothing.  Inside the open's transaction.
 */
static int
nn_db_cluster_id(struct nn *nn, const char *path, bool format, char **cause)
{
	static const char sql[] =
	    "SELECT value FROM meta WHERE key = 'cluster_id'";
	sqlite3_stmt	*st = nn_db_sql(nn, sql, "");
	const char	*v;
	char		 id[DFS_UUID_LEN + 1];
	int		 rc;

	if ((rc = nn_db_step(nn, st)) == 1) {
		v = (const char *)sqlite3_column_text(st, 0);
		snprintf(nn->cluster_id, sizeof nn->cluster_id, "%s",
		    v != NULL ? v : "");
		nn_db_reset(st);
		if (!dfs_uuid_ok(nn->cluster_id)) {
			xasprintf(cause, "%s: its cluster id '%.64s' is not a "
			    "uuid; the database is damaged", path,
			    nn->cluster_id);
			return -EINVAL;
		}
		return 0;
	}
	if (rc != 0 || dfs_uuid_new(id) != 0) {
		xasprintf(cause, "%s: cannot read or make its cluster id", path);
		return -EIO;
	}
	if ((rc = nn_db_exec(nn, "INSERT INTO meta VALUES ('cluster_id', ?)",
	    "t", id)) != 0) {
		xasprintf(cause, "%s: cannot record its cluster id", path);
		return rc;
	}
	snprintf(nn->cluster_id, sizeof nn->cluster_id, "%s", id);
	if (format)
		log_info("formatted a new namespace in %s: cluster id %s",
		    path, id);
	else
		log_warn("%s had no cluster id (made before clusters had "
		    "one): it is now %s", path, id);
	return 0;
}

/*
 * namenode.meta_dir 0700 and the files in it 0600, tightened when found
 * looser (lib/private.c): the database holds every name in the cluster.
 */
static int
nn_db_private_dir(const char *dir, char **cause)
{
	int	rc;

	if ((rc = dfs_private_dir(dir, cause)) == 0)
		rc = dfs_private_files(dir, NULL, cause);
	return rc;
}

/*
 * Open dir/namespace.db, set it up for WAL and upgrade its schema.  With
 * format, make a new, empty namespace with a new cluster id instead, and
 * refuse when the file exists.  Without it, a database that is missing,
 * empty or not ours is refused: a namenode that started on an empty
 * namespace would take every replica in the cluster for garbage.  Called
 * before any thread runs.
 */
int
nn_db_open(struct nn *nn, const char *dir, bool format, char **cause)
{
	struct stat	 sb;
	char		*path = NULL;
	int64_t		 version = 0;
	int		 fd, flags, src, rc = 0;

	xasprintf(&path, "%s/namespace.db", dir);
	if (format) {
		if ((rc = nn_db_private_dir(dir, cause)) != 0)
			goto out;
		if (lstat(path, &sb) == 0) {
			rc = -EEXIST;
			xasprintf(cause, "%s exists: it holds a namespace, "
			    "which --format would not replace; remove it "
			    "first if you really mean to start a new, empty "
			    "cluster", path);
			goto out;
		}
		/* SQLite would make it 0644 (and its WAL like it). */
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600)) < 0) {
			rc = -errno;
			xasprintf(cause, "cannot create %s: %s", path,
			    strerror(errno));
			goto out;
		}
		close(fd);
	} else if (stat(path, &sb) != 0) {
		rc = -errno;
		xasprintf(cause, "%s: %s.  A namenode never starts on a new, "
		    "empty namespace by itself (every block in the cluster "
		    "would look unknown): check namenode.meta_dir, or put the "
		    "database back; to make a new cluster on purpose, run "
		    "dfs-namenode --format", path, strerror(errno));
		goto out;
	} else if ((rc = nn_db_private_dir(dir, cause)) != 0)
		goto out;
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (format)
		flags |= SQLITE_OPEN_CREATE;
	src = sqlite3_open_v2(path, &nn->db, flags, NULL);
	if (src != SQLITE_OK) {
		rc = -EIO;
		xasprintf(cause, "cannot open %s: %s", path,
		    nn->db != NULL ? sqlite3_errmsg(nn->db) :
		    sqlite3_errstr(src));
		goto out;
	}
	sqlite3_busy_timeout(nn->db, 5000);
	sqlite3_extended_result_codes(nn->db, 1);
	/* Exclusive before the first WAL access: the WAL index then lives in
	 * this process's memory, so a transaction takes no file locks (about
	 * ten fcntl calls each, the most frequent system call of a write
	 * before this).  No other process may open the database while the
	 * namenode runs, which no other process needs to. */
	if ((rc = nn_db_script(nn, "PRAGMA locking_mode=EXCLUSIVE;"
	    "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL;"
	    "PRAGMA foreign_keys=ON;", cause)) != 0) {
		free(*cause);
		xasprintf(cause, "%s is not a namespace database that can be "
		    "opened (%s); put a good copy back", path,
		    sqlite3_errmsg(nn->db));
		goto out;
	}
	if ((rc = nn_db_script(nn, "BEGIN IMMEDIATE;", cause)) != 0)
		goto out;
	if (!format && !nn_db_has_namespace(nn)) {
		sqlite3_exec(nn->db, "ROLLBACK", NULL, NULL, NULL);
		rc = -EINVAL;
		xasprintf(cause, "%s holds no namespace (it is empty or not a "
		    "namenode's database): put the right database back; to "
		    "make a new cluster on purpose, remove it and run "
		    "dfs-namenode --format", path);
		goto out;
	}
	if ((rc = nn_db_script(nn, nn_db_schema, cause)) != 0) {
		sqlite3_exec(nn->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if ((format && nn_db_exec(nn, nn_db_root, "i", nn_wall_ns()) != 0) ||
	    nn_db_i64(nn, &version, "SELECT value FROM meta WHERE key = "
	    "'schema'", "") != 0) {
		sqlite3_exec(nn->db, "ROLLBACK", NULL, NULL, NULL);
		rc = -EIO;
		xasprintf(cause, "%s: cannot set up the namespace", path);
		goto out;
	}
	if (version == 1) {
		if ((rc = nn_db_script(nn, nn_db_migrate_1, cause)) != 0) {
			sqlite3_exec(nn->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		log_info("%s: schema 1 upgraded to 2 (hard links, special "
		    "files)", path);
		version = 2;
	}
	if (version == 2) {
		if ((rc = nn_db_script(nn, nn_db_migrate_2, cause)) != 0) {
			sqlite3_exec(nn->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		log_info("%s: schema 2 upgraded to 3 (files unlinked while "
		    "open)", path);
		version = 3;
	}
	if (version == 3) {
		if ((rc = nn_db_script(nn, nn_db_migrate_3, cause)) != 0) {
			sqlite3_exec(nn->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		log_info("%s: schema 3 upgraded to 4 (patch promises)", path);
		version = 4;
	}
	if ((rc = nn_db_cluster_id(nn, path, format, cause)) != 0) {
		sqlite3_exec(nn->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	if ((rc = nn_db_script(nn, "COMMIT;", cause)) != 0)
		goto out;
	if (version != NN_SCHEMA_VERSION) {
		rc = -EINVAL;
		xasprintf(cause, "%s has schema version %lld; this namenode "
		    "reads version %d", path, (long long)version,
		    NN_SCHEMA_VERSION);
		goto out;
	}
	if ((rc = nn_db_script(nn, nn_db_live_schema, cause)) != 0)
		goto out;
	log_info("namespace in %s (cluster %s)", path, nn->cluster_id);
out:
	free(path);
	return rc;
}

/* Finalize every statement, checkpoint the WAL into the database and close
 * it, so a clean stop leaves one self-contained file. */
void
nn_db_close(struct nn *nn)
{
	if (nn->db == NULL)
		return;
	for (int i = 0; i < NN_STMT_SLOTS; i++) {
		sqlite3_finalize(nn->stmts[i].st);
		nn->stmts[i].st = NULL;
		nn->stmts[i].sql = NULL;
	}
	if (sqlite3_wal_checkpoint_v2(nn->db, "main",
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK)
		log_warn("sqlite: checkpoint: %s", sqlite3_errmsg(nn->db));
	if (sqlite3_close(nn->db) != SQLITE_OK)
		log_warn("sqlite: close: %s", sqlite3_errmsg(nn->db));
	nn->db = NULL;
}

/* The cached statement for sql (a string with static storage). */
static sqlite3_stmt *
nn_db_prepare(struct nn *nn, const char *sql)
{
	size_t		 h = ((uintptr_t)sql >> 3) % NN_STMT_SLOTS;
	sqlite3_stmt	*st = NULL;

	for (size_t i = 0; i < NN_STMT_SLOTS; i++) {
		struct nn_stmt_slot *s = &nn->stmts[(h + i) % NN_STMT_SLOTS];
		if (s->sql == sql)
			return s->st;
		if (s->sql != NULL)
			continue;
		if (sqlite3_prepare_v3(nn->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
			fatalx("sqlite: cannot prepare \"%s\": %s", sql,
			    sqlite3_errmsg(nn->db));
		s->sql = sql;
		s->st = st;
		return st;
	}
	fatalx("sqlite: statement cache is full");
}

/* Reset st and bind its parameters from ap as types says (see nn_db_sql). */
static void
nn_db_vbind(sqlite3_stmt *st, const char *types, va_list ap)
{
	int	i = 1;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (const char *t = types; *t != '\0'; t++, i++) {
		switch (*t) {
		case 'i':
			sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 't': {
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				sqlite3_bind_null(st, i);
			else
				sqlite3_bind_text(st, i, s, -1,
				    SQLITE_TRANSIENT);
			break;
		}
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t len = va_arg(ap, size_t);
			sqlite3_bind_blob(st, i, p, (int)len, SQLITE_TRANSIENT);
			break;
		}
		case 'n':
			sqlite3_bind_null(st, i);
			break;
		default:
			fatalx("nn_db: bad parameter type '%c'", *t);
		}
	}
}

/*
 * The cached statement for sql, reset, with its parameters bound from the
 * arguments as types says: 'i' int64_t, 't' NUL-terminated string (NULL
 * binds NULL), 'b' a pointer and a size_t length, 'n' NULL.  Borrowed: the
 * caller steps it with nn_db_step() and resets it when it stops early.
 */
sqlite3_stmt *
nn_db_sql(struct nn *nn, const char *sql, const char *types, ...)
{
	sqlite3_stmt	*st = nn_db_prepare(nn, sql);
	va_list		 ap;

	va_start(ap, types);
	nn_db_vbind(st, types, ap);
	va_end(ap);
	return st;
}

/* 1 with a row to read, 0 when done (the statement is then reset), or a
 * negative errno (logged; reset too). */
int
nn_db_step(struct nn *nn, sqlite3_stmt *st)
{
	int	src = sqlite3_step(st);

	if (src == SQLITE_ROW)
		return 1;
	sqlite3_reset(st);
	if (src == SQLITE_DONE)
		return 0;
	return nn_db_err(nn, src, sqlite3_sql(st));
}

/* Release a statement read early (see nn_db_sql). */
void
nn_db_reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
}

/* Run a statement that returns no rows (or whose rows are not wanted). */
int
nn_db_exec(struct nn *nn, const char *sql, const char *types, ...)
{
	sqlite3_stmt	*st = nn_db_prepare(nn, sql);
	va_list		 ap;
	int		 rc;

	va_start(ap, types);
	nn_db_vbind(st, types, ap);
	va_end(ap);
	while ((rc = nn_db_step(nn, st)) == 1)
		;
	return rc;
}

/* The first column of the first row as an integer: 0, -ENOENT without a
 * row, or another negative errno. */
int
nn_db_i64(struct nn *nn, int64_t *out, const char *sql, const char *types,
    ...)
{
	sqlite3_stmt	*st = nn_db_prepare(nn, sql);
	va_list		 ap;
	int		 rc;

	va_start(ap, types);
	nn_db_vbind(st, types, ap);
	va_end(ap);
	*out = 0;
	if ((rc = nn_db_step(nn, st)) == 1) {
		*out = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 0;
	}
	return rc == 0 ? -ENOENT : rc;
}

/* Reset every statement still holding a read, so transactions start and end
 * cleanly whatever a caller forgot. */
void
nn_db_reset_all(struct nn *nn)
{
	sqlite3_stmt	*st = NULL;

	while ((st = sqlite3_next_stmt(nn->db, st)) != NULL)
		if (sqlite3_stmt_busy(st))
			sqlite3_reset(st);
}

/* Start the one write transaction of an operation. */
static int	nn_db_finish(struct nn *, int);

int
nn_db_begin(struct nn *nn)
{
	int	src, rc;

	/* In a group, one writer at a time, recorded (nn-group.c). */
	if ((rc = nn_group_begin(nn)) != 0)
		return rc;
	nn_db_reset_all(nn);
	if ((src = sqlite3_exec(nn->db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL)) != SQLITE_OK) {
		if (nn_group_in_txn(nn))
			nn_group_end(nn, -EIO, nn_db_finish);
		return nn_db_err(nn, src, "BEGIN");
	}
	return 0;
}

/* Commit when rc is 0, else roll back.  Returns rc, or the commit's error. */
int
nn_db_end(struct nn *nn, int rc)
{
	if (nn_group_in_txn(nn))
		return nn_group_end(nn, rc, nn_db_finish);
	return nn_db_finish(nn, rc);
}

/* nn_db_end as one namenode does it. */
static int
nn_db_finish(struct nn *nn, int rc)
{
	int	src;

	nn_db_reset_all(nn);
	if (rc == 0) {
		src = sqlite3_exec(nn->db, "COMMIT", NULL, NULL, NULL);
		if (src == SQLITE_OK)
			return 0;
		rc = nn_db_err(nn, src, "COMMIT");
	}
	if (sqlite3_get_autocommit(nn->db) == 0 &&
	    (src = sqlite3_exec(nn->db, "ROLLBACK", NULL, NULL, NULL)) !=
	    SQLITE_OK)
		nn_db_err(nn, src, "ROLLBACK");
	return rc;
}

/* Within the open transaction: begin a savepoint (NN_SP_BEGIN), keep
 * what was done since (NN_SP_RELEASE) or undo it (NN_SP_UNDO, which also
 * ends the savepoint).  0 or -EIO. */
int
nn_db_savepoint(struct nn *nn, int op)
{
	const char	*sql = op == NN_SP_BEGIN ? "SAVEPOINT nn_sp" :
	    op == NN_SP_RELEASE ? "RELEASE nn_sp" :
	    "ROLLBACK TO nn_sp; RELEASE nn_sp";
	int		 src;

	nn_db_reset_all(nn);
	if ((src = sqlite3_exec(nn->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return nn_db_err(nn, src, sql);
	return 0;
}

/* Take the next value of a counter in meta (inside a transaction). */
int
nn_db_counter(struct nn *nn, const char *key, int64_t *value)
{
	int	rc;

	if ((rc = nn_db_i64(nn, value, "SELECT value FROM meta WHERE key = ?",
	    "t", key)) != 0)
		return rc == -ENOENT ? -EIO : rc;
	return nn_db_exec(nn, "UPDATE meta SET value = value + 1 WHERE key = ?",
	    "t", key);
}

/* The rowid of the last INSERT. */
int64_t
nn_db_last_id(struct nn *nn)
{
	return sqlite3_last_insert_rowid(nn->db);
}

/* Rows changed by the last statement. */
int
nn_db_changes(struct nn *nn)
{
	return sqlite3_changes(nn->db);
}
