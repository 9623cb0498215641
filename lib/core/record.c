// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The blob record: what the store keeps of a blob, one compact JSON object
 * per blob at /xgpumap/blob/DOMID/N. The engine works on struct blob; this
 * file is the only place that knows the stored form.
 *
 * Loading validates every field: a record is data from the store (which
 * anyone in dom0 can write on Xen), not something to trust. Unknown keys
 * are refused (JSON_STRICT), a key given twice is refused by store_get's
 * parser, and every number is bounded before it sizes anything.
 *
 * Defaults are left out (card0, wc, generation 0, not pinned, zero
 * counters): xenstore bounds a value at 4 KiB with its path, and a host of
 * 4096 blobs keeps 4096 of these.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "util/array.h"
#include "util/pairs.h"

#define RECORD_VERSION 2

/* Frames and counts: Xen's frame numbers have at most 52 bits. Bounding
 * them keeps every sum of two below 2^64. */
#define FRAME_MAX (1ULL << 52)

static const char *const op_names[BLOB_OP_NR] = {
	[BLOB_OP_ATTACH] = "attach",
	[BLOB_OP_MIGRATE] = "migrate",
	[BLOB_OP_DETACH] = "detach",
	[BLOB_OP_EVICT] = "evict",
};

const char *blob_op_name(enum blob_op_kind k)
{
	return k < BLOB_OP_NR ? op_names[k] : "?";
}

/* ---- encoding ---------------------------------------------------------- */

json_t *extents_record(const struct xgm_extent *e, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		if (xgm_pairs_add(arr, e[i].mfn, e[i].nr)) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

/* Grant refs as runs first,count: they are mostly consecutive. A run of
 * UINT32_MAX is pages with no ref (not granted yet, or ended already). */
static json_t *grefs_record(const struct blob *b)
{
	json_t *arr = json_array();

	for (uint64_t i = 0; arr && i < b->nr;) {
		uint64_t k = 1;

		if (b->grefs[i] == UINT32_MAX)
			while (i + k < b->nr && b->grefs[i + k] == UINT32_MAX)
				k++;
		else
			while (i + k < b->nr && b->grefs[i + k] == b->grefs[i] + k)
				k++;
		if (xgm_pairs_add(arr, b->grefs[i], k)) {
			json_decref(arr);
			return NULL;
		}
		i += k;
	}
	return arr;
}

#define COUNTERS(X) X(hypercalls) X(p2m_entries) X(splits) X(tlb_flushes) \
	X(ipis) X(iommu_entries) X(iotlb_flushes) X(pages_copied) \
	X(lock_acquisitions) X(ioreqs) X(memory_type_changes)

static json_t *op_record(const struct blob_op *op)
{
	json_t *o = json_object();

#define PUT(f) if (op->c.f) \
		json_object_set_new(o, #f, json_integer((json_int_t)op->c.f));
	COUNTERS(PUT)
#undef PUT
	json_object_set_new(o, "measured_us", json_real(op->measured_us));
	if (!isnan(op->modeled_us))
		json_object_set_new(o, "modeled_us", json_real(op->modeled_us));
	if (!isnan(op->blackout_us))
		json_object_set_new(o, "blackout_us", json_real(op->blackout_us));
	return o;
}

json_t *blob_record(const struct blob *b)
{
	json_t *r, *ops = json_object();

	r = json_pack("{s:i, s:I, s:I, s:s, s:I, s:s, s:s, s:b, s:I, s:s, s:I, s:o}",
		      "v", RECORD_VERSION, "d", (json_int_t)b->domid,
		      "n", (json_int_t)b->n, "dom", b->dom_name,
		      "size", (json_int_t)b->size,
		      "place", placement_name(b->placement),
		      "strat", strategy_name(b->strategy),
		      "auto", b->strategy_auto, "gfn", (json_int_t)b->gfn,
		      "state", b->state, "buf", (json_int_t)b->buf,
		      "ext", extents_record(b->ext, b->nr_ext));
	if (!r || !ops) {
		json_decref(r);
		json_decref(ops);
		return NULL;
	}
	if (strcmp(b->card, "card0"))
		json_object_set_new(r, "card", json_string(b->card));
	if (b->cache != CACHE_WC)
		json_object_set_new(r, "cache", json_string(cache_name(b->cache)));
	if (b->generation)
		json_object_set_new(r, "gen", json_integer((json_int_t)b->generation));
	if (b->pinned)
		json_object_set_new(r, "pinned", json_true());
	if (b->filled)
		json_object_set_new(r, "fill", json_integer((json_int_t)b->fill_id));
	if (b->grefs)
		json_object_set_new(r, "grefs", grefs_record(b));
	for (unsigned int k = 0; k < BLOB_OP_NR; k++)
		if (b->ops[k].done)
			json_object_set_new(ops, op_names[k], op_record(&b->ops[k]));
	if (json_object_size(ops))
		json_object_set(r, "ops", ops);
	json_decref(ops);
	if (*b->label)
		json_object_set_new(r, "label", json_string(b->label));
	return r;
}

/* ---- decoding ---------------------------------------------------------- */

static int bad(const char *what)
{
	return xgm_fail(-EBADMSG, "blob record: %s", what);
}

static int copy_text(char *out, size_t len, const char *v, const char *key)
{
	if (strlen(v) >= len)
		return xgm_fail(-EBADMSG, "blob record: %s too long", key);
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* Growing arrays of xgm_extent, filled by xgm_pairs_each(). */
struct ext_fill {
	struct xgm_extent *ext;
	size_t n, cap;
	uint64_t total;
};

static int add_extent(void *arg, uint64_t mfn, uint64_t nr)
{
	struct ext_fill *f = arg;

	if (!nr || mfn >= FRAME_MAX)
		return -EBADMSG;
	if (xgm_array_room(&f->ext, f->n, &f->cap, sizeof(*f->ext), 4))
		return -ENOMEM;
	f->ext[f->n++] = (struct xgm_extent){ mfn, nr };
	f->total += nr; /* each <= 2^52, n < 2^31: cannot wrap */
	return 0;
}

int extents_from_record(json_t *arr, const char *key, struct xgm_extent **out,
			size_t *n, uint64_t *frames)
{
	struct ext_fill f = { 0 };
	int ret = xgm_pairs_each(arr, FRAME_MAX, FRAME_MAX, add_extent, &f);

	if (!ret && !f.n)
		ret = -EBADMSG;
	if (ret) {
		free(f.ext);
		return ret == -EBADMSG ? xgm_fail(ret, "%s is not a "
						  "list of frame runs", key) : ret;
	}
	*out = f.ext;
	*n = f.n;
	*frames = f.total;
	return 0;
}

static int get_extents(json_t *arr, struct blob *b)
{
	uint64_t total = 0;
	int ret = extents_from_record(arr, "ext", &b->ext, &b->nr_ext, &total);

	if (!ret && total != b->nr)
		ret = bad("extents do not add up to the blob's size");
	return ret;
}

/* Grant refs, run by run, into the blob's one-per-page array. */
struct gref_fill {
	struct blob *b;
	uint64_t at;
};

static int add_grefs(void *arg, uint64_t first, uint64_t count)
{
	struct gref_fill *f = arg;
	bool none = first == UINT32_MAX;

	if (!count || count > f->b->nr - f->at ||
	    (!none && first + count - 1 >= UINT32_MAX))
		return -EBADMSG;
	for (uint64_t k = 0; k < count; k++)
		f->b->grefs[f->at++] = none ? UINT32_MAX : (uint32_t)(first + k);
	return 0;
}

static int get_grefs(json_t *arr, struct blob *b)
{
	struct gref_fill f = { b, 0 };
	int ret;

	b->grefs = malloc(b->nr * sizeof(*b->grefs));
	if (!b->grefs)
		return -ENOMEM;
	ret = xgm_pairs_each(arr, UINT32_MAX, FRAME_MAX, add_grefs, &f);
	if (ret == -EBADMSG)
		return bad("bad grant refs");
	while (!ret && f.at < b->nr)
		b->grefs[f.at++] = UINT32_MAX;
	return ret;
}

/* jansson's "I" reads a json_int_t; counters are never negative. */
static int get_op(json_t *o, struct blob_op *op, const char *name)
{
	json_int_t c[11] = { 0 };
	double measured = 0, modeled = NAN, blackout = NAN;
	json_error_t err;
	size_t i = 0;

	if (json_unpack_ex(o, &err, JSON_STRICT,
			   "{s?I, s?I, s?I, s?I, s?I, s?I, s?I, s?I, s?I, s?I, "
			   "s?I, s?F, s?F, s?F}",
			   "hypercalls", &c[0], "p2m_entries", &c[1],
			   "splits", &c[2], "tlb_flushes", &c[3], "ipis", &c[4],
			   "iommu_entries", &c[5], "iotlb_flushes", &c[6],
			   "pages_copied", &c[7], "lock_acquisitions", &c[8],
			   "ioreqs", &c[9], "memory_type_changes", &c[10],
			   "measured_us", &measured, "modeled_us", &modeled,
			   "blackout_us", &blackout))
		return xgm_fail(-EBADMSG, "blob record: ops.%s: %s", name, err.text);
	for (size_t k = 0; k < sizeof(c) / sizeof(*c); k++)
		if (c[k] < 0)
			return xgm_fail(-EBADMSG, "blob record: ops.%s: a negative "
					"count", name);
	op->done = true;
#define GET(f) op->c.f = (uint64_t)c[i++];
	COUNTERS(GET)
#undef GET
	op->measured_us = measured;
	op->modeled_us = modeled;
	op->blackout_us = blackout;
	return 0;
}

static int get_ops(json_t *ops, struct blob *b)
{
	const char *name;
	json_t *o;

	if (!json_is_object(ops))
		return bad("ops is not an object");
	json_object_foreach(ops, name, o) {
		unsigned int k;
		int ret;

		for (k = 0; k < BLOB_OP_NR && strcmp(name, op_names[k]); k++)
			;
		if (k == BLOB_OP_NR)
			return xgm_fail(-EBADMSG, "blob record: unknown operation "
					"'%s'", name);
		ret = get_op(o, &b->ops[k], name);
		if (ret)
			return ret;
	}
	return 0;
}

static void ops_unknown(struct blob *b)
{
	for (unsigned int k = 0; k < BLOB_OP_NR; k++)
		b->ops[k] = (struct blob_op){ .modeled_us = NAN, .blackout_us = NAN };
}

static int get_fields(json_t *r, struct blob *b)
{
	json_int_t v, d, n, size, gfn, gen = 0, buf, fill = -1;
	const char *dom, *card = "card0", *place, *strat, *cache = NULL,
		   *state, *label = "";
	int autoc, pinned = 0;
	json_t *ext, *grefs = NULL, *ops = NULL;
	json_error_t err;

	if (json_unpack_ex(r, &err, JSON_STRICT,
			   "{s:I, s:I, s:I, s:s, s:I, s?s, s:s, s:s, s:b, s?s, "
			   "s:I, s?I, s:s, s:I, s?b, s?I, s:o, s?o, s?o, s?s}",
			   "v", &v, "d", &d, "n", &n, "dom", &dom, "size", &size,
			   "card", &card, "place", &place, "strat", &strat,
			   "auto", &autoc, "cache", &cache, "gfn", &gfn,
			   "gen", &gen, "state", &state, "buf", &buf,
			   "pinned", &pinned, "fill", &fill, "ext", &ext,
			   "grefs", &grefs, "ops", &ops, "label", &label))
		return xgm_fail(-EBADMSG, "blob record: %s", err.text);
	if (v != RECORD_VERSION)
		return xgm_fail(-EBADMSG, "blob record: version %lld, this "
				"library reads version %d", (long long)v,
				RECORD_VERSION);
	/* No blob outgrows its window; the grefs array is sized by this. */
	if (d < 0 || d > UINT32_MAX || n < 0 || n > UINT32_MAX)
		return bad("bad domid or number");
	if (size <= 0 || size % 4096 || (uint64_t)size > XGM_WINDOW_FRAMES * 4096)
		return bad("size is not a whole number of pages in a window");
	if (gfn < 0 || gfn > 1LL << 40 || gen < 0 || buf < 0)
		return bad("bad gfn, generation or buffer");
	if (fill != -1 && (fill < 0 || fill > 0xfff))
		return bad("bad fill id");
	b->domid = (uint32_t)d;
	b->n = (uint32_t)n;
	b->size = (uint64_t)size;
	b->nr = b->size / 4096;
	b->gfn = (uint64_t)gfn;
	b->generation = (uint64_t)gen;
	b->buf = (uint64_t)buf;
	b->strategy_auto = autoc;
	b->pinned = pinned;
	b->filled = fill != -1;
	b->fill_id = b->filled ? (uint64_t)fill : 0;
	if (placement_parse(place, &b->placement))
		return bad("bad placement");
	if (strategy_parse(strat, &b->strategy) || b->strategy == STRAT_AUTO)
		return bad("bad strategy");
	if (cache && cache_parse(cache, &b->cache))
		return bad("bad cache type");
	return copy_text(b->dom_name, sizeof(b->dom_name), dom, "dom") ?:
	       copy_text(b->card, sizeof(b->card), card, "card") ?:
	       copy_text(b->state, sizeof(b->state), state, "state") ?:
	       copy_text(b->label, sizeof(b->label), label, "label") ?:
	       get_extents(ext, b) ?:
	       (grefs ? get_grefs(grefs, b) : 0) ?:
	       (ops ? get_ops(ops, b) : 0);
}

int blob_from_record(json_t *r, struct blob *b)
{
	int ret;

	memset(b, 0, sizeof(*b));
	ops_unknown(b);
	if (!json_is_object(r))
		return bad("not an object");
	ret = get_fields(r, b);
	if (ret)
		blob_free(b);
	return ret;
}

/* ---- the text form (tests and the fuzzer) ------------------------------ */

char *blob_encode(const struct blob *b)
{
	json_t *r = blob_record(b);
	char *s = r ? json_dumps(r, STORE_DUMP_FLAGS) : NULL;

	json_decref(r);
	return s;
}

int blob_decode(const char *text, struct blob *b)
{
	json_t *r = store_parse(text, "blob record");
	int ret;

	if (!r) {
		memset(b, 0, sizeof(*b));
		return -EBADMSG;
	}
	ret = blob_from_record(r, b);
	json_decref(r);
	return ret;
}
