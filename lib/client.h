/*
 * client.h: the client API shared by dfs, dfs-sum and dfs-mount: namespace
 * calls to the namenode, and streaming block writes and verified reads
 * straight to and from the data nodes.
 */
#ifndef DFS_CLIENT_H
#define DFS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "net.h"
#include "proto.h"
#include "tls.h"

#define DFS_DEFAULT_CHUNK	(64U << 10)

struct dfs_client;
struct dfs_writer;
struct dfs_reader;
struct dfs_put;

struct dfs_write_opts {
	uint32_t	mode;
	uint16_t	replication;	/* 0: cluster default */
	uint64_t	block_size;	/* 0: cluster default */
	bool		overwrite;
	bool		put_temp;	/* a put's temporary name: lease
					   recovery removes it (CREATE's
					   DFS_CREATE_PUT_TEMP) */
	bool		set_owner;	/* uid and gid below, not ours */
	uint32_t	uid;
	uint32_t	gid;
};

/* What DFS_NN_SETATTR changes: valid is a mask of enum dfs_set. */
struct dfs_setattr {
	uint32_t	valid;
	uint32_t	mode;
	uint32_t	uid;
	uint32_t	gid;
	int64_t		atime_ns;
	int64_t		mtime_ns;
};

struct dfs_statfs {
	uint64_t	capacity;	/* bytes on live data nodes */
	uint64_t	used;
	uint64_t	remaining;
	uint64_t	files;		/* inodes in the namespace */
	uint32_t	live_nodes;
};

/* Whom namespace calls act as (client-cred.c, ACT_AS). */
struct dfs_cred {
	uint32_t	uid;
	uint32_t	gid;
	uint32_t	ngroups;
	uint32_t	groups[DFS_MAX_GROUPS];
};

/* What the namenode holds for a connection (WHOAMI). */
struct dfs_whoami {
	char		name[65];	/* the certificate's; "" without */
	char		role[16];	/* "none" without a certificate */
	char		addr[64];	/* as the namenode sees us */
	struct dfs_cred	cred;
	bool		super;
};

int	 dfs_client_act_as(struct dfs_client *, uint32_t uid, uint32_t gid,
	     const uint32_t *groups, size_t n);
int	 dfs_client_act_as_thread(struct dfs_client *,
	     const struct dfs_cred *);
int	 dfs_client_cred_get(struct dfs_client *, struct dfs_cred *);
int	 dfs_client_whoami(struct dfs_client *, struct dfs_whoami *,
	     char **cause);

int	 dfs_client_create(const char *nn_addr, struct dfs_tls *,
	     int timeout_ms, struct dfs_client **, char **cause);
int	 dfs_client_from_config(const struct dfs_config *,
	     struct dfs_client **, char **cause);
void	 dfs_client_free(struct dfs_client *);
struct dfs_tls *dfs_client_tls(struct dfs_client *);
struct dfs_conn *dfs_client_nn(struct dfs_client *, char **cause);
void	 dfs_client_nn_reset(struct dfs_client *);

int	dfs_client_mkdir(struct dfs_client *, const char *path, uint32_t mode,
	    bool parents, char **cause);
int	dfs_client_stat(struct dfs_client *, const char *path,
	    struct dfs_attr *, char **cause);
/* Files held open, kept by the namenode when unlinked (client-hold.c). */
int	dfs_hold_open(struct dfs_client *, dfs_ino, const char *path,
	    struct dfs_attr *, char **cause);
void	dfs_hold_take(struct dfs_client *, dfs_ino);
void	dfs_hold_drop(struct dfs_client *, dfs_ino);
int	dfs_hold_ensure(struct dfs_client *, dfs_ino, const char *path,
	    char **cause);
typedef int (*dfs_list_cb)(const char *name, const struct dfs_attr *,
	    void *arg);
int	dfs_client_list(struct dfs_client *, const char *path, dfs_list_cb,
	    void *arg, char **cause);
int	dfs_client_rename(struct dfs_client *, const char *src,
	    const char *dst, uint32_t flags, char **cause);
int	dfs_client_delete(struct dfs_client *, const char *path,
	    bool recursive, char **cause);

/* For dfs-mount: the caller's owner, one page of a listing, POSIX
 * unlink/rmdir, attributes, capacity and symbolic links. */
int	dfs_client_mkdir_as(struct dfs_client *, const char *path,
	    uint32_t mode, uint32_t uid, uint32_t gid, bool parents,
	    char **cause);
int	dfs_client_list_page(struct dfs_client *, const char *path,
	    const char *after, dfs_list_cb, void *arg, bool *more,
	    char **cause);
int	dfs_client_list_some(struct dfs_client *, const char *path,
	    const char *after, uint32_t max, dfs_list_cb, void *arg,
	    bool *more, char **cause);
int	dfs_client_unlink(struct dfs_client *, const char *path, bool dir,
	    char **cause);
int	dfs_client_setattr(struct dfs_client *, const char *path,
	    const struct dfs_setattr *, struct dfs_attr *after, char **cause);
int	dfs_client_sync(struct dfs_client *, char **cause);
int	dfs_client_statfs(struct dfs_client *, struct dfs_statfs *,
	    char **cause);
int	dfs_client_symlink(struct dfs_client *, const char *path,
	    const char *target, uint32_t uid, uint32_t gid,
	    struct dfs_attr *after, char **cause);
int	dfs_client_readlink(struct dfs_client *, const char *path,
	    char *buf, size_t cap, char **cause);
int	dfs_client_link(struct dfs_client *, const char *existing,
	    const char *path, struct dfs_attr *after, char **cause);
int	dfs_client_mknod(struct dfs_client *, const char *path, uint8_t type,
	    uint32_t mode, uint32_t uid, uint32_t gid, uint64_t rdev,
	    struct dfs_attr *after, char **cause);
int	dfs_client_unlink_parent(struct dfs_client *, const char *path,
	    bool dir, struct dfs_attr *parent, char **cause);

int	dfs_writer_open(struct dfs_client *, const char *path,
	    const struct dfs_write_opts *, struct dfs_writer **, char **cause);
int	dfs_writer_write(struct dfs_writer *, const void *, size_t,
	    char **cause);
int	dfs_writer_close(struct dfs_writer *, char **cause);
const struct dfs_attr *dfs_writer_attr(const struct dfs_writer *);
void	dfs_writer_abort(struct dfs_writer *);
int	dfs_writer_discard(struct dfs_client *, dfs_ino, char **cause);

/* All-or-nothing puts (client-put.c): written under a hidden temporary
 * name, renamed onto path by dfs_put_commit only when complete. */
int	dfs_put_open(struct dfs_client *, const char *path,
	    const struct dfs_write_opts *, struct dfs_put **, char **cause);
int	dfs_put_write(struct dfs_put *, const void *, size_t, char **cause);
int	dfs_put_commit(struct dfs_put *, char **cause);
void	dfs_put_abort(struct dfs_put *);
const char *dfs_put_temp_path(const struct dfs_put *);
char	*dfs_put_temp_name(const char *path, uint32_t nonce);

/* Changed chunks of a block of a complete file, in place on its replicas
 * (client-patch.c): block-relative, chunk-aligned ranges of whole chunks,
 * the last one short only where it ends at new_len.  -EREMOTEIO (or
 * -ENOSPC when a node lacked room) when the namenode granted a piece and
 * no replica applied it; the namenode's refusals as they came. */
struct dfs_patch_range {
	uint64_t	 off;
	uint32_t	 len;
	const uint8_t	*data;		/* borrowed */
};
int	dfs_client_patch(struct dfs_client *, dfs_ino, dfs_block_id,
	    uint64_t gen, uint32_t chunk, uint64_t new_len,
	    const struct dfs_patch_range *, size_t n, uint64_t *new_gen,
	    unsigned *nok, char **cause);

int	dfs_reader_open(struct dfs_client *, const char *path,
	    struct dfs_reader **, char **cause);
const struct dfs_attr *dfs_reader_attr(const struct dfs_reader *);
const struct dfs_lblock *dfs_reader_blocks(const struct dfs_reader *,
	    uint32_t *n);
uint32_t dfs_client_chunk_size(const struct dfs_client *);
ssize_t	dfs_reader_pread(struct dfs_reader *, void *, size_t, uint64_t off,
	    char **cause);
void	dfs_reader_close(struct dfs_reader *);

#endif
