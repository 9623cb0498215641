/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Messages of the library: log lines for the caller's print callback,
 * progress, and the error record behind xgm_last_error(). Everything in
 * lib/ may include this; it includes nothing of the engine.
 */
#ifndef XGM_UTIL_LOG_H
#define XGM_UTIL_LOG_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "xgpumap.h"

void xgm_log(enum xgm_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define xgm_warn(...) xgm_log(XGM_LOG_WARN, __VA_ARGS__)
#define xgm_info(...) xgm_log(XGM_LOG_INFO, __VA_ARGS__)
#define xgm_debug(...) xgm_log(XGM_LOG_DEBUG, __VA_ARGS__)

/* Reports progress of long work to the installed callback, if any. */
void xgm_progress(const char *what, uint64_t done, uint64_t total);

/* Sets errno from a negative return and passes it through (libbpf style). */
static inline int xgm_err(int ret)
{
	if (ret < 0)
		errno = -ret;
	return ret;
}

/*
 * The error record. During a public call on a context the record is the
 * context's and the first failure wins: an undo that fails after the cause
 * cannot replace the cause's message. A message that quotes the recorded
 * one (a caller adding what it was doing) replaces it. Outside a call the
 * record is the thread's and the last failure wins, as for errno.
 */
struct xgm__err {
	char msg[512];
	bool set;
	enum xgm_remedy remedy;
	char arg[64];
};

/* The outermost public call on a context begins and ends: the record is
 * the context's from enter to leave; leave copies it to the thread's, so
 * xgm_last_error() after the call says why it failed (nothing when it
 * succeeded). */
void xgm__err_enter(struct xgm__err *rec);
void xgm__err_leave(struct xgm__err *rec, int ret);

/* An undo after a failure keeps the cause's message whatever it meets:
 * between hold and release, failures are logged and clears are no-ops
 * (an undo that handles an -ENOENT of its own must not erase the cause).
 * Holds nest. */
void xgm__err_hold(void);
void xgm__err_release(void);

/* Records the message returned by xgm_last_error() and returns ret (a
 * negative errno) so that callers can `return xgm_fail(-EINVAL, ...)`. */
int xgm_fail(int ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with what could put it right (arg: its argument, or NULL). A
 * message that quotes the cause keeps the cause's remedy unless it gives
 * one of its own. */
int xgm_fail_remedy(int ret, enum xgm_remedy r, const char *arg,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A caller that knows what its callee's failure means ("no such blob"
 * for an -ENOENT) says so in place of the callee's message. */
#define xgm_fail_instead(...) (xgm_clear_error(), xgm_fail(__VA_ARGS__))

/* A size in the units users type ("16 GiB", "4 KiB", "1.5 GiB", "512
 * bytes"), for messages: one unit everywhere. Returns buf. */
#define XGM_SIZE_STR 32
const char *xgm_size_str(uint64_t bytes, char buf[XGM_SIZE_STR]);

#endif /* XGM_UTIL_LOG_H */
