// SPDX-License-Identifier: LGPL-2.1-only
/* The simulated GPU: buddy allocator, placement, pinning, LRU eviction
 * with move notifications, tags carried across moves. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/model.h"

#define MIB (1ull << 20)

static struct sim_model *host_with(enum xgm_dom_type dom0, uint64_t vram)
{
	struct sim_topology t;
	struct sim_model *m = NULL;

	sim_topo_default(&t);
	t.dom0_type = dom0;
	t.vram_bytes = vram;
	assert_int_equal(sim_topo_build(&t, &m), 0);
	return m;
}

/* Blocks are naturally aligned and buddies merge back: after freeing
 * everything the allocator is one block again. Failing means VRAM leaks
 * or fragments permanently. */
static void test_buddy_aligned_blocks_and_merging(void **state)
{
	struct sim_buddy b = { 0 };
	uint64_t off[8];

	assert_int_equal(sim_buddy_init(&b, 1024), 0);
	assert_int_equal(sim_buddy_alloc(&b, 0, &off[0]), 0);
	assert_int_equal(sim_buddy_alloc(&b, 3, &off[1]), 0);
	assert_int_equal(off[1] % 8, 0);
	assert_int_equal(sim_buddy_alloc(&b, 9, &off[2]), 0);
	assert_int_equal(off[2] % 512, 0);
	assert_int_equal(sim_buddy_alloc(&b, 9, &off[3]), -ENOSPC);
	assert_int_equal(b.free_pages, 1024 - 1 - 8 - 512);
	sim_buddy_free(&b, off[0], 0);
	sim_buddy_free(&b, off[1], 3);
	sim_buddy_free(&b, off[2], 9);
	assert_int_equal(b.free_pages, 1024);
	assert_int_equal(b.free[10].nr, 1);
	/* claiming a specific block works once */
	assert_int_equal(sim_buddy_claim(&b, 64, 4), 0);
	assert_int_equal(sim_buddy_claim(&b, 64, 4), -EEXIST);
	assert_int_equal(sim_buddy_claim(&b, 72, 0), -EEXIST);
	assert_int_equal(sim_buddy_claim(&b, 80, 4), 0);
	sim_buddy_fini(&b);
}

/* The first mfn of a buffer, by the extents the driver reports. */
static uint64_t page_mfn(struct sim_model *m, uint64_t buf, uint64_t page)
{
	struct xgm_extent *x;
	size_t cnt;
	uint64_t mfn = UINT64_MAX;

	assert_int_equal(sim_gpu_buf_extents(m, buf, &x, &cnt), 0);
	for (size_t i = 0; i < cnt; i++) {
		if (page < x[i].nr) {
			mfn = x[i].mfn + page;
			break;
		}
		page -= x[i].nr;
	}
	free(x);
	return mfn;
}

struct notes {
	uint64_t buf[16];
	int n;
};

static void on_move(uint64_t buf, enum xgm_placement from,
		    enum xgm_placement to, void *arg)
{
	struct notes *n = arg;

	assert_int_equal(from, XGM_PLACE_VRAM);
	assert_int_equal(to, XGM_PLACE_SYS);
	if (n->n < 16)
		n->buf[n->n++] = buf;
}

/* When a VRAM allocation does not fit, the least recently used unpinned
 * buffer is evicted to system pages (copied, counted), its tags travel
 * with it and the move notification names it. Failing means the engine
 * would never learn that a mapped buffer moved. */
static void test_gpu_lru_eviction_notifies_and_carries_tags(void **state)
{
	struct sim_model *m = host_with(XGM_DOM_PVH, 16 * MIB);
	struct notes n = { .n = 0 };
	uint64_t a, b, c, tag;

	m->move_notify = on_move;
	m->move_arg = &n;
	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 8 * MIB, XGM_PLACE_VRAM, &a), 0);
	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 8 * MIB, XGM_PLACE_VRAM, &b), 0);
	assert_int_equal(sim_gpu_buf_write_tag(m, a, 7, 0xAAAA), 0);
	assert_int_equal(sim_gpu_buf_write_tag(m, b, 7, 0xBBBB), 0); /* b newer */
	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 4 * MIB, XGM_PLACE_VRAM, &c), 0);
	assert_int_equal(n.n, 1);
	assert_int_equal(n.buf[0], a);
	assert_int_equal(sim_gpu_buf(m, a)->place, XGM_PLACE_SYS);
	assert_int_equal(m->host_ctr.pages_copied, 8 * MIB / 4096);
	assert_int_equal(sim_gpu_buf_read_tag(m, a, 7, &tag), 0);
	assert_int_equal(tag, 0xAAAA);
	/* the frame behind page 7 holds the tag (what a guest would read) */
	assert_int_equal(sim_gpu_frame_tag(m, page_mfn(m, a, 7), &tag), 0);
	assert_int_equal(tag, 0xAAAA);
	sim_model_free(m);
}

/* Pinned buffers are never evicted or moved; if only pinned buffers are
 * resident the allocation fails with ENOSPC. Failing means the grant
 * strategy's pin guarantees nothing. */
static void test_gpu_pinned_buffers_never_move(void **state)
{
	struct sim_model *m = host_with(XGM_DOM_PVH, 16 * MIB);
	uint64_t a, b, c;

	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 8 * MIB, XGM_PLACE_VRAM, &a), 0);
	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 8 * MIB, XGM_PLACE_VRAM, &b), 0);
	assert_int_equal(sim_gpu_buf_pin(m, a, true), 0);
	assert_int_equal(sim_gpu_buf_pin(m, b, true), 0);
	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 4 * MIB, XGM_PLACE_VRAM, &c),
			 -ENOSPC);
	assert_int_equal(sim_gpu_buf_move(m, a, XGM_PLACE_SYS), -EBUSY);
	assert_int_equal(sim_gpu_buf_free(m, a), -EBUSY);
	assert_int_equal(sim_gpu_buf_pin(m, a, false), 0);
	/* A pin is a state: clearing it twice is not an error (the engine
	 * repeats steps after an interruption). */
	assert_int_equal(sim_gpu_buf_pin(m, a, false), 0);
	assert_int_equal(sim_gpu_buf(m, a)->pins, 0);
	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 4 * MIB, XGM_PLACE_VRAM, &c), 0);
	assert_int_equal(sim_gpu_buf(m, a)->place, XGM_PLACE_SYS);
	assert_int_equal(sim_gpu_buf_free(m, a), 0);
	assert_int_equal(sim_gpu_buf_free(m, a), -ENOENT);
	sim_model_free(m);
}

/* System pages come from dom0's RAM: scattered mfns on a PV dom0, few
 * contiguous runs on a PVH dom0. Failing means the PV/PVH difference the
 * whole design rests on is not modelled. */
static void test_gpu_sys_pages_scattered_on_pv_dom0_compact_on_pvh(void **state)
{
	struct sim_model *m = host_with(XGM_DOM_PV, 16 * MIB);
	struct xgm_extent *x;
	size_t n;
	uint64_t a;
	uint32_t owner;

	assert_int_equal(sim_gpu_buf_alloc(m, NULL, 1 * MIB, XGM_PLACE_SYS, &a), 0);
	assert_int_equal(sim_gpu_buf_extents(m, a, &x, &n), 0);
	assert_true(n > 128); /* 256 pages, nearly all apart */
	for (size_t i = 0; i < n; i++) {
		assert_true(sim_mem_owner(m, x[i].mfn, &owner, NULL));
		assert_int_equal(owner, 0);
	}
	free(x);
	sim_model_free(m);

	m = host_with(XGM_DOM_PVH, 16 * MIB);
	assert_int_equal(sim_gpu_buf_alloc(m, NULL, 1 * MIB, XGM_PLACE_SYS, &a), 0);
	assert_int_equal(sim_gpu_buf_extents(m, a, &x, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(x[0].nr, 256);
	free(x);
	/* moving to VRAM and back copies twice and keeps the id */
	assert_int_equal(sim_gpu_buf_move(m, a, XGM_PLACE_VRAM), 0);
	assert_int_equal(sim_gpu_buf_move(m, a, XGM_PLACE_SYS), 0);
	assert_int_equal(m->host_ctr.pages_copied, 512);
	assert_int_equal(sim_gpu_buf_alloc(m, "card9", 4096, XGM_PLACE_SYS, &a),
			 -ENODEV);
	sim_model_free(m);
}

/* The PV dom0 permutation is a bijection (no two pfns share a frame). */
/* gpu show's view of the model: BAR0 is the VRAM, each buffer says where
 * it is and whether it is pinned. Failing means `gpu show` misreports the
 * card an admin is looking at. */
static void test_gpu_cards_describe_bar_and_buffers(void **state)
{
	struct sim_model *m = host_with(XGM_DOM_PVH, 16 * MIB);
	json_t *cards, *c, *bar, *b;
	uint64_t a, s;

	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 4 * MIB, XGM_PLACE_VRAM, &a), 0);
	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 1 * MIB, XGM_PLACE_SYS, &s), 0);
	assert_int_equal(sim_gpu_buf_pin(m, s, true), 0);
	assert_int_equal(sim_gpu_cards(m, &cards), 0);
	assert_int_equal(json_array_size(cards), 1);
	c = json_array_get(cards, 0);
	assert_string_equal(json_string_value(json_object_get(c, "card")), "card0");
	bar = json_array_get(json_object_get(c, "bars"), 0);
	assert_int_equal(json_integer_value(json_object_get(bar, "bus_addr")),
			 m->gpus[0]->vram_base_mfn << 12);
	assert_int_equal(json_integer_value(json_object_get(bar, "size")), 16 * MIB);
	assert_int_equal(json_integer_value(json_object_get(c, "vram_free_bytes")),
			 12 * MIB);
	b = json_array_get(json_object_get(c, "buffers"), 0);
	assert_int_equal(json_integer_value(json_object_get(b, "id")), a);
	assert_string_equal(json_string_value(json_object_get(b, "placement")), "vram");
	assert_int_equal(json_integer_value(json_object_get(b, "mfn")),
			 m->gpus[0]->vram_base_mfn);
	b = json_array_get(json_object_get(c, "buffers"), 1);
	assert_string_equal(json_string_value(json_object_get(b, "placement")), "sys");
	assert_true(json_is_true(json_object_get(b, "pinned")));
	json_decref(cards);
	assert_int_equal(sim_gpu_buf_pin(m, s, false), 0);
	sim_model_free(m);
}

static void test_pv_permutation_is_a_bijection(void **state)
{
	const uint64_t n = 5000;
	uint8_t *seen = calloc(n, 1);

	assert_non_null(seen);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p = sim_pv_permute(i, n, 1234);

		assert_true(p < n);
		assert_false(seen[p]);
		seen[p] = 1;
	}
	free(seen);
}

/* What a frame holds follows the buffer wherever it moves: on a PV dom0
 * its system pages are scattered 4K frames, found through an index that
 * each move rebuilds; a page no fill wrote holds no pattern (-ENODATA), a
 * frame no buffer holds is nobody's content (-ENOENT). Failing means a
 * guest read reports a stale buffer's data, or mistakes an unfilled
 * buffer page for its own RAM. */
static void test_gpu_frame_content_follows_moves_and_unwritten_pages_hold_no_data(void **state)
{
	struct sim_model *m = host_with(XGM_DOM_PV, 16 * MIB);
	uint64_t a, tag, old5, new5;

	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 4 * MIB, XGM_PLACE_SYS, &a), 0);
	assert_int_equal(sim_gpu_buf_write_tag(m, a, 5, 0x5555), 0);
	old5 = page_mfn(m, a, 5);
	assert_int_equal(sim_gpu_frame_tag(m, old5, &tag), 0);
	assert_int_equal(tag, 0x5555);
	assert_int_equal(sim_gpu_frame_tag(m, page_mfn(m, a, 6), &tag), -ENODATA);
	/* to VRAM and back: new frames, the old ones hold nothing of it */
	assert_int_equal(sim_gpu_buf_move(m, a, XGM_PLACE_VRAM), 0);
	assert_int_equal(sim_gpu_frame_tag(m, old5, &tag), -ENOENT);
	assert_int_equal(sim_gpu_frame_tag(m, page_mfn(m, a, 5), &tag), 0);
	assert_int_equal(tag, 0x5555);
	assert_int_equal(sim_gpu_buf_move(m, a, XGM_PLACE_SYS), 0);
	new5 = page_mfn(m, a, 5);
	assert_int_equal(sim_gpu_frame_tag(m, new5, &tag), 0);
	assert_int_equal(tag, 0x5555);
	/* every page of the buffer is found at its frame */
	for (uint64_t p = 0; p < 1024; p++) {
		uint64_t got;

		assert_non_null(sim_gpu_sys_page_of(m, page_mfn(m, a, p), &got));
		assert_int_equal(got, p);
	}
	assert_int_equal(sim_gpu_buf_free(m, a), 0);
	assert_int_equal(sim_gpu_frame_tag(m, new5, &tag), -ENOENT);
	sim_model_free(m);
}

/* A buffer whose gfn is known gets frames congruent to their gfns modulo
 * 2M wherever a whole 2M chunk of gfns lies in it, in VRAM and in a PVH
 * dom0's RAM: only then can memory_mapping use 2M entries. Without a gfn,
 * VRAM is split as before, largest block first. */
static void test_gpu_frames_follow_a_known_gfn_modulo_2m(void **state)
{
	struct sim_model *m = host_with(XGM_DOM_PVH, 64 * MIB);
	const uint64_t gfn = 0x80000 + 5, pages = (20 * MIB) >> 12;
	enum xgm_placement where[2] = { XGM_PLACE_VRAM, XGM_PLACE_SYS };
	uint64_t buf, plain, head = 512 - 5;

	for (int w = 0; w < 2; w++) {
		assert_int_equal(sim_gpu_buf_alloc_at(m, NULL, pages << 12,
						      where[w], gfn, &buf), 0);
		for (uint64_t p = head; p + 512 <= pages; p += 512)
			for (uint64_t k = 0; k < 512; k += 511)
				assert_int_equal((page_mfn(m, buf, p + k) -
						  (gfn + p + k)) % 512, 0);
		assert_int_equal(sim_gpu_buf_free(m, buf), 0);
	}
	assert_int_equal(sim_gpu_buf_alloc(m, NULL, pages << 12,
					   XGM_PLACE_VRAM, &plain), 0);
	assert_int_equal(page_mfn(m, plain, 0) % (16 * MIB >> 12), 0);
	assert_int_equal(page_mfn(m, plain, 4096),
			 page_mfn(m, plain, 0) + 4096);
	sim_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buddy_aligned_blocks_and_merging),
		cmocka_unit_test(test_gpu_frames_follow_a_known_gfn_modulo_2m),
		cmocka_unit_test(test_gpu_lru_eviction_notifies_and_carries_tags),
		cmocka_unit_test(test_gpu_pinned_buffers_never_move),
		cmocka_unit_test(test_gpu_sys_pages_scattered_on_pv_dom0_compact_on_pvh),
		cmocka_unit_test(test_pv_permutation_is_a_bijection),
		cmocka_unit_test(test_gpu_cards_describe_bar_and_buffers),
		cmocka_unit_test(test_gpu_frame_content_follows_moves_and_unwritten_pages_hold_no_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
