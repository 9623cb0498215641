// SPDX-License-Identifier: GPL-2.0-only
/*
 * xgpumapd: owns the host's mapping state and serves protocols 1 and 2
 * (man 7 xgpumapd) on a UNIX SOCK_SEQPACKET socket. One poll loop, one
 * request at a time, each one library operation; a client can neither
 * block the loop (replies are sent without waiting: a client that does
 * not read them is dropped) nor crash it (proto.c validates every byte).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctx.h"
#include "xgpumapd.h"

#define MAX_CLIENTS 64
#define MAX_GRANTS 64

struct client {
	int fd;
	uid_t uid;
	pid_t pid;
	bool hello;
	uint32_t version; /* the protocol its hello named */
};

struct grant {
	uid_t uid;
	char dom[XGM_DOMAIN_NAME_MAX];
};

static struct {
	struct xgm_ctx *ctx;
	int listen_fd;
	bool activated;           /* the socket is systemd's */
	const char *path;
	struct client clients[MAX_CLIENTS];
	size_t nr_clients;
	struct grant grants[MAX_GRANTS];
	size_t nr_grants;
	char *buf;
	volatile sig_atomic_t stop;
} d;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("xgpumapd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void on_signal(int sig)
{
	d.stop = sig;
}

/* ---- access ------------------------------------------------------------ */

static bool granted(uid_t uid, uint32_t domid)
{
	for (size_t i = 0; i < d.nr_grants; i++) {
		struct xgm_domain_info info;

		if (d.grants[i].uid != uid ||
		    xgm_domain_lookup(d.ctx, d.grants[i].dom, &info))
			continue;
		if (info.domid == domid)
			return true;
	}
	xgm_clear_error();
	return false;
}

static bool has_grants(uid_t uid)
{
	for (size_t i = 0; i < d.nr_grants; i++)
		if (d.grants[i].uid == uid)
			return true;
	return false;
}

/* The domain a request acts on, for the grant check; -1 when it names
 * none (a host-wide request). */
static int64_t request_domain(const struct proto_req *r)
{
	struct xgm_domain_info info;
	char name[PROTO_NAME_MAX], *colon;

	if (r->op == OP_WINDOW || r->op == OP_MAP || r->op == OP_UNMAP ||
	    r->op == OP_MOVE)
		return r->domid;
	snprintf(name, sizeof(name), "%s", *r->blob ? r->blob : r->dom);
	colon = *r->blob ? strrchr(name, ':') : NULL;
	if (colon)
		*colon = '\0';
	if (!*name || xgm_domain_lookup(d.ctx, name, &info)) {
		xgm_clear_error();
		return -1;
	}
	return info.domid;
}

static int check_access(const struct client *c, const struct proto_req *r)
{
	const struct proto_op_info *op = proto_op_info(r->op);
	int64_t dom;

	if (c->uid == 0 || op->scope == SCOPE_ANY || op->scope == SCOPE_BUFFER)
		return 0;
	if (op->scope == SCOPE_ROOT)
		return xgm_fail(-EACCES, "%s is for root only", op->name);
	dom = request_domain(r);
	if (dom < 0 || !granted(c->uid, (uint32_t)dom))
		return xgm_fail(-EACCES, "uid %u was not granted %s", c->uid,
				dom < 0 ? "the whole host" : "this domain");
	return 0;
}

/* ---- replies ----------------------------------------------------------- */

static void drop(size_t i, const char *why)
{
	struct client *c = &d.clients[i];

	logf_("client pid %d uid %u: %s", (int)c->pid, c->uid, why);
	close(c->fd);
	d.clients[i] = d.clients[--d.nr_clients];
}

static json_t *error_doc(uint32_t id, int err, const char *msg);

/* The packet for text: itself, or (protocol 2) a large reply's packet
 * with *fd its memfd; NULL with a reason in *err when it cannot go. */
static char *packet(const struct client *c, uint32_t id, char *text, int *fd,
		    const char **err)
{
	size_t len = strlen(text);
	json_t *p;
	int memfd = -1;

	if (len <= XGM_PROTO_MAX_MSG)
		return text;
	*err = "the reply would be larger than the protocol allows";
	/* A protocol 1 client reads one packet: it gets the error. */
	if (c->version >= 2 && *fd < 0 && len <= XGM_PROTO_MAX_LARGE) {
		memfd = wire_large_make(text, len);
		if (memfd < 0)
			*err = "cannot make the large reply's memfd";
	}
	free(text);
	if (memfd < 0)
		return NULL;
	p = json_pack("{s:I,s:I}", "id", (json_int_t)id, "large",
		      (json_int_t)len);
	text = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (text)
		*fd = memfd;
	else
		close(memfd);
	return text;
}

/* Sends the reply rep (taken) to request id, with fd when >= 0 (the
 * caller's); false when the client cannot take it and was dropped. */
static bool reply(size_t i, uint32_t id, json_t *rep, int fd)
{
	char *text = json_dumps(rep, JSON_COMPACT);
	const char *err = "out of memory";
	int ret, memfd = fd;

	json_decref(rep);
	text = text ? packet(&d.clients[i], id, text, &memfd, &err) : NULL;
	if (!text) {
		rep = error_doc(id, EMSGSIZE, err);
		text = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
		json_decref(rep);
		memfd = fd = -1;
	}
	ret = text ? wire_send(d.clients[i].fd, text, strlen(text), memfd, true)
		   : -ENOMEM;
	free(text);
	if (memfd != fd)
		close(memfd);
	if (ret) {
		drop(i, ret == -EAGAIN ? "does not read its replies: dropped"
				       : "gone before its reply");
		return false;
	}
	return true;
}

static json_t *error_doc(uint32_t id, int err, const char *msg)
{
	const char *code = strerrorname_np(err);

	return json_pack("{s:I,s:b,s:{s:i,s:s,s:s}}", "id", (json_int_t)id,
			 "ok", 0, "error", "errno", err, "code",
			 code ? code : "EIO", "message", msg);
}

/* The engine's remedy for the failure, for the client to word. */
static json_t *remedy_doc(json_t *doc)
{
	const char *arg, *name = xgm_remedy_name(xgm_last_remedy(&arg));
	json_t *e = json_object_get(doc, "error");

	if (name && e) {
		json_object_set_new(e, "remedy", json_string(name));
		json_object_set_new(e, "remedy_arg", json_string(arg));
	}
	return doc;
}

static bool reply_error(size_t i, uint32_t id, int err, const char *msg)
{
	return reply(i, id, error_doc(id, err, msg), -1);
}

/* ---- one request ------------------------------------------------------- */

static json_t *hello_result(const struct client *c)
{
	return json_pack("{s:i,s:s,s:I}", "version", (int)c->version,
			 "backend", xgm_backend_name(xgm_ctx_backend(d.ctx)),
			 "uid", (json_int_t)c->uid);
}

static bool handle(size_t i, const char *text, size_t len, int fd)
{
	struct client *c = &d.clients[i];
	struct proto_req r;
	char err[256];
	json_t *res = NULL;
	int ret, fd_out = -1;
	bool ok;

	ret = proto_parse(text, len, &r, err, sizeof(err));
	if (ret)
		return reply_error(i, r.id, -ret, err);
	if (!c->hello && r.op != OP_HELLO)
		return reply_error(i, r.id, EPROTO, "the first request must be "
				   "hello");
	if (proto_op_info(r.op)->takes_fd != (fd >= 0))
		return reply_error(i, r.id, EBADF, fd >= 0 ?
				   "this request takes no fd" :
				   "this request needs an fd (SCM_RIGHTS)");
	if (r.op == OP_HELLO) {
		if (r.version < XGM_PROTO_VERSION_MIN ||
		    r.version > XGM_PROTO_VERSION)
			return reply_error(i, r.id, EPROTONOSUPPORT, "this "
					   "daemon speaks protocols 1 and 2");
		c->hello = true;
		c->version = r.version;
		return reply(i, r.id, json_pack("{s:I,s:b,s:o}", "id",
				 (json_int_t)r.id, "ok", 1, "result",
				 hello_result(c)), -1);
	}
	xgm_clear_error();
	d.ctx->uid_set = true;
	d.ctx->uid = c->uid;
	ret = check_access(c, &r) ?: serve(d.ctx, &r, fd, &res, &fd_out);
	d.ctx->uid_set = false;
	if (ret) {
		const char *m = xgm_last_error();

		json_decref(res);
		if (proto_op_info(r.op)->scope != SCOPE_ANY)
			logf_("pid %d uid %u: %s: %s", (int)c->pid, c->uid,
			      proto_op_info(r.op)->name, *m ? m : strerror(-ret));
		return reply(i, r.id, remedy_doc(error_doc(r.id, -ret,
							    *m ? m : strerror(-ret))), -1);
	}
	ok = reply(i, r.id, json_pack("{s:I,s:b,s:o}", "id", (json_int_t)r.id,
				"ok", 1, "result", res ? res : json_null()),
		   fd_out);
	if (fd_out >= 0)
		close(fd_out);
	return ok;
}

static void readable(size_t i, short revents)
{
	size_t len;
	int fd, ret = wire_recv(d.clients[i].fd, d.buf, XGM_PROTO_MAX_MSG + 1,
				&len, &fd);

	/* A message of 0 bytes reads as the end: the hangup tells them apart. */
	if (ret == -ECONNRESET && !(revents & (POLLHUP | POLLRDHUP))) {
		reply_error(i, 0, EBADMSG, "an empty request");
		return;
	}
	if (ret == -ECONNRESET || ret == -ENOTCONN || ret == -EPIPE) {
		drop(i, "disconnected");
		return;
	}
	if (ret == -EMSGSIZE)
		reply_error(i, 0, EMSGSIZE, "a request has at most 65536 bytes: "
			    "dropped");
	else if (ret == -ETOOMANYREFS)
		reply_error(i, 0, ETOOMANYREFS, "at most one fd per request: "
			    "all closed");
	else if (ret)
		drop(i, strerror(-ret));
	else
		handle(i, d.buf, len, fd);
	if (fd >= 0)
		close(fd); /* the library took what it needed */
}

/* ---- connections ------------------------------------------------------- */

static void accept_one(void)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c;
	int fd = accept4(d.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    d.nr_clients == MAX_CLIENTS) {
		logf_("refused a connection: %s", d.nr_clients == MAX_CLIENTS ?
		      "too many clients" : "no peer credentials");
		close(fd);
		return;
	}
	if (cred.uid != 0 && !has_grants(cred.uid)) {
		char *t = json_dumps(error_doc(0, EACCES, "this daemon serves "
					       "root only (see --allow)"), 0);

		logf_("refused pid %d uid %u: not root and not allowed",
		      (int)cred.pid, cred.uid);
		if (t)
			wire_send(fd, t, strlen(t), -1, true);
		free(t);
		close(fd);
		return;
	}
	c = &d.clients[d.nr_clients++];
	*c = (struct client){ .fd = fd, .uid = cred.uid, .pid = cred.pid };
	logf_("client pid %d uid %u connected", (int)cred.pid, cred.uid);
}

/* systemd socket activation without libsystemd: fd 3 when LISTEN_PID is
 * this process and LISTEN_FDS is 1 (sd_listen_fds(3)). */
static int activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	int type;
	socklen_t len = sizeof(type);

	if (!pid || !n || strtol(pid, NULL, 10) != getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(n, "1") ||
	    getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_SEQPACKET) {
		logf_("LISTEN_FDS: expected one SOCK_SEQPACKET socket");
		exit(1);
	}
	return 3;
}

static int make_socket(const char *path, bool open_to_all)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		logf_("socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			logf_("cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	/* A socket nobody answers on is a dead daemon's: replace it. */
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
		close(probe);
		logf_("another daemon serves %s", path);
		return -1;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, open_to_all ? 0666 : 0600) || listen(fd, 64)) {
		logf_("cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("Usage: xgpumapd [--socket PATH] [-b sim|xen] [--sim-state PATH]\n"
	      "                [--allow UID:DOM[,DOM...]]... [--no-recover] [-v]...\n"
	      "\n"
	      "The xgpumap daemon: runs the mapping engine and serves\n"
	      "protocols 1 and 2 (man 7 xgpumapd) on a UNIX socket, in the\n"
	      "foreground, logging to stderr. SIGTERM or SIGINT: the request\n"
	      "in progress completes, then a clean exit, the socket removed.\n"
	      "\n"
	      "  -s, --socket PATH     the socket (default " XGM_DAEMON_SOCKET ")\n"
	      "  -b, --backend NAME    sim or xen (default: auto)\n"
	      "      --sim-state PATH  the simulated host's state file\n"
	      "  -a, --allow UID:DOMS  let non-root UID act on these domains\n"
	      "                        (comma-separated; repeatable)\n"
	      "      --no-recover      do not recover as it starts (what a\n"
	      "                        killed daemon left waits for 'recover')\n"
	      "  -v, --verbose         log the engine's steps; twice: every\n"
	      "                        hypercall with its time\n"
	      "  -h, --help            this text\n", f);
}

static int add_grants(const char *spec)
{
	char buf[512], *colon, *tok, *save, *end;
	unsigned long uid;

	snprintf(buf, sizeof(buf), "%s", spec);
	colon = strchr(buf, ':');
	if (!colon || colon == buf)
		return -1;
	*colon = '\0';
	uid = strtoul(buf, &end, 10);
	if (*end || uid == 0 || uid > UINT32_MAX)
		return -1;
	for (tok = strtok_r(colon + 1, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (d.nr_grants == MAX_GRANTS ||
		    strlen(tok) >= XGM_DOMAIN_NAME_MAX)
			return -1;
		d.grants[d.nr_grants].uid = (uid_t)uid;
		snprintf(d.grants[d.nr_grants++].dom, XGM_DOMAIN_NAME_MAX, "%s",
			 tok);
	}
	return 0;
}

/* Warnings always; -v adds the engine's informational lines, -vv its
 * debug lines (every hypercall with its time). */
static int verbosity;

static void print_log(enum xgm_log_level level, const char *msg, void *user)
{
	if (level == XGM_LOG_WARN || (level == XGM_LOG_INFO && verbosity >= 1) ||
	    (level == XGM_LOG_DEBUG && verbosity >= 2))
		logf_("%s", msg);
}

/* What a killed daemon (or command) left is recovered before the first
 * request: its interrupted operations finished or undone, its ioreq
 * servers destroyed (a guest would wait on them for ever), the blobs
 * whose buffer went with it unmapped, those whose buffer remains served
 * again. On a Xen host its buffers died with its files, and its ids can
 * never name ours (lib/xen/bufid.c). A recover that stops (an operation
 * that needs the admin's word) is logged, and the daemon serves, so that
 * the admin can give it. */
static void recover_at_start(void)
{
	json_t *report = NULL, *a, *v;
	const char *k;
	size_t i;

	if (xgm_recover(d.ctx, &report)) {
		logf_("recover at start stopped: %s", xgm_last_error());
		return;
	}
	json_array_foreach(report, i, a) {
		char line[512] = "";
		size_t off = 0;

		/* key=value ...; a line too long for the log is cut. */
		json_object_foreach(a, k, v) {
			char *t = json_is_string(v) ? NULL :
				  json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			const char *text = json_is_string(v) ? json_string_value(v) :
					   t ? t : "?";
			int n;

			if (off < sizeof(line)) {
				n = snprintf(line + off, sizeof(line) - off, "%s%s=%s",
					     off ? " " : "", k, text);
				off += n > 0 ? (size_t)n : 0;
			}
			free(t);
		}
		logf_("recover at start: %s", line);
	}
	logf_("recover at start: %zu action%s", json_array_size(report),
	      json_array_size(report) == 1 ? "" : "s");
	json_decref(report);
}

/* A guest waiting on one of our ioreq servers is answered before any
 * request: its vCPU is stopped until then. */
static void serve_guests(void)
{
	if (xgm__serve(d.ctx) < 0)
		logf_("ioreq server: %s", xgm_last_error());
}

static void loop(void)
{
	struct pollfd p[MAX_CLIENTS + 2];
	int serve_fd = xgm__serve_fd(d.ctx);
	sigset_t none;

	sigemptyset(&none);
	while (!d.stop) {
		size_t n = d.nr_clients;

		p[0] = (struct pollfd){ .fd = d.listen_fd, .events = POLLIN };
		for (size_t i = 0; i < n; i++)
			p[i + 1] = (struct pollfd){ .fd = d.clients[i].fd,
						    .events = POLLIN | POLLRDHUP };
		p[n + 1] = (struct pollfd){ .fd = serve_fd, .events = POLLIN };
		if (ppoll(p, n + 2, NULL, &none) < 0)
			continue; /* a signal: d.stop says which */
		if (p[n + 1].revents & POLLIN)
			serve_guests();
		/* From the last: drop() moves the last client into a gap. */
		for (size_t i = n; i-- > 0;)
			if (p[i + 1].revents)
				readable(i, p[i + 1].revents);
		if (p[0].revents & POLLIN)
			accept_one();
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "backend", required_argument, NULL, 'b' },
		{ "sim-state", required_argument, NULL, 'S' },
		{ "allow", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-recover", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	enum xgm_backend_kind be = XGM_BACKEND_AUTO;
	const char *sim_state = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	bool recover = true;
	sigset_t block;
	int c, ret;

	d.path = XGM_DAEMON_SOCKET;
	while ((c = getopt_long(argc, argv, "s:b:a:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbosity++;
			break;
		case 'R':
			recover = false;
			break;
		case 's':
			d.path = optarg;
			break;
		case 'b':
			if (xgm_backend_parse(optarg, &be)) {
				fprintf(stderr, "xgpumapd: -b: sim or xen, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'S':
			sim_state = optarg;
			break;
		case 'a':
			if (add_grants(optarg)) {
				fprintf(stderr, "xgpumapd: --allow: UID:DOM[,DOM...] "
					"with a non-zero UID, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xgpumapd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	xgm_set_print(print_log, NULL);
	{
		/* daemon = "": this context runs the engine, whatever
		 * XGPUMAP_DAEMON says. */
		XGM_OPTS(xgm_ctx_opts, o, .backend = be,
			 .access = XGM_ACCESS_WRITE, .sim_state = sim_state,
			 .daemon = "", .flags = XGM_CTX_SERVES);

		ret = xgm_ctx_open(&o, &d.ctx);
	}
	if (ret) {
		logf_("cannot open the %s backend: %s", xgm_backend_name(be),
		      *xgm_last_error() ? xgm_last_error() : strerror(-ret));
		return 1;
	}
	d.buf = malloc(XGM_PROTO_MAX_MSG + 1);
	d.listen_fd = activated_socket();
	d.activated = d.listen_fd >= 0;
	if (!d.activated)
		d.listen_fd = make_socket(d.path, d.nr_grants > 0);
	if (d.listen_fd < 0 || !d.buf) {
		xgm_ctx_close(d.ctx);
		return 1;
	}
	/* Only now: the socket is ours, so no other daemon serves this host. */
	if (recover)
		recover_at_start();
	/* Signals arrive only inside ppoll(), between requests. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	logf_("serving protocols %d and %d on %s (%s backend)%s",
	      XGM_PROTO_VERSION_MIN, XGM_PROTO_VERSION,
	      d.activated ? "the socket systemd passed" : d.path,
	      xgm_backend_name(xgm_ctx_backend(d.ctx)),
	      d.nr_grants ? ", with grants to non-root users" : "");
	loop();
	logf_("%s: exiting", strsignal(d.stop));
	while (d.nr_clients)
		drop(d.nr_clients - 1, "closed at exit");
	close(d.listen_fd);
	if (!d.activated)
		unlink(d.path);
	xgm_ctx_close(d.ctx);
	free(d.buf);
	return 0;
}
