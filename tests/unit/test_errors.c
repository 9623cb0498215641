// SPDX-License-Identifier: GPL-2.0-only
/*
 * The error record (lib/util/log.c): within one public call on a context
 * the first failure wins, a message that quotes it or says what it means
 * replaces it, and after the call the thread and the context both give the
 * call's message; outside a call the last failure wins, as for errno.
 * Then the same through the public API on a simulated host.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "xgpumap-sim.h"
#include "util/log.h"

static void first_failure_wins_in_a_call(void **unused)
{
	struct xgm__err rec = { .set = true, .msg = "stale" };

	xgm__err_enter(&rec);
	assert_string_equal(xgm_last_error(), "");
	assert_int_equal(xgm_fail(-EIO, "the cause"), -EIO);
	assert_int_equal(errno, EIO);
	/* An undo that fails after it does not replace it. */
	xgm_fail(-EBUSY, "the undo failed too");
	assert_string_equal(xgm_last_error(), "the cause");
	xgm__err_leave(&rec, -EIO);
	assert_string_equal(xgm_last_error(), "the cause");
	assert_string_equal(rec.msg, "the cause");
}

static void a_message_quoting_the_cause_replaces_it(void **unused)
{
	struct xgm__err rec = { 0 };

	xgm__err_enter(&rec);
	xgm_fail(-ENOSPC, "no room");
	xgm_fail(-ENOSPC, "card0 has no room for 2 MiB: no room");
	assert_string_equal(xgm_last_error(),
			    "card0 has no room for 2 MiB: no room");
	xgm_fail_instead(-EINVAL, "'a:b:c' is not a blob id");
	assert_string_equal(xgm_last_error(), "'a:b:c' is not a blob id");
	xgm__err_leave(&rec, -EINVAL);
}

static void a_handled_failure_is_cleared(void **unused)
{
	struct xgm__err rec = { 0 };

	xgm__err_enter(&rec);
	xgm_fail(-ENOENT, "probe: not there");
	xgm_clear_error();
	xgm_fail(-EIO, "the real failure");
	assert_string_equal(xgm_last_error(), "the real failure");
	xgm__err_leave(&rec, -EIO);
}

static void an_undo_under_hold_keeps_the_cause(void **unused)
{
	struct xgm__err rec = { 0 };

	xgm__err_enter(&rec);
	xgm_fail(-EIO, "the cause");
	xgm__err_hold();
	/* The undo handles a failure of its own and clears it... */
	xgm_fail(-ENOENT, "no such record");
	xgm_clear_error();
	xgm_fail_instead(-EINVAL, "an undo's reinterpretation");
	xgm__err_release();
	/* ...and the cause is still what the call says. */
	assert_string_equal(xgm_last_error(), "the cause");
	xgm__err_leave(&rec, -EIO);
}

static void a_call_that_succeeds_leaves_no_message(void **unused)
{
	struct xgm__err rec = { 0 };

	xgm__err_enter(&rec);
	xgm_fail(-ENOENT, "handled on the way");
	xgm__err_leave(&rec, 0);
	assert_string_equal(xgm_last_error(), "");
	assert_string_equal(rec.msg, "");
}

static void outside_a_call_the_last_failure_wins(void **unused)
{
	xgm_clear_error();
	xgm_fail(-EINVAL, "first");
	xgm_fail(-EINVAL, "second");
	assert_string_equal(xgm_last_error(), "second");
	xgm_clear_error();
}

/* A remedy rides with its failure: a quoting message keeps it, a later
 * failure that loses does not bring its own, a clear drops it. */
static void a_remedy_goes_with_its_failure(void **unused)
{
	struct xgm__err rec = { 0 };
	const char *arg;

	xgm__err_enter(&rec);
	xgm_fail_remedy(-EBUSY, XGM_REMEDY_DISCARD, "7", "record 7 is bad");
	xgm_fail_remedy(-EIO, XGM_REMEDY_RECOVER, NULL, "the undo failed");
	assert_int_equal(xgm_last_remedy(&arg), XGM_REMEDY_DISCARD);
	assert_string_equal(arg, "7");
	xgm_fail(-EBUSY, "detach vm1:1: record 7 is bad");
	assert_int_equal(xgm_last_remedy(&arg), XGM_REMEDY_DISCARD);
	xgm__err_leave(&rec, -EBUSY);
	assert_int_equal(xgm_last_remedy(&arg), XGM_REMEDY_DISCARD);
	assert_string_equal(arg, "7");
	xgm_fail(-EINVAL, "a new failure outside a call");
	assert_int_equal(xgm_last_remedy(&arg), XGM_REMEDY_NONE);
	assert_string_equal(arg, "");
	xgm_fail_remedy(-ENODATA, XGM_REMEDY_FILL, "vm1:2", "never filled");
	xgm_clear_error();
	assert_int_equal(xgm_last_remedy(NULL), XGM_REMEDY_NONE);
	/* Every remedy has a name, and the names read back. */
	for (unsigned int r = 1; r < XGM_REMEDY_NR; r++) {
		assert_non_null(xgm_remedy_name((enum xgm_remedy)r));
		enum xgm_remedy back;

		assert_int_equal(xgm_remedy_parse(xgm_remedy_name((enum xgm_remedy)r),
						  &back), 0);
		assert_int_equal(back, r);
	}
	{
		enum xgm_remedy none;

		assert_int_equal(xgm_remedy_parse("no-such-remedy", &none), -EINVAL);
		assert_int_equal(none, XGM_REMEDY_NONE);
		assert_int_equal(xgm_remedy_parse(NULL, &none), -EINVAL);
	}
	assert_null(xgm_remedy_name(XGM_REMEDY_NONE));
	assert_null(xgm_remedy_name(XGM_REMEDY_NR));
}

/* Through the public API: a failed call's message is the context's and
 * the thread's; the next successful call clears both. */
static void the_context_keeps_its_last_calls_message(void **unused)
{
	char path[64];
	struct xgm_ctx *ctx;
	struct xgm_domain_info d;
	int fd;

	snprintf(path, sizeof(path), "/tmp/xgm-errors-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
		 .access = XGM_ACCESS_READ, .sim_state = path);
	assert_int_equal(xgm_ctx_open(&o, &ctx), 0);
	assert_int_equal(xgm_domain_lookup(ctx, "no-such-guest", &d), -ENOENT);
	assert_non_null(strstr(xgm_ctx_last_error(ctx), "no-such-guest"));
	assert_string_equal(xgm_last_error(), xgm_ctx_last_error(ctx));
	assert_int_equal(xgm_domain_lookup(ctx, "Domain-0", &d), 0);
	assert_string_equal(xgm_ctx_last_error(ctx), "");
	assert_string_equal(xgm_last_error(), "");
	xgm_ctx_close(ctx);
	unlink(path);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ".lock");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_failure_wins_in_a_call),
		cmocka_unit_test(a_message_quoting_the_cause_replaces_it),
		cmocka_unit_test(a_handled_failure_is_cleared),
		cmocka_unit_test(an_undo_under_hold_keeps_the_cause),
		cmocka_unit_test(a_call_that_succeeds_leaves_no_message),
		cmocka_unit_test(outside_a_call_the_last_failure_wins),
		cmocka_unit_test(a_remedy_goes_with_its_failure),
		cmocka_unit_test(the_context_keeps_its_last_calls_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
