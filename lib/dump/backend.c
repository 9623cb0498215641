// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The dump backend: a read-only host made from a `xgpumap dump` document,
 * so `check --input FILE` runs the very same checker offline. It answers
 * what the dump recorded (domains, the p2m and IOMMU in blob windows, the
 * store, where each buffer was) and refuses everything else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/file.h"
#include "util/log.h"
#include "core/inspect.h"
#include "dump/dump.h"

struct frame_run {
	uint64_t mfn, nr, refs;
	uint32_t owner;
};

struct dump_priv {
	json_t *doc;
	struct frame_run *frames; /* sorted by mfn; NULL: none recorded */
	size_t nr_frames;
};

static int bad(const char *path, const char *what)
{
	return xgm_fail(-EBADMSG, "%s is not an xgpumap dump: %s", path, what);
}

static void dump_close(void *priv)
{
	struct dump_priv *p = priv;

	json_decref(p->doc);
	free(p->frames);
	free(p);
}

static int cmp_run(const void *a, const void *b)
{
	const struct frame_run *x = a, *y = b;

	return x->mfn < y->mfn ? -1 : x->mfn > y->mfn;
}

/* The frame owners the dump recorded for each buffer (untrusted input:
 * bounded like the p2m runs), sorted for lookups. */
static int load_frames(struct dump_priv *p)
{
	json_t *frames = json_object_get(p->doc, "frames"), *runs, *r;
	const char *key;
	size_t n = 0, i;

	if (!frames)
		return 0;
	if (!json_is_object(frames))
		return -EBADMSG;
	json_object_foreach(frames, key, runs)
		n += json_array_size(runs);
	p->frames = calloc(n ? n : 1, sizeof(*p->frames));
	if (!p->frames)
		return -ENOMEM;
	json_object_foreach(frames, key, runs) {
		json_array_foreach(runs, i, r) {
			json_int_t mfn = json_integer_value(json_object_get(r, "mfn"));
			json_int_t nr = json_integer_value(json_object_get(r, "nr"));
			json_int_t owner = json_integer_value(json_object_get(r, "owner"));
			json_int_t refs = json_integer_value(json_object_get(r, "refs"));

			if (mfn < 0 || (uint64_t)mfn >= (1ULL << 52) || nr < 1 ||
			    nr > (json_int_t)(1ULL << 24) || owner < 0 ||
			    owner > UINT32_MAX || refs < 0)
				return -EBADMSG;
			p->frames[p->nr_frames++] = (struct frame_run){
				(uint64_t)mfn, (uint64_t)nr, (uint64_t)refs,
				(uint32_t)owner };
		}
	}
	qsort(p->frames, p->nr_frames, sizeof(*p->frames), cmp_run);
	return 0;
}

static int dump_frame_owner(void *priv, uint64_t mfn, uint32_t *owner,
			    uint64_t *refs)
{
	struct dump_priv *p = priv;
	size_t lo = 0, hi = p->nr_frames;

	if (!p->frames)
		return -EOPNOTSUPP; /* a dump from before frames were recorded */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->frames[mid].mfn + p->frames[mid].nr <= mfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == p->nr_frames || p->frames[lo].mfn > mfn)
		return -ENOENT;
	*owner = p->frames[lo].owner;
	if (refs)
		*refs = p->frames[lo].refs;
	return 0;
}

/* The "blobs" section, as the views dump wrote: check compares it with
 * the records of the store, the two must describe one host. */
static int dump_source_blobs(void *priv, struct xgm_source_blob **out,
			     size_t *count)
{
	struct dump_priv *p = priv;
	json_t *blobs = json_object_get(p->doc, "blobs"), *b;
	size_t i;

	if (!blobs)
		return xgm_fail(-EBADMSG, "the dump has no blobs section: it was "
				"cut or edited");
	if (!json_is_array(blobs))
		return xgm_fail(-EBADMSG, "the dump's blobs section is not a "
				"list: it was edited");
	*out = calloc(json_array_size(blobs) + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(blobs, i, b) {
		struct xgm_source_blob *sb = &(*out)[i];
		const char *id = json_string_value(json_object_get(b, "id"));
		const char *colon = id ? strrchr(id, ':') : NULL;
		const char *st = json_string_value(json_object_get(b, "strategy"));
		const char *pl = json_string_value(json_object_get(b, "placement"));
		json_int_t domid = json_integer_value(json_object_get(b, "domid"));

		if (!colon || !st || !pl || domid < 0 || domid > UINT32_MAX ||
		    !json_is_integer(json_object_get(b, "gfn")) ||
		    !json_is_integer(json_object_get(b, "size"))) {
			free(*out);
			return xgm_fail(-EBADMSG, "the dump's blobs section: entry "
					"%zu is malformed: it was edited", i);
		}
		sb->domid = (uint32_t)domid;
		sb->n = (uint32_t)strtoul(colon + 1, NULL, 10);
		sb->gfn = (uint64_t)json_integer_value(json_object_get(b, "gfn"));
		sb->size = (uint64_t)json_integer_value(json_object_get(b, "size"));
		snprintf(sb->strategy, sizeof(sb->strategy), "%s", st);
		snprintf(sb->placement, sizeof(sb->placement), "%s", pl);
	}
	*count = json_array_size(blobs);
	return 0;
}


static int dump_open(const struct xgm_ctx_opts *opts, struct xgm_opened *out,
		     void **priv)
{
	struct dump_priv *p;
	json_error_t jerr;
	json_t *doc, *v;

	if (opts->access == XGM_ACCESS_WRITE)
		return xgm_fail(-EROFS, "a dump is read-only");
	/* The one file a user is likely to give instead of a dump. */
	if (xgm_file_is_sqlite(opts->input))
		return bad(opts->input, "it is an SQLite database, a simulated "
			   "host's state ('xgpumap --sim-state FILE dump' makes a "
			   "dump of it)");
	doc = json_load_file(opts->input, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return xgm_fail(jerr.line < 1 && strstr(jerr.text, "unable to open") ?
				-ENOENT : -EBADMSG, "cannot read dump %s: %s",
				opts->input, jerr.text);
	v = json_object_get(doc, "schema");
	if (!json_is_string(v) || strcmp(json_string_value(v), XGM_DUMP_SCHEMA)) {
		json_decref(doc);
		return bad(opts->input, "no \"schema\": \"" XGM_DUMP_SCHEMA "\"");
	}
	v = json_object_get(doc, "version");
	if (!json_is_integer(v) || json_integer_value(v) != XGM_DUMP_VERSION) {
		json_decref(doc);
		return bad(opts->input, "unsupported version");
	}
	if (!json_is_array(json_object_get(doc, "domains")) ||
	    !json_is_object(json_object_get(doc, "p2m")) ||
	    !json_is_object(json_object_get(doc, "store")) ||
	    !json_is_object(json_object_get(doc, "buffers"))) {
		json_decref(doc);
		return bad(opts->input, "domains, p2m, store or buffers missing");
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		json_decref(doc);
		return -ENOMEM;
	}
	p->doc = doc;
	if (load_frames(p)) {
		dump_close(p);
		return bad(opts->input, "malformed frames section");
	}
	*priv = p;
	return 0;
}

static int parse_domain(json_t *j, struct xgm_domain_info *d)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *state = json_string_value(json_object_get(j, "state"));
	json_int_t id = json_integer_value(json_object_get(j, "domid"));

	memset(d, 0, sizeof(*d));
	if (!name || strlen(name) >= sizeof(d->name) || !type || id < 0 ||
	    id > UINT32_MAX || xgm_dom_type_parse(type, &d->type))
		return xgm_fail(-EBADMSG, "dump: a domain entry is malformed");
	d->domid = (uint32_t)id;
	strcpy(d->name, name);
	d->state = state && !strcmp(state, "crashed") ? XGM_DOM_CRASHED : XGM_DOM_RUNNING;
	d->is_dom0 = json_is_true(json_object_get(j, "dom0"));
	d->translated = json_is_true(json_object_get(j, "translated"));
	d->mem_bytes = (uint64_t)json_integer_value(json_object_get(j, "mem_bytes"));
	d->max_mem_bytes = (uint64_t)json_integer_value(json_object_get(j, "max_mem_bytes"));
	d->vcpus = (uint32_t)json_integer_value(json_object_get(j, "vcpus"));
	d->max_gpfn = (uint64_t)json_integer_value(json_object_get(j, "max_gpfn"));
	{
		const char *mode = json_string_value(json_object_get(j, "iommu"));

		d->iommu = !mode ? XGM_IOMMU_NONE :
			   !strcmp(mode, "shared") ? XGM_IOMMU_SHARED :
			   !strcmp(mode, "separate") ? XGM_IOMMU_SEPARATE :
			   !strcmp(mode, "identity") ? XGM_IOMMU_IDENTITY : XGM_IOMMU_NONE;
	}
	return 0;
}

static int dump_domain_list(void *priv, struct xgm_domain_info **out,
			    size_t *count)
{
	struct dump_priv *p = priv;
	json_t *doms = json_object_get(p->doc, "domains"), *d;
	size_t i, n = json_array_size(doms);
	int ret;

	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(doms, i, d) {
		ret = parse_domain(d, &(*out)[i]);
		if (ret) {
			/* Nothing for the caller to free on failure. */
			free(*out);
			*out = NULL;
			return ret;
		}
	}
	*count = n;
	return 0;
}

/* A dump only holds the blob windows: no run may claim more than one. */
#define MAX_RUN_FRAMES (1ULL << 24)

/* Expands the recorded runs of domid under section ("p2m" or "iommu")
 * back into leaves overlapping [first, last]. A run is untrusted input:
 * its size is bounded and its arithmetic checked. */
static int walk_runs(struct dump_priv *p, const char *section, bool dma,
		     uint32_t domid, uint64_t first, uint64_t last,
		     xgm_p2m_walk_fn fn, void *arg)
{
	char key[16];
	json_t *runs, *r;
	size_t i;
	int ret = 0;

	snprintf(key, sizeof(key), "%u", domid);
	runs = json_object_get(json_object_get(p->doc, section), key);
	if (dma && json_is_object(runs))
		runs = json_object_get(runs, "runs");
	json_array_foreach(runs, i, r) {
		struct xgm_p2m_entry e = { 0 };
		json_int_t n = json_integer_value(json_object_get(r, "entries"));
		json_int_t order = json_integer_value(json_object_get(r, "order"));
		json_int_t g = json_integer_value(json_object_get(r, dma ? "dfn" : "gfn"));
		json_int_t m = json_integer_value(json_object_get(r, "mfn"));
		const char *acc = json_string_value(json_object_get(r, "access"));
		unsigned int type = dma ? XGM_P2M_RAM_RW :
			p2m_type_parse(json_string_value(json_object_get(r, "type")));
		int emt = dma ? XGM_MT_WB :
			mem_type_parse(json_string_value(json_object_get(r, "emt")));

		if ((order != 0 && order != 9 && order != 18) || n < 1 || g < 0 || m < 0 ||
		    ((uint64_t)n << order) > MAX_RUN_FRAMES || (uint64_t)g >= (1ULL << 52) ||
		    (uint64_t)m >= (1ULL << 52) || type == XGM_P2M_NR_TYPES || emt < 0 ||
		    !acc || strlen(acc) != 3)
			return xgm_fail(-EBADMSG, "dump: malformed %s run of domain %u",
					section, domid);
		e.gfn = (uint64_t)g;
		e.mfn = (uint64_t)m;
		e.type = (uint8_t)type;
		e.emt = (uint8_t)emt;
		e.order = (uint8_t)order;
		e.access = (uint8_t)((acc[0] == 'r') << 2 | (acc[1] == 'w') << 1 | (acc[2] == 'x'));
		e.ipat = json_is_true(json_object_get(r, "ipat"));
		for (json_int_t k = 0; !ret && k < n; k++) {
			struct xgm_p2m_entry leaf = e;
			uint64_t step = (uint64_t)k << e.order;

			leaf.gfn += step;
			leaf.mfn += step;
			if (leaf.gfn > last)
				break;
			if (leaf.gfn + (1ULL << e.order) - 1 < first)
				continue;
			ret = fn(&leaf, arg);
		}
		if (ret)
			return ret;
	}
	return 0;
}

static int dump_p2m_walk(void *priv, uint32_t domid, uint64_t first,
			 uint64_t last, xgm_p2m_walk_fn fn, void *arg)
{
	return walk_runs(priv, "p2m", false, domid, first, last, fn, arg);
}

/* The IOMMU runs the dump recorded for domains with separate tables. */
static int dump_iommu_walk(void *priv, uint32_t domid, uint64_t first,
			   uint64_t last, xgm_p2m_walk_fn fn, void *arg)
{
	return walk_runs(priv, "iommu", true, domid, first, last, fn, arg);
}

static int dump_store_read(void *priv, const char *path, char **value)
{
	struct dump_priv *p = priv;
	const char *v = json_string_value(json_object_get(json_object_get(p->doc, "store"), path));

	if (!v)
		return -ENOENT;
	*value = strdup(v);
	return *value ? 0 : -ENOMEM;
}

static int dump_store_list(void *priv, const char *dir, char ***names,
			   size_t *count)
{
	struct dump_priv *p = priv;
	json_t *store = json_object_get(p->doc, "store"), *v;
	size_t len = strlen(dir), n = 0;
	const char *key;
	char **out = NULL;

	json_object_foreach(store, key, v) {
		const char *rest, *slash;
		char *child, **grown;
		bool seen = false;

		if (strncmp(key, dir, len) || key[len] != '/')
			continue;
		rest = key + len + 1;
		slash = strchr(rest, '/');
		child = slash ? strndup(rest, (size_t)(slash - rest)) : strdup(rest);
		for (size_t i = 0; child && i < n; i++)
			seen |= !strcmp(out[i], child);
		if (!child || seen) {
			free(child);
			continue;
		}
		grown = realloc(out, (n + 1) * sizeof(*out));
		if (!grown) {
			free(child);
			break;
		}
		out = grown;
		out[n++] = child;
	}
	if (!n) {
		free(out);
		return -ENOENT;
	}
	*names = out;
	*count = n;
	return 0;
}

static int dump_buf_extents(void *priv, uint64_t buf, struct xgm_extent **out,
			    size_t *count)
{
	struct dump_priv *p = priv;
	char key[24];
	json_t *arr, *e;
	size_t i;

	snprintf(key, sizeof(key), "%llu", (unsigned long long)buf);
	arr = json_object_get(json_object_get(p->doc, "buffers"), key);
	if (!json_is_array(arr) || !json_array_size(arr))
		return -ENOENT;
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(arr, i, e) {
		(*out)[i].mfn = (uint64_t)json_integer_value(json_object_get(e, "mfn"));
		(*out)[i].nr = (uint64_t)json_integer_value(json_object_get(e, "nr"));
	}
	*count = json_array_size(arr);
	return 0;
}

static const struct xgm_hv_ops dump_hv_ops = {
	.name = "dump",
	.open = dump_open,
	.close = dump_close,
	.domain_list = dump_domain_list,
	.p2m_walk = dump_p2m_walk,
	.iommu_walk = dump_iommu_walk,
	.store_read = dump_store_read,
	.store_list = dump_store_list,
	.frame_owner = dump_frame_owner,
	.source_blobs = dump_source_blobs,
};

static const struct xgm_gpu_ops dump_gpu_ops = {
	.name = "dump",
	.buf_extents = dump_buf_extents,
};

const struct xgm_backend xgm_backend_dump = {
	.kind = XGM_BACKEND_DUMP,
	.hv = &dump_hv_ops,
	.gpu = &dump_gpu_ops,
};
