// SPDX-License-Identifier: GPL-2.0-only
/* p2m, check, recover: the state as it is, its invariants, its repair. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

int do_p2m(struct cli *cli, const struct cmd *self, int argc, char **argv,
	   json_t **out)
{
	uint64_t first = 0, last = (1ULL << 36) - 1;
	const char *format = "table";
	struct opt_iter it;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0) {
		if (!strcmp(self->opts[idx].name, "gfn")) {
			if (xgm_parse_frame_range(it.arg, &first, &last))
				return cli_usage(cli, "p2m: --gfn: '%s' is not FIRST or "
						 "FIRST-LAST", it.arg);
		} else {
			format = it.arg;
			if (strcmp(format, "table") && strcmp(format, "xen"))
				return cli_usage(cli, "p2m: --format must be table or xen");
		}
	}
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "p2m: expected one DOM");
	ret = xgm_p2m_runs(cli->ctx, args[0], first, last, out);
	if (ret)
		return ret == -EINVAL ? cli_usage(cli, "%s", xgm_last_error())
				      : cli_fail_lib(cli, ret, "p2m failed");
	if (!strcmp(format, "xen") && !cli->json) {
		/* The lines of Xen's EPT debug-key dump (ept_dump_p2m_table):
		 * one per leaf, no p2m type, '!' when ipat is set. */
		json_t *run, *lines = json_array();
		size_t i;

		json_array_foreach(*out, i, run) {
			uint64_t gfn = (uint64_t)json_integer_value(json_object_get(run, "gfn"));
			uint64_t mfn = (uint64_t)json_integer_value(json_object_get(run, "mfn"));
			int order = (int)json_integer_value(json_object_get(run, "order"));
			json_int_t n = json_integer_value(json_object_get(run, "entries"));
			const char *acc = json_string_value(json_object_get(run, "access"));
			const char *emt = json_string_value(json_object_get(run, "emt"));
			bool ipat = json_is_true(json_object_get(run, "ipat"));

			for (json_int_t k = 0; k < n; k++) {
				uint64_t step = (uint64_t)k << order;

				json_array_append_new(lines, json_sprintf(
					"gfn: %13" PRIx64 " order: %2d mfn: %13" PRIx64 " %c%c%c %s%s",
					gfn + step, order, mfn + step, acc[0] == 'r' ? 'r' : '-',
					acc[1] == 'w' ? 'w' : '-', acc[2] == 'x' ? 'x' : '-',
					emt, ipat ? "!" : ""));
			}
		}
		json_decref(*out);
		*out = lines;
	}
	return 0;
}

int do_iommu(struct cli *cli, const struct cmd *self, int argc, char **argv,
	     json_t **out)
{
	uint64_t first = 0, last = (1ULL << 52) - 1;
	struct opt_iter it;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		if (xgm_parse_frame_range(it.arg, &first, &last))
			return cli_usage(cli, "iommu: --dfn: '%s' is not FIRST or "
					 "FIRST-LAST", it.arg);
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args) != 1)
		return cli_usage(cli, "iommu: expected one DOM");
	ret = xgm_iommu_runs(cli->ctx, args[0], first, last, out);
	if (ret)
		return ret == -EINVAL ? cli_usage(cli, "%s", xgm_last_error())
				      : cli_fail_lib(cli, ret, "iommu failed");
	return 0;
}

int do_check(struct cli *cli, const struct cmd *self, int argc, char **argv,
	     json_t **out)
{
	const char *input = NULL;
	struct opt_iter it;
	size_t i, errors = 0;
	json_t *f;
	char **args;
	int idx, n, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		input = it.arg;
	if (idx == -2)
		return cli->error.status;
	n = opt_rest(&it, &args);
	if (n > 1)
		return cli_usage(cli, "check: expected at most one DOM");
	/* Live, or offline from a dump: the same checker either way. */
	ret = cli_open(cli, self, input);
	if (ret)
		return ret;
	ret = xgm_check(cli->ctx, n ? args[0] : NULL, out);
	if (ret)
		return cli_fail_lib(cli, ret, "check failed");
	json_array_foreach(*out, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "severity")), "error"))
			errors++;
	if (!json_array_size(*out) && !cli->json) {
		json_decref(*out);
		*out = json_pack("{s:s,s:i}", "result", "clean", "findings", 0);
	}
	/* Findings are the result either way; errors make the exit 1. */
	return errors ? EXIT_FAILED : 0;
}

int do_recover(struct cli *cli, const struct cmd *self, int argc, char **argv,
	       json_t **out)
{
	const char *discard = NULL;
	struct opt_iter it;
	uint64_t seq = 0;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		discard = it.arg;
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args))
		return cli_usage(cli, "recover: unexpected argument '%s'", args[0]);
	/* Journal records are numbered from 1, in decimal. */
	if (discard && (strspn(discard, "0123456789") != strlen(discard) ||
			xgm_parse_frame(discard, &seq) || !seq))
		return cli_usage(cli, "recover: --discard takes a journal record "
				 "number (SEQ, as check reports it), not '%s'", discard);
	ret = discard ? xgm_recover_discard(cli->ctx, seq, out) :
			xgm_recover(cli->ctx, out);
	if (ret)
		return cli_fail_lib(cli, ret, "recover failed");
	if (!json_array_size(*out) && !cli->json) {
		json_decref(*out);
		*out = json_pack("{s:s}", "result", "nothing to recover");
	}
	return 0;
}

/* Written whole or not at all: a capture must not be cut short, and a
 * failure leaves nothing behind (a unique temporary beside FILE). */
static int write_dump(struct cli *cli, json_t *doc, const char *file)
{
	char tmp[4096];
	FILE *f = NULL;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", file) >=
	    (int)sizeof(tmp))
		return cli_usage(cli, "dump: -o: path too long");
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		err = errno;
	else if (json_dumpf(doc, f, JSON_DOC_FLAGS | JSON_INDENT(1)) || fputc('\n', f) == EOF ||
		 fflush(f) || fsync(fileno(f)))
		err = errno ? errno : EIO;
	if (f && fclose(f) && !err)
		err = errno;
	else if (!f && fd >= 0)
		close(fd);
	if (!err && rename(tmp, file))
		err = errno;
	if (err) {
		if (fd >= 0)
			unlink(tmp);
		return cli_fail(cli, -err, "dump: cannot write %s: %s", file,
				strerror(err));
	}
	return 0;
}

int do_dump(struct cli *cli, const struct cmd *self, int argc, char **argv,
	    json_t **out)
{
	const char *file = NULL;
	struct opt_iter it;
	char **args;
	int idx, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0)
		file = it.arg;
	if (idx == -2)
		return cli->error.status;
	if (opt_rest(&it, &args))
		return cli_usage(cli, "dump: unexpected argument '%s'", args[0]);
	if (file && !*file)
		return cli_usage(cli, "dump: -o needs a file name, not ''");
	ret = xgm_dump(cli->ctx, out);
	if (ret)
		return cli_fail_lib(cli, ret, "dump failed");
	if (file) {
		ret = write_dump(cli, *out, file);
		json_decref(*out);
		/* The error is the one document, never the dump. */
		*out = ret ? NULL : json_pack("{s:s,s:s}", "written", file,
					      "schema", "xgpumap-dump");
	}
	return ret;
}
