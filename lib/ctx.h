/* SPDX-License-Identifier: LGPL-2.1-only */
/* The context behind the opaque struct xgm_ctx, and library-internal helpers. */
#ifndef XGM_CTX_H
#define XGM_CTX_H

#include <errno.h>

#include "backend.h"
#include "xgpumap.h"

struct xgm_ctx {
	const struct xgm_backend *be;
	void *priv;        /* the backend's own state */
	enum xgm_access access;
	bool created;      /* sim: a new state was made on open */
	char *sim_state;   /* sim: resolved state path */
	unsigned int flags; /* XGM_CTX_* */
};

/* Sets errno from a negative return and passes it through (libbpf style). */
static inline int xgm_err(int ret)
{
	if (ret < 0)
		errno = -ret;
	return ret;
}

void xgm_log(enum xgm_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reports progress of long work to the installed callback, if any. */
void xgm_progress(const char *what, uint64_t done, uint64_t total);
#define xgm_warn(...) xgm_log(XGM_LOG_WARN, __VA_ARGS__)
#define xgm_info(...) xgm_log(XGM_LOG_INFO, __VA_ARGS__)
#define xgm_debug(...) xgm_log(XGM_LOG_DEBUG, __VA_ARGS__)



/* Records the detailed message returned by xgm_last_error() and returns
 * ret (a negative errno) so that callers can `return xgm_fail(-EINVAL, ...)`. */
int xgm_fail(int ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif /* XGM_CTX_H */
