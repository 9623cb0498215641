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

#include "backend.h"
#include "util/log.h"
#include "drm/drm.h"

#define IORESOURCE_MEM 0x00000200ULL
#define IORESOURCE_PREFETCH 0x00002000ULL

static const char *const known_drivers[] = { "bochs-drm", "bochs" };

bool drm_driver_known(const char *driver)
{
	for (size_t i = 0; i < sizeof(known_drivers) / sizeof(*known_drivers); i++)
		if (!strcmp(driver, known_drivers[i]))
			return true;
	return false;
}

int drm_card_mem_bars(const char *bdf, struct drm_bar *bars, unsigned int *nr)
{
	char path[PATH_MAX], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "r");
	if (!f)
		return xgm_fail(-errno, "cannot read %s: %s", path, strerror(errno));
	*nr = 0;
	/* Lines 0-5 are the BARs; then the ROM and bridge windows. */
	for (unsigned int i = 0; i < 6 && fgets(line, sizeof(line), f); i++) {
		unsigned long long start, end, flags;

		if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3 ||
		    !end || end < start || !(flags & IORESOURCE_MEM))
			continue;
		bars[*nr].index = i;
		bars[*nr].start = start;
		bars[*nr].size = end - start + 1;
		bars[*nr].prefetchable = flags & IORESOURCE_PREFETCH;
		(*nr)++;
	}
	fclose(f);
	return 0;
}

/* VRAM is behind the prefetchable memory BARs. */
static int read_bars(struct drm_gpu *g)
{
	struct drm_bar all[DRM_MAX_BARS];
	unsigned int n;
	int ret = drm_card_mem_bars(g->bdf, all, &n);

	if (ret)
		return ret;
	g->nr_bar = 0;
	for (unsigned int i = 0; i < n; i++)
		if (all[i].prefetchable)
			g->bar[g->nr_bar++] = all[i];
	if (!g->nr_bar)
		return xgm_fail(-ENODEV, "%s (%s) has no prefetchable memory BAR: "
				"no VRAM aperture xgpumap could map", g->card, g->bdf);
	return 0;
}

int drm_card_identify(struct drm_gpu *g)
{
	char path[PATH_MAX], link[PATH_MAX];
	drmVersionPtr v;
	const char *base;
	ssize_t n;

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
	return 0;
}

int drm_card_probe(struct drm_gpu *g)
{
	int ret = drm_card_identify(g);

	if (ret)
		return ret;
	if (!drm_driver_known(g->driver))
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
