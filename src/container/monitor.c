/* The container monitor: start, relay, forward signals, record the end. */
#include "mctr/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/ctrlog.h"
#include "mctr/digest.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"
#include "mctr/runtime.h"
#include "mctr/timeutil.h"

#define RELAY_BUF (64u * 1024)

/* Signals the monitor passes on to the container. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

struct relay {
	int out_pipe;        /* container stdout (or the pty master) */
	int err_pipe;        /* container stderr, -1 with a pty */
	int pty;             /* the pty master, -1 without */
	int stdin_fd;        /* our stdin relayed to the pty, -1 if not */
	bool attach;
	bool stdout_broken;
	struct ctrlog_writer *log;
};

static struct termios saved_termios;
static bool termios_saved;

static void terminal_restore(void)
{
	if (termios_saved) {
		tcsetattr(0, TCSANOW, &saved_termios);
		termios_saved = false;
	}
}

static void terminal_raw(void)
{
	if (!isatty(0) || tcgetattr(0, &saved_termios) < 0)
		return;
	termios_saved = true;
	struct termios raw = saved_termios;
	cfmakeraw(&raw);
	tcsetattr(0, TCSANOW, &raw);
}

void monitor_terminal_size(unsigned short *rows, unsigned short *cols)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static void copy_winsize(int pty)
{
	struct winsize ws;
	if (pty >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(pty, TIOCSWINSZ, &ws);
}

/* Move what is readable on fd to the log and, attached, to our output.
 * Returns false at EOF. */
static bool relay_output(struct relay *r, int fd, int stream)
{
	char buf[RELAY_BUF];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false; /* EOF, or EIO on a pty whose slave side closed */
	struct mctr_err err = { 0 };
	if (r->log != NULL && ctrlog_write(r->log, stream, buf, (size_t)n, &err) < 0)
		mctr_warn("container log: %s", err.msg);
	if (r->attach && !r->stdout_broken && fd_write_all(stream == 2 ? 2 : 1, buf, (size_t)n, &err) < 0)
		r->stdout_broken = true; /* e.g. `mctr run ... | head -1`: keep logging */
	return true;
}

static void relay_stdin(struct relay *r)
{
	char buf[RELAY_BUF];
	ssize_t n = read(r->stdin_fd, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		r->stdin_fd = -1;
		return;
	}
	struct mctr_err err = { 0 };
	fd_write_all(r->pty, buf, (size_t)n, &err);
}

struct relay_target {
	pid_t pid;
	int pidfd;
};

static void forward_signal(const struct relay_target *c, int sig)
{
	if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		mctr_warn("forward signal %d: %s", sig, strerror(errno));
}

static int make_signalfd(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, old);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		sigprocmask(SIG_SETMASK, old, NULL); /* no forwarding, but no signal lost either */
	return fd;
}

/* Drive the container until it exits; returns its wait status. */
static int relay_until_exit(struct relay *r, const struct relay_target *c, int sigfd)
{
	bool out_open = r->out_pipe >= 0, err_open = r->err_pipe >= 0, exited = false;
	int wstatus = 0;
	while (!exited || out_open || err_open) {
		struct pollfd p[5] = {
			{ .fd = exited ? -1 : c->pidfd, .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = out_open ? r->out_pipe : -1, .events = POLLIN },
			{ .fd = err_open ? r->err_pipe : -1, .events = POLLIN },
			{ .fd = r->stdin_fd, .events = POLLIN },
		};
		if (poll(p, 5, exited ? 1000 : -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents)
			out_open = relay_output(r, r->out_pipe, 1);
		if (p[3].revents)
			err_open = relay_output(r, r->err_pipe, 2);
		if (p[4].revents)
			relay_stdin(r);
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if ((int)si.ssi_signo == SIGWINCH)
					copy_winsize(r->pty);
				else
					forward_signal(c, (int)si.ssi_signo);
			}
		}
		if (p[0].revents && !exited) {
			if (waitpid(c->pid, &wstatus, 0) == c->pid)
				exited = true;
			/* A pty gives EIO (not EOF) once the container is gone and may
			 * hold nothing more: stop after a final drain. */
			if (r->pty >= 0 && exited) {
				int fl = fcntl(r->pty, F_GETFL);
				fcntl(r->pty, F_SETFL, fl | O_NONBLOCK);
				while (relay_output(r, r->pty, 1) && poll(&(struct pollfd){ r->pty, POLLIN, 0 }, 1, 0) > 0)
					;
				out_open = false;
			}
		}
		if (exited && (out_open || err_open) && p[2].revents == 0 && p[3].revents == 0) {
			/* Pipes can stay open if something escaped the pid
			 * namespace's teardown (impossible by design): don't hang. */
			if (poll((struct pollfd[]){ { out_open ? r->out_pipe : -1, POLLIN, 0 },
			                            { err_open ? r->err_pipe : -1, POLLIN, 0 } },
			         2, 200) == 0)
				break;
		}
	}
	return wstatus;
}

static void record_end(struct ctr_store *cs, struct ctr_state *st, struct rt_container *c, int exit_code)
{
	uint64_t ooms = 0;
	struct mctr_err err = { 0 };
	if (c->cg != NULL && cgroup_oom_kill_count(c->cg, &ooms, &err) == 0 && ooms > 0)
		st->oom_killed = true;
	mctr_debug("monitor: OOM checked");
	bool cgroup_gone = ctr_cgroup_remove(c->cg, st->id, &err) == 0;
	mctr_debug("monitor: cgroup removed");
	if (!cgroup_gone)
		mctr_warn("container %.12s: %s", st->id, err.msg);
	char now[64];
	rfc3339_now(now, sizeof now);
	_cleanup_close_ int lock = ctr_lock(cs, st->id, &err);
	mctr_debug("monitor: locked");
	st->status = CTR_EXITED;
	st->exit_code = exit_code;
	free(st->finished_at);
	st->finished_at = xstrdup(now);
	st->pid = 0;
	if (st->auto_remove) {
		if ((cgroup_gone ? ctr_remove_files(cs, st, &err) : ctr_remove(cs, st, &err)) < 0)
			mctr_warn("--rm: %s", err.msg);
		return;
	}
	if (ctr_state_write(cs, st, &err) < 0)
		mctr_warn("%s", err.msg);
}

/* The container never ran: with --rm, or for `run` (which must leave
 * nothing behind when it fails), it goes; a created container that `start`
 * could not start keeps its record, with the error. */
static int record_start_failure(struct ctr_store *cs, struct ctr_state *st, bool remove, const struct mctr_err *why)
{
	struct mctr_err err = { 0 };
	_cleanup_close_ int lock = ctr_lock(cs, st->id, &err);
	st->status = CTR_EXITED;
	st->exit_code = mctr_err_exit_status(why);
	free(st->error);
	st->error = xstrdup(why->msg);
	if (st->auto_remove || remove)
		return ctr_remove(cs, st, &err);
	/* The record stays; the cgroup and its claim go (rt_run has
	 * normally removed the cgroup already). */
	if (ctr_cgroup_destroy(st->id, &err) < 0)
		mctr_warn("container %.12s: %s", st->id, err.msg);
	return ctr_state_write(cs, st, &err);
}

static void notify_ready(int fd, const char *msg)
{
	if (fd < 0)
		return;
	struct mctr_err err = { 0 };
	fd_write_all(fd, msg, strlen(msg), &err);
	close(fd);
}

int monitor_run(const struct monitor_opts *o, struct mctr_err *err)
{
	struct ctr_state st;
	if (ctr_state_read(o->cs, o->id, &st, err) < 0)
		return -1;
	_cleanup_free_ char *bundle = ctr_dir_path(o->cs, o->id);
	_cleanup_close_ int dfd = ctr_dir_open(o->cs, o->id, err);
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct relay r = { .out_pipe = -1, .err_pipe = -1, .pty = -1, .stdin_fd = -1, .attach = o->attach };
	struct rt_container c = { .pid = -1, .pidfd = -1, .pty_master = -1 };
	sigset_t oldmask;
	int sigfd = -1, rc = -1;
	if (dfd < 0 || ctrlog_open(dfd, &r.log, err) < 0)
		goto not_started;
	if (!st.tty && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) {
		mctr_fail_errno(err, "pipe");
		goto not_started;
	}
	sigfd = make_signalfd(&oldmask);
	char short_id[SHORT_ID_LEN + 1];
	snprintf(short_id, sizeof short_id, "%.*s", SHORT_ID_LEN, o->id);
	struct rt_run_opts ro = {
		.bundle = bundle,
		.id = short_id, /* for messages: "container 0123456789ab: ..." */
		.stdio = { .in = o->interactive && !st.tty ? 0 : -1, .out = out[1], .err = errp[1] },
		.die_with_parent = true,
	};
	if (st.tty && o->attach)
		monitor_terminal_size(&ro.console_rows, &ro.console_cols);
	mctr_debug("monitor: starting container %.12s", o->id);
	if (ctr_cgroup_claim(o->cs, o->id, err) < 0 || rt_run(&ro, &c, err) < 0)
		goto not_started;
	if (!c.devices_restricted)
		mctr_warn("container %.12s: no device cgroup on this host: CAP_MKNOD was dropped instead", o->id);
	/* Only the container holds the write ends now: EOF means it is done. */
	close(out[1]);
	close(errp[1]);
	out[1] = errp[1] = -1;
	r.out_pipe = st.tty ? c.pty_master : out[0];
	r.err_pipe = st.tty ? -1 : errp[0];
	r.pty = c.pty_master;
	if (st.tty && o->interactive && o->attach)
		r.stdin_fd = 0;

	char now[64];
	rfc3339_now(now, sizeof now);
	st.status = CTR_RUNNING;
	/* A restarted container: how an earlier run ended is not this one's. */
	st.exit_code = 0;
	st.oom_killed = false;
	free(st.error);
	st.error = NULL;
	st.pid = c.pid;
	st.pid_start = ctr_pid_start_time(c.pid);
	st.monitor_pid = getpid();
	st.monitor_start = ctr_pid_start_time(getpid());
	free(st.started_at);
	st.started_at = xstrdup(now);
	if (ctr_state_write(o->cs, &st, err) < 0)
		mctr_warn("%s", err->msg);
	notify_ready(o->ready_fd, "ok\n");
	mctr_debug("monitor: container running as pid %ld", (long)c.pid);

	if (st.tty && o->attach) {
		terminal_raw();
		copy_winsize(c.pty_master);
	}
	struct relay_target target = { c.pid, c.pidfd };
	int wstatus = relay_until_exit(&r, &target, sigfd);
	terminal_restore();
	rc = rt_status_to_exit_code(wstatus);
	mctr_debug("monitor: container exited with %d", rc);
	/* The log is complete (partial lines flushed) before the end is
	 * recorded: `logs -f` stops at that record. */
	ctrlog_close(r.log);
	r.log = NULL;
	record_end(o->cs, &st, &c, rc);
	mctr_debug("monitor: recorded and cleaned up");
	goto out;
not_started:
	record_start_failure(o->cs, &st, o->remove_on_start_failure, err);
	if (o->ready_fd >= 0) {
		/* The status travels with the message: the record may be gone. */
		_cleanup_free_ char *msg = xasprintf("E%d %s", mctr_err_exit_status(err), err->msg);
		notify_ready(o->ready_fd, msg);
	}
out:
	terminal_restore();
	if (sigfd >= 0) {
		close(sigfd);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	}
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	ctrlog_close(r.log);
	rt_container_release(&c);
	ctr_state_clear(&st);
	return rc;
}

int monitor_attach_process(pid_t pid, int pidfd, int pty_master, bool interactive)
{
	struct relay r = { .out_pipe = pty_master, .err_pipe = -1, .pty = pty_master, .stdin_fd = -1,
			   .attach = true };
	if (pty_master >= 0 && interactive)
		r.stdin_fd = 0;
	sigset_t oldmask;
	int sigfd = make_signalfd(&oldmask);
	if (pty_master >= 0) {
		terminal_raw();
		copy_winsize(pty_master);
	}
	struct relay_target target = { pid, pidfd };
	int wstatus = relay_until_exit(&r, &target, sigfd);
	terminal_restore();
	if (sigfd >= 0)
		close(sigfd);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return rt_status_to_exit_code(wstatus);
}

int monitor_start_detached(struct ctr_store *cs, const char *id, bool remove_on_start_failure, struct mctr_err *err)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return mctr_fail_errno(err, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(ready[0]);
		close(ready[1]);
		return mctr_fail_errno(err, "fork monitor");
	}
	if (pid == 0) {
		/* The monitor: its own session, no terminal, stdio on /dev/null. */
		close(ready[0]);
		setsid();
		/* It may outlive this shell by days: keep no directory of the
		 * caller's busy (the store root is absolute). */
		(void)!chdir("/");
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		struct monitor_opts mo = { .cs = cs, .id = id, .ready_fd = ready[1],
					   .remove_on_start_failure = remove_on_start_failure };
		struct mctr_err merr = { 0 };
		int rc = monitor_run(&mo, &merr);
		_exit(rc < 0 ? 125 : 0);
	}
	close(ready[1]);
	char buf[MCTR_ERR_MSG_MAX];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(ready[0], buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(ready[0]);
	buf[len] = '\0';
	if (strcmp(buf, "ok\n") == 0)
		return 0;
	/* The monitor failed before starting the container ("E<status> <why>");
	 * reap it. */
	int ws;
	waitpid(pid, &ws, 0);
	int status = 0, off = 0;
	if (sscanf(buf, "E%d %n", &status, &off) >= 1 && off > 0) {
		mctr_fail(err, 0, "%s", buf + off);
		err->status = status;
		return -1;
	}
	return mctr_fail(err, 0, "%s", len > 0 ? buf : "the container monitor died before starting the container");
}
