/* SPDX-License-Identifier: LGPL-2.1-only */
/* What users see of a blob, and the meter that fills its per-op counters. */
#ifndef XGM_VIEW_H
#define XGM_VIEW_H

#include <time.h>

#include "core/engine.h"

struct op_meter {
	struct xgm_counters before;
	struct timespec t0;
};

void meter_start(struct xgm_ctx *ctx, struct op_meter *m);
/* Records the operation's counters, measured time and (where the backend
 * has a model) modeled time in b->ops[kind]; returns it. */
struct blob_op *meter_stop(struct xgm_ctx *ctx, struct op_meter *m,
			   struct blob *b, enum blob_op_kind kind);
json_t *counters_json(const struct xgm_counters *c);
/* An operation's cost as documents show it: every counter, the times. */
json_t *blob_op_json(const struct blob_op *op);
/* A measured or modeled quantity rounded to a multiple of unit (0.1 for
 * times in µs: what the blob record keeps, so attach and show agree), so
 * documents carry no float noise such as 27801.813999999998. */
json_t *json_rounded(double v, double unit);
/* The same as a number: what records keep. */
double rounded(double v, double unit);
#define US_UNIT 0.1
void counters_sub(struct xgm_counters *d, const struct xgm_counters *a,
		  const struct xgm_counters *b);

/* The blob as the CLI shows it: id, gfn range, strategy, entries by
 * order, backing, per-operation counters. */
json_t *blob_view(struct xgm_ctx *ctx, const struct blob *b);
/* The same, told whether b's buffer is an existing one (adopted: named
 * in the view) by a caller that read every buffer record at once. */
json_t *blob_view_adopted(struct xgm_ctx *ctx, const struct blob *b,
			  bool adopted);
/* The summary of b that list shows: its record's fields only. */
json_t *blob_summary(const struct blob *b);

/* The tag fill writes on page `page` of blob b. */
uint64_t fill_tag(const struct blob *b, uint64_t fill_id, uint64_t page);

/* Why b must stay where it is (false: it need not). */
bool pin_reason(const struct blob *b, char *buf, size_t len);

#endif /* XGM_VIEW_H */
