// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The xen backend's gpu table: DRM buffers (lib/drm) where libdrm is
 * compiled in. Without it there is no buffer to map, and no frame passes
 * validation, so nothing can reach Xen by mistake.
 */
#include "xen/xen.h"

#ifdef XGM_HAVE_DRM
#define G(priv) (&((struct xen_priv *)(priv))->gpu)

/* The driver chooses the frames: the gfn hint has nowhere to go. */
static int gpu_alloc(void *priv, const char *card, uint64_t bytes,
		     enum xgm_placement where, uint64_t gfn, uint64_t *buf)
{
	return drm_buf_alloc(G(priv), card, bytes, where, buf);
}

static int gpu_free(void *priv, uint64_t buf)
{
	return drm_buf_free(G(priv), buf);
}

static int gpu_extents(void *priv, uint64_t buf, struct xgm_extent **out,
		       size_t *count)
{
	return drm_buf_extents(G(priv), buf, out, count);
}

static int gpu_pin(void *priv, uint64_t buf, bool pin)
{
	return drm_buf_pin(G(priv), buf, pin);
}

static int gpu_write_tag(void *priv, uint64_t buf, uint64_t page, uint64_t tag)
{
	return drm_buf_write_tag(G(priv), buf, page, tag);
}

static int gpu_read_tag(void *priv, uint64_t buf, uint64_t page, uint64_t *tag)
{
	return drm_buf_read_tag(G(priv), buf, page, tag);
}

static int gpu_copy(void *priv, uint64_t src, uint64_t dst)
{
	struct xen_priv *p = priv;
	uint64_t pages = 0;
	int ret = drm_buf_copy(&p->gpu, src, dst, &pages);

	p->total.pages_copied += pages;
	return ret;
}

static int gpu_import_gem(void *priv, int drm_fd, uint32_t handle,
			  struct xgm_gem_import *out)
{
	struct drm_gpu *g = G(priv);
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
	return drm_cards_json(G(priv), known, nr_known, out);
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
