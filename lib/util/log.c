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
	e->msg[0] = '\0';
	e->set = false;
}

int xgm_fail(int ret, const char *fmt, ...)
{
	struct xgm__err *e = current();
	char msg[sizeof(e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xgm_log(XGM_LOG_DEBUG, "%s", msg);
	/* In an operation the cause wins; a message that quotes it adds to
	 * it. Outside one, as errno, the last. */
	if (!err_held && (!cur_err || !e->set || strstr(msg, e->msg))) {
		memcpy(e->msg, msg, sizeof(msg));
		e->set = true;
	}
	return xgm_err(ret);
}
