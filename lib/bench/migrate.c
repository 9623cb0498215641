// SPDX-License-Identifier: LGPL-2.1-only
/*
 * bench migrate: N moves of one blob within VRAM, copy-then-switch (the
 * guest is unmapped only for the switch), against the naive remap that
 * unmaps everything, copies, and maps again (its blackout includes the
 * copy). Every move reports its blackout measured and modelled and the
 * ratio of its blackout to the cost of one map.
 */
#include <stdlib.h>

#include "bench.h"
#include "util/log.h"

#define HIST_BINS 10

struct moves {
	size_t n;
	double *blackout, *total, *modeled, *per_map; /* per move */
};

static int moves_alloc(struct moves *m, size_t n)
{
	m->n = n;
	m->blackout = calloc(4 * n, sizeof(double));
	m->total = m->blackout + n;
	m->modeled = m->total + n;
	m->per_map = m->modeled + n;
	return m->blackout ? 0 : -ENOMEM;
}

/* Copy-then-switch: the engine's own move. */
static int move_ours(struct bench *b, struct xgm_ctx *ctx, const char *id,
		     double map_modeled, struct moves *m, size_t i)
{
	XGM_OPTS(xgm_migrate_opts, mo, .to = "vram");
	json_t *mig = NULL, *last;
	double t0 = bench_now_us();
	int ret = xgm_blob_migrate(ctx, id, &mo, &mig);

	m->total[i] = bench_now_us() - t0;
	if (ret)
		return ret;
	last = json_object_get(mig, "last");
	m->blackout[i] = bench_num(last, "blackout_us");
	/* The copy runs before the switch, outside the blackout. */
	m->modeled[i] = bench_num(last, "modeled_us") -
			bench_num(last, "pages_copied") * b->copy_ns / 1e3;
	m->per_map[i] = map_modeled > 0 ? m->modeled[i] / map_modeled : 0;
	json_decref(mig);
	return 0;
}

/* Unmap everything, then map a new buffer at the same gfn. The copy
 * would run in between: its measured time is ours' (total less blackout
 * of the same move), its modelled one the cost model's per page. */
static int move_naive(struct bench *b, struct xgm_ctx *ctx, json_t **blob,
		      double map_modeled, const struct moves *ours,
		      struct moves *m, size_t i)
{
	uint64_t size = (uint64_t)bench_num(*blob, "size");
	uint64_t gfn = (uint64_t)bench_num(*blob, "gfn");
	json_t *det = NULL, *nb = NULL;
	double t0 = bench_now_us(), us;
	int ret = xgm_blob_detach(ctx, bench_blob_id(*blob), &det);

	if (!ret)
		ret = bench_attach(ctx, "vm1", size, "vram", "mmio", true, gfn, &nb);
	us = bench_now_us() - t0;
	if (ret) {
		json_decref(det);
		return ret;
	}
	m->blackout[i] = us + ours->total[i] - ours->blackout[i];
	m->total[i] = m->blackout[i];
	m->modeled[i] = bench_num(json_object_get(det, "ops"), "modeled_us") +
			bench_num(json_object_get(json_object_get(nb, "ops"),
						  "attach"), "modeled_us") +
			(double)(size / 4096) * b->copy_ns / 1e3;
	m->per_map[i] = map_modeled > 0 ? m->modeled[i] / map_modeled : 0;
	json_decref(det);
	json_decref(*blob);
	*blob = nb;
	return 0;
}

static void json_array_extend_new(json_t *a, json_t *b)
{
	json_array_extend(a, b);
	json_decref(b);
}

static json_t *samples_of(const struct moves *m, const char *kind)
{
	json_t *a = json_array();

	for (size_t i = 0; i < m->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:I,s:o,s:o,s:o,s:o}",
			"kind", kind, "move", (json_int_t)i + 1,
			"blackout_us", bench_us(m->blackout[i]),
			"total_us", bench_us(m->total[i]),
			"modeled_blackout_us", bench_us(m->modeled[i]),
			"blackout_per_map", bench_ratio(m->per_map[i], 1)));
	return a;
}

/* Distributions of one way; sorts the samples. */
static json_t *summary(struct moves *m)
{
	json_t *h = bench_histogram(m->blackout, m->n, HIST_BINS);

	return json_pack("{s:o,s:o,s:o,s:o,s:o}",
		"blackout_us", bench_stats(m->blackout, m->n),
		"total_us", bench_stats(m->total, m->n),
		"modeled_blackout_us", bench_stats(m->modeled, m->n),
		"modeled_blackout_per_map", bench_stats(m->per_map, m->n),
		"histogram", h);
}

static void set_ratios(json_t *res)
{
	static const char *const keys[] = {
		"blackout_us", "total_us", "modeled_blackout_us",
	};
	json_t *ours = json_object_get(res, "ours");
	json_t *naive = json_object_get(res, "naive");
	json_t *r = json_object();

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		json_object_set_new(r, keys[i], bench_ratio(
			bench_num(json_object_get(ours, keys[i]), "p50"),
			bench_num(json_object_get(naive, keys[i]), "p50")));
	json_object_set_new(res, "ours_vs_naive_p50", r);
}

static int run_moves(struct bench *b, struct xgm_ctx *ctx, json_t *res)
{
	struct moves ours = { 0 }, naive = { 0 };
	json_t *blob = NULL, *map;
	double map_modeled, t0 = bench_now_us();
	size_t n = b->o.repeat;
	int ret = bench_attach(ctx, "vm1", b->o.size, "vram", "mmio", false, 0,
			       &blob);

	if (ret)
		return ret;
	map = bench_phase(json_object_get(json_object_get(blob, "ops"), "attach"),
			  bench_now_us() - t0);
	map_modeled = bench_num(map, "modeled_us");
	json_object_set_new(res, "one_map", map);
	ret = moves_alloc(&ours, n) ?: moves_alloc(&naive, n);
	for (size_t i = 0; !ret && i < n; i++) {
		xgm_progress("bench migrate", i, n);
		ret = move_ours(b, ctx, bench_blob_id(blob), map_modeled, &ours, i);
	}
	for (size_t i = 0; !ret && i < n; i++) {
		xgm_progress("bench migrate: naive", i, n);
		ret = move_naive(b, ctx, &blob, map_modeled, &ours, &naive, i);
	}
	if (!ret && b->o.samples) {
		json_t *s = samples_of(&ours, "ours");

		json_array_extend_new(s, samples_of(&naive, "naive"));
		json_object_set_new(res, "samples", s);
	}
	if (!ret) {
		json_object_set_new(res, "ours", summary(&ours));
		json_object_set_new(res, "naive", summary(&naive));
		set_ratios(res);
	}
	free(ours.blackout);
	free(naive.blackout);
	json_decref(blob);
	return ret;
}

int bench_scn_migrate(struct bench *b, json_t *out)
{
	json_t *res = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}",
		"size", (json_int_t)b->o.size, "moves", (json_int_t)b->o.repeat,
		"strategy", "mmio", "within", "vram",
		"ours_way", "copy-then-switch",
		"naive_way", "unmap everything, copy, map: the blackout includes "
			 "the copy (measured: the detach and attach, plus this "
			 "run's copy time)");
	struct xgm_ctx *ctx;
	int ret = bench_host(b, 0, XGM_CTX_NO_SYNC, &ctx);

	if (!ret) {
		ret = run_moves(b, ctx, res);
		bench_drop(b, ctx);
	}
	if (ret) {
		json_decref(res);
		return ret;
	}
	json_object_set_new(out, "migrate", res);
	return 0;
}
