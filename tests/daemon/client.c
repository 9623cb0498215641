// SPDX-License-Identifier: GPL-2.0-only
/*
 * A test client of xgpumapd that can say what the library never would.
 *
 *   xgmd-client SOCK raw      one message per stdin line, sent as is; each
 *                             reply printed on one line. Lines starting
 *                             with @ are actions:
 *     @big N                  a message of N bytes ('x' * N)
 *     @empty                  a message of 0 bytes
 *     @fd-sim STATE ID        buffer-import with the fd the library exports
 *                             for buffer ID of the sim state STATE
 *     @fd-forged STATE ID     the same memfd with a wrong token
 *     @fd-unsealed STATE ID   the right descriptor, but not sealed
 *     @fd-gem STATE ID        buffer-import-gem, handle 1, with the sim's
 *                             DRM file of buffer ID (xgm_sim_gem_export)
 *     @fd-gem-card1 STATE ID  the same file, but saying it is card1's
 *     @fd-gem-unsealed STATE ID  the right DRM file, but not sealed
 *     @fd-null                buffer-import with /dev/null
 *     @fd-two                 buffer-import with two fds
 *     @fd-extra               hello with an fd it does not take
 *     @send-close TEXT        send TEXT and disconnect without the reply
 *   xgmd-client STATE hold ID  holds buffer ID's fd of the sim state STATE,
 *                             a pipe, a regular file (STATE itself, read
 *                             only), the sim's DRM file with buffer ID as
 *                             GEM handle 1 and that file saying card1,
 *                             prints "BUFFER-FD PIPE-FD FILE-FD GEM-FD
 *                             CARD1-FD" and waits to be killed (attach
 *                             --dmabuf's and --gem's tests)
 *   xgmd-client SOCK load N DOMID   through the library's remote context:
 *                             N operations (2 maps, 1 unmap, 2 lists, ...);
 *                             prints the ids of the blobs it kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctx.h"
#include "xgpumap-sim.h"

static char buf[XGM_PROTO_MAX_MSG + 2];

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("connect");
		exit(1);
	}
	return s;
}

static void print_reply(int s)
{
	size_t len;
	int fd, ret = wire_recv(s, buf, sizeof(buf), &len, &fd);

	if (ret) {
		printf("<no reply: %s>\n", strerror(-ret));
	} else {
		printf("%s%s\n", buf, fd >= 0 ? " <+fd>" : "");
		if (fd >= 0)
			close(fd);
	}
	fflush(stdout);
}

/* A memfd like the sim's (name: "xgpumap-buffer" or "xgpumap-drm")
 * holding desc, size bytes long, sealed or not. */
static int fake_memfd(const char *name, const char *desc, uint64_t size,
		      bool seal)
{
	int fd = memfd_create(name, MFD_ALLOW_SEALING);
	size_t n = strlen(desc);

	if (fd < 0 || write(fd, desc, n) != (ssize_t)n ||
	    (size > n && ftruncate(fd, (off_t)size)) ||
	    (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK |
			   F_SEAL_GROW | F_SEAL_WRITE))) {
		perror("memfd");
		exit(1);
	}
	return fd;
}

/* What sim_fd makes of buffer ID. */
enum fd_kind {
	FD_BUFFER,         /* the library's buffer fd */
	FD_BUFFER_FORGED,  /* the same with a wrong token */
	FD_BUFFER_UNSEALED,
	FD_GEM,            /* the sim's DRM file, the buffer its handle 1 */
	FD_GEM_CARD1,      /* the same, but saying it is card1's */
	FD_GEM_UNSEALED,
};

static int sim_fd(const char *state, const char *id, enum fd_kind kind)
{
	XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
		 .sim_state = state, .daemon = "", .flags = XGM_CTX_NO_CREATE);
	bool gem = kind >= FD_GEM;
	struct xgm_buffer *b;
	struct xgm_ctx *ctx;
	char token[64] = "", desc[160] = "";
	uint32_t handle;
	int fd;

	if (xgm_ctx_open(&o, &ctx) ||
	    xgm_buffer_get(ctx, NULL, strtoull(id, NULL, 10), &b)) {
		fprintf(stderr, "sim: %s\n", xgm_last_error());
		exit(1);
	}
	fd = gem ? xgm_sim_gem_export(ctx, b, &handle)
		 : xgm_buffer_export_fd(ctx, b);
	if (fd < 0) {
		fprintf(stderr, "export: %s\n", xgm_last_error());
		exit(1);
	}
	if (kind != FD_BUFFER && kind != FD_GEM) {
		/* The real token, read back from the real fd. */
		if (pread(fd, desc, sizeof(desc) - 1, 0) <= 0 ||
		    sscanf(desc, gem ? "xgpumap-drm 1 %*s %*s %*s %63s" :
			   "xgpumap-buffer 1 %*s %*s %63s", token) != 1)
			exit(1);
		close(fd);
		if (kind == FD_BUFFER_FORGED)
			token[0] = token[0] == '0' ? '1' : '0';
		if (gem)
			snprintf(desc, sizeof(desc), "xgpumap-drm 1 %s %u %"
				 PRIu64 " %s\n", kind == FD_GEM_CARD1 ? "card1" :
				 xgm_buffer_card(b), handle, xgm_buffer_id(b),
				 token);
		else
			snprintf(desc, sizeof(desc), "xgpumap-buffer 1 %s %"
				 PRIu64 " %s\n", xgm_buffer_card(b),
				 xgm_buffer_id(b), token);
		fd = fake_memfd(gem ? "xgpumap-drm" : "xgpumap-buffer", desc,
				gem ? 0 : xgm_buffer_size(b),
				kind != FD_BUFFER_UNSEALED &&
				kind != FD_GEM_UNSEALED);
	}
	xgm_buffer_put(b);
	xgm_ctx_close(ctx);
	return fd;
}

static const char import_req[] = "{\"op\":\"buffer-import\",\"id\":7,\"args\":{}}";
static const char gem_req[] =
	"{\"op\":\"buffer-import-gem\",\"id\":8,\"args\":{\"handle\":1}}";

/* The raw client's @fd-KIND actions. */
static int fd_kind_named(const char *name)
{
	static const char *const names[] = {
		[FD_BUFFER] = "sim", [FD_BUFFER_FORGED] = "forged",
		[FD_BUFFER_UNSEALED] = "unsealed", [FD_GEM] = "gem",
		[FD_GEM_CARD1] = "gem-card1", [FD_GEM_UNSEALED] = "gem-unsealed",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	return -1;
}

static void send_fds(int s, const char *text, int fd1, int fd2)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(2 * sizeof(int))];
	} cm = { 0 };
	struct iovec iov = { (void *)text, strlen(text) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cm.b };
	int fds[2] = { fd1, fd2 }, n = fd2 >= 0 ? 2 : 1;

	msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
	cm.h.cmsg_level = SOL_SOCKET;
	cm.h.cmsg_type = SCM_RIGHTS;
	cm.h.cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(&cm.h), fds, n * sizeof(int));
	if (sendmsg(s, &msg, MSG_NOSIGNAL) < 0)
		perror("sendmsg");
}

static int raw(const char *path)
{
	char line[8192], a[4096], b[64], kind[16];
	int s = connect_to(path), k;

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "@big ", 5)) {
			size_t n = strtoul(line + 5, NULL, 10);
			char *m = malloc(n);

			memset(m, 'x', n);
			if (send(s, m, n, MSG_NOSIGNAL) < 0)
				perror("send");
			free(m);
		} else if (!strcmp(line, "@empty")) {
			send(s, "", 0, MSG_NOSIGNAL);
		} else if (sscanf(line, "@fd-%15s %4095s %63s", kind, a, b) == 3 &&
			   (k = fd_kind_named(kind)) >= 0) {
			int fd = sim_fd(a, b, (enum fd_kind)k);

			send_fds(s, k >= FD_GEM ? gem_req : import_req, fd, -1);
			close(fd);
		} else if (!strcmp(line, "@fd-null") || !strcmp(line, "@fd-two") ||
			   !strcmp(line, "@fd-extra")) {
			int fd = open("/dev/null", O_RDONLY);

			send_fds(s, line[4] == 'e' ?
				 "{\"op\":\"hello\",\"id\":1,\"args\":{\"version\":1}}" :
				 import_req, fd, line[4] == 't' ? fd : -1);
			close(fd);
		} else if (!strncmp(line, "@send-close ", 12)) {
			send(s, line + 12, strlen(line + 12), MSG_NOSIGNAL);
			close(s);
			return 0;
		} else {
			if (send(s, line, strlen(line), MSG_NOSIGNAL) < 0)
				perror("send");
		}
		print_reply(s);
	}
	close(s);
	return 0;
}

static void die_lib(const char *what)
{
	fprintf(stderr, "load: %s: %s\n", what, xgm_last_error());
	exit(1);
}

/* Maps two, unmaps one, lists twice, per five operations. */
static int load(const char *path, unsigned int n, uint32_t domid)
{
	XGM_OPTS(xgm_ctx_opts, o, .daemon = path, .access = XGM_ACCESS_WRITE);
	struct xgm_blob **kept = calloc(n, sizeof(*kept));
	struct xgm_ctx *ctx;
	size_t nk = 0;

	if (xgm_ctx_open(&o, &ctx))
		die_lib("open");
	for (unsigned int i = 0; i < n; i++) {
		XGM_OPTS(xgm_map_opts, m, .size = 1 << 20);
		json_t *doc;

		switch (i % 5) {
		case 0:
		case 1:
			if (xgm_blob_map(ctx, domid, &m, &kept[nk]))
				die_lib("map");
			nk++;
			break;
		case 2:
			if (xgm_blob_unmap(ctx, kept[--nk]))
				die_lib("unmap");
			xgm_blob_free(kept[nk]);
			break;
		default:
			if (xgm_blob_list(ctx, NULL, &doc))
				die_lib("list");
			json_decref(doc);
		}
	}
	for (size_t i = 0; i < nk; i++) {
		printf("%" PRIu32 ":%" PRIu32 "\n", xgm_blob_domid(kept[i]),
		       xgm_blob_id(kept[i]));
		xgm_blob_free(kept[i]);
	}
	free(kept);
	xgm_ctx_close(ctx);
	return 0;
}

static int hold(const char *state, const char *id)
{
	int bfd = sim_fd(state, id, FD_BUFFER), p[2], file = open(state, O_RDONLY);
	int gem = sim_fd(state, id, FD_GEM), card1 = sim_fd(state, id, FD_GEM_CARD1);

	if (pipe(p) || file < 0) {
		perror("hold");
		return 1;
	}
	printf("%d %d %d %d %d\n", bfd, p[0], file, gem, card1);
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[2], "hold"))
		return hold(argv[1], argv[3]);
	if (argc == 3 && !strcmp(argv[2], "raw"))
		return raw(argv[1]);
	if (argc == 5 && !strcmp(argv[2], "load"))
		return load(argv[1], (unsigned int)atoi(argv[3]),
			    (uint32_t)atoi(argv[4]));
	fprintf(stderr, "usage: xgmd-client SOCK raw | SOCK load N DOMID | "
		"STATE hold ID\n");
	return 2;
}
