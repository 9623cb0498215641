// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command table: dispatch, help, completion and the man-page sync test
 * all read it. Add a command here and everything else follows; the meta
 * tests fail until its man page entry exists.
 */
#include "cli.h"
#include "commands.h"

static const char *const dom0_types[] = { "pv", "pvh", NULL };
static const char *const iommu_vendors[] = { "intel", "amd", NULL };

static const struct cmd_opt sim_init_opts[] = {
	{ "dom0", 0, "pv|pvh", "dom0 type (default pvh)", dom0_types },
	{ "dom0-mem", 0, "SIZE", "dom0 memory (default 4G)" },
	{ "iommu", 0, "intel|amd", "IOMMU vendor (default intel)", iommu_vendors },
	{ "vram", 0, "SIZE", "VRAM of card0 (default 16G)" },
	{ "guest", 0, "NAME:TYPE:MEM[:VCPUS]", "add a guest (repeat; replaces the default guests)",
	  NULL, true },
	{ "seed", 0, "N", "seed for the scattered PV dom0 memory (default 1)" },
	{ "force", 0, NULL, "replace an existing state" },
	{ 0 }
};

static const struct cmd_opt batch_opts[] = {
	{ "keep-going", 'k', NULL, "run every line even after a failure" },
	{ 0 }
};

static struct cmd domain_cmds[] = {
	{ .name = "list", .fn = do_domain_list, .flags = CMD_CTX_READ,
	  .summary = "list domains",
	  .description = "Lists every domain of the host: id, name, type, state, memory, vcpus." },
	{ .name = "show", .fn = do_domain_show, .flags = CMD_CTX_READ,
	  .args = "DOM", .arg_kind = ARG_DOM,
	  .summary = "show one domain",
	  .description = "Shows a domain: id, name, type, state, memory, vcpus, whether it "
			 "is dom0 and translated (has a p2m), and how its IOMMU view relates "
			 "to its p2m." },
	{ 0 }
};

static struct cmd sim_cmds[] = {
	{ .name = "init", .fn = do_sim_init, .flags = CMD_SIM, .opts = sim_init_opts,
	  .summary = "create a simulated host",
	  .description = "Writes a new simulated host to the state file. Without options: "
			 "PVH dom0 with 4 GiB, guests vm1 (pvh, 2 GiB, 2 vcpus), vm2 (hvm, "
			 "4 GiB, 4 vcpus), vm3 (pv, 1 GiB, 1 vcpu), card0 with 16 GiB of VRAM, "
			 "Intel IOMMU. Refuses to replace an existing state without --force." },
	{ .name = "show", .fn = do_sim_show, .flags = CMD_SIM | CMD_CTX_READ,
	  .summary = "show the simulated host's topology and counters" },
	{ .name = "reset", .fn = do_sim_reset, .flags = CMD_SIM,
	  .summary = "replace the state with the default topology",
	  .description = "Replaces whatever is at the state path, even a corrupt file, "
			 "with a new simulated host of the default topology." },
	{ 0 }
};

struct cmd cmd_root[] = {
	{ .name = "domain", .subcmds = domain_cmds, .summary = "domains of the host" },
	{ .name = "sim", .subcmds = sim_cmds, .summary = "the simulated Xen host" },
	{ .name = "batch", .fn = do_batch, .opts = batch_opts, .args = "FILE",
	  .arg_kind = ARG_FILE,
	  .summary = "run commands from a file, one per line ('-' = stdin)",
	  .description = "Runs one command per line through the same dispatcher. Words are "
			 "split as by sh (quotes, backslashes, no expansion); blank lines and "
			 "lines starting with # are skipped. Stops at the first failure unless "
			 "--keep-going; exits with the first failure's status. With -j the "
			 "output is one array of {\"command\":[...],\"output\":...} or "
			 "{\"command\":[...],\"error\":...}." },
	{ .name = "shell", .fn = do_shell,
	  .summary = "interactive shell with history and completion",
	  .description = "Reads commands with readline; tab completes commands, options, "
			 "domain names. 'exit', 'quit' or end of input leaves." },
	{ .name = "version", .fn = do_version,
	  .summary = "print the version and the compiled-in backends" },
	{ .name = "help", .fn = do_help, .render = render_help, .args = "[COMMAND]",
	  .arg_kind = ARG_COMMAND,
	  .summary = "describe the commands, or one command" },
	{ .name = "__complete", .fn = do_complete,
	  .flags = CMD_HIDDEN | CMD_RAW_ARGS, .args = "WORDS...",
	  .summary = "completion candidates for the words of a command line" },
	{ 0 }
};
