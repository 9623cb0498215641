/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The mapping engine's internal view: blobs, blob windows, strategies, the
 * journal, and the calls into the backend (with the test hooks that inject
 * faults and crashes).
 */
#ifndef XGM_ENGINE_H
#define XGM_ENGINE_H

#include <jansson.h>

#include "ctx.h"

/* ---- backend calls (core/hv.c) ----------------------------------------- */

/*
 * Every call into the backend passes a fault point first. Test builds
 * (XGM_TEST_HOOKS, core/fault.c) read
 *   XGPUMAP_FAULT=NAME:N   the Nth call of NAME fails with -EIO
 *   XGPUMAP_CRASH=NAME:N   at the Nth call of NAME, sync and _exit(137),
 *                          which is what kill -9 at that moment leaves
 * NAME is a backend call ("memory_mapping", "buf_alloc", ...) or a journal
 * phase ("attach:intent", "migrate:copied", ...).
 */
#ifdef XGM_TEST_HOOKS
int fault_point(struct xgm_ctx *ctx, const char *name);
#else
static inline int fault_point(struct xgm_ctx *ctx, const char *name)
{
	return 0;
}
#endif

int hv_iomem_permission(struct xgm_ctx *ctx, uint32_t domid, uint64_t mfn,
			uint64_t nr, bool allow);
/* Maps or unmaps [gfn, gfn+nr) -> [mfn, ...) with as many memory_mapping
 * calls as Xen needs (it does <= 64 updates a call and returns progress),
 * as xc_domain_memory_mapping() loops. *done says how far it got, also
 * on failure, so the caller can undo exactly that much. */
int hv_memory_mapping_all(struct xgm_ctx *ctx, uint32_t domid, uint64_t gfn,
			  uint64_t mfn, uint64_t nr, bool add, uint64_t *done);
int hv_grant_access(struct xgm_ctx *ctx, uint32_t grantee, uint64_t mfn,
		    uint32_t *gref);
int hv_grant_map(struct xgm_ctx *ctx, uint32_t grantee, uint32_t gref,
		 uint64_t gfn);
int hv_grant_unmap(struct xgm_ctx *ctx, uint32_t grantee, uint32_t gref,
		   uint64_t gfn);
int hv_grant_end(struct xgm_ctx *ctx, uint32_t gref);
int hv_p2m_walk(struct xgm_ctx *ctx, uint32_t domid, uint64_t first,
		uint64_t last, xgm_p2m_walk_fn fn, void *arg);
int hv_counters(struct xgm_ctx *ctx, int32_t domid, struct xgm_counters *c);
int hv_sync(struct xgm_ctx *ctx);
int hv_checkpoint(struct xgm_ctx *ctx);
int hv_restore(struct xgm_ctx *ctx);
double hv_modeled_ns(struct xgm_ctx *ctx, const struct xgm_counters *c);

/* gfn: where it will be mapped (XGM_GFN_ANY: not known yet). */
int gpu_alloc(struct xgm_ctx *ctx, const char *card, uint64_t bytes,
	      enum xgm_placement where, uint64_t gfn, uint64_t *buf);
int gpu_free(struct xgm_ctx *ctx, uint64_t buf);
int gpu_extents(struct xgm_ctx *ctx, uint64_t buf, struct xgm_extent **ext,
		size_t *n);
/* -EREMOTE when buf is another running process's (xen: an engine in a
 * VMM's own process holds it): not this context's to unmap, free or
 * serve; 0 otherwise, whatever else the backend says (the caller's own
 * path meets that). */
int gpu_check_local(struct xgm_ctx *ctx, uint64_t buf);
int gpu_pin(struct xgm_ctx *ctx, uint64_t buf, bool pin);
int gpu_copy(struct xgm_ctx *ctx, uint64_t src, uint64_t dst);
/* Replaces "buffer N" in a backend's message with the blob that holds it. */
void gpu_name_victim(struct xgm_ctx *ctx, const char *card, char *msg,
		     size_t len);

/* Installs the ioreq server handler and the move notification of the
 * engine (core/hooks.c); called when a context opens. */
void engine_install_hooks(struct xgm_ctx *ctx);
/* Maps a blob whose buffer the driver moved to where it is now (the
 * eviction hook, and recover for a blob left "revoked"). */
struct blob;
int blob_remap_moved(struct xgm_ctx *ctx, struct blob *b, enum xgm_placement to);

/* ---- the store (core/store.c) ------------------------------------------ */

#define XGM_STORE_ROOT "/xgpumap"

/* JSON values under string keys of the backend's store. */
#define STORE_DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12))
/* A store value's text as JSON; NULL with the error recorded (what names
 * the value in the message). */
json_t *store_parse(const char *text, const char *what);
int store_get(struct xgm_ctx *ctx, const char *path, json_t **out);
int store_put(struct xgm_ctx *ctx, const char *path, json_t *value);
int store_del(struct xgm_ctx *ctx, const char *path);
/* Children names of dir, sorted; -ENOENT when there are none. */
int store_children(struct xgm_ctx *ctx, const char *dir, char ***names,
		   size_t *n);
void free_names(char **names, size_t n);
/* Every value below dir, recursively, into obj as "path": "value", in
 * the order of a walk that lists each directory sorted (store_children). */
int store_subtree(struct xgm_ctx *ctx, const char *dir, json_t *obj);
/* The number a store name is (a blob's N, a directory's domid). */
bool store_name_u32(const char *name, uint32_t *v);
/* store_del, where an absent key is already what was wanted. */
int store_drop(struct xgm_ctx *ctx, const char *path);
/* The same walk, each value to fn (a non-zero return stops it). */
typedef int (*store_each_fn)(const char *path, const char *value, void *arg);
int store_each(struct xgm_ctx *ctx, const char *dir, store_each_fn fn,
	       void *arg);

/* ---- strategies (core/strategy.c) -------------------------------------- */

enum strategy {
	STRAT_MMIO,
	STRAT_GRANT,
	STRAT_IOREQ,
	STRAT_RAM_MMIO,
	STRAT_TRANSFER,
	STRAT_REVOKE_FAULT,
	STRAT_NR,
	STRAT_AUTO = STRAT_NR,
};

enum cache_type {
	CACHE_WC,
	CACHE_UC,
	CACHE_WB,
};

struct blob;

struct strategy_ops {
	const char *name;
	bool vram_ok;       /* can map VRAM (MMIO) backing */
	bool sys_ok;        /* can map system RAM backing */
	bool pins;          /* the buffer cannot move while mapped */
	bool needs_server;  /* an ioreq server must answer the guest */
	bool maps_nothing;  /* nothing of the blob is in the p2m */
	unsigned int max_order; /* largest p2m entry it can use */
	unsigned int per_call;  /* p2m updates per hypercall (0: one each) */
	const char *note;
};

const struct strategy_ops *strategy_get(enum strategy s);
int strategy_parse(const char *name, enum strategy *out);
const char *strategy_name(enum strategy s);
const char *cache_name(enum cache_type c);
int cache_parse(const char *name, enum cache_type *out);
const char *placement_name(enum xgm_placement p);
int placement_parse(const char *name, enum xgm_placement *out);
/* The cheapest strategy the backend supports for this backing, or -errno
 * with the reason recorded. */
int strategy_auto(struct xgm_ctx *ctx, enum xgm_placement where,
		  enum strategy *out);
/* Why this backend cannot do s (NULL when it can). */
const char *strategy_unsupported(struct xgm_ctx *ctx, enum strategy s);

/* ---- blobs (core/blob.c) ----------------------------------------------- */

#define BLOB_LABEL_MAX 128

/* The kinds of operation whose cost a blob's record keeps. */
enum blob_op_kind {
	BLOB_OP_ATTACH,
	BLOB_OP_MIGRATE,
	BLOB_OP_DETACH,
	BLOB_OP_EVICT,
	BLOB_OP_NR,
};

/* What the last operation of one kind cost the blob. */
struct blob_op {
	bool done;                   /* one of this kind has run */
	struct xgm_counters c;       /* counted by the backend */
	double measured_us;
	double modeled_us;           /* NAN: the backend has no cost model */
	double blackout_us;          /* NAN but for a move */
};

const char *blob_op_name(enum blob_op_kind k);

struct blob {
	uint32_t domid;
	uint32_t n;                  /* per-domain number: id DOM:n */
	char dom_name[XGM_DOMAIN_NAME_MAX];
	uint64_t size;
	char label[BLOB_LABEL_MAX];
	char card[32];
	enum xgm_placement placement;
	enum strategy strategy;      /* the one in use */
	bool strategy_auto;          /* the user let xgpumap choose */
	enum cache_type cache;
	uint64_t gfn;
	uint64_t nr;                 /* frames */
	uint64_t generation;
	char state[16];              /* attaching, mapped, migrating, detaching */
	uint64_t buf;                /* the GPU buffer */
	struct xgm_extent *ext;      /* its backing, in buffer order */
	size_t nr_ext;
	uint32_t *grefs;             /* grant: one per frame */
	bool pinned;
	bool filled;                 /* fill wrote its pattern: fill_id */
	uint64_t fill_id;
	struct blob_op ops[BLOB_OP_NR]; /* stored apart from the record */
	bool ops_changed;            /* not written since an operation */
	bool span_saved;             /* its span is in the store (span.c) */
};

void blob_free(struct blob *b);

/* ---- operations on one blob, typed (attach.c, detach.c, migrate.c) ------ */

/* Allocates and maps as opts says; *res is the new record (blob_free it). */
int engine_attach(struct xgm_ctx *ctx, const char *dom,
		  const struct xgm_attach_opts *opts, struct blob *res);
/* Unmaps b and frees its buffer, journalled. */
int engine_detach(struct xgm_ctx *ctx, struct blob *b);
/* One copy-then-switch move of b to to; b is updated. */
int engine_move(struct xgm_ctx *ctx, struct blob *b, enum xgm_placement to,
		bool pause);
/* Drops what the ioreq server cached of the records (hooks.c). */
void engine_forget_ioreq_cache(struct xgm_ctx *ctx);
/* Tells the context's move callback (vmm.c). */
void engine_emit_move(struct xgm_ctx *ctx, const struct blob *b,
		      enum xgm_placement from, bool evicted);
/* The stored form, a compact JSON object (core/record.c); decoding
 * validates every field and -EBADMSG says which is wrong. */
json_t *blob_record(const struct blob *b);
int blob_from_record(json_t *r, struct blob *b);
/* The costs of b's operations, stored apart from its record. */
json_t *blob_ops_record(const struct blob *b);
int blob_ops_from_record(json_t *ops, struct blob *b);
/* The same as the store's text. */
char *blob_encode(const struct blob *b);
int blob_decode(const char *text, struct blob *b);
/* A backing as records and journal records keep it, [mfn, nr, ...]; and
 * back to a malloc'd array (*frames: their sum), -EBADMSG naming key when
 * malformed. */
json_t *extents_record(const struct xgm_extent *e, size_t n);
int extents_from_record(json_t *arr, const char *key, struct xgm_extent **out,
			size_t *n, uint64_t *frames);
int blob_load(struct xgm_ctx *ctx, uint32_t domid, uint32_t n, struct blob *b);
/* Writes b's record, and its costs when an operation changed them. */
int blob_save(struct xgm_ctx *ctx, struct blob *b);
int blob_delete(struct xgm_ctx *ctx, const struct blob *b);
/* The blob number at the end of key, below a directory of dlen
 * characters; -EBADMSG naming key when it is none. */
int blob_key_number(const char *key, size_t dlen, uint32_t *n);
/* The record text at key, which must be blob domid:n's, into b (its
 * costs are not read: they are a key of their own). */
int blob_record_text(const char *text, const char *key, uint32_t domid,
		     uint32_t n, struct blob *b);
/* The costs of each of all[n] (blob_load_all leaves them out). */
int blob_load_costs(struct xgm_ctx *ctx, struct blob *all, size_t n);
/* All blobs of a domain (domid >= 0) or of every domain, by gfn. */
int blob_load_all(struct xgm_ctx *ctx, int64_t domid, struct blob **out,
		  size_t *n);
void blob_free_all(struct blob *b, size_t n);
/* Points b at a new backing; takes ext. */
void blob_set_backing(struct blob *b, uint64_t buf, struct xgm_extent *ext,
		      size_t n, enum strategy s, enum xgm_placement p);
/* The blob named "vm1:3", with clear messages for what is not there. */
int blob_lookup(struct xgm_ctx *ctx, const char *id, struct blob *b);
/* xgm_domain_lookup() that says "no domain 'x'" when there is none. */
int domain_resolve(struct xgm_ctx *ctx, const char *dom,
		   struct xgm_domain_info *d);
/* "vm1:3" or "1:3" -> domain and number; -EINVAL when malformed. */
int blob_parse_id(struct xgm_ctx *ctx, const char *id,
		  struct xgm_domain_info *dom, uint32_t *n);

/* ---- blob windows (core/window.c) -------------------------------------- */

#define XGM_WINDOW_ALIGN (1ULL << 18)   /* 1 GiB in frames */
#define XGM_WINDOW_FRAMES (1ULL << 24)  /* 64 GiB */

struct window {
	uint64_t gfn;
	uint64_t nr;
};

/* The recorded window, -ENOENT when the domain has none yet. */
int window_get(struct xgm_ctx *ctx, uint32_t domid, struct window *w);
/* The recorded window, placing and recording it on first use. */
int window_ensure(struct xgm_ctx *ctx, const struct xgm_domain_info *d,
		  struct window *w);
/* A place for nr frames whose gfn is congruent to mfn0 modulo align
 * (frames), clear of every other blob. */
/* Where a blob sits in its window (core/span.c): all that placing
 * another needs of it. */
struct span {
	uint64_t gfn, nr;
	uint32_t n;
};

/* The spans of every blob of domid, sorted by gfn (*out: free it). */
int spans_load(struct xgm_ctx *ctx, uint32_t domid, struct span **out,
	       size_t *nr);
/* Written before b's first record, deleted after its last. */
int span_save(struct xgm_ctx *ctx, const struct blob *b);
int span_delete(struct xgm_ctx *ctx, uint32_t domid, uint32_t n);
/* A span's stored text [gfn, frames], bounded; key names it in errors. */
int span_decode(const char *text, const char *key, uint64_t *gfn,
		uint64_t *nr);
/* recover, with no journal record open: drops spans no record names. */
int spans_drop_stale(struct xgm_ctx *ctx, json_t *report);

int window_place(const struct window *w, const struct span *others,
		 size_t nr_others, uint64_t nr, uint64_t mfn0, uint64_t align,
		 uint64_t *gfn);

/* ---- journal (core/journal.c) ------------------------------------------ */

/* Writes the intent record for op on blob b (with extra data) and syncs:
 * from here on, recover can finish or undo it. Returns the record's seq. */
int journal_intent(struct xgm_ctx *ctx, const char *op, const struct blob *b,
		   json_t *extra, uint64_t *seq);
/* Updates the phase of an open record (and syncs). */
int journal_phase(struct xgm_ctx *ctx, uint64_t seq, const char *phase,
		  json_t *extra);
/* The operation is complete (or fully rolled back): drop the record. */
int journal_done(struct xgm_ctx *ctx, uint64_t seq);
int journal_list(struct xgm_ctx *ctx, json_t **out);
/* -EBUSY when an open journal record names this blob: nothing else may
 * touch it before recover has finished or undone that operation. */
int journal_blocks(struct xgm_ctx *ctx, const struct blob *b);
/* What is wrong with a journal record (written into buf), or NULL when
 * recover can act on it. */
const char *journal_problem(json_t *rec, char *buf, size_t len);

/* Buffers the backend holds that no blob record or open journal record
 * names (core/orphans.c); *ids malloc'd, NULL when none. */
int orphan_buffers(struct xgm_ctx *ctx, uint64_t **ids, size_t *count);
/* The same, with the blob records already loaded (check has them). */
int orphan_buffers_of(struct xgm_ctx *ctx, const struct blob *blobs,
		      size_t nb, uint64_t **ids, size_t *count);
/* What gpu_free() asks first, so that a guest never keeps a frame that
 * was freed: ends the grants of buf's frames that nobody maps, then 0 when
 * nothing reaches a frame of buf any more (no p2m or IOMMU entry of any
 * domain but dom0's own view, no page reference, no grant); -EBUSY naming
 * the domain, gfn range and frames otherwise. */
int buffer_release(struct xgm_ctx *ctx, uint64_t buf);
/* Unmaps every mapping in a blob window that no record covers, with the
 * strategies' own unmap; one report row per run undone. */
int orphan_mappings_undo(struct xgm_ctx *ctx, json_t *report);
/* Frees a buffer no record names, after revoking the iomem permission a
 * lost record would have revoked (refusing, as gpu_free does, while
 * anything still maps it). */
int orphan_buffer_free(struct xgm_ctx *ctx, uint64_t buf);

#endif /* XGM_ENGINE_H */
