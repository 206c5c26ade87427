/*
 * log.c: one logging path for every program.  Daemons log to syslog when
 * asked to, otherwise everything goes to stderr with a timestamp, the
 * program name and the level, one line per message.  A message is written
 * with a single write(2) so lines from several threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int			 dfs_log_level_cur = DFS_LOG_INFO;
static const char	*log_prog = "npdfs";
static bool		 log_syslog;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
dfs_log_open(const char *prog, int level, bool use_syslog)
{
	log_prog = prog;
	dfs_log_level_cur = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Level from its name ("error", "warn", "info", "debug"), or -1. */
int
dfs_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof log_names / sizeof log_names[0]; i++)
		if (strcasecmp(name, log_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
dfs_log_level_name(int level)
{
	if (level < 0 || level > DFS_LOG_DEBUG)
		return "?";
	return log_names[level];
}

static void
log_vwrite(int level, const char *fmt, va_list ap, const char *suffix)
{
	char		 line[2048];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n, m;

	if (log_syslog) {
		static const int prio[] = {
			LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG
		};
		vsnprintf(line, sizeof line, fmt, ap);
		syslog(prio[level], "%s%s", line, suffix);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof line, "%04d-%02d-%02d %02d:%02d:%02d.%03ld "
	    "%s %s: ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_prog,
	    log_names[level]);
	m = vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof line - 2 - strlen(suffix))
		n = sizeof line - 2 - strlen(suffix);
	n += snprintf(line + n, sizeof line - n, "%s\n", suffix);
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void
dfs_log_msg(int level, const char *fmt, ...)
{
	va_list	ap;

	if (level < 0)
		level = 0;
	if (level > DFS_LOG_DEBUG)
		level = DFS_LOG_DEBUG;
	va_start(ap, fmt);
	log_vwrite(level, fmt, ap, "");
	va_end(ap);
}

/* Log an error with the current errno appended and exit. */
void
fatal(const char *fmt, ...)
{
	char	suffix[256];
	va_list	ap;

	snprintf(suffix, sizeof suffix, ": %s", strerror(errno));
	va_start(ap, fmt);
	log_vwrite(DFS_LOG_ERR, fmt, ap, suffix);
	va_end(ap);
	exit(1);
}

/* Log an error and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(DFS_LOG_ERR, fmt, ap, "");
	va_end(ap);
	exit(1);
}
