/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * bench's own helpers. bench is a client of the public API (xgpumap.h,
 * xgpumap-doc.h, xgpumap-sim.h) like any tool: it sees the engine and the
 * simulated host only through documents and typed accessors, so a change
 * inside either cannot break it silently.
 */
#ifndef XGM_BENCH_H
#define XGM_BENCH_H

#include "xgpumap-sim.h"

/* Xen's default grant table (gnttab_max_frames 64): 32,768 v1 entries per
 * domain, of which Linux keeps 8, so a grant blob of 128 MiB or more does
 * not fit a stock host (xen-facts.md section 6); the sim refuses it. */
#define BENCH_GRANT_MAX ((32768ULL - 8) * 4096)

struct bench {
	struct xgm_bench_opts o;       /* defaults resolved */
	enum xgm_dom_type dom0;
	enum xgm_iommu_vendor iommu;
	char path[512];
	unsigned int seq;
	double copy_ns;                /* the cost model's price of a page copy */
};

/* One guest of a bench host. */
#define BENCH_GUEST_MEM (256ULL << 20)

double bench_now_us(void);
/* A fresh private host: the default guests when ng is 0, else g1..gNG. */
int bench_host(struct bench *b, unsigned int ng, unsigned int flags,
	       struct xgm_ctx **ctx);
void bench_drop(struct bench *b, struct xgm_ctx *ctx);
/* Reopens the host's state with other flags (the old context closed). */
int bench_reopen(struct bench *b, struct xgm_ctx **ctx, unsigned int flags);

/* Rounded numbers, so that -j carries no float noise. */
json_t *bench_us(double us);
json_t *bench_ratio(double ours, double naive);
double bench_num(json_t *o, const char *k);

/* The host's counters summed over every domain (a new object, modeled_us
 * instead of the sim's modeled_ns), and after - before of two of them. */
int bench_counters(struct xgm_ctx *ctx, json_t **out);
json_t *bench_delta(json_t *after, json_t *before);
/* The counters bench reports of one phase (a new object). */
json_t *bench_phase(json_t *ops, double measured_us);

/* min, p50, p90, p99, max of n samples (sorted in place). */
json_t *bench_stats(double *v, size_t n);
/* An equal-width histogram of n samples: [{from_us, to_us, count}]. */
json_t *bench_histogram(const double *v, size_t n, unsigned int bins);

int bench_attach(struct xgm_ctx *ctx, const char *dom, uint64_t size,
		 const char *place, const char *strat, bool gfn_set,
		 uint64_t gfn, json_t **blob);
/* "vm1:1" of a blob document. */
const char *bench_blob_id(json_t *blob);

int bench_scn_attach(struct bench *b, json_t *out);
int bench_scn_strategies(struct bench *b, json_t *out);
int bench_scn_migrate(struct bench *b, json_t *out);
int bench_scn_scale(struct bench *b, json_t *out);
int bench_scn_persist(struct bench *b, json_t *out);

#endif /* XGM_BENCH_H */
