/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * A remote context: one that talks to xgpumapd (protocol 2, man 7
 * xgpumapd) instead of running the engine. Each public function's first
 * line is XGM_REMOTE(ctx, remote_call(...)) (ctx.h): its request, its
 * checks and what its reply becomes; what has none fails with -EOPNOTSUPP
 * in xgm__op_begin().
 */
#ifndef XGM_CLIENT_REMOTE_H
#define XGM_CLIENT_REMOTE_H

#include <jansson.h>

#include "xgpumap-doc.h"

struct xgm_ctx;
struct xgm_remote;

/* The socket a context should use: opts->daemon, else $XGPUMAP_DAEMON;
 * NULL for a local context ("" means local too, whatever the environment
 * says: the daemon's own context). */
const char *remote_socket(const struct xgm_ctx_opts *opts);
/* Connects and does the version handshake. */
int remote_open(struct xgm_ctx *ctx, const char *path);
void remote_close(struct xgm_ctx *ctx);
enum xgm_backend_kind remote_backend(const struct xgm_ctx *ctx);

/*
 * One request of the public function it is written in, as that function's
 * XGM_REMOTE line: check (an int, 0 to go on: argument checks) first, then
 * op with args json_pack(...) (and fd_in), the reply's result into out as
 * out's type says (REMOTE_REPLY: any other type does not compile).
 */
#define remote_call_fd(ctx, op, fd_in, out, check, ...)                 \
	((check) ?: remote_run((ctx), __func__, (op), (fd_in),          \
			       REMOTE_REPLY(out), (void *)(out),       \
			       json_pack(__VA_ARGS__)))
#define remote_call(ctx, op, out, check, ...) \
	remote_call_fd(ctx, op, -1, out, check, __VA_ARGS__)
/* A document call: *out the result (the caller owns it; out NULL: dropped). */
#define remote_doc(ctx, op, out, ...) remote_call(ctx, op, out, 0, __VA_ARGS__)

/* The checks: pointers that must not be NULL; an options struct. */
#define REMOTE_NEED(...)                                                \
	remote_need(__func__, #__VA_ARGS__,                             \
		    (const void *const[]){ __VA_ARGS__ },               \
		    sizeof((const void *const[]){ __VA_ARGS__ }) /          \
		    sizeof(void *))
#define REMOTE_OPTS(opts, type) OPTS_CHECK(__func__, opts, type)

/* What out is, by its type. */
struct remote_none;      /* nothing: REMOTE_NONE */
struct remote_fd;        /* the fd the reply carries is returned: REMOTE_FD */
struct remote_domains {  /* REMOTE_DOMAINS(out, count) */
	struct xgm_domain_info **out;
	size_t *count;
};
#define REMOTE_NONE ((struct remote_none *)0)
#define REMOTE_FD ((struct remote_fd *)0)
#define REMOTE_DOMAINS(out, count) (&(struct remote_domains){ (out), (count) })

enum remote_reply {
	REMOTE_R_DOC,     /* json_t **: the result */
	REMOTE_R_NONE,
	REMOTE_R_BLOB,    /* struct xgm_blob **: a new handle */
	REMOTE_R_MOVED,   /* struct xgm_blob *: updated, the move callback run */
	REMOTE_R_BUFFER,  /* struct xgm_buffer **: a new handle */
	REMOTE_R_FREED,   /* struct xgm_buffer *: freed, with its buffer */
	REMOTE_R_DOMAIN,  /* struct xgm_domain_info * */
	REMOTE_R_DOMAINS, /* struct remote_domains * */
	REMOTE_R_FD,      /* struct remote_fd *: returns the fd */
};

#define REMOTE_REPLY(out) _Generic((out),                               \
	json_t **: REMOTE_R_DOC,                                        \
	struct remote_none *: REMOTE_R_NONE,                            \
	struct xgm_blob **: REMOTE_R_BLOB,                              \
	struct xgm_blob *: REMOTE_R_MOVED,                              \
	struct xgm_buffer **: REMOTE_R_BUFFER,                          \
	struct xgm_buffer *: REMOTE_R_FREED,                            \
	struct xgm_domain_info *: REMOTE_R_DOMAIN,                      \
	struct remote_domains *: REMOTE_R_DOMAINS,                      \
	struct remote_fd *: REMOTE_R_FD)

int remote_run(struct xgm_ctx *ctx, const char *fn, const char *op, int fd_in,
	       enum remote_reply kind, void *out, json_t *args);
/* -EINVAL naming the first of names (as written, comma-separated) whose
 * pointer is NULL; 0 when none is. */
int remote_need(const char *fn, const char *names, const void *const *ptrs,
		size_t n);
/* Optional request fields for json_pack's "o*": NULL (left out) unless set. */
json_t *remote_opt_u64(bool set, uint64_t v);
json_t *remote_opt_buffer(const struct xgm_buffer *buf);
int remote_fd_ok(const char *fn, int fd);

/* ---- the wire, shared with the daemon (lib/client/wire.c) ---- */

/* Protocol 2 adds large replies (below); a daemon speaks 1 and 2, and
 * answers a client by the version its hello named. */
#define XGM_PROTO_VERSION 2
#define XGM_PROTO_VERSION_MIN 1
#define XGM_PROTO_MAX_MSG 65536  /* bytes of one packet: request or reply */
#define XGM_PROTO_MAX_LARGE (256u << 20) /* bytes of one large reply */
#define XGM_DAEMON_SOCKET "/run/xgpumap/xgpumapd.sock"

/* Sends one message (text of len bytes) with fd attached when fd >= 0.
 * Never raises SIGPIPE; -EAGAIN when the peer's queue is full and
 * nonblock is set. */
int wire_send(int sock, const char *text, size_t len, int fd, bool nonblock);
/* Receives one message into buf (cap bytes, NUL-terminated: cap - 1
 * usable); *len its real length (larger than cap - 1: it was cut, and
 * dropped: -EMSGSIZE). At most one fd is kept in *fd (-1: none); any
 * other passed fd is closed and the call is -ETOOMANYREFS. 0 bytes with
 * no error: the peer closed (-ECONNRESET). */
int wire_recv(int sock, char *buf, size_t cap, size_t *len, int *fd);

/* A large reply (protocol 2): the packet {"id": N, "large": BYTES}
 * carries a sealed memfd whose BYTES bytes are the whole reply. */
int wire_large_make(const char *text, size_t len);
/* The reply in fd, as large's BYTES said: a malloc'ed, NUL-terminated
 * copy in *text; -EPROTO for an fd that is not such a memfd. */
int wire_large_read(int fd, size_t len, char **text);

/* Typed objects in replies. */
json_t *wire_blob_to_json(const struct xgm_blob *b);
int wire_blob_from_json(json_t *j, struct xgm_blob **out);
json_t *wire_buffer_to_json(const struct xgm_buffer *b);
int wire_buffer_from_json(json_t *j, struct xgm_buffer **out);
json_t *wire_domain_to_json(const struct xgm_domain_info *d);
int wire_domain_from_json(json_t *j, struct xgm_domain_info *d);
/* An xgm_blob handle for blob id of domid (the daemon's unmap/move). */
struct xgm_blob *wire_blob_ref(uint32_t domid, uint32_t id);

#endif /* XGM_CLIENT_REMOTE_H */
