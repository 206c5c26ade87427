/*
 * sum-main.c: dfs-sum, exact sums of stored arrays computed where their
 * blocks lie: option parsing, and printing the answers (sum-client.c
 * computes them).
 *
 * Output.  One line per file: the value alone for one PATH, "PATH VALUE"
 * for several.  Floats print as Python's repr() prints the double (the
 * shortest decimal that reads back to the same bits), integers and bools
 * as the full exact integer, complex as Python's repr() of a complex
 * ("(1.5-2j)", "2j"), so a Python oracle can compare strings.  --json
 * prints one object per file per line instead.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accum.h"
#include "client.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

#include "sum_i.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: dfs-sum [-d] [-c FILE | --namenode HOST:PORT] "
	    "[-o KEY=VALUE] [--json] [--stats] PATH...\n"
	    "       dfs-sum --help | --version\n"
	    "Prints the exact sum of each stored .npy array.  The client "
	    "configuration\ncomes from -c FILE, else $NPDFS_CONF; see "
	    "npdfs.conf(5).\n");
}

/*
 * A double as one part of Python's complex repr: repr() without a
 * trailing ".0" ("1", "1.5", "1e+16", "-0", "nan", "inf").
 */
static void
sum_fmt_part(double x, char *out, size_t cap)
{
	size_t	n;

	dfs_fmt_double(x, out, cap);
	n = strlen(out);
	if (n > 2 && strcmp(out + n - 2, ".0") == 0)
		out[n - 2] = '\0';
}

/*
 * A complex as Python's repr(complex(re, im)): "(RE+IMj)", or "IMj" alone
 * when the real part is +0.0; NaN parts print without a sign of their own.
 */
static void
sum_fmt_complex(double re, double im, char *out, size_t cap)
{
	char	r[DFS_FMT_DOUBLE_MAX], i[DFS_FMT_DOUBLE_MAX];

	sum_fmt_part(re, r, sizeof r);
	sum_fmt_part(im, i, sizeof i);
	if (re == 0 && !signbit(re))
		snprintf(out, cap, "%sj", i);
	else
		snprintf(out, cap, "(%s%s%sj)", r, i[0] == '-' ? "" : "+", i);
}

/*
 * DESIGN.md promises the answer math.fsum gives wherever it gives one, and
 * fsum answers 0.0, never -0.0, for a sum of zeros (IEEE would say -0.0
 * for a sum of only -0.0 values): the printed sum follows fsum.
 */
static double
sum_as_fsum(double x)
{
	return x == 0 ? 0.0 : x;
}

/* The sum as printed on its line.  out holds at least 2 * DFS_ACC_DEC_MAX. */
static void
sum_fmt_value(const struct sum_result *res, char *out, size_t cap)
{
	double	re, im;

	switch (dfs_acc_kind(&res->acc)) {
	case DFS_ACC_INT:
		if (dfs_acc_result_dec(&res->acc, out, cap) != 0)
			snprintf(out, cap, "?");
		break;
	case DFS_ACC_COMPLEX:
		dfs_acc_result_c128(&res->acc, &re, &im);
		sum_fmt_complex(sum_as_fsum(re), sum_as_fsum(im), out, cap);
		break;
	default:
		dfs_fmt_double(sum_as_fsum(dfs_acc_result_f64(&res->acc)), out,
		    cap);
		break;
	}
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void
sum_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* A double for JSON: its repr when finite, else "nan", "inf" or "-inf". */
static void
sum_json_double(FILE *f, double x)
{
	char	buf[DFS_FMT_DOUBLE_MAX];

	dfs_fmt_double(x, buf, sizeof buf);
	if (isfinite(x))
		fputs(buf, f);
	else
		fprintf(f, "\"%s\"", buf);
}

/* One file's answer as one JSON object on one line. */
static void
sum_print_json(FILE *f, const char *path, const struct sum_result *res)
{
	const struct dfs_npy_meta	*m = &res->attr.npy;
	char				 dec[DFS_ACC_DEC_MAX];
	double				 re, im;

	fputs("{\"path\":", f);
	sum_json_str(f, path);
	fputs(",\"dtype\":", f);
	sum_json_str(f, m->descr);
	fputs(",\"shape\":[", f);
	for (unsigned i = 0; i < m->ndim && i < 64; i++)
		fprintf(f, "%s%llu", i > 0 ? "," : "",
		    (unsigned long long)m->shape[i]);
	fprintf(f, "],\"count\":%llu,\"sum\":", (unsigned long long)res->count);
	switch (dfs_acc_kind(&res->acc)) {
	case DFS_ACC_INT:
		if (dfs_acc_result_dec(&res->acc, dec, sizeof dec) != 0)
			snprintf(dec, sizeof dec, "null");
		fputs(dec, f);
		break;
	case DFS_ACC_COMPLEX:
		dfs_acc_result_c128(&res->acc, &re, &im);
		re = sum_as_fsum(re);
		im = sum_as_fsum(im);
		fputc('[', f);
		sum_json_double(f, re);
		fputc(',', f);
		sum_json_double(f, im);
		fputc(']', f);
		break;
	default:
		sum_json_double(f, sum_as_fsum(dfs_acc_result_f64(&res->acc)));
		break;
	}
	fprintf(f, ",\"seconds\":%.6f,\"bytes\":%llu}\n", res->seconds,
	    (unsigned long long)(res->count * res->itemsize));
}

/* --stats: what each data node did, on stderr. */
static void
sum_print_stats(const struct sum_stats *st)
{
	for (size_t i = 0; i < st->n; i++) {
		const struct sum_node_stats *n = &st->nodes[i];
		double secs = (double)n->usec / 1e6;
		fprintf(stderr, "dfs-sum: %s: %llu blocks, %llu bytes, %.3f s "
		    "reducing (%.2f GB/s), %llu failed\n", n->addr,
		    (unsigned long long)n->blocks,
		    (unsigned long long)n->bytes, secs,
		    secs > 0 ? (double)n->bytes / secs / 1e9 : 0.0,
		    (unsigned long long)n->failures);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "namenode", required_argument, NULL, 'N' },
		{ "set", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "stats", no_argument, NULL, 's' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct dfs_config	*cfg = NULL;
	struct dfs_client	*client = NULL;
	struct sum_stats	 stats = { NULL, 0 };
	struct sum_opts		 o;
	struct sum_result	*res = NULL;
	const char		*conf, *namenode = NULL;
	char			*cause = NULL;
	char			 val[2 * DFS_ACC_DEC_MAX];
	bool			 json = false, show_stats = false;
	int			 ch, rc, status = 0, level = DFS_LOG_WARN;

	signal(SIGPIPE, SIG_IGN);
	conf = getenv("NPDFS_CONF");
	if (conf != NULL && conf[0] == '\0')
		conf = NULL;
	while ((ch = getopt_long(argc, argv, "c:o:dhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'N':
			namenode = optarg;
			break;
		case 'o':
			break;		/* applied after the file */
		case 'j':
			json = true;
			break;
		case 's':
			show_stats = true;
			break;
		case 'd':
			level = DFS_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("dfs-sum (npdfs) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	dfs_log_open("dfs-sum", level, false);
	cfg = dfs_config_create();
	if (conf != NULL && dfs_config_load(cfg, conf, &cause) != 0) {
		fprintf(stderr, "dfs-sum: %s\n", cause);
		status = 1;
		goto out;
	}
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:o:dhV", longopts,
	    NULL)) != -1) {
		if (ch == 'o' && dfs_config_set_arg(cfg, optarg, &cause) != 0) {
			fprintf(stderr, "dfs-sum: -o %s: %s\n", optarg, cause);
			status = 1;
			goto out;
		}
	}
	if (namenode != NULL && dfs_config_set(cfg, "namenode.address",
	    namenode, &cause) != 0) {
		fprintf(stderr, "dfs-sum: --namenode: %s\n", cause);
		status = 1;
		goto out;
	}
	if (dfs_client_from_config(cfg, &client, &cause) != 0) {
		fprintf(stderr, "dfs-sum: %s\n", cause);
		status = 1;
		goto out;
	}
	o.timeout_ms = (int)dfs_config_int(cfg, "client.timeout");
	o.progress = isatty(STDERR_FILENO);
	res = xmalloc(sizeof *res);
	for (int i = optind; i < argc; i++) {
		/* A path inside a dfs-mount mount point: ask its cluster. */
		char *mnn = NULL, *mpath = NULL;
		struct dfs_client *mclient = NULL;
		struct dfs_tls *mtls = NULL;
		/* Its cluster, with this user's certificate (from cfg). */
		if (sum_mount_resolve(argv[i], &mnn, &mpath) == 1 &&
		    (dfs_tls_open(cfg, &mtls, &cause) != 0 ||
		    dfs_client_create(mnn, mtls, o.timeout_ms, &mclient,
		    &cause) != 0)) {
			fprintf(stderr, "dfs-sum: %s: %s\n", argv[i], cause);
			free(cause);
			cause = NULL;
			free(mnn);
			free(mpath);
			status = 1;
			continue;
		}
		rc = sum_client_file(mclient != NULL ? mclient : client,
		    mpath != NULL ? mpath : argv[i], &o, &stats, res, &cause);
		dfs_client_free(mclient);
		free(mnn);
		free(mpath);
		if (rc != 0) {
			fprintf(stderr, "dfs-sum: %s\n", cause != NULL ? cause :
			    strerror(-rc));
			free(cause);
			cause = NULL;
			status = 1;
			continue;
		}
		if (json)
			sum_print_json(stdout, argv[i], res);
		else {
			sum_fmt_value(res, val, sizeof val);
			if (argc - optind > 1)
				printf("%s %s\n", argv[i], val);
			else
				printf("%s\n", val);
		}
		fflush(stdout);
	}
	if (show_stats)
		sum_print_stats(&stats);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "dfs-sum: writing the output: %s\n",
		    strerror(errno));
		status = 1;
	}
out:
	free(cause);
	free(res);
	sum_stats_release(&stats);
	dfs_client_free(client);
	dfs_config_free(cfg);
	return status;
}
