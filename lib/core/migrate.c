// SPDX-License-Identifier: LGPL-2.1-only
/*
 * migrate: move a blob's buffer copy-then-switch.
 *
 *   journal intent -> allocate the new backing -> copy -> phase "copied"
 *   -> switch: unmap old gfns, map the new frames (the blackout) -> phase
 *   "switched" -> free the old backing -> record -> journal done
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
#include "core/engine.h"
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
	return xgm_fail(-EPERM, "blob %s: strategy %s was chosen by the "
			"user and cannot map %s; it stays pinned in %s "
			"(attach with --strategy auto to allow switching)",
			id, st->name, placement_name(to),
			placement_name(b->placement));
}

/* The switch, timed: the guest's range is unmapped only for this long. */
static int switch_backing(struct xgm_ctx *ctx, struct blob *b, uint64_t buf,
			  struct xgm_extent *ext, size_t nr_ext, enum strategy s,
			  enum xgm_placement to, double *blackout)
{
	double t0 = now_us();
	int ret = blob_switch(ctx, b, buf, ext, nr_ext, s, to);

	*blackout = now_us() - t0;
	return ret;
}

/*
 * --pause: the guest's vCPUs are stopped from before the copy until after
 * the switch: a write during the copy would stay behind in the old buffer,
 * and none touches the range while it is unmapped (Xen's null handler
 * would answer reads with all-ones and drop writes). Xen counts pauses, so
 * a guest the admin paused stays paused after our unpause.
 */
static int pause_guest(struct xgm_ctx *ctx, uint32_t domid, bool pause)
{
	return fault_point(ctx, pause ? "pause" : "unpause") ?:
	       ctx->be->hv->pause(ctx->priv, domid, pause);
}

static int extents_json(const struct xgm_extent *e, size_t n, json_t **out)
{
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, json_pack("{s:I,s:I}", "mfn",
			(json_int_t)e[i].mfn, "nr", (json_int_t)e[i].nr));
	return 0;
}

/* A failed switch goes back to the old backing, which still exists until
 * the very end: the guest keeps its data, nothing else changed. */
static int switch_back(struct xgm_ctx *ctx, struct blob *b, const struct blob *old)
{
	struct xgm_extent *ext = malloc(old->nr_ext * sizeof(*ext));

	if (!ext)
		return -ENOMEM;
	memcpy(ext, old->ext, old->nr_ext * sizeof(*ext));
	return blob_switch(ctx, b, old->buf, ext, old->nr_ext, old->strategy,
			   old->placement);
}

static int migrate_once(struct xgm_ctx *ctx, struct blob *b,
			enum xgm_placement to, bool pause, double *blackout,
			double *total, double *paused_us, json_t **counters)
{
	struct xgm_extent *ext = NULL;
	struct blob old = { 0 };
	struct op_meter meter;
	enum strategy s;
	uint64_t seq, buf = 0;
	bool src_pinned = false, allocated = false, switched = false;
	bool old_unpinned = false;
	bool paused = false;
	double t_pause = 0;
	size_t nr_ext;
	json_t *extra, *jext;
	double t0 = now_us();
	int ret;

	ret = journal_blocks(ctx, b) ?: buffer_check_movable(ctx, b) ?:
	      next_strategy(ctx, b, to, &s);
	if (ret)
		return ret;
	if (!strategy_get(s)->map)
		return xgm_fail(-EOPNOTSUPP, "strategy %s: the engine does not "
				"implement it yet", strategy_name(s));
	/* What to go back to if anything fails. */
	old = *b;
	old.ext = malloc(b->nr_ext * sizeof(*old.ext));
	if (!old.ext)
		return -ENOMEM;
	memcpy(old.ext, b->ext, b->nr_ext * sizeof(*old.ext));
	old.grefs = NULL;
	old.ops = NULL;

	/* A move undone whole leaves the host as it was, byte for byte. */
	ret = hv_checkpoint(ctx);
	if (ret)
		goto out;
	meter_start(ctx, &meter);
	/* The old backing in full: recover may have to go back to it after
	 * the record already names the new one. */
	extents_json(old.ext, old.nr_ext, &jext);
	extra = json_pack("{s:I,s:o,s:s,s:s,s:I}", "old_buf", (json_int_t)old.buf,
			  "old_extents", jext, "old_strategy", strategy_name(old.strategy),
			  "old_placement", placement_name(old.placement),
			  "old_generation", (json_int_t)old.generation);
	ret = journal_intent(ctx, "migrate", b, extra, &seq);
	json_decref(extra);
	if (ret) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", xgm_last_error());
		hv_restore(ctx);
		xgm_fail(ret, "%s", msg);
		goto out;
	}
	/* The source must not be evicted while it is being copied from. */
	if (!b->pinned) {
		ret = gpu_pin(ctx, old.buf, true);
		src_pinned = !ret;
	}
	if (!ret) {
		ret = gpu_alloc(ctx, b->card, b->size, to, &buf);
		if (ret == -ENOSPC) {
			char why[256], sz[XGM_SIZE_STR];

			snprintf(why, sizeof(why), "%s", xgm_last_error());
			gpu_name_victim(ctx, b->card, why, sizeof(why));
			ret = xgm_fail(-ENOSPC, "%s has no room for a second copy "
				       "of %s in %s%s%s", b->card,
				       xgm_size_str(b->size, sz), placement_name(to),
				       *why ? ": " : "", why);
		}
		allocated = !ret;
	}
	/* With --pause the guest cannot write between the copy and the
	 * switch: those writes would stay in the old buffer. */
	if (!ret && pause) {
		ret = pause_guest(ctx, b->domid, true);
		paused = !ret;
		t_pause = now_us();
		/* Written down, so that recover unpauses a guest this process
		 * paused and then died holding. */
		if (paused) {
			json_t *mark = json_pack("{s:b}", "paused", 1);

			ret = journal_phase(ctx, seq, "intent", mark);
			json_decref(mark);
		}
	}
	if (!ret)
		ret = gpu_extents(ctx, buf, &ext, &nr_ext) ?: gpu_copy(ctx, old.buf, buf);
	if (!ret) {
		extents_json(ext, nr_ext, &jext);
		extra = json_pack("{s:I,s:o,s:s,s:s}", "new_buf", (json_int_t)buf,
				  "new_extents", jext, "new_strategy", strategy_name(s),
				  "new_placement", placement_name(to));
		ret = journal_phase(ctx, seq, "copied", extra);
		json_decref(extra);
	}
	if (!ret) {
		/* The blackout: the guest's range is unmapped only here. */
		switched = true;
		ret = switch_backing(ctx, b, buf, ext, nr_ext, s, to, blackout);
		ext = NULL;
	}
	/* Switched is written before the guest runs again: from then on it
	 * writes to the new buffer, which recover must then keep. A failed
	 * switch is undone first, still paused (below). */
	if (!ret)
		ret = journal_phase(ctx, seq, "switched", NULL);
	if (!ret && paused) {
		ret = pause_guest(ctx, b->domid, false);
		paused = !!ret;
		if (!paused) {
			json_t *mark = json_pack("{s:b}", "paused", 0);

			*paused_us = now_us() - t_pause;
			ret = journal_phase(ctx, seq, "switched", mark);
			json_decref(mark);
		}
	}
	if (!ret && b->pinned)
		ret = gpu_pin(ctx, buf, true); /* the pin moves with the data */
	if (!ret) {
		b->generation++;
		snprintf(b->state, sizeof(b->state), "mapped");
		ret = blob_save(ctx, b);
		if (ret)
			b->generation--;
	}
	/* The old buffer is pinned either way by now: by the blob itself
	 * or for the copy. The pin goes before the buffer does. */
	if (!ret) {
		ret = gpu_pin(ctx, old.buf, false);
		if (!ret) {
			old_unpinned = true;
			src_pinned = false;
		}
	}
	if (!ret)
		ret = gpu_free(ctx, old.buf);
	if (ret) {
		char msg[512];
		bool exact = true;
		int undo = 0;

		/* Go back: the old backing is still there. Say so first, so
		 * that a crash during the undo is finished the same way. */
		snprintf(msg, sizeof(msg), "%s", xgm_last_error());
		free(ext);
		journal_phase(ctx, seq, "rolling-back", NULL);
		if (switched) {
			undo = switch_back(ctx, b, &old);
			b->generation = old.generation;
			if (!undo)
				undo = blob_save(ctx, b);
		}
		if (paused && pause_guest(ctx, b->domid, false)) {
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
				 "; %s stays paused (xl unpause)", b->dom_name);
			exact = false; /* not as it was: no restore */
		}
		if (!undo && allocated) {
			if (b->pinned)
				gpu_pin(ctx, buf, false);
			undo = gpu_free(ctx, buf);
		}
		if (!undo && src_pinned)
			undo = gpu_pin(ctx, old.buf, false);
		/* A pinned blob's old buffer gets its pin back. */
		if (!undo && old_unpinned && b->pinned)
			undo = gpu_pin(ctx, old.buf, true);
		/* Undone: the journal goes. Not undone: recover finishes
		 * the move from the phase the journal reached. */
		if (!undo)
			undo = journal_done(ctx, seq);
		if (undo || !exact || hv_restore(ctx))
			hv_sync(ctx);
		xgm_fail(ret, "%s", *msg ? msg : "migrate failed");
		goto out;
	}
	*total = now_us() - t0;
	*counters = json_incref(meter_stop(ctx, &meter, b, "migrate"));
	json_object_set_new(*counters, "blackout_us", json_rounded(*blackout, US_UNIT));
	/* The counters ride along; the move itself is recorded already. */
	blob_save(ctx, b);
	ret = journal_done(ctx, seq);
out:
	free(old.ext);
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
	json_object_set_new(v, "blackout_us", repeat > 1 ? distribution(blackout, repeat)
							  : json_rounded(blackout[0], US_UNIT));
	json_object_set_new(v, "total_us", repeat > 1 ? distribution(total, repeat)
						      : json_rounded(total[0], US_UNIT));
	json_object_set_new(v, "time", json_string("measured"));
	if (pause) {
		/* From the pause before the copy to the unpause after the
		 * switch: how long the guest's vcpus did not run. */
		json_object_set_new(v, "paused", json_true());
		json_object_set_new(v, "paused_us", repeat > 1 ?
				    distribution(paused, repeat) :
				    json_real(paused[0]));
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
	XGM_REMOTE(ctx, remote_migrate(ctx, id, opts, out));
	return XGM_OP(ctx, XGM_OP_WRITE, blob_migrate_op(ctx, id, opts, out));
}
