// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Existing buffers: GPU buffers a caller (a VMM, `xgpumap gpu alloc`)
 * creates on its own, before and apart from any blob, and later hands to
 * xgm_blob_map() to be *adopted*.
 *
 * Each one has a record at /xgpumap/buffer/ID: card, size, placement, the
 * uid that created it and a random token (what a passed fd must prove,
 * core/bufimport.c). The record is what makes a buffer "existing":
 *  - it is not an orphan (check, recover leave it alone);
 *  - gpu_free() of a recorded buffer only releases it (the blob's use of
 *    it ends, the buffer stays its creator's): rollback, detach and recover
 *    never free what they did not allocate;
 *  - xgm_buffer_free() refuses while a blob maps it (-EBUSY).
 * Order of the steps: allocate, then record (a crash between leaves an
 * orphan recover frees); unrecord, then free (the same orphan).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/buffer.h"
#include "core/engine.h"
#include "util/array.h"
#include "util/opts.h"

#define PAGE_SIZE 4096ULL

static void record_path(uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, XGM_STORE_ROOT "/buffer/%" PRIu64, id);
}

/* The record of buffer id, validated; -ENOENT when id is not one. */
int buffer_record_load(struct xgm_ctx *ctx, uint64_t id,
		       struct buffer_record *r)
{
	char path[96];
	const char *card, *place, *token;
	json_int_t size, uid;
	json_t *j;
	int ret;

	record_path(id, path, sizeof(path));
	ret = store_get(ctx, path, &j);
	if (ret == -ENOENT)
		xgm_clear_error();
	if (ret)
		return ret;
	ret = json_unpack(j, "{s:s,s:I,s:s,s:I,s:s}", "card", &card, "size",
			  &size, "placement", &place, "uid", &uid, "token",
			  &token);
	memset(r, 0, sizeof(*r));
	if (!ret && (strlen(card) >= sizeof(r->card) || size <= 0 ||
		     size % (json_int_t)PAGE_SIZE || uid < 0 || uid > UINT32_MAX ||
		     strlen(token) != BUFFER_TOKEN_LEN ||
		     placement_parse(place, &r->placement)))
		ret = -1;
	if (ret) {
		json_decref(j);
		return xgm_fail(-EBADMSG, "store record %s is malformed", path);
	}
	r->id = id;
	snprintf(r->card, sizeof(r->card), "%s", card);
	r->size = (uint64_t)size;
	r->uid = (uint32_t)uid;
	memcpy(r->token, token, BUFFER_TOKEN_LEN + 1);
	json_decref(j);
	return 0;
}

bool buffer_is_existing(struct xgm_ctx *ctx, uint64_t id)
{
	struct buffer_record r;

	return buffer_record_load(ctx, id, &r) == 0;
}

/* An interrupted operation's journal record that names buffer id: recover
 * decides its fate first. */
static int journal_user(struct xgm_ctx *ctx, uint64_t id, char *who,
			size_t len)
{
	json_t *journal = NULL, *rec;
	size_t i;
	int ret = journal_list(ctx, &journal);

	json_array_foreach(journal, i, rec) {
		json_t *b = json_object_get(rec, "buf");

		if (json_is_integer(b) && (uint64_t)json_integer_value(b) == id)
			snprintf(who, len, "journal record %" JSON_INTEGER_FORMAT,
				 json_integer_value(json_object_get(rec, "seq")));
	}
	json_decref(journal);
	return ret;
}

/* The blob that maps buffer id ("vm1:2" into who), 0 if none. */
static int buffer_user(struct xgm_ctx *ctx, uint64_t id, char *who, size_t len)
{
	struct blob *all = NULL;
	size_t n = 0;
	int ret = blob_load_all(ctx, -1, &all, &n);

	if (ret)
		return ret;
	*who = '\0';
	for (size_t i = 0; i < n; i++)
		if (all[i].buf == id)
			snprintf(who, len, "%s:%u", all[i].dom_name, all[i].n);
	blob_free_all(all, n);
	return *who ? 0 : journal_user(ctx, id, who, len);
}

int buffer_check_unused(struct xgm_ctx *ctx, uint64_t id)
{
	char who[XGM_DOMAIN_NAME_MAX + 16];
	int ret = buffer_user(ctx, id, who, sizeof(who));

	if (!ret && *who)
		ret = xgm_fail(-EBUSY, "buffer %" PRIu64 " is mapped by blob %s "
			       "(unmap it first)", id, who);
	return ret;
}

/* A caller acting for a uid (the daemon's clients) may touch only its own
 * buffers; root and local callers any. */
int buffer_check_owner(struct xgm_ctx *ctx, const struct buffer_record *r)
{
	if (!ctx->uid_set || !ctx->uid || ctx->uid == r->uid)
		return 0;
	return xgm_fail(-EPERM, "buffer %" PRIu64 " belongs to uid %" PRIu32,
			r->id, r->uid);
}

int buffer_adopt_check(struct xgm_ctx *ctx, uint64_t id, uint64_t size,
		       const char *placement, const char *card,
		       struct buffer_record *r)
{
	int ret = buffer_record_load(ctx, id, r);

	if (ret == -ENOENT)
		return xgm_fail(-ENOENT, "no buffer %" PRIu64 " (create one with "
				"xgm_buffer_create)", id);
	if (ret)
		return ret;
	if (card && strcmp(card, r->card))
		return xgm_fail(-EINVAL, "buffer %" PRIu64 " is on %s, not %s",
				id, r->card, card);
	if (size && size != r->size)
		return xgm_fail(-EINVAL, "buffer %" PRIu64 " has %" PRIu64
				" bytes, not %" PRIu64, id, r->size, size);
	if (placement && strcmp(placement, placement_name(r->placement)))
		return xgm_fail(-EINVAL, "buffer %" PRIu64 " is in %s, not %s",
				id, placement_name(r->placement), placement);
	return buffer_check_owner(ctx, r) ?: buffer_check_unused(ctx, id);
}

int buffer_check_movable(struct xgm_ctx *ctx, const struct blob *b)
{
	if (!buffer_is_existing(ctx, b->buf))
		return 0;
	return xgm_fail(-EBUSY, "blob %s:%u maps existing buffer %" PRIu64
			": it moves with its creator, not by migrate",
			b->dom_name, b->n, b->buf);
}

static struct xgm_buffer *handle_of(const struct buffer_record *r)
{
	struct xgm_buffer *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->id = r->id;
	snprintf(h->card, sizeof(h->card), "%s", r->card);
	h->size = r->size;
	h->placement = r->placement;
	h->uid = r->uid;
	return h;
}

static int new_token(char out[BUFFER_TOKEN_LEN + 1])
{
	unsigned char raw[BUFFER_TOKEN_LEN / 2];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return xgm_fail(-EIO, "getrandom failed");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

int buffer_record_new(struct xgm_ctx *ctx, struct buffer_record *r)
{
	char path[96];
	json_t *j = NULL;
	int ret;

	r->uid = ctx->uid_set ? ctx->uid : (uint32_t)getuid();
	record_path(r->id, path, sizeof(path));
	ret = new_token(r->token);
	if (!ret) {
		j = json_pack("{s:s,s:I,s:s,s:I,s:s}", "card", r->card, "size",
			      (json_int_t)r->size, "placement",
			      placement_name(r->placement), "uid",
			      (json_int_t)r->uid, "token", r->token);
		ret = j ? store_put(ctx, path, j) : -ENOMEM;
	}
	json_decref(j);
	if (ret) {
		/* Not recorded: it is ours to free again. */
		store_del(ctx, path);
		ctx->be->gpu->buf_free(ctx->priv, r->id);
		return xgm_fail(ret, "cannot record buffer %" PRIu64 ": %s",
				r->id, xgm_last_error());
	}
	return 0;
}

static int buffer_create_op(struct xgm_ctx *ctx,
			    const struct xgm_buffer_opts *opts,
			    struct xgm_buffer **out)
{
	struct buffer_record r = { 0 };
	const char *card;
	int ret;

	if (!opts || !out)
		return xgm_fail(-EINVAL, "xgm_buffer_create: %s is NULL",
				!opts ? "opts" : "buf");
	*out = NULL;
	ret = OPTS_CHECK("xgm_buffer_create", opts, xgm_buffer_opts);
	if (ret)
		return ret;
	r.size = OPTS_GET(opts, size, 0);
	r.placement = OPTS_GET(opts, placement, XGM_PLACE_VRAM);
	card = OPTS_GET(opts, card, NULL);
	if (!r.size || r.size % PAGE_SIZE)
		return xgm_fail(-EINVAL, "xgm_buffer_create: size %" PRIu64
				" is not a positive multiple of 4096", r.size);
	if (r.placement != XGM_PLACE_VRAM && r.placement != XGM_PLACE_SYS)
		return xgm_fail(-EINVAL, "xgm_buffer_create: placement %d is "
				"not an enum xgm_placement", (int)r.placement);
	if (card && strlen(card) >= sizeof(r.card))
		return xgm_fail(-EINVAL, "xgm_buffer_create: card name too long");
	snprintf(r.card, sizeof(r.card), "%s", card ? card : "card0");
	ret = gpu_alloc(ctx, r.card, r.size, r.placement, XGM_GFN_ANY, &r.id) ?:
	      buffer_record_new(ctx, &r);
	if (ret)
		return ret;
	*out = handle_of(&r);
	if (!*out) {
		buffer_free_id(ctx, r.id);
		return xgm_fail(-ENOMEM, "xgm_buffer_create: out of memory");
	}
	return 0;
}

XGM_API int xgm_buffer_create(struct xgm_ctx *ctx,
			      const struct xgm_buffer_opts *opts,
			      struct xgm_buffer **buf)
{
	XGM_REMOTE(ctx, remote_call(ctx, "buffer-create", buf,
		REMOTE_NEED(opts, buf) ?: REMOTE_OPTS(opts, xgm_buffer_opts),
		"{s:I,s:s,s:s?}", "size", (json_int_t)OPTS_GET(opts, size, 0),
		"placement", xgm_placement_name(OPTS_GET(opts, placement,
							 XGM_PLACE_VRAM)),
		"card", OPTS_GET(opts, card, NULL)));
	return XGM_OP(ctx, XGM_OP_WRITE, buffer_create_op(ctx, opts, buf));
}

int buffer_handle(struct xgm_ctx *ctx, uint64_t id, struct xgm_buffer **out)
{
	struct buffer_record r;
	int ret = buffer_record_load(ctx, id, &r);

	if (ret == -ENOENT)
		return xgm_fail(-ENOENT, "no buffer %" PRIu64, id);
	if (ret)
		return ret;
	*out = handle_of(&r);
	return *out ? 0 : xgm_fail(-ENOMEM, "out of memory");
}

static int buffer_get_op(struct xgm_ctx *ctx, const char *card, uint64_t id,
			 struct xgm_buffer **out)
{
	struct buffer_record r;
	int ret;

	if (!out)
		return xgm_fail(-EINVAL, "xgm_buffer_get: buf is NULL");
	*out = NULL;
	ret = buffer_record_load(ctx, id, &r);
	if (ret == -ENOENT || (!ret && card && strcmp(card, r.card)))
		return xgm_fail(-ENOENT, "no buffer %s:%" PRIu64 " (create one "
				"with xgm_buffer_create)", card ? card : "card0",
				id);
	if (ret)
		return ret;
	*out = handle_of(&r);
	return *out ? 0 : xgm_fail(-ENOMEM, "xgm_buffer_get: out of memory");
}

XGM_API int xgm_buffer_get(struct xgm_ctx *ctx, const char *card, uint64_t id,
			   struct xgm_buffer **buf)
{
	XGM_REMOTE(ctx, remote_call(ctx, "buffer-get", buf, REMOTE_NEED(buf),
		"{s:s?,s:I}", "card", card, "id", (json_int_t)id));
	return XGM_OP(ctx, XGM_OP_READ, buffer_get_op(ctx, card, id, buf));
}

int buffer_free_id(struct xgm_ctx *ctx, uint64_t id)
{
	struct buffer_record r;
	char path[96];
	int ret = buffer_record_load(ctx, id, &r);

	if (ret == -ENOENT)
		return xgm_fail(-ENOENT, "no buffer %" PRIu64, id);
	ret = ret ?: buffer_check_owner(ctx, &r) ?: buffer_check_unused(ctx, id) ?:
	      gpu_check_local(ctx, id);
	if (ret)
		return ret;
	record_path(id, path, sizeof(path));
	/* Unrecorded first: from here gpu_free() frees it for real. */
	ret = store_del(ctx, path) ?: gpu_free(ctx, id);
	if (ret == -ENOENT) /* the driver lost it: the record goes anyway */
		ret = 0;
	return ret;
}

int buffer_record_ids(struct xgm_ctx *ctx, uint64_t **ids, size_t *n)
{
	char **names = NULL;
	size_t k = 0;
	int ret = store_children(ctx, XGM_STORE_ROOT "/buffer", &names, n);

	*ids = NULL;
	if (ret == -ENOENT) {
		xgm_clear_error();
		*n = 0;
		return 0;
	}
	if (ret)
		return ret;
	*ids = calloc(*n ? *n : 1, sizeof(**ids));
	for (size_t i = 0; *ids && i < *n; i++) {
		char *end;
		unsigned long long v = strtoull(names[i], &end, 10);

		if (!*end && end != names[i])
			(*ids)[k++] = v;
	}
	free_names(names, *n);
	if (!*ids)
		return -ENOMEM;
	*n = k;
	qsort(*ids, k, sizeof(**ids), xgm_cmp_u64);
	return 0;
}

bool buffer_ids_have(const uint64_t *ids, size_t n, uint64_t id)
{
	return n && bsearch(&id, ids, n, sizeof(*ids), xgm_cmp_u64);
}

/* The record of an existing buffer that is gone (xen: it went with the
 * files of a killed daemon) names nothing any more: once no blob and no
 * journal record names it, it goes, and recover reports it. */
int buffer_records_drop_gone(struct xgm_ctx *ctx, json_t *report)
{
	uint64_t *ids;
	char path[96];
	size_t n;
	int ret = buffer_record_ids(ctx, &ids, &n);

	for (size_t i = 0; !ret && i < n; i++) {
		struct xgm_extent *ext;
		size_t ne;
		uint64_t id = ids[i];
		int gone;

		gone = gpu_extents(ctx, id, &ext, &ne);
		if (!gone)
			free(ext);
		xgm_clear_error();
		if (gone != -ENOENT || buffer_check_unused(ctx, id)) {
			xgm_clear_error();
			continue;
		}
		record_path(id, path, sizeof(path));
		ret = store_del(ctx, path);
		if (!ret)
			json_array_append_new(report, json_pack("{s:s,s:I,s:s}",
				"op", "buffer-record", "buf", (json_int_t)id,
				"action", "dropped: its buffer is gone"));
	}
	free(ids);
	return ret;
}

static int buffer_free_op(struct xgm_ctx *ctx, struct xgm_buffer *buf)
{
	int ret;

	if (!buf)
		return xgm_fail(-EINVAL, "xgm_buffer_free: buf is NULL");
	ret = buffer_free_id(ctx, buf->id);
	if (!ret)
		free(buf);
	return ret;
}

XGM_API int xgm_buffer_free(struct xgm_ctx *ctx, struct xgm_buffer *buf)
{
	XGM_REMOTE(ctx, remote_call(ctx, "buffer-free", buf, REMOTE_NEED(buf),
		"{s:I}", "id", (json_int_t)buf->id));
	return XGM_OP(ctx, XGM_OP_WRITE, buffer_free_op(ctx, buf));
}

XGM_API void xgm_buffer_put(struct xgm_buffer *buf)
{
	free(buf);
}

XGM_API uint64_t xgm_buffer_id(const struct xgm_buffer *buf)
{
	return buf->id;
}

XGM_API const char *xgm_buffer_card(const struct xgm_buffer *buf)
{
	return buf->card;
}

XGM_API uint64_t xgm_buffer_size(const struct xgm_buffer *buf)
{
	return buf->size;
}

XGM_API enum xgm_placement xgm_buffer_placement(const struct xgm_buffer *buf)
{
	return buf->placement;
}
