// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stand-in for a VMM's virtio-gpu backend in dom0 (QEMU on
 * RESOURCE_MAP_BLOB), run by tests/xen/dom0-test.sh step 11. It makes
 * dumb buffers the way a renderer would, writes page p's first word as
 * TAG + p through its own mapping, and hands them to xgpumapd:
 *  - over the daemon's socket with the typed API, as a VMM linked with
 *    libxgpumap would: a virtio-gpu buffer (system RAM, PRIME export) as
 *    a dma-buf fd (xgm_buffer_import_fd, SCM_RIGHTS), mapped with ioreq;
 *    a bochs buffer (VRAM, no PRIME export) as its DRM fd plus the GEM
 *    handle (xgm_buffer_import_gem), mapped with revoke-fault;
 *  - held for the CLI to take with pidfd_getfd: one more of each, whose
 *    fds and handle it prints (xgpumap attach --dmabuf / --gem).
 * Prints "VMM-BLOB KIND id=N gfn=0x... pages=N tag=0x..." for each blob
 * it mapped and "VMM-HOLD dmabuf=FD tag=0x... gem=FD:HANDLE tag=0x..."
 * for the held pair; then it reads lines on stdin: "again" (the daemon
 * was killed and started again) hands both over once more and maps them
 * (VMM-BLOB lines, VMM-AGAIN), "unmap" unmaps and frees its blobs
 * (VMM-UNMAPPED), anything else or EOF exits (VMM-DONE), 0, or 1 with the
 * library's message. (bochs scans out one buffer at a time, so a held
 * GEM buffer can be mapped only once the VMM's own is unmapped.)
 *
 *   vmm-standin DOMID RAM_CARD VRAM_CARD
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

#include "xgpumap.h"

#define PAGES 512u  /* 2 MiB: one revoke-fault chunk */
#define WIDTH 1024u /* 32 bpp: a page a line */

struct made {
	int fd; /* the VMM's own open file of the card */
	uint32_t handle;
	uint64_t size, tag;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "vmm-standin: %s: %s%s%s\n", what,
		strerror(err < 0 ? -err : err), *xgm_last_error() ? ": " : "",
		xgm_last_error());
	return 1;
}

/* A dumb buffer on card, page p's first word tag + p. */
static int make(const char *card, uint64_t tag, struct made *m)
{
	struct drm_mode_create_dumb cd = { .width = WIDTH, .height = PAGES,
					   .bpp = 32 };
	struct drm_mode_map_dumb md = { 0 };
	char dev[64];
	uint64_t *a;

	snprintf(dev, sizeof(dev), "/dev/dri/%s", card);
	m->tag = tag;
	m->fd = open(dev, O_RDWR | O_CLOEXEC);
	if (m->fd < 0 || drmIoctl(m->fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd))
		return -errno;
	m->handle = cd.handle;
	m->size = cd.size;
	md.handle = cd.handle;
	if (drmIoctl(m->fd, DRM_IOCTL_MODE_MAP_DUMB, &md))
		return -errno;
	a = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd,
		 (off_t)md.offset);
	if (a == MAP_FAILED)
		return -errno;
	for (uint64_t p = 0; p < m->size / 4096; p++)
		a[p * 512] = tag + p;
	munmap(a, m->size);
	return 0;
}

static int export(const struct made *m, int *dmabuf)
{
	return drmPrimeHandleToFD(m->fd, m->handle, DRM_CLOEXEC | DRM_RDWR,
				  dmabuf) ? -errno : 0;
}

static int map(struct xgm_ctx *ctx, uint32_t domid,
	       const struct xgm_buffer *buf, enum xgm_strategy s,
	       const char *kind, uint64_t tag, struct xgm_blob **blob)
{
	XGM_OPTS(xgm_map_opts, o, .buffer = buf, .strategy = s, .label = kind);
	int ret = xgm_blob_map(ctx, domid, &o, blob);

	if (ret)
		return ret;
	printf("VMM-BLOB %s id=%" PRIu32 " gfn=0x%" PRIx64 " pages=%" PRIu64
	       " tag=0x%" PRIx64 "\n", kind, xgm_blob_id(*blob),
	       xgm_blob_gfn(*blob), xgm_blob_size(*blob) / 4096, tag);
	fflush(stdout);
	return 0;
}

struct vmm {
	uint32_t domid;
	struct made ram, vram;
	int dmabuf;              /* the VMM's own dma-buf of ram */
	struct xgm_buffer *rb, *vb;
	struct xgm_blob *r, *v;
};

/* Both buffers to the daemon, and mapped: at start, and again when the
 * daemon was killed and started again (its copies went with it, ours did
 * not). */
static int hand_over(struct xgm_ctx *ctx, struct vmm *m)
{
	int ret = xgm_buffer_import_fd(ctx, m->dmabuf, &m->rb);

	if (ret)
		return fail("xgm_buffer_import_fd (the dma-buf)", ret);
	ret = map(ctx, m->domid, m->rb, XGM_STRATEGY_IOREQ, "dmabuf", m->ram.tag,
		  &m->r);
	if (ret)
		return fail("xgm_blob_map of the dma-buf", ret);
	ret = xgm_buffer_import_gem(ctx, m->vram.fd, m->vram.handle, &m->vb);
	if (ret)
		return fail("xgm_buffer_import_gem", ret);
	ret = map(ctx, m->domid, m->vb, XGM_STRATEGY_REVOKE_FAULT, "gem",
		  m->vram.tag, &m->v);
	return ret ? fail("xgm_blob_map of the GEM buffer", ret) : 0;
}

/* What a killed daemon's handles named is gone: dropped unasked. */
static void forget(struct vmm *m)
{
	xgm_blob_free(m->r);
	xgm_blob_free(m->v);
	xgm_buffer_put(m->rb);
	xgm_buffer_put(m->vb);
	m->r = m->v = NULL;
	m->rb = m->vb = NULL;
}

int main(int argc, char **argv)
{
	XGM_OPTS(xgm_ctx_opts, co, .backend = XGM_BACKEND_XEN,
		 .access = XGM_ACCESS_WRITE);
	struct vmm m = { .dmabuf = -1 };
	struct made held_ram, held_vram;
	int ret, held_dmabuf = -1;
	struct xgm_ctx *ctx;
	char line[16];

	if (argc != 4) {
		fprintf(stderr, "usage: vmm-standin DOMID RAM_CARD VRAM_CARD\n");
		return 2;
	}
	m.domid = (uint32_t)strtoul(argv[1], NULL, 0);
	ret = xgm_ctx_open(&co, &ctx);
	if (ret)
		return fail("xgm_ctx_open (is xgpumapd running?)", ret);
	ret = make(argv[2], 0x564d4d0100000000ull, &m.ram) ?:
	      export(&m.ram, &m.dmabuf) ?:
	      make(argv[3], 0x564d4d0200000000ull, &m.vram);
	if (ret)
		return fail("a dma-buf on the RAM card, a dumb buffer on the "
			    "VRAM card", ret);
	if (hand_over(ctx, &m))
		return 1;
	ret = make(argv[2], 0x564d4d0300000000ull, &held_ram) ?:
	      export(&held_ram, &held_dmabuf) ?:
	      make(argv[3], 0x564d4d0400000000ull, &held_vram);
	if (ret)
		return fail("the buffers held for the CLI", ret);
	printf("VMM-HOLD dmabuf=%d tag=0x%" PRIx64 " gem=%d:%" PRIu32
	       " tag=0x%" PRIx64 "\n", held_dmabuf, held_ram.tag, held_vram.fd,
	       held_vram.handle, held_vram.tag);
	fflush(stdout);
	/* The VMM runs until told; the guest reads meanwhile. */
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "again", 5)) {
			forget(&m);
			xgm_ctx_close(ctx);
			ret = xgm_ctx_open(&co, &ctx);
			if (ret)
				return fail("xgm_ctx_open of the new daemon", ret);
			if (hand_over(ctx, &m))
				return 1;
			printf("VMM-AGAIN\n");
		} else if (!strncmp(line, "unmap", 5)) {
			ret = xgm_blob_unmap(ctx, m.r) ?: xgm_blob_unmap(ctx, m.v) ?:
			      xgm_buffer_free(ctx, m.rb) ?: xgm_buffer_free(ctx, m.vb);
			if (ret)
				return fail("unmap and free", ret);
			m.rb = m.vb = NULL; /* freed with their buffers */
			forget(&m);
			printf("VMM-UNMAPPED\n");
		} else {
			break;
		}
		fflush(stdout);
	}
	forget(&m);
	xgm_ctx_close(ctx);
	printf("VMM-DONE\n");
	return 0;
}
