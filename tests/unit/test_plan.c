// SPDX-License-Identifier: GPL-2.0-only
/*
 * The planner against hand-worked cases and against a brute-force checker
 * on random extents: the entry counts must equal the minimum a dynamic
 * program over every tiling finds, and the calls ceil(entries/64).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"
#include "util/log.h"
#include "core/plan.h"

#define M2 512ULL

static void test_1g_aligned_vram_is_512_2m_entries_in_8_calls(void **state)
{
	struct xgm_extent e = { .mfn = 0x4000000, .nr = 262144 };
	struct plan p;

	assert_int_equal(plan_build(0x1000000, &e, 1, PLAN_UP_TO_2M, 64, &p), 0);
	assert_int_equal(p.entries_2m, 512);
	assert_int_equal(p.entries_4k, 0);
	assert_int_equal(p.calls, 8);
	plan_free(&p);
}

static void test_1g_unaligned_gfn_is_262144_4k_entries(void **state)
{
	struct xgm_extent e = { .mfn = 0x4000000, .nr = 262144 };
	struct plan p;

	assert_int_equal(plan_build(0x1000001, &e, 1, PLAN_UP_TO_2M, 64, &p), 0);
	assert_int_equal(p.entries_2m, 0);
	assert_int_equal(p.entries_4k, 262144);
	assert_int_equal(p.calls, 4096);
	plan_free(&p);
}

static void test_congruent_but_unaligned_start_has_4k_head_and_tail(void **state)
{
	/* gfn and mfn both 16 frames past a 2M boundary, 3 MiB long:
	 * 496 head 4K entries, one 2M entry, 272 tail 4K entries. */
	struct xgm_extent e = { .mfn = 0x4000010, .nr = 768 };
	struct plan p;

	assert_int_equal(plan_build(0x1000010, &e, 1, PLAN_UP_TO_2M, 64, &p), 0);
	assert_int_equal(p.entries_2m, 0);
	assert_int_equal(p.entries_4k, 768);
	plan_free(&p);

	/* 4 MiB from the same start: 496 head, one 2M entry, 16 tail. */
	e.nr = 1024;
	assert_int_equal(plan_build(0x1000010, &e, 1, PLAN_UP_TO_2M, 64, &p), 0);
	assert_int_equal(p.entries_2m, 1);
	assert_int_equal(p.entries_4k, 496 + 16);
	assert_int_equal(p.calls, (496 + 16 + 1 + 63) / 64);
	plan_free(&p);
}

static void test_4k_only_strategies_never_use_2m(void **state)
{
	struct xgm_extent e = { .mfn = 0x200, .nr = 1024 };
	struct plan p;

	assert_int_equal(plan_build(0x400, &e, 1, PLAN_4K_ONLY, 0, &p), 0);
	assert_int_equal(p.entries_2m, 0);
	assert_int_equal(p.entries_4k, 1024);
	assert_int_equal(p.calls, 1024);
	plan_free(&p);
}

static void test_adjacent_extents_merge_into_one_run(void **state)
{
	struct xgm_extent e[] = { { 0x1000, 256 }, { 0x1100, 256 }, { 0x9000, 512 } };
	struct plan p;

	assert_int_equal(plan_build(0x2000, e, 3, PLAN_UP_TO_2M, 64, &p), 0);
	assert_int_equal(p.nr_runs, 2);
	assert_int_equal(p.entries_2m, 2);
	assert_int_equal(p.entries_4k, 0);
	assert_int_equal(p.runs[1].gfn, 0x2200);
	assert_int_equal(p.calls, 2);
	plan_free(&p);
}

/* Brute force: minimum entries tiling [0, nr) of a run, any legal tiling. */
static uint64_t min_entries(uint64_t gfn, uint64_t mfn, uint64_t nr, bool allow_2m)
{
	uint64_t *dp = calloc(nr + 1, sizeof(*dp));
	uint64_t r;

	assert_non_null(dp);
	for (uint64_t i = nr; i-- > 0;) {
		dp[i] = 1 + dp[i + 1];
		if (allow_2m && !((gfn + i) % M2) && !((mfn + i) % M2) && i + M2 <= nr &&
		    1 + dp[i + M2] < dp[i])
			dp[i] = 1 + dp[i + M2];
	}
	r = dp[0];
	free(dp);
	return r;
}

static void test_random_extents_match_brute_force(void **state)
{
	srand(12345);
	for (int iter = 0; iter < 300; iter++) {
		struct xgm_extent ext[8];
		size_t n = 1 + (size_t)(rand() % 8);
		uint64_t gfn = (uint64_t)(rand() % 4096) * (rand() % 2 ? M2 : 1) + (uint64_t)(rand() % 3);
		bool allow = rand() % 4 != 0;
		uint64_t total = 0, want_entries = 0, want_calls = 0;
		struct plan p;

		for (size_t i = 0; i < n; i++) {
			ext[i].mfn = (uint64_t)(rand() % 8192) * (rand() % 2 ? M2 : 1);
			ext[i].nr = 1 + (uint64_t)(rand() % 2048);
			total += ext[i].nr;
		}
		assert_int_equal(plan_build(gfn, ext, n, allow ? PLAN_UP_TO_2M : PLAN_4K_ONLY,
					    64, &p), 0);
		assert_int_equal(p.frames, total);
		/* Every frame lands at the right gfn, runs contiguous in both spaces. */
		{
			uint64_t g = gfn;
			size_t r = 0, off = 0;

			for (size_t i = 0; i < n; i++) {
				for (uint64_t k = 0; k < ext[i].nr; k++, g++) {
					while (off == p.runs[r].nr) {
						r++;
						off = 0;
					}
					assert_int_equal(p.runs[r].gfn + off, g);
					assert_int_equal(p.runs[r].mfn + off, ext[i].mfn + k);
					off++;
				}
			}
		}
		for (size_t r = 0; r < p.nr_runs; r++) {
			uint64_t e = min_entries(p.runs[r].gfn, p.runs[r].mfn, p.runs[r].nr, allow);

			assert_int_equal(p.runs[r].entries_4k + p.runs[r].entries_2m, e);
			assert_int_equal(p.runs[r].entries_4k + 512 * p.runs[r].entries_2m,
					 p.runs[r].nr);
			want_entries += e;
			want_calls += (e + 63) / 64;
		}
		assert_int_equal(p.entries_4k + p.entries_2m, want_entries);
		assert_int_equal(p.calls, want_calls);
		plan_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_1g_aligned_vram_is_512_2m_entries_in_8_calls),
		cmocka_unit_test(test_1g_unaligned_gfn_is_262144_4k_entries),
		cmocka_unit_test(test_congruent_but_unaligned_start_has_4k_head_and_tail),
		cmocka_unit_test(test_4k_only_strategies_never_use_2m),
		cmocka_unit_test(test_adjacent_extents_merge_into_one_run),
		cmocka_unit_test(test_random_extents_match_brute_force),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
