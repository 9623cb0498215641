// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Which process owns each ioreq server, so that one left by a process
 * that died without its teardown (kill -9) can be found and destroyed.
 *
 * A server outlives its process in Xen: the guest's next access to an
 * unmapped gfn it claims is sent to it and the vCPU waits for an answer
 * nobody will give. Xen 4.17 cannot list a domain's ioreq servers, so each
 * one is recorded when made, XS_HV_ROOT/ioreq/DOMID = "ID PID START"
 * (util/proc.h: a recycled pid is not taken for the owner), and its
 * record goes when it is destroyed. A server
 * made but killed before its record was written is the one case this
 * cannot see (a few hypercalls wide).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xendevicemodel.h>

#include "util/proc.h"
#include "xen/xen.h"

#define IOREQ_DIR XS_HV_ROOT "/ioreq"

int xen_ioreq_record(struct xen_priv *p, uint32_t domid, unsigned int id)
{
	char path[96], val[64], self[48];

	snprintf(path, sizeof(path), IOREQ_DIR "/%u", domid);
	xgm_proc_self(self, sizeof(self));
	snprintf(val, sizeof(val), "%u %s", id, self);
	if (!xs_write(p->xsh, XBT_NULL, path, val, strlen(val)))
		return xgm_fail(-errno, "xenstore write %s: %s (the ioreq server "
				"of d%u would not be found after a crash)", path,
				strerror(errno), domid);
	return 0;
}

void xen_ioreq_unrecord(struct xen_priv *p, uint32_t domid)
{
	char path[96];

	snprintf(path, sizeof(path), IOREQ_DIR "/%u", domid);
	if (!xs_rm(p->xsh, XBT_NULL, path) && errno != ENOENT)
		xgm_warn("xenstore rm %s: %s", path, strerror(errno));
}

/* Destroys domid's recorded server if its owner is gone: 1 if it did. */
static int reap_one(struct xen_priv *p, xendevicemodel_handle *dm,
		    uint32_t domid, unsigned int *id)
{
	char path[96], *v;
	unsigned int len;
	long pid;
	uint64_t start;

	snprintf(path, sizeof(path), IOREQ_DIR "/%u", domid);
	v = xs_read(p->xsh, XBT_NULL, path, &len);
	if (!v)
		return 0;
	if (sscanf(v, "%u %ld %" SCNu64, id, &pid, &start) != 3) {
		xgm_warn("%s: malformed record '%.40s': dropped", path, v);
		free(v);
		xen_ioreq_unrecord(p, domid);
		return 0;
	}
	free(v);
	if (xgm_proc_alive(pid, start))
		return 0;
	/* A domain that is gone took its servers with it. */
	if (xendevicemodel_destroy_ioreq_server(dm, domid, (ioservid_t)*id) &&
	    errno != ESRCH && errno != ENOENT)
		return xgm_fail(-errno, "cannot destroy ioreq server %u of d%u, "
				"left by process %ld: %s", *id, domid, pid,
				strerror(errno));
	xgm_info("ioreq server %u of d%u destroyed: its process %ld is gone",
		 *id, domid, pid);
	xen_ioreq_unrecord(p, domid);
	return 1;
}

int xen_ioreq_reap_dom(struct xen_priv *p, uint32_t domid)
{
	xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
	unsigned int id;
	int ret;

	if (!dm)
		return xgm_fail(-errno ?: -EIO, "cannot open libxendevicemodel: %s",
				strerror(errno));
	ret = reap_one(p, dm, domid, &id);
	xendevicemodel_close(dm);
	return ret < 0 ? ret : 0;
}

int xen_ioreq_reap(void *priv, struct xgm_ioreq_reaped **out, size_t *count)
{
	struct xen_priv *p = priv;
	xendevicemodel_handle *dm;
	unsigned int n = 0;
	char **names;
	int ret = 0;

	*out = NULL;
	*count = 0;
	names = xs_directory(p->xsh, XBT_NULL, IOREQ_DIR, &n);
	if (!names || !n) {
		free(names);
		return 0;
	}
	dm = xendevicemodel_open(NULL, 0);
	*out = calloc(n, sizeof(**out));
	if (!dm || !*out) {
		ret = dm ? -ENOMEM : xgm_fail(-errno ?: -EIO, "cannot open "
					      "libxendevicemodel: %s", strerror(errno));
		goto done;
	}
	for (unsigned int i = 0; ret >= 0 && i < n; i++) {
		char *end;
		unsigned long d = strtoul(names[i], &end, 10);
		unsigned int id;

		if (*end || d > UINT16_MAX)
			continue;
		ret = reap_one(p, dm, (uint32_t)d, &id);
		if (ret > 0)
			(*out)[(*count)++] = (struct xgm_ioreq_reaped){ (uint32_t)d, id };
	}
done:
	if (dm)
		xendevicemodel_close(dm);
	free(names);
	if (ret < 0) {
		free(*out);
		*out = NULL;
		*count = 0;
		return ret;
	}
	return 0;
}
