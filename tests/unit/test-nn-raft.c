/*
 * test-nn-raft.c: three Raft members (nn-raft.c over libraft) in one
 * process, each with its own namenode certificate from a real CA and its
 * own TLS listener on loopback, as three namenodes would be: they elect a
 * leader, a follower refuses proposals (-EREMOTE), 50 entries proposed on
 * the leader are applied in the same order on all three, the leader
 * stopped, the two left elect another and commit more, and the stopped one
 * started again catches up from a snapshot (the log it missed compacted
 * away) and the entries after it.  A peer whose certificate is not a
 * namenode's, or that names no other member, is refused before any Raft
 * byte.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "config.h"
#include "net.h"
#include "pki.h"
#include "proto.h"
#include "tls.h"
#include "xmalloc.h"

#include "../../namenode/nn_raft.h"

#define N		3
#define ENTRIES		50
#define WAIT_MS		60000	/* elections take ~1 s; 60x margin */

struct member {
	uint64_t	 id;
	int		 nconn;		/* connection threads running */
	struct nn_raft	*stopped[4];	/* freed at the end */
	int		 nstopped;
	char		 addr[64];
	char		 dir[512];
	struct dfs_tls	*tls;
	int		 lfd;		/* listening */
	pthread_t	 acceptor;
	volatile bool	 closing;
	struct nn_raft	*raft;
	pthread_mutex_t	 lock;
	uint32_t	 log[4 * ENTRIES];	/* values applied, in order */
	unsigned	 nlog;
	unsigned	 restores;	/* snapshots installed */
};

static char		 tmpdir[] = "/tmp/test-nn-raft.XXXXXX";
static struct member	 m[N];
static struct dfs_tls	*user_tls;

/* ----- the state machine: a list of numbers -------------------------- */

static int
sm_apply(void *arg, const void *buf, size_t len)
{
	struct member	*x = arg;
	uint32_t	 v;

	if (len != sizeof v)
		return -EINVAL;
	memcpy(&v, buf, sizeof v);
	pthread_mutex_lock(&x->lock);
	if (x->nlog < sizeof x->log / sizeof x->log[0])
		x->log[x->nlog++] = v;
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static int
sm_snapshot(void *arg, void **buf, size_t *len)
{
	struct member	*x = arg;

	pthread_mutex_lock(&x->lock);
	*len = x->nlog * sizeof x->log[0];
	*buf = xmalloc(*len + 1);
	memcpy(*buf, x->log, *len);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static int
sm_restore(void *arg, const void *buf, size_t len)
{
	struct member	*x = arg;

	x->restores++;
	if (len % sizeof x->log[0] != 0 || len > sizeof x->log)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	memcpy(x->log, buf, len);
	x->nlog = len / sizeof x->log[0];
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/* ----- a namenode's listener, reduced to RAFT_HELLO --------------------- */

struct conn_args {
	struct member	*x;
	int		 fd;
};

static void *
conn_main(void *arg)
{
	struct conn_args	*a = arg;
	struct member		*x = a->x;
	struct dfs_sock		*s = NULL;
	struct dfs_frame_hdr	 h;
	struct dfs_wbuf		 b;
	char			*cause = NULL;

	dfs_wbuf_init(&b);
	if (dfs_sock_accept(x->tls, a->fd, 5000, &s, &cause) != 0)
		goto out;
	if (dfs_net_recv_frame(s, &h, &b, 5000, &cause) != 0 ||
	    h.type != DFS_NN_RAFT_HELLO || x->raft == NULL)
		goto out;
	nn_raft_hello(x->raft, s, h.req_id, b.data, h.len);
out:
	dfs_sock_close(s);
	dfs_wbuf_release(&b);
	free(cause);
	free(a);
	pthread_mutex_lock(&x->lock);
	x->nconn--;
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

static void *
acceptor_main(void *arg)
{
	struct member		*x = arg;
	struct conn_args	*a;
	struct pollfd		 pfd;
	pthread_t		 t;
	int			 fd;

	while (!x->closing) {
		pfd.fd = x->lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((fd = accept(x->lfd, NULL, NULL)) < 0)
			continue;
		a = xcalloc(1, sizeof *a);
		a->x = x;
		a->fd = fd;
		pthread_mutex_lock(&x->lock);
		x->nconn++;
		pthread_mutex_unlock(&x->lock);
		if (pthread_create(&t, NULL, conn_main, a) != 0) {
			pthread_mutex_lock(&x->lock);
			x->nconn--;
			pthread_mutex_unlock(&x->lock);
			close(fd);
			free(a);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

/* ----- set-up --------------------------------------------------------- */

/* A TLS context with certificate name of role issued by the CA. */
static struct dfs_tls *
tls_for(const char *name, enum dfs_role role)
{
	struct dfs_pki_request	 req;
	struct dfs_pki_ca	*ca = NULL;
	struct dfs_config	*cfg = dfs_config_create();
	struct dfs_tls		*tls = NULL;
	char			*ca_dir, *crt = NULL, *key = NULL, *cause = NULL;

	xasprintf(&ca_dir, "%s/ca", tmpdir);
	memset(&req, 0, sizeof req);
	req.id.role = role;
	snprintf(req.id.name, sizeof req.id.name, "%s", name);
	req.hosts[0] = "127.0.0.1";
	req.nhosts = 1;
	if (dfs_pki_ca_open(ca_dir, &ca, &cause) != 0 ||
	    dfs_pki_ca_issue(ca, &req, NULL, &crt, &key, &cause) != 0)
		fail_msg("issue %s: %s", name, cause);
	if (dfs_config_set(cfg, "tls.ca", dfs_pki_ca_cert_path(ca),
	    &cause) != 0 ||
	    dfs_config_set(cfg, "tls.crl", dfs_pki_ca_crl_path(ca),
	    &cause) != 0 ||
	    dfs_config_set(cfg, "tls.cert", crt, &cause) != 0 ||
	    dfs_config_set(cfg, "tls.key", key, &cause) != 0 ||
	    dfs_tls_open(cfg, &tls, &cause) != 0)
		fail_msg("tls %s: %s", name, cause);
	dfs_pki_ca_free(ca);
	dfs_config_free(cfg);
	free(ca_dir);
	free(crt);
	free(key);
	return tls;
}

static void
member_start(struct member *x)
{
	struct nn_raft_conf	 conf;
	struct nn_raft_cb	 cb = { x, sm_apply, sm_snapshot, sm_restore };
	char			*cause = NULL;

	memset(&conf, 0, sizeof conf);
	conf.id = x->id;
	conf.address = x->addr;
	conf.dir = x->dir;
	conf.nmembers = N;
	for (int i = 0; i < N; i++) {
		conf.ids[i] = m[i].id;
		conf.addrs[i] = m[i].addr;
	}
	conf.election_ms = 1000;
	conf.timeout_ms = 5000;
	/* Small, so the log is compacted while a member is away and it
	 * catches up from a snapshot. */
	conf.snapshot_every = 16;
	conf.snapshot_trailing = 4;
	if (nn_raft_start(&conf, &cb, x->tls, &x->raft, &cause) != 0)
		fail_msg("member %llu: %s", (unsigned long long)x->id, cause);
}

static int
setup(void **state)
{
	char	*ca_dir, *cause = NULL;

	/* As the daemons: a peer gone is an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	xasprintf(&ca_dir, "%s/ca", tmpdir);
	if (dfs_pki_ca_init(ca_dir, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return -1;
	}
	free(ca_dir);
	for (int i = 0; i < N; i++) {
		struct member *x = &m[i];
		char name[32];
		x->id = (uint64_t)i + 1;
		snprintf(name, sizeof name, "nn%d", i + 1);
		x->tls = tls_for(name, DFS_ROLE_NAMENODE);
		snprintf(x->dir, sizeof x->dir, "%s/raft%d", tmpdir, i + 1);
		if (mkdir(x->dir, 0700) != 0)
			return -1;
		if (dfs_net_listen("127.0.0.1:0", &x->lfd, &cause) != 0) {
			fprintf(stderr, "%s\n", cause);
			return -1;
		}
		snprintf(x->addr, sizeof x->addr, "127.0.0.1:%d",
		    dfs_net_local_port(x->lfd));
		pthread_mutex_init(&x->lock, NULL);
		if (pthread_create(&x->acceptor, NULL, acceptor_main, x) != 0)
			return -1;
	}
	user_tls = tls_for("alice", DFS_ROLE_USER);
	return 0;
}

static int
teardown(void **state)
{
	char	*cmd;

	/* No new connections; then every member stops, which ends the
	 * connections it carried; only then are they freed, with the
	 * certificates the connection threads used. */
	for (int i = 0; i < N; i++) {
		m[i].closing = true;
		pthread_join(m[i].acceptor, NULL);
		close(m[i].lfd);
	}
	for (int i = 0; i < N; i++)
		nn_raft_stop(m[i].raft);
	for (int i = 0; i < N; i++) {
		for (int k = 0; k < 3000; k++) {
			pthread_mutex_lock(&m[i].lock);
			int n = m[i].nconn;
			pthread_mutex_unlock(&m[i].lock);
			if (n == 0)
				break;
			usleep(10 * 1000);
		}
		nn_raft_free(m[i].raft);
		m[i].raft = NULL;
		for (int k = 0; k < m[i].nstopped; k++)
			nn_raft_free(m[i].stopped[k]);
		dfs_tls_free(m[i].tls);
	}
	dfs_tls_free(user_tls);
	xasprintf(&cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	return 0;
}

/* ----- helpers ------------------------------------------------------- */

/* The member that leads, among the running ones, once all agree. */
static struct member *
wait_leader(void)
{
	int64_t	deadline = dfs_now_ms() + WAIT_MS;

	while (dfs_now_ms() < deadline) {
		struct member *leader = NULL;
		bool agreed = true;
		for (int i = 0; i < N; i++) {
			struct nn_raft_status st;
			if (m[i].raft == NULL)
				continue;
			nn_raft_status(m[i].raft, &st);
			if (st.role == NN_RAFT_LEADER)
				leader = &m[i];
			else if (st.leader == 0)
				agreed = false;
		}
		if (leader != NULL && agreed) {
			for (int i = 0; i < N; i++) {
				struct nn_raft_status st;
				if (m[i].raft == NULL)
					continue;
				nn_raft_status(m[i].raft, &st);
				if (st.leader != leader->id)
					agreed = false;
			}
			if (agreed)
				return leader;
		}
		usleep(20 * 1000);
	}
	return NULL;
}

static unsigned
applied(struct member *x)
{
	unsigned	n;

	pthread_mutex_lock(&x->lock);
	n = x->nlog;
	pthread_mutex_unlock(&x->lock);
	return n;
}

/* Wait until x applied n entries. */
static bool
wait_applied(struct member *x, unsigned n)
{
	int64_t	deadline = dfs_now_ms() + WAIT_MS;

	while (dfs_now_ms() < deadline) {
		if (applied(x) >= n)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

static void
propose_range(struct member *leader, uint32_t from, uint32_t to)
{
	for (uint32_t v = from; v < to; v++)
		assert_int_equal(nn_raft_propose(leader->raft, &v, sizeof v),
		    0);
}

static void
assert_same_log(struct member *a, struct member *b, unsigned n)
{
	pthread_mutex_lock(&a->lock);
	pthread_mutex_lock(&b->lock);
	assert_true(a->nlog >= n && b->nlog >= n);
	assert_memory_equal(a->log, b->log, n * sizeof a->log[0]);
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_unlock(&a->lock);
}

/* ----- tests ---------------------------------------------------------- */

static void
test_group(void **state)
{
	struct member	*leader, *old;
	uint32_t	 v = 7;

	for (int i = 0; i < N; i++)
		member_start(&m[i]);
	assert_non_null(leader = wait_leader());
	/* A follower does not take proposals: the client goes to the
	 * leader. */
	for (int i = 0; i < N; i++)
		if (&m[i] != leader)
			assert_int_equal(nn_raft_propose(m[i].raft, &v,
			    sizeof v), -EREMOTE);
	propose_range(leader, 0, ENTRIES);
	for (int i = 0; i < N; i++) {
		assert_true(wait_applied(&m[i], ENTRIES));
		for (uint32_t k = 0; k < ENTRIES; k++)
			assert_int_equal(m[i].log[k], k);
	}

	/* The leader goes; the two left elect another and go on. */
	old = leader;
	nn_raft_stop(old->raft);
	old->stopped[old->nstopped++] = old->raft;	/* freed at the end */
	old->raft = NULL;
	assert_non_null(leader = wait_leader());
	assert_ptr_not_equal(leader, old);
	propose_range(leader, ENTRIES, 2 * ENTRIES);
	for (int i = 0; i < N; i++)
		if (m[i].raft != NULL)
			assert_true(wait_applied(&m[i], 2 * ENTRIES));

	/* The old leader comes back; the log it missed was compacted away,
	 * so it catches up from a snapshot, then the entries after it. */
	pthread_mutex_lock(&old->lock);
	old->nlog = 0;		/* it replays its log into a new state */
	pthread_mutex_unlock(&old->lock);
	member_start(old);
	assert_true(wait_applied(old, 2 * ENTRIES));
	assert_same_log(old, leader, 2 * ENTRIES);
	assert_true(old->restores > 0);
}

/* A connection from a user's certificate gets no Raft stream; nor does a
 * namenode naming a member id it may not use, nor a malformed hello. */
static void
test_not_a_namenode(void **state)
{
	struct dfs_sock		*s = NULL;
	struct dfs_frame_hdr	 h;
	struct dfs_wbuf		 b;
	struct dfs_rbuf		 r;
	char			*cause = NULL;

	dfs_wbuf_init(&b);
	assert_int_equal(dfs_sock_connect(user_tls, m[0].addr,
	    DFS_ROLE_NAMENODE, 5000, &s, &cause), 0);
	dfs_frame_begin(&b, DFS_NN_RAFT_HELLO, 9);
	dfs_put_u64(&b, 2);
	dfs_put_str(&b, m[1].addr);
	dfs_frame_end(&b);
	assert_int_equal(dfs_net_send(s, &b, 5000), 0);
	assert_int_equal(dfs_net_recv_frame(s, &h, &b, 5000, &cause), 0);
	assert_int_equal(h.type, DFS_MSG_ERROR);
	dfs_rbuf_init(&r, b.data, h.len);
	assert_int_equal(dfs_get_i32(&r), -EACCES);
	dfs_sock_close(s);

	/* A namenode claiming to be a member it is not (the receiver
	 * itself, or an id outside the group) is refused too. */
	for (uint64_t id = 1; id <= 9; id += 8) {
		assert_int_equal(dfs_sock_connect(m[1].tls, m[0].addr,
		    DFS_ROLE_NAMENODE, 5000, &s, &cause), 0);
		dfs_wbuf_reset(&b);
		dfs_frame_begin(&b, DFS_NN_RAFT_HELLO, 9);
		dfs_put_u64(&b, id);
		dfs_put_str(&b, m[1].addr);
		dfs_frame_end(&b);
		assert_int_equal(dfs_net_send(s, &b, 5000), 0);
		assert_int_equal(dfs_net_recv_frame(s, &h, &b, 5000, &cause),
		    0);
		assert_int_equal(h.type, DFS_MSG_ERROR);
		dfs_rbuf_init(&r, b.data, h.len);
		assert_int_equal(dfs_get_i32(&r), -EACCES);
		dfs_sock_close(s);
	}

	/* A truncated hello is refused as malformed. */
	assert_int_equal(dfs_sock_connect(m[1].tls, m[0].addr,
	    DFS_ROLE_NAMENODE, 5000, &s, &cause), 0);
	dfs_wbuf_reset(&b);
	dfs_frame_begin(&b, DFS_NN_RAFT_HELLO, 9);
	dfs_put_u32(&b, 2);
	dfs_frame_end(&b);
	assert_int_equal(dfs_net_send(s, &b, 5000), 0);
	assert_int_equal(dfs_net_recv_frame(s, &h, &b, 5000, &cause), 0);
	assert_int_equal(h.type, DFS_MSG_ERROR);
	dfs_rbuf_init(&r, b.data, h.len);
	assert_int_equal(dfs_get_i32(&r), -EBADMSG);
	dfs_sock_close(s);
	dfs_wbuf_release(&b);
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_not_a_namenode),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
