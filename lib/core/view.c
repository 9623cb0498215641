// SPDX-License-Identifier: LGPL-2.1-only
/* Blob views and operation meters. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/buffer.h"
#include "core/plan.h"
#include "core/view.h"

#define FIELDS(X) X(hypercalls) X(p2m_entries) X(splits) X(tlb_flushes) \
	X(ipis) X(iommu_entries) X(iotlb_flushes) X(pages_copied) \
	X(lock_acquisitions) X(ioreqs) X(memory_type_changes)

double rounded(double v, double unit)
{
	return round(v / unit) * unit;
}

json_t *json_rounded(double v, double unit)
{
	return json_real(rounded(v, unit));
}

json_t *counters_json(const struct xgm_counters *c)
{
	json_t *j = json_object();

#define ADD(f) json_object_set_new(j, #f, json_integer((json_int_t)c->f));
	FIELDS(ADD)
#undef ADD
	return j;
}

void counters_sub(struct xgm_counters *d, const struct xgm_counters *a,
		  const struct xgm_counters *b)
{
#define SUB(f) d->f = a->f - b->f;
	FIELDS(SUB)
#undef SUB
}

void meter_start(struct xgm_ctx *ctx, struct op_meter *m)
{
	hv_counters(ctx, -1, &m->before);
	clock_gettime(CLOCK_MONOTONIC, &m->t0);
}

struct blob_op *meter_stop(struct xgm_ctx *ctx, struct op_meter *m,
			   struct blob *b, enum blob_op_kind kind)
{
	struct blob_op *op = &b->ops[kind];
	struct xgm_counters after;
	struct timespec t1;
	double measured, modeled;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	hv_counters(ctx, -1, &after);
	measured = (double)(t1.tv_sec - m->t0.tv_sec) * 1e6 +
		   (double)(t1.tv_nsec - m->t0.tv_nsec) / 1e3;
	*op = (struct blob_op){ .done = true, .blackout_us = NAN };
	b->ops_changed = true;
	counters_sub(&op->c, &after, &m->before);
	modeled = hv_modeled_ns(ctx, &op->c);
	/* Rounded as documents show them, so attach and show agree. */
	op->measured_us = rounded(measured, US_UNIT);
	op->modeled_us = modeled >= 0 ? rounded(modeled / 1e3, US_UNIT) : NAN;
	return op;
}

json_t *blob_op_json(const struct blob_op *op)
{
	json_t *j = counters_json(&op->c);

	json_object_set_new(j, "measured_us", json_rounded(op->measured_us, US_UNIT));
	if (!isnan(op->modeled_us))
		json_object_set_new(j, "modeled_us", json_rounded(op->modeled_us, US_UNIT));
	if (!isnan(op->blackout_us))
		json_object_set_new(j, "blackout_us", json_rounded(op->blackout_us, US_UNIT));
	return j;
}

struct leaf_orders {
	uint64_t o0, o9;
};

static int count_orders(const struct xgm_p2m_entry *e, void *arg)
{
	struct leaf_orders *lo = arg;

	if (e->type == XGM_P2M_MMIO_DIRECT || e->type == XGM_P2M_GRANT_MAP_RW ||
	    e->type == XGM_P2M_RAM_RW) {
		if (e->order == 0)
			lo->o0++;
		else if (e->order == 9)
			lo->o9++;
	}
	return 0;
}

static void blob_id(const struct blob *b, char *id, size_t len)
{
	snprintf(id, len, "%s:%u", b->dom_name, b->n);
}

/* list's line: the record's own fields only, no plan and no p2m walk (a
 * list of a domain's blobs costs what its records cost to read). */
json_t *blob_summary(const struct blob *b)
{
	char id[96];

	blob_id(b, id, sizeof(id));
	return json_pack("{s:s,s:I,s:s,s:s,s:I,s:I,s:s,s:b,s:s}", "id", id,
			 "size", (json_int_t)b->size,
			 "placement", placement_name(b->placement),
			 "strategy", strategy_name(b->strategy),
			 "gfn", (json_int_t)b->gfn,
			 "gfn_last", (json_int_t)(b->gfn + b->nr - 1),
			 "state", b->state, "filled", b->filled,
			 "label", b->label);
}

json_t *blob_view(struct xgm_ctx *ctx, const struct blob *b)
{
	return blob_view_adopted(ctx, b, buffer_is_existing(ctx, b->buf));
}

json_t *blob_view_adopted(struct xgm_ctx *ctx, const struct blob *b,
			  bool adopted)
{
	const struct strategy_ops *st = strategy_get(b->strategy);
	json_t *v, *ops, *ext = json_array();
	struct plan p;
	char id[96];

	blob_id(b, id, sizeof(id));
	for (size_t i = 0; i < b->nr_ext; i++)
		json_array_append_new(ext, json_pack("{s:I,s:I}", "mfn",
						     (json_int_t)b->ext[i].mfn,
						     "nr", (json_int_t)b->ext[i].nr));
	v = json_pack("{s:s,s:s,s:i,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:s}",
		      "id", id, "domain", b->dom_name, "domid", (int)b->domid,
		      "size", (json_int_t)b->size, "label", b->label,
		      "card", b->card, "placement", placement_name(b->placement),
		      "strategy", strategy_name(b->strategy),
		      "strategy_choice", b->strategy_auto ? "auto" : "user",
		      "cache", cache_name(b->cache),
		      "gfn", (json_int_t)b->gfn,
		      "gfn_last", (json_int_t)(b->gfn + b->nr - 1),
		      "frames", (json_int_t)b->nr,
		      "generation", (json_int_t)b->generation,
		      "state", b->state);
	/* What the p2m holds for the blob now, by order, beside what Xen's
	 * rules give for a fresh range (they differ where an earlier 4K
	 * mapping left tables behind: set_typed_p2m_entry() then falls back
	 * to the order get_entry() reports, and Xen never frees them). */
	if (!st->maps_nothing) {
		struct leaf_orders lo = { 0 };
		uint64_t planned = 0;
		bool have_plan = false;

		if (!plan_build(b->gfn, b->ext, b->nr_ext, st->max_order,
				st->per_call, &p)) {
			json_object_set_new(v, "planned_entries", json_pack("{s:I,s:I}",
				"order0", (json_int_t)p.entries_4k,
				"order9", (json_int_t)p.entries_2m));
			json_object_set_new(v, "planned_hypercalls",
					    json_integer((json_int_t)p.calls));
			planned = p.entries_4k + p.entries_2m;
			have_plan = true;
			plan_free(&p);
		}
		if (!hv_p2m_walk(ctx, b->domid, b->gfn, b->gfn + b->nr - 1,
				 count_orders, &lo)) {
			json_object_set_new(v, "entries", json_pack("{s:I,s:I}",
				"order0", (json_int_t)lo.o0, "order9", (json_int_t)lo.o9));
			/* Said plainly: the cost of lost superpages is paid on
			 * every remap and nothing gives them back. */
			if (have_plan && lo.o0 + lo.o9 > planned &&
			    b->strategy != STRAT_REVOKE_FAULT)
				json_object_set_new(v, "superpages_lost", json_pack(
					"{s:I,s:s}", "extra_entries",
					(json_int_t)(lo.o0 + lo.o9 - planned), "why",
					"an earlier 4K mapping left tables in this "
					"range's 2M slots; Xen maps there at 4K for good "
					"(see 'check')"));
		}
		xgm_clear_error();
	}
	/* One type per key: filled is a boolean, fill_id the fill (null when
	 * none; 0 is a fill id like any other). */
	json_object_set_new(v, "filled", json_boolean(b->filled));
	json_object_set_new(v, "fill_id", b->filled ? json_integer((json_int_t)b->fill_id)
						    : json_null());
	json_object_set_new(v, "pinned", json_boolean(b->pinned));
	/* An adopted buffer stays its creator's after detach: named, so it
	 * can be freed then (gpu free CARD:ID). */
	if (adopted) {
		char name[64];

		snprintf(name, sizeof(name), "%s:%" PRIu64, b->card, b->buf);
		json_object_set_new(v, "buffer", json_string(name));
	}
	if (b->pinned) {
		char why[160];

		if (!pin_reason(b, why, sizeof(why)))
			snprintf(why, sizeof(why), "pinned while it migrates");
		json_object_set_new(v, "pin_reason", json_string(why));
	}
	json_object_set_new(v, "backing", ext);
	ops = json_object();
	for (unsigned int k = 0; k < BLOB_OP_NR; k++)
		if (b->ops[k].done)
			json_object_set_new(ops, blob_op_name(k), blob_op_json(&b->ops[k]));
	json_object_set_new(v, "ops", ops);
	return v;
}
