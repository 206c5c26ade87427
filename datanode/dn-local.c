/*
 * dn-local.c: short-circuit local reads: the data node's Unix socket.
 *
 * Why it exists.  A client on this machine that reads a block through
 * the TCP port moves every byte through loopback TCP, 1.6-2.0 GB/s per
 * stream here (MEASUREMENTS.md), well below what the page cache or the
 * disk delivers.  So, as HDFS does, the node lets a local client read the
 * replica's files itself: after the very token check a TCP READ makes
 * (dn_token_check in dn-token.c), it passes open, read-only
 * descriptors of the block file and its checksum sidecar over a Unix
 * socket (SCM_RIGHTS).  Descriptors rather than names: the client needs
 * no permission on the data directory, and a name could be replaced
 * under it, a descriptor cannot.  The client checks every chunk against
 * the sidecar before it uses a byte (lib/client-local.c), as it does for
 * TCP reads, so the promise "never corrupt" holds on this path too.
 *
 * The protocol is the TCP one's frames: LOCAL_OPEN (token, block,
 * generation, the node uuid the client means) answered by LOCAL_FDS (the
 * two descriptors ride on the reply's first byte) or an ERROR.  The
 * client learns the socket's path from LOCAL_WHERE on the TCP port and
 * names the uuid that port gave; this node refuses another uuid and the
 * client checks the one in the reply, so several clusters on one machine
 * (tests run in parallel) never mix up their nodes.  A request here goes
 * through the same table and dispatch as one on the TCP port
 * (dn_server_dispatch), which sends every ERROR.
 *
 * Where the socket lives.  Not in the data directory: that is 0700
 * (block files are the node's alone, lib/private.c), so no other user
 * could reach a socket inside it.  By default it sits beside it
 * (DATA_DIR.sock), and `dfs cluster up` puts it in DIR/run.  The socket
 * is 0666; its directory must not be writable by others (nor by a group
 * but the node's own), who could otherwise put a socket of their own
 * under the name clients learn from LOCAL_HERE, and so receive their
 * tokens and hand them forged files with matching checksums.  A directory other users cannot
 * search is logged, since short-circuit reads then work for the node's
 * own user only.
 *
 * Who asks.  The kernel tells who the peer is (SO_PEERCRED: pid, uid,
 * gid, read at accept and logged); a connection whose credentials
 * cannot be read is closed.  Every LOCAL_OPEN still needs a read token,
 * checked exactly as for a TCP READ.  Once tokens name the user they
 * were issued to, the peer's uid must be that user's
 * (local_peer_may_use_token, the one place to do it).
 *
 * Only a finalized replica of the asked generation is handed out.  When
 * its files cannot be opened or have the wrong size the client is told
 * and falls back to a TCP READ of the same replica, which goes through
 * the store under its lock and reports a bad replica to the namenode:
 * one place decides what is corrupt.
 *
 * Threads: an accept thread and one detached thread per connection, at
 * most DN_LOCAL_MAX_CONNS; a request is a few dozen bytes and its size is
 * bounded (DN_LOCAL_MAX_REQ) before any of it is read, so a hostile or
 * silent peer costs one thread until DN_LOCAL_IDLE_MS at most.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "xmalloc.h"

#include "dn_local.h"

struct dn_local {
	struct dn	*dn;
	char		*path;
	int		 listen_fd;
	dev_t		 dev;		/* of the socket file we bound, */
	ino_t		 ino;		/* so stop unlinks only ours */
	pthread_t	 accept_thread;
	pthread_mutex_t	 lock;		/* guards conns and nconns */
	pthread_cond_t	 cond;		/* a connection ended */
	int		 conns[DN_LOCAL_MAX_CONNS];	/* fds, -1 when free */
	int		 nconns;
};

/* One connection, owned by its thread. */
struct local_conn {
	struct dn_local	*l;
	int		 fd;
	struct dfs_sock	*s;		/* fd, for the shared handlers */
	int		 slot;
	struct ucred	 cred;		/* SO_PEERCRED, read at accept */
	char		 peer[64];	/* "pid P uid U", for logs */
};

/* The socket's path, or NULL when local reads are off.  Borrowed. */
const char *
dn_local_path(const struct dn *dn)
{
	return dn->local != NULL ? dn->local->path : NULL;
}

/*
 * Send one frame and, riding on its first byte, nfds descriptors.  0 or
 * -errno.  The rest of a frame a short sendmsg left goes without them.
 */
static int
local_send_fds(int fd, const struct dfs_wbuf *b, const int *fds, int nfds)
{
	union {
		char		buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	ssize_t		 n;

	if (nfds < 1 || nfds > 2)
		return -EINVAL;
	memset(&msg, 0, sizeof msg);
	memset(&u, 0, sizeof u);
	iov.iov_base = b->data;
	iov.iov_len = b->len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < b->len)
		return dfs_net_write_fd(fd, b->data + n, b->len - n, 5000);
	return 0;
}

/*
 * Open the finalized replica b's two files read-only and check their
 * sizes against the block table.  0, or -EIO with why in *cause.
 */
static int
local_open_files(struct dn *dn, const struct dn_block *b, int fds[2],
    char **cause)
{
	struct stat	 sb;
	uint64_t	 nch = (b->len + b->chunk_size - 1) / b->chunk_size;
	uint64_t	 want[2] = { b->len, DN_META_HDR_LEN + 4 * nch };
	char		*cur, *p;
	int		 rc = 0;

	xasprintf(&cur, "%s/current", dn_store_dir(dn->store));
	fds[0] = fds[1] = -1;
	for (int i = 0; i < 2 && rc == 0; i++) {
		p = dn_blkfile_path(cur, b->id, b->gen, i == 1);
		if ((fds[i] = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
			rc = -EIO;
			xasprintf(cause, "cannot open %s: %s", p,
			    strerror(errno));
		} else if (fstat(fds[i], &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    (uint64_t)sb.st_size != want[i]) {
			rc = -EIO;
			xasprintf(cause, "%s has the wrong size (%" PRIu64
			    " bytes expected)", p, want[i]);
		}
		free(p);
	}
	free(cur);
	if (rc != 0) {
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		fds[0] = fds[1] = -1;
	}
	return rc;
}

/*
 * Whether the process at the other end (cred, from the kernel) may use
 * tok: its uid must be the uid the token was issued to, or 0 (a host's
 * root reads for its local users, as dfs-mount does).  0 or -EACCES with
 * *cause.
 */
static int
local_peer_may_use_token(const struct ucred *cred,
    const struct dfs_token *tok, char **cause)
{
	if (cred->uid == 0 || cred->uid == tok->uid)
		return 0;
	xasprintf(cause, "token refused for block %llu: it was issued to "
	    "uid %u, not to local uid %u", (unsigned long long)tok->block,
	    tok->uid, (unsigned)cred->uid);
	return -EACCES;
}

/*
 * LOCAL_OPEN: check the token, find the replica, pass its files.  0 when
 * they were passed, or an errno with the cause for the ERROR that
 * dn-server.c's dispatch sends.
 */
int
dn_local_op_open(struct dn_req *req, char **cause)
{
	struct dn		*dn = req->dn;
	const char		*uuid = dn_store_uuid(dn->store);
	struct dfs_rbuf		 r;
	struct dfs_token	 tok;
	struct dn_block		 b;
	dfs_block_id		 block;
	uint64_t		 gen;
	char			 want[128];
	int			 fds[2] = { -1, -1 }, rc;

	dfs_rbuf_init(&r, req->pl, req->h->len);
	dfs_proto_get_token(&r, &tok);
	block = dfs_get_u64(&r);
	gen = dfs_get_u64(&r);
	dfs_get_strbuf(&r, want, sizeof want);
	if (dfs_rbuf_done(&r) != 0) {
		xasprintf(cause, "malformed LOCAL_OPEN request");
		return -EBADMSG;
	}
	if (want[0] != '\0' && strcmp(want, uuid) != 0) {
		xasprintf(cause, "this is data node %s, not %s", uuid, want);
		return -ESTALE;
	}
	if (dn_token_check(req, &tok, block, gen, DFS_TOKEN_READ,
	    NULL, cause) != 0 ||
	    req->cred == NULL ||
	    local_peer_may_use_token(req->cred, &tok, cause) != 0) {
		if (*cause == NULL)
			xasprintf(cause, "no peer credentials");
		log_warn("local read of block %" PRIu64 " by %s refused: %s",
		    block, req->peer, *cause);
		return -EACCES;
	}
	/* The table's answer and the files opened with no PATCH between
	 * (dn-patch.c); the reader is on its own after that. */
	dn_patch_rdlock(block);
	if (dn_store_find(dn->store, block, &b) != 0 || b.gen != gen) {
		xasprintf(cause, "no such block: %" PRIu64 " generation %"
		    PRIu64, block, gen);
		rc = -ENOENT;
	} else if (b.flags & DFS_REPORT_CORRUPT) {
		xasprintf(cause, "block %" PRIu64 " generation %" PRIu64 ": "
		    "this replica's files do not check", block, gen);
		rc = -EIO;
	} else if ((rc = local_open_files(dn, &b, fds, cause)) != 0)
		log_warn("local read of block %" PRIu64 " by %s: %s", block,
		    req->peer, *cause);
	dn_patch_rdunlock(block);
	if (rc != 0)
		return rc;
	dfs_wbuf_reset(req->out);
	dfs_frame_begin(req->out, DFS_DX_LOCAL_FDS, req->h->req_id);
	dfs_put_str(req->out, uuid);
	dfs_put_u64(req->out, b.len);
	dfs_put_u32(req->out, b.chunk_size);
	dfs_put_u32(req->out, 2);
	dfs_frame_end(req->out);
	if ((rc = local_send_fds(dfs_sock_fd(req->s), req->out, fds, 2)) != 0)
		req->hangup = true;
	close(fds[0]);
	close(fds[1]);
	if (rc == 0)
		log_debug("LOCAL_OPEN block %" PRIu64 " generation %" PRIu64
		    " (%" PRIu64 " bytes) handed to %s", block, gen, b.len,
		    req->peer);
	return rc;
}

/*
 * Receive one request of at most DN_LOCAL_MAX_REQ bytes into pl.  0, or
 * negative to close the connection (after an ERROR where one is due).
 */
static int
local_recv(struct local_conn *c, struct dfs_frame_hdr *h, uint8_t *pl)
{
	uint8_t	 hdr[DFS_WIRE_HDR_LEN];
	char	*cause = NULL;
	int	 rc;

	memset(h, 0, sizeof *h);
	if ((rc = dfs_net_read_fd(c->fd, hdr, sizeof hdr,
	    DN_LOCAL_IDLE_MS)) != 0)
		return rc;
	if ((rc = dfs_frame_hdr_decode(hdr, sizeof hdr, h, &cause)) != 0) {
		log_warn("local socket, %s: %s", c->peer, cause);
		dfs_net_send_error(c->s, h->req_id, rc, "%s", cause);
		free(cause);
		return rc;
	}
	if (h->len > DN_LOCAL_MAX_REQ) {
		log_warn("local socket, %s: a %u-byte request refused", c->peer,
		    h->len);
		dfs_net_send_error(c->s, h->req_id, -EMSGSIZE, "a %u-byte "
		    "request is too large for the local socket (at most %d)",
		    h->len, DN_LOCAL_MAX_REQ);
		return -EMSGSIZE;
	}
	if ((rc = dfs_net_read_fd(c->fd, pl, h->len, 5000)) != 0)
		return rc == -ENOTCONN ? -ECONNRESET : rc;
	return 0;
}

/* A connection's thread: requests one after another until it ends. */
static void *
local_conn_main(void *arg)
{
	struct local_conn	*c = arg;
	struct dn_local		*l = c->l;
	struct dfs_frame_hdr	 h;
	struct dfs_wbuf		 out;
	struct dn_req		 req;
	uint8_t			 pl[DN_LOCAL_MAX_REQ];
	int			 rc;

	dfs_wbuf_init(&out);
	c->s = dfs_sock_plain(c->fd);	/* the kernel vouches for the peer */
	while ((rc = local_recv(c, &h, pl)) == 0) {
		memset(&req, 0, sizeof req);
		req.dn = l->dn;
		req.s = c->s;
		req.peer = c->peer;
		req.cred = &c->cred;
		req.h = &h;
		req.pl = pl;
		req.out = &out;
		if ((rc = dn_server_dispatch(&req, true)) != 0)
			break;
	}
	dfs_wbuf_release(&out);
	if (rc != -ENOTCONN)
		dn_close_graceful(c->fd);
	pthread_mutex_lock(&l->lock);
	l->conns[c->slot] = -1;
	l->nconns--;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	dfs_sock_close(c->s);
	free(c);
	return NULL;
}

/* Give back the slot of a connection that never got its thread. */
static void
local_untake(struct dn_local *l, int slot, int fd)
{
	pthread_mutex_lock(&l->lock);
	l->conns[slot] = -1;
	l->nconns--;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	close(fd);
}

/* Hand an accepted socket to a new thread, or refuse it when full. */
static void
local_take(struct dn_local *l, int fd)
{
	struct local_conn	*c;
	struct ucred		 cred;
	socklen_t		 clen = sizeof cred;
	struct timeval		 tv = { .tv_sec = 5 };
	pthread_attr_t		 attr;
	pthread_t		 t;
	int			 slot = -1;

	pthread_mutex_lock(&l->lock);
	if (l->nconns < DN_LOCAL_MAX_CONNS) {
		for (slot = 0; l->conns[slot] >= 0; slot++)
			;
		l->conns[slot] = fd;
		l->nconns++;
	}
	pthread_mutex_unlock(&l->lock);
	if (slot < 0) {
		log_warn("refusing a local connection: %d already open",
		    DN_LOCAL_MAX_CONNS);
		struct dfs_sock *ls = dfs_sock_plain(fd);
		dfs_net_send_error(ls, 0, -EBUSY, "data node busy: %d local "
		    "connections open; try again later", DN_LOCAL_MAX_CONNS);
		dfs_sock_close(ls);
		return;
	}
	/* A reply with descriptors goes out in one blocking sendmsg. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	/* Who it is, from the kernel: a peer we cannot name is not served. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    clen != sizeof cred) {
		log_warn("refusing a local connection: no peer credentials "
		    "(SO_PEERCRED: %s)", strerror(errno));
		local_untake(l, slot, fd);
		return;
	}
	log_debug("local connection from pid %ld uid %ld gid %ld",
	    (long)cred.pid, (long)cred.uid, (long)cred.gid);
	c = xcalloc(1, sizeof *c);
	c->l = l;
	c->fd = fd;
	c->slot = slot;
	c->cred = cred;
	snprintf(c->peer, sizeof c->peer, "pid %ld uid %ld", (long)cred.pid,
	    (long)cred.uid);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, local_conn_main, c) != 0) {
		log_err("cannot start a thread for %s", c->peer);
		local_untake(l, slot, fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

/* The accept thread, until dn_local_stop shuts the listener down. */
static void *
local_accept_main(void *arg)
{
	struct dn_local	*l = arg;
	int		 fd;

	while (!atomic_load(&l->dn->stopping)) {
		fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (atomic_load(&l->dn->stopping)) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (fd >= 0) {
			local_take(l, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		log_warn("accept on %s: %s", l->path, strerror(errno));
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == ENOBUFS)
			usleep(100 * 1000);
		else if (errno == EINVAL || errno == EBADF)
			break;
	}
	return NULL;
}

/*
 * The socket's directory must be writable by nobody but its owner (see
 * the top of the file); one that other users cannot search is only
 * logged.  0 or -EPERM with *cause.
 */
static int
local_check_dir(const char *path, char **cause)
{
	struct stat	 sb;
	char		*dir = xstrdup(path), *slash;
	int		 rc = 0;

	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &sb) != 0) {
		rc = -errno;
		xasprintf(cause, "datanode.local_socket %s: cannot use its "
		    "directory %s: %s", path, dir, strerror(errno));
		goto out;
	}
	/* A group-writable one is fine when the group is the node's own
	 * (a umask of 002 with a group per user makes those). */
	if ((sb.st_mode & S_IWOTH) ||
	    ((sb.st_mode & S_IWGRP) && sb.st_gid != getegid())) {
		rc = -EPERM;
		xasprintf(cause, "datanode.local_socket %s: its directory %s "
		    "is writable by other users (mode %04o), who could put "
		    "their own socket there: choose a directory only its "
		    "owner may write", path, dir,
		    (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	/* Every directory on the way must be searchable by others. */
	for (;;) {
		if (stat(dir, &sb) == 0 && !(sb.st_mode & S_IXOTH)) {
			log_warn("short-circuit local reads on %s work for "
			    "this node's user only: other users cannot "
			    "search %s (mode %04o)", path, dir,
			    (unsigned)(sb.st_mode & 07777));
			break;
		}
		if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
			break;
		*slash = '\0';
	}
out:
	free(dir);
	return rc;
}

/*
 * Bind and listen on l->path.  A socket file left by a node that died is
 * replaced; one a live process answers on, or a file that is not a
 * socket, is an error.
 */
static int
local_bind(struct dn_local *l, char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	int			 fd, rc;

	if ((rc = local_check_dir(l->path, cause)) != 0)
		return rc;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, l->path, strlen(l->path) + 1);
	if (lstat(l->path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			xasprintf(cause, "datanode.local_socket %s exists and "
			    "is not a socket", l->path);
			return -EEXIST;
		}
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) < 0) {
			xasprintf(cause, "socket: %s", strerror(errno));
			return -errno;
		}
		rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
		close(fd);
		if (rc == 0) {
			xasprintf(cause, "datanode.local_socket %s is in use "
			    "by another process (another data node?)",
			    l->path);
			return -EADDRINUSE;
		}
		if (unlink(l->path) != 0 && errno != ENOENT) {
			xasprintf(cause, "cannot remove the stale socket %s: "
			    "%s", l->path, strerror(errno));
			return -errno;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    listen(fd, 128) != 0 || stat(l->path, &sb) != 0) {
		rc = -errno;
		xasprintf(cause, "cannot listen on %s: %s", l->path,
		    strerror(errno));
		close(fd);
		return rc;
	}
	/* Any local user may ask (the umask has no say): the token and
	 * the peer's credentials decide. */
	if (chmod(l->path, 0666) != 0) {
		rc = -errno;
		xasprintf(cause, "cannot chmod %s: %s", l->path,
		    strerror(errno));
		close(fd);
		unlink(l->path);
		return rc;
	}
	l->listen_fd = fd;
	l->dev = sb.st_dev;
	l->ino = sb.st_ino;
	return 0;
}

/* DATA_DIR.sock, beside the data directory.  Caller frees. */
static char *
local_auto_path(const char *dir)
{
	size_t	 n = strlen(dir);
	char	*path;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	xasprintf(&path, "%.*s.sock", (int)n, dir);
	return path;
}

/*
 * Start the local socket named by datanode.local_socket ("auto": beside
 * the data directory, DATA_DIR.sock; empty: none).  An automatic path
 * too long for a Unix socket turns local reads off with a warning; a
 * configured one that cannot be used is an error.
 */
int
dn_local_start(struct dn *dn, char **cause)
{
	const char		*conf = dfs_config_str(dn->cfg,
				    "datanode.local_socket");
	struct sockaddr_un	 sun;
	struct dn_local		*l;
	bool			 automatic = strcmp(conf, "auto") == 0;
	char			*path;
	int			 rc;

	if (conf[0] == '\0') {
		log_info("short-circuit local reads off "
		    "(datanode.local_socket is empty)");
		return 0;
	}
	if (automatic)
		path = local_auto_path(dn_store_dir(dn->store));
	else
		path = xstrdup(conf);
	if (strlen(path) >= sizeof sun.sun_path) {
		if (automatic) {
			log_warn("short-circuit local reads off: %s is longer "
			    "than a Unix socket path may be (%zu bytes); set "
			    "datanode.local_socket", path,
			    sizeof sun.sun_path - 1);
			free(path);
			return 0;
		}
		xasprintf(cause, "datanode.local_socket %s is longer than a "
		    "Unix socket path may be (%zu bytes)", path,
		    sizeof sun.sun_path - 1);
		free(path);
		return -ENAMETOOLONG;
	}
	l = xcalloc(1, sizeof *l);
	l->dn = dn;
	l->path = path;
	l->listen_fd = -1;
	for (int i = 0; i < DN_LOCAL_MAX_CONNS; i++)
		l->conns[i] = -1;
	if ((rc = local_bind(l, cause)) != 0) {
		free(l->path);
		free(l);
		return rc;
	}
	pthread_mutex_init(&l->lock, NULL);
	dfs_cond_init(&l->cond);
	dn->local = l;
	if (pthread_create(&l->accept_thread, NULL, local_accept_main,
	    l) != 0) {
		xasprintf(cause, "cannot start the local socket's thread");
		dn->local = NULL;
		close(l->listen_fd);
		unlink(l->path);
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->cond);
		free(l->path);
		free(l);
		return -EAGAIN;
	}
	log_info("short-circuit local reads on %s", l->path);
	return 0;
}

/* Connect to our own socket once, so a blocked accept(2) returns. */
static void
local_wake(struct dn_local *l)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, l->path, strlen(l->path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		(void)connect(fd, (struct sockaddr *)&sun, sizeof sun);
		close(fd);
	}
}

/*
 * Stop: close the listener and remove its socket file (if it is still
 * ours), cut the connections and wait a moment for their threads.
 * dn->stopping is already set.  Returns how many threads are still
 * running (they use the store: the caller must keep it).
 */
int
dn_local_stop(struct dn *dn)
{
	struct dn_local	*l = dn->local;
	int64_t		 deadline;
	struct stat	 sb;
	int		 left;

	if (l == NULL)
		return 0;
	/* shutdown(2) may not wake an accept(2) on a Unix socket: a
	 * connection of our own does, and the thread sees stopping. */
	shutdown(l->listen_fd, SHUT_RDWR);
	local_wake(l);
	pthread_join(l->accept_thread, NULL);
	close(l->listen_fd);
	if (stat(l->path, &sb) == 0 && sb.st_dev == l->dev &&
	    sb.st_ino == l->ino)
		unlink(l->path);
	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < DN_LOCAL_MAX_CONNS; i++)
		if (l->conns[i] >= 0)
			shutdown(l->conns[i], SHUT_RDWR);
	deadline = dfs_now_ms() + 5000;
	while (l->nconns > 0)
		if (dfs_cond_wait_until(&l->cond, &l->lock, deadline) != 0)
			break;
	left = l->nconns;
	pthread_mutex_unlock(&l->lock);
	if (left > 0) {
		log_warn("%d local connection%s still open at exit", left,
		    left == 1 ? "" : "s");
		return left;
	}
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l->path);
	free(l);
	dn->local = NULL;
	return 0;
}
