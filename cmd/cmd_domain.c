// SPDX-License-Identifier: GPL-2.0-only
/* domain list | domain show DOM */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static json_t *domain_json(const struct xgm_domain_info *d)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:b,s:b,s:I,s:I,s:i,s:I,s:s}",
			 "domid", (json_int_t)d->domid,
			 "name", d->name,
			 "type", xgm_dom_type_name(d->type),
			 "state", xgm_dom_state_name(d->state),
			 "dom0", d->is_dom0,
			 "translated", d->translated,
			 "mem_bytes", (json_int_t)d->mem_bytes,
			 "max_mem_bytes", (json_int_t)d->max_mem_bytes,
			 "vcpus", (int)d->vcpus,
			 "max_gpfn", (json_int_t)d->max_gpfn,
			 "iommu", xgm_iommu_mode_name(d->iommu));
}

int do_domain_list(struct cli *cli, const struct cmd *self, int argc,
		   char **argv, json_t **out)
{
	struct xgm_domain_info *doms;
	struct opt_iter it;
	char **args;
	size_t n;
	int ret;

	ret = opt_parse_none(cli, self, &it, argc, argv, &args);
	if (ret < 0)
		return cli->error.status;
	if (ret)
		return cli_usage(cli, "domain list: unexpected argument '%s'", args[0]);
	ret = xgm_domain_list(cli->ctx, &doms, &n);
	if (ret)
		return cli_fail_lib(cli, ret, "cannot list domains");
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, json_pack("{s:I,s:s,s:s,s:s,s:I,s:i,s:b}",
			"domid", (json_int_t)doms[i].domid,
			"name", doms[i].name,
			"type", xgm_dom_type_name(doms[i].type),
			"state", xgm_dom_state_name(doms[i].state),
			"mem_bytes", (json_int_t)doms[i].mem_bytes,
			"vcpus", (int)doms[i].vcpus,
			"dom0", doms[i].is_dom0));
	free(doms);
	return 0;
}

int do_domain_show(struct cli *cli, const struct cmd *self, int argc,
		   char **argv, json_t **out)
{
	struct xgm_domain_info d;
	struct opt_iter it;
	char **args;
	int ret;

	ret = opt_parse_none(cli, self, &it, argc, argv, &args);
	if (ret < 0)
		return cli->error.status;
	if (ret != 1)
		return cli_usage(cli, "domain show: expected one DOM (name or domid)");
	ret = xgm_domain_lookup(cli->ctx, args[0], &d);
	if (ret == -ENOENT)
		return cli_fail(cli, ret, "no domain '%s'", args[0]);
	if (ret)
		return cli_fail_lib(cli, ret, "cannot look the domain up");
	*out = domain_json(&d);
	if (d.translated && !d.is_dom0) {
		json_t *w;

		ret = xgm_domain_window(cli->ctx, d.domid, &w);
		if (ret)
			return cli_fail_lib(cli, ret, "cannot read the blob window");
		/* null until the first attach places it */
		json_object_set_new(*out, "blob_window", w ? w : json_null());
	}
	return 0;
}
