/*
 * checksum.h: CRC32C for data chunks, SHA-256 for tokens and manifests.
 *
 * CRC32C is the Castagnoli CRC (reflected polynomial 0x82F63B78) with the
 * usual initial value and final xor of 0xFFFFFFFF, as in iSCSI, ext4 and
 * HDFS: dfs_crc32c(0, "123456789", 9) == 0xE3069283.  The crc argument is
 * the value a previous call returned (0 to start), so a checksum can be
 * built piece by piece:
 *	dfs_crc32c(dfs_crc32c(0, a, n), b, m) == dfs_crc32c(0, a || b, n + m)
 */
#ifndef DFS_CHECKSUM_H
#define DFS_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fastest implementation this CPU runs, chosen once. */
uint32_t	 dfs_crc32c(uint32_t crc, const void *buf, size_t len);
/* Portable slicing-by-8 tables; any CPU. */
uint32_t	 dfs_crc32c_sw(uint32_t crc, const void *buf, size_t len);
/*
 * The SSE4.2 crc32 instruction, three streams at once on long buffers.
 * Only call it when dfs_crc32c_hw_available(); off x86 it is the table code.
 */
uint32_t	 dfs_crc32c_hw(uint32_t crc, const void *buf, size_t len);
bool		 dfs_crc32c_hw_available(void);
/* "sse4.2" or "table": what dfs_crc32c() uses, for logs.  Borrowed. */
const char	*dfs_crc32c_impl(void);

/* SHA-256 through OpenSSL's EVP interface.  0 or -EIO. */
int		 dfs_sha256(const void *buf, size_t len, uint8_t out[32]);

/*
 * Streaming SHA-256: create, update any number of times, final once, free.
 * update and final return 0, -EIO when OpenSSL fails, or -EINVAL after
 * final.  create never returns NULL (a failed set-up shows as -EIO later);
 * caller frees with dfs_sha256_free, which accepts NULL.
 */
struct dfs_sha256_ctx;
struct dfs_sha256_ctx *dfs_sha256_create(void);
int		 dfs_sha256_update(struct dfs_sha256_ctx *, const void *,
		     size_t);
int		 dfs_sha256_final(struct dfs_sha256_ctx *, uint8_t out[32]);
void		 dfs_sha256_free(struct dfs_sha256_ctx *);

/* Lower-case hex of n bytes into out, which holds 2n + 1 (NUL-ended). */
void		 dfs_hex(const uint8_t *in, size_t n, char *out);

#endif
