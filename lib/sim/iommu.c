// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The IOMMU's view of each domain's DMA space.
 *
 * - Intel VT-d shares the EPT tables when compatible (iommu_hap_pt_share,
 *   vtd_ept_page_compatible()): the DMA map *is* the p2m, filtered by the
 *   permissions p2m_get_iommu_flags() gives each type; a p2m write costs an
 *   IOTLB flush, no separate table write.
 * - AMD-Vi never shares ("only supports p2m_ram_rw", amd/iommu_init.c):
 *   every p2m change is mirrored into separate tables
 *   (iommu_legacy_map/unmap), counted as IOMMU entries.
 * - A PV dom0 gets an identity map of all RAM but Xen's own
 *   (arch_iommu_hwdom_init(), non-strict mode, the x86 PV default).
 * - A PVH dom0 is strict: its DMA map is its p2m, as for any translated
 *   domain.
 * - A guest has an IOMMU context only when it was created with passthrough
 *   (XEN_DOMCTL_CDF_iommu, which libxl sets only for PCI passthrough or
 *   passthrough=; iommu_domain_init() returns early otherwise): a typical
 *   virtio-gpu guest has none, and Xen does no IOMMU work for its p2m.
 * - VT-d flushes the IOTLB only when a present entry changed: a
 *   non-present -> present change needs none without caching mode
 *   (vtd/qinval.c). AMD-Vi likewise flushes only when a PTE was modified
 *   (amd_iommu_flush_iotlb_pages()), and its tables free emptied tables
 *   and coalesce full contiguous ones into superpages (since 4.17).
 */
#include <errno.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

enum xgm_iommu_mode sim_iommu_mode(const struct sim_model *m,
			       const struct sim_domain *d)
{
	if (!d->is_dom0 && !d->passthrough)
		return XGM_IOMMU_NONE;
	if (!sim_dom_translated(d))
		return d->is_dom0 ? XGM_IOMMU_IDENTITY : XGM_IOMMU_NONE;
	return m->iommu == XGM_IOMMU_INTEL ? XGM_IOMMU_SHARED :
					     XGM_IOMMU_SEPARATE;
}

/* p2m_get_iommu_flags() (asm/p2m.h): 4 = readable, 2 = writable. */
uint8_t sim_iommu_flags_of(unsigned int t)
{
	switch (t) {
	case XGM_P2M_RAM_RW:
	case XGM_P2M_GRANT_MAP_RW:
	case XGM_P2M_MMIO_DIRECT:
	case XGM_P2M_MAP_FOREIGN:
		return 4 | 2;
	case XGM_P2M_RAM_RO:
	case XGM_P2M_GRANT_MAP_RO:
		return 4;
	default:
		return 0;
	}
}

int sim_iommu_mirror(struct sim_model *m, struct sim_domain *d, uint64_t gfn,
		 unsigned int order, const struct xgm_p2m_entry *e)
{
	uint8_t flags = e ? sim_iommu_flags_of(e->type) : 0;
	struct p2m_stats st = { 0 };
	struct xgm_p2m_entry ie;
	int ret;

	(void)m;
	if (!d->iommu_pt) {
		d->iommu_pt = sim_p2m_new(SIM_P2M_COALESCE);
		if (!d->iommu_pt)
			return -ENOMEM;
	}
	if (flags) {
		ie = *e;
		ie.access = flags;
		ret = sim_p2m_set(d->iommu_pt, gfn, order, &ie, &st);
	} else {
		ret = sim_p2m_set(d->iommu_pt, gfn, order, NULL, &st);
	}
	if (ret)
		return ret;
	d->ctr.iommu_entries += st.entries;
	/* IOMMU_FLUSHF_modified: a present PTE changed, a superpage was
	 * shattered or tables were coalesced. */
	if (st.present_changed || st.coalesced)
		d->ctr.iotlb_flushes++;
	return 0;
}

struct rebuild_arg {
	struct sim_p2m *pt;
	int ret;
};

/* Written as the mirror writes it, so that full tables coalesce as they
 * did when they were filled; a whole compact table of the p2m at once:
 * as the 2M leaf its 512 writes coalesce into when its frames are 2M
 * aligned, else as the table they leave (compact again). */
static int rebuild_run(const struct xgm_p2m_entry *e, uint64_t count,
		       void *arg)
{
	struct rebuild_arg *a = arg;
	struct xgm_p2m_entry ie = *e;
	struct p2m_stats st = { 0 };
	bool table = count == P2M_ENTRIES && e->order == P2M_ORDER_4K &&
		     !(e->gfn & (P2M_ENTRIES - 1));

	ie.access = sim_iommu_flags_of(e->type);
	if (!ie.access)
		return 0;
	if (table && !(e->mfn & (P2M_ENTRIES - 1)))
		a->ret = sim_p2m_set(a->pt, e->gfn, P2M_ORDER_2M, &ie, &st);
	else if (table)
		a->ret = sim_p2m_insert_run(a->pt, e->gfn, count, &ie);
	for (uint64_t k = 0; !table && !a->ret && k < count; k++) {
		ie.gfn = e->gfn + (k << e->order);
		ie.mfn = e->mfn + (k << e->order);
		a->ret = sim_p2m_set(a->pt, ie.gfn, ie.order, &ie, &st);
	}
	return a->ret;
}

int sim_iommu_rebuild(struct sim_model *m, struct sim_domain *d)
{
	struct rebuild_arg a = { 0 };

	(void)m;
	sim_p2m_free(d->iommu_pt);
	d->iommu_pt = NULL;
	if (!d->p2m)
		return 0;
	a.pt = d->iommu_pt = sim_p2m_new(SIM_P2M_COALESCE);
	if (!a.pt)
		return -ENOMEM;
	sim_p2m_walk_runs(d->p2m, 0, UINT64_MAX, rebuild_run, &a);
	return a.ret;
}

struct filter_arg {
	xgm_p2m_walk_fn fn;
	void *arg;
};

static int shared_one(const struct xgm_p2m_entry *e, void *arg)
{
	struct filter_arg *f = arg;
	struct xgm_p2m_entry ie = *e;

	ie.access = sim_iommu_flags_of(e->type);
	if (!ie.access)
		return 0;
	return f->fn(&ie, f->arg);
}

/* PV dom0: dfn == mfn for every RAM frame Xen does not keep, in the
 * largest aligned pieces. */
static int identity_walk(const struct sim_model *m, uint64_t first,
			 uint64_t last, xgm_p2m_walk_fn fn, void *arg)
{
	for (size_t i = 0; i < m->frames.nr; i++) {
		const struct sim_frame_run *r = &m->frames.runs[i];
		uint64_t s = r->start, end = r->start + r->count;

		if (r->owner == SIM_OWNER_IO || r->owner == SIM_OWNER_XEN)
			continue;
		if (end <= first || s > last)
			continue;
		while (s < end) {
			unsigned int o = P2M_ORDER_4K;
			struct xgm_p2m_entry e = {
				.type = XGM_P2M_RAM_RW, .access = 4 | 2,
				.emt = XGM_MT_WB,
			};
			int ret;

			if (!(s & ((1ull << P2M_ORDER_1G) - 1)) &&
			    end - s >= (1ull << P2M_ORDER_1G))
				o = P2M_ORDER_1G;
			else if (!(s & ((1ull << P2M_ORDER_2M) - 1)) &&
				 end - s >= (1ull << P2M_ORDER_2M))
				o = P2M_ORDER_2M;
			e.gfn = e.mfn = s;
			e.order = (uint8_t)o;
			if (s + (1ull << o) - 1 >= first && s <= last) {
				ret = fn(&e, arg);
				if (ret)
					return ret;
			}
			if (s > last)
				break;
			s += 1ull << o;
		}
	}
	return 0;
}

int sim_iommu_walk(const struct sim_model *m, uint32_t domid, uint64_t first,
	       uint64_t last, xgm_p2m_walk_fn fn, void *arg)
{
	struct sim_domain *d;
	struct filter_arg f = { fn, arg };
	int ret = sim_dom_find(m, domid, &d);

	if (ret)
		return ret;
	switch (sim_iommu_mode(m, d)) {
	case XGM_IOMMU_NONE:
		return xgm_fail(-ENODEV, "domain %s has no IOMMU context (it "
				"was created without passthrough)", d->name);
	case XGM_IOMMU_IDENTITY:
		return identity_walk(m, first, last, fn, arg);
	case XGM_IOMMU_SHARED:
		return sim_p2m_walk(d->p2m, first, last, shared_one, &f);
	case XGM_IOMMU_SEPARATE:
		return sim_p2m_walk(d->iommu_pt, first, last, fn, arg);
	}
	return -EINVAL;
}
