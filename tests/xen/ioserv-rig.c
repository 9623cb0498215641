// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The rig's proof of the ioreq server (lib/xen/ioserv.c), run in dom0 by
 * dom0-test.sh against a guest that runs tests/xen/guest-reader:
 *
 *   ioserv-rig MODE DOMID WINDOW_GFN [nopause]
 *   ioserv-rig poison MFN PAGES
 *   ioserv-rig moves MODE BLOB N
 *
 * (poison: writes POISON into the first word of each of PAGES machine
 * frames from MFN through /dev/mem, dom0 having iomem=relaxed. moves:
 * step 7b's N migrations of BLOB through xgpumapd, the frames each one
 * leaves poisoned so that a guest read that still reached them counts as
 * wrong.)
 *
 * Two 4 MiB VRAM buffers on card0 (bochs), one of them the blob at
 * WINDOW_GFN in an 8 MiB window (the rest is a gap). The guest reads the
 * blob in a tight loop on every vCPU while dom0 migrates it 50 times
 * between the two buffers, first with mmio (unmap, copy, map: the guest
 * reads all-ones in the gap, which the server answers with no blob in
 * it), then with revoke-fault (unmap, copy, switch; the server answers
 * what faults and maps its chunk again). After each move the old buffer
 * is poisoned, so a read that still reached it would count as wrong.
 * Prints XGM- lines; exit 0 only when no read was wrong and revoke-fault
 * showed no all-ones read.
 *
 * Every add runs with the guest paused (XGM_NOPAUSE=1 drops the pause).
 * Without it Xen 4.17.7 crashes the guest, "domain_crash called from
 * arch/x86/hvm/svm/svm.c:1786", which is svm_do_nested_pgfault() giving up
 * because hvm_hap_nested_page_fault() returned 0: a vCPU took a nested
 * page fault on a gfn of the window while it had no entry, and by the time
 * Xen looked the gfn up (get_gfn_type_access(), after the p2m lock) the
 * add had written p2m_mmio_direct there. That function sends p2m_mmio_dm
 * to the emulator (our server) and treats a fault on RAM as spurious (it
 * returns 1, the vCPU retries), but has no such case for mmio_direct in a
 * guest: it falls through to rc = 0. Xen's master has the same code. So
 * it is a race in Xen, open on any hardware, wide under TCG; a pause
 * (XEN_DOMCTL_pausedomain waits in vcpu_sleep_sync() until no vCPU is in
 * Xen) closes it, and costs the other vCPUs the add (the faulting one
 * waits on us anyway). lib/xen/serve.c pauses the same way. Reproduced
 * on 2026-12-02 (XGM_NOPAUSE=1 XGM_ONLY=ioserv, PV dom0): in the mmio
 * loop, right after "memory_map:add: d1 gfn=120000 mfn=f8000 nr=400",
 * "domain_crash called from arch/x86/hvm/svm/svm.c:1786", "Domain 1
 * (vcpu#1) crashed", its RIP in the reader's loop (Debian's Xen is
 * debug=n, so the "SVM violation ... type" line naming the p2m type is
 * compiled out).
 *
 * The wrong reads the rig shows in some runs (about one in four, PV and
 * PVH dom0 alike) are not the guest's, the server's nor Xen's p2m's:
 * scan() finds the words wrong in dom0's own buffer, read through dom0's
 * own mapping, where nothing but this program's copies writes (the guest
 * only reads, Xen writes no VRAM), and the guest's wrong reads are of
 * those words. Each time a run of words held another page's data. On
 * 2026-12-02: with a PVH dom0, right after a 4 MiB memcpy into a buffer,
 * the 48 bytes at 0x17ffd0 held those of 0xbffd0 (768 KiB below; the
 * guest then read 66 of them in the mmio loop); with a PV dom0, before
 * mmio move 40, the 64 bytes at 0x380000 held those of 0x280000 (1 MiB
 * below); in a PV run before scan() existed the guest read 0x12021b248
 * at 0x2c0000 in both loops (a copy carries a bad word on): the gpa of
 * one of its own requests, the value the first word of the ioreq page
 * (slot 0's addr) holds. An earlier session saw a xenstore path. So
 * dom0's memcpy between its two mappings of VRAM read, for a moment, a
 * page other than the one its virtual address names: dom0's address
 * translation under QEMU's TCG (why, not found). It is reported as
 * XGM-EMUFAULT, which run.sh boots once more, as it does for the
 * emulator's other crashes; a wrong read without a corrupted buffer word
 * stays a FAIL.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "xgpumap-doc.h"
#include "xen/ioserv.h"
#include "xen/xen.h"

#define BLOB_BYTES (4u << 20)
#define BLOB_PAGES (BLOB_BYTES >> 12)
#define WINDOW_PAGES (2 * BLOB_PAGES)
#define MIGRATIONS 50
#define BASE 0x5847000000000000ull
#define POISON 0xdeadbeefdeadbeefull
#define MMIO_PIECE (256u << 10)

struct vbuf {
	uint64_t id, mfn, size;
	void *va;
	bool permitted;
};

static struct rig {
	const char *mode;
	uint32_t domid;
	uint64_t gfn;
	struct xen_priv *p;
	struct vbuf buf[2];
	int cur;                 /* the buffer behind the blob now */
	struct ioserv *srv;
	struct iofault *fault;
	bool mmio_mapped;
	bool nopause;            /* reproduce Xen's race (see the top) */
	unsigned long seq;
} R;

static volatile sig_atomic_t quit;
static uint64_t T0;

static uint64_t now_us(void);

static void on_signal(int sig)
{
	quit = sig;
}

static void say(const char *kind, const char *fmt, ...)
{
	va_list ap;

	printf("XGM-%s [%s] ", kind, R.mode);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void lib_print(enum xgm_log_level level, const char *msg, void *user)
{
	if (level <= XGM_LOG_WARN)
		fprintf(stderr, "ioserv-rig: %s\n", msg);
}

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* ---- the guest, through xenstore ---- */

static void guest_cmd(const char *fmt, ...)
{
	char path[96], v[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "/local/domain/%u/data/xgpumap/cmd", R.domid);
	xs_write(R.p->xsh, XBT_NULL, path, v, strlen(v));
}

/* Serves the window (when a server runs) for up to ms milliseconds. */
static int serve_for(unsigned int ms)
{
	uint64_t end = now_us() + ms * 1000ull;

	while (!quit) {
		uint64_t t = now_us();
		struct pollfd pfd = { .fd = R.srv ? ioserv_fd(R.srv) : -1,
				      .events = POLLIN };
		int ret;

		if (t >= end)
			return 0;
		ret = poll(&pfd, 1, (int)((end - t + 999) / 1000));
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (R.srv && ret > 0 && (ret = ioserv_dispatch(R.srv)) < 0)
			return ret;
	}
	return -EINTR;
}

/* Waits for the guest's answer to seq, serving the window meanwhile (its
 * vCPUs may be waiting on the server). */
static int guest_wait(unsigned long seq, const char *want, char *out,
		      size_t len, unsigned int timeout_s)
{
	char path[96], prefix[32];
	uint64_t end = now_us() + timeout_s * 1000000ull;

	snprintf(path, sizeof(path), "/local/domain/%u/data/xgpumap/result",
		 R.domid);
	snprintf(prefix, sizeof(prefix), "%lu %s", seq, want);
	while (now_us() < end) {
		unsigned int n = 0;
		char *v = xs_read(R.p->xsh, XBT_NULL, path, &n);

		if (v && !strncmp(v, prefix, strlen(prefix))) {
			snprintf(out, len, "%s", v);
			free(v);
			return 0;
		}
		free(v);
		if (serve_for(50))
			return -EINTR;
	}
	snprintf(out, len, "no answer to '%s' in %u s", prefix, timeout_s);
	return -ETIMEDOUT;
}

static uint64_t field(const char *s, const char *name)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(s, key);
	return p ? strtoull(p + strlen(key), NULL, 0) : UINT64_MAX;
}

/* ---- buffers ---- */

static int buf_make(struct vbuf *b)
{
	uint64_t at = 0;
	int ret = drm_buf_alloc(&R.p->gpu, "card0", BLOB_BYTES, XGM_PLACE_VRAM,
				&b->id);

	if (!ret)
		ret = drm_buf_locate(&R.p->gpu, b->id, &at, &b->size);
	if (!ret && b->size < BLOB_BYTES)
		ret = -ENOSPC;
	if (!ret)
		ret = drm_buf_map(&R.p->gpu, (uint32_t)b->id, b->size, &b->va);
	if (ret)
		return ret;
	b->mfn = at >> 12;
	/* Once for the whole test: the first grant of a guest without an
	 * IOMMU resets the memory type of its whole p2m (xen-facts 6). */
	ret = xen_iomem_permission(R.p, R.domid, b->mfn, BLOB_PAGES, true);
	b->permitted = !ret;
	return ret;
}

static void fill(void *va, bool poison)
{
	volatile uint64_t *w = va;

	for (uint64_t i = 0; i < BLOB_BYTES / 8; i++)
		w[i] = poison ? POISON : BASE + i;
}

/*
 * Checks, through dom0's mapping, that buffer b still holds the pattern
 * the guest expects, says where it does not and puts it right, so that
 * each corruption is reported once, at the first check after it. What
 * the guest reads wrong is then told apart from what the buffer holds.
 */
static uint64_t Corrupted;

static void scan(int b, const char *when, int i)
{
	volatile uint64_t *w = R.buf[b].va;
	uint64_t bad = 0;

	for (uint64_t k = 0; k < BLOB_BYTES / 8; k++) {
		uint64_t v = w[k];

		if (v == BASE + k)
			continue;
		if (bad++ < 4)
			say("WARN", "7 buffer %d %s %d: word at 0x%" PRIx64 " holds "
			    "0x%" PRIx64 ", not 0x%" PRIx64, b, when, i, k * 8, v,
			    BASE + k);
		w[k] = BASE + k;
	}
	if (bad)
		say("WARN", "7 buffer %d %s %d: %" PRIu64 " words corrupted (put "
		    "right)", b, when, i, bad);
	Corrupted += bad;
}

/* Copies through dom0's mappings of both buffers. */
static void move_contents(int from, int to)
{
	memcpy(R.buf[to].va, R.buf[from].va, BLOB_BYTES);
}

/*
 * Both loops map through here: frames inside one of the two buffers,
 * which xen_iomem_permission() validated against the GPU when they were
 * made. Validating again on every map would locate every buffer, and
 * locating writes a canary into each one, the one the guest reads too.
 */
static int rig_map(void *arg, uint32_t domid, uint64_t gfn, uint64_t mfn,
		   uint64_t nr, bool add)
{
	for (int i = 0; i < 2; i++)
		if (R.buf[i].permitted && mfn >= R.buf[i].mfn &&
		    mfn - R.buf[i].mfn + nr <= BLOB_PAGES)
			return xen_memory_mapping_checked(R.p, domid, gfn, mfn,
							  nr, add);
	return xgm_fail(-EPERM, "refusing mfn 0x%" PRIx64 "+%" PRIu64
			": not inside a buffer of this test", mfn, nr);
}

static int rig_pause(void *arg, uint32_t domid, bool pause)
{
	int ret = pause ? xc_domain_pause(R.p->xch, domid) :
			  xc_domain_unpause(R.p->xch, domid);

	return ret ? xgm_fail(-errno ?: -EIO, "%spausing d%u: %s",
			      pause ? "" : "un", domid, strerror(errno)) : 0;
}

static int mmio_all(int b, bool add)
{
	uint64_t done = 0;

	while (done < BLOB_PAGES) {
		int ret = rig_map(NULL, R.domid, R.gfn + done,
				  R.buf[b].mfn + done, BLOB_PAGES - done, add);

		if (ret <= 0)
			return ret ? ret : -EIO;
		done += (uint64_t)ret;
	}
	R.mmio_mapped = add;
	return 0;
}

/* Every exit path: the server is disabled and destroyed before anything
 * is unmapped, so no vCPU waits on it; then the mappings and the iomem
 * permission go. */
static void teardown(void)
{
	ioserv_destroy(R.srv);
	R.srv = NULL;
	iofault_destroy(R.fault);
	R.fault = NULL;
	if (R.mmio_mapped && mmio_all(R.cur, false))
		fprintf(stderr, "ioserv-rig: %s\n", xgm_last_error());
	for (int i = 0; i < 2; i++) {
		if (R.buf[i].permitted)
			xen_iomem_permission(R.p, R.domid, R.buf[i].mfn,
					     BLOB_PAGES, false);
		R.buf[i].permitted = false;
		if (R.buf[i].id)
			drm_buf_free(&R.p->gpu, R.buf[i].id);
		R.buf[i].id = 0;
	}
}

/* ---- the two loops ---- */

struct result {
	char line[512];
	uint64_t reads, wrong, ones, pass_min_us, pass_max_us;
	uint64_t move_us[MIGRATIONS];
};

static int loop_start(void)
{
	char res[512];
	unsigned long seq = ++R.seq;

	guest_cmd("%lu %" PRIx64 " %u loop %" PRIx64, seq, R.gfn, BLOB_PAGES,
		  (uint64_t)BASE);
	if (guest_wait(seq, "GUEST_LOOP started", res, sizeof(res), 60)) {
		say("FAIL", "7 the guest's readers did not start: %s", res);
		return -1;
	}
	printf("guest says (%.1f s): %s\n", (now_us() - T0) / 1e6, res);
	/* Let every vCPU touch the blob before the first move. */
	return serve_for(500);
}

static int loop_stop(struct result *r)
{
	unsigned long seq = ++R.seq;

	guest_cmd("%lu 0 0 stop", seq);
	if (guest_wait(seq, "GUEST_LOOP done", r->line, sizeof(r->line), 120)) {
		say("FAIL", "7 the guest's readers did not report: %s", r->line);
		return -1;
	}
	printf("guest says (%.1f s): %s\n", (now_us() - T0) / 1e6, r->line);
	r->reads = field(r->line, "reads");
	r->wrong = field(r->line, "wrong");
	r->ones = field(r->line, "ones");
	r->pass_min_us = field(r->line, "pass_min_us");
	r->pass_max_us = field(r->line, "pass_max_us");
	return r->reads == UINT64_MAX || r->wrong == UINT64_MAX ||
	       r->ones == UINT64_MAX ? -1 : 0;
}

static int migrate_rf(struct result *r, int i)
{
	int to = !R.cur, ret;
	uint64_t t0;

	/* Before the timed move: the guest may read on meanwhile. */
	scan(R.cur, "before revoke-fault move", i);
	t0 = now_us();
	ret = iofault_revoke(R.fault, R.gfn);
	if (!ret) {
		move_contents(R.cur, to);
		ret = iofault_switch(R.fault, R.gfn, R.buf[to].va, R.buf[to].mfn);
	}
	if (ret) {
		say("FAIL", "7 revoke-fault migration %d: %s", i, xgm_last_error());
		return ret;
	}
	r->move_us[i] = now_us() - t0;
	fill(R.buf[R.cur].va, true);
	R.cur = to;
	/* What the copy wrote, while the guest reads it. */
	scan(R.cur, "right after the copy into it, move", i);
	return 0;
}

static int migrate_mmio(struct result *r, int i)
{
	int to = !R.cur, ret;
	uint64_t t0;

	scan(R.cur, "before mmio move", i);
	t0 = now_us();
	ret = mmio_all(R.cur, false);
	/* The copy in pieces, answering the window between them: the
	 * guest reads its gap as all-ones, as plain mmio shows it. */
	for (unsigned int off = 0; !ret && off < BLOB_BYTES; off += MMIO_PIECE) {
		memcpy((char *)R.buf[to].va + off, (char *)R.buf[R.cur].va + off,
		       MMIO_PIECE);
		ret = ioserv_dispatch(R.srv) < 0 ? -EIO : 0;
	}
	/*
	 * The add with the guest paused: on the rig (4.17.7, SVM under TCG)
	 * Xen crashed a guest reading the gap in a tight loop ("domain_crash
	 * called from arch/x86/hvm/svm/svm.c:1786") when an add landed
	 * between a vCPU's nested page fault and Xen's look-up of the gfn,
	 * which then finds p2m_mmio_direct and does not expect it to fault.
	 * A pause waits until every vCPU has left Xen.
	 */
	if (!ret && !R.nopause && xc_domain_pause(R.p->xch, R.domid))
		ret = xgm_fail(-errno, "pausing d%u: %s", R.domid, strerror(errno));
	if (!ret) {
		ret = mmio_all(to, true);
		if (!R.nopause)
			xc_domain_unpause(R.p->xch, R.domid);
	}
	if (ret) {
		say("FAIL", "7 mmio migration %d: %s", i, xgm_last_error());
		return ret;
	}
	r->move_us[i] = now_us() - t0;
	fill(R.buf[R.cur].va, true);
	R.cur = to;
	/* What the copy wrote, while the guest reads it. */
	scan(R.cur, "right after the copy into it, move", i);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t p50(uint64_t *v)
{
	qsort(v, MIGRATIONS, sizeof(*v), cmp_u64);
	return v[MIGRATIONS / 2];
}

/* ---- gap checks, through the server ---- */

static int gap_checks(void)
{
	char res[512];
	uint64_t gap = R.gfn + BLOB_PAGES + 7;
	unsigned long seq = ++R.seq;

	guest_cmd("%lu %" PRIx64 " 1 ones", seq, gap);
	if (guest_wait(seq, "GUEST_READ OK", res, sizeof(res), 60)) {
		say("FAIL", "7 a gap of the window did not read all-ones: %s", res);
		return -1;
	}
	seq = ++R.seq;
	guest_cmd("%lu %" PRIx64 " 1 poke 1234", seq, gap);
	if (guest_wait(seq, "GUEST_POKE done", res, sizeof(res), 60) ||
	    field(res, "read") != UINT64_MAX) {
		say("FAIL", "7 a write to a gap was not dropped: %s", res);
		return -1;
	}
	printf("guest says: %s\n", res);
	return 0;
}

/* With the server gone, the window reads all-ones again: a vCPU must not
 * wait on a server that no longer exists. */
static int after_server(void)
{
	char res[512];
	unsigned long seq = ++R.seq;

	guest_cmd("%lu %" PRIx64 " 1 ones", seq, R.gfn + 3);
	if (guest_wait(seq, "GUEST_READ OK", res, sizeof(res), 30)) {
		say("FAIL", "7 after the server's teardown the blob does not "
		    "read all-ones: %s", res);
		return -1;
	}
	printf("guest says (%.1f s): %s\n", (now_us() - T0) / 1e6, res);
	return 0;
}

/* One server for both loops: in the mmio loop it holds no blob, so it
 * answers the gap all-ones where Xen's null handler would. (With no
 * server at all, two vCPUs reading the unmapped range in a tight loop
 * were both left paused on this Xen under TCG: see the report.) */
static int server_start(void)
{
	int ret = iofault_create(R.domid, rig_map, NULL, &R.fault);

	if (!ret && !R.nopause)
		iofault_set_pause(R.fault, rig_pause);

	if (!ret)
		ret = ioserv_create(R.domid, R.gfn, R.gfn + WINDOW_PAGES - 1,
				    iofault_access, R.fault, &R.srv);
	if (ret) {
		say("FAIL", "7 ioreq server: %s", xgm_last_error());
		return -1;
	}
	say("STEP", "7 ioreq server %u over gfn 0x%" PRIx64 "+0x%x, %u vCPUs",
	    ioserv_id(R.srv), R.gfn, WINDOW_PAGES, ioserv_vcpus(R.srv));
	return gap_checks();
}

static int run_rf(struct result *r, struct ioserv_stats *st,
		  struct iofault_stats *fs, uint64_t *served_moves)
{
	struct iofault_stats before;

	if (iofault_add(R.fault, R.gfn, BLOB_PAGES, R.buf[R.cur].va,
			R.buf[R.cur].mfn)) {
		say("FAIL", "7 revoke-fault blob: %s", xgm_last_error());
		return -1;
	}
	if (loop_start())
		return -1;
	iofault_get_stats(R.fault, &before);
	for (int i = 0; i < MIGRATIONS; i++)
		if (migrate_rf(r, i) || serve_for(150))
			return -1;
	iofault_get_stats(R.fault, fs);
	*served_moves = fs->served - before.served;
	if (loop_stop(r))
		return -1;
	ioserv_get_stats(R.srv, st);
	iofault_get_stats(R.fault, fs);
	/* Disable and destroy before the revoke: nothing waits on it. */
	ioserv_destroy(R.srv);
	R.srv = NULL;
	iofault_destroy(R.fault);
	R.fault = NULL;
	return after_server();
}

static int run_mmio(struct result *r, uint64_t *gap_reads)
{
	struct ioserv_stats a, b;

	if (mmio_all(R.cur, true)) {
		say("FAIL", "7 mmio map: %s", xgm_last_error());
		return -1;
	}
	if (loop_start())
		return -1;
	ioserv_get_stats(R.srv, &a);
	for (int i = 0; i < MIGRATIONS; i++)
		if (migrate_mmio(r, i) || serve_for(150))
			return -1;
	if (loop_stop(r))
		return -1;
	ioserv_get_stats(R.srv, &b);
	*gap_reads = b.gap_reads - a.gap_reads;
	return mmio_all(R.cur, false);
}

static int run(void)
{
	static struct result rf, mm;
	struct ioserv_stats st;
	struct iofault_stats fs;
	uint64_t served_moves = 0, mm_gap = 0;
	bool ok;

	for (int i = 0; i < 2; i++)
		if (buf_make(&R.buf[i])) {
			say("FAIL", "7 VRAM buffer %d: %s", i, xgm_last_error());
			return -1;
		}
	say("STEP", "7 VRAM buffers at mfn 0x%" PRIx64 " and 0x%" PRIx64,
	    R.buf[0].mfn, R.buf[1].mfn);
	fill(R.buf[0].va, false);
	fill(R.buf[1].va, true);
	R.cur = 0;
	scan(0, "after the fill", 0);
	if (server_start() || run_mmio(&mm, &mm_gap) ||
	    run_rf(&rf, &st, &fs, &served_moves))
		return -1;
	scan(R.cur, "after both loops", 0);
	say("TIME", "ioserv revoke-fault x%d: reads=%" PRIu64 " wrong=%" PRIu64
	    " all-ones=%" PRIu64 " served_per_migration=%.1f first_touch_maps=%"
	    PRIu64 " map_2m_us_mean=%" PRIu64 " map_2m_us_max=%" PRIu64
	    " move_us_p50=%" PRIu64 " guest_pass_us_min=%" PRIu64 " max=%" PRIu64,
	    MIGRATIONS, rf.reads, rf.wrong, rf.ones,
	    (double)served_moves / MIGRATIONS, fs.first_touch_maps,
	    fs.first_touch_maps ? fs.map_ns_total / fs.first_touch_maps / 1000 : 0,
	    fs.map_ns_max / 1000, p50(rf.move_us), rf.pass_min_us, rf.pass_max_us);
	say("TIME", "ioserv server: reads=%" PRIu64 " writes=%" PRIu64 " ptr=%"
	    PRIu64 " bytes_read=%" PRIu64 " invalidates=%" PRIu64 " gap_reads=%"
	    PRIu64 " gap_writes=%" PRIu64 " bad=%" PRIu64 " other=%" PRIu64
	    " map_errors=%" PRIu64 " revokes=%" PRIu64, st.reads, st.writes,
	    st.ptr_reqs, st.bytes_read, st.invalidates, st.gap_reads,
	    st.gap_writes, st.bad, st.other, fs.map_errors, fs.revokes);
	say("TIME", "ioserv mmio x%d: reads=%" PRIu64 " wrong=%" PRIu64
	    " all-ones=%" PRIu64 " (gap answered by the server: %" PRIu64
	    ") move_us_p50=%" PRIu64 " guest_pass_us_min=%" PRIu64 " max=%"
	    PRIu64, MIGRATIONS, mm.reads, mm.wrong, mm.ones, mm_gap,
	    p50(mm.move_us), mm.pass_min_us, mm.pass_max_us);
	say("TIME", "ioserv side by side, %d migrations of 4M while %s vCPUs read: "
	    "revoke-fault %" PRIu64 " reads / %" PRIu64 " wrong / %" PRIu64
	    " all-ones | mmio %" PRIu64 " reads / %" PRIu64 " wrong / %" PRIu64
	    " all-ones", MIGRATIONS, "2", rf.reads, rf.wrong, rf.ones, mm.reads,
	    mm.wrong, mm.ones);
	say("TIME", "ioserv buffer words found corrupted in dom0's checks: %" PRIu64,
	    Corrupted);
	ok = !rf.wrong && !rf.ones && !mm.wrong && rf.reads && mm.reads &&
	     fs.first_touch_maps >= MIGRATIONS && !fs.map_errors;
	/* (At least one first touch a move: readers slowed by faults may
	 * not reach both chunks within 150 ms.) */
	if (!ok && (rf.wrong || mm.wrong) && Corrupted) {
		/* Wrong data dom0's own check found in its own buffer, where
		 * only dom0's copy writes: the emulator's (see the top). */
		say("EMUFAULT", "7 dom0's copies corrupted %" PRIu64 " words of its "
		    "own VRAM buffers (the guest read them: %" PRIu64 " + %" PRIu64
		    " wrong)", Corrupted, mm.wrong, rf.wrong);
		return -1;
	}
	if (!ok) {
		say("FAIL", "7 revoke-fault must show no wrong and no all-ones "
		    "read, mmio no wrong read, and every move must fault back in");
		return -1;
	}
	say("PASS", "7 ioreq server: %d revoke-fault migrations with no wrong or "
	    "all-ones read; %d mmio migrations with %" PRIu64 " all-ones reads",
	    MIGRATIONS, MIGRATIONS, mm.ones);
	return 0;
}

static int poison_frames(uint64_t mfn, uint64_t pages)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	volatile uint64_t *m;

	if (fd < 0 || !pages || pages > BLOB_PAGES * 64) {
		fprintf(stderr, "ioserv-rig: poison: /dev/mem: %s\n", strerror(errno));
		return 1;
	}
	m = mmap(NULL, pages << 12, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)(mfn << 12));
	close(fd);
	if (m == MAP_FAILED) {
		fprintf(stderr, "ioserv-rig: poison: mmap of mfn 0x%" PRIx64 ": %s\n",
			mfn, strerror(errno));
		return 1;
	}
	for (uint64_t p = 0; p < pages; p++)
		m[p * 512] = POISON;
	munmap((void *)m, pages << 12);
	return 0;
}

/* A document's integer field, 0 when it has none. */
static uint64_t doc_u64(json_t *o, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(o, key));
}

/*
 * N migrations of BLOB through xgpumapd, one request each (the daemon
 * answers the guest between them), each leaving its old frames poisoned;
 * one process for all of them, so that no busybox command (which TCG
 * crashes once in a while) stands between two moves.
 */
static int daemon_moves(const char *blob, unsigned int n)
{
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_XEN,
		 .access = XGM_ACCESS_WRITE);
	XGM_OPTS(xgm_migrate_opts, mo, .to = "vram");
	static uint64_t us[MIGRATIONS];
	struct xgm_ctx *ctx;
	uint64_t old = 0, pages = 0;
	json_t *v = NULL;
	int ret = 0;

	if (!n || n > MIGRATIONS || xgm_ctx_open(&o, &ctx)) {
		say("FAIL", "7b %u moves through xgpumapd: %s", n, xgm_last_error());
		return 1;
	}
	if (!xgm_blob_show(ctx, blob, &v)) {
		json_t *b = json_array_get(json_object_get(v, "backing"), 0);

		old = doc_u64(b, "mfn");
		pages = doc_u64(v, "frames");
	}
	json_decref(v);
	for (unsigned int i = 0; !ret && i < n && !quit; i++) {
		uint64_t t0 = now_us(), now;

		v = NULL;
		ret = xgm_blob_migrate(ctx, blob, &mo, &v);
		us[i] = now_us() - t0;
		now = doc_u64(json_array_get(json_object_get(v, "backing"), 0), "mfn");
		json_decref(v);
		if (ret || !now || now == old || !pages) {
			say("FAIL", "7b move %u of %s through xgpumapd: %s", i, blob,
			    ret ? xgm_last_error() : "the blob did not move");
			ret = -1;
			break;
		}
		ret = poison_frames(old, pages);
		old = now;
		usleep(100000);
	}
	xgm_ctx_close(ctx);
	if (ret || quit)
		return 1;
	say("TIME", "7b %u moves of %s through xgpumapd: move_us_p50=%" PRIu64,
	    n, blob, (qsort(us, n, sizeof(*us), cmp_u64), us[n / 2]));
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int ret;

	if (argc == 4 && !strcmp(argv[1], "poison"))
		return poison_frames(strtoull(argv[2], NULL, 0),
				     strtoull(argv[3], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "moves")) {
		R.mode = argv[2];
		xgm_set_print(lib_print, NULL);
		return daemon_moves(argv[3], (unsigned int)strtoul(argv[4], NULL, 0));
	}

	if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "nopause"))) {
		fprintf(stderr, "usage: ioserv-rig MODE DOMID WINDOW_GFN [nopause]\n");
		return 2;
	}
	R.nopause = argc == 5;
	R.mode = argv[1];
	R.domid = (uint32_t)strtoul(argv[2], NULL, 0);
	R.gfn = strtoull(argv[3], NULL, 16);
	if (!R.domid || R.gfn & (IOFAULT_CHUNK_PAGES - 1)) {
		fprintf(stderr, "ioserv-rig: a guest domid and a 2M-aligned gfn\n");
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	xgm_set_print(lib_print, NULL);
	R.p = calloc(1, sizeof(*R.p));
	if (!R.p)
		return 1;
	R.p->lock_fd = -1;
	drm_gpu_init(&R.p->gpu);
	R.p->xch = xc_interface_open(NULL, NULL, 0);
	R.p->xsh = xs_open(0);
	if (!R.p->xch || !R.p->xsh) {
		say("FAIL", "7 cannot open libxenctrl or xenstore");
		return 1;
	}
	T0 = now_us();
	ret = run();
	teardown();
	if (quit)
		say("FAIL", "7 stopped by signal %d", (int)quit);
	drm_gpu_close(&R.p->gpu);
	xs_close(R.p->xsh);
	xc_interface_close(R.p->xch);
	free(R.p);
	return ret || quit ? 1 : 0;
}
