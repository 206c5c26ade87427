/*
 * dn-blkfile.c: the files of one replica: the block's bytes and its
 * checksum sidecar, how they are written durably and read back verified.
 * dn-store.c decides which replicas exist; this file knows their format:
 *
 *   blk_<id>_<gen>       the block's bytes
 *   blk_<id>_<gen>.meta  a 24-byte header ("NPDM", u16 version 1, u16 0,
 *                        u32 chunk_size, u64 length, u32 CRC32C of those
 *                        20 bytes), then one u32 CRC32C per chunk, the
 *                        last chunk possibly short; all little-endian.
 *
 * A replica is written in the store's tmp/ directory and only renamed
 * into current/ once both files are complete and fsync'ed (data first,
 * then sidecar, then current/ is fsync'ed), so current/ never shows a
 * half-written replica.  The sidecar keeps the CRCs exactly as they came
 * in the write packets: a read serves them as stored, so a client checks
 * the very checksums its writer made, and the bytes are checked against
 * them here, in one pass over a reused buffer, before they leave.
 *
 * Chunk size.  The writer chooses it per block (a power of two from 512 B
 * to 1 MiB); datanode.chunk_size is the client default, 64 KiB.  Why 64
 * KiB, from the figures in MEASUREMENTS.md: CRC32C runs at 8 GB/s per
 * stream and 14-22 GB/s interleaved with SSE4.2, and our checksum code
 * keeps small chunks nearly as fast, so the chunk size hardly changes the
 * cost of verifying; what it changes is the overhead around it.  At 64
 * KiB the sidecar is 4 bytes per 64 KiB (0.006%, against 0.8% at 512 B)
 * and a 1 MiB packet carries 16 CRCs, not 2048; a small read must fetch
 * and verify one whole chunk, but 64 KiB is about 35 us on loopback TCP
 * (1.6-2.0 GB/s) and 3 us from the page cache, below one round trip.
 * Larger chunks would buy nothing more and make every small read pay for
 * up to a megabyte.
 *
 * Direct I/O (datanode.direct_io, on by default).  Block data is written
 * with O_DIRECT where the file system allows it: the bytes go from a
 * reused, aligned buffer to the disk, skipping the page cache.  On these
 * machines filling fresh page-cache pages is what a buffered write costs
 * (the VM hands out memory slowly on first touch): one writer of 1 GiB
 * spends 0.25-1.1 s of CPU, three at once (one per replica, as a put on
 * one machine has) 2.2-2.4 s each and 4.2 s in all, against 2.0 s for
 * three direct writers using 0.1 s of CPU; a put of 1 GiB with
 * replication 3 took 3.4-5.9 s buffered and 2.4-2.5 s direct.  The price
 * is that a read soon after the write finds nothing in the page cache and
 * waits for the disk; that read is made with O_DIRECT too (dn_rfile_
 * prefetch below), in windows of up to 4 MiB, so it runs at disk speed
 * without paying for page-cache fills either.  The durability rules do
 * not change: the replica is still fsync'ed (a direct write may sit in
 * the disk's volatile cache) and renamed only then.  Appends that are not
 * DN_DIO_ALIGN-aligned (the tail of a block, odd-sized packets) take the
 * buffered path, and the kernel keeps the two coherent; where the file
 * system refuses O_DIRECT (tmpfs) everything stays buffered.  A direct
 * write waits for the disk, so it runs on a thread of the replica's own,
 * one packet behind the receiver (two bounce buffers): the disk works
 * while the next packet crosses the network.  A disk error found there
 * fails the next append or the finish, before any ack that would need
 * it: the final ack follows dn_blkw_finish, which waits for every write.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum.h"
#include "log.h"
#include "xmalloc.h"

#include "dn_i.h"

/* A replica being written under tmp/. */
struct dn_blkw {
	struct dn_block	 b;		/* len grows with appends */
	const char	*where;		/* the data directory, for messages */
	const char	*tmpdir;	/* borrowed, like where */
	uint64_t	 seq;		/* in the temp file names */
	int		 data_fd;
	int		 dio_fd;	/* O_DIRECT on the data, or -1 */

	/* The direct writer thread and its queue of filled buffers, in
	 * file order: dio_n of them from dio_head.  The receiver fills a
	 * free buffer without the lock (the thread only touches queued
	 * ones). */
	pthread_t	 dio_thr;
	bool		 dio_started;
	pthread_mutex_t	 dio_lock;	/* guards the fields below */
	pthread_cond_t	 dio_cond;
	uint8_t		*dio_buf[2];	/* aligned bounce buffers */
	uint64_t	 dio_off[2];
	size_t		 dio_len[2];
	unsigned	 dio_head;
	unsigned	 dio_n;
	int		 dio_err;	/* first failure, -errno */
	bool		 dio_off_fs;	/* O_DIRECT refused: stay buffered */
	bool		 dio_stop;
	int		 meta_fd;
	char		*tmp_data;
	char		*tmp_meta;
	bool		 finished;	/* renamed into current/ */
};

/* A finalized replica opened for reading. */
struct dn_rfile {
	struct dn_block	 b;
	int		 data_fd;
	int		 meta_fd;
	char		*path;		/* of the data file */
	bool		 guarded;	/* reads exclude PATCH (dn-patch.c) */
	uint64_t	 epoch;		/* the patch epoch last seen */

	/* Direct reads (see dn_rfile_prefetch): [win_off, win_off +
	 * win_len) of the data is in win, read with O_DIRECT from dio_fd;
	 * reads below dio_end go this way. */
	int		 dio_fd;
	uint64_t	 dio_end;
	uint8_t		*win;		/* from the pool, or NULL */
	uint64_t	 win_off;
	size_t		 win_len;
};

/* Whether a writer's chunk size is one we store. */
bool
dn_blkfile_chunk_ok(uint32_t chunk_size)
{
	return chunk_size >= DFS_MIN_CHUNK && chunk_size <= DFS_MAX_CHUNK &&
	    (chunk_size & (chunk_size - 1)) == 0;
}

/* Chunks covering len bytes; the last may be short. */
static uint64_t
blkfile_nchunks(uint64_t len, uint32_t chunk)
{
	return (len + chunk - 1) / chunk;
}

/* DIR/blk_<id>_<gen>[.meta].  Caller frees. */
char *
dn_blkfile_path(const char *dir, dfs_block_id id, uint64_t gen, bool meta)
{
	char	*p;

	xasprintf(&p, "%s/blk_%" PRIu64 "_%" PRIu64 "%s", dir, id, gen,
	    meta ? ".meta" : "");
	return p;
}

/* Remove both files of a replica; a missing one is not an error. */
void
dn_blkfile_unlink(const char *dir, dfs_block_id id, uint64_t gen)
{
	char	*d = dn_blkfile_path(dir, id, gen, false);
	char	*m = dn_blkfile_path(dir, id, gen, true);

	if (unlink(d) != 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", d, strerror(errno));
	if (unlink(m) != 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", m, strerror(errno));
	free(d);
	free(m);
}

/* Parse "blk_<id>_<gen>" or "blk_<id>_<gen>.meta" in canonical form. */
bool
dn_blkfile_parse_name(const char *name, dfs_block_id *id, uint64_t *gen,
    bool *meta)
{
	char		 canon[64];
	char		*end;

	if (strncmp(name, "blk_", 4) != 0 || name[4] < '0' || name[4] > '9')
		return false;
	errno = 0;
	*id = strtoull(name + 4, &end, 10);
	if (errno != 0 || *end != '_' || end[1] < '0' || end[1] > '9')
		return false;
	*gen = strtoull(end + 1, &end, 10);
	if (errno != 0)
		return false;
	if (*end == '\0')
		*meta = false;
	else if (strcmp(end, ".meta") == 0)
		*meta = true;
	else
		return false;
	snprintf(canon, sizeof canon, "blk_%" PRIu64 "_%" PRIu64 "%s", *id,
	    *gen, *meta ? ".meta" : "");
	return strcmp(canon, name) == 0;
}

/* The 24-byte sidecar header, its own CRC last. */
void
dn_blkfile_hdr_encode(uint8_t *p, uint32_t chunk, uint64_t len)
{
	memcpy(p, DN_META_MAGIC, 4);
	p[4] = DN_META_VERSION;
	p[5] = 0;
	p[6] = 0;
	p[7] = 0;
	dfs_le32enc(p + 8, chunk);
	dfs_le64enc(p + 12, len);
	dfs_le32enc(p + 20, dfs_crc32c(0, p, 20));
}

/* Validate a sidecar header.  Returns a reason, or NULL when it is good. */
static const char *
blkfile_hdr_decode(const uint8_t *p, uint32_t *chunk, uint64_t *len)
{
	if (memcmp(p, DN_META_MAGIC, 4) != 0)
		return "sidecar has a bad magic";
	if (dfs_le32dec(p + 20) != dfs_crc32c(0, p, 20))
		return "sidecar header checksum mismatch";
	if (p[4] != DN_META_VERSION || p[5] != 0 || p[6] != 0 || p[7] != 0)
		return "sidecar version not supported";
	*chunk = dfs_le32dec(p + 8);
	*len = dfs_le64dec(p + 12);
	if (!dn_blkfile_chunk_ok(*chunk))
		return "sidecar has a bad chunk size";
	if (*len > DN_MAX_BLOCK_LEN)
		return "sidecar length is too large";
	return NULL;
}

#define DN_WRITE_BEHIND	(8U << 20)
#define DN_DIO_ALIGN	4096U		/* offset, length and memory */

/* pwrite all of buf: 0 or -errno. */
int
dn_blkfile_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* pread all of buf: 0, -EIO on a short file, or -errno. */
int
dn_blkfile_pread(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

/*
 * Check a finalized replica's files in dir without reading its data:
 * sidecar header, both sizes.  NULL if good (b filled in), else why not.
 */
const char *
dn_blkfile_check(const char *dir, dfs_block_id id, uint64_t gen,
    struct dn_block *b)
{
	char		*d = dn_blkfile_path(dir, id, gen, false);
	char		*m = dn_blkfile_path(dir, id, gen, true);
	uint8_t		 hdr[DN_META_HDR_LEN];
	struct stat	 sd, sm;
	const char	*why = NULL;
	int		 fd;

	b->id = id;
	b->gen = gen;
	b->flags = 0;
	if (stat(d, &sd) != 0 || !S_ISREG(sd.st_mode))
		why = "data file is not a regular file";
	else if ((fd = open(m, O_RDONLY | O_CLOEXEC)) < 0)
		why = "no sidecar";
	else {
		if (fstat(fd, &sm) != 0 || dn_blkfile_pread(fd, hdr, sizeof hdr,
		    0) != 0)
			why = "sidecar too short";
		else if ((why = blkfile_hdr_decode(hdr, &b->chunk_size,
		    &b->len)) != NULL)
			;
		else if ((uint64_t)sd.st_size != b->len)
			why = "data file size disagrees with its sidecar";
		else if ((uint64_t)sm.st_size != DN_META_HDR_LEN +
		    4 * blkfile_nchunks(b->len, b->chunk_size))
			why = "sidecar size disagrees with the block length";
		close(fd);
	}
	free(d);
	free(m);
	return why;
}

/* A failed disk write as an errno and a message. */
static int
blkfile_io_error(const struct dn_blkw *w, int rc, const char *what,
    char **cause)
{
	if (rc == -ENOSPC || rc == -EDQUOT) {
		if (cause != NULL)
			xasprintf(cause, "disk full in %s while writing block %"
			    PRIu64 " (%s)", w->where, w->b.id, what);
		return -ENOSPC;
	}
	if (cause != NULL)
		xasprintf(cause, "cannot write block %" PRIu64 " in %s (%s): "
		    "%s", w->b.id, w->where, what, strerror(-rc));
	return -EIO;
}

/*
 * Create the temp files of a new replica in tmpdir (seq makes their names
 * unique).  where (borrowed, must outlive w) names the data directory in
 * messages.  Caller frees with dn_blkw_free.
 */
int
dn_blkw_create(const char *tmpdir, const char *where, const struct dn_block *b,
    uint64_t seq, struct dn_blkw **wp, char **cause)
{
	struct dn_blkw	*w;
	uint8_t		 hdr[DN_META_HDR_LEN];
	int		 rc;

	w = xcalloc(1, sizeof *w);
	w->b = *b;
	w->b.len = 0;
	w->where = where;
	w->tmpdir = tmpdir;
	w->seq = seq;
	w->data_fd = w->dio_fd = w->meta_fd = -1;
	xasprintf(&w->tmp_data, "%s/blk_%" PRIu64 "_%" PRIu64 ".%" PRIu64,
	    tmpdir, b->id, b->gen, seq);
	xasprintf(&w->tmp_meta, "%s.meta", w->tmp_data);
	/* Only this node may read a replica (lib/private.c). */
	w->data_fd = open(w->tmp_data, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	if (w->data_fd >= 0)
		w->meta_fd = open(w->tmp_meta, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
	if (w->data_fd < 0 || w->meta_fd < 0) {
		rc = blkfile_io_error(w, -errno, "creating its files", cause);
		goto fail;
	}
	/* The real length is written at the end. */
	dn_blkfile_hdr_encode(hdr, b->chunk_size, 0);
	if ((rc = dn_blkfile_pwrite(w->meta_fd, hdr, sizeof hdr, 0)) != 0) {
		rc = blkfile_io_error(w, rc, "sidecar", cause);
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	dn_blkw_free(w);
	return rc;
}

/*
 * Write w's data with O_DIRECT from now on (datanode.direct_io).  Where
 * the file system refuses it (tmpfs, some FUSE) writes stay buffered.
 */
void
dn_blkw_direct(struct dn_blkw *w)
{
	if (w->dio_fd < 0 && !w->dio_started)
		w->dio_fd = open(w->tmp_data, O_WRONLY | O_DIRECT |
		    O_CLOEXEC);
}

/* The direct writer: writes queued buffers in order until told to stop. */
static void *
blkfile_dio_main(void *arg)
{
	struct dn_blkw	*w = arg;
	unsigned	 k;
	int		 rc;

	pthread_mutex_lock(&w->dio_lock);
	for (;;) {
		while (w->dio_n == 0 && !w->dio_stop)
			pthread_cond_wait(&w->dio_cond, &w->dio_lock);
		if (w->dio_n == 0)
			break;
		k = w->dio_head;
		pthread_mutex_unlock(&w->dio_lock);
		rc = dn_blkfile_pwrite(w->dio_fd, w->dio_buf[k], w->dio_len[k],
		    w->dio_off[k]);
		if (rc == -EINVAL) {
			/* Another alignment wanted: write it buffered. */
			rc = dn_blkfile_pwrite(w->data_fd, w->dio_buf[k],
			    w->dio_len[k], w->dio_off[k]);
			pthread_mutex_lock(&w->dio_lock);
			w->dio_off_fs = true;
			pthread_mutex_unlock(&w->dio_lock);
		}
		pthread_mutex_lock(&w->dio_lock);
		if (rc != 0 && w->dio_err == 0)
			w->dio_err = rc;
		w->dio_head = (k + 1) % 2;
		w->dio_n--;
		pthread_cond_broadcast(&w->dio_cond);
	}
	pthread_mutex_unlock(&w->dio_lock);
	return NULL;
}

/* Wait until every queued direct write is done: 0 or its -errno. */
static int
blkfile_dio_drain(struct dn_blkw *w)
{
	int	rc;

	if (!w->dio_started)
		return 0;
	pthread_mutex_lock(&w->dio_lock);
	while (w->dio_n > 0)
		pthread_cond_wait(&w->dio_cond, &w->dio_lock);
	rc = w->dio_err;
	pthread_mutex_unlock(&w->dio_lock);
	return rc;
}

/* Start the direct writer with its buffers.  False if it cannot run. */
static bool
blkfile_dio_start(struct dn_blkw *w)
{
	for (int i = 0; i < 2; i++)
		if (posix_memalign((void **)&w->dio_buf[i], DN_DIO_ALIGN,
		    DFS_MAX_PACKET) != 0)
			fatalx("out of memory");
	pthread_mutex_init(&w->dio_lock, NULL);
	pthread_cond_init(&w->dio_cond, NULL);
	if (pthread_create(&w->dio_thr, NULL, blkfile_dio_main, w) != 0) {
		pthread_mutex_destroy(&w->dio_lock);
		pthread_cond_destroy(&w->dio_cond);
		return false;
	}
	w->dio_started = true;
	return true;
}

/*
 * Queue the aligned head of [data, data+len), at most one packet, for a
 * direct write at the end of the data file.  Returns how many bytes it
 * took (0 when it cannot: unaligned, or direct I/O refused, after which
 * the replica stays buffered) or the -errno of an earlier direct write.
 */
static ssize_t
blkfile_append_direct(struct dn_blkw *w, const void *data, size_t len)
{
	size_t		n = len & ~(size_t)(DN_DIO_ALIGN - 1);
	unsigned	k;
	int		rc;

	if (n > DFS_MAX_PACKET)
		n = DFS_MAX_PACKET;
	if (w->dio_fd < 0 || n == 0 || w->b.len % DN_DIO_ALIGN != 0)
		return 0;
	if (!w->dio_started && !blkfile_dio_start(w)) {
		close(w->dio_fd);
		w->dio_fd = -1;
		return 0;
	}
	pthread_mutex_lock(&w->dio_lock);
	while (w->dio_n == 2)
		pthread_cond_wait(&w->dio_cond, &w->dio_lock);
	rc = w->dio_err;
	if (rc == 0 && w->dio_off_fs) {
		pthread_mutex_unlock(&w->dio_lock);
		if ((rc = blkfile_dio_drain(w)) != 0)
			return rc;
		close(w->dio_fd);
		w->dio_fd = -1;
		return 0;
	}
	k = (w->dio_head + w->dio_n) % 2;
	pthread_mutex_unlock(&w->dio_lock);
	if (rc != 0)
		return rc;
	memcpy(w->dio_buf[k], data, n);
	pthread_mutex_lock(&w->dio_lock);
	w->dio_off[k] = w->b.len;
	w->dio_len[k] = n;
	w->dio_n++;
	pthread_cond_broadcast(&w->dio_cond);
	pthread_mutex_unlock(&w->dio_lock);
	return (ssize_t)n;
}

/*
 * Append verified data and its CRCs (as received: little-endian u32, one
 * per chunk).  The caller keeps appends chunk-aligned.
 */
int
dn_blkw_append(struct dn_blkw *w, const void *data, size_t len,
    const uint8_t *crcs_le, char **cause)
{
	uint64_t	nch = blkfile_nchunks(len, w->b.chunk_size);
	uint64_t	ci = w->b.len / w->b.chunk_size;
	uint64_t	end = w->b.len + len, at = w->b.len;
	ssize_t		dn;
	int		rc;

	if (len == 0)
		return 0;
	if ((dn = blkfile_append_direct(w, data, len)) < 0)
		return blkfile_io_error(w, (int)dn, "data", cause);
	at += (uint64_t)dn;
	if (at < end) {
		/* Buffered, after the direct writes before it. */
		if ((rc = blkfile_dio_drain(w)) != 0 ||
		    (rc = dn_blkfile_pwrite(w->data_fd, (const uint8_t *)data +
		    dn, end - at, at)) != 0)
			return blkfile_io_error(w, rc, "data", cause);
	}
	if ((rc = dn_blkfile_pwrite(w->meta_fd, crcs_le, 4 * nch,
	    DN_META_HDR_LEN + 4 * ci)) != 0)
		return blkfile_io_error(w, rc, "checksums", cause);
	/*
	 * Buffered: start write-back of each full 8 MiB behind us, so the
	 * disk works while the network does and the fsync at the end of the
	 * block has little left to wait for.
	 */
	uint64_t mark = end & ~(uint64_t)(DN_WRITE_BEHIND - 1);
	if (w->dio_fd < 0 &&
	    mark > (w->b.len & ~(uint64_t)(DN_WRITE_BEHIND - 1)))
		(void)sync_file_range(w->data_fd, (off_t)(mark -
		    DN_WRITE_BEHIND), DN_WRITE_BEHIND, SYNC_FILE_RANGE_WRITE);
	w->b.len = end;
	return 0;
}

/*
 * Continue an unfinished replica as generation gen from offset bytes
 * (pipeline recovery): the data and the checksums past offset go, the
 * temp files take the new generation's names.  -EINVAL when offset is
 * not a chunk boundary this replica has reached.
 */
int
dn_blkw_resume(struct dn_blkw *w, uint64_t gen, uint64_t offset,
    char **cause)
{
	char	*d, *m;
	int	 rc = 0;

	if (offset > w->b.len || offset % w->b.chunk_size != 0) {
		if (cause != NULL)
			xasprintf(cause, "block %" PRIu64 ": cannot resume at "
			    "offset %" PRIu64 " (this node has %" PRIu64
			    " bytes in chunks of %u)", w->b.id, offset,
			    w->b.len, w->b.chunk_size);
		return -EINVAL;
	}
	if ((rc = blkfile_dio_drain(w)) != 0)
		return blkfile_io_error(w, rc, "data", cause);
	if (ftruncate(w->data_fd, (off_t)offset) != 0 ||
	    ftruncate(w->meta_fd, (off_t)(DN_META_HDR_LEN + 4 *
	    blkfile_nchunks(offset, w->b.chunk_size))) != 0)
		return blkfile_io_error(w, -errno, "truncating", cause);
	xasprintf(&d, "%s/blk_%" PRIu64 "_%" PRIu64 ".%" PRIu64, w->tmpdir,
	    w->b.id, gen, w->seq);
	xasprintf(&m, "%s.meta", d);
	if (rename(w->tmp_data, d) != 0) {
		rc = blkfile_io_error(w, -errno, "rename", cause);
		free(d);
		free(m);
		return rc;
	}
	free(w->tmp_data);
	w->tmp_data = d;
	if (rename(w->tmp_meta, m) != 0)
		rc = blkfile_io_error(w, -errno, "rename", cause);
	else {
		free(w->tmp_meta);
		w->tmp_meta = m;
		m = NULL;
	}
	free(m);
	w->b.gen = gen;
	w->b.len = offset;
	return rc;
}

/* The replica as written so far.  Borrowed. */
const struct dn_block *
dn_blkw_block(const struct dn_blkw *w)
{
	return &w->b;
}

/*
 * Make the replica durable and visible in curdir: final sidecar header,
 * fsync both files, rename data then sidecar, fsync curdir (cur_fd).  On
 * failure nothing of it is left in curdir.
 */
int
dn_blkw_finish(struct dn_blkw *w, const char *curdir, int cur_fd,
    char **cause)
{
	uint8_t	 hdr[DN_META_HDR_LEN];
	char	*d = dn_blkfile_path(curdir, w->b.id, w->b.gen, false);
	char	*m = dn_blkfile_path(curdir, w->b.id, w->b.gen, true);
	int	 rc;

	if ((rc = blkfile_dio_drain(w)) != 0) {
		rc = blkfile_io_error(w, rc, "data", cause);
		goto out;
	}
	dn_blkfile_hdr_encode(hdr, w->b.chunk_size, w->b.len);
	if ((rc = dn_blkfile_pwrite(w->meta_fd, hdr, sizeof hdr, 0)) != 0) {
		rc = blkfile_io_error(w, rc, "sidecar header", cause);
		goto out;
	}
	if (fsync(w->data_fd) != 0 || fsync(w->meta_fd) != 0) {
		rc = blkfile_io_error(w, -errno, "fsync", cause);
		goto out;
	}
	if (rename(w->tmp_data, d) != 0) {
		rc = blkfile_io_error(w, -errno, "rename", cause);
		goto out;
	}
	if (rename(w->tmp_meta, m) != 0) {
		rc = blkfile_io_error(w, -errno, "rename", cause);
		unlink(d);
		goto out;
	}
	if (fsync(cur_fd) != 0) {
		rc = blkfile_io_error(w, -errno, "fsync of current/", cause);
		unlink(d);
		unlink(m);
		goto out;
	}
	w->finished = true;
out:
	free(d);
	free(m);
	return rc;
}

/* Close a replica being written; unless finished, its files go. */
void
dn_blkw_free(struct dn_blkw *w)
{
	if (w == NULL)
		return;
	if (w->dio_started) {
		pthread_mutex_lock(&w->dio_lock);
		w->dio_stop = true;
		pthread_cond_broadcast(&w->dio_cond);
		pthread_mutex_unlock(&w->dio_lock);
		pthread_join(w->dio_thr, NULL);
		pthread_mutex_destroy(&w->dio_lock);
		pthread_cond_destroy(&w->dio_cond);
	}
	free(w->dio_buf[0]);
	free(w->dio_buf[1]);
	if (w->data_fd >= 0)
		close(w->data_fd);
	if (w->dio_fd >= 0)
		close(w->dio_fd);
	if (w->meta_fd >= 0)
		close(w->meta_fd);
	if (!w->finished) {
		if (unlink(w->tmp_data) != 0 && errno != ENOENT)
			log_warn("cannot remove %s: %s", w->tmp_data,
			    strerror(errno));
		if (unlink(w->tmp_meta) != 0 && errno != ENOENT)
			log_warn("cannot remove %s: %s", w->tmp_meta,
			    strerror(errno));
	}
	free(w->tmp_data);
	free(w->tmp_meta);
	free(w);
}

/*
 * Open the files of the finalized replica b in curdir.  -EIO when they
 * cannot be opened or the data file has the wrong size.  Caller frees
 * with dn_rfile_free.
 */
int
dn_rfile_open(const char *curdir, const struct dn_block *b,
    struct dn_rfile **rp, char **cause)
{
	struct dn_rfile	*r;
	struct stat	 sb;
	char		*d, *m;
	int		 rc = 0;

	r = xcalloc(1, sizeof *r);
	r->b = *b;
	r->dio_fd = -1;
	d = dn_blkfile_path(curdir, b->id, b->gen, false);
	m = dn_blkfile_path(curdir, b->id, b->gen, true);
	r->data_fd = open(d, O_RDONLY | O_CLOEXEC);
	r->meta_fd = open(m, O_RDONLY | O_CLOEXEC);
	if (r->data_fd < 0 || r->meta_fd < 0) {
		rc = -EIO;
		if (cause != NULL)
			xasprintf(cause, "cannot open replica of block %" PRIu64
			    ": %s", b->id, strerror(errno));
	} else if (fstat(r->data_fd, &sb) != 0 ||
	    (uint64_t)sb.st_size != b->len) {
		rc = -EIO;
		if (cause != NULL)
			xasprintf(cause, "replica of block %" PRIu64 " has the "
			    "wrong size (%" PRIu64 " bytes expected)", b->id,
			    b->len);
	}
	r->path = d;
	free(m);
	if (rc != 0) {
		dn_rfile_free(r);
		r = NULL;
	}
	*rp = r;
	return rc;
}

/* The replica's id, generation, length and chunk size.  Borrowed. */
const struct dn_block *
dn_rfile_block(const struct dn_rfile *r)
{
	return &r->b;
}

/*
 * Windows for direct reads: a few aligned buffers kept for the daemon's
 * life.  Fresh memory is slow to touch on these machines (MEASUREMENTS.md)
 * and the kernel pins the pages of every O_DIRECT read, so buffers are
 * reused rather than allocated per READ; at most DN_RWIN_KEEP stay idle.
 */
#define DN_RWIN_LEN	((4U << 20) + DN_DIO_ALIGN)
#define DN_RWIN_KEEP	8

/* The idle buffers, under rwin_lock. */
static pthread_mutex_t	 rwin_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t		*rwin_free[DN_RWIN_KEEP];
static unsigned		 rwin_nfree;

/* A window buffer of DN_RWIN_LEN bytes.  Give back with rwin_put. */
static uint8_t *
rwin_get(void)
{
	uint8_t	*p = NULL;

	pthread_mutex_lock(&rwin_lock);
	if (rwin_nfree > 0)
		p = rwin_free[--rwin_nfree];
	pthread_mutex_unlock(&rwin_lock);
	if (p == NULL && posix_memalign((void **)&p, DN_DIO_ALIGN,
	    DN_RWIN_LEN) != 0)
		fatalx("out of memory");
	return p;
}

/* Return a window buffer to the pool; NULL does nothing. */
static void
rwin_put(uint8_t *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&rwin_lock);
	if (rwin_nfree < DN_RWIN_KEEP) {
		rwin_free[rwin_nfree++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&rwin_lock);
	free(p);
}

/*
 * Copy [off, off + len) of the data into data through the window: when
 * the window does not hold it, read the next DN_RWIN_LEN bytes (as far
 * as dio_end) with one O_DIRECT pread from the page boundary at or below
 * off.  A file system that refuses the read leaves the replica to plain
 * preads.  0, -EIO on a short file, or -errno.
 */
static int
rfile_read_direct(struct dn_rfile *r, uint64_t off, size_t len, void *data)
{
	uint64_t	 start, end;
	ssize_t		 n;

	if (off < r->win_off || off + len > r->win_off + r->win_len) {
		start = off & ~(uint64_t)(DN_DIO_ALIGN - 1);
		end = r->dio_end;
		if (end - start > DN_RWIN_LEN)
			end = start + DN_RWIN_LEN;
		if (off + len > end)	/* more than a window at once */
			goto plain;
		end = (end + DN_DIO_ALIGN - 1) & ~(uint64_t)(DN_DIO_ALIGN - 1);
		if (r->win == NULL)
			r->win = rwin_get();
		r->win_len = 0;
		do
			n = pread(r->dio_fd, r->win, end - start, (off_t)start);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EINVAL)
			goto plain;
		if (n < 0)
			return -errno;
		/* Short only at the end of the file. */
		if ((uint64_t)n < off + len - start)
			return -EIO;
		r->win_off = start;
		r->win_len = (size_t)n;
	}
	memcpy(data, r->win + (off - r->win_off), len);
	return 0;
plain:
	r->dio_end = 0;
	return dn_blkfile_pread(r->data_fd, data, len, off);
}

/* dn_rfile_read's work, guarded by its caller. */
static int
rfile_read(struct dn_rfile *r, uint64_t off, size_t len, void *data,
    uint8_t *crcs_le, char **cause)
{
	uint32_t	 chunk = r->b.chunk_size;
	uint64_t	 nch = blkfile_nchunks(len, chunk);
	const uint8_t	*p = data;
	int		 rc;

	if (off % chunk != 0 || off > r->b.len || len > r->b.len - off ||
	    (len % chunk != 0 && off + len != r->b.len)) {
		if (cause != NULL)
			xasprintf(cause, "bad read range %" PRIu64 "+%zu of "
			    "block %" PRIu64, off, len, r->b.id);
		return -EINVAL;
	}
	if ((off + len <= r->dio_end ? (rc = rfile_read_direct(r, off, len,
	    data)) : (rc = dn_blkfile_pread(r->data_fd, data, len,
	    off))) != 0 || (rc = dn_blkfile_pread(r->meta_fd, crcs_le, 4 * nch,
	    DN_META_HDR_LEN + 4 * (off / chunk))) != 0) {
		if (cause != NULL)
			xasprintf(cause, "cannot read block %" PRIu64 " at "
			    "offset %" PRIu64 ": %s", r->b.id, off,
			    rc == -EIO ? "replica is truncated or unreadable" :
			    strerror(-rc));
		return -EIO;
	}
	for (uint64_t i = 0; i < nch; i++) {
		size_t n = len - i * chunk < chunk ? len - i * chunk : chunk;
		if (dfs_crc32c(0, p + i * chunk, n) !=
		    dfs_le32dec(crcs_le + 4 * i)) {
			if (cause != NULL)
				xasprintf(cause, "checksum error in block %"
				    PRIu64 " at offset %" PRIu64, r->b.id,
				    off + i * chunk);
			return -EBADMSG;
		}
	}
	return 0;
}

/*
 * Read len bytes from a chunk-aligned offset, and their stored CRCs
 * (little-endian, as on the wire), and check every chunk before the bytes
 * go anywhere.  A range must end on a chunk boundary or at the block's
 * end.  -EBADMSG "checksum error in block B at offset O" when a chunk does
 * not match, -EIO when the files cannot be read in full, -ESTALE when a
 * PATCH made it a newer generation since its open (dn-patch.c, which a
 * guarded replica's reads exclude).
 */
int
dn_rfile_read(struct dn_rfile *r, uint64_t off, size_t len, void *data,
    uint8_t *crcs_le, char **cause)
{
	struct stat	 a, b;
	uint64_t	 epoch;
	int		 rc;

	if (!r->guarded)
		return rfile_read(r, off, len, data, crcs_le, cause);
	dn_patch_rdlock(r->b.id);
	if ((epoch = dn_patch_epoch(r->b.id)) != r->epoch) {
		if (stat(r->path, &a) == 0 && fstat(r->data_fd, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			r->epoch = epoch;
		else {
			dn_patch_rdunlock(r->b.id);
			if (cause != NULL)
				xasprintf(cause, "block %" PRIu64 " generation "
				    "%" PRIu64 " was patched to a newer "
				    "generation while being read: read it "
				    "again", r->b.id, r->b.gen);
			return -ESTALE;
		}
	}
	rc = rfile_read(r, off, len, data, crcs_le, cause);
	dn_patch_rdunlock(r->b.id);
	return rc;
}

/* Have r's reads exclude patches; epoch as the guard showed at open. */
void
dn_rfile_guard(struct dn_rfile *r, uint64_t epoch)
{
	r->guarded = true;
	r->epoch = epoch;
}

/* The replica's data opened with O_DIRECT, or -1 where refused. */
static int
open_data_direct(const struct dn_rfile *r)
{
	return open(r->path, O_RDONLY | O_DIRECT | O_CLOEXEC);
}

#define DN_READ_AHEAD_HINT	(8U << 20)	/* see dn_rfile_prefetch */

/*
 * Say that [off, off+len) of the replica is about to be read, so the
 * disk works while earlier bytes are verified and sent.  Where the range
 * is in the page cache (a replica written buffered, or read lately) the
 * kernel is asked to read ahead (POSIX_FADV_WILLNEED).  Where it is not
 * (a replica written with direct I/O, a cold one), the bytes are read
 * with O_DIRECT in windows of up to 4 MiB instead: filling page-cache
 * pages costs more CPU here than the disk read itself, and whole-request
 * reads keep the disk at its best request size.  Only the range asked
 * for goes this way: dn-server.c adds DN_READ_AHEAD_HINT bytes after a
 * bulk request in the hope the reader goes on, which it often does on
 * another node, so reading them from disk would be wasted.  Advice only:
 * errors leave plain preads.
 */
void
dn_rfile_prefetch(struct dn_rfile *r, uint64_t off, uint64_t len)
{
	uint64_t	req = len;	/* the request, without the hint */
	uint8_t		probe[1];
	ssize_t		n;

	if (off >= r->b.len)
		return;
	if (len >= DFS_MAX_PACKET + DN_READ_AHEAD_HINT)
		req = len - DN_READ_AHEAD_HINT;
	if (len > r->b.len - off)
		len = r->b.len - off;
	if (req > len)
		req = len;
	n = preadv2(r->data_fd, &(struct iovec){ probe, 1 }, 1, (off_t)off,
	    RWF_NOWAIT);
	if (n < 0 && errno == EAGAIN) {
		if (r->dio_fd < 0)
			r->dio_fd = open_data_direct(r);
		if (r->dio_fd >= 0) {
			r->dio_end = off + req;
			log_debug("block %" PRIu64 ": direct reads of [%" PRIu64
			    ", %" PRIu64 ")", r->b.id, off, r->dio_end);
			return;
		}
	}
	(void)posix_fadvise(r->data_fd, (off_t)off, (off_t)len,
	    POSIX_FADV_WILLNEED);
}

/* Close a replica opened for reading; NULL does nothing. */
void
dn_rfile_free(struct dn_rfile *r)
{
	if (r == NULL)
		return;
	if (r->data_fd >= 0)
		close(r->data_fd);
	if (r->meta_fd >= 0)
		close(r->meta_fd);
	if (r->dio_fd >= 0)
		close(r->dio_fd);
	rwin_put(r->win);
	free(r->path);
	free(r);
}
