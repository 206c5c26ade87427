/*
 * dn-token.c: the one token check behind every block operation (READ,
 * LOCAL_OPEN, REDUCE, WRITE, RESUME).
 *
 * A token must be signed by one of the namenode's live keys for this
 * block, generation and access (lib/token.c), and the peer presenting it
 * must be one that may use it: on TCP, by its certificate (a user only
 * its own tokens; a host, the superuser, a data node forwarding a
 * pipeline or the namenode any); on the short-circuit Unix socket, by its
 * kernel credentials (dn-local.c).
 */
#include <sys/socket.h>

#include <time.h>

#include "net.h"

#include "dn_i.h"

/* 0 if req's peer may do mode on (block, gen) with tok (a write through
 * the pipeline whose targets hash is given), else -EACCES and why. */
int
dn_token_check(struct dn_req *req, const struct dfs_token *tok,
    dfs_block_id block, uint64_t gen, uint8_t mode, const uint8_t *targets,
    char **cause)
{
	int	rc;

	if ((rc = dfs_token_check(&req->dn->keys, tok, block, gen, mode,
	    targets, time(NULL), cause)) != 0)
		return rc;
	if (req->cred != NULL)
		return 0;	/* the local socket: dn-local.c checks uids */
	return dfs_token_may_use(tok, dfs_sock_peer(req->s), cause);
}
