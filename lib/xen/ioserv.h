/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * An ioreq server over one guest's blob window, run from dom0 user space
 * on stock Xen 4.17 (notes/xen-ioreq.md), and the revoke-fault blob table
 * that answers it.
 *
 * Made for a poll loop: ioserv_fd() is readable when a vCPU has a request
 * (or Xen an invalidate), and ioserv_dispatch() answers every pending one
 * without blocking. Each guest access reaches the caller's handler one
 * element at a time (1, 2, 4 or 8 bytes at a guest-physical address);
 * data_is_ptr requests are copied to and from the guest's own page here.
 *
 * The shared ioreq page belongs to Xen and the guest decides what lands
 * in it (sizes, counts, addresses): every field is copied out once and
 * checked before use, and nothing read from it indexes dom0 memory.
 */
#ifndef XGM_XEN_IOSERV_H
#define XGM_XEN_IOSERV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ioserv;

/*
 * Answers one element of a guest access at gpa: a read fills *val (size
 * bytes, little-endian in the low bytes), a write applies it. Returns 0,
 * or -ENOENT where no blob lies (the server then answers all-ones and
 * drops the write, counted as a gap), or another negative errno (answered
 * like a gap, counted as an error). Called while the vCPU waits.
 */
typedef int (*ioserv_access_fn)(void *arg, uint64_t gpa, unsigned int size,
				bool write, uint64_t *val);

struct ioserv_stats {
	uint64_t reads, writes;       /* IOREQ_TYPE_COPY requests, by dir */
	uint64_t ptr_reqs;            /* of which data_is_ptr */
	uint64_t elements;            /* handler calls (rep counts) */
	uint64_t bytes_read, bytes_written;
	uint64_t invalidates;         /* IOREQ_TYPE_INVALIDATE completed */
	uint64_t other;               /* PIO, PCI config, time offset... */
	uint64_t gap_reads, gap_writes; /* answered all-ones / dropped */
	uint64_t bad;                 /* refused: size, count, address, ptr */
	uint64_t handler_errors;
	uint64_t notifies;            /* event channel kicks received */
};

/*
 * Creates, maps, claims [first_gfn, last_gfn] and enables an ioreq server
 * for domid, and binds one event channel per vCPU. Undone completely on
 * failure (negative errno, message in xgm_last_error).
 */
int ioserv_create(uint32_t domid, uint64_t first_gfn, uint64_t last_gfn,
		  ioserv_access_fn fn, void *arg, struct ioserv **out);
/* Claims (or releases) one more range, [first_gfn, last_gfn]: a range
 * is released exactly as it was claimed. Claiming one twice is a no-op. */
int ioserv_claim(struct ioserv *s, uint64_t first_gfn, uint64_t last_gfn,
		 bool claim);
/* How many ranges the server claims, and range i of them (in gfns). */
size_t ioserv_ranges(const struct ioserv *s);
void ioserv_range_at(const struct ioserv *s, size_t i, uint64_t *first_gfn,
		     uint64_t *last_gfn);
/* The fd to poll for POLLIN. */
int ioserv_fd(const struct ioserv *s);
/* Answers every pending request; returns how many, or a negative errno. */
int ioserv_dispatch(struct ioserv *s);
void ioserv_get_stats(const struct ioserv *s, struct ioserv_stats *out);
unsigned int ioserv_vcpus(const struct ioserv *s);
unsigned int ioserv_id(const struct ioserv *s);
/* Disables and destroys the server (a guest access then reads all-ones
 * instead of waiting), and frees everything. NULL is fine. */
void ioserv_destroy(struct ioserv *s);

/* For unit tests: one request (a struct ioreq) decoded and answered as
 * the server would, with no Xen behind it (data_is_ptr copies fail). */
struct ioreq;
void ioserv_handle_request(uint64_t first_gfn, uint64_t last_gfn,
			   ioserv_access_fn fn, void *arg, struct ioreq *r,
			   struct ioserv_stats *st);

/* ---- iofault: the blobs of one window, as the handler above ---- */

struct iofault;

/* XEN_DOMCTL_memory_mapping of nr frames: returns frames done (> 0, may
 * be fewer than nr; it is called again for the rest) or a negative
 * errno. The xen backend's xen_memory_mapping() has this shape. */
typedef int (*iofault_map_fn)(void *arg, uint32_t domid, uint64_t gfn,
			      uint64_t mfn, uint64_t nr, bool add);

/* A blob with no machine frames: served only (ioreq), never mapped. */
#define IOFAULT_NO_MFN UINT64_MAX
/* Revoke-fault maps on first touch at this granularity (2 MiB). */
#define IOFAULT_CHUNK_PAGES 512u

struct iofault_stats {
	uint64_t served;           /* elements answered from a backing */
	uint64_t first_touch_maps; /* chunks mapped on first touch */
	uint64_t map_ns_total, map_ns_max; /* time inside map_fn adds */
	uint64_t revokes;          /* chunks unmapped */
	uint64_t map_errors;
};

int iofault_create(uint32_t domid, iofault_map_fn map, void *map_arg,
		   struct iofault **out);
/*
 * Pauses (true) or unpauses the guest around a first-touch map (arg is
 * map_arg). On the rig, Xen 4.17.7 crashed a guest whose other vCPU took
 * a nested page fault on the chunk while the add ran (svm.c:1786: the
 * fault finds p2m_mmio_direct); a pause waits until every vCPU is out of
 * Xen. NULL (the default): no pause.
 */
typedef int (*iofault_pause_fn)(void *arg, uint32_t domid, bool pause);
void iofault_set_pause(struct iofault *f, iofault_pause_fn pause);
void iofault_destroy(struct iofault *f);
/*
 * A blob of nr pages at gfn, backed by dom0's mapping va (nr pages) and,
 * for VRAM, by the machine frames [mfn, mfn + nr) that first touch maps
 * into the guest. The caller has checked the frames (they are what Xen
 * will map) and keeps va valid until the blob is switched or removed.
 */
int iofault_add(struct iofault *f, uint64_t gfn, uint64_t nr, void *va,
		uint64_t mfn);
/* Unmaps every chunk of the blob at gfn that first touch mapped: the
 * next access faults to the server again. */
int iofault_revoke(struct iofault *f, uint64_t gfn);
/* New backing of the blob at gfn (after revoke and copy). */
int iofault_switch(struct iofault *f, uint64_t gfn, void *va, uint64_t mfn);
/* Revokes and forgets the blob at gfn. */
int iofault_remove(struct iofault *f, uint64_t gfn);
void iofault_get_stats(const struct iofault *f, struct iofault_stats *out);
/* The ioserv_access_fn over f (arg = f). */
int iofault_access(void *arg, uint64_t gpa, unsigned int size, bool write,
		   uint64_t *val);

#endif /* XGM_XEN_IOSERV_H */
