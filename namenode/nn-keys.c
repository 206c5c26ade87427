/*
 * nn-keys.c: the namenode's token keys (lib/token.c says how they rotate).
 *
 * The keys live only in this process's memory: a restart makes new ones
 * (data nodes keep the old ones until they expire, so outstanding tokens
 * stay good).  namenode.test_key_file, for tests only, makes the namenode
 * write its ring to a file whenever it changes, so a test can forge
 * tokens that a real namenode would sign.
 *
 * A group of namenodes shares one ring: the leader writes it to the
 * token_keys table whenever it changed (an entry of the log, so every
 * member has it), and a member that takes the lead takes it over.  A new
 * leader so signs with the keys the data nodes already hold, and the
 * tokens of the last one stay good on it too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

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

/*
 * In a group, on the leader (the monitor, nn->lock held): write the ring
 * to token_keys when it changed since it was last written.  A member
 * that is not the ready leader writes nothing (nn_db_begin refuses).
 */
void
nn_keys_publish(struct nn *nn)
{
	struct dfs_token_key	keys[DFS_TOKEN_MAX_KEYS];
	uint64_t		version = 0;
	uint32_t		cur, next;
	time_t			rotated;
	size_t			n;
	int			rc;

	if (nn->group == NULL)
		return;
	nn_keys_rotate(nn);
	n = dfs_token_keys_export(&nn->keys, time(NULL), keys,
	    DFS_TOKEN_MAX_KEYS, &version);
	dfs_token_keys_state(&nn->keys, &cur, &next, &rotated);
	if (version == nn->keys_published || nn_db_begin(nn) != 0) {
		OPENSSL_cleanse(keys, sizeof keys);
		return;
	}
	rc = nn_db_exec(nn, "DELETE FROM token_keys", "");
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = nn_db_exec(nn, "INSERT INTO token_keys(id, expiry, secret, "
		    "role, rotated) VALUES (?, ?, ?, ?, ?)", "iibii",
		    (int64_t)keys[i].id, (int64_t)keys[i].expiry,
		    keys[i].key, sizeof keys[i].key,
		    (int64_t)(keys[i].id == cur ? 1 : keys[i].id == next ? 2 :
		    0), (int64_t)rotated);
	OPENSSL_cleanse(keys, sizeof keys);
	if ((rc = nn_db_end(nn, rc)) == 0) {
		nn->keys_published = version;
		log_debug("token keys: the group's ring written (%zu keys)", n);
	} else if (rc != -EREMOTE)
		log_warn("token keys: cannot write the group's ring: %s",
		    strerror(-rc));
}

/*
 * A member taking the lead (nn->lock held, no transaction): take over the
 * ring the last leader wrote, unless it has expired (then this member's
 * own goes on, written at the monitor's next pass).
 */
void
nn_keys_adopt(struct nn *nn)
{
	struct dfs_token_key	keys[DFS_TOKEN_MAX_KEYS];
	sqlite3_stmt		*st;
	uint32_t		 cur = 0, next = 0;
	time_t			 rotated = 0;
	size_t			 n = 0;

	st = nn_db_sql(nn, "SELECT id, expiry, secret, role, rotated FROM "
	    "token_keys", "");
	while (n < DFS_TOKEN_MAX_KEYS && nn_db_step(nn, st) == 1) {
		const void *secret = sqlite3_column_blob(st, 2);
		if (secret == NULL || sqlite3_column_bytes(st, 2) !=
		    (int)sizeof keys[n].key)
			continue;
		keys[n].id = (uint32_t)sqlite3_column_int64(st, 0);
		keys[n].expiry = (uint64_t)sqlite3_column_int64(st, 1);
		memcpy(keys[n].key, secret, sizeof keys[n].key);
		if (sqlite3_column_int(st, 3) == 1)
			cur = keys[n].id;
		else if (sqlite3_column_int(st, 3) == 2)
			next = keys[n].id;
		rotated = (time_t)sqlite3_column_int64(st, 4);
		n++;
	}
	nn_db_reset(st);
	if (n > 0 && dfs_token_keys_adopt(&nn->keys, time(NULL), keys, n, cur,
	    next, rotated) == 0)
		log_info("token keys: the group's ring taken over (signing "
		    "key %u)", cur);
	else if (n > 0)
		log_warn("token keys: the group's ring has expired; this "
		    "member's own keys sign from now");
	OPENSSL_cleanse(keys, sizeof keys);
	nn->keys_published = 0;	/* written again at the next pass */
}
