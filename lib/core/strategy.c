// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The strategies of DESIGN.md section 4: how a blob's frames reach the
 * guest. Each one says which backing it can map, whether stock Xen can do
 * it, and how it maps and unmaps. Unmapping works from what the p2m really
 * holds, so it also cleans up after an interrupted map.
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/plan.h"

/* ---- mmio: iomem_permission + memory_mapping (stock Xen) --------------- */

static int mmio_permit(struct xgm_ctx *ctx, const struct blob *b, bool allow,
		       size_t upto)
{
	int ret = 0, r;

	for (size_t i = 0; i < upto; i++) {
		r = hv_iomem_permission(ctx, b->domid, b->ext[i].mfn, b->ext[i].nr, allow);
		if (r && !ret)
			ret = r;
		if (r && allow)
			return r;
	}
	return ret;
}

struct leaf_list {
	struct xgm_p2m_entry *e;
	size_t n, cap;
	unsigned int type;
};

static int collect_leaf(const struct xgm_p2m_entry *e, void *arg)
{
	struct leaf_list *l = arg;

	if (e->type != l->type)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct xgm_p2m_entry *g = realloc(l->e, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		l->e = g;
		l->cap = cap;
	}
	l->e[l->n++] = *e;
	return 0;
}

/* Removes every mmio_direct leaf in the blob's range: after a complete map
 * that is the whole blob, after an interrupted one exactly what got done. */
static int mmio_unmap_present(struct xgm_ctx *ctx, const struct blob *b)
{
	struct leaf_list l = { .type = XGM_P2M_MMIO_DIRECT };
	uint64_t last = b->gfn + b->nr - 1;
	int ret;

	ret = hv_p2m_walk(ctx, b->domid, b->gfn, last, collect_leaf, &l);
	for (size_t i = 0; !ret && i < l.n;) {
		uint64_t g = l.e[i].gfn, m = l.e[i].mfn, n = 1ULL << l.e[i].order;

		/* Leaves contiguous in gfn and mfn go in one request, which
		 * Xen then works through 64 entries a call. */
		for (i++; i < l.n && l.e[i].gfn == g + n && l.e[i].mfn == m + n; i++)
			n += 1ULL << l.e[i].order;
		/* A leaf may stick out of the range only if something else
		 * mapped it; clip to what is ours. */
		if (g < b->gfn) {
			m += b->gfn - g;
			n -= b->gfn - g;
			g = b->gfn;
		}
		if (g + n - 1 > last)
			n = last - g + 1;
		ret = hv_memory_mapping_all(ctx, b->domid, g, m, n, false, NULL);
	}
	free(l.e);
	return ret;
}

static int mmio_map(struct xgm_ctx *ctx, struct blob *b)
{
	uint64_t gfn = b->gfn, done;
	int ret;

	/* memory_mapping takes no page reference: RAM mapped this way could
	 * be freed under the guest. Xen does not refuse it; we do. */
	if (b->placement != XGM_PLACE_VRAM)
		return xgm_fail(-EPERM, "mmio maps VRAM only: system RAM mapped "
				"with memory_mapping holds no page reference");

	ret = mmio_permit(ctx, b, true, b->nr_ext);
	for (size_t i = 0; !ret && i < b->nr_ext; i++) {
		ret = hv_memory_mapping_all(ctx, b->domid, gfn, b->ext[i].mfn,
					    b->ext[i].nr, true, &done);
		gfn += b->ext[i].nr;
	}
	if (ret) {
		/* Leave nothing behind: no entry, then no permission. */
		if (!mmio_unmap_present(ctx, b))
			mmio_permit(ctx, b, false, b->nr_ext);
	}
	return ret;
}

/* Revokes only once nothing is mapped: Xen 4.17 checks the guest's
 * permission on removal too, so revoking over live entries would leave
 * them for good (no retry, no recover could remove them). The permission
 * lets nobody but dom0 map; the entries are what the guest reaches. */
static int mmio_unmap(struct xgm_ctx *ctx, struct blob *b)
{
	int ret = mmio_unmap_present(ctx, b);

	return ret ?: mmio_permit(ctx, b, false, b->nr_ext);
}

/* ---- grant: dom0 grants each page, the guest maps the refs ------------- */

static uint64_t frame_at(const struct blob *b, uint64_t i)
{
	for (size_t k = 0; k < b->nr_ext; k++) {
		if (i < b->ext[k].nr)
			return b->ext[k].mfn + i;
		i -= b->ext[k].nr;
	}
	return UINT64_MAX;
}

static int grant_unmap(struct xgm_ctx *ctx, struct blob *b)
{
	char msg[512] = "";
	int ret = 0, r;

	if (!b->grefs)
		return 0;
	/* Works from any point an interrupted map or unmap left: a ref that
	 * no longer exists was ended already (-ENOENT), one the guest does not
	 * map (-EINVAL) only needs ending. Revocation only after the unmap:
	 * Xen refuses it before. */
	for (uint64_t i = 0; i < b->nr; i++) {
		if (b->grefs[i] == UINT32_MAX)
			continue;
		r = hv_grant_unmap(ctx, b->domid, b->grefs[i], b->gfn + i);
		if (r == -ENOENT) {
			b->grefs[i] = UINT32_MAX;
			continue;
		}
		if (!r || r == -EINVAL)
			r = hv_grant_end(ctx, b->grefs[i]);
		if (!r || r == -ENOENT)
			b->grefs[i] = UINT32_MAX;
		else if (!ret) {
			ret = r;
			snprintf(msg, sizeof(msg), "%s", xgm_last_error());
		}
	}
	return ret ? xgm_fail(ret, "%s", msg) : 0;
}

static int grant_map(struct xgm_ctx *ctx, struct blob *b)
{
	int ret = 0;

	free(b->grefs);
	b->grefs = malloc(b->nr * sizeof(*b->grefs));
	if (!b->grefs)
		return -ENOMEM;
	memset(b->grefs, 0xff, b->nr * sizeof(*b->grefs));
	for (uint64_t i = 0; !ret && i < b->nr; i++) {
		uint32_t gref;

		ret = hv_grant_access(ctx, b->domid, frame_at(b, i), &gref);
		if (ret)
			break;
		b->grefs[i] = gref;
		/* Written down before the guest can use it: a grant nobody
		 * records could never be revoked after a crash. */
		ret = blob_save(ctx, b) ?:
		      hv_grant_map(ctx, b->domid, gref, b->gfn + i);
	}
	if (ret) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", xgm_last_error());
		grant_unmap(ctx, b);
		xgm_fail(ret, "%s", msg);
	}
	return ret;
}

/* ---- ram-mmio and transfer: NOT IN STOCK XEN (the sim models them) ----- */

/* Calls op over every extent, op doing at most its per-call batch and
 * returning how many frames it did. */
typedef int (*batch_op)(void *priv, uint32_t domid, uint64_t gfn, uint64_t mfn,
			uint64_t nr);

static int map_batched(struct xgm_ctx *ctx, struct blob *b, batch_op op,
		       const char *name)
{
	uint64_t gfn = b->gfn;
	int ret = 0;

	if (!op)
		return xgm_fail(-EOPNOTSUPP, "this hypervisor has no %s extension", name);
	for (size_t i = 0; !ret && i < b->nr_ext; i++) {
		uint64_t done = 0;

		while (!ret && done < b->ext[i].nr) {
			ret = fault_point(ctx, name) ?:
			      op(ctx->priv, b->domid, gfn + done, b->ext[i].mfn + done,
				 b->ext[i].nr - done);
			if (ret > 0) {
				done += (uint64_t)ret;
				ret = 0;
			} else if (!ret) {
				ret = xgm_fail(-EIO, "%s made no progress", name);
			}
		}
		gfn += b->ext[i].nr;
	}
	return ret;
}

typedef int (*range_op)(void *priv, uint32_t domid, uint64_t gfn, uint64_t nr);

static int unmap_range(struct xgm_ctx *ctx, struct blob *b, range_op op,
		       const char *name)
{
	int ret;

	if (!op)
		return xgm_fail(-EOPNOTSUPP, "this hypervisor has no %s extension", name);
	ret = fault_point(ctx, name) ?: op(ctx->priv, b->domid, b->gfn, b->nr);
	return ret < 0 ? ret : 0;
}

static int ram_mmio_map(struct xgm_ctx *ctx, struct blob *b)
{
	int ret = map_batched(ctx, b, ctx->be->hv->ram_mmio_map, "ram_mmio_map");

	if (ret && ctx->be->hv->ram_mmio_unmap)
		unmap_range(ctx, b, ctx->be->hv->ram_mmio_unmap, "ram_mmio_unmap");
	return ret;
}

static int ram_mmio_unmap(struct xgm_ctx *ctx, struct blob *b)
{
	return unmap_range(ctx, b, ctx->be->hv->ram_mmio_unmap, "ram_mmio_unmap");
}

static int transfer_map(struct xgm_ctx *ctx, struct blob *b)
{
	int ret = map_batched(ctx, b, ctx->be->hv->transfer, "transfer");

	if (ret && ctx->be->hv->transfer_back)
		unmap_range(ctx, b, ctx->be->hv->transfer_back, "transfer_back");
	return ret;
}

static int transfer_unmap(struct xgm_ctx *ctx, struct blob *b)
{
	return unmap_range(ctx, b, ctx->be->hv->transfer_back, "transfer_back");
}

/* ---- ioreq and revoke-fault: an ioreq server over the blob ------------- */

static int ioreq_range(struct xgm_ctx *ctx, struct blob *b, bool map)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	if (!hv->ioreq_map_range)
		return xgm_fail(-EOPNOTSUPP, "this backend has no ioreq server");
	return fault_point(ctx, "ioreq_map_range") ?:
	       hv->ioreq_map_range(ctx->priv, b->domid, b->gfn, b->gfn + b->nr - 1, map);
}

static int ioreq_map(struct xgm_ctx *ctx, struct blob *b)
{
	return ioreq_range(ctx, b, true);
}

static int ioreq_unmap(struct xgm_ctx *ctx, struct blob *b)
{
	return ioreq_range(ctx, b, false);
}

/* Nothing is mapped up front: the server maps each 2M chunk on first
 * touch (core/ioreq.c). Permission first, so it can. */
static int revoke_fault_map(struct xgm_ctx *ctx, struct blob *b)
{
	int ret = mmio_permit(ctx, b, true, b->nr_ext) ?: ioreq_range(ctx, b, true);

	if (ret)
		mmio_permit(ctx, b, false, b->nr_ext);
	return ret;
}

static int revoke_fault_unmap(struct xgm_ctx *ctx, struct blob *b)
{
	int ret = mmio_unmap_present(ctx, b);
	int r = ioreq_range(ctx, b, false);

	/* As mmio_unmap(): revoke only once nothing is mapped. */
	return ret ?: r ?: mmio_permit(ctx, b, false, b->nr_ext);
}

static const struct strategy_ops strategies[STRAT_NR] = {
	[STRAT_MMIO] = {
		.name = "mmio", .vram_ok = true,
		.max_order = PLAN_UP_TO_2M, .per_call = XGM_MMIO_MAX_ITER,
		.note = "iomem_permission + memory_mapping: p2m_mmio_direct, "
			"2M entries where gfn and mfn are 2M-aligned",
		.map = mmio_map, .unmap = mmio_unmap,
	},
	[STRAT_GRANT] = {
		.name = "grant", .sys_ok = true, .pins = true,
		.max_order = PLAN_4K_ONLY, .per_call = 0,
		.note = "dom0 grants each page, the guest maps the grant refs "
			"(grant_map_rw); the buffer is pinned while mapped",
		.map = grant_map, .unmap = grant_unmap,
	},
	[STRAT_IOREQ] = {
		.name = "ioreq", .vram_ok = true, .sys_ok = true,
		.needs_server = true, .maps_nothing = true,
		.note = "nothing in the p2m: every guest access traps to an ioreq server",
		.map = ioreq_map, .unmap = ioreq_unmap,
	},
	[STRAT_RAM_MMIO] = {
		.name = "ram-mmio", .sys_ok = true, .max_order = PLAN_4K_ONLY,
		.per_call = XGM_MMIO_MAX_ITER,
		.note = "NOT IN STOCK XEN: dom0 RAM mapped as kind-of-MMIO with a "
			"page reference and guaranteed revocation",
		.map = ram_mmio_map, .unmap = ram_mmio_unmap,
	},
	[STRAT_TRANSFER] = {
		.name = "transfer", .sys_ok = true, .max_order = PLAN_4K_ONLY,
		.per_call = XGM_MMIO_MAX_ITER,
		.note = "NOT IN STOCK XEN: page ownership moves to the guest "
			"within its balloon headroom",
		.map = transfer_map, .unmap = transfer_unmap,
	},
	[STRAT_REVOKE_FAULT] = {
		.name = "revoke-fault", .vram_ok = true,
		.needs_server = true,
		.max_order = PLAN_UP_TO_2M, .per_call = XGM_MMIO_MAX_ITER,
		.note = "an ioreq server over the window maps each 2M chunk on "
			"first touch; a move revokes and the next access refaults",
		.map = revoke_fault_map, .unmap = revoke_fault_unmap,
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
	if (!st->map)
		return "the engine does not implement it yet";
	if (s == STRAT_GRANT && !ctx->be->hv->grant_access)
		return "this kernel lacks gntdev dma-buf (CONFIG_XEN_GRANT_DMA_ALLOC), "
		       "which granting a GPU buffer's pages needs";
	if ((s == STRAT_RAM_MMIO && !hv_has_extension(ctx, XGM_EXT_RAM_MMIO)) ||
	    (s == STRAT_TRANSFER && !hv_has_extension(ctx, XGM_EXT_TRANSFER)))
		return ctx->be->caps & XGM_CAP_HOST_MADE ?
		       "this simulated host is stock Xen and lacks the extension it "
		       "needs (create it with 'sim init --extensions ram-mmio,transfer')" :
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

int blob_switch(struct xgm_ctx *ctx, struct blob *b, uint64_t buf,
		struct xgm_extent *ext, size_t n, enum strategy s,
		enum xgm_placement p)
{
	const struct strategy_ops *old = strategy_get(b->strategy);
	int ret = old->unmap ? old->unmap(ctx, b) : 0;

	if (ret) {
		free(ext);
		return ret;
	}
	blob_set_backing(b, buf, ext, n, s, p);
	return strategy_get(s)->map(ctx, b);
}
