// SPDX-License-Identifier: LGPL-2.1-only
/*
 * recover: finish or undo whatever an interrupted command left, from the
 * journal. An attach is undone (its buffer freed, nothing left mapped); a
 * detach is finished (a guest must not keep frames we meant to take).
 */
#include <string.h>

#include "core/engine.h"
#include "core/view.h"

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
