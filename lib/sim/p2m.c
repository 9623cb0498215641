// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A p2m as Xen's EPT/NPT builds it: a 4-level radix tree of 512-entry
 * tables (root level 3 covers 512 GiB a slot), leaves at level 0 (4K),
 * 1 (2M) and 2 (1G). Writing inside a superpage splits it level by level
 * down to the level being written, as ept_split_super_page() does
 * (xen/arch/x86/mm/p2m-ept.c); writing a superpage over a table frees the
 * table (ept_free_entry()). Only present leaves are stored: a hole is an
 * empty slot (Xen writes p2m_invalid with INVALID_MFN, i.e. not present).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "sim/model.h"

enum slot_kind { SLOT_EMPTY, SLOT_LEAF, SLOT_TABLE };

struct p2m_table;

struct p2m_slot {
	union {
		uint64_t mfn;
		struct p2m_table *next;
	} u;
	uint8_t kind, type, access, emt, ipat;
};

struct p2m_table {
	struct p2m_slot s[P2M_ENTRIES];
};

struct sim_p2m {
	struct p2m_table *root;
	uint64_t leaves;
};

#define LEVEL_ORDER(l) (9u * (l))
#define SLOT_INDEX(gfn, l) (((gfn) >> LEVEL_ORDER(l)) & (P2M_ENTRIES - 1))

struct sim_p2m *sim_p2m_new(void)
{
	return calloc(1, sizeof(struct sim_p2m));
}

/* Frees a table and everything under it; returns the leaves it held. */
static uint64_t table_free(struct p2m_table *t)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < P2M_ENTRIES; i++) {
		if (t->s[i].kind == SLOT_LEAF)
			n++;
		else if (t->s[i].kind == SLOT_TABLE)
			n += table_free(t->s[i].u.next);
	}
	free(t);
	return n;
}

void sim_p2m_free(struct sim_p2m *p)
{
	if (!p)
		return;
	if (p->root)
		table_free(p->root);
	free(p);
}

static void slot_fill(struct p2m_slot *s, const struct xgm_p2m_entry *e,
		      uint64_t mfn)
{
	s->kind = SLOT_LEAF;
	s->u.mfn = mfn;
	s->type = e->type;
	s->access = e->access;
	s->emt = e->emt;
	s->ipat = e->ipat;
}

static void slot_to_entry(const struct p2m_slot *s, uint64_t gfn,
			  unsigned int level, struct xgm_p2m_entry *e)
{
	e->gfn = gfn;
	e->mfn = s->u.mfn;
	e->order = (uint8_t)LEVEL_ORDER(level);
	e->type = s->type;
	e->access = s->access;
	e->emt = s->emt;
	e->ipat = s->ipat;
}

/* Replaces a superpage leaf at level l by a table of 512 leaves one level
 * down with the same attributes (one "split"). */
static int split_leaf(struct sim_p2m *p, struct p2m_slot *s, unsigned int l)
{
	struct p2m_table *t = calloc(1, sizeof(*t));
	struct xgm_p2m_entry e;
	uint64_t step = 1ull << LEVEL_ORDER(l - 1);

	if (!t)
		return -ENOMEM;
	slot_to_entry(s, 0, l, &e);
	for (unsigned int i = 0; i < P2M_ENTRIES; i++)
		slot_fill(&t->s[i], &e, e.mfn + i * step);
	s->kind = SLOT_TABLE;
	s->u.next = t;
	p->leaves += P2M_ENTRIES - 1;
	return 0;
}

static bool same_leaf(const struct p2m_slot *s, const struct xgm_p2m_entry *e)
{
	return s->kind == SLOT_LEAF && s->u.mfn == e->mfn &&
	       s->type == e->type && s->access == e->access &&
	       s->emt == e->emt && s->ipat == e->ipat;
}

static int check_args(uint64_t gfn, unsigned int order)
{
	if (order != P2M_ORDER_4K && order != P2M_ORDER_2M &&
	    order != P2M_ORDER_1G)
		return -EINVAL;
	if (gfn & ((1ull << order) - 1))
		return -EINVAL;
	if (gfn >> P2M_GFN_BITS)
		return -EINVAL;
	return 0;
}

int sim_p2m_set(struct sim_p2m *p, uint64_t gfn, unsigned int order,
	    const struct xgm_p2m_entry *e, struct p2m_stats *st)
{
	unsigned int target = order / 9;
	struct p2m_table *t;
	struct p2m_slot *s;
	int ret = check_args(gfn, order);

	if (ret)
		return ret;
	if (!p->root) {
		if (!e)
			return 0;
		p->root = calloc(1, sizeof(*p->root));
		if (!p->root)
			return -ENOMEM;
	}
	t = p->root;
	for (unsigned int l = P2M_LEVELS - 1; l > target; l--) {
		s = &t->s[SLOT_INDEX(gfn, l)];
		if (s->kind == SLOT_EMPTY) {
			if (!e)
				return 0; /* nothing mapped: nothing to clear */
			s->u.next = calloc(1, sizeof(*s->u.next));
			if (!s->u.next)
				return -ENOMEM;
			s->kind = SLOT_TABLE;
		} else if (s->kind == SLOT_LEAF) {
			if (e && same_leaf(s, &(struct xgm_p2m_entry){
				.mfn = e->mfn - ((gfn & ((1ull << LEVEL_ORDER(l)) - 1))),
				.type = e->type, .access = e->access,
				.emt = e->emt, .ipat = e->ipat }))
				return 0; /* already mapped exactly so */
			ret = split_leaf(p, s, l);
			if (ret)
				return ret;
			st->splits++;
		}
		t = s->u.next;
	}
	s = &t->s[SLOT_INDEX(gfn, target)];
	if (e && same_leaf(s, e))
		return 0;
	if (s->kind == SLOT_LEAF) {
		st->present_changed = true;
		p->leaves--;
	} else if (s->kind == SLOT_TABLE) {
		uint64_t n = table_free(s->u.next);

		if (n)
			st->present_changed = true;
		p->leaves -= n;
	}
	if (e) {
		slot_fill(s, e, e->mfn);
		p->leaves++;
	} else {
		memset(s, 0, sizeof(*s));
	}
	st->entries++;
	return 0;
}

int sim_p2m_insert_new(struct sim_p2m *p, uint64_t gfn, unsigned int order,
		   const struct xgm_p2m_entry *e)
{
	unsigned int target = order / 9;
	struct p2m_table *t;
	struct p2m_slot *s;
	int ret = check_args(gfn, order);

	if (ret)
		return ret;
	if (!p->root) {
		p->root = calloc(1, sizeof(*p->root));
		if (!p->root)
			return -ENOMEM;
	}
	t = p->root;
	for (unsigned int l = P2M_LEVELS - 1; l > target; l--) {
		s = &t->s[SLOT_INDEX(gfn, l)];
		if (s->kind == SLOT_LEAF)
			return -EEXIST;
		if (s->kind == SLOT_EMPTY) {
			s->u.next = calloc(1, sizeof(*s->u.next));
			if (!s->u.next)
				return -ENOMEM;
			s->kind = SLOT_TABLE;
		}
		t = s->u.next;
	}
	s = &t->s[SLOT_INDEX(gfn, target)];
	if (s->kind != SLOT_EMPTY)
		return -EEXIST;
	slot_fill(s, e, e->mfn);
	p->leaves++;
	return 0;
}

bool sim_p2m_lookup(const struct sim_p2m *p, uint64_t gfn, struct xgm_p2m_entry *e,
		unsigned int *order)
{
	const struct p2m_table *t = p ? p->root : NULL;
	unsigned int l = P2M_LEVELS - 1;

	if (gfn >> P2M_GFN_BITS) {
		*order = 0;
		return false;
	}
	if (!t) {
		*order = LEVEL_ORDER(P2M_LEVELS - 1);
		return false;
	}
	for (;; l--) {
		const struct p2m_slot *s = &t->s[SLOT_INDEX(gfn, l)];

		if (s->kind == SLOT_EMPTY) {
			*order = LEVEL_ORDER(l);
			return false;
		}
		if (s->kind == SLOT_LEAF) {
			uint64_t mask = (1ull << LEVEL_ORDER(l)) - 1;

			slot_to_entry(s, gfn & ~mask, l, e);
			*order = LEVEL_ORDER(l);
			return true;
		}
		t = s->u.next;
	}
}

static int walk_table(const struct p2m_table *t, unsigned int l, uint64_t base,
		      uint64_t first, uint64_t last, xgm_p2m_walk_fn fn,
		      void *arg)
{
	uint64_t span = 1ull << LEVEL_ORDER(l);
	unsigned int i = first > base ? (unsigned int)((first - base) / span) : 0;

	for (; i < P2M_ENTRIES; i++) {
		const struct p2m_slot *s = &t->s[i];
		uint64_t gfn = base + i * span;
		int ret = 0;

		if (gfn > last)
			break;
		if (s->kind == SLOT_LEAF) {
			struct xgm_p2m_entry e;

			slot_to_entry(s, gfn, l, &e);
			ret = fn(&e, arg);
		} else if (s->kind == SLOT_TABLE) {
			ret = walk_table(s->u.next, l - 1, gfn, first, last, fn,
					 arg);
		}
		if (ret)
			return ret;
	}
	return 0;
}

int sim_p2m_walk(const struct sim_p2m *p, uint64_t first, uint64_t last,
	     xgm_p2m_walk_fn fn, void *arg)
{
	if (!p || !p->root || first > last)
		return 0;
	return walk_table(p->root, P2M_LEVELS - 1, 0, first, last, fn, arg);
}

uint64_t sim_p2m_leaf_count(const struct sim_p2m *p)
{
	return p ? p->leaves : 0;
}

static bool last_leaf(const struct p2m_table *t, unsigned int l,
		      uint64_t base, uint64_t *out)
{
	for (int i = P2M_ENTRIES - 1; i >= 0; i--) {
		const struct p2m_slot *s = &t->s[i];
		uint64_t gfn = base + ((uint64_t)i << LEVEL_ORDER(l));

		if (s->kind == SLOT_LEAF) {
			*out = gfn + (1ull << LEVEL_ORDER(l)) - 1;
			return true;
		}
		if (s->kind == SLOT_TABLE && last_leaf(s->u.next, l - 1, gfn, out))
			return true;
	}
	return false;
}

uint64_t sim_p2m_max_gfn(const struct sim_p2m *p)
{
	uint64_t gfn = 0;

	if (p && p->root)
		last_leaf(p->root, P2M_LEVELS - 1, 0, &gfn);
	return gfn;
}
