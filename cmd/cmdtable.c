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
static const char *const xen_versions[] = {
	"4.17.0", "4.17.1", "4.17.2", "4.17.3", "4.17.4", "4.17.5", "4.17.6", "4.17.7",
	"master", NULL
};
static const char *const extension_lists[] = {
	"none", "ram-mmio", "transfer", "ram-mmio,transfer", NULL
};

static const struct cmd_opt sim_init_opts[] = {
	{ "dom0", 0, "pv|pvh", "dom0 type (default pvh)", dom0_types },
	{ "dom0-mem", 0, "SIZE", "dom0 memory (default 4G)" },
	{ "iommu", 0, "intel|amd", "IOMMU vendor (default intel)", iommu_vendors },
	{ "vram", 0, "SIZE", "VRAM of card0 (default 16G)" },
	{ "guest", 0, "NAME:TYPE:MEM[:VCPUS][:passthrough]",
	  "add a guest, with an IOMMU context if passthrough (repeat; replaces the default guests)",
	  NULL, true },
	{ "xen", 0, "VERSION", "the Xen it behaves as: 4.17.0-4.17.7 or master (default 4.17.7, "
	  "what the test rig boots)", xen_versions },
	{ "extensions", 0, "LIST", "hypervisor extensions not in stock Xen: ram-mmio,transfer "
	  "(default none: stock Xen)", extension_lists },
	{ "gnttab-max-frames", 0, "N", "frames of dom0's grant table, 512 entries each, as "
	  "Xen's boot option gnttab_max_frames= (default 64: 32768 entries)" },
	{ "seed", 0, "N", "seed for the scattered PV dom0 memory (default 1)" },
	{ "force", 0, NULL, "replace an existing state" },
	{ 0 }
};

static const struct cmd_opt sim_import_opts[] = {
	{ "force", 0, NULL, "replace an existing state" },
	{ 0 }
};

static const char *const placements[] = { "vram", "sys", NULL };
static const char *const strategies[] = {
	"auto", "mmio", "grant", "ioreq", "ram-mmio", "transfer", "revoke-fault", NULL
};
static const char *const caches[] = { "wc", "uc", "wb", NULL };
static const char *const p2m_formats[] = { "table", "xen", NULL };

static const struct cmd_opt attach_opts[] = {
	{ "size", 's', "SIZE", "buffer size (a multiple of 4K; K/M/G suffixes; "
	  "required unless --buffer, --dmabuf or --gem)", .required = true,
	  .unless = "buffer dmabuf gem" },
	{ "placement", 0, "vram|sys", "where the buffer lives (default vram; sys "
	  "for a strategy that maps only system RAM)", placements },
	{ "strategy", 0, "STRATEGY", "how it is mapped (default auto)", strategies },
	{ "cache", 0, "wc|uc|wb", "cache type reported to the guest (default wc)", caches },
	{ "gfn", 0, "GFN", "place it at this frame of the blob window" },
	{ "label", 0, "TEXT", "a label to recognise it by" },
	{ "card", 0, "CARD", "the GPU (default card0)" },
	{ "buffer", 0, "CARD:ID", "map this existing buffer (gpu alloc) instead of "
	  "allocating one" },
	{ "dmabuf", 0, "PID:FD", "map the buffer that fd FD of process PID "
	  "stands for (taken with pidfd_getfd)" },
	{ "gem", 0, "PID:FD:HANDLE", "map the buffer GEM handle HANDLE names on "
	  "the DRM device fd FD of process PID (taken with pidfd_getfd)" },
	{ 0 }
};

static const struct cmd_opt gpu_alloc_opts[] = {
	{ "size", 's', "SIZE", "buffer size (a multiple of 4K; K/M/G suffixes)",
	  .required = true },
	{ "placement", 0, "vram|sys", "where the buffer lives (default vram)", placements },
	{ 0 }
};

static const struct cmd_opt detach_opts[] = {
	{ "all", 'a', NULL, "detach every blob of DOM" },
	{ 0 }
};

static const struct cmd_opt migrate_opts[] = {
	{ "to", 't', "vram|sys", "the new placement (the current one: a new place in it)",
	  placements, .required = true },
	{ "repeat", 'r', "N", "migrate N times and report min/p50/p90/p99/max" },
	{ "pause", 0, NULL, "pause the guest for each copy and switch" },
	{ 0 }
};

static const struct cmd_opt fill_opts[] = {
	{ "seed", 0, "N", "varies the pattern (default 0)" },
	{ 0 }
};

static const struct cmd_opt p2m_opts[] = {
	{ "gfn", 0, "FIRST[-LAST]", "only this range" },
	{ "format", 0, "table|xen", "runs, or the lines of Xen's EPT dump (key D)", p2m_formats },
	{ 0 }
};

static const struct cmd_opt iommu_opts[] = {
	{ "dfn", 0, "FIRST[-LAST]", "only this range of device frames" },
	{ 0 }
};

static const struct cmd_opt check_opts[] = {
	{ "input", 'i', "DUMP", "check a dump file offline instead of the live host" },
	{ 0 }
};

static const struct cmd_opt recover_opts[] = {
	{ "discard", 'd', "SEQ", "drop journal record SEQ (one recover cannot act on) first" },
	{ 0 }
};

static const struct cmd_opt dump_opts[] = {
	{ "output", 'o', "FILE", "write the document to FILE (atomically)" },
	{ 0 }
};

static const struct cmd_opt guest_read_opts[] = {
	{ "expect", 'e', "BLOB", "fail unless the guest reads exactly this blob's last fill" },
	{ 0 }
};

static const char *const bench_dom0s[] = { "pv", "pvh", NULL };
static const char *const bench_iommus[] = { "intel", "amd", NULL };

static const struct cmd_opt bench_opts[] = {
	{ "size", 's', "SIZE", "attach: the largest size (from 2M, x4); migrate, "
	  "strategies: the blob size (default 64M)" },
	{ "repeat", 'r', "N", "migrate: moves (default 20)" },
	{ "guests", 0, "N", "scale, persist: most guests, 1..64 (default 64)" },
	{ "blobs", 0, "N", "scale, persist: most blobs per guest, 1..64 (default 64)" },
	{ "dom0", 0, "pv|pvh", "the hosts' dom0 (default pvh, as sim init)", bench_dom0s },
	{ "iommu", 0, "intel|amd", "the hosts' IOMMU (default intel, as sim init)",
	  bench_iommus },
	{ "seed", 0, "N", "the hosts' seed (default 1)" },
	{ "csv", 0, "FILE", "also write every table to FILE as CSV" },
	{ "samples", 0, "FILE", "migrate: write every move's times to FILE (CSV)" },
	{ 0 }
};

/* The scenarios xgm_bench() runs (lib/bench/). */
static const char *const bench_scenarios[] = {
	"attach", "migrate", "strategies", "scale", "persist", "all", NULL
};

static const struct cmd_opt batch_opts[] = {
	{ "keep-going", 'k', NULL, "run every line even after a failure" },
	{ 0 }
};

static struct cmd domain_cmds[] = {
	{ .name = "list", .fn = do_domain_list, .flags = CMD_CTX_READ,
	  .summary = "list domains",
	  .description = "Lists every domain of the host: id, name, type, state, memory, vcpus." },
	{ .name = "show", .fn = do_domain_show, .min_args = 1, .max_args = 1, .flags = CMD_CTX_READ,
	  .args = "DOM", .arg_kind = ARG_DOM,
	  .summary = "show one domain",
	  .description = "Shows a domain: id, name, type, state, memory, vcpus, whether it "
			 "is dom0 and translated (has a p2m), and how its IOMMU view relates "
			 "to its p2m." },
	{ 0 }
};

static struct cmd gpu_cmds[] = {
	{ .name = "list", .fn = do_gpu_list, .flags = CMD_CTX_READ,
	  .summary = "list GPU cards",
	  .description = "Lists every GPU card: driver, PCI address, VRAM size, how many "
			 "buffers xgpumap holds on it and what its driver lets xgpumap do "
			 "(place buffers in VRAM, locate their frames, pin them). -j gives "
			 "every detail of 'gpu show' for each card." },
	{ .name = "show", .fn = do_gpu_show, .min_args = 1, .max_args = 1, .flags = CMD_CTX_READ,
	  .args = "CARD", .arg_kind = ARG_CARD,
	  .summary = "show one GPU card and the buffers on it",
	  .description = "Shows a card: driver, PCI address, BARs (bus address, size, "
			 "which hold VRAM), VRAM size and free, what the driver lets xgpumap "
			 "do, and each buffer xgpumap holds: id, size, placement, first frame, "
			 "whether it is pinned and which blob maps it." },
	{ .name = "alloc", .fn = do_gpu_alloc, .min_args = 1, .max_args = 1,
	  .flags = CMD_CTX_WRITE, .opts = gpu_alloc_opts,
	  .args = "CARD", .arg_kind = ARG_CARD,
	  .summary = "create an existing buffer, for attach --buffer",
	  .description = "Allocates a buffer of SIZE on CARD that belongs to no blob, as a "
			 "VMM's renderer would, and prints it: id (CARD:ID), size, placement. "
			 "attach --buffer maps it; detach, a failed attach and recover only "
			 "release it, never free it: gpu free does." },
	{ .name = "free", .fn = do_gpu_free, .min_args = 1, .max_args = 1,
	  .flags = CMD_CTX_WRITE, .args = "CARD:ID", .arg_kind = ARG_WORD,
	  .summary = "free a buffer gpu alloc created",
	  .description = "Frees an existing buffer. Refused (exit 3) while a blob maps it: "
			 "detach the blob first." },
	{ 0 }
};

static struct cmd sim_cmds[] = {
	{ .name = "init", .fn = do_sim_init, .flags = CMD_SIM, .opts = sim_init_opts,
	  .summary = "create a simulated host",
	  .description = "Writes a new simulated host to the state file. Without options: "
			 "PVH dom0 with 4 GiB, guests vm1 (pvh, 2 GiB, 2 vcpus), vm2 (hvm, "
			 "4 GiB, 4 vcpus), vm3 (pv, 1 GiB, 1 vcpu), none with passthrough, card0 with 16 GiB of VRAM, "
			 "Intel IOMMU, stock Xen 4.17.7 (no extensions). Refuses to replace an existing state "
			 "without --force." },
	{ .name = "show", .fn = do_sim_show, .flags = CMD_SIM | CMD_CTX_READ,
	  .summary = "show the simulated host's topology and counters" },
	{ .name = "guest-read", .fn = do_sim_guest_read, .min_args = 2, .max_args = 2, .flags = CMD_SIM | CMD_CTX_WRITE,
	  .opts = guest_read_opts, .args = "DOM GFN[-GFN]", .arg_kind = ARG_DOM,
	  .summary = "what a guest reads through its p2m at these gfns",
	  .description = "Reads every gfn as the guest would: a mapped buffer page gives "
			 "its tag (blob, fill, page), an unmapped MMIO gfn all-ones, the "
			 "guest's RAM its data, a hole a fault. With --expect BLOB, exits 1 "
			 "unless the guest sees exactly that blob's last fill." },
	{ .name = "reset", .fn = do_sim_reset, .flags = CMD_SIM,
	  .summary = "replace the state with the default topology",
	  .description = "Replaces whatever is at the state path, even a corrupt file, "
			 "with a new simulated host of the default topology." },
	{ .name = "import", .fn = do_sim_import, .min_args = 1, .max_args = 1,
	  .flags = CMD_SIM, .opts = sim_import_opts, .args = "FILE",
	  .arg_kind = ARG_FILE,
	  .summary = "make the state of an earlier xgpumap's JSON state",
	  .description = "Makes the state at the state path (an SQLite database since "
			 "state version 4) of FILE, the JSON state (version 3) of an "
			 "earlier xgpumap, read and checked whole and left as it is. "
			 "Refuses to replace an existing state without --force." },
	{ 0 }
};

struct cmd cmd_root[] = {
	{ .name = "attach", .fn = do_attach, .min_args = 1, .max_args = 1, .flags = CMD_CTX_WRITE, .opts = attach_opts,
	  .args = "DOM", .arg_kind = ARG_GUEST,
	  .summary = "allocate a GPU buffer and map it into a guest's blob window",
	  .description = "Allocates a buffer of SIZE on the GPU and maps it into DOM's blob "
			 "window (above its RAM, 1 GiB aligned, 64 GiB long) with the chosen "
			 "strategy. The gfn is chosen congruent to the backing so the largest "
			 "entries the strategy allows are used (2M for mmio). Prints the new blob: "
			 "id, gfn range, strategy, entries by order, hypercalls." },
	{ .name = "detach", .fn = do_detach, .min_args = 1, .max_args = 1, .flags = CMD_CTX_WRITE, .opts = detach_opts,
	  .args = "BLOB | DOM --all", .arg_kind = ARG_BLOB,
	  .summary = "unmap a blob and free its buffer",
	  .description = "Unmaps the blob from the guest, revokes what the guest was "
			 "permitted, then frees the buffer. With --all, every blob of DOM." },
	{ .name = "list", .fn = do_list, .min_args = 0, .max_args = 1, .flags = CMD_CTX_READ, .args = "[DOM]",
	  .arg_kind = ARG_DOM, .summary = "list blobs (of one domain or all)" },
	{ .name = "show", .fn = do_show, .min_args = 1, .max_args = 1, .flags = CMD_CTX_READ, .args = "BLOB",
	  .arg_kind = ARG_BLOB, .summary = "show one blob: backing, mapping, counters" },
	{ .name = "migrate", .fn = do_migrate, .min_args = 1, .max_args = 1, .flags = CMD_CTX_WRITE, .opts = migrate_opts,
	  .args = "BLOB", .arg_kind = ARG_BLOB,
	  .summary = "move a blob's buffer, copy-then-switch, and remap",
	  .description = "Allocates the new backing, copies, then switches the guest's "
			 "entries (unmap + map: the only blackout), then frees the old backing. "
			 "Reports the blackout and total times (measured) and the counters. A "
			 "blob attached with auto changes strategy when the new backing needs "
			 "it; a strategy the user fixed is kept and the move refused; a grant "
			 "blob is pinned (exit 3)." },
	{ .name = "fill", .fn = do_fill, .min_args = 1, .max_args = 1, .flags = CMD_CTX_WRITE, .opts = fill_opts,
	  .args = "BLOB", .arg_kind = ARG_BLOB,
	  .summary = "write a verification pattern into a blob's buffer",
	  .description = "Writes one tag per page through dom0's view of the buffer: the "
			 "blob, the fill and the page index. 'verify' reads it back; 'sim "
			 "guest-read' shows what the guest reads through its p2m." },
	{ .name = "verify", .fn = do_verify, .min_args = 1, .max_args = 1, .flags = CMD_CTX_READ,
	  .args = "BLOB", .arg_kind = ARG_BLOB,
	  .summary = "read the pattern back from a blob's buffer",
	  .description = "Exits 1 when any page does not hold the tag the last fill wrote." },
	{ .name = "p2m", .fn = do_p2m, .min_args = 1, .max_args = 1, .flags = CMD_CTX_READ, .opts = p2m_opts,
	  .args = "DOM", .arg_kind = ARG_P2M_DOM,
	  .summary = "the live p2m of a domain as coalesced runs",
	  .description = "Walks DOM's p2m and prints runs of leaves with the same order, "
			 "type, access and memory type and contiguous gfn and mfn. --format xen "
			 "prints the lines Xen's EPT debug key (D) would print for the range." },
	{ .name = "iommu", .fn = do_iommu, .min_args = 1, .max_args = 1, .flags = CMD_CTX_READ, .opts = iommu_opts,
	  .args = "DOM", .arg_kind = ARG_DOM,
	  .summary = "a domain's DMA map as runs, or how it relates to the p2m",
	  .description = "With an AMD IOMMU the tables are separate and every p2m change is "
			 "mirrored into them: their runs are shown. With Intel VT-d sharing the "
			 "EPT, the DMA map is the p2m. A PV dom0's IOMMU identity-maps its RAM." },
	{ .name = "check", .fn = do_check, .min_args = 0, .max_args = 1, .opts = check_opts, .args = "[DOM]",
	  .arg_kind = ARG_DOM,
	  .summary = "check every invariant of the mapping state",
	  .description = "Every record matches the p2m (type, mfn, order) and the buffer's "
			 "current backing; every p2m entry and ioreq claim in a blob window has "
			 "a record; "
			 "no blob leaves its window or overlaps another; no interrupted operation "
			 "is pending. Prints the findings; exits 1 when any is an error." },
	{ .name = "dump", .fn = do_dump, .flags = CMD_CTX_READ, .opts = dump_opts,
	  .summary = "the whole mapping state as one JSON document",
	  .description = "Domains, blob windows, blobs, the p2m and IOMMU runs in every blob "
			 "window, where each buffer is, the store, counters and the journal, "
			 "with a schema version. 'check --input FILE' runs every invariant on it "
			 "offline. Without -o the document goes to stdout (use -j for JSON)." },
	{ .name = "recover", .fn = do_recover, .flags = CMD_CTX_WRITE, .opts = recover_opts,
	  .summary = "finish or undo what interrupted commands left",
	  .description = "Reads the journal: an interrupted attach is rolled back (nothing "
			 "stays mapped, the buffer is freed), an interrupted detach is finished. "
			 "Mappings in a blob window that no record covers are unmapped, a blob "
			 "whose buffer is gone loses its mapping, and only then are buffers no "
			 "record names freed; nothing is freed while any domain still maps it. "
			 "A malformed journal record stops recover: --discard SEQ drops it (a "
			 "blob it left half done is unmapped and freed) and recovers the rest." },
	{ .name = "bench", .fn = do_bench, .min_args = 0, .max_args = 1, .opts = bench_opts, .args = "[SCENARIO]",
	  .arg_kind = ARG_WORD, .arg_values = bench_scenarios,
	  .summary = "measure what each operation costs, against the naive way",
	  .description = "Scenarios: attach (every strategy at sizes from 2M to --size, the "
			 "planner's gfn against one congruent to nothing: 4K entries), migrate "
			 "(--repeat moves copy-then-switch against unmap-copy-map: blackout and "
			 "total, distribution, histogram), strategies (attach, first full guest "
			 "read, migrate and detach per strategy, every counter), scale (hosts of "
			 "1..--guests x 1..--blobs: one of each operation, how it grows per blob), "
			 "persist (the state save per operation against its size and against a "
			 "whole-state rewrite), or all (default). Runs on private simulated hosts, "
			 "never your state. Counts first; times labelled measured (persistence "
			 "excluded or its own column) or modelled; ratios ours/naive." },
	{ .name = "domain", .subcmds = domain_cmds, .summary = "domains of the host" },
	{ .name = "gpu", .subcmds = gpu_cmds, .summary = "GPU cards and their buffers" },
	{ .name = "sim", .subcmds = sim_cmds, .summary = "the simulated Xen host" },
	{ .name = "batch", .fn = do_batch, .min_args = 1, .max_args = 1, .opts = batch_opts, .args = "FILE",
	  .arg_kind = ARG_FILE,
	  .summary = "run commands from a file, one per line ('-' = stdin)",
	  .description = "Runs one command per line through the same dispatcher. Words are "
			 "split as by sh (quotes, backslashes, no expansion); blank lines are "
			 "skipped and '#' at the start of a word starts a comment. Global "
			 "options at the start of a line apply to that line. Stops at the first failure unless "
			 "--keep-going; exits with the first failure's status. With -j the "
			 "output is one array of {\"command\":[...],\"output\":...} or "
			 "{\"command\":[...],\"error\":...}." },
	{ .name = "shell", .fn = do_shell,
	  .summary = "interactive shell with history and completion",
	  .description = "Reads commands with readline; tab completes commands, options, "
			 "domain names. Lines are split and take global options as in "
			 "batch. 'exit', 'quit' or end of input leaves. With -j use "
			 "'batch -' instead: one JSON document for the whole input." },
	{ .name = "version", .fn = do_version,
	  .summary = "print the version and the compiled-in backends" },
	{ .name = "help", .fn = do_help, .min_args = 0, .max_args = 2, .render = render_help, .args = "[COMMAND]",
	  .arg_kind = ARG_COMMAND,
	  .summary = "describe the commands, or one command" },
	{ .name = "__complete", .fn = do_complete,
	  .flags = CMD_HIDDEN | CMD_RAW_ARGS, .args = "WORDS...",
	  .summary = "completion candidates for the words of a command line" },
	{ 0 }
};
