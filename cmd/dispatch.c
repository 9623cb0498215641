// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dispatch: walk the command table (exact name or unique prefix), handle
 * --help, open the library context the command's flags ask for, run it,
 * commit, and report the one result or the one error.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"

static void set_parents(struct cmd *cmds, const struct cmd *parent)
{
	for (struct cmd *c = cmds; c->name; c++) {
		c->parent = parent;
		if (c->subcmds)
			set_parents((struct cmd *)c->subcmds, c);
	}
}

void cmd_table_init(void)
{
	set_parents(cmd_root, NULL);
}

const char *cmd_full_name(const struct cmd *cmd)
{
	static char buf[128];

	if (!cmd)
		return "xgpumap";
	if (cmd->parent)
		snprintf(buf, sizeof(buf), "%s %s", cmd->parent->name, cmd->name);
	else
		snprintf(buf, sizeof(buf), "%s", cmd->name);
	return buf;
}

const struct cmd *cmd_lookup(struct cli *cli, const struct cmd *cmds,
			     const char *word, const char *parent_name)
{
	const struct cmd *found = NULL;
	char candidates[512] = "";
	size_t len = strlen(word);
	int matches = 0;

	for (const struct cmd *c = cmds; c->name; c++)
		if (!strcmp(c->name, word))
			return c; /* an exact name always wins */
	for (const struct cmd *c = cmds; c->name; c++) {
		if ((c->flags & CMD_HIDDEN) || !len || strncmp(c->name, word, len))
			continue;
		found = c;
		matches++;
		if (strlen(candidates) + strlen(c->name) + 3 < sizeof(candidates)) {
			if (*candidates)
				strcat(candidates, ", ");
			strcat(candidates, c->name);
		}
	}
	if (matches == 1)
		return found;
	if (matches > 1)
		cli_usage(cli, "%s%s'%s' is ambiguous: %s", parent_name ? parent_name : "",
			  parent_name ? ": " : "", word, candidates);
	else
		cli_usage(cli, "%s%sunknown command '%s'", parent_name ? parent_name : "",
			  parent_name ? ": " : "", word);
	return NULL;
}

static bool is_help_flag(const char *w)
{
	return !strcmp(w, "-h") || !strcmp(w, "--help");
}

/* Global flags may also follow the command ("xgpumap list -j"): take them
 * out before the command's own parser sees its arguments. */
static bool take_flag(struct cli *cli, const char *w)
{
	if (!strcmp(w, "-j") || !strcmp(w, "--json"))
		cli->json = true;
	else if (!strcmp(w, "-p") || !strcmp(w, "--pretty"))
		cli->json = cli->pretty = true;
	else if (!strcmp(w, "-q") || !strcmp(w, "--quiet"))
		cli->quiet = true;
	else if (!strcmp(w, "-v") || !strcmp(w, "--verbose"))
		cli->verbose++;
	else
		return false;
	return true;
}

/* Moves the global flags behind the new end of argv rather than dropping
 * them: whoever allocated the words (batch, shell) still frees them all. */
static int take_global_flags(struct cli *cli, int argc, char **argv)
{
	char *taken[OPT_MAX_POSITIONAL];
	int out = 1, nt = 0;
	bool rest = false;

	for (int i = 1; i < argc; i++) {
		if (!rest && !strcmp(argv[i], "--"))
			rest = true;
		if (!rest && nt < OPT_MAX_POSITIONAL && take_flag(cli, argv[i]))
			taken[nt++] = argv[i];
		else
			argv[out++] = argv[i];
	}
	for (int i = 0; i < nt; i++)
		argv[out + i] = taken[i];
	return out;
}

int cli_open(struct cli *cli, const struct cmd *cmd, const char *input)
{
	XGM_OPTS(xgm_ctx_opts, opts,
		 .backend = (cmd->flags & CMD_SIM) ? XGM_BACKEND_SIM : cli->backend,
		 .access = (cmd->flags & CMD_CTX_WRITE) ? XGM_ACCESS_WRITE
							: XGM_ACCESS_READ,
		 .sim_state = cli->sim_state,
		 .flags = (cmd->flags & CMD_NO_CREATE) ? XGM_CTX_NO_CREATE : 0,
		 .input = input);
	int ret;

	ret = xgm_ctx_open(&opts, &cli->ctx);
	if (ret)
		return cli_fail_lib(cli, ret, "cannot open the backend");
	if (xgm_ctx_created(cli->ctx) && !cli->json && !cli->quiet)
		fprintf(stderr, "xgpumap: created a simulated host with the "
			"default topology at %s\n",
			xgm_ctx_sim_state_path(cli->ctx));
	return 0;
}

static int run(struct cli *cli, const struct cmd *cmd, int argc, char **argv,
	       json_t **out)
{
	int status;

	if (cmd->flags & (CMD_CTX_READ | CMD_CTX_WRITE)) {
		status = cli_open(cli, cmd, NULL);
		if (status)
			return status;
	}
	status = cmd->fn(cli, cmd, argc, argv, out);
	if (!status && !cli->error.status && (cmd->flags & CMD_CTX_WRITE)) {
		int ret = xgm_ctx_commit(cli->ctx);

		if (ret) {
			status = cli_fail_lib(cli, ret, "cannot save the state");
			json_decref(*out);
			*out = NULL;
		}
	}
	if (cli->ctx) {
		/* Also a context the command opened itself (check --input). */
		xgm_ctx_close(cli->ctx);
		cli->ctx = NULL;
	}
	if (!status && cli->error.status) {
		status = cli->error.status;
		json_decref(*out);
		*out = NULL;
	}
	return status;
}

static int dispatch_one(struct cli *cli, int argc, char **argv, json_t **collect);

/* The value of "-b X", "--sim-state X" or "--sim-state=X" at argv[*i]. */
static const char *option_value(int argc, char **argv, int *i, const char *lng)
{
	size_t n = strlen(lng);

	if (!strncmp(argv[*i], lng, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	return *i + 1 < argc ? argv[++*i] : NULL;
}

/* A batch or shell line may start with global options, as a command line
 * does ("-j domain show vm1"): they apply to that line. Returns how many
 * words they took, or -1 after a usage error. */
static int take_line_globals(struct cli *cli, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--");
	     i++) {
		const char *w = argv[i], *v;
		bool backend = !strcmp(w, "-b") ||
			       !strncmp(w, "--backend", 9);

		if (take_flag(cli, w))
			continue;
		if (!backend && strcmp(w, "--sim-state") &&
		    strncmp(w, "--sim-state=", 12))
			return cli_usage(cli, "unknown option '%s'", w), -1;
		v = option_value(argc, argv, &i,
				 backend ? "--backend" : "--sim-state");
		if (!v || !*v)
			return cli_usage(cli, "option '%s' needs a value",
					 w), -1;
		if (!backend)
			cli->sim_state = v;
		else if (xgm_backend_parse(v, &cli->backend))
			return cli_usage(cli, "--backend must be auto, xen "
					 "or sim, not '%s'", v), -1;
	}
	return i;
}

/* Runs one command. Inside batch or shell, global options given on a
 * line ("-j list", "list -j") apply to that line only. */
int cli_dispatch(struct cli *cli, int argc, char **argv, json_t **collect)
{
	struct cli saved = *cli;
	int status, skip = 0;

	if (cli->in_batch || cli->in_shell) {
		cli_reset_error(cli);
		skip = take_line_globals(cli, argc, argv);
	}
	if (skip < 0) {
		status = cli->error.status;
		if (collect)
			*collect = cli_error_doc(cli);
		else
			cli_print_error(cli);
	} else {
		status = dispatch_one(cli, argc - skip, argv + skip, collect);
	}
	if (cli->in_batch || cli->in_shell) {
		cli->json = saved.json;
		cli->pretty = saved.pretty;
		cli->quiet = saved.quiet;
		cli->verbose = saved.verbose;
		cli->sim_state = saved.sim_state;
		cli->backend = saved.backend;
	}
	return status;
}

static int dispatch_one(struct cli *cli, int argc, char **argv, json_t **collect)
{
	const struct cmd *cmds = cmd_root, *cmd = NULL;
	json_t *out = NULL;
	int status = 0;

	cli_reset_error(cli);
	xgm_clear_error();
	if (argc < 1) {
		status = cli_usage(cli, "no command given");
		goto report;
	}
	for (;;) {
		cmd = cmd_lookup(cli, cmds, argv[0], cmd ? cmd_full_name(cmd) : NULL);
		if (!cmd) {
			status = cli->error.status;
			goto report;
		}
		if (!cmd->subcmds)
			break;
		if (argc < 2 || is_help_flag(argv[1])) {
			if (argc < 2) {
				status = cli_usage(cli, "%s: a subcommand is needed "
						   "(see 'xgpumap help %s')",
						   cmd_full_name(cmd), cmd->name);
				goto report;
			}
			out = help_json_command(cmd);
			goto print_help;
		}
		cmds = cmd->subcmds;
		argc--;
		argv++;
	}
	if (!(cmd->flags & CMD_RAW_ARGS))
		argc = take_global_flags(cli, argc, argv);
	for (int i = 1; i < argc && !(cmd->flags & CMD_RAW_ARGS) &&
			strcmp(argv[i], "--"); i++) {
		if (is_help_flag(argv[i])) {
			out = help_json_command(cmd);
			goto print_help;
		}
	}
	if (!(cmd->flags & CMD_RAW_ARGS)) {
		status = opt_validate(cli, cmd, argc, argv);
		if (status)
			goto report;
	}
	status = run(cli, cmd, argc, argv, &out);
	goto report;

print_help:
	/* Requested help is a result: stdout, exit 0. */
	if (collect) {
		*collect = out;
		return 0;
	}
	if (cli->json)
		print_json(cli, out, stdout);
	else
		help_print_command(cmd, stdout);
	json_decref(out);
	return 0;

report:
	/* A command may fail with a result (check's findings, batch's
	 * array): that result is the one document, the status stays. */
	if (status && !out && !cli->error.status)
		cli_fail(cli, -EIO, "%s failed", cmd ? cmd_full_name(cmd) : "command");
	if (collect) {
		*collect = out ? out : status ? cli_error_doc(cli) : NULL;
		return status;
	}
	if (out)
		render_result(cli, cmd, out, stdout);
	else if (status)
		cli_print_error(cli);
	json_decref(out);
	return status;
}
