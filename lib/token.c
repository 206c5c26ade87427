/*
 * token.c: block access tokens and the keys that sign them.
 *
 * A token is an HMAC-SHA256, made with one of the namenode's keys, over
 * the block id, generation stamp, access mode, expiry, key id, the uid of
 * the user it was issued to and, for a write, a hash of the pipeline's
 * data nodes (so no node forwards a write anywhere else).  Keys are 32
 * random bytes from RAND_bytes, made by the namenode and kept only in
 * memory: nothing on any disk can sign a token.  The namenode sends its
 * keys to each data node over the node's authenticated connection
 * (REGISTERED, and the KEYS command that opens every heartbeat reply),
 * and a data node keeps them in memory.
 *
 * Rotation: every namenode.key_rotation the namenode's "next" key becomes
 * the signing key and a new next key is made.  A key is sent a whole
 * rotation period before it signs anything, so every live data node holds
 * it before the first token it signs arrives.  A key's expiry is the end
 * of its signing period plus the token lifetime: after that no token of
 * it is accepted, so a leaked key stops working once rotated out.
 *
 * Restarts: a restarted namenode makes new keys (random ids, so they never
 * collide with the old ones); data nodes merge the keys they are sent with
 * those they hold, so tokens issued before the restart stay good until
 * their key expires.  A restarted data node learns the keys again when it
 * registers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "pki.h"
#include "token.h"
#include "xmalloc.h"

/* The defaults for periods never set (a ring that was only zeroed). */
static void
keys_init_periods(struct dfs_token_keys *k)
{
	if (k->rotation_s <= 0)
		k->rotation_s = 86400;
	if (k->lifetime_s <= 0)
		k->lifetime_s = 600;
}

/* An empty ring; the namenode's rotates with these periods. */
void
dfs_token_keys_init(struct dfs_token_keys *k, int64_t rotation_s,
    int64_t lifetime_s)
{
	memset(k, 0, sizeof *k);
	pthread_mutex_init(&k->lock, NULL);
	k->rotation_s = rotation_s;
	k->lifetime_s = lifetime_s;
	keys_init_periods(k);
}

/* Forget every key (the bytes too). */
void
dfs_token_keys_free(struct dfs_token_keys *k)
{
	if (k == NULL)
		return;
	OPENSSL_cleanse(k->k, sizeof k->k);
	k->n = 0;
	pthread_mutex_destroy(&k->lock);
}

/* The key of this id in the ring, or NULL; the lock is held. */
static struct dfs_token_key *
keys_find(struct dfs_token_keys *k, uint32_t id)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->k[i].id == id)
			return &k->k[i];
	return NULL;
}

/* Drop keys past their expiry; the lock is held. */
static void
keys_sweep(struct dfs_token_keys *k, time_t now)
{
	size_t	j = 0;

	for (size_t i = 0; i < k->n; i++) {
		if (k->k[i].expiry >= (uint64_t)now) {
			if (j != i)
				k->k[j] = k->k[i];
			j++;
		}
	}
	if (j != k->n) {
		OPENSSL_cleanse(&k->k[j], (k->n - j) * sizeof k->k[0]);
		k->n = j;
		k->version++;
	}
}

/* Add key (replacing one of its id, else the soonest to expire when the
 * ring is full); the lock is held. */
static void
keys_add(struct dfs_token_keys *k, const struct dfs_token_key *key)
{
	struct dfs_token_key	*slot = keys_find(k, key->id);

	if (slot == NULL && k->n < DFS_TOKEN_MAX_KEYS)
		slot = &k->k[k->n++];
	if (slot == NULL) {
		slot = &k->k[0];
		for (size_t i = 1; i < k->n; i++)
			if (k->k[i].expiry < slot->expiry)
				slot = &k->k[i];
	}
	*slot = *key;
	k->version++;
}

/* A fresh random key of an id not in the ring; -EIO if RAND fails. */
static int
keys_make(struct dfs_token_keys *k, uint64_t expiry, uint32_t *id)
{
	struct dfs_token_key	key;

	key.expiry = expiry;
	do {
		if (RAND_bytes((unsigned char *)&key.id, sizeof key.id) != 1)
			return -EIO;
	} while (key.id == 0 || keys_find(k, key.id) != NULL);
	if (RAND_bytes(key.key, sizeof key.key) != 1)
		return -EIO;
	keys_add(k, &key);
	*id = key.id;
	OPENSSL_cleanse(&key, sizeof key);
	return 0;
}

/* The namenode's rotation, lock held: 1 if the ring changed. */
static int
do_keys_rotate(struct dfs_token_keys *k, time_t now)
{
	int64_t		R, L;
	uint32_t	id = 0;
	uint64_t	v = k->version;

	if (k->rotation_s <= 0 || k->lifetime_s <= 0)
		keys_init_periods(k);
	R = k->rotation_s;
	L = k->lifetime_s;

	if (k->rotated == 0) {
		if (keys_make(k, (uint64_t)now + R + L, &k->current) != 0 ||
		    keys_make(k, (uint64_t)now + 2 * R + L, &k->next) != 0)
			return -EIO;
		k->rotated = now;
	}
	/* After a long sleep (or a clock step) one rotation does. */
	if (now >= k->rotated + 3 * R)
		k->rotated = now - R;
	while (now >= k->rotated + R) {
		k->rotated += R;
		k->current = k->next;
		if (keys_make(k, (uint64_t)k->rotated + 2 * R + L, &id) != 0)
			return -EIO;
		k->next = id;
	}
	keys_sweep(k, now);
	return k->version != v;
}

/* Make the first keys, or rotate when a period has passed: 1 if the ring
 * changed (send it again), 0 if not, -EIO if no random bytes. */
int
dfs_token_keys_rotate(struct dfs_token_keys *k, time_t now)
{
	int	rc;

	pthread_mutex_lock(&k->lock);
	rc = do_keys_rotate(k, now);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

/* Copy up to max unexpired keys out, and the ring's version. */
size_t
dfs_token_keys_export(struct dfs_token_keys *k, time_t now,
    struct dfs_token_key *out, size_t max, uint64_t *version)
{
	size_t	n = 0;

	pthread_mutex_lock(&k->lock);
	keys_sweep(k, now);
	for (size_t i = 0; i < k->n && n < max; i++)
		out[n++] = k->k[i];
	if (version != NULL)
		*version = k->version;
	pthread_mutex_unlock(&k->lock);
	return n;
}

/* A data node: take the keys the namenode sent, keep the others it sent
 * before until they expire. */
void
dfs_token_keys_merge(struct dfs_token_keys *k, time_t now,
    const struct dfs_token_key *keys, size_t n)
{
	pthread_mutex_lock(&k->lock);
	keys_sweep(k, now);
	for (size_t i = 0; i < n; i++) {
		if (keys[i].expiry < (uint64_t)now)
			continue;
		keys_add(k, &keys[i]);
	}
	pthread_mutex_unlock(&k->lock);
}

void
dfs_token_keys_state(struct dfs_token_keys *k, uint32_t *current,
    uint32_t *next, time_t *rotated)
{
	pthread_mutex_lock(&k->lock);
	*current = k->current;
	*next = k->next;
	*rotated = k->rotated;
	pthread_mutex_unlock(&k->lock);
}

/*
 * Take over a ring (another namenode's, which led the group): its keys
 * join ours, and its current and next keys sign from now, so the tokens
 * the last leader issued and the keys the data nodes hold stay good.
 * -ENOENT (nothing changed) when the current or next key is not among
 * the unexpired keys given.
 */
int
dfs_token_keys_adopt(struct dfs_token_keys *k, time_t now,
    const struct dfs_token_key *keys, size_t n, uint32_t current,
    uint32_t next, time_t rotated)
{
	bool	has_cur = false, has_next = false;

	for (size_t i = 0; i < n; i++) {
		if (keys[i].expiry < (uint64_t)now)
			continue;
		has_cur = has_cur || keys[i].id == current;
		has_next = has_next || keys[i].id == next;
	}
	if (!has_cur || !has_next || current == 0 || next == 0)
		return -ENOENT;
	pthread_mutex_lock(&k->lock);
	keys_sweep(k, now);
	for (size_t i = 0; i < n; i++)
		if (keys[i].expiry >= (uint64_t)now)
			keys_add(k, &keys[i]);
	k->current = current;
	k->next = next;
	k->rotated = rotated;
	k->version++;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/*
 * For tests only (namenode.test_key_file): write the ring to path, one
 * "id expiry hexkey" line per key, the signing key first; mode 0600.
 */
int
dfs_token_keys_dump(struct dfs_token_keys *k, const char *path,
    char **cause)
{
	char	*tmp;
	FILE	*f;
	int	 fd, rc = 0;

	xasprintf(&tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	pthread_mutex_lock(&k->lock);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < k->n; i++) {
			if ((k->k[i].id == k->current) != (pass == 0))
				continue;
			fprintf(f, "%u %llu ", k->k[i].id,
			    (unsigned long long)k->k[i].expiry);
			for (int j = 0; j < DFS_TOKEN_KEY_LEN; j++)
				fprintf(f, "%02x", k->k[i].key[j]);
			fputc('\n', f);
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		rc = -errno;
out:
	if (rc != 0 && cause != NULL)
		xasprintf(cause, "cannot write %s: %s", path, strerror(-rc));
	free(tmp);
	return rc;
}

/* keys: u32 n, n x (u32 id, u64 expiry, raw key[32]). */
void
dfs_token_put_keys(struct dfs_wbuf *b, const struct dfs_token_key *keys,
    size_t n)
{
	dfs_put_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		dfs_put_u32(b, keys[i].id);
		dfs_put_u64(b, keys[i].expiry);
		dfs_put_raw(b, keys[i].key, DFS_TOKEN_KEY_LEN);
	}
}

/* Read a keys record into out (at most max: more is malformed). */
size_t
dfs_token_get_keys(struct dfs_rbuf *r, struct dfs_token_key *out,
    size_t max)
{
	const void	*raw;
	uint32_t	 n = dfs_get_u32(r);

	if (r->err != 0)
		return 0;
	if (n > max) {
		r->err = -EBADMSG;
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		out[i].id = dfs_get_u32(r);
		out[i].expiry = dfs_get_u64(r);
		if ((raw = dfs_get_raw(r, DFS_TOKEN_KEY_LEN)) == NULL)
			return 0;
		memcpy(out[i].key, raw, DFS_TOKEN_KEY_LEN);
	}
	return r->err == 0 ? n : 0;
}

/*
 * The pipeline a write token binds, one node at a time: hash starts as 32
 * zero bytes and each address, in pipeline order, makes it
 * SHA-256(hash || u32le(strlen(addr)) || addr).  The namenode signs the
 * hash of the whole pipeline; each data node gets the hash of the nodes
 * above it from its upstream and steps it over itself and the nodes it
 * is asked to forward to, so it forwards only to nodes the namenode
 * named, in its order.
 */
void
dfs_token_targets_step(uint8_t *hash, const char *addr)
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	uint8_t		 len[4];
	unsigned	 n = DFS_TOKEN_TARGETS_LEN;

	dfs_le32enc(len, (uint32_t)strlen(addr));
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, hash, DFS_TOKEN_TARGETS_LEN) != 1 ||
	    EVP_DigestUpdate(ctx, len, sizeof len) != 1 ||
	    EVP_DigestUpdate(ctx, addr, strlen(addr)) != 1 ||
	    EVP_DigestFinal_ex(ctx, hash, &n) != 1)
		memset(hash, 0xff, DFS_TOKEN_TARGETS_LEN);	/* matches no
								   token */
	EVP_MD_CTX_free(ctx);
}

/* The hash of a located block's whole pipeline (its locs in order). */
void
dfs_token_targets_lblock(uint8_t *hash, const struct dfs_lblock *lb)
{
	memset(hash, 0, DFS_TOKEN_TARGETS_LEN);
	for (uint32_t i = 0; i < lb->nlocs && i < DFS_MAX_REPLICATION; i++)
		dfs_token_targets_step(hash, lb->locs[i].addr);
}

/* The MAC of t (doc/protocol.md section 10) into mac (32 bytes). */
static void
token_mac(const uint8_t *key, const struct dfs_token *t,
    const uint8_t *targets, uint8_t *mac)
{
	uint8_t		msg[36 + DFS_TOKEN_TARGETS_LEN];
	unsigned	len = 32;

	dfs_le64enc(msg, t->block);
	dfs_le64enc(msg + 8, t->gen);
	msg[16] = t->mode;
	memset(msg + 17, 0, 3);
	dfs_le64enc(msg + 20, t->expiry);
	dfs_le32enc(msg + 28, t->key_id);
	dfs_le32enc(msg + 32, t->uid);
	if (targets != NULL)
		memcpy(msg + 36, targets, DFS_TOKEN_TARGETS_LEN);
	else
		memset(msg + 36, 0, DFS_TOKEN_TARGETS_LEN);
	HMAC(EVP_sha256(), key, DFS_TOKEN_KEY_LEN, msg, sizeof msg, mac,
	    &len);
}

/* Sign t for user uid (and a write token for the pipeline whose targets
 * hash is given; NULL: none) with the current key, rotating first when
 * due; -EIO if no key can be made. */
int
dfs_token_sign(struct dfs_token_keys *k, struct dfs_token *t,
    dfs_block_id block, uint64_t gen, uint8_t mode, uint32_t uid,
    const uint8_t *targets, time_t now)
{
	struct dfs_token_key	*key;
	int			 rc = 0;

	memset(t, 0, sizeof *t);
	pthread_mutex_lock(&k->lock);
	if (do_keys_rotate(k, now) < 0 ||
	    (key = keys_find(k, k->current)) == NULL) {
		rc = -EIO;
		goto out;
	}
	t->block = block;
	t->gen = gen;
	t->mode = mode;
	t->uid = uid;
	t->expiry = (uint64_t)now + (uint64_t)k->lifetime_s;
	if (t->expiry > key->expiry)
		t->expiry = key->expiry;
	t->key_id = key->id;
	token_mac(key->key, t, targets, t->mac);
out:
	pthread_mutex_unlock(&k->lock);
	return rc;
}

/* 0 if the token grants mode on this block (for the pipeline whose
 * targets hash is given, or NULL) now, else -EACCES and why. */
int
dfs_token_check(struct dfs_token_keys *k, const struct dfs_token *t,
    dfs_block_id block, uint64_t gen, uint8_t mode, const uint8_t *targets,
    time_t now, char **cause)
{
	struct dfs_token_key	*key;
	uint8_t			 mac[32];
	const char		*why = NULL;

	pthread_mutex_lock(&k->lock);
	key = keys_find(k, t->key_id);
	if (key == NULL || key->expiry < (uint64_t)now)
		why = "its key has expired or is unknown";
	else
		token_mac(key->key, t, targets, mac);
	pthread_mutex_unlock(&k->lock);
	if (why != NULL)
		;
	else if (CRYPTO_memcmp(mac, t->mac, sizeof mac) != 0)
		why = targets != NULL ? "bad signature, or a pipeline it does "
		    "not name" : "bad signature";
	else if (t->block != block || t->gen != gen)
		why = "it is for another block";
	else if ((t->mode & mode) != mode)
		why = "it does not grant this access";
	else if (t->expiry < (uint64_t)now)
		why = "it has expired";
	if (why == NULL)
		return 0;
	if (cause != NULL)
		xasprintf(cause, "token refused for block %llu: %s",
		    (unsigned long long)block, why);
	return -EACCES;
}

/*
 * Whether a TCP peer of this identity may present t: a user only its own
 * tokens; a host (its root speaks for its users) those of the uids its
 * certificate speaks for; the superuser and a data node (forwarding a
 * pipeline or copying a replica) any.  0 or -EACCES.
 */
int
dfs_token_may_use(const struct dfs_token *t, const struct dfs_identity *id,
    char **cause)
{
	char	*uids;

	if (id != NULL && id->role == DFS_ROLE_HOST) {
		if (dfs_pki_host_speaks_for(id, t->uid))
			return 0;
		if (cause != NULL) {
			uids = dfs_pki_uids_format(id);
			xasprintf(cause, "token refused for block %llu: it "
			    "was issued to uid %u, and host %s speaks only "
			    "for uids %s", (unsigned long long)t->block,
			    t->uid, id->name, uids);
			free(uids);
		}
		return -EACCES;
	}
	if (id != NULL) {
		switch (id->role) {
		case DFS_ROLE_SUPERUSER:
		case DFS_ROLE_DATANODE:
		case DFS_ROLE_NAMENODE:
			return 0;
		case DFS_ROLE_USER:
			if (id->uid == t->uid)
				return 0;
			break;
		default:
			break;
		}
	}
	if (cause != NULL)
		xasprintf(cause, "token refused for block %llu: it was issued "
		    "to uid %u, not to %s%s%s", (unsigned long long)t->block,
		    t->uid, id != NULL ? "user " : "this peer",
		    id != NULL ? id->name : "", id != NULL &&
		    id->role != DFS_ROLE_USER ? " (no role that may)" : "");
	return -EACCES;
}
