// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A domain's p2m as Xen drives it: one lock per p2m (gfn_lock is p2m_lock,
 * mm-locks.h); on EPT, TLB flushes deferred while it is held and issued at
 * the outermost unlock only when a present entry changed
 * (p2m_unlock_and_tlb_flush(), xen/arch/x86/mm/p2m.c), the flush IPIing the
 * domain's dirty vcpus (ept_sync_domain()); on NPT, a flush at once for
 * every present entry written (hap_write_p2m_entry_post(), mm/hap/hap.c:
 * XSA-480's message says NPT lacks the deferred flush); and, for a domain with an
 * IOMMU context, the IOMMU kept in sync on every write (ept_set_entry():
 * iommu_iotlb_flush() when the tables are shared, iommu_legacy_map/unmap()
 * when they are not).
 */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

static const char *const type_names[XGM_P2M_NR_TYPES] = {
	[XGM_P2M_RAM_RW] = "ram_rw",
	[XGM_P2M_INVALID] = "invalid",
	[XGM_P2M_RAM_LOGDIRTY] = "ram_logdirty",
	[XGM_P2M_RAM_RO] = "ram_ro",
	[XGM_P2M_MMIO_DM] = "mmio_dm",
	[XGM_P2M_MMIO_DIRECT] = "mmio_direct",
	[XGM_P2M_POPULATE_ON_DEMAND] = "populate_on_demand",
	[XGM_P2M_GRANT_MAP_RW] = "grant_map_rw",
	[XGM_P2M_GRANT_MAP_RO] = "grant_map_ro",
	[XGM_P2M_RAM_PAGING_OUT] = "ram_paging_out",
	[XGM_P2M_RAM_PAGED] = "ram_paged",
	[XGM_P2M_RAM_PAGING_IN] = "ram_paging_in",
	[XGM_P2M_RAM_SHARED] = "ram_shared",
	[XGM_P2M_RAM_BROKEN] = "ram_broken",
	[XGM_P2M_MAP_FOREIGN] = "map_foreign",
	[XGM_P2M_IOREQ_SERVER] = "ioreq_server",
};

const char *sim_p2m_type_name(unsigned int t)
{
	return t < XGM_P2M_NR_TYPES ? type_names[t] : "unknown";
}

int sim_p2m_type_parse(const char *s, unsigned int *t)
{
	for (unsigned int i = 0; i < XGM_P2M_NR_TYPES; i++) {
		if (s && !strcmp(s, type_names[i])) {
			*t = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* P2M_SPECIAL_TYPES: grant, foreign and mmio_direct (asm/p2m.h). */
bool sim_p2m_type_is_special(unsigned int t)
{
	return t == XGM_P2M_GRANT_MAP_RW || t == XGM_P2M_GRANT_MAP_RO ||
	       t == XGM_P2M_MAP_FOREIGN || t == XGM_P2M_MMIO_DIRECT;
}

/* P2M_RAM_TYPES (asm/p2m.h): p2m_ioreq_server (RAM an ioreq server
 * claims writes to) is RAM too. */
bool sim_p2m_type_is_ram(unsigned int t)
{
	switch (t) {
	case XGM_P2M_IOREQ_SERVER:
	case XGM_P2M_RAM_RW:
	case XGM_P2M_RAM_LOGDIRTY:
	case XGM_P2M_RAM_RO:
	case XGM_P2M_RAM_PAGING_OUT:
	case XGM_P2M_RAM_PAGED:
	case XGM_P2M_RAM_PAGING_IN:
	case XGM_P2M_RAM_SHARED:
		return true;
	default:
		return false;
	}
}

void sim_dp2m_memtype(const struct sim_model *m, enum xgm_p2m_type t,
		  uint8_t *emt, bool *ipat)
{
	*ipat = false;
	if (m->iommu == XGM_IOMMU_AMD) {
		/* NPT (p2m_type_to_flags(), p2m-pt.c): mmio_direct gets
		 * _PAGE_UCM (UC-); there is no ignore-PAT on AMD. */
		*emt = t == XGM_P2M_MMIO_DIRECT ? XGM_MT_UC_MINUS : XGM_MT_WB;
		return;
	}
	/* EPT (epte_get_entry_emt(), p2m-ept.c). */
	switch (t) {
	case XGM_P2M_MMIO_DIRECT:
		/* UC with ipat=0: the guest PAT still combines (WC possible). */
		*emt = XGM_MT_UC;
		break;
	case XGM_P2M_GRANT_MAP_RW:
	case XGM_P2M_GRANT_MAP_RO:
	case XGM_P2M_MAP_FOREIGN:
		*emt = XGM_MT_WB;
		*ipat = true;
		break;
	default:
		/* RAM: guest and host MTRRs agree on WB. */
		*emt = XGM_MT_WB;
		break;
	}
}

struct xgm_p2m_entry sim_dp2m_entry(const struct sim_model *m, uint64_t mfn,
				enum xgm_p2m_type t)
{
	struct xgm_p2m_entry e = {
		.mfn = mfn,
		.type = (uint8_t)t,
		.access = 7, /* p2m->default_access = p2m_access_rwx */
	};

	sim_dp2m_memtype(m, t, &e.emt, &e.ipat);
	/* 4.17.0-4.17.4: a frame that is not RAM (a BAR above it) is UC with
	 * ipat=1, the guest's PAT ignored and WC impossible
	 * (epte_get_entry_emt()'s !mfn_valid() case; 4.17.5's dbcc4fba01,
	 * the backport of 4fdd8d7556, dropped it). */
	if (m->iommu == XGM_IOMMU_INTEL && t == XGM_P2M_MMIO_DIRECT &&
	    m->xen_version < SIM_XEN(4, 17, 5) && !sim_mem_is_ram(m, mfn))
		e.ipat = true;
	return e;
}

struct sim_p2m *sim_dp2m_new(const struct sim_model *m)
{
	return sim_p2m_new(m->iommu == XGM_IOMMU_INTEL ? SIM_P2M_SPLIT_WHOLE : 0);
}

void sim_dp2m_lock(struct sim_model *m, struct sim_domain *d)
{
	(void)m;
	d->ctr.lock_acquisitions++;
	d->lock_depth++;
}

void sim_dp2m_unlock(struct sim_model *m, struct sim_domain *d)
{
	(void)m;
	if (!d->lock_depth)
		return;
	if (--d->lock_depth)
		return; /* recursive: the flush waits for the outermost unlock */
	if (d->need_flush) {
		d->need_flush = false;
		d->ctr.tlb_flushes++;
		d->ctr.ipis += sim_dom_dirty_count(d);
	}
}

int sim_dp2m_set(struct sim_model *m, struct sim_domain *d, uint64_t gfn,
	     unsigned int order, const struct xgm_p2m_entry *e)
{
	struct p2m_stats st = { 0 };
	enum xgm_iommu_mode mode;
	int ret;

	if (!d->p2m)
		return -EOPNOTSUPP;
	ret = sim_p2m_set(d->p2m, gfn, order, e, &st);
	if (ret)
		return ret;
	d->ctr.p2m_entries += st.entries;
	d->ctr.splits += st.splits;
	if (sim_p2m_flags(d->p2m) & SIM_P2M_SPLIT_WHOLE) {
		/* EPT: ept_sync_domain() under defer_flush only marks the
		 * flush; p2m_unlock_and_tlb_flush() issues it. */
		if (st.present_changed)
			d->need_flush = true;
	} else {
		/* NPT has no deferral: hap_write_p2m_entry_post() flushes the
		 * dirty mask on every write of a present entry, each
		 * superpage -> table replacement of a split included. */
		d->ctr.tlb_flushes += st.present_writes;
		d->ctr.ipis += st.present_writes * sim_dom_dirty_count(d);
	}
	if (!st.entries)
		return 0;
	mode = sim_iommu_mode(m, d);
	if (mode == XGM_IOMMU_SHARED) {
		/* The IOMMU walks these very tables: only its IOTLB needs
		 * flushing (ept_set_entry() -> iommu_iotlb_flush()), and VT-d
		 * skips that for a non-present -> present change. */
		if (st.present_changed)
			d->ctr.iotlb_flushes++;
	} else if (mode == XGM_IOMMU_SEPARATE) {
		ret = sim_iommu_mirror(m, d, gfn, order, e);
	}
	return ret;
}
