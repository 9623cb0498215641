/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Runs and maps as stored records keep them: one flat JSON array of pairs,
 * [a0, b0, a1, b1, ...]. A PV dom0's 1 GiB buffer has 262144 runs; as
 * flat pairs they parse with a third of the allocations of an array per
 * run and a tenth of those of an object per run. The one form for blob
 * records, journal records and the simulated host's buffers.
 */
#ifndef XGM_UTIL_PAIRS_H
#define XGM_UTIL_PAIRS_H

#include <stdint.h>

#include <jansson.h>

/* Appends the pair (a, b); -ENOMEM. A value above INT64_MAX is stored as
 * its two's complement (JSON integers are signed). */
int xgm_pairs_add(json_t *arr, uint64_t a, uint64_t b);

/* Calls add(ctx, a, b) for each pair, in order, and returns its first
 * non-zero result. -EBADMSG when arr is not an array of an even number of
 * integers, or a value is outside 0..max_a / 0..max_b (a max of
 * UINT64_MAX takes any integer, read back as two's complement). */
int xgm_pairs_each(json_t *arr, uint64_t max_a, uint64_t max_b,
		   int (*add)(void *ctx, uint64_t a, uint64_t b), void *ctx);

#endif /* XGM_UTIL_PAIRS_H */
