// SPDX-License-Identifier: GPL-2.0-only
/*
 * The invariant checker must see what goes wrong behind the engine's back:
 * an entry removed or replaced by someone else, a buffer the driver moved,
 * an entry in the window nobody recorded, an interrupted operation. Each
 * test breaks exactly one thing through the backend and expects exactly
 * that finding; a checker that always answers "clean" fails them all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctx.h"
#include "core/engine.h"

struct fx {
	char dir[64], path[96];
	struct xgm_ctx *ctx;
	json_t *blob;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	XGM_OPTS(xgm_attach_opts, a, .size = 16 << 20);

	strcpy(f->dir, "/tmp/xgm-check-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s.json", f->dir);
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
		 .access = XGM_ACCESS_WRITE, .sim_state = f->path);
	assert_int_equal(xgm_ctx_open(&o, &f->ctx), 0);
	assert_int_equal(xgm_blob_attach(f->ctx, "vm1", &a, &f->blob), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	json_decref(f->blob);
	xgm_ctx_close(f->ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static uint64_t gfn_of(struct fx *f)
{
	return (uint64_t)json_integer_value(json_object_get(f->blob, "gfn"));
}

static uint64_t mfn_of(struct fx *f)
{
	json_t *b = json_array_get(json_object_get(f->blob, "backing"), 0);

	return (uint64_t)json_integer_value(json_object_get(b, "mfn"));
}

/* The findings of one check, and whether one of them is `name`. */
static bool has_finding(struct fx *f, const char *name)
{
	json_t *out, *e;
	bool found = false;
	size_t i;

	assert_int_equal(xgm_check(f->ctx, NULL, &out), 0);
	json_array_foreach(out, i, e)
		found |= !strcmp(json_string_value(json_object_get(e, "check")), name);
	json_decref(out);
	return found;
}

static void test_clean_after_attach(void **state)
{
	struct fx *f = *state;
	json_t *out;

	assert_int_equal(xgm_check(f->ctx, NULL, &out), 0);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
}

static void test_entry_removed_behind_our_back(void **state)
{
	struct fx *f = *state;

	/* Someone else unmaps the first 2M of the blob. */
	assert_int_equal(f->ctx->be->hv->memory_mapping(f->ctx->priv, 1, gfn_of(f),
							mfn_of(f), 512, false), 512);
	assert_true(has_finding(f, "record-matches-p2m"));
}

static void test_buffer_moved_behind_our_back(void **state)
{
	struct fx *f = *state;
	uint64_t buf;
	json_t *rec;

	/* The driver moves the buffer without telling anyone: stale map. */
	f->ctx->be->gpu->set_move_notify(f->ctx->priv, NULL, NULL);
	assert_int_equal(xgm_blob_show(f->ctx, "vm1:1", &rec), 0);
	json_decref(rec);
	buf = 1; /* the first buffer of a new host */
	assert_int_equal(f->ctx->be->gpu->buf_move(f->ctx->priv, buf, XGM_PLACE_SYS), 0);
	assert_true(has_finding(f, "backing-current"));
}

static void test_unrecorded_entry_in_window(void **state)
{
	struct fx *f = *state;
	uint64_t far = gfn_of(f) + (1 << 20); /* still inside the 64G window */

	assert_int_equal(f->ctx->be->hv->iomem_permission(f->ctx->priv, 1,
							  mfn_of(f), 1, true), 0);
	assert_int_equal(f->ctx->be->hv->memory_mapping(f->ctx->priv, 1, far,
							mfn_of(f), 1, true), 1);
	assert_true(has_finding(f, "orphan-special-entry"));
}

static void test_interrupted_operation_is_reported(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->ctx->be->hv->store_write(f->ctx->priv,
		"/xgpumap/journal/99", "{\"op\":\"detach\",\"phase\":\"intent\"}"), 0);
	assert_true(has_finding(f, "journal-open"));
}

static void test_unrecorded_ioreq_claim_in_window(void **state)
{
	struct fx *f = *state;
	uint64_t far = gfn_of(f) + (1 << 20);

	assert_int_equal(f->ctx->be->hv->ioreq_map_range(f->ctx->priv, 1, far,
							 far + 15, true), 0);
	assert_true(has_finding(f, "orphan-ioreq-claim"));
}

/* The finding of a malformed journal record says what is wrong with it. */
static void test_malformed_journal_record_is_named(void **state)
{
	struct fx *f = *state;
	json_t *out, *e;
	const char *msg = NULL;
	size_t i;

	assert_int_equal(f->ctx->be->hv->store_write(f->ctx->priv,
		"/xgpumap/journal/98", "{\"op\":\"attach\",\"domid\":1,\"n\":1}"), 0);
	assert_int_equal(xgm_check(f->ctx, NULL, &out), 0);
	json_array_foreach(out, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "check")), "journal-open"))
			msg = json_string_value(json_object_get(e, "message"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "journal record 98 is malformed: the attach "
			       "names no phase"));
	assert_null(strstr(msg, "(null)"));
	json_decref(out);
}

/* The rule behind every free: nothing may still reach the frames. */
static void test_a_buffer_a_guest_maps_is_never_freed(void **state)
{
	struct fx *f = *state;
	uint64_t buf = 1; /* the first buffer of a new host */

	assert_int_equal(buffer_release(f->ctx, buf), -EBUSY);
	assert_non_null(strstr(xgm_last_error(), "domain vm1 maps its frames"));
	assert_int_equal(gpu_free(f->ctx, buf), -EBUSY);
	/* Once the guest's entries are gone, the buffer may go. */
	assert_int_equal(hv_memory_mapping_all(f->ctx, 1, gfn_of(f), mfn_of(f),
					       4096, false, NULL), 0);
	assert_int_equal(buffer_release(f->ctx, buf), 0);
	assert_int_equal(gpu_free(f->ctx, buf), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_after_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_removed_behind_our_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_moved_behind_our_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrecorded_entry_in_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupted_operation_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrecorded_ioreq_claim_in_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_journal_record_is_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_buffer_a_guest_maps_is_never_freed, setup, teardown),
	};

	return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
