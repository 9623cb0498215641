// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The sim state loader (sim_persist_load in lib/sim/persist.c) on any JSON
 * body. Property: a body that loads saves to one that loads and saves to
 * the same document (load validates everything save can write).
 */
#include "fuzz.h"
#include "sim/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_model *m = NULL, *m2 = NULL;
	json_t *body, *saved, *saved2;

	/* Bigger bodies only make slow hosts, not new paths. */
	if (size > 64 * 1024)
		return 0;
	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!body)
		return 0;
	if (!sim_persist_load(body, &m)) {
		saved = sim_persist_save(m);
		FUZZ_ASSERT(saved);
		FUZZ_ASSERT(!sim_persist_load(saved, &m2));
		saved2 = sim_persist_save(m2);
		FUZZ_ASSERT(saved2 && json_equal(saved, saved2));
		json_decref(saved2);
		json_decref(saved);
		sim_model_free(m2);
		sim_model_free(m);
	}
	json_decref(body);
	return 0;
}
