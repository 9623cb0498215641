// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sim state database: schema and version checks, refusal to touch what
 * it cannot read, whole creation and replacement, transactions, and the
 * lock that serialises writers (and how long it is waited for).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend.h"
#include "util/log.h"
#include "sim/state_file.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/xgm-state-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sub/dir/sim.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static char *read_file(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static bool has_table(struct sim_state_file *f, const char *name)
{
	sqlite3_stmt *st;
	bool yes;

	assert_int_equal(sqlite3_prepare_v2(sim_state_db(f), "SELECT 1 FROM "
			 "sqlite_schema WHERE type = 'table' AND name = ?", -1,
			 &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

static void put_row(struct sim_state_file *f, const char *text)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO host VALUES (1, '%s')",
		 text);
	assert_int_equal(sqlite3_exec(sim_state_db(f), sql, NULL, NULL, NULL),
			 SQLITE_OK);
}

static char *host_row(struct sim_state_file *f)
{
	static char buf[256];
	sqlite3_stmt *st;

	buf[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(sim_state_db(f), "SELECT body FROM "
			 "host", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, sizeof(buf), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* A new state is made beside its path and appears there whole at its first
 * commit; nothing is at the path before. */
static void test_missing_state_is_created_with_parents(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	bool exists;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, false, &f,
					&exists), -ENOENT);
	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_READ, true, &f,
					&exists), 0);
	assert_false(exists); /* no state yet: the caller makes one */
	assert_true(has_table(f, "domains") && has_table(f, "store"));
	assert_int_equal(access(fx->path, F_OK), -1);
	/* A first use locks exclusively even when only reading, so it may write. */
	put_row(f, "{\"answer\":42}");
	assert_int_equal(sim_state_commit(f), 0);
	assert_int_equal(access(fx->path, F_OK), 0);
	sim_state_close(f);

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_READ, true, &f,
					&exists), 0);
	assert_true(exists);
	assert_string_equal(host_row(f), "{\"answer\":42}");
	/* A shared (read) open of an existing state may not write. */
	assert_int_equal(sim_state_commit(f), -EROFS);
	sim_state_close(f);
}

/* A creator that never commits leaves nothing at the path. */
static void test_uncommitted_new_state_leaves_nothing(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	char made[192];
	bool exists;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f,
					&exists), 0);
	put_row(f, "{}");
	sim_state_close(f);
	snprintf(made, sizeof(made), "%s.new", fx->path);
	assert_int_equal(access(fx->path, F_OK), -1);
	assert_int_equal(access(made, F_OK), -1);
}

static void expect_refused(const char *path, const char *text, int err)
{
	struct sim_state_file *f;
	char before[4096];
	bool exists;

	write_file(path, text);
	snprintf(before, sizeof(before), "%s", read_file(path));
	assert_int_equal(sim_state_open(path, XGM_ACCESS_WRITE, true, &f,
					&exists), err);
	assert_true(strlen(xgm_last_error()) > 0);
	/* Never overwritten. */
	assert_string_equal(read_file(path), before);
}

/* A database of the right shape whose meta rows say sql. */
static void make_db(const char *path, const char *sql)
{
	sqlite3 *db;

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void expect_db_refused(const char *path, const char *sql, int err,
			      const char *says)
{
	struct sim_state_file *f;
	struct stat before, after;
	bool exists;

	make_db(path, sql);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(sim_state_open(path, XGM_ACCESS_WRITE, true, &f,
					&exists), err);
	assert_non_null(strstr(xgm_last_error(), says));
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_size == after.st_size &&
		    before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
}

static void test_bad_files_are_refused_and_untouched(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	bool exists;

	/* create the directories */
	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f,
					&exists), 0);
	sim_state_close(f);
	expect_refused(fx->path, "", -EBADMSG);
	expect_refused(fx->path, "garbage \001\002", -EBADMSG);
	expect_refused(fx->path, "SQLite format 3", -EBADMSG);
	expect_refused(fx->path, "{\"schema\":\"other\",\"version\":1}", -EBADMSG);
	/* an earlier xgpumap's JSON state: named, and how to import it */
	expect_refused(fx->path, "{\"schema\":\"xgpumap-sim-state\",\"version\":3}",
		       -EPROTONOSUPPORT);
	assert_int_equal(xgm_last_remedy(NULL), XGM_REMEDY_SIM_IMPORT);
	expect_db_refused(fx->path, "CREATE TABLE t (x)", -EBADMSG,
			  "not an xgpumap sim state");
	expect_db_refused(fx->path, "CREATE TABLE meta (key, value);"
			  "INSERT INTO meta VALUES ('schema', 'other'),"
			  "('version', 4)", -EBADMSG, "not an xgpumap sim state");
	expect_db_refused(fx->path, "CREATE TABLE meta (key, value);"
			  "INSERT INTO meta VALUES ('schema', 'xgpumap-sim-state')",
			  -EBADMSG, "missing");
	expect_db_refused(fx->path, "CREATE TABLE meta (key, value);"
			  "INSERT INTO meta VALUES ('schema', 'xgpumap-sim-state'),"
			  "('version', 99)", -EPROTONOSUPPORT, "newer");
	expect_db_refused(fx->path, "CREATE TABLE meta (key, value);"
			  "INSERT INTO meta VALUES ('schema', 'xgpumap-sim-state'),"
			  "('version', 2)", -EPROTONOSUPPORT, "older");
	assert_int_equal(xgm_last_remedy(NULL), XGM_REMEDY_SIM_RESET);
}

static void test_writer_lock_excludes_others(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	char lock[160];
	bool exists;
	int fd;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f,
					&exists), 0);
	snprintf(lock, sizeof(lock), "%s.lock", fx->path);
	fd = open(lock, O_RDWR);
	assert_true(fd >= 0);
	/* Another open file description cannot take any lock meanwhile. */
	assert_int_equal(flock(fd, LOCK_SH | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	sim_state_close(f);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
}

/* A held lock is waited for, and given up with -EAGAIN (exit 3) after
 * $XGPUMAP_LOCK_WAIT seconds, naming who holds it. */
static void test_lock_wait_gives_up_naming_the_holder(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	char lock[160], pid[32];
	bool exists;
	int fd;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f,
					&exists), 0);
	put_row(f, "{}");
	assert_int_equal(sim_state_commit(f), 0);
	sim_state_unlock(f);
	snprintf(lock, sizeof(lock), "%s.lock", fx->path);
	fd = open(lock, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	setenv("XGPUMAP_LOCK_WAIT", "0.2", 1);
	/* Our own pid holds it here (another open file description). */
	assert_int_equal(sim_state_lock(f, false), -EAGAIN);
	unsetenv("XGPUMAP_LOCK_WAIT");
	assert_non_null(strstr(xgm_last_error(), "gave up waiting"));
	snprintf(pid, sizeof(pid), "pid %ld holds it", (long)getpid());
	assert_non_null(strstr(xgm_last_error(), pid));
	flock(fd, LOCK_UN);
	assert_int_equal(sim_state_lock(f, false), 0);
	sim_state_unlock(f);
	close(fd);
	sim_state_close(f);
}

/* What a write did not commit is gone at unlock; what another handle
 * committed is seen as a change. */
static void test_uncommitted_rows_roll_back_and_changes_are_seen(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f, *g;
	bool exists, changed;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f,
					&exists), 0);
	put_row(f, "{\"v\":1}");
	assert_int_equal(sim_state_commit(f), 0);
	sim_state_unlock(f);
	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &g,
					&exists), 0);
	put_row(g, "{\"v\":2}");
	sim_state_unlock(g); /* not committed */
	assert_int_equal(sim_state_lock(f, true), 0);
	assert_int_equal(sim_state_changed(f, &changed), 0);
	assert_false(changed);
	assert_string_equal(host_row(f), "{\"v\":1}");
	sim_state_unlock(f);
	assert_int_equal(sim_state_lock(g, true), 0);
	put_row(g, "{\"v\":3}");
	assert_int_equal(sim_state_commit(g), 0);
	sim_state_unlock(g);
	assert_int_equal(sim_state_lock(f, false), 0);
	assert_int_equal(sim_state_changed(f, &changed), 0);
	assert_true(changed);
	assert_string_equal(host_row(f), "{\"v\":3}");
	sim_state_unlock(f);
	sim_state_close(g);
	sim_state_close(f);
}

/* A file that cannot be read is not corrupt: the error is its errno, and
 * the advice to 'sim reset' (which would destroy it) is not given. */
static void test_unreadable_state_reports_errno_not_corruption(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	bool exists;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f,
					&exists), 0);
	sim_state_close(f);
	assert_int_equal(mkdir(fx->path, 0700), 0);
	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_READ, true, &f,
					&exists), -EISDIR);
	assert_non_null(strstr(xgm_last_error(), "Is a directory"));
	assert_int_equal(xgm_last_remedy(NULL), XGM_REMEDY_NONE);
	rmdir(fx->path);
}

/* Replacing (sim reset) takes whatever is there, corrupt or not, at its
 * commit; a handle open on the old file reads the new one. */
static void test_replace_takes_a_corrupt_file(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f, *old;
	bool exists, changed;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &old,
					&exists), 0);
	put_row(old, "{\"v\":1}");
	assert_int_equal(sim_state_commit(old), 0);
	sim_state_unlock(old);
	assert_int_equal(sim_state_open_for_replace(fx->path, &f), 0);
	put_row(f, "{\"v\":2}");
	assert_int_equal(sim_state_commit(f), 0);
	sim_state_close(f);
	assert_int_equal(sim_state_lock(old, false), 0);
	assert_int_equal(sim_state_changed(old, &changed), 0);
	assert_true(changed);
	assert_string_equal(host_row(old), "{\"v\":2}");
	sim_state_close(old);

	write_file(fx->path, "garbage");
	assert_int_equal(sim_state_open_for_replace(fx->path, &f), 0);
	put_row(f, "{\"v\":3}");
	assert_int_equal(sim_state_commit(f), 0);
	assert_string_equal(host_row(f), "{\"v\":3}");
	sim_state_close(f);
}

static void test_resolve_order(void **state)
{
	char *p;

	setenv("XGPUMAP_SIM_STATE", "/env/state.json", 1);
	p = sim_state_resolve("/explicit.json");
	assert_string_equal(p, "/explicit.json");
	free(p);
	p = sim_state_resolve(NULL);
	assert_string_equal(p, "/env/state.json");
	free(p);
	unsetenv("XGPUMAP_SIM_STATE");
	setenv("XDG_STATE_HOME", "/xdg", 1);
	p = sim_state_resolve(NULL);
	assert_string_equal(p, "/xdg/xgpumap/sim.db");
	free(p);
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/u", 1);
	p = sim_state_resolve(NULL);
	assert_string_equal(p, "/home/u/.local/state/xgpumap/sim.db");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_state_is_created_with_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uncommitted_new_state_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files_are_refused_and_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_lock_excludes_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_wait_gives_up_naming_the_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uncommitted_rows_roll_back_and_changes_are_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_state_reports_errno_not_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_takes_a_corrupt_file, setup, teardown),
		cmocka_unit_test(test_resolve_order),
	};

	return cmocka_run_group_tests_name("state_file", tests, NULL, NULL);
}
