// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The engine's only way into the backend. Each call passes a fault point,
 * so tests can make any step fail, or kill the process there, without the
 * backend knowing (see engine.h and core/fault.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buffer.h"
#include "core/engine.h"

#define CALL(ctx, name, expr)                                          \
	({                                                             \
		int __r = fault_point(ctx, name);                      \
		__r ? __r : (expr);                                    \
	})

static int need(const void *op, const char *what)
{
	return op ? 0 : xgm_fail(-EOPNOTSUPP, "this backend cannot %s", what);
}

int hv_iomem_permission(struct xgm_ctx *ctx, uint32_t domid, uint64_t mfn,
			uint64_t nr, bool allow)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	return need(hv->iomem_permission, "grant iomem permission") ?:
	       CALL(ctx, "iomem_permission",
		    hv->iomem_permission(ctx->priv, domid, mfn, nr, allow));
}

int hv_memory_mapping_all(struct xgm_ctx *ctx, uint32_t domid, uint64_t gfn,
			  uint64_t mfn, uint64_t nr, bool add, uint64_t *done_out)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	uint64_t done = 0;
	int ret = need(hv->memory_mapping, "map MMIO");

	while (!ret && done < nr) {
		ret = CALL(ctx, "memory_mapping",
			   hv->memory_mapping(ctx->priv, domid, gfn + done,
					      mfn + done, nr - done, add));
		if (ret > 0) {
			/* Xen reports partial progress; carry on from there. */
			done += (uint64_t)ret;
			ret = 0;
		} else if (ret == 0) {
			ret = xgm_fail(-EIO, "memory_mapping made no progress "
				       "at gfn 0x%llx",
				       (unsigned long long)(gfn + done));
		}
	}
	if (done_out)
		*done_out = done;
	return ret;
}

int hv_grant_access(struct xgm_ctx *ctx, uint32_t grantee, uint64_t mfn,
		    uint32_t *gref)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	return need(hv->grant_access, "grant pages") ?:
	       CALL(ctx, "grant_access",
		    hv->grant_access(ctx->priv, grantee, mfn, false, gref));
}

int hv_grant_map(struct xgm_ctx *ctx, uint32_t grantee, uint32_t gref,
		 uint64_t gfn)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	return need(hv->grant_map, "map grants") ?:
	       CALL(ctx, "grant_map", hv->grant_map(ctx->priv, grantee, gref, gfn));
}

int hv_grant_unmap(struct xgm_ctx *ctx, uint32_t grantee, uint32_t gref,
		   uint64_t gfn)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	return need(hv->grant_unmap, "unmap grants") ?:
	       CALL(ctx, "grant_unmap", hv->grant_unmap(ctx->priv, grantee, gref, gfn));
}

int hv_grant_end(struct xgm_ctx *ctx, uint32_t gref)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	return need(hv->grant_end, "end grants") ?:
	       CALL(ctx, "grant_end", hv->grant_end(ctx->priv, gref));
}

int hv_p2m_walk(struct xgm_ctx *ctx, uint32_t domid, uint64_t first,
		uint64_t last, xgm_p2m_walk_fn fn, void *arg)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	return need(hv->p2m_walk, "read a p2m") ?:
	       hv->p2m_walk(ctx->priv, domid, first, last, fn, arg);
}

int hv_counters(struct xgm_ctx *ctx, int32_t domid, struct xgm_counters *c)
{
	memset(c, 0, sizeof(*c));
	if (!ctx->be->hv->counters)
		return 0;
	return ctx->be->hv->counters(ctx->priv, domid, c);
}

int hv_sync(struct xgm_ctx *ctx)
{
	if (!ctx->be->hv->sync || (ctx->flags & XGM_CTX_NO_SYNC))
		return 0;
	return ctx->be->hv->sync(ctx->priv);
}

/* Without intermediate syncs nothing of a failed operation reaches the
 * file, and benchmarks building large hosts need no copy per attach. */
int hv_checkpoint(struct xgm_ctx *ctx)
{
	if (!ctx->be->hv->checkpoint || (ctx->flags & XGM_CTX_NO_SYNC))
		return 0;
	return ctx->be->hv->checkpoint(ctx->priv);
}

/* Only after a complete undo: what the undo left is then equivalent to
 * the checkpoint, and the checkpoint is what the user had. */
int hv_restore(struct xgm_ctx *ctx)
{
	if (!ctx->be->hv->restore || (ctx->flags & XGM_CTX_NO_SYNC))
		return 0;
	return ctx->be->hv->restore(ctx->priv);
}

double hv_modeled_ns(struct xgm_ctx *ctx, const struct xgm_counters *c)
{
	if (!ctx->be->hv->modeled_ns)
		return -1;
	return ctx->be->hv->modeled_ns(ctx->priv, c);
}

int gpu_alloc(struct xgm_ctx *ctx, const char *card, uint64_t bytes,
	      enum xgm_placement where, uint64_t gfn, uint64_t *buf)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;

	return need(g->buf_alloc, "allocate GPU buffers") ?:
	       CALL(ctx, "buf_alloc", g->buf_alloc(ctx->priv, card, bytes, where,
						  gfn, buf));
}

int gpu_free(struct xgm_ctx *ctx, uint64_t buf)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;

	int ret = need(g->buf_free, "free GPU buffers") ?:
		  buffer_release(ctx, buf);

	/* An existing buffer was adopted, not allocated: the blob's use of
	 * it ends here, the buffer stays its creator's (core/buffer.c). */
	if (ret || buffer_is_existing(ctx, buf))
		return ret;
	return CALL(ctx, "buf_free", g->buf_free(ctx->priv, buf));
}

int gpu_extents(struct xgm_ctx *ctx, uint64_t buf, struct xgm_extent **ext,
		size_t *n)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;

	return need(g->buf_extents, "locate GPU buffers") ?:
	       g->buf_extents(ctx->priv, buf, ext, n);
}

int gpu_check_local(struct xgm_ctx *ctx, uint64_t buf)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;

	/* The backend's message names the process. */
	return g->buf_remote ? g->buf_remote(ctx->priv, buf) : 0;
}

int gpu_pin(struct xgm_ctx *ctx, uint64_t buf, bool pin)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;

	return need(g->buf_pin, "pin GPU buffers") ?:
	       CALL(ctx, "buf_pin", g->buf_pin(ctx->priv, buf, pin));
}

int gpu_copy(struct xgm_ctx *ctx, uint64_t src, uint64_t dst)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;

	return need(g->buf_copy, "copy GPU buffers") ?:
	       CALL(ctx, "buf_copy", g->buf_copy(ctx->priv, src, dst));
}
