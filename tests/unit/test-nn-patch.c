/*
 * test-nn-patch.c: durable patch promises (namenode/nn-patch.c) on a
 * real namespace database in a temp directory: reports that must not
 * commit a promise first, then the commit (sparing the other replicas,
 * whose patches may be on their way), a promise read back after a
 * restart and committed then, one dropped when its lease lapses (never in
 * safe mode), and rows whose block went or whose file another client
 * holds.
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
#include <time.h>
#include <unistd.h>

#include "nn_i.h"

struct fixture {
	char		 dir[64];
	struct nn	*nn;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof *f);
	char		*cause = NULL;

	snprintf(f->dir, sizeof f->dir, "/tmp/test-nn-patch.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->nn = calloc(1, sizeof *f->nn);
	f->nn->lease_timeout_ms = 60000;
	if (nn_db_open(f->nn, f->dir, true, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return -1;
	}
	nn_patch_free();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[128];

	nn_patch_free();
	nn_db_close(f->nn);
	free(f->nn);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* A new file "name" in the root, 10 bytes in one complete block (id ino +
 * 1000, generation 1); its inode. */
static dfs_ino
new_file(struct nn *nn, const char *name)
{
	dfs_ino	ino;

	assert_int_equal(nn_db_begin(nn), 0);
	assert_int_equal(nn_meta_new(nn, DFS_ROOT_INO, name, DFS_FT_FILE,
	    0644, 0, 0, 1, 65536, NULL, &ino), 0);
	assert_int_equal(nn_db_exec(nn, "INSERT INTO blocks(id, ino, idx, "
	    "gen, offset, length, complete) VALUES (?, ?, 0, 1, 0, 10, 1)",
	    "ii", (int64_t)ino + 1000, (int64_t)ino), 0);
	assert_int_equal(nn_db_exec(nn, "UPDATE inodes SET size = 10 WHERE "
	    "id = ?", "i", (int64_t)ino), 0);
	assert_int_equal(nn_db_end(nn, 0), 0);
	return ino;
}

/* The row PATCH_BLOCK writes: block of ino from generation 1 to 5, 20
 * bytes, promised to client. */
static void
promise(struct nn *nn, int64_t block, dfs_ino ino, const char *client)
{
	assert_int_equal(nn_db_begin(nn), 0);
	assert_int_equal(nn_db_exec(nn, "INSERT OR REPLACE INTO patches("
	    "block, ino, client, old_gen, new_gen, new_len, new_size) VALUES "
	    "(?, ?, ?, 1, 5, 20, 20)", "iit", block, (int64_t)ino, client), 0);
	assert_int_equal(nn_db_end(nn, 0), 0);
}

static int64_t
value(struct nn *nn, const char *sql, int64_t key)
{
	int64_t	v = -1;

	assert_int_equal(nn_db_i64(nn, &v, sql, "i", key), 0);
	return v;
}

static int64_t
gen_of(struct nn *nn, int64_t block)
{
	return value(nn, "SELECT gen FROM blocks WHERE id = ?", block);
}

static int64_t
promises_of(struct nn *nn, int64_t block)
{
	return value(nn, "SELECT count(*) FROM patches WHERE block = ?",
	    block);
}

/* Node 1 reports block at (gen, len), the namespace holding it at
 * (bgen, blen, complete): nn_patch_received's answer, in a transaction. */
static int
report(struct nn *nn, int64_t block, uint64_t bgen, bool complete,
    uint64_t gen, uint64_t len)
{
	struct nn_block	b = { .id = (dfs_block_id)block, .gen = bgen,
			    .len = 10, .complete = complete };
	int		rc;

	assert_int_equal(nn_db_begin(nn), 0);
	rc = nn_patch_received(nn, &b, 1, gen, len);
	assert_int_equal(nn_db_end(nn, rc < 0 ? rc : 0), 0);
	return rc;
}

/* Reports that are not exactly the promise commit nothing: another
 * generation, another length, an unfinished block, a block no longer at
 * the promise's old generation, a block with no promise. */
static void
test_hostile(void **state)
{
	struct nn	*nn = ((struct fixture *)*state)->nn;
	dfs_ino		 ino = new_file(nn, "f");
	int64_t		 b = (int64_t)ino + 1000;

	promise(nn, b, ino, "m");
	assert_int_equal(report(nn, b, 1, true, 6, 20), 0);
	assert_int_equal(report(nn, b, 1, true, 4, 20), 0);
	assert_int_equal(report(nn, b, 1, true, 5, 19), 0);
	assert_int_equal(report(nn, b, 1, true, 5, 21), 0);
	assert_int_equal(report(nn, b, 1, false, 5, 20), 0);
	assert_int_equal(report(nn, b, 2, true, 5, 20), 0);
	assert_int_equal(report(nn, b + 1, 1, true, 5, 20), 0);
	assert_int_equal(gen_of(nn, b), 1);
	assert_int_equal(value(nn, "SELECT length FROM blocks WHERE id = ?",
	    b), 10);
	assert_int_equal(value(nn, "SELECT size FROM inodes WHERE id = ?",
	    (int64_t)ino), 10);
	assert_int_equal(promises_of(nn, b), 1);
}

/* The promised generation and length commit: the block's generation and
 * length, the file's size; the promise goes, and a second report of it
 * commits nothing more. */
static void
test_commit(void **state)
{
	struct nn	*nn = ((struct fixture *)*state)->nn;
	dfs_ino		 ino = new_file(nn, "f");
	int64_t		 b = (int64_t)ino + 1000;

	promise(nn, b, ino, "m");
	assert_int_equal(report(nn, b, 1, true, 5, 20), 1);
	assert_int_equal(gen_of(nn, b), 5);
	assert_int_equal(value(nn, "SELECT length FROM blocks WHERE id = ?",
	    b), 20);
	assert_int_equal(value(nn, "SELECT size FROM inodes WHERE id = ?",
	    (int64_t)ino), 20);
	assert_int_equal(promises_of(nn, b), 0);
	assert_int_equal(report(nn, b, 5, true, 5, 20), 0);
}

/* The commit from node 1's replica leaves the other replicas' files
 * alone: their patches may be on their way.  Nodes 2 and 3, at the old
 * generation, leave the map with no DELETE queued and are marked as
 * expecting the block (live.pending kind 4), so no copy goes there while
 * their patch may still come; node 4, which reported the new generation
 * already, stays. */
static void
test_commit_spares_others(void **state)
{
	struct nn	*nn = ((struct fixture *)*state)->nn;
	dfs_ino		 ino = new_file(nn, "f");
	int64_t		 b = (int64_t)ino + 1000;

	promise(nn, b, ino, "m");
	assert_int_equal(nn_db_begin(nn), 0);
	for (int64_t node = 1; node <= 4; node++)
		assert_int_equal(nn_db_exec(nn, "INSERT INTO live.replicas("
		    "block, node, gen, len) VALUES (?, ?, ?, ?)", "iiii", b,
		    node, node == 4 ? 5 : 1, node == 4 ? 20 : 10), 0);
	assert_int_equal(nn_db_end(nn, 0), 0);
	assert_int_equal(report(nn, b, 1, true, 5, 20), 1);
	assert_int_equal(value(nn, "SELECT count(*) FROM live.commands WHERE "
	    "block = ?", b), 0);
	assert_int_equal(value(nn, "SELECT count(*) FROM live.replicas WHERE "
	    "block = ? AND node IN (2, 3)", b), 0);
	assert_int_equal(value(nn, "SELECT count(*) FROM live.pending WHERE "
	    "block = ? AND node IN (2, 3) AND kind = 4", b), 2);
	assert_int_equal(value(nn, "SELECT count(*) FROM live.pending WHERE "
	    "block = ? AND node IN (1, 4)", b), 0);
	assert_int_equal(value(nn, "SELECT count(*) FROM live.replicas WHERE "
	    "block = ? AND node = 4 AND gen = 5", b), 1);
}

/* After a restart (leases forgotten, the database closed and opened
 * again) the promise is read back, its writer has a lease period from
 * then, and a report commits it. */
static void
test_restart(void **state)
{
	struct fixture	*f = *state;
	struct nn	*nn = f->nn;
	dfs_ino		 ino = new_file(nn, "f");
	int64_t		 b = (int64_t)ino + 1000;
	char		*cause = NULL;

	promise(nn, b, ino, "m");
	nn_patch_free();
	nn_db_close(nn);
	assert_int_equal(nn_db_open(nn, f->dir, false, &cause), 0);
	assert_int_equal(nn_patch_load(nn), 0);
	nn->safemode = false;
	nn_patch_expire(nn);
	assert_int_equal(promises_of(nn, b), 1);
	assert_int_equal(report(nn, b, 1, true, 5, 20), 1);
	assert_int_equal(gen_of(nn, b), 5);
}

/* A promise whose writer's lease lapsed with no replica reported is
 * dropped, not in safe mode; the block keeps its generation and a late
 * replica of the dropped one commits nothing. */
static void
test_lapse(void **state)
{
	struct nn	*nn = ((struct fixture *)*state)->nn;
	dfs_ino		 ino = new_file(nn, "f");
	int64_t		 b = (int64_t)ino + 1000;
	struct timespec	 ts = { 0, 30 * 1000000 };

	nn->lease_timeout_ms = 10;
	promise(nn, b, ino, "m");
	assert_int_equal(nn_patch_load(nn), 0);
	nanosleep(&ts, NULL);
	nn->safemode = true;
	nn_patch_expire(nn);
	assert_int_equal(promises_of(nn, b), 1);
	nn->safemode = false;
	nn_patch_expire(nn);
	assert_int_equal(promises_of(nn, b), 0);
	assert_int_equal(gen_of(nn, b), 1);
	assert_int_equal(report(nn, b, 1, true, 5, 20), 0);
	assert_int_equal(gen_of(nn, b), 1);
}

/* A promise of a block that is gone, or of a file whose lease another
 * client holds, is dropped; one of a live lease stays. */
static void
test_gone_and_other(void **state)
{
	struct nn	*nn = ((struct fixture *)*state)->nn;
	dfs_ino		 ino = new_file(nn, "f");
	dfs_ino		 ino2 = new_file(nn, "g");
	int64_t		 b = (int64_t)ino + 1000, b2 = (int64_t)ino2 + 1000;

	assert_int_equal(nn_db_begin(nn), 0);	/* a second block of f */
	assert_int_equal(nn_db_exec(nn, "INSERT INTO blocks(id, ino, idx, "
	    "gen, offset, length, complete) VALUES (?, ?, 1, 1, 10, 10, 1)",
	    "ii", b + 500, (int64_t)ino), 0);
	assert_int_equal(nn_db_end(nn, 0), 0);
	promise(nn, b, ino, "m");
	promise(nn, 99999, ino, "m");
	assert_int_equal(nn_patch_load(nn), 0);	/* f's lease: "m" */
	promise(nn, b2, ino2, "m");		/* g: no lease at all */
	promise(nn, b + 500, ino, "other");	/* f's, not its holder's */
	nn->safemode = false;
	nn_patch_expire(nn);
	assert_int_equal(promises_of(nn, b), 1);
	assert_int_equal(promises_of(nn, 99999), 0);
	assert_int_equal(promises_of(nn, b2), 0);
	assert_int_equal(promises_of(nn, b + 500), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_spares_others,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lapse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_and_other, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
