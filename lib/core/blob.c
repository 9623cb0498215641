// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Blob records: what is mapped where, kept in the store at
 * /xgpumap/blob/DOMID/N as one JSON object each. Loading validates every
 * field: a record is data from the store, not something to trust.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"

void blob_free(struct blob *b)
{
	free(b->ext);
	free(b->grefs);
	json_decref(b->ops);
	memset(b, 0, sizeof(*b));
}

void blob_free_all(struct blob *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		blob_free(&b[i]);
	free(b);
}

/* Grant refs as runs [first, count]: they are mostly consecutive. */
static json_t *grefs_json(const struct blob *b)
{
	json_t *a = json_array();
	uint64_t i = 0;

	while (i < b->nr) {
		uint64_t k = 1;

		while (i + k < b->nr && b->grefs[i + k] == b->grefs[i] + k)
			k++;
		json_array_append_new(a, json_pack("[I,I]", (json_int_t)b->grefs[i],
						   (json_int_t)k));
		i += k;
	}
	return a;
}

json_t *blob_to_json(const struct blob *b)
{
	json_t *ext = json_array();
	json_t *j;

	for (size_t i = 0; i < b->nr_ext; i++)
		json_array_append_new(ext, json_pack("{s:I,s:I}", "mfn",
						     (json_int_t)b->ext[i].mfn, "nr",
						     (json_int_t)b->ext[i].nr));
	j = json_pack("{s:i,s:i,s:s,s:I,s:s,s:s,s:s,s:s,s:b,s:s,s:I,s:I,s:I,s:s,s:I,s:o,s:b,s:s}",
		      "domid", (int)b->domid, "n", (int)b->n, "domain", b->dom_name,
		      "size", (json_int_t)b->size, "label", b->label, "card", b->card,
		      "placement", placement_name(b->placement),
		      "strategy", strategy_name(b->strategy),
		      "strategy_auto", b->strategy_auto,
		      "cache", cache_name(b->cache),
		      "gfn", (json_int_t)b->gfn, "nr", (json_int_t)b->nr,
		      "generation", (json_int_t)b->generation,
		      "state", b->state, "buf", (json_int_t)b->buf,
		      "extents", ext, "pinned", b->pinned,
		      "pin_reason", b->pin_reason);
	if (j && b->grefs)
		json_object_set_new(j, "grefs", grefs_json(b));
	if (j && b->ops)
		json_object_set(j, "ops", b->ops);
	return j;
}

static int bad(const char *what)
{
	return xgm_fail(-EBADMSG, "blob record: %s", what);
}

static int get_u64(json_t *j, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(j, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return xgm_fail(-EBADMSG, "blob record: \"%s\" missing or not a "
				"non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_str(json_t *j, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(j, key);

	if (!json_is_string(v) || strlen(json_string_value(v)) >= len)
		return xgm_fail(-EBADMSG, "blob record: \"%s\" missing or too long", key);
	strcpy(buf, json_string_value(v));
	return 0;
}

int extents_from_json(json_t *arr, struct xgm_extent **out, size_t *n)
{
	struct xgm_extent *ext;
	json_t *e;
	size_t i;

	if (!json_is_array(arr) || !json_array_size(arr))
		return bad("no extents");
	ext = calloc(json_array_size(arr), sizeof(*ext));
	if (!ext)
		return -ENOMEM;
	json_array_foreach(arr, i, e) {
		if (get_u64(e, "mfn", &ext[i].mfn) || get_u64(e, "nr", &ext[i].nr) ||
		    !ext[i].nr || ext[i].mfn + ext[i].nr < ext[i].mfn) {
			free(ext);
			return bad("bad extent");
		}
	}
	*out = ext;
	*n = json_array_size(arr);
	return 0;
}

int blob_from_json(json_t *j, struct blob *b)
{
	char name[32];
	uint64_t v, total = 0;
	json_t *e, *g;
	size_t i;
	int ret;

	memset(b, 0, sizeof(*b));
	if (!json_is_object(j))
		return bad("not an object");
	if ((ret = get_u64(j, "domid", &v)) || v > UINT32_MAX)
		return ret ?: bad("domid out of range");
	b->domid = (uint32_t)v;
	if ((ret = get_u64(j, "n", &v)) || v > UINT32_MAX)
		return ret ?: bad("n out of range");
	b->n = (uint32_t)v;
	if ((ret = get_str(j, "domain", b->dom_name, sizeof(b->dom_name))) ||
	    (ret = get_u64(j, "size", &b->size)) ||
	    (ret = get_str(j, "label", b->label, sizeof(b->label))) ||
	    (ret = get_str(j, "card", b->card, sizeof(b->card))) ||
	    (ret = get_u64(j, "gfn", &b->gfn)) ||
	    (ret = get_u64(j, "nr", &b->nr)) ||
	    (ret = get_u64(j, "generation", &b->generation)) ||
	    (ret = get_str(j, "state", b->state, sizeof(b->state))) ||
	    (ret = get_u64(j, "buf", &b->buf)) ||
	    (ret = get_str(j, "pin_reason", b->pin_reason, sizeof(b->pin_reason))))
		return ret;
	if (get_str(j, "placement", name, sizeof(name)) ||
	    placement_parse(name, &b->placement))
		return bad("bad placement");
	if (get_str(j, "strategy", name, sizeof(name)) ||
	    strategy_parse(name, &b->strategy) || b->strategy == STRAT_AUTO)
		return bad("bad strategy");
	if (get_str(j, "cache", name, sizeof(name)) || cache_parse(name, &b->cache))
		return bad("bad cache type");
	b->strategy_auto = json_is_true(json_object_get(j, "strategy_auto"));
	b->pinned = json_is_true(json_object_get(j, "pinned"));
	if (!b->nr || b->nr > (1ULL << 40) || b->size != b->nr * 4096)
		return bad("size and nr disagree");
	ret = extents_from_json(json_object_get(j, "extents"), &b->ext, &b->nr_ext);
	if (ret)
		return ret;
	for (i = 0; i < b->nr_ext; i++)
		total += b->ext[i].nr;
	if (total != b->nr) {
		blob_free(b);
		return bad("extents do not add up to the blob's size");
	}
	g = json_object_get(j, "grefs");
	if (g) {
		uint64_t at = 0;

		b->grefs = malloc(b->nr * sizeof(*b->grefs));
		if (!b->grefs) {
			blob_free(b);
			return -ENOMEM;
		}
		json_array_foreach(g, i, e) {
			json_int_t first = json_integer_value(json_array_get(e, 0));
			json_int_t count = json_integer_value(json_array_get(e, 1));

			if (first < 0 || count <= 0 || at + (uint64_t)count > b->nr ||
			    (uint64_t)first + (uint64_t)count > UINT32_MAX) {
				blob_free(b);
				return bad("bad grant refs");
			}
			for (json_int_t k = 0; k < count; k++)
				b->grefs[at++] = (uint32_t)(first + k);
		}
		for (; at < b->nr; at++)
			b->grefs[at] = UINT32_MAX;
	}
	b->ops = json_incref(json_object_get(j, "ops"));
	if (!b->ops)
		b->ops = json_object();
	return 0;
}

static void blob_path(char *buf, size_t len, uint32_t domid, uint32_t n)
{
	snprintf(buf, len, XGM_STORE_ROOT "/blob/%u/%u", domid, n);
}

int blob_load(struct xgm_ctx *ctx, uint32_t domid, uint32_t n, struct blob *b)
{
	char path[96];
	json_t *j;
	int ret;

	blob_path(path, sizeof(path), domid, n);
	ret = store_get(ctx, path, &j);
	if (ret)
		return ret;
	ret = blob_from_json(j, b);
	json_decref(j);
	if (!ret && (b->domid != domid || b->n != n)) {
		blob_free(b);
		ret = xgm_fail(-EBADMSG, "blob record %s names another blob", path);
	}
	return ret;
}

int blob_save(struct xgm_ctx *ctx, const struct blob *b)
{
	char path[96];
	json_t *j = blob_to_json(b);
	int ret;

	if (!j)
		return -ENOMEM;
	blob_path(path, sizeof(path), b->domid, b->n);
	ret = store_put(ctx, path, j);
	json_decref(j);
	return ret;
}

int blob_delete(struct xgm_ctx *ctx, const struct blob *b)
{
	char path[96];

	blob_path(path, sizeof(path), b->domid, b->n);
	return store_del(ctx, path);
}

static int cmp_gfn(const void *a, const void *b)
{
	const struct blob *x = a, *y = b;

	if (x->domid != y->domid)
		return x->domid < y->domid ? -1 : 1;
	return x->gfn < y->gfn ? -1 : x->gfn > y->gfn;
}

static int load_domain(struct xgm_ctx *ctx, uint32_t domid, struct blob **arr,
		       size_t *n)
{
	char dir[64], **names;
	size_t count;
	int ret;

	snprintf(dir, sizeof(dir), XGM_STORE_ROOT "/blob/%u", domid);
	ret = store_children(ctx, dir, &names, &count);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < count; i++) {
		struct blob *grown = realloc(*arr, (*n + 1) * sizeof(**arr));
		char *end;
		unsigned long num = strtoul(names[i], &end, 10);

		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		*arr = grown;
		if (*end || num > UINT32_MAX) {
			ret = xgm_fail(-EBADMSG, "store: %s/%s is not a blob number",
				       dir, names[i]);
			break;
		}
		ret = blob_load(ctx, domid, (uint32_t)num, &(*arr)[*n]);
		if (!ret)
			(*n)++;
	}
	free_names(names, count);
	return ret;
}

int blob_load_all(struct xgm_ctx *ctx, int64_t domid, struct blob **out,
		  size_t *n)
{
	struct blob *arr = NULL;
	size_t count = 0;
	int ret = 0;

	if (domid >= 0) {
		ret = load_domain(ctx, (uint32_t)domid, &arr, &count);
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
			char *end;
			unsigned long d = strtoul(names[i], &end, 10);

			if (*end || d > UINT32_MAX)
				ret = xgm_fail(-EBADMSG, "store: blob directory "
					       "'%s' is not a domid", names[i]);
			else
				ret = load_domain(ctx, (uint32_t)d, &arr, &count);
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
	ret = xgm_domain_lookup(ctx, name, dom);
	if (ret == -ENOENT)
		return xgm_fail(-ENOENT, "no domain '%s'", name);
	if (ret)
		return ret;
	*n = (uint32_t)num;
	return 0;
}
