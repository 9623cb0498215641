// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The journal: an intent record in the store before the p2m is touched, a
 * phase update at each step, and removal once the operation is complete or
 * fully undone. Every write is followed by a sync, so a process killed at
 * any point leaves a record that recover can act on.
 */
#include <stdlib.h>
#include <string.h>

#include "core/exec.h"

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
			if (!journal_done(ctx, s))
				hv_sync(ctx);
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
		/* A record that does not even parse is listed too, so that
		 * check can name it and recover --discard can drop it. */
		if (ret == -EBADMSG || (!ret && !json_is_object(rec))) {
			if (!ret)
				json_decref(rec);
			rec = json_pack("{s:s}", "malformed", ret ?
					"its text is not valid JSON" :
					"it is not a JSON object");
			xgm_clear_error();
			ret = rec ? 0 : -ENOMEM;
		}
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
		json_int_t seq = json_integer_value(json_object_get(rec, "seq"));
		char why[160], arg[24];

		if (json_integer_value(json_object_get(rec, "domid")) != b->domid ||
		    json_integer_value(json_object_get(rec, "n")) != b->n)
			continue;
		snprintf(arg, sizeof(arg), "%lld", (long long)seq);
		if (journal_problem(rec, why, sizeof(why)))
			ret = xgm_fail_remedy(-EBUSY, XGM_REMEDY_DISCARD, arg,
					      "journal record %lld names %s:%u but "
					      "is malformed (%s)", (long long)seq,
					      b->dom_name, b->n, why);
		else
			ret = xgm_fail_remedy(-EBUSY, XGM_REMEDY_RECOVER, NULL,
					      "an interrupted %s of %s:%u awaits "
					      "recovery",
					      json_string_value(json_object_get(rec, "op")),
					      b->dom_name, b->n);
		break;
	}
	json_decref(recs);
	return ret;
}

/* The phases each operation writes, in order. */
static const char *const attach_phases[] = { "intent", "allocated", "mapping",
					     "rolling-back", NULL };
static const char *const detach_phases[] = { "intent", "rolling-back", NULL };
static const char *const migrate_phases[] = { "intent", "copied", "switched",
					      "rolling-back", NULL };

static const struct {
	const char *op;
	const char *const *phases;
	const char *list;
} journal_ops[] = {
	{ "attach", attach_phases, "intent, allocated, mapping, rolling-back" },
	{ "detach", detach_phases, "intent, rolling-back" },
	{ "migrate", migrate_phases, "intent, copied, switched, rolling-back" },
};

static bool is_uint(json_t *v, json_int_t min, json_int_t max)
{
	return json_is_integer(v) && json_integer_value(v) >= min &&
	       json_integer_value(v) <= max;
}

/* One backing of a migrate record ("old" or "new"): what is wrong, or NULL. */
static const char *backing_problem(json_t *rec, const char *which, char *buf,
				   size_t len)
{
	char key[32];
	const char *v;
	enum strategy s;
	enum xgm_placement p;
	struct xgm_extent *ext = NULL;
	uint64_t frames;
	size_t n;

	snprintf(key, sizeof(key), "%s_buf", which);
	if (!is_uint(json_object_get(rec, key), 0, INT64_MAX))
		goto bad;
	snprintf(key, sizeof(key), "%s_strategy", which);
	v = json_string_value(json_object_get(rec, key));
	if (!v || strategy_parse(v, &s) || s == STRAT_AUTO)
		goto bad;
	snprintf(key, sizeof(key), "%s_placement", which);
	v = json_string_value(json_object_get(rec, key));
	if (!v || placement_parse(v, &p))
		goto bad;
	snprintf(key, sizeof(key), "%s_extents", which);
	if (extents_from_record(json_object_get(rec, key), key, &ext, &n, &frames))
		goto bad;
	free(ext);
	xgm_clear_error();
	return NULL;
bad:
	xgm_clear_error();
	snprintf(buf, len, "'%s' is missing or not valid", key);
	return buf;
}

const char *journal_problem(json_t *rec, char *buf, size_t len)
{
	const char *op = json_string_value(json_object_get(rec, "op"));
	const char *phase = json_string_value(json_object_get(rec, "phase"));
	const char *m = json_string_value(json_object_get(rec, "malformed"));
	size_t k, i;

	if (m) {
		snprintf(buf, len, "%s", m);
		return buf;
	}
	if (!op) {
		snprintf(buf, len, "it names no operation ('op')");
		return buf;
	}
	for (k = 0; k < sizeof(journal_ops) / sizeof(*journal_ops); k++)
		if (!strcmp(op, journal_ops[k].op))
			break;
	if (k == sizeof(journal_ops) / sizeof(*journal_ops)) {
		snprintf(buf, len, "'%.40s' is not an operation the journal "
			 "records (attach, detach, migrate)", op);
		return buf;
	}
	if (!phase) {
		snprintf(buf, len, "the %s names no phase", op);
		return buf;
	}
	for (i = 0; journal_ops[k].phases[i]; i++)
		if (!strcmp(phase, journal_ops[k].phases[i]))
			break;
	if (!journal_ops[k].phases[i]) {
		snprintf(buf, len, "phase '%.40s' is not one of %s's (%s)", phase,
			 op, journal_ops[k].list);
		return buf;
	}
	if (!is_uint(json_object_get(rec, "domid"), 0, 0x7FEF)) {
		snprintf(buf, len, "its 'domid' is missing or not a domain id");
		return buf;
	}
	if (!is_uint(json_object_get(rec, "n"), 1, UINT32_MAX)) {
		snprintf(buf, len, "its blob number 'n' is missing or not valid");
		return buf;
	}
	if (journal_plan_problem(rec, buf, len))
		return buf;
	if (!strcmp(op, "attach") && strcmp(phase, "intent") &&
	    strcmp(phase, "rolling-back") &&
	    !is_uint(json_object_get(rec, "buf"), 0, INT64_MAX)) {
		snprintf(buf, len, "phase %s names no buffer ('buf')", phase);
		return buf;
	}
	if (!strcmp(op, "migrate")) {
		if (backing_problem(rec, "old", buf, len))
			return buf;
		/* The new backing is written with "copied"; a migration that
		 * failed before the copy rolls back without one. */
		if ((!strcmp(phase, "copied") || !strcmp(phase, "switched") ||
		     json_object_get(rec, "new_buf")) &&
		    backing_problem(rec, "new", buf, len))
			return buf;
	}
	return NULL;
}
