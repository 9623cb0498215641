/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * libxgpumap's simulated Xen host, its benchmarks, and the parsers every
 * front end shares. Not for a VMM: see <xgpumap.h>.
 */
#ifndef XGPUMAP_SIM_H
#define XGPUMAP_SIM_H

#include "xgpumap-doc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- benchmarks ---------------------------------------------------------- */

struct xgm_bench_opts {
	size_t sz;
	const char *scenario;  /* alignment, strategies, remap, persist, all */
	uint64_t size;         /* blob size (default 64M) */
	unsigned int repeat;   /* remap: migrations (default 20) */
	unsigned int guests;   /* persist: guests (default 64) */
	unsigned int blobs;    /* persist: blobs per guest (default 64) */
	const char *workdir;   /* where the private sim states go (default $TMPDIR) */
};

/* Runs scenarios on private simulated hosts (never the user's state) and
 * reports counts (hypercalls, entries, splits, flushes, IPIs...), measured
 * times and modeled times, each labelled, with ratios against the baseline
 * of the same run. */
XGM_API int xgm_bench(const struct xgm_bench_opts *opts, json_t **out);

/* ---- the simulated host ------------------------------------------------ */

enum xgm_iommu_vendor {
	XGM_IOMMU_INTEL, /* VT-d: shares the EPT tables */
	XGM_IOMMU_AMD,   /* AMD-Vi: separate tables, mirrored */
};

XGM_API const char *xgm_iommu_vendor_name(enum xgm_iommu_vendor v);
XGM_API int xgm_iommu_vendor_parse(const char *s, enum xgm_iommu_vendor *out);

struct xgm_sim_guest {
	char name[XGM_DOMAIN_NAME_MAX];
	enum xgm_dom_type type;
	uint64_t mem_bytes;
	uint32_t vcpus;
};

/* Parses "NAME:TYPE:MEM[:VCPUS]" (vcpus default 1). Names are 1-63 chars of
 * [A-Za-z0-9_.-] and may not be all digits (they would read as domids). */
XGM_API int xgm_sim_guest_parse(const char *spec, struct xgm_sim_guest *out);

#define XGM_SIM_MAX_GUESTS 256

struct xgm_sim_init_opts {
	size_t sz;
	const char *sim_state;     /* as in struct xgm_ctx_opts */
	enum xgm_dom_type dom0_type; /* XGM_DOM_PV or XGM_DOM_PVH */
	enum xgm_iommu_vendor iommu;
	uint64_t vram_bytes;       /* 0: default 16 GiB */
	uint64_t dom0_mem_bytes;   /* 0: default 4 GiB */
	const struct xgm_sim_guest *guests; /* NULL: the default guests */
	size_t nr_guests;
	uint64_t seed;
	bool force;                /* replace an existing state */
};

/* Writes a new simulated host. -EEXIST when a state exists and !force;
 * -EINVAL for a bad topology (duplicate names, sizes...). With opts NULL
 * the default topology: PVH dom0 4 GiB, vm1 pvh 2G/2, vm2 hvm 4G/4,
 * vm3 pv 1G/1, card0 with 16 GiB VRAM, Intel IOMMU. */
XGM_API int xgm_sim_init(const struct xgm_sim_init_opts *opts);
/* Replaces whatever is at the state path (even a corrupt file) with the
 * default topology. */
XGM_API int xgm_sim_reset(const char *sim_state);
/* Topology and counters of an open sim context, as a new JSON object. */
XGM_API int xgm_sim_describe(struct xgm_ctx *ctx, json_t **out);
/* The state path that would be used for sim_state (NULL = default); a
 * malloc'd string. */
XGM_API char *xgm_sim_state_path(const char *sim_state);

/* ---- parsing helpers shared by every front end ------------------------ */

/* "4096", "64K", "16M", "1G", "2T" (binary units). -EINVAL when malformed,
 * -ERANGE on overflow. */
XGM_API int xgm_parse_size(const char *s, uint64_t *out);
/* Decimal or 0x-prefixed frame number. */
XGM_API int xgm_parse_frame(const char *s, uint64_t *out);
/* "FIRST" or "FIRST-LAST" (inclusive). */
XGM_API int xgm_parse_frame_range(const char *s, uint64_t *first,
				  uint64_t *last);
#ifdef __cplusplus
}
#endif

#endif /* XGPUMAP_SIM_H */
