/*
 * test-config.c: the configuration table and parser (lib/config.c).
 *
 * Expected values are written out by hand from the format's rules (64M is
 * 64 * 1024 * 1024, 2m is 120000 ms), never computed by the code under
 * test.  Files go to private temporary files under $TMPDIR (or /tmp).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "config-util.h"
#include "log.h"
#include "xmalloc.h"

const char *
tmp_dir(void)
{
	const char	*d = getenv("TMPDIR");

	return d != NULL && *d != '\0' ? d : "/tmp";
}

/* Write len bytes to a new temporary file.  Caller unlinks and frees. */
char *
write_temp(const void *data, size_t len)
{
	char	*path;
	int	 fd;

	xasprintf(&path, "%s/test-config.XXXXXX", tmp_dir());
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

void
remove_temp(char *path)
{
	unlink(path);
	free(path);
}

/*
 * Load text (of len bytes) from a temporary file, removed at once so a
 * failing assertion leaves nothing behind.  *path is kept for matching
 * messages; caller frees (remove_temp() does).
 */
int
load_bytes(struct dfs_config *cfg, const void *text, size_t len,
    char **path, char **cause)
{
	int	rc;

	*path = write_temp(text, len);
	rc = dfs_config_load(cfg, *path, cause);
	unlink(*path);
	return rc;
}

/* Load a string and expect it to fail at "PATH:LINE: ..." with needle. */
void
expect_load_error(const char *text, unsigned line, int err,
    const char *needle)
{
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL, *prefix;

	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    err);
	assert_non_null(cause);
	xasprintf(&prefix, "%s:%u: ", path, line);
	if (strncmp(cause, prefix, strlen(prefix)) != 0)
		fail_msg("cause '%s' does not start with '%s'", cause, prefix);
	if (needle != NULL && strstr(cause, needle) == NULL)
		fail_msg("cause '%s' lacks '%s'", cause, needle);
	free(prefix);
	free(cause);
	remove_temp(path);
	dfs_config_free(cfg);
}

/* dfs_config_set must fail with err and a cause naming key and needle. */
void
expect_set_fails(struct dfs_config *cfg, const char *key, const char *value,
    int err, const char *needle)
{
	char	*cause = NULL;

	assert_int_equal(dfs_config_set(cfg, key, value, &cause), err);
	assert_non_null(cause);
	if (strstr(cause, key) == NULL)
		fail_msg("cause '%s' does not name %s", cause, key);
	if (needle != NULL && strstr(cause, needle) == NULL)
		fail_msg("cause '%s' lacks '%s'", cause, needle);
	free(cause);
}

void
set_ok(struct dfs_config *cfg, const char *key, const char *value)
{
	char	*cause = NULL;
	int	 rc = dfs_config_set(cfg, key, value, &cause);

	if (rc != 0)
		fail_msg("set %s=%s: %d %s", key, value, rc, cause);
	assert_null(cause);
}

static void
test_defaults(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();

	(void)state;
	assert_int_equal(dfs_config_int(cfg, "cluster.block_size"), 64 * MB);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 3);
	assert_string_equal(dfs_config_str(cfg, "cluster.secret_file"), "");
	assert_string_equal(dfs_config_str(cfg, "namenode.address"),
	    "127.0.0.1:9870");
	assert_string_equal(dfs_config_str(cfg, "namenode.listen"),
	    "127.0.0.1:9870");
	assert_string_equal(dfs_config_str(cfg, "namenode.meta_dir"),
	    "/var/lib/npdfs/namenode");
	assert_int_equal(dfs_config_int(cfg, "namenode.heartbeat"), 3000);
	assert_int_equal(dfs_config_int(cfg, "namenode.dead_timeout"), 30000);
	assert_int_equal(dfs_config_int(cfg, "namenode.block_report_interval"),
	    3600 * 1000);
	assert_true(dfs_config_double(cfg, "namenode.safemode_threshold") ==
	    0.999);
	assert_int_equal(dfs_config_int(cfg, "namenode.token_lifetime"),
	    600 * 1000);
	assert_int_equal(dfs_config_int(cfg, "namenode.key_rotation"),
	    86400 * 1000);
	assert_int_equal(dfs_config_int(cfg, "namenode.lease_timeout"),
	    60 * 1000);
	assert_string_equal(dfs_config_str(cfg, "datanode.listen"),
	    "127.0.0.1:9866");
	assert_int_equal(dfs_config_int(cfg, "datanode.chunk_size"), 64 * KB);
	assert_int_equal(dfs_config_int(cfg, "datanode.scan_rate"), 100 * MB);
	assert_int_equal(dfs_config_int(cfg, "datanode.reduce_threads"), 2);
	assert_int_equal(dfs_config_int(cfg, "client.timeout"), 30000);
	assert_int_equal(dfs_config_int(cfg, "mount.attr_timeout"), 1000);
	assert_int_equal(dfs_config_int(cfg, "mount.max_memory"), 256 * MB);
	assert_string_equal(dfs_config_str(cfg, "log.level"), "info");
	assert_int_equal(dfs_config_int(cfg, "log.level"), DFS_LOG_INFO);
	assert_false(dfs_config_bool(cfg, "log.syslog"));
	assert_false(dfs_config_is_set(cfg, "cluster.block_size"));
	assert_false(dfs_config_is_set(cfg, "log.level"));
	dfs_config_free(cfg);
	dfs_config_free(NULL);
}

static void
test_load_file(void **state)
{
	static const char text[] =
	    "# leading comment\n"
	    "; another comment\n"
	    "\n"
	    "   [ cluster ]   # section comment\n"
	    "\treplication\t=\t2\t\n"
	    "block_size = 1M ; inline comment\n"
	    "secret_file = \"  /etc/se#cret \\\"x\\\" \\\\ \"  # trailing\n"
	    "[namenode]\r\n"
	    "listen = 0.0.0.0:9000\r\n"
	    "meta_dir = /srv/a#b;c\n"
	    "address =\n"
	    "  heartbeat=500ms\n"
	    "[log]\n"
	    "level = DEBUG\n"
	    "syslog = yes";
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL;

	(void)state;
	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    0);
	assert_null(cause);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 2);
	assert_int_equal(dfs_config_int(cfg, "cluster.block_size"), MB);
	assert_true(dfs_config_is_set(cfg, "cluster.block_size"));
	assert_string_equal(dfs_config_str(cfg, "cluster.secret_file"),
	    "  /etc/se#cret \"x\" \\ ");
	assert_string_equal(dfs_config_str(cfg, "namenode.listen"),
	    "0.0.0.0:9000");
	assert_string_equal(dfs_config_str(cfg, "namenode.meta_dir"),
	    "/srv/a#b;c");
	assert_string_equal(dfs_config_str(cfg, "namenode.address"), "");
	assert_int_equal(dfs_config_int(cfg, "namenode.heartbeat"), 500);
	assert_string_equal(dfs_config_str(cfg, "log.level"), "debug");
	assert_int_equal(dfs_config_int(cfg, "log.level"), DFS_LOG_DEBUG);
	assert_true(dfs_config_bool(cfg, "log.syslog"));
	assert_true(dfs_config_is_set(cfg, "namenode.address"));
	assert_true(dfs_config_is_set(cfg, "log.syslog"));
	/* Keys the file does not mention keep their defaults. */
	assert_false(dfs_config_is_set(cfg, "namenode.dead_timeout"));
	assert_int_equal(dfs_config_int(cfg, "namenode.dead_timeout"), 30000);
	remove_temp(path);
	dfs_config_free(cfg);
}

/* A UTF-8 byte order mark is skipped; only at the start of the file. */
static void
test_load_bom(void **state)
{
	static const char text[] = "\xef\xbb\xbf[cluster]\nreplication = 5\n";
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL;

	(void)state;
	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    0);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 5);
	remove_temp(path);
	dfs_config_free(cfg);
	expect_load_error("[cluster]\n\xef\xbb\xbf[log]\n", 2, -EINVAL,
	    "expected 'key = value'");
}

static void
test_parse_size(void **state)
{
	static const struct {
		const char	*text;
		int64_t		 want;
	} good[] = {
		{ "0", 0 }, { "4096", 4096 }, { "64K", 64 * KB },
		{ "64k", 64 * KB }, { "64KiB", 64 * KB }, { "1M", MB },
		{ "1m", MB }, { "1MiB", MB }, { "1G", GB }, { "1g", GB },
		{ "2GiB", 2 * GB }, { "1T", 1024 * GB },
		{ "3t", 3 * 1024 * GB },
		{ "9223372036854775807", INT64_MAX },
		{ "8388607T", INT64_C(8388607) * 1024 * GB },
	};
	static const char *const invalid[] = {
		"", "12X", "-1", "K", "1.5G", " 1", "1 ", "1KB", "1Ki", "1MM",
		"+1", "0x10", "1e3",
	};
	static const char *const too_big[] = {
		"99999999999999999999G", "9223372036854775808", "8388608T",
		"9007199254740992K",
	};
	int64_t	v;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		v = -1;
		assert_int_equal(dfs_parse_size(good[i].text, &v), 0);
		assert_int_equal(v, good[i].want);
	}
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		v = 42;
		if (dfs_parse_size(invalid[i], &v) != -EINVAL)
			fail_msg("'%s' accepted as a size", invalid[i]);
		assert_int_equal(v, 42);
	}
	for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++)
		assert_int_equal(dfs_parse_size(too_big[i], &v), -ERANGE);
}

static void
test_parse_duration(void **state)
{
	static const struct {
		const char	*text;
		int64_t		 want;
	} good[] = {
		{ "0", 0 }, { "3", 3000 }, { "3s", 3000 }, { "500ms", 500 },
		{ "2m", 120000 }, { "1h", 3600000 }, { "1d", 86400000 },
		{ "7d", INT64_C(604800000) }, { "10M", 600000 },
	};
	static const char *const invalid[] = {
		"", "1.5", "3x", "-1", "ms", "3 s", "3sec", "s3",
	};
	int64_t	v;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		v = -1;
		assert_int_equal(dfs_parse_duration(good[i].text, &v), 0);
		assert_int_equal(v, good[i].want);
	}
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		if (dfs_parse_duration(invalid[i], &v) != -EINVAL)
			fail_msg("'%s' accepted as a duration", invalid[i]);
	/* 9223372036854776 s is just over INT64_MAX ms. */
	assert_int_equal(dfs_parse_duration("9223372036854776s", &v), -ERANGE);
	assert_int_equal(dfs_parse_duration("9223372036854775ms", &v), 0);
	assert_int_equal(dfs_parse_duration("99999999999999999999d", &v),
	    -ERANGE);
}

static void
test_size_bounds(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();

	(void)state;
	set_ok(cfg, "cluster.block_size", "4K");
	assert_int_equal(dfs_config_int(cfg, "cluster.block_size"), 4096);
	set_ok(cfg, "cluster.block_size", "2G");
	assert_int_equal(dfs_config_int(cfg, "cluster.block_size"), 2 * GB);
	expect_set_fails(cfg, "cluster.block_size", "4095", -ERANGE,
	    "'4095' is out of range (4K..2G)");
	expect_set_fails(cfg, "cluster.block_size", "2049M", -ERANGE,
	    "out of range");
	expect_set_fails(cfg, "cluster.block_size", "99999999999999999999G",
	    -ERANGE, "out of range");
	expect_set_fails(cfg, "cluster.block_size", "-1", -EINVAL,
	    "is not a size");
	expect_set_fails(cfg, "cluster.block_size", "12X", -EINVAL,
	    "'12X' is not a size");
	/* Failures leave the previous value. */
	assert_int_equal(dfs_config_int(cfg, "cluster.block_size"), 2 * GB);
	set_ok(cfg, "datanode.chunk_size", "512");
	assert_int_equal(dfs_config_int(cfg, "datanode.chunk_size"), 512);
	set_ok(cfg, "datanode.chunk_size", "1MiB");
	assert_int_equal(dfs_config_int(cfg, "datanode.chunk_size"), MB);
	expect_set_fails(cfg, "datanode.chunk_size", "511", -ERANGE, NULL);
	expect_set_fails(cfg, "datanode.chunk_size", "1025K", -ERANGE, NULL);
	set_ok(cfg, "datanode.scan_rate", "100G");
	assert_int_equal(dfs_config_int(cfg, "datanode.scan_rate"), 100 * GB);
	set_ok(cfg, "mount.max_memory", "64G");
	expect_set_fails(cfg, "mount.max_memory", "65G", -ERANGE, NULL);
	dfs_config_free(cfg);
}

static void
test_int_bounds(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();

	(void)state;
	set_ok(cfg, "cluster.replication", "1");
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 1);
	set_ok(cfg, "cluster.replication", "16");
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 16);
	expect_set_fails(cfg, "cluster.replication", "0", -ERANGE,
	    "'0' is out of range (1..16)");
	expect_set_fails(cfg, "cluster.replication", "17", -ERANGE, NULL);
	expect_set_fails(cfg, "cluster.replication", "-5", -ERANGE, NULL);
	expect_set_fails(cfg, "cluster.replication", "99999999999999999999",
	    -ERANGE, NULL);
	expect_set_fails(cfg, "cluster.replication", "abc", -EINVAL,
	    "'abc' is not an integer");
	expect_set_fails(cfg, "cluster.replication", "3x", -EINVAL, NULL);
	expect_set_fails(cfg, "cluster.replication", "", -EINVAL, NULL);
	expect_set_fails(cfg, "cluster.replication", "2.0", -EINVAL, NULL);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 16);
	set_ok(cfg, "datanode.reduce_threads", "256");
	expect_set_fails(cfg, "datanode.reduce_threads", "257", -ERANGE, NULL);
	dfs_config_free(cfg);
}

static void
test_duration_bounds(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();

	(void)state;
	set_ok(cfg, "namenode.heartbeat", "100ms");
	assert_int_equal(dfs_config_int(cfg, "namenode.heartbeat"), 100);
	set_ok(cfg, "namenode.heartbeat", "1h");
	assert_int_equal(dfs_config_int(cfg, "namenode.heartbeat"), 3600000);
	set_ok(cfg, "namenode.heartbeat", "7");
	assert_int_equal(dfs_config_int(cfg, "namenode.heartbeat"), 7000);
	expect_set_fails(cfg, "namenode.heartbeat", "99ms", -ERANGE,
	    "'99ms' is out of range (100ms..1h)");
	expect_set_fails(cfg, "namenode.heartbeat", "3601", -ERANGE, NULL);
	expect_set_fails(cfg, "namenode.heartbeat", "1.5", -EINVAL,
	    "is not a duration");
	expect_set_fails(cfg, "namenode.heartbeat", "9999999999999999999999h",
	    -ERANGE, NULL);
	set_ok(cfg, "namenode.safemode_timeout", "0");
	assert_int_equal(dfs_config_int(cfg, "namenode.safemode_timeout"), 0);
	expect_set_fails(cfg, "namenode.key_rotation", "0s", -ERANGE, NULL);
	set_ok(cfg, "namenode.key_rotation", "1s");	/* tests rotate fast */
	set_ok(cfg, "namenode.key_rotation", "1m");
	assert_int_equal(dfs_config_int(cfg, "namenode.key_rotation"), 60000);
	set_ok(cfg, "namenode.token_lifetime", "7d");
	expect_set_fails(cfg, "namenode.token_lifetime", "8d", -ERANGE,
	    "(1s..7d)");
	dfs_config_free(cfg);
}

static void
test_bool(void **state)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE",
	    "Yes", "ON" };
	static const char *const no[] = { "false", "no", "off", "0", "False",
	    "NO", "Off" };
	struct dfs_config	*cfg = dfs_config_create();

	(void)state;
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		set_ok(cfg, "log.syslog", "false");
		set_ok(cfg, "log.syslog", yes[i]);
		assert_true(dfs_config_bool(cfg, "log.syslog"));
	}
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		set_ok(cfg, "log.syslog", "true");
		set_ok(cfg, "log.syslog", no[i]);
		assert_false(dfs_config_bool(cfg, "log.syslog"));
	}
	expect_set_fails(cfg, "log.syslog", "maybe", -EINVAL,
	    "'maybe' is not a boolean");
	expect_set_fails(cfg, "log.syslog", "2", -EINVAL, NULL);
	expect_set_fails(cfg, "log.syslog", "", -EINVAL, NULL);
	expect_set_fails(cfg, "log.syslog", "yess", -EINVAL, NULL);
	dfs_config_free(cfg);
}

static void
test_double(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();
	const char		*k = "namenode.safemode_threshold";

	(void)state;
	set_ok(cfg, k, "0");
	assert_true(dfs_config_double(cfg, k) == 0.0);
	set_ok(cfg, k, "1");
	assert_true(dfs_config_double(cfg, k) == 1.0);
	set_ok(cfg, k, "0.5");
	assert_true(dfs_config_double(cfg, k) == 0.5);
	set_ok(cfg, k, "2.5e-1");
	assert_true(dfs_config_double(cfg, k) == 0.25);
	expect_set_fails(cfg, k, "1.0001", -ERANGE, "out of range (0..1)");
	expect_set_fails(cfg, k, "-0.1", -ERANGE, NULL);
	expect_set_fails(cfg, k, "1e999", -ERANGE, NULL);
	expect_set_fails(cfg, k, "nan", -EINVAL, "is not a number");
	expect_set_fails(cfg, k, "inf", -EINVAL, NULL);
	expect_set_fails(cfg, k, "abc", -EINVAL, NULL);
	expect_set_fails(cfg, k, "0.5x", -EINVAL, NULL);
	expect_set_fails(cfg, k, "", -EINVAL, NULL);
	assert_true(dfs_config_double(cfg, k) == 0.25);
	dfs_config_free(cfg);
}

static void
test_enum(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();

	(void)state;
	set_ok(cfg, "log.level", "error");
	assert_string_equal(dfs_config_str(cfg, "log.level"), "error");
	assert_int_equal(dfs_config_int(cfg, "log.level"), DFS_LOG_ERR);
	set_ok(cfg, "log.level", "WARN");
	assert_string_equal(dfs_config_str(cfg, "log.level"), "warn");
	assert_int_equal(dfs_config_int(cfg, "log.level"), DFS_LOG_WARN);
	set_ok(cfg, "log.level", "debug");
	assert_int_equal(dfs_config_int(cfg, "log.level"), DFS_LOG_DEBUG);
	expect_set_fails(cfg, "log.level", "loud", -EINVAL,
	    "'loud' is not one of error|warn|info|debug");
	expect_set_fails(cfg, "log.level", "inf", -EINVAL, NULL);
	expect_set_fails(cfg, "log.level", "", -EINVAL, NULL);
	expect_set_fails(cfg, "log.level", "error|warn", -EINVAL, NULL);
	assert_string_equal(dfs_config_str(cfg, "log.level"), "debug");
	dfs_config_free(cfg);
}

static void
test_string_limits(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();
	char			*s = xmalloc(DFS_CONF_STR_MAX + 2);

	(void)state;
	memset(s, 'a', DFS_CONF_STR_MAX);
	s[DFS_CONF_STR_MAX] = '\0';
	set_ok(cfg, "cluster.secret_file", s);
	assert_int_equal(strlen(dfs_config_str(cfg, "cluster.secret_file")),
	    4095);
	s[DFS_CONF_STR_MAX] = 'a';
	s[DFS_CONF_STR_MAX + 1] = '\0';
	expect_set_fails(cfg, "cluster.secret_file", s, -EINVAL, "too long");
	expect_set_fails(cfg, "cluster.secret_file", "a\nb", -EINVAL,
	    "control character");
	set_ok(cfg, "cluster.secret_file", "tab\there");
	assert_string_equal(dfs_config_str(cfg, "cluster.secret_file"),
	    "tab\there");
	free(s);
	dfs_config_free(cfg);
}

/* The message a user sees for a bad value, word for word. */
static void
test_error_message_exact(void **state)
{
	static const char text[] = "[namenode]\n# c\nheartbeat = 0\n";
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL, *want;

	(void)state;
	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    -ERANGE);
	xasprintf(&want, "%s:3: namenode.heartbeat: '0' is out of range "
	    "(100ms..1h)", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	remove_temp(path);
	dfs_config_free(cfg);
}

static void
test_unknown_key_and_section(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL, *want;
	static const char	 text[] = "[namenode]\nfoo = 1\n";

	(void)state;
	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    -EINVAL);
	xasprintf(&want, "%s:2: unknown key 'namenode.foo'", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	remove_temp(path);
	dfs_config_free(cfg);

	expect_load_error("# x\n[nosuch]\n", 2, -EINVAL,
	    "unknown section 'nosuch'");
	/* A full key name is not a section. */
	expect_load_error("[cluster.replication]\n", 1, -EINVAL,
	    "unknown section");
	/* Keys are "section.key": a dotted key inside a section is unknown. */
	expect_load_error("[cluster]\ncluster.replication = 2\n", 2, -EINVAL,
	    "unknown key 'cluster.cluster.replication'");
}

static void
test_key_outside_section(void **state)
{
	(void)state;
	expect_load_error("# comment\nreplication = 3\n[cluster]\n", 2,
	    -EINVAL, "key 'replication' is outside any section");
}

static void
test_duplicate_key(void **state)
{
	static const char text[] =
	    "[cluster]\nreplication = 2\n\n replication=4\n";
	static const char sections_again[] =
	    "[cluster]\nreplication=2\n[log]\nlevel=warn\n[cluster]\n"
	    "block_size=1M\n";
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL, *want;

	(void)state;
	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    -EINVAL);
	xasprintf(&want, "%s:4: duplicate key 'cluster.replication' (first "
	    "set on line 2)", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	remove_temp(path);
	/* Nothing from the failed file was applied. */
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 3);

	/* A section may reopen; only keys may not repeat. */
	cause = NULL;
	assert_int_equal(load_bytes(cfg, sections_again,
	    strlen(sections_again), &path, &cause), 0);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 2);
	assert_int_equal(dfs_config_int(cfg, "cluster.block_size"), MB);
	assert_string_equal(dfs_config_str(cfg, "log.level"), "warn");
	/* Loading the same text twice is fine: duplicates are per file. */
	remove_temp(path);
	assert_int_equal(load_bytes(cfg, sections_again,
	    strlen(sections_again), &path, &cause), 0);
	remove_temp(path);
	dfs_config_free(cfg);
}

static void
test_long_line(void **state)
{
	size_t			 n = DFS_CONF_LINE_MAX + 64;
	char			*text = xmalloc(n), *path, *cause = NULL;
	struct dfs_config	*cfg = dfs_config_create();
	size_t			 len;

	(void)state;
	/* A 4096-byte comment line ending in "\r\n" is fine... */
	len = (size_t)snprintf(text, n, "[cluster]\n#");
	memset(text + len, 'x', 4095);
	len += 4095;
	memcpy(text + len, "\r\nreplication = 4\n", 18);
	len += 18;
	assert_int_equal(load_bytes(cfg, text, len, &path, &cause), 0);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 4);
	remove_temp(path);

	/* ...4097 bytes is not, with or without a line end. */
	len = (size_t)snprintf(text, n, "[cluster]\n#");
	memset(text + len, 'x', 4096);
	len += 4096;
	for (int end = 0; end < 2; end++) {
		if (end)
			text[len++] = '\n';
		assert_int_equal(load_bytes(cfg, text, len, &path, &cause),
		    -EINVAL);
		assert_non_null(strstr(cause, ":2: line is longer than 4096"));
		free(cause);
		cause = NULL;
		remove_temp(path);
	}
	free(text);
	dfs_config_free(cfg);
}

static void
test_missing_file(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();
	char			*dir, *path, *cause = NULL, *want;

	(void)state;
	xasprintf(&dir, "%s/test-config.XXXXXX", tmp_dir());
	assert_non_null(mkdtemp(dir));
	xasprintf(&path, "%s/nope.conf", dir);
	assert_int_equal(dfs_config_load(cfg, path, &cause), -ENOENT);
	xasprintf(&want, "cannot open %s: No such file or directory", path);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	/* cause may be NULL. */
	assert_int_equal(dfs_config_load(cfg, path, NULL), -ENOENT);
	/* A directory opens but cannot be read. */
	cause = NULL;
	assert_int_equal(dfs_config_load(cfg, dir, &cause), -EISDIR);
	assert_non_null(strstr(cause, "cannot read"));
	free(cause);
	assert_int_equal(rmdir(dir), 0);
	free(path);
	free(dir);
	dfs_config_free(cfg);
}

/* Programs load the file, then apply -o: call order decides. */
static void
test_overrides(void **state)
{
	static const char text[] = "[cluster]\nreplication = 2\n";
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL;

	(void)state;
	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    0);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 2);
	assert_int_equal(dfs_config_set_arg(cfg, "cluster.replication=5",
	    &cause), 0);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 5);
	assert_int_equal(dfs_config_set_arg(cfg, " cluster.replication = 6 ",
	    &cause), 0);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 6);
	set_ok(cfg, "cluster.replication", "4");
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 4);
	remove_temp(path);
	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    0);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 2);
	assert_null(cause);
	remove_temp(path);

	/* Only the first '=' splits. */
	assert_int_equal(dfs_config_set_arg(cfg, "namenode.listen=a=b",
	    &cause), 0);
	assert_string_equal(dfs_config_str(cfg, "namenode.listen"), "a=b");

	assert_int_equal(dfs_config_set_arg(cfg, "cluster.replication",
	    &cause), -EINVAL);
	assert_non_null(strstr(cause, "expected KEY=VALUE"));
	free(cause);
	assert_int_equal(dfs_config_set_arg(cfg, "=5", &cause), -EINVAL);
	assert_non_null(strstr(cause, "expected KEY=VALUE"));
	free(cause);
	assert_int_equal(dfs_config_set_arg(cfg, "cluster.nope=1", &cause),
	    -EINVAL);
	assert_string_equal(cause, "unknown key 'cluster.nope'");
	free(cause);
	assert_int_equal(dfs_config_set_arg(cfg, "cluster.replication=0",
	    &cause), -ERANGE);
	assert_string_equal(cause,
	    "cluster.replication: '0' is out of range (1..16)");
	free(cause);
	assert_int_equal(dfs_config_set(cfg, "nosection", "1", NULL), -EINVAL);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 2);
	dfs_config_free(cfg);
}

/* A file that fails half way changes nothing. */
static void
test_failed_load_is_atomic(void **state)
{
	static const char text[] =
	    "[cluster]\nreplication = 2\nsecret_file = /x\nblock_size = 12X\n";
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL;

	(void)state;
	set_ok(cfg, "cluster.secret_file", "/before");
	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    -EINVAL);
	assert_non_null(strstr(cause, ":4: cluster.block_size: '12X' is not "
	    "a size"));
	free(cause);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 3);
	assert_false(dfs_config_is_set(cfg, "cluster.replication"));
	assert_string_equal(dfs_config_str(cfg, "cluster.secret_file"),
	    "/before");
	remove_temp(path);
	dfs_config_free(cfg);
}

static void
test_is_set(void **state)
{
	static const char text[] = "[mount]\nattr_timeout = 1s\n";
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL;

	(void)state;
	assert_false(dfs_config_is_set(cfg, "cluster.replication"));
	expect_set_fails(cfg, "cluster.replication", "0", -ERANGE, NULL);
	assert_false(dfs_config_is_set(cfg, "cluster.replication"));
	set_ok(cfg, "cluster.replication", "3");
	assert_true(dfs_config_is_set(cfg, "cluster.replication"));
	/* Set to its default value still counts as set. */
	assert_false(dfs_config_is_set(cfg, "mount.attr_timeout"));
	assert_int_equal(load_bytes(cfg, text, strlen(text), &path, &cause),
	    0);
	assert_true(dfs_config_is_set(cfg, "mount.attr_timeout"));
	assert_false(dfs_config_is_set(cfg, "mount.max_memory"));
	remove_temp(path);
	dfs_config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_bom),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_size_bounds),
		cmocka_unit_test(test_int_bounds),
		cmocka_unit_test(test_duration_bounds),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_double),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_string_limits),
		cmocka_unit_test(test_error_message_exact),
		cmocka_unit_test(test_unknown_key_and_section),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_failed_load_is_atomic),
		cmocka_unit_test(test_is_set),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_garbage_files),
		cmocka_unit_test(test_getter_misuse_aborts),
		cmocka_unit_test(test_dump_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
