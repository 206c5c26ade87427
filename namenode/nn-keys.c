/*
 * nn-keys.c: the namenode's token keys (lib/token.c says how they rotate).
 *
 * The keys live only in this process's memory: a restart makes new ones
 * (data nodes keep the old ones until they expire, so outstanding tokens
 * stay good).  namenode.test_key_file, for tests only, makes the namenode
 * write its ring to a file whenever it changes, so a test can forge
 * tokens that a real namenode would sign.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "nn_i.h"
#include "xmalloc.h"

/* The ring, empty; the first keys are made here so a failure to get
 * random bytes stops the start. */
int
nn_keys_init(struct nn *nn, const struct dfs_config *cfg, char **cause)
{
	dfs_token_keys_init(&nn->keys,
	    dfs_config_int(cfg, "namenode.key_rotation") / 1000,
	    nn->token_lifetime_s);
	nn->test_key_file = dfs_config_str(cfg, "namenode.test_key_file");
	if (dfs_token_keys_rotate(&nn->keys, time(NULL)) < 0) {
		xasprintf(cause, "cannot make token keys: no random bytes");
		return -EIO;
	}
	if (nn->test_key_file[0] != '\0') {
		log_warn("namenode.test_key_file is set: token keys are "
		    "written to %s (for tests only)", nn->test_key_file);
		return dfs_token_keys_dump(&nn->keys, nn->test_key_file,
		    cause);
	}
	return 0;
}

/* Rotate when a period has passed; the test key file follows. */
void
nn_keys_rotate(struct nn *nn)
{
	char	*cause = NULL;
	int	 rc;

	rc = dfs_token_keys_rotate(&nn->keys, time(NULL));
	if (rc < 0)
		log_warn("cannot rotate token keys: no random bytes");
	if (rc != 1)
		return;
	log_debug("token keys rotated");
	if (nn->test_key_file != NULL && nn->test_key_file[0] != '\0' &&
	    dfs_token_keys_dump(&nn->keys,
	    nn->test_key_file, &cause) != 0) {
		log_warn("%s", cause);
		free(cause);
	}
}

/* Sign a token for uid (0 for the namenode's and data nodes' own use);
 * a write token for the pipeline of lb (NULL for a read token). */
void
nn_keys_sign(struct nn *nn, struct dfs_token *t, dfs_block_id block,
    uint64_t gen, uint8_t mode, uint32_t uid, const struct dfs_lblock *lb,
    time_t now)
{
	uint8_t	targets[DFS_TOKEN_TARGETS_LEN];

	if (lb != NULL)
		dfs_token_targets_lblock(targets, lb);
	nn_keys_rotate(nn);
	if (dfs_token_sign(&nn->keys, t, block, gen, mode, uid,
	    lb != NULL ? targets : NULL, now) != 0)
		log_warn("cannot sign a token for block %llu: no key",
		    (unsigned long long)block);
}
