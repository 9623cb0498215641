// SPDX-License-Identifier: LGPL-2.1-only
/*
 * bench: the cost of each way of mapping, measured on private simulated
 * hosts. Results are counts first (hypercalls, p2m entries, splits, TLB
 * flushes, IPIs, IOMMU writes, pages copied, ioreqs), then times: measured
 * (wall clock of this process, which includes the simulator's own work)
 * and modeled (the sim's cost table), always labelled, and ratios against
 * the baseline of the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/engine.h"
#include "core/view.h"
#include "util/opts.h"

struct bench {
	const struct xgm_bench_opts *o;
	char path[512];
	int seq;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* A fresh private host for one scenario. */
static int fresh_host(struct bench *b, const struct xgm_sim_init_opts *topo,
		      unsigned int flags, struct xgm_ctx **ctx)
{
	XGM_OPTS(xgm_sim_init_opts, def);
	struct xgm_sim_init_opts t = topo ? *topo : def;
	int ret;

	snprintf(b->path, sizeof(b->path), "%s/xgpumap-bench-%d-%d.json",
		 b->o->workdir, (int)getpid(), b->seq++);
	unlink(b->path);
	t.sim_state = b->path;
	t.force = true;
	ret = xgm_sim_init(&t);
	if (ret)
		return ret;
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
		 .access = XGM_ACCESS_WRITE, .sim_state = b->path, .flags = flags);
	return xgm_ctx_open(&o, ctx);
}

static void drop_host(struct bench *b, struct xgm_ctx *ctx)
{
	char lock[530];

	xgm_ctx_close(ctx);
	snprintf(lock, sizeof(lock), "%s.lock", b->path);
	unlink(lock);
	/* XGPUMAP_BENCH_KEEP=1 keeps the hosts, to look at afterwards. */
	if (!getenv("XGPUMAP_BENCH_KEEP"))
		unlink(b->path);
}

/* The "ops" entry of a blob for one operation. */
static json_t *op_of(json_t *blob, const char *op)
{
	return json_object_get(json_object_get(blob, "ops"), op);
}

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static json_t *ratio(json_t *x, json_t *base, const char *k)
{
	double b = num(base, k);

	return b > 0 ? json_real(num(x, k) / b) : json_null();
}

static int attach(struct xgm_ctx *ctx, const char *dom, uint64_t size,
		  const char *place, const char *strat, bool gfn_set, uint64_t gfn,
		  json_t **blob)
{
	XGM_OPTS(xgm_attach_opts, a, .size = size, .placement = place,
		 .strategy = strat, .gfn_set = gfn_set, .gfn = gfn);

	return xgm_blob_attach(ctx, dom, &a, blob);
}

/* mmio at a 2M-aligned gfn vs one frame off: Xen's mmio_order() rule. */
static int bench_alignment(struct bench *b, json_t *out)
{
	struct xgm_ctx *ctx;
	json_t *al = NULL, *un = NULL, *det = NULL, *res;
	uint64_t gfn;
	int ret;

	ret = fresh_host(b, NULL, 0, &ctx);
	if (ret)
		return ret;
	ret = attach(ctx, "vm1", b->o->size, "vram", "mmio", false, 0, &al);
	if (!ret) {
		gfn = (uint64_t)json_integer_value(json_object_get(al, "gfn"));
		ret = xgm_blob_detach(ctx, "vm1:1", &det);
		json_decref(det);
	}
	if (!ret)
		ret = attach(ctx, "vm1", b->o->size, "vram", "mmio", true, gfn + 1, &un);
	if (!ret) {
		json_t *a = op_of(al, "attach"), *u = op_of(un, "attach");

		res = json_pack("{s:I,s:{s:O,s:O,s:O},s:{s:O,s:O,s:O},s:{s:o,s:o,s:o,s:o}}",
			"size", (json_int_t)b->o->size,
			"aligned", "entries", json_object_get(al, "entries"),
			"attach", a, "gfn", json_object_get(al, "gfn"),
			"unaligned", "entries", json_object_get(un, "entries"),
			"attach", u, "gfn", json_object_get(un, "gfn"),
			"unaligned_vs_aligned",
			"hypercalls", ratio(u, a, "hypercalls"),
			"p2m_entries", ratio(u, a, "p2m_entries"),
			"modeled_us", ratio(u, a, "modeled_us"),
			"measured_us", ratio(u, a, "measured_us"));
		json_object_set_new(out, "alignment", res);
	}
	json_decref(al);
	json_decref(un);
	drop_host(b, ctx);
	return ret;
}

/* Every strategy on its natural backing: attach, a full guest read pass
 * (ioreqs for the trapping ones), a migration where allowed, detach. */
static int bench_strategies(struct bench *b, json_t *out)
{
	static const struct {
		const char *name, *place, *to;
	} rows[] = {
		{ "mmio", "vram", "vram" },
		{ "revoke-fault", "vram", "vram" },
		{ "ioreq", "vram", "vram" },
		{ "ram-mmio", "sys", "sys" },
		{ "transfer", "sys", "sys" },
		{ "grant", "sys", NULL },
	};
	json_t *table = json_array(), *base = NULL;
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(rows) / sizeof(*rows); i++) {
		struct xgm_ctx *ctx;
		struct xgm_counters c0, c1, d;
		json_t *blob = NULL, *read = NULL, *mig = NULL, *det = NULL, *row;
		uint64_t gfn;
		double t0;

		ret = fresh_host(b, NULL, 0, &ctx);
		if (ret)
			break;
		ret = attach(ctx, "vm1", b->o->size, rows[i].place, rows[i].name,
			     false, 0, &blob);
		if (ret)
			goto next;
		gfn = (uint64_t)json_integer_value(json_object_get(blob, "gfn"));
		hv_counters(ctx, -1, &c0);
		t0 = now_ms();
		ret = xgm_guest_read(ctx, "vm1", gfn, gfn + b->o->size / 4096 - 1, NULL, &read);
		hv_counters(ctx, -1, &c1);
		counters_sub(&d, &c1, &c0);
		if (ret)
			goto next;
		json_decref(read);
		read = counters_json(&d);
		json_object_set_new(read, "measured_us", json_real((now_ms() - t0) * 1e3));
		if (hv_modeled_ns(ctx, &d) >= 0)
			json_object_set_new(read, "modeled_us",
					    json_real(hv_modeled_ns(ctx, &d) / 1e3));
		if (rows[i].to) {
			XGM_OPTS(xgm_migrate_opts, mo, .to = rows[i].to);

			ret = xgm_blob_migrate(ctx, "vm1:1", &mo, &mig);
			if (ret)
				goto next;
		}
		ret = xgm_blob_detach(ctx, "vm1:1", &det);
		if (ret)
			goto next;
		row = json_pack("{s:s,s:s,s:O,s:o,s:O,s:O}", "strategy", rows[i].name,
				"placement", rows[i].place,
				"attach", op_of(blob, "attach"), "first_read", read,
				"migrate", mig ? json_object_get(mig, "last") : json_null(),
				"detach", json_object_get(det, "ops"));
		read = NULL;
		if (!base)
			base = row;
		json_object_set_new(row, "attach_vs_mmio", json_pack("{s:o,s:o}",
			"modeled_us", ratio(json_object_get(row, "attach"),
					    json_object_get(base, "attach"), "modeled_us"),
			"hypercalls", ratio(json_object_get(row, "attach"),
					    json_object_get(base, "attach"), "hypercalls")));
		json_array_append_new(table, row);
next:
		json_decref(blob);
		json_decref(read);
		json_decref(mig);
		json_decref(det);
		drop_host(b, ctx);
	}
	if (ret) {
		json_decref(table);
		return ret;
	}
	json_object_set_new(out, "strategies", json_pack("{s:I,s:s,s:o}",
		"size", (json_int_t)b->o->size, "baseline", "mmio", "rows", table));
	return 0;
}

/* Copy-then-switch within VRAM, repeated: the remap latency distribution. */
static int bench_remap(struct bench *b, json_t *out)
{
	struct xgm_ctx *ctx;
	json_t *blob = NULL, *mig = NULL;
	int ret;

	ret = fresh_host(b, NULL, 0, &ctx);
	if (ret)
		return ret;
	ret = attach(ctx, "vm1", b->o->size, "vram", "mmio", false, 0, &blob);
	if (!ret) {
		XGM_OPTS(xgm_migrate_opts, mo, .to = "vram", .repeat = b->o->repeat);

		ret = xgm_blob_migrate(ctx, "vm1:1", &mo, &mig);
	}
	if (!ret)
		json_object_set_new(out, "remap", json_pack("{s:I,s:i,s:O,s:O,s:O,s:s}",
			"size", (json_int_t)b->o->size, "migrations", (int)b->o->repeat,
			"blackout_us", json_object_get(mig, "blackout_us"),
			"total_us", json_object_get(mig, "total_us"),
			"last", json_object_get(mig, "last"),
			"time", "measured (includes the simulator's own work)"));
	json_decref(blob);
	json_decref(mig);
	drop_host(b, ctx);
	return ret;
}

/* A host with many guests and blobs: how long the state takes to save and
 * load (the sim's persistence must stay well under 50 ms at 64 x 64). */
static int bench_persist(struct bench *b, json_t *out)
{
	unsigned int ng = b->o->guests, nb = b->o->blobs;
	struct xgm_sim_guest *g = calloc(ng, sizeof(*g));
	XGM_OPTS(xgm_sim_init_opts, topo, .dom0_type = XGM_DOM_PVH,
		 .iommu = XGM_IOMMU_INTEL, .guests = g, .nr_guests = ng, .seed = 1);
	struct xgm_ctx *ctx;
	double t0, save_ms, load_ms;
	uint64_t size = 2ULL << 20;
	FILE *f;
	long bytes = -1;
	int ret;

	if (!g)
		return -ENOMEM;
	topo.vram_bytes = 1ULL << 34;
	while ((uint64_t)ng * nb * size > topo.vram_bytes)
		size >>= 1;
	for (unsigned int i = 0; i < ng; i++) {
		snprintf(g[i].name, sizeof(g[i].name), "g%u", i + 1);
		g[i].type = XGM_DOM_PVH;
		g[i].mem_bytes = 256ULL << 20;
		g[i].vcpus = 1;
	}
	/* Build with syncs off: this scenario measures persistence, not the
	 * journal's thousands of intermediate writes. */
	ret = fresh_host(b, &topo, XGM_CTX_NO_SYNC, &ctx);
	free(g);
	if (ret)
		return ret;
	for (unsigned int i = 0; !ret && i < ng; i++) {
		char dom[16];

		snprintf(dom, sizeof(dom), "g%u", i + 1);
		for (unsigned int k = 0; !ret && k < nb; k++) {
			json_t *blob = NULL;

			ret = attach(ctx, dom, size, "vram", "mmio", false, 0, &blob);
			json_decref(blob);
		}
	}
	t0 = now_ms();
	if (!ret)
		ret = xgm_ctx_commit(ctx);
	save_ms = now_ms() - t0;
	xgm_ctx_close(ctx);
	if (!ret) {
		XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
			 .access = XGM_ACCESS_READ, .sim_state = b->path);

		t0 = now_ms();
		ret = xgm_ctx_open(&o, &ctx);
		load_ms = now_ms() - t0;
	}
	if (!ret) {
		f = fopen(b->path, "r");
		if (f && !fseek(f, 0, SEEK_END))
			bytes = ftell(f);
		if (f)
			fclose(f);
		json_object_set_new(out, "persist", json_pack(
			"{s:i,s:i,s:I,s:f,s:f,s:I,s:s}", "guests", (int)ng,
			"blobs_per_guest", (int)nb, "blob_size", (json_int_t)size,
			"save_ms", save_ms, "load_ms", load_ms,
			"state_bytes", (json_int_t)bytes,
			"time", "measured (save: serialise, write, fsync, rename; load: "
				"read, parse, validate, rebuild)"));
		drop_host(b, ctx);
	} else {
		unlink(b->path);
	}
	return ret;
}

XGM_API int xgm_bench(const struct xgm_bench_opts *opts, json_t **out)
{
	static const struct {
		const char *name;
		int (*fn)(struct bench *b, json_t *out);
	} scenarios[] = {
		{ "alignment", bench_alignment },
		{ "strategies", bench_strategies },
		{ "remap", bench_remap },
		{ "persist", bench_persist },
	};
	struct xgm_bench_opts o = { .sz = sizeof(o) };
	struct bench b = { .o = &o };
	const char *tmp = getenv("TMPDIR");
	bool any = false;
	json_t *res;
	int ret = 0;

	if (!out)
		return xgm_fail(-EINVAL, "xgm_bench: out is NULL");
	ret = OPTS_CHECK("xgm_bench", opts, xgm_bench_opts);
	if (ret)
		return ret;
	/* 0 and NULL mean the default, as for a field past the caller's sz. */
	o.scenario = OPTS_GET(opts, scenario, NULL) ?: "all";
	o.size = OPTS_GET(opts, size, 0) ?: 64ULL << 20;
	o.repeat = OPTS_GET(opts, repeat, 0) ?: 20;
	o.guests = OPTS_GET(opts, guests, 0) ?: 64;
	o.blobs = OPTS_GET(opts, blobs, 0) ?: 64;
	o.workdir = OPTS_GET(opts, workdir, NULL) ?: tmp && *tmp ? tmp : "/tmp";
	if (o.size % 4096 || o.size > (4ULL << 30))
		return xgm_fail(-EINVAL, "bench: size must be a multiple of 4K, at most 4G");
	if (o.guests > XGM_SIM_MAX_GUESTS || o.blobs > 4096 || o.repeat > 100000)
		return xgm_fail(-EINVAL, "bench: at most %d guests, 4096 blobs each, "
				"100000 repeats", XGM_SIM_MAX_GUESTS);
	res = json_object();
	for (size_t i = 0; !ret && i < sizeof(scenarios) / sizeof(*scenarios); i++) {
		if (strcmp(o.scenario, "all") && strcmp(o.scenario, scenarios[i].name))
			continue;
		any = true;
		ret = scenarios[i].fn(&b, res);
	}
	if (!any)
		ret = xgm_fail(-EINVAL, "unknown scenario '%s' (alignment, strategies, "
			       "remap, persist, all)", o.scenario);
	if (ret) {
		json_decref(res);
		return xgm_err(ret);
	}
	json_object_set_new(res, "labels", json_pack("{s:s,s:s}",
		"measured", "wall-clock time of this process on this machine, "
			    "simulator work included",
		"modeled", "the simulated host's cost table: what the counted "
			   "hypercalls, entries, flushes and IPIs would cost on Xen"));
	*out = res;
	return 0;
}
