// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The guest's side of the end-to-end test: reads, through the guest's own
 * p2m, the gfns dom0 names, and checks every page.
 *
 * It polls its xenstore key data/xgpumap/cmd (talking to /dev/xen/xenbus
 * directly, so it needs nothing but this static binary) for
 *   "SEQ GFN PAGES tags FIRST_TAG"  every page's first word is FIRST_TAG+page
 *   "SEQ GFN PAGES ones"            every page reads all-ones (nothing mapped)
 *   "SEQ GFN PAGES loop BASE"       one reader per vCPU reads the blob in a
 *                                   tight loop (word at byte offset o must
 *                                   be BASE + o / 8) until "SEQ 0 0 stop",
 *                                   then reports reads, wrong and all-ones
 *   "SEQ GFN PAGES tagloop TAG"     the same, reading each page's first
 *                                   word, which must be TAG + page (what
 *                                   xgpumap fill writes)
 *   "SEQ GFN 1 poke VALUE"          writes VALUE to the page's first word and
 *                                   reports what reads back
 *   "SEQ GFN PAGES iotime TAG"      times 4-byte and then 64-byte reads of
 *                                   each page's start, a few seconds each
 *                                   (the cost of a served read), checking
 *                                   each against TAG + page
 *   "SEQ 0 0 quit"
 * mmaps /dev/mem at GFN << 12 (the kernel has iomem=relaxed; read() of
 * /dev/mem stops at the end of RAM, so it must be mmap), and prints and
 * writes back to data/xgpumap/result "SEQ GUEST_READ OK ..." or
 * "SEQ GUEST_READ FAIL ...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

static int xb = -1;

static int xs_call(uint32_t type, const char *payload, size_t len, char *out,
		   size_t outlen)
{
	struct xsd_sockmsg m = { .type = type, .req_id = 1, .len = (uint32_t)len };
	char buf[XENSTORE_PAYLOAD_MAX + sizeof(m)];
	ssize_t n;

	if (len > XENSTORE_PAYLOAD_MAX)
		return -1;
	memcpy(buf, &m, sizeof(m));
	memcpy(buf + sizeof(m), payload, len);
	if (write(xb, buf, sizeof(m) + len) != (ssize_t)(sizeof(m) + len))
		return -1;
	n = read(xb, buf, sizeof(buf));
	if (n < (ssize_t)sizeof(m))
		return -1;
	memcpy(&m, buf, sizeof(m));
	if (m.type == XS_ERROR || m.len > n - sizeof(m))
		return -1;
	if (out) {
		size_t k = m.len < outlen - 1 ? m.len : outlen - 1;

		memcpy(out, buf + sizeof(m), k);
		out[k] = '\0';
	}
	return 0;
}

static int xs_read_key(const char *path, char *out, size_t len)
{
	return xs_call(XS_READ, path, strlen(path) + 1, out, len);
}

static void xs_write_key(const char *path, const char *val)
{
	char buf[512];
	size_t p = strlen(path) + 1, v = strlen(val);

	if (p + v > sizeof(buf))
		return;
	memcpy(buf, path, p);
	memcpy(buf + p, val, v);
	xs_call(XS_WRITE, buf, p + v, NULL, 0);
}

static void check(unsigned long seq, uint64_t gfn, uint64_t pages,
		  const char *mode, uint64_t first)
{
	char res[256];
	uint64_t bad = 0, first_bad = 0, got = 0, want = 0;
	size_t len = pages * 4096;
	volatile uint64_t *m;
	bool ones = !strcmp(mode, "ones");
	int fd = open("/dev/mem", O_RDONLY | O_SYNC);

	if (fd < 0 || !pages) {
		snprintf(res, sizeof(res), "%lu GUEST_READ FAIL cannot open "
			 "/dev/mem: %s", seq, strerror(errno));
		goto out;
	}
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)(gfn << 12));
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(res, sizeof(res), "%lu GUEST_READ FAIL mmap of gfn "
			 "0x%" PRIx64 ": %s", seq, gfn, strerror(errno));
		goto out;
	}
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t v = m[p * 512], w = ones ? UINT64_MAX : first + p;

		if (v != w && !bad++) {
			first_bad = p;
			got = v;
			want = w;
		}
	}
	munmap((void *)m, len);
	if (bad)
		snprintf(res, sizeof(res), "%lu GUEST_READ FAIL gfn=0x%" PRIx64
			 " pages=%" PRIu64 " mode=%s bad=%" PRIu64 " first_bad=%"
			 PRIu64 " got=0x%" PRIx64 " want=0x%" PRIx64, seq, gfn,
			 pages, mode, bad, first_bad, got, want);
	else
		snprintf(res, sizeof(res), "%lu GUEST_READ OK gfn=0x%" PRIx64
			 " pages=%" PRIu64 " mode=%s first=0x%" PRIx64, seq, gfn,
			 pages, mode, ones ? UINT64_MAX : first);
out:
	printf("%s\n", res);
	fflush(stdout);
	xs_write_key("data/xgpumap/result", res);
}

/* Reads the blob window dom0 published under this guest's device path
 * and checks that gfn lies inside it: the guest learns where its blobs
 * appear without being told on the side. */
static void window(unsigned long seq, uint64_t gfn)
{
	char val[128] = "", res[256];
	uint64_t base = 0, nr = 0;

	if (xs_read_key("device/xgpumap/window", val, sizeof(val)) ||
	    sscanf(val, "%" SCNx64 " %" SCNx64, &base, &nr) != 2)
		snprintf(res, sizeof(res), "%lu GUEST_WINDOW FAIL cannot read "
			 "device/xgpumap/window ('%s')", seq, val);
	else if (gfn < base || gfn >= base + nr)
		snprintf(res, sizeof(res), "%lu GUEST_WINDOW FAIL gfn 0x%" PRIx64
			 " is outside the window %s", seq, gfn, val);
	else
		snprintf(res, sizeof(res), "%lu GUEST_WINDOW OK %s", seq, val);
	printf("%s\n", res);
	fflush(stdout);
	xs_write_key("data/xgpumap/result", res);
}

/* ---- the tight loop of the migration tests ---- */

#define MAX_READERS 8

struct reader {
	pthread_t t;
	int cpu;
	volatile const uint64_t *m;
	uint64_t words, base;
	bool tags;               /* page p's first word is base + p */
	uint64_t reads, wrong, ones, first_wrong, first_wrong_at;
	uint64_t min_pass_ns, max_pass_ns;
};

static volatile int loop_stop;

static uint64_t ns_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One pass reads one word of every page, at an offset that moves each
 * pass and differs between readers; a pass that waited on a fault shows
 * in max_pass_ns. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t pages = r->words / 512, k = (uint64_t)r->cpu * 256;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	r->min_pass_ns = UINT64_MAX;
	while (!loop_stop) {
		uint64_t t0 = ns_now(), dt;

		for (uint64_t p = 0; p < pages; p++) {
			uint64_t w = r->tags ? p * 512 : p * 512 + (k & 511);
			uint64_t v = r->m[w];

			r->reads++;
			if (v == r->base + (r->tags ? p : w))
				continue;
			if (v == UINT64_MAX) {
				r->ones++;
			} else if (!r->wrong++) {
				r->first_wrong = v;
				r->first_wrong_at = w * 8;
			}
		}
		dt = ns_now() - t0;
		if (dt < r->min_pass_ns)
			r->min_pass_ns = dt;
		if (dt > r->max_pass_ns)
			r->max_pass_ns = dt;
		k++;
	}
	return NULL;
}

static volatile uint64_t *map_mem(uint64_t gfn, uint64_t pages, int prot)
{
	int fd = open("/dev/mem", (prot & PROT_WRITE ? O_RDWR : O_RDONLY) | O_SYNC);
	void *m;

	if (fd < 0)
		return NULL;
	m = mmap(NULL, pages * 4096, prot, MAP_SHARED, fd, (off_t)(gfn << 12));
	close(fd);
	return m == MAP_FAILED ? NULL : m;
}

static void reply(const char *res)
{
	printf("%s\n", res);
	fflush(stdout);
	xs_write_key("data/xgpumap/result", res);
}

/* Runs the readers until dom0 says stop; the report carries the stop's
 * seq, which is what dom0 waits for, and so does the return (the stop is
 * done with: read again, it would be taken for a command of its own). */
static unsigned long loop(unsigned long seq, uint64_t gfn, uint64_t pages,
			  uint64_t base, bool tags)
{
	struct reader r[MAX_READERS];
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	volatile uint64_t *m = map_mem(gfn, pages, PROT_READ);
	uint64_t reads = 0, wrong = 0, ones = 0, minp = UINT64_MAX, maxp = 0;
	char res[512], cmd[256];
	unsigned long stop = 0;
	int first = -1;

	if (!m || !pages) {
		snprintf(res, sizeof(res), "%lu GUEST_LOOP FAIL mmap of gfn 0x%"
			 PRIx64 ": %s", seq, gfn, strerror(errno));
		reply(res);
		return seq;
	}
	if (n < 1)
		n = 1;
	if (n > MAX_READERS)
		n = MAX_READERS;
	loop_stop = 0;
	for (long i = 0; i < n; i++) {
		r[i] = (struct reader){ .cpu = (int)i, .m = m, .base = base,
					.words = pages * 512, .tags = tags };
		pthread_create(&r[i].t, NULL, reader_main, &r[i]);
	}
	snprintf(res, sizeof(res), "%lu GUEST_LOOP started readers=%ld", seq, n);
	reply(res);
	/* The readers spin; this thread only polls for dom0's stop, and
	 * says every few seconds how far they are (on the console: what a
	 * failed run shows of the guest). */
	for (unsigned int tick = 1; !stop; tick++) {
		unsigned long s = 0;

		usleep(100000);
		if (!(tick % 50))
			printf("guest-reader: loop %lu: reads %" PRIu64 " + %" PRIu64
			       ", ones %" PRIu64 " + %" PRIu64 "\n", seq, r[0].reads,
			       n > 1 ? r[1].reads : 0, r[0].ones,
			       n > 1 ? r[1].ones : 0);
		if (!xs_read_key("data/xgpumap/cmd", cmd, sizeof(cmd)) &&
		    strstr(cmd, " stop") && sscanf(cmd, "%lu", &s) == 1 &&
		    s != seq)
			stop = s;
	}
	loop_stop = 1;
	for (long i = 0; i < n; i++) {
		pthread_join(r[i].t, NULL);
		reads += r[i].reads;
		ones += r[i].ones;
		if (r[i].wrong && first < 0)
			first = (int)i;
		wrong += r[i].wrong;
		if (r[i].min_pass_ns < minp)
			minp = r[i].min_pass_ns;
		if (r[i].max_pass_ns > maxp)
			maxp = r[i].max_pass_ns;
	}
	munmap((void *)m, pages * 4096);
	snprintf(res, sizeof(res), "%lu GUEST_LOOP done readers=%ld reads=%" PRIu64
		 " wrong=%" PRIu64 " ones=%" PRIu64 " pass_min_us=%" PRIu64
		 " pass_max_us=%" PRIu64 " first_wrong=0x%" PRIx64 " at=0x%" PRIx64,
		 stop, n, reads, wrong, ones, minp / 1000, maxp / 1000,
		 first < 0 ? 0 : r[first].first_wrong,
		 first < 0 ? 0 : r[first].first_wrong_at);
	reply(res);
	return stop;
}

static void poke(unsigned long seq, uint64_t gfn, uint64_t value)
{
	volatile uint64_t *m = map_mem(gfn, 1, PROT_READ | PROT_WRITE);
	char res[256];

	if (!m) {
		snprintf(res, sizeof(res), "%lu GUEST_POKE FAIL mmap of gfn 0x%"
			 PRIx64 ": %s", seq, gfn, strerror(errno));
	} else {
		m[0] = value;
		snprintf(res, sizeof(res), "%lu GUEST_POKE done wrote=0x%" PRIx64
			 " read=0x%" PRIx64, seq, value, m[0]);
		munmap((void *)m, 4096);
	}
	reply(res);
}

/* One timed pass of each read size, IOTIME_NS long: with every access
 * trapped to dom0's server (ioreq), a read costs ~10^5 times a mapped
 * one, so a count of reads says nothing and a time does. */
#define IOTIME_NS 3000000000ull

static uint64_t time_reads(volatile uint8_t *m, uint64_t pages, uint64_t tag,
			   size_t size, uint64_t *wrong, uint64_t *ns)
{
	uint64_t n = 0, t0 = ns_now(), dt = 0;

	while (dt < IOTIME_NS) {
		for (int k = 0; k < 16; k++, n++) {
			uint64_t p = n % pages, want = tag + p;
			volatile uint8_t *at = m + p * 4096;
			uint64_t got;

			if (size == 4) {
				got = *(volatile uint32_t *)at;
				want = (uint32_t)want;
			} else {
				uint64_t line[8];

				/* As the compiler copies 64 bytes: vector loads. */
				memcpy(line, (const void *)at, sizeof(line));
				got = line[0];
			}
			*wrong += got != want;
		}
		dt = ns_now() - t0;
	}
	*ns = dt;
	return n;
}

static void iotime(unsigned long seq, uint64_t gfn, uint64_t pages, uint64_t tag)
{
	volatile uint8_t *m = pages ? (volatile uint8_t *)map_mem(gfn, pages,
								     PROT_READ) : NULL;
	uint64_t wrong = 0, ns4, ns64, n4, n64;
	char res[256];

	if (!m) {
		snprintf(res, sizeof(res), "%lu GUEST_IOTIME FAIL mmap of gfn 0x%"
			 PRIx64 ": %s", seq, gfn, strerror(errno));
		reply(res);
		return;
	}
	n4 = time_reads(m, pages, tag, 4, &wrong, &ns4);
	n64 = time_reads(m, pages, tag, 64, &wrong, &ns64);
	munmap((void *)m, pages * 4096);
	snprintf(res, sizeof(res), "%lu GUEST_IOTIME %s reads4=%" PRIu64
		 " ns4=%" PRIu64 " reads64=%" PRIu64 " ns64=%" PRIu64 " wrong=%"
		 PRIu64, seq, wrong ? "FAIL" : "OK", n4, ns4 / n4, n64,
		 ns64 / n64, wrong);
	reply(res);
}

int main(void)
{
	unsigned long last = 0;

	for (int i = 0; i < 300 && xb < 0; i++) {
		xb = open("/dev/xen/xenbus", O_RDWR);
		if (xb < 0)
			usleep(100000);
	}
	if (xb < 0) {
		perror("guest-reader: /dev/xen/xenbus");
		return 1;
	}
	printf("guest-reader: ready\n");
	fflush(stdout);
	xs_write_key("data/xgpumap/ready", "1");
	for (;;) {
		char cmd[256], mode[16] = "";
		unsigned long seq;
		uint64_t gfn, pages, first = 0;

		usleep(200000);
		if (xs_read_key("data/xgpumap/cmd", cmd, sizeof(cmd)))
			continue;
		if (sscanf(cmd, "%lu %" SCNx64 " %" SCNu64 " %15s %" SCNx64, &seq,
			   &gfn, &pages, mode, &first) < 4 || seq == last)
			continue;
		last = seq;
		if (!strcmp(mode, "quit"))
			return 0;
		if (!strcmp(mode, "loop") || !strcmp(mode, "tagloop")) {
			last = loop(seq, gfn, pages, first, !strcmp(mode, "tagloop"));
			continue;
		}
		if (!strcmp(mode, "poke")) {
			poke(seq, gfn, first);
			continue;
		}
		if (!strcmp(mode, "iotime")) {
			iotime(seq, gfn, pages, first);
			continue;
		}
		if (!strcmp(mode, "window")) {
			window(seq, gfn);
			continue;
		}
		check(seq, gfn, pages, mode, first);
	}
}
