/*
 * test-nn-perm.c: the namenode's permission rules (nn-perm.c) against
 * what Linux does with the same owners, modes and credentials, and the
 * rule of who may claim which credential, through ACT_AS as a peer sends
 * it.  Hostile input first: an ACT_AS with too many or missing groups.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "nn_i.h"

#define R	NN_PERM_R
#define W	NN_PERM_W
#define X	NN_PERM_X

static const struct nn_cred root = { 0, 0, 0, { 0 }, true, NULL };
static const struct nn_cred bob = { 1001, 1001, 1, { 100 }, false, NULL };
static const struct nn_cred alice = { 1002, 1002, 0, { 0 }, false, NULL };
/* uid 0 without the superuser's powers: a host's root, squashed. */
static const struct nn_cred squashed = { 0, 0, 0, { 0 }, false, NULL };

static struct nn_perm_obj
obj(int type, uint32_t mode, uint32_t uid, uint32_t gid)
{
	struct nn_perm_obj	o = { type, mode, uid, gid };

	return o;
}

/* One ACT_AS (or any payload) through the dispatch, as peer. */
static uint16_t
dispatch(struct nn_peer *peer, uint16_t type, const struct dfs_wbuf *in,
    int32_t *err, struct dfs_wbuf *reply)
{
	struct dfs_frame_hdr	 h, rh;
	struct dfs_wbuf		 out;
	struct nn		*nn = calloc(1, sizeof *nn);
	struct dfs_rbuf		 r;
	struct dfs_sock		*s0, *s1;
	char			*cause = NULL;
	int			 sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s0 = dfs_sock_plain(sv[0]);
	s1 = dfs_sock_plain(sv[1]);
	dfs_wbuf_init(&out);
	memset(&h, 0, sizeof h);
	h.version = DFS_WIRE_VERSION;
	h.type = type;
	h.req_id = 7;
	h.len = (uint32_t)in->len;
	assert_int_equal(nn_server_dispatch(nn, s0, peer, &h, in, &out), 0);
	assert_int_equal(dfs_net_recv_frame(s1, &rh, reply, 5000, &cause), 0);
	free(cause);
	*err = 0;
	if (rh.type == DFS_MSG_ERROR) {
		dfs_rbuf_init(&r, reply->data, rh.len);
		*err = dfs_get_i32(&r);
	}
	dfs_sock_close(s0);
	dfs_sock_close(s1);
	dfs_wbuf_release(&out);
	free(nn);
	return rh.type;
}

/* An ACT_AS payload: uid, gid, n (as claimed) and the first have groups. */
static void
act_as(struct dfs_wbuf *b, uint32_t uid, uint32_t gid, uint32_t n,
    const uint32_t *groups, uint32_t have)
{
	dfs_wbuf_reset(b);
	dfs_put_u32(b, uid);
	dfs_put_u32(b, gid);
	dfs_put_u32(b, n);
	for (uint32_t i = 0; i < have; i++)
		dfs_put_u32(b, groups[i]);
}

/* Hostile ACT_AS frames change nothing: the credential stays. */
static void
test_act_as_hostile(void **state)
{
	struct nn_peer	 peer;
	struct dfs_wbuf	 in, reply;
	uint32_t	 groups[DFS_PKI_MAX_GROUPS + 1];
	int32_t		 err;

	(void)state;
	memset(groups, 0, sizeof groups);
	dfs_wbuf_init(&in);
	dfs_wbuf_init(&reply);
	nn_server_peer_init(&peer, "test");
	act_as(&in, 1001, 1001, DFS_PKI_MAX_GROUPS + 1, groups,
	    DFS_PKI_MAX_GROUPS + 1);
	assert_int_equal(dispatch(&peer, DFS_NN_ACT_AS, &in, &err, &reply),
	    DFS_MSG_ERROR);
	assert_int_equal(err, -EINVAL);
	act_as(&in, 1001, 1001, 0xffffffffU, groups, 0);
	assert_int_equal(dispatch(&peer, DFS_NN_ACT_AS, &in, &err, &reply),
	    DFS_MSG_ERROR);
	assert_int_equal(err, -EINVAL);
	/* Claims 3 groups, carries 2. */
	act_as(&in, 1001, 1001, 3, groups, 2);
	assert_int_equal(dispatch(&peer, DFS_NN_ACT_AS, &in, &err, &reply),
	    DFS_MSG_ERROR);
	assert_int_equal(err, -EBADMSG);
	/* One byte too many. */
	act_as(&in, 1001, 1001, 0, groups, 0);
	dfs_put_u8(&in, 0);
	assert_int_equal(dispatch(&peer, DFS_NN_ACT_AS, &in, &err, &reply),
	    DFS_MSG_ERROR);
	assert_int_equal(err, -EBADMSG);
	assert_true(peer.cred.super);
	assert_int_equal(peer.cred.uid, 0);
	dfs_wbuf_release(&in);
	dfs_wbuf_release(&reply);
}

/* ACT_AS sets the connection's credential, and WHOAMI tells it back. */
static void
test_act_as_whoami(void **state)
{
	struct nn_peer	 peer;
	struct dfs_wbuf	 in, reply;
	struct dfs_rbuf	 r;
	uint32_t	 groups[2] = { 100, 200 };
	char		*s;
	int32_t		 err;

	(void)state;
	dfs_wbuf_init(&in);
	dfs_wbuf_init(&reply);
	nn_server_peer_init(&peer, "10.0.0.1:5");
	act_as(&in, 1001, 1001, 2, groups, 2);
	assert_int_equal(dispatch(&peer, DFS_NN_ACT_AS, &in, &err, &reply),
	    DFS_MSG_OK);
	assert_int_equal(peer.cred.uid, 1001);
	assert_int_equal(peer.cred.gid, 1001);
	assert_int_equal(peer.cred.ngroups, 2);
	assert_int_equal(peer.cred.groups[1], 200);
	assert_false(peer.cred.super);
	dfs_wbuf_reset(&in);
	assert_int_equal(dispatch(&peer, DFS_NN_WHOAMI, &in, &err, &reply),
	    DFS_NN_WHOAMI_REPLY);
	dfs_rbuf_init(&r, reply.data, reply.len);
	s = dfs_get_strdup(&r, 100);
	assert_string_equal(s, "");
	free(s);
	s = dfs_get_strdup(&r, 100);
	assert_string_equal(s, "none");
	free(s);
	s = dfs_get_strdup(&r, 100);
	assert_string_equal(s, "10.0.0.1:5");
	free(s);
	assert_int_equal(dfs_get_u32(&r), 1001);
	assert_int_equal(dfs_get_u32(&r), 1001);
	assert_int_equal(dfs_get_u32(&r), 2);
	assert_int_equal(dfs_get_u32(&r), 100);
	assert_int_equal(dfs_get_u32(&r), 200);
	assert_int_equal(dfs_get_u8(&r), 0);
	assert_int_equal(dfs_rbuf_done(&r), 0);
	/* uid 0 from an unauthenticated peer is the superuser again. */
	act_as(&in, 0, 0, 0, groups, 0);
	assert_int_equal(dispatch(&peer, DFS_NN_ACT_AS, &in, &err, &reply),
	    DFS_MSG_OK);
	assert_true(peer.cred.super);
	dfs_wbuf_release(&in);
	dfs_wbuf_release(&reply);
}

/* Who may claim what (nn_perm_may_act_as). */
static void
test_may_act_as(void **state)
{
	struct nn_peer	 p;
	struct nn_cred	 want;
	char		*cause = NULL;

	(void)state;
	memset(&p, 0, sizeof p);
	memset(&want, 0, sizeof want);
	/* A superuser certificate: anyone; uid 0 is the superuser. */
	p.id.role = DFS_ROLE_SUPERUSER;
	want.uid = 0;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), 0);
	assert_true(want.super);
	want.uid = 1001;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), 0);
	assert_false(want.super);
	/* A host of uids=all: any uid, never the superuser (root squash). */
	p.id.role = DFS_ROLE_HOST;
	p.id.all_uids = true;
	want.uid = 0;
	want.super = true;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), 0);
	assert_false(want.super);
	want.uid = 4294967294u;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), 0);
	assert_false(want.super);
	/* A host of uids=1000-1999,2500: those alone, and uid 0 not even
	 * as a plain uid; any gid and groups with them. */
	p.id.all_uids = false;
	p.id.nranges = 2;
	p.id.ranges[0].lo = 1000;
	p.id.ranges[0].hi = 1999;
	p.id.ranges[1].lo = p.id.ranges[1].hi = 2500;
	snprintf(p.id.name, sizeof p.id.name, "mnt-b");
	for (size_t i = 0; i < 4; i++) {
		static const uint32_t yes[] = { 1000, 1500, 1999, 2500 };
		want.uid = yes[i];
		want.gid = 7;
		want.super = true;
		assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), 0);
		assert_false(want.super);
	}
	for (size_t i = 0; i < 6; i++) {
		static const uint32_t no[] = { 0, 999, 2000, 2499, 2501, 3000 };
		char uid[32];
		want.uid = no[i];
		want.super = true;
		cause = NULL;
		assert_int_equal(nn_perm_may_act_as(&p, &want, &cause),
		    -EACCES);
		assert_false(want.super);
		snprintf(uid, sizeof uid, "uid %u:", no[i]);
		assert_non_null(strstr(cause, uid));
		assert_non_null(strstr(cause, "host mnt-b"));
		assert_non_null(strstr(cause, "1000-1999,2500"));
		free(cause);
	}
	cause = NULL;
	/* A host certificate with neither (the parser refuses one): nobody. */
	p.id.nranges = 0;
	want.uid = 1000;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), -EACCES);
	want.gid = 0;
	memset(&p.id, 0, sizeof p.id);
	/* A user: its own uid, gid and groups exactly, in any order. */
	p.id.role = DFS_ROLE_USER;
	p.id.uid = 1001;
	p.id.gid = 1001;
	p.id.ngroups = 2;
	p.id.groups[0] = 100;
	p.id.groups[1] = 200;
	snprintf(p.id.name, sizeof p.id.name, "bob");
	want.uid = 1001;
	want.gid = 1001;
	want.ngroups = 2;
	want.groups[0] = 200;
	want.groups[1] = 100;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), 0);
	assert_false(want.super);
	want.uid = 1002;
	assert_int_equal(nn_perm_may_act_as(&p, &want, &cause), -EACCES);
	assert_non_null(strstr(cause, "bob"));
	free(cause);
	want.uid = 1001;
	want.gid = 0;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), -EACCES);
	want.gid = 1001;
	/* A group more, a group fewer (which could grant what a group's
	 * bits deny), a group repeated in place of another. */
	want.ngroups = 3;
	want.groups[2] = 0;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), -EACCES);
	want.ngroups = 1;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), -EACCES);
	want.ngroups = 2;
	want.groups[0] = 100;
	want.groups[1] = 100;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), -EACCES);
	/* Daemons act for nobody. */
	want.groups[1] = 200;
	p.id.role = DFS_ROLE_DATANODE;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), -EACCES);
	p.id.role = DFS_ROLE_NAMENODE;
	assert_int_equal(nn_perm_may_act_as(&p, &want, NULL), -EACCES);
}

/* Owner, group, other: exactly one class applies, as Linux has it. */
static void
test_may_bits(void **state)
{
	struct nn_perm_obj	o;

	(void)state;
	o = obj(DFS_FT_FILE, 0600, 1002, 1002);
	assert_true(nn_perm_may(&alice, &o, R | W));
	assert_false(nn_perm_may(&alice, &o, X));
	assert_false(nn_perm_may(&bob, &o, R));
	assert_true(nn_perm_may(&root, &o, R | W));
	assert_false(nn_perm_may(&squashed, &o, R));
	/* Execute needs an x bit even for the superuser; search does not. */
	assert_false(nn_perm_may(&root, &o, X));
	o.mode = 0001;
	assert_true(nn_perm_may(&root, &o, X));
	o = obj(DFS_FT_DIR, 0700, 1002, 1002);
	assert_true(nn_perm_may(&root, &o, R | W | X));
	/* The owner's bits deny though the others' allow. */
	o = obj(DFS_FT_FILE, 0077, 1002, 1002);
	assert_false(nn_perm_may(&alice, &o, R));
	assert_true(nn_perm_may(&bob, &o, R | W | X));
	/* A supplementary group counts; the group's bits deny. */
	o = obj(DFS_FT_FILE, 0604, 1002, 100);
	assert_false(nn_perm_may(&bob, &o, R));
	o.gid = 555;
	assert_true(nn_perm_may(&bob, &o, R));
	assert_true(nn_perm_in_group(&bob, 100));
	assert_true(nn_perm_in_group(&bob, 1001));
	assert_false(nn_perm_in_group(&bob, 1002));
}

/* Creating and removing entries, sticky directories, renames. */
static void
test_may_entries(void **state)
{
	struct nn_perm_obj	dir, tmp, bobs, alices, rootdir, bobdir;

	(void)state;
	dir = obj(DFS_FT_DIR, 0755, 0, 0);
	bobs = obj(DFS_FT_FILE, 0644, 1001, 1001);
	alices = obj(DFS_FT_FILE, 0600, 1002, 1002);
	assert_int_equal(nn_perm_may_create(&bob, &dir), -EACCES);
	assert_int_equal(nn_perm_may_create(&root, &dir), 0);
	assert_int_equal(nn_perm_may_delete(&bob, &dir, &bobs), -EACCES);
	/* w without x is not enough. */
	dir.mode = 0777 & ~0111;
	assert_int_equal(nn_perm_may_create(&bob, &dir), -EACCES);
	/* /tmp: anyone creates, only the owners remove. */
	tmp = obj(DFS_FT_DIR, 01777, 0, 0);
	assert_int_equal(nn_perm_may_create(&bob, &tmp), 0);
	assert_int_equal(nn_perm_may_delete(&bob, &tmp, &bobs), 0);
	assert_int_equal(nn_perm_may_delete(&bob, &tmp, &alices), -EPERM);
	assert_int_equal(nn_perm_may_delete(&root, &tmp, &alices), 0);
	tmp.uid = 1001;	/* the directory's owner may */
	assert_int_equal(nn_perm_may_delete(&bob, &tmp, &alices), 0);
	tmp.uid = 0;
	/* Renames: both ends, and a directory changing parent needs w on
	 * itself. */
	assert_int_equal(nn_perm_may_rename(&bob, &tmp, &bobs, &tmp, NULL,
	    true), 0);
	assert_int_equal(nn_perm_may_rename(&bob, &tmp, &bobs, &tmp, &alices,
	    true), -EPERM);
	assert_int_equal(nn_perm_may_rename(&bob, &tmp, &alices, &tmp, NULL,
	    true), -EPERM);
	dir = obj(DFS_FT_DIR, 0755, 0, 0);
	assert_int_equal(nn_perm_may_rename(&bob, &tmp, &bobs, &dir, NULL,
	    false), -EACCES);
	bobdir = obj(DFS_FT_DIR, 0755, 1001, 1001);
	rootdir = obj(DFS_FT_DIR, 0755, 0, 0);
	/* bob's directory moved within /tmp: fine; to another parent, his
	 * own directory: fine; root's directory to another parent: no. */
	assert_int_equal(nn_perm_may_rename(&bob, &tmp, &bobdir, &tmp, NULL,
	    true), 0);
	assert_int_equal(nn_perm_may_rename(&bob, &tmp, &bobdir, &bobdir,
	    NULL, false), 0);
	tmp.uid = 1001;	/* so the sticky bit does not decide */
	assert_int_equal(nn_perm_may_rename(&bob, &tmp, &rootdir, &bobdir,
	    NULL, false), -EACCES);
	assert_int_equal(nn_perm_may_rename(&bob, &tmp, &rootdir, &tmp,
	    NULL, true), 0);
}

/* chmod, chown, chgrp, utimes, truncate (setattr_prepare). */
static void
test_may_setattr(void **state)
{
	struct nn_perm_obj	o;
	uint32_t		mode;

	(void)state;
	o = obj(DFS_FT_FILE, 0644, 1002, 1002);
	mode = 0777;
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_MODE, &mode, 0,
	    0), -EPERM);
	assert_int_equal(nn_perm_may_setattr(&alice, &o, DFS_SET_MODE, &mode,
	    0, 0), 0);
	assert_int_equal(mode, 0777);
	/* S_ISGID on a file of a group alice is not in goes. */
	o.gid = 555;
	mode = 02755;
	assert_int_equal(nn_perm_may_setattr(&alice, &o, DFS_SET_MODE, &mode,
	    0, 0), 0);
	assert_int_equal(mode, 0755);
	mode = 02755;
	assert_int_equal(nn_perm_may_setattr(&root, &o, DFS_SET_MODE, &mode,
	    0, 0), 0);
	assert_int_equal(mode, 02755);
	/* ... and stays with a chgrp to one of hers in the same call. */
	mode = 02755;
	assert_int_equal(nn_perm_may_setattr(&alice, &o, DFS_SET_MODE |
	    DFS_SET_GID, &mode, 0, 1002), 0);
	assert_int_equal(mode, 02755);
	o.gid = 1002;
	/* chown: the superuser only (a no-op by the owner is fine). */
	assert_int_equal(nn_perm_may_setattr(&alice, &o, DFS_SET_UID, &mode,
	    1001, 0), -EPERM);
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_UID, &mode,
	    1001, 0), -EPERM);
	assert_int_equal(nn_perm_may_setattr(&squashed, &o, DFS_SET_UID,
	    &mode, 0, 0), -EPERM);
	assert_int_equal(nn_perm_may_setattr(&alice, &o, DFS_SET_UID, &mode,
	    1002, 0), 0);
	assert_int_equal(nn_perm_may_setattr(&root, &o, DFS_SET_UID, &mode,
	    1001, 0), 0);
	/* chgrp: the owner, to its own groups only. */
	o = obj(DFS_FT_FILE, 0644, 1001, 1001);
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_GID, &mode, 0,
	    100), 0);
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_GID, &mode, 0,
	    1002), -EPERM);
	assert_int_equal(nn_perm_may_setattr(&alice, &o, DFS_SET_GID, &mode,
	    0, 1002), -EPERM);
	/* Times: explicit by the owner, "now" by a writer too. */
	o = obj(DFS_FT_FILE, 0666, 1002, 1002);
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_MTIME, &mode,
	    0, 0), -EPERM);
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_MTIME_NOW |
	    DFS_SET_ATIME_NOW, &mode, 0, 0), 0);
	o.mode = 0644;
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_MTIME_NOW,
	    &mode, 0, 0), -EACCES);
	assert_int_equal(nn_perm_may_setattr(&alice, &o, DFS_SET_MTIME, &mode,
	    0, 0), 0);
	/* Truncation needs w, even for the owner. */
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_SIZE0, &mode,
	    0, 0), -EACCES);
	o.mode = 0444;
	assert_int_equal(nn_perm_may_setattr(&alice, &o, DFS_SET_SIZE0, &mode,
	    0, 0), -EACCES);
	assert_int_equal(nn_perm_may_setattr(&root, &o, DFS_SET_SIZE0, &mode,
	    0, 0), 0);
	/* A writer that is not the owner may clear the set-ID bits, just
	 * as its write would, and nothing else. */
	o = obj(DFS_FT_FILE, 06775, 1002, 1001);
	mode = 0775;
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_MODE, &mode,
	    0, 0), 0);
	mode = 0777;
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_MODE, &mode,
	    0, 0), -EPERM);
	o.mode = 06755;
	mode = 0755;
	assert_int_equal(nn_perm_may_setattr(&bob, &o, DFS_SET_MODE, &mode,
	    0, 0), -EPERM);
}

/* Set-ID bits after a write or a change of owner; new entries' owners. */
static void
test_owners(void **state)
{
	struct nn_perm_obj	parent;
	uint32_t		mode, uid, gid;

	(void)state;
	assert_int_equal(nn_perm_kill_suid(DFS_FT_FILE, 06755), 0755);
	/* S_ISGID without group execute (mandatory locking) stays. */
	assert_int_equal(nn_perm_kill_suid(DFS_FT_FILE, 06745), 02745);
	assert_int_equal(nn_perm_kill_suid(DFS_FT_DIR, 06755), 06755);
	/* A non-superuser's claim of another owner is ignored. */
	parent = obj(DFS_FT_DIR, 0777, 0, 0);
	mode = 04755;
	uid = 0;
	gid = 0;
	nn_perm_new_owner(&bob, &parent, DFS_FT_FILE, &mode, &uid, &gid);
	assert_int_equal(uid, 1001);
	assert_int_equal(gid, 1001);
	assert_int_equal(mode, 04755);
	/* The superuser's is honoured (a mount creating for its callers). */
	uid = 1002;
	gid = 1002;
	nn_perm_new_owner(&root, &parent, DFS_FT_FILE, &mode, &uid, &gid);
	assert_int_equal(uid, 1002);
	assert_int_equal(gid, 1002);
	/* A set-group-ID parent gives its group, and its bit to a new
	 * directory; a file's S_ISGID (with g+x) outside the caller's groups
	 * goes. */
	parent = obj(DFS_FT_DIR, 02777, 0, 555);
	mode = 0755;
	nn_perm_new_owner(&bob, &parent, DFS_FT_DIR, &mode, &uid, &gid);
	assert_int_equal(gid, 555);
	assert_int_equal(mode, 02755);
	mode = 02755;
	nn_perm_new_owner(&bob, &parent, DFS_FT_FILE, &mode, &uid, &gid);
	assert_int_equal(gid, 555);
	assert_int_equal(mode, 0755);
	parent.gid = 100;
	mode = 02755;
	nn_perm_new_owner(&bob, &parent, DFS_FT_FILE, &mode, &uid, &gid);
	assert_int_equal(mode, 02755);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_act_as_hostile),
		cmocka_unit_test(test_act_as_whoami),
		cmocka_unit_test(test_may_act_as),
		cmocka_unit_test(test_may_bits),
		cmocka_unit_test(test_may_entries),
		cmocka_unit_test(test_may_setattr),
		cmocka_unit_test(test_owners),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
