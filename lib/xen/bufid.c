// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The xen backend's buffer ids, and why they carry an epoch.
 *
 * A buffer here lives as long as the file that holds it: a DRM file of
 * the context (lib/drm), or the copy of a dma-buf fd it keeps (dmabuf.c).
 * Those are xgpumapd's and die with it. The numbers inside them do not:
 * a daemon started again gets the lowest free framebuffer ids and its
 * GEM handles start at 1, so a new buffer would carry the very id that a
 * record of a dead daemon's buffer holds, and recover, asking whether
 * that buffer is still there, would be told yes and keep the guest
 * mapped to frames that now hold someone else's buffer. So every id
 * carries the epoch of the context that made it: one more, in xenstore,
 * for each context that makes or takes its first buffer, recorded with
 * the process that has it (XS_HV_ROOT/epoch-owner/N = "PID START", as
 * ioreq servers are, ioreap.c). An id of another epoch is gone, whatever
 * its numbers, unless that process still runs (an engine run in a VMM's
 * own process, opts.daemon ""): then it is -EREMOTE, another's to touch,
 * and recover leaves it be. The record goes when its context closes.
 *
 *   bits 48..62  epoch (1..32767; the id stays a JSON integer, < 2^63)
 *   bits 46..47  kind: the VRAM card's, the system-RAM card's, a dma-buf
 *   bits 24..45  framebuffer id (DRM); 0 for a dma-buf
 *   bits  0..23  GEM handle (DRM); dma-buf slot + 1
 *
 * After 32767 the epoch starts at 1 again, passing over any a running
 * process still holds. An id of a reused epoch could name a new buffer
 * only if its record had outlived 32767 contexts that took epochs, each
 * daemon among them recovering as it started (which drops it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/proc.h"
#include "xen/xen.h"

#define EPOCH_SHIFT 48
#define EPOCH_MAX 0x7fffULL
#define KIND_SHIFT 46
#define FB_SHIFT 24
#define FB_MAX ((1ULL << (KIND_SHIFT - FB_SHIFT)) - 1)
#define LOW_MAX ((1ULL << FB_SHIFT) - 1)
#define EPOCH_PATH XS_HV_ROOT "/epoch"
#define OWNER_DIR XS_HV_ROOT "/epoch-owner"

static void owner_path(uint64_t epoch, char *buf, size_t len)
{
	snprintf(buf, len, OWNER_DIR "/%" PRIu64, epoch);
}

/* Does the process recorded at path (in t) still run? */
static bool recorded_runs(const struct xen_priv *p, xs_transaction_t t,
			  const char *path, long *pid)
{
	char *v;
	unsigned int len;
	uint64_t start;
	bool runs;

	v = xs_read(p->xsh, t, path, &len);
	runs = v && sscanf(v, "%ld %" SCNu64, pid, &start) == 2 &&
	       xgm_proc_alive(*pid, start);
	free(v);
	return runs;
}

/* The next epoch no running process has, and its owner record, in one
 * transaction: after a wrap, an epoch still held is passed over, never
 * shared. Without the record another context would take this one's
 * buffers for gone, so no buffer is made without it. */
static int take_epoch(struct xen_priv *p, uint64_t *epoch)
{
	char path[96], self[48], text[24];
	long pid;

	xgm_proc_self(self, sizeof(self));
	for (int tries = 0; tries < 32; tries++) {
		xs_transaction_t t = xs_transaction_start(p->xsh);
		unsigned long long last = 0;
		unsigned int len;
		uint64_t e, k;
		char *v;

		if (t == XBT_NULL)
			return xgm_fail(-errno ?: -EIO, "xenstore: cannot start a "
					"transaction for %s: %s", EPOCH_PATH,
					strerror(errno));
		v = xs_read(p->xsh, t, EPOCH_PATH, &len);
		if (!v || sscanf(v, "%llu", &last) != 1 || last > EPOCH_MAX)
			last = 0;
		free(v);
		e = last;
		for (k = 0; k < EPOCH_MAX; k++) {
			e = e % EPOCH_MAX + 1;
			owner_path(e, path, sizeof(path));
			if (!recorded_runs(p, t, path, &pid))
				break;
		}
		snprintf(text, sizeof(text), "%" PRIu64, e);
		if (k == EPOCH_MAX || !xs_write(p->xsh, t, EPOCH_PATH, text, strlen(text)) ||
		    !xs_write(p->xsh, t, path, self, strlen(self))) {
			int err = k == EPOCH_MAX ? EBUSY : errno;

			xs_transaction_end(p->xsh, t, true);
			return xgm_fail(-err, "xenstore: cannot take an epoch for "
					"buffer ids: %s", k == EPOCH_MAX ?
					"every one is held by a running process" :
					strerror(err));
		}
		if (xs_transaction_end(p->xsh, t, false)) {
			*epoch = e;
			return 0;
		}
		if (errno != EAGAIN)
			return xgm_fail(-errno, "xenstore: %s: %s", EPOCH_PATH,
					strerror(errno));
	}
	return xgm_fail(-EAGAIN, "xenstore: %s kept conflicting with other "
			"writers", EPOCH_PATH);
}

static int epoch_of(struct xen_priv *p)
{
	return p->epoch ? 0 : take_epoch(p, &p->epoch);
}

void xen_bufid_close(struct xen_priv *p)
{
	char path[96];

	if (!p->epoch || !p->xsh)
		return;
	owner_path(p->epoch, path, sizeof(path));
	if (!xs_rm(p->xsh, XBT_NULL, path) && errno != ENOENT)
		xgm_warn("xenstore rm %s: %s", path, strerror(errno));
	p->epoch = 0;
}

int xen_bufid_make(struct xen_priv *p, enum xen_buf_kind kind, uint32_t fb,
		   uint64_t low, uint64_t *id)
{
	int ret = epoch_of(p);

	if (ret)
		return ret;
	if (fb > FB_MAX || low > LOW_MAX || !low)
		return xgm_fail(-EOVERFLOW, "a buffer of framebuffer %" PRIu32
				" and handle %" PRIu64 " does not fit an id (at "
				"most %llu and %llu)", fb, low, FB_MAX, LOW_MAX);
	*id = p->epoch << EPOCH_SHIFT | (uint64_t)kind << KIND_SHIFT |
	      (uint64_t)fb << FB_SHIFT | low;
	return 0;
}

int xen_bufid_parse(const struct xen_priv *p, uint64_t id,
		    enum xen_buf_kind *kind, uint32_t *fb, uint64_t *low)
{
	uint64_t epoch = id >> EPOCH_SHIFT;
	char path[96];
	long pid;

	*kind = (enum xen_buf_kind)(id >> KIND_SHIFT & 3);
	*fb = (uint32_t)(id >> FB_SHIFT & FB_MAX);
	*low = id & LOW_MAX;
	if (!epoch || epoch > EPOCH_MAX || *kind > XEN_BUF_DMABUF || !*low)
		return xgm_fail(-ENOENT, "no buffer %#" PRIx64 ": not an id of "
				"the xen backend", id);
	if (epoch == p->epoch)
		return 0;
	owner_path(epoch, path, sizeof(path));
	if (p->xsh && recorded_runs(p, XBT_NULL, path, &pid))
		return xgm_fail(-EREMOTE, "buffer %#" PRIx64 " is process %ld's "
				"(epoch %" PRIu64 "), which runs: its files hold it, "
				"not this context's", id, pid, epoch);
	return xgm_fail(-ENOENT, "buffer %#" PRIx64 " was made by an xgpumap "
			"process that has exited (epoch %" PRIu64 "; this one's "
			"is %" PRIu64 "%s): it went with that process's files",
			id, epoch, p->epoch, p->epoch ? "" : ", none made");
}
