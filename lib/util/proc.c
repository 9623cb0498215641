// SPDX-License-Identifier: LGPL-2.1-only
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/proc.h"

uint64_t xgm_proc_start_time(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name (field 2) may hold spaces and parens: skip past its end. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%*u %*u %*d %*d %*d %*d %*d %*d %llu", &t) != 1)
		return 0;
	return t;
}

void xgm_proc_self(char *buf, size_t len)
{
	snprintf(buf, len, "%ld %" PRIu64, (long)getpid(),
		 xgm_proc_start_time(getpid()));
}

bool xgm_proc_alive(long pid, uint64_t start)
{
	return pid > 0 && start && xgm_proc_start_time(pid) == start;
}
