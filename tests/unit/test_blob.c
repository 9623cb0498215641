// SPDX-License-Identifier: GPL-2.0-only
/*
 * Blob records: the stored JSON object must round-trip every field, and
 * anything that is not a well-formed record must be refused (a record comes
 * from the store, which anyone in dom0 can write).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "core/engine.h"

static void fill_blob(struct blob *b)
{
	memset(b, 0, sizeof(*b));
	b->domid = 7;
	b->n = 42;
	snprintf(b->dom_name, sizeof(b->dom_name), "vm-7");
	b->size = 3 * 4096;
	b->nr = 3;
	snprintf(b->label, sizeof(b->label), "a label with spaces, %% and \"quotes\"\n");
	snprintf(b->card, sizeof(b->card), "card1");
	b->placement = XGM_PLACE_SYS;
	b->strategy = STRAT_GRANT;
	b->strategy_auto = true;
	b->cache = CACHE_UC;
	b->gfn = 0x80001;
	b->generation = 5;
	snprintf(b->state, sizeof(b->state), "mapped");
	b->buf = 99;
	b->ext = calloc(2, sizeof(*b->ext));
	b->ext[0] = (struct xgm_extent){ 0x1000, 2 };
	b->ext[1] = (struct xgm_extent){ 0x9000, 1 };
	b->nr_ext = 2;
	b->grefs = malloc(3 * sizeof(*b->grefs));
	b->grefs[0] = 10;
	b->grefs[1] = 11;
	b->grefs[2] = UINT32_MAX;
	b->pinned = true;
	b->filled = true;
	b->fill_id = 0x123;
	for (unsigned int k = 0; k < BLOB_OP_NR; k++)
		b->ops[k] = (struct blob_op){ .modeled_us = NAN, .blackout_us = NAN };
	b->ops[BLOB_OP_ATTACH].done = true;
	b->ops[BLOB_OP_ATTACH].c.hypercalls = 9;
	b->ops[BLOB_OP_ATTACH].measured_us = 12.5;
	b->ops[BLOB_OP_MIGRATE].done = true;
	b->ops[BLOB_OP_MIGRATE].c.pages_copied = 3;
	b->ops[BLOB_OP_MIGRATE].modeled_us = 7.5;
	b->ops[BLOB_OP_MIGRATE].blackout_us = 2.5;
}

static void test_round_trip_keeps_every_field(void **state)
{
	struct blob a, b;
	char *line;

	fill_blob(&a);
	line = blob_encode(&a);
	assert_non_null(line);
	/* Compact: one line, nothing but the record. */
	assert_null(strchr(line, '\n'));
	assert_int_equal(blob_decode(line, &b), 0);
	assert_int_equal(b.domid, 7);
	assert_int_equal(b.n, 42);
	assert_string_equal(b.dom_name, "vm-7");
	assert_string_equal(b.label, a.label);
	assert_string_equal(b.card, "card1");
	assert_int_equal(b.placement, XGM_PLACE_SYS);
	assert_int_equal(b.strategy, STRAT_GRANT);
	assert_true(b.strategy_auto);
	assert_int_equal(b.cache, CACHE_UC);
	assert_int_equal(b.gfn, 0x80001);
	assert_int_equal(b.generation, 5);
	assert_int_equal(b.buf, 99);
	assert_int_equal(b.nr_ext, 2);
	assert_int_equal(b.ext[1].mfn, 0x9000);
	assert_int_equal(b.grefs[1], 11);
	assert_int_equal(b.grefs[2], UINT32_MAX);
	assert_true(b.pinned);
	assert_true(b.filled);
	assert_int_equal(b.fill_id, 0x123);
	/* The costs are stored apart (blob_ops_record). */
	assert_null(strstr(line, "\"ops\""));
	assert_false(b.ops[BLOB_OP_ATTACH].done);
	free(line);
	blob_free(&a);
	blob_free(&b);
}

/* What each operation cost: its own key, its own codec. */
static void check_costs(const struct blob *b)
{
	assert_true(b->ops[BLOB_OP_ATTACH].done);
	assert_int_equal(b->ops[BLOB_OP_ATTACH].c.hypercalls, 9);
	assert_true(b->ops[BLOB_OP_ATTACH].measured_us == 12.5);
	assert_true(isnan(b->ops[BLOB_OP_ATTACH].modeled_us));
	assert_true(isnan(b->ops[BLOB_OP_ATTACH].blackout_us));
	assert_true(b->ops[BLOB_OP_MIGRATE].done);
	assert_int_equal(b->ops[BLOB_OP_MIGRATE].c.pages_copied, 3);
	assert_true(b->ops[BLOB_OP_MIGRATE].modeled_us == 7.5);
	assert_true(b->ops[BLOB_OP_MIGRATE].blackout_us == 2.5);
	assert_false(b->ops[BLOB_OP_DETACH].done);
}

static void test_costs_round_trip_apart_from_the_record(void **state)
{
	struct blob a, b = { 0 };
	json_t *ops;

	fill_blob(&a);
	ops = blob_ops_record(&a);
	assert_non_null(ops);
	for (unsigned int k = 0; k < BLOB_OP_NR; k++)
		b.ops[k] = (struct blob_op){ .modeled_us = NAN, .blackout_us = NAN };
	assert_int_equal(blob_ops_from_record(ops, &b), 0);
	check_costs(&b);
	json_decref(ops);
	/* No operation done: no costs to store. */
	for (unsigned int k = 0; k < BLOB_OP_NR; k++)
		a.ops[k].done = false;
	assert_null(blob_ops_record(&a));
	blob_free(&a);
}

/* A record an earlier xgpumap wrote kept the costs inside: it still
 * reads, and says the costs must be written where they live now. */
static void test_a_record_with_its_costs_inside_still_reads(void **state)
{
	struct blob a, b;
	json_t *r;
	char *line;

	fill_blob(&a);
	r = blob_record(&a);
	json_object_set_new(r, "ops", blob_ops_record(&a));
	line = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	assert_int_equal(blob_decode(line, &b), 0);
	check_costs(&b);
	assert_true(b.ops_changed);
	free(line);
	blob_free(&a);
	blob_free(&b);
}

static void test_defaults_are_left_out_and_restored(void **state)
{
	struct blob a, b;
	json_t *ops;
	char *line;

	fill_blob(&a);
	snprintf(a.card, sizeof(a.card), "card0");
	a.cache = CACHE_WC;
	a.generation = 0;
	a.pinned = false;
	line = blob_encode(&a);
	assert_null(strstr(line, "\"card\""));
	assert_null(strstr(line, "\"cache\""));
	assert_null(strstr(line, "\"gen\""));
	assert_null(strstr(line, "\"pinned\""));
	free(line);
	/* Zero counters are left out of the costs too. */
	ops = blob_ops_record(&a);
	line = json_dumps(ops, JSON_COMPACT);
	json_decref(ops);
	assert_null(strstr(line, "\"splits\""));
	assert_non_null(strstr(line, "\"hypercalls\""));
	free(line);
	line = blob_encode(&a);
	assert_int_equal(blob_decode(line, &b), 0);
	assert_string_equal(b.card, "card0");
	assert_int_equal(b.cache, CACHE_WC);
	assert_false(b.pinned);
	free(line);
	blob_free(&a);
	blob_free(&b);
}

/* A record but for its version and domid. */
#define REST(v, d) "\"v\":" v ",\"d\":" d ",\"n\":1,\"dom\":\"a\",\"size\":4096," \
	"\"place\":\"vram\",\"strat\":\"mmio\",\"auto\":true,\"gfn\":1," \
	"\"state\":\"mapped\",\"buf\":1,\"ext\":[5,1]"
#define GOOD "\"v\":2,\"d\":1,\"n\":1,\"dom\":\"a\",\"size\":4096," \
	     "\"place\":\"vram\",\"strat\":\"mmio\",\"auto\":true,\"gfn\":1," \
	     "\"state\":\"mapped\",\"buf\":1"

static void test_malformed_records_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"xgm-blob/1 d=1 n=1 dom=a size=4096 place=vram strat=mmio auto=1 gfn=1 state=mapped buf=1 ext=5+1",
		"[]",
		"{" GOOD "}",                                  /* no extents */
		"{" GOOD ",\"ext\":[5,2]}",                    /* 2 frames, size 1 */
		"{" GOOD ",\"ext\":[5]}",                      /* half a pair */
		"{" GOOD ",\"ext\":[5,0]}",                    /* an empty run */
		"{" GOOD ",\"ext\":[-5,1]}",
		"{" GOOD ",\"ext\":[\"5\",1]}",
		"{" GOOD ",\"ext\":[4503599627370496,1]}",     /* 2^52 */
		"{" GOOD ",\"ext\":[5,1],\"evil\":1}",         /* unknown key */
		"{" GOOD ",\"ext\":[5,1],\"ext\":[5,1]}",      /* twice */
		"{" GOOD ",\"ext\":[5,1],\"grefs\":[1,2]}",    /* 2 refs, 1 page */
		"{" GOOD ",\"ext\":[5,1],\"fill\":4096}",
		"{" GOOD ",\"ext\":[5,1],\"ops\":{\"attach\":{\"hypercalls\":-1}}}",
		"{" GOOD ",\"ext\":[5,1],\"ops\":{\"attach\":{\"evil\":1}}}",
		"{" GOOD ",\"ext\":[5,1],\"ops\":{\"steal\":{}}}",
		"{" GOOD ",\"ext\":[5,1],\"ops\":[]}",
		"{" GOOD ",\"ext\":[5,1],\"ops\":{\"attach\":{\"measured_us\":\"1\"}}}",
		"{" GOOD ",\"ext\":[5,1],\"ops\":{\"attach\":[]}}",
		"{" GOOD ",\"ext\":[5,1],\"label\":5}",    /* wrong types */
		"{" GOOD ",\"ext\":[5,1],\"pinned\":1}",
		"{" GOOD ",\"ext\":[5,1],\"gen\":1.5}",
		"{\"v\":2,\"d\":\"1\",\"n\":1,\"dom\":\"a\",\"size\":4096,"
		"\"place\":\"vram\",\"strat\":\"mmio\",\"auto\":true,\"gfn\":1,"
		"\"state\":\"mapped\",\"buf\":1,\"ext\":[5,1]}",
		"{\"v\":2,\"d\":1,\"n\":1,\"dom\":\"a\",\"size\":4096,"
		"\"place\":\"vram\",\"strat\":\"mmio\",\"gfn\":1,"
		"\"state\":\"mapped\",\"buf\":1,\"ext\":[5,1]}", /* no auto */
		"{" REST("3", "1") "}",                        /* a newer version */
		"{" REST("2", "-1") "}",
		"{" REST("2", "99999999999") "}",
	};
	struct blob b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int ret = blob_decode(bad[i], &b);

		if (ret != -EBADMSG)
			fail_msg("accepted (%d): %s", ret, bad[i]);
	}
	/* The minimal good one, for contrast. */
	assert_int_equal(blob_decode("{" GOOD ",\"ext\":[5,1]}", &b), 0);
	assert_string_equal(b.card, "card0");
	assert_int_equal(b.cache, CACHE_WC);
	blob_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_keeps_every_field),
		cmocka_unit_test(test_costs_round_trip_apart_from_the_record),
		cmocka_unit_test(test_a_record_with_its_costs_inside_still_reads),
		cmocka_unit_test(test_defaults_are_left_out_and_restored),
		cmocka_unit_test(test_malformed_records_are_refused),
	};

	return cmocka_run_group_tests_name("blob", tests, NULL, NULL);
}
