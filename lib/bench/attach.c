// SPDX-License-Identifier: LGPL-2.1-only
/*
 * bench attach and bench strategies: what mapping a blob costs with each
 * strategy, against the plan of a tool without the planner (a gfn not
 * congruent to the backing modulo 2 MiB, so Xen maps 4K entries).
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "util/log.h"

/* Every strategy on its natural backing. */
static const struct {
	const char *name, *place;
	bool moves; /* not pinned by the strategy */
} strats[] = {
	{ "mmio", "vram", true },
	{ "revoke-fault", "vram", true },
	{ "ioreq", "vram", true },
	{ "ram-mmio", "sys", true },
	{ "transfer", "sys", true },
	{ "grant", "sys", false },
};

#define NR_STRATS (sizeof(strats) / sizeof(*strats))

/* Why a size is not run with a strategy, or NULL. */
static const char *not_run(size_t s, uint64_t size)
{
	if (!strcmp(strats[s].name, "grant") && size > BENCH_GRANT_MAX)
		return "does not fit stock Xen's default grant table "
		       "(gnttab_max_frames 64: 32768 entries, 128 MiB)";
	return NULL;
}

/* Attaches where the planner puts it, times it, detaches; or, naive, the
 * way a tool without the planner does: the buffer first, then mapped at
 * gfn whatever its frames (given the gfn, the allocator would place the
 * frames congruent to it). */
static int attach_once(struct xgm_ctx *ctx, size_t s, uint64_t size,
		       bool naive, uint64_t gfn, json_t **res)
{
	XGM_OPTS(xgm_buffer_opts, bo, .size = size,
		 .placement = strcmp(strats[s].place, "sys") ? XGM_PLACE_VRAM :
							       XGM_PLACE_SYS);
	XGM_OPTS(xgm_attach_opts, a, .size = size, .placement = strats[s].place,
		 .strategy = strats[s].name, .gfn_set = naive, .gfn = gfn);
	struct xgm_buffer *buf = NULL;
	json_t *blob = NULL, *det = NULL, *ops;
	double t0, us;
	int ret = naive ? xgm_buffer_create(ctx, &bo, &buf) : 0;

	if (ret)
		return ret;
	a.buffer_set = naive;
	a.buffer = buf ? xgm_buffer_id(buf) : 0;
	t0 = bench_now_us();
	ret = xgm_blob_attach(ctx, "vm1", &a, &blob);
	us = bench_now_us() - t0;
	if (!ret) {
		ops = json_object_get(json_object_get(blob, "ops"), "attach");
		*res = bench_phase(ops, us);
		json_object_set(*res, "gfn", json_object_get(blob, "gfn"));
		json_object_set(*res, "entries", json_object_get(blob, "entries"));
		ret = xgm_blob_detach(ctx, bench_blob_id(blob), &det);
	}
	json_decref(det);
	json_decref(blob);
	if (buf) {
		int r = xgm_buffer_free(ctx, buf);

		if (r)
			xgm_buffer_put(buf);
		ret = ret ?: r;
	}
	return ret;
}

static void set_ratios(json_t *row, json_t *ours, json_t *naive)
{
	static const char *const keys[] = {
		"hypercalls", "p2m_entries", "modeled_us", "measured_us",
	};
	json_t *r = json_object();

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		json_object_set_new(r, keys[i], bench_ratio(bench_num(ours, keys[i]),
							    bench_num(naive, keys[i])));
	json_object_set_new(row, "ours_vs_naive", r);
}

/* One row: ours, then the naive plan one frame off ours' gfn. */
static json_t *attach_row(struct xgm_ctx *ctx, size_t s, uint64_t size)
{
	json_t *row = json_pack("{s:s,s:s,s:I}", "strategy", strats[s].name,
				"placement", strats[s].place,
				"size", (json_int_t)size);
	json_t *ours = NULL, *naive = NULL;
	const char *why = not_run(s, size);
	int ret;

	if (why) {
		json_object_set_new(row, "not_run", json_string(why));
		return row;
	}
	ret = attach_once(ctx, s, size, false, 0, &ours);
	if (!ret)
		ret = attach_once(ctx, s, size, true,
				  (uint64_t)bench_num(ours, "gfn") + 1, &naive);
	if (ret) {
		json_object_set_new(row, "not_run", json_string(xgm_last_error()));
		xgm_clear_error();
	} else {
		set_ratios(row, ours, naive);
	}
	json_object_set_new(row, "ours", ours ? ours : json_null());
	json_object_set_new(row, "naive", naive ? naive : json_null());
	return row;
}

int bench_scn_attach(struct bench *b, json_t *out)
{
	json_t *rows = json_array();
	uint64_t sizes[16];
	size_t n = 0;
	int ret = 0;

	/* 2M, x4 each step, then the largest size asked for. */
	for (uint64_t sz = 2ULL << 20; sz < b->o.size && n < 15; sz *= 4)
		sizes[n++] = sz;
	sizes[n++] = b->o.size;
	for (size_t s = 0; !ret && s < NR_STRATS; s++)
		for (size_t i = 0; !ret && i < n; i++) {
			struct xgm_ctx *ctx;

			xgm_progress("bench attach", s * n + i, NR_STRATS * n);
			/* A host of its own, so no row sees an earlier one's
			 * fragments; no persistence, so only the attach is
			 * timed. */
			ret = bench_host(b, 0, XGM_CTX_NO_SYNC, &ctx);
			if (ret)
				break;
			json_array_append_new(rows, attach_row(ctx, s, sizes[i]));
			bench_drop(b, ctx);
		}
	if (ret) {
		json_decref(rows);
		return ret;
	}
	json_object_set_new(out, "attach", json_pack("{s:s,s:s,s:o}",
		"guest", "vm1",
		"naive", "gfn one frame past ours: not congruent to the backing "
			 "modulo 2 MiB",
		"rows", rows));
	return 0;
}

/* The guest reads every page once (ioreqs for the trapping strategies). */
static int first_read(struct xgm_ctx *ctx, json_t *blob, json_t **res)
{
	uint64_t gfn = (uint64_t)bench_num(blob, "gfn");
	uint64_t last = (uint64_t)bench_num(blob, "gfn_last");
	json_t *c0 = NULL, *c1 = NULL, *read = NULL, *d;
	double t0, us;
	int ret = bench_counters(ctx, &c0);

	t0 = bench_now_us();
	if (!ret)
		ret = xgm_guest_read(ctx, "vm1", gfn, last, NULL, &read);
	us = bench_now_us() - t0;
	if (!ret)
		ret = bench_counters(ctx, &c1);
	if (!ret) {
		d = bench_delta(c1, c0);
		*res = bench_phase(d, us);
		json_decref(d);
	}
	json_decref(c0);
	json_decref(c1);
	json_decref(read);
	return ret;
}

static int strategy_phases(struct xgm_ctx *ctx, size_t s, uint64_t size,
			   json_t *row)
{
	json_t *blob = NULL, *mig = NULL, *det = NULL, *read = NULL;
	double t0 = bench_now_us(), us;
	int ret = bench_attach(ctx, "vm1", size, strats[s].place,
			       strats[s].name, false, 0, &blob);

	us = bench_now_us() - t0;
	if (ret)
		return ret;
	json_object_set(row, "gfn", json_object_get(blob, "gfn"));
	json_object_set(row, "entries", json_object_get(blob, "entries"));
	json_object_set_new(row, "attach", bench_phase(json_object_get(
		json_object_get(blob, "ops"), "attach"), us));
	ret = first_read(ctx, blob, &read);
	if (!ret)
		json_object_set_new(row, "first_read", read);
	if (!ret && strats[s].moves) {
		XGM_OPTS(xgm_migrate_opts, mo, .to = strats[s].place);

		t0 = bench_now_us();
		ret = xgm_blob_migrate(ctx, bench_blob_id(blob), &mo, &mig);
		us = bench_now_us() - t0;
		if (!ret) {
			json_t *last = json_object_get(mig, "last");
			json_t *p = bench_phase(last, us);

			json_object_set(p, "blackout_us",
					json_object_get(last, "blackout_us"));
			json_object_set_new(row, "migrate", p);
		}
	} else if (!ret) {
		json_object_set_new(row, "migrate", json_null());
	}
	t0 = bench_now_us();
	if (!ret)
		ret = xgm_blob_detach(ctx, bench_blob_id(blob), &det);
	us = bench_now_us() - t0;
	if (!ret)
		json_object_set_new(row, "detach", bench_phase(
			json_object_get(det, "ops"), us));
	json_decref(blob);
	json_decref(mig);
	json_decref(det);
	return ret;
}

int bench_scn_strategies(struct bench *b, json_t *out)
{
	json_t *rows = json_array();
	int ret = 0;

	for (size_t s = 0; !ret && s < NR_STRATS; s++) {
		json_t *row = json_pack("{s:s,s:s}", "strategy", strats[s].name,
					"placement", strats[s].place);
		const char *why = not_run(s, b->o.size);
		json_t *naive = NULL;
		struct xgm_ctx *ctx;
		char what[64];

		snprintf(what, sizeof(what), "bench strategies: %s", strats[s].name);
		xgm_progress(what, s, NR_STRATS);
		json_array_append_new(rows, row);
		if (why) {
			json_object_set_new(row, "not_run", json_string(why));
			continue;
		}
		ret = bench_host(b, 0, XGM_CTX_NO_SYNC, &ctx);
		if (ret)
			break;
		ret = strategy_phases(ctx, s, b->o.size, row);
		/* The naive plan: the same blob one frame off the planner's gfn. */
		if (!ret)
			ret = attach_once(ctx, s, b->o.size, true,
					  (uint64_t)bench_num(row, "gfn") + 1, &naive);
		if (!ret) {
			json_object_set_new(row, "naive_attach", naive);
			set_ratios(row, json_object_get(row, "attach"), naive);
		} else {
			/* What the host refused (a guest's balloon headroom,
			 * VRAM) is a finding of this row, not the run's end. */
			json_object_set_new(row, "failed", json_string(xgm_last_error()));
			xgm_clear_error();
			ret = 0;
		}
		bench_drop(b, ctx);
	}
	if (ret) {
		json_decref(rows);
		return ret;
	}
	json_object_set_new(out, "strategies", json_pack("{s:I,s:s,s:s,s:o}",
		"size", (json_int_t)b->o.size, "guest", "vm1",
		"naive", "attach at a gfn one frame past ours: not congruent to "
			 "the backing modulo 2 MiB",
		"rows", rows));
	return 0;
}
