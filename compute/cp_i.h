/* cp_i.h: what the dfs command's files share. */
#ifndef CP_I_H
#define CP_I_H

#include "client.h"
#include "config.h"
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
int	cp_cmd_cluster(struct cp_ctx *, int, char **);
int	cp_cmd_ca(struct cp_ctx *, int, char **);

/* cp-ca.c, for cp-cluster.c too */
int	cp_ca_groups(const char *, struct dfs_identity *);
int	cp_ca_id(const char *opt, const char *arg, uint32_t *);
int	cp_ca_issue_one(const char *dir, const struct dfs_pki_request *,
	    const char *outdir, bool quiet);

#endif
