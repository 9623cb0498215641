// SPDX-License-Identifier: GPL-2.0-only
/* help [COMMAND [SUBCOMMAND]] and version. */
#include <string.h>

#include "cli.h"
#include "commands.h"

static void add_leaves(json_t *arr, const struct cmd *cmds)
{
	for (const struct cmd *c = cmds; c->name; c++) {
		if (c->flags & CMD_HIDDEN)
			continue;
		if (c->subcmds) {
			add_leaves(arr, c->subcmds);
			continue;
		}
		json_array_append_new(arr, json_pack("{s:s,s:s}", "command",
						     cmd_full_name(c), "summary",
						     c->summary));
	}
}

/* Resolves "domain list" (or a prefix of each word) to its entry. */
static const struct cmd *resolve(struct cli *cli, int argc, char **argv)
{
	const struct cmd *cmds = cmd_root, *cmd = NULL;

	for (int i = 0; i < argc; i++) {
		if (!cmds)
			return cli_usage(cli, "help: '%s' has no subcommand '%s'",
					 cmd_full_name(cmd), argv[i]), NULL;
		cmd = cmd_lookup(cli, cmds, argv[i], cmd ? cmd_full_name(cmd) : "help");
		if (!cmd)
			return NULL;
		cmds = cmd->subcmds;
	}
	return cmd;
}

int do_help(struct cli *cli, const struct cmd *self, int argc, char **argv,
	    json_t **out)
{
	const struct cmd *cmd;
	struct opt_iter it;
	char **args;
	int n;

	n = opt_parse_none(cli, self, &it, argc, argv, &args);
	if (n < 0)
		return cli->error.status;
	if (!n) {
		json_t *cmds = json_array();

		add_leaves(cmds, cmd_root);
		*out = json_pack("{s:s,s:o}", "usage",
				 "xgpumap [OPTIONS] COMMAND [ARGS...]", "commands", cmds);
		return 0;
	}
	cmd = resolve(cli, n, args);
	if (!cmd)
		return cli->error.status;
	*out = help_json_command(cmd);
	return 0;
}

void render_help(struct cli *cli, json_t *out, FILE *f)
{
	const char *name = json_string_value(json_object_get(out, "command"));
	char *copy, *words[4], *save = NULL;
	int n = 0;

	if (!name) {
		help_print_overview(f);
		return;
	}
	copy = strdup(name);
	for (char *w = strtok_r(copy, " ", &save); w && n < 4; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	help_print_command(resolve(cli, n, words), f);
	free(copy);
}

int do_version(struct cli *cli, const struct cmd *self, int argc, char **argv,
	       json_t **out)
{
	unsigned int f = xgm_features();
	struct opt_iter it;
	char **args;

	if (opt_parse_none(cli, self, &it, argc, argv, &args))
		return cli_usage(cli, "version: unexpected argument '%s'", args[0]);
	*out = json_pack("{s:s,s:s,s:{s:b,s:b,s:b,s:b},s:s}",
			 "version", xgm_version(),
			 "library", xgm_version(),
			 "features",
			 "backend_sim", (f & XGM_FEATURE_BACKEND_SIM) != 0,
			 "backend_xen", (f & XGM_FEATURE_BACKEND_XEN) != 0,
			 "backend_drm", (f & XGM_FEATURE_BACKEND_DRM) != 0,
#ifdef XGM_HAVE_READLINE
			 "readline", 1,
#else
			 "readline", 0,
#endif
			 "default_backend", "auto");
	return 0;
}
