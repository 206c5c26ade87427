/*
 * config.h: the one configuration format every npdfs program reads.
 *
 * An INI-style file of "[section]" headers and "key = value" lines; each
 * key is known by its full name "section.key" (e.g. "namenode.listen").
 * Every key has a row in the table in config.c giving its type, bounds,
 * default and help.  Programs load the file, then apply each "-o KEY=VALUE"
 * with dfs_config_set_arg(): later calls win.  The file format is described
 * at the top of config.c and in the man pages.
 *
 * A struct dfs_config is built by one thread at start-up; afterwards the
 * getters only read it, so any number of threads may call them.
 */
#ifndef DFS_CONFIG_H
#define DFS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum dfs_conf_type {
	DFS_CONF_STR,		/* text, at most DFS_CONF_STR_MAX bytes */
	DFS_CONF_INT,		/* int64 with bounds */
	DFS_CONF_SIZE,		/* bytes: "4096", "64K", "1MiB", "2G" */
	DFS_CONF_BOOL,		/* true/false yes/no on/off 1/0 */
	DFS_CONF_SECONDS,	/* duration kept in ms: "3", "3s", "500ms" */
	DFS_CONF_DOUBLE,	/* finite double with bounds */
	DFS_CONF_ENUM,		/* one word out of a fixed list */
};

#define DFS_CONF_STR_MAX	4095	/* longest string value, bytes */
#define DFS_CONF_LINE_MAX	4096	/* longest file line, bytes */

struct dfs_config;

/* All keys at their defaults.  Caller frees with dfs_config_free(). */
struct dfs_config *dfs_config_create(void);
void	dfs_config_free(struct dfs_config *);

/*
 * Load a file: its values override the current ones.  Returns 0, -errno
 * when the file cannot be read (-ENOENT, -EACCES, -EISDIR, ...), -EINVAL
 * or -ERANGE for bad content ("FILE:LINE: ..." in *cause).  On failure
 * the configuration is left exactly as it was.
 */
int	dfs_config_load(struct dfs_config *, const char *path, char **cause);
/* The same from an open stream; name is used in messages only. */
int	dfs_config_load_stream(struct dfs_config *, FILE *, const char *name,
	    char **cause);

/* Set "section.key" from text parsed by its type; -EINVAL or -ERANGE. */
int	dfs_config_set(struct dfs_config *, const char *key, const char *value,
	    char **cause);
/* Set from "section.key=value", as given to -o. */
int	dfs_config_set_arg(struct dfs_config *, const char *key_eq_value,
	    char **cause);

/*
 * Getters.  An unknown key or a getter of the wrong type is a programming
 * error: it is logged and the program abort()s.
 *   str:    STR, ENUM (the canonical lower-case word).  Borrowed.
 *   int:    INT, SIZE (bytes), SECONDS (milliseconds), ENUM (index of the
 *           word in its list, e.g. log.level matches enum dfs_log_level).
 *   bool:   BOOL.   double: DOUBLE.
 */
const char *dfs_config_str(const struct dfs_config *, const char *key);
int64_t	dfs_config_int(const struct dfs_config *, const char *key);
bool	dfs_config_bool(const struct dfs_config *, const char *key);
double	dfs_config_double(const struct dfs_config *, const char *key);
/* Whether the key was set by a file or dfs_config_set*(), not defaulted. */
bool	dfs_config_is_set(const struct dfs_config *, const char *key);

/*
 * Write the explicitly set keys as a file dfs_config_load() reads back to
 * the same values.  With a section prefix, only sections whose name starts
 * with it ("datanode" → [datanode]).  Returns 0 or -EIO.
 */
int	dfs_config_write(const struct dfs_config *, FILE *,
	    const char *section_prefix);
/* Every key with its type, bounds, default and help, for --help. */
void	dfs_config_dump_table(FILE *);

/* "4096", "64K", "64k", "64KiB", ... "1T" (powers of 1024): 0, -EINVAL,
 * or -ERANGE when it does not fit an int64. */
int	dfs_parse_size(const char *s, int64_t *out);
/* "3" or "3s", "500ms", "2m", "1h", "1d" to milliseconds: as above. */
int	dfs_parse_duration(const char *s, int64_t *ms);

#endif
