// SPDX-License-Identifier: LGPL-2.1-only
/*
 * Buffers as file descriptors: what xgm_buffer_export_fd() hands out and
 * what xgm_buffer_import_fd() (the daemon, for an fd a client passed with
 * SCM_RIGHTS) accepts. An fd is untrusted: each kind has a validator that
 * proves, from the fd alone, which buffer it stands for; an fd no
 * validator accepts is -EBADF.
 *
 * The sim's kind is a sealed memfd named "xgpumap-buffer" whose first
 * bytes say "xgpumap-buffer 1 CARD ID TOKEN", the size of the buffer, and
 * sealed against writes, growing and shrinking: the token is the random
 * secret of the buffer's record (core/buffer.c), so only a process that
 * was given the fd (or can read the state) can name the buffer. The real
 * kinds are further entries of validators[]: a dma-buf (DMA_BUF_IOCTL_*
 * and the exporter's name), a DRM device fd plus a GEM handle.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buffer.h"
#include "core/engine.h"

#define MEMFD_NAME "xgpumap-buffer"
#define MEMFD_MAGIC "xgpumap-buffer 1 "
#define MEMFD_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define DESC_MAX 128

static int export_sim(struct xgm_ctx *ctx, const struct buffer_record *r)
{
	char desc[DESC_MAX];
	int fd, n;

	n = snprintf(desc, sizeof(desc), MEMFD_MAGIC "%s %" PRIu64 " %s\n",
		     r->card, r->id, r->token);
	fd = memfd_create(MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return xgm_fail(-errno, "memfd_create: %s", strerror(errno));
	if (write(fd, desc, (size_t)n) != n || ftruncate(fd, (off_t)r->size) ||
	    fcntl(fd, F_ADD_SEALS, MEMFD_SEALS)) {
		int err = errno ? errno : EIO;

		close(fd);
		return xgm_fail(-err, "cannot seal the buffer's memfd: %s",
				strerror(err));
	}
	return fd;
}

/* The sim's memfd: its name, its seals, its size, then the record's token
 * (compared whole, in constant time). */
static int check_sim_memfd(struct xgm_ctx *ctx, int fd, uint64_t *id)
{
	char link[64], target[64] = "", desc[DESC_MAX + 1] = "", card[32];
	char token[BUFFER_TOKEN_LEN + 2];
	struct buffer_record r;
	unsigned char diff = 0;
	struct stat st;
	uint64_t n;
	ssize_t len;
	int seals;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, target, sizeof(target) - 1);
	if (len <= 0 || strncmp(target, "/memfd:" MEMFD_NAME " ",
				strlen("/memfd:" MEMFD_NAME " ")) ||
	    fstat(fd, &st) || !S_ISREG(st.st_mode))
		return -ENOTSUP; /* not this kind */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & MEMFD_SEALS) != MEMFD_SEALS)
		return xgm_fail(-EBADF, "the buffer fd is not sealed");
	len = pread(fd, desc, DESC_MAX, 0);
	if (len <= 0 || strncmp(desc, MEMFD_MAGIC, strlen(MEMFD_MAGIC)) ||
	    !memchr(desc, '\n', (size_t)len) ||
	    sscanf(desc + strlen(MEMFD_MAGIC), "%31s %" SCNu64 " %33s", card,
		   &n, token) != 3 || strlen(token) != BUFFER_TOKEN_LEN)
		return xgm_fail(-EBADF, "the buffer fd's descriptor is malformed");
	if (buffer_record_load(ctx, n, &r))
		return xgm_fail(-EBADF, "the buffer fd names no buffer");
	for (size_t i = 0; i < BUFFER_TOKEN_LEN; i++)
		diff |= (unsigned char)(token[i] ^ r.token[i]);
	if (diff || strcmp(card, r.card) || (uint64_t)st.st_size != r.size)
		return xgm_fail(-EBADF, "the buffer fd is not buffer %" PRIu64
				"'s", n);
	*id = n;
	return 0;
}

static const struct {
	const char *kind;
	int (*check)(struct xgm_ctx *ctx, int fd, uint64_t *id);
} validators[] = {
	{ "sim-memfd", check_sim_memfd },
};

int buffer_fd_resolve(struct xgm_ctx *ctx, int fd, uint64_t *id)
{
	for (size_t i = 0; i < sizeof(validators) / sizeof(*validators); i++) {
		int ret = validators[i].check(ctx, fd, id);

		if (ret != -ENOTSUP)
			return ret;
	}
	/* Not its number: the caller's may differ (pidfd_getfd, SCM_RIGHTS). */
	return xgm_fail(-EBADF, "the fd stands for no buffer (expected: a "
			"buffer fd from xgm_buffer_export_fd)");
}

static int export_op(struct xgm_ctx *ctx, const struct xgm_buffer *buf)
{
	struct buffer_record r;
	int ret;

	if (!buf)
		return xgm_fail(-EINVAL, "xgm_buffer_export_fd: buf is NULL");
	ret = buffer_record_load(ctx, buf->id, &r);
	if (ret == -ENOENT)
		return xgm_fail(-ENOENT, "no buffer %" PRIu64, buf->id);
	return ret ? ret : buffer_check_owner(ctx, &r) ?: export_sim(ctx, &r);
}

XGM_API int xgm_buffer_export_fd(struct xgm_ctx *ctx,
				 const struct xgm_buffer *buf)
{
	XGM_REMOTE(ctx, remote_call(ctx, "buffer-export", REMOTE_FD,
		REMOTE_NEED(buf), "{s:I}", "id", (json_int_t)buf->id));
	return XGM_OP(ctx, XGM_OP_READ, export_op(ctx, buf));
}

static int import_op(struct xgm_ctx *ctx, int fd, struct xgm_buffer **buf)
{
	uint64_t id;
	int ret;

	if (!buf || fd < 0)
		return xgm_fail(-EINVAL, "xgm_buffer_import_fd: %s",
				!buf ? "buf is NULL" : "fd is negative");
	*buf = NULL;
	ret = buffer_fd_resolve(ctx, fd, &id);
	return ret ? ret : buffer_handle(ctx, id, buf);
}

XGM_API int xgm_buffer_import_fd(struct xgm_ctx *ctx, int fd,
				 struct xgm_buffer **buf)
{
	XGM_REMOTE(ctx, remote_call_fd(ctx, "buffer-import", fd, buf,
		REMOTE_NEED(buf) ?: remote_fd_ok(__func__, fd), "{}"));
	return XGM_OP(ctx, XGM_OP_READ, import_op(ctx, fd, buf));
}
