// SPDX-License-Identifier: LGPL-2.1-only
#include <stdio.h>
#include <string.h>

#include "util/file.h"

bool xgm_file_is_sqlite(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	FILE *fp = fopen(path, "re");
	bool yes = fp && fread(head, 1, sizeof(head), fp) == sizeof(head) &&
		   !memcmp(head, magic, sizeof(magic));

	if (fp)
		fclose(fp);
	return yes;
}
