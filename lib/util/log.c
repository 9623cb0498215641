// SPDX-License-Identifier: LGPL-2.1-only
/* The library never prints: messages go to the callback the caller installs. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

static xgm_print_fn print_fn;
static void *print_user;

XGM_API xgm_print_fn xgm_set_print(xgm_print_fn fn, void *user)
{
	xgm_print_fn old = print_fn;

	print_fn = fn;
	print_user = user;
	return old;
}

void xgm_log(enum xgm_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!print_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	print_fn(level, buf, print_user);
}

static xgm_progress_fn progress_fn;
static void *progress_user;

XGM_API xgm_progress_fn xgm_set_progress(xgm_progress_fn fn, void *user)
{
	xgm_progress_fn old = progress_fn;

	progress_fn = fn;
	progress_user = user;
	return old;
}

void xgm_progress(const char *what, uint64_t done, uint64_t total)
{
	if (progress_fn)
		progress_fn(what, done, total, progress_user);
}

/* The thread's record, and the one failures go to now: a context's during
 * one of its operations. */
static _Thread_local struct xgm__err thread_err;
static _Thread_local struct xgm__err *cur_err;
static _Thread_local unsigned int err_held;

void xgm__err_hold(void)
{
	err_held++;
}

void xgm__err_release(void)
{
	if (err_held)
		err_held--;
}

static struct xgm__err *current(void)
{
	return cur_err ? cur_err : &thread_err;
}

void xgm__err_enter(struct xgm__err *rec)
{
	rec->msg[0] = '\0';
	rec->set = false;
	cur_err = rec;
}

void xgm__err_leave(struct xgm__err *rec, int ret)
{
	cur_err = NULL;
	err_held = 0;
	if (ret >= 0)
		*rec = (struct xgm__err){ 0 };
	thread_err = *rec;
}

XGM_API const char *xgm_last_error(void)
{
	return current()->msg;
}

XGM_API void xgm_clear_error(void)
{
	struct xgm__err *e = current();

	if (err_held)
		return;
	*e = (struct xgm__err){ 0 };
}

XGM_API enum xgm_remedy xgm_last_remedy(const char **arg)
{
	struct xgm__err *e = current();

	if (arg)
		*arg = e->arg;
	return e->remedy;
}

static const char *const remedy_names[XGM_REMEDY_NR] = {
	[XGM_REMEDY_RECOVER] = "recover",
	[XGM_REMEDY_DISCARD] = "discard",
	[XGM_REMEDY_SIM_RESET] = "sim-reset",
	[XGM_REMEDY_SIM_EXTENSION] = "sim-extension",
	[XGM_REMEDY_SIM_STATE] = "sim-state",
	[XGM_REMEDY_FILL] = "fill",
	[XGM_REMEDY_STRATEGY_AUTO] = "strategy-auto",
	[XGM_REMEDY_P2M] = "p2m",
	[XGM_REMEDY_DAEMON] = "daemon",
	[XGM_REMEDY_SIM_IMPORT] = "sim-import",
};

XGM_API const char *xgm_remedy_name(enum xgm_remedy r)
{
	return (unsigned int)r < XGM_REMEDY_NR ? remedy_names[r] : NULL;
}

XGM_API int xgm_remedy_parse(const char *name, enum xgm_remedy *out)
{
	*out = XGM_REMEDY_NONE;
	for (unsigned int r = 1; name && r < XGM_REMEDY_NR; r++)
		if (!strcmp(name, remedy_names[r])) {
			*out = (enum xgm_remedy)r;
			return 0;
		}
	return xgm_err(-EINVAL);
}

static int vfail(int ret, enum xgm_remedy r, const char *arg,
		 const char *fmt, va_list ap)
{
	struct xgm__err *e = current();
	char msg[sizeof(e->msg)];
	bool quotes;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	xgm_log(XGM_LOG_DEBUG, "%s", msg);
	/* In an operation the cause wins; a message that quotes it adds to
	 * it. Outside one, as errno, the last. */
	quotes = e->set && strstr(msg, e->msg);
	if (!err_held && (!cur_err || !e->set || quotes)) {
		memcpy(e->msg, msg, sizeof(msg));
		e->set = true;
		if (r != XGM_REMEDY_NONE || !quotes) {
			e->remedy = r;
			snprintf(e->arg, sizeof(e->arg), "%s", arg ? arg : "");
		}
	}
	return xgm_err(ret);
}

int xgm_fail(int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ret = vfail(ret, XGM_REMEDY_NONE, NULL, fmt, ap);
	va_end(ap);
	return ret;
}

int xgm_fail_remedy(int ret, enum xgm_remedy r, const char *arg,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ret = vfail(ret, r, arg, fmt, ap);
	va_end(ap);
	return ret;
}
