// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A context that talks to xgpumapd: each public call is one request and
 * one reply (protocol 2, man 7 xgpumapd). Requests are
 *   {"op": NAME, "id": N, "args": {...}}
 * replies
 *   {"id": N, "ok": true, "result": ...}
 *   {"id": N, "ok": false, "error": {"errno": E, "code": "..", "message": ".."}}
 * The daemon's error message becomes this side's xgm_last_error().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctx.h"
#include "core/buffer.h"
#include "core/handles.h"
#include "util/opts.h"

struct xgm_remote {
	int sock;
	uint32_t next_id;
	enum xgm_backend_kind backend;
	char *buf; /* XGM_PROTO_MAX_MSG + 1 */
};

const char *remote_socket(const struct xgm_ctx_opts *opts)
{
	const char *p = opts->daemon ? opts->daemon : getenv("XGPUMAP_DAEMON");

	return p && *p ? p : NULL;
}

/* The reply a large-reply packet (taken) stands for; NULL when it is
 * malformed. *fd, the memfd, is closed. */
static json_t *large_reply(json_t *packet, int *fd)
{
	json_int_t len = json_integer_value(json_object_get(packet, "large"));
	json_error_t jerr;
	json_t *rep = NULL;
	char *text;

	if (len > 0 && !wire_large_read(*fd, (size_t)len, &text)) {
		rep = json_loads(text, 0, &jerr);
		free(text);
	}
	close(*fd);
	*fd = -1;
	if (rep && json_integer_value(json_object_get(rep, "id")) !=
	    json_integer_value(json_object_get(packet, "id"))) {
		json_decref(rep);
		rep = NULL;
	}
	json_decref(packet);
	return rep;
}

/* Sends args (taken) as op, with fd_in when >= 0; *result the reply's
 * result (NULL: dropped), *fd_out a passed fd (NULL: closed). */
static int call(struct xgm_ctx *ctx, const char *op, json_t *args, int fd_in,
		json_t **result, int *fd_out)
{
	struct xgm_remote *r = ctx->remote;
	uint32_t id = r->next_id++;
	json_t *req, *rep, *res;
	json_error_t jerr;
	char *text;
	size_t len;
	int fd = -1, ret;

	if (fd_out)
		*fd_out = -1;
	if (!args)
		return xgm_fail(-ENOMEM, "%s: cannot build the request", op);
	req = json_pack("{s:s,s:I,s:o}", "op", op, "id", (json_int_t)id,
			"args", args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text)
		return xgm_fail(-ENOMEM, "%s: cannot build the request", op);
	len = strlen(text);
	ret = len > XGM_PROTO_MAX_MSG ?
	      xgm_fail(-EMSGSIZE, "%s: the request has %zu bytes, more than "
		       "the protocol's %d", op, len, XGM_PROTO_MAX_MSG) :
	      wire_send(r->sock, text, len, fd_in, false);
	free(text);
	if (ret == -EMSGSIZE)
		return ret;
	if (ret)
		return xgm_fail(ret, "%s: cannot send to the daemon: %s", op,
				strerror(-ret));
	ret = wire_recv(r->sock, r->buf, XGM_PROTO_MAX_MSG + 1, &len, &fd);
	if (ret) {
		if (fd >= 0)
			close(fd);
		return xgm_fail(ret == -ECONNRESET ? -EPIPE : ret,
				"%s: no reply from the daemon: %s", op,
				strerror(-ret));
	}
	rep = json_loads(r->buf, 0, &jerr);
	if (rep && fd >= 0 && json_object_get(rep, "large"))
		rep = large_reply(rep, &fd);
	if (!rep || json_integer_value(json_object_get(rep, "id")) != id) {
		json_decref(rep);
		if (fd >= 0)
			close(fd);
		return xgm_fail(-EPROTO, "%s: the daemon's reply is malformed",
				op);
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		json_t *e = json_object_get(rep, "error");
		json_int_t err = json_integer_value(json_object_get(e, "errno"));
		const char *m = json_string_value(json_object_get(e, "message"));

		ret = xgm_fail(err > 0 && err < 4096 ? -(int)err : -EPROTO,
			       "%s", m ? m : "the daemon refused");
		json_decref(rep); /* m is in it */
		if (fd >= 0)
			close(fd);
		return ret;
	}
	res = json_object_get(rep, "result");
	if (result)
		*result = json_incref(res ? res : json_null());
	if (fd_out)
		*fd_out = fd;
	else if (fd >= 0)
		close(fd);
	json_decref(rep);
	return 0;
}

int remote_open(struct xgm_ctx *ctx, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct xgm_remote *r;
	const char *be;
	json_t *res = NULL;
	int ret, version;

	if (strlen(path) >= sizeof(sa.sun_path))
		return xgm_fail(-ENAMETOOLONG, "daemon socket path too long: %s",
				path);
	strcpy(sa.sun_path, path);
	r = calloc(1, sizeof(*r));
	if (r)
		r->buf = malloc(XGM_PROTO_MAX_MSG + 1);
	if (!r || !r->buf) {
		free(r);
		return xgm_fail(-ENOMEM, "out of memory");
	}
	r->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (r->sock < 0 ||
	    connect(r->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		if (r->sock >= 0)
			close(r->sock);
		free(r->buf);
		free(r);
		return xgm_fail(ret, "cannot reach the daemon xgpumapd at %s: %s",
				path, strerror(-ret));
	}
	ctx->remote = r;
	/* A daemon of protocol 1 only: it answers as before, and this
	 * side never gets a large reply from it. */
	for (version = XGM_PROTO_VERSION; version >= XGM_PROTO_VERSION_MIN;
	     version--) {
		ret = call(ctx, "hello", json_pack("{s:i}", "version", version),
			   -1, &res, NULL);
		if (ret != -EPROTONOSUPPORT)
			break;
		xgm_clear_error();
	}
	if (!ret) {
		be = json_string_value(json_object_get(res, "backend"));
		if (json_integer_value(json_object_get(res, "version")) !=
		    version || !be || xgm_backend_parse(be, &r->backend))
			ret = xgm_fail(-EPROTO, "the daemon at %s speaks another "
				       "protocol", path);
		json_decref(res);
	}
	if (ret)
		remote_close(ctx);
	return ret;
}

void remote_close(struct xgm_ctx *ctx)
{
	struct xgm_remote *r = ctx->remote;

	if (!r)
		return;
	close(r->sock);
	free(r->buf);
	free(r);
	ctx->remote = NULL;
}

enum xgm_backend_kind remote_backend(const struct xgm_ctx *ctx)
{
	return ctx->remote->backend;
}

int remote_doc(struct xgm_ctx *ctx, const char *op, json_t **out,
	       const char *fmt, ...)
{
	json_error_t jerr;
	json_t *args;
	va_list ap;

	va_start(ap, fmt);
	args = json_vpack_ex(&jerr, 0, fmt, ap);
	va_end(ap);
	if (out)
		*out = NULL;
	return xgm_err(call(ctx, op, args, -1, out, NULL));
}

int remote_attach(struct xgm_ctx *ctx, const char *dom,
		  const struct xgm_attach_opts *opts, json_t **out)
{
	json_t *args;
	int ret = OPTS_CHECK("xgm_blob_attach", opts, xgm_attach_opts);

	if (ret)
		return ret;
	if (!opts)
		return xgm_fail(-EINVAL, "xgm_blob_attach: opts is NULL");
	args = json_pack("{s:s?,s:I,s:s?,s:s?,s:s?,s:s?,s:s?}", "dom", dom,
			 "size", (json_int_t)OPTS_GET(opts, size, 0),
			 "placement", OPTS_GET(opts, placement, NULL),
			 "strategy", OPTS_GET(opts, strategy, NULL),
			 "cache", OPTS_GET(opts, cache, NULL),
			 "label", OPTS_GET(opts, label, NULL),
			 "card", OPTS_GET(opts, card, NULL));
	if (args && OPTS_GET(opts, gfn_set, false))
		json_object_set_new(args, "gfn", json_integer(
				    (json_int_t)OPTS_GET(opts, gfn, 0)));
	if (args && OPTS_GET(opts, buffer_set, false))
		json_object_set_new(args, "buffer", json_integer(
				    (json_int_t)OPTS_GET(opts, buffer, 0)));
	return xgm_err(call(ctx, "attach", args, -1, out, NULL));
}

int remote_migrate(struct xgm_ctx *ctx, const char *blob,
		   const struct xgm_migrate_opts *opts, json_t **out)
{
	int ret = OPTS_CHECK("xgm_blob_migrate", opts, xgm_migrate_opts);

	if (ret)
		return ret;
	if (!opts)
		return xgm_fail(-EINVAL, "xgm_blob_migrate: opts is NULL");
	return xgm_err(call(ctx, "migrate", json_pack("{s:s?,s:s?,s:I,s:b}",
			"blob", blob, "to", OPTS_GET(opts, to, NULL),
			"repeat", (json_int_t)OPTS_GET(opts, repeat, 0),
			"pause", OPTS_GET(opts, pause, false)), -1, out, NULL));
}

int remote_domain_list(struct xgm_ctx *ctx, struct xgm_domain_info **out,
		       size_t *count)
{
	json_t *res, *d;
	size_t i;
	int ret;

	if (!out || !count)
		return xgm_fail(-EINVAL, "xgm_domain_list: out is NULL");
	ret = call(ctx, "domain-list", json_object(), -1, &res, NULL);
	if (ret)
		return xgm_err(ret);
	*out = calloc(json_array_size(res) + 1, sizeof(**out));
	*count = 0;
	json_array_foreach(res, i, d) {
		if (!*out || wire_domain_from_json(d, &(*out)[i])) {
			free(*out);
			*out = NULL;
			json_decref(res);
			return xgm_err(xgm_fail(-EPROTO, "xgm_domain_list: the "
					       "daemon's reply is malformed"));
		}
		(*count)++;
	}
	json_decref(res);
	return 0;
}

int remote_domain_lookup(struct xgm_ctx *ctx, const char *dom,
			 struct xgm_domain_info *out)
{
	json_t *res = NULL;
	int ret;

	if (!dom || !out)
		return xgm_fail(-EINVAL, "xgm_domain_lookup: %s is NULL",
				!dom ? "dom" : "out");
	ret = call(ctx, "domain-lookup", json_pack("{s:s}", "dom", dom), -1,
		   &res, NULL);
	if (!ret && wire_domain_from_json(res, out))
		ret = xgm_fail(-EPROTO, "xgm_domain_lookup: the daemon's reply "
			       "is malformed");
	json_decref(res);
	return xgm_err(ret);
}

/* A reply's blob into a new handle, or the handle h refreshed. */
static int blob_reply(json_t *res, struct xgm_blob **newh, struct xgm_blob *h)
{
	struct xgm_blob *b;
	int ret = wire_blob_from_json(res, &b);

	json_decref(res);
	if (ret)
		return xgm_fail(-EPROTO, "the daemon's blob is malformed");
	if (newh) {
		*newh = b;
	} else {
		*h = *b;
		free(b);
	}
	return 0;
}

int remote_blob_map(struct xgm_ctx *ctx, uint32_t domid,
		    const struct xgm_map_opts *opts, struct xgm_blob **blob)
{
	const struct xgm_buffer *buf;
	json_t *args, *res;
	int ret;

	if (!opts || !blob)
		return xgm_fail(-EINVAL, "xgm_blob_map: %s is NULL",
				!opts ? "opts" : "blob");
	*blob = NULL;
	ret = OPTS_CHECK("xgm_blob_map", opts, xgm_map_opts);
	if (ret)
		return ret;
	buf = OPTS_GET(opts, buffer, NULL);
	args = json_pack("{s:I,s:I,s:i,s:s?,s:i,s:i,s:s?}",
			 "domid", (json_int_t)domid,
			 "size", (json_int_t)OPTS_GET(opts, size, 0),
			 "placement", (int)OPTS_GET(opts, placement, XGM_PLACE_VRAM),
			 "card", OPTS_GET(opts, card, NULL),
			 "strategy", (int)OPTS_GET(opts, strategy, XGM_STRATEGY_AUTO),
			 "cache", (int)OPTS_GET(opts, cache, XGM_CACHE_WC),
			 "label", OPTS_GET(opts, label, NULL));
	if (args && OPTS_GET(opts, offset_set, false))
		json_object_set_new(args, "offset", json_integer(
				    (json_int_t)OPTS_GET(opts, offset, 0)));
	if (args && buf)
		json_object_set_new(args, "buffer", json_integer(
				    (json_int_t)buf->id));
	ret = call(ctx, "map", args, -1, &res, NULL);
	return xgm_err(ret ? ret : blob_reply(res, blob, NULL));
}

int remote_blob_unmap(struct xgm_ctx *ctx, struct xgm_blob *blob)
{
	if (!blob)
		return xgm_fail(-EINVAL, "xgm_blob_unmap: blob is NULL");
	return xgm_err(call(ctx, "unmap", json_pack("{s:I,s:I}", "domid",
			(json_int_t)blob->domid, "id", (json_int_t)blob->id),
			-1, NULL, NULL));
}

int remote_blob_move(struct xgm_ctx *ctx, struct xgm_blob *blob,
		     const struct xgm_move_opts *opts)
{
	enum xgm_placement from;
	json_t *res = NULL;
	int ret;

	if (!blob || !opts)
		return xgm_fail(-EINVAL, "xgm_blob_move: %s is NULL",
				!blob ? "blob" : "opts");
	ret = OPTS_CHECK("xgm_blob_move", opts, xgm_move_opts);
	if (ret)
		return ret;
	from = blob->placement;
	ret = call(ctx, "move", json_pack("{s:I,s:I,s:i,s:b}", "domid",
		   (json_int_t)blob->domid, "id", (json_int_t)blob->id,
		   "to", (int)OPTS_GET(opts, to, XGM_PLACE_VRAM),
		   "pause", OPTS_GET(opts, pause, false)), -1, &res, NULL);
	ret = ret ? ret : blob_reply(res, NULL, blob);
	if (!ret && ctx->move_fn) {
		struct xgm_move_event ev = {
			.domid = blob->domid, .id = blob->id, .gfn = blob->gfn,
			.from = from, .to = blob->placement,
		};

		ctx->move_fn(&ev, ctx->move_user);
	}
	return xgm_err(ret);
}

/* res is read after ret was computed (argument order is unspecified). */
static int buffer_reply(int ret, json_t **res, struct xgm_buffer **buf)
{
	if (ret)
		return xgm_err(ret);
	ret = wire_buffer_from_json(*res, buf);
	json_decref(*res);
	return ret ? xgm_err(xgm_fail(-EPROTO, "the daemon's buffer is "
				      "malformed")) : 0;
}

int remote_buffer_create(struct xgm_ctx *ctx,
			 const struct xgm_buffer_opts *opts,
			 struct xgm_buffer **buf)
{
	json_t *res = NULL;
	int ret;

	if (!opts || !buf)
		return xgm_fail(-EINVAL, "xgm_buffer_create: %s is NULL",
				!opts ? "opts" : "buf");
	ret = OPTS_CHECK("xgm_buffer_create", opts, xgm_buffer_opts);
	if (ret)
		return ret;
	ret = call(ctx, "buffer-create", json_pack("{s:I,s:s,s:s?}", "size",
		   (json_int_t)OPTS_GET(opts, size, 0), "placement",
		   xgm_placement_name(OPTS_GET(opts, placement, XGM_PLACE_VRAM)),
		   "card", OPTS_GET(opts, card, NULL)), -1, &res, NULL);
	return buffer_reply(ret, &res, buf);
}

int remote_buffer_get(struct xgm_ctx *ctx, const char *card, uint64_t id,
		      struct xgm_buffer **buf)
{
	json_t *res = NULL;

	if (!buf)
		return xgm_fail(-EINVAL, "xgm_buffer_get: buf is NULL");
	return buffer_reply(call(ctx, "buffer-get", json_pack("{s:s?,s:I}",
			    "card", card, "id", (json_int_t)id), -1, &res,
			    NULL), &res, buf);
}

int remote_buffer_free(struct xgm_ctx *ctx, struct xgm_buffer *buf)
{
	int ret;

	if (!buf)
		return xgm_fail(-EINVAL, "xgm_buffer_free: buf is NULL");
	ret = call(ctx, "buffer-free", json_pack("{s:I}", "id",
		   (json_int_t)buf->id), -1, NULL, NULL);
	if (!ret)
		free(buf);
	return xgm_err(ret);
}

int remote_buffer_export_fd(struct xgm_ctx *ctx, const struct xgm_buffer *buf)
{
	int ret, fd;

	if (!buf)
		return xgm_fail(-EINVAL, "xgm_buffer_export_fd: buf is NULL");
	ret = call(ctx, "buffer-export", json_pack("{s:I}", "id",
		   (json_int_t)buf->id), -1, NULL, &fd);
	if (!ret && fd < 0)
		ret = xgm_fail(-EPROTO, "the daemon sent no fd");
	return ret ? xgm_err(ret) : fd;
}

int remote_buffer_import_fd(struct xgm_ctx *ctx, int fd,
			    struct xgm_buffer **buf)
{
	json_t *res = NULL;

	if (!buf || fd < 0)
		return xgm_fail(-EINVAL, "xgm_buffer_import_fd: %s",
				!buf ? "buf is NULL" : "fd is negative");
	return buffer_reply(call(ctx, "buffer-import", json_object(), fd, &res,
				 NULL), &res, buf);
}
