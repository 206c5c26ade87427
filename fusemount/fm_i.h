/*
 * fm_i.h: what dfs-mount's files share: the mount, the files open through
 * it and their handles.
 *
 * Lock order: a file's lock (struct fm_file's lock) before the mount's
 * (struct fm's lock), and a read-ahead's (fm-io.c) before the mount's; a
 * handle's reader lock is never held with any of them.  The mount's lock
 * guards only the table of open files and the memory budgets, and is
 * never held across network or disk I/O; a file's lock is held for the
 * whole of a write, a commit or a spool fetch of that file.
 */
#ifndef FM_I_H
#define FM_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <fuse.h>
#include <fuse_lowlevel.h>

#include "client.h"
#include "clock.h"
#include "config.h"

#define FM_NAME		"dfs-mount"
#define FM_BUCKETS	256		/* open-file table */
#define FM_IO_BUF	(1U << 20)	/* spool fetch and write-back copies */
#define FM_HOLE_STREAM	(1U << 20)	/* a gap a stream fills with zeros */
#define FM_READERS	4		/* parallel reads of one handle */
#define FM_READ_AHEAD_KB 1024		/* the kernel's read-ahead window */
#define FM_AHEAD_SLOT	(4U << 20)	/* one fetch of our read-ahead */
#define FM_AHEAD_SLOTS	4		/* fetched ahead of a handle */
#define FM_AHEAD_THREADS 1		/* fetches under way at once (two
					   measured slower on 2 cores) */
#define FM_AHEAD_POOL	(2 * FM_AHEAD_SLOTS) /* kept when handles close */
/* What one streaming writer holds at most: its ring of 17 packets (the
 * window of 16 unacknowledged ones and the one filling), a header and the
 * held-back .npy head (see lib/client-write.c). */
#define FM_WRITER_MEM	(17U * DFS_MAX_PACKET + (128U << 10))

struct fm {
	struct dfs_client	*client;
	double			 attr_timeout;	/* seconds, entries and attrs */
	bool			 direct_io;	/* -o direct_io */
	bool			 lowlevel;	/* mount.lowlevel (fm-ll.c) */
	struct fuse_session	*se;		/* the low-level session */
	atomic_bool		 dio_mmap;	/* the kernel mmaps direct_io
						   files (see main.c) */
	char			*spool_dir;	/* private, 0700 */
	uint64_t		 max_memory;	/* mount.max_memory */
	char			*read_ahead_path; /* sysfs, see fm_get() */
	atomic_bool		 read_ahead_set;

	pthread_mutex_t		 lock;		/* guards what follows */
	struct fm_file		*files[FM_BUCKETS];
	atomic_uint		 nfiles;	/* written under lock */
	uint64_t		 writer_mem;	/* reserved by streams */
	uint64_t		 ahead_mem;	/* read-ahead buffers, pooled
						   or not */
	uint8_t			*ahead_pool[FM_AHEAD_POOL];
	int			 ahead_npool;
	struct fm_file		*gone;		/* unlinked, still open */
	atomic_uint		 ngone;		/* written under lock */
};

/*
 * Where the bytes of an open file live.  CLEAN: in the cluster only;
 * STREAM: being written sequentially into a dfs_writer (the cluster file
 * is under construction); SPOOL: a local copy in the spool file, which is
 * the truth for this mount and differs from the cluster when dirty.
 */
enum fm_state {
	FM_CLEAN,
	FM_STREAM,
	FM_SPOOL,
};

/* One path open in this mount, shared by all its handles. */
/*
 * What the cluster held when a spool was fetched, and which chunks of the
 * spool were written since (fm-commit.c): a commit patches only those
 * while the file's blocks on the namenode are still these.  Under the
 * file's lock.
 */
struct fm_base_block {
	dfs_block_id		 id;
	uint64_t		 gen;
	uint64_t		 off;
	uint64_t		 len;
};
struct fm_base {
	bool			 valid;
	dfs_ino			 ino;
	uint64_t		 size;
	uint64_t		 block_size;
	bool			 array;		/* has .npy metadata, */
	uint64_t		 data_off;	/* its elements from here */
	uint32_t		 chunk;
	uint32_t		 nblocks;
	struct fm_base_block	*blocks;
	uint8_t			*dirty;		/* a bit per chunk */
	uint64_t		 nbits;
};

struct fm_file {
	struct fm		*fm;

	/* Under fm->lock. */
	char			*path;
	unsigned		 refs;		/* handles, plus transient */
	bool			 unlinked;	/* out of the table, */
	struct fm_file		*gone_next;	/* on fm's gone list */
	struct fm_file		*next;		/* hash chain */

	/* What getattr shows while the bytes are local (streaming or
	 * dirty): set under f->lock and fm->lock, read under either. */
	bool			 local;
	struct dfs_attr		 vattr;

	pthread_mutex_t		 lock;		/* guards the rest */
	enum fm_state		 state;
	struct dfs_writer	*w;		/* FM_STREAM */
	bool			 w_mem;		/* holds writer memory */
	int			 spool_fd;	/* FM_SPOOL, else -1 */
	uint64_t		 size;		/* STREAM and SPOOL */
	bool			 dirty;		/* spool differs from cluster */
	int			 err;		/* for the next flush/fsync */
	uint64_t		 gen;		/* bumps when the cluster's
						   bytes are replaced */
	struct dfs_attr		 attr;		/* last known */
	bool			 have_attr;
	int64_t			 born_ns;	/* CLOCK_MONOTONIC when this
						   mount made it empty (fm-io.c),
						   0 once anything else
						   happened to it here */
	uint32_t		 pend_valid;	/* utimens to redo after a
						   commit (enum dfs_set) */
	int64_t			 pend_atime;
	int64_t			 pend_mtime;
	struct dfs_cred		 wcred;		/* its last writer here */
	bool			 has_wcred;	/* (fm-cred.c) */
	struct fm_base		 base;		/* the spool's origin */
};

/* A dfs_reader of one version (gen) of a file. */
struct fm_reader {
	struct dfs_reader	*r;
	uint64_t		 gen;
};

struct fm_ahead;

/* One open(2) of a file.  The kernel reads ahead with several requests
 * at once, and so does our read-ahead, so a handle keeps up to FM_READERS
 * readers. */
struct fm_handle {
	struct fm_file		*f;
	int			 flags;		/* open flags */
	bool			 wrote;		/* since the last flush */
	pthread_mutex_t		 rlock;		/* guards what follows */
	pthread_cond_t		 rcond;		/* a reader came back */
	struct fm_reader	 idle[FM_READERS];
	int			 nidle;
	int			 nreaders;	/* idle and in use */
	uint64_t		 seq_start;	/* of the last sequential run */
	uint64_t		 seq_next;	/* where a sequential read
						   goes next */
	struct fm_ahead		*ahead;		/* once reads were sequential */
};

/* fm-ops.c */
extern const struct fuse_operations fm_ops;
extern struct fm *fm_mount;		/* the one mount of this process */
struct fm	*fm_get(void);
void		 fm_conn_want(struct fuse_conn_info *);
int		 fm_dir_fill(struct fuse_file_info *, off_t,
		     int (*)(void *, const char *, const struct stat *, off_t),
		     void *);
int		 fm_errno(int rc, char *cause, const char *op,
		     const char *path);
int		 fm_check_path(const char *path);
int		 fm_sync_namespace(struct fm *, const char *op);

/* fm-cred.c */
struct fm_caller {
	uid_t	uid;
	gid_t	gid;
	pid_t	pid;			/* 0: the kernel's own request */
};
void		 fm_caller(struct fm_caller *);
int		 fm_cred_own(struct fm *);
void		 fm_cred_caller(struct fm *);
void		 fm_cred_wrote(struct fm_file *);
void		 fm_cred_file(struct fm_file *);

/* fm-ll.c: the low-level API (mount.lowlevel). */
extern const struct fuse_lowlevel_ops fm_ll_ops;
void		 fm_ll_serving(fuse_req_t);
fuse_req_t	 fm_ll_req(void);
void		 fm_invalidate(struct fm *, const char *path);

/* fm-fresh.c */
void		 fm_fresh_clear(void);
void		 fm_fresh_creating(void);
void		 fm_fresh_put(struct fm *, const char *, const struct dfs_attr *,
		     int64_t);
bool		 fm_fresh_take(const char *, struct dfs_attr *);
void		 fm_fresh_seen(struct fm *, const char *,
		     const struct dfs_attr *);
void		 fm_fresh_created(struct fm *, const char *,
		     const struct dfs_attr *);
int		 fm_fresh_lookup(struct fm *, const char *, struct dfs_attr *);
void		 fm_fresh_found(struct fm *, const char *);
void		 fm_fresh_opened(const char *);
void		 fm_fresh_removing(const char *);
char		*fm_parent_of(const char *);
void		 fm_attr_to_stat(const struct dfs_attr *, struct stat *);

/* The handle an open file's fi holds (set by fm-io.c). */
static inline struct fm_handle *
fm_handle_of(const struct fuse_file_info *fi)
{
	return (struct fm_handle *)(uintptr_t)fi->fh;
}

/* fm-file.c: the table of open files, and where their bytes live. */
struct fm_file	*fm_file_get(struct fm *, const char *path);
struct fm_file	*fm_file_get_open(struct fm *, const char *path);
void	 fm_file_put(struct fm_file *);
char	*fm_file_pathdup(struct fm_file *);
bool	 fm_file_alone(struct fm_file *);
void	 fm_file_show(struct fm_file *);
void	 fm_file_touch(struct fm_file *);
void	 fm_file_opts(const struct dfs_attr *, struct dfs_write_opts *);
int	 fm_file_pwrite_all(int fd, const void *buf, size_t len,
	    uint64_t off);
int	 fm_file_stream(struct fm_file *, const char *path,
	    const struct dfs_write_opts *);
int	 fm_file_push(struct fm_file *, const void *buf, size_t len);
int	 fm_file_push_zeros(struct fm_file *, uint64_t len);
int	 fm_file_fetch(struct fm_file *, uint64_t limit);
int	 fm_file_unstream(struct fm_file *);
int	 fm_file_commit(struct fm_file *);
int	 fm_file_truncate_locked(struct fm_file *, uint64_t size);
int	 fm_file_trunc_open(struct fm_file *, const char *path, bool alone);
bool	 fm_file_empty(struct fm_file *, const char *path);
bool	 fm_file_born(struct fm_file *);
char	*fm_file_path(struct fuse_file_info *, struct dfs_attr *gone);
bool	 fm_file_overlay(struct fm *, const char *path, struct stat *,
	    bool whole);
void	 fm_file_pending_times(struct fm *, const char *path, uint32_t valid,
	    int64_t atime, int64_t mtime);
void	 fm_file_renamed(struct fm *, const char *from, const char *to);
void	 fm_file_keep(struct fm *, const char *path);
void	 fm_file_unlinked(struct fm *, const char *path);
void	 fm_file_flush_all(struct fm *);
int	 fm_file_write_errno(int);
void	 fm_file_discard(struct fm_file *, dfs_ino, const char *path);

/* fm-commit.c: a dirty spool into the cluster, by patch or rewrite. */
int	 fm_commit_spool(struct fm_file *);
void	 fm_commit_base(struct fm_file *, struct dfs_reader *);
void	 fm_commit_forget(struct fm_file *);
void	 fm_commit_mark(struct fm_file *, uint64_t off, uint64_t len);
void	 fm_commit_truncated(struct fm_file *, uint64_t from, uint64_t to);

/* fm-io.c: the FUSE operations on open files (in fm_ops). */
void	fm_ahead_pool_free(struct fm *);
int	fm_file_create(const char *, mode_t, struct fuse_file_info *);
int	fm_file_open(const char *, struct fuse_file_info *);
int	fm_file_read(const char *, char *, size_t, off_t,
	    struct fuse_file_info *);
int	fm_file_write(const char *, const char *, size_t, off_t,
	    struct fuse_file_info *);
int	fm_file_flush(const char *, struct fuse_file_info *);
int	fm_file_fsync(const char *, int, struct fuse_file_info *);
int	fm_file_release(const char *, struct fuse_file_info *);
int	fm_file_truncate(const char *, off_t, struct fuse_file_info *);

#endif
