/* The child of rt_run: PID 1 of the new namespaces, from the parent's "go"
 * to execve, in one fixed order (see runtime.h).  It is a copy of the
 * parent (raw clone, no exec), so it reads the parsed spec from its own
 * memory.  Any failure is sent to the parent as a message and ends the
 * child; the parent then kills and reaps it and removes the cgroup.  Every
 * mount made here lives only in the child's mount namespace and goes away
 * with it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/log.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

static const int ns_clone_flag[RT_NS_COUNT] = {
	[RT_NS_MOUNT] = CLONE_NEWNS, [RT_NS_PID] = CLONE_NEWPID, [RT_NS_UTS] = CLONE_NEWUTS,
	[RT_NS_IPC] = CLONE_NEWIPC,  [RT_NS_NET] = CLONE_NEWNET, [RT_NS_CGROUP] = CLONE_NEWCGROUP,
};

static int join_namespaces(const struct rt_spec *spec, struct mctr_err *err)
{
	for (int i = 0; i < RT_NS_COUNT; i++) {
		if (spec->ns_path[i] == NULL)
			continue;
		_cleanup_close_ int fd = open(spec->ns_path[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return mctr_fail_errno(err, "open namespace %s", spec->ns_path[i]);
		if (setns(fd, ns_clone_flag[i]) < 0)
			return mctr_fail_errno(err, "join namespace %s", spec->ns_path[i]);
	}
	return 0;
}

static int write_sysctls(const struct rt_spec *spec, int rootfd, struct mctr_err *err)
{
	for (size_t i = 0; i < spec->n_sysctls; i++) {
		const struct rt_sysctl *s = &spec->sysctls[i];
		/* net.ipv4.conf.eth0/1.forwarding -> net/ipv4/conf/eth0.1/forwarding */
		_cleanup_free_ char *path = xasprintf("/proc/sys/%s", s->key);
		for (char *c = path + 10; *c; c++)
			*c = *c == '.' ? '/' : *c == '/' ? '.' : *c;
		_cleanup_close_ int fd = open_in_root(rootfd, path, O_WRONLY | O_TRUNC, 0, err);
		if (fd < 0)
			return mctr_err_wrap(err, "sysctl %s", s->key);
		size_t len = strlen(s->value);
		if (write(fd, s->value, len) != (ssize_t)len)
			return mctr_fail_errno(err, "sysctl %s=%s", s->key, s->value);
	}
	return 0;
}

static int set_names(const struct rt_spec *spec, struct mctr_err *err)
{
	if (spec->hostname != NULL && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return mctr_fail_errno(err, "sethostname %s", spec->hostname);
	if (spec->domainname != NULL && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return mctr_fail_errno(err, "setdomainname %s", spec->domainname);
	return 0;
}

/* Everything from the parent's "go" to the root switch. */
static int setup(const struct rt_spec *spec, const struct rt_run_opts *o, int sync_fd, int *rootfd, int *tty_slave,
                 struct mctr_err *err)
{
	if (!spec->process.terminal && rt_stdio_install(&o->stdio, err) < 0)
		return -1;
	if (join_namespaces(spec, err) < 0)
		return -1;
	/* Only now, inside its cgroup: the namespace's root is that cgroup. */
	if (spec->ns_new[RT_NS_CGROUP] && unshare(CLONE_NEWCGROUP) < 0)
		return mctr_fail_errno(err, "unshare the cgroup namespace");
	mctr_debug("child: mounting the root");
	if (rt_rootfs_prepare(spec, rootfd, err) < 0)
		return -1;
	mctr_debug("child: mounts");
	if (rt_mounts_apply(spec, *rootfd, err) < 0)
		return -1;
	mctr_debug("child: devices");
	if (rt_devices_setup(spec, *rootfd, err) < 0 || write_sysctls(spec, *rootfd, err) < 0)
		return -1;
	mctr_debug("child: masks");
	if (spec->process.terminal &&
	    rt_tty_create(*rootfd, sync_fd, true, o->console_rows, o->console_cols, tty_slave, err) < 0)
		return -1;
	if (rt_mask_paths(spec->masked_paths, *rootfd, err) < 0 ||
	    rt_readonly_paths(spec->readonly_paths, *rootfd, err) < 0)
		return -1;
	mctr_debug("child: pivot_root");
	if (rt_rootfs_switch(*rootfd, err) < 0)
		return -1;
	mctr_debug("child: root switched");
	if (spec->root_readonly && rt_rootfs_make_readonly(err) < 0)
		return -1;
	if (set_names(spec, err) < 0)
		return -1;
	if (spec->ns_new[RT_NS_NET] && rt_net_loopback_up(err) < 0)
		return -1;
	return 0;
}

void rt_child_main(const struct rt_spec *spec, const struct rt_run_opts *o, int sync_fd, bool devices_restricted)
{
	struct mctr_err err = { 0 };
	/* Nothing of this process may be inspected from the container before
	 * it runs the container's own program. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (o->die_with_parent)
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	rt_signals_reset();
	umask(0);

	struct rt_msg msg;
	if (rt_sync_recv(sync_fd, &msg, NULL, &err) <= 0 || msg.type != RT_MSG_GO)
		_exit(MCTR_EXIT_ERROR); /* the parent is gone or gave up */

	int rootfd = -1, tty_slave = -1;
	if (setup(spec, o, sync_fd, &rootfd, &tty_slave, &err) < 0)
		rt_child_fail(sync_fd, &err);
	struct rt_final f = {
		.process = &spec->process,
		.rootfd = rootfd,
		.sync_fd = sync_fd,
		.tty_slave = tty_slave,
		.init = spec->init,
		.drop_mknod = !devices_restricted,
		.die_with_parent = o->die_with_parent,
	};
	rt_finalize_and_exec(&f);
}
