/* SPDX-License-Identifier: LGPL-2.1-only */
/* What a file is, from its first bytes. */
#ifndef XGM_UTIL_FILE_H
#define XGM_UTIL_FILE_H

#include <stdbool.h>

/* Does path start with SQLite's header (the simulated host's state)? */
bool xgm_file_is_sqlite(const char *path);

#endif /* XGM_UTIL_FILE_H */
