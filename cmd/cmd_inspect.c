// SPDX-License-Identifier: GPL-2.0-only
/* p2m, check, recover: the state as it is, its invariants, its repair. */
#include <errno.h>
#include <inttypes.h>
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
	struct opt_iter it;
	char **args;
	int ret;

	if (opt_parse_none(cli, self, &it, argc, argv, &args))
		return cli_usage(cli, "recover: unexpected argument '%s'", args[0]);
	ret = xgm_recover(cli->ctx, out);
	if (ret)
		return cli_fail_lib(cli, ret, "recover failed");
	if (!json_array_size(*out) && !cli->json) {
		json_decref(*out);
		*out = json_pack("{s:s}", "result", "nothing to recover");
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
	ret = xgm_dump(cli->ctx, out);
	if (ret)
		return cli_fail_lib(cli, ret, "dump failed");
	if (file) {
		/* Written whole or not at all: a capture must not be cut short. */
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", file);
		f = fopen(tmp, "w");
		if (!f || json_dumpf(*out, f, JSON_DOC_FLAGS | JSON_INDENT(1)) || fputc('\n', f) == EOF ||
		    fclose(f) || rename(tmp, file)) {
			ret = cli_fail(cli, -errno, "dump: cannot write %s: %s", file,
				       strerror(errno));
			if (f)
				unlink(tmp);
			return ret;
		}
		json_decref(*out);
		*out = json_pack("{s:s,s:s}", "written", file, "schema", "xgpumap-dump");
	}
	return 0;
}
