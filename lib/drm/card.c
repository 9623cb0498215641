// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A card's identity from sysfs and the driver: its PCI address, the BARs
 * that hold VRAM (prefetchable memory BARs), and whether xgpumap knows how
 * to place and locate buffers with its driver. Only GEM-VRAM drivers
 * (bochs) are known: they pin a buffer into VRAM by scanning it out and
 * print its VRAM address in debugfs. Anything else is reported as such.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xf86drm.h>

#include "ctx.h"
#include "drm/drm.h"

#define IORESOURCE_MEM 0x00000200ULL
#define IORESOURCE_PREFETCH 0x00002000ULL

static const char *const known_drivers[] = { "bochs-drm", "bochs" };

static int read_bars(struct drm_gpu *g)
{
	char path[PATH_MAX], line[256];
	unsigned int i = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", g->bdf);
	f = fopen(path, "r");
	if (!f)
		return xgm_fail(-errno, "cannot read %s: %s", path, strerror(errno));
	g->nr_bar = 0;
	for (; fgets(line, sizeof(line), f) && i < 6; i++) {
		unsigned long long start, end, flags;

		if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3 ||
		    !end || end < start)
			continue;
		if ((flags & IORESOURCE_MEM) && (flags & IORESOURCE_PREFETCH) &&
		    g->nr_bar < DRM_MAX_BARS) {
			g->bar[g->nr_bar].index = i;
			g->bar[g->nr_bar].start = start;
			g->bar[g->nr_bar].size = end - start + 1;
			g->nr_bar++;
		}
	}
	fclose(f);
	if (!g->nr_bar)
		return xgm_fail(-ENODEV, "%s (%s) has no prefetchable memory BAR: "
				"no VRAM aperture xgpumap could map", g->card, g->bdf);
	return 0;
}

int drm_card_probe(struct drm_gpu *g)
{
	char path[PATH_MAX], link[PATH_MAX];
	drmVersionPtr v;
	const char *base;
	ssize_t n;
	bool known = false;

	if (sscanf(g->card, "card%u", &g->minor) != 1)
		return xgm_fail(-EINVAL, "'%s' is not a card name (cardN)", g->card);
	snprintf(path, sizeof(path), "/sys/class/drm/%s/device", g->card);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return xgm_fail(-errno, "%s: %s", path, strerror(errno));
	link[n] = '\0';
	base = strrchr(link, '/');
	snprintf(g->bdf, sizeof(g->bdf), "%.31s", base ? base + 1 : link);
	v = drmGetVersion(g->fd);
	if (!v)
		return xgm_fail(-errno ?: -EIO, "%s: cannot read the driver's "
				"version", g->card);
	snprintf(g->driver, sizeof(g->driver), "%s", v->name ? v->name : "?");
	drmFreeVersion(v);
	for (size_t i = 0; i < sizeof(known_drivers) / sizeof(*known_drivers); i++)
		known |= !strcmp(g->driver, known_drivers[i]);
	if (!known)
		return xgm_fail(-EOPNOTSUPP, "%s: driver %s: xgpumap does not know "
				"how to place its buffers in VRAM and locate them "
				"(known: GEM-VRAM drivers such as bochs-drm)",
				g->card, g->driver);
	return read_bars(g);
}

int drm_card_bar_of(const struct drm_gpu *g, uint64_t addr, uint64_t size)
{
	for (unsigned int i = 0; i < g->nr_bar; i++) {
		const struct drm_bar *b = &g->bar[i];

		if (addr >= b->start && size <= b->size &&
		    addr - b->start <= b->size - size)
			return (int)i;
	}
	return -1;
}
