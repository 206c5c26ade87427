/* cp_i.h: what the dfs command's files share. */
#ifndef CP_I_H
#define CP_I_H

#include <sys/types.h>

#include <stdio.h>

#include "client.h"
#include "config.h"
#include "name.h"
#include "pki.h"

struct cp_ctx {
	const char		*prog;		/* "dfs" */
	struct dfs_config	*cfg;
	const char		*conf_path;	/* NULL: defaults only */
	struct dfs_client	*client;
	const char		*act_as;	/* --as UID:GID[:G1,G2] */
};

typedef int (*cp_cmd_fn)(struct cp_ctx *, int, char **);

struct dfs_client *cp_client(struct cp_ctx *);
int	cp_fail(struct cp_ctx *, const char *cmd, int rc, char *cause);
int	cp_usage(const char *cmd);
int	cp_parse_size(const char *, uint64_t *);
char	*cp_join(const char *dir, const char *name);
const char *cp_basename(const char *);

int	cp_cmd_put(struct cp_ctx *, int, char **);
int	cp_cmd_get(struct cp_ctx *, int, char **);
int	cp_cmd_cat(struct cp_ctx *, int, char **);
int	cp_cmd_ls(struct cp_ctx *, int, char **);
int	cp_cmd_mkdir(struct cp_ctx *, int, char **);
int	cp_cmd_rm(struct cp_ctx *, int, char **);
int	cp_cmd_mv(struct cp_ctx *, int, char **);
int	cp_cmd_stat(struct cp_ctx *, int, char **);
int	cp_cmd_fsck(struct cp_ctx *, int, char **);
int	cp_cmd_report(struct cp_ctx *, int, char **);
int	cp_cmd_whoami(struct cp_ctx *, int, char **);
int	cp_cmd_admin(struct cp_ctx *, int, char **);
int	cp_cmd_cluster(struct cp_ctx *, int, char **);
int	cp_cmd_ca(struct cp_ctx *, int, char **);
int	cp_cmd_chmod(struct cp_ctx *, int, char **);
int	cp_cmd_chown(struct cp_ctx *, int, char **);
int	cp_cmd_chgrp(struct cp_ctx *, int, char **);

/* cp-ca.c, for cp-cluster.c too */
#define CP_ID_UID	0x1
#define CP_ID_GID	0x2
#define CP_ID_GROUPS	0x4
int	cp_ca_id_option(int ch, const char *arg, struct dfs_identity *,
	    unsigned *seen);
int	cp_ca_issue_one(const char *dir, const struct dfs_pki_request *,
	    const char *outdir, bool quiet);

/* cp-cluster.c, for cp-tls.c: a local cluster's directory and daemons. */
#define CP_MAX_NODES	64

struct cp_daemon {
	pid_t	started;		/* by this command, else 0 */
	char	name[32];		/* "namenode", "datanode2" */
	char	prog[32];		/* "dfs-namenode" */
	char	addr[64];
	const char *conf;		/* DIR/CONF.conf; NULL: its name */
	char	*args[3];		/* after -c FILE, NULL-terminated */
};

#define CP_MAX_NAMENODES	9

struct cp_cluster {
	char			*dir;
	int			 n;
	struct cp_daemon	 nn;		/* member 1, or the only one */
	int			 nnn;		/* members 2.. of a group */
	struct cp_daemon	 nnx[CP_MAX_NAMENODES - 1];
	char			 nn_list[CP_MAX_NAMENODES * 64];
	struct cp_daemon	 dn[CP_MAX_NODES];
};

char	*cp_path(const struct cp_cluster *, const char *fmt, const char *);
void	 cp_set(struct dfs_config *, const char *key, const char *value);
int	 cp_write_private_conf(const struct cp_cluster *, const char *rel,
	     const struct dfs_config *);
int	 cp_cluster_load(struct cp_cluster *, const char *dir);
int	 cp_read_addr(const struct cp_cluster *, struct cp_daemon *,
	     const char *key);
void	 cp_daemon_init(struct cp_daemon *, const char *name,
	     const char *prog);

pid_t	 cp_running(const struct cp_cluster *, const struct cp_daemon *);
int	 cp_start_with(const struct cp_cluster *, struct cp_daemon *,
	     const char *extra);
void	 cp_log_tail(const struct cp_cluster *, const struct cp_daemon *);
void	 cp_mount_init(const struct cp_cluster *, struct cp_daemon *);

/* cp-group.c: a local cluster's group of namenodes */
int	cp_group_status(const char *dir);
int	cp_group_join(const char *dir, const char *id);
void	cp_group_load(struct cp_cluster *);
void	cp_group_list(struct cp_cluster *);
struct cp_daemon *cp_group_member(const struct cp_cluster *, int k);
void	cp_group_seat(const struct cp_cluster *, struct dfs_config *, int k);
int	cp_group_new(struct cp_cluster *, int n);
int	cp_group_seed(const struct cp_cluster *);
void	cp_group_seat_of(const struct cp_cluster *, const struct cp_daemon *,
	    char *buf, size_t len);
void	 cp_mkdir(const char *);

/* cp-tls.c: a local cluster's certificates, for cp-cluster.c */
int	cp_tls_ca(const struct cp_cluster *, struct dfs_config *common);
int	cp_tls_daemon(const struct cp_cluster *, struct dfs_config *,
	    const struct cp_daemon *, enum dfs_role);
int	cp_tls_self(const struct cp_cluster *, struct dfs_config *);
int	cp_tls_host(const struct cp_cluster *, const struct dfs_config *common);
int	cp_tls_adduser(struct cp_ctx *, int, char **);

/* cp-ports.c: the ports of local clusters, for cp-cluster.c */
int	cp_ports_free_addr(const char *dir, char *out, size_t cap,
	    char **cause);
int	cp_ports_reserve(const char *dir, const char *addr, char **cause);
void	cp_ports_keep(const struct cp_cluster *);

#endif
