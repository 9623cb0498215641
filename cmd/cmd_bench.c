// SPDX-License-Identifier: GPL-2.0-only
/* bench [SCENARIO]: the cost of each way of mapping, on private sim hosts. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

int do_bench(struct cli *cli, const struct cmd *self, int argc, char **argv,
	     json_t **out)
{
	XGM_OPTS(xgm_bench_opts, opts);
	struct opt_iter it;
	uint64_t v, max;
	char **args;
	int idx, n, ret;

	opt_iter_init(&it, argc, argv);
	while ((idx = opt_next(cli, self, &it)) >= 0) {
		const char *name = self->opts[idx].name;

		if (!strcmp(name, "size")) {
			if (xgm_parse_size(it.arg, &opts.size) || !opts.size)
				return cli_usage(cli, "bench: --size: '%s' is not a size", it.arg);
			continue;
		}
		/* The library's own limits (xgm_bench), so one message says
		 * what is allowed. */
		max = !strcmp(name, "guests") ? XGM_SIM_MAX_GUESTS :
		      !strcmp(name, "blobs") ? 4096 : 100000;
		if (xgm_parse_frame(it.arg, &v) || !v || v > max)
			return cli_usage(cli, "bench: --%s must be 1..%llu, "
					 "not '%s'", name,
					 (unsigned long long)max, it.arg);
		if (!strcmp(name, "repeat"))
			opts.repeat = (unsigned int)v;
		else if (!strcmp(name, "guests"))
			opts.guests = (unsigned int)v;
		else
			opts.blobs = (unsigned int)v;
	}
	if (idx == -2)
		return cli->error.status;
	n = opt_rest(&it, &args);
	if (n > 1)
		return cli_usage(cli, "bench: at most one SCENARIO");
	opts.scenario = n ? args[0] : NULL;
	progress_begin(cli);
	ret = xgm_bench(&opts, out);
	progress_end();
	if (ret == -EINVAL)
		return cli_usage(cli, "%s", xgm_last_error());
	return ret ? cli_fail_lib(cli, ret, "bench failed") : 0;
}
