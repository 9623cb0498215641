// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The debug-key text parsers (lib/xen/dump_parse.c): console ring text is
 * whatever Xen (or anything else writing to the console) printed. The
 * first byte picks the parser and the domain; the rest is the text, not
 * NUL-terminated, so reading past len is caught. Property: every leaf is
 * a valid order and frame.
 */
#include "fuzz.h"
#include "xen/dump_parse.h"

static int check_leaf(const struct xgm_p2m_entry *e, void *arg)
{
	FUZZ_ASSERT(e->order == 0 || e->order == 9 || e->order == 18);
	FUZZ_ASSERT(e->gfn < (1ULL << 52) && e->mfn < (1ULL << 52));
	(*(size_t *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int domid;
	size_t leaves = 0;
	char *text;
	int ret;

	if (!size)
		return 0;
	domid = data[0] >> 1;
	/* An exact-size copy: ASan sees any read past the end. */
	text = malloc(size - 1 ? size - 1 : 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	if (data[0] & 1)
		ret = xen_parse_iommu_dump(text, size - 1, domid, check_leaf, &leaves);
	else
		ret = xen_parse_ept_dump(text, size - 1, domid, check_leaf, &leaves);
	FUZZ_ASSERT(ret < 0 || (size_t)ret == leaves);
	free(text);
	return 0;
}
