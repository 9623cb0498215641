// SPDX-License-Identifier: LGPL-2.1-only
/*
 * bench: what each operation costs, on private simulated hosts, side by
 * side with the naive way in the same run. Counts first (hypercalls, p2m
 * entries, splits, TLB flushes, IPIs, IOMMU writes, pages copied,
 * ioreqs), then times: measured (wall clock in this process) and modelled
 * (the sim's cost table), always labelled. A client of the public API
 * only: what it reads is what any tool linking the library could read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "util/log.h"
#include "util/opts.h"

double bench_now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int open_host(struct bench *b, unsigned int flags, struct xgm_ctx **ctx)
{
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
		 .access = XGM_ACCESS_WRITE, .sim_state = b->path,
		 .flags = flags | XGM_CTX_NO_CREATE);

	return xgm_ctx_open(&o, ctx);
}

int bench_host(struct bench *b, unsigned int ng, unsigned int flags,
	       struct xgm_ctx **ctx)
{
	struct xgm_sim_guest *g = NULL;
	int ret;

	if (ng) {
		g = calloc(ng, sizeof(*g));
		if (!g)
			return -ENOMEM;
	}
	for (unsigned int i = 0; i < ng; i++) {
		snprintf(g[i].name, sizeof(g[i].name), "g%u", i + 1);
		g[i].type = XGM_DOM_PVH;
		g[i].mem_bytes = BENCH_GUEST_MEM;
		g[i].vcpus = 1;
	}
	snprintf(b->path, sizeof(b->path), "%s/xgpumap-bench-%d-%u.json",
		 b->o.workdir, (int)getpid(), b->seq++);
	unlink(b->path);
	/* The scenarios compare every strategy, the extensions' too. */
	XGM_OPTS(xgm_sim_init_opts, t, .sim_state = b->path, .force = true,
		 .dom0_type = b->dom0, .iommu = b->iommu, .seed = b->o.seed,
		 .extensions = XGM_EXT_ALL, .guests = g, .nr_guests = ng);
	ret = xgm_sim_init(&t);
	free(g);
	return ret ? ret : open_host(b, flags, ctx);
}

int bench_reopen(struct bench *b, struct xgm_ctx **ctx, unsigned int flags)
{
	xgm_ctx_close(*ctx);
	*ctx = NULL;
	return open_host(b, flags, ctx);
}

void bench_drop(struct bench *b, struct xgm_ctx *ctx)
{
	char lock[530];

	xgm_ctx_close(ctx);
	snprintf(lock, sizeof(lock), "%s.lock", b->path);
	unlink(lock);
	/* XGPUMAP_BENCH_KEEP=1 keeps the hosts, to look at afterwards. */
	if (!getenv("XGPUMAP_BENCH_KEEP"))
		unlink(b->path);
}

json_t *bench_us(double us)
{
	return json_real(round(us * 10) / 10);
}

json_t *bench_ratio(double ours, double naive)
{
	return naive > 0 ? json_real(round(ours / naive * 1000) / 1000) :
	       json_null();
}

double bench_num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* The counters bench shows of every phase, in this order. */
static const char *const counter_keys[] = {
	"hypercalls", "p2m_entries", "splits", "tlb_flushes", "ipis",
	"iommu_entries", "pages_copied", "ioreqs",
};

int bench_counters(struct xgm_ctx *ctx, json_t **out)
{
	json_t *doc, *tot, *res;
	const char *k;
	json_t *v;
	int ret = xgm_sim_describe(ctx, &doc);

	if (ret)
		return ret;
	tot = json_object_get(json_object_get(doc, "counters"), "total");
	res = json_object();
	json_object_foreach(tot, k, v) {
		if (!strcmp(k, "modeled_ns"))
			json_object_set_new(res, "modeled_us",
					    json_real(json_number_value(v) / 1e3));
		else if (json_is_integer(v))
			json_object_set(res, k, v);
	}
	json_decref(doc);
	*out = res;
	return 0;
}

json_t *bench_delta(json_t *after, json_t *before)
{
	json_t *res = json_object(), *v;
	const char *k;

	json_object_foreach(after, k, v) {
		double d = json_number_value(v) -
			   json_number_value(json_object_get(before, k));

		json_object_set_new(res, k, json_is_integer(v) ?
				    json_integer((json_int_t)d) : json_real(d));
	}
	return res;
}

json_t *bench_phase(json_t *ops, double measured_us)
{
	json_t *res = json_object();

	for (size_t i = 0; i < sizeof(counter_keys) / sizeof(*counter_keys); i++)
		json_object_set_new(res, counter_keys[i], json_integer(
			(json_int_t)bench_num(ops, counter_keys[i])));
	json_object_set_new(res, "measured_us", bench_us(measured_us));
	json_object_set_new(res, "modeled_us",
			    bench_us(bench_num(ops, "modeled_us")));
	return res;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static double pct(const double *v, size_t n, double p)
{
	size_t r = (size_t)ceil(p / 100 * (double)n);

	return v[r ? r - 1 : 0];
}

json_t *bench_stats(double *v, size_t n)
{
	if (!n)
		return json_null();
	qsort(v, n, sizeof(*v), cmp_double);
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "min", bench_us(v[0]),
			 "p50", bench_us(pct(v, n, 50)),
			 "p90", bench_us(pct(v, n, 90)),
			 "p99", bench_us(pct(v, n, 99)),
			 "max", bench_us(v[n - 1]));
}

json_t *bench_histogram(const double *v, size_t n, unsigned int bins)
{
	double lo = INFINITY, hi = -INFINITY, w;
	json_t *res = json_array();
	size_t *count;

	for (size_t i = 0; i < n; i++) {
		lo = fmin(lo, v[i]);
		hi = fmax(hi, v[i]);
	}
	if (!n || !bins)
		return res;
	count = calloc(bins, sizeof(*count));
	if (!count)
		return res;
	w = (hi - lo) / bins;
	for (size_t i = 0; i < n; i++) {
		size_t k = w > 0 ? (size_t)((v[i] - lo) / w) : 0;

		count[k < bins ? k : bins - 1]++;
	}
	for (unsigned int k = 0; k < bins && (w > 0 || !k); k++)
		json_array_append_new(res, json_pack("{s:o,s:o,s:I}",
			"from_us", bench_us(lo + w * k),
			"to_us", bench_us(w > 0 ? lo + w * (k + 1) : hi),
			"count", (json_int_t)count[k]));
	free(count);
	return res;
}

int bench_attach(struct xgm_ctx *ctx, const char *dom, uint64_t size,
		 const char *place, const char *strat, bool gfn_set,
		 uint64_t gfn, json_t **blob)
{
	XGM_OPTS(xgm_attach_opts, a, .size = size, .placement = place,
		 .strategy = strat, .gfn_set = gfn_set, .gfn = gfn);

	return xgm_blob_attach(ctx, dom, &a, blob);
}

const char *bench_blob_id(json_t *blob)
{
	return json_string_value(json_object_get(blob, "id"));
}

/* The price of one copied page in the sim's cost model, which bench adds
 * to the naive remap's blackout (it copies while the guest is unmapped). */
static int read_copy_cost(struct bench *b)
{
	struct xgm_ctx *ctx = NULL;
	json_t *doc, *u;
	size_t i;
	int ret = bench_host(b, 0, XGM_CTX_NO_SYNC, &ctx);

	if (!ret)
		ret = xgm_sim_describe(ctx, &doc);
	if (!ret) {
		json_array_foreach(json_object_get(json_object_get(doc, "cost_model"),
						   "per_unit"), i, u)
			if (!strcmp(json_string_value(json_object_get(u, "counter")) ?: "",
				    "pages_copied"))
				b->copy_ns = bench_num(u, "ns");
		json_decref(doc);
	}
	if (ctx)
		bench_drop(b, ctx);
	return ret;
}

static const struct {
	const char *name;
	int (*fn)(struct bench *b, json_t *out);
} scenarios[] = {
	{ "attach", bench_scn_attach },
	{ "migrate", bench_scn_migrate },
	{ "strategies", bench_scn_strategies },
	{ "scale", bench_scn_scale },
	{ "persist", bench_scn_persist },
};

/* Defaults for what the caller left 0 or NULL, and the limits. */
static int resolve(struct bench *b, const struct xgm_bench_opts *opts)
{
	const char *tmp = getenv("TMPDIR");
	struct xgm_bench_opts *o = &b->o;
	const char *s;

	o->sz = sizeof(*o);
	o->scenario = OPTS_GET(opts, scenario, NULL) ?: "all";
	o->size = OPTS_GET(opts, size, 0) ?: 64ULL << 20;
	o->repeat = OPTS_GET(opts, repeat, 0) ?: 20;
	o->guests = OPTS_GET(opts, guests, 0) ?: 64;
	o->blobs = OPTS_GET(opts, blobs, 0) ?: 64;
	o->workdir = OPTS_GET(opts, workdir, NULL) ?: tmp && *tmp ? tmp : "/tmp";
	o->seed = OPTS_GET(opts, seed, 0) ?: 1;
	o->samples = OPTS_GET(opts, samples, false);
	b->dom0 = XGM_DOM_PVH;
	b->iommu = XGM_IOMMU_INTEL;
	s = OPTS_GET(opts, dom0, NULL);
	if (s && (xgm_dom_type_parse(s, &b->dom0) || b->dom0 == XGM_DOM_HVM))
		return xgm_fail(-EINVAL, "xgm_bench: dom0 must be pv or pvh, not '%s'", s);
	s = OPTS_GET(opts, iommu, NULL);
	if (s && xgm_iommu_vendor_parse(s, &b->iommu))
		return xgm_fail(-EINVAL, "xgm_bench: iommu must be intel or amd, not '%s'", s);
	if (o->size % 4096 || o->size > (16ULL << 30))
		return xgm_fail(-EINVAL, "xgm_bench: size must be a multiple of "
				"4K, at most 16G");
	if (o->guests > 64 || o->blobs > 64 || o->repeat > 100000)
		return xgm_fail(-EINVAL, "xgm_bench: at most 64 guests, 64 blobs "
				"each, 100000 repeats");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(*scenarios); i++)
		if (!strcmp(o->scenario, "all") ||
		    !strcmp(o->scenario, scenarios[i].name))
			return 0;
	return xgm_fail(-EINVAL, "xgm_bench: unknown scenario '%s' (attach, "
			"migrate, strategies, scale, persist, all)", o->scenario);
}

XGM_API int xgm_bench(const struct xgm_bench_opts *opts, json_t **out)
{
	struct bench b = { 0 };
	json_t *res;
	int ret;

	if (!out)
		return xgm_err(xgm_fail(-EINVAL, "xgm_bench: out is NULL"));
	ret = OPTS_CHECK("xgm_bench", opts, xgm_bench_opts);
	if (!ret)
		ret = resolve(&b, opts);
	if (!ret)
		ret = read_copy_cost(&b);
	if (ret)
		return xgm_err(ret);
	res = json_pack("{s:{s:s,s:s,s:I}}", "host",
			"dom0", xgm_dom_type_name(b.dom0),
			"iommu", xgm_iommu_vendor_name(b.iommu),
			"seed", (json_int_t)b.o.seed);
	for (size_t i = 0; !ret && i < sizeof(scenarios) / sizeof(*scenarios); i++) {
		char what[64];

		if (strcmp(b.o.scenario, "all") &&
		    strcmp(b.o.scenario, scenarios[i].name))
			continue;
		snprintf(what, sizeof(what), "bench %s", scenarios[i].name);
		xgm_progress(what, 0, 0);
		ret = scenarios[i].fn(&b, res);
	}
	if (ret) {
		json_decref(res);
		return xgm_err(ret);
	}
	json_object_set_new(res, "labels", json_pack("{s:s,s:s,s:s}",
		"measured", "wall-clock time in this process on this machine; "
			    "the simulator's persistence excluded (private hosts "
			    "saved only where a field says so)",
		"modeled", "modelled: the simulated host's cost table, what the "
			   "counted hypercalls, entries, flushes and IPIs would "
			   "cost on Xen",
		"naive", "the way without xgpumap's planner: gfn off 2M "
			 "alignment (order-0 entries), unmap-everything-then-map "
			 "remaps, a whole-state rewrite per operation"));
	*out = res;
	return 0;
}
