// SPDX-License-Identifier: LGPL-2.1-only
/* The library never prints: messages go to the callback the caller installs. */
#include <stdarg.h>
#include <stdio.h>

#include "ctx.h"

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

static _Thread_local char last_error[512];

XGM_API const char *xgm_last_error(void)
{
	return last_error;
}

XGM_API void xgm_clear_error(void)
{
	last_error[0] = '\0';
}

int xgm_fail(int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	xgm_log(XGM_LOG_DEBUG, "%s", last_error);
	return xgm_err(ret);
}
