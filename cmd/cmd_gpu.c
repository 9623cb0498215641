// SPDX-License-Identifier: GPL-2.0-only
/* gpu list, gpu show: the cards, what their driver allows, their buffers. */
#include <errno.h>

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
