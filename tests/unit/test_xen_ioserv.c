// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ioreq server's decoding of a request (lib/xen/ioserv.c) and the
 * revoke-fault blob table behind it (lib/xen/iofault.c), without Xen:
 * requests are built as a guest could make them, and the memory_mapping
 * calls go to a recorder. The rig (tests/xen/ioserv-rig.c) runs the same
 * code against real Xen.
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
#include <xen/xen.h>
#include <xen/hvm/ioreq.h>

#include "xen/ioserv.h"

#define W0 0x100000ull /* window: gfn 0x100000 .. 0x1003ff (4 MiB) */
#define W1 0x1003ffull

/* ---- a handler that records what reached it ---- */

struct seen {
	uint64_t gpa[16];
	unsigned int size[16];
	bool write[16];
	uint64_t val[16];
	int n;
	uint64_t answer;
};

static int record(void *arg, uint64_t gpa, unsigned int size, bool write,
		  uint64_t *val)
{
	struct seen *s = arg;

	if (s->n < 16) {
		s->gpa[s->n] = gpa;
		s->size[s->n] = size;
		s->write[s->n] = write;
		s->val[s->n] = write ? *val : 0;
	}
	s->n++;
	/* Pages at or above W0 + 0x200 are a gap. */
	if ((gpa >> 12) >= W0 + 0x200)
		return -ENOENT;
	if (!write)
		*val = s->answer;
	return 0;
}

static ioreq_t req(uint64_t addr, uint32_t size, uint32_t count, int dir)
{
	ioreq_t r;

	memset(&r, 0, sizeof(r));
	r.type = IOREQ_TYPE_COPY;
	r.addr = addr;
	r.size = size;
	r.count = count;
	r.dir = dir;
	r.state = STATE_IOREQ_READY;
	return r;
}

static void test_ioserv_read_answered_by_handler_every_size(void **state)
{
	static const uint32_t sizes[] = { 1, 2, 4, 8 };

	for (int i = 0; i < 4; i++) {
		struct seen s = { .answer = 0x1122334455667788ull };
		struct ioserv_stats st = { 0 };
		ioreq_t r = req((W0 << 12) + 0x10, sizes[i], 1, IOREQ_READ);

		ioserv_handle_request(W0, W1, record, &s, &r, &st);
		assert_int_equal(s.n, 1);
		assert_int_equal(s.size[0], sizes[i]);
		assert_false(s.write[0]);
		/* The answer is cut to the access's size. */
		assert_true(r.data == (sizes[i] == 8 ? s.answer :
				       s.answer & ((1ull << (sizes[i] * 8)) - 1)));
		assert_int_equal(st.reads, 1);
		assert_int_equal(st.bytes_read, sizes[i]);
	}
}

static void test_ioserv_gap_reads_all_ones_and_drops_writes(void **state)
{
	struct seen s = { .answer = 7 };
	struct ioserv_stats st = { 0 };
	ioreq_t r = req((W0 + 0x300) << 12, 4, 1, IOREQ_READ);

	ioserv_handle_request(W0, W1, record, &s, &r, &st);
	assert_true(r.data == 0xffffffffull);
	assert_int_equal(st.gap_reads, 1);
	r = req((W0 + 0x300) << 12, 8, 1, IOREQ_WRITE);
	r.data = 42;
	ioserv_handle_request(W0, W1, record, &s, &r, &st);
	assert_int_equal(st.gap_writes, 1);
	assert_int_equal(st.handler_errors, 0);
}

static void test_ioserv_refuses_sizes_and_counts_xen_never_sends(void **state)
{
	static const struct { uint32_t size, count; int dir; } bad[] = {
		{ 3, 1, IOREQ_READ }, { 16, 1, IOREQ_READ }, { 0, 1, IOREQ_WRITE },
		{ 4, 0, IOREQ_WRITE }, { 4, 4097, IOREQ_WRITE },
		{ 8, 2, IOREQ_READ } /* a read of count > 1 needs a pointer */,
		{ UINT32_MAX, UINT32_MAX, IOREQ_READ },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen s = { 0 };
		struct ioserv_stats st = { 0 };
		ioreq_t r = req(W0 << 12, bad[i].size, bad[i].count, bad[i].dir);

		ioserv_handle_request(W0, W1, record, &s, &r, &st);
		assert_int_equal(s.n, 0);
		assert_int_equal(st.bad, 1);
		if (bad[i].dir == IOREQ_READ)
			assert_true(r.data == UINT64_MAX);
	}
}

static void test_ioserv_element_outside_window_never_reaches_handler(void **state)
{
	struct seen s = { 0 };
	struct ioserv_stats st = { 0 };
	/* 8 bytes starting 4 bytes before the window's end. */
	ioreq_t r = req(((W1 + 1) << 12) - 4, 8, 1, IOREQ_READ);

	ioserv_handle_request(W0, W1, record, &s, &r, &st);
	assert_int_equal(s.n, 0);
	assert_true(r.data == UINT64_MAX);
	assert_int_equal(st.bad, 1);
	/* And below it. */
	r = req((W0 << 12) - 8, 8, 1, IOREQ_READ);
	ioserv_handle_request(W0, W1, record, &s, &r, &st);
	assert_int_equal(s.n, 0);
}

static void test_ioserv_rep_stos_honours_df(void **state)
{
	struct seen s = { 0 };
	struct ioserv_stats st = { 0 };
	ioreq_t r = req((W0 << 12) + 0x100, 4, 3, IOREQ_WRITE);

	r.df = 1;
	r.data = 0xabcd;
	ioserv_handle_request(W0, W1, record, &s, &r, &st);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(s.gpa[i] == (W0 << 12) + 0x100 - 4 * (uint64_t)i);
		assert_true(s.write[i]);
		assert_true(s.val[i] == 0xabcd);
	}
	assert_int_equal(st.elements, 3);
	assert_int_equal(st.bytes_written, 12);
}

static void test_ioserv_rep_stops_at_wraparound(void **state)
{
	struct seen s = { 0 };
	struct ioserv_stats st = { 0 };
	/* A window at the top of the address space; a rep going up would
	 * wrap past 2^64 on its second element. */
	uint64_t top = UINT64_MAX >> 12;
	ioreq_t r = req(UINT64_MAX - 7, 8, 4, IOREQ_WRITE);

	ioserv_handle_request(top, top, record, &s, &r, &st);
	assert_int_equal(s.n, 1); /* the page is a gap to record() */
	assert_int_equal(st.elements, 1);
	assert_int_equal(st.bad, 1);
}

static void test_ioserv_ptr_without_guest_memory_is_refused(void **state)
{
	struct seen s = { 0 };
	struct ioserv_stats st = { 0 };
	ioreq_t r = req(W0 << 12, 8, 64, IOREQ_READ);

	r.data_is_ptr = 1;
	r.data = 0x5000; /* a guest RAM page this test cannot map */
	ioserv_handle_request(W0, W1, record, &s, &r, &st);
	assert_int_equal(st.ptr_reqs, 1);
	assert_int_equal(st.bad, 1);
	/* The first element was read, then the copy into the guest failed
	 * and the rest was not touched. */
	assert_int_equal(s.n, 1);
	/* A pointer into the window itself is refused the same way. */
	r = req(W0 << 12, 8, 1, IOREQ_WRITE);
	r.data_is_ptr = 1;
	r.data = (W0 + 1) << 12;
	ioserv_handle_request(W0, W1, record, &s, &r, &st);
	assert_int_equal(s.n, 1);
	assert_int_equal(st.bad, 2);
}

static void test_ioserv_invalidate_completed(void **state)
{
	struct seen s = { 0 };
	struct ioserv_stats st = { 0 };
	ioreq_t r = req(0, 0, 0, IOREQ_WRITE);

	r.type = IOREQ_TYPE_INVALIDATE;
	ioserv_handle_request(W0, W1, record, &s, &r, &st);
	assert_int_equal(st.invalidates, 1);
	assert_int_equal(st.bad, 0);
	assert_int_equal(s.n, 0);
}

/* ---- iofault ---- */

struct mapcall {
	uint64_t gfn, mfn, nr;
	bool add;
};

struct mapper {
	struct mapcall c[64];
	int n;
	uint64_t limit; /* at most this many frames a call (0: all) */
	int adds_ok;    /* with fail: this many adds succeed, then one fails */
	bool fail;
};

static int fake_map(void *arg, uint32_t domid, uint64_t gfn, uint64_t mfn,
		    uint64_t nr, bool add)
{
	struct mapper *m = arg;

	if (add && m->fail && !m->adds_ok--) {
		m->fail = false;
		return -EIO;
	}
	if (m->limit && nr > m->limit)
		nr = m->limit;
	if (m->n < 64)
		m->c[m->n] = (struct mapcall){ gfn, mfn, nr, add };
	m->n++;
	return (int)nr;
}

#define BG 0x200000ull  /* blob gfn */
#define BM 0xf8000ull   /* blob mfn */
#define BN 1024ull      /* 4 MiB: two chunks */

static uint64_t *blob_mem(uint64_t tag)
{
	uint64_t *b = malloc(BN * 4096);

	for (uint64_t i = 0; i < BN * 512; i++)
		b[i] = tag + i;
	return b;
}

static void test_revoke_fault_first_touch_answers_then_maps_chunk(void **state)
{
	struct mapper m = { .limit = 100 };
	struct iofault *f;
	struct iofault_stats st;
	uint64_t *a = blob_mem(0x1000), v = 0;

	assert_int_equal(iofault_create(3, fake_map, &m, &f), 0);
	assert_int_equal(iofault_add(f, BG, BN, a, BM), 0);
	/* Second chunk, word 5 of its page 3. */
	assert_int_equal(iofault_access(f, ((BG + 512 + 3) << 12) + 40, 8, false,
					&v), 0);
	assert_true(v == 0x1000 + (512 + 3) * 512 + 5);
	/* 512 frames in calls of at most 100, all add, all of chunk 1. */
	assert_int_equal(m.n, 6);
	for (int i = 0; i < m.n; i++)
		assert_true(m.c[i].add);
	assert_true(m.c[0].gfn == BG + 512 && m.c[0].mfn == BM + 512);
	assert_true(m.c[5].gfn == BG + 1012 && m.c[5].nr == 12);
	/* The same chunk again maps nothing more. */
	assert_int_equal(iofault_access(f, (BG + 600) << 12, 4, false, &v), 0);
	assert_int_equal(m.n, 6);
	iofault_get_stats(f, &st);
	assert_int_equal(st.first_touch_maps, 1);
	assert_int_equal(st.served, 2);
	iofault_destroy(f);
	free(a);
}

static int pauses, paused;

static int fake_pause(void *arg, uint32_t domid, bool pause)
{
	struct mapper *m = arg;

	/* Every add lands while the guest is paused. */
	if (pause) {
		pauses++;
		paused = 1;
	} else {
		assert_true(paused);
		assert_true(m->n > 0 && m->c[m->n - 1].add);
		paused = 0;
	}
	return 0;
}

static void test_revoke_fault_first_touch_maps_with_guest_paused(void **state)
{
	struct mapper m = { 0 };
	struct iofault *f;
	uint64_t *a = blob_mem(0x1000), v = 0;

	pauses = paused = 0;
	assert_int_equal(iofault_create(3, fake_map, &m, &f), 0);
	iofault_set_pause(f, fake_pause);
	assert_int_equal(iofault_add(f, BG, BN, a, BM), 0);
	assert_int_equal(iofault_access(f, BG << 12, 8, false, &v), 0);
	assert_int_equal(pauses, 1);
	assert_false(paused);
	/* Revokes need no pause. */
	assert_int_equal(iofault_revoke(f, BG), 0);
	assert_int_equal(pauses, 1);
	iofault_destroy(f);
	free(a);
}

static void test_revoke_fault_write_lands_in_backing(void **state)
{
	struct mapper m = { 0 };
	struct iofault *f;
	uint64_t *a = blob_mem(0), v = 0x55aa;

	assert_int_equal(iofault_create(3, fake_map, &m, &f), 0);
	assert_int_equal(iofault_add(f, BG, BN, a, BM), 0);
	assert_int_equal(iofault_access(f, (BG << 12) + 16, 2, true, &v), 0);
	assert_true((a[2] & 0xffff) == 0x55aa);
	/* Unaligned, within the blob. */
	v = 0x0102030405060708ull;
	assert_int_equal(iofault_access(f, (BG << 12) + 3, 8, true, &v), 0);
	v = 0;
	assert_int_equal(iofault_access(f, (BG << 12) + 3, 8, false, &v), 0);
	assert_true(v == 0x0102030405060708ull);
	iofault_destroy(f);
	free(a);
}

static void test_revoke_fault_outside_any_blob_is_a_gap(void **state)
{
	struct mapper m = { 0 };
	struct iofault *f;
	uint64_t *a = blob_mem(0), v;

	assert_int_equal(iofault_create(3, fake_map, &m, &f), 0);
	assert_int_equal(iofault_add(f, BG, BN, a, BM), 0);
	assert_int_equal(iofault_access(f, (BG + BN) << 12, 8, false, &v), -ENOENT);
	assert_int_equal(iofault_access(f, (BG - 1) << 12, 8, false, &v), -ENOENT);
	/* Sticking out of the blob's end. */
	assert_int_equal(iofault_access(f, ((BG + BN) << 12) - 4, 8, false, &v),
			 -ENOENT);
	assert_int_equal(m.n, 0);
	iofault_destroy(f);
	free(a);
}

static void test_revoke_fault_migrate_revokes_switches_and_faults_again(void **state)
{
	struct mapper m = { 0 };
	struct iofault *f;
	struct iofault_stats st;
	uint64_t *a = blob_mem(0x1000), *b = blob_mem(0x9000), v;

	assert_int_equal(iofault_create(3, fake_map, &m, &f), 0);
	assert_int_equal(iofault_add(f, BG, BN, a, BM), 0);
	assert_int_equal(iofault_access(f, BG << 12, 8, false, &v), 0);
	assert_int_equal(m.n, 1);
	/* Mapped chunks keep the guest on the old frames: no switch. */
	assert_int_equal(iofault_switch(f, BG, b, BM + 0x4000), -EBUSY);
	assert_int_equal(iofault_revoke(f, BG), 0);
	/* Only the chunk first touch mapped is unmapped. */
	assert_int_equal(m.n, 2);
	assert_false(m.c[1].add);
	assert_true(m.c[1].gfn == BG && m.c[1].mfn == BM && m.c[1].nr == 512);
	assert_int_equal(iofault_switch(f, BG, b, BM + 0x4000), 0);
	assert_int_equal(iofault_access(f, BG << 12, 8, false, &v), 0);
	assert_true(v == 0x9000);
	assert_true(m.c[2].add && m.c[2].mfn == BM + 0x4000);
	iofault_get_stats(f, &st);
	assert_int_equal(st.first_touch_maps, 2);
	assert_int_equal(st.revokes, 1);
	/* Destroy revokes what is still mapped. */
	iofault_destroy(f);
	assert_int_equal(m.n, 4);
	assert_false(m.c[3].add);
	free(a);
	free(b);
}

static void test_revoke_fault_failed_map_is_served_and_undone(void **state)
{
	struct mapper m = { .fail = true, .adds_ok = 2, .limit = 100 };
	struct iofault *f;
	struct iofault_stats st;
	uint64_t *a = blob_mem(0x1000), v = 0;

	assert_int_equal(iofault_create(3, fake_map, &m, &f), 0);
	assert_int_equal(iofault_add(f, BG, BN, a, BM), 0);
	assert_int_equal(iofault_access(f, BG << 12, 8, false, &v), 0);
	assert_true(v == 0x1000);
	/* Two adds of 100 went through, the third failed: exactly those
	 * 200 frames are removed again. */
	assert_int_equal(m.n, 4);
	assert_false(m.c[2].add);
	assert_true(m.c[2].gfn == BG && m.c[2].nr == 100);
	assert_true(m.c[3].gfn == BG + 100 && m.c[3].nr == 100);
	/* Not retried on every access until a revoke. */
	assert_int_equal(iofault_access(f, BG << 12, 8, false, &v), 0);
	assert_int_equal(m.n, 4);
	iofault_get_stats(f, &st);
	assert_int_equal(st.map_errors, 1);
	assert_int_equal(st.first_touch_maps, 0);
	/* After a revoke the next touch maps it. */
	assert_int_equal(iofault_revoke(f, BG), 0);
	assert_int_equal(m.n, 4);
	assert_int_equal(iofault_access(f, BG << 12, 8, false, &v), 0);
	assert_int_equal(m.n, 10);
	assert_true(m.c[4].add);
	iofault_destroy(f);
	free(a);
}

static void test_revoke_fault_ram_blob_is_never_mapped(void **state)
{
	struct mapper m = { 0 };
	struct iofault *f;
	uint64_t *a = blob_mem(0x1000), v;

	assert_int_equal(iofault_create(3, fake_map, &m, &f), 0);
	assert_int_equal(iofault_add(f, BG, BN, a, IOFAULT_NO_MFN), 0);
	assert_int_equal(iofault_access(f, (BG + 700) << 12, 8, false, &v), 0);
	assert_true(v == 0x1000 + 700 * 512);
	assert_int_equal(m.n, 0);
	iofault_destroy(f);
	free(a);
}

static void test_revoke_fault_blobs_never_overlap(void **state)
{
	struct mapper m = { 0 };
	struct iofault *f;
	uint64_t *a = blob_mem(0);

	assert_int_equal(iofault_create(3, fake_map, &m, &f), 0);
	assert_int_equal(iofault_add(f, BG, BN, a, BM), 0);
	assert_int_equal(iofault_add(f, BG + BN - 1, 1, a, BM), -EEXIST);
	assert_int_equal(iofault_add(f, BG - 1, 2, a, BM), -EEXIST);
	assert_int_equal(iofault_add(f, UINT64_MAX - 1, 4, a, BM), -EINVAL);
	assert_int_equal(iofault_add(f, BG + BN, 0, a, BM), -EINVAL);
	assert_int_equal(iofault_add(f, BG + BN, 1, a, BM), 0);
	assert_int_equal(iofault_remove(f, BG + 1), -ENOENT);
	assert_int_equal(iofault_remove(f, BG + BN), 0);
	iofault_destroy(f);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ioserv_read_answered_by_handler_every_size),
		cmocka_unit_test(test_ioserv_gap_reads_all_ones_and_drops_writes),
		cmocka_unit_test(test_ioserv_refuses_sizes_and_counts_xen_never_sends),
		cmocka_unit_test(test_ioserv_element_outside_window_never_reaches_handler),
		cmocka_unit_test(test_ioserv_rep_stos_honours_df),
		cmocka_unit_test(test_ioserv_rep_stops_at_wraparound),
		cmocka_unit_test(test_ioserv_ptr_without_guest_memory_is_refused),
		cmocka_unit_test(test_ioserv_invalidate_completed),
		cmocka_unit_test(test_revoke_fault_first_touch_answers_then_maps_chunk),
		cmocka_unit_test(test_revoke_fault_first_touch_maps_with_guest_paused),
		cmocka_unit_test(test_revoke_fault_write_lands_in_backing),
		cmocka_unit_test(test_revoke_fault_outside_any_blob_is_a_gap),
		cmocka_unit_test(test_revoke_fault_migrate_revokes_switches_and_faults_again),
		cmocka_unit_test(test_revoke_fault_failed_map_is_served_and_undone),
		cmocka_unit_test(test_revoke_fault_ram_blob_is_never_mapped),
		cmocka_unit_test(test_revoke_fault_blobs_never_overlap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	return 0;
}
#endif
