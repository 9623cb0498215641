// SPDX-License-Identifier: GPL-2.0-only
/*
 * shell: a readline REPL over the same dispatcher, with history and tab
 * completion from the command table. A failing command prints its error
 * and the shell goes on; "exit" or end of input leaves.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

#ifdef XGM_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>

static struct cli *shell_cli;
static json_t *shell_candidates;
static size_t shell_next;

static char *candidate_generator(const char *text, int state)
{
	json_t *c;

	if (!state)
		shell_next = 0;
	c = json_array_get(shell_candidates, shell_next++);
	return c ? strdup(json_string_value(c)) : NULL;
}

/* Completes the word at the cursor from the words before it. */
static char **shell_complete(const char *text, int start, int end)
{
	char *head = strndup(rl_line_buffer, (size_t)start);
	char **words = NULL, **all;
	int n = 0;

	rl_attempted_completion_over = 1;
	if (!head || split_line(head, &n, &words)) {
		free(head);
		return NULL;
	}
	free(head);
	all = realloc(words, sizeof(char *) * (size_t)(n + 2));
	if (!all) {
		free_words(n, words);
		return NULL;
	}
	words = all;
	words[n] = strdup(text);
	words[n + 1] = NULL;
	json_decref(shell_candidates);
	shell_candidates = complete_words(shell_cli, n + 1, words);
	free_words(n + 1, words);
	return rl_completion_matches(text, candidate_generator);
}

static char *history_path(void)
{
	const char *base = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char *p = NULL;

	if (base && *base)
		return asprintf(&p, "%s/xgpumap/history", base) < 0 ? NULL : p;
	if (home && *home)
		return asprintf(&p, "%s/.local/state/xgpumap/history", home) < 0 ? NULL : p;
	return NULL;
}

static char *read_plain(void);

/* readline on a terminal; piped input is read plainly, so nothing is
 * echoed into what may be a JSON stream. */
static char *read_line(const char *prompt)
{
	if (!isatty(STDIN_FILENO))
		return read_plain();
	return readline(prompt);
}

static void shell_setup(struct cli *cli, char **hist)
{
	shell_cli = cli;
	rl_readline_name = "xgpumap";
	rl_attempted_completion_function = shell_complete;
	*hist = history_path();
	if (*hist)
		read_history(*hist);
}

static void shell_teardown(char *hist)
{
	if (hist && isatty(STDIN_FILENO)) {
		char *dir = strdup(hist), *slash = dir ? strrchr(dir, '/') : NULL;

		/* $XDG_STATE_HOME/xgpumap may not exist yet. */
		if (slash) {
			*slash = '\0';
			for (char *p = dir + 1; *p; p++) {
				if (*p == '/') {
					*p = '\0';
					mkdir(dir, 0700);
					*p = '/';
				}
			}
			mkdir(dir, 0700);
		}
		free(dir);
		write_history(hist);
		history_truncate_file(hist, 1000);
	}
	free(hist);
	json_decref(shell_candidates);
	shell_candidates = NULL;
}

static void remember(const char *line)
{
	add_history(line);
}
#else
static char *read_plain(void);

static char *read_line(const char *prompt)
{
	if (isatty(STDIN_FILENO))
		fputs(prompt, stdout), fflush(stdout);
	return read_plain();
}

static void shell_setup(struct cli *cli, char **hist)
{
	*hist = NULL;
}

static void shell_teardown(char *hist)
{
}

static void remember(const char *line)
{
}
#endif

static char *read_plain(void)
{
	char *line = NULL;
	size_t cap = 0;

	if (getline(&line, &cap, stdin) < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

int do_shell(struct cli *cli, const struct cmd *self, int argc, char **argv,
	     json_t **out)
{
	struct opt_iter it;
	char **args, *line, *hist;

	if (cli->in_batch || cli->in_shell)
		return cli_usage(cli, "shell cannot run inside batch or shell");
	if (opt_parse_none(cli, self, &it, argc, argv, &args))
		return cli_usage(cli, "shell: unexpected argument '%s'", args[0]);
	/* Each command would print its own document: stdout would not be
	 * one JSON document. batch gives one for the whole input. */
	if (cli->json)
		return cli_usage(cli, "shell: -j would print one document per "
				 "command; use 'xgpumap -j batch -' for one "
				 "document (or -j on a line of the shell)");
	shell_setup(cli, &hist);
	cli->in_shell = true;
	if (isatty(STDIN_FILENO) && !cli->quiet)
		fputs("xgpumap shell: 'help' lists the commands, Tab "
		      "completes, 'exit' or Ctrl-D leaves.\n", stderr);
	while ((line = read_line("xgpumap> "))) {
		char **words;
		int n;

		if (split_line(line, &n, &words)) {
			/* Kept in the history: recalled and fixed. */
			remember(line);
			fprintf(stderr, "xgpumap: unterminated quote (Up "
				"recalls the line to fix it)\n");
		} else if (n) {
			remember(line);
			if (!strcmp(words[0], "exit") || !strcmp(words[0], "quit")) {
				free_words(n, words);
				free(line);
				break;
			}
			cli_dispatch(cli, n, words, NULL);
			free_words(n, words);
		} else {
			free_words(n, words);
		}
		free(line);
	}
	cli->in_shell = false;
	cli_reset_error(cli);
	shell_teardown(hist);
	return 0;
}
