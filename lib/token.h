/* token.h: block access tokens signed by the namenode, checked by data nodes. */
#ifndef DFS_TOKEN_H
#define DFS_TOKEN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "proto.h"

struct dfs_identity;

#define DFS_TOKEN_KEY_LEN	32
#define DFS_TOKEN_MAX_KEYS	16	/* held at once, on either side */

/* One signing key as the namenode sends it (KEYS, REGISTERED). */
struct dfs_token_key {
	uint32_t	id;
	uint64_t	expiry;		/* unix s: its tokens refused after */
	uint8_t		key[DFS_TOKEN_KEY_LEN];
};

/*
 * A key ring.  The namenode makes and rotates its keys (random, in memory
 * only); a data node holds what the namenode sent it.  The lock guards
 * everything below it; functions here take it.
 */
struct dfs_token_keys {
	pthread_mutex_t		lock;
	size_t			n;
	struct dfs_token_key	k[DFS_TOKEN_MAX_KEYS];
	uint64_t		version;	/* bumped on every change */
	/* namenode only */
	int64_t			rotation_s;	/* a key signs this long */
	int64_t			lifetime_s;	/* tokens live this long */
	uint32_t		current;	/* the signing key's id */
	uint32_t		next;		/* sent, signs from the next
						   rotation */
	time_t			rotated;	/* current began; 0: none */
};

void	dfs_token_keys_init(struct dfs_token_keys *, int64_t rotation_s,
	    int64_t lifetime_s);
void	dfs_token_keys_free(struct dfs_token_keys *);
int	dfs_token_keys_rotate(struct dfs_token_keys *, time_t now);
size_t	dfs_token_keys_export(struct dfs_token_keys *, time_t now,
	    struct dfs_token_key *, size_t max, uint64_t *version);
void	dfs_token_keys_merge(struct dfs_token_keys *, time_t now,
	    const struct dfs_token_key *, size_t n);
/* A namenode group's shared ring (namenode/nn-keys.c): the rotation
 * state, and a ring taken over whole. */
void	dfs_token_keys_state(struct dfs_token_keys *, uint32_t *current,
	    uint32_t *next, time_t *rotated);
int	dfs_token_keys_adopt(struct dfs_token_keys *, time_t now,
	    const struct dfs_token_key *, size_t n, uint32_t current,
	    uint32_t next, time_t rotated);
int	dfs_token_keys_dump(struct dfs_token_keys *, const char *path,
	    char **cause);
void	dfs_token_put_keys(struct dfs_wbuf *, const struct dfs_token_key *,
	    size_t n);
size_t	dfs_token_get_keys(struct dfs_rbuf *, struct dfs_token_key *,
	    size_t max);

#define DFS_TOKEN_TARGETS_LEN	32

void	dfs_token_targets_step(uint8_t *hash, const char *addr);
void	dfs_token_targets_lblock(uint8_t *hash, const struct dfs_lblock *);
int	dfs_token_sign(struct dfs_token_keys *, struct dfs_token *,
	    dfs_block_id, uint64_t gen, uint8_t mode, uint32_t uid,
	    const uint8_t *targets, time_t now);
int	dfs_token_check(struct dfs_token_keys *, const struct dfs_token *,
	    dfs_block_id, uint64_t gen, uint8_t mode, const uint8_t *targets,
	    time_t now, char **cause);
int	dfs_token_may_use(const struct dfs_token *,
	    const struct dfs_identity *, char **cause);

#endif
