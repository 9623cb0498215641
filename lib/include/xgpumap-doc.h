/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * libxgpumap's documents for admins and support: every call here answers
 * with a JSON document (jansson's json_t; the caller owns it), the same one
 * `xgpumap -j` prints. Link with jansson too: pkg-config jansson.
 */
#ifndef XGPUMAP_DOC_H
#define XGPUMAP_DOC_H

#include <jansson.h>

#include "xgpumap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- blobs, as documents ---------------------------------------------- */

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
	/* Adopt existing buffer `buffer` (xgm_buffer_create) instead of
	 * allocating; size, placement and card then default to its own. */
	bool buffer_set;
	uint64_t buffer;
};

/* Allocates a buffer and maps it into DOM's blob window. *out describes the
 * new blob (id, gfn range, strategy, entries by order, hypercalls). */
XGM_API int xgm_blob_attach(struct xgm_ctx *ctx, const char *dom,
			    const struct xgm_attach_opts *opts, json_t **out);
/* Unmaps and frees one blob ("vm1:3"), or every blob of a domain. */
XGM_API int xgm_blob_detach(struct xgm_ctx *ctx, const char *blob, json_t **out);
XGM_API int xgm_blob_detach_all(struct xgm_ctx *ctx, const char *dom,
				json_t **out);
struct xgm_migrate_opts {
	size_t sz;
	const char *to;        /* "vram" or "sys" (required) */
	unsigned int repeat;   /* 1..100000; 0 (or past sz) means 1 */
	/* Pause the guest around each switch (XEN_DOMCTL_pausedomain), so no
	 * vCPU runs while its range is unmapped; *out then has "paused":
	 * true. -EOPNOTSUPP where the backend cannot pause a domain. */
	bool pause;
};

/* Moves a blob's buffer copy-then-switch to opts->to, "vram" or "sys" (its
 * current placement: a new place in the same memory), opts->repeat times.
 * *out has the blob, the blackout and total times (measured;
 * min/p50/p90/p99/max when repeat > 1) and the counters of the last move.
 * -EBUSY when the strategy pins the buffer, -EPERM when a strategy the user
 * fixed cannot map it, -EINVAL for NULL opts or an unknown non-zero tail. */
XGM_API int xgm_blob_migrate(struct xgm_ctx *ctx, const char *blob,
			     const struct xgm_migrate_opts *opts, json_t **out);
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
/* Drops journal record seq (one recover cannot act on), undoing the blob it
 * names when that blob is not whole, then recovers the rest. -ENOENT when
 * there is no such record. */
XGM_API int xgm_recover_discard(struct xgm_ctx *ctx, uint64_t seq, json_t **out);
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
#ifdef __cplusplus
}
#endif

#endif /* XGPUMAP_DOC_H */
