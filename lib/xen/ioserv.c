// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The ioreq server of one guest's blob window (ioserv.h), in the order the
 * rig proved (notes/xen-ioreq.md): create with buffered ioreqs off, map
 * the ioreq page as a resource (the legacy gfn path fails on PVH: a PVH
 * guest has no ioreq gfns), claim the window, enable, then bind each
 * vCPU's event channel, whose port Xen writes into the page on enable.
 *
 * A vCPU's slot goes READY -> (we answer) -> IORESP_READY, and Xen
 * completes the faulting access with our answer: it is not re-executed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/xen.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>

#include "ctx.h"
#include "xen/ioserv.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1u << PAGE_SHIFT)
/* One ioreq page: one 32-byte slot per vCPU, so 128 vCPUs (HVM_MAX_VCPUS). */
#define MAX_VCPUS (PAGE_SIZE / sizeof(ioreq_t))
/* Xen clips a rep to 4096 elements (hvmemul_linear_to_phys()); more is
 * not from Xen, and we refuse it rather than loop on it. */
#define MAX_REPS 4096u

struct ioserv {
	uint32_t domid;
	ioservid_t id;
	bool created, enabled;
	xendevicemodel_handle *dm;
	xenforeignmemory_handle *fm;
	xenforeignmemory_resource_handle *res;
	xenevtchn_handle *xce;
	volatile ioreq_t *slot;   /* the shared page, one slot per vCPU */
	unsigned int nr_vcpus;
	evtchn_port_t *port;      /* local port of each vCPU */
	bool *bound;
	/* The claimed ranges' bytes, inclusive: the first is the one made
	 * at create (a unit test's only one), ioserv_claim() adds more. */
	struct ioserv_range { uint64_t lo, hi; } *win;
	size_t nr_win;
	struct ioserv_range first;
	ioserv_access_fn fn;
	void *arg;
	struct ioserv_stats st;
	/* The guest page a data_is_ptr request copies through, kept for
	 * one request only (the guest may give the page away after it). */
	uint64_t cached_gfn;
	void *cached;
	int cached_prot;
};

int ioserv_fd(const struct ioserv *s)
{
	return xenevtchn_fd(s->xce);
}

unsigned int ioserv_vcpus(const struct ioserv *s)
{
	return s->nr_vcpus;
}

unsigned int ioserv_id(const struct ioserv *s)
{
	return s->id;
}

void ioserv_get_stats(const struct ioserv *s, struct ioserv_stats *out)
{
	*out = s->st;
}

/* ---- the guest's memory, for data_is_ptr ---- */

static bool in_window(const struct ioserv *s, uint64_t a, unsigned int size)
{
	for (size_t i = 0; i < s->nr_win; i++)
		if (a >= s->win[i].lo && a <= s->win[i].hi &&
		    size - 1 <= s->win[i].hi - a)
			return true;
	return false;
}

static void guest_unmap(struct ioserv *s)
{
	if (s->cached)
		xenforeignmemory_unmap(s->fm, s->cached, 1);
	s->cached = NULL;
}

static void *guest_page(struct ioserv *s, uint64_t gfn, int prot)
{
	xen_pfn_t pfn = gfn;
	int err = 0;
	void *p;

	if (s->cached && s->cached_gfn == gfn && (s->cached_prot & prot) == prot)
		return s->cached;
	if (!s->fm)
		return NULL;
	/* The other side of a rep is guest RAM (Xen does not hand us a rep
	 * between two emulated ranges): never a page of our own window. */
	if (gfn > (UINT64_MAX >> PAGE_SHIFT) ||
	    in_window(s, gfn << PAGE_SHIFT, 1))
		return NULL;
	guest_unmap(s);
	p = xenforeignmemory_map(s->fm, s->domid, prot, 1, &pfn, &err);
	if (!p)
		return NULL;
	if (err) {
		xenforeignmemory_unmap(s->fm, p, 1);
		return NULL;
	}
	s->cached = p;
	s->cached_gfn = gfn;
	s->cached_prot = prot;
	return p;
}

/* Copies len bytes between buf and guest-physical gpa, page by page. */
static int guest_copy(struct ioserv *s, uint64_t gpa, void *buf, size_t len,
		      bool to_guest)
{
	uint8_t *b = buf;

	while (len) {
		size_t off = gpa & (PAGE_SIZE - 1);
		size_t n = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
		uint8_t *p = guest_page(s, gpa >> PAGE_SHIFT, to_guest ?
					PROT_READ | PROT_WRITE : PROT_READ);

		if (!p)
			return -EFAULT;
		if (to_guest)
			memcpy(p + off, b, n);
		else
			memcpy(b, p + off, n);
		gpa += n;
		b += n;
		len -= n;
	}
	return 0;
}

/* ---- one request ---- */

static uint64_t size_mask(unsigned int size)
{
	return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

/* Element i's address going up (df=0) or down (df=1) from base; false on
 * wrap-around. */
static bool step_addr(uint64_t base, uint64_t i, unsigned int size, bool df,
		      uint64_t *out)
{
	uint64_t d = i * size;

	if (df) {
		if (base < d)
			return false;
		*out = base - d;
	} else {
		if (base + d < base)
			return false;
		*out = base + d;
	}
	/* The element's last byte must not wrap either. */
	return *out + (size - 1) >= *out;
}

/* Reads or writes one element at device address a through the handler;
 * a gap reads all-ones and drops the write. */
static void element(struct ioserv *s, uint64_t a, unsigned int size,
		    bool write, uint64_t *v)
{
	int ret = -ENOENT;

	if (in_window(s, a, size))
		ret = s->fn(s->arg, a, size, write, v);
	else
		s->st.bad++;
	s->st.elements++;
	if (ret) {
		if (ret != -ENOENT)
			s->st.handler_errors++;
		if (write)
			s->st.gap_writes++;
		else
			s->st.gap_reads++;
		if (!write)
			*v = UINT64_MAX;
	}
	*v &= size_mask(size);
	if (write)
		s->st.bytes_written += size;
	else
		s->st.bytes_read += size;
}

static void handle_copy(struct ioserv *s, ioreq_t *r)
{
	bool write = r->dir == IOREQ_WRITE, df = r->df;
	unsigned int size = r->size;

	if (write)
		s->st.writes++;
	else
		s->st.reads++;
	/* A guest chose these; refuse what Xen never sends. */
	if ((size != 1 && size != 2 && size != 4 && size != 8) || !r->count ||
	    r->count > MAX_REPS || (!r->data_is_ptr && !write && r->count != 1)) {
		s->st.bad++;
		if (!r->data_is_ptr && !write)
			r->data = UINT64_MAX;
		return;
	}
	if (!r->data_is_ptr) {
		/* A write of count > 1 without a pointer is rep stos: the
		 * same value count times. */
		for (uint32_t i = 0; i < r->count; i++) {
			uint64_t a, v = r->data & size_mask(size);

			if (!step_addr(r->addr, i, size, df, &a)) {
				s->st.bad++;
				break;
			}
			element(s, a, size, write, &v);
			if (!write)
				r->data = v;
		}
		return;
	}
	s->st.ptr_reqs++;
	for (uint32_t i = 0; i < r->count; i++) {
		uint64_t a, m, v = 0;

		if (!step_addr(r->addr, i, size, df, &a) ||
		    !step_addr(r->data, i, size, df, &m)) {
			s->st.bad++;
			break;
		}
		if (write && guest_copy(s, m, &v, size, false)) {
			s->st.bad++;
			break;
		}
		element(s, a, size, write, &v);
		if (!write && guest_copy(s, m, &v, size, true)) {
			s->st.bad++;
			break;
		}
	}
	guest_unmap(s);
}

static void handle(struct ioserv *s, ioreq_t *r)
{
	switch (r->type) {
	case IOREQ_TYPE_COPY:
		handle_copy(s, r);
		break;
	case IOREQ_TYPE_INVALIDATE:
		/* We cache no guest mapping across requests: nothing to drop,
		 * but the vCPU waits for the completion. */
		s->st.invalidates++;
		break;
	default:
		/* Not claimed (port I/O, config space): all-ones. */
		s->st.other++;
		if (r->dir == IOREQ_READ && !r->data_is_ptr)
			r->data = UINT64_MAX;
		break;
	}
}

/* One request as if a vCPU had made it, on a server with no Xen behind
 * it (data_is_ptr copies fail): what a unit test checks the decoding and
 * the bounds with. */
void ioserv_handle_request(uint64_t first_gfn, uint64_t last_gfn,
			   ioserv_access_fn fn, void *arg, ioreq_t *r,
			   struct ioserv_stats *st)
{
	struct ioserv s = {
		.first = { first_gfn << PAGE_SHIFT,
			   (last_gfn << PAGE_SHIFT) | (PAGE_SIZE - 1) },
		.nr_win = 1,
		.fn = fn,
		.arg = arg,
		.st = *st,
	};

	s.win = &s.first;
	handle(&s, r);
	*st = s.st;
}

/* Answers vCPU v's slot if it holds a request. */
static bool serve_slot(struct ioserv *s, unsigned int v)
{
	volatile ioreq_t *slot = &s->slot[v];
	ioreq_t r;

	if (slot->state != STATE_IOREQ_READY)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	memcpy(&r, (const void *)slot, sizeof(r));
	slot->state = STATE_IOREQ_INPROCESS;
	handle(s, &r);
	if (r.type != IOREQ_TYPE_INVALIDATE && r.dir == IOREQ_READ &&
	    !r.data_is_ptr)
		slot->data = r.data;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	slot->state = STATE_IORESP_READY;
	xenevtchn_notify(s->xce, s->port[v]);
	return true;
}

int ioserv_dispatch(struct ioserv *s)
{
	int served = 0;
	xenevtchn_port_or_error_t p;

	/* Drain the kicks first; one scan of every slot then answers
	 * whatever they announced (kicks coalesce). A request made after
	 * the scan comes with a kick of its own. */
	while ((p = xenevtchn_pending(s->xce)) >= 0) {
		xenevtchn_unmask(s->xce, (evtchn_port_t)p);
		s->st.notifies++;
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return xgm_fail(-errno, "ioreq server of d%u: reading its event "
				"channels: %s", s->domid, strerror(errno));
	for (unsigned int v = 0; v < s->nr_vcpus; v++)
		if (s->bound[v] && serve_slot(s, v))
			served++;
	return served;
}

/* ---- life cycle ---- */

void ioserv_destroy(struct ioserv *s)
{
	if (!s)
		return;
	guest_unmap(s);
	/* Disable first: a vCPU that faults from now on gets Xen's
	 * all-ones, not a wait on a server nobody answers. */
	if (s->enabled &&
	    xendevicemodel_set_ioreq_server_state(s->dm, s->domid, s->id, 0))
		xgm_warn("ioreq server %u of d%u: disable: %s", s->id, s->domid,
			 strerror(errno));
	for (unsigned int v = 0; s->bound && v < s->nr_vcpus; v++)
		if (s->bound[v])
			xenevtchn_unbind(s->xce, s->port[v]);
	if (s->res)
		xenforeignmemory_unmap_resource(s->fm, s->res);
	if (s->created &&
	    xendevicemodel_destroy_ioreq_server(s->dm, s->domid, s->id))
		xgm_warn("ioreq server %u of d%u: destroy: %s", s->id, s->domid,
			 strerror(errno));
	if (s->xce)
		xenevtchn_close(s->xce);
	if (s->fm)
		xenforeignmemory_close(s->fm);
	if (s->dm)
		xendevicemodel_close(s->dm);
	free(s->port);
	free(s->bound);
	free(s->win);
	free(s);
}

static int open_handles(struct ioserv *s)
{
	unsigned int n = 0;
	int fd;

	s->dm = xendevicemodel_open(NULL, 0);
	s->fm = xenforeignmemory_open(NULL, 0);
	s->xce = xenevtchn_open(NULL, 0);
	if (!s->dm || !s->fm || !s->xce)
		return xgm_fail(-errno ?: -EIO, "ioreq server: cannot open the "
				"Xen device model, foreign memory or event "
				"channel interface: %s", strerror(errno));
	/* dispatch() must never block in xenevtchn_pending(). */
	fd = xenevtchn_fd(s->xce);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		return xgm_fail(-errno, "ioreq server: %s", strerror(errno));
	if (xendevicemodel_nr_vcpus(s->dm, s->domid, &n))
		return xgm_fail(-errno ?: -EIO, "ioreq server: vCPUs of d%u: %s",
				s->domid, strerror(errno));
	if (!n || n > MAX_VCPUS)
		return xgm_fail(-ERANGE, "ioreq server: d%u has %u vCPUs; one "
				"ioreq page serves 1 to %zu", s->domid, n,
				(size_t)MAX_VCPUS);
	s->nr_vcpus = n;
	s->port = calloc(n, sizeof(*s->port));
	s->bound = calloc(n, sizeof(*s->bound));
	return s->port && s->bound ? 0 : -ENOMEM;
}

static int start_server(struct ioserv *s)
{
	void *page = NULL;

	if (xendevicemodel_create_ioreq_server(s->dm, s->domid,
					       HVM_IOREQSRV_BUFIOREQ_OFF, &s->id))
		return xgm_fail(-errno ?: -EIO, "ioreq server: create for d%u: "
				"%s", s->domid, strerror(errno));
	s->created = true;
	s->res = xenforeignmemory_map_resource(s->fm, s->domid,
					       XENMEM_resource_ioreq_server, s->id,
					       XENMEM_resource_ioreq_server_frame_ioreq(0),
					       1, &page, PROT_READ | PROT_WRITE, 0);
	if (!s->res)
		return xgm_fail(-errno ?: -EIO, "ioreq server %u of d%u: mapping "
				"its ioreq page: %s", s->id, s->domid,
				strerror(errno));
	s->slot = page;
	if (xendevicemodel_map_io_range_to_ioreq_server(s->dm, s->domid, s->id, 1,
							s->first.lo, s->first.hi))
		return xgm_fail(-errno ?: -EIO, "ioreq server %u of d%u: claiming "
				"0x%" PRIx64 "-0x%" PRIx64 ": %s", s->id, s->domid,
				s->first.lo, s->first.hi, strerror(errno));
	s->win[0] = s->first;
	s->nr_win = 1;
	if (xendevicemodel_set_ioreq_server_state(s->dm, s->domid, s->id, 1))
		return xgm_fail(-errno ?: -EIO, "ioreq server %u of d%u: enable: %s",
				s->id, s->domid, strerror(errno));
	s->enabled = true;
	return 0;
}

static int bind_vcpus(struct ioserv *s)
{
	for (unsigned int v = 0; v < s->nr_vcpus; v++) {
		uint32_t remote = s->slot[v].vp_eport;
		xenevtchn_port_or_error_t l;

		if (!remote)
			return xgm_fail(-EPROTO, "ioreq server %u of d%u: vCPU %u "
					"has no event channel", s->id, s->domid, v);
		l = xenevtchn_bind_interdomain(s->xce, s->domid, remote);
		if (l < 0)
			return xgm_fail(-errno ?: -EIO, "ioreq server %u of d%u: "
					"binding vCPU %u's port %u: %s", s->id,
					s->domid, v, remote, strerror(errno));
		s->port[v] = (evtchn_port_t)l;
		s->bound[v] = true;
	}
	return 0;
}

int ioserv_create(uint32_t domid, uint64_t first_gfn, uint64_t last_gfn,
		  ioserv_access_fn fn, void *arg, struct ioserv **out)
{
	struct ioserv *s;
	int ret;

	*out = NULL;
	if (!domid || domid >= DOMID_FIRST_RESERVED || !fn)
		return xgm_fail(-EINVAL, "ioreq server: bad domain %u", domid);
	if (first_gfn > last_gfn || last_gfn > (UINT64_MAX >> PAGE_SHIFT))
		return xgm_fail(-EINVAL, "ioreq server: bad window 0x%" PRIx64
				"-0x%" PRIx64, first_gfn, last_gfn);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->domid = domid;
	s->first.lo = first_gfn << PAGE_SHIFT;
	s->first.hi = (last_gfn << PAGE_SHIFT) | (PAGE_SIZE - 1);
	s->win = calloc(1, sizeof(*s->win));
	s->fn = fn;
	s->arg = arg;
	ret = s->win ? open_handles(s) : -ENOMEM;
	if (!ret)
		ret = start_server(s);
	if (!ret)
		ret = bind_vcpus(s);
	if (ret) {
		ioserv_destroy(s);
		return ret;
	}
	xgm_debug("xen: ioreq server %u of d%u over gfn 0x%" PRIx64 "-0x%" PRIx64
		  ", %u vCPU(s)", s->id, domid, first_gfn, last_gfn, s->nr_vcpus);
	*out = s;
	return 0;
}

int ioserv_claim(struct ioserv *s, uint64_t first_gfn, uint64_t last_gfn,
		 bool claim)
{
	struct ioserv_range r = { first_gfn << PAGE_SHIFT,
				  (last_gfn << PAGE_SHIFT) | (PAGE_SIZE - 1) };
	size_t i;

	if (first_gfn > last_gfn || last_gfn > (UINT64_MAX >> PAGE_SHIFT))
		return xgm_fail(-EINVAL, "ioreq server: bad range 0x%" PRIx64
				"-0x%" PRIx64, first_gfn, last_gfn);
	for (i = 0; i < s->nr_win; i++)
		if (s->win[i].lo == r.lo && s->win[i].hi == r.hi)
			break;
	if (claim) {
		struct ioserv_range *w;

		if (i < s->nr_win)
			return 0;
		w = realloc(s->win, (s->nr_win + 1) * sizeof(*w));
		if (!w)
			return -ENOMEM;
		s->win = w;
		if (xendevicemodel_map_io_range_to_ioreq_server(s->dm, s->domid,
								s->id, 1, r.lo, r.hi))
			return xgm_fail(-errno ?: -EIO, "ioreq server %u of d%u: "
					"claiming 0x%" PRIx64 "-0x%" PRIx64 ": %s",
					s->id, s->domid, r.lo, r.hi, strerror(errno));
		s->win[s->nr_win++] = r;
		return 0;
	}
	if (i == s->nr_win)
		return 0;
	if (xendevicemodel_unmap_io_range_from_ioreq_server(s->dm, s->domid,
							    s->id, 1, r.lo, r.hi))
		return xgm_fail(-errno ?: -EIO, "ioreq server %u of d%u: releasing "
				"0x%" PRIx64 "-0x%" PRIx64 ": %s", s->id, s->domid,
				r.lo, r.hi, strerror(errno));
	s->win[i] = s->win[--s->nr_win];
	return 0;
}

size_t ioserv_ranges(const struct ioserv *s)
{
	return s->nr_win;
}

void ioserv_range_at(const struct ioserv *s, size_t i, uint64_t *first_gfn,
		     uint64_t *last_gfn)
{
	*first_gfn = s->win[i].lo >> PAGE_SHIFT;
	*last_gfn = s->win[i].hi >> PAGE_SHIFT;
}
