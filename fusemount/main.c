/*
 * main.c: dfs-mount, the cluster as a directory through libfuse3.  The
 * file system itself is not built yet (issue 4); until then this program
 * says so and fails rather than pretend to mount.
 */
#include <getopt.h>
#include <stdio.h>

#include <fuse_lowlevel.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: dfs-mount [-c FILE | --namenode HOST:PORT] "
	    "MOUNTPOINT [-f] [-d] [-o OPTIONS]\n"
	    "       dfs-mount --help | --version\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "namenode", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "c:fdo:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("dfs-mount (npdfs) %s, libfuse %s\n",
			    PACKAGE_VERSION, fuse_pkgversion());
			return 0;
		case 'c':
		case 'N':
		case 'f':
		case 'd':
		case 'o':
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	fprintf(stderr, "dfs-mount: the FUSE file system is not implemented "
	    "in this build yet\n");
	return 1;
}
