// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The xen backend's ioreq servers, one per guest that has a blob served
 * (ioreq or revoke-fault), living as long as the process that holds the
 * context: xgpumapd, whose poll loop calls xen_serve() when xen_serve_fd()
 * is readable. Each is lib/xen/ioserv.c over the ranges the engine claims,
 * answered by lib/xen/iofault.c from dom0's own mapping of each buffer.
 *
 * The engine runs one operation at a time in the same thread, so a guest
 * access that faults while a migration runs waits until the migration has
 * switched the backing: it is then answered from the new buffer. That is
 * why a move of a served blob never releases the claim (which would send
 * the guest's accesses to Xen's all-ones handler) but switches the backing
 * under it (xen_ioreq_serve() on a range served already).
 *
 * Xen 4.17 crashes a guest whose vCPU takes a nested page fault on a gfn
 * that becomes p2m_mmio_direct before Xen looks it up (svm.c:1786; see
 * tests/xen/ioserv-rig.c), so every first-touch map runs with the guest
 * paused: the faulting vCPU waits on us anyway, the others for the add.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xen/ioserv.h"
#include "xen/xen.h"

/* One served backing: an extent of a buffer at its gfns. iofault keys its
 * blobs by gfn; this remembers which dom0 mapping each one answers from. */
struct served_map {
	uint64_t gfn, nr;      /* the whole buffer's range in the guest */
	void *va;              /* dom0's mapping of the whole buffer */
	uint64_t size;
	uint64_t *gfns;        /* the iofault blob of each extent */
	size_t nr_gfns;
};

struct served {
	uint32_t domid;
	struct ioserv *srv;
	struct iofault *fault;
	struct served_map *map;
	size_t nr_map;
};

struct xen_servers {
	int epoll_fd;
	struct served *s;
	size_t n;
};

static struct served *served_of(struct xen_priv *p, uint32_t domid)
{
	for (size_t i = 0; p->servers && i < p->servers->n; i++)
		if (p->servers->s[i].domid == domid)
			return &p->servers->s[i];
	return NULL;
}

static int servers_init(struct xen_priv *p)
{
	if (p->servers)
		return 0;
	p->servers = calloc(1, sizeof(*p->servers));
	if (!p->servers)
		return -ENOMEM;
	p->servers->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (p->servers->epoll_fd < 0) {
		int err = errno;

		free(p->servers);
		p->servers = NULL;
		return xgm_fail(-err, "ioreq servers: epoll: %s", strerror(err));
	}
	return 0;
}

/* ---- what a server answers from ---- */

static void map_drop(struct served *sv, size_t i)
{
	struct served_map *m = &sv->map[i];

	for (size_t k = 0; k < m->nr_gfns; k++)
		if (iofault_remove(sv->fault, m->gfns[k]))
			xgm_warn("%s", xgm_last_error());
	if (m->va)
		munmap(m->va, m->size);
	free(m->gfns);
	sv->map[i] = sv->map[--sv->nr_map];
}

/* The backings that lie inside [first, last]. */
static void drop_range(struct served *sv, uint64_t first, uint64_t last)
{
	for (size_t i = sv->nr_map; i-- > 0;)
		if (sv->map[i].gfn >= first && sv->map[i].gfn <= last)
			map_drop(sv, i);
}

/* What the server did in its life, for the log (the rig reads it). */
static void served_report(const struct served *sv)
{
	struct ioserv_stats st;
	struct iofault_stats fs;

	ioserv_get_stats(sv->srv, &st);
	iofault_get_stats(sv->fault, &fs);
	xgm_info("ioreq server %u of d%u: %" PRIu64 " reads, %" PRIu64 " writes, "
		 "%" PRIu64 " accesses answered from buffers, %" PRIu64 " all-ones "
		 "(gaps), %" PRIu64 " refused; %" PRIu64 " chunks mapped on first "
		 "touch (mean %" PRIu64 " us, max %" PRIu64 " us), %" PRIu64
		 " revoked, %" PRIu64 " map errors", ioserv_id(sv->srv), sv->domid,
		 st.reads, st.writes, fs.served, st.gap_reads, st.bad,
		 fs.first_touch_maps,
		 fs.first_touch_maps ? fs.map_ns_total / fs.first_touch_maps / 1000 : 0,
		 fs.map_ns_max / 1000, fs.revokes, fs.map_errors);
}

static void served_free(struct xen_priv *p, struct served *sv)
{
	struct xen_servers *xs = p->servers;

	if (sv->srv) {
		served_report(sv);
		epoll_ctl(xs->epoll_fd, EPOLL_CTL_DEL, ioserv_fd(sv->srv), NULL);
	}
	/* Disabled and destroyed first: a vCPU that faults from now on gets
	 * Xen's all-ones instead of waiting on a server nobody answers. */
	ioserv_destroy(sv->srv);
	if (sv->srv)
		xen_ioreq_unrecord(p, sv->domid);
	while (sv->nr_map)
		map_drop(sv, sv->nr_map - 1);
	iofault_destroy(sv->fault);
	free(sv->map);
	*sv = xs->s[--xs->n];
}

static int pause_guest(void *arg, uint32_t domid, bool pause)
{
	return xen_domain_pause(arg, domid, pause);
}

/* The server of domid, made with [first, last] as its first range. */
static int served_create(struct xen_priv *p, uint32_t domid, uint64_t first,
			 uint64_t last, struct served **out)
{
	struct xen_servers *xs;
	struct served *sv, *grown;
	struct epoll_event ev = { .events = EPOLLIN };
	int ret = servers_init(p);

	if (ret)
		return ret;
	xs = p->servers;
	grown = realloc(xs->s, (xs->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	xs->s = grown;
	sv = &xs->s[xs->n++];
	memset(sv, 0, sizeof(*sv));
	sv->domid = domid;
	/* A server a killed process left for domid goes first: its claim
	 * would overlap ours, and Xen might send the guest's access there. */
	ret = xen_ioreq_reap_dom(p, domid) ?:
	      iofault_create(domid, xen_memory_mapping_checked, p, &sv->fault);
	if (!ret) {
		iofault_set_pause(sv->fault, pause_guest);
		ret = ioserv_create(domid, first, last, iofault_access, sv->fault,
				    &sv->srv);
	}
	if (!ret)
		ret = xen_ioreq_record(p, domid, ioserv_id(sv->srv));
	ev.data.u32 = domid;
	if (!ret && epoll_ctl(xs->epoll_fd, EPOLL_CTL_ADD, ioserv_fd(sv->srv), &ev))
		ret = xgm_fail(-errno, "ioreq server of d%u: epoll: %s", domid,
			       strerror(errno));
	if (ret) {
		served_free(p, sv);
		return ret;
	}
	xgm_info("ioreq server %u serves d%u (%u vCPUs)", ioserv_id(sv->srv),
		 domid, ioserv_vcpus(sv->srv));
	*out = sv;
	return 0;
}

/* ---- the hv ops ---- */

int xen_ioreq_map_range(void *priv, uint32_t domid, uint64_t first,
			uint64_t last, bool map)
{
	struct xen_priv *p = priv;
	struct served *sv = served_of(p, domid);
	int ret;

	if (map)
		return sv ? ioserv_claim(sv->srv, first, last, true)
			  : served_create(p, domid, first, last, &sv);
	if (!sv)
		return 0; /* released already, or the server went with a restart */
	drop_range(sv, first, last);
	ret = ioserv_claim(sv->srv, first, last, false);
	if (!ret && !ioserv_ranges(sv->srv))
		served_free(p, sv);
	return ret;
}

int xen_ioreq_list(void *priv, uint32_t domid, struct xgm_gfn_range **out,
		   size_t *count)
{
	struct served *sv = served_of(priv, domid);

	*out = NULL;
	*count = 0;
	if (!sv)
		return 0;
	*out = calloc(ioserv_ranges(sv->srv), sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < ioserv_ranges(sv->srv); i++)
		ioserv_range_at(sv->srv, i, &(*out)[i].first, &(*out)[i].last);
	*count = ioserv_ranges(sv->srv);
	return 0;
}

int xen_ioreq_serve(void *priv, uint32_t domid, uint64_t gfn, uint64_t buf,
		    const struct xgm_extent *ext, size_t n, bool fault_map)
{
	struct xen_priv *p = priv;
	struct served *sv = served_of(p, domid);
	struct served_map m = { .gfn = gfn }, *grown;
	uint64_t off = 0;
	int ret;

	if (!sv)
		return xgm_fail(-ENOENT, "no ioreq server serves d%u: the range "
				"at gfn 0x%" PRIx64 " is not claimed", domid, gfn);
#ifdef XGM_HAVE_DRM
	ret = xen_buf_mmap(p, buf, &m.va, &m.size);
#else
	ret = xgm_fail(-EOPNOTSUPP, "serving a buffer needs DRM support");
#endif
	if (ret)
		return ret;
	m.gfns = calloc(n ? n : 1, sizeof(*m.gfns));
	grown = realloc(sv->map, (sv->nr_map + 1) * sizeof(*grown));
	if (!m.gfns || !grown) {
		free(m.gfns);
		munmap(m.va, m.size);
		return -ENOMEM;
	}
	sv->map = grown;
	for (size_t i = 0; i < n; i++)
		m.nr += ext[i].nr;
	if (m.nr << 12 > m.size) {
		free(m.gfns);
		munmap(m.va, m.size);
		return xgm_fail(-EINVAL, "buffer %" PRIu64 " holds %" PRIu64 " bytes, "
				"fewer than its %" PRIu64 " frames", buf, m.size, m.nr);
	}
	/* The old backing goes only now that the new one is ready: nothing
	 * answers in between (this thread is the one that would). */
	drop_range(sv, gfn, gfn + m.nr - 1);
	ret = 0;
	for (size_t i = 0; !ret && i < n; i++) {
		ret = iofault_add(sv->fault, gfn + off, ext[i].nr,
				  (uint8_t *)m.va + (off << 12),
				  fault_map ? ext[i].mfn : IOFAULT_NO_MFN);
		if (!ret)
			m.gfns[m.nr_gfns++] = gfn + off;
		off += ext[i].nr;
	}
	sv->map[sv->nr_map++] = m;
	if (ret)
		map_drop(sv, sv->nr_map - 1);
	return ret;
}

int xen_ioreq_revoke(void *priv, uint32_t domid, uint64_t gfn, uint64_t nr)
{
	struct served *sv = served_of(priv, domid);
	int ret = 0;

	if (!sv)
		return 0;
	for (size_t i = 0; !ret && i < sv->nr_map; i++) {
		struct served_map *m = &sv->map[i];

		if (m->gfn < gfn || m->gfn >= gfn + nr)
			continue;
		for (size_t k = 0; !ret && k < m->nr_gfns; k++)
			ret = iofault_revoke(sv->fault, m->gfns[k]);
	}
	return ret;
}

int xen_serve_fd(void *priv)
{
	struct xen_priv *p = priv;

	return servers_init(p) ?: p->servers->epoll_fd;
}

int xen_serve(void *priv)
{
	struct xen_priv *p = priv;
	struct epoll_event ev[8];
	int n, done = 0;

	if (!p->servers)
		return 0;
	n = epoll_wait(p->servers->epoll_fd, ev, 8, 0);
	for (int i = 0; i < n; i++) {
		struct served *sv = served_of(p, ev[i].data.u32);
		int ret = sv ? ioserv_dispatch(sv->srv) : 0;

		if (ret < 0)
			xgm_warn("%s", xgm_last_error());
		else
			done += ret;
	}
	return done;
}

void xen_servers_close(struct xen_priv *p)
{
	if (!p->servers)
		return;
	while (p->servers->n)
		served_free(p, &p->servers->s[p->servers->n - 1]);
	close(p->servers->epoll_fd);
	free(p->servers->s);
	free(p->servers);
	p->servers = NULL;
}
