// SPDX-License-Identifier: LGPL-2.1-only
/* The public functions of the simulated host (the sim section of
 * xgpumap.h): creating, resetting and describing it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "sim/model.h"
#include "sim/state_file.h"
#include "sim/state_rows.h"
#include "util/opts.h"

static const char *const vendor_names[] = {
	[XGM_IOMMU_INTEL] = "intel",
	[XGM_IOMMU_AMD] = "amd",
};

XGM_API const char *xgm_iommu_vendor_name(enum xgm_iommu_vendor v)
{
	return (unsigned int)v < 2 ? vendor_names[v] : "unknown";
}

XGM_API int xgm_iommu_vendor_parse(const char *s, enum xgm_iommu_vendor *out)
{
	for (unsigned int i = 0; i < 2; i++) {
		if (s && !strcmp(s, vendor_names[i])) {
			*out = (enum xgm_iommu_vendor)i;
			return 0;
		}
	}
	return xgm_err(-EINVAL);
}

XGM_API int xgm_sim_guest_parse(const char *spec, struct xgm_sim_guest *out)
{
	char buf[160], *f[5] = { 0 }, *tok;
	size_t n = 0;
	uint64_t v;

	if (!spec || !out || strlen(spec) >= sizeof(buf))
		return xgm_fail(-EINVAL, "guest spec is missing or too long");
	memset(out, 0, sizeof(*out));
	snprintf(buf, sizeof(buf), "%s", spec);
	/* strtok would merge empty fields ("a::1G"); split by hand. */
	for (tok = buf;;) {
		char *colon;

		if (n == 5)
			break;
		f[n++] = tok;
		colon = strchr(tok, ':');
		if (!colon)
			break;
		*colon = '\0';
		tok = colon + 1;
	}
	/* A trailing "passthrough" field: created with an IOMMU context. */
	if (n >= 4 && !strcmp(f[n - 1], "passthrough")) {
		out->passthrough = true;
		n--;
	}
	if (n < 3 || n > 4)
		return xgm_fail(-EINVAL, "guest spec \"%s\" is not "
				"NAME:TYPE:MEM[:VCPUS][:passthrough]", spec);
	if (!sim_name_valid(f[0]))
		return xgm_fail(-EINVAL, "guest name \"%s\" is invalid (1-63 "
				"characters of A-Z a-z 0-9 _ . -, not all "
				"digits)", f[0]);
	snprintf(out->name, sizeof(out->name), "%s", f[0]);
	if (xgm_dom_type_parse(f[1], &out->type))
		return xgm_fail(-EINVAL, "guest type \"%s\" is not pv, pvh or "
				"hvm", f[1]);
	if (xgm_parse_size(f[2], &out->mem_bytes) || !out->mem_bytes)
		return xgm_fail(-EINVAL, "guest memory \"%s\" is not a size "
				"(e.g. 2G, 512M)", f[2]);
	out->vcpus = 1;
	if (n == 4) {
		if (xgm_parse_frame(f[3], &v) || !v || v > 128)
			return xgm_fail(-EINVAL, "guest vcpus \"%s\" must be "
					"1-128", f[3]);
		out->vcpus = (uint32_t)v;
	}
	return 0;
}

XGM_API char *xgm_sim_state_path(const char *sim_state)
{
	return sim_state_resolve(sim_state);
}

/* Takes the state path for writing a new host: with force, whatever is
 * there; without, only when nothing is (a corrupt file counts as
 * something and is never overwritten). */
static int lock_new_state(const char *path, bool force,
			  struct sim_state_file **f)
{
	bool exists;
	int ret;

	if (force)
		return sim_state_open_for_replace(path, f);
	ret = sim_state_open(path, XGM_ACCESS_WRITE, true, f, &exists);
	if (ret == -EBADMSG || ret == -EPROTONOSUPPORT)
		return xgm_fail(-EEXIST, "%s exists but is not a usable sim "
				"state; it was left untouched", path);
	if (ret)
		return ret;
	if (exists) {
		sim_state_close(*f);
		*f = NULL;
		return xgm_fail(-EEXIST, "a simulated host already exists at %s",
				path);
	}
	return 0;
}

/* m (consumed) as the whole state at sim_state, in one transaction. */
static int write_model(const char *sim_state, struct sim_model *m, bool force)
{
	struct sim_state_file *f = NULL;
	char *path = sim_state_resolve(sim_state);
	int ret;

	if (!path) {
		sim_model_free(m);
		return xgm_err(-errno);
	}
	ret = lock_new_state(path, force, &f);
	if (!ret)
		ret = sim_rows_write_all(f, m);
	if (!ret)
		ret = sim_state_commit(f);
	sim_model_free(m);
	sim_state_close(f);
	free(path);
	return xgm_err(ret);
}

static int write_host(const char *sim_state, const struct sim_topology *t,
		      bool force)
{
	struct sim_model *m = NULL;
	int ret = sim_topo_validate(t);

	if (!ret)
		ret = sim_topo_build(t, &m);
	return ret ? xgm_err(ret) : write_model(sim_state, m, force);
}

/* The whole JSON state of xgpumap before state version 4: its envelope
 * ({"schema", "version": 3}) around the model's one document. */
static int read_json_state(const char *json_path, struct sim_model **m)
{
	json_error_t jerr;
	json_t *doc = json_load_file(json_path, JSON_REJECT_DUPLICATES, &jerr);
	json_t *schema = json_object_get(doc, "schema");
	json_t *version = json_object_get(doc, "version");
	int ret;

	if (!doc)
		return xgm_fail(-EBADMSG, "%s is not a JSON state (line %d: %s)",
				json_path, jerr.line, jerr.text);
	if (!json_is_string(schema) ||
	    strcmp(json_string_value(schema), SIM_STATE_SCHEMA))
		ret = xgm_fail(-EBADMSG, "%s is not an xgpumap sim state (no "
			       "\"schema\": \"%s\")", json_path,
			       SIM_STATE_SCHEMA);
	else if (json_integer_value(version) != 3)
		ret = xgm_fail(-EPROTONOSUPPORT, "%s has state version %lld; "
			       "only the JSON state of version 3 can be "
			       "imported", json_path,
			       (long long)json_integer_value(version));
	else
		ret = sim_persist_load(doc, m);
	if (ret == -EBADMSG && json_is_string(schema)) {
		char msg[400];

		snprintf(msg, sizeof(msg), "%s", xgm_last_error());
		ret = xgm_fail(ret, "%s: %s", json_path, msg);
	}
	json_decref(doc);
	return ret;
}

XGM_API int xgm_sim_import(const char *sim_state, const char *json_path,
			   bool force)
{
	struct sim_model *m = NULL;
	int ret;

	if (!json_path || !*json_path)
		return xgm_fail(-EINVAL, "xgm_sim_import: no JSON state named");
	ret = read_json_state(json_path, &m);
	return ret ? xgm_err(ret) : write_model(sim_state, m, force);
}

XGM_API int xgm_sim_init(const struct xgm_sim_init_opts *opts)
{
	struct xgm_sim_init_opts o = { .sz = sizeof(o) };
	struct sim_topology t;

	int ret = OPTS_CHECK("xgm_sim_init", opts, xgm_sim_init_opts);

	if (ret)
		return ret;
	sim_topo_default(&t);
	if (opts) {
		/* Fields past the caller's sz keep the default topology's value. */
		o.sim_state = OPTS_GET(opts, sim_state, NULL);
		o.dom0_type = OPTS_GET(opts, dom0_type, t.dom0_type);
		o.iommu = OPTS_GET(opts, iommu, t.iommu);
		o.vram_bytes = OPTS_GET(opts, vram_bytes, 0);
		o.dom0_mem_bytes = OPTS_GET(opts, dom0_mem_bytes, 0);
		o.guests = OPTS_GET(opts, guests, NULL);
		o.nr_guests = OPTS_GET(opts, nr_guests, 0);
		o.seed = OPTS_GET(opts, seed, t.seed);
		o.force = OPTS_GET(opts, force, false);
		o.extensions = OPTS_GET(opts, extensions, 0);
		o.xen_version = OPTS_GET(opts, xen_version, NULL);
		o.gnttab_max_frames = OPTS_GET(opts, gnttab_max_frames, 0);
		if (o.gnttab_max_frames)
			t.gnttab_max_frames = o.gnttab_max_frames;
		t.dom0_type = o.dom0_type;
		t.iommu = o.iommu;
		if (o.vram_bytes)
			t.vram_bytes = o.vram_bytes;
		if (o.dom0_mem_bytes)
			t.dom0_mem_bytes = o.dom0_mem_bytes;
		if (o.guests) {
			t.guests = o.guests;
			t.nr_guests = o.nr_guests;
		}
		t.seed = o.seed;
		t.extensions = o.extensions;
		if (o.xen_version &&
		    sim_xen_parse(o.xen_version, &t.xen_version))
			return xgm_fail(-EINVAL, "Xen version \"%.32s\" is not "
					"modelled (4.17.0 to 4.17.7, or master)",
					o.xen_version);
	}
	return write_host(o.sim_state, &t, o.force);
}

XGM_API int xgm_sim_reset(const char *sim_state)
{
	struct sim_topology t;

	sim_topo_default(&t);
	return write_host(sim_state, &t, true);
}

/* ---- describe ------------------------------------------------------------ */

static json_t *describe_domain(const struct sim_model *m,
			       const struct sim_domain *d)
{
	struct xgm_domain_info info;
	json_t *o;

	sim_dom_info(m, d, &info);
	o = json_pack("{s:i, s:s, s:s, s:b, s:s, s:I, s:I, s:i, s:s, s:b, s:I,"
		      " s:I, s:I, s:I}",
		      "domid", (int)d->domid, "name", d->name,
		      "type", xgm_dom_type_name(d->type), "dom0", d->is_dom0,
		      "state", xgm_dom_state_name(d->state),
		      "mem_bytes", (json_int_t)info.mem_bytes,
		      "max_mem_bytes", (json_int_t)info.max_mem_bytes,
		      "vcpus", (int)d->vcpus,
		      "iommu", xgm_iommu_mode_name(info.iommu),
		      "passthrough", d->passthrough,
		      "max_gpfn", (json_int_t)info.max_gpfn,
		      "p2m_leaves", (json_int_t)sim_p2m_leaf_count(d->p2m),
		      "orphaned_pages", (json_int_t)d->orphaned_pages,
		      "grants", (json_int_t)d->nr_grants);
	if (o && d->state == XGM_DOM_CRASHED)
		json_object_set_new(o, "crash_reason", json_string(d->crash_reason));
	return o;
}

static json_t *counters_with_model(const struct xgm_counters *c)
{
	json_t *o = sim_counters_json(c);

	if (o)
		json_object_set_new(o, "modeled_ns", json_real(sim_modeled_ns(c)));
	return o;
}

static int sim_describe_op(struct xgm_ctx *ctx, json_t **out)
{
	const struct sim_model *m;
	struct xgm_counters total;
	json_t *o, *gpus, *doms, *per;
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	if (ctx->be->kind != XGM_BACKEND_SIM)
		return xgm_fail(-EOPNOTSUPP, "not a simulated host");
	m = ((struct sim_priv *)ctx->priv)->m;
	ret = sim_dom_load_all(m) ?: sim_gpu_load_all(m);
	if (ret)
		return xgm_err(ret);
	gpus = json_array();
	doms = json_array();
	per = json_object();
	for (size_t i = 0; gpus && i < m->nr_gpus; i++) {
		const struct sim_gpu *g = m->gpus[i];

		json_array_append_new(gpus, json_pack(
			"{s:s, s:I, s:I, s:I, s:I}", "name", g->name,
			"vram_base_mfn", (json_int_t)g->vram_base_mfn,
			"vram_bytes", (json_int_t)(g->vram_pages << 12),
			"free_bytes", (json_int_t)sim_gpu_free_bytes(g),
			"buffers", (json_int_t)g->nr_bufs));
	}
	for (size_t i = 0; doms && per && i < m->nr_doms; i++) {
		json_array_append_new(doms, describe_domain(m, m->doms[i]));
		json_object_set_new(per, m->doms[i]->name,
				    counters_with_model(&m->doms[i]->ctr));
	}
	sim_model_counters(m, -1, &total);
	o = json_pack("{s:s, s:s?, s:{s:s, s:s, s:o, s:s, s:I, s:I, s:i, s:I}, s:o,"
		      " s:o, s:{s:o, s:o, s:o, s:s}, s:o}",
		      "backend", "sim",
		      "state", ctx->sim_state,
		      "host",
		      "iommu", xgm_iommu_vendor_name(m->iommu),
		      "xen_version", sim_xen_name(m->xen_version),
		      "extensions", sim_ext_json(m->extensions),
		      "dom0_type", sim_model_dom0(m) ?
			      xgm_dom_type_name(sim_model_dom0(m)->type) : "none",
		      "ram_bytes", (json_int_t)(m->ram_pages << 12),
		      "xen_reserved_bytes", (json_int_t)(m->xen_pages << 12),
		      "paddr_bits", (int)m->paddr_bits,
		      "seed", (json_int_t)m->seed,
		      "gpus", gpus,
		      "domains", doms,
		      "counters",
		      "total", counters_with_model(&total),
		      "host", counters_with_model(&m->host_ctr),
		      "per_domain", per,
		      "time", "modeled",
		      "cost_model", sim_cost_json());
	if (!o)
		return xgm_err(-ENOMEM);
	json_object_set_new(json_object_get(o, "host"), "gnttab_max_frames",
			    json_integer(m->gnttab_max_frames));
	*out = o;
	return 0;
}

XGM_API int xgm_sim_describe(struct xgm_ctx *ctx, json_t **out)
{
	return XGM_OP(ctx, XGM_OP_READ, sim_describe_op(ctx, out));
}
