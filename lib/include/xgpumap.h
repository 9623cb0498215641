/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * libxgpumap — map dom0 GPU buffers ("blob resources") into Xen guests.
 *
 * This header is what a VMM needs: contexts, domains, and blobs as typed
 * objects (map, move, unmap, move events). It needs no other library.
 * Documents for admins and support tools (JSON, with jansson) are in
 * <xgpumap-doc.h>; the simulated host, benchmarks and parsing helpers in
 * <xgpumap-sim.h>.
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
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XGM_API __attribute__((visibility("default")))

#define XGM_VERSION_MAJOR 0
#define XGM_VERSION_MINOR 1
#define XGM_VERSION_PATCH 0

/* Declares NAME of type struct TYPE, every byte zeroed (padding too, so a
 * newer library sees zeros where it knows more fields), sz set, and the
 * given fields. Fields past the sz a caller passes read as defaults; a
 * larger sz with a non-zero byte this library does not know is -EINVAL. */
#define XGM_OPTS(TYPE, NAME, ...)                                       \
	struct TYPE NAME = ({                                           \
		memset(&NAME, 0, sizeof(struct TYPE));                  \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ }; \
	})

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
 * Errors carry a negative errno; this says which file, domain or rule.
 * Within one call the first failure wins: what an undo reports after it
 * is logged, never put in its place. */
XGM_API const char *xgm_last_error(void);
XGM_API void xgm_clear_error(void);

/* What could put the last failure right, beside its message, for the
 * caller to say in its own words (the CLI: "run 'xgpumap recover'"). */
enum xgm_remedy {
	XGM_REMEDY_NONE,
	XGM_REMEDY_RECOVER,       /* an interrupted operation awaits xgm_recover() */
	XGM_REMEDY_DISCARD,       /* recover cannot act on journal record ARG:
				   * discarding it (xgm_recover_opts.discard)
				   * lets it recover the rest */
	XGM_REMEDY_SIM_RESET,     /* the simulated host's state cannot be used:
				   * a new host replaces it */
	XGM_REMEDY_SIM_EXTENSION, /* the simulated host lacks extension ARG: a
				   * host created with it has it */
	XGM_REMEDY_SIM_STATE,     /* nowhere to keep the simulated host: name a
				   * file (xgm_ctx_opts.sim_state) */
	XGM_REMEDY_FILL,          /* blob ARG was never filled: fill it first */
	XGM_REMEDY_STRATEGY_AUTO, /* the caller chose the strategy: one mapped
				   * with XGM_STRATEGY_AUTO may switch */
	XGM_REMEDY_P2M,           /* the p2m of domain ARG disagrees: its
				   * entries show how */
	XGM_REMEDY_DAEMON,        /* xgpumapd does not listen at ARG: start it */
	XGM_REMEDY_SIM_IMPORT,    /* ARG is the simulated host of an earlier
				   * xgpumap, in JSON: xgm_sim_import() reads it */
	XGM_REMEDY_NR,
};

/* The remedy of the last failure in this thread (XGM_REMEDY_NONE when
 * there is none) and, if arg is not NULL, its argument ("" if none). */
XGM_API enum xgm_remedy xgm_last_remedy(const char **arg);
/* A remedy's stable name, as documents carry it ("recover", "discard",
 * ...); NULL for XGM_REMEDY_NONE or an unknown value. */
XGM_API const char *xgm_remedy_name(enum xgm_remedy r);
/* The remedy a name of xgm_remedy_name() stands for; -EINVAL (and *out
 * XGM_REMEDY_NONE) for any other, NULL included. */
XGM_API int xgm_remedy_parse(const char *name, enum xgm_remedy *out);

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

/* What the caller intends to do with the context. Each call that reaches
 * the host is one operation: it takes the host-wide lock (shared for a
 * read, exclusive for a write) for its own duration only, sees what other
 * processes committed before it, and commits its own work before it
 * returns. So a context may live long (a VMM's) while CLI commands run. A
 * read-only context never writes; a writing call through it is -EROFS. */
enum xgm_access {
	XGM_ACCESS_READ = 0,
	XGM_ACCESS_WRITE,
};

/* Flags of struct xgm_ctx_opts. */
#define XGM_CTX_NO_CREATE (1u << 0) /* sim: fail with ENOENT, never create */
/* sim: for benchmarks that build large private hosts: the context locks
 * the state for its whole life, skips the journal's intermediate syncs and
 * writes only at xgm_ctx_commit(); a crash loses everything since open. */
#define XGM_CTX_NO_SYNC   (1u << 1)
/* The context hosts the ioreq servers of the blobs it serves for its
 * whole life (xgpumapd): on the sim, those servers are this process's and
 * outlive a kill -9 as Xen's do, until recover destroys them (on Xen they
 * always are the process's that made them). */
#define XGM_CTX_SERVES    (1u << 2)

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
	/* Talk to the daemon xgpumapd at this socket instead of running the
	 * engine here. Every call is then one request to it; the backend is
	 * the daemon's. NULL: $XGPUMAP_DAEMON if set; else, on the xen
	 * backend, the daemon at /run/xgpumap/xgpumapd.sock, and with none
	 * there a read-only context runs here and a writing one is -ENOTCONN
	 * (a Xen host is changed through the daemon, which holds the DRM
	 * files). "": run the engine here whatever the environment says (on
	 * Xen, buffers then live as long as the context). */
	const char *daemon;
};

struct xgm_ctx;

XGM_API int xgm_ctx_open(const struct xgm_ctx_opts *opts, struct xgm_ctx **out);
/* Every operation is durable when it returns, on every backend, so commit
 * has nothing left to do, except for a XGM_CTX_NO_SYNC context, whose
 * changes it saves (close without it discards them). -EROFS on a
 * read-only context. */
XGM_API int xgm_ctx_commit(struct xgm_ctx *ctx);
XGM_API void xgm_ctx_close(struct xgm_ctx *ctx);

XGM_API enum xgm_backend_kind xgm_ctx_backend(const struct xgm_ctx *ctx);
/* True when opening this context created a new simulated host. */
XGM_API bool xgm_ctx_created(const struct xgm_ctx *ctx);
/* Where the sim state lives; NULL for other backends. */
XGM_API const char *xgm_ctx_sim_state_path(const struct xgm_ctx *ctx);
/* Why the context's last call failed ("" when it succeeded): the same
 * message xgm_last_error() gave that thread, kept with the context. */
XGM_API const char *xgm_ctx_last_error(const struct xgm_ctx *ctx);

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
/* ---- blobs, typed: the API a VMM uses --------------------------------- */

/* Where a blob's buffer lives. */
enum xgm_placement {
	XGM_PLACE_VRAM, /* the GPU's VRAM: MMIO frames of its BAR */
	XGM_PLACE_SYS,  /* dom0 system RAM */
};

/* How the buffer's frames reach the guest (DESIGN section 4). */
enum xgm_strategy {
	XGM_STRATEGY_AUTO,         /* the cheapest the host supports */
	XGM_STRATEGY_MMIO,
	XGM_STRATEGY_GRANT,
	XGM_STRATEGY_IOREQ,
	XGM_STRATEGY_RAM_MMIO,
	XGM_STRATEGY_TRANSFER,
	XGM_STRATEGY_REVOKE_FAULT,
};

/* The memory type the guest should map the blob with (virtio-gpu's
 * map_info). */
enum xgm_cache {
	XGM_CACHE_WC,
	XGM_CACHE_UC,
	XGM_CACHE_WB,
};

XGM_API const char *xgm_placement_name(enum xgm_placement p);
XGM_API const char *xgm_strategy_name(enum xgm_strategy s);
XGM_API const char *xgm_cache_name(enum xgm_cache c);

/* What one operation cost, counted by the backend. */
struct xgm_counters {
	uint64_t hypercalls;
	uint64_t p2m_entries;   /* leaf entries written */
	uint64_t splits;        /* superpages shattered */
	uint64_t tlb_flushes;
	uint64_t ipis;
	uint64_t iommu_entries; /* separate IOMMU table entries written */
	uint64_t iotlb_flushes;
	uint64_t pages_copied;
	uint64_t lock_acquisitions;
	uint64_t ioreqs;
	uint64_t memory_type_changes; /* memory_type_changed(): EMT of the
				       * whole p2m redone, WBINVD on all CPUs */
};

/* ---- existing buffers ------------------------------------------------- */

/* A GPU buffer the caller creates before (and apart from) any blob, then
 * hands to xgm_blob_map() (opts.buffer), which adopts it: no unmap,
 * rollback or recover ever frees it, only the caller's xgm_buffer_free(). */
struct xgm_buffer;

struct xgm_buffer_opts {
	size_t sz;
	uint64_t size;                 /* bytes, a multiple of 4096 */
	enum xgm_placement placement;
	const char *card;              /* NULL: card0 */
};

XGM_API int xgm_buffer_create(struct xgm_ctx *ctx,
			      const struct xgm_buffer_opts *opts,
			      struct xgm_buffer **buf);
/* A handle of existing buffer id on card (NULL: any card); -ENOENT when
 * there is none. */
XGM_API int xgm_buffer_get(struct xgm_ctx *ctx, const char *card, uint64_t id,
			   struct xgm_buffer **buf);
/* Frees the buffer and, on success, the handle. -EBUSY while a blob maps
 * it, -EPERM when it is another user's (through the daemon). */
XGM_API int xgm_buffer_free(struct xgm_ctx *ctx, struct xgm_buffer *buf);
/* Drops the handle only; the buffer stays. */
XGM_API void xgm_buffer_put(struct xgm_buffer *buf);
XGM_API uint64_t xgm_buffer_id(const struct xgm_buffer *buf);
XGM_API const char *xgm_buffer_card(const struct xgm_buffer *buf);
XGM_API uint64_t xgm_buffer_size(const struct xgm_buffer *buf);
XGM_API enum xgm_placement xgm_buffer_placement(const struct xgm_buffer *buf);
/* A file descriptor that stands for the buffer, to pass to another process
 * or to the daemon over its socket (SCM_RIGHTS): on the sim, a sealed
 * memfd that carries the buffer's secret token; the caller closes it. */
XGM_API int xgm_buffer_export_fd(struct xgm_ctx *ctx,
				 const struct xgm_buffer *buf);
/* The buffer a passed fd stands for, validated by its kind: a sim memfd,
 * or a real dma-buf, recognised and bounded, which a backend that can
 * hold one (xen, in xgpumapd) keeps and records as the caller's existing
 * buffer, in system RAM with frames nobody can see (only ioreq maps it);
 * elsewhere -EOPNOTSUPP. -EBADF for an fd that stands for no buffer. It
 * needs a writable context. The fd stays the caller's. */
XGM_API int xgm_buffer_import_fd(struct xgm_ctx *ctx, int fd,
				 struct xgm_buffer **buf);
/* The buffer GEM handle handle of DRM device file drm_fd is: a VMM's open
 * file (a passed fd shares its GEM handle namespace), for a driver with
 * no PRIME export (bochs). On a real host the fd must be a card the GPU
 * backend manages and the handle a buffer on it; the buffer is then
 * recorded as the caller's existing buffer, which outlives the VMM's
 * handle until xgm_buffer_free(). On the simulated host the fd is what
 * xgm_sim_gem_export() gives. -EBADF for an fd that is neither, -ENOENT
 * for a handle the file has not, -ENODEV for another card. It needs a
 * writable context (it may record a buffer). The fd stays the caller's. */
XGM_API int xgm_buffer_import_gem(struct xgm_ctx *ctx, int drm_fd,
				  uint32_t handle, struct xgm_buffer **buf);

struct xgm_map_opts {
	size_t sz;
	/* The buffer: SIZE bytes (a multiple of 4096, required) allocated in
	 * placement on card (NULL: card0). */
	uint64_t size;
	enum xgm_placement placement;
	const char *card;
	/* Where in the domain's blob window: the byte offset the caller chose
	 * (virtio-gpu's RESOURCE_MAP_BLOB offset; a multiple of 4096), or,
	 * when offset_set is false, a place the library picks so that the
	 * largest entries fit. */
	bool offset_set;
	uint64_t offset;
	enum xgm_strategy strategy;
	enum xgm_cache cache;
	const char *label;
	/* Instead of allocating: adopt this existing buffer (size, placement
	 * and card are then the buffer's; a non-zero one must match). */
	const struct xgm_buffer *buffer;
};

struct xgm_move_opts {
	size_t sz;
	enum xgm_placement to;
	/* Pause the guest around the switch; -EOPNOTSUPP where the backend
	 * cannot pause a domain. */
	bool pause;
};

/* A mapped blob, as the library last saw it: a snapshot the caller owns
 * (free it with xgm_blob_free()); xgm_blob_move() refreshes it. */
struct xgm_blob;

/* Allocates a buffer as opts says and maps it into domid's blob window
 * (the window is created on first use). *blob is the new blob. */
XGM_API int xgm_blob_map(struct xgm_ctx *ctx, uint32_t domid,
			 const struct xgm_map_opts *opts, struct xgm_blob **blob);
/* Unmaps the blob from the guest and frees its buffer. The handle stays
 * the caller's to free. */
XGM_API int xgm_blob_unmap(struct xgm_ctx *ctx, struct xgm_blob *blob);
/* Moves the blob's buffer copy-then-switch to opts->to and updates *blob;
 * the move callback (if any) is told. -EBUSY when the strategy pins the
 * buffer. */
XGM_API int xgm_blob_move(struct xgm_ctx *ctx, struct xgm_blob *blob,
			  const struct xgm_move_opts *opts);
XGM_API void xgm_blob_free(struct xgm_blob *blob);

XGM_API uint32_t xgm_blob_domid(const struct xgm_blob *blob);
/* The blob's number in its domain: the N of "DOM:N". */
XGM_API uint32_t xgm_blob_id(const struct xgm_blob *blob);
XGM_API uint64_t xgm_blob_gfn(const struct xgm_blob *blob);
/* Its byte offset in the domain's blob window. */
XGM_API uint64_t xgm_blob_offset(const struct xgm_blob *blob);
XGM_API uint64_t xgm_blob_size(const struct xgm_blob *blob);
XGM_API enum xgm_strategy xgm_blob_strategy(const struct xgm_blob *blob);
XGM_API enum xgm_placement xgm_blob_placement(const struct xgm_blob *blob);
XGM_API enum xgm_cache xgm_blob_cache(const struct xgm_blob *blob);
/* How many p2m entries of order 0 (4K), 9 (2M) or 18 (1G) map the blob as
 * planned for its backing; 0 for another order. */
XGM_API uint64_t xgm_blob_entries(const struct xgm_blob *blob,
				  unsigned int order);
/* The counters of the last operation on the blob (map or move). */
XGM_API void xgm_blob_counters(const struct xgm_blob *blob,
			       struct xgm_counters *out);

/* A blob's buffer moved: by xgm_blob_move() or because the GPU driver
 * evicted it (the library has remapped it before telling). */
struct xgm_move_event {
	uint32_t domid;
	uint32_t id;
	uint64_t gfn;
	enum xgm_placement from;
	enum xgm_placement to;
	bool evicted;   /* the driver moved it, not a call */
};

typedef void (*xgm_move_fn)(const struct xgm_move_event *ev, void *user);

/* Calls fn for every move of a blob seen through ctx, in the thread that
 * caused it, before the call that moved it returns. NULL turns it off. */
XGM_API void xgm_ctx_set_move_callback(struct xgm_ctx *ctx, xgm_move_fn fn,
				       void *user);

#ifdef __cplusplus
}
#endif

#endif /* XGPUMAP_H */
