// SPDX-License-Identifier: GPL-2.0-only
/*
 * Buffers a VMM hands over, against real DRM drivers (tests/drm/run.sh
 * boots a Linux with bochs-display and virtio-gpu-pci under QEMU, no Xen):
 *
 *  - a bochs dumb buffer as DRM fd + GEM handle (lib/drm/gem.c): taken
 *    with its exact size, located in VRAM where the BAR shows the VMM's
 *    words, alive after the VMM closes its handle; refused: a handle the
 *    file has not, the same object again, another card, a render node,
 *    a file that is no DRM device, a daemon that is not the card's DRM
 *    master (leaving no framebuffer behind);
 *  - a virtio-gpu dumb buffer exported as a real dma-buf
 *    (core/bufimport.c): recognised with its size; refused by the sim
 *    backend, which cannot hold one; a dma-buf given as a GEM handle's
 *    fd is refused;
 *  - the same dma-buf taken by the xen backend's holder (lib/xen/dmabuf.c,
 *    no Xen needed, the epoch set by hand): its card named after the
 *    exporter, taken once, the VMM's words read and written through the
 *    holder's mapping, alive after the VMM closes its fd, its id dead
 *    for another epoch (a daemon started again).
 *
 * Prints one "ok"/"FAIL" line per check and "gem-check: N failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

#include "ctx.h"
#include "drm/drm.h"
#ifdef XGM_HAVE_XEN
#include "xen/xen.h"
#endif
#include "xgpumap-sim.h"

#define W 1024u
#define H 768u
#define BYTES ((uint64_t)W * H * 4)

static int failed;

static void check(int ok, const char *what, int ret)
{
	printf("%s %s", ok ? "ok" : "FAIL", what);
	if (ret)
		printf(" (%d %s: %s)", ret, strerror(-ret), xgm_last_error());
	printf("\n");
	fflush(stdout);
	failed += !ok;
	xgm_clear_error();
}

/* The first /dev/dri/cardN whose driver is name: its fd and N. */
static int open_card(const char *name, unsigned int *n)
{
	for (*n = 0; *n < 8; (*n)++) {
		char dev[32];
		drmVersionPtr v;
		int fd;

		snprintf(dev, sizeof(dev), "/dev/dri/card%u", *n);
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && v->name && !strcmp(v->name, name)) {
			drmFreeVersion(v);
			return fd;
		}
		drmFreeVersion(v);
		close(fd);
	}
	return -1;
}

/* A W x H dumb buffer on fd, each page's first word its number ^ seed. */
static uint32_t vmm_buffer(int fd, uint64_t seed)
{
	struct drm_mode_create_dumb cd = { .width = W, .height = H, .bpp = 32 };
	struct drm_mode_map_dumb md = { 0 };
	uint64_t *p;

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd)) {
		perror("create dumb");
		exit(1);
	}
	md.handle = cd.handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md)) {
		perror("map dumb");
		exit(1);
	}
	p = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)md.offset);
	if (p == MAP_FAILED) {
		perror("mmap dumb");
		exit(1);
	}
	for (uint64_t pg = 0; pg < cd.size / 4096; pg++)
		p[pg * 512] = pg ^ seed;
	munmap(p, cd.size);
	return cd.handle;
}

/* How many framebuffers the file fd made. */
static int fbs_of(int fd)
{
	drmModeRes *r = drmModeGetResources(fd);
	int n = r ? r->count_fbs : -1;

	drmModeFreeResources(r);
	return n;
}

static int handle_lives(int fd, uint32_t handle)
{
	struct drm_mode_map_dumb md = { .handle = handle };

	return !drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md);
}

/* The word at machine address addr, through the BAR (sysfs resourceN). */
static uint64_t bar_word(const struct drm_gpu *g, uint64_t addr)
{
	for (unsigned int i = 0; i < g->nr_bar; i++) {
		const struct drm_bar *b = &g->bar[i];
		uint64_t off = addr - b->start, pg = off & ~4095ULL, v;
		char path[128];
		void *m;
		int fd;

		if (addr < b->start || off >= b->size)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%u",
			 g->bdf, b->index);
		fd = open(path, O_RDONLY);
		m = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED,
					       fd, (off_t)pg);
		if (fd >= 0)
			close(fd);
		if (m == MAP_FAILED)
			return ~0ULL;
		v = *(volatile uint64_t *)((char *)m + (off - pg));
		munmap(m, 4096);
		return v;
	}
	return ~0ULL;
}

static void bochs_checks(void)
{
	struct drm_gpu g;
	unsigned int n, vn;
	uint64_t buf = 0, bytes = 0, again, addr = 0, size = 0, tag = 0;
	int vmm = open_card("bochs-drm", &n), other, render, null, ret;
	uint32_t h, h2;
	char what[160], card[16];
	struct timespec t0, t1;

	if (vmm < 0) {
		check(0, "bochs-drm: a card", 0);
		return;
	}
	snprintf(card, sizeof(card), "card%u", n);
	/* A VMM that opened the card first is its DRM master: the daemon
	 * cannot scan out (place in VRAM), says why, and leaves nothing. */
	drm_gpu_init(&g);
	h = vmm_buffer(vmm, 1);
	ret = drm_gpu_open(&g, card, true) ?:
	      drm_buf_import_gem(&g, vmm, h, &buf, &bytes);
	check(ret == -EACCES && strstr(xgm_last_error(), "not the card's DRM "
					"master"), "bochs: without DRM master: "
	      "EACCES, named", ret == -EACCES ? 0 : ret);
	check(fbs_of(g.fd) == 0 && fbs_of(vmm) == 0 && handle_lives(vmm, h),
	      "bochs: the refusal left no framebuffer, the VMM's handle", 0);
	drm_gpu_close(&g);
	close(vmm);
	/* The daemon opens the card first, as it does at boot; the VMM's
	 * file comes after. */
	drm_gpu_init(&g);
	ret = drm_gpu_open(&g, card, true);
	check(!ret, "bochs: the daemon's side opens the card", ret);
	snprintf(what, sizeof(what), "/dev/dri/%s", card);
	vmm = open(what, O_RDWR | O_CLOEXEC);
	h = vmm_buffer(vmm, 0x5a5a0000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = drm_buf_import_gem(&g, vmm, h, &buf, &bytes);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("   (taking it took %.1f ms under TCG)\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	snprintf(what, sizeof(what), "bochs: GEM handle %u of the VMM's card%u "
		 "is taken, %" PRIu64 " bytes (want %" PRIu64 ")", h, n, bytes,
		 BYTES);
	check(!ret && bytes == BYTES, what, ret);
	if (ret)
		return;
	ret = drm_buf_locate(&g, buf, &addr, &size);
	check(!ret && size == BYTES, "bochs: the taken buffer is located in VRAM", ret);
	check(bar_word(&g, addr) == (0 ^ 0x5a5a0000ULL) &&
	      bar_word(&g, addr + BYTES - 4096) == ((BYTES / 4096 - 1) ^ 0x5a5a0000ULL),
	      "bochs: the BAR shows the VMM's words at both ends", 0);
	ret = drm_buf_import_gem(&g, vmm, h, &again, &bytes);
	check(ret == -EEXIST, "bochs: the same object again is EEXIST", ret == -EEXIST ? 0 : ret);
	ret = drm_buf_import_gem(&g, vmm, h + 100, &again, &bytes);
	check(ret == -ENOENT, "bochs: a handle the file has not is ENOENT",
	      ret == -ENOENT ? 0 : ret);
	/* The VMM lets go: ours lives on. */
	struct drm_gem_close gc = { .handle = h };
	drmIoctl(vmm, DRM_IOCTL_GEM_CLOSE, &gc);
	ret = drm_buf_read_tag(&g, buf, BYTES / 4096 - 1, &tag);
	check(!ret && tag == ((BYTES / 4096 - 1) ^ 0x5a5a0000ULL),
	      "bochs: the buffer outlives the VMM's handle", ret);
	other = open_card("virtio_gpu", &vn);
	h2 = other >= 0 ? vmm_buffer(other, 7) : 0;
	ret = other < 0 ? -ENODEV : drm_buf_import_gem(&g, other, h2, &again, &bytes);
	check(other >= 0 && ret == -ENODEV, "bochs: a handle of another card "
	      "(virtio-gpu) is ENODEV", ret == -ENODEV ? 0 : ret);
	render = open("/dev/dri/renderD128", O_RDWR);
	ret = render < 0 ? -ENOENT : drm_buf_import_gem(&g, render, 1, &again, &bytes);
	check(ret == -ENODEV, "bochs: a render node is ENODEV", ret == -ENODEV ? 0 : ret);
	null = open("/dev/null", O_RDWR);
	ret = drm_buf_import_gem(&g, null, 1, &again, &bytes);
	check(ret == -EBADF, "bochs: /dev/null is EBADF", ret == -EBADF ? 0 : ret);
	ret = drm_buf_free(&g, buf);
	check(!ret, "bochs: the taken buffer is freed", ret);
	drm_gpu_close(&g);
	close(vmm);
	if (other >= 0)
		close(other);
	if (render >= 0)
		close(render);
	close(null);
}

/* A real dma-buf: recognised, sized, refused as not adoptable (a sim
 * context: the validators run before any backend is asked). */
static void dmabuf_checks(void)
{
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM, .daemon = "",
		 .access = XGM_ACCESS_WRITE, .sim_state = "/tmp/sim.json");
	struct xgm_buffer *b = NULL;
	struct xgm_ctx *ctx;
	unsigned int n;
	int card = open_card("virtio_gpu", &n), dmabuf = -1, ret;
	uint32_t h;
	char want[96];

	if (card < 0 || xgm_ctx_open(&o, &ctx)) {
		check(0, "dma-buf: a virtio-gpu card and a sim context", 0);
		return;
	}
	h = vmm_buffer(card, 1);
	ret = drmPrimeHandleToFD(card, h, DRM_CLOEXEC | DRM_RDWR, &dmabuf);
	check(!ret, "dma-buf: virtio-gpu exports the buffer", ret ? -errno : 0);
	ret = xgm_buffer_import_fd(ctx, dmabuf, &b);
	snprintf(want, sizeof(want), "a %" PRIu64 "-byte dma-buf of ", BYTES);
	printf("   (%s)\n", xgm_last_error());
	check(ret == -EOPNOTSUPP && strstr(xgm_last_error(), want),
	      "dma-buf: recognised with its size, not adopted (EOPNOTSUPP)",
	      ret == -EOPNOTSUPP ? 0 : ret);
	ret = xgm_buffer_import_gem(ctx, dmabuf, 1, &b);
	check(ret == -EBADF, "dma-buf: as a GEM handle's fd it is EBADF",
	      ret == -EBADF ? 0 : ret);
	/* The sim has no DRM device: a real DRM fd is refused by name. */
	ret = xgm_buffer_import_gem(ctx, card, h, &b);
	check(ret == -EOPNOTSUPP && strstr(xgm_last_error(), "sim"),
	      "dma-buf: a real DRM fd on the sim backend is EOPNOTSUPP",
	      ret == -EOPNOTSUPP ? 0 : ret);
	close(dmabuf);
	close(card);
	xgm_ctx_close(ctx);
}

#ifdef XGM_HAVE_XEN
/* The VMM's page page first word, through its own mapping of handle. */
static uint64_t vmm_word(int fd, uint32_t handle, uint64_t page)
{
	struct drm_mode_map_dumb md = { .handle = handle };
	uint64_t *p, w;

	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md))
		return 0;
	p = mmap(NULL, BYTES, PROT_READ, MAP_SHARED, fd, (off_t)md.offset);
	if (p == MAP_FAILED)
		return 0;
	w = p[page * 512];
	munmap(p, BYTES);
	return w;
}

static void xen_dmabuf_checks(void)
{
	struct xen_priv *p = calloc(1, sizeof(*p));
	unsigned int n;
	int card = open_card("virtio_gpu", &n), dmabuf = -1, ret;
	uint64_t id = 0, again = 0, tag = 0, slot;
	enum xen_buf_kind kind;
	char name[32], want[16];
	uint32_t h, fb;
	uint64_t low;

	if (card < 0 || !p) {
		check(0, "xen dma-buf: a virtio-gpu card", 0);
		return;
	}
	xen_dmabufs_init(p);
	p->epoch = 7; /* what xenstore would give; none here */
	h = vmm_buffer(card, 0x5a);
	if (drmPrimeHandleToFD(card, h, DRM_CLOEXEC | DRM_RDWR, &dmabuf))
		check(0, "xen dma-buf: virtio-gpu exports the buffer", -errno);
	ret = drm_card_of_driver("virtio_gpu", name, sizeof(name));
	snprintf(want, sizeof(want), "card%u", n);
	check(!ret && !strcmp(name, want), "xen dma-buf: the exporter's card "
	      "found by its driver", ret);
	ret = xen_dmabuf_take(p, dmabuf, BYTES, "virtio_gpu", name, &id);
	check(!ret, "xen dma-buf: taken", ret);
	ret = xen_bufid_parse(p, id, &kind, &fb, &low);
	check(!ret && kind == XEN_BUF_DMABUF, "xen dma-buf: its id says dma-buf",
	      ret);
	slot = (uint64_t)fb << 32 | (low - 1); /* generation, index */
	ret = xen_dmabuf_take(p, dmabuf, BYTES, "virtio_gpu", name, &again);
	check(ret == -EEXIST, "xen dma-buf: the same dma-buf again is EEXIST",
	      ret == -EEXIST ? 0 : ret);
	close(dmabuf);
	ret = xen_dmabuf_read_tag(p, slot, 3, &tag);
	check(!ret && tag == (3 ^ 0x5a), "xen dma-buf: the VMM's word read "
	      "through our mapping, after the VMM closed its fd", ret);
	ret = xen_dmabuf_write_tag(p, slot, 5, 0x1234abcd);
	check(!ret && vmm_word(card, h, 5) == 0x1234abcd, "xen dma-buf: our "
	      "word written, the VMM reads it", ret);
	ret = xen_dmabuf_read_tag(p, slot, BYTES / 4096, &tag);
	check(ret == -ERANGE, "xen dma-buf: a page past its end is ERANGE",
	      ret == -ERANGE ? 0 : ret);
	p->epoch = 8; /* the daemon started again */
	ret = xen_bufid_parse(p, id, &kind, &fb, &low);
	check(ret == -ENOENT, "xen dma-buf: an id of an earlier epoch is gone",
	      ret == -ENOENT ? 0 : ret);
	ret = xen_dmabuf_free(p, slot);
	check(!ret, "xen dma-buf: freed", ret);
	ret = xen_dmabuf_free(p, slot);
	check(ret == -ENOENT, "xen dma-buf: freed twice is ENOENT",
	      ret == -ENOENT ? 0 : ret);
	/* The slot taken again: a new generation, the old id names nothing. */
	if (drmPrimeHandleToFD(card, h, DRM_CLOEXEC | DRM_RDWR, &dmabuf))
		check(0, "xen dma-buf: virtio-gpu exports the buffer again", -errno);
	ret = xen_dmabuf_take(p, dmabuf, BYTES, "virtio_gpu", name, &again);
	check(!ret && again != id, "xen dma-buf: the freed slot taken again is "
	      "another id", ret);
	ret = xen_dmabuf_read_tag(p, slot, 3, &tag);
	check(ret == -ENOENT, "xen dma-buf: the old id of a slot taken again is "
	      "ENOENT", ret == -ENOENT ? 0 : ret);
	close(dmabuf);
	/* Read-only (another object: a handle's export is cached with the
	 * flags of its first): what the daemon cannot serve from is refused. */
	if (drmPrimeHandleToFD(card, vmm_buffer(card, 0x77), DRM_CLOEXEC, &dmabuf))
		check(0, "xen dma-buf: a read-only export", -errno);
	ret = xen_dmabuf_take(p, dmabuf, BYTES, "virtio_gpu", name, &again);
	check(ret == -EBADF, "xen dma-buf: a read-only fd is EBADF",
	      ret == -EBADF ? 0 : ret);
	close(dmabuf);
	xen_dmabufs_close(p);
	free(p);
	close(card);
}
#endif

int main(void)
{
	bochs_checks();
	dmabuf_checks();
#ifdef XGM_HAVE_XEN
	xen_dmabuf_checks();
#endif
	printf("gem-check: %d failed\n", failed);
	return failed ? 1 : 0;
}
