/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The xgpumap command line: one command table drives dispatch, help,
 * completion and the man-page sync test (as bpftool's and xl's tables do).
 */
#ifndef XGM_CLI_H
#define XGM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "xgpumap-sim.h"

/* Exit statuses; documented in xgpumap(1) EXIT STATUS. Never anything else. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_TRANSIENT = 3, /* EAGAIN, ETIMEDOUT: trying again may work */
};

struct cli {
	/* global options */
	bool json;
	bool pretty;
	bool quiet;
	int verbose;
	enum xgm_backend_kind backend;
	const char *sim_state;
	bool backend_set;

	/* nesting: batch and shell refuse to run inside each other */
	bool in_batch;
	bool in_shell;

	/* the context of the running command, opened by the dispatcher
	 * according to the command's flags */
	struct xgm_ctx *ctx;

	/* the error of the running command */
	struct {
		int status;     /* exit status, 0 = no error */
		int err;        /* positive errno */
		char msg[1024];
	} error;
};

/* Kinds of positional argument; completion offers candidates by kind. */
enum arg_kind {
	ARG_NONE,
	ARG_DOM,     /* name or domid */
	ARG_BLOB,    /* DOM:ID */
	ARG_FILE,
	ARG_COMMAND, /* a command name (help) */
	ARG_WORD,    /* free text */
	ARG_CARD,    /* a GPU card name (card0) */
	ARG_GUEST,   /* a domain blobs can go to: translated, not dom0 */
	ARG_P2M_DOM, /* a domain with a p2m (translated) */
};

struct cmd_opt {
	const char *name;   /* long name without dashes */
	char short_name;    /* 0 when none */
	const char *arg;    /* metavariable, NULL for a flag */
	const char *help;
	const char *const *values; /* fixed values offered by completion */
	bool repeatable;
	bool required;      /* the dispatcher refuses the command without it */
	const char *unless; /* ... unless one of these is given (spaces apart) */
};

struct cmd;
typedef int (*cmd_fn)(struct cli *cli, const struct cmd *cmd, int argc,
		      char **argv, json_t **out);
/* Optional text renderer; the default renders any json_t generically. */
typedef void (*cmd_render_fn)(struct cli *cli, json_t *out, FILE *f);

/* Command flags: what the dispatcher does around the command. */
#define CMD_CTX_READ   (1u << 0) /* open a context, shared lock */
#define CMD_CTX_WRITE  (1u << 1) /* open a context, exclusive; commit on success */
#define CMD_HIDDEN     (1u << 2) /* not in help, prefixes or completion */
#define CMD_NO_CREATE  (1u << 3) /* never create a sim state */
#define CMD_RAW_ARGS   (1u << 4) /* arguments are data: no --help, no global flags */
#define CMD_SIM        (1u << 5) /* always the simulated host */

struct cmd {
	const char *name;
	cmd_fn fn;                  /* NULL for a group with subcommands */
	const struct cmd *subcmds;  /* NULL-name terminated */
	unsigned int flags;
	const char *args;           /* positional grammar for usage, e.g. "DOM" */
	int min_args, max_args;     /* positional count the dispatcher checks */
	enum arg_kind arg_kind;     /* what the first positional is */
	/* fixed values of the first positional, offered by completion */
	const char *const *arg_values;
	const char *summary;        /* one line */
	const char *description;    /* a paragraph for CMD --help */
	const struct cmd_opt *opts; /* {0}-terminated, may be NULL */
	cmd_render_fn render;
	/* filled at start-up: the parent group, for full names */
	const struct cmd *parent;
};

/* The table (cmdtable.c). */
extern struct cmd cmd_root[];

/* Dispatch argv (argv[0] is the first command word). Returns an exit
 * status; prints the result or the error unless collect is non-NULL, in
 * which case the result (or the error document) is stored there. */
int cli_dispatch(struct cli *cli, int argc, char **argv, json_t **collect);

/* Opens cli->ctx as cmd's flags ask (input: a dump, read-only). The
 * dispatcher does this before commands flagged CMD_CTX_*; others may call
 * it themselves. Returns an exit status. */
int cli_open(struct cli *cli, const struct cmd *cmd, const char *input);

/* Look a word up among cmds: exact name or unique prefix. NULL with the
 * usage error recorded when unknown or ambiguous. */
const struct cmd *cmd_lookup(struct cli *cli, const struct cmd *cmds,
			     const char *word, const char *parent_name);
/* "domain list" for the list entry of domain; static buffer. */
const char *cmd_full_name(const struct cmd *cmd);
void cmd_table_init(void);

/* Errors: record and return the exit status. */
int cli_usage(struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int cli_fail(struct cli *cli, int neg_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A library failure: the library's own message when it gave one. */
int cli_fail_lib(struct cli *cli, int neg_errno, const char *what);
/* The command that puts right what the library's remedy r says (with its
 * argument), written into buf; NULL for none. */
const char *cli_remedy_hint(enum xgm_remedy r, const char *arg, char *buf,
			    size_t len);
void cli_reset_error(struct cli *cli);
json_t *cli_error_doc(const struct cli *cli);
void cli_print_error(const struct cli *cli);

/* Option parsing for one command: returns the index into cmd->opts of the
 * next option, -1 at the end (then *optind_out is the first positional),
 * or -2 after recording a usage error. */
#define OPT_MAX_POSITIONAL 64
struct opt_iter {
	int argc;
	char **argv;
	int i;            /* next argv index */
	const char *arg;  /* value of the option just returned */
	bool done;
	char *pos[OPT_MAX_POSITIONAL + 1];
	int npos;
};
void opt_iter_init(struct opt_iter *it, int argc, char **argv);
int opt_next(struct cli *cli, const struct cmd *cmd, struct opt_iter *it);
/* Positional arguments left after the options. */
int opt_rest(const struct opt_iter *it, char ***argv);
/* For a command without options of its own: the positionals (pointing
 * into it, which the caller owns), or -1 after a usage error. */
int opt_parse_none(struct cli *cli, const struct cmd *cmd, struct opt_iter *it,
		   int argc, char **argv, char ***args);
/* Unknown options, missing values, too few or too many positionals: the
 * dispatcher refuses them before it opens anything. */
int opt_validate(struct cli *cli, const struct cmd *cmd, int argc, char **argv);

/* Rendering. */
void render_result(struct cli *cli, const struct cmd *cmd, json_t *out, FILE *f);
void render_generic(json_t *v, FILE *f);
/* Prints s with control characters escaped (names are untrusted). */
void fput_escaped(const char *s, FILE *f);
void print_json(struct cli *cli, json_t *doc, FILE *f);
/* Reals with 15 significant digits: 577.2 prints as 577.2, not as
 * 577.20000000000005. */
#define JSON_DOC_FLAGS JSON_REAL_PRECISION(15)

/* Column specs (columns.c): what a command shows of its document and how.
 * The same spec lays out a table (header, alignment) or "key : value"
 * lines (header as the label). */
enum col_fmt {
	COL_TEXT,  /* strings, left-aligned */
	COL_DEC,   /* integers, right-aligned */
	COL_HEX,   /* frame numbers and addresses: 0x... */
	COL_SIZE,  /* bytes: B/KiB/MiB/GiB */
	COL_US,    /* a time in µs: µs/ms/s with fixed precision */
	COL_MS,    /* a time in ms, shown the same way */
	COL_NS,    /* a time in ns, shown the same way */
	COL_RATIO, /* 1.23x */
	COL_YESNO, /* booleans */
};
struct col {
	const char *key;    /* JSON key; "a.b" reaches into nested objects */
	const char *header; /* table header, or the label of a line */
	enum col_fmt fmt;
	bool hide_zero;     /* omit when 0 (a table: when 0 in every row) */
	bool hide_absent;   /* a table: omit when no row has the key */
};
json_t *json_path(json_t *v, const char *path);
void fmt_size(uint64_t bytes, char *buf, size_t len);
void fmt_us(double us, char *buf, size_t len);
void fmt_value(enum col_fmt fmt, json_t *v, char *buf, size_t len);
void render_cols(const struct col *cols, json_t *rows, FILE *f, int indent);
/* A table, or the sentence empty when there are no rows (an indented
 * sentence: an indented table). */
void render_rows(const struct col *cols, json_t *rows, FILE *f, const char *empty);
/* At most max rows (a few more are shown whole), then "... and N more". */
void render_cols_max(const struct col *cols, json_t *rows, FILE *f, int indent,
		     size_t max, const char *what);
void render_fields(const struct col *cols, json_t *obj, FILE *f, int indent);
void render_line(FILE *f, const char *label, int w, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The text renderer of a command (views.c), NULL for the generic one. */
cmd_render_fn view_renderer(const struct cmd *cmd);

/* Progress on stderr for long work (progress.c): only when stderr is a
 * terminal, never with -j or -q. */
void progress_begin(struct cli *cli);
void progress_end(void);

/* Help (help.c). */
void help_print_command(const struct cmd *cmd, FILE *f);
void help_print_overview(FILE *f);
json_t *help_json_command(const struct cmd *cmd);

/* Completion engine shared by __complete and the shell. */
json_t *complete_words(struct cli *cli, int argc, char **argv);

/* Splits a batch or shell line into words (quotes and backslashes as in
 * sh, no expansion). Returns -EINVAL on an unterminated quote. */
int split_line(const char *line, int *argc, char ***argv);
void free_words(int argc, char **argv);

#endif /* XGM_CLI_H */
