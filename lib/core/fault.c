// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Fault and crash points, in test builds only (make check builds with
 * XGM_TEST_HOOKS): a released library must never fail or _exit() its host
 * process because of an environment variable. Elsewhere fault_point() is an
 * inline that returns 0 (engine.h).
 */
#ifdef XGM_TEST_HOOKS
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/engine.h"

/* Per-process call counts for the fault points. */
static struct {
	char name[48];
	unsigned long calls;
} counts[64];

static unsigned long count_call(const char *name)
{
	for (size_t i = 0; i < sizeof(counts) / sizeof(*counts); i++) {
		if (!counts[i].name[0])
			snprintf(counts[i].name, sizeof(counts[i].name), "%s", name);
		if (!strcmp(counts[i].name, name))
			return ++counts[i].calls;
	}
	return 0;
}

/* Does "NAME:N" in env name this call? */
static bool env_hits(const char *env, const char *name, unsigned long n)
{
	const char *v = getenv(env);
	size_t len = strlen(name);

	if (!v || strncmp(v, name, len) || v[len] != ':')
		return false;
	return strtoul(v + len + 1, NULL, 10) == n;
}

int fault_point(struct xgm_ctx *ctx, const char *name)
{
	unsigned long n = count_call(name);

	if (env_hits("XGPUMAP_CRASH", name, n)) {
		/* What kill -9 at this instant leaves: everything the backend
		 * did so far is durable (as on Xen), the process is gone. */
		if (ctx->be->hv->sync)
			ctx->be->hv->sync(ctx->priv);
		_exit(137);
	}
	if (env_hits("XGPUMAP_FAULT", name, n))
		return xgm_fail(-EIO, "injected fault at %s call %lu "
				"(XGPUMAP_FAULT)", name, n);
	return 0;
}
#endif /* XGM_TEST_HOOKS */
