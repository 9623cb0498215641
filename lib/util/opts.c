// SPDX-License-Identifier: LGPL-2.1-only
/* Options-struct validation shared by every function that takes options. */
#include <stdint.h>

#include "ctx.h"
#include "util/opts.h"

/* The __last_field names above must really be the last members: a field
 * added after one of them without moving the name would be ignored. */
#define LAST_IS_LAST(type) \
	_Static_assert(sizeof(struct type) - OPTS_KNOWN(type) < \
		       _Alignof(struct type), #type "__last_field is stale")
LAST_IS_LAST(xgm_ctx_opts);
LAST_IS_LAST(xgm_attach_opts);
LAST_IS_LAST(xgm_migrate_opts);
LAST_IS_LAST(xgm_bench_opts);
LAST_IS_LAST(xgm_sim_init_opts);
LAST_IS_LAST(xgm_map_opts);
LAST_IS_LAST(xgm_move_opts);

int xgm__opts_check(const void *opts, size_t known, const char *fn,
		    const char *type)
{
	const unsigned char *p = opts;
	size_t sz;

	if (!opts)
		return 0;
	sz = *(const size_t *)opts;
	if (sz < sizeof(size_t))
		return xgm_fail(-EINVAL, "%s: struct %s has sz %zu, smaller "
				"than its sz member: declare it with XGM_OPTS()",
				fn, type, sz);
	for (size_t i = known; i < sz; i++)
		if (p[i])
			return xgm_fail(-EINVAL, "%s: struct %s is %zu bytes and "
					"byte %zu is not zero: this library "
					"(%s) knows only its first %zu bytes",
					fn, type, sz, i, xgm_version(), known);
	return 0;
}
