/*
 * cp-owner.c: dfs chmod, chown and chgrp: owners managing what
 * they own without a mount.
 *
 * Each change is one SETATTR to the namenode, which decides whether the
 * caller may make it (the authenticated identity, POSIX rules); this file
 * only turns chmod(1)'s and chown(1)'s arguments into requests and says
 * clearly which path failed and why.  Like coreutils, -R changes a
 * directory before what it holds, goes on after an error and exits 1 if
 * anything failed.  A symbolic mode needs the current mode, so every path
 * is looked at first (a -R walk gets its children's attributes with the
 * listing, at no extra cost).
 */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_i.h"
#include "xmalloc.h"

#define CP_WHO_U	(04000 | 0700)
#define CP_WHO_G	(02000 | 0070)
#define CP_WHO_O	(01000 | 0007)
#define CP_WHO_A	07777

/* One action of a symbolic mode: u+x is who 04700, op '+', perm 0111. */
struct cp_mode_op {
	uint32_t	who;		/* 0: none given (a, less the umask) */
	char		op;		/* '+' '-' '=' */
	uint32_t	perm;		/* 0444 r, 0222 w, 0111 x, 06000 s,
					   01000 t, before who is applied */
	bool		x_if;		/* X: x for directories and files
					   that have an x bit already */
	char		copy;		/* 'u' 'g' 'o': g=u copies u's bits */
};

/* A parsed MODE: an octal number or a list of symbolic actions. */
struct cp_mode {
	bool			 octal;
	uint32_t		 bits;		/* octal */
	bool			 all_digits;	/* 5+ digits: set-ID of a
						   directory is set as given */
	size_t			 n;
	struct cp_mode_op	*ops;
	uint32_t		 umask;
};

/* What one of the three commands does to each path. */
struct cp_owner_run {
	struct cp_ctx		*ctx;
	const char		*cmd;		/* "chmod" */
	struct cp_mode		 mode;		/* chmod */
	struct dfs_setattr	 set;		/* chown, chgrp */
	bool			 recursive;
	bool			 failed;
};

/* Parse octal MODE: at most 07777. */
static int
cp_owner_octal(const char *s, struct cp_mode *m)
{
	size_t	n = strlen(s);

	if (n == 0 || strspn(s, "01234567") != n)
		return -EINVAL;
	m->bits = 0;
	for (size_t i = 0; i < n; i++) {
		m->bits = m->bits * 8 + (uint32_t)(s[i] - '0');
		if (m->bits > 07777)
			return -EINVAL;
	}
	m->octal = true;
	m->all_digits = n >= 5;
	return 0;
}

/*
 * Parse MODE as chmod(1) does: octal, or comma-separated clauses of
 * [ugoa]*([-+=]([rwxXst]*|[ugo]))+.
 */
static int
cp_owner_parse_mode(const char *s, struct cp_mode *m)
{
	struct cp_mode_op	*op;
	uint32_t		 who;

	memset(m, 0, sizeof *m);
	m->umask = umask(0);
	umask(m->umask);
	if (s[0] >= '0' && s[0] <= '9')
		return cp_owner_octal(s, m);
	m->ops = xcalloc(strlen(s) + 1, sizeof *m->ops);
	for (;;) {
		for (who = 0; *s != '\0' && strchr("ugoa", *s) != NULL; s++)
			who |= *s == 'u' ? CP_WHO_U : *s == 'g' ? CP_WHO_G :
			    *s == 'o' ? CP_WHO_O : CP_WHO_A;
		if (*s != '+' && *s != '-' && *s != '=')
			return -EINVAL;
		while (*s == '+' || *s == '-' || *s == '=') {
			op = &m->ops[m->n++];
			op->who = who;
			op->op = *s++;
			if (*s == 'u' || *s == 'g' || *s == 'o') {
				op->copy = *s++;
				continue;
			}
			for (; *s != '\0' && strchr("rwxXst", *s) != NULL;
			    s++) {
				switch (*s) {
				case 'r': op->perm |= 0444; break;
				case 'w': op->perm |= 0222; break;
				case 'x': op->perm |= 0111; break;
				case 'X': op->x_if = true; break;
				case 's': op->perm |= 06000; break;
				case 't': op->perm |= 01000; break;
				}
			}
		}
		if (*s == '\0')
			return 0;
		if (*s != ',' || *++s == '\0')
			return -EINVAL;
	}
}

/* The mode a file of mode old (and type) gets from m. */
static uint32_t
cp_owner_new_mode(const struct cp_mode *m, uint32_t old, bool dir)
{
	uint32_t	mode = old & 07777, value, affected, cls;

	if (m->octal) {
		/* chmod(1) keeps a directory's set-ID bits that a short
		 * octal mode does not set; 5 digits (00755) clear them. */
		if (dir && !m->all_digits)
			return m->bits | (mode & 06000);
		return m->bits;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct cp_mode_op *op = &m->ops[i];

		affected = op->who != 0 ? op->who : CP_WHO_A & ~m->umask;
		if (op->copy != 0) {
			cls = op->copy == 'u' ? (mode >> 6) & 7 :
			    op->copy == 'g' ? (mode >> 3) & 7 : mode & 7;
			value = cls | cls << 3 | cls << 6;
		} else
			value = op->perm;
		if (op->x_if && (dir || (mode & 0111) != 0))
			value |= 0111;
		value &= affected;
		switch (op->op) {
		case '+':
			mode |= value;
			break;
		case '-':
			mode &= ~value;
			break;
		default:
			/* '=' clears what it covers, but a directory keeps
			 * its set-ID bits unless the clause names s. */
			affected = op->who != 0 ? op->who : CP_WHO_A;
			if (dir && (op->perm & 06000) == 0)
				affected &= ~06000U;
			mode = (mode & ~affected) | value;
			break;
		}
	}
	return mode;
}

/* The namenode's cause, less a trailing ": PATH" that only repeats the
 * path this command names first.  Borrowed from cause. */
static const char *
cp_owner_reason(const char *cause, const char *path, char *buf, size_t cap)
{
	const char	*colon = strrchr(cause, ':');
	size_t		 n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (colon != NULL && colon[1] == ' ' && strlen(colon + 2) == n &&
	    strncmp(colon + 2, path, n) == 0 && (size_t)(colon - cause) < cap) {
		snprintf(buf, cap, "%.*s", (int)(colon - cause), cause);
		return buf;
	}
	return cause;
}

/* "dfs: chmod: PATH: reason" on stderr, both parts escaped; the run has
 * failed.  Consumes cause. */
static void
cp_owner_error(struct cp_owner_run *r, const char *path, int rc, char *cause)
{
	char		 buf[1024];
	const char	*why;

	why = cause != NULL ? cp_owner_reason(cause, path, buf, sizeof buf) :
	    strerror(rc < 0 ? -rc : rc);
	fprintf(stderr, "%s: %s: ", r->ctx->prog, r->cmd);
	dfs_name_print(stderr, path);
	fputs(": ", stderr);
	dfs_name_print(stderr, why);
	fputc('\n', stderr);
	free(cause);
	r->failed = true;
}

/* A directory's entries, gathered before any is changed (no request
 * is sent while a listing is being read). */
struct cp_owner_list {
	size_t		  n, cap;
	char		**names;
	struct dfs_attr	 *attrs;
};

static int
cp_owner_list_add(const char *name, const struct dfs_attr *a, void *arg)
{
	struct cp_owner_list	*l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 64 : l->cap * 2;
		l->names = xrealloc(l->names, l->cap * sizeof *l->names);
		l->attrs = xrealloc(l->attrs, l->cap * sizeof *l->attrs);
	}
	l->names[l->n] = xstrdup(name);
	l->attrs[l->n++] = *a;
	return 0;
}

/* Change path, whose attributes are a; with -R, then what it holds. */
static void
cp_owner_apply(struct cp_owner_run *r, const char *path,
    const struct dfs_attr *a, bool named)
{
	struct dfs_client	*c = cp_client(r->ctx);
	struct dfs_setattr	 set = r->set;
	struct cp_owner_list	 l = { 0 };
	char			*cause = NULL, *child;
	int			 rc;

	/* chmod -R, like chmod(1), leaves the links it meets alone. */
	if (strcmp(r->cmd, "chmod") == 0 && a->type == DFS_FT_SYMLINK &&
	    !named)
		return;
	if (strcmp(r->cmd, "chmod") == 0) {
		set.valid = DFS_SET_MODE;
		set.mode = cp_owner_new_mode(&r->mode, a->mode,
		    a->type == DFS_FT_DIR);
	}
	if ((rc = dfs_client_setattr(c, path, &set, NULL, &cause)) != 0)
		cp_owner_error(r, path, rc, cause);
	if (!r->recursive || a->type != DFS_FT_DIR)
		return;
	cause = NULL;
	if ((rc = dfs_client_list(c, path, cp_owner_list_add, &l,
	    &cause)) != 0)
		cp_owner_error(r, path, rc, cause);
	for (size_t i = 0; i < l.n; i++) {
		if (rc == 0) {
			child = cp_join(path, l.names[i]);
			cp_owner_apply(r, child, &l.attrs[i], false);
			free(child);
		}
		free(l.names[i]);
	}
	free(l.names);
	free(l.attrs);
}

/*
 * The shared shape of the three commands: [-R] ARG PATH...; parse ARG
 * with parse, then change each path.  ARG may start with '-' (chmod -w),
 * so only -R and -- before it are options.
 */
static int
cp_owner_run(struct cp_ctx *ctx, const char *cmd, int argc, char **argv,
    int (*parse)(struct cp_owner_run *, const char *))
{
	struct cp_owner_run	 r = { .ctx = ctx, .cmd = cmd };
	struct dfs_attr		 a;
	char			*cause = NULL;
	int			 i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-R") == 0)
			r.recursive = true;
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			break;
	}
	if (argc - i < 2)
		return cp_usage(cmd);
	if (parse(&r, argv[i]) != 0) {
		free(r.mode.ops);
		return 1;
	}
	for (i++; i < argc; i++) {
		if ((rc = dfs_client_stat(cp_client(ctx), argv[i], &a,
		    &cause)) != 0) {
			cp_owner_error(&r, argv[i], rc, cause);
			cause = NULL;
			continue;
		}
		cp_owner_apply(&r, argv[i], &a, true);
	}
	free(r.mode.ops);
	return r.failed ? 1 : 0;
}

/* "dfs: CMD: invalid WHAT: 'ARG' (hint)" on stderr, ARG escaped. */
static int
cp_owner_bad(struct cp_owner_run *r, const char *what, const char *arg,
    const char *hint)
{
	fprintf(stderr, "%s: %s: invalid %s: '", r->ctx->prog, r->cmd, what);
	dfs_name_print(stderr, arg);
	fprintf(stderr, "' (%s)\n", hint);
	return -EINVAL;
}

static int
cp_owner_chmod_arg(struct cp_owner_run *r, const char *s)
{
	if (cp_owner_parse_mode(s, &r->mode) == 0)
		return 0;
	return cp_owner_bad(r, "mode", s, "octal such as 0755, or "
	    "symbolic such as u+x,go-w");
}

/* A decimal id: digits only, below 2^32 - 1 (which means "no change"). */
static int
cp_owner_number(const char *s, uint32_t *out)
{
	uint64_t	v = 0;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s) ||
	    strlen(s) > 10)
		return -EINVAL;
	for (; *s != '\0'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	if (v >= UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/*
 * A user: a name in this host's passwd database, else a number ("+N" is
 * always a number, as in chown(1)).  *gid gets the user's login group
 * when it is known, else stays.
 */
static int
cp_owner_user(struct cp_owner_run *r, const char *s, uint32_t *uid,
    uint32_t *gid, bool *have_gid)
{
	struct passwd	*pw = NULL;

	if (*s != '+')
		pw = getpwnam(s);
	if (pw != NULL) {
		*uid = (uint32_t)pw->pw_uid;
		*gid = (uint32_t)pw->pw_gid;
		*have_gid = true;
		return 0;
	}
	if (cp_owner_number(*s == '+' ? s + 1 : s, uid) == 0) {
		if ((pw = getpwuid(*uid)) != NULL) {
			*gid = (uint32_t)pw->pw_gid;
			*have_gid = true;
		}
		return 0;
	}
	return cp_owner_bad(r, "user", s, "no such user on this host, and "
	    "not a number");
}

/* A group: a name in this host's group database, else a number. */
static int
cp_owner_group(struct cp_owner_run *r, const char *s, uint32_t *gid)
{
	struct group	*gr = NULL;

	if (*s != '+')
		gr = getgrnam(s);
	if (gr != NULL) {
		*gid = (uint32_t)gr->gr_gid;
		return 0;
	}
	if (cp_owner_number(*s == '+' ? s + 1 : s, gid) == 0)
		return 0;
	return cp_owner_bad(r, "group", s, "no such group on this host, "
	    "and not a number");
}

/* OWNER, OWNER:GROUP, OWNER: (the owner's login group) or :GROUP. */
static int
cp_owner_chown_arg(struct cp_owner_run *r, const char *s)
{
	const char	*colon = strchr(s, ':');
	char		*user;
	uint32_t	 login_gid = 0;
	bool		 have_login = false;
	int		 rc = 0;

	user = colon != NULL ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
	if (*user != '\0') {
		r->set.valid |= DFS_SET_UID;
		rc = cp_owner_user(r, user, &r->set.uid, &login_gid,
		    &have_login);
	}
	if (rc == 0 && colon != NULL && colon[1] != '\0') {
		r->set.valid |= DFS_SET_GID;
		rc = cp_owner_group(r, colon + 1, &r->set.gid);
	} else if (rc == 0 && colon != NULL && *user != '\0') {
		if (!have_login)
			rc = cp_owner_bad(r, "owner", s, "the user has no "
			    "login group on this host: name the group");
		r->set.valid |= DFS_SET_GID;
		r->set.gid = login_gid;
	} else if (rc == 0 && *user == '\0' && (colon == NULL ||
	    colon[1] == '\0')) {
		rc = cp_owner_bad(r, "owner", s, "OWNER, OWNER:GROUP, "
		    "OWNER: or :GROUP");
	}
	free(user);
	return rc;
}

static int
cp_owner_chgrp_arg(struct cp_owner_run *r, const char *s)
{
	r->set.valid = DFS_SET_GID;
	return cp_owner_group(r, s, &r->set.gid);
}

int
cp_cmd_chmod(struct cp_ctx *ctx, int argc, char **argv)
{
	return cp_owner_run(ctx, "chmod", argc, argv, cp_owner_chmod_arg);
}

int
cp_cmd_chown(struct cp_ctx *ctx, int argc, char **argv)
{
	return cp_owner_run(ctx, "chown", argc, argv, cp_owner_chown_arg);
}

int
cp_cmd_chgrp(struct cp_ctx *ctx, int argc, char **argv)
{
	return cp_owner_run(ctx, "chgrp", argc, argv, cp_owner_chgrp_arg);
}

