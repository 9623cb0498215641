// SPDX-License-Identifier: GPL-2.0-only
/*
 * One decoded request run on the daemon's context: the same library call
 * the CLI makes locally, its document (or typed object) as the result.
 * The library's per-operation lock serialises them with every other
 * process; the daemon runs one request at a time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "core/handles.h"
#include "xgpumapd.h"

static const char *opt_str(const char *s)
{
	return *s ? s : NULL;
}

static int doc_attach(struct xgm_ctx *ctx, const struct proto_req *r,
		      json_t **out)
{
	XGM_OPTS(xgm_attach_opts, o, .size = r->size,
		 .placement = opt_str(r->placement),
		 .strategy = opt_str(r->strategy), .cache = opt_str(r->cache),
		 .label = opt_str(r->label), .card = opt_str(r->card),
		 .gfn_set = proto_has(r, "gfn"), .gfn = r->gfn,
		 .buffer_set = proto_has(r, "buffer"), .buffer = r->buffer);

	return xgm_blob_attach(ctx, r->dom, &o, out);
}

static int doc_migrate(struct xgm_ctx *ctx, const struct proto_req *r,
		       json_t **out)
{
	XGM_OPTS(xgm_migrate_opts, o, .to = r->to, .repeat = r->repeat,
		 .pause = r->pause);

	return xgm_blob_migrate(ctx, r->blob, &o, out);
}

static int domains(struct xgm_ctx *ctx, json_t **out)
{
	struct xgm_domain_info *d;
	size_t n;
	int ret = xgm_domain_list(ctx, &d, &n);

	if (ret)
		return ret;
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, wire_domain_to_json(&d[i]));
	free(d);
	return 0;
}

static int domain(struct xgm_ctx *ctx, const char *dom, json_t **out)
{
	struct xgm_domain_info d;
	int ret = xgm_domain_lookup(ctx, dom, &d);

	if (!ret)
		*out = wire_domain_to_json(&d);
	return ret;
}

static int blob_ref(const struct proto_req *r, struct xgm_blob **b)
{
	if (r->ref > UINT32_MAX)
		return xgm_fail(-EINVAL, "blob number %" PRIu64 " is too large",
				r->ref);
	*b = wire_blob_ref(r->domid, (uint32_t)r->ref);
	return *b ? 0 : -ENOMEM;
}

static int map(struct xgm_ctx *ctx, const struct proto_req *r, json_t **out)
{
	XGM_OPTS(xgm_map_opts, o, .size = r->size,
		 .placement = (enum xgm_placement)r->e_placement,
		 .card = opt_str(r->card),
		 .strategy = (enum xgm_strategy)r->e_strategy,
		 .cache = (enum xgm_cache)r->e_cache, .label = opt_str(r->label),
		 .offset_set = proto_has(r, "offset"), .offset = r->offset);
	struct xgm_buffer *buf = NULL;
	struct xgm_blob *b;
	int ret = 0;

	if (proto_has(r, "buffer"))
		ret = xgm_buffer_get(ctx, NULL, r->buffer, &buf);
	o.buffer = buf;
	ret = ret ?: xgm_blob_map(ctx, r->domid, &o, &b);
	xgm_buffer_put(buf);
	if (!ret) {
		*out = wire_blob_to_json(b);
		xgm_blob_free(b);
	}
	return ret;
}

static int unmap(struct xgm_ctx *ctx, const struct proto_req *r)
{
	struct xgm_blob *b = NULL;
	int ret = blob_ref(r, &b) ?: xgm_blob_unmap(ctx, b);

	xgm_blob_free(b);
	return ret;
}

static int move(struct xgm_ctx *ctx, const struct proto_req *r, json_t **out)
{
	XGM_OPTS(xgm_move_opts, o, .to = (enum xgm_placement)r->e_to,
		 .pause = r->pause);
	struct xgm_blob *b = NULL;
	int ret = blob_ref(r, &b) ?: xgm_blob_move(ctx, b, &o);
	json_t *w = NULL;

	/* A reference knows no window: the reply's offset needs it. */
	if (!ret && !xgm_domain_window(ctx, r->domid, &w))
		b->window_gfn = (uint64_t)json_integer_value(
			json_object_get(w, "gfn"));
	json_decref(w);
	if (!ret)
		*out = wire_blob_to_json(b);
	xgm_blob_free(b);
	return ret;
}

/* b is read after ret was computed (argument order is unspecified). */
static int buffer_reply(int ret, struct xgm_buffer **b, json_t **out)
{
	if (!ret) {
		*out = wire_buffer_to_json(*b);
		xgm_buffer_put(*b);
	}
	return ret;
}

static int buffer_create(struct xgm_ctx *ctx, const struct proto_req *r,
			 json_t **out)
{
	XGM_OPTS(xgm_buffer_opts, o, .size = r->size, .card = opt_str(r->card));
	struct xgm_buffer *b;

	if (*r->placement && strcmp(r->placement, "vram")) {
		if (strcmp(r->placement, "sys"))
			return xgm_fail(-EINVAL, "placement must be vram or sys");
		o.placement = XGM_PLACE_SYS;
	}
	return buffer_reply(xgm_buffer_create(ctx, &o, &b), &b, out);
}

static int buffer_free(struct xgm_ctx *ctx, const struct proto_req *r)
{
	struct xgm_buffer *b;
	int ret = xgm_buffer_get(ctx, NULL, r->ref, &b);

	if (ret)
		return ret;
	ret = xgm_buffer_free(ctx, b);
	if (ret)
		xgm_buffer_put(b);
	return ret;
}

static int buffer_export(struct xgm_ctx *ctx, const struct proto_req *r,
			 int *fd_out)
{
	struct xgm_buffer *b;
	int ret = xgm_buffer_get(ctx, NULL, r->ref, &b);

	if (ret)
		return ret;
	ret = xgm_buffer_export_fd(ctx, b);
	xgm_buffer_put(b);
	if (ret < 0)
		return ret;
	*fd_out = ret;
	return 0;
}

int serve(struct xgm_ctx *ctx, const struct proto_req *r, int fd_in,
	  json_t **out, int *fd_out)
{
	struct xgm_buffer *b;
	const char *dom = opt_str(r->dom);

	*out = NULL;
	*fd_out = -1;
	switch (r->op) {
	case OP_HELLO:
		return 0; /* answered by the caller, which knows the client */
	case OP_DOMAIN_LIST:
		return domains(ctx, out);
	case OP_DOMAIN_LOOKUP:
		return domain(ctx, r->dom, out);
	case OP_LIST:
		return xgm_blob_list(ctx, dom, out);
	case OP_SHOW:
		return xgm_blob_show(ctx, r->blob, out);
	case OP_WINDOW:
		return xgm_domain_window(ctx, r->domid, out);
	case OP_CHECK:
		return xgm_check(ctx, dom, out);
	case OP_DUMP:
		return xgm_dump(ctx, out);
	case OP_P2M:
		return xgm_p2m_runs(ctx, r->dom, r->first, r->last, out);
	case OP_IOMMU:
		return xgm_iommu_runs(ctx, r->dom, r->first, r->last, out);
	case OP_GPU_LIST:
		return xgm_gpu_list(ctx, out);
	case OP_GPU_SHOW:
		return xgm_gpu_show(ctx, r->card, out);
	case OP_RECOVER:
		return xgm_recover(ctx, out);
	case OP_RECOVER_DISCARD:
		return xgm_recover_discard(ctx, r->seq, out);
	case OP_MIGRATE:
		return doc_migrate(ctx, r, out);
	case OP_ATTACH:
		return doc_attach(ctx, r, out);
	case OP_DETACH:
		return xgm_blob_detach(ctx, r->blob, out);
	case OP_DETACH_ALL:
		return xgm_blob_detach_all(ctx, r->dom, out);
	case OP_FILL:
		return xgm_blob_fill(ctx, r->blob, r->seed, out);
	case OP_VERIFY:
		return xgm_blob_verify(ctx, r->blob, out);
	case OP_GUEST_READ:
		return xgm_guest_read(ctx, r->dom, r->first, r->last,
				      opt_str(r->expect), out);
	case OP_MAP:
		return map(ctx, r, out);
	case OP_UNMAP:
		return unmap(ctx, r);
	case OP_MOVE:
		return move(ctx, r, out);
	case OP_BUFFER_CREATE:
		return buffer_create(ctx, r, out);
	case OP_BUFFER_GET:
		return buffer_reply(xgm_buffer_get(ctx, opt_str(r->card), r->ref,
						   &b), &b, out);
	case OP_BUFFER_FREE:
		return buffer_free(ctx, r);
	case OP_BUFFER_IMPORT:
		return buffer_reply(xgm_buffer_import_fd(ctx, fd_in, &b), &b, out);
	case OP_BUFFER_EXPORT:
		return buffer_export(ctx, r, fd_out);
	case OP_NR:
		break;
	}
	return xgm_fail(-EOPNOTSUPP, "no such request");
}
