/* log.h: levelled logging to stderr or syslog. */
#ifndef DFS_LOG_H
#define DFS_LOG_H

#include <stdbool.h>

enum dfs_log_level {
	DFS_LOG_ERR = 0,
	DFS_LOG_WARN,
	DFS_LOG_INFO,
	DFS_LOG_DEBUG,
};

extern int dfs_log_level_cur;

void	dfs_log_open(const char *prog, int level, bool use_syslog);
int	dfs_log_level_parse(const char *name);
const char *dfs_log_level_name(int level);
void	dfs_log_msg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* The level is checked before the arguments are formatted. */
#define DFS_LOG_AT(lvl, ...) do {					\
	if ((lvl) <= dfs_log_level_cur)					\
		dfs_log_msg((lvl), __VA_ARGS__);			\
} while (0)
#define log_err(...)	DFS_LOG_AT(DFS_LOG_ERR, __VA_ARGS__)
#define log_warn(...)	DFS_LOG_AT(DFS_LOG_WARN, __VA_ARGS__)
#define log_info(...)	DFS_LOG_AT(DFS_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	DFS_LOG_AT(DFS_LOG_DEBUG, __VA_ARGS__)

#endif
