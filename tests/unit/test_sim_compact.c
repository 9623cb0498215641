// SPDX-License-Identifier: LGPL-2.1-only
/*
 * What the simulated host keeps as runs must answer exactly as the page by
 * page form it stands for: a compact level-0 p2m table (sim/p2m.c) as the
 * expanded table, under rule 1's splits and rule 5's AMD-Vi coalescing;
 * struct sim_runs (page references, ram-mmio mappings) as one entry a key;
 * and a state whose rows keep them one a page (state version 4) loads as
 * the same host. Each test compares the two forms on seeded random
 * changes: a failure means a command on a big blob sees, or counts,
 * something a real Xen would not.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/model.h"

/* ---- p2m: compact against expanded -------------------------------------- */

#define SPAN 0x80000ull /* 2 GiB of gfns the random writes fall in */

struct leaves {
	struct xgm_p2m_entry *e;
	size_t n, cap;
};

static int add_leaf(const struct xgm_p2m_entry *e, void *arg)
{
	struct leaves *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->e = realloc(l->e, l->cap * sizeof(*l->e));
		assert_non_null(l->e);
	}
	l->e[l->n++] = *e;
	return 0;
}

/* walk_runs' answer, expanded again leaf by leaf. */
static int add_run(const struct xgm_p2m_entry *e, uint64_t count, void *arg)
{
	struct xgm_p2m_entry x = *e;

	for (uint64_t k = 0; k < count; k++) {
		x.gfn = e->gfn + (k << e->order);
		x.mfn = e->mfn + (k << e->order);
		add_leaf(&x, arg);
	}
	return 0;
}

static int add_table(uint64_t gfn, unsigned int order, void *arg)
{
	struct xgm_p2m_entry e = { .gfn = gfn, .order = (uint8_t)order };

	return add_leaf(&e, arg);
}

/* Field by field: the struct's padding is no answer. */
static void assert_same_entry(const struct xgm_p2m_entry *a,
			      const struct xgm_p2m_entry *b)
{
	assert_int_equal(a->gfn, b->gfn);
	assert_int_equal(a->mfn, b->mfn);
	assert_int_equal(a->order, b->order);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->access, b->access);
	assert_int_equal(a->emt, b->emt);
	assert_int_equal(a->ipat, b->ipat);
}

static void assert_same_leaves(const struct leaves *a, const struct leaves *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_same_entry(&a->e[i], &b->e[i]);
}

/* Walks over [first, last]: leaf by leaf, by runs, and the empty tables. */
static void assert_same_walks(const struct sim_p2m *c, const struct sim_p2m *x,
			      uint64_t first, uint64_t last)
{
	struct leaves lc = { 0 }, lx = { 0 }, lr = { 0 }, tc = { 0 }, tx = { 0 };

	assert_int_equal(sim_p2m_walk(c, first, last, add_leaf, &lc), 0);
	assert_int_equal(sim_p2m_walk(x, first, last, add_leaf, &lx), 0);
	assert_int_equal(sim_p2m_walk_runs(c, first, last, add_run, &lr), 0);
	assert_same_leaves(&lc, &lx);
	assert_same_leaves(&lr, &lx);
	assert_int_equal(sim_p2m_walk_empty_tables(c, add_table, &tc), 0);
	assert_int_equal(sim_p2m_walk_empty_tables(x, add_table, &tx), 0);
	assert_same_leaves(&tc, &tx);
	free(lc.e);
	free(lx.e);
	free(lr.e);
	free(tc.e);
	free(tx.e);
}

static void assert_same_lookup(const struct sim_p2m *c, const struct sim_p2m *x,
			       uint64_t gfn)
{
	struct xgm_p2m_entry ec = { 0 }, ex = { 0 };
	unsigned int oc = 99, ox = 98;
	bool fc = sim_p2m_lookup(c, gfn, &ec, &oc),
	     fx = sim_p2m_lookup(x, gfn, &ex, &ox);

	assert_int_equal(fc, fx);
	assert_int_equal(oc, ox);
	if (fc)
		assert_same_entry(&ec, &ex);
}

static struct xgm_p2m_entry entry(uint64_t mfn, unsigned int type)
{
	return (struct xgm_p2m_entry){ .mfn = mfn, .type = (uint8_t)type,
				       .access = 7, .emt = XGM_MT_WB };
}

/* The same content in both: contiguous runs a compact p2m keeps as
 * compact tables (aligned or not to their mfns), a superpage, leaves. */
static void fill_both(struct sim_p2m *c, struct sim_p2m *x)
{
	const struct { uint64_t gfn, count, mfn; unsigned int order, type; } r[] = {
		{ 0x0, 4 * 512, 0x10000, 0, XGM_P2M_RAM_RW },       /* aligned mfns */
		{ 0x1000, 3 * 512 + 7, 0x20001, 0, XGM_P2M_MMIO_DIRECT },
		{ 0x1ff0, 600, 0x30000, 0, XGM_P2M_GRANT_MAP_RW }, /* unaligned gfn */
		{ 0x4000, 3, 0x40000, 9, XGM_P2M_RAM_RW },
		{ 0x40000, 1, 0x80000, 18, XGM_P2M_RAM_RW },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		struct xgm_p2m_entry e = entry(r[i].mfn, r[i].type);

		e.gfn = r[i].gfn;
		e.order = (uint8_t)r[i].order;
		assert_int_equal(sim_p2m_insert_run(c, r[i].gfn, r[i].count, &e), 0);
		assert_int_equal(sim_p2m_insert_run(x, r[i].gfn, r[i].count, &e), 0);
	}
	/* Loading refuses an overlap in either form. */
	{
		struct xgm_p2m_entry e = entry(0x99, XGM_P2M_RAM_RW);

		assert_int_equal(sim_p2m_insert_run(c, 0x200, 512, &e), -EEXIST);
		assert_int_equal(sim_p2m_insert_new(c, 0x201, 0, &e), -EEXIST);
		assert_int_equal(sim_p2m_insert_new(x, 0x201, 0, &e), -EEXIST);
	}
}

/* What Xen counts for one write. */
static void assert_same_stats(const struct p2m_stats *a,
			      const struct p2m_stats *b)
{
	assert_int_equal(a->entries, b->entries);
	assert_int_equal(a->splits, b->splits);
	assert_int_equal(a->present_writes, b->present_writes);
	assert_int_equal(a->coalesced, b->coalesced);
	assert_int_equal(a->tables_freed, b->tables_freed);
	assert_int_equal(a->present_changed, b->present_changed);
}

/* One seeded random write: mostly 4K inside what is mapped (mfns that
 * continue their neighbours' now and then, so that AMD-Vi's tables fill
 * contiguously and coalesce), some 2M and 1G writes and clears. */
static void random_write(uint64_t *seed, struct sim_p2m *c, struct sim_p2m *x)
{
	uint64_t r = sim_mix64((*seed)++), gfn = sim_mix64((*seed)++) % SPAN;
	unsigned int order = r % 16 < 11 ? 0 : r % 16 < 15 ? 9 : 18;
	struct xgm_p2m_entry e, old, *ep = &e;
	struct p2m_stats sc = { 0 }, sx = { 0 };
	unsigned int o;

	gfn &= ~((1ull << order) - 1);
	if (sim_p2m_lookup(x, gfn, &old, &o) && (r >> 8) % 2)
		/* The frame the entry had: an identical write, or one that
		 * shifts a run by a frame. */
		e = entry(old.mfn + (gfn - old.gfn) + (r >> 9) % 2,
			  old.type);
	else
		e = entry((sim_mix64(r) % 0x100000) << order,
			  (r >> 12) % 2 ? XGM_P2M_RAM_RW : XGM_P2M_MMIO_DIRECT);
	if ((r >> 16) % 8 == 0)
		ep = NULL;
	assert_int_equal(sim_p2m_set(c, gfn, order, ep, &sc),
			 sim_p2m_set(x, gfn, order, ep, &sx));
	assert_same_stats(&sc, &sx);
	assert_int_equal(sim_p2m_leaf_count(c), sim_p2m_leaf_count(x));
	assert_int_equal(sim_p2m_max_gfn(c), sim_p2m_max_gfn(x));
	for (unsigned int k = 0; k < 16; k++)
		assert_same_lookup(c, x, gfn + (sim_mix64(r + k) % 2048) - 1024);
}

/* A blob's pages written in order, 4K each: into a hole, and over a
 * compact table with other frames (a table a write made whole and
 * contiguous again is compact again). */
static int count_calls(const struct xgm_p2m_entry *e, uint64_t count,
		       void *arg)
{
	assert_true(count == 1 || count == P2M_ENTRIES);
	(*(size_t *)arg)++;
	return 0;
}

static void sequential_writes(struct sim_p2m *c, struct sim_p2m *x)
{
	size_t calls = 0;

	const uint64_t at[] = { 0x60000 + 0x37, 0x0, 0x1200 };

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		for (uint64_t k = 0; k < 3 * 512; k++) {
			struct xgm_p2m_entry e = entry(0x700001 + k + i * 0x1000,
						       XGM_P2M_MMIO_DIRECT);
			struct p2m_stats sc = { 0 }, sx = { 0 };

			assert_int_equal(sim_p2m_set(c, at[i] + k, 0, &e, &sc), 0);
			assert_int_equal(sim_p2m_set(x, at[i] + k, 0, &e, &sx), 0);
			assert_same_stats(&sc, &sx);
		}
		assert_int_equal(sim_p2m_leaf_count(c), sim_p2m_leaf_count(x));
	}
	assert_same_walks(c, x, 0, UINT64_MAX);
	/* The three whole tables written at gfn 0 are compact again (AMD-Vi's
	 * tables keep theirs: they coalesce what is aligned instead). */
	assert_int_equal(sim_p2m_walk_runs(c, 0, 3 * 512 - 1, count_calls, &calls), 0);
	assert_int_equal(calls, sim_p2m_flags(c) & SIM_P2M_COALESCE ? 3 * 512 : 3);
}

static void compare_on_random_writes(unsigned int flags, uint64_t seed)
{
	struct sim_p2m *c = sim_p2m_new(flags),
		       *x = sim_p2m_new(flags | SIM_P2M_NO_COMPACT);

	fill_both(c, x);
	sequential_writes(c, x);
	assert_int_equal(sim_p2m_leaf_count(c), sim_p2m_leaf_count(x));
	assert_same_walks(c, x, 0, UINT64_MAX);
	for (unsigned int i = 0; i < 600; i++) {
		random_write(&seed, c, x);
		if (i % 100 == 99) {
			uint64_t g = sim_mix64(seed) % SPAN;

			assert_same_walks(c, x, 0, UINT64_MAX);
			/* A range that starts and ends inside tables. */
			assert_same_walks(c, x, g, g + 0x1234);
		}
	}
	assert_same_walks(c, x, 0, UINT64_MAX);
	sim_p2m_free(c);
	sim_p2m_free(x);
}

/* Rule 1 on EPT (ept_split_super_page()): splits are counted as the
 * expanded tables count them, and every lookup and walk agrees. */
static void test_rule1_ept_compact_tables_answer_as_expanded_on_random_writes(void **state)
{
	compare_on_random_writes(SIM_P2M_SPLIT_WHOLE, 1);
}

/* Rule 1 on NPT (p2m_next_level()): the same, splitting along the path. */
static void test_rule1_npt_compact_tables_answer_as_expanded_on_random_writes(void **state)
{
	compare_on_random_writes(0, 2);
}

/* Rule 5 on AMD-Vi's own tables: emptied tables freed and full contiguous
 * ones coalesced exactly when the expanded tables are. */
static void test_rule5_amd_compact_tables_coalesce_as_expanded_on_random_writes(void **state)
{
	compare_on_random_writes(SIM_P2M_COALESCE, 3);
}

/* Rule 1 on EPT: a 4K write inside a 1G leaf counts 1 + 512 splits and
 * leaves 511 compact tables (each one walk_runs call) and the one it
 * wrote in; a 2M write over a compact table frees one table of 512
 * leaves. Failing means a load or a split costs what Xen does not, or
 * the compact form miscounts what it stands for. */
static void test_rule1_ept_split_leaves_compact_tables_counted_as_xen_does(void **state)
{
	struct sim_p2m *p = sim_p2m_new(SIM_P2M_SPLIT_WHOLE);
	struct xgm_p2m_entry e = entry(0x40000, XGM_P2M_RAM_RW);
	struct p2m_stats st = { 0 };
	struct leaves runs = { 0 };
	size_t calls = 0;

	assert_int_equal(sim_p2m_set(p, 0, P2M_ORDER_1G, &e, &st), 0);
	e = entry(0x999, XGM_P2M_RAM_RW);
	memset(&st, 0, sizeof(st));
	assert_int_equal(sim_p2m_set(p, 0x1234, P2M_ORDER_4K, &e, &st), 0);
	assert_int_equal(st.splits, 1 + 512);
	assert_int_equal(sim_p2m_leaf_count(p), 1ull << 18);
	/* 511 compact tables, one call each, and the 512 leaves of the one
	 * written in. */
	assert_int_equal(sim_p2m_walk_runs(p, 0, UINT64_MAX, count_calls, &calls), 0);
	assert_int_equal(calls, 511 + 512);
	assert_int_equal(sim_p2m_walk_runs(p, 0, UINT64_MAX, add_run, &runs), 0);
	assert_int_equal(runs.n, 1ull << 18);
	assert_int_equal(runs.e[0x1234].mfn, 0x999);
	assert_int_equal(runs.e[0x1235].mfn, 0x40000 + 0x1235);
	free(runs.e);
	memset(&st, 0, sizeof(st));
	e.mfn = 0x200000;
	assert_int_equal(sim_p2m_set(p, 0x4000, P2M_ORDER_2M, &e, &st), 0);
	assert_int_equal(st.tables_freed, 1);
	assert_true(st.present_changed);
	assert_int_equal(sim_p2m_leaf_count(p), (1ull << 18) - 511);
	sim_p2m_free(p);
}

/* Rule 5 on AMD-Vi: the separate tables a loaded guest's are rebuilt
 * into (from its compact tables) are the ones its writes mirrored: 2M
 * leaves where full aligned tables coalesced, tables where they did not.
 * Failing means an AMD host's IOMMU view changes across a save. */
static void test_rule5_amd_tables_rebuilt_from_compact_ones_are_the_mirrored_ones(void **state)
{
	struct xgm_sim_guest g[1] = { { "vm1", XGM_DOM_PVH, 2ull << 30, 2, true } };
	const uint64_t at[2] = { 0x100000, 0x200001 };
	struct leaves a = { 0 }, b = { 0 };
	struct sim_topology t;
	struct sim_model *m = NULL, *m2 = NULL;
	json_t *j;

	sim_topo_default(&t);
	t.iommu = XGM_IOMMU_AMD;
	t.guests = g;
	t.nr_guests = 1;
	t.extensions = XGM_EXT_RAM_MMIO;
	assert_int_equal(sim_topo_validate(&t), 0);
	assert_int_equal(sim_topo_build(&t, &m), 0);
	for (unsigned int i = 0; i < 2; i++) {
		struct xgm_extent *x;
		uint64_t buf, done = 0;
		size_t n;

		assert_int_equal(sim_gpu_buf_alloc_at(m, NULL, 3 << 20, XGM_PLACE_SYS,
						      at[i], &buf), 0);
		assert_int_equal(sim_gpu_buf_extents(m, buf, &x, &n), 0);
		assert_int_equal(n, 1);
		while (done < 768) {
			int r = sim_ext_ram_mmio_map(m, 1, at[i] + done,
						     x[0].mfn + done, 768 - done);

			assert_true(r > 0);
			done += (uint64_t)r;
		}
		free(x);
	}
	j = sim_persist_save(m);
	assert_int_equal(sim_persist_load(j, &m2), 0);
	assert_int_equal(sim_iommu_walk(m, 1, 0, UINT64_MAX, add_leaf, &a), 0);
	assert_int_equal(sim_iommu_walk(m2, 1, 0, UINT64_MAX, add_leaf, &b), 0);
	assert_true(a.n > 0);
	assert_same_leaves(&a, &b);
	assert_int_equal(sim_p2m_leaf_count(sim_dom_get(m, 1)->iommu_pt),
			 sim_p2m_leaf_count(sim_dom_get(m2, 1)->iommu_pt));
	free(a.e);
	free(b.e);
	json_decref(j);
	sim_model_free(m);
	sim_model_free(m2);
}

/* ---- runs against one entry a key -------------------------------------- */

#define KEYS 3000

/* Runs answer every key as an array of one entry a key does, on random
 * sets and clears of ranges, and stay merged: no run continues the one
 * before it. Failing means a page reference or a ram-mmio mapping is
 * lost, invented or moved. */
static void test_runs_answer_as_one_entry_a_key_on_random_changes(void **state)
{
	static uint64_t v0[KEYS], v1[KEYS];
	static bool has[KEYS];
	struct sim_runs rs = { .step = 1u << 0 };
	uint64_t seed = 7;
	size_t n;

	for (unsigned int i = 0; i < 4000; i++) {
		uint64_t r = sim_mix64(seed++), first = r % KEYS;
		uint64_t count = 1 + (r >> 16) % (i % 3 ? 4 : 300);
		uint64_t val[SIM_RUN_VALS] = { (r >> 24) % 4 ? first + 100 : r >> 40,
					       (r >> 28) % 2 ? 5 : SIM_RUN_NONE };
		bool clear = (r >> 32) % 4 == 0;

		if (first + count > KEYS)
			count = KEYS - first;
		assert_int_equal(sim_runs_set(&rs, first, count, clear ? NULL : val), 0);
		for (uint64_t k = first; k < first + count; k++) {
			has[k] = !clear;
			v0[k] = val[0] + (k - first); /* step bit 0 */
			v1[k] = val[1];               /* constant */
		}
		if (i % 50)
			continue;
		for (uint64_t k = 0; k < KEYS; k++) {
			uint64_t got[SIM_RUN_VALS];

			assert_int_equal(sim_runs_get(&rs, k, got), has[k]);
			if (has[k]) {
				assert_int_equal(got[0], v0[k]);
				assert_int_equal(got[1], v1[k]);
			}
		}
		n = 0;
		for (const struct sim_run *a = sim_runs_first(&rs), *b; a; a = b) {
			b = sim_runs_next(a);
			n++;
			if (!b)
				break;
			assert_true(a->first + a->count <= b->first);
			assert_false(a->first + a->count == b->first &&
				     sim_run_val(&rs, a, 0, a->count) == b->val[0] &&
				     a->val[1] == b->val[1]);
		}
		assert_int_equal(n, rs.nr);
		/* lower: the run holding a key or the first one after it */
		for (uint64_t k = 0; k < KEYS; k += 37) {
			const struct sim_run *lo = sim_runs_lower(&rs, k);
			uint64_t j = k;

			while (j < KEYS && !has[j])
				j++;
			if (j == KEYS)
				assert_null(lo);
			else
				assert_true(lo && lo->first <= j &&
					    j < lo->first + lo->count &&
					    (lo->first >= k || has[k]));
		}
	}
	sim_runs_free(&rs);
}

/* ---- a state with one entry a page loads as the runs' ------------------ */

/* The rows of state version 4 (and the JSON states before it) kept a page
 * reference and a ram-mmio mapping one a page, in no order; they load as
 * the same host, which saves them as one run each. Failing means a v4
 * state opens as another host (refused, or with references lost). */
static void test_one_entry_a_page_form_loads_as_the_same_runs(void **state)
{
	struct sim_topology t;
	struct sim_model *m = NULL, *m2 = NULL;
	struct xgm_extent *x;
	json_t *j, *old, *refs, *rmm, *d1, *j2;
	uint64_t buf;
	size_t n, i;

	sim_topo_default(&t);
	t.extensions = XGM_EXT_RAM_MMIO;
	assert_int_equal(sim_topo_build(&t, &m), 0);
	assert_int_equal(sim_gpu_buf_alloc(m, NULL, 100 * 4096, XGM_PLACE_SYS, &buf), 0);
	assert_int_equal(sim_gpu_buf_extents(m, buf, &x, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sim_ext_ram_mmio_map(m, 1, 0x100000, x[0].mfn, 64), 64);
	assert_int_equal(sim_ext_ram_mmio_map(m, 1, 0x100040, x[0].mfn + 64, 36), 36);
	j = sim_persist_save(m);
	assert_non_null(j);
	refs = json_object_get(j, "refs");
	assert_int_equal(json_array_size(refs), 1);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(refs, 0), 1)), 100);
	d1 = json_array_get(json_object_get(j, "domains"), 1);
	rmm = json_object_get(d1, "ram_mmio");
	assert_int_equal(json_array_size(rmm), 1);

	/* The same in the old forms, the mappings last page first. */
	old = json_deep_copy(j);
	refs = json_array();
	rmm = json_array();
	for (i = 0; i < 100; i++)
		json_array_append_new(refs, json_pack("[I, i]",
			(json_int_t)(x[0].mfn + i), 1));
	{
		json_t *run = json_array_get(json_object_get(d1, "ram_mmio"), 0);
		json_int_t g = json_integer_value(json_array_get(run, 0)),
			   mf = json_integer_value(json_array_get(run, 2)),
			   d0 = json_integer_value(json_array_get(run, 3));

		assert_int_equal(mf, x[0].mfn);
		for (i = 100; i-- > 0;)
			json_array_append_new(rmm, json_pack("[I, I, I]",
				g + (json_int_t)i, mf + (json_int_t)i,
				d0 + (json_int_t)i));
	}
	json_object_set_new(old, "refs", refs);
	json_object_set_new(json_array_get(json_object_get(old, "domains"), 1),
			    "ram_mmio", rmm);
	assert_int_equal(sim_persist_load(old, &m2), 0);
	assert_int_equal(sim_mem_refs(m2, x[0].mfn + 99), 1);
	assert_int_equal(sim_mem_refs(m2, x[0].mfn + 100), 0);
	j2 = sim_persist_save(m2);
	assert_true(json_equal(j, j2));
	/* The mappings come back whole: every reference is put. */
	assert_int_equal(sim_ext_ram_mmio_unmap(m2, 1, 0x100000, 100), 100);
	assert_int_equal(m2->refs.nr, 0);

	/* A page twice is refused, naming the field. */
	rmm = json_array_get(json_object_get(json_array_get(
		json_object_get(old, "domains"), 1), "ram_mmio"), 0);
	json_array_append(json_object_get(json_array_get(
		json_object_get(old, "domains"), 1), "ram_mmio"), rmm);
	sim_model_free(m2);
	m2 = NULL;
	assert_int_equal(sim_persist_load(old, &m2), -EBADMSG);
	assert_non_null(strstr(xgm_last_error(), "ram_mmio"));
	json_decref(j);
	json_decref(j2);
	json_decref(old);
	free(x);
	sim_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule1_ept_compact_tables_answer_as_expanded_on_random_writes),
		cmocka_unit_test(test_rule1_npt_compact_tables_answer_as_expanded_on_random_writes),
		cmocka_unit_test(test_rule5_amd_compact_tables_coalesce_as_expanded_on_random_writes),
		cmocka_unit_test(test_rule1_ept_split_leaves_compact_tables_counted_as_xen_does),
		cmocka_unit_test(test_rule5_amd_tables_rebuilt_from_compact_ones_are_the_mirrored_ones),
		cmocka_unit_test(test_runs_answer_as_one_entry_a_key_on_random_changes),
		cmocka_unit_test(test_one_entry_a_page_form_loads_as_the_same_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
