// SPDX-License-Identifier: LGPL-2.1-only
/* Context lifetime and backend selection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "core/engine.h"
#include "util/opts.h"

#ifndef XGM_VERSION_STRING
#define XGM_VERSION_STRING "0.1.0"
#endif

XGM_API const char *xgm_version(void)
{
	return XGM_VERSION_STRING;
}

XGM_API unsigned int xgm_features(void)
{
	unsigned int f = XGM_FEATURE_BACKEND_SIM;

#ifdef XGM_HAVE_XEN
	f |= XGM_FEATURE_BACKEND_XEN;
#endif
#ifdef XGM_HAVE_DRM
	f |= XGM_FEATURE_BACKEND_DRM;
#endif
	return f;
}

static const char *const backend_names[] = {
	[XGM_BACKEND_AUTO] = "auto",
	[XGM_BACKEND_XEN] = "xen",
	[XGM_BACKEND_SIM] = "sim",
	[XGM_BACKEND_DUMP] = "dump",
};

XGM_API int xgm_backend_parse(const char *name, enum xgm_backend_kind *out)
{
	/* "dump" is not chosen by name: it comes with opts.input. */
	for (size_t i = 0; i < XGM_BACKEND_DUMP; i++) {
		if (name && !strcmp(name, backend_names[i])) {
			*out = (enum xgm_backend_kind)i;
			return 0;
		}
	}
	return xgm_err(-EINVAL);
}

XGM_API const char *xgm_backend_name(enum xgm_backend_kind kind)
{
	if ((unsigned int)kind >= sizeof(backend_names) / sizeof(*backend_names))
		return "unknown";
	return backend_names[kind];
}

/* Xen lists "control_d" in /proc/xen/capabilities only in the control
 * domain; anywhere else auto means the simulated host. */
static bool in_control_domain(void)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/xen/capabilities", "r");
	bool yes;

	if (!f)
		return false;
	yes = fgets(buf, sizeof(buf), f) && strstr(buf, "control_d");
	fclose(f);
	return yes;
}

/* What auto means on this machine. */
static enum xgm_backend_kind resolve_backend(enum xgm_backend_kind want)
{
	if (want != XGM_BACKEND_AUTO)
		return want;
	return in_control_domain() ? XGM_BACKEND_XEN : XGM_BACKEND_SIM;
}

static int pick_backend(enum xgm_backend_kind want,
			const struct xgm_backend **out)
{
	switch (resolve_backend(want)) {
	case XGM_BACKEND_SIM:
		*out = &xgm_backend_sim;
		return 0;
	case XGM_BACKEND_XEN:
#ifdef XGM_HAVE_XEN
		*out = &xgm_backend_xen;
		return 0;
#else
		xgm_warn("the xen backend is not compiled into this build "
			 "(libxen-dev was not found)");
		return -EOPNOTSUPP;
#endif
	default:
		return -EINVAL;
	}
}

/*
 * On a Xen host the engine runs in xgpumapd: it holds the DRM files (a
 * buffer lives as long as the file it was made on) and serves the blob
 * windows, and a shared library must not fork a helper behind its
 * caller's back to do that. So with no daemon named, a context on the xen
 * backend talks to the one at its default socket; when none runs there,
 * reading works in process (inspection needs no daemon) and writing is
 * refused, naming it. opts.daemon "" runs the engine here (xgpumapd's own
 * context, or a VMM that keeps its context, and so its buffers, open).
 */
static int route_xen(const struct xgm_ctx_opts *o, const char **sock)
{
	if (o->input || o->daemon || *sock)
		return 0;
	if (resolve_backend(o->backend) != XGM_BACKEND_XEN)
		return 0;
	if (!access(XGM_DAEMON_SOCKET, F_OK)) {
		*sock = XGM_DAEMON_SOCKET;
		return 0;
	}
	if (o->access != XGM_ACCESS_WRITE)
		return 0;
	return xgm_fail_remedy(-ENOTCONN, XGM_REMEDY_DAEMON, XGM_DAEMON_SOCKET,
			       "a Xen host is changed through xgpumapd, and "
			       "none listens at %s", XGM_DAEMON_SOCKET);
}

XGM_API int xgm_ctx_open(const struct xgm_ctx_opts *opts, struct xgm_ctx **out)
{
	struct xgm_ctx_opts o = { .sz = sizeof(o) };
	struct xgm_opened opened = { 0 };
	struct xgm_ctx *ctx;
	const char *sock;
	int ret;

	if (!out)
		return xgm_fail(-EINVAL, "xgm_ctx_open: out is NULL");
	ret = OPTS_CHECK("xgm_ctx_open", opts, xgm_ctx_opts);
	if (ret)
		return ret;
	o.backend = OPTS_GET(opts, backend, XGM_BACKEND_AUTO);
	o.access = OPTS_GET(opts, access, XGM_ACCESS_READ);
	o.sim_state = OPTS_GET(opts, sim_state, NULL);
	o.flags = OPTS_GET(opts, flags, 0);
	o.input = OPTS_GET(opts, input, NULL);
	o.daemon = OPTS_GET(opts, daemon, NULL);
	sock = o.input ? NULL : remote_socket(&o);
	ret = route_xen(&o, &sock);
	if (ret)
		return ret;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return xgm_err(-ENOMEM);
	if (sock) {
		ctx->access = o.access;
		ret = remote_open(ctx, sock);
		if (ret) {
			free(ctx);
			return xgm_err(ret);
		}
		*out = ctx;
		return 0;
	}
	ctx->ioreq_domid = -1;
	ctx->access = o.access;
	ctx->flags = o.flags;
	if (o.input)
		ctx->be = &xgm_backend_dump;
	ret = o.input ? 0 : pick_backend(o.backend, &ctx->be);
	if (!ret)
		ret = ctx->be->hv->open(&o, &opened, &ctx->priv);
	if (ret) {
		free(opened.state_path);
		free(ctx);
		return xgm_err(ret);
	}
	ctx->created = opened.created;
	ctx->sim_state = opened.state_path;
	engine_install_hooks(ctx);
	*out = ctx;
	return 0;
}

int xgm__op_begin(struct xgm_ctx *ctx, enum xgm_op_kind kind, const char *fn)
{
	bool write;
	int ret;

	if (!ctx)
		return xgm_fail(-EINVAL, "%s: ctx is NULL", fn);
	if (ctx->remote)
		return xgm_fail(-EOPNOTSUPP, "%s: not available through the "
				"daemon", fn);
	write = kind == XGM_OP_WRITE ||
		(kind == XGM_OP_AS_OPENED && ctx->access == XGM_ACCESS_WRITE);
	if (write && ctx->access != XGM_ACCESS_WRITE)
		return xgm_fail(-EROFS, "%s: the context was opened for reading "
				"(XGM_ACCESS_READ)", fn);
	if (ctx->op_depth) {
		/* A call inside a call is part of the same operation. */
		if (write && !ctx->op_write)
			return xgm_fail(-EINVAL, "internal: %s writes inside a "
					"read operation", fn);
		ctx->op_depth++;
		return 0;
	}
	xgm__err_enter(&ctx->err);
	/* What another process committed since may differ from the cache. */
	engine_forget_ioreq_cache(ctx);
	ret = ctx->be->hv->begin ? ctx->be->hv->begin(ctx->priv, write) : 0;
	if (ret) {
		xgm__err_leave(&ctx->err, ret);
		return xgm_err(ret);
	}
	ctx->op_depth = 1;
	ctx->op_write = write;
	return 0;
}

int xgm__op_end(struct xgm_ctx *ctx, int ret)
{
	int r;

	if (--ctx->op_depth)
		return ret;
	engine_forget_ioreq_cache(ctx);
	r = ctx->be->hv->end ? ctx->be->hv->end(ctx->priv, ctx->op_write,
						 ret >= 0) : 0;
	if (ret >= 0 && r)
		ret = r;
	xgm__err_leave(&ctx->err, ret);
	return xgm_err(ret);
}

XGM_API int xgm_ctx_commit(struct xgm_ctx *ctx)
{
	if (!ctx)
		return xgm_err(-EINVAL);
	if (ctx->access != XGM_ACCESS_WRITE)
		return xgm_err(-EROFS);
	if (ctx->remote) /* the daemon commits each request */
		return 0;
	if (!ctx->be->hv->commit)
		return 0;
	return xgm_err(ctx->be->hv->commit(ctx->priv));
}

XGM_API void xgm_ctx_close(struct xgm_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->remote) {
		remote_close(ctx);
		free(ctx);
		return;
	}
	engine_forget_ioreq_cache(ctx);
	ctx->be->hv->close(ctx->priv);
	free(ctx->sim_state);
	free(ctx);
}

XGM_API enum xgm_backend_kind xgm_ctx_backend(const struct xgm_ctx *ctx)
{
	return ctx->remote ? remote_backend(ctx) : ctx->be->kind;
}

XGM_API bool xgm_ctx_created(const struct xgm_ctx *ctx)
{
	return ctx->created;
}

XGM_API const char *xgm_ctx_sim_state_path(const struct xgm_ctx *ctx)
{
	return ctx->sim_state;
}

XGM_API const char *xgm_ctx_last_error(const struct xgm_ctx *ctx)
{
	return ctx ? ctx->err.msg : "";
}

int xgm__serve_fd(struct xgm_ctx *ctx)
{
	const struct xgm_hv_ops *hv = ctx->be->hv;

	return !ctx->remote && hv->serve_fd ? hv->serve_fd(ctx->priv) : -1;
}

static int serve_op(struct xgm_ctx *ctx)
{
	return ctx->be->hv->serve(ctx->priv);
}

int xgm__serve(struct xgm_ctx *ctx)
{
	if (ctx->remote || !ctx->be->hv->serve)
		return 0;
	return XGM_OP(ctx, XGM_OP_WRITE, serve_op(ctx));
}
