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
 *   cgroup enter(child), [uid maps]
 *   "go" -------------------------------> make / private; mount overlay (or bind root)
 *                                         /proc /dev(+devices, pts, shm, mqueue) /sys
 *                                         bind mounts from the spec, resolved in the root
 *                                         /etc/hostname /etc/hosts /etc/resolv.conf
 *                                         pivot_root (chroot if impossible), masks, ro paths
 *                                         sethostname, lo up, [pty: master sent to parent]
 *                                         resolve user in the container's /etc/passwd, cwd
 *                                         rlimits, caps (bounding/eff/perm; inh/amb empty),
 *                                         no_new_privs, close fds, execve
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
 * mount namespace.  Without it root.path is used as it is (bind). */
#define RT_ANN_OVERLAY_LOWER "org.mctr.overlay.lowerdirs"
#define RT_ANN_OVERLAY_UPPER "org.mctr.overlay.upperdir"
#define RT_ANN_OVERLAY_WORK "org.mctr.overlay.workdir"
/* A user given by name ("app", "app:staff", "1000:staff"): resolved from the
 * container's own /etc/passwd and /etc/group after its root is mounted;
 * process.user.uid/gid are then ignored. */
#define RT_ANN_USER "org.mctr.user"
/* "true": run a tiny built-in init as PID 1 that forwards signals to the
 * command and reaps zombies (--init). */
#define RT_ANN_INIT "org.mctr.init"
/* Cgroup name ("mctr/<id>"); default from linux.cgroupsPath. */

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
};

struct rt_container {
	pid_t pid;          /* the container's PID 1, as seen from the host */
	int pidfd;          /* pidfd of pid (signals never hit a recycled pid) */
	int pty_master;     /* with process.terminal: the pty master, else -1 */
	struct cgroup *cg;  /* its cgroup */
	bool devices_restricted; /* false: CAP_MKNOD was dropped instead */
};

/* Create and start the container; returns once its command was executed.
 * On failure everything made is undone (cgroup removed, child reaped) and
 * err->status is 126 (cannot execute), 127 (not found) or 125. */
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
	const char *cgroup;     /* the container's cgroup name */
	struct cgroup_opts cgroup_opts;
	const char *process_json; /* OCI "process" object (args, env, cwd, user,
	                           * capabilities, noNewPrivileges, terminal) */
	const char *user;       /* optional name[:group] to resolve in the container */
	struct rt_stdio stdio;
};

struct rt_process {
	pid_t pid;
	int pidfd;
	int pty_master;
};

/* Start a process in all of the container's namespaces and its cgroup. */
int rt_exec(const struct rt_exec_opts *o, struct rt_process *out, struct mctr_err *err);

/* ---- information ------------------------------------------------------------- */

/* "pivot_root" normally; "chroot" where the root cannot be pivoted (a
 * rootfs on initramfs). */
const char *rt_root_switch_method(void);

#endif
