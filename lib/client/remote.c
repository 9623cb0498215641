// SPDX-License-Identifier: LGPL-2.1-only
/*
 * A context that talks to xgpumapd: each public call is one request and
 * one reply (protocol 2, man 7 xgpumapd). Requests are
 *   {"op": NAME, "id": N, "args": {...}}
 * replies
 *   {"id": N, "ok": true, "result": ...}
 *   {"id": N, "ok": false, "error": {"errno": E, "code": "..", "message": "..",
 *                                    ["remedy": "..", "remedy_arg": ".."]}}
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
		const char *rem = json_string_value(json_object_get(e, "remedy"));
		const char *a = json_string_value(json_object_get(e, "remedy_arg"));
		enum xgm_remedy remedy;

		xgm_remedy_parse(rem, &remedy); /* a name this side does not know: none */
		ret = xgm_fail_remedy(err > 0 && err < 4096 ? -(int)err : -EPROTO,
				      remedy, a, "%s",
				      m ? m : "the daemon refused");
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

/* ---- what replies become (remote_call's out, by its type) ---------- */

int remote_need(const char *fn, const char *names, const void *const *ptrs,
		size_t n)
{
	const char *name = names;

	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(name, ",");

		if (!ptrs[i])
			return xgm_fail(-EINVAL, "%s: %.*s is NULL", fn,
					(int)len, name);
		name += len + strspn(name + len, ", ");
	}
	return 0;
}

int remote_fd_ok(const char *fn, int fd)
{
	return fd < 0 ? xgm_fail(-EINVAL, "%s: fd is negative", fn) : 0;
}

json_t *remote_opt_u64(bool set, uint64_t v)
{
	return set ? json_integer((json_int_t)v) : NULL;
}

json_t *remote_opt_buffer(const struct xgm_buffer *buf)
{
	return remote_opt_u64(buf != NULL, buf ? buf->id : 0);
}

static int moved(struct xgm_ctx *ctx, json_t *res, struct xgm_blob *h)
{
	enum xgm_placement from = h->placement;
	struct xgm_blob *b;

	if (wire_blob_from_json(res, &b))
		return -EBADMSG;
	*h = *b;
	free(b);
	if (ctx->move_fn) {
		struct xgm_move_event ev = {
			.domid = h->domid, .id = h->id, .gfn = h->gfn,
			.from = from, .to = h->placement,
		};

		ctx->move_fn(&ev, ctx->move_user);
	}
	return 0;
}

static int domains(json_t *res, struct remote_domains *d)
{
	size_t i, n = json_array_size(res);
	json_t *v;

	*d->count = 0;
	*d->out = calloc(n + 1, sizeof(**d->out));
	if (!*d->out)
		return -ENOMEM;
	json_array_foreach(res, i, v) {
		if (wire_domain_from_json(v, &(*d->out)[i])) {
			free(*d->out);
			*d->out = NULL;
			return -EBADMSG;
		}
	}
	*d->count = n;
	return 0;
}

/* Outputs that are set whatever happens (NULL on a failure). */
static void clear(enum remote_reply kind, void *out)
{
	if (kind == REMOTE_R_DOC && out)
		*(json_t **)out = NULL;
	else if (kind == REMOTE_R_BLOB)
		*(struct xgm_blob **)out = NULL;
	else if (kind == REMOTE_R_BUFFER)
		*(struct xgm_buffer **)out = NULL;
}

/* The result res (and the reply's fd) into out; -EBADMSG when res is not
 * what the kind needs. */
static int decode(struct xgm_ctx *ctx, enum remote_reply kind, void *out,
		  json_t *res, int fd)
{
	switch (kind) {
	case REMOTE_R_DOC:
		if (out)
			*(json_t **)out = json_incref(res);
		return 0;
	case REMOTE_R_NONE:
		return 0;
	case REMOTE_R_BLOB:
		return wire_blob_from_json(res, out) ? -EBADMSG : 0;
	case REMOTE_R_MOVED:
		return moved(ctx, res, out);
	case REMOTE_R_BUFFER:
		return wire_buffer_from_json(res, out) ? -EBADMSG : 0;
	case REMOTE_R_FREED:
		free(out);
		return 0;
	case REMOTE_R_DOMAIN:
		return wire_domain_from_json(res, out) ? -EBADMSG : 0;
	case REMOTE_R_DOMAINS:
		return domains(res, out);
	case REMOTE_R_FD:
		return fd >= 0 ? fd : xgm_fail(-EPROTO,
					       "the daemon sent no fd");
	}
	return -EBADMSG;
}

int remote_run(struct xgm_ctx *ctx, const char *fn, const char *op, int fd_in,
	       enum remote_reply kind, void *out, json_t *args)
{
	json_t *res = NULL;
	int fd = -1, ret;

	clear(kind, out);
	ret = call(ctx, op, args, fd_in, &res,
		   kind == REMOTE_R_FD ? &fd : NULL);
	if (!ret)
		ret = decode(ctx, kind, out, res, fd);
	if (ret == -EBADMSG)
		ret = xgm_fail(-EPROTO, "%s: the daemon's reply is malformed",
			       fn);
	json_decref(res);
	return xgm_err(ret);
}
