// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The invariant checker. Each finding names its check, a severity and the
 * objects involved. The checks, in order:
 *   record-matches-p2m   every frame of a mapped blob is in the p2m with
 *                        the strategy's type and the blob's backing frame
 *   record-matches-plan  no more 2M entries than Xen's rules allow (fewer
 *                        is Xen's fallback over tables a 4K mapping left)
 *   entries-exceed-plan  a warning: more entries than the plan, superpages
 *                        lost to an earlier 4K mapping, with what every
 *                        remap costs for it
 *   record-matches-iommu separate IOMMU tables mirror the p2m
 *   backing-current      the buffer still lives where the record says (a
 *                        driver that moved it behind our back = stale map)
 *   blob-in-window       no blob leaves its domain's window
 *   blob-overlap         no two blobs share a gfn
 *   frame-owner          every backing frame belongs to whom the strategy
 *                        says (VRAM to the device, RAM to dom0 or, after a
 *                        transfer, to the guest) and ram-mmio holds its
 *                        page reference (skipped offline: a dump has no
 *                        frame table)
 *   orphan-special-entry every p2m entry in a window has a record (special
 *                        ones, and RAM a transfer left: a window holds no
 *                        guest RAM of its own), reported as runs, the first
 *                        16, then a total
 *   orphan-ioreq-claim   every gfn our ioreq server claims in a window has
 *                        a record
 *   orphan-grant         every grant in dom0's table is one a blob record
 *                        names (a grant nobody knows of is never revoked)
 *   blob-domain          every blob's domain exists
 *   dump-sections        offline: the dump's blobs section and its store
 *                        agree (an edited or cut dump does not)
 *   journal-open         an interrupted operation awaits recover
 *   orphan-buffer        a GPU buffer no record names (a command was killed
 *                        between allocating it and writing its id down)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/inspect.h"
#include "core/plan.h"

static void finding(json_t *out, const char *sev, const char *check,
		    json_t *objects, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void finding(json_t *out, const char *sev, const char *check,
		    json_t *objects, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:o}", "severity", sev,
					     "check", check, "message", msg,
					     "objects", objects ? objects : json_object()));
}

/* What could put the last finding right, for the caller to word. */
static void with_remedy(json_t *out, enum xgm_remedy r, const char *arg)
{
	json_t *f = json_array_get(out, json_array_size(out) - 1);

	json_object_set_new(f, "remedy", json_string(xgm_remedy_name(r)));
	json_object_set_new(f, "remedy_arg", json_string(arg ? arg : ""));
}

static json_t *blob_ref(const struct blob *b)
{
	char id[96];

	snprintf(id, sizeof(id), "%s:%u", b->dom_name, b->n);
	return json_pack("{s:s,s:I}", "blob", id, "gfn", (json_int_t)b->gfn);
}

/* Where page i of a blob is backed. The walks ask for pages in gfn
 * order, so the extent found last is where the next search starts: a
 * blob of many extents (scattered RAM) costs its pages, not their square. */
struct backing_cursor {
	size_t k;
	uint64_t base; /* the blob page that extent k starts at */
};

static uint64_t backing_mfn(const struct blob *b, struct backing_cursor *c,
			    uint64_t i)
{
	if (i < c->base)
		*c = (struct backing_cursor){ 0 };
	while (c->k < b->nr_ext && i >= c->base + b->ext[c->k].nr)
		c->base += b->ext[c->k++].nr;
	return c->k < b->nr_ext ? b->ext[c->k].mfn + (i - c->base) : UINT64_MAX;
}

struct leaf_check {
	const struct blob *b;
	unsigned int want_type;
	uint64_t covered, bad, e4k, e2m, bad_emt;
	struct xgm_p2m_entry first_bad, first_bad_emt;
	struct backing_cursor at;
};

struct iommu_check {
	uint64_t covered, bad;
	struct backing_cursor at;
};

/* What the walks of its domain saw of one blob. */
struct seen {
	struct leaf_check p2m;
	struct iommu_check io;
	bool walked;        /* its domain's p2m was walked for it */
	bool io_walked;     /* and separate IOMMU tables were */
	char p2m_err[256];  /* the walk failed, saying this */
	char io_err[256];
};

/* The frames of e that are b's: [*from, *to) as offsets into e. */
static bool overlap(const struct xgm_p2m_entry *e, const struct blob *b,
		    uint64_t *from, uint64_t *to)
{
	uint64_t s = e->gfn, end = e->gfn + (1ULL << e->order);

	if (end <= b->gfn || s >= b->gfn + b->nr)
		return false;
	*from = (b->gfn > s ? b->gfn : s) - s;
	*to = (b->gfn + b->nr < end ? b->gfn + b->nr : end) - s;
	return true;
}

/* The memory type Xen gives each type: mmio_direct UC with the guest's
 * PAT (EPT; 4.17.0-4.17.4 ignore the PAT for a BAR: UC with ipat) or UC-
 * (NPT); grant and foreign entries WB, PAT ignored. */
static bool memtype_ok(const struct xgm_p2m_entry *e)
{
	switch (e->type) {
	case XGM_P2M_MMIO_DIRECT:
		return e->emt == XGM_MT_UC || e->emt == XGM_MT_UC_MINUS;
	case XGM_P2M_GRANT_MAP_RW:
	case XGM_P2M_GRANT_MAP_RO:
	case XGM_P2M_MAP_FOREIGN:
		return e->emt == XGM_MT_WB;
	default:
		return true;
	}
}

static void leaf_account(struct leaf_check *c, const struct xgm_p2m_entry *e)
{
	const struct blob *b = c->b;
	uint64_t from, to;

	if (!overlap(e, b, &from, &to))
		return;
	if (!memtype_ok(e) && !c->bad_emt++)
		c->first_bad_emt = *e;
	if (e->order == 0)
		c->e4k++;
	else if (e->order == XGM_ORDER_2M)
		c->e2m++;
	for (uint64_t k = from; k < to; k++) {
		uint64_t i = e->gfn + k - b->gfn;

		c->covered++;
		if ((e->type != c->want_type ||
		     e->mfn + k != backing_mfn(b, &c->at, i)) && !c->bad++)
			c->first_bad = *e;
	}
}

static void check_frames(struct xgm_ctx *ctx, const struct blob *b,
			 const char *id, json_t *out)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	uint32_t want, owner;
	uint64_t refs, bad = 0, unref = 0, first_bad = 0;

	if (!hv->frame_owner)
		return;
	if (b->strategy == STRAT_TRANSFER)
		want = b->domid;
	else if (b->placement == XGM_PLACE_VRAM)
		want = XGM_OWNER_IO;
	else
		want = 0; /* dom0's RAM */
	for (size_t i = 0; i < b->nr_ext; i++) {
		for (uint64_t k = 0; k < b->ext[i].nr; k++) {
			uint64_t mfn = b->ext[i].mfn + k;
			int ret = hv->frame_owner(ctx->priv, mfn, &owner, &refs);

			if (ret == -EOPNOTSUPP) /* a dump that recorded none */
				return;
			if (ret || owner != want) {
				if (!bad++)
					first_bad = mfn;
			} else if (b->strategy == STRAT_RAM_MMIO && !refs) {
				unref++;
			}
		}
	}
	xgm_clear_error();
	if (bad)
		finding(out, "error", "frame-owner", blob_ref(b),
			"blob %s: %llu backing frames (first mfn 0x%llx) are not "
			"owned by %s: the guest may reach memory that is free or "
			"someone else's", id, (unsigned long long)bad,
			(unsigned long long)first_bad,
			want == XGM_OWNER_IO ? "the GPU" : want ? "the guest" : "dom0");
	if (unref)
		finding(out, "error", "frame-owner", blob_ref(b),
			"blob %s: %llu ram-mmio frames hold no page reference: "
			"they could be freed while mapped", id,
			(unsigned long long)unref);
}

static void iommu_account(struct iommu_check *c, const struct blob *b,
			  const struct xgm_p2m_entry *e)
{
	uint64_t from, to;

	if (!overlap(e, b, &from, &to))
		return;
	for (uint64_t k = from; k < to; k++) {
		c->covered++;
		if (e->mfn + k != backing_mfn(b, &c->at, e->gfn + k - b->gfn))
			c->bad++;
	}
}

/* The blob holds more entries than its plan: an earlier 4K mapping (a
 * grant, an unaligned blob, a ram-mmio phase) left tables in its 2M slots
 * and Xen retries there at 4K for good. Not wrong, but it costs on every
 * remap, which the warning says. */
static void superpages_lost(struct xgm_ctx *ctx, const struct blob *b,
			    const char *id, const struct leaf_check *c,
			    const struct plan *p, const struct strategy_ops *st,
			    json_t *out)
{
	uint64_t real = c->e4k + c->e2m, planned = p->entries_4k + p->entries_2m;
	uint64_t calls = st->per_call ? (real + st->per_call - 1) / st->per_call :
					real;
	struct xgm_counters extra = {
		.p2m_entries = real - planned,
		.hypercalls = calls > p->calls ? calls - p->calls : 0,
	};
	double ns = hv_modeled_ns(ctx, &extra);
	char cost[64] = "";

	if (ns >= 0)
		snprintf(cost, sizeof(cost), ", ~%.0f us modeled", ns / 1e3);
	finding(out, "warning", "entries-exceed-plan", blob_ref(b),
		"blob %s: the p2m holds %llu entries (%llu 4K, %llu 2M) where "
		"its plan has %llu (%llu 2M): an earlier 4K mapping left "
		"tables in its 2M slots and Xen maps there at 4K for good; "
		"every map and unmap costs %llu more entries and %llu more "
		"hypercalls%s", id, (unsigned long long)real,
		(unsigned long long)c->e4k, (unsigned long long)c->e2m,
		(unsigned long long)planned, (unsigned long long)p->entries_2m,
		(unsigned long long)extra.p2m_entries,
		(unsigned long long)extra.hypercalls, cost);
}

/* With separate IOMMU tables (AMD-Vi) every p2m change must have been
 * mirrored: a device must reach exactly what the guest's CPU reaches. */
static void check_iommu(const struct blob *b, const struct seen *s,
			const char *id, json_t *out)
{
	if (*s->io_err)
		finding(out, "error", "record-matches-iommu", blob_ref(b),
			"blob %s: cannot read the IOMMU tables: %s", id,
			s->io_err);
	else if (s->io_walked &&
		 (s->io.covered != s->p2m.covered || s->io.bad))
		finding(out, "error", "record-matches-iommu", blob_ref(b),
			"blob %s: the IOMMU maps %llu frames (%llu wrong) where "
			"the p2m maps %llu", id, (unsigned long long)s->io.covered,
			(unsigned long long)s->io.bad,
			(unsigned long long)s->p2m.covered);
}

static unsigned int wanted_type(enum strategy s)
{
	switch (s) {
	case STRAT_MMIO:
	case STRAT_RAM_MMIO:
	case STRAT_REVOKE_FAULT:
		return XGM_P2M_MMIO_DIRECT;
	case STRAT_GRANT:
		return XGM_P2M_GRANT_MAP_RW;
	case STRAT_TRANSFER:
		return XGM_P2M_RAM_RW; /* the pages are the guest's now */
	default:
		return XGM_P2M_NR_TYPES; /* ioreq: nothing may be mapped */
	}
}

/* What the walks of its domain saw (s) against what b's record says. */
static void check_blob(struct xgm_ctx *ctx, const struct blob *b,
		       const struct seen *s, json_t *out)
{
	const struct strategy_ops *st = strategy_get(b->strategy);
	const struct leaf_check c = s->p2m;
	struct xgm_extent *now;
	size_t nr_now;
	int ret;
	struct window w;
	char id[96];

	snprintf(id, sizeof(id), "%s:%u", b->dom_name, b->n);
	if (strcmp(b->state, "mapped"))
		finding(out, "error", "blob-state", blob_ref(b),
			"blob %s is %s: an operation did not finish (run recover)",
			id, b->state);
	if (window_get(ctx, b->domid, &w))
		finding(out, "error", "blob-in-window", blob_ref(b),
			"blob %s has no recorded window", id);
	else if (b->gfn < w.gfn || b->gfn + b->nr > w.gfn + w.nr)
		finding(out, "error", "blob-in-window", blob_ref(b),
			"blob %s (gfn 0x%llx..0x%llx) leaves its window", id,
			(unsigned long long)b->gfn,
			(unsigned long long)(b->gfn + b->nr - 1));
	xgm_clear_error();

	/* The buffer must still be where the record says. */
	ret = gpu_extents(ctx, b->buf, &now, &nr_now);
	if (ret == -EREMOTE) {
		finding(out, "warning", "backing-current", blob_ref(b),
			"blob %s: its buffer %llu is held by another running "
			"process (%s): run check there", id,
			(unsigned long long)b->buf, xgm_last_error());
	} else if (ret) {
		finding(out, "error", "backing-current", blob_ref(b),
			"blob %s: its buffer %llu is gone (freed behind xgpumap's "
			"back): the guest may reach a frame it no longer owns",
			id, (unsigned long long)b->buf);
	} else {
		bool same = nr_now == b->nr_ext &&
			    !memcmp(now, b->ext, nr_now * sizeof(*now));

		if (!same)
			finding(out, "error", "backing-current", blob_ref(b),
				"blob %s: its buffer moved (now at mfn 0x%llx) but "
				"the guest still maps the old frames", id,
				(unsigned long long)now[0].mfn);
		free(now);
	}
	xgm_clear_error();
	check_frames(ctx, b, id, out);

	if (*s->p2m_err) {
		finding(out, "error", "record-matches-p2m", blob_ref(b),
			"blob %s: cannot read the p2m: %s", id, s->p2m_err);
		return;
	}
	/* revoke-fault maps chunks on first touch: any part may be absent,
	 * but what is there must be right. */
	if (st->maps_nothing ? c.covered != 0 :
	    b->strategy != STRAT_REVOKE_FAULT && c.covered != b->nr)
		finding(out, "error", "record-matches-p2m", blob_ref(b),
			"blob %s: %llu of %llu frames are mapped (strategy %s "
			"maps %s)", id, (unsigned long long)c.covered,
			(unsigned long long)b->nr, st->name,
			st->maps_nothing ? "none" : "all");
	check_iommu(b, s, id, out);
	if (c.bad_emt)
		finding(out, "error", "record-matches-p2m", blob_ref(b),
			"blob %s: %llu entries have a memory type Xen does not "
			"give %s (first at gfn 0x%llx: %s%s)", id,
			(unsigned long long)c.bad_emt,
			p2m_type_str(c.first_bad_emt.type),
			(unsigned long long)c.first_bad_emt.gfn,
			mem_type_str(c.first_bad_emt.emt),
			c.first_bad_emt.ipat ? " ipat" : "");
	if (c.bad)
		finding(out, "error", "record-matches-p2m", blob_ref(b),
			"blob %s: %llu frames map something else (first at gfn "
			"0x%llx: type %s, mfn 0x%llx)", id,
			(unsigned long long)c.bad, (unsigned long long)c.first_bad.gfn,
			p2m_type_str(c.first_bad.type),
			(unsigned long long)c.first_bad.mfn);
	if (!c.bad && c.covered == b->nr && b->strategy != STRAT_REVOKE_FAULT) {
		struct plan p;

		if (!plan_build(b->gfn, b->ext, b->nr_ext, st->max_order,
				st->per_call, &p)) {
			/* Fewer 2M entries than planned is Xen's own fallback
			 * where an earlier 4K mapping left tables (show says
			 * so); more than its rules allow is not. */
			if (c.e2m > p.entries_2m)
				finding(out, "error", "record-matches-plan", blob_ref(b),
					"blob %s: the p2m holds %llu 2M entries where "
					"Xen's rules allow at most %llu (gfn and mfn "
					"must both be 2M-aligned)", id,
					(unsigned long long)c.e2m,
					(unsigned long long)p.entries_2m);
			else if (c.e4k + c.e2m > p.entries_4k + p.entries_2m)
				superpages_lost(ctx, b, id, &c, &p, st, out);
			plan_free(&p);
		}
	}
}

/* Orphaned special entries, coalesced into runs (contiguous gfn and mfn,
 * one type): deleting two records leaves thousands of entries, and each
 * run is reported once with its size. */
#define ORPHAN_RUNS_LISTED 16

struct orphan_check {
	uint32_t domid;
	json_t *out;
	uint64_t runs, frames;  /* totals */
	struct {
		uint64_t gfn, mfn, nr;
		unsigned int type;
	} run;                  /* the run being grown; nr 0 = none */
};

static void orphan_flush(struct orphan_check *o)
{
	char sz[XGM_SIZE_STR];

	if (!o->run.nr)
		return;
	if (o->runs++ < ORPHAN_RUNS_LISTED)
		finding(o->out, "error", "orphan-special-entry",
			json_pack("{s:i,s:I,s:I,s:I}", "domid", (int)o->domid,
				  "gfn", (json_int_t)o->run.gfn, "mfn",
				  (json_int_t)o->run.mfn, "frames",
				  (json_int_t)o->run.nr),
			"domain %u: %llu %s frames (%s) at gfn 0x%llx..0x%llx -> "
			"mfn 0x%llx in the blob window have no blob record",
			o->domid, (unsigned long long)o->run.nr,
			p2m_type_str(o->run.type), xgm_size_str(o->run.nr << 12, sz),
			(unsigned long long)o->run.gfn,
			(unsigned long long)(o->run.gfn + o->run.nr - 1),
			(unsigned long long)o->run.mfn);
	o->frames += o->run.nr;
	o->run.nr = 0;
}

/* An entry in the window that no blob holds whole. */
static void orphan_entry(struct orphan_check *o, const struct xgm_p2m_entry *e)
{
	uint64_t nr = 1ULL << e->order;

	if (o->run.nr && o->run.type == e->type &&
	    o->run.gfn + o->run.nr == e->gfn && o->run.mfn + o->run.nr == e->mfn) {
		o->run.nr += nr;
		return;
	}
	orphan_flush(o);
	o->run.gfn = e->gfn;
	o->run.mfn = e->mfn;
	o->run.nr = nr;
	o->run.type = e->type;
}

/* After the walk: the last run, and what the list left out, with totals
 * a script can read without counting. */
static void orphan_summary(struct orphan_check *o)
{
	char sz[XGM_SIZE_STR];

	orphan_flush(o);
	if (o->runs <= ORPHAN_RUNS_LISTED)
		return;
	finding(o->out, "error", "orphan-special-entry",
		json_pack("{s:i,s:I,s:I,s:I}", "domid", (int)o->domid,
			  "runs", (json_int_t)o->runs, "frames",
			  (json_int_t)o->frames, "runs_not_listed",
			  (json_int_t)(o->runs - ORPHAN_RUNS_LISTED)),
		"domain %u: ... and %llu more orphaned runs; %llu runs, %llu "
		"frames (%s) in all", o->domid,
		(unsigned long long)(o->runs - ORPHAN_RUNS_LISTED),
		(unsigned long long)o->runs, (unsigned long long)o->frames,
		xgm_size_str(o->frames << 12, sz));
	snprintf(sz, sizeof(sz), "%u", o->domid);
	with_remedy(o->out, XGM_REMEDY_P2M, sz);
}

/* ---- one walk of each domain's tables for all of its blobs ------------- */

struct dom_walk {
	const struct blob *g;    /* the domain's blobs, in gfn order */
	struct seen *s;          /* one per blob of g */
	size_t k, cur;           /* how many; the first that may still overlap */
	bool iommu;              /* the IOMMU's tables, not the p2m */
	struct orphan_check *o;  /* the blob window's orphans too, or NULL */
	uint64_t wfirst, wlast;
};

/* Entries come in gfn order: a blob that ended before one never sees
 * another, so an entry visits the blobs it overlaps (and, where records
 * overlap, which blob-overlap reports, the ones between). */
static int dom_leaf(const struct xgm_p2m_entry *e, void *arg)
{
	struct dom_walk *w = arg;
	uint64_t g0 = e->gfn, g1 = e->gfn + (1ULL << e->order);
	bool held = false;

	while (w->cur < w->k && w->g[w->cur].gfn + w->g[w->cur].nr <= g0)
		w->cur++;
	for (size_t j = w->cur; j < w->k && w->g[j].gfn < g1; j++) {
		const struct blob *b = &w->g[j];

		if (w->iommu)
			iommu_account(&w->s[j].io, b, e);
		else
			leaf_account(&w->s[j].p2m, e);
		held |= g0 >= b->gfn && g1 <= b->gfn + b->nr;
	}
	if (w->o && !held && g1 > w->wfirst && g0 <= w->wlast)
		orphan_entry(w->o, e);
	return 0;
}

/* The gfns of k blobs, [*first, *last]; false when k is 0. */
static bool blobs_span(const struct blob *g, size_t k, uint64_t *first,
		       uint64_t *last)
{
	*first = UINT64_MAX;
	*last = 0;
	for (size_t j = 0; j < k; j++) {
		uint64_t end = g[j].gfn + (g[j].nr ? g[j].nr - 1 : 0);

		if (g[j].gfn < *first)
			*first = g[j].gfn;
		if (end > *last)
			*last = end;
	}
	return k > 0;
}

static void walk_failed(char *err, size_t len, int ret)
{
	snprintf(err, len, "%s", *xgm_last_error() ? xgm_last_error() :
		 strerror(-ret));
}

/* The IOMMU's view of g, where d has tables of its own: one walk. */
static void walk_iommu(struct xgm_ctx *ctx, const struct xgm_domain_info *d,
		       struct dom_walk *w)
{
	uint64_t first, last;
	int ret;

	if (!d || d->iommu != XGM_IOMMU_SEPARATE || !ctx->be->hv->iommu_walk ||
	    !blobs_span(w->g, w->k, &first, &last))
		return;
	w->cur = 0;
	w->iommu = true;
	w->o = NULL;
	ret = ctx->be->hv->iommu_walk(ctx->priv, d->domid, first, last,
				      dom_leaf, w);
	for (size_t j = 0; j < w->k; j++) {
		if (ret)
			walk_failed(w->s[j].io_err, sizeof(w->s[j].io_err), ret);
		w->s[j].io_walked = !ret;
	}
	xgm_clear_error();
}

/*
 * One walk of a domain's p2m for all of its blobs g (d: what the host says
 * of the domain, NULL if it does not know it), and with o the orphans of
 * its window win in the same walk; then one walk of its IOMMU. A p2m that
 * cannot be read is a finding of each blob, or with o the check's failure
 * (as a window that cannot be read always was).
 */
static int walk_domain(struct xgm_ctx *ctx, uint32_t domid,
		       const struct xgm_domain_info *d, const struct blob *g,
		       size_t k, struct seen *s, struct orphan_check *o,
		       const struct window *win)
{
	struct dom_walk w = { .g = g, .s = s, .k = k, .o = o };
	uint64_t first, last;
	bool any = blobs_span(g, k, &first, &last);
	int ret;

	for (size_t j = 0; j < k; j++) {
		s[j].p2m = (struct leaf_check){ .b = &g[j],
			.want_type = wanted_type(g[j].strategy) };
		s[j].walked = true;
	}
	if (o) {
		w.wfirst = win->gfn;
		w.wlast = win->gfn + win->nr - 1;
		first = any && first < w.wfirst ? first : w.wfirst;
		last = any && last > w.wlast ? last : w.wlast;
	} else if (!any) {
		return 0;
	}
	ret = hv_p2m_walk(ctx, domid, first, last, dom_leaf, &w);
	if (ret && o)
		return ret;
	for (size_t j = 0; ret && j < k; j++)
		walk_failed(s[j].p2m_err, sizeof(s[j].p2m_err), ret);
	xgm_clear_error();
	if (o)
		orphan_summary(o);
	if (!ret)
		walk_iommu(ctx, d, &w);
	return 0;
}

static int cmp_domid(const void *a, const void *b)
{
	const struct xgm_domain_info *x = a, *y = b;

	return x->domid < y->domid ? -1 : x->domid > y->domid;
}

static const struct xgm_domain_info *dom_find(const struct xgm_domain_info *by_id,
					      size_t nd, uint32_t domid)
{
	struct xgm_domain_info key = { .domid = domid };

	return nd ? bsearch(&key, by_id, nd, sizeof(*by_id), cmp_domid) : NULL;
}

/* The first of the blobs (by domid, then gfn) of domid, or n. */
static size_t group_start(const struct blob *all, size_t n, uint32_t domid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (all[mid].domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t group_end(const struct blob *all, size_t n, size_t i)
{
	size_t e = i;

	while (e < n && all[e].domid == all[i].domid)
		e++;
	return e;
}

/* A blob of a domain the host does not have: destroyed with its blobs
 * mapped, or a dump whose domains section lost it. */
static void check_domains(const struct blob *all, size_t n,
			  const struct xgm_domain_info *by_id, size_t nd,
			  json_t *out)
{
	for (size_t i = 0; i < n; i++)
		if (!dom_find(by_id, nd, all[i].domid))
			finding(out, "error", "blob-domain", blob_ref(&all[i]),
				"blob %s:%u belongs to domain %u (%s), which the "
				"host does not have", all[i].dom_name, all[i].n,
				all[i].domid, all[i].dom_name);
}

/* Blob ids ordered (domid, n): both sides of the comparison are sorted
 * and looked up by bisection, so a dump's check is O(n log n), not O(n^2). */
static int cmp_id(uint32_t d1, uint32_t n1, uint32_t d2, uint32_t n2)
{
	return d1 != d2 ? (d1 > d2) - (d1 < d2) : (n1 > n2) - (n1 < n2);
}

static int cmp_source(const void *a, const void *b)
{
	const struct xgm_source_blob *x = a, *y = b;

	return cmp_id(x->domid, x->n, y->domid, y->n);
}

struct blob_id {
	uint32_t domid, n;
};

static int cmp_blob_id(const void *a, const void *b)
{
	const struct blob_id *x = a, *y = b;

	return cmp_id(x->domid, x->n, y->domid, y->n);
}

static const struct xgm_source_blob *source_find(const struct xgm_source_blob *sb,
						 size_t n, uint32_t domid,
						 uint32_t num)
{
	struct xgm_source_blob key = { .domid = domid, .n = num };

	return n ? bsearch(&key, sb, n, sizeof(*sb), cmp_source) : NULL;
}

/* A source that describes the blobs twice (a dump: the records in its
 * store and the "blobs" section) must describe them alike; an edited or
 * cut dump does not, and what it says cannot be trusted. */
static void check_source(struct xgm_ctx *ctx, const struct blob *all, size_t n,
			 const char *dom, uint32_t domid, json_t *out)
{
	struct xgm_source_blob *sb;
	struct blob_id *ids;
	size_t ns;
	int ret;

	if (!ctx->be->hv->source_blobs)
		return;
	ret = ctx->be->hv->source_blobs(ctx->priv, &sb, &ns);
	if (ret) {
		finding(out, "error", "dump-sections", NULL, "%s",
			*xgm_last_error() ? xgm_last_error() :
			"the dump's blobs section cannot be read");
		xgm_clear_error();
		return;
	}
	ids = calloc(n + 1, sizeof(*ids));
	if (!ids) {
		free(sb);
		finding(out, "error", "dump-sections", NULL, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		ids[i] = (struct blob_id){ all[i].domid, all[i].n };
	qsort(ids, n, sizeof(*ids), cmp_blob_id);
	if (ns)
		qsort(sb, ns, sizeof(*sb), cmp_source);
	for (size_t i = 0; i < n; i++) {
		const struct xgm_source_blob *s = source_find(sb, ns, all[i].domid,
							      all[i].n);
		const char *what = !s ? NULL :
			s->gfn != all[i].gfn ? "gfn" :
			s->size != all[i].size ? "size" :
			strcmp(s->strategy, strategy_name(all[i].strategy)) ? "strategy" :
			strcmp(s->placement, placement_name(all[i].placement)) ?
			"placement" : NULL;

		if (!s)
			finding(out, "error", "dump-sections", blob_ref(&all[i]),
				"blob %s:%u is in the dump's store but not in its "
				"blobs section: the dump was edited or cut",
				all[i].dom_name, all[i].n);
		else if (what)
			finding(out, "error", "dump-sections", blob_ref(&all[i]),
				"blob %s:%u: the dump's blobs section and its store "
				"disagree on the %s: the dump was edited",
				all[i].dom_name, all[i].n, what);
	}
	for (size_t i = 0; i < ns; i++) {
		struct blob_id key = { sb[i].domid, sb[i].n };

		if (dom && sb[i].domid != domid)
			continue;
		if (!n || !bsearch(&key, ids, n, sizeof(*ids), cmp_blob_id))
			finding(out, "error", "dump-sections",
				json_pack("{s:i,s:i}", "domid", (int)sb[i].domid,
					  "n", (int)sb[i].n),
				"the dump's blobs section lists blob %u:%u, which "
				"its store has no record of: the dump was edited",
				sb[i].domid, sb[i].n);
	}
	free(ids);
	free(sb);
}

/* Claims of our ioreq server in the window that no record covers: the
 * guest's accesses there trap to a server that answers for nobody. */
static void check_claims(struct xgm_ctx *ctx, uint32_t domid,
			 const struct window *w, const struct blob *all,
			 size_t n, json_t *out)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct xgm_gfn_range *r = NULL;
	size_t nr = 0;

	if (!hv->ioreq_list || hv->ioreq_list(ctx->priv, domid, &r, &nr)) {
		xgm_clear_error();
		return;
	}
	for (size_t i = 0; i < nr; i++) {
		uint64_t g = r[i].first > w->gfn ? r[i].first : w->gfn;
		uint64_t last = r[i].last < w->gfn + w->nr - 1 ? r[i].last :
				w->gfn + w->nr - 1;

		/* Walk the claim past the records that cover it; they are
		 * in gfn order, so one pass finds each in turn. */
		for (size_t k = 0; k < n && g <= last; k++)
			if (all[k].domid == domid && all[k].gfn <= g &&
			    g < all[k].gfn + all[k].nr)
				g = all[k].gfn + all[k].nr;
		if (g > last)
			continue;
		finding(out, "error", "orphan-ioreq-claim",
			json_pack("{s:i,s:I}", "domid", (int)domid, "gfn", (json_int_t)g),
			"domain %u: the ioreq server claims gfn 0x%llx in the blob "
			"window, which no blob record covers", domid,
			(unsigned long long)g);
		with_remedy(out, XGM_REMEDY_RECOVER, NULL);
	}
	free(r);
}

static int cmp_key(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t gref_key(uint32_t grantee, uint32_t gref)
{
	return (uint64_t)grantee << 32 | gref;
}

/* Every grant the records name, as sorted keys: a table of G grants is
 * checked in G log G, not G times every record's pages. */
static uint64_t *recorded_grefs(const struct blob *all, size_t n, size_t *nk)
{
	uint64_t *keys;
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += all[i].grefs ? all[i].nr : 0;
	keys = malloc((total ? total : 1) * sizeof(*keys));
	if (!keys)
		return NULL;
	*nk = 0;
	for (size_t i = 0; i < n; i++)
		for (uint64_t k = 0; all[i].grefs && k < all[i].nr; k++)
			keys[(*nk)++] = gref_key(all[i].domid, all[i].grefs[k]);
	qsort(keys, *nk, sizeof(*keys), cmp_key);
	return keys;
}

static void check_grants(struct xgm_ctx *ctx, const struct blob *all, size_t n,
			 json_t *out)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct xgm_grant_info *g = NULL;
	size_t ng = 0, bad = 0;

	uint64_t *keys, key;
	size_t nk;

	if (!hv->grant_list || hv->grant_list(ctx->priv, &g, &ng)) {
		xgm_clear_error();
		return;
	}
	keys = recorded_grefs(all, n, &nk);
	for (size_t i = 0; keys && i < ng; i++) {
		key = gref_key(g[i].grantee, g[i].gref);
		if ((nk && bsearch(&key, keys, nk, sizeof(*keys), cmp_key)) ||
		    bad++ >= 16)
			continue;
		finding(out, "error", "orphan-grant",
			json_pack("{s:i,s:i,s:I}", "gref", (int)g[i].gref,
				  "domid", (int)g[i].grantee, "mfn", (json_int_t)g[i].mfn),
			"dom0's grant reference %u gives mfn 0x%llx to domain %u "
			"(mapped %u time(s)) and no blob record names it",
			g[i].gref, (unsigned long long)g[i].mfn, g[i].grantee,
			g[i].maps);
		with_remedy(out, XGM_REMEDY_RECOVER, NULL);
	}
	if (bad > 16)
		finding(out, "error", "orphan-grant", json_pack("{s:I}", "count",
			(json_int_t)bad), "... and %zu more grants no blob record "
			"names", bad - 16);
	free(keys);
	free(g);
}

/* Walks every domain's tables once for all of its blobs, each window's
 * orphans and claims (into domf) in the same pass. */
static int walk_all(struct xgm_ctx *ctx, const struct blob *all, size_t n,
		    const struct xgm_domain_info *doms, size_t nd,
		    const struct xgm_domain_info *by_id, const uint32_t *only,
		    struct seen *seen, json_t *domf)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < nd; i++) {
		struct orphan_check o = { doms[i].domid, domf };
		size_t gs = group_start(all, n, doms[i].domid), ge = gs;
		struct window w;

		if (!doms[i].translated || (only && doms[i].domid != *only) ||
		    window_get(ctx, doms[i].domid, &w))
			continue;
		if (gs < n && all[gs].domid == doms[i].domid)
			ge = group_end(all, n, gs);
		ret = walk_domain(ctx, doms[i].domid, &doms[i], &all[gs],
				  ge - gs, &seen[gs], &o, &w);
		if (!ret)
			check_claims(ctx, doms[i].domid, &w, &all[gs], ge - gs,
				     domf);
	}
	/* Blobs of a domain without a window, or one the host lacks. */
	for (size_t i = 0; !ret && i < n; i = group_end(all, n, i))
		if (!seen[i].walked)
			ret = walk_domain(ctx, all[i].domid,
					  dom_find(by_id, nd, all[i].domid),
					  &all[i], group_end(all, n, i) - i,
					  &seen[i], NULL, NULL);
	xgm_clear_error();
	return ret;
}

static int check_op(struct xgm_ctx *ctx, const char *dom, json_t **out)
{
	struct xgm_domain_info *doms = NULL, *by_id = NULL, only;
	struct seen *seen = NULL;
	struct blob *all = NULL;
	size_t n = 0, nd = 0;
	json_t *findings = NULL, *domf = NULL, *journal;
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	if (dom) {
		ret = domain_resolve(ctx, dom, &only);
		if (ret)
			return xgm_err(ret);
	}
	ret = blob_load_all(ctx, dom ? (int64_t)only.domid : -1, &all, &n) ?:
	      xgm_domain_list(ctx, &doms, &nd);
	if (ret)
		goto out;
	seen = calloc(n ? n : 1, sizeof(*seen));
	by_id = malloc((nd ? nd : 1) * sizeof(*by_id));
	if (!seen || !by_id) {
		ret = -ENOMEM;
		goto out;
	}
	if (nd)
		memcpy(by_id, doms, nd * sizeof(*by_id));
	qsort(by_id, nd, sizeof(*by_id), cmp_domid);
	findings = json_array();
	domf = json_array();
	ret = walk_all(ctx, all, n, doms, nd, by_id, dom ? &only.domid : NULL,
		       seen, domf);
	if (ret)
		goto out;
	for (size_t i = 0; i < n; i++) {
		check_blob(ctx, &all[i], &seen[i], findings);
		if (i + 1 < n && all[i + 1].domid == all[i].domid &&
		    all[i + 1].gfn < all[i].gfn + all[i].nr)
			finding(findings, "error", "blob-overlap", blob_ref(&all[i]),
				"blobs %s:%u and %s:%u overlap", all[i].dom_name,
				all[i].n, all[i + 1].dom_name, all[i + 1].n);
	}
	json_array_extend(findings, domf);
	check_domains(all, n, by_id, nd, findings);
	check_source(ctx, all, n, dom, dom ? only.domid : 0, findings);
	xgm_clear_error();
	if (!ret && !journal_list(ctx, &journal)) {
		size_t i;
		json_t *rec;

		json_array_foreach(journal, i, rec) {
			json_int_t seq = json_integer_value(json_object_get(rec, "seq"));
			char why[160];

			char arg[24];

			snprintf(arg, sizeof(arg), "%lld", (long long)seq);
			if (journal_problem(rec, why, sizeof(why))) {
				finding(findings, "error", "journal-open",
					json_pack("{s:I}", "seq", seq),
					"journal record %lld is malformed: %s",
					(long long)seq, why);
				with_remedy(findings, XGM_REMEDY_DISCARD, arg);
			} else {
				finding(findings, "error", "journal-open",
					json_pack("{s:I}", "seq", seq),
					"an interrupted %s (phase %s, journal record "
					"%lld) awaits recovery",
					json_string_value(json_object_get(rec, "op")),
					json_string_value(json_object_get(rec, "phase")),
					(long long)seq);
				with_remedy(findings, XGM_REMEDY_RECOVER, NULL);
			}
		}
		json_decref(journal);
	}
	if (!ret && !dom)
		check_grants(ctx, all, n, findings);
	if (!ret && !dom) {
		uint64_t *orph;
		size_t no;

		if (!orphan_buffers_of(ctx, all, n, &orph, &no)) {
			for (size_t i = 0; i < no; i++) {
				finding(findings, "error", "orphan-buffer",
					json_pack("{s:I}", "buf", (json_int_t)orph[i]),
					"GPU buffer %llu belongs to no blob: an "
					"interrupted command allocated it",
					(unsigned long long)orph[i]);
				with_remedy(findings, XGM_REMEDY_RECOVER, NULL);
			}
			free(orph);
		}
		xgm_clear_error();
	}
out:
	blob_free_all(all, n);
	free(doms);
	free(by_id);
	free(seen);
	json_decref(domf);
	if (ret) {
		json_decref(findings);
		return xgm_err(ret);
	}
	*out = findings;
	return 0;
}

XGM_API int xgm_check(struct xgm_ctx *ctx, const char *dom, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "check", out, "{s:s?}", "dom", dom));
	return XGM_OP(ctx, XGM_OP_READ, check_op(ctx, dom, out));
}
