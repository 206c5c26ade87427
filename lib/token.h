/* token.h: block access tokens signed by the namenode, checked by data nodes. */
#ifndef DFS_TOKEN_H
#define DFS_TOKEN_H

#include <stdint.h>
#include <time.h>

#include "proto.h"

#define DFS_SECRET_LEN	32

struct dfs_token_keys {
	uint8_t		secret[DFS_SECRET_LEN];
	int64_t		rotation_s;	/* a key lives this long */
};

int	dfs_token_secret_create(const char *path, char **cause);
int	dfs_token_keys_load(struct dfs_token_keys *, const char *path,
	    int64_t rotation_s, char **cause);
void	dfs_token_sign(const struct dfs_token_keys *, struct dfs_token *,
	    dfs_block_id, uint64_t gen, uint8_t mode, time_t now,
	    int64_t lifetime_s);
int	dfs_token_check(const struct dfs_token_keys *, const struct dfs_token *,
	    dfs_block_id, uint64_t gen, uint8_t mode, time_t now,
	    char **cause);

#endif
