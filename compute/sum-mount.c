/*
 * sum-mount.c: dfs-sum PATH where PATH lies inside a dfs-mount mount
 * point.  The mount names its cluster in its source ("npdfs:HOST:PORT",
 * see fusemount/main.c), so the kernel's mount table says which namenode
 * to ask and the rest of the path is the file's name in the cluster: the
 * sum is still computed on the data nodes, never read through FUSE.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sum_i.h"
#include "xmalloc.h"

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void
sum_mount_unescape(char *s)
{
	char	*w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
		    r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 |
			    (r[3] - '0'));
			r += 3;
		} else
			*w++ = *r;
	}
	*w = '\0';
}

/*
 * If arg names an existing local path inside an npdfs mount, set *nn to the
 * mount's namenode address and *path to the file's cluster path (both
 * caller frees) and return 1; return 0 when it is not such a path.
 */
int
sum_mount_resolve(const char *arg, char **nn, char **path)
{
	char	 real[PATH_MAX], line[8192], best[PATH_MAX] = "";
	char	*best_src = NULL;
	FILE	*f;

	*nn = *path = NULL;
	if (realpath(arg, real) == NULL)
		return 0;
	if ((f = fopen("/proc/self/mountinfo", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		char *fields[8], *sep, *save = NULL, *tail;
		int n = 0;

		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		*sep = '\0';
		tail = sep + 3;
		for (char *t = strtok_r(line, " ", &save); t != NULL && n < 8;
		    t = strtok_r(NULL, " ", &save))
			fields[n++] = t;
		char *fstype = strtok_r(tail, " ", &save);
		char *source = strtok_r(NULL, " ", &save);
		if (n < 5 || fstype == NULL || source == NULL ||
		    strcmp(fstype, "fuse.npdfs") != 0 ||
		    strncmp(source, "npdfs:", 6) != 0)
			continue;
		char *mp = fields[4];
		sum_mount_unescape(mp);
		size_t len = strlen(mp);
		if (strncmp(real, mp, len) != 0 ||
		    (real[len] != '/' && real[len] != '\0' && len != 1))
			continue;
		if (len > strlen(best) || best_src == NULL) {
			snprintf(best, sizeof best, "%s", mp);
			free(best_src);
			best_src = xstrdup(source + 6);
		}
	}
	fclose(f);
	if (best_src == NULL)
		return 0;
	const char *rest = real + (strcmp(best, "/") == 0 ? 0 : strlen(best));
	*path = xstrdup(rest[0] == '\0' ? "/" : rest);
	/* A group's members, joined by '+' (fusemount/main.c). */
	for (char *q = best_src; *q != '\0'; q++)
		if (*q == '+')
			*q = ',';
	*nn = best_src;
	return 1;
}
