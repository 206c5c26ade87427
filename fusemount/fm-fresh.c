/*
 * fm-fresh.c: directory attributes the kernel is about to ask for.
 *
 * The kernel drops its cached attributes of a directory whenever an entry
 * in it changes, and asks for them again (GETATTR, a namenode round trip)
 * before the next lookup in it, for its permission check: one more round
 * trip per file created or removed.  This mount often knows the answer
 * already, and keeps it in a slot for that GETATTR:
 *
 * - UNLINK answers with the parent's attributes (fm-ops.c);
 * - a new regular file is what MKNOD answered (fm-io.c), for libfuse's
 *   GETATTR of it right after the create;
 * - after MKNOD of a new regular file, the parent is what it was when
 *   this mount last saw it, with mtime and ctime set to the new file's
 *   ctime: the namenode changes nothing else of a directory when a file
 *   is added to it, in the same transaction (nn_meta_new).  That needs a
 *   recent sighting of the parent, kept by fm_fresh_seen.
 *
 * A slot is taken once, within FM_FRESH_NS.
 *
 * Lookups ahead.  A program walking a directory in name order (rm of
 * every file, find, a loop over sorted names) after the kernel dropped
 * its entries costs a namenode STAT per name before the operation
 * itself.  When a lookup the namenode answered is followed, within
 * FM_PAGE_NS, by a lookup of a later name in the same directory, one LIST
 * of the next FM_PAGE_MAX names (from that name on, with their
 * attributes) answers the lookups after it: each entry once, while the
 * page is younger than FM_PAGE_NS (never older than mount.attr_timeout),
 * so what the kernel then caches is at most that much older than a
 * lookup's own answer would have been.  Only names found in the page are
 * answered: a name missing from it is asked for, so a file another mount
 * just created and closed is seen by the next open here (close-to-open).
 * Every change through this mount drops the page, except an unlink in
 * its directory, which only drops the names of that inode; opening a
 * file drops its entry, and files open here are left out of pages.
 *  A sighting serves only while
 * the namenode's answer it started from is younger than the attribute
 * timeout, so a change made elsewhere shows as late as the kernel's own
 * attribute cache would show it, never later.  Every other change made
 * through this mount empties slots and sightings first, so neither hides
 * a change of ours.  One mount per process: the tables are static.
 * Lock order: fm_fresh_lock is taken last (fm_fresh_created runs under a
 * file's lock) and no other lock is taken while it is held.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fm_i.h"
#include "log.h"
#include "xmalloc.h"

#define FM_FRESH_SLOTS	8
#define FM_FRESH_NS	(100 * 1000000LL)	/* a slot's life */
#define FM_PAGE_NS	(100 * 1000000LL)	/* a page's life */
#define FM_PAGE_MAX	256			/* names looked up ahead */

struct fm_fresh_slot {
	char		*path;		/* NULL: empty */
	struct dfs_attr	 a;
	int64_t		 at_ns;		/* CLOCK_MONOTONIC, when put */
	int64_t		 base_ns;	/* when the namenode said a (or what
					   a was derived from) */
};

static struct fm_fresh_slot	 fm_fresh[FM_FRESH_SLOTS];
static unsigned			 fm_fresh_next;
static struct fm_fresh_slot	 fm_seen[FM_FRESH_SLOTS];
static unsigned			 fm_seen_next;
static pthread_mutex_t		 fm_fresh_lock = PTHREAD_MUTEX_INITIALIZER;

/* One entry of a page, answered at most once. */
struct fm_page_ent {
	char		*name;
	struct dfs_attr	 a;
	bool		 taken;
};

/* The entries of directory dir fetched ahead, in name (byte) order: every
 * name after lo, up to and with hi (to the end when hi is NULL), that was
 * there when the LIST was sent (at_ns) and is not open here. */
struct fm_page {
	char			*dir;		/* NULL: no page */
	char			*lo;
	char			*hi;
	int64_t			 at_ns;
	struct fm_page_ent	*ents;
	size_t			 n;
	size_t			 cap;
};

static struct fm_page		 fm_page;
static uint64_t			 fm_page_gen;	/* bumps on every change
						   that may stale a page
						   being fetched */
static char			*fm_walk_dir;	/* the last name answered */
static char			*fm_walk_name;
static int64_t			 fm_walk_ns;

/* Put (path, a) into one of the slots of table t, replacing path's. */
static void
fm_fresh_store(struct fm_fresh_slot *t, unsigned *next, const char *path,
    const struct dfs_attr *a, int64_t base_ns)
{
	struct fm_fresh_slot	*s = NULL;

	for (int i = 0; i < FM_FRESH_SLOTS && s == NULL; i++)
		if (t[i].path != NULL && strcmp(t[i].path, path) == 0)
			s = &t[i];
	if (s == NULL) {
		s = &t[(*next)++ % FM_FRESH_SLOTS];
		free(s->path);
		s->path = xstrdup(path);
	}
	s->a = *a;
	s->at_ns = dfs_now_ns();
	s->base_ns = base_ns;
}

/* Free the entries of page p. */
static void
fm_page_free(struct fm_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ents[i].name);
	free(p->ents);
	free(p->dir);
	free(p->lo);
	free(p->hi);
	memset(p, 0, sizeof *p);
}

/* Forget the page and the walk.  Hold fm_fresh_lock. */
static void
fm_page_forget(void)
{
	fm_page_free(&fm_page);
	fm_page_gen++;
	free(fm_walk_dir);
	free(fm_walk_name);
	fm_walk_dir = fm_walk_name = NULL;
}

/* Forget every slot, the page, and the sightings too unless a create
 * (which only touches its parent's times, see fm_fresh_created) is under
 * way. */
static void
fm_fresh_forget(bool sightings)
{
	pthread_mutex_lock(&fm_fresh_lock);
	fm_page_forget();
	for (int i = 0; i < FM_FRESH_SLOTS; i++) {
		free(fm_fresh[i].path);
		fm_fresh[i].path = NULL;
		if (sightings) {
			free(fm_seen[i].path);
			fm_seen[i].path = NULL;
		}
	}
	pthread_mutex_unlock(&fm_fresh_lock);
}

/* A change through this mount is under way: forget slots and sightings. */
void
fm_fresh_clear(void)
{
	fm_fresh_forget(true);
}

/* A file is being created: no slot may answer for its parent, but the
 * parent's sighting stays for fm_fresh_created. */
void
fm_fresh_creating(void)
{
	fm_fresh_forget(false);
}

/* Keep directory dir's attributes a, which the namenode gave at base_ns,
 * for the kernel's next GETATTR (not when the user asked for no attribute
 * caching at all). */
void
fm_fresh_put(struct fm *fm, const char *dir, const struct dfs_attr *a,
    int64_t base_ns)
{
	if (fm->attr_timeout <= 0)
		return;
	pthread_mutex_lock(&fm_fresh_lock);
	fm_fresh_store(fm_fresh, &fm_fresh_next, dir, a, base_ns);
	pthread_mutex_unlock(&fm_fresh_lock);
}

/* Take the slot of path if one is fresh: true with *a filled in, and the
 * sighting of path (a directory) renewed from it. */
bool
fm_fresh_take(const char *path, struct dfs_attr *a)
{
	int64_t	now = dfs_now_ns();
	bool	found = false;

	pthread_mutex_lock(&fm_fresh_lock);
	for (int i = 0; i < FM_FRESH_SLOTS && !found; i++) {
		struct fm_fresh_slot *s = &fm_fresh[i];
		if (s->path == NULL || strcmp(s->path, path) != 0)
			continue;
		if (now - s->at_ns < FM_FRESH_NS) {
			*a = s->a;
			found = true;
			if (a->type == DFS_FT_DIR)
				fm_fresh_store(fm_seen, &fm_seen_next, path,
				    a, s->base_ns);
		}
		free(s->path);
		s->path = NULL;
	}
	pthread_mutex_unlock(&fm_fresh_lock);
	return found;
}

/* The namenode just gave directory path's attributes a. */
void
fm_fresh_seen(struct fm *fm, const char *path, const struct dfs_attr *a)
{
	if (fm->attr_timeout <= 0 || a->type != DFS_FT_DIR)
		return;
	pthread_mutex_lock(&fm_fresh_lock);
	fm_fresh_store(fm_seen, &fm_seen_next, path, a, dfs_now_ns());
	pthread_mutex_unlock(&fm_fresh_lock);
}

/* The parent directory of path ("/" for a top-level name).  Caller
 * frees. */
char *
fm_parent_of(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* The last name of path: "" for the root and for an inode's own "#N"
 * (fm-ll.c), which are no entry of a directory page. */
static const char *
fm_name_of(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : "";
}

/* This mount created the new regular file path, whose attributes are
 * child: derive its parent's from a recent sighting (see the top). */
void
fm_fresh_created(struct fm *fm, const char *path,
    const struct dfs_attr *child)
{
	char		*dir;
	int64_t		 now = dfs_now_ns();
	int64_t		 limit = (int64_t)(fm->attr_timeout * 1e9);

	if (fm->attr_timeout <= 0 || child->type != DFS_FT_FILE)
		return;
	dir = fm_parent_of(path);
	pthread_mutex_lock(&fm_fresh_lock);
	for (int i = 0; i < FM_FRESH_SLOTS; i++) {
		struct fm_fresh_slot *s = &fm_seen[i];
		if (s->path == NULL || strcmp(s->path, dir) != 0)
			continue;
		if (now - s->base_ns < limit) {
			struct dfs_attr a = s->a;
			a.mtime_ns = a.ctime_ns = child->ctime_ns;
			s->a = a;
			fm_fresh_store(fm_fresh, &fm_fresh_next, dir, &a,
			    s->base_ns);
		}
		break;
	}
	pthread_mutex_unlock(&fm_fresh_lock);
	free(dir);
}

/* How long a page serves: FM_PAGE_NS, or less with a shorter attribute
 * timeout. */
static int64_t
fm_page_life(struct fm *fm)
{
	int64_t	limit = (int64_t)(fm->attr_timeout * 1e9);

	return limit < FM_PAGE_NS ? limit : FM_PAGE_NS;
}

/* The entry of name in the page if the page covers it, else NULL with
 * *covered false.  Hold fm_fresh_lock. */
static struct fm_page_ent *
fm_page_find(const char *name, bool *covered)
{
	size_t	lo = 0, hi = fm_page.n;
	int	c;

	*covered = strcmp(name, fm_page.lo) > 0 && (fm_page.hi == NULL ||
	    strcmp(name, fm_page.hi) <= 0);
	if (!*covered)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, fm_page.ents[mid].name)) == 0)
			return &fm_page.ents[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Answer name from the page of dir, once: true with *a filled in.  *asked
 * says whether the page covers name (then the namenode is asked for it
 * rather than a new page).  Hold fm_fresh_lock. */
static bool
fm_page_take(struct fm *fm, const char *dir, const char *name,
    struct dfs_attr *a, bool *covered)
{
	struct fm_page_ent	*e;

	*covered = false;
	if (fm_page.dir == NULL || strcmp(fm_page.dir, dir) != 0 ||
	    dfs_now_ns() - fm_page.at_ns >= fm_page_life(fm))
		return false;
	if ((e = fm_page_find(name, covered)) == NULL || e->taken)
		return false;
	e->taken = true;
	*a = e->a;
	return true;
}

/* Remember that the last lookup answered was dir/name.  Hold
 * fm_fresh_lock. */
static void
fm_walk_note(const char *dir, const char *name)
{
	if (fm_walk_dir == NULL || strcmp(fm_walk_dir, dir) != 0) {
		free(fm_walk_dir);
		fm_walk_dir = xstrdup(dir);
	}
	free(fm_walk_name);
	fm_walk_name = xstrdup(name);
	fm_walk_ns = dfs_now_ns();
}

struct fm_page_fill {
	struct fm	*fm;
	const char	*dir;
	struct fm_page	 p;
};

/* A listing entry into the page being fetched; files open here are left
 * out (what this mount writes is known better than the namenode's
 * copy). */
static int
fm_page_add(const char *name, const struct dfs_attr *a, void *arg)
{
	struct fm_page_fill	*fill = arg;
	struct fm_page		*p = &fill->p;
	struct fm_file		*f;
	char			*child;

	free(p->hi);
	p->hi = xstrdup(name);
	if (atomic_load(&fill->fm->nfiles) > 0) {
		xasprintf(&child, "%s/%s", strcmp(fill->dir, "/") == 0 ? "" :
		    fill->dir, name);
		f = fm_file_get_open(fill->fm, child);
		free(child);
		if (f != NULL) {
			fm_file_put(f);
			return 0;
		}
	}
	if (p->n == p->cap) {
		p->cap = p->cap == 0 ? 64 : p->cap * 2;
		p->ents = xrealloc(p->ents, p->cap * sizeof *p->ents);
	}
	p->ents[p->n].name = xstrdup(name);
	p->ents[p->n].a = *a;
	p->ents[p->n++].taken = false;
	return 0;
}

/*
 * A lookup of path (no file of this mount's, no slot): answered from the
 * page, or from a new page when a walk in name order is under way; 1
 * with *a filled in.  0: ask the namenode (and tell fm_fresh_found when
 * the name exists).  A negative errno: the namenode did not answer the
 * page's LIST within client.timeout, and asking it again would make the
 * lookup wait twice that; the lookup fails now.
 */
int
fm_fresh_lookup(struct fm *fm, const char *path, struct dfs_attr *a)
{
	struct fm_page_fill	 fill;
	const char		*name = fm_name_of(path);
	char			*dir, *after, *cause = NULL;
	bool			 covered, walking, more = false, found;
	uint64_t		 gen;
	int64_t			 at;
	int			 rc;

	if (fm->attr_timeout <= 0 || name[0] == '\0')
		return 0;
	dir = fm_parent_of(path);
	pthread_mutex_lock(&fm_fresh_lock);
	found = fm_page_take(fm, dir, name, a, &covered);
	if (found)
		fm_walk_note(dir, name);
	walking = !found && !covered && fm_walk_dir != NULL &&
	    strcmp(fm_walk_dir, dir) == 0 && strcmp(name, fm_walk_name) > 0 &&
	    dfs_now_ns() - fm_walk_ns < fm_page_life(fm);
	gen = fm_page_gen;
	pthread_mutex_unlock(&fm_fresh_lock);
	if (!walking) {
		free(dir);
		return found ? 1 : 0;
	}
	/* From name on: after the name one byte shorter. */
	memset(&fill, 0, sizeof fill);
	fill.fm = fm;
	fill.dir = dir;
	after = xstrndup(name, strlen(name) - 1);
	at = dfs_now_ns();
	if ((rc = dfs_client_list_some(fm->client, dir, after, FM_PAGE_MAX,
	    fm_page_add, &fill, &more, &cause)) != 0) {
		free(after);
		fm_page_free(&fill.p);
		free(dir);
		if (rc == -ETIMEDOUT)
			return fm_errno(rc, cause, "stat", path);
		free(cause);
		return 0;
	}
	/* LIST of a path that became a file elsewhere lists the file. */
	if (fill.p.n == 1 && !more && fill.p.ents[0].a.type != DFS_FT_DIR &&
	    strcmp(fill.p.ents[0].name, fm_name_of(dir)) == 0) {
		free(after);
		fm_page_free(&fill.p);
		free(dir);
		return 0;
	}
	fill.p.dir = dir;
	fill.p.lo = after;
	fill.p.at_ns = at;
	if (!more) {
		free(fill.p.hi);
		fill.p.hi = NULL;
	} else if (fill.p.hi == NULL)
		fill.p.hi = xstrdup(after);	/* covers nothing */
	pthread_mutex_lock(&fm_fresh_lock);
	if (gen == fm_page_gen) {
		/* Nothing changed here meanwhile. */
		log_debug("looked up %zu names of %s ahead", fill.p.n, dir);
		fm_page_free(&fm_page);
		fm_page = fill.p;
		found = fm_page_take(fm, dir, name, a, &covered);
		if (found)
			fm_walk_note(dir, name);
	} else
		fm_page_free(&fill.p);
	pthread_mutex_unlock(&fm_fresh_lock);
	return found ? 1 : 0;
}

/* The namenode said path exists: a walk may be under way.  The root,
 * which has no name in a directory, starts none. */
void
fm_fresh_found(struct fm *fm, const char *path)
{
	char	*dir;

	if (fm->attr_timeout <= 0 || fm_name_of(path)[0] == '\0')
		return;
	dir = fm_parent_of(path);
	pthread_mutex_lock(&fm_fresh_lock);
	fm_walk_note(dir, fm_name_of(path));
	pthread_mutex_unlock(&fm_fresh_lock);
	free(dir);
}

/* path is being opened here: its entry must not answer a lookup again. */
void
fm_fresh_opened(const char *path)
{
	struct fm_page_ent	*e;
	char			*dir = fm_parent_of(path);
	bool			 covered;

	pthread_mutex_lock(&fm_fresh_lock);
	if (fm_page.dir != NULL && strcmp(fm_page.dir, dir) == 0 &&
	    (e = fm_page_find(fm_name_of(path), &covered)) != NULL)
		e->taken = true;
	pthread_mutex_unlock(&fm_fresh_lock);
	free(dir);
}

/*
 * path is being unlinked here: forget slots and sightings (as
 * fm_fresh_clear), and whatever the page says of its inode.  A page of
 * its directory stays (the other names are unchanged, unless they are
 * links to the same inode), so a walk removing every file goes on.
 */
void
fm_fresh_removing(const char *path)
{
	struct fm_page_ent	*e = NULL;
	char			*dir = fm_parent_of(path);
	bool			 keep, covered;

	pthread_mutex_lock(&fm_fresh_lock);
	for (int i = 0; i < FM_FRESH_SLOTS; i++) {
		free(fm_fresh[i].path);
		fm_fresh[i].path = NULL;
		free(fm_seen[i].path);
		fm_seen[i].path = NULL;
	}
	keep = fm_page.dir != NULL && strcmp(fm_page.dir, dir) == 0 &&
	    (e = fm_page_find(fm_name_of(path), &covered)) != NULL;
	if (keep) {
		e->taken = true;
		/* Other names of a linked file change with this one. */
		if (e->a.type != DFS_FT_DIR && e->a.nlink > 1)
			for (size_t i = 0; i < fm_page.n; i++)
				if (fm_page.ents[i].a.ino == e->a.ino)
					fm_page.ents[i].taken = true;
		fm_page_gen++;
	} else if (fm_walk_dir != NULL && strcmp(fm_walk_dir, dir) == 0) {
		/* Keep the walk, not the page. */
		fm_page_free(&fm_page);
		fm_page_gen++;
	} else
		fm_page_forget();
	pthread_mutex_unlock(&fm_fresh_lock);
	free(dir);
}
