// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VMM's use of libxgpumap, as QEMU's virtio-gpu would on
 * RESOURCE_MAP_BLOB: one context for the VMM's life, blobs mapped at the
 * offsets the guest driver asked for, gfns read back through accessors,
 * a move learnt through the move callback, everything unmapped at the end.
 * It includes <xgpumap.h> only and links without jansson.
 *
 *   vmm-client DOMID SIM_STATE
 *
 * Between operations it sleeps a little, so that CLI commands run by a
 * test beside it get the host in between (tests/vmm/run.sh).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xgpumap.h>

#define NR_BLOBS 16
#define BLOB_SIZE (2ULL << 20)
#define STRIDE (64ULL << 20)   /* the offsets this "guest driver" picks */

static int moves_seen;
static struct xgm_move_event last_move;

static void on_move(const struct xgm_move_event *ev, void *user)
{
	(void)user;
	moves_seen++;
	last_move = *ev;
}

static void pause_a_little(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static int fail(const char *what, int ret)
{
	fprintf(stderr, "vmm-client: %s: %s (%s)\n", what, strerror(-ret),
		xgm_last_error());
	return 1;
}

int main(int argc, char **argv)
{
	struct xgm_blob *blob[NR_BLOBS] = { 0 };
	struct xgm_counters c;
	struct xgm_ctx *ctx;
	uint32_t domid;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: vmm-client DOMID SIM_STATE\n");
		return 2;
	}
	domid = (uint32_t)strtoul(argv[1], NULL, 10);
	{
		XGM_OPTS(xgm_ctx_opts, o, .backend = XGM_BACKEND_SIM,
			 .access = XGM_ACCESS_WRITE, .sim_state = argv[2],
			 .flags = XGM_CTX_NO_CREATE);

		ret = xgm_ctx_open(&o, &ctx);
		if (ret)
			return fail("xgm_ctx_open", ret);
	}
	xgm_ctx_set_move_callback(ctx, on_move, NULL);

	for (int i = 0; i < NR_BLOBS; i++) {
		XGM_OPTS(xgm_map_opts, o, .size = BLOB_SIZE,
			 .placement = XGM_PLACE_VRAM, .offset_set = true,
			 .offset = (uint64_t)i * STRIDE);

		ret = xgm_blob_map(ctx, domid, &o, &blob[i]);
		if (ret)
			return fail("xgm_blob_map", ret);
		if (xgm_blob_offset(blob[i]) != (uint64_t)i * STRIDE ||
		    xgm_blob_domid(blob[i]) != domid ||
		    xgm_blob_size(blob[i]) != BLOB_SIZE ||
		    xgm_blob_placement(blob[i]) != XGM_PLACE_VRAM) {
			fprintf(stderr, "vmm-client: blob %d is not where it was "
				"asked to be\n", i);
			return 1;
		}
		printf("mapped %" PRIu32 ":%" PRIu32 " offset 0x%" PRIx64
		       " gfn 0x%" PRIx64 " strategy %s entries 4K %" PRIu64
		       " 2M %" PRIu64 "\n", domid, xgm_blob_id(blob[i]),
		       xgm_blob_offset(blob[i]), xgm_blob_gfn(blob[i]),
		       xgm_strategy_name(xgm_blob_strategy(blob[i])),
		       xgm_blob_entries(blob[i], 0), xgm_blob_entries(blob[i], 9));
		pause_a_little();
	}
	/* Consecutive offsets STRIDE apart are consecutive gfns that far. */
	for (int i = 1; i < NR_BLOBS; i++) {
		if (xgm_blob_gfn(blob[i]) - xgm_blob_gfn(blob[i - 1]) != STRIDE / 4096) {
			fprintf(stderr, "vmm-client: gfns of blobs %d and %d are "
				"not %llu frames apart\n", i - 1, i,
				(unsigned long long)(STRIDE / 4096));
			return 1;
		}
	}

	{
		XGM_OPTS(xgm_move_opts, o, .to = XGM_PLACE_SYS);

		ret = xgm_blob_move(ctx, blob[3], &o);
		if (ret)
			return fail("xgm_blob_move", ret);
	}
	if (moves_seen != 1 || last_move.id != xgm_blob_id(blob[3]) ||
	    last_move.from != XGM_PLACE_VRAM || last_move.to != XGM_PLACE_SYS ||
	    last_move.gfn != xgm_blob_gfn(blob[3]) || last_move.evicted) {
		fprintf(stderr, "vmm-client: the move callback said %d moves, "
			"last of blob %" PRIu32 " %s -> %s\n", moves_seen,
			last_move.id, xgm_placement_name(last_move.from),
			xgm_placement_name(last_move.to));
		return 1;
	}
	xgm_blob_counters(blob[3], &c);
	printf("moved %" PRIu32 ":%" PRIu32 " to %s (%s): %" PRIu64
	       " hypercalls, %" PRIu64 " pages copied; told by the callback\n",
	       domid, xgm_blob_id(blob[3]),
	       xgm_placement_name(xgm_blob_placement(blob[3])),
	       xgm_strategy_name(xgm_blob_strategy(blob[3])), c.hypercalls,
	       c.pages_copied);
	pause_a_little();

	for (int i = 0; i < NR_BLOBS; i++) {
		ret = xgm_blob_unmap(ctx, blob[i]);
		if (ret)
			return fail("xgm_blob_unmap", ret);
		xgm_blob_free(blob[i]);
		pause_a_little();
	}
	xgm_ctx_close(ctx);
	printf("vmm-client: ok\n");
	return 0;
}
