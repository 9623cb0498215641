// SPDX-License-Identifier: LGPL-2.1-only
/*
 * What the engine does when the backend calls it, not the other way round:
 *  - the ioreq server: a guest access to an unmapped gfn of an ioreq or
 *    revoke-fault blob is answered from the buffer itself (the faulting
 *    access is completed with this answer, not re-executed); for
 *    revoke-fault the 2 MiB chunk is mapped while the vCPU waits, so later
 *    accesses go straight to the frames (notes/xen-ioreq.md);
 *  - the GPU's move notification: a buffer the driver evicted is remapped
 *    before the call returns, so the guest never keeps the old frames,
 *    which the driver is about to hand to someone else.
 */
#include <stdlib.h>
#include <string.h>

#include "core/exec.h"
#include "core/view.h"

#include "core/plan.h"

/* The ioreq server maps on first touch at this granularity. */
#define CHUNK (1ULL << XGM_ORDER_2M)

static int find_blob(struct xgm_ctx *ctx, int64_t domid, uint64_t gfn,
		     int64_t buf, struct blob *out)
{
	struct blob *all;
	size_t n;
	int ret = blob_load_all(ctx, domid, &all, &n);

	if (ret)
		return ret;
	ret = -ENOENT;
	for (size_t i = 0; i < n && ret; i++) {
		bool hit = buf >= 0 ? all[i].buf == (uint64_t)buf :
			   gfn >= all[i].gfn && gfn < all[i].gfn + all[i].nr;

		if (hit) {
			*out = all[i];
			memset(&all[i], 0, sizeof(all[i]));
			ret = 0;
		}
	}
	blob_free_all(all, n);
	return ret;
}

/* Maps the 2M chunk of b around gfn, extent by extent. */
static int map_chunk(struct xgm_ctx *ctx, const struct blob *b, uint64_t gfn)
{
	uint64_t first = b->gfn + (gfn - b->gfn) / CHUNK * CHUNK;
	uint64_t last = first + CHUNK - 1, g = b->gfn;
	int ret = 0;

	if (last >= b->gfn + b->nr)
		last = b->gfn + b->nr - 1;
	for (size_t i = 0; !ret && i < b->nr_ext; g += b->ext[i].nr, i++) {
		uint64_t s = g > first ? g : first;
		uint64_t e = g + b->ext[i].nr - 1 < last ? g + b->ext[i].nr - 1 : last;

		if (s > e)
			continue;
		ret = hv_memory_mapping_all(ctx, b->domid, s, b->ext[i].mfn + (s - g),
					    e - s + 1, true, NULL);
	}
	return ret;
}

void engine_forget_ioreq_cache(struct xgm_ctx *ctx)
{
	blob_free_all(ctx->ioreq_blobs, ctx->ioreq_nr);
	ctx->ioreq_blobs = NULL;
	ctx->ioreq_nr = 0;
	ctx->ioreq_domid = -1;
}

/* The blob of domid covering gfn, from the records as this operation saw
 * them first; *b points into the cache (do not free it). Any record
 * written (blob_save, blob_delete) or a new operation drops the cache. */
static int ioreq_blob(struct xgm_ctx *ctx, uint32_t domid, uint64_t gfn,
		      const struct blob **b)
{
	if (ctx->ioreq_domid != (int64_t)domid) {
		int ret;

		engine_forget_ioreq_cache(ctx);
		ret = blob_load_all(ctx, domid, &ctx->ioreq_blobs, &ctx->ioreq_nr);
		if (ret)
			return ret;
		ctx->ioreq_domid = domid;
	}
	for (size_t i = 0; i < ctx->ioreq_nr; i++) {
		const struct blob *c = &ctx->ioreq_blobs[i];

		if (gfn >= c->gfn && gfn < c->gfn + c->nr) {
			*b = c;
			return 0;
		}
	}
	return -ENOENT;
}

static int on_ioreq(uint32_t domid, uint64_t gfn, bool write, uint64_t *tag,
		    void *arg)
{
	struct xgm_ctx *ctx = arg;
	const struct xgm_gpu_ops *g = ctx->be->gpu;
	const struct blob *b;
	int ret;

	ret = ioreq_blob(ctx, domid, gfn, &b);
	if (ret == -ENOENT) {
		/* Not ours: the access gets what an unclaimed MMIO read gets. */
		if (!write)
			*tag = UINT64_MAX;
		return 0;
	}
	if (ret)
		return ret;
	/* Answer the access from the buffer itself. */
	if (write)
		ret = 0;
	else
		ret = g->buf_read_tag ? g->buf_read_tag(ctx->priv, b->buf, gfn - b->gfn, tag)
				      : -EOPNOTSUPP;
	if (!ret && b->strategy == STRAT_REVOKE_FAULT)
		ret = map_chunk(ctx, b, gfn);
	/* A page no fill wrote: what the guest reads is no pattern. */
	return !ret && !write && !*tag ? -ENODATA : ret;
}

/* Where the blob's buffer is now, and the strategy that can map it
 * there (an `auto` blob may change strategy; a fixed one may not). */
static int new_backing(struct xgm_ctx *ctx, const struct blob *b,
		       enum xgm_placement to, struct xgm_extent **ext, size_t *n,
		       enum strategy *s)
{
	const struct strategy_ops *st = strategy_get(b->strategy);
	int ret = gpu_extents(ctx, b->buf, ext, n);

	*s = b->strategy;
	/* An auto blob takes the best strategy for where it went. */
	if (!ret && b->strategy_auto) {
		ret = strategy_auto(ctx, to, s);
		if (ret) {
			free(*ext);
			*ext = NULL;
		}
	} else if (!ret && !(to == XGM_PLACE_VRAM ? st->vram_ok : st->sys_ok)) {
		ret = b->strategy_auto ? strategy_auto(ctx, to, s)
				       : xgm_fail(-EPERM, "strategy %s was fixed by the "
						  "user and cannot map %s", st->name,
						  placement_name(to));
		if (ret) {
			free(*ext);
			*ext = NULL;
		}
	}
	return ret;
}

int blob_remap_moved(struct xgm_ctx *ctx, struct blob *b, enum xgm_placement to)
{
	struct xgm_extent *ext;
	enum strategy s;
	size_t n;
	int ret;

	ret = new_backing(ctx, b, to, &ext, &n, &s);
	if (ret)
		return ret;
	blob_set_backing(b, b->buf, ext, n, s, to);
	ret = strategy_map(ctx, b);
	if (!ret) {
		snprintf(b->state, sizeof(b->state), "mapped");
		ret = blob_save(ctx, b);
	}
	return ret;
}

/*
 * The driver moved buf (TTM eviction) and is about to hand its old frames
 * to someone else. Revoke first, unconditionally: whatever fails after
 * that, the guest only loses access. Then record the blob as "revoked"
 * with its new backing, and map that. A blob left "revoked" is what check
 * reports and recover maps again; no journal is needed, the record is it.
 */
static void on_move(uint64_t buf, enum xgm_placement from,
		    enum xgm_placement to, void *arg)
{
	struct xgm_ctx *ctx = arg;
	struct op_meter meter;
	struct blob b;
	int ret;

	ret = find_blob(ctx, -1, 0, (int64_t)buf, &b);
	if (ret) {
		if (ret != -ENOENT) /* a buffer of ours we cannot find */
			xgm_warn("an evicted buffer (%llu) could not be matched to "
				 "a blob: %s", (unsigned long long)buf, xgm_last_error());
		return;
	}
	meter_start(ctx, &meter);
	ret = strategy_unmap(ctx, &b);
	if (ret)
		xgm_warn("blob %s:%u: revoking the evicted frames failed: %s",
			 b.dom_name, b.n, xgm_last_error());
	/* The record says where the buffer is now before anything else is
	 * tried, so that recover maps the right frames with the right
	 * strategy even if this process dies next. */
	{
		struct xgm_extent *ext;
		enum strategy s;
		size_t n;

		if (!new_backing(ctx, &b, to, &ext, &n, &s))
			blob_set_backing(&b, b.buf, ext, n, s, to);
		else
			b.placement = to;
		xgm_clear_error();
	}
	snprintf(b.state, sizeof(b.state), "revoked");
	b.generation++;
	ret = blob_save(ctx, &b) ?: blob_remap_moved(ctx, &b, to);
	if (ret) {
		xgm_warn("blob %s:%u was evicted from %s to %s and is revoked "
			 "until recover remaps it: %s", b.dom_name, b.n,
			 placement_name(from), placement_name(to), xgm_last_error());
	} else {
		meter_stop(ctx, &meter, &b, BLOB_OP_EVICT);
		blob_save(ctx, &b);
		engine_emit_move(ctx, &b, from, true);
		xgm_info("blob %s:%u was evicted from %s to %s and remapped",
			 b.dom_name, b.n, placement_name(from), placement_name(to));
	}
	blob_free(&b);
}

void engine_install_hooks(struct xgm_ctx *ctx)
{
	if (ctx->be->hv->set_ioreq_handler)
		ctx->be->hv->set_ioreq_handler(ctx->priv, on_ioreq, ctx);
	if (ctx->be->gpu->set_move_notify)
		ctx->be->gpu->set_move_notify(ctx->priv, on_move, ctx);
}
