// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A GEM handle another process made, taken as a buffer of ours.
 *
 * The process (a VMM) passes its open DRM file: the fd is that very file,
 * so its GEM handles mean the same objects here. Before anything changes
 * the fd is proven to be our card (the same device as our file: a card
 * the backend manages, not another GPU, not a render node), the driver
 * ours, the handle a dumb buffer (MODE_MAP_DUMB), and its size the one
 * the kernel's mmap check allows: an mmap of the handle's offset longer
 * than the object is refused, so the largest that is not is its size
 * (found by halving, with PROT_NONE mappings that touch nothing).
 *
 * Then the object gets a handle on our file without a global name (no
 * GEM_FLINK, which any authenticated client could open): a framebuffer
 * made for it on the passed file is read back on ours with GETFB, which
 * gives the caller (root, CAP_SYS_ADMIN) a handle of the same object, and
 * removed again. On our file it gets a framebuffer and is placed and
 * located as a buffer we made (buf.c, locate.c), but only read: the VMM
 * can see it, so no canary is written. Its id is ours, (fb << 32) |
 * handle, and it lives on when the VMM closes its handle. One object
 * taken twice would be two buffers: refused, by where it is in VRAM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

#include "backend.h"
#include "util/log.h"
#include "drm/drm.h"

#define PAGE 4096ULL
#define DRM_MAJOR 226
#define DRM_PRIMARY_MINORS 64 /* 64..: control, 128..: render nodes */
#define MAX_DIM 8192u

/* Opens our card as the fd's, and proves the fd is that device. */
static int same_card(struct drm_gpu *g, int fd)
{
	struct stat theirs, ours;
	char card[16];
	drmVersionPtr v;
	int ret;

	if (fstat(fd, &theirs) || !S_ISCHR(theirs.st_mode) ||
	    major(theirs.st_rdev) != DRM_MAJOR)
		return xgm_fail(-EBADF, "the fd is not a DRM device");
	if (minor(theirs.st_rdev) >= DRM_PRIMARY_MINORS)
		return xgm_fail(-ENODEV, "the DRM fd is node %u, not a card's "
				"primary node (a render node has no "
				"framebuffers): pass the fd of /dev/dri/cardN",
				minor(theirs.st_rdev));
	snprintf(card, sizeof(card), "card%u", minor(theirs.st_rdev));
	if (g->fd >= 0 && strcmp(card, g->card))
		return xgm_fail(-ENODEV, "the DRM fd is open on %s; this "
				"context's GPU is %s", card, g->card);
	ret = drm_gpu_open(g, card, true);
	if (ret)
		return ret;
	if (fstat(g->fd, &ours) || ours.st_rdev != theirs.st_rdev)
		return xgm_fail(-ENODEV, "the DRM fd (device %u:%u) is not %s",
				major(theirs.st_rdev), minor(theirs.st_rdev),
				g->card);
	v = drmGetVersion(fd);
	ret = !v ? xgm_fail(-EBADF, "the DRM fd answers no DRM_IOCTL_VERSION: "
			    "%s", strerror(errno)) :
	      strcmp(v->name ? v->name : "", g->driver) ?
	      xgm_fail(-ENODEV, "the DRM fd's driver is %s, not %s's %s",
		       v->name ? v->name : "?", g->card, g->driver) : 0;
	drmFreeVersion(v);
	return ret;
}

/* Can the handle's mmap offset be mapped pages long? */
static int maps(int fd, uint64_t offset, uint64_t pages)
{
	void *a = mmap(NULL, pages * PAGE, PROT_NONE, MAP_SHARED, fd,
		       (off_t)offset);

	if (a == MAP_FAILED)
		return errno == EINVAL ? 0 : -errno;
	munmap(a, pages * PAGE);
	return 1;
}

/* The handle is a dumb buffer of the fd's file, *bytes long. */
static int gem_size(struct drm_gpu *g, int fd, uint32_t handle,
		    uint64_t *bytes)
{
	struct drm_mode_map_dumb md = { .handle = handle };
	uint64_t lo = 0, hi = 1, limit = 0;
	int ret = 0;

	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md))
		return errno == ENOENT ?
		       xgm_fail(-ENOENT, "no GEM handle %u on that DRM file of "
				"%s", handle, g->card) :
		       xgm_fail(-EBADF, "GEM handle %u of %s is no dumb buffer: "
				"%s", handle, g->card, strerror(errno));
	for (unsigned int i = 0; i < g->nr_bar; i++)
		if (g->bar[i].size > limit)
			limit = g->bar[i].size;
	limit /= PAGE;
	/* lo pages map, hi do not: grow hi, then halve between. */
	while (hi <= limit && (ret = maps(fd, md.offset, hi)) == 1) {
		lo = hi;
		hi *= 2;
	}
	if (hi > limit)
		hi = limit + 1;
	while (ret >= 0 && hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		ret = maps(fd, md.offset, mid);
		if (ret >= 0)
			*(ret ? &lo : &hi) = mid;
	}
	if (ret < 0)
		return xgm_fail(ret, "%s: cannot map GEM handle %u to learn its "
				"size: %s", g->card, handle, strerror(-ret));
	if (!lo || lo == limit)
		return xgm_fail(-EBADF, "%s: GEM handle %u maps %s", g->card,
				handle, lo ? "beyond the largest VRAM BAR" :
				"not one page");
	*bytes = lo * PAGE;
	return 0;
}

/* A handle on our file of the object handle is on fd's (see above). */
static int our_handle(struct drm_gpu *g, int fd, uint32_t handle,
		      uint64_t bytes, uint32_t *mine)
{
	static const uint32_t widths[] = { 1024, 2048, 4096, 8192, 640, 800 };
	uint32_t w = 0, fb;
	drmModeFB *f;

	for (size_t i = 0; !w && i < sizeof(widths) / sizeof(*widths); i++)
		if (!(bytes % (widths[i] * 4ULL)) &&
		    bytes / (widths[i] * 4ULL) <= MAX_DIM)
			w = widths[i];
	if (!w)
		return xgm_fail(-EINVAL, "%s: a %llu-byte GEM buffer is no "
				"framebuffer shape (32 bpp, width 640..8192)",
				g->card, (unsigned long long)bytes);
	if (drmModeAddFB(fd, w, (uint32_t)(bytes / (w * 4ULL)), 24, 32, w * 4,
			 handle, &fb))
		return xgm_fail(-errno, "%s: cannot make a framebuffer of GEM "
				"handle %u on the passed file: %s", g->card,
				handle, strerror(errno));
	f = drmModeGetFB(g->fd, fb);
	*mine = f ? f->handle : 0;
	drmModeFreeFB(f);
	drmModeRmFB(fd, fb);
	if (!*mine)
		return xgm_fail(-EPERM, "%s: GETFB gave no handle of GEM handle "
				"%u's object (it needs CAP_SYS_ADMIN: run as "
				"xgpumapd does, as root)", g->card, handle);
	return 0;
}

struct overlap {
	uint64_t at, size, buf;
};

static int overlaps(uint64_t buf, uint64_t at, uint64_t size, void *arg)
{
	struct overlap *o = arg;

	if (at >= o->at + o->size || o->at >= at + size)
		return 0;
	o->buf = buf;
	return 1;
}

int drm_buf_import_gem(struct drm_gpu *g, int fd, uint32_t handle,
		       uint64_t *buf, uint64_t *bytes)
{
	struct drm_gem_close gc = { 0 };
	struct overlap o = { 0 };
	uint32_t fb = 0;
	int ret;

	ret = same_card(g, fd) ?: gem_size(g, fd, handle, bytes) ?:
	      our_handle(g, fd, handle, *bytes, &gc.handle);
	if (ret)
		return ret;
	ret = drm_buf_place(g, gc.handle, *bytes, &fb) ?:
	      drm_buf_locate(g, (uint64_t)fb << 32 | gc.handle, &o.at, &o.size);
	if (!ret) {
		ret = drm_each_buf(g, fb, overlaps, &o);
		xgm_clear_error();
		if (ret > 0)
			ret = xgm_fail(-EEXIST, "%s: GEM handle %u is buffer "
				       "%#llx already (taken before)", g->card,
				       handle, (unsigned long long)o.buf);
		else if (ret < 0)
			ret = xgm_fail(ret, "%s: cannot list xgpumap's buffers "
				       "to check GEM handle %u is new", g->card,
				       handle);
	}
	if (ret) {
		drm_buf_unmap(g, gc.handle);
		if (fb)
			drmModeRmFB(g->fd, fb);
		drmIoctl(g->fd, DRM_IOCTL_GEM_CLOSE, &gc);
		return ret;
	}
	*buf = (uint64_t)fb << 32 | gc.handle;
	return 0;
}
