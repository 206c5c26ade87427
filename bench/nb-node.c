/*
 * nb-node.c: one of nn-bench's simulated data nodes speaking to the
 * namenode: its identity (a data node certificate of the cluster CA), its
 * connection from its own loopback address, and the data node's own
 * messages (lib/proto.c's encoders, as datanode/dn-nn.c sends them):
 * REGISTER, BLOCK_REPORT in parts, HEARTBEAT and its commands.  Callers
 * hold the node's use lock around each call.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "net.h"
#include "pki.h"
#include "tls.h"
#include "token.h"
#include "xmalloc.h"

#include "nb_i.h"

/* Node i's loopback source address: 127.a.b.c, never .0 or .255. */
void
nb_node_src(int i, char *buf, size_t cap)
{
	int	b = i / 250;

	snprintf(buf, cap, "127.%d.%d.%d", 1 + b / 256, b % 256,
	    1 + i % 250);
}

/* Node i's certificate and key, issued once (simdn-I) and then reused;
 * its TLS context from them.  0 or -errno. */
int
nb_node_identity(struct nb_sim *sim, struct dfs_pki_ca *ca,
    const char *ca_dir, struct nb_node *nd, char **cause)
{
	struct dfs_pki_request	 req;
	struct dfs_config	*c;
	char			*crt, *key, name[DFS_PKI_NAME_MAX + 1];
	const char		*crl;
	int			 rc = 0;

	snprintf(name, sizeof name, "simdn-%d", nd->idx);
	xasprintf(&crt, "%s/issued/%s.crt", ca_dir, name);
	xasprintf(&key, "%s/issued/%s.key", ca_dir, name);
	if (access(crt, F_OK) != 0 || access(key, F_OK) != 0) {
		memset(&req, 0, sizeof req);
		req.id.role = DFS_ROLE_DATANODE;
		snprintf(req.id.name, sizeof req.id.name, "%s", name);
		req.hosts[req.nhosts++] = nd->src;
		if ((rc = dfs_pki_ca_issue(ca, &req, NULL, NULL, NULL,
		    cause)) != 0)
			goto out;
	}
	c = dfs_config_create();
	crl = dfs_config_str(sim->cfg, "tls.crl");
	if ((rc = dfs_config_set(c, "tls.ca", dfs_config_str(sim->cfg,
	    "tls.ca"), cause)) == 0 &&
	    (crl[0] == '\0' || (rc = dfs_config_set(c, "tls.crl", crl,
	    cause)) == 0) &&
	    (rc = dfs_config_set(c, "tls.cert", crt, cause)) == 0 &&
	    (rc = dfs_config_set(c, "tls.key", key, cause)) == 0)
		rc = dfs_tls_open(c, &nd->tls, cause);
	dfs_config_free(c);
out:
	free(crt);
	free(key);
	return rc;
}

/* A TCP connection to the namenode from the node's own address, then
 * the handshake and HELLO.  0 or -errno. */
int
nb_node_connect(struct nb_sim *sim, struct nb_node *nd, char **cause)
{
	struct addrinfo		 hints = { .ai_family = AF_INET,
				     .ai_socktype = SOCK_STREAM }, *res = NULL;
	struct sockaddr_in	 from = { .sin_family = AF_INET };
	struct dfs_sock		*s;
	char			 host[256], port[8];
	uint16_t		 p;
	int			 fd, rc, err = 0, one = 1;
	int			 timeout = (int)dfs_config_int(sim->cfg,
				     "client.timeout");
	socklen_t		 elen = sizeof err;

	if ((rc = dfs_hostport_split(sim->nn_addr, host, sizeof host, &p,
	    cause)) != 0)
		return rc;
	snprintf(port, sizeof port, "%u", p);
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		xasprintf(cause, "%s: %s", sim->nn_addr, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	inet_pton(AF_INET, nd->src, &from.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
	    (connect(fd, res->ai_addr, res->ai_addrlen) != 0 &&
	    errno != EINPROGRESS)) {
		rc = -errno;
		goto fail;
	}
	if ((rc = dfs_net_wait(fd, POLLOUT, dfs_now_ms() + timeout)) != 0)
		goto fail;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	if (err != 0) {
		rc = -err;
		goto fail;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	freeaddrinfo(res);
	s = dfs_sock_plain(fd);
	if ((rc = dfs_sock_start_tls(s, nd->tls, DFS_ROLE_NAMENODE, timeout,
	    cause)) != 0) {
		dfs_sock_close(s);
		return rc;
	}
	return dfs_conn_wrap(s, sim->nn_addr, timeout, &nd->c, cause);
fail:
	xasprintf(cause, "cannot connect to %s from %s: %s", sim->nn_addr,
	    nd->src, strerror(-rc));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

/* The node's space: room for anything, used as its replicas say. */
static void
nb_node_usage(struct nb_node *nd, struct dfs_dn_usage *u)
{
	u->capacity = NB_CAPACITY;
	u->dfs_used = (uint64_t)nd->n * NB_BLOCK_LEN;
	u->used = u->dfs_used;
}

/* REGISTER, as a node that has not joined the cluster yet. */
int
nb_node_register(struct nb_sim *sim, struct nb_node *nd, char **cause)
{
	struct dfs_dn_usage	 u;
	struct dfs_rbuf		 r;
	struct dfs_wbuf		*b;
	char			 cluster[DFS_MAX_CLUSTER_ID + 1];
	uint32_t		 hb;
	int			 rc;

	nb_node_usage(nd, &u);
	pthread_mutex_lock(&sim->lock);
	snprintf(cluster, sizeof cluster, "%s", sim->cluster);
	pthread_mutex_unlock(&sim->lock);
	b = dfs_conn_begin(nd->c, DFS_DN_REGISTER);
	dfs_proto_put_register(b, cluster, nd->uuid, nd->addr, &u);
	if ((rc = dfs_conn_call(nd->c, DFS_DN_REGISTERED, &r, cause)) != 0)
		return rc;
	if (dfs_proto_get_registered(&r, &nd->id, &hb, cluster,
	    sizeof cluster) != 0) {
		xasprintf(cause, "malformed REGISTERED reply");
		return -EPROTO;
	}
	pthread_mutex_lock(&sim->lock);
	if (sim->cluster[0] == '\0')
		snprintf(sim->cluster, sizeof sim->cluster, "%s", cluster);
	sim->heartbeat_ms = hb < 100 ? 100 : hb;
	pthread_mutex_unlock(&sim->lock);
	nd->last_ms = dfs_now_ms();
	return 0;
}

/* The node's whole report, in parts as a data node sends it. */
int
nb_node_report(struct nb_sim *sim, struct nb_node *nd, char **cause)
{
	struct dfs_report_part	 p = { .node = nd->id };
	struct dfs_rbuf		 r;
	struct dfs_wbuf		*b;
	size_t			 part = sim->o->part, at = 0;
	int			 rc = 0;

	p.nparts = nd->n == 0 ? 1 : (uint32_t)((nd->n + part - 1) / part);
	p.report = ((uint64_t)dfs_now_ms() << 16 | (nd->reports++ & 0xffff)) &
	    INT64_MAX;
	for (p.part = 0; p.part < p.nparts && rc == 0; p.part++) {
		p.n = (uint32_t)(nd->n - at < part ? nd->n - at : part);
		b = dfs_conn_begin(nd->c, DFS_DN_BLOCK_REPORT);
		dfs_proto_put_report_part(b, sim->cluster, &p);
		for (size_t i = at; i < at + p.n; i++)
			dfs_proto_put_replica(b, nd->v[i].block, nd->v[i].gen,
			    NB_BLOCK_LEN, 0);
		at += p.n;
		rc = dfs_conn_call(nd->c, DFS_MSG_OK, &r, cause);
	}
	return rc;
}

/* A node the namenode does not know (declared dead, or restarted)
 * registers again and reports, as a data node does. */
int
nb_node_again(struct nb_sim *sim, struct nb_node *nd, char **cause)
{
	int	rc;

	free(*cause);
	*cause = NULL;
	pthread_mutex_lock(&sim->lock);
	sim->reregister++;
	pthread_mutex_unlock(&sim->lock);
	if ((rc = nb_node_register(sim, nd, cause)) != 0)
		return rc;
	return nb_node_report(sim, nd, cause);
}

/* Count a heartbeat reply's commands, each decoded within its bounds as
 * datanode/dn-nn.c does; an unknown kind ends the list.  -EBADMSG when
 * malformed. */
static int
nb_node_commands(struct nb_sim *sim, struct dfs_rbuf *r)
{
	struct dfs_token_key	keys[DFS_TOKEN_MAX_KEYS];
	struct dfs_lblock	lb;
	uint32_t		n = dfs_get_u32(r), i;
	bool			rereg = false;

	for (i = 0; i < n && r->err == 0; i++) {
		switch (dfs_get_u8(r)) {
		case DFS_CMD_DELETE:
		case DFS_CMD_VERIFY:
			(void)dfs_get_u64(r);
			(void)dfs_get_u64(r);
			break;
		case DFS_CMD_REPLICATE:
			dfs_proto_get_lblock(r, &lb);
			break;
		case DFS_CMD_REREGISTER:
			rereg = true;
			break;
		case DFS_CMD_KEYS:
			(void)dfs_token_get_keys(r, keys, DFS_TOKEN_MAX_KEYS);
			break;
		default:
			r->err = -EBADMSG;
			break;
		}
	}
	pthread_mutex_lock(&sim->lock);
	sim->commands += i;
	sim->reregister += rereg;
	pthread_mutex_unlock(&sim->lock);
	return r->err != 0 ? -EBADMSG : rereg ? -ENOENT : 0;
}

/* One HEARTBEAT; a node told to register again does, and reports. */
int
nb_node_heartbeat(struct nb_sim *sim, struct nb_node *nd, char **cause)
{
	struct dfs_dn_usage	 u;
	struct dfs_rbuf		 r;
	struct dfs_wbuf		*b;
	int			 rc;

	nb_node_usage(nd, &u);
	b = dfs_conn_begin(nd->c, DFS_DN_HEARTBEAT);
	dfs_proto_put_heartbeat(b, sim->cluster, nd->id, &u, 0);
	if ((rc = dfs_conn_call(nd->c, DFS_DN_COMMANDS, &r, cause)) != 0)
		return rc;
	nd->last_ms = dfs_now_ms();
	rc = nb_node_commands(sim, &r);
	if (rc == -EBADMSG) {
		xasprintf(cause, "malformed COMMANDS reply");
		return rc;
	}
	if (rc == -ENOENT && ((rc = nb_node_register(sim, nd, cause)) != 0 ||
	    (rc = nb_node_report(sim, nd, cause)) != 0))
		return rc;
	return 0;
}

/* The node that namenode id names, or NULL (a real data node). */
struct nb_node *
nb_node_find(struct nb_sim *sim, dfs_node_id id)
{
	for (int i = 0; i < sim->nnodes; i++)
		if (sim->nodes[i].id == id)
			return &sim->nodes[i];
	return NULL;
}

/* Remember that node nd holds (block, gen). */
void
nb_node_hold(struct nb_node *nd, dfs_block_id block, uint64_t gen)
{
	pthread_mutex_lock(&nd->lock);
	if (nd->n == nd->cap) {
		nd->cap = nd->cap == 0 ? 64 : nd->cap * 2;
		nd->v = xrealloc(nd->v, nd->cap * sizeof *nd->v);
	}
	nd->v[nd->n].block = block;
	nd->v[nd->n].gen = gen;
	nd->n++;
	pthread_mutex_unlock(&nd->lock);
}

