/*
 * test-connlimit.c: lib/connlimit.c, the caps per address and per
 * identity.  Sockets come from socketpair(2), so every one has the same
 * peer ("local"), which is what a flood from one address looks like.
 * Each case sets small caps, fills them, checks the next connection is
 * refused, gives one back and checks the next is admitted again: a cap
 * that never refuses, or a count that never comes back, fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "connlimit.h"

#define NSOCK	8

struct fixture {
	struct dfs_config	*cfg;
	struct dfs_connlimit	*cl;
	int			 fd[NSOCK][2];
	struct dfs_conntick	 t[NSOCK];
};

/* Caps: handshakes, per address, per identity. */
static struct fixture *
fixture(int hs, int addr, int id)
{
	struct fixture	*f = calloc(1, sizeof *f);
	char		 v[16];

	assert_non_null(f);
	f->cfg = dfs_config_create();
	snprintf(v, sizeof v, "%d", hs);
	assert_int_equal(dfs_config_set(f->cfg, "net.max_handshakes_per_addr",
	    v, NULL), 0);
	snprintf(v, sizeof v, "%d", addr);
	assert_int_equal(dfs_config_set(f->cfg, "net.max_conns_per_addr", v,
	    NULL), 0);
	snprintf(v, sizeof v, "%d", id);
	assert_int_equal(dfs_config_set(f->cfg, "net.max_conns_per_identity",
	    v, NULL), 0);
	f->cl = dfs_connlimit_create(f->cfg, "test");
	for (int i = 0; i < NSOCK; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0,
		    f->fd[i]), 0);
	return f;
}

static void
fixture_free(struct fixture *f)
{
	for (int i = 0; i < NSOCK; i++) {
		dfs_connlimit_release(f->cl, &f->t[i]);
		close(f->fd[i][0]);
		close(f->fd[i][1]);
	}
	dfs_connlimit_free(f->cl);
	dfs_config_free(f->cfg);
	free(f);
}

/* Sockets still in their handshake: the small cap, and failed ones give
 * their place back. */
static void
test_handshakes(void **state)
{
	struct fixture	*f = fixture(2, 5, 5);

	(void)state;
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[0][0], &f->t[0]), 0);
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[1][0], &f->t[1]), 0);
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[2][0], &f->t[2]),
	    -EBUSY);
	assert_false(f->t[2].held);
	dfs_connlimit_failed(f->cl, &f->t[0], "a test handshake failed");
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[2][0], &f->t[2]), 0);
	/* One that completes its handshake makes room too. */
	assert_int_equal(dfs_connlimit_identify(f->cl, &f->t[1], "alice"), 0);
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[3][0], &f->t[3]), 0);
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[4][0], &f->t[4]),
	    -EBUSY);
	fixture_free(f);
}

/* All connections of one address, handshaken or not. */
static void
test_per_addr(void **state)
{
	struct fixture	*f = fixture(8, 3, 8);

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[i][0],
		    &f->t[i]), 0);
		assert_int_equal(dfs_connlimit_identify(f->cl, &f->t[i],
		    i == 0 ? "alice" : "bob"), 0);
	}
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[3][0], &f->t[3]),
	    -EBUSY);
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[3][0], &f->t[3]),
	    -EBUSY);
	dfs_connlimit_release(f->cl, &f->t[1]);
	dfs_connlimit_release(f->cl, &f->t[1]);	/* twice: no effect */
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[3][0], &f->t[3]), 0);
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[4][0], &f->t[4]),
	    -EBUSY);
	fixture_free(f);
}

/* One certificate name, whatever the address. */
static void
test_per_identity(void **state)
{
	struct fixture	*f = fixture(8, 8, 2);

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[i][0],
		    &f->t[i]), 0);
	assert_int_equal(dfs_connlimit_identify(f->cl, &f->t[0], "bob"), 0);
	assert_int_equal(dfs_connlimit_identify(f->cl, &f->t[1], "bob"), 0);
	assert_int_equal(dfs_connlimit_identify(f->cl, &f->t[2], "bob"),
	    -EBUSY);
	assert_false(f->t[2].identified);
	assert_int_equal(dfs_connlimit_identify(f->cl, &f->t[3], "alice"), 0);
	dfs_connlimit_release(f->cl, &f->t[2]);	/* the refused one goes */
	dfs_connlimit_release(f->cl, &f->t[0]);
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[4][0], &f->t[4]), 0);
	assert_int_equal(dfs_connlimit_identify(f->cl, &f->t[4], "bob"), 0);
	assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[5][0], &f->t[5]), 0);
	assert_int_equal(dfs_connlimit_identify(f->cl, &f->t[5], "bob"),
	    -EBUSY);
	fixture_free(f);
}

/* Everything given back: the full caps are there again. */
static void
test_all_back(void **state)
{
	struct fixture	*f = fixture(4, 4, 4);

	(void)state;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++) {
			assert_int_equal(dfs_connlimit_admit(f->cl,
			    f->fd[i][0], &f->t[i]), 0);
			assert_int_equal(dfs_connlimit_identify(f->cl,
			    &f->t[i], "carol"), 0);
		}
		assert_int_equal(dfs_connlimit_admit(f->cl, f->fd[4][0],
		    &f->t[4]), -EBUSY);
		for (int i = 0; i < 4; i++)
			dfs_connlimit_release(f->cl, &f->t[i]);
	}
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshakes),
		cmocka_unit_test(test_per_addr),
		cmocka_unit_test(test_per_identity),
		cmocka_unit_test(test_all_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
