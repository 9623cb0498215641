// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The mmio strategy's two hypercalls, and the guard in front of them.
 *
 * Xen maps whatever frame dom0 names, RAM included (dom0's iomem rangeset
 * covers all of memory; memory_mapping takes no page reference): the rig
 * once put machine frame 0 into a guest 1280 times. So every frame is
 * checked against the GPU side (inside a GPU BAR, inside a buffer
 * xgpumap allocated and located) before a grant of permission or a
 * mapping reaches Xen, and a removal must match what this backend itself
 * recorded as mapped.
 *
 * The record (XS_HV_ROOT/map/DOMID/GFN = "MFN NR", hex) is also what
 * p2m_walk reports on hosts whose p2m Xen cannot dump (AMD NPT).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/plan.h"
#include "xen/xen.h"

/* Xen's order rule and its 64 updates a call are the engine's (plan.h). */
unsigned int xen_mmio_order(uint64_t gfn, uint64_t mfn, uint64_t nr)
{
	return plan_next_order(gfn, mfn, nr, PLAN_UP_TO_2M);
}

/* The entries Xen writes for a run in a clean range (mmio_order()); the
 * final call of a mapping is estimated so, since it reports no count. */
uint64_t xen_mmio_entries(uint64_t gfn, uint64_t mfn, uint64_t nr)
{
	uint64_t done = 0, e = 0;

	while (done < nr) {
		done += 1ULL << xen_mmio_order(gfn + done, mfn + done, nr - done);
		e++;
	}
	return e;
}

static void dom_dir(char *buf, size_t len, uint32_t domid)
{
	snprintf(buf, len, XS_HV_ROOT "/map/%u", domid);
}

int xen_map_records(struct xen_priv *p, uint32_t domid,
		    struct xen_map_rec **out, size_t *count)
{
	char dir[96], path[160], **names;
	unsigned int n = 0, len;
	struct xen_map_rec *r;
	size_t k = 0;

	*out = NULL;
	*count = 0;
	dom_dir(dir, sizeof(dir), domid);
	names = xs_directory(p->xsh, XBT_NULL, dir, &n);
	if (!names)
		return errno == ENOENT ? 0 :
		       xgm_fail(-errno, "xenstore directory %s: %s", dir,
				strerror(errno));
	r = calloc(n ? n : 1, sizeof(*r));
	if (!r) {
		free(names);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++) {
		char *v, *end;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		v = xs_read(p->xsh, XBT_NULL, path, &len);
		if (!v)
			continue;
		/* Records are dom0-only, but parse them as untrusted all the
		 * same: a bad one is skipped, never half-used. */
		r[k].gfn = strtoull(names[i], &end, 16);
		if (*end || sscanf(v, "%" SCNx64 " %" SCNx64, &r[k].mfn, &r[k].nr) != 2 ||
		    !r[k].nr || r[k].gfn + r[k].nr < r[k].gfn) {
			xgm_warn("xenstore: ignoring bad mapping record %s", path);
			free(v);
			continue;
		}
		free(v);
		k++;
	}
	free(names);
	/* Insertion sort by gfn: a domain has a handful of records. */
	for (size_t i = 1; i < k; i++) {
		struct xen_map_rec t = r[i];
		size_t j = i;

		for (; j > 0 && r[j - 1].gfn > t.gfn; j--)
			r[j] = r[j - 1];
		r[j] = t;
	}
	*out = r;
	*count = k;
	return 0;
}

static int rec_write(struct xen_priv *p, xs_transaction_t t, uint32_t domid,
		     uint64_t gfn, uint64_t mfn, uint64_t nr)
{
	char dir[96], path[160], v[64];

	dom_dir(dir, sizeof(dir), domid);
	snprintf(path, sizeof(path), "%s/%" PRIx64, dir, gfn);
	snprintf(v, sizeof(v), "%" PRIx64 " %" PRIx64, mfn, nr);
	return xs_write(p->xsh, t, path, v, strlen(v)) ? 0 : -errno;
}

static int rec_rm(struct xen_priv *p, xs_transaction_t t, uint32_t domid,
		  uint64_t gfn)
{
	char dir[96], path[160];

	dom_dir(dir, sizeof(dir), domid);
	snprintf(path, sizeof(path), "%s/%" PRIx64, dir, gfn);
	return xs_rm(p->xsh, t, path) ? 0 : -errno;
}

/*
 * Applies an add or a removal to the record, in one transaction. A
 * removal trims the records it overlaps and keeps what sticks out.
 */
static int record(struct xen_priv *p, uint32_t domid, uint64_t gfn,
		  uint64_t mfn, uint64_t nr, bool add)
{
	for (int tries = 0; tries < 32; tries++) {
		struct xen_map_rec *r;
		size_t n;
		xs_transaction_t t;
		int ret = xen_map_records(p, domid, &r, &n);

		if (ret)
			return ret;
		t = xs_transaction_start(p->xsh);
		if (t == XBT_NULL) {
			free(r);
			return -errno;
		}
		if (add) {
			ret = rec_write(p, t, domid, gfn, mfn, nr);
		} else {
			for (size_t i = 0; !ret && i < n; i++) {
				uint64_t a = r[i].gfn, e = r[i].gfn + r[i].nr;

				if (e <= gfn || a >= gfn + nr)
					continue;
				ret = rec_rm(p, t, domid, a);
				if (!ret && a < gfn)
					ret = rec_write(p, t, domid, a, r[i].mfn, gfn - a);
				if (!ret && e > gfn + nr)
					ret = rec_write(p, t, domid, gfn + nr,
							r[i].mfn + (gfn + nr - a),
							e - (gfn + nr));
			}
		}
		free(r);
		if (ret) {
			xs_transaction_end(p->xsh, t, true);
			return xgm_fail(ret, "xenstore: cannot record the mapping "
					"of gfn 0x%" PRIx64 ": %s", gfn, strerror(-ret));
		}
		if (xs_transaction_end(p->xsh, t, false))
			return 0;
		if (errno != EAGAIN)
			return xgm_fail(-errno, "xenstore: recording gfn 0x%" PRIx64
					": %s", gfn, strerror(errno));
	}
	return xgm_fail(-EAGAIN, "xenstore: the mapping record kept conflicting");
}

/* A removal may only touch what this backend mapped, with the same frames:
 * anything else in the range belongs to someone else (a passed-through
 * device, the guest's own RAM). */
static int removal_recorded(struct xen_priv *p, uint32_t domid, uint64_t gfn,
			    uint64_t mfn, uint64_t nr)
{
	struct xen_map_rec *r;
	uint64_t g = gfn;
	size_t n;
	int ret = xen_map_records(p, domid, &r, &n);

	if (ret)
		return ret;
	for (size_t i = 0; i < n && g < gfn + nr; i++) {
		if (g < r[i].gfn || g >= r[i].gfn + r[i].nr)
			continue;
		if (r[i].mfn + (g - r[i].gfn) != mfn + (g - gfn))
			break;
		g = r[i].gfn + r[i].nr;
	}
	free(r);
	if (g < gfn + nr) {
		char dom[16];

		snprintf(dom, sizeof(dom), "%u", domid);
		return xgm_fail_remedy(-EPERM, XGM_REMEDY_P2M, dom,
				       "refusing to unmap gfn 0x%" PRIx64 " of d%u: "
				       "xgpumap did not map it to mfn 0x%" PRIx64,
				       g, domid, mfn + (g - gfn));
	}
	return 0;
}

static int permission_call(struct xen_priv *p, uint32_t domid, uint64_t mfn,
			   uint64_t nr, bool allow)
{
	int ret = xc_domain_iomem_permission(p->xch, domid, mfn, nr, allow);

	xen_count(p, domid, 1, 0);
	if (ret)
		return xgm_fail(-errno ?: -EIO, "xc_domain_iomem_permission(d%u, "
				"mfn 0x%" PRIx64 ", %" PRIu64 " frames, %s): %s",
				domid, mfn, nr, allow ? "allow" : "deny",
				strerror(errno));
	return 0;
}

/*
 * Revokes [mfn, mfn+nr) but the frames the domain still has mapped by
 * our record. The engine revokes a blob's frames only once it has removed
 * its own mappings, so what remains mapped there is another blob's: the
 * record of a buffer a killed daemon held, whose VRAM the new daemon's
 * driver handed out again. Xen 4.17 checks the guest's permission on
 * removal too, so revoking under that blob would leave its entries, to
 * frames now someone else's, for good.
 */
static int revoke_unmapped(struct xen_priv *p, uint32_t domid, uint64_t mfn,
			   uint64_t nr)
{
	struct xen_map_rec *r;
	uint64_t at = mfn, end = mfn + nr;
	size_t n;
	int ret = xen_map_records(p, domid, &r, &n);

	if (ret)
		return ret;
	while (!ret && at < end) {
		uint64_t stop = end, skip = at;

		/* The first recorded mapping at or after at cuts the run. */
		for (size_t i = 0; i < n; i++) {
			uint64_t lo = r[i].mfn, hi = r[i].mfn + r[i].nr;

			if (hi <= at || lo >= end)
				continue;
			if (lo <= at) {
				if (hi > skip)
					skip = hi;
			} else if (lo < stop) {
				stop = lo;
			}
		}
		if (skip > at) {
			xgm_info("d%u: iomem permission kept on mfn 0x%" PRIx64
				 "-0x%" PRIx64 ": still mapped by another blob",
				 domid, at, (skip < end ? skip : end) - 1);
			at = skip;
			continue;
		}
		ret = permission_call(p, domid, at, stop - at, false);
		at = stop;
	}
	free(r);
	return ret;
}

int xen_iomem_permission(void *priv, uint32_t domid, uint64_t mfn, uint64_t nr,
			 bool allow)
{
	struct xen_priv *p = priv;
	int ret;

	if (!nr)
		return 0;
	if (domid == 0)
		return xgm_fail(-EPERM, "refusing to change dom0's own iomem "
				"permission");
	/* Revoking never hands anything out: no check needed, and the
	 * buffer may be gone already. */
	if (!allow)
		return revoke_unmapped(p, domid, mfn, nr);
	ret = xen_frames_validate(p, mfn, nr);
	return ret ? ret : permission_call(p, domid, mfn, nr, true);
}

static int mmio_domctl(struct xen_priv *p, uint32_t domid, uint64_t gfn,
		       uint64_t mfn, uint64_t nr, bool add);

static int mapping_guard(struct xen_priv *p, uint32_t domid, uint64_t gfn,
			 uint64_t mfn, uint64_t nr, bool add, bool validate)
{
	if (domid == 0)
		return xgm_fail(-EPERM, "refusing to map into dom0");
	if (nr > INT32_MAX)
		return xgm_fail(-E2BIG, "%" PRIu64 " frames in one mapping is "
				"more than xgpumap hands Xen at once", nr);
	if (!add)
		return removal_recorded(p, domid, gfn, mfn, nr);
	return validate ? xen_frames_validate(p, mfn, nr) : 0;
}

int xen_memory_mapping(void *priv, uint32_t domid, uint64_t gfn, uint64_t mfn,
		       uint64_t nr, bool add)
{
	int ret;

	if (!nr)
		return 0;
	ret = mapping_guard(priv, domid, gfn, mfn, nr, add, true);
	return ret ? ret : mmio_domctl(priv, domid, gfn, mfn, nr, add);
}

int xen_memory_mapping_checked(void *priv, uint32_t domid, uint64_t gfn,
			       uint64_t mfn, uint64_t nr, bool add)
{
	int ret;

	if (!nr)
		return 0;
	ret = mapping_guard(priv, domid, gfn, mfn, nr, add, false);
	return ret ? ret : mmio_domctl(priv, domid, gfn, mfn, nr, add);
}

static int mmio_domctl(struct xen_priv *p, uint32_t domid, uint64_t gfn,
		       uint64_t mfn, uint64_t nr, bool add)
{
	uint64_t entries = 0, domctls = 0, done;
	struct timespec t0, t1;
	int ret, rc;

	/*
	 * One XEN_DOMCTL_memory_mapping, as Xen sees it, so that what is
	 * counted is what Xen did: Xen does at most 64 p2m updates a call
	 * and returns how far it got (a 2M slot that once held 4K entries is
	 * retried at 4K, so no count can be worked out from alignment), and
	 * the engine calls again for the rest (hv_memory_mapping_all()).
	 * libxc's xc_domain_memory_mapping() would hide that loop, add a
	 * getdomaininfo and undo a failed add on its own.
	 */
	done = nr;
	for (;;) {
		struct xen_domctl d = {
			.cmd = XEN_DOMCTL_memory_mapping,
			.domain = (domid_t)domid,
			.u.memory_mapping = {
				.first_gfn = gfn,
				.first_mfn = mfn,
				.nr_mfns = done,
				.add_mapping = add ? DPCI_ADD_MAPPING
						   : DPCI_REMOVE_MAPPING,
			},
		};

		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = xc_domctl(p->xch, &d);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		domctls++;
		/* Too many frames for this Xen in one call: ask for fewer. */
		if (rc < 0 && errno == E2BIG && done > 1) {
			done /= 2;
			continue;
		}
		break;
	}
	if (rc > 0)
		done = (uint64_t)rc; /* partial: exactly 64 iterations, 64 entries */
	if (rc >= 0)
		entries = rc > 0 ? XGM_MMIO_MAX_ITER : xen_mmio_entries(gfn, mfn, done);
	xgm_debug("xen: memory_mapping %s d%u gfn 0x%" PRIx64 " mfn 0x%" PRIx64
		  " nr %" PRIu64 ": %" PRIu64 " done in %" PRIu64 " domctl(s), "
		  "%.1f us", add ? "add" : "remove", domid, gfn, mfn, nr,
		  rc < 0 ? 0 : done, domctls, (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
		  (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
	xen_count(p, domid, domctls, rc < 0 ? 0 : entries);
	if (rc < 0)
		return xgm_fail(-errno ?: -EIO, "XEN_DOMCTL_memory_mapping(d%u, "
				"gfn 0x%" PRIx64 ", mfn 0x%" PRIx64 ", %" PRIu64
				" frames, %s): %s", domid, gfn, mfn, done,
				add ? "add" : "remove", strerror(errno));
	ret = record(p, domid, gfn, mfn, done, add);
	if (ret)
		return ret;
	return (int)done;
}
