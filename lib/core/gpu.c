// SPDX-License-Identifier: LGPL-2.1-only
/*
 * gpu list / gpu show: the cards as their driver describes them (the
 * backend's cards op), with each buffer tied to the blob that maps it.
 * Read-only: nothing here allocates, moves or pins.
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"

/* The blob ("vm1:3") whose buffer is buf on card, or NULL. */
static const struct blob *blob_of(const struct blob *all, size_t n,
				  const char *card, uint64_t buf)
{
	for (size_t i = 0; i < n; i++)
		if (all[i].buf == buf && !strcmp(all[i].card, card))
			return &all[i];
	return NULL;
}

/* A backend that failed to evict says "buffer N": name the blob behind it
 * ("vm1:1"), which is what the user knows it by. */
void gpu_name_victim(struct xgm_ctx *ctx, const char *card, char *msg,
		     size_t len)
{
	char *at = strstr(msg, "buffer "), *end, rest[256];
	unsigned long long id;
	const struct blob *b;
	struct blob *all = NULL;
	size_t n = 0;

	if (!at || at[7] < '0' || at[7] > '9')
		return;
	id = strtoull(at + 7, &end, 10);
	if (blob_load_all(ctx, -1, &all, &n)) {
		xgm_clear_error();
		return;
	}
	b = blob_of(all, n, card, id);
	if (b) {
		snprintf(rest, sizeof(rest), "%s", end);
		snprintf(at, len - (size_t)(at - msg), "%s:%u%s", b->dom_name,
			 b->n, rest);
	}
	blob_free_all(all, n);
}

static void tie_blobs(json_t *cards, const struct blob *all, size_t n)
{
	json_t *card, *buf;
	size_t i, k;

	json_array_foreach(cards, i, card) {
		const char *name = json_string_value(json_object_get(card, "card"));

		json_array_foreach(json_object_get(card, "buffers"), k, buf) {
			json_t *id = json_object_get(buf, "id");
			const struct blob *b = NULL;

			if (json_is_integer(id) && name)
				b = blob_of(all, n, name, (uint64_t)json_integer_value(id));
			json_object_set_new(buf, "blob", b ? json_sprintf("%s:%u",
					    b->dom_name, b->n) : json_null());
		}
	}
}

static int gpu_cards(struct xgm_ctx *ctx, json_t **out)
{
	const struct xgm_gpu_ops *gpu = ctx->be->gpu;
	struct blob *all = NULL;
	uint64_t *known;
	size_t n = 0;
	int ret;

	if (!gpu->cards)
		return xgm_fail(-EOPNOTSUPP, "the %s backend cannot describe its "
				"GPUs", xgm_backend_name(ctx->be->kind));
	ret = blob_load_all(ctx, -1, &all, &n);
	if (ret)
		return ret;
	/* The ids the engine recorded, for backends that cannot list their
	 * buffers under those very ids (see backend.h). */
	known = calloc(n + 1, sizeof(*known));
	if (!known) {
		blob_free_all(all, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		known[i] = all[i].buf;
	ret = fault_point(ctx, "cards") ?: gpu->cards(ctx->priv, known, n, out);
	if (!ret)
		tie_blobs(*out, all, n);
	free(known);
	blob_free_all(all, n);
	return ret;
}

static int gpu_list_op(struct xgm_ctx *ctx, json_t **out)
{
	if (!ctx || !out)
		return xgm_err(-EINVAL);
	return xgm_err(gpu_cards(ctx, out));
}

XGM_API int xgm_gpu_list(struct xgm_ctx *ctx, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "gpu-list", out, "{}"));
	return XGM_OP(ctx, XGM_OP_READ, gpu_list_op(ctx, out));
}

/* "card0, card1" into buf, for the message about a card that is not there. */
static void card_names(json_t *cards, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *c;

	snprintf(buf, len, "none");
	json_array_foreach(cards, i, c) {
		const char *name = json_string_value(json_object_get(c, "card"));

		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						i ? ", " : "", name ? name : "?");
	}
}

static int gpu_show_op(struct xgm_ctx *ctx, const char *card, json_t **out)
{
	json_t *cards, *c;
	char names[256];
	size_t i;
	int ret;

	if (!ctx || !card || !out)
		return xgm_err(-EINVAL);
	ret = gpu_cards(ctx, &cards);
	if (ret)
		return xgm_err(ret);
	json_array_foreach(cards, i, c) {
		const char *name = json_string_value(json_object_get(c, "card"));

		if (name && !strcmp(name, card)) {
			*out = json_incref(c);
			json_decref(cards);
			return 0;
		}
	}
	/* Say which cards there are: the usual slip is card1 for card0. */
	card_names(cards, names, sizeof(names));
	json_decref(cards);
	return xgm_err(xgm_fail(-ENODEV, "no GPU '%s' (this host has: %s)",
				card, names));
}

XGM_API int xgm_gpu_show(struct xgm_ctx *ctx, const char *card, json_t **out)
{
	XGM_REMOTE(ctx, remote_doc(ctx, "gpu-show", out, "{s:s?}", "card", card));
	return XGM_OP(ctx, XGM_OP_READ, gpu_show_op(ctx, card, out));
}
