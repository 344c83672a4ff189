/* The built-in init (annotation org.mctr.init, `--init`): stays PID 1 of
 * the container, forks the command, forwards TERM INT HUP QUIT USR1 USR2
 * WINCH to the command's process group, reaps every child (orphans are
 * re-parented to PID 1; SIGCHLD coalesces, hence waitpid(-1, WNOHANG) in a
 * loop) and exits with the command's status, as tini and docker-init do.
 *
 * The signals are blocked and taken with sigwaitinfo: a blocked signal
 * reaches PID 1 even from inside its namespace, where a default
 * disposition would be dropped.  The init is a copy of mctr that never
 * execs, so it stays non-dumpable (the container cannot open
 * /proc/1/exe) and holds no fd but 0, 1 and 2. */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mctr/proctitle.h"
#include "rt_internal.h"

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

void rt_init_signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
}

/* Reap whatever has exited; true once the command has. */
static bool reap_all(pid_t cmd, int *code)
{
	bool done = false;
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p <= 0)
			break;
		if (p == cmd) {
			*code = rt_status_to_exit_code(st);
			done = true;
		}
	}
	return done;
}

int rt_init_loop(pid_t cmd, bool own_session)
{
	syscall(SYS_close_range, 3U, ~0U, 0U);
	prctl(PR_SET_NAME, "mctr-init", 0, 0, 0);
	/* Everyone in the container can read our cmdline: not mctr's argv. */
	proctitle_set("mctr-init");
	/* The child does the same; whichever runs first wins the race.  A
	 * child that makes its own session (terminal) must not be made a
	 * group leader first: setsid would then fail. */
	if (!own_session)
		setpgid(cmd, cmd);
	sigset_t set;
	rt_init_signal_set(&set);
	int code = MCTR_EXIT_ERROR;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (sig == SIGCHLD) {
			if (reap_all(cmd, &code))
				break;
			continue;
		}
		if (kill(-cmd, sig) < 0)
			kill(cmd, sig);
	}
	/* Pick up what died together with the command before PID 1 goes
	 * (the kernel then kills the rest of the namespace). */
	reap_all(cmd, &code);
	return code;
}
