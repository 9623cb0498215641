/* SPDX-License-Identifier: LGPL-2.1-only */
/* Names of p2m types and memory types; p2m walks as runs. */
#ifndef XGM_INSPECT_H
#define XGM_INSPECT_H

#include "core/engine.h"

const char *p2m_type_str(unsigned int t);
const char *mem_type_str(unsigned int emt);
void access_str(unsigned int a, char out[4]);
/* The reverse of the two above: XGM_P2M_NR_TYPES / -1 when unknown. */
unsigned int p2m_type_parse(const char *name);
int mem_type_parse(const char *name);
int p2m_runs(struct xgm_ctx *ctx, uint32_t domid, uint64_t first, uint64_t last,
	     json_t **out);
/* The same for the separate IOMMU tables (dfn runs). */
int dma_runs(struct xgm_ctx *ctx, uint32_t domid, uint64_t first, uint64_t last,
	     json_t **out);

#endif /* XGM_INSPECT_H */
