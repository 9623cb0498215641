/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The simulated Xen host: its data model and the internal API the backend
 * glue (sim/backend.c), the persistence code and the unit tests use.
 *
 * The rules are Xen's (notes/xen-facts.md); each function says which Xen
 * function it models. Frame numbers are 4 KiB machine (mfn) or guest (gfn)
 * frames. Functions return 0 (or a count) or a negative errno, and record a
 * human-readable reason with xgm_fail() on every refusal.
 */
#ifndef XGM_SIM_MODEL_H
#define XGM_SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backend.h"
#include "util/array.h" /* growable arrays: xgm_array_room() */
#include "xgpumap-sim.h"

/* ---- small containers (sim/containers.c) ------------------------------- */

/* Sorted, coalesced inclusive ranges (Xen's struct rangeset). */
struct sim_range {
	uint64_t s, e;
};

struct sim_rangeset {
	struct sim_range *r;
	size_t nr, cap;
};

int sim_rs_add(struct sim_rangeset *rs, uint64_t s, uint64_t e);
int sim_rs_remove(struct sim_rangeset *rs, uint64_t s, uint64_t e);
bool sim_rs_contains(const struct sim_rangeset *rs, uint64_t s, uint64_t e);
bool sim_rs_overlaps(const struct sim_rangeset *rs, uint64_t s, uint64_t e);
uint64_t sim_rs_count(const struct sim_rangeset *rs);
void sim_rs_free(struct sim_rangeset *rs);
int sim_rs_copy(struct sim_rangeset *dst, const struct sim_rangeset *src);

/* uint64 -> uint64 open-addressing hash map (sparse per-frame data). */
struct sim_u64map {
	uint64_t *keys, *vals;
	uint8_t *used;
	size_t nr, cap;
};

int sim_map_set(struct sim_u64map *m, uint64_t key, uint64_t val);
bool sim_map_get(const struct sim_u64map *m, uint64_t key, uint64_t *val);
void sim_map_del(struct sim_u64map *m, uint64_t key);
void sim_map_free(struct sim_u64map *m);
/* Keys in ascending order, malloc'd (NULL when empty). */
uint64_t *sim_map_sorted_keys(const struct sim_u64map *m);


/*
 * Runs of keys with values, in key order: [first, first+count) -> val[k],
 * where val[k] advances by one a key when bit k of step is set (a frame
 * that follows a frame), unless it is SIM_RUN_NONE. What Xen keeps a page
 * at a time (a reference count, a ram-mmio mapping) is kept so when
 * consecutive pages agree: a 16 GiB blob is a few runs, not four million
 * entries. Runs split on a change inside and merge with neighbours that
 * continue them; a change or a lookup costs O(log runs) (containers.c).
 */
#define SIM_RUN_NONE UINT64_MAX
#define SIM_RUN_VALS 2

struct sim_run {
	uint64_t first, count, val[SIM_RUN_VALS];
};

struct sim_run_node;

struct sim_runs {
	struct sim_run_node *head; /* NULL until the first run */
	size_t nr;                 /* runs */
	unsigned int step;         /* bit k: val[k] advances with the key */
	struct sim_run_node *hint; /* the run set or cut last */
	uint64_t seed;             /* the nodes' levels */
};

/* The run holding key, or the first run after it; NULL when none. */
const struct sim_run *sim_runs_lower(const struct sim_runs *rs, uint64_t key);
/* In key order; NULL after the last. A change may free any run. */
const struct sim_run *sim_runs_first(const struct sim_runs *rs);
const struct sim_run *sim_runs_next(const struct sim_run *r);
/* The values at key; false when no run holds it. */
bool sim_runs_get(const struct sim_runs *rs, uint64_t key,
		  uint64_t val[SIM_RUN_VALS]);
/* val[k] of run r at key r->first + off. */
uint64_t sim_run_val(const struct sim_runs *rs, const struct sim_run *r,
		     unsigned int k, uint64_t off);
/* [first, first+count) -> val (as above), or no values when val is NULL;
 * -ENOMEM changes nothing. */
int sim_runs_set(struct sim_runs *rs, uint64_t first, uint64_t count,
		 const uint64_t val[SIM_RUN_VALS]);
/* Keys that have values. */
uint64_t sim_runs_keys(const struct sim_runs *rs);
void sim_runs_free(struct sim_runs *rs);

/* splitmix64: the model's only source of pseudo-randomness (seeded). */
uint64_t sim_mix64(uint64_t x);

/* ---- host memory (sim/memory.c) ---------------------------------------- */

/* Frame owners that are not domains use Xen's reserved domids. */
#define SIM_OWNER_IO   XGM_OWNER_IO   /* DOMID_IO: device MMIO (dev: which) */
#define SIM_OWNER_XEN  XGM_OWNER_XEN  /* DOMID_XEN: the hypervisor's frames */
#define SIM_OWNER_FREE XGM_OWNER_FREE /* DOMID_INVALID: Xen's free heap */

#define SIM_DEV_PCI_HOLE (-1) /* the below-4G MMIO window, no device */

/* A run of machine frames with one owner. */
struct sim_frame_run {
	uint64_t start, count;
	uint32_t owner;
	int32_t dev; /* for SIM_OWNER_IO: GPU index or SIM_DEV_PCI_HOLE */
};

struct sim_frames {
	struct sim_frame_run *runs; /* sorted, non-overlapping, may have gaps */
	size_t nr, cap;
};

/* A run of frames in a list (a domain's allocation, a buffer's backing). */
struct sim_mfn_run {
	uint64_t mfn, count;
};

struct sim_page_run {
	uint64_t mfn, count, page;
};

struct sim_model;

/* Owner of one frame; false when no frame exists there. */
bool sim_mem_owner(const struct sim_model *m, uint64_t mfn, uint32_t *owner,
	       int32_t *dev);
/* True when every frame of [mfn, mfn+nr) exists and has this owner. */
bool sim_mem_owned_by(const struct sim_model *m, uint64_t mfn, uint64_t nr,
		  uint32_t owner);
/* True when the frame is RAM (owned by a domain, Xen or free). */
bool sim_mem_is_ram(const struct sim_model *m, uint64_t mfn);
/* Re-owns [mfn, mfn+nr), splitting and merging runs. */
int sim_mem_set_owner(struct sim_model *m, uint64_t mfn, uint64_t nr,
		  uint32_t owner, int32_t dev);
/* Takes nr free frames for owner, largest aligned chunks first (as Xen's
 * buddy heap hands out the largest order it can). *runs is malloc'd. */
int sim_mem_alloc(struct sim_model *m, uint32_t owner, uint64_t nr,
	      struct sim_mfn_run **runs, size_t *nr_runs);
/* Extra page references (get_page) beyond the owner's own. */
uint64_t sim_mem_refs(const struct sim_model *m, uint64_t mfn);
int sim_mem_get_ref(struct sim_model *m, uint64_t mfn);
void sim_mem_put_ref(struct sim_model *m, uint64_t mfn);
uint64_t sim_mem_count_owner(const struct sim_model *m, uint32_t owner);

/* ---- the p2m radix tree (sim/p2m.c) ------------------------------------ */

#define P2M_LEVELS 4
#define P2M_ENTRIES 512
#define P2M_GFN_BITS 36 /* 48-bit guest-physical addresses */
#define P2M_ORDER_4K 0
#define P2M_ORDER_2M 9
#define P2M_ORDER_1G 18

struct sim_p2m;

/* What one p2m write did (counters the caller folds into a domain). */
struct p2m_stats {
	uint64_t entries;      /* leaves written */
	uint64_t splits;       /* superpages shattered (tables of 512 built) */
	uint64_t present_writes; /* present entries overwritten, splits too */
	uint64_t coalesced;    /* full tables turned into a superpage */
	uint64_t tables_freed; /* tables under a slot written over */
	bool present_changed;  /* a present entry changed: flush needed */
};

/* How a table splits and tidies itself (see p2m.c). */
#define SIM_P2M_SPLIT_WHOLE (1u << 0) /* EPT: all 512 children, recursively */
#define SIM_P2M_COALESCE    (1u << 1) /* AMD-Vi: free empty, merge full */
/* Every table expanded, none compact (p2m.c): what the compact form is
 * tested against. */
#define SIM_P2M_NO_COMPACT  (1u << 2)

struct sim_p2m *sim_p2m_new(unsigned int flags);
unsigned int sim_p2m_flags(const struct sim_p2m *p);
void sim_p2m_free(struct sim_p2m *p);
/*
 * Writes one leaf of 1 << order frames at gfn (aligned), or clears the
 * range when e is NULL. A superpage that covers a larger range is split
 * first: wholly on EPT (ept_split_super_page()), along the path on NPT
 * (p2m_next_level()); a table under the target slot is freed
 * (ept_free_entry()).
 */
int sim_p2m_set(struct sim_p2m *p, uint64_t gfn, unsigned int order,
	    const struct xgm_p2m_entry *e, struct p2m_stats *st);
/* Like p2m_set but fails with -EEXIST if anything is mapped in the range
 * (used when loading a state: overlaps are corruption). */
int sim_p2m_insert_new(struct sim_p2m *p, uint64_t gfn, unsigned int order,
		   const struct xgm_p2m_entry *e);
/* Inserts count leaves of e->order from gfn (e->gfn, aligned), mfns
 * following e->mfn, into a range where nothing is mapped (-EEXIST
 * otherwise; what is inserted before then stays): a whole aligned level-0
 * table of them is built compact, without its 512 leaves (loading). */
int sim_p2m_insert_run(struct sim_p2m *p, uint64_t gfn, uint64_t count,
		       const struct xgm_p2m_entry *e);
/* Was the p2m written since the last call? (A save writes its row only
 * then: a p2m is most of a domain's state.) */
bool sim_p2m_take_changed(struct sim_p2m *p);
/*
 * Looks up gfn. Returns true and fills *e (e->gfn aligned to the leaf)
 * when a leaf maps it. *order is the order of the leaf, or for a hole the
 * order of the largest empty aligned region the walk stopped at — what
 * Xen's get_entry() reports in page_order.
 */
bool sim_p2m_lookup(const struct sim_p2m *p, uint64_t gfn, struct xgm_p2m_entry *e,
		unsigned int *order);
/* Calls fn for each leaf overlapping [first, last] in gfn order; a non-zero
 * return of fn stops the walk and is returned. */
int sim_p2m_walk(const struct sim_p2m *p, uint64_t first, uint64_t last,
	     xgm_p2m_walk_fn fn, void *arg);
/* The same, but fn gets count consecutive leaves of e->order at once
 * (gfns and mfns following e's): a compact table's leaves in the range
 * in one call, any other leaf with count 1. */
typedef int (*sim_p2m_run_fn)(const struct xgm_p2m_entry *e, uint64_t count,
			      void *arg);
int sim_p2m_walk_runs(const struct sim_p2m *p, uint64_t first, uint64_t last,
		      sim_p2m_run_fn fn, void *arg);
uint64_t sim_p2m_leaf_count(const struct sim_p2m *p);
/* The highest gfn ever mapped (Xen's max_mapped_pfn): it never shrinks,
 * unmapping leaves it where it was. */
uint64_t sim_p2m_max_gfn(const struct sim_p2m *p);
/* Raises it to at least gfn (loading a state). */
void sim_p2m_raise_max_gfn(struct sim_p2m *p, uint64_t gfn);
/* Tables that hold nothing (left by clearing what they held): Xen keeps
 * them, and a walk reports the order of their empty slots (4K for an L1
 * table), so a later 2M write there is retried at 4K. fn gets the gfn and
 * order of the range each covers, in gfn order. */
typedef int (*sim_p2m_table_fn)(uint64_t gfn, unsigned int order, void *arg);
int sim_p2m_walk_empty_tables(const struct sim_p2m *p, sim_p2m_table_fn fn,
			      void *arg);
/* Re-creates one empty table covering [gfn, gfn + 2^order) (order 9, 18
 * or 27), with the tables above it; -EEXIST if anything is there. */
int sim_p2m_add_empty_table(struct sim_p2m *p, uint64_t gfn,
			    unsigned int order);

/* ---- domains (sim/domain.c) -------------------------------------------- */

/* A PV domain's guest-maintained pfn -> mfn list. For a PV dom0 the list is
 * scattered: pfn i maps to frame perm(i) of its allocation, perm a seeded
 * bijection computed on demand, so no per-frame array is ever stored. */
struct sim_pv_p2m {
	struct sim_mfn_run *runs; /* the allocation, in list order */
	size_t nr_runs;
	uint64_t nr_pages;
	bool scattered;
	uint64_t key;             /* permutation key (from the host seed) */
	struct sim_u64map overrides; /* pfn -> mfn, SIM_INVALID_MFN = hole */
};

#define SIM_INVALID_MFN UINT64_MAX

struct sim_grant {
	uint32_t gref;
	uint32_t grantee;
	uint64_t mfn;
	bool readonly;
	uint32_t maps; /* active grant_map()s */
};

/* Pages moved to a guest by the transfer extension (NOT IN STOCK XEN). */
struct sim_transfer {
	uint64_t gfn, mfn, dom0_pfn, count;
};

/* ram-mmio mappings (NOT IN STOCK XEN) are runs of guest gfns (struct
 * sim_runs) -> dom0 RAM frame (val[SIM_RMM_MFN]), each with a page
 * reference, and on a PVH dom0 the dom0 gfn it retyped (val[SIM_RMM_DOM0],
 * SIM_RUN_NONE on a PV dom0); both advance with the gfn. */
#define SIM_RMM_MFN  0
#define SIM_RMM_DOM0 1
#define SIM_RMM_STEP ((1u << SIM_RMM_MFN) | (1u << SIM_RMM_DOM0))

struct sim_domain {
	uint32_t domid;
	char name[XGM_DOMAIN_NAME_MAX];
	enum xgm_dom_type type;
	bool is_dom0;
	enum xgm_dom_state state;
	bool passthrough;              /* XEN_DOMCTL_CDF_iommu: an IOMMU context */
	uint64_t tot_pages, max_pages;
	uint32_t vcpus;
	uint64_t dirty_vcpus[2];       /* vcpus that ran: flush IPI targets */
	struct sim_rangeset iomem;     /* iomem_caps */
	struct sim_p2m *p2m;           /* translated domains */
	struct sim_p2m *iommu_pt;      /* AMD-Vi: separate IOMMU tables */
	struct sim_pv_p2m pv;          /* PV domains */
	struct sim_rangeset ioreq;     /* gfns claimed by an ioreq server */
	struct sim_grant *grants;      /* this domain's grant table */
	size_t nr_grants, cap_grants;
	struct sim_rangeset gpu_pfns;  /* dom0: pfns the GPU driver uses */
	struct sim_transfer *xfers;
	size_t nr_xfers, cap_xfers;
	struct sim_runs rmm;           /* ram-mmio mappings, by gfn */
	uint64_t orphaned_pages;       /* RAM unhooked by a special mapping */
	uint32_t pause_count;          /* Xen's d->pause_count (domctl pauses) */
	char crash_reason[160];
	struct xgm_counters ctr;
	struct xgm_counters ctr_base;  /* ctr as last read or saved: what
					* m->dom_ctr_base already counts */
	/* p2m lock: recursive, flush deferred to the outermost unlock */
	unsigned int lock_depth;
	bool need_flush;
	char *row;  /* the stored row as last read or written (sim/state_rows.c) */
	char *p2m_row;   /* the same of its p2m (or PV frame list), a row apart */
	bool frames_changed; /* its PV frame list or iomem changed since p2m_row */
};

bool sim_dom_translated(const struct sim_domain *d);
/* Lookups load a domain that is only in the source (m->src) on demand:
 * that is not a change of the host, so they take the model const. */
struct sim_domain *sim_dom_get(const struct sim_model *m, uint32_t domid);
/* A domain in memory with this id or this name; loads nothing. */
struct sim_domain *sim_dom_in_memory(const struct sim_model *m, uint32_t domid,
				     const char *name);
/* Is there such a domain, in memory or in the source (nothing loaded)? */
bool sim_dom_known(const struct sim_model *m, uint32_t domid);
/* Every domain of the source into memory, before a walk over m->doms. */
int sim_dom_load_all(const struct sim_model *m);
/* dom_get + xgm_fail(-ESRCH) naming the domid. */
int sim_dom_find(const struct sim_model *m, uint32_t domid,
	     struct sim_domain **out);
struct sim_domain *sim_dom_by_name(const struct sim_model *m, const char *name);
int sim_dom_add(struct sim_model *m, struct sim_domain *d);
void sim_dom_free(struct sim_domain *d);
/* Allocates and maps the domain's RAM (see topology.c for the layout). */
int sim_dom_build_ram(struct sim_model *m, struct sim_domain *d);
/* domain_crash(): state crashed, with the reason recorded. */
void sim_dom_crash(struct sim_domain *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sim_dom_info(const struct sim_model *m, const struct sim_domain *d,
	      struct xgm_domain_info *out);
/* XEN_DOMCTL_pausedomain / unpausedomain: counted, as Xen counts them; the
 * domain shows as paused while any pause is held. */
int sim_dom_pause(struct sim_model *m, uint32_t domid, bool pause);
uint32_t sim_dom_dirty_count(const struct sim_domain *d);
/* A PV domain's pfn -> mfn (SIM_INVALID_MFN for a hole). */
uint64_t sim_pv_pfn_to_mfn(const struct sim_pv_p2m *pv, uint64_t pfn);
/* The scattered permutation itself (exposed for tests). */
uint64_t sim_pv_permute(uint64_t idx, uint64_t n, uint64_t key);

/* ---- p2m writes with Xen's locking, flushing and IOMMU sync ------------ */
/* (sim/p2m_domain.c) */

/* A new, empty p2m of this host's kind: EPT on Intel (whole splits), NPT
 * on AMD (splits along the path). */
struct sim_p2m *sim_dp2m_new(const struct sim_model *m);
/* p2m_lock(): counts an acquisition. */
void sim_dp2m_lock(struct sim_model *m, struct sim_domain *d);
/* p2m_unlock_and_tlb_flush(): on EPT, at the outermost unlock, one flush
 * if a present entry changed, one IPI per dirty vcpu (NPT flushed at each
 * write already). */
void sim_dp2m_unlock(struct sim_model *m, struct sim_domain *d);
/* p2m_set_entry() on a locked p2m: writes the leaf, counts entries and
 * splits, marks the deferred flush (EPT) or flushes (NPT), and keeps an
 * IOMMU context in sync (Intel: IOTLB flush on shared tables; AMD: mirror
 * into separate tables). */
int sim_dp2m_set(struct sim_model *m, struct sim_domain *d, uint64_t gfn,
	     unsigned int order, const struct xgm_p2m_entry *e);
/* The memory type Xen gives a type on this host (epte_get_entry_emt() on
 * Intel, p2m_type_to_flags() on AMD). */
void sim_dp2m_memtype(const struct sim_model *m, enum xgm_p2m_type t,
		  uint8_t *emt, bool *ipat);
/* Fills a new entry of type t with Xen's access and memory type. */
struct xgm_p2m_entry sim_dp2m_entry(const struct sim_model *m, uint64_t mfn,
				enum xgm_p2m_type t);
bool sim_p2m_type_is_special(unsigned int t);
bool sim_p2m_type_is_ram(unsigned int t);
const char *sim_p2m_type_name(unsigned int t);
int sim_p2m_type_parse(const char *s, unsigned int *t);

/* ---- the hypercalls (sim/hypercall.c) ---------------------------------- */
/* The caller is always dom0 (the control domain). */

/* The domctls the sim issues: whether one takes Xen's global domctl
 * lock depends on the command and the version. */
enum sim_domctl {
	SIM_DOMCTL_IOMEM_PERMISSION,
	SIM_DOMCTL_MEMORY_MAPPING,
	SIM_DOMCTL_PAUSE,
};

/* do_domctl()'s domctl_lock_acquire() for cmd on d: counted as a lock
 * acquisition when this Xen takes it; true then. */
bool sim_domctl_lock(struct sim_model *m, struct sim_domain *d,
		     enum sim_domctl cmd);
int sim_hc_iomem_permission(struct sim_model *m, uint32_t domid, uint64_t mfn,
			uint64_t nr, bool allow);
/* One XEN_DOMCTL_memory_mapping: returns frames done (nr when complete;
 * Xen returns 0 then, the sim returns nr so callers never loop forever). */
int sim_hc_memory_mapping(struct sim_model *m, uint32_t domid, uint64_t gfn,
		      uint64_t mfn, uint64_t nr, bool add);
int sim_hc_add_foreign(struct sim_model *m, uint32_t domid, uint64_t gfn,
		   uint32_t foreign_domid, uint64_t foreign_gpfn);
int sim_hc_remove_from_physmap(struct sim_model *m, uint32_t domid, uint64_t gfn);
/* XENMEM_acquire_resource of target's ioreq server pages with no frame
 * list, issued by caller: Xen's checks, then the number of frames the
 * resource has (what xenforeignmemory_resource_size() asks). */
int sim_hc_acquire_resource_size(struct sim_model *m, uint32_t caller,
				 uint32_t target, uint64_t *nr_frames);

/* ---- grants (sim/grant.c) ---------------------------------------------- */

int sim_gnt_access(struct sim_model *m, uint32_t grantee, uint64_t mfn,
	       bool readonly, uint32_t *gref);
int sim_gnt_map(struct sim_model *m, uint32_t grantee, uint32_t gref, uint64_t gfn);
int sim_gnt_unmap(struct sim_model *m, uint32_t grantee, uint32_t gref,
	      uint64_t gfn);
int sim_gnt_end(struct sim_model *m, uint32_t gref);
struct sim_grant *sim_gnt_find(struct sim_domain *granter, uint32_t gref);
/* Whether nr more grants fit dom0's grant table; -ENOSPC naming the limit
 * when not (what a grant blob checks before it grants its first page). */
int sim_gnt_room(const struct sim_model *m, uint64_t nr);

/* Xen's gnttab_max_frames (xen/common/grant_table.c, opt_max_grant_frames:
 * 64 in 4.17 and master): the frames of a domain's grant table, which dom0
 * gets; a v1 entry is 8 bytes, 512 a frame. */
#define SIM_GNTTAB_MAX_FRAMES 64u
#define SIM_GNTTAB_FRAMES_LIMIT (1u << 16)
#define SIM_GREFS_PER_FRAME 512u

/* ---- IOMMU (sim/iommu.c) ----------------------------------------------- */

enum xgm_iommu_mode sim_iommu_mode(const struct sim_model *m,
			       const struct sim_domain *d);
/* The IOMMU permissions Xen derives from a p2m type (p2m_get_iommu_flags);
 * 0 means not mapped in the IOMMU. */
uint8_t sim_iommu_flags_of(unsigned int t);
/* AMD: mirrors a p2m write into the separate tables (counted). */
int sim_iommu_mirror(struct sim_model *m, struct sim_domain *d, uint64_t gfn,
		 unsigned int order, const struct xgm_p2m_entry *e);
/* Rebuilds the separate tables from the p2m (on load and at build). */
int sim_iommu_rebuild(struct sim_model *m, struct sim_domain *d);
int sim_iommu_walk(const struct sim_model *m, uint32_t domid, uint64_t first,
	       uint64_t last, xgm_p2m_walk_fn fn, void *arg);

/* ---- GPU (sim/buddy.c, sim/gpu.c) -------------------------------------- */

/* Binary buddy allocator over a power-of-two number of pages. */
struct sim_buddy {
	unsigned int max_order;
	struct sim_rangeset *free; /* per order: starts of free blocks */
	uint64_t free_pages;
};

int sim_buddy_init(struct sim_buddy *b, uint64_t pages);
void sim_buddy_fini(struct sim_buddy *b);
/* Returns the block offset (naturally aligned) or -ENOSPC. */
int sim_buddy_alloc(struct sim_buddy *b, unsigned int order, uint64_t *off);
void sim_buddy_free(struct sim_buddy *b, uint64_t off, unsigned int order);
/* Claims a specific block (loading a state): -EEXIST if not free. */
int sim_buddy_claim(struct sim_buddy *b, uint64_t off, unsigned int order);

struct sim_vram_block {
	uint64_t off;
	unsigned int order;
};

struct sim_buffer {
	uint64_t id;
	unsigned int gpu;
	uint64_t pages;
	enum xgm_placement place;
	uint32_t pins;
	uint64_t lru;                /* last use (model clock) */
	struct sim_vram_block *blocks; /* VRAM placement */
	size_t nr_blocks;
	struct sim_mfn_run *pfns;    /* SYS placement: dom0 pfn runs */
	size_t nr_pfns;
	struct sim_mfn_run *mfns;    /* SYS placement: backing mfns (recorded) */
	size_t nr_mfns;
	struct sim_u64map tags;      /* page -> tag (content stand-in) */
	/* mfns sorted by frame, with the page each run starts at: built on
	 * the first lookup of a frame, dropped whenever mfns changes. A PV
	 * dom0 scatters a buffer over 4K frames, and a scan of mfns per
	 * frame made a guest read of 1 GiB quadratic (minutes). */
	struct sim_page_run *by_mfn;
	size_t nr_by_mfn;
	char *row;  /* the stored row as last read or written */
	bool dirty; /* changed since row */
};

struct sim_gpu {
	char name[32];
	uint64_t vram_base_mfn;
	uint64_t vram_pages;
	struct sim_buddy buddy;
	struct sim_buffer **bufs;
	size_t nr_bufs, cap_bufs;
};

int sim_gpu_add(struct sim_model *m, const char *name, uint64_t vram_bytes,
	    uint64_t base_mfn);
void sim_gpu_free(struct sim_gpu *g);
struct sim_buffer *sim_gpu_buf(const struct sim_model *m, uint64_t id);
int sim_gpu_buf_alloc(struct sim_model *m, const char *card, uint64_t bytes,
		  enum xgm_placement where, uint64_t *id);
/* The same for a buffer that will be mapped at gfn (XGM_GFN_ANY: not known
 * yet): its frames are placed congruent to their gfns modulo 2M where the
 * memory allows, so that the mapping can use 2M entries; anywhere else. */
int sim_gpu_buf_alloc_at(struct sim_model *m, const char *card, uint64_t bytes,
			 enum xgm_placement where, uint64_t gfn, uint64_t *id);
int sim_gpu_buf_free(struct sim_model *m, uint64_t id);
int sim_gpu_buf_extents(const struct sim_model *m, uint64_t id,
		    struct xgm_extent **out, size_t *count);
int sim_gpu_buf_move(struct sim_model *m, uint64_t id, enum xgm_placement to);
int sim_gpu_buf_pin(struct sim_model *m, uint64_t id, bool pin);
int sim_gpu_buf_write_tag(struct sim_model *m, uint64_t id, uint64_t page,
		      uint64_t tag);
int sim_gpu_buf_read_tag(struct sim_model *m, uint64_t id, uint64_t page,
		     uint64_t *tag);
int sim_gpu_buf_copy(struct sim_model *m, uint64_t src, uint64_t dst);
/* What a machine frame holds: the tag of the buffer page behind mfn: 0 with *tag, -ENODATA when the
 * page holds no pattern (never filled), -ENOENT when no buffer holds mfn. */
int sim_gpu_frame_tag(const struct sim_model *m, uint64_t mfn, uint64_t *tag);
/* The system-page buffer holding mfn and the page it backs, or NULL. */
struct sim_buffer *sim_gpu_sys_page_of(const struct sim_model *m,
				       uint64_t mfn, uint64_t *page);
/* Re-creates the buddy state and sys-page bookkeeping of a loaded buffer
 * (the whole form, which derives them). */
int sim_gpu_buf_adopt(struct sim_model *m, struct sim_buffer *b);
/* A buffer of a row: the buddy and dom0's pfns, kept in their own rows,
 * already count it. */
int sim_gpu_buf_adopt_row(struct sim_model *m, struct sim_buffer *b);
/* Every buffer of the source into memory, checked against the free VRAM
 * and dom0's buffer pfns the rows keep. */
int sim_gpu_load_all(const struct sim_model *m);
uint64_t sim_gpu_free_bytes(const struct sim_gpu *g);
int sim_gpu_buf_list(const struct sim_model *m, uint64_t **ids, size_t *count);
int sim_gpu_card_info(const struct sim_model *m, const char *card,
		      uint64_t *vram_bytes, uint64_t *free_bytes);
/* Every card with its BAR, capabilities and buffers (gpu list / show). */
int sim_gpu_cards(const struct sim_model *m, json_t **out);

/* ---- ioreq and guest access (sim/ioreq.c) ------------------------------ */

/* enum xgm_guest_access and xgm_ioreq_fn are in backend.h. */

/* Would a guest access at gfn go to the domain's ioreq server (claimed,
 * nothing mapped there)? */
bool sim_ioreq_reaches_server(const struct sim_model *m, uint32_t domid,
			      uint64_t gfn);
int sim_ioreq_map_range(struct sim_model *m, uint32_t domid, uint64_t first,
		    uint64_t last, bool map);
unsigned int sim_ioreq_cost(enum xgm_guest_access kind, uint64_t gpa,
			uint64_t count);
/* The invalidate broadcast a removal from d's p2m (or a mapping over its
 * RAM) costs: by_itself when d's own hypercall made it. */
void sim_ioreq_invalidate(struct sim_domain *d, bool by_itself);
/* One guest access at gfn: mapped -> the frame's tag, no ioreq; unmapped
 * in an ioreq range -> ioreqs counted and the handler answers; unmapped
 * elsewhere -> Xen's null handler (reads all-ones). */
int sim_guest_access(struct sim_model *m, uint32_t domid, uint64_t gfn,
		 enum xgm_guest_access kind, bool write, uint64_t *tag);

/* What one guest `rep movs` cost (sim_guest_rep_movs). */
struct sim_movs_cost {
	uint64_t exits;  /* VM exits, one emulation each */
	uint64_t ioreqs; /* requests sent to the ioreq server */
	uint64_t mapped_ioreqs; /* of those, for a gfn that is mapped */
};

/*
 * A guest `rep movs` of reps elements of size bytes (1, 2, 4 or 8; both
 * addresses aligned to it; forward) from src_gpa to dst_gpa. Runs natively
 * while neither side is unmapped; an unmapped side exits and Xen emulates
 * (hvmemul_rep_movs()): against RAM, one rep ioreq with data_is_ptr up to
 * the nearer page end of either side; when either side is mmio_direct or
 * both are unmapped, x86_emulate moves one element per emulation, and the
 * mapped side's access is routed by address to the server claiming it,
 * as for an unmapped gfn. Counts ioreqs on the domain and calls the server
 * for each; content is not modelled (tags are per page).
 */
int sim_guest_rep_movs(struct sim_model *m, uint32_t domid, uint64_t dst_gpa,
		       uint64_t src_gpa, uint64_t reps, unsigned int size,
		       struct sim_movs_cost *cost);

/* ---- extensions NOT IN STOCK XEN (sim/extension.c) --------------------- */

/* Each refuses with -EOPNOTSUPP on a host created without it. */
const char *sim_ext_name(unsigned int bit);
int sim_ext_parse(const char *name, unsigned int *bit);
json_t *sim_ext_json(unsigned int extensions);

int sim_ext_ram_mmio_map(struct sim_model *m, uint32_t domid, uint64_t gfn,
		     uint64_t mfn, uint64_t nr);
int sim_ext_ram_mmio_unmap(struct sim_model *m, uint32_t domid, uint64_t gfn,
		       uint64_t nr);
int sim_ext_transfer(struct sim_model *m, uint32_t domid, uint64_t gfn,
		 uint64_t mfn, uint64_t nr);
int sim_ext_transfer_back(struct sim_model *m, uint32_t domid, uint64_t gfn,
		      uint64_t nr);

/* ---- cost model (sim/cost.c) ------------------------------------------- */

struct sim_cost_row {
	const char *name;   /* counter it multiplies */
	double ns;          /* modeled nanoseconds per unit */
	const char *source; /* where the figure comes from */
};

extern const struct sim_cost_row sim_cost_table[];
extern const size_t sim_cost_table_len;
/* Modeled time for these counters, in ns. Always labelled "modeled". */
double sim_modeled_ns(const struct xgm_counters *c);
json_t *sim_cost_json(void);
json_t *sim_counters_json(const struct xgm_counters *c);
int sim_counters_from_json(json_t *j, struct xgm_counters *c);
void sim_counters_add(struct xgm_counters *dst, const struct xgm_counters *src);
void sim_counters_sub(struct xgm_counters *dst, const struct xgm_counters *src);

/* ---- the model --------------------------------------------------------- */

/* Xen versions, where behaviour differs (xen-facts.md section 6). */
#define SIM_XEN(maj, min, pat) ((maj) * 10000u + (min) * 100u + (pat))
#define SIM_XEN_MASTER  SIM_XEN(4, 23, 0) /* 4.23-unstable (c447b73) */
#define SIM_XEN_DEFAULT SIM_XEN(4, 17, 7) /* what the rig boots */

/* "4.17.0".."4.17.7" or "master". */
int sim_xen_parse(const char *s, unsigned int *version);
/* "4.17.7" or "master"; a static string. */
const char *sim_xen_name(unsigned int version);

/*
 * Where the domains not yet in memory are (the state database): a command
 * loads only the domains it touches. The index names every domain the
 * source holds; load adds one to the model (sim_dom_add) and records the
 * first failure in err, which the operation then fails with.
 */
struct sim_dom_name {
	uint32_t domid;
	char name[XGM_DOMAIN_NAME_MAX];
};

struct sim_dom_source {
	int (*load)(void *arg, struct sim_model *m, uint32_t domid);
	void *arg;
	struct sim_dom_name *index;
	size_t nr, cap;
	int err;
};

/*
 * Where the buffers not yet in memory are (the state database), beside
 * the domains': a command loads the buffers it touches. What the source
 * answers is as of the last save: a buffer in memory is what memory says.
 */
struct sim_buf_source {
	/* Adds buffer id to the model (sim_gpu_buf_adopt_row). */
	int (*load)(void *arg, struct sim_model *m, uint64_t id);
	/* The buffer whose frames hold mfn; -ENOENT when none does. */
	int (*frame_owner)(void *arg, uint64_t mfn, uint64_t *id);
	/* gpu's unpinned buffers in VRAM, least recently used first, until
	 * fn returns non-zero (which is returned). */
	int (*by_lru)(void *arg, unsigned int gpu,
		      int (*fn)(uint64_t id, void *a), void *a);
	/* Every buffer, until fn returns non-zero. */
	int (*each)(void *arg, int (*fn)(uint64_t id, void *a), void *a);
	void *arg;
	int err;          /* the first failed load */
	bool all_loaded;
};

/* A buffer freed since the last save, with its row as the store had it
 * (NULL: never saved), so that the save deletes it and an undo can put it
 * back. */
struct sim_gone_buf {
	uint64_t id;
	unsigned int gpu;
	char *row;
};

struct sim_model {
	uint64_t seed;
	enum xgm_iommu_vendor iommu;
	unsigned int xen_version;    /* SIM_XEN(...) */
	unsigned int extensions;     /* XGM_EXT_*: 0 = stock Xen */
	unsigned int gnttab_max_frames; /* Xen's boot option: dom0's grant table */
	unsigned int paddr_bits;
	uint64_t ram_pages;          /* host RAM frames */
	uint64_t xen_pages;          /* frames Xen keeps */
	struct sim_frames frames;
	struct sim_runs refs;        /* mfn -> extra page references */
	struct sim_domain **doms;
	size_t nr_doms, cap_doms;
	uint32_t next_domid;
	struct sim_gpu **gpus;
	size_t nr_gpus;
	uint64_t next_buf_id;
	struct sim_u64map buf_index; /* buffer id -> struct sim_buffer * */
	uint64_t clock;              /* LRU clock */
	json_t *store;               /* the xenstore-like string map */
	struct xgm_counters host_ctr; /* work not charged to a domain */
	/* Every domain's counters, summed as of each domain's ctr_base: the
	 * host's total without reading every domain (sim_model_counters). */
	struct xgm_counters dom_ctr_base;
	xgm_move_notify_fn move_notify;
	void *move_arg;
	xgm_ioreq_fn ioreq_fn;
	void *ioreq_arg;
	struct sim_dom_source *src;  /* NULL: every domain is in memory */
	struct sim_buf_source *bsrc; /* NULL: every buffer is in memory */
	struct sim_gone_buf *gone;
	size_t nr_gone;
};

struct sim_model *sim_model_new(void);
void sim_model_free(struct sim_model *m);
struct sim_domain *sim_model_dom0(const struct sim_model *m);
/* Total counters (host + every domain), or one domain's. */
int sim_model_counters(const struct sim_model *m, int32_t domid,
		   struct xgm_counters *out);

/* ---- topology (sim/topology.c) ----------------------------------------- */

struct sim_topology {
	enum xgm_dom_type dom0_type;
	enum xgm_iommu_vendor iommu;
	uint64_t vram_bytes;
	uint64_t dom0_mem_bytes;
	const struct xgm_sim_guest *guests;
	size_t nr_guests;
	uint64_t seed;
	unsigned int extensions;     /* XGM_EXT_* */
	unsigned int xen_version;    /* SIM_XEN(...) */
	unsigned int gnttab_max_frames;
};

/* The default of xgm_sim_init(NULL). */
void sim_topo_default(struct sim_topology *t);
int sim_topo_validate(const struct sim_topology *t);
/* Builds a new host from a validated topology. */
int sim_topo_build(const struct sim_topology *t, struct sim_model **out);
bool sim_name_valid(const char *name);

/* ---- persistence (sim/persist.c) --------------------------------------- */

/* The whole model as one object: the interchange form (sim import, and
 * the tests'). It loads every domain of the source first. */
json_t *sim_persist_save(const struct sim_model *m);
/* Validates everything; -EBADMSG with an xgm_fail() message naming the
 * offending field on any malformed input. */
int sim_persist_load(json_t *body, struct sim_model **out);

/*
 * The same in parts, the rows of the state database (sim/state_rows.c):
 * the host's own fields (no domains, buffers or store), one domain, one
 * buffer. A model is loaded as host, then domains (each checked with
 * check_domain once the index of all domains is known), then
 * check_host, then buffers.
 */
json_t *sim_persist_host(const struct sim_model *m);
json_t *sim_persist_domain(const struct sim_domain *d);
/* Its p2m or PV frame list, a row apart; loading takes the two merged. */
json_t *sim_persist_domain_frames(const struct sim_domain *d);
json_t *sim_persist_buffer(const struct sim_buffer *b);
int sim_persist_load_host(json_t *body, struct sim_model **out);
int sim_persist_load_domain(struct sim_model *m, json_t *o, size_t idx,
			    struct sim_domain **out);
int sim_persist_check_domain(struct sim_model *m, struct sim_domain *d);
int sim_persist_check_host(struct sim_model *m, size_t nr_doms);
/* ids: the buffers loaded so far (refuses a repeated id). */
int sim_persist_load_buffer(struct sim_model *m, unsigned int gpu, json_t *o,
			    struct sim_u64map *ids);
/* One store entry: an absolute path with a string value. */
int sim_persist_store_check(const char *path, json_t *value);

/* ---- backend glue (sim/backend.c) -------------------------------------- */

struct sim_state_file;

struct sim_rows;

struct sim_priv {
	struct sim_state_file *file;
	struct sim_rows *rows;   /* what the model was read from */
	struct sim_model *m;
	enum xgm_access access;
	/* Locked per operation (the default), or for the context's life
	 * (XGM_CTX_NO_SYNC: a benchmark's private host, saved at commit). */
	bool per_op;
	/* A write operation failed: what is in memory may not be what was
	 * made durable, so the next operation reads the rows again. */
	bool stale;
	/* From a checkpoint to the operation's end: each row's text before
	 * its first write since (sim/state_rows.h), for restore. */
	json_t *undo;
	bool synced;         /* a journal phase committed since the checkpoint */
	/* XGM_CTX_SERVES: the servers this context makes are its own and
	 * outlive it only as Xen's would (sim/ioowner.c). */
	bool serves;
	/* sim_ioowner_stale's answer for owner_dom (-1: none), kept for one
	 * operation: a guest-read asks it once an access. */
	int64_t owner_dom;
	int owner_stale;
	long owner_pid;
};

/* sim/ioowner.c: the owner of each domain's server. update after a claim
 * changed (had, has: the domain claimed any range before, after);
 * stale: 1 (and *pid) when the owner is a process that is gone; reap_dom
 * drops a stale server's claims and record; reap all of them, listed. */
int sim_ioowner_update(struct sim_priv *p, uint32_t domid, bool had, bool has,
		       bool serves);
int sim_ioowner_stale(struct sim_priv *p, uint32_t domid, long *pid);
int sim_ioowner_reap_dom(struct sim_priv *p, uint32_t domid);
int sim_ioowner_reap(struct sim_priv *p, struct xgm_ioreq_reaped **out,
		     size_t *count);

#endif /* XGM_SIM_MODEL_H */
