// SPDX-License-Identifier: GPL-2.0-only
/*
 * The blob window's allocator: a place for nr frames congruent to the
 * backing's first frame modulo the strategy's largest entry, clear of every
 * other blob, inside the window; checked against a brute-force search.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/engine.h"

static const struct window W = { .gfn = 1ULL << 19, .nr = 1ULL << 16 };

static void test_congruent_with_the_backing(void **state)
{
	uint64_t gfn;

	/* VRAM frame 16 past a 2M boundary: the gfn is too, so 2M entries fit. */
	assert_int_equal(window_place(&W, NULL, 0, 1024, 0x4000010, 512, &gfn), 0);
	assert_int_equal(gfn % 512, 16);
	assert_true(gfn >= W.gfn);
	/* 4K strategies: any frame, the first one. */
	assert_int_equal(window_place(&W, NULL, 0, 1024, 0x4000010, 1, &gfn), 0);
	assert_int_equal(gfn, W.gfn);
}

static void test_skips_other_blobs_keeping_congruence(void **state)
{
	struct span others[2] = { 0 };
	uint64_t gfn;

	others[0].gfn = W.gfn;
	others[0].nr = 700;
	others[1].gfn = W.gfn + 1024;
	others[1].nr = 10;
	assert_int_equal(window_place(&W, others, 2, 512, 0x4000000, 512, &gfn), 0);
	assert_int_equal(gfn % 512, 0);
	assert_true(gfn >= others[1].gfn + others[1].nr);
}

static void test_full_window_is_enospc(void **state)
{
	struct span all = { .gfn = W.gfn, .nr = W.nr };
	uint64_t gfn;

	assert_int_equal(window_place(&W, &all, 1, 1, 0, 1, &gfn), -ENOSPC);
	assert_int_equal(window_place(&W, NULL, 0, W.nr + 1, 0, 1, &gfn), -ENOSPC);
}

/* The lowest congruent, clear place, by trying every gfn. */
static int64_t brute(const struct span *o, size_t n, uint64_t nr, uint64_t mfn0,
		     uint64_t align)
{
	for (uint64_t g = W.gfn; g + nr <= W.gfn + W.nr; g++) {
		bool ok = (g % align) == (mfn0 % align);

		for (size_t i = 0; ok && i < n; i++)
			ok = !(g < o[i].gfn + o[i].nr && o[i].gfn < g + nr);
		if (ok)
			return (int64_t)g;
	}
	return -1;
}

static void test_random_layouts_match_brute_force(void **state)
{
	srand(7);
	for (int iter = 0; iter < 200; iter++) {
		struct span o[6] = { 0 };
		size_t n = (size_t)(rand() % 6);
		uint64_t nr = 1 + (uint64_t)(rand() % 3000), gfn;
		uint64_t align = rand() % 2 ? 512 : 1, mfn0 = (uint64_t)rand();
		int64_t want;
		uint64_t at = W.gfn;

		/* Sorted, disjoint spans, as spans_load gives them. */
		for (size_t i = 0; i < n; i++) {
			at += (uint64_t)(rand() % 4000);
			o[i].gfn = at;
			o[i].nr = 1 + (uint64_t)(rand() % 5000);
			at += o[i].nr;
		}
		while (n && o[n - 1].gfn + o[n - 1].nr > W.gfn + W.nr)
			n--;
		want = brute(o, n, nr, mfn0, align);
		if (want < 0) {
			assert_int_equal(window_place(&W, o, n, nr, mfn0, align, &gfn), -ENOSPC);
		} else {
			assert_int_equal(window_place(&W, o, n, nr, mfn0, align, &gfn), 0);
			assert_int_equal(gfn, (uint64_t)want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_congruent_with_the_backing),
		cmocka_unit_test(test_skips_other_blobs_keeping_congruence),
		cmocka_unit_test(test_full_window_is_enospc),
		cmocka_unit_test(test_random_layouts_match_brute_force),
	};

	return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
