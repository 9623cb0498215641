/* SPDX-License-Identifier: LGPL-2.1-only */
/* Existing buffers (core/buffer.c) and the passed fds that name them
 * (core/bufimport.c). */
#ifndef XGM_CORE_BUFFER_H
#define XGM_CORE_BUFFER_H

#include <stdbool.h>
#include <stdint.h>

#include "ctx.h"

#define BUFFER_TOKEN_LEN 32 /* hex digits of 128 random bits */

struct xgm_buffer {
	uint64_t id;
	char card[32];
	uint64_t size;
	enum xgm_placement placement;
	uint32_t uid; /* who created it */
};

struct buffer_record {
	uint64_t id;
	char card[32];
	uint64_t size;
	enum xgm_placement placement;
	uint32_t uid;
	char token[BUFFER_TOKEN_LEN + 1];
};

/* The record of buffer id; -ENOENT (no message) when it is not one. */
int buffer_record_load(struct xgm_ctx *ctx, uint64_t id,
		       struct buffer_record *r);
/* True when id is an existing buffer: gpu_free() only releases it. */
bool buffer_is_existing(struct xgm_ctx *ctx, uint64_t id);
/* -EBUSY naming the blob when one maps buffer id. */
int buffer_check_unused(struct xgm_ctx *ctx, uint64_t id);
/* What xgm_blob_map() checks before it adopts buffer id: that it exists,
 * is the caller's (unless root), no blob maps it, and what the caller
 * said of it (size, placement, card; 0/NULL: anything) matches. */
int buffer_adopt_check(struct xgm_ctx *ctx, uint64_t id, uint64_t size,
		       const char *placement, const char *card,
		       struct buffer_record *r);
/* -EBUSY when b's buffer is an existing one: it moves when its creator
 * moves it, not by migrate. */
struct blob;
int buffer_check_movable(struct xgm_ctx *ctx, const struct blob *b);
/* -EPERM unless the context's caller may touch r (core/buffer.c). */
int buffer_check_owner(struct xgm_ctx *ctx, const struct buffer_record *r);
/* A new handle of existing buffer id. */
int buffer_handle(struct xgm_ctx *ctx, uint64_t id, struct xgm_buffer **out);
/* The buffer a passed fd stands for (core/bufimport.c): -EBADF when none. */
int buffer_fd_resolve(struct xgm_ctx *ctx, int fd, uint64_t *id);
/* Unrecords and frees an existing buffer no blob maps. */
int buffer_free_id(struct xgm_ctx *ctx, uint64_t id);

#endif /* XGM_CORE_BUFFER_H */
