// SPDX-License-Identifier: LGPL-2.1-only
/*
 * gpu list / gpu show on a real host: every /sys/class/drm/cardN with its
 * driver (DRM version ioctl), PCI address and memory BARs (sysfs), what
 * xgpumap can do with that driver, and the buffers the context holds
 * (the framebuffers of its DRM file: on Xen, xgpumapd's), each located as
 * `check` locates it. Read-only: no buffer is made or moved.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

static int cmp_card(const void *a, const void *b)
{
	unsigned int x = 0, y = 0;

	sscanf(*(char *const *)a, "card%u", &x);
	sscanf(*(char *const *)b, "card%u", &y);
	return x < y ? -1 : x > y;
}

/* "cardN" entries of /sys/class/drm (not their connectors), by N. */
static int card_names(char ***names, size_t *n)
{
	DIR *d = opendir("/sys/class/drm");
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : xgm_fail(-errno, "cannot list "
				"/sys/class/drm: %s", strerror(errno));
	while ((e = readdir(d))) {
		unsigned int minor;
		char tail;
		char **nv;

		if (sscanf(e->d_name, "card%u%c", &minor, &tail) != 1)
			continue;
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv || !(nv[*n] = strdup(e->d_name))) {
			free(nv ? nv : v);
			closedir(d);
			return -ENOMEM;
		}
		v = nv;
		(*n)++;
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), cmp_card);
	*names = v;
	return 0;
}

/* The framebuffer a CRTC scans out is pinned (GEM-VRAM pins by scanout). */
static bool scanned_out(int fd, const drmModeRes *r, uint32_t fb)
{
	bool yes = false;

	for (int i = 0; r && i < r->count_crtcs && !yes; i++) {
		drmModeCrtc *c = drmModeGetCrtc(fd, r->crtcs[i]);

		yes = c && c->buffer_id == fb;
		drmModeFreeCrtc(c);
	}
	return yes;
}

/* The id the engine recorded for framebuffer fb of g's file, if any:
 * GETFB gives a fresh GEM handle, but the framebuffer is the buffer's
 * identity. */
static uint64_t known_id(const struct drm_gpu *g, const struct drm_known *known,
			 size_t n, uint32_t fb)
{
	for (size_t i = 0; i < n; i++)
		if (known[i].gpu == g && known[i].fb == fb)
			return known[i].id;
	return (uint64_t)fb << 32;
}

/* Drops the handle GETFB made, and this process's mapping of it. */
static void forget_handle(struct drm_gpu *g, uint32_t handle)
{
	struct drm_gem_close gc = { .handle = handle };

	for (unsigned int k = 0; k < g->nr_map; k++) {
		if (g->map[k].handle == handle) {
			munmap(g->map[k].addr, g->map[k].size);
			g->map[k] = g->map[--g->nr_map];
			break;
		}
	}
	drmIoctl(g->fd, DRM_IOCTL_GEM_CLOSE, &gc);
}

static json_t *buffer_json(struct drm_gpu *g, const drmModeRes *r,
			   uint32_t fb, const struct drm_known *known,
			   size_t nr_known)
{
	drmModeFB *f = drmModeGetFB(g->fd, fb);
	uint64_t at = 0, size = 0;
	const char *place = "unknown";
	char why[256] = "";
	json_t *j;
	int ret;

	if (!f)
		return NULL;
	size = (uint64_t)f->pitch * f->height;
	/* A system-RAM card's buffer has frames nobody outside the kernel
	 * sees (ram.c): one extent, none located. */
	ret = drm_ram_driver(g->driver) ? -ENODATA :
	      drm_buf_locate(g, (uint64_t)fb << 32 | f->handle, &at, &size);
	if (!ret)
		place = "vram";
	else if (ret == -ENODATA)
		place = "sys"; /* the driver gives no VRAM address: evicted */
	else
		snprintf(why, sizeof(why), "%s", xgm_last_error());
	forget_handle(g, f->handle);
	drmModeFreeFB(f);
	xgm_clear_error();
	j = json_pack("{s:I,s:I,s:s,s:o,s:i,s:b}",
		      "id", (json_int_t)known_id(g, known, nr_known, fb),
		      "size", (json_int_t)size, "placement", place,
		      "mfn", ret ? json_null() : json_integer((json_int_t)(at / PAGE)),
		      "extents", ret && !drm_ram_driver(g->driver) ? 0 : 1,
		      "pinned", scanned_out(g->fd, r, fb));
	if (*why)
		json_object_set_new(j, "error", json_string(why));
	return j;
}

/* The buffers on g's file: xgpumap's. */
static json_t *buffers_json(struct drm_gpu *g, const struct drm_known *known,
			    size_t nr_known)
{
	json_t *bufs = json_array();
	drmModeRes *r = drmModeGetResources(g->fd);

	for (int i = 0; r && i < r->count_fbs; i++) {
		json_t *b = buffer_json(g, r, r->fbs[i], known, nr_known);

		if (b)
			json_array_append_new(bufs, b);
	}
	drmModeFreeResources(r);
	return bufs;
}

static json_t *caps_json(const struct drm_gpu *g, bool known)
{
	char debugfs[96], note[256];
	bool locate;

	snprintf(debugfs, sizeof(debugfs), "/sys/kernel/debug/dri/%u/framebuffer",
		 g->minor);
	locate = known && !access(debugfs, R_OK);
	if (!known)
		snprintf(note, sizeof(note), "driver %s: xgpumap does not know how "
			 "to place its buffers in VRAM or locate them (known: "
			 "GEM-VRAM drivers such as bochs-drm)", g->driver);
	else if (!locate)
		snprintf(note, sizeof(note), "GEM-VRAM: placed and pinned by scanout; "
			 "%s is not readable (mount debugfs), so frames cannot be "
			 "located", debugfs);
	else
		snprintf(note, sizeof(note), "GEM-VRAM: placed and pinned by scanout "
			 "(one buffer at a time: one CRTC); frames from debugfs, "
			 "cross-checked through the BAR");
	return json_pack("{s:b,s:b,s:b,s:s}", "place_vram", known,
			 "locate_frames", locate, "pin", known, "note", note);
}

static json_t *bars_json(const struct drm_bar *bars, unsigned int n,
			 uint64_t *vram)
{
	json_t *a = json_array();

	*vram = 0;
	for (unsigned int i = 0; i < n; i++) {
		json_array_append_new(a, json_pack("{s:i,s:I,s:I,s:b,s:b}",
			"index", (int)bars[i].index,
			"bus_addr", (json_int_t)bars[i].start,
			"size", (json_int_t)bars[i].size,
			"prefetchable", bars[i].prefetchable,
			"vram", bars[i].prefetchable));
		if (bars[i].prefetchable)
			*vram += bars[i].size;
	}
	return a;
}

/* One card, from a brief open of its own; its buffers are those on the
 * context's file of it (one of ours), if it has one. */
static json_t *card_json(struct drm_gpu *const *ours, size_t nr_ours,
			 const char *card, const struct drm_known *known,
			 size_t nr_known)
{
	struct drm_gpu *mine = NULL;
	struct drm_bar bars[DRM_MAX_BARS];
	unsigned int nr_bars = 0;
	struct drm_gpu g;
	bool known_drv;
	uint64_t vram = 0;
	json_t *c, *bufs, *jbars;
	char dev[64];

	drm_gpu_init(&g);
	snprintf(g.card, sizeof(g.card), "%s", card);
	for (size_t i = 0; i < nr_ours; i++)
		if (ours[i]->fd >= 0 && !strcmp(ours[i]->card, card))
			mine = ours[i];
	snprintf(dev, sizeof(dev), "/dev/dri/%s", card);
	g.fd = open(dev, O_RDWR | O_CLOEXEC);
	if (g.fd < 0 || drm_card_identify(&g)) {
		c = json_pack("{s:s,s:s}", "card", card, "error",
			      g.fd < 0 ? strerror(errno) : xgm_last_error());
		drm_gpu_close(&g);
		xgm_clear_error();
		return c;
	}
	drm_card_mem_bars(g.bdf, bars, &nr_bars);
	xgm_clear_error();
	jbars = bars_json(bars, nr_bars, &vram);
	/* locate needs the VRAM BARs in g, as drm_card_probe sets them. */
	for (unsigned int i = 0; i < nr_bars; i++)
		if (bars[i].prefetchable)
			g.bar[g.nr_bar++] = bars[i];
	known_drv = drm_driver_known(g.driver);
	bufs = mine && (known_drv || drm_ram_driver(g.driver)) ?
	       buffers_json(mine, known, nr_known) : json_array();
	c = json_pack("{s:s,s:s,s:s,s:o,s:o,s:n,s:o,s:o}",
		      "card", card, "driver", g.driver, "pci", g.bdf,
		      "bars", jbars,
		      "vram_bytes", vram ? json_integer((json_int_t)vram) : json_null(),
		      "vram_free_bytes",
		      "capabilities", caps_json(&g, known_drv),
		      "buffers", bufs);
	drm_gpu_close(&g);
	return c;
}

int drm_cards_json(struct drm_gpu *const *ours, size_t nr_ours,
		   const struct drm_known *known, size_t nr_known, json_t **out)
{
	char **names = NULL;
	size_t n = 0;
	int ret = card_names(&names, &n);

	if (ret)
		return ret;
	*out = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(*out, card_json(ours, nr_ours, names[i],
						      known, nr_known));
		free(names[i]);
	}
	free(names);
	return 0;
}

/* Exporter names are module names (virtio_gpu); DRM driver names may
 * spell them with '-'. */
static bool same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !(strchr("-_", *a) && strchr("-_", *b)))
			return false;
	return *a == *b;
}

int drm_card_of_driver(const char *driver, char *card, size_t len)
{
	char **names = NULL;
	size_t n = 0;
	int found = 0, ret = card_names(&names, &n);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		struct drm_gpu g;
		char dev[64];

		drm_gpu_init(&g);
		snprintf(g.card, sizeof(g.card), "%s", names[i]);
		snprintf(dev, sizeof(dev), "/dev/dri/%s", names[i]);
		g.fd = open(dev, O_RDWR | O_CLOEXEC);
		if (g.fd >= 0 && !drm_card_identify(&g) &&
		    same_name(g.driver, driver) && found++ == 0)
			snprintf(card, len, "%s", names[i]);
		xgm_clear_error();
		drm_gpu_close(&g);
		free(names[i]);
	}
	free(names);
	return found == 1 ? 0 : -ENOENT;
}
