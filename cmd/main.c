// SPDX-License-Identifier: GPL-2.0-only
/* xgpumap: global options, then the command table does the rest. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void log_to_stderr(enum xgm_log_level level, const char *msg, void *user)
{
	const struct cli *cli = user;

	/* Warnings unless -q; info with -v; debug with -vv. */
	if ((level == XGM_LOG_WARN && !cli->quiet) ||
	    (level == XGM_LOG_INFO && cli->verbose >= 1) ||
	    (level == XGM_LOG_DEBUG && cli->verbose >= 2)) {
		fputs("xgpumap: ", stderr);
		fput_escaped(msg, stderr);
		fputc('\n', stderr);
	}
}

static int set_backend(struct cli *cli, const char *name, const char *from)
{
	if (xgm_backend_parse(name, &cli->backend))
		return cli_usage(cli, "%s must be auto, xen or sim, not '%s'", from, name);
	cli->backend_set = true;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "backend", required_argument, NULL, 'b' },
		{ "sim-state", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct cli cli = { .backend = XGM_BACKEND_AUTO };
	const char *env = getenv("XGPUMAP_BACKEND");
	bool want_help = false, want_version = false;
	int c, status;

	cmd_table_init();
	xgm_set_print(log_to_stderr, &cli);
	if (env && *env && set_backend(&cli, env, "XGPUMAP_BACKEND"))
		goto usage_error;
	opterr = 0;
	/* "+": stop at the command word; its options are its own. */
	while ((c = getopt_long(argc, argv, "+:jpb:qvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			cli.json = true;
			break;
		case 'p':
			cli.json = cli.pretty = true;
			break;
		case 'b':
			if (set_backend(&cli, optarg, "--backend"))
				goto usage_error;
			break;
		case 'S':
			if (!*optarg) {
				cli_usage(&cli, "--sim-state needs a path, not ''");
				goto usage_error;
			}
			cli.sim_state = optarg;
			break;
		case 'q':
			cli.quiet = true;
			break;
		case 'v':
			cli.verbose++;
			break;
		case 'V':
			want_version = true;
			break;
		case 'h':
			want_help = true;
			break;
		case ':':
			cli_usage(&cli, "option '%s' needs a value", argv[optind - 1]);
			goto usage_error;
		default:
			cli_usage(&cli, "unknown option '%s'", argv[optind - 1]);
			goto usage_error;
		}
	}
	if (want_help) {
		char *help[] = { "help", NULL };

		return cli_dispatch(&cli, 1, help, NULL);
	}
	if (want_version) {
		char *version[] = { "version", NULL };

		if (cli.json)
			return cli_dispatch(&cli, 1, version, NULL);
		printf("xgpumap %s\n", xgm_version());
		return EXIT_OK;
	}
	if (optind >= argc) {
		cli_usage(&cli, "no command given");
		goto usage_error;
	}
	status = cli_dispatch(&cli, argc - optind, argv + optind, NULL);
	if (fflush(stdout) || ferror(stdout))
		status = status ? status : EXIT_FAILED;
	return status;

usage_error:
	cli_print_error(&cli);
	return EXIT_USAGE;
}
