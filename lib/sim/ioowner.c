// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Who runs a simulated ioreq server, so that it outlives its process as
 * a server does on Xen (lib/xen/ioreap.c): a context that hosts servers
 * for a long life (xgpumapd's, opened with XGM_CTX_SERVES) owns the one
 * server it makes for a domain, recorded as the xen backend records it,
 * /xgpumap-hv/ioreq/DOMID = "0 PID START" in the sim's store (the sim's
 * server of a domain is id 0). Killed without its teardown, that process
 * leaves the claim in place and nobody to answer: the guest's next access
 * there would wait for ever (sim guest-read says so) until a reap drops
 * the claim. A server claimed by a short-lived context (a command run
 * with no daemon) is the host's own, answered from the records as before,
 * and never stale.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "sim/model.h"
#include "sim/state_rows.h"
#include "util/log.h"
#include "util/proc.h"

#define IOREQ_DIR "/xgpumap-hv/ioreq"

static void owner_path(char *buf, size_t len, uint32_t domid)
{
	snprintf(buf, len, IOREQ_DIR "/%u", domid);
}

int sim_ioowner_update(struct sim_priv *p, uint32_t domid, bool had, bool has,
		       bool serves)
{
	char path[64], val[64], self[48];

	p->owner_dom = -1;
	owner_path(path, sizeof(path), domid);
	if (had && !has) {
		int ret = sim_rows_store_rm(p->file, path, p->undo);

		return ret == -ENOENT ? 0 : ret;
	}
	if (had || !has || !serves)
		return 0;
	xgm_proc_self(self, sizeof(self));
	snprintf(val, sizeof(val), "0 %s", self);
	return sim_rows_store_put(p->file, path, val, p->undo);
}

int sim_ioowner_stale(struct sim_priv *p, uint32_t domid, long *pid)
{
	char path[64], *v = NULL;
	unsigned int id;
	uint64_t start;
	int ret;

	if (p->owner_dom == domid) {
		*pid = p->owner_pid;
		return p->owner_stale;
	}
	owner_path(path, sizeof(path), domid);
	ret = sim_rows_store_get(p->file, path, &v);
	if (ret && ret != -ENOENT)
		return ret;
	ret = !ret && sscanf(v, "%u %ld %" SCNu64, &id, pid, &start) == 3 &&
	      !xgm_proc_alive(*pid, start);
	free(v);
	p->owner_dom = domid;
	p->owner_stale = ret;
	p->owner_pid = ret ? *pid : 0;
	return ret;
}

struct reap {
	struct sim_priv *p;
	struct xgm_ioreq_reaped *out;
	size_t n, cap;
	int ret;
};

/* Destroying the server drops all its claims: Xen's null handler then
 * answers there (all-ones), as on Xen. */
static int drop_claims(struct sim_model *m, uint32_t domid)
{
	struct sim_domain *d;
	int ret = sim_dom_find(m, domid, &d);

	while (!ret && d->ioreq.nr)
		ret = sim_ioreq_map_range(m, domid, d->ioreq.r[0].s,
					  d->ioreq.r[0].e, false);
	return ret == -ENOENT ? 0 : ret; /* the domain went with its server */
}

int sim_ioowner_reap_dom(struct sim_priv *p, uint32_t domid)
{
	char path[64];
	long pid;
	int ret = sim_ioowner_stale(p, domid, &pid);

	if (ret <= 0)
		return ret;
	p->owner_dom = -1;
	owner_path(path, sizeof(path), domid);
	return drop_claims(p->m, domid) ?: sim_rows_store_rm(p->file, path, p->undo);
}

static int reap_one(const char *path, const char *value, void *arg)
{
	struct reap *r = arg;
	unsigned long domid;
	char *end;
	long pid;

	domid = strtoul(path + strlen(IOREQ_DIR "/"), &end, 10);
	if (*end || domid > UINT16_MAX)
		return 0;
	r->ret = sim_ioowner_stale(r->p, (uint32_t)domid, &pid);
	if (r->ret <= 0)
		return r->ret;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 4;
		struct xgm_ioreq_reaped *o = realloc(r->out, cap * sizeof(*o));

		if (!o)
			return r->ret = -ENOMEM;
		r->out = o;
		r->cap = cap;
	}
	r->out[r->n++] = (struct xgm_ioreq_reaped){ (uint32_t)domid, 0 };
	return 0;
}

int sim_ioowner_reap(struct sim_priv *p, struct xgm_ioreq_reaped **out,
		     size_t *count)
{
	struct reap r = { .p = p };
	int ret = sim_rows_store_walk(p->file, IOREQ_DIR, reap_one, &r);

	if (ret == -ENOENT)
		ret = 0;
	if (!ret)
		ret = r.ret < 0 ? r.ret : 0;
	/* The claims and records go after the walk, which reads the store. */
	for (size_t i = 0; !ret && i < r.n; i++)
		ret = sim_ioowner_reap_dom(p, r.out[i].domid);
	if (ret) {
		free(r.out);
		return ret;
	}
	*out = r.out;
	*count = r.n;
	return 0;
}
