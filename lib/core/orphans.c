// SPDX-License-Identifier: LGPL-2.1-only
/*
 * What nobody knows of, and the rule that keeps it safe.
 *
 *  - Orphaned buffers: a process killed between allocating a buffer and
 *    writing down its id (the journal's next phase) leaves a buffer that no
 *    record names: check reports it, recover frees it. A buffer an open
 *    journal record names is not an orphan: recover decides its fate.
 *  - Orphaned mappings: p2m entries, grant mappings, ioreq claims and
 *    extension mappings in a blob window that no blob record covers (a
 *    record lost behind the engine's back). recover undoes them with the
 *    strategies' own unmap, as detach would, before anything is freed.
 *  - The rule: a buffer is freed only when nothing still reaches its frames
 *    (no p2m or IOMMU entry of any domain but dom0's own view, no page
 *    reference, no grant). gpu_free() asks before every free.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buffer.h"
#include "core/exec.h"
#include "core/inspect.h"
#include "util/array.h"

/* Whether a record (bufs: the blobs' buffers, sorted) or a journal record
 * names buffer id. */
static bool named(uint64_t id, const uint64_t *bufs, size_t nb,
		  json_t *journal)
{
	json_t *rec;
	size_t i;

	if (buffer_ids_have(bufs, nb, id))
		return true;
	json_array_foreach(journal, i, rec) {
		json_t *b = json_object_get(rec, "buf"), *nbuf = json_object_get(rec, "new_buf");

		if ((json_is_integer(b) && (uint64_t)json_integer_value(b) == id) ||
		    (json_is_integer(nbuf) && (uint64_t)json_integer_value(nbuf) == id))
			return true;
	}
	return false;
}

int orphan_buffers_of(struct xgm_ctx *ctx, const struct blob *blobs,
		      size_t nb, uint64_t **out, size_t *count)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;
	json_t *journal = NULL;
	uint64_t *ids, *bufs;
	size_t n, k = 0;
	int ret;

	*out = NULL;
	*count = 0;
	if (!g->buf_list)
		return 0; /* this backend cannot tell */
	bufs = malloc((nb ? nb : 1) * sizeof(*bufs));
	if (!bufs)
		return -ENOMEM;
	for (size_t i = 0; i < nb; i++)
		bufs[i] = blobs[i].buf;
	qsort(bufs, nb, sizeof(*bufs), xgm_cmp_u64);
	ret = g->buf_list(ctx->priv, &ids, &n);
	if (ret) {
		free(bufs);
		return ret;
	}
	ret = journal_list(ctx, &journal);
	for (size_t i = 0; !ret && i < n; i++)
		if (!named(ids[i], bufs, nb, journal) &&
		    !buffer_is_existing(ctx, ids[i])) /* its creator's */
			ids[k++] = ids[i];
	free(bufs);
	json_decref(journal);
	if (ret || !k) {
		free(ids);
		return ret;
	}
	*out = ids;
	*count = k;
	return 0;
}

int orphan_buffers(struct xgm_ctx *ctx, uint64_t **out, size_t *count)
{
	struct blob *blobs = NULL;
	size_t nb = 0;
	int ret;

	*out = NULL;
	*count = 0;
	if (!ctx->be->gpu->buf_list)
		return 0;
	ret = blob_load_all(ctx, -1, &blobs, &nb);
	if (!ret)
		ret = orphan_buffers_of(ctx, blobs, nb, out, count);
	blob_free_all(blobs, nb);
	return ret;
}

/* ---- the rule: nothing reaches a frame that is freed ------------------- */

static int cmp_ext(const void *a, const void *b)
{
	const struct xgm_extent *x = a, *y = b;

	return x->mfn < y->mfn ? -1 : x->mfn > y->mfn;
}

struct reach {
	const struct xgm_extent *ext; /* the buffer's frames, by mfn */
	size_t n;
	const struct xgm_domain_info *d;
	const char *where;            /* "p2m" or "IOMMU" */
	uint64_t frames;              /* frames reached, in all */
	bool have;                    /* the first run reached: */
	char dom[XGM_DOMAIN_NAME_MAX];
	const char *table;
	unsigned int type;
	uint64_t gfn, gfn_last, mfn;
};

/* dom0's own view of its RAM and its identity map of device MMIO are how
 * the driver reaches the buffer, not mappings of it. */
static bool own_view(const struct xgm_domain_info *d,
		     const struct xgm_p2m_entry *e)
{
	if (!d->is_dom0)
		return false;
	return e->type == XGM_P2M_RAM_RW || e->type == XGM_P2M_RAM_RO ||
	       e->type == XGM_P2M_RAM_LOGDIRTY ||
	       (e->type == XGM_P2M_MMIO_DIRECT && e->gfn == e->mfn);
}

static void reached(struct reach *r, const struct xgm_p2m_entry *e,
		    uint64_t mfn, uint64_t nr)
{
	uint64_t gfn = e->gfn + (mfn - e->mfn);

	r->frames += nr;
	if (!r->have) {
		r->have = true;
		snprintf(r->dom, sizeof(r->dom), "%s", r->d->name);
		r->table = r->where;
		r->type = e->type;
		r->gfn = gfn;
		r->gfn_last = gfn + nr - 1;
		r->mfn = mfn;
	} else if (!strcmp(r->dom, r->d->name) && r->table == r->where &&
		   r->type == e->type && gfn == r->gfn_last + 1 &&
		   mfn == r->mfn + (r->gfn_last + 1 - r->gfn)) {
		r->gfn_last += nr; /* the same run goes on */
	}
}

/* The first of the extents (sorted by mfn) that ends at or after mfn. */
static size_t ext_from(const struct xgm_extent *ext, size_t n, uint64_t mfn)
{
	size_t a = 0, b = n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (ext[m].mfn + ext[m].nr - 1 < mfn)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

static bool ext_has(const struct xgm_extent *ext, size_t n, uint64_t mfn)
{
	size_t i = ext_from(ext, n, mfn);

	return i < n && ext[i].mfn <= mfn;
}

static int reach_leaf(const struct xgm_p2m_entry *e, void *arg)
{
	struct reach *r = arg;
	uint64_t lo = e->mfn, hi = e->mfn + (1ULL << e->order) - 1;
	size_t a;

	if (own_view(r->d, e))
		return 0;
	for (a = ext_from(r->ext, r->n, lo); a < r->n && r->ext[a].mfn <= hi; a++) {
		uint64_t s = r->ext[a].mfn > lo ? r->ext[a].mfn : lo;
		uint64_t t = r->ext[a].mfn + r->ext[a].nr - 1;

		if (t > hi)
			t = hi;
		reached(r, e, s, t - s + 1);
	}
	return 0;
}

/* Page references and grants that still hold a frame of the buffer. */
static int held(struct xgm_ctx *ctx, uint64_t buf, const struct xgm_extent *ext,
		size_t n)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct xgm_grant_info *g = NULL;
	size_t ng = 0;
	int ret = 0;

	for (size_t i = 0; hv->frame_owner && i < n; i++) {
		for (uint64_t k = 0; k < ext[i].nr; k++) {
			uint64_t refs = 0;
			uint32_t owner;

			if (hv->frame_owner(ctx->priv, ext[i].mfn + k, &owner, &refs))
				continue;
			if (refs)
				return xgm_fail(-EBUSY, "GPU buffer %llu is still "
						"mapped: mfn 0x%llx holds %llu page "
						"reference(s) of a mapping; it is not "
						"freed", (unsigned long long)buf,
						(unsigned long long)(ext[i].mfn + k),
						(unsigned long long)refs);
			if (owner != 0 && owner != XGM_OWNER_IO)
				return xgm_fail(-EBUSY, "GPU buffer %llu: mfn 0x%llx "
						"belongs to domain %u now; it is not "
						"freed", (unsigned long long)buf,
						(unsigned long long)(ext[i].mfn + k),
						owner);
		}
	}
	if (hv->grant_list)
		ret = hv->grant_list(ctx->priv, &g, &ng);
	for (size_t i = 0; !ret && i < ng; i++) {
		if (ext_has(ext, n, g[i].mfn))
			ret = xgm_fail(-EBUSY, "GPU buffer %llu: grant reference "
				       "%u still gives mfn 0x%llx to domain %u "
				       "(mapped %u time(s)); it is not freed",
				       (unsigned long long)buf, g[i].gref,
				       (unsigned long long)g[i].mfn, g[i].grantee,
				       g[i].maps);
	}
	free(g);
	return ret;
}

/* Whether the backend reads domid's p2m live. Where it answers from its own
 * record (stock Xen has no p2m read), reading the IOMMU tables at every
 * free would be a console dump each time, so the record is the answer. */
static bool p2m_live(struct xgm_ctx *ctx, uint32_t domid)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	char note[160];

	return !hv->p2m_source || hv->p2m_source(ctx->priv, domid, note,
						 sizeof(note)) == 1;
}

static int by_domid(const void *a, const void *b)
{
	const struct xgm_domain_info *x = a, *y = b;

	return (x->domid > y->domid) - (x->domid < y->domid);
}

/* The domains that may reach the frames of ext: those the backend names
 * (a superset), else every domain. */
static int reaching_domains(struct xgm_ctx *ctx, const struct xgm_extent *ext,
			    size_t n, struct xgm_domain_info **doms, size_t *nd)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	uint32_t *ids = NULL;
	size_t k = 0, nids;
	int ret;

	if (!hv->domains_reaching || !hv->domain_info)
		return xgm_domain_list(ctx, doms, nd);
	ret = hv->domains_reaching(ctx->priv, ext, n, &ids, &nids);
	if (ret)
		return xgm_err(ret);
	*doms = calloc(nids + 1, sizeof(**doms));
	if (!*doms)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < nids; i++) {
		ret = hv->domain_info(ctx->priv, ids[i], &(*doms)[k]);
		/* Gone since: it reaches nothing. */
		if (ret == -ESRCH) {
			xgm_clear_error();
			ret = 0;
		} else if (!ret) {
			k++;
		}
	}
	free(ids);
	if (ret) {
		free(*doms);
		return xgm_err(ret);
	}
	/* In domid order, as a list gives them: the first that reaches is
	 * the one a refusal names. */
	qsort(*doms, k, sizeof(**doms), by_domid);
	*nd = k;
	return 0;
}

/* 0 when nothing reaches the buffer's frames (ext, sorted by mfn) any more;
 * -EBUSY naming the first mapping that does. */
static int buffer_reached(struct xgm_ctx *ctx, uint64_t buf,
			  const struct xgm_extent *ext, size_t n)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct xgm_domain_info *doms;
	struct reach r = { .ext = ext, .n = n };
	size_t nd;
	int ret = reaching_domains(ctx, ext, n, &doms, &nd);

	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < nd; i++) {
		if (!doms[i].translated)
			continue;
		r.d = &doms[i];
		r.where = "p2m";
		ret = hv_p2m_walk(ctx, doms[i].domid, 0, UINT64_MAX, reach_leaf, &r);
		if (!ret && doms[i].iommu == XGM_IOMMU_SEPARATE && hv->iommu_walk &&
		    p2m_live(ctx, doms[i].domid)) {
			r.where = "IOMMU";
			/* Xen mirrors the p2m into these tables itself: one
			 * that cannot be read leaves the p2m as the answer. */
			if (hv->iommu_walk(ctx->priv, doms[i].domid, 0, UINT64_MAX,
					   reach_leaf, &r))
				xgm_clear_error();
		}
	}
	free(doms);
	if (!ret && r.have)
		ret = xgm_fail(-EBUSY, "GPU buffer %llu is still mapped: domain %s "
			       "maps its frames at gfn 0x%llx-0x%llx (mfn "
			       "0x%llx-0x%llx, %s in its %s)%s; it is not freed",
			       (unsigned long long)buf, r.dom,
			       (unsigned long long)r.gfn,
			       (unsigned long long)r.gfn_last,
			       (unsigned long long)r.mfn,
			       (unsigned long long)(r.mfn + r.gfn_last - r.gfn),
			       p2m_type_str(r.type), r.table,
			       r.frames > r.gfn_last - r.gfn + 1 ?
			       ", and more frames elsewhere" : "");
	return ret ?: held(ctx, buf, ext, n);
}

/* ---- orphaned mappings: undone as detach would undo them --------------- */

/* A run of orphaned gfns of one kind; its frames are ext[first, first+n)
 * of the pieces' shared extent list (none for an ioreq claim). */
struct piece {
	uint64_t gfn, nr;
	enum strategy s;
	unsigned int type;
	size_t first, n;
};

struct pieces {
	struct piece *p;
	size_t n, cap;
	struct xgm_extent *ext;
	size_t next, capext;
	struct xgm_ctx *ctx;
	const struct blob *blobs;     /* the domain's records, by gfn */
	size_t nb;
	uint32_t dom0;
};

/* A run as a walk finds it: gfns and, but for a claim, the first mfn. */
struct run {
	uint64_t gfn, nr, mfn;
	enum strategy s;
	unsigned int type;
};

static int grow(void *arr, size_t n, size_t *cap, size_t elem)
{
	void **a = arr, *q;
	size_t c = *cap ? 2 * *cap : 16;

	if (n < *cap)
		return 0;
	q = realloc(*a, c * elem);
	if (!q)
		return -ENOMEM;
	*a = q;
	*cap = c;
	return 0;
}

static int add_piece(struct pieces *ps, struct run r)
{
	struct piece *l = ps->n ? &ps->p[ps->n - 1] : NULL;
	struct xgm_extent *x;

	/* One kind, gfns that follow on: one piece, whatever the frames. */
	if (!l || l->s != r.s || l->type != r.type || l->gfn + l->nr != r.gfn) {
		if (grow(&ps->p, ps->n, &ps->cap, sizeof(*ps->p)))
			return -ENOMEM;
		l = &ps->p[ps->n++];
		*l = (struct piece){ r.gfn, 0, r.s, r.type, ps->next, 0 };
	}
	l->nr += r.nr;
	if (r.s == STRAT_IOREQ)
		return 0;
	x = l->n ? &ps->ext[l->first + l->n - 1] : NULL;
	if (x && x->mfn + x->nr == r.mfn) {
		x->nr += r.nr;
		return 0;
	}
	if (grow(&ps->ext, ps->next, &ps->capext, sizeof(*ps->ext)))
		return -ENOMEM;
	ps->ext[ps->next++] = (struct xgm_extent){ r.mfn, r.nr };
	l->n++;
	return 0;
}

/* The strategy whose map made an entry of this type; STRAT_NR when none
 * of ours makes it (a foreign mapping is not ours to undo). */
static enum strategy made_by(struct pieces *ps, const struct xgm_p2m_entry *e)
{
	const struct xgm_hv_ops *hv = ps->ctx->be->hv;
	uint32_t owner = XGM_OWNER_IO;

	switch (e->type) {
	case XGM_P2M_MMIO_DIRECT:
		/* VRAM through memory_mapping, or dom0 RAM through the
		 * ram-mmio extension: the frame's owner tells. */
		if (hv->frame_owner &&
		    hv->frame_owner(ps->ctx->priv, e->mfn, &owner, NULL))
			xgm_clear_error();
		return owner == ps->dom0 ? STRAT_RAM_MMIO : STRAT_MMIO;
	case XGM_P2M_GRANT_MAP_RW:
	case XGM_P2M_GRANT_MAP_RO:
		return STRAT_GRANT;
	case XGM_P2M_RAM_RW:
	case XGM_P2M_RAM_RO:
	case XGM_P2M_RAM_LOGDIRTY:
		return STRAT_TRANSFER; /* a window holds no guest RAM else */
	default:
		return STRAT_NR;
	}
}

/* Adds the parts of [gfn, gfn+nr) that no record covers. */
static int uncovered(struct pieces *ps, struct run p)
{
	for (size_t i = 0; i < ps->nb && p.nr; i++) {
		const struct blob *b = &ps->blobs[i];
		uint64_t end = p.gfn + p.nr;
		int ret;

		if (b->gfn + b->nr <= p.gfn || b->gfn >= end)
			continue;
		if (b->gfn > p.gfn) {
			struct run head = p;

			head.nr = b->gfn - p.gfn;
			ret = add_piece(ps, head);
			if (ret)
				return ret;
		}
		if (b->gfn + b->nr >= end)
			return 0;
		p.mfn += b->gfn + b->nr - p.gfn;
		p.nr = end - (b->gfn + b->nr);
		p.gfn = b->gfn + b->nr;
	}
	return p.nr ? add_piece(ps, p) : 0;
}

static int orphan_leaf(const struct xgm_p2m_entry *e, void *arg)
{
	struct pieces *ps = arg;
	struct run p = { e->gfn, 1ULL << e->order, e->mfn, made_by(ps, e), e->type };

	return p.s == STRAT_NR ? 0 : uncovered(ps, p);
}

/* The grant references behind a run of grant mappings. */
static int find_grefs(struct xgm_ctx *ctx, struct blob *b)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct xgm_grant_info *g = NULL;
	size_t ng = 0;
	int ret;

	if (!hv->grant_list)
		return xgm_fail(-EOPNOTSUPP, "this backend cannot list dom0's "
				"grants, so their references are unknown");
	ret = hv->grant_list(ctx->priv, &g, &ng);
	if (ret)
		return ret;
	b->grefs = malloc(b->nr * sizeof(*b->grefs));
	if (!b->grefs) {
		free(g);
		return -ENOMEM;
	}
	for (uint64_t i = 0, mfn, x = 0, off = 0; !ret && i < b->nr; i++, off++) {
		if (off == b->ext[x].nr) {
			x++;
			off = 0;
		}
		mfn = b->ext[x].mfn + off;
		b->grefs[i] = UINT32_MAX;
		for (size_t k = 0; k < ng; k++)
			if (g[k].grantee == b->domid && g[k].mfn == mfn && g[k].maps)
				b->grefs[i] = g[k].gref;
		if (b->grefs[i] == UINT32_MAX)
			ret = xgm_fail(-ENOENT, "no grant to domain %u covers "
				       "mfn 0x%llx", b->domid,
				       (unsigned long long)mfn);
	}
	free(g);
	return ret;
}

/* Unmaps one orphaned run with its strategy's own unmap. */
static int undo_piece(struct xgm_ctx *ctx, const struct xgm_domain_info *d,
		      const struct pieces *ps, const struct piece *p,
		      json_t *report)
{
	const struct strategy_ops *st = strategy_get(p->s);
	const struct xgm_extent *x = &ps->ext[p->first];
	struct blob b = {
		.domid = d->domid, .gfn = p->gfn, .nr = p->nr, .strategy = p->s,
		.placement = p->s == STRAT_MMIO ? XGM_PLACE_VRAM : XGM_PLACE_SYS,
		.ext = (struct xgm_extent *)x, .nr_ext = p->n,
	};
	const char *kind = p->s == STRAT_IOREQ ? "ioreq claim" : p2m_type_str(p->type);
	char what[256], frames[96] = "";
	int ret = 0;

	if (p->n == 1)
		snprintf(frames, sizeof(frames), " (mfn 0x%llx-0x%llx)",
			 (unsigned long long)x->mfn,
			 (unsigned long long)(x->mfn + x->nr - 1));
	else if (p->n)
		snprintf(frames, sizeof(frames), " (%zu runs of frames from mfn "
			 "0x%llx)", p->n, (unsigned long long)x->mfn);
	snprintf(what, sizeof(what), "domain %s's orphaned %s%s at gfn "
		 "0x%llx-0x%llx%s", d->name, kind,
		 p->s == STRAT_IOREQ ? "" : " mapping", (unsigned long long)p->gfn,
		 (unsigned long long)(p->gfn + p->nr - 1), frames);
	snprintf(b.dom_name, sizeof(b.dom_name), "%s", d->name);
	if (p->s == STRAT_GRANT)
		ret = find_grefs(ctx, &b);
	if (!ret)
		ret = strategy_unmap(ctx, &b);
	free(b.grefs);
	if (ret) {
		char why[512];

		snprintf(why, sizeof(why), "%s", xgm_last_error());
		return xgm_fail(ret, "cannot unmap %s: %s; nothing is freed", what,
				*why ? why : "the unmap failed");
	}
	json_array_append_new(report, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s}",
		"op", "orphan-mapping", "domain", d->name, "kind", kind,
		"strategy", st->name,
		"gfn", (json_int_t)p->gfn, "gfn_last", (json_int_t)(p->gfn + p->nr - 1),
		"action", "unmapped"));
	return 0;
}

/* Claims of our ioreq server in the window that no record covers. */
static int orphan_claims(struct xgm_ctx *ctx, const struct xgm_domain_info *d,
			 const struct window *w, struct pieces *ps)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct xgm_gfn_range *r;
	size_t n;
	int ret;

	if (!hv->ioreq_list)
		return 0;
	ret = hv->ioreq_list(ctx->priv, d->domid, &r, &n);
	for (size_t i = 0; !ret && i < n; i++) {
		uint64_t s = r[i].first > w->gfn ? r[i].first : w->gfn;
		uint64_t e = r[i].last < w->gfn + w->nr - 1 ? r[i].last : w->gfn + w->nr - 1;

		if (s <= e)
			ret = uncovered(ps, (struct run){ s, e - s + 1, 0,
							  STRAT_IOREQ, 0 });
	}
	free(r);
	return ret;
}

static int orphans_of(struct xgm_ctx *ctx, const struct xgm_domain_info *d,
		      uint32_t dom0, json_t *report)
{
	struct pieces ps = { .ctx = ctx, .dom0 = dom0 };
	struct blob *blobs;
	struct window w;
	int ret;

	if (window_get(ctx, d->domid, &w)) {
		xgm_clear_error();
		return 0; /* no window: nothing of ours was ever there */
	}
	ret = blob_load_all(ctx, d->domid, &blobs, &ps.nb);
	if (ret)
		return ret;
	ps.blobs = blobs;
	ret = hv_p2m_walk(ctx, d->domid, w.gfn, w.gfn + w.nr - 1, orphan_leaf, &ps);
	/* The entries go first: an ioreq claim is consulted only where
	 * nothing is mapped. */
	if (!ret)
		ret = orphan_claims(ctx, d, &w, &ps);
	for (size_t i = 0; !ret && i < ps.n; i++)
		ret = undo_piece(ctx, d, &ps, &ps.p[i], report);
	free(ps.p);
	free(ps.ext);
	blob_free_all(blobs, ps.nb);
	return ret;
}

int orphan_mappings_undo(struct xgm_ctx *ctx, json_t *report)
{
	struct xgm_domain_info *doms;
	uint32_t dom0 = 0;
	size_t nd;
	int ret = xgm_domain_list(ctx, &doms, &nd);

	if (ret)
		return ret;
	for (size_t i = 0; i < nd; i++)
		if (doms[i].is_dom0)
			dom0 = doms[i].domid;
	for (size_t i = 0; !ret && i < nd; i++)
		if (doms[i].translated && !doms[i].is_dom0)
			ret = orphans_of(ctx, &doms[i], dom0, report);
	free(doms);
	return ret;
}

/* ---- freeing an orphaned buffer ---------------------------------------- */

/* Grants of the buffer's frames that nobody maps: a command killed between
 * granting a page and writing the reference down leaves one that no record
 * names. The buffer is going, so they go first; ext is sorted by mfn. */
static int end_unmapped_grants(struct xgm_ctx *ctx,
			       const struct xgm_extent *ext, size_t n)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct xgm_grant_info *g = NULL;
	size_t ng = 0;
	int ret = hv->grant_list ? hv->grant_list(ctx->priv, &g, &ng) : 0;

	for (size_t i = 0; !ret && i < ng; i++)
		if (!g[i].maps && ext_has(ext, n, g[i].mfn))
			ret = hv_grant_end(ctx, g[i].gref);
	free(g);
	return ret;
}

/* iomem permission over an orphan's VRAM frames, which a lost record would
 * have revoked: the next owner of those frames must not find them granted
 * to a guest. */
static int revoke_iomem(struct xgm_ctx *ctx, const struct xgm_extent *ext,
			size_t n)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct xgm_domain_info *doms;
	uint32_t owner = 0;
	size_t nd;
	int ret;

	if (!n || !hv->frame_owner ||
	    hv->frame_owner(ctx->priv, ext[0].mfn, &owner, NULL) ||
	    owner != XGM_OWNER_IO) {
		xgm_clear_error();
		return 0;
	}
	ret = reaching_domains(ctx, ext, n, &doms, &nd);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < nd; i++)
		for (size_t k = 0; !ret && !doms[i].is_dom0 && k < n; k++)
			ret = hv_iomem_permission(ctx, doms[i].domid, ext[k].mfn,
						  ext[k].nr, false);
	free(doms);
	return ret;
}

/* The buffer's extents sorted by mfn, or -errno. */
static int sorted_extents(struct xgm_ctx *ctx, uint64_t buf,
			  struct xgm_extent **ext, size_t *n)
{
	int ret;

	if (!ctx->be->gpu->buf_extents)
		return -ENOENT;
	ret = gpu_extents(ctx, buf, ext, n);
	if (!ret)
		qsort(*ext, *n, sizeof(**ext), cmp_ext);
	return ret;
}

int buffer_release(struct xgm_ctx *ctx, uint64_t buf)
{
	struct xgm_extent *ext;
	size_t n;
	int ret;

	if (sorted_extents(ctx, buf, &ext, &n)) {
		xgm_clear_error();
		return 0; /* nothing there to free: the free says so */
	}
	ret = end_unmapped_grants(ctx, ext, n) ?: buffer_reached(ctx, buf, ext, n);
	free(ext);
	return ret;
}

int orphan_buffer_free(struct xgm_ctx *ctx, uint64_t buf)
{
	struct xgm_extent *ext;
	size_t n;
	int ret = sorted_extents(ctx, buf, &ext, &n);

	if (ret)
		return ret;
	ret = revoke_iomem(ctx, ext, n);
	free(ext);
	if (ret)
		return ret;
	/* An orphan may still hold the pin its interrupted command took. */
	gpu_pin(ctx, buf, false);
	xgm_clear_error();
	return gpu_free(ctx, buf);
}
