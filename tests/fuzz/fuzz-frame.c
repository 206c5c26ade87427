/*
 * fuzz-frame.c: libFuzzer target for the frame decoder and the payload
 * record decoders every daemon runs on untrusted bytes.  The input is a
 * frame header followed by a payload; whatever the header says, the
 * decoders must stay inside the bytes given and never crash.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dfs_frame_hdr	 h;
	struct dfs_rbuf		 r;
	struct dfs_attr		 attr;
	struct dfs_lblock	 lb;
	char			*cause = NULL, s[64];
	size_t			 plen, n;
	int			 rc;

	rc = dfs_frame_hdr_decode(data, size, &h, &cause);
	free(cause);
	if (rc != 0) {
		if (size >= DFS_WIRE_HDR_LEN && rc == -EAGAIN)
			abort();
		return 0;
	}
	if (h.len > DFS_WIRE_MAX_PAYLOAD)
		abort();
	plen = size - DFS_WIRE_HDR_LEN;
	if (plen > h.len)
		plen = h.len;
	/* Decode the payload as each record kind in turn. */
	data += DFS_WIRE_HDR_LEN;
	switch (h.type % 5) {
	case 0:
		dfs_rbuf_init(&r, data, plen);
		dfs_proto_get_attr(&r, &attr);
		if (r.err == 0 && attr.npy.ndim > 64)
			abort();
		break;
	case 1:
		dfs_rbuf_init(&r, data, plen);
		dfs_proto_get_lblock(&r, &lb);
		if (lb.nlocs > DFS_MAX_REPLICATION)
			abort();
		break;
	case 2:
		dfs_rbuf_init(&r, data, plen);
		while (dfs_get_strbuf(&r, s, sizeof s) == 0)
			;
		break;
	case 3:
		dfs_rbuf_init(&r, data, plen);
		while (dfs_get_blob(&r, 1 << 20, &n) != NULL)
			if (n > plen)
				abort();
		break;
	default:
		dfs_rbuf_init(&r, data, plen);
		free(dfs_get_strdup(&r, DFS_WIRE_MAX_STR));
		(void)dfs_get_u64(&r);
		(void)dfs_rbuf_done(&r);
		break;
	}
	return 0;
}
