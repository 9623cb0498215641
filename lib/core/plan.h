/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Planning: from a buffer's backing extents and the gfn where it goes, the
 * minimal list of p2m operations a strategy allows.
 *
 * A plan is a list of runs; a run is contiguous in both gfn and mfn space,
 * so one hypercall sequence can map it. Inside a run the entries follow
 * Xen's own choice (mmio_order() in xen/arch/x86/mm/p2m.c): a 2M entry
 * wherever gfn and mfn are both 2M-aligned and 512 frames remain, 4K
 * otherwise; never 1G. Xen does at most 64 p2m updates per memory_mapping
 * call (MAP_MMIO_MAX_ITER), so a run of E entries costs ceil(E/64) calls.
 */
#ifndef XGM_PLAN_H
#define XGM_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define XGM_ORDER_2M 9
#define XGM_ORDER_1G 18
#define XGM_MMIO_MAX_ITER 64 /* p2m updates per memory_mapping call */

struct plan_run {
	uint64_t gfn;
	uint64_t mfn;
	uint64_t nr;            /* frames */
	uint64_t entries_4k;
	uint64_t entries_2m;
	uint64_t calls;         /* hypercalls the run needs */
};

struct plan {
	struct plan_run *runs;
	size_t nr_runs;
	uint64_t frames;
	uint64_t entries_4k;
	uint64_t entries_2m;
	uint64_t calls;
};

/* Largest entry order allowed by a strategy. */
enum plan_max_order {
	PLAN_4K_ONLY = 0,          /* foreign, grant: Xen maps these 4K only */
	PLAN_UP_TO_2M = XGM_ORDER_2M, /* mmio_direct on a HAP domain */
};

/* Builds the plan for mapping extents (in buffer order) at gfn. With
 * per_call 0, every entry is its own call (grant maps, foreign adds are
 * batched by the caller). */
int plan_build(uint64_t gfn, const struct xgm_extent *ext, size_t nr_ext,
	       enum plan_max_order max_order, unsigned int per_call,
	       struct plan *out);
void plan_free(struct plan *p);

/* Entries Xen writes for a contiguous run, by the rule above. */
void plan_count_run(uint64_t gfn, uint64_t mfn, uint64_t nr,
		    enum plan_max_order max_order, uint64_t *e4k, uint64_t *e2m);

/* The order Xen picks for the next entry at (gfn, mfn) with nr left. */
static inline unsigned int plan_next_order(uint64_t gfn, uint64_t mfn,
					   uint64_t nr,
					   enum plan_max_order max_order)
{
	const uint64_t m = (1ULL << XGM_ORDER_2M) - 1;

	if (max_order >= PLAN_UP_TO_2M && !((gfn | mfn) & m) && nr > m)
		return XGM_ORDER_2M;
	return 0;
}

#endif /* XGM_PLAN_H */
