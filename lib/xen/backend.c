// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The real Xen backend. This build only checks that it can run at all
 * (control domain, root); the operations arrive with the backend issue and
 * answer ENOSYS until then rather than pretend.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"

static int xen_open(struct xgm_ctx *ctx, const struct xgm_ctx_opts *opts,
		    void **priv)
{
	char caps[128] = "";
	FILE *f = fopen("/proc/xen/capabilities", "r");

	if (f) {
		if (!fgets(caps, sizeof(caps), f))
			caps[0] = '\0';
		fclose(f);
	}
	if (!strstr(caps, "control_d"))
		return xgm_fail(-ENODEV, "the xen backend needs the Xen control "
				"domain (dom0): /proc/xen/capabilities does not "
				"say control_d");
	if (geteuid() != 0)
		return xgm_fail(-EPERM, "the xen backend needs root in dom0");
	*priv = NULL;
	return xgm_fail(-ENOSYS, "the xen backend is not implemented yet");
}

static void xen_close(void *priv)
{
}

static const struct xgm_hv_ops xen_hv_ops = {
	.name = "xen",
	.open = xen_open,
	.close = xen_close,
};

static const struct xgm_gpu_ops xen_gpu_ops = {
	.name = "drm",
};

const struct xgm_backend xgm_backend_xen = {
	.kind = XGM_BACKEND_XEN,
	.hv = &xen_hv_ops,
	.gpu = &xen_gpu_ops,
};
