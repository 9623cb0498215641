// SPDX-License-Identifier: LGPL-2.1-only
/*
 * An ioreq server over a guest-physical window and guest accesses to it,
 * as measured on real Xen 4.17 (notes/xen-ioreq.md): Xen consults the
 * ioreq range only where nothing is mapped, so a mapped chunk takes
 * precedence; an access to an unmapped gfn in the range becomes ioreqs
 * the server answers from the real buffer (the faulting access is
 * completed with the server's answer, not re-executed), and the server
 * may map the chunk while the vCPU waits. With no server claiming the
 * gfn, Xen's null handler reads all-ones and drops writes.
 */
#include <errno.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

int sim_ioreq_map_range(struct sim_model *m, uint32_t domid, uint64_t first,
		    uint64_t last, bool map)
{
	struct sim_domain *d;
	int ret = sim_dom_find(m, domid, &d);

	if (ret)
		return ret;
	d->ctr.hypercalls++;
	if (!sim_dom_translated(d))
		return xgm_fail(-EOPNOTSUPP, "%s is PV: ioreq servers need an "
				"HVM or PVH guest", d->name);
	if (last < first || last >> P2M_GFN_BITS)
		return xgm_fail(-EINVAL, "bad ioreq range %#llx-%#llx",
				(unsigned long long)first,
				(unsigned long long)last);
	return map ? sim_rs_add(&d->ioreq, first, last) :
		     sim_rs_remove(&d->ioreq, first, last);
}

/*
 * ioreq_request_mapcache_invalidate() (p2m_remove_entry(), and
 * set_typed_p2m_entry() over RAM): a vCPU of the domain flagged so sends a
 * synchronous IOREQ_TYPE_INVALIDATE to every ioreq server of the domain at
 * its next exit. The domain's own hypercall flags its current vCPU; a
 * change made by another domain (dom0) flags every vCPU. The sim knows one
 * server: xgpumap's, while it claims a range.
 */
void sim_ioreq_invalidate(struct sim_domain *d, bool by_itself)
{
	uint64_t servers = d->ioreq.nr ? 1 : 0;

	d->ctr.ioreqs += servers * (by_itself ? 1 : d->vcpus);
}

/* The table of notes/xen-ioreq.md, "What one guest access costs". */
unsigned int sim_ioreq_cost(enum xgm_guest_access kind, uint64_t gpa,
			uint64_t count)
{
	switch (kind) {
	case XGM_GA_SCALAR:
		return 1;
	case XGM_GA_SCALAR_CROSS_PAGE:
		return 2; /* 4 + 4 bytes */
	case XGM_GA_MOVDQU:
		return 2; /* 8 + 8 */
	case XGM_GA_REP_MOVSQ: {
		/* One rep ioreq, split at each page boundary crossed. */
		uint64_t bytes = (count ? count : 1) * 8;
		uint64_t first = gpa >> 12, last = (gpa + bytes - 1) >> 12;

		return (unsigned int)(last - first + 1);
	}
	case XGM_GA_MEMCPY_4K:
		return 2; /* two rep ioreqs with data_is_ptr=1 */
	}
	return 1;
}

/* A buffer page that was never written has no content the model knows
 * (-ENODATA); a frame no buffer holds is the domain's own RAM (0). */
static int frame_read(const struct sim_model *m, uint64_t mfn, uint64_t *tag)
{
	int ret = sim_gpu_frame_tag(m, mfn, tag);

	return ret == -ENOENT ? 0 : ret;
}

int sim_guest_access(struct sim_model *m, uint32_t domid, uint64_t gfn,
		 enum xgm_guest_access kind, bool write, uint64_t *tag)
{
	struct xgm_p2m_entry e;
	struct sim_domain *d;
	unsigned int o;
	uint64_t dummy = 0;
	int ret = sim_dom_find(m, domid, &d);

	if (ret)
		return ret;
	if (!tag)
		tag = &dummy;
	if (d->state == XGM_DOM_CRASHED)
		return xgm_fail(-ESHUTDOWN, "domain %s has crashed (%s)",
				d->name, d->crash_reason);
	if (!sim_dom_translated(d)) {
		uint64_t mfn = sim_pv_pfn_to_mfn(&d->pv, gfn);

		if (mfn == SIM_INVALID_MFN)
			return xgm_fail(-EFAULT, "pfn %#llx of %s is not "
					"backed", (unsigned long long)gfn,
					d->name);
		return frame_read(m, mfn, tag);
	}
	if (sim_p2m_lookup(d->p2m, gfn, &e, &o))
		/* Mapped: the access goes straight to the frame. */
		return frame_read(m, e.mfn + (gfn - e.gfn), tag);
	if (!sim_rs_contains(&d->ioreq, gfn, gfn)) {
		/* hvm_process_io_intercept(&null_handler): reads ~0. */
		if (!write)
			*tag = UINT64_MAX;
		return 0;
	}
	d->ctr.ioreqs += sim_ioreq_cost(kind, gfn << 12, 64);
	if (!m->ioreq_fn)
		return xgm_fail(-EHOSTDOWN, "gfn %#llx of %s is in an ioreq "
				"range but no server is running; the vCPU "
				"would wait forever", (unsigned long long)gfn,
				d->name);
	return m->ioreq_fn(domid, gfn, write, tag, m->ioreq_arg);
}
