// SPDX-License-Identifier: LGPL-2.1-only
/*
 * detach: unmap a blob and free its buffer.
 *
 *   engine_detach -> detach_plan -> exec_begin (journal intent) ->
 *   exec_run: record "detaching", the strategy's map steps undone, [unpin],
 *   free, delete the record -> exec_end (journal done)
 *
 * recover finishes an interrupted detach. A guest must never keep a
 * mapping to a freed frame, so the buffer is freed only after the unmap
 * succeeded.
 */
#include <stdlib.h>
#include <string.h>

#include "core/exec.h"
#include "core/view.h"

/* The inverse of the attach plan: what attach did, undone last first. */
void detach_plan(struct exec *ex, struct blob *b)
{
	plan_add(ex, STEP_MAPPED, true, 0);
	plan_add_unmap(ex, b->strategy, 0);
	if (b->pinned)
		plan_add(ex, STEP_PIN, true, 0);
	plan_add(ex, STEP_ALLOC, true, 0);
	plan_add(ex, STEP_RECORD, true, 0);
}

static int detach_one(struct xgm_ctx *ctx, struct blob *b, json_t *out)
{
	struct op_meter meter;
	struct exec ex;
	struct blob_op *done;
	bool undone;
	char id[96];
	int ret;

	meter_start(ctx, &meter);
	exec_init(&ex, ctx, "detach", "detaching", b, NULL);
	ex.have_buf[0] = ex.have_ext[0] = true;
	detach_plan(&ex, b);
	/* A failure before the buffer is freed maps the blob back, whole;
	 * after it, recover finishes (exec_run). */
	/* Another running process's buffer: refused before the guest loses
	 * anything (its unmap would be undone with our hypercalls). */
	ret = gpu_check_local(ctx, b->buf) ?: journal_blocks(ctx, b) ?:
	      exec_begin(&ex, NULL) ?: exec_run(&ex, &undone) ?: exec_end(&ex);
	if (ret)
		return ret;
	done = meter_stop(ctx, &meter, b, BLOB_OP_DETACH);
	if (!out)
		return ret;
	snprintf(id, sizeof(id), "%s:%u", b->dom_name, b->n);
	json_array_append_new(out, json_pack("{s:s,s:I,s:I,s:o}", "id", id,
					     "gfn", (json_int_t)b->gfn,
					     "frames", (json_int_t)b->nr,
					     "ops", blob_op_json(done)));
	return ret;
}

int engine_detach(struct xgm_ctx *ctx, struct blob *b)
{
	return detach_one(ctx, b, NULL);
}

static int blob_detach_op(struct xgm_ctx *ctx, const char *id, json_t **out)
{
	struct blob b;
	json_t *arr;
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	ret = blob_lookup(ctx, id, &b);
	if (ret)
		return xgm_err(ret);
	arr = json_array();
	ret = detach_one(ctx, &b, arr);
	blob_free(&b);
	if (ret) {
		json_decref(arr);
		return xgm_err(ret);
	}
	*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return 0;
}

XGM_API int xgm_blob_detach(struct xgm_ctx *ctx, const char *id, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "detach", out, "{s:s?}", "blob", id));
	return XGM_OP(ctx, XGM_OP_WRITE, blob_detach_op(ctx, id, out));
}

static int blob_detach_all_op(struct xgm_ctx *ctx, const char *dom,
				json_t **out)
{
	struct xgm_domain_info d;
	struct blob *all;
	size_t n;
	json_t *arr;
	int ret;

	if (!ctx || !dom || !out)
		return xgm_err(-EINVAL);
	ret = domain_resolve(ctx, dom, &d);
	if (ret)
		return xgm_err(ret);
	ret = blob_load_all(ctx, d.domid, &all, &n);
	if (ret)
		return xgm_err(ret);
	arr = json_array();
	for (size_t i = 0; !ret && i < n; i++)
		ret = detach_one(ctx, &all[i], arr);
	blob_free_all(all, n);
	if (ret) {
		json_decref(arr);
		return xgm_err(ret);
	}
	*out = arr;
	return 0;
}

XGM_API int xgm_blob_detach_all(struct xgm_ctx *ctx, const char *dom,
				json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "detach-all", out, "{s:s?}", "dom", dom));
	return XGM_OP(ctx, XGM_OP_WRITE, blob_detach_all_op(ctx, dom, out));
}
