// SPDX-License-Identifier: GPL-2.0-only
/*
 * One data path, two outputs: every command builds one json_t; -j prints it,
 * otherwise this renders it for people (drm_info's and iproute2's rule, so
 * the two outputs cannot drift). An object becomes aligned "key : value"
 * lines, a list of objects a column table. Frame numbers are shown in hex.
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

/* Keys that hold frame numbers (gfn, mfn, dfn and their ranges). */
static bool is_frame_key(const char *key)
{
	return key && (strstr(key, "gfn") || strstr(key, "mfn") ||
		       strstr(key, "dfn") || strstr(key, "_addr") ||
		       !strcmp(key, "first_tag") ||
		       !strcmp(key, "base"));
}

/* Formats a scalar into buf; non-scalars as compact JSON. */
static void format_value(const char *key, json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, len, "%s", json_string_value(v));
		break;
	case JSON_INTEGER:
		if (is_frame_key(key) && json_integer_value(v) >= 0)
			snprintf(buf, len, "0x%" PRIx64,
				 (uint64_t)json_integer_value(v));
		else
			snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, len, "%.6g", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(buf, len, "yes");
		break;
	case JSON_FALSE:
		snprintf(buf, len, "no");
		break;
	case JSON_NULL:
		snprintf(buf, len, "-");
		break;
	default: {
		char *text;

		/* An array of scalars reads best as a list. */
		if (json_is_array(v)) {
			size_t i, off = 0;
			json_t *e;

			buf[0] = '\0';
			json_array_foreach(v, i, e) {
				char one[256];

				if (json_is_object(e) || json_is_array(e))
					goto as_json;
				format_value(key, e, one, sizeof(one));
				off += (size_t)snprintf(buf + off, off < len ? len - off : 0,
							"%s%s", i ? ", " : "", one);
			}
			if (!i)
				snprintf(buf, len, "-");
			break;
		}
as_json:
		text = json_dumps(v, JSON_COMPACT);
		snprintf(buf, len, "%s", text ? text : "?");
		free(text);
		break;
	}
	}
}

static bool is_scalar(json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
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

static void render_table(json_t *rows, FILE *f, int ind)
{
	enum { MAX_COLS = 32 };
	const char *cols[MAX_COLS];
	size_t width[MAX_COLS];
	bool numeric[MAX_COLS];
	size_t ncols = 0, i;
	json_t *row, *v;
	const char *key;
	char buf[1024];

	/* Columns: every scalar-or-list key, in first-seen order. */
	json_array_foreach(rows, i, row) {
		json_object_foreach(row, key, v) {
			size_t c;

			for (c = 0; c < ncols && strcmp(cols[c], key); c++)
				;
			if (c == ncols && ncols < MAX_COLS) {
				cols[ncols] = key;
				width[ncols] = strlen(key);
				numeric[ncols] = true;
				ncols++;
			}
		}
	}
	json_array_foreach(rows, i, row) {
		for (size_t c = 0; c < ncols; c++) {
			v = json_object_get(row, cols[c]);
			if (!v)
				continue;
			format_value(cols[c], v, buf, sizeof(buf));
			if (strlen(buf) > width[c])
				width[c] = strlen(buf);
			if (!json_is_number(v))
				numeric[c] = false;
		}
	}
	indent(f, ind);
	for (size_t c = 0; c < ncols; c++) {
		for (const char *p = cols[c]; *p; p++)
			fputc(toupper((unsigned char)*p), f);
		if (c + 1 < ncols)
			fprintf(f, "%*s", (int)(width[c] - strlen(cols[c]) + 2), "");
	}
	fputc('\n', f);
	json_array_foreach(rows, i, row) {
		indent(f, ind);
		for (size_t c = 0; c < ncols; c++) {
			size_t n;

			v = json_object_get(row, cols[c]);
			if (v)
				format_value(cols[c], v, buf, sizeof(buf));
			else
				snprintf(buf, sizeof(buf), "-");
			n = strlen(buf);
			if (numeric[c])
				fprintf(f, "%*s", (int)(width[c] - n), "");
			fput_escaped(buf, f);
			if (c + 1 < ncols && !numeric[c])
				fprintf(f, "%*s", (int)(width[c] - n), "");
			if (c + 1 < ncols)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
}

static void render_object(json_t *obj, FILE *f, int ind)
{
	size_t w = 0;
	const char *key;
	json_t *v;
	char buf[4096];

	json_object_foreach(obj, key, v)
		if ((is_scalar(v) || !is_table(v)) && !json_is_object(v) &&
		    strlen(key) > w)
			w = strlen(key);
	json_object_foreach(obj, key, v) {
		if (json_is_object(v)) {
			indent(f, ind);
			fput_escaped(key, f);
			fputs(":\n", f);
			render_object(v, f, ind + 2);
		} else if (is_table(v)) {
			indent(f, ind);
			fput_escaped(key, f);
			fputs(":\n", f);
			render_table(v, f, ind + 2);
		} else {
			indent(f, ind);
			fput_escaped(key, f);
			fprintf(f, "%*s : ", (int)(w - strlen(key)), "");
			format_value(key, v, buf, sizeof(buf));
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
			format_value(NULL, e, buf, sizeof(buf));
			fput_escaped(buf, f);
			fputc('\n', f);
		}
	} else {
		format_value(NULL, v, buf, sizeof(buf));
		fput_escaped(buf, f);
		fputc('\n', f);
	}
}

void print_json(struct cli *cli, json_t *doc, FILE *f)
{
	json_dumpf(doc, f, cli->pretty ? JSON_INDENT(2) : JSON_COMPACT);
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
	else
		render_generic(out, f);
	fflush(f);
}
