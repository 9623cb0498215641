// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Persistence of the simulated host: a big host round-trips exactly and
 * fast; every malformed state is refused with EBADMSG, never a crash.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct sim_model *default_host(void)
{
	struct sim_topology t;
	struct sim_model *m = NULL;

	sim_topo_default(&t);
	assert_int_equal(sim_topo_build(&t, &m), 0);
	return m;
}

/* Maps a whole VRAM buffer into domid at gfn with memory_mapping calls,
 * as the engine's mmio strategy does. */
static void map_buffer(struct sim_model *m, uint32_t domid, uint64_t buf,
		       uint64_t gfn)
{
	struct xgm_extent *x;
	size_t n;

	assert_int_equal(sim_gpu_buf_extents(m, buf, &x, &n), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t done = 0;

		assert_int_equal(sim_hc_iomem_permission(m, domid, x[i].mfn,
							 x[i].nr, true), 0);
		while (done < x[i].nr) {
			int r = sim_hc_memory_mapping(m, domid, gfn + done,
						      x[i].mfn + done,
						      x[i].nr - done, true);

			assert_true(r > 0);
			done += (uint64_t)r;
		}
		gfn += x[i].nr;
	}
	free(x);
}

/* 64 guests x 64 mapped 16 MiB blobs survive save -> load -> save
 * unchanged; the time is printed (not asserted) for the report. Failing
 * means the state file loses or alters the host. */
static void test_sim_persist(void **state)
{
	static struct xgm_sim_guest guests[64];
	struct sim_topology t;
	struct sim_model *m = NULL, *m2 = NULL;
	json_t *j1, *j2, *doc;
	char *text, *text2;
	double t0, t1, tl, ts, t2;

	for (int i = 0; i < 64; i++) {
		snprintf(guests[i].name, sizeof(guests[i].name), "guest%d", i);
		guests[i].type = i % 2 ? XGM_DOM_HVM : XGM_DOM_PVH;
		guests[i].mem_bytes = 256 * MIB;
		guests[i].vcpus = 2;
	}
	sim_topo_default(&t);
	t.guests = guests;
	t.nr_guests = 64;
	t.vram_bytes = 128 * GIB;
	assert_int_equal(sim_topo_validate(&t), 0);
	assert_int_equal(sim_topo_build(&t, &m), 0);
	for (uint32_t d = 1; d <= 64; d++) {
		for (int b = 0; b < 64; b++) {
			uint64_t buf;

			assert_int_equal(sim_gpu_buf_alloc(m, "card0", 16 * MIB,
							   XGM_PLACE_VRAM, &buf), 0);
			sim_gpu_buf_write_tag(m, buf, 0, buf * 1000 + d);
			map_buffer(m, d, buf, 0x1000000 + (uint64_t)b * 4096);
		}
	}
	j1 = sim_persist_save(m);
	assert_non_null(j1);
	text = json_dumps(j1, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(text);

	t0 = now_ms();
	doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(doc);
	t1 = now_ms();
	assert_int_equal(sim_persist_load(doc, &m2), 0);
	tl = now_ms();
	j2 = sim_persist_save(m2);
	ts = now_ms();
	text2 = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS);
	t2 = now_ms();
	printf("sim persist 64x64: %zu bytes; json parse %.2f ms, model load "
	       "%.2f ms, model save %.2f ms, json dump %.2f ms; total %.2f ms\n",
	       strlen(text), t1 - t0, tl - t1, ts - tl, t2 - ts, t2 - t0);
	assert_true(json_equal(j1, j2));
	assert_string_equal(text, text2);
	/* and the loaded host still works: a tag reads back through vm 5 */
	{
		uint64_t tag = 0;

		assert_int_equal(sim_guest_access(m2, 5, 0x1000000, XGM_GA_SCALAR,
						  false, &tag), 0);
		assert_int_not_equal(tag, 0);
	}
	free(text);
	free(text2);
	json_decref(doc);
	json_decref(j1);
	json_decref(j2);
	sim_model_free(m);
	sim_model_free(m2);
}

/* A default host with a little of everything (buffers in both places,
 * grants, foreign map, AMD would rebuild) round-trips. */
static void test_sim_persist_everything_roundtrips(void **state)
{
	struct sim_model *m = default_host(), *m2 = NULL;
	uint64_t b1, b2;
	uint32_t gref;
	json_t *j1, *j2;
	struct xgm_extent *x;
	size_t n;

	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 3 * MIB, XGM_PLACE_VRAM, &b1), 0);
	assert_int_equal(sim_gpu_buf_alloc(m, NULL, 1 * MIB, XGM_PLACE_SYS, &b2), 0);
	assert_int_equal(sim_gpu_buf_write_tag(m, b2, 3, UINT64_MAX - 5), 0);
	assert_int_equal(sim_gpu_buf_extents(m, b2, &x, &n), 0);
	assert_int_equal(sim_gnt_access(m, 1, x[0].mfn, false, &gref), 0);
	assert_int_equal(sim_gnt_map(m, 1, gref, 0x100000), 0);
	assert_int_equal(sim_hc_add_foreign(m, 0, 0x300000, 2, 0x42), 0);
	assert_int_equal(sim_ioreq_map_range(m, 1, 0x200000, 0x2fffff, true), 0);
	assert_int_equal(json_object_set_new(m->store, "/a/b", json_string("c")), 0);
	free(x);
	j1 = sim_persist_save(m);
	assert_int_equal(sim_persist_load(j1, &m2), 0);
	j2 = sim_persist_save(m2);
	assert_true(json_equal(j1, j2));
	json_decref(j1);
	json_decref(j2);
	sim_model_free(m);
	sim_model_free(m2);
}

/* Applies a mutation to a fresh copy of a default host's body and
 * expects EBADMSG with a message. */
static void expect_bad(json_t *good, void (*mutate)(json_t *), const char *what)
{
	json_t *doc = json_deep_copy(good);
	struct sim_model *m = NULL;
	int ret;

	mutate(doc);
	xgm_clear_error();
	ret = sim_persist_load(doc, &m);
	if (ret != -EBADMSG)
		fail_msg("%s: expected -EBADMSG, got %d", what, ret);
	assert_null(m);
	assert_true(strlen(xgm_last_error()) > 0);
	json_decref(doc);
}

static json_t *dom(json_t *doc, size_t i)
{
	return json_array_get(json_object_get(doc, "domains"), i);
}

static void m_no_frames(json_t *d) { json_object_del(d, "frames"); }
static void m_bad_order(json_t *d)
{
	json_array_set_new(json_array_get(json_object_get(dom(d, 1), "p2m"), 0),
			   3, json_integer(5));
}
static void m_bad_type(json_t *d)
{
	json_array_set_new(json_array_get(json_object_get(dom(d, 1), "p2m"), 0),
			   4, json_integer(99));
}
static void m_overlap(json_t *d)
{
	json_t *p = json_object_get(dom(d, 1), "p2m");

	json_array_append(p, json_array_get(p, 0));
}
static void m_name(json_t *d)
{
	json_object_set_new(dom(d, 2), "name", json_string("bad\nname"));
}
static void m_dup_name(json_t *d)
{
	json_object_set_new(dom(d, 2), "name", json_string("vm1"));
}
static void m_neg(json_t *d)
{
	json_object_set_new(dom(d, 1), "tot_pages", json_integer(-1));
}
static void m_string(json_t *d)
{
	json_object_set_new(d, "clock", json_string("soon"));
}
static void m_frames_overlap(json_t *d)
{
	json_t *f = json_object_get(d, "frames");

	json_array_insert(f, 1, json_array_get(f, 0));
}
static void m_owner(json_t *d)
{
	json_array_set_new(json_array_get(json_object_get(d, "frames"), 2), 2,
			   json_integer(77));
}
static void m_no_dom0(json_t *d)
{
	json_array_remove(json_object_get(d, "domains"), 0);
}
static void m_pv_count(json_t *d)
{
	json_object_set_new(json_object_get(dom(d, 3), "pv"), "nr_pages",
			    json_integer(3));
}
static void m_iommu(json_t *d) { json_object_set_new(d, "iommu", json_string("arm")); }
static void m_store(json_t *d)
{
	json_object_set_new(json_object_get(d, "store"), "/x", json_integer(1));
}
static void m_not_object(json_t *d)
{
	json_array_set_new(json_object_get(d, "domains"), 1, json_integer(1));
}

static void test_sim_persist_refuses_malformed_state(void **state)
{
	struct sim_model *m = default_host();
	json_t *good = sim_persist_save(m);

	expect_bad(good, m_no_frames, "no frames");
	expect_bad(good, m_bad_order, "bad order");
	expect_bad(good, m_bad_type, "bad type");
	expect_bad(good, m_overlap, "p2m overlap");
	expect_bad(good, m_name, "control char in name");
	expect_bad(good, m_dup_name, "duplicate name");
	expect_bad(good, m_neg, "negative");
	expect_bad(good, m_string, "string for int");
	expect_bad(good, m_frames_overlap, "frames overlap");
	expect_bad(good, m_owner, "unknown owner");
	expect_bad(good, m_no_dom0, "no dom0");
	expect_bad(good, m_pv_count, "pv count");
	expect_bad(good, m_iommu, "iommu");
	expect_bad(good, m_store, "store value");
	expect_bad(good, m_not_object, "domain not object");
	json_decref(good);
	sim_model_free(m);
}

/* Random integer corruption anywhere in the body never crashes: the load
 * either succeeds (the value was acceptable) or fails with EBADMSG. */
static json_t *nth_int(json_t *j, size_t *k, json_t **parent, size_t *idx,
		       const char **key)
{
	if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++) {
			json_t *v = json_array_get(j, i);

			if (json_is_integer(v) && (*k)-- == 0) {
				*parent = j;
				*idx = i;
				*key = NULL;
				return v;
			}
			if ((json_is_array(v) || json_is_object(v)) &&
			    nth_int(v, k, parent, idx, key))
				return v;
		}
	} else if (json_is_object(j)) {
		const char *kk;
		json_t *v;

		json_object_foreach(j, kk, v) {
			if (json_is_integer(v) && (*k)-- == 0) {
				*parent = j;
				*key = kk;
				return v;
			}
			if ((json_is_array(v) || json_is_object(v)) &&
			    nth_int(v, k, parent, idx, key))
				return v;
		}
	}
	return NULL;
}

static void test_sim_persist_fuzzed_integers_never_crash(void **state)
{
	struct sim_model *m = default_host();
	json_t *good;
	uint64_t seed = 42;
	uint64_t gpu;

	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 5 * MIB, XGM_PLACE_VRAM, &gpu), 0);
	assert_int_equal(sim_gpu_buf_alloc(m, "card0", 1 * MIB, XGM_PLACE_SYS, &gpu), 0);
	good = sim_persist_save(m);
	for (int iter = 0; iter < 3000; iter++) {
		json_t *doc = json_deep_copy(good), *parent = NULL;
		struct sim_model *m2 = NULL;
		const char *key = NULL;
		size_t k, idx = 0;
		static const json_int_t vals[] = { -1, 0, 1, 7, 9, 18, 512,
			0x7FF1, 0x7FF4, INT64_MAX, INT64_MIN, 0x4000000 };
		json_int_t v;
		int ret;

		seed = sim_mix64(seed);
		k = seed % 4000;
		v = seed & 1 ? vals[(seed >> 8) % 12] :
			       (json_int_t)(sim_mix64(seed) >> (seed % 64));
		if (nth_int(doc, &k, &parent, &idx, &key)) {
			if (key)
				json_object_set_new(parent, key, json_integer(v));
			else
				json_array_set_new(parent, idx, json_integer(v));
		}
		ret = sim_persist_load(doc, &m2);
		assert_true(ret == 0 || ret == -EBADMSG);
		sim_model_free(m2);
		json_decref(doc);
	}
	json_decref(good);
	sim_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_persist),
		cmocka_unit_test(test_sim_persist_everything_roundtrips),
		cmocka_unit_test(test_sim_persist_refuses_malformed_state),
		cmocka_unit_test(test_sim_persist_fuzzed_integers_never_crash),
	};

	if (getenv("SIM_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SIM_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
