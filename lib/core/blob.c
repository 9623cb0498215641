// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Blobs in the store: loading, saving and finding the records (their form
 * is core/record.c's), and naming blobs as users write them ("vm1:3").
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "util/array.h"

void blob_free(struct blob *b)
{
	free(b->ext);
	free(b->grefs);
	memset(b, 0, sizeof(*b));
}

void blob_free_all(struct blob *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		blob_free(&b[i]);
	free(b);
}

static void blob_path(char *buf, size_t len, uint32_t domid, uint32_t n)
{
	snprintf(buf, len, XGM_STORE_ROOT "/blob/%u/%u", domid, n);
}

/* The record j (consumed) at path, which must be blob domid:n's: one that
 * names another blob is refused. */
static int record_of(json_t *j, uint32_t domid, uint32_t n, const char *path,
		     struct blob *b)
{
	int ret = blob_from_record(j, b);

	json_decref(j);
	if (!ret && (b->domid != domid || b->n != n)) {
		blob_free(b);
		ret = xgm_fail(-EBADMSG, "blob record %s names another blob", path);
	}
	/* Stored, it has its span, or was written before spans were (and
	 * spans_load reads it whole). */
	b->span_saved = !ret;
	return ret;
}

/* What each operation on the blob cost, beside its record: nothing that
 * lists or places blobs reads it, and losing it loses counters, not
 * frames. */
static void cost_path(char *buf, size_t len, uint32_t domid, uint32_t n)
{
	snprintf(buf, len, XGM_STORE_ROOT "/cost/%u/%u", domid, n);
}

/* The costs at path into b; an absent key is no cost recorded. */
static int costs_of(struct xgm_ctx *ctx, const char *path, struct blob *b)
{
	json_t *j;
	int ret = store_get(ctx, path, &j);

	if (ret == -ENOENT) {
		xgm_clear_error();
		return 0;
	}
	if (!ret) {
		ret = blob_ops_from_record(j, b);
		json_decref(j);
	}
	return ret;
}

int blob_load(struct xgm_ctx *ctx, uint32_t domid, uint32_t n, struct blob *b)
{
	char path[96];
	json_t *j;
	int ret;

	blob_path(path, sizeof(path), domid, n);
	ret = store_get(ctx, path, &j);
	if (ret || (ret = record_of(j, domid, n, path, b)))
		return ret;
	cost_path(path, sizeof(path), domid, n);
	ret = costs_of(ctx, path, b);
	if (ret)
		blob_free(b);
	return ret;
}

int blob_save(struct xgm_ctx *ctx, struct blob *b)
{
	engine_forget_ioreq_cache(ctx);
	char path[96];
	json_t *j = blob_record(b);
	int ret;

	if (!j)
		return -ENOMEM;
	/* Before the first record: placement must never miss a blob. */
	if (!b->span_saved) {
		ret = span_save(ctx, b);
		if (ret) {
			json_decref(j);
			return ret;
		}
		b->span_saved = true;
	}
	blob_path(path, sizeof(path), b->domid, b->n);
	ret = store_put(ctx, path, j);
	json_decref(j);
	/* After the record: the record is what recovery needs. */
	if (!ret && b->ops_changed) {
		j = blob_ops_record(b);
		cost_path(path, sizeof(path), b->domid, b->n);
		ret = j ? store_put(ctx, path, j) : 0;
		json_decref(j);
		b->ops_changed = ret != 0;
	}
	return ret;
}

int blob_delete(struct xgm_ctx *ctx, const struct blob *b)
{
	engine_forget_ioreq_cache(ctx);
	char path[96];
	int ret;

	blob_path(path, sizeof(path), b->domid, b->n);
	ret = store_del(ctx, path);
	cost_path(path, sizeof(path), b->domid, b->n);
	/* After the record: a cost key left is counters nobody shows (its
	 * failure fails nothing), a span left keeps a range free. */
	if (!ret)
		store_drop(ctx, path);
	return ret ?: span_delete(ctx, b->domid, b->n);
}

/* The costs of blobs loaded by blob_load_all (which leaves them out), for
 * what shows them all: one read a blob. */
int blob_load_costs(struct xgm_ctx *ctx, struct blob *all, size_t n)
{
	char path[96];
	int ret = 0;

	for (size_t i = 0; !ret && i < n; i++) {
		cost_path(path, sizeof(path), all[i].domid, all[i].n);
		ret = costs_of(ctx, path, &all[i]);
	}
	return ret;
}

static int cmp_gfn(const void *a, const void *b)
{
	const struct blob *x = a, *y = b;

	if (x->domid != y->domid)
		return x->domid < y->domid ? -1 : 1;
	return x->gfn < y->gfn ? -1 : x->gfn > y->gfn;
}

/* A domain's records, as the walk of its directory gives them. */
struct domain_walk {
	struct blob **arr;
	size_t *n, *cap;
	uint32_t domid;
	size_t dlen;       /* of the directory's path */
};

int blob_key_number(const char *key, size_t dlen, uint32_t *n)
{
	if (!store_name_u32(key + dlen + 1, n))
		return xgm_fail(-EBADMSG, "store: %s is not a blob number", key);
	return 0;
}

int blob_record_text(const char *text, const char *key, uint32_t domid,
		     uint32_t n, struct blob *b)
{
	json_t *j = store_parse(text, key);

	return j ? record_of(j, domid, n, key, b) : -EBADMSG;
}

static int record_at(const char *key, const char *text, void *arg)
{
	struct domain_walk *w = arg;
	uint32_t num;
	int ret = blob_key_number(key, w->dlen, &num);

	if (ret)
		return ret;
	if (xgm_array_room(w->arr, *w->n, w->cap, sizeof(**w->arr), 16))
		return -ENOMEM;
	ret = blob_record_text(text, key, w->domid, num, &(*w->arr)[*w->n]);
	if (!ret)
		(*w->n)++;
	return ret;
}

/* Every record of one domain, in one walk of its directory. */
static int load_domain(struct xgm_ctx *ctx, uint32_t domid, struct blob **arr,
		       size_t *n, size_t *cap)
{
	struct domain_walk w = { arr, n, cap, domid, 0 };
	char dir[64];

	w.dlen = (size_t)snprintf(dir, sizeof(dir), XGM_STORE_ROOT "/blob/%u",
				  domid);
	return store_each(ctx, dir, record_at, &w);
}

int blob_load_all(struct xgm_ctx *ctx, int64_t domid, struct blob **out,
		  size_t *n)
{
	struct blob *arr = NULL;
	size_t count = 0, cap = 0;
	int ret = 0;

	if (domid >= 0) {
		ret = load_domain(ctx, (uint32_t)domid, &arr, &count, &cap);
	} else {
		char **names;
		size_t nd;

		ret = store_children(ctx, XGM_STORE_ROOT "/blob", &names, &nd);
		if (ret == -ENOENT) {
			ret = 0;
			nd = 0;
			names = NULL;
		}
		for (size_t i = 0; !ret && i < nd; i++) {
			uint32_t d;

			if (!store_name_u32(names[i], &d))
				ret = xgm_fail(-EBADMSG, "store: blob directory "
					       "'%s' is not a domid", names[i]);
			else
				ret = load_domain(ctx, d, &arr, &count, &cap);
		}
		if (names)
			free_names(names, nd);
	}
	if (ret) {
		blob_free_all(arr, count);
		return ret;
	}
	if (count)
		qsort(arr, count, sizeof(*arr), cmp_gfn);
	*out = arr;
	*n = count;
	return 0;
}

void blob_set_backing(struct blob *b, uint64_t buf, struct xgm_extent *ext,
		      size_t n, enum strategy s, enum xgm_placement p)
{
	free(b->ext);
	free(b->grefs);
	b->grefs = NULL; /* grant refs belong to the old backing */
	b->ext = ext;
	b->nr_ext = n;
	b->buf = buf;
	b->strategy = s;
	b->placement = p;
}

int domain_resolve(struct xgm_ctx *ctx, const char *dom,
		   struct xgm_domain_info *d)
{
	int ret;

	if (!dom || !*dom)
		return xgm_fail(-EINVAL, "the domain name is empty (DOM := name "
				"| domid)");
	ret = xgm_domain_lookup(ctx, dom, d);
	if (ret == -ENOENT)
		return xgm_fail_instead(-ENOENT, "no domain '%s'", dom);
	return ret;
}

int blob_lookup(struct xgm_ctx *ctx, const char *id, struct blob *b)
{
	struct xgm_domain_info d;
	uint32_t n;
	int ret;

	ret = blob_parse_id(ctx, id, &d, &n);
	if (ret)
		return ret;
	ret = blob_load(ctx, d.domid, n, b);
	if (ret == -ENOENT)
		return xgm_fail_instead(-ENOENT, "no blob %s:%u", d.name, n);
	return ret;
}

int blob_parse_id(struct xgm_ctx *ctx, const char *id,
		  struct xgm_domain_info *dom, uint32_t *n)
{
	const char *colon = id ? strrchr(id, ':') : NULL;
	char name[XGM_DOMAIN_NAME_MAX + 16];
	unsigned long num;
	char *end;
	int ret;

	if (!colon || colon == id || !colon[1] ||
	    (size_t)(colon - id) >= sizeof(name) || colon[1] < '0' || colon[1] > '9')
		return xgm_fail(-EINVAL, "'%s' is not a blob id (DOM:N, e.g. vm1:1)",
				id ? id : "");
	num = strtoul(colon + 1, &end, 10);
	if (*end || num > UINT32_MAX)
		return xgm_fail(-EINVAL, "'%s' is not a blob id (DOM:N, e.g. vm1:1)", id);
	memcpy(name, id, (size_t)(colon - id));
	name[colon - id] = '\0';
	ret = domain_resolve(ctx, name, dom);
	/* "vm1:1:2": no domain is named "vm1:1", so the id is malformed. */
	if (ret == -ENOENT && strchr(name, ':'))
		return xgm_fail_instead(-EINVAL, "'%s' is not a blob id (DOM:N, e.g. "
				"vm1:1)", id);
	if (ret)
		return ret;
	*n = (uint32_t)num;
	return 0;
}
