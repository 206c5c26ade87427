/*
 * cp-ports.c: the TCP ports of the clusters "dfs cluster up" runs on this
 * machine.  Moved out of cp-cluster.c, which writes them into the daemons'
 * config files and starts the daemons that listen on them.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cp_i.h"
#include "net.h"

/*
 * A free TCP port on 127.0.0.1, as "127.0.0.1:PORT".  The port is chosen
 * below the kernel's ephemeral range: a port from that range, free when
 * probed, can be taken by any outgoing connection before the daemon binds
 * it (seen with many test clusters starting at once).  Ports are tried
 * from a random start so that clusters started together rarely probe the
 * same one.
 */
int
cp_ports_free_addr(char *out, size_t cap)
{
	char		*cause = NULL, probe[32];
	int		 fd, lo = 32768, hi = 60999, first, span;
	FILE		*f;
	unsigned	 seed;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) != NULL) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = 32768;
		fclose(f);
	}
	seed = (unsigned)getpid() ^ (unsigned)time(NULL) ^
	    (unsigned)clock();
	if (lo > 11024) {
		first = 10000;
		span = lo - first;
	} else {
		first = hi + 1;
		span = 65535 - hi;
	}
	for (int i = 0; span > 0 && i < 64; i++) {
		int port = first + (int)(rand_r(&seed) % (unsigned)span);
		snprintf(probe, sizeof probe, "127.0.0.1:%d", port);
		if (dfs_net_listen(probe, &fd, NULL) == 0) {
			close(fd);
			snprintf(out, cap, "%s", probe);
			return 0;
		}
	}
	/* Everything probed was busy: let the kernel choose. */
	if (dfs_net_listen("127.0.0.1:0", &fd, &cause) != 0) {
		fprintf(stderr, "dfs cluster: %s\n", cause);
		free(cause);
		return -1;
	}
	snprintf(out, cap, "127.0.0.1:%d", dfs_net_local_port(fd));
	close(fd);
	return 0;
}
