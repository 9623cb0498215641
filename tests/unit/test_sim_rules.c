// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The simulated host's Xen rules (DESIGN.md section 5), one test per rule
 * and named after it. Each comment says what a failure would mean. The
 * host is the default topology: PVH dom0 4 GiB, vm1 pvh 2 GiB (domid 1),
 * vm2 hvm 4 GiB (2), vm3 pv 1 GiB (3), card0's BAR at mfn 0x4000000.
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

#define BAR 0x4000000ull
#define VM1 1
#define VM2 2
#define VM3 3
#define HOLE_GFN 0x100000ull /* 4 GiB: above vm1's 2 GiB of RAM */

static struct sim_model *host_of(enum xgm_dom_type dom0,
				 enum xgm_iommu_vendor iommu)
{
	struct sim_topology t;
	struct sim_model *m = NULL;

	sim_topo_default(&t);
	t.dom0_type = dom0;
	t.iommu = iommu;
	assert_int_equal(sim_topo_build(&t, &m), 0);
	return m;
}

static struct sim_model *host(void)
{
	return host_of(XGM_DOM_PVH, XGM_IOMMU_INTEL);
}

/* The default host, behaving as this Xen. */
static struct sim_model *host_xen(const char *version)
{
	struct sim_topology t;
	struct sim_model *m = NULL;

	sim_topo_default(&t);
	assert_int_equal(sim_xen_parse(version, &t.xen_version), 0);
	assert_int_equal(sim_topo_build(&t, &m), 0);
	return m;
}

/* The default host with vm1 and vm2 created with passthrough. */
static struct sim_model *passthrough_host(enum xgm_iommu_vendor iommu)
{
	struct xgm_sim_guest g[3] = {
		{ "vm1", XGM_DOM_PVH, 2ull << 30, 2, true },
		{ "vm2", XGM_DOM_HVM, 4ull << 30, 4, true },
		{ "vm3", XGM_DOM_PV, 1ull << 30, 1, false },
	};
	struct sim_topology t;
	struct sim_model *m = NULL;

	sim_topo_default(&t);
	t.iommu = iommu;
	t.guests = g;
	assert_int_equal(sim_topo_validate(&t), 0);
	assert_int_equal(sim_topo_build(&t, &m), 0);
	return m;
}

static void permit(struct sim_model *m, uint32_t domid, uint64_t mfn,
		   uint64_t nr)
{
	assert_int_equal(sim_hc_iomem_permission(m, domid, mfn, nr, true), 0);
}

static struct xgm_p2m_entry at(struct sim_model *m, uint32_t domid,
			       uint64_t gfn, unsigned int *order)
{
	struct xgm_p2m_entry e = { 0 };
	unsigned int o;

	assert_true(sim_p2m_lookup(sim_dom_get(m, domid)->p2m, gfn, &e,
				   order ? order : &o));
	return e;
}

static uint64_t mfn_of(struct sim_model *m, uint32_t domid, uint64_t gfn)
{
	struct xgm_p2m_entry e = at(m, domid, gfn, NULL);

	return e.mfn + (gfn - e.gfn);
}

/* ---- rule 1 ------------------------------------------------------------ */

/* Rule 1: replacing a special entry (here mmio_direct) with another mfn
 * crashes the domain and fails with EPERM (set_typed_p2m_entry). Failing
 * means the sim lets a remap silently replace a live mapping, which Xen
 * punishes by killing the guest. */
static void test_rule1_overwriting_special_entry_crashes_domain(void **state)
{
	struct sim_model *m = host();

	permit(m, VM1, BAR, 16);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR + 1, 1, true),
			 -EPERM);
	assert_int_equal(sim_dom_get(m, VM1)->state, XGM_DOM_CRASHED);
	assert_int_equal(at(m, VM1, HOLE_GFN, NULL).mfn, BAR); /* unchanged */
	sim_model_free(m);
}

/* Rule 1: a grant or foreign mapping over a special entry also crashes
 * the domain (p2m_add_page(): "Don't permit unmapping grant/foreign/
 * direct-MMIO this way"). Failing means grants can clobber mappings. */
static void test_rule1_grant_over_special_entry_crashes_domain(void **state)
{
	struct sim_model *m = host();
	uint32_t gref;

	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	assert_int_equal(sim_gnt_access(m, VM1, mfn_of(m, 0, 0x1000), false,
					&gref), 0);
	assert_int_equal(sim_gnt_map(m, VM1, gref, HOLE_GFN), -EPERM);
	assert_int_equal(sim_dom_get(m, VM1)->state, XGM_DOM_CRASHED);
	sim_model_free(m);
}

/* Rule 1: re-mapping exactly the same mfn and type is allowed and writes
 * nothing. Failing means idempotent retries (libxc loops) crash guests. */
static void test_rule1_identical_special_mapping_is_allowed(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, VM1);
	uint64_t entries;

	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	entries = d->ctr.p2m_entries;
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	assert_int_equal(d->state, XGM_DOM_RUNNING);
	assert_int_equal(d->ctr.p2m_entries, entries);
	sim_model_free(m);
}

/* memory_mapping of 2 MiB of VRAM (2M-aligned on both sides) at gfn,
 * complete; returns the p2m entries it wrote. */
static uint64_t map_2m_entries(struct sim_model *m, uint64_t gfn)
{
	struct sim_domain *d = sim_dom_get(m, VM1);
	uint64_t before = d->ctr.p2m_entries, done = 0;

	permit(m, VM1, BAR, 512);
	while (done < 512) {
		int r = sim_hc_memory_mapping(m, VM1, gfn + done, BAR + done,
					      512 - done, true);

		assert_true(r > 0);
		done += (uint64_t)r;
	}
	return d->ctr.p2m_entries - before;
}

/* Removes those 2 MiB again, however many calls it takes. */
static void unmap_2m(struct sim_model *m, uint64_t gfn)
{
	uint64_t done = 0;

	while (done < 512) {
		int r = sim_hc_memory_mapping(m, VM1, gfn + done, BAR + done,
					      512 - done, false);

		assert_true(r > 0);
		done += (uint64_t)r;
	}
}

/* Grants one page of dom0 to vm1 at gfn and takes it back: the L1 table
 * that held the 4K grant entry stays, empty. */
static void grant_and_revoke(struct sim_model *m, uint64_t gfn)
{
	uint64_t mfn = mfn_of(m, 0, 0x1000);
	uint32_t gref;

	assert_int_equal(sim_gnt_access(m, VM1, mfn, false, &gref), 0);
	assert_int_equal(sim_gnt_map(m, VM1, gref, gfn), 0);
	assert_int_equal(sim_gnt_unmap(m, VM1, gref, gfn), 0);
	assert_int_equal(sim_gnt_end(m, gref), 0);
}

static struct sim_model *save_and_load(struct sim_model *m)
{
	struct sim_model *m2 = NULL;
	json_t *j = sim_persist_save(m);

	assert_non_null(j);
	assert_int_equal(sim_persist_load(j, &m2), 0);
	json_decref(j);
	sim_model_free(m);
	return m2;
}

/* Rule 1: emptied tables stay. After a grant held a 4K entry in a 2M
 * slot and went, Xen's walk stops at the empty L1 table and reports order
 * 0, so a 2M-aligned memory_mapping there is retried at 4K: 512 entries
 * instead of 1, within one command and across a save and load alike
 * (grant, detach, then mmio at the same gfn). Failing means the state
 * file loses the tables and the sim promises superpages Xen will not
 * give. */
static void test_rule1_emptied_tables_persist_across_save_and_load(void **state)
{
	struct sim_model *m = host();

	/* within one process */
	grant_and_revoke(m, HOLE_GFN);
	assert_int_equal(map_2m_entries(m, HOLE_GFN), 512);
	/* a fresh 2M slot gets its superpage */
	assert_int_equal(map_2m_entries(m, HOLE_GFN + 0x200), 1);
	sim_model_free(m);

	/* across a save and load: the empty table is in the state */
	m = host();
	grant_and_revoke(m, HOLE_GFN);
	m = save_and_load(m);
	assert_int_equal(map_2m_entries(m, HOLE_GFN), 512);
	assert_int_equal(map_2m_entries(m, HOLE_GFN + 0x200), 1);
	sim_model_free(m);

	/* a full 2M clear_mmio leaves a clean slot: 2M again after a load */
	m = host();
	assert_int_equal(map_2m_entries(m, HOLE_GFN), 1);
	unmap_2m(m, HOLE_GFN);
	m = save_and_load(m);
	assert_int_equal(map_2m_entries(m, HOLE_GFN), 1);
	sim_model_free(m);
}

/* ---- rule 2 ------------------------------------------------------------ */

/* Rule 2: memory_mapping needs iomem permission on the caller (dom0) and
 * on the target; for removal too in 4.17.x (the default, 4.17.7), only on
 * the caller in master (6df6f24251). Failing means the sim maps frames
 * Xen would refuse with EPERM, or lets an unmap through that 4.17 refuses
 * once the guest's permission was revoked first. */
static void test_rule2_memory_mapping_needs_iomem_permission_on_caller_and_target(void **state)
{
	struct sim_model *m = host();

	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true),
			 -EPERM);
	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	/* 4.17: revoking the target's permission first blocks the removal */
	assert_int_equal(sim_hc_iomem_permission(m, VM1, BAR, 1, false), 0);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, false),
			 -EPERM);
	assert_non_null(strstr(xgm_last_error(), "unmap before revoking"));
	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, false), 1);
	sim_model_free(m);

	/* master: the removal checks only the caller */
	m = host_xen("master");
	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	assert_int_equal(sim_hc_iomem_permission(m, VM1, BAR, 1, false), 0);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, false), 1);
	/* nor can dom0 lend what it does not have (the LAPIC) */
	assert_int_equal(sim_hc_iomem_permission(m, VM1, 0xFEE00, 1, true), -EPERM);
	sim_model_free(m);
}

/* Rule 2: at most 64 p2m updates per call, returning how many frames were
 * done (MAP_MMIO_MAX_ITER). Failing means one call maps unbounded ranges
 * and the engine's batching and cost figures are wrong. */
static void test_rule2_at_most_64_updates_per_call(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, VM1);

	permit(m, VM1, BAR, 0x1000);
	/* gfn and mfn not 2M-aligned together: 4K entries, 64 a call */
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN + 1, BAR + 1, 100,
					       true), 64);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN + 65, BAR + 65, 36,
					       true), 36);
	assert_int_equal(d->ctr.hypercalls, 3); /* incl. iomem_permission */
	assert_int_equal(d->ctr.p2m_entries, 100);
	sim_model_free(m);
}

/* Rule 2: 2M entries only when gfn and mfn are both 2M-aligned (and 2M
 * remain), never 1G, type mmio_direct. Failing means the sim's entry
 * counts and shattering differ from Xen's mmio_order(). */
static void test_rule2_2m_only_when_both_aligned_never_1g(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, VM1);
	unsigned int order;
	struct xgm_p2m_entry e;

	permit(m, VM1, BAR, 1ull << 20);
	/* 1 GiB, both 1G-aligned: still 2M entries, 64 of them a call */
	assert_int_equal(sim_hc_memory_mapping(m, VM1, 0x400000ull /* gfn: 16 GiB */,
					       BAR, 1ull << 18, true), 64 * 512);
	e = at(m, VM1, 0x400000ull, &order);
	assert_int_equal(order, 9);
	assert_int_equal(e.type, XGM_P2M_MMIO_DIRECT);
	assert_int_equal(d->ctr.p2m_entries, 64);
	/* gfn aligned, mfn not: 4K */
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR + 1, 512,
					       true), 64);
	at(m, VM1, HOLE_GFN, &order);
	assert_int_equal(order, 0);
	sim_model_free(m);
}

/* Rule 2, the caller's side: dom0 itself needs iomem permission over the
 * range for add and for remove, whatever the target has. Failing means
 * the sim lets dom0 lend frames it was never given. */
static void test_rule2_caller_needs_iomem_permission_for_add_and_remove(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d0 = sim_dom_get(m, 0);

	permit(m, VM1, BAR, 2);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	/* dom0 loses the second frame (as if the host withheld it) */
	assert_int_equal(sim_rs_remove(&d0->iomem, BAR + 1, BAR + 1), 0);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN + 1, BAR + 1, 1,
					       true), -EPERM);
	assert_int_equal(sim_rs_remove(&d0->iomem, BAR, BAR), 0);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, false),
			 -EPERM);
	assert_int_equal(at(m, VM1, HOLE_GFN, NULL).type, XGM_P2M_MMIO_DIRECT);
	/* nor can it lend it any more */
	assert_int_equal(sim_hc_iomem_permission(m, VM2, BAR, 1, true), -EPERM);
	sim_model_free(m);
}

/* Rule 2, mmio_order(): a 2M entry needs 2M left as well as both frames
 * aligned, so 511 aligned frames are 511 4K entries and 513 are one 2M
 * and one 4K. Failing means the sim maps past the end of a range. */
static void test_rule2_fewer_than_512_left_is_4k(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, VM1);
	unsigned int order;

	permit(m, VM1, BAR, 2048);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 511,
					       true), 64);
	at(m, VM1, HOLE_GFN, &order);
	assert_int_equal(order, 0);
	d->ctr.p2m_entries = 0;
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN + 1024,
					       BAR + 1024, 513, true), 513);
	assert_int_equal(d->ctr.p2m_entries, 2);
	at(m, VM1, HOLE_GFN + 1024, &order);
	assert_int_equal(order, 9);
	at(m, VM1, HOLE_GFN + 1024 + 512, &order);
	assert_int_equal(order, 0);
	sim_model_free(m);
}

/* Rule 2: the domain's max_gpfn (Xen's max_mapped_pfn, "the highest gfn
 * for which we have ever had a valid mapping") never shrinks: unmapping
 * leaves it, across a save and load too. Failing means the sim reports a
 * smaller physmap than Xen does after a blob goes. */
static void test_rule2_max_gpfn_never_shrinks(void **state)
{
	struct sim_model *m = host();
	struct xgm_domain_info info;
	uint64_t before;

	sim_dom_info(m, sim_dom_get(m, VM1), &info);
	before = info.max_gpfn;
	assert_true(before < HOLE_GFN);
	assert_int_equal(map_2m_entries(m, HOLE_GFN), 1);
	unmap_2m(m, HOLE_GFN);
	sim_dom_info(m, sim_dom_get(m, VM1), &info);
	assert_int_equal(info.max_gpfn, HOLE_GFN + 511);
	m = save_and_load(m);
	sim_dom_info(m, sim_dom_get(m, VM1), &info);
	assert_int_equal(info.max_gpfn, HOLE_GFN + 511);
	sim_model_free(m);
}

/* Rule 2: EPT gives mmio_direct UC with ipat=0 (guest PAT may make it WC);
 * NPT gives UC-. Failing means the cache attribute the guest sees is
 * misreported. */
static void test_rule2_memory_type_uc_ipat0_on_ept_ucminus_on_npt(void **state)
{
	struct sim_model *m = host();
	struct xgm_p2m_entry e;

	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	e = at(m, VM1, HOLE_GFN, NULL);
	assert_int_equal(e.emt, XGM_MT_UC);
	assert_false(e.ipat);
	sim_model_free(m);

	m = host_of(XGM_DOM_PVH, XGM_IOMMU_AMD);
	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	e = at(m, VM1, HOLE_GFN, NULL);
	assert_int_equal(e.emt, XGM_MT_UC_MINUS);
	sim_model_free(m);
}

/* Rule 2's hidden cost: the first iomem_permission of a domain with no
 * IOMMU context calls memory_type_changed() (iomem_permit_access()): the
 * EMT of its whole p2m is redone and every CPU does WBINVD. Later ranges
 * do not; the last revoke calls it too but it does nothing then (it needs
 * an IOMMU or caps), so the next first range pays again. A passthrough
 * guest, or dom0, never pays. Failing means the sim hides a whole-host
 * cache flush behind a permission grant. */
static void test_rule2_first_iomem_permission_without_iommu_changes_memory_types(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, VM1);

	permit(m, VM1, BAR, 1);
	assert_int_equal(d->ctr.memory_type_changes, 1);
	permit(m, VM1, BAR + 1, 1);
	assert_int_equal(d->ctr.memory_type_changes, 1);
	assert_int_equal(sim_hc_iomem_permission(m, VM1, BAR, 2, false), 0);
	assert_int_equal(d->ctr.memory_type_changes, 1);
	permit(m, VM1, BAR, 1);
	assert_int_equal(d->ctr.memory_type_changes, 2);
	permit(m, 0, BAR, 1);
	assert_int_equal(sim_dom_get(m, 0)->ctr.memory_type_changes, 0);
	sim_model_free(m);

	m = passthrough_host(XGM_IOMMU_INTEL);
	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_dom_get(m, VM1)->ctr.memory_type_changes, 0);
	sim_model_free(m);
}

/* Rule 2 by version: 4.17.0-4.17.4 give a frame that is not RAM (VRAM in
 * a BAR) UC with ipat=1 on EPT, so the guest's PAT is ignored and a VRAM
 * blob cannot be write-combined; 4.17.5 (dbcc4fba01) and later give UC
 * with ipat=0. RAM mapped mmio_direct keeps ipat=0 on every version, NPT
 * is UC- on every version. Failing means the sim promises WC that
 * 4.17.4 cannot give, or the reverse. */
static void test_rule2_before_4_17_5_a_bar_is_uc_with_guest_pat_ignored(void **state)
{
	static const struct {
		const char *version;
		bool ipat;
	} cases[] = {
		{ "4.17.0", true }, { "4.17.4", true }, { "4.17.5", false },
		{ "4.17.7", false }, { "master", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_model *m = host_xen(cases[i].version);
		uint64_t ram = mfn_of(m, VM2, 0x10);
		struct xgm_p2m_entry e;

		permit(m, VM1, BAR, 1);
		permit(m, VM1, ram, 1);
		assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1,
						       true), 1);
		assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN + 1, ram,
						       1, true), 1);
		e = at(m, VM1, HOLE_GFN, NULL);
		assert_int_equal(e.emt, XGM_MT_UC);
		if (e.ipat != cases[i].ipat)
			fail_msg("Xen %s: BAR entry ipat=%d", cases[i].version,
				 e.ipat);
		e = at(m, VM1, HOLE_GFN + 1, NULL);
		assert_false(e.ipat);
		sim_model_free(m);
	}
}

/* Rule 2 by version: 4.17.0-4.17.6 run iomem_permission and
 * memory_mapping under Xen's global domctl lock, so every other domctl of
 * the host waits for each call; 4.17.7 (95bfcd4084) and master take only
 * the domains' caps locks. pausedomain takes it on every version. The sim
 * counts the acquisition. Failing means the sim's lock counts belong to
 * another Xen. */
static void test_rule2_before_4_17_7_memory_mapping_takes_the_global_domctl_lock(void **state)
{
	static const struct {
		const char *version;
		uint64_t domctl_lock; /* per iomem_permission/memory_mapping */
	} cases[] = {
		{ "4.17.0", 1 }, { "4.17.6", 1 }, { "4.17.7", 0 }, { "master", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_model *m = host_xen(cases[i].version);
		struct sim_domain *d = sim_dom_get(m, VM1);
		uint64_t locks;

		permit(m, VM1, BAR, 1);
		if (d->ctr.lock_acquisitions != cases[i].domctl_lock)
			fail_msg("Xen %s: iomem_permission took %llu locks",
				 cases[i].version,
				 (unsigned long long)d->ctr.lock_acquisitions);
		locks = d->ctr.lock_acquisitions;
		assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1,
						       true), 1);
		/* the domctl lock, and the p2m lock of the one entry */
		if (d->ctr.lock_acquisitions - locks != cases[i].domctl_lock + 1)
			fail_msg("Xen %s: memory_mapping took %llu locks",
				 cases[i].version, (unsigned long long)
				 (d->ctr.lock_acquisitions - locks));
		locks = d->ctr.lock_acquisitions;
		assert_int_equal(sim_dom_pause(m, VM1, true), 0);
		assert_int_equal(d->ctr.lock_acquisitions, locks + 1);
		sim_model_free(m);
	}
}

/* Rule 2: memory_mapping takes no page reference. Failing would hide the
 * use-after-free hazard of mapping RAM this way. */
static void test_rule2_takes_no_page_reference(void **state)
{
	struct sim_model *m = host();
	uint64_t ram = mfn_of(m, VM2, 0x10);

	permit(m, VM1, ram, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, ram, 1, true), 1);
	assert_int_equal(sim_mem_refs(m, ram), 0);
	sim_model_free(m);
}

/* Rule 2: over a gfn holding the target's own RAM, Xen's
 * set_typed_p2m_entry() replaces the entry (only the M2P is invalidated):
 * the RAM page stays allocated to the domain, unreachable. Failing means
 * the sim refuses (Xen does not) or frees the page (Xen does not). */
static void test_rule2_mapping_over_guest_ram_replaces_it_and_orphans_the_page(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, VM1);
	uint64_t old = mfn_of(m, VM1, 0x10);
	uint32_t owner;

	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, 0x10, BAR, 1, true), 1);
	assert_int_equal(at(m, VM1, 0x10, NULL).type, XGM_P2M_MMIO_DIRECT);
	assert_int_equal(d->orphaned_pages, 1);
	assert_int_equal(d->tot_pages, (2ull << 30) >> 12);
	assert_true(sim_mem_owner(m, old, &owner, NULL));
	assert_int_equal(owner, VM1);
	/* EPT shattered the whole 1G RAM superpage to reach one 4K slot */
	assert_int_equal(d->ctr.splits, 1 + 512);
	assert_int_equal(d->ctr.tlb_flushes, 1);
	/* removal only accepts mmio_direct */
	assert_int_equal(sim_hc_memory_mapping(m, VM1, 0x11, BAR, 1, false),
			 -EINVAL);
	sim_model_free(m);

	/* NPT splits only the path: 1G -> 2M, one 2M -> 4K */
	m = host_of(XGM_DOM_PVH, XGM_IOMMU_AMD);
	d = sim_dom_get(m, VM1);
	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, 0x10, BAR, 1, true), 1);
	assert_int_equal(d->ctr.splits, 2);
	sim_model_free(m);
}

/* ---- rule 3 ------------------------------------------------------------ */

/* Rule 3: gmfn_foreign in the supported direction (dom0 maps a guest's
 * RAM into itself): 4K, map_foreign, one page reference, dropped again on
 * removal. Failing means foreign mappings leak or lose references. */
static void test_rule3_add_foreign_supported_direction_takes_reference(void **state)
{
	struct sim_model *m = host();
	uint64_t mfn = mfn_of(m, VM1, 0x1234);
	unsigned int order;
	struct xgm_p2m_entry e;

	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, VM1, 0x1234), 0);
	e = at(m, 0, 0x200000, &order);
	assert_int_equal(order, 0);
	assert_int_equal(e.type, XGM_P2M_MAP_FOREIGN);
	assert_int_equal(e.mfn, mfn);
	assert_true(e.ipat);
	assert_int_equal(sim_mem_refs(m, mfn), 1);
	assert_int_equal(sim_hc_remove_from_physmap(m, 0, 0x200000), 0);
	assert_int_equal(sim_mem_refs(m, mfn), 0);
	sim_model_free(m);
}

/* Rule 3: dom0 (the caller) as the foreign domain is EPERM
 * (rcu_lock_remote_domain_by_id), and a guest as the target is EPERM
 * (XSM_TARGET). Failing means the sim offers the unsupported direction:
 * dom0 RAM into a guest. */
static void test_rule3_caller_as_foreign_domain_is_eperm(void **state)
{
	struct sim_model *m = host();

	assert_int_equal(sim_hc_add_foreign(m, VM1, HOLE_GFN, 0, 0x1000), -EPERM);
	assert_int_equal(sim_hc_add_foreign(m, VM1, HOLE_GFN, VM2, 0x1000), -EPERM);
	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, 0, 0x1000), -EPERM);
	assert_int_equal(sim_dom_get(m, VM1)->state, XGM_DOM_RUNNING);
	sim_model_free(m);
}

/* Rule 3: the foreign page must be RAM (p2m_is_ram): a guest's MMIO or a
 * hole is EINVAL. And a PV dom0 has no physmap for it: EACCES. */
static void test_rule3_foreign_page_must_be_ram(void **state)
{
	struct sim_model *m = host();

	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, VM1, HOLE_GFN), -EINVAL);
	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, VM1, 0x900000), -EINVAL);
	sim_model_free(m);
	m = host_of(XGM_DOM_PV, XGM_IOMMU_INTEL);
	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, VM1, 0x10), -EACCES);
	sim_model_free(m);
}

/* Rule 3: p2m_ioreq_server is RAM (P2M_RAM_TYPES), so such a page may be
 * mapped by gmfn_foreign like ram_rw, and mapping over it orphans a RAM
 * page. Failing means the sim refuses what Xen accepts. */
static void test_rule3_ioreq_server_pages_count_as_ram(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, VM1);
	uint64_t mfn = mfn_of(m, VM1, 0x1234);
	struct xgm_p2m_entry e = sim_dp2m_entry(m, mfn, XGM_P2M_IOREQ_SERVER);

	assert_true(sim_p2m_type_is_ram(XGM_P2M_IOREQ_SERVER));
	sim_dp2m_lock(m, d);
	assert_int_equal(sim_dp2m_set(m, d, 0x1234, P2M_ORDER_4K, &e), 0);
	sim_dp2m_unlock(m, d);
	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, VM1, 0x1234), 0);
	assert_int_equal(at(m, 0, 0x200000, NULL).mfn, mfn);
	sim_model_free(m);
}

/* Rule 3: gmfn_foreign over an existing foreign (or grant) entry fails
 * with ENXIO, crashing nothing: p2m_add_foreign() first has
 * guest_remove_page() free the old page, whose get_page() fails for a
 * page of another domain; the same mapping again fails alike. Over a
 * mmio_direct RAM frame it is EPERM; over a BAR's entry (no valid mfn to
 * remove) set_foreign_p2m_entry() crashes the target, dom0. Failing means
 * the sim crashes dom0 where Xen only refuses, or the reverse. */
static void test_rule3_gmfn_foreign_over_a_foreign_entry_is_enxio_not_a_crash(void **state)
{
	struct sim_model *m = host();
	uint64_t mfn = mfn_of(m, VM1, 0x1234);
	struct sim_domain *d0 = sim_dom_get(m, 0);

	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, VM1, 0x1234), 0);
	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, VM1, 0x1235), -ENXIO);
	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, VM1, 0x1234), -ENXIO);
	assert_int_equal(d0->state, XGM_DOM_RUNNING);
	assert_int_equal(at(m, 0, 0x200000, NULL).mfn, mfn);
	assert_int_equal(sim_mem_refs(m, mfn), 1);
	/* dom0's identity-mapped BAR: no valid mfn, the entry is replaced
	 * by set_typed_p2m_entry(), which crashes dom0 */
	assert_int_equal(sim_hc_add_foreign(m, 0, BAR, VM1, 0x1234), -EPERM);
	assert_int_equal(d0->state, XGM_DOM_CRASHED);
	sim_model_free(m);
}

/* Rule 3 by version: acquire_resource (how a server maps an ioreq
 * server's pages) checks the caller first. In 4.17 a translated caller
 * must be the hardware domain (arch_acquire_resource_check()): a PVH
 * guest gets EACCES whatever it asks; master lets it through to the XSM
 * check, which refuses it as neither the control domain nor the target's
 * device model (EPERM), as it refuses a PV guest on every version. dom0
 * gets the size: one bufioreq frame and one per 128 vCPUs. Failing means
 * the sim would let a PVH driver domain run the ioreq server on 4.17. */
static void test_rule3_4_17_maps_resources_only_into_the_hardware_domain(void **state)
{
	struct sim_model *m = host_xen("4.17.7");
	uint64_t nr = 0;

	assert_int_equal(sim_hc_acquire_resource_size(m, 0, VM1, &nr), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(sim_hc_acquire_resource_size(m, VM1, VM2, &nr),
			 -EACCES);
	assert_int_equal(sim_hc_acquire_resource_size(m, VM1, 99, &nr),
			 -EACCES); /* before the target is even looked up */
	assert_int_equal(sim_hc_acquire_resource_size(m, VM3, VM1, &nr),
			 -EPERM);
	assert_int_equal(sim_hc_acquire_resource_size(m, 0, 0, &nr), -EPERM);
	assert_int_equal(sim_hc_acquire_resource_size(m, 0, VM3, &nr), -EINVAL);
	assert_int_equal(sim_dom_get(m, 0)->ctr.hypercalls, 3);
	sim_model_free(m);

	m = host_xen("master");
	assert_int_equal(sim_hc_acquire_resource_size(m, VM1, VM2, &nr), -EPERM);
	assert_int_equal(sim_hc_acquire_resource_size(m, VM1, 99, &nr), -ESRCH);
	sim_model_free(m);

	/* a PV dom0 is not translated: it passes on every version */
	m = host_of(XGM_DOM_PV, XGM_IOMMU_AMD);
	assert_int_equal(sim_hc_acquire_resource_size(m, 0, VM2, &nr), 0);
	assert_int_equal(nr, 2); /* vm2 has 4 vCPUs: still one page of slots */
	sim_model_free(m);
}

/* ---- rule 5 ------------------------------------------------------------ */

struct count {
	uint64_t n, frames, last_access;
	bool identity;
};

static int count_cb(const struct xgm_p2m_entry *e, void *arg)
{
	struct count *c = arg;

	c->n++;
	c->frames += 1ull << e->order;
	c->last_access = e->access;
	if (e->gfn != e->mfn)
		c->identity = false;
	return 0;
}

/* Rule 5: a guest has an IOMMU context only when created with
 * passthrough (iommu_domain_init() returns early without
 * XEN_DOMCTL_CDF_iommu): a virtio-gpu guest without one costs no IOMMU
 * work on either vendor. Failing means the sim charges IOTLB flushes and
 * mirror writes Xen never does. */
static void test_rule5_iommu_context_only_with_passthrough(void **state)
{
	static const enum xgm_iommu_vendor vendors[] = { XGM_IOMMU_INTEL,
							 XGM_IOMMU_AMD };

	for (size_t i = 0; i < 2; i++) {
		struct sim_model *m = host_of(XGM_DOM_PVH, vendors[i]);
		struct sim_domain *d = sim_dom_get(m, VM1);
		struct count c = { 0 };

		assert_int_equal(sim_iommu_mode(m, d), XGM_IOMMU_NONE);
		permit(m, VM1, BAR, 64);
		assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN + 1,
						       BAR + 1, 10, true), 10);
		assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN + 1,
						       BAR + 1, 10, false), 10);
		assert_int_equal(d->ctr.iommu_entries, 0);
		assert_int_equal(d->ctr.iotlb_flushes, 0);
		assert_null(d->iommu_pt);
		assert_int_equal(sim_iommu_walk(m, VM1, 0, UINT64_MAX, count_cb,
						&c), -ENODEV);
		/* dom0 always has one */
		assert_int_not_equal(sim_iommu_mode(m, sim_dom_get(m, 0)),
				     XGM_IOMMU_NONE);
		sim_model_free(m);

		m = passthrough_host(vendors[i]);
		assert_int_equal(sim_iommu_mode(m, sim_dom_get(m, VM1)),
				 vendors[i] == XGM_IOMMU_INTEL ?
				 XGM_IOMMU_SHARED : XGM_IOMMU_SEPARATE);
		assert_int_equal(sim_iommu_mode(m, sim_dom_get(m, VM3)),
				 XGM_IOMMU_NONE);
		sim_model_free(m);
	}
}

/* Rule 5: Intel shares the p2m with the IOMMU: no separate IOMMU entry,
 * the IOMMU sees the new entry, and the IOTLB is flushed only when a
 * present entry changed (a non-present -> present change needs none
 * without caching mode). Failing means VT-d costs are charged as AMD's,
 * or flushes Xen skips are counted. */
static void test_rule5_intel_shares_p2m_tables(void **state)
{
	struct sim_model *m = passthrough_host(XGM_IOMMU_INTEL);
	struct sim_domain *d = sim_dom_get(m, VM1);
	struct count c = { 0 };

	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, true), 1);
	assert_int_equal(d->ctr.iommu_entries, 0);
	assert_int_equal(d->ctr.iotlb_flushes, 0);
	assert_int_equal(sim_iommu_walk(m, VM1, HOLE_GFN, HOLE_GFN, count_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.last_access, 6);
	/* present -> not present: flushed */
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, BAR, 1, false), 1);
	assert_int_equal(d->ctr.iotlb_flushes, 1);
	sim_model_free(m);
}

/* Rule 5: AMD never shares: every p2m change is mirrored into separate
 * tables, counted; the IOTLB is flushed only when a PTE was modified.
 * Failing means the AMD cost is missing or overstated. */
static void test_rule5_amd_mirrors_every_p2m_change(void **state)
{
	struct sim_model *m = passthrough_host(XGM_IOMMU_AMD);
	struct sim_domain *d = sim_dom_get(m, VM1);
	struct count c = { 0 };

	permit(m, VM1, BAR, 64);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN + 1, BAR + 1, 10,
					       true), 10);
	assert_int_equal(d->ctr.iommu_entries, 10);
	assert_int_equal(d->ctr.iotlb_flushes, 0);
	assert_int_equal(sim_iommu_walk(m, VM1, HOLE_GFN, HOLE_GFN + 64, count_cb,
					&c), 0);
	assert_int_equal(c.n, 10);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN + 1, BAR + 1, 10,
					       false), 10);
	assert_int_equal(d->ctr.iommu_entries, 20);
	assert_int_equal(d->ctr.iotlb_flushes, 10);
	c.n = 0;
	sim_iommu_walk(m, VM1, HOLE_GFN, HOLE_GFN + 64, count_cb, &c);
	assert_int_equal(c.n, 0);
	sim_model_free(m);
}

static int count_table(uint64_t gfn, unsigned int order, void *arg)
{
	(*(uint64_t *)arg)++;
	return 0;
}

/* Rule 5: AMD-Vi's tables coalesce a full, contiguous table into a
 * superpage and free a table that empties (amd/iommu_map.c, since 4.17),
 * while the p2m keeps its tables. Here 512 4K memory_mapping writes (a
 * 2M-aligned range retried at 4K over an emptied table) become one 2M
 * IOMMU entry, and after the unmap nothing is left in the IOMMU, an empty
 * L1 table in the p2m; a save and load rebuilds the same. Failing means
 * the sim counts AMD's IOMMU tables as 4K forever. */
static void test_rule5_amd_coalesces_full_tables_and_frees_emptied_ones(void **state)
{
	struct sim_model *m = passthrough_host(XGM_IOMMU_AMD);
	struct sim_domain *d;
	struct count c = { 0 };
	uint64_t tables = 0;

	grant_and_revoke(m, HOLE_GFN);
	assert_int_equal(map_2m_entries(m, HOLE_GFN), 512);
	d = sim_dom_get(m, VM1);
	assert_int_equal(sim_iommu_walk(m, VM1, HOLE_GFN, HOLE_GFN + 511,
					count_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.frames, 512);
	assert_int_equal(d->ctr.iotlb_flushes, 1 + 1); /* grant unmap, coalescing */
	/* the load rebuilds the IOMMU tables coalesced alike */
	m = save_and_load(m);
	memset(&c, 0, sizeof(c));
	assert_int_equal(sim_iommu_walk(m, VM1, HOLE_GFN, HOLE_GFN + 511,
					count_cb, &c), 0);
	assert_int_equal(c.n, 1);
	/* the unmap, retried at 4K, shatters and empties the IOMMU's 2M:
	 * AMD frees the tables, the p2m keeps its empty L1 */
	unmap_2m(m, HOLE_GFN);
	d = sim_dom_get(m, VM1);
	memset(&c, 0, sizeof(c));
	assert_int_equal(sim_iommu_walk(m, VM1, HOLE_GFN, HOLE_GFN + 511,
					count_cb, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(sim_p2m_walk_empty_tables(d->iommu_pt, count_table,
						   &tables), 0);
	assert_int_equal(tables, 0);
	assert_int_equal(sim_p2m_walk_empty_tables(d->p2m, count_table,
						   &tables), 0);
	assert_int_equal(tables, 1);
	sim_model_free(m);
}

/* Rule 5: a PV dom0's IOMMU identity-maps all RAM but Xen's; a PVH dom0's
 * DMA map is its p2m; a PV guest has no IOMMU context. Failing means the
 * DMA view (what a device can reach) is misreported. */
static void test_rule5_pv_dom0_identity_pvh_dom0_is_its_p2m(void **state)
{
	struct sim_model *m = host_of(XGM_DOM_PV, XGM_IOMMU_INTEL);
	struct count c = { .identity = true };
	uint64_t ram = m->ram_pages;

	assert_int_equal(sim_iommu_walk(m, 0, 0, UINT64_MAX, count_cb, &c), 0);
	assert_true(c.identity);
	assert_int_equal(c.frames, ram - m->xen_pages);
	assert_int_equal(sim_iommu_walk(m, VM3, 0, UINT64_MAX, count_cb, &c),
			 -ENODEV);
	sim_model_free(m);

	m = host();
	memset(&c, 0, sizeof(c));
	assert_int_equal(sim_iommu_walk(m, 0, 0, UINT64_MAX, count_cb, &c), 0);
	/* dom0's RAM and its identity-mapped BAR, as in its p2m */
	assert_int_equal(c.frames, ((4ull << 30) >> 12) + (16ull << 30 >> 12));
	sim_model_free(m);
}

/* ---- rule 6 ------------------------------------------------------------ */

/* Rule 6: dom0 grants a page, the grantee maps it (grant_map_rw, a page
 * reference), and grant_end is EBUSY until the grantee unmaps. Failing
 * means a grant can be revoked under a live mapping. */
static void test_rule6_grant_end_only_after_unmap(void **state)
{
	struct sim_model *m = host();
	uint64_t mfn = mfn_of(m, 0, 0x1000);
	uint32_t gref;

	assert_int_equal(sim_gnt_access(m, VM1, mfn, false, &gref), 0);
	assert_int_equal(gref, 8);
	assert_int_equal(sim_gnt_map(m, VM1, gref, HOLE_GFN), 0);
	assert_int_equal(at(m, VM1, HOLE_GFN, NULL).type, XGM_P2M_GRANT_MAP_RW);
	assert_int_equal(sim_mem_refs(m, mfn), 1);
	assert_int_equal(sim_gnt_end(m, gref), -EBUSY);
	assert_int_equal(sim_gnt_map(m, VM2, gref, HOLE_GFN), -EPERM);
	assert_int_equal(sim_gnt_unmap(m, VM1, gref, HOLE_GFN), 0);
	assert_int_equal(sim_mem_refs(m, mfn), 0);
	assert_int_equal(sim_gnt_end(m, gref), 0);
	assert_int_equal(sim_gnt_end(m, gref), -ENOENT);
	/* VRAM has no struct page: it cannot be granted */
	assert_int_equal(sim_gnt_access(m, VM1, BAR, false, &gref), -EINVAL);
	sim_model_free(m);
}

/* Rule 6's limit: dom0's grant table has gnttab_max_frames frames of 512
 * v1 entries (Xen's boot option, 64 by default: 32768 entries, Linux's
 * first 8 reserved). A grant past its last entry fails, saying the limit,
 * and the room a grant blob asks for is answered before its first grant;
 * an ended grant frees its entry. Failing means the sim lets a grant blob
 * through that stock Xen refuses (1 GiB needs 262144 entries). */
static void test_rule6_grant_table_holds_gnttab_max_frames_entries(void **state)
{
	struct sim_topology t;
	struct sim_model *m = host();
	uint64_t mfn = mfn_of(m, 0, 0x1000);
	uint32_t gref, first = 0;

	assert_int_equal(sim_gnt_room(m, 32768 - 8), 0);
	assert_int_equal(sim_gnt_room(m, 32768 - 7), -ENOSPC);
	assert_non_null(strstr(xgm_last_error(), "32768 entries (gnttab_max_frames 64)"));
	xgm_clear_error();
	sim_model_free(m);

	sim_topo_default(&t);
	t.gnttab_max_frames = 1;
	assert_int_equal(sim_topo_build(&t, &m), 0);
	m = save_and_load(m);
	for (unsigned int i = 0; i < 512 - 8; i++) {
		assert_int_equal(sim_gnt_access(m, VM1, mfn, false, &gref), 0);
		first = i ? first : gref;
	}
	assert_int_equal(gref, 511);
	assert_int_equal(sim_gnt_room(m, 1), -ENOSPC);
	xgm_clear_error();
	assert_int_equal(sim_gnt_access(m, VM1, mfn, false, &gref), -ENOSPC);
	assert_non_null(strstr(xgm_last_error(), "grant table of Domain-0 full: "
			       "512 entries (gnttab_max_frames 1)"));
	xgm_clear_error();
	assert_int_equal(sim_gnt_end(m, first), 0);
	assert_int_equal(sim_gnt_room(m, 1), 0);
	assert_int_equal(sim_gnt_access(m, VM1, mfn, false, &gref), 0);
	assert_int_equal(gref, first);
	sim_model_free(m);
}

/* Rule 6's hidden cost: a grant unmap (p2m_remove_entry()) and a mapping
 * over the guest's RAM (set_typed_p2m_entry()) make Xen send a
 * synchronous IOREQ_TYPE_INVALIDATE to every ioreq server of the guest:
 * once for the guest's own unmap, from every vCPU for dom0's change. No
 * server, no cost. Failing means the round trips xgpumap's own server
 * must answer are missing from the model. */
static void test_rule6_unmaps_send_an_invalidate_to_every_ioreq_server(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, VM1);

	grant_and_revoke(m, HOLE_GFN);
	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, 0x10, BAR, 1, true), 1);
	assert_int_equal(d->ctr.ioreqs, 0);
	sim_model_free(m);

	m = host();
	d = sim_dom_get(m, VM1);
	assert_int_equal(sim_ioreq_map_range(m, VM1, 0x200000, 0x2fffff, true), 0);
	grant_and_revoke(m, HOLE_GFN);
	assert_int_equal(d->ctr.ioreqs, 1);
	permit(m, VM1, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, 0x10, BAR, 1, true), 1);
	assert_int_equal(d->ctr.ioreqs, 1 + d->vcpus);
	sim_model_free(m);
}

/* ---- rule 7 ------------------------------------------------------------ */

/* Rule 7: what Xen refuses is what the iomem rangesets refuse. dom0 has
 * the whole range except the LAPIC/IO-APIC/HPET; a guest has nothing
 * until dom0 lends it. Failing means the sim refuses less (or more) than
 * the rangesets. */
static void test_rule7_refusals_come_from_the_iomem_rangesets(void **state)
{
	struct sim_model *m = host();

	/* the LAPIC: dom0 itself lacks permission */
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, 0xFEE00, 1, true),
			 -EPERM);
	/* another guest's RAM: refused while vm1 lacks permission */
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN,
					       mfn_of(m, VM2, 0), 1, true), -EPERM);
	/* Xen's own frames: likewise */
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, 0x10, 1, true),
			 -EPERM);
	sim_model_free(m);
}

/* Rule 7: once dom0 lends a guest permission over another domain's RAM,
 * Xen maps it: there is no RAM or ownership check on the memory_mapping
 * path. The sim does the same, and the frame stays the other domain's
 * with no reference: the hazard inspection must flag. Failing means the
 * sim is stricter than Xen and hides that hazard. */
static void test_rule7_xen_does_not_refuse_foreign_ram_once_permitted(void **state)
{
	struct sim_model *m = host();
	uint64_t ram = mfn_of(m, VM2, 0);
	uint32_t owner;

	permit(m, VM1, ram, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM1, HOLE_GFN, ram, 1, true), 1);
	assert_true(sim_mem_owner(m, ram, &owner, NULL));
	assert_int_equal(owner, VM2);
	assert_true(sim_mem_is_ram(m, ram));
	assert_int_equal(sim_mem_refs(m, ram), 0);
	sim_model_free(m);
}

/* Rule 7: mapping into dom0 by gmfn_foreign with dom0's own pages is
 * refused (EPERM), and memory_mapping into a PV domain is refused by the
 * sim (Xen returns 0 and does nothing: the sim will not let that pass as
 * success). */
static void test_rule7_mapping_dom0_pages_or_into_pv_is_refused(void **state)
{
	struct sim_model *m = host();

	assert_int_equal(sim_hc_add_foreign(m, 0, 0x200000, 0, 0x10), -EPERM);
	permit(m, VM3, BAR, 1);
	assert_int_equal(sim_hc_memory_mapping(m, VM3, 0x10, BAR, 1, true),
			 -EOPNOTSUPP);
	sim_model_free(m);
}

/* Rule 8: pauses are counted (XEN_DOMCTL_pausedomain increments
 * d->pause_count): a domain paused twice runs again only after two
 * unpauses, each is a hypercall, and dom0 cannot pause itself. Failing
 * means migrate --pause could resume a guest an admin had paused. */
static void test_rule8_pauses_are_counted_and_dom0_cannot_pause_itself(void **state)
{
	struct sim_model *m = host();
	struct sim_domain *d = sim_dom_get(m, VM1);
	uint64_t hc = d->ctr.hypercalls;

	assert_int_equal(sim_dom_pause(m, VM1, true), 0);
	assert_int_equal(d->state, XGM_DOM_PAUSED);
	assert_int_equal(sim_dom_pause(m, VM1, true), 0);
	assert_int_equal(sim_dom_pause(m, VM1, false), 0);
	assert_int_equal(d->state, XGM_DOM_PAUSED);
	assert_int_equal(sim_dom_pause(m, VM1, false), 0);
	assert_int_equal(d->state, XGM_DOM_RUNNING);
	assert_int_equal(d->ctr.hypercalls, hc + 4);
	assert_int_equal(sim_dom_pause(m, VM1, false), -EINVAL);
	assert_int_equal(sim_dom_pause(m, 0, true), -EINVAL);
	assert_int_equal(sim_dom_pause(m, 99, true), -ESRCH);
	sim_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule1_overwriting_special_entry_crashes_domain),
		cmocka_unit_test(test_rule1_grant_over_special_entry_crashes_domain),
		cmocka_unit_test(test_rule1_identical_special_mapping_is_allowed),
		cmocka_unit_test(test_rule1_emptied_tables_persist_across_save_and_load),
		cmocka_unit_test(test_rule2_memory_mapping_needs_iomem_permission_on_caller_and_target),
		cmocka_unit_test(test_rule2_at_most_64_updates_per_call),
		cmocka_unit_test(test_rule2_2m_only_when_both_aligned_never_1g),
		cmocka_unit_test(test_rule2_caller_needs_iomem_permission_for_add_and_remove),
		cmocka_unit_test(test_rule2_fewer_than_512_left_is_4k),
		cmocka_unit_test(test_rule2_max_gpfn_never_shrinks),
		cmocka_unit_test(test_rule2_memory_type_uc_ipat0_on_ept_ucminus_on_npt),
		cmocka_unit_test(test_rule2_first_iomem_permission_without_iommu_changes_memory_types),
		cmocka_unit_test(test_rule2_before_4_17_5_a_bar_is_uc_with_guest_pat_ignored),
		cmocka_unit_test(test_rule2_before_4_17_7_memory_mapping_takes_the_global_domctl_lock),
		cmocka_unit_test(test_rule2_takes_no_page_reference),
		cmocka_unit_test(test_rule2_mapping_over_guest_ram_replaces_it_and_orphans_the_page),
		cmocka_unit_test(test_rule3_add_foreign_supported_direction_takes_reference),
		cmocka_unit_test(test_rule3_caller_as_foreign_domain_is_eperm),
		cmocka_unit_test(test_rule3_foreign_page_must_be_ram),
		cmocka_unit_test(test_rule3_ioreq_server_pages_count_as_ram),
		cmocka_unit_test(test_rule3_gmfn_foreign_over_a_foreign_entry_is_enxio_not_a_crash),
		cmocka_unit_test(test_rule3_4_17_maps_resources_only_into_the_hardware_domain),
		cmocka_unit_test(test_rule5_iommu_context_only_with_passthrough),
		cmocka_unit_test(test_rule5_intel_shares_p2m_tables),
		cmocka_unit_test(test_rule5_amd_mirrors_every_p2m_change),
		cmocka_unit_test(test_rule5_amd_coalesces_full_tables_and_frees_emptied_ones),
		cmocka_unit_test(test_rule5_pv_dom0_identity_pvh_dom0_is_its_p2m),
		cmocka_unit_test(test_rule6_grant_end_only_after_unmap),
		cmocka_unit_test(test_rule6_grant_table_holds_gnttab_max_frames_entries),
		cmocka_unit_test(test_rule6_unmaps_send_an_invalidate_to_every_ioreq_server),
		cmocka_unit_test(test_rule7_refusals_come_from_the_iomem_rangesets),
		cmocka_unit_test(test_rule7_xen_does_not_refuse_foreign_ram_once_permitted),
		cmocka_unit_test(test_rule7_mapping_dom0_pages_or_into_pv_is_refused),
		cmocka_unit_test(test_rule8_pauses_are_counted_and_dom0_cannot_pause_itself),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
