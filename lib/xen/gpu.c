// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The xen backend's gpu table: DRM buffers (lib/drm) where libdrm is
 * compiled in. Without it there is no buffer to map, and no frame passes
 * validation, so nothing can reach Xen by mistake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen/xen.h"

#ifdef XGM_HAVE_DRM
/*
 * Two DRM files, the VRAM card's (bochs, p->gpu) and a system-RAM card's
 * (virtio-gpu, p->ram), and the dma-bufs clients handed over
 * (dmabuf.c). Handles and framebuffer ids are per file: a buffer id says
 * which it is and carries the context's epoch (bufid.c); lib/drm's id for
 * a DRM buffer is (fb << 32) | handle.
 */
struct where {
	enum xen_buf_kind kind;
	struct drm_gpu *g;  /* DRM kinds */
	uint64_t id;        /* lib/drm's id; the slot of a dma-buf */
};

static int where_of(struct xen_priv *p, uint64_t buf, struct where *w)
{
	uint32_t fb;
	uint64_t low;
	int ret = xen_bufid_parse(p, buf, &w->kind, &fb, &low);

	if (ret)
		return ret;
	w->g = w->kind == XEN_BUF_RAM ? &p->ram : &p->gpu;
	/* A dma-buf's framebuffer bits are its slot's generation. */
	w->id = (uint64_t)fb << 32 | (w->kind == XEN_BUF_DMABUF ? low - 1 : low);
	return 0;
}

#define WHERE(priv, buf, w)                                                    \
	struct xen_priv *p_ = (priv);                                          \
	struct where w;                                                        \
	int where_ret_ = where_of(p_, (buf), &w);                              \
	if (where_ret_)                                                        \
		return where_ret_

/* lib/drm's new buffer as one of ours; freed again when it cannot be. */
static int drm_made(struct xen_priv *p, enum xen_buf_kind kind,
		    struct drm_gpu *g, uint64_t drm_id, uint64_t *buf)
{
	int ret = xen_bufid_make(p, kind, (uint32_t)(drm_id >> 32),
				 drm_id & 0xffffffffu, buf);

	if (ret)
		drm_buf_free(g, drm_id);
	return ret;
}

/* The driver chooses the frames: the gfn hint has nowhere to go. A
 * system-RAM buffer is made on a card that keeps it there (lib/drm/ram.c). */
static int gpu_alloc(void *priv, const char *card, uint64_t bytes,
		     enum xgm_placement where, uint64_t gfn, uint64_t *buf)
{
	struct xen_priv *p = priv;
	uint64_t id;
	int ret;

	(void)gfn;
	if (where == XGM_PLACE_VRAM)
		return drm_buf_alloc(&p->gpu, card, bytes, where, &id) ?:
		       drm_made(p, XEN_BUF_VRAM, &p->gpu, id, buf);
	ret = drm_ram_alloc(&p->ram, card ? card : "card0", bytes, &id);
	return ret ? ret : drm_made(p, XEN_BUF_RAM, &p->ram, id, buf);
}

static int gpu_free(void *priv, uint64_t buf)
{
	WHERE(priv, buf, w);
	return w.kind == XEN_BUF_DMABUF ? xen_dmabuf_free(p_, w.id) :
	       drm_buf_free(w.g, w.id);
}

static int gpu_extents(void *priv, uint64_t buf, struct xgm_extent **out,
		       size_t *count)
{
	WHERE(priv, buf, w);
	switch (w.kind) {
	case XEN_BUF_DMABUF:
		return xen_dmabuf_extents(p_, w.id, out, count);
	case XEN_BUF_RAM:
		return drm_ram_extents(w.g, w.id, out, count);
	default:
		return drm_buf_extents(w.g, w.id, out, count);
	}
}

/* A system-RAM card's buffer never moves (there is no VRAM to move it
 * into), nor does a dma-buf as far as we can see: pinned by nature. */
static int gpu_pin(void *priv, uint64_t buf, bool pin)
{
	WHERE(priv, buf, w);
	switch (w.kind) {
	case XEN_BUF_DMABUF:
		return xen_dmabuf_held(p_, w.id);
	case XEN_BUF_RAM:
		return drm_buf_size(w.g, w.id, NULL);
	default:
		return drm_buf_pin(w.g, w.id, pin);
	}
}

static int gpu_write_tag(void *priv, uint64_t buf, uint64_t page, uint64_t tag)
{
	WHERE(priv, buf, w);
	return w.kind == XEN_BUF_DMABUF ? xen_dmabuf_write_tag(p_, w.id, page, tag) :
	       drm_buf_write_tag(w.g, w.id, page, tag);
}

static int gpu_read_tag(void *priv, uint64_t buf, uint64_t page, uint64_t *tag)
{
	WHERE(priv, buf, w);
	return w.kind == XEN_BUF_DMABUF ? xen_dmabuf_read_tag(p_, w.id, page, tag) :
	       drm_buf_read_tag(w.g, w.id, page, tag);
}

static int gpu_copy(void *priv, uint64_t src, uint64_t dst)
{
	struct xen_priv *p = priv;
	struct where s, d;
	uint64_t pages = 0;
	int ret = where_of(p, src, &s) ?: where_of(p, dst, &d);

	if (ret)
		return ret;
	if (s.kind == XEN_BUF_DMABUF || d.kind == XEN_BUF_DMABUF)
		return xgm_fail(-EOPNOTSUPP, "a dma-buf a client handed over "
				"moves when its exporter moves it, not by copy");
	ret = drm_buf_copy(s.g, s.id, d.g, d.id, &pages);
	p->total.pages_copied += pages;
	return ret;
}

int xen_buf_mmap(struct xen_priv *p, uint64_t buf, void **addr, uint64_t *size)
{
	WHERE(p, buf, w);
	return w.kind == XEN_BUF_DMABUF ? xen_dmabuf_mmap(p_, w.id, addr, size) :
	       drm_buf_mmap(w.g, w.id, addr, size);
}

static int gpu_remote(void *priv, uint64_t buf)
{
	struct where w;
	int ret = where_of(priv, buf, &w);

	if (ret != -EREMOTE)
		xgm_clear_error();
	return ret == -EREMOTE ? ret : 0;
}

static int gpu_import_gem(void *priv, int drm_fd, uint32_t handle,
			  struct xgm_gem_import *out)
{
	struct xen_priv *p = priv;
	struct drm_gpu *g = &p->gpu;
	uint64_t id;
	int ret = drm_buf_import_gem(g, drm_fd, handle, &id, &out->bytes) ?:
		  drm_made(p, XEN_BUF_VRAM, g, id, &out->buf);

	if (ret)
		return ret;
	out->where = XGM_PLACE_VRAM; /* GEM-VRAM: placed by scanout */
	snprintf(out->card, sizeof(out->card), "%s", g->card);
	return 0;
}

static int gpu_import_dmabuf(void *priv, int fd, uint64_t bytes,
			     const char *exporter, struct xgm_gem_import *out)
{
	int ret;

	/* Named after the card whose driver exported it, when one is. */
	if (drm_card_of_driver(exporter, out->card, sizeof(out->card)))
		snprintf(out->card, sizeof(out->card), "%s", exporter);
	ret = xen_dmabuf_take(priv, fd, bytes, exporter, out->card, &out->buf);
	if (ret)
		return ret;
	out->bytes = bytes;
	out->where = XGM_PLACE_SYS;
	return 0;
}

/* Every card, with the buffers of our two DRM files under the ids the
 * engine recorded, and the dma-bufs we hold under their exporter's card. */
static int gpu_cards(void *priv, const uint64_t *known, size_t nr_known,
		     json_t **out)
{
	struct xen_priv *p = priv;
	struct drm_gpu *const ours[] = { &p->gpu, &p->ram };
	struct drm_known *pairs = calloc(nr_known ? nr_known : 1, sizeof(*pairs));
	size_t n = 0, i;
	json_t *c;
	int ret;

	if (!pairs)
		return -ENOMEM;
	for (size_t k = 0; k < nr_known; k++) {
		struct where w;

		if (where_of(p, known[k], &w) || w.kind == XEN_BUF_DMABUF)
			continue;
		pairs[n++] = (struct drm_known){ w.g, (uint32_t)(w.id >> 32), known[k] };
	}
	xgm_clear_error();
	ret = drm_cards_json(ours, 2, pairs, n, out);
	free(pairs);
	json_array_foreach(ret ? NULL : *out, i, c) {
		json_t *bufs = json_object_get(c, "buffers");
		json_t *held = xen_dmabufs_json(p, json_string_value(
						json_object_get(c, "card")) ?: "");

		if (json_is_array(bufs))
			json_array_extend(bufs, held);
		json_decref(held);
	}
	return ret;
}

const struct xgm_gpu_ops xen_gpu_ops = {
	.name = "drm",
	.buf_alloc = gpu_alloc,
	.buf_free = gpu_free,
	.buf_extents = gpu_extents,
	.buf_pin = gpu_pin,
	.buf_write_tag = gpu_write_tag,
	.buf_read_tag = gpu_read_tag,
	.buf_copy = gpu_copy,
	.buf_import_gem = gpu_import_gem,
	.buf_import_dmabuf = gpu_import_dmabuf,
	.buf_remote = gpu_remote,
	.cards = gpu_cards,
};

int xen_frames_validate(struct xen_priv *p, uint64_t mfn, uint64_t nr)
{
	return drm_frames_owned(&p->gpu, mfn, nr);
}
#else
const struct xgm_gpu_ops xen_gpu_ops = {
	.name = "none (built without libdrm)",
};

int xen_frames_validate(struct xen_priv *p, uint64_t mfn, uint64_t nr)
{
	return xgm_fail(-EPERM, "refusing mfn 0x%llx: this build has no GPU "
			"backend (libdrm), so no frame can be checked against "
			"a buffer", (unsigned long long)mfn);
}
#endif
