// SPDX-License-Identifier: GPL-2.0-only
/*
 * Completion from the command table: the hidden `__complete WORDS...`
 * command and the shell's tab key both ask this one function, so the bash
 * and zsh scripts stay thin wrappers that cannot drift from the binary.
 * The last word is the one being completed (possibly empty).
 */
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char *const backend_values[] = { "auto", "xen", "sim", NULL };

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void offer(json_t *out, const char *cand, const char *partial)
{
	if (starts(cand, partial))
		json_array_append_new(out, json_string(cand));
}

static void offer_commands(json_t *out, const struct cmd *cmds, const char *partial)
{
	for (const struct cmd *c = cmds; c->name; c++)
		if (!(c->flags & CMD_HIDDEN))
			offer(out, c->name, partial);
}

/* Domain names from the current state; never creates a state. Only the
 * domains the command can work on: blobs go to translated guests, a p2m
 * is a translated domain's. */
static void offer_domains(struct cli *cli, json_t *out, const char *partial,
			  enum arg_kind kind)
{
	XGM_OPTS(xgm_ctx_opts, opts, .backend = cli->backend,
		 .sim_state = cli->sim_state, .flags = XGM_CTX_NO_CREATE);
	struct xgm_domain_info *doms;
	struct xgm_ctx *ctx;
	size_t n;

	if (xgm_ctx_open(&opts, &ctx))
		return;
	if (!xgm_domain_list(ctx, &doms, &n)) {
		for (size_t i = 0; i < n; i++) {
			if ((kind == ARG_GUEST || kind == ARG_P2M_DOM) &&
			    !doms[i].translated)
				continue;
			if (kind == ARG_GUEST && doms[i].is_dom0)
				continue;
			offer(out, doms[i].name, partial);
		}
		free(doms);
	}
	xgm_ctx_close(ctx);
}

/* Blob ids (and, for "detach DOM --all", domain names). */
static void offer_blobs(struct cli *cli, json_t *out, const char *partial)
{
	XGM_OPTS(xgm_ctx_opts, opts, .backend = cli->backend,
		 .sim_state = cli->sim_state, .flags = XGM_CTX_NO_CREATE);
	struct xgm_ctx *ctx;
	json_t *list, *b;
	size_t i;

	if (xgm_ctx_open(&opts, &ctx))
		return;
	if (!xgm_blob_list(ctx, NULL, &list)) {
		json_array_foreach(list, i, b)
			offer(out, json_string_value(json_object_get(b, "id")), partial);
		json_decref(list);
	}
	xgm_ctx_close(ctx);
}

/* Card names from the current state's GPUs; never creates a state. */
static void offer_cards(struct cli *cli, json_t *out, const char *partial)
{
	XGM_OPTS(xgm_ctx_opts, opts, .backend = cli->backend,
		 .sim_state = cli->sim_state, .flags = XGM_CTX_NO_CREATE);
	struct xgm_ctx *ctx;
	json_t *cards, *c;
	size_t i;

	if (xgm_ctx_open(&opts, &ctx))
		return;
	if (!xgm_gpu_list(ctx, &cards)) {
		json_array_foreach(cards, i, c)
			offer(out, json_string_value(json_object_get(c, "card")), partial);
		json_decref(cards);
	}
	xgm_ctx_close(ctx);
}

static void offer_values(struct cli *cli, json_t *out, const struct cmd_opt *o,
			 const char *partial)
{
	if (o->values)
		for (const char *const *v = o->values; *v; v++)
			offer(out, *v, partial);
	else if (!strcmp(o->arg, "DOM"))
		offer_domains(cli, out, partial, ARG_DOM);
	else if (!strcmp(o->arg, "CARD"))
		offer_cards(cli, out, partial);
}

static const struct cmd_opt *find_opt(const struct cmd *cmd, const char *w)
{
	for (const struct cmd_opt *o = cmd->opts; o && o->name; o++)
		if ((w[0] == '-' && w[1] == '-' && !strcmp(w + 2, o->name)) ||
		    (w[0] == '-' && o->short_name && w[1] == o->short_name && !w[2]))
			return o;
	return NULL;
}

/* What cmd_lookup() would run, without recording an error. */
static const struct cmd *find_command(const struct cmd *cmds, const char *w)
{
	const struct cmd *found = NULL;
	size_t len = strlen(w);

	for (const struct cmd *c = cmds; c->name; c++)
		if (!strcmp(c->name, w))
			return c;
	for (const struct cmd *c = cmds; c->name && len; c++) {
		if ((c->flags & CMD_HIDDEN) || strncmp(c->name, w, len))
			continue;
		if (found)
			return NULL; /* ambiguous */
		found = c;
	}
	return found;
}

json_t *complete_words(struct cli *cli, int argc, char **argv)
{
	static const char *const globals[] = {
		"--json", "--pretty", "--backend", "--sim-state", "--quiet",
		"--verbose", "--version", "--help", NULL
	};
	const struct cmd *cmds = cmd_root, *cmd = NULL;
	const char *partial = argc ? argv[argc - 1] : "";
	json_t *out = json_array();
	int i = 0;

	if (argc < 1) {
		/* Nothing typed yet: every command. */
		offer_commands(out, cmds, "");
		return out;
	}
	/* Global options before the command; the state and backend they
	 * name are the ones to complete domain names and blobs from. */
	for (; i < argc - 1 && argv[i][0] == '-'; i++) {
		if (!strncmp(argv[i], "--sim-state=", 12)) {
			cli->sim_state = argv[i] + 12;
		} else if (!strncmp(argv[i], "--backend=", 10)) {
			xgm_backend_parse(argv[i] + 10, &cli->backend);
		} else if (!strcmp(argv[i], "-b") || !strcmp(argv[i], "--backend") ||
			   !strcmp(argv[i], "--sim-state")) {
			if (i + 1 < argc - 1) {
				if (argv[i][2] == 's')
					cli->sim_state = argv[i + 1];
				else
					xgm_backend_parse(argv[i + 1], &cli->backend);
			}
			i++;
		}
	}
	if (i > argc - 1) {
		/* The partial word is the value of -b or --sim-state. */
		if (!strcmp(argv[argc - 2], "-b") || !strcmp(argv[argc - 2], "--backend"))
			for (const char *const *v = backend_values; *v; v++)
				offer(out, *v, partial);
		return out;
	}
	/* Command words: an exact name or a unique prefix, as they run
	 * ("dom l" is "domain list"). */
	for (; i < argc - 1; i++) {
		const struct cmd *c = find_command(cmds, argv[i]);

		if (!c)
			return out; /* unknown: nothing sensible to offer */
		cmd = c;
		if (!c->subcmds) {
			i++;
			break;
		}
		cmds = c->subcmds;
	}
	if (!cmd || cmd->subcmds) {
		if (partial[0] == '-' && !cmd) {
			for (const char *const *g = globals; *g; g++)
				offer(out, *g, partial);
		} else {
			offer_commands(out, cmds, partial);
		}
		return out;
	}
	if (cmd->flags & CMD_RAW_ARGS)
		return out;
	/* Inside a leaf command: option values, options, positionals. */
	if (argc >= 2 && i <= argc - 1) {
		const struct cmd_opt *prev = find_opt(cmd, argv[argc - 2]);

		if (prev && prev->arg && i < argc - 1) {
			offer_values(cli, out, prev, partial);
			return out;
		}
	}
	if (partial[0] == '-') {
		for (const struct cmd_opt *o = cmd->opts; o && o->name; o++) {
			char buf[64];

			snprintf(buf, sizeof(buf), "--%s", o->name);
			offer(out, buf, partial);
		}
		offer(out, "--help", partial);
		return out;
	}
	if (cmd->arg_values) {
		for (const char *const *v = cmd->arg_values; *v; v++)
			offer(out, *v, partial);
		return out;
	}
	switch (cmd->arg_kind) {
	case ARG_DOM:
	case ARG_GUEST:
	case ARG_P2M_DOM:
		offer_domains(cli, out, partial, cmd->arg_kind);
		break;
	case ARG_BLOB:
		offer_blobs(cli, out, partial);
		break;
	case ARG_CARD:
		offer_cards(cli, out, partial);
		break;
	case ARG_COMMAND:
		offer_commands(out, cmd_root, partial);
		break;
	default:
		break;
	}
	return out;
}

int do_complete(struct cli *cli, const struct cmd *self, int argc, char **argv,
		json_t **out)
{
	*out = complete_words(cli, argc - 1, argv + 1);
	return 0;
}
