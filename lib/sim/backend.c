// SPDX-License-Identifier: LGPL-2.1-only
/* Placeholder until the simulated host's model lands: opens and locks the
 * state, answers ENOSYS for everything else. */
#include <stdlib.h>

#include "ctx.h"
#include "sim/state_file.h"

struct sim_priv {
	struct sim_state_file *file;
	json_t *doc;
};

static int sim_open(struct xgm_ctx *ctx, const struct xgm_ctx_opts *opts,
		    void **priv)
{
	struct sim_priv *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	ctx->sim_state = sim_state_resolve(opts->sim_state);
	if (!ctx->sim_state) {
		free(p);
		return -errno;
	}
	ret = sim_state_open(ctx->sim_state, opts->access,
			     !(opts->flags & XGM_CTX_NO_CREATE), &p->file, &p->doc);
	if (ret) {
		free(p);
		return ret;
	}
	*priv = p;
	return 0;
}

static int sim_commit(void *priv)
{
	return xgm_fail(-ENOSYS, "the simulated host is not implemented yet");
}

static void sim_close(void *priv)
{
	struct sim_priv *p = priv;

	json_decref(p->doc);
	sim_state_close(p->file);
	free(p);
}

static int sim_domain_list(void *priv, struct xgm_domain_info **out,
			   size_t *count)
{
	return xgm_fail(-ENOSYS, "the simulated host is not implemented yet");
}

static const struct xgm_hv_ops sim_hv_ops = {
	.name = "sim",
	.open = sim_open,
	.commit = sim_commit,
	.close = sim_close,
	.domain_list = sim_domain_list,
};

static const struct xgm_gpu_ops sim_gpu_ops = {
	.name = "sim",
};

const struct xgm_backend xgm_backend_sim = {
	.kind = XGM_BACKEND_SIM,
	.hv = &sim_hv_ops,
	.gpu = &sim_gpu_ops,
};
