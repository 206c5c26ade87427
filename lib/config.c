/*
 * config.c: the table of configuration keys and the INI-style parser that
 * every npdfs program shares.
 *
 * Why it is built this way.  Five programs read overlapping sets of keys,
 * so the keys live in one table (conf_table) with type, bounds, default
 * and help: adding a key is adding a row, and --help, the man pages and
 * "dfs cluster up" all see it.  Each default is written as the text a
 * user would type and goes through the same parser as a file value when a
 * configuration is created, so a default can never be outside its own
 * bounds.  A load parses into a copy and replaces the configuration only
 * when the whole file is good: a bad file never leaves a program half
 * configured, and the first error is reported as "FILE:LINE: message".
 *
 * The format:
 *   # comment          ; comment too ('#' or ';' as first non-blank)
 *   [namenode]         following keys are "namenode.KEY"
 *   listen = 127.0.0.1:9870
 *   meta_dir = "/srv/nn"   # quoted: literal, \" and \\ the only escapes
 *
 * - Blanks (spaces, tabs) around section names, keys and values are
 *   trimmed.  An empty unquoted value is the empty string.
 * - In an unquoted value, '#' or ';' at its start or after a blank begins
 *   a comment: "a#b" is the value a#b, "a #b" is the value a.  After a
 *   quoted value only blanks or a comment may follow.
 * - A key before any section header, a section no key uses, a key not in
 *   the table, or a key given twice in one file is an error.  (Loading
 *   two files, or a file and then -o, overrides in call order.)
 * - A line is at most DFS_CONF_LINE_MAX bytes, not counting its "\n" or
 *   "\r\n"; a NUL byte is an error.  A UTF-8 byte order mark at the start
 *   of the file is skipped.
 * - Sizes are bytes with an optional K, M, G or T (powers of 1024, any
 *   case, "iB" may follow); durations are whole numbers with an optional
 *   ms, s, m, h or d (seconds when bare); booleans are true/false,
 *   yes/no, on/off or 1/0, any case.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

#define MSEC	INT64_C(1)
#define SEC	(1000 * MSEC)
#define MINUTE	(60 * SEC)
#define HOUR	(60 * MINUTE)
#define DAY	(24 * HOUR)
#define KiB	INT64_C(1024)
#define MiB	(1024 * KiB)
#define GiB	(1024 * MiB)

struct conf_key {
	const char		*name;		/* "section.key" */
	enum dfs_conf_type	 type;
	int64_t			 min, max;	/* INT, SIZE, SECONDS (ms) */
	double			 dmin, dmax;	/* DOUBLE */
	const char		*choices;	/* ENUM: "a|b|c" */
	const char		*def;		/* default, as text */
	const char		*help;
};

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
 * from a file; a bad default stops every program at start-up.
 */
static const struct conf_key conf_table[] = {
	K_SIZE("cluster.block_size", 4 * KiB, 2 * GiB, "64M",
	    "default block size for new files"),
	K_INT("cluster.replication", 1, 16, "3",
	    "default replication factor"),
	K_STR("cluster.secret_file", "",
	    "file holding the cluster's token secret (mode 0600)"),

	K_STR("namenode.address", "127.0.0.1:9870",
	    "where clients and data nodes reach the namenode (host:port)"),
	K_STR("namenode.listen", "127.0.0.1:9870",
	    "address the namenode binds"),
	K_STR("namenode.meta_dir", "/var/lib/npdfs/namenode",
	    "SQLite database directory"),
	K_SECS("namenode.heartbeat", 100 * MSEC, HOUR, "3s",
	    "data node heartbeat interval"),
	K_SECS("namenode.dead_timeout", SEC, DAY, "30s",
	    "silence after which a data node is dead"),
	K_SECS("namenode.block_report_interval", SEC, DAY, "1h",
	    "full block report period"),
	K_DBL("namenode.safemode_threshold", 0.0, 1.0, "0.999",
	    "share of blocks reported before leaving safe mode"),
	K_SECS("namenode.safemode_timeout", 0, DAY, "30s",
	    "longest wait in safe mode for block reports"),
	K_SECS("namenode.token_lifetime", SEC, 7 * DAY, "10m",
	    "block token validity"),
	K_SECS("namenode.key_rotation", MINUTE, 30 * DAY, "1d",
	    "token key rotation period"),
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

	K_SECS("client.timeout", 100 * MSEC, HOUR, "30s",
	    "how long an operation waits for the namenode or a data node"),

	K_SECS("mount.attr_timeout", 0, HOUR, "1s",
	    "how long the kernel caches file attributes"),
	K_SIZE("mount.max_memory", 16 * MiB, 64 * GiB, "256M",
	    "memory for the mount's read and write buffers"),

	K_ENUM("log.level", "error|warn|info|debug", "info",
	    "least severe message logged"),
	K_BOOL("log.syslog", "false",
	    "log to syslog instead of stderr"),
};

#define CONF_NKEYS	(sizeof conf_table / sizeof conf_table[0])
#define CONF_SHOW_MAX	64	/* bytes of a bad value quoted in a message */

static const char *const conf_type_names[] = {
	[DFS_CONF_STR] = "string",
	[DFS_CONF_INT] = "integer",
	[DFS_CONF_SIZE] = "size",
	[DFS_CONF_BOOL] = "boolean",
	[DFS_CONF_SECONDS] = "duration",
	[DFS_CONF_DOUBLE] = "number",
	[DFS_CONF_ENUM] = "enum",
};

struct conf_value {
	bool	 set;		/* by a file or dfs_config_set*() */
	char	*s;		/* STR, ENUM */
	int64_t	 i;		/* INT, SIZE, SECONDS (ms); ENUM index */
	bool	 b;		/* BOOL */
	double	 d;		/* DOUBLE */
};

struct dfs_config {
	struct conf_value	v[CONF_NKEYS];	/* parallel to conf_table */
};

/* State of one file being loaded. */
struct conf_load {
	char		*section;		/* current section or NULL */
	unsigned	 lineno;
	unsigned	 seen[CONF_NKEYS];	/* line that set a key, or 0 */
};

/* Table index of a full key name, or -1. */
static int
conf_find(const char *name)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_table[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Whether some key lives in the section "name". */
static bool
conf_section_known(const char *name)
{
	size_t	len = strlen(name);

	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (strncmp(conf_table[i].name, name, len) == 0 &&
		    conf_table[i].name[len] == '.')
			return true;
	return false;
}

static bool
conf_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *
conf_skip_blanks(char *s)
{
	while (conf_blank(*s))
		s++;
	return s;
}

/* Trim blanks at both ends, in place.  Returns the start of the text. */
static char *
conf_trim(char *s)
{
	size_t	len;

	s = conf_skip_blanks(s);
	len = strlen(s);
	while (len > 0 && conf_blank(s[len - 1]))
		s[--len] = '\0';
	return s;
}

/*
 * A user's text made safe to quote in a one-line message: control bytes
 * become '?' and long text is cut with "...".
 */
static void
conf_show(const char *s, char *buf, size_t size)
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
static int
conf_parse_value(const struct conf_key *k, const char *text,
    struct conf_value *out, char **why)
{
	struct conf_value	 v = { 0 };
	char			 show[CONF_SHOW_MAX + 4], bounds[128];
	const char		*what = NULL;
	size_t			 len;
	int			 rc = 0;

	conf_show(text, show, sizeof show);
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

/* Release the strings a configuration owns. */
static void
conf_values_free(struct dfs_config *cfg)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		free(cfg->v[i].s);
}

/* A deep copy, for loading a file without touching the original. */
static struct dfs_config *
conf_copy(const struct dfs_config *cfg)
{
	struct dfs_config	*copy = xmalloc(sizeof *copy);

	*copy = *cfg;
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (copy->v[i].s != NULL)
			copy->v[i].s = xstrdup(copy->v[i].s);
	return copy;
}

/* Replace key i's value with the parse of text, and mark it set. */
static int
conf_set_index(struct dfs_config *cfg, size_t i, const char *text,
    char **why)
{
	struct conf_value	v;
	int			rc;

	rc = conf_parse_value(&conf_table[i], text, &v, why);
	if (rc != 0)
		return rc;
	free(cfg->v[i].s);
	cfg->v[i] = v;
	cfg->v[i].set = true;
	return 0;
}

/* Hand a message to the caller, or drop it.  Consumes why. */
static void
conf_give(char **cause, char *why)
{
	if (cause != NULL)
		*cause = why;
	else
		free(why);
}

/* Every default goes through the parser: the table checks itself. */
struct dfs_config *
dfs_config_create(void)
{
	struct dfs_config	*cfg = xcalloc(1, sizeof *cfg);
	char			*why;

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		if (conf_parse_value(&conf_table[i], conf_table[i].def,
		    &cfg->v[i], &why) != 0)
			fatalx("config table: %s: default %s",
			    conf_table[i].name, why);
	}
	return cfg;
}

void
dfs_config_free(struct dfs_config *cfg)
{
	if (cfg == NULL)
		return;
	conf_values_free(cfg);
	free(cfg);
}

/* Errors are "KEY: why", or "unknown key 'KEY'". */
int
dfs_config_set(struct dfs_config *cfg, const char *key, const char *value,
    char **cause)
{
	char	 show[CONF_SHOW_MAX + 4], *why, *msg;
	int	 i, rc;

	i = conf_find(key);
	if (i < 0) {
		conf_show(key, show, sizeof show);
		xasprintf(&msg, "unknown key '%s'", show);
		conf_give(cause, msg);
		return -EINVAL;
	}
	rc = conf_set_index(cfg, i, value, &why);
	if (rc != 0) {
		xasprintf(&msg, "%s: %s", key, why);
		free(why);
		conf_give(cause, msg);
	}
	return rc;
}

/* Blanks around KEY and VALUE are trimmed, as in a file. */
int
dfs_config_set_arg(struct dfs_config *cfg, const char *arg, char **cause)
{
	char	 show[CONF_SHOW_MAX + 4], *copy, *eq, *key, *msg;
	int	 rc;

	copy = xstrdup(arg);
	eq = strchr(copy, '=');
	if (eq != NULL)
		*eq = '\0';
	key = conf_trim(copy);
	if (eq == NULL || *key == '\0') {
		conf_show(arg, show, sizeof show);
		xasprintf(&msg, "expected KEY=VALUE (e.g. namenode.listen="
		    "0.0.0.0:9870), not '%s'", show);
		conf_give(cause, msg);
		rc = -EINVAL;
		goto out;
	}
	rc = dfs_config_set(cfg, key, conf_trim(eq + 1), cause);
out:
	free(copy);
	return rc;
}

/*
 * The value of key for a getter accepting the types in the mask.  Anything
 * else is a bug in the caller, not in the user's configuration.
 */
static const struct conf_value *
conf_get(const struct dfs_config *cfg, const char *key, unsigned types,
    const char *getter)
{
	int	i = conf_find(key);

	if (i < 0) {
		log_err("config: %s of unknown key '%s'", getter, key);
		abort();
	}
	if ((types & (1u << conf_table[i].type)) == 0) {
		log_err("config: %s of %s, which is a %s", getter, key,
		    conf_type_names[conf_table[i].type]);
		abort();
	}
	return &cfg->v[i];
}

#define T(t)	(1u << (t))

const char *
dfs_config_str(const struct dfs_config *cfg, const char *key)
{
	return conf_get(cfg, key, T(DFS_CONF_STR) | T(DFS_CONF_ENUM),
	    "dfs_config_str")->s;
}

int64_t
dfs_config_int(const struct dfs_config *cfg, const char *key)
{
	return conf_get(cfg, key, T(DFS_CONF_INT) | T(DFS_CONF_SIZE) |
	    T(DFS_CONF_SECONDS) | T(DFS_CONF_ENUM), "dfs_config_int")->i;
}

bool
dfs_config_bool(const struct dfs_config *cfg, const char *key)
{
	return conf_get(cfg, key, T(DFS_CONF_BOOL), "dfs_config_bool")->b;
}

double
dfs_config_double(const struct dfs_config *cfg, const char *key)
{
	return conf_get(cfg, key, T(DFS_CONF_DOUBLE), "dfs_config_double")->d;
}

bool
dfs_config_is_set(const struct dfs_config *cfg, const char *key)
{
	return conf_get(cfg, key, ~0u, "dfs_config_is_set")->set;
}

#undef T

/*
 * Read one line without its "\n" into buf (DFS_CONF_LINE_MAX + 3 bytes),
 * NUL-terminated; *len counts bytes before the terminator, which may
 * include NUL bytes from the file.  A line too long for buf sets *toolong
 * and stops reading there.  Returns 1, 0 at end of file, or -errno.
 */
static int
conf_read_line(FILE *f, char *buf, size_t *len, bool *toolong)
{
	size_t	n = 0;
	bool	any = false;
	int	c;

	*toolong = false;
	errno = 0;
	while ((c = getc(f)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (n == DFS_CONF_LINE_MAX + 1) {
			*toolong = true;
			break;
		}
		buf[n++] = (char)c;
	}
	if (c == EOF && ferror(f))
		return errno != 0 ? -errno : -EIO;
	buf[n] = '\0';
	*len = n;
	return any ? 1 : 0;
}

/* "[name]": check it and make it the current section. */
static int
conf_line_section(struct conf_load *ld, char *p, char **why)
{
	char	 show[CONF_SHOW_MAX + 4], *close, *rest, *name;

	close = strchr(p, ']');
	if (close == NULL) {
		xasprintf(why, "missing ']' after section name");
		return -EINVAL;
	}
	rest = conf_skip_blanks(close + 1);
	if (*rest != '\0' && *rest != '#' && *rest != ';') {
		xasprintf(why, "unexpected text after ']'");
		return -EINVAL;
	}
	*close = '\0';
	name = conf_trim(p + 1);
	if (*name == '\0') {
		xasprintf(why, "empty section name");
		return -EINVAL;
	}
	if (!conf_section_known(name)) {
		conf_show(name, show, sizeof show);
		xasprintf(why, "unknown section '%s'", show);
		return -EINVAL;
	}
	free(ld->section);
	ld->section = xstrdup(name);
	return 0;
}

/*
 * The value part of "key = value", in place: quotes and escapes removed
 * or the inline comment cut off.  *value points into s.
 */
static int
conf_unquote(char *s, char **value, char **why)
{
	char	*p, *r, *w;

	p = conf_skip_blanks(s);
	if (*p != '"') {
		for (r = p; *r != '\0'; r++) {
			if ((*r == '#' || *r == ';') &&
			    (r == p || conf_blank(r[-1]))) {
				*r = '\0';
				break;
			}
		}
		*value = conf_trim(p);
		return 0;
	}
	for (r = w = p + 1; *r != '"'; *w++ = *r++) {
		if (*r == '\\') {
			r++;
			if (*r != '"' && *r != '\\' && *r != '\0') {
				xasprintf(why, "bad escape in quoted value "
				    "(only \\\" and \\\\ are allowed)");
				return -EINVAL;
			}
		}
		if (*r == '\0') {
			xasprintf(why, "missing closing '\"'");
			return -EINVAL;
		}
	}
	*w = '\0';
	r = conf_skip_blanks(r + 1);
	if (*r != '\0' && *r != '#' && *r != ';') {
		xasprintf(why, "unexpected text after closing '\"'");
		return -EINVAL;
	}
	*value = p + 1;
	return 0;
}

/* One line of a file, already checked for length and NUL bytes. */
static int
conf_line(struct dfs_config *stage, struct conf_load *ld, char *line,
    char **why)
{
	char	 show[CONF_SHOW_MAX + 4], *p, *eq, *key, *full, *value;
	char	*vwhy;
	int	 i, rc;

	p = conf_skip_blanks(line);
	if (*p == '\0' || *p == '#' || *p == ';')
		return 0;
	if (*p == '[')
		return conf_line_section(ld, p, why);

	eq = strchr(p, '=');
	if (eq == NULL) {
		xasprintf(why, "expected 'key = value' or '[section]'");
		return -EINVAL;
	}
	*eq = '\0';
	key = conf_trim(p);
	if (*key == '\0') {
		xasprintf(why, "missing key before '='");
		return -EINVAL;
	}
	if (ld->section == NULL) {
		conf_show(key, show, sizeof show);
		xasprintf(why, "key '%s' is outside any section (add a "
		    "[section] line above it)", show);
		return -EINVAL;
	}

	xasprintf(&full, "%s.%s", ld->section, key);
	conf_show(full, show, sizeof show);
	i = conf_find(full);
	if (i < 0) {
		xasprintf(why, "unknown key '%s'", show);
		rc = -EINVAL;
		goto out;
	}
	if (ld->seen[i] != 0) {
		xasprintf(why, "duplicate key '%s' (first set on line %u)",
		    show, ld->seen[i]);
		rc = -EINVAL;
		goto out;
	}
	rc = conf_unquote(eq + 1, &value, why);
	if (rc != 0)
		goto out;
	rc = conf_set_index(stage, i, value, &vwhy);
	if (rc != 0) {
		xasprintf(why, "%s: %s", full, vwhy);
		free(vwhy);
		goto out;
	}
	ld->seen[i] = ld->lineno;
out:
	free(full);
	return rc;
}

/* Parse into a copy; replace cfg only when the whole stream is good. */
int
dfs_config_load_stream(struct dfs_config *cfg, FILE *f, const char *name,
    char **cause)
{
	struct conf_load	 ld = { 0 };
	struct dfs_config	*stage;
	char			*buf, *line, *why = NULL, *msg;
	size_t			 len = 0;
	bool			 toolong;
	int			 rc;

	buf = xmalloc(DFS_CONF_LINE_MAX + 3);
	stage = conf_copy(cfg);
	for (;;) {
		rc = conf_read_line(f, buf, &len, &toolong);
		if (rc < 0) {
			xasprintf(&msg, "cannot read %s: %s", name,
			    strerror(-rc));
			conf_give(cause, msg);
			goto out;
		}
		if (rc == 0)
			break;
		ld.lineno++;
		line = buf;
		if (ld.lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0) {
			line += 3;
			len -= 3;
		}
		if (!toolong && len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (toolong || len > DFS_CONF_LINE_MAX) {
			xasprintf(&why, "line is longer than %d bytes",
			    DFS_CONF_LINE_MAX);
			rc = -EINVAL;
		} else if (memchr(line, '\0', len) != NULL) {
			xasprintf(&why, "line contains a NUL byte");
			rc = -EINVAL;
		} else
			rc = conf_line(stage, &ld, line, &why);
		if (rc != 0) {
			xasprintf(&msg, "%s:%u: %s", name, ld.lineno, why);
			free(why);
			conf_give(cause, msg);
			goto out;
		}
	}
	conf_values_free(cfg);
	*cfg = *stage;
	free(stage);
	stage = NULL;
	rc = 0;
out:
	dfs_config_free(stage);
	free(ld.section);
	free(buf);
	return rc;
}

int
dfs_config_load(struct dfs_config *cfg, const char *path, char **cause)
{
	FILE	*f;
	char	*msg;
	int	 rc;

	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		xasprintf(&msg, "cannot open %s: %s", path, strerror(errno));
		conf_give(cause, msg);
		return rc;
	}
	rc = dfs_config_load_stream(cfg, f, path, cause);
	fclose(f);
	return rc;
}

/* A value as text the parser reads back to the same value. */
static void
conf_write_value(FILE *f, const struct conf_key *k,
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

/* For "dfs cluster up": one file per daemon, readable by a person. */
int
dfs_config_write(const struct dfs_config *cfg, FILE *f,
    const char *section_prefix)
{
	const char	*cur = NULL;
	size_t		 curlen = 0, plen, seclen;

	plen = section_prefix != NULL ? strlen(section_prefix) : 0;
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key	*k = &conf_table[i];

		if (!cfg->v[i].set)
			continue;
		seclen = strcspn(k->name, ".");
		if (plen > seclen || strncmp(k->name, section_prefix != NULL ?
		    section_prefix : "", plen) != 0)
			continue;
		if (cur == NULL || curlen != seclen ||
		    strncmp(cur, k->name, seclen) != 0) {
			fprintf(f, "%s[%.*s]\n", cur != NULL ? "\n" : "",
			    (int)seclen, k->name);
			cur = k->name;
			curlen = seclen;
		}
		fprintf(f, "%s = ", k->name + seclen + 1);
		conf_write_value(f, k, &cfg->v[i]);
		fputc('\n', f);
	}
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
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

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key	*k = &conf_table[i];

		conf_fmt_bounds(k, bounds, sizeof bounds);
		if (k->type == DFS_CONF_STR)
			fprintf(f, "%s = \"%s\"\n", k->name, k->def);
		else
			fprintf(f, "%s = %s\n", k->name, k->def);
		fprintf(f, "\t%s%s%s: %s\n", conf_type_names[k->type],
		    bounds[0] != '\0' ? ", " : "", bounds, k->help);
	}
}
