// SPDX-License-Identifier: GPL-2.0-only
/*
 * A progress line on stderr while long work runs (bench, a guest read of
 * a large range, migrate --repeat): rewritten in place at most ten times a
 * second and erased at the end, so it never mixes with the result. Only
 * for a person at a terminal: never with -j, -q or a redirected stderr.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static struct {
	bool shown;
	double last;
	char what[96];
} progress;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_progress(const char *what, uint64_t done, uint64_t total,
			void *user)
{
	double t = now_s();

	/* A new step shows at once; counts within a step at 10 Hz. */
	if (progress.shown && !strcmp(what, progress.what) && t - progress.last < 0.1)
		return;
	snprintf(progress.what, sizeof(progress.what), "%s", what);
	progress.last = t;
	progress.shown = true;
	fputs("\r\033[K", stderr);
	fput_escaped(what, stderr);
	if (total)
		fprintf(stderr, " %llu/%llu (%.0f%%)", (unsigned long long)done,
			(unsigned long long)total, 100.0 * (double)done / (double)total);
	fflush(stderr);
}

void progress_begin(struct cli *cli)
{
	if (cli->json || cli->quiet || !isatty(STDERR_FILENO))
		return;
	progress.shown = false;
	progress.what[0] = '\0';
	xgm_set_progress(on_progress, NULL);
}

void progress_end(void)
{
	xgm_set_progress(NULL, NULL);
	if (progress.shown)
		fputs("\r\033[K", stderr);
	progress.shown = false;
}
