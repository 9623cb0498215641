/* SPDX-License-Identifier: LGPL-2.1-only */
/* Growable arrays: one way to make room, for every layer. */
#ifndef XGM_UTIL_ARRAY_H
#define XGM_UTIL_ARRAY_H

#include <stddef.h>

/* Makes room for one more element in a growable array *arrp of nr
 * elements of elem bytes (capacity *cap, first allocation `first`
 * elements, then doubling). -ENOMEM leaves the array as it was. */
int xgm_array_room(void *arrp, size_t nr, size_t *cap, size_t elem,
		   size_t first);
/* qsort(3)/bsearch(3) order of uint64_t elements. */
int xgm_cmp_u64(const void *a, const void *b);

#endif /* XGM_UTIL_ARRAY_H */
