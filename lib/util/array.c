// SPDX-License-Identifier: LGPL-2.1-only
/* Growable arrays (see array.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"

int xgm_array_room(void *arrp, size_t nr, size_t *cap, size_t elem,
		   size_t first)
{
	void *old, *n;
	size_t c;

	if (nr < *cap)
		return 0;
	/* arrp points at a typed pointer: copy it, not alias it as void *. */
	memcpy(&old, arrp, sizeof(old));
	c = *cap ? *cap * 2 : first;
	n = realloc(old, c * elem);
	if (!n)
		return -ENOMEM;
	memcpy(arrp, &n, sizeof(n));
	*cap = c;
	return 0;
}

int xgm_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}
