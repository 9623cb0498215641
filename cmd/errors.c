// SPDX-License-Identifier: GPL-2.0-only
/*
 * One error per command, recorded once and reported once: as "xgpumap:
 * message" on stderr, or as the single JSON error document on stdout.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_reset_error(struct cli *cli)
{
	memset(&cli->error, 0, sizeof(cli->error));
}

/* Only a failure that the same command can get past by trying again is
 * transient: a conflict (EAGAIN) or a wait given up (ETIMEDOUT). A blob
 * that is pinned or a buffer that is still mapped (EBUSY) stays so until
 * something else changes: that is a failure. */
static int status_for(int err)
{
	return err == EAGAIN || err == ETIMEDOUT ? EXIT_TRANSIENT : EXIT_FAILED;
}

static void record(struct cli *cli, int status, int err, const char *fmt,
		   va_list ap)
{
	/* The first error wins: it is the cause, later ones are fallout. */
	if (cli->error.status)
		return;
	cli->error.status = status;
	cli->error.err = err;
	vsnprintf(cli->error.msg, sizeof(cli->error.msg), fmt, ap);
}

int cli_usage(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(cli, EXIT_USAGE, EINVAL, fmt, ap);
	va_end(ap);
	return cli->error.status;
}

int cli_fail(struct cli *cli, int neg_errno, const char *fmt, ...)
{
	int err = neg_errno < 0 ? -neg_errno : (neg_errno ? neg_errno : EIO);
	va_list ap;

	va_start(ap, fmt);
	record(cli, status_for(err), err, fmt, ap);
	va_end(ap);
	return cli->error.status;
}

/* The library says what could put a failure right (xgm_last_remedy());
 * these are the commands that do it. */
static const char *const remedy_hints[XGM_REMEDY_NR] = {
	[XGM_REMEDY_RECOVER] = "run 'xgpumap recover'",
	[XGM_REMEDY_DISCARD] = "'xgpumap recover --discard %s' drops it",
	[XGM_REMEDY_SIM_RESET] = "see 'xgpumap sim reset'",
	[XGM_REMEDY_SIM_EXTENSION] = "create the host with 'xgpumap sim init "
				     "--extensions %s'",
	[XGM_REMEDY_SIM_STATE] = "use --sim-state FILE",
	[XGM_REMEDY_FILL] = "run 'xgpumap fill %s' first",
	[XGM_REMEDY_STRATEGY_AUTO] = "attach with --strategy auto to allow "
				     "switching",
	[XGM_REMEDY_P2M] = "'xgpumap p2m %s' shows its entries",
	[XGM_REMEDY_DAEMON] = "start it: systemctl start xgpumapd.socket, or "
			      "xgpumapd -b xen",
	[XGM_REMEDY_SIM_IMPORT] = "'xgpumap --sim-state NEW.db sim import %s' "
				  "makes a state of it",
};

const char *cli_remedy_hint(enum xgm_remedy r, const char *arg, char *buf,
			    size_t len)
{
	const char *fmt = (unsigned int)r < XGM_REMEDY_NR ? remedy_hints[r] : NULL;

	if (!fmt)
		return NULL;
	/* Every hint's only conversion is the remedy's argument. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(buf, len, fmt, arg ? arg : "");
#pragma GCC diagnostic pop
	return buf;
}

int cli_fail_lib(struct cli *cli, int neg_errno, const char *what)
{
	const char *detail = xgm_last_error(), *arg, *hint;
	int err = neg_errno < 0 ? -neg_errno : EIO;
	/* Apart from the call that reads arg: the order in which a call's
	 * arguments are evaluated is unspecified. */
	enum xgm_remedy r = xgm_last_remedy(&arg);
	char buf[160];

	hint = cli_remedy_hint(r, arg, buf, sizeof(buf));
	if (detail && *detail && hint)
		return cli_fail(cli, -err, "%s (%s)", detail, hint);
	if (detail && *detail)
		return cli_fail(cli, -err, "%s", detail);
	return cli_fail(cli, -err, "%s: %s", what, strerror(err));
}

json_t *cli_error_doc(const struct cli *cli)
{
	const char *code = strerrorname_np(cli->error.err);

	return json_pack("{s:{s:s,s:i,s:s}}", "error", "code",
			 code ? code : "EIO", "errno", cli->error.err,
			 "message", cli->error.msg);
}

void cli_print_error(const struct cli *cli)
{
	if (cli->json) {
		json_t *doc = cli_error_doc(cli);

		json_dumpf(doc, stdout, cli->pretty ? JSON_INDENT(2) : JSON_COMPACT);
		fputc('\n', stdout);
		fflush(stdout);
		json_decref(doc);
		return;
	}
	fputs("xgpumap: ", stderr);
	fput_escaped(cli->error.msg, stderr);
	fputc('\n', stderr);
	/* A message that already says where to look needs no second hint. */
	if (cli->error.status == EXIT_USAGE &&
	    !strstr(cli->error.msg, "'xgpumap help"))
		fputs("Try 'xgpumap help' for usage.\n", stderr);
}
