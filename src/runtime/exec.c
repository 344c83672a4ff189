/* rt_exec: a new process in a running container.
 *
 *   parent                        middle child M                 process P
 *   ------                        --------------                 ---------
 *   fork M (waits for "go")
 *   cgroup_enter(M), "go" ------> open /proc/PID/root
 *                                 setns(pidfd, all namespaces)
 *                                 chroot into the container root
 *                                 clone(CLONE_PARENT) ---------> [pty], user, cwd,
 *   <---------------------------- P's pid; exit                  caps, no_new_privs,
 *   <------------------------------------------------------------ execve (EOF) or error
 *
 * setns(CLONE_NEWPID) only moves M's future children into the container's
 * pid namespace, hence P; CLONE_PARENT makes P a child of the caller, who
 * can wait for it.  P inherits the cgroup M was moved into before it ran
 * anything. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "rt_internal.h"

#define JOINED_NS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP)

/* setns with a pidfd joins them all at once (Linux >= 5.8); older kernels
 * take the /proc/PID/ns files one by one (mnt last: it changes the root). */
static int join_all(int pidfd, pid_t pid, struct mctr_err *err)
{
	if (setns(pidfd, JOINED_NS) == 0)
		return 0;
	if (errno != EINVAL)
		return mctr_fail_errno(err, "join the namespaces of the container");
	static const struct {
		const char *name;
		int flag;
	} ns[] = { { "cgroup", CLONE_NEWCGROUP }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
		   { "net", CLONE_NEWNET },       { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS } };
	int fds[6];
	for (size_t i = 0; i < 6; i++) {
		char p[64];
		snprintf(p, sizeof p, "/proc/%d/ns/%s", (int)pid, ns[i].name);
		fds[i] = open(p, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			mctr_fail_errno(err, "open %s", p);
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	}
	int rc = 0;
	for (size_t i = 0; i < 6; i++) {
		if (rc == 0 && setns(fds[i], ns[i].flag) < 0)
			rc = mctr_fail_errno(err, "join the %s namespace of the container", ns[i].name);
		close(fds[i]);
	}
	return rc;
}

struct exec_ctx {
	const struct rt_exec_opts *o;
	const struct rt_process_spec *p;
	int pidfd;
	int sync_fd;
};

__attribute__((noreturn)) static void process_main(const struct exec_ctx *c, int rootfd)
{
	struct mctr_err err = { 0 };
	int slave = -1;
	if (c->p->terminal &&
	    rt_tty_create(rootfd, c->sync_fd, false, c->o->console_rows, c->o->console_cols, &slave, &err) < 0)
		rt_child_fail(c->sync_fd, &err);
	struct rt_final f = {
		.process = c->p,
		.rootfd = rootfd,
		.sync_fd = c->sync_fd,
		.tty_slave = slave,
	};
	rt_finalize_and_exec(&f);
}

__attribute__((noreturn)) static void middle_main(const struct exec_ctx *c)
{
	struct mctr_err err = { 0 };
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	rt_signals_reset();
	struct rt_msg msg;
	if (rt_sync_recv(c->sync_fd, &msg, NULL, &err) <= 0 || msg.type != RT_MSG_GO)
		_exit(MCTR_EXIT_ERROR);
	if (!c->p->terminal && rt_stdio_install(&c->o->stdio, &err) < 0)
		rt_child_fail(c->sync_fd, &err);
	/* The container's root as its init sees it: after the pivot this is
	 * also where setns(mnt) lands, after a chroot fallback it is not. */
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/root", (int)c->o->pid);
	_cleanup_close_ int root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		mctr_fail_errno(&err, "open %s", p);
		rt_child_fail(c->sync_fd, &err);
	}
	/* ... and it is still that container's (the pid was not recycled). */
	if (syscall(SYS_pidfd_send_signal, c->pidfd, 0, NULL, 0) < 0) {
		mctr_fail_errno(&err, "the container's init (pid %d)", (int)c->o->pid);
		rt_child_fail(c->sync_fd, &err);
	}
	if (join_all(c->pidfd, c->o->pid, &err) < 0)
		rt_child_fail(c->sync_fd, &err);
	if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		mctr_fail_errno(&err, "enter the container's root");
		rt_child_fail(c->sync_fd, &err);
	}
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0) {
		mctr_fail_errno(&err, "fork into the container");
		rt_child_fail(c->sync_fd, &err);
	}
	if (pid == 0)
		process_main(c, root);
	rt_sync_send(c->sync_fd, RT_MSG_PID, pid, -1, &err);
	_exit(0);
}

/* Messages until EOF: the process's pid, maybe a pty, then exec or an
 * error.  Read to the end even after an error: the pid (sent by the middle
 * child) may come after the process's own messages, and the caller must
 * learn it to reap the process. */
static int wait_exec(int sync_fd, struct rt_process *out, struct mctr_err *err)
{
	bool exec_seen = false, failed = false;
	for (;;) {
		struct rt_msg msg;
		int fd = -1;
		int rc = rt_sync_recv(sync_fd, &msg, &fd, failed ? NULL : err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		switch (msg.type) {
		case RT_MSG_PID:
			out->pid = msg.pid;
			break;
		case RT_MSG_PTY:
			if (out->pty_master >= 0)
				close(out->pty_master);
			out->pty_master = fd;
			fd = -1;
			break;
		case RT_MSG_EXEC:
			exec_seen = true;
			break;
		case RT_MSG_ERROR:
			if (!failed) {
				mctr_fail(err, 0, "%s", msg.text);
				err->errnum = msg.errnum;
				err->status = msg.status;
			}
			failed = true;
			break;
		default:
			break;
		}
		if (fd >= 0)
			close(fd);
	}
	if (failed)
		return -1;
	if (!exec_seen || out->pid <= 0)
		return mctr_fail(err, EPROTO, "the exec'd process died during setup");
	return 0;
}

static int exec_start(const struct rt_exec_opts *o, const struct rt_process_spec *p, int pidfd, struct cgroup *cg,
                      struct rt_process *out, struct mctr_err *err)
{
	int sp[2];
	if (rt_sync_pair(sp, err) < 0)
		return -1;
	_cleanup_close_ int parent_end = sp[0], child_end = sp[1];
	struct exec_ctx c = { .o = o, .p = p, .pidfd = pidfd, .sync_fd = child_end };
	pid_t mid = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
	if (mid < 0)
		return mctr_fail_errno(err, "fork");
	if (mid == 0) {
		close(parent_end);
		middle_main(&c);
	}
	close(steal_fd(&child_end));
	int rc = 0;
	if (cg != NULL && cgroup_enter(cg, mid, err) < 0)
		rc = -1;
	if (rc == 0)
		rc = rt_sync_send(parent_end, RT_MSG_GO, 0, -1, err);
	if (rc == 0)
		rc = wait_exec(parent_end, out, err);
	if (rc < 0)
		kill(mid, SIGKILL);
	while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
		;
	if (rc < 0 && out->pid > 0) {
		kill(out->pid, SIGKILL);
		while (waitpid(out->pid, NULL, 0) < 0 && errno == EINTR)
			;
		out->pid = 0;
	}
	return rc;
}

int rt_exec(const struct rt_exec_opts *o, struct rt_process *out, struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	out->pidfd = out->pty_master = -1;
	_cleanup_json_ json_t *pj = json_parse_buf(o->process_json, strlen(o->process_json), "process", err);
	if (pj == NULL)
		return -1;
	struct rt_process_spec p;
	int rc = rt_process_parse(pj, &p, err);
	if (rc == 0 && o->user != NULL && o->user[0] != '\0')
		p.user_name = xstrdup(o->user);
	_cleanup_close_ int pidfd = -1;
	if (rc == 0) {
		pidfd = o->pidfd >= 0 ? fcntl(o->pidfd, F_DUPFD_CLOEXEC, 3) : (int)syscall(SYS_pidfd_open, o->pid, 0);
		if (pidfd < 0)
			rc = mctr_fail_errno(err, "pidfd of the container's init %d", (int)o->pid);
	}
	struct cgroup *cg = NULL;
	if (rc == 0 && o->cgroup != NULL)
		rc = cgroup_open(&o->cgroup_opts, o->cgroup, &cg, err);
	if (rc == 0)
		rc = exec_start(o, &p, pidfd, cg, out, err);
	if (rc == 0) {
		out->pidfd = (int)syscall(SYS_pidfd_open, out->pid, 0);
		if (out->pidfd < 0)
			rc = mctr_fail_errno(err, "pidfd of the exec'd process");
	}
	cgroup_free(cg);
	rt_process_free(&p);
	if (rc == 0)
		return 0;
	int status = err->status;
	if (out->pid > 0) {
		kill(out->pid, SIGKILL);
		while (waitpid(out->pid, NULL, 0) < 0 && errno == EINTR)
			;
		out->pid = 0;
	}
	if (out->pty_master >= 0)
		close(out->pty_master);
	out->pty_master = -1;
	err->status = status ? status : MCTR_EXIT_ERROR;
	return -1;
}
