// SPDX-License-Identifier: GPL-2.0-only
/* attach, detach, list, show: blobs mapped into guests. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

/* Library refusals that are the user's input get exit status 2. */
static int lib_error(struct cli *cli, int ret, const char *what)
{
	if (ret == -EINVAL)
		return cli_usage(cli, "%s", *xgm_last_error() ? xgm_last_error() : what);
	return cli_fail_lib(cli, ret, what);
}

int do_attach(struct cli *cli, const struct cmd *self, int argc, char **argv,
	      json_t **out)
{
	XGM_OPTS(xgm_attach_opts, opts);
	struct opt_iter it;
	char **args, card[32];
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0) {
		const char *name = self->opts[idx].name;

		if (!strcmp(name, "size")) {
			ret = xgm_parse_size(it.arg, &opts.size);
			if (ret)
				return cli_usage(cli, "attach: --size: '%s' is not a size%s",
						 it.arg, ret == -ERANGE ? " (too large)" : "");
		} else if (!strcmp(name, "placement")) {
			opts.placement = it.arg;
		} else if (!strcmp(name, "strategy")) {
			opts.strategy = it.arg;
		} else if (!strcmp(name, "cache")) {
			opts.cache = it.arg;
		} else if (!strcmp(name, "gfn")) {
			if (xgm_parse_frame(it.arg, &opts.gfn))
				return cli_usage(cli, "attach: --gfn: '%s' is not a frame "
						 "number", it.arg);
			opts.gfn_set = true;
		} else if (!strcmp(name, "label")) {
			opts.label = it.arg;
		} else if (!strcmp(name, "card")) {
			opts.card = it.arg;
		} else if (!strcmp(name, "buffer")) {
			if (gpu_parse_buffer(it.arg, card, sizeof(card), &opts.buffer))
				return cli_usage(cli, "attach: --buffer: '%s' is not a "
						 "buffer (CARD:ID, e.g. card0:3)", it.arg);
			opts.buffer_set = true;
		}
	}
	if (opts.buffer_set && opts.card && strcmp(opts.card, card))
		return cli_usage(cli, "attach: --card %s but --buffer is on %s",
				 opts.card, card);
	if (opts.buffer_set)
		opts.card = card;
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "attach: expected one DOM");
	if (!opts.size && !opts.buffer_set)
		return cli_usage(cli, "attach: --size is required and must be above 0");
	ret = xgm_blob_attach(cli->ctx, args[0], &opts, out);
	return ret ? lib_error(cli, ret, "attach failed") : 0;
}

int do_detach(struct cli *cli, const struct cmd *self, int argc, char **argv,
	      json_t **out)
{
	struct opt_iter it;
	bool all = false;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		all = true; /* --all is the only option */
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "detach: expected BLOB, or DOM --all");
	if (all && strchr(args[0], ':'))
		return cli_usage(cli, "detach: --all takes a DOM, not a blob id");
	ret = all ? xgm_blob_detach_all(cli->ctx, args[0], out)
		  : xgm_blob_detach(cli->ctx, args[0], out);
	return ret ? lib_error(cli, ret, "detach failed") : 0;
}

int do_list(struct cli *cli, const struct cmd *self, int argc, char **argv,
	    json_t **out)
{
	struct opt_iter it;
	char **args;
	int n, ret;

	n = opt_parse_none(cli, self, &it, argc, argv, &args);
	if (n < 0)
		return cli->error.status;
	if (n > 1)
		return cli_usage(cli, "list: expected at most one DOM");
	ret = xgm_blob_list(cli->ctx, n ? args[0] : NULL, out);
	return ret ? lib_error(cli, ret, "list failed") : 0;
}

int do_show(struct cli *cli, const struct cmd *self, int argc, char **argv,
	    json_t **out)
{
	struct opt_iter it;
	char **args;
	int ret;

	if (opt_parse_none(cli, self, &it, argc, argv, &args) != 1)
		return cli_usage(cli, "show: expected one BLOB (DOM:N)");
	ret = xgm_blob_show(cli->ctx, args[0], out);
	return ret ? lib_error(cli, ret, "show failed") : 0;
}

int do_migrate(struct cli *cli, const struct cmd *self, int argc, char **argv,
	       json_t **out)
{
	XGM_OPTS(xgm_migrate_opts, opts);
	uint64_t repeat = 1;
	struct opt_iter it;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0) {
		if (!strcmp(self->opts[idx].name, "to")) {
			opts.to = it.arg;
		} else if (!strcmp(self->opts[idx].name, "pause")) {
			opts.pause = true;
		} else if (xgm_parse_frame(it.arg, &repeat) || !repeat || repeat > 100000) {
			return cli_usage(cli, "migrate: --repeat must be 1..100000, not '%s'",
					 it.arg);
		}
	}
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "migrate: expected one BLOB (DOM:N)");
	if (!opts.to)
		return cli_usage(cli, "migrate: --to vram|sys is required");
	opts.repeat = (unsigned int)repeat;
	progress_begin(cli);
	ret = xgm_blob_migrate(cli->ctx, args[0], &opts, out);
	progress_end();
	return ret ? lib_error(cli, ret, "migrate failed") : 0;
}

int do_fill(struct cli *cli, const struct cmd *self, int argc, char **argv,
	    json_t **out)
{
	uint64_t seed = 0;
	struct opt_iter it;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		if (xgm_parse_frame(it.arg, &seed))
			return cli_usage(cli, "fill: --seed: '%s' is not a number", it.arg);
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "fill: expected one BLOB (DOM:N)");
	ret = xgm_blob_fill(cli->ctx, args[0], seed, out);
	return ret ? lib_error(cli, ret, "fill failed") : 0;
}

int do_verify(struct cli *cli, const struct cmd *self, int argc, char **argv,
	      json_t **out)
{
	struct opt_iter it;
	char **args;
	int ret;

	if (opt_parse_none(cli, self, &it, argc, argv, &args) != 1)
		return cli_usage(cli, "verify: expected one BLOB (DOM:N)");
	ret = xgm_blob_verify(cli->ctx, args[0], out);
	if (ret)
		return lib_error(cli, ret, "verify failed");
	/* A mismatch is a result, and a failure. */
	return strcmp(json_string_value(json_object_get(*out, "result")), "ok") ?
	       EXIT_FAILED : 0;
}
