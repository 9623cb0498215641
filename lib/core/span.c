// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Where each blob sits in its window, apart from its record: one key per
 * blob, /xgpumap/span/DOMID/N = [gfn, frames]. Placing a new blob needs
 * the spans of the domain's others and nothing else of them; reading them
 * costs a tenth of reading the records, so an attach costs the same on a
 * domain of 4 blobs and of 4096 (issue 11: attach-all grows linearly).
 *
 * The spans must cover every record, or a placement could land on a blob:
 * a span is written before its record and deleted after it (blob.c), so a
 * crash leaves at most a span too many, never one too few; recover drops a
 * span whose attach it rolls back. A record without a span (written by an
 * xgpumap before this one) is read whole instead, so no record is ever
 * missed.
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "util/array.h"

#define FRAME_MAX (1ULL << 52)

static void span_path(char *buf, size_t len, uint32_t domid, uint32_t n)
{
	snprintf(buf, len, XGM_STORE_ROOT "/span/%u/%u", domid, n);
}

int span_save(struct xgm_ctx *ctx, const struct blob *b)
{
	char path[96];
	json_t *j = json_pack("[I,I]", (json_int_t)b->gfn, (json_int_t)b->nr);
	int ret;

	if (!j)
		return -ENOMEM;
	span_path(path, sizeof(path), b->domid, b->n);
	ret = store_put(ctx, path, j);
	json_decref(j);
	return ret;
}

int span_delete(struct xgm_ctx *ctx, uint32_t domid, uint32_t n)
{
	char path[96];

	span_path(path, sizeof(path), domid, n);
	return store_drop(ctx, path);
}

struct span_set {
	struct span *v;
	size_t n, cap;
	size_t indexed;        /* v[0..indexed) are the span keys, by n */
	size_t dlen;           /* of the directory walked */
	uint32_t domid;
};

static int add(struct span_set *s, uint32_t n, uint64_t gfn, uint64_t nr)
{
	if (xgm_array_room(&s->v, s->n, &s->cap, sizeof(*s->v), 32))
		return -ENOMEM;
	s->v[s->n++] = (struct span){ .gfn = gfn, .nr = nr, .n = n };
	return 0;
}

int span_decode(const char *text, const char *key, uint64_t *gfn,
		uint64_t *nr)
{
	json_t *j = store_parse(text, key), *g, *f;
	int ret = 0;

	if (!j)
		return -EBADMSG;
	g = json_array_get(j, 0);
	f = json_array_get(j, 1);
	if (!json_is_array(j) || json_array_size(j) != 2 || !json_is_integer(g) ||
	    !json_is_integer(f) || json_integer_value(g) < 0 ||
	    json_integer_value(f) <= 0 ||
	    (uint64_t)json_integer_value(g) >= FRAME_MAX ||
	    (uint64_t)json_integer_value(f) > FRAME_MAX) {
		ret = xgm_fail(-EBADMSG, "store: %s is not a span [gfn, frames]",
			       key);
	} else {
		*gfn = (uint64_t)json_integer_value(g);
		*nr = (uint64_t)json_integer_value(f);
	}
	json_decref(j);
	return ret;
}

static int span_at(const char *key, const char *text, void *arg)
{
	struct span_set *s = arg;
	uint64_t gfn, nr;
	uint32_t n;

	return blob_key_number(key, s->dlen, &n) ?:
	       span_decode(text, key, &gfn, &nr) ?:
	       add(s, n, gfn, nr);
}

static int cmp_n(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

static int cmp_gfn(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->gfn < y->gfn ? -1 : x->gfn > y->gfn;
}

/* A record with no span: its own gfn and size, from the text the walk
 * read already. */
static int record_at(const char *key, const char *text, void *arg)
{
	struct span_set *s = arg;
	struct span want;
	struct blob b;
	uint32_t n;
	int ret = blob_key_number(key, s->dlen, &n);

	want.n = n;
	if (ret || bsearch(&want, s->v, s->indexed, sizeof(*s->v), cmp_n))
		return ret;
	ret = blob_record_text(text, key, s->domid, n, &b);
	if (!ret)
		ret = add(s, n, b.gfn, b.nr);
	blob_free(&b);
	return ret;
}

int spans_load(struct xgm_ctx *ctx, uint32_t domid, struct span **out,
	       size_t *nr)
{
	struct span_set s = { .domid = domid };
	char dir[64];
	int ret;

	s.dlen = (size_t)snprintf(dir, sizeof(dir), XGM_STORE_ROOT "/span/%u",
				  domid);
	ret = store_each(ctx, dir, span_at, &s);
	s.indexed = s.n;
	if (!ret && s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_n);
	/* Every record must have its span: the walk reads the records'
	 * texts but parses only those without one. */
	if (!ret) {
		s.dlen = (size_t)snprintf(dir, sizeof(dir), XGM_STORE_ROOT
					  "/blob/%u", domid);
		ret = store_each(ctx, dir, record_at, &s);
	}
	if (ret) {
		free(s.v);
		return ret;
	}
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_gfn);
	*out = s.v;
	*nr = s.n;
	return 0;
}

/* A span whose record is gone: an attach cut short before its record, or
 * a record lost. With no journal record left open, nothing will write
 * that record: the range goes back to the window. */
struct stale_walk {
	struct xgm_ctx *ctx;
	uint32_t domid;
	size_t dlen;
	json_t *report;
};

static int drop_if_stale(const char *key, const char *text, void *arg)
{
	struct stale_walk *w = arg;
	char path[96], *rec = NULL, id[32];
	uint32_t n;
	int ret = blob_key_number(key, w->dlen, &n);

	(void)text;
	if (ret)
		return ret;
	snprintf(path, sizeof(path), XGM_STORE_ROOT "/blob/%u/%u", w->domid, n);
	ret = w->ctx->be->hv->store_read(w->ctx->priv, path, &rec);
	free(rec);
	if (ret != -ENOENT)
		return ret;
	xgm_clear_error();
	ret = span_delete(w->ctx, w->domid, n);
	snprintf(id, sizeof(id), "%u:%u", w->domid, n);
	if (!ret)
		json_array_append_new(w->report, json_pack("{s:s,s:s,s:s}",
			"op", "span", "blob", id,
			"action", "dropped (no record names it)"));
	return ret;
}

int spans_drop_stale(struct xgm_ctx *ctx, json_t *report)
{
	struct stale_walk w = { .ctx = ctx, .report = report };
	char **names, dir[64];
	size_t nd;
	int ret = store_children(ctx, XGM_STORE_ROOT "/span", &names, &nd);

	if (ret == -ENOENT) {
		xgm_clear_error();
		return 0;
	}
	for (size_t i = 0; !ret && i < nd; i++) {
		if (!store_name_u32(names[i], &w.domid)) {
			ret = xgm_fail(-EBADMSG, "store: span directory '%s' is "
				       "not a domid", names[i]);
			break;
		}
		w.dlen = (size_t)snprintf(dir, sizeof(dir), XGM_STORE_ROOT
					  "/span/%u", w.domid);
		ret = store_each(ctx, dir, drop_if_stale, &w);
	}
	free_names(names, nd);
	return ret;
}
