// SPDX-License-Identifier: GPL-2.0-only
/* bench [SCENARIO]: what each operation costs, and the naive way's cost, on
 * private sim hosts. --csv and --samples write the tables and the raw
 * moves to files, for a spreadsheet or a plot. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

/* Limits, as xgm_bench() enforces them, so one message says what is
 * allowed. */
#define BENCH_MAX_HOST 64
#define BENCH_MAX_REPEAT 100000

static void csv_field(FILE *f, json_t *v)
{
	const char *s = json_string_value(v);

	if (!v || json_is_null(v))
		return;
	if (!s) {
		char buf[64];

		fmt_value(COL_DEC, v, buf, sizeof(buf));
		fputs(buf, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* An object's scalars with dotted names ("attach.hypercalls"); arrays
 * (a histogram) stay in the -j document. */
static void flatten(json_t *o, const char *prefix, json_t *into)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		char name[128];

		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", k);
		if (json_is_object(v))
			flatten(v, name, into);
		else if (!json_is_array(v))
			json_object_set(into, name, v);
	}
}

/* One block per table: a header line whose first field is "table", then a
 * line per row; a blank line between blocks. */
static void csv_table(FILE *f, const char *table, json_t *rows)
{
	json_t *flat = json_array(), *cols = json_object(), *r, *v;
	const char *k;
	size_t i;

	json_array_foreach(rows, i, r) {
		json_t *one = json_object();

		flatten(r, "", one);
		json_object_foreach(one, k, v)
			json_object_set_new(cols, k, json_true());
		json_array_append_new(flat, one);
	}
	fputs("table", f);
	json_object_foreach(cols, k, v)
		fprintf(f, ",%s", k);
	fputc('\n', f);
	json_array_foreach(flat, i, r) {
		fputs(table, f);
		json_object_foreach(cols, k, v) {
			fputc(',', f);
			csv_field(f, json_object_get(r, k));
		}
		fputc('\n', f);
	}
	fputc('\n', f);
	json_decref(flat);
	json_decref(cols);
}

static void write_csv(FILE *f, json_t *doc)
{
	static const char *const tables[][2] = {
		{ "attach", "attach.rows" }, { "strategies", "strategies.rows" },
		{ "scale", "scale.rows" }, { "scale growth", "scale.growth" },
		{ "persist", "persist.rows" },
	};
	json_t *mig = json_object_get(doc, "migrate");

	for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++)
		if (json_path(doc, tables[i][1]))
			csv_table(f, tables[i][0], json_path(doc, tables[i][1]));
	if (mig) {
		json_t *rows = json_pack("[{s:s,s:O},{s:s,s:O}]",
			"way", "ours", "", json_object_get(mig, "ours"),
			"way", "naive", "", json_object_get(mig, "naive"));

		csv_table(f, "migrate", rows);
		json_decref(rows);
	}
}

static void write_samples(FILE *f, json_t *samples)
{
	json_t *s;
	size_t i;

	fputs("kind,move,blackout_us,total_us,modeled_blackout_us,"
	      "blackout_per_map\n", f);
	json_array_foreach(samples, i, s) {
		fprintf(f, "%s,%lld", json_string_value(json_object_get(s, "kind")),
			(long long)json_integer_value(json_object_get(s, "move")));
		fputc(',', f);
		csv_field(f, json_object_get(s, "blackout_us"));
		fputc(',', f);
		csv_field(f, json_object_get(s, "total_us"));
		fputc(',', f);
		csv_field(f, json_object_get(s, "modeled_blackout_us"));
		fputc(',', f);
		csv_field(f, json_object_get(s, "blackout_per_map"));
		fputc('\n', f);
	}
}

static int open_out(struct cli *cli, const char *opt, const char *file,
		    FILE **f)
{
	if (!*file)
		return cli_usage(cli, "bench: --%s needs a file name, not ''", opt);
	*f = fopen(file, "w");
	if (!*f)
		return cli_fail(cli, -errno, "bench: --%s: cannot write %s: %s",
				opt, file, strerror(errno));
	return 0;
}

static int close_out(struct cli *cli, FILE *f, const char *file)
{
	if (f && (fflush(f) || ferror(f) | fclose(f)))
		return cli_fail(cli, -EIO, "bench: cannot write %s", file);
	return 0;
}

static int parse_opt(struct cli *cli, const char *name, const char *arg,
		     struct xgm_bench_opts *o, const char **csv,
		     const char **samples)
{
	uint64_t v, max;

	if (!strcmp(name, "size")) {
		if (xgm_parse_size(arg, &o->size) || !o->size ||
		    o->size % 4096 || o->size > (16ULL << 30))
			return cli_usage(cli, "bench: --size must be a multiple "
					 "of 4K up to 16G, not '%s'", arg);
		return 0;
	}
	if (!strcmp(name, "dom0") || !strcmp(name, "iommu")) {
		enum xgm_dom_type t;
		enum xgm_iommu_vendor iv;

		if (!strcmp(name, "dom0") && (xgm_dom_type_parse(arg, &t) ||
					      t == XGM_DOM_HVM))
			return cli_usage(cli, "bench: --dom0 must be pv or pvh, "
					 "not '%s'", arg);
		if (!strcmp(name, "iommu") && xgm_iommu_vendor_parse(arg, &iv))
			return cli_usage(cli, "bench: --iommu must be intel or "
					 "amd, not '%s'", arg);
		*(!strcmp(name, "dom0") ? &o->dom0 : &o->iommu) = arg;
		return 0;
	}
	if (!strcmp(name, "csv") || !strcmp(name, "samples")) {
		*(!strcmp(name, "csv") ? csv : samples) = arg;
		return 0;
	}
	if (!strcmp(name, "seed")) {
		if (xgm_parse_frame(arg, &o->seed) || !o->seed)
			return cli_usage(cli, "bench: --seed must be a positive "
					 "number, not '%s'", arg);
		return 0;
	}
	max = !strcmp(name, "repeat") ? BENCH_MAX_REPEAT : BENCH_MAX_HOST;
	if (xgm_parse_frame(arg, &v) || !v || v > max)
		return cli_usage(cli, "bench: --%s must be 1..%llu, not '%s'",
				 name, (unsigned long long)max, arg);
	*(!strcmp(name, "repeat") ? &o->repeat :
	  !strcmp(name, "guests") ? &o->guests : &o->blobs) = (unsigned int)v;
	return 0;
}

/* The files are opened before the run, so a bad path fails at once, not
 * minutes later, and removed when the run fails. */
static void drop_out(FILE *f, const char *file)
{
	if (f) {
		fclose(f);
		unlink(file);
	}
}

static int write_files(struct cli *cli, json_t *out, FILE *fc, const char *csv,
		       FILE *fs, const char *samples)
{
	if (fc)
		write_csv(fc, out);
	if (fs) {
		write_samples(fs, json_path(out, "migrate.samples"));
		/* The samples are in the file; the document says where. */
		if (json_path(out, "migrate"))
			json_object_set_new(json_path(out, "migrate"), "samples",
					    json_string(samples));
	}
	if (close_out(cli, fc, csv)) {
		drop_out(fs, samples);
		return cli->error.status;
	}
	return close_out(cli, fs, samples);
}

int do_bench(struct cli *cli, const struct cmd *self, int argc, char **argv,
	     json_t **out)
{
	XGM_OPTS(xgm_bench_opts, opts);
	const char *csv = NULL, *samples = NULL;
	FILE *fc = NULL, *fs = NULL;
	struct opt_iter it;
	char **args;
	int idx, n, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0) {
		ret = parse_opt(cli, self->opts[idx].name, it.arg, &opts, &csv,
				&samples);
		if (ret)
			return ret;
	}
	if (idx == -2)
		return cli->error.status;
	n = opt_rest(&it, &args);
	if (n > 1)
		return cli_usage(cli, "bench: at most one SCENARIO");
	opts.scenario = n ? args[0] : NULL;
	opts.samples = samples != NULL;
	if (csv && (ret = open_out(cli, "csv", csv, &fc)))
		return ret;
	if (samples && (ret = open_out(cli, "samples", samples, &fs))) {
		drop_out(fc, csv);
		return ret;
	}
	progress_begin(cli);
	ret = xgm_bench(&opts, out);
	progress_end();
	if (ret) {
		drop_out(fc, csv);
		drop_out(fs, samples);
	}
	if (ret == -EINVAL)
		return cli_usage(cli, "%s", xgm_last_error());
	if (ret)
		return cli_fail_lib(cli, ret, "bench failed");
	return write_files(cli, *out, fc, csv, fs, samples);
}
