// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The journal: an intent record in the store before the p2m is touched, a
 * phase update at each step, and removal once the operation is complete or
 * fully undone. Every write is followed by a sync, so a process killed at
 * any point leaves a record that recover can act on.
 */
#include <stdlib.h>

#include "core/engine.h"

static void rec_path(char *buf, size_t len, uint64_t seq)
{
	snprintf(buf, len, XGM_STORE_ROOT "/journal/%llu", (unsigned long long)seq);
}

int journal_intent(struct xgm_ctx *ctx, const char *op, const struct blob *b,
		   json_t *extra, uint64_t *seq)
{
	char path[64];
	json_t *next = NULL, *rec;
	uint64_t s = 1;
	int ret;

	if (!store_get(ctx, XGM_STORE_ROOT "/journal-seq", &next) &&
	    json_integer_value(next) > 0)
		s = (uint64_t)json_integer_value(next);
	json_decref(next);
	xgm_clear_error();
	next = json_integer((json_int_t)(s + 1));
	ret = store_put(ctx, XGM_STORE_ROOT "/journal-seq", next);
	json_decref(next);
	if (ret)
		return ret;
	/* The blob's own record in the store is the authority on it; the
	 * journal only says which blob and how far the operation got. */
	rec = json_pack("{s:s,s:s,s:i,s:i,s:s}", "op", op, "phase", "intent",
			"domid", (int)b->domid, "n", (int)b->n, "domain", b->dom_name);
	if (!rec)
		return -ENOMEM;
	if (extra)
		json_object_update(rec, extra);
	rec_path(path, sizeof(path), s);
	ret = store_put(ctx, path, rec);
	json_decref(rec);
	if (!ret)
		ret = hv_sync(ctx);
	if (!ret) {
		char point[48];

		*seq = s;
		snprintf(point, sizeof(point), "%s:intent", op);
		ret = fault_point(ctx, point);
		if (ret) {
			/* Nothing was done yet: the intent goes too. */
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", xgm_last_error());
			if (!journal_done(ctx, s))
				hv_sync(ctx);
			xgm_fail(ret, "%s", msg);
		}
	}
	return ret;
}

int journal_phase(struct xgm_ctx *ctx, uint64_t seq, const char *phase,
		  json_t *extra)
{
	char path[64], point[48];
	json_t *rec;
	int ret;

	rec_path(path, sizeof(path), seq);
	ret = store_get(ctx, path, &rec);
	if (ret)
		return ret;
	json_object_set_new(rec, "phase", json_string(phase));
	if (extra)
		json_object_update(rec, extra);
	ret = store_put(ctx, path, rec);
	snprintf(point, sizeof(point), "%s:%s",
		 json_string_value(json_object_get(rec, "op")), phase);
	json_decref(rec);
	if (!ret)
		ret = hv_sync(ctx);
	return ret ?: fault_point(ctx, point);
}

int journal_done(struct xgm_ctx *ctx, uint64_t seq)
{
	char path[64];

	rec_path(path, sizeof(path), seq);
	return store_del(ctx, path);
}

int journal_list(struct xgm_ctx *ctx, json_t **out)
{
	char **names, path[64];
	size_t n;
	int ret;

	*out = json_array();
	ret = store_children(ctx, XGM_STORE_ROOT "/journal", &names, &n);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < n; i++) {
		json_t *rec;

		snprintf(path, sizeof(path), XGM_STORE_ROOT "/journal/%s", names[i]);
		ret = store_get(ctx, path, &rec);
		if (!ret) {
			json_object_set_new(rec, "seq", json_integer(strtoll(names[i], NULL, 10)));
			json_array_append_new(*out, rec);
		}
	}
	free_names(names, n);
	if (ret) {
		json_decref(*out);
		*out = NULL;
	}
	return ret;
}

int journal_blocks(struct xgm_ctx *ctx, const struct blob *b)
{
	json_t *recs, *rec;
	size_t i;
	int ret = journal_list(ctx, &recs);

	if (ret)
		return ret;
	json_array_foreach(recs, i, rec) {
		if (json_integer_value(json_object_get(rec, "domid")) == b->domid &&
		    json_integer_value(json_object_get(rec, "n")) == b->n) {
			ret = xgm_fail(-EBUSY, "an interrupted %s of %s:%u awaits "
				       "'xgpumap recover'",
				       json_string_value(json_object_get(rec, "op")),
				       b->dom_name, b->n);
			break;
		}
	}
	json_decref(recs);
	return ret;
}
