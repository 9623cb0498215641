// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The executor: runs a plan of typed steps (core/exec.h), journals its
 * progress after every step, and undoes exactly the steps done when one
 * fails. The steps' actions are the strategies' primitives; an unmap
 * works from what the p2m really holds, so it also cleans up after an
 * interrupted map.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/exec.h"
#include "core/plan.h"

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* ---- mmio: iomem_permission + memory_mapping --------------------------- */

static int permit(struct exec *ex, struct blob *b, bool allow)
{
	int ret = 0, r;

	for (size_t i = 0; i < b->nr_ext; i++) {
		r = hv_iomem_permission(ex->ctx, b->domid, b->ext[i].mfn,
					b->ext[i].nr, allow);
		if (r && allow)
			return r;
		if (r && !ret)
			ret = r;
	}
	return ret;
}

static int permit_do(struct exec *ex, struct blob *b)
{
	return permit(ex, b, true);
}

/* Revoked only once nothing is mapped (the plan's order sees to that):
 * Xen 4.17 checks the guest's permission on removal too, so revoking over
 * live entries would leave them for good. */
static int permit_undo(struct exec *ex, struct blob *b)
{
	return permit(ex, b, false);
}

struct leaf_list {
	struct xgm_p2m_entry *e;
	size_t n, cap;
	unsigned int type;
};

static int collect_leaf(const struct xgm_p2m_entry *e, void *arg)
{
	struct leaf_list *l = arg;

	if (e->type != l->type)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct xgm_p2m_entry *g = realloc(l->e, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		l->e = g;
		l->cap = cap;
	}
	l->e[l->n++] = *e;
	return 0;
}

/* Removes every mmio_direct leaf in the blob's range: after a complete map
 * that is the whole blob, after an interrupted one exactly what got done. */
static int mmio_undo(struct exec *ex, struct blob *b)
{
	struct leaf_list l = { .type = XGM_P2M_MMIO_DIRECT };
	uint64_t last = b->gfn + b->nr - 1;
	int ret;

	ret = hv_p2m_walk(ex->ctx, b->domid, b->gfn, last, collect_leaf, &l);
	for (size_t i = 0; !ret && i < l.n;) {
		uint64_t g = l.e[i].gfn, m = l.e[i].mfn, n = 1ULL << l.e[i].order;

		/* Leaves contiguous in gfn and mfn go in one request. */
		for (i++; i < l.n && l.e[i].gfn == g + n && l.e[i].mfn == m + n; i++)
			n += 1ULL << l.e[i].order;
		/* A leaf may stick out of the range only if something else
		 * mapped it; clip to what is ours. */
		if (g < b->gfn) {
			m += b->gfn - g;
			n -= b->gfn - g;
			g = b->gfn;
		}
		if (g + n - 1 > last)
			n = last - g + 1;
		ret = hv_memory_mapping_all(ex->ctx, b->domid, g, m, n, false, NULL);
	}
	free(l.e);
	return ret;
}

static int mmio_do(struct exec *ex, struct blob *b)
{
	uint64_t gfn = b->gfn, done;
	int ret = 0;

	/* memory_mapping takes no page reference: RAM mapped this way could
	 * be freed under the guest. Xen does not refuse it; we do. */
	if (b->placement != XGM_PLACE_VRAM)
		return xgm_fail(-EPERM, "mmio maps VRAM only: system RAM mapped "
				"with memory_mapping holds no page reference");
	for (size_t i = 0; !ret && i < b->nr_ext; i++) {
		ret = hv_memory_mapping_all(ex->ctx, b->domid, gfn, b->ext[i].mfn,
					    b->ext[i].nr, true, &done);
		gfn += b->ext[i].nr;
	}
	return ret;
}

/* Nothing is mapped up front: the server maps each 2M chunk on first
 * touch (core/hooks.c; the xen backend's own server, xen/serve.c). */
static int fault_map_do(struct exec *ex, struct blob *b)
{
	return 0;
}

/* Revokes what first touch mapped: through a server that tracks its
 * chunks, then whatever the p2m still shows (what a server that is gone
 * mapped, or the sim's). The next access faults to the server again. */
static int fault_map_undo(struct exec *ex, struct blob *b)
{
	const struct xgm_hv_ops *hv = ex->ctx->be->hv;
	int ret = 0;

	if (hv->ioreq_revoke)
		ret = fault_point(ex->ctx, "ioreq_revoke") ?:
		      hv->ioreq_revoke(ex->ctx->priv, b->domid, b->gfn, b->nr);
	return ret ?: mmio_undo(ex, b);
}

static int save_as(struct exec *ex, struct blob *b, const char *state)
{
	snprintf(b->state, sizeof(b->state), "%s", state);
	return blob_save(ex->ctx, b);
}

/* ---- grant: dom0 grants each page, the guest maps the refs ------------- */

static uint64_t frame_at(const struct blob *b, uint64_t i)
{
	for (size_t k = 0; k < b->nr_ext; k++) {
		if (i < b->ext[k].nr)
			return b->ext[k].mfn + i;
		i -= b->ext[k].nr;
	}
	return UINT64_MAX;
}

static int grant_undo(struct exec *ex, struct blob *b)
{
	int ret = 0, r;

	if (!b->grefs)
		return 0;
	/* Works from any point an interrupted map or unmap left: a ref that
	 * no longer exists was ended already (-ENOENT), one the guest does not
	 * map (-EINVAL) only needs ending. Revocation only after the unmap:
	 * Xen refuses it before. Last page first: grefs were handed out in
	 * order, and a table ends its last entries cheapest. */
	for (uint64_t i = b->nr; i-- > 0;) {
		if (b->grefs[i] == UINT32_MAX)
			continue;
		r = hv_grant_unmap(ex->ctx, b->domid, b->grefs[i], b->gfn + i);
		if (r == -ENOENT) {
			b->grefs[i] = UINT32_MAX;
			continue;
		}
		if (!r || r == -EINVAL)
			r = hv_grant_end(ex->ctx, b->grefs[i]);
		if (!r || r == -ENOENT)
			b->grefs[i] = UINT32_MAX;
		else if (!ret)
			ret = r; /* the first failure's message stays */
	}
	if (ret)
		return ret;
	/* A move's grants wrote the record with the new backing; undone,
	 * the record names the old one again. */
	return b == ex->slot[1] ? save_as(ex, ex->slot[0], "mapped") : 0;
}

/* Pages granted, then recorded, then mapped at a time: the record is
 * written once a batch, not once a page (O(pages) for a blob, not
 * O(pages^2)). */
#define GRANT_BATCH 512

static int grant_do(struct exec *ex, struct blob *b)
{
	const struct xgm_hv_ops *hv = ex->ctx->be->hv;
	int ret = 0;

	/* A blob the grant table cannot hold is refused whole, before its
	 * first grant, not after thousands. */
	if (hv->grant_room && (ret = hv->grant_room(ex->ctx->priv, b->nr)))
		return ret;
	free(b->grefs);
	b->grefs = malloc(b->nr * sizeof(*b->grefs));
	if (!b->grefs)
		return -ENOMEM;
	memset(b->grefs, 0xff, b->nr * sizeof(*b->grefs));
	for (uint64_t first = 0; !ret && first < b->nr; first += GRANT_BATCH) {
		uint64_t end = first + GRANT_BATCH < b->nr ? first + GRANT_BATCH :
							      b->nr, i;

		for (i = first; !ret && i < end; i++)
			ret = hv_grant_access(ex->ctx, b->domid, frame_at(b, i),
					      &b->grefs[i]);
		/* Written down before the guest can use them: a grant the
		 * record names is revoked after a crash, and one granted in a
		 * batch a crash cut short, which nobody maps, is ended by
		 * recover as a grant of the buffer's frames (core/orphans.c). */
		if (!ret)
			ret = blob_save(ex->ctx, b);
		for (i = first; !ret && i < end; i++)
			ret = hv_grant_map(ex->ctx, b->domid, b->grefs[i],
					   b->gfn + i);
	}
	return ret;
}

/* ---- ram-mmio and transfer: NOT IN STOCK XEN (the sim models them) ----- */

/* op does at most its per-call batch and returns how many frames it did. */
typedef int (*batch_op)(void *priv, uint32_t domid, uint64_t gfn, uint64_t mfn,
			uint64_t nr);
typedef int (*range_op)(void *priv, uint32_t domid, uint64_t gfn, uint64_t nr);

static int map_batched(struct exec *ex, struct blob *b, batch_op op,
		       const char *name)
{
	uint64_t gfn = b->gfn;
	int ret = 0;

	if (!op)
		return xgm_fail(-EOPNOTSUPP, "this hypervisor has no %s extension", name);
	for (size_t i = 0; !ret && i < b->nr_ext; i++) {
		uint64_t done = 0;

		while (!ret && done < b->ext[i].nr) {
			ret = fault_point(ex->ctx, name) ?:
			      op(ex->ctx->priv, b->domid, gfn + done,
				 b->ext[i].mfn + done, b->ext[i].nr - done);
			if (ret > 0) {
				done += (uint64_t)ret;
				ret = 0;
			} else if (!ret) {
				ret = xgm_fail(-EIO, "%s made no progress", name);
			}
		}
		gfn += b->ext[i].nr;
	}
	return ret;
}

static int unmap_range(struct exec *ex, struct blob *b, range_op op,
		       const char *name)
{
	int ret;

	if (!op)
		return xgm_fail(-EOPNOTSUPP, "this hypervisor has no %s extension", name);
	ret = fault_point(ex->ctx, name) ?: op(ex->ctx->priv, b->domid, b->gfn, b->nr);
	return ret < 0 ? ret : 0;
}

static int ram_mmio_do(struct exec *ex, struct blob *b)
{
	return map_batched(ex, b, ex->ctx->be->hv->ram_mmio_map, "ram_mmio_map");
}

static int ram_mmio_undo(struct exec *ex, struct blob *b)
{
	return unmap_range(ex, b, ex->ctx->be->hv->ram_mmio_unmap, "ram_mmio_unmap");
}

static int transfer_do(struct exec *ex, struct blob *b)
{
	return map_batched(ex, b, ex->ctx->be->hv->transfer, "transfer");
}

static int transfer_undo(struct exec *ex, struct blob *b)
{
	return unmap_range(ex, b, ex->ctx->be->hv->transfer_back, "transfer_back");
}

/* ---- ioreq: the server claims the blob's range ------------------------- */

static int claim(struct exec *ex, struct blob *b, bool map)
{
	const struct xgm_hv_ops *hv = ex->ctx->be->hv;

	if (!hv->ioreq_map_range)
		return xgm_fail(-EOPNOTSUPP, "this backend has no ioreq server");
	return fault_point(ex->ctx, "ioreq_map_range") ?:
	       hv->ioreq_map_range(ex->ctx->priv, b->domid, b->gfn,
				   b->gfn + b->nr - 1, map);
}

/* What the server answers the claimed range from, where the backend's
 * server answers itself (xen); the sim's handler reads the records. */
static int serve(struct exec *ex, struct blob *b)
{
	const struct xgm_hv_ops *hv = ex->ctx->be->hv;

	if (!hv->ioreq_serve)
		return 0;
	return fault_point(ex->ctx, "ioreq_serve") ?:
	       hv->ioreq_serve(ex->ctx->priv, b->domid, b->gfn, b->buf, b->ext,
			       b->nr_ext, b->strategy == STRAT_REVOKE_FAULT);
}

static int claim_do(struct exec *ex, struct blob *b)
{
	return claim(ex, b, true) ?: serve(ex, b);
}

/*
 * A move between two served backings (ioreq, revoke-fault) keeps the claim
 * and switches what the server answers from: released, the range would
 * send the guest's accesses to Xen's all-ones handler until claimed again.
 * Undone, the old backing is served again.
 */
static int switch_do(struct exec *ex, struct blob *b)
{
	return serve(ex, b);
}

static int switch_undo(struct exec *ex, struct blob *b)
{
	int ret = serve(ex, ex->slot[0]);

	/* No server (a restart since): nothing answers from either. */
	return ret == -ENOENT ? 0 : ret;
}

static int claim_undo(struct exec *ex, struct blob *b)
{
	return claim(ex, b, false);
}

/* ---- the buffer and the record ----------------------------------------- */

static int alloc_do(struct exec *ex, struct blob *b)
{
	unsigned int s = b == ex->slot[1];
	char why[256], sz[XGM_SIZE_STR];
	uint64_t gfn;
	int ret;

	if (!s && ex->adopting) {
		b->buf = ex->adopt;
		ex->have_buf[0] = true;
		return 0;
	}
	/* The gfn is known before the frames for a forced --gfn (attach
	 * without a place to choose) and a move; then the backing is placed
	 * congruent to it, so that 2M entries are possible. */
	gfn = !s && ex->place && ex->arg ? XGM_GFN_ANY : b->gfn;
	ret = gpu_alloc(ex->ctx, b->card, b->size, b->placement, gfn, &b->buf);
	if (ret == -ENOSPC) {
		snprintf(why, sizeof(why), "%s", xgm_last_error());
		gpu_name_victim(ex->ctx, b->card, why, sizeof(why));
		ret = xgm_fail_instead(-ENOSPC, "%s has no room for %s%s in %s%s%s",
			       b->card, s ? "a second copy of " : "",
			       xgm_size_str(b->size, sz),
			       placement_name(b->placement), *why ? ": " : "", why);
	}
	ex->have_buf[s] = !ret;
	return ret;
}

static int free_do(struct exec *ex, struct blob *b)
{
	int ret;

	if (!ex->have_buf[b == ex->slot[1]])
		return 0; /* never got as far as knowing it: an orphan */
	ret = gpu_free(ex->ctx, b->buf);
	return ret == -ENOENT ? 0 : ret; /* freed before an interruption */
}

/* A buffer whose frames the backend cannot see (XGM_MFN_UNSEEN) can only
 * be served: a strategy that writes frames into the p2m would need them. */
static int frames_needed(const struct blob *b)
{
	if (strategy_get(b->strategy)->maps_nothing)
		return 0;
	for (size_t i = 0; i < b->nr_ext; i++)
		if (b->ext[i].mfn >= XGM_MFN_UNSEEN)
			return xgm_fail(-EOPNOTSUPP, "%s's buffer is system RAM whose "
					"frames xgpumap cannot see (a driver's "
					"mapping or a dma-buf): strategy %s maps "
					"frames; use --strategy ioreq, which serves "
					"every access from dom0's mapping", b->card,
					strategy_get(b->strategy)->name);
	return 0;
}

static int locate_do(struct exec *ex, struct blob *b)
{
	unsigned int s = b == ex->slot[1];
	int ret;

	free(b->ext);
	b->ext = NULL;
	ret = gpu_extents(ex->ctx, b->buf, &b->ext, &b->nr_ext) ?:
	      frames_needed(b);
	ex->have_ext[s] = !ret;
	if (!ret && ex->place && !s)
		ret = ex->place(ex, b);
	return ret;
}

static int nothing(struct exec *ex, struct blob *b)
{
	return 0;
}

static int pin_do(struct exec *ex, struct blob *b)
{
	return gpu_pin(ex->ctx, b->buf, true);
}

static int unpin(struct exec *ex, struct blob *b)
{
	return gpu_pin(ex->ctx, b->buf, false);
}

static int record_do(struct exec *ex, struct blob *b)
{
	return save_as(ex, b, ex->transit);
}

static int record_undo(struct exec *ex, struct blob *b)
{
	int ret = blob_delete(ex->ctx, b);

	return ret == -ENOENT ? 0 : ret; /* failed before it was written */
}

static int mapped_do(struct exec *ex, struct blob *b)
{
	/* A move's record names the new backing, one generation on. */
	if (b == ex->slot[1])
		b->generation = ex->slot[0]->generation + 1;
	return save_as(ex, b, "mapped");
}

static int mapped_undo(struct exec *ex, struct blob *b)
{
	if (b == ex->slot[1])
		return save_as(ex, ex->slot[0], "mapped");
	return save_as(ex, b, ex->transit);
}

static int copy_do(struct exec *ex, struct blob *b)
{
	return gpu_copy(ex->ctx, ex->slot[0]->buf, ex->slot[1]->buf);
}

/*
 * --pause: the guest's vCPUs are stopped from before the copy until after
 * the switch: a write during the copy would stay behind in the old buffer,
 * and none touches the range while it is unmapped. Xen counts pauses, so
 * a guest the admin paused stays paused after our unpause.
 */
static int pause_guest(struct exec *ex, struct blob *b, bool pause)
{
	return fault_point(ex->ctx, pause ? "pause" : "unpause") ?:
	       ex->ctx->be->hv->pause(ex->ctx->priv, b->domid, pause);
}

static int pause_do(struct exec *ex, struct blob *b)
{
	return pause_guest(ex, b, true);
}

static int pause_undo(struct exec *ex, struct blob *b)
{
	return pause_guest(ex, b, false);
}

/* ---- the step table ---------------------------------------------------- */

typedef int (*step_fn)(struct exec *ex, struct blob *b);

static const struct step_ops {
	const char *name;
	step_fn fwd, inv;
	/* A failed forward may have done part of its work: its inverse
	 * (which works from what is there) runs too. */
	bool partial;
} step_ops[STEP_NR] = {
	[STEP_ALLOC] = { "alloc", alloc_do, free_do },
	[STEP_LOCATE] = { "locate", locate_do, nothing },
	[STEP_PIN] = { "pin", pin_do, unpin },
	[STEP_RECORD] = { "record", record_do, record_undo, true },
	[STEP_MAPPED] = { "mapped", mapped_do, mapped_undo, true },
	[STEP_COPY] = { "copy", copy_do, nothing },
	[STEP_PAUSE] = { "pause", pause_do, pause_undo },
	[STEP_PERMIT] = { "permit", permit_do, permit_undo, true },
	[STEP_MMIO] = { "mmio", mmio_do, mmio_undo, true },
	[STEP_FAULT_MAP] = { "fault-map", fault_map_do, fault_map_undo, true },
	[STEP_GRANT] = { "grant", grant_do, grant_undo, true },
	[STEP_CLAIM] = { "claim", claim_do, claim_undo, true },
	[STEP_SWITCH] = { "switch", switch_do, switch_undo, true },
	[STEP_RAM_MMIO] = { "ram-mmio", ram_mmio_do, ram_mmio_undo, true },
	[STEP_TRANSFER] = { "transfer", transfer_do, transfer_undo, true },
};

/* What maps a blob with each strategy, in order. */
static const unsigned char strategy_steps[STRAT_NR][3] = {
	[STRAT_MMIO] = { STEP_PERMIT, STEP_MMIO },
	[STRAT_GRANT] = { STEP_GRANT },
	[STRAT_IOREQ] = { STEP_CLAIM },
	[STRAT_RAM_MMIO] = { STEP_RAM_MMIO },
	[STRAT_TRANSFER] = { STEP_TRANSFER },
	/* Permission first, so that the server can map what is touched. */
	[STRAT_REVOKE_FAULT] = { STEP_PERMIT, STEP_CLAIM, STEP_FAULT_MAP },
};

size_t strategy_nr_steps(enum strategy s)
{
	size_t n = 0;

	if ((unsigned int)s >= STRAT_NR)
		return 0;
	while (n < 3 && strategy_steps[s][n])
		n++;
	return n;
}

void exec_init(struct exec *ex, struct xgm_ctx *ctx, const char *op,
	       const char *transit, struct blob *b, struct blob *nb)
{
	memset(ex, 0, sizeof(*ex));
	ex->ctx = ctx;
	ex->op = op;
	ex->transit = transit;
	ex->slot[0] = b;
	ex->slot[1] = nb;
	ex->phase = "intent";
}

void plan_add(struct exec *ex, enum step_kind k, bool inverse,
	      unsigned int slot)
{
	if (ex->n == PLAN_STEPS_MAX) {
		ex->overflow = true;
		return;
	}
	ex->steps[ex->n++] = (struct step){ k, inverse, slot };
}

void plan_add_map(struct exec *ex, enum strategy s, unsigned int slot)
{
	for (size_t i = 0; i < strategy_nr_steps(s); i++)
		plan_add(ex, strategy_steps[s][i], false, slot);
}

void plan_add_unmap(struct exec *ex, enum strategy s, unsigned int slot)
{
	for (size_t i = strategy_nr_steps(s); i-- > 0;)
		plan_add(ex, strategy_steps[s][i], true, slot);
}

/* Runs s forward (or, with flip, backward). */
static int run_step(struct exec *ex, const struct step *s, bool flip)
{
	const struct step_ops *o = &step_ops[s->kind];

	return (s->inverse != flip ? o->inv : o->fwd)(ex, ex->slot[s->slot]);
}

/* ---- the journal record: the plan and how far it got ------------------- */

static json_t *plan_json(const struct exec *ex)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ex->n; i++) {
		const struct step *s = &ex->steps[i];

		json_array_append_new(a, json_sprintf("%s%s%s", s->inverse ? "~" : "",
						      step_ops[s->kind].name,
						      s->slot ? "@1" : ""));
	}
	return a;
}

static int step_parse(const char *v, struct step *s)
{
	size_t len;

	if (!v)
		return -EBADMSG;
	s->inverse = *v == '~';
	v += s->inverse;
	len = strlen(v);
	s->slot = len > 2 && !strcmp(v + len - 2, "@1");
	len -= s->slot ? 2 : 0;
	for (unsigned int k = 0; k < STEP_NR; k++) {
		if (strlen(step_ops[k].name) == len &&
		    !strncmp(step_ops[k].name, v, len)) {
			s->kind = (unsigned char)k;
			return 0;
		}
	}
	return -EBADMSG;
}

/* What is wrong with a record's plan ("plan", "done"), or NULL. */
const char *journal_plan_problem(json_t *rec, char *buf, size_t len)
{
	json_t *plan = json_object_get(rec, "plan"), *v;
	json_t *done = json_object_get(rec, "done");
	struct step s;
	size_t i;

	if (!json_is_array(plan) || json_array_size(plan) > PLAN_STEPS_MAX) {
		snprintf(buf, len, "its 'plan' is missing or not a list of steps");
		return buf;
	}
	json_array_foreach(plan, i, v) {
		if (step_parse(json_string_value(v), &s)) {
			snprintf(buf, len, "step %zu of its plan is not a step", i);
			return buf;
		}
	}
	if (!json_is_integer(done) || json_integer_value(done) < 0 ||
	    (size_t)json_integer_value(done) > json_array_size(plan)) {
		snprintf(buf, len, "its step count 'done' is missing or past the plan");
		return buf;
	}
	return NULL;
}

/* The backing of a slot, as the journal keeps it (prefix "old" or "new"). */
json_t *backing_json(const struct blob *b, const char *which)
{
	char k[4][32];

	snprintf(k[0], sizeof(k[0]), "%s_buf", which);
	snprintf(k[1], sizeof(k[1]), "%s_extents", which);
	snprintf(k[2], sizeof(k[2]), "%s_strategy", which);
	snprintf(k[3], sizeof(k[3]), "%s_placement", which);
	return json_pack("{s:I,s:o,s:s,s:s}", k[0], (json_int_t)b->buf,
			 k[1], extents_record(b->ext, b->nr_ext),
			 k[2], strategy_name(b->strategy),
			 k[3], placement_name(b->placement));
}

/* Whether the plan holds the guest paused after its first `done` steps. */
static bool holds_pause(const struct exec *ex, size_t done)
{
	bool paused = false;

	for (size_t i = 0; i < done; i++)
		if (ex->steps[i].kind == STEP_PAUSE)
			paused = !ex->steps[i].inverse;
	return paused;
}

/* The phase a step's completion reaches (what check shows, and the fault
 * points of tests/cli/050-faults.bats), or NULL to keep the last one. */
static const char *phase_after(const struct step *s)
{
	if (s->inverse)
		return NULL;
	if (s->kind == STEP_ALLOC && !s->slot)
		return "allocated";
	if (s->kind == STEP_RECORD)
		return "mapping";
	if (s->kind == STEP_COPY)
		return "copied";
	if (s->kind == STEP_MAPPED && s->slot)
		return "switched";
	return NULL;
}

/* Writes how far the plan got (and what its steps learnt), syncs, and
 * passes the fault point of a new phase. */
static int progress(struct exec *ex, const char *phase)
{
	bool new_phase = phase && strcmp(phase, ex->phase);
	char path[64], point[48];
	json_t *rec;
	int ret;

	if (!ex->seq)
		return 0;
	if (phase)
		ex->phase = phase;
	snprintf(path, sizeof(path), XGM_STORE_ROOT "/journal/%llu",
		 (unsigned long long)ex->seq);
	ret = store_get(ex->ctx, path, &rec);
	if (ret)
		return ret;
	json_object_set_new(rec, "phase", json_string(ex->phase));
	json_object_set_new(rec, "done", json_integer((json_int_t)ex->done));
	if (ex->have_buf[0])
		json_object_set_new(rec, "buf", json_integer((json_int_t)ex->slot[0]->buf));
	if (ex->slot[1] && ex->have_ext[1])
		json_object_update_new(rec, backing_json(ex->slot[1], "new"));
	for (size_t i = 0; i < ex->n; i++) {
		if (ex->steps[i].kind == STEP_PAUSE) {
			json_object_set_new(rec, "paused",
					    json_boolean(holds_pause(ex, ex->done)));
			break;
		}
	}
	ret = store_put(ex->ctx, path, rec);
	json_decref(rec);
	if (!ret)
		ret = hv_sync(ex->ctx);
	snprintf(point, sizeof(point), "%s:%s", ex->op, ex->phase);
	return ret ?: new_phase ? fault_point(ex->ctx, point) : 0;
}

int exec_begin(struct exec *ex, json_t *extra)
{
	json_t *rec = json_pack("{s:o,s:i}", "plan", plan_json(ex), "done", 0);
	int ret;

	if (ex->overflow)
		return xgm_fail(-E2BIG, "%s: the plan has more than %d steps",
				ex->op, PLAN_STEPS_MAX);
	if (!rec)
		return -ENOMEM;
	if (extra)
		json_object_update(rec, extra);
	ret = journal_intent(ex->ctx, ex->op, ex->slot[0], rec, &ex->seq);
	json_decref(rec);
	return ret;
}

int exec_end(struct exec *ex)
{
	return ex->seq ? journal_done(ex->ctx, ex->seq) ?: hv_sync(ex->ctx) : 0;
}

/* A freed buffer cannot be unfreed: past that, only forward is left. */
static bool irreversible(const struct step *s)
{
	return s->kind == STEP_ALLOC && s->inverse;
}

/* Undoes steps [0, upto) last first, writing each one undone. */
static int undo_done(struct exec *ex, size_t upto)
{
	int ret = 0;

	while (!ret && upto > 0) {
		const struct step *s = &ex->steps[upto - 1];

		if (irreversible(s))
			return -ECANCELED;
		ret = run_step(ex, s, true);
		if (!ret) {
			ex->done = --upto;
			ret = progress(ex, NULL);
		}
	}
	return ret;
}

/* Undoes the step that failed (or was running at a crash): what it may
 * have done in part. An inverse (an unmap) is first completed, so that
 * the forward starts from nothing. */
static int undo_partial(struct exec *ex, const struct step *s)
{
	if (!step_ops[s->kind].partial)
		return 0;
	if (s->inverse)
		return run_step(ex, s, false) ?: run_step(ex, s, true);
	return run_step(ex, s, true);
}

int exec_run(struct exec *ex, bool *undone)
{
	size_t failed = 0;
	bool partial = false;
	int ret = 0, undo;

	*undone = false;
	while (!ret && ex->done < ex->n) {
		const struct step *s = &ex->steps[ex->done];

		ret = run_step(ex, s, false);
		if (ret) {
			partial = true;
			failed = ex->done;
			break;
		}
		ex->t_end[ex->done++] = now_us();
		ret = progress(ex, phase_after(s));
	}
	if (!ret)
		return 0;
	/* Said first, so that a crash during the undo is finished the same
	 * way by recover. The cause's message stays whatever the undo meets. */
	xgm__err_hold();
	undo = progress(ex, "rolling-back");
	if (!undo && partial)
		undo = undo_partial(ex, &ex->steps[failed]);
	if (!undo)
		undo = undo_done(ex, ex->done);
	if (!undo)
		undo = exec_end(ex);
	else
		hv_sync(ex->ctx); /* left for recover, which finishes it */
	xgm__err_release();
	*undone = !undo;
	return ret; /* the cause's message: the first failure wins */
}

int exec_finish(struct exec *ex)
{
	int ret = 0;

	while (!ret && ex->done < ex->n) {
		ret = run_step(ex, &ex->steps[ex->done], false);
		if (!ret) {
			ex->done++;
			ret = progress(ex, NULL);
		}
	}
	if (ret)
		hv_sync(ex->ctx);
	return ret;
}

int exec_undo(struct exec *ex)
{
	int ret = 0;

	/* The step that was running: a failure to undo a pin that never
	 * happened is no failure, a buffer never recorded is an orphan. */
	if (ex->done < ex->n) {
		const struct step *s = &ex->steps[ex->done];

		if (s->kind == STEP_PIN && !s->inverse) {
			unpin(ex, ex->slot[s->slot]);
			xgm_clear_error();
		} else {
			ret = undo_partial(ex, s);
		}
	}
	return ret ?: undo_done(ex, ex->done);
}

bool exec_past_switch(const struct exec *ex)
{
	if (!strcmp(ex->op, "detach"))
		return true;
	for (size_t i = 0; i < ex->done; i++)
		if (ex->steps[i].kind == STEP_MAPPED && ex->steps[i].slot &&
		    !ex->steps[i].inverse)
			return true;
	return ex->done == ex->n;
}

int exec_load(struct exec *ex, json_t *rec)
{
	json_t *plan = json_object_get(rec, "plan"), *v;
	char why[160];
	size_t i;

	if (journal_plan_problem(rec, why, sizeof(why)))
		return xgm_fail(-EBADMSG, "journal: %s", why);
	ex->n = 0;
	json_array_foreach(plan, i, v) {
		struct step s;

		step_parse(json_string_value(v), &s);
		if (s.slot && !ex->slot[1])
			return xgm_fail(-EBADMSG, "journal: the plan names a new "
					"backing the record does not hold");
		plan_add(ex, s.kind, s.inverse, s.slot);
	}
	ex->done = (size_t)json_integer_value(json_object_get(rec, "done"));
	ex->seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	v = json_object_get(rec, "phase");
	ex->phase = json_is_string(v) ? json_string_value(v) : "intent";
	return 0;
}

/* ---- plans without a journal ------------------------------------------- */

/* Runs ex's plan forward; a failure undoes what it did when undo says so,
 * the error stays the one that happened. */
static int run_bare(struct exec *ex, bool undo)
{
	bool undone;

	if (!undo) {
		int ret = 0;

		for (; !ret && ex->done < ex->n; ex->done++)
			ret = run_step(ex, &ex->steps[ex->done], false);
		return ret;
	}
	return exec_run(ex, &undone);
}

int strategy_map(struct xgm_ctx *ctx, struct blob *b)
{
	struct exec ex;

	exec_init(&ex, ctx, "map", b->state, b, NULL);
	plan_add_map(&ex, b->strategy, 0);
	return run_bare(&ex, true);
}

int strategy_unmap(struct xgm_ctx *ctx, struct blob *b)
{
	struct exec ex;

	exec_init(&ex, ctx, "unmap", b->state, b, NULL);
	plan_add_unmap(&ex, b->strategy, 0);
	return run_bare(&ex, false);
}

int blob_dismantle(struct xgm_ctx *ctx, struct blob *b)
{
	struct exec ex;

	exec_init(&ex, ctx, "detach", "detaching", b, NULL);
	ex.have_buf[0] = ex.have_ext[0] = true;
	detach_plan(&ex, b);
	return run_bare(&ex, false);
}
