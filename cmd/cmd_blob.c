// SPDX-License-Identifier: GPL-2.0-only
/* attach, detach, list, show: blobs mapped into guests. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

#define DRM_MAJOR 226

/* Library refusals that are the user's input get exit status 2. */
static int lib_error(struct cli *cli, int ret, const char *what)
{
	if (ret == -EINVAL)
		return cli_usage(cli, "%s", *xgm_last_error() ? xgm_last_error() : what);
	return cli_fail_lib(cli, ret, what);
}

/* A buffer another process holds: --dmabuf PID:FD or --gem PID:FD:HANDLE. */
struct held {
	const char *opt; /* "--dmabuf", "--gem"; NULL: none given */
	const char *arg;
	long pid, fd, handle;
};

/* Reads "N:N" (gem: "N:N:N") into h; -EINVAL when it is not that. */
static int held_parse(struct held *h, const char *opt, const char *arg)
{
	long *v[] = { &h->pid, &h->fd, &h->handle };
	size_t n = strcmp(opt, "--gem") ? 2 : 3;
	const char *p = arg;

	h->opt = opt;
	h->arg = arg;
	h->handle = 0;
	for (size_t i = 0; i < n; i++) {
		char *end;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		*v[i] = strtol(p, &end, 10);
		if (errno || *v[i] > (i == 2 ? (long)UINT32_MAX : INT_MAX) ||
		    *end != (i + 1 < n ? ':' : '\0'))
			return -EINVAL;
		p = end + 1;
	}
	return h->pid > 0 && (n == 2 || h->handle > 0) ? 0 : -EINVAL;
}

/* A dma-buf is a file of the kernel's own, named "/dmabuf:NAME". */
static bool fd_is_dmabuf(int fd)
{
	char link[32], target[16] = "";

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	return readlink(link, target, sizeof(target) - 1) > 0 &&
	       !strncmp(target, "/dmabuf:", 8);
}

static bool fd_is_drm(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == DRM_MAJOR;
}

static const char *fd_kind(int fd, const struct stat *st)
{
	if (fd_is_dmabuf(fd))
		return "a dma-buf";
	if (S_ISFIFO(st->st_mode))
		return "a pipe";
	if (S_ISSOCK(st->st_mode))
		return "a socket";
	if (S_ISDIR(st->st_mode))
		return "a directory";
	if (S_ISCHR(st->st_mode))
		return fd_is_drm(st) ? "a DRM device" : "a character device";
	if (S_ISBLK(st->st_mode))
		return "a block device";
	return S_ISREG(st->st_mode) ? "a file" : "of no known type";
}

/* A copy of the process's fd (pidfd_getfd(2): ptrace access to it). */
static int held_take(struct cli *cli, const struct held *h, int *fd)
{
	int pidfd = pidfd_open((pid_t)h->pid, 0), err;

	*fd = pidfd < 0 ? -1 : pidfd_getfd(pidfd, (int)h->fd, 0);
	err = errno;
	if (pidfd >= 0)
		close(pidfd);
	if (*fd >= 0)
		return 0;
	return cli_fail(cli, -err, "attach: %s %s: cannot take fd %ld of "
			"pid %ld: %s%s", h->opt, h->arg, h->fd, h->pid,
			strerror(err), err == EPERM ? " (pidfd_getfd needs "
			"ptrace access to the process: the same user, or "
			"CAP_SYS_PTRACE)" : "");
}

/* The buffer the held fd stands for; the library validates the fd.
 * *taken: a real dma-buf or DRM file, which the import records as a new
 * buffer (a simulated host's fd names one that exists). */
static int held_buffer(struct cli *cli, const struct held *h,
		       struct xgm_buffer **buf, bool *taken)
{
	struct stat st = { 0 };
	const char *why = NULL, *kind;
	int fd, ret = held_take(cli, h, &fd);

	if (ret)
		return ret;
	if (fstat(fd, &st)) {
		ret = -errno;
		why = strerror(errno);
	} else {
		ret = h->handle ? xgm_buffer_import_gem(cli->ctx, fd,
						       (uint32_t)h->handle, buf)
				: xgm_buffer_import_fd(cli->ctx, fd, buf);
		why = *xgm_last_error() ? xgm_last_error() : strerror(-ret);
	}
	kind = fd_kind(fd, &st);
	*taken = fd_is_dmabuf(fd) || fd_is_drm(&st);
	close(fd);
	if (!ret)
		return 0;
	/* Only -EBADF says what the fd is not; the rest are of a buffer
	 * (no such handle, another card, taken before). */
	return cli_fail(cli, ret, "attach: %s %s: fd %ld of pid %ld %s%s%s: %s",
			h->opt, h->arg, h->fd, h->pid, ret == -EBADF ? "is " :
			"(", kind, ret == -EBADF ? ", not a buffer" :
			")", why);
}

/* A buffer taken from another process is recorded as soon as it is
 * taken: a failed attach lets it go again, so the state is as it was
 * (the process keeps its own buffer); one that existed already stays. */
static void held_release(struct cli *cli, struct xgm_buffer *buf, bool undo)
{
	if (!undo) {
		xgm_buffer_put(buf);
		return;
	}
	if (xgm_buffer_free(cli->ctx, buf)) {
		fprintf(stderr, "xgpumap: attach: and the buffer taken stays "
			"recorded: %s\n", xgm_last_error());
		xgm_buffer_put(buf);
	}
}

int do_attach(struct cli *cli, const struct cmd *self, int argc, char **argv,
	      json_t **out)
{
	XGM_OPTS(xgm_attach_opts, opts);
	struct opt_iter it;
	struct held held = { 0 };
	struct xgm_buffer *buf = NULL;
	char **args, card[32];
	int idx, ret, named = 0;
	bool taken = false;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0) {
		const char *name = self->opts[idx].name;

		if (!strcmp(name, "size")) {
			ret = xgm_parse_size(it.arg, &opts.size);
			if (ret)
				return cli_usage(cli, "attach: --size: '%s' is not a size%s",
						 it.arg, ret == -ERANGE ? " (too large)" : "");
		} else if (!strcmp(name, "placement")) {
			opts.placement = it.arg;
		} else if (!strcmp(name, "strategy")) {
			opts.strategy = it.arg;
		} else if (!strcmp(name, "cache")) {
			opts.cache = it.arg;
		} else if (!strcmp(name, "gfn")) {
			if (xgm_parse_frame(it.arg, &opts.gfn))
				return cli_usage(cli, "attach: --gfn: '%s' is not a frame "
						 "number", it.arg);
			opts.gfn_set = true;
		} else if (!strcmp(name, "label")) {
			opts.label = it.arg;
		} else if (!strcmp(name, "card")) {
			opts.card = it.arg;
		} else if (!strcmp(name, "buffer")) {
			if (gpu_parse_buffer(it.arg, card, sizeof(card), &opts.buffer))
				return cli_usage(cli, "attach: --buffer: '%s' is not a "
						 "buffer (CARD:ID, e.g. card0:3)", it.arg);
			opts.buffer_set = true;
			named++;
		} else if (!strcmp(name, "dmabuf") || !strcmp(name, "gem")) {
			bool dmabuf = name[0] == 'd';

			if (held_parse(&held, dmabuf ? "--dmabuf" : "--gem",
				       it.arg))
				return cli_usage(cli, "attach: --%s: '%s' is "
						 "not %s", name, it.arg, dmabuf ?
						 "PID:FD (e.g. 1234:7)" :
						 "PID:FD:HANDLE (e.g. 1234:7:1)");
			named++;
		}
	}
	if (named > 1)
		return cli_usage(cli, "attach: --buffer, --dmabuf and --gem "
				 "each name the buffer: give one");
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "attach: expected one DOM");
	if (!opts.size && !named)
		return cli_usage(cli, "attach: --size is required and must be above 0");
	if (held.opt) {
		ret = held_buffer(cli, &held, &buf, &taken);
		if (ret)
			return ret;
		opts.buffer = xgm_buffer_id(buf);
		opts.buffer_set = true;
		snprintf(card, sizeof(card), "%s", xgm_buffer_card(buf));
	}
	if (opts.buffer_set && opts.card && strcmp(opts.card, card))
		ret = cli_usage(cli, "attach: --card %s but %s is on %s",
				opts.card, held.opt ? held.opt : "--buffer", card);
	else {
		if (opts.buffer_set)
			opts.card = card;
		ret = xgm_blob_attach(cli->ctx, args[0], &opts, out);
		if (ret)
			ret = lib_error(cli, ret, "attach failed");
	}
	if (buf)
		held_release(cli, buf, ret && taken);
	return ret;
}

int do_detach(struct cli *cli, const struct cmd *self, int argc, char **argv,
	      json_t **out)
{
	struct opt_iter it;
	bool all = false;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		all = true; /* --all is the only option */
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "detach: expected BLOB, or DOM --all");
	if (all && strchr(args[0], ':'))
		return cli_usage(cli, "detach: --all takes a DOM, not a blob id");
	ret = all ? xgm_blob_detach_all(cli->ctx, args[0], out)
		  : xgm_blob_detach(cli->ctx, args[0], out);
	return ret ? lib_error(cli, ret, "detach failed") : 0;
}

int do_list(struct cli *cli, const struct cmd *self, int argc, char **argv,
	    json_t **out)
{
	struct opt_iter it;
	char **args;
	int n, ret;

	n = opt_parse_none(cli, self, &it, argc, argv, &args);
	if (n < 0)
		return cli->error.status;
	if (n > 1)
		return cli_usage(cli, "list: expected at most one DOM");
	ret = xgm_blob_list(cli->ctx, n ? args[0] : NULL, out);
	return ret ? lib_error(cli, ret, "list failed") : 0;
}

int do_show(struct cli *cli, const struct cmd *self, int argc, char **argv,
	    json_t **out)
{
	struct opt_iter it;
	char **args;
	int ret;

	if (opt_parse_none(cli, self, &it, argc, argv, &args) != 1)
		return cli_usage(cli, "show: expected one BLOB (DOM:N)");
	ret = xgm_blob_show(cli->ctx, args[0], out);
	return ret ? lib_error(cli, ret, "show failed") : 0;
}

int do_migrate(struct cli *cli, const struct cmd *self, int argc, char **argv,
	       json_t **out)
{
	XGM_OPTS(xgm_migrate_opts, opts);
	uint64_t repeat = 1;
	struct opt_iter it;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0) {
		if (!strcmp(self->opts[idx].name, "to")) {
			opts.to = it.arg;
		} else if (!strcmp(self->opts[idx].name, "pause")) {
			opts.pause = true;
		} else if (xgm_parse_frame(it.arg, &repeat) || !repeat || repeat > 100000) {
			return cli_usage(cli, "migrate: --repeat must be 1..100000, not '%s'",
					 it.arg);
		}
	}
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "migrate: expected one BLOB (DOM:N)");
	if (!opts.to)
		return cli_usage(cli, "migrate: --to vram|sys is required");
	opts.repeat = (unsigned int)repeat;
	progress_begin(cli);
	ret = xgm_blob_migrate(cli->ctx, args[0], &opts, out);
	progress_end();
	return ret ? lib_error(cli, ret, "migrate failed") : 0;
}

int do_fill(struct cli *cli, const struct cmd *self, int argc, char **argv,
	    json_t **out)
{
	uint64_t seed = 0;
	struct opt_iter it;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		if (xgm_parse_frame(it.arg, &seed))
			return cli_usage(cli, "fill: --seed: '%s' is not a number", it.arg);
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "fill: expected one BLOB (DOM:N)");
	ret = xgm_blob_fill(cli->ctx, args[0], seed, out);
	return ret ? lib_error(cli, ret, "fill failed") : 0;
}

int do_verify(struct cli *cli, const struct cmd *self, int argc, char **argv,
	      json_t **out)
{
	struct opt_iter it;
	char **args;
	int ret;

	if (opt_parse_none(cli, self, &it, argc, argv, &args) != 1)
		return cli_usage(cli, "verify: expected one BLOB (DOM:N)");
	ret = xgm_blob_verify(cli->ctx, args[0], out);
	if (ret)
		return lib_error(cli, ret, "verify failed");
	/* A mismatch is a result, and a failure. */
	return strcmp(json_string_value(json_object_get(*out, "result")), "ok") ?
	       EXIT_FAILED : 0;
}
