// SPDX-License-Identifier: LGPL-2.1-only
/* The p2m radix tree, and rule 4 (one lock per p2m, deferred flushes). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/model.h"

static struct xgm_p2m_entry ram(uint64_t mfn)
{
	return (struct xgm_p2m_entry){ .mfn = mfn, .type = XGM_P2M_RAM_RW,
				       .access = 7, .emt = XGM_MT_WB };
}

struct collect {
	struct xgm_p2m_entry e[64];
	size_t n;
};

static int collect(const struct xgm_p2m_entry *e, void *arg)
{
	struct collect *c = arg;

	if (c->n < 64)
		c->e[c->n] = *e;
	c->n++;
	return 0;
}

/* Rule 1 (NPT, p2m_next_level()): a write inside a 1G superpage splits
 * it one level per step along the path: 1G -> 512 x 2M (one split), the
 * one 2M -> 512 x 4K (a second); the other 2M stay 2M. Failing means
 * NPT's shattering cost is miscounted or the neighbours lost their
 * mapping. */
static void test_rule1_npt_splits_one_level_per_step_along_the_path(void **state)
{
	struct sim_p2m *p = sim_p2m_new(0);
	struct xgm_p2m_entry e = ram(0x40000), got;
	struct p2m_stats st = { 0 };
	unsigned int order;

	assert_int_equal(sim_p2m_set(p, 0, P2M_ORDER_1G, &e, &st), 0);
	assert_int_equal(sim_p2m_leaf_count(p), 1);
	e = ram(0x999);
	memset(&st, 0, sizeof(st));
	assert_int_equal(sim_p2m_set(p, 0x1234, P2M_ORDER_4K, &e, &st), 0);
	assert_int_equal(st.splits, 2);
	assert_int_equal(st.entries, 1);
	assert_true(st.present_changed);
	assert_int_equal(sim_p2m_leaf_count(p), 511 + 511 + 1);
	assert_true(sim_p2m_lookup(p, 0x1234, &got, &order));
	assert_int_equal(order, 0);
	assert_int_equal(got.mfn, 0x999);
	/* the neighbour 4K keeps the superpage's frame */
	assert_true(sim_p2m_lookup(p, 0x1235, &got, &order));
	assert_int_equal(got.mfn, 0x40000 + 0x1235);
	/* a different 2M of the old 1G is a 2M leaf now */
	assert_true(sim_p2m_lookup(p, 0x20000, &got, &order));
	assert_int_equal(order, 9);
	assert_int_equal(got.gfn, 0x20000);
	assert_int_equal(got.mfn, 0x40000 + 0x20000);
	sim_p2m_free(p);
}

/* Rule 1 (EPT, ept_split_super_page()): a write inside a 1G superpage
 * shatters all of it down to the target level: 1 L2 and 512 L1 tables,
 * 262,144 4K leaves; a 2M write inside a 1G only builds the L2. Failing
 * means the sim understates Intel's shattering cost ~250x, as it did when
 * it split along the path on both vendors. */
static void test_rule1_ept_shatters_whole_superpage(void **state)
{
	struct sim_p2m *p = sim_p2m_new(SIM_P2M_SPLIT_WHOLE);
	struct xgm_p2m_entry e = ram(0x40000), got;
	struct p2m_stats st = { 0 };
	unsigned int order;

	assert_int_equal(sim_p2m_set(p, 0, P2M_ORDER_1G, &e, &st), 0);
	e = ram(0x999);
	memset(&st, 0, sizeof(st));
	assert_int_equal(sim_p2m_set(p, 0x1234, P2M_ORDER_4K, &e, &st), 0);
	assert_int_equal(st.splits, 1 + 512);
	assert_int_equal(st.entries, 1);
	assert_true(st.present_changed);
	assert_int_equal(sim_p2m_leaf_count(p), 262144);
	assert_true(sim_p2m_lookup(p, 0x1234, &got, &order));
	assert_int_equal(got.mfn, 0x999);
	/* every other 2M of the old 1G is 512 x 4K now, same frames */
	assert_true(sim_p2m_lookup(p, 0x20000, &got, &order));
	assert_int_equal(order, 0);
	assert_int_equal(got.mfn, 0x40000 + 0x20000);
	assert_true(sim_p2m_lookup(p, 0x3ffff, &got, &order));
	assert_int_equal(order, 0);
	assert_int_equal(got.mfn, 0x40000 + 0x3ffff);
	sim_p2m_free(p);

	/* down to 2M only: the 1G becomes 512 x 2M, nothing more */
	p = sim_p2m_new(SIM_P2M_SPLIT_WHOLE);
	e = ram(0x40000);
	assert_int_equal(sim_p2m_set(p, 0, P2M_ORDER_1G, &e, &st), 0);
	memset(&st, 0, sizeof(st));
	e = ram(0x80000);
	assert_int_equal(sim_p2m_set(p, 0x200, P2M_ORDER_2M, &e, &st), 0);
	assert_int_equal(st.splits, 1);
	assert_int_equal(sim_p2m_leaf_count(p), 512);
	assert_true(sim_p2m_lookup(p, 0x20000, &got, &order));
	assert_int_equal(order, 9);
	sim_p2m_free(p);
}

/* A hole reports the order of the empty region it lies in, as Xen's
 * get_entry() does; failing breaks map_mmio_regions' retry logic. */
static void test_p2m_hole_reports_level_order(void **state)
{
	struct sim_p2m *p = sim_p2m_new(0);
	struct xgm_p2m_entry e = ram(0x200), got;
	struct p2m_stats st = { 0 };
	unsigned int order;

	assert_false(sim_p2m_lookup(p, 5, &got, &order));
	assert_int_equal(order, 27);
	assert_int_equal(sim_p2m_set(p, 0x200, P2M_ORDER_4K, &e, &st), 0);
	assert_false(sim_p2m_lookup(p, 0x201, &got, &order));
	assert_int_equal(order, 0);
	assert_false(sim_p2m_lookup(p, 0x400, &got, &order));
	assert_int_equal(order, 9);
	assert_false(sim_p2m_lookup(p, 1ull << 18, &got, &order));
	assert_int_equal(order, 18);
	sim_p2m_free(p);
}

static void test_p2m_walk_in_order_and_clear(void **state)
{
	struct sim_p2m *p = sim_p2m_new(0);
	struct xgm_p2m_entry e;
	struct p2m_stats st = { 0 };
	struct collect c = { .n = 0 };

	e = ram(0x80000);
	assert_int_equal(sim_p2m_set(p, 0x80000, P2M_ORDER_2M, &e, &st), 0);
	e = ram(0x10);
	assert_int_equal(sim_p2m_set(p, 0x10, P2M_ORDER_4K, &e, &st), 0);
	e = ram(0x5000000);
	assert_int_equal(sim_p2m_set(p, 1ull << 30, P2M_ORDER_1G, &e, &st), 0);
	sim_p2m_walk(p, 0, UINT64_MAX, collect, &c);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.e[0].gfn, 0x10);
	assert_int_equal(c.e[1].gfn, 0x80000);
	assert_int_equal(c.e[2].gfn, 1ull << 30);
	assert_int_equal(sim_p2m_max_gfn(p), (1ull << 30) + (1ull << 18) - 1);
	/* a range walk sees only overlapping leaves */
	c.n = 0;
	sim_p2m_walk(p, 0x80100, 0x80100, collect, &c);
	assert_int_equal(c.n, 1);
	/* clearing a 4K inside the 2M splits it and leaves 511 */
	memset(&st, 0, sizeof(st));
	assert_int_equal(sim_p2m_set(p, 0x80001, P2M_ORDER_4K, NULL, &st), 0);
	assert_int_equal(st.splits, 1);
	c.n = 0;
	sim_p2m_walk(p, 0x80000, 0x801ff, collect, &c);
	assert_int_equal(c.n, 511);
	/* bad arguments */
	assert_int_equal(sim_p2m_set(p, 0x3, P2M_ORDER_2M, &e, &st), -EINVAL);
	assert_int_equal(sim_p2m_set(p, 0, 5, &e, &st), -EINVAL);
	assert_int_equal(sim_p2m_set(p, 1ull << 36, 0, &e, &st), -EINVAL);
	/* strict insert refuses overlaps */
	e = ram(1);
	assert_int_equal(sim_p2m_insert_new(p, 0x10, 0, &e), -EEXIST);
	assert_int_equal(sim_p2m_insert_new(p, 1ull << 30, 9, &e), -EEXIST);
	sim_p2m_free(p);
}

/* A superpage written over a table of 4K entries replaces the table. */
static void test_p2m_superpage_over_table_frees_it(void **state)
{
	struct sim_p2m *p = sim_p2m_new(0);
	struct xgm_p2m_entry e = ram(7);
	struct p2m_stats st = { 0 };

	for (uint64_t g = 0; g < 16; g++) {
		e.mfn = 100 + g;
		assert_int_equal(sim_p2m_set(p, g, 0, &e, &st), 0);
	}
	assert_int_equal(sim_p2m_leaf_count(p), 16);
	e = ram(0x200);
	memset(&st, 0, sizeof(st));
	assert_int_equal(sim_p2m_set(p, 0, P2M_ORDER_2M, &e, &st), 0);
	assert_true(st.present_changed);
	assert_int_equal(sim_p2m_leaf_count(p), 1);
	sim_p2m_free(p);
}

/* ---- rule 4 ------------------------------------------------------------ */

static struct sim_model *host(void)
{
	struct sim_topology t;
	struct sim_model *m = NULL;

	sim_topo_default(&t);
	assert_int_equal(sim_topo_build(&t, &m), 0);
	return m;
}

/* Rule 4 (the default host is Intel, EPT): one p2m lock per domain,
 * counted per acquisition; the flush is deferred to the outermost unlock and issued once, IPIing every dirty
 * vcpu once. Failing means flushes or IPIs are charged per write or the
 * lock is not counted. */
static void test_rule4_flush_deferred_to_unlock_one_ipi_per_dirty_vcpu(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, 2); /* vm2: hvm, 4 vcpus */
	struct xgm_p2m_entry e = sim_dp2m_entry(m, 0x5000000, XGM_P2M_MMIO_DIRECT);

	sim_dp2m_lock(m, d);
	sim_dp2m_lock(m, d); /* recursive, like mm_write_lock */
	assert_int_equal(sim_dp2m_set(m, d, 0x1000, 0, &e), 0);
	e.mfn++;
	assert_int_equal(sim_dp2m_set(m, d, 0x1001, 0, &e), 0);
	sim_dp2m_unlock(m, d);
	assert_int_equal(d->ctr.tlb_flushes, 0); /* still held */
	sim_dp2m_unlock(m, d);
	assert_int_equal(d->ctr.lock_acquisitions, 2);
	assert_int_equal(d->ctr.tlb_flushes, 1);
	assert_int_equal(d->ctr.ipis, 4);
	assert_int_equal(d->ctr.p2m_entries, 2);
	assert_int_equal(d->ctr.splits, 1 + 512); /* EPT: the whole 1G */
	sim_model_free(m);
}

/* Rule 4: filling a hole changes no present entry, so no flush at all.
 * Failing means the sim charges flushes Xen does not issue. */
static void test_rule4_no_flush_when_no_present_entry_changed(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, 1);
	struct xgm_p2m_entry e = sim_dp2m_entry(m, 0x5000000, XGM_P2M_MMIO_DIRECT);

	sim_dp2m_lock(m, d);
	assert_int_equal(sim_dp2m_set(m, d, 0x800000, 0, &e), 0);
	sim_dp2m_unlock(m, d);
	assert_int_equal(d->ctr.tlb_flushes, 0);
	assert_int_equal(d->ctr.ipis, 0);
	assert_int_equal(d->ctr.lock_acquisitions, 1);
	sim_model_free(m);
}

/* Rule 4: only dirty vcpus are IPIed. */
static void test_rule4_ipis_only_dirty_vcpus(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, 2);
	struct xgm_p2m_entry e = sim_dp2m_entry(m, 0x5000000, XGM_P2M_MMIO_DIRECT);

	d->dirty_vcpus[0] = 1; /* only vcpu0 ran */
	sim_dp2m_lock(m, d);
	assert_int_equal(sim_dp2m_set(m, d, 0, 0, &e), 0);
	sim_dp2m_unlock(m, d);
	assert_int_equal(d->ctr.tlb_flushes, 1);
	assert_int_equal(d->ctr.ipis, 1);
	sim_model_free(m);
}

/* Rule 4 on AMD: NPT defers nothing. hap_write_p2m_entry_post() flushes
 * (and IPIs the dirty vcpus) on every write of a present entry while the
 * lock is still held, each split's superpage -> table write included; a
 * write into a hole flushes nothing. Failing means the sim gives AMD
 * EPT's deferred flush, which NPT does not have. */
static void test_rule4_npt_flushes_every_present_write_no_deferral(void **state)
{
	struct sim_topology t;
	struct sim_model *m = NULL;
	struct sim_domain *d;
	struct xgm_p2m_entry e;

	sim_topo_default(&t);
	t.iommu = XGM_IOMMU_AMD;
	assert_int_equal(sim_topo_build(&t, &m), 0);
	d = sim_dom_get(m, 2); /* vm2: hvm, 4 vcpus, RAM in 1G leaves */
	e = sim_dp2m_entry(m, 0x5000000, XGM_P2M_MMIO_DIRECT);
	sim_dp2m_lock(m, d);
	/* 1G -> 2M, 2M -> 4K, then the 4K leaf itself: three writes of a
	 * present entry, three flushes, before the unlock */
	assert_int_equal(sim_dp2m_set(m, d, 0x1000, 0, &e), 0);
	assert_int_equal(d->ctr.splits, 2);
	assert_int_equal(d->ctr.tlb_flushes, 3);
	assert_int_equal(d->ctr.ipis, 3 * 4);
	/* the neighbour is a present 4K leaf now: one more */
	e.mfn++;
	assert_int_equal(sim_dp2m_set(m, d, 0x1001, 0, &e), 0);
	assert_int_equal(d->ctr.tlb_flushes, 4);
	/* a hole: nothing present changed, no flush */
	assert_int_equal(sim_dp2m_set(m, d, 0x800000, 0, &e), 0);
	assert_int_equal(d->ctr.tlb_flushes, 4);
	sim_dp2m_unlock(m, d);
	/* and nothing was left for the unlock */
	assert_int_equal(d->ctr.tlb_flushes, 4);
	assert_int_equal(d->ctr.ipis, 4 * 4);
	sim_model_free(m);
}

static struct sim_model *host_xen(const char *version,
				  enum xgm_iommu_vendor iommu)
{
	struct sim_topology t;
	struct sim_model *m = NULL;

	sim_topo_default(&t);
	t.iommu = iommu;
	assert_int_equal(sim_xen_parse(version, &t.xen_version), 0);
	assert_int_equal(sim_topo_build(&t, &m), 0);
	return m;
}

/* Rule 4 by version (XSA-480): on EPT, a 2M leaf written over a table
 * frees it (ept_free_entry()), and since 4.17.7 p2m_free_ptp() issues the
 * pending flush there and then, before the table goes back to the pool;
 * a later change under the same lock needs a flush of its own at the
 * unlock. Before 4.17.7 one deferred flush at the unlock covered both.
 * NPT defers nothing on any version. Failing means the sim counts the
 * flushes of the wrong Xen (or keeps the use-after-free window 4.17.7
 * closed). */
static void test_rule4_since_4_17_7_freeing_a_table_flushes_at_once(void **state)
{
	static const struct {
		const char *version;
		enum xgm_iommu_vendor iommu;
		uint64_t at_free, at_unlock;
	} cases[] = {
		{ "4.17.6", XGM_IOMMU_INTEL, 0, 1 },
		{ "4.17.7", XGM_IOMMU_INTEL, 1, 2 },
		{ "master", XGM_IOMMU_INTEL, 1, 2 },
		/* NPT: the 2M over the table, then the 2M rewritten */
		{ "4.17.6", XGM_IOMMU_AMD, 1, 2 },
		{ "4.17.7", XGM_IOMMU_AMD, 1, 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_model *m = host_xen(cases[i].version, cases[i].iommu);
		struct sim_domain *d = sim_dom_get(m, 2);
		struct xgm_p2m_entry e = sim_dp2m_entry(m, 0x5000000,
							XGM_P2M_MMIO_DIRECT);

		sim_dp2m_lock(m, d);
		/* a 4K entry in a hole: a new L1 table, nothing to flush */
		assert_int_equal(sim_dp2m_set(m, d, 0x800000, 0, &e), 0);
		assert_int_equal(d->ctr.tlb_flushes, 0);
		/* a 2M leaf over that table frees it */
		assert_int_equal(sim_dp2m_set(m, d, 0x800000, 9, &e), 0);
		if (d->ctr.tlb_flushes != cases[i].at_free)
			fail_msg("Xen %s %s: %llu flushes at the free",
				 cases[i].version,
				 cases[i].iommu == XGM_IOMMU_AMD ? "NPT" : "EPT",
				 (unsigned long long)d->ctr.tlb_flushes);
		e.mfn += 512;
		assert_int_equal(sim_dp2m_set(m, d, 0x800000, 9, &e), 0);
		sim_dp2m_unlock(m, d);
		if (d->ctr.tlb_flushes != cases[i].at_unlock)
			fail_msg("Xen %s %s: %llu flushes after the unlock",
				 cases[i].version,
				 cases[i].iommu == XGM_IOMMU_AMD ? "NPT" : "EPT",
				 (unsigned long long)d->ctr.tlb_flushes);
		sim_model_free(m);
	}
}

/* Rule 4: a table entry is present even when its table is empty, so
 * writing a superpage over an emptied table changes a present entry and
 * needs a flush on EPT (needs_sync) and on NPT (_PAGE_PRESENT in the old
 * flags). Failing means the sim skips a flush Xen issues whenever a
 * populate or a 2M write lands on a slot that once held 4K entries. */
static void test_rule4_replacing_an_empty_table_entry_flushes(void **state)
{
	static const enum xgm_iommu_vendor vendors[] = { XGM_IOMMU_INTEL,
							 XGM_IOMMU_AMD };

	for (size_t i = 0; i < 2; i++) {
		struct sim_model *m = host_xen("4.17.6", vendors[i]);
		struct sim_domain *d = sim_dom_get(m, 2);
		struct xgm_p2m_entry e = sim_dp2m_entry(m, 0x5000000,
							XGM_P2M_MMIO_DIRECT);
		uint64_t before;

		sim_dp2m_lock(m, d);
		assert_int_equal(sim_dp2m_set(m, d, 0x800000, 0, &e), 0);
		assert_int_equal(sim_dp2m_set(m, d, 0x800000, 0, NULL), 0);
		sim_dp2m_unlock(m, d);
		before = d->ctr.tlb_flushes;
		assert_int_equal(before, 1); /* the clear */
		sim_dp2m_lock(m, d);
		assert_int_equal(sim_dp2m_set(m, d, 0x800000, 9, &e), 0);
		sim_dp2m_unlock(m, d);
		assert_int_equal(d->ctr.tlb_flushes, before + 1);
		sim_model_free(m);
	}
}

/* Rule 4's cost: a flush is one synchronous multicast to the dirty CPUs
 * (on_selected_cpus()), so its modeled cost is the same for one CPU or
 * four: a max, not a sum. Failing means the cost model charges IPIs one
 * by one. */
static void test_rule4_a_flush_costs_one_multicast_not_one_per_cpu(void **state)
{
	struct xgm_counters one = { .tlb_flushes = 1, .ipis = 1 };
	struct xgm_counters four = { .tlb_flushes = 1, .ipis = 4 };
	struct xgm_counters two = { .tlb_flushes = 2, .ipis = 2 };

	assert_true(sim_modeled_ns(&one) > 0);
	assert_true(sim_modeled_ns(&one) == sim_modeled_ns(&four));
	assert_true(sim_modeled_ns(&two) == 2 * sim_modeled_ns(&one));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule1_npt_splits_one_level_per_step_along_the_path),
		cmocka_unit_test(test_rule1_ept_shatters_whole_superpage),
		cmocka_unit_test(test_p2m_hole_reports_level_order),
		cmocka_unit_test(test_p2m_walk_in_order_and_clear),
		cmocka_unit_test(test_p2m_superpage_over_table_frees_it),
		cmocka_unit_test(test_rule4_flush_deferred_to_unlock_one_ipi_per_dirty_vcpu),
		cmocka_unit_test(test_rule4_no_flush_when_no_present_entry_changed),
		cmocka_unit_test(test_rule4_ipis_only_dirty_vcpus),
		cmocka_unit_test(test_rule4_npt_flushes_every_present_write_no_deferral),
		cmocka_unit_test(test_rule4_a_flush_costs_one_multicast_not_one_per_cpu),
		cmocka_unit_test(test_rule4_since_4_17_7_freeing_a_table_flushes_at_once),
		cmocka_unit_test(test_rule4_replacing_an_empty_table_entry_flushes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
