// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Grant tables: dom0 grants one of its RAM frames to a domain (a write to
 * its own grant table, no hypercall), the grantee maps the reference at a
 * gfn (GNTTABOP_map_grant_ref -> create_grant_p2m_mapping(), a 4K
 * grant_map_rw/ro entry holding a page reference), and dom0 can end the
 * grant only once every mapping is gone (Linux's
 * gnttab_end_foreign_access_ref() fails while the entry is in use).
 *
 * The table holds gnttab_max_frames frames of 512 v1 entries (Xen's boot
 * option, 64 by default: 32768 entries, of which Linux keeps 8); a grant
 * past the last entry fails (Linux's gnttab_expand() cannot grow the
 * table beyond the limit Xen reports, GNTTABOP_query_size).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

/* Linux keeps references 0..7 for itself (GNTTAB_NR_RESERVED_ENTRIES). */
#define FIRST_GREF 8

/* Grants are kept sorted by gref: found by bisection. */
struct sim_grant *sim_gnt_find(struct sim_domain *granter, uint32_t gref)
{
	size_t lo = 0, hi = granter->nr_grants;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (granter->grants[mid].gref < gref)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < granter->nr_grants && granter->grants[lo].gref == gref ?
	       &granter->grants[lo] : NULL;
}

static uint64_t table_entries(const struct sim_model *m)
{
	return (uint64_t)m->gnttab_max_frames * SIM_GREFS_PER_FRAME;
}

/* What a full table says: to a grant blob of want pages before its first
 * grant, or to one more grant (want 0). */
static int table_full(const struct sim_model *m, const struct sim_domain *g,
		      uint64_t want)
{
	uint64_t size = table_entries(m), used = g->nr_grants + FIRST_GREF;
	char need[96] = "no entry is left for another grant", sz[XGM_SIZE_STR];

	if (want)
		snprintf(need, sizeof(need), "%llu free; a %s grant blob needs "
			 "%llu (one per page)",
			 (unsigned long long)(size > used ? size - used : 0),
			 xgm_size_str(want << 12, sz), (unsigned long long)want);
	return xgm_fail(-ENOSPC, "grant table of %s full: %llu entries "
			"(gnttab_max_frames %u), %llu in use or kept by Linux; "
			"%s: map it with another strategy, or give the host "
			"more grant frames (Xen's gnttab_max_frames= boot "
			"option; the simulated host's gnttab_max_frames)",
			g->name, (unsigned long long)size, m->gnttab_max_frames,
			(unsigned long long)used, need);
}

int sim_gnt_room(const struct sim_model *m, uint64_t nr)
{
	const struct sim_domain *g = sim_model_dom0(m);

	if (!g)
		return 0;
	if (g->nr_grants + FIRST_GREF + nr > table_entries(m))
		return table_full(m, g, nr);
	return 0;
}

/* The first gref no grant has. Grants are sorted and distinct, so
 * grants[i].gref >= FIRST_GREF + i, with equality up to the first gap:
 * bisection finds it. */
static uint32_t free_gref(struct sim_domain *g)
{
	size_t lo = 0, hi = g->nr_grants;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->grants[mid].gref == FIRST_GREF + mid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)(FIRST_GREF + lo);
}

int sim_gnt_access(struct sim_model *m, uint32_t grantee, uint64_t mfn,
	       bool readonly, uint32_t *gref)
{
	struct sim_domain *g = sim_model_dom0(m), *d;
	size_t pos;
	int ret = sim_dom_find(m, grantee, &d);

	if (ret)
		return ret;
	if (!g || d == g)
		return xgm_fail(-EINVAL, "grant: dom0 cannot grant to itself");
	if (!sim_mem_owned_by(m, mfn, 1, g->domid))
		return xgm_fail(-EINVAL, "grant: mfn %#llx is not dom0 RAM (only "
				"pages with a struct page can be granted; VRAM "
				"cannot)", (unsigned long long)mfn);
	/* Every entry below the first gap is in use: past the table's last
	 * entry there is none. */
	if (free_gref(g) >= table_entries(m))
		return table_full(m, g, 0);
	if (xgm_array_room(&g->grants, g->nr_grants, &g->cap_grants,
			   sizeof(*g->grants), 16))
		return -ENOMEM;
	*gref = free_gref(g);
	pos = *gref - FIRST_GREF; /* everything before it is dense */
	for (size_t i = g->nr_grants; i > pos; i--)
		g->grants[i] = g->grants[i - 1];
	g->grants[pos] = (struct sim_grant){
		.gref = *gref, .grantee = grantee, .mfn = mfn,
		.readonly = readonly,
	};
	g->nr_grants++;
	return 0;
}

static int lookup_grant(struct sim_model *m, uint32_t grantee, uint32_t gref,
			struct sim_grant **out)
{
	struct sim_domain *g = sim_model_dom0(m);

	*out = g ? sim_gnt_find(g, gref) : NULL;
	if (!*out)
		return xgm_fail(-ENOENT, "grant reference %u does not exist",
				gref);
	if ((*out)->grantee != grantee)
		return xgm_fail(-EPERM, "grant reference %u is not granted to "
				"domain %u", gref, grantee);
	return 0;
}

int sim_gnt_map(struct sim_model *m, uint32_t grantee, uint32_t gref, uint64_t gfn)
{
	struct xgm_p2m_entry old, e;
	struct sim_domain *d;
	struct sim_grant *gr;
	unsigned int o;
	bool present;
	int ret = sim_dom_find(m, grantee, &d);

	if (ret)
		return ret;
	d->ctr.hypercalls++;
	ret = lookup_grant(m, grantee, gref, &gr);
	if (ret)
		return ret;
	if (!sim_dom_translated(d))
		return xgm_fail(-EOPNOTSUPP, "grant map: %s is PV; a PV grantee "
				"maps grants into its page tables, which the "
				"sim does not model", d->name);
	e = sim_dp2m_entry(m, gr->mfn, gr->readonly ? XGM_P2M_GRANT_MAP_RO :
					       XGM_P2M_GRANT_MAP_RW);
	sim_dp2m_lock(m, d);
	present = sim_p2m_lookup(d->p2m, gfn, &old, &o);
	if (present && sim_p2m_type_is_special(old.type)) {
		/* p2m_add_page(): "Don't permit unmapping grant/foreign/
		 * direct-MMIO this way." */
		sim_dp2m_unlock(m, d);
		sim_dom_crash(d, "grant map over %s at gfn %#llx",
			  sim_p2m_type_name(old.type), (unsigned long long)gfn);
		return xgm_fail(-EPERM, "domain %s crashed: mapping grant %u "
				"over its %s entry at gfn %#llx is not "
				"permitted (p2m_add_page)", d->name, gref,
				sim_p2m_type_name(old.type),
				(unsigned long long)gfn);
	}
	ret = sim_mem_get_ref(m, gr->mfn);
	if (!ret)
		ret = sim_dp2m_set(m, d, gfn, P2M_ORDER_4K, &e);
	if (!ret) {
		gr->maps++;
		if (present && sim_p2m_type_is_ram(old.type))
			d->orphaned_pages++;
	}
	sim_dp2m_unlock(m, d);
	return ret;
}

int sim_gnt_unmap(struct sim_model *m, uint32_t grantee, uint32_t gref,
	      uint64_t gfn)
{
	struct xgm_p2m_entry old;
	struct sim_domain *d;
	struct sim_grant *gr;
	unsigned int o;
	int ret = sim_dom_find(m, grantee, &d);

	if (ret)
		return ret;
	d->ctr.hypercalls++;
	ret = lookup_grant(m, grantee, gref, &gr);
	if (ret)
		return ret;
	if (!d->p2m || !sim_p2m_lookup(d->p2m, gfn, &old, &o) ||
	    (old.type != XGM_P2M_GRANT_MAP_RW &&
	     old.type != XGM_P2M_GRANT_MAP_RO) || old.mfn != gr->mfn)
		return xgm_fail(-EINVAL, "grant unmap: gfn %#llx of %s does not "
				"map grant %u", (unsigned long long)gfn,
				d->name, gref);
	sim_dp2m_lock(m, d);
	ret = sim_dp2m_set(m, d, gfn, P2M_ORDER_4K, NULL);
	if (!ret) {
		sim_mem_put_ref(m, gr->mfn);
		gr->maps--;
		/* the grantee's own unmap: p2m_remove_entry() */
		sim_ioreq_invalidate(d, true);
	}
	sim_dp2m_unlock(m, d);
	return ret;
}

int sim_gnt_end(struct sim_model *m, uint32_t gref)
{
	struct sim_domain *g = sim_model_dom0(m);
	struct sim_grant *gr = g ? sim_gnt_find(g, gref) : NULL;
	size_t i;

	if (!gr)
		return xgm_fail(-ENOENT, "grant reference %u does not exist",
				gref);
	if (gr->maps)
		return xgm_fail(-EBUSY, "grant reference %u is still mapped %u "
				"time(s) by domain %u; it can be revoked only "
				"after the grantee unmaps it", gref, gr->maps,
				gr->grantee);
	i = (size_t)(gr - g->grants);
	for (; i + 1 < g->nr_grants; i++)
		g->grants[i] = g->grants[i + 1];
	g->nr_grants--;
	return 0;
}
