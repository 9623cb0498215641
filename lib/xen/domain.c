// SPDX-License-Identifier: LGPL-2.1-only
/* Domains through libxenlight, with the few facts only libxenctrl has. */
#include <stdlib.h>
#include <string.h>

#include "xen/xen.h"

/*
 * libxl's list calls every translated domain "hvm". Xen's emulation flags
 * tell them apart: an HVM guest has the emulated PIT (and the rest of the
 * PC platform), a PVH domain - guest or dom0 - has at most LAPIC, IOAPIC
 * and vPCI.
 */
static enum xgm_dom_type dom_type(struct xen_priv *p, const libxl_dominfo *i)
{
	xc_domaininfo_t x;

	if (i->domain_type == LIBXL_DOMAIN_TYPE_PV)
		return XGM_DOM_PV;
	if (i->domain_type == LIBXL_DOMAIN_TYPE_PVH)
		return XGM_DOM_PVH;
	if (xc_domain_getinfolist(p->xch, i->domid, 1, &x) == 1 &&
	    x.domain == i->domid)
		return (x.arch_config.emulation_flags & XEN_X86_EMU_PIT) ?
		       XGM_DOM_HVM : XGM_DOM_PVH;
	return XGM_DOM_HVM;
}

static enum xgm_dom_state dom_state(const libxl_dominfo *i)
{
	if (i->shutdown || i->dying)
		return i->shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH ?
		       XGM_DOM_CRASHED : XGM_DOM_SHUTDOWN;
	if (i->paused)
		return XGM_DOM_PAUSED;
	return XGM_DOM_RUNNING;
}

/*
 * What the IOMMU does for the domain, as far as dom0 can tell: a PV dom0
 * is identity-mapped; a PVH dom0 and a domain with passed-through devices
 * have their own tables on AMD-Vi, or share the EPT on VT-d; a guest
 * without devices has no IOMMU context.
 */
static enum xgm_iommu_mode iommu_mode(struct xen_priv *p, const libxl_dominfo *i,
				      enum xgm_dom_type t)
{
	libxl_device_pci *pci;
	int n = 0;

	if (i->domid == 0)
		return t == XGM_DOM_PV ? XGM_IOMMU_IDENTITY :
		       p->amd ? XGM_IOMMU_SEPARATE : XGM_IOMMU_SHARED;
	pci = libxl_device_pci_list(p->lx, i->domid, &n);
	if (pci)
		libxl_device_pci_list_free(pci, n);
	if (n <= 0)
		return XGM_IOMMU_NONE;
	return p->amd ? XGM_IOMMU_SEPARATE : XGM_IOMMU_SHARED;
}

static void fill(struct xen_priv *p, const libxl_dominfo *i,
		 struct xgm_domain_info *out)
{
	char *name = libxl_domid_to_name(p->lx, i->domid);
	xen_pfn_t gpfn = 0;

	memset(out, 0, sizeof(*out));
	out->domid = i->domid;
	snprintf(out->name, sizeof(out->name), "%s",
		 name ? name : i->domid ? "" : "Domain-0");
	if (!out->name[0])
		snprintf(out->name, sizeof(out->name), "domid%u", i->domid);
	free(name);
	out->type = dom_type(p, i);
	out->state = dom_state(i);
	out->is_dom0 = i->domid == 0;
	out->translated = out->type != XGM_DOM_PV;
	out->mem_bytes = i->current_memkb * 1024;
	out->max_mem_bytes = i->max_memkb * 1024;
	out->vcpus = i->vcpu_online;
	if (xc_domain_maximum_gpfn(p->xch, i->domid, &gpfn) >= 0)
		out->max_gpfn = gpfn;
	out->iommu = iommu_mode(p, i, out->type);
}

int xen_domain_list(void *priv, struct xgm_domain_info **out, size_t *count)
{
	struct xen_priv *p = priv;
	libxl_dominfo *l;
	int n = 0;

	l = libxl_list_domain(p->lx, &n);
	if (!l)
		return xgm_fail(-EIO, "libxl cannot list domains");
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out) {
		libxl_dominfo_list_free(l, n);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		fill(p, &l[i], &(*out)[i]);
	*count = (size_t)n;
	libxl_dominfo_list_free(l, n);
	return 0;
}

int xen_domain_info(void *priv, uint32_t domid, struct xgm_domain_info *out)
{
	struct xen_priv *p = priv;
	libxl_dominfo i;
	int ret;

	libxl_dominfo_init(&i);
	ret = libxl_domain_info(p->lx, &i, domid);
	if (ret == ERROR_DOMAIN_NOTFOUND) {
		libxl_dominfo_dispose(&i);
		return -ENOENT;
	}
	if (ret) {
		libxl_dominfo_dispose(&i);
		return xgm_fail(-EIO, "libxl cannot read domain %u (error %d)",
				domid, ret);
	}
	fill(p, &i, out);
	libxl_dominfo_dispose(&i);
	return 0;
}

/*
 * migrate --pause. XEN_DOMCTL_pausedomain waits until every vCPU is off
 * its pCPU (vcpu_sleep_sync), so when it returns no guest access can be in
 * flight; Xen counts pauses, so one an admin holds survives our unpause.
 */
int xen_domain_pause(void *priv, uint32_t domid, bool pause)
{
	struct xen_priv *p = priv;
	int err = 0;

	if (domid == 0)
		return xgm_fail(-EINVAL, "dom0 cannot pause itself");
	if (pause ? xc_domain_pause(p->xch, domid) :
		    xc_domain_unpause(p->xch, domid))
		err = errno ?: EIO;
	xen_count(p, domid, 1, 0);
	if (err)
		return xgm_fail(-err, "cannot %s domain %u: %s",
				pause ? "pause" : "unpause", domid, strerror(err));
	return 0;
}
