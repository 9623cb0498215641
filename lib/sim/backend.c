// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The simulated host as a backend: every op of struct xgm_hv_ops and
 * struct xgm_gpu_ops on top of the model. The state database is the host:
 * each engine operation takes its lock (begin), reads the host again if
 * another process wrote it, loads the domains it looks up, and writes the
 * rows it changed at each journal phase and at its end, so contexts that
 * live long (a VMM's) and CLI commands interleave as on a real host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"
#include "sim/state_file.h"
#include "sim/state_rows.h"

/* The model of the rows in the open transaction, in place of p's; the
 * engine's hooks (registered on the model) stay. */
static int reload(struct sim_priv *p)
{
	struct sim_rows *r = calloc(1, sizeof(*r));
	struct sim_model *m;
	int ret;

	if (!r)
		return -ENOMEM;
	ret = sim_rows_load(p->file, r, &m);
	if (ret) {
		free(r);
		return ret;
	}
	if (p->m) {
		m->move_notify = p->m->move_notify;
		m->move_arg = p->m->move_arg;
		m->ioreq_fn = p->m->ioreq_fn;
		m->ioreq_arg = p->m->ioreq_arg;
	}
	sim_model_free(p->m);
	if (p->rows)
		sim_rows_free(p->rows);
	free(p->rows);
	p->m = m;
	p->rows = r;
	return 0;
}

/* The default topology, written at once: the first use of a state path
 * creates the host as libvirt's test:///default does. */
static int create_default(struct sim_priv *p)
{
	struct sim_topology t;
	struct sim_model *m;
	int ret;

	sim_topo_default(&t);
	ret = sim_topo_build(&t, &m);
	if (ret)
		return ret;
	ret = sim_rows_write_all(p->file, m);
	sim_model_free(m);
	return ret ?: sim_state_commit(p->file);
}

#ifdef XGM_TEST_HOOKS
/*
 * Tests only: XGPUMAP_SIM_DRIVER_FREE=ID frees GPU buffer ID as its
 * driver would behind xgpumap's back (pinned or not), when the state is
 * opened; the open then writes. A released library has no such thing.
 */
static int driver_free_hook(struct sim_priv *p)
{
	const char *env = getenv("XGPUMAP_SIM_DRIVER_FREE");
	unsigned long long id;
	int ret;

	if (!env || sscanf(env, "%llu", &id) != 1)
		return 0;
	ret = sim_gpu_buf_pin(p->m, id, false) ?: sim_gpu_buf_free(p->m, id);
	return ret ?: sim_rows_save(p->rows, p->m, NULL) ?:
	       sim_state_commit(p->file);
}

static enum xgm_access hook_access(enum xgm_access a)
{
	return getenv("XGPUMAP_SIM_DRIVER_FREE") ? XGM_ACCESS_WRITE : a;
}
#else
static int driver_free_hook(struct sim_priv *p)
{
	(void)p;
	return 0;
}

static enum xgm_access hook_access(enum xgm_access a)
{
	return a;
}
#endif

static int be_open(const struct xgm_ctx_opts *opts, struct xgm_opened *out,
		   void **priv)
{
	struct sim_priv *p = calloc(1, sizeof(*p));
	bool exists;
	int ret;

	if (!p)
		return -ENOMEM;
	p->access = hook_access(opts->access);
	out->state_path = sim_state_resolve(opts->sim_state);
	if (!out->state_path) {
		free(p);
		return -errno;
	}
	ret = sim_state_open(out->state_path, p->access,
			     !(opts->flags & XGM_CTX_NO_CREATE), &p->file, &exists);
	if (ret) {
		free(p);
		return ret;
	}
	if (!exists) {
		ret = create_default(p);
		if (!ret)
			out->created = true;
	}
	if (!ret)
		ret = reload(p);
	if (!ret)
		ret = driver_free_hook(p);
	if (ret) {
		sim_model_free(p->m);
		if (p->rows)
			sim_rows_free(p->rows);
		free(p->rows);
		sim_state_close(p->file);
		free(p);
		return ret;
	}
	/* Between operations a context holds no lock (see be_begin). */
	p->per_op = !(opts->flags & XGM_CTX_NO_SYNC);
	p->serves = opts->flags & XGM_CTX_SERVES;
	p->owner_dom = -1;
	if (p->per_op)
		sim_state_unlock(p->file);
	*priv = p;
	return 0;
}

/* Makes the model durable now: at each journal phase of an operation, and
 * at its end. Needs the exclusive lock, which a write operation holds. */
static int be_sync(void *priv)
{
	struct sim_priv *p = priv;
	int ret;

	if (p->access != XGM_ACCESS_WRITE || !sim_state_writable(p->file))
		return xgm_fail(-EROFS, "the sim state was opened read-only");
	ret = sim_rows_save(p->rows, p->m, p->undo) ?: sim_state_commit(p->file);
	if (!ret)
		p->synced = true;
	return ret;
}

/* Every operation saved its own work: only a context locked for its life
 * has something left to make durable. */
static int be_commit(void *priv)
{
	struct sim_priv *p = priv;

	if (p->access != XGM_ACCESS_WRITE)
		return xgm_fail(-EROFS, "the sim state was opened read-only");
	return p->per_op ? 0 : be_sync(p);
}

static int be_begin(void *priv, bool write)
{
	struct sim_priv *p = priv;
	bool changed = false;
	int ret;

	p->owner_dom = -1;
	if (!p->per_op)
		return 0;
	ret = sim_state_lock(p->file, write);
	if (!ret)
		ret = sim_state_changed(p->file, &changed);
	if (!ret && (changed || p->stale))
		ret = reload(p);
	if (ret) {
		sim_state_unlock(p->file);
		return ret;
	}
	/* What failed to load last time is tried again. */
	p->m->src->err = 0;
	p->m->bsrc->err = 0;
	p->stale = false;
	return 0;
}

static int load_failure(const struct sim_model *m)
{
	if (m->src && m->src->err)
		return m->src->err;
	return m->bsrc && m->bsrc->err ? m->bsrc->err : 0;
}

static int be_end(void *priv, bool write, bool ok)
{
	struct sim_priv *p = priv;
	int ret = 0;

	if (!p->per_op)
		return 0;
	/* A domain or buffer that could not be read is the failure's cause,
	 * whatever the lookup that met it made of it. */
	if (ok)
		ret = load_failure(p->m);
	if (ret)
		ok = false;
	if (write && ok)
		ret = be_sync(p);
	if (write && (!ok || ret))
		p->stale = true;
	json_decref(p->undo);
	p->undo = NULL;
	/* What was not committed is rolled back. */
	sim_state_unlock(p->file);
	return ret;
}

/* The rows as the model has them now; from here every row's text before
 * its first write is kept, and restore puts them back. */
static int be_checkpoint(void *priv)
{
	struct sim_priv *p = priv;
	int ret;

	json_decref(p->undo);
	p->undo = NULL;
	p->synced = false;
	ret = sim_rows_save(p->rows, p->m, NULL);
	if (!ret) {
		p->undo = json_object();
		ret = p->undo ? 0 : -ENOMEM;
	}
	return ret;
}

/* Back to the checkpoint, byte for byte: the rows written since go back
 * to their texts then, and the model is read from them; the hooks the
 * engine installed stay. Durable when a journal phase made anything
 * durable meanwhile. */
static int be_restore(void *priv)
{
	struct sim_priv *p = priv;
	json_t *undo = p->undo;
	int ret;

	if (!undo)
		return 0;
	p->undo = NULL;
	ret = sim_rows_undo(p->file, p->m, undo);
	if (!ret)
		ret = reload(p);
	if (!ret)
		ret = sim_rows_reach_again(p->rows, p->m, undo);
	json_decref(undo);
	if (!ret && p->synced)
		ret = sim_state_commit(p->file);
	return ret;
}

static void be_close(void *priv)
{
	struct sim_priv *p = priv;

	if (!p)
		return;
	json_decref(p->undo);
	sim_model_free(p->m);
	if (p->rows)
		sim_rows_free(p->rows);
	free(p->rows);
	sim_state_close(p->file);
	free(p);
}

static struct sim_model *M(void *priv)
{
	return ((struct sim_priv *)priv)->m;
}

static int be_domain_list(void *priv, struct xgm_domain_info **out,
			   size_t *count)
{
	struct sim_model *m = M(priv);
	struct xgm_domain_info *a;
	int ret = sim_dom_load_all(m);

	if (ret)
		return ret;
	a = calloc(m->nr_doms + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < m->nr_doms; i++)
		sim_dom_info(m, m->doms[i], &a[i]);
	*out = a;
	*count = m->nr_doms;
	return 0;
}

static int be_domain_info(void *priv, uint32_t domid,
			   struct xgm_domain_info *out)
{
	struct sim_domain *d;
	int ret = sim_dom_find(M(priv), domid, &d);

	if (!ret)
		sim_dom_info(M(priv), d, out);
	return ret;
}

static int be_domain_find(void *priv, const char *dom, int64_t domid,
			   struct xgm_domain_info *out)
{
	struct sim_model *m = M(priv);
	struct sim_domain *d = NULL;

	if (domid >= 0 && domid <= UINT32_MAX)
		d = sim_dom_get(m, (uint32_t)domid);
	if (!d)
		d = sim_dom_by_name(m, dom);
	if (!d && !strcmp(dom, "dom0"))
		d = sim_model_dom0(m);
	if (!d)
		return m->src && m->src->err ? m->src->err : -ENOENT;
	sim_dom_info(m, d, out);
	return 0;
}

static int be_domains_reaching(void *priv, const struct xgm_extent *ext,
			       size_t n, uint32_t **domids, size_t *nd)
{
	struct sim_priv *p = priv;

	return sim_rows_domains_reaching(p->rows, p->m, ext, n, domids, nd);
}

static int be_iomem_permission(void *priv, uint32_t domid, uint64_t mfn,
				uint64_t nr, bool allow)
{
	return sim_hc_iomem_permission(M(priv), domid, mfn, nr, allow);
}

static int be_memory_mapping(void *priv, uint32_t domid, uint64_t gfn,
			      uint64_t mfn, uint64_t nr, bool add)
{
	return sim_hc_memory_mapping(M(priv), domid, gfn, mfn, nr, add);
}

static int be_add_foreign(void *priv, uint32_t domid, uint64_t gfn,
			   uint32_t foreign_domid, uint64_t foreign_gpfn)
{
	return sim_hc_add_foreign(M(priv), domid, gfn, foreign_domid, foreign_gpfn);
}

static int be_remove_from_physmap(void *priv, uint32_t domid, uint64_t gfn)
{
	return sim_hc_remove_from_physmap(M(priv), domid, gfn);
}

static int be_grant_access(void *priv, uint32_t grantee, uint64_t mfn,
			    bool readonly, uint32_t *gref)
{
	return sim_gnt_access(M(priv), grantee, mfn, readonly, gref);
}

static int be_grant_map(void *priv, uint32_t grantee, uint32_t gref,
			 uint64_t gfn)
{
	return sim_gnt_map(M(priv), grantee, gref, gfn);
}

static int be_grant_unmap(void *priv, uint32_t grantee, uint32_t gref,
			   uint64_t gfn)
{
	return sim_gnt_unmap(M(priv), grantee, gref, gfn);
}

static int be_grant_end(void *priv, uint32_t gref)
{
	return sim_gnt_end(M(priv), gref);
}

/* A PV domain's list, as 4K leaves. */
static int pv_walk(const struct sim_domain *d, uint64_t first, uint64_t last,
		   xgm_p2m_walk_fn fn, void *arg)
{
	uint64_t end = d->pv.nr_pages ? d->pv.nr_pages - 1 : 0;

	if (!d->pv.nr_pages || first > end)
		return 0;
	if (last > end)
		last = end;
	for (uint64_t pfn = first; pfn <= last; pfn++) {
		struct xgm_p2m_entry e = {
			.gfn = pfn, .mfn = sim_pv_pfn_to_mfn(&d->pv, pfn),
			.type = XGM_P2M_RAM_RW, .access = 7, .emt = XGM_MT_WB,
		};
		int ret;

		if (e.mfn == SIM_INVALID_MFN)
			continue;
		ret = fn(&e, arg);
		if (ret)
			return ret;
	}
	return 0;
}

static int be_p2m_walk(void *priv, uint32_t domid, uint64_t first,
			uint64_t last, xgm_p2m_walk_fn fn, void *arg)
{
	struct sim_domain *d;
	int ret = sim_dom_find(M(priv), domid, &d);

	if (ret)
		return ret;
	if (!d->p2m)
		return pv_walk(d, first, last, fn, arg);
	return sim_p2m_walk(d->p2m, first, last, fn, arg);
}

static int be_iommu_walk(void *priv, uint32_t domid, uint64_t first,
			  uint64_t last, xgm_p2m_walk_fn fn, void *arg)
{
	return sim_iommu_walk(M(priv), domid, first, last, fn, arg);
}

static int check_path(const char *path)
{
	size_t len = path ? strlen(path) : 0;

	if (!len || path[0] != '/' || (len > 1 && path[len - 1] == '/') ||
	    strstr(path, "//") || len > 3072)
		return xgm_fail(-EINVAL, "bad store path \"%.80s\"",
				path ? path : "");
	return 0;
}

static struct sim_state_file *F(void *priv)
{
	return ((struct sim_priv *)priv)->file;
}

static json_t *UNDO(void *priv)
{
	return ((struct sim_priv *)priv)->undo;
}

static int be_store_read(void *priv, const char *path, char **value)
{
	return check_path(path) ?: sim_rows_store_get(F(priv), path, value);
}

static int be_store_write(void *priv, const char *path, const char *value)
{
	int ret = check_path(path);

	if (ret)
		return ret;
	if (!value)
		return -EINVAL;
	return sim_rows_store_put(F(priv), path, value, UNDO(priv));
}

/* The guest's own xenstore directory, in the same store (the sim has no
 * permissions to model beyond "dom0 writes it"). */
static int be_guest_publish(void *priv, uint32_t domid, const char *key,
			    const char *value)
{
	char path[256];
	int ret;

	if (!key || !*key || strchr(key, '/') || !domid || !sim_dom_get(M(priv), domid))
		return xgm_fail(-EINVAL, "bad guest key or domain");
	snprintf(path, sizeof(path), "/local/domain/%u/device/xgpumap/%s", domid, key);
	if (!value) {
		ret = sim_rows_store_rm(F(priv), path, UNDO(priv));
		return ret == -ENOENT ? 0 : ret;
	}
	return be_store_write(priv, path, value);
}

/* xenstore rm removes the whole subtree. */
static int be_store_rm(void *priv, const char *path)
{
	return check_path(path) ?: sim_rows_store_rm(F(priv), path, UNDO(priv));
}

/* The store is indexed by full path: one range finds a subtree. */
static int be_store_walk(void *priv, const char *dir,
			 int (*fn)(const char *path, const char *value, void *arg),
			 void *arg)
{
	return check_path(dir) ?: sim_rows_store_walk(F(priv), dir, fn, arg);
}

struct children {
	size_t dlen;
	json_t *seen;
};

static int add_child(const char *path, const char *value, void *arg)
{
	struct children *c = arg;
	const char *rest = path + (c->dlen == 1 ? 1 : c->dlen + 1);
	const char *slash = strchr(rest, '/');
	char name[256];

	(void)value;
	snprintf(name, sizeof(name), "%.*s",
		 (int)(slash ? slash - rest : (ptrdiff_t)strlen(rest)), rest);
	return json_object_set_new(c->seen, name, json_true()) ? -ENOMEM : 0;
}

static int be_store_list(void *priv, const char *dir, char ***names,
			  size_t *count)
{
	struct children c = { dir ? strlen(dir) : 0, json_object() };
	size_t n = 0;
	const char *key;
	char **out;
	json_t *v;
	int ret = check_path(dir);

	if (ret || !c.seen) {
		json_decref(c.seen);
		return ret ? ret : -ENOMEM;
	}
	ret = sim_rows_store_walk(F(priv), dir, add_child, &c);
	if (ret) {
		json_decref(c.seen);
		return ret;
	}
	out = calloc(json_object_size(c.seen) + 1, sizeof(*out));
	if (!out) {
		json_decref(c.seen);
		return -ENOMEM;
	}
	json_object_foreach(c.seen, key, v) {
		out[n] = strdup(key);
		if (!out[n]) {
			for (size_t i = 0; i < n; i++)
				free(out[i]);
			free(out);
			json_decref(c.seen);
			return -ENOMEM;
		}
		n++;
	}
	json_decref(c.seen);
	*names = out;
	*count = n;
	return 0;
}

static int be_counters(void *priv, int32_t domid, struct xgm_counters *out)
{
	return sim_model_counters(M(priv), domid, out);
}

static double be_modeled(void *priv, const struct xgm_counters *c)
{
	return sim_modeled_ns(c);
}

static int be_grant_room(void *priv, uint64_t nr)
{
	return sim_gnt_room(M(priv), nr);
}

static int be_grant_list(void *priv, struct xgm_grant_info **out,
			 size_t *count)
{
	const struct sim_domain *d0 = sim_model_dom0(M(priv));
	size_t n = d0 ? d0->nr_grants : 0;

	*out = NULL;
	*count = 0;
	if (!n)
		return 0;
	*out = malloc(n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct sim_grant *g = &d0->grants[i];

		(*out)[i] = (struct xgm_grant_info){
			.gref = g->gref, .grantee = g->grantee, .mfn = g->mfn,
			.maps = g->maps, .readonly = g->readonly,
		};
	}
	*count = n;
	return 0;
}

static int be_ioreq_list(void *priv, uint32_t domid,
			 struct xgm_gfn_range **out, size_t *count)
{
	struct sim_domain *d;
	int ret = sim_dom_find(M(priv), domid, &d);

	*out = NULL;
	*count = 0;
	if (ret || !d->ioreq.nr)
		return ret;
	*out = malloc(d->ioreq.nr * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < d->ioreq.nr; i++)
		(*out)[i] = (struct xgm_gfn_range){ d->ioreq.r[i].s, d->ioreq.r[i].e };
	*count = d->ioreq.nr;
	return 0;
}

static int be_ioreq_map_range(void *priv, uint32_t domid, uint64_t first,
			       uint64_t last, bool map)
{
	struct sim_priv *p = priv;
	struct sim_domain *d;
	bool had;
	int ret = sim_dom_find(p->m, domid, &d);

	if (ret)
		return ret;
	/* As xgpumapd on Xen: a server its dead process left goes before
	 * one of ours claims beside it. */
	if (map && p->serves)
		ret = sim_ioowner_reap_dom(p, domid);
	had = d->ioreq.nr;
	ret = ret ?: sim_ioreq_map_range(p->m, domid, first, last, map);
	return ret ?: sim_ioowner_update(p, domid, had, d->ioreq.nr, p->serves);
}

static int be_ioreq_reap(void *priv, struct xgm_ioreq_reaped **out,
			 size_t *count)
{
	*out = NULL;
	*count = 0;
	return sim_ioowner_reap(priv, out, count);
}

static void be_set_ioreq_handler(void *priv, xgm_ioreq_fn fn, void *arg)
{
	M(priv)->ioreq_fn = fn;
	M(priv)->ioreq_arg = arg;
}

static int be_guest_access(void *priv, uint32_t domid, uint64_t gfn,
			    enum xgm_guest_access kind, bool write,
			    uint64_t *tag)
{
	long pid = 0;
	int ret = sim_ioreq_reaches_server(M(priv), domid, gfn) ?
		  sim_ioowner_stale(priv, domid, &pid) : 0;

	if (ret < 0)
		return ret;
	if (ret)
		return xgm_fail(-EHOSTDOWN, "gfn %#llx of d%u goes to ioreq "
				"server 0, whose process %ld is gone: the vCPU "
				"would wait for ever (xgpumap recover destroys "
				"the server)", (unsigned long long)gfn, domid, pid);
	return sim_guest_access(M(priv), domid, gfn, kind, write, tag);
}

static int be_frame_owner(void *priv, uint64_t mfn, uint32_t *owner,
			   uint64_t *refs)
{
	if (!sim_mem_owner(M(priv), mfn, owner, NULL))
		return -ENOENT;
	if (refs)
		*refs = sim_mem_refs(M(priv), mfn);
	return 0;
}

static int be_ram_mmio_map(void *priv, uint32_t domid, uint64_t gfn,
			    uint64_t mfn, uint64_t nr)
{
	return sim_ext_ram_mmio_map(M(priv), domid, gfn, mfn, nr);
}

static int be_ram_mmio_unmap(void *priv, uint32_t domid, uint64_t gfn,
			      uint64_t nr)
{
	return sim_ext_ram_mmio_unmap(M(priv), domid, gfn, nr);
}

static int be_transfer(void *priv, uint32_t domid, uint64_t gfn,
			uint64_t mfn, uint64_t nr)
{
	return sim_ext_transfer(M(priv), domid, gfn, mfn, nr);
}

static int be_transfer_back(void *priv, uint32_t domid, uint64_t gfn,
			     uint64_t nr)
{
	return sim_ext_transfer_back(M(priv), domid, gfn, nr);
}

static unsigned int be_extensions(void *priv)
{
	return M(priv)->extensions;
}

static int be_pause(void *priv, uint32_t domid, bool pause)
{
	return sim_dom_pause(M(priv), domid, pause);
}

/* ---- gpu ops ------------------------------------------------------------ */

static int be_buf_alloc(void *priv, const char *card, uint64_t bytes,
			 enum xgm_placement where, uint64_t gfn, uint64_t *buf)
{
	return sim_gpu_buf_alloc_at(M(priv), card, bytes, where, gfn, buf);
}

static int be_buf_free(void *priv, uint64_t buf)
{
	return sim_gpu_buf_free(M(priv), buf);
}

static int be_buf_extents(void *priv, uint64_t buf, struct xgm_extent **out,
			   size_t *count)
{
	return sim_gpu_buf_extents(M(priv), buf, out, count);
}

static int be_buf_move(void *priv, uint64_t buf, enum xgm_placement to)
{
	return sim_gpu_buf_move(M(priv), buf, to);
}

static int be_buf_pin(void *priv, uint64_t buf, bool pin)
{
	return sim_gpu_buf_pin(M(priv), buf, pin);
}

static int be_buf_write_tag(void *priv, uint64_t buf, uint64_t page,
			     uint64_t tag)
{
	return sim_gpu_buf_write_tag(M(priv), buf, page, tag);
}

static int be_buf_read_tag(void *priv, uint64_t buf, uint64_t page,
			    uint64_t *tag)
{
	return sim_gpu_buf_read_tag(M(priv), buf, page, tag);
}

static int be_buf_copy(void *priv, uint64_t src, uint64_t dst)
{
	return sim_gpu_buf_copy(M(priv), src, dst);
}

static int be_buf_list(void *priv, uint64_t **ids, size_t *count)
{
	return sim_gpu_buf_list(M(priv), ids, count);
}

static int be_card_info(void *priv, const char *card, uint64_t *vram,
			uint64_t *free_bytes)
{
	return sim_gpu_card_info(M(priv), card, vram, free_bytes);
}

/* The sim's ids are exact: known is not needed. */
static int be_cards(void *priv, const uint64_t *known, size_t nr_known,
		    json_t **out)
{
	return sim_gpu_cards(M(priv), out);
}

static void be_set_move_notify(void *priv, xgm_move_notify_fn fn, void *arg)
{
	M(priv)->move_notify = fn;
	M(priv)->move_arg = arg;
}

static const struct xgm_hv_ops sim_hv_ops = {
	.name = "sim",
	.open = be_open,
	.commit = be_commit,
	.close = be_close,
	.begin = be_begin,
	.end = be_end,
	.domain_list = be_domain_list,
	.domain_info = be_domain_info,
	.domain_find = be_domain_find,
	.domains_reaching = be_domains_reaching,
	.iomem_permission = be_iomem_permission,
	.memory_mapping = be_memory_mapping,
	.add_foreign = be_add_foreign,
	.remove_from_physmap = be_remove_from_physmap,
	.grant_access = be_grant_access,
	.grant_map = be_grant_map,
	.grant_unmap = be_grant_unmap,
	.grant_end = be_grant_end,
	.grant_list = be_grant_list,
	.grant_room = be_grant_room,
	.p2m_walk = be_p2m_walk,
	.iommu_walk = be_iommu_walk,
	.store_read = be_store_read,
	.store_write = be_store_write,
	.guest_publish = be_guest_publish,
	.store_rm = be_store_rm,
	.counters = be_counters,
	.store_list = be_store_list,
	.store_walk = be_store_walk,
	.sync = be_sync,
	.checkpoint = be_checkpoint,
	.restore = be_restore,
	.modeled_ns = be_modeled,
	.ioreq_map_range = be_ioreq_map_range,
	.ioreq_list = be_ioreq_list,
	.ioreq_reap = be_ioreq_reap,
	.set_ioreq_handler = be_set_ioreq_handler,
	.guest_access = be_guest_access,
	.frame_owner = be_frame_owner,
	.ram_mmio_map = be_ram_mmio_map,
	.ram_mmio_unmap = be_ram_mmio_unmap,
	.transfer = be_transfer,
	.transfer_back = be_transfer_back,
	.extensions = be_extensions,
	.pause = be_pause,
};

static const struct xgm_gpu_ops sim_gpu_ops = {
	.name = "sim",
	.buf_alloc = be_buf_alloc,
	.buf_free = be_buf_free,
	.buf_extents = be_buf_extents,
	.buf_move = be_buf_move,
	.buf_pin = be_buf_pin,
	.buf_write_tag = be_buf_write_tag,
	.buf_read_tag = be_buf_read_tag,
	.set_move_notify = be_set_move_notify,
	.buf_copy = be_buf_copy,
	.card_info = be_card_info,
	.buf_list = be_buf_list,
	.cards = be_cards,
};

const struct xgm_backend xgm_backend_sim = {
	.kind = XGM_BACKEND_SIM,
	.caps = XGM_CAP_HOST_MADE,
	.hv = &sim_hv_ops,
	.gpu = &sim_gpu_ops,
};
