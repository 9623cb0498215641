/* SPDX-License-Identifier: LGPL-2.1-only */
/* Existing buffers (core/buffer.c) and the passed fds that name them
 * (core/bufimport.c). */
#ifndef XGM_CORE_BUFFER_H
#define XGM_CORE_BUFFER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

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
/* Validators' helpers (core/bufimport.c). A validator returns
 * BUFFER_NOT_THIS_KIND for an fd of another kind, so the next one looks. */
#define BUFFER_NOT_THIS_KIND 1
/* Is fd a memfd made with this name (the kernel calls it "/memfd:NAME")? */
bool buffer_fd_is_memfd(int fd, const char *name);
/* Reads the first line of a sealed memfd: magic, then n fields by fmt
 * (vsscanf). -EBADF naming what when fd is not sealed against writes,
 * growing and shrinking, or the line is not that. */
int buffer_memfd_scan(int fd, const char *what, const char *magic, int n,
		      const char *fmt, ...) __attribute__((format(scanf, 5, 6)));
/* A sealed memfd named name holding desc, size bytes long (at least desc). */
int buffer_memfd_make(struct xgm_ctx *ctx, const char *name, const char *desc,
		      uint64_t size);
/* Is token r's secret? (constant time) */
bool buffer_token_is(const struct buffer_record *r, const char *token);
/* The size and exporter name in a dma-buf's /proc/self/fdinfo text (its
 * first line preceded by a newline); -1 when they are not there. */
int buffer_dmabuf_fdinfo(const char *text, uint64_t *size, char *exp,
			 size_t explen);
/* Records a buffer the backend has just taken (r: all but the token);
 * on failure the backend's buffer is released again. */
int buffer_record_new(struct xgm_ctx *ctx, struct buffer_record *r);
/* Records what the backend took (buf_import_gem, buf_import_dmabuf) as
 * the caller's existing buffer: *id. */
struct xgm_gem_import;
int buffer_record_taken(struct xgm_ctx *ctx, const struct xgm_gem_import *in,
			uint64_t *id);
/* The ids of every existing buffer's record, sorted (*ids malloc'd, NULL
 * when there are none), and whether such a list holds id. */
int buffer_record_ids(struct xgm_ctx *ctx, uint64_t **ids, size_t *n);
bool buffer_ids_have(const uint64_t *ids, size_t n, uint64_t id);
/* Drops the records of existing buffers that are gone and that no blob
 * or journal record names, each reported into report (recover). */
int buffer_records_drop_gone(struct xgm_ctx *ctx, json_t *report);
/* Unrecords and frees an existing buffer no blob maps. */
int buffer_free_id(struct xgm_ctx *ctx, uint64_t id);

#endif /* XGM_CORE_BUFFER_H */
