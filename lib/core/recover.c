// SPDX-License-Identifier: LGPL-2.1-only
/*
 * recover: finish or undo whatever an interrupted command left, from the
 * journal. An attach is undone (its buffer freed, nothing left mapped); a
 * detach is finished (a guest must not keep frames we meant to take).
 * Then what no record explains: mappings in a blob window nobody records
 * are unmapped first, blobs whose buffer is gone lose their mapping, and
 * only then are buffers nobody names freed. Every free asks first that
 * nothing still reaches the buffer's frames (core/orphans.c): where a
 * mapping cannot be undone, recover fails and frees nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buffer.h"
#include "core/exec.h"
#include "core/view.h"

/* Copies b with one of the backings the journal record names ("old" or
 * "new"); *out owns its extents. */
static int backing_from(json_t *rec, const char *which, const struct blob *b,
			struct blob *out)
{
	char key[32];
	json_int_t buf;
	uint64_t frames;
	const char *s, *p;
	int ret;

	*out = *b;
	out->ext = NULL;
	out->grefs = NULL;
	snprintf(key, sizeof(key), "%s_buf", which);
	buf = json_integer_value(json_object_get(rec, key));
	snprintf(key, sizeof(key), "%s_strategy", which);
	s = json_string_value(json_object_get(rec, key));
	snprintf(key, sizeof(key), "%s_placement", which);
	p = json_string_value(json_object_get(rec, key));
	if (buf < 0 || !s || !p || strategy_parse(s, &out->strategy) ||
	    out->strategy == STRAT_AUTO || placement_parse(p, &out->placement))
		return xgm_fail(-EBADMSG, "journal: migrate record is malformed");
	out->buf = (uint64_t)buf;
	snprintf(key, sizeof(key), "%s_extents", which);
	ret = extents_from_record(json_object_get(rec, key), key, &out->ext,
				  &out->nr_ext, &frames);
	/* Another size would map past the blob, or leave part of it. */
	if (!ret && frames != b->nr)
		ret = xgm_fail(-EBADMSG, "journal: %s does not add up to blob "
			       "%s:%u's %llu frames", key, b->dom_name, b->n,
			       (unsigned long long)b->nr);
	if (!ret && b->grefs && out->buf == b->buf) {
		/* Grant refs belong to the backing the record names. */
		out->grefs = malloc(b->nr * sizeof(*b->grefs));
		if (!out->grefs)
			ret = -ENOMEM;
		else
			memcpy(out->grefs, b->grefs, b->nr * sizeof(*b->grefs));
	}
	return ret;
}

/*
 * The rule. recover reads the plan and how many of its steps were done,
 * and the step that was running may have happened in part:
 *  - an attach is undone (the inverses of the steps done, last first),
 *    unless all its steps were done: then only its end was lost;
 *  - a detach is finished: the guest must not keep frames we meant to
 *    take, and the steps left (unmaps, unpin, free, forget) all work from
 *    any point an interruption left;
 *  - a move is undone while its switch (the record naming the new
 *    backing) was not yet written: until then the guest may have written
 *    to the old buffer since the copy, so the copy is stale. From the
 *    switch on the guest has used the new buffer: the move is finished.
 * Every free asks first that nothing reaches the frames (buffer_release).
 */
static int resume(struct exec *ex, const char **action)
{
	bool undo = !exec_past_switch(ex);
	int ret;

	if (undo) {
		ret = exec_undo(ex);
		*action = "rolled back";
	} else {
		ret = exec_finish(ex);
		*action = "completed";
	}
	return ret;
}

static int migrate_recover(struct xgm_ctx *ctx, struct blob *b, json_t *rec,
			   const char **action)
{
	struct blob ob, nb = { 0 };
	bool have_new = json_object_get(rec, "new_buf") != NULL;
	struct exec ex;
	int ret;

	ret = backing_from(rec, "old", b, &ob);
	if (!ret && have_new)
		ret = backing_from(rec, "new", b, &nb);
	else if (!ret)
		nb = ob, nb.ext = NULL, nb.grefs = NULL;
	if (ret)
		goto out;
	ob.generation = (uint64_t)json_integer_value(json_object_get(rec, "old_generation"));
	snprintf(ob.state, sizeof(ob.state), "mapped");
	exec_init(&ex, ctx, "migrate", "mapped", &ob, &nb);
	ex.have_buf[0] = ex.have_ext[0] = true;
	ex.have_buf[1] = ex.have_ext[1] = have_new;
	ret = exec_load(&ex, rec);
	if (!ret)
		ret = resume(&ex, action);
	/* Undone: the record names the old backing again, whatever the new
	 * one's grants had written meanwhile. */
	if (!ret && !exec_past_switch(&ex))
		ret = blob_save(ctx, &ob);
out:
	free(ob.ext);
	free(ob.grefs);
	free(nb.ext);
	free(nb.grefs);
	return ret;
}

static int recover_one(struct xgm_ctx *ctx, json_t *rec, json_t *report)
{
	const char *op = json_string_value(json_object_get(rec, "op"));
	const char *phase = json_string_value(json_object_get(rec, "phase"));
	json_int_t seq = json_integer_value(json_object_get(rec, "seq"));
	json_int_t domid = json_integer_value(json_object_get(rec, "domid"));
	json_int_t n = json_integer_value(json_object_get(rec, "n"));
	json_t *buf = json_object_get(rec, "buf");
	const char *action = "failed";
	char why[160];
	struct exec ex;
	struct blob b;
	bool have;
	int ret;

	if (journal_problem(rec, why, sizeof(why)))
		return xgm_fail(-EBADMSG, "journal record %lld is malformed: %s",
				(long long)seq, why);
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
		if (json_is_integer(buf))
			b.buf = (uint64_t)json_integer_value(buf);
	}
	if (!strcmp(op, "attach") && have && !strcmp(b.state, "mapped")) {
		ret = 0; /* it finished; only the last step was lost */
		action = "completed";
	} else if (strcmp(op, "attach") && !have) {
		/* Nothing left to finish: the record went with the blob. */
		ret = 0;
		action = "nothing left to do";
	} else if (!strcmp(op, "migrate")) {
		ret = migrate_recover(ctx, &b, rec, &action);
	} else {
		exec_init(&ex, ctx, op, !strcmp(op, "attach") ? "attaching" :
			  "detaching", &b, NULL);
		ex.have_buf[0] = have || json_is_integer(buf);
		ex.have_ext[0] = have;
		ret = exec_load(&ex, rec) ?: resume(&ex, &action);
	}
	/* An attach rolled back may have left its span (span.c). */
	if (!ret && !strcmp(op, "attach") && !strcmp(action, "rolled back"))
		ret = span_delete(ctx, (uint32_t)domid, (uint32_t)n);
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

/* Calls fn for every blob record, in gfn order. */
static int each_blob(struct xgm_ctx *ctx, json_t *report,
		     int (*fn)(struct xgm_ctx *, struct blob *, json_t *))
{
	struct blob *all;
	size_t nb;
	int ret = blob_load_all(ctx, -1, &all, &nb);

	if (ret)
		return ret;
	for (size_t k = 0; !ret && k < nb; k++)
		ret = fn(ctx, &all[k], report);
	blob_free_all(all, nb);
	return ret;
}

/* A blob an eviction left revoked: map it where it is. */
static int remap_revoked(struct xgm_ctx *ctx, struct blob *b, json_t *report)
{
	char bid[96];
	int ret;

	if (strcmp(b->state, "revoked"))
		return 0;
	if (gpu_check_local(ctx, b->buf)) {
		xgm_clear_error(); /* another running process's */
		return 0;
	}
	ret = blob_remap_moved(ctx, b, b->placement);
	snprintf(bid, sizeof(bid), "%s:%u", b->dom_name, b->n);
	if (!ret)
		json_array_append_new(report, json_pack("{s:s,s:s,s:s}",
			"op", "evict", "blob", bid, "action", "remapped"));
	return ret;
}

/* A record whose buffer is gone maps frames that are no longer the
 * guest's: its mapping goes (the record says what it is), then the record. */
static int drop_bufferless(struct xgm_ctx *ctx, struct blob *b, json_t *report)
{
	struct xgm_extent *now;
	char bid[96], why[512];
	size_t nn;
	int ret;

	ret = gpu_extents(ctx, b->buf, &now, &nn);
	if (!ret)
		free(now);
	/* -EREMOTE: a running process's, which holds it (xen: an engine in
	 * a VMM's own process): not gone, and not ours to judge. */
	if (!ret || ret == -EREMOTE) {
		xgm_clear_error();
		return 0;
	}
	xgm_clear_error();
	snprintf(bid, sizeof(bid), "%s:%u", b->dom_name, b->n);
	ret = strategy_unmap(ctx, b);
	if (ret) {
		snprintf(why, sizeof(why), "%s", xgm_last_error());
		return xgm_fail(ret, "the buffer of %s is gone, but its mapping at "
				"gfn 0x%llx-0x%llx cannot be undone: %s", bid,
				(unsigned long long)b->gfn,
				(unsigned long long)(b->gfn + b->nr - 1), why);
	}
	ret = blob_delete(ctx, b);
	if (!ret)
		json_array_append_new(report, json_pack("{s:s,s:s,s:I,s:s}",
			"op", "buffer-gone", "blob", bid, "buf", (json_int_t)b->buf,
			"action", "unmapped, record dropped"));
	return ret;
}

/* Servers a killed process left: the guest's next access to a range
 * they claim would wait for ever on an answer nobody gives. */
static int reap_servers(struct xgm_ctx *ctx, json_t *report)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	struct xgm_ioreq_reaped *r;
	size_t n;
	int ret;

	if (!hv->ioreq_reap)
		return 0;
	ret = hv->ioreq_reap(ctx->priv, &r, &n);
	for (size_t i = 0; !ret && i < n; i++)
		json_array_append_new(report, json_pack("{s:s,s:I,s:I,s:s}",
			"op", "ioreq-server", "domid", (json_int_t)r[i].domid,
			"server", (json_int_t)r[i].server,
			"action", "destroyed (its process is gone)"));
	if (!ret)
		free(r);
	return ret;
}

/* A served blob whose buffer remains but whose range no server of this
 * process claims (its server died with another process): claimed and
 * served again, so the guest's accesses are answered from the buffer. */
static int serve_again(struct xgm_ctx *ctx, struct blob *b, json_t *report)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;
	uint64_t last = b->gfn + b->nr - 1;
	struct xgm_gfn_range *r;
	bool claimed = false;
	char bid[96];
	size_t n;
	int ret;

	if (!strategy_get(b->strategy)->needs_server || strcmp(b->state, "mapped") ||
	    !hv->ioreq_list || !hv->ioreq_map_range)
		return 0;
	/* Another running process's buffer: its server is that process's,
	 * which our list does not show; claiming the range would take it. */
	if (gpu_check_local(ctx, b->buf)) {
		xgm_clear_error();
		return 0;
	}
	ret = hv->ioreq_list(ctx->priv, b->domid, &r, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		claimed |= r[i].first <= b->gfn && r[i].last >= last;
	free(r);
	if (claimed)
		return 0;
	ret = hv->ioreq_map_range(ctx->priv, b->domid, b->gfn, last, true);
	if (!ret && hv->ioreq_serve)
		ret = hv->ioreq_serve(ctx->priv, b->domid, b->gfn, b->buf, b->ext,
				      b->nr_ext, b->strategy == STRAT_REVOKE_FAULT);
	snprintf(bid, sizeof(bid), "%s:%u", b->dom_name, b->n);
	if (!ret)
		json_array_append_new(report, json_pack("{s:s,s:s,s:s}",
			"op", "unserved", "blob", bid,
			"action", "claimed and served again"));
	return ret;
}

static int free_orphan_buffers(struct xgm_ctx *ctx, json_t *report)
{
	uint64_t *orph;
	size_t no;
	int ret = orphan_buffers(ctx, &orph, &no);

	for (size_t k = 0; !ret && k < no; k++) {
		ret = orphan_buffer_free(ctx, orph[k]);
		if (!ret)
			json_array_append_new(report, json_pack("{s:s,s:I,s:s}",
				"op", "orphan-buffer", "buf", (json_int_t)orph[k],
				"action", "freed"));
	}
	free(orph);
	return ret;
}

/*
 * Drops journal record seq. The blob it names, if its record says it is
 * not whole, is undone as a detach would undo it (its record says what is
 * mapped): a guest is never left mapped to what the rest of recover then
 * frees. A blob that is whole stays.
 */
static int discard(struct xgm_ctx *ctx, json_t *rec, json_t *report)
{
	json_int_t seq = json_integer_value(json_object_get(rec, "seq"));
	json_t *jd = json_object_get(rec, "domid"), *jn = json_object_get(rec, "n");
	const char *action = "discarded";
	char why[160], id[96] = "";
	struct blob b;
	int ret = 0;

	if (json_is_integer(jd) && json_is_integer(jn) &&
	    json_integer_value(jd) >= 0 && json_integer_value(jd) <= UINT32_MAX &&
	    json_integer_value(jn) > 0 && json_integer_value(jn) <= UINT32_MAX &&
	    !blob_load(ctx, (uint32_t)json_integer_value(jd),
		       (uint32_t)json_integer_value(jn), &b)) {
		snprintf(id, sizeof(id), "%s:%u", b.dom_name, b.n);
		/* A guest a killed migrate --pause left paused runs again. */
		if (json_is_true(json_object_get(rec, "paused")) && ctx->be->hv->pause)
			ctx->be->hv->pause(ctx->priv, b.domid, false);
		if (strcmp(b.state, "mapped")) {
			ret = blob_dismantle(ctx, &b);
			action = "discarded; its blob, left half done, unmapped and freed";
		}
		blob_free(&b);
	}
	xgm_clear_error();
	if (ret)
		return ret;
	ret = journal_done(ctx, (uint64_t)seq);
	if (!ret) {
		json_t *row = json_pack("{s:I,s:s,s:s}", "seq", (json_int_t)seq,
					"op", "discard", "action", action);

		if (*id)
			json_object_set_new(row, "blob", json_string(id));
		if (journal_problem(rec, why, sizeof(why)))
			json_object_set_new(row, "problem", json_string(why));
		json_array_append_new(report, row);
	}
	return ret;
}

static int recover(struct xgm_ctx *ctx, bool drop, uint64_t drop_seq,
		   json_t **out)
{
	json_t *journal, *rec, *report;
	bool found = !drop, left = false;
	char why[160];
	size_t i;
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	ret = journal_list(ctx, &journal);
	if (ret)
		return xgm_err(ret);
	/* A record recover cannot read stops it before it changes anything:
	 * what that record was doing is unknown. Discarding one goes on past
	 * the others (each is named in the report), or two bad records would
	 * block each other's discard. */
	json_array_foreach(journal, i, rec) {
		json_int_t seq = json_integer_value(json_object_get(rec, "seq"));

		if (drop && (uint64_t)seq == drop_seq)
			found = true;
		else if (!ret && !drop && journal_problem(rec, why, sizeof(why))) {
			char arg[24];

			snprintf(arg, sizeof(arg), "%lld", (long long)seq);
			ret = xgm_fail_remedy(-EBADMSG, XGM_REMEDY_DISCARD, arg,
					      "journal record %lld is malformed "
					      "(%s); nothing was recovered",
					      (long long)seq, why);
		}
	}
	if (!ret && !found)
		ret = xgm_fail(-ENOENT, "there is no journal record %llu",
			       (unsigned long long)drop_seq);
	if (ret) {
		json_decref(journal);
		return xgm_err(ret);
	}
	report = json_array();
	/* What no record explains is unmapped before anything is freed. */
	ret = reap_servers(ctx, report) ?: orphan_mappings_undo(ctx, report);
	json_array_foreach(journal, i, rec) {
		if (ret)
			break;
		json_int_t seq = json_integer_value(json_object_get(rec, "seq"));

		if (drop && (uint64_t)seq == drop_seq)
			ret = discard(ctx, rec, report);
		else if (journal_problem(rec, why, sizeof(why))) {
			left = true;
			json_array_append_new(report, json_pack("{s:I,s:s,s:s,s:s}",
				"seq", seq, "op", "malformed", "problem", why,
				"action", "left (discard it too)"));
		} else
			ret = recover_one(ctx, rec, report);
	}
	json_decref(journal);
	if (!ret)
		ret = each_blob(ctx, report, drop_bufferless);
	if (!ret)
		ret = buffer_records_drop_gone(ctx, report);
	if (!ret)
		ret = each_blob(ctx, report, serve_again);
	if (!ret)
		ret = each_blob(ctx, report, remap_revoked);
	if (!ret)
		ret = free_orphan_buffers(ctx, report);
	/* A record left open may still name its span. */
	if (!ret && !left)
		ret = spans_drop_stale(ctx, report);
	if (ret) {
		json_decref(report);
		return xgm_err(ret);
	}
	*out = report;
	return 0;
}

XGM_API int xgm_recover(struct xgm_ctx *ctx, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "recover", out, "{}"));
	return XGM_OP(ctx, XGM_OP_WRITE, recover(ctx, false, 0, out));
}

XGM_API int xgm_recover_discard(struct xgm_ctx *ctx, uint64_t seq, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "recover-discard", out, "{s:I}", "seq", (json_int_t)seq));
	return XGM_OP(ctx, XGM_OP_WRITE, recover(ctx, true, seq, out));
}
