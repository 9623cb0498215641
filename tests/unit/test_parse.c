// SPDX-License-Identifier: GPL-2.0-only
/* Parsers of user-typed numbers: sizes, frame numbers, frame ranges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "xgpumap-sim.h"

static void test_size_units(void **state)
{
	uint64_t v;

	assert_int_equal(xgm_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(xgm_parse_size("64K", &v), 0);
	assert_int_equal(v, 64 << 10);
	assert_int_equal(xgm_parse_size("16M", &v), 0);
	assert_int_equal(v, 16 << 20);
	assert_int_equal(xgm_parse_size("1g", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(xgm_parse_size("2TiB", &v), 0);
	assert_int_equal(v, 2ULL << 40);
	assert_int_equal(xgm_parse_size("3MB", &v), 0);
	assert_int_equal(v, 3ULL << 20);
	assert_int_equal(xgm_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
}

static void test_size_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"", "M", "-1", " 1", "1 ", "1X", "1MM", "1.5G", "0x10", "+4", "1Bi",
	};
	uint64_t v = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(xgm_parse_size(bad[i], &v), -EINVAL);
		assert_int_equal(v, 77); /* untouched on failure */
	}
	assert_int_equal(xgm_parse_size(NULL, &v), -EINVAL);
}

static void test_size_overflow_is_erange(void **state)
{
	uint64_t v;

	assert_int_equal(xgm_parse_size("18446744073709551615", &v), 0);
	assert_int_equal(xgm_parse_size("18446744073709551616", &v), -ERANGE);
	assert_int_equal(xgm_parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(xgm_parse_size("16777215T", &v), 0);
	assert_int_equal(xgm_parse_size("99999999999999999999999G", &v), -ERANGE);
	assert_int_equal(errno, ERANGE);
}

static void test_frame_and_range(void **state)
{
	uint64_t a, b;

	assert_int_equal(xgm_parse_frame("0x4000000", &a), 0);
	assert_int_equal(a, 0x4000000);
	assert_int_equal(xgm_parse_frame("123", &a), 0);
	assert_int_equal(a, 123);
	assert_int_equal(xgm_parse_frame("12z", &a), -EINVAL);
	assert_int_equal(xgm_parse_frame("010", &a), 0);
	assert_int_equal(a, 10); /* not octal */
	assert_int_equal(xgm_parse_frame("0x", &a), -EINVAL);
	assert_int_equal(xgm_parse_frame("0x-1", &a), -EINVAL);
	assert_int_equal(xgm_parse_frame_range("0x100-0x1ff", &a, &b), 0);
	assert_int_equal(a, 0x100);
	assert_int_equal(b, 0x1ff);
	assert_int_equal(xgm_parse_frame_range("7", &a, &b), 0);
	assert_int_equal(a, 7);
	assert_int_equal(b, 7);
	assert_int_equal(xgm_parse_frame_range("9-8", &a, &b), -EINVAL);
	assert_int_equal(xgm_parse_frame_range("1-", &a, &b), -EINVAL);
	assert_int_equal(xgm_parse_frame_range("-1", &a, &b), -EINVAL);
	assert_int_equal(xgm_parse_frame_range("1--2", &a, &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_units),
		cmocka_unit_test(test_size_rejects_malformed),
		cmocka_unit_test(test_size_overflow_is_erange),
		cmocka_unit_test(test_frame_and_range),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
