/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Which process is which, across its death and a pid's reuse: a pid and
 * its start time name one process for ever (the owner of an ioreq server
 * is recorded so, lib/xen/ioreap.c and lib/sim/ioowner.c).
 */
#ifndef XGM_UTIL_PROC_H
#define XGM_UTIL_PROC_H

#include <stdbool.h>
#include <stdint.h>

/* Field 22 of /proc/PID/stat (clock ticks since boot), or 0 when there is
 * no such process. */
uint64_t xgm_proc_start_time(long pid);
/* "PID START" of this process, into buf. */
void xgm_proc_self(char *buf, size_t len);
/* Does the process named by pid and start still run? */
bool xgm_proc_alive(long pid, uint64_t start);

#endif /* XGM_UTIL_PROC_H */
