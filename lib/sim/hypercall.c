// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The hypercalls that put frames into a translated domain's p2m, with the
 * checks Xen makes, in Xen's order. The caller is dom0, the control domain.
 *
 * What Xen refuses, and what it does not (xen/common/domctl.c,
 * xen/arch/x86/mm/p2m.c at c447b73 and RELEASE-4.17.7):
 *  - memory_mapping is gated only by the iomem rangesets of the caller and
 *    of the target (for removal too in 4.17.x; master checks only the
 *    caller there). There is no RAM or ownership check anywhere
 *    on the path, and dom0 is given the whole physical range at boot
 *    (dom0_setup_permissions(): iomem_permit_access(d, 0, max) minus the
 *    LAPIC, IO-APICs, HPET, E820_UNUSABLE and HyperTransport). So dom0 can
 *    grant a guest permission over another domain's RAM, even Xen's, and
 *    map it mmio_direct with no page reference. The sim does the same and
 *    does not refuse it; inspection flags such entries (sim_mem_is_ram()).
 *  - Mapping over a gfn that holds the target's own RAM is not refused:
 *    set_typed_p2m_entry() replaces the entry and only invalidates the
 *    M2P; the RAM page stays allocated to the domain, unreachable
 *    (counted here as orphaned_pages).
 *  - Replacing a special entry (grant, foreign, mmio_direct) with another
 *    mfn or type crashes the domain and fails with EPERM.
 *  - gmfn_foreign refuses the caller's own pages (EPERM from
 *    rcu_lock_remote_domain_by_id()) and any target but the control domain
 *    (dummy XSM_TARGET), and non-RAM foreign pages (EINVAL). Over an
 *    existing foreign or grant entry it fails with ENXIO and over an
 *    mmio_direct RAM frame with EPERM (guest_remove_page()), crashing
 *    nothing; over a BAR's entry it crashes the target.
 * Where the sim refuses more than Xen: memory_mapping on a PV domain
 * returns 0 in Xen and does nothing; the sim answers EOPNOTSUPP so that a
 * caller cannot take it for a completed mapping.
 */
#include <errno.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

#define MAP_MMIO_MAX_ITER 64 /* "pretty arbitrary", p2m.c */

static struct sim_domain *dom0_of(const struct sim_model *m)
{
	return sim_model_dom0(m);
}

/*
 * do_domctl() runs every domctl but a few under one host-wide spinlock
 * (domctl_lock_acquire(): a trylock, and a continuation that re-issues the
 * hypercall when it is held), so the domctls of every toolstack process
 * and of every guest's mapping run one at a time. 4.17.7 (95bfcd4084, the
 * backport of XSA-492's 5a81fb873c) and master handle iomem_permission and
 * memory_mapping without it, under the domains' caps rwlocks; pausedomain
 * takes it on every version. The sim runs one call at a time anyway: it
 * counts the acquisition (lock_acquisitions, modelled as uncontended), it
 * does not model another process waiting for it.
 */
bool sim_domctl_lock(struct sim_model *m, struct sim_domain *d,
		     enum sim_domctl cmd)
{
	if (cmd != SIM_DOMCTL_PAUSE && m->xen_version >= SIM_XEN(4, 17, 7))
		return false;
	d->ctr.lock_acquisitions++;
	return true;
}

int sim_hc_iomem_permission(struct sim_model *m, uint32_t domid, uint64_t mfn,
			uint64_t nr, bool allow)
{
	struct sim_domain *d, *dom0 = dom0_of(m);
	uint64_t end = mfn + nr - 1;
	bool had_caps;
	int ret = sim_dom_find(m, domid, &d);

	if (ret)
		return ret;
	d->ctr.hypercalls++;
	sim_domctl_lock(m, d, SIM_DOMCTL_IOMEM_PERMISSION);
	if (!nr || end < mfn)
		return xgm_fail(-EINVAL, "iomem_permission: empty or wrapping "
				"range at mfn %#llx", (unsigned long long)mfn);
	if (!dom0 || !sim_rs_contains(&dom0->iomem, mfn, end))
		return xgm_fail(-EPERM, "iomem_permission: dom0 itself has no "
				"iomem permission over mfn %#llx-%#llx",
				(unsigned long long)mfn,
				(unsigned long long)end);
	had_caps = d->iomem.nr > 0;
	d->frames_changed = true;
	ret = allow ? sim_rs_add(&d->iomem, mfn, end) : sim_rs_remove(&d->iomem, mfn, end);
	/* iomem_permit_access(): the first range of a domain with no IOMMU
	 * context (and no ioport caps, which the sim has none of) calls
	 * memory_type_changed(): the EMT of its whole p2m is redone and
	 * every CPU does WBINVD (4.17). On the last revoke,
	 * iomem_deny_access() calls it too, but it then does nothing: its
	 * own test needs an IOMMU or caps. */
	if (!ret && allow && !had_caps && sim_iommu_mode(m, d) == XGM_IOMMU_NONE &&
	    sim_dom_translated(d))
		d->ctr.memory_type_changes++;
	return ret;
}

/* mmio_order(): 2M only when gfn and mfn are both 2M-aligned, at least
 * 2M remain and HAP is in use (always, for the sim's translated domains);
 * 1G deliberately never. */
static unsigned int mmio_order(uint64_t fn_or, uint64_t left)
{
	if ((fn_or & ((1ull << P2M_ORDER_2M) - 1)) || !(left >> P2M_ORDER_2M))
		return P2M_ORDER_4K;
	return P2M_ORDER_2M;
}

/* The mfn backing gfn inside a leaf. */
static uint64_t leaf_mfn_at(const struct xgm_p2m_entry *e, uint64_t gfn)
{
	return e->mfn + (gfn - e->gfn);
}

/*
 * set_typed_p2m_entry(): 0, -errno, or 1 + a smaller order to retry with.
 * Takes and drops the p2m lock itself, so a flush (if a present entry
 * changed) is issued per call, as in Xen.
 */
static int set_typed_entry(struct sim_model *m, struct sim_domain *d,
			   uint64_t gfn, uint64_t mfn, unsigned int order,
			   enum xgm_p2m_type t)
{
	struct xgm_p2m_entry old, e = sim_dp2m_entry(m, mfn, t);
	unsigned int cur_order;
	bool present;
	int ret;

	sim_dp2m_lock(m, d);
	present = sim_p2m_lookup(d->p2m, gfn, &old, &cur_order);
	if (cur_order < order) {
		sim_dp2m_unlock(m, d);
		return (int)cur_order + 1;
	}
	if (present && sim_p2m_type_is_special(old.type)) {
		if (leaf_mfn_at(&old, gfn) != mfn || old.type != t) {
			sim_dp2m_unlock(m, d);
			sim_dom_crash(d, "gfn %#llx (mfn %#llx, %s) -> (mfn %#llx, "
				  "%s) not permitted",
				  (unsigned long long)gfn,
				  (unsigned long long)leaf_mfn_at(&old, gfn),
				  sim_p2m_type_name(old.type),
				  (unsigned long long)mfn, sim_p2m_type_name(t));
			return xgm_fail(-EPERM, "domain %s crashed: replacing "
					"its %s entry at gfn %#llx with %s "
					"mfn %#llx is not permitted "
					"(set_typed_p2m_entry)", d->name,
					sim_p2m_type_name(old.type),
					(unsigned long long)gfn,
					sim_p2m_type_name(t),
					(unsigned long long)mfn);
		}
		if (old.access == e.access) {
			sim_dp2m_unlock(m, d);
			return 0; /* identical mapping: nothing to do */
		}
	}
	ret = sim_dp2m_set(m, d, gfn, order, &e);
	if (!ret && present && sim_p2m_type_is_ram(old.type)) {
		d->orphaned_pages += 1ull << order;
		sim_ioreq_invalidate(d, d->is_dom0);
	}
	sim_dp2m_unlock(m, d);
	return ret;
}

/* clear_mmio_p2m_entry(): only an mmio_direct entry can be removed; a
 * different mfn is only warned about by Xen, and removed all the same. */
static int clear_mmio_entry(struct sim_model *m, struct sim_domain *d,
			    uint64_t gfn, unsigned int order)
{
	struct xgm_p2m_entry old;
	unsigned int cur_order;
	bool present;
	int ret;

	sim_dp2m_lock(m, d);
	present = sim_p2m_lookup(d->p2m, gfn, &old, &cur_order);
	if (cur_order < order) {
		sim_dp2m_unlock(m, d);
		return (int)cur_order + 1;
	}
	if (!present || old.type != XGM_P2M_MMIO_DIRECT) {
		sim_dp2m_unlock(m, d);
		return xgm_fail(-EINVAL, "memory_mapping remove: gfn %#llx of "
				"%s is %s, not mmio_direct",
				(unsigned long long)gfn, d->name,
				present ? sim_p2m_type_name(old.type) : "not mapped");
	}
	ret = sim_dp2m_set(m, d, gfn, order, NULL);
	sim_dp2m_unlock(m, d);
	return ret;
}

int sim_hc_memory_mapping(struct sim_model *m, uint32_t domid, uint64_t gfn,
		      uint64_t mfn, uint64_t nr, bool add)
{
	struct sim_domain *d, *dom0 = dom0_of(m);
	uint64_t mfn_end = mfn + nr - 1, i;
	unsigned int iter, order = 0;
	int ret = sim_dom_find(m, domid, &d);

	if (ret)
		return ret;
	d->ctr.hypercalls++;
	sim_domctl_lock(m, d, SIM_DOMCTL_MEMORY_MAPPING);
	if (!nr || mfn_end < mfn || gfn + nr - 1 < gfn ||
	    ((mfn | mfn_end) >> (m->paddr_bits - 12)) ||
	    ((gfn + nr - 1) >> P2M_GFN_BITS))
		return xgm_fail(-EINVAL, "memory_mapping: bad range gfn %#llx "
				"mfn %#llx nr %llu", (unsigned long long)gfn,
				(unsigned long long)mfn, (unsigned long long)nr);
	if (!sim_dom_translated(d))
		return xgm_fail(-EOPNOTSUPP, "memory_mapping: %s is PV (not "
				"translated); Xen would return 0 and map "
				"nothing", d->name);
	if (!dom0 || !sim_rs_contains(&dom0->iomem, mfn, mfn_end))
		return xgm_fail(-EPERM, "memory_mapping: dom0 has no iomem "
				"permission over mfn %#llx-%#llx",
				(unsigned long long)mfn,
				(unsigned long long)mfn_end);
	/* 4.17.x checks the target for removal too; master's 6df6f24251
	 * dropped that: there, revoking first does not block the unmap. */
	if ((add || m->xen_version < SIM_XEN_MASTER) &&
	    !sim_rs_contains(&d->iomem, mfn, mfn_end))
		return xgm_fail(-EPERM, "memory_mapping: %s has no iomem "
				"permission over mfn %#llx-%#llx (%s)", d->name,
				(unsigned long long)mfn,
				(unsigned long long)mfn_end,
				add ? "grant it with iomem_permission first" :
				"Xen 4.17 checks the target on removal too: "
				"unmap before revoking");
	/* map_mmio_regions() / unmap_mmio_regions(). */
	for (iter = 0, i = 0; i < nr && iter < MAP_MMIO_MAX_ITER;
	     i += 1ull << order, iter++) {
		for (order = mmio_order((gfn + i) | (mfn + i), nr - i);;
		     order = (unsigned int)ret - 1) {
			ret = add ? set_typed_entry(m, d, gfn + i, mfn + i,
						    order, XGM_P2M_MMIO_DIRECT)
				  : clear_mmio_entry(m, d, gfn + i, order);
			if (ret <= 0)
				break;
		}
		if (ret < 0)
			break;
	}
	if (i == nr)
		return (int)nr; /* Xen returns 0 here */
	return i ? (int)i : ret;
}

int sim_hc_add_foreign(struct sim_model *m, uint32_t domid, uint64_t gfn,
		   uint32_t foreign_domid, uint64_t foreign_gpfn)
{
	struct sim_domain *t, *f;
	struct xgm_p2m_entry fe, old, e;
	unsigned int o;
	uint64_t mfn;
	bool present;
	int ret = sim_dom_find(m, domid, &t);

	if (ret)
		return ret;
	t->ctr.hypercalls++;
	if (!sim_dom_translated(t))
		return xgm_fail(-EACCES, "add_to_physmap: %s is PV (not "
				"translated)", t->name);
	/* The caller is dom0: rcu_lock_remote_domain_by_id() refuses it. */
	if (foreign_domid == 0)
		return xgm_fail(-EPERM, "gmfn_foreign: the foreign domain is "
				"the caller (dom0) itself; Xen only lets a "
				"privileged domain map *another* domain's RAM "
				"into itself");
	ret = sim_dom_find(m, foreign_domid, &f);
	if (ret)
		return ret;
	if (t == f)
		return xgm_fail(-EINVAL, "gmfn_foreign: target and foreign "
				"domain are both %s", t->name);
	/* xsm_map_gmfn_foreign(XSM_TARGET, tdom, fdom), dummy policy: the
	 * receiving domain must be the control domain (or fdom's device
	 * model, not modelled). */
	if (!t->is_dom0)
		return xgm_fail(-EPERM, "gmfn_foreign: only the control domain "
				"may map foreign pages into its own physmap, "
				"not into %s (unsupported direction)", t->name);
	/* get_page_from_gfn(fdom, fgfn): the page must be RAM. */
	if (sim_dom_translated(f)) {
		if (!sim_p2m_lookup(f->p2m, foreign_gpfn, &fe, &o) ||
		    !sim_p2m_type_is_ram(fe.type) || fe.type == XGM_P2M_RAM_SHARED)
			return xgm_fail(-EINVAL, "gmfn_foreign: gfn %#llx of %s "
					"is not RAM",
					(unsigned long long)foreign_gpfn,
					f->name);
		mfn = leaf_mfn_at(&fe, foreign_gpfn);
	} else {
		/* Not translated: the "gfn" is an mfn the domain owns. */
		mfn = foreign_gpfn;
		if (!sim_mem_owned_by(m, mfn, 1, f->domid))
			return xgm_fail(-EINVAL, "gmfn_foreign: mfn %#llx is "
					"not a page of %s",
					(unsigned long long)mfn, f->name);
	}
	sim_dp2m_lock(m, t);
	present = sim_p2m_lookup(t->p2m, gfn, &old, &o);
	/* p2m_add_foreign() first removes what a valid previous mfn maps
	 * (guest_remove_page()); only a previous mfn that is not RAM (a BAR)
	 * reaches set_foreign_p2m_entry(), whose special-entry rule crashes
	 * the target. */
	if (present && sim_p2m_type_is_special(old.type) &&
	    !sim_mem_is_ram(m, leaf_mfn_at(&old, gfn))) {
		sim_dp2m_unlock(m, t);
		sim_dom_crash(t, "gfn %#llx (%s) replaced by map_foreign",
			  (unsigned long long)gfn, sim_p2m_type_name(old.type));
		return xgm_fail(-EPERM, "domain %s crashed: its %s entry at gfn "
				"%#llx cannot be replaced by map_foreign "
				"(set_typed_p2m_entry)", t->name,
				sim_p2m_type_name(old.type),
				(unsigned long long)gfn);
	}
	if (present && old.type == XGM_P2M_MMIO_DIRECT) {
		/* guest_remove_page() refuses to free MMIO. */
		sim_dp2m_unlock(m, t);
		return xgm_fail(-EPERM, "gmfn_foreign: gfn %#llx of %s holds "
				"mmio_direct", (unsigned long long)gfn, t->name);
	}
	if (present && sim_p2m_type_is_special(old.type)) {
		/* A foreign or grant page belongs to another domain:
		 * guest_remove_page()'s get_page(page, d) fails. The same
		 * mapping again fails alike. */
		sim_dp2m_unlock(m, t);
		return xgm_fail(-ENXIO, "gmfn_foreign: gfn %#llx of %s holds a "
				"%s page of another domain, which "
				"guest_remove_page() cannot free; remove it "
				"first", (unsigned long long)gfn, t->name,
				sim_p2m_type_name(old.type));
	}
	if (present && sim_p2m_type_is_ram(old.type)) {
		/* "Normal domain memory is freed, to avoid leaking memory." */
		uint64_t omfn = leaf_mfn_at(&old, gfn);

		ret = sim_dp2m_set(m, t, gfn, P2M_ORDER_4K, NULL);
		if (!ret)
			ret = sim_mem_set_owner(m, omfn, 1, SIM_OWNER_FREE, 0);
		if (ret) {
			sim_dp2m_unlock(m, t);
			return ret;
		}
		t->tot_pages--;
	}
	e = sim_dp2m_entry(m, mfn, XGM_P2M_MAP_FOREIGN);
	ret = sim_mem_get_ref(m, mfn); /* p2m_entry_modify(): get_page() */
	if (!ret)
		ret = sim_dp2m_set(m, t, gfn, P2M_ORDER_4K, &e);
	sim_dp2m_unlock(m, t);
	return ret;
}

int sim_hc_remove_from_physmap(struct sim_model *m, uint32_t domid, uint64_t gfn)
{
	struct xgm_p2m_entry old;
	struct sim_domain *d;
	unsigned int o;
	bool present;
	int ret = sim_dom_find(m, domid, &d);

	if (ret)
		return ret;
	d->ctr.hypercalls++;
	if (!sim_dom_translated(d))
		return xgm_fail(-EACCES, "remove_from_physmap: %s is PV",
				d->name);
	sim_dp2m_lock(m, d);
	present = sim_p2m_lookup(d->p2m, gfn, &old, &o);
	if (!present ||
	    (!sim_p2m_type_is_ram(old.type) && old.type != XGM_P2M_MAP_FOREIGN)) {
		sim_dp2m_unlock(m, d);
		if (present && (old.type == XGM_P2M_GRANT_MAP_RW ||
				old.type == XGM_P2M_GRANT_MAP_RO))
			return xgm_fail(-EPERM, "remove_from_physmap: gfn %#llx "
					"of %s is a grant mapping (unmap the "
					"grant)", (unsigned long long)gfn,
					d->name);
		/* get_page_from_gfn() gives no page: -ENOENT. */
		return xgm_fail(-ENOENT, "remove_from_physmap: gfn %#llx of %s "
				"holds no RAM or foreign page",
				(unsigned long long)gfn, d->name);
	}
	ret = sim_dp2m_set(m, d, gfn, P2M_ORDER_4K, NULL);
	if (!ret) {
		sim_ioreq_invalidate(d, d->is_dom0);
		if (old.type == XGM_P2M_MAP_FOREIGN)
			sim_mem_put_ref(m, leaf_mfn_at(&old, gfn));
		else
			d->orphaned_pages++; /* unhooked, still allocated */
	}
	sim_dp2m_unlock(m, d);
	return ret;
}

/*
 * acquire_resource() (common/memory.c), in its order:
 *  - arch_acquire_resource_check() on the caller: in 4.17 a translated
 *    caller must be the hardware domain, as the frames go into its p2m as
 *    foreign entries that are not reference-counted safely elsewhere
 *    (EACCES): a PVH driver or device-model domain cannot map an ioreq
 *    server's pages. Master (845a60b63b) refuses only callers with altp2m
 *    or nested HVM, which the sim does not model.
 *  - rcu_lock_remote_domain_by_id(): not the caller itself (EPERM);
 *  - xsm_domain_resource_map(XSM_DM_PRIV): the control domain, or the
 *    target's device model (set_target, not modelled): EPERM otherwise;
 *  - ioreq_server_max_frames(): an HVM-container target (PVH or HVM) has
 *    one bufioreq frame and one frame per 128 vCPUs' ioreq slots; a PV
 *    target has none (EINVAL).
 */
int sim_hc_acquire_resource_size(struct sim_model *m, uint32_t caller,
				 uint32_t target, uint64_t *nr_frames)
{
	struct sim_domain *c, *t;
	int ret = sim_dom_find(m, caller, &c);

	if (ret)
		return ret;
	c->ctr.hypercalls++;
	if (sim_dom_translated(c) && !c->is_dom0 &&
	    m->xen_version < SIM_XEN_MASTER)
		return xgm_fail(-EACCES, "acquire_resource: %s is translated "
				"and not the hardware domain; Xen 4.17 maps "
				"resources only into the hardware domain or a "
				"PV domain", c->name);
	ret = sim_dom_find(m, target, &t);
	if (ret)
		return ret;
	if (t == c)
		return xgm_fail(-EPERM, "acquire_resource: %s cannot name "
				"itself as the resource's owner", c->name);
	if (!c->is_dom0)
		return xgm_fail(-EPERM, "acquire_resource: %s is neither the "
				"control domain nor %s's device model",
				c->name, t->name);
	if (!sim_dom_translated(t))
		return xgm_fail(-EINVAL, "acquire_resource: %s is PV: it has "
				"no ioreq server pages", t->name);
	/* sizeof(struct ioreq) is 32 bytes: 128 vCPUs' slots a page. */
	*nr_frames = 1 + (t->vcpus * 32ull + 4095) / 4096;
	return 0;
}
