// SPDX-License-Identifier: LGPL-2.1-only
/*
 * fill and verify: a verification pattern written through dom0's view of
 * the buffer, one tag per page naming the blob, the fill and the page, so
 * that anything reading a page (verify, or the guest through its p2m) can
 * tell exactly which page of which blob it got.
 */
#include <string.h>

#include "core/engine.h"
#include "core/view.h"

uint64_t fill_tag(const struct blob *b, uint64_t fill_id, uint64_t page)
{
	/* domid:16 | blob:12 | fill:12 | page:24 (64 GiB of 4K pages). */
	return ((uint64_t)(b->domid & 0xffff) << 48) |
	       ((uint64_t)(b->n & 0xfff) << 36) | ((fill_id & 0xfff) << 24) |
	       (page & 0xffffff);
}

static int blob_fill_op(struct xgm_ctx *ctx, const char *id, uint64_t seed,
			  json_t **out)
{
	const struct xgm_gpu_ops *g = ctx ? ctx->be->gpu : NULL;
	uint64_t fill_id;
	struct blob b;
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	if (!g->buf_write_tag)
		return xgm_fail(-EOPNOTSUPP, "this backend cannot write buffers");
	ret = blob_lookup(ctx, id, &b);
	if (ret)
		return xgm_err(ret);
	ret = journal_blocks(ctx, &b);
	if (ret) {
		blob_free(&b);
		return xgm_err(ret);
	}
	/* Each fill is distinguishable from the last: seed + generation. */
	fill_id = (seed + b.generation) & 0xfff;
	for (uint64_t p = 0; !ret && p < b.nr; p++)
		ret = g->buf_write_tag(ctx->priv, b.buf, p, fill_tag(&b, fill_id, p));
	if (!ret) {
		b.filled = true;
		b.fill_id = fill_id;
		ret = blob_save(ctx, &b);
	}
	if (!ret) {
		char bid[96];

		snprintf(bid, sizeof(bid), "%s:%u", b.dom_name, b.n);
		*out = json_pack("{s:s,s:I,s:I,s:I,s:I}", "id", bid, "pages",
				 (json_int_t)b.nr, "fill_id", (json_int_t)fill_id,
				 "first_tag", (json_int_t)fill_tag(&b, fill_id, 0),
				 "generation", (json_int_t)b.generation);
	}
	blob_free(&b);
	return xgm_err(ret);
}

XGM_API int xgm_blob_fill(struct xgm_ctx *ctx, const char *id, uint64_t seed,
			  json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "fill", out, "{s:s?,s:I}", "blob", id, "seed", (json_int_t)seed));
	return XGM_OP(ctx, XGM_OP_WRITE, blob_fill_op(ctx, id, seed, out));
}

static int blob_verify_op(struct xgm_ctx *ctx, const char *id, json_t **out)
{
	const struct xgm_gpu_ops *g = ctx ? ctx->be->gpu : NULL;
	uint64_t bad = 0, first_bad = 0, tag;
	struct blob b;
	char bid[96];
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	if (!g->buf_read_tag)
		return xgm_fail(-EOPNOTSUPP, "this backend cannot read buffers");
	ret = blob_lookup(ctx, id, &b);
	if (ret)
		return xgm_err(ret);
	snprintf(bid, sizeof(bid), "%s:%u", b.dom_name, b.n);
	if (!b.filled) {
		blob_free(&b);
		return xgm_fail_remedy(-ENODATA, XGM_REMEDY_FILL, bid,
				       "blob %s was never filled", bid);
	}
	for (uint64_t p = 0; !ret && p < b.nr; p++) {
		ret = g->buf_read_tag(ctx->priv, b.buf, p, &tag);
		if (!ret && tag != fill_tag(&b, b.fill_id, p) && !bad++)
			first_bad = p;
	}
	if (!ret)
		*out = json_pack("{s:s,s:I,s:I,s:I,s:s}", "id", bid, "pages",
				 (json_int_t)b.nr, "bad_pages", (json_int_t)bad,
				 "first_bad_page", bad ? (json_int_t)first_bad : (json_int_t)-1,
				 "result", bad ? "mismatch" : "ok");
	blob_free(&b);
	return xgm_err(ret);
}

XGM_API int xgm_blob_verify(struct xgm_ctx *ctx, const char *id, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "verify", out, "{s:s?}", "blob", id));
	return XGM_OP(ctx, XGM_OP_READ, blob_verify_op(ctx, id, out));
}
