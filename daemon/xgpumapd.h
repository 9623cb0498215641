/* SPDX-License-Identifier: GPL-2.0-only */
/* xgpumapd's parts: the parser (proto.c) and the request runner (serve.c). */
#ifndef XGMD_H
#define XGMD_H

#include <jansson.h>

#include "proto.h"

struct xgm_ctx;

/* Runs r on ctx: *out its result (NULL: none), *fd_out an fd to pass back
 * (-1: none; the caller closes it). fd_in is the request's fd or -1. */
int serve(struct xgm_ctx *ctx, const struct proto_req *r, int fd_in,
	  json_t **out, int *fd_out);

#endif /* XGMD_H */
