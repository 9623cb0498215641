// SPDX-License-Identifier: LGPL-2.1-only
/*
 * recover: finish or undo whatever an interrupted command left, from the
 * journal. An attach is undone (its buffer freed, nothing left mapped); a
 * detach is finished (a guest must not keep frames we meant to take).
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/view.h"

/* The new strategy and placement a migrate or evict record names. */
static int parse_new(json_t *rec, enum strategy *s, enum xgm_placement *p)
{
	const char *sn = json_string_value(json_object_get(rec, "new_strategy"));
	const char *pn = json_string_value(json_object_get(rec, "new_placement"));

	if (!sn || !pn || strategy_parse(sn, s) || *s == STRAT_AUTO ||
	    placement_parse(pn, p))
		return xgm_fail(-EBADMSG, "journal: %s record is malformed",
				json_string_value(json_object_get(rec, "op")));
	return 0;
}

/* The move is done: record it. */
static int moved(struct xgm_ctx *ctx, struct blob *b, const char **action,
		 const char *what)
{
	b->generation++;
	snprintf(b->state, sizeof(b->state), "mapped");
	*action = what;
	return blob_save(ctx, b);
}

/*
 * A migration that copied is finished, whatever the switch got to: unmap
 * what is there, map the new backing, free the old one. Before the copy
 * nothing was allocated that the record knows of, and the guest still maps
 * the old backing.
 */
static int migrate_recover(struct xgm_ctx *ctx, struct blob *b, json_t *rec,
			   const char *phase, const char **action)
{
	json_int_t new_buf = json_integer_value(json_object_get(rec, "new_buf"));
	uint64_t old_buf = b->buf;
	struct xgm_extent *ext;
	enum xgm_placement np;
	enum strategy ns;
	size_t n;
	int ret;

	if (!strcmp(phase, "intent")) {
		*action = "nothing to undo";
		return 0;
	}
	ret = parse_new(rec, &ns, &np);
	if (!ret && new_buf < 0)
		ret = xgm_fail(-EBADMSG, "journal: migrate record is malformed");
	if (!ret)
		ret = extents_from_json(json_object_get(rec, "new_extents"), &ext, &n);
	if (ret)
		return ret;
	if (!strcmp(phase, "copied")) {
		ret = blob_switch(ctx, b, (uint64_t)new_buf, ext, n, ns, np);
		if (ret)
			return ret;
	} else if (b->buf == old_buf && (uint64_t)new_buf != old_buf) {
		/* Switched, but the record still names the old backing. */
		blob_set_backing(b, (uint64_t)new_buf, ext, n, ns, np);
	} else {
		free(ext);
	}
	/* migrate pinned the source while copying; the pin of a pinned blob
	 * moves to the new buffer. Either may already be done. */
	if (b->pinned)
		gpu_pin(ctx, b->buf, true);
	gpu_pin(ctx, old_buf, false);
	ret = gpu_free(ctx, old_buf);
	if (ret && ret != -ENOENT) /* -ENOENT: freed before the crash */
		return ret;
	return moved(ctx, b, action, "completed");
}

/* The driver moved the buffer; map it where it is now. */
static int evict_recover(struct xgm_ctx *ctx, struct blob *b, json_t *rec,
			 const char **action)
{
	struct xgm_extent *ext;
	enum xgm_placement np;
	enum strategy ns;
	size_t n;
	int ret;

	ret = parse_new(rec, &ns, &np) ?: gpu_extents(ctx, b->buf, &ext, &n);
	if (!ret)
		ret = blob_switch(ctx, b, b->buf, ext, n, ns, np);
	return ret ?: moved(ctx, b, action, "remapped");
}

static int recover_one(struct xgm_ctx *ctx, json_t *rec, json_t *report)
{
	const char *op = json_string_value(json_object_get(rec, "op"));
	const char *phase = json_string_value(json_object_get(rec, "phase"));
	json_int_t seq = json_integer_value(json_object_get(rec, "seq"));
	struct blob b;
	const char *action;
	int ret;

	if (!op || !phase)
		return xgm_fail(-EBADMSG, "journal record %lld is malformed",
				(long long)seq);
	/* The newest copy of the blob is its record, when it has one; the
	 * journal's copy is from before the operation. */
	ret = blob_from_json(json_object_get(rec, "blob"), &b);
	if (ret)
		return ret;
	{
		struct blob cur;

		if (!blob_load(ctx, b.domid, b.n, &cur)) {
			blob_free(&b);
			b = cur;
		}
		xgm_clear_error();
	}
	if (!strcmp(op, "attach")) {
		bool allocated = strcmp(phase, "intent") != 0;

		ret = attach_rollback(ctx, &b, allocated);
		action = "rolled back";
	} else if (!strcmp(op, "migrate")) {
		ret = migrate_recover(ctx, &b, rec, phase, &action);
	} else if (!strcmp(op, "evict")) {
		ret = evict_recover(ctx, &b, rec, &action);
	} else if (!strcmp(op, "detach")) {
		ret = detach_finish(ctx, &b);
		action = "completed";
	} else {
		ret = xgm_fail(-EBADMSG, "journal record %lld: unknown op '%s'",
			       (long long)seq, op);
		action = "failed";
	}
	if (!ret)
		ret = journal_done(ctx, (uint64_t)seq);
	if (!ret) {
		char id[96];

		snprintf(id, sizeof(id), "%s:%u", b.dom_name, b.n);
		json_array_append_new(report, json_pack("{s:I,s:s,s:s,s:s,s:s}",
			"seq", (json_int_t)seq, "op", op, "phase", phase,
			"blob", id, "action", action));
	}
	blob_free(&b);
	return ret;
}

XGM_API int xgm_recover(struct xgm_ctx *ctx, json_t **out)
{
	json_t *journal, *rec, *report;
	size_t i;
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	ret = journal_list(ctx, &journal);
	if (ret)
		return xgm_err(ret);
	report = json_array();
	json_array_foreach(journal, i, rec) {
		ret = recover_one(ctx, rec, report);
		if (ret)
			break;
	}
	json_decref(journal);
	if (ret) {
		json_decref(report);
		return xgm_err(ret);
	}
	*out = report;
	return 0;
}
