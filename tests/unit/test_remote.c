// SPDX-License-Identifier: GPL-2.0-only
/*
 * The remote context (lib/client/) against a scripted daemon in a child
 * process: the hello's fallback to protocol 1, large replies (protocol 2)
 * and replies that are not what the call needs.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctx.h"
#include "core/buffer.h"
#include "xgpumap-sim.h"

enum reply_fd { NO_FD, LARGE_SEALED, LARGE_UNSEALED };

/* One exchange: the op the client must send, the reply (@ID: the
 * request's id, @BIG: big_result). */
struct step {
	const char *op;
	const char *reply;
	enum reply_fd fd;
};

struct fake {
	char path[108];
	pid_t pid;
};

static char big_result[80000];

static int unsealed_memfd(const char *text, size_t len)
{
	int fd = memfd_create("xgpumapd-reply", MFD_CLOEXEC);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		exit(3);
	return fd;
}

static char *expand(const char *tmpl, unsigned int id)
{
	size_t cap = strlen(tmpl) + sizeof(big_result) + 16, n = 0;
	char *out = malloc(cap);

	if (!out)
		exit(3);
	for (const char *p = tmpl; *p;) {
		if (!strncmp(p, "@ID", 3)) {
			n += (size_t)snprintf(out + n, cap - n, "%u", id);
			p += 3;
		} else if (!strncmp(p, "@BIG", 4)) {
			n += (size_t)snprintf(out + n, cap - n, "%s", big_result);
			p += 4;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	return out;
}

static void serve_step(int s, const struct step *st)
{
	char buf[XGM_PROTO_MAX_MSG + 1], *text;
	json_t *req;
	size_t len;
	unsigned int id;
	int fd = -1;

	if (wire_recv(s, buf, sizeof(buf), &len, &fd))
		exit(4);
	req = json_loads(buf, 0, NULL);
	if (!req || strcmp(json_string_value(json_object_get(req, "op")), st->op))
		exit(5);
	id = (unsigned int)json_integer_value(json_object_get(req, "id"));
	json_decref(req);
	if (fd >= 0)
		close(fd);
	text = expand(st->reply, id);
	len = strlen(text);
	if (st->fd != NO_FD) {
		char packet[64];

		fd = st->fd == LARGE_SEALED ? wire_large_make(text, len)
					    : unsealed_memfd(text, len);
		snprintf(packet, sizeof(packet), "{\"id\":%u,\"large\":%zu}", id,
			 len);
		free(text);
		text = strdup(packet);
		len = strlen(text);
	}
	if (wire_send(s, text, len, fd, false))
		exit(6);
	free(text);
	if (fd >= 0)
		close(fd);
}

/* A daemon on a fresh socket that answers the steps, in order, to one
 * client, then waits for it to close. */
static void fake_start(struct fake *f, const struct step *steps, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(f->path, sizeof(f->path), "/tmp/xgm-test-remote.%d.sock",
		 (int)getpid());
	unlink(f->path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		int s = accept(l, NULL, NULL);
		char c;

		if (s < 0)
			exit(2);
		for (size_t i = 0; i < n; i++)
			serve_step(s, &steps[i]);
		while (recv(s, &c, 1, 0) > 0)
			; /* more requests than the script: fail below */
		exit(0);
	}
	close(l);
}

/* The daemon ran its whole script. */
static void fake_stop(struct fake *f)
{
	int status;

	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	unlink(f->path);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static struct xgm_ctx *open_remote(struct fake *f, int expect)
{
	XGM_OPTS(xgm_ctx_opts, o, .daemon = f->path);
	struct xgm_ctx *ctx = NULL;

	assert_int_equal(xgm_ctx_open(&o, &ctx), expect);
	return ctx;
}

#define HELLO_V2 "{\"id\":@ID,\"ok\":true,\"result\":{\"version\":2," \
		 "\"backend\":\"sim\",\"uid\":0}}"

static void test_remote_hello_falls_back_to_protocol_1(void **state)
{
	static const struct step steps[] = {
		{ "hello", "{\"id\":@ID,\"ok\":false,\"error\":{\"errno\":93,"
		  "\"code\":\"EPROTONOSUPPORT\",\"message\":\"protocol 1\"}}" },
		{ "hello", "{\"id\":@ID,\"ok\":true,\"result\":{\"version\":1,"
		  "\"backend\":\"sim\",\"uid\":0}}" },
		{ "dump", "{\"id\":@ID,\"ok\":true,\"result\":{\"v\":1}}" },
	};
	struct fake f;
	struct xgm_ctx *ctx;
	json_t *doc = NULL;

	fake_start(&f, steps, 3);
	ctx = open_remote(&f, 0);
	assert_int_equal(xgm_dump(ctx, &doc), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "v")), 1);
	json_decref(doc);
	xgm_ctx_close(ctx);
	fake_stop(&f);
}

static void test_remote_hello_wants_the_version_it_asked(void **state)
{
	/* A daemon that says 1 to a hello of 2 speaks something else. */
	static const struct step steps[] = {
		{ "hello", "{\"id\":@ID,\"ok\":true,\"result\":{\"version\":1,"
		  "\"backend\":\"sim\",\"uid\":0}}" },
	};
	struct fake f;

	fake_start(&f, steps, 1);
	assert_null(open_remote(&f, -EPROTO));
	assert_non_null(strstr(xgm_last_error(), "speaks another protocol"));
	fake_stop(&f);
}

static void test_remote_large_reply_is_read_from_its_sealed_memfd(void **state)
{
	static const struct step steps[] = {
		{ "hello", HELLO_V2 },
		{ "list", "{\"id\":@ID,\"ok\":true,\"result\":{\"big\":\"@BIG\"}}",
		  LARGE_SEALED },
		{ "list", "{\"id\":@ID,\"ok\":true,\"result\":{\"big\":\"@BIG\"}}",
		  LARGE_UNSEALED },
	};
	struct fake f;
	struct xgm_ctx *ctx;
	json_t *doc = NULL;

	fake_start(&f, steps, 3);
	ctx = open_remote(&f, 0);
	assert_int_equal(xgm_blob_list(ctx, NULL, &doc), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "big")),
			    big_result);
	json_decref(doc);
	/* One that could change while it is read is not taken. */
	assert_int_equal(xgm_blob_list(ctx, NULL, &doc), -EPROTO);
	assert_null(doc);
	xgm_ctx_close(ctx);
	fake_stop(&f);
}

static void test_remote_reply_of_the_wrong_type_is_eproto(void **state)
{
	static const struct step steps[] = {
		{ "hello", HELLO_V2 },
		{ "map", "{\"id\":@ID,\"ok\":true,\"result\":{\"domid\":1}}" },
		{ "buffer-export", "{\"id\":@ID,\"ok\":true,\"result\":null}" },
	};
	XGM_OPTS(xgm_map_opts, m, .size = 4096);
	struct xgm_buffer *buf = NULL;
	struct xgm_blob *b = (void *)1;
	uint32_t handle;
	struct fake f;
	struct xgm_ctx *ctx;

	fake_start(&f, steps, 3);
	ctx = open_remote(&f, 0);
	assert_int_equal(xgm_blob_map(ctx, 1, &m, &b), -EPROTO);
	assert_null(b);
	assert_string_equal(xgm_last_error(),
			    "xgm_blob_map: the daemon's reply is malformed");
	/* The argument checks run here, before any request. */
	assert_int_equal(xgm_buffer_export_fd(ctx, NULL), -EINVAL);
	assert_string_equal(xgm_last_error(),
			    "xgm_buffer_export_fd: buf is NULL");
	assert_int_equal(xgm_buffer_get(ctx, NULL, 1, NULL), -EINVAL);
	assert_string_equal(xgm_last_error(), "xgm_buffer_get: buf is NULL");
	assert_int_equal(xgm_buffer_import_gem(ctx, -1, 1, &buf), -EINVAL);
	assert_string_equal(xgm_last_error(),
			    "xgm_buffer_import_gem: fd is negative");
	buf = calloc(1, sizeof(*buf));
	/* The sim's DRM file is made from a state file, never by a request. */
	assert_int_equal(xgm_sim_gem_export(ctx, buf, &handle), -EOPNOTSUPP);
	assert_string_equal(xgm_last_error(),
			    "xgm_sim_gem_export: not available through the daemon");
	assert_int_equal(xgm_buffer_export_fd(ctx, buf), -EPROTO);
	assert_string_equal(xgm_last_error(), "the daemon sent no fd");
	free(buf);
	xgm_ctx_close(ctx);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_hello_falls_back_to_protocol_1),
		cmocka_unit_test(test_remote_hello_wants_the_version_it_asked),
		cmocka_unit_test(test_remote_large_reply_is_read_from_its_sealed_memfd),
		cmocka_unit_test(test_remote_reply_of_the_wrong_type_is_eproto),
	};

	memset(big_result, 'x', sizeof(big_result) - 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
