// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A binary buddy allocator over VRAM pages (4 KiB minimum, blocks naturally
 * aligned), as drm_buddy manages VRAM for amdgpu/xe/i915. The free blocks
 * of each order are a rangeset of block indexes (offset >> order), so
 * neighbouring free blocks cost one range, not one entry each.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim/model.h"

int sim_buddy_init(struct sim_buddy *b, uint64_t pages)
{
	unsigned int order = 0;

	if (!pages || (pages & (pages - 1)))
		return -EINVAL;
	while ((1ull << order) < pages)
		order++;
	b->max_order = order;
	b->free = calloc(order + 1, sizeof(*b->free));
	if (!b->free)
		return -ENOMEM;
	b->free_pages = pages;
	return sim_rs_add(&b->free[order], 0, 0);
}

void sim_buddy_fini(struct sim_buddy *b)
{
	if (b->free)
		for (unsigned int i = 0; i <= b->max_order; i++)
			sim_rs_free(&b->free[i]);
	free(b->free);
	b->free = NULL;
}

int sim_buddy_alloc(struct sim_buddy *b, unsigned int order, uint64_t *off)
{
	unsigned int k = order;
	uint64_t idx;
	int ret;

	if (order > b->max_order)
		return -ENOSPC;
	while (k <= b->max_order && !b->free[k].nr)
		k++;
	if (k > b->max_order)
		return -ENOSPC;
	idx = b->free[k].r[0].s;
	ret = sim_rs_remove(&b->free[k], idx, idx);
	/* Split down, keeping the lower half, freeing the upper buddy. */
	while (!ret && k > order) {
		k--;
		idx *= 2;
		ret = sim_rs_add(&b->free[k], idx + 1, idx + 1);
	}
	if (ret)
		return ret;
	b->free_pages -= 1ull << order;
	*off = idx << order;
	return 0;
}

void sim_buddy_free(struct sim_buddy *b, uint64_t off, unsigned int order)
{
	uint64_t idx = off >> order;

	b->free_pages += 1ull << order;
	while (order < b->max_order &&
	       sim_rs_contains(&b->free[order], idx ^ 1, idx ^ 1)) {
		sim_rs_remove(&b->free[order], idx ^ 1, idx ^ 1);
		idx >>= 1;
		order++;
	}
	sim_rs_add(&b->free[order], idx, idx);
}

int sim_buddy_claim(struct sim_buddy *b, uint64_t off, unsigned int order)
{
	if (order > b->max_order || (off & ((1ull << order) - 1)) ||
	    (off >> b->max_order))
		return -EINVAL;
	for (unsigned int k = order; k <= b->max_order; k++) {
		uint64_t idx = off >> k;
		int ret;

		if (!sim_rs_contains(&b->free[k], idx, idx))
			continue;
		ret = sim_rs_remove(&b->free[k], idx, idx);
		/* Free the siblings on the way down to the claimed block. */
		while (!ret && k > order) {
			k--;
			ret = sim_rs_add(&b->free[k], (off >> k) ^ 1, (off >> k) ^ 1);
		}
		if (!ret)
			b->free_pages -= 1ull << order;
		return ret;
	}
	return -EEXIST;
}
