// SPDX-License-Identifier: GPL-2.0-only
/*
 * The text of each command, for a person at a terminal: summaries where
 * the document is long (a 1 GiB buffer on a PV dom0 has 262144 backing
 * extents), a column spec per list, sizes and times in human units, frame
 * numbers in hex, and a sentence where a result is empty. -j prints the
 * whole document instead; nothing here changes it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define LABEL_W 10
/* Rows of a long table shown in text: a screen, not 262144 lines. */
#define MAX_ROWS 16

static uint64_t uint_of(json_t *o, const char *path)
{
	json_t *v = json_path(o, path);

	return json_is_integer(v) && json_integer_value(v) > 0 ?
	       (uint64_t)json_integer_value(v) : 0;
}

static const char *str_of(json_t *o, const char *path)
{
	const char *s = json_string_value(json_path(o, path));

	return s ? s : "-";
}

static const char *size_str(uint64_t bytes, char *buf, size_t len)
{
	fmt_size(bytes, buf, len);
	return buf;
}

static const char *us_str(json_t *v, char *buf, size_t len)
{
	if (!json_is_number(v))
		snprintf(buf, len, "-");
	else
		fmt_us(json_number_value(v), buf, len);
	return buf;
}

/* ---- blobs ------------------------------------------------------------- */

/* The counters of a blob's operations as one table, a column per
 * operation and a row per counter that any of them moved. */
static const struct {
	const char *key, *label;
	enum col_fmt fmt;
} op_rows[] = {
	{ "hypercalls", "hypercalls", COL_DEC },
	{ "p2m_entries", "p2m entries", COL_DEC },
	{ "splits", "splits", COL_DEC },
	{ "tlb_flushes", "TLB flushes", COL_DEC },
	{ "ipis", "IPIs", COL_DEC },
	{ "iommu_entries", "IOMMU entries", COL_DEC },
	{ "iotlb_flushes", "IOTLB flushes", COL_DEC },
	{ "pages_copied", "pages copied", COL_DEC },
	{ "lock_acquisitions", "lock acquisitions", COL_DEC },
	{ "ioreqs", "ioreqs", COL_DEC },
	{ "measured_us", "measured", COL_US },
	{ "modeled_us", "modeled", COL_US },
	{ "blackout_us", "blackout (measured)", COL_US },
};

static void render_ops_table(json_t *ops, FILE *f, int ind, const char *skip)
{
	enum { MAX_OPS = 8 };
	struct col cols[MAX_OPS + 2];
	char heads[MAX_OPS][32];
	const char *name;
	json_t *rows = json_array(), *op;
	size_t n = 0;

	cols[n++] = (struct col){ "label", "COUNTER", COL_TEXT };
	json_object_foreach(ops, name, op) {
		if (n > MAX_OPS)
			break;
		for (size_t i = 0; name[i] && i < sizeof(heads[0]) - 1; i++)
			heads[n - 1][i] = (char)(name[i] >= 'a' && name[i] <= 'z' ?
						 name[i] - 32 : name[i]);
		heads[n - 1][strlen(name) < 31 ? strlen(name) : 31] = '\0';
		cols[n] = (struct col){ name, heads[n - 1], COL_DEC };
		n++;
	}
	cols[n] = (struct col){ 0 };
	for (size_t r = 0; r < sizeof(op_rows) / sizeof(*op_rows); r++) {
		json_t *row;
		bool any = false;

		if (skip && !strcmp(skip, op_rows[r].key))
			continue;
		row = json_pack("{s:s}", "label", op_rows[r].label);

		for (size_t c = 1; c < n; c++) {
			json_t *v = json_object_get(json_object_get(ops, cols[c].key),
						    op_rows[r].key);
			char buf[64];

			if (json_is_number(v) && json_number_value(v) != 0)
				any = true;
			if (op_rows[r].fmt == COL_US) {
				us_str(v, buf, sizeof(buf));
				json_object_set_new(row, cols[c].key, json_string(buf));
			} else {
				json_object_set(row, cols[c].key, v ? v : json_null());
			}
		}
		if (any)
			json_array_append_new(rows, row);
		else
			json_decref(row);
	}
	/* Times are strings now: right-align them like numbers. */
	for (size_t c = 1; c < n; c++)
		cols[c].fmt = COL_DEC;
	if (json_array_size(rows))
		render_cols(cols, rows, f, ind);
	json_decref(rows);
}

/* The backing: a few extents in full, many as a summary. */
static void render_backing(json_t *ext, FILE *f)
{
	size_t n = json_array_size(ext), i;
	uint64_t frames = 0;
	json_t *e;
	char line[512];
	size_t off = 0;

	json_array_foreach(ext, i, e)
		frames += uint_of(e, "nr");
	if (!n) {
		render_line(f, "backing", LABEL_W, "none");
		return;
	}
	if (n <= 4) {
		json_array_foreach(ext, i, e) {
			uint64_t m = uint_of(e, "mfn"), nr = uint_of(e, "nr");

			off += (size_t)snprintf(line + off, sizeof(line) - off,
						"%smfn 0x%" PRIx64 "-0x%" PRIx64, i ? ", " : "",
						m, m + nr - 1);
		}
		render_line(f, "backing", LABEL_W, "%s", line);
		return;
	}
	render_line(f, "backing", LABEL_W, "%zu extents, %" PRIu64 " frames: first mfn "
		    "0x%" PRIx64 ", last mfn 0x%" PRIx64 " (-j for all)", n, frames,
		    uint_of(json_array_get(ext, 0), "mfn"),
		    uint_of(json_array_get(ext, n - 1), "mfn") +
		    uint_of(json_array_get(ext, n - 1), "nr") - 1);
}

static void entries_text(json_t *e, char *buf, size_t len)
{
	uint64_t o9 = uint_of(e, "order9"), o0 = uint_of(e, "order0");

	if (o9 && o0)
		snprintf(buf, len, "%" PRIu64 " x 2M + %" PRIu64 " x 4K", o9, o0);
	else if (o9)
		snprintf(buf, len, "%" PRIu64 " x 2M", o9);
	else
		snprintf(buf, len, "%" PRIu64 " x 4K", o0);
}

/* skip: a counter the caller shows on its own line. */
static void render_blob_fields(json_t *b, FILE *f, const char *skip)
{
	char sz[32], ent[64], plan[64];
	const char *label = str_of(b, "label");

	if (*label)
		render_line(f, "id", LABEL_W, "%s (%s), domain %s (domid %" PRIu64 ")",
			    str_of(b, "id"), label, str_of(b, "domain"), uint_of(b, "domid"));
	else
		render_line(f, "id", LABEL_W, "%s, domain %s (domid %" PRIu64 ")",
			    str_of(b, "id"), str_of(b, "domain"), uint_of(b, "domid"));
	render_line(f, "size", LABEL_W, "%s, %" PRIu64 " frames",
		    size_str(uint_of(b, "size"), sz, sizeof(sz)), uint_of(b, "frames"));
	if (json_object_get(b, "buffer"))
		render_line(f, "placement", LABEL_W, "%s on %s, buffer %s (its "
			    "creator's: it outlives the blob)", str_of(b, "placement"),
			    str_of(b, "card"), str_of(b, "buffer"));
	else
		render_line(f, "placement", LABEL_W, "%s on %s", str_of(b, "placement"),
			    str_of(b, "card"));
	render_line(f, "strategy", LABEL_W, "%s (%s), cache %s", str_of(b, "strategy"),
		    !strcmp(str_of(b, "strategy_choice"), "auto") ? "chosen by auto"
		    : "fixed by the user", str_of(b, "cache"));
	render_line(f, "gfn", LABEL_W, "0x%" PRIx64 "-0x%" PRIx64, uint_of(b, "gfn"),
		    uint_of(b, "gfn_last"));
	if (json_is_true(json_object_get(b, "pinned")))
		render_line(f, "state", LABEL_W, "%s, generation %" PRIu64 ", pinned: %s",
			    str_of(b, "state"), uint_of(b, "generation"),
			    str_of(b, "pin_reason"));
	else
		render_line(f, "state", LABEL_W, "%s, generation %" PRIu64 ", not pinned",
			    str_of(b, "state"), uint_of(b, "generation"));
	if (json_object_get(b, "entries")) {
		entries_text(json_object_get(b, "entries"), ent, sizeof(ent));
		entries_text(json_object_get(b, "planned_entries"), plan, sizeof(plan));
		render_line(f, "entries", LABEL_W, "%s (planned %s in %" PRIu64
			    " hypercall%s)", ent, plan, uint_of(b, "planned_hypercalls"),
			    uint_of(b, "planned_hypercalls") == 1 ? "" : "s");
	}
	if (json_is_true(json_object_get(b, "filled")))
		render_line(f, "filled", LABEL_W, "yes (fill %" PRIu64 ")",
			    uint_of(b, "fill_id"));
	else
		render_line(f, "filled", LABEL_W, "no");
	render_backing(json_object_get(b, "backing"), f);
	if (json_object_size(json_object_get(b, "ops"))) {
		fputs("ops:\n", f);
		render_ops_table(json_object_get(b, "ops"), f, 2, skip);
	}
}

static void render_blob(struct cli *cli, json_t *out, FILE *f)
{
	render_blob_fields(out, f, NULL);
}

/* min, p50, ... max; of one sample, the sample. */
static void distribution_text(json_t *d, bool one, char *buf, size_t len)
{
	static const char *const keys[] = { "min", "p50", "p90", "p99", "max" };
	size_t off = 0;

	if (!json_is_object(d) || one) {
		us_str(json_is_object(d) ? json_object_get(d, "p50") : d, buf, len);
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		char t[32];

		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s %s",
					i ? ", " : "", keys[i],
					us_str(json_object_get(d, keys[i]), t, sizeof(t)));
	}
}

static void render_migrate(struct cli *cli, json_t *out, FILE *f)
{
	char buf[256];

	render_blob_fields(out, f, "blackout_us");
	bool one = uint_of(out, "migrations") == 1;

	render_line(f, "migrations", LABEL_W, "%" PRIu64, uint_of(out, "migrations"));
	distribution_text(json_object_get(out, "blackout_us"), one, buf, sizeof(buf));
	render_line(f, "blackout", LABEL_W, "%s (measured)", buf);
	distribution_text(json_object_get(out, "total_us"), one, buf, sizeof(buf));
	render_line(f, "total", LABEL_W, "%s (measured)", buf);
	if (json_is_true(json_object_get(out, "paused")))
		render_line(f, "paused", LABEL_W, "yes");
}

static const struct col list_cols[] = {
	{ "id", "ID", COL_TEXT },
	{ "size", "SIZE", COL_SIZE },
	{ "placement", "PLACEMENT", COL_TEXT },
	{ "strategy", "STRATEGY", COL_TEXT },
	{ "gfn", "GFN", COL_HEX },
	{ "gfn_last", "GFN_LAST", COL_HEX },
	{ "state", "STATE", COL_TEXT },
	{ "filled", "FILLED", COL_YESNO },
	{ "label", "LABEL", COL_TEXT },
	{ 0 }
};

static void render_list(struct cli *cli, json_t *out, FILE *f)
{
	render_rows(list_cols, out, f, "no blobs");
}

static const struct col detach_cols[] = {
	{ "id", "ID", COL_TEXT },
	{ "gfn", "GFN", COL_HEX },
	{ "frames", "FRAMES", COL_DEC },
	{ "ops.hypercalls", "HYPERCALLS", COL_DEC },
	{ "ops.p2m_entries", "P2M_ENTRIES", COL_DEC },
	{ "ops.tlb_flushes", "FLUSHES", COL_DEC },
	{ "ops.measured_us", "MEASURED", COL_US },
	{ "ops.modeled_us", "MODELED", COL_US },
	{ 0 }
};

static void render_detach(struct cli *cli, json_t *out, FILE *f)
{
	json_t *rows = out;

	if (json_is_array(out) && !json_array_size(out)) {
		fputs("no blobs to detach\n", f);
		return;
	}
	if (json_is_object(out))
		rows = json_pack("[O]", out);
	render_cols(detach_cols, rows, f, 0);
	if (rows != out)
		json_decref(rows);
}

static const struct col fill_cols[] = {
	{ "id", "id", COL_TEXT },
	{ "pages", "pages", COL_DEC },
	{ "fill_id", "fill", COL_DEC },
	{ "first_tag", "first tag", COL_HEX },
	{ "generation", "generation", COL_DEC },
	{ "bad_pages", "bad pages", COL_DEC },
	{ "first_bad_page", "first bad", COL_DEC },
	{ "result", "result", COL_TEXT },
	{ 0 }
};

static void render_fill(struct cli *cli, json_t *out, FILE *f)
{
	json_t *c = json_deep_copy(out);

	/* -1 says "none" in JSON; text says nothing. */
	if (json_integer_value(json_object_get(c, "first_bad_page")) < 0)
		json_object_del(c, "first_bad_page");
	render_fields(fill_cols, c, f, 0);
	json_decref(c);
}

/* gpu alloc and gpu free: one buffer, in the units people read. */
static const struct col buffer_cols[] = {
	{ "buffer", "buffer", COL_TEXT },
	{ "size", "size", COL_SIZE },
	{ "placement", "placement", COL_TEXT },
	{ "freed", "freed", COL_YESNO },
	{ 0 }
};

static void render_buffer(struct cli *cli, json_t *out, FILE *f)
{
	render_fields(buffer_cols, out, f, 0);
}

/* ---- domains ------------------------------------------------------------ */

static const struct col domain_list_cols[] = {
	{ "domid", "DOMID", COL_DEC },
	{ "name", "NAME", COL_TEXT },
	{ "type", "TYPE", COL_TEXT },
	{ "state", "STATE", COL_TEXT },
	{ "mem_bytes", "MEM", COL_SIZE },
	{ "vcpus", "VCPUS", COL_DEC },
	{ "dom0", "DOM0", COL_YESNO },
	{ 0 }
};

static void render_domain_list(struct cli *cli, json_t *out, FILE *f)
{
	render_cols(domain_list_cols, out, f, 0);
}

static const struct col domain_cols[] = {
	{ "domid", "domid", COL_DEC },
	{ "name", "name", COL_TEXT },
	{ "type", "type", COL_TEXT },
	{ "state", "state", COL_TEXT },
	{ "crash_reason", "crashed", COL_TEXT },
	{ "dom0", "dom0", COL_YESNO },
	{ "translated", "translated", COL_YESNO },
	{ "mem_bytes", "mem", COL_SIZE },
	{ "max_mem_bytes", "max_mem", COL_SIZE },
	{ "vcpus", "vcpus", COL_DEC },
	{ "max_gpfn", "max_gpfn", COL_HEX },
	{ "iommu", "iommu", COL_TEXT },
	{ 0 }
};

static void render_domain_show(struct cli *cli, json_t *out, FILE *f)
{
	static const struct col window_col[] = {
		{ "blob_window", "blob_window", COL_TEXT },
		{ 0 }
	};
	struct col cols[sizeof(domain_cols) / sizeof(*domain_cols) + 1];
	json_t *c = json_deep_copy(out), *w = json_object_get(out, "blob_window");
	char sz[32];

	memcpy(cols, domain_cols, sizeof(domain_cols));
	cols[sizeof(domain_cols) / sizeof(*domain_cols) - 1] = window_col[0];
	cols[sizeof(domain_cols) / sizeof(*domain_cols)] = window_col[1];
	if (json_is_object(w))
		json_object_set_new(c, "blob_window", json_sprintf("gfn 0x%" PRIx64
			"-0x%" PRIx64 " (%s)", uint_of(w, "gfn"), uint_of(w, "gfn_last"),
			size_str(uint_of(w, "bytes"), sz, sizeof(sz))));
	else if (w)
		json_object_set_new(c, "blob_window", json_string("not placed yet "
				    "(the first attach places it)"));
	render_fields(cols, c, f, 0);
	json_decref(c);
}

/* ---- the simulated host ------------------------------------------------- */

static const struct col sim_gpu_cols[] = {
	{ "name", "CARD", COL_TEXT },
	{ "vram_bytes", "VRAM", COL_SIZE },
	{ "free_bytes", "FREE", COL_SIZE },
	{ "vram_base_mfn", "BASE_MFN", COL_HEX },
	{ "buffers", "BUFFERS", COL_DEC },
	{ 0 }
};

static const struct col sim_dom_cols[] = {
	{ "domid", "DOMID", COL_DEC },
	{ "name", "NAME", COL_TEXT },
	{ "type", "TYPE", COL_TEXT },
	{ "state", "STATE", COL_TEXT },
	{ "mem_bytes", "MEM", COL_SIZE },
	{ "max_mem_bytes", "MAX_MEM", COL_SIZE },
	{ "vcpus", "VCPUS", COL_DEC },
	{ "iommu", "IOMMU", COL_TEXT },
	{ "max_gpfn", "MAX_GPFN", COL_HEX },
	{ "p2m_leaves", "P2M_LEAVES", COL_DEC },
	{ "orphaned_pages", "ORPHANED", COL_DEC, true },
	{ "grants", "GRANTS", COL_DEC, true },
	{ 0 }
};

static void render_sim_topology(json_t *out, FILE *f)
{
	json_t *h = json_object_get(out, "host");
	char ram[32], xen[32];

	render_line(f, "backend", 7, "%s, state %s", str_of(out, "backend"),
		    str_of(out, "state"));
	render_line(f, "host", 7, "%s dom0, %s IOMMU, %" PRIu64 "-bit addresses, "
		    "seed %" PRIu64, str_of(h, "dom0_type"), str_of(h, "iommu"),
		    uint_of(h, "paddr_bits"), uint_of(h, "seed"));
	{
		json_t *ext = json_object_get(h, "extensions"), *e;
		char list[128] = "";
		size_t i, len = 0;

		json_array_foreach(ext, i, e)
			len += (size_t)snprintf(list + len, len < sizeof(list) ?
						sizeof(list) - len : 0, "%s%s",
						i ? ", " : "", json_string_value(e));
		/* Stock Xen unless the host was made with extensions. */
		render_line(f, "xen", 7, "%s, %s%s%s", str_of(h, "xen_version"),
			    json_array_size(ext) ? "with " : "stock (no extensions)",
			    list, json_array_size(ext) ? " (NOT IN STOCK XEN)" : "");
	}
	render_line(f, "memory", 7, "%s RAM, %s of it kept by Xen",
		    size_str(uint_of(h, "ram_bytes"), ram, sizeof(ram)),
		    size_str(uint_of(h, "xen_reserved_bytes"), xen, sizeof(xen)));
	render_line(f, "grants", 7, "%" PRIu64 " entries in dom0's table "
		    "(gnttab_max_frames %" PRIu64 ")",
		    uint_of(h, "gnttab_max_frames") * 512,
		    uint_of(h, "gnttab_max_frames"));
	fputs("gpus:\n", f);
	render_cols(sim_gpu_cols, json_object_get(out, "gpus"), f, 2);
	fputs("domains:\n", f);
	render_cols(sim_dom_cols, json_object_get(out, "domains"), f, 2);
}

static void render_sim_init(struct cli *cli, json_t *out, FILE *f)
{
	render_sim_topology(out, f);
}

/* Counters: a row per counter that moved, a column per scope. */
static void render_sim_counters(json_t *c, FILE *f)
{
	enum { MAX_SCOPES = 12 };
	json_t *scopes = json_object(), *per = json_object_get(c, "per_domain");
	struct col cols[MAX_SCOPES + 2];
	json_t *rows = json_array(), *v;
	const char *name;
	size_t n = 0;

	json_object_set(scopes, "TOTAL", json_object_get(c, "total"));
	json_object_set(scopes, "HOST", json_object_get(c, "host"));
	json_object_foreach(per, name, v)
		if (json_object_size(scopes) < MAX_SCOPES)
			json_object_set(scopes, name, v);
	cols[n++] = (struct col){ "label", "COUNTER", COL_TEXT };
	json_object_foreach(scopes, name, v)
		cols[n++] = (struct col){ name, name, COL_DEC };
	cols[n] = (struct col){ 0 };
	for (size_t r = 0; r < sizeof(op_rows) / sizeof(*op_rows); r++) {
		const char *key = !strcmp(op_rows[r].key, "modeled_us") ? "modeled_ns"
				  : op_rows[r].key;
		json_t *row, *tv = json_object_get(json_object_get(c, "total"), key);

		if (!json_is_number(tv) || !json_number_value(tv))
			continue;
		row = json_pack("{s:s}", "label", op_rows[r].label);
		json_object_foreach(scopes, name, v) {
			json_t *x = json_object_get(v, key);
			char buf[32];

			if (!strcmp(key, "modeled_ns")) {
				fmt_us(json_number_value(x) / 1e3, buf, sizeof(buf));
				json_object_set_new(row, name, json_string(buf));
			} else {
				json_object_set(row, name, x ? x : json_null());
			}
		}
		json_array_append_new(rows, row);
	}
	if (json_array_size(rows)) {
		fputs("counters (modeled time from the cost model):\n", f);
		render_cols(cols, rows, f, 2);
	} else {
		fputs("counters: all zero\n", f);
	}
	json_decref(rows);
	json_decref(scopes);
}

static const struct col cost_cols[] = {
	{ "counter", "COUNTER", COL_TEXT },
	{ "ns", "NS", COL_DEC },
	{ 0 }
};

static void render_sim_show(struct cli *cli, json_t *out, FILE *f)
{
	render_sim_topology(out, f);
	render_sim_counters(json_object_get(out, "counters"), f);
	fputs("cost model (modeled ns per unit; -j for the sources):\n", f);
	render_cols(cost_cols, json_path(out, "cost_model.per_unit"), f, 2);
}

static const struct col read_cols[] = {
	{ "gfn", "GFN", COL_HEX },
	{ "gfn_last", "GFN_LAST", COL_HEX },
	{ "reads", "READS", COL_TEXT },
	{ "tag_domid", "DOMID", COL_DEC, .hide_absent = true },
	{ "tag_blob", "BLOB", COL_DEC, .hide_absent = true },
	{ "tag_fill", "FILL", COL_DEC, .hide_absent = true },
	{ "tag_page", "FIRST_PAGE", COL_DEC, .hide_absent = true },
	{ 0 }
};

static void render_guest_read(struct cli *cli, json_t *out, FILE *f)
{
	json_t *runs = json_object_get(out, "runs");
	const char *res = json_string_value(json_object_get(out, "result"));

	render_line(f, "domain", 6, "%s", str_of(out, "domain"));
	render_line(f, "gfn", 6, "0x%" PRIx64 "-0x%" PRIx64, uint_of(out, "gfn"),
		    uint_of(out, "gfn_last"));
	render_cols_max(read_cols, runs, f, 0, MAX_ROWS, "runs");
	if (!res)
		return;
	if (!strcmp(res, "ok"))
		render_line(f, "expect", 6, "%s: ok, all %" PRIu64 " pages read its "
			    "last fill", str_of(out, "expect"), uint_of(out, "pages_checked"));
	else
		render_line(f, "expect", 6, "%s: mismatch: %s", str_of(out, "expect"),
			    str_of(out, "reason"));
}

/* ---- p2m, iommu --------------------------------------------------------- */

static const struct col p2m_cols[] = {
	{ "gfn", "GFN", COL_HEX },
	{ "gfn_last", "GFN_LAST", COL_HEX },
	{ "mfn", "MFN", COL_HEX },
	{ "order", "ORDER", COL_DEC },
	{ "entries", "ENTRIES", COL_DEC },
	{ "type", "TYPE", COL_TEXT },
	{ "access", "ACCESS", COL_TEXT },
	{ "emt", "EMT", COL_TEXT },
	{ "ipat", "IPAT", COL_YESNO },
	{ "source", "SOURCE", COL_TEXT },
	{ 0 }
};

static void render_p2m(struct cli *cli, json_t *out, FILE *f)
{
	size_t i;
	json_t *e;

	if (!json_array_size(out)) {
		fputs("no p2m entries in this range\n", f);
		return;
	}
	if (json_is_string(json_array_get(out, 0))) {
		/* --format xen: the lines themselves */
		json_array_foreach(out, i, e) {
			fput_escaped(json_string_value(e), f);
			fputc('\n', f);
		}
		return;
	}
	render_cols_max(p2m_cols, out, f, 0, MAX_ROWS, "runs");
}

static const struct col iommu_cols[] = {
	{ "dfn", "DFN", COL_HEX },
	{ "dfn_last", "DFN_LAST", COL_HEX },
	{ "mfn", "MFN", COL_HEX },
	{ "order", "ORDER", COL_DEC },
	{ "entries", "ENTRIES", COL_DEC },
	{ "access", "ACCESS", COL_TEXT },
	{ 0 }
};

static void render_iommu(struct cli *cli, json_t *out, FILE *f)
{
	json_t *runs = json_object_get(out, "runs");

	render_line(f, "domain", 6, "%s (domid %" PRIu64 ")", str_of(out, "domain"),
		    uint_of(out, "domid"));
	render_line(f, "mode", 6, "%s", str_of(out, "mode"));
	if (json_object_get(out, "note"))
		render_line(f, "note", 6, "%s", str_of(out, "note"));
	if (json_is_array(runs) && json_array_size(runs))
		render_cols_max(iommu_cols, runs, f, 0, MAX_ROWS, "runs");
	else if (json_is_array(runs))
		fputs("no IOMMU entries in this range\n", f);
}

/* ---- bench -------------------------------------------------------------- */

/* Rows with a "not_run" reason, as sentences after their table. */
static void render_not_run(json_t *rows, FILE *f)
{
	char sz[32];
	json_t *r;
	size_t i;

	json_array_foreach(rows, i, r)
		if (json_object_get(r, "failed"))
			fprintf(f, "  %s failed: %s\n", str_of(r, "strategy"),
				str_of(r, "failed"));
		else if (json_object_get(r, "not_run")) {
			if (json_object_get(r, "size"))
				fprintf(f, "  %s at %s not run: %s\n", str_of(r, "strategy"),
					size_str(uint_of(r, "size"), sz, sizeof(sz)),
					str_of(r, "not_run"));
			else
				fprintf(f, "  %s not run: %s\n", str_of(r, "strategy"),
					str_of(r, "not_run"));
		}
}

/* The rows that ran, each with its entries as text under "_entries". */
static json_t *ran_rows(json_t *rows, const char *ours, const char *naive)
{
	json_t *res = json_array(), *r;
	size_t i;

	json_array_foreach(rows, i, r) {
		char a[64], b[64];
		json_t *c;

		if (json_object_get(r, "not_run"))
			continue;
		c = json_copy(r);
		entries_text(json_path(r, ours), a, sizeof(a));
		entries_text(json_path(r, naive), b, sizeof(b));
		json_object_set_new(c, "_entries", json_string(a));
		json_object_set_new(c, "_naive_entries", json_string(b));
		json_array_append_new(res, c);
	}
	return res;
}

static void render_bench_attach(json_t *a, FILE *f)
{
	static const struct col cols[] = {
		{ "strategy", "STRATEGY", COL_TEXT },
		{ "size", "SIZE", COL_SIZE },
		{ "_entries", "ENTRIES", COL_TEXT },
		{ "_naive_entries", "NAIVE", COL_TEXT },
		{ "ours.hypercalls", "CALLS", COL_DEC },
		{ "naive.hypercalls", "NAIVE", COL_DEC },
		{ "ours.modeled_us", "MODELLED", COL_US },
		{ "naive.modeled_us", "NAIVE", COL_US },
		{ "ours_vs_naive.modeled_us", "RATIO", COL_RATIO },
		{ "ours_vs_naive.measured_us", "MEASURED", COL_RATIO },
		{ 0 }
	};
	json_t *rows = ran_rows(json_object_get(a, "rows"), "ours.entries",
				"naive.entries");

	fputs("attach: each strategy on its own backing (VRAM: mmio, revoke-fault,\n"
	      "ioreq; system RAM: the others), ours (the planner's gfn) against\n"
	      "naive (gfn one frame off: not congruent modulo 2 MiB);\n"
	      "RATIO ours/naive of the modelled time, MEASURED of the measured\n", f);
	render_cols(cols, rows, f, 2);
	render_not_run(json_object_get(a, "rows"), f);
	json_decref(rows);
}

/* One migrate row: a distribution's five numbers as text cells. */
static json_t *dist_row(const char *what, json_t *d, bool ratio)
{
	static const char *const keys[] = { "min", "p50", "p90", "p99", "max" };
	json_t *row = json_pack("{s:s}", "what", what);

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		char t[32];

		if (ratio)
			fmt_value(COL_RATIO, json_object_get(d, keys[i]), t, sizeof(t));
		else
			us_str(json_object_get(d, keys[i]), t, sizeof(t));
		json_object_set_new(row, keys[i], json_string(t));
	}
	return row;
}

static void render_histogram(json_t *h, FILE *f)
{
	uint64_t most = 1;
	json_t *b;
	size_t i;

	json_array_foreach(h, i, b)
		most = uint_of(b, "count") > most ? uint_of(b, "count") : most;
	json_array_foreach(h, i, b) {
		char lo[32], hi[32];
		int bar = (int)(uint_of(b, "count") * 40 / most);

		fprintf(f, "  %10s - %-10s %-40.*s %" PRIu64 "\n",
			us_str(json_object_get(b, "from_us"), lo, sizeof(lo)),
			us_str(json_object_get(b, "to_us"), hi, sizeof(hi)), bar,
			"########################################", uint_of(b, "count"));
	}
}

static void render_bench_migrate(json_t *m, FILE *f)
{
	static const struct col cols[] = {
		{ "what", "", COL_TEXT },
		{ "min", "MIN", COL_DEC },
		{ "p50", "P50", COL_DEC },
		{ "p90", "P90", COL_DEC },
		{ "p99", "P99", COL_DEC },
		{ "max", "MAX", COL_DEC },
		{ 0 }
	};
	json_t *o = json_object_get(m, "ours"), *n = json_object_get(m, "naive");
	json_t *rows = json_array();
	char sz[32], a[32], b[32], c[32], mm[32], me[32];

	json_array_append_new(rows, dist_row("ours blackout, measured",
					     json_object_get(o, "blackout_us"), false));
	json_array_append_new(rows, dist_row("ours blackout, modelled",
					     json_object_get(o, "modeled_blackout_us"), false));
	json_array_append_new(rows, dist_row("ours blackout/one map, modelled",
					     json_object_get(o, "modeled_blackout_per_map"), true));
	json_array_append_new(rows, dist_row("ours total, measured",
					     json_object_get(o, "total_us"), false));
	json_array_append_new(rows, dist_row("naive blackout, measured",
					     json_object_get(n, "blackout_us"), false));
	json_array_append_new(rows, dist_row("naive blackout, modelled",
					     json_object_get(n, "modeled_blackout_us"), false));
	json_array_append_new(rows, dist_row("naive blackout/one map, modelled",
					     json_object_get(n, "modeled_blackout_per_map"), true));
	fprintf(f, "migrate: %" PRIu64 " moves of %s (mmio, within VRAM), ours\n"
		"copy-then-switch against naive unmap-copy-map (its blackout has the copy)\n",
		uint_of(m, "moves"), size_str(uint_of(m, "size"), sz, sizeof(sz)));
	render_cols(cols, rows, f, 2);
	fmt_value(COL_RATIO, json_path(m, "ours_vs_naive_p50.blackout_us"), a, sizeof(a));
	fmt_value(COL_RATIO, json_path(m, "ours_vs_naive_p50.modeled_blackout_us"), b, sizeof(b));
	fmt_value(COL_RATIO, json_path(m, "ours_vs_naive_p50.total_us"), c, sizeof(c));
	fprintf(f, "  ours/naive at p50: blackout %s measured, %s modelled; total %s\n",
		a, b, c);
	fprintf(f, "  one map: %s modelled, %s measured\n",
		us_str(json_path(m, "one_map.modeled_us"), mm, sizeof(mm)),
		us_str(json_path(m, "one_map.measured_us"), me, sizeof(me)));
	fputs("ours blackout, measured:\n", f);
	render_histogram(json_object_get(o, "histogram"), f);
	if (json_is_string(json_object_get(m, "samples")))
		fprintf(f, "every move: %s\n", str_of(m, "samples"));
	json_decref(rows);
}

static void render_bench_phase(json_t *rows, const char *phase, FILE *f)
{
	static const char *const keys[][2] = {
		{ "hypercalls", "CALLS" }, { "p2m_entries", "P2M" },
		{ "splits", "SPLITS" }, { "tlb_flushes", "TLB" }, { "ipis", "IPIS" },
		{ "iommu_entries", "IOMMU" }, { "pages_copied", "COPIED" },
		{ "ioreqs", "IOREQS" }, { "measured_us", "MEASURED" },
		{ "modeled_us", "MODELLED" },
	};
	struct col cols[16] = {
		{ "strategy", "STRATEGY", COL_TEXT },
		{ "placement", "ON", COL_TEXT },
	};
	char paths[10][48];
	size_t n = 2;

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s.%s", phase, keys[i][0]);
		cols[n++] = (struct col){ paths[i], keys[i][1],
					  i >= 8 ? COL_US : COL_DEC };
	}
	cols[n] = (struct col){ 0 };
	render_cols(cols, rows, f, 2);
}

static void render_bench_strategies(json_t *s, FILE *f)
{
	static const char *const phases[][2] = {
		{ "attach", "attach" }, { "first_read", "first full read by the guest" },
		{ "migrate", "migrate (pinned strategies: -)" }, { "detach", "detach" },
	};
	static const struct col naive_cols[] = {
		{ "strategy", "STRATEGY", COL_TEXT },
		{ "_entries", "ENTRIES", COL_TEXT },
		{ "_naive_entries", "NAIVE", COL_TEXT },
		{ "ours_vs_naive.hypercalls", "CALLS", COL_RATIO },
		{ "ours_vs_naive.p2m_entries", "P2M", COL_RATIO },
		{ "ours_vs_naive.modeled_us", "MODELLED", COL_RATIO },
		{ "ours_vs_naive.measured_us", "MEASURED", COL_RATIO },
		{ 0 }
	};
	json_t *rows = ran_rows(json_object_get(s, "rows"), "entries",
				"naive_attach.entries");
	char sz[32];

	fprintf(f, "strategies: %s on each strategy's own backing\n",
		size_str(uint_of(s, "size"), sz, sizeof(sz)));
	for (size_t i = 0; i < sizeof(phases) / sizeof(*phases); i++) {
		fprintf(f, "%s:\n", phases[i][1]);
		render_bench_phase(rows, phases[i][0], f);
	}
	fputs("attach, ours/naive (naive: gfn one frame off):\n", f);
	render_cols(naive_cols, rows, f, 2);
	render_not_run(json_object_get(s, "rows"), f);
	json_decref(rows);
}

static void render_bench_scale(json_t *s, FILE *f)
{
	static const struct col ops[] = {
		{ "guests", "GUESTS", COL_DEC },
		{ "blobs_per_guest", "BLOBS", COL_DEC },
		{ "measured_us.attach", "ATTACH", COL_US },
		{ "measured_us.show", "SHOW", COL_US },
		{ "measured_us.list", "LIST", COL_US },
		{ "measured_us.check", "CHECK", COL_US },
		{ "measured_us.dump", "DUMP", COL_US },
		{ "measured_us.migrate", "MIGRATE", COL_US },
		{ "measured_us.detach", "DETACH", COL_US },
		{ "measured_us.attach_all_per_blob", "ALL/BLOB", COL_US },
		{ 0 }
	};
	static const struct col pers[] = {
		{ "guests", "GUESTS", COL_DEC },
		{ "blobs_per_guest", "BLOBS", COL_DEC },
		{ "state_bytes", "STATE", COL_SIZE },
		{ "persistence_us.attach", "ATTACH", COL_US },
		{ "persistence_us.show", "SHOW", COL_US },
		{ "persistence_us.list", "LIST", COL_US },
		{ "persistence_us.check", "CHECK", COL_US },
		{ "persistence_us.dump", "DUMP", COL_US },
		{ "persistence_us.migrate", "MIGRATE", COL_US },
		{ "persistence_us.detach", "DETACH", COL_US },
		{ 0 }
	};
	static const struct col grow[] = {
		{ "op", "OPERATION", COL_TEXT },
		{ "fewest_blobs", "BLOBS", COL_DEC },
		{ "fewest_us", "TIME", COL_US },
		{ "most_blobs", "BLOBS", COL_DEC },
		{ "most_us", "TIME", COL_US },
		{ "per_blob_us", "PER_BLOB", COL_US },
		{ "most_vs_1x1", "VS_1x1", COL_RATIO },
		{ "exponent", "EXP", COL_DEC },
		{ "verdict", "GROWTH", COL_TEXT },
		{ 0 }
	};
	char sz[32];

	fprintf(f, "scale: hosts of 1..%" PRIu64 " guests x 1..%" PRIu64 " blobs of %s;\n"
		"one operation, measured in process, persistence excluded\n",
		uint_of(s, "guests"), uint_of(s, "blobs_per_guest"),
		size_str(uint_of(s, "blob_size"), sz, sizeof(sz)));
	render_cols(ops, json_object_get(s, "rows"), f, 2);
	fputs("persistence of the same operation (measured: one context per\n"
	      "operation, as the CLI runs it, less the time above)\n", f);
	render_cols(pers, json_object_get(s, "rows"), f, 2);
	fprintf(f, "growth over the %" PRIu64 "-guest hosts, from the measured times\n"
		"(EXP: time ~ blobs^EXP from half the most blobs to the most;\n"
		"attach_all: the total time of attaching every blob)\n",
		uint_of(s, "guests"));
	render_cols(grow, json_object_get(s, "growth"), f, 2);
}

static void render_bench_persist(json_t *p, FILE *f)
{
	static const struct col cols[] = {
		{ "blobs", "BLOBS", COL_DEC },
		{ "state_bytes", "STATE", COL_SIZE },
		{ "attach.ours_us", "ATTACH", COL_US },
		{ "attach.naive_us", "NAIVE", COL_US },
		{ "attach.ours_vs_naive", "RATIO", COL_RATIO },
		{ "migrate.ours_us", "MIGRATE", COL_US },
		{ "migrate.naive_us", "NAIVE", COL_US },
		{ "migrate.ours_vs_naive", "RATIO", COL_RATIO },
		{ "detach.ours_us", "DETACH", COL_US },
		{ "detach.naive_us", "NAIVE", COL_US },
		{ "detach.ours_vs_naive", "RATIO", COL_RATIO },
		{ "load_us", "LOAD", COL_US },
		{ 0 }
	};

	fprintf(f, "persist: %" PRIu64 " guests x 1..%" PRIu64 " blobs; what saving the "
		"state adds\nto one operation (measured), ours against naive "
		"(the whole state\nrewritten after every write); LOAD: what a read "
		"adds\n", uint_of(p, "guests"), uint_of(p, "blobs_per_guest"));
	render_cols(cols, json_object_get(p, "rows"), f, 2);
}

static void render_bench(struct cli *cli, json_t *out, FILE *f)
{
	static const struct {
		const char *key;
		void (*fn)(json_t *v, FILE *f);
	} parts[] = {
		{ "attach", render_bench_attach },
		{ "migrate", render_bench_migrate },
		{ "strategies", render_bench_strategies },
		{ "scale", render_bench_scale },
		{ "persist", render_bench_persist },
	};

	fprintf(f, "host: %s dom0, %s IOMMU, seed %" PRIu64 "\n",
		str_of(out, "host.dom0"), str_of(out, "host.iommu"),
		uint_of(out, "host.seed"));
	for (size_t i = 0; i < sizeof(parts) / sizeof(*parts); i++)
		if (json_object_get(out, parts[i].key)) {
			fputc('\n', f);
			parts[i].fn(json_object_get(out, parts[i].key), f);
		}
	fputs("\nmeasured: wall clock in this process, the simulator's persistence\n"
	      "excluded or in its own table; modelled: the sim's cost table\n"
	      "(-j for every counter and both times)\n", f);
}

/* ---- gpu ---------------------------------------------------------------- */

static const struct col gpu_list_cols[] = {
	{ "card", "CARD", COL_TEXT },
	{ "driver", "DRIVER", COL_TEXT },
	{ "pci", "PCI", COL_TEXT },
	{ "vram_bytes", "VRAM", COL_SIZE },
	{ "buffers", "BUFFERS", COL_DEC },
	{ "can", "CAN", COL_TEXT },
	{ 0 }
};

static void render_gpu_list(struct cli *cli, json_t *out, FILE *f)
{
	render_rows(gpu_list_cols, out, f, "no GPU cards");
}

static const struct col gpu_cols[] = {
	{ "card", "card", COL_TEXT },
	{ "driver", "driver", COL_TEXT },
	{ "pci", "pci", COL_TEXT },
	{ "vram_bytes", "vram", COL_SIZE },
	{ "vram_free_bytes", "vram_free", COL_SIZE },
	{ "capabilities.note", "note", COL_TEXT },
	{ 0 }
};

static const struct col bar_cols[] = {
	{ "index", "BAR", COL_DEC },
	{ "bus_addr", "BUS_ADDR", COL_HEX },
	{ "size", "SIZE", COL_SIZE },
	{ "prefetchable", "PREFETCH", COL_YESNO },
	{ "vram", "VRAM", COL_YESNO },
	{ 0 }
};

static const struct col gpu_buf_cols[] = {
	{ "id", "ID", COL_DEC },
	{ "size", "SIZE", COL_SIZE },
	{ "placement", "PLACEMENT", COL_TEXT },
	{ "mfn", "FIRST_MFN", COL_HEX },
	{ "extents", "EXTENTS", COL_DEC },
	{ "pinned", "PINNED", COL_YESNO },
	{ "blob", "BLOB", COL_TEXT },
	{ "handed_over", "HANDED_OVER_AS", COL_TEXT }, /* a client's dma-buf */
	{ 0 }
};

static void render_gpu_show(struct cli *cli, json_t *out, FILE *f)
{
	json_t *caps = json_object_get(out, "capabilities");
	json_t *bufs = json_object_get(out, "buffers");

	render_fields(gpu_cols, out, f, 0);
	render_line(f, "can", 11, "place in VRAM: %s, locate frames: %s, pin: %s",
		    json_is_true(json_object_get(caps, "place_vram")) ? "yes" : "no",
		    json_is_true(json_object_get(caps, "locate_frames")) ? "yes" : "no",
		    json_is_true(json_object_get(caps, "pin")) ? "yes" : "no");
	fputs("bars:\n", f);
	render_cols(bar_cols, json_object_get(out, "bars"), f, 2);
	fputs("buffers:\n", f);
	render_rows(gpu_buf_cols, bufs, f, "  none");
}

/* ---- check, dump -------------------------------------------------------- */

static const struct col check_cols[] = {
	{ "severity", "SEVERITY", COL_TEXT },
	{ "check", "CHECK", COL_TEXT },
	{ "message", "MESSAGE", COL_TEXT },
	{ 0 }
};

/* A finding's message with the command that puts it right. */
static json_t *with_hints(json_t *findings)
{
	json_t *rows = json_array(), *v;
	size_t i;

	json_array_foreach(findings, i, v) {
		const char *msg = json_string_value(json_object_get(v, "message"));
		const char *hint;
		char buf[160], *full;
		json_t *row = json_copy(v);
		enum xgm_remedy r;

		/* A finding without a remedy, or with one unknown here: none. */
		xgm_remedy_parse(json_string_value(json_object_get(v, "remedy")), &r);
		hint = cli_remedy_hint(r, json_string_value(json_object_get(v, "remedy_arg")),
				       buf, sizeof(buf));

		if (hint && msg && asprintf(&full, "%s (%s)", msg, hint) >= 0) {
			json_object_set_new(row, "message", json_string(full));
			free(full);
		}
		json_array_append_new(rows, row);
	}
	return rows;
}

static void render_check(struct cli *cli, json_t *out, FILE *f)
{
	if (json_is_array(out) && json_array_size(out)) {
		json_t *rows = with_hints(out);

		render_cols(check_cols, rows, f, 0);
		json_decref(rows);
	} else {
		render_generic(out, f);
	}
}

static const struct col dump_dom_cols[] = {
	{ "domid", "DOMID", COL_DEC },
	{ "name", "NAME", COL_TEXT },
	{ "type", "TYPE", COL_TEXT },
	{ "state", "STATE", COL_TEXT },
	{ "mem_bytes", "MEM", COL_SIZE },
	{ "vcpus", "VCPUS", COL_DEC },
	{ "max_gpfn", "MAX_GPFN", COL_HEX },
	{ "iommu", "IOMMU", COL_TEXT },
	{ 0 }
};

static const struct col dump_runs_cols[] = {
	{ "domain", "DOMID", COL_TEXT },
	{ "p2m", "P2M_RUNS", COL_DEC },
	{ "iommu", "IOMMU_RUNS", COL_DEC },
	{ 0 }
};

static const struct col dump_buf_cols[] = {
	{ "buffer", "BUFFER", COL_TEXT },
	{ "extents", "EXTENTS", COL_DEC },
	{ "frames", "FRAMES", COL_DEC },
	{ "first", "FIRST_MFN", COL_HEX },
	{ 0 }
};

static void render_dump(struct cli *cli, json_t *out, FILE *f)
{
	json_t *runs = json_array(), *bufs = json_array();
	json_t *v, *e;
	const char *k;
	size_t i;

	if (!json_object_get(out, "domains")) {
		/* dump -o: where it went */
		json_decref(runs);
		json_decref(bufs);
		render_generic(out, f);
		return;
	}
	render_line(f, "schema", 7, "%s version %" PRIu64 ", backend %s",
		    str_of(out, "schema"), uint_of(out, "version"), str_of(out, "backend"));
	fputs("domains:\n", f);
	render_cols(dump_dom_cols, json_object_get(out, "domains"), f, 2);
	fputs("blobs:\n", f);
	render_rows(list_cols, json_object_get(out, "blobs"), f, "  none");
	json_object_foreach(json_object_get(out, "p2m"), k, v)
		json_array_append_new(runs, json_pack("{s:s,s:I,s:I}", "domain", k,
			"p2m", (json_int_t)json_array_size(v), "iommu", (json_int_t)
			json_array_size(json_object_get(json_object_get(out, "iommu"), k))));
	if (json_array_size(runs)) {
		fputs("blob windows (runs of the p2m and IOMMU in them):\n", f);
		render_cols(dump_runs_cols, runs, f, 2);
	}
	json_object_foreach(json_object_get(out, "buffers"), k, v) {
		uint64_t frames = 0;

		json_array_foreach(v, i, e)
			frames += uint_of(e, "nr");
		json_array_append_new(bufs, json_pack("{s:s,s:I,s:I,s:O}", "buffer", k,
			"extents", (json_int_t)json_array_size(v), "frames", (json_int_t)frames,
			"first", json_object_get(json_array_get(v, 0), "mfn")));
	}
	if (json_array_size(bufs)) {
		fputs("buffers:\n", f);
		render_cols(dump_buf_cols, bufs, f, 2);
	}
	render_line(f, "store", 7, "%zu keys", json_object_size(json_object_get(out, "store")));
	render_line(f, "journal", 7, "%zu pending records",
		    json_array_size(json_object_get(out, "journal")));
	fputs("(-j for the whole document: every extent, run, key and counter)\n", f);
	json_decref(runs);
	json_decref(bufs);
}

/* ---- the table ---------------------------------------------------------- */

static const struct {
	const char *command;
	cmd_render_fn fn;
} views[] = {
	{ "attach", render_blob },
	{ "show", render_blob },
	{ "migrate", render_migrate },
	{ "list", render_list },
	{ "detach", render_detach },
	{ "fill", render_fill },
	{ "verify", render_fill },
	{ "domain list", render_domain_list },
	{ "domain show", render_domain_show },
	{ "sim init", render_sim_init },
	{ "sim reset", render_sim_init },
	{ "sim show", render_sim_show },
	{ "sim guest-read", render_guest_read },
	{ "p2m", render_p2m },
	{ "iommu", render_iommu },
	{ "bench", render_bench },
	{ "gpu list", render_gpu_list },
	{ "gpu show", render_gpu_show },
	{ "gpu alloc", render_buffer },
	{ "gpu free", render_buffer },
	{ "check", render_check },
	{ "dump", render_dump },
};

cmd_render_fn view_renderer(const struct cmd *cmd)
{
	const char *name = cmd_full_name(cmd);

	for (size_t i = 0; i < sizeof(views) / sizeof(*views); i++)
		if (!strcmp(views[i].command, name))
			return views[i].fn;
	return NULL;
}
