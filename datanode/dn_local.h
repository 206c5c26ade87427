/*
 * dn_local.h: the data node's Unix socket for short-circuit local reads
 * (dn-local.c), and what dn-server.c shares with it.
 */
#ifndef DN_LOCAL_H
#define DN_LOCAL_H

#include "dn_i.h"

/* Connections on the local socket served at once; more are refused. */
#define DN_LOCAL_MAX_CONNS	64
/* How long a local connection may sit idle between requests. */
#define DN_LOCAL_IDLE_MS	(30 * 1000)
/* The largest LOCAL_OPEN payload: a token, two ids and a uuid. */
#define DN_LOCAL_MAX_REQ	1024

struct dn_local;

/* dn-local.c */
int	dn_local_start(struct dn *, char **cause);
int	dn_local_stop(struct dn *);
const char *dn_local_path(const struct dn *);
int	dn_local_op_open(struct dn_req *, char **cause);


#endif
