// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The dump loader: `check --input FILE` on a file someone sent. The bytes
 * become a memfd, opened as a dump context (lib/dump/backend.c), and
 * everything that reads it runs: check (every invariant, over the recorded
 * p2m, store records and buffers), list, domains, p2m and IOMMU runs.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "xgpumap-sim.h"

static void walk(struct xgm_ctx *ctx)
{
	struct xgm_domain_info *doms;
	json_t *out;
	size_t n;

	if (!xgm_check(ctx, NULL, &out))
		json_decref(out);
	if (!xgm_blob_list(ctx, NULL, &out))
		json_decref(out);
	if (!xgm_dump(ctx, &out))
		json_decref(out);
	if (xgm_domain_list(ctx, &doms, &n))
		return;
	for (size_t i = 0; i < n && i < 8; i++) {
		if (!xgm_p2m_runs(ctx, doms[i].name, 0, UINT64_MAX >> 12, &out))
			json_decref(out);
		if (!xgm_iommu_runs(ctx, doms[i].name, 0, UINT64_MAX >> 12, &out))
			json_decref(out);
	}
	free(doms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	XGM_OPTS(xgm_ctx_opts, opts, .access = XGM_ACCESS_READ);
	struct xgm_ctx *ctx;
	char path[64];
	int fd = memfd_create("xgm-fuzz-dump", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		opts.input = path;
		if (!xgm_ctx_open(&opts, &ctx)) {
			walk(ctx);
			xgm_ctx_close(ctx);
		}
	}
	close(fd);
	return 0;
}
