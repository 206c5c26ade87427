/*
 * sum-main.c: dfs-sum, exact sums of stored arrays computed where their
 * blocks lie.  The reduction on the data nodes and the exact accumulators
 * are not built yet (issue 5); until then this program says so and fails
 * rather than print a number it did not compute.
 */
#include <getopt.h>
#include <stdio.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: dfs-sum [-c FILE] [--json] [--stats] PATH...\n"
	    "       dfs-sum --help | --version\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("dfs-sum (npdfs) %s\n", PACKAGE_VERSION);
			return 0;
		case 'c':
		case 'j':
		case 's':
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
	fprintf(stderr, "dfs-sum: in-place reduction is not implemented in "
	    "this build yet\n");
	return 1;
}
