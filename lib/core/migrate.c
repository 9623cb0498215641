// SPDX-License-Identifier: LGPL-2.1-only
/*
 * migrate: move a blob's buffer copy-then-switch.
 *
 *   engine_move -> migrate_once -> migrate_plan -> exec_begin -> exec_run:
 *   [pin], allocate the new backing, [pause], locate, copy ("copied"),
 *   the old strategy's map steps undone, the new one's done (the
 *   blackout), record "mapped" ("switched"), [unpause], unpin the old,
 *   [pin the new], free the old -> exec_end; between two backings the ioreq
 *   server answers for, revoke, copy and switch under the claim instead
 *   (served_move_plan)
 *
 * The guest's range is unmapped only for the unmap + map of the switch.
 * When the new backing cannot be mapped with the blob's strategy, a blob
 * attached with `auto` moves to the cheapest strategy that can map it; a
 * strategy the user fixed is respected, and the move refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buffer.h"
#include "core/exec.h"
#include "core/view.h"
#include "util/opts.h"

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static bool can_map(enum strategy s, enum xgm_placement where)
{
	const struct strategy_ops *st = strategy_get(s);

	return where == XGM_PLACE_VRAM ? st->vram_ok : st->sys_ok;
}

/* Picks the strategy for the new backing, or refuses with the reason. */
static int next_strategy(struct xgm_ctx *ctx, const struct blob *b,
			 enum xgm_placement to, enum strategy *out)
{
	const struct strategy_ops *st = strategy_get(b->strategy);
	char id[96];

	snprintf(id, sizeof(id), "%s:%u", b->dom_name, b->n);
	if (st->pins)
		return xgm_fail(-EBUSY, "blob %s is pinned: strategy %s cannot "
				"follow a move (the guest maps grant refs of these "
				"very pages)", id, st->name);
	/* An auto blob takes the best strategy for where it goes: the one
	 * that served a RAM phase (ioreq) is no choice for VRAM. */
	if (b->strategy_auto)
		return strategy_auto(ctx, to, out);
	if (can_map(b->strategy, to)) {
		*out = b->strategy;
		return 0;
	}
	return xgm_fail_remedy(-EPERM, XGM_REMEDY_STRATEGY_AUTO, NULL,
			       "blob %s: strategy %s was chosen by the user and "
			       "cannot map %s; it stays pinned in %s", id,
			       st->name, placement_name(to),
			       placement_name(b->placement));
}

/*
 * Between two backings the ioreq server answers for (ioreq, revoke-fault)
 * the claim stays and the server switches under it: revoke what first
 * touch mapped, copy (an access meanwhile waits on the server, which is
 * this process, busy with the move), then answer from the new buffer. No
 * access ever meets Xen's all-ones handler, and none is lost to the copy.
 */
static void served_move_plan(struct exec *ex, const struct blob *b,
			     enum strategy s, size_t *copy, size_t *mapped)
{
	bool was_rf = b->strategy == STRAT_REVOKE_FAULT;
	bool rf = s == STRAT_REVOKE_FAULT;

	/* The new frames are the guest's to map before it can touch them. */
	if (rf)
		plan_add(ex, STEP_PERMIT, false, 1);
	if (was_rf)
		plan_add(ex, STEP_FAULT_MAP, true, 0);
	*copy = ex->n;
	plan_add(ex, STEP_COPY, false, 0);
	plan_add(ex, STEP_SWITCH, false, 1);
	if (rf)
		plan_add(ex, STEP_FAULT_MAP, false, 1);
	*mapped = ex->n - 1;
}

static bool served(enum strategy s)
{
	return s == STRAT_IOREQ || s == STRAT_REVOKE_FAULT;
}

/* The move as a plan: slot 0 is the blob as it is, slot 1 its new
 * backing. Returns the indexes of the copy and of the last map step, whose
 * end times bound the blackout. */
static void migrate_plan(struct exec *ex, const struct blob *b,
			 enum strategy s, bool pause, size_t *copy,
			 size_t *mapped)
{
	/* The source must not be evicted while it is being copied from. */
	if (!b->pinned)
		plan_add(ex, STEP_PIN, false, 0);
	plan_add(ex, STEP_ALLOC, false, 1);
	/* With --pause the guest cannot write between the copy and the
	 * switch: those writes would stay in the old buffer. */
	if (pause)
		plan_add(ex, STEP_PAUSE, false, 0);
	plan_add(ex, STEP_LOCATE, false, 1);
	if (served(b->strategy) && served(s)) {
		served_move_plan(ex, b, s, copy, mapped);
	} else {
		*copy = ex->n;
		plan_add(ex, STEP_COPY, false, 0);
		/* The blackout: the guest's range is unmapped only from
		 * here... */
		plan_add_unmap(ex, b->strategy, 0);
		plan_add_map(ex, s, 1);
		*mapped = ex->n - 1;
	}
	/* ...to here. The record names the new backing before the guest runs
	 * again: from then on it writes to the new buffer, which recover
	 * must then keep. */
	plan_add(ex, STEP_MAPPED, false, 1);
	if (pause)
		plan_add(ex, STEP_PAUSE, true, 0);
	/* Nothing maps the old frames any more (a served move revoked them
	 * before its copy). */
	if (served(b->strategy) && served(s) && b->strategy == STRAT_REVOKE_FAULT)
		plan_add(ex, STEP_PERMIT, true, 0);
	/* The old buffer is pinned either way by now: by the blob itself or
	 * for the copy. The pin goes before the buffer does, and before the
	 * new one takes it (the pin moves with the data): a GPU that pins by
	 * scanout (bochs, one CRTC) holds one pin at a time. */
	plan_add(ex, STEP_PIN, true, 0);
	if (b->pinned)
		plan_add(ex, STEP_PIN, false, 1);
	plan_add(ex, STEP_ALLOC, true, 0);
}

/* From the end of the pause to the end of the unpause. */
static double paused_for(const struct exec *ex)
{
	double from = 0, to = 0;

	for (size_t i = 0; i < ex->n; i++) {
		if (ex->steps[i].kind != STEP_PAUSE)
			continue;
		if (ex->steps[i].inverse)
			to = ex->t_end[i];
		else
			from = ex->t_end[i];
	}
	return to - from;
}

static int migrate_once(struct xgm_ctx *ctx, struct blob *b,
			enum xgm_placement to, bool pause, double *blackout,
			double *total, double *paused_us, json_t **counters)
{
	struct op_meter meter;
	struct blob nb;
	struct exec ex;
	enum strategy s;
	size_t copy, mapped;
	bool undone = true;
	struct blob_op *op;
	json_t *extra;
	double t0 = now_us();
	int ret;

	ret = journal_blocks(ctx, b) ?: buffer_check_movable(ctx, b) ?:
	      next_strategy(ctx, b, to, &s);
	if (ret)
		return ret;
	if (!strategy_nr_steps(s))
		return xgm_fail(-EOPNOTSUPP, "strategy %s: the engine does not "
				"implement it yet", strategy_name(s));
	nb = *b;
	nb.ext = NULL;
	nb.nr_ext = 0;
	nb.grefs = NULL;
	nb.strategy = s;
	nb.placement = to;
	exec_init(&ex, ctx, "migrate", "mapped", b, &nb);
	ex.have_buf[0] = ex.have_ext[0] = true;
	migrate_plan(&ex, b, s, pause, &copy, &mapped);

	/* A move undone whole leaves the host as it was, byte for byte. */
	ret = hv_checkpoint(ctx);
	if (ret)
		goto out;
	meter_start(ctx, &meter);
	/* The old backing in full: recover may have to go back to it after
	 * the record already names the new one. */
	extra = backing_json(b, "old");
	json_object_set_new(extra, "old_generation", json_integer((json_int_t)b->generation));
	ret = exec_begin(&ex, extra);
	json_decref(extra);
	if (!ret)
		ret = exec_run(&ex, &undone);
	if (ret) {
		if (undone) {
			xgm__err_hold();
			hv_restore(ctx);
			xgm__err_release();
		}
		goto out;
	}
	*blackout = ex.t_end[mapped] - ex.t_end[copy];
	if (pause)
		*paused_us = paused_for(&ex);
	*total = now_us() - t0;
	/* The blob is its new backing now. */
	free(b->ext);
	free(b->grefs);
	*b = nb;
	memset(&nb, 0, sizeof(nb));
	op = meter_stop(ctx, &meter, b, BLOB_OP_MIGRATE);
	op->blackout_us = rounded(*blackout, US_UNIT);
	*counters = blob_op_json(op);
	/* The counters ride along; the move itself is recorded already. */
	blob_save(ctx, b);
	ret = exec_end(&ex);
out:
	blob_free(&nb);
	return ret;
}

/* A move asked to pause the guest needs a backend that can. */
static int pause_supported(struct xgm_ctx *ctx, bool pause)
{
	if (pause && !ctx->be->hv->pause)
		return xgm_fail(-EOPNOTSUPP, "pause: the %s backend cannot pause "
				"a domain", ctx->be->hv->name);
	return 0;
}

int engine_move(struct xgm_ctx *ctx, struct blob *b, enum xgm_placement to,
		bool pause)
{
	double blackout, total, paused_us = 0;
	json_t *counters = NULL;
	int ret = pause_supported(ctx, pause);

	if (ret)
		return ret;
	ret = migrate_once(ctx, b, to, pause, &blackout, &total, &paused_us,
			   &counters);
	json_decref(counters);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static json_t *distribution(double *v, unsigned int n)
{
	/* Nearest-rank percentiles. */
#define PCT(p) v[(size_t)ceil((p) / 100.0 * n) - 1]
	qsort(v, n, sizeof(*v), cmp_double);
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "min", json_rounded(v[0], US_UNIT),
			 "p50", json_rounded(PCT(50), US_UNIT),
			 "p90", json_rounded(PCT(90), US_UNIT),
			 "p99", json_rounded(PCT(99), US_UNIT),
			 "max", json_rounded(v[n - 1], US_UNIT));
#undef PCT
}

static int blob_migrate_op(struct xgm_ctx *ctx, const char *id,
			     const struct xgm_migrate_opts *opts, json_t **out)
{
	const char *to_name;
	unsigned int repeat;
	bool pause;
	enum xgm_placement to;
	double *blackout = NULL, *total = NULL, *paused = NULL;
	json_t *last = NULL, *v;
	struct blob b;
	int ret;

	if (!ctx || !id || !opts || !out)
		return xgm_fail(-EINVAL, "xgm_blob_migrate: %s is NULL",
				!ctx ? "ctx" : !id ? "blob" : !opts ? "opts" : "out");
	ret = OPTS_CHECK("xgm_blob_migrate", opts, xgm_migrate_opts);
	if (ret)
		return ret;
	to_name = OPTS_GET(opts, to, NULL);
	repeat = OPTS_GET(opts, repeat, 0) ?: 1;    /* 0: the default, once */
	pause = OPTS_GET(opts, pause, false);
	if (!to_name)
		return xgm_fail(-EINVAL, "xgm_blob_migrate: opts.to is NULL; "
				"it must be \"vram\" or \"sys\"");
	ret = pause_supported(ctx, pause);
	if (ret)
		return ret;
	if (placement_parse(to_name, &to))
		return xgm_fail(-EINVAL, "opts.to must be \"vram\" or \"sys\", "
				"not '%s'", to_name);
	if (repeat < 1 || repeat > 100000)
		return xgm_fail(-EINVAL, "opts.repeat must be 1..100000, not %u",
				repeat);
	ret = blob_lookup(ctx, id, &b);
	if (ret)
		return xgm_err(ret);
	blackout = calloc(repeat, sizeof(*blackout));
	total = calloc(repeat, sizeof(*total));
	paused = calloc(repeat, sizeof(*paused));
	if (!blackout || !total || !paused) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; !ret && i < repeat; i++) {
		xgm_progress("migrate: migrations", i, repeat);
		json_decref(last);
		last = NULL;
		ret = migrate_once(ctx, &b, to, pause, &blackout[i], &total[i],
				   &paused[i], &last);
	}
	if (ret)
		goto out;
	v = blob_view(ctx, &b);
	json_object_set_new(v, "migrations", json_integer(repeat));
	json_object_set_new(v, "last", last);
	last = NULL;
	/* One type per key: a distribution, of one move or of many. */
	json_object_set_new(v, "blackout_us", distribution(blackout, repeat));
	json_object_set_new(v, "total_us", distribution(total, repeat));
	json_object_set_new(v, "time", json_string("measured"));
	if (pause) {
		/* From the pause before the copy to the unpause after the
		 * switch: how long the guest's vcpus did not run. */
		json_object_set_new(v, "paused", json_true());
		json_object_set_new(v, "paused_us", distribution(paused, repeat));
	}
	*out = v;
out:
	json_decref(last);
	free(blackout);
	free(total);
	free(paused);
	blob_free(&b);
	return xgm_err(ret);
}

XGM_API int xgm_blob_migrate(struct xgm_ctx *ctx, const char *id,
			     const struct xgm_migrate_opts *opts, json_t **out)
{
	XGM_REMOTE(ctx, remote_call(ctx, "migrate", out,
		REMOTE_OPTS(opts, xgm_migrate_opts) ?: REMOTE_NEED(opts),
		"{s:s?,s:s?,s:I,s:b}", "blob", id,
		"to", OPTS_GET(opts, to, NULL),
		"repeat", (json_int_t)OPTS_GET(opts, repeat, 0),
		"pause", OPTS_GET(opts, pause, false)));
	return XGM_OP(ctx, XGM_OP_WRITE, blob_migrate_op(ctx, id, opts, out));
}
