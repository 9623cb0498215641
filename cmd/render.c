// SPDX-License-Identifier: GPL-2.0-only
/*
 * One data path, two outputs: every command builds one json_t; -j prints it,
 * otherwise this renders it for people (drm_info's and iproute2's rule, so
 * the two outputs cannot drift). An object becomes aligned "key : value"
 * lines, a list of objects a column table; each command's view (views.c)
 * says how its values read (frame numbers in hex, sizes, times).
 */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

void fput_escaped(const char *s, FILE *f)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\') {
			fputs("\\\\", f);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* A C1 control (CSI is one): terminals act on it. */
			fprintf(f, "\\u%04x", p[1]);
			p++;
		} else {
			fputc(*p, f);
		}
	}
}

/* The generic layout, for documents without a view of their own
 * (views.c): formats come from the JSON types alone. Frame numbers and
 * sizes need a column spec; nothing is guessed from a key's name. */
static enum col_fmt fmt_of(json_t *v)
{
	return json_is_number(v) ? COL_DEC : json_is_boolean(v) ? COL_YESNO
	       : COL_TEXT;
}

static bool is_table(json_t *v)
{
	return json_is_array(v) && json_array_size(v) &&
	       json_is_object(json_array_get(v, 0));
}

static void indent(FILE *f, int n)
{
	fprintf(f, "%*s", n, "");
}

/* Columns: every key in first-seen order; a nested object's members
 * become columns of their own ("ops.hypercalls"), one level deep. */
enum { MAX_GENERIC_COLS = 24 };
struct generic_cols {
	struct col c[MAX_GENERIC_COLS + 1];
	char names[MAX_GENERIC_COLS][2][64];
	size_t n;
};

static void add_col(struct generic_cols *g, const char *key, json_t *v)
{
	char *k, *h;

	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->c[i].key, key))
			return;
	if (g->n == MAX_GENERIC_COLS)
		return;
	k = g->names[g->n][0];
	h = g->names[g->n][1];
	snprintf(k, 64, "%s", key);
	for (size_t i = 0; i < 64; i++)
		h[i] = (char)toupper((unsigned char)k[i]);
	g->c[g->n++] = (struct col){ k, h, fmt_of(v) };
}

static void render_table(json_t *rows, FILE *f, int ind)
{
	struct generic_cols g = { .n = 0 };
	const char *key, *sub;
	json_t *row, *v, *w;
	size_t i;

	json_array_foreach(rows, i, row) {
		json_object_foreach(row, key, v) {
			if (!json_is_object(v)) {
				add_col(&g, key, v);
				continue;
			}
			json_object_foreach(v, sub, w) {
				char path[128];

				snprintf(path, sizeof(path), "%s.%s", key, sub);
				if (!json_is_object(w))
					add_col(&g, path, w);
			}
		}
	}
	/* A text column holding numbers in some rows stays right-aligned
	 * only when every row holds a number. */
	for (size_t c = 0; c < g.n; c++)
		json_array_foreach(rows, i, row) {
			v = json_path(row, g.c[c].key);
			if (v && !json_is_null(v) && fmt_of(v) != g.c[c].fmt)
				g.c[c].fmt = COL_TEXT;
		}
	g.c[g.n] = (struct col){ 0 };
	render_cols(g.c, rows, f, ind);
}

static void render_object(json_t *obj, FILE *f, int ind)
{
	size_t w = 0;
	const char *key;
	json_t *v;
	char buf[4096];

	json_object_foreach(obj, key, v)
		if (!json_is_object(v) && !is_table(v) && strlen(key) > w)
			w = strlen(key);
	json_object_foreach(obj, key, v) {
		if (json_is_object(v) || is_table(v)) {
			indent(f, ind);
			fput_escaped(key, f);
			fputs(":\n", f);
			if (json_is_object(v))
				render_object(v, f, ind + 2);
			else
				render_table(v, f, ind + 2);
		} else {
			indent(f, ind);
			fput_escaped(key, f);
			fprintf(f, "%*s : ", (int)(w - strlen(key)), "");
			fmt_value(fmt_of(v), v, buf, sizeof(buf));
			fput_escaped(buf, f);
			fputc('\n', f);
		}
	}
}

void render_generic(json_t *v, FILE *f)
{
	char buf[4096];
	size_t i;
	json_t *e;

	if (!v)
		return;
	if (json_is_object(v)) {
		render_object(v, f, 0);
	} else if (is_table(v)) {
		render_table(v, f, 0);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			fmt_value(fmt_of(e), e, buf, sizeof(buf));
			fput_escaped(buf, f);
			fputc('\n', f);
		}
	} else {
		fmt_value(fmt_of(v), v, buf, sizeof(buf));
		fput_escaped(buf, f);
		fputc('\n', f);
	}
}

void print_json(struct cli *cli, json_t *doc, FILE *f)
{
	json_dumpf(doc, f, JSON_DOC_FLAGS | (cli->pretty ? JSON_INDENT(2) : JSON_COMPACT));
	fputc('\n', f);
}

void render_result(struct cli *cli, const struct cmd *cmd, json_t *out, FILE *f)
{
	if (!out)
		return;
	if (cli->json)
		print_json(cli, out, f);
	else if (cmd && cmd->render)
		cmd->render(cli, out, f);
	else if (cmd && view_renderer(cmd))
		view_renderer(cmd)(cli, out, f);
	else
		render_generic(out, f);
	fflush(f);
}
