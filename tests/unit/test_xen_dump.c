// SPDX-License-Identifier: GPL-2.0-only
/*
 * The debug-key dump parsers of the xen backend (lib/xen/dump_parse.c).
 * The texts are laid out exactly as Xen 4.17 prints them (the printk
 * formats quoted in dump_parse.c) and as xc_readconsolering returns them,
 * "(XEN) " prefixes included; the AMD-Vi 'o' text around the tables is
 * what the rig's PVH dom0 ring held. Garbage must never crash the parser
 * or yield a leaf.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#ifdef XGM_HAVE_XEN
#include "xen/dump_parse.h"

struct got {
	struct xgm_p2m_entry e[64];
	int n;
};

static int collect(const struct xgm_p2m_entry *e, void *arg)
{
	struct got *g = arg;

	if (g->n < 64)
		g->e[g->n] = *e;
	g->n++;
	return 0;
}

static const char ept_text[] =
	"(XEN) 'D' pressed -> dumping VT-x EPT tables\n"
	"(XEN) \n"
	"(XEN) domain1 EPT p2m table:\n"
	"(XEN) gfn:             0 order:  9 mfn:        12a000 rwx WB \n"
	"(XEN) gfn:           200 order:  0 mfn:        12a200 rwx WB!\n"
	"(XEN) gfn:          8000 order:  0 PoD\n"
	"(XEN) gfn:        100000 order:  9 mfn:         f8000 rw  UC \n"
	"(XEN) gfn:        100200 order:  0 mfn:         f8200 rw  ?? \n"
	"(XEN) \n"
	"(XEN) domain2 EPT p2m table:\n"
	"(XEN) gfn:             0 order: 18 mfn:        200000 rwx WB \n";

static void test_ept_dump_domain1(void **state)
{
	struct got g = { .n = 0 };

	assert_int_equal(xen_parse_ept_dump(ept_text, sizeof(ept_text) - 1, 1,
					    collect, &g), 5);
	assert_int_equal(g.e[0].gfn, 0);
	assert_int_equal(g.e[0].order, 9);
	assert_int_equal(g.e[0].mfn, 0x12a000);
	assert_int_equal(g.e[0].access, 7);
	assert_int_equal(g.e[0].emt, 6);
	assert_false(g.e[0].ipat);
	assert_true(g.e[1].ipat);
	assert_int_equal(g.e[2].type, 6); /* populate_on_demand */
	assert_int_equal(g.e[3].gfn, 0x100000);
	assert_int_equal(g.e[3].access, 6);
	assert_int_equal(g.e[3].emt, 0);
	/* "??": a memory type Xen has not resolved yet (MTRR_NUM_TYPES). */
	assert_int_equal(g.e[4].mfn, 0xf8200);
	assert_int_equal(g.e[4].emt, 0xff);
}

static void test_ept_dump_other_domain_and_missing(void **state)
{
	struct got g = { .n = 0 };

	assert_int_equal(xen_parse_ept_dump(ept_text, sizeof(ept_text) - 1, 2,
					    collect, &g), 1);
	assert_int_equal(g.e[0].order, 18);
	g.n = 0;
	assert_int_equal(xen_parse_ept_dump(ept_text, sizeof(ept_text) - 1, 3,
					    collect, &g), -ENOENT);
	assert_int_equal(g.n, 0);
}

static const char amd_text[] =
	"(XEN) [   81.230000] 'o' pressed -> dumping iommu page tables\n"
	"(XEN) [   81.230000] AMD IOMMU d1 table has 3 levels\n"
	"(XEN) [   81.230000]   dfn: 00000000  mfn: 00123456  rw\n"
	"(XEN) [   81.230000]   dfn: 00000001  mfn: 00123457  r-\n"
	"(XEN) [   81.230000]  dfn: 00100000  mfn: 000f8000  rw\n"
	"(XEN) [   81.230000] d2 sharing page tables\n"
	"(XEN) [   81.230000]   dfn: 00000009  mfn: 00000009  rw\n";

static void test_iommu_dump_amd(void **state)
{
	struct got g = { .n = 0 };

	assert_int_equal(xen_parse_iommu_dump(amd_text, sizeof(amd_text) - 1, 1,
					      collect, &g), 3);
	assert_int_equal(g.e[0].mfn, 0x123456);
	assert_int_equal(g.e[0].order, 0);
	assert_int_equal(g.e[1].access, 4);
	/* One level up from the leaves: a 2M entry. */
	assert_int_equal(g.e[2].gfn, 0x100000);
	assert_int_equal(g.e[2].order, 9);
	g.n = 0;
	assert_int_equal(xen_parse_iommu_dump(amd_text, sizeof(amd_text) - 1, 2,
					      collect, &g), -ENOENT);
	/* What the rig shows: dom0 is skipped, the guest has no device. */
	assert_int_equal(xen_parse_iommu_dump(
		"(XEN) 'o' pressed -> dumping iommu page tables\n", 47, 0,
		collect, &g), -ENOENT);
}

static void test_rejects_malformed_lines(void **state)
{
	static const char bad[] =
		"(XEN) domain1 EPT p2m table:\n"
		"gfn: 1 order: 9 mfn: 2 rwx WB \n"          /* misaligned gfn */
		"gfn: 0 order: 7 mfn: 2 rwx WB \n"          /* no such order */
		"gfn: 0 order: 0 mfn: 11111111111111111 rwx WB \n" /* 17 digits */
		"gfn: 0 order: 0 mfn: zz rwx WB \n"
		"gfn: 0 order: 0 mfn: 5 rwq WB \n"
		"gfn: 0 order: 0 mfn: 5 rwx XX \n"
		"gfn: 0 order: 0 mfn: 5\n"
		"gfn:\n"
		"gfn: 0 order: 0 mfn: 5 rwx WB \n";        /* the only good one */
	struct got g = { .n = 0 };

	assert_int_equal(xen_parse_ept_dump(bad, sizeof(bad) - 1, 1, collect, &g), 1);
	assert_int_equal(g.e[0].mfn, 5);
}

static void test_garbage_never_crashes(void **state)
{
	char buf[4096];

	srand(1);
	for (int round = 0; round < 2000; round++) {
		struct got g = { .n = 0 };
		size_t len = (size_t)rand() % sizeof(buf);

		/* Random bytes, with the tokens the parser looks for mixed in. */
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(rand() % 4 ? "gfn:order:mfn dfn rwx WB\n0123456789abcdef("[rand() % 41]
						  : rand());
		if (len > 40 && round % 3 == 0)
			memcpy(buf, "domain1 EPT p2m table:\nAMD IOMMU d1 table has 3 levels\n", 40);
		xen_parse_ept_dump(buf, len, 1, collect, &g);
		xen_parse_iommu_dump(buf, len, 1, collect, &g);
	}
	/* NULL text or zero length: nothing there. */
	assert_int_equal(xen_parse_ept_dump(NULL, 0, 1, collect, NULL), -ENOENT);
	assert_int_equal(xen_parse_iommu_dump("", 0, 1, collect, NULL), -ENOENT);
}

static int stop_at_first(const struct xgm_p2m_entry *e, void *arg)
{
	return 7;
}

static void test_callback_stops_walk(void **state)
{
	assert_int_equal(xen_parse_ept_dump(ept_text, sizeof(ept_text) - 1, 1,
					    stop_at_first, NULL), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ept_dump_domain1),
		cmocka_unit_test(test_ept_dump_other_domain_and_missing),
		cmocka_unit_test(test_iommu_dump_amd),
		cmocka_unit_test(test_rejects_malformed_lines),
		cmocka_unit_test(test_garbage_never_crashes),
		cmocka_unit_test(test_callback_stops_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	return 0; /* built without the xen backend: nothing to test */
}
#endif
