// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The simulated host's topology: validating what the user asked for and
 * laying the host out.
 *
 * Machine layout (a typical x86 server): the first MiB is firmware's and
 * Xen's, RAM up to 3 GiB, the PCI hole 3-4 GiB, the rest of the RAM above
 * 4 GiB, and each GPU's VRAM BAR above the RAM at a naturally aligned
 * address, at least 256 GiB (0x4000000000) as 64-bit prefetchable BARs
 * usually are. Xen keeps 32 MiB plus its frame table, 32 bytes of
 * struct page_info per 4 KiB frame (1/128 of RAM).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define TIB (1ull << 40)

#define HOST_MAX_RAM      (4 * TIB)
#define GUEST_MIN_MEM     (16 * MIB)
#define DOM0_MIN_MEM      (512 * MIB)
#define MAX_VCPUS         128
#define DOM0_VCPUS        4
#define LOW_RAM_END_MFN   0xC0000ull  /* 3 GiB */
#define HOLE_END_MFN      0x100000ull /* 4 GiB */
#define BAR_MIN_MFN       0x4000000ull /* 256 GiB */
#define HOST_SLACK        (1 * GIB)   /* free heap left for Xen */

/* Dom0's iomem holes: the LAPIC, the first IO-APIC and the HPET
 * (dom0_setup_permissions(), xen/arch/x86/dom0_build.c). */
static const uint64_t dom0_denied_mfns[] = { 0xFEE00, 0xFEC00, 0xFED00 };

static const struct xgm_sim_guest default_guests[] = {
	{ "vm1", XGM_DOM_PVH, 2 * GIB, 2 },
	{ "vm2", XGM_DOM_HVM, 4 * GIB, 4 },
	{ "vm3", XGM_DOM_PV, 1 * GIB, 1 },
};

static const char *const xen_names[] = {
	"4.17.0", "4.17.1", "4.17.2", "4.17.3", "4.17.4", "4.17.5", "4.17.6",
	"4.17.7",
};

int sim_xen_parse(const char *s, unsigned int *version)
{
	if (s && !strcmp(s, "master")) {
		*version = SIM_XEN_MASTER;
		return 0;
	}
	for (unsigned int i = 0; i < sizeof(xen_names) / sizeof(xen_names[0]); i++) {
		if (s && !strcmp(s, xen_names[i])) {
			*version = SIM_XEN(4, 17, i);
			return 0;
		}
	}
	return -EINVAL;
}

const char *sim_xen_name(unsigned int version)
{
	if (version == SIM_XEN_MASTER)
		return "master";
	if (version >= SIM_XEN(4, 17, 0) && version <= SIM_XEN(4, 17, 7))
		return xen_names[version - SIM_XEN(4, 17, 0)];
	return "unknown";
}

void sim_topo_default(struct sim_topology *t)
{
	memset(t, 0, sizeof(*t));
	t->dom0_type = XGM_DOM_PVH;
	t->iommu = XGM_IOMMU_INTEL;
	t->vram_bytes = 16 * GIB;
	t->dom0_mem_bytes = 4 * GIB;
	t->guests = default_guests;
	t->nr_guests = sizeof(default_guests) / sizeof(default_guests[0]);
	t->seed = 1;
	t->xen_version = SIM_XEN_DEFAULT;
	t->gnttab_max_frames = SIM_GNTTAB_MAX_FRAMES;
}

bool sim_name_valid(const char *name)
{
	size_t len = strnlen(name, XGM_DOMAIN_NAME_MAX);
	bool digits = true;

	if (!len || len >= XGM_DOMAIN_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
		if (!isdigit(c))
			digits = false;
	}
	return !digits;
}

static int check_mem(const char *who, uint64_t bytes, uint64_t min)
{
	char have[XGM_SIZE_STR], need[XGM_SIZE_STR];

	if (bytes < min)
		return xgm_fail(-EINVAL, "%s: memory %s is below the minimum "
				"of %s", who, xgm_size_str(bytes, have),
				xgm_size_str(min, need));
	if (bytes % MIB)
		return xgm_fail(-EINVAL, "%s: memory must be a whole number of "
				"MiB", who);
	if (bytes > HOST_MAX_RAM)
		return xgm_fail(-EINVAL, "%s: memory %s does not fit a host of "
				"at most %s", who, xgm_size_str(bytes, have),
				xgm_size_str(HOST_MAX_RAM, need));
	return 0;
}

int sim_topo_validate(const struct sim_topology *t)
{
	uint64_t total;
	int ret;

	if (t->dom0_type != XGM_DOM_PV && t->dom0_type != XGM_DOM_PVH)
		return xgm_fail(-EINVAL, "dom0 must be pv or pvh");
	if (t->iommu != XGM_IOMMU_INTEL && t->iommu != XGM_IOMMU_AMD)
		return xgm_fail(-EINVAL, "unknown IOMMU vendor");
	if (t->vram_bytes < 2 * MIB || (t->vram_bytes & (t->vram_bytes - 1)))
		return xgm_fail(-EINVAL, "VRAM size must be a power of two and "
				"a multiple of 2 MiB (a BAR is naturally "
				"aligned)");
	if (!strcmp(sim_xen_name(t->xen_version), "unknown"))
		return xgm_fail(-EINVAL, "unknown Xen version");
	if (t->extensions & ~XGM_EXT_ALL)
		return xgm_fail(-EINVAL, "unknown hypervisor extension");
	if (!t->gnttab_max_frames || t->gnttab_max_frames > SIM_GNTTAB_FRAMES_LIMIT)
		return xgm_fail(-EINVAL, "gnttab_max_frames must be 1 to %u",
				SIM_GNTTAB_FRAMES_LIMIT);
	if (t->vram_bytes > TIB)
		return xgm_fail(-EINVAL, "VRAM size above 1 TiB is not "
				"supported");
	ret = check_mem("dom0", t->dom0_mem_bytes, DOM0_MIN_MEM);
	if (ret)
		return ret;
	if (t->nr_guests > XGM_SIM_MAX_GUESTS)
		return xgm_fail(-EINVAL, "at most %d guests", XGM_SIM_MAX_GUESTS);
	if (t->nr_guests && !t->guests)
		return -EINVAL;
	total = t->dom0_mem_bytes;
	for (size_t i = 0; i < t->nr_guests; i++) {
		const struct xgm_sim_guest *g = &t->guests[i];

		if (!sim_name_valid(g->name))
			return xgm_fail(-EINVAL, "guest %zu: invalid name (1-63 "
					"characters of A-Z a-z 0-9 _ . -, not "
					"all digits)", i + 1);
		if (!strcmp(g->name, "Domain-0"))
			return xgm_fail(-EINVAL, "guest name Domain-0 is dom0's");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t->guests[j].name, g->name))
				return xgm_fail(-EINVAL, "duplicate guest name "
						"%s", g->name);
		if (g->type != XGM_DOM_PV && g->type != XGM_DOM_PVH &&
		    g->type != XGM_DOM_HVM)
			return xgm_fail(-EINVAL, "guest %s: unknown type",
					g->name);
		/* A PV guest's IOMMU context (its pages mapped as they are
		 * typed) is not modelled. */
		if (g->passthrough && g->type == XGM_DOM_PV)
			return xgm_fail(-EINVAL, "guest %s: passthrough is "
					"modelled for pvh and hvm guests only",
					g->name);
		ret = check_mem(g->name, g->mem_bytes, GUEST_MIN_MEM);
		if (ret)
			return ret;
		if (!g->vcpus || g->vcpus > MAX_VCPUS)
			return xgm_fail(-EINVAL, "guest %s: vcpus must be 1-%d",
					g->name, MAX_VCPUS);
		total += g->mem_bytes;
		if (total > HOST_MAX_RAM)
			return xgm_fail(-EINVAL, "the domains' memory does not "
					"fit a host of at most %llu GiB",
					(unsigned long long)(HOST_MAX_RAM / GIB));
	}
	return 0;
}

static void all_dirty(struct sim_domain *d)
{
	for (uint32_t v = 0; v < d->vcpus; v++)
		d->dirty_vcpus[v / 64] |= 1ull << (v % 64);
}

static struct sim_domain *dom_new(uint32_t domid, const char *name,
				  enum xgm_dom_type type, uint64_t mem,
				  uint32_t vcpus)
{
	struct sim_domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->domid = domid;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->type = type;
	d->state = XGM_DOM_RUNNING;
	d->tot_pages = mem >> 12;
	d->max_pages = d->tot_pages;
	d->vcpus = vcpus;
	all_dirty(d);
	return d;
}

static int layout_host(struct sim_model *m, const struct sim_topology *t,
		       uint64_t *ram_end)
{
	uint64_t want = t->dom0_mem_bytes, ram, high;
	struct sim_mfn_run *xen = NULL;
	size_t nr_xen = 0;
	int ret;

	for (size_t i = 0; i < t->nr_guests; i++)
		want += t->guests[i].mem_bytes;
	m->xen_pages = (32 * MIB + want / 128) >> 12;
	ram = (want + (m->xen_pages << 12) + HOST_SLACK + GIB - 1) & ~(GIB - 1);
	/* The RAM below the hole is always all there: a small topology
	 * must not make the RAM above it negative (an unloadable state). */
	if (ram < LOW_RAM_END_MFN << 12)
		ram = LOW_RAM_END_MFN << 12;
	m->ram_pages = ram >> 12;
	high = m->ram_pages - LOW_RAM_END_MFN;
	ret = sim_mem_set_owner(m, 0, 0x100, SIM_OWNER_XEN, 0);
	if (!ret)
		ret = sim_mem_set_owner(m, 0x100, LOW_RAM_END_MFN - 0x100,
				    SIM_OWNER_FREE, 0);
	if (!ret)
		ret = sim_mem_set_owner(m, LOW_RAM_END_MFN,
				    HOLE_END_MFN - LOW_RAM_END_MFN,
				    SIM_OWNER_IO, SIM_DEV_PCI_HOLE);
	if (!ret && high)
		ret = sim_mem_set_owner(m, HOLE_END_MFN, high, SIM_OWNER_FREE, 0);
	/* Xen's heap metadata and image; the first MiB is already Xen's. */
	if (!ret)
		ret = sim_mem_alloc(m, SIM_OWNER_XEN, m->xen_pages - 0x100, &xen,
				&nr_xen);
	free(xen);
	*ram_end = HOLE_END_MFN + high;
	return ret;
}

static int add_dom0(struct sim_model *m, const struct sim_topology *t)
{
	struct sim_domain *d = dom_new(0, "Domain-0", t->dom0_type,
				       t->dom0_mem_bytes, DOM0_VCPUS);
	uint64_t top = (1ull << (m->paddr_bits - 12)) - 1;
	int ret;

	if (!d)
		return -ENOMEM;
	d->is_dom0 = true;
	d->passthrough = true; /* the hardware domain always has a context */
	/* The whole physical range, minus the platform's interrupt
	 * controllers and timer. */
	ret = sim_rs_add(&d->iomem, 0, top);
	for (size_t i = 0; !ret && i < sizeof(dom0_denied_mfns) /
					  sizeof(dom0_denied_mfns[0]); i++)
		ret = sim_rs_remove(&d->iomem, dom0_denied_mfns[i],
				dom0_denied_mfns[i]);
	if (!ret)
		ret = sim_dom_add(m, d);
	if (ret) {
		sim_dom_free(d);
		return ret;
	}
	return sim_dom_build_ram(m, d);
}

int sim_topo_build(const struct sim_topology *t, struct sim_model **out)
{
	struct sim_model *m = sim_model_new();
	uint64_t ram_end = 0, bar, vram_pages = t->vram_bytes >> 12;
	int ret;

	if (!m)
		return -ENOMEM;
	m->seed = t->seed;
	m->iommu = t->iommu;
	m->extensions = t->extensions;
	m->xen_version = t->xen_version;
	m->gnttab_max_frames = t->gnttab_max_frames;
	ret = layout_host(m, t, &ram_end);
	if (ret)
		goto fail;
	bar = ram_end > BAR_MIN_MFN ? ram_end : BAR_MIN_MFN;
	bar = (bar + vram_pages - 1) & ~(vram_pages - 1);
	ret = sim_gpu_add(m, "card0", t->vram_bytes, bar);
	if (!ret)
		ret = add_dom0(m, t);
	for (size_t i = 0; !ret && i < t->nr_guests; i++) {
		const struct xgm_sim_guest *g = &t->guests[i];
		struct sim_domain *d = dom_new((uint32_t)i + 1, g->name, g->type,
					       g->mem_bytes, g->vcpus);

		if (!d) {
			ret = -ENOMEM;
			break;
		}
		d->passthrough = g->passthrough;
		/* Balloon headroom of a quarter (maxmem = 1.25 x memory), so
		 * the transfer extension has room to work with. */
		d->max_pages = d->tot_pages + d->tot_pages / 4;
		ret = sim_dom_add(m, d);
		if (ret) {
			sim_dom_free(d);
			break;
		}
		ret = sim_dom_build_ram(m, d);
	}
	if (ret)
		goto fail;
	*out = m;
	return 0;
fail:
	sim_model_free(m);
	return ret;
}
