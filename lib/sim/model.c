// SPDX-License-Identifier: LGPL-2.1-only
/* The model's lifetime and whole-host queries. */
#include <errno.h>
#include <stdlib.h>

#include "backend.h"
#include "util/log.h"
#include "sim/model.h"

struct sim_model *sim_model_new(void)
{
	struct sim_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->store = json_object();
	if (!m->store) {
		free(m);
		return NULL;
	}
	m->paddr_bits = 46;
	m->gnttab_max_frames = SIM_GNTTAB_MAX_FRAMES;
	m->next_buf_id = 1;
	return m;
}

void sim_model_free(struct sim_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nr_doms; i++)
		sim_dom_free(m->doms[i]);
	free(m->doms);
	for (size_t i = 0; i < m->nr_gpus; i++)
		sim_gpu_free(m->gpus[i]);
	free(m->gpus);
	free(m->frames.runs);
	sim_runs_free(&m->refs);
	sim_map_free(&m->buf_index);
	for (size_t i = 0; i < m->nr_gone; i++)
		free(m->gone[i].row);
	free(m->gone);
	json_decref(m->store);
	free(m);
}

struct sim_domain *sim_model_dom0(const struct sim_model *m)
{
	return sim_dom_get(m, 0);
}

int sim_model_counters(const struct sim_model *m, int32_t domid,
		   struct xgm_counters *out)
{
	struct sim_domain *d;

	if (domid >= 0) {
		int ret = sim_dom_find(m, (uint32_t)domid, &d);

		if (ret)
			return ret;
		*out = d->ctr;
		return 0;
	}
	/* A domain not read since it was saved did no work since. */
	*out = m->host_ctr;
	sim_counters_add(out, &m->dom_ctr_base);
	for (size_t i = 0; i < m->nr_doms; i++) {
		sim_counters_add(out, &m->doms[i]->ctr);
		sim_counters_sub(out, &m->doms[i]->ctr_base);
	}
	return 0;
}
