// SPDX-License-Identifier: LGPL-2.1-only
/* The live p2m as coalesced runs: what `xgpumap p2m` shows. */
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/inspect.h"

static const char *const type_names[XGM_P2M_NR_TYPES] = {
	"ram_rw", "invalid", "ram_logdirty", "ram_ro", "mmio_dm", "mmio_direct",
	"populate_on_demand", "grant_map_rw", "grant_map_ro", "ram_paging_out",
	"ram_paged", "ram_paging_in", "ram_shared", "ram_broken", "map_foreign",
	"ioreq_server",
};

const char *p2m_type_str(unsigned int t)
{
	return t < XGM_P2M_NR_TYPES ? type_names[t] : "unknown";
}

const char *mem_type_str(unsigned int emt)
{
	switch (emt) {
	case XGM_MT_UC: return "UC";
	case XGM_MT_WC: return "WC";
	case XGM_MT_WT: return "WT";
	case XGM_MT_WP: return "WP";
	case XGM_MT_WB: return "WB";
	case XGM_MT_UC_MINUS: return "UC-";
	default: return "?";
	}
}

unsigned int p2m_type_parse(const char *name)
{
	for (unsigned int i = 0; name && i < XGM_P2M_NR_TYPES; i++)
		if (!strcmp(name, type_names[i]))
			return i;
	return XGM_P2M_NR_TYPES;
}

int mem_type_parse(const char *name)
{
	static const uint8_t codes[] = {
		XGM_MT_UC, XGM_MT_WC, XGM_MT_WT, XGM_MT_WP, XGM_MT_WB, XGM_MT_UC_MINUS,
	};

	for (size_t i = 0; name && i < sizeof(codes); i++)
		if (!strcmp(name, mem_type_str(codes[i])))
			return codes[i];
	return -1;
}

void access_str(unsigned int a, char out[4])
{
	out[0] = (a & 4) ? 'r' : '-';
	out[1] = (a & 2) ? 'w' : '-';
	out[2] = (a & 1) ? 'x' : '-';
	out[3] = '\0';
}

struct run_acc {
	json_t *runs;
	const char *source;  /* "live", or "recorded" where the host cannot
			      * show its p2m (AMD NPT has no dump) */
	bool dma;           /* IOMMU walk: dfn, and no p2m type */
	struct xgm_p2m_entry first;
	uint64_t count;     /* leaves in the current run */
	bool open;
};

static void flush_run(struct run_acc *a)
{
	char acc[4];
	uint64_t frames = a->count << a->first.order;

	if (!a->open)
		return;
	access_str(a->first.access, acc);
	if (a->dma)
		json_array_append_new(a->runs, json_pack(
			"{s:I,s:I,s:I,s:i,s:I,s:s}",
			"dfn", (json_int_t)a->first.gfn,
			"dfn_last", (json_int_t)(a->first.gfn + frames - 1),
			"mfn", (json_int_t)a->first.mfn,
			"order", (int)a->first.order,
			"entries", (json_int_t)a->count,
			"access", acc));
	else
		json_array_append_new(a->runs, json_pack(
			"{s:I,s:I,s:I,s:i,s:I,s:s,s:s,s:s,s:b}",
			"gfn", (json_int_t)a->first.gfn,
			"gfn_last", (json_int_t)(a->first.gfn + frames - 1),
			"mfn", (json_int_t)a->first.mfn,
			"order", (int)a->first.order,
			"entries", (json_int_t)a->count,
			"type", p2m_type_str(a->first.type),
			"access", acc,
			"emt", mem_type_str(a->first.emt),
			"ipat", a->first.ipat));
	if (!a->dma)
		json_object_set_new(json_array_get(a->runs, json_array_size(a->runs) - 1),
				    "source", json_string(a->source));
	a->open = false;
}

static int add_leaf(const struct xgm_p2m_entry *e, void *arg)
{
	struct run_acc *a = arg;
	uint64_t span = a->count << a->first.order;

	if (a->open && e->order == a->first.order && e->type == a->first.type &&
	    e->access == a->first.access && e->emt == a->first.emt &&
	    e->ipat == a->first.ipat && e->gfn == a->first.gfn + span &&
	    e->mfn == a->first.mfn + span) {
		a->count++;
		return 0;
	}
	flush_run(a);
	a->first = *e;
	a->count = 1;
	a->open = true;
	return 0;
}

/* After a walk: the last run, then the runs, or nothing on failure. */
static int finish_runs(struct run_acc *a, int ret, json_t **out)
{
	flush_run(a);
	if (ret) {
		json_decref(a->runs);
		return ret;
	}
	*out = a->runs;
	return 0;
}

int p2m_runs(struct xgm_ctx *ctx, uint32_t domid, uint64_t first, uint64_t last,
	     json_t **out)
{
	struct run_acc a = { .runs = json_array(), .source = "live" };
	char note[256];
	int ret;

	if (ctx->be->hv->p2m_source &&
	    ctx->be->hv->p2m_source(ctx->priv, domid, note, sizeof(note)) == 0) {
		a.source = "recorded";
		xgm_info("%s", note);
	}
	ret = hv_p2m_walk(ctx, domid, first, last, add_leaf, &a);
	return finish_runs(&a, ret, out);
}

static int p2m_runs_op(struct xgm_ctx *ctx, const char *dom, uint64_t first,
			 uint64_t last, json_t **out)
{
	struct xgm_domain_info d;
	int ret;

	if (!ctx || !dom || !out || last < first)
		return xgm_err(-EINVAL);
	ret = domain_resolve(ctx, dom, &d);
	if (ret)
		return xgm_err(ret);
	if (!d.translated)
		return xgm_fail(-EOPNOTSUPP, "%s is a PV domain: it has no p2m "
				"(its pfn->mfn list is guest-maintained)", d.name);
	return xgm_err(p2m_runs(ctx, d.domid, first, last, out));
}

XGM_API int xgm_p2m_runs(struct xgm_ctx *ctx, const char *dom, uint64_t first,
			 uint64_t last, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "p2m", out, "{s:s?,s:I,s:I}", "dom", dom, "first", (json_int_t)first, "last", (json_int_t)last));
	return XGM_OP(ctx, XGM_OP_READ,
		      p2m_runs_op(ctx, dom, first, last, out));
}

int dma_runs(struct xgm_ctx *ctx, uint32_t domid, uint64_t first, uint64_t last,
	     json_t **out)
{
	struct run_acc a = { .dma = true, .runs = json_array() };
	int ret;

	if (!ctx->be->hv->iommu_walk) {
		json_decref(a.runs);
		return xgm_fail(-EOPNOTSUPP, "this backend cannot read IOMMU tables");
	}
	ret = ctx->be->hv->iommu_walk(ctx->priv, domid, first, last, add_leaf, &a);
	return finish_runs(&a, ret, out);
}

static int iommu_runs_op(struct xgm_ctx *ctx, const char *dom, uint64_t first,
			   uint64_t last, json_t **out)
{
	struct xgm_domain_info d;
	json_t *runs;
	int ret;

	if (!ctx || !dom || !out || last < first)
		return xgm_err(-EINVAL);
	ret = domain_resolve(ctx, dom, &d);
	if (ret)
		return xgm_err(ret);
	*out = json_pack("{s:s,s:i,s:s}", "domain", d.name, "domid", (int)d.domid,
			 "mode", xgm_iommu_mode_name(d.iommu));
	switch (d.iommu) {
	case XGM_IOMMU_NONE:
		json_object_set_new(*out, "note", json_string(
			"no IOMMU context: the domain has no assigned device"));
		return 0;
	case XGM_IOMMU_SHARED:
		/* VT-d walks the EPT itself: the DMA map is the p2m. */
		json_object_set_new(*out, "note", json_string(
			"the IOMMU shares the p2m tables: the DMA map is the p2m "
			"itself; changes cost an IOTLB flush, no writes"));
		return 0;
	default:
		break;
	}
	ret = dma_runs(ctx, d.domid, first, last, &runs);
	if (ret) {
		json_decref(*out);
		*out = NULL;
		return xgm_err(ret);
	}
	json_object_set_new(*out, "note", json_string(d.iommu == XGM_IOMMU_IDENTITY ?
		"PV dom0: the IOMMU identity-maps all of its RAM" :
		"separate IOMMU tables, kept in sync with every p2m change"));
	json_object_set_new(*out, "runs", runs);
	return 0;
}

XGM_API int xgm_iommu_runs(struct xgm_ctx *ctx, const char *dom, uint64_t first,
			   uint64_t last, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "iommu", out, "{s:s?,s:I,s:I}", "dom", dom, "first", (json_int_t)first, "last", (json_int_t)last));
	return XGM_OP(ctx, XGM_OP_READ,
		      iommu_runs_op(ctx, dom, first, last, out));
}
