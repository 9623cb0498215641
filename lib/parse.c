// SPDX-License-Identifier: LGPL-2.1-only
/* Parsers for the numbers users type: sizes, frame numbers, frame ranges. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"

/* strtoull accepts leading blanks and a minus sign; users' numbers may not. */
static int parse_u64(const char *s, int base, uint64_t *out, char **end)
{
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, end, base);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

XGM_API int xgm_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	uint64_t v;
	char *end;
	int ret;

	ret = parse_u64(s, 10, &v, &end);
	if (ret)
		return xgm_err(ret);
	if (*end) {
		const char *u = strchr(units, toupper((unsigned char)*end));
		unsigned int shift;

		if (!u || !*u)
			return xgm_err(-EINVAL);
		end++;
		/* Accept "16M", "16MB", "16MiB". */
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return xgm_err(-EINVAL);
		shift = 10 * (unsigned int)(u - units + 1);
		if (v > (UINT64_MAX >> shift))
			return xgm_err(-ERANGE);
		v <<= shift;
	}
	*out = v;
	return 0;
}

XGM_API int xgm_parse_frame(const char *s, uint64_t *out)
{
	bool hex = s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	uint64_t v;
	char *end;
	int ret;

	/* Decimal, or hex with 0x; a leading zero is not octal ("010" is
	 * ten), which no one typing a frame number means. */
	if (hex && !isxdigit((unsigned char)s[2]))
		return xgm_err(-EINVAL);
	ret = parse_u64(s, hex ? 16 : 10, &v, &end);
	if (ret)
		return xgm_err(ret);
	if (*end)
		return xgm_err(-EINVAL);
	*out = v;
	return 0;
}

XGM_API int xgm_parse_frame_range(const char *s, uint64_t *first,
				  uint64_t *last)
{
	const char *dash;
	char head[32];
	int ret;

	if (!s)
		return xgm_err(-EINVAL);
	dash = strchr(s, '-');
	if (!dash) {
		ret = xgm_parse_frame(s, first);
		if (!ret)
			*last = *first;
		return ret;
	}
	if ((size_t)(dash - s) >= sizeof(head))
		return xgm_err(-EINVAL);
	memcpy(head, s, (size_t)(dash - s));
	head[dash - s] = '\0';
	ret = xgm_parse_frame(head, first);
	if (!ret)
		ret = xgm_parse_frame(dash + 1, last);
	if (ret)
		return ret;
	if (*last < *first)
		return xgm_err(-EINVAL);
	return 0;
}

const char *xgm_size_str(uint64_t bytes, char buf[XGM_SIZE_STR])
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = -1;

	while (u + 1 < 5 && bytes >> (10 * (u + 2)))
		u++;
	if (u < 0)
		snprintf(buf, XGM_SIZE_STR, "%llu bytes", (unsigned long long)bytes);
	else if (!(bytes & ((1ULL << (10 * (u + 1))) - 1)))
		snprintf(buf, XGM_SIZE_STR, "%llu %s",
			 (unsigned long long)(bytes >> (10 * (u + 1))), units[u]);
	else
		snprintf(buf, XGM_SIZE_STR, "%.1f %s",
			 (double)bytes / (double)(1ULL << (10 * (u + 1))), units[u]);
	return buf;
}
