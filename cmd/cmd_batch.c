// SPDX-License-Identifier: GPL-2.0-only
/*
 * batch FILE: one command per line through the same dispatcher. In JSON
 * mode the whole run is one array of {"command":[...],"output":...} or
 * {"command":[...],"error":...}, never an error spliced into a stream.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"

static json_t *words_json(int argc, char **argv)
{
	json_t *a = json_array();

	for (int i = 0; i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	return a;
}

int do_batch(struct cli *cli, const struct cmd *self, int argc, char **argv,
	     json_t **out)
{
	bool keep_going = false;
	int status = 0, first_fail = 0, idx, n, lineno = 0;
	char **args, *line = NULL, path[4096];
	size_t cap = 0;
	json_t *results;
	struct opt_iter it;
	struct stat st;
	FILE *in;

	if (cli->in_batch || cli->in_shell)
		return cli_usage(cli, "batch cannot run inside batch or shell");
	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		if (!strcmp(self->opts[idx].name, "keep-going"))
			keep_going = true;
	if (idx == -2)
		return cli->error.status;
	n = opt_rest(&it, &args);
	if (n != 1)
		return cli_usage(cli, "batch: expected one FILE ('-' for stdin)");
	snprintf(path, sizeof(path), "%s", args[0]);
	in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!in)
		return cli_fail(cli, -errno, "batch: cannot open %s: %s", path,
				strerror(errno));
	/* fopen() opens a directory; its first read fails with EISDIR. */
	if (fstat(fileno(in), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(in);
		return cli_fail(cli, -EISDIR, "batch: %s: %s", path,
				strerror(EISDIR));
	}

	results = json_array();
	cli->in_batch = true;
	while (getline(&line, &cap, in) > 0) {
		int wc, rc;
		char **words;
		json_t *res = NULL, *entry;

		lineno++;
		rc = split_line(line, &wc, &words);
		if (rc) {
			cli_reset_error(cli);
			rc = cli_usage(cli, "batch: line %d: unterminated quote", lineno);
			json_t *doc = cli_error_doc(cli);

			entry = json_pack("{s:[],s:O}", "command", "error",
					  json_object_get(doc, "error"));
			json_decref(doc);
			if (!cli->json)
				cli_print_error(cli);
		} else if (!wc) {
			free_words(wc, words);
			continue;
		} else {
			json_t *cmdwords = words_json(wc, words);

			if (cli->json) {
				rc = cli_dispatch(cli, wc, words, &res);
				if (rc && json_object_get(res, "error"))
					entry = json_pack("{s:o,s:O}", "command", cmdwords,
							  "error", json_object_get(res, "error"));
				else if (rc)
					/* Failed with a result (check's findings). */
					entry = json_pack("{s:o,s:O?,s:i}", "command", cmdwords,
							  "output", res, "status", rc);
				else
					entry = json_pack("{s:o,s:O?}", "command", cmdwords,
							  "output", res);
				json_decref(res);
			} else {
				rc = cli_dispatch(cli, wc, words, NULL);
				json_decref(cmdwords);
				entry = NULL;
			}
			free_words(wc, words);
		}
		if (entry)
			json_array_append_new(results, entry);
		if (rc && !first_fail)
			first_fail = rc;
		if (rc && !keep_going)
			break;
	}
	free(line);
	if (in != stdin)
		fclose(in);
	cli->in_batch = false;
	cli_reset_error(cli);
	status = first_fail;
	if (cli->json) {
		/* The array is the one document, failures included; the exit
		 * status still says the run failed. */
		*out = results;
		return status;
	}
	json_decref(results);
	if (status) {
		/* Keep the first failure's exit status (usage, transient...). */
		cli_fail(cli, -EIO, keep_going ? "batch: some commands failed"
			 : "batch: stopped at line %d", lineno);
		cli->error.status = status;
	}
	return status;
}
