// SPDX-License-Identifier: GPL-2.0-only
/* sim init | sim show | sim reset: the simulated host itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static int describe(struct cli *cli, json_t **out)
{
	XGM_OPTS(xgm_ctx_opts, opts, .backend = XGM_BACKEND_SIM,
		 .sim_state = cli->sim_state, .flags = XGM_CTX_NO_CREATE);
	int ret;

	ret = xgm_ctx_open(&opts, &cli->ctx);
	if (ret)
		return cli_fail_lib(cli, ret, "cannot open the simulated host");
	ret = xgm_sim_describe(cli->ctx, out);
	xgm_ctx_close(cli->ctx);
	cli->ctx = NULL;
	if (ret)
		return cli_fail_lib(cli, ret, "cannot describe the simulated host");
	return 0;
}

/* "none" or a comma list of extension names (XGM_EXT_* bits). */
static int parse_extensions(const char *list, unsigned int *out)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} exts[] = {
		{ "ram-mmio", XGM_EXT_RAM_MMIO },
		{ "transfer", XGM_EXT_TRANSFER },
	};
	const char *p = list;

	*out = 0;
	if (!strcmp(list, "none"))
		return 0;
	while (*p) {
		size_t len = strcspn(p, ","), i;

		for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
			if (len == strlen(exts[i].name) &&
			    !strncmp(p, exts[i].name, len))
				break;
		if (i == sizeof(exts) / sizeof(exts[0]) || (*out & exts[i].bit))
			return -EINVAL;
		*out |= exts[i].bit;
		p += len;
		if (*p == ',' && !*++p)
			return -EINVAL;
	}
	return *out ? 0 : -EINVAL;
}

/* The sim commands make no sense on another backend. */
static int require_sim(struct cli *cli, const struct cmd *self)
{
	if (cli->backend_set && cli->backend == XGM_BACKEND_XEN)
		return cli_usage(cli, "%s: only for the simulated host (-b sim)",
				 cmd_full_name(self));
	return 0;
}

int do_sim_init(struct cli *cli, const struct cmd *self, int argc, char **argv,
		json_t **out)
{
	struct xgm_sim_guest guests[XGM_SIM_MAX_GUESTS];
	XGM_OPTS(xgm_sim_init_opts, opts, .sim_state = cli->sim_state,
		 .dom0_type = XGM_DOM_PVH, .iommu = XGM_IOMMU_INTEL, .seed = 1);
	struct opt_iter it;
	char **args;
	int idx, ret;

	if (require_sim(cli, self))
		return cli->error.status;
	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0) {
		const char *name = self->opts[idx].name;

		if (!strcmp(name, "dom0")) {
			if (xgm_dom_type_parse(it.arg, &opts.dom0_type) ||
			    opts.dom0_type == XGM_DOM_HVM)
				return cli_usage(cli, "sim init: --dom0 must be pv or pvh, not '%s'", it.arg);
		} else if (!strcmp(name, "iommu")) {
			if (xgm_iommu_vendor_parse(it.arg, &opts.iommu))
				return cli_usage(cli, "sim init: --iommu must be intel or amd, not '%s'", it.arg);
		} else if (!strcmp(name, "vram") || !strcmp(name, "dom0-mem")) {
			uint64_t *dst = name[0] == 'v' ? &opts.vram_bytes : &opts.dom0_mem_bytes;

			ret = xgm_parse_size(it.arg, dst);
			if (ret || !*dst)
				return cli_usage(cli, "sim init: --%s: '%s' is not a size%s",
						 name, it.arg, ret == -ERANGE ? " (too large)" : "");
		} else if (!strcmp(name, "guest")) {
			if (opts.nr_guests == XGM_SIM_MAX_GUESTS)
				return cli_usage(cli, "sim init: at most %d guests", XGM_SIM_MAX_GUESTS);
			ret = xgm_sim_guest_parse(it.arg, &guests[opts.nr_guests]);
			if (ret)
				return cli_usage(cli, "sim init: --guest '%s': %s", it.arg,
						 *xgm_last_error() ? xgm_last_error()
						 : "expected NAME:TYPE:MEM[:VCPUS][:passthrough]");
			opts.nr_guests++;
			opts.guests = guests;
		} else if (!strcmp(name, "xen")) {
			opts.xen_version = it.arg;
		} else if (!strcmp(name, "extensions")) {
			if (parse_extensions(it.arg, &opts.extensions))
				return cli_usage(cli, "sim init: --extensions must be none or a "
						 "comma list of ram-mmio and transfer, not '%s'", it.arg);
		} else if (!strcmp(name, "gnttab-max-frames")) {
			uint64_t n;

			if (xgm_parse_frame(it.arg, &n) || !n || n > UINT32_MAX)
				return cli_usage(cli, "sim init: --gnttab-max-frames: '%s' "
						 "is not a number of frames", it.arg);
			opts.gnttab_max_frames = (unsigned int)n;
		} else if (!strcmp(name, "seed")) {
			if (xgm_parse_frame(it.arg, &opts.seed))
				return cli_usage(cli, "sim init: --seed: '%s' is not a number", it.arg);
		} else if (!strcmp(name, "force")) {
			opts.force = true;
		}
	}
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args))
		return cli_usage(cli, "sim init: unexpected argument '%s'", args[0]);
	ret = xgm_sim_init(&opts);
	if (ret == -EEXIST)
		return cli_fail(cli, ret, "%s (use --force to replace it)",
				*xgm_last_error() ? xgm_last_error()
				: "a simulated host already exists");
	if (ret == -EINVAL)
		return cli_usage(cli, "sim init: %s", xgm_last_error());
	if (ret)
		return cli_fail_lib(cli, ret, "sim init");
	return describe(cli, out);
}

int do_sim_show(struct cli *cli, const struct cmd *self, int argc, char **argv,
		json_t **out)
{
	struct opt_iter it;
	char **args;
	int ret;

	if (require_sim(cli, self))
		return cli->error.status;
	if (opt_parse_none(cli, self, &it, argc, argv, &args))
		return cli_usage(cli, "sim show: unexpected argument '%s'", args[0]);
	ret = xgm_sim_describe(cli->ctx, out);
	if (ret)
		return cli_fail_lib(cli, ret, "cannot describe the simulated host");
	return 0;
}

int do_sim_reset(struct cli *cli, const struct cmd *self, int argc, char **argv,
		 json_t **out)
{
	struct opt_iter it;
	char **args;
	int ret;

	if (require_sim(cli, self))
		return cli->error.status;
	if (opt_parse_none(cli, self, &it, argc, argv, &args))
		return cli_usage(cli, "sim reset: unexpected argument '%s'", args[0]);
	ret = xgm_sim_reset(cli->sim_state);
	if (ret)
		return cli_fail_lib(cli, ret, "sim reset");
	return describe(cli, out);
}

int do_sim_import(struct cli *cli, const struct cmd *self, int argc,
		  char **argv, json_t **out)
{
	struct opt_iter it;
	bool force = false;
	char **args;
	int idx, ret;

	if (require_sim(cli, self))
		return cli->error.status;
	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		force = true;
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "sim import: expected one JSON state FILE");
	ret = xgm_sim_import(cli->sim_state, args[0], force);
	if (ret)
		return cli_fail_lib(cli, ret, "sim import");
	return describe(cli, out);
}

int do_sim_guest_read(struct cli *cli, const struct cmd *self, int argc,
		      char **argv, json_t **out)
{
	const char *expect = NULL;
	uint64_t first, last;
	struct opt_iter it;
	char **args;
	int idx, ret;

	if (require_sim(cli, self))
		return cli->error.status;
	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		expect = it.arg;
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 2)
		return cli_usage(cli, "sim guest-read: expected DOM GFN[-GFN]");
	if (xgm_parse_frame_range(args[1], &first, &last))
		return cli_usage(cli, "sim guest-read: '%s' is not GFN or GFN-GFN", args[1]);
	progress_begin(cli);
	ret = xgm_guest_read(cli->ctx, args[0], first, last, expect, out);
	progress_end();
	if (ret == -EINVAL)
		return cli_usage(cli, "sim guest-read: %s", xgm_last_error());
	if (ret)
		return cli_fail_lib(cli, ret, "sim guest-read");
	if (expect && strcmp(json_string_value(json_object_get(*out, "result")), "ok"))
		return EXIT_FAILED;
	return 0;
}
