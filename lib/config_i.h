/*
 * config_i.h: what config.c (the file format and the configuration
 * object) and config-table.c (the keys and their value types) share.
 * Nothing outside those two files includes it.
 *
 * The parser learns the number of keys from dfs_config_nkeys at run time
 * and sizes its arrays from it, so adding a key touches config-table.c
 * alone.
 */
#ifndef DFS_CONFIG_I_H
#define DFS_CONFIG_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* Durations are kept in milliseconds. */
#define MSEC	INT64_C(1)
#define SEC	(1000 * MSEC)
#define MINUTE	(60 * SEC)
#define HOUR	(60 * MINUTE)
#define DAY	(24 * HOUR)

/* Bytes of a bad value quoted in a message. */
#define CONF_SHOW_MAX	64

/* One key: a row of the table. */
struct conf_key {
	const char		*name;		/* "section.key" */
	enum dfs_conf_type	 type;
	int64_t			 min, max;	/* INT, SIZE, SECONDS: ms */
	double			 dmin, dmax;	/* DOUBLE */
	const char		*choices;	/* ENUM: "a|b|c" */
	const char		*def;		/* default, as text */
	const char		*help;
};

/* One key's current value. */
struct conf_value {
	bool	 set;	/* by a file or dfs_config_set*() */
	char	*s;	/* STR, ENUM */
	int64_t	 i;	/* INT, SIZE, SECONDS (ms); ENUM index */
	bool	 b;	/* BOOL */
	double	 d;	/* DOUBLE */
};

/* Every key, grouped by section. */
extern const struct conf_key	dfs_config_table[];
/* The number of rows in dfs_config_table. */
extern const size_t		dfs_config_nkeys;
/* "string", "size", ... indexed by enum dfs_conf_type, for messages. */
extern const char *const	dfs_conf_type_names[];

/*
 * Text for quoting in a one-line message, into buf (at least
 * CONF_SHOW_MAX + 4 bytes): control bytes become '?', long text is cut.
 */
void	dfs_conf_show(const char *s, char *buf, size_t size);
/*
 * Parse text as a value of key k into *out (written only on success; its
 * string, if any, is the caller's).  On failure *why says what is wrong,
 * without the key name; caller frees it.  Returns 0, -EINVAL or -ERANGE.
 */
int	dfs_conf_parse_value(const struct conf_key *k, const char *text,
	    struct conf_value *out, char **why);
/* A value as text dfs_conf_parse_value() reads back to the same value. */
void	dfs_conf_write_value(FILE *f, const struct conf_key *k,
	    const struct conf_value *v);

#endif
