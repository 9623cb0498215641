// SPDX-License-Identifier: LGPL-2.1-only
/*
 * bench scale and bench persist: hosts of 1..N guests x 1..M blobs built
 * one attach at a time, and at each size one of every operation timed.
 * scale says how each grows per blob, from the measured numbers; persist
 * what saving the state costs per operation against its size, and against
 * a whole-state rewrite per operation (the naive store).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "util/log.h"

#define SCALE_BLOB (2ULL << 20)
#define SCALE_REPS 3 /* the fastest of these, against the machine's noise */

enum { OP_ATTACH, OP_SHOW, OP_LIST, OP_CHECK, OP_DUMP, OP_MIGRATE, OP_DETACH,
       OP_ATTACH_ALL, NR_OPS };

static const char *const op_names[NR_OPS] = {
	"attach", "show", "list", "check", "dump", "migrate", "detach",
	"attach_all_per_blob",
};

static bool op_writes(int op)
{
	return op == OP_ATTACH || op == OP_MIGRATE || op == OP_DETACH;
}

static int one_op(struct xgm_ctx *ctx, int op, json_t **blob)
{
	XGM_OPTS(xgm_migrate_opts, mo, .to = "vram");
	const char *id = *blob ? bench_blob_id(*blob) : "";
	json_t *doc = NULL;
	int ret;

	switch (op) {
	case OP_ATTACH:
		return bench_attach(ctx, "g1", SCALE_BLOB, "vram", "mmio",
				    false, 0, blob);
	case OP_SHOW:
		ret = xgm_blob_show(ctx, id, &doc);
		break;
	case OP_LIST:
		ret = xgm_blob_list(ctx, NULL, &doc);
		break;
	case OP_CHECK:
		ret = xgm_check(ctx, NULL, &doc);
		break;
	case OP_DUMP:
		ret = xgm_dump(ctx, &doc);
		break;
	case OP_MIGRATE:
		ret = xgm_blob_migrate(ctx, id, &mo, &doc);
		break;
	default:
		ret = xgm_blob_detach(ctx, id, &doc);
		break;
	}
	json_decref(doc);
	return ret;
}

/*
 * The naive store: the whole state written out after a write, as the JSON
 * state file of xgpumap before state version 4 was (every domain's p2m,
 * every buffer and record in one document, to a new file, fsync'd), here
 * as the dump of the host beside its state.
 */
static int rewrite_whole(struct xgm_ctx *ctx, const char *state)
{
	char path[600];
	json_t *doc = NULL;
	FILE *fp;
	int ret = xgm_dump(ctx, &doc);

	snprintf(path, sizeof(path), "%s.whole", state);
	fp = ret ? NULL : fopen(path, "we");
	if (!ret && !fp)
		ret = -errno;
	if (fp) {
		if (json_dumpf(doc, fp, JSON_COMPACT) || fflush(fp) ||
		    fsync(fileno(fp)))
			ret = -EIO;
		fclose(fp);
		unlink(path);
	}
	json_decref(doc);
	return ret;
}

/* One of each operation on a new blob of g1, which the last detaches:
 * the host is as before. us[op] is the fastest of reps; whole_state (the
 * state's path) rewrites the whole state after every write (the naive
 * store). */
static int run_ops(struct xgm_ctx *ctx, unsigned int reps,
		   const char *whole_state, double us[NR_OPS])
{
	int ret = 0;

	for (int op = 0; op < OP_ATTACH_ALL; op++)
		us[op] = INFINITY;
	for (unsigned int r = 0; !ret && r < reps; r++) {
		json_t *blob = NULL;

		for (int op = 0; !ret && op < OP_ATTACH_ALL; op++) {
			double t0 = bench_now_us();

			ret = one_op(ctx, op, &blob);
			if (!ret && whole_state && op_writes(op))
				ret = rewrite_whole(ctx, whole_state);
			us[op] = fmin(us[op], bench_now_us() - t0);
		}
		json_decref(blob);
	}
	return ret;
}

/* Attaches blobs until each of ng guests has m; adds the time to *us. */
static int grow(struct xgm_ctx *ctx, unsigned int ng, unsigned int have,
		unsigned int m, double *us)
{
	int ret = 0;

	for (unsigned int k = have; !ret && k < m; k++)
		for (unsigned int i = 0; !ret && i < ng; i++) {
			json_t *blob = NULL;
			char dom[16];
			double t0 = bench_now_us();

			snprintf(dom, sizeof(dom), "g%u", i + 1);
			ret = bench_attach(ctx, dom, SCALE_BLOB, "vram", "mmio",
					   false, 0, &blob);
			*us += bench_now_us() - t0;
			json_decref(blob);
		}
	return ret;
}

static json_int_t state_bytes(const struct bench *b)
{
	struct stat st;

	return stat(b->path, &st) ? -1 : (json_int_t)st.st_size;
}

static json_t *ops_object(const double us[NR_OPS], int last)
{
	json_t *o = json_object();

	for (int op = 0; op < last; op++)
		json_object_set_new(o, op_names[op], bench_us(fmax(us[op], 0)));
	return o;
}

/* The powers of two from 1 to max, then max. */
static size_t steps(unsigned int max, unsigned int out[8])
{
	size_t n = 0;

	for (unsigned int v = 1; v < max && n < 7; v *= 2)
		out[n++] = v;
	out[n++] = max;
	return n;
}

/* The same operations with one context per operation, as the CLI runs
 * them (each loads and saves the state); back to the saving-nothing
 * context afterwards, the host as before. */
static int run_ops_per_op(struct bench *b, struct xgm_ctx **ctx,
			  double us[NR_OPS])
{
	int ret = xgm_ctx_commit(*ctx);

	if (!ret)
		ret = bench_reopen(b, ctx, 0);
	if (!ret)
		ret = run_ops(*ctx, 1, NULL, us);
	return ret ?: bench_reopen(b, ctx, XGM_CTX_NO_SYNC);
}

/* The size fields of one point's row (a new object). */
static json_t *point_row(const struct bench *b, unsigned int g, unsigned int m)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "guests", (json_int_t)g,
			 "blobs_per_guest", (json_int_t)m,
			 "blobs", (json_int_t)g * m, "state_bytes", state_bytes(b));
}

/* One point of scale: the engine alone (the build's context, which saves
 * nothing) and then one operation per context as a CLI runs it, whose
 * difference is the simulator's persistence. */
static int scale_point(struct bench *b, struct xgm_ctx **ctx, unsigned int g,
		       unsigned int m, double build_us, json_t *rows)
{
	double eng[NR_OPS], full[NR_OPS], pers[NR_OPS];
	int ret = run_ops(*ctx, SCALE_REPS, NULL, eng);

	json_t *row;

	eng[OP_ATTACH_ALL] = build_us / (g * m);
	if (!ret)
		ret = run_ops_per_op(b, ctx, full);
	if (ret)
		return ret;
	for (int op = 0; op < OP_ATTACH_ALL; op++)
		pers[op] = full[op] - eng[op];
	row = point_row(b, g, m);
	json_object_set_new(row, "measured_us", ops_object(eng, NR_OPS));
	json_object_set_new(row, "persistence_us", ops_object(pers, OP_ATTACH_ALL));
	json_array_append_new(rows, row);
	return 0;
}

/* From the measured times of the series at the most guests, its fewest
 * blobs, about half its most and its most: constant (within 1.5x or
 * 100 us, a single measurement's noise), linear, or faster than linear
 * (from half the most blobs to the most, time grows as blobs^p with p
 * above 1.2: a fixed cost or a linear term keeps p at or below 1, a
 * quadratic one takes it towards 2). attach-all is judged on its total. */
static json_t *growth(json_t *rows, unsigned int guests, const char *op)
{
	json_t *lo = NULL, *mid = NULL, *hi = NULL, *r;
	bool total = !strcmp(op, "attach_all_per_blob");
	double b0, b1, b2, t0, t1, t2, p;
	const char *verdict;
	size_t i;

	json_array_foreach(rows, i, r) {
		if (bench_num(r, "guests") != guests)
			continue;
		lo = lo ? lo : r;
		hi = r;
	}
	json_array_foreach(rows, i, r)
		if (bench_num(r, "guests") == guests &&
		    bench_num(r, "blobs") * 2 <= bench_num(hi, "blobs"))
			mid = r;
	mid = mid ? mid : lo;
	b0 = bench_num(lo, "blobs");
	b1 = bench_num(mid, "blobs");
	b2 = bench_num(hi, "blobs");
	t0 = bench_num(json_object_get(lo, "measured_us"), op);
	t1 = bench_num(json_object_get(mid, "measured_us"), op);
	t2 = bench_num(json_object_get(hi, "measured_us"), op);
	if (total) {
		t0 *= b0;
		t1 *= b1;
		t2 *= b2;
	}
	p = b2 > b1 && t1 > 0 && t2 > 0 ? log(t2 / t1) / log(b2 / b1) : 0;
	if (b2 <= b0)
		verdict = "one size only";
	else if (!total && (t2 < 1.5 * t0 || t2 - t0 < 100))
		verdict = "constant";
	else if (p > 1.2)
		verdict = "grows faster than linear";
	else
		verdict = "linear";
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s}",
		"op", total ? "attach_all" : op,
		"exponent", json_real(round(p * 100) / 100),
		"most_vs_1x1", bench_ratio(t2, bench_num(json_object_get(
			json_array_get(rows, 0), "measured_us"), op)),
		"fewest_blobs", json_integer((json_int_t)b0),
		"fewest_us", bench_us(t0),
		"most_blobs", json_integer((json_int_t)b2),
		"most_us", bench_us(t2),
		"per_blob_us", bench_us(b2 > b0 ? (t2 - t0) / (b2 - b0) : 0),
		"verdict", verdict);
}

int bench_scn_scale(struct bench *b, json_t *out)
{
	unsigned int gs[8], ms[8];
	size_t ng = steps(b->o.guests, gs), nm = steps(b->o.blobs, ms);
	json_t *rows = json_array(), *grows = json_array();
	int ret = 0;

	for (size_t i = 0; !ret && i < ng; i++) {
		struct xgm_ctx *ctx = NULL;
		double build = 0;

		ret = bench_host(b, gs[i], XGM_CTX_NO_SYNC, &ctx);
		for (size_t j = 0; !ret && j < nm; j++) {
			xgm_progress("bench scale", i * nm + j, ng * nm);
			ret = grow(ctx, gs[i], j ? ms[j - 1] : 0, ms[j], &build);
			if (!ret)
				ret = scale_point(b, &ctx, gs[i], ms[j], build, rows);
		}
		if (ctx)
			bench_drop(b, ctx);
	}
	for (int op = 0; !ret && op < NR_OPS; op++)
		json_array_append_new(grows, growth(rows, b->o.guests, op_names[op]));
	if (ret) {
		json_decref(rows);
		json_decref(grows);
		return ret;
	}
	json_object_set_new(out, "scale", json_pack("{s:I,s:I,s:I,s:s,s:o,s:o}",
		"guests", (json_int_t)b->o.guests,
		"blobs_per_guest", (json_int_t)b->o.blobs,
		"blob_size", (json_int_t)SCALE_BLOB,
		"baseline", "the host of one guest with one blob; growth: the "
			    "series of the most guests",
		"rows", rows, "growth", grows));
	return 0;
}

/* One point of persist: ours (one context per operation, as a CLI runs)
 * and a whole-state rewrite after every write, each less the engine's own
 * time, for the writing operations. */
static int persist_point(struct bench *b, struct xgm_ctx **ctx,
			 unsigned int g, unsigned int m, json_t *rows)
{
	double eng[NR_OPS], naive[NR_OPS], full[NR_OPS];
	json_t *row;
	int ret = run_ops(*ctx, 1, NULL, eng) ?:
		  run_ops(*ctx, 1, b->path, naive);

	if (!ret)
		ret = run_ops_per_op(b, ctx, full);
	if (ret)
		return ret;
	row = point_row(b, g, m);
	for (int op = 0; op < OP_ATTACH_ALL; op++) {
		double ours = full[op] - eng[op], nv = naive[op] - eng[op];

		if (!op_writes(op))
			continue;
		json_object_set_new(row, op_names[op], json_pack("{s:o,s:o,s:o}",
			"ours_us", bench_us(fmax(ours, 0)),
			"naive_us", bench_us(fmax(nv, 0)),
			"ours_vs_naive", bench_ratio(fmax(ours, 0), fmax(nv, 0))));
	}
	json_object_set_new(row, "load_us", bench_us(fmax(full[OP_SHOW] -
							  eng[OP_SHOW], 0)));
	json_array_append_new(rows, row);
	return 0;
}

int bench_scn_persist(struct bench *b, json_t *out)
{
	unsigned int ms[8];
	size_t nm = steps(b->o.blobs, ms);
	json_t *rows = json_array();
	struct xgm_ctx *ctx = NULL;
	double build = 0;
	int ret = bench_host(b, b->o.guests, XGM_CTX_NO_SYNC, &ctx);

	for (size_t j = 0; !ret && j < nm; j++) {
		xgm_progress("bench persist", j, nm);
		ret = grow(ctx, b->o.guests, j ? ms[j - 1] : 0, ms[j], &build);
		if (!ret)
			ret = persist_point(b, &ctx, b->o.guests, ms[j], rows);
	}
	if (ctx)
		bench_drop(b, ctx);
	if (ret) {
		json_decref(rows);
		return ret;
	}
	json_object_set_new(out, "persist", json_pack("{s:I,s:I,s:s,s:s,s:o}",
		"guests", (json_int_t)b->o.guests,
		"blobs_per_guest", (json_int_t)b->o.blobs,
		"ours", "one context per operation, as the CLI runs: load, run, "
			"save what the store saves",
		"naive", "the whole state rewritten after every writing operation "
			 "(its dump, to a new file, fsync'd: what the JSON state "
			 "of xgpumap before state version 4 did)",
		"rows", rows));
	return 0;
}
