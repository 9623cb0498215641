// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Domains: lookup, building their RAM, the PV pfn -> mfn list, crashing.
 *
 * Guest-physical layout of a translated domain: RAM from gfn 0 up to the
 * start of the MMIO hole below 4 GiB, the rest relocated above 4 GiB
 * (hvmloader's HVM_BELOW_4G_RAM_END = 0xF0000000 for guests; dom0 follows
 * the host's E820, whose hole here starts at 3 GiB). RAM is backed by the
 * largest superpage that gfn, mfn and the remaining length allow, as
 * Xen's domain builders populate it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

#define GUEST_LOW_RAM_END 0xF0000ull /* gfn: 3.75 GiB */
#define DOM0_LOW_RAM_END  0xC0000ull /* gfn: 3 GiB, the host's hole */
#define GFN_4G            0x100000ull

bool sim_dom_translated(const struct sim_domain *d)
{
	return d->type != XGM_DOM_PV;
}

static struct sim_domain *loaded(const struct sim_model *m, uint32_t domid)
{
	for (size_t i = 0; i < m->nr_doms; i++)
		if (m->doms[i]->domid == domid)
			return m->doms[i];
	return NULL;
}

static bool in_source(const struct sim_model *m, uint32_t domid)
{
	for (size_t i = 0; m->src && i < m->src->nr; i++)
		if (m->src->index[i].domid == domid)
			return true;
	return false;
}

/* A failed load is kept in src->err: the caller sees "no such domain",
 * the operation fails with the load's own error (sim/backend.c). */
static struct sim_domain *load(const struct sim_model *m, uint32_t domid)
{
	struct sim_model *mm = (struct sim_model *)m;
	int ret;

	if (m->src->err)
		return NULL;
	ret = m->src->load(m->src->arg, mm, domid);
	if (ret) {
		m->src->err = ret;
		return NULL;
	}
	return loaded(m, domid);
}

struct sim_domain *sim_dom_get(const struct sim_model *m, uint32_t domid)
{
	struct sim_domain *d = loaded(m, domid);

	if (d || !in_source(m, domid))
		return d;
	return load(m, domid);
}

struct sim_domain *sim_dom_in_memory(const struct sim_model *m, uint32_t domid,
				     const char *name)
{
	for (size_t i = 0; i < m->nr_doms; i++)
		if (m->doms[i]->domid == domid || !strcmp(m->doms[i]->name, name))
			return m->doms[i];
	return NULL;
}

bool sim_dom_known(const struct sim_model *m, uint32_t domid)
{
	return loaded(m, domid) || in_source(m, domid);
}

static int by_domid(const void *a, const void *b)
{
	const struct sim_domain *x = *(struct sim_domain *const *)a;
	const struct sim_domain *y = *(struct sim_domain *const *)b;

	return (x->domid > y->domid) - (x->domid < y->domid);
}

/* Walks see the domains in domid order, however they were loaded. */
int sim_dom_load_all(const struct sim_model *m)
{
	if (!m->src || m->nr_doms == m->src->nr)
		return 0;
	for (size_t i = 0; i < m->src->nr; i++)
		if (!sim_dom_get(m, m->src->index[i].domid))
			return m->src->err ? m->src->err : -ESRCH;
	qsort(m->doms, m->nr_doms, sizeof(*m->doms), by_domid);
	return 0;
}

int sim_dom_find(const struct sim_model *m, uint32_t domid,
	     struct sim_domain **out)
{
	*out = sim_dom_get(m, domid);
	if (!*out)
		return xgm_fail(-ESRCH, "no domain with id %u", domid);
	return 0;
}

struct sim_domain *sim_dom_by_name(const struct sim_model *m, const char *name)
{
	for (size_t i = 0; i < m->nr_doms; i++)
		if (!strcmp(m->doms[i]->name, name))
			return m->doms[i];
	for (size_t i = 0; m->src && i < m->src->nr; i++)
		if (!strcmp(m->src->index[i].name, name))
			return loaded(m, m->src->index[i].domid) ? NULL :
			       load(m, m->src->index[i].domid);
	return NULL;
}

int sim_dom_add(struct sim_model *m, struct sim_domain *d)
{
	if (xgm_array_room(&m->doms, m->nr_doms, &m->cap_doms, sizeof(*m->doms), 8))
		return -ENOMEM;
	m->doms[m->nr_doms++] = d;
	if (d->domid >= m->next_domid)
		m->next_domid = d->domid + 1;
	return 0;
}

void sim_dom_free(struct sim_domain *d)
{
	if (!d)
		return;
	sim_rs_free(&d->iomem);
	sim_rs_free(&d->ioreq);
	sim_rs_free(&d->gpu_pfns);
	sim_p2m_free(d->p2m);
	sim_p2m_free(d->iommu_pt);
	free(d->pv.runs);
	sim_map_free(&d->pv.overrides);
	free(d->grants);
	free(d->xfers);
	sim_runs_free(&d->rmm);
	free(d->row);
	free(d->p2m_row);
	free(d);
}

void sim_dom_crash(struct sim_domain *d, const char *fmt, ...)
{
	va_list ap;

	/* domain_crash(): the first reason is the one worth keeping. */
	if (d->state != XGM_DOM_CRASHED) {
		va_start(ap, fmt);
		vsnprintf(d->crash_reason, sizeof(d->crash_reason), fmt, ap);
		va_end(ap);
	}
	d->state = XGM_DOM_CRASHED;
}

int sim_dom_pause(struct sim_model *m, uint32_t domid, bool pause)
{
	struct sim_domain *d;
	int ret = sim_dom_find(m, domid, &d);

	if (ret)
		return ret;
	/* domain_pause_by_systemcontroller(): never the caller itself. */
	if (d->is_dom0)
		return xgm_fail(-EINVAL, "dom0 cannot pause itself");
	d->ctr.hypercalls++;
	sim_domctl_lock(m, d, SIM_DOMCTL_PAUSE);
	if (pause) {
		d->pause_count++;
		if (d->state == XGM_DOM_RUNNING)
			d->state = XGM_DOM_PAUSED;
		return 0;
	}
	if (!d->pause_count)
		return xgm_fail(-EINVAL, "domain %u is not paused", domid);
	if (!--d->pause_count && d->state == XGM_DOM_PAUSED)
		d->state = XGM_DOM_RUNNING;
	return 0;
}

uint32_t sim_dom_dirty_count(const struct sim_domain *d)
{
	return (uint32_t)(__builtin_popcountll(d->dirty_vcpus[0]) +
			  __builtin_popcountll(d->dirty_vcpus[1]));
}

void sim_dom_info(const struct sim_model *m, const struct sim_domain *d,
	      struct xgm_domain_info *out)
{
	memset(out, 0, sizeof(*out));
	out->domid = d->domid;
	snprintf(out->name, sizeof(out->name), "%s", d->name);
	out->type = d->type;
	out->state = d->state;
	out->is_dom0 = d->is_dom0;
	out->translated = sim_dom_translated(d);
	out->mem_bytes = d->tot_pages << 12;
	out->max_mem_bytes = d->max_pages << 12;
	out->vcpus = d->vcpus;
	if (d->p2m)
		out->max_gpfn = sim_p2m_max_gfn(d->p2m);
	else
		out->max_gpfn = d->pv.nr_pages ? d->pv.nr_pages - 1 : 0;
	out->iommu = sim_iommu_mode(m, d);
}

/*
 * A keyed bijection on [0, n): a 4-round Feistel network over the smallest
 * even number of bits that holds n, with cycle walking to stay below n.
 */
uint64_t sim_pv_permute(uint64_t idx, uint64_t n, uint64_t key)
{
	unsigned int bits = 2, half;
	uint64_t mask, x = idx;

	if (n <= 1)
		return idx;
	while (bits < 64 && (1ull << bits) < n)
		bits += 2;
	half = bits / 2;
	mask = (1ull << half) - 1;
	do {
		uint64_t l = x >> half, r = x & mask;

		for (unsigned int round = 0; round < 4; round++) {
			uint64_t f = sim_mix64(key ^ (r << 8) ^ round) & mask;
			uint64_t t = r;

			r = l ^ f;
			l = t;
		}
		x = (l << half) | r;
	} while (x >= n);
	return x;
}

uint64_t sim_pv_pfn_to_mfn(const struct sim_pv_p2m *pv, uint64_t pfn)
{
	uint64_t v, idx;

	if (sim_map_get(&pv->overrides, pfn, &v))
		return v;
	if (pfn >= pv->nr_pages)
		return SIM_INVALID_MFN;
	idx = pv->scattered ? sim_pv_permute(pfn, pv->nr_pages, pv->key) : pfn;
	for (size_t i = 0; i < pv->nr_runs; i++) {
		if (idx < pv->runs[i].count)
			return pv->runs[i].mfn + idx;
		idx -= pv->runs[i].count;
	}
	return SIM_INVALID_MFN;
}

/* Largest order of an entry at gfn/mfn with at most left frames. */
static unsigned int best_order(uint64_t gfn, uint64_t mfn, uint64_t left,
			       unsigned int max_order)
{
	static const unsigned int orders[] = { P2M_ORDER_1G, P2M_ORDER_2M };

	for (size_t i = 0; i < 2; i++) {
		uint64_t sz = 1ull << orders[i];

		if (orders[i] <= max_order && !((gfn | mfn) & (sz - 1)) &&
		    left >= sz)
			return orders[i];
	}
	return P2M_ORDER_4K;
}

/* Maps [gfn, gfn+count) -> [mfn, ...) with the largest entries possible;
 * building a domain is not counted as hypercall work. */
static int map_build(struct sim_model *m, struct sim_domain *d, uint64_t gfn,
		     uint64_t mfn, uint64_t count, enum xgm_p2m_type t,
		     unsigned int max_order)
{
	while (count) {
		unsigned int o = best_order(gfn, mfn, count, max_order);
		struct xgm_p2m_entry e = sim_dp2m_entry(m, mfn, t);
		int ret;

		ret = sim_p2m_insert_new(d->p2m, gfn, o, &e);
		if (ret)
			return ret;
		gfn += 1ull << o;
		mfn += 1ull << o;
		count -= 1ull << o;
	}
	return 0;
}

int sim_dom_build_ram(struct sim_model *m, struct sim_domain *d)
{
	struct sim_mfn_run *runs = NULL;
	uint64_t low_end, gfn = 0;
	size_t nr = 0;
	int ret;

	ret = sim_mem_alloc(m, d->domid, d->tot_pages, &runs, &nr);
	if (ret)
		return ret;
	if (!sim_dom_translated(d)) {
		d->pv.runs = runs;
		d->pv.nr_runs = nr;
		d->pv.nr_pages = d->tot_pages;
		/* A PV dom0's list is scattered (the builder hands out frames
		 * in no useful order); a PV guest's follows its allocation. */
		d->pv.scattered = d->is_dom0;
		d->pv.key = sim_mix64(m->seed ^ (0x5eedull << 32) ^ d->domid);
		return 0;
	}
	d->p2m = sim_dp2m_new(m);
	if (!d->p2m) {
		free(runs);
		return -ENOMEM;
	}
	low_end = d->is_dom0 ? DOM0_LOW_RAM_END : GUEST_LOW_RAM_END;
	for (size_t i = 0; i < nr && !ret; i++) {
		uint64_t mfn = runs[i].mfn, left = runs[i].count;

		while (left && !ret) {
			uint64_t n = left;

			if (gfn < low_end && gfn + n > low_end)
				n = low_end - gfn;
			ret = map_build(m, d, gfn, mfn, n, XGM_P2M_RAM_RW,
					P2M_ORDER_1G);
			gfn += n;
			mfn += n;
			left -= n;
			if (gfn == low_end)
				gfn = GFN_4G; /* relocated above the hole */
		}
	}
	free(runs);
	if (ret)
		return ret;
	/* A PVH dom0 sees its devices' BARs identity-mapped (vPCI maps them
	 * with map_mmio_regions(gfn == mfn) when decoding is enabled). */
	if (d->is_dom0) {
		for (size_t g = 0; g < m->nr_gpus && !ret; g++)
			ret = map_build(m, d, m->gpus[g]->vram_base_mfn,
					m->gpus[g]->vram_base_mfn,
					m->gpus[g]->vram_pages,
					XGM_P2M_MMIO_DIRECT, P2M_ORDER_2M);
	}
	if (!ret && sim_iommu_mode(m, d) == XGM_IOMMU_SEPARATE)
		ret = sim_iommu_rebuild(m, d);
	return ret;
}
