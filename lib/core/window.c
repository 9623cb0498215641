// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The blob window: the region of a guest's physical address space where its
 * blobs appear (virtio-gpu's host-visible shared memory). Placed once, above
 * the guest's RAM and anything already mapped, 1 GiB aligned, 64 GiB long,
 * and recorded in the store so it never moves under a running guest.
 */
#include <stdlib.h>

#include "core/engine.h"

static void window_path(char *buf, size_t len, uint32_t domid)
{
	snprintf(buf, len, XGM_STORE_ROOT "/window/%u", domid);
}

int window_get(struct xgm_ctx *ctx, uint32_t domid, struct window *w)
{
	char path[64];
	json_t *j;
	json_int_t gfn, nr;
	int ret;

	window_path(path, sizeof(path), domid);
	ret = store_get(ctx, path, &j);
	if (ret)
		return ret;
	gfn = json_integer_value(json_object_get(j, "gfn"));
	nr = json_integer_value(json_object_get(j, "nr"));
	json_decref(j);
	if (gfn <= 0 || nr <= 0 || (uint64_t)gfn % XGM_WINDOW_ALIGN)
		return xgm_fail(-EBADMSG, "store: %s is not a valid window", path);
	w->gfn = (uint64_t)gfn;
	w->nr = (uint64_t)nr;
	return 0;
}

static int highest(const struct xgm_p2m_entry *e, void *arg)
{
	uint64_t *top = arg;
	uint64_t end = e->gfn + (1ULL << e->order);

	if (end > *top)
		*top = end;
	return 0;
}

int window_ensure(struct xgm_ctx *ctx, const struct xgm_domain_info *d,
		  struct window *w)
{
	uint64_t top = d->max_gpfn + 1;
	char path[64];
	json_t *j;
	int ret;

	ret = window_get(ctx, d->domid, w);
	if (ret != -ENOENT)
		return ret;
	xgm_clear_error();
	/* Above RAM and above anything mapped already (max_gpfn covers what
	 * Xen knows; the walk covers the rest). */
	ret = hv_p2m_walk(ctx, d->domid, 0, (1ULL << 36) - 1, highest, &top);
	if (ret)
		return ret;
	w->gfn = (top + XGM_WINDOW_ALIGN - 1) / XGM_WINDOW_ALIGN * XGM_WINDOW_ALIGN;
	w->nr = XGM_WINDOW_FRAMES;
	if (w->gfn + w->nr > (1ULL << 36))
		return xgm_fail(-ENOSPC, "%s: no room for a blob window below "
				"the 48-bit guest-physical limit", d->name);
	window_path(path, sizeof(path), d->domid);
	j = json_pack("{s:I,s:I}", "gfn", (json_int_t)w->gfn, "nr", (json_int_t)w->nr);
	ret = store_put(ctx, path, j);
	json_decref(j);
	/* The guest may read where its window is (virtio-gpu's host-visible
	 * region), under its own device path; only dom0 may write it. */
	if (!ret && ctx->be->hv->guest_publish) {
		char v[64];

		snprintf(v, sizeof(v), "0x%llx 0x%llx", (unsigned long long)w->gfn,
			 (unsigned long long)w->nr);
		ret = ctx->be->hv->guest_publish(ctx->priv, d->domid, "window", v);
	}
	return ret;
}

/* others sorted by gfn: one pass, the candidate only moving up. */
int window_place(const struct window *w, const struct span *others,
		 size_t nr_others, uint64_t nr, uint64_t mfn0, uint64_t align,
		 uint64_t *gfn)
{
	uint64_t end = w->gfn + w->nr;
	/* The first gfn in the window congruent to mfn0 modulo align. */
	uint64_t cand = w->gfn + ((mfn0 - w->gfn) & (align - 1));

	for (size_t i = 0; cand + nr <= end; i++) {
		const struct span *o = &others[i];

		if (i == nr_others || o->gfn >= cand + nr) {
			*gfn = cand;
			return 0;
		}
		if (cand < o->gfn + o->nr) {
			/* Jump past it, keeping the congruence. */
			uint64_t next = o->gfn + o->nr;

			cand = next + ((mfn0 - next) & (align - 1));
		}
	}
	return xgm_fail(-ENOSPC, "the blob window has no free range of %llu "
			"frames", (unsigned long long)nr);
}
