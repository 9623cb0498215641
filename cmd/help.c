// SPDX-License-Identifier: GPL-2.0-only
/* Help generated from the command table, as text or as one json_t. */
#include <string.h>

#include "cli.h"

static const struct {
	const char *flags, *help;
} global_opts[] = {
	{ "-j, --json", "print the result as one JSON document" },
	{ "-p, --pretty", "indented JSON (implies -j)" },
	{ "-b, --backend auto|xen|sim", "backend (env XGPUMAP_BACKEND; default auto)" },
	{ "    --sim-state PATH", "simulated host state file (env XGPUMAP_SIM_STATE)" },
	{ "-q, --quiet", "no notices on stderr" },
	{ "-v, --verbose", "log the library's messages on stderr (repeat for debug)" },
	{ "-V, --version", "print the version and exit" },
	{ "-h, --help", "print help and exit" },
};

/* Help text is wrapped to fit an 80-column terminal with a margin. */
#define HELP_WIDTH 78

/*
 * Prints text from column col (already printed up to there), breaking at
 * blanks outside brackets so that "[--size SIZE]" stays whole; continued
 * lines start at column indent.
 */
static void put_wrapped(const char *text, size_t col, size_t indent, FILE *f)
{
	const char *p = text;
	bool line_start = true;

	while (*p) {
		const char *end = p;
		int depth = 0;
		size_t len;

		/* One unbreakable piece: up to a blank at bracket depth 0. */
		while (*end && (depth || *end != ' ')) {
			depth += *end == '[' || *end == '{';
			depth -= (*end == ']' || *end == '}') && depth;
			end++;
		}
		len = (size_t)(end - p);
		if (!line_start && col + 1 + len > HELP_WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (!line_start) {
			fputc(' ', f);
			col++;
		}
		line_start = false;
		fwrite(p, 1, len, f);
		col += len;
		p = end;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* "--size SIZE" names an option the positional grammar already spells
 * out ("detach BLOB | DOM --all"): it is not repeated. */
static bool in_args(const struct cmd *cmd, const char *name)
{
	char flag[64];
	const char *at;
	size_t n;

	if (!cmd->args)
		return false;
	n = (size_t)snprintf(flag, sizeof(flag), "--%s", name);
	for (at = strstr(cmd->args, flag); at; at = strstr(at + 1, flag))
		if (!at[n] || at[n] == ' ')
			return true;
	return false;
}

/* "domain list [--foo X]..." line for one leaf or group: the one grammar,
 * from the table (required options unbracketed, repeatable ones "..."). */
static void usage_line(const struct cmd *cmd, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "%s", cmd_full_name(cmd));

	if (cmd->subcmds) {
		snprintf(buf + off, len - off, " { ");
		off = strlen(buf);
		for (const struct cmd *c = cmd->subcmds; c->name; c++) {
			if (c->flags & CMD_HIDDEN)
				continue;
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						c == cmd->subcmds ? "" : " | ", c->name);
		}
		snprintf(buf + off, len - off, " }");
		return;
	}
	if (cmd->args && *cmd->args)
		off += (size_t)snprintf(buf + off, len - off, " %s", cmd->args);
	for (const struct cmd_opt *o = cmd->opts; o && o->name && off < len; o++) {
		if (in_args(cmd, o->name))
			continue;
		off += (size_t)snprintf(buf + off, len - off, " %s--%s%s%s%s%s",
					o->required && !o->unless ? "" : "[", o->name,
					o->arg ? " " : "", o->arg ? o->arg : "",
					o->required && !o->unless ? "" : "]",
					o->repeatable ? "..." : "");
	}
}

static void print_leaves(const struct cmd *cmds, FILE *f)
{
	char name[64];

	for (const struct cmd *c = cmds; c->name; c++) {
		if (c->flags & CMD_HIDDEN)
			continue;
		if (c->subcmds) {
			print_leaves(c->subcmds, f);
			continue;
		}
		snprintf(name, sizeof(name), "%s", cmd_full_name(c));
		fprintf(f, "  %-16s ", name);
		put_wrapped(c->summary, 19, 19, f);
	}
}

/* "  -s, --size SIZE     text": the text in a column of its own, on the
 * next line when the flags are too long for theirs. */
static void put_option(const char *flags, const char *help, FILE *f)
{
	int n = fprintf(f, "  %-28s", flags);

	if (n > 30)
		fprintf(f, "\n%31s", "");
	else
		fputc(' ', f);
	put_wrapped(help, 31, 31, f);
}

void help_print_overview(FILE *f)
{
	fputs("Usage: xgpumap [OPTIONS] COMMAND [ARGS...]\n\n"
	      "Map dom0 GPU buffers (virtio-gpu blob resources) into Xen guests,\n"
	      "inspect the p2m and IOMMU state, and measure remapping.\n\n"
	      "Commands:\n", f);
	print_leaves(cmd_root, f);
	fputs("\nOptions:\n", f);
	for (size_t i = 0; i < sizeof(global_opts) / sizeof(*global_opts); i++)
		put_option(global_opts[i].flags, global_opts[i].help, f);
	fputs("\nDOM := name | domid    BLOB := DOM:ID    SIZE := bytes with K/M/G suffix\n"
	      "Exit status: 0 ok, 1 failed, 2 usage error, 3 transient (try again).\n"
	      "'xgpumap help COMMAND' or 'xgpumap COMMAND --help' describes one command;\n"
	      "man xgpumap has everything.\n", f);
}

void help_print_command(const struct cmd *cmd, FILE *f)
{
	char line[1024];

	if (!cmd) {
		help_print_overview(f);
		return;
	}
	usage_line(cmd, line, sizeof(line));
	fputs("Usage: xgpumap ", f);
	put_wrapped(line, 15, 8, f);
	fputc('\n', f);
	put_wrapped(cmd->summary, 0, 0, f);
	if (cmd->description) {
		fputc('\n', f);
		put_wrapped(cmd->description, 0, 0, f);
	}
	if (cmd->subcmds) {
		fputs("\nCommands:\n", f);
		print_leaves(cmd->subcmds, f);
	}
	if (cmd->opts && cmd->opts->name) {
		fputs("\nOptions:\n", f);
		for (const struct cmd_opt *o = cmd->opts; o->name; o++) {
			char flags[64];

			if (o->short_name)
				snprintf(flags, sizeof(flags), "-%c, --%s%s%s",
					 o->short_name, o->name, o->arg ? " " : "",
					 o->arg ? o->arg : "");
			else
				snprintf(flags, sizeof(flags), "    --%s%s%s", o->name,
					 o->arg ? " " : "", o->arg ? o->arg : "");
			put_option(flags, o->help, f);
		}
	}
	fputs("\nGlobal options (-j, -p, -b, --sim-state, -q, -v) apply; see 'xgpumap help'.\n", f);
}

json_t *help_json_command(const struct cmd *cmd)
{
	json_t *o = json_object(), *opts = json_array(), *subs;
	char line[1024];

	usage_line(cmd, line, sizeof(line));
	json_object_set_new(o, "command", json_string(cmd_full_name(cmd)));
	json_object_set_new(o, "usage", json_sprintf("xgpumap %s", line));
	json_object_set_new(o, "summary", json_string(cmd->summary));
	if (cmd->description)
		json_object_set_new(o, "description", json_string(cmd->description));
	for (const struct cmd_opt *op = cmd->opts; op && op->name; op++)
		json_array_append_new(opts, json_pack(
			"{s:s,s:s?,s:s,s:b}", "name", op->name, "arg", op->arg,
			"help", op->help, "required", op->required && !op->unless));
	json_object_set_new(o, "options", opts);
	if (cmd->subcmds) {
		subs = json_array();
		for (const struct cmd *c = cmd->subcmds; c->name; c++)
			if (!(c->flags & CMD_HIDDEN))
				json_array_append_new(subs, json_string(c->name));
		json_object_set_new(o, "subcommands", subs);
	}
	return o;
}
