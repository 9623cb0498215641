// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The small containers the model is built from: a rangeset (sorted,
 * coalesced inclusive ranges, like Xen's xen/common/rangeset.c) and a
 * sparse uint64 map. The host is modelled with these, never with an
 * array indexed by frame number.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/model.h"

uint64_t sim_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* ---- rangeset ---------------------------------------------------------- */

/* Index of the first range whose end is >= s. */
static size_t rs_lower(const struct sim_rangeset *rs, uint64_t s)
{
	size_t lo = 0, hi = rs->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs->r[mid].e < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int rs_reserve(struct sim_rangeset *rs, size_t n)
{
	struct sim_range *r;
	size_t cap;

	if (n <= rs->cap)
		return 0;
	cap = rs->cap ? rs->cap * 2 : 8;
	while (cap < n)
		cap *= 2;
	r = realloc(rs->r, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	rs->r = r;
	rs->cap = cap;
	return 0;
}

int sim_rs_add(struct sim_rangeset *rs, uint64_t s, uint64_t e)
{
	size_t i, j;

	if (e < s)
		return -EINVAL;
	/* First range that touches or follows [s, e] (adjacent ones merge). */
	i = rs_lower(rs, s ? s - 1 : 0);
	j = i;
	while (j < rs->nr && (e == UINT64_MAX || rs->r[j].s <= e + 1)) {
		if (rs->r[j].s < s)
			s = rs->r[j].s;
		if (rs->r[j].e > e)
			e = rs->r[j].e;
		j++;
	}
	if (j == i) {
		if (rs_reserve(rs, rs->nr + 1))
			return -ENOMEM;
		memmove(&rs->r[i + 1], &rs->r[i], (rs->nr - i) * sizeof(*rs->r));
		rs->nr++;
	} else if (j > i + 1) {
		memmove(&rs->r[i + 1], &rs->r[j], (rs->nr - j) * sizeof(*rs->r));
		rs->nr -= j - i - 1;
	}
	rs->r[i].s = s;
	rs->r[i].e = e;
	return 0;
}

int sim_rs_remove(struct sim_rangeset *rs, uint64_t s, uint64_t e)
{
	size_t i;

	if (e < s)
		return -EINVAL;
	i = rs_lower(rs, s);
	while (i < rs->nr && rs->r[i].s <= e) {
		struct sim_range *r = &rs->r[i];

		if (r->s < s && r->e > e) {
			/* Punch a hole: split into two. */
			if (rs_reserve(rs, rs->nr + 1))
				return -ENOMEM;
			r = &rs->r[i];
			memmove(&rs->r[i + 1], &rs->r[i],
				(rs->nr - i) * sizeof(*rs->r));
			rs->nr++;
			rs->r[i].e = s - 1;
			rs->r[i + 1].s = e + 1;
			return 0;
		}
		if (r->s < s) {
			r->e = s - 1;
			i++;
		} else if (r->e > e) {
			r->s = e + 1;
			return 0;
		} else {
			memmove(&rs->r[i], &rs->r[i + 1],
				(rs->nr - i - 1) * sizeof(*rs->r));
			rs->nr--;
		}
	}
	return 0;
}

bool sim_rs_contains(const struct sim_rangeset *rs, uint64_t s, uint64_t e)
{
	size_t i = rs_lower(rs, s);

	return i < rs->nr && rs->r[i].s <= s && rs->r[i].e >= e;
}

bool sim_rs_overlaps(const struct sim_rangeset *rs, uint64_t s, uint64_t e)
{
	size_t i = rs_lower(rs, s);

	return i < rs->nr && rs->r[i].s <= e;
}

uint64_t sim_rs_count(const struct sim_rangeset *rs)
{
	uint64_t n = 0;

	for (size_t i = 0; i < rs->nr; i++)
		n += rs->r[i].e - rs->r[i].s + 1;
	return n;
}

void sim_rs_free(struct sim_rangeset *rs)
{
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

int sim_rs_copy(struct sim_rangeset *dst, const struct sim_rangeset *src)
{
	sim_rs_free(dst);
	if (!src->nr)
		return 0;
	if (rs_reserve(dst, src->nr))
		return -ENOMEM;
	memcpy(dst->r, src->r, src->nr * sizeof(*src->r));
	dst->nr = src->nr;
	return 0;
}

/* ---- sparse map -------------------------------------------------------- */

static size_t map_slot(const struct sim_u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = sim_mix64(key) & mask;

	while (m->used[i] && m->keys[i] != key)
		i = (i + 1) & mask;
	return i;
}

static int map_grow(struct sim_u64map *m)
{
	struct sim_u64map n = { 0 };

	n.cap = m->cap ? m->cap * 2 : 16;
	n.keys = malloc(n.cap * sizeof(*n.keys));
	n.vals = malloc(n.cap * sizeof(*n.vals));
	n.used = calloc(n.cap, 1);
	if (!n.keys || !n.vals || !n.used) {
		sim_map_free(&n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->used[i]) {
			size_t j = map_slot(&n, m->keys[i]);

			n.used[j] = 1;
			n.keys[j] = m->keys[i];
			n.vals[j] = m->vals[i];
			n.nr++;
		}
	}
	sim_map_free(m);
	*m = n;
	return 0;
}

int sim_map_set(struct sim_u64map *m, uint64_t key, uint64_t val)
{
	size_t i;

	if ((m->nr + 1) * 4 > m->cap * 3 && map_grow(m))
		return -ENOMEM;
	i = map_slot(m, key);
	if (!m->used[i]) {
		m->used[i] = 1;
		m->keys[i] = key;
		m->nr++;
	}
	m->vals[i] = val;
	return 0;
}

bool sim_map_get(const struct sim_u64map *m, uint64_t key, uint64_t *val)
{
	size_t i;

	if (!m->cap)
		return false;
	i = map_slot(m, key);
	if (!m->used[i])
		return false;
	if (val)
		*val = m->vals[i];
	return true;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
void sim_map_del(struct sim_u64map *m, uint64_t key)
{
	size_t mask, i, j;

	if (!m->cap)
		return;
	mask = m->cap - 1;
	i = map_slot(m, key);
	if (!m->used[i])
		return;
	m->used[i] = 0;
	m->nr--;
	for (j = (i + 1) & mask; m->used[j]; j = (j + 1) & mask) {
		size_t home = sim_mix64(m->keys[j]) & mask;

		/* Move j back to i if i lies cyclically in [home, j). */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->used[i] = 1;
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->used[j] = 0;
			i = j;
		}
	}
}

void sim_map_free(struct sim_u64map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t *sim_map_sorted_keys(const struct sim_u64map *m)
{
	uint64_t *keys;
	size_t n = 0;

	if (!m->nr)
		return NULL;
	keys = malloc(m->nr * sizeof(*keys));
	if (!keys)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->used[i])
			keys[n++] = m->keys[i];
	qsort(keys, n, sizeof(*keys), cmp_u64);
	return keys;
}
