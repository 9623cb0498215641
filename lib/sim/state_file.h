/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The simulated host's state file: where it lives, its lock, and its
 * atomic replacement. Knows the envelope {"schema":..., "version":N, ...}
 * but nothing of the model inside it.
 */
#ifndef XGM_SIM_STATE_FILE_H
#define XGM_SIM_STATE_FILE_H

#include <jansson.h>

#include "xgpumap-sim.h"

#define SIM_STATE_SCHEMA "xgpumap-sim-state"
/* 2: the p2m's emptied tables, passthrough guests, the host's extensions;
 * 3: buffers as objects with flat pairs (util/pairs.h), as blob records.
 * An older state is refused (see check_envelope()). */
#define SIM_STATE_VERSION 3

struct sim_state_file;

/* Resolves the path (NULL: $XGPUMAP_SIM_STATE, $XDG_STATE_HOME/xgpumap/
 * sim.json, ~/.local/state/xgpumap/sim.json); malloc'd, NULL + errno. */
char *sim_state_resolve(const char *path);

/*
 * Opens and locks the state at path for the whole life of the handle:
 * shared for XGM_ACCESS_READ, exclusive for XGM_ACCESS_WRITE.
 * *doc is the parsed document, or NULL when there is no state yet (the file
 * is absent, or was just created empty by us). A file that exists but is
 * corrupt, truncated or of another schema/version fails with -EBADMSG
 * (-EPROTONOSUPPORT for a future version) and a message in xgm_last_error().
 * With create false, a missing file is -ENOENT and nothing is created;
 * a read-only open never creates anything either.
 */
int sim_state_open(const char *path, enum xgm_access access, bool create,
		   struct sim_state_file **out, json_t **doc);

/* Takes the exclusive lock without reading what is there (sim init
 * --force, sim reset: the old content may be corrupt). */
int sim_state_lock_for_replace(const char *path, struct sim_state_file **out);

/* Replaces the file atomically with doc (temp file in the same directory,
 * fsync, rename, fsync of the directory). The envelope keys are added.
 * Needs an exclusive open. */
int sim_state_save(struct sim_state_file *f, json_t *doc);

/* Per-operation locking (a context holds no lock between operations):
 * lock takes the lock again, shared or exclusive, on the open handle;
 * unlock lets it go. */
int sim_state_lock(struct sim_state_file *f, bool exclusive);
void sim_state_unlock(struct sim_state_file *f);
/* Under the lock: has anyone replaced the file since this handle last
 * read or wrote it? If so, *doc is what is there now (checked as at
 * open), else NULL. */
int sim_state_reload(struct sim_state_file *f, json_t **doc);
/* The next reload reads the file whatever it is. */
void sim_state_forget(struct sim_state_file *f);

/* Releases the lock. */
void sim_state_close(struct sim_state_file *f);

const char *sim_state_path(const struct sim_state_file *f);

#endif /* XGM_SIM_STATE_FILE_H */
