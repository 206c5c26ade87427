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
 * namenode as the holder's verdict (DN_VERIFIED bad).  The namenode then
 * stops handing it out and, once another replica has been verified good,
 * replaces it; see namenode/nn-corrupt.c.  The node deletes the replica
 * only when the namenode says so, so a damaged last copy is never thrown
 * away here.
 *
 * The namenode may also ask for one replica now (VERIFY, after a reader
 * reported it, or another replica of its block was found bad, or for
 * dfs fsck --verify): such requests wait in a bounded queue and are
 * served first, between two blocks of a pass or at once when the thread
 * is idle, through the same code and the same rate; the answer goes back
 * as DN_VERIFIED (good, bad or absent).  A read this node served that
 * failed its checksums is verified the same way before it is reported
 * (dn_nn_bad_block), so the node's verdict is always that of a whole
 * replica.  Bad replicas found by a pass are reported as bad; good ones
 * are not reported (the namenode asks when it needs to know).
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
/* Replicas the namenode asked for, waiting; more are dropped (it asks
 * again). */
#define DN_SCAN_ASKED_MAX	4096

/* Guards dn->scan itself: other threads queue replicas (dn_scan_verify)
 * while the scanner starts and stops.  Taken before a scanner's lock. */
static pthread_mutex_t scan_ptr_lock = PTHREAD_MUTEX_INITIALIZER;

/* A replica to verify now, and whom to tell. */
struct scan_ask {
	dfs_block_id	 block;
	uint64_t	 gen;
	bool		 reader;	/* a read failed here: bad is news */
};

struct dn_scan {
	struct dn	*dn;
	int64_t		 period_ms;
	uint64_t	 rate;		/* bytes/s */
	uint8_t		*data;		/* DN_SCAN_UNIT bytes */
	uint8_t		*crcs;		/* their CRCs */
	double		 tokens;	/* bytes that may be read now */
	int64_t		 refilled_ms;	/* when tokens was last topped up */

	pthread_t	 thread;
	pthread_mutex_t	 lock;		/* guards stopping, asked */
	pthread_cond_t	 cond;		/* stopping was set, or asked */
	bool		 stopping;
	bool		 started;
	struct scan_ask	*asked;		/* a ring of DN_SCAN_ASKED_MAX */
	size_t		 asked_first;
	size_t		 nasked;
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
	bool		stopping;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping)
		if (dfs_cond_wait_until(&s->cond, &s->lock, until_ms) != 0)
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

/* A replica failed: log it and tell the namenode (the holder's own
 * verdict). */
static void
scan_bad(struct dn_scan *s, dfs_block_id block, uint64_t gen,
    const char *why, struct scan_pass *p)
{
	log_warn("scanner: replica of block %" PRIu64 " generation %" PRIu64
	    " is bad: %s; reporting it to the namenode", block, gen, why);
	dn_nn_verified(s->dn->nn, block, gen, DFS_VERIFY_BAD, why);
	p->bad++;
}

/*
 * Verify one replica, chunk by chunk, at the scan rate: DFS_VERIFY_GOOD,
 * DFS_VERIFY_BAD (reported) or DFS_VERIFY_ABSENT, or -1 when the scanner
 * is stopping.
 */
static int
scan_block(struct dn_scan *s, dfs_block_id block, uint64_t gen,
    struct scan_pass *p)
{
	struct dn_rfile		*rf = NULL;
	const struct dn_block	*rb;
	uint64_t		 off = 0, unit;
	size_t			 n;
	char			*cause = NULL;
	int			 rc, result = DFS_VERIFY_GOOD;

	rc = dn_store_open_replica(s->dn->store, block, gen, &rf, &cause);
	if (rc == -ENOENT) {
		p->gone++;	/* deleted, or a newer generation came */
		result = DFS_VERIFY_ABSENT;
		goto out;
	}
	if (rc != 0) {
		scan_bad(s, block, gen, cause, p);
		result = DFS_VERIFY_BAD;
		goto out;
	}
	p->blocks++;
	rb = dn_rfile_block(rf);
	unit = DN_SCAN_UNIT / rb->chunk_size * rb->chunk_size;
	while (off < rb->len) {
		n = (size_t)(rb->len - off < unit ? rb->len - off : unit);
		if (scan_throttle(s, n)) {
			result = -1;
			break;
		}
		if ((rc = dn_rfile_read(rf, off, n, s->data, s->crcs,
		    &cause)) == -ESTALE) {
			p->gone++;	/* patched: a newer generation */
			result = DFS_VERIFY_ABSENT;
			break;
		}
		if (rc != 0) {
			scan_bad(s, block, gen, cause, p);
			result = DFS_VERIFY_BAD;
			break;
		}
		p->bytes += n;
		off += n;
	}
out:
	free(cause);
	dn_rfile_free(rf);
	return result;
}

/* The oldest replica asked for, into *a; false when none. */
static bool
scan_take(struct dn_scan *s, struct scan_ask *a)
{
	bool	got;

	pthread_mutex_lock(&s->lock);
	if ((got = s->nasked > 0)) {
		*a = s->asked[s->asked_first];
		s->asked_first = (s->asked_first + 1) % DN_SCAN_ASKED_MAX;
		s->nasked--;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

/*
 * Verify every replica asked for, and answer the namenode: a bad one is
 * reported by scan_block, a good or absent one here (except after a read
 * failed here: then only a bad one is news).  True when stopping.
 */
static bool
scan_asked(struct dn_scan *s)
{
	struct scan_pass p;
	struct scan_ask	 a;
	int		 result;

	while (scan_take(s, &a)) {
		memset(&p, 0, sizeof p);
		if ((result = scan_block(s, a.block, a.gen, &p)) < 0)
			return true;
		log_info("scanner: verified block %" PRIu64 " generation %"
		    PRIu64 " on request: %s", a.block, a.gen,
		    result == DFS_VERIFY_GOOD ? "good" : result ==
		    DFS_VERIFY_BAD ? "bad" : "not held here");
		if (result != DFS_VERIFY_BAD && !a.reader)
			dn_nn_verified(s->dn->nn, a.block, a.gen, result,
			    result == DFS_VERIFY_GOOD ? "" : "no such replica");
	}
	return false;
}

/* Wait until the monotonic time until_ms, a stop or a replica asked
 * for.  True when stopping. */
static bool
scan_wait(struct dn_scan *s, int64_t until_ms)
{
	bool		stopping;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping && s->nasked == 0)
		if (dfs_cond_wait_until(&s->cond, &s->lock, until_ms) != 0)
			break;
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stopping;
}

/*
 * Queue a replica to verify now (the namenode's VERIFY, or reader set
 * after a read of it failed here).  Never blocks; a replica already
 * waiting is not queued twice.  Returns 0, or -EAGAIN when the queue is
 * full or there is no scanner.
 */
int
dn_scan_verify(struct dn *dn, dfs_block_id block, uint64_t gen, bool reader)
{
	struct dn_scan	*s;
	size_t		 i;
	int		 rc = 0;

	pthread_mutex_lock(&scan_ptr_lock);
	if ((s = dn->scan) == NULL) {
		pthread_mutex_unlock(&scan_ptr_lock);
		return -EAGAIN;
	}
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nasked; i++) {
		struct scan_ask *a = &s->asked[(s->asked_first + i) %
		    DN_SCAN_ASKED_MAX];
		if (a->block == block && a->gen == gen) {
			a->reader = a->reader && reader;
			break;
		}
	}
	if (i == s->nasked) {
		if (s->nasked == DN_SCAN_ASKED_MAX)
			rc = -EAGAIN;
		else {
			s->asked[(s->asked_first + s->nasked) %
			    DN_SCAN_ASKED_MAX] = (struct scan_ask){ block, gen,
			    reader };
			s->nasked++;
			pthread_cond_broadcast(&s->cond);
		}
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&scan_ptr_lock);
	if (rc != 0)
		log_warn("scanner: %d replicas already waiting to be "
		    "verified; block %" PRIu64 " is not queued",
		    DN_SCAN_ASKED_MAX, block);
	return rc;
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
	while (!scan_wait(s, next)) {
		if (scan_asked(s))
			break;
		if (dfs_now_ms() < next)
			continue;
		start = dfs_now_ms();
		memset(&p, 0, sizeof p);
		s->tokens = 0;
		s->refilled_ms = start;
		v = dn_store_list(s->dn->store, &n);
		for (size_t i = 0; i < n && !stop; i++)
			stop = scan_asked(s) ||
			    scan_block(s, v[i].id, v[i].gen, &p) < 0;
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
	s->asked = xcalloc(DN_SCAN_ASKED_MAX, sizeof *s->asked);
	pthread_mutex_init(&s->lock, NULL);
	dfs_cond_init(&s->cond);
	pthread_mutex_lock(&scan_ptr_lock);
	dn->scan = s;
	pthread_mutex_unlock(&scan_ptr_lock);
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
	pthread_mutex_lock(&scan_ptr_lock);
	dn->scan = NULL;
	pthread_mutex_unlock(&scan_ptr_lock);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->data);
	free(s->crcs);
	free(s->asked);
	free(s);
}
