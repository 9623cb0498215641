/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * A remote context: one that talks to xgpumapd (protocol 2, man 7
 * xgpumapd) instead of running the engine. Each public function's first
 * line is XGM_REMOTE(ctx, remote_...(...)) (ctx.h); what has no remote_
 * call fails with -EOPNOTSUPP in xgm__op_begin().
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

/* One document call: args from json_pack(fmt, ...), *out the reply's
 * result (the caller owns it; out NULL: the result is dropped). */
int remote_doc(struct xgm_ctx *ctx, const char *op, json_t **out,
	       const char *fmt, ...);

int remote_attach(struct xgm_ctx *ctx, const char *dom,
		  const struct xgm_attach_opts *opts, json_t **out);
int remote_migrate(struct xgm_ctx *ctx, const char *blob,
		   const struct xgm_migrate_opts *opts, json_t **out);
int remote_domain_list(struct xgm_ctx *ctx, struct xgm_domain_info **out,
		       size_t *count);
int remote_domain_lookup(struct xgm_ctx *ctx, const char *dom,
			 struct xgm_domain_info *out);
int remote_blob_map(struct xgm_ctx *ctx, uint32_t domid,
		    const struct xgm_map_opts *opts, struct xgm_blob **blob);
int remote_blob_unmap(struct xgm_ctx *ctx, struct xgm_blob *blob);
int remote_blob_move(struct xgm_ctx *ctx, struct xgm_blob *blob,
		     const struct xgm_move_opts *opts);
int remote_buffer_create(struct xgm_ctx *ctx,
			 const struct xgm_buffer_opts *opts,
			 struct xgm_buffer **buf);
int remote_buffer_get(struct xgm_ctx *ctx, const char *card, uint64_t id,
		      struct xgm_buffer **buf);
int remote_buffer_free(struct xgm_ctx *ctx, struct xgm_buffer *buf);
int remote_buffer_export_fd(struct xgm_ctx *ctx, const struct xgm_buffer *buf);
int remote_buffer_import_fd(struct xgm_ctx *ctx, int fd,
			    struct xgm_buffer **buf);

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
