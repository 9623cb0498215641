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
	qsort(keys, n, sizeof(*keys), xgm_cmp_u64);
	return keys;
}

/* ---- runs ------------------------------------------------------------ */

/*
 * A skip list of runs in key order: a lookup, an insertion and a removal
 * cost O(log runs) wherever they fall, and the next run is one step. A
 * sorted array would make every change inside it move the rest, which a
 * PV dom0's scattered frames (one run a page, in no order) made
 * quadratic. A blob's pages, set in order, grow the run last set (hint)
 * without a search.
 */
#define RUN_LEVELS 20 /* a level a quarter of the one below: 4^20 runs */

struct sim_run_node {
	struct sim_run r; /* first: a run's address is its node's */
	unsigned int level;
	struct sim_run_node *next[];
};

static struct sim_run_node *node_of(const struct sim_run *r)
{
	return (struct sim_run_node *)r;
}

/* The last node (or the head) before key at each level. */
static struct sim_run_node *run_search(const struct sim_runs *rs, uint64_t key,
				       struct sim_run_node **update)
{
	struct sim_run_node *x = rs->head;

	for (unsigned int l = RUN_LEVELS; l-- > 0;) {
		while (x->next[l] && x->next[l]->r.first < key)
			x = x->next[l];
		if (update)
			update[l] = x;
	}
	return x;
}

static struct sim_run_node *lower_node(const struct sim_runs *rs, uint64_t key)
{
	struct sim_run_node *x = rs->hint;

	/* A blob's pages are looked up in order: mostly in the last run. */
	if (x && x->r.first <= key && key - x->r.first < x->r.count)
		return x;
	if (!rs->head)
		return NULL;
	x = run_search(rs, key, NULL);
	if (x != rs->head && x->r.first + x->r.count > key)
		return x;
	return x->next[0];
}

const struct sim_run *sim_runs_lower(const struct sim_runs *rs, uint64_t key)
{
	struct sim_run_node *n = lower_node(rs, key);

	return n ? &n->r : NULL;
}

const struct sim_run *sim_runs_first(const struct sim_runs *rs)
{
	return rs->head && rs->head->next[0] ? &rs->head->next[0]->r : NULL;
}

const struct sim_run *sim_runs_next(const struct sim_run *r)
{
	struct sim_run_node *n = node_of(r)->next[0];

	return n ? &n->r : NULL;
}

uint64_t sim_run_val(const struct sim_runs *rs, const struct sim_run *r,
		     unsigned int k, uint64_t off)
{
	uint64_t v = r->val[k];

	return (rs->step & (1u << k)) && v != SIM_RUN_NONE ? v + off : v;
}

bool sim_runs_get(const struct sim_runs *rs, uint64_t key,
		  uint64_t val[SIM_RUN_VALS])
{
	const struct sim_run *r = sim_runs_lower(rs, key);

	if (!r || r->first > key)
		return false;
	for (unsigned int k = 0; val && k < SIM_RUN_VALS; k++)
		val[k] = sim_run_val(rs, r, k, key - r->first);
	return true;
}

/* The part of r from key on, as a run of its own. */
static struct sim_run run_from(const struct sim_runs *rs,
			       const struct sim_run *r, uint64_t key)
{
	struct sim_run t = { key, r->first + r->count - key, { 0 } };

	for (unsigned int k = 0; k < SIM_RUN_VALS; k++)
		t.val[k] = sim_run_val(rs, r, k, key - r->first);
	return t;
}

/* Does b continue a (adjacent keys, the values a would have there)? */
static bool run_continues(const struct sim_runs *rs, const struct sim_run *a,
			  const struct sim_run *b)
{
	if (a->first + a->count != b->first)
		return false;
	for (unsigned int k = 0; k < SIM_RUN_VALS; k++)
		if (sim_run_val(rs, a, k, a->count) != b->val[k])
			return false;
	return true;
}

/* A node of a seeded random level, not yet linked. */
static struct sim_run_node *node_new(struct sim_runs *rs)
{
	uint64_t r = sim_mix64(++rs->seed);
	unsigned int level = 1;
	struct sim_run_node *n;

	while (level < RUN_LEVELS && !(r & 3)) {
		level++;
		r >>= 2;
	}
	n = calloc(1, sizeof(*n) + level * sizeof(n->next[0]));
	if (n)
		n->level = level;
	return n;
}

static void node_link(struct sim_runs *rs, struct sim_run_node *n)
{
	struct sim_run_node *update[RUN_LEVELS];

	run_search(rs, n->r.first, update);
	for (unsigned int l = 0; l < n->level; l++) {
		n->next[l] = update[l]->next[l];
		update[l]->next[l] = n;
	}
	rs->nr++;
}

static void node_unlink(struct sim_runs *rs, struct sim_run_node *n)
{
	struct sim_run_node *update[RUN_LEVELS];

	run_search(rs, n->r.first, update);
	for (unsigned int l = 0; l < n->level; l++)
		if (update[l]->next[l] == n)
			update[l]->next[l] = n->next[l];
	if (rs->hint == n)
		rs->hint = NULL;
	rs->nr--;
	free(n);
}

/* The run after n joins it when it continues it. */
static void absorb_next(struct sim_runs *rs, struct sim_run_node *n)
{
	struct sim_run_node *x = n->next[0];

	if (x && run_continues(rs, &n->r, &x->r)) {
		n->r.count += x->r.count;
		node_unlink(rs, x);
	}
}

/* The hint grows when the new run continues it and no run starts before
 * the new one ends. */
static bool grow_hint(struct sim_runs *rs, const struct sim_run *n)
{
	struct sim_run_node *h = rs->hint;

	if (!h || !run_continues(rs, &h->r, n) ||
	    (h->next[0] && h->next[0]->r.first < n->first + n->count))
		return false;
	h->r.count += n->count;
	absorb_next(rs, h);
	return true;
}

int sim_runs_set(struct sim_runs *rs, uint64_t first, uint64_t count,
		 const uint64_t val[SIM_RUN_VALS])
{
	uint64_t end = first + count;
	struct sim_run n = { first, count, { 0 } };
	struct sim_run_node *tail, *fresh, *x, *pred;
	bool inside;

	if (!count || end < first)
		return count ? -EINVAL : 0;
	if (val)
		memcpy(n.val, val, sizeof(n.val));
	if (val && grow_hint(rs, &n))
		return 0;
	if (!rs->head) {
		rs->head = calloc(1, sizeof(*rs->head) +
				  RUN_LEVELS * sizeof(rs->head->next[0]));
		if (!rs->head)
			return -ENOMEM;
		rs->head->level = RUN_LEVELS;
	}
	/* The nodes it needs first, so that out of memory changes nothing: a
	 * new run's, and one for the tail of a run it falls inside. */
	x = lower_node(rs, first);
	inside = x && x->r.first < first && x->r.first + x->r.count > end;
	tail = inside ? node_new(rs) : NULL;
	fresh = val ? node_new(rs) : NULL;
	if ((inside && !tail) || (val && !fresh)) {
		free(tail);
		free(fresh);
		return -ENOMEM;
	}
	/* The runs over [first, end): cut to what lies outside it. */
	for (; x && x->r.first < end;) {
		struct sim_run_node *next = x->next[0];

		if (x->r.first < first) {
			if (x->r.first + x->r.count > end) {
				tail->r = run_from(rs, &x->r, end);
				node_link(rs, tail);
				tail = NULL;
			}
			x->r.count = first - x->r.first;
		} else if (x->r.first + x->r.count > end) {
			x->r = run_from(rs, &x->r, end); /* keeps its place */
			rs->hint = x; /* where a removal in order goes next */
		} else {
			node_unlink(rs, x);
		}
		x = next;
	}
	free(tail);
	if (!val)
		return 0;
	pred = first ? lower_node(rs, first - 1) : NULL;
	if (pred && run_continues(rs, &pred->r, &n)) {
		pred->r.count += count;
		free(fresh);
		fresh = pred;
	} else {
		fresh->r = n;
		node_link(rs, fresh);
	}
	absorb_next(rs, fresh);
	rs->hint = fresh;
	return 0;
}

uint64_t sim_runs_keys(const struct sim_runs *rs)
{
	uint64_t n = 0;

	for (const struct sim_run *r = sim_runs_first(rs); r; r = sim_runs_next(r))
		n += r->count;
	return n;
}

void sim_runs_free(struct sim_runs *rs)
{
	struct sim_run_node *x = rs->head;

	while (x) {
		struct sim_run_node *next = x->next[0];

		free(x);
		x = next;
	}
	rs->head = rs->hint = NULL;
	rs->nr = 0;
}
