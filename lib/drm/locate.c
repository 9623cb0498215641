// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Where a buffer really is in VRAM.
 *
 * /proc/self/pagemap cannot say: a TTM mapping is VM_PFNMAP|VM_IO and
 * shows as a hole with frame 0 (the frame the rig once mapped into a guest
 * by mistake). The driver's debugfs does: framebuffer[N] -> obj[0] ->
 * "bus.offset=" (0 or absent until the buffer has been touched in VRAM:
 * io_mem_reserve is lazy, so we touch it first). Its word is checked
 * against the hardware through the BAR (sysfs resourceN; dom0 needs
 * iomem=relaxed, as the driver owns the region), at both ends of the
 * buffer, which also proves it contiguous as GEM-VRAM allocates it:
 *  - once, when xgpumap has just made the buffer and nobody else can see
 *    it (drm_buf_prove): a canary written through the buffer's mapping
 *    must be read back through the BAR;
 *  - on every later look (drm_buf_locate), with reads only: a guest may
 *    map the buffer by then, and a canary would be a write into its
 *    memory (and its restore could undo a write of the guest's).
 * Anything that does not match is an error, never a guess.
 */
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
#define CANARY_OFF 1 /* the second word of a page: the first is the tag */

/* bus.offset of framebuffer fb in debugfs; -ENODATA when absent. */
static int debugfs_offset(const struct drm_gpu *g, uint32_t fb, uint64_t *off)
{
	char path[96], line[256], want[40];
	bool in = false;
	int ret = -ENODATA;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%u/framebuffer",
		 g->minor);
	f = fopen(path, "r");
	if (!f)
		return xgm_fail(-errno, "cannot read %s (is debugfs mounted?): %s",
				path, strerror(errno));
	snprintf(want, sizeof(want), "framebuffer[%u]:", fb);
	while (fgets(line, sizeof(line), f)) {
		const char *s = line + strspn(line, " \t");

		if (!strncmp(s, "framebuffer[", 12)) {
			in = !strncmp(s, want, strlen(want));
			continue;
		}
		if (in && !strncmp(s, "bus.offset=", 11)) {
			char *end;

			*off = strtoull(s + 11, &end, 16);
			if (end != s + 11 && (*end == '\n' || !*end))
				ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Reads the word at machine address addr through the BAR's sysfs file. */
static int bar_read(const struct drm_gpu *g, int bar, uint64_t addr,
		    uint64_t *val)
{
	const struct drm_bar *b = &g->bar[bar];
	uint64_t off = addr - b->start, pg = off & ~(PAGE - 1);
	char path[128];
	void *m;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%u",
		 g->bdf, b->index);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xgm_fail(-errno, "cannot open %s: %s", path, strerror(errno));
	m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, (off_t)pg);
	close(fd);
	if (m == MAP_FAILED)
		return xgm_fail(-errno, "cannot map %s to check where a buffer "
				"is (dom0 needs iomem=relaxed: the driver owns "
				"the BAR): %s", path, strerror(errno));
	*val = *(volatile uint64_t *)((char *)m + (off - pg));
	munmap(m, PAGE);
	return 0;
}

/* Where debugfs says framebuffer fb is: its bus address, inside a VRAM
 * BAR, page-aligned. Newer kernels print the bus address, older ones the
 * offset in VRAM; the two never overlap (a BAR is aligned to its size and
 * never starts at 0, so every offset is below every bus address). */
static int debugfs_where(struct drm_gpu *g, uint32_t fb, uint64_t size,
			 uint64_t *at, int *bar)
{
	uint64_t off;
	int ret = debugfs_offset(g, fb, &off);

	if (ret == -ENODATA || (!ret && !off))
		return xgm_fail(-ENODATA, "%s: the driver reports no VRAM address "
				"for framebuffer %u: the buffer is not in VRAM",
				g->card, fb);
	if (ret)
		return ret;
	*at = off;
	if (drm_card_bar_of(g, *at, size) < 0 && g->nr_bar)
		*at = g->bar[0].start + off;
	*bar = drm_card_bar_of(g, *at, size);
	if (*bar < 0 || (*at & (PAGE - 1)))
		return xgm_fail(-ERANGE, "%s: framebuffer %u is at bus.offset "
				"%#" PRIx64 ", not page-aligned inside a VRAM BAR",
				g->card, fb, off);
	return 0;
}

/* The words the checks read and write: the second of the first and of
 * the last page (which also proves the buffer contiguous, as GEM-VRAM
 * allocates it). */
static void probe_words(void *a, uint64_t size, volatile uint64_t *w[2])
{
	w[0] = (volatile uint64_t *)a + CANARY_OFF;
	w[1] = (volatile uint64_t *)((char *)a + size - PAGE) + CANARY_OFF;
}

static uint64_t probe_addr(uint64_t at, uint64_t size, int i)
{
	return at + (i ? size - PAGE : 0) + CANARY_OFF * 8;
}

int drm_buf_prove(struct drm_gpu *g, uint64_t buf)
{
	uint32_t fb = (uint32_t)(buf >> 32), handle = (uint32_t)buf;
	volatile uint64_t *w[2];
	uint64_t saved[2], canary[2], at, size, seen = 0;
	int bar, ret;
	void *a;

	ret = drm_buf_size(g, buf, &size) ?: drm_buf_map(g, handle, size, &a);
	if (ret)
		return ret;
	/* Writing also makes the driver reserve its I/O address (lazy). */
	probe_words(a, size, w);
	for (int i = 0; i < 2; i++) {
		saved[i] = *w[i];
		canary[i] = 0x58474d43414e4152ULL ^ buf ^ ((uint64_t)i << 63) ^
			    (uint64_t)getpid() << 20;
		*w[i] = canary[i];
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ret = debugfs_where(g, fb, size, &at, &bar);
	for (int i = 0; !ret && i < 2; i++) {
		ret = bar_read(g, bar, probe_addr(at, size, i), &seen);
		if (!ret && seen != canary[i])
			ret = xgm_fail(-EIO, "%s: framebuffer %u: debugfs says "
				       "%#" PRIx64 " but the canary is not there "
				       "(read %#" PRIx64 " at %#" PRIx64 "): "
				       "refusing to guess where it is",
				       g->card, fb, at, seen,
				       probe_addr(at, size, i));
	}
	for (int i = 0; i < 2; i++)
		*w[i] = saved[i];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ret;
}

int drm_buf_locate(struct drm_gpu *g, uint64_t buf, uint64_t *addr,
		   uint64_t *size)
{
	uint32_t fb = (uint32_t)(buf >> 32), handle = (uint32_t)buf;
	volatile uint64_t *w[2];
	uint64_t mine[2], at, seen = 0;
	int bar, ret;
	void *a;

	ret = drm_buf_size(g, buf, size) ?: drm_buf_map(g, handle, *size, &a);
	if (ret)
		return ret;
	/* Only reads: a guest may map this buffer. Reading it through its
	 * own mapping faults it in, which reserves its I/O address. */
	probe_words(a, *size, w);
	for (int i = 0; i < 2; i++)
		mine[i] = *w[i];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ret = debugfs_where(g, fb, *size, &at, &bar);
	for (int i = 0; !ret && i < 2; i++) {
		ret = bar_read(g, bar, probe_addr(at, *size, i), &seen);
		/* A word the guest changed in between reads differently
		 * again through the buffer's own mapping: no lie then. */
		if (!ret && seen != mine[i] && seen != *w[i])
			ret = xgm_fail(-EIO, "%s: framebuffer %u: debugfs says "
				       "%#" PRIx64 " but the buffer's word there "
				       "differs (read %#" PRIx64 " at %#" PRIx64
				       ", %#" PRIx64 " through the buffer): "
				       "refusing to guess where it is",
				       g->card, fb, at, seen,
				       probe_addr(at, *size, i), mine[i]);
	}
	if (!ret)
		*addr = at;
	return ret;
}

int drm_buf_extents(struct drm_gpu *g, uint64_t buf, struct xgm_extent **out,
		    size_t *count)
{
	uint64_t addr, size;
	int ret = drm_buf_locate(g, buf, &addr, &size);

	if (ret)
		return ret;
	*out = malloc(sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)[0].mfn = addr / PAGE;  /* BARs are 1:1 in PV and PVH dom0 */
	(*out)[0].nr = size / PAGE;
	*count = 1;
	return 0;
}

int drm_each_buf(struct drm_gpu *g, uint32_t skip_fb,
		 int (*fn)(uint64_t buf, uint64_t at, uint64_t size, void *arg),
		 void *arg)
{
	drmModeRes *r = drmModeGetResources(g->fd);
	int ret = 0;

	if (!r)
		return xgm_fail(-errno ?: -EIO, "%s: cannot list xgpumap's "
				"buffers", g->card);
	/* The framebuffers of the shared file are exactly xgpumap's. */
	for (int i = 0; !ret && i < r->count_fbs; i++) {
		drmModeFB *f = r->fbs[i] == skip_fb ? NULL :
			       drmModeGetFB(g->fd, r->fbs[i]);
		uint64_t at, size, buf;

		if (!f)
			continue;
		buf = (uint64_t)r->fbs[i] << 32 | f->handle;
		if (!drm_buf_locate(g, buf, &at, &size))
			ret = fn(buf, at, size, arg);
		/* GETFB made that handle for us: drop it again. */
		if (f->handle) {
			struct drm_gem_close gc = { .handle = f->handle };

			drm_buf_unmap(g, f->handle);
			drmIoctl(g->fd, DRM_IOCTL_GEM_CLOSE, &gc);
		}
		drmModeFreeFB(f);
	}
	drmModeFreeResources(r);
	return ret;
}

struct span {
	uint64_t first, len;
};

static int holds(uint64_t buf, uint64_t at, uint64_t size, void *arg)
{
	const struct span *s = arg;

	return s->first >= at && s->first - at + s->len <= size;
}

int drm_frames_owned(struct drm_gpu *g, uint64_t mfn, uint64_t nr)
{
	struct span s = { mfn * PAGE, nr * PAGE };
	int ret = drm_gpu_open(g, g->card[0] ? g->card : NULL, false);

	if (ret == -ENOENT)
		return xgm_fail_instead(-EPERM, "refusing mfn %#" PRIx64 "+%" PRIu64 ": "
				"xgpumap has no GPU buffers (none was made since "
				"the context opened)", mfn, nr);
	if (ret)
		return xgm_fail(-EPERM, "refusing mfn %#" PRIx64 ": cannot check "
				"it against the GPU: %s", mfn, xgm_last_error());
	if (drm_card_bar_of(g, s.first, s.len) < 0)
		return xgm_fail(-EPERM, "refusing mfn %#" PRIx64 "+%" PRIu64
				": not inside a VRAM BAR of %s (%s)", mfn, nr,
				g->card, g->bdf);
	ret = drm_each_buf(g, 0, holds, &s);
	xgm_clear_error();
	if (ret < 0)
		return xgm_fail(-EPERM, "refusing mfn %#" PRIx64 ": cannot list "
				"xgpumap's buffers", mfn);
	if (!ret)
		return xgm_fail(-EPERM, "refusing mfn %#" PRIx64 "+%" PRIu64
				": inside %s's VRAM BAR but in no buffer xgpumap "
				"allocated and located", mfn, nr, g->card);
	return 0;
}
