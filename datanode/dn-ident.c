/*
 * dn-ident.c: who this data node is: DATA_DIR/node.uuid (its storage's
 * identity, made on first start) and DATA_DIR/cluster.id (the cluster it
 * joined at its first registration).  Both are small files written once,
 * durably (temp file, fsync, rename, fsync the directory), and checked
 * when read: a damaged one stops the node rather than giving it a new
 * identity behind the operator's back.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "uuid.h"
#include "private.h"
#include "xmalloc.h"

#include "dn_i.h"

/* Write DIR/name durably (temp file, fsync, rename, fsync DIR). */
static int
ident_write(const char *dir, const char *name, const char *text,
    char **cause)
{
	char	*path, *tmp;
	size_t	 n = strlen(text);
	int	 fd, rc = 0;

	xasprintf(&path, "%s/%s", dir, name);
	xasprintf(&tmp, "%s/%s.tmp", dir, name);
	errno = 0;
	/* tmp may be left by a crash, with another mode: fchmod. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    write(fd, text, n) != (ssize_t)n || fsync(fd) != 0 ||
	    rename(tmp, path) != 0 || dfs_fsync_dir(dir) != 0) {
		rc = errno != 0 ? -errno : -EIO;
		xasprintf(cause, "cannot write %s: %s", path, strerror(-rc));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(path);
	return rc;
}

/*
 * Read the first line of DIR/name into buf: 1 when read, 0 when the file
 * does not exist, or -errno with a cause.
 */
static int
ident_read_line(const char *dir, const char *name, char *buf,
    size_t size, char **cause)
{
	char	*path;
	ssize_t	 n;
	int	 fd, rc = 1;

	xasprintf(&path, "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		if (rc < 0)
			xasprintf(cause, "cannot read %s: %s", path,
			    strerror(errno));
		free(path);
		return rc;
	}
	n = read(fd, buf, size - 1);
	buf[n < 0 ? 0 : n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	close(fd);
	free(path);
	return rc;
}

/* Read DIR/node.uuid into uuid, or make a random one. */
static int
ident_uuid_load(const char *dir, char uuid[DFS_UUID_LEN + 1], char **cause)
{
	char	buf[64];
	int	rc;

	if ((rc = ident_read_line(dir, "node.uuid", buf, sizeof buf,
	    cause)) < 0)
		return rc;
	if (rc == 1) {
		if (!dfs_uuid_ok(buf)) {
			xasprintf(cause, "%s/node.uuid does not hold a uuid "
			    "(remove it to give this node a new identity)",
			    dir);
			return -EINVAL;
		}
		memcpy(uuid, buf, DFS_UUID_LEN + 1);
		return 0;
	}
	if (dfs_uuid_new(uuid) != 0) {
		xasprintf(cause, "no random bytes for a node uuid");
		return -EIO;
	}
	snprintf(buf, sizeof buf, "%s\n", uuid);
	if ((rc = ident_write(dir, "node.uuid", buf, cause)) != 0)
		return rc;
	log_info("new node identity %s in %s/node.uuid", uuid, dir);
	return 0;
}

/* Read DIR/cluster.id into cluster, if this node has joined one yet
 * ("" otherwise). */
static int
ident_cluster_load(const char *dir, char cluster[DFS_MAX_CLUSTER_ID + 1],
    char **cause)
{
	char	buf[DFS_MAX_CLUSTER_ID + 2];
	int	rc;

	if ((rc = ident_read_line(dir, "cluster.id", buf, sizeof buf,
	    cause)) <= 0)
		return rc;
	if (!dfs_uuid_ok(buf)) {
		xasprintf(cause, "%s/cluster.id does not hold a cluster id; "
		    "put the right one back (dfs-namenode logs its own at "
		    "start-up)", dir);
		return -EINVAL;
	}
	memcpy(cluster, buf, DFS_UUID_LEN + 1);
	return 0;
}

/* The node's uuid (made when missing) and cluster id ("" when it has
 * joined none yet) from dir. */
int
dn_ident_load(const char *dir, char uuid[DFS_UUID_LEN + 1],
    char cluster[DFS_MAX_CLUSTER_ID + 1], char **cause)
{
	int	rc;

	cluster[0] = '\0';
	if ((rc = ident_uuid_load(dir, uuid, cause)) != 0)
		return rc;
	return ident_cluster_load(dir, cluster, cause);
}

/* Record the cluster id joined, for good, in dir/cluster.id. */
int
dn_ident_join(const char *dir, const char *id, char **cause)
{
	char	buf[DFS_MAX_CLUSTER_ID + 2];
	int	rc;

	if (!dfs_uuid_ok(id)) {
		xasprintf(cause, "the namenode's cluster id '%.64s' is not a "
		    "uuid", id);
		return -EPROTO;
	}
	snprintf(buf, sizeof buf, "%s\n", id);
	if ((rc = ident_write(dir, "cluster.id", buf, cause)) != 0)
		return rc;
	log_info("joined cluster %s (recorded in %s/cluster.id)", id, dir);
	return 0;
}
