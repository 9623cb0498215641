// SPDX-License-Identifier: LGPL-2.1-only
/*
 * attach: allocate a GPU buffer and map it into a guest's blob window.
 *
 *   engine_attach: checks -> attach_plan -> exec_begin (journal intent)
 *   -> exec_run: alloc, locate (place), [pin], record "attaching", the
 *   strategy's map steps, record "mapped" -> exec_end (journal done)
 *
 * Any failure undoes the steps done, in reverse (exec_run), and leaves no
 * partial mapping; a process killed anywhere leaves a journal record that
 * recover rolls back the same way (core/recover.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buffer.h"
#include "core/exec.h"
#include "core/plan.h"
#include "core/view.h"
#include "util/opts.h"

#define PAGE_SIZE 4096ULL

static int check_target(const struct xgm_domain_info *d)
{
	if (d->is_dom0)
		return xgm_fail(-EPERM, "refusing to map into dom0 (%s): blobs "
				"go to guests", d->name);
	if (d->state == XGM_DOM_CRASHED)
		return xgm_fail(-EINVAL, "%s has crashed: destroy or restart it "
				"first", d->name);
	if (!d->translated)
		return xgm_fail(-EOPNOTSUPP, "%s is a PV guest: it has no p2m to "
				"map blobs into (blob windows need PVH or HVM)",
				d->name);
	return 0;
}

static int choose_strategy(struct xgm_ctx *ctx, const char *name,
			   enum xgm_placement where, struct blob *b)
{
	const struct strategy_ops *st;
	const char *why;
	enum strategy s;

	if (strategy_parse(name, &s))
		return xgm_fail(-EINVAL, "unknown strategy '%s' (mmio, grant, "
				"ioreq, ram-mmio, transfer, revoke-fault, auto)",
				name);
	if (s == STRAT_AUTO) {
		b->strategy_auto = true;
		return strategy_auto(ctx, where, &b->strategy);
	}
	st = strategy_get(s);
	if (where == XGM_PLACE_VRAM && !st->vram_ok)
		return xgm_fail(-EINVAL, "strategy %s cannot map VRAM: %s", name,
				st->note);
	if (where == XGM_PLACE_SYS && !st->sys_ok)
		return xgm_fail(-EINVAL, "strategy %s cannot map system RAM "
				"(%s; mapping RAM that way takes no page "
				"reference: a use-after-free)", name, st->note);
	why = strategy_unsupported(ctx, s);
	if (why && (s == STRAT_RAM_MMIO || s == STRAT_TRANSFER) &&
	    ctx->be->caps & XGM_CAP_HOST_MADE)
		return xgm_fail_remedy(-EOPNOTSUPP, XGM_REMEDY_SIM_EXTENSION,
				       name, "strategy %s: %s", name, why);
	if (why)
		return xgm_fail(-EOPNOTSUPP, "strategy %s: %s", name, why);
	b->strategy = s;
	return 0;
}

/* VRAM unless the strategy the user chose can only map system RAM
 * (grant, ram-mmio, transfer): then that is the only placement it has. */
static const char *default_placement(const char *strategy)
{
	enum strategy s;

	if (strategy && !strategy_parse(strategy, &s) && s != STRAT_AUTO &&
	    !strategy_get(s)->vram_ok && strategy_get(s)->sys_ok)
		return "sys";
	return "vram";
}

/* What can never fit is refused before anything changes. */
static int check_card(struct xgm_ctx *ctx, const struct blob *b)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;
	char sz[XGM_SIZE_STR], vsz[XGM_SIZE_STR];
	uint64_t vram, free_now;
	int ret;

	if (!g->card_info)
		return 0;
	ret = g->card_info(ctx->priv, b->card, &vram, &free_now);
	if (ret == -ENODEV)
		return xgm_fail_instead(-ENODEV, "no GPU named '%s'", b->card);
	if (ret)
		return ret;
	if (b->placement == XGM_PLACE_VRAM && b->size > vram)
		return xgm_fail(-ENOSPC, "%s cannot fit in the %s of VRAM of %s",
				xgm_size_str(b->size, sz),
				xgm_size_str(vram, vsz), b->card);
	return 0;
}

/* The p2m must hold nothing in [gfn, gfn+nr): no RAM, no mapping. */
static int first_leaf(const struct xgm_p2m_entry *e, void *arg)
{
	*(struct xgm_p2m_entry *)arg = *e;
	return 1;
}

static int check_place(struct xgm_ctx *ctx, const struct blob *b,
		       const struct window *w, const struct span *others,
		       size_t nr_others)
{
	struct xgm_p2m_entry e;
	int ret;

	if (b->gfn + b->nr < b->gfn || b->gfn + b->nr > 1ULL << 52)
		return xgm_fail(-EINVAL, "gfn 0x%llx plus %llu frames runs past "
				"the last frame number; %s's blob window is "
				"0x%llx..0x%llx", (unsigned long long)b->gfn,
				(unsigned long long)b->nr, b->dom_name,
				(unsigned long long)w->gfn,
				(unsigned long long)(w->gfn + w->nr - 1));
	if (b->gfn < w->gfn || b->gfn + b->nr > w->gfn + w->nr)
		return xgm_fail(-EINVAL, "gfn 0x%llx..0x%llx is outside %s's blob "
				"window 0x%llx..0x%llx",
				(unsigned long long)b->gfn,
				(unsigned long long)(b->gfn + b->nr - 1), b->dom_name,
				(unsigned long long)w->gfn,
				(unsigned long long)(w->gfn + w->nr - 1));
	for (size_t i = 0; i < nr_others; i++)
		if (b->gfn < others[i].gfn + others[i].nr && others[i].gfn < b->gfn + b->nr)
			return xgm_fail(-EEXIST, "gfn 0x%llx..0x%llx overlaps blob "
					"%s:%u", (unsigned long long)b->gfn,
					(unsigned long long)(b->gfn + b->nr - 1),
					b->dom_name, others[i].n);
	ret = hv_p2m_walk(ctx, b->domid, b->gfn, b->gfn + b->nr - 1, first_leaf, &e);
	if (ret == 1)
		return xgm_fail(-EEXIST, "gfn 0x%llx of %s is already in use "
				"(p2m type %u): refusing to map over it",
				(unsigned long long)(e.gfn > b->gfn ? e.gfn : b->gfn),
				b->dom_name, e.type);
	return ret;
}

/*
 * A buffer the mapping cannot follow stays where it is: a grant mapping
 * names these very pages; a strategy the user fixed that cannot map the
 * other placement (mmio cannot map RAM) is kept in place against eviction.
 */
/* Why b must stay where it is, or NULL. Derived, never stored: the
 * record only says that the buffer is pinned. */
bool pin_reason(const struct blob *b, char *buf, size_t len)
{
	const struct strategy_ops *st = strategy_get(b->strategy);
	bool other_ok = b->placement == XGM_PLACE_VRAM ? st->sys_ok : st->vram_ok;

	if (st->pins)
		snprintf(buf, len, "strategy %s cannot follow a move (the guest "
			 "maps these very pages)", st->name);
	else if (!b->strategy_auto && !other_ok)
		snprintf(buf, len, "strategy %s was fixed by the user and cannot "
			 "map %s: kept in %s against eviction", st->name,
			 b->placement == XGM_PLACE_VRAM ? "system RAM" : "VRAM",
			 placement_name(b->placement));
	else
		return false;
	return true;
}

static int next_number(struct xgm_ctx *ctx, uint32_t domid, uint32_t *n)
{
	char path[64];
	json_t *j;
	int ret;

	snprintf(path, sizeof(path), XGM_STORE_ROOT "/next/%u", domid);
	*n = 1;
	if (!store_get(ctx, path, &j)) {
		if (json_integer_value(j) > 0 && json_integer_value(j) < UINT32_MAX)
			*n = (uint32_t)json_integer_value(j);
		json_decref(j);
	}
	xgm_clear_error();
	j = json_integer(*n + 1);
	ret = store_put(ctx, path, j);
	json_decref(j);
	return ret;
}

/* Where the blob goes, once its first frame is known (for 2M alignment). */
struct where {
	const struct window *w;
	const struct span *others;
	size_t nr_others;
};

static int place_blob(struct exec *ex, struct blob *b)
{
	const struct where *p = ex->arg;
	const struct strategy_ops *st = strategy_get(b->strategy);
	int ret;

	if (!p)
		return 0; /* the caller chose the gfn */
	ret = window_place(p->w, p->others, p->nr_others, b->nr, b->ext[0].mfn,
			   st->max_order ? 1ULL << st->max_order : 1, &b->gfn);
	/* The records say the place is free; the p2m must agree (a guest
	 * may have populated RAM in its window). */
	return ret ?: check_place(ex->ctx, b, p->w, p->others, p->nr_others);
}

/* The attach plan: the buffer, where it goes, the record, the mapping. */
static void attach_plan(struct exec *ex, struct blob *b)
{
	char why[160];

	/* The one step that acquires the buffer: allocates it, or takes
	 * the caller's (ex->adopting), whose inverse only releases it. */
	plan_add(ex, STEP_ALLOC, false, 0);
	plan_add(ex, STEP_LOCATE, false, 0);
	b->pinned = pin_reason(b, why, sizeof(why));
	if (b->pinned)
		plan_add(ex, STEP_PIN, false, 0);
	plan_add(ex, STEP_RECORD, false, 0);
	plan_add_map(ex, b->strategy, 0);
	plan_add(ex, STEP_MAPPED, false, 0);
}

int engine_attach(struct xgm_ctx *ctx, const char *dom,
		  const struct xgm_attach_opts *opts, struct blob *res)
{
	struct xgm_domain_info d;
	struct blob b = { 0 };
	struct span *others = NULL;
	struct op_meter meter;
	size_t nr_others = 0;
	struct window w;
	struct where where = { &w };
	struct exec ex;
	bool restore = false, undone = true;
	const char *label, *card, *placement, *cache, *strategy;
	uint64_t size;
	bool gfn_set, adopting;
	struct buffer_record adopt;
	int ret;

	if (!ctx || !dom || !opts)
		return xgm_fail(-EINVAL, "xgm_blob_attach: %s is NULL",
				!ctx ? "ctx" : !dom ? "dom" : "opts");
	ret = OPTS_CHECK("xgm_blob_attach", opts, xgm_attach_opts);
	if (ret)
		return ret;
	size = OPTS_GET(opts, size, 0);
	label = OPTS_GET(opts, label, NULL);
	card = OPTS_GET(opts, card, NULL);
	placement = OPTS_GET(opts, placement, NULL);
	adopting = OPTS_GET(opts, buffer_set, false);
	/* An existing buffer says its own size, placement and card. */
	if (adopting) {
		ret = buffer_adopt_check(ctx, OPTS_GET(opts, buffer, 0), size,
					 placement, card, &adopt);
		if (ret)
			return xgm_err(ret);
		size = adopt.size;
		placement = placement_name(adopt.placement);
		card = adopt.card;
	}
	if (!size)
		return xgm_fail(-EINVAL, "size must be larger than 0");
	if (size % PAGE_SIZE)
		return xgm_fail(-EINVAL, "size %llu bytes is not a multiple of "
				"the 4 KiB page", (unsigned long long)size);
	cache = OPTS_GET(opts, cache, NULL);
	strategy = OPTS_GET(opts, strategy, NULL);
	gfn_set = OPTS_GET(opts, gfn_set, false);
	ret = domain_resolve(ctx, dom, &d);
	if (ret || (ret = check_target(&d)))
		return xgm_err(ret);

	b.domid = d.domid;
	snprintf(b.dom_name, sizeof(b.dom_name), "%s", d.name);
	b.size = size;
	b.nr = size / PAGE_SIZE;
	if (label && strlen(label) >= sizeof(b.label))
		return xgm_fail(-EINVAL, "label longer than %zu bytes", sizeof(b.label) - 1);
	snprintf(b.label, sizeof(b.label), "%s", label ? label : "");
	if (card && strlen(card) >= sizeof(b.card))
		return xgm_fail(-EINVAL, "no card '%s'", card);
	snprintf(b.card, sizeof(b.card), "%s", card ? card : "card0");
	if (card && !*card)
		return xgm_fail(-EINVAL, "the card name is empty (card0, ...)");
	if (placement_parse(placement ? placement : default_placement(strategy),
			    &b.placement))
		return xgm_fail(-EINVAL, "placement must be vram or sys, not '%s'",
				placement);
	if (cache_parse(cache ? cache : "wc", &b.cache))
		return xgm_fail(-EINVAL, "cache must be wc, uc or wb, not '%s'",
				cache);
	ret = choose_strategy(ctx, strategy ? strategy : "auto",
			      b.placement, &b);
	if (ret)
		return xgm_err(ret);
	if (!strategy_nr_steps(b.strategy))
		return xgm_fail(-EOPNOTSUPP, "strategy %s: the engine does not "
				"implement it yet", strategy_name(b.strategy));

	/* From here on a failure leaves the host as it was, byte for byte:
	 * even the window a first blob records goes again. */
	ret = hv_checkpoint(ctx);
	restore = !ret;
	if (!ret)
		ret = window_ensure(ctx, &d, &w);
	if (!ret && b.nr > w.nr) {
		char sz[XGM_SIZE_STR], wsz[XGM_SIZE_STR];

		ret = xgm_fail(-EINVAL, "%s does not fit the %s blob window",
			       xgm_size_str(b.size, sz),
			       xgm_size_str(w.nr * PAGE_SIZE, wsz));
	}
	if (!ret)
		ret = check_card(ctx, &b);
	if (!ret)
		ret = spans_load(ctx, d.domid, &others, &nr_others);
	where.others = others;
	where.nr_others = nr_others;
	if (!ret && gfn_set) {
		b.gfn = OPTS_GET(opts, gfn, 0);
		ret = check_place(ctx, &b, &w, others, nr_others);
	}
	if (ret)
		goto out;
	ret = next_number(ctx, d.domid, &b.n);
	if (ret)
		goto out;

	meter_start(ctx, &meter);
	exec_init(&ex, ctx, "attach", "attaching", &b, NULL);
	ex.place = place_blob;
	ex.arg = gfn_set ? NULL : &where;
	/* Not ours: its alloc step takes it, and every undo releases it,
	 * none frees it (gpu_free). */
	ex.adopting = adopting;
	ex.adopt = adopting ? adopt.id : 0;
	attach_plan(&ex, &b);
	ret = exec_begin(&ex, NULL);
	if (!ret)
		ret = exec_run(&ex, &undone);
	if (ret) {
		if (!undone)
			restore = false; /* left for recover, which needs it */
		goto out;
	}
	/* The counters ride along; the attach is recorded already. */
	meter_stop(ctx, &meter, &b, BLOB_OP_ATTACH);
	blob_save(ctx, &b);
	ret = exec_end(&ex);
	restore = false;
	if (!ret) {
		*res = b;       /* the caller owns the record now */
		memset(&b, 0, sizeof(b));
	}
out:
	if (ret && restore) {
		/* Undone whole: the host as the user had it, byte for byte
		 * (no burnt blob number, no journal sequence moved on). */
		xgm__err_hold();
		hv_restore(ctx);
		xgm__err_release();
	}
	free(others);
	blob_free(&b);
	return xgm_err(ret);
}

static int blob_attach_op(struct xgm_ctx *ctx, const char *dom,
			    const struct xgm_attach_opts *opts, json_t **out)
{
	struct blob b;
	int ret;

	if (!out)
		return xgm_fail(-EINVAL, "xgm_blob_attach: out is NULL");
	ret = engine_attach(ctx, dom, opts, &b);
	if (ret)
		return ret;
	*out = blob_view(ctx, &b);
	blob_free(&b);
	return 0;
}

XGM_API int xgm_blob_attach(struct xgm_ctx *ctx, const char *dom,
			    const struct xgm_attach_opts *opts, json_t **out)
{
	XGM_REMOTE(ctx, remote_call(ctx, "attach", out,
		REMOTE_OPTS(opts, xgm_attach_opts) ?: REMOTE_NEED(opts),
		"{s:s?,s:I,s:s?,s:s?,s:s?,s:s?,s:s?,s:o*,s:o*}", "dom", dom,
		"size", (json_int_t)OPTS_GET(opts, size, 0),
		"placement", OPTS_GET(opts, placement, NULL),
		"strategy", OPTS_GET(opts, strategy, NULL),
		"cache", OPTS_GET(opts, cache, NULL),
		"label", OPTS_GET(opts, label, NULL),
		"card", OPTS_GET(opts, card, NULL),
		"gfn", remote_opt_u64(OPTS_GET(opts, gfn_set, false),
				      OPTS_GET(opts, gfn, 0)),
		"buffer", remote_opt_u64(OPTS_GET(opts, buffer_set, false),
					 OPTS_GET(opts, buffer, 0))));
	return XGM_OP(ctx, XGM_OP_WRITE, blob_attach_op(ctx, dom, opts, out));
}
