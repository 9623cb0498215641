// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The typed API a VMM uses (xgpumap.h): blobs as objects with accessors,
 * enums instead of names, and move events. Each call is one engine
 * operation on a struct blob; no document is built on the way.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/handles.h"
#include "core/plan.h"
#include "core/view.h"
#include "util/opts.h"

#define PAGE_SIZE 4096ULL


/* The public strategy enum has auto first (a zeroed option means auto);
 * the engine's has it last. One table maps both ways. */
static const struct {
	enum xgm_strategy pub;
	enum strategy eng;
} strategies[] = {
	{ XGM_STRATEGY_AUTO, STRAT_AUTO },
	{ XGM_STRATEGY_MMIO, STRAT_MMIO },
	{ XGM_STRATEGY_GRANT, STRAT_GRANT },
	{ XGM_STRATEGY_IOREQ, STRAT_IOREQ },
	{ XGM_STRATEGY_RAM_MMIO, STRAT_RAM_MMIO },
	{ XGM_STRATEGY_TRANSFER, STRAT_TRANSFER },
	{ XGM_STRATEGY_REVOKE_FAULT, STRAT_REVOKE_FAULT },
};

#define NR_STRATEGIES (sizeof(strategies) / sizeof(*strategies))

static int strategy_to_engine(enum xgm_strategy s, enum strategy *out)
{
	for (size_t i = 0; i < NR_STRATEGIES; i++) {
		if (strategies[i].pub == s) {
			*out = strategies[i].eng;
			return 0;
		}
	}
	return -EINVAL;
}

static enum xgm_strategy strategy_to_public(enum strategy s)
{
	for (size_t i = 0; i < NR_STRATEGIES; i++)
		if (strategies[i].eng == s)
			return strategies[i].pub;
	return XGM_STRATEGY_AUTO;
}

XGM_API const char *xgm_strategy_name(enum xgm_strategy s)
{
	enum strategy e;

	if (strategy_to_engine(s, &e))
		return "unknown";
	return e == STRAT_AUTO ? "auto" : strategy_name(e);
}

XGM_API const char *xgm_placement_name(enum xgm_placement p)
{
	return p == XGM_PLACE_VRAM || p == XGM_PLACE_SYS ? placement_name(p)
							  : "unknown";
}

/* The engine's cache_type and the public enum have the same order. */
XGM_API const char *xgm_cache_name(enum xgm_cache c)
{
	return c <= XGM_CACHE_WB ? cache_name((enum cache_type)c) : "unknown";
}

/* An enum member a caller passed that is none of the enum's values. */
static int not_an(const char *fn, const char *field, const char *type, int v)
{
	return xgm_fail(-EINVAL, "%s: %s %d is not an enum %s", fn, field, v,
			type);
}

/* The handle's snapshot of a record; the planned entries by order follow
 * Xen's rule for the strategy's largest order (core/plan.c). */
static int snapshot(struct xgm_blob *h, const struct blob *b,
		    uint64_t window_gfn)
{
	const struct strategy_ops *st = strategy_get(b->strategy);
	struct plan p;
	int ret;

	h->domid = b->domid;
	h->id = b->n;
	h->gfn = b->gfn;
	h->window_gfn = window_gfn;
	h->size = b->size;
	h->strategy = strategy_to_public(b->strategy);
	h->placement = b->placement;
	h->cache = (enum xgm_cache)b->cache;
	h->entries_4k = h->entries_2m = 0;
	if (st->maps_nothing)   /* ioreq: nothing in the p2m */
		return 0;
	ret = plan_build(b->gfn, b->ext, b->nr_ext, st->max_order,
			 st->per_call, &p);
	if (ret)
		return ret;
	h->entries_4k = p.entries_4k;
	h->entries_2m = p.entries_2m;
	plan_free(&p);
	return 0;
}

/* Re-reads the record behind a handle: another context may have moved it. */
static int reload(struct xgm_ctx *ctx, const struct xgm_blob *h,
		  struct blob *b)
{
	int ret = blob_load(ctx, h->domid, h->id, b);

	if (ret == -ENOENT)
		return xgm_fail_instead(-ENOENT, "blob %" PRIu32 ":%" PRIu32
				" is not mapped any more", h->domid, h->id);
	return ret;
}

static int blob_map_op(struct xgm_ctx *ctx, uint32_t domid,
			 const struct xgm_map_opts *opts, struct xgm_blob **blob)
{
	XGM_OPTS(xgm_attach_opts, ao);
	struct xgm_counters c0, c1;
	struct xgm_domain_info d;
	struct xgm_blob *h;
	enum strategy strat;
	enum xgm_placement placement;
	enum xgm_cache cache;
	struct window w;
	struct blob b;
	char dom[16];
	int ret;

	if (!ctx || !opts || !blob)
		return xgm_fail(-EINVAL, "xgm_blob_map: %s is NULL",
				!ctx ? "ctx" : !opts ? "opts" : "blob");
	*blob = NULL;
	ret = OPTS_CHECK("xgm_blob_map", opts, xgm_map_opts);
	if (ret)
		return ret;
	placement = OPTS_GET(opts, placement, XGM_PLACE_VRAM);
	cache = OPTS_GET(opts, cache, XGM_CACHE_WC);
	if (placement != XGM_PLACE_VRAM && placement != XGM_PLACE_SYS)
		return not_an("xgm_blob_map", "placement", "xgm_placement",
			      (int)placement);
	if (cache > XGM_CACHE_WB)
		return not_an("xgm_blob_map", "cache", "xgm_cache", (int)cache);
	if (strategy_to_engine(OPTS_GET(opts, strategy, XGM_STRATEGY_AUTO), &strat))
		return not_an("xgm_blob_map", "strategy", "xgm_strategy",
			      (int)OPTS_GET(opts, strategy, XGM_STRATEGY_AUTO));
	snprintf(dom, sizeof(dom), "%" PRIu32, domid);
	ret = domain_resolve(ctx, dom, &d) ?: window_ensure(ctx, &d, &w);
	if (ret)
		return ret;
	ao.size = OPTS_GET(opts, size, 0);
	ao.placement = placement_name(placement);
	ao.cache = cache_name((enum cache_type)cache);
	ao.strategy = strat == STRAT_AUTO ? "auto" : strategy_name(strat);
	ao.card = OPTS_GET(opts, card, NULL);
	ao.label = OPTS_GET(opts, label, NULL);
	if (OPTS_GET(opts, buffer, NULL)) {
		/* The buffer's own placement, unless the caller said one. */
		ao.buffer_set = true;
		ao.buffer = xgm_buffer_id(opts->buffer);
		if (!OPTS_HAS(opts, placement) || !opts->placement)
			ao.placement = NULL;
	}
	if (OPTS_GET(opts, offset_set, false)) {
		uint64_t off = OPTS_GET(opts, offset, 0);

		if (off % PAGE_SIZE || off / PAGE_SIZE >= w.nr)
			return xgm_fail(-EINVAL, "xgm_blob_map: offset %#" PRIx64
					" is not a page inside the %" PRIu64
					"-byte blob window", off,
					(uint64_t)(w.nr * PAGE_SIZE));
		ao.gfn_set = true;
		ao.gfn = w.gfn + off / PAGE_SIZE;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return xgm_fail(-ENOMEM, "xgm_blob_map: out of memory");
	hv_counters(ctx, -1, &c0);
	ret = engine_attach(ctx, dom, &ao, &b);
	if (ret) {
		free(h);
		return ret;
	}
	hv_counters(ctx, -1, &c1);
	counters_sub(&h->last, &c1, &c0);
	ret = snapshot(h, &b, w.gfn);
	blob_free(&b);
	if (ret) {
		free(h);
		return xgm_err(ret);
	}
	*blob = h;
	return 0;
}

XGM_API int xgm_blob_map(struct xgm_ctx *ctx, uint32_t domid,
			 const struct xgm_map_opts *opts, struct xgm_blob **blob)
{
	XGM_REMOTE(ctx, remote_call(ctx, "map", blob,
		REMOTE_NEED(opts, blob) ?: REMOTE_OPTS(opts, xgm_map_opts),
		"{s:I,s:I,s:i,s:s?,s:i,s:i,s:s?,s:o*,s:o*}",
		"domid", (json_int_t)domid,
		"size", (json_int_t)OPTS_GET(opts, size, 0),
		"placement", (int)OPTS_GET(opts, placement, XGM_PLACE_VRAM),
		"card", OPTS_GET(opts, card, NULL),
		"strategy", (int)OPTS_GET(opts, strategy, XGM_STRATEGY_AUTO),
		"cache", (int)OPTS_GET(opts, cache, XGM_CACHE_WC),
		"label", OPTS_GET(opts, label, NULL),
		"offset", remote_opt_u64(OPTS_GET(opts, offset_set, false),
					 OPTS_GET(opts, offset, 0)),
		"buffer", remote_opt_buffer(OPTS_GET(opts, buffer, NULL))));
	return XGM_OP(ctx, XGM_OP_WRITE, blob_map_op(ctx, domid, opts, blob));
}

static int blob_unmap_op(struct xgm_ctx *ctx, struct xgm_blob *blob)
{
	struct blob b;
	int ret;

	if (!ctx || !blob)
		return xgm_fail(-EINVAL, "xgm_blob_unmap: %s is NULL",
				!ctx ? "ctx" : "blob");
	ret = reload(ctx, blob, &b);
	if (ret)
		return ret;
	ret = engine_detach(ctx, &b);
	blob_free(&b);
	return xgm_err(ret);
}

XGM_API int xgm_blob_unmap(struct xgm_ctx *ctx, struct xgm_blob *blob)
{
	XGM_REMOTE(ctx, remote_call(ctx, "unmap", REMOTE_NONE,
		REMOTE_NEED(blob), "{s:I,s:I}", "domid", (json_int_t)blob->domid,
		"id", (json_int_t)blob->id));
	return XGM_OP(ctx, XGM_OP_WRITE, blob_unmap_op(ctx, blob));
}

static int blob_move_op(struct xgm_ctx *ctx, struct xgm_blob *blob,
			  const struct xgm_move_opts *opts)
{
	struct xgm_counters c0, c1;
	enum xgm_placement from, to;
	struct blob b;
	int ret;

	if (!ctx || !blob || !opts)
		return xgm_fail(-EINVAL, "xgm_blob_move: %s is NULL",
				!ctx ? "ctx" : !blob ? "blob" : "opts");
	ret = OPTS_CHECK("xgm_blob_move", opts, xgm_move_opts);
	if (ret)
		return ret;
	to = OPTS_GET(opts, to, XGM_PLACE_VRAM);
	if (to != XGM_PLACE_VRAM && to != XGM_PLACE_SYS)
		return not_an("xgm_blob_move", "to", "xgm_placement", (int)to);
	ret = reload(ctx, blob, &b);
	if (ret)
		return ret;
	from = b.placement;
	hv_counters(ctx, -1, &c0);
	ret = engine_move(ctx, &b, to, OPTS_GET(opts, pause, false));
	if (!ret) {
		hv_counters(ctx, -1, &c1);
		counters_sub(&blob->last, &c1, &c0);
		ret = snapshot(blob, &b, blob->window_gfn);
		engine_emit_move(ctx, &b, from, false);
	}
	blob_free(&b);
	return xgm_err(ret);
}

XGM_API int xgm_blob_move(struct xgm_ctx *ctx, struct xgm_blob *blob,
			  const struct xgm_move_opts *opts)
{
	XGM_REMOTE(ctx, remote_call(ctx, "move", blob,
		REMOTE_NEED(blob, opts) ?: REMOTE_OPTS(opts, xgm_move_opts),
		"{s:I,s:I,s:i,s:b}", "domid", (json_int_t)blob->domid,
		"id", (json_int_t)blob->id,
		"to", (int)OPTS_GET(opts, to, XGM_PLACE_VRAM),
		"pause", OPTS_GET(opts, pause, false)));
	return XGM_OP(ctx, XGM_OP_WRITE, blob_move_op(ctx, blob, opts));
}

XGM_API void xgm_blob_free(struct xgm_blob *blob)
{
	free(blob);
}

void engine_emit_move(struct xgm_ctx *ctx, const struct blob *b,
		      enum xgm_placement from, bool evicted)
{
	struct xgm_move_event ev = {
		.domid = b->domid,
		.id = b->n,
		.gfn = b->gfn,
		.from = from,
		.to = b->placement,
		.evicted = evicted,
	};

	if (ctx->move_fn)
		ctx->move_fn(&ev, ctx->move_user);
}

XGM_API void xgm_ctx_set_move_callback(struct xgm_ctx *ctx, xgm_move_fn fn,
				       void *user)
{
	if (!ctx)
		return;
	ctx->move_fn = fn;
	ctx->move_user = user;
}

XGM_API uint32_t xgm_blob_domid(const struct xgm_blob *blob)
{
	return blob->domid;
}

XGM_API uint32_t xgm_blob_id(const struct xgm_blob *blob)
{
	return blob->id;
}

XGM_API uint64_t xgm_blob_gfn(const struct xgm_blob *blob)
{
	return blob->gfn;
}

XGM_API uint64_t xgm_blob_offset(const struct xgm_blob *blob)
{
	return (blob->gfn - blob->window_gfn) * PAGE_SIZE;
}

XGM_API uint64_t xgm_blob_size(const struct xgm_blob *blob)
{
	return blob->size;
}

XGM_API enum xgm_strategy xgm_blob_strategy(const struct xgm_blob *blob)
{
	return blob->strategy;
}

XGM_API enum xgm_placement xgm_blob_placement(const struct xgm_blob *blob)
{
	return blob->placement;
}

XGM_API enum xgm_cache xgm_blob_cache(const struct xgm_blob *blob)
{
	return blob->cache;
}

XGM_API uint64_t xgm_blob_entries(const struct xgm_blob *blob,
				  unsigned int order)
{
	switch (order) {
	case 0:
		return blob->entries_4k;
	case XGM_ORDER_2M:
		return blob->entries_2m;
	default:
		return 0;
	}
}

XGM_API void xgm_blob_counters(const struct xgm_blob *blob,
			       struct xgm_counters *out)
{
	*out = blob->last;
}
