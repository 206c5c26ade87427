/*
 * dn-patch.c: PATCH, the in-place update of some chunks of a finalized
 * replica under a new generation stamp; its journal, and what start-up
 * does with journals a crash left behind.
 *
 * Why it is built this way.  A file written at random and fsync'ed often
 * (issue 13) changes a few chunks of a block at a time.  Writing the
 * block again costs its whole length per fsync on every replica, and a
 * copy-on-write replica per fsync would cost as much disk bandwidth, so
 * the changed chunks are written in place.  In place is not atomic, so
 * every patch is first written whole to a journal in tmp/ and made
 * durable there (fsync of the file and of tmp/); only then is the replica
 * touched: data and CRCs pwrite'n where they belong, the sidecar header
 * given the new length, both files renamed to the new generation's names,
 * the block table told.  Then both files are fdatasync'ed, current/
 * fsync'ed, and the journal goes.  A crash anywhere leaves either a torn
 * journal (the replica untouched: it is discarded) or a complete one,
 * which start-up applies again before the block table is built: the
 * apply writes the same bytes at the same places, so doing it twice is
 * doing it once, whichever names the files had reached.
 *
 * Readers.  The files change under the names readers open, so readers
 * served by this node (READ, REDUCE, LOCAL_OPEN, the scanner, REPLICATE)
 * are excluded per block while a patch changes bytes and names: a
 * reader-writer lock per stripe of block ids.  A reader takes it shared
 * for each verified read (dn_rfile_read, at most a packet) and for the
 * opening of a replica; a patch takes it exclusive from its first pwrite
 * to the table update, which is memory work and page-cache writes (the
 * fdatasyncs come after, with the journal still there to cover them).  A
 * read thus sees a chunk and its CRC both from before or both from after.
 * A reader that opened the old generation and comes back after a patch
 * is told -ESTALE ("was patched ... read it again"): a read names its
 * generation, and bytes of the next one are not that generation's; the
 * stripe's epoch, bumped by every patch in it, says when to look (its
 * name no longer reaching the file it holds).  Short-circuit readers hold
 * the files' descriptors and read without this node: one that reads
 * while a patch is applied may see a chunk that fails its CRC, which the
 * client treats as it treats a TCP checksum error (lib/client-read.c).
 *
 * One patch per stripe at a time (the stripe's mutex, taken before its
 * lock), so two patches of a block never interleave and a patch never
 * finds its replica changed between its checks and its apply.
 *
 * Journal: tmp/blk_<id>_<newgen>.patch, little-endian:
 *   "NPDJ", u32 version (1), u64 block, u64 old_gen, u64 new_gen,
 *   u64 old_len, u64 new_len, u32 chunk_size, u32 nranges;
 *   nranges x (u64 offset, u32 length, ceil(length / chunk_size) x u32
 *   CRC32C, length bytes of data);
 *   u32 CRC32C of every byte before it.
 *
 * For tests only: NPDFS_TEST_PATCH_CRASH=journal in the environment makes
 * the node exit (status 86) right after a journal is durable, =apply
 * right after the replica was changed and renamed, before anything is
 * synced or the journal removed, so a test can restart it into recovery
 * with a journal the node wrote itself; =refuse makes every PATCH fail
 * (EIO) after its journal is written and before the replica is touched,
 * as a failing disk would, so a test can see a patch fail on every
 * replica.  (=commit is the namenode's, nn-patch.c.)
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum.h"
#include "log.h"
#include "private.h"
#include "xmalloc.h"

#include "dn_i.h"

#define PATCH_STRIPES		64
#define PATCH_MAGIC		"NPDJ"
#define PATCH_VERSION		1
#define PATCH_HDR_LEN		56
/* Ranges in one PATCH: each has at least one byte of data. */
#define PATCH_MAX_RANGES	(DFS_MAX_PATCH / DFS_MIN_CHUNK)
/* A journal larger than this is no journal of ours. */
#define PATCH_MAX_JOURNAL	(PATCH_HDR_LEN + 4 + DFS_MAX_PATCH + \
				 PATCH_MAX_RANGES * 16 + \
				 4 * (DFS_MAX_PATCH / DFS_MIN_CHUNK))

/* Lock order: one, then rw, then the store's mutex. */
struct patch_stripe {
	pthread_mutex_t		 one;	/* one patch at a time */
	pthread_rwlock_t	 rw;	/* readers shared, an apply alone */
	_Atomic uint64_t	 epoch;	/* bumped by each apply */
};

static struct patch_stripe	patch_stripes[PATCH_STRIPES];
static pthread_once_t		patch_once = PTHREAD_ONCE_INIT;

/* One range: chunk-aligned offset, its data and one CRC per chunk. */
struct patch_range {
	uint64_t	 off;
	uint32_t	 len;
	uint32_t	 nch;		/* CRCs given */
	const uint8_t	*crcs;		/* little-endian, borrowed */
	const uint8_t	*data;		/* borrowed */
};

/* A decoded patch (request or journal); the ranges point into it. */
struct patch {
	dfs_block_id		 block;
	uint64_t		 old_gen;
	uint64_t		 new_gen;
	uint64_t		 old_len;	/* the replica's before */
	uint64_t		 new_len;
	uint32_t		 chunk;
	uint32_t		 n;
	struct patch_range	*r;		/* n of them, owned */
};

/* Writers first: a stream of short reads must not starve a patch. */
static void
patch_init(void)
{
	pthread_rwlockattr_t	a;

	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (int i = 0; i < PATCH_STRIPES; i++) {
		pthread_mutex_init(&patch_stripes[i].one, NULL);
		pthread_rwlock_init(&patch_stripes[i].rw, &a);
	}
	pthread_rwlockattr_destroy(&a);
}

/* The stripe guarding block id (Fibonacci hashing, as dn-store.c). */
static struct patch_stripe *
patch_stripe(dfs_block_id id)
{
	pthread_once(&patch_once, patch_init);
	return &patch_stripes[(id * UINT64_C(0x9e3779b97f4a7c15)) >> 58];
}

/* Keep patches of block id out while a reader reads it. */
void
dn_patch_rdlock(dfs_block_id id)
{
	pthread_rwlock_rdlock(&patch_stripe(id)->rw);
}

/* End dn_patch_rdlock. */
void
dn_patch_rdunlock(dfs_block_id id)
{
	pthread_rwlock_unlock(&patch_stripe(id)->rw);
}

/* Changes when a patch of a block in id's stripe is applied. */
uint64_t
dn_patch_epoch(dfs_block_id id)
{
	return patch_stripe(id)->epoch;
}

/* Chunks covering len bytes. */
static uint32_t
patch_nchunks(uint64_t len, uint32_t chunk)
{
	return (uint32_t)((len + chunk - 1) / chunk);
}

/*
 * Everything about p that does not depend on the replica: chunk size,
 * generations, lengths, ranges (aligned, sorted, apart, within new_len,
 * short only at new_len, in all at most DFS_MAX_PATCH bytes) and every
 * chunk's CRC.  0, -EINVAL, or -EBADMSG for a checksum error.
 */
static int
patch_check(const struct patch *p, char **cause)
{
	uint64_t	prev = 0, total = 0;

	if (!dn_blkfile_chunk_ok(p->chunk)) {
		xasprintf(cause, "bad chunk size %u", p->chunk);
		return -EINVAL;
	}
	if (p->new_gen <= p->old_gen) {
		xasprintf(cause, "the new generation %" PRIu64 " is not newer "
		    "than %" PRIu64, p->new_gen, p->old_gen);
		return -EINVAL;
	}
	if (p->new_len > DN_MAX_BLOCK_LEN || p->n == 0 ||
	    p->n > PATCH_MAX_RANGES) {
		xasprintf(cause, "bad length %" PRIu64 " or range count %u",
		    p->new_len, p->n);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < p->n; i++) {
		const struct patch_range *r = &p->r[i];
		uint64_t end = r->off + r->len;
		if (r->len == 0 || r->off % p->chunk != 0 ||
		    r->off > p->new_len || r->len > p->new_len - r->off ||
		    (i > 0 && r->off < prev) ||
		    (r->len % p->chunk != 0 && end != p->new_len) ||
		    r->nch != patch_nchunks(r->len, p->chunk)) {
			xasprintf(cause, "bad range %u: %u bytes at %" PRIu64
			    " with %u CRCs (ranges are sorted, apart, "
			    "chunk-aligned, within the new length %" PRIu64
			    ", one CRC per chunk of %u)", i, r->len, r->off,
			    r->nch, p->new_len, p->chunk);
			return -EINVAL;
		}
		if ((total += r->len) > DFS_MAX_PATCH) {
			xasprintf(cause, "more than %u bytes of data",
			    DFS_MAX_PATCH);
			return -EINVAL;
		}
		prev = end;
	}
	for (uint32_t i = 0; i < p->n; i++) {
		const struct patch_range *r = &p->r[i];
		for (uint32_t c = 0; c < r->nch; c++) {
			uint32_t o = c * p->chunk;
			uint32_t n = r->len - o < p->chunk ? r->len - o :
			    p->chunk;
			if (dfs_crc32c(0, r->data + o, n) !=
			    dfs_le32dec(r->crcs + 4 * c)) {
				xasprintf(cause, "checksum error in block %"
				    PRIu64 " at offset %" PRIu64, p->block,
				    r->off + o);
				return -EBADMSG;
			}
		}
	}
	return 0;
}

/*
 * Whether p fits the replica b (p->old_len set from it): same chunk
 * size, no shrinking, and when it grows, every byte from the start of
 * the chunk holding the old end up to the new end is given (its CRC
 * changes, and a hole would be bytes nobody wrote).  0 or -EINVAL.
 */
static int
patch_fits(struct patch *p, const struct dn_block *b, char **cause)
{
	uint64_t	need;

	p->old_len = b->len;
	if (b->chunk_size != p->chunk) {
		xasprintf(cause, "block %" PRIu64 " is stored in chunks of %u, "
		    "not %u", p->block, b->chunk_size, p->chunk);
		return -EINVAL;
	}
	if (p->new_len < b->len) {
		xasprintf(cause, "block %" PRIu64 " would shrink from %" PRIu64
		    " to %" PRIu64 " bytes", p->block, b->len, p->new_len);
		return -EINVAL;
	}
	need = b->len - b->len % p->chunk;
	for (uint32_t i = 0; i < p->n && need < p->new_len; i++) {
		if (p->r[i].off + p->r[i].len <= need)
			continue;
		if (p->r[i].off > need)
			break;
		need = p->r[i].off + p->r[i].len;
	}
	if (p->new_len > b->len && need < p->new_len) {
		xasprintf(cause, "block %" PRIu64 " grows from %" PRIu64 " to %"
		    PRIu64 " bytes but the bytes from %" PRIu64 " are not all "
		    "given", p->block, b->len, p->new_len, need);
		return -EINVAL;
	}
	return 0;
}

/* Read nranges and the ranges into p (pointing into r's buffer). */
static void
patch_get_ranges(struct dfs_rbuf *r, struct patch *p, bool journal)
{
	size_t	 len;

	p->n = dfs_get_u32(r);
	/* Each range takes at least 17 bytes: no allocation on a lie. */
	if (r->err != 0 || p->n == 0 || p->n > PATCH_MAX_RANGES ||
	    p->n > dfs_rbuf_left(r) / 17 || (journal &&
	    !dn_blkfile_chunk_ok(p->chunk))) {
		r->err = -EBADMSG;
		p->n = 0;
		return;
	}
	p->r = xcalloc(p->n, sizeof *p->r);
	for (uint32_t i = 0; i < p->n && r->err == 0; i++) {
		struct patch_range *g = &p->r[i];
		g->off = dfs_get_u64(r);
		if (journal) {
			g->len = dfs_get_u32(r);
			g->nch = patch_nchunks(g->len, p->chunk);
			g->crcs = dfs_get_raw(r, 4 * (size_t)g->nch);
			g->data = dfs_get_raw(r, g->len);
			continue;
		}
		g->nch = dfs_get_u32(r);
		if (g->nch > DFS_MAX_PATCH / DFS_MIN_CHUNK) {
			r->err = -EBADMSG;
			break;
		}
		g->crcs = dfs_get_raw(r, 4 * (size_t)g->nch);
		g->data = dfs_get_blob(r, DFS_WIRE_MAX_PAYLOAD, &len);
		g->len = (uint32_t)len;
	}
}

/* The journal of p, trailing CRC included, into buf. */
static void
patch_journal_encode(const struct patch *p, struct dfs_wbuf *buf)
{
	dfs_put_raw(buf, PATCH_MAGIC, 4);
	dfs_put_u32(buf, PATCH_VERSION);
	dfs_put_u64(buf, p->block);
	dfs_put_u64(buf, p->old_gen);
	dfs_put_u64(buf, p->new_gen);
	dfs_put_u64(buf, p->old_len);
	dfs_put_u64(buf, p->new_len);
	dfs_put_u32(buf, p->chunk);
	dfs_put_u32(buf, p->n);
	for (uint32_t i = 0; i < p->n; i++) {
		dfs_put_u64(buf, p->r[i].off);
		dfs_put_u32(buf, p->r[i].len);
		dfs_put_raw(buf, p->r[i].crcs, 4 * (size_t)p->r[i].nch);
		dfs_put_raw(buf, p->r[i].data, p->r[i].len);
	}
	dfs_put_u32(buf, dfs_crc32c(0, buf->data, buf->len));
}

/*
 * Decode and check a journal read from disk (p points into buf).  0, or
 * -EBADMSG with why: torn, not ours, or failing any check a PATCH gets.
 */
static int
patch_journal_decode(const uint8_t *buf, size_t len, struct patch *p,
    char **cause)
{
	struct dfs_rbuf	 r;
	const uint8_t	*magic;
	int		 rc;

	memset(p, 0, sizeof *p);
	if (len < PATCH_HDR_LEN + 4 || dfs_le32dec(buf + len - 4) !=
	    dfs_crc32c(0, buf, len - 4)) {
		xasprintf(cause, "torn (its checksum does not match)");
		return -EBADMSG;
	}
	dfs_rbuf_init(&r, buf, len - 4);
	magic = dfs_get_raw(&r, 4);
	if (r.err != 0 || memcmp(magic, PATCH_MAGIC, 4) != 0 ||
	    dfs_get_u32(&r) != PATCH_VERSION) {
		xasprintf(cause, "not a version %d journal", PATCH_VERSION);
		return -EBADMSG;
	}
	p->block = dfs_get_u64(&r);
	p->old_gen = dfs_get_u64(&r);
	p->new_gen = dfs_get_u64(&r);
	p->old_len = dfs_get_u64(&r);
	p->new_len = dfs_get_u64(&r);
	p->chunk = dfs_get_u32(&r);
	patch_get_ranges(&r, p, true);
	if (dfs_rbuf_done(&r) != 0) {
		xasprintf(cause, "malformed");
		return -EBADMSG;
	}
	if ((rc = patch_check(p, cause)) != 0 || p->old_len > p->new_len) {
		if (rc == 0)
			xasprintf(cause, "it shrinks the block");
		return -EBADMSG;
	}
	return 0;
}

/* tmp/blk_<id>_<newgen>.patch.  Caller frees. */
static char *
patch_journal_path(const char *tmpdir, const struct patch *p)
{
	char	*s;

	xasprintf(&s, "%s/blk_%" PRIu64 "_%" PRIu64 ".patch", tmpdir,
	    p->block, p->new_gen);
	return s;
}

/* Write p's journal durably (file, then tmp/).  0 or -errno, and then
 * nothing is left. */
static int
patch_journal_write(const char *tmpdir, const struct patch *p,
    char **cause)
{
	struct dfs_wbuf	 buf;
	char		*path = patch_journal_path(tmpdir, p);
	int		 fd, rc = 0;

	dfs_wbuf_init(&buf);
	patch_journal_encode(p, &buf);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		rc = errno == EEXIST ? -EEXIST : -EIO;
		xasprintf(cause, errno == EEXIST ? "block %" PRIu64
		    " generation %" PRIu64 " is already being patched" :
		    "cannot create the journal of block %" PRIu64
		    " generation %" PRIu64, p->block, p->new_gen);
		goto out;
	}
	if ((rc = dn_blkfile_pwrite(fd, buf.data, buf.len, 0)) != 0 ||
	    (fsync(fd) != 0 && (rc = -errno) != 0) ||
	    (rc = dfs_fsync_dir(tmpdir)) != 0) {
		xasprintf(cause, "cannot write the journal of block %" PRIu64
		    ": %s", p->block, strerror(-rc));
		rc = rc == -ENOSPC || rc == -EDQUOT ? -ENOSPC : -EIO;
		unlink(path);
	}
	close(fd);
out:
	dfs_wbuf_release(&buf);
	free(path);
	return rc;
}

/*
 * Open the replica's two files for the apply: under the new generation's
 * names where they already are (recovery), else the old.  renamed[i]
 * says which.  0 or -errno (-ENOENT: neither name).
 */
static int
patch_open(const char *curdir, const struct patch *p, int fds[2],
    bool renamed[2])
{
	char	*path;
	int	 rc = 0;

	fds[0] = fds[1] = -1;
	for (int i = 0; i < 2 && rc == 0; i++) {
		path = dn_blkfile_path(curdir, p->block, p->new_gen, i == 1);
		fds[i] = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		free(path);
		if ((renamed[i] = fds[i] >= 0))
			continue;
		path = dn_blkfile_path(curdir, p->block, p->old_gen, i == 1);
		if ((fds[i] = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
			rc = -errno;
		free(path);
	}
	if (rc != 0) {
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		fds[0] = fds[1] = -1;
	}
	return rc;
}

/* pwrite p's data, CRCs and the sidecar's new header.  0 or -errno. */
static int
patch_write(const struct patch *p, const int fds[2])
{
	uint8_t	hdr[DN_META_HDR_LEN];
	int	rc;

	for (uint32_t i = 0; i < p->n; i++) {
		const struct patch_range *r = &p->r[i];
		if ((rc = dn_blkfile_pwrite(fds[0], r->data, r->len,
		    r->off)) != 0 ||
		    (rc = dn_blkfile_pwrite(fds[1], r->crcs, 4 * r->nch,
		    DN_META_HDR_LEN + 4 * (r->off / p->chunk))) != 0)
			return rc;
	}
	dn_blkfile_hdr_encode(hdr, p->chunk, p->new_len);
	return dn_blkfile_pwrite(fds[1], hdr, sizeof hdr, 0);
}

/* Rename what is still under the old generation's names, data first. */
static int
patch_rename(const char *curdir, const struct patch *p,
    const bool renamed[2])
{
	char	*from, *to;
	int	 rc = 0;

	for (int i = 0; i < 2 && rc == 0; i++) {
		if (renamed[i])
			continue;
		from = dn_blkfile_path(curdir, p->block, p->old_gen, i == 1);
		to = dn_blkfile_path(curdir, p->block, p->new_gen, i == 1);
		if (rename(from, to) != 0)
			rc = -errno;
		free(from);
		free(to);
	}
	return rc;
}

/* Make the applied patch durable: both files, then current/. */
static int
patch_sync(const int fds[2], const char *curdir)
{
	if (fdatasync(fds[0]) != 0 || fdatasync(fds[1]) != 0)
		return -errno;
	return dfs_fsync_dir(curdir);
}

/* Whether a test asked every PATCH to fail (see the top of the file). */
static bool
patch_test_refuse(void)
{
	const char	*v = getenv("NPDFS_TEST_PATCH_CRASH");

	return v != NULL && strcmp(v, "refuse") == 0;
}

/* Exit here if a test asked (see the top of the file). */
static void
patch_test_crash(const char *where)
{
	const char	*v = getenv("NPDFS_TEST_PATCH_CRASH");

	if (v != NULL && strcmp(v, where) == 0) {
		log_warn("NPDFS_TEST_PATCH_CRASH=%s: exiting, as a test asked",
		    where);
		_exit(86);
	}
}

/*
 * Apply a checked p to this node's replica under the stripe's mutex:
 * journal, then in place under the stripe's lock, then durable.  0 or
 * -errno with *cause; a failure after the first byte changed leaves the
 * journal (start-up applies it again) and the replica flagged corrupt.
 */
static int
patch_apply(struct dn *dn, struct patch *p, char **cause)
{
	struct patch_stripe	*s = patch_stripe(p->block);
	const char		*dir = dn_store_dir(dn->store);
	struct dn_block		 b, nb;
	bool			 renamed[2], touched = false;
	char			*tmpdir, *curdir, *jpath;
	int			 fds[2] = { -1, -1 }, rc;

	xasprintf(&tmpdir, "%s/tmp", dir);
	xasprintf(&curdir, "%s/current", dir);
	jpath = patch_journal_path(tmpdir, p);
	if ((rc = dn_store_patch_find(dn->store, p->block, p->old_gen, &b,
	    cause)) != 0 || (rc = patch_fits(p, &b, cause)) != 0 ||
	    (rc = dn_store_room(dn->store, DFS_MAX_PATCH + (p->new_len -
	    b.len) * 2, cause)) != 0 ||
	    (rc = patch_journal_write(tmpdir, p, cause)) != 0)
		goto out;
	patch_test_crash("journal");
	if (patch_test_refuse()) {
		log_warn("NPDFS_TEST_PATCH_CRASH=refuse: failing the PATCH of "
		    "block %" PRIu64 ", as a test asked", p->block);
		unlink(jpath);
		rc = -EIO;
		xasprintf(cause, "cannot patch block %" PRIu64 ": a test "
		    "asked this node to fail", p->block);
		goto out;
	}
	nb = b;
	nb.gen = p->new_gen;
	nb.len = p->new_len;
	pthread_rwlock_wrlock(&s->rw);
	s->epoch++;
	if ((rc = patch_open(curdir, p, fds, renamed)) == 0) {
		touched = true;
		if ((rc = patch_write(p, fds)) == 0)
			rc = patch_rename(curdir, p, renamed);
	}
	if (rc != 0 && touched) {
		/* Half changed: never served until start-up applies the
		 * journal again. */
		nb = b;
		nb.flags |= DFS_REPORT_CORRUPT;
	}
	if (rc == 0 || touched)
		dn_store_patched(dn->store, &b, &nb);
	pthread_rwlock_unlock(&s->rw);
	if (rc == 0) {
		patch_test_crash("apply");
		rc = patch_sync(fds, curdir);
	}
	if (rc != 0) {
		xasprintf(cause, "cannot patch block %" PRIu64 " in %s: %s",
		    p->block, curdir, strerror(-rc));
		if (touched)
			log_err("%s; its journal %s is kept for the next "
			    "start", *cause, jpath);
		else
			unlink(jpath);
		rc = rc == -ENOSPC || rc == -EDQUOT ? -ENOSPC : -EIO;
		goto out;
	}
	if (unlink(jpath) != 0)
		log_warn("cannot remove %s: %s", jpath, strerror(errno));
out:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(jpath);
	free(curdir);
	free(tmpdir);
	return rc;
}

/*
 * PATCH: token (WRITE, for the new generation, signed over the replica
 * set), block, old and new generation, chunk size, new length, the
 * replica set, the ranges.  Checked whole before a byte is touched;
 * applied (patch_apply); the namenode told (RECEIVED); OK.
 */
int
dn_patch_op_patch(struct dn_req *req, char **cause)
{
	struct dn		*dn = req->dn;
	struct patch		 p = { 0 };
	struct dfs_rbuf		 r;
	struct dfs_token	 tok;
	struct patch_stripe	*s;
	uint8_t			 targets[DFS_TOKEN_TARGETS_LEN] = { 0 };
	char			 addr[256];
	uint32_t		 nlocs;
	bool			 self = false;
	uint64_t		 bytes = 0;
	int			 rc;

	dfs_rbuf_init(&r, req->pl, req->h->len);
	dfs_proto_get_token(&r, &tok);
	p.block = dfs_get_u64(&r);
	p.old_gen = dfs_get_u64(&r);
	p.new_gen = dfs_get_u64(&r);
	p.chunk = dfs_get_u32(&r);
	p.new_len = dfs_get_u64(&r);
	nlocs = dfs_get_u32(&r);
	if (nlocs == 0 || nlocs > DFS_MAX_REPLICATION)
		r.err = -EBADMSG;
	for (uint32_t i = 0; i < nlocs && r.err == 0; i++) {
		dfs_get_strbuf(&r, addr, sizeof addr);
		dfs_token_targets_step(targets, addr);
		if (r.err == 0 && strcmp(addr, dn->advertise) == 0)
			self = true;
	}
	patch_get_ranges(&r, &p, false);
	if (dfs_rbuf_done(&r) != 0) {
		xasprintf(cause, "malformed PATCH request");
		rc = -EBADMSG;
		goto out;
	}
	if (dn_token_check(req, &tok, p.block, p.new_gen, DFS_TOKEN_WRITE,
	    targets, cause) == 0 && !self)
		xasprintf(cause, "PATCH of block %" PRIu64 " names replicas "
		    "that do not include this node (%s)", p.block,
		    dn->advertise);
	if (*cause != NULL) {
		log_warn("PATCH of block %" PRIu64 " from %s refused: %s",
		    p.block, req->peer, *cause);
		rc = -EACCES;
		goto out;
	}
	if ((rc = patch_check(&p, cause)) != 0)
		goto out;
	s = patch_stripe(p.block);
	atomic_fetch_add(&dn->xfers, 1);
	pthread_mutex_lock(&s->one);
	rc = patch_apply(dn, &p, cause);
	pthread_mutex_unlock(&s->one);
	atomic_fetch_sub(&dn->xfers, 1);
	if (rc != 0)
		goto out;
	for (uint32_t i = 0; i < p.n; i++)
		bytes += p.r[i].len;
	log_info("block %" PRIu64 ": generation %" PRIu64 " patched to %"
	    PRIu64 " for %s (%u range%s, %" PRIu64 " bytes; length %" PRIu64
	    " -> %" PRIu64 ")", p.block, p.old_gen, p.new_gen, req->peer,
	    p.n, p.n == 1 ? "" : "s", bytes, p.old_len, p.new_len);
	dn_nn_received(dn->nn, p.block, p.new_gen, p.new_len);
	dfs_wbuf_reset(req->out);
	dfs_frame_begin(req->out, DFS_MSG_OK, req->h->req_id);
	dfs_frame_end(req->out);
	rc = dn_server_send(req);
out:
	if (rc != 0 && rc != -EACCES && *cause != NULL)
		log_warn("PATCH of block %" PRIu64 " from %s refused: %s",
		    p.block, req->peer, *cause);
	free(p.r);
	return rc;
}

/*
 * The namenode's DELETE of a replica, kept out of a patch of the same
 * block: a patch that found the replica must not lose its files halfway
 * (a DELETE of the generation it replaces then finds the new one, and
 * leaves it).  dn_store_delete's result.
 */
int
dn_patch_delete(struct dn *dn, dfs_block_id id, uint64_t gen, char **cause)
{
	struct patch_stripe	*s = patch_stripe(id);
	int			 rc;

	pthread_mutex_lock(&s->one);
	rc = dn_store_delete(dn->store, id, gen, cause);
	pthread_mutex_unlock(&s->one);
	return rc;
}

/* Read a whole journal file of at most PATCH_MAX_JOURNAL bytes.  Caller
 * frees.  NULL with why when it cannot. */
static uint8_t *
patch_journal_read(int dfd, const char *name, size_t *lenp,
    const char **why)
{
	struct stat	 sb;
	uint8_t		*buf = NULL;
	int		 fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		*why = "cannot be opened";
		return NULL;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > PATCH_MAX_JOURNAL)
		*why = "not a regular file of a journal's size";
	else {
		buf = xmalloc((size_t)sb.st_size + 1);
		*lenp = (size_t)sb.st_size;
		if (dn_blkfile_pread(fd, buf, *lenp, 0) != 0) {
			*why = "cannot be read";
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	return buf;
}

/*
 * One journal found at start-up: applied again and finished when the
 * replica is under its old or its new generation, else (torn, or the
 * replica gone) discarded with the replica left as it is.  False when it
 * must stay (the apply failed: the next start tries again).
 */
static bool
patch_recover(const char *tmpdir, const char *curdir, int dfd,
    const char *name)
{
	struct patch	 p;
	uint8_t		*buf;
	const char	*why = NULL;
	char		*cause = NULL, canon[80];
	bool		 renamed[2], done = true;
	int		 fds[2] = { -1, -1 }, rc;
	size_t		 len = 0;

	memset(&p, 0, sizeof p);
	if ((buf = patch_journal_read(dfd, name, &len, &why)) == NULL) {
		log_warn("patch journal %s/%s %s: discarded", tmpdir, name,
		    why);
		return true;
	}
	if (patch_journal_decode(buf, len, &p, &cause) != 0) {
		log_warn("patch journal %s/%s is %s: discarded, the replica is "
		    "left as it was", tmpdir, name, cause);
		goto out;
	}
	snprintf(canon, sizeof canon, "blk_%" PRIu64 "_%" PRIu64 ".patch",
	    p.block, p.new_gen);
	if (strcmp(canon, name) != 0) {
		log_warn("patch journal %s/%s names block %" PRIu64 " "
		    "generation %" PRIu64 ": discarded", tmpdir, name, p.block,
		    p.new_gen);
		goto out;
	}
	if ((rc = patch_open(curdir, &p, fds, renamed)) != 0) {
		log_warn("patch journal %s/%s: block %" PRIu64 " is under "
		    "neither generation %" PRIu64 " nor %" PRIu64 " here: "
		    "discarded", tmpdir, name, p.block, p.old_gen, p.new_gen);
		goto out;
	}
	if ((rc = patch_write(&p, fds)) != 0 ||
	    (rc = patch_rename(curdir, &p, renamed)) != 0 ||
	    (rc = patch_sync(fds, curdir)) != 0) {
		log_err("patch journal %s/%s: cannot apply it to block %" PRIu64
		    ": %s; kept for the next start", tmpdir, name, p.block,
		    strerror(-rc));
		done = false;
		goto out;
	}
	log_info("patch journal %s/%s: block %" PRIu64 " was under generation "
	    "%" PRIu64 "%s: patch applied again, now generation %" PRIu64
	    " (%" PRIu64 " bytes)", tmpdir, name, p.block, renamed[0] &&
	    renamed[1] ? p.new_gen : p.old_gen, renamed[0] && renamed[1] ?
	    " already" : "", p.new_gen, p.new_len);
out:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(cause);
	free(p.r);
	free(buf);
	return done;
}

/* Whether a name in tmp/ is a patch journal's. */
static bool
patch_is_journal(const char *name)
{
	size_t	n = strlen(name);

	return n > 6 && strcmp(name + n - 6, ".patch") == 0;
}

/*
 * tmp/ at start-up, before the block table is built: patch journals are
 * applied or discarded (patch_recover), then everything else there goes:
 * writes a previous run never finished.
 */
void
dn_patch_startup(const char *tmpdir, const char *curdir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	for (int pass = 0; pass < 2; pass++) {
		if ((d = opendir(tmpdir)) == NULL)
			return;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0 ||
			    patch_is_journal(de->d_name) != (pass == 0))
				continue;
			if (pass == 0 && !patch_recover(tmpdir, curdir,
			    dirfd(d), de->d_name))
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				n += pass;
			else
				log_warn("cannot remove %s/%s: %s", tmpdir,
				    de->d_name, strerror(errno));
		}
		closedir(d);
	}
	if (n > 0)
		log_info("removed %d unfinished file%s from %s", n,
		    n == 1 ? "" : "s", tmpdir);
}
