// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The helper that keeps xgpumap's DRM file open between commands.
 *
 * Why a process: a dumb buffer (and the framebuffer that pins it) dies
 * with the last reference to the DRM file it was created on; the scanout
 * cannot keep it either (closing the file removes its framebuffers). A
 * process that holds the file and hands it out over a root-only unix
 * socket (SCM_RIGHTS) keeps buffers alive across commands, and every
 * client works on the very same file, so handles, framebuffer ids and
 * DRM master are shared.
 *
 * It is forked from the library by the first xgpumap that needs a card
 * (no separate binary to install or find), double-forked so it is
 * nobody's child, and does nothing but accept and send: no allocation,
 * no state. Killing it frees every buffer xgpumap made on that card.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "util/log.h"
#include "drm/drm.h"

#define GPUD_DIR "/run/xgpumap"

static int sock_path(const char *card, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path),
			     GPUD_DIR "/gpud-%s.sock", card) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

/* Receives the DRM file from a running helper. */
static int receive(const struct sockaddr_un *sa, int *fd)
{
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;

	if (s < 0)
		return -errno;
	if (connect(s, (const struct sockaddr *)sa, sizeof(*sa))) {
		ret = -errno;
		close(s);
		return ret;
	}
	ret = (int)recvmsg(s, &m, MSG_CMSG_CLOEXEC);
	close(s);
	c = CMSG_FIRSTHDR(&m);
	if (ret != 1 || !c || c->cmsg_level != SOL_SOCKET ||
	    c->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

/* The helper's whole life: hand the file to root clients. Only system
 * calls here: this runs in a fork of a possibly threaded process. */
static void __attribute__((noreturn)) serve(int lsock, int dfd)
{
	int null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	/* Out of the way first: either may already sit on 3 or 4. */
	lsock = fcntl(lsock, F_DUPFD, 100);
	dfd = fcntl(dfd, F_DUPFD, 100);
	if (lsock < 0 || dfd < 0 || dup2(lsock, 3) < 0 || dup2(dfd, 4) < 0)
		_exit(1);
	fcntl(3, F_SETFD, 0);
	fcntl(4, F_SETFD, 0);
	for (int i = 5; i < 1024; i++)
		close(i);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (;;) {
		char byte = 0, cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &byte, 1 };
		struct msghdr m = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct cmsghdr *c;
		int one = 4, conn = accept(3, NULL, NULL);

		if (conn < 0)
			continue;
		if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
		    cred.uid != 0) {
			close(conn);
			continue;
		}
		memset(cbuf, 0, sizeof(cbuf));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &one, sizeof(int));
		sendmsg(conn, &m, MSG_NOSIGNAL);
		close(conn);
	}
}

/* Opens the card, binds the socket and forks the helper; the caller keeps
 * its own reference to the same open file. */
static int spawn(const char *card, const struct sockaddr_un *sa, int *fd)
{
	char dev[64];
	pid_t pid;
	int dfd, ls, ret;

	snprintf(dev, sizeof(dev), "/dev/dri/%s", card);
	dfd = open(dev, O_RDWR | O_CLOEXEC);
	if (dfd < 0)
		return xgm_fail(-errno, "cannot open %s: %s", dev, strerror(errno));
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0) {
		ret = -errno;
		goto fail;
	}
	unlink(sa->sun_path);
	if (bind(ls, (const struct sockaddr *)sa, sizeof(*sa)) ||
	    chmod(sa->sun_path, 0600) || listen(ls, 8)) {
		ret = xgm_fail(-errno, "cannot listen on %s: %s", sa->sun_path,
			       strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto fail;
	}
	if (pid == 0) {
		setsid();
		if (fork() == 0)
			serve(ls, dfd);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	close(ls);
	*fd = dfd;
	xgm_debug("started the GPU helper for %s (%s)", card, sa->sun_path);
	return 0;
fail:
	if (ls >= 0)
		close(ls);
	close(dfd);
	return ret;
}

int drm_gpud_fd(const char *card, bool spawn_it, int *fd)
{
	struct sockaddr_un sa;
	char lock[96];
	int lfd, ret;

	if (sock_path(card, &sa))
		return xgm_fail(-EINVAL, "bad card name '%s'", card);
	ret = receive(&sa, fd);
	if (!ret || !spawn_it)
		return ret ? -ENOENT : 0;
	/* One spawner at a time; the loser finds the winner's helper. */
	if (mkdir(GPUD_DIR, 0700) && errno != EEXIST)
		return xgm_fail(-errno, "cannot create " GPUD_DIR ": %s",
				strerror(errno));
	snprintf(lock, sizeof(lock), GPUD_DIR "/gpud-%s.lock", card);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0)
		return xgm_fail(-errno, "cannot open %s: %s", lock, strerror(errno));
	flock(lfd, LOCK_EX);
	ret = receive(&sa, fd);
	if (ret)
		ret = spawn(card, &sa, fd);
	close(lfd);
	return ret;
}
