// SPDX-License-Identifier: LGPL-2.1-only
/* list, show, and a domain's window: read-only views of the records. */
#include <stdlib.h>

#include "core/engine.h"
#include "core/view.h"

static int blob_list_op(struct xgm_ctx *ctx, const char *dom, json_t **out)
{
	struct xgm_domain_info d;
	struct blob *all;
	size_t n;
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	if (dom) {
		ret = domain_resolve(ctx, dom, &d);
		if (ret)
			return xgm_err(ret);
	}
	ret = blob_load_all(ctx, dom ? (int64_t)d.domid : -1, &all, &n);
	if (ret)
		return xgm_err(ret);
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, blob_summary(&all[i]));
	blob_free_all(all, n);
	return 0;
}

XGM_API int xgm_blob_list(struct xgm_ctx *ctx, const char *dom, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "list", out, "{s:s?}", "dom", dom));
	return XGM_OP(ctx, XGM_OP_READ, blob_list_op(ctx, dom, out));
}

static int blob_show_op(struct xgm_ctx *ctx, const char *id, json_t **out)
{
	struct blob b;
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	ret = blob_lookup(ctx, id, &b);
	if (ret)
		return xgm_err(ret);
	*out = blob_view(ctx, &b);
	blob_free(&b);
	return 0;
}

XGM_API int xgm_blob_show(struct xgm_ctx *ctx, const char *id, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "show", out, "{s:s?}", "blob", id));
	return XGM_OP(ctx, XGM_OP_READ, blob_show_op(ctx, id, out));
}

static int domain_window_op(struct xgm_ctx *ctx, uint32_t domid, json_t **out)
{
	struct window w;
	int ret;

	ret = window_get(ctx, domid, &w);
	if (ret == -ENOENT) {
		xgm_clear_error();
		*out = NULL;
		return 0;
	}
	if (ret)
		return xgm_err(ret);
	*out = json_pack("{s:I,s:I,s:I}", "gfn", (json_int_t)w.gfn,
			 "gfn_last", (json_int_t)(w.gfn + w.nr - 1),
			 "bytes", (json_int_t)(w.nr * 4096));
	return 0;
}

XGM_API int xgm_domain_window(struct xgm_ctx *ctx, uint32_t domid, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "window", out, "{s:I}", "domid", (json_int_t)domid));
	return XGM_OP(ctx, XGM_OP_READ, domain_window_op(ctx, domid, out));
}
