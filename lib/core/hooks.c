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

#include "core/engine.h"
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

static int on_ioreq(uint32_t domid, uint64_t gfn, bool write, uint64_t *tag,
		    void *arg)
{
	struct xgm_ctx *ctx = arg;
	const struct xgm_gpu_ops *g = ctx->be->gpu;
	struct blob b;
	int ret;

	ret = find_blob(ctx, domid, gfn, -1, &b);
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
		ret = g->buf_read_tag ? g->buf_read_tag(ctx->priv, b.buf, gfn - b.gfn, tag)
				      : -EOPNOTSUPP;
	if (!ret && b.strategy == STRAT_REVOKE_FAULT)
		ret = map_chunk(ctx, &b, gfn);
	blob_free(&b);
	return ret;
}

/* The driver moved buf: switch the guest to where it is now. */
static void on_move(uint64_t buf, enum xgm_placement from,
		    enum xgm_placement to, void *arg)
{
	struct xgm_ctx *ctx = arg;
	struct xgm_extent *ext = NULL;
	struct op_meter meter;
	enum strategy s;
	struct blob b;
	json_t *extra, *jext;
	uint64_t seq;
	size_t n;
	int ret;

	if (find_blob(ctx, -1, 0, (int64_t)buf, &b))
		return; /* not a buffer of ours */
	meter_start(ctx, &meter);
	s = b.strategy;
	ret = gpu_extents(ctx, buf, &ext, &n);
	if (!ret && ((to == XGM_PLACE_VRAM && !strategy_get(s)->vram_ok) ||
		     (to == XGM_PLACE_SYS && !strategy_get(s)->sys_ok)))
		ret = b.strategy_auto ? strategy_auto(ctx, to, &s)
				      : xgm_fail(-EPERM, "evicted a pinned blob");
	if (ret) {
		free(ext);
		xgm_warn("blob %s:%u moved by the driver and cannot be remapped: "
			 "%s", b.dom_name, b.n, xgm_last_error());
		blob_free(&b);
		return;
	}
	jext = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(jext, json_pack("{s:I,s:I}", "mfn",
			(json_int_t)ext[i].mfn, "nr", (json_int_t)ext[i].nr));
	extra = json_pack("{s:I,s:o,s:s,s:s}", "new_buf", (json_int_t)buf,
			  "new_extents", jext, "new_strategy", strategy_name(s),
			  "new_placement", to == XGM_PLACE_VRAM ? "vram" : "sys");
	ret = journal_intent(ctx, "evict", &b, extra, &seq);
	json_decref(extra);
	/* Revoke first: whatever happens next, the old frames are gone. */
	if (!ret)
		ret = blob_switch(ctx, &b, buf, ext, n, s, to);
	else
		free(ext);
	if (!ret) {
		b.generation++;
		meter_stop(ctx, &meter, &b, "evict");
		ret = blob_save(ctx, &b) ?: journal_done(ctx, seq);
	}
	if (ret)
		xgm_warn("remapping blob %s:%u after an eviction failed: %s "
			 "(run 'xgpumap recover')", b.dom_name, b.n, xgm_last_error());
	else
		xgm_info("blob %s:%u was evicted from %s to %s and remapped",
			 b.dom_name, b.n, from == XGM_PLACE_VRAM ? "vram" : "sys",
			 to == XGM_PLACE_VRAM ? "vram" : "sys");
	blob_free(&b);
}

void engine_install_hooks(struct xgm_ctx *ctx)
{
	if (ctx->be->hv->set_ioreq_handler)
		ctx->be->hv->set_ioreq_handler(ctx->priv, on_ioreq, ctx);
	if (ctx->be->gpu->set_move_notify)
		ctx->be->gpu->set_move_notify(ctx->priv, on_move, ctx);
}
