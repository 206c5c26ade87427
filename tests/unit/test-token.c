/* test-token.c: block tokens and their keys, hostile input first. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pki.h"
#include "token.h"
#include "wire.h"

#define NOW	1700000000

/* The keys record of doc/protocol.md, n keys of id i+1, then the rest. */
static void
put_keys(struct dfs_wbuf *b, uint32_t n, uint32_t really)
{
	uint8_t	key[DFS_TOKEN_KEY_LEN] = { 0 };

	dfs_put_u32(b, n);
	for (uint32_t i = 0; i < really; i++) {
		dfs_put_u32(b, i + 1);
		dfs_put_u64(b, NOW + 100);
		dfs_put_raw(b, key, sizeof key);
	}
}

static void
test_keys_hostile(void **state)
{
	struct dfs_token_key	keys[DFS_TOKEN_MAX_KEYS];
	struct dfs_wbuf		b;
	struct dfs_rbuf		r;

	(void)state;
	/* More keys than a ring holds: malformed, nothing read. */
	dfs_wbuf_init(&b);
	put_keys(&b, DFS_TOKEN_MAX_KEYS + 1, DFS_TOKEN_MAX_KEYS + 1);
	dfs_rbuf_init(&r, b.data, b.len);
	assert_int_equal(dfs_token_get_keys(&r, keys, DFS_TOKEN_MAX_KEYS), 0);
	assert_int_equal(r.err, -EBADMSG);
	/* A count of 2^32-1 with nothing behind it. */
	dfs_wbuf_reset(&b);
	put_keys(&b, UINT32_MAX, 0);
	dfs_rbuf_init(&r, b.data, b.len);
	assert_int_equal(dfs_token_get_keys(&r, keys, DFS_TOKEN_MAX_KEYS), 0);
	assert_int_not_equal(r.err, 0);
	/* Two announced, one and a half sent. */
	dfs_wbuf_reset(&b);
	put_keys(&b, 2, 2);
	dfs_rbuf_init(&r, b.data, b.len - 20);
	assert_int_equal(dfs_token_get_keys(&r, keys, DFS_TOKEN_MAX_KEYS), 0);
	assert_int_not_equal(r.err, 0);
	/* Empty payload. */
	dfs_rbuf_init(&r, b.data, 0);
	assert_int_equal(dfs_token_get_keys(&r, keys, DFS_TOKEN_MAX_KEYS), 0);
	assert_int_not_equal(r.err, 0);
	/* And a good one. */
	dfs_wbuf_reset(&b);
	put_keys(&b, 3, 3);
	dfs_rbuf_init(&r, b.data, b.len);
	assert_int_equal(dfs_token_get_keys(&r, keys, DFS_TOKEN_MAX_KEYS), 3);
	assert_int_equal(dfs_rbuf_done(&r), 0);
	assert_int_equal(keys[2].id, 3);
	dfs_wbuf_release(&b);
}

/* A truncated token record reads as malformed, never as a token. */
static void
test_token_record_hostile(void **state)
{
	struct dfs_token	t, u;
	struct dfs_wbuf		b;
	struct dfs_rbuf		r;

	(void)state;
	memset(&t, 0x5a, sizeof t);
	dfs_wbuf_init(&b);
	dfs_proto_put_token(&b, &t);
	assert_int_equal(b.len, 65);	/* doc/protocol.md: 65 bytes */
	for (size_t cut = 0; cut < b.len; cut++) {
		dfs_rbuf_init(&r, b.data, cut);
		dfs_proto_get_token(&r, &u);
		assert_int_not_equal(r.err, 0);
	}
	dfs_rbuf_init(&r, b.data, b.len);
	dfs_proto_get_token(&r, &u);
	assert_int_equal(dfs_rbuf_done(&r), 0);
	assert_int_equal(u.uid, t.uid);
	assert_memory_equal(u.mac, t.mac, sizeof u.mac);
	dfs_wbuf_release(&b);
}

/* The worked example of doc/protocol.md section 10, computed with Python's
 * hmac: the layout is a promise to other implementations. */
static void
test_token_worked_example(void **state)
{
	static const uint8_t mac[32] = {
		0xbd, 0x5b, 0x8f, 0x33, 0x00, 0xf3, 0x01, 0xa8,
		0x0d, 0x37, 0xdb, 0xb6, 0x12, 0xb0, 0xdb, 0xf9,
		0xb3, 0xb3, 0x47, 0x6c, 0x88, 0xed, 0x8a, 0x05,
		0xf6, 0x7c, 0x19, 0xc7, 0x56, 0x7f, 0x17, 0x48,
	};
	static const uint8_t wmac[32] = {	/* the write token below */
		0xbd, 0xa5, 0xf1, 0x9e, 0x35, 0xc1, 0xce, 0xf5,
		0xe6, 0x81, 0x9f, 0xdb, 0xb3, 0x30, 0x80, 0x5c,
		0x06, 0xd8, 0xa5, 0xd4, 0x21, 0x3f, 0x26, 0xfd,
		0x61, 0x22, 0x6f, 0x79, 0x92, 0x73, 0xaa, 0xc7,
	};
	uint8_t			h[DFS_TOKEN_TARGETS_LEN], h1[sizeof h];
	struct dfs_lblock	lb;
	struct dfs_token_keys	dn;
	struct dfs_token_key	key;
	struct dfs_token	t;
	char			*cause = NULL;

	(void)state;
	key.id = 0x01020304;
	key.expiry = NOW + 3600;
	for (int i = 0; i < DFS_TOKEN_KEY_LEN; i++)
		key.key[i] = (uint8_t)i;
	dfs_token_keys_init(&dn, 0, 0);
	dfs_token_keys_merge(&dn, NOW, &key, 1);
	memset(&t, 0, sizeof t);
	t.block = 42;
	t.gen = 7;
	t.mode = DFS_TOKEN_READ;
	t.expiry = NOW + 600;
	t.key_id = 0x01020304;
	t.uid = 1001;
	memcpy(t.mac, mac, sizeof mac);
	assert_int_equal(dfs_token_check(&dn, &t, 42, 7, DFS_TOKEN_READ,
	    NULL, NOW, NULL), 0);
	/* The uid is inside the MAC: a token of 1001 is not one of 1002. */
	t.uid = 1002;
	assert_int_equal(dfs_token_check(&dn, &t, 42, 7, DFS_TOKEN_READ,
	    NULL, NOW, &cause), -EACCES);
	assert_non_null(strstr(cause, "bad signature"));
	free(cause);
	cause = NULL;
	/* A write token for the pipeline 127.0.0.1:9866 -> :9867. */
	t.uid = 1001;
	t.mode = DFS_TOKEN_WRITE;
	memcpy(t.mac, wmac, sizeof wmac);
	memset(&lb, 0, sizeof lb);
	lb.nlocs = 2;
	strcpy(lb.locs[0].addr, "127.0.0.1:9866");
	strcpy(lb.locs[1].addr, "127.0.0.1:9867");
	dfs_token_targets_lblock(h, &lb);
	assert_int_equal(dfs_token_check(&dn, &t, 42, 7, DFS_TOKEN_WRITE, h,
	    NOW, NULL), 0);
	/* The same, stepped node by node as the data nodes do. */
	memset(h1, 0, sizeof h1);
	dfs_token_targets_step(h1, "127.0.0.1:9866");
	dfs_token_targets_step(h1, "127.0.0.1:9867");
	assert_memory_equal(h, h1, sizeof h);
	/* Another downstream, the nodes swapped, one left out or added, no
	 * pipeline at all: all refused. */
	lb.nlocs = 1;
	dfs_token_targets_lblock(h, &lb);
	assert_int_equal(dfs_token_check(&dn, &t, 42, 7, DFS_TOKEN_WRITE, h,
	    NOW, &cause), -EACCES);
	assert_non_null(strstr(cause, "pipeline"));
	free(cause);
	lb.nlocs = 3;
	strcpy(lb.locs[2].addr, "10.6.6.6:22");
	dfs_token_targets_lblock(h, &lb);
	assert_int_equal(dfs_token_check(&dn, &t, 42, 7, DFS_TOKEN_WRITE, h,
	    NOW, NULL), -EACCES);
	lb.nlocs = 2;
	strcpy(lb.locs[0].addr, "127.0.0.1:9867");
	strcpy(lb.locs[1].addr, "127.0.0.1:9866");
	dfs_token_targets_lblock(h, &lb);
	assert_int_equal(dfs_token_check(&dn, &t, 42, 7, DFS_TOKEN_WRITE, h,
	    NOW, NULL), -EACCES);
	/* Address boundaries are in the hash: "1.2.3.4:5" + "6" is not
	 * "1.2.3.4:56". */
	memset(h, 0, sizeof h);
	dfs_token_targets_step(h, "127.0.0.1:9866127.0.0.1:9867");
	assert_memory_not_equal(h, h1, sizeof h);
	assert_int_equal(dfs_token_check(&dn, &t, 42, 7, DFS_TOKEN_WRITE,
	    NULL, NOW, NULL), -EACCES);
	dfs_token_keys_free(&dn);
}

/* The namenode signs, a data node that got its keys accepts; one that did
 * not refuses; every field is checked. */
static void
test_token_sign_check(void **state)
{
	struct dfs_token_keys	nn, dn, other;
	struct dfs_token_key	keys[DFS_TOKEN_MAX_KEYS];
	struct dfs_token	t, bad;
	size_t			n;
	char			*cause = NULL;

	(void)state;
	dfs_token_keys_init(&nn, 3600, 600);
	dfs_token_keys_init(&dn, 0, 0);
	dfs_token_keys_init(&other, 3600, 600);
	assert_int_equal(dfs_token_keys_rotate(&nn, NOW), 1);
	assert_int_equal(dfs_token_keys_rotate(&nn, NOW + 1), 0);
	assert_int_equal(dfs_token_sign(&nn, &t, 5, 2, DFS_TOKEN_WRITE, 1001,
	    NULL, NOW), 0);
	assert_int_equal(t.uid, 1001);
	assert_true(t.expiry == NOW + 600);
	/* No keys yet: refused, whatever the token. */
	assert_int_equal(dfs_token_check(&dn, &t, 5, 2, DFS_TOKEN_WRITE,
	    NULL, NOW, &cause), -EACCES);
	assert_non_null(strstr(cause, "unknown"));
	free(cause);
	cause = NULL;
	n = dfs_token_keys_export(&nn, NOW, keys, DFS_TOKEN_MAX_KEYS, NULL);
	assert_int_equal(n, 2);		/* the current and the next */
	dfs_token_keys_merge(&dn, NOW, keys, n);
	assert_int_equal(dfs_token_check(&dn, &t, 5, 2, DFS_TOKEN_WRITE,
	    NULL, NOW, NULL), 0);
	/* Another namenode's keys (another cluster, a forger's) sign
	 * nothing here. */
	assert_int_equal(dfs_token_sign(&other, &bad, 5, 2, DFS_TOKEN_WRITE,
	    1001, NULL, NOW), 0);
	assert_int_equal(dfs_token_check(&dn, &bad, 5, 2, DFS_TOKEN_WRITE, NULL,
	    NOW, NULL), -EACCES);
	/* Each field. */
	bad = t;
	bad.uid = 0;
	assert_int_equal(dfs_token_check(&dn, &bad, 5, 2, DFS_TOKEN_WRITE, NULL,
	    NOW, NULL), -EACCES);
	bad = t;
	bad.expiry += 3600;
	assert_int_equal(dfs_token_check(&dn, &bad, 5, 2, DFS_TOKEN_WRITE, NULL,
	    NOW, NULL), -EACCES);
	bad = t;
	bad.mac[31] ^= 1;
	assert_int_equal(dfs_token_check(&dn, &bad, 5, 2, DFS_TOKEN_WRITE, NULL,
	    NOW, NULL), -EACCES);
	assert_int_equal(dfs_token_check(&dn, &t, 6, 2, DFS_TOKEN_WRITE,
	    NULL, NOW, NULL), -EACCES);
	assert_int_equal(dfs_token_check(&dn, &t, 5, 3, DFS_TOKEN_WRITE,
	    NULL, NOW, NULL), -EACCES);
	assert_int_equal(dfs_token_check(&dn, &t, 5, 2, DFS_TOKEN_READ,
	    NULL, NOW, NULL), -EACCES);
	assert_int_equal(dfs_token_check(&dn, &t, 5, 2, DFS_TOKEN_WRITE, NULL,
	    NOW + 601, &cause), -EACCES);
	assert_non_null(strstr(cause, "expired"));
	free(cause);
	dfs_token_keys_free(&nn);
	dfs_token_keys_free(&dn);
	dfs_token_keys_free(&other);
}

/* A group's new leader takes over the last leader's ring: it then signs
 * with the same key, which a data node that only ever heard from the
 * last leader accepts; a ring whose current or next key is missing or
 * expired is refused and changes nothing. */
static void
test_token_adopt(void **state)
{
	struct dfs_token_keys	old, next, dn;
	struct dfs_token_key	keys[DFS_TOKEN_MAX_KEYS];
	struct dfs_token	t;
	uint32_t		cur, nxt, cur2, nxt2;
	time_t			rot, rot2;
	size_t			n;

	(void)state;
	dfs_token_keys_init(&old, 3600, 600);
	dfs_token_keys_init(&next, 3600, 600);
	dfs_token_keys_init(&dn, 0, 0);
	assert_int_equal(dfs_token_keys_rotate(&old, NOW), 1);
	assert_int_equal(dfs_token_keys_rotate(&next, NOW + 5), 1);
	n = dfs_token_keys_export(&old, NOW, keys, DFS_TOKEN_MAX_KEYS, NULL);
	dfs_token_keys_merge(&dn, NOW, keys, n);
	dfs_token_keys_state(&old, &cur, &nxt, &rot);
	/* Refused: a current key not in the ring, an expired ring. */
	assert_int_equal(dfs_token_keys_adopt(&next, NOW + 10, keys, n,
	    cur ^ 1, nxt, rot), -ENOENT);
	assert_int_equal(dfs_token_keys_adopt(&next, NOW + 100000, keys, n,
	    cur, nxt, rot), -ENOENT);
	dfs_token_keys_state(&next, &cur2, &nxt2, &rot2);
	assert_true(cur2 != cur && rot2 == NOW + 5);
	/* Its own key signs nothing the data node knows... */
	assert_int_equal(dfs_token_sign(&next, &t, 5, 2, DFS_TOKEN_READ, 7,
	    NULL, NOW + 10), 0);
	assert_int_equal(dfs_token_check(&dn, &t, 5, 2, DFS_TOKEN_READ, NULL,
	    NOW + 10, NULL), -EACCES);
	/* ...the ring taken over does. */
	assert_int_equal(dfs_token_keys_adopt(&next, NOW + 10, keys, n, cur,
	    nxt, rot), 0);
	dfs_token_keys_state(&next, &cur2, &nxt2, &rot2);
	assert_true(cur2 == cur && nxt2 == nxt && rot2 == rot);
	assert_int_equal(dfs_token_sign(&next, &t, 5, 2, DFS_TOKEN_READ, 7,
	    NULL, NOW + 10), 0);
	assert_int_equal(t.key_id, cur);
	assert_int_equal(dfs_token_check(&dn, &t, 5, 2, DFS_TOKEN_READ, NULL,
	    NOW + 10, NULL), 0);
	/* It rotates on as the last leader would have: to the same next. */
	assert_int_equal(dfs_token_keys_rotate(&next, NOW + 3600), 1);
	dfs_token_keys_state(&next, &cur2, &nxt2, &rot2);
	assert_int_equal(cur2, nxt);
	OPENSSL_cleanse(keys, sizeof keys);
	dfs_token_keys_free(&old);
	dfs_token_keys_free(&next);
	dfs_token_keys_free(&dn);
}

/* Rotation: the next key is sent before it signs; after two rotations an
 * old key (and anything it signs, even with a fresh expiry) is refused. */
static void
test_token_rotation(void **state)
{
	struct dfs_token_keys	nn, dn;
	struct dfs_token_key	keys[DFS_TOKEN_MAX_KEYS], old;
	struct dfs_token	t0, t1;
	size_t			n;
	int64_t			R = 60, L = 30;

	(void)state;
	dfs_token_keys_init(&nn, R, L);
	dfs_token_keys_init(&dn, 0, 0);
	assert_int_equal(dfs_token_sign(&nn, &t0, 1, 1, DFS_TOKEN_READ, 7, NULL,
	    NOW), 0);
	n = dfs_token_keys_export(&nn, NOW, keys, DFS_TOKEN_MAX_KEYS, NULL);
	dfs_token_keys_merge(&dn, NOW, keys, n);
	for (size_t i = 0; i < n; i++)
		if (keys[i].id == t0.key_id)
			old = keys[i];
	/* One rotation later the data node, told nothing new, already
	 * holds the key that now signs. */
	assert_int_equal(dfs_token_sign(&nn, &t1, 1, 1, DFS_TOKEN_READ, 7, NULL,
	    NOW + R), 0);
	assert_int_not_equal(t1.key_id, t0.key_id);
	assert_int_equal(dfs_token_check(&dn, &t1, 1, 1, DFS_TOKEN_READ, NULL,
	    NOW + R, NULL), 0);
	/* The old key's tokens live out their lifetime across it. */
	assert_int_equal(dfs_token_check(&dn, &t0, 1, 1, DFS_TOKEN_READ, NULL,
	    NOW + L, NULL), 0);
	/* Two rotations on, the captured old key is gone everywhere: a
	 * token it signs with a fresh expiry is refused. */
	assert_int_equal(dfs_token_keys_rotate(&nn, NOW + 2 * R), 1);
	n = dfs_token_keys_export(&nn, NOW + 2 * R, keys, DFS_TOKEN_MAX_KEYS,
	    NULL);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(keys[i].id, old.id);
	dfs_token_keys_merge(&dn, NOW + 2 * R, keys, n);
	{
		struct dfs_token_keys	thief;
		struct dfs_token	f;

		dfs_token_keys_init(&thief, R, L);
		dfs_token_keys_merge(&thief, NOW, &old, 1);
		thief.current = old.id;
		thief.rotated = NOW + 2 * R;	/* no rotation in sign */
		thief.rotation_s = 1000000;
		assert_int_equal(dfs_token_sign(&thief, &f, 1, 1,
		    DFS_TOKEN_READ, 7, NULL, NOW + 2 * R), -EIO); /* gone */
		/* Forged by hand with the old key: refused by the node. */
		f = t0;
		f.expiry = NOW + 2 * R + 10;
		assert_int_equal(dfs_token_check(&dn, &f, 1, 1,
		    DFS_TOKEN_READ, NULL, NOW + 2 * R, NULL), -EACCES);
		assert_int_equal(dfs_token_check(&dn, &t0, 1, 1,
		    DFS_TOKEN_READ, NULL, NOW + 2 * R, NULL), -EACCES);
		dfs_token_keys_free(&thief);
	}
	dfs_token_keys_free(&nn);
	dfs_token_keys_free(&dn);
}

/* A data node's ring: full, it forgets the key closest to its end; an
 * expired key is never taken. */
static void
test_token_merge_bounds(void **state)
{
	struct dfs_token_keys	dn;
	struct dfs_token_key	k;

	(void)state;
	dfs_token_keys_init(&dn, 0, 0);
	memset(&k, 0, sizeof k);
	for (uint32_t i = 0; i < 3 * DFS_TOKEN_MAX_KEYS; i++) {
		k.id = i + 1;
		k.expiry = NOW + 1000 + i;
		dfs_token_keys_merge(&dn, NOW, &k, 1);
	}
	assert_int_equal(dn.n, DFS_TOKEN_MAX_KEYS);
	for (size_t i = 0; i < dn.n; i++)
		assert_true(dn.k[i].id > 2 * DFS_TOKEN_MAX_KEYS);
	k.id = 99999;
	k.expiry = NOW - 1;
	dfs_token_keys_merge(&dn, NOW, &k, 1);
	for (size_t i = 0; i < dn.n; i++)
		assert_int_not_equal(dn.k[i].id, 99999);
	dfs_token_keys_free(&dn);
}

/* Who may present a token on TCP. */
static void
test_token_may_use(void **state)
{
	struct dfs_identity	id;
	struct dfs_token	t;
	char			*cause = NULL;

	(void)state;
	memset(&t, 0, sizeof t);
	t.uid = 1002;
	memset(&id, 0, sizeof id);
	assert_int_equal(dfs_token_may_use(&t, NULL, NULL), -EACCES);
	id.role = DFS_ROLE_NONE;
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), -EACCES);
	id.role = DFS_ROLE_USER;
	id.uid = 1001;
	strcpy(id.name, "alice");
	assert_int_equal(dfs_token_may_use(&t, &id, &cause), -EACCES);
	assert_non_null(strstr(cause, "uid 1002"));
	assert_non_null(strstr(cause, "alice"));
	free(cause);
	id.uid = 1002;
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), 0);
	id.uid = 0;	/* a user certificate of uid 0 is still only uid 0 */
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), -EACCES);
	/* A host: the tokens of the uids it speaks for. */
	id.role = DFS_ROLE_HOST;
	id.all_uids = true;
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), 0);
	id.all_uids = false;
	id.nranges = 2;
	id.ranges[0].lo = 1000;
	id.ranges[0].hi = 1001;	/* up to just below the token's uid */
	id.ranges[1].lo = 1003;	/* and from just above it */
	id.ranges[1].hi = 1999;
	strcpy(id.name, "mnt-b");
	assert_int_equal(dfs_token_may_use(&t, &id, &cause), -EACCES);
	assert_non_null(strstr(cause, "uid 1002"));
	assert_non_null(strstr(cause, "host mnt-b"));
	assert_non_null(strstr(cause, "1000-1001,1003-1999"));
	free(cause);
	cause = NULL;
	t.uid = 0;	/* a host's uid 0 only when it speaks for 0 */
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), -EACCES);
	for (size_t i = 0; i < 4; i++) {
		static const uint32_t yes[] = { 1000, 1001, 1003, 1999 };
		t.uid = yes[i];
		assert_int_equal(dfs_token_may_use(&t, &id, NULL), 0);
	}
	t.uid = 999;
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), -EACCES);
	t.uid = 2000;
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), -EACCES);
	id.nranges = 0;	/* no uids: none (the parser refuses such a one) */
	t.uid = 1002;
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), -EACCES);
	memset(&id, 0, sizeof id);
	id.role = DFS_ROLE_SUPERUSER;
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), 0);
	id.role = DFS_ROLE_DATANODE;
	assert_int_equal(dfs_token_may_use(&t, &id, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_hostile),
		cmocka_unit_test(test_token_record_hostile),
		cmocka_unit_test(test_token_worked_example),
		cmocka_unit_test(test_token_sign_check),
		cmocka_unit_test(test_token_rotation),
		cmocka_unit_test(test_token_adopt),
		cmocka_unit_test(test_token_merge_bounds),
		cmocka_unit_test(test_token_may_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
