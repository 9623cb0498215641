// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A buffer handed over as a DRM device fd plus a GEM handle: how a VMM
 * whose driver has no PRIME export (bochs) passes a buffer it made. A
 * passed DRM fd is the VMM's open file, so it shares that file's GEM
 * handle namespace: the handle means the same object in the daemon.
 *
 * Two kinds, each proven from the fd alone:
 *  - a real DRM device (a character device of major 226): the GPU backend
 *    takes the object as its own buffer (buf_import_gem: the card it
 *    manages, the handle, its size), and it is recorded as an existing
 *    buffer of the caller's, as xgm_buffer_create() records one;
 *  - the simulated host's stand-in (it has no /dev/dri): a sealed memfd
 *    named "xgpumap-drm" whose one line "xgpumap-drm 1 CARD HANDLE ID
 *    TOKEN" says which existing buffer the handle is, proven by the
 *    buffer's random token as the sim's buffer memfd proves it
 *    (core/bufimport.c). xgm_sim_gem_export() makes one.
 * Anything else is -EBADF, and nothing changes on any refusal.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/buffer.h"
#include "core/engine.h"

#define DRM_MAJOR 226
#define SIM_DRM_NAME "xgpumap-drm"
#define SIM_DRM_MAGIC "xgpumap-drm 1 "
#define SIM_DRM_HANDLE 1u /* the first handle of a new DRM file */
#define DESC_MAX 128

/* The sim's DRM file: its name, its seals, its card, the handle, then the
 * record's token. */
static int check_sim_drm(struct xgm_ctx *ctx, int fd, uint32_t handle,
			 uint64_t *id)
{
	char card[32], token[BUFFER_TOKEN_LEN + 2];
	const struct xgm_gpu_ops *g = ctx->be->gpu;
	struct buffer_record r;
	uint64_t n, vram, free_now;
	unsigned int h;
	int ret;

	if (!buffer_fd_is_memfd(fd, SIM_DRM_NAME))
		return BUFFER_NOT_THIS_KIND;
	ret = buffer_memfd_scan(fd, "simulated DRM file", SIM_DRM_MAGIC, 4,
				"%31s %u %" SCNu64 " %33s", card, &h, &n, token);
	if (ret)
		return ret;
	/* The card first: a DRM fd of a card this host has not is refused
	 * whatever its handles are, as on a real host. */
	if (g->card_info && g->card_info(ctx->priv, card, &vram, &free_now)) {
		xgm_clear_error();
		return xgm_fail(-ENODEV, "the DRM fd is open on %s, which is "
				"not a GPU of this host", card);
	}
	if (h != handle)
		return xgm_fail(-ENOENT, "no GEM handle %" PRIu32 " on that "
				"DRM file of %s", handle, card);
	if (buffer_record_load(ctx, n, &r) || !buffer_token_is(&r, token) ||
	    strcmp(card, r.card))
		return xgm_fail(-EBADF, "GEM handle %" PRIu32 " of that DRM "
				"file of %s is not buffer %" PRIu64 " of %s", handle,
				card, n, card);
	*id = n;
	return 0;
}

/* A real DRM device: the backend takes the object, then it is recorded. */
static int take_gem(struct xgm_ctx *ctx, int fd, uint32_t handle,
		    uint64_t *id)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;
	struct xgm_gem_import in = { 0 };
	struct stat st;
	int ret;

	if (fstat(fd, &st))
		return xgm_fail(-EBADF, "cannot fstat the fd: %s", strerror(errno));
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != DRM_MAJOR)
		return xgm_fail(-EBADF, "a GEM handle needs a DRM device fd (a "
				"character device of major %d)", DRM_MAJOR);
	if (!g->buf_import_gem)
		return xgm_fail(-EOPNOTSUPP, "the %s GPU backend has no DRM "
				"device to take GEM handle %" PRIu32 " on (the "
				"simulated host's DRM fds come from "
				"xgm_sim_gem_export)", g->name, handle);
	ret = g->buf_import_gem(ctx->priv, fd, handle, &in);
	return ret ? ret : buffer_record_taken(ctx, &in, id);
}

int buffer_record_taken(struct xgm_ctx *ctx, const struct xgm_gem_import *in,
			uint64_t *id)
{
	struct buffer_record r = { 0 };
	int ret;

	r.id = in->buf;
	r.size = in->bytes;
	r.placement = in->where;
	snprintf(r.card, sizeof(r.card), "%s", in->card);
	ret = buffer_record_new(ctx, &r);
	if (!ret)
		*id = r.id;
	return ret;
}

static int import_gem_op(struct xgm_ctx *ctx, int fd, uint32_t handle,
			 struct xgm_buffer **buf)
{
	uint64_t id;
	int ret;

	if (!buf || fd < 0 || !handle)
		return xgm_fail(-EINVAL, "xgm_buffer_import_gem: %s",
				!buf ? "buf is NULL" : fd < 0 ? "drm_fd is "
				"negative" : "GEM handle 0 is no buffer");
	*buf = NULL;
	ret = check_sim_drm(ctx, fd, handle, &id);
	if (ret == BUFFER_NOT_THIS_KIND)
		ret = take_gem(ctx, fd, handle, &id);
	return ret ? ret : buffer_handle(ctx, id, buf);
}

XGM_API int xgm_buffer_import_gem(struct xgm_ctx *ctx, int drm_fd,
				  uint32_t handle, struct xgm_buffer **buf)
{
	XGM_REMOTE(ctx, remote_call_fd(ctx, "buffer-import-gem", drm_fd, buf,
		REMOTE_NEED(buf) ?: remote_fd_ok(__func__, drm_fd), "{s:I}",
		"handle", (json_int_t)handle));
	return XGM_OP(ctx, XGM_OP_WRITE, import_gem_op(ctx, drm_fd, handle, buf));
}

static int sim_gem_export_op(struct xgm_ctx *ctx, const struct xgm_buffer *buf,
			     uint32_t *handle)
{
	struct buffer_record r;
	char desc[DESC_MAX];
	int ret;

	if (!buf || !handle)
		return xgm_fail(-EINVAL, "xgm_sim_gem_export: %s is NULL",
				!buf ? "buf" : "handle");
	ret = buffer_record_load(ctx, buf->id, &r);
	if (ret == -ENOENT)
		return xgm_fail(-ENOENT, "no buffer %" PRIu64, buf->id);
	ret = ret ?: buffer_check_owner(ctx, &r);
	if (ret)
		return ret;
	snprintf(desc, sizeof(desc), SIM_DRM_MAGIC "%s %u %" PRIu64 " %s\n",
		 r.card, SIM_DRM_HANDLE, r.id, r.token);
	ret = buffer_memfd_make(ctx, SIM_DRM_NAME, desc, 0);
	if (ret >= 0)
		*handle = SIM_DRM_HANDLE;
	return ret;
}

/* Local only (no request forwards it): the daemon's sim buffers reach a
 * test VMM through xgm_buffer_export_fd() and this from its own state. */
XGM_API int xgm_sim_gem_export(struct xgm_ctx *ctx,
			       const struct xgm_buffer *buf, uint32_t *handle)
{
	return XGM_OP(ctx, XGM_OP_READ, sim_gem_export_op(ctx, buf, handle));
}
