/* SPDX-License-Identifier: LGPL-2.1-only */
/* The context behind the opaque struct xgm_ctx, and library-internal helpers. */
#ifndef XGM_CTX_H
#define XGM_CTX_H

#include <errno.h>

#include "backend.h"
#include "util/log.h"
#include "xgpumap-sim.h"

struct xgm_ctx {
	const struct xgm_backend *be;
	void *priv;        /* the backend's own state */
	enum xgm_access access;
	bool created;      /* sim: a new state was made on open */
	char *sim_state;   /* sim: resolved state path */
	unsigned int flags; /* XGM_CTX_* */
	xgm_move_fn move_fn; /* xgm_ctx_set_move_callback() */
	void *move_user;
	unsigned int op_depth; /* public calls in progress (they nest) */
	bool op_write;         /* the outermost one writes */
	struct xgm__err err;    /* the operation's first failure */
	/* The ioreq server's view of one domain's blobs, for the length of
	 * one operation: a guest read of 1 GiB is 262,144 ioreqs, and each
	 * must not load every record again (core/hooks.c). */
	struct blob *ioreq_blobs;
	size_t ioreq_nr;
	int64_t ioreq_domid;   /* -1: nothing cached */
	/* The daemon acts for a client: the uid whose buffers it may touch
	 * (0: any). Local callers leave it unset. */
	bool uid_set;
	uint32_t uid;
	/* Set when the context talks to xgpumapd (lib/client/): be is then
	 * NULL and every public call is forwarded. */
	struct xgm_remote *remote;
};

/* The first line of every public call: a remote context forwards it. */
#define XGM_REMOTE(ctx, call)                                           \
	do {                                                            \
		if ((ctx) && (ctx)->remote)                             \
			return (call);                                  \
	} while (0)

/*
 * Every public call that reaches the host is one operation: it takes the
 * host-wide lock (shared to read, exclusive to write), sees what other
 * processes committed, and commits its own work before it returns
 * (backend begin/end). Exclusion is the engine's, the same on every
 * backend, and held per operation, never for a context's life.
 */
enum xgm_op_kind {
	XGM_OP_READ,
	XGM_OP_WRITE,
	XGM_OP_AS_OPENED, /* writes when the context may (guest reads map
			   * revoke-fault chunks as a guest's touch would) */
};

int xgm__op_begin(struct xgm_ctx *ctx, enum xgm_op_kind kind, const char *fn);
int xgm__op_end(struct xgm_ctx *ctx, int ret);

/* Runs call as one operation of the public function it is written in. */
#define XGM_OP(ctx, kind, call)                                         \
	({                                                              \
		int __op = xgm__op_begin((ctx), (kind), __func__);      \
		__op ? __op : xgm__op_end((ctx), (call));               \
	})

/*
 * xgpumapd's loop: the fd that polls readable when a guest waits on an
 * ioreq server this context hosts (-1 where none can be), and what
 * answers every waiting request without blocking, as one write operation
 * (a first touch maps a chunk). Returns the requests answered or a
 * negative errno.
 */
int xgm__serve_fd(struct xgm_ctx *ctx);
int xgm__serve(struct xgm_ctx *ctx);

#include "client/remote.h"
#endif /* XGM_CTX_H */
