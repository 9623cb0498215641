// SPDX-License-Identifier: GPL-2.0-only
/*
 * The request parser of protocols 1 and 2: one JSON object
 *   {"op": NAME, "id": N, "args": {FIELD: VALUE, ...}}
 * of at most XGM_PROTO_MAX_MSG bytes. Each op names the fields it takes;
 * each field has one type, range and length. Anything else (another type,
 * an unknown field, a duplicate key, a string with a NUL) is refused
 * before the engine sees the request.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

#define MAX_MSG 65536

enum ftype { F_STR, F_U64, F_U32, F_BOOL, F_PLACE, F_STRAT, F_CACHE };

struct field {
	const char *name;
	enum ftype type;
	size_t off;
	size_t cap;     /* F_STR: the buffer, NUL included */
	uint64_t max;   /* F_U32: largest value */
};

#define S(n, m) { #n, F_STR, offsetof(struct proto_req, m), \
		  sizeof(((struct proto_req *)0)->m), 0 }
#define U64(n) { #n, F_U64, offsetof(struct proto_req, n), 0, 0 }
#define U32(n, m, mx) { #n, F_U32, offsetof(struct proto_req, m), 0, mx }
#define B(n) { #n, F_BOOL, offsetof(struct proto_req, n), 0, 0 }
#define E(n, t, m) { #n, t, offsetof(struct proto_req, m), 0, 0 }

static const struct field fields[] = {
	S(dom, dom), S(blob, blob), S(expect, expect), S(card, card),
	S(to, to), S(placement, placement), S(strategy, strategy),
	S(cache, cache), S(label, label),
	U64(size), U64(first), U64(last), U64(seed), U64(seq), U64(gfn),
	U64(offset), U64(buffer),
	U32(domid, domid, 0x7fef), { "id", F_U64, offsetof(struct proto_req, ref), 0, 0 },
	U32(repeat, repeat, 100000), U32(version, version, 1000),
	U32(handle, handle, UINT32_MAX),
	B(pause),
	/* the typed ops' enums, by number as in xgpumap.h */
	E(to_place, F_PLACE, e_to), E(place, F_PLACE, e_placement),
	E(strat, F_STRAT, e_strategy), E(cache_type, F_CACHE, e_cache),
};

#define NR_FIELDS (sizeof(fields) / sizeof(*fields))

struct op {
	struct proto_op_info info;
	const char *fields;   /* space-separated names it takes */
	const char *required; /* those it must have */
};

/* The typed ops carry their enums under their header's names; the table
 * above calls them by the numbers' names ("place", "strat"). */
static const struct op ops[OP_NR] = {
	[OP_HELLO] = { { "hello", SCOPE_ANY, false }, "version", "version" },
	[OP_DOMAIN_LIST] = { { "domain-list", SCOPE_ANY, false }, "", "" },
	[OP_DOMAIN_LOOKUP] = { { "domain-lookup", SCOPE_ANY, false }, "dom", "dom" },
	[OP_LIST] = { { "list", SCOPE_DOMAIN, false }, "dom", "" },
	[OP_SHOW] = { { "show", SCOPE_DOMAIN, false }, "blob", "blob" },
	[OP_WINDOW] = { { "window", SCOPE_DOMAIN, false }, "domid", "domid" },
	[OP_CHECK] = { { "check", SCOPE_DOMAIN, false }, "dom", "" },
	[OP_DUMP] = { { "dump", SCOPE_ROOT, false }, "", "" },
	[OP_P2M] = { { "p2m", SCOPE_DOMAIN, false }, "dom first last", "dom first last" },
	[OP_IOMMU] = { { "iommu", SCOPE_DOMAIN, false }, "dom first last", "dom first last" },
	[OP_GPU_LIST] = { { "gpu-list", SCOPE_ANY, false }, "", "" },
	[OP_GPU_SHOW] = { { "gpu-show", SCOPE_ANY, false }, "card", "card" },
	[OP_RECOVER] = { { "recover", SCOPE_ROOT, false }, "", "" },
	[OP_RECOVER_DISCARD] = { { "recover-discard", SCOPE_ROOT, false }, "seq", "seq" },
	[OP_MIGRATE] = { { "migrate", SCOPE_DOMAIN, false }, "blob to repeat pause", "blob to" },
	[OP_ATTACH] = { { "attach", SCOPE_DOMAIN, false },
			"dom size placement strategy cache label card gfn buffer", "dom" },
	[OP_DETACH] = { { "detach", SCOPE_DOMAIN, false }, "blob", "blob" },
	[OP_DETACH_ALL] = { { "detach-all", SCOPE_DOMAIN, false }, "dom", "dom" },
	[OP_FILL] = { { "fill", SCOPE_DOMAIN, false }, "blob seed", "blob" },
	[OP_VERIFY] = { { "verify", SCOPE_DOMAIN, false }, "blob", "blob" },
	[OP_GUEST_READ] = { { "guest-read", SCOPE_DOMAIN, false },
			    "dom first last expect", "dom first last" },
	[OP_MAP] = { { "map", SCOPE_DOMAIN, false },
		     "domid size place card strat cache_type label offset buffer", "domid" },
	[OP_UNMAP] = { { "unmap", SCOPE_DOMAIN, false }, "domid id", "domid id" },
	[OP_MOVE] = { { "move", SCOPE_DOMAIN, false }, "domid id to_place pause",
		      "domid id to_place" },
	[OP_BUFFER_CREATE] = { { "buffer-create", SCOPE_BUFFER, false },
			       "size placement card", "size" },
	[OP_BUFFER_GET] = { { "buffer-get", SCOPE_BUFFER, false }, "card id", "id" },
	[OP_BUFFER_FREE] = { { "buffer-free", SCOPE_BUFFER, false }, "id", "id" },
	[OP_BUFFER_IMPORT] = { { "buffer-import", SCOPE_BUFFER, true }, "", "" },
	[OP_BUFFER_EXPORT] = { { "buffer-export", SCOPE_BUFFER, false }, "id", "id" },
	[OP_BUFFER_IMPORT_GEM] = { { "buffer-import-gem", SCOPE_BUFFER, true },
				   "handle", "handle" },
};

const struct proto_op_info *proto_op_info(enum proto_op op)
{
	return (unsigned int)op < OP_NR ? &ops[op].info : NULL;
}

/* Is word in the space-separated list? */
static bool listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	if (!n) /* "" is in every list for strstr: and p would not move */
		return false;
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

static int field_index(const char *name)
{
	for (size_t i = 0; i < NR_FIELDS; i++)
		if (!strcmp(fields[i].name, name))
			return (int)i;
	return -1;
}

bool proto_has(const struct proto_req *r, const char *name)
{
	int i = field_index(name);

	return i >= 0 && (r->have >> i & 1);
}

/* The typed ops' wire names of their enum fields. */
static const char *wire_name(const char *name, enum proto_op op)
{
	static const struct { const char *wire, *field; } alias[] = {
		{ "placement", "place" }, { "strategy", "strat" },
		{ "cache", "cache_type" }, { "to", "to_place" },
	};

	if (op != OP_MAP && op != OP_MOVE)
		return name;
	for (size_t i = 0; i < sizeof(alias) / sizeof(*alias); i++)
		if (!strcmp(name, alias[i].wire))
			return alias[i].field;
	return name;
}

static int set_field(struct proto_req *r, const struct field *f, json_t *v,
		     char *err, size_t errlen)
{
	char *base = (char *)r + f->off;
	static const int enum_max[] = { [F_PLACE] = 1, [F_STRAT] = 6,
					[F_CACHE] = 2 };
	json_int_t n;

	switch (f->type) {
	case F_STR: {
		size_t len = json_string_length(v);

		if (!json_is_string(v))
			break;
		if (len >= f->cap || memchr(json_string_value(v), 0, len)) {
			snprintf(err, errlen, "field %s: a string of at most %zu "
				 "bytes without NUL", f->name, f->cap - 1);
			return -EBADMSG;
		}
		memcpy(base, json_string_value(v), len + 1);
		return 0;
	}
	case F_U64:
		if (!json_is_integer(v))
			break;
		/* above INT64_MAX as the two's complement (see wire.c) */
		*(uint64_t *)(void *)base = (uint64_t)json_integer_value(v);
		return 0;
	case F_U32:
		if (!json_is_integer(v))
			break;
		n = json_integer_value(v);
		if (n < 0 || (uint64_t)n > f->max) {
			snprintf(err, errlen, "field %s: %lld is outside 0..%llu",
				 f->name, (long long)n, (unsigned long long)f->max);
			return -EBADMSG;
		}
		*(uint32_t *)(void *)base = (uint32_t)n;
		return 0;
	case F_BOOL:
		if (!json_is_boolean(v))
			break;
		*(bool *)(void *)base = json_is_true(v);
		return 0;
	case F_PLACE:
	case F_STRAT:
	case F_CACHE:
		if (!json_is_integer(v))
			break;
		n = json_integer_value(v);
		if (n < 0 || n > enum_max[f->type]) {
			snprintf(err, errlen, "field %s: %lld is not a value of "
				 "its enum", f->name, (long long)n);
			return -EBADMSG;
		}
		*(int *)(void *)base = (int)n;
		return 0;
	}
	snprintf(err, errlen, "field %s: wrong type", f->name);
	return -EBADMSG;
}

static int parse_args(struct proto_req *r, const struct op *op, json_t *args,
		      char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(args)) {
		snprintf(err, errlen, "args must be an object");
		return -EBADMSG;
	}
	json_object_foreach(args, key, v) {
		const char *name = wire_name(key, r->op);
		int i = listed(op->fields, name) ? field_index(name) : -1;
		int ret;

		if (i < 0) {
			snprintf(err, errlen, "%s takes no field '%.40s'",
				 op->info.name, key);
			return -EBADMSG;
		}
		if (json_is_null(v) && fields[i].type == F_STR)
			continue; /* an absent optional string */
		ret = set_field(r, &fields[i], v, err, errlen);
		if (ret)
			return ret;
		r->have |= 1ull << i;
	}
	for (size_t i = 0; i < NR_FIELDS; i++) {
		if (listed(op->required, fields[i].name) && !(r->have >> i & 1)) {
			snprintf(err, errlen, "%s needs field '%s'",
				 op->info.name, fields[i].name);
			return -EBADMSG;
		}
	}
	return 0;
}

int proto_parse(const char *text, size_t len, struct proto_req *r,
		char *err, size_t errlen)
{
	json_t *doc, *op, *id, *args;
	json_error_t jerr;
	const char *name;
	int ret = -EBADMSG;

	memset(r, 0, sizeof(*r));
	if (len > MAX_MSG) {
		snprintf(err, errlen, "a request has at most %d bytes", MAX_MSG);
		return -EMSGSIZE;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		snprintf(err, errlen, "not JSON: %s", jerr.text);
		return -EBADMSG;
	}
	op = json_object_get(doc, "op");
	id = json_object_get(doc, "id");
	args = json_object_get(doc, "args");
	if (json_is_integer(id) && json_integer_value(id) >= 0 &&
	    json_integer_value(id) <= UINT32_MAX)
		r->id = (uint32_t)json_integer_value(id);
	if (!json_is_object(doc) || json_object_size(doc) != 3 ||
	    !json_is_string(op) || !json_is_integer(id) || !args ||
	    json_integer_value(id) < 0 || json_integer_value(id) > UINT32_MAX) {
		snprintf(err, errlen, "a request is {\"op\": NAME, \"id\": "
			 "0..4294967295, \"args\": {...}}");
		goto out;
	}
	name = json_string_value(op);
	for (r->op = 0; r->op < OP_NR; r->op++)
		if (!strcmp(ops[r->op].info.name, name))
			break;
	if (r->op == OP_NR) {
		snprintf(err, errlen, "no request '%.40s'", name);
		ret = -EOPNOTSUPP;
		goto out;
	}
	ret = parse_args(r, &ops[r->op], args, err, errlen);
out:
	json_decref(doc);
	return ret;
}
