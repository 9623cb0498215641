/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The requests of xgpumapd's protocols 1 and 2 (man 7 xgpumapd; they
 * differ only in replies): every request decoded into one typed struct by
 * proto_parse(), the only place that reads a client's bytes (and the
 * fuzzer's entry point, tests/fuzz/fuzz_proto.c).
 */
#ifndef XGMD_PROTO_H
#define XGMD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum proto_op {
	OP_HELLO,
	/* documents, as the CLI prints them */
	OP_DOMAIN_LIST, OP_DOMAIN_LOOKUP, OP_LIST, OP_SHOW, OP_WINDOW,
	OP_CHECK, OP_DUMP, OP_P2M, OP_IOMMU, OP_GPU_LIST, OP_GPU_SHOW,
	OP_RECOVER, OP_RECOVER_DISCARD, OP_MIGRATE, OP_ATTACH, OP_DETACH,
	OP_DETACH_ALL, OP_FILL, OP_VERIFY, OP_GUEST_READ,
	/* typed: blobs and buffers */
	OP_MAP, OP_UNMAP, OP_MOVE, OP_BUFFER_CREATE, OP_BUFFER_GET,
	OP_BUFFER_FREE, OP_BUFFER_IMPORT, OP_BUFFER_EXPORT,
	OP_BUFFER_IMPORT_GEM,
	OP_NR,
};

/* Who may send it: anyone who connected, a client for a domain it was
 * granted (--allow), or root only. */
enum proto_scope {
	SCOPE_ANY,
	SCOPE_DOMAIN,
	SCOPE_BUFFER, /* a buffer of the client's own uid */
	SCOPE_ROOT,
};

#define PROTO_NAME_MAX 80   /* a domain name or a blob id "DOM:N" */
#define PROTO_LABEL_MAX 128

struct proto_req {
	enum proto_op op;
	uint32_t id;
	/* The fields of args, by name; a field the op does not have is an
	 * error, so what is here is exactly what the client said. */
	char dom[PROTO_NAME_MAX];
	char blob[PROTO_NAME_MAX];
	char expect[PROTO_NAME_MAX];
	char card[32];
	char to[8];         /* "vram" | "sys" (migrate) */
	char placement[8];  /* "vram" | "sys" (attach, buffer-create) */
	char strategy[16];
	char cache[4];
	char label[PROTO_LABEL_MAX];
	uint64_t size, first, last, seed, seq, gfn, offset, buffer;
	uint64_t ref;       /* "id": a blob number or a buffer id */
	uint32_t domid, repeat, version;
	uint32_t handle;    /* a GEM handle of the passed DRM fd */
	int e_to, e_placement, e_strategy, e_cache; /* typed ops' enums */
	bool pause;
	/* Which fields were present (bit i: field i of the table). */
	uint64_t have;
};

struct proto_op_info {
	const char *name;
	enum proto_scope scope;
	bool takes_fd;   /* the request carries an fd (SCM_RIGHTS) */
};

const struct proto_op_info *proto_op_info(enum proto_op op);
/* True when field NAME ("gfn", "offset", "buffer", ...) was present. */
bool proto_has(const struct proto_req *r, const char *name);

/* Decodes one request of len bytes (not NUL-terminated) into *r. Returns
 * 0, or a negative errno with why in err: -EMSGSIZE (too long), -EBADMSG
 * (not a JSON object, or a field of a wrong type, range or length),
 * -EOPNOTSUPP (no such op). r->id is set when the id itself was valid,
 * so even an error reply can name the request. */
int proto_parse(const char *text, size_t len, struct proto_req *r,
		char *err, size_t errlen);

#endif /* XGMD_PROTO_H */
