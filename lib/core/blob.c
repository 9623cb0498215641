// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Blob records: what is mapped where, kept in the store at
 * /xgpumap/blob/DOMID/N as one JSON object each. Loading validates every
 * field: a record is data from the store, not something to trust.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"

void blob_free(struct blob *b)
{
	free(b->ext);
	free(b->grefs);
	json_decref(b->ops);
	memset(b, 0, sizeof(*b));
}

void blob_free_all(struct blob *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		blob_free(&b[i]);
	free(b);
}

/*
 * The stored form is one line of KEY=VALUE tokens ("xgm-blob/1 d=1 n=3
 * ..."): a host of 64 guests x 64 blobs keeps 4096 of these in its state,
 * which must load and save in well under 50 ms, and a JSON object per blob
 * inside a JSON string was four times larger and slower to parse. Strings
 * are percent-encoded, so a value never holds a space, quote or control
 * character. Unknown keys are refused, not skipped: a record is data from
 * the store, not something to guess at.
 */
#define BLOB_MAGIC "xgm-blob/1"

static const char *const op_fields[] = {
	"hypercalls", "p2m_entries", "splits", "tlb_flushes", "ipis",
	"iommu_entries", "iotlb_flushes", "pages_copied", "lock_acquisitions",
	"ioreqs", "memory_type_changes", "measured_us", "modeled_us",
	"blackout_us",
};
#define NR_OP_FIELDS (sizeof(op_fields) / sizeof(*op_fields))

struct line {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(l->buf ? l->buf + l->len : NULL,
			      l->buf ? l->cap - l->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			l->oom = true;
			return;
		}
		if (l->buf && l->len + (size_t)n < l->cap) {
			l->len += (size_t)n;
			return;
		}
		{
			size_t cap = (l->cap + (size_t)n + 1) * 2;
			char *g = realloc(l->buf, cap);

			if (!g) {
				l->oom = true;
				return;
			}
			l->buf = g;
			l->cap = cap;
		}
	}
}

static void put_str(struct line *l, const char *key, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	char *enc = malloc(strlen(v) * 3 + 1), *o = enc;

	if (!enc) {
		l->oom = true;
		return;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p <= ' ' || *p == '%' || *p == '"' || *p == '\\' || *p >= 0x7f) {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	put(l, " %s=%s", key, enc);
	free(enc);
}

char *blob_encode(const struct blob *b)
{
	struct line l = { 0 };
	const char *name;
	json_t *op;

	/* Defaults (card0, wc, generation 0, not pinned) are left out. */
	put(&l, BLOB_MAGIC " d=%u n=%u", b->domid, b->n);
	put_str(&l, "dom", b->dom_name);
	put(&l, " size=%llu", (unsigned long long)b->size);
	if (strcmp(b->card, "card0"))
		put_str(&l, "card", b->card);
	put(&l, " place=%s strat=%s auto=%d", placement_name(b->placement),
	    strategy_name(b->strategy), b->strategy_auto);
	if (b->cache != CACHE_WC)
		put(&l, " cache=%s", cache_name(b->cache));
	put(&l, " gfn=%llu", (unsigned long long)b->gfn);
	if (b->generation)
		put(&l, " gen=%llu", (unsigned long long)b->generation);
	put_str(&l, "state", b->state);
	put(&l, " buf=%llu", (unsigned long long)b->buf);
	if (b->pinned)
		put(&l, " pinned=1");
	if (b->filled)
		put(&l, " fill=%llu", (unsigned long long)b->fill_id);
	put(&l, " ext=");
	for (size_t i = 0; i < b->nr_ext; i++)
		put(&l, "%s%llu+%llu", i ? "," : "", (unsigned long long)b->ext[i].mfn,
		    (unsigned long long)b->ext[i].nr);
	if (b->grefs) {
		/* As runs first+count: grant refs are mostly consecutive. */
		put(&l, " grefs=");
		for (uint64_t i = 0; i < b->nr;) {
			uint64_t k = 1;

			/* A run of "no ref" (UINT32_MAX) is one run too. */
			if (b->grefs[i] == UINT32_MAX)
				while (i + k < b->nr && b->grefs[i + k] == UINT32_MAX)
					k++;
			else
				while (i + k < b->nr && b->grefs[i + k] == b->grefs[i] + k)
					k++;
			put(&l, "%s%u+%llu", i ? "," : "", b->grefs[i],
			    (unsigned long long)k);
			i += k;
		}
	}
	json_object_foreach(b->ops, name, op) {
		size_t last = 0;

		for (size_t i = 0; i < NR_OP_FIELDS; i++)
			if (json_object_get(op, op_fields[i]))
				last = i + 1;
		put(&l, " op.%s=", name);
		for (size_t i = 0; i < last; i++) {
			json_t *v = json_object_get(op, op_fields[i]);

			if (json_is_real(v))
				put(&l, "%s%.1f", i ? "," : "", json_real_value(v));
			else if (json_is_integer(v))
				put(&l, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
			else
				put(&l, "%s-", i ? "," : "");
		}
	}
	if (*b->label)
		put_str(&l, "label", b->label);
	if (l.oom) {
		free(l.buf);
		errno = ENOMEM;
		return NULL;
	}
	return l.buf;
}

static int bad(const char *what)
{
	return xgm_fail(-EBADMSG, "blob record: %s", what);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int get_text(const char *v, char *out, size_t len, const char *key)
{
	size_t n = 0;

	for (; *v; v++) {
		int c = (unsigned char)*v;

		if (c == '%') {
			int hi = hexval(v[1]), lo = hi < 0 ? -1 : hexval(v[2]);

			if (lo < 0)
				return xgm_fail(-EBADMSG, "blob record: bad escape in %s", key);
			c = hi << 4 | lo;
			v += 2;
		}
		if (n + 1 >= len)
			return xgm_fail(-EBADMSG, "blob record: %s too long", key);
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

static int get_num(const char *v, uint64_t max, uint64_t *out, const char *key)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 10);
	if (!*v || *v == '-' || *end || errno || x > max)
		return xgm_fail(-EBADMSG, "blob record: %s is not a number", key);
	*out = x;
	return 0;
}

/* Frames and counts: Xen's frame numbers have at most 52 bits. Bounding
 * them here keeps every sum of two below 2^64. */
#define PAIR_MAX (1ULL << 52)

/* "a+b,c+d" into pairs of decimal numbers (no sign: strtoull would take
 * "-1" as 2^64-1); *n pairs. */
static int get_pairs(const char *v, uint64_t (**out)[2], size_t *n, const char *key)
{
	uint64_t (*p)[2] = NULL;
	size_t count = 0, cap = 0;

	while (*v) {
		char *end;

		/* Doubling: a PV dom0's 1 GiB buffer has 262144 pairs. */
		if (count == cap) {
			uint64_t (*g)[2];

			cap = cap ? cap * 2 : 16;
			g = realloc(p, cap * sizeof(*p));
			if (!g) {
				free(p);
				return -ENOMEM;
			}
			p = g;
		}
		errno = 0;
		p[count][0] = strtoull(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end != '+' || errno ||
		    p[count][0] >= PAIR_MAX)
			goto fail;
		v = end + 1;
		p[count][1] = strtoull(v, &end, 10);
		if (!isdigit((unsigned char)*v) || (*end && *end != ',') || errno ||
		    !p[count][1] || p[count][1] > PAIR_MAX)
			goto fail;
		v = *end ? end + 1 : end;
		count++;
	}
	if (!count)
		goto fail;
	*out = p;
	*n = count;
	return 0;
fail:
	free(p);
	return xgm_fail(-EBADMSG, "blob record: %s is not a list of a+b", key);
}

static int get_op(const char *v, json_t **op)
{
	*op = json_object();
	for (size_t i = 0; *v; i++) {
		char *end;

		if (i >= NR_OP_FIELDS)
			goto fail;
		if (*v == '-') {
			end = (char *)v + 1;
		} else if (strchr(op_fields[i], '_') && strstr(op_fields[i], "_us")) {
			double d = strtod(v, &end);

			if (end == v)
				goto fail;
			json_object_set_new(*op, op_fields[i], json_real(d));
		} else {
			unsigned long long x;

			errno = 0;
			x = strtoull(v, &end, 10);
			/* JSON integers are signed: a larger count would
			 * come back negative, which nothing reads back. */
			if (end == v || *v == '-' || errno == ERANGE || x > INT64_MAX)
				goto fail;
			json_object_set_new(*op, op_fields[i], json_integer((json_int_t)x));
		}
		if (*end && *end != ',')
			goto fail;
		v = *end ? end + 1 : end;
	}
	return 0;
fail:
	json_decref(*op);
	return bad("bad operation counters");
}

/* Fields that may appear once (op.NAME replaces itself harmlessly). */
static const char *const once_fields[] = {
	"d", "n", "dom", "size", "card", "place", "strat", "auto", "cache",
	"gfn", "gen", "state", "buf", "pinned", "fill", "ext", "grefs", "label",
};

/* A field given twice would leak what the first allocated, and a second
 * size after grefs would outgrow the grefs array: records are untrusted
 * (xenstore), and blob_encode never repeats one. */
static int once(const char *key, unsigned int *given)
{
	for (unsigned int i = 0; i < sizeof(once_fields) / sizeof(*once_fields); i++) {
		if (strcmp(key, once_fields[i]))
			continue;
		if (*given & (1u << i))
			return xgm_fail(-EBADMSG, "blob record: field '%s' twice", key);
		*given |= 1u << i;
	}
	return 0;
}

static int set_field(struct blob *b, const char *key, const char *v,
		     unsigned int *seen)
{
	char name[32];
	uint64_t x, (*pairs)[2];
	size_t n;
	int ret = 0;

#define SEEN(bit) (*seen |= 1u << (bit))
	if (!strcmp(key, "d")) {
		ret = get_num(v, UINT32_MAX, &x, key);
		b->domid = (uint32_t)x;
		SEEN(0);
	} else if (!strcmp(key, "n")) {
		ret = get_num(v, UINT32_MAX, &x, key);
		b->n = (uint32_t)x;
		SEEN(1);
	} else if (!strcmp(key, "dom")) {
		ret = get_text(v, b->dom_name, sizeof(b->dom_name), key);
		SEEN(2);
	} else if (!strcmp(key, "size")) {
		/* No blob outgrows its window; grefs is sized by this. */
		ret = get_num(v, XGM_WINDOW_FRAMES * 4096, &b->size, key);
		SEEN(3);
	} else if (!strcmp(key, "card")) {
		ret = get_text(v, b->card, sizeof(b->card), key);
	} else if (!strcmp(key, "place")) {
		ret = placement_parse(v, &b->placement) ? bad("bad placement") : 0;
		SEEN(5);
	} else if (!strcmp(key, "strat")) {
		ret = strategy_parse(v, &b->strategy) || b->strategy == STRAT_AUTO ?
		      bad("bad strategy") : 0;
		SEEN(6);
	} else if (!strcmp(key, "auto")) {
		ret = get_num(v, 1, &x, key);
		b->strategy_auto = x;
	} else if (!strcmp(key, "cache")) {
		ret = cache_parse(v, &b->cache) ? bad("bad cache type") : 0;
	} else if (!strcmp(key, "gfn")) {
		ret = get_num(v, 1ULL << 40, &b->gfn, key);
		SEEN(7);
	} else if (!strcmp(key, "gen")) {
		ret = get_num(v, UINT64_MAX, &b->generation, key);
	} else if (!strcmp(key, "state")) {
		ret = get_text(v, b->state, sizeof(b->state), key);
		SEEN(8);
	} else if (!strcmp(key, "buf")) {
		ret = get_num(v, UINT64_MAX, &b->buf, key);
		SEEN(9);
	} else if (!strcmp(key, "pinned")) {
		ret = get_num(v, 1, &x, key);
		b->pinned = x;
	} else if (!strcmp(key, "fill")) {
		ret = get_num(v, 0xfff, &b->fill_id, key);
		b->filled = true;
	} else if (!strcmp(key, "ext")) {
		ret = get_pairs(v, &pairs, &n, key);
		if (!ret) {
			b->ext = calloc(n, sizeof(*b->ext));
			for (size_t i = 0; b->ext && i < n; i++)
				b->ext[i] = (struct xgm_extent){ pairs[i][0], pairs[i][1] };
			b->nr_ext = b->ext ? n : 0;
			ret = b->ext ? 0 : -ENOMEM;
			free(pairs);
		}
		SEEN(10);
	} else if (!strcmp(key, "grefs")) {
		/* One ref per page: the size must be known first. */
		ret = *seen & (1u << 3) ? get_pairs(v, &pairs, &n, key) :
		      bad("grefs before size");
		if (!ret) {
			uint64_t at = 0;

			b->grefs = malloc((b->size / 4096 ? b->size / 4096 : 1) * sizeof(*b->grefs));
			if (!b->grefs)
				ret = -ENOMEM;
			for (size_t i = 0; !ret && i < n; i++) {
				/* UINT32_MAX+k is a run of k pages with no ref
				 * (not granted yet, or ended already). */
				bool none = pairs[i][0] == UINT32_MAX;

				if (pairs[i][1] > b->size / 4096 - at ||
				    (!none && pairs[i][0] + pairs[i][1] - 1 >= UINT32_MAX))
					ret = bad("bad grant refs");
				for (uint64_t k = 0; !ret && k < pairs[i][1]; k++)
					b->grefs[at++] = none ? UINT32_MAX :
							 (uint32_t)(pairs[i][0] + k);
			}
			while (!ret && at < b->size / 4096)
				b->grefs[at++] = UINT32_MAX;
			free(pairs);
		}
	} else if (!strncmp(key, "op.", 3) && strlen(key) < 3 + sizeof(name)) {
		json_t *op;

		snprintf(name, sizeof(name), "%s", key + 3);
		ret = get_op(v, &op);
		if (!ret)
			json_object_set_new(b->ops, name, op);
	} else if (!strcmp(key, "label")) {
		ret = get_text(v, b->label, sizeof(b->label), key);
	} else {
		ret = xgm_fail(-EBADMSG, "blob record: unknown field '%s'", key);
	}
#undef SEEN
	return ret;
}

int blob_decode(const char *text, struct blob *b)
{
	unsigned int seen = 0, given = 0;
	uint64_t total = 0;
	char *copy, *save = NULL, *tok;
	int ret = 0;

	memset(b, 0, sizeof(*b));
	if (!text || strncmp(text, BLOB_MAGIC " ", strlen(BLOB_MAGIC) + 1))
		return bad("not a " BLOB_MAGIC " record");
	copy = strdup(text + strlen(BLOB_MAGIC) + 1);
	b->ops = json_object();
	if (!copy || !b->ops) {
		free(copy);
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, " ", &save); !ret && tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			ret = bad("a field without '='");
			break;
		}
		*eq = '\0';
		ret = once(tok, &given) ?: set_field(b, tok, eq + 1, &seen);
	}
	free(copy);
	if (!ret && seen != 0x7ef)
		ret = bad("a required field is missing");
	if (!ret && !*b->card)
		snprintf(b->card, sizeof(b->card), "card0");
	if (!ret) {
		b->nr = b->size / 4096;
		for (size_t i = 0; i < b->nr_ext && total <= b->nr; i++)
			total += b->ext[i].nr; /* each < 2^53: cannot wrap */
		if (!b->nr || b->size % 4096)
			ret = bad("size is not a whole number of pages");
		else if (total != b->nr)
			ret = bad("extents do not add up to the blob's size");
	}
	if (ret)
		blob_free(b);
	return ret;
}

json_t *blob_to_json(const struct blob *b)
{
	char *line = blob_encode(b);
	json_t *j = line ? json_string(line) : NULL;

	free(line);
	return j;
}

int blob_from_json(json_t *j, struct blob *b)
{
	if (!json_is_string(j))
		return bad("not a string");
	return blob_decode(json_string_value(j), b);
}

int extents_from_json(json_t *arr, struct xgm_extent **out, size_t *n)
{
	struct xgm_extent *ext;
	json_t *e;
	size_t i;

	if (!json_is_array(arr) || !json_array_size(arr))
		return bad("no extents");
	ext = calloc(json_array_size(arr), sizeof(*ext));
	if (!ext)
		return -ENOMEM;
	json_array_foreach(arr, i, e) {
		json_t *jm = json_object_get(e, "mfn"), *jn = json_object_get(e, "nr");

		if (!json_is_integer(jm) || !json_is_integer(jn) ||
		    json_integer_value(jm) < 0 || json_integer_value(jn) <= 0) {
			free(ext);
			return bad("bad extent");
		}
		ext[i].mfn = (uint64_t)json_integer_value(jm);
		ext[i].nr = (uint64_t)json_integer_value(jn);
	}
	*out = ext;
	*n = json_array_size(arr);
	return 0;
}

static void blob_path(char *buf, size_t len, uint32_t domid, uint32_t n)
{
	snprintf(buf, len, XGM_STORE_ROOT "/blob/%u/%u", domid, n);
}

int blob_load(struct xgm_ctx *ctx, uint32_t domid, uint32_t n, struct blob *b)
{
	char path[96];
	json_t *j;
	int ret;

	blob_path(path, sizeof(path), domid, n);
	ret = store_get(ctx, path, &j);
	if (ret)
		return ret;
	ret = blob_from_json(j, b);
	json_decref(j);
	if (!ret && (b->domid != domid || b->n != n)) {
		blob_free(b);
		ret = xgm_fail(-EBADMSG, "blob record %s names another blob", path);
	}
	return ret;
}

int blob_save(struct xgm_ctx *ctx, const struct blob *b)
{
	engine_forget_ioreq_cache(ctx);
	char path[96];
	json_t *j = blob_to_json(b);
	int ret;

	if (!j)
		return -ENOMEM;
	blob_path(path, sizeof(path), b->domid, b->n);
	ret = store_put(ctx, path, j);
	json_decref(j);
	return ret;
}

int blob_delete(struct xgm_ctx *ctx, const struct blob *b)
{
	engine_forget_ioreq_cache(ctx);
	char path[96];

	blob_path(path, sizeof(path), b->domid, b->n);
	return store_del(ctx, path);
}

static int cmp_gfn(const void *a, const void *b)
{
	const struct blob *x = a, *y = b;

	if (x->domid != y->domid)
		return x->domid < y->domid ? -1 : 1;
	return x->gfn < y->gfn ? -1 : x->gfn > y->gfn;
}

static int load_domain(struct xgm_ctx *ctx, uint32_t domid, struct blob **arr,
		       size_t *n)
{
	char dir[64], **names;
	size_t count;
	int ret;

	snprintf(dir, sizeof(dir), XGM_STORE_ROOT "/blob/%u", domid);
	ret = store_children(ctx, dir, &names, &count);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < count; i++) {
		struct blob *grown = realloc(*arr, (*n + 1) * sizeof(**arr));
		char *end;
		unsigned long num = strtoul(names[i], &end, 10);

		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		*arr = grown;
		if (*end || num > UINT32_MAX) {
			ret = xgm_fail(-EBADMSG, "store: %s/%s is not a blob number",
				       dir, names[i]);
			break;
		}
		ret = blob_load(ctx, domid, (uint32_t)num, &(*arr)[*n]);
		if (!ret)
			(*n)++;
	}
	free_names(names, count);
	return ret;
}

int blob_load_all(struct xgm_ctx *ctx, int64_t domid, struct blob **out,
		  size_t *n)
{
	struct blob *arr = NULL;
	size_t count = 0;
	int ret = 0;

	if (domid >= 0) {
		ret = load_domain(ctx, (uint32_t)domid, &arr, &count);
	} else {
		char **names;
		size_t nd;

		ret = store_children(ctx, XGM_STORE_ROOT "/blob", &names, &nd);
		if (ret == -ENOENT) {
			ret = 0;
			nd = 0;
			names = NULL;
		}
		for (size_t i = 0; !ret && i < nd; i++) {
			char *end;
			unsigned long d = strtoul(names[i], &end, 10);

			if (*end || d > UINT32_MAX)
				ret = xgm_fail(-EBADMSG, "store: blob directory "
					       "'%s' is not a domid", names[i]);
			else
				ret = load_domain(ctx, (uint32_t)d, &arr, &count);
		}
		if (names)
			free_names(names, nd);
	}
	if (ret) {
		blob_free_all(arr, count);
		return ret;
	}
	if (count)
		qsort(arr, count, sizeof(*arr), cmp_gfn);
	*out = arr;
	*n = count;
	return 0;
}

void blob_set_backing(struct blob *b, uint64_t buf, struct xgm_extent *ext,
		      size_t n, enum strategy s, enum xgm_placement p)
{
	free(b->ext);
	free(b->grefs);
	b->grefs = NULL; /* grant refs belong to the old backing */
	b->ext = ext;
	b->nr_ext = n;
	b->buf = buf;
	b->strategy = s;
	b->placement = p;
}

int domain_resolve(struct xgm_ctx *ctx, const char *dom,
		   struct xgm_domain_info *d)
{
	int ret;

	if (!dom || !*dom)
		return xgm_fail(-EINVAL, "the domain name is empty (DOM := name "
				"| domid)");
	ret = xgm_domain_lookup(ctx, dom, d);
	if (ret == -ENOENT)
		return xgm_fail_instead(-ENOENT, "no domain '%s'", dom);
	return ret;
}

int blob_lookup(struct xgm_ctx *ctx, const char *id, struct blob *b)
{
	struct xgm_domain_info d;
	uint32_t n;
	int ret;

	ret = blob_parse_id(ctx, id, &d, &n);
	if (ret)
		return ret;
	ret = blob_load(ctx, d.domid, n, b);
	if (ret == -ENOENT)
		return xgm_fail_instead(-ENOENT, "no blob %s:%u", d.name, n);
	return ret;
}

int blob_parse_id(struct xgm_ctx *ctx, const char *id,
		  struct xgm_domain_info *dom, uint32_t *n)
{
	const char *colon = id ? strrchr(id, ':') : NULL;
	char name[XGM_DOMAIN_NAME_MAX + 16];
	unsigned long num;
	char *end;
	int ret;

	if (!colon || colon == id || !colon[1] ||
	    (size_t)(colon - id) >= sizeof(name) || colon[1] < '0' || colon[1] > '9')
		return xgm_fail(-EINVAL, "'%s' is not a blob id (DOM:N, e.g. vm1:1)",
				id ? id : "");
	num = strtoul(colon + 1, &end, 10);
	if (*end || num > UINT32_MAX)
		return xgm_fail(-EINVAL, "'%s' is not a blob id (DOM:N, e.g. vm1:1)", id);
	memcpy(name, id, (size_t)(colon - id));
	name[colon - id] = '\0';
	ret = domain_resolve(ctx, name, dom);
	/* "vm1:1:2": no domain is named "vm1:1", so the id is malformed. */
	if (ret == -ENOENT && strchr(name, ':'))
		return xgm_fail_instead(-EINVAL, "'%s' is not a blob id (DOM:N, e.g. "
				"vm1:1)", id);
	if (ret)
		return ret;
	*n = (uint32_t)num;
	return 0;
}
