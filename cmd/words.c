// SPDX-License-Identifier: GPL-2.0-only
/* Splitting a batch or shell line into words: sh quoting, no expansion. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int push(int *argc, char ***argv, char *word)
{
	char **grown = realloc(*argv, sizeof(char *) * (size_t)(*argc + 2));

	if (!grown) {
		free(word);
		return -ENOMEM;
	}
	grown[(*argc)++] = word;
	grown[*argc] = NULL;
	*argv = grown;
	return 0;
}

int split_line(const char *line, int *argc_out, char ***argv_out)
{
	size_t len = strlen(line);
	char *word = malloc(len + 1);
	char **argv = NULL;
	int argc = 0, ret = 0;
	const char *p = line;

	if (!word)
		return -ENOMEM;
	while (*p) {
		size_t n = 0;
		bool have = false;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			break;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			have = true;
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');

				if (!end) {
					ret = -EINVAL;
					goto out;
				}
				memcpy(word + n, p + 1, (size_t)(end - p - 1));
				n += (size_t)(end - p - 1);
				p = end + 1;
			} else if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					word[n++] = *p++;
				}
				if (*p != '"') {
					ret = -EINVAL;
					goto out;
				}
				p++;
			} else if (*p == '\\' && p[1]) {
				word[n++] = p[1];
				p += 2;
			} else {
				word[n++] = *p++;
			}
		}
		if (have) {
			char *copy = strndup(word, n);

			if (!copy || push(&argc, &argv, copy)) {
				ret = -ENOMEM;
				goto out;
			}
		}
	}
	if (!argv)
		argv = calloc(1, sizeof(char *));
	if (!argv)
		ret = -ENOMEM;
out:
	free(word);
	if (ret) {
		free_words(argc, argv);
		return ret;
	}
	*argc_out = argc;
	*argv_out = argv;
	return 0;
}

void free_words(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}
