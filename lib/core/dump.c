// SPDX-License-Identifier: LGPL-2.1-only
/*
 * dump: the whole mapping state as one JSON document. It is also the input
 * of the offline `check --input`: the dump backend (lib/dump/) answers the
 * same questions from it that a live backend answers, so the checker runs
 * unchanged on a customer's capture.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buffer.h"
#include "core/engine.h"
#include "core/inspect.h"
#include "core/view.h"
#include "dump/dump.h"

struct owner_run {
	uint64_t mfn, nr, refs;
	uint32_t owner;
};

static void run_flush(json_t *runs, const struct owner_run *r)
{
	if (r->nr)
		json_array_append_new(runs, json_pack("{s:I,s:I,s:i,s:I}", "mfn",
			(json_int_t)r->mfn, "nr", (json_int_t)r->nr, "owner",
			(int)r->owner, "refs", (json_int_t)r->refs));
}

/* Who owns each frame of a buffer, as runs {mfn, nr, owner, refs}, so
 * the offline check can ask what the live one asks (frame-owner). A run
 * is written once it ends: one object per run, not an update per frame. */
static json_t *frames_json(struct xgm_ctx *ctx, const struct xgm_extent *ext,
			   size_t ne)
{
	json_t *runs = json_array();
	struct owner_run r = { 0 };
	uint32_t owner;
	uint64_t refs;

	for (size_t i = 0; i < ne; i++) {
		for (uint64_t k = 0; k < ext[i].nr; k++) {
			uint64_t mfn = ext[i].mfn + k;

			if (ctx->be->hv->frame_owner(ctx->priv, mfn, &owner, &refs)) {
				owner = XGM_OWNER_FREE; /* no such frame */
				refs = 0;
			}
			if (r.nr && mfn == r.mfn + r.nr && owner == r.owner &&
			    refs == r.refs) {
				r.nr++;
				continue;
			}
			run_flush(runs, &r);
			r = (struct owner_run){ mfn, 1, refs, owner };
		}
	}
	run_flush(runs, &r);
	xgm_clear_error();
	return runs;
}

static json_t *domain_json(const struct xgm_domain_info *d)
{
	return json_pack("{s:i,s:s,s:s,s:s,s:b,s:b,s:I,s:I,s:i,s:I,s:s}",
			 "domid", (int)d->domid, "name", d->name,
			 "type", xgm_dom_type_name(d->type),
			 "state", xgm_dom_state_name(d->state),
			 "dom0", d->is_dom0, "translated", d->translated,
			 "mem_bytes", (json_int_t)d->mem_bytes,
			 "max_mem_bytes", (json_int_t)d->max_mem_bytes,
			 "vcpus", (int)d->vcpus, "max_gpfn", (json_int_t)d->max_gpfn,
			 "iommu", xgm_iommu_mode_name(d->iommu));
}

static int dump_op(struct xgm_ctx *ctx, json_t **out)
{
	struct xgm_domain_info *doms;
	struct blob *blobs;
	json_t *doc, *jdoms, *p2m, *iommu, *bufs, *store, *jblobs, *journal, *ctr;
	json_t *frames;
	struct xgm_counters c;
	uint64_t *existing = NULL;
	size_t nd, nb, nex = 0;
	int ret;

	if (!ctx || !out)
		return xgm_err(-EINVAL);
	ret = xgm_domain_list(ctx, &doms, &nd);
	if (ret)
		return xgm_err(ret);
	ret = blob_load_all(ctx, -1, &blobs, &nb);
	if (!ret && (ret = blob_load_costs(ctx, blobs, nb)))
		blob_free_all(blobs, nb);
	if (ret) {
		free(doms);
		return xgm_err(ret);
	}
	doc = json_object();
	jdoms = json_array();
	p2m = json_object();
	iommu = json_object();
	bufs = json_object();
	frames = json_object();
	store = json_object();
	jblobs = json_array();
	ctr = json_object();
	for (size_t i = 0; !ret && i < nd; i++) {
		struct window w;
		char key[16];
		json_t *runs, *leaves;

		json_array_append_new(jdoms, domain_json(&doms[i]));
		snprintf(key, sizeof(key), "%u", doms[i].domid);
		if (!hv_counters(ctx, (int32_t)doms[i].domid, &c))
			json_object_set_new(ctr, key, counters_json(&c));
		if (!doms[i].translated || window_get(ctx, doms[i].domid, &w)) {
			xgm_clear_error();
			continue;
		}
		/* The p2m and IOMMU in the blob window: what check needs. */
		ret = p2m_runs(ctx, doms[i].domid, w.gfn, w.gfn + w.nr - 1, &runs);
		if (!ret)
			json_object_set_new(p2m, key, runs);
		if (doms[i].iommu == XGM_IOMMU_SEPARATE &&
		    !dma_runs(ctx, doms[i].domid, w.gfn, w.gfn + w.nr - 1, &leaves))
			json_object_set_new(iommu, key, leaves);
		xgm_clear_error();
	}
	/* One listing of the buffer records, not a lookup per blob. */
	if (!ret)
		ret = buffer_record_ids(ctx, &existing, &nex);
	for (size_t i = 0; !ret && i < nb; i++) {
		struct xgm_extent *ext;
		size_t ne;
		char key[24];

		snprintf(key, sizeof(key), "%llu", (unsigned long long)blobs[i].buf);
		json_array_append_new(jblobs, blob_view_adopted(ctx, &blobs[i],
			buffer_ids_have(existing, nex, blobs[i].buf)));
		/* Where the buffer really is now, as the GPU says. */
		if (!gpu_extents(ctx, blobs[i].buf, &ext, &ne)) {
			json_t *a = json_array();

			for (size_t k = 0; k < ne; k++)
				json_array_append_new(a, json_pack("{s:I,s:I}", "mfn",
					(json_int_t)ext[k].mfn, "nr", (json_int_t)ext[k].nr));
			json_object_set_new(bufs, key, a);
			if (ctx->be->hv->frame_owner)
				json_object_set_new(frames, key,
						    frames_json(ctx, ext, ne));
			free(ext);
		}
		xgm_clear_error();
	}
	if (!ret)
		ret = store_subtree(ctx, XGM_STORE_ROOT, store);
	if (!ret && !hv_counters(ctx, -1, &c))
		json_object_set_new(ctr, "total", counters_json(&c));
	if (!ret)
		ret = journal_list(ctx, &journal);
	if (!ret) {
		json_object_set_new(doc, "schema", json_string(XGM_DUMP_SCHEMA));
		json_object_set_new(doc, "version", json_integer(XGM_DUMP_VERSION));
		json_object_set_new(doc, "backend", json_string(xgm_backend_name(ctx->be->kind)));
		json_object_set_new(doc, "created", json_integer((json_int_t)time(NULL)));
		json_object_set_new(doc, "domains", jdoms);
		json_object_set_new(doc, "blobs", jblobs);
		json_object_set_new(doc, "p2m", p2m);
		json_object_set_new(doc, "iommu", iommu);
		json_object_set_new(doc, "buffers", bufs);
		json_object_set_new(doc, "frames", frames);
		json_object_set_new(doc, "store", store);
		json_object_set_new(doc, "counters", ctr);
		json_object_set_new(doc, "journal", journal);
		*out = doc;
	} else {
		json_decref(doc);
		json_decref(jdoms);
		json_decref(p2m);
		json_decref(iommu);
		json_decref(bufs);
		json_decref(frames);
		json_decref(store);
		json_decref(jblobs);
		json_decref(ctr);
	}
	free(existing);
	free(doms);
	blob_free_all(blobs, nb);
	return xgm_err(ret);
}

XGM_API int xgm_dump(struct xgm_ctx *ctx, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "dump", out, "{}"));
	return XGM_OP(ctx, XGM_OP_READ, dump_op(ctx, out));
}
