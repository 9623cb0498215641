// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Records in the backend's store (xenstore on Xen): one JSON text per key,
 * under XGM_STORE_ROOT. The store's values are untrusted on read: a value
 * that does not parse is reported, never guessed at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "util/array.h"

json_t *store_parse(const char *text, const char *what)
{
	json_error_t jerr;
	json_t *j;

	/* A key given twice is refused: which one would count is a guess. */
	j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!j)
		xgm_fail(-EBADMSG, "%s is not valid JSON: %s", what, jerr.text);
	return j;
}

int store_get(struct xgm_ctx *ctx, const char *path, json_t **out)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	char *text = NULL, what[160];
	int ret;

	if (!hv->store_read)
		return xgm_fail(-EOPNOTSUPP, "this backend has no store");
	ret = hv->store_read(ctx->priv, path, &text);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "store record %s", path);
	*out = store_parse(text, what);
	free(text);
	return *out ? 0 : -EBADMSG;
}

int store_put(struct xgm_ctx *ctx, const char *path, json_t *value)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	char *text;
	int ret;

	if (!hv->store_write)
		return xgm_fail(-EOPNOTSUPP, "this backend has no store");
	text = json_dumps(value, STORE_DUMP_FLAGS);
	if (!text)
		return -ENOMEM;
	ret = fault_point(ctx, "store_write") ?: hv->store_write(ctx->priv, path, text);
	free(text);
	return ret;
}

int store_del(struct xgm_ctx *ctx, const char *path)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	if (!hv->store_rm)
		return xgm_fail(-EOPNOTSUPP, "this backend has no store");
	return hv->store_rm(ctx->priv, path);
}

static size_t digits(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

/* Numeric names sort numerically ("2" before "10"), others as strcmp. */
static int cmp_name(const char *x, size_t lx, const char *y, size_t ly)
{
	int c;

	if (lx != ly && digits(x, lx) == lx && digits(y, ly) == ly)
		return lx < ly ? -1 : 1;
	c = memcmp(x, y, lx < ly ? lx : ly);
	return c ? c : lx < ly ? -1 : lx > ly;
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	return cmp_name(x, strlen(x), y, strlen(y));
}

int store_children(struct xgm_ctx *ctx, const char *dir, char ***names,
		   size_t *n)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	int ret;

	if (!hv->store_list)
		return xgm_fail(-EOPNOTSUPP, "this backend cannot list its store");
	ret = hv->store_list(ctx->priv, dir, names, n);
	if (!ret && *n)
		qsort(*names, *n, sizeof(**names), cmp_names);
	return ret;
}

void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- a whole subtree, for dump ------------------------------------------ */

/* Directory by directory, each one's children sorted: what a store with
 * directories (xenstore) answers cheaply. */
static int subtree_by_dir(struct xgm_ctx *ctx, const char *dir, json_t *obj)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	char **names, path[512], *value;
	size_t n;
	int ret;

	ret = store_children(ctx, dir, &names, &n);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!hv->store_read(ctx->priv, path, &value)) {
			json_object_set_new(obj, path, json_string(value));
			free(value);
		}
		ret = subtree_by_dir(ctx, path, obj);
	}
	xgm_clear_error();
	free_names(names, n);
	return ret;
}

struct kv {
	char *path, *value;
};

struct kv_list {
	struct kv *v;
	size_t n, cap;
};

static int kv_add(const char *path, const char *value, void *arg)
{
	struct kv_list *l = arg;

	if (xgm_array_room(&l->v, l->n, &l->cap, sizeof(*l->v), 64))
		return -ENOMEM;
	l->v[l->n].path = strdup(path);
	l->v[l->n].value = strdup(value);
	if (!l->v[l->n].path || !l->v[l->n].value) {
		free(l->v[l->n].path);
		free(l->v[l->n].value);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

/* Component by component as cmp_names orders each directory, a
 * directory's own value before everything below it: the order of
 * subtree_by_dir. */
static int cmp_paths(const void *a, const void *b)
{
	const char *x = ((const struct kv *)a)->path;
	const char *y = ((const struct kv *)b)->path;

	for (;;) {
		size_t lx = strcspn(x, "/"), ly = strcspn(y, "/");
		int c = cmp_name(x, lx, y, ly);

		if (c)
			return c;
		if (!x[lx] || !y[ly])
			return !x[lx] ? (y[ly] ? -1 : 0) : 1;
		x += lx + 1;
		y += ly + 1;
	}
}

int store_each(struct xgm_ctx *ctx, const char *dir, store_each_fn fn,
	       void *arg)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct kv_list l = { 0 };
	int ret;

	if (!hv->store_walk) {
		json_t *obj = json_object(), *v;
		const char *key;

		ret = obj ? subtree_by_dir(ctx, dir, obj) : -ENOMEM;
		json_object_foreach(obj, key, v)
			if (!ret)
				ret = fn(key, json_string_value(v), arg);
		json_decref(obj);
		return ret;
	}
	ret = hv->store_walk(ctx->priv, dir, kv_add, &l);
	if (ret == -ENOENT)
		ret = 0;
	if (!ret && l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_paths);
	for (size_t i = 0; i < l.n; i++) {
		if (!ret)
			ret = fn(l.v[i].path, l.v[i].value, arg);
		free(l.v[i].path);
		free(l.v[i].value);
	}
	free(l.v);
	return ret;
}

bool store_name_u32(const char *name, uint32_t *v)
{
	char *end;
	unsigned long x = strtoul(name, &end, 10);

	if (*end || end == name || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

int store_drop(struct xgm_ctx *ctx, const char *path)
{
	int ret = store_del(ctx, path);

	if (ret == -ENOENT) {
		xgm_clear_error();
		ret = 0;
	}
	return ret;
}

static int put_string(const char *path, const char *value, void *arg)
{
	return json_object_set_new(arg, path, json_string(value)) ? -ENOMEM : 0;
}

int store_subtree(struct xgm_ctx *ctx, const char *dir, json_t *obj)
{
	return store_each(ctx, dir, put_string, obj);
}
