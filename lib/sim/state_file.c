// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The state file's lock and atomic replacement.
 *
 * The lock is taken on a sibling "PATH.lock" file, never on the state file
 * itself: the state is replaced by rename(), and a lock on the old inode
 * would not exclude a process that opened the new one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "util/log.h"
#include "sim/state_file.h"

struct sim_state_file {
	char *path;
	int lock_fd;
	bool exclusive;
	/* The file as this handle last read or wrote it. Every writer
	 * renames a new file over it, so the inode changes; inode numbers
	 * are reused, so the change time and size are compared too. */
	struct stat seen;
};

static void remember(struct sim_state_file *f)
{
	if (stat(f->path, &f->seen))
		memset(&f->seen, 0, sizeof(f->seen));
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

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
		if (asprintf(&out, "%s/xgpumap/sim.json", base) < 0)
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
		if (asprintf(&out, "%s/.local/state/xgpumap/sim.json", base) < 0)
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

/* json_load_file() reads a character at a time through stdio; one read()
 * of the whole file and json_loadb() parse a large state twice as fast. */
/* *err is set (a positive errno) when the file could not be read at all:
 * that is not corruption, and 'sim reset' would destroy a good file. */
static json_t *load_whole(const char *path, json_error_t *jerr, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t len = 0;
	json_t *doc = NULL;
	char *buf;

	*err = 0;
	if (fd < 0 || fstat(fd, &st) || S_ISDIR(st.st_mode)) {
		*err = fd >= 0 && S_ISDIR(st.st_mode) ? EISDIR : errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				*err = errno;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (*err) {
		free(buf);
		return NULL;
	}
	if (!buf) {
		snprintf(jerr->text, sizeof(jerr->text), "out of memory");
		jerr->line = 0;
		return NULL;
	}
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, jerr);
	free(buf);
	return doc;
}

static int check_envelope(const char *path, json_t *doc)
{
	json_t *schema = json_object_get(doc, "schema");
	json_t *version = json_object_get(doc, "version");

	if (!json_is_object(doc) || !json_is_string(schema) ||
	    strcmp(json_string_value(schema), SIM_STATE_SCHEMA))
		return xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
				       "%s is not an xgpumap sim state (no "
				       "\"schema\": \"%s\"); refusing to use or "
				       "overwrite it", path, SIM_STATE_SCHEMA);
	if (!json_is_integer(version))
		return xgm_fail(-EBADMSG, "%s: \"version\" is missing or not "
				"an integer", path);
	if (json_integer_value(version) > SIM_STATE_VERSION)
		return xgm_fail(-EPROTONOSUPPORT, "%s has state version %lld, "
				"newer than this xgpumap understands (%d); "
				"refusing to touch it", path,
				(long long)json_integer_value(version),
				SIM_STATE_VERSION);
	if (json_integer_value(version) < 1)
		return xgm_fail(-EBADMSG, "%s: invalid state version %lld",
				path, (long long)json_integer_value(version));
	/* Not upgraded: an older state lacks what the model now keeps (the
	 * p2m's emptied tables above all), and guessing it would make the
	 * host silently disagree with Xen. */
	if (json_integer_value(version) < SIM_STATE_VERSION)
		return xgm_fail_remedy(-EPROTONOSUPPORT, XGM_REMEDY_SIM_RESET,
				NULL, "%s has state version %lld, "
				"older than this xgpumap's (%d), which records "
				"what older ones did not (the p2m's emptied "
				"tables, passthrough guests, the host's "
				"extensions) in another form; refusing to "
				"guess", path,
				(long long)json_integer_value(version),
				SIM_STATE_VERSION);
	return 0;
}

static struct sim_state_file *state_file_new(const char *path)
{
	struct sim_state_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->lock_fd = -1;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	return f;
}

/* Reads and checks the state at f's path, and remembers which file it
 * was (open, and a reload that found another process's file). A file
 * that cannot be read is not called corrupt: 'sim reset' would destroy
 * a good one. */
static int read_state(struct sim_state_file *f, json_t **doc)
{
	json_error_t jerr;
	int ret, err;

	*doc = load_whole(f->path, &jerr, &err);
	if (err)
		return xgm_fail(-err, "cannot read %s: %s", f->path,
				strerror(err));
	if (!*doc)
		return xgm_fail_remedy(-EBADMSG, XGM_REMEDY_SIM_RESET, NULL,
				       "%s is corrupt or truncated (line %d: %s); "
				       "refusing to use or overwrite it", f->path,
				       jerr.line, jerr.text);
	ret = check_envelope(f->path, *doc);
	if (ret) {
		json_decref(*doc);
		*doc = NULL;
		return ret;
	}
	remember(f);
	return 0;
}

static int take_lock(struct sim_state_file *f, bool exclusive)
{
	char *lock_path;
	int ret = 0;

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
		 * could replace the state could take the lock either, and a
		 * writer replaces the file by rename(), so the one read of
		 * it sees a whole state, old or new. Read unlocked.
		 */
		free(lock_path);
		f->exclusive = false;
		return 0;
	}
	if (f->lock_fd < 0)
		ret = xgm_fail(-errno, "cannot open lock file %s: %s",
			       lock_path, strerror(errno));
	else if (flock(f->lock_fd, exclusive ? LOCK_EX : LOCK_SH))
		ret = xgm_fail(-errno, "cannot lock %s: %s", lock_path,
			       strerror(errno));
	f->exclusive = exclusive;
	free(lock_path);
	return ret;
}

int sim_state_open(const char *path, enum xgm_access access, bool create,
		   struct sim_state_file **out, json_t **doc)
{
	struct sim_state_file *f;
	struct stat st;
	bool exists;
	int ret;

	*doc = NULL;
	f = state_file_new(path);
	if (!f)
		return -ENOMEM;
	exists = stat(path, &st) == 0;
	if (!exists && !create) {
		ret = xgm_fail(-ENOENT, "no sim state at %s", path);
		goto fail;
	}
	if (!exists) {
		ret = make_parent_dirs(path);
		if (ret)
			goto fail;
	}
	/* A state that does not exist yet will be written: lock exclusively
	 * even for a read-only command, so two first uses cannot race. */
	ret = take_lock(f, access == XGM_ACCESS_WRITE || !exists);
	if (ret)
		goto fail;
	/* Look again under the lock: another process may have created it. */
	if (stat(path, &st) == 0) {
		ret = read_state(f, doc);
		if (ret)
			goto fail;
	} else if (errno != ENOENT) {
		ret = xgm_fail(-errno, "cannot read %s: %s", path,
			       strerror(errno));
		goto fail;
	} else if (!f->exclusive) {
		/* Removed between our two looks: start again, exclusively. */
		sim_state_close(f);
		return sim_state_open(path, XGM_ACCESS_WRITE, create, out, doc);
	}
	*out = f;
	return 0;
fail:
	sim_state_close(f);
	return ret;
}

int sim_state_lock_for_replace(const char *path, struct sim_state_file **out)
{
	struct sim_state_file *f = state_file_new(path);
	int ret;

	if (!f)
		return -ENOMEM;
	ret = make_parent_dirs(path);
	if (!ret)
		ret = take_lock(f, true);
	if (ret) {
		sim_state_close(f);
		return ret;
	}
	*out = f;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Temporary files of writers killed before their rename: only the holder
 * of the exclusive lock writes one, so under that lock every
 * "STATE.tmp.XXXXXX" is stale (and may be megabytes).
 */
static void remove_stale_temps(const struct sim_state_file *f)
{
	char *copy = strdup(f->path), *copy2 = strdup(f->path);
	const char *dir, *base;
	struct dirent *e;
	size_t blen;
	DIR *d;

	if (!copy || !copy2)
		goto out;
	dir = dirname(copy);
	base = basename(copy2);
	blen = strlen(base);
	d = opendir(dir);
	if (!d)
		goto out;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, base, blen) ||
		    strncmp(e->d_name + blen, ".tmp.", 5) ||
		    strlen(e->d_name + blen + 5) != 6)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			xgm_debug("removed %s/%s, left by a killed writer", dir,
				  e->d_name);
	}
	closedir(d);
out:
	free(copy);
	free(copy2);
}

int sim_state_save(struct sim_state_file *f, json_t *doc)
{
	char *tmp = NULL, *dir = NULL, *text = NULL;
	int fd = -1, dfd, ret;

	if (!f->exclusive)
		return xgm_fail(-EROFS, "internal: saving %s without the "
				"exclusive lock", f->path);
	if (json_object_set_new(doc, "schema", json_string(SIM_STATE_SCHEMA)) ||
	    json_object_set_new(doc, "version", json_integer(SIM_STATE_VERSION)))
		return -ENOMEM;
	/* Compact: a large host's state is mostly p2m runs. */
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text || asprintf(&tmp, "%s.tmp.XXXXXX", f->path) < 0) {
		ret = -ENOMEM;
		tmp = NULL;
		goto out;
	}
	remove_stale_temps(f);
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = xgm_fail(-errno, "cannot create a temporary file beside "
			       "%s: %s", f->path, strerror(errno));
		goto out;
	}
	ret = write_all(fd, text, strlen(text));
	if (!ret)
		ret = write_all(fd, "\n", 1);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	fd = -1;
	if (!ret && rename(tmp, f->path))
		ret = -errno;
	if (!ret)
		remember(f);
	if (ret) {
		xgm_fail(ret, "cannot write %s: %s", f->path, strerror(-ret));
		unlink(tmp);
		goto out;
	}
	/* Make the rename itself durable. */
	dir = strdup(f->path);
	if (dir) {
		dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	free(tmp);
	free(text);
	return ret;
}

int sim_state_lock(struct sim_state_file *f, bool exclusive)
{
	/* No lock file in a read-only directory: reads go unlocked (see
	 * take_lock); a write there cannot happen. */
	if (f->lock_fd < 0) {
		if (exclusive)
			return xgm_fail(-EROFS, "%s: no lock file can be made "
					"beside it, so it cannot be written",
					f->path);
		return 0;
	}
	if (flock(f->lock_fd, exclusive ? LOCK_EX : LOCK_SH))
		return xgm_fail(-errno, "cannot lock %s.lock: %s", f->path,
				strerror(errno));
	f->exclusive = exclusive;
	return 0;
}

void sim_state_unlock(struct sim_state_file *f)
{
	if (f->lock_fd >= 0)
		flock(f->lock_fd, LOCK_UN);
	f->exclusive = false;
}

int sim_state_reload(struct sim_state_file *f, json_t **doc)
{
	struct stat st;

	*doc = NULL;
	if (stat(f->path, &st))
		return xgm_fail(-errno, "%s: %s (removed while in use?)", f->path,
				strerror(errno));
	if (same_file(&st, &f->seen))
		return 0;
	return read_state(f, doc);
}

void sim_state_forget(struct sim_state_file *f)
{
	memset(&f->seen, 0, sizeof(f->seen));
}

void sim_state_close(struct sim_state_file *f)
{
	if (!f)
		return;
	if (f->lock_fd >= 0)
		close(f->lock_fd);
	free(f->path);
	free(f);
}

const char *sim_state_path(const struct sim_state_file *f)
{
	return f->path;
}
