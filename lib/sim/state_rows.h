/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The model as rows of the state database (sim/state_file.h): one for the
 * host's own fields, one per domain, one per buffer, one per store key.
 * A command loads the host, and a domain or a buffer when it first looks
 * it up; a save writes the rows whose text changed. Every row is
 * untrusted on read and checked as sim/persist.c checks a whole state.
 */
#ifndef XGM_SIM_STATE_ROWS_H
#define XGM_SIM_STATE_ROWS_H

#include <jansson.h>

#include "sim/model.h"
#include "sim/state_file.h"

/* What rows a model came from: the host row's text, and where its
 * domains not yet loaded are. Owned by the backend, beside the model. */
struct sim_rows {
	struct sim_state_file *f;
	char *host_row;
	struct sim_dom_source src;
	struct sim_buf_source bsrc;
	struct sim_u64map bufs; /* the buffers loaded: a repeated id is refused */
};

/* The model of the rows in f's open transaction; r keeps what loading on
 * demand needs, and must outlive the model. */
int sim_rows_load(struct sim_state_file *f, struct sim_rows *r,
		  struct sim_model **out);
void sim_rows_free(struct sim_rows *r);

/*
 * Writes the rows of m that changed since they were read or written, and
 * deletes the buffers freed meanwhile. undo, when not NULL, gets each
 * row's text before its first change ("h", "d:DOMID", "f:DOMID" (its frames), "b:ID:GPU" -> text or
 * null), for sim_rows_undo().
 */
int sim_rows_save(struct sim_rows *r, struct sim_model *m, json_t *undo);
/* Every row of m, in a state just made empty (init, reset, import). */
int sim_rows_write_all(struct sim_state_file *f, struct sim_model *m);
/* Puts back what undo recorded (store keys "s:PATH" too); m gives the
 * GPUs' bases. */
int sim_rows_undo(struct sim_state_file *f, const struct sim_model *m,
		  json_t *undo);

/* After an undo and a load of the rows it put back: what each domain it
 * touched reaches, again from the domain. */
int sim_rows_reach_again(struct sim_rows *r, const struct sim_model *m,
			 json_t *undo);

/* The domains that may reach any frame of ext (xgm_hv_ops.
 * domains_reaching): every domain in memory, and those whose rows do. */
int sim_rows_domains_reaching(struct sim_rows *r, const struct sim_model *m,
			      const struct xgm_extent *ext, size_t n,
			      uint32_t **domids, size_t *nd);

/* The store, as xenstore's semantics (sim/backend.c): undo as above. */
int sim_rows_store_get(struct sim_state_file *f, const char *path,
		       char **value);
int sim_rows_store_put(struct sim_state_file *f, const char *path,
		       const char *value, json_t *undo);
/* path and everything under it; -ENOENT when there is nothing. */
int sim_rows_store_rm(struct sim_state_file *f, const char *path, json_t *undo);
/* Every key under dir (not dir itself), in path order. */
int sim_rows_store_walk(struct sim_state_file *f, const char *dir,
			int (*fn)(const char *path, const char *value, void *arg),
			void *arg);

#endif /* XGM_SIM_STATE_ROWS_H */
