/*
 * nn-recover.c: lease recovery, the closing of files whose writer died.
 *
 * A writer renews its lease with every call (nn-write.c); a file whose
 * lease is older than namenode.lease_timeout lost its writer, and the
 * monitor recovers it, outside safe mode (until the block reports are in,
 * a finished replica may only look missing): its unfinished last block is
 * finished at the length most of its finalized replicas have, or dropped
 * if none was finalized, and the file is closed at the length of its
 * blocks, or removed if no block is left.
 *
 * The array metadata.  COMPLETE records a .npy's metadata from the header
 * its writer sends with it; a writer that died never sent one.  So the
 * monitor reads the file's first bytes back from a replica of its first
 * block, without the namenode lock (a data node that does not answer
 * costs NN_RECOVER_READ_MS at most, and nobody else waits for it), and
 * then keeps the metadata by COMPLETE's rule: only when it is true of the
 * bytes, that is when the header parses, its data fills the recovered
 * length exactly and every block starts on a whole element.  A writer
 * that died after its last byte (before or during COMPLETE) thus leaves
 * an array, as it meant to.  A shorter prefix is plain bytes: its own
 * header promises more data than it has, NumPy would refuse to load it,
 * and a shape cut to fit would describe bytes that are not in the file.
 * "dfs stat" then says "array: none", and the log says why.  Because the
 * lock is let go for the read, the lease is checked again before the file
 * is closed: a writer heard from meanwhile keeps its file.
 *
 * The temporaries of puts.  `dfs put` writes to a hidden temporary name
 * and renames it onto the user's name only once the file is complete
 * (lib/client-put.c), so that a failed put leaves nothing under that
 * name.  Closing such a temporary at a prefix would keep bytes nobody
 * asked for, under a name nobody chose; CREATE records it as one
 * (DFS_CREATE_PUT_TEMP, the put_temps table) and recovery removes it
 * instead, whatever its blocks, without guessing from its name.  A put
 * that died between COMPLETE and its rename leaves a complete temporary
 * with no lease to expire: the first pass that sees it closed stamps it,
 * and the pass lease_timeout later removes it (a live writer renames
 * within milliseconds of COMPLETE; one that comes back later finds its
 * temporary gone and fails, leaving again nothing).  A temporary given
 * another name meanwhile (a hard link, a rename) was adopted: it is
 * recovered like any file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "nn_i.h"
#include "npy.h"
#include "token.h"
#include "xmalloc.h"

/* Where to read a file's header from: a good replica of its first block,
 * with a token to read it. */
struct nn_recover_src {
	char			addr[256];
	uint64_t		len;		/* bytes to read */
	dfs_block_id		block;
	uint64_t		gen;
	struct dfs_token	token;
};

/* The blocks of file ino in order.  Caller frees *bp. */
static int
nn_recover_blocks(struct nn *nn, dfs_ino ino, struct nn_block **bp,
    size_t *np)
{
	sqlite3_stmt	*st;
	size_t		 cap = 0;
	int		 rc;

	*bp = NULL;
	*np = 0;
	st = nn_db_sql(nn, "SELECT id, idx, gen, offset, length, complete "
	    "FROM blocks WHERE ino = ? ORDER BY idx", "i", (int64_t)ino);
	while ((rc = nn_db_step(nn, st)) == 1) {
		if (*np == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			*bp = xrealloc(*bp, cap * sizeof **bp);
		}
		nn_blockmap_row(st, &(*bp)[(*np)++]);
	}
	return rc;
}

/* A source for the header of file ino: -ENOENT when its first block has
 * no good replica (then it has no header to read). */
static int
nn_recover_source(struct nn *nn, dfs_ino ino, struct nn_recover_src *src)
{
	static const char sql[] =
	    "SELECT b.id, b.gen, r.len, d.addr FROM blocks b "
	    "JOIN live.replicas r ON r.block = b.id AND r.gen = b.gen "
	    "JOIN live.nodes n ON n.id = r.node "
	    "JOIN datanodes d ON d.id = r.node "
	    "WHERE b.ino = ? AND b.idx = 0 AND r.corrupt = 0 AND n.state = 1 "
	    "ORDER BY r.len DESC LIMIT 1";
	sqlite3_stmt	*st;
	const char	*addr;
	int		 rc;

	memset(src, 0, sizeof *src);
	st = nn_db_sql(nn, sql, "i", (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	src->block = (dfs_block_id)sqlite3_column_int64(st, 0);
	src->gen = (uint64_t)sqlite3_column_int64(st, 1);
	src->len = (uint64_t)sqlite3_column_int64(st, 2);
	addr = (const char *)sqlite3_column_text(st, 3);
	snprintf(src->addr, sizeof src->addr, "%s", addr != NULL ? addr : "");
	nn_db_reset(st);
	if (src->len > NN_MAX_NPY_HEADER)
		src->len = NN_MAX_NPY_HEADER;
	nn_keys_sign(nn, &src->token, src->block, src->gen, DFS_TOKEN_READ,
	    0, NULL, time(NULL));
	return 0;
}

/*
 * Read src->len bytes from the start of the replica src names into buf
 * (NN_MAX_NPY_HEADER bytes), checking every chunk; *got is how many
 * arrived.  Takes no lock: the caller has let it go.
 */
static int
nn_recover_read(struct nn *nn, const struct nn_recover_src *src, uint8_t *buf,
    size_t *got, char **cause)
{
	struct dfs_frame_hdr	 h;
	struct dfs_wbuf		 out, in;
	struct dfs_rbuf		 rb;
	struct dfs_sock		*s = NULL;
	int			 rc;

	*got = 0;
	dfs_wbuf_init(&out);
	dfs_wbuf_init(&in);
	if ((rc = dfs_sock_connect(nn->tls, src->addr, DFS_ROLE_DATANODE,
	    NN_RECOVER_READ_MS, &s, cause)) != 0)
		goto out;
	dfs_frame_begin(&out, DFS_DX_READ, 1);
	dfs_proto_put_token(&out, &src->token);
	dfs_put_u64(&out, src->block);
	dfs_put_u64(&out, src->gen);
	dfs_put_u64(&out, 0);
	dfs_put_u64(&out, src->len);
	dfs_frame_end(&out);
	if ((rc = dfs_net_send(s, &out, NN_RECOVER_READ_MS)) != 0)
		goto out;
	for (;;) {
		struct dfs_data	 d;
		uint64_t	 bad;

		if ((rc = dfs_net_recv_frame(s, &h, &in, NN_RECOVER_READ_MS,
		    cause)) != 0)
			goto out;
		dfs_rbuf_init(&rb, in.data, h.len);
		if (h.type == DFS_MSG_ERROR) {
			rc = dfs_get_i32(&rb);
			rc = rc < 0 && rc >= -4095 ? rc : -EIO;
			goto out;
		}
		if (h.type != DFS_DX_DATA || dfs_proto_get_data(&rb, &d) != 0) {
			rc = -EPROTO;
			goto out;
		}
		if (d.len == 0)
			break;
		if ((rc = dfs_proto_check_data(&d, &bad)) != 0)
			goto out;
		/* Keep what continues [0, *got) and was asked for. */
		if (d.off <= *got && d.off + d.len > *got && *got < src->len) {
			size_t n = d.off + d.len < src->len ?
			    d.off + d.len - *got : src->len - *got;
			memcpy(buf + *got, d.data + (*got - d.off), n);
			*got += n;
		}
	}
out:
	dfs_sock_close(s);
	dfs_wbuf_release(&out);
	dfs_wbuf_release(&in);
	return rc;
}

/* The first name of inode ino (*parent and *name, which the caller frees)
 * and how many names it has. */
static int
nn_recover_name(struct nn *nn, dfs_ino ino, dfs_ino *parent, char **name,
    int64_t *names)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = nn_db_sql(nn, "SELECT parent, name, (SELECT count(*) FROM "
	    "dirents e WHERE e.ino = d.ino) FROM dirents d WHERE d.ino = ? "
	    "LIMIT 1", "i", (int64_t)ino);
	if ((rc = nn_db_step(nn, st)) != 1)
		return rc == 0 ? -ENOENT : rc;
	*parent = (dfs_ino)sqlite3_column_int64(st, 0);
	*name = xstrdup((const char *)sqlite3_column_text(st, 1));
	*names = sqlite3_column_int64(st, 2);
	nn_db_reset(st);
	return 0;
}

/* Whether file ino is the temporary name of a put (nn_meta_put_temp). */
static bool
nn_recover_is_temp(struct nn *nn, dfs_ino ino)
{
	int64_t	one;

	return nn_db_i64(nn, &one, "SELECT 1 FROM put_temps WHERE ino = ?",
	    "i", (int64_t)ino) == 0;
}

/*
 * Remove put temporary ino, whose writer is gone (why says how we know),
 * inside a transaction: its name and, with it, its inode and blocks.  One
 * with other names was adopted: it stays, no longer a temporary, and
 * *removed is false.
 */
static int
nn_recover_drop_temp(struct nn *nn, dfs_ino ino, const char *why,
    bool *removed)
{
	dfs_ino	 parent;
	char	*name, *path;
	int64_t	 names;
	int	 rc;

	*removed = false;
	if ((rc = nn_recover_name(nn, ino, &parent, &name, &names)) != 0)
		return rc;
	path = nn_path_of(nn, ino);
	if (names > 1) {
		log_info("lease recovery: %s (inode %llu) was a put's "
		    "temporary, but has %lld names now: kept as a file",
		    path != NULL ? path : name, (unsigned long long)ino,
		    (long long)names);
		rc = nn_db_exec(nn, "DELETE FROM put_temps WHERE ino = ?", "i",
		    (int64_t)ino);
	} else if ((rc = nn_meta_unlink(nn, parent, name, ino,
	    DFS_FT_FILE)) == 0) {
		log_info("lease recovery: removed %s (inode %llu), the "
		    "temporary of a put whose writer is gone (%s)",
		    path != NULL ? path : name, (unsigned long long)ino, why);
		*removed = true;
	}
	free(path);
	free(name);
	return rc;
}

/*
 * Recover file ino, whose writer's lease expired before cutoff_ms, inside
 * a transaction; header (its first header_len bytes as read back, maybe
 * none) decides its array metadata.  Nothing happens when the file was
 * closed or its lease renewed meanwhile.
 */
static int
nn_recover_file(struct nn *nn, dfs_ino ino, int64_t cutoff_ms,
    const void *header, size_t header_len)
{
	static const char sql_len[] =
	    "SELECT r.len, count(*) AS c FROM live.replicas r JOIN live.nodes n "
	    "ON n.id = r.node WHERE r.block = ?1 AND r.gen = ?2 AND "
	    "r.corrupt = 0 AND n.state = 1 GROUP BY r.len "
	    "ORDER BY c DESC, r.len DESC LIMIT 1";
	struct dfs_npy_header	 h;
	struct nn_block		*blocks = NULL, *b;
	int64_t			 len, names, expired;
	dfs_ino			 parent;
	char			*name;
	uint64_t		 size = 0;
	size_t			 nblocks;
	bool			 valid, removed;
	int			 rc;

	if ((rc = nn_db_i64(nn, &expired, "SELECT count(*) FROM inodes i "
	    "WHERE i.id = ?1 AND i.under_construction = 1 AND i.lease_ms < ?2 "
	    "AND NOT EXISTS (SELECT 1 FROM live.leases l WHERE l.ino = i.id "
	    "AND l.renewed_ms >= ?2)", "ii", (int64_t)ino, cutoff_ms)) != 0 ||
	    expired == 0)
		return rc;
	if (nn_recover_is_temp(nn, ino) &&
	    ((rc = nn_recover_drop_temp(nn, ino, "its lease expired",
	    &removed)) != 0 || removed))
		return rc;
	if ((rc = nn_recover_blocks(nn, ino, &blocks, &nblocks)) != 0)
		goto out;
	if (nblocks > 0 && !(b = &blocks[nblocks - 1])->complete) {
		rc = nn_db_i64(nn, &len, sql_len, "ii", (int64_t)b->id,
		    (int64_t)b->gen);
		if (rc == -ENOENT) {
			log_info("lease recovery of inode %llu: block %llu "
			    "has no finalized replica; dropped",
			    (unsigned long long)ino,
			    (unsigned long long)b->id);
			if ((rc = nn_blockmap_drop_block(nn, b->id,
			    b->gen)) != 0)
				goto out;
			nblocks--;
		} else if (rc != 0)
			goto out;
		else {
			b->len = (uint64_t)len;
			b->complete = true;
			log_info("lease recovery of inode %llu: block %llu "
			    "finished at %lld bytes", (unsigned long long)ino,
			    (unsigned long long)b->id, (long long)len);
			if ((rc = nn_db_exec(nn, "UPDATE blocks SET length = ?2,"
			    " complete = 1 WHERE id = ?1", "ii",
			    (int64_t)b->id, len)) != 0 ||
			    (rc = nn_write_drop_stale(nn, b)) != 0)
				goto out;
		}
	}
	for (size_t i = 0; i < nblocks; i++)
		size += blocks[i].len;
	if (nblocks > 0) {
		valid = nn_write_npy_fits(ino, header, header_len, size,
		    blocks, nblocks, &h);
		if (!valid && header_len > 0 &&
		    dfs_npy_parse(header, header_len, &h, NULL, NULL) == 0 &&
		    h.data_offset + h.data_bytes != size)
			log_info("lease recovery of inode %llu: plain bytes "
			    "now: its .npy header promises %llu bytes of "
			    "data, %llu were written",
			    (unsigned long long)ino,
			    (unsigned long long)h.data_bytes,
			    (unsigned long long)(size > h.data_offset ?
			    size - h.data_offset : 0));
		rc = nn_write_close(nn, ino, size, valid ? &h : NULL);
		if (rc == 0)
			log_info("lease recovery: closed inode %llu at %llu "
			    "bytes in %zu block%s%s", (unsigned long long)ino,
			    (unsigned long long)size, nblocks,
			    nblocks == 1 ? "" : "s", valid ?
			    ", an array" : "");
		goto out;
	}
	/* No data: the file goes, unless it has other names (hard links
	 * made while it was written), which keep it as an empty file. */
	if ((rc = nn_recover_name(nn, ino, &parent, &name, &names)) != 0)
		goto out;
	if (names > 1)
		rc = nn_write_close(nn, ino, 0, NULL);
	else
		rc = nn_meta_unlink(nn, parent, name, ino, DFS_FT_FILE);
	if (rc == 0)
		log_info("lease recovery: %s inode %llu, which had no "
		    "finished data", names > 1 ? "emptied" : "removed",
		    (unsigned long long)ino);
	free(name);
out:
	free(blocks);
	return rc;
}

/*
 * Complete temporaries of puts that were never renamed (see the essay
 * above): stamp those seen closed for the first time with now_ms, and
 * remove those stamped before cutoff_ms, up to NN_RECOVER_MAX of each.
 */
static void
nn_recover_closed_temps(struct nn *nn, int64_t now_ms, int64_t cutoff_ms)
{
	static const char sql[] =
	    "SELECT p.ino, p.closed_ms IS NULL FROM put_temps p "
	    "JOIN inodes i ON i.id = p.ino WHERE i.under_construction = 0 "
	    "AND (p.closed_ms IS NULL OR p.closed_ms < ?) LIMIT ?";
	sqlite3_stmt	*st;
	int64_t		 ids[NN_RECOVER_MAX];
	bool		 fresh[NN_RECOVER_MAX], removed;
	int		 n = 0, rc = 0;

	st = nn_db_sql(nn, sql, "ii", cutoff_ms, (int64_t)NN_RECOVER_MAX);
	while (n < NN_RECOVER_MAX && nn_db_step(nn, st) == 1) {
		ids[n] = sqlite3_column_int64(st, 0);
		fresh[n++] = sqlite3_column_int(st, 1) != 0;
	}
	nn_db_reset(st);
	if (n == 0 || nn_db_begin(nn) != 0)
		return;
	for (int i = 0; rc == 0 && i < n; i++) {
		if (fresh[i])
			rc = nn_db_exec(nn, "UPDATE put_temps SET "
			    "closed_ms = ?2 WHERE ino = ?1", "ii", ids[i],
			    now_ms);
		else
			rc = nn_recover_drop_temp(nn, (dfs_ino)ids[i],
			    "complete but never renamed", &removed);
	}
	if ((rc = nn_db_end(nn, rc)) != 0)
		log_warn("lease recovery of put temporaries failed: %s",
		    strerror(-rc));
}

/* A writer renewed file ino's lease (live.leases, not the namespace). */
int
nn_recover_renew(struct nn *nn, dfs_ino ino)
{
	return nn_db_exec(nn, "INSERT OR REPLACE INTO live.leases(ino, "
	    "renewed_ms) VALUES (?, ?)", "ii", (int64_t)ino,
	    nn_wall_ns() / 1000000);
}

/*
 * Every file being written gets a full lease period from now: renewals
 * are volatile, so a namenode that starts, or a group member that takes
 * the lead, does not know when each writer last renewed, and must not
 * take a live writer's file for a dead one's.
 */
int
nn_recover_grant(struct nn *nn)
{
	return nn_db_exec(nn, "INSERT OR REPLACE INTO live.leases(ino, "
	    "renewed_ms) SELECT id, ? FROM inodes WHERE under_construction = 1",
	    "i", nn_wall_ns() / 1000000);
}

/*
 * Recover up to NN_RECOVER_MAX files whose writer's lease expired, and
 * the put temporaries nobody renamed.  The monitor calls this once a
 * second, outside safe mode, with the lock held; it lets the lock go
 * while it reads a header back.
 */
void
nn_recover_leases(struct nn *nn)
{
	static const char sql[] =
	    "SELECT i.id FROM inodes i WHERE i.under_construction = 1 AND "
	    "i.lease_ms < ?1 AND i.type = 1 AND NOT EXISTS (SELECT 1 FROM "
	    "live.leases l WHERE l.ino = i.id AND l.renewed_ms >= ?1) "
	    "ORDER BY i.lease_ms LIMIT ?2";
	struct nn_recover_src	 src;
	sqlite3_stmt		*st;
	int64_t			 ids[NN_RECOVER_MAX], cutoff;
	uint8_t			*head;
	size_t			 got;
	char			*cause;
	int			 n = 0, rc;

	cutoff = nn_wall_ns() / 1000000 - nn->lease_timeout_ms;
	/* Renewals of files no longer written. */
	if (nn_db_exec(nn, "DELETE FROM live.leases WHERE ino NOT IN "
	    "(SELECT id FROM inodes WHERE under_construction = 1)", "") != 0)
		log_warn("lease recovery: cannot forget closed files' leases");
	nn_recover_closed_temps(nn, cutoff + nn->lease_timeout_ms, cutoff);
	st = nn_db_sql(nn, sql, "ii", cutoff, (int64_t)NN_RECOVER_MAX);
	while (n < NN_RECOVER_MAX && nn_db_step(nn, st) == 1)
		ids[n++] = sqlite3_column_int64(st, 0);
	nn_db_reset(st);
	if (n == 0)
		return;
	head = xmalloc(NN_MAX_NPY_HEADER);
	for (int i = 0; i < n; i++) {
		got = 0;
		/* A put's temporary is removed, whatever its header. */
		if (!nn_recover_is_temp(nn, (dfs_ino)ids[i]) &&
		    nn_recover_source(nn, (dfs_ino)ids[i], &src) == 0) {
			cause = NULL;
			pthread_mutex_unlock(&nn->lock);
			rc = nn_recover_read(nn, &src, head, &got, &cause);
			pthread_mutex_lock(&nn->lock);
			if (rc != 0) {
				log_info("lease recovery of inode %lld: "
				    "cannot read its first bytes from %s "
				    "(%s); it will be plain bytes",
				    (long long)ids[i], src.addr,
				    cause != NULL ? cause : strerror(-rc));
				got = 0;
			}
			free(cause);
			if (atomic_load(&nn->stopping))
				break;
		}
		if ((rc = nn_db_begin(nn)) != 0)
			break;
		rc = nn_recover_file(nn, (dfs_ino)ids[i], cutoff, head, got);
		if ((rc = nn_db_end(nn, rc)) != 0)
			log_warn("lease recovery of inode %lld failed: %s",
			    (long long)ids[i], strerror(-rc));
	}
	free(head);
}
