/*
 * test-client-put.c: the temporary name of an all-or-nothing put
 * (lib/client-put.c).  It must stay in the target's directory (a rename
 * across directories would be a different promise), be hidden, say what
 * it is, and fit in one name however long the target's name is; hostile
 * shapes of path (trailing slashes, no directory, a name at the limit)
 * included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "xmalloc.h"

/* The name part (after the last slash) of path. */
static const char *
last(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* In the same directory, hidden, with the nonce and the tag. */
static void
test_plain(void **state)
{
	char	*t;

	(void)state;
	t = dfs_put_temp_name("/a/b/data.npy", 0x2a);
	assert_string_equal(t, "/a/b/.data.npy.0000002a._COPYING_");
	free(t);
	t = dfs_put_temp_name("/x", 0xdeadbeef);
	assert_string_equal(t, "/.x.deadbeef._COPYING_");
	free(t);
}

/* Trailing slashes name the same file; a bare name has no directory. */
static void
test_shapes(void **state)
{
	char	*t;

	(void)state;
	t = dfs_put_temp_name("/a/b///", 1);
	assert_string_equal(t, "/a/.b.00000001._COPYING_");
	free(t);
	t = dfs_put_temp_name("b", 1);
	assert_string_equal(t, ".b.00000001._COPYING_");
	free(t);
	t = dfs_put_temp_name("//b", 1);
	assert_string_equal(t, "//.b.00000001._COPYING_");
	free(t);
}

/* A name of 255 bytes (the most a name may have) is cut so that the
 * temporary's name is 255 bytes too, and distinct nonces stay distinct. */
static void
test_long(void **state)
{
	char	 name[DFS_MAX_NAME + 2], path[DFS_MAX_NAME + 8];
	char	*t, *u;

	(void)state;
	memset(name, 'n', DFS_MAX_NAME);
	name[DFS_MAX_NAME] = '\0';
	snprintf(path, sizeof path, "/d/%s", name);
	t = dfs_put_temp_name(path, 7);
	u = dfs_put_temp_name(path, 8);
	assert_int_equal(strlen(last(t)), DFS_MAX_NAME);
	assert_int_equal(strncmp(t, "/d/.nnn", 7), 0);
	assert_string_equal(t + strlen(t) - 19, ".00000007._COPYING_");
	assert_string_not_equal(t, u);
	free(t);
	free(u);
	/* A name of 235 bytes just fits whole. */
	name[DFS_MAX_NAME - 20] = '\0';
	snprintf(path, sizeof path, "/d/%s", name);
	t = dfs_put_temp_name(path, 7);
	assert_int_equal(strlen(last(t)), DFS_MAX_NAME);
	assert_int_equal(strncmp(last(t) + 1, name, strlen(name)), 0);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
