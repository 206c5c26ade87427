/*
 * config.c: the INI-style configuration file format every npdfs program
 * shares, and the configuration object built from it.  The keys it knows,
 * and how each type of value is read from text, are in config-table.c.
 *
 * Why it is built this way.  Five programs read overlapping sets of keys,
 * so the keys live in one table (dfs_config_table) with type, bounds,
 * default and help: adding a key is adding a row, and --help, the man
 * pages and "dfs cluster up" all see it.  Each default is written as the
 * text a user would type and goes through the same parser as a file value
 * when a configuration is created, so a default can never be outside its
 * own bounds.  A load parses into a copy and replaces the configuration
 * only when the whole file is good: a bad file never leaves a program half
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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_i.h"
#include "log.h"
#include "xmalloc.h"

struct dfs_config {
	struct conf_value	*v;	/* dfs_config_nkeys, as the table */
};

/* State of one file being loaded. */
struct conf_load {
	char		*section;	/* current section or NULL */
	unsigned	 lineno;
	unsigned	*seen;		/* by key: line that set it, or 0 */
};

/* Table index of a full key name, or -1. */
static int
conf_find(const char *name)
{
	for (size_t i = 0; i < dfs_config_nkeys; i++)
		if (strcmp(dfs_config_table[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Whether some key lives in the section "name". */
static bool
conf_section_known(const char *name)
{
	size_t	len = strlen(name);

	for (size_t i = 0; i < dfs_config_nkeys; i++)
		if (strncmp(dfs_config_table[i].name, name, len) == 0 &&
		    dfs_config_table[i].name[len] == '.')
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

/* Release the values a configuration owns, and their strings. */
static void
conf_values_free(struct dfs_config *cfg)
{
	for (size_t i = 0; i < dfs_config_nkeys; i++)
		free(cfg->v[i].s);
	free(cfg->v);
	cfg->v = NULL;
}

/* A deep copy, for loading a file without touching the original. */
static struct dfs_config *
conf_copy(const struct dfs_config *cfg)
{
	struct dfs_config	*copy = xmalloc(sizeof *copy);

	copy->v = xcalloc(dfs_config_nkeys, sizeof *copy->v);
	memcpy(copy->v, cfg->v, dfs_config_nkeys * sizeof *copy->v);
	for (size_t i = 0; i < dfs_config_nkeys; i++)
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

	rc = dfs_conf_parse_value(&dfs_config_table[i], text, &v, why);
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
	const struct conf_key	*k;
	char			*why;

	cfg->v = xcalloc(dfs_config_nkeys, sizeof *cfg->v);
	for (size_t i = 0; i < dfs_config_nkeys; i++) {
		k = &dfs_config_table[i];
		if (dfs_conf_parse_value(k, k->def, &cfg->v[i], &why) != 0)
			fatalx("config table: %s: default %s", k->name, why);
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
		dfs_conf_show(key, show, sizeof show);
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
		dfs_conf_show(arg, show, sizeof show);
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
	if ((types & (1u << dfs_config_table[i].type)) == 0) {
		log_err("config: %s of %s, which is a %s", getter, key,
		    dfs_conf_type_names[dfs_config_table[i].type]);
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
		dfs_conf_show(name, show, sizeof show);
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
		dfs_conf_show(key, show, sizeof show);
		xasprintf(why, "key '%s' is outside any section (add a "
		    "[section] line above it)", show);
		return -EINVAL;
	}

	xasprintf(&full, "%s.%s", ld->section, key);
	dfs_conf_show(full, show, sizeof show);
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
	ld.seen = xcalloc(dfs_config_nkeys, sizeof *ld.seen);
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
	free(ld.seen);
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

/* For "dfs cluster up": one file per daemon, readable by a person. */
int
dfs_config_write(const struct dfs_config *cfg, FILE *f,
    const char *section_prefix)
{
	const char	*cur = NULL;
	size_t		 curlen = 0, plen, seclen;

	plen = section_prefix != NULL ? strlen(section_prefix) : 0;
	for (size_t i = 0; i < dfs_config_nkeys; i++) {
		const struct conf_key	*k = &dfs_config_table[i];

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
		dfs_conf_write_value(f, k, &cfg->v[i]);
		fputc('\n', f);
	}
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}
