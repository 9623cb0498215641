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

static int cmp_names(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);

	/* Numeric names sort numerically ("2" before "10"). */
	if (lx != ly && strspn(x, "0123456789") == lx && strspn(y, "0123456789") == ly)
		return lx < ly ? -1 : 1;
	return strcmp(x, y);
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
