// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Dumb buffers in system RAM, on a card whose driver keeps them there
 * (virtio-gpu: shmem-backed GEM objects, no VRAM to move into).
 *
 * Such a buffer never moves, so it needs no scanout to place and nothing
 * to pin; its frames are dom0 RAM that user space cannot see (the driver
 * mmaps it VM_PFNMAP, so pagemap shows a hole, and a PV dom0's pfns are
 * not machine frames anyway): its extent says XGM_MFN_UNSEEN and only a
 * served strategy (ioreq) takes it. It gets a framebuffer all the same,
 * never shown, because the framebuffers of the context's file are the
 * list of xgpumap's buffers (drm.h) and hold each one's size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

#include "backend.h"
#include "util/log.h"
#include "drm/drm.h"

#define PAGE 4096ULL
#define MAX_DIM 8192u /* virtio-gpu's mode_config max width and height */

static const char *const ram_drivers[] = { "virtio_gpu" };

bool drm_ram_driver(const char *driver)
{
	for (size_t i = 0; i < sizeof(ram_drivers) / sizeof(*ram_drivers); i++)
		if (!strcmp(driver, ram_drivers[i]))
			return true;
	return false;
}

/* What a system-RAM card's driver must be. */
static int ram_check(struct drm_gpu *g)
{
	int ret = drm_card_identify(g);

	if (!ret && !drm_ram_driver(g->driver))
		ret = xgm_fail(-EOPNOTSUPP, "%s: driver %s: xgpumap makes "
			       "system-RAM buffers only on drivers that keep "
			       "dumb buffers there (virtio_gpu)%s", g->card,
			       g->driver, drm_driver_known(g->driver) ?
			       "; this card's buffers go in VRAM" : "");
	return ret;
}

int drm_ram_open(struct drm_gpu *g, const char *card)
{
	if (!card || !*card || strlen(card) >= sizeof(g->card) ||
	    strchr(card, '/'))
		return xgm_fail(-EINVAL, "no card '%s'", card ? card : "");
	if (g->fd >= 0)
		return strcmp(card, g->card) ?
		       xgm_fail(-EOPNOTSUPP, "one system-RAM card per context: "
				"%s is open, not %s", g->card, card) : 0;
	return drm_gpu_take(g, card, ram_check);
}

/* Width (32 bpp) of a framebuffer of exactly bytes, at most MAX_DIM high. */
static int ram_shape(uint64_t bytes, uint32_t *w, uint32_t *h)
{
	static const uint32_t widths[] = { 1024, 2048, 4096, 8192 };

	for (size_t i = 0; bytes && i < sizeof(widths) / sizeof(*widths); i++) {
		uint64_t pitch = widths[i] * 4ULL;

		if (!(bytes % pitch) && bytes / pitch <= MAX_DIM) {
			*w = widths[i];
			*h = (uint32_t)(bytes / pitch);
			return 0;
		}
	}
	return xgm_fail(-EINVAL, "%llu bytes is no framebuffer shape (32 bpp, "
			"4096..32768 bytes a line, at most %u lines)",
			(unsigned long long)bytes, MAX_DIM);
}

int drm_ram_alloc(struct drm_gpu *g, const char *card, uint64_t bytes,
		  uint64_t *buf)
{
	struct drm_mode_create_dumb cd = { .bpp = 32 };
	struct drm_mode_destroy_dumb dd = { 0 };
	uint32_t fb = 0;
	int ret = drm_ram_open(g, card) ?: ram_shape(bytes, &cd.width, &cd.height);

	if (ret)
		return ret;
	if (drmIoctl(g->fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd))
		return xgm_fail(errno == ENOMEM ? -ENOSPC : -errno, "%s: cannot "
				"create a %ux%u dumb buffer: %s", g->card, cd.width,
				cd.height, strerror(errno));
	if (cd.size != bytes || cd.pitch != cd.width * 4)
		ret = xgm_fail(-EINVAL, "%s: driver made a %llu-byte buffer "
			       "(pitch %u) for %llu bytes", g->card,
			       (unsigned long long)cd.size, cd.pitch,
			       (unsigned long long)bytes);
	else if (drmModeAddFB(g->fd, cd.width, cd.height, 24, 32, cd.pitch,
			      cd.handle, &fb))
		ret = xgm_fail(-errno, "%s: cannot add a framebuffer: %s",
			       g->card, strerror(errno));
	if (!ret) {
		*buf = (uint64_t)fb << 32 | cd.handle;
		return 0;
	}
	dd.handle = cd.handle;
	drmIoctl(g->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	return ret;
}

int drm_ram_extents(struct drm_gpu *g, uint64_t buf, struct xgm_extent **out,
		    size_t *count)
{
	uint64_t size;
	int ret = drm_buf_size(g, buf, &size);

	if (ret)
		return ret;
	*out = malloc(sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)[0] = (struct xgm_extent){ XGM_MFN_UNSEEN, size / PAGE };
	*count = 1;
	return 0;
}
