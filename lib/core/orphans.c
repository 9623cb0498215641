// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Buffers nobody knows of. A process killed between allocating a buffer
 * and writing down its id (the journal's next phase) leaves a buffer that
 * no record names: check reports it, recover frees it. A buffer an open
 * journal record names is not an orphan: recover decides its fate.
 */
#include <stdlib.h>

#include "core/engine.h"

static bool named(uint64_t id, const struct blob *blobs, size_t nb,
		  json_t *journal)
{
	json_t *rec;
	size_t i;

	for (size_t k = 0; k < nb; k++)
		if (blobs[k].buf == id)
			return true;
	json_array_foreach(journal, i, rec) {
		json_t *b = json_object_get(rec, "buf"), *nbuf = json_object_get(rec, "new_buf");

		if ((json_is_integer(b) && (uint64_t)json_integer_value(b) == id) ||
		    (json_is_integer(nbuf) && (uint64_t)json_integer_value(nbuf) == id))
			return true;
	}
	return false;
}

int orphan_buffers(struct xgm_ctx *ctx, uint64_t **out, size_t *count)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;
	struct blob *blobs = NULL;
	json_t *journal = NULL;
	uint64_t *ids;
	size_t n, nb = 0, k = 0;
	int ret;

	*out = NULL;
	*count = 0;
	if (!g->buf_list)
		return 0; /* this backend cannot tell */
	ret = g->buf_list(ctx->priv, &ids, &n);
	if (ret)
		return ret;
	ret = blob_load_all(ctx, -1, &blobs, &nb) ?: journal_list(ctx, &journal);
	for (size_t i = 0; !ret && i < n; i++)
		if (!named(ids[i], blobs, nb, journal))
			ids[k++] = ids[i];
	blob_free_all(blobs, nb);
	json_decref(journal);
	if (ret || !k) {
		free(ids);
		return ret;
	}
	*out = ids;
	*count = k;
	return 0;
}
