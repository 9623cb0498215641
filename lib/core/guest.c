// SPDX-License-Identifier: LGPL-2.1-only
/*
 * What a guest reads through its own p2m: the end-to-end proof that a
 * mapping is right. Each gfn is read the way the guest would (a mapped
 * frame gives the buffer page's tag, or "unfilled" where no fill wrote
 * the page, an unmapped MMIO gfn all-ones, its own RAM plain data), and
 * the answers are folded into runs.
 */
#include <string.h>

#include "core/engine.h"
#include "core/view.h"

#define ALL_ONES UINT64_MAX
#define MAX_READ_FRAMES (1ULL << 24)
#define PROGRESS_EVERY 0x3fffULL /* pages between progress reports */

struct read_run {
	uint64_t gfn, last, first_tag;
	const char *kind;
	bool open;
};

static void flush(struct read_run *r, json_t *runs)
{
	json_t *j;

	if (!r->open)
		return;
	j = json_pack("{s:I,s:I,s:s}", "gfn", (json_int_t)r->gfn, "gfn_last",
		      (json_int_t)r->last, "reads", r->kind);
	if (!strcmp(r->kind, "tag")) {
		/* The tag names the page: domid:16 blob:12 fill:12 page:24. */
		json_object_set_new(j, "first_tag", json_integer((json_int_t)r->first_tag));
		json_object_set_new(j, "tag_domid", json_integer((json_int_t)(r->first_tag >> 48)));
		json_object_set_new(j, "tag_blob", json_integer((json_int_t)((r->first_tag >> 36) & 0xfff)));
		json_object_set_new(j, "tag_fill", json_integer((json_int_t)((r->first_tag >> 24) & 0xfff)));
		json_object_set_new(j, "tag_page", json_integer((json_int_t)(r->first_tag & 0xffffff)));
	}
	json_array_append_new(runs, j);
	r->open = false;
}

/* Why --expect failed, in words: pages read wrong, or pages not read. */
static json_t *mismatch_reason(const struct blob *b, const char *expect,
			       uint64_t checked, uint64_t bad, uint64_t first_bad,
			       const char *kind)
{
	char wrong[160] = "", part[160] = "";

	if (bad)
		snprintf(wrong, sizeof(wrong), "%llu page%s read%s wrong (the "
			 "first at gfn %#llx reads %s)", (unsigned long long)bad,
			 bad == 1 ? "" : "s", bad == 1 ? "s" : "",
			 (unsigned long long)first_bad,
			 strcmp(kind, "tag") ? kind : "another page's tag");
	if (checked < b->nr)
		snprintf(part, sizeof(part), "%sthe range covers %llu of %s's "
			 "%llu pages (%#llx-%#llx)", bad ? "; " : "",
			 (unsigned long long)checked, expect,
			 (unsigned long long)b->nr, (unsigned long long)b->gfn,
			 (unsigned long long)(b->gfn + b->nr - 1));
	return json_sprintf("%s%s", wrong, part);
}

static int guest_read_op(struct xgm_ctx *ctx, const char *dom, uint64_t first,
			   uint64_t last, const char *expect, json_t **out)
{
	const struct xgm_hv_ops *hv = ctx ? ctx->be->hv : NULL;
	struct xgm_domain_info d;
	struct read_run r = { 0 };
	struct blob b = { 0 };
	uint64_t bad = 0, checked = 0, fill_id = 0, first_bad = 0;
	const char *first_bad_kind = NULL;
	bool expecting = false;
	json_t *runs;
	int ret;

	if (!ctx || !dom || !out || last < first)
		return xgm_err(-EINVAL);
	if (!hv->guest_access)
		return xgm_fail(-EOPNOTSUPP, "this backend cannot read as a guest "
				"(on Xen the guest itself must read: see tests/xen)");
	if (last - first >= MAX_READ_FRAMES)
		return xgm_fail(-EINVAL, "at most %llu frames at a time",
				(unsigned long long)MAX_READ_FRAMES);
	ret = domain_resolve(ctx, dom, &d);
	if (ret)
		return xgm_err(ret);
	if (expect) {
		ret = blob_lookup(ctx, expect, &b);
		if (ret)
			return xgm_err(ret);
		if (!b.filled) {
			blob_free(&b);
			return xgm_fail(-ENODATA, "blob %s was never filled", expect);
		}
		fill_id = b.fill_id;
		expecting = true;
	}
	runs = json_array();
	for (uint64_t g = first; g <= last; g++) {
		uint64_t tag = 0;
		const char *kind;

		if (!((g - first) & PROGRESS_EVERY))
			xgm_progress("guest-read: pages", g - first, last - first + 1);
		ret = hv->guest_access(ctx->priv, d.domid, g, XGM_GA_SCALAR, false, &tag);
		if (ret == -EFAULT || ret == -ENODATA) {
			kind = ret == -EFAULT ? "fault" : "unfilled";
			tag = 0;
			ret = 0;
		} else if (ret) {
			break;
		} else {
			kind = tag == ALL_ONES ? "all-ones" : tag ? "tag" : "ram";
		}
		if (expecting && g >= b.gfn && g < b.gfn + b.nr) {
			checked++;
			if (strcmp(kind, "tag") || tag != fill_tag(&b, fill_id, g - b.gfn)) {
				if (!bad++) {
					first_bad = g;
					first_bad_kind = kind;
				}
			}
		}
		/* Consecutive pages of one blob read consecutive tags. */
		if (r.open && !strcmp(kind, r.kind) && g == r.last + 1 &&
		    (strcmp(kind, "tag") || tag == r.first_tag + (g - r.gfn))) {
			r.last = g;
			continue;
		}
		flush(&r, runs);
		r = (struct read_run){ .gfn = g, .last = g, .first_tag = tag,
				       .kind = kind, .open = true };
	}
	flush(&r, runs);
	if (ret) {
		json_decref(runs);
		blob_free(&b);
		return xgm_err(ret);
	}
	*out = json_pack("{s:s,s:I,s:I,s:o}", "domain", d.name, "gfn",
			 (json_int_t)first, "gfn_last", (json_int_t)last, "runs", runs);
	if (expecting) {
		/* Every page of the blob must have been read, and right. */
		bool whole = checked == b.nr;

		json_object_set_new(*out, "expect", json_string(expect));
		json_object_set_new(*out, "pages_checked", json_integer((json_int_t)checked));
		json_object_set_new(*out, "pages_wrong", json_integer((json_int_t)bad));
		json_object_set_new(*out, "result", json_string(!bad && whole ? "ok" : "mismatch"));
		if (bad || !whole)
			json_object_set_new(*out, "reason", mismatch_reason(&b, expect,
				checked, bad, first_bad, first_bad_kind));
	}
	blob_free(&b);
	return 0;
}

XGM_API int xgm_guest_read(struct xgm_ctx *ctx, const char *dom, uint64_t first,
			   uint64_t last, const char *expect, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "guest-read", out, "{s:s?,s:I,s:I,s:s?}", "dom", dom, "first", (json_int_t)first, "last", (json_int_t)last, "expect", expect));
	return XGM_OP(ctx, XGM_OP_AS_OPENED,
		      guest_read_op(ctx, dom, first, last, expect, out));
}
