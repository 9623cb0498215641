/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * libxgpumap — map dom0 GPU buffers ("blob resources") into Xen guests.
 *
 * API discipline (see man 3 libxgpumap):
 *  - handles are opaque; create them with an options struct whose first
 *    member is `size_t sz`, initialised with XGM_OPTS();
 *  - every int-returning function returns 0 (or a count) on success and a
 *    negative errno on failure, and also sets errno;
 *  - functions returning pointers return NULL and set errno on failure;
 *  - the library never prints: install a callback with xgm_set_print().
 */
#ifndef XGPUMAP_H
#define XGPUMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XGM_API __attribute__((visibility("default")))

#define XGM_VERSION_MAJOR 0
#define XGM_VERSION_MINOR 1
#define XGM_VERSION_PATCH 0

/* Declares NAME of type struct TYPE with sz set and the given fields. */
#define XGM_OPTS(TYPE, NAME, ...) \
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

/* Feature macros: tested with #ifdef by callers that want to stay portable. */
#define XGM_HAVE_DOMAIN_INFO 1

/* ---- logging ---------------------------------------------------------- */

enum xgm_log_level {
	XGM_LOG_WARN,
	XGM_LOG_INFO,
	XGM_LOG_DEBUG,
};

typedef void (*xgm_print_fn)(enum xgm_log_level level, const char *msg,
			     void *user);

/* Installs the process-wide log callback; returns the previous one. NULL
 * silences the library (the default). */
XGM_API xgm_print_fn xgm_set_print(xgm_print_fn fn, void *user);

#define XGM_HAVE_PROGRESS 1
/* Progress of long work (bench scenarios, guest reads, repeated
 * migrations): done of total units of what (total 0: unknown). Called
 * often; the callback decides how often to show it. */
typedef void (*xgm_progress_fn)(const char *what, uint64_t done,
				uint64_t total, void *user);
/* Installs the process-wide progress callback; returns the previous one.
 * NULL (the default) reports nothing. */
XGM_API xgm_progress_fn xgm_set_progress(xgm_progress_fn fn, void *user);

/* The detailed message of the last failure in this thread ("" if none).
 * Errors carry a negative errno; this says which file, domain or rule. */
XGM_API const char *xgm_last_error(void);
XGM_API void xgm_clear_error(void);

/* ---- version and features --------------------------------------------- */

XGM_API const char *xgm_version(void);

/* Backends compiled into this build of the library. */
#define XGM_FEATURE_BACKEND_SIM (1u << 0)
#define XGM_FEATURE_BACKEND_XEN (1u << 1)
#define XGM_FEATURE_BACKEND_DRM (1u << 2)

XGM_API unsigned int xgm_features(void);

/* ---- context ---------------------------------------------------------- */

enum xgm_backend_kind {
	XGM_BACKEND_AUTO = 0, /* xen in a control domain, otherwise sim */
	XGM_BACKEND_XEN,
	XGM_BACKEND_SIM,
	XGM_BACKEND_DUMP, /* read-only, from a dump (opts.input) */
};

/* Parses "auto", "xen" or "sim"; -EINVAL otherwise. */
XGM_API int xgm_backend_parse(const char *name, enum xgm_backend_kind *out);
XGM_API const char *xgm_backend_name(enum xgm_backend_kind kind);

/* What the caller intends to do with the context. A read-only context
 * takes a shared lock on the state and never writes it. */
enum xgm_access {
	XGM_ACCESS_READ = 0,
	XGM_ACCESS_WRITE,
};

/* Flags of struct xgm_ctx_opts. */
#define XGM_CTX_NO_CREATE (1u << 0) /* sim: fail with ENOENT, never create */
/* sim: skip the journal's intermediate syncs (only commit writes). For
 * benchmarks that build large hosts: a crash loses everything since open. */
#define XGM_CTX_NO_SYNC   (1u << 1)

struct xgm_ctx_opts {
	size_t sz;
	enum xgm_backend_kind backend;
	enum xgm_access access;
	/* sim: state file; NULL means $XGPUMAP_SIM_STATE, then
	 * $XDG_STATE_HOME/xgpumap/sim.json, then ~/.local/state/xgpumap/sim.json */
	const char *sim_state;
	unsigned int flags;
	/* Read a `dump` document instead of a live host (read-only). */
	const char *input;
};

struct xgm_ctx;

XGM_API int xgm_ctx_open(const struct xgm_ctx_opts *opts, struct xgm_ctx **out);
/* Makes the changes done through a writable context durable (the sim
 * replaces its state file atomically). Without it, close discards them. */
XGM_API int xgm_ctx_commit(struct xgm_ctx *ctx);
XGM_API void xgm_ctx_close(struct xgm_ctx *ctx);

XGM_API enum xgm_backend_kind xgm_ctx_backend(const struct xgm_ctx *ctx);
/* True when opening this context created a new simulated host. */
XGM_API bool xgm_ctx_created(const struct xgm_ctx *ctx);
/* Where the sim state lives; NULL for other backends. */
XGM_API const char *xgm_ctx_sim_state_path(const struct xgm_ctx *ctx);

/* ---- domains ---------------------------------------------------------- */

#define XGM_DOMAIN_NAME_MAX 64

enum xgm_dom_type {
	XGM_DOM_PV,
	XGM_DOM_PVH,
	XGM_DOM_HVM,
};

enum xgm_dom_state {
	XGM_DOM_RUNNING,
	XGM_DOM_PAUSED,
	XGM_DOM_CRASHED,
	XGM_DOM_SHUTDOWN,
};

/* How the domain's DMA view relates to its p2m. */
enum xgm_iommu_mode {
	XGM_IOMMU_NONE,     /* no IOMMU context */
	XGM_IOMMU_SHARED,   /* IOMMU walks the p2m (VT-d sharing EPT) */
	XGM_IOMMU_SEPARATE, /* separate tables kept in sync (AMD-Vi) */
	XGM_IOMMU_IDENTITY, /* PV dom0: identity map of its RAM */
};

struct xgm_domain_info {
	uint32_t domid;
	char name[XGM_DOMAIN_NAME_MAX];
	enum xgm_dom_type type;
	enum xgm_dom_state state;
	bool is_dom0;
	bool translated; /* has a p2m (pvh, hvm, PVH dom0) */
	uint64_t mem_bytes;
	uint64_t max_mem_bytes;
	uint32_t vcpus;
	uint64_t max_gpfn;
	enum xgm_iommu_mode iommu;
};

XGM_API const char *xgm_dom_type_name(enum xgm_dom_type t);
XGM_API int xgm_dom_type_parse(const char *s, enum xgm_dom_type *out);
XGM_API const char *xgm_dom_state_name(enum xgm_dom_state s);
XGM_API const char *xgm_iommu_mode_name(enum xgm_iommu_mode m);

/* Fills *out with a malloc'd array (free with free()). */
XGM_API int xgm_domain_list(struct xgm_ctx *ctx, struct xgm_domain_info **out,
			    size_t *count);
/* DOM is a name or a decimal domid. -ENOENT when there is no such domain. */
XGM_API int xgm_domain_lookup(struct xgm_ctx *ctx, const char *dom,
			      struct xgm_domain_info *out);

/* ---- blobs: GPU buffers mapped into guests ----------------------------- */

struct xgm_attach_opts {
	size_t sz;
	uint64_t size;          /* bytes, a multiple of 4096 */
	const char *placement;  /* "vram" (default) or "sys" */
	const char *strategy;   /* mmio, grant, ioreq, ram-mmio, transfer,
				 * revoke-fault or auto (default) */
	const char *cache;      /* wc (default), uc, wb: virtio-gpu map_info */
	bool gfn_set;
	uint64_t gfn;           /* force the place (a frame in the window) */
	const char *label;
	const char *card;       /* default card0 */
};

/* Allocates a buffer and maps it into DOM's blob window. *out describes the
 * new blob (id, gfn range, strategy, entries by order, hypercalls). */
XGM_API int xgm_blob_attach(struct xgm_ctx *ctx, const char *dom,
			    const struct xgm_attach_opts *opts, json_t **out);
/* Unmaps and frees one blob ("vm1:3"), or every blob of a domain. */
XGM_API int xgm_blob_detach(struct xgm_ctx *ctx, const char *blob, json_t **out);
XGM_API int xgm_blob_detach_all(struct xgm_ctx *ctx, const char *dom,
				json_t **out);
/* Moves a blob's buffer copy-then-switch to "vram" or "sys" (its current
 * placement: a new place in the same memory), repeat times. *out has the
 * blob, the blackout and total times (measured; min/p50/p90/p99/max when
 * repeat > 1) and the counters of the last move. -EBUSY when the strategy
 * pins the buffer, -EPERM when a strategy the user fixed cannot map it. */
XGM_API int xgm_blob_migrate(struct xgm_ctx *ctx, const char *blob,
			     const char *to, unsigned int repeat, json_t **out);

struct xgm_migrate_opts {
	size_t sz;
	const char *to;        /* "vram" or "sys" (required) */
	unsigned int repeat;   /* 1..100000 */
	/* Pause the guest around each switch (XEN_DOMCTL_pausedomain), so no
	 * vCPU runs while its range is unmapped; *out then has "paused":
	 * true. -EOPNOTSUPP where the backend cannot pause a domain. */
	bool pause;
};

/* xgm_blob_migrate() with options. */
XGM_API int xgm_blob_migrate_opts(struct xgm_ctx *ctx, const char *blob,
				  const struct xgm_migrate_opts *opts,
				  json_t **out);
/* Writes a verification pattern through dom0's view of the buffer: one tag
 * per page (blob, fill, page index). verify reads it back: *out says
 * "ok" or "mismatch" with the first bad page. */
XGM_API int xgm_blob_fill(struct xgm_ctx *ctx, const char *blob, uint64_t seed,
			  json_t **out);
XGM_API int xgm_blob_verify(struct xgm_ctx *ctx, const char *blob, json_t **out);
/* What DOM reads through its p2m at gfns [first, last], as runs (a blob
 * page's tag, all-ones for unmapped MMIO, its own RAM, or a fault). With
 * expect = a blob id, also whether the guest sees exactly that blob's last
 * fill ("result": "ok" | "mismatch"). Needs a backend that can act as the
 * guest (the sim). */
XGM_API int xgm_guest_read(struct xgm_ctx *ctx, const char *dom, uint64_t first,
			   uint64_t last, const char *expect, json_t **out);
/* Blobs of one domain (dom NULL: all), as an array. */
XGM_API int xgm_blob_list(struct xgm_ctx *ctx, const char *dom, json_t **out);
XGM_API int xgm_blob_show(struct xgm_ctx *ctx, const char *blob, json_t **out);
/* The blob window of a domain: {"gfn":..,"nr":..} or NULL if none yet. */
XGM_API int xgm_domain_window(struct xgm_ctx *ctx, uint32_t domid, json_t **out);

/* The live p2m of DOM over [first, last] as coalesced runs. */
XGM_API int xgm_p2m_runs(struct xgm_ctx *ctx, const char *dom, uint64_t first,
			 uint64_t last, json_t **out);

/* The DMA map of DOM over dfns [first, last]: runs from separate IOMMU
 * tables, or a note that the IOMMU shares the p2m (Intel) or that the
 * domain has no IOMMU context. */
XGM_API int xgm_iommu_runs(struct xgm_ctx *ctx, const char *dom, uint64_t first,
			   uint64_t last, json_t **out);

/* Every invariant of the mapping state (of one domain when dom is not
 * NULL); *out is the list of findings (severity, check, message, objects).
 * Returns 0 even when it finds errors: look at the findings. */
XGM_API int xgm_check(struct xgm_ctx *ctx, const char *dom, json_t **out);
/* Finishes or undoes what interrupted commands left (from the journal);
 * *out lists what was done. */
XGM_API int xgm_recover(struct xgm_ctx *ctx, json_t **out);
/* The whole state as one document (schema "xgpumap-dump"): host, domains,
 * windows, blobs, p2m runs in blob windows, IOMMU, counters, journal. Open
 * a context with opts.input = that file to check it offline. */
XGM_API int xgm_dump(struct xgm_ctx *ctx, json_t **out);

/* ---- GPUs ------------------------------------------------------------- */

/* Every GPU card as an array of objects: card, driver, pci, bars
 * [{index, bus_addr, size, prefetchable, vram}], vram_bytes,
 * vram_free_bytes (null where the driver does not say), capabilities
 * {place_vram, locate_frames, pin, note} (what the driver lets xgpumap
 * do), and the buffers xgpumap holds on it [{id, size, placement, mfn,
 * extents, pinned, blob}] ("blob" is the blob id mapping it, or null). */
XGM_API int xgm_gpu_list(struct xgm_ctx *ctx, json_t **out);
/* One card of xgm_gpu_list() by name ("card0"); -ENODEV when there is no
 * such card (the message names the cards there are). */
XGM_API int xgm_gpu_show(struct xgm_ctx *ctx, const char *card, json_t **out);

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

#endif /* XGPUMAP_H */
