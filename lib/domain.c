// SPDX-License-Identifier: LGPL-2.1-only
/* Domains: lookup by name or domid, and the names of their enums. */
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

static const char *const dom_type_names[] = {
	[XGM_DOM_PV] = "pv", [XGM_DOM_PVH] = "pvh", [XGM_DOM_HVM] = "hvm",
};
static const char *const dom_state_names[] = {
	[XGM_DOM_RUNNING] = "running", [XGM_DOM_PAUSED] = "paused",
	[XGM_DOM_CRASHED] = "crashed", [XGM_DOM_SHUTDOWN] = "shutdown",
};
static const char *const iommu_mode_names[] = {
	[XGM_IOMMU_NONE] = "none", [XGM_IOMMU_SHARED] = "shared",
	[XGM_IOMMU_SEPARATE] = "separate", [XGM_IOMMU_IDENTITY] = "identity",
};

#define NAME_OF(tab, i) \
	((unsigned int)(i) < sizeof(tab) / sizeof(*(tab)) ? (tab)[i] : "unknown")

XGM_API const char *xgm_dom_type_name(enum xgm_dom_type t)
{
	return NAME_OF(dom_type_names, t);
}

XGM_API const char *xgm_dom_state_name(enum xgm_dom_state s)
{
	return NAME_OF(dom_state_names, s);
}

XGM_API const char *xgm_iommu_mode_name(enum xgm_iommu_mode m)
{
	return NAME_OF(iommu_mode_names, m);
}

XGM_API int xgm_dom_type_parse(const char *s, enum xgm_dom_type *out)
{
	for (size_t i = 0; i < sizeof(dom_type_names) / sizeof(*dom_type_names); i++) {
		if (s && !strcmp(s, dom_type_names[i])) {
			*out = (enum xgm_dom_type)i;
			return 0;
		}
	}
	return xgm_err(-EINVAL);
}

static int domain_list_op(struct xgm_ctx *ctx, struct xgm_domain_info **out,
			    size_t *count)
{
	if (!ctx || !out || !count)
		return xgm_err(-EINVAL);
	return xgm_err(ctx->be->hv->domain_list(ctx->priv, out, count));
}

XGM_API int xgm_domain_list(struct xgm_ctx *ctx, struct xgm_domain_info **out,
			    size_t *count)
{
	XGM_REMOTE(ctx, remote_call(ctx, "domain-list",
		REMOTE_DOMAINS(out, count), REMOTE_NEED(out, count), "{}"));
	return XGM_OP(ctx, XGM_OP_READ, domain_list_op(ctx, out, count));
}

static int domain_lookup_op(struct xgm_ctx *ctx, const char *dom,
			      struct xgm_domain_info *out)
{
	struct xgm_domain_info *all;
	uint64_t domid;
	bool by_id;
	size_t n;
	int ret;

	if (!dom || !*dom || !out)
		return xgm_fail(-EINVAL, "xgm_domain_lookup: %s",
				!out ? "out is NULL" : "dom is NULL or empty");
	/* A name may look like a number only if no domain has that id;
	 * xl resolves the same way (domid first). */
	by_id = !xgm_parse_frame(dom, &domid) && domid <= UINT32_MAX;
	if (ctx->be->hv->domain_find) {
		ret = ctx->be->hv->domain_find(ctx->priv, dom,
					       by_id ? (int64_t)domid : -1, out);
		if (ret == -ENOENT)
			return xgm_fail(ret, "no domain '%s'", dom);
		return xgm_err(ret);
	}
	ret = ctx->be->hv->domain_list(ctx->priv, &all, &n);
	if (ret)
		return xgm_err(ret);
	ret = -ENOENT;
	for (size_t i = 0; i < n && ret; i++) {
		if ((by_id && all[i].domid == domid) || !strcmp(all[i].name, dom)) {
			*out = all[i];
			ret = 0;
		}
	}
	/* "dom0" is what Xen users call Domain-0 (xl accepts domid 0 too). */
	for (size_t i = 0; i < n && ret && !strcmp(dom, "dom0"); i++) {
		if (all[i].is_dom0) {
			*out = all[i];
			ret = 0;
		}
	}
	free(all);
	if (ret == -ENOENT)
		return xgm_fail(ret, "no domain '%s'", dom);
	return xgm_err(ret);
}

XGM_API int xgm_domain_lookup(struct xgm_ctx *ctx, const char *dom,
			      struct xgm_domain_info *out)
{
	XGM_REMOTE(ctx, remote_call(ctx, "domain-lookup", out,
		REMOTE_NEED(dom, out), "{s:s}", "dom", dom));
	return XGM_OP(ctx, XGM_OP_READ, domain_lookup_op(ctx, dom, out));
}
