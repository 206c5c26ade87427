/*
 * test-config-file.c: whole files through the parser, for test-config
 * (its main is in test-config.c): writing and reading back every key,
 * broken and hostile files, and misuse of the getters.
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

/* Write to memory; caller frees. */
static char *
write_to_string(const struct dfs_config *cfg, const char *prefix)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(dfs_config_write(cfg, f, prefix), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

void
test_round_trip(void **state)
{
	static const char weird[] = "  we\"ird \\ #path; x\t ";
	struct dfs_config	*a = dfs_config_create(), *b, *c;
	char			*text, *path, *cause = NULL;

	(void)state;
	/* Nothing set, nothing written. */
	text = write_to_string(a, NULL);
	assert_string_equal(text, "");
	free(text);

	set_ok(a, "cluster.secret_file", weird);
	set_ok(a, "cluster.block_size", "4097");
	set_ok(a, "cluster.replication", "7");
	set_ok(a, "datanode.chunk_size", "1M");
	set_ok(a, "datanode.advertise", "");
	set_ok(a, "namenode.heartbeat", "1500ms");
	set_ok(a, "namenode.token_lifetime", "2h");
	set_ok(a, "namenode.safemode_timeout", "0");
	set_ok(a, "namenode.safemode_threshold", "0.1");
	set_ok(a, "mount.attr_timeout", "0");
	set_ok(a, "log.level", "WARN");
	set_ok(a, "log.syslog", "on");
	text = write_to_string(a, NULL);

	b = dfs_config_create();
	assert_int_equal(load_bytes(b, text, strlen(text), &path, &cause), 0);
	remove_temp(path);
	assert_string_equal(dfs_config_str(b, "cluster.secret_file"), weird);
	assert_int_equal(dfs_config_int(b, "cluster.block_size"), 4097);
	assert_int_equal(dfs_config_int(b, "cluster.replication"), 7);
	assert_int_equal(dfs_config_int(b, "datanode.chunk_size"), MB);
	assert_string_equal(dfs_config_str(b, "datanode.advertise"), "");
	assert_true(dfs_config_is_set(b, "datanode.advertise"));
	assert_int_equal(dfs_config_int(b, "namenode.heartbeat"), 1500);
	assert_int_equal(dfs_config_int(b, "namenode.token_lifetime"),
	    2 * 3600 * 1000);
	assert_int_equal(dfs_config_int(b, "namenode.safemode_timeout"), 0);
	assert_true(dfs_config_is_set(b, "namenode.safemode_timeout"));
	assert_true(dfs_config_double(b, "namenode.safemode_threshold") ==
	    0.1);
	assert_int_equal(dfs_config_int(b, "mount.attr_timeout"), 0);
	free(text);

	/* A double that needs all 17 significant digits. */
	set_ok(a, "namenode.safemode_threshold", "0.30000000000000004");
	text = write_to_string(a, "namenode");
	assert_int_equal(load_bytes(b, text, strlen(text), &path, &cause), 0);
	remove_temp(path);
	assert_true(dfs_config_double(b, "namenode.safemode_threshold") ==
	    0.30000000000000004);
	assert_false(dfs_config_double(b, "namenode.safemode_threshold") ==
	    0.3);
	assert_string_equal(dfs_config_str(b, "log.level"), "warn");
	assert_true(dfs_config_bool(b, "log.syslog"));
	/* Unset keys stay unset. */
	assert_false(dfs_config_is_set(b, "namenode.listen"));
	assert_false(dfs_config_is_set(b, "client.timeout"));

	/* Only the sections asked for. */
	free(text);
	text = write_to_string(a, "datanode");
	assert_non_null(strstr(text, "[datanode]\n"));
	assert_null(strstr(text, "[cluster]"));
	assert_null(strstr(text, "[namenode]"));
	c = dfs_config_create();
	assert_int_equal(load_bytes(c, text, strlen(text), &path, &cause), 0);
	remove_temp(path);
	assert_int_equal(dfs_config_int(c, "datanode.chunk_size"), MB);
	assert_false(dfs_config_is_set(c, "cluster.replication"));
	assert_false(dfs_config_is_set(c, "log.level"));
	free(text);
	dfs_config_free(c);

	/* load_stream reads what write wrote, too. */
	text = write_to_string(a, "name");
	c = dfs_config_create();
	{
		FILE	*f = fmemopen(text, strlen(text), "r");

		assert_non_null(f);
		assert_int_equal(dfs_config_load_stream(c, f, "mem", &cause),
		    0);
		fclose(f);
	}
	assert_int_equal(dfs_config_int(c, "namenode.heartbeat"), 1500);
	assert_false(dfs_config_is_set(c, "datanode.chunk_size"));
	free(text);
	dfs_config_free(c);
	dfs_config_free(b);
	dfs_config_free(a);
}

/* Every way a line can be wrong is an error at that line, not a crash. */
void
test_bad_lines(void **state)
{
	static const struct {
		const char	*line;
		const char	*needle;
	} bad[] = {
		{ "[namenode\n", "missing ']'" },
		{ "[]\n", "empty section" },
		{ "[ ]\n", "empty section" },
		{ "[namenode] junk\n", "after ']'" },
		{ "= 3\n", "missing key" },
		{ "replication\n", "expected 'key = value'" },
		{ "secret_file = \"unterminated\n", "missing closing" },
		{ "secret_file = \"trailing backslash\\\n", "missing closing" },
		{ "secret_file = \"bad \\n escape\"\n", "bad escape" },
		{ "secret_file = \"x\" trailing\n", "after closing" },
		{ "replication = \n", "is not an integer" },
		{ "replication = \"\"\n", "is not an integer" },
		{ "replication = 2 3\n", "is not an integer" },
	};
	char	*text;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		xasprintf(&text, "[cluster]\n%s", bad[i].line);
		expect_load_error(text, 2, -EINVAL, bad[i].needle);
		free(text);
	}
}

void
test_nul_byte(void **state)
{
	static const char text[] = "[cluster]\nreplication = 2\0 3\n";
	struct dfs_config	*cfg = dfs_config_create();
	char			*path, *cause = NULL;

	(void)state;
	assert_int_equal(load_bytes(cfg, text, sizeof text - 1, &path, &cause),
	    -EINVAL);
	assert_non_null(strstr(cause, ":2: line contains a NUL byte"));
	free(cause);
	assert_int_equal(dfs_config_int(cfg, "cluster.replication"), 3);
	remove_temp(path);
	dfs_config_free(cfg);
}

/*
 * Random files stitched from the format's own pieces: whatever comes
 * back must be 0, or an error with a cause (ASan watches the rest).
 */
void
test_garbage_files(void **state)
{
	static const char *const pieces[] = {
		"[cluster]", "[namenode]", "[log]", "[", "]", "replication",
		"block_size", "heartbeat", "secret_file", "level", "=", " ",
		"\t", "\"", "\\", "#", ";", "\n", "\r\n", "1", "64K", "0.5",
		"x", "\xef\xbb\xbf", "999999999999999999999", "ms", ".",
	};
	struct dfs_config	*cfg;
	char			 buf[512], *cause;
	unsigned		 seed = 12345;
	int			 ok = 0, rc;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t	len = 0;
		int	n = rand_r(&seed) % 40;

		for (int i = 0; i < n; i++) {
			const char	*p;

			if (rand_r(&seed) % 50 == 0) {
				buf[len++] = (char)(rand_r(&seed) % 256);
				continue;
			}
			p = pieces[rand_r(&seed) %
			    (sizeof pieces / sizeof pieces[0])];
			if (len + strlen(p) >= sizeof buf)
				break;
			memcpy(buf + len, p, strlen(p));
			len += strlen(p);
		}
		cfg = dfs_config_create();
		cause = NULL;
		{
			FILE	*f = fmemopen(buf, len == 0 ? 1 : len, "r");

			assert_non_null(f);
			rc = dfs_config_load_stream(cfg, f, "fuzz", &cause);
			fclose(f);
		}
		if (rc == 0) {
			assert_null(cause);
			ok++;
		} else {
			assert_true(rc == -EINVAL || rc == -ERANGE);
			assert_non_null(cause);
			assert_true(strncmp(cause, "fuzz:", 5) == 0);
		}
		free(cause);
		dfs_config_free(cfg);
	}
	/* The generator must reach the success path as well. */
	assert_true(ok > 10);
}

/* Misusing a getter is a bug: abort() at once rather than guess. */
void
test_getter_misuse_aborts(void **state)
{
	struct dfs_config	*cfg = dfs_config_create();

	(void)state;
	for (int which = 0; which < 5; which++) {
		pid_t	pid = fork();
		int	status;

		assert_true(pid >= 0);
		if (pid == 0) {
			int	fd = open("/dev/null", O_WRONLY);

			if (fd >= 0)
				dup2(fd, STDERR_FILENO);
			switch (which) {
			case 0:
				dfs_config_str(cfg, "no.such");
				break;
			case 1:
				dfs_config_int(cfg, "namenode.listen");
				break;
			case 2:
				dfs_config_bool(cfg, "cluster.replication");
				break;
			case 3:
				dfs_config_double(cfg, "log.syslog");
				break;
			case 4:
				dfs_config_is_set(cfg, "cluster");
				break;
			}
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGABRT);
	}
	dfs_config_free(cfg);
}

void
test_dump_table(void **state)
{
	char	*buf = NULL, *line;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);
	int	 keys = 0, helps = 0;

	(void)state;
	assert_non_null(f);
	dfs_config_dump_table(f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "cluster.block_size = 64M\n"
	    "\tsize, 4K..2G: default block size for new files\n"));
	assert_non_null(strstr(buf, "namenode.heartbeat = 3s\n"
	    "\tduration, 100ms..1h: data node heartbeat interval\n"));
	assert_non_null(strstr(buf, "cluster.secret_file = \"\"\n\tstring: "));
	assert_non_null(strstr(buf, "log.level = info\n"
	    "\tenum, error|warn|info|debug: "));
	assert_non_null(strstr(buf, "namenode.safemode_threshold = 0.999\n"
	    "\tnumber, 0..1: "));
	/* Every key has its help line. */
	for (line = buf; *line != '\0'; line = strchr(line, '\n') + 1) {
		if (*line == '\t')
			helps++;
		else
			keys++;
	}
	assert_int_equal(keys, helps);
	assert_true(keys >= 26);
	free(buf);
}
