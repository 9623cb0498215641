// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The engine's store on xenstore. The engine's paths ("/xgpumap/...") live
 * under XS_ROOT, dom0's own directory, which no guest can read: records
 * name machine frames. Each operation runs in its own transaction and is
 * retried when xenstored reports a conflict (EAGAIN), so two xgpumap
 * processes never see half of the other's write.
 */
#include <stdlib.h>
#include <string.h>

#include "xen/xen.h"

#define XS_RETRIES 32
/* xenstored refuses messages over XENSTORE_PAYLOAD_MAX (path + value). */
#define XS_PAYLOAD 4096

static int full_path(const char *path, char *buf, size_t len)
{
	size_t n = path ? strlen(path) : 0;

	if (!n || strncmp(path, "/xgpumap", 8) ||
	    (path[8] != '\0' && path[8] != '/') || strstr(path, "//") ||
	    path[n - 1] == '/' || n + sizeof(XS_ROOT) > len)
		return xgm_fail(-EINVAL, "bad store path \"%.80s\" (xgpumap "
				"keeps its state under /xgpumap)", path ? path : "");
	snprintf(buf, len, XS_ROOT "%s", path);
	return 0;
}

/* Runs op inside a transaction until it commits. op returns 0 or -errno. */
static int in_transaction(struct xen_priv *p, int (*op)(struct xen_priv *,
			  xs_transaction_t, void *), void *arg, const char *what)
{
	for (int i = 0; i < XS_RETRIES; i++) {
		xs_transaction_t t = xs_transaction_start(p->xsh);
		int ret;

		if (t == XBT_NULL)
			return xgm_fail(-errno ?: -EIO, "xenstore: cannot start "
					"a transaction for %s: %s", what,
					strerror(errno));
		ret = op(p, t, arg);
		if (ret) {
			xs_transaction_end(p->xsh, t, true);
			return ret;
		}
		if (xs_transaction_end(p->xsh, t, false))
			return 0;
		if (errno != EAGAIN)
			return xgm_fail(-errno, "xenstore: %s: %s", what,
					strerror(errno));
	}
	return xgm_fail(-EAGAIN, "xenstore: %s kept conflicting with other "
			"writers (%d tries)", what, XS_RETRIES);
}

struct kv {
	const char *path;
	const char *value;
	char *out;
};

static int do_read(struct xen_priv *p, xs_transaction_t t, void *arg)
{
	struct kv *kv = arg;
	unsigned int len;
	char *v = xs_read(p->xsh, t, kv->path, &len);

	if (!v)
		return errno == ENOENT ? -ENOENT :
		       xgm_fail(-errno, "xenstore read %s: %s", kv->path,
				strerror(errno));
	free(kv->out);
	kv->out = v;
	return 0;
}

int xen_store_read(void *priv, const char *path, char **value)
{
	struct kv kv = { 0 };
	char full[3200];
	int ret = full_path(path, full, sizeof(full));

	if (ret)
		return ret;
	kv.path = full;
	/* A single read is atomic in xenstored; no transaction needed. */
	ret = do_read(priv, XBT_NULL, &kv);
	if (!ret)
		*value = kv.out;
	return ret;
}

static int do_write(struct xen_priv *p, xs_transaction_t t, void *arg)
{
	struct kv *kv = arg;

	if (!xs_write(p->xsh, t, kv->path, kv->value, strlen(kv->value)))
		return xgm_fail(-errno, "xenstore write %s: %s", kv->path,
				strerror(errno));
	return 0;
}

int xen_store_write(void *priv, const char *path, const char *value)
{
	struct kv kv = { .value = value };
	char full[3200];
	int ret = full_path(path, full, sizeof(full));

	if (ret)
		return ret;
	if (!value)
		return -EINVAL;
	if (strlen(full) + strlen(value) + 1 >= XS_PAYLOAD)
		return xgm_fail(-E2BIG, "xenstore: %zu bytes for %s exceed "
				"xenstore's %d-byte message", strlen(value), path,
				XS_PAYLOAD);
	kv.path = full;
	return in_transaction(priv, do_write, &kv, path);
}

static int do_rm(struct xen_priv *p, xs_transaction_t t, void *arg)
{
	struct kv *kv = arg;
	unsigned int len;
	char *v = xs_read(p->xsh, t, kv->path, &len);

	if (!v)
		return errno == ENOENT ? -ENOENT :
		       xgm_fail(-errno, "xenstore read %s: %s", kv->path,
				strerror(errno));
	free(v);
	if (!xs_rm(p->xsh, t, kv->path))
		return xgm_fail(-errno, "xenstore rm %s: %s", kv->path,
				strerror(errno));
	return 0;
}

int xen_store_rm(void *priv, const char *path)
{
	struct kv kv = { 0 };
	char full[3200];
	int ret = full_path(path, full, sizeof(full));

	if (ret)
		return ret;
	kv.path = full;
	return in_transaction(priv, do_rm, &kv, path);
}

int xen_store_list(void *priv, const char *dir, char ***names, size_t *count)
{
	struct xen_priv *p = priv;
	unsigned int n = 0;
	char full[3200], **l, **out;
	int ret = full_path(dir, full, sizeof(full));

	if (ret)
		return ret;
	l = xs_directory(p->xsh, XBT_NULL, full, &n);
	if (!l)
		return errno == ENOENT ? -ENOENT :
		       xgm_fail(-errno, "xenstore directory %s: %s", full,
				strerror(errno));
	if (!n) {
		free(l);
		return -ENOENT;
	}
	out = calloc(n + 1, sizeof(*out));
	for (unsigned int i = 0; out && i < n; i++) {
		out[i] = strdup(l[i]);
		if (!out[i]) {
			for (unsigned int k = 0; k < i; k++)
				free(out[k]);
			free(out);
			out = NULL;
		}
	}
	free(l);
	if (!out)
		return -ENOMEM;
	*names = out;
	*count = n;
	return 0;
}

static int do_setup(struct xen_priv *p, xs_transaction_t t, void *arg)
{
	/* dom0 owns both directories; nobody else may read them. */
	struct xs_permissions perm = { .id = 0, .perms = XS_PERM_NONE };
	static const char *const dirs[] = { XS_ROOT "/xgpumap", XS_HV_ROOT };

	for (size_t i = 0; i < 2; i++) {
		unsigned int len;
		char *v = xs_read(p->xsh, t, dirs[i], &len);

		if (v) {
			free(v);
			continue;
		}
		if (!xs_mkdir(p->xsh, t, dirs[i]) ||
		    !xs_set_permissions(p->xsh, t, dirs[i], &perm, 1))
			return xgm_fail(-errno, "xenstore: cannot create %s: %s",
					dirs[i], strerror(errno));
	}
	return 0;
}

int xen_store_setup(struct xen_priv *p)
{
	return in_transaction(p, do_setup, NULL, "setup");
}

struct publish {
	const char *path;
	const char *value;
	uint32_t domid;
};

static int do_publish(struct xen_priv *p, xs_transaction_t t, void *arg)
{
	struct publish *pb = arg;
	/* dom0 owns it (and may write); the guest may read; nobody else. */
	struct xs_permissions perms[2] = {
		{ .id = 0, .perms = XS_PERM_NONE },
		{ .id = pb->domid, .perms = XS_PERM_READ },
	};

	if (!pb->value) {
		if (!xs_rm(p->xsh, t, pb->path) && errno != ENOENT)
			return xgm_fail(-errno, "xenstore rm %s: %s", pb->path,
					strerror(errno));
		return 0;
	}
	if (!xs_write(p->xsh, t, pb->path, pb->value, strlen(pb->value)) ||
	    !xs_set_permissions(p->xsh, t, pb->path, perms, 2))
		return xgm_fail(-errno, "xenstore publish %s: %s", pb->path,
				strerror(errno));
	return 0;
}

int xen_guest_publish(void *priv, uint32_t domid, const char *key,
		      const char *value)
{
	char path[256];
	struct publish pb = { .path = path, .value = value, .domid = domid };

	if (!key || !*key || strchr(key, '/') || domid == 0)
		return xgm_fail(-EINVAL, "bad guest key \"%s\"", key ? key : "");
	snprintf(path, sizeof(path), "/local/domain/%u/device/xgpumap/%s", domid, key);
	return in_transaction(priv, do_publish, &pb, path);
}
