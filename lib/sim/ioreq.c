// SPDX-License-Identifier: LGPL-2.1-only
/*
 * An ioreq server over a guest-physical window and guest accesses to it,
 * as measured on real Xen 4.17 (notes/xen-ioreq.md): Xen consults the
 * ioreq range only where nothing is mapped, so a mapped chunk takes
 * precedence; an access to an unmapped gfn in the range becomes ioreqs
 * the server answers from the real buffer (the faulting access is
 * completed with the server's answer, not re-executed), and the server
 * may map the chunk while the vCPU waits. With no server claiming the
 * gfn, Xen's null handler reads all-ones and drops writes. An emulated
 * access is routed by address, so a `rep movs` between a mapped and an
 * unmapped chunk reaches the server for both sides, one element at a time
 * (sim_guest_rep_movs()).
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
		/* One rep ioreq, split at each page boundary crossed, when
		 * the other side is the guest's RAM; between two chunks of
		 * the window see sim_guest_rep_movs(). */
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

bool sim_ioreq_reaches_server(const struct sim_model *m, uint32_t domid,
			      uint64_t gfn)
{
	struct xgm_p2m_entry e;
	struct sim_domain *d;
	unsigned int o;

	return !sim_dom_find(m, domid, &d) && sim_dom_translated(d) &&
	       sim_rs_contains(&d->ioreq, gfn, gfn) &&
	       !sim_p2m_lookup(d->p2m, gfn, &e, &o);
}

/* An access in an ioreq range with no server process to answer it. */
static int no_server(const struct sim_domain *d, uint64_t gfn)
{
	return xgm_fail(-EHOSTDOWN, "gfn %#llx of %s is in an ioreq range but "
			"no server is running; the vCPU would wait forever",
			(unsigned long long)gfn, d->name);
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
		return no_server(d, gfn);
	return m->ioreq_fn(domid, gfn, write, tag, m->ioreq_arg);
}

/* How an emulated `rep movs` treats one side (hvmemul_rep_movs() asks
 * get_gfn_query() for each side's type; a hole reads p2m_mmio_dm). */
enum movs_side {
	SIDE_MAPPED, /* RAM, grant, foreign: copied by hvm_copy */
	SIDE_DIRECT, /* mmio_direct: native, but emulated as MMIO */
	SIDE_DM,     /* nothing mapped: the access exits */
};

static enum movs_side movs_side(const struct sim_domain *d, uint64_t gpa)
{
	struct xgm_p2m_entry e;
	unsigned int o;

	if (!sim_p2m_lookup(d->p2m, gpa >> 12, &e, &o))
		return SIDE_DM;
	return e.type == XGM_P2M_MMIO_DIRECT ? SIDE_DIRECT : SIDE_MAPPED;
}

/* Elements left before gpa's page ends. */
static uint64_t to_page_end(uint64_t gpa, unsigned int size)
{
	return (4096 - (gpa & 4095)) / size;
}

/*
 * One emulated MMIO access at gpa (hvmemul_do_io()): the server whose
 * range holds the address gets an ioreq, mapped gfn or not (a
 * get_page_from_gfn() of mmio_direct gives no page, so hvm_copy fails
 * over to the MMIO path); with no server, Xen's null handler absorbs it.
 */
static int movs_mmio(struct sim_model *m, struct sim_domain *d, uint64_t gpa,
		     bool write, struct sim_movs_cost *cost)
{
	uint64_t gfn = gpa >> 12, tag = 0;

	if (!sim_rs_contains(&d->ioreq, gfn, gfn))
		return 0;
	d->ctr.ioreqs++;
	cost->ioreqs++;
	if (movs_side(d, gpa) != SIDE_DM)
		cost->mapped_ioreqs++;
	if (!m->ioreq_fn)
		return no_server(d, gfn);
	return m->ioreq_fn(d->domid, gfn, write, &tag, m->ioreq_arg);
}

/* One exit's worth of a rep movs: returns elements done or -errno. */
static int64_t movs_emulate(struct sim_model *m, struct sim_domain *d,
			    uint64_t dst, uint64_t src, uint64_t reps,
			    unsigned int size, struct sim_movs_cost *cost)
{
	enum movs_side s = movs_side(d, src), t = movs_side(d, dst);
	uint64_t n;
	int ret = 0;

	cost->exits++;
	if (s == SIDE_DIRECT || t == SIDE_DIRECT ||
	    (s == SIDE_DM && t == SIDE_DM)) {
		/* X86EMUL_UNHANDLEABLE: x86_emulate reads one element and
		 * writes it, each side that is not RAM as MMIO; the guest
		 * then re-executes the instruction for the rest. */
		if (s != SIDE_MAPPED)
			ret = movs_mmio(m, d, src, false, cost);
		if (!ret && t != SIDE_MAPPED)
			ret = movs_mmio(m, d, dst, true, cost);
		return ret ? ret : 1;
	}
	/* One rep ioreq naming the RAM side's address (data_is_ptr),
	 * truncated at the RAM side's page (hvmemul_do_io_addr()) and at
	 * the MMIO side's (hvmemul_do_io()). */
	n = reps;
	if (n > to_page_end(src, size))
		n = to_page_end(src, size);
	if (n > to_page_end(dst, size))
		n = to_page_end(dst, size);
	ret = movs_mmio(m, d, s == SIDE_DM ? src : dst, s != SIDE_DM, cost);
	return ret ? ret : (int64_t)n;
}

int sim_guest_rep_movs(struct sim_model *m, uint32_t domid, uint64_t dst_gpa,
		       uint64_t src_gpa, uint64_t reps, unsigned int size,
		       struct sim_movs_cost *cost)
{
	struct sim_movs_cost dummy;
	struct sim_domain *d;
	int ret = sim_dom_find(m, domid, &d);

	if (ret)
		return ret;
	if (!cost)
		cost = &dummy;
	*cost = (struct sim_movs_cost){ 0 };
	if (!sim_dom_translated(d))
		return xgm_fail(-EOPNOTSUPP, "%s is PV: nothing is emulated",
				d->name);
	if (d->state == XGM_DOM_CRASHED)
		return xgm_fail(-ESHUTDOWN, "domain %s has crashed (%s)",
				d->name, d->crash_reason);
	if ((size != 1 && size != 2 && size != 4 && size != 8) ||
	    ((dst_gpa | src_gpa) & (size - 1)) ||
	    ((dst_gpa | src_gpa) >> (P2M_GFN_BITS + 12)) ||
	    reps > (1ull << 32))
		return xgm_fail(-EINVAL, "rep movs: %u-byte elements need "
				"aligned guest-physical addresses and at most "
				"2^32 of them", size);
	while (reps) {
		uint64_t n;

		if (movs_side(d, src_gpa) != SIDE_DM &&
		    movs_side(d, dst_gpa) != SIDE_DM) {
			/* Both mapped: the CPU copies, up to a page end. */
			n = to_page_end(src_gpa, size);
			if (n > to_page_end(dst_gpa, size))
				n = to_page_end(dst_gpa, size);
			if (n > reps)
				n = reps;
		} else {
			int64_t r = movs_emulate(m, d, dst_gpa, src_gpa, reps,
						 size, cost);

			if (r < 0)
				return (int)r;
			n = (uint64_t)r;
		}
		reps -= n;
		src_gpa += n * size;
		dst_gpa += n * size;
	}
	return 0;
}
