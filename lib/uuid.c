/*
 * uuid.c: random identities in uuid text form.  A data node's storage
 * and a cluster are each named by one, made once from the kernel's
 * random bytes (RFC 4122 version 4) and kept on disk ever after.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "uuid.h"

/* A new random uuid in out: 0, or -EIO without random bytes. */
int
dfs_uuid_new(char out[DFS_UUID_LEN + 1])
{
	unsigned char	r[16];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return -EIO;
	r[6] = (r[6] & 0x0f) | 0x40;	/* version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, DFS_UUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
	    r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
	    r[14], r[15]);
	return 0;
}

/* Whether s is the text of a uuid: 8-4-4-4-12 lower-case hex digits. */
bool
dfs_uuid_ok(const char *s)
{
	for (int i = 0; i < DFS_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (s[i] == '\0')
			return false;
		if (dash ? s[i] != '-' : strchr("0123456789abcdef", s[i]) ==
		    NULL)
			return false;
	}
	return s[DFS_UUID_LEN] == '\0';
}
