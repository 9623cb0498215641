/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Options structs, validated as libbpf validates them (DESIGN section 8).
 *
 * Every public options struct starts with `size_t sz`, the size of the
 * struct the caller was compiled against:
 *  - a caller built against an older header passes a smaller sz: the fields
 *    past it are read as their defaults (OPTS_GET's fallback);
 *  - a caller built against a newer header passes a larger sz: accepted only
 *    when every byte this library does not know is zero, else -EINVAL;
 *  - sz smaller than the sz member itself means the caller did not use
 *    XGM_OPTS(): -EINVAL.
 * Each failure sets its own message, naming the function and the struct.
 */
#ifndef XGM_UTIL_OPTS_H
#define XGM_UTIL_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "xgpumap-sim.h"

#define offsetofend(TYPE, FIELD) \
	(offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))

/* The last member of each options struct: what this library knows. */
#define xgm_ctx_opts__last_field daemon
#define xgm_attach_opts__last_field buffer
#define xgm_migrate_opts__last_field pause
#define xgm_bench_opts__last_field samples
#define xgm_sim_init_opts__last_field gnttab_max_frames
#define xgm_map_opts__last_field buffer
#define xgm_buffer_opts__last_field card
#define xgm_move_opts__last_field pause

/* 0 when opts is NULL or valid; otherwise -EINVAL with a message. */
int xgm__opts_check(const void *opts, size_t known, const char *fn,
		    const char *type);

#define OPTS_KNOWN(type) offsetofend(struct type, type##__last_field)
#define OPTS_CHECK(fn, opts, type) \
	xgm__opts_check((opts), OPTS_KNOWN(type), (fn), #type)
#define OPTS_HAS(opts, field) \
	((opts) && (opts)->sz >= offsetofend(__typeof__(*(opts)), field))
#define OPTS_GET(opts, field, fallback) \
	(OPTS_HAS(opts, field) ? (opts)->field : (fallback))

#endif /* XGM_UTIL_OPTS_H */
