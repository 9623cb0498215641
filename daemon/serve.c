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

/* Every request that is not one call of a shape below: the whole request
 * in, a document (or typed object) and an fd out. */
#define REQ_FN(name)                                                    \
	int name(struct xgm_ctx *ctx, const struct proto_req *r, int fd_in, \
		 json_t **out, int *fd_out)

static REQ_FN(doc_attach)
{
	XGM_OPTS(xgm_attach_opts, o, .size = r->size,
		 .placement = opt_str(r->placement),
		 .strategy = opt_str(r->strategy), .cache = opt_str(r->cache),
		 .label = opt_str(r->label), .card = opt_str(r->card),
		 .gfn_set = proto_has(r, "gfn"), .gfn = r->gfn,
		 .buffer_set = proto_has(r, "buffer"), .buffer = r->buffer);

	return xgm_blob_attach(ctx, r->dom, &o, out);
}

static REQ_FN(doc_migrate)
{
	XGM_OPTS(xgm_migrate_opts, o, .to = r->to, .repeat = r->repeat,
		 .pause = r->pause);

	return xgm_blob_migrate(ctx, r->blob, &o, out);
}

static REQ_FN(domains)
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

static REQ_FN(domain)
{
	struct xgm_domain_info d;
	int ret = xgm_domain_lookup(ctx, r->dom, &d);

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

static REQ_FN(map)
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

static REQ_FN(unmap)
{
	struct xgm_blob *b = NULL;
	int ret = blob_ref(r, &b) ?: xgm_blob_unmap(ctx, b);

	xgm_blob_free(b);
	return ret;
}

static REQ_FN(move)
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

static REQ_FN(buffer_create)
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

static REQ_FN(buffer_free)
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

static REQ_FN(buffer_export)
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

static REQ_FN(buffer_get)
{
	struct xgm_buffer *b;

	return buffer_reply(xgm_buffer_get(ctx, opt_str(r->card), r->ref, &b),
			    &b, out);
}

static REQ_FN(buffer_import)
{
	struct xgm_buffer *b;

	return buffer_reply(xgm_buffer_import_fd(ctx, fd_in, &b), &b, out);
}

static REQ_FN(buffer_import_gem)
{
	struct xgm_buffer *b;

	return buffer_reply(xgm_buffer_import_gem(ctx, fd_in, r->handle, &b),
			    &b, out);
}

static REQ_FN(window)
{
	return xgm_domain_window(ctx, r->domid, out);
}

static REQ_FN(recover_discard)
{
	return xgm_recover_discard(ctx, r->seq, out);
}

static REQ_FN(fill)
{
	return xgm_blob_fill(ctx, r->blob, r->seed, out);
}

static REQ_FN(guest_read)
{
	return xgm_guest_read(ctx, r->dom, r->first, r->last,
			      opt_str(r->expect), out);
}

/*
 * What each op runs. Most are one library call of a common shape, named
 * here with the request field they take; the rest get the request.
 */
static const struct handler {
	int (*host)(struct xgm_ctx *ctx, json_t **out);
	int (*named)(struct xgm_ctx *ctx, const char *name, json_t **out);
	size_t field;   /* named: the string field of struct proto_req */
	bool optional;  /* named: "" is NULL (all, not one) */
	int (*range)(struct xgm_ctx *ctx, const char *dom, uint64_t first,
		     uint64_t last, json_t **out);
	REQ_FN((*req));
} handlers[OP_NR] = {
#define NAMED(fn, f) { .named = fn, .field = offsetof(struct proto_req, f) }
#define ALL_OR(fn, f) { .named = fn, .optional = true, \
			.field = offsetof(struct proto_req, f) }
	[OP_DOMAIN_LIST] = { .req = domains },
	[OP_DOMAIN_LOOKUP] = { .req = domain },
	[OP_LIST] = ALL_OR(xgm_blob_list, dom),
	[OP_SHOW] = NAMED(xgm_blob_show, blob),
	[OP_WINDOW] = { .req = window },
	[OP_CHECK] = ALL_OR(xgm_check, dom),
	[OP_DUMP] = { .host = xgm_dump },
	[OP_P2M] = { .range = xgm_p2m_runs },
	[OP_IOMMU] = { .range = xgm_iommu_runs },
	[OP_GPU_LIST] = { .host = xgm_gpu_list },
	[OP_GPU_SHOW] = NAMED(xgm_gpu_show, card),
	[OP_RECOVER] = { .host = xgm_recover },
	[OP_RECOVER_DISCARD] = { .req = recover_discard },
	[OP_MIGRATE] = { .req = doc_migrate },
	[OP_ATTACH] = { .req = doc_attach },
	[OP_DETACH] = NAMED(xgm_blob_detach, blob),
	[OP_DETACH_ALL] = NAMED(xgm_blob_detach_all, dom),
	[OP_FILL] = { .req = fill },
	[OP_VERIFY] = NAMED(xgm_blob_verify, blob),
	[OP_GUEST_READ] = { .req = guest_read },
	[OP_MAP] = { .req = map },
	[OP_UNMAP] = { .req = unmap },
	[OP_MOVE] = { .req = move },
	[OP_BUFFER_CREATE] = { .req = buffer_create },
	[OP_BUFFER_GET] = { .req = buffer_get },
	[OP_BUFFER_FREE] = { .req = buffer_free },
	[OP_BUFFER_IMPORT] = { .req = buffer_import },
	[OP_BUFFER_EXPORT] = { .req = buffer_export },
	[OP_BUFFER_IMPORT_GEM] = { .req = buffer_import_gem },
#undef NAMED
#undef ALL_OR
};

int serve(struct xgm_ctx *ctx, const struct proto_req *r, int fd_in,
	  json_t **out, int *fd_out)
{
	/* hello has none: the caller, which knows the client, answers it */
	const struct handler *h = (unsigned int)r->op < OP_NR ?
				  &handlers[r->op] : NULL;
	const char *name = h ? (const char *)r + h->field : NULL;

	*out = NULL;
	*fd_out = -1;
	if (h && h->host)
		return h->host(ctx, out);
	if (h && h->named)
		return h->named(ctx, h->optional ? opt_str(name) : name, out);
	if (h && h->range)
		return h->range(ctx, r->dom, r->first, r->last, out);
	if (h && h->req)
		return h->req(ctx, r, fd_in, out, fd_out);
	return xgm_fail(-EOPNOTSUPP, "no such request");
}
