/* mctr runtime run [--id ID] BUNDLE: run an OCI bundle in the foreground,
 * as an OCI runtime's `run` would: the container gets mctr's stdio (or a
 * pty proxied to it when process.terminal is true), SIGINT/SIGTERM/SIGHUP
 * are forwarded to it, and its exit code becomes mctr's.  For tests and
 * benchmarks of the runtime alone. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/runtime.h"

static const char usage[] = "Usage: mctr runtime run [OPTIONS] BUNDLE\n\n"
                            "Run the OCI bundle BUNDLE (a directory with config.json) in the foreground.\n\n"
                            "Options:\n"
                            "      --id ID    container ID (default: the bundle's directory name); the\n"
                            "                 cgroup is linux.cgroupsPath, else mctr/ID\n"
                            "  -h, --help     print this help\n";

struct proxy {
	int master;          /* pty master, -1 without a terminal */
	bool master_open;    /* false once it reads EIO (no slave left) */
	bool stdin_open;
	bool raw;            /* the caller's tty was put in raw mode */
	struct termios saved;
};

static void copy_winsize(int master)
{
	struct winsize ws;
	if (master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

static void proxy_start(struct proxy *px)
{
	px->stdin_open = true;
	px->master_open = px->master >= 0;
	if (px->master < 0 || !isatty(STDIN_FILENO))
		return;
	if (tcgetattr(STDIN_FILENO, &px->saved) == 0) {
		struct termios raw = px->saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			px->raw = true;
	}
	copy_winsize(px->master);
}

static void proxy_stop(struct proxy *px)
{
	if (px->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &px->saved);
	px->raw = false;
}

/* Copy what is readable from -> to; false at EOF or error. */
static bool pump(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	struct mctr_err ignored = { 0 };
	return fd_write_all(to, buf, (size_t)n, &ignored) == 0;
}

/* After the container exits, what it wrote is still in the pty. */
static void drain(int master)
{
	int fl = fcntl(master, F_GETFL);
	fcntl(master, F_SETFL, fl | O_NONBLOCK);
	while (pump(master, STDOUT_FILENO))
		;
}

static int wait_container(struct rt_container *c, int sfd, struct proxy *px, struct mctr_err *err)
{
	for (;;) {
		struct pollfd fds[4] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = c->pidfd, .events = POLLIN },
			{ .fd = px->master_open ? px->master : -1, .events = POLLIN },
			{ .fd = px->master >= 0 && px->stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return mctr_fail_errno(err, "poll");
		}
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGWINCH)
					copy_winsize(px->master);
				else if (si.ssi_signo != SIGCHLD)
					syscall(SYS_pidfd_send_signal, c->pidfd, (int)si.ssi_signo, NULL, 0);
			}
		}
		if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!pump(px->master, STDOUT_FILENO))
				px->master_open = false;
		}
		if (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!pump(STDIN_FILENO, px->master))
				px->stdin_open = false;
		}
		if (fds[1].revents & POLLIN) {
			int st;
			pid_t p;
			while ((p = waitpid(c->pid, &st, 0)) < 0 && errno == EINTR)
				;
			if (p < 0)
				return mctr_fail_errno(err, "wait for the container");
			if (px->master >= 0)
				drain(px->master);
			return rt_status_to_exit_code(st);
		}
	}
}

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
	 * lost; the container's process unblocks everything itself. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, &old);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return mctr_fail_errno(err, "signalfd");

	struct rt_run_opts ro = {
		.bundle = bundle,
		.id = id,
		.stdio = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO },
		.die_with_parent = true,
	};
	struct rt_container ctr;
	if (rt_run(&ro, &ctr, err) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	struct proxy px = { .master = ctr.pty_master };
	proxy_start(&px);
	int rc = wait_container(&ctr, sfd, &px, err);
	proxy_stop(&px);
	struct mctr_err derr = { 0 };
	if (cgroup_destroy(ctr.cg, &derr) < 0 && rc >= 0)
		fprintf(stderr, "mctr: %s\n", derr.msg);
	rt_container_release(&ctr);
	sigprocmask(SIG_SETMASK, &old, NULL);
	(void)cli;
	return rc;
}
