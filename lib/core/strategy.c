// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The strategies of DESIGN.md section 4: how a blob's frames reach the
 * guest. Each one says which backing it can map, whether stock Xen can do
 * it; the steps that map with it are in core/exec.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/exec.h"
#include "core/plan.h"

static const struct strategy_ops strategies[STRAT_NR] = {
	[STRAT_MMIO] = {
		.name = "mmio", .vram_ok = true,
		.max_order = PLAN_UP_TO_2M, .per_call = XGM_MMIO_MAX_ITER,
		.note = "iomem_permission + memory_mapping: p2m_mmio_direct, "
			"2M entries where gfn and mfn are 2M-aligned",
	},
	[STRAT_GRANT] = {
		.name = "grant", .sys_ok = true, .pins = true,
		.max_order = PLAN_4K_ONLY, .per_call = 0,
		.note = "dom0 grants each page, the guest maps the grant refs "
			"(grant_map_rw); the buffer is pinned while mapped",
	},
	[STRAT_IOREQ] = {
		.name = "ioreq", .vram_ok = true, .sys_ok = true,
		.needs_server = true, .maps_nothing = true,
		.note = "nothing in the p2m: every guest access traps to an ioreq server",
	},
	[STRAT_RAM_MMIO] = {
		.name = "ram-mmio", .sys_ok = true, .max_order = PLAN_4K_ONLY,
		.per_call = XGM_MMIO_MAX_ITER,
		.note = "NOT IN STOCK XEN: dom0 RAM mapped as kind-of-MMIO with a "
			"page reference and guaranteed revocation",
	},
	[STRAT_TRANSFER] = {
		.name = "transfer", .sys_ok = true, .max_order = PLAN_4K_ONLY,
		.per_call = XGM_MMIO_MAX_ITER,
		.note = "NOT IN STOCK XEN: page ownership moves to the guest "
			"within its balloon headroom",
	},
	[STRAT_REVOKE_FAULT] = {
		.name = "revoke-fault", .vram_ok = true,
		.needs_server = true,
		.max_order = PLAN_UP_TO_2M, .per_call = XGM_MMIO_MAX_ITER,
		.note = "an ioreq server over the window maps each 2M chunk on "
			"first touch; a move revokes and the next access refaults",
	},
};

const struct strategy_ops *strategy_get(enum strategy s)
{
	return (unsigned int)s < STRAT_NR ? &strategies[s] : NULL;
}

const char *strategy_name(enum strategy s)
{
	return s == STRAT_AUTO ? "auto" : strategies[s].name;
}

int strategy_parse(const char *name, enum strategy *out)
{
	if (!strcmp(name, "auto")) {
		*out = STRAT_AUTO;
		return 0;
	}
	for (int i = 0; i < STRAT_NR; i++) {
		if (!strcmp(name, strategies[i].name)) {
			*out = (enum strategy)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const cache_names[] = { "wc", "uc", "wb" };

const char *cache_name(enum cache_type c)
{
	return (unsigned int)c < 3 ? cache_names[c] : "?";
}

int cache_parse(const char *name, enum cache_type *out)
{
	for (int i = 0; i < 3; i++) {
		if (!strcmp(name, cache_names[i])) {
			*out = (enum cache_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *placement_name(enum xgm_placement p)
{
	return p == XGM_PLACE_VRAM ? "vram" : "sys";
}

int placement_parse(const char *name, enum xgm_placement *out)
{
	if (!strcmp(name, "vram"))
		*out = XGM_PLACE_VRAM;
	else if (!strcmp(name, "sys"))
		*out = XGM_PLACE_SYS;
	else
		return -EINVAL;
	return 0;
}

/* Whether the hypervisor has this extension (XGM_EXT_*). */
static bool hv_has_extension(struct xgm_ctx *ctx, unsigned int bit)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	if (hv->extensions)
		return hv->extensions(ctx->priv) & bit;
	return bit == XGM_EXT_RAM_MMIO ? hv->ram_mmio_map != NULL :
					 hv->transfer != NULL;
}

const char *strategy_unsupported(struct xgm_ctx *ctx, enum strategy s)
{
	const struct strategy_ops *st = strategy_get(s);

	if (!st)
		return "unknown strategy";
	if (!strategy_nr_steps(s))
		return "the engine does not implement it yet";
	if (s == STRAT_GRANT && !ctx->be->hv->grant_access)
		return "this kernel lacks gntdev dma-buf (CONFIG_XEN_GRANT_DMA_ALLOC), "
		       "which granting a GPU buffer's pages needs";
	if ((s == STRAT_RAM_MMIO && !hv_has_extension(ctx, XGM_EXT_RAM_MMIO)) ||
	    (s == STRAT_TRANSFER && !hv_has_extension(ctx, XGM_EXT_TRANSFER)))
		return ctx->be->caps & XGM_CAP_HOST_MADE ?
		       "this simulated host is stock Xen and lacks the extension it "
		       "needs" :
		       "this hypervisor lacks the extension it needs (not in stock Xen)";
	if (st->needs_server && !ctx->be->hv->ioreq_map_range)
		return "it needs the long-running ioreq server, which this backend "
		       "does not have";
	return NULL;
}

int strategy_auto(struct xgm_ctx *ctx, enum xgm_placement where,
		  enum strategy *out)
{
	/* VRAM: cheapest first, fewest and largest p2m entries. */
	static const enum strategy vram_order[] = {
		STRAT_MMIO, STRAT_REVOKE_FAULT, STRAT_IOREQ,
	};
	/* System RAM: first what writes nothing into the p2m. A 4K phase
	 * leaves the range's tables behind for good (xen-facts.md s6): the
	 * blob, back in VRAM, would never get its 2M entries again. Then the
	 * extensions where the host has them, grant last (it pins). */
	static const enum strategy sys_order[] = {
		STRAT_IOREQ, STRAT_RAM_MMIO, STRAT_TRANSFER, STRAT_GRANT,
	};
	const enum strategy *order = where == XGM_PLACE_VRAM ? vram_order : sys_order;
	size_t n = where == XGM_PLACE_VRAM ? sizeof(vram_order) / sizeof(*order) :
					     sizeof(sys_order) / sizeof(*order);

	/* A strategy that pins the buffer only when nothing else can map it. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct strategy_ops *st = strategy_get(order[i]);
			bool fits = where == XGM_PLACE_VRAM ? st->vram_ok : st->sys_ok;

			if (fits && !strategy_unsupported(ctx, order[i]) &&
			    st->pins == (pass == 1)) {
				*out = order[i];
				return 0;
			}
		}
	}
	return xgm_fail(-EOPNOTSUPP, "no strategy this backend supports can map "
			"a buffer in %s", placement_name(where));
}
