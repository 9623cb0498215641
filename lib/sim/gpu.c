// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The GPU driver in dom0, TTM-like: buffers live in VRAM (buddy blocks of
 * the BAR) or in dom0 system pages; pinned buffers never move; when a VRAM
 * allocation does not fit, the least recently used unpinned buffers are
 * evicted to system pages (copied, counted) and the move notification is
 * raised, which is how a driver-initiated move reaches the mapping stack.
 *
 * System pages come from dom0's RAM: the driver takes free dom0 pfns from
 * the top down, and the buffer records the mfns behind them (scattered on
 * a PV dom0, superpage-contiguous on a PVH dom0).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

/* What the dom0 kernel keeps for itself whatever the GPU asks. */
#define DOM0_KERNEL_RESERVE_PAGES (256ull << (20 - 12))

int sim_gpu_add(struct sim_model *m, const char *name, uint64_t vram_bytes,
	    uint64_t base_mfn)
{
	struct sim_gpu *g = calloc(1, sizeof(*g)), **n;
	int ret;

	if (!g)
		return -ENOMEM;
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->vram_base_mfn = base_mfn;
	g->vram_pages = vram_bytes >> 12;
	ret = sim_buddy_init(&g->buddy, g->vram_pages);
	if (!ret)
		ret = sim_mem_set_owner(m, base_mfn, g->vram_pages, SIM_OWNER_IO,
				    (int32_t)m->nr_gpus);
	n = ret ? NULL : realloc(m->gpus, (m->nr_gpus + 1) * sizeof(*n));
	if (!n) {
		sim_gpu_free(g);
		return ret ? ret : -ENOMEM;
	}
	m->gpus = n;
	m->gpus[m->nr_gpus++] = g;
	return 0;
}

static void buf_release(struct sim_buffer *b)
{
	free(b->by_mfn);
	free(b->blocks);
	free(b->pfns);
	free(b->mfns);
	sim_map_free(&b->tags);
	free(b->row);
	free(b);
}

/* The save deletes what is freed (sim/state_rows.c); the row goes with
 * it, for an undo. */
static int note_gone(struct sim_model *m, struct sim_buffer *b)
{
	struct sim_gone_buf *n = realloc(m->gone, (m->nr_gone + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	m->gone = n;
	m->gone[m->nr_gone++] = (struct sim_gone_buf){ b->id, b->gpu, b->row };
	b->row = NULL;
	return 0;
}

void sim_gpu_free(struct sim_gpu *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nr_bufs; i++)
		buf_release(g->bufs[i]);
	free(g->bufs);
	sim_buddy_fini(&g->buddy);
	free(g);
}

uint64_t sim_gpu_free_bytes(const struct sim_gpu *g)
{
	return g->buddy.free_pages << 12;
}

struct sim_buffer *sim_gpu_buf(const struct sim_model *m, uint64_t id)
{
	uint64_t p;

	if (!sim_map_get(&m->buf_index, id, &p))
		return NULL;
	return (struct sim_buffer *)(uintptr_t)p;
}

/* Freed since the last save: its row is still there, it is not. */
static bool is_gone(const struct sim_model *m, uint64_t id)
{
	for (size_t i = 0; i < m->nr_gone; i++)
		if (m->gone[i].id == id)
			return true;
	return false;
}

/* A buffer of the source, loaded on demand (not a change of the host,
 * as for domains); NULL when there is none or it could not be read
 * (bsrc->err, which the operation then fails with). */
static struct sim_buffer *load_buf(const struct sim_model *m, uint64_t id)
{
	struct sim_model *mm = (struct sim_model *)m;
	int ret;

	if (m->bsrc->err || m->bsrc->all_loaded)
		return NULL;
	if (is_gone(m, id))
		return NULL;
	ret = m->bsrc->load(m->bsrc->arg, mm, id);
	if (ret) {
		if (ret != -ENOENT)
			m->bsrc->err = ret;
		return NULL;
	}
	return sim_gpu_buf(m, id);
}

static int find_buf(const struct sim_model *m, uint64_t id,
		    struct sim_buffer **b)
{
	*b = sim_gpu_buf(m, id);
	if (!*b && m->bsrc)
		*b = load_buf(m, id);
	if (!*b)
		return m->bsrc && m->bsrc->err ? m->bsrc->err :
		       xgm_fail(-ENOENT, "no GPU buffer %llu",
				(unsigned long long)id);
	/* What an operation looks up it may change: the save compares its
	 * row (sim/state_rows.c); what it never looks up stays as read. */
	(*b)->dirty = true;
	return 0;
}

static int push_run(struct sim_mfn_run **runs, size_t *nr, uint64_t mfn,
		    uint64_t count)
{
	struct sim_mfn_run *r;

	if (*nr && (*runs)[*nr - 1].mfn + (*runs)[*nr - 1].count == mfn) {
		(*runs)[*nr - 1].count += count;
		return 0;
	}
	/* Grow by powers of two. */
	if (!(*nr & (*nr - 1)) || !*nr) {
		size_t cap = *nr ? *nr * 2 : 4;

		r = realloc(*runs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		*runs = r;
	}
	(*runs)[(*nr)++] = (struct sim_mfn_run){ mfn, count };
	return 0;
}

/* ---- VRAM -------------------------------------------------------------- */

static void vram_release(struct sim_gpu *g, struct sim_buffer *b)
{
	b->dirty = true;
	for (size_t i = 0; i < b->nr_blocks; i++)
		sim_buddy_free(&g->buddy, b->blocks[i].off, b->blocks[i].order);
	free(b->blocks);
	b->blocks = NULL;
	b->nr_blocks = 0;
}

#define FRAMES_2M 512ull

/* The orders of a power-of-two split of n pages, largest first. */
static size_t split_orders(uint64_t n, unsigned char *out)
{
	size_t k = 0;

	for (int o = 63; o >= 0; o--)
		if (n & (1ull << o))
			out[k++] = (unsigned char)o;
	return k;
}

/*
 * Power-of-two blocks as drm_buddy splits a request, largest first. For a
 * buffer that will be mapped at a known gfn off 2M alignment the split
 * follows the gfns instead: the pages up to the gfn's next 2M boundary
 * (4K entries whatever their frames), the 2M-aligned middle from blocks
 * of 2M and more (buddy blocks are aligned to their size, so each frame
 * is congruent to its gfn), then the rest. The same pages in more blocks;
 * they are taken from the buddy largest first all the same, which packs
 * it as tightly as the plain split.
 */
static int vram_try(struct sim_gpu *g, struct sim_buffer *b, uint64_t gfn)
{
	uint64_t head = 0, body;
	unsigned char order[3 * 64];
	size_t n;

	if (gfn != XGM_GFN_ANY)
		head = (FRAMES_2M - (gfn & (FRAMES_2M - 1))) & (FRAMES_2M - 1);
	if (head > b->pages)
		head = b->pages;
	body = (b->pages - head) & ~(FRAMES_2M - 1);
	n = split_orders(head, order);
	n += split_orders(body, order + n);
	n += split_orders(b->pages - head - body, order + n);
	b->dirty = true;
	b->blocks = calloc(n ? n : 1, sizeof(*b->blocks));
	if (!b->blocks)
		return -ENOMEM;
	for (int o = 63; o >= 0; o--) {
		for (size_t i = 0; i < n; i++) {
			uint64_t off;
			int ret;

			if (order[i] != o)
				continue;
			ret = sim_buddy_alloc(&g->buddy, (unsigned int)o, &off);
			if (ret) {
				b->nr_blocks = 0;
				for (size_t k = 0; k < n; k++)
					if (order[k] > o || (order[k] == o && k < i))
						sim_buddy_free(&g->buddy, b->blocks[k].off,
							       order[k]);
				vram_release(g, b);
				return ret;
			}
			b->blocks[i] = (struct sim_vram_block){ off, (unsigned int)o };
		}
	}
	b->nr_blocks = n;
	return 0;
}

/* ---- system pages (dom0 RAM) ------------------------------------------- */

struct ram_collect {
	struct sim_rangeset *rs;
	int ret;
};

static int collect_ram(const struct xgm_p2m_entry *e, uint64_t count,
		       void *arg)
{
	struct ram_collect *c = arg;

	if (e->type == XGM_P2M_RAM_RW)
		c->ret = sim_rs_add(c->rs, e->gfn, e->gfn + (count << e->order) - 1);
	return c->ret;
}

/* dom0's RAM pfns the driver may still take. */
static int dom0_free_pfns(struct sim_model *m, struct sim_domain *d0,
			  struct sim_rangeset *out)
{
	struct ram_collect c = { out, 0 };
	int ret = 0;

	if (d0->p2m)
		sim_p2m_walk_runs(d0->p2m, 0, UINT64_MAX, collect_ram, &c);
	else if (d0->pv.nr_pages)
		c.ret = sim_rs_add(out, 0, d0->pv.nr_pages - 1);
	ret = c.ret;
	for (size_t i = 0; i < d0->gpu_pfns.nr && !ret; i++)
		ret = sim_rs_remove(out, d0->gpu_pfns.r[i].s, d0->gpu_pfns.r[i].e);
	/* pfns given away by the transfer extension are no longer dom0's */
	for (size_t i = 0; i < d0->pv.overrides.cap && !ret && !d0->p2m; i++)
		if (d0->pv.overrides.used[i] &&
		    d0->pv.overrides.vals[i] == SIM_INVALID_MFN)
			ret = sim_rs_remove(out, d0->pv.overrides.keys[i],
					d0->pv.overrides.keys[i]);
	(void)m;
	return ret;
}

static uint64_t dom0_pfn_to_mfn(const struct sim_domain *d0, uint64_t pfn)
{
	struct xgm_p2m_entry e;
	unsigned int o;

	if (!d0->p2m)
		return sim_pv_pfn_to_mfn(&d0->pv, pfn);
	if (!sim_p2m_lookup(d0->p2m, pfn, &e, &o))
		return SIM_INVALID_MFN;
	return e.mfn + (pfn - e.gfn);
}

/* Records the mfns behind the buffer's pfn runs. */
static int record_mfns(struct sim_domain *d0, struct sim_buffer *b)
{
	b->dirty = true;
	free(b->by_mfn);
	b->by_mfn = NULL;
	b->nr_by_mfn = 0;
	for (size_t i = 0; i < b->nr_pfns; i++) {
		for (uint64_t p = 0; p < b->pfns[i].count; p++) {
			uint64_t mfn = dom0_pfn_to_mfn(d0, b->pfns[i].mfn + p);
			int ret;

			if (mfn == SIM_INVALID_MFN)
				return -EFAULT;
			ret = push_run(&b->mfns, &b->nr_mfns, mfn, 1);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static void sys_release(struct sim_model *m, struct sim_buffer *b)
{
	struct sim_domain *d0 = sim_model_dom0(m);

	b->dirty = true;
	for (size_t i = 0; d0 && i < b->nr_pfns; i++)
		sim_rs_remove(&d0->gpu_pfns, b->pfns[i].mfn,
			  b->pfns[i].mfn + b->pfns[i].count - 1);
	free(b->pfns);
	free(b->mfns);
	free(b->by_mfn);
	b->pfns = b->mfns = NULL;
	b->by_mfn = NULL;
	b->nr_pfns = b->nr_mfns = b->nr_by_mfn = 0;
}

/*
 * Where a run of up to *n pages of [lo, hi] starts, from the top; for a
 * known gfn, where its frame is congruent to the gfn modulo 2M (the
 * frames behind a PVH dom0's 2M and 1G entries keep their pfn's offset;
 * a PV dom0's are scattered, which sys_congruent finds). False when the
 * range has no such place.
 */
static bool run_start(const struct sim_domain *d0, uint64_t lo, uint64_t hi,
		      uint64_t gfn, uint64_t *n, uint64_t *first)
{
	uint64_t s, mfn, shift;

	if (*n > hi - lo + 1)
		*n = hi - lo + 1;
	s = hi - *n + 1;
	*first = s;
	if (gfn == XGM_GFN_ANY)
		return true;
	mfn = dom0_pfn_to_mfn(d0, s);
	shift = ((mfn == SIM_INVALID_MFN ? s : mfn) - gfn) & (FRAMES_2M - 1);
	if (shift <= s - lo) {
		*first = s - shift;
		return true;
	}
	*first = s - shift + FRAMES_2M; /* fewer pages, higher up */
	*n = hi >= *first ? hi - *first + 1 : 0;
	return *n > 0;
}

/* Takes b's pages from avail, the top of dom0's RAM down (gfn: as
 * run_start places them). -ENOSPC when they are not all there. */
static int sys_take(struct sim_domain *d0, struct sim_buffer *b,
		    const struct sim_rangeset *avail, uint64_t gfn)
{
	uint64_t left = b->pages;
	int ret = 0;

	for (size_t i = avail->nr; i-- > 0 && left && !ret;) {
		uint64_t n = left, s;

		if (!run_start(d0, avail->r[i].s, avail->r[i].e,
			       gfn == XGM_GFN_ANY ? gfn : gfn + b->pages - left,
			       &n, &s))
			continue;
		ret = sim_rs_add(&d0->gpu_pfns, s, s + n - 1);
		if (!ret)
			ret = push_run(&b->pfns, &b->nr_pfns, s, n);
		left -= n;
	}
	return ret ? ret : left ? -ENOSPC : 0;
}

/* Is every frame of b congruent to its gfn modulo 2M? */
static bool sys_congruent(const struct sim_buffer *b, uint64_t gfn)
{
	uint64_t at = gfn;

	for (size_t i = 0; i < b->nr_mfns; i++) {
		if ((b->mfns[i].mfn - at) & (FRAMES_2M - 1))
			return false;
		at += b->mfns[i].count;
	}
	return true;
}

static int sys_alloc(struct sim_model *m, struct sim_buffer *b, uint64_t gfn)
{
	struct sim_domain *d0 = sim_model_dom0(m);
	struct sim_rangeset avail = { 0 };
	int ret;

	if (!d0)
		return -ENODEV;
	ret = dom0_free_pfns(m, d0, &avail);
	if (!ret && sim_rs_count(&avail) < b->pages + DOM0_KERNEL_RESERVE_PAGES) {
		char need[XGM_SIZE_STR], have[XGM_SIZE_STR];
		uint64_t n = sim_rs_count(&avail);

		n = n > DOM0_KERNEL_RESERVE_PAGES ? n - DOM0_KERNEL_RESERVE_PAGES : 0;
		ret = xgm_fail(-ENOMEM, "dom0 has %s of RAM free for buffers, "
			       "too little for a %s buffer in system pages",
			       xgm_size_str(n << 12, have),
			       xgm_size_str(b->pages << 12, need));
	}
	/* Congruent to the gfn where dom0's RAM allows, else anywhere. */
	if (!ret && gfn != XGM_GFN_ANY) {
		if (!sys_take(d0, b, &avail, gfn) && !record_mfns(d0, b) &&
		    sys_congruent(b, gfn)) {
			sim_rs_free(&avail);
			return 0;
		}
		sys_release(m, b);
	}
	if (!ret)
		ret = sys_take(d0, b, &avail, XGM_GFN_ANY);
	sim_rs_free(&avail);
	if (!ret)
		ret = record_mfns(d0, b);
	if (ret)
		sys_release(m, b);
	return ret;
}

/* ---- placement, eviction ------------------------------------------------ */

struct lru_pick {
	const struct sim_model *m;
	uint64_t except;
	uint64_t id;
	bool found;
};

/* The first buffer of the source's LRU order that memory does not hold
 * (memory's own are judged from memory). */
static int lru_first_unloaded(uint64_t id, void *arg)
{
	struct lru_pick *p = arg;

	if (id == p->except || sim_gpu_buf(p->m, id) || is_gone(p->m, id))
		return 0;
	p->id = id;
	p->found = true;
	return 1;
}

/* The least recently used unpinned VRAM buffer of except's GPU but
 * except, from memory and from the source. */
static struct sim_buffer *lru_victim(const struct sim_model *m,
				     const struct sim_buffer *except)
{
	const struct sim_gpu *g = m->gpus[except->gpu];
	struct lru_pick pick = { m, except->id };
	struct sim_buffer *v = NULL, *c;

	for (size_t i = 0; i < g->nr_bufs; i++) {
		struct sim_buffer *b = g->bufs[i];

		if (b == except || b->pins || b->place != XGM_PLACE_VRAM ||
		    !b->nr_blocks)
			continue;
		if (!v || b->lru < v->lru)
			v = b;
	}
	if (!m->bsrc || m->bsrc->all_loaded)
		return v;
	if (m->bsrc->by_lru(m->bsrc->arg, except->gpu, lru_first_unloaded,
			    &pick) < 0 || !pick.found)
		return v;
	c = load_buf(m, pick.id);
	return c && (!v || c->lru < v->lru) ? c : v;
}

static void touch(struct sim_model *m, struct sim_buffer *b)
{
	b->dirty = true;
	b->lru = ++m->clock;
}

/* VRAM -> system pages; the data is copied page by page. */
static int move_to_sys(struct sim_model *m, struct sim_buffer *b)
{
	struct sim_gpu *g = m->gpus[b->gpu];
	int ret = sys_alloc(m, b, XGM_GFN_ANY);

	b->dirty = true;
	if (ret)
		return ret;
	vram_release(g, b);
	b->place = XGM_PLACE_SYS;
	m->host_ctr.pages_copied += b->pages;
	return 0;
}

/* Allocates VRAM for b, evicting LRU buffers (never b) while it does not
 * fit. */
static int vram_alloc(struct sim_model *m, struct sim_gpu *g,
		      struct sim_buffer *b, uint64_t gfn)
{
	int ret;

	char sz[XGM_SIZE_STR], vram[XGM_SIZE_STR];

	if (b->pages > g->vram_pages)
		return xgm_fail(-ENOSPC, "a %s buffer cannot fit in the %s of "
				"VRAM of %s", xgm_size_str(b->pages << 12, sz),
				xgm_size_str(g->vram_pages << 12, vram), g->name);
	while ((ret = vram_try(g, b, gfn)) == -ENOSPC) {
		struct sim_buffer *v = lru_victim(m, b);

		if (!v && m->bsrc && m->bsrc->err)
			return m->bsrc->err;
		if (!v)
			return xgm_fail(-ENOSPC, "VRAM of %s is full and every "
					"resident buffer is pinned", g->name);
		ret = move_to_sys(m, v);
		/* Say what really failed: not the request, its eviction. The
		 * engine names the blob behind "buffer N" (gpu_name_victim). */
		if (ret == -ENOMEM)
			return xgm_fail_instead(-ENOSPC, "VRAM of %s is full; evicting "
					"buffer %llu (%s) needs more dom0 RAM "
					"than is free", g->name,
					(unsigned long long)v->id,
					xgm_size_str(v->pages << 12, sz));
		if (ret)
			return ret;
		if (m->move_notify)
			m->move_notify(v->id, XGM_PLACE_VRAM, XGM_PLACE_SYS,
				       m->move_arg);
	}
	return ret;
}

static int gpu_by_name(const struct sim_model *m, const char *card,
		       unsigned int *idx)
{
	for (size_t i = 0; i < m->nr_gpus; i++) {
		if (!card || !*card || !strcmp(m->gpus[i]->name, card)) {
			*idx = (unsigned int)i;
			return 0;
		}
	}
	return xgm_fail(-ENODEV, "no GPU named %s", card);
}

int sim_gpu_buf_list(const struct sim_model *m, uint64_t **ids, size_t *count)
{
	size_t n = 0, k = 0;
	int ret = sim_gpu_load_all(m);

	if (ret)
		return ret;
	for (size_t gi = 0; gi < m->nr_gpus; gi++)
		n += m->gpus[gi]->nr_bufs;
	*ids = malloc((n ? n : 1) * sizeof(**ids));
	if (!*ids)
		return -ENOMEM;
	for (size_t gi = 0; gi < m->nr_gpus; gi++)
		for (size_t i = 0; i < m->gpus[gi]->nr_bufs; i++)
			(*ids)[k++] = m->gpus[gi]->bufs[i]->id;
	*count = n;
	return 0;
}

int sim_gpu_card_info(const struct sim_model *m, const char *card,
		      uint64_t *vram_bytes, uint64_t *free_bytes)
{
	unsigned int i;
	int ret = gpu_by_name(m, card, &i);

	if (ret)
		return ret;
	*vram_bytes = m->gpus[i]->vram_pages << 12;
	*free_bytes = sim_gpu_free_bytes(m->gpus[i]);
	return 0;
}

static int add_buf(struct sim_model *m, struct sim_gpu *g,
		   struct sim_buffer *b)
{
	if (sim_map_set(&m->buf_index, b->id, (uint64_t)(uintptr_t)b))
		return -ENOMEM;
	if (xgm_array_room(&g->bufs, g->nr_bufs, &g->cap_bufs, sizeof(*g->bufs), 16)) {
		sim_map_del(&m->buf_index, b->id);
		return -ENOMEM;
	}
	g->bufs[g->nr_bufs++] = b;
	return 0;
}

int sim_gpu_buf_alloc(struct sim_model *m, const char *card, uint64_t bytes,
		  enum xgm_placement where, uint64_t *id)
{
	return sim_gpu_buf_alloc_at(m, card, bytes, where, XGM_GFN_ANY, id);
}

int sim_gpu_buf_alloc_at(struct sim_model *m, const char *card, uint64_t bytes,
			 enum xgm_placement where, uint64_t gfn, uint64_t *id)
{
	struct sim_buffer *b;
	unsigned int gi = 0;
	int ret = gpu_by_name(m, card, &gi);

	if (ret)
		return ret;
	if (!bytes || bytes > (1ull << 40))
		return xgm_fail(-EINVAL, "buffer size %llu is out of range",
				(unsigned long long)bytes);
	if (where != XGM_PLACE_VRAM && where != XGM_PLACE_SYS)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->id = m->next_buf_id;
	b->gpu = gi;
	b->pages = (bytes + 4095) >> 12;
	b->place = where;
	ret = where == XGM_PLACE_VRAM ? vram_alloc(m, m->gpus[gi], b, gfn) :
					sys_alloc(m, b, gfn);
	if (!ret)
		ret = add_buf(m, m->gpus[gi], b);
	if (ret) {
		if (b->nr_blocks)
			vram_release(m->gpus[gi], b);
		else
			sys_release(m, b);
		buf_release(b);
		return ret;
	}
	m->next_buf_id++;
	touch(m, b);
	*id = b->id;
	return 0;
}

int sim_gpu_buf_free(struct sim_model *m, uint64_t id)
{
	struct sim_buffer *b;
	struct sim_gpu *g;
	int ret = find_buf(m, id, &b);

	if (ret)
		return ret;
	if (b->pins)
		return xgm_fail(-EBUSY, "GPU buffer %llu is pinned",
				(unsigned long long)id);
	if (note_gone(m, b))
		return -ENOMEM;
	g = m->gpus[b->gpu];
	if (b->place == XGM_PLACE_VRAM)
		vram_release(g, b);
	else
		sys_release(m, b);
	for (size_t i = 0; i < g->nr_bufs; i++) {
		if (g->bufs[i] == b) {
			memmove(&g->bufs[i], &g->bufs[i + 1],
				(g->nr_bufs - i - 1) * sizeof(*g->bufs));
			g->nr_bufs--;
			break;
		}
	}
	sim_map_del(&m->buf_index, id);
	buf_release(b);
	return 0;
}

int sim_gpu_buf_extents(const struct sim_model *m, uint64_t id,
		    struct xgm_extent **out, size_t *count)
{
	const struct sim_gpu *g;
	struct sim_buffer *b;
	struct xgm_extent *x;
	size_t n = 0;
	int ret = find_buf(m, id, &b);

	if (ret)
		return ret;
	g = m->gpus[b->gpu];
	x = malloc((b->place == XGM_PLACE_VRAM ? b->nr_blocks : b->nr_mfns) *
		   sizeof(*x) + 1);
	if (!x)
		return -ENOMEM;
	if (b->place == XGM_PLACE_VRAM) {
		for (size_t i = 0; i < b->nr_blocks; i++) {
			uint64_t mfn = g->vram_base_mfn + b->blocks[i].off;
			uint64_t nr = 1ull << b->blocks[i].order;

			if (n && x[n - 1].mfn + x[n - 1].nr == mfn)
				x[n - 1].nr += nr;
			else
				x[n++] = (struct xgm_extent){ mfn, nr };
		}
	} else {
		for (size_t i = 0; i < b->nr_mfns; i++)
			x[n++] = (struct xgm_extent){ b->mfns[i].mfn,
						      b->mfns[i].count };
	}
	*out = x;
	*count = n;
	return 0;
}

int sim_gpu_buf_move(struct sim_model *m, uint64_t id, enum xgm_placement to)
{
	struct sim_buffer *b;
	int ret = find_buf(m, id, &b);

	if (ret)
		return ret;
	if (to != XGM_PLACE_VRAM && to != XGM_PLACE_SYS)
		return -EINVAL;
	if (b->place == to)
		return 0;
	if (b->pins)
		return xgm_fail(-EBUSY, "GPU buffer %llu is pinned and cannot "
				"move", (unsigned long long)id);
	if (to == XGM_PLACE_SYS) {
		ret = move_to_sys(m, b);
	} else {
		ret = vram_alloc(m, m->gpus[b->gpu], b, XGM_GFN_ANY);
		if (!ret) {
			sys_release(m, b);
			b->place = XGM_PLACE_VRAM;
			m->host_ctr.pages_copied += b->pages;
		}
	}
	if (!ret)
		touch(m, b);
	return ret;
}

int sim_gpu_buf_pin(struct sim_model *m, uint64_t id, bool pin)
{
	struct sim_buffer *b;
	int ret = find_buf(m, id, &b);

	if (ret)
		return ret;
	/* A pin is a state the one user (xgpumap) sets or clears, not a
	 * count: setting it twice, or clearing it twice, changes nothing,
	 * so every step that pins or unpins can be repeated after an
	 * interruption without leaving a buffer pinned for ever. */
	b->pins = pin ? 1 : 0;
	return 0;
}

int sim_gpu_buf_write_tag(struct sim_model *m, uint64_t id, uint64_t page,
		      uint64_t tag)
{
	struct sim_buffer *b;
	int ret = find_buf(m, id, &b);

	if (ret)
		return ret;
	if (page >= b->pages)
		return xgm_fail(-ERANGE, "page %llu is beyond GPU buffer %llu "
				"(%llu pages)", (unsigned long long)page,
				(unsigned long long)id,
				(unsigned long long)b->pages);
	touch(m, b);
	if (!tag) {
		sim_map_del(&b->tags, page); /* 0 is what a fresh page holds */
		return 0;
	}
	return sim_map_set(&b->tags, page, tag);
}

int sim_gpu_buf_read_tag(struct sim_model *m, uint64_t id, uint64_t page,
		     uint64_t *tag)
{
	struct sim_buffer *b;
	int ret = find_buf(m, id, &b);

	if (ret)
		return ret;
	if (page >= b->pages)
		return xgm_fail(-ERANGE, "page %llu is beyond GPU buffer %llu",
				(unsigned long long)page,
				(unsigned long long)id);
	*tag = 0;
	sim_map_get(&b->tags, page, tag);
	return 0;
}

/* The copy step of a copy-then-switch migration: every page's content
 * (its tag) goes along, counted as pages copied (a DMA over PCIe on real
 * hardware; sim/cost.c prices it). */
int sim_gpu_buf_copy(struct sim_model *m, uint64_t src, uint64_t dst)
{
	struct sim_buffer *s, *d;
	uint64_t *keys;
	int ret = find_buf(m, src, &s);

	if (!ret)
		ret = find_buf(m, dst, &d);
	if (ret)
		return ret;
	if (s == d || s->pages != d->pages)
		return xgm_fail(-EINVAL, "cannot copy GPU buffer %llu (%llu pages) "
				"into %llu (%llu pages)", (unsigned long long)src,
				(unsigned long long)s->pages, (unsigned long long)dst,
				(unsigned long long)d->pages);
	sim_map_free(&d->tags);
	memset(&d->tags, 0, sizeof(d->tags));
	keys = sim_map_sorted_keys(&s->tags);
	for (size_t i = 0; !ret && keys && i < s->tags.nr; i++) {
		uint64_t tag = 0;

		sim_map_get(&s->tags, keys[i], &tag);
		ret = sim_map_set(&d->tags, keys[i], tag);
	}
	free(keys);
	if (ret)
		return ret;
	touch(m, s);
	touch(m, d);
	m->host_ctr.pages_copied += s->pages;
	return 0;
}

static int cmp_page_run(const void *a, const void *b)
{
	const struct sim_page_run *x = a, *y = b;

	return x->mfn < y->mfn ? -1 : x->mfn > y->mfn;
}

/* The buffer's mfn runs sorted by frame (see by_mfn in model.h). */
static int build_by_mfn(struct sim_buffer *b)
{
	uint64_t page = 0;

	if (b->by_mfn || !b->nr_mfns)
		return 0;
	b->by_mfn = malloc(b->nr_mfns * sizeof(*b->by_mfn));
	if (!b->by_mfn)
		return -ENOMEM;
	for (size_t k = 0; k < b->nr_mfns; k++) {
		b->by_mfn[k] = (struct sim_page_run){ b->mfns[k].mfn,
						      b->mfns[k].count, page };
		page += b->mfns[k].count;
	}
	qsort(b->by_mfn, b->nr_mfns, sizeof(*b->by_mfn), cmp_page_run);
	b->nr_by_mfn = b->nr_mfns;
	return 0;
}

static bool sys_page_in(struct sim_buffer *b, uint64_t mfn, uint64_t *page)
{
	size_t lo = 0, hi;

	if (build_by_mfn(b))
		return false;
	hi = b->nr_by_mfn;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct sim_page_run *r = &b->by_mfn[mid];

		if (mfn < r->mfn) {
			hi = mid;
		} else if (mfn >= r->mfn + r->count) {
			lo = mid + 1;
		} else {
			*page = r->page + (mfn - r->mfn);
			return true;
		}
	}
	return false;
}

/* The buffer of the source whose frames hold mfn, if memory lacks it. */
static struct sim_buffer *unloaded_owner(const struct sim_model *m, uint64_t mfn)
{
	uint64_t id;

	if (!m->bsrc || m->bsrc->all_loaded ||
	    m->bsrc->frame_owner(m->bsrc->arg, mfn, &id) || sim_gpu_buf(m, id))
		return NULL;
	return load_buf(m, id);
}

struct sim_buffer *sim_gpu_sys_page_of(const struct sim_model *m,
				       uint64_t mfn, uint64_t *page)
{
	struct sim_buffer *b;

	for (size_t gi = 0; gi < m->nr_gpus; gi++) {
		const struct sim_gpu *g = m->gpus[gi];

		for (size_t i = 0; i < g->nr_bufs; i++)
			if (g->bufs[i]->place == XGM_PLACE_SYS &&
			    sys_page_in(g->bufs[i], mfn, page))
				return g->bufs[i];
	}
	b = unloaded_owner(m, mfn);
	return b && b->place == XGM_PLACE_SYS && sys_page_in(b, mfn, page) ?
	       b : NULL;
}

static int tag_of_page(const struct sim_buffer *b, uint64_t page,
		       uint64_t *tag)
{
	*tag = 0;
	return sim_map_get(&b->tags, page, tag) ? 0 : -ENODATA;
}

/* The page of VRAM buffer b that frame mfn of its GPU g is, if any. */
static bool vram_page_in(const struct sim_gpu *g, const struct sim_buffer *b,
			 uint64_t mfn, uint64_t *page)
{
	uint64_t p = 0;

	if (b->place != XGM_PLACE_VRAM)
		return false;
	for (size_t k = 0; k < b->nr_blocks; k++) {
		uint64_t s = g->vram_base_mfn + b->blocks[k].off;
		uint64_t n = 1ull << b->blocks[k].order;

		if (mfn >= s && mfn < s + n) {
			*page = p + mfn - s;
			return true;
		}
		p += n;
	}
	return false;
}

int sim_gpu_frame_tag(const struct sim_model *m, uint64_t mfn, uint64_t *tag)
{
	const struct sim_buffer *sb;
	uint64_t page = 0;

	for (size_t gi = 0; gi < m->nr_gpus; gi++) {
		const struct sim_gpu *g = m->gpus[gi];

		if (mfn < g->vram_base_mfn ||
		    mfn >= g->vram_base_mfn + g->vram_pages)
			continue;
		for (size_t i = 0; i < g->nr_bufs; i++)
			if (vram_page_in(g, g->bufs[i], mfn, &page))
				return tag_of_page(g->bufs[i], page, tag);
		sb = unloaded_owner(m, mfn);
		if (sb && vram_page_in(g, sb, mfn, &page))
			return tag_of_page(sb, page, tag);
	}
	sb = sim_gpu_sys_page_of(m, mfn, &page);
	if (sb)
		return tag_of_page(sb, page, tag);
	*tag = 0;
	return -ENOENT;
}

/* What a buffer's backing adds up to must be its size. */
static int check_backing(const struct sim_buffer *b)
{
	uint64_t n = 0, nm = 0;

	for (size_t i = 0; i < b->nr_blocks; i++)
		n += 1ull << b->blocks[i].order;
	for (size_t i = 0; i < b->nr_pfns; i++)
		n += b->pfns[i].count;
	for (size_t i = 0; i < b->nr_mfns; i++)
		nm += b->mfns[i].count;
	if (b->place == XGM_PLACE_SYS && nm != n)
		return xgm_fail(-EBADMSG, "buffer %llu: %llu mfns for %llu pfns",
				(unsigned long long)b->id, (unsigned long long)nm,
				(unsigned long long)n);
	if (n != b->pages)
		return xgm_fail(-EBADMSG, "buffer %llu: backing holds %llu "
				"pages, the buffer %llu",
				(unsigned long long)b->id,
				(unsigned long long)n,
				(unsigned long long)b->pages);
	return 0;
}

/* b's VRAM blocks out of bd, or its pfns into pfns: refused where another
 * buffer has them already. */
static int claim_backing(struct sim_buddy *bd, struct sim_rangeset *pfns,
			 const struct sim_buffer *b)
{
	for (size_t i = 0; i < b->nr_blocks; i++)
		if (sim_buddy_claim(bd, b->blocks[i].off, b->blocks[i].order))
			return xgm_fail(-EBADMSG, "buffer %llu: VRAM block "
					"%#llx/%u overlaps another or is out of "
					"range", (unsigned long long)b->id,
					(unsigned long long)b->blocks[i].off,
					b->blocks[i].order);
	for (size_t i = 0; i < b->nr_pfns; i++) {
		uint64_t s = b->pfns[i].mfn, e = s + b->pfns[i].count - 1;
		int ret;

		if (e < s || sim_rs_overlaps(pfns, s, e))
			return xgm_fail(-EBADMSG, "buffer %llu: dom0 pfns "
					"%#llx-%#llx overlap another buffer",
					(unsigned long long)b->id,
					(unsigned long long)s,
					(unsigned long long)e);
		ret = sim_rs_add(pfns, s, e);
		if (ret)
			return ret;
	}
	return 0;
}

int sim_gpu_buf_adopt(struct sim_model *m, struct sim_buffer *b)
{
	struct sim_domain *d0 = sim_model_dom0(m);
	int ret = check_backing(b);

	if (!ret && b->nr_pfns && !d0)
		ret = xgm_fail(-EBADMSG, "buffer %llu: system pages, and no dom0",
			       (unsigned long long)b->id);
	if (!ret)
		ret = claim_backing(&m->gpus[b->gpu]->buddy,
				    d0 ? &d0->gpu_pfns : NULL, b);
	return ret ?: add_buf(m, m->gpus[b->gpu], b);
}

int sim_gpu_buf_adopt_row(struct sim_model *m, struct sim_buffer *b)
{
	return check_backing(b) ?: add_buf(m, m->gpus[b->gpu], b);
}

static bool same_rangeset(const struct sim_rangeset *a,
			  const struct sim_rangeset *b)
{
	if (a->nr != b->nr)
		return false;
	for (size_t i = 0; i < a->nr; i++)
		if (a->r[i].s != b->r[i].s || a->r[i].e != b->r[i].e)
			return false;
	return true;
}

/* What the rows keep apart from the buffers (the free VRAM, dom0's buffer
 * pfns) must be what the buffers, all in memory now, make of them. */
static int check_derived(const struct sim_model *m)
{
	struct sim_domain *d0 = sim_model_dom0(m);
	struct sim_rangeset pfns = { 0 };
	int ret = 0;

	for (size_t gi = 0; !ret && gi < m->nr_gpus; gi++) {
		const struct sim_gpu *g = m->gpus[gi];
		struct sim_buddy bd;

		ret = sim_buddy_init(&bd, g->vram_pages);
		for (size_t i = 0; !ret && i < g->nr_bufs; i++)
			ret = claim_backing(&bd, &pfns, g->bufs[i]);
		for (unsigned int k = 0; !ret && k <= bd.max_order; k++)
			if (!same_rangeset(&bd.free[k], &g->buddy.free[k]))
				ret = xgm_fail(-EBADMSG, "the free VRAM of %s "
					       "the state keeps is not what its "
					       "buffers leave free", g->name);
		sim_buddy_fini(&bd);
	}
	if (!ret && d0 && !same_rangeset(&pfns, &d0->gpu_pfns))
		ret = xgm_fail(-EBADMSG, "the dom0 pfns the state keeps for "
			       "buffers are not the buffers' own");
	sim_rs_free(&pfns);
	return ret;
}

static int load_each(uint64_t id, void *arg)
{
	const struct sim_model *m = arg;

	if (sim_gpu_buf(m, id) || is_gone(m, id) || load_buf(m, id))
		return 0;
	return m->bsrc->err ? m->bsrc->err : -ENOENT;
}

int sim_gpu_load_all(const struct sim_model *m)
{
	int ret;

	if (!m->bsrc || m->bsrc->all_loaded)
		return 0;
	if (m->bsrc->err)
		return m->bsrc->err;
	ret = m->bsrc->each(m->bsrc->arg, load_each, (void *)m);
	if (!ret)
		ret = check_derived(m);
	if (ret) {
		m->bsrc->err = ret;
		return ret;
	}
	m->bsrc->all_loaded = true;
	return 0;
}

/* ---- what `gpu list` and `gpu show` see --------------------------------- */

/* One buffer: where it is now, as the driver would report it. */
static json_t *buf_json(const struct sim_model *m, const struct sim_buffer *b)
{
	struct xgm_extent *x = NULL;
	size_t n = 0;
	json_t *j;

	if (sim_gpu_buf_extents(m, b->id, &x, &n))
		n = 0;
	j = json_pack("{s:I,s:I,s:s,s:o,s:I,s:b}",
		      "id", (json_int_t)b->id,
		      "size", (json_int_t)(b->pages << 12),
		      "placement", b->place == XGM_PLACE_VRAM ? "vram" : "sys",
		      "mfn", n ? json_integer((json_int_t)x[0].mfn) : json_null(),
		      "extents", (json_int_t)n,
		      "pinned", b->pins > 0);
	free(x);
	return j;
}

/*
 * The sim's cards as a driver would describe them. The PCI address is
 * made up but shaped like a discrete GPU behind a root port (bus 3 on);
 * BAR0 is the whole VRAM (a resizable BAR, as large GPUs expose it), so
 * every VRAM frame is reachable, and the model driver can do everything
 * xgpumap asks of a driver.
 */
int sim_gpu_cards(const struct sim_model *m, json_t **out)
{
	json_t *cards = json_array();

	if (!cards)
		return -ENOMEM;
	for (size_t gi = 0; gi < m->nr_gpus; gi++) {
		const struct sim_gpu *g = m->gpus[gi];
		json_t *bufs = json_array(), *c;
		char pci[16];

		snprintf(pci, sizeof(pci), "0000:%02zx:00.0", gi + 3);
		if (sim_gpu_load_all(m)) {
			json_decref(bufs);
			json_decref(cards);
			return m->bsrc->err ? m->bsrc->err : -ENOMEM;
		}
		for (size_t i = 0; i < g->nr_bufs; i++)
			json_array_append_new(bufs, buf_json(m, g->bufs[i]));
		c = json_pack("{s:s,s:s,s:s,s:[{s:i,s:I,s:I,s:b,s:b}],s:I,s:I,"
			      "s:{s:b,s:b,s:b,s:s},s:o}",
			      "card", g->name, "driver", "sim", "pci", pci,
			      "bars", "index", 0,
			      "bus_addr", (json_int_t)(g->vram_base_mfn << 12),
			      "size", (json_int_t)(g->vram_pages << 12),
			      "prefetchable", 1, "vram", 1,
			      "vram_bytes", (json_int_t)(g->vram_pages << 12),
			      "vram_free_bytes", (json_int_t)sim_gpu_free_bytes(g),
			      "capabilities", "place_vram", 1, "locate_frames", 1,
			      "pin", 1, "note", "the simulated driver: TTM-like "
			      "placement and eviction, exact frames, pins",
			      "buffers", bufs);
		if (!c || json_array_append_new(cards, c)) {
			json_decref(cards);
			return -ENOMEM;
		}
	}
	*out = cards;
	return 0;
}
