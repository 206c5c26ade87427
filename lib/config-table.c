/*
 * config-table.c: every configuration key npdfs knows, and how a value of
 * each type is read from text and written back as text.
 *
 * The keys are rows of one table with type, bounds, default and help, so
 * adding a key is adding a row here: the getters, "-o KEY=VALUE", --help
 * (dfs_config_dump_table), "dfs cluster up" and npdfs.conf(5) all follow
 * (keep man/npdfs.conf.5 in step by hand).  The types' parsers and
 * formatters sit beside the table because bounds and defaults are written
 * in their terms; the file format and the configuration object are in
 * config.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_i.h"
#include "xmalloc.h"

#define KiB	INT64_C(1024)
#define MiB	(1024 * KiB)
#define GiB	(1024 * MiB)

#define K_STR(n, d, h)							\
	{ .name = n, .type = DFS_CONF_STR, .def = d, .help = h }
#define K_INT(n, lo, hi, d, h)						\
	{ .name = n, .type = DFS_CONF_INT, .min = lo, .max = hi,	\
	  .def = d, .help = h }
#define K_SIZE(n, lo, hi, d, h)						\
	{ .name = n, .type = DFS_CONF_SIZE, .min = lo, .max = hi,	\
	  .def = d, .help = h }
#define K_SECS(n, lo, hi, d, h)						\
	{ .name = n, .type = DFS_CONF_SECONDS, .min = lo, .max = hi,	\
	  .def = d, .help = h }
#define K_DBL(n, lo, hi, d, h)						\
	{ .name = n, .type = DFS_CONF_DOUBLE, .dmin = lo, .dmax = hi,	\
	  .def = d, .help = h }
#define K_BOOL(n, d, h)							\
	{ .name = n, .type = DFS_CONF_BOOL, .def = d, .help = h }
#define K_ENUM(n, c, d, h)						\
	{ .name = n, .type = DFS_CONF_ENUM, .choices = c, .def = d, .help = h }

/*
 * Every key, grouped by section.  Defaults are text, parsed like a value
 * from a file by dfs_config_create(); a bad default stops every program at
 * start-up.  Bounds of SECONDS keys are in milliseconds.
 */
const struct conf_key dfs_config_table[] = {
	K_SIZE("cluster.block_size", 4 * KiB, 2 * GiB, "64M",
	    "default block size for new files"),
	K_INT("cluster.replication", 1, 16, "3",
	    "default replication factor"),
	K_STR("cluster.secret_file", "",
	    "unused: token keys are random and travel from the namenode"),

	K_STR("namenode.address", "127.0.0.1:9870",
	    "where clients and data nodes reach the namenode (host:port)"),
	K_STR("namenode.listen", "127.0.0.1:9870",
	    "address the namenode binds"),
	K_INT("namenode.id", 0, 1000, "0",
	    "this namenode's member id in namenode.peers (0: no group)"),
	K_STR("namenode.peers", "",
	    "a namenode group: ID=HOST:PORT of every member, comma-separated,"
	    " the same on every member; empty: one namenode"),
	K_INT("namenode.election_timeout", 100, 60000, "1000",
	    "a group's Raft election timeout, milliseconds"),
	K_INT("namenode.snapshot_entries", 16, 1000000, "1024",
	    "a group's log entries between two snapshots"),
	K_STR("namenode.meta_dir", "/var/lib/npdfs/namenode",
	    "SQLite database directory"),
	K_STR("namenode.audit_log", "audit.log",
	    "audit log file, relative to namenode.meta_dir; empty: none"),
	K_SECS("namenode.heartbeat", 100 * MSEC, HOUR, "3s",
	    "data node heartbeat interval"),
	K_SECS("namenode.dead_timeout", SEC, DAY, "30s",
	    "silence after which a data node is dead"),
	K_SECS("namenode.block_report_interval", SEC, DAY, "1h",
	    "full block report period"),
	K_INT("namenode.block_report_part", 1, 16384, "16384",
	    "replicas in one part of a block report"),
	K_DBL("namenode.safemode_threshold", 0.0, 1.0, "0.999",
	    "share of blocks reported before leaving safe mode"),
	K_SECS("namenode.safemode_timeout", 0, DAY, "30s",
	    "longest wait in safe mode for block reports"),
	K_SECS("namenode.token_lifetime", SEC, 7 * DAY, "10m",
	    "block token validity"),
	K_SECS("namenode.key_rotation", SEC, 30 * DAY, "1d",
	    "token key rotation period"),
	K_STR("namenode.test_key_file", "",
	    "for tests only: write the token keys to this file"),
	K_SECS("namenode.delete_grace", 0, DAY, "60s",
	    "no replica is deleted until this long after start-up"),
	K_ENUM("namenode.sync", "interval|always", "interval",
	    "when the namespace reaches the disk: at least every "
	    "namenode.sync_interval and on fsync (interval), or at every "
	    "operation (always)"),
	K_SECS("namenode.sync_interval", 10 * MSEC, HOUR, "1s",
	    "the longest an operation waits to be synced (sync = interval)"),
	K_SECS("namenode.lease_timeout", SEC, DAY, "60s",
	    "silence after which a writer's lease expires"),

	K_STR("datanode.listen", "127.0.0.1:9866",
	    "address the data node binds"),
	K_STR("datanode.advertise", "",
	    "address given to clients (default: listen)"),
	K_STR("datanode.data_dir", "/var/lib/npdfs/datanode",
	    "directory holding block files"),
	K_SIZE("datanode.chunk_size", 512, MiB, "64K",
	    "bytes per CRC32C chunk"),
	K_SECS("datanode.scan_period", SEC, 30 * DAY, "1d",
	    "time to re-verify every block once"),
	K_SIZE("datanode.scan_rate", KiB, 100 * GiB, "100M",
	    "block scanner bytes/s"),
	K_INT("datanode.reduce_threads", 1, 256, "2",
	    "threads serving in-place reductions"),
	K_ENUM("datanode.direct_io", "false|true|downstream", "false",
	    "write block data past the page cache (O_DIRECT): never, "
	    "always, or below a pipeline's first node"),
	K_STR("datanode.local_socket", "auto",
	    "Unix socket for short-circuit local reads (auto: "
	    "DATA_DIR.sock, beside the data directory; empty: none)"),

	K_SECS("client.timeout", 100 * MSEC, HOUR, "30s",
	    "how long an operation waits for the namenode or a data node"),
	K_SECS("client.read_stall_timeout", 100 * MSEC, HOUR, "2s",
	    "how long a reader waits on a silent replica before the next"),
	K_BOOL("client.short_circuit", "true",
	    "read replicas on this machine straight from their files"),

	K_SECS("mount.attr_timeout", 0, HOUR, "1s",
	    "how long the kernel caches file attributes"),
	K_SIZE("mount.max_memory", 16 * MiB, 64 * GiB, "256M",
	    "memory for the mount's read and write buffers"),
	K_BOOL("mount.lowlevel", "true",
	    "serve the mount through libfuse's low-level API, naming files "
	    "to the namenode by inode (false: the path-based API)"),

	K_BOOL("net.encrypt_data", "true",
	    "encrypt block data between clients and data nodes (false: "
	    "authenticated but readable; trusted networks only)"),
	K_INT("net.max_handshakes_per_addr", 1, 1024, "64",
	    "connections from one address still in their TLS handshake"),
	K_INT("net.max_conns_per_addr", 1, 1024, "256",
	    "connections open from one address"),
	K_INT("net.max_conns_per_identity", 1, 1024, "256",
	    "connections open with one certificate name"),

	K_STR("tls.ca", "",
	    "the cluster CA's certificate (PEM): the only CA trusted"),
	K_STR("tls.cert", "",
	    "this program's certificate (PEM), issued by dfs ca"),
	K_STR("tls.key", "",
	    "its private key (PEM, mode 0600: a looser one is refused)"),
	K_STR("tls.crl", "",
	    "the CA's revocation list (PEM; empty: none)"),

	K_ENUM("log.level", "error|warn|info|debug", "info",
	    "least severe message logged"),
	K_BOOL("log.syslog", "false",
	    "log to syslog instead of stderr"),
};

/* Read by config.c, which cannot see the array's size. */
const size_t dfs_config_nkeys =
    sizeof dfs_config_table / sizeof dfs_config_table[0];

/* Type names as --help and messages show them. */
const char *const dfs_conf_type_names[] = {
	[DFS_CONF_STR] = "string",
	[DFS_CONF_INT] = "integer",
	[DFS_CONF_SIZE] = "size",
	[DFS_CONF_BOOL] = "boolean",
	[DFS_CONF_SECONDS] = "duration",
	[DFS_CONF_DOUBLE] = "number",
	[DFS_CONF_ENUM] = "enum",
};

/*
 * A user's text made safe to quote in a one-line message: control bytes
 * become '?' and long text is cut with "...".
 */
void
dfs_conf_show(const char *s, char *buf, size_t size)
{
	size_t	n = 0;

	for (; *s != '\0' && n < size - 1; s++) {
		if (n == CONF_SHOW_MAX || n == size - 4) {
			strcpy(buf + n, "...");
			return;
		}
		buf[n++] = iscntrl((unsigned char)*s) ? '?' : *s;
	}
	buf[n] = '\0';
}

/*
 * Leading decimal digits of s as a non-negative int64; *end points past
 * them.  -EINVAL when there is no digit, -ERANGE when they do not fit (all
 * digits are still consumed, so a caller can report bad text first).
 */
static int
conf_digits(const char *s, const char **end, int64_t *out)
{
	int64_t	v = 0;
	bool	big = false;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		int	d = *s - '0';

		if (v > (INT64_MAX - d) / 10)
			big = true;
		else
			v = v * 10 + d;
	}
	*end = s;
	*out = v;
	return big ? -ERANGE : 0;
}

/* Public: the CLI parses "-b 1M" with it too. */
int
dfs_parse_size(const char *s, int64_t *out)
{
	static const char	 units[] = "kmgt";
	const char		*p, *u;
	int64_t			 v, mul = 1;
	int			 rc;

	rc = conf_digits(s, &p, &v);
	if (rc == -EINVAL)
		return rc;
	if (*p != '\0') {
		u = strchr(units, tolower((unsigned char)*p));
		if (u == NULL)
			return -EINVAL;
		mul = INT64_C(1) << (10 * (u - units + 1));
		p++;
		if (strcasecmp(p, "ib") == 0)
			p += 2;
		if (*p != '\0')
			return -EINVAL;
	}
	if (rc == -ERANGE || __builtin_mul_overflow(v, mul, &v))
		return -ERANGE;
	*out = v;
	return 0;
}

/* Public: a bare number is seconds, as in most daemons' configs. */
int
dfs_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char	*suffix;
		int64_t		 mul;
	} units[] = {
		{ "", SEC }, { "ms", MSEC }, { "s", SEC }, { "m", MINUTE },
		{ "h", HOUR }, { "d", DAY },
	};
	const char	*p;
	int64_t		 v;
	int		 rc;

	rc = conf_digits(s, &p, &v);
	if (rc == -EINVAL)
		return rc;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcasecmp(p, units[i].suffix) != 0)
			continue;
		if (rc == -ERANGE ||
		    __builtin_mul_overflow(v, units[i].mul, &v))
			return -ERANGE;
		*ms = v;
		return 0;
	}
	return -EINVAL;
}

/* An optionally negative decimal int64. */
static int
conf_parse_int(const char *s, int64_t *out)
{
	const char	*p;
	bool		 neg = (*s == '-');
	int64_t		 v;
	int		 rc;

	rc = conf_digits(s + neg, &p, &v);
	if (rc == -EINVAL || *p != '\0')
		return -EINVAL;
	if (rc == -ERANGE)
		return -ERANGE;
	*out = neg ? -v : v;
	return 0;
}

/* The usual spellings, any case: true/false, yes/no, on/off, 1/0. */
static int
conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* A finite double; strtod's spellings of infinity and NaN are refused. */
static int
conf_parse_double(const char *s, double *out)
{
	char	*end;
	double	 d;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	d = strtod(s, &end);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	if (!isfinite(d))
		return -EINVAL;
	*out = d;
	return 0;
}

/*
 * Index of s among "a|b|c" (any case), or -1.  *word gets the choice as
 * the table spells it; caller frees.
 */
static int
conf_parse_enum(const char *choices, const char *s, char **word)
{
	size_t	len = strlen(s);
	int	idx = 0;

	for (const char *c = choices; *c != '\0'; idx++) {
		size_t	clen = strcspn(c, "|");

		if (clen == len && strncasecmp(c, s, len) == 0) {
			*word = xstrndup(c, clen);
			return idx;
		}
		c += clen;
		if (*c == '|')
			c++;
	}
	return -1;
}

/* Sizes in the largest unit that divides them: 65536 → "64K". */
static void
conf_fmt_size(int64_t v, char *buf, size_t size)
{
	static const char units[] = "TGMK";

	for (int i = 0; v != 0 && i < 4; i++) {
		int64_t	u = INT64_C(1) << (10 * (4 - i));

		if (v % u == 0) {
			snprintf(buf, size, "%" PRId64 "%c", v / u, units[i]);
			return;
		}
	}
	snprintf(buf, size, "%" PRId64, v);
}

/* Durations the same way: 3600000 → "1h", 1500 → "1500ms". */
static void
conf_fmt_duration(int64_t ms, char *buf, size_t size)
{
	static const struct {
		const char	*suffix;
		int64_t		 mul;
	} units[] = {
		{ "d", DAY }, { "h", HOUR }, { "m", MINUTE }, { "s", SEC },
	};

	if (ms == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms % units[i].mul == 0) {
			snprintf(buf, size, "%" PRId64 "%s", ms / units[i].mul,
			    units[i].suffix);
			return;
		}
	}
	snprintf(buf, size, "%" PRId64 "ms", ms);
}

/* The shortest %g form that reads back as the same double. */
static void
conf_fmt_double(double d, char *buf, size_t size)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

/* An integer-like value in its key's own units. */
static void
conf_fmt_int(const struct conf_key *k, int64_t v, char *buf, size_t size)
{
	if (k->type == DFS_CONF_SIZE)
		conf_fmt_size(v, buf, size);
	else if (k->type == DFS_CONF_SECONDS)
		conf_fmt_duration(v, buf, size);
	else
		snprintf(buf, size, "%" PRId64, v);
}

/* "lo..hi" or the list of choices, for messages and the table dump. */
static void
conf_fmt_bounds(const struct conf_key *k, char *buf, size_t size)
{
	char	lo[32], hi[32];

	switch (k->type) {
	case DFS_CONF_INT:
	case DFS_CONF_SIZE:
	case DFS_CONF_SECONDS:
		conf_fmt_int(k, k->min, lo, sizeof lo);
		conf_fmt_int(k, k->max, hi, sizeof hi);
		break;
	case DFS_CONF_DOUBLE:
		snprintf(lo, sizeof lo, "%g", k->dmin);
		snprintf(hi, sizeof hi, "%g", k->dmax);
		break;
	case DFS_CONF_ENUM:
		snprintf(buf, size, "%s", k->choices);
		return;
	default:
		buf[0] = '\0';
		return;
	}
	snprintf(buf, size, "%s..%s", lo, hi);
}

/*
 * Parse text as a value of key k into *out, which is written only on
 * success.  On failure *why says what is wrong, without the key name.
 * Caller frees *why.
 */
int
dfs_conf_parse_value(const struct conf_key *k, const char *text,
    struct conf_value *out, char **why)
{
	struct conf_value	 v = { 0 };
	char			 show[CONF_SHOW_MAX + 4], bounds[128];
	const char		*what = NULL;
	size_t			 len;
	int			 rc = 0;

	dfs_conf_show(text, show, sizeof show);
	switch (k->type) {
	case DFS_CONF_STR:
		len = strlen(text);
		if (len > DFS_CONF_STR_MAX) {
			xasprintf(why, "value is too long (%zu bytes, at most "
			    "%d)", len, DFS_CONF_STR_MAX);
			return -EINVAL;
		}
		for (size_t i = 0; i < len; i++) {
			unsigned char	c = text[i];

			if (c != '\t' && iscntrl(c)) {
				xasprintf(why, "'%s' contains a control "
				    "character", show);
				return -EINVAL;
			}
		}
		v.s = xstrdup(text);
		break;
	case DFS_CONF_INT:
		rc = conf_parse_int(text, &v.i);
		what = "an integer";
		break;
	case DFS_CONF_SIZE:
		rc = dfs_parse_size(text, &v.i);
		what = "a size (bytes with an optional K, M, G or T)";
		break;
	case DFS_CONF_SECONDS:
		rc = dfs_parse_duration(text, &v.i);
		what = "a duration (a whole number with an optional ms, s, "
		    "m, h or d; seconds if none)";
		break;
	case DFS_CONF_DOUBLE:
		rc = conf_parse_double(text, &v.d);
		what = "a number";
		break;
	case DFS_CONF_BOOL:
		rc = conf_parse_bool(text, &v.b);
		what = "a boolean (true/false, yes/no, on/off, 1/0)";
		break;
	case DFS_CONF_ENUM:
		v.i = conf_parse_enum(k->choices, text, &v.s);
		if (v.i < 0) {
			xasprintf(why, "'%s' is not one of %s", show,
			    k->choices);
			return -EINVAL;
		}
		break;
	}
	if (rc == -EINVAL) {
		xasprintf(why, "'%s' is not %s", show, what);
		return rc;
	}
	if (rc == 0 && k->type == DFS_CONF_DOUBLE &&
	    (v.d < k->dmin || v.d > k->dmax))
		rc = -ERANGE;
	if (rc == 0 && (k->type == DFS_CONF_INT || k->type == DFS_CONF_SIZE ||
	    k->type == DFS_CONF_SECONDS) && (v.i < k->min || v.i > k->max))
		rc = -ERANGE;
	if (rc == -ERANGE) {
		conf_fmt_bounds(k, bounds, sizeof bounds);
		xasprintf(why, "'%s' is out of range (%s)", show, bounds);
		return rc;
	}
	*out = v;
	return 0;
}

/* A value as text the parser reads back to the same value. */
void
dfs_conf_write_value(FILE *f, const struct conf_key *k,
    const struct conf_value *v)
{
	char	buf[64];

	switch (k->type) {
	case DFS_CONF_STR:
		fputc('"', f);
		for (const char *s = v->s; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				fputc('\\', f);
			fputc(*s, f);
		}
		fputc('"', f);
		return;
	case DFS_CONF_ENUM:
		fputs(v->s, f);
		return;
	case DFS_CONF_BOOL:
		fputs(v->b ? "true" : "false", f);
		return;
	case DFS_CONF_DOUBLE:
		conf_fmt_double(v->d, buf, sizeof buf);
		break;
	default:
		conf_fmt_int(k, v->i, buf, sizeof buf);
		break;
	}
	fputs(buf, f);
}

/*
 * Two lines a key:
 *   cluster.block_size = 64M
 *           size, 4K..2G: default block size for new files
 */
void
dfs_config_dump_table(FILE *f)
{
	char	bounds[128];

	for (size_t i = 0; i < dfs_config_nkeys; i++) {
		const struct conf_key	*k = &dfs_config_table[i];

		conf_fmt_bounds(k, bounds, sizeof bounds);
		if (k->type == DFS_CONF_STR)
			fprintf(f, "%s = \"%s\"\n", k->name, k->def);
		else
			fprintf(f, "%s = %s\n", k->name, k->def);
		fprintf(f, "\t%s%s%s: %s\n", dfs_conf_type_names[k->type],
		    bounds[0] != '\0' ? ", " : "", bounds, k->help);
	}
}
