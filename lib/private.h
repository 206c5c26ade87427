/*
 * private.h: directories and files only their owner may reach (block
 * files, the namespace database), whatever the umask (private.c).
 */
#ifndef DFS_PRIVATE_H
#define DFS_PRIVATE_H

#include <stddef.h>

int	dfs_private_dir(const char *path, char **cause);
int	dfs_private_files(const char *dir, size_t *n, char **cause);
/* fsync directory path, so a rename into it is durable: 0 or -errno. */
int	dfs_fsync_dir(const char *path);

#endif
