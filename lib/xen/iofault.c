// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The blobs of one guest's window as the ioreq server's handler
 * (ioserv.h): every access is answered from the blob's current backing
 * through dom0's mapping of it, and a VRAM blob's 2 MiB chunk is mapped
 * into the guest on first touch, while the faulting vCPU waits. Xen then
 * sends later accesses to the frames, not to us: a mapped gfn takes
 * precedence over the ioreq range (notes/xen-ioreq.md).
 *
 * A migration is revoke (unmap what first touch mapped), copy, switch:
 * an access in between faults to the server, and the server is the one
 * doing the copy, so the vCPU waits until the new backing is in place.
 * The guest never reads all-ones or stale data.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"
#include "xen/ioserv.h"

#define PAGE_SHIFT 12
#define CHUNK_BYTES ((uint64_t)IOFAULT_CHUNK_PAGES << PAGE_SHIFT)
/* A blob no bigger than the largest window xgpumap plans (1 TiB). */
#define MAX_BLOB_PAGES (1ULL << 28)

enum chunk_state { UNMAPPED, MAPPED, SERVE_ONLY /* a map failed */ };

struct iofault_blob {
	uint64_t gfn, nr;
	uint8_t *va;
	uint64_t mfn;
	uint8_t *chunk;     /* enum chunk_state of each 2 MiB chunk */
	uint64_t nr_chunks;
};

struct iofault {
	uint32_t domid;
	iofault_map_fn map;
	iofault_pause_fn pause;
	void *map_arg;
	struct iofault_blob *b;
	size_t n;
	struct iofault_stats st;
};

int iofault_create(uint32_t domid, iofault_map_fn map, void *map_arg,
		   struct iofault **out)
{
	struct iofault *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->domid = domid;
	f->map = map;
	f->map_arg = map_arg;
	*out = f;
	return 0;
}

void iofault_set_pause(struct iofault *f, iofault_pause_fn pause)
{
	f->pause = pause;
}

void iofault_get_stats(const struct iofault *f, struct iofault_stats *out)
{
	*out = f->st;
}

static struct iofault_blob *blob_at(struct iofault *f, uint64_t gfn)
{
	for (size_t i = 0; i < f->n; i++)
		if (gfn >= f->b[i].gfn && gfn - f->b[i].gfn < f->b[i].nr)
			return &f->b[i];
	return NULL;
}

static struct iofault_blob *blob_exact(struct iofault *f, uint64_t gfn)
{
	struct iofault_blob *b = blob_at(f, gfn);

	if (!b || b->gfn != gfn) {
		xgm_fail(-ENOENT, "no served blob starts at gfn 0x%" PRIx64, gfn);
		return NULL;
	}
	return b;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Maps or unmaps nr frames, calling again after a partial result; *done
 * says how far it got. */
static int map_all(struct iofault *f, uint64_t gfn, uint64_t mfn, uint64_t nr,
		   bool add, uint64_t *done)
{
	*done = 0;
	while (*done < nr) {
		int ret = f->map(f->map_arg, f->domid, gfn + *done, mfn + *done,
				 nr - *done, add);

		if (ret <= 0)
			return ret ? ret : -EIO;
		*done += (uint64_t)ret;
	}
	return 0;
}

static uint64_t chunk_pages(const struct iofault_blob *b, uint64_t c)
{
	uint64_t left = b->nr - c * IOFAULT_CHUNK_PAGES;

	return left < IOFAULT_CHUNK_PAGES ? left : IOFAULT_CHUNK_PAGES;
}

static void fault_in(struct iofault *f, struct iofault_blob *b, uint64_t c)
{
	uint64_t off = c * IOFAULT_CHUNK_PAGES, t0, dt, done = 0, undone;
	int ret;

	if (b->mfn == IOFAULT_NO_MFN || b->chunk[c] != UNMAPPED)
		return;
	t0 = now_ns();
	ret = f->pause ? f->pause(f->map_arg, f->domid, true) : 0;
	if (!ret) {
		ret = map_all(f, b->gfn + off, b->mfn + off, chunk_pages(b, c),
			      true, &done);
		if (f->pause)
			f->pause(f->map_arg, f->domid, false);
	}
	dt = now_ns() - t0;
	if (ret) {
		/* Keep serving that chunk; what a partial add mapped is
		 * undone, so nothing stays mapped that we do not track. */
		xgm_warn("revoke-fault: mapping gfn 0x%" PRIx64 " of d%u on first "
			 "touch failed (%s); serving it instead", b->gfn + off,
			 f->domid, xgm_last_error());
		if (done && map_all(f, b->gfn + off, b->mfn + off, done, false,
				    &undone)) {
			/* Still mapped in part: revoke must try again. */
			b->chunk[c] = MAPPED;
			f->st.map_errors++;
			return;
		}
		b->chunk[c] = SERVE_ONLY;
		f->st.map_errors++;
		return;
	}
	b->chunk[c] = MAPPED;
	xgm_debug("revoke-fault: d%u gfn 0x%" PRIx64 "+%" PRIu64 " mapped on first "
		  "touch in %.1f us", f->domid, b->gfn + off, chunk_pages(b, c),
		  (double)dt / 1e3);
	f->st.first_touch_maps++;
	f->st.map_ns_total += dt;
	if (dt > f->st.map_ns_max)
		f->st.map_ns_max = dt;
}

/* One element, read or written with one access of its own size, so a
 * 64-bit guest load is one 64-bit load of the buffer. */
static void buf_access(uint8_t *p, unsigned int size, bool write, uint64_t *v)
{
	switch (size) {
	case 1:
		if (write)
			*(volatile uint8_t *)p = (uint8_t)*v;
		else
			*v = *(volatile uint8_t *)p;
		break;
	case 2:
		if (write)
			*(volatile uint16_t *)p = (uint16_t)*v;
		else
			*v = *(volatile uint16_t *)p;
		break;
	case 4:
		if (write)
			*(volatile uint32_t *)p = (uint32_t)*v;
		else
			*v = *(volatile uint32_t *)p;
		break;
	default:
		if (write)
			*(volatile uint64_t *)p = *v;
		else
			*v = *(volatile uint64_t *)p;
		break;
	}
}

int iofault_access(void *arg, uint64_t gpa, unsigned int size, bool write,
		   uint64_t *val)
{
	struct iofault *f = arg;
	struct iofault_blob *b = blob_at(f, gpa >> PAGE_SHIFT);
	uint64_t off;

	if (!b || (size != 1 && size != 2 && size != 4 && size != 8))
		return -ENOENT;
	off = gpa - (b->gfn << PAGE_SHIFT);
	/* An element sticking out of the blob is a gap as a whole. */
	if (size > (b->nr << PAGE_SHIFT) - off)
		return -ENOENT;
	if ((uintptr_t)(b->va + off) % size) {
		uint64_t v = write ? *val : 0;

		if (write)
			memcpy(b->va + off, &v, size);
		else
			memcpy(&v, b->va + off, size);
		*val = v;
	} else {
		buf_access(b->va + off, size, write, val);
	}
	f->st.served++;
	fault_in(f, b, off / CHUNK_BYTES);
	fault_in(f, b, (off + size - 1) / CHUNK_BYTES);
	return 0;
}

int iofault_add(struct iofault *f, uint64_t gfn, uint64_t nr, void *va,
		uint64_t mfn)
{
	struct iofault_blob *nb;

	if (!nr || nr > MAX_BLOB_PAGES || !va || gfn + nr < gfn ||
	    (mfn != IOFAULT_NO_MFN && mfn + nr < mfn))
		return xgm_fail(-EINVAL, "revoke-fault: bad blob at gfn 0x%" PRIx64
				" (%" PRIu64 " pages)", gfn, nr);
	for (size_t i = 0; i < f->n; i++)
		if (gfn < f->b[i].gfn + f->b[i].nr && f->b[i].gfn < gfn + nr)
			return xgm_fail(-EEXIST, "revoke-fault: gfn 0x%" PRIx64
					" overlaps the blob at 0x%" PRIx64, gfn,
					f->b[i].gfn);
	nb = realloc(f->b, (f->n + 1) * sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	f->b = nb;
	nb = &f->b[f->n];
	nb->nr_chunks = (nr + IOFAULT_CHUNK_PAGES - 1) / IOFAULT_CHUNK_PAGES;
	nb->chunk = calloc(nb->nr_chunks, 1);
	if (!nb->chunk)
		return -ENOMEM;
	nb->gfn = gfn;
	nb->nr = nr;
	nb->va = va;
	nb->mfn = mfn;
	f->n++;
	return 0;
}

static int revoke(struct iofault *f, struct iofault_blob *b)
{
	for (uint64_t c = 0; c < b->nr_chunks; c++) {
		uint64_t off = c * IOFAULT_CHUNK_PAGES, done;
		int ret;

		if (b->chunk[c] == SERVE_ONLY)
			b->chunk[c] = UNMAPPED;
		if (b->chunk[c] != MAPPED)
			continue;
		ret = map_all(f, b->gfn + off, b->mfn + off, chunk_pages(b, c),
			      false, &done);
		if (ret)
			return xgm_fail(ret, "revoke-fault: unmapping gfn 0x%" PRIx64
					" of d%u: %s", b->gfn + off, f->domid,
					xgm_last_error());
		b->chunk[c] = UNMAPPED;
		f->st.revokes++;
	}
	return 0;
}

int iofault_revoke(struct iofault *f, uint64_t gfn)
{
	struct iofault_blob *b = blob_exact(f, gfn);

	return b ? revoke(f, b) : -ENOENT;
}

int iofault_switch(struct iofault *f, uint64_t gfn, void *va, uint64_t mfn)
{
	struct iofault_blob *b = blob_exact(f, gfn);

	if (!b)
		return -ENOENT;
	if (!va || (mfn != IOFAULT_NO_MFN && mfn + b->nr < mfn))
		return xgm_fail(-EINVAL, "revoke-fault: bad backing for gfn 0x%"
				PRIx64, gfn);
	/* Still mapped chunks would keep the guest on the old frames. */
	for (uint64_t c = 0; c < b->nr_chunks; c++)
		if (b->chunk[c] == MAPPED)
			return xgm_fail(-EBUSY, "revoke-fault: gfn 0x%" PRIx64
					" is still mapped: revoke it first", gfn);
	memset(b->chunk, UNMAPPED, b->nr_chunks);
	b->va = va;
	b->mfn = mfn;
	return 0;
}

int iofault_remove(struct iofault *f, uint64_t gfn)
{
	struct iofault_blob *b = blob_exact(f, gfn);
	int ret;

	if (!b)
		return -ENOENT;
	ret = revoke(f, b);
	if (ret)
		return ret;
	free(b->chunk);
	*b = f->b[--f->n];
	return 0;
}

/* Revokes everything it can: a blob it cannot unmap is reported and left
 * to recover, which finds the mapping record. */
void iofault_destroy(struct iofault *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		if (revoke(f, &f->b[i]))
			xgm_warn("%s", xgm_last_error());
		free(f->b[i].chunk);
	}
	free(f->b);
	free(f);
}
