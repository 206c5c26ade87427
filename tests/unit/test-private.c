/*
 * test-private.c: lib/private.c, directories 0700 and files 0600 whatever
 * the umask, existing ones tightened and never loosened.  The oracle is
 * stat(2): each case makes its tree with the modes it needs (chmod, so
 * the test's own umask does not matter), calls the library, and reads
 * the modes back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "private.h"
#include "xmalloc.h"

/* A fresh temporary directory for one test; the group state.  */
static int
setup(void **state)
{
	char	*d = xstrdup("/tmp/test-private.XXXXXX");

	if (mkdtemp(d) == NULL)
		return -1;
	*state = d;
	return 0;
}

static int
teardown(void **state)
{
	char	*cmd;

	xasprintf(&cmd, "chmod -R u+rwx '%s' && rm -rf '%s'", (char *)*state,
	    (char *)*state);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", (char *)*state);
	free(cmd);
	free(*state);
	return 0;
}

/* The permission bits of path (with set-ID and sticky). */
static unsigned
mode_of(const char *path)
{
	struct stat	sb;

	assert_int_equal(lstat(path, &sb), 0);
	return sb.st_mode & 07777;
}

/* base/name, made as a file of mode (chmod'ed, whatever the umask). */
static char *
make_file(const char *base, const char *name, mode_t mode)
{
	char	*p;
	int	 fd;

	xasprintf(&p, "%s/%s", base, name);
	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

/* A new directory is exactly 0700 under any umask, even one that
 * removes the owner's own bits. */
static void
test_new_dir_any_umask(void **state)
{
	static const mode_t	 masks[] = { 0, 022, 077, 0277, 0777 };
	char			*p, *cause = NULL;
	mode_t			 old;

	for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
		xasprintf(&p, "%s/d%zu", (char *)*state, i);
		old = umask(masks[i]);
		assert_int_equal(dfs_private_dir(p, &cause), 0);
		umask(old);
		assert_null(cause);
		assert_int_equal(mode_of(p), 0700);
		free(p);
	}
}

/* An existing loose directory loses its group and other bits only;
 * a tighter one is left as it is. */
static void
test_existing_dir(void **state)
{
	static const struct { mode_t before, after; } cases[] = {
		{ 0755, 0700 }, { 0777, 0700 }, { 0700, 0700 },
		{ 0750, 0700 }, { 02775, 02700 }, { 01777, 01700 },
		{ 0500, 0500 }, { 0300, 0300 },
	};
	char	*p, *cause = NULL;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		xasprintf(&p, "%s/e%zu", (char *)*state, i);
		assert_int_equal(mkdir(p, 0700), 0);
		assert_int_equal(chmod(p, cases[i].before), 0);
		assert_int_equal(dfs_private_dir(p, &cause), 0);
		assert_null(cause);
		assert_int_equal(mode_of(p), cases[i].after);
		free(p);
	}
}

/* Not a directory, or nowhere to make one: an error that says so. */
static void
test_dir_errors(void **state)
{
	char	*f = make_file(*state, "file", 0644), *p, *cause = NULL;

	assert_int_equal(dfs_private_dir(f, &cause), -ENOTDIR);
	assert_non_null(cause);
	assert_non_null(strstr(cause, f));
	free(cause);
	cause = NULL;
	assert_int_equal(mode_of(f), 0644);
	xasprintf(&p, "%s/no/such", (char *)*state);
	assert_int_equal(dfs_private_dir(p, &cause), -ENOENT);
	assert_non_null(cause);
	free(cause);
	free(p);
	free(f);
}

/* Files: loose ones tightened and counted; tight ones, directories,
 * symbolic links and what they point at left alone. */
static void
test_files(void **state)
{
	const char	*base = *state;
	char		*sub, *d, *outside, *link, *a, *b, *c, *e, *g;
	char		*cause = NULL;
	size_t		 n = 99;

	xasprintf(&d, "%s/data", base);
	assert_int_equal(mkdir(d, 0700), 0);
	a = make_file(d, "a", 0644);
	b = make_file(d, "b", 0600);
	c = make_file(d, "c", 0400);
	e = make_file(d, "e", 0755);
	g = make_file(d, "g", 0604);
	outside = make_file(base, "outside", 0644);
	xasprintf(&link, "%s/link", d);
	assert_int_equal(symlink(outside, link), 0);
	xasprintf(&sub, "%s/sub", d);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chmod(sub, 0755), 0);
	free(make_file(sub, "deep", 0644));

	assert_int_equal(dfs_private_files(d, &n, &cause), 0);
	assert_null(cause);
	assert_int_equal(n, 3);
	assert_int_equal(mode_of(a), 0600);
	assert_int_equal(mode_of(b), 0600);
	assert_int_equal(mode_of(c), 0400);
	assert_int_equal(mode_of(e), 0700);
	assert_int_equal(mode_of(g), 0600);
	assert_int_equal(mode_of(outside), 0644);
	assert_int_equal(mode_of(sub), 0755);
	/* Again: nothing left to do. */
	assert_int_equal(dfs_private_files(d, &n, &cause), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dfs_private_files(d, NULL, &cause), 0);
	free(a); free(b); free(c); free(e); free(g);
	free(outside); free(link); free(sub); free(d);
}

/* A directory that cannot be read: an error naming it. */
static void
test_files_errors(void **state)
{
	char	*p, *cause = NULL;
	size_t	 n;

	xasprintf(&p, "%s/missing", (char *)*state);
	assert_int_equal(dfs_private_files(p, &n, &cause), -ENOENT);
	assert_non_null(cause);
	assert_non_null(strstr(cause, p));
	free(cause);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_dir_any_umask, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_existing_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dir_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_errors, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
