/*
 * test-nn-server.c: the namenode's one request wrapper, through its table
 * and its dispatch: a peer without the role a message needs is refused
 * before the handler runs, whatever the payload; a peer with it reaches
 * the handler.  Nothing authenticates a peer yet, so these tests force a
 * connection's roles, as an authenticated connection will set them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "nn_i.h"

/* The data node's duties, and nothing else, need the data node role. */
static const uint16_t dn_only[] = {
	DFS_DN_REGISTER, DFS_DN_HEARTBEAT, DFS_DN_BLOCK_REPORT,
	DFS_DN_RECEIVED, DFS_DN_VERIFIED,
};
/* Namespace requests need the client role (users, hosts, superuser). */
static const uint16_t client_only[] = {
	DFS_NN_MKDIR, DFS_NN_STAT, DFS_NN_LIST, DFS_NN_CREATE,
	DFS_NN_ADD_BLOCK, DFS_NN_COMPLETE, DFS_NN_ABANDON, DFS_NN_GET_BLOCKS,
	DFS_NN_RENAME, DFS_NN_DELETE, DFS_NN_SET_REPL, DFS_NN_FSCK,
	DFS_NN_REPORT, DFS_NN_SETATTR, DFS_NN_STATFS,
	DFS_NN_UNLINK, DFS_NN_SYMLINK, DFS_NN_READLINK,
	DFS_NN_UPDATE_PIPELINE, DFS_NN_RENEW_LEASE, DFS_NN_HARDLINK,
	DFS_NN_MKNOD, DFS_NN_PATCH_BLOCK, DFS_NN_VERIFY, DFS_NN_SYNC,
	DFS_NN_HOLDS, DFS_NN_ACT_AS, DFS_NN_BALANCE,
};
/* A bad replica, from a reader or a data node; neither from no one. */
static const uint16_t either[] = { DFS_NN_BAD_BLOCK };
static const uint16_t anyone[] = { DFS_MSG_HELLO, DFS_NN_WHOAMI,
    DFS_NN_GROUP_STATUS };
#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])

static void
test_roles_table(void **state)
{
	int	flags;

	(void)state;
	for (size_t i = 0; i < NITEMS(dn_only); i++) {
		assert_int_equal(nn_server_permitted(dn_only[i],
		    NN_ROLE_CLIENT, &flags), -EACCES);
		assert_int_equal(nn_server_permitted(dn_only[i],
		    NN_ROLE_ANY, &flags), -EACCES);
		assert_int_equal(nn_server_permitted(dn_only[i],
		    NN_ROLE_DATANODE, &flags), 0);
		/* Connections without a certificate (unit tests). */
		assert_int_equal(nn_server_permitted(dn_only[i],
		    NN_ROLES_UNAUTHENTICATED, &flags), 0);
	}
	for (size_t i = 0; i < NITEMS(client_only); i++) {
		assert_int_equal(nn_server_permitted(client_only[i],
		    NN_ROLE_CLIENT, &flags), 0);
		assert_int_equal(nn_server_permitted(client_only[i],
		    NN_ROLE_DATANODE, &flags), -EACCES);
		assert_int_equal(nn_server_permitted(client_only[i],
		    NN_ROLE_ANY, &flags), -EACCES);
	}
	for (size_t i = 0; i < NITEMS(either); i++) {
		assert_int_equal(nn_server_permitted(either[i],
		    NN_ROLE_CLIENT, &flags), 0);
		assert_int_equal(nn_server_permitted(either[i],
		    NN_ROLE_DATANODE, &flags), 0);
		assert_int_equal(nn_server_permitted(either[i],
		    NN_ROLE_ANY, &flags), -EACCES);
	}
	for (size_t i = 0; i < NITEMS(anyone); i++) {
		assert_int_equal(nn_server_permitted(anyone[i],
		    NN_ROLE_ANY, &flags), 0);
		assert_int_equal(nn_server_permitted(anyone[i],
		    NN_ROLE_CLIENT, &flags), 0);
		assert_int_equal(nn_server_permitted(anyone[i],
		    NN_ROLE_DATANODE, &flags), 0);
		assert_int_equal(nn_server_permitted(anyone[i],
		    NN_ROLES_UNAUTHENTICATED, &flags), 0);
	}
	assert_int_equal(nn_server_permitted(0xffff, NN_ROLES_UNAUTHENTICATED,
	    &flags), -ENOSYS);
	assert_int_equal(nn_server_permitted(DFS_MSG_ERROR,
	    NN_ROLES_UNAUTHENTICATED, &flags), -ENOSYS);
}

/* Every listed type is in the table, and nothing else is: a new message
 * must be given a role here on purpose. */
static void
test_roles_complete(void **state)
{
	size_t	known = 0;
	int	flags;

	(void)state;
	for (unsigned t = 0; t <= 0xffff; t++)
		if (nn_server_permitted((uint16_t)t, NN_ROLES_UNAUTHENTICATED,
		    &flags) == 0)
			known++;
	assert_int_equal(known, NITEMS(dn_only) + NITEMS(client_only) +
	    NITEMS(either) + NITEMS(anyone));
}

/* A transaction is only ever taken under the lock; a write is refused in
 * safe mode and is done in a transaction, or under the lock (COMPLETE,
 * whose wait lets the lock go and so begins its own). */
static void
test_flags_consistent(void **state)
{
	int	flags;

	(void)state;
	for (unsigned t = 0; t <= 0xffff; t++) {
		if (nn_server_permitted((uint16_t)t, NN_ROLES_UNAUTHENTICATED,
		    &flags) != 0)
			continue;
		if (flags & NN_TXN)
			assert_true(flags & NN_LOCK);
		if (flags & NN_WRITES)
			assert_true(flags & NN_LOCK);
		if ((flags & NN_WRITES) && t != DFS_NN_COMPLETE)
			assert_true(flags & NN_TXN);
	}
	assert_int_equal(nn_server_permitted(DFS_MSG_HELLO,
	    NN_ROLES_UNAUTHENTICATED, &flags), 0);
	assert_int_equal(flags, 0);
}

/* Dispatch type with payload (len bytes) from a peer holding roles;
 * returns the reply's type, and an ERROR's code and message. */
static uint16_t
dispatch(struct nn *nn, int roles, uint16_t type, const void *payload,
    size_t len, int32_t *err, char **msg)
{
	struct dfs_frame_hdr	 h, rh;
	struct dfs_wbuf		 in, out, reply;
	struct dfs_rbuf		 r;
	char			*cause = NULL;
	struct nn_peer		 peer;
	struct dfs_sock		*s0, *s1;
	int			 sv[2];

	nn_server_peer_init(&peer, "test");
	peer.roles = roles;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	dfs_wbuf_init(&in);
	dfs_wbuf_init(&out);
	dfs_wbuf_init(&reply);
	if (len > 0)
		dfs_put_raw(&in, payload, len);
	memset(&h, 0, sizeof h);
	h.version = DFS_WIRE_VERSION;
	h.type = type;
	h.req_id = 42;
	h.len = (uint32_t)len;
	s0 = dfs_sock_plain(sv[0]);
	s1 = dfs_sock_plain(sv[1]);
	assert_int_equal(nn_server_dispatch(nn, s0, &peer, &h, &in, &out), 0);
	assert_int_equal(dfs_net_recv_frame(s1, &rh, &reply, 5000, &cause),
	    0);
	free(cause);
	assert_true(rh.req_id == 42);
	*err = 0;
	*msg = NULL;
	if (rh.type == DFS_MSG_ERROR) {
		dfs_rbuf_init(&r, reply.data, rh.len);
		*err = dfs_get_i32(&r);
		*msg = dfs_get_strdup(&r, DFS_WIRE_MAX_STR);
		assert_int_equal(dfs_rbuf_done(&r), 0);
	}
	dfs_sock_close(s0);
	dfs_sock_close(s1);
	dfs_wbuf_release(&in);
	dfs_wbuf_release(&out);
	dfs_wbuf_release(&reply);
	return rh.type;
}

/*
 * A client's data node message is refused by the role check, before its
 * handler could decode it or touch the (here absent) database: the same
 * malformed payload from a data node reaches the handler, which refuses
 * it as malformed.  So the refusal is the role, not the frame.
 */
static void
test_dispatch_role(void **state)
{
	struct nn	*nn;
	int32_t		 err;
	char		*msg;
	uint8_t		 junk[3] = { 1, 2, 3 };

	(void)state;
	nn = calloc(1, sizeof *nn);
	for (size_t i = 0; i < NITEMS(dn_only); i++) {
		assert_int_equal(dispatch(nn, NN_ROLE_CLIENT, dn_only[i], junk,
		    sizeof junk, &err, &msg), DFS_MSG_ERROR);
		assert_int_equal(err, -EACCES);
		assert_non_null(strstr(msg, "for data nodes only"));
		free(msg);

		assert_int_equal(dispatch(nn, NN_ROLE_DATANODE, dn_only[i],
		    junk, sizeof junk, &err, &msg), DFS_MSG_ERROR);
		assert_int_equal(err, -EBADMSG);
		assert_non_null(strstr(msg, "malformed"));
		free(msg);

		assert_int_equal(dispatch(nn, NN_ROLES_UNAUTHENTICATED,
		    dn_only[i], junk, sizeof junk, &err, &msg), DFS_MSG_ERROR);
		assert_int_equal(err, -EBADMSG);
		free(msg);
	}
	/* A client message needs no role. */
	assert_int_equal(dispatch(nn, NN_ROLE_CLIENT, DFS_NN_STAT, junk,
	    sizeof junk, &err, &msg), DFS_MSG_ERROR);
	assert_int_equal(err, -EBADMSG);
	free(msg);
	assert_int_equal(dispatch(nn, NN_ROLE_CLIENT, 0xfff0, NULL, 0, &err,
	    &msg), DFS_MSG_ERROR);
	assert_int_equal(err, -ENOSYS);
	free(msg);
	free(nn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_table),
		cmocka_unit_test(test_roles_complete),
		cmocka_unit_test(test_flags_consistent),
		cmocka_unit_test(test_dispatch_role),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
