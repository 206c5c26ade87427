/*
 * unit-gen.c: run a Python generator into a fresh temp dir.
 *
 * The generator is tests/unit/SCRIPT under $top_srcdir, run with $PYTHON
 * (what configure found able to import NumPy), falling back to
 * /usr/bin/python3, Debian's, which has python3-numpy.  Its only argument
 * is the directory to fill.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit-gen.h"
#include "xmalloc.h"

/* Quote s for sh inside single quotes.  Caller frees. */
static char *
unit_gen_quote(const char *s)
{
	char	*out = xmalloc(strlen(s) * 4 + 3), *o = out;

	*o++ = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else
			*o++ = *s;
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* Run the script with one interpreter; 0 if it succeeded. */
static int
unit_gen_run(const char *python, const char *script, const char *dir)
{
	char	*qp = unit_gen_quote(python), *qs = unit_gen_quote(script);
	char	*qd = unit_gen_quote(dir), *cmd;
	int	 rc;

	xasprintf(&cmd, "%s %s %s", qp, qs, qd);
	rc = system(cmd);
	free(cmd);
	free(qd);
	free(qs);
	free(qp);
	return rc == 0 ? 0 : -1;
}

/* Remove the temp dir and the files the generator put in it. */
void
unit_gen_free(struct unit_gen *g)
{
	struct dirent	*de;
	DIR		*d;

	if (g == NULL)
		return;
	if ((d = opendir(g->dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(g->dir);
	free(g);
}

/*
 * A temp dir named PREFIX.XXXXXX under $TMPDIR, filled by SCRIPT; NULL
 * (with a message on stderr) if either fails.  Free with unit_gen_free.
 */
struct unit_gen *
unit_gen_create(const char *prefix, const char *script)
{
	struct unit_gen	*g = xcalloc(1, sizeof *g);
	const char	*tmp = getenv("TMPDIR"), *top = getenv("top_srcdir");
	const char	*python = getenv("PYTHON");
	char		*path;
	int		 rc = -1;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if (top == NULL || *top == '\0')
		top = ".";
	snprintf(g->dir, sizeof g->dir, "%s/%s.XXXXXX", tmp, prefix);
	if (mkdtemp(g->dir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", g->dir, strerror(errno));
		free(g);
		return NULL;
	}
	xasprintf(&path, "%s/tests/unit/%s", top, script);
	if (python != NULL && *python != '\0')
		rc = unit_gen_run(python, path, g->dir);
	if (rc != 0 && (python == NULL ||
	    strcmp(python, "/usr/bin/python3") != 0))
		rc = unit_gen_run("/usr/bin/python3", path, g->dir);
	if (rc != 0) {
		fprintf(stderr, "%s failed: is NumPy installed (PYTHON=%s)?\n",
		    path, python != NULL ? python : "");
		unit_gen_free(g);
		g = NULL;
	}
	free(path);
	return g;
}
