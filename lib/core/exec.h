/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The plan is the program: attach, detach and migrate are lists of typed
 * steps, and one executor (core/exec.c) runs them.
 *
 * Every step kind has a forward action and an inverse; a plan step is a
 * kind, a direction and a slot (0: the blob as it is, 1: the new backing
 * of a move). A strategy is the list of steps that map a blob with it; its
 * unmap is the inverses of those, in reverse. The executor runs each step
 * through the backend calls (each behind its fault point, core/hv.c),
 * writes the journal record (the plan, how many steps are done, and the
 * backings the steps learnt) after each one, and on failure runs the
 * inverses of exactly the steps done, last first. recover reads the same
 * record and undoes or finishes the plan (core/recover.c).
 *
 *   attach  = alloc, locate, [pin], record, <map steps>, mapped
 *   detach  = ~mapped, <~map steps reversed>, [~pin], ~alloc, ~record
 *   migrate = [pin], alloc@1, [pause], locate@1, copy, <~old map steps>,
 *             <new map steps @1>, mapped@1, [~pause], ~pin, [pin@1], ~alloc
 *   migrate between served backings (ioreq, revoke-fault: the claim stays)
 *           = [pin], alloc@1, [pause], locate@1, [permit@1], [~fault-map],
 *             copy, switch@1, [fault-map@1], mapped@1, [~pause], [~permit],
 *             ~pin, [pin@1], ~alloc
 *
 * Buffer acquisition is the one alloc step of attach; for a buffer the
 * caller made it adopts that one instead, and its inverse then releases
 * the buffer, never frees it (gpu_free).
 */
#ifndef XGM_EXEC_H
#define XGM_EXEC_H

#include "core/engine.h"

enum step_kind {
	STEP_ALLOC,     /* a GPU buffer for the slot        | free it */
	STEP_LOCATE,    /* read its extents (attach: place) | nothing */
	STEP_PIN,       /* pin the buffer                   | unpin */
	STEP_RECORD,    /* write the blob record, in transit | delete it */
	STEP_MAPPED,    /* the record says "mapped" (@1: the new backing,
			 * one generation on) | @0: in transit again, @1: the
			 * old backing's record back */
	STEP_COPY,      /* slot 0's data to slot 1          | nothing */
	STEP_PAUSE,     /* stop the guest's vCPUs           | run them */
	STEP_PERMIT,    /* iomem_permission of the frames   | revoke it */
	STEP_MMIO,      /* memory_mapping of the frames     | remove what is mapped */
	STEP_FAULT_MAP, /* nothing: the ioreq server maps on first touch |
			 * remove what it mapped */
	STEP_GRANT,     /* grant each frame, the guest maps the ref |
			 * unmap and end the grants */
	STEP_CLAIM,     /* the ioreq server claims the range (and serves the
			 * backing) | releases it */
	STEP_RAM_MMIO,  /* ram-mmio extension map           | its unmap */
	STEP_TRANSFER,  /* transfer extension               | transfer back */
	STEP_SWITCH,    /* the server answers from this backing, the claim
			 * kept | from slot 0's again */
	STEP_NR,
};

struct step {
	unsigned char kind;     /* enum step_kind */
	bool inverse;
	unsigned char slot;
};

#define PLAN_STEPS_MAX 24

struct exec;

struct exec {
	struct xgm_ctx *ctx;
	const char *op;          /* the journal's name: attach, detach, migrate */
	const char *transit;     /* the state a record holds meanwhile */
	struct step steps[PLAN_STEPS_MAX];
	size_t n, done;
	struct blob *slot[2];
	bool have_buf[2];        /* the slot's buffer is known */
	bool have_ext[2];        /* and its extents */
	uint64_t seq;            /* the journal record; 0: none is kept */
	const char *phase;       /* the last phase written */
	bool overflow;
	double t_end[PLAN_STEPS_MAX]; /* when each step ended (µs) */
	/* attach of an existing buffer: slot 0's alloc step takes this one
	 * (core/buffer.c) instead of allocating. */
	bool adopting;
	uint64_t adopt;
	/* attach: chooses the gfn once the frames are known (LOCATE); arg
	 * NULL when the caller chose it (slot 0's gfn is known at alloc). */
	int (*place)(struct exec *ex, struct blob *b);
	void *arg;
};

void exec_init(struct exec *ex, struct xgm_ctx *ctx, const char *op,
	       const char *transit, struct blob *b, struct blob *nb);
void plan_add(struct exec *ex, enum step_kind k, bool inverse,
	      unsigned int slot);
/* The steps that map (unmap: undo, in reverse) a blob with strategy s. */
void plan_add_map(struct exec *ex, enum strategy s, unsigned int slot);
void plan_add_unmap(struct exec *ex, enum strategy s, unsigned int slot);
/* How many steps strategy s maps with (0: the engine cannot map it). */
size_t strategy_nr_steps(enum strategy s);

/* Writes the journal intent (the plan, with extra) and syncs. */
int exec_begin(struct exec *ex, json_t *extra);
/*
 * Runs the steps from ex->done on. On failure the inverses of the steps
 * done run, last first; *undone says whether that went all the way (the
 * journal record is then dropped). A step whose inverse cannot be run
 * (a buffer freed cannot be unfreed) ends the undo: the record stays
 * for recover, which finishes the plan.
 */
int exec_run(struct exec *ex, bool *undone);
/* What recover does: the inverses of the steps done and of the one that
 * was running, last first, tolerant of that one not having happened. */
int exec_undo(struct exec *ex);
/* Runs the steps left forward, one by one, journalling each; a failure
 * stops there (recover finishing a plan). */
int exec_finish(struct exec *ex);
/* Whether the plan got past its point of no return: a move whose
 * switch was recorded, a detach that started. */
bool exec_past_switch(const struct exec *ex);
/* Reads plan and progress of a journal record into ex (slots set). */
int exec_load(struct exec *ex, json_t *rec);
/* Drops the journal record of a finished or undone plan and syncs. */
int exec_end(struct exec *ex);

/* What is wrong with a journal record's "plan" and "done", or NULL. */
const char *journal_plan_problem(json_t *rec, char *buf, size_t len);
/* A backing as a journal record holds it: WHICH_buf, _extents, _strategy,
 * _placement (WHICH is "old" or "new"). */
json_t *backing_json(const struct blob *b, const char *which);

/* The strategy's steps on b without a journal: for the eviction hook,
 * recover's orphans and a discard. */
int strategy_map(struct xgm_ctx *ctx, struct blob *b);
int strategy_unmap(struct xgm_ctx *ctx, struct blob *b);
/* The detach plan of b (core/detach.c): recover finishes it. */
void detach_plan(struct exec *ex, struct blob *b);
/* Unmaps, unpins, frees and forgets b, forward only (no journal). */
int blob_dismantle(struct xgm_ctx *ctx, struct blob *b);

#endif /* XGM_EXEC_H */
