/* test-wire.c: the frame header and payload codec, hostile input first. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "wire.h"

static void
encode_hdr(uint8_t *buf, uint16_t type, uint64_t id, uint32_t len)
{
	struct dfs_frame_hdr	h = {
		.version = DFS_WIRE_VERSION, .type = type, .req_id = id,
		.len = len
	};

	dfs_frame_hdr_encode(&h, buf);
}

static void
test_hdr_roundtrip(void **state)
{
	uint8_t			buf[DFS_WIRE_HDR_LEN];
	struct dfs_frame_hdr	h;

	encode_hdr(buf, 0x1234, 0x0102030405060708ULL, 777);
	/* The layout is a promise to other implementations. */
	assert_memory_equal(buf, "NPDF", 4);
	assert_int_equal(buf[4], DFS_WIRE_VERSION);
	assert_int_equal(buf[6], 0x34);
	assert_int_equal(buf[8], 0x08);
	assert_int_equal(buf[16], 777 & 0xff);
	assert_int_equal(dfs_frame_hdr_decode(buf, sizeof buf, &h, NULL), 0);
	assert_int_equal(h.type, 0x1234);
	assert_true(h.req_id == 0x0102030405060708ULL);
	assert_int_equal(h.len, 777);
	assert_int_equal(h.flags, 0);
}

static void
test_hdr_hostile(void **state)
{
	uint8_t			buf[DFS_WIRE_HDR_LEN];
	struct dfs_frame_hdr	h;
	char			*cause = NULL;

	/* Every truncation asks for more bytes, never succeeds. */
	encode_hdr(buf, 1, 1, 0);
	for (size_t n = 0; n < DFS_WIRE_HDR_LEN; n++)
		assert_int_equal(dfs_frame_hdr_decode(buf, n, &h, NULL),
		    -EAGAIN);

	buf[0] ^= 0xff;
	assert_int_equal(dfs_frame_hdr_decode(buf, sizeof buf, &h, &cause),
	    -EPROTO);
	assert_non_null(strstr(cause, "magic"));
	free(cause);

	encode_hdr(buf, 1, 1, 0);
	buf[4] = 99;
	cause = NULL;
	assert_int_equal(dfs_frame_hdr_decode(buf, sizeof buf, &h, &cause),
	    -EPROTONOSUPPORT);
	assert_int_equal(h.version, 99);
	assert_non_null(strstr(cause, "version 99"));
	free(cause);

	encode_hdr(buf, 1, 1, DFS_WIRE_MAX_PAYLOAD + 1);
	assert_int_equal(dfs_frame_hdr_decode(buf, sizeof buf, &h, NULL),
	    -EMSGSIZE);
	encode_hdr(buf, 1, 1, 0xffffffffU);
	assert_int_equal(dfs_frame_hdr_decode(buf, sizeof buf, &h, NULL),
	    -EMSGSIZE);
	encode_hdr(buf, 1, 1, DFS_WIRE_MAX_PAYLOAD);
	assert_int_equal(dfs_frame_hdr_decode(buf, sizeof buf, &h, NULL), 0);

	encode_hdr(buf, 1, 1, 0);
	buf[23] = 1;
	assert_int_equal(dfs_frame_hdr_decode(buf, sizeof buf, &h, NULL),
	    -EPROTO);
}

static void
test_payload_roundtrip(void **state)
{
	struct dfs_wbuf	 b;
	struct dfs_rbuf	 r;
	char		 s[16];
	char		*d;
	size_t		 n;
	const uint8_t	*blob;

	dfs_wbuf_init(&b);
	dfs_frame_begin(&b, 7, 42);
	dfs_put_u8(&b, 0xab);
	dfs_put_u16(&b, 0xbeef);
	dfs_put_u32(&b, 0xdeadbeef);
	dfs_put_u64(&b, 0x1122334455667788ULL);
	dfs_put_i64(&b, -5);
	dfs_put_i32(&b, -7);
	dfs_put_str(&b, "hello");
	dfs_put_str(&b, "");
	dfs_put_blob(&b, "\0\1\2", 3);
	dfs_put_str(&b, "/a/b/c");
	dfs_frame_end(&b);

	struct dfs_frame_hdr h;
	assert_int_equal(dfs_frame_hdr_decode(b.data, b.len, &h, NULL), 0);
	assert_int_equal(h.type, 7);
	assert_int_equal(h.len, b.len - DFS_WIRE_HDR_LEN);

	dfs_rbuf_init(&r, b.data + DFS_WIRE_HDR_LEN, h.len);
	assert_int_equal(dfs_get_u8(&r), 0xab);
	assert_int_equal(dfs_get_u16(&r), 0xbeef);
	assert_int_equal(dfs_get_u32(&r), 0xdeadbeef);
	assert_true(dfs_get_u64(&r) == 0x1122334455667788ULL);
	assert_true(dfs_get_i64(&r) == -5);
	assert_int_equal(dfs_get_i32(&r), -7);
	assert_int_equal(dfs_get_strbuf(&r, s, sizeof s), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(dfs_get_strbuf(&r, s, sizeof s), 0);
	assert_string_equal(s, "");
	blob = dfs_get_blob(&r, 16, &n);
	assert_non_null(blob);
	assert_int_equal(n, 3);
	assert_memory_equal(blob, "\0\1\2", 3);
	d = dfs_get_strdup(&r, 100);
	assert_string_equal(d, "/a/b/c");
	free(d);
	assert_int_equal(dfs_rbuf_done(&r), 0);
	dfs_wbuf_release(&b);
}

static void
test_payload_hostile(void **state)
{
	struct dfs_wbuf	 b;
	struct dfs_rbuf	 r;
	char		 s[4];
	size_t		 n;

	dfs_wbuf_init(&b);
	dfs_put_str(&b, "toolong");
	/* A string that does not fit the caller's buffer fails. */
	dfs_rbuf_init(&r, b.data, b.len);
	assert_int_equal(dfs_get_strbuf(&r, s, sizeof s), -EBADMSG);
	assert_string_equal(s, "");
	/* Errors are sticky: later reads give zero and keep the error. */
	assert_int_equal(dfs_get_u32(&r), 0);
	assert_int_equal(dfs_rbuf_done(&r), -EBADMSG);

	/* A length that claims more than the payload holds. */
	dfs_wbuf_reset(&b);
	dfs_put_u32(&b, 1000);
	dfs_put_raw(&b, "abc", 3);
	dfs_rbuf_init(&r, b.data, b.len);
	assert_null(dfs_get_blob(&r, 1 << 20, &n));
	assert_int_equal(n, 0);
	assert_int_equal(r.err, -EBADMSG);

	/* A hostile 4 GiB length must not allocate or read. */
	dfs_wbuf_reset(&b);
	dfs_put_u32(&b, 0xffffffffU);
	dfs_rbuf_init(&r, b.data, b.len);
	assert_null(dfs_get_strdup(&r, DFS_WIRE_MAX_STR));
	assert_int_equal(r.err, -EBADMSG);

	/* An embedded NUL is not a string. */
	dfs_wbuf_reset(&b);
	dfs_put_blob(&b, "a\0b", 3);
	dfs_rbuf_init(&r, b.data, b.len);
	assert_null(dfs_get_strdup(&r, 100));
	dfs_rbuf_init(&r, b.data, b.len);
	char big[16];
	assert_int_equal(dfs_get_strbuf(&r, big, sizeof big), -EBADMSG);

	/* Trailing bytes are an error too: a decoder must consume all. */
	dfs_wbuf_reset(&b);
	dfs_put_u32(&b, 1);
	dfs_put_u8(&b, 0);
	dfs_rbuf_init(&r, b.data, b.len);
	assert_int_equal(dfs_get_u32(&r), 1);
	assert_int_equal(dfs_rbuf_left(&r), 1);
	assert_int_equal(dfs_rbuf_done(&r), -EBADMSG);

	/* Every truncation of a valid payload fails cleanly. */
	dfs_wbuf_reset(&b);
	dfs_put_u64(&b, 1);
	dfs_put_str(&b, "path");
	dfs_put_u16(&b, 9);
	for (size_t cut = 0; cut < b.len; cut++) {
		char path[64];
		dfs_rbuf_init(&r, b.data, cut);
		(void)dfs_get_u64(&r);
		(void)dfs_get_strbuf(&r, path, sizeof path);
		(void)dfs_get_u16(&r);
		assert_int_equal(dfs_rbuf_done(&r), -EBADMSG);
	}
	dfs_wbuf_release(&b);
}

static void
test_wbuf_growth(void **state)
{
	struct dfs_wbuf	b;
	struct dfs_rbuf	r;
	int		ok = 1;

	dfs_wbuf_init(&b);
	for (uint32_t i = 0; i < 100000; i++)
		dfs_put_u32(&b, i * 2654435761U);
	assert_int_equal(b.len, 400000);
	dfs_rbuf_init(&r, b.data, b.len);
	for (uint32_t i = 0; i < 100000; i++)
		if (dfs_get_u32(&r) != i * 2654435761U)
			ok = 0;
	assert_true(ok);
	assert_int_equal(dfs_rbuf_done(&r), 0);
	dfs_wbuf_release(&b);
	assert_null(b.data);
}

/*
 * The data node's messages (lib/proto.c, shared by dn-nn.c and
 * bench/nn-bench) lay their fields out in doc/protocol.md's order, which
 * the namenode's decoders read; REGISTERED's decoder fails on every
 * truncation and on a cluster id longer than its buffer.
 */
static void
test_dn_messages(void **state)
{
	struct dfs_dn_usage	 u = { 10, 20, 30 };
	struct dfs_report_part	 p = { 7, 99, 1, 3, 2 };
	struct dfs_wbuf		 b;
	struct dfs_rbuf		 r;
	char			 s[DFS_MAX_CLUSTER_ID + 1], small[4];
	dfs_node_id		 node;
	uint32_t		 hb;

	(void)state;
	dfs_wbuf_init(&b);
	dfs_proto_put_register(&b, "c1", "uuid", "h:1", &u);
	dfs_rbuf_init(&r, b.data, b.len);
	dfs_get_strbuf(&r, s, sizeof s);
	assert_string_equal(s, "c1");
	dfs_get_strbuf(&r, s, sizeof s);
	assert_string_equal(s, "uuid");
	dfs_get_strbuf(&r, s, sizeof s);
	assert_string_equal(s, "h:1");
	assert_int_equal(dfs_get_u64(&r), 10);
	assert_int_equal(dfs_get_u64(&r), 20);
	assert_int_equal(dfs_get_u64(&r), 30);
	assert_int_equal(dfs_rbuf_done(&r), 0);

	dfs_wbuf_reset(&b);
	dfs_proto_put_heartbeat(&b, "c1", 5, &u, 4);
	dfs_rbuf_init(&r, b.data, b.len);
	dfs_get_strbuf(&r, s, sizeof s);
	assert_int_equal(dfs_get_u64(&r), 5);
	assert_int_equal(dfs_get_u64(&r), 10);
	assert_int_equal(dfs_get_u64(&r), 20);
	assert_int_equal(dfs_get_u64(&r), 30);
	assert_int_equal(dfs_get_u32(&r), 4);
	assert_int_equal(dfs_rbuf_done(&r), 0);

	dfs_wbuf_reset(&b);
	dfs_proto_put_report_part(&b, "c1", &p);
	dfs_proto_put_replica(&b, 11, 12, 13, 1);
	dfs_proto_put_replica(&b, 21, 22, 23, 0);
	dfs_rbuf_init(&r, b.data, b.len);
	dfs_get_strbuf(&r, s, sizeof s);
	assert_int_equal(dfs_get_u64(&r), 7);
	assert_int_equal(dfs_get_u64(&r), 99);
	assert_int_equal(dfs_get_u32(&r), 1);
	assert_int_equal(dfs_get_u32(&r), 3);
	assert_int_equal(dfs_get_u32(&r), 2);
	assert_int_equal(dfs_rbuf_left(&r), 2 * 25);
	assert_int_equal(dfs_get_u64(&r), 11);
	assert_int_equal(dfs_get_u64(&r), 12);
	assert_int_equal(dfs_get_u64(&r), 13);
	assert_int_equal(dfs_get_u8(&r), 1);

	dfs_wbuf_reset(&b);
	dfs_put_u64(&b, 42);
	dfs_put_u32(&b, 3000);
	dfs_put_str(&b, "cluster");
	dfs_rbuf_init(&r, b.data, b.len);
	assert_int_equal(dfs_proto_get_registered(&r, &node, &hb, s,
	    sizeof s), 0);
	assert_int_equal(node, 42);
	assert_int_equal(hb, 3000);
	assert_string_equal(s, "cluster");
	for (size_t cut = 0; cut < b.len; cut++) {
		dfs_rbuf_init(&r, b.data, cut);
		assert_int_equal(dfs_proto_get_registered(&r, &node, &hb, s,
		    sizeof s), -EBADMSG);
	}
	dfs_rbuf_init(&r, b.data, b.len);
	assert_int_equal(dfs_proto_get_registered(&r, &node, &hb, small,
	    sizeof small), -EBADMSG);
	dfs_wbuf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_roundtrip),
		cmocka_unit_test(test_hdr_hostile),
		cmocka_unit_test(test_payload_roundtrip),
		cmocka_unit_test(test_payload_hostile),
		cmocka_unit_test(test_wbuf_growth),
		cmocka_unit_test(test_dn_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
