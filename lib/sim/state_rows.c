// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The model <-> the rows of the state database. A row's text is the
 * compact JSON of sim/persist.c's codec for its part; the text a row had
 * when read (or last written) stays with its part of the model, so a save
 * writes exactly the rows whose text is now different.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util/log.h"
#include "sim/state_rows.h"
#include "util/array.h"
#include "util/pairs.h"

#define ROW_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII)

struct stmt {
	struct sim_state_file *f;
	sqlite3_stmt *st;
	const char *sql;
	bool cached;
	int rc;
};

/* sql must be a string literal (sim_state_stmt). */
static int prepare(struct stmt *s, struct sim_state_file *f, const char *sql)
{
	s->f = f;
	s->sql = sql;
	s->rc = sim_state_stmt(f, sql, &s->st, &s->cached);
	return s->rc == SQLITE_OK ? 0 : sim_state_fail(f, s->rc, sql);
}

static void bind_text(struct stmt *s, int i, const char *v)
{
	if (s->rc == SQLITE_OK)
		s->rc = sqlite3_bind_text(s->st, i, v, -1, SQLITE_STATIC);
}

static void bind_int(struct stmt *s, int i, sqlite3_int64 v)
{
	if (s->rc == SQLITE_OK)
		s->rc = sqlite3_bind_int64(s->st, i, v);
}

/* SQLITE_ROW, SQLITE_DONE, or a failure as an errno (negative). */
static int step(struct stmt *s)
{
	if (s->rc != SQLITE_OK)
		return sim_state_fail(s->f, s->rc, s->sql);
	s->rc = sqlite3_step(s->st);
	if (s->rc == SQLITE_ROW || s->rc == SQLITE_DONE) {
		int rc = s->rc;

		s->rc = SQLITE_OK;
		return rc;
	}
	return sim_state_fail(s->f, s->rc, s->sql);
}

static int run(struct stmt *s)
{
	int rc = step(s);

	return rc < 0 ? rc : 0;
}

static void finish(struct stmt *s)
{
	if (s->cached) {
		sqlite3_reset(s->st);
		sqlite3_clear_bindings(s->st);
	} else {
		sqlite3_finalize(s->st);
	}
	s->st = NULL;
}

static int one(struct sim_state_file *f, const char *sql, const char *a,
	       const char *b)
{
	struct stmt s;
	int ret = prepare(&s, f, sql);

	if (ret)
		return ret;
	if (a)
		bind_text(&s, 1, a);
	if (b)
		bind_text(&s, 2, b);
	ret = run(&s);
	finish(&s);
	return ret;
}

static char *column_dup(struct stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s->st, i);

	return t ? strdup(t) : NULL;
}

/* The row's text as a JSON value, with the row named in the message. */
static json_t *parse_row(struct sim_state_file *f, const char *text,
			 const char *what)
{
	json_error_t jerr;
	json_t *j = text ? json_loads(text, JSON_REJECT_DUPLICATES, &jerr) :
			   NULL;

	if (!j)
		xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
				"%s: %s is not valid JSON (%s); refusing to use "
				"or overwrite it", sim_state_path(f), what,
				text ? jerr.text : "no text");
	return j;
}

/* A part's message names the state it came from. */
static int in_state(struct sim_state_file *f, int ret)
{
	char msg[400];

	if (ret != -EBADMSG)
		return ret;
	snprintf(msg, sizeof(msg), "%s", xgm_last_error());
	return xgm_fail_remedy(ret, XGM_REMEDY_SIM_RESET, NULL, "%s: %s; "
			       "refusing to use or overwrite it",
			       sim_state_path(f), msg);
}

static char *dump(json_t *j)
{
	char *t = j ? json_dumps(j, ROW_FLAGS) : NULL;

	json_decref(j);
	return t;
}

/* ---- load ------------------------------------------------------------- */

/* A domain's two rows as the one object sim/persist.c loads: a key in
 * both would be a guess, and is refused. */
static json_t *merge_rows(struct sim_state_file *f, const char *own,
			  const char *frames, const char *what)
{
	json_t *o = parse_row(f, own, what), *fr = o ? parse_row(f, frames, what) :
						   NULL;
	const char *k;
	json_t *v;

	if (!fr) {
		json_decref(o);
		return NULL;
	}
	json_object_foreach(fr, k, v)
		if (json_object_get(o, k)) {
			xgm_fail(-EBADMSG, "%s: \"%s\" is in both of its rows",
				 what, k);
			json_decref(o);
			json_decref(fr);
			return NULL;
		}
	if (json_object_update(o, fr)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(fr);
	return o;
}

static int load_domain(void *arg, struct sim_model *m, uint32_t domid)
{
	struct sim_rows *r = arg;
	struct sim_domain *d = NULL;
	char *text = NULL, *frames = NULL, what[48];
	struct stmt s;
	json_t *j = NULL;
	int ret = prepare(&s, r->f, "SELECT d.name, d.body, f.body FROM domains d "
			  "LEFT JOIN domain_frames f USING (domid) WHERE domid = ?");

	if (ret)
		return ret;
	snprintf(what, sizeof(what), "the rows of domain %u", domid);
	bind_int(&s, 1, domid);
	ret = step(&s);
	if (ret == SQLITE_ROW) {
		text = column_dup(&s, 1);
		frames = column_dup(&s, 2);
		j = merge_rows(r->f, text, frames, what);
		ret = j ? sim_persist_load_domain(m, j, domid, &d) : -EBADMSG;
		if (!ret && (d->domid != domid ||
			     strcmp(d->name, (const char *)sqlite3_column_text(s.st, 0)
					    ?: "")))
			ret = xgm_fail(-EBADMSG, "%s name another domain", what);
	} else if (ret == SQLITE_DONE) {
		ret = xgm_fail(-EBADMSG, "domain %u is in the index but has no "
			       "row", domid);
	}
	finish(&s);
	json_decref(j);
	if (!ret)
		ret = sim_persist_check_domain(m, d);
	if (!ret) {
		d->row = text;
		d->p2m_row = frames;
		/* What was just read is what the row holds. */
		if (d->p2m)
			sim_p2m_take_changed(d->p2m);
		d->frames_changed = false;
		return 0;
	}
	free(text);
	free(frames);
	return in_state(r->f, ret);
}

static int load_index(struct sim_rows *r)
{
	struct sim_dom_source *src = &r->src;
	struct stmt s;
	int rc, ret = prepare(&s, r->f, "SELECT domid, name FROM domains "
			      "ORDER BY domid");

	while (!ret && (rc = step(&s)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(s.st, 0);
		const char *name = (const char *)sqlite3_column_text(s.st, 1);

		if (id < 0 || id >= 0x7FF0 || !name ||
		    strlen(name) >= XGM_DOMAIN_NAME_MAX) {
			ret = xgm_fail(-EBADMSG, "a domain row has a bad domid or "
				       "name");
			break;
		}
		if (xgm_array_room(&src->index, src->nr, &src->cap,
				   sizeof(*src->index), 16)) {
			ret = -ENOMEM;
			break;
		}
		src->index[src->nr].domid = (uint32_t)id;
		snprintf(src->index[src->nr].name, XGM_DOMAIN_NAME_MAX, "%s", name);
		src->nr++;
	}
	if (!ret && rc < 0)
		ret = rc;
	finish(&s);
	return ret;
}

static int load_buffer(void *arg, struct sim_model *m, uint64_t id)
{
	struct sim_rows *r = arg;
	struct sim_buffer *b = NULL;
	char *text = NULL, what[48];
	struct stmt s;
	json_t *j = NULL;
	int ret = prepare(&s, r->f, "SELECT gpu, body FROM buffers WHERE id = ?");

	if (ret)
		return ret;
	snprintf(what, sizeof(what), "the row of buffer %llu",
		 (unsigned long long)id);
	bind_int(&s, 1, (sqlite3_int64)id);
	ret = step(&s);
	if (ret == SQLITE_ROW) {
		sqlite3_int64 gpu = sqlite3_column_int64(s.st, 0);

		text = column_dup(&s, 1);
		j = parse_row(r->f, text, what);
		ret = !j ? -EBADMSG : gpu < 0 || gpu > UINT32_MAX ?
		      xgm_fail(-EBADMSG, "%s: bad GPU", what) :
		      sim_persist_load_buffer(m, (unsigned int)gpu, j, &r->bufs);
		b = ret ? NULL : sim_gpu_buf(m, id);
		if (!ret && !b)
			ret = xgm_fail(-EBADMSG, "%s holds another buffer", what);
	} else if (ret == SQLITE_DONE) {
		ret = -ENOENT;
	}
	finish(&s);
	json_decref(j);
	if (b) {
		b->row = text;
		return 0;
	}
	free(text);
	return ret == -ENOENT ? ret : in_state(r->f, ret);
}

static int frame_owner(void *arg, uint64_t mfn, uint64_t *id)
{
	struct sim_rows *r = arg;
	struct stmt s;
	int ret = prepare(&s, r->f, "SELECT mfn, count, buffer FROM buffer_frames "
			  "WHERE mfn <= ? ORDER BY mfn DESC LIMIT 1");

	if (ret)
		return ret;
	bind_int(&s, 1, (sqlite3_int64)mfn);
	ret = step(&s);
	if (ret == SQLITE_ROW) {
		uint64_t first = (uint64_t)sqlite3_column_int64(s.st, 0);
		uint64_t count = (uint64_t)sqlite3_column_int64(s.st, 1);

		*id = (uint64_t)sqlite3_column_int64(s.st, 2);
		ret = mfn - first < count ? 0 : -ENOENT;
	} else if (ret == SQLITE_DONE) {
		ret = -ENOENT;
	}
	finish(&s);
	return ret;
}

/* fn for each id the query gives, until it returns non-zero. */
static int each_id(struct sim_state_file *f, const char *sql, sqlite3_int64 arg,
		   int (*fn)(uint64_t id, void *a), void *a)
{
	struct stmt s;
	int rc, ret = prepare(&s, f, sql);

	if (ret)
		return ret;
	if (arg >= 0)
		bind_int(&s, 1, arg);
	while ((rc = step(&s)) == SQLITE_ROW) {
		ret = fn((uint64_t)sqlite3_column_int64(s.st, 0), a);
		if (ret)
			break;
	}
	finish(&s);
	return ret ? ret : rc < 0 ? rc : 0;
}

static int by_lru(void *arg, unsigned int gpu, int (*fn)(uint64_t id, void *a),
		  void *a)
{
	return each_id(((struct sim_rows *)arg)->f, "SELECT id FROM buffers WHERE "
		       "gpu = ? AND vram = 1 AND pins = 0 ORDER BY lru", gpu, fn,
		       a);
}

static int each_buffer(void *arg, int (*fn)(uint64_t id, void *a), void *a)
{
	return each_id(((struct sim_rows *)arg)->f, "SELECT id FROM buffers "
		       "ORDER BY id", -1, fn, a);
}

int sim_rows_load(struct sim_state_file *f, struct sim_rows *r,
		  struct sim_model **out)
{
	struct sim_model *m = NULL;
	json_t *j = NULL;
	struct stmt s;
	int ret;

	sim_rows_free(r);
	r->f = f;
	ret = prepare(&s, f, "SELECT body FROM host WHERE id = 1");
	if (ret)
		return ret;
	ret = step(&s);
	if (ret == SQLITE_ROW) {
		r->host_row = column_dup(&s, 0);
		j = parse_row(f, r->host_row, "the host row");
		ret = j ? 0 : -EBADMSG;
	} else if (ret == SQLITE_DONE) {
		ret = xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
				      "%s has no host row", sim_state_path(f));
	}
	finish(&s);
	if (!ret)
		ret = sim_persist_load_host(j, &m);
	json_decref(j);
	if (!ret)
		ret = load_index(r);
	if (!ret) {
		r->src.load = load_domain;
		r->src.arg = r;
		m->src = &r->src;
		ret = sim_persist_check_host(m, r->src.nr);
	}
	if (!ret) {
		r->bsrc = (struct sim_buf_source){
			.load = load_buffer, .frame_owner = frame_owner,
			.by_lru = by_lru, .each = each_buffer, .arg = r,
		};
		m->bsrc = &r->bsrc;
	}
	if (!ret && r->src.err)
		ret = r->src.err;
	if (ret) {
		sim_model_free(m);
		return in_state(f, ret);
	}
	*out = m;
	return 0;
}

void sim_rows_free(struct sim_rows *r)
{
	sim_map_free(&r->bufs);
	free(r->host_row);
	free(r->src.index);
	memset(r, 0, sizeof(*r));
}

/* ---- save ------------------------------------------------------------- */

/* The first old text of key goes into undo (NULL: the row was absent). */
static int note_undo(json_t *undo, const char *key, const char *old)
{
	if (!undo || json_object_get(undo, key))
		return 0;
	return json_object_set_new(undo, key, old ? json_string(old) :
					      json_null()) ? -ENOMEM : 0;
}

static int put_host(struct sim_state_file *f, const char *text)
{
	return one(f, "INSERT OR REPLACE INTO host (id, body) VALUES (1, ?)",
		   text, NULL);
}

static int put_domain(struct sim_state_file *f, uint32_t domid,
		      const char *name, const char *text)
{
	struct stmt s;
	int ret = prepare(&s, f, "INSERT OR REPLACE INTO domains (domid, name, "
			  "body) VALUES (?, ?, ?)");

	if (ret)
		return ret;
	bind_int(&s, 1, domid);
	bind_text(&s, 2, name);
	bind_text(&s, 3, text);
	ret = run(&s);
	finish(&s);
	return ret;
}

/* A statement on the row of id, with text (when not NULL) as its second
 * parameter. */
static int id_row(struct sim_state_file *f, const char *sql, sqlite3_int64 id,
		  const char *text)
{
	struct stmt s;
	int ret = prepare(&s, f, sql);

	if (ret)
		return ret;
	bind_int(&s, 1, id);
	if (text)
		bind_text(&s, 2, text);
	ret = run(&s);
	finish(&s);
	return ret;
}

static int del_by_id(struct sim_state_file *f, const char *sql, sqlite3_int64 id)
{
	return id_row(f, sql, id, NULL);
}

struct frames_put {
	struct sim_state_file *f;
	uint64_t id, base;
};

static int put_frame_run(void *arg, uint64_t mfn, uint64_t count)
{
	struct frames_put *fp = arg;
	struct stmt s;
	int ret = prepare(&s, fp->f, "INSERT INTO buffer_frames (mfn, count, "
			  "buffer) VALUES (?, ?, ?)");

	if (ret)
		return ret;
	bind_int(&s, 1, (sqlite3_int64)(fp->base + mfn));
	bind_int(&s, 2, (sqlite3_int64)count);
	bind_int(&s, 3, (sqlite3_int64)fp->id);
	ret = run(&s);
	finish(&s);
	return ret;
}

static int put_block(void *arg, uint64_t off, uint64_t order)
{
	return order > 40 ? -EBADMSG : put_frame_run(arg, off, 1ull << order);
}

/*
 * A buffer's row and its index rows, all of its text (sim/persist.c's
 * buffer codec): its LRU columns and the runs of frames it holds (VRAM
 * blocks from the base of GPU gpu, or system frames), which the source
 * answers eviction and frame lookups from.
 */
static int put_buffer(struct sim_state_file *f, const struct sim_model *m,
		      uint64_t id, unsigned int gpu, const char *text)
{
	struct frames_put fp = { f, id, 0 };
	json_t *j = json_loads(text, 0, NULL), *blocks, *mfns;
	const char *place = json_string_value(json_object_get(j, "place"));
	struct stmt s;
	int ret;

	if (!j || !place || gpu >= m->nr_gpus) {
		json_decref(j);
		return xgm_fail(-EINVAL, "internal: buffer %llu's text or GPU",
				(unsigned long long)id);
	}
	ret = prepare(&s, f, "INSERT OR REPLACE INTO buffers (id, gpu, vram, "
		      "pins, lru, body) VALUES (?, ?, ?, ?, ?, ?)");
	if (!ret) {
		bind_int(&s, 1, (sqlite3_int64)id);
		bind_int(&s, 2, gpu);
		bind_int(&s, 3, !strcmp(place, "vram"));
		bind_int(&s, 4, json_integer_value(json_object_get(j, "pins")));
		bind_int(&s, 5, json_integer_value(json_object_get(j, "lru")));
		bind_text(&s, 6, text);
		ret = run(&s);
		finish(&s);
	}
	if (!ret)
		ret = del_by_id(f, "DELETE FROM buffer_frames WHERE buffer = ?",
				(sqlite3_int64)id);
	blocks = json_object_get(j, "blocks");
	mfns = json_object_get(j, "mfns");
	fp.base = m->gpus[gpu]->vram_base_mfn;
	if (!ret && blocks)
		ret = xgm_pairs_each(blocks, INT64_MAX, 40, put_block, &fp);
	fp.base = 0;
	if (!ret && mfns)
		ret = xgm_pairs_each(mfns, INT64_MAX, INT64_MAX, put_frame_run, &fp);
	json_decref(j);
	return ret;
}

static int del_buffer(struct sim_state_file *f, uint64_t id)
{
	return del_by_id(f, "DELETE FROM buffers WHERE id = ?", (sqlite3_int64)id) ?:
	       del_by_id(f, "DELETE FROM buffer_frames WHERE buffer = ?",
			 (sqlite3_int64)id);
}

static int put_frames(struct sim_state_file *f, uint32_t domid,
		      const char *text)
{
	return id_row(f, "INSERT OR REPLACE INTO domain_frames (domid, body) "
		      "VALUES (?, ?)", domid, text);
}


/* ---- what each domain reaches ------------------------------------------ */

/*
 * A domain's runs of frames are rows of domain_reach_runs (DOMID, first
 * mfn) and, for the overlap query, of the R*Tree domain_reach under the id
 * DOMID << 32 | N. A save writes the difference only: a blob adds a run or
 * two, not the domain's hundreds.
 */
#define REACH_ID(domid, n) ((sqlite3_int64)(domid) << 32 | (sqlite3_int64)(n))

struct run3 {
	uint64_t mfn, count;
	sqlite3_int64 id;
};

struct runs {
	struct run3 *r;
	size_t n, cap;
};

static int runs_add(struct runs *rs, uint64_t mfn, uint64_t count,
		    sqlite3_int64 id)
{
	if (xgm_array_room(&rs->r, rs->n, &rs->cap, sizeof(*rs->r), 64))
		return -ENOMEM;
	rs->r[rs->n++] = (struct run3){ mfn, count, id };
	return 0;
}

static int reach_leaves(const struct xgm_p2m_entry *e, uint64_t count,
			void *arg)
{
	return sim_rs_add(arg, e->mfn, e->mfn + (count << e->order) - 1);
}

/* The frames d may reach now, as sorted, coalesced ranges: every leaf of
 * its p2m (which its IOMMU tables mirror) and its iomem permissions. */
static int reach_now(const struct sim_domain *d, struct sim_rangeset *rs)
{
	int ret = d->p2m ? sim_p2m_walk_runs(d->p2m, 0, UINT64_MAX, reach_leaves,
					     rs) : 0;

	for (size_t i = 0; !ret && i < d->iomem.nr; i++)
		ret = sim_rs_add(rs, d->iomem.r[i].s, d->iomem.r[i].e);
	return ret;
}

/* The runs the rows hold for domid, by mfn. */
static int reach_stored(struct sim_state_file *f, uint32_t domid,
			struct runs *rs)
{
	struct stmt s;
	int rc, ret = prepare(&s, f, "SELECT mfn, count, id FROM domain_reach_runs "
			      "WHERE domid = ? ORDER BY mfn");

	if (ret)
		return ret;
	bind_int(&s, 1, domid);
	while (!ret && (rc = step(&s)) == SQLITE_ROW)
		ret = runs_add(rs, (uint64_t)sqlite3_column_int64(s.st, 0),
			       (uint64_t)sqlite3_column_int64(s.st, 1),
			       sqlite3_column_int64(s.st, 2));
	if (!ret && rc < 0)
		ret = rc;
	finish(&s);
	return ret;
}

static int reach_del(struct sim_state_file *f, uint32_t domid,
		     const struct run3 *r)
{
	struct stmt s;
	int ret = id_row(f, "DELETE FROM domain_reach WHERE id = ?", r->id, NULL);

	if (ret || (ret = prepare(&s, f, "DELETE FROM domain_reach_runs WHERE "
				  "domid = ? AND mfn = ?")))
		return ret;
	bind_int(&s, 1, domid);
	bind_int(&s, 2, (sqlite3_int64)r->mfn);
	ret = run(&s);
	finish(&s);
	return ret;
}

static int reach_ins(struct sim_state_file *f, uint32_t domid,
		     const struct sim_range *r, sqlite3_int64 id)
{
	struct stmt s;
	int ret = prepare(&s, f, "INSERT INTO domain_reach (id, lo, hi) VALUES "
			  "(?, ?, ?)");

	if (ret)
		return ret;
	bind_int(&s, 1, id);
	bind_int(&s, 2, (sqlite3_int64)r->s);
	bind_int(&s, 3, (sqlite3_int64)r->e);
	ret = run(&s);
	finish(&s);
	if (ret || (ret = prepare(&s, f, "INSERT INTO domain_reach_runs (domid, "
				  "mfn, count, id) VALUES (?, ?, ?, ?)")))
		return ret;
	bind_int(&s, 1, domid);
	bind_int(&s, 2, (sqlite3_int64)r->s);
	bind_int(&s, 3, (sqlite3_int64)(r->e - r->s + 1));
	bind_int(&s, 4, id);
	ret = run(&s);
	finish(&s);
	return ret;
}

/*
 * The rows of what domid reaches become want (NULL: none), by difference
 * with what they hold. Written with the domain's rows, so that a domain
 * not in memory reaches what its rows say.
 */
static int reach_write(struct sim_state_file *f, uint32_t domid,
		       const struct sim_rangeset *want)
{
	struct runs have = { 0 };
	sqlite3_int64 next = REACH_ID(domid, 0);
	size_t i = 0, j = 0, nw = want ? want->nr : 0;
	int ret = reach_stored(f, domid, &have);

	for (size_t k = 0; k < have.n; k++)
		if (have.r[k].id >= next)
			next = have.r[k].id + 1;
	while (!ret && (i < have.n || j < nw)) {
		const struct run3 *h = i < have.n ? &have.r[i] : NULL;
		const struct sim_range *w = j < nw ? &want->r[j] : NULL;

		if (h && w && h->mfn == w->s && h->mfn + h->count - 1 == w->e) {
			i++, j++;
		} else if (h && (!w || h->mfn <= w->s)) {
			ret = reach_del(f, domid, h);
			i++;
		} else if (next > REACH_ID(domid, UINT32_MAX)) {
			ret = -E2BIG;
		} else {
			ret = reach_ins(f, domid, w, next++);
			j++;
		}
	}
	free(have.r);
	return ret;
}

static int put_reach(struct sim_state_file *f, const struct sim_domain *d)
{
	struct sim_rangeset want = { 0 };
	int ret = reach_now(d, &want) ?: reach_write(f, d->domid, &want);

	sim_rs_free(&want);
	return ret;
}

static int del_reach(struct sim_state_file *f, uint32_t domid)
{
	return reach_write(f, domid, NULL);
}

struct reaching {
	uint32_t *ids;
	size_t n, cap;
};

static int add_domid(struct reaching *w, uint32_t id)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->ids[i] == id)
			return 0;
	if (xgm_array_room(&w->ids, w->n, &w->cap, sizeof(*w->ids), 16))
		return -ENOMEM;
	w->ids[w->n++] = id;
	return 0;
}

static int add_reaching(uint64_t id, void *arg)
{
	return add_domid(arg, (uint32_t)id);
}

int sim_rows_domains_reaching(struct sim_rows *r, const struct sim_model *m,
			      const struct xgm_extent *ext, size_t n,
			      uint32_t **domids, size_t *nd)
{
	struct reaching w = { 0 };
	int ret = 0;

	/* In memory a domain may have changed since its rows: it counts. */
	for (size_t i = 0; !ret && i < m->nr_doms; i++)
		ret = add_domid(&w, m->doms[i]->domid);
	for (size_t i = 0; !ret && i < n; i++) {
		struct stmt s;
		int rc;

		ret = prepare(&s, r->f, "SELECT DISTINCT id >> 32 FROM domain_reach "
			      "WHERE lo <= ? AND hi >= ?");
		if (ret)
			break;
		bind_int(&s, 1, (sqlite3_int64)(ext[i].mfn + ext[i].nr - 1));
		bind_int(&s, 2, (sqlite3_int64)ext[i].mfn);
		while (!ret && (rc = step(&s)) == SQLITE_ROW)
			ret = add_reaching((uint64_t)sqlite3_column_int64(s.st, 0),
					   &w);
		if (!ret && rc < 0)
			ret = rc;
		finish(&s);
	}
	if (ret) {
		free(w.ids);
		return ret;
	}
	*domids = w.ids;
	*nd = w.n;
	return 0;
}

/* Writes text over *row when they differ; *row then is text (taken).
 * 1 when it wrote, 0 when the row was already so, or -errno. */
static int save_part(char **row, char *text, json_t *undo, const char *key,
		     int (*put)(void *arg, const char *text), void *arg)
{
	int ret;

	if (!text)
		return -ENOMEM;
	if (*row && !strcmp(*row, text)) {
		free(text);
		return 0;
	}
	ret = note_undo(undo, key, *row) ?: put(arg, text);
	if (ret) {
		free(text);
		return ret;
	}
	free(*row);
	*row = text;
	return 1;
}

struct part {
	struct sim_state_file *f;
	const struct sim_model *m;
	const struct sim_domain *d;
	const struct sim_buffer *b;
};

static int put_host_part(void *arg, const char *text)
{
	return put_host(((struct part *)arg)->f, text);
}

static int put_domain_part(void *arg, const char *text)
{
	struct part *p = arg;

	return put_domain(p->f, p->d->domid, p->d->name, text);
}

static int put_frames_part(void *arg, const char *text)
{
	struct part *p = arg;

	return put_frames(p->f, p->d->domid, text);
}

/* A domain's frames are written when they changed: a p2m knows, and the
 * sim marks its PV frame list's and its iomem's changes. */
static bool take_frames_changed(struct sim_domain *d)
{
	bool changed = d->p2m && sim_p2m_take_changed(d->p2m);

	changed |= d->frames_changed;
	d->frames_changed = false;
	return changed || !d->p2m_row;
}

static int put_buffer_part(void *arg, const char *text)
{
	struct part *p = arg;

	return put_buffer(p->f, p->m, p->b->id, p->b->gpu, text);
}

int sim_rows_save(struct sim_rows *r, struct sim_model *m, json_t *undo)
{
	struct part p = { .f = r->f, .m = m };
	char key[40];
	int ret;

	/* The host row keeps the domains' counters summed: what the loaded
	 * ones did since they were read goes into it. */
	for (size_t i = 0; i < m->nr_doms; i++) {
		struct sim_domain *d = m->doms[i];

		sim_counters_add(&m->dom_ctr_base, &d->ctr);
		sim_counters_sub(&m->dom_ctr_base, &d->ctr_base);
		d->ctr_base = d->ctr;
	}
	ret = save_part(&r->host_row, dump(sim_persist_host(m)), undo, "h",
			put_host_part, &p);
	ret = ret < 0 ? ret : 0;
	for (size_t i = 0; !ret && i < m->nr_doms; i++) {
		struct sim_domain *d = m->doms[i];
		int own, frames = 0;

		p.d = d;
		snprintf(key, sizeof(key), "d:%u", d->domid);
		own = save_part(&d->row, dump(sim_persist_domain(d)), undo, key,
				put_domain_part, &p);
		key[0] = 'f';
		if (own >= 0 && take_frames_changed(d))
			frames = save_part(&d->p2m_row,
					   dump(sim_persist_domain_frames(d)),
					   undo, key, put_frames_part, &p);
		ret = own < 0 ? own : frames < 0 ? frames : 0;
		/* What the domain reaches is in its frames row (p2m, iomem). */
		if (!ret && frames)
			ret = put_reach(r->f, d);
	}
	for (size_t g = 0; !ret && g < m->nr_gpus; g++)
		for (size_t i = 0; !ret && i < m->gpus[g]->nr_bufs; i++) {
			struct sim_buffer *b = m->gpus[g]->bufs[i];

			if (!b->dirty && b->row)
				continue;
			b->dirty = false;
			p.b = b;
			snprintf(key, sizeof(key), "b:%llu:%u",
				 (unsigned long long)b->id, b->gpu);
			ret = save_part(&b->row, dump(sim_persist_buffer(b)),
					undo, key, put_buffer_part, &p);
			ret = ret < 0 ? ret : 0;
		}
	while (!ret && m->nr_gone) {
		struct sim_gone_buf *g = &m->gone[m->nr_gone - 1];

		snprintf(key, sizeof(key), "b:%llu:%u", (unsigned long long)g->id,
			 g->gpu);
		ret = note_undo(undo, key, g->row) ?: del_buffer(r->f, g->id);
		if (!ret) {
			free(g->row);
			m->nr_gone--;
		}
	}
	return ret;
}

static int put_store_entry(struct sim_state_file *f, const char *path,
			   const char *value)
{
	return one(f, "INSERT OR REPLACE INTO store (path, value) VALUES (?, ?)",
		   path, value);
}

int sim_rows_write_all(struct sim_state_file *f, struct sim_model *m)
{
	struct sim_rows r = { .f = f };
	const char *k;
	json_t *v;
	int ret = sim_dom_load_all(m);

	/* Nothing read: every row differs from "no row". */
	if (!ret)
		ret = sim_rows_save(&r, m, NULL);
	json_object_foreach(m->store, k, v) {
		if (ret)
			break;
		ret = put_store_entry(f, k, json_string_value(v));
	}
	sim_rows_free(&r);
	return ret;
}

/* ---- undo ------------------------------------------------------------- */

static int undo_one(struct sim_state_file *f, const struct sim_model *m,
		    const char *key, json_t *old)
{
	const char *text = json_string_value(old);
	unsigned long long id;
	unsigned int gpu = 0;
	json_t *j;
	int ret;

	if (!strcmp(key, "h"))
		return text ? put_host(f, text) :
			      one(f, "DELETE FROM host", NULL, NULL);
	if (!strncmp(key, "s:", 2))
		return text ? put_store_entry(f, key + 2, text) :
			      one(f, "DELETE FROM store WHERE path = ?", key + 2,
				  NULL);
	if (sscanf(key + 2, "%llu:%u", &id, &gpu) < 1)
		return -EINVAL;
	if (!strncmp(key, "b:", 2))
		return text ? put_buffer(f, m, id, gpu, text) : del_buffer(f, id);
	if (!strncmp(key, "f:", 2))
		return text ? put_frames(f, (uint32_t)id, text) :
			      del_by_id(f, "DELETE FROM domain_frames WHERE "
					"domid = ?", (sqlite3_int64)id);
	if (!text)
		return del_by_id(f, "DELETE FROM domains WHERE domid = ?",
				 (sqlite3_int64)id);
	j = json_loads(text, 0, NULL);
	ret = put_domain(f, (uint32_t)id,
			 json_string_value(json_object_get(j, "name")) ?: "", text);
	json_decref(j);
	return ret;
}

int sim_rows_reach_again(struct sim_rows *r, const struct sim_model *m,
			 json_t *undo)
{
	const char *key;
	json_t *old;
	int ret = 0;

	json_object_foreach(undo, key, old) {
		unsigned int domid;
		struct sim_domain *d;

		if ((key[0] != 'd' && key[0] != 'f') ||
		    sscanf(key + 2, "%u", &domid) != 1)
			continue;
		d = sim_dom_get(m, domid);
		ret = d ? put_reach(r->f, d) : del_reach(r->f, domid);
		if (ret)
			break;
	}
	return ret;
}

int sim_rows_undo(struct sim_state_file *f, const struct sim_model *m,
		  json_t *undo)
{
	const char *key;
	json_t *old;
	int ret = 0;

	json_object_foreach(undo, key, old) {
		ret = undo_one(f, m, key, old);
		if (ret)
			break;
	}
	return ret;
}

/* ---- the store -------------------------------------------------------- */

int sim_rows_store_get(struct sim_state_file *f, const char *path,
		       char **value)
{
	struct stmt s;
	int ret = prepare(&s, f, "SELECT value FROM store WHERE path = ?");

	if (ret)
		return ret;
	bind_text(&s, 1, path);
	ret = step(&s);
	if (ret == SQLITE_ROW) {
		*value = column_dup(&s, 0);
		ret = *value ? 0 : -ENOMEM;
	} else if (ret == SQLITE_DONE) {
		ret = -ENOENT;
	}
	finish(&s);
	return ret;
}

/* "s:PATH", for a path of any length the store takes (sim/backend.c's
 * check_path: 3072). */
#define STORE_UNDO_KEY_MAX (3072 + 3)

static int note_store_undo(struct sim_state_file *f, const char *path,
			   json_t *undo)
{
	char key[STORE_UNDO_KEY_MAX], *old = NULL;
	int ret;

	if (!undo)
		return 0;
	snprintf(key, sizeof(key), "s:%s", path);
	if (json_object_get(undo, key))
		return 0;
	ret = sim_rows_store_get(f, path, &old);
	if (ret && ret != -ENOENT)
		return ret;
	ret = note_undo(undo, key, old);
	free(old);
	return ret;
}

int sim_rows_store_put(struct sim_state_file *f, const char *path,
		       const char *value, json_t *undo)
{
	return note_store_undo(f, path, undo) ?: put_store_entry(f, path, value);
}

/*
 * The keys strictly under dir are those between "dir/" and "dir0" ('0'
 * follows '/' in byte order); under "/" every key but "/" is.
 */
static int range(const char *dir, char **lo, char **hi)
{
	size_t n = strlen(dir);

	if (n == 1)
		n = 0;
	*lo = malloc(n + 2);
	*hi = malloc(n + 2);
	if (!*lo || !*hi) {
		free(*lo);
		free(*hi);
		return -ENOMEM;
	}
	memcpy(*lo, dir, n);
	memcpy(*hi, dir, n);
	(*lo)[n] = '/';
	(*hi)[n] = '0';
	(*lo)[n + 1] = (*hi)[n + 1] = '\0';
	return 0;
}

int sim_rows_store_walk(struct sim_state_file *f, const char *dir,
			int (*fn)(const char *path, const char *value, void *arg),
			void *arg)
{
	char *lo, *hi;
	struct stmt s;
	int rc, found = 0, ret = range(dir, &lo, &hi);

	if (ret)
		return ret;
	ret = prepare(&s, f, "SELECT path, value FROM store WHERE path > ? AND "
		      "path < ? ORDER BY path");
	if (!ret) {
		bind_text(&s, 1, lo);
		bind_text(&s, 2, hi);
		while ((rc = step(&s)) == SQLITE_ROW) {
			ret = fn((const char *)sqlite3_column_text(s.st, 0),
				 (const char *)sqlite3_column_text(s.st, 1), arg);
			if (ret)
				break;
			found = 1;
		}
		if (!ret && rc < 0)
			ret = rc;
		finish(&s);
	}
	free(lo);
	free(hi);
	return ret ? ret : found ? 0 : -ENOENT;
}

static int note_each(const char *path, const char *value, void *undo)
{
	char key[STORE_UNDO_KEY_MAX];

	snprintf(key, sizeof(key), "s:%s", path);
	return note_undo(undo, key, value);
}

int sim_rows_store_rm(struct sim_state_file *f, const char *path, json_t *undo)
{
	char *lo, *hi;
	struct stmt s;
	int ret, gone = 0;

	/* The key itself and every key under it, as they were. */
	ret = note_store_undo(f, path, undo);
	if (!ret && undo) {
		ret = sim_rows_store_walk(f, path, note_each, undo);
		ret = ret == -ENOENT ? 0 : ret;
	}
	if (ret || (ret = range(path, &lo, &hi)))
		return ret;
	ret = prepare(&s, f, "DELETE FROM store WHERE path = ? OR (path > ? AND "
		      "path < ?)");
	if (!ret) {
		bind_text(&s, 1, path);
		bind_text(&s, 2, lo);
		bind_text(&s, 3, hi);
		ret = run(&s);
		if (!ret)
			gone = sqlite3_changes(sim_state_db(f));
		finish(&s);
	}
	free(lo);
	free(hi);
	return ret ? ret : gone ? 0 : -ENOENT;
}
