// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Host memory: who owns each machine frame, and the extra page references
 * (get_page()) that foreign, grant and ram-mmio mappings hold. Ownership is
 * a sorted array of runs; references are runs too (struct sim_runs): a
 * blob's pages are consecutive frames that hold one reference each, one
 * run however large the blob. Xen tracks both in
 * struct page_info (count_info, v.inuse._domain); the model keeps only the
 * frames that differ from the default.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

/* Index of the run containing mfn, or of the first run after it. */
static size_t run_lower(const struct sim_frames *f, uint64_t mfn)
{
	size_t lo = 0, hi = f->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->runs[mid].start + f->runs[mid].count <= mfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool sim_mem_owner(const struct sim_model *m, uint64_t mfn, uint32_t *owner,
	       int32_t *dev)
{
	size_t i = run_lower(&m->frames, mfn);
	const struct sim_frame_run *r;

	if (i >= m->frames.nr || m->frames.runs[i].start > mfn)
		return false;
	r = &m->frames.runs[i];
	if (owner)
		*owner = r->owner;
	if (dev)
		*dev = r->dev;
	return true;
}

bool sim_mem_owned_by(const struct sim_model *m, uint64_t mfn, uint64_t nr,
		  uint32_t owner)
{
	size_t i = run_lower(&m->frames, mfn);
	uint64_t end = mfn + nr;

	while (mfn < end) {
		const struct sim_frame_run *r;

		if (i >= m->frames.nr)
			return false;
		r = &m->frames.runs[i];
		if (r->start > mfn || r->owner != owner)
			return false;
		mfn = r->start + r->count;
		i++;
	}
	return true;
}

bool sim_mem_is_ram(const struct sim_model *m, uint64_t mfn)
{
	uint32_t owner;

	return sim_mem_owner(m, mfn, &owner, NULL) && owner != SIM_OWNER_IO;
}

static int frames_reserve(struct sim_frames *f, size_t n)
{
	struct sim_frame_run *r;
	size_t cap;

	if (n <= f->cap)
		return 0;
	cap = f->cap ? f->cap * 2 : 16;
	while (cap < n)
		cap *= 2;
	r = realloc(f->runs, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	f->runs = r;
	f->cap = cap;
	return 0;
}

static bool runs_mergeable(const struct sim_frame_run *a,
			   const struct sim_frame_run *b)
{
	return a->start + a->count == b->start && a->owner == b->owner &&
	       a->dev == b->dev;
}

/*
 * Replaces [mfn, mfn+nr) with one run of the new owner. Frames that did not
 * exist come into existence (used when the host is laid out).
 */
int sim_mem_set_owner(struct sim_model *m, uint64_t mfn, uint64_t nr,
		  uint32_t owner, int32_t dev)
{
	struct sim_frames *f = &m->frames;
	uint64_t end = mfn + nr;
	struct sim_frame_run head = { 0 }, tail = { 0 };
	bool has_head = false, has_tail = false;
	size_t i, j, ins;

	if (!nr)
		return 0;
	if (frames_reserve(f, f->nr + 3))
		return -ENOMEM;
	i = run_lower(f, mfn);
	j = i;
	while (j < f->nr && f->runs[j].start < end) {
		struct sim_frame_run *r = &f->runs[j];

		if (r->start < mfn) {
			head = *r;
			head.count = mfn - r->start;
			has_head = true;
		}
		if (r->start + r->count > end) {
			tail = *r;
			tail.start = end;
			tail.count = r->start + r->count - end;
			has_tail = true;
		}
		j++;
	}
	/* Runs i..j-1 are replaced by head?, new, tail?. */
	ins = (size_t)has_head + 1 + (size_t)has_tail;
	memmove(&f->runs[i + ins], &f->runs[j], (f->nr - j) * sizeof(*f->runs));
	f->nr = f->nr - (j - i) + ins;
	if (has_head)
		f->runs[i++] = head;
	f->runs[i] = (struct sim_frame_run){ mfn, nr, owner, dev };
	if (has_tail)
		f->runs[i + 1] = tail;
	/* Merge with neighbours of the same owner. */
	if (i + 1 < f->nr && runs_mergeable(&f->runs[i], &f->runs[i + 1])) {
		f->runs[i].count += f->runs[i + 1].count;
		memmove(&f->runs[i + 1], &f->runs[i + 2],
			(f->nr - i - 2) * sizeof(*f->runs));
		f->nr--;
	}
	if (i > 0 && runs_mergeable(&f->runs[i - 1], &f->runs[i])) {
		f->runs[i - 1].count += f->runs[i].count;
		memmove(&f->runs[i], &f->runs[i + 1],
			(f->nr - i - 1) * sizeof(*f->runs));
		f->nr--;
	}
	return 0;
}

static int push_run(struct sim_mfn_run **runs, size_t *nr, size_t *cap,
		    uint64_t mfn, uint64_t count)
{
	if (*nr && (*runs)[*nr - 1].mfn + (*runs)[*nr - 1].count == mfn) {
		(*runs)[*nr - 1].count += count;
		return 0;
	}
	if (xgm_array_room(runs, *nr, cap, sizeof(**runs), 8))
		return -ENOMEM;
	(*runs)[(*nr)++] = (struct sim_mfn_run){ mfn, count };
	return 0;
}

/*
 * Finds a free chunk aligned to align frames: the first free run that has
 * one. Returns its start and how many aligned-multiple frames are there.
 */
static bool find_free_chunk(const struct sim_model *m, uint64_t align,
			    uint64_t want, uint64_t *start, uint64_t *len)
{
	for (size_t i = 0; i < m->frames.nr; i++) {
		const struct sim_frame_run *r = &m->frames.runs[i];
		uint64_t s, end = r->start + r->count, n;

		if (r->owner != SIM_OWNER_FREE)
			continue;
		s = (r->start + align - 1) & ~(align - 1);
		if (s >= end || end - s < align)
			continue;
		n = (end - s) & ~(align - 1);
		*start = s;
		*len = n < want ? n : want & ~(align - 1);
		if (*len < align)
			*len = align;
		return true;
	}
	return false;
}

int sim_mem_alloc(struct sim_model *m, uint32_t owner, uint64_t nr,
	      struct sim_mfn_run **runs, size_t *nr_runs)
{
	struct sim_mfn_run *out = NULL;
	size_t n = 0, cap = 0;
	uint64_t left = nr;
	int ret = 0;

	while (left) {
		uint64_t align, s = 0, len = 0;

		/* Largest order that still fits what is left, then smaller
		 * ones when no such chunk is free. */
		align = left >= (1ull << P2M_ORDER_1G) ? 1ull << P2M_ORDER_1G :
			left >= (1ull << P2M_ORDER_2M) ? 1ull << P2M_ORDER_2M : 1;
		while (!find_free_chunk(m, align, left, &s, &len)) {
			if (align == 1) {
				ret = xgm_fail(-ENOMEM, "host out of memory: %llu "
					       "more frames needed for domain %u",
					       (unsigned long long)left, owner);
				goto fail;
			}
			align = align == (1ull << P2M_ORDER_1G) ?
				1ull << P2M_ORDER_2M : 1;
		}
		if (len > left)
			len = left;
		ret = sim_mem_set_owner(m, s, len, owner, 0);
		if (!ret)
			ret = push_run(&out, &n, &cap, s, len);
		if (ret)
			goto fail;
		left -= len;
	}
	*runs = out;
	*nr_runs = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		sim_mem_set_owner(m, out[i].mfn, out[i].count, SIM_OWNER_FREE, 0);
	free(out);
	return ret;
}

uint64_t sim_mem_refs(const struct sim_model *m, uint64_t mfn)
{
	uint64_t v[SIM_RUN_VALS];

	return sim_runs_get(&m->refs, mfn, v) ? v[0] : 0;
}

/* One frame's count becomes refs (0: the run entry goes). */
static int set_refs(struct sim_model *m, uint64_t mfn, uint64_t refs)
{
	uint64_t v[SIM_RUN_VALS] = { refs, 0 };

	return sim_runs_set(&m->refs, mfn, 1, refs ? v : NULL);
}

int sim_mem_get_ref(struct sim_model *m, uint64_t mfn)
{
	return set_refs(m, mfn, sim_mem_refs(m, mfn) + 1);
}

void sim_mem_put_ref(struct sim_model *m, uint64_t mfn)
{
	uint64_t v = sim_mem_refs(m, mfn);

	/* Out of memory splitting a run leaves the count as it was (an
	 * extra reference: the frame is kept, never freed under a user). */
	if (v)
		set_refs(m, mfn, v - 1);
}

uint64_t sim_mem_count_owner(const struct sim_model *m, uint32_t owner)
{
	uint64_t n = 0;

	for (size_t i = 0; i < m->frames.nr; i++)
		if (m->frames.runs[i].owner == owner)
			n += m->frames.runs[i].count;
	return n;
}
