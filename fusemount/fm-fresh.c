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
 * - after CREATE of a new regular file, the parent is what it was when
 *   this mount last saw it, with mtime and ctime set to the new file's
 *   ctime: the namenode changes nothing else of a directory when a file
 *   is added to it, in the same transaction (nn_meta_new).  That needs a
 *   recent sighting of the parent, kept by fm_fresh_seen.
 *
 * A slot is taken once, within FM_FRESH_NS.  A sighting serves only while
 * the namenode's answer it started from is younger than the attribute
 * timeout, so a change made elsewhere shows as late as the kernel's own
 * attribute cache would show it, never later.  Every other change made
 * through this mount empties slots and sightings first, so neither hides
 * a change of ours.  One mount per process: the tables are static.
 * Lock order: fm_fresh_lock is taken last (fm_fresh_created runs under a
 * file's lock) and no other lock is taken while it is held.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fm_i.h"
#include "xmalloc.h"

#define FM_FRESH_SLOTS	8
#define FM_FRESH_NS	(100 * 1000000LL)	/* a slot's life */

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

int64_t
fm_fresh_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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
	s->at_ns = fm_fresh_now();
	s->base_ns = base_ns;
}

/* Forget every slot, and the sightings too unless a create (which only
 * touches its parent's times, see fm_fresh_created) is under way. */
static void
fm_fresh_forget(bool sightings)
{
	pthread_mutex_lock(&fm_fresh_lock);
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
 * sighting of path renewed from it. */
bool
fm_fresh_take(const char *path, struct dfs_attr *a)
{
	int64_t	now = fm_fresh_now();
	bool	found = false;

	pthread_mutex_lock(&fm_fresh_lock);
	for (int i = 0; i < FM_FRESH_SLOTS && !found; i++) {
		struct fm_fresh_slot *s = &fm_fresh[i];
		if (s->path == NULL || strcmp(s->path, path) != 0)
			continue;
		if (now - s->at_ns < FM_FRESH_NS) {
			*a = s->a;
			found = true;
			fm_fresh_store(fm_seen, &fm_seen_next, path, a,
			    s->base_ns);
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
	fm_fresh_store(fm_seen, &fm_seen_next, path, a, fm_fresh_now());
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

/* This mount created the new regular file path, whose attributes are
 * child: derive its parent's from a recent sighting (see the top). */
void
fm_fresh_created(struct fm *fm, const char *path,
    const struct dfs_attr *child)
{
	char		*dir;
	int64_t		 now = fm_fresh_now();
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
