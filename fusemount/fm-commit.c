/*
 * fm-commit.c: a dirty spool into the cluster at fsync, flush or close:
 * only its changed chunks, patched in place on the replicas of the blocks
 * they fall in, or else the whole file written again.
 *
 * Why it is built this way.  A file written at random is kept whole in a
 * private local spool (fm-file.c).  Writing the spool back as a new file
 * costs every byte of it, three times, per fsync; a program that changes
 * a few KiB between fsyncs (HDF5, SQLite, fio) waited on that (issue 13).
 * So the spool remembers where it came from (the base: the blocks, their
 * generations and lengths, as the reader that fetched it saw them) and
 * which chunks were written since (a bitmap by the client's chunk size),
 * and a commit sends only those chunks (lib/client-patch.c, DX_PATCH),
 * each block's under a new generation.
 *
 * The patch is taken only when it is the same file: the namenode still
 * shows exactly the base's blocks (one GET_BLOCKS per commit), and the
 * file keeps its size or grows inside its last block.  Anything else
 * (shrunk, a new block, a file changed elsewhere, changed chunks below
 * an array's elements or in the first DFS_NPY_MAX_HEADER bytes of a file
 * that starts as a .npy, where the header and so the namenode's array
 * metadata live, a patch the namenode refused) falls back
 * to the whole-file rewrite, which is always right.  So does a spool more
 * than half of which changed: a patch is journalled on every node, so
 * past that it costs more than the rewrite.  After either, the base is
 * the new version, so the next commit can patch again.
 *
 * A patch that every replica of a block failed (EIO, ENOSPC) is not
 * followed by a rewrite: the rewrite would replace the file first and,
 * going to the same failing disks, could leave it empty.  The error goes
 * to the application, the file keeps its committed bytes (each block's
 * patch is whole or nothing) and the spool stays dirty, so the next fsync
 * or close tries again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fm_i.h"
#include "log.h"
#include "npy.h"
#include "xmalloc.h"

/* Forget f's base: the next commit rewrites the file. */
void
fm_commit_forget(struct fm_file *f)
{
	free(f->base.blocks);
	free(f->base.dirty);
	memset(&f->base, 0, sizeof f->base);
}

/* The spool of f now holds what reader r read: remember its version. */
void
fm_commit_base(struct fm_file *f, struct dfs_reader *r)
{
	const struct dfs_attr	*a = dfs_reader_attr(r);
	const struct dfs_lblock	*lb;
	struct fm_base		*b = &f->base;
	uint32_t		 n;

	fm_commit_forget(f);
	lb = dfs_reader_blocks(r, &n);
	b->ino = a->ino;
	b->size = a->size;
	b->block_size = a->block_size;
	b->array = a->npy.valid;
	b->data_off = a->npy.valid ? a->npy.data_offset : 0;
	b->chunk = dfs_client_chunk_size(f->fm->client);
	b->nblocks = n;
	b->blocks = xcalloc(n > 0 ? n : 1, sizeof *b->blocks);
	for (uint32_t i = 0; i < n; i++) {
		b->blocks[i].id = lb[i].block;
		b->blocks[i].gen = lb[i].gen;
		b->blocks[i].off = lb[i].offset;
		b->blocks[i].len = lb[i].len;
	}
	b->valid = n > 0;
}

/* Chunks [off, off + len) of f's spool were written. */
void
fm_commit_mark(struct fm_file *f, uint64_t off, uint64_t len)
{
	struct fm_base	*b = &f->base;
	uint64_t	 first, last, need;

	if (!b->valid || len == 0)
		return;
	first = off / b->chunk;
	last = (off + len - 1) / b->chunk;
	if (last >= b->nbits) {
		need = (last / 8 + 1) * 2;
		b->dirty = xrealloc(b->dirty, need);
		memset(b->dirty + b->nbits / 8, 0, need - b->nbits / 8);
		b->nbits = need * 8;
	}
	for (uint64_t i = first; i <= last; i++)
		b->dirty[i / 8] |= (uint8_t)(1U << (i % 8));
}

/* f's spool went from length from to to: a shrink is for the rewrite;
 * a growth writes zeros. */
void
fm_commit_truncated(struct fm_file *f, uint64_t from, uint64_t to)
{
	if (to < f->base.size)
		fm_commit_forget(f);
	else if (to > from)
		fm_commit_mark(f, from, to - from);
}

static bool
fm_commit_dirty(const struct fm_base *b, uint64_t i)
{
	return i < b->nbits && (b->dirty[i / 8] & (1U << (i % 8))) != 0;
}

/* Whether the namenode still shows exactly the base's blocks of f. */
static bool
fm_commit_same(struct fm_file *f, const char *path)
{
	const struct fm_base	*b = &f->base;
	const struct dfs_lblock	*lb;
	struct dfs_reader	*r = NULL;
	char			*cause = NULL;
	uint32_t		 n;
	bool			 same;

	if (dfs_reader_open(f->fm->client, path, &r, &cause) != 0) {
		free(cause);
		return false;
	}
	lb = dfs_reader_blocks(r, &n);
	same = dfs_reader_attr(r)->ino == b->ino &&
	    dfs_reader_attr(r)->size == b->size && n == b->nblocks;
	for (uint32_t i = 0; same && i < n; i++)
		same = lb[i].block == b->blocks[i].id &&
		    lb[i].gen == b->blocks[i].gen &&
		    lb[i].offset == b->blocks[i].off &&
		    lb[i].len == b->blocks[i].len;
	dfs_reader_close(r);
	return same;
}

/*
 * Whether a change at off, in the first DFS_NPY_MAX_HEADER bytes of f,
 * may change what the namenode knows of it as an array: the bytes below
 * an array's elements, or any of a file that starts as a .npy does (its
 * metadata is made by a COMPLETE, which only the rewrite sends).
 */
static bool
fm_commit_header(struct fm_file *f, uint64_t off)
{
	static const uint8_t	magic[6] = "\x93NUMPY";
	uint8_t			head[sizeof magic];

	if (f->base.array)
		return off < f->base.data_off;
	return pread(f->spool_fd, head, sizeof head, 0) != sizeof head ||
	    memcmp(head, magic, sizeof magic) == 0;
}

/* Whether f's changes can go as a patch (before asking the namenode). */
static bool
fm_commit_patchable(struct fm_file *f)
{
	const struct fm_base		*b = &f->base;
	const struct fm_base_block	*last;
	uint64_t			 dirty = 0;

	if (!b->valid || f->size < b->size)
		return false;
	last = &b->blocks[b->nblocks - 1];
	if (f->size > b->size && (b->array || f->size > last->off +
	    b->block_size))
		return false;
	for (uint32_t i = 0; i < b->nblocks; i++)
		if (b->blocks[i].off % b->chunk != 0)
			return false;
	for (uint64_t i = 0; i < b->nbits; i++)
		if (fm_commit_dirty(b, i)) {
			if (i * b->chunk < DFS_NPY_MAX_HEADER &&
			    fm_commit_header(f, i * b->chunk))
				return false;
			dirty += b->chunk;
		}
	return dirty <= f->size / 2;
}

/* Patch block i of f's base with its dirty chunks from the spool. */
static int
fm_commit_block(struct fm_file *f, uint32_t i, const char *path)
{
	struct fm_base		*b = &f->base;
	struct fm_base_block	*bb = &b->blocks[i];
	struct dfs_patch_range	*r = NULL;
	uint8_t			*buf = NULL;
	uint64_t		 new_len, c0, nch, used = 0;
	size_t			 n = 0;
	uint64_t		 new_gen;
	unsigned		 nok;
	char			*cause = NULL;
	int			 rc = 0;

	new_len = i == b->nblocks - 1 ? f->size - bb->off : bb->len;
	if (new_len > bb->len)	/* the grown tail, from its old chunk */
		fm_commit_mark(f, bb->off + bb->len / b->chunk * b->chunk,
		    new_len - bb->len / b->chunk * b->chunk);
	c0 = bb->off / b->chunk;
	nch = (new_len + b->chunk - 1) / b->chunk;
	for (uint64_t k = 0; k < nch; k++)
		if (fm_commit_dirty(b, c0 + k))
			used += b->chunk;
	if (used == 0)
		goto out;
	buf = xmalloc(used);
	r = xcalloc(nch, sizeof *r);
	used = 0;
	for (uint64_t k = 0; k < nch; k++) {
		uint64_t o = k * b->chunk;
		uint32_t l = new_len - o < b->chunk ? (uint32_t)(new_len - o) :
		    b->chunk;
		ssize_t got;
		if (!fm_commit_dirty(b, c0 + k))
			continue;
		got = pread(f->spool_fd, buf + used, l, (off_t)(bb->off + o));
		if (got != (ssize_t)l) {
			log_err("reading the spool of %s: %s", path,
			    got < 0 ? strerror(errno) : "short file");
			rc = -EIO;
			goto out;
		}
		if (n > 0 && r[n - 1].off + r[n - 1].len == o &&
		    r[n - 1].len + l <= UINT32_MAX - b->chunk)
			r[n - 1].len += l;
		else {
			r[n].off = o;
			r[n].len = l;
			r[n].data = buf + used;
			n++;
		}
		used += l;
	}
	rc = dfs_client_patch(f->fm->client, b->ino, bb->id, bb->gen,
	    b->chunk, new_len, r, n, &new_gen, &nok, &cause);
	if (rc != 0) {
		log_warn("%s: patching block %llu failed (%s)%s", path,
		    (unsigned long long)bb->id, cause != NULL ? cause :
		    strerror(-rc), rc == -EREMOTEIO || rc == -ENOSPC ? "" :
		    "; writing the file again");
		goto out;
	}
	log_debug("%s: block %llu patched, %llu bytes in %zu ranges, "
	    "generation %llu on %u replicas", path, (unsigned long long)bb->id,
	    (unsigned long long)used, n, (unsigned long long)new_gen, nok);
	bb->gen = new_gen;
	bb->len = new_len;
out:
	free(cause);
	free(r);
	free(buf);
	return rc;
}

/* Commit f's changes as patches: 0 when done, else the caller rewrites
 * (the patches that went are whole, and the rewrite replaces them). */
static int
fm_commit_patch(struct fm_file *f, const char *path)
{
	struct fm_base	*b = &f->base;
	int		 rc;

	if (!fm_commit_patchable(f)) {
		log_debug("%s: written again whole (%s)", path, !b->valid ?
		    "no base" : "not a patch: shrunk, grown past its last "
		    "block, its header or half of it changed");
		return -EAGAIN;
	}
	if (!fm_commit_same(f, path)) {
		log_debug("%s: written again whole (changed on the namenode)",
		    path);
		return -EAGAIN;
	}
	for (uint32_t i = 0; i < b->nblocks; i++)
		if ((rc = fm_commit_block(f, i, path)) != 0)
			return rc;
	b->size = f->size;
	memset(b->dirty, 0, b->nbits / 8);
	return 0;
}

/* After a rewrite: the new version is the base, clean. */
static void
fm_commit_rebase(struct fm_file *f, const char *path)
{
	struct dfs_reader	*r = NULL;
	char			*cause = NULL;

	if (dfs_reader_open(f->fm->client, path, &r, &cause) == 0 &&
	    dfs_reader_attr(r)->size == f->size)
		fm_commit_base(f, r);
	else
		fm_commit_forget(f);
	dfs_reader_close(r);
	free(cause);
}

/* Write the spool back as the file's new contents, keeping its mode,
 * owner, replication and block size. */
static int
fm_commit_rewrite(struct fm_file *f)
{
	struct dfs_writer	*w = NULL;
	struct dfs_write_opts	 o;
	struct dfs_attr		 a;
	char			*path, *cause = NULL;
	uint8_t			*buf = NULL;
	uint64_t		 off;
	ssize_t			 n;
	dfs_ino			 ino = 0;	/* once rewriting it */
	int			 rc;

	if ((path = fm_file_pathdup(f)) == NULL) {
		f->dirty = false;
		fm_file_show(f);
		return 0;
	}
	rc = dfs_client_stat(f->fm->client, path, &a, &cause);
	if (rc == -ENOENT && f->have_attr) {
		free(cause);
		cause = NULL;
		a = f->attr;
		rc = 0;
	}
	if (rc != 0) {
		rc = fm_errno(rc, cause, "stat", path);
		goto out;
	}
	if (a.type != DFS_FT_FILE) {
		log_err("writing back %s: it is no longer a regular file",
		    path);
		rc = -EISDIR;
		goto out;
	}
	fm_file_opts(&a, &o);
	if ((rc = dfs_writer_open(f->fm->client, path, &o, &w,
	    &cause)) != 0) {
		rc = fm_errno(rc, cause, "create", path);
		goto out;
	}
	ino = dfs_writer_attr(w)->ino;
	buf = xmalloc(FM_IO_BUF);
	for (off = 0; off < f->size; off += (uint64_t)n) {
		size_t want = f->size - off < FM_IO_BUF ?
		    (size_t)(f->size - off) : FM_IO_BUF;
		if ((n = pread(f->spool_fd, buf, want, (off_t)off)) <= 0) {
			if (n < 0 && errno == EINTR) {
				n = 0;
				continue;
			}
			log_err("reading the spool of %s: %s", path,
			    n < 0 ? strerror(errno) : "short file");
			rc = -EIO;
			goto out;
		}
		if ((rc = dfs_writer_write(w, buf, (size_t)n, &cause)) != 0) {
			log_err("writing back %s: %s", path, cause);
			free(cause);
			rc = fm_file_write_errno(rc);
			goto out;
		}
	}
	rc = dfs_writer_close(w, &cause);
	w = NULL;
	if (rc != 0) {
		log_err("committing %s: %s", path, cause != NULL ? cause :
		    strerror(-rc));
		free(cause);
		rc = fm_file_write_errno(rc);
		goto out;
	}
	f->dirty = false;
	f->gen++;
	f->attr = a;
	f->attr.size = f->size;
	f->have_attr = true;
	fm_file_show(f);
out:
	dfs_writer_abort(w);
	/* The old contents went with the CREATE: leave the file empty, not
	 * holding part of the new. */
	if (rc != 0 && ino != 0)
		fm_file_discard(f, ino, path);
	free(buf);
	free(path);
	return rc;
}

/* Put f's dirty spool into the cluster: a patch of its changed chunks
 * when it can, else the whole file.  Hold f->lock. */
int
fm_commit_spool(struct fm_file *f)
{
	char	*path;
	int	 rc = 0;

	if ((path = fm_file_pathdup(f)) == NULL ||
	    (rc = fm_commit_patch(f, path)) != 0) {
		if (rc == -EREMOTEIO || rc == -ENOSPC) {
			/* Every replica failed it: not rewritten (above). */
			log_err("%s: no replica took the patch; the file keeps "
			    "its last committed bytes, the changes stay to "
			    "be tried again", path);
			free(path);
			return rc == -ENOSPC ? -ENOSPC : -EIO;
		}
		if ((rc = fm_commit_rewrite(f)) == 0 && path != NULL)
			fm_commit_rebase(f, path);
		free(path);
		return rc;
	}
	f->dirty = false;
	f->gen++;
	f->attr.size = f->size;
	f->have_attr = true;
	fm_file_show(f);
	free(path);
	return 0;
}
