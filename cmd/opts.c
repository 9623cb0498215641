// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-command option parsing from the command's declarative option list,
 * so help, completion and parsing can never disagree about an option.
 * GNU style: options and positionals may interleave; "--" ends options.
 */
#include <string.h>

#include "cli.h"

void opt_iter_init(struct opt_iter *it, int argc, char **argv)
{
	memset(it, 0, sizeof(*it));
	it->argc = argc;
	it->argv = argv;
	it->i = 1; /* argv[0] is the command word */
}

static int add_positional(struct cli *cli, struct opt_iter *it, char *word)
{
	if (it->npos == OPT_MAX_POSITIONAL)
		return cli_usage(cli, "too many arguments");
	it->pos[it->npos++] = word;
	it->pos[it->npos] = NULL;
	return 0;
}

static int find_long(const struct cmd *cmd, const char *name, size_t len)
{
	for (int i = 0; cmd->opts && cmd->opts[i].name; i++)
		if (strlen(cmd->opts[i].name) == len &&
		    !strncmp(cmd->opts[i].name, name, len))
			return i;
	return -1;
}

static int find_short(const struct cmd *cmd, char c)
{
	for (int i = 0; cmd->opts && cmd->opts[i].name; i++)
		if (cmd->opts[i].short_name && cmd->opts[i].short_name == c)
			return i;
	return -1;
}

int opt_next(struct cli *cli, const struct cmd *cmd, struct opt_iter *it)
{
	const char *name = cmd_full_name(cmd);

	while (it->i < it->argc && !it->done) {
		char *w = it->argv[it->i++];
		const struct cmd_opt *o;
		const char *eq;
		int idx;

		if (!strcmp(w, "--")) {
			it->done = true;
			break;
		}
		if (w[0] != '-' || !w[1]) {
			if (add_positional(cli, it, w))
				return -2;
			continue;
		}
		if (w[1] == '-') {
			eq = strchr(w + 2, '=');
			idx = find_long(cmd, w + 2, eq ? (size_t)(eq - w - 2) : strlen(w + 2));
			if (idx < 0) {
				cli_usage(cli, "%s: unknown option '%s'", name, w);
				return -2;
			}
			o = &cmd->opts[idx];
			if (!o->arg) {
				if (eq) {
					cli_usage(cli, "%s: option '--%s' takes no value",
						  name, o->name);
					return -2;
				}
				it->arg = NULL;
				return idx;
			}
			if (eq) {
				it->arg = eq + 1;
				return idx;
			}
		} else {
			idx = find_short(cmd, w[1]);
			if (idx < 0) {
				cli_usage(cli, "%s: unknown option '-%c'", name, w[1]);
				return -2;
			}
			o = &cmd->opts[idx];
			if (!o->arg) {
				if (w[2]) {
					cli_usage(cli, "%s: option '-%c' takes no value",
						  name, w[1]);
					return -2;
				}
				it->arg = NULL;
				return idx;
			}
			if (w[2]) {
				it->arg = w + 2;
				return idx;
			}
		}
		if (it->i >= it->argc) {
			cli_usage(cli, "%s: option '--%s' needs a value (%s)", name,
				  o->name, o->arg);
			return -2;
		}
		it->arg = it->argv[it->i++];
		return idx;
	}
	while (it->i < it->argc)
		if (add_positional(cli, it, it->argv[it->i++]))
			return -2;
	return -1;
}

int opt_rest(const struct opt_iter *it, char ***argv)
{
	*argv = (char **)it->pos;
	return it->npos;
}

int opt_parse_none(struct cli *cli, const struct cmd *cmd, struct opt_iter *it,
		   int argc, char **argv, char ***args)
{
	opt_iter_init(it, argc, argv);
	*args = it->pos; /* empty until parsed: never dangling on an error */
	if (opt_next(cli, cmd, it) != -1)
		return -1;
	return opt_rest(it, args);
}

/* Whether one of the options called names (space-separated; NULL: none)
 * was among those seen. */
static bool opt_seen(const struct cmd *cmd, unsigned long long seen,
		     const char *names)
{
	for (const char *p = names; p && *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");
		int i = find_long(cmd, p, n);

		if (i >= 0 && i < 64 && (seen & (1ULL << i)))
			return true;
		p += n;
	}
	return false;
}

int opt_validate(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	struct opt_iter it;
	char **args;
	int idx, n;

	unsigned long long seen = 0;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, cmd, &it)) >= 0)
		if (idx < 64)
			seen |= 1ULL << idx;
	if (idx == -2)
		return cli->error.status;
	n = opt_rest(&it, &args);
	if (n < cmd->min_args)
		return cli_usage(cli, "%s: expected %s (see 'xgpumap help %s')",
				 cmd_full_name(cmd), cmd->args ? cmd->args : "arguments",
				 cmd_full_name(cmd));
	if (n > cmd->max_args)
		return cli_usage(cli, "%s: unexpected argument '%s'",
				 cmd_full_name(cmd), args[cmd->max_args]);
	/* Required options are the table's, so help prints them as such. */
	for (int i = 0; cmd->opts && cmd->opts[i].name && i < 64; i++) {
		char name[64];

		if (!cmd->opts[i].required || (seen & (1ULL << i)) ||
		    opt_seen(cmd, seen, cmd->opts[i].unless))
			continue;
		snprintf(name, sizeof(name), "%s", cmd_full_name(cmd));
		return cli_usage(cli, "%s: --%s %s is required (see 'xgpumap "
				 "help %s')", name, cmd->opts[i].name,
				 cmd->opts[i].arg ? cmd->opts[i].arg : "", name);
	}
	return 0;
}
