/* The runtime: runs an OCI bundle.  It knows nothing of images, registries
 * or the store; it reads <bundle>/config.json (OCI runtime-spec, with the
 * mctr annotations below) and nothing else, so a later OCI-runtime CLI
 * (create/start/state/kill/delete) can reuse it unchanged.
 *
 * One ordered setup path (bubblewrap style), parent and child synchronised
 * over a socketpair:
 *
 *   parent                               child (clone: new mnt/pid/uts/ipc/net/cgroup ns)
 *   ------                               -----
 *   load + validate the spec
 *   cgroup create + limits
 *   clone ------------------------------> wait for "go"
 *   cgroup enter(child)
 *   "go" -------------------------------> stdio; join ns by path; unshare(CLONE_NEWCGROUP)
 *                                         make / rprivate; overlay on root.path (or bind)
 *                                         the spec's mounts in order (/proc /dev /dev/pts
 *                                         /sys /sys/fs/cgroup ... binds such as /etc/hosts),
 *                                         every destination resolved inside the root
 *                                         /dev nodes + symlinks, sysctls
 *                                         [pty from the container's devpts: master sent]
 *                                         masked paths, read-only paths
 *                                         pivot_root (chroot on initramfs), [root ro]
 *                                         sethostname, lo up
 *                                         user from the container's /etc/passwd, cwd,
 *                                         rlimits, caps (bounding/eff/perm; inh/amb empty),
 *                                         no_new_privs, [fork: init stays PID 1],
 *                                         close fds, execve (PATH of the container's env)
 *   <------------------------------------ error message, or EOF when execve succeeded
 *
 * The child is non-dumpable until execve and holds no fd but 0/1/2 at exec
 * (CVE-2024-21626); the mctr binary is never re-executed inside the
 * container (CVE-2019-5736).  The parent never follows a path of the
 * container's root on the host side. */
#ifndef MCTR_RUNTIME_H
#define MCTR_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "mctr/cgroup.h"
#include "mctr/err.h"

/* Annotations of config.json that mctr's runtime understands. */
/* Overlay lower dirs, topmost first, ':'-separated absolute paths; with it,
 * root.path is the mount point of an overlay built inside the container's
 * mount namespace.  Without it root.path is used as it is (bound onto
 * itself).  No length limit on Linux >= 6.8 (fsconfig "lowerdir+"); older
 * kernels get mount(2) with the layers named relative to their common
 * parent, which must fit in one page. */
#define RT_ANN_OVERLAY_LOWER "org.mctr.overlay.lowerdirs"
/* Both or neither; without them the overlay is read-only. */
#define RT_ANN_OVERLAY_UPPER "org.mctr.overlay.upperdir"
#define RT_ANN_OVERLAY_WORK "org.mctr.overlay.workdir"
/* "true": mount the overlay "volatile" (no sync of the upper layer, not even
 * when it is unmounted): for a container that is removed when it exits
 * (--rm), whose writable layer need not survive a crash (Podman does the
 * same).  Ignored where the kernel lacks it (< 5.10). */
#define RT_ANN_OVERLAY_VOLATILE "org.mctr.overlay.volatile"
/* A user given by name ("app", "app:staff", "1000:staff"): resolved from the
 * container's own /etc/passwd and /etc/group after its root is mounted;
 * process.user.uid/gid are then ignored (additionalGids are added).  A
 * number is always an ID; without a group, the user's groups from
 * /etc/group become the supplementary groups. */
#define RT_ANN_USER "org.mctr.user"
/* "true": run a tiny built-in init as PID 1 that forwards signals to the
 * command and reaps zombies (--init). */
#define RT_ANN_INIT "org.mctr.init"

/* What the spec may hold, and what it may not (rejected with an error that
 * names the field): user namespaces, hooks, seccomp, AppArmor/SELinux
 * labels, joining an existing pid/mount/cgroup namespace (net, ipc and uts
 * may be joined by path), systemd cgroup paths, sysctls of namespaces the
 * container does not own, cgroup knobs mctr's cgroup module lacks
 * (blockIO, hugepages, memory.reservation, ...).  Policies that are not
 * errors:
 *   - capabilities: bounding, effective and permitted as the spec says;
 *     inheritable and ambient are ALWAYS empty (CVE-2022-24769); no
 *     "capabilities" object means no capabilities at all;
 *   - without linux.resources.devices, Docker's device rules apply (deny
 *     all but the standard nodes, mknod allowed); with them, the allow
 *     rules for the standard nodes are appended (as runc does); where the
 *     rules cannot be enforced, CAP_MKNOD is dropped instead;
 *   - /sys of a container sharing the host's network namespace is a
 *     read-only recursive bind of the host's /sys (sysfs otherwise);
 *   - a "cgroup" mount is a cgroup2 mount on v2 hosts, a read-only tmpfs
 *     with one mount per host hierarchy on v1/hybrid ones;
 *   - the cgroup is linux.cgroupsPath, else "mctr/<id>". */

struct rt_stdio {
	int in;  /* fd for the container's stdin; -1: /dev/null */
	int out; /* stdout; -1: /dev/null */
	int err; /* stderr; -1: /dev/null */
};

struct rt_run_opts {
	const char *bundle;      /* directory holding config.json */
	const char *id;          /* container ID (for messages) */
	struct rt_stdio stdio;   /* ignored when process.terminal is true */
	struct cgroup_opts cgroup;
	/* Kill the container if the calling process dies (PR_SET_PDEATHSIG on
	 * the container's init): the caller is its monitor. */
	bool die_with_parent;
	/* With process.terminal: the pty's size before the command starts
	 * (rows 0: leave it); the caller's terminal size, so the command never
	 * sees a 0x0 terminal (what OCI's process.consoleSize is for). */
	unsigned short console_rows, console_cols;
};

struct rt_container {
	pid_t pid;          /* the container's PID 1, as seen from the host */
	int pidfd;          /* pidfd of pid (signals never hit a recycled pid) */
	int pty_master;     /* with process.terminal: the pty master, else -1 */
	struct cgroup *cg;  /* its cgroup */
	bool devices_restricted; /* false: CAP_MKNOD was dropped instead */
};

/* Create and start the container; returns once its command was executed
 * (the caller then waits for out->pid, which is its child, and calls
 * cgroup_destroy(out->cg) after it exited).  On failure everything made is
 * undone (cgroup removed, child reaped) and err->status is 126 (cannot
 * execute), 127 (not found) or 125.
 *
 * The child is made with a raw clone(2), not fork(3): call this from a
 * single-threaded process (or at least with no other thread inside malloc
 * or stdio), and do not have SIGCHLD ignored. */
int rt_run(const struct rt_run_opts *o, struct rt_container *out, struct mctr_err *err);

/* Release what rt_run returned (fds, cgroup handle); does not kill. */
void rt_container_release(struct rt_container *c);

/* Exit status of a waited-for process the shell way: the exit code, or
 * 128 + signal. */
int rt_status_to_exit_code(int wait_status);

/* ---- exec: a new process in a running container ---------------------------- */

struct rt_exec_opts {
	pid_t pid;              /* the container's PID 1 on the host */
	int pidfd;              /* its pidfd (or -1: opened from pid) */
	const char *cgroup;     /* the container's cgroup name (NULL: stay in ours) */
	struct cgroup_opts cgroup_opts;
	const char *process_json; /* OCI "process" object (args, env, cwd, user,
	                           * capabilities, noNewPrivileges, terminal) */
	const char *user;       /* optional name[:group] to resolve in the container */
	struct rt_stdio stdio;
	unsigned short console_rows, console_cols; /* as in rt_run_opts */
};

struct rt_process {
	pid_t pid;
	int pidfd;
	int pty_master;
};

/* Start a process in all of the container's namespaces (mount, pid, uts,
 * ipc, net, cgroup) and its cgroup, chrooted to the root of the container's
 * PID 1.  The process is the caller's child (wait for out->pid); errors come
 * back as from rt_run (status 126/127/125).  Capabilities are exactly those
 * of process_json: drop CAP_MKNOD there if rt_container.devices_restricted
 * was false. */
int rt_exec(const struct rt_exec_opts *o, struct rt_process *out, struct mctr_err *err);

/* ---- information ------------------------------------------------------------- */

/* "pivot_root" normally; "chroot" where the root cannot be pivoted (a
 * rootfs on initramfs). */
const char *rt_root_switch_method(void);

#endif
