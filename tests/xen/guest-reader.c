// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The guest's side of the end-to-end test: reads, through the guest's own
 * p2m, the gfns dom0 names, and checks every page.
 *
 * It polls its xenstore key data/xgpumap/cmd (talking to /dev/xen/xenbus
 * directly, so it needs nothing but this static binary) for
 *   "SEQ GFN PAGES tags FIRST_TAG"  every page's first word is FIRST_TAG+page
 *   "SEQ GFN PAGES ones"            every page reads all-ones (nothing mapped)
 *   "SEQ 0 0 quit"
 * mmaps /dev/mem at GFN << 12 (the kernel has iomem=relaxed; read() of
 * /dev/mem stops at the end of RAM, so it must be mmap), and prints and
 * writes back to data/xgpumap/result "SEQ GUEST_READ OK ..." or
 * "SEQ GUEST_READ FAIL ...".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
		if (!strcmp(mode, "window")) {
			window(seq, gfn);
			continue;
		}
		check(seq, gfn, pages, mode, first);
	}
}
