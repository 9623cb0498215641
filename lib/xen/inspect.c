// SPDX-License-Identifier: LGPL-2.1-only
/*
 * What stock Xen lets dom0 see of a p2m and of IOMMU tables.
 *
 * There is no hypercall that reads another domain's p2m. Xen prints two
 * dumps on its console for debug keys: 'D' (VT-x EPT only, no p2m type)
 * and 'o' (IOMMU tables, skipping the hardware domain and domains that
 * share the EPT). On AMD NPT - the only HAP under QEMU TCG - there is no
 * p2m dump at all. So p2m_walk answers from this backend's record of what
 * it mapped (mapping.c), says so through p2m_source, and the mmio
 * strategy's unmap, which walks for mmio_direct leaves, finds exactly
 * what xgpumap put there. The IOMMU walk is live where Xen dumps it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xen/dump_parse.h"
#include "xen/xen.h"

#define RING_MAX (4u << 20)

int xen_p2m_walk(void *priv, uint32_t domid, uint64_t first, uint64_t last,
		 xgm_p2m_walk_fn fn, void *arg)
{
	struct xen_priv *p = priv;
	struct xen_map_rec *r;
	size_t n;
	int ret = xen_map_records(p, domid, &r, &n);

	for (size_t i = 0; !ret && i < n; i++) {
		uint64_t done = 0;

		if (r[i].gfn > last || r[i].gfn + r[i].nr - 1 < first)
			continue;
		/* The leaves Xen wrote, by its own rule (mmio_order). */
		while (!ret && done < r[i].nr) {
			struct xgm_p2m_entry e = {
				.gfn = r[i].gfn + done, .mfn = r[i].mfn + done,
				.order = (uint8_t)xen_mmio_order(r[i].gfn + done,
						r[i].mfn + done, r[i].nr - done),
				.type = XGM_P2M_MMIO_DIRECT, .access = 6,
				/* NPT: _PAGE_UCM; EPT: UC, guest PAT applies. */
				.emt = p->amd ? XGM_MT_UC_MINUS : XGM_MT_UC,
			};

			done += 1ULL << e.order;
			if (e.gfn + (1ULL << e.order) - 1 < first || e.gfn > last)
				continue;
			ret = fn(&e, arg);
		}
	}
	free(r);
	return ret;
}

int xen_p2m_source(void *priv, uint32_t domid, char *note, size_t len)
{
	struct xen_priv *p = priv;

	snprintf(note, len, "%s: recorded, not read from Xen: these are the "
		 "mappings xgpumap made (entries by Xen's mmio_order rule); "
		 "the guest's RAM is not shown", p->amd ?
		 "AMD NPT has no p2m dump (debug key 'D' is VT-x only)" :
		 "Xen's EPT dump (debug key 'D') has no p2m type");
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static int read_ring(struct xen_priv *p, char **out, unsigned int *len)
{
	unsigned int size = RING_MAX;
	uint32_t index = 0;
	char *buf = malloc(size + 1);

	if (!buf)
		return -ENOMEM;
	if (xc_readconsolering(p->xch, buf, &size, 0, 0, &index)) {
		free(buf);
		return xgm_fail(-errno ?: -EIO, "cannot read Xen's console ring: %s",
				strerror(errno));
	}
	xen_count(p, 0, 1, 0);
	buf[size] = '\0';
	*out = buf;
	*len = size;
	return 0;
}

/* The text after the last "'K' pressed -> " in the ring. Xen runs most
 * key handlers in a tasklet, so the dump shows up a little later. */
int xen_debug_key_text(struct xen_priv *p, char key, char **text)
{
	char keys[2] = { key, '\0' }, marker[24], *ring = NULL;
	unsigned int len = 0;
	int ret;

	snprintf(marker, sizeof(marker), "'%c' pressed -> ", key);
	if (xc_send_debug_keys(p->xch, keys))
		return xgm_fail(-errno ?: -EIO, "cannot send debug key '%c' to "
				"Xen: %s", key, strerror(errno));
	xen_count(p, 0, 1, 0);
	for (int tries = 0; tries < 20; tries++) {
		char *m, *last = NULL;

		sleep_ms(tries ? 100 : 20);
		free(ring);
		ret = read_ring(p, &ring, &len);
		if (ret)
			return ret;
		for (m = strstr(ring, marker); m; m = strstr(m + 1, marker))
			last = m;
		/* Wait a little for the dump itself to follow the marker. */
		if (last && (tries >= 3 || strchr(last, '\n') != strrchr(last, '\n'))) {
			*text = strdup(last);
			free(ring);
			return *text ? 0 : -ENOMEM;
		}
	}
	free(ring);
	return xgm_fail(-ETIMEDOUT, "Xen printed nothing for debug key '%c' "
			"(is the console ring large enough? conring_size=)", key);
}

struct clip {
	uint64_t first, last;
	xgm_p2m_walk_fn fn;
	void *arg;
};

static int clipped(const struct xgm_p2m_entry *e, void *arg)
{
	struct clip *c = arg;

	if (e->gfn > c->last || e->gfn + (1ULL << e->order) - 1 < c->first)
		return 0;
	return c->fn(e, c->arg);
}

int xen_iommu_walk(void *priv, uint32_t domid, uint64_t first, uint64_t last,
		   xgm_p2m_walk_fn fn, void *arg)
{
	struct xen_priv *p = priv;
	struct clip c = { first, last, fn, arg };
	char *text;
	int ret;

	if (domid == 0)
		return xgm_fail(-EOPNOTSUPP, "Xen's IOMMU dump (debug key 'o') "
				"skips the hardware domain: dom0's DMA map cannot "
				"be read on stock Xen");
	if (!p->amd)
		return xgm_fail(-EOPNOTSUPP, "on VT-d Xen dumps only the tables "
				"it does not share with the EPT; this backend "
				"parses AMD-Vi's dump");
	ret = xen_debug_key_text(p, 'o', &text);
	if (ret)
		return ret;
	ret = xen_parse_iommu_dump(text, strlen(text), domid, clipped, &c);
	free(text);
	if (ret == -ENOENT)
		return xgm_fail_instead(-ENODATA, "Xen's IOMMU dump has no table for d%u "
				"(no device assigned, or tables shared)", domid);
	return ret < 0 ? ret : 0;
}
