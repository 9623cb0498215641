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
	json_int_t old_buf = json_integer_value(json_object_get(rec, "old_buf"));
	struct xgm_extent *ext;
	enum xgm_placement np;
	enum strategy ns;
	bool recorded;
	size_t n;
	int ret;

	if (!json_is_integer(json_object_get(rec, "old_buf")) || old_buf < 0)
		return xgm_fail(-EBADMSG, "journal: migrate record is malformed");
	if (!strcmp(phase, "intent")) {
		/* Nothing copied: the guest still maps the old backing. The
		 * source may have been pinned for the copy; a new buffer
		 * made before the next phase is an orphan recover frees. */
		if (!b->pinned)
			gpu_pin(ctx, (uint64_t)old_buf, false);
		xgm_clear_error();
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
	/* Forward from "copied" on: switch if the switch may not have
	 * finished, adopt the new backing where the record lags. */
	recorded = b->buf == (uint64_t)new_buf;
	if (!strcmp(phase, "copied"))
		ret = blob_switch(ctx, b, (uint64_t)new_buf, ext, n, ns, np);
	else if (!recorded)
		blob_set_backing(b, (uint64_t)new_buf, ext, n, ns, np);
	else
		free(ext);
	if (ret)
		return ret;
	/* The pin of a pinned blob moves with the data; the copy's pin of
	 * the source goes. Either may already be done. */
	if (b->pinned)
		gpu_pin(ctx, b->buf, true);
	gpu_pin(ctx, (uint64_t)old_buf, false);
	xgm_clear_error();
	ret = gpu_free(ctx, (uint64_t)old_buf);
	if (ret && ret != -ENOENT) /* -ENOENT: freed before the crash */
		return ret;
	if (recorded && strcmp(phase, "copied")) {
		*action = "completed";
		return 0;
	}
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

	json_int_t domid = json_integer_value(json_object_get(rec, "domid"));
	json_int_t n = json_integer_value(json_object_get(rec, "n"));
	bool have;

	if (!op || !phase || domid < 0 || n < 0 || domid > UINT32_MAX || n > UINT32_MAX)
		return xgm_fail(-EBADMSG, "journal record %lld is malformed",
				(long long)seq);
	/* The blob's record in the store is the authority; an attach may
	 * have been interrupted before writing one. */
	have = !blob_load(ctx, (uint32_t)domid, (uint32_t)n, &b);
	xgm_clear_error();
	if (!have) {
		const char *dn = json_string_value(json_object_get(rec, "domain"));

		memset(&b, 0, sizeof(b));
		b.domid = (uint32_t)domid;
		b.n = (uint32_t)n;
		snprintf(b.dom_name, sizeof(b.dom_name), "%s", dn ? dn : "?");
	}
	if (!strcmp(op, "attach")) {
		json_int_t buf = json_integer_value(json_object_get(rec, "buf"));
		bool allocated = strcmp(phase, "intent") != 0;

		if (!have)
			b.buf = (uint64_t)buf;
		/* A buffer allocated before the record was written may still
		 * be pinned; the unpin is harmless otherwise. */
		if (allocated && !have)
			gpu_pin(ctx, b.buf, false);
		xgm_clear_error();
		if (have && !strcmp(b.state, "mapped")) {
			ret = 0; /* it finished; only the last step was lost */
			action = "completed";
		} else {
			ret = attach_rollback(ctx, &b, allocated, have);
			action = "rolled back";
		}
	} else if (!have) {
		/* Nothing left to finish: the record went with the blob. */
		ret = 0;
		action = "nothing left to do";
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
	if (!ret) {
		/* Then what no journal record could name. */
		uint64_t *orph;
		size_t no;

		ret = orphan_buffers(ctx, &orph, &no);
		for (size_t k = 0; !ret && k < no; k++) {
			gpu_pin(ctx, orph[k], false);
			xgm_clear_error();
			ret = gpu_free(ctx, orph[k]);
			if (!ret)
				json_array_append_new(report, json_pack("{s:s,s:I,s:s}",
					"op", "orphan-buffer", "buf", (json_int_t)orph[k],
					"action", "freed"));
		}
		if (!ret)
			free(orph);
	}
	if (ret) {
		json_decref(report);
		return xgm_err(ret);
	}
	*out = report;
	return 0;
}
