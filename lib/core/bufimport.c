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
 * was given the fd (or can read the state) can name the buffer. A real
 * dma-buf is recognised and bounded (check_dmabuf), then taken by a GPU
 * backend that can hold one (xen: xgpumapd keeps the fd and serves the
 * guest from its own mmap, with ioreq) and recorded as the caller's
 * existing buffer. A DRM device fd plus a GEM handle is another call with its own validators
 * (core/gemimport.c), which shares the helpers here.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
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
#define PAGE_SIZE 4096ULL

int buffer_memfd_make(struct xgm_ctx *ctx, const char *name,
		      const char *desc, uint64_t size)
{
	size_t n = strlen(desc);
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return xgm_fail(-errno, "memfd_create: %s", strerror(errno));
	if (write(fd, desc, n) != (ssize_t)n ||
	    (size > n && ftruncate(fd, (off_t)size)) ||
	    fcntl(fd, F_ADD_SEALS, MEMFD_SEALS)) {
		int err = errno ? errno : EIO;

		close(fd);
		return xgm_fail(-err, "cannot seal the %s memfd: %s", name,
				strerror(err));
	}
	return fd;
}

static int export_sim(struct xgm_ctx *ctx, const struct buffer_record *r)
{
	char desc[DESC_MAX];

	snprintf(desc, sizeof(desc), MEMFD_MAGIC "%s %" PRIu64 " %s\n",
		 r->card, r->id, r->token);
	return buffer_memfd_make(ctx, MEMFD_NAME, desc, r->size);
}

/* Where /proc/self/fd/FD points: "/memfd:NAME (deleted)", "/dmabuf:",
 * "pipe:[N]", a path. */
static int fd_link(int fd, char *target, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, len - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	return 0;
}

bool buffer_fd_is_memfd(int fd, const char *name)
{
	char target[96], want[64];
	struct stat st;

	snprintf(want, sizeof(want), "/memfd:%s ", name);
	return !fd_link(fd, target, sizeof(target)) &&
	       !strncmp(target, want, strlen(want)) && !fstat(fd, &st) &&
	       S_ISREG(st.st_mode);
}

int buffer_memfd_scan(int fd, const char *what, const char *magic, int n,
		      const char *fmt, ...)
{
	char desc[DESC_MAX + 1] = "";
	int seals = fcntl(fd, F_GET_SEALS), got = -1;
	size_t m = strlen(magic);
	ssize_t len;
	va_list ap;

	if (seals < 0 || (seals & MEMFD_SEALS) != MEMFD_SEALS)
		return xgm_fail(-EBADF, "the %s is not sealed", what);
	len = pread(fd, desc, DESC_MAX, 0);
	if (len > 0 && !strncmp(desc, magic, m) && memchr(desc, '\n', (size_t)len)) {
		va_start(ap, fmt);
		got = vsscanf(desc + m, fmt, ap);
		va_end(ap);
	}
	if (got != n)
		return xgm_fail(-EBADF, "the %s's descriptor is malformed", what);
	return 0;
}

bool buffer_token_is(const struct buffer_record *r, const char *token)
{
	unsigned char diff = 0;

	if (strlen(token) != BUFFER_TOKEN_LEN)
		return false;
	/* The secret is compared whole, in constant time. */
	for (size_t i = 0; i < BUFFER_TOKEN_LEN; i++)
		diff |= (unsigned char)(token[i] ^ r->token[i]);
	return !diff;
}

/* The sim's memfd: its name, its seals, its size, then the record's token. */
static int check_sim_memfd(struct xgm_ctx *ctx, int fd, uint64_t *id)
{
	char card[32], token[BUFFER_TOKEN_LEN + 2];
	struct buffer_record r;
	struct stat st;
	uint64_t n;
	int ret;

	if (!buffer_fd_is_memfd(fd, MEMFD_NAME))
		return BUFFER_NOT_THIS_KIND;
	ret = buffer_memfd_scan(fd, "buffer fd", MEMFD_MAGIC, 3,
				"%31s %" SCNu64 " %33s", card, &n, token);
	if (!ret && strlen(token) != BUFFER_TOKEN_LEN)
		ret = xgm_fail(-EBADF, "the buffer fd's descriptor is malformed");
	if (ret)
		return ret;
	if (buffer_record_load(ctx, n, &r))
		return xgm_fail(-EBADF, "the buffer fd names no buffer");
	if (!buffer_token_is(&r, token) || strcmp(card, r.card) ||
	    fstat(fd, &st) || (uint64_t)st.st_size != r.size)
		return xgm_fail(-EBADF, "the buffer fd is not buffer %" PRIu64
				"'s", n);
	*id = n;
	return 0;
}

int buffer_dmabuf_fdinfo(const char *text, uint64_t *size, char *exp,
			 size_t explen)
{
	const char *p = strstr(text, "\nexp_name:\t"), *s = strstr(text, "\nsize:\t");
	size_t n;

	if (!p || !s || sscanf(s, "\nsize:\t%" SCNu64, size) != 1)
		return -1;
	p += strlen("\nexp_name:\t");
	n = strcspn(p, "\n");
	if (!n || n >= explen || !p[n])
		return -1;
	memcpy(exp, p, n);
	exp[n] = '\0';
	return 0;
}

/* A dma-buf: the kernel names its file "/dmabuf:NAME" (since 5.3; no
 * other file can have a name there, a memfd is "/memfd:..."), and its
 * fdinfo says its exporter and size, which lseek(SEEK_END) must say too;
 * nothing is mapped before all agree and the size is one a blob window
 * can hold. */
static int check_dmabuf(struct xgm_ctx *ctx, int fd, uint64_t *id)
{
	const struct xgm_gpu_ops *g = ctx->be->gpu;
	struct xgm_gem_import in = { 0 };
	char target[96], path[64], info[1024], exp[64];
	uint64_t size;
	off_t end;
	ssize_t n;
	int ifd;

	if (fd_link(fd, target, sizeof(target)) || strncmp(target, "/dmabuf:", 8))
		return BUFFER_NOT_THIS_KIND;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ifd = open(path, O_RDONLY | O_CLOEXEC);
	n = ifd < 0 ? -1 : read(ifd, info + 1, sizeof(info) - 2);
	if (ifd >= 0)
		close(ifd);
	info[0] = '\n';
	info[n > 0 ? n + 1 : 1] = '\0';
	if (n <= 0 || buffer_dmabuf_fdinfo(info, &size, exp, sizeof(exp)))
		return xgm_fail(-EBADF, "the fd is named %s but %s says no "
				"exporter and size: not a dma-buf", target, path);
	end = lseek(fd, 0, SEEK_END);
	if (end < 0 || (uint64_t)end != size || lseek(fd, 0, SEEK_SET))
		return xgm_fail(-EBADF, "the dma-buf of %s: lseek says %lld "
				"bytes, its fdinfo %" PRIu64, exp, (long long)end,
				size);
	if (!size || size % PAGE_SIZE || size > XGM_WINDOW_FRAMES * PAGE_SIZE)
		return xgm_fail(-EINVAL, "the dma-buf of %s has %" PRIu64 " bytes: "
				"not a positive multiple of 4096 up to the %llu "
				"of a blob window", exp, size,
				XGM_WINDOW_FRAMES * PAGE_SIZE);
	if (!g->buf_import_dmabuf)
		return xgm_fail(-EOPNOTSUPP, "a %" PRIu64 "-byte dma-buf of %s: "
				"the %s GPU backend cannot hold a dma-buf (on Xen, "
				"xgpumapd keeps it and serves it with ioreq)", size,
				exp, g->name);
	return g->buf_import_dmabuf(ctx->priv, fd, size, exp, &in) ?:
	       buffer_record_taken(ctx, &in, id);
}

static const struct {
	const char *kind;
	int (*check)(struct xgm_ctx *ctx, int fd, uint64_t *id);
} validators[] = {
	{ "sim-memfd", check_sim_memfd },
	{ "dma-buf", check_dmabuf },
};

int buffer_fd_resolve(struct xgm_ctx *ctx, int fd, uint64_t *id)
{
	for (size_t i = 0; i < sizeof(validators) / sizeof(*validators); i++) {
		int ret = validators[i].check(ctx, fd, id);

		if (ret != BUFFER_NOT_THIS_KIND)
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
	/* Writable: a dma-buf is recorded as a new existing buffer. */
	return XGM_OP(ctx, XGM_OP_WRITE, import_op(ctx, fd, buf));
}
