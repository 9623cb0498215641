/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The two interfaces every backend implements (DESIGN.md section 3).
 *
 * The engine only ever talks to these tables; it never knows whether a real
 * Xen host or the simulated one answers. All functions return 0 (or a count
 * where documented) or a negative errno. A backend that cannot do something
 * answers -EOPNOTSUPP (the hypervisor or kernel lacks it) or -ENOSYS (not
 * implemented yet) — never a pretend success.
 */
#ifndef XGM_BACKEND_H
#define XGM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "xgpumap-sim.h"

/* Xen's p2m_type_t, same names and values (xen/arch/x86/include/asm/p2m.h). */
enum xgm_p2m_type {
	XGM_P2M_RAM_RW = 0,
	XGM_P2M_INVALID = 1,
	XGM_P2M_RAM_LOGDIRTY = 2,
	XGM_P2M_RAM_RO = 3,
	XGM_P2M_MMIO_DM = 4,
	XGM_P2M_MMIO_DIRECT = 5,
	XGM_P2M_POPULATE_ON_DEMAND = 6,
	XGM_P2M_GRANT_MAP_RW = 7,
	XGM_P2M_GRANT_MAP_RO = 8,
	XGM_P2M_RAM_PAGING_OUT = 9,
	XGM_P2M_RAM_PAGED = 10,
	XGM_P2M_RAM_PAGING_IN = 11,
	XGM_P2M_RAM_SHARED = 12,
	XGM_P2M_RAM_BROKEN = 13,
	XGM_P2M_MAP_FOREIGN = 14,
	XGM_P2M_IOREQ_SERVER = 15,
	XGM_P2M_NR_TYPES
};

/* Memory types as EPT encodes them (Intel SDM vol. 3 table 11-8); UC_MINUS
 * only appears on NPT, where _PAGE_UCM is used for mmio_direct. */
enum xgm_mem_type {
	XGM_MT_UC = 0,
	XGM_MT_WC = 1,
	XGM_MT_WT = 4,
	XGM_MT_WP = 5,
	XGM_MT_WB = 6,
	XGM_MT_UC_MINUS = 7,
};

/* One leaf of a p2m (or IOMMU table) as seen by a walk. */
struct xgm_p2m_entry {
	uint64_t gfn;   /* first gfn the leaf covers (aligned to order) */
	uint64_t mfn;   /* first mfn */
	uint8_t order;  /* 0, 9 or 18 */
	uint8_t type;   /* enum xgm_p2m_type */
	uint8_t access; /* rwx bits: 4 r, 2 w, 1 x */
	uint8_t emt;    /* enum xgm_mem_type */
	bool ipat;      /* ignore guest PAT */
};

/* Per-operation and per-domain counters. */
/* struct xgm_counters (what an operation cost) is public: xgpumap.h. */

/* One entry of dom0's grant table. */
struct xgm_grant_info {
	uint32_t gref;
	uint32_t grantee;
	uint64_t mfn;
	uint32_t maps;   /* active mappings by the grantee */
	bool readonly;
};

/* An inclusive range of guest frames. */
struct xgm_gfn_range {
	uint64_t first, last;
};

typedef int (*xgm_p2m_walk_fn)(const struct xgm_p2m_entry *e, void *arg);

/* A guest access, by what it costs in ioreqs when it is emulated (the
 * table of notes/xen-ioreq.md). */
enum xgm_guest_access {
	XGM_GA_SCALAR,            /* 8..64-bit load/store within a page: 1 */
	XGM_GA_SCALAR_CROSS_PAGE, /* 64-bit load across 4K: 2 (4 + 4) */
	XGM_GA_MOVDQU,            /* SSE 128-bit: 2 (8 + 8) */
	XGM_GA_REP_MOVSQ,         /* rep movsq x64: 1 per page touched */
	XGM_GA_MEMCPY_4K,         /* glibc memcpy of 4 KiB: 2 rep ioreqs */
};

/* An ioreq server's handler: answers the access from the real buffer
 * (*tag for a read) and may map the chunk while the vCPU waits. The
 * faulting access is completed with this answer, not re-executed. */
typedef int (*xgm_ioreq_fn)(uint32_t domid, uint64_t gfn, bool write,
			    uint64_t *tag, void *arg);

/* Frame owners that are not domains (Xen's reserved domids). */
#define XGM_OWNER_IO   0x7FF1u /* DOMID_IO: device MMIO */
#define XGM_OWNER_XEN  0x7FF2u /* DOMID_XEN */
#define XGM_OWNER_FREE 0x7FF4u /* in Xen's free heap */

/* One blob as a source other than the store describes it. */
struct xgm_source_blob {
	uint32_t domid, n;
	uint64_t gfn, size;
	char strategy[16], placement[8];
};

/* What opening found, for the context's accessors. */
struct xgm_opened {
	bool created;     /* a new simulated host was made */
	char *state_path; /* where it lives (malloc'd); NULL elsewhere */
};

struct xgm_extent;
struct xgm_ioreq_reaped;

struct xgm_hv_ops {
	const char *name;
	/* A backend gets what the caller asked for, never the context:
	 * opts->access tells one with persistent state which lock to take;
	 * it says in *out what it opened. */
	int (*open)(const struct xgm_ctx_opts *opts, struct xgm_opened *out,
		    void **priv);
	int (*commit)(void *priv);
	void (*close)(void *priv);
	/* One engine operation's exclusion (xgm__op_begin/end in ctx.c):
	 * begin takes the host-wide lock, shared for a read, exclusive for a
	 * write, and brings the backend up to what others committed; end
	 * makes a successful write durable (failed: forgets what was not
	 * synced) and lets the lock go. NULL where the backend keeps no
	 * state of its own (a dump). */
	int (*begin)(void *priv, bool write);
	int (*end)(void *priv, bool write, bool ok);

	int (*domain_list)(void *priv, struct xgm_domain_info **out,
			   size_t *count);
	int (*domain_info)(void *priv, uint32_t domid,
			   struct xgm_domain_info *out);
	/* The domain a user means by dom, xl's way: domid first (when
	 * domid >= 0), then the name, then "dom0" for Domain-0; -ENOENT,
	 * with no message, when there is none. For a backend that finds one
	 * domain without listing them all; NULL: lookups list them. */
	int (*domain_find)(void *priv, const char *dom, int64_t domid,
			   struct xgm_domain_info *out);
	/* The domains whose p2m (or IOMMU tables) may map, or whose iomem
	 * permissions may cover, any frame of ext: never fewer than do, maybe
	 * more (malloc'd domids). For a backend that knows without reading
	 * every domain; NULL: every domain may. */
	int (*domains_reaching)(void *priv, const struct xgm_extent *ext,
				size_t n, uint32_t **domids, size_t *nd);

	/* XEN_DOMCTL_iomem_permission, caller = dom0. */
	int (*iomem_permission)(void *priv, uint32_t domid, uint64_t mfn,
				uint64_t nr, bool allow);
	/* One XEN_DOMCTL_memory_mapping call: returns the number of frames
	 * done (Xen does at most 64 p2m updates a call), or -errno. */
	int (*memory_mapping)(void *priv, uint32_t domid, uint64_t gfn,
			      uint64_t mfn, uint64_t nr, bool add);
	/* XENMEM_add_to_physmap_batch, XENMAPSPACE_gmfn_foreign: map
	 * foreign_domid's gpfn at gfn in domid's p2m. */
	int (*add_foreign)(void *priv, uint32_t domid, uint64_t gfn,
			   uint32_t foreign_domid, uint64_t foreign_gpfn);
	int (*remove_from_physmap)(void *priv, uint32_t domid, uint64_t gfn);

	/* Grant table: dom0 grants its frame to a domain; the grantee maps
	 * the reference at gfn; revocation only once unmapped. */
	int (*grant_access)(void *priv, uint32_t grantee, uint64_t mfn,
			    bool readonly, uint32_t *gref);
	int (*grant_map)(void *priv, uint32_t grantee, uint32_t gref,
			 uint64_t gfn);
	int (*grant_unmap)(void *priv, uint32_t grantee, uint32_t gref,
			   uint64_t gfn);
	int (*grant_end)(void *priv, uint32_t gref);
	/* Every grant in dom0's table (*out malloc'd, NULL when none): how
	 * recover finds the references of grant mappings whose record was
	 * lost. NULL where dom0's table cannot be read back. */
	int (*grant_list)(void *priv, struct xgm_grant_info **out,
			  size_t *count);
	/* 0 when nr more grants fit dom0's grant table, -ENOSPC naming its
	 * limit when not, so that a grant blob too large is refused before
	 * its first grant. NULL where the table's room is not known. */
	int (*grant_room)(void *priv, uint64_t nr);

	/* Inspection: leaves overlapping [first, last], in gfn order. */
	int (*p2m_walk)(void *priv, uint32_t domid, uint64_t first,
			uint64_t last, xgm_p2m_walk_fn fn, void *arg);
	int (*iommu_walk)(void *priv, uint32_t domid, uint64_t first,
			  uint64_t last, xgm_p2m_walk_fn fn, void *arg);

	/* A xenstore-like store; values are strings. */
	int (*store_read)(void *priv, const char *path, char **value);
	int (*store_write)(void *priv, const char *path, const char *value);
	int (*store_rm)(void *priv, const char *path);

	int (*counters)(void *priv, int32_t domid, struct xgm_counters *out);

	/* ---- used by the engine (lib/core/) ---- */
	/* Children of a store directory ("a" and "b" for /x/a, /x/b/c);
	 * *names is a malloc'd array of malloc'd strings. -ENOENT if none. */
	int (*store_list)(void *priv, const char *dir, char ***names,
			  size_t *count);
	/* Every key below dir (not dir itself) with its value, in no order:
	 * one pass over a store that keeps no directories, where listing
	 * each of them would scan it again (dump). Optional: without it the
	 * store is read directory by directory (xenstore has directories). */
	int (*store_walk)(void *priv, const char *dir,
			  int (*fn)(const char *path, const char *value,
				    void *arg),
			  void *arg);
	/* Makes everything done so far durable now (the sim saves its state
	 * file; on Xen every call already is). The engine syncs at each
	 * journal phase, so a process killed at any point leaves a state
	 * that recover can finish. NULL when there is nothing to do. */
	int (*sync)(void *priv);
	/* A failed operation that undid itself leaves the host as it found
	 * it, byte for byte: checkpoint remembers the state at the start of
	 * an operation, restore returns to it (durably, when a sync wrote
	 * anything since). NULL where every call is real (Xen): there the
	 * undo is all there is. */
	int (*checkpoint)(void *priv);
	int (*restore)(void *priv);
	/* Modeled time of these counters in ns, or a negative value where
	 * the backend has no model (real hardware is measured instead). */
	double (*modeled_ns)(void *priv, const struct xgm_counters *c);

	/* ---- ioreq server and guest accesses (stock Xen; the sim models
	 * them, notes/xen-ioreq.md; NULL where not implemented) ---- */
	/* xendevicemodel_(un)map_io_range_to_ioreq_server for [first, last]
	 * (gfns): consulted by Xen only where nothing is mapped. */
	int (*ioreq_map_range)(void *priv, uint32_t domid, uint64_t first,
			       uint64_t last, bool map);
	/* The gfn ranges our ioreq server claims in domid (*out malloc'd,
	 * NULL when none), so a claim nobody records can be dropped. */
	int (*ioreq_list)(void *priv, uint32_t domid,
			  struct xgm_gfn_range **out, size_t *count);
	/* The server's handler, called while the faulting vCPU waits. */
	void (*set_ioreq_handler)(void *priv, xgm_ioreq_fn fn, void *arg);
	/* A backend whose server answers from the buffers itself (xen):
	 * serve answers accesses to the claimed [gfn, gfn + frames) from
	 * buffer buf, whose extents ext are its frames in gfn order, in
	 * place of what it answered there (a move switches the backing
	 * under the claim, so the guest never meets Xen's all-ones); with
	 * fault_map it maps each 2M chunk on first touch (revoke-fault).
	 * revoke unmaps what first touch mapped in [gfn, gfn + nr): the
	 * next access faults to the server again. Releasing a range
	 * (ioreq_map_range) forgets its backings. NULL: the engine's
	 * handler answers (the sim). */
	int (*ioreq_serve)(void *priv, uint32_t domid, uint64_t gfn, uint64_t buf,
			   const struct xgm_extent *ext, size_t n, bool fault_map);
	int (*ioreq_revoke)(void *priv, uint32_t domid, uint64_t gfn, uint64_t nr);
	/* Destroys the ioreq servers that a process now gone left behind
	 * (killed before its teardown: the guest would wait on them for
	 * ever) and lists them in *out. NULL: this backend's servers never
	 * outlive their process (the sim's are its records). */
	int (*ioreq_reap)(void *priv, struct xgm_ioreq_reaped **out,
			  size_t *count);
	/* An fd that polls readable when a served guest waits on us, and
	 * what answers it without blocking (xgpumapd's loop calls both;
	 * an operation in progress keeps the guest waiting until it ends).
	 * serve returns the requests answered or a negative errno. */
	int (*serve_fd)(void *priv);
	int (*serve)(void *priv);
	/* One access of the guest at gfn (what the guest would see: the
	 * tag of the buffer page behind it, 0 for its own RAM, all-ones
	 * where Xen's null handler answers; -ENODATA for a buffer page no
	 * fill wrote); unmapped gfns in an ioreq range cost ioreqs. */
	int (*guest_access)(void *priv, uint32_t domid, uint64_t gfn,
			    enum xgm_guest_access kind, bool write,
			    uint64_t *tag);
	/* Who owns a machine frame: a domid, or XGM_OWNER_IO / _XEN / _FREE;
	 * *refs = extra page references held by mappings. -ENOENT when no
	 * frame exists there. For checks such as "mmio_direct over RAM". */
	int (*frame_owner)(void *priv, uint64_t mfn, uint32_t *owner,
			   uint64_t *refs);
	/* The blobs as the source lists them apart from the store's records
	 * (a dump's "blobs" section), so check can tell a dump whose sections
	 * disagree; *out malloc'd. -EBADMSG with a message when that section
	 * is missing or malformed. NULL for a live host: it is one source. */
	int (*source_blobs)(void *priv, struct xgm_source_blob **out,
			    size_t *count);

	/* ---- NOT IN STOCK XEN: the seed thread's proposals, modelled by
	 * the sim only; a real Xen backend leaves these NULL ---- */
	/* ram-mmio: map dom0 RAM frames as kind-of-MMIO with a page
	 * reference and guaranteed revocation (at most 64 frames a call;
	 * returns the number done). On a PVH dom0 it retypes dom0's own
	 * entries, shattering its superpages. */
	int (*ram_mmio_map)(void *priv, uint32_t domid, uint64_t gfn,
			    uint64_t mfn, uint64_t nr);
	/* Revokes ram-mmio entries in [gfn, gfn+nr); never fails for a
	 * recorded entry. Returns the number revoked. */
	int (*ram_mmio_unmap)(void *priv, uint32_t domid, uint64_t gfn,
			      uint64_t nr);
	/* transfer: page ownership moves from dom0 to the guest, within its
	 * balloon headroom (max_mem - mem); at most 64 frames a call. */
	int (*transfer)(void *priv, uint32_t domid, uint64_t gfn, uint64_t mfn,
			uint64_t nr);
	/* Gives transferred pages in [gfn, gfn+nr) back to dom0. */
	int (*transfer_back)(void *priv, uint32_t domid, uint64_t gfn,
			     uint64_t nr);
	/* Which of these this host has (XGM_EXT_*): a simulated host is
	 * stock Xen unless created with them. NULL: those whose ops are
	 * set. */
	unsigned int (*extensions)(void *priv);

	/* ---- provenance of inspection answers ---- */
	/* Where p2m_walk's answer for domid comes from: 1 live (read from
	 * the hypervisor), 0 recorded (what xgpumap itself mapped: the host
	 * cannot show its p2m, e.g. AMD NPT has no dump); note receives one
	 * sentence saying so. NULL means always live (the sim). */
	int (*p2m_source)(void *priv, uint32_t domid, char *note, size_t len);

	/* ---- migrate --pause ---- */
	/* XEN_DOMCTL_pausedomain / unpausedomain: Xen counts pauses, so a
	 * guest the admin paused stays paused after our unpause. NULL where
	 * the backend cannot stop a domain's vCPUs. */
	int (*pause)(void *priv, uint32_t domid, bool pause);

	/* ---- what a guest may read of its own mapping ---- */
	/* Writes key=value where domid can read it and only dom0 can write
	 * it (xenstore: /local/domain/DOMID/device/xgpumap/KEY); value NULL
	 * removes it. The engine publishes the blob window there. */
	int (*guest_publish)(void *priv, uint32_t domid, const char *key,
			     const char *value);
};

/* A run of machine frames backing a buffer. */
struct xgm_extent {
	uint64_t mfn;
	uint64_t nr;
};

/*
 * The mfn of an extent whose frames the backend cannot see: system RAM of
 * dom0 that a driver mmaps VM_PFNMAP (no pagemap), or a dma-buf another
 * process made. It is above any frame x86-64 can address (52-bit physical
 * addresses: frames below 2^40), so no p2m entry, BAR or frame check can
 * ever match it; only strategies that map nothing (ioreq: the server
 * answers from dom0's own mapping) take such a buffer.
 */
#define XGM_MFN_UNSEEN (1ULL << 51)

/* An ioreq server ioreq_reap destroyed. */
struct xgm_ioreq_reaped {
	uint32_t domid;
	unsigned int server;
};

/* What buf_import_gem or buf_import_dmabuf took. */
struct xgm_gem_import {
	uint64_t buf;                /* the backend's buffer id */
	uint64_t bytes;
	enum xgm_placement where;
	char card[32];
};

/* No gfn is known for a buffer yet (buf_alloc). */
#define XGM_GFN_ANY UINT64_MAX

/* Raised by the gpu backend when the driver moves a buffer on its own
 * (eviction): the engine registers it and remaps. */
typedef void (*xgm_move_notify_fn)(uint64_t buf, enum xgm_placement from,
				   enum xgm_placement to, void *arg);

struct xgm_gpu_ops {
	const char *name;
	/* gfn: where the buffer will be mapped, when that is known before
	 * its frames are (a forced --gfn, a move), else XGM_GFN_ANY; a
	 * backend that chooses frames places them congruent to it modulo
	 * 2M where it can (2M entries need both aligned), anywhere else. */
	int (*buf_alloc)(void *priv, const char *card, uint64_t bytes,
			 enum xgm_placement where, uint64_t gfn, uint64_t *buf);
	int (*buf_free)(void *priv, uint64_t buf);
	/* *out is malloc'd; extents in buffer order. */
	int (*buf_extents)(void *priv, uint64_t buf, struct xgm_extent **out,
			   size_t *count);
	int (*buf_move)(void *priv, uint64_t buf, enum xgm_placement to);
	int (*buf_pin)(void *priv, uint64_t buf, bool pin);
	int (*buf_write_tag)(void *priv, uint64_t buf, uint64_t page,
			     uint64_t tag);
	int (*buf_read_tag)(void *priv, uint64_t buf, uint64_t page,
			    uint64_t *tag);
	void (*set_move_notify)(void *priv, xgm_move_notify_fn fn, void *arg);
	/* Takes GEM handle handle of drm_fd, another process's open DRM
	 * device file (a passed fd shares that file's handle namespace), as
	 * a buffer of this backend's own, which lives on when that process
	 * closes its handle: the fd must be a card this backend manages and
	 * the handle a buffer it can place and locate. NULL: the backend has
	 * no DRM device. */
	int (*buf_import_gem)(void *priv, int drm_fd, uint32_t handle,
			      struct xgm_gem_import *out);
	/* Takes a dma-buf another process passed (checked to be one, bytes
	 * long, made by exporter): the backend keeps its own reference for
	 * as long as the buffer is recorded, and serves from its own mmap
	 * of it; its frames are XGM_MFN_UNSEEN. NULL: the backend cannot
	 * hold a dma-buf. */
	int (*buf_import_dmabuf)(void *priv, int fd, uint64_t bytes,
				 const char *exporter, struct xgm_gem_import *out);
	/* -EREMOTE when buf is another running process's (its files hold
	 * it: xen, an engine in a VMM's own process), else 0, from the id
	 * alone (no driver call). NULL: every buffer is this context's. */
	int (*buf_remote)(void *priv, uint64_t buf);

	/* ---- used by the engine (lib/core/) ---- */
	/* Copies every page of src into dst (same size): the copy step of a
	 * copy-then-switch migration, counted as pages_copied. */
	int (*buf_copy)(void *priv, uint64_t src, uint64_t dst);
	/* The card's VRAM, total and free now (-ENODEV: no such card), so
	 * the engine refuses what can never fit before it changes anything. */
	int (*card_info)(void *priv, const char *card, uint64_t *vram_bytes,
			 uint64_t *free_bytes);
	/* Every buffer this backend holds for xgpumap (*ids malloc'd), so a
	 * buffer that an interrupted command allocated but never recorded
	 * can be found and freed. */
	int (*buf_list)(void *priv, uint64_t **ids, size_t *count);

	/* ---- gpu list / gpu show ---- */
	/* Every card as a JSON array of objects: card, driver, pci, bars
	 * [{index, bus_addr, size, prefetchable, vram}], vram_bytes,
	 * vram_free_bytes (null when unknown), capabilities {place_vram,
	 * locate_frames, pin, note}, buffers [{id, size, placement, mfn,
	 * extents, pinned}]. known holds the buffer ids the engine recorded:
	 * a backend that cannot enumerate its buffers under those very ids
	 * (DRM: GETFB hands out a new GEM handle) reports a buffer it
	 * recognises among them under the recorded id. */
	int (*cards)(void *priv, const uint64_t *known, size_t nr_known,
		     json_t **out);
};

/* What the engine may need to know of a backend, as bits: it never tests
 * which backend it has. */
enum xgm_backend_cap {
	/* The host was made by xgpumap (sim init), so what it lacks was
	 * chosen when it was made and can be chosen again. */
	XGM_CAP_HOST_MADE = 1u << 0,
};

struct xgm_backend {
	enum xgm_backend_kind kind;
	unsigned int caps; /* XGM_CAP_* */
	const struct xgm_hv_ops *hv;
	const struct xgm_gpu_ops *gpu;
};

/* Defined by each compiled-in backend. */
extern const struct xgm_backend xgm_backend_sim;
extern const struct xgm_backend xgm_backend_dump;
#ifdef XGM_HAVE_XEN
extern const struct xgm_backend xgm_backend_xen;
#endif

#endif /* XGM_BACKEND_H */
