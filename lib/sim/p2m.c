// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A p2m as Xen's EPT/NPT builds it, or AMD-Vi's own tables: a 4-level
 * radix tree of 512-entry tables (root level 3 covers 512 GiB a slot),
 * leaves at level 0 (4K), 1 (2M) and 2 (1G). Only present leaves are
 * stored: a hole is an empty slot (Xen writes p2m_invalid with
 * INVALID_MFN, i.e. not present).
 *
 * Writing inside a superpage splits it, in one of two ways:
 *  - EPT (ept_split_super_page(), arch/x86/mm/p2m-ept.c) recurses into
 *    every one of the 512 children down to the target level, so a 4K write
 *    in a 1G leaf builds 1 L2 and 512 L1 tables;
 *  - NPT (p2m_next_level(), p2m-pt.c) and AMD-Vi (iommu_pde_from_dfn())
 *    split one level per step along the path only.
 * Writing a superpage over a table frees the table (ept_free_entry()).
 * Emptied tables stay (Xen frees them only then and at teardown), except
 * in AMD-Vi's tables, which free an emptied table and coalesce a full,
 * contiguous one into a superpage (amd/iommu_map.c, since 4.17).
 *
 * A level-0 table whose 512 leaves are contiguous (one type, access and
 * memory type, mfn + 1 each) is kept compact: its slot one level up holds
 * the first leaf (SLOT_RUN), and the table is built only when something
 * writes inside it. Xen has the table all the same: every count (leaves,
 * splits, tables freed, entries) is the expanded table's. An EPT split of
 * a superpage down to 4K and a state loaded from its runs build such
 * tables, so an unaligned 16 GiB blob costs 8192 slots, not 4 million
 * leaves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

/* SLOT_RUN: a compact level-0 table (only in a level-1 slot): u.mfn and
 * the attributes are its first leaf's. */
enum slot_kind { SLOT_EMPTY, SLOT_LEAF, SLOT_TABLE, SLOT_RUN };

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
	unsigned int used; /* slots that are not empty */
};

struct sim_p2m {
	struct p2m_table *root;
	uint64_t leaves;
	unsigned int flags; /* SIM_P2M_* */
	uint64_t max_mapped; /* highest gfn ever mapped + 1 (0: none) */
	bool changed;        /* written since sim_p2m_take_changed() */
};

#define LEVEL_ORDER(l) (9u * (l))
#define SLOT_INDEX(gfn, l) (((gfn) >> LEVEL_ORDER(l)) & (P2M_ENTRIES - 1))

struct sim_p2m *sim_p2m_new(unsigned int flags)
{
	struct sim_p2m *p = calloc(1, sizeof(struct sim_p2m));

	if (p)
		p->flags = flags;
	return p;
}

unsigned int sim_p2m_flags(const struct sim_p2m *p)
{
	return p ? p->flags : 0;
}

/* A compact table goes: what freeing it expanded would count. */
static uint64_t run_free(uint64_t *tables)
{
	if (tables)
		(*tables)++;
	return P2M_ENTRIES;
}

/* Frees a table and everything under it; returns the leaves it held and
 * adds the tables freed to *tables when given. */
static uint64_t table_free(struct p2m_table *t, uint64_t *tables)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < P2M_ENTRIES; i++) {
		if (t->s[i].kind == SLOT_LEAF)
			n++;
		else if (t->s[i].kind == SLOT_TABLE)
			n += table_free(t->s[i].u.next, tables);
		else if (t->s[i].kind == SLOT_RUN)
			n += run_free(tables);
	}
	free(t);
	if (tables)
		(*tables)++;
	return n;
}

void sim_p2m_free(struct sim_p2m *p)
{
	if (!p)
		return;
	if (p->root)
		table_free(p->root, NULL);
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

/* Leaf i of a compact table, as the expanded table has it. */
static void run_leaf(const struct p2m_slot *run, unsigned int i,
		     struct p2m_slot *leaf)
{
	*leaf = *run;
	leaf->kind = SLOT_LEAF;
	leaf->u.mfn = run->u.mfn + i;
}

/* Builds the table a compact slot stands for, before a write inside it;
 * nothing Xen counts changes. */
static int materialise(struct p2m_slot *s)
{
	struct p2m_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (unsigned int i = 0; i < P2M_ENTRIES; i++)
		run_leaf(s, i, &t->s[i]);
	t->used = P2M_ENTRIES;
	s->kind = SLOT_TABLE;
	s->u.next = t;
	return 0;
}

/* Replaces a superpage leaf at level l by a table of 512 leaves one level
 * down with the same attributes (one "split"), and those again down to
 * level target (EPT's recursion; NPT passes target = l - 1). A 2M leaf's
 * table of 4K leaves is contiguous: it stays compact until a write. */
static int split_leaf(struct sim_p2m *p, struct p2m_slot *s, unsigned int l,
		      unsigned int target, struct p2m_stats *st)
{
	struct p2m_table *t;
	struct xgm_p2m_entry e;
	uint64_t step = 1ull << LEVEL_ORDER(l - 1);
	int ret = 0;

	if (l == 1 && !(p->flags & SIM_P2M_NO_COMPACT)) {
		s->kind = SLOT_RUN;
		p->leaves += P2M_ENTRIES - 1;
		st->splits++;
		return 0;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	slot_to_entry(s, 0, l, &e);
	for (unsigned int i = 0; i < P2M_ENTRIES; i++)
		slot_fill(&t->s[i], &e, e.mfn + i * step);
	t->used = P2M_ENTRIES;
	s->kind = SLOT_TABLE;
	s->u.next = t;
	p->leaves += P2M_ENTRIES - 1;
	st->splits++;
	/* Like Xen, a failed recursion still installs what it built. */
	for (unsigned int i = 0; !ret && l - 1 > target && i < P2M_ENTRIES; i++)
		ret = split_leaf(p, &t->s[i], l - 1, target, st);
	return ret;
}

static bool same_leaf(const struct p2m_slot *s, const struct xgm_p2m_entry *e)
{
	return s->kind == SLOT_LEAF && s->u.mfn == e->mfn &&
	       s->type == e->type && s->access == e->access &&
	       s->emt == e->emt && s->ipat == e->ipat;
}

/* p2m->max_mapped_pfn: "the highest gfn for which we have ever had a
 * valid mapping" (ept_set_entry()); it never shrinks. */
static void raise_max(struct sim_p2m *p, uint64_t gfn, unsigned int order)
{
	if (gfn + (1ull << order) > p->max_mapped)
		p->max_mapped = gfn + (1ull << order);
}

void sim_p2m_raise_max_gfn(struct sim_p2m *p, uint64_t gfn)
{
	p->changed = true;
	raise_max(p, gfn, 0);
}

bool sim_p2m_take_changed(struct sim_p2m *p)
{
	bool was = p->changed;

	p->changed = false;
	return was;
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

/* A full table of leaves of one kind whose frames follow each other:
 * what a compact table stands for (at level 0). */
static bool leaves_contiguous(const struct p2m_table *t, unsigned int l)
{
	const struct p2m_slot *s0 = &t->s[0];
	uint64_t step = 1ull << LEVEL_ORDER(l);

	if (t->used != P2M_ENTRIES || s0->kind != SLOT_LEAF)
		return false;
	for (unsigned int i = 1; i < P2M_ENTRIES; i++) {
		const struct p2m_slot *s = &t->s[i];

		if (s->kind != SLOT_LEAF || s->u.mfn != s0->u.mfn + i * step ||
		    s->type != s0->type || s->access != s0->access ||
		    s->emt != s0->emt || s->ipat != s0->ipat)
			return false;
	}
	return true;
}

/* The same from a frame aligned to the table's span: AMD-Vi's contig
 * markers. */
static bool table_contiguous(const struct p2m_table *t, unsigned int l)
{
	uint64_t span = 1ull << (LEVEL_ORDER(l) + 9);

	return !(t->s[0].u.mfn & (span - 1)) && leaves_contiguous(t, l);
}

/* A level-0 table a write has just made whole and contiguous (checked
 * when its last slot is written, as a blob's pages are written in order)
 * becomes compact again; slot is its entry one level up. */
static void compact(struct sim_p2m *p, struct p2m_slot *slot, uint64_t gfn)
{
	struct p2m_table *t = slot->u.next;
	struct p2m_slot run;

	if ((p->flags & (SIM_P2M_NO_COMPACT | SIM_P2M_COALESCE)) ||
	    SLOT_INDEX(gfn, 0) != P2M_ENTRIES - 1 || !leaves_contiguous(t, 0))
		return;
	run = t->s[0];
	run.kind = SLOT_RUN;
	free(t);
	*slot = run;
}

/* AMD-Vi after a write at level l of the path: a table left empty is
 * freed (clear_iommu_pte_present()'s *free), a full contiguous one becomes
 * one superpage a level up (amd_iommu_map_page()'s coalescing, up to 1G);
 * both repeat upwards. */
static void tidy_path(struct sim_p2m *p, struct p2m_table **path,
		      unsigned int l, uint64_t gfn, struct p2m_stats *st)
{
	for (; l < P2M_LEVELS - 1; l++) {
		struct p2m_table *t = path[l];
		struct p2m_slot *up = &path[l + 1]->s[SLOT_INDEX(gfn, l + 1)];

		if (!t->used) {
			free(t);
			memset(up, 0, sizeof(*up));
			path[l + 1]->used--;
		} else if (l + 1 <= 2 && table_contiguous(t, l)) {
			struct p2m_slot s0 = t->s[0];

			free(t);
			*up = s0;
			p->leaves -= P2M_ENTRIES - 1;
			st->coalesced++;
		} else {
			return;
		}
	}
}

int sim_p2m_set(struct sim_p2m *p, uint64_t gfn, unsigned int order,
	    const struct xgm_p2m_entry *e, struct p2m_stats *st)
{
	unsigned int target = order / 9;
	struct p2m_table *t, *path[P2M_LEVELS];
	struct p2m_slot *s;
	int ret = check_args(gfn, order);

	if (ret)
		return ret;
	p->changed = true;
	if (!p->root) {
		if (!e)
			return 0;
		p->root = calloc(1, sizeof(*p->root));
		if (!p->root)
			return -ENOMEM;
	}
	t = p->root;
	for (unsigned int l = P2M_LEVELS - 1; l > target; l--) {
		path[l] = t;
		s = &t->s[SLOT_INDEX(gfn, l)];
		if (s->kind == SLOT_EMPTY) {
			if (!e)
				return 0; /* nothing mapped: nothing to clear */
			s->u.next = calloc(1, sizeof(*s->u.next));
			if (!s->u.next)
				return -ENOMEM;
			s->kind = SLOT_TABLE;
			t->used++;
		} else if (s->kind == SLOT_LEAF) {
			if (e && same_leaf(s, &(struct xgm_p2m_entry){
				.mfn = e->mfn - ((gfn & ((1ull << LEVEL_ORDER(l)) - 1))),
				.type = e->type, .access = e->access,
				.emt = e->emt, .ipat = e->ipat }))
				return 0; /* already mapped exactly so */
			/* The superpage entry becomes a table entry: a write
			 * of a present entry. */
			st->present_writes++;
			ret = split_leaf(p, s, l,
					 p->flags & SIM_P2M_SPLIT_WHOLE ? target
									: l - 1,
					 st);
			if (ret)
				return ret;
		}
		if (s->kind == SLOT_RUN) {
			struct p2m_slot leaf;

			run_leaf(s, (unsigned int)SLOT_INDEX(gfn, 0), &leaf);
			if (e && same_leaf(&leaf, e))
				return 0;
			ret = materialise(s);
			if (ret)
				return ret;
		}
		t = s->u.next;
	}
	path[target] = t;
	s = &t->s[SLOT_INDEX(gfn, target)];
	if (e && same_leaf(s, e))
		return 0;
	if (s->kind == SLOT_LEAF) {
		st->present_changed = true;
		st->present_writes++;
		p->leaves--;
	} else if (s->kind == SLOT_TABLE) {
		/* A table entry is present even when the table is empty (EPT
		 * sets rwx on it, NPT _PAGE_PRESENT): replacing it needs the
		 * flush as a leaf does (ept_set_entry()'s needs_sync,
		 * hap_write_p2m_entry_post()), and ept_free_entry() then
		 * frees the tables under it. */
		p->leaves -= table_free(s->u.next, &st->tables_freed);
		st->present_changed = true;
		st->present_writes++;
	} else if (s->kind == SLOT_RUN) {
		p->leaves -= run_free(&st->tables_freed);
		st->present_changed = true;
		st->present_writes++;
	}
	if (s->kind == SLOT_EMPTY && e)
		t->used++;
	else if (s->kind != SLOT_EMPTY && !e)
		t->used--;
	if (e) {
		slot_fill(s, e, e->mfn);
		p->leaves++;
		raise_max(p, gfn, order);
	} else {
		memset(s, 0, sizeof(*s));
	}
	st->entries++;
	if ((p->flags & SIM_P2M_COALESCE) && target < P2M_LEVELS - 1)
		tidy_path(p, path, target, gfn, st);
	else if (e && target == 0)
		compact(p, &path[1]->s[SLOT_INDEX(gfn, 1)], gfn);
	return 0;
}

/* Walks to the table at level target that holds gfn's slot, creating the
 * tables on the way; -EEXIST when a leaf covers gfn above that level. */
static int descend_creating(struct sim_p2m *p, uint64_t gfn,
			    unsigned int target, struct p2m_table **out)
{
	struct p2m_table *t;

	if (!p->root) {
		p->root = calloc(1, sizeof(*p->root));
		if (!p->root)
			return -ENOMEM;
	}
	t = p->root;
	for (unsigned int l = P2M_LEVELS - 1; l > target; l--) {
		struct p2m_slot *s = &t->s[SLOT_INDEX(gfn, l)];

		if (s->kind == SLOT_LEAF || s->kind == SLOT_RUN)
			return -EEXIST;
		if (s->kind == SLOT_EMPTY) {
			s->u.next = calloc(1, sizeof(*s->u.next));
			if (!s->u.next)
				return -ENOMEM;
			s->kind = SLOT_TABLE;
			t->used++;
		}
		t = s->u.next;
	}
	*out = t;
	return 0;
}

int sim_p2m_insert_new(struct sim_p2m *p, uint64_t gfn, unsigned int order,
		   const struct xgm_p2m_entry *e)
{
	unsigned int target = order / 9;
	struct p2m_table *t;
	struct p2m_slot *s;
	int ret = check_args(gfn, order) ?: descend_creating(p, gfn, target, &t);

	if (ret)
		return ret;
	p->changed = true;
	s = &t->s[SLOT_INDEX(gfn, target)];
	if (s->kind != SLOT_EMPTY)
		return -EEXIST;
	slot_fill(s, e, e->mfn);
	t->used++;
	p->leaves++;
	raise_max(p, gfn, order);
	return 0;
}

int sim_p2m_insert_run(struct sim_p2m *p, uint64_t gfn, uint64_t count,
		       const struct xgm_p2m_entry *e)
{
	uint64_t step = 1ull << e->order, end;
	struct xgm_p2m_entry x = *e;
	int ret = 0;

	if (!count || count > (1ull << P2M_GFN_BITS) ||
	    gfn + count * step > (1ull << P2M_GFN_BITS))
		return -EINVAL;
	end = gfn + count * step;
	while (!ret && gfn < end) {
		struct p2m_table *t;
		struct p2m_slot *s;

		x.gfn = gfn;
		x.mfn = e->mfn + (gfn - e->gfn);
		/* A whole aligned level-0 table of the run: a compact one. */
		if (e->order != P2M_ORDER_4K || (gfn & (P2M_ENTRIES - 1)) ||
		    end - gfn < P2M_ENTRIES || (p->flags & SIM_P2M_NO_COMPACT)) {
			ret = sim_p2m_insert_new(p, gfn, e->order, &x);
			gfn += step;
			continue;
		}
		ret = descend_creating(p, gfn, 1, &t);
		if (ret)
			break;
		s = &t->s[SLOT_INDEX(gfn, 1)];
		if (s->kind != SLOT_EMPTY)
			return -EEXIST;
		slot_fill(s, &x, x.mfn);
		s->kind = SLOT_RUN;
		t->used++;
		p->leaves += P2M_ENTRIES;
		p->changed = true;
		raise_max(p, gfn, P2M_ORDER_2M);
		gfn += P2M_ENTRIES;
	}
	return ret;
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
		if (s->kind == SLOT_RUN) {
			struct p2m_slot leaf;

			run_leaf(s, (unsigned int)SLOT_INDEX(gfn, 0), &leaf);
			slot_to_entry(&leaf, gfn, 0, e);
			*order = 0;
			return true;
		}
		t = s->u.next;
	}
}

/* A walk calls fn a leaf, or run_fn a leaf or compact table's part. */
struct walker {
	xgm_p2m_walk_fn fn;
	sim_p2m_run_fn run_fn;
	void *arg;
	uint64_t first, last;
};

/* The leaves of the compact table at gfn that lie in the walk's range. */
static int walk_run(const struct walker *w, const struct p2m_slot *s,
		    uint64_t gfn)
{
	uint64_t lo = gfn > w->first ? gfn : w->first;
	uint64_t hi = gfn + P2M_ENTRIES - 1 < w->last ? gfn + P2M_ENTRIES - 1 :
							 w->last;
	struct p2m_slot leaf;
	struct xgm_p2m_entry e;
	int ret = 0;

	run_leaf(s, (unsigned int)(lo - gfn), &leaf);
	slot_to_entry(&leaf, lo, 0, &e);
	if (w->run_fn)
		return w->run_fn(&e, hi - lo + 1, w->arg);
	for (uint64_t g = lo; !ret && g <= hi; g++, e.gfn++, e.mfn++)
		ret = w->fn(&e, w->arg);
	return ret;
}

static int walk_table(const struct walker *w, const struct p2m_table *t,
		      unsigned int l, uint64_t base)
{
	uint64_t span = 1ull << LEVEL_ORDER(l);
	unsigned int i = w->first > base ?
				 (unsigned int)((w->first - base) / span) : 0;

	for (; i < P2M_ENTRIES; i++) {
		const struct p2m_slot *s = &t->s[i];
		uint64_t gfn = base + i * span;
		int ret = 0;

		if (gfn > w->last)
			break;
		if (s->kind == SLOT_LEAF) {
			struct xgm_p2m_entry e;

			slot_to_entry(s, gfn, l, &e);
			ret = w->run_fn ? w->run_fn(&e, 1, w->arg) :
					  w->fn(&e, w->arg);
		} else if (s->kind == SLOT_TABLE) {
			ret = walk_table(w, s->u.next, l - 1, gfn);
		} else if (s->kind == SLOT_RUN) {
			ret = walk_run(w, s, gfn);
		}
		if (ret)
			return ret;
	}
	return 0;
}

int sim_p2m_walk(const struct sim_p2m *p, uint64_t first, uint64_t last,
	     xgm_p2m_walk_fn fn, void *arg)
{
	struct walker w = { fn, NULL, arg, first, last };

	if (!p || !p->root || first > last)
		return 0;
	return walk_table(&w, p->root, P2M_LEVELS - 1, 0);
}

int sim_p2m_walk_runs(const struct sim_p2m *p, uint64_t first, uint64_t last,
		      sim_p2m_run_fn fn, void *arg)
{
	struct walker w = { NULL, fn, arg, first, last };

	if (!p || !p->root || first > last)
		return 0;
	return walk_table(&w, p->root, P2M_LEVELS - 1, 0);
}

uint64_t sim_p2m_leaf_count(const struct sim_p2m *p)
{
	return p ? p->leaves : 0;
}

uint64_t sim_p2m_max_gfn(const struct sim_p2m *p)
{
	return p && p->max_mapped ? p->max_mapped - 1 : 0;
}

static int empty_tables(const struct p2m_table *t, unsigned int l,
			uint64_t base, sim_p2m_table_fn fn, void *arg)
{
	for (unsigned int i = 0; i < P2M_ENTRIES; i++) {
		const struct p2m_slot *s = &t->s[i];
		uint64_t gfn = base + ((uint64_t)i << LEVEL_ORDER(l));
		int ret;

		if (s->kind != SLOT_TABLE)
			continue;
		ret = s->u.next->used ?
			      empty_tables(s->u.next, l - 1, gfn, fn, arg) :
			      fn(gfn, LEVEL_ORDER(l), arg);
		if (ret)
			return ret;
	}
	return 0;
}

int sim_p2m_walk_empty_tables(const struct sim_p2m *p, sim_p2m_table_fn fn,
			      void *arg)
{
	if (!p || !p->root)
		return 0;
	return empty_tables(p->root, P2M_LEVELS - 1, 0, fn, arg);
}

int sim_p2m_add_empty_table(struct sim_p2m *p, uint64_t gfn,
			    unsigned int order)
{
	unsigned int target = order / 9;
	struct p2m_table *t;
	struct p2m_slot *s;
	int ret;

	if ((order != P2M_ORDER_2M && order != P2M_ORDER_1G &&
	     order != 27) || (gfn & ((1ull << order) - 1)) ||
	    (gfn >> P2M_GFN_BITS))
		return -EINVAL;
	ret = descend_creating(p, gfn, target, &t);
	if (ret)
		return ret;
	p->changed = true;
	s = &t->s[SLOT_INDEX(gfn, target)];
	if (s->kind != SLOT_EMPTY)
		return -EEXIST;
	s->u.next = calloc(1, sizeof(*s->u.next));
	if (!s->u.next)
		return -ENOMEM;
	s->kind = SLOT_TABLE;
	t->used++;
	return 0;
}
