// SPDX-License-Identifier: LGPL-2.1-only
/*
 * xgm_parse_size, xgm_parse_frame, xgm_parse_frame_range (lib/parse.c):
 * the first byte picks the parser, the rest is the text. Properties: a
 * parse that succeeds is repeatable, and a range is ordered.
 */
#include "fuzz.h"
#include "xgpumap-sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;
	char *s;

	if (!size)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	if (!s)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (!xgm_parse_size(s, &a))
			FUZZ_ASSERT(!xgm_parse_size(s, &b) && a == b);
		break;
	case 1:
		if (!xgm_parse_frame(s, &a))
			FUZZ_ASSERT(!xgm_parse_frame(s, &b) && a == b);
		break;
	default:
		if (!xgm_parse_frame_range(s, &a, &b)) {
			FUZZ_ASSERT(a <= b);
			FUZZ_ASSERT(!xgm_parse_frame_range(s, &c, &d) && a == c && b == d);
		}
		break;
	}
	free(s);
	return 0;
}
