/*
 * cp-group.c: a local cluster's group of namenodes (dfs cluster up
 * --namenodes N, issue 12), for cp-cluster.c.
 *
 * Member 1 is the cluster's "namenode" as in a cluster of one, so a
 * single namenode's files are exactly what they were; members 2..N are
 * DIR/namenodeK.conf, DIR/namenodeK/, DIR/logs/namenodeK.log, each with
 * its own port and certificate.  Every member's config names the whole
 * group (namenode.peers) and its own seat (namenode.id); every client's
 * and data node's namenode.address lists all the members, and they find
 * the leader from there.
 *
 * The members start from one namespace: member 1 formats it, and the
 * others get a copy of its database before anything runs.  Two members
 * formatted apart would disagree on the root directory's times and the
 * cluster id, and the first changeset touching the root would not apply.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_i.h"
#include "cp_i.h"
#include "private.h"
#include "xmalloc.h"

/* Read the configs of members 2.. back, and the address list. */
void
cp_group_load(struct cp_cluster *cl)
{
	char	name[32];

	for (cl->nnn = 0; cl->nnn < CP_MAX_NAMENODES - 1; cl->nnn++) {
		struct cp_daemon *d = &cl->nnx[cl->nnn];
		snprintf(name, sizeof name, "namenode%d", cl->nnn + 2);
		cp_daemon_init(d, name, "dfs-namenode");
		if (cp_read_addr(cl, d, "namenode.listen") != 0)
			break;
	}
	cp_group_list(cl);
}

/* cl->nn_list: every member's address, comma-separated. */
void
cp_group_list(struct cp_cluster *cl)
{
	size_t	n;

	snprintf(cl->nn_list, sizeof cl->nn_list, "%s", cl->nn.addr);
	for (int i = 0; i < cl->nnn; i++) {
		n = strlen(cl->nn_list);
		snprintf(cl->nn_list + n, sizeof cl->nn_list - n, ",%s",
		    cl->nnx[i].addr);
	}
}

/* Member k (1..) of the group. */
struct cp_daemon *
cp_group_member(const struct cp_cluster *cl, int k)
{
	return k == 1 ? (struct cp_daemon *)&cl->nn :
	    (struct cp_daemon *)&cl->nnx[k - 2];
}

/* namenode.id and namenode.peers of member k, in c. */
void
cp_group_seat(const struct cp_cluster *cl, struct dfs_config *c, int k)
{
	char	peers[sizeof cl->nn_list + 8 * CP_MAX_NAMENODES], id[16];
	size_t	n = 0;

	for (int i = 0; i <= cl->nnn; i++) {
		const struct cp_daemon *d = i == 0 ? &cl->nn : &cl->nnx[i - 1];
		n += (size_t)snprintf(peers + n, sizeof peers - n, "%s%d=%s",
		    i > 0 ? "," : "", i + 1, d->addr);
	}
	snprintf(id, sizeof id, "%d", k);
	cp_set(c, "namenode.id", id);
	cp_set(c, "namenode.peers", peers);
}

/*
 * A new group of n members: ports for members 2..n (member 1's is
 * cl->nn.addr, chosen already).  0, or -1 with a message.
 */
int
cp_group_new(struct cp_cluster *cl, int n)
{
	char	*cause = NULL, name[32];

	for (cl->nnn = 0; cl->nnn < n - 1; cl->nnn++) {
		struct cp_daemon *d = &cl->nnx[cl->nnn];
		snprintf(name, sizeof name, "namenode%d", cl->nnn + 2);
		cp_daemon_init(d, name, "dfs-namenode");
		if (cp_ports_free_addr(cl->dir, d->addr, sizeof d->addr,
		    &cause) != 0) {
			fprintf(stderr, "dfs cluster up: %s\n", cause);
			free(cause);
			return -1;
		}
	}
	cp_group_list(cl);
	return 0;
}

/* Copy one file, private, durably.  0 or -1. */
static int
cp_group_copy(const char *from, const char *to)
{
	char	 buf[65536];
	ssize_t	 n;
	int	 in, out, rc = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	if (n < 0 || fsync(out) != 0)
		rc = -1;
	close(in);
	if (close(out) != 0)
		rc = -1;
	return rc;
}

/*
 * Members 2.. start from member 1's freshly formatted namespace (see
 * above): its database files are copied into their directories.
 */
int
cp_group_seed(const struct cp_cluster *cl)
{
	static const char *const files[] = {
		"namespace.db", "namespace.db-wal", "namespace.db-shm"
	};
	char	*from, *to, *dir, *cause = NULL;

	for (int i = 0; i < cl->nnn; i++) {
		dir = cp_path(cl, "%s", cl->nnx[i].name);
		if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
		    dfs_private_dir(dir, &cause) != 0) {
			fprintf(stderr, "dfs cluster up: %s: %s\n", dir,
			    cause != NULL ? cause : strerror(errno));
			free(cause);
			free(dir);
			return -1;
		}
		for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
			xasprintf(&from, "%s/namenode/%s", cl->dir, files[f]);
			xasprintf(&to, "%s/%s", dir, files[f]);
			if (cp_group_copy(from, to) != 0) {
				fprintf(stderr, "dfs cluster up: cannot copy "
				    "%s to %s: %s\n", from, to,
				    strerror(errno));
				free(from);
				free(to);
				free(dir);
				return -1;
			}
			free(from);
			free(to);
		}
		free(dir);
	}
	return 0;
}

struct group_status {
	uint64_t	id;
	uint8_t		role;
	uint64_t	term;
	uint64_t	applied;
	uint64_t	leader;
	char		leader_addr[256];
};

static void
build_nothing(struct dfs_wbuf *b, void *arg)
{
}

static int
parse_status(struct dfs_rbuf *r, void *arg)
{
	struct group_status	*s = arg;

	s->id = dfs_get_u64(r);
	s->role = dfs_get_u8(r);
	s->term = dfs_get_u64(r);
	s->applied = dfs_get_u64(r);
	s->leader = dfs_get_u64(r);
	dfs_get_strbuf(r, s->leader_addr, sizeof s->leader_addr);
	return dfs_rbuf_done(r);
}

static const char *
cp_group_role(uint8_t role)
{
	switch (role) {
	case DFS_GROUP_SINGLE:
		return "single";
	case DFS_GROUP_LEADER:
		return "leader";
	case DFS_GROUP_FOLLOWER:
		return "follower";
	case DFS_GROUP_CANDIDATE:
		return "candidate";
	case DFS_GROUP_BROKEN:
		return "broken";
	default:
		return "unavailable";
	}
}

/*
 * Ask one namenode for its seat, as the cluster's client: "leader term 3
 * applied 120".  Into buf; "-" when it does not answer.
 */
void
cp_group_seat_of(const struct cp_cluster *cl, const struct cp_daemon *d,
    char *buf, size_t len)
{
	struct dfs_config	*cc = dfs_config_create();
	struct dfs_client	*c = NULL;
	struct dfs_tls		*tls = NULL;
	struct group_status	 s;
	char			*path = cp_path(cl, "%s", "client.conf");
	char			*cause = NULL;

	snprintf(buf, len, "-");
	memset(&s, 0, sizeof s);
	if (dfs_config_load(cc, path, &cause) == 0 &&
	    dfs_tls_open(cc, &tls, &cause) == 0 &&
	    dfs_client_create(d->addr, tls, 2000, &c, &cause) == 0 &&
	    dfs_client_call(c, DFS_NN_GROUP_STATUS, DFS_NN_GROUP_STATUS_REPLY,
	    build_nothing, NULL, parse_status, &s, &cause) == 0)
		snprintf(buf, len, "%s term %llu applied %llu",
		    cp_group_role(s.role), (unsigned long long)s.term,
		    (unsigned long long)s.applied);
	dfs_client_free(c);
	dfs_config_free(cc);
	free(cause);
	free(path);
}

/* dfs cluster status: every daemon, and a group's members' seats. */
int
cp_group_status(const char *dir)
{
	struct cp_cluster	cl;
	int			stopped = 0;

	if (cp_cluster_load(&cl, dir) != 0)
		return 1;
	if (cl.nn.addr[0] == '\0') {
		fprintf(stderr, "dfs cluster status: no cluster in %s\n", dir);
		free(cl.dir);
		return 1;
	}
	printf("%-10s %-10s %-22s %-8s %s\n", "name", "role", "address", "pid",
	    "state");
	/* Members 1.. of the namenode group (i < 0), then data nodes. */
	for (int i = -1 - cl.nnn; i < cl.n; i++) {
		int k = i + 2 + cl.nnn;		/* (member k, for i < 0) */
		const struct cp_daemon *d = i < 0 ? cp_group_member(&cl, k) :
		    &cl.dn[i];
		pid_t pid = cp_running(&cl, d);
		char spid[16] = "-", seat[128] = "";
		if (pid > 0)
			snprintf(spid, sizeof spid, "%ld", (long)pid);
		else
			stopped++;
		/* A group's members say their seat: role, term, applied. */
		if (i < 0 && cl.nnn > 0 && pid > 0) {
			seat[0] = ' ';
			cp_group_seat_of(&cl, d, seat + 1, sizeof seat - 1);
		}
		printf("%-10s %-10s %-22s %-8s %s%s\n", d->name, i < 0 ?
		    "namenode" : "datanode", d->addr, spid, pid > 0 ?
		    "running" : "stopped", seat);
	}
	/* The mount, when "up --mount" started one. */
	char *pidf = cp_path(&cl, "run/%s.pid", "mount");
	if (access(pidf, F_OK) == 0) {
		struct cp_daemon m;
		char spid[16] = "-";
		cp_mount_init(&cl, &m);
		pid_t pid = cp_running(&cl, &m);
		if (pid > 0)
			snprintf(spid, sizeof spid, "%ld", (long)pid);
		else
			stopped++;
		printf("%-10s %-10s %-22s %-8s %s\n", m.name, "mount", "mnt",
		    spid, pid > 0 ? "running" : "stopped");
		free(m.args[0]);
	}
	free(pidf);
	free(cl.dir);
	return stopped == 0 ? 0 : 3;
}

/*
 * dfs cluster namenode join DIR ID: member ID, its state gone, is started
 * with --join (nn-join.c): it takes the leader's namespace and comes back
 * into the group.  Waits until its log says it is a voter again, or it
 * has stopped (its log's last lines say why).
 */
int
cp_group_join(const char *dir, const char *sid)
{
	struct cp_cluster	 cl;
	struct cp_daemon	*d;
	char			*log, *end, line[1024];
	long			 from = 0;
	int			 k, rc = 1;
	FILE			*f;

	if (cp_cluster_load(&cl, dir) != 0)
		return 1;
	k = (int)strtol(sid, &end, 10);
	if (*end != '\0' || cl.nnn == 0 || k < 1 || k > cl.nnn + 1) {
		fprintf(stderr, "dfs cluster namenode join: %s has %s; ID is "
		    "1..%d\n", dir, cl.nnn == 0 ? "one namenode, no group" :
		    "a group of namenodes", cl.nnn + 1);
		free(cl.dir);
		return 1;
	}
	d = cp_group_member(&cl, k);
	if (cp_running(&cl, d) > 0) {
		fprintf(stderr, "dfs cluster namenode join: %s is running; "
		    "a member joins again only once it is stopped and its "
		    "state directory emptied\n", d->name);
		free(cl.dir);
		return 1;
	}
	log = cp_path(&cl, "logs/%s.log", d->name);
	if ((f = fopen(log, "r")) != NULL) {
		fseek(f, 0, SEEK_END);
		from = ftell(f);
		fclose(f);
	}
	if (cp_start_with(&cl, d, "--join") != 0)
		goto out;
	/* Copying the namespace and catching up with the log: a while. */
	for (int t = 0; t < 1200 && rc != 0; t++) {
		usleep(100 * 1000);
		if ((f = fopen(log, "r")) != NULL) {
			fseek(f, from, SEEK_SET);
			while (rc != 0 && fgets(line, sizeof line, f) != NULL)
				if (strstr(line, "is a voter of the group "
				    "again") != NULL)
					rc = 0;
			fclose(f);
		}
		if (rc != 0 && cp_running(&cl, d) <= 0) {
			fprintf(stderr, "dfs cluster namenode join: %s "
			    "stopped\n", d->name);
			cp_log_tail(&cl, d);
			goto out;
		}
	}
	if (rc != 0)
		fprintf(stderr, "dfs cluster namenode join: %s did not join "
		    "within 120 s (see %s)\n", d->name, log);
	else
		printf("%s (member %d) joined the group again\n", d->name, k);
out:
	free(log);
	free(cl.dir);
	return rc;
}
