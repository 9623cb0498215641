// SPDX-License-Identifier: GPL-2.0-only
/* gpu list, gpu show: the cards, what their driver allows, their buffers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

/* Capability names of a card that are true, as one list ("place_vram,
 * pin"): a table cell cannot hold the object. */
static json_t *can_list(json_t *caps)
{
	static const char *const names[] = { "place_vram", "locate_frames", "pin" };
	json_t *l = json_array();

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (json_is_true(json_object_get(caps, names[i])))
			json_array_append_new(l, json_string(names[i]));
	return l;
}

/* One line per card for people; -j keeps every detail. */
static json_t *summary(json_t *cards)
{
	json_t *rows = json_array(), *c;
	size_t i;

	json_array_foreach(cards, i, c)
		json_array_append_new(rows, json_pack("{s:O,s:O,s:O,s:O,s:I,s:o}",
			"card", json_object_get(c, "card"),
			"driver", json_object_get(c, "driver"),
			"pci", json_object_get(c, "pci"),
			"vram_bytes", json_object_get(c, "vram_bytes"),
			"buffers", (json_int_t)json_array_size(json_object_get(c, "buffers")),
			"can", can_list(json_object_get(c, "capabilities"))));
	return rows;
}

int do_gpu_list(struct cli *cli, const struct cmd *self, int argc, char **argv,
		json_t **out)
{
	struct opt_iter it;
	char **args;
	json_t *cards;
	int ret;

	if (opt_parse_none(cli, self, &it, argc, argv, &args))
		return cli_usage(cli, "gpu list: unexpected argument '%s'", args[0]);
	ret = xgm_gpu_list(cli->ctx, &cards);
	if (ret)
		return cli_fail_lib(cli, ret, "gpu list failed");
	if (cli->json) {
		*out = cards;
	} else {
		*out = summary(cards);
		json_decref(cards);
	}
	return 0;
}

int do_gpu_show(struct cli *cli, const struct cmd *self, int argc, char **argv,
		json_t **out)
{
	struct opt_iter it;
	char **args;
	int ret;

	if (opt_parse_none(cli, self, &it, argc, argv, &args) != 1)
		return cli_usage(cli, "gpu show: expected one CARD");
	ret = xgm_gpu_show(cli->ctx, args[0], out);
	return ret ? cli_fail_lib(cli, ret, "gpu show failed") : 0;
}

/* "card0:5" -> card0 and 5; 0 when it is one. */
int gpu_parse_buffer(const char *arg, char *card, size_t len, uint64_t *id)
{
	const char *colon = strrchr(arg, ':');
	char *end;

	if (!colon || colon == arg || (size_t)(colon - arg) >= len ||
	    colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	*id = strtoull(colon + 1, &end, 10);
	if (*end || errno)
		return -EINVAL;
	memcpy(card, arg, (size_t)(colon - arg));
	card[colon - arg] = '\0';
	return 0;
}

static json_t *buffer_doc(const struct xgm_buffer *b)
{
	return json_pack("{s:o,s:I,s:s,s:I,s:s}", "buffer",
			 json_sprintf("%s:%llu", xgm_buffer_card(b),
				      (unsigned long long)xgm_buffer_id(b)), "id",
			 (json_int_t)xgm_buffer_id(b), "card", xgm_buffer_card(b),
			 "size", (json_int_t)xgm_buffer_size(b), "placement",
			 xgm_placement_name(xgm_buffer_placement(b)));
}

int do_gpu_alloc(struct cli *cli, const struct cmd *self, int argc, char **argv,
		 json_t **out)
{
	XGM_OPTS(xgm_buffer_opts, opts);
	struct xgm_buffer *b;
	struct opt_iter it;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0) {
		if (!strcmp(self->opts[idx].name, "size")) {
			ret = xgm_parse_size(it.arg, &opts.size);
			if (ret || !opts.size)
				return cli_usage(cli, "gpu alloc: --size: '%s' is not a "
						 "size above 0", it.arg);
		} else if (!strcmp(it.arg, "vram") || !strcmp(it.arg, "sys")) {
			opts.placement = strcmp(it.arg, "vram") ? XGM_PLACE_SYS
								: XGM_PLACE_VRAM;
		} else {
			return cli_usage(cli, "gpu alloc: --placement must be vram or "
					 "sys, not '%s'", it.arg);
		}
	}
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "gpu alloc: expected one CARD");
	if (!opts.size)
		return cli_usage(cli, "gpu alloc: --size is required");
	opts.card = args[0];
	ret = xgm_buffer_create(cli->ctx, &opts, &b);
	if (ret == -EINVAL)
		return cli_usage(cli, "%s", xgm_last_error());
	if (ret)
		return cli_fail_lib(cli, ret, "gpu alloc failed");
	*out = buffer_doc(b);
	xgm_buffer_put(b);
	return 0;
}

int do_gpu_free(struct cli *cli, const struct cmd *self, int argc, char **argv,
		json_t **out)
{
	struct xgm_buffer *b;
	struct opt_iter it;
	char **args, card[32];
	uint64_t id;
	int ret;

	if (opt_parse_none(cli, self, &it, argc, argv, &args) != 1)
		return cli_usage(cli, "gpu free: expected one CARD:ID");
	if (gpu_parse_buffer(args[0], card, sizeof(card), &id))
		return cli_usage(cli, "gpu free: '%s' is not a buffer (CARD:ID, "
				 "e.g. card0:3)", args[0]);
	ret = xgm_buffer_get(cli->ctx, card, id, &b);
	if (ret)
		return cli_fail_lib(cli, ret, "gpu free failed");
	*out = buffer_doc(b);
	ret = xgm_buffer_free(cli->ctx, b);
	if (ret) {
		xgm_buffer_put(b);
		json_decref(*out);
		*out = NULL;
		return cli_fail_lib(cli, ret, "gpu free failed");
	}
	json_object_set_new(*out, "freed", json_true());
	return 0;
}
