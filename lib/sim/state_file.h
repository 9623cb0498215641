/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The simulated host's state: where it lives, its lock, and the SQLite
 * database that holds it (its schema and version, its transactions).
 * Knows nothing of the model; sim/state_rows.c reads and writes its rows.
 */
#ifndef XGM_SIM_STATE_FILE_H
#define XGM_SIM_STATE_FILE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "xgpumap-sim.h"

#define SIM_STATE_SCHEMA "xgpumap-sim-state"
/* 1-3: one JSON document, replaced whole by every write (refused now, and
 *      imported by 'sim import');
 * 4:   an SQLite database of rows: the host, each domain, each buffer,
 *      each store key, written as they change;
 * 5:   the same, with page references and ram-mmio mappings as runs in
 *      their rows. A version 4 state is read as it is (its rows' forms
 *      are read still) and becomes version 5 at its first write. */
#define SIM_STATE_VERSION 5
#define SIM_STATE_VERSION_READ 4 /* the oldest database read as it is */

struct sim_state_file;

/* Resolves the path (NULL: $XGPUMAP_SIM_STATE, $XDG_STATE_HOME/xgpumap/
 * sim.db, ~/.local/state/xgpumap/sim.db); malloc'd, NULL + errno. */
char *sim_state_resolve(const char *path);

/*
 * Opens the state at path and takes its lock, shared for XGM_ACCESS_READ,
 * exclusive for XGM_ACCESS_WRITE, and starts a transaction under it.
 * *exists is false when there was no file: the caller writes the host,
 * which its first commit puts at path whole (made beside it, renamed). A file that is not a sim state, is
 * corrupt or of another version fails with -EBADMSG (-EPROTONOSUPPORT for
 * another version, a JSON state of xgpumap before 4 included) and a
 * message in xgm_last_error(), and is never written. With create false, a
 * missing file is -ENOENT; a read-only open never creates anything.
 */
int sim_state_open(const char *path, enum xgm_access access, bool create,
		   struct sim_state_file **out, bool *exists);

/* Takes the exclusive lock and makes the state empty, whatever was there
 * (sim init --force, sim reset: the old content may be corrupt). */
int sim_state_open_for_replace(const char *path, struct sim_state_file **out);

/*
 * Per-operation locking (a context holds no lock between operations):
 * lock takes the lock again, shared or exclusive, and starts a
 * transaction; commit makes what the transaction wrote durable and starts
 * the next (the lock stays); unlock rolls back what was not committed and
 * lets the lock go. Waiting for the lock says so on stderr after a second
 * and gives up with -EAGAIN after $XGPUMAP_LOCK_WAIT seconds (default 30).
 */
int sim_state_lock(struct sim_state_file *f, bool exclusive);
int sim_state_commit(struct sim_state_file *f);
int sim_state_rollback(struct sim_state_file *f);
void sim_state_unlock(struct sim_state_file *f);

/* Under the lock: has another process written the state since this handle
 * last looked? Reopens the database when the file was replaced. */
int sim_state_changed(struct sim_state_file *f, bool *changed);

/* The statement of sql (a string literal: its address is the key),
 * prepared once per connection when *cached; else the caller's own, to
 * finalize. */
int sim_state_stmt(struct sim_state_file *f, const char *sql,
		   sqlite3_stmt **st, bool *cached);

/* An SQLite failure as an errno, with a message naming the state. */
int sim_state_fail(struct sim_state_file *f, int rc, const char *what);

sqlite3 *sim_state_db(const struct sim_state_file *f);
bool sim_state_writable(const struct sim_state_file *f);
void sim_state_close(struct sim_state_file *f);
const char *sim_state_path(const struct sim_state_file *f);

#endif /* XGM_SIM_STATE_FILE_H */
