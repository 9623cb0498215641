// SPDX-License-Identifier: LGPL-2.1-only
/* Flat pairs in JSON arrays (see pairs.h). */
#include <errno.h>

#include "util/pairs.h"

int xgm_pairs_add(json_t *arr, uint64_t a, uint64_t b)
{
	if (json_array_append_new(arr, json_integer((json_int_t)a)) ||
	    json_array_append_new(arr, json_integer((json_int_t)b)))
		return -ENOMEM;
	return 0;
}

static int get(json_t *v, uint64_t max, uint64_t *out)
{
	json_int_t x = json_integer_value(v);

	if (!json_is_integer(v))
		return -EBADMSG;
	if (max == UINT64_MAX) {
		*out = (uint64_t)x;
		return 0;
	}
	if (x < 0 || (uint64_t)x > max)
		return -EBADMSG;
	*out = (uint64_t)x;
	return 0;
}

int xgm_pairs_each(json_t *arr, uint64_t max_a, uint64_t max_b,
		   int (*add)(void *ctx, uint64_t a, uint64_t b), void *ctx)
{
	size_t len = json_array_size(arr);

	if (!json_is_array(arr) || len % 2)
		return -EBADMSG;
	for (size_t i = 0; i < len; i += 2) {
		uint64_t a, b;
		int ret = get(json_array_get(arr, i), max_a, &a) ?:
			  get(json_array_get(arr, i + 1), max_b, &b) ?:
			  add(ctx, a, b);

		if (ret)
			return ret;
	}
	return 0;
}
