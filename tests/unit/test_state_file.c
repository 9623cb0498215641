// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sim state file: envelope checks, refusal to touch what it cannot
 * read, atomic replacement, and the lock that serialises writers.
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
	snprintf(f->path, sizeof(f->path), "%s/sub/dir/sim.json", f->dir);
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

static void test_missing_state_is_created_with_parents(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	json_t *doc;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, false, &f, &doc), -ENOENT);
	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_READ, true, &f, &doc), 0);
	assert_null(doc); /* no state yet: the caller makes one */
	doc = json_pack("{s:i}", "answer", 42);
	/* A first use locks exclusively even when only reading, so it may save. */
	assert_int_equal(sim_state_save(f, doc), 0);
	json_decref(doc);
	sim_state_close(f);
	assert_non_null(strstr(read_file(fx->path), "\"schema\":\"xgpumap-sim-state\""));

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_READ, true, &f, &doc), 0);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "answer")), 42);
	/* A shared (read) open of an existing state may not write. */
	assert_int_equal(sim_state_save(f, doc), -EROFS);
	json_decref(doc);
	sim_state_close(f);
}

static void expect_refused(const char *path, const char *text, int err)
{
	struct sim_state_file *f;
	json_t *doc;
	char before[4096];

	write_file(path, text);
	snprintf(before, sizeof(before), "%s", read_file(path));
	assert_int_equal(sim_state_open(path, XGM_ACCESS_WRITE, true, &f, &doc), err);
	assert_true(strlen(xgm_last_error()) > 0);
	/* Never overwritten. */
	assert_string_equal(read_file(path), before);
}

static void test_bad_files_are_refused_and_untouched(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	json_t *doc;

	/* create the directories */
	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f, &doc), 0);
	sim_state_close(f);
	expect_refused(fx->path, "{\"schema\":\"xgpumap-sim-state\",\"vers", -EBADMSG);
	expect_refused(fx->path, "", -EBADMSG);
	expect_refused(fx->path, "[1,2]", -EBADMSG);
	expect_refused(fx->path, "{\"schema\":\"other\",\"version\":1}", -EBADMSG);
	expect_refused(fx->path, "{\"schema\":\"xgpumap-sim-state\"}", -EBADMSG);
	expect_refused(fx->path, "{\"schema\":\"xgpumap-sim-state\",\"version\":0}", -EBADMSG);
	expect_refused(fx->path, "{\"schema\":\"xgpumap-sim-state\",\"version\":99}",
		       -EPROTONOSUPPORT);
	assert_non_null(strstr(xgm_last_error(), "newer"));
	/* an older state is refused too, saying how to replace it: it lacks
	 * the p2m's emptied tables, which the model cannot guess */
	expect_refused(fx->path, "{\"schema\":\"xgpumap-sim-state\",\"version\":1}",
		       -EPROTONOSUPPORT);
	assert_non_null(strstr(xgm_last_error(), "older"));
	assert_int_equal(xgm_last_remedy(NULL), XGM_REMEDY_SIM_RESET);
	expect_refused(fx->path, "{\"schema\":\"xgpumap-sim-state\",\"version\":1,"
		       "\"a\":1,\"a\":2}", -EBADMSG);
}

static void test_save_replaces_atomically(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	struct stat before, after;
	json_t *doc;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f, &doc), 0);
	doc = json_object();
	assert_int_equal(sim_state_save(f, doc), 0);
	assert_int_equal(stat(fx->path, &before), 0);
	assert_int_equal(sim_state_save(f, doc), 0);
	assert_int_equal(stat(fx->path, &after), 0);
	/* rename() of a new file: a reader holding the old one keeps it whole. */
	assert_true(before.st_ino != after.st_ino);
	json_decref(doc);
	sim_state_close(f);
}

static void test_writer_lock_excludes_others(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	char lock[160];
	json_t *doc;
	int fd;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f, &doc), 0);
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

/* A file that cannot be read is not corrupt: the error is its errno, and
 * the advice to 'sim reset' (which would destroy it) is not given. */
static void test_unreadable_state_reports_errno_not_corruption(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	json_t *doc;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f, &doc), 0);
	sim_state_close(f);
	assert_int_equal(mkdir(fx->path, 0700), 0);
	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_READ, true, &f, &doc),
			 -EISDIR);
	assert_non_null(strstr(xgm_last_error(), "Is a directory"));
	assert_int_equal(xgm_last_remedy(NULL), XGM_REMEDY_NONE);
	rmdir(fx->path);
}

/* Only the exclusive holder writes PATH.tmp.XXXXXX: under that lock every
 * such file is a killed writer's, and the next save removes it. */
static void test_save_removes_stale_temporaries(void **state)
{
	struct fixture *fx = *state;
	struct sim_state_file *f;
	char stale[192], other[192];
	json_t *doc;

	assert_int_equal(sim_state_open(fx->path, XGM_ACCESS_WRITE, true, &f, &doc), 0);
	snprintf(stale, sizeof(stale), "%s.tmp.Ab12Cd", fx->path);
	snprintf(other, sizeof(other), "%s.tmp.keep-me", fx->path);
	write_file(stale, "partial");
	write_file(other, "not ours");
	doc = json_object();
	assert_int_equal(sim_state_save(f, doc), 0);
	json_decref(doc);
	sim_state_close(f);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(other, F_OK), 0);
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
	assert_string_equal(p, "/xdg/xgpumap/sim.json");
	free(p);
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/u", 1);
	p = sim_state_resolve(NULL);
	assert_string_equal(p, "/home/u/.local/state/xgpumap/sim.json");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_state_is_created_with_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files_are_refused_and_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_replaces_atomically, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_lock_excludes_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_state_reports_errno_not_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_removes_stale_temporaries, setup, teardown),
		cmocka_unit_test(test_resolve_order),
	};

	return cmocka_run_group_tests_name("state_file", tests, NULL, NULL);
}
