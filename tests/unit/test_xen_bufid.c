// SPDX-License-Identifier: GPL-2.0-only
/*
 * The xen backend's buffer ids (lib/xen/bufid.c): each carries the epoch
 * of the context that made it, so an id a killed daemon's record holds
 * never names a buffer of the daemon started after it, whose DRM files
 * hand out the same framebuffer ids and GEM handles again. No Xen: the
 * epoch xenstore would give is set by hand.
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
#include "xen/xen.h"

static struct xen_priv *ctx_of_epoch(uint64_t epoch)
{
	struct xen_priv *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->epoch = epoch;
	return p;
}

static void test_an_id_says_its_kind_framebuffer_and_handle(void **state)
{
	struct xen_priv *p = ctx_of_epoch(3);
	static const enum xen_buf_kind kinds[] = { XEN_BUF_VRAM, XEN_BUF_RAM,
						   XEN_BUF_DMABUF };
	enum xen_buf_kind kind;
	uint64_t id, low;
	uint32_t fb;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(xen_bufid_make(p, kinds[i], 0x3fffff, 0xffffff, &id), 0);
		assert_true(id <= INT64_MAX); /* a JSON integer */
		assert_int_equal(xen_bufid_parse(p, id, &kind, &fb, &low), 0);
		assert_int_equal(kind, kinds[i]);
		assert_int_equal(fb, 0x3fffff);
		assert_int_equal(low, 0xffffff);
	}
	free(p);
}

/* The rule: the same numbers made by the next context are another id,
 * and each context finds the other's gone. */
static void test_an_id_of_another_epoch_is_gone(void **state)
{
	struct xen_priv *old = ctx_of_epoch(41), *now = ctx_of_epoch(42);
	enum xen_buf_kind kind;
	uint64_t a, b, low;
	uint32_t fb;

	(void)state;
	assert_int_equal(xen_bufid_make(old, XEN_BUF_VRAM, 12, 1, &a), 0);
	assert_int_equal(xen_bufid_make(now, XEN_BUF_VRAM, 12, 1, &b), 0);
	assert_true(a != b);
	assert_int_equal(xen_bufid_parse(now, a, &kind, &fb, &low), -ENOENT);
	assert_int_equal(xen_bufid_parse(old, b, &kind, &fb, &low), -ENOENT);
	free(old);
	free(now);
}

/* A process that made no buffer (epoch 0) owns none. */
static void test_a_context_without_an_epoch_owns_no_id(void **state)
{
	struct xen_priv *maker = ctx_of_epoch(5), *none = ctx_of_epoch(0);
	enum xen_buf_kind kind;
	uint64_t id, low;
	uint32_t fb;

	(void)state;
	assert_int_equal(xen_bufid_make(maker, XEN_BUF_RAM, 1, 1, &id), 0);
	assert_int_equal(xen_bufid_parse(none, id, &kind, &fb, &low), -ENOENT);
	free(maker);
	free(none);
}

/* What does not fit is refused, not truncated into another buffer's id;
 * ids the backend never makes are refused. */
static void test_numbers_that_do_not_fit_are_refused(void **state)
{
	struct xen_priv *p = ctx_of_epoch(9);
	enum xen_buf_kind kind;
	uint64_t id, low;
	uint32_t fb;

	(void)state;
	assert_int_equal(xen_bufid_make(p, XEN_BUF_VRAM, 1u << 22, 1, &id), -EOVERFLOW);
	assert_int_equal(xen_bufid_make(p, XEN_BUF_VRAM, 1, 1u << 24, &id), -EOVERFLOW);
	assert_int_equal(xen_bufid_make(p, XEN_BUF_VRAM, 1, 0, &id), -EOVERFLOW);
	assert_int_equal(xen_bufid_parse(p, 0, &kind, &fb, &low), -ENOENT);
	assert_int_equal(xen_bufid_parse(p, (uint64_t)42 << 32 | 1, &kind, &fb, &low),
			 -ENOENT); /* an id of the old form: no epoch */
	assert_int_equal(xen_bufid_make(p, XEN_BUF_DMABUF, 0, 1, &id), 0);
	assert_int_equal(xen_bufid_parse(p, id | 3ULL << 46, &kind, &fb, &low), -ENOENT);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_id_says_its_kind_framebuffer_and_handle),
		cmocka_unit_test(test_an_id_of_another_epoch_is_gone),
		cmocka_unit_test(test_a_context_without_an_epoch_owns_no_id),
		cmocka_unit_test(test_numbers_that_do_not_fit_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	return 0; /* nothing to test without Xen */
}
#endif
