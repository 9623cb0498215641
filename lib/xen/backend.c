// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The real Xen backend: what stock Xen 4.17 lets the control domain do,
 * through libxenctrl, libxenstore and libxenlight. Strategies stock Xen
 * cannot do (ram-mmio, transfer) and grants (Debian's kernel has no gntdev
 * dma-buf) stay NULL, so the engine refuses them by name. The ioreq
 * servers (serve.c) live as long as the context: xgpumapd's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xen/xen.h"

/* xentoollog messages go to the library's log callback at debug level, so
 * the CLI shows them only with -v. */
static void log_vmessage(struct xentoollog_logger *l, xentoollog_level level,
			 int errnoval, const char *context, const char *fmt,
			 va_list al)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, al);
	if (errnoval >= 0)
		xgm_debug("%s: %s: %s", context ? context : "xen", buf,
			  strerror(errnoval));
	else
		xgm_debug("%s: %s", context ? context : "xen", buf);
}

static void log_progress(struct xentoollog_logger *l, const char *context,
			 const char *doing_what, int percent,
			 unsigned long done, unsigned long total)
{
}

static void log_destroy(struct xentoollog_logger *l)
{
}

static bool control_domain(void)
{
	char caps[128] = "";
	FILE *f = fopen("/proc/xen/capabilities", "r");

	if (f) {
		if (!fgets(caps, sizeof(caps), f))
			caps[0] = '\0';
		fclose(f);
	}
	return strstr(caps, "control_d");
}

/* Only AMD's paths run under QEMU TCG; NPT has no p2m dump key. */
static bool amd_host(void)
{
	char line[256];
	bool amd = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "vendor_id", 9)) {
			amd = strstr(line, "AuthenticAMD") || strstr(line, "HygonGenuine");
			break;
		}
	}
	fclose(f);
	return amd;
}

static void xen_close(void *priv)
{
	struct xen_priv *p = priv;

	if (!p)
		return;
	xen_servers_close(p);
	xen_dmabufs_close(p);
	xen_lock_close(p);
#ifdef XGM_HAVE_DRM
	drm_gpu_close(&p->gpu);
	drm_gpu_close(&p->ram);
#endif
	xen_bufid_close(p);
	if (p->lx)
		libxl_ctx_free(p->lx);
	if (p->xsh)
		xs_close(p->xsh);
	if (p->xch)
		xc_interface_close(p->xch);
	free(p);
}

static int xen_open(const struct xgm_ctx_opts *opts, struct xgm_opened *out,
		    void **priv)
{
	struct xen_priv *p;
	int ret;

	if (!control_domain())
		return xgm_fail(-ENODEV, "the xen backend needs the Xen control "
				"domain (dom0): /proc/xen/capabilities does not "
				"say control_d");
	if (geteuid() != 0)
		return xgm_fail(-EPERM, "the xen backend needs root in dom0");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->log.vtable.vmessage = log_vmessage;
	p->log.vtable.progress = log_progress;
	p->log.vtable.destroy = log_destroy;
	p->amd = amd_host();
	p->lock_fd = -1;
	xen_dmabufs_init(p);
#ifdef XGM_HAVE_DRM
	drm_gpu_init(&p->gpu);
	drm_gpu_init(&p->ram);
#endif
	p->xch = xc_interface_open(&p->log.vtable, &p->log.vtable, 0);
	if (!p->xch) {
		ret = xgm_fail(-errno ?: -EIO, "cannot open libxenctrl "
			       "(is /dev/xen/privcmd there? load xen-privcmd): %s",
			       strerror(errno));
		goto fail;
	}
	p->xsh = xs_open(0);
	if (!p->xsh) {
		ret = xgm_fail(-errno ?: -EIO, "cannot reach xenstore (is "
			       "xenstored running?): %s", strerror(errno));
		goto fail;
	}
	if (libxl_ctx_alloc(&p->lx, LIBXL_VERSION, 0, &p->log.vtable)) {
		p->lx = NULL;
		ret = xgm_fail(-EIO, "cannot open libxenlight");
		goto fail;
	}
	if (opts->access == XGM_ACCESS_WRITE) {
		ret = xen_store_setup(p);
		if (ret)
			goto fail;
	}
#ifdef XGM_HAVE_DRM
	/* xgpumapd takes the VRAM card as it starts: the first process to
	 * open a DRM device is its master, and only the master may probe its
	 * outputs and scan a buffer out (how bochs pins one into VRAM). A VMM
	 * that opened the card first would hold that, and no buffer it
	 * handed over could be placed. Not fatal: a host may have no such
	 * card, and the first buffer made on one names what is wrong. */
	if (opts->flags & XGM_CTX_SERVES && drm_gpu_open(&p->gpu, NULL, true)) {
		xgm_warn("%s (no VRAM buffer can be made or taken yet)",
			 xgm_last_error());
		xgm_clear_error();
	}
#endif
	*priv = p;
	return 0;
fail:
	xen_close(p);
	return ret;
}

struct xgm_counters *xen_counters_of(struct xen_priv *p, uint32_t domid)
{
	for (size_t i = 0; i < p->nr_dom; i++)
		if (p->dom[i].domid == domid)
			return &p->dom[i].c;
	if (p->nr_dom == XEN_MAX_DOMS)
		return NULL;
	p->dom[p->nr_dom].domid = domid;
	return &p->dom[p->nr_dom++].c;
}

void xen_count(struct xen_priv *p, uint32_t domid, uint64_t hypercalls,
	       uint64_t entries)
{
	struct xgm_counters *c = xen_counters_of(p, domid);

	p->total.hypercalls += hypercalls;
	p->total.p2m_entries += entries;
	if (c) {
		c->hypercalls += hypercalls;
		c->p2m_entries += entries;
	}
}

/* Only what this process did: hypercalls it made and the p2m entries
 * those wrote (by Xen's rule); Xen does not expose the rest. */
static int xen_counters(void *priv, int32_t domid, struct xgm_counters *out)
{
	struct xen_priv *p = priv;
	struct xgm_counters *c;

	memset(out, 0, sizeof(*out));
	if (domid < 0) {
		*out = p->total;
		return 0;
	}
	c = xen_counters_of(p, (uint32_t)domid);
	if (c)
		*out = *c;
	return 0;
}

static const struct xgm_hv_ops xen_hv_ops = {
	.name = "xen",
	.open = xen_open,
	.close = xen_close,
	.begin = xen_begin,
	.end = xen_end,
	.domain_list = xen_domain_list,
	.domain_info = xen_domain_info,
	.iomem_permission = xen_iomem_permission,
	.memory_mapping = xen_memory_mapping,
	.p2m_walk = xen_p2m_walk,
	.iommu_walk = xen_iommu_walk,
	.store_read = xen_store_read,
	.store_write = xen_store_write,
	.store_rm = xen_store_rm,
	.counters = xen_counters,
	.store_list = xen_store_list,
	.guest_publish = xen_guest_publish,
	.p2m_source = xen_p2m_source,
	.pause = xen_domain_pause,
	.ioreq_map_range = xen_ioreq_map_range,
	.ioreq_list = xen_ioreq_list,
	.ioreq_serve = xen_ioreq_serve,
	.ioreq_revoke = xen_ioreq_revoke,
	.ioreq_reap = xen_ioreq_reap,
	.serve_fd = xen_serve_fd,
	.serve = xen_serve,
};

const struct xgm_backend xgm_backend_xen = {
	.kind = XGM_BACKEND_XEN,
	.hv = &xen_hv_ops,
	.gpu = &xen_gpu_ops,
};
