// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Dumb buffers in VRAM on a GEM-VRAM driver (bochs).
 *
 * A new GEM-VRAM buffer is placed in system memory; the driver moves it
 * into VRAM and pins it there while it is scanned out (prepare_fb). So an
 * allocation creates the buffer and a framebuffer for it, scans it out
 * once (it moves into VRAM), and gives the screen back to whatever showed
 * before. Unpinned, it stays where it is until VRAM runs short; `check`
 * re-locates buffers and reports one the driver moved.
 *
 * Pinning is scanout too, and the card has one CRTC: one buffer at a time
 * can be pinned, and buf_pin says so instead of pretending.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

#include "backend.h"
#include "util/log.h"
#include "drm/drm.h"

#define PAGE 4096ULL
#define BUF_FB(b) ((uint32_t)((b) >> 32))
#define BUF_HANDLE(b) ((uint32_t)(b))
#define MAX_DIM 8192u /* bochs' mode_config max width and height */

void drm_gpu_init(struct drm_gpu *g)
{
	memset(g, 0, sizeof(*g));
	g->fd = -1;
}

void drm_gpu_close(struct drm_gpu *g)
{
	for (unsigned int i = 0; i < g->nr_map; i++)
		munmap(g->map[i].addr, g->map[i].size);
	g->nr_map = 0;
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
}

int drm_gpu_open(struct drm_gpu *g, const char *card, bool create)
{
	if (!card)
		card = "card0";
	if (g->fd >= 0) {
		if (strcmp(card, g->card))
			return xgm_fail(-EOPNOTSUPP, "one card per command: %s "
					"is open, not %s", g->card, card);
		return 0;
	}
	if (strlen(card) >= sizeof(g->card) || strchr(card, '/'))
		return xgm_fail(-EINVAL, "no card '%s'", card);
	if (!create)
		return -ENOENT;
	return drm_gpu_take(g, card, drm_card_probe);
}

int drm_gpu_take(struct drm_gpu *g, const char *card,
		 int (*check)(struct drm_gpu *g))
{
	char dev[64];
	int ret;

	snprintf(g->card, sizeof(g->card), "%s", card);
	snprintf(dev, sizeof(dev), "/dev/dri/%s", card);
	g->fd = open(dev, O_RDWR | O_CLOEXEC);
	if (g->fd < 0)
		return xgm_fail(-errno, "cannot open %s: %s", dev, strerror(errno));
	ret = check(g);
	if (ret) {
		close(g->fd);
		g->fd = -1;
		g->card[0] = '\0';
	}
	return ret;
}

struct scanout {
	uint32_t crtc, conn;
	drmModeModeInfo modes[64];
	int nr_modes;
};

static int find_scanout(struct drm_gpu *g, struct scanout *s)
{
	drmModeRes *r = drmModeGetResources(g->fd);
	int ret = -ENODEV;

	if (!r)
		return xgm_fail(-errno ?: -EIO, "%s: cannot read its mode "
				"resources: %s", g->card, strerror(errno));
	for (int i = 0; i < r->count_connectors && ret; i++) {
		drmModeConnector *c = drmModeGetConnector(g->fd, r->connectors[i]);

		if (c && c->connection == DRM_MODE_CONNECTED && c->count_modes &&
		    r->count_crtcs) {
			s->conn = c->connector_id;
			s->crtc = r->crtcs[0];
			s->nr_modes = c->count_modes < 64 ? c->count_modes : 64;
			memcpy(s->modes, c->modes, (size_t)s->nr_modes * sizeof(*c->modes));
			ret = 0;
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(r);
	if (ret)
		return xgm_fail(ret, "%s: no connected output to scan a buffer "
				"out on (the only way bochs pins into VRAM)", g->card);
	return 0;
}

/* Width and height (32 bpp) for exactly bytes, with a mode that fits. */
static int pick_shape(const struct scanout *s, uint64_t bytes, uint32_t *w,
		      uint32_t *h, int *mode)
{
	static const uint32_t widths[] = { 1024, 2048, 4096, 8192, 640, 800 };

	for (size_t i = 0; i < sizeof(widths) / sizeof(*widths); i++) {
		uint64_t pitch = widths[i] * 4ULL;

		if (bytes % pitch || bytes / pitch > MAX_DIM)
			continue;
		for (int m = 0; m < s->nr_modes; m++) {
			if (s->modes[m].hdisplay <= widths[i] &&
			    s->modes[m].vdisplay <= bytes / pitch) {
				*w = widths[i];
				*h = (uint32_t)(bytes / pitch);
				*mode = m;
				return 0;
			}
		}
	}
	return -EINVAL;
}

static uint32_t current_fb(struct drm_gpu *g, uint32_t crtc)
{
	drmModeCrtc *c = drmModeGetCrtc(g->fd, crtc);
	uint32_t fb = c ? c->buffer_id : 0;

	drmModeFreeCrtc(c);
	return fb;
}

static int show(struct drm_gpu *g, const struct scanout *s, uint32_t fb,
		const drmModeModeInfo *mode)
{
	drmModeModeInfo m;
	uint32_t conn = s->conn;

	if (!fb)
		return drmModeSetCrtc(g->fd, s->crtc, 0, 0, 0, NULL, 0, NULL) ?
		       -errno : 0;
	if (!mode) {
		/* Back to an fb we made: the smallest mode fits any of them. */
		m = s->modes[0];
		for (int i = 1; i < s->nr_modes; i++)
			if ((uint64_t)s->modes[i].hdisplay * s->modes[i].vdisplay <
			    (uint64_t)m.hdisplay * m.vdisplay)
				m = s->modes[i];
		mode = &m;
	}
	return drmModeSetCrtc(g->fd, s->crtc, fb, 0, 0, &conn, 1,
			      (drmModeModeInfo *)mode) ? -errno : 0;
}

void drm_buf_unmap(struct drm_gpu *g, uint32_t handle)
{
	for (unsigned int i = 0; i < g->nr_map; i++) {
		if (g->map[i].handle != handle)
			continue;
		munmap(g->map[i].addr, g->map[i].size);
		g->map[i] = g->map[--g->nr_map];
		return;
	}
}

/* A framebuffer w x h (32 bpp) of handle on our file, scanned out once:
 * scanning out pins a GEM-VRAM buffer, and pinning moves it into VRAM.
 * The screen goes back to what it showed. */
static int place(struct drm_gpu *g, const struct scanout *s, uint32_t handle,
		 uint32_t w, uint32_t h, int mode, uint32_t *fb)
{
	uint32_t prev;
	int ret;

	*fb = 0;
	if (drmModeAddFB(g->fd, w, h, 24, 32, w * 4, handle, fb)) {
		*fb = 0;
		return xgm_fail(-errno, "%s: cannot add a framebuffer: %s",
				g->card, strerror(errno));
	}
	prev = current_fb(g, s->crtc);
	ret = show(g, s, *fb, &s->modes[mode]);
	if (ret)
		ret = xgm_fail(ret == -ENOMEM || ret == -ENOSPC ? -ENOSPC : ret,
			       "%s: cannot scan the buffer out to move it into "
			       "VRAM: %s%s", g->card, strerror(-ret), ret == -EACCES ?
			       " (this file is not the card's DRM master: another "
			       "process opened it first; start xgpumapd before "
			       "any VMM opens the card)" : "");
	/* Give the pin back to the buffer that had it. */
	else if ((ret = show(g, s, prev, NULL)))
		ret = xgm_fail(ret, "%s: cannot restore the scanout of fb %u: %s",
			       g->card, prev, strerror(-ret));
	if (ret) {
		drmModeRmFB(g->fd, *fb);
		*fb = 0;
	}
	return ret;
}

static int shape_of(struct drm_gpu *g, const struct scanout *s, uint64_t bytes,
		    uint32_t *w, uint32_t *h, int *mode)
{
	if (!bytes || pick_shape(s, bytes, w, h, mode))
		return xgm_fail(-EINVAL, "%s: %llu bytes is no framebuffer shape "
				"(32 bpp, width 640..8192, at least one display "
				"mode high): bochs pins into VRAM only by scanout",
				g->card, (unsigned long long)bytes);
	return 0;
}

int drm_buf_place(struct drm_gpu *g, uint32_t handle, uint64_t bytes,
		  uint32_t *fb)
{
	struct scanout s;
	uint32_t w, h;
	int mode;

	return find_scanout(g, &s) ?: shape_of(g, &s, bytes, &w, &h, &mode) ?:
	       place(g, &s, handle, w, h, mode, fb);
}

int drm_buf_alloc(struct drm_gpu *g, const char *card, uint64_t bytes,
		  enum xgm_placement where, uint64_t *buf)
{
	struct drm_mode_create_dumb cd = { 0 };
	struct drm_mode_destroy_dumb dd = { 0 };
	struct scanout s;
	uint32_t w, h, fb = 0;
	int mode, ret;

	if (where != XGM_PLACE_VRAM)
		return xgm_fail(-EOPNOTSUPP, "placement sys: a system-memory "
				"buffer cannot be mapped on stock Xen (mmio maps "
				"VRAM only; grants need gntdev dma-buf, which this "
				"kernel lacks)");
	ret = drm_gpu_open(g, card, true) ?: find_scanout(g, &s) ?:
	      shape_of(g, &s, bytes, &w, &h, &mode);
	if (ret)
		return ret;
	cd.width = w;
	cd.height = h;
	cd.bpp = 32;
	if (drmIoctl(g->fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd))
		return xgm_fail(errno == ENOMEM ? -ENOSPC : -errno, "%s: cannot "
				"create a %ux%u dumb buffer: %s", g->card, w, h,
				strerror(errno));
	if (cd.size != bytes || cd.pitch != w * 4) {
		ret = xgm_fail(-EINVAL, "%s: driver made a %llu-byte buffer "
			       "(pitch %u) for %llu bytes", g->card,
			       (unsigned long long)cd.size, cd.pitch,
			       (unsigned long long)bytes);
		goto fail;
	}
	ret = place(g, &s, cd.handle, w, h, mode, &fb);
	if (ret)
		goto fail;
	/* Proven once, now, while nobody else can see it: later looks only
	 * read (drm_buf_locate). */
	ret = drm_buf_prove(g, (uint64_t)fb << 32 | cd.handle);
	if (ret)
		goto fail;
	*buf = (uint64_t)fb << 32 | cd.handle;
	return 0;
fail:
	drm_buf_unmap(g, cd.handle); /* prove may have mapped it */
	if (fb)
		drmModeRmFB(g->fd, fb);
	dd.handle = cd.handle;
	drmIoctl(g->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	return ret;
}

/* Is buf one of ours (a framebuffer on the shared file with its handle)? */
static int check_buf(struct drm_gpu *g, uint64_t buf, uint64_t *size)
{
	drmModeFB *f;
	int ret = drm_gpu_open(g, g->card[0] ? g->card : NULL, false);

	if (ret == -ENOENT)
		return xgm_fail_instead(-ENOENT, "no xgpumap GPU buffers exist "
				"(none was made since the context opened: on Xen, "
				"since xgpumapd started)");
	if (ret)
		return ret;
	f = drmModeGetFB(g->fd, BUF_FB(buf));
	if (!f)
		return xgm_fail(-ENOENT, "%s: no buffer %#llx (framebuffer %u is "
				"gone)", g->card, (unsigned long long)buf, BUF_FB(buf));
	/* GETFB hands out a new handle to the same object; drop it. */
	if (f->handle && f->handle != BUF_HANDLE(buf)) {
		struct drm_gem_close gc = { .handle = f->handle };

		drmIoctl(g->fd, DRM_IOCTL_GEM_CLOSE, &gc);
	}
	if (size)
		*size = (uint64_t)f->pitch * f->height;
	drmModeFreeFB(f);
	return 0;
}

int drm_buf_size(struct drm_gpu *g, uint64_t buf, uint64_t *size)
{
	return check_buf(g, buf, size);
}

int drm_buf_free(struct drm_gpu *g, uint64_t buf)
{
	struct drm_mode_destroy_dumb dd = { .handle = BUF_HANDLE(buf) };
	int ret = check_buf(g, buf, NULL);

	if (ret)
		return ret;
	drm_buf_unmap(g, BUF_HANDLE(buf));
	if (drmModeRmFB(g->fd, BUF_FB(buf)))
		return xgm_fail(-errno, "%s: cannot remove framebuffer %u: %s",
				g->card, BUF_FB(buf), strerror(errno));
	if (drmIoctl(g->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd))
		return xgm_fail(-errno, "%s: cannot destroy buffer handle %u: %s",
				g->card, dd.handle, strerror(errno));
	return 0;
}

/* Framebuffers listed for our file are exactly xgpumap's buffers. */
static bool is_ours(struct drm_gpu *g, uint32_t fb)
{
	drmModeRes *r = drmModeGetResources(g->fd);
	bool yes = false;

	for (int i = 0; r && i < r->count_fbs; i++)
		yes |= r->fbs[i] == fb;
	drmModeFreeResources(r);
	return yes;
}

int drm_buf_pin(struct drm_gpu *g, uint64_t buf, bool pin)
{
	struct scanout s;
	uint32_t cur;
	int ret = check_buf(g, buf, NULL) ?: find_scanout(g, &s);

	if (ret)
		return ret;
	cur = current_fb(g, s.crtc);
	if (!pin)
		return cur == BUF_FB(buf) ? show(g, &s, 0, NULL) : 0;
	if (cur == BUF_FB(buf))
		return 0;
	/* Someone else's scanout (fbcon) gives way; one of ours does not. */
	if (cur && is_ours(g, cur))
		return xgm_fail(-EBUSY, "%s: %s pins a buffer only while it is "
				"scanned out and has one CRTC: framebuffer %u is "
				"pinned already", g->card, g->driver, cur);
	ret = show(g, &s, BUF_FB(buf), NULL);
	return ret ? xgm_fail(ret, "%s: cannot pin framebuffer %u by scanout: %s",
			      g->card, BUF_FB(buf), strerror(-ret)) : 0;
}

/* A fresh mmap of the dumb buffer behind handle. */
static int mmap_handle(struct drm_gpu *g, uint32_t handle, uint64_t size,
		       void **addr)
{
	struct drm_mode_map_dumb md = { .handle = handle };
	void *a;

	if (drmIoctl(g->fd, DRM_IOCTL_MODE_MAP_DUMB, &md))
		return xgm_fail(-errno, "%s: cannot map buffer handle %u: %s",
				g->card, handle, strerror(errno));
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd,
		 (off_t)md.offset);
	if (a == MAP_FAILED)
		return xgm_fail(-errno, "%s: cannot mmap buffer handle %u: %s",
				g->card, handle, strerror(errno));
	*addr = a;
	return 0;
}

int drm_buf_map(struct drm_gpu *g, uint32_t handle, uint64_t size, void **addr)
{
	void *a;
	int ret;

	for (unsigned int i = 0; i < g->nr_map; i++) {
		if (g->map[i].handle == handle && g->map[i].size == size) {
			*addr = g->map[i].addr;
			return 0;
		}
	}
	if (g->nr_map == DRM_MAX_MAPS)
		drm_buf_unmap(g, g->map[0].handle);
	ret = mmap_handle(g, handle, size, &a);
	if (ret)
		return ret;
	g->map[g->nr_map++] = (struct drm_mapping){ handle, a, size };
	*addr = a;
	return 0;
}

int drm_buf_mmap(struct drm_gpu *g, uint64_t buf, void **addr, uint64_t *size)
{
	int ret = check_buf(g, buf, size);

	return ret ? ret : mmap_handle(g, BUF_HANDLE(buf), *size, addr);
}

static int page_ptr(struct drm_gpu *g, uint64_t buf, uint64_t page,
		    volatile uint64_t **p)
{
	uint64_t size;
	void *a;
	int ret;

	/* Mapped already in this process: fill and verify call this for
	 * every page, so skip asking the kernel again. */
	for (unsigned int i = 0; i < g->nr_map; i++) {
		if (g->map[i].handle == BUF_HANDLE(buf) &&
		    page < g->map[i].size / PAGE) {
			*p = (volatile uint64_t *)((char *)g->map[i].addr + page * PAGE);
			return 0;
		}
	}
	ret = check_buf(g, buf, &size);
	if (ret)
		return ret;
	if (page >= size / PAGE)
		return xgm_fail(-ERANGE, "page %llu is past the %llu-page buffer",
				(unsigned long long)page,
				(unsigned long long)(size / PAGE));
	ret = drm_buf_map(g, BUF_HANDLE(buf), size, &a);
	if (!ret)
		*p = (volatile uint64_t *)((char *)a + page * PAGE);
	return ret;
}

int drm_buf_write_tag(struct drm_gpu *g, uint64_t buf, uint64_t page,
		      uint64_t tag)
{
	volatile uint64_t *p;
	int ret = page_ptr(g, buf, page, &p);

	if (!ret)
		*p = tag;
	return ret;
}

int drm_buf_read_tag(struct drm_gpu *g, uint64_t buf, uint64_t page,
		     uint64_t *tag)
{
	volatile uint64_t *p;
	int ret = page_ptr(g, buf, page, &p);

	if (!ret)
		*tag = *p;
	return ret;
}

int drm_buf_copy(struct drm_gpu *gs, uint64_t src, struct drm_gpu *gd,
		 uint64_t dst, uint64_t *pages)
{
	uint64_t ss, ds;
	void *a, *b;
	int ret = check_buf(gs, src, &ss) ?: check_buf(gd, dst, &ds);

	if (ret)
		return ret;
	if (ss != ds)
		return xgm_fail(-EINVAL, "cannot copy a %llu-byte buffer into a "
				"%llu-byte one", (unsigned long long)ss,
				(unsigned long long)ds);
	ret = drm_buf_map(gs, BUF_HANDLE(src), ss, &a) ?:
	      drm_buf_map(gd, BUF_HANDLE(dst), ds, &b);
	if (ret)
		return ret;
	memcpy(b, a, ss);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*pages = ss / PAGE;
	return 0;
}
