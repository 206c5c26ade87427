/*
 * client-local.c: short-circuit reads of replicas on this machine.
 *
 * A data node on the same machine as the reader can hand over its
 * replica's files instead of streaming them through loopback TCP (1.6-2.0
 * GB/s per stream here): the reader then preads the block file at page
 * cache or disk speed.  The node keeps the authority: it checks the block
 * token exactly as for a TCP READ and passes open, read-only descriptors
 * over its Unix socket (datanode/dn-local.c).  The reader keeps the
 * promise that it never hands out a byte that fails its checksum: every
 * chunk is checked here against the CRC the writer made, read from the
 * sidecar, before the caller may use it.
 *
 * How a reader finds the socket.  A replica location is an address the
 * namenode gives out; when its host is a loopback address or one of this
 * machine's (getifaddrs), the node is asked on its TCP port where its
 * socket is and who it is (LOCAL_WHERE: uuid, path).  LOCAL_OPEN on the
 * socket names that uuid, the node refuses any other, and the reply's
 * uuid is checked again here: with several clusters on one machine
 * (tests run in parallel), a reader only ever gets files from the node it
 * meant.  The answers are remembered per client (DFS_CLIENT_LOCAL nodes,
 * a "no" for DFS_LOCAL_RETRY_MS), so a remote or socket-less node costs
 * one round trip per client, not one per block.
 *
 * Whatever goes wrong here (no socket, a refused token, files that do not
 * match their sidecar header) the caller falls back to TCP for that
 * replica; a chunk that fails its CRC is -EILSEQ, which the caller treats
 * as a TCP checksum error: the replica is reported bad and the next one
 * read.
 *
 * Speed.  Whole chunks are read straight into the caller's buffer and
 * checked there (CRC32C runs at 8-22 GB/s, MEASUREMENTS.md), so a large
 * read costs one pread of the data, one of the CRCs and one pass of the
 * CRC; only the partial chunks at the edges of a range go through a
 * scratch buffer.  The block file is marked for sequential reading
 * (POSIX_FADV_SEQUENTIAL: a larger kernel read-ahead window).  Asking for
 * more with POSIX_FADV_WILLNEED was measured and made cold reads slower
 * (16 MiB ahead: 845-1433 MB/s against 1190-1614 without, dfs cat of 512
 * MiB, caches dropped): the advice is carried out in the reading thread.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "client_i.h"
#include "log.h"
#include "xmalloc.h"

/* The sidecar's fixed header (datanode/dn-blkfile.c, doc/protocol.md). */
#define LOCAL_META_MAGIC	"NPDM"
#define LOCAL_META_HDR_LEN	24
/* Data read and checked per step: bounds the CRC buffer (64 KiB of CRCs
 * at the smallest chunk size). */
#define LOCAL_STEP		(8U << 20)
/* A reply on the local socket is a few dozen bytes. */
#define LOCAL_MAX_REPLY		1024
/* How long a node whose socket failed is left to TCP. */
#define LOCAL_FAIL_MS		5000

/* Whether sa is a loopback address. */
static bool
local_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		const uint8_t *a = s6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return true;
		return memcmp(a, mapped, 12) == 0 && a[12] == 127;
	}
	return false;
}

/* Whether two socket addresses name the same host address. */
static bool
local_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->
		    sin_addr.s_addr ==
		    ((const struct sockaddr_in *)(const void *)b)->
		    sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->
		    sin6_addr, &((const struct sockaddr_in6 *)(const void *)b)->
		    sin6_addr, sizeof(struct in6_addr)) == 0;
	return false;
}

/* Whether the host of addr ("host:port") is this machine. */
static bool
local_host_is_ours(const char *addr)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct ifaddrs	*ifs = NULL, *ifa;
	char		 host[256];
	uint16_t	 port;
	bool		 ours = false;

	if (dfs_hostport_split(addr, host, sizeof host, &port, NULL) != 0)
		return false;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return false;
	for (ai = res; ai != NULL && !ours; ai = ai->ai_next)
		ours = local_loopback(ai->ai_addr);
	if (!ours && getifaddrs(&ifs) == 0) {
		for (ai = res; ai != NULL && !ours; ai = ai->ai_next)
			for (ifa = ifs; ifa != NULL && !ours;
			    ifa = ifa->ifa_next)
				ours = ifa->ifa_addr != NULL &&
				    local_same_ip(ai->ai_addr, ifa->ifa_addr);
		freeifaddrs(ifs);
	}
	freeaddrinfo(res);
	return ours;
}

/* Remember what addr said (n->addr), replacing the oldest entry. */
static void
local_node_store(struct dfs_client *c, const struct dfs_local_node *n)
{
	struct dfs_local_node	*victim;

	pthread_mutex_lock(&c->lock);
	victim = &c->local[0];
	for (int i = 0; i < DFS_CLIENT_LOCAL; i++) {
		struct dfs_local_node *e = &c->local[i];
		if (e->state != DFS_LOCAL_FREE &&
		    strcmp(e->addr, n->addr) == 0) {
			victim = e;
			break;
		}
		if (e->used < victim->used)
			victim = e;
	}
	*victim = *n;
	victim->used = ++c->local_tick;
	pthread_mutex_unlock(&c->lock);
}

/* Leave addr to TCP for a while: its socket failed us. */
static void
local_node_fail(struct dfs_client *c, const char *addr)
{
	struct dfs_local_node	n;

	memset(&n, 0, sizeof n);
	snprintf(n.addr, sizeof n.addr, "%s", addr);
	n.state = DFS_LOCAL_NO;
	n.until_ms = dfs_now_ms() + LOCAL_FAIL_MS;
	local_node_store(c, &n);
}

/*
 * What the node at addr offers: 0 and its socket (uuid and path in *n),
 * or -EOPNOTSUPP: none, or not on this machine.  Asked once, then
 * remembered.  -ETIMEDOUT when the node did not answer in time (a stopped
 * node): the caller goes to the next replica as after a TCP stall.
 */
static int
local_node(struct dfs_client *c, const char *addr, struct dfs_local_node *n)
{
	struct dfs_conn	*conn = NULL;
	struct dfs_rbuf	 r;
	char		*why = NULL;
	int64_t		 now = dfs_now_ms();
	int		 rc;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < DFS_CLIENT_LOCAL; i++) {
		struct dfs_local_node *e = &c->local[i];
		if (e->state == DFS_LOCAL_FREE || strcmp(e->addr, addr) != 0)
			continue;
		if (e->state == DFS_LOCAL_YES || e->until_ms > now) {
			e->used = ++c->local_tick;
			*n = *e;
			pthread_mutex_unlock(&c->lock);
			return n->state == DFS_LOCAL_YES ? 0 : -EOPNOTSUPP;
		}
	}
	pthread_mutex_unlock(&c->lock);

	memset(n, 0, sizeof *n);
	snprintf(n->addr, sizeof n->addr, "%s", addr);
	n->state = DFS_LOCAL_NO;
	n->until_ms = now + DFS_LOCAL_RETRY_MS;
	rc = -EOPNOTSUPP;
	if (local_host_is_ours(addr) &&
	    (rc = dfs_conn_open(c->tls, addr, DFS_ROLE_DATANODE,
	    c->stall_ms, &conn, &why)) == 0) {
		dfs_conn_begin(conn, DFS_DX_LOCAL_WHERE);
		if ((rc = dfs_conn_call(conn, DFS_DX_LOCAL_HERE, &r,
		    &why)) == 0) {
			dfs_get_strbuf(&r, n->uuid, sizeof n->uuid);
			dfs_get_strbuf(&r, n->path, sizeof n->path);
			if (dfs_rbuf_done(&r) == 0 && n->uuid[0] != '\0' &&
			    n->path[0] != '\0')
				n->state = DFS_LOCAL_YES;
			else
				log_warn("data node %s: malformed LOCAL_HERE "
				    "reply", addr);
		} else
			log_debug("data node %s: no short-circuit reads: %s",
			    addr, why != NULL ? why : strerror(-rc));
		dfs_conn_free(conn);
	}
	free(why);
	if (rc != 0 && rc != -EOPNOTSUPP)
		n->until_ms = now + LOCAL_FAIL_MS;
	local_node_store(c, n);
	if (n->state == DFS_LOCAL_YES)
		return 0;
	return rc == -ETIMEDOUT ? rc : -EOPNOTSUPP;
}

/*
 * Receive one reply frame of at most LOCAL_MAX_REPLY bytes from the local
 * socket into buf, and the descriptors that came with it (up to 2 kept in
 * fds, counted in *nfds; any more are closed).  0 or -errno.
 */
static int
local_recv(int fd, int timeout_ms, struct dfs_frame_hdr *h, uint8_t *buf,
    int fds[2], int *nfds)
{
	union {
		char		b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	size_t		 want = DFS_WIRE_HDR_LEN, got = 0;
	int64_t		 deadline = dfs_now_ms() + timeout_ms;
	ssize_t		 n;
	int		 rc;

	*nfds = 0;
	while (got < want) {
		int64_t left = deadline - dfs_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if ((rc = poll(&pfd, 1, (int)left)) < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		memset(&msg, 0, sizeof msg);
		iov.iov_base = buf + got;
		iov.iov_len = want - got;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = u.b;
		msg.msg_controllen = sizeof u.b;
		n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int d;
				memcpy(&d, CMSG_DATA(cm) + i * sizeof d,
				    sizeof d);
				if (*nfds < 2)
					fds[(*nfds)++] = d;
				else
					close(d);
			}
		}
		if (msg.msg_flags & MSG_CTRUNC)
			return -EPROTO;
		if (n == 0)
			return -ECONNRESET;
		got += (size_t)n;
		if (got == DFS_WIRE_HDR_LEN && want == DFS_WIRE_HDR_LEN) {
			if ((rc = dfs_frame_hdr_decode(buf, got, h,
			    NULL)) != 0)
				return rc;
			if (h->len > LOCAL_MAX_REPLY - DFS_WIRE_HDR_LEN)
				return -EMSGSIZE;
			want += h->len;
		}
	}
	return 0;
}

/*
 * Check that the files the node passed are the replica it described:
 * regular files, the block file len bytes, the sidecar's header intact
 * and in agreement, the sidecar as long as len bytes of chunks need.
 * NULL if so, else why not.
 */
static const char *
local_check_files(const struct dfs_local_blk *b)
{
	uint8_t		hdr[LOCAL_META_HDR_LEN];
	struct stat	sd, sm;
	uint64_t	nch;

	if (b->chunk < DFS_MIN_CHUNK || b->chunk > DFS_MAX_CHUNK ||
	    (b->chunk & (b->chunk - 1)) != 0)
		return "bad chunk size";
	nch = (b->len + b->chunk - 1) / b->chunk;
	if (fstat(b->data_fd, &sd) != 0 || fstat(b->meta_fd, &sm) != 0 ||
	    !S_ISREG(sd.st_mode) || !S_ISREG(sm.st_mode))
		return "not regular files";
	if ((uint64_t)sd.st_size != b->len)
		return "block file size disagrees with the node";
	if ((uint64_t)sm.st_size != LOCAL_META_HDR_LEN + 4 * nch)
		return "sidecar size disagrees with the block length";
	if (pread(b->meta_fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
		return "sidecar header unreadable";
	if (memcmp(hdr, LOCAL_META_MAGIC, 4) != 0 || hdr[4] != 1 ||
	    hdr[5] != 0 || hdr[6] != 0 || hdr[7] != 0 ||
	    dfs_le32dec(hdr + 20) != dfs_crc32c(0, hdr, 20))
		return "sidecar header is damaged";
	if (dfs_le32dec(hdr + 8) != b->chunk || dfs_le64dec(hdr + 12) != b->len)
		return "sidecar header disagrees with the node";
	return NULL;
}

/*
 * Ask the node at lb->locs[loc] for the files of lb's replica.  0 with
 * them open in *b; -EOPNOTSUPP when that node is not on this machine or
 * offers no local socket (read it over TCP, nothing to report);
 * -ETIMEDOUT when the node did not answer in time (go to the next
 * replica); another -errno with *cause when the socket or the node
 * failed (TCP as well).
 * b is filled in either way; close it with dfs_local_close.
 */
int
dfs_local_open(struct dfs_client *c, const struct dfs_lblock *lb,
    uint32_t loc, struct dfs_local_blk *b, char **cause)
{
	const char		*addr = lb->locs[loc].addr;
	struct dfs_local_node	 n;
	struct sockaddr_un	 sun;
	struct dfs_frame_hdr	 h;
	struct dfs_wbuf		 out;
	struct dfs_rbuf		 r;
	struct timeval		 tv;
	uint8_t			 in[LOCAL_MAX_REPLY];
	char			 uuid[64];
	const char		*why;
	int			 fd = -1, fds[2] = { -1, -1 }, nfds = 0, rc;
	uint32_t		 nsent;

	memset(b, 0, sizeof *b);
	b->block = lb->block;
	b->gen = lb->gen;
	b->node = lb->locs[loc].node;
	b->data_fd = b->meta_fd = -1;
	if ((rc = local_node(c, addr, &n)) != 0) {
		if (rc == -ETIMEDOUT)
			xasprintf(cause, "data node %s did not answer",
			    addr);
		return rc;
	}

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, n.path, sizeof n.path);
	sun.sun_path[sizeof sun.sun_path - 1] = '\0';
	tv.tv_sec = c->stall_ms / 1000;
	tv.tv_usec = (c->stall_ms % 1000) * 1000;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		rc = -errno;
		xasprintf(cause, "data node %s: local socket %s: %s", addr,
		    n.path, strerror(errno));
		local_node_fail(c, addr);
		goto out;
	}
	dfs_wbuf_init(&out);
	dfs_frame_begin(&out, DFS_DX_LOCAL_OPEN, 1);
	dfs_proto_put_token(&out, &lb->token);
	dfs_put_u64(&out, lb->block);
	dfs_put_u64(&out, lb->gen);
	dfs_put_str(&out, n.uuid);
	dfs_frame_end(&out);
	rc = dfs_net_write_fd(fd, out.data, out.len, c->stall_ms);
	dfs_wbuf_release(&out);
	if (rc == 0)
		rc = local_recv(fd, c->stall_ms, &h, in, fds, &nfds);
	if (rc != 0) {
		xasprintf(cause, "data node %s: local socket %s: %s", addr,
		    n.path, strerror(-rc));
		local_node_fail(c, addr);
		goto out;
	}
	dfs_rbuf_init(&r, in + DFS_WIRE_HDR_LEN, h.len);
	if (h.type == DFS_MSG_ERROR) {
		char msg[512];
		rc = dfs_get_i32(&r);
		dfs_get_strbuf(&r, msg, sizeof msg);
		if (r.err != 0 || rc >= 0 || rc < -4095)
			rc = -EPROTO;
		xasprintf(cause, "data node %s (local socket): %s", addr,
		    r.err == 0 ? msg : "malformed ERROR");
		if (rc == -ESTALE)
			local_node_fail(c, addr);
		goto out;
	}
	dfs_get_strbuf(&r, uuid, sizeof uuid);
	b->len = dfs_get_u64(&r);
	b->chunk = dfs_get_u32(&r);
	nsent = dfs_get_u32(&r);
	if (h.type != DFS_DX_LOCAL_FDS || dfs_rbuf_done(&r) != 0 ||
	    nsent != 2 || nfds != 2) {
		rc = -EPROTO;
		xasprintf(cause, "data node %s: a malformed reply on its local "
		    "socket", addr);
		goto out;
	}
	if (strcmp(uuid, n.uuid) != 0) {
		rc = -ESTALE;
		xasprintf(cause, "local socket %s is data node %s, not %s "
		    "(%s)", n.path, uuid, n.uuid, addr);
		local_node_fail(c, addr);
		goto out;
	}
	b->data_fd = fds[0];
	b->meta_fd = fds[1];
	fds[0] = fds[1] = -1;
	if ((why = local_check_files(b)) != NULL) {
		rc = -EIO;
		xasprintf(cause, "data node %s: replica of block %llu passed "
		    "locally: %s", addr, (unsigned long long)lb->block, why);
		goto out;
	}
	(void)posix_fadvise(b->data_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	log_debug("short-circuit read of block %llu generation %llu from "
	    "data node %s (%s)", (unsigned long long)lb->block,
	    (unsigned long long)lb->gen, n.uuid, n.path);
	rc = 0;
out:
	for (int i = 0; i < nfds && i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		dfs_local_close(b);
	return rc;
}

/* Close a replica's files; it stays a "could not open" entry. */
void
dfs_local_close(struct dfs_local_blk *b)
{
	if (b->data_fd >= 0)
		close(b->data_fd);
	if (b->meta_fd >= 0)
		close(b->meta_fd);
	b->data_fd = b->meta_fd = -1;
}

void
dfs_local_scratch_free(struct dfs_local_scratch *s)
{
	free(s->chunk);
	free(s->crcs);
	memset(s, 0, sizeof *s);
}

/* pread all of len bytes: 0, -EIO when the file is shorter, or -errno. */
static int
local_pread(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * Read the chunks covering [from, to) of the block (from chunk-aligned,
 * to a chunk boundary or the block's end) into dst and check each one.
 * 0; -EILSEQ with *bad the offset of the first chunk that fails (those
 * before it are good); -EIO when a file is short or unreadable.
 */
static int
local_read_chunks(struct dfs_local_blk *b, uint64_t from, uint64_t to,
    uint8_t *dst, struct dfs_local_scratch *s, uint64_t *bad)
{
	uint64_t	nch = (to - from + b->chunk - 1) / b->chunk;
	int		rc;

	if (s->crcs_cap < 4 * nch) {
		free(s->crcs);
		s->crcs_cap = 4 * nch;
		s->crcs = xmalloc(s->crcs_cap);
	}
	if ((rc = local_pread(b->data_fd, dst, to - from, from)) != 0 ||
	    (rc = local_pread(b->meta_fd, s->crcs, 4 * nch,
	    LOCAL_META_HDR_LEN + 4 * (from / b->chunk))) != 0)
		return rc == -EIO || rc == -EINVAL ? -EIO : rc;
	for (uint64_t i = 0; i < nch; i++) {
		uint64_t o = i * b->chunk;
		size_t n = to - from - o < b->chunk ? to - from - o : b->chunk;
		if (dfs_crc32c(0, dst + o, n) != dfs_le32dec(s->crcs + 4 * i)) {
			*bad = from + o;
			return -EILSEQ;
		}
	}
	return 0;
}

/*
 * Read [boff, boff + len) of the replica into dst, every chunk checked.
 * *got is how many bytes from boff on were checked and placed, whatever
 * the result.  -EILSEQ on a checksum mismatch, -EIO when the files are
 * short or the range passes the replica's end.
 */
int
dfs_local_read(struct dfs_local_blk *b, uint64_t boff, size_t len,
    uint8_t *dst, size_t *got, struct dfs_local_scratch *s, char **cause)
{
	uint64_t	end = boff + len, pos = boff, bad = 0;
	int		rc = 0;

	*got = 0;
	if (b->data_fd < 0 || boff > b->len || len > b->len - boff) {
		xasprintf(cause, "block %llu: range %llu+%zu is beyond the "
		    "local replica (%llu bytes)", (unsigned long long)b->block,
		    (unsigned long long)boff, len, (unsigned long long)b->len);
		return -EIO;
	}
	while (pos < end && rc == 0) {
		uint64_t cs = pos - pos % b->chunk;
		uint64_t lim = end - pos > LOCAL_STEP ? pos + LOCAL_STEP : end;
		uint64_t run = lim == b->len ? lim : lim - lim % b->chunk;

		if (cs == pos && run > pos) {
			/* Whole chunks: straight into dst, checked there. */
			rc = local_read_chunks(b, pos, run, dst + (pos - boff),
			    s, &bad);
			pos = rc == -EILSEQ ? bad : rc == 0 ? run : pos;
		} else {
			/* A partial chunk at an edge: via the scratch. */
			uint64_t ce = cs + b->chunk < b->len ? cs + b->chunk :
			    b->len;
			uint64_t hi = ce < end ? ce : end;
			if (s->chunk_cap < b->chunk) {
				free(s->chunk);
				s->chunk_cap = b->chunk;
				s->chunk = xmalloc(s->chunk_cap);
			}
			rc = local_read_chunks(b, cs, ce, s->chunk, s, &bad);
			if (rc == 0) {
				memcpy(dst + (pos - boff), s->chunk +
				    (pos - cs), hi - pos);
				pos = hi;
			}
		}
	}
	*got = pos - boff;
	if (rc == -EILSEQ)
		xasprintf(cause, "checksum error in block %llu at offset %llu "
		    "(local replica)", (unsigned long long)b->block,
		    (unsigned long long)bad);
	else if (rc != 0)
		xasprintf(cause, "block %llu: local replica unreadable at "
		    "offset %llu: %s", (unsigned long long)b->block,
		    (unsigned long long)pos, rc == -EIO ? "files are short" :
		    strerror(-rc));
	return rc;
}
