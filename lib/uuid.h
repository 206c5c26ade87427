/* uuid.h: random identities in uuid text form (data nodes, clusters). */
#ifndef DFS_UUID_H
#define DFS_UUID_H

#include <stdbool.h>

#define DFS_UUID_LEN	36	/* 8-4-4-4-12 hex digits */

int	 dfs_uuid_new(char out[DFS_UUID_LEN + 1]);
bool	 dfs_uuid_ok(const char *);

#endif
