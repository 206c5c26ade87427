/*
 * dn-scan.c: the block scanner: re-verify every replica in the background
 * and report those that fail their checksums.
 *
 * Why it is built this way.  Reads check every byte they serve, but a
 * block nobody reads can rot unseen until the day its other replicas are
 * lost too.  So one thread walks the block table once every
 * datanode.scan_period, reading each finalized replica through the same
 * verified path as a client's READ (dn_rfile_read: pread into one reused
 * buffer, each chunk against its stored CRC32C), and a replica that fails
 * (a checksum mismatch, a short or unreadable file) is reported to the
 * namenode exactly as the read path reports it (BAD_BLOCK).  The namenode
 * then stops handing it out and replaces it from a good replica; see
 * namenode/nn-place.c.  The node deletes the replica only when the
 * namenode says so, so a damaged last copy is never thrown away here.
 *
 * The scan must not starve clients of the disk: it reads at most
 * datanode.scan_rate bytes a second, through a token bucket that holds a
 * tenth of a second's worth (at least one read), so the rate holds over
 * any stretch of time while single reads stay large enough to be cheap.
 * A pass that takes longer than the period (a node with more data than
 * rate * period) is followed at once by the next.  The first pass starts
 * DN_SCAN_FIRST_MS after start-up (or one period, if shorter), so that a
 * node restarting does not compete with its own block report.  Every
 * pass is logged with what it covered.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xmalloc.h"

#include "dn_i.h"

/* Bytes verified by one read: a packet's worth, whole chunks. */
#define DN_SCAN_UNIT		DFS_MAX_PACKET
/* Delay before the first pass, at most. */
#define DN_SCAN_FIRST_MS	(60 * 1000)

struct dn_scan {
	struct dn	*dn;
	int64_t		 period_ms;
	uint64_t	 rate;		/* bytes/s */
	uint8_t		*data;		/* DN_SCAN_UNIT bytes */
	uint8_t		*crcs;		/* their CRCs */
	double		 tokens;	/* bytes that may be read now */
	int64_t		 refilled_ms;	/* when tokens was last topped up */

	pthread_t	 thread;
	pthread_mutex_t	 lock;		/* guards stopping */
	pthread_cond_t	 cond;		/* stopping was set */
	bool		 stopping;
	bool		 started;
};

/* What one pass found. */
struct scan_pass {
	size_t		 blocks;
	size_t		 bad;
	size_t		 gone;		/* deleted or replaced meanwhile */
	uint64_t	 bytes;
};

/* Wait until the monotonic time until_ms or a stop.  True when stopping. */
static bool
scan_sleep_until(struct dn_scan *s, int64_t until_ms)
{
	struct timespec	ts;
	bool		stopping;

	ts.tv_sec = until_ms / 1000;
	ts.tv_nsec = (until_ms % 1000) * 1000000;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) != 0)
			break;
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stopping;
}

/*
 * Take n bytes from the token bucket, sleeping until it has them.  True
 * when the scanner is stopping.
 */
static bool
scan_throttle(struct dn_scan *s, size_t n)
{
	double	burst = (double)s->rate / 10;
	int64_t	now = dfs_now_ms();

	if (burst < DN_SCAN_UNIT)
		burst = DN_SCAN_UNIT;
	s->tokens += (double)(now - s->refilled_ms) * (double)s->rate / 1000;
	s->refilled_ms = now;
	if (s->tokens > burst)
		s->tokens = burst;
	s->tokens -= (double)n;
	if (s->tokens >= 0)
		return scan_sleep_until(s, now);	/* just a stop check */
	return scan_sleep_until(s, now + (int64_t)(-s->tokens * 1000 /
	    (double)s->rate) + 1);
}

/* A replica failed: log it and tell the namenode. */
static void
scan_bad(struct dn_scan *s, const struct dn_block *b, const char *why,
    struct scan_pass *p)
{
	log_warn("scanner: replica of block %" PRIu64 " generation %" PRIu64
	    " is bad: %s; reporting it to the namenode", b->id, b->gen, why);
	dn_nn_bad_block(s->dn->nn, b->id, b->gen, why);
	p->bad++;
}

/*
 * Verify one replica, chunk by chunk, at the scan rate.  True when the
 * scanner is stopping.
 */
static bool
scan_block(struct dn_scan *s, const struct dn_block *b, struct scan_pass *p)
{
	struct dn_rfile		*rf = NULL;
	const struct dn_block	*rb;
	uint64_t		 off = 0, unit;
	size_t			 n;
	char			*cause = NULL;
	bool			 stop = false;
	int			 rc;

	rc = dn_store_open_replica(s->dn->store, b->id, b->gen, &rf, &cause);
	if (rc == -ENOENT) {
		p->gone++;	/* deleted, or a newer generation came */
		goto out;
	}
	if (rc != 0) {
		scan_bad(s, b, cause, p);
		goto out;
	}
	p->blocks++;
	rb = dn_rfile_block(rf);
	unit = DN_SCAN_UNIT / rb->chunk_size * rb->chunk_size;
	while (off < rb->len) {
		n = (size_t)(rb->len - off < unit ? rb->len - off : unit);
		if ((stop = scan_throttle(s, n)))
			break;
		if ((rc = dn_rfile_read(rf, off, n, s->data, s->crcs,
		    &cause)) != 0) {
			scan_bad(s, rb, cause, p);
			break;
		}
		p->bytes += n;
		off += n;
	}
out:
	free(cause);
	dn_rfile_free(rf);
	return stop;
}

/* The scanner thread: a pass over every replica once a period. */
static void *
scan_main(void *arg)
{
	struct dn_scan	*s = arg;
	struct scan_pass p;
	struct dn_block	*v;
	size_t		 n;
	int64_t		 start, next;
	uint64_t	 passes = 0;
	bool		 stop = false;

	next = dfs_now_ms() + (s->period_ms < DN_SCAN_FIRST_MS ? s->period_ms :
	    DN_SCAN_FIRST_MS);
	while (!scan_sleep_until(s, next)) {
		start = dfs_now_ms();
		memset(&p, 0, sizeof p);
		s->tokens = 0;
		s->refilled_ms = start;
		v = dn_store_list(s->dn->store, &n);
		for (size_t i = 0; i < n && !stop; i++)
			stop = scan_block(s, &v[i], &p);
		free(v);
		if (stop)
			break;
		passes++;
		log_info("scanner: pass %" PRIu64 " verified %zu block%s (%"
		    PRIu64 " bytes) in %" PRId64 " ms: %zu bad%s", passes,
		    p.blocks, p.blocks == 1 ? "" : "s", p.bytes,
		    dfs_now_ms() - start, p.bad, p.gone > 0 ?
		    ", some deleted meanwhile" : "");
		next = start + s->period_ms;
	}
	return NULL;
}

/* Start the scanner thread with datanode.scan_period and scan_rate. */
int
dn_scan_start(struct dn *dn, char **cause)
{
	struct dn_scan		*s;
	pthread_condattr_t	 ca;

	s = xcalloc(1, sizeof *s);
	s->dn = dn;
	s->period_ms = dfs_config_int(dn->cfg, "datanode.scan_period");
	s->rate = (uint64_t)dfs_config_int(dn->cfg, "datanode.scan_rate");
	if (s->period_ms < 1000)
		s->period_ms = 1000;
	if (s->rate < 1024)
		s->rate = 1024;
	s->data = xmalloc(DN_SCAN_UNIT);
	s->crcs = xmalloc(4 * (DN_SCAN_UNIT / DFS_MIN_CHUNK));
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	dn->scan = s;
	if (pthread_create(&s->thread, NULL, scan_main, s) != 0) {
		xasprintf(cause, "cannot start the block scanner thread");
		return -EAGAIN;
	}
	s->started = true;
	log_info("block scanner: every replica once every %" PRId64 " s, at "
	    "most %" PRIu64 " bytes/s", s->period_ms / 1000, s->rate);
	return 0;
}

/* Stop the scanner (it finishes the read in hand) and free it. */
void
dn_scan_stop(struct dn *dn)
{
	struct dn_scan	*s = dn->scan;

	if (s == NULL)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->data);
	free(s->crcs);
	free(s);
	dn->scan = NULL;
}
