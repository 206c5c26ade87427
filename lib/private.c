/*
 * private.c: state that only its owner may read.
 *
 * A data node's block files and a namenode's database hold every user's
 * bytes and names; the namenode decides who may read them, so no local
 * user may go around it by reading the files.  Directories are 0700 and
 * files 0600.  The umask is no help: a daemon started from a shell with
 * umask 022 would make 0755 directories from mkdir(path, 0755), and one
 * with umask 0 would make them 0777.  So modes are passed explicitly and
 * a directory made here is chmod'ed to exactly 0700.
 *
 * A directory or file that already exists (made by an older version, or
 * by an operator's mkdir) is tightened: the group and other bits are
 * cleared and a line is logged, so an operator sees the change.  Nothing
 * is ever loosened: a 0500 directory stays 0500, and one this process
 * cannot tighten (another user's) is an error, not a warning: serving
 * from a directory others can read would break the promise silently.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "private.h"
#include "xmalloc.h"

/*
 * Make path a directory of mode 0700, or clear the group and other bits
 * of an existing one (logged).  0 or -errno with *cause.  By path, not
 * by descriptor: a directory whose owner may not read it (0300, or 0000
 * under umask 0777) cannot be opened, and only who may write its parent
 * could swap it meanwhile.
 */
int
dfs_private_dir(const char *path, char **cause)
{
	struct stat	 sb;
	mode_t		 want;
	int		 rc;

	if (mkdir(path, 0700) == 0) {
		if (chmod(path, 0700) == 0)
			return 0;
		rc = -errno;
		xasprintf(cause, "cannot chmod %s: %s", path, strerror(errno));
		return rc;
	}
	if (errno != EEXIST) {
		rc = -errno;
		xasprintf(cause, "cannot create %s: %s", path, strerror(errno));
		return rc;
	}
	if (stat(path, &sb) != 0) {
		rc = -errno;
		xasprintf(cause, "cannot stat %s: %s", path, strerror(errno));
		return rc;
	}
	if (!S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "%s exists and is not a directory", path);
		return -ENOTDIR;
	}
	if ((sb.st_mode & 077) == 0)
		return 0;
	want = sb.st_mode & 07700;
	if (chmod(path, want) != 0) {
		rc = -errno;
		xasprintf(cause, "cannot make %s private (mode %04o, wanted "
		    "%04o): %s", path, (unsigned)(sb.st_mode & 07777),
		    (unsigned)want, strerror(errno));
		return rc;
	}
	log_info("%s was mode %04o, open to other users: tightened to %04o",
	    path, (unsigned)(sb.st_mode & 07777), (unsigned)want);
	return 0;
}

/*
 * Clear the group and other bits of every regular file directly in dir
 * (not below), logging how many.  How many were changed in *n (may be
 * NULL).  0 or -errno with *cause; a file that cannot be changed stops
 * the walk.
 */
int
dfs_private_files(const char *dir, size_t *n, char **cause)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	size_t		 changed = 0;
	int		 rc = 0;

	if (n != NULL)
		*n = 0;
	if ((d = opendir(dir)) == NULL) {
		rc = -errno;
		xasprintf(cause, "cannot read %s: %s", dir, strerror(errno));
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)	/* gone meanwhile */
				continue;
			rc = -errno;
			xasprintf(cause, "cannot stat %s/%s: %s", dir,
			    de->d_name, strerror(errno));
			break;
		}
		if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) == 0)
			continue;
		/* A symbolic link swapped in now needs write access to dir,
		 * which only its owner has. */
		if (fchmodat(dirfd(d), de->d_name, sb.st_mode & 0700,
		    0) != 0) {
			rc = -errno;
			xasprintf(cause, "cannot make %s/%s private (mode "
			    "%04o): %s", dir, de->d_name,
			    (unsigned)(sb.st_mode & 07777), strerror(errno));
			break;
		}
		changed++;
	}
	closedir(d);
	if (changed > 0)
		log_info("%zu file%s in %s %s open to other users: tightened "
		    "to owner only", changed, changed == 1 ? "" : "s", dir,
		    changed == 1 ? "was" : "were");
	if (n != NULL)
		*n = changed;
	return rc;
}

int
dfs_fsync_dir(const char *path)
{
	int	fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}
