/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The real Xen backend's private state, shared by its files. One struct
 * serves both tables of struct xgm_backend (the engine hands the same priv
 * to the hv and the gpu ops), so the mapping code can ask the GPU side
 * whether a frame belongs to a buffer before Xen ever sees it.
 */
#ifndef XGM_XEN_H
#define XGM_XEN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "backend.h"
#include "backend.h"
#include "util/log.h"
#ifdef XGM_HAVE_DRM
#include "drm/drm.h"
#endif

/*
 * Everything xgpumap keeps on a Xen host lives under one dom0-only
 * xenstore directory: the engine's paths ("/xgpumap/...") are stored as
 * XS_ROOT "/xgpumap/...", i.e. /local/domain/0/xgpumap/..., and this
 * backend's own record of the mappings it made (what p2m_walk reports on
 * hosts without a p2m dump) under XS_HV_ROOT.
 */
#define XS_ROOT "/local/domain/0"
#define XS_HV_ROOT XS_ROOT "/xgpumap-hv"

#define XEN_MAX_DOMS 64
/* dma-bufs one context holds for its clients (dmabuf.c); a slot's
 * generation goes in the id's framebuffer bits (bufid.c). */
#define XEN_MAX_DMABUFS 256
#define XEN_DMABUF_GEN_MAX 0x3fffffu

/* What a buffer id names (bufid.c). */
enum xen_buf_kind {
	XEN_BUF_VRAM,   /* a buffer on the VRAM card's DRM file (p->gpu) */
	XEN_BUF_RAM,    /* on the system-RAM card's (p->ram) */
	XEN_BUF_DMABUF, /* a dma-buf a client handed over (p->dmabuf) */
};

struct xen_dmabuf {
	int fd;          /* our own copy of the client's fd; -1: a free slot */
	uint32_t gen;    /* of what the slot holds (1..XEN_DMABUF_GEN_MAX) */
	uint64_t size;
	dev_t dev;       /* its file: one dma-buf is taken once */
	ino_t ino;
	char card[32];   /* the card whose driver exported it, or the exporter */
	void *va;        /* this process's mapping for tags, made on first use */
};

struct xen_logger {
	xentoollog_logger vtable;
};

struct xen_dom_counters {
	uint32_t domid;
	struct xgm_counters c;
};

struct xen_priv {
	xc_interface *xch;
	struct xs_handle *xsh;
	libxl_ctx *lx;
	struct xen_logger log;
	bool amd;        /* AMD-V/NPT host: no p2m dump exists */
	int lock_fd;     /* the host-wide lock (lock.c), -1 until used */
	struct xgm_counters total;
	struct xen_dom_counters dom[XEN_MAX_DOMS];
	size_t nr_dom;
	struct xen_servers *servers; /* serve.c; NULL until one is made */
	uint64_t epoch;  /* of the buffer ids this context makes (bufid.c); 0: none yet */
	struct xen_dmabuf dmabuf[XEN_MAX_DMABUFS];
#ifdef XGM_HAVE_DRM
	struct drm_gpu gpu;  /* the VRAM card (bochs) */
	struct drm_gpu ram;  /* a system-RAM card (virtio-gpu), if used */
#endif
};

/* Counters of one domain (-1: all), created on first use. */
/* The host-wide lock around one engine operation (lock.c). */
int xen_begin(void *priv, bool write);
int xen_end(void *priv, bool write, bool ok);
void xen_lock_close(struct xen_priv *p);

struct xgm_counters *xen_counters_of(struct xen_priv *p, uint32_t domid);
void xen_count(struct xen_priv *p, uint32_t domid, uint64_t hypercalls,
	       uint64_t entries);

/* domain.c */
int xen_domain_list(void *priv, struct xgm_domain_info **out, size_t *count);
int xen_domain_info(void *priv, uint32_t domid, struct xgm_domain_info *out);
int xen_domain_pause(void *priv, uint32_t domid, bool pause);

/* store.c: every operation in its own transaction, retried on EAGAIN. */
int xen_store_read(void *priv, const char *path, char **value);
int xen_store_write(void *priv, const char *path, const char *value);
int xen_store_rm(void *priv, const char *path);
int xen_store_list(void *priv, const char *dir, char ***names, size_t *count);
int xen_guest_publish(void *priv, uint32_t domid, const char *key,
		      const char *value);
int xen_store_setup(struct xen_priv *p);

/* mapping.c */
int xen_iomem_permission(void *priv, uint32_t domid, uint64_t mfn, uint64_t nr,
			 bool allow);
int xen_memory_mapping(void *priv, uint32_t domid, uint64_t gfn, uint64_t mfn,
		       uint64_t nr, bool add);
/* The same for frames the caller validated (xen_frames_validate()) when
 * it took the buffer: the revoke-fault path maps chunks of a buffer a
 * guest is reading, and validating locates the buffer again, which
 * writes a canary into it. Removals are still checked against the
 * record. */
int xen_memory_mapping_checked(void *priv, uint32_t domid, uint64_t gfn,
			       uint64_t mfn, uint64_t nr, bool add);
/* Xen's mmio_order(): 2M where gfn and mfn are both 2M-aligned and at
 * least 2M remain (HAP), else 4K; never 1G. */
unsigned int xen_mmio_order(uint64_t gfn, uint64_t mfn, uint64_t nr);
/* Entries a memory_mapping of nr frames writes in a clean range. */
uint64_t xen_mmio_entries(uint64_t gfn, uint64_t mfn, uint64_t nr);

/* A recorded mapping: [gfn, gfn+nr) -> [mfn, mfn+nr). */
struct xen_map_rec {
	uint64_t gfn, mfn, nr;
};
int xen_map_records(struct xen_priv *p, uint32_t domid,
		    struct xen_map_rec **out, size_t *count);

/* serve.c: the ioreq servers of the guests whose blobs are served (the
 * hv ops of the same names, backend.h). */
int xen_ioreq_map_range(void *priv, uint32_t domid, uint64_t first,
			uint64_t last, bool map);
int xen_ioreq_list(void *priv, uint32_t domid, struct xgm_gfn_range **out,
		   size_t *count);
int xen_ioreq_serve(void *priv, uint32_t domid, uint64_t gfn, uint64_t buf,
		    const struct xgm_extent *ext, size_t n, bool fault_map);
int xen_ioreq_revoke(void *priv, uint32_t domid, uint64_t gfn, uint64_t nr);
int xen_serve_fd(void *priv);
int xen_serve(void *priv);
/* Disables and destroys every server (a guest then reads all-ones where
 * it waited on us) and revokes what first touch mapped. */
void xen_servers_close(struct xen_priv *p);

/* inspect.c */
int xen_p2m_walk(void *priv, uint32_t domid, uint64_t first, uint64_t last,
		 xgm_p2m_walk_fn fn, void *arg);
int xen_iommu_walk(void *priv, uint32_t domid, uint64_t first, uint64_t last,
		   xgm_p2m_walk_fn fn, void *arg);
int xen_p2m_source(void *priv, uint32_t domid, char *note, size_t len);
/* Sends a debug key and returns what Xen printed for it (malloc'd). */
int xen_debug_key_text(struct xen_priv *p, char key, char **text);

/* ioreap.c: who owns each ioreq server (XS_HV_ROOT/ioreq/DOMID), and
 * the destruction of those a dead process left; reap_dom does domid's
 * only (before a new server for it is made). */
int xen_ioreq_record(struct xen_priv *p, uint32_t domid, unsigned int id);
void xen_ioreq_unrecord(struct xen_priv *p, uint32_t domid);
int xen_ioreq_reap_dom(struct xen_priv *p, uint32_t domid);
int xen_ioreq_reap(void *priv, struct xgm_ioreq_reaped **out, size_t *count);

/* bufid.c: buffer ids, EPOCH | KIND | FB | LOW (see there). make takes
 * the context's epoch on its first call; parse fails for an id of
 * another epoch: -ENOENT when its process has exited (the buffer went
 * with it), -EREMOTE while it runs. */
int xen_bufid_make(struct xen_priv *p, enum xen_buf_kind kind, uint32_t fb,
		   uint64_t low, uint64_t *id);
int xen_bufid_parse(const struct xen_priv *p, uint64_t id,
		    enum xen_buf_kind *kind, uint32_t *fb, uint64_t *low);
/* Drops the record of the context's epoch: its buffers went with it. */
void xen_bufid_close(struct xen_priv *p);

/* dmabuf.c: the dma-bufs clients handed over, each kept as our own copy
 * of the fd and served from our own mapping of it; id: the buffer id;
 * slot: (generation << 32) | slot index, as the id says. */
int xen_dmabuf_take(struct xen_priv *p, int fd, uint64_t bytes,
		    const char *exporter, const char *card, uint64_t *id);
int xen_dmabuf_free(struct xen_priv *p, uint64_t slot);
/* 0 while slot holds a dma-buf, else -ENOENT (the message says). */
int xen_dmabuf_held(struct xen_priv *p, uint64_t slot);
int xen_dmabuf_extents(struct xen_priv *p, uint64_t slot,
		       struct xgm_extent **out, size_t *count);
int xen_dmabuf_mmap(struct xen_priv *p, uint64_t slot, void **addr,
		    uint64_t *size);
int xen_dmabuf_write_tag(struct xen_priv *p, uint64_t slot, uint64_t page,
			 uint64_t tag);
int xen_dmabuf_read_tag(struct xen_priv *p, uint64_t slot, uint64_t page,
			uint64_t *tag);
/* Those held, as gpu show's buffers of card (a JSON array). */
json_t *xen_dmabufs_json(struct xen_priv *p, const char *card);
void xen_dmabufs_init(struct xen_priv *p);
void xen_dmabufs_close(struct xen_priv *p);

/* gpu.c: the gpu table, on top of lib/drm when it is compiled in. */
extern const struct xgm_gpu_ops xen_gpu_ops;
/* A mapping of the whole buffer, the caller's to munmap (*size bytes). */
int xen_buf_mmap(struct xen_priv *p, uint64_t buf, void **addr, uint64_t *size);
/* Is [mfn, mfn+nr) inside a GPU BAR and inside one buffer xgpumap
 * allocated and located? 0 or -EPERM with the reason in xgm_last_error. */
int xen_frames_validate(struct xen_priv *p, uint64_t mfn, uint64_t nr);

#endif /* XGM_XEN_H */
