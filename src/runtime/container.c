/* rt_run, the parent side: load the spec, create the cgroup, clone the
 * child into its new namespaces, put it in the cgroup, release it, and
 * wait for "exec'd" (EOF on the sync socket) or an error message.  On any
 * failure the child is killed and reaped and the cgroup removed: nothing
 * is left behind (the child's mounts die with its mount namespace). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/log.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

int rt_status_to_exit_code(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return MCTR_EXIT_ERROR;
}

void rt_container_release(struct rt_container *c)
{
	if (c == NULL)
		return;
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->pty_master >= 0)
		close(c->pty_master);
	cgroup_free(c->cg);
	c->pidfd = c->pty_master = -1;
	c->cg = NULL;
}

/* fork(2) semantics with namespace flags: no CLONE_VM, so the child gets
 * its own copy of everything (it also works under ASan), and the pidfd
 * comes atomically with the child. */
static pid_t clone_child(unsigned long flags, int *pidfd)
{
	*pidfd = -1;
	pid_t pid = (pid_t)syscall(SYS_clone, flags | CLONE_PIDFD | SIGCHLD, NULL, pidfd, NULL, 0);
	if (pid < 0 && errno == EINVAL) {
		/* Kernels before 5.2: no CLONE_PIDFD. */
		pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
		if (pid > 0)
			*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	}
	return pid;
}

static unsigned long clone_flags(const struct rt_spec *spec)
{
	static const unsigned long flag[RT_NS_COUNT] = {
		[RT_NS_MOUNT] = CLONE_NEWNS, [RT_NS_PID] = CLONE_NEWPID, [RT_NS_UTS] = CLONE_NEWUTS,
		[RT_NS_IPC] = CLONE_NEWIPC,  [RT_NS_NET] = CLONE_NEWNET,
		/* the cgroup namespace is unshared by the child, once it is in
		 * its cgroup */
	};
	unsigned long f = 0;
	for (int i = 0; i < RT_NS_COUNT; i++)
		if (spec->ns_new[i])
			f |= flag[i];
	return f;
}

/* Kill and reap a child that did not make it. */
static void kill_and_reap(pid_t pid, int pidfd)
{
	if (pid <= 0)
		return;
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Messages from the child until EOF.  *pty gets a passed pty master. */
static int wait_for_exec(int sync_fd, pid_t pid, int *pty, struct mctr_err *err)
{
	bool exec_seen = false;
	for (;;) {
		struct rt_msg msg;
		int fd = -1;
		int rc = rt_sync_recv(sync_fd, &msg, &fd, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		switch (msg.type) {
		case RT_MSG_PTY:
			if (fd < 0)
				return mctr_fail(err, EPROTO, "the container sent no pty");
			if (*pty >= 0)
				close(*pty);
			*pty = fd;
			continue;
		case RT_MSG_EXEC:
			exec_seen = true;
			break;
		case RT_MSG_ERROR:
			mctr_fail(err, 0, "%s", msg.text);
			err->errnum = msg.errnum;
			err->status = msg.status;
			break;
		default:
			break;
		}
		if (fd >= 0)
			close(fd);
		if (msg.type == RT_MSG_ERROR)
			return -1;
	}
	if (!exec_seen) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			mctr_fail(err, 0, "the container process died during setup (status %d)",
			          rt_status_to_exit_code(st));
			return -2; /* already reaped */
		}
		return mctr_fail(err, EPROTO, "the container process closed its channel during setup");
	}
	return 0;
}

static int open_cgroup(const struct rt_spec *spec, const struct rt_run_opts *o, struct cgroup **cg,
                       struct mctr_err *err)
{
	_cleanup_free_ char *name = NULL;
	if (spec->cgroups_path != NULL)
		name = xstrdup(spec->cgroups_path);
	else if (o->id != NULL && o->id[0] != '\0')
		name = xasprintf("%s/%s", CGROUP_DEFAULT_PARENT, o->id);
	else
		return mctr_fail(err, EINVAL, "no linux.cgroupsPath in the spec and no container ID");
	if (cgroup_open(&o->cgroup, name, cg, err) < 0)
		return -1;
	mctr_debug("runtime: creating cgroup");
	if (cgroup_create(*cg, &spec->resources, err) < 0) {
		cgroup_free(*cg);
		*cg = NULL;
		return -1;
	}
	return 0;
}

static int start(const struct rt_spec *spec, const struct rt_run_opts *o, struct rt_container *out,
                 struct mctr_err *err)
{
	if (open_cgroup(spec, o, &out->cg, err) < 0)
		return -1;
	out->devices_restricted = cgroup_can_restrict_devices(out->cg);
	int sp[2];
	if (rt_sync_pair(sp, err) < 0)
		return -1;
	_cleanup_close_ int parent_end = sp[0], child_end = sp[1];
	mctr_debug("runtime: cloning");
	pid_t pid = clone_child(clone_flags(spec), &out->pidfd);
	if (pid < 0)
		return mctr_fail_errno(err, "clone the container process");
	if (pid == 0) {
		close(parent_end);
		rt_child_main(spec, o, child_end, out->devices_restricted);
	}
	out->pid = pid;
	close(steal_fd(&child_end));
	mctr_debug("runtime: moving the child into its cgroup");
	if (cgroup_enter(out->cg, pid, err) < 0 || rt_sync_send(parent_end, RT_MSG_GO, 0, -1, err) < 0)
		return -1;
	int rc = wait_for_exec(parent_end, pid, &out->pty_master, err);
	if (rc == -2)
		out->pid = 0;
	return rc < 0 ? -1 : 0;
}

int rt_run(const struct rt_run_opts *o, struct rt_container *out, struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	out->pidfd = out->pty_master = -1;
	struct rt_spec spec;
	int rc = rt_spec_load(o->bundle, &spec, err);
	if (rc == 0)
		rc = start(&spec, o, out, err);
	rt_spec_free(&spec);
	if (rc == 0)
		return 0;

	int status = err->status;
	kill_and_reap(out->pid, out->pidfd);
	if (out->cg != NULL) {
		struct mctr_err e2 = { 0 };
		cgroup_destroy(out->cg, &e2);
	}
	rt_container_release(out);
	out->pid = 0;
	err->status = status ? status : MCTR_EXIT_ERROR;
	if (o->id != NULL)
		mctr_err_wrap(err, "container %s", o->id);
	return -1;
}
