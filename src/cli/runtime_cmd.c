/* mctr runtime run [--id ID] BUNDLE: run an OCI bundle in the foreground,
 * as an OCI runtime's `run` would: the container gets mctr's stdio (or a
 * pty proxied to it when process.terminal is true), the monitor's signals
 * (INT TERM HUP QUIT USR1 USR2) are forwarded to it, and its exit code
 * becomes mctr's.  For tests and benchmarks of the runtime alone. */
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/monitor.h"
#include "mctr/runtime.h"

static const char usage[] = "Usage: mctr runtime run [OPTIONS] BUNDLE\n\n"
                            "Run the OCI bundle BUNDLE (a directory with config.json) in the foreground.\n\n"
                            "Options:\n"
                            "      --id ID    container ID (default: the bundle's directory name); the\n"
                            "                 cgroup is linux.cgroupsPath, else mctr/ID\n"
                            "  -h, --help     print this help\n";

int cmd_runtime_run(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "id", required_argument, NULL, 'i' }, { 0 } };
	const struct cli_opts o = { usage, "", longopts };
	const char *id = NULL;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'i':
			id = optarg;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, 1, usage, err) < 0)
		return -1;
	const char *bundle = argv[optind];
	_cleanup_free_ char *base = NULL;
	if (id == NULL) {
		char real[PATH_MAX];
		if (realpath(bundle, real) == NULL)
			return mctr_fail_errno(err, "bundle %s", bundle);
		base = xstrdup(basename(real));
		id = base;
	}

	/* Blocked from before the clone, so a signal during setup is not
	 * lost: the signalfd of monitor_attach_process picks it up.  The
	 * container's process unblocks everything itself. */
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	sigset_t set, old;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, &old);

	struct rt_run_opts ro = {
		.bundle = bundle,
		.id = id,
		.stdio = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO },
		.die_with_parent = true,
	};
	monitor_terminal_size(&ro.console_rows, &ro.console_cols);
	struct rt_container ctr;
	if (rt_run(&ro, &ctr, err) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	/* A pty is proxied to our terminal (stdin included); without one the
	 * container has our stdio itself. */
	int rc = monitor_attach_process(ctr.pid, ctr.pidfd, ctr.pty_master, true);
	struct mctr_err derr = { 0 };
	if (cgroup_destroy(ctr.cg, &derr) < 0)
		fprintf(stderr, "mctr: %s\n", derr.msg);
	rt_container_release(&ctr);
	sigprocmask(SIG_SETMASK, &old, NULL);
	(void)cli;
	return rc;
}
