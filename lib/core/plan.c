// SPDX-License-Identifier: LGPL-2.1-only
/* The planner: see plan.h for the rules it follows and why. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "core/plan.h"

void plan_count_run(uint64_t gfn, uint64_t mfn, uint64_t nr,
		    enum plan_max_order max_order, uint64_t *e4k, uint64_t *e2m)
{
	const uint64_t big = 1ULL << XGM_ORDER_2M;
	uint64_t head, body;

	*e4k = *e2m = 0;
	/* gfn and mfn can only be aligned together if they are congruent. */
	if (max_order < PLAN_UP_TO_2M || ((gfn ^ mfn) & (big - 1))) {
		*e4k = nr;
		return;
	}
	head = (big - (gfn & (big - 1))) & (big - 1);
	if (head >= nr) {
		*e4k = nr;
		return;
	}
	body = (nr - head) / big;
	*e2m = body;
	*e4k = nr - body * big;
}

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

int plan_build(uint64_t gfn, const struct xgm_extent *ext, size_t nr_ext,
	       enum plan_max_order max_order, unsigned int per_call,
	       struct plan *out)
{
	struct plan p = { 0 };

	p.runs = calloc(nr_ext ? nr_ext : 1, sizeof(*p.runs));
	if (!p.runs)
		return -ENOMEM;
	for (size_t i = 0; i < nr_ext; i++) {
		struct plan_run *prev = p.nr_runs ? &p.runs[p.nr_runs - 1] : NULL;
		struct plan_run *r;

		if (!ext[i].nr) {
			free(p.runs);
			return -EINVAL;
		}
		/* Extents that continue the previous run in mfn space merge:
		 * fewer, larger runs give more 2M entries and fewer calls. */
		if (prev && prev->mfn + prev->nr == ext[i].mfn) {
			prev->nr += ext[i].nr;
		} else {
			r = &p.runs[p.nr_runs++];
			r->gfn = gfn;
			r->mfn = ext[i].mfn;
			r->nr = ext[i].nr;
		}
		gfn += ext[i].nr;
	}
	for (size_t i = 0; i < p.nr_runs; i++) {
		struct plan_run *r = &p.runs[i];
		uint64_t entries;

		plan_count_run(r->gfn, r->mfn, r->nr, max_order, &r->entries_4k,
			       &r->entries_2m);
		entries = r->entries_4k + r->entries_2m;
		r->calls = per_call ? div_round_up(entries, per_call) : entries;
		p.frames += r->nr;
		p.entries_4k += r->entries_4k;
		p.entries_2m += r->entries_2m;
		p.calls += r->calls;
	}
	*out = p;
	return 0;
}

void plan_free(struct plan *p)
{
	free(p->runs);
	memset(p, 0, sizeof(*p));
}
