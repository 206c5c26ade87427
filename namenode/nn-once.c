/*
 * nn-once.c: a retried request is applied once (issue 12).
 *
 * A client that lost its connection before the answer cannot know
 * whether its request was applied: the namenode may have died after its
 * commit, or a group's leader after its entry was committed.  It asks
 * again (the next member, after a failover), and a create, rename or
 * delete must not apply twice: a second mkdir would answer EEXIST for a
 * directory the client made itself.
 *
 * So a client wraps each request that changes the namespace in ONCE
 * (u64 client id, u64 sequence number, u16 the request's type, then its
 * payload), and keeps the same pair for every retry of one operation (the
 * wire's request id restarts on every connection, so it cannot serve).
 * The namenode records the pair with the answer it gave, in the `requests`
 * table, inside the request's own transaction: the record commits (or,
 * in a group, travels in the log) exactly when the change does.  A pair
 * that is found gets the recorded answer and nothing runs.  The lookup
 * is made inside the transaction, once the request is the namenode's one
 * writer, so a retry racing its original waits for it and then finds it.
 * Only successes are recorded: a request that failed changed nothing,
 * and asking again is right.  Records older than NN_ONCE_KEEP_MS go.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nn_i.h"
#include "proto.h"
#include "wire.h"
#include "xmalloc.h"

#define NN_ONCE_KEEP_MS		(15 * 60 * 1000)	/* a retry's window */
#define NN_ONCE_PRUNE_EVERY	256	/* records between two prunes */

/*
 * Unwrap a ONCE request: *type and *in become the wrapped request's.
 * 0, or -EBADMSG (truncated, or wrapping what may not be wrapped).
 */
int
nn_once_unwrap(struct nn_req *req, uint16_t *type)
{
	uint64_t	client, seq;
	uint16_t	inner;

	client = dfs_get_u64(&req->in);
	seq = dfs_get_u64(&req->in);
	inner = dfs_get_u16(&req->in);
	if (req->in.err != 0 || inner == DFS_NN_ONCE ||
	    inner == DFS_NN_RAFT_HELLO || inner == DFS_MSG_HELLO)
		return -EBADMSG;
	dfs_rbuf_init(&req->in, (const uint8_t *)req->in.p + req->in.off,
	    req->in.len - req->in.off);
	req->once = true;
	req->once_client = client;
	req->once_seq = seq;
	*type = inner;
	return 0;
}

/*
 * Inside the request's transaction: its pair answered already?  0 when
 * not; -EALREADY when it was, with the answer kept in req for
 * nn_once_reply (the transaction is then rolled back: nothing runs).
 */
int
nn_once_lookup(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	sqlite3_stmt	*st;
	const void	*p;
	int		 rc, n;

	if (!req->once || !req->in_txn)
		return 0;
	st = nn_db_sql(nn, "SELECT type, reply FROM requests WHERE client = ? "
	    "AND seq = ?", "ii", (int64_t)req->once_client,
	    (int64_t)req->once_seq);
	if ((rc = nn_db_step(nn, st)) == 1) {
		req->once_type = (uint16_t)sqlite3_column_int(st, 0);
		p = sqlite3_column_blob(st, 1);
		n = sqlite3_column_bytes(st, 1);
		req->once_reply = xmalloc(n > 0 ? (size_t)n : 1);
		if (n > 0)
			memcpy(req->once_reply, p, (size_t)n);
		req->once_len = (size_t)n;
		req->once_found = true;
		rc = -EALREADY;
	}
	nn_db_reset(st);
	if (rc == -EALREADY)
		log_debug("%s from client %016" PRIx64 " (#%" PRIu64 ") was "
		    "answered already: the same answer again",
		    dfs_msg_name(req->type), req->once_client, req->once_seq);
	return rc;
}

/* Record the answer of a request that succeeded, in its transaction. */
int
nn_once_record(struct nn_req *req)
{
	struct nn	*nn = req->nn;
	const uint8_t	*p = NULL;
	size_t		 n = 0;
	uint16_t	 type = DFS_MSG_OK;
	int		 rc;

	if (!req->once || !req->in_txn || req->once_found)
		return 0;
	if (req->replied) {
		type = req->reply_type;
		p = req->out->data + req->out->frame_start + DFS_WIRE_HDR_LEN;
		n = req->out->len - req->out->frame_start - DFS_WIRE_HDR_LEN;
	}
	if ((rc = nn_db_exec(nn, "INSERT OR REPLACE INTO requests(client, seq, "
	    "type, reply, at_ms) VALUES (?, ?, ?, ?, ?)", "iiibi",
	    (int64_t)req->once_client, (int64_t)req->once_seq, (int64_t)type,
	    p, n, nn_wall_ns() / 1000000)) != 0)
		return rc;
	if (req->once_seq % NN_ONCE_PRUNE_EVERY == 0)
		rc = nn_db_exec(nn, "DELETE FROM requests WHERE at_ms < ?", "i",
		    nn_wall_ns() / 1000000 - NN_ONCE_KEEP_MS);
	return rc;
}

/* The recorded answer, as the reply to req. */
void
nn_once_reply(struct nn_req *req)
{
	struct dfs_wbuf	*b;

	if (req->once_type == DFS_MSG_OK)
		return;		/* the dispatcher sends OK */
	b = nn_server_reply(req, req->once_type);
	if (req->once_len > 0)
		dfs_put_raw(b, req->once_reply, req->once_len);
}
