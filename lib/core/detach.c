// SPDX-License-Identifier: LGPL-2.1-only
/*
 * detach: unmap a blob and free its buffer.
 *
 *   journal intent -> unmap (and revoke) -> free the buffer -> delete the
 *   record -> journal done
 *
 * Once the intent is written the detach only goes forward: recover
 * finishes it. A guest must never keep a mapping to a freed frame, so the
 * buffer is freed only after the unmap succeeded.
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/view.h"

int detach_finish(struct xgm_ctx *ctx, struct blob *b)
{
	const struct strategy_ops *st = strategy_get(b->strategy);
	int ret = 0;

	if (st->unmap)
		ret = st->unmap(ctx, b);
	/* Pins are states: unpinning again after an interruption is fine. */
	if (!ret && b->pinned)
		ret = gpu_pin(ctx, b->buf, false);
	if (!ret) {
		ret = gpu_free(ctx, b->buf);
		if (ret == -ENOENT) /* freed before an interruption */
			ret = 0;
	}
	if (!ret)
		ret = blob_delete(ctx, b);
	return ret;
}

/* A detach that failed while the buffer still exists puts the mapping
 * back: the blob stays whole, as it was. */
static int detach_undo(struct xgm_ctx *ctx, struct blob *b)
{
	const struct strategy_ops *st = strategy_get(b->strategy);
	struct xgm_extent *ext;
	size_t n;
	int ret = gpu_extents(ctx, b->buf, &ext, &n);

	if (ret)
		return ret; /* the buffer is gone: only forward is left */
	free(ext);
	ret = st->unmap ? st->unmap(ctx, b) : 0;
	if (!ret && b->pinned)
		ret = gpu_pin(ctx, b->buf, true);
	if (!ret)
		ret = st->map(ctx, b);
	if (!ret) {
		snprintf(b->state, sizeof(b->state), "mapped");
		ret = blob_save(ctx, b);
	}
	return ret;
}

static int detach_one(struct xgm_ctx *ctx, struct blob *b, json_t *out)
{
	struct op_meter meter;
	uint64_t seq;
	json_t *done;
	char id[96];
	int ret;

	meter_start(ctx, &meter);
	ret = journal_blocks(ctx, b) ?: journal_intent(ctx, "detach", b, NULL, &seq);
	if (ret)
		return ret;
	snprintf(b->state, sizeof(b->state), "detaching");
	ret = blob_save(ctx, b) ?: detach_finish(ctx, b);
	if (ret) {
		char msg[512];

		/* Nothing was freed that the guest could still reach: map it
		 * back if the buffer is still there, else recover finishes. */
		snprintf(msg, sizeof(msg), "%s", xgm_last_error());
		if (!detach_undo(ctx, b))
			journal_done(ctx, seq);
		hv_sync(ctx);
		return xgm_fail(ret, "%s", *msg ? msg : "detach failed");
	}
	ret = journal_done(ctx, seq);
	done = meter_stop(ctx, &meter, b, "detach");
	if (!out)
		return ret;
	snprintf(id, sizeof(id), "%s:%u", b->dom_name, b->n);
	json_array_append_new(out, json_pack("{s:s,s:I,s:I,s:O}", "id", id,
					     "gfn", (json_int_t)b->gfn,
					     "frames", (json_int_t)b->nr,
					     "ops", done));
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
