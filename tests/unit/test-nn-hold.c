/*
 * test-nn-hold.c: holds on open files and the orphans they keep
 * (namenode/nn-hold.c), on a real namespace database in a temp
 * directory: hostile releases and takes first, then keeping an unlinked
 * file, its reclaim at the last release, after every hold lapsed, and
 * across a restart (the orphans table read back).
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

	snprintf(f->dir, sizeof f->dir, "/tmp/test-nn-hold.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->nn = calloc(1, sizeof *f->nn);
	f->nn->lease_timeout_ms = 60000;
	if (nn_db_open(f->nn, f->dir, true, &cause) != 0) {
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
	char		 cmd[128];

	nn_hold_free(f->nn);
	nn_db_close(f->nn);
	free(f->nn);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* A new file "name" in the root, with one block; its inode. */
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
	assert_int_equal(nn_db_end(nn, 0), 0);
	return ino;
}

/* Unlink name from the root, in a transaction. */
static void
unlink_name(struct nn *nn, const char *name, dfs_ino ino)
{
	assert_int_equal(nn_db_begin(nn), 0);
	assert_int_equal(nn_meta_unlink(nn, DFS_ROOT_INO, name, ino,
	    DFS_FT_FILE), 0);
	assert_int_equal(nn_db_end(nn, 0), 0);
}

static int64_t
count(struct nn *nn, const char *sql, dfs_ino ino)
{
	int64_t	v = -1;

	assert_int_equal(nn_db_i64(nn, &v, sql, "i", (int64_t)ino), 0);
	return v;
}

static bool
inode_exists(struct nn *nn, dfs_ino ino)
{
	return count(nn, "SELECT count(*) FROM inodes WHERE id = ?", ino) == 1;
}

static int64_t
blocks_of(struct nn *nn, dfs_ino ino)
{
	return count(nn, "SELECT count(*) FROM blocks WHERE ino = ?", ino);
}

static void
release(struct nn *nn, dfs_ino ino, const char *client, const char *who,
    uint64_t seq)
{
	assert_int_equal(nn_db_begin(nn), 0);
	assert_int_equal(nn_hold_release(nn, ino, client, who, seq), 0);
	assert_int_equal(nn_db_end(nn, 0), 0);
}

/* Another identity can neither take a hold under the holder's lease
 * name nor release it; an older release (one that crossed a newer take)
 * releases nothing. */
static void
test_hostile(void **state)
{
	struct fixture	*f = *state;
	struct nn	*nn = f->nn;
	dfs_ino		 ino = new_file(nn, "f");

	assert_int_equal(nn_hold_take(nn, ino, "mnt-1", "host-a", 5), 0);
	assert_int_equal(nn_hold_take(nn, ino, "mnt-1", "host-b", 6), -EPERM);
	release(nn, ino, "mnt-1", "host-b", 100);
	release(nn, ino, "mnt-2", "host-a", 100);
	release(nn, ino, "mnt-1", "host-a", 4);
	unlink_name(nn, "f", ino);
	assert_true(inode_exists(nn, ino));
	assert_int_equal(blocks_of(nn, ino), 1);
	assert_true(nn_hold_reaches(nn, ino, "host-a"));
	assert_false(nn_hold_reaches(nn, ino, "host-b"));
	assert_false(nn_hold_reaches(nn, ino, NULL));
	assert_false(nn_hold_reaches(nn, ino + 1, "host-a"));
	/* Reached by inode: its holder only; the superuser is no holder. */
	{
		struct nn_cred	c = { 0, 0, 0, { 0 }, true, "host-b" };
		struct nn_cred	h = { 0, 0, 0, { 0 }, false, "host-a" };

		assert_int_equal(nn_path_reach(nn, &c, ino, DFS_FT_FILE),
		    -ESTALE);
		assert_int_equal(nn_path_reach(nn, &h, ino, DFS_FT_FILE), 0);
	}
	release(nn, ino, "mnt-1", "host-a", 5);
	assert_false(inode_exists(nn, ino));
	assert_int_equal(blocks_of(nn, ino), 0);
}

/* An unheld file goes with its last name, as ever; a held one stays,
 * with nlink 0 and one orphans row a holder, until the last release. */
static void
test_keep_until_last_release(void **state)
{
	struct fixture	*f = *state;
	struct nn	*nn = f->nn;
	dfs_ino		 plain = new_file(nn, "plain"), ino = new_file(nn, "g");
	struct dfs_attr	 a;

	unlink_name(nn, "plain", plain);
	assert_false(inode_exists(nn, plain));
	assert_int_equal(nn_hold_take(nn, ino, "m1", "host-a", 1), 0);
	assert_int_equal(nn_hold_take(nn, ino, "m2", "host-b", 1), 0);
	unlink_name(nn, "g", ino);
	assert_int_equal(nn_meta_attr(nn, ino, &a), 0);
	assert_int_equal(a.nlink, 0);
	assert_int_equal(count(nn, "SELECT count(*) FROM orphans WHERE "
	    "ino = ?", ino), 2);
	release(nn, ino, "m1", "host-a", 1);
	assert_true(inode_exists(nn, ino));
	assert_int_equal(count(nn, "SELECT count(*) FROM orphans WHERE "
	    "ino = ?", ino), 1);
	release(nn, ino, "m2", "host-b", 1);
	assert_false(inode_exists(nn, ino));
	assert_int_equal(count(nn, "SELECT count(*) FROM orphans WHERE "
	    "ino = ?", ino), 0);
}

/* A hold not renewed for the lease timeout lapses (outside safe mode
 * only), and the orphan it kept goes. */
static void
test_lapse(void **state)
{
	struct fixture	*f = *state;
	struct nn	*nn = f->nn;
	dfs_ino		 ino = new_file(nn, "h");
	struct timespec	 ts = { 0, 30 * 1000000 };

	nn->lease_timeout_ms = 10;
	assert_int_equal(nn_hold_take(nn, ino, "m", "host-a", 1), 0);
	unlink_name(nn, "h", ino);
	nanosleep(&ts, NULL);
	nn->safemode = true;
	nn_hold_expire(nn);
	assert_true(inode_exists(nn, ino));
	nn->safemode = false;
	nn_hold_expire(nn);
	assert_false(inode_exists(nn, ino));
	assert_int_equal(blocks_of(nn, ino), 0);
}

/* A restart reads the orphans back; each holder has a lease period from
 * then, and its release still reclaims. */
static void
test_restart(void **state)
{
	struct fixture	*f = *state;
	struct nn	*nn = f->nn;
	dfs_ino		 ino = new_file(nn, "r");

	assert_int_equal(nn_hold_take(nn, ino, "m", "host-a", 7), 0);
	unlink_name(nn, "r", ino);
	nn_hold_free(nn);
	assert_false(nn_hold_reaches(nn, ino, "host-a"));
	assert_int_equal(nn_hold_load(nn), 0);
	assert_true(nn_hold_reaches(nn, ino, "host-a"));
	nn_hold_expire(nn);
	assert_true(inode_exists(nn, ino));
	release(nn, ino, "m", "host-a", 7);
	assert_false(inode_exists(nn, ino));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keep_until_last_release,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_lapse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
