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
	/* attach, migrate, strategies, scale, persist or all (default) */
	const char *scenario;
	/* attach: the largest size (from 2M, x4 each step; default 64M);
	 * migrate, strategies: the blob size (default 64M) */
	uint64_t size;
	unsigned int repeat;   /* migrate: moves (default 20) */
	unsigned int guests;   /* scale, persist: most guests (default 64) */
	unsigned int blobs;    /* scale, persist: most blobs each (default 64) */
	const char *workdir;   /* where the private sim states go (default $TMPDIR) */
	/* The hosts: dom0 "pv" or "pvh", IOMMU "intel" or "amd"; NULL is
	 * what xgm_sim_init() makes without options (pvh, intel). */
	const char *dom0;
	const char *iommu;
	uint64_t seed;         /* the hosts' seed (0: 1, sim init's default) */
	bool samples;          /* migrate: every move in "samples" too */
};

/* Runs scenarios on private simulated hosts (never the user's state), each
 * with a naive baseline in the same run, and reports counts (hypercalls,
 * entries, splits, flushes, IPIs...), measured times (in this process,
 * the simulator's persistence excluded or shown as its own field) and
 * modelled times (the sim's cost table), each labelled, with the ratio
 * ours/naive. Uses only the public API. */
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
	bool passthrough; /* created with an IOMMU context (pvh, hvm only) */
};

/* Parses "NAME:TYPE:MEM[:VCPUS][:passthrough]" (vcpus default 1, no
 * passthrough: no IOMMU context). Names are 1-63 chars of [A-Za-z0-9_.-]
 * and may not be all digits (they would read as domids). */
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
	unsigned int extensions;   /* XGM_EXT_*: 0 is stock Xen (the default) */
	const char *xen_version;   /* "4.17.0".."4.17.7" or "master"; NULL:
				    * 4.17.7, what the test rig boots */
	unsigned int gnttab_max_frames; /* Xen's boot option: frames of dom0's
					 * grant table, 512 entries each; 0:
					 * Xen's default, 64 */
};

/* Hypervisor extensions NOT IN STOCK XEN (the seed thread's proposals): a
 * simulated host has them only when created with them. */
#define XGM_EXT_RAM_MMIO (1u << 0) /* dom0 RAM mapped as kind-of-MMIO */
#define XGM_EXT_TRANSFER (1u << 1) /* page ownership moves to the guest */
#define XGM_EXT_ALL      (XGM_EXT_RAM_MMIO | XGM_EXT_TRANSFER)

/* Writes a new simulated host. -EEXIST when a state exists and !force;
 * -EINVAL for a bad topology (duplicate names, sizes...). With opts NULL
 * the default topology: PVH dom0 4 GiB, vm1 pvh 2G/2, vm2 hvm 4G/4,
 * vm3 pv 1G/1 (none with passthrough), card0 with 16 GiB VRAM, Intel
 * IOMMU, stock Xen (no extensions). */
XGM_API int xgm_sim_init(const struct xgm_sim_init_opts *opts);
/* Replaces whatever is at the state path (even a corrupt file) with the
 * default topology. */
XGM_API int xgm_sim_reset(const char *sim_state);
/* Makes the state at sim_state (an SQLite database since state version 4)
 * of json_path, the JSON state of an earlier xgpumap (version 3), which is
 * read and checked whole and left as it is. Refuses (-EEXIST) to replace a
 * state that exists unless force. */
XGM_API int xgm_sim_import(const char *sim_state, const char *json_path,
			   bool force);
/* The simulated host's stand-in for a VMM's DRM device file, which it has
 * not (no /dev/dri): a sealed memfd in which buf is GEM handle *handle,
 * to pass with that handle to xgm_buffer_import_gem() as a VMM passes its
 * DRM fd. The caller closes it. A local context only: there is no request
 * for it (a test VMM opens the daemon's state file itself). */
XGM_API int xgm_sim_gem_export(struct xgm_ctx *ctx,
			       const struct xgm_buffer *buf, uint32_t *handle);
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
