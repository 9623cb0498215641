// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Buffers a client handed over as dma-buf fds (a VMM's renderer made
 * them; virtio-gpu's live in system RAM). The context keeps its own copy
 * of the fd for as long as the buffer is recorded, so the buffer outlives
 * the client's copy, and the guest is served from the context's own mmap
 * of the dma-buf: its frames are not this process's to know (another
 * driver's pages, and a PV dom0's pfns are not machine frames), so the
 * one extent is XGM_MFN_UNSEEN and only ioreq maps it (core/exec.c).
 *
 * Nothing here needs libdrm: a dma-buf is a file with mmap and the
 * DMA_BUF_IOCTL_SYNC brackets around CPU access (tags). One dma-buf (one
 * file, one inode) is taken once, so two blobs never share a buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "xen/xen.h"

#define PAGE 4096ULL

/* slot here is what the buffer id says: (generation << 32) | slot index;
 * a slot freed and taken again has a new generation, so an id of what it
 * held before names nothing. */
static struct xen_dmabuf *slot_of(struct xen_priv *p, uint64_t slot)
{
	uint64_t i = slot & 0xffffffffu;

	if (i >= XEN_MAX_DMABUFS || p->dmabuf[i].fd < 0 ||
	    p->dmabuf[i].gen != slot >> 32) {
		xgm_fail(-ENOENT, "no dma-buf %" PRIu64 " of generation %" PRIu64
			 " (freed)", i, slot >> 32);
		return NULL;
	}
	return &p->dmabuf[i];
}

/* The buffer id of slot index i holding generation gen (bufid.c: the
 * generation in the framebuffer bits, the index + 1 in the low ones). */
static int slot_buf_id(struct xen_priv *p, size_t i, uint32_t gen,
		       uint64_t *id)
{
	return xen_bufid_make(p, XEN_BUF_DMABUF, gen, i + 1, id);
}

/* What the daemon serves from must map, read and write, before it is
 * recorded (a read-only fd, an exporter without mmap). */
static int check_mappable(int fd, uint64_t bytes, const char *exporter)
{
	int fl = fcntl(fd, F_GETFL);
	void *a;

	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
		return xgm_fail(-EBADF, "the dma-buf of %s is not open for reading "
				"and writing (export it with DRM_RDWR)", exporter);
	a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED)
		return xgm_fail(errno == ENODEV ? -EOPNOTSUPP : -errno, "the dma-buf "
				"of %s cannot be mapped (%s): xgpumapd serves a guest "
				"from its own mapping", exporter, strerror(errno));
	munmap(a, bytes);
	return 0;
}

int xen_dmabuf_take(struct xen_priv *p, int fd, uint64_t bytes,
		    const char *exporter, const char *card, uint64_t *id)
{
	struct xen_dmabuf *free_slot = NULL;
	struct stat st;
	uint32_t gen;
	int ret;

	if (fstat(fd, &st))
		return xgm_fail(-errno, "fstat of the dma-buf: %s", strerror(errno));
	for (size_t i = 0; i < XEN_MAX_DMABUFS; i++) {
		struct xen_dmabuf *d = &p->dmabuf[i];

		if (d->fd < 0) {
			if (!free_slot)
				free_slot = d;
		} else if (d->dev == st.st_dev && d->ino == st.st_ino) {
			uint64_t held = 0;

			slot_buf_id(p, i, d->gen, &held);
			return xgm_fail(-EEXIST, "that dma-buf of %s is buffer "
					"%#" PRIx64 " already (taken before)",
					exporter, held);
		}
	}
	if (!free_slot)
		return xgm_fail(-ENOSPC, "this context holds %d dma-bufs "
				"already", XEN_MAX_DMABUFS);
	gen = free_slot->gen % XEN_DMABUF_GEN_MAX + 1;
	ret = check_mappable(fd, bytes, exporter) ?:
	      slot_buf_id(p, (size_t)(free_slot - p->dmabuf), gen, id);
	if (ret)
		return ret;
	free_slot->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (free_slot->fd < 0)
		return xgm_fail(-errno, "cannot keep the dma-buf fd: %s",
				strerror(errno));
	free_slot->gen = gen;
	free_slot->size = bytes;
	free_slot->dev = st.st_dev;
	free_slot->ino = st.st_ino;
	free_slot->va = NULL;
	snprintf(free_slot->card, sizeof(free_slot->card), "%s", card);
	return 0;
}

int xen_dmabuf_free(struct xen_priv *p, uint64_t slot)
{
	struct xen_dmabuf *d = slot_of(p, slot);

	if (!d)
		return -ENOENT;
	if (d->va)
		munmap(d->va, d->size);
	close(d->fd);
	d->fd = -1;
	d->va = NULL;
	return 0;
}

int xen_dmabuf_held(struct xen_priv *p, uint64_t slot)
{
	return slot_of(p, slot) ? 0 : -ENOENT;
}

int xen_dmabuf_extents(struct xen_priv *p, uint64_t slot,
		       struct xgm_extent **out, size_t *count)
{
	struct xen_dmabuf *d = slot_of(p, slot);

	if (!d)
		return -ENOENT;
	*out = malloc(sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)[0] = (struct xgm_extent){ XGM_MFN_UNSEEN, d->size / PAGE };
	*count = 1;
	return 0;
}

int xen_dmabuf_mmap(struct xen_priv *p, uint64_t slot, void **addr,
		    uint64_t *size)
{
	struct xen_dmabuf *d = slot_of(p, slot);
	void *a;

	if (!d)
		return -ENOENT;
	a = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
	if (a == MAP_FAILED)
		return xgm_fail(-errno, "cannot mmap the dma-buf in slot %" PRIu64
				": %s", slot, strerror(errno));
	*addr = a;
	*size = d->size;
	return 0;
}

/* Page page's first word, between the CPU-access brackets the exporter
 * asks for (a no-op for shmem, a cache flush where the GPU wrote). */
static int tag_word(struct xen_priv *p, uint64_t slot, uint64_t page,
		    uint64_t *tag, bool write)
{
	struct dma_buf_sync sync = { DMA_BUF_SYNC_START |
				     (write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ) };
	struct xen_dmabuf *d = slot_of(p, slot);
	volatile uint64_t *w;
	uint64_t size;
	int ret;

	if (!d)
		return -ENOENT;
	if (page >= d->size / PAGE)
		return xgm_fail(-ERANGE, "page %" PRIu64 " is past the %" PRIu64
				"-page dma-buf", page, (uint64_t)(d->size / PAGE));
	if (!d->va && (ret = xen_dmabuf_mmap(p, slot, &d->va, &size)))
		return ret;
	if (ioctl(d->fd, DMA_BUF_IOCTL_SYNC, &sync))
		return xgm_fail(-errno, "DMA_BUF_IOCTL_SYNC start: %s",
				strerror(errno));
	w = (volatile uint64_t *)((char *)d->va + page * PAGE);
	if (write)
		*w = *tag;
	else
		*tag = *w;
	sync.flags ^= DMA_BUF_SYNC_START ^ DMA_BUF_SYNC_END;
	if (ioctl(d->fd, DMA_BUF_IOCTL_SYNC, &sync))
		return xgm_fail(-errno, "DMA_BUF_IOCTL_SYNC end: %s",
				strerror(errno));
	return 0;
}

int xen_dmabuf_write_tag(struct xen_priv *p, uint64_t slot, uint64_t page,
			 uint64_t tag)
{
	return tag_word(p, slot, page, &tag, true);
}

int xen_dmabuf_read_tag(struct xen_priv *p, uint64_t slot, uint64_t page,
			uint64_t *tag)
{
	return tag_word(p, slot, page, tag, false);
}

json_t *xen_dmabufs_json(struct xen_priv *p, const char *card)
{
	json_t *a = json_array();

	for (size_t i = 0; i < XEN_MAX_DMABUFS; i++) {
		struct xen_dmabuf *d = &p->dmabuf[i];
		uint64_t id;

		if (d->fd < 0 || strcmp(d->card, card) ||
		    slot_buf_id(p, i, d->gen, &id))
			continue;
		json_array_append_new(a, json_pack("{s:I,s:I,s:s,s:n,s:i,s:b,s:s}",
			"id", (json_int_t)id, "size", (json_int_t)d->size,
			"placement", "sys", "mfn", "extents", 1, "pinned", true,
			"handed_over", "dma-buf"));
	}
	return a;
}

void xen_dmabufs_init(struct xen_priv *p)
{
	for (size_t i = 0; i < XEN_MAX_DMABUFS; i++)
		p->dmabuf[i].fd = -1;
}

void xen_dmabufs_close(struct xen_priv *p)
{
	for (size_t i = 0; i < XEN_MAX_DMABUFS; i++)
		if (p->dmabuf[i].fd >= 0)
			xen_dmabuf_free(p, (uint64_t)p->dmabuf[i].gen << 32 | i);
}
