// SPDX-License-Identifier: GPL-2.0-only
/*
 * Options structs, through the public API, as a caller compiled against an
 * older or a newer header would pass them: a smaller sz reads the missing
 * fields as defaults, a larger one is accepted only with a zero tail, and
 * every refusal is -EINVAL with a message of its own (never the previous
 * call's).
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
#include "util/opts.h"

static char state_path[64];

static int setup(void **unused)
{
	int fd;

	snprintf(state_path, sizeof(state_path), "/tmp/xgm-opts-XXXXXX");
	fd = mkstemp(state_path);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(state_path);
	return 0;
}

static int teardown(void **unused)
{
	char lock[80];

	unlink(state_path);
	snprintf(lock, sizeof(lock), "%s.lock", state_path);
	unlink(lock);
	return 0;
}

/* A message that says something and is not left over from a call before. */
static void assert_own_message(const char *needle)
{
	const char *msg = xgm_last_error();

	assert_non_null(strstr(msg, needle));
	assert_null(strstr(msg, "stale"));
}

static void plant_stale_message(void)
{
	struct xgm_ctx *ctx;
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
		 .input = "/nonexistent/stale.json");

	assert_true(xgm_ctx_open(&o, &ctx) < 0);
	assert_non_null(strstr(xgm_last_error(), "stale"));
}

static struct xgm_ctx *open_sim(void)
{
	struct xgm_ctx *ctx = NULL;
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
		 .access = XGM_ACCESS_WRITE, .sim_state = state_path);

	assert_int_equal(xgm_ctx_open(&o, &ctx), 0);
	return ctx;
}

static void test_xgm_opts_zeroes_every_byte(void **unused)
{
	XGM_OPTS(xgm_attach_opts, o, .size = 4096);
	const unsigned char *p = (const unsigned char *)&o;
	size_t nonzero = 0;

	for (size_t i = offsetofend(struct xgm_attach_opts, size); i < sizeof(o); i++)
		nonzero += p[i] != 0;
	assert_int_equal(o.sz, sizeof(o));
	assert_int_equal(nonzero, 0);
}

static void test_larger_struct_with_nonzero_tail_is_einval(void **unused)
{
	struct {
		struct xgm_ctx_opts known;
		uint64_t future;
	} big;
	struct xgm_ctx *ctx = NULL;

	memset(&big, 0, sizeof(big));
	big.known.sz = sizeof(big);
	big.known.backend = XGM_BACKEND_SIM;
	big.known.sim_state = state_path;
	big.future = 1;
	plant_stale_message();
	assert_int_equal(xgm_ctx_open(&big.known, &ctx), -EINVAL);
	assert_null(ctx);
	assert_own_message("struct xgm_ctx_opts");
	assert_own_message("not zero");

	/* The same larger struct with a zero tail is a newer caller's: fine. */
	big.future = 0;
	assert_int_equal(xgm_ctx_open(&big.known, &ctx), 0);
	xgm_ctx_close(ctx);
}

static void test_sz_zero_is_einval_with_a_message(void **unused)
{
	struct xgm_bench_opts o;
	json_t *out = NULL;

	memset(&o, 0, sizeof(o));
	plant_stale_message();
	assert_int_equal(xgm_bench(&o, &out), -EINVAL);
	assert_own_message("XGM_OPTS");
	assert_null(out);
}

static void test_null_opts_is_einval_with_its_own_message(void **unused)
{
	struct xgm_ctx *ctx = open_sim();
	json_t *out = NULL;

	plant_stale_message();
	assert_int_equal(xgm_blob_attach(ctx, "vm1", NULL, &out), -EINVAL);
	assert_own_message("xgm_blob_attach: opts is NULL");
	plant_stale_message();
	assert_int_equal(xgm_blob_migrate(ctx, "vm1:1", NULL, &out), -EINVAL);
	assert_own_message("xgm_blob_migrate: opts is NULL");
	assert_null(out);
	xgm_ctx_close(ctx);
}

static void test_migrate_tail_and_missing_to(void **unused)
{
	struct {
		struct xgm_migrate_opts known;
		uint32_t future;
	} big;
	struct xgm_ctx *ctx = open_sim();
	json_t *out = NULL;
	XGM_OPTS(xgm_migrate_opts, no_to, .repeat = 2);

	memset(&big, 0, sizeof(big));
	big.known.sz = sizeof(big);
	big.known.to = "sys";
	big.future = 7;
	assert_int_equal(xgm_blob_migrate(ctx, "vm1:1", &big.known, &out), -EINVAL);
	assert_own_message("struct xgm_migrate_opts");
	assert_int_equal(xgm_blob_migrate(ctx, "vm1:1", &no_to, &out), -EINVAL);
	assert_own_message("opts.to");
	xgm_ctx_close(ctx);
}

/* A caller compiled when struct xgm_attach_opts ended at size: placement,
 * strategy, cache, card and the rest read as defaults (VRAM, auto, card0). */
static void test_smaller_struct_reads_defaults_past_sz(void **unused)
{
	struct xgm_ctx *ctx = open_sim();
	struct xgm_attach_opts o;
	json_t *out = NULL, *v;

	memset(&o, 0xa5, sizeof(o));   /* garbage past sz must not be read */
	o.sz = offsetofend(struct xgm_attach_opts, size);
	o.size = 2 << 20;
	assert_int_equal(xgm_blob_attach(ctx, "vm1", &o, &out), 0);
	v = json_object_get(out, "placement");
	assert_string_equal(json_string_value(v), "vram");
	v = json_object_get(out, "card");
	assert_string_equal(json_string_value(v), "card0");
	json_decref(out);
	xgm_ctx_close(ctx);
}

static void test_sim_init_tail_is_einval(void **unused)
{
	struct {
		struct xgm_sim_init_opts known;
		uint8_t future[8];
	} big;

	memset(&big, 0, sizeof(big));
	big.known.sz = sizeof(big);
	big.known.sim_state = state_path;
	big.future[3] = 1;
	assert_int_equal(xgm_sim_init(&big.known), -EINVAL);
	assert_own_message("struct xgm_sim_init_opts");
	assert_int_equal(access(state_path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xgm_opts_zeroes_every_byte),
		cmocka_unit_test(test_larger_struct_with_nonzero_tail_is_einval),
		cmocka_unit_test(test_sz_zero_is_einval_with_a_message),
		cmocka_unit_test_setup_teardown(test_null_opts_is_einval_with_its_own_message,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_tail_and_missing_to,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_smaller_struct_reads_defaults_past_sz,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_init_tail_is_einval,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
