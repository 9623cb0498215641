// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The model <-> one JSON object (the body under the state file's
 * envelope). Frame lists and p2ms are stored as runs: consecutive p2m
 * leaves of the same order/type/access/emt/ipat with contiguous gfn and
 * mfn collapse into one [gfn, count, mfn, order, type, access, emt, ipat]
 * record, so a host with thousands of mapped blobs stays small.
 *
 * Loading trusts nothing: every field is type- and range-checked, overlaps
 * are refused, and any defect fails with -EBADMSG and a message naming the
 * field. 64-bit values that may use the top bit (tags, keys) are stored as
 * their two's-complement int64.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "util/pairs.h"
#include "sim/model.h"

#define MODEL_FORMAT 3
/* The most grants a state may hold: the largest grant table modelled. */
#define MAX_GRANTS ((uint64_t)SIM_GNTTAB_FRAMES_LIMIT * SIM_GREFS_PER_FRAME)
#define SIM_MAX_EMPTY_TABLES (1u << 18) /* per domain */

/* ---- save -------------------------------------------------------------- */

static json_t *ints(size_t n, const uint64_t *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_integer((json_int_t)v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static int append(json_t *arr, json_t *v)
{
	if (!v)
		return -ENOMEM;
	return json_array_append_new(arr, v) ? -ENOMEM : 0;
}

static json_t *rangeset_json(const struct sim_rangeset *rs)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < rs->nr; i++) {
		uint64_t v[2] = { rs->r[i].s, rs->r[i].e };

		if (append(a, ints(2, v))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *runs_json(const struct sim_mfn_run *r, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		uint64_t v[2] = { r[i].mfn, r[i].count };

		if (append(a, ints(2, v))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *map_json(const struct sim_u64map *m)
{
	json_t *a = json_array();
	uint64_t *keys = sim_map_sorted_keys(m);

	if (m->nr && !keys) {
		json_decref(a);
		return NULL;
	}
	for (size_t i = 0; a && i < m->nr; i++) {
		uint64_t v[2] = { keys[i], 0 };

		sim_map_get(m, keys[i], &v[1]);
		if (append(a, ints(2, v))) {
			json_decref(a);
			a = NULL;
		}
	}
	free(keys);
	return a;
}

/* Page references as runs [mfn, count, refs]: a blob's frames hold one
 * each, consecutively. */
static json_t *refs_json(const struct sim_runs *rs)
{
	json_t *a = json_array();

	for (const struct sim_run *r = sim_runs_first(rs); a && r;
	     r = sim_runs_next(r)) {
		uint64_t v[3] = { r->first, r->count, r->val[0] };

		if (append(a, ints(3, v))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

struct run_builder {
	json_t *arr;
	bool open;
	struct xgm_p2m_entry first;
	uint64_t count;
	int ret;
};

static int flush_run(struct run_builder *b)
{
	uint64_t v[8] = {
		b->first.gfn, b->count, b->first.mfn, b->first.order,
		b->first.type, b->first.access, b->first.emt, b->first.ipat,
	};

	if (!b->open)
		return 0;
	b->open = false;
	return append(b->arr, ints(8, v));
}

static int add_leaves(const struct xgm_p2m_entry *e, uint64_t count,
		      void *arg)
{
	struct run_builder *b = arg;
	uint64_t step = 1ull << e->order;

	if (b->open && e->order == b->first.order && e->type == b->first.type &&
	    e->access == b->first.access && e->emt == b->first.emt &&
	    e->ipat == b->first.ipat &&
	    e->gfn == b->first.gfn + b->count * step &&
	    e->mfn == b->first.mfn + b->count * step) {
		b->count += count;
		return 0;
	}
	b->ret = flush_run(b);
	if (b->ret)
		return b->ret;
	b->open = true;
	b->first = *e;
	b->count = count;
	return 0;
}

static json_t *p2m_json(const struct sim_p2m *p)
{
	struct run_builder b = { .arr = json_array() };

	if (!b.arr)
		return NULL;
	sim_p2m_walk_runs(p, 0, UINT64_MAX, add_leaves, &b);
	if (!b.ret)
		b.ret = flush_run(&b);
	if (b.ret) {
		json_decref(b.arr);
		return NULL;
	}
	return b.arr;
}

/* Empty tables as runs [gfn, count, order]: consecutive tables of one
 * order, as a grant or unaligned blob leaves them when it goes. */
struct table_runs {
	json_t *arr;
	uint64_t gfn, count;
	unsigned int order;
	int ret;
};

static int flush_tables(struct table_runs *r)
{
	uint64_t v[3] = { r->gfn, r->count, r->order };

	if (!r->count)
		return 0;
	r->count = 0;
	return append(r->arr, ints(3, v));
}

static int add_table(uint64_t gfn, unsigned int order, void *arg)
{
	struct table_runs *r = arg;

	if (r->count && order == r->order &&
	    gfn == r->gfn + (r->count << order)) {
		r->count++;
		return 0;
	}
	r->ret = flush_tables(r);
	r->gfn = gfn;
	r->order = order;
	r->count = 1;
	return r->ret;
}

static json_t *tables_json(const struct sim_p2m *p)
{
	struct table_runs r = { .arr = json_array() };

	if (!r.arr)
		return NULL;
	sim_p2m_walk_empty_tables(p, add_table, &r);
	if (!r.ret)
		r.ret = flush_tables(&r);
	if (r.ret) {
		json_decref(r.arr);
		return NULL;
	}
	return r.arr;
}

static json_t *domain_json(const struct sim_domain *d)
{
	json_t *o = json_object(), *g = json_array(), *x = json_array(),
	       *r = json_array();
	bool ok = o && g && x && r;

	/* Runs of grants: a grant blob's pages are consecutive grefs to one
	 * grantee, mostly of consecutive frames. */
	for (size_t i = 0, k; ok && i < d->nr_grants; i += k) {
		const struct sim_grant *gr = &d->grants[i];
		uint64_t v[6] = { gr->gref, 1, gr->grantee, gr->mfn, gr->readonly,
				  gr->maps };

		for (k = 1; i + k < d->nr_grants; k++) {
			const struct sim_grant *n = &d->grants[i + k];

			if (n->gref != gr->gref + k || n->mfn != gr->mfn + k ||
			    n->grantee != gr->grantee ||
			    n->readonly != gr->readonly || n->maps != gr->maps)
				break;
		}
		v[1] = k;
		ok = !append(g, ints(6, v));
	}
	for (size_t i = 0; ok && i < d->nr_xfers; i++) {
		uint64_t v[4] = { d->xfers[i].gfn, d->xfers[i].mfn,
				  d->xfers[i].dom0_pfn, d->xfers[i].count };

		ok = !append(x, ints(4, v));
	}
	for (const struct sim_run *run = sim_runs_first(&d->rmm); ok && run;
	     run = sim_runs_next(run)) {
		uint64_t v[4] = { run->first, run->count, run->val[SIM_RMM_MFN],
				  run->val[SIM_RMM_DOM0] };

		ok = !append(r, ints(4, v));
	}
	if (ok)
		ok = !json_object_set_new(o, "grants", g) &&
		     !json_object_set_new(o, "transfers", x) &&
		     !json_object_set_new(o, "ram_mmio", r);
	else {
		json_decref(g);
		json_decref(x);
		json_decref(r);
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	if (json_object_set_new(o, "domid", json_integer(d->domid)) ||
	    json_object_set_new(o, "name", json_string(d->name)) ||
	    json_object_set_new(o, "type", json_string(xgm_dom_type_name(d->type))) ||
	    json_object_set_new(o, "dom0", json_boolean(d->is_dom0)) ||
	    json_object_set_new(o, "passthrough", json_boolean(d->passthrough)) ||
	    json_object_set_new(o, "state", json_string(xgm_dom_state_name(d->state))) ||
	    json_object_set_new(o, "crash_reason", json_string(d->crash_reason)) ||
	    json_object_set_new(o, "tot_pages", json_integer((json_int_t)d->tot_pages)) ||
	    json_object_set_new(o, "max_pages", json_integer((json_int_t)d->max_pages)) ||
	    json_object_set_new(o, "vcpus", json_integer(d->vcpus)) ||
	    json_object_set_new(o, "dirty_vcpus", ints(2, d->dirty_vcpus)) ||
	    json_object_set_new(o, "orphaned_pages", json_integer((json_int_t)d->orphaned_pages)) ||
	    json_object_set_new(o, "ioreq", rangeset_json(&d->ioreq)) ||
	    (d->gpu_pfns.nr &&
	     json_object_set_new(o, "gpu_pfns", rangeset_json(&d->gpu_pfns))) ||
	    json_object_set_new(o, "counters", sim_counters_json(&d->ctr))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The frames of a domain: its p2m (translated) or its PV frame list,
 * most of its state, and what a row of its own keeps. */
static json_t *domain_frames_json(const struct sim_domain *d)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, "iomem", rangeset_json(&d->iomem))) {
		json_decref(o);
		return NULL;
	}
	if (d->p2m) {
		if (json_object_set_new(o, "p2m", p2m_json(d->p2m)) ||
		    json_object_set_new(o, "max_gpfn", json_integer(
			(json_int_t)sim_p2m_max_gfn(d->p2m))) ||
		    json_object_set_new(o, "p2m_empty_tables",
					tables_json(d->p2m))) {
			json_decref(o);
			return NULL;
		}
	} else {
		json_t *pv = json_pack("{s:o, s:I, s:b, s:I, s:o}",
				       "runs", runs_json(d->pv.runs, d->pv.nr_runs),
				       "nr_pages", (json_int_t)d->pv.nr_pages,
				       "scattered", d->pv.scattered,
				       "key", (json_int_t)d->pv.key,
				       "overrides", map_json(&d->pv.overrides));

		if (json_object_set_new(o, "pv", pv)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* The whole domain, as the interchange form keeps it: one object. */
static json_t *whole_domain_json(const struct sim_domain *d)
{
	json_t *o = domain_json(d), *f = domain_frames_json(d);

	/* Derived from the buffers, which the whole form loads after. */
	json_object_del(o, "gpu_pfns");
	if (!o || !f || json_object_update(o, f)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(f);
	return o;
}

/*
 * A buffer is one object; its runs and tags are flat pairs (util/pairs.h),
 * the form blob records keep theirs in:
 *   {"id", "pages", "place": "vram"|"sys", "pins", "lru",
 *    "blocks": [off, order, ...], "pfns": [pfn, n, ...],
 *    "mfns": [mfn, n, ...], "tags": [page, tag, ...]}
 * with empty lists left out.
 */
static int put_runs(json_t *o, const char *key, const struct sim_mfn_run *r,
		    size_t n)
{
	json_t *a;

	if (!n)
		return 0;
	a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (xgm_pairs_add(a, r[i].mfn, r[i].count)) {
			json_decref(a);
			a = NULL;
		}
	return a ? json_object_set_new(o, key, a) : -ENOMEM;
}

static json_t *buffer_json(const struct sim_buffer *b)
{
	uint64_t *keys = sim_map_sorted_keys(&b->tags);
	json_t *o, *blocks = NULL, *tags = NULL;
	int ret = 0;

	if (b->tags.nr && !keys)
		return NULL;
	o = json_pack("{s:I, s:I, s:s, s:I, s:I}", "id", (json_int_t)b->id,
		      "pages", (json_int_t)b->pages,
		      "place", b->place == XGM_PLACE_VRAM ? "vram" : "sys",
		      "pins", (json_int_t)b->pins, "lru", (json_int_t)b->lru);
	if (o && b->nr_blocks)
		blocks = json_array();
	for (size_t i = 0; blocks && !ret && i < b->nr_blocks; i++)
		ret = xgm_pairs_add(blocks, b->blocks[i].off, b->blocks[i].order);
	if (o && b->tags.nr)
		tags = json_array();
	for (size_t i = 0; tags && !ret && i < b->tags.nr; i++) {
		uint64_t v = 0;

		sim_map_get(&b->tags, keys[i], &v);
		ret = xgm_pairs_add(tags, keys[i], v);
	}
	free(keys);
	if (!o || ret || (b->nr_blocks && !blocks) || (b->tags.nr && !tags) ||
	    (blocks && json_object_set_new(o, "blocks", blocks)) ||
	    put_runs(o, "pfns", b->pfns, b->nr_pfns) ||
	    put_runs(o, "mfns", b->mfns, b->nr_mfns) ||
	    (tags && json_object_set_new(o, "tags", tags))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The buddy's free blocks as [order, first, last, ...]: the block
 * indexes first..last of that order are free. */
static json_t *free_json(const struct sim_buddy *bd)
{
	json_t *a = json_array();

	for (unsigned int k = 0; a && k <= bd->max_order; k++)
		for (size_t i = 0; a && i < bd->free[k].nr; i++) {
			uint64_t v[3] = { k, bd->free[k].r[i].s, bd->free[k].r[i].e };

			for (size_t j = 0; a && j < 3; j++)
				if (json_array_append_new(a, json_integer(
						(json_int_t)v[j]))) {
					json_decref(a);
					a = NULL;
				}
		}
	return a;
}

/* "free" is derived from the buffers; the rows keep it so that a command
 * need not read every buffer to allocate (the whole form leaves it out). */
static json_t *gpu_json(const struct sim_gpu *g)
{
	return json_pack("{s:s, s:I, s:I, s:o}", "name", g->name,
			 "vram_base_mfn", (json_int_t)g->vram_base_mfn,
			 "vram_pages", (json_int_t)g->vram_pages,
			 "free", free_json(&g->buddy));
}

json_t *sim_persist_domain(const struct sim_domain *d)
{
	return domain_json(d);
}

json_t *sim_persist_domain_frames(const struct sim_domain *d)
{
	return domain_frames_json(d);
}

json_t *sim_persist_buffer(const struct sim_buffer *b)
{
	return buffer_json(b);
}

/* The host's extensions by name: ["ram-mmio", "transfer"], [] for stock
 * Xen. */
json_t *sim_ext_json(unsigned int extensions)
{
	json_t *a = json_array();

	for (unsigned int bit = 1; a && bit & XGM_EXT_ALL; bit <<= 1)
		if ((extensions & bit) &&
		    json_array_append_new(a, json_string(sim_ext_name(bit)))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *sim_persist_host(const struct sim_model *m)
{
	json_t *o, *frames = json_array(), *gpus = json_array();
	bool ok = frames && gpus;

	for (size_t i = 0; ok && i < m->frames.nr; i++) {
		const struct sim_frame_run *r = &m->frames.runs[i];
		uint64_t v[4] = { r->start, r->count, r->owner,
				  (uint64_t)(int64_t)r->dev };

		ok = !append(frames, ints(4, v));
	}
	for (size_t i = 0; ok && i < m->nr_gpus; i++)
		ok = !append(gpus, gpu_json(m->gpus[i]));
	if (!ok) {
		json_decref(frames);
		json_decref(gpus);
		return NULL;
	}
	o = json_pack("{s:i, s:I, s:s, s:s, s:o, s:i, s:I, s:I, s:i, s:I, s:I, s:o,"
		      " s:o, s:o, s:o}",
		      "format", MODEL_FORMAT,
		      "seed", (json_int_t)m->seed,
		      "iommu", xgm_iommu_vendor_name(m->iommu),
		      "xen_version", sim_xen_name(m->xen_version),
		      "extensions", sim_ext_json(m->extensions),
		      "paddr_bits", (int)m->paddr_bits,
		      "ram_pages", (json_int_t)m->ram_pages,
		      "xen_pages", (json_int_t)m->xen_pages,
		      "next_domid", (int)m->next_domid,
		      "next_buf_id", (json_int_t)m->next_buf_id,
		      "clock", (json_int_t)m->clock,
		      "frames", frames,
		      "refs", refs_json(&m->refs),
		      "host_counters", sim_counters_json(&m->host_ctr),
		      "gpus", gpus);
	/* Derived (the sum of the domains' counters), for the rows: see
	 * sim_model_counters. */
	if (o && json_object_set_new(o, "domain_counters",
				     sim_counters_json(&m->dom_ctr_base))) {
		json_decref(o);
		return NULL;
	}
	/* Only a host made with another limit says so: Xen's default is
	 * what a file without it means. */
	if (o && m->gnttab_max_frames != SIM_GNTTAB_MAX_FRAMES)
		json_object_set_new(o, "gnttab_max_frames",
				    json_integer(m->gnttab_max_frames));
	return o;
}

/* The whole host in one document: the host's own fields, and beside
 * them every domain, every GPU's buffers and the store. */
json_t *sim_persist_save(const struct sim_model *m)
{
	json_t *o = sim_persist_host(m), *doms = json_array(), *gpus;
	bool ok = o && doms && !sim_dom_load_all(m);

	for (size_t i = 0; ok && i < m->nr_doms; i++)
		ok = !append(doms, whole_domain_json(m->doms[i]));
	/* What the whole form derives again when it loads. */
	json_object_del(o, "domain_counters");
	gpus = json_object_get(o, "gpus");
	for (size_t i = 0; ok && i < m->nr_gpus; i++) {
		const struct sim_gpu *g = m->gpus[i];
		json_t *bufs = json_array();

		ok = !sim_gpu_load_all(m);
		json_object_del(json_array_get(gpus, i), "free");
		for (size_t k = 0; bufs && k < g->nr_bufs; k++)
			if (append(bufs, buffer_json(g->bufs[k]))) {
				json_decref(bufs);
				bufs = NULL;
			}
		ok = bufs && !json_object_set_new(json_array_get(gpus, i),
						  "buffers", bufs);
	}
	if (!ok || json_object_set_new(o, "domains", doms) ||
	    json_object_set(o, "store", m->store)) {
		if (!ok)
			json_decref(doms);
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- load -------------------------------------------------------------- */

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return xgm_fail(-EBADMSG, "sim state is invalid: %s", msg);
}

/* An integer member in [0, max]. */
static int get_u64(json_t *o, const char *key, uint64_t max, uint64_t *out,
		   const char *where)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return bad("%s: \"%s\" is missing or not an integer", where, key);
	if (json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return bad("%s: \"%s\" = %lld is out of range", where, key,
			   (long long)json_integer_value(v));
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Any 64-bit value (stored as int64). */
static int get_raw64(json_t *o, const char *key, uint64_t *out,
		     const char *where)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return bad("%s: \"%s\" is missing or not an integer", where, key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_bool(json_t *o, const char *key, bool *out, const char *where)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v))
		return bad("%s: \"%s\" is missing or not a boolean", where, key);
	*out = json_is_true(v);
	return 0;
}

static int get_array(json_t *o, const char *key, json_t **out,
		     const char *where)
{
	*out = json_object_get(o, key);
	if (!json_is_array(*out))
		return bad("%s: \"%s\" is missing or not an array", where, key);
	return 0;
}

/* Row i of an array of integer tuples of exactly n. raw: any int64. */
static int tuple(json_t *arr, size_t i, size_t n, uint64_t *v,
		 const char *where, const char *key, uint64_t raw_mask)
{
	json_t *t = json_array_get(arr, i);

	if (!json_is_array(t) || json_array_size(t) != n)
		return bad("%s.%s[%zu]: expected an array of %zu integers",
			   where, key, i, n);
	for (size_t k = 0; k < n; k++) {
		json_t *x = json_array_get(t, k);

		if (!json_is_integer(x))
			return bad("%s.%s[%zu][%zu] is not an integer", where,
				   key, i, k);
		if (json_integer_value(x) < 0 && !(raw_mask & (1ull << k)))
			return bad("%s.%s[%zu][%zu] is negative", where, key,
				   i, k);
		v[k] = (uint64_t)json_integer_value(x);
	}
	return 0;
}

static int load_rangeset(json_t *o, const char *key, uint64_t max,
			 struct sim_rangeset *rs, const char *where)
{
	json_t *a;
	uint64_t v[2], prev_end = 0;
	int ret = get_array(o, key, &a, where);

	for (size_t i = 0; !ret && i < json_array_size(a); i++) {
		ret = tuple(a, i, 2, v, where, key, 0);
		if (ret)
			break;
		if (v[1] < v[0] || v[1] > max || (i && v[0] <= prev_end))
			return bad("%s.%s[%zu]: range %#llx-%#llx is reversed, "
				   "out of range or overlaps", where, key, i,
				   (unsigned long long)v[0],
				   (unsigned long long)v[1]);
		prev_end = v[1];
		ret = sim_rs_add(rs, v[0], v[1]);
	}
	return ret;
}

static int load_runs(json_t *o, const char *key, uint64_t max_mfn,
		     struct sim_mfn_run **runs, size_t *nr, uint64_t *total,
		     const char *where)
{
	json_t *a;
	uint64_t v[2];
	int ret = get_array(o, key, &a, where);

	*total = 0;
	if (ret)
		return ret;
	*nr = json_array_size(a);
	*runs = *nr ? calloc(*nr, sizeof(**runs)) : NULL;
	if (*nr && !*runs)
		return -ENOMEM;
	for (size_t i = 0; i < *nr; i++) {
		ret = tuple(a, i, 2, v, where, key, 0);
		if (ret)
			return ret;
		if (!v[1] || v[0] > max_mfn || v[1] > max_mfn - v[0] + 1)
			return bad("%s.%s[%zu]: run %#llx+%llu is empty or out "
				   "of range", where, key, i,
				   (unsigned long long)v[0],
				   (unsigned long long)v[1]);
		(*runs)[i] = (struct sim_mfn_run){ v[0], v[1] };
		*total += v[1];
	}
	return 0;
}

static int load_map(json_t *o, const char *key, uint64_t max_key,
		    bool raw_val, struct sim_u64map *m, const char *where)
{
	json_t *a;
	uint64_t v[2];
	int ret = get_array(o, key, &a, where);

	for (size_t i = 0; !ret && i < json_array_size(a); i++) {
		ret = tuple(a, i, 2, v, where, key, raw_val ? 2 : 0);
		if (ret)
			break;
		if (v[0] > max_key || sim_map_get(m, v[0], NULL))
			return bad("%s.%s[%zu]: key %#llx is out of range or "
				   "repeated", where, key, i,
				   (unsigned long long)v[0]);
		ret = sim_map_set(m, v[0], v[1]);
	}
	return ret;
}

static int load_frames(struct sim_model *m, json_t *body)
{
	json_t *a;
	uint64_t max = 1ull << (m->paddr_bits - 12), v[4], end = 0;
	int ret = get_array(body, "frames", &a, "host");

	if (ret)
		return ret;
	m->frames.nr = m->frames.cap = json_array_size(a);
	m->frames.runs = calloc(m->frames.nr + 1, sizeof(*m->frames.runs));
	if (!m->frames.runs)
		return -ENOMEM;
	for (size_t i = 0; i < m->frames.nr; i++) {
		ret = tuple(a, i, 4, v, "host", "frames", 1ull << 3);
		if (ret)
			return ret;
		if (!v[1] || v[0] >= max || v[1] > max - v[0] ||
		    (i && v[0] < end))
			return bad("frames[%zu]: run %#llx+%llu is empty, out of "
				   "range or overlaps the previous one", i,
				   (unsigned long long)v[0],
				   (unsigned long long)v[1]);
		if ((v[2] >= 0x7FF0 && v[2] != SIM_OWNER_IO &&
		     v[2] != SIM_OWNER_XEN && v[2] != SIM_OWNER_FREE) ||
		    v[2] > SIM_OWNER_FREE ||
		    (v[2] != SIM_OWNER_IO && (int64_t)v[3] != 0) ||
		    (v[2] == SIM_OWNER_IO && (int64_t)v[3] < SIM_DEV_PCI_HOLE))
			return bad("frames[%zu]: bad owner %llu / device %lld", i,
				   (unsigned long long)v[2], (long long)v[3]);
		end = v[0] + v[1];
		m->frames.runs[i] = (struct sim_frame_run){
			v[0], v[1], (uint32_t)v[2], (int32_t)(int64_t)v[3],
		};
	}
	return 0;
}

struct p2m_check {
	const struct sim_model *m;
	const char *name;
	int ret;
};

/* The emptied tables Xen keeps (sim_p2m_add_empty_table()); one under or
 * over a leaf is corruption. */
static int load_tables(struct sim_domain *d, json_t *o, const char *where)
{
	json_t *a;
	uint64_t v[3], total = 0;
	int ret = get_array(o, "p2m_empty_tables", &a, where);

	for (size_t i = 0; !ret && i < json_array_size(a); i++) {
		ret = tuple(a, i, 3, v, where, "p2m_empty_tables", 0);
		if (ret)
			break;
		if ((v[2] != P2M_ORDER_2M && v[2] != P2M_ORDER_1G && v[2] != 27) ||
		    !v[1] || v[1] > (1ull << P2M_GFN_BITS) >> v[2] ||
		    v[0] + (v[1] << v[2]) > (1ull << P2M_GFN_BITS))
			return bad("%s.p2m_empty_tables[%zu]: run gfn %#llx x%llu "
				   "order %llu is empty or out of range", where,
				   i, (unsigned long long)v[0],
				   (unsigned long long)v[1],
				   (unsigned long long)v[2]);
		/* 8 KiB each: a bound, so that a corrupt count cannot make
		 * loading allocate without end (2^18 L1 tables are 512 GiB
		 * of shattered 2M slots). */
		total += v[1];
		if (total > SIM_MAX_EMPTY_TABLES)
			return bad("%s.p2m_empty_tables: more than %u empty "
				   "tables", where, SIM_MAX_EMPTY_TABLES);
		for (uint64_t k = 0; !ret && k < v[1]; k++) {
			ret = sim_p2m_add_empty_table(d->p2m, v[0] + (k << v[2]),
						      (unsigned int)v[2]);
			if (ret == -EEXIST || ret == -EINVAL)
				return bad("%s.p2m_empty_tables[%zu]: gfn %#llx "
					   "is misaligned or overlaps a leaf or "
					   "another table", where, i,
					   (unsigned long long)(v[0] + (k << v[2])));
		}
	}
	return ret;
}

static int load_p2m(struct sim_model *m, struct sim_domain *d, json_t *o,
		    const char *where)
{
	json_t *a;
	uint64_t v[8], max_mfn = (1ull << (m->paddr_bits - 12)) - 1;
	int ret = get_array(o, "p2m", &a, where);

	if (ret)
		return ret;
	d->p2m = sim_dp2m_new(m);
	if (!d->p2m)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(a); i++) {
		struct xgm_p2m_entry e;
		uint64_t step;

		ret = tuple(a, i, 8, v, where, "p2m", 0);
		if (ret)
			return ret;
		if (v[3] != P2M_ORDER_4K && v[3] != P2M_ORDER_2M &&
		    v[3] != P2M_ORDER_1G)
			return bad("%s.p2m[%zu]: order %llu is not 0, 9 or 18",
				   where, i, (unsigned long long)v[3]);
		step = 1ull << v[3];
		if (!v[1] || v[1] > (1ull << P2M_GFN_BITS) ||
		    ((v[0] | v[2]) & (step - 1)) ||
		    v[0] + v[1] * step > (1ull << P2M_GFN_BITS) ||
		    v[2] + v[1] * step - 1 > max_mfn)
			return bad("%s.p2m[%zu]: run gfn %#llx x%llu mfn %#llx "
				   "is empty, misaligned or out of range", where,
				   i, (unsigned long long)v[0],
				   (unsigned long long)v[1],
				   (unsigned long long)v[2]);
		if (v[4] >= XGM_P2M_NR_TYPES || v[4] == XGM_P2M_INVALID ||
		    v[5] > 7 || (v[6] != XGM_MT_UC && v[6] != XGM_MT_WC &&
				 v[6] != XGM_MT_WT && v[6] != XGM_MT_WP &&
				 v[6] != XGM_MT_WB && v[6] != XGM_MT_UC_MINUS) ||
		    v[7] > 1)
			return bad("%s.p2m[%zu]: bad type/access/memory type",
				   where, i);
		e = (struct xgm_p2m_entry){
			.order = (uint8_t)v[3], .type = (uint8_t)v[4],
			.access = (uint8_t)v[5], .emt = (uint8_t)v[6],
			.ipat = v[7],
		};
		e.gfn = v[0];
		e.mfn = v[2];
		/* Whole tables of the run are built compact (p2m.c). */
		ret = sim_p2m_insert_run(d->p2m, v[0], v[1], &e);
		if (ret == -EEXIST)
			return bad("%s.p2m[%zu]: run at gfn %#llx overlaps an "
				   "earlier entry", where, i,
				   (unsigned long long)e.gfn);
		if (ret)
			return ret;
	}
	ret = get_u64(o, "max_gpfn", (1ull << P2M_GFN_BITS) - 1, &v[0], where);
	if (ret)
		return ret;
	sim_p2m_raise_max_gfn(d->p2m, v[0]);
	return load_tables(d, o, where);
}

static int load_pv(struct sim_model *m, struct sim_domain *d, json_t *o,
		   const char *where)
{
	json_t *pv = json_object_get(o, "pv");
	uint64_t total, max_mfn = (1ull << (m->paddr_bits - 12)) - 1;
	int ret;

	if (!json_is_object(pv))
		return bad("%s: a PV domain needs a \"pv\" object", where);
	ret = load_runs(pv, "runs", max_mfn, &d->pv.runs, &d->pv.nr_runs,
			&total, where);
	if (!ret)
		ret = get_u64(pv, "nr_pages", 1ull << P2M_GFN_BITS,
			      &d->pv.nr_pages, where);
	if (!ret)
		ret = get_bool(pv, "scattered", &d->pv.scattered, where);
	if (!ret)
		ret = get_raw64(pv, "key", &d->pv.key, where);
	if (!ret)
		ret = load_map(pv, "overrides", (1ull << P2M_GFN_BITS) - 1, true,
			       &d->pv.overrides, where);
	if (!ret && total != d->pv.nr_pages)
		return bad("%s: pv runs hold %llu frames, nr_pages is %llu",
			   where, (unsigned long long)total,
			   (unsigned long long)d->pv.nr_pages);
	return ret;
}

/* grants[i] as a run [gref, count, grantee, mfn, ro, maps]; the JSON
 * state of version 3 has [gref, grantee, mfn, ro, maps], one grant. */
static int grant_run(json_t *a, size_t i, uint64_t v[6], const char *where)
{
	uint64_t one[5];
	int ret;

	if (json_array_size(json_array_get(a, i)) != 5)
		return tuple(a, i, 6, v, where, "grants", 0);
	ret = tuple(a, i, 5, one, where, "grants", 0);
	v[0] = one[0];
	v[1] = 1;
	memcpy(&v[2], &one[1], 4 * sizeof(one[0]));
	return ret;
}

/*
 * Runs one a row, in key order and apart, with a row's own form read by
 * its width: the run form (wide), or the form of state version 4 and of
 * the JSON states before it (narrow: one key, no count), which an earlier
 * xgpumap wrote one a page. max[k]: the bound of run column k (the key,
 * the count, the values); raw: columns that may be SIM_RUN_NONE.
 */
struct runs_form {
	const char *key;
	size_t wide;
	uint64_t max[2 + SIM_RUN_VALS];
	uint64_t raw;
	uint64_t min_val0; /* refs: a count of 0 is not kept */
};

static int load_runs_form(json_t *o, const struct runs_form *f,
			  struct sim_runs *rs, const char *where)
{
	json_t *a;
	uint64_t v[2 + SIM_RUN_VALS], end = 0;
	size_t nvals = f->wide - 2;
	int ret = get_array(o, f->key, &a, where);

	for (size_t i = 0; !ret && i < json_array_size(a); i++) {
		size_t n = json_array_size(json_array_get(a, i));
		bool narrow = n == f->wide - 1;

		memset(v, 0, sizeof(v));
		if (narrow) {
			/* The narrow form: [key, vals...], a count of one. */
			uint64_t one[1 + SIM_RUN_VALS];

			ret = tuple(a, i, n, one, where, f->key, f->raw >> 1 &
				    ~1ull);
			v[0] = one[0];
			v[1] = 1;
			memcpy(&v[2], &one[1], nvals * sizeof(*v));
		} else {
			ret = tuple(a, i, f->wide, v, where, f->key, f->raw);
		}
		if (ret)
			break;
		for (size_t k = 0; k < f->wide; k++)
			if (v[k] > f->max[k] && !((f->raw >> k & 1) &&
						   v[k] == SIM_RUN_NONE))
				return bad("%s.%s[%zu][%zu] = %llu is out of "
					   "range", where, f->key, i, k,
					   (unsigned long long)v[k]);
		/* Version 4 kept ram-mmio pages in no order (a removal
		 * moved the last one into its place): a page only once. */
		if (!v[1] || v[1] > f->max[0] - v[0] + 1 || v[2] < f->min_val0 ||
		    (!narrow && i && v[0] < end) ||
		    (narrow && sim_runs_get(rs, v[0], NULL)))
			return bad("%s.%s[%zu]: run %#llx+%llu is empty, out of "
				   "range, repeated or not after the one before",
				   where,
				   f->key, i, (unsigned long long)v[0],
				   (unsigned long long)v[1]);
		/* A stepped value's run must stay in its own range too. */
		for (size_t k = 0; k < nvals; k++)
			if ((rs->step >> k & 1) && v[2 + k] != SIM_RUN_NONE &&
			    v[1] - 1 > f->max[2 + k] - v[2 + k])
				return bad("%s.%s[%zu]: run of %llu runs past "
					   "the end of its frames", where, f->key,
					   i, (unsigned long long)v[1]);
		end = v[0] + v[1];
		ret = sim_runs_set(rs, v[0], v[1], &v[2]);
	}
	return ret;
}

/* ram-mmio runs [gfn, count, mfn, dom0_gfn] (-1: none, a PV dom0). */
static int load_ram_mmio(struct sim_domain *d, json_t *o, const char *where)
{
	const struct runs_form f = {
		.key = "ram_mmio", .wide = 4,
		.max = { (1ull << P2M_GFN_BITS) - 1, 1ull << P2M_GFN_BITS,
			 (1ull << 40) - 1, (1ull << P2M_GFN_BITS) - 1 },
		.raw = 1ull << 3,
	};

	d->rmm.step = SIM_RMM_STEP;
	return load_runs_form(o, &f, &d->rmm, where);
}

static int load_domain_lists(struct sim_domain *d, json_t *o,
			     const char *where)
{
	json_t *a;
	uint64_t v[6], total = 0;
	int ret = get_array(o, "grants", &a, where);

	/* Sized first: a run's count is bounded before it sizes anything. */
	for (size_t i = 0; !ret && i < json_array_size(a); i++) {
		ret = grant_run(a, i, v, where);
		if (!ret && (!v[1] || v[1] > MAX_GRANTS - total))
			ret = bad("%s.grants[%zu]: a run of %llu grants is empty "
				  "or more than a grant table holds", where, i,
				  (unsigned long long)v[1]);
		total += ret ? 0 : v[1];
	}
	if (!ret && total) {
		d->cap_grants = total;
		d->grants = calloc(total, sizeof(*d->grants));
		if (!d->grants)
			return -ENOMEM;
	}
	for (size_t i = 0; !ret && i < json_array_size(a); i++) {
		ret = grant_run(a, i, v, where);
		if (ret)
			break;
		if (v[0] < 8 || v[0] + v[1] - 1 > UINT32_MAX || v[2] > UINT32_MAX ||
		    v[4] > 1 || v[5] > UINT32_MAX ||
		    (d->nr_grants && v[0] <= d->grants[d->nr_grants - 1].gref))
			return bad("%s.grants[%zu] is out of range or unsorted",
				   where, i);
		for (uint64_t k = 0; k < v[1]; k++)
			d->grants[d->nr_grants++] = (struct sim_grant){
				(uint32_t)(v[0] + k), (uint32_t)v[2], v[3] + k,
				v[4] != 0, (uint32_t)v[5],
			};
	}
	if (!ret)
		ret = get_array(o, "transfers", &a, where);
	if (!ret && json_array_size(a)) {
		d->cap_xfers = d->nr_xfers = json_array_size(a);
		d->xfers = calloc(d->nr_xfers, sizeof(*d->xfers));
		if (!d->xfers)
			return -ENOMEM;
	}
	for (size_t i = 0; !ret && i < d->nr_xfers; i++) {
		ret = tuple(a, i, 4, v, where, "transfers", 0);
		if (!ret && !v[3])
			ret = bad("%s.transfers[%zu] is empty", where, i);
		if (!ret)
			d->xfers[i] = (struct sim_transfer){ v[0], v[1], v[2], v[3] };
	}
	return ret ?: load_ram_mmio(d, o, where);
}

int sim_persist_load_domain(struct sim_model *m, json_t *o, size_t idx,
			     struct sim_domain **out)
{
	struct sim_domain *d = calloc(1, sizeof(*d));
	const char *name, *type, *state, *reason;
	char where[96];
	uint64_t v;
	json_t *dv;
	int ret;

	snprintf(where, sizeof(where), "domains[%zu]", idx);
	if (!d)
		return -ENOMEM;
	if (!json_is_object(o)) {
		ret = bad("%s is not an object", where);
		goto fail;
	}
	ret = get_u64(o, "domid", 0x7FEF, &v, where);
	if (ret)
		goto fail;
	d->domid = (uint32_t)v;
	name = json_string_value(json_object_get(o, "name"));
	type = json_string_value(json_object_get(o, "type"));
	state = json_string_value(json_object_get(o, "state"));
	reason = json_string_value(json_object_get(o, "crash_reason"));
	if (!name || !type || !state || !reason) {
		ret = bad("%s: name, type, state and crash_reason must be "
			  "strings", where);
		goto fail;
	}
	if ((!sim_name_valid(name) && strcmp(name, "Domain-0")) ||
	    sim_dom_in_memory(m, d->domid, name)) {
		ret = bad("%s: name \"%.64s\" or domid %u is invalid or "
			  "repeated", where, name, d->domid);
		goto fail;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->crash_reason, sizeof(d->crash_reason), "%s", reason);
	if (xgm_dom_type_parse(type, &d->type)) {
		ret = bad("%s: unknown type \"%.16s\"", where, type);
		goto fail;
	}
	if (!strcmp(state, "running")) {
		d->state = XGM_DOM_RUNNING;
	} else if (!strcmp(state, "crashed")) {
		d->state = XGM_DOM_CRASHED;
	} else if (!strcmp(state, "paused")) {
		d->state = XGM_DOM_PAUSED;
		d->pause_count = 1; /* the pause that left it so is held */
	} else if (!strcmp(state, "shutdown")) {
		d->state = XGM_DOM_SHUTDOWN;
	} else {
		ret = bad("%s: unknown state \"%.16s\"", where, state);
		goto fail;
	}
	ret = get_bool(o, "dom0", &d->is_dom0, where);
	if (!ret && d->is_dom0 != (d->domid == 0))
		ret = bad("%s: only domid 0 is dom0", where);
	if (!ret && d->is_dom0 && d->type == XGM_DOM_HVM)
		ret = bad("%s: dom0 cannot be hvm", where);
	if (!ret)
		ret = get_bool(o, "passthrough", &d->passthrough, where);
	if (!ret && !d->is_dom0 && d->passthrough && d->type == XGM_DOM_PV)
		ret = bad("%s: passthrough is modelled for pvh and hvm guests "
			  "only, and dom0 always has it", where);
	if (!ret && d->is_dom0 && !d->passthrough)
		ret = bad("%s: dom0 always has an IOMMU context", where);
	if (!ret)
		ret = get_u64(o, "tot_pages", 1ull << P2M_GFN_BITS,
			      &d->tot_pages, where);
	if (!ret)
		ret = get_u64(o, "max_pages", 1ull << P2M_GFN_BITS,
			      &d->max_pages, where);
	if (!ret && d->tot_pages > d->max_pages)
		ret = bad("%s: tot_pages above max_pages", where);
	if (!ret)
		ret = get_u64(o, "vcpus", 128, &v, where);
	if (!ret && !v)
		ret = bad("%s: vcpus must be 1-128", where);
	d->vcpus = (uint32_t)v;
	dv = json_object_get(o, "dirty_vcpus");
	if (!ret && (!json_is_array(dv) || json_array_size(dv) != 2))
		ret = bad("%s: dirty_vcpus must be two integers", where);
	for (size_t k = 0; !ret && k < 2; k++) {
		if (!json_is_integer(json_array_get(dv, k)))
			ret = bad("%s: dirty_vcpus must be two integers", where);
		else
			d->dirty_vcpus[k] = (uint64_t)json_integer_value(
				json_array_get(dv, k));
	}
	if (!ret)
		ret = get_u64(o, "orphaned_pages", 1ull << P2M_GFN_BITS,
			      &d->orphaned_pages, where);
	if (!ret)
		ret = load_rangeset(o, "iomem", (1ull << (m->paddr_bits - 12)) - 1,
				    &d->iomem, where);
	if (!ret)
		ret = load_rangeset(o, "ioreq", (1ull << P2M_GFN_BITS) - 1,
				    &d->ioreq, where);
	if (!ret && json_object_get(o, "gpu_pfns"))
		ret = d->is_dom0 ? load_rangeset(o, "gpu_pfns",
						 (1ull << P2M_GFN_BITS) - 1,
						 &d->gpu_pfns, where) :
				   bad("%s: only dom0 has GPU buffers' pfns", where);
	if (!ret && sim_counters_from_json(json_object_get(o, "counters"),
					   &d->ctr))
		ret = bad("%s: bad counters", where);
	d->ctr_base = d->ctr;
	if (!ret)
		ret = sim_dom_translated(d) ? load_p2m(m, d, o, where) :
					  load_pv(m, d, o, where);
	if (!ret)
		ret = load_domain_lists(d, o, where);
	if (!ret)
		ret = sim_dom_add(m, d);
	if (!ret) {
		if (out)
			*out = d;
		return 0;
	}
fail:
	sim_dom_free(d);
	return ret;
}

struct buf_load {
	struct sim_buffer *b;
	uint64_t max;
	size_t cap_blocks;
	int which; /* 0 pfns, 1 mfns */
};

static int add_block(void *ctx, uint64_t off, uint64_t order)
{
	struct buf_load *l = ctx;
	struct sim_buffer *b = l->b;

	if (order > 40)
		return -EBADMSG;
	if (xgm_array_room(&b->blocks, b->nr_blocks, &l->cap_blocks,
			   sizeof(*b->blocks), 4))
		return -ENOMEM;
	b->blocks[b->nr_blocks++] = (struct sim_vram_block){
		off, (unsigned int)order };
	return 0;
}

static int add_run(void *ctx, uint64_t start, uint64_t count)
{
	struct buf_load *l = ctx;
	struct sim_mfn_run **runs = l->which ? &l->b->mfns : &l->b->pfns;
	size_t *nr = l->which ? &l->b->nr_mfns : &l->b->nr_pfns;

	if (!count || start > l->max || count > l->max - start + 1)
		return -EBADMSG;
	/* capacity: powers of two */
	if (!*nr || !(*nr & (*nr - 1))) {
		struct sim_mfn_run *n = realloc(*runs, (*nr ? *nr * 2 : 1) *
						sizeof(*n));

		if (!n)
			return -ENOMEM;
		*runs = n;
	}
	(*runs)[(*nr)++] = (struct sim_mfn_run){ start, count };
	return 0;
}

static int add_tag(void *ctx, uint64_t page, uint64_t tag)
{
	struct buf_load *l = ctx;

	if (page >= l->b->pages || sim_map_get(&l->b->tags, page, NULL))
		return -EBADMSG;
	return sim_map_set(&l->b->tags, page, tag);
}

static int load_buffer(struct sim_model *m, unsigned int gi, json_t *o,
		       const char *gwhere, size_t idx, struct sim_u64map *ids,
		       bool row)
{
	struct sim_buffer *b = calloc(1, sizeof(*b));
	struct buf_load l = { .b = b };
	json_int_t id, pages, pins, lru;
	json_t *blocks = NULL, *pfns = NULL, *mfns = NULL, *tags = NULL;
	const char *place;
	json_error_t err;
	char where[96];
	int ret = 0;

	snprintf(where, sizeof(where), "%s.buffers[%zu]", gwhere, idx);
	if (!b)
		return -ENOMEM;
	b->gpu = gi;
	if (json_unpack_ex(o, &err, JSON_STRICT,
			   "{s:I, s:I, s:s, s:I, s:I, s?o, s?o, s?o, s?o}",
			   "id", &id, "pages", &pages, "place", &place,
			   "pins", &pins, "lru", &lru, "blocks", &blocks,
			   "pfns", &pfns, "mfns", &mfns, "tags", &tags)) {
		ret = bad("%s is not a buffer record: %s", where, err.text);
		goto fail;
	}
	if (strcmp(place, "vram") && strcmp(place, "sys")) {
		ret = bad("%s: placement '%s' is not vram or sys", where, place);
		goto fail;
	}
	b->place = !strcmp(place, "vram") ? XGM_PLACE_VRAM : XGM_PLACE_SYS;
	if (id < 0 || pages <= 0 || pages > (1ll << 28) || pins < 0 ||
	    pins > UINT32_MAX || lru < 0) {
		ret = bad("%s: bad id, size, pin count or lru", where);
		goto fail;
	}
	b->id = (uint64_t)id;
	b->pages = (uint64_t)pages;
	b->pins = (uint32_t)pins;
	b->lru = (uint64_t)lru;
	if (sim_map_get(ids, b->id, NULL) || b->id >= m->next_buf_id)
		ret = bad("%s: id %llu is repeated or not below next_buf_id",
			  where, (unsigned long long)b->id);
	else
		ret = sim_map_set(ids, b->id, 1);
	if (ret)
		goto fail;
	if (blocks)
		ret = xgm_pairs_each(blocks, INT64_MAX, 40, add_block, &l);
	l.which = 0;
	l.max = (1ull << P2M_GFN_BITS) - 1;
	if (!ret && pfns)
		ret = xgm_pairs_each(pfns, l.max, l.max + 1, add_run, &l);
	l.which = 1;
	l.max = (1ull << (m->paddr_bits - 12)) - 1;
	if (!ret && mfns)
		ret = xgm_pairs_each(mfns, l.max, l.max + 1, add_run, &l);
	if (!ret && tags)
		ret = xgm_pairs_each(tags, b->pages - 1, UINT64_MAX, add_tag, &l);
	if (ret == -EBADMSG)
		ret = bad("%s: malformed blocks, runs or tags", where);
	if (!ret && ((b->place == XGM_PLACE_VRAM) != (b->nr_blocks > 0) ||
		     (b->place == XGM_PLACE_VRAM && (b->nr_pfns || b->nr_mfns))))
		ret = bad("%s: backing does not match the placement", where);
	if (!ret)
		ret = row ? sim_gpu_buf_adopt_row(m, b) : sim_gpu_buf_adopt(m, b);
	if (!ret)
		return 0;
fail:
	free(b->blocks);
	free(b->pfns);
	free(b->mfns);
	sim_map_free(&b->tags);
	free(b);
	return ret;
}

int sim_persist_load_buffer(struct sim_model *m, unsigned int gpu, json_t *o,
			    struct sim_u64map *ids)
{
	char where[32];

	if (gpu >= m->nr_gpus)
		return bad("a buffer of GPU %u, which does not exist", gpu);
	snprintf(where, sizeof(where), "gpus[%u]", gpu);
	return load_buffer(m, gpu, o, where, ids->nr, ids, true);
}

/* The free blocks of a buddy the rows keep (free_json): none may overlap
 * another, and the free pages are what they cover. */
static int load_free(struct sim_buddy *bd, json_t *a, const char *where)
{
	struct sim_rangeset pages = { 0 };
	size_t n = json_array_size(a);
	int ret = 0;

	if (!json_is_array(a) || n % 3)
		return bad("%s: \"free\" must be [order, first, last, ...]", where);
	for (unsigned int k = 0; k <= bd->max_order; k++)
		sim_rs_free(&bd->free[k]);
	bd->free_pages = 0;
	for (size_t i = 0; !ret && i < n; i += 3) {
		json_t *jk = json_array_get(a, i), *js = json_array_get(a, i + 1),
		       *je = json_array_get(a, i + 2);
		json_int_t k = json_integer_value(jk), s = json_integer_value(js),
			   e = json_integer_value(je);

		if (!json_is_integer(jk) || !json_is_integer(js) ||
		    !json_is_integer(je) || k < 0 || k > bd->max_order ||
		    s < 0 || e < s || (uint64_t)e >> (bd->max_order - k)) {
			ret = bad("%s: free[%zu] is not a block range of the "
				  "VRAM", where, i / 3);
			break;
		}
		if (sim_rs_overlaps(&pages, (uint64_t)s << k,
				    (((uint64_t)e + 1) << k) - 1)) {
			ret = bad("%s: free[%zu] overlaps another free block",
				  where, i / 3);
			break;
		}
		ret = sim_rs_add(&pages, (uint64_t)s << k,
				 (((uint64_t)e + 1) << k) - 1) ?:
		      sim_rs_add(&bd->free[k], (uint64_t)s, (uint64_t)e);
		bd->free_pages += ((uint64_t)(e - s) + 1) << k;
	}
	sim_rs_free(&pages);
	return ret;
}

static int load_gpus(struct sim_model *m, json_t *body, bool buffers)
{
	struct sim_u64map ids = { 0 };
	json_t *a;
	int ret = get_array(body, "gpus", &a, "host");

	for (size_t i = 0; !ret && i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i), *bufs;
		uint64_t base, pages;
		const char *name;
		char where[48];

		snprintf(where, sizeof(where), "gpus[%zu]", i);
		if (buffers) {
			ret = get_array(o, "buffers", &bufs, where);
			for (size_t k = 0; !ret && k < json_array_size(bufs); k++)
				ret = load_buffer(m, (unsigned int)i,
						  json_array_get(bufs, k), where, k,
						  &ids, false);
			continue;
		}
		if (!json_is_object(o))
			return bad("%s is not an object", where);
		name = json_string_value(json_object_get(o, "name"));
		if (!name || !*name || strlen(name) >= 32)
			return bad("%s: bad name", where);
		ret = get_u64(o, "vram_base_mfn", 1ull << (m->paddr_bits - 12),
			      &base, where);
		if (!ret)
			ret = get_u64(o, "vram_pages", 1ull << 28, &pages, where);
		if (ret)
			return ret;
		if (!pages || (pages & (pages - 1)) || (base & (pages - 1)))
			return bad("%s: VRAM must be a naturally aligned power "
				   "of two", where);
		for (size_t k = 0; k < m->frames.nr; k++) {
			const struct sim_frame_run *r = &m->frames.runs[k];

			if (r->owner == SIM_OWNER_IO && r->dev == (int32_t)i &&
			    (r->start < base || r->start + r->count > base + pages))
				return bad("%s: frames of device %zu lie outside "
					   "its BAR", where, i);
		}
		if (!sim_mem_owned_by(m, base, pages, SIM_OWNER_IO))
			return bad("%s: its BAR is not device MMIO in frames",
				   where);
		ret = sim_gpu_add(m, name, pages << 12, base);
		if (!ret && json_object_get(o, "free"))
			ret = load_free(&m->gpus[i]->buddy, json_object_get(o, "free"),
					where);
	}
	sim_map_free(&ids);
	return ret;
}

/* What a domain refers to must exist: its grantees. Its derived state
 * (AMD-Vi's own tables) is built again. */
int sim_persist_check_domain(struct sim_model *m, struct sim_domain *d)
{
	for (size_t k = 0; k < d->nr_grants; k++)
		if (!sim_dom_known(m, d->grants[k].grantee))
			return bad("grant %u of %s is to a domain that does not "
				   "exist", d->grants[k].gref, d->name);
	if (sim_iommu_mode(m, d) == XGM_IOMMU_SEPARATE)
		return sim_iommu_rebuild(m, d);
	return 0;
}

/* Every frame owner must be a domain that exists; every reference must be
 * on an existing frame. Loads no domain. */
int sim_persist_check_host(struct sim_model *m, size_t nr_doms)
{
	if (!sim_dom_known(m, 0))
		return bad("there is no dom0");
	if (m->next_domid < nr_doms)
		return bad("host: next_domid is below the domains' ids");
	for (size_t i = 0; i < m->frames.nr; i++) {
		uint32_t o = m->frames.runs[i].owner;

		if (o < SIM_OWNER_IO && !sim_dom_known(m, o))
			return bad("frames[%zu] belong to domain %u, which does "
				   "not exist", i, o);
		if (o == SIM_OWNER_IO && m->frames.runs[i].dev >= (int32_t)m->nr_gpus)
			return bad("frames[%zu] belong to device %d, which does "
				   "not exist", i, m->frames.runs[i].dev);
	}
	return 0;
}

static int load_extensions(struct sim_model *m, json_t *body)
{
	json_t *a, *v;
	size_t i;
	int ret = get_array(body, "extensions", &a, "host");

	json_array_foreach(a, i, v) {
		unsigned int bit;

		if (ret)
			break;
		if (sim_ext_parse(json_string_value(v), &bit) ||
		    (m->extensions & bit))
			return bad("host: extensions[%zu] is unknown or repeated",
				   i);
		m->extensions |= bit;
	}
	return ret;
}

/* Page references: runs [mfn, count, refs], or [mfn, refs] a frame. */
static int load_refs(struct sim_model *m, json_t *body)
{
	uint64_t max_mfn = (1ull << (m->paddr_bits - 12)) - 1;
	const struct runs_form f = {
		.key = "refs", .wide = 3,
		.max = { max_mfn, max_mfn + 1, UINT32_MAX },
		.min_val0 = 1,
	};

	return load_runs_form(body, &f, &m->refs, "host");
}

/* The host's own fields: everything but the domains, the buffers and the
 * store, which a database keeps as rows of their own. */
int sim_persist_load_host(json_t *body, struct sim_model **out)
{
	struct sim_model *m;
	const char *iommu;
	uint64_t v;
	int ret;

	if (!json_is_object(body))
		return bad("the model is not an object");
	m = sim_model_new();
	if (!m)
		return -ENOMEM;
	ret = get_u64(body, "format", MODEL_FORMAT, &v, "host");
	if (!ret && v != MODEL_FORMAT)
		ret = bad("unknown model format %llu", (unsigned long long)v);
	if (!ret)
		ret = get_u64(body, "paddr_bits", 52, &v, "host");
	if (!ret && v < 36)
		ret = bad("paddr_bits %llu is too small", (unsigned long long)v);
	m->paddr_bits = (unsigned int)v;
	if (!ret)
		ret = get_raw64(body, "seed", &m->seed, "host");
	iommu = json_string_value(json_object_get(body, "iommu"));
	if (!ret && xgm_iommu_vendor_parse(iommu, &m->iommu))
		ret = bad("host: \"iommu\" must be \"intel\" or \"amd\"");
	if (!ret && sim_xen_parse(json_string_value(json_object_get(body,
						"xen_version")), &m->xen_version))
		ret = bad("host: \"xen_version\" must be 4.17.0 to 4.17.7 or "
			  "master");
	if (!ret)
		ret = load_extensions(m, body);
	/* Xen's default when absent (and in files older than the option). */
	if (!ret && json_object_get(body, "gnttab_max_frames")) {
		ret = get_u64(body, "gnttab_max_frames", SIM_GNTTAB_FRAMES_LIMIT,
			      &v, "host");
		if (!ret && !v)
			ret = bad("host: \"gnttab_max_frames\" must be at least 1");
		m->gnttab_max_frames = (unsigned int)v;
	}
	if (!ret)
		ret = get_u64(body, "ram_pages", 1ull << 40, &m->ram_pages, "host");
	if (!ret)
		ret = get_u64(body, "xen_pages", 1ull << 40, &m->xen_pages, "host");
	if (!ret)
		ret = get_u64(body, "next_domid", 0x7FF0, &v, "host");
	m->next_domid = (uint32_t)v;
	if (!ret)
		ret = get_u64(body, "next_buf_id", INT64_MAX, &m->next_buf_id,
			      "host");
	if (!ret)
		ret = get_u64(body, "clock", INT64_MAX, &m->clock, "host");
	if (!ret && sim_counters_from_json(json_object_get(body, "host_counters"),
					   &m->host_ctr))
		ret = bad("host: bad host_counters");
	if (!ret && json_object_get(body, "domain_counters") &&
	    sim_counters_from_json(json_object_get(body, "domain_counters"),
				   &m->dom_ctr_base))
		ret = bad("host: bad domain_counters");
	if (!ret)
		ret = load_frames(m, body);
	if (!ret)
		ret = load_gpus(m, body, false);
	if (!ret)
		ret = load_refs(m, body);
	if (ret) {
		sim_model_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

int sim_persist_store_check(const char *path, json_t *value)
{
	if (!json_is_string(value) || path[0] != '/')
		return bad("store: \"%.64s\" must be an absolute path with a "
			   "string value", path);
	return 0;
}

static int load_store(struct sim_model *m, json_t *body)
{
	json_t *store = json_object_get(body, "store"), *val;
	const char *k;

	if (!json_is_object(store))
		return bad("host: \"store\" must be an object");
	json_object_foreach(store, k, val)
		if (sim_persist_store_check(k, val))
			return -EBADMSG;
	json_decref(m->store);
	m->store = json_deep_copy(store);
	return m->store ? 0 : -ENOMEM;
}

int sim_persist_load(json_t *body, struct sim_model **out)
{
	struct sim_model *m;
	json_t *doms;
	int ret = sim_persist_load_host(body, &m);

	if (ret)
		return ret;
	ret = load_store(m, body);
	if (!ret)
		ret = get_array(body, "domains", &doms, "host");
	for (size_t i = 0; !ret && i < json_array_size(doms); i++)
		ret = sim_persist_load_domain(m, json_array_get(doms, i), i, NULL);
	/* The whole form derives what the rows keep: the domains' counters'
	 * sum, the free VRAM and dom0's buffer pfns (from the buffers). */
	memset(&m->dom_ctr_base, 0, sizeof(m->dom_ctr_base));
	for (size_t i = 0; !ret && i < m->nr_doms; i++) {
		ret = sim_persist_check_domain(m, m->doms[i]);
		sim_counters_add(&m->dom_ctr_base, &m->doms[i]->ctr);
		sim_rs_free(&m->doms[i]->gpu_pfns);
	}
	for (size_t i = 0; !ret && i < m->nr_gpus; i++) {
		struct sim_buddy *bd = &m->gpus[i]->buddy;

		sim_buddy_fini(bd);
		ret = sim_buddy_init(bd, m->gpus[i]->vram_pages);
	}
	if (!ret)
		ret = sim_persist_check_host(m, m->nr_doms);
	if (!ret)
		ret = load_gpus(m, body, true);
	if (ret) {
		sim_model_free(m);
		return ret;
	}
	*out = m;
	return 0;
}
