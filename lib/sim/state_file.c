// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The state's lock and its database.
 *
 * An operation is one lock on a sibling "PATH.lock" (flock: shared to
 * read, exclusive to write) and, under it, SQLite transactions: a write
 * operation commits at each journal phase, and the lock keeps another
 * process from running between two of them, which SQLite's own locks
 * (released at each commit) would not. The lock file is never the
 * database: 'sim reset' replaces the database file, and a lock on the old
 * inode would not exclude a process that opened the new one.
 *
 * The database uses SQLite's rollback journal, not WAL: a reader then needs
 * nothing but read access to the file, as a read-only state directory
 * gives it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "backend.h"
#include "util/file.h"
#include "util/log.h"
#include "sim/state_file.h"

#define LOCK_WAIT_DEFAULT_S 30
#define LOCK_NOTICE_S 1.0

/* Statements prepared once per connection: their SQL is a literal of
 * sim/state_rows.c, so its address names it. */
#define STMT_CACHE 32

struct cached_stmt {
	const char *sql;
	sqlite3_stmt *st;
};

struct sim_state_file {
	char *path;
	struct cached_stmt stmts[STMT_CACHE];
	int lock_fd;
	bool exclusive;
	bool writable;   /* opened for writing */
	bool in_txn;
	sqlite3_int64 version; /* the database's, as read or written */
	/* A new state is made as PATH.new and renamed over PATH at its first
	 * commit: PATH is always a whole state, never a half-made one. */
	char *new_path;
	sqlite3 *db;
	sqlite3_int64 data_version;
	dev_t dev;       /* the database file this handle opened */
	ino_t ino;
};

static const char schema_sql[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;"
	"INSERT INTO meta VALUES ('schema', '" SIM_STATE_SCHEMA "');"
	"INSERT INTO meta VALUES ('version', 5);"
	"CREATE TABLE host (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" body TEXT NOT NULL);"
	"CREATE TABLE domains (domid INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE, body TEXT NOT NULL);"
	"CREATE TABLE domain_frames (domid INTEGER PRIMARY KEY"
	" REFERENCES domains (domid), body TEXT NOT NULL);"
	/* An R*Tree answers "who overlaps these frames" in log time; it
	 * keeps 32-bit floats, rounded outwards: a superset, as asked. Its
	 * ids (DOMID << 32 | N) are in domain_reach_runs, the runs by domain
	 * that a save writes the difference of (sim/state_rows.c). */
	"CREATE VIRTUAL TABLE domain_reach USING rtree (id, lo, hi);"
	"CREATE TABLE domain_reach_runs (domid INTEGER NOT NULL,"
	" mfn INTEGER NOT NULL, count INTEGER NOT NULL, id INTEGER NOT NULL,"
	" PRIMARY KEY (domid, mfn)) WITHOUT ROWID;"
	"CREATE TABLE buffers (id INTEGER PRIMARY KEY, gpu INTEGER NOT NULL,"
	" vram INTEGER NOT NULL, pins INTEGER NOT NULL, lru INTEGER NOT NULL,"
	" body TEXT NOT NULL);"
	"CREATE INDEX buffers_by_lru ON buffers (gpu, vram, pins, lru);"
	"CREATE TABLE buffer_frames (mfn INTEGER PRIMARY KEY,"
	" count INTEGER NOT NULL, buffer INTEGER NOT NULL);"
	"CREATE INDEX buffer_frames_by_buffer ON buffer_frames (buffer);"
	"CREATE TABLE store (path TEXT PRIMARY KEY, value TEXT NOT NULL)"
	" WITHOUT ROWID;";
_Static_assert(SIM_STATE_VERSION == 5, "schema_sql writes version 5");

char *sim_state_resolve(const char *path)
{
	const char *env = getenv("XGPUMAP_SIM_STATE");
	const char *base;
	char *out = NULL;

	if (path && *path)
		return strdup(path);
	if (env && *env)
		return strdup(env);
	base = getenv("XDG_STATE_HOME");
	if (base && *base) {
		if (asprintf(&out, "%s/xgpumap/sim.db", base) < 0)
			out = NULL;
	} else {
		base = getenv("HOME");
		if (!base || !*base) {
			errno = ENOENT;
			xgm_fail_remedy(-ENOENT, XGM_REMEDY_SIM_STATE, NULL,
					"cannot place the sim state: neither "
					"XDG_STATE_HOME nor HOME is set");
			return NULL;
		}
		if (asprintf(&out, "%s/.local/state/xgpumap/sim.db", base) < 0)
			out = NULL;
	}
	if (!out)
		errno = ENOMEM;
	return out;
}

/* mkdir -p of the directory that holds path. */
static int make_parent_dirs(const char *path)
{
	char *copy = strdup(path);
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) && errno != EEXIST)
			ret = -errno;
		*p = '/';
		if (ret)
			break;
	}
	if (ret)
		xgm_fail(ret, "cannot create the directory of %s: %s", path,
			 strerror(-ret));
	free(copy);
	return ret;
}

int sim_state_fail(struct sim_state_file *f, int rc, const char *what)
{
	const char *msg = f->db ? sqlite3_errmsg(f->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
	case SQLITE_SCHEMA:
	case SQLITE_MISMATCH:
	case SQLITE_CONSTRAINT:
		return xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
				       "%s is corrupt (%s: %s); refusing to use "
				       "or overwrite it", f->path, what, msg);
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return xgm_fail(-EROFS, "%s: %s: %s", f->path, what, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return xgm_fail(-EAGAIN, "%s is busy (%s: %s); try again",
				f->path, what, msg);
	case SQLITE_FULL:
		return xgm_fail(-ENOSPC, "%s: %s: %s", f->path, what, msg);
	default:
		return xgm_fail(-EIO, "%s: %s: %s", f->path, what, msg);
	}
}

static int exec(struct sim_state_file *f, const char *sql)
{
	int rc = sqlite3_exec(f->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sim_state_fail(f, rc, sql);
}

/* ---- the lock ------------------------------------------------------- */

/* Who holds the lock on fd's file, from /proc/locks (0: unknown). */
static long lock_holder(int fd)
{
	char line[256];
	struct stat st;
	long pid = 0;
	FILE *locks;

	if (fstat(fd, &st))
		return 0;
	locks = fopen("/proc/locks", "re");
	if (!locks)
		return 0;
	while (!pid && fgets(line, sizeof(line), locks)) {
		unsigned int maj, min;
		unsigned long ino;
		long p;

		if (strstr(line, "->") || !strstr(line, "FLOCK"))
			continue;
		if (sscanf(line, "%*d: FLOCK %*s %*s %ld %x:%x:%lu", &p, &maj,
			   &min, &ino) == 4 && ino == st.st_ino &&
		    makedev(maj, min) == st.st_dev)
			pid = p;
	}
	fclose(locks);
	return pid;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static double lock_wait_limit(void)
{
	const char *env = getenv("XGPUMAP_LOCK_WAIT");
	char *end;
	double v;

	if (!env || !*env)
		return LOCK_WAIT_DEFAULT_S;
	v = strtod(env, &end);
	return *end || v < 0 || v > 86400 ? LOCK_WAIT_DEFAULT_S : v;
}

/* flock, retried on EINTR; a wait longer than a second is said once,
 * one past the limit gives up (exit 3: try again). */
static int wait_for_lock(struct sim_state_file *f, bool exclusive)
{
	int op = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
	double limit = lock_wait_limit();
	struct timespec t0, nap = { 0, 5 * 1000 * 1000 };
	bool told = false;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (flock(f->lock_fd, op)) {
		double waited;

		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return xgm_fail(-errno, "cannot lock %s.lock: %s",
					f->path, strerror(errno));
		waited = seconds_since(&t0);
		if (!told && waited >= LOCK_NOTICE_S) {
			long pid = lock_holder(f->lock_fd);

			if (pid)
				xgm_warn("waiting for the host state %s, held "
					 "by pid %ld", f->path, pid);
			else
				xgm_warn("waiting for the host state %s, held "
					 "by another process", f->path);
			told = true;
		}
		if (waited >= limit) {
			long pid = lock_holder(f->lock_fd);
			char who[40] = "another process";

			if (pid)
				snprintf(who, sizeof(who), "pid %ld", pid);
			return xgm_fail(-EAGAIN, "gave up waiting for the host "
					"state %s after %.1f s: %s holds it; try "
					"again", f->path, waited, who);
		}
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 50 * 1000 * 1000)
			nap.tv_nsec *= 2;
	}
	f->exclusive = exclusive;
	return 0;
}

static int take_lock(struct sim_state_file *f, bool exclusive)
{
	char *lock_path;
	int ret;

	if (asprintf(&lock_path, "%s.lock", f->path) < 0)
		return -ENOMEM;
	f->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	/* A reader needs no write access: flock works on a read-only fd. */
	if (f->lock_fd < 0 && !exclusive && (errno == EACCES || errno == EROFS))
		f->lock_fd = open(lock_path, O_RDONLY | O_CLOEXEC);
	if (f->lock_fd < 0 && !exclusive && (errno == EACCES || errno == EROFS ||
					     errno == ENOENT)) {
		/*
		 * A read-only directory without a lock file: nobody who
		 * could write the state could take the lock either, and
		 * SQLite's own shared lock keeps the read consistent.
		 */
		free(lock_path);
		f->exclusive = false;
		return 0;
	}
	if (f->lock_fd < 0)
		ret = xgm_fail(-errno, "cannot open lock file %s: %s",
			       lock_path, strerror(errno));
	else
		ret = wait_for_lock(f, exclusive);
	free(lock_path);
	return ret;
}

/* ---- the database ----------------------------------------------------- */

/* What a file that is not an SQLite database is: the JSON state of an
 * earlier xgpumap is named as such (version 3 can be imported; its keys
 * are sorted, so its envelope is not at its start and it is read whole:
 * this is a one-time error path), anything else is corruption. */
static int not_a_database(const char *path)
{
	FILE *fp = fopen(path, "re");
	int c = fp ? fgetc(fp) : EOF;
	json_int_t version;
	bool schema, ours;
	json_t *doc = NULL;

	if (fp)
		fclose(fp);
	if (c == '{')
		doc = json_load_file(path, 0, NULL);
	schema = json_is_string(json_object_get(doc, "schema"));
	ours = schema && !strcmp(json_string_value(json_object_get(doc, "schema")),
				 SIM_STATE_SCHEMA);
	version = json_integer_value(json_object_get(doc, "version"));
	json_decref(doc);
	if (ours && version == 3)
		return xgm_fail_remedy(-EPROTONOSUPPORT, XGM_REMEDY_SIM_IMPORT,
				       path, "%s is the JSON state of an xgpumap "
				       "before state version 4; it was left "
				       "untouched", path);
	if (ours)
		return xgm_fail_remedy(-EPROTONOSUPPORT, XGM_REMEDY_SIM_RESET,
				       NULL, "%s is a JSON state of version "
				       "%lld, older than any this xgpumap can "
				       "import (3); refusing to guess", path,
				       (long long)version);
	if (schema)
		return xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
				       "%s is not an xgpumap sim state (no "
				       "\"schema\": \"%s\"); refusing to use or "
				       "overwrite it", path, SIM_STATE_SCHEMA);
	return xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
			       "%s is not an SQLite database: corrupt, truncated "
			       "or something else; refusing to use or overwrite "
			       "it", path);
}


/* The meta rows: ours, and of this version. */
static int check_schema(struct sim_state_file *f)
{
	sqlite3_stmt *st = NULL;
	const char *schema = NULL;
	sqlite3_int64 version = -1;
	bool have_version = false;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(f->db, "SELECT key, value FROM meta", -1, &st,
				NULL);
	if (rc != SQLITE_OK) {
		ret = (rc & 0xff) == SQLITE_ERROR ?
			xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
					"%s is an SQLite database, but not an "
					"xgpumap sim state (%s); refusing to use "
					"or overwrite it", f->path,
					sqlite3_errmsg(f->db)) :
			sim_state_fail(f, rc, "reading its schema");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);

		if (k && !strcmp(k, "schema") && !schema)
			schema = strdup((const char *)sqlite3_column_text(st, 1)
					?: "");
		if (k && !strcmp(k, "version") &&
		    sqlite3_column_type(st, 1) == SQLITE_INTEGER) {
			version = sqlite3_column_int64(st, 1);
			have_version = true;
		}
	}
	if (rc != SQLITE_DONE) {
		ret = sim_state_fail(f, rc, "reading its schema");
		goto out;
	}
	if (!schema || strcmp(schema, SIM_STATE_SCHEMA))
		ret = xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
				      "%s is not an xgpumap sim state (no "
				      "schema \"%s\"); refusing to use or "
				      "overwrite it", f->path, SIM_STATE_SCHEMA);
	else if (!have_version || version < 1)
		ret = xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
				      "%s: its state version is missing or "
				      "invalid", f->path);
	else if (version > SIM_STATE_VERSION)
		ret = xgm_fail(-EPROTONOSUPPORT, "%s has state version %lld, "
			       "newer than this xgpumap understands (%d); "
			       "refusing to touch it", f->path,
			       (long long)version, SIM_STATE_VERSION);
	else if (version < SIM_STATE_VERSION_READ)
		ret = xgm_fail_remedy(-EPROTONOSUPPORT, XGM_REMEDY_SIM_RESET,
				      NULL, "%s has state version %lld, older "
				      "than this xgpumap's (%d); refusing to "
				      "guess", f->path, (long long)version,
				      SIM_STATE_VERSION);
	f->version = version;
out:
	free((char *)schema);
	sqlite3_finalize(st);
	return ret;
}

static int remember_file(struct sim_state_file *f)
{
	struct stat st;

	if (stat(f->path, &st))
		return xgm_fail(-errno, "%s: %s", f->path, strerror(errno));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return 0;
}

/* Read at every operation's start: prepared once, as the rows' are. */
static int read_data_version(struct sim_state_file *f, sqlite3_int64 *v)
{
	sqlite3_stmt *st = NULL;
	bool cached;
	int rc = sim_state_stmt(f, "PRAGMA data_version", &st, &cached);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	if (cached)
		sqlite3_reset(st);
	else if (st)
		sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : sim_state_fail(f, rc, "data_version");
}

/* Removes PATH.new and its journal, a half-made state (ours, or of a
 * creator killed before its rename: only the exclusive holder makes one). */
static void drop_new(struct sim_state_file *f)
{
	char journal[PATH_MAX];

	if (!f->new_path)
		return;
	unlink(f->new_path);
	snprintf(journal, sizeof(journal), "%s-journal", f->new_path);
	unlink(journal);
}

static void drop_stmts(struct sim_state_file *f)
{
	for (size_t i = 0; i < STMT_CACHE; i++) {
		sqlite3_finalize(f->stmts[i].st);
		f->stmts[i] = (struct cached_stmt){ 0 };
	}
}

int sim_state_stmt(struct sim_state_file *f, const char *sql,
		   sqlite3_stmt **st, bool *cached)
{
	size_t i;
	int rc;

	for (i = 0; i < STMT_CACHE && f->stmts[i].sql; i++)
		if (f->stmts[i].sql == sql) {
			/* In use further up the stack: one of its own. */
			if (sqlite3_stmt_busy(f->stmts[i].st))
				break;
			*st = f->stmts[i].st;
			*cached = true;
			return SQLITE_OK;
		}
	*cached = false;
	if (i < STMT_CACHE && !f->stmts[i].sql) {
		rc = sqlite3_prepare_v3(f->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					st, NULL);
		if (rc == SQLITE_OK) {
			f->stmts[i] = (struct cached_stmt){ sql, *st };
			*cached = true;
		}
		return rc;
	}
	return sqlite3_prepare_v2(f->db, sql, -1, st, NULL);
}

static void drop_stale_new(struct sim_state_file *f)
{
	char stale[PATH_MAX];

	if (f->new_path)
		return;
	snprintf(stale, sizeof(stale), "%s.new", f->path);
	if (unlink(stale) == 0)
		xgm_debug("removed %s, left by a killed writer", stale);
	snprintf(stale, sizeof(stale), "%s.new-journal", f->path);
	unlink(stale);
}

/* Opens the database at f->path; fresh: a new one at PATH.new with the
 * schema, in the transaction the caller commits with the host's rows. */
static int open_db(struct sim_state_file *f, bool fresh)
{
	int flags = (f->writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE :
				   SQLITE_OPEN_READONLY) |
		    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int rc, ret = 0;

	drop_stmts(f);
	sqlite3_close(f->db);
	f->db = NULL;
	if (fresh) {
		free(f->new_path);
		if (asprintf(&f->new_path, "%s.new", f->path) < 0) {
			f->new_path = NULL;
			return -ENOMEM;
		}
		drop_new(f);
	}
	rc = sqlite3_open_v2(fresh ? f->new_path : f->path, &f->db, flags, NULL);
	if (rc != SQLITE_OK)
		return sim_state_fail(f, rc, "opening it");
	/* Our flock orders the processes; SQLite's own lock only meets a
	 * process that does not take it (the sqlite3 shell, say). */
	sqlite3_busy_timeout(f->db, 5000);
	if (!fresh)
		ret = remember_file(f);
	if (!ret && fresh)
		ret = exec(f, "PRAGMA application_id = 1481066835;"
			   "BEGIN IMMEDIATE") ?: exec(f, schema_sql);
	else if (!ret)
		ret = check_schema(f);
	if (!ret && fresh) {
		f->in_txn = true;
		f->version = SIM_STATE_VERSION;
	}
	if (!ret)
		ret = read_data_version(f, &f->data_version);
	return ret;
}

static int begin(struct sim_state_file *f)
{
	int ret;

	if (f->in_txn)
		return 0;
	ret = exec(f, f->exclusive && f->writable ? "BEGIN IMMEDIATE" : "BEGIN");
	if (!ret)
		f->in_txn = true;
	return ret;
}

static struct sim_state_file *state_file_new(const char *path, bool writable)
{
	struct sim_state_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->lock_fd = -1;
	f->writable = writable;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	return f;
}

/* Is there a file at path? (An empty one is not a state: corrupt.) */
static int state_present(const char *path, bool *present)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return xgm_fail(-EISDIR, "cannot read %s: %s", path,
					strerror(EISDIR));
		*present = true;
		return 0;
	}
	if (errno != ENOENT)
		return xgm_fail(-errno, "cannot read %s: %s", path,
				strerror(errno));
	*present = false;
	return 0;
}

static int readable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return xgm_fail(-errno, "cannot read %s: %s", path,
				strerror(errno));
	close(fd);
	return 0;
}

int sim_state_open(const char *path, enum xgm_access access, bool create,
		   struct sim_state_file **out, bool *exists)
{
	struct sim_state_file *f;
	bool present;
	int ret;

	*exists = false;
	ret = state_present(path, &present);
	if (ret)
		return ret;
	if (!present && !create)
		return xgm_fail(-ENOENT, "no sim state at %s", path);
	/* A state that does not exist yet will be written: lock exclusively
	 * even for a read-only command, so two first uses cannot race. */
	f = state_file_new(path, access == XGM_ACCESS_WRITE || !present);
	if (!f)
		return -ENOMEM;
	ret = present ? 0 : make_parent_dirs(path);
	if (!ret)
		ret = take_lock(f, f->writable);
	/* Look again under the lock: another process may have made it. */
	if (!ret)
		ret = state_present(path, &present);
	if (!ret && !present && !f->exclusive) {
		/* Removed between our two looks: start again, exclusively. */
		sim_state_close(f);
		return sim_state_open(path, XGM_ACCESS_WRITE, create, out, exists);
	}
	/* A file that cannot be read is not corrupt: 'sim reset' would
	 * destroy a good one. */
	if (!ret && present)
		ret = readable(path);
	if (!ret && present && !xgm_file_is_sqlite(path))
		ret = not_a_database(path);
	if (!ret)
		ret = open_db(f, !present);
	if (!ret)
		ret = begin(f);
	if (ret) {
		sim_state_close(f);
		return ret;
	}
	*exists = present;
	*out = f;
	return 0;
}

int sim_state_open_for_replace(const char *path, struct sim_state_file **out)
{
	struct sim_state_file *f = state_file_new(path, true);
	char *journal = NULL;
	int ret;

	if (!f)
		return -ENOMEM;
	ret = make_parent_dirs(path);
	if (!ret)
		ret = take_lock(f, true);
	/* What was there goes whole at the first commit, corrupt or not,
	 * with the journal of a transaction it may have left: a journal
	 * beside the new file would be played back into it. */
	if (!ret && asprintf(&journal, "%s-journal", path) < 0) {
		journal = NULL;
		ret = -ENOMEM;
	}
	if (!ret && unlink(journal) && errno != ENOENT)
		ret = xgm_fail(-errno, "cannot remove %s: %s", journal,
			       strerror(errno));
	free(journal);
	if (!ret)
		ret = open_db(f, true);
	if (ret) {
		sim_state_close(f);
		return ret;
	}
	*out = f;
	return 0;
}

int sim_state_lock(struct sim_state_file *f, bool exclusive)
{
	int ret;

	/* No lock file in a read-only directory: reads go unlocked (see
	 * take_lock); a write there cannot happen. */
	if (f->lock_fd < 0 && exclusive)
		return xgm_fail(-EROFS, "%s: no lock file can be made beside "
				"it, so it cannot be written", f->path);
	if (exclusive && !f->writable)
		return xgm_fail(-EROFS, "the sim state was opened read-only");
	if (f->lock_fd >= 0) {
		ret = wait_for_lock(f, exclusive);
		if (ret)
			return ret;
	}
	/* Under the exclusive lock a half-made state is a killed
	 * creator's (only the holder makes one), and may be large. */
	if (exclusive)
		drop_stale_new(f);
	ret = begin(f);
	if (ret)
		sim_state_unlock(f);
	return ret;
}

/* The made state becomes PATH (rename, then the directory made durable)
 * and the handle reads it there. */
static int publish_new(struct sim_state_file *f)
{
	char *dir = strdup(f->path);
	int dfd, ret = 0;

	drop_stmts(f);
	sqlite3_close(f->db);
	f->db = NULL;
	if (rename(f->new_path, f->path))
		ret = xgm_fail(-errno, "cannot put the new state at %s: %s",
			       f->path, strerror(errno));
	if (!ret && dir) {
		dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	free(dir);
	if (ret) {
		drop_new(f);
		free(f->new_path);
		f->new_path = NULL;
		return ret;
	}
	free(f->new_path);
	f->new_path = NULL;
	return open_db(f, false);
}

int sim_state_commit(struct sim_state_file *f)
{
	int ret;

	if (!f->exclusive || !f->writable)
		return xgm_fail(-EROFS, "internal: committing %s without the "
				"exclusive lock", f->path);
	/* An older database this xgpumap reads as it is: what this commit
	 * wrote is of this version's forms, which an older xgpumap would
	 * refuse as corrupt, so the database says so. */
	if (f->version < SIM_STATE_VERSION) {
		_Static_assert(SIM_STATE_VERSION == 5, "the upgrade writes 5");
		ret = exec(f, "UPDATE meta SET value = 5 WHERE key = 'version'");
		if (ret)
			return ret;
	}
	ret = exec(f, "COMMIT");
	if (ret)
		return ret;
	f->in_txn = false;
	f->version = SIM_STATE_VERSION;
	if (f->new_path) {
		ret = publish_new(f);
		if (ret)
			return ret;
	}
	/* Ours: what this handle wrote is not another process's change. */
	ret = read_data_version(f, &f->data_version);
	return ret ?: begin(f);
}

int sim_state_rollback(struct sim_state_file *f)
{
	if (f->in_txn && sqlite3_get_autocommit(f->db) == 0)
		sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL);
	f->in_txn = false;
	return begin(f);
}

void sim_state_unlock(struct sim_state_file *f)
{
	if (f->in_txn && f->db && sqlite3_get_autocommit(f->db) == 0)
		sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL);
	f->in_txn = false;
	if (f->lock_fd >= 0)
		flock(f->lock_fd, LOCK_UN);
	f->exclusive = false;
}

int sim_state_changed(struct sim_state_file *f, bool *changed)
{
	sqlite3_int64 v;
	struct stat st;
	int ret;

	*changed = false;
	if (stat(f->path, &st))
		return xgm_fail(-errno, "%s: %s (removed while in use?)",
				f->path, strerror(errno));
	if (st.st_dev != f->dev || st.st_ino != f->ino) {
		/* Replaced (sim reset): the new file, checked as at open. */
		*changed = true;
		f->in_txn = false;
		if (!xgm_file_is_sqlite(f->path))
			return not_a_database(f->path);
		ret = open_db(f, false);
		return ret ?: begin(f);
	}
	ret = read_data_version(f, &v);
	if (!ret && v != f->data_version) {
		*changed = true;
		f->data_version = v;
	}
	return ret;
}

sqlite3 *sim_state_db(const struct sim_state_file *f)
{
	return f->db;
}

bool sim_state_writable(const struct sim_state_file *f)
{
	return f->writable && f->exclusive;
}

void sim_state_close(struct sim_state_file *f)
{
	if (!f)
		return;
	drop_stmts(f);
	if (f->db) {
		if (sqlite3_get_autocommit(f->db) == 0)
			sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(f->db);
	}
	drop_new(f);
	free(f->new_path);
	if (f->lock_fd >= 0)
		close(f->lock_fd);
	free(f->path);
	free(f);
}

const char *sim_state_path(const struct sim_state_file *f)
{
	return f->path;
}
