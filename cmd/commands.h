/* SPDX-License-Identifier: GPL-2.0-only */
/* The command implementations the table points at. */
#ifndef XGM_COMMANDS_H
#define XGM_COMMANDS_H

#include "cli.h"

#define DECLARE_CMD(fn) \
	int fn(struct cli *cli, const struct cmd *self, int argc, char **argv, \
	       json_t **out)

DECLARE_CMD(do_attach);
DECLARE_CMD(do_detach);
DECLARE_CMD(do_list);
DECLARE_CMD(do_show);
DECLARE_CMD(do_migrate);
DECLARE_CMD(do_fill);
DECLARE_CMD(do_verify);
DECLARE_CMD(do_p2m);
DECLARE_CMD(do_check);
DECLARE_CMD(do_iommu);
DECLARE_CMD(do_dump);
DECLARE_CMD(do_recover);
DECLARE_CMD(do_domain_list);
DECLARE_CMD(do_domain_show);
DECLARE_CMD(do_gpu_list);
DECLARE_CMD(do_gpu_show);
DECLARE_CMD(do_gpu_alloc);
DECLARE_CMD(do_gpu_free);
/* "card0:5" -> card0 and 5 (cmd_gpu.c); -EINVAL when malformed. */
int gpu_parse_buffer(const char *arg, char *card, size_t len, uint64_t *id);
DECLARE_CMD(do_sim_init);
DECLARE_CMD(do_sim_show);
DECLARE_CMD(do_sim_reset);
DECLARE_CMD(do_sim_import);
DECLARE_CMD(do_sim_guest_read);
DECLARE_CMD(do_batch);
DECLARE_CMD(do_bench);
DECLARE_CMD(do_shell);
DECLARE_CMD(do_version);
DECLARE_CMD(do_help);
DECLARE_CMD(do_complete);

void render_help(struct cli *cli, json_t *out, FILE *f);

#endif /* XGM_COMMANDS_H */
