// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Hypervisor extensions the seed thread proposed. NOT IN STOCK XEN: no
 * upstream patch implements them (notes/xen-facts.md section 4); the sim
 * models what they would have to do so that their cost can be compared.
 *
 * ram-mmio: "XEN_DOMCTL_memory_mapping for system RAM ... guaranteed to be
 *   able to be successfully revoked" -- dom0 RAM frames become kind-of-MMIO
 *   (mmio_direct, UC) in the guest, each holding a page reference so the
 *   frame cannot be freed under the guest. On a PVH dom0 the frame's own
 *   dom0 entry is retyped too (Jan Beulich: "converting the memory to
 *   kind-of-MMIO"), which shatters dom0's superpages (Roger Pau Monne's
 *   objection): that cost lands on dom0's counters.
 * transfer: ownership of the pages moves to the guest (grant-transfer
 *   like); the guest needs balloon headroom (max_mem - mem).
 * Both batch at most 64 frames a call, like memory_mapping, and return the
 * number of frames done.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

#define EXT_MAX_BATCH 64

static const char *const ext_names[] = { "ram-mmio", "transfer" };

const char *sim_ext_name(unsigned int bit)
{
	for (unsigned int i = 0; i < 2; i++)
		if (bit == 1u << i)
			return ext_names[i];
	return "unknown";
}

int sim_ext_parse(const char *name, unsigned int *bit)
{
	for (unsigned int i = 0; i < 2; i++) {
		if (name && !strcmp(name, ext_names[i])) {
			*bit = 1u << i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The host is stock Xen unless it was created with the extension. */
static int need_ext(const struct sim_model *m, unsigned int bit)
{
	if (m->extensions & bit)
		return 0;
	return xgm_fail_remedy(-EOPNOTSUPP, XGM_REMEDY_SIM_EXTENSION,
			       sim_ext_name(bit), "this simulated host is stock "
			       "Xen: it has no %s extension", sim_ext_name(bit));
}

struct find_gfn {
	uint64_t mfn, gfn;
	bool found;
};

static int find_gfn_cb(const struct xgm_p2m_entry *e, uint64_t count,
		       void *arg)
{
	struct find_gfn *f = arg;

	if (sim_p2m_type_is_ram(e->type) && f->mfn >= e->mfn &&
	    f->mfn < e->mfn + (count << e->order)) {
		f->gfn = e->gfn + (f->mfn - e->mfn);
		f->found = true;
		return 1;
	}
	return 0;
}

/* Where dom0 sees mfn. The GPU buffers' records say it directly (their
 * dom0 pfns beside their mfns); only a frame no buffer holds needs a walk
 * of a PVH dom0's p2m. (A PV dom0's scattered list is never searched
 * frame by frame.) */
static int dom0_pfn_of(const struct sim_model *m, const struct sim_domain *d0,
		       uint64_t mfn, uint64_t *pfn)
{
	uint64_t want;
	const struct sim_buffer *b = sim_gpu_sys_page_of(m, mfn, &want);

	for (size_t k = 0; b && k < b->nr_pfns; k++) {
		if (want < b->pfns[k].count) {
			*pfn = b->pfns[k].mfn + want;
			return 0;
		}
		want -= b->pfns[k].count;
	}
	if (d0->p2m) {
		struct find_gfn f = { .mfn = mfn };

		sim_p2m_walk_runs(d0->p2m, 0, UINT64_MAX, find_gfn_cb, &f);
		*pfn = f.gfn;
		return f.found ? 0 : -ENOENT;
	}
	return -ENOENT;
}

static int check_guest(struct sim_model *m, uint32_t domid,
		       struct sim_domain **d, struct sim_domain **d0)
{
	int ret = sim_dom_find(m, domid, d);

	if (ret)
		return ret;
	*d0 = sim_model_dom0(m);
	if (!*d0 || *d == *d0)
		return xgm_fail(-EINVAL, "the target must be a guest, not dom0");
	if (!sim_dom_translated(*d))
		return xgm_fail(-EOPNOTSUPP, "%s is PV: the extension works on a "
				"translated guest's p2m", (*d)->name);
	(*d)->ctr.hypercalls++;
	return 0;
}

/* Guest side of a new entry: the set_typed_p2m_entry() rule applies. */
static int guest_set(struct sim_model *m, struct sim_domain *d, uint64_t gfn,
		     const struct xgm_p2m_entry *e)
{
	struct xgm_p2m_entry old;
	unsigned int o;

	if (sim_p2m_lookup(d->p2m, gfn, &old, &o)) {
		if (sim_p2m_type_is_special(old.type)) {
			sim_dom_crash(d, "gfn %#llx (%s) replaced",
				  (unsigned long long)gfn,
				  sim_p2m_type_name(old.type));
			return xgm_fail(-EPERM, "domain %s crashed: its %s entry "
					"at gfn %#llx cannot be replaced",
					d->name, sim_p2m_type_name(old.type),
					(unsigned long long)gfn);
		}
		if (sim_p2m_type_is_ram(old.type))
			d->orphaned_pages++;
	}
	return sim_dp2m_set(m, d, gfn, P2M_ORDER_4K, e);
}

int sim_ext_ram_mmio_map(struct sim_model *m, uint32_t domid, uint64_t gfn,
		     uint64_t mfn, uint64_t nr)
{
	struct sim_domain *d, *d0;
	uint64_t i;
	int ret = need_ext(m, XGM_EXT_RAM_MMIO) ?:
		  check_guest(m, domid, &d, &d0);

	if (ret)
		return ret;
	if (!nr)
		return xgm_fail(-EINVAL, "ram-mmio: empty range");
	if (nr > EXT_MAX_BATCH)
		nr = EXT_MAX_BATCH;
	if (!sim_mem_owned_by(m, mfn, nr, d0->domid))
		return xgm_fail(-EINVAL, "ram-mmio: mfn %#llx-%#llx is not all "
				"dom0 RAM", (unsigned long long)mfn,
				(unsigned long long)(mfn + nr - 1));
	sim_dp2m_lock(m, d);
	if (d0->p2m)
		sim_dp2m_lock(m, d0);
	for (i = 0; i < nr && !ret; i++) {
		struct xgm_p2m_entry e = sim_dp2m_entry(m, mfn + i,
						    XGM_P2M_MMIO_DIRECT);
		uint64_t r[SIM_RUN_VALS] = { [SIM_RMM_MFN] = mfn + i,
					     [SIM_RMM_DOM0] = SIM_RUN_NONE };

		if (d0->p2m) {
			ret = dom0_pfn_of(m, d0, mfn + i, &r[SIM_RMM_DOM0]);
			if (ret) {
				ret = xgm_fail(-EINVAL, "ram-mmio: mfn %#llx is "
					       "not in dom0's p2m",
					       (unsigned long long)(mfn + i));
				break;
			}
		}
		ret = guest_set(m, d, gfn + i, &e);
		if (ret)
			break;
		ret = sim_mem_get_ref(m, mfn + i);
		/* Retype dom0's own entry: shatters its superpage. */
		if (!ret && d0->p2m)
			ret = sim_dp2m_set(m, d0, r[SIM_RMM_DOM0], P2M_ORDER_4K,
					   &e);
		if (!ret) {
			d->rmm.step = SIM_RMM_STEP;
			ret = sim_runs_set(&d->rmm, gfn + i, 1, r);
		}
	}
	if (d0->p2m)
		sim_dp2m_unlock(m, d0);
	sim_dp2m_unlock(m, d);
	return i ? (int)i : ret;
}

int sim_ext_ram_mmio_unmap(struct sim_model *m, uint32_t domid, uint64_t gfn,
		       uint64_t nr)
{
	struct sim_domain *d, *d0;
	int ret = need_ext(m, XGM_EXT_RAM_MMIO) ?:
		  check_guest(m, domid, &d, &d0), done = 0;

	if (ret)
		return ret;
	sim_dp2m_lock(m, d);
	if (d0->p2m)
		sim_dp2m_lock(m, d0);
	/* Guaranteed revocation: every recorded frame comes back, found run
	 * by run and dropped from its run once it is back. */
	for (uint64_t g = gfn; !ret && g < gfn + nr; g++) {
		const struct sim_run *r = sim_runs_lower(&d->rmm, g);
		uint64_t mfn, dom0_gfn;

		if (!r || r->first >= gfn + nr)
			break;
		if (r->first > g)
			g = r->first;
		mfn = sim_run_val(&d->rmm, r, SIM_RMM_MFN, g - r->first);
		dom0_gfn = sim_run_val(&d->rmm, r, SIM_RMM_DOM0, g - r->first);
		ret = sim_dp2m_set(m, d, g, P2M_ORDER_4K, NULL);
		if (!ret && d0->p2m && dom0_gfn != SIM_RUN_NONE) {
			struct xgm_p2m_entry e = sim_dp2m_entry(m, mfn,
							    XGM_P2M_RAM_RW);

			ret = sim_dp2m_set(m, d0, dom0_gfn, P2M_ORDER_4K, &e);
		}
		if (!ret)
			ret = sim_runs_set(&d->rmm, g, 1, NULL);
		if (ret)
			break;
		sim_mem_put_ref(m, mfn);
		done++;
	}
	if (d0->p2m)
		sim_dp2m_unlock(m, d0);
	sim_dp2m_unlock(m, d);
	return ret ? ret : done;
}

static int push_xfer(struct sim_domain *d, struct sim_transfer x)
{
	if (d->nr_xfers) {
		struct sim_transfer *l = &d->xfers[d->nr_xfers - 1];

		if (l->gfn + l->count == x.gfn && l->mfn + l->count == x.mfn &&
		    l->dom0_pfn + l->count == x.dom0_pfn) {
			l->count++;
			return 0;
		}
	}
	if (xgm_array_room(&d->xfers, d->nr_xfers, &d->cap_xfers, sizeof(*d->xfers), 16))
		return -ENOMEM;
	d->xfers[d->nr_xfers++] = x;
	return 0;
}

int sim_ext_transfer(struct sim_model *m, uint32_t domid, uint64_t gfn,
		 uint64_t mfn, uint64_t nr)
{
	struct sim_domain *d, *d0;
	uint64_t i;
	int ret = need_ext(m, XGM_EXT_TRANSFER) ?:
		  check_guest(m, domid, &d, &d0);

	if (ret)
		return ret;
	if (!nr)
		return xgm_fail(-EINVAL, "transfer: empty range");
	if (nr > EXT_MAX_BATCH)
		nr = EXT_MAX_BATCH;
	if (d->tot_pages + nr > d->max_pages)
		return xgm_fail(-ENOSPC, "transfer: %s has balloon headroom for "
				"%llu pages, %llu needed (max_mem - mem)",
				d->name,
				(unsigned long long)(d->max_pages - d->tot_pages),
				(unsigned long long)nr);
	if (!sim_mem_owned_by(m, mfn, nr, d0->domid))
		return xgm_fail(-EINVAL, "transfer: mfn %#llx-%#llx is not all "
				"dom0 RAM", (unsigned long long)mfn,
				(unsigned long long)(mfn + nr - 1));
	for (i = 0; i < nr; i++)
		if (sim_mem_refs(m, mfn + i))
			return xgm_fail(-EBUSY, "transfer: mfn %#llx is still "
					"referenced by a mapping",
					(unsigned long long)(mfn + i));
	sim_dp2m_lock(m, d);
	if (d0->p2m)
		sim_dp2m_lock(m, d0);
	for (i = 0; i < nr && !ret; i++) {
		struct xgm_p2m_entry e = sim_dp2m_entry(m, mfn + i, XGM_P2M_RAM_RW);
		struct sim_transfer x = { gfn + i, mfn + i, 0, 1 };

		ret = dom0_pfn_of(m, d0, mfn + i, &x.dom0_pfn);
		if (ret) {
			ret = xgm_fail(-EINVAL, "transfer: dom0 does not map "
				       "mfn %#llx", (unsigned long long)(mfn + i));
			break;
		}
		ret = guest_set(m, d, gfn + i, &e);
		if (ret)
			break;
		/* dom0 gives the page up: out of its p2m or pfn list. */
		if (d0->p2m) {
			ret = sim_dp2m_set(m, d0, x.dom0_pfn, P2M_ORDER_4K, NULL);
		} else {
			d0->frames_changed = true;
			ret = sim_map_set(&d0->pv.overrides, x.dom0_pfn,
				      SIM_INVALID_MFN);
		}
		if (!ret)
			ret = sim_mem_set_owner(m, mfn + i, 1, d->domid, 0);
		if (!ret)
			ret = push_xfer(d, x);
		if (ret)
			break;
		d->tot_pages++;
		d0->tot_pages--;
	}
	if (d0->p2m)
		sim_dp2m_unlock(m, d0);
	sim_dp2m_unlock(m, d);
	return i ? (int)i : ret;
}

int sim_ext_transfer_back(struct sim_model *m, uint32_t domid, uint64_t gfn,
		      uint64_t nr)
{
	struct sim_domain *d, *d0;
	int ret = need_ext(m, XGM_EXT_TRANSFER) ?:
		  check_guest(m, domid, &d, &d0), done = 0;

	if (ret)
		return ret;
	sim_dp2m_lock(m, d);
	if (d0->p2m)
		sim_dp2m_lock(m, d0);
	for (size_t i = 0; i < d->nr_xfers && !ret;) {
		struct sim_transfer *x = &d->xfers[i];
		uint64_t k;

		if (x->gfn + x->count <= gfn || x->gfn >= gfn + nr) {
			i++;
			continue;
		}
		/* Give back the part inside [gfn, gfn+nr); keep the rest. */
		for (k = 0; k < x->count && !ret; k++) {
			uint64_t g = x->gfn + k;

			if (g < gfn || g >= gfn + nr)
				continue;
			ret = sim_dp2m_set(m, d, g, P2M_ORDER_4K, NULL);
			if (!ret && d0->p2m) {
				struct xgm_p2m_entry e = sim_dp2m_entry(
					m, x->mfn + k, XGM_P2M_RAM_RW);

				ret = sim_dp2m_set(m, d0, x->dom0_pfn + k,
					       P2M_ORDER_4K, &e);
			} else if (!ret) {
				sim_map_del(&d0->pv.overrides, x->dom0_pfn + k);
				d0->frames_changed = true;
			}
			if (!ret)
				ret = sim_mem_set_owner(m, x->mfn + k, 1, d0->domid, 0);
			if (!ret) {
				d->tot_pages--;
				d0->tot_pages++;
				done++;
			}
		}
		if (ret)
			break;
		if (x->gfn >= gfn && x->gfn + x->count <= gfn + nr) {
			d->xfers[i] = d->xfers[--d->nr_xfers];
		} else if (x->gfn < gfn && x->gfn + x->count > gfn + nr) {
			/* Middle given back: split the record. */
			struct sim_transfer tail = {
				gfn + nr, x->mfn + (gfn + nr - x->gfn),
				x->dom0_pfn + (gfn + nr - x->gfn),
				x->gfn + x->count - (gfn + nr),
			};

			x->count = gfn - x->gfn;
			ret = push_xfer(d, tail);
			i++;
		} else if (x->gfn < gfn) {
			x->count = gfn - x->gfn;
			i++;
		} else {
			uint64_t cut = gfn + nr - x->gfn;

			x->gfn += cut;
			x->mfn += cut;
			x->dom0_pfn += cut;
			x->count -= cut;
			i++;
		}
	}
	if (d0->p2m)
		sim_dp2m_unlock(m, d0);
	sim_dp2m_unlock(m, d);
	return ret ? ret : done;
}
