/*
 * token.c: block access tokens.
 *
 * A token is an HMAC-SHA256, made with the current key, over the block id,
 * generation stamp, access mode, expiry and key id.  Keys rotate: key N is
 * HMAC-SHA256(cluster secret, "npdfs token key" || N) with N the number of
 * rotation periods since the epoch, so the namenode and every data node that
 * holds the cluster secret derive the same keys without exchanging them,
 * and a stolen token dies with its key.  A data node accepts tokens of the
 * current and the previous key, so a rotation never refuses a fresh token.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "token.h"
#include "xmalloc.h"

/* Write a new random secret to path, mode 0600; an existing file is kept. */
int
dfs_token_secret_create(const char *path, char **cause)
{
	uint8_t	secret[DFS_SECRET_LEN];
	char	hex[2 * DFS_SECRET_LEN + 2];
	int	fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		rc = -errno;
		goto out;
	}
	if (RAND_bytes(secret, sizeof secret) != 1) {
		rc = -EIO;
		goto out;
	}
	for (int i = 0; i < DFS_SECRET_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", secret[i]);
	hex[2 * DFS_SECRET_LEN] = '\n';
	if (write(fd, hex, sizeof hex - 1) != (ssize_t)(sizeof hex - 1) ||
	    fsync(fd) != 0)
		rc = errno != 0 ? -errno : -EIO;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && cause != NULL)
		xasprintf(cause, "cannot create secret file %s: %s", path,
		    strerror(-rc));
	OPENSSL_cleanse(secret, sizeof secret);
	return rc;
}

/* Read the cluster secret (64 hex digits); refuse a file others can read. */
int
dfs_token_keys_load(struct dfs_token_keys *k, const char *path,
    int64_t rotation_s, char **cause)
{
	char		 buf[256];
	struct stat	 st;
	ssize_t		 n;
	int		 fd, rc = 0;

	memset(k, 0, sizeof *k);
	k->rotation_s = rotation_s > 0 ? rotation_s : 86400;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		if (cause != NULL)
			xasprintf(cause, "cannot open secret file %s: %s",
			    path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		rc = -EPERM;
		if (cause != NULL)
			xasprintf(cause, "secret file %s must not be readable "
			    "by group or others (chmod 600 %s)", path, path);
		goto out;
	}
	n = read(fd, buf, sizeof buf - 1);
	if (n < 2 * DFS_SECRET_LEN) {
		rc = -EINVAL;
		goto bad;
	}
	for (int i = 0; i < DFS_SECRET_LEN; i++) {
		unsigned v;
		if (sscanf(buf + 2 * i, "%2x", &v) != 1) {
			rc = -EINVAL;
			goto bad;
		}
		k->secret[i] = (uint8_t)v;
	}
	goto out;
bad:
	if (cause != NULL)
		xasprintf(cause, "secret file %s: expected %d hex digits", path,
		    2 * DFS_SECRET_LEN);
out:
	OPENSSL_cleanse(buf, sizeof buf);
	close(fd);
	return rc;
}

static void
token_key(const struct dfs_token_keys *k, uint32_t key_id, uint8_t *key)
{
	uint8_t		msg[20];
	unsigned	len = 32;

	memcpy(msg, "npdfs token key", 15);
	msg[15] = key_id;
	msg[16] = key_id >> 8;
	msg[17] = key_id >> 16;
	msg[18] = key_id >> 24;
	HMAC(EVP_sha256(), k->secret, DFS_SECRET_LEN, msg, 19, key, &len);
}

static void
token_mac(const struct dfs_token_keys *k, const struct dfs_token *t,
    uint8_t *mac)
{
	uint8_t		key[32], msg[40];
	unsigned	len = 32;

	token_key(k, t->key_id, key);
	dfs_le64enc(msg, t->block);
	dfs_le64enc(msg + 8, t->gen);
	msg[16] = t->mode;
	memset(msg + 17, 0, 3);
	dfs_le64enc(msg + 20, t->expiry);
	dfs_le32enc(msg + 28, t->key_id);
	HMAC(EVP_sha256(), key, sizeof key, msg, 32, mac, &len);
	OPENSSL_cleanse(key, sizeof key);
}

void
dfs_token_sign(const struct dfs_token_keys *k, struct dfs_token *t,
    dfs_block_id block, uint64_t gen, uint8_t mode, time_t now,
    int64_t lifetime_s)
{
	t->block = block;
	t->gen = gen;
	t->mode = mode;
	t->expiry = (uint64_t)now + (uint64_t)lifetime_s;
	t->key_id = (uint32_t)(now / k->rotation_s);
	token_mac(k, t, t->mac);
}

/* 0 if the token grants mode on this block now, else -EACCES and why. */
int
dfs_token_check(const struct dfs_token_keys *k, const struct dfs_token *t,
    dfs_block_id block, uint64_t gen, uint8_t mode, time_t now, char **cause)
{
	uint8_t		 mac[32];
	uint32_t	 cur = (uint32_t)(now / k->rotation_s);
	const char	*why = NULL;

	if (t->key_id != cur && t->key_id + 1 != cur)
		why = "its key has expired or is unknown";
	else {
		token_mac(k, t, mac);
		if (CRYPTO_memcmp(mac, t->mac, sizeof mac) != 0)
			why = "bad signature";
		else if (t->block != block || t->gen != gen)
			why = "it is for another block";
		else if ((t->mode & mode) != mode)
			why = "it does not grant this access";
		else if (t->expiry < (uint64_t)now)
			why = "it has expired";
	}
	if (why == NULL)
		return 0;
	if (cause != NULL)
		xasprintf(cause, "token refused for block %llu: %s",
		    (unsigned long long)block, why);
	return -EACCES;
}
