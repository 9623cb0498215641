/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The GPU side on a real host: DRM dumb buffers on /dev/dri/cardN.
 *
 * A buffer lives as long as the DRM file it was made on. The file is the
 * context's, opened when the first buffer is made and closed with the
 * context; on a Xen host that context is xgpumapd's, which lives as long
 * as the daemon, and every command reaches it over the daemon's socket.
 * GEM handles and framebuffer ids so stay valid across commands, and the
 * kernel's list of framebuffers on that file is the list of xgpumap's
 * buffers: no other record is needed.
 *
 * A buffer's id is (framebuffer id << 32) | GEM handle.
 */
#ifndef XGM_DRM_H
#define XGM_DRM_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "backend.h"

#define DRM_MAX_BARS 6
#define DRM_MAX_MAPS 16

struct drm_bar {
	unsigned int index;
	uint64_t start, size;
	bool prefetchable;
};

struct drm_mapping {
	uint32_t handle;
	void *addr;
	uint64_t size;
};

struct drm_gpu {
	char card[16];       /* "card0" */
	int fd;              /* the shared DRM file, -1 until needed */
	unsigned int minor;  /* debugfs dri/N */
	char bdf[32];        /* PCI address */
	char driver[32];
	struct drm_bar bar[DRM_MAX_BARS]; /* prefetchable memory BARs (VRAM) */
	unsigned int nr_bar;
	struct drm_mapping map[DRM_MAX_MAPS]; /* this process's mmaps */
	unsigned int nr_map;
};

void drm_gpu_init(struct drm_gpu *g);
void drm_gpu_close(struct drm_gpu *g);

/* Opens card (NULL: card0) for the context's life (create), or fails with
 * -ENOENT when it is not open yet (!create: no buffer was made on it). */
int drm_gpu_open(struct drm_gpu *g, const char *card, bool create);
/* Opens /dev/dri/card into g and keeps it if check(g), what the caller
 * needs of its driver, passes. */
int drm_gpu_take(struct drm_gpu *g, const char *card,
		 int (*check)(struct drm_gpu *g));

/* card.c: PCI address, VRAM BARs, driver of an open card; probe fails
 * for a driver xgpumap cannot place and locate buffers with. */
int drm_card_probe(struct drm_gpu *g);
/* The minor, PCI address and driver name only, whatever the driver. */
int drm_card_identify(struct drm_gpu *g);
bool drm_driver_known(const char *driver);
/* Every memory BAR of the PCI device bdf, from sysfs (*nr <= 6). */
int drm_card_mem_bars(const char *bdf, struct drm_bar *bars, unsigned int *nr);
/* Is [addr, addr+size) inside one VRAM BAR? Returns its index or -1. */
int drm_card_bar_of(const struct drm_gpu *g, uint64_t addr, uint64_t size);

/* buf.c */
int drm_buf_alloc(struct drm_gpu *g, const char *card, uint64_t bytes,
		  enum xgm_placement where, uint64_t *buf);
int drm_buf_free(struct drm_gpu *g, uint64_t buf);
int drm_buf_pin(struct drm_gpu *g, uint64_t buf, bool pin);
int drm_buf_write_tag(struct drm_gpu *g, uint64_t buf, uint64_t page,
		      uint64_t tag);
int drm_buf_read_tag(struct drm_gpu *g, uint64_t buf, uint64_t page,
		     uint64_t *tag);
/* src on gs into dst on gd (the same card, or two). */
int drm_buf_copy(struct drm_gpu *gs, uint64_t src, struct drm_gpu *gd,
		 uint64_t dst, uint64_t *pages);
/* This process's mapping of a buffer (mmap of the dumb buffer). */
int drm_buf_map(struct drm_gpu *g, uint32_t handle, uint64_t size, void **addr);
/* A mapping of the whole buffer that the caller keeps and munmaps (the
 * cache above drops its oldest mapping when full): *size is its size. */
int drm_buf_mmap(struct drm_gpu *g, uint64_t buf, void **addr, uint64_t *size);
/* Drops this process's mapping of handle, if it has one. */
void drm_buf_unmap(struct drm_gpu *g, uint32_t handle);
/* A framebuffer of bytes for handle on our file, scanned out once (which
 * moves a GEM-VRAM buffer into VRAM): *fb. */
int drm_buf_place(struct drm_gpu *g, uint32_t handle, uint64_t bytes,
		  uint32_t *fb);
/* Size of a buffer from its framebuffer (pitch * height). */
int drm_buf_size(struct drm_gpu *g, uint64_t buf, uint64_t *size);

/* ram.c: a card whose driver keeps dumb buffers in system RAM
 * (virtio-gpu), opened for the context's life; buffers on it, whose one
 * extent is XGM_MFN_UNSEEN frames long (backend.h). The rest of buf.c
 * (free, size, tags, mmap, copy) works on them as on any buffer of ours. */
int drm_ram_open(struct drm_gpu *g, const char *card);
/* Does driver keep dumb buffers in system RAM (virtio_gpu)? */
bool drm_ram_driver(const char *driver);
int drm_ram_alloc(struct drm_gpu *g, const char *card, uint64_t bytes,
		  uint64_t *buf);
int drm_ram_extents(struct drm_gpu *g, uint64_t buf, struct xgm_extent **out,
		    size_t *count);

/* locate.c: the machine address of a buffer in VRAM, from the driver's
 * debugfs (bus.offset=), cross-checked through the BAR with reads only
 * (a guest may map the buffer). */
int drm_buf_locate(struct drm_gpu *g, uint64_t buf, uint64_t *addr,
		   uint64_t *size);
/* The same for a buffer xgpumap has just made, which nobody else can see
 * yet: proven with a canary written through its mapping and found in the
 * BAR (and the words restored). */
int drm_buf_prove(struct drm_gpu *g, uint64_t buf);
int drm_buf_extents(struct drm_gpu *g, uint64_t buf, struct xgm_extent **out,
		    size_t *count);
/* fn for each located buffer of ours (a framebuffer on our file) but the
 * one of skip_fb, until one returns nonzero: that, or 0, or -errno when
 * the buffers cannot be listed. */
int drm_each_buf(struct drm_gpu *g, uint32_t skip_fb,
		 int (*fn)(uint64_t buf, uint64_t at, uint64_t size, void *arg),
		 void *arg);
/* Is [mfn, mfn+nr) inside one located xgpumap buffer? 0 or -EPERM. */
int drm_frames_owned(struct drm_gpu *g, uint64_t mfn, uint64_t nr);

/* gem.c: GEM handle handle of drm_fd, another process's open file of our
 * card (a passed fd shares its handle namespace), made a buffer of ours:
 * a handle of the same object on our file with a framebuffer, in VRAM and
 * located. *buf, *bytes. */
int drm_buf_import_gem(struct drm_gpu *g, int drm_fd, uint32_t handle,
		       uint64_t *buf, uint64_t *bytes);

/* info.c: every card for gpu list / gpu show (see struct xgm_gpu_ops
 * cards), with the buffers on ours (the context's files) where one is
 * open; a buffer is reported under the id known pairs with its
 * framebuffer on that file. */
struct drm_known {
	const struct drm_gpu *gpu;
	uint32_t fb;
	uint64_t id;
};
int drm_cards_json(struct drm_gpu *const *ours, size_t nr_ours,
		   const struct drm_known *known, size_t nr_known, json_t **out);
/* The one card whose DRM driver is driver (a dma-buf's exporter name:
 * '-' and '_' alike); -ENOENT when none or several are. */
int drm_card_of_driver(const char *driver, char *card, size_t len);

#endif /* XGM_DRM_H */
