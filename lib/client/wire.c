// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The wire of protocols 1 and 2 (man 7 xgpumapd), shared by the library's
 * remote context and the daemon: one message per SOCK_SEQPACKET packet, at
 * most one fd beside it (SCM_RIGHTS), a large reply in a sealed memfd
 * (protocol 2), and the typed objects replies carry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "core/buffer.h"
#include "core/handles.h"

int wire_send(int sock, const char *text, size_t len, int fd, bool nonblock)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL |
			    (nonblock ? MSG_DONTWAIT : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Keeps the first passed fd, closes the rest: says whether there were. */
static bool take_fds(struct msghdr *msg, int *fd)
{
	bool extra = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0) {
				*fd = f;
			} else {
				close(f);
				extra = true;
			}
		}
	}
	return extra;
}

int wire_recv(int sock, char *buf, size_t cap, size_t *len, int *fd)
{
	/* Room for a few fds, so a client that passes too many has them
	 * closed here, not left in the kernel's queue. */
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = cap - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
	};
	ssize_t n;
	bool extra;

	*fd = -1;
	*len = 0;
	do
		n = recvmsg(sock, &msg, MSG_TRUNC | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	extra = take_fds(&msg, fd);
	*len = (size_t)n;
	if (n == 0 && *fd < 0)
		return -ECONNRESET;
	if ((size_t)n > cap - 1 || (msg.msg_flags & MSG_TRUNC)) {
		buf[0] = '\0';
		return -EMSGSIZE;
	}
	buf[n] = '\0';
	if (extra || (msg.msg_flags & MSG_CTRUNC))
		return -ETOOMANYREFS;
	return 0;
}

/* ---- large replies ---------------------------------------------------- */

/* Sealed, so what the client reads is what the daemon wrote, however
 * long it takes to read it. */
#define LARGE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int wire_large_make(const char *text, size_t len)
{
	int fd = memfd_create("xgpumapd-reply",
			      MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t done = 0;
	int err;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n <= 0 && errno != EINTR)
			goto fail;
		if (n > 0)
			done += (size_t)n;
	}
	if (!fcntl(fd, F_ADD_SEALS, LARGE_SEALS))
		return fd;
fail:
	err = errno ? errno : EIO;
	close(fd);
	return -err;
}

int wire_large_read(int fd, size_t len, char **text)
{
	struct stat st;
	size_t done = 0;
	int seals = fcntl(fd, F_GET_SEALS);
	char *t;

	*text = NULL;
	if (len > XGM_PROTO_MAX_LARGE || fstat(fd, &st) ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != len || seals < 0 ||
	    (seals & LARGE_SEALS) != LARGE_SEALS)
		return -EPROTO;
	t = malloc(len + 1);
	if (!t)
		return -ENOMEM;
	while (done < len) {
		ssize_t n = pread(fd, t + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(t);
			return -EPROTO;
		}
		done += (size_t)n;
	}
	t[len] = '\0';
	*text = t;
	return 0;
}

/* ---- typed objects ---------------------------------------------------- */

/* uint64 fields travel as JSON integers; above INT64_MAX as their 64-bit
 * two's complement (jansson's integers are signed). */
#define U(x) ((json_int_t)(x))

json_t *wire_blob_to_json(const struct xgm_blob *b)
{
	const struct xgm_counters *c = &b->last;

	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:i,s:I,s:I,"
			 "s:[IIIIIIIIIII]}",
			 "domid", U(b->domid), "id", U(b->id), "gfn", U(b->gfn),
			 "window_gfn", U(b->window_gfn), "size", U(b->size),
			 "strategy", (int)b->strategy,
			 "placement", (int)b->placement, "cache", (int)b->cache,
			 "entries_4k", U(b->entries_4k),
			 "entries_2m", U(b->entries_2m), "counters",
			 U(c->hypercalls), U(c->p2m_entries), U(c->splits),
			 U(c->tlb_flushes), U(c->ipis), U(c->iommu_entries),
			 U(c->iotlb_flushes), U(c->pages_copied),
			 U(c->lock_acquisitions), U(c->ioreqs),
			 U(c->memory_type_changes));
}

int wire_blob_from_json(json_t *j, struct xgm_blob **out)
{
	struct xgm_blob *b = calloc(1, sizeof(*b));
	json_int_t v[21];
	int e[3];

	if (!b)
		return -ENOMEM;
	if (json_unpack(j, "{s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:i,s:I,s:I,"
			"s:[IIIIIIIIIII]}", "domid", &v[0], "id", &v[1],
			"gfn", &v[2], "window_gfn", &v[3], "size", &v[4],
			"strategy", &e[0], "placement", &e[1], "cache", &e[2],
			"entries_4k", &v[5], "entries_2m", &v[6], "counters",
			&v[10], &v[11], &v[12], &v[13], &v[14], &v[15], &v[16],
			&v[17], &v[18], &v[19], &v[20]) ||
	    e[0] < XGM_STRATEGY_AUTO || e[0] > XGM_STRATEGY_REVOKE_FAULT ||
	    (e[1] != XGM_PLACE_VRAM && e[1] != XGM_PLACE_SYS) ||
	    e[2] < XGM_CACHE_WC || e[2] > XGM_CACHE_WB) {
		free(b);
		return -EBADMSG;
	}
	b->domid = (uint32_t)v[0];
	b->id = (uint32_t)v[1];
	b->gfn = (uint64_t)v[2];
	b->window_gfn = (uint64_t)v[3];
	b->size = (uint64_t)v[4];
	b->strategy = (enum xgm_strategy)e[0];
	b->placement = (enum xgm_placement)e[1];
	b->cache = (enum xgm_cache)e[2];
	b->entries_4k = (uint64_t)v[5];
	b->entries_2m = (uint64_t)v[6];
	b->last = (struct xgm_counters){
		(uint64_t)v[10], (uint64_t)v[11], (uint64_t)v[12],
		(uint64_t)v[13], (uint64_t)v[14], (uint64_t)v[15],
		(uint64_t)v[16], (uint64_t)v[17], (uint64_t)v[18],
		(uint64_t)v[19], (uint64_t)v[20],
	};
	*out = b;
	return 0;
}

struct xgm_blob *wire_blob_ref(uint32_t domid, uint32_t id)
{
	struct xgm_blob *b = calloc(1, sizeof(*b));

	if (b) {
		b->domid = domid;
		b->id = id;
	}
	return b;
}

json_t *wire_buffer_to_json(const struct xgm_buffer *b)
{
	return json_pack("{s:I,s:s,s:I,s:s,s:I}", "id", U(b->id), "card",
			 b->card, "size", U(b->size), "placement",
			 xgm_placement_name(b->placement), "uid", U(b->uid));
}

int wire_buffer_from_json(json_t *j, struct xgm_buffer **out)
{
	struct xgm_buffer *b = calloc(1, sizeof(*b));
	const char *card, *place;
	json_int_t id, size, uid;

	if (!b)
		return -ENOMEM;
	if (json_unpack(j, "{s:I,s:s,s:I,s:s,s:I}", "id", &id, "card", &card,
			"size", &size, "placement", &place, "uid", &uid) ||
	    strlen(card) >= sizeof(b->card) ||
	    (strcmp(place, "vram") && strcmp(place, "sys"))) {
		free(b);
		return -EBADMSG;
	}
	b->id = (uint64_t)id;
	snprintf(b->card, sizeof(b->card), "%s", card);
	b->size = (uint64_t)size;
	b->placement = strcmp(place, "vram") ? XGM_PLACE_SYS : XGM_PLACE_VRAM;
	b->uid = (uint32_t)uid;
	*out = b;
	return 0;
}

json_t *wire_domain_to_json(const struct xgm_domain_info *d)
{
	return json_pack("{s:I,s:s,s:i,s:i,s:b,s:b,s:I,s:I,s:I,s:I,s:i}",
			 "domid", U(d->domid), "name", d->name,
			 "type", (int)d->type, "state", (int)d->state,
			 "is_dom0", d->is_dom0, "translated", d->translated,
			 "mem_bytes", U(d->mem_bytes),
			 "max_mem_bytes", U(d->max_mem_bytes),
			 "vcpus", U(d->vcpus), "max_gpfn", U(d->max_gpfn),
			 "iommu", (int)d->iommu);
}

int wire_domain_from_json(json_t *j, struct xgm_domain_info *d)
{
	json_int_t id, mem, max_mem, vcpus, max_gpfn;
	int type, state, iommu, dom0, tr;
	const char *name;

	if (json_unpack(j, "{s:I,s:s,s:i,s:i,s:b,s:b,s:I,s:I,s:I,s:I,s:i}",
			"domid", &id, "name", &name, "type", &type,
			"state", &state, "is_dom0", &dom0, "translated", &tr,
			"mem_bytes", &mem, "max_mem_bytes", &max_mem,
			"vcpus", &vcpus, "max_gpfn", &max_gpfn,
			"iommu", &iommu) ||
	    strlen(name) >= sizeof(d->name) || type < XGM_DOM_PV ||
	    type > XGM_DOM_HVM || state < XGM_DOM_RUNNING ||
	    state > XGM_DOM_SHUTDOWN || iommu < XGM_IOMMU_NONE ||
	    iommu > XGM_IOMMU_IDENTITY)
		return -EBADMSG;
	memset(d, 0, sizeof(*d));
	d->domid = (uint32_t)id;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->type = (enum xgm_dom_type)type;
	d->state = (enum xgm_dom_state)state;
	d->is_dom0 = dom0;
	d->translated = tr;
	d->mem_bytes = (uint64_t)mem;
	d->max_mem_bytes = (uint64_t)max_mem;
	d->vcpus = (uint32_t)vcpus;
	d->max_gpfn = (uint64_t)max_gpfn;
	d->iommu = (enum xgm_iommu_mode)iommu;
	return 0;
}
