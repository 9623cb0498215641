// SPDX-License-Identifier: GPL-2.0-only
/*
 * Passed fds: what the validators of core/bufimport.c and core/gemimport.c
 * accept and what they refuse, on a local simulated host. A dma-buf is
 * recognised by its fdinfo, whose parser is tested on the kernel's text
 * (no dma-buf exporter exists where these tests run; make check-drm has
 * real ones). A real GEM import's recording is tested with the backend's
 * op faked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ctx.h"
#include "backend.h"
#include "core/buffer.h"
#include "xgpumap-sim.h"

struct fx {
	char dir[64], path[96];
	struct xgm_ctx *ctx;
	struct xgm_buffer *buf;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	XGM_OPTS(xgm_buffer_opts, b, .size = 4 << 20);

	strcpy(f->dir, "/tmp/xgm-bufimport-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s.json", f->dir);
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM, .daemon = "",
		 .access = XGM_ACCESS_WRITE, .sim_state = f->path);
	assert_int_equal(xgm_ctx_open(&o, &f->ctx), 0);
	assert_int_equal(xgm_buffer_create(f->ctx, &b, &f->buf), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	xgm_buffer_put(f->buf);
	xgm_ctx_close(f->ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_a_dmabuf_fdinfo_says_its_size_and_exporter(void **state)
{
	/* As /proc/self/fdinfo/N has it, after the newline the caller puts
	 * first (6.x: the generic lines, then dma_buf_show_fdinfo's). */
	static const char info[] = "\npos:\t0\nflags:\t02000002\nmnt_id:\t16\n"
				   "ino:\t1046\nsize:\t8388608\ncount:\t1\n"
				   "exp_name:\tvirtio-gpu\nname:\tblob\n";
	char exp[16];
	uint64_t size = 0;

	assert_int_equal(buffer_dmabuf_fdinfo(info, &size, exp, sizeof(exp)), 0);
	assert_int_equal(size, 8388608);
	assert_string_equal(exp, "virtio-gpu");
	/* A file's fdinfo has neither; an empty or too long name is none. */
	assert_int_equal(buffer_dmabuf_fdinfo("\npos:\t0\nflags:\t02\n", &size,
					      exp, sizeof(exp)), -1);
	assert_int_equal(buffer_dmabuf_fdinfo("\nsize:\t4096\nexp_name:\t\n",
					      &size, exp, sizeof(exp)), -1);
	assert_int_equal(buffer_dmabuf_fdinfo("\nsize:\t4096\nexp_name:\t"
					      "a-very-long-exporter-name\n",
					      &size, exp, sizeof(exp)), -1);
	assert_int_equal(buffer_dmabuf_fdinfo("\nexp_name:\tudmabuf\n", &size,
					      exp, sizeof(exp)), -1);
}

static void test_a_gem_handle_of_the_sims_drm_file_is_its_buffer(void **state)
{
	struct fx *f = *state;
	struct xgm_buffer *got = NULL;
	uint32_t handle = 0;
	int fd = xgm_sim_gem_export(f->ctx, f->buf, &handle);

	assert_true(fd >= 0);
	assert_int_equal(handle, 1);
	assert_int_equal(xgm_buffer_import_gem(f->ctx, fd, handle, &got), 0);
	assert_int_equal(xgm_buffer_id(got), xgm_buffer_id(f->buf));
	assert_int_equal(xgm_buffer_size(got), 4 << 20);
	xgm_buffer_put(got);
	/* Another handle of that file is none; a DRM file is no buffer fd. */
	assert_int_equal(xgm_buffer_import_gem(f->ctx, fd, 2, &got), -ENOENT);
	assert_string_equal(xgm_last_error(),
			    "no GEM handle 2 on that DRM file of card0");
	assert_null(got);
	assert_int_equal(xgm_buffer_import_fd(f->ctx, fd, &got), -EBADF);
	assert_non_null(strstr(xgm_last_error(), "stands for no buffer"));
	/* The file cannot be rewritten to say another buffer. */
	assert_true(write(fd, "x", 1) < 0);
	close(fd);
}

static void test_gem_import_refuses_what_is_no_drm_file(void **state)
{
	struct fx *f = *state;
	struct xgm_buffer *got = NULL;
	int p[2], null = open("/dev/null", O_RDWR), buf_fd;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(xgm_buffer_import_gem(f->ctx, p[0], 1, &got), -EBADF);
	assert_string_equal(xgm_last_error(), "a GEM handle needs a DRM device "
			    "fd (a character device of major 226)");
	/* A character device, but not DRM's. */
	assert_int_equal(xgm_buffer_import_gem(f->ctx, null, 1, &got), -EBADF);
	buf_fd = xgm_buffer_export_fd(f->ctx, f->buf);
	assert_true(buf_fd >= 0);
	assert_int_equal(xgm_buffer_import_gem(f->ctx, buf_fd, 1, &got), -EBADF);
	assert_null(got);
	assert_int_equal(xgm_buffer_import_gem(f->ctx, buf_fd, 0, &got), -EINVAL);
	assert_string_equal(xgm_last_error(),
			    "xgm_buffer_import_gem: GEM handle 0 is no buffer");
	assert_int_equal(xgm_buffer_import_gem(f->ctx, buf_fd, 1, NULL), -EINVAL);
	assert_int_equal(xgm_sim_gem_export(f->ctx, f->buf, NULL), -EINVAL);
	close(buf_fd);
	close(null);
	close(p[0]);
	close(p[1]);
}

/* A memfd named like a dma-buf is still a memfd: the kernel calls it
 * "/memfd:dmabuf:x", and only a dma-buf's file is "/dmabuf:". */
static void test_a_memfd_named_dmabuf_is_no_dmabuf(void **state)
{
	struct fx *f = *state;
	struct xgm_buffer *got = NULL;
	int fd = memfd_create("dmabuf:x", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(xgm_buffer_import_fd(f->ctx, fd, &got), -EBADF);
	assert_non_null(strstr(xgm_last_error(), "stands for no buffer"));
	close(fd);
}

/*
 * The core's side of a real GEM import, with the GPU backend's op faked
 * over the sim's buffers: a character device of DRM's major (a node made
 * here, opened O_PATH so no driver is asked) passes the core's checks,
 * and what the op takes is recorded as the caller's existing buffer.
 */
static const struct xgm_gpu_ops *real_gpu;

static int fake_import_gem(void *priv, int drm_fd, uint32_t handle,
			   struct xgm_gem_import *out)
{
	if (handle != 7)
		return xgm_fail(-ENOENT, "no GEM handle %u", handle);
	out->bytes = 8 << 20;
	out->where = XGM_PLACE_VRAM;
	snprintf(out->card, sizeof(out->card), "card0");
	return real_gpu->buf_alloc(priv, "card0", out->bytes, out->where,
				   XGM_GFN_ANY, &out->buf);
}

static size_t gpu_buffers(struct xgm_ctx *ctx)
{
	uint64_t *ids = NULL;
	size_t n = 0;

	assert_int_equal(real_gpu->buf_list(ctx->priv, &ids, &n), 0);
	free(ids);
	return n;
}

static void test_a_real_gem_handle_the_backend_takes_is_recorded(void **state)
{
	struct fx *f = *state;
	const struct xgm_backend *was = f->ctx->be;
	struct xgm_gpu_ops gpu = *was->gpu;
	struct xgm_backend be = *was;
	struct xgm_buffer *got = NULL, *again = NULL;
	char node[128];
	size_t before;
	int fd;

	snprintf(node, sizeof(node), "%s/card0", f->dir);
	if (mknod(node, S_IFCHR | 0600, makedev(226, 0)))
		skip(); /* not root, or no CAP_MKNOD */
	fd = open(node, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	real_gpu = was->gpu;
	gpu.buf_import_gem = fake_import_gem;
	be.gpu = &gpu;
	f->ctx->be = &be;
	before = gpu_buffers(f->ctx);
	assert_int_equal(xgm_buffer_import_gem(f->ctx, fd, 8, &got), -ENOENT);
	assert_string_equal(xgm_last_error(), "no GEM handle 8");
	assert_null(got);
	assert_int_equal(gpu_buffers(f->ctx), before);
	assert_int_equal(xgm_buffer_import_gem(f->ctx, fd, 7, &got), 0);
	assert_int_equal(xgm_buffer_size(got), 8 << 20);
	assert_string_equal(xgm_buffer_card(got), "card0");
	assert_int_equal(got->uid, getuid());
	assert_int_equal(gpu_buffers(f->ctx), before + 1);
	/* Recorded: another context's call finds it, freeing frees it. */
	assert_int_equal(xgm_buffer_get(f->ctx, "card0", xgm_buffer_id(got),
					&again), 0);
	xgm_buffer_put(again);
	assert_int_equal(xgm_buffer_free(f->ctx, got), 0);
	assert_int_equal(gpu_buffers(f->ctx), before);
	f->ctx->be = was;
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_dmabuf_fdinfo_says_its_size_and_exporter),
		cmocka_unit_test_setup_teardown(test_a_gem_handle_of_the_sims_drm_file_is_its_buffer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_gem_import_refuses_what_is_no_drm_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_memfd_named_dmabuf_is_no_dmabuf,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_real_gem_handle_the_backend_takes_is_recorded,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
