// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The blob record: what the store keeps of a blob, one compact JSON object
 * per blob at /xgpumap/blob/DOMID/N. The engine works on struct blob; this
 * file is the only place that knows the stored form.
 *
 * Loading validates every field: a record is data from the store (which
 * anyone in dom0 can write on Xen), not something to trust. Unknown keys
 * are refused, a key given twice is refused by store_get's parser, and
 * every number is bounded before it sizes anything.
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

/* What each operation on the blob cost: its own key (blob.c), read only
 * by what shows it, so a list or a placement never decodes it. NULL when
 * no operation is recorded. */
json_t *blob_ops_record(const struct blob *b)
{
	json_t *ops = json_object();

	for (unsigned int k = 0; ops && k < BLOB_OP_NR; k++)
		if (b->ops[k].done)
			json_object_set_new(ops, op_names[k], op_record(&b->ops[k]));
	if (ops && !json_object_size(ops)) {
		json_decref(ops);
		ops = NULL;
	}
	return ops;
}

json_t *blob_record(const struct blob *b)
{
	json_t *r;

	r = json_pack("{s:i, s:I, s:I, s:s, s:I, s:s, s:s, s:b, s:I, s:s, s:I, s:o}",
		      "v", RECORD_VERSION, "d", (json_int_t)b->domid,
		      "n", (json_int_t)b->n, "dom", b->dom_name,
		      "size", (json_int_t)b->size,
		      "place", placement_name(b->placement),
		      "strat", strategy_name(b->strategy),
		      "auto", b->strategy_auto, "gfn", (json_int_t)b->gfn,
		      "state", b->state, "buf", (json_int_t)b->buf,
		      "ext", extents_record(b->ext, b->nr_ext));
	if (!r)
		return NULL;
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

/*
 * Strict reading of an object, key by key: what json_unpack_ex(JSON_STRICT)
 * does, at a fifth of its cost (it parses its format string on every call,
 * and a host's lists and placements read every record of a domain). Each
 * getter counts the keys it found; an object with more keys than were
 * found has one nobody asked for.
 */
struct fields {
	json_t *obj;
	const char *where;     /* "blob record", "blob record: ops.attach" */
	size_t found;
	const char *asked[24]; /* every key a getter asked for */
	size_t nr_asked;
};

static json_t *field(struct fields *f, const char *key, bool need, int *ret)
{
	json_t *v = json_object_get(f->obj, key);

	if (f->nr_asked < sizeof(f->asked) / sizeof(*f->asked))
		f->asked[f->nr_asked++] = key;
	if (v)
		f->found++;
	else if (need && !*ret)
		*ret = xgm_fail(-EBADMSG, "%s: %s is missing", f->where, key);
	return v;
}

static void get_int(struct fields *f, const char *key, bool need,
		    json_int_t *out, int *ret)
{
	json_t *v = field(f, key, need, ret);

	if (v && !json_is_integer(v) && !*ret)
		*ret = xgm_fail(-EBADMSG, "%s: %s is not an integer", f->where, key);
	else if (v)
		*out = json_integer_value(v);
}

static void get_str(struct fields *f, const char *key, bool need,
		    const char **out, int *ret)
{
	json_t *v = field(f, key, need, ret);

	if (v && !json_is_string(v) && !*ret)
		*ret = xgm_fail(-EBADMSG, "%s: %s is not a string", f->where, key);
	else if (v)
		*out = json_string_value(v);
}

static void get_bool(struct fields *f, const char *key, bool need, int *out,
		     int *ret)
{
	json_t *v = field(f, key, need, ret);

	if (v && !json_is_boolean(v) && !*ret)
		*ret = xgm_fail(-EBADMSG, "%s: %s is not a boolean", f->where, key);
	else if (v)
		*out = json_is_true(v);
}

/* A real, as jansson's "F" reads one: an integer is a number too. */
static void get_real(struct fields *f, const char *key, double *out, int *ret)
{
	json_t *v = field(f, key, false, ret);

	if (v && !json_is_number(v) && !*ret)
		*ret = xgm_fail(-EBADMSG, "%s: %s is not a number", f->where, key);
	else if (v)
		*out = json_number_value(v);
}

/* Every key must have been asked for: names the first one that was not. */
static int fields_end(struct fields *f, int ret)
{
	const char *key;
	json_t *v;

	if (ret || f->found == json_object_size(f->obj))
		return ret;
	json_object_foreach(f->obj, key, v) {
		size_t k = 0;

		(void)v;
		while (k < f->nr_asked && strcmp(f->asked[k], key))
			k++;
		if (k == f->nr_asked)
			break;
	}
	return xgm_fail(-EBADMSG, "%s: unknown key '%s'", f->where,
			key ? key : "?");
}

/* Counters are never negative. */
static int get_op(json_t *o, struct blob_op *op, const char *name)
{
	char where[64];
	struct fields f = { o, where, 0 };
	json_int_t c[11] = { 0 };
	double measured = 0, modeled = NAN, blackout = NAN;
	int ret = 0;
	size_t i = 0;

	snprintf(where, sizeof(where), "blob record: ops.%s", name);
	if (!json_is_object(o))
		return xgm_fail(-EBADMSG, "%s is not an object", where);
#define GET(fl) get_int(&f, #fl, false, &c[i++], &ret);
	COUNTERS(GET)
#undef GET
	get_real(&f, "measured_us", &measured, &ret);
	get_real(&f, "modeled_us", &modeled, &ret);
	get_real(&f, "blackout_us", &blackout, &ret);
	ret = fields_end(&f, ret);
	if (ret)
		return ret;
	for (size_t k = 0; k < sizeof(c) / sizeof(*c); k++)
		if (c[k] < 0)
			return xgm_fail(-EBADMSG, "%s: a negative count", where);
	op->done = true;
	i = 0;
#define PUT(fl) op->c.fl = (uint64_t)c[i++];
	COUNTERS(PUT)
#undef PUT
	op->measured_us = measured;
	op->modeled_us = modeled;
	op->blackout_us = blackout;
	return 0;
}

int blob_ops_from_record(json_t *ops, struct blob *b)
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
	json_int_t v = 0, d = 0, n = 0, size = 0, gfn = 0, gen = 0, buf = 0,
		   fill = -1;
	const char *dom = "", *card = "card0", *place = "", *strat = "",
		   *cache = NULL, *state = "", *label = "";
	int autoc = 0, pinned = 0, ret = 0;
	struct fields f = { r, "blob record", 0 };
	json_t *ext, *grefs, *ops;

	get_int(&f, "v", true, &v, &ret);
	get_int(&f, "d", true, &d, &ret);
	get_int(&f, "n", true, &n, &ret);
	get_str(&f, "dom", true, &dom, &ret);
	get_int(&f, "size", true, &size, &ret);
	get_str(&f, "card", false, &card, &ret);
	get_str(&f, "place", true, &place, &ret);
	get_str(&f, "strat", true, &strat, &ret);
	get_bool(&f, "auto", true, &autoc, &ret);
	get_str(&f, "cache", false, &cache, &ret);
	get_int(&f, "gfn", true, &gfn, &ret);
	get_int(&f, "gen", false, &gen, &ret);
	get_str(&f, "state", true, &state, &ret);
	get_int(&f, "buf", true, &buf, &ret);
	get_bool(&f, "pinned", false, &pinned, &ret);
	get_int(&f, "fill", false, &fill, &ret);
	ext = field(&f, "ext", true, &ret);
	grefs = field(&f, "grefs", false, &ret);
	/* Records before the costs had a key of their own kept them here. */
	ops = field(&f, "ops", false, &ret);
	get_str(&f, "label", false, &label, &ret);
	ret = fields_end(&f, ret);
	if (ret)
		return ret;
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
	       (ops ? blob_ops_from_record(ops, b) ?:
		      (b->ops_changed = true, 0) : 0);
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
