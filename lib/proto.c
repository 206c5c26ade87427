/*
 * proto.c: encoders and bounded decoders for the records that several
 * messages share (attributes, array metadata, tokens, block locations).
 * Decoders never trust a count: each is checked against its bound before
 * anything is read or stored, and errors are left in the reader.
 */
#include <errno.h>
#include <string.h>

#include "checksum.h"
#include "proto.h"

void
dfs_proto_put_npy(struct dfs_wbuf *b, const struct dfs_npy_meta *m)
{
	dfs_put_u8(b, m->valid);
	if (!m->valid)
		return;
	dfs_put_str(b, m->descr);
	dfs_put_u8(b, m->fortran_order);
	dfs_put_u8(b, m->ndim);
	for (unsigned i = 0; i < m->ndim; i++)
		dfs_put_u64(b, m->shape[i]);
	dfs_put_u64(b, m->data_offset);
	dfs_put_u32(b, m->itemsize);
	dfs_put_u64(b, m->header_len);
}

void
dfs_proto_get_npy(struct dfs_rbuf *r, struct dfs_npy_meta *m)
{
	memset(m, 0, sizeof *m);
	m->valid = dfs_get_u8(r) != 0;
	if (!m->valid)
		return;
	dfs_get_strbuf(r, m->descr, sizeof m->descr);
	m->fortran_order = dfs_get_u8(r) != 0;
	m->ndim = dfs_get_u8(r);
	if (m->ndim > 64) {
		r->err = -EBADMSG;
		m->ndim = 0;
		return;
	}
	for (unsigned i = 0; i < m->ndim; i++)
		m->shape[i] = dfs_get_u64(r);
	m->data_offset = dfs_get_u64(r);
	m->itemsize = dfs_get_u32(r);
	m->header_len = dfs_get_u64(r);
	if (m->itemsize == 0 || m->itemsize > 16)
		r->err = -EBADMSG;
}

void
dfs_proto_put_attr(struct dfs_wbuf *b, const struct dfs_attr *a)
{
	dfs_put_u64(b, a->ino);
	dfs_put_u8(b, a->type);
	dfs_put_u32(b, a->mode);
	dfs_put_u32(b, a->uid);
	dfs_put_u32(b, a->gid);
	dfs_put_u64(b, a->size);
	dfs_put_i64(b, a->mtime_ns);
	dfs_put_i64(b, a->atime_ns);
	dfs_put_i64(b, a->ctime_ns);
	dfs_put_u32(b, a->nlink);
	dfs_put_u16(b, a->replication);
	dfs_put_u64(b, a->type == DFS_FT_CHR || a->type == DFS_FT_BLK ?
	    a->rdev : a->block_size);
	dfs_put_u8(b, a->under_construction);
	dfs_put_u32(b, a->nblocks);
	dfs_proto_put_npy(b, &a->npy);
}

void
dfs_proto_get_attr(struct dfs_rbuf *r, struct dfs_attr *a)
{
	a->ino = dfs_get_u64(r);
	a->type = dfs_get_u8(r);
	a->mode = dfs_get_u32(r);
	a->uid = dfs_get_u32(r);
	a->gid = dfs_get_u32(r);
	a->size = dfs_get_u64(r);
	a->mtime_ns = dfs_get_i64(r);
	a->atime_ns = dfs_get_i64(r);
	a->ctime_ns = dfs_get_i64(r);
	a->nlink = dfs_get_u32(r);
	a->replication = dfs_get_u16(r);
	a->block_size = dfs_get_u64(r);
	a->under_construction = dfs_get_u8(r);
	a->nblocks = dfs_get_u32(r);
	dfs_proto_get_npy(r, &a->npy);
	a->rdev = 0;
	if (a->type == DFS_FT_CHR || a->type == DFS_FT_BLK) {
		a->rdev = a->block_size;
		a->block_size = 0;
	}
	if (a->type < DFS_FT_FILE || a->type > DFS_FT_BLK)
		r->err = -EBADMSG;
}

void
dfs_proto_put_token(struct dfs_wbuf *b, const struct dfs_token *t)
{
	dfs_put_u64(b, t->block);
	dfs_put_u64(b, t->gen);
	dfs_put_u8(b, t->mode);
	dfs_put_u64(b, t->expiry);
	dfs_put_u32(b, t->key_id);
	dfs_put_u32(b, t->uid);
	dfs_put_raw(b, t->mac, sizeof t->mac);
}

void
dfs_proto_get_token(struct dfs_rbuf *r, struct dfs_token *t)
{
	const void	*mac;

	t->block = dfs_get_u64(r);
	t->gen = dfs_get_u64(r);
	t->mode = dfs_get_u8(r);
	t->expiry = dfs_get_u64(r);
	t->key_id = dfs_get_u32(r);
	t->uid = dfs_get_u32(r);
	if ((mac = dfs_get_raw(r, sizeof t->mac)) != NULL)
		memcpy(t->mac, mac, sizeof t->mac);
	else
		memset(t->mac, 0, sizeof t->mac);
}

void
dfs_proto_put_lblock(struct dfs_wbuf *b, const struct dfs_lblock *l)
{
	dfs_put_u64(b, l->block);
	dfs_put_u64(b, l->gen);
	dfs_put_u64(b, l->offset);
	dfs_put_u64(b, l->len);
	dfs_put_u32(b, l->nlocs);
	for (uint32_t i = 0; i < l->nlocs; i++) {
		dfs_put_u64(b, l->locs[i].node);
		dfs_put_str(b, l->locs[i].addr);
	}
	dfs_proto_put_token(b, &l->token);
}

void
dfs_proto_get_lblock(struct dfs_rbuf *r, struct dfs_lblock *l)
{
	l->block = dfs_get_u64(r);
	l->gen = dfs_get_u64(r);
	l->offset = dfs_get_u64(r);
	l->len = dfs_get_u64(r);
	l->nlocs = dfs_get_u32(r);
	if (l->nlocs > DFS_MAX_REPLICATION) {
		r->err = -EBADMSG;
		l->nlocs = 0;
	}
	for (uint32_t i = 0; i < l->nlocs; i++) {
		l->locs[i].node = dfs_get_u64(r);
		dfs_get_strbuf(r, l->locs[i].addr, sizeof l->locs[i].addr);
	}
	dfs_proto_get_token(r, &l->token);
}

/* A name for logs; never NULL. */
const char *
dfs_msg_name(uint16_t type)
{
	static const struct {
		uint16_t	 type;
		const char	*name;
	} names[] = {
		{ DFS_MSG_ERROR, "ERROR" }, { DFS_MSG_OK, "OK" },
		{ DFS_MSG_HELLO, "HELLO" }, { DFS_NN_MKDIR, "MKDIR" },
		{ DFS_NN_STAT, "STAT" }, { DFS_NN_ATTR, "ATTR" },
		{ DFS_NN_LIST, "LIST" }, { DFS_NN_LISTING, "LISTING" },
		{ DFS_NN_CREATE, "CREATE" }, { DFS_NN_ADD_BLOCK, "ADD_BLOCK" },
		{ DFS_NN_LBLOCK, "LBLOCK" }, { DFS_NN_COMPLETE, "COMPLETE" },
		{ DFS_NN_ABANDON, "ABANDON" },
		{ DFS_NN_GET_BLOCKS, "GET_BLOCKS" },
		{ DFS_NN_BLOCKS, "BLOCKS" }, { DFS_NN_RENAME, "RENAME" },
		{ DFS_NN_DELETE, "DELETE" }, { DFS_NN_SET_REPL, "SET_REPL" },
		{ DFS_NN_FSCK, "FSCK" }, { DFS_NN_FSCK_PAGE, "FSCK_PAGE" },
		{ DFS_NN_REPORT, "REPORT" },
		{ DFS_NN_REPORT_REPLY, "REPORT_REPLY" },
		{ DFS_NN_BAD_BLOCK, "BAD_BLOCK" },
		{ DFS_DN_REGISTER, "REGISTER" },
		{ DFS_DN_REGISTERED, "REGISTERED" },
		{ DFS_DN_HEARTBEAT, "HEARTBEAT" },
		{ DFS_DN_COMMANDS, "COMMANDS" },
		{ DFS_DN_BLOCK_REPORT, "BLOCK_REPORT" },
		{ DFS_DN_RECEIVED, "RECEIVED" },
		{ DFS_DN_VERIFIED, "VERIFIED" },
		{ DFS_NN_VERIFY, "VERIFY" },
		{ DFS_NN_VERIFY_PAGE, "VERIFY_PAGE" },
		{ DFS_NN_SYNC, "SYNC" },
		{ DFS_NN_HOLDS, "HOLDS" },
		{ DFS_NN_ACT_AS, "ACT_AS" }, { DFS_NN_WHOAMI, "WHOAMI" },
		{ DFS_NN_WHOAMI_REPLY, "WHOAMI_REPLY" },
		{ DFS_NN_BALANCE, "BALANCE" },
		{ DFS_NN_BALANCE_REPLY, "BALANCE_REPLY" },
		{ DFS_NN_RAFT_HELLO, "RAFT_HELLO" },
		{ DFS_NN_GROUP_STATUS, "GROUP_STATUS" },
		{ DFS_NN_GROUP_STATUS_REPLY, "GROUP_STATUS_REPLY" },
		{ DFS_NN_GROUP_JOIN, "GROUP_JOIN" },
		{ DFS_NN_GROUP_DB, "GROUP_DB" },
		{ DFS_NN_GROUP_DB_REPLY, "GROUP_DB_REPLY" },
		{ DFS_NN_ONCE, "ONCE" },
		{ DFS_DX_WRITE, "WRITE" }, { DFS_DX_PACKET, "PACKET" },
		{ DFS_DX_ACK, "ACK" }, { DFS_DX_READ, "READ" },
		{ DFS_DX_DATA, "DATA" }, { DFS_DX_REDUCE, "REDUCE" },
		{ DFS_DX_PARTIAL, "PARTIAL" },
		{ DFS_NN_SETATTR, "SETATTR" }, { DFS_NN_STATFS, "STATFS" },
		{ DFS_NN_STATFS_REPLY, "STATFS_REPLY" },
		{ DFS_NN_UNLINK, "UNLINK" }, { DFS_NN_SYMLINK, "SYMLINK" },
		{ DFS_NN_READLINK, "READLINK" }, { DFS_NN_LINK, "LINK" },
		{ DFS_NN_UPDATE_PIPELINE, "UPDATE_PIPELINE" },
		{ DFS_NN_RENEW_LEASE, "RENEW_LEASE" },
		{ DFS_DX_RESUME, "RESUME" },
		{ DFS_NN_HARDLINK, "HARDLINK" }, { DFS_NN_MKNOD, "MKNOD" },
		{ DFS_NN_PATCH_BLOCK, "PATCH_BLOCK" },
		{ DFS_DX_LOCAL_WHERE, "LOCAL_WHERE" },
		{ DFS_DX_LOCAL_HERE, "LOCAL_HERE" },
		{ DFS_DX_LOCAL_OPEN, "LOCAL_OPEN" },
		{ DFS_DX_LOCAL_FDS, "LOCAL_FDS" },
		{ DFS_DX_PATCH, "PATCH" },
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].type == type)
			return names[i].name;
	return "UNKNOWN";
}

/*
 * Decode a whole DATA payload and check its shape: a chunk size that is a
 * power of two within bounds, a chunk-aligned offset, and one CRC per
 * chunk of the data.  0, or -EPROTO for anything else.  The pointers in d
 * are borrowed from r's buffer.
 */
int
dfs_proto_get_data(struct dfs_rbuf *r, struct dfs_data *d)
{
	d->off = dfs_get_u64(r);
	d->chunk = dfs_get_u32(r);
	d->nchunks = dfs_get_u32(r);
	if (d->nchunks > DFS_MAX_PACKET / DFS_MIN_CHUNK + 1)
		r->err = -EBADMSG;
	d->crcs = dfs_get_raw(r, (size_t)d->nchunks * 4);
	d->data = dfs_get_blob(r, DFS_MAX_PACKET, &d->len);
	if (dfs_rbuf_done(r) != 0 || d->chunk < DFS_MIN_CHUNK ||
	    d->chunk > DFS_MAX_CHUNK || (d->chunk & (d->chunk - 1)) != 0 ||
	    d->off % d->chunk != 0 ||
	    d->nchunks != (d->len + d->chunk - 1) / d->chunk)
		return -EPROTO;
	return 0;
}

/* Check every chunk of d against its CRC: 0, or -EILSEQ with *bad the
 * block offset of the first chunk that fails. */
int
dfs_proto_check_data(const struct dfs_data *d, uint64_t *bad)
{
	for (uint32_t i = 0; i < d->nchunks; i++) {
		size_t co = (size_t)i * d->chunk;
		size_t cn = d->len - co < d->chunk ? d->len - co : d->chunk;
		if (dfs_crc32c(0, d->data + co, cn) !=
		    dfs_le32dec(d->crcs + 4 * i)) {
			*bad = d->off + co;
			return -EILSEQ;
		}
	}
	return 0;
}

/*
 * The leader a namenode group's follower names in its ERROR text (after
 * DFS_NOT_LEADER_AT), into addr.  0, or -ENOENT when the text names
 * none (or nothing that looks like HOST:PORT).
 */
int
dfs_leader_hint(const char *cause, char *addr, size_t len)
{
	const char	*p;
	size_t		 n;

	if (cause == NULL || (p = strstr(cause, DFS_NOT_LEADER_AT)) == NULL)
		return -ENOENT;
	p += strlen(DFS_NOT_LEADER_AT);
	n = strcspn(p, " \t\r\n");
	if (n < 3 || n >= len || memchr(p, ':', n) == NULL)
		return -ENOENT;
	memcpy(addr, p, n);
	addr[n] = '\0';
	return 0;
}

/* DN_REGISTER: a data node's cluster ("" before it joined one), storage
 * uuid, advertised address and space. */
void
dfs_proto_put_register(struct dfs_wbuf *b, const char *cluster,
    const char *uuid, const char *addr, const struct dfs_dn_usage *u)
{
	dfs_put_str(b, cluster);
	dfs_put_str(b, uuid);
	dfs_put_str(b, addr);
	dfs_put_u64(b, u->capacity);
	dfs_put_u64(b, u->used);
	dfs_put_u64(b, u->dfs_used);
}

/* DN_REGISTERED's fixed head: the node id, heartbeat interval and the
 * namenode's cluster (at most cap - 1 bytes); the token keys that may
 * follow are the caller's.  0 or the reader's error. */
int
dfs_proto_get_registered(struct dfs_rbuf *r, dfs_node_id *node,
    uint32_t *heartbeat_ms, char *cluster, size_t cap)
{
	*node = dfs_get_u64(r);
	*heartbeat_ms = dfs_get_u32(r);
	dfs_get_strbuf(r, cluster, cap);
	return r->err;
}

/* DN_HEARTBEAT: alive, with space and load. */
void
dfs_proto_put_heartbeat(struct dfs_wbuf *b, const char *cluster,
    dfs_node_id node, const struct dfs_dn_usage *u, uint32_t xceivers)
{
	dfs_put_str(b, cluster);
	dfs_put_u64(b, node);
	dfs_put_u64(b, u->capacity);
	dfs_put_u64(b, u->used);
	dfs_put_u64(b, u->dfs_used);
	dfs_put_u32(b, xceivers);
}

/* DN_BLOCK_REPORT's head; p->n replicas must follow. */
void
dfs_proto_put_report_part(struct dfs_wbuf *b, const char *cluster,
    const struct dfs_report_part *p)
{
	dfs_put_str(b, cluster);
	dfs_put_u64(b, p->node);
	dfs_put_u64(b, p->report);
	dfs_put_u32(b, p->part);
	dfs_put_u32(b, p->nparts);
	dfs_put_u32(b, p->n);
}

/* One replica of a block report part (25 bytes). */
void
dfs_proto_put_replica(struct dfs_wbuf *b, dfs_block_id block, uint64_t gen,
    uint64_t len, uint8_t flags)
{
	dfs_put_u64(b, block);
	dfs_put_u64(b, gen);
	dfs_put_u64(b, len);
	dfs_put_u8(b, flags);
}

/* DN_RECEIVED: node finalized its replica of (block, gen), len bytes. */
void
dfs_proto_put_received(struct dfs_wbuf *b, dfs_node_id node,
    dfs_block_id block, uint64_t gen, uint64_t len)
{
	dfs_put_u64(b, node);
	dfs_put_u64(b, block);
	dfs_put_u64(b, gen);
	dfs_put_u64(b, len);
}
