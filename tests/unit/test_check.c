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

static json_t *blob_of(json_t *out)
{
	json_t *b = json_object_get(out, "blob");

	return b ? b : out;
}

static json_int_t entries_of(json_t *blob, const char *order)
{
	return json_integer_value(json_object_get(json_object_get(blob, "entries"),
						  order));
}

/* auto, for a system-RAM phase, picks a strategy that writes nothing into
 * the p2m (ioreq), so the blob, back in VRAM, gets its 2M entries again
 * and check stays clean. Failing means a RAM phase left the range on 4K
 * entries for good (8 x 512 entries and ~128 calls for every later remap
 * of these 16 MiB instead of 8 entries in one call). */
static void test_auto_for_system_ram_writes_nothing_so_2m_entries_come_back(void **state)
{
	struct fx *f = *state;
	XGM_OPTS(xgm_migrate_opts, to_sys, .to = "sys");
	XGM_OPTS(xgm_migrate_opts, to_vram, .to = "vram");
	json_t *out, *b;

	assert_int_equal(xgm_blob_migrate(f->ctx, "vm1:1", &to_sys, &out), 0);
	b = blob_of(out);
	assert_string_equal(json_string_value(json_object_get(b, "strategy")), "ioreq");
	json_decref(out);
	assert_int_equal(xgm_blob_migrate(f->ctx, "vm1:1", &to_vram, &out), 0);
	json_decref(out);
	assert_int_equal(xgm_blob_show(f->ctx, "vm1:1", &b), 0);
	assert_string_equal(json_string_value(json_object_get(b, "strategy")), "mmio");
	assert_int_equal(entries_of(b, "order9"), 8);
	assert_int_equal(entries_of(b, "order0"), 0);
	assert_null(json_object_get(b, "superpages_lost"));
	json_decref(b);
	assert_int_equal(xgm_check(f->ctx, NULL, &out), 0);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
}

/* A blob whose p2m holds more entries than its plan (a grant left 4K
 * tables in its 2M slots) is not wrong, but show says so and check warns
 * with what every remap costs. Failing means 'check' calls a blob clean
 * that costs 512x the entries its plan says. */
static void test_entries_exceed_plan_is_a_warning_with_its_cost(void **state)
{
	struct fx *f = *state;
	uint64_t g = gfn_of(f) + 0x10000; /* 256 MiB further, 2M-aligned */
	XGM_OPTS(xgm_attach_opts, grant, .size = 16 << 20, .placement = "sys",
		 .strategy = "grant", .gfn_set = true, .gfn = g);
	XGM_OPTS(xgm_attach_opts, vram, .size = 16 << 20, .gfn_set = true,
		 .gfn = g);
	json_t *out, *b, *e;
	const char *msg = NULL;
	size_t i;

	assert_int_equal(xgm_blob_attach(f->ctx, "vm1", &grant, &out), 0);
	json_decref(out);
	assert_int_equal(xgm_blob_detach(f->ctx, "vm1:2", &out), 0);
	json_decref(out);
	assert_int_equal(xgm_blob_attach(f->ctx, "vm1", &vram, &out), 0);
	json_decref(out);
	assert_int_equal(xgm_blob_show(f->ctx, "vm1:3", &b), 0);
	assert_int_equal(entries_of(b, "order0"), 4096);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(b, "superpages_lost"), "extra_entries")), 4096 - 8);
	json_decref(b);
	assert_int_equal(xgm_check(f->ctx, NULL, &out), 0);
	json_array_foreach(out, i, e) {
		assert_string_equal(json_string_value(json_object_get(e, "check")),
				    "entries-exceed-plan");
		assert_string_equal(json_string_value(json_object_get(e, "severity")),
				    "warning");
		msg = json_string_value(json_object_get(e, "message"));
	}
	assert_int_equal(json_array_size(out), 1);
	assert_non_null(strstr(msg, "4088 more entries"));
	assert_non_null(strstr(msg, "modeled"));
	json_decref(out);
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

/* ---- the cost of check and dump is what they cover ------------------- */

/* The backend's calls, counted: a command over every blob that lists the
 * domains or walks a p2m once per blob, or lists the store once per key,
 * is quadratic in the host however fast each call is. */
static const struct xgm_hv_ops *real_hv;
static unsigned int n_domain_list, n_p2m_walk, n_iommu_walk, n_store_list;

static int count_domain_list(void *priv, struct xgm_domain_info **out,
			     size_t *count)
{
	n_domain_list++;
	return real_hv->domain_list(priv, out, count);
}

static int count_p2m_walk(void *priv, uint32_t domid, uint64_t first,
			  uint64_t last, xgm_p2m_walk_fn fn, void *arg)
{
	n_p2m_walk++;
	return real_hv->p2m_walk(priv, domid, first, last, fn, arg);
}

static int count_iommu_walk(void *priv, uint32_t domid, uint64_t first,
			    uint64_t last, xgm_p2m_walk_fn fn, void *arg)
{
	n_iommu_walk++;
	return real_hv->iommu_walk(priv, domid, first, last, fn, arg);
}

static int count_store_list(void *priv, const char *dir, char ***names,
			    size_t *count)
{
	n_store_list++;
	return real_hv->store_list(priv, dir, names, count);
}

static struct xgm_hv_ops counted_hv;
static struct xgm_backend counted_be;

/* Routes ctx's backend calls through the counters (walk: whether the
 * backend keeps its store_walk, as the sim does; xen has none). */
static const struct xgm_backend *count_calls(struct xgm_ctx *ctx, bool walk)
{
	const struct xgm_backend *was = ctx->be;

	real_hv = was->hv;
	counted_hv = *real_hv;
	counted_hv.domain_list = count_domain_list;
	counted_hv.p2m_walk = count_p2m_walk;
	counted_hv.iommu_walk = count_iommu_walk;
	counted_hv.store_list = count_store_list;
	if (!walk)
		counted_hv.store_walk = NULL;
	counted_be = *was;
	counted_be.hv = &counted_hv;
	ctx->be = &counted_be;
	return was;
}

static void reset_counts(void)
{
	n_domain_list = n_p2m_walk = n_iommu_walk = n_store_list = 0;
}

static void attach_n(struct xgm_ctx *ctx, const char *dom, unsigned int n)
{
	XGM_OPTS(xgm_attach_opts, a, .size = 2 << 20, .strategy = "mmio");

	for (unsigned int i = 0; i < n; i++) {
		json_t *b;

		assert_int_equal(xgm_blob_attach(ctx, dom, &a, &b), 0);
		json_decref(b);
	}
}

/* check on an AMD host (separate IOMMU tables): how many calls of
 * domain_list, p2m_walk, iommu_walk. */
static void check_calls(struct xgm_ctx *ctx, unsigned int calls[3])
{
	const struct xgm_backend *was = count_calls(ctx, true);
	json_t *out;

	reset_counts();
	assert_int_equal(xgm_check(ctx, NULL, &out), 0);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	ctx->be = was;
	calls[0] = n_domain_list;
	calls[1] = n_p2m_walk;
	calls[2] = n_iommu_walk;
}

static void test_check_lists_domains_and_walks_each_domain_once(void **state)
{
	struct fx *f = *state;
	static const struct xgm_sim_guest g[] = {
		{ "vm1", XGM_DOM_PVH, 1ULL << 30, 1, true },
		{ "vm2", XGM_DOM_HVM, 1ULL << 30, 1, true },
		{ "vm3", XGM_DOM_PVH, 1ULL << 30, 1, true }, /* no blobs */
	};
	XGM_OPTS(xgm_sim_init_opts, t, .force = true, .iommu = XGM_IOMMU_AMD,
		 .guests = g, .nr_guests = 3);
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
		 .access = XGM_ACCESS_WRITE);
	unsigned int few[3], many[3];
	struct xgm_ctx *ctx;

	t.sim_state = o.sim_state = f->path;
	json_decref(f->blob);
	f->blob = NULL;
	xgm_ctx_close(f->ctx);
	f->ctx = NULL;
	assert_int_equal(xgm_sim_init(&t), 0);
	assert_int_equal(xgm_ctx_open(&o, &ctx), 0);
	f->ctx = ctx;
	attach_n(ctx, "vm1", 1);
	attach_n(ctx, "vm2", 1);
	check_calls(ctx, few);
	/* Every domain is listed, and every p2m and IOMMU walked, at all. */
	assert_true(few[0] >= 1 && few[1] >= 2 && few[2] >= 2);
	attach_n(ctx, "vm1", 7);
	attach_n(ctx, "vm2", 5);
	check_calls(ctx, many);
	/* 14 blobs cost the calls of 2: they grow with domains, not blobs. */
	assert_int_equal(many[0], few[0]);
	assert_int_equal(many[1], few[1]);
	assert_int_equal(many[2], few[2]);
}

/* dump's store section, and how many directory listings it took. */
static json_t *dump_store_counted(struct xgm_ctx *ctx, bool walk,
				  unsigned int *lists)
{
	const struct xgm_backend *was = count_calls(ctx, walk);
	json_t *doc, *store;

	reset_counts();
	assert_int_equal(xgm_dump(ctx, &doc), 0);
	ctx->be = was;
	*lists = n_store_list;
	store = json_incref(json_object_get(doc, "store"));
	json_decref(doc);
	return store;
}

static void test_dump_reads_the_store_in_one_pass(void **state)
{
	struct fx *f = *state;
	unsigned int few, many, by_dir;
	json_t *walked, *listed;
	char *a, *b;

	json_decref(dump_store_counted(f->ctx, true, &few));
	attach_n(f->ctx, "vm1", 9);
	attach_n(f->ctx, "vm2", 2);
	walked = dump_store_counted(f->ctx, true, &many);
	/* More keys, more directories: the same listings (a domain's blob
	 * records are one walk of its directory, the store section one walk
	 * of the whole store; neither lists). */
	assert_int_equal(many, few);
	/* A backend without the walk (xenstore) lists directory by directory
	 * and must give the same section, key for key, in the same order. */
	listed = dump_store_counted(f->ctx, false, &by_dir);
	assert_true(by_dir > many + 12);
	a = json_dumps(walked, JSON_COMPACT);
	b = json_dumps(listed, JSON_COMPACT);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "\"/xgpumap/blob/1/2\":"));
	assert_true(strstr(a, "\"/xgpumap/blob/1/2\":") <
		    strstr(a, "\"/xgpumap/blob/1/10\":"));
	free(a);
	free(b);
	json_decref(walked);
	json_decref(listed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_after_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_removed_behind_our_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_moved_behind_our_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrecorded_entry_in_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupted_operation_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_for_system_ram_writes_nothing_so_2m_entries_come_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entries_exceed_plan_is_a_warning_with_its_cost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrecorded_ioreq_claim_in_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_journal_record_is_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_buffer_a_guest_maps_is_never_freed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_lists_domains_and_walks_each_domain_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_reads_the_store_in_one_pass, setup, teardown),
	};

	return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
