// SPDX-License-Identifier: GPL-2.0-only
/*
 * Column specs: each command says, where it builds its text, which keys
 * it shows, under which header, in which format (hex for frame numbers,
 * binary units for sizes, fixed-precision times) and alignment. Nothing
 * is guessed from a key's name; -j prints the document untouched.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"

json_t *json_path(json_t *v, const char *path)
{
	char part[64];

	while (v && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		v = json_object_get(v, part);
		path += n + (path[n] == '.');
	}
	return v;
}

void fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(*units)) {
		v /= 1024;
		u++;
	}
	/* Exact sizes read as such (1 GiB, 1.25 GiB); others with two
	 * decimals (15.99 GiB), never rounded up to a size they are not. */
	if (v == floor(v))
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else if (v * 10 == floor(v * 10))
		snprintf(buf, len, "%.1f %s", v, units[u]);
	else
		snprintf(buf, len, "%.2f %s", floor(v * 100) / 100, units[u]);
}

void fmt_us(double us, char *buf, size_t len)
{
	if (us == 0)
		snprintf(buf, len, "0");
	else if (us < 1000)
		snprintf(buf, len, "%.1f µs", us);
	else if (us < 1e6)
		snprintf(buf, len, "%.2f ms", us / 1e3);
	else
		snprintf(buf, len, "%.2f s", us / 1e6);
}

static bool is_number_fmt(enum col_fmt f)
{
	return f != COL_TEXT && f != COL_YESNO;
}

void fmt_value(enum col_fmt fmt, json_t *v, char *buf, size_t len)
{
	if (!v || json_is_null(v)) {
		snprintf(buf, len, "-");
		return;
	}
	if (json_is_boolean(v)) {
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
		return;
	}
	if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
		return;
	}
	if (json_is_array(v)) {
		size_t i, off = 0;
		json_t *e;

		buf[0] = '\0';
		json_array_foreach(v, i, e) {
			char one[128];

			if (json_is_object(e) || json_is_array(e)) {
				snprintf(buf, len, "%zu items", json_array_size(v));
				return;
			}
			fmt_value(fmt, e, one, sizeof(one));
			off += (size_t)snprintf(buf + off, off < len ? len - off : 0,
						"%s%s", i ? ", " : "", one);
		}
		if (!json_array_size(v))
			snprintf(buf, len, "-");
		return;
	}
	if (json_is_object(v)) {
		snprintf(buf, len, "(%zu keys; -j)", json_object_size(v));
		return;
	}
	switch (fmt) {
	case COL_HEX:
		if (json_is_integer(v) && json_integer_value(v) >= 0) {
			snprintf(buf, len, "0x%" PRIx64, (uint64_t)json_integer_value(v));
			return;
		}
		break;
	case COL_SIZE:
		if (json_number_value(v) >= 0) {
			fmt_size((uint64_t)json_number_value(v), buf, len);
			return;
		}
		break;
	case COL_US:
		fmt_us(json_number_value(v), buf, len);
		return;
	case COL_MS:
		fmt_us(json_number_value(v) * 1e3, buf, len);
		return;
	case COL_NS:
		fmt_us(json_number_value(v) / 1e3, buf, len);
		return;
	case COL_RATIO:
		snprintf(buf, len, "%.2fx", json_number_value(v));
		return;
	default:
		break;
	}
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_real_value(v) == floor(json_real_value(v)) &&
		 fabs(json_real_value(v)) < 1e15)
		snprintf(buf, len, "%.0f", json_real_value(v));
	else
		snprintf(buf, len, "%.2f", json_real_value(v));
}

static void indent(FILE *f, int n)
{
	while (n-- > 0)
		fputc(' ', f);
}

/* A column is hidden when its spec says so and every row holds 0. */
static bool all_zero(const struct col *c, json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row) {
		json_t *v = json_path(row, c->key);

		if (v && !(json_is_number(v) && json_number_value(v) == 0))
			return false;
	}
	return true;
}

static bool none_has(const struct col *c, json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row)
		if (json_path(row, c->key))
			return false;
	return true;
}

/* Display width of UTF-8 text: continuation bytes take no column. */
static size_t width_of(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Each cell formatted once: the widths and the lines come from the same
 * text (a list of a domain's blobs is mostly this). */
void render_cols(const struct col *cols, json_t *rows, FILE *f, int ind)
{
	enum { MAX_COLS = 24 };
	size_t width[MAX_COLS], ncols = 0, nrows = json_array_size(rows), i;
	bool shown[MAX_COLS];
	char buf[512], **cell;
	json_t *row;

	for (; cols[ncols].key && ncols < MAX_COLS; ncols++) {
		shown[ncols] = !(cols[ncols].hide_zero && all_zero(&cols[ncols], rows)) &&
			       !(cols[ncols].hide_absent && none_has(&cols[ncols], rows));
		width[ncols] = strlen(cols[ncols].header);
	}
	cell = calloc(nrows * ncols + 1, sizeof(*cell));
	if (!cell)
		return;
	json_array_foreach(rows, i, row) {
		for (size_t c = 0; c < ncols; c++) {
			fmt_value(cols[c].fmt, json_path(row, cols[c].key), buf, sizeof(buf));
			if (width_of(buf) > width[c])
				width[c] = width_of(buf);
			cell[i * ncols + c] = strdup(buf);
		}
	}
	/* The last shown column is not padded (no trailing blanks). */
	for (size_t c = ncols; c-- > 0;)
		if (shown[c]) {
			if (!is_number_fmt(cols[c].fmt))
				width[c] = 0;
			break;
		}
	indent(f, ind);
	for (size_t c = 0, first = 1; c < ncols; c++) {
		if (!shown[c])
			continue;
		fprintf(f, "%s", first ? "" : "  ");
		first = 0;
		if (is_number_fmt(cols[c].fmt))
			fprintf(f, "%*s", (int)width[c], cols[c].header);
		else
			fprintf(f, "%-*s", (int)width[c], cols[c].header);
	}
	fputc('\n', f);
	for (i = 0; i < nrows; i++) {
		size_t pending = 0; /* blanks owed before the next text */

		indent(f, ind);
		for (size_t c = 0, first = 1; c < ncols; c++) {
			const char *text = cell[i * ncols + c] ? cell[i * ncols + c] : "";
			size_t n = width_of(text), pad = width[c] > n ? width[c] - n : 0;

			if (!shown[c])
				continue;
			pending += first ? 0 : 2;
			first = 0;
			if (is_number_fmt(cols[c].fmt))
				pending += pad;
			if (*text) {
				indent(f, (int)pending);
				pending = 0;
				fput_escaped(text, f);
			}
			if (!is_number_fmt(cols[c].fmt))
				pending += pad;
		}
		/* Empty cells at the end of a line leave no blanks. */
		fputc('\n', f);
	}
	for (i = 0; i < nrows * ncols; i++)
		free(cell[i]);
	free(cell);
}

void render_cols_max(const struct col *cols, json_t *rows, FILE *f, int ind,
		     size_t max, const char *what)
{
	size_t n = json_array_size(rows);
	json_t *head;

	if (n <= max + max / 2) {
		render_cols(cols, rows, f, ind);
		return;
	}
	head = json_array();
	for (size_t i = 0; i < max; i++)
		json_array_append(head, json_array_get(rows, i));
	render_cols(cols, head, f, ind);
	json_decref(head);
	indent(f, ind);
	fprintf(f, "... and %zu more %s (-j for all)\n", n - max, what);
}

void render_rows(const struct col *cols, json_t *rows, FILE *f, const char *empty)
{
	if (json_array_size(rows))
		render_cols(cols, rows, f, *empty == ' ' ? 2 : 0);
	else
		fprintf(f, "%s\n", empty);
}

void render_fields(const struct col *cols, json_t *obj, FILE *f, int ind)
{
	size_t w = 0;
	char buf[1024];

	for (const struct col *c = cols; c->key; c++)
		if (json_path(obj, c->key) && strlen(c->header) > w)
			w = strlen(c->header);
	for (const struct col *c = cols; c->key; c++) {
		json_t *v = json_path(obj, c->key);

		if (!v || (c->hide_zero && json_is_number(v) && !json_number_value(v)))
			continue;
		fmt_value(c->fmt, v, buf, sizeof(buf));
		indent(f, ind);
		fprintf(f, "%-*s : ", (int)w, c->header);
		fput_escaped(buf, f);
		fputc('\n', f);
	}
}

/* Prints "label : value", the value wrapped at spaces to 80 columns and
 * continued under itself. */
void render_line(FILE *f, const char *label, int w, const char *fmt, ...)
{
	enum { COLS = 80 };
	char buf[1024];
	char *p = buf;
	size_t room;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(f, "%-*s : ", w, label);
	w = w > (int)strlen(label) ? w : (int)strlen(label);
	room = COLS - (size_t)w - 3 > 20 ? COLS - (size_t)w - 3 : 20;
	while (width_of(p) > room) {
		char *cut = NULL, c;

		for (char *q = p; *q && (size_t)(q - p) <= room; q++)
			if (*q == ' ')
				cut = q;
		if (!cut)
			break;
		c = *cut;
		*cut = '\0';
		fput_escaped(p, f);
		*cut = c;
		fprintf(f, "\n%*s", w + 3, "");
		p = cut + 1;
	}
	fput_escaped(p, f);
	fputc('\n', f);
}
