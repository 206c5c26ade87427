/*
 * test-nn-repl.c: a namenode transaction's changes carried to another
 * namespace as a changeset (nn-repl.c), on two real namespace databases
 * made as the namenode makes them: directories, files, a block, a
 * rename, an unlink and an attribute change recorded on one apply on the
 * other and leave the two identical, table by table; the next inode and
 * block numbers are then the same on both (they come from counters the
 * changeset carries, not from AUTOINCREMENT, which a changeset does not
 * carry); the replica map of the member that applies follows (DELETEs
 * queued for a removed file's replicas and for replicas of a block's
 * older generation); a changeset that does not fit (a member that
 * diverged) is
 * refused and changes nothing.  (A changeset has no checksum of its own:
 * one cut short or damaged may read as another; the Raft log's framing
 * and checksums are what keep it whole, nn-raft.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_i.h"
#include "xmalloc.h"

struct member {
	char		 dir[64];
	struct nn	*nn;
};

struct fixture {
	struct member	 a, b;
};

/* Open m's namespace: a new one, or (from not NULL) a copy of from's
 * directory, as a member joins a group from another's snapshot. */
static int
member_open(struct member *m, const struct member *from)
{
	char	*cause = NULL, cmd[200];

	snprintf(m->dir, sizeof m->dir, "/tmp/test-nn-repl.XXXXXX");
	if (mkdtemp(m->dir) == NULL)
		return -1;
	if (from != NULL) {
		snprintf(cmd, sizeof cmd, "cp -a %s/. %s/", from->dir, m->dir);
		if (system(cmd) != 0)
			return -1;
	}
	m->nn = calloc(1, sizeof *m->nn);
	m->nn->lease_timeout_ms = 60000;
	if (nn_db_open(m->nn, m->dir, from == NULL, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return -1;
	}
	return 0;
}

static void
member_close(struct member *m)
{
	char	cmd[128];

	nn_db_close(m->nn);
	free(m->nn);
	snprintf(cmd, sizeof cmd, "rm -rf %s", m->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", m->dir);
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof *f);
	char		*cause = NULL;

	/* The group's first namespace, closed, and b made from it. */
	if (member_open(&f->a, NULL) != 0)
		return -1;
	nn_db_close(f->a.nn);
	free(f->a.nn);
	if (member_open(&f->b, &f->a) != 0)
		return -1;
	f->a.nn = calloc(1, sizeof *f->a.nn);
	f->a.nn->lease_timeout_ms = 60000;
	if (nn_db_open(f->a.nn, f->a.dir, false, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	member_close(&f->a);
	member_close(&f->b);
	free(f);
	return 0;
}

/* Every row of the persistent tables, in order, as text. */
static char *
dump(struct nn *nn)
{
	static const char *const sql[] = {
		"SELECT id, type, mode, uid, gid, size, mtime_ns, nlink, "
		"  replication, block_size, under_construction, "
		"  coalesce(lease_client, '') FROM inodes ORDER BY id",
		"SELECT parent, name, ino FROM dirents ORDER BY parent, name",
		"SELECT id, ino, idx, gen, offset, length, complete FROM blocks "
		"  ORDER BY id",
		"SELECT key, value FROM meta ORDER BY key",
		"SELECT ino, target FROM symlinks ORDER BY ino",
	};
	char	*out = xstrdup(""), *next;

	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *st = nn_db_sql(nn, sql[i], "");
		while (nn_db_step(nn, st) == 1) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const unsigned char *t =
				    sqlite3_column_text(st, c);
				xasprintf(&next, "%s%s%s", out, c > 0 ? "|" :
				    "\n", t != NULL ? (const char *)t : "NULL");
				free(out);
				out = next;
			}
		}
		nn_db_reset(st);
		xasprintf(&next, "%s\n--", out);
		free(out);
		out = next;
	}
	return out;
}

/* Begin a recorded transaction on a. */
static struct nn_repl *
record(struct nn *a)
{
	struct nn_repl	*r = NULL;
	char		*cause = NULL;

	assert_int_equal(nn_db_begin(a), 0);
	if (nn_repl_capture(a, &r, &cause) != 0)
		fail_msg("capture: %s", cause);
	return r;
}

/* Commit a's transaction; its changeset (caller frees). */
static void *
commit(struct nn *a, struct nn_repl *r, size_t *len)
{
	void	*cs = NULL;
	char	*cause = NULL;

	if (nn_repl_changeset(r, &cs, len, &cause) != 0)
		fail_msg("changeset: %s", cause);
	nn_repl_free(r);
	assert_int_equal(nn_db_end(a, 0), 0);
	return cs;
}

static dfs_ino
mk(struct nn *nn, dfs_ino parent, const char *name, int type)
{
	dfs_ino	ino = 0;

	assert_int_equal(nn_meta_new(nn, parent, name, type,
	    type == DFS_FT_DIR ? 0755 : 0644, 1000, 1000, 3, 65536, NULL,
	    &ino), 0);
	return ino;
}

/* A namespace's worth of operations on a, recorded, carried to b. */
static void
test_carried(void **state)
{
	struct fixture	*f = *state;
	struct nn	*a = f->a.nn, *b = f->b.nn;
	struct nn_repl	*r;
	dfs_ino		 d, x, y;
	int64_t		 blk, gen, na, nb;
	char		*da, *db, *cause = NULL;
	void		*cs;
	size_t		 len;

	/* One transaction: a directory, two files, a block, a rename, an
	 * unlink and a size; the way requests do them. */
	r = record(a);
	d = mk(a, DFS_ROOT_INO, "data", DFS_FT_DIR);
	x = mk(a, d, "x.npy", DFS_FT_FILE);
	y = mk(a, d, "y", DFS_FT_FILE);
	assert_int_equal(nn_db_counter(a, "next_block", &blk), 0);
	assert_int_equal(nn_db_counter(a, "next_gen", &gen), 0);
	assert_int_equal(nn_db_exec(a, "INSERT INTO blocks(id, ino, idx, gen,"
	    " offset, length, complete) VALUES (?, ?, 0, ?, 0, 4096, 1)",
	    "iii", blk, (int64_t)x, gen), 0);
	assert_int_equal(nn_db_exec(a, "UPDATE inodes SET size = 4096 WHERE "
	    "id = ?", "i", (int64_t)x), 0);
	assert_int_equal(nn_db_exec(a, "UPDATE dirents SET name = 'x2.npy' "
	    "WHERE parent = ? AND name = 'x.npy'", "i", (int64_t)d), 0);
	assert_int_equal(nn_meta_unlink(a, d, "y", y, DFS_FT_FILE), 0);
	cs = commit(a, r, &len);
	assert_true(len > 0);

	if (nn_repl_apply(b, cs, len, &cause) != 0)
		fail_msg("apply: %s", cause);
	da = dump(a);
	db = dump(b);
	assert_string_equal(da, db);
	free(da);
	free(db);
	free(cs);

	/* The numbers handed out next are the same on both: y's number
	 * was used and freed on a, and b must not hand it out again. */
	assert_int_equal(nn_db_begin(a), 0);
	assert_int_equal(nn_db_begin(b), 0);
	assert_int_equal(mk(a, d, "z", DFS_FT_FILE),
	    mk(b, d, "z", DFS_FT_FILE));
	assert_int_equal(nn_db_counter(a, "next_block", &na), 0);
	assert_int_equal(nn_db_counter(b, "next_block", &nb), 0);
	assert_int_equal(na, nb);
	assert_int_equal(nn_db_end(a, -EINTR), -EINTR);	/* roll back */
	assert_int_equal(nn_db_end(b, -EINTR), -EINTR);
}

static int64_t	live_count(struct nn *, const char *, int64_t);

/* A file whose removal cascades to rows of other tables (a put's
 * temporary name in put_temps, a symbolic link's target): applying the
 * inode's delete on b cascades there too, and the rows' own deletes in
 * the changeset must not count as a conflict (ha-partition.sh saw every
 * member stop on a put abandoned during a failover). */
static void
test_cascade(void **state)
{
	struct fixture	*f = *state;
	struct nn	*a = f->a.nn, *b = f->b.nn;
	struct nn_repl	*r;
	dfs_ino		 t, l;
	char		*da, *db, *cause = NULL;
	void		*cs;
	size_t		 len;

	r = record(a);
	t = mk(a, DFS_ROOT_INO, ".put.tmp", DFS_FT_FILE);
	l = mk(a, DFS_ROOT_INO, "link", DFS_FT_SYMLINK);
	assert_int_equal(nn_db_exec(a, "INSERT INTO put_temps(ino) VALUES (?)",
	    "i", (int64_t)t), 0);
	assert_int_equal(nn_db_exec(a, "INSERT INTO symlinks(ino, target) "
	    "VALUES (?, 'x')", "i", (int64_t)l), 0);
	cs = commit(a, r, &len);
	if (nn_repl_apply(b, cs, len, &cause) != 0)
		fail_msg("apply: %s", cause);
	free(cs);

	r = record(a);
	assert_int_equal(nn_meta_unlink(a, DFS_ROOT_INO, ".put.tmp", t,
	    DFS_FT_FILE), 0);
	assert_int_equal(nn_meta_unlink(a, DFS_ROOT_INO, "link", l,
	    DFS_FT_SYMLINK), 0);
	cs = commit(a, r, &len);
	if (nn_repl_apply(b, cs, len, &cause) != 0)
		fail_msg("apply: %s", cause);
	da = dump(a);
	db = dump(b);
	assert_string_equal(da, db);
	assert_int_equal(live_count(b, "SELECT count(*) FROM put_temps WHERE "
	    "ino = ?", (int64_t)t), 0);
	free(da);
	free(db);
	free(cs);
}

/* Rows of b's live database matching sql with block id blk. */
static int64_t
live_count(struct nn *nn, const char *sql, int64_t blk)
{
	int64_t	v = -1;

	assert_int_equal(nn_db_i64(nn, &v, sql, "i", blk), 0);
	return v;
}

/* What a replicated change implies for b's own replica map: a block
 * given a new generation on a loses b's replicas of the old one (DELETE
 * queued), and a file removed on a sends DELETE for all of its block's
 * replicas on b and forgets them. */
static void
test_live(void **state)
{
	struct fixture	*f = *state;
	struct nn	*a = f->a.nn, *b = f->b.nn;
	struct nn_repl	*r;
	dfs_ino		 x;
	int64_t		 blk, gen;
	char		*cause = NULL;
	void		*cs;
	size_t		 len;

	r = record(a);
	x = mk(a, DFS_ROOT_INO, "live", DFS_FT_FILE);
	assert_int_equal(nn_db_counter(a, "next_block", &blk), 0);
	assert_int_equal(nn_db_counter(a, "next_gen", &gen), 0);
	assert_int_equal(nn_db_exec(a, "INSERT INTO blocks(id, ino, idx, gen,"
	    " offset, length, complete) VALUES (?, ?, 0, ?, 0, 8192, 1)",
	    "iii", blk, (int64_t)x, gen), 0);
	cs = commit(a, r, &len);
	if (nn_repl_apply(b, cs, len, &cause) != 0)
		fail_msg("apply: %s", cause);
	free(cs);

	/* b's data nodes 1-3 hold the block; node 3's at a newer length
	 * would not matter: a patch (nn-write) moves it to gen + 1. */
	for (int n = 1; n <= 3; n++) {
		assert_int_equal(nn_db_exec(b, "INSERT INTO live.nodes(id, "
		    "state, last_hb_ms) VALUES (?, 1, 0)", "i", (int64_t)n),
		    0);
		assert_int_equal(nn_db_exec(b, "INSERT INTO live.replicas("
		    "block, node, gen, len) VALUES (?, ?, ?, 8192)", "iii",
		    blk, (int64_t)n, gen + (n == 3)), 0);
	}
	r = record(a);
	assert_int_equal(nn_db_exec(a, "UPDATE blocks SET gen = gen + 1 "
	    "WHERE id = ?", "i", blk), 0);
	cs = commit(a, r, &len);
	if (nn_repl_apply(b, cs, len, &cause) != 0)
		fail_msg("apply: %s", cause);
	free(cs);
	assert_int_equal(live_count(b, "SELECT count(*) FROM live.replicas "
	    "WHERE block = ?", blk), 1);
	assert_int_equal(live_count(b, "SELECT count(*) FROM live.commands "
	    "WHERE block = ? AND kind = 1", blk), 2);

	/* The file goes on a: b queues the last replica's DELETE too. */
	r = record(a);
	assert_int_equal(nn_meta_unlink(a, DFS_ROOT_INO, "live", x,
	    DFS_FT_FILE), 0);
	cs = commit(a, r, &len);
	if (nn_repl_apply(b, cs, len, &cause) != 0)
		fail_msg("apply: %s", cause);
	free(cs);
	assert_int_equal(live_count(b, "SELECT count(*) FROM live.replicas "
	    "WHERE block = ?", blk), 0);
	assert_int_equal(live_count(b, "SELECT count(*) FROM live.commands "
	    "WHERE block = ? AND kind = 1", blk), 3);
	assert_int_equal(live_count(b, "SELECT count(*) FROM blocks WHERE "
	    "id = ?", blk), 0);
}

/* A changeset that does not fit b: refused, b as it was. */
static void
test_refused(void **state)
{
	struct fixture	*f = *state;
	struct nn	*a = f->a.nn, *b = f->b.nn;
	struct nn_repl	*r;
	char		*before, *after, *cause = NULL;
	void		*cs;
	size_t		 len;

	/* b diverged: it has a name of its own that a's change would add
	 * again. */
	assert_int_equal(nn_db_begin(b), 0);
	mk(b, DFS_ROOT_INO, "only-on-b", DFS_FT_FILE);
	assert_int_equal(nn_db_end(b, 0), 0);
	before = dump(b);

	r = record(a);
	mk(a, DFS_ROOT_INO, "only-on-b", DFS_FT_DIR);
	mk(a, DFS_ROOT_INO, "another", DFS_FT_FILE);
	cs = commit(a, r, &len);
	assert_int_equal(nn_repl_apply(b, cs, len, &cause), -EPROTO);
	assert_non_null(strstr(cause, "diverged"));
	free(cause);
	cause = NULL;
	after = dump(b);
	assert_string_equal(before, after);
	free(after);

	free(before);
	free(cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_carried),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_cascade),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
