/* SPDX-License-Identifier: LGPL-2.1-only */
/* The typed handle behind struct xgm_blob (core/vmm.c builds it from a
 * record, lib/client/ from a daemon's reply). */
#ifndef XGM_CORE_HANDLES_H
#define XGM_CORE_HANDLES_H

#include "xgpumap.h"

struct xgm_blob {
	uint32_t domid;
	uint32_t id;
	uint64_t gfn;
	uint64_t window_gfn;
	uint64_t size;
	enum xgm_strategy strategy;
	enum xgm_placement placement;
	enum xgm_cache cache;
	uint64_t entries_4k;
	uint64_t entries_2m;
	struct xgm_counters last;
};

#endif /* XGM_CORE_HANDLES_H */
