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

/* "domain list [--foo X]..." line for one leaf or group. */
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
		if (o->arg)
			off += (size_t)snprintf(buf + off, len - off, " [--%s %s]",
						o->name, o->arg);
		else
			off += (size_t)snprintf(buf + off, len - off, " [--%s]", o->name);
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
		fprintf(f, "  %-16s %s\n", name, c->summary);
	}
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
		fprintf(f, "  %-28s %s\n", global_opts[i].flags, global_opts[i].help);
	fputs("\nDOM := name | domid    BLOB := DOM:ID    SIZE := bytes with K/M/G suffix\n"
	      "Exit status: 0 ok, 1 failed, 2 usage error, 3 transient (busy, try again).\n"
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
	fprintf(f, "Usage: xgpumap %s\n\n%s\n", line, cmd->summary);
	if (cmd->description)
		fprintf(f, "\n%s\n", cmd->description);
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
			fprintf(f, "  %-28s %s\n", flags, o->help);
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
		json_array_append_new(opts, json_pack("{s:s,s:s?,s:s}", "name", op->name,
						      "arg", op->arg, "help", op->help));
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
