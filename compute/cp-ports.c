/*
 * cp-ports.c: the TCP ports of the clusters "dfs cluster up" runs on this
 * machine.  Moved out of cp-cluster.c, which writes them into the daemons'
 * config files and starts the daemons that listen on them.
 *
 * A port is chosen by probing it with bind(), but the daemon binds it
 * seconds later, and a cluster keeps its ports for good: "up" on an
 * existing DIR starts a killed daemon on the port in its config file.  A
 * probe alone is not enough: two clusters starting at once probe the same
 * free port and both take it, and a port is free while its daemon is
 * down, so another cluster's probe takes it and the restart fails with
 * EADDRINUSE (both seen with test suites running clusters in parallel).
 *
 * So every port a cluster gets is also reserved, for as long as its
 * directory exists, in one directory shared by every "dfs cluster up" on
 * the machine and every user (world-writable and sticky, like /tmp):
 * CP_PORTS_DIR/PORT holds the absolute DIR of the cluster that has it.
 * A probe skips a reserved port; a reservation whose DIR is gone is stale
 * and is reclaimed, which is how reservations are released: there is no
 * command that removes a cluster, only rm -r of its DIR.  Choosing and
 * reserving happen under flock(2) of CP_PORTS_DIR/.lock, so two "up" at
 * once cannot both judge a port free; the kernel drops the lock of a
 * process that dies.  When the directory cannot be used at all, ports are
 * chosen by probing alone, as before, with a warning.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cp_i.h"
#include "net.h"
#include "xmalloc.h"

#define CP_PORTS_DIR	"/tmp/npdfs-ports"
#define CP_PORTS_LOCK	CP_PORTS_DIR "/.lock"
#define CP_PORTS_TRIES	256

/* Make the reservation directory if missing and lock it.  Caller closes. */
static int
cp_ports_lock(int *fdp, char **cause)
{
	struct stat	sb;
	int		fd = -1, rc;

	/* 1777 like /tmp, whatever the umask: every user's "up" uses it. */
	if (mkdir(CP_PORTS_DIR, 01777) == 0)
		(void)chmod(CP_PORTS_DIR, 01777);
	else if (errno != EEXIST)
		goto fail;
	if (lstat(CP_PORTS_DIR, &sb) != 0)
		goto fail;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	/* Open, not create, another user's lock (fs.protected_regular). */
	for (;;) {
		if ((fd = open(CP_PORTS_LOCK, O_RDONLY | O_CLOEXEC)) >= 0 ||
		    errno != ENOENT)
			break;
		if ((fd = open(CP_PORTS_LOCK, O_RDONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0644)) >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		goto fail;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			rc = -errno;
			close(fd);
			errno = -rc;
			goto fail;
		}
	}
	*fdp = fd;
	return 0;
fail:
	rc = -errno;
	xasprintf(cause, "cannot use %s: %s", CP_PORTS_DIR, strerror(-rc));
	return rc;
}

/*
 * Who holds port: 0 nobody (a stale reservation is removed), 1 dir itself,
 * -EADDRINUSE another cluster whose DIR exists (copied to owner), another
 * -errno when the reservation cannot be read or removed.  Assumes the lock.
 */
static int
cp_ports_holder(int port, const char *dir, char *owner, size_t cap)
{
	struct stat	 sb;
	char		*path, buf[PATH_MAX];
	ssize_t		 n;
	int		 fd, rc = 0;

	xasprintf(&path, "%s/%d", CP_PORTS_DIR, port);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (owner != NULL)
		snprintf(owner, cap, "%s", buf);
	if (strcmp(buf, dir) == 0) {
		rc = 1;
		goto out;
	}
	if (buf[0] == '/') {
		/* Unsure (EACCES, EIO...): the cluster may well be there. */
		if (stat(buf, &sb) == 0 ? S_ISDIR(sb.st_mode) :
		    errno != ENOENT && errno != ENOTDIR) {
			rc = -EADDRINUSE;
			goto out;
		}
	}
	/* Its cluster's DIR is gone (or it names none): stale. */
	if (unlink(path) != 0 && errno != ENOENT)
		rc = -errno;
out:
	free(path);
	return rc;
}

/* Reserve port for dir: create its file, which must not exist. */
static int
cp_ports_write(int port, const char *dir)
{
	char	*path;
	int	 fd, rc = 0;

	xasprintf(&path, "%s/%d", CP_PORTS_DIR, port);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) < 0) {
		rc = -errno;
		goto out;
	}
	(void)fchmod(fd, 0644);	/* every user's "up" reads it */
	if (dprintf(fd, "%s\n", dir) < 0) {
		rc = -EIO;
		unlink(path);
	}
	close(fd);
out:
	free(path);
	return rc;
}

/*
 * The ports to probe: below the kernel's ephemeral range, where no
 * outgoing connection takes a port between probe and bind.
 * NPDFS_TEST_PORT_RANGE=LO-HI narrows them, for the tests alone.
 */
static void
cp_ports_range(int *first, int *span)
{
	const char	*env = getenv("NPDFS_TEST_PORT_RANGE");
	int		 lo = 32768, hi = 60999;
	FILE		*f;

	if (env != NULL && sscanf(env, "%d-%d", &lo, &hi) == 2 && lo >= 1 &&
	    lo <= hi && hi <= 65535) {
		*first = lo;
		*span = hi - lo + 1;
		return;
	}
	lo = 32768;
	hi = 60999;
	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) != NULL) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = 32768;
		fclose(f);
	}
	if (lo > 11024) {
		*first = 10000;
		*span = lo - *first;
	} else {
		*first = hi + 1;
		*span = 65535 - hi;
	}
}

/* Whether port is free now (bind succeeds) and, when locked, reserved for
 * dir by this call. */
static bool
cp_ports_try(int port, const char *dir, bool locked)
{
	char	probe[32];
	int	fd;

	/* Any holder, this cluster's other daemons too. */
	if (locked && cp_ports_holder(port, dir, NULL, 0) != 0)
		return false;
	snprintf(probe, sizeof probe, "127.0.0.1:%d", port);
	if (dfs_net_listen(probe, &fd, NULL) != 0)
		return false;
	close(fd);
	return !locked || cp_ports_write(port, dir) == 0;
}

/*
 * A free TCP port on 127.0.0.1 for a daemon of the cluster in dir (an
 * absolute path), as "127.0.0.1:PORT", reserved for dir.  Ports are tried
 * in turn from a random start, so that clusters started together rarely
 * contend for the same one.
 */
int
cp_ports_free_addr(const char *dir, char *out, size_t cap, char **cause)
{
	int		 fd, lk = -1, first, span, start, port = 0, rc = 0;
	unsigned	 seed;
	char		*lcause = NULL;

	if (cp_ports_lock(&lk, &lcause) != 0) {
		fprintf(stderr, "dfs cluster: warning: %s; ports are not "
		    "reserved\n", lcause);
		free(lcause);
	}
	cp_ports_range(&first, &span);
	seed = (unsigned)getpid() ^ (unsigned)time(NULL) ^
	    (unsigned)clock();
	start = span > 0 ? (int)(rand_r(&seed) % (unsigned)span) : 0;
	for (int i = 0; i < span && i < CP_PORTS_TRIES; i++) {
		if (cp_ports_try(first + (start + i) % span, dir, lk >= 0)) {
			port = first + (start + i) % span;
			goto out;
		}
	}
	/* Everything tried was busy: let the kernel choose. */
	for (int i = 0; i < 16; i++) {
		if ((rc = dfs_net_listen("127.0.0.1:0", &fd, cause)) != 0)
			goto out;
		int p = dfs_net_local_port(fd);
		if (lk < 0 || (cp_ports_holder(p, dir, NULL, 0) == 0 &&
		    cp_ports_write(p, dir) == 0))
			port = p;
		close(fd);
		if (port != 0)
			goto out;
	}
	xasprintf(cause, "no free port to reserve in %s", CP_PORTS_DIR);
	rc = -EADDRINUSE;
out:
	if (port != 0)
		snprintf(out, cap, "127.0.0.1:%d", port);
	if (lk >= 0)
		close(lk);	/* and with it the lock */
	return rc;
}

/*
 * Reserve the port of addr ("HOST:PORT", from a config file) for dir,
 * if it is not already: a cluster made before reservations existed, or
 * whose reservation was lost, keeps its ports from now on.
 */
int
cp_ports_reserve(const char *dir, const char *addr, char **cause)
{
	const char	*colon = strrchr(addr, ':');
	char		 owner[PATH_MAX];
	int		 lk, port, rc;

	if (colon == NULL || (port = atoi(colon + 1)) <= 0 || port > 65535)
		return 0;	/* no port of ours to keep */
	if ((rc = cp_ports_lock(&lk, cause)) != 0)
		return rc;
	owner[0] = '\0';
	if ((rc = cp_ports_holder(port, dir, owner, sizeof owner)) == 0)
		rc = cp_ports_write(port, dir);
	if (rc == -EADDRINUSE)
		xasprintf(cause, "port %d is reserved in %s for the cluster in "
		    "%s", port, CP_PORTS_DIR, owner);
	else if (rc < 0)
		xasprintf(cause, "cannot reserve port %d in %s: %s", port,
		    CP_PORTS_DIR, strerror(-rc));
	close(lk);
	return rc < 0 ? rc : 0;
}

/* Keep the ports of an existing cluster's daemons reserved for it; a port
 * another cluster holds is only a warning, as its daemon may still bind. */
void
cp_ports_keep(const struct cp_cluster *cl)
{
	char	*cause = NULL;
	int	 rc;

	for (int i = -1; i < cl->n; i++) {
		const struct cp_daemon *d = i < 0 ? &cl->nn : &cl->dn[i];
		if ((rc = cp_ports_reserve(cl->dir, d->addr, &cause)) == 0)
			continue;
		fprintf(stderr, "dfs cluster up: warning: %s: %s\n", d->name,
		    cause);
		free(cause);
		cause = NULL;
		if (rc != -EADDRINUSE)
			return;		/* the same for every port */
	}
}
