// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The host-wide lock of the xen backend: one engine operation at a time
 * writes, across every process of this dom0 (CLI commands, a VMM, the
 * daemon). Xen has no such lock of its own, and the engine's records in
 * xenstore are read, changed and written in several transactions, so
 * without it two attaches could take the same blob number.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xen/xen.h"

#define XEN_LOCK_DIR "/run/xgpumap"
#define XEN_LOCK_PATH XEN_LOCK_DIR "/host.lock"

static int open_lock(struct xen_priv *p)
{
	if (p->lock_fd >= 0)
		return 0;
	/* A minimal dom0 (an initramfs) may have no /run yet. */
	if (mkdir("/run", 0755) && errno != EEXIST)
		return xgm_fail(-errno, "cannot create /run: %s", strerror(errno));
	if (mkdir(XEN_LOCK_DIR, 0700) && errno != EEXIST)
		return xgm_fail(-errno, "cannot create %s: %s", XEN_LOCK_DIR,
				strerror(errno));
	p->lock_fd = open(XEN_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lock_fd < 0)
		return xgm_fail(-errno, "cannot open %s: %s", XEN_LOCK_PATH,
				strerror(errno));
	return 0;
}

int xen_begin(void *priv, bool write)
{
	struct xen_priv *p = priv;
	int ret = open_lock(p);

	if (ret)
		return ret;
	while (flock(p->lock_fd, write ? LOCK_EX : LOCK_SH))
		if (errno != EINTR)
			return xgm_fail(-errno, "cannot lock %s: %s",
					XEN_LOCK_PATH, strerror(errno));
	return 0;
}

/* Every Xen call and xenstore transaction is durable already. */
int xen_end(void *priv, bool write, bool ok)
{
	struct xen_priv *p = priv;

	if (p->lock_fd >= 0)
		flock(p->lock_fd, LOCK_UN);
	return 0;
}

void xen_lock_close(struct xen_priv *p)
{
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
}
