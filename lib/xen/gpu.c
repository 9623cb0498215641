// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The xen backend's gpu table: DRM buffers (lib/drm) where libdrm is
 * compiled in. Without it there is no buffer to map, and no frame passes
 * validation, so nothing can reach Xen by mistake.
 */
#include "xen/xen.h"

#ifdef XGM_HAVE_DRM
/*
 * Two DRM files: the VRAM card's (bochs, p->gpu) and a system-RAM card's
 * (virtio-gpu, p->ram). Handles and framebuffer ids are per file, so a
 * buffer of the RAM card carries RAM_BUF in its id; lib/drm sees the id
 * without it. Ids are stored as JSON integers (<= INT64_MAX), so the tag
 * is bit 62, and a RAM card's framebuffer id must be below 2^30 (the
 * kernel's idr hands out small ones).
 */
#define RAM_BUF (1ULL << 62)

struct drm_gpu *xen_gpu_of(struct xen_priv *p, uint64_t buf, uint64_t *id)
{
	*id = buf & ~RAM_BUF;
	return buf & RAM_BUF ? &p->ram : &p->gpu;
}

#define GPU_OF(priv, buf, id) xen_gpu_of((struct xen_priv *)(priv), (buf), &(id))

/* The driver chooses the frames: the gfn hint has nowhere to go. A
 * system-RAM buffer is made on a card that keeps it there (lib/drm/ram.c). */
static int gpu_alloc(void *priv, const char *card, uint64_t bytes,
		     enum xgm_placement where, uint64_t gfn, uint64_t *buf)
{
	struct xen_priv *p = priv;
	int ret;

	if (where == XGM_PLACE_VRAM)
		return drm_buf_alloc(&p->gpu, card, bytes, where, buf);
	ret = drm_ram_alloc(&p->ram, card ? card : "card0", bytes, buf);
	if (!ret && *buf >> 62) {
		drm_buf_free(&p->ram, *buf);
		return xgm_fail(-EOVERFLOW, "%s: framebuffer id %llu is past "
				"the 2^30 a buffer id can tag", p->ram.card,
				(unsigned long long)(*buf >> 32));
	}
	if (!ret)
		*buf |= RAM_BUF;
	return ret;
}

static int gpu_free(void *priv, uint64_t buf)
{
	uint64_t id;
	struct drm_gpu *g = GPU_OF(priv, buf, id);

	return drm_buf_free(g, id);
}

static int gpu_extents(void *priv, uint64_t buf, struct xgm_extent **out,
		       size_t *count)
{
	uint64_t id;
	struct drm_gpu *g = GPU_OF(priv, buf, id);

	return buf & RAM_BUF ? drm_ram_extents(g, id, out, count) :
	       drm_buf_extents(g, id, out, count);
}

/* A system-RAM card's buffer never moves (there is no VRAM to move it
 * into): it is pinned by nature. */
static int gpu_pin(void *priv, uint64_t buf, bool pin)
{
	uint64_t id;
	struct drm_gpu *g = GPU_OF(priv, buf, id);

	return buf & RAM_BUF ? drm_buf_size(g, id, NULL) : drm_buf_pin(g, id, pin);
}

static int gpu_write_tag(void *priv, uint64_t buf, uint64_t page, uint64_t tag)
{
	uint64_t id;
	struct drm_gpu *g = GPU_OF(priv, buf, id);

	return drm_buf_write_tag(g, id, page, tag);
}

static int gpu_read_tag(void *priv, uint64_t buf, uint64_t page, uint64_t *tag)
{
	uint64_t id;
	struct drm_gpu *g = GPU_OF(priv, buf, id);

	return drm_buf_read_tag(g, id, page, tag);
}

static int gpu_copy(void *priv, uint64_t src, uint64_t dst)
{
	struct xen_priv *p = priv;
	uint64_t s, d, pages = 0;
	struct drm_gpu *gs = xen_gpu_of(p, src, &s), *gd = xen_gpu_of(p, dst, &d);
	int ret = drm_buf_copy(gs, s, gd, d, &pages);

	p->total.pages_copied += pages;
	return ret;
}

int xen_buf_mmap(struct xen_priv *p, uint64_t buf, void **addr, uint64_t *size)
{
	uint64_t id;
	struct drm_gpu *g = xen_gpu_of(p, buf, &id);

	return drm_buf_mmap(g, id, addr, size);
}

static int gpu_import_gem(void *priv, int drm_fd, uint32_t handle,
			  struct xgm_gem_import *out)
{
	struct drm_gpu *g = &((struct xen_priv *)priv)->gpu;
	int ret = drm_buf_import_gem(g, drm_fd, handle, &out->buf, &out->bytes);

	if (ret)
		return ret;
	out->where = XGM_PLACE_VRAM; /* GEM-VRAM: placed by scanout */
	snprintf(out->card, sizeof(out->card), "%s", g->card);
	return 0;
}

static int gpu_cards(void *priv, const uint64_t *known, size_t nr_known,
		     json_t **out)
{
	return drm_cards_json(&((struct xen_priv *)priv)->gpu, known, nr_known, out);
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
