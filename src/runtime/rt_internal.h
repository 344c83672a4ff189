/* Shared between the src/runtime sources only (not the cgroup files): the parsed
 * bundle, the sync protocol between the runtime's parent and child, and the
 * steps of the child's setup path, one file per concern. */
#ifndef MCTR_RT_INTERNAL_H
#define MCTR_RT_INTERNAL_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "mctr/cgroup.h"
#include "mctr/err.h"
#include "mctr/runtime.h"

/* ---- the parsed spec (spec_load.c) --------------------------------------- */

struct rt_rlimit {
	int resource; /* RLIMIT_* */
	const char *name;
	rlim_t soft, hard;
};

struct rt_caps {
	uint64_t bounding, effective, permitted; /* bit n = capability n */
};

/* OCI "process" (also the body of rt_exec). */
struct rt_process_spec {
	bool terminal;
	char **args;              /* non-empty */
	char **env;               /* may be empty, never NULL */
	char *cwd;                /* absolute; "/" by default */
	mode_t umask;             /* 022 by default */
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char *user_name;          /* a name[:group] to resolve in the container, or NULL */
	bool has_caps;            /* false: no "capabilities" object = every set empty */
	struct rt_caps caps;
	bool no_new_privileges;
	struct rt_rlimit *rlimits;
	size_t n_rlimits;
	bool has_oom_score_adj;
	int oom_score_adj;
};

struct rt_mount {
	char *destination;      /* absolute, inside the container */
	char *type;             /* "bind" for bind mounts */
	char *source;           /* absolute (bind sources resolved against the bundle) */
	unsigned long flags;    /* MS_* to set (MS_BIND, MS_REC, MS_RDONLY, ...) */
	unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE (| MS_REC), or 0 */
	char *data;             /* filesystem options, or NULL */
};

struct rt_device {
	char *path;     /* absolute, under /dev */
	char type;      /* 'c', 'b', 'u' or 'p' */
	int64_t major, minor;
	mode_t mode;    /* permission bits (0666 default) */
	uid_t uid;
	gid_t gid;
};

struct rt_sysctl {
	char *key;      /* "net.ipv4.ip_forward" */
	char *value;
};

enum rt_ns {
	RT_NS_MOUNT,
	RT_NS_PID,
	RT_NS_UTS,
	RT_NS_IPC,
	RT_NS_NET,
	RT_NS_CGROUP,
	RT_NS_COUNT,
};

struct rt_spec {
	char *bundle;             /* absolute path of the bundle */
	struct rt_process_spec process;
	char *root_path;          /* absolute */
	bool root_readonly;
	char *hostname;           /* NULL: keep */
	char *domainname;
	struct rt_mount *mounts;
	size_t n_mounts;
	bool ns_new[RT_NS_COUNT]; /* a new namespace of that kind */
	char *ns_path[RT_NS_COUNT]; /* join this one instead (net, ipc, uts only) */
	unsigned long root_propagation; /* MS_PRIVATE|MS_REC by default */
	char **masked_paths;
	char **readonly_paths;
	struct rt_device *devices;
	size_t n_devices;
	struct rt_sysctl *sysctls;
	size_t n_sysctls;
	bool has_resources;
	struct cgroup_resources resources;
	char *cgroups_path;       /* "mctr/<id>" form (no leading '/'), or NULL */
	/* annotations */
	char **overlay_lower;     /* NULL: no overlay */
	char *overlay_upper;
	char *overlay_work;
	bool overlay_volatile;    /* RT_ANN_OVERLAY_VOLATILE */
	bool init;
};

/* Parse <bundle>/config.json.  Anything mctr cannot honour (user
 * namespaces, hooks, seccomp, an unknown capability, ...) is an error naming
 * the field. */
int rt_spec_load(const char *bundle, struct rt_spec *spec, struct mctr_err *err);
int rt_spec_parse(const json_t *root, const char *bundle, struct rt_spec *spec, struct mctr_err *err);
void rt_spec_free(struct rt_spec *spec);

/* The "linux" object (spec_linux.c). */
int rt_spec_parse_linux(const json_t *lx, struct rt_spec *spec, struct mctr_err *err);

/* Typed getters of spec_load.c: absent or null leaves *out alone; a value
 * of the wrong type (or out of [min, max]) is an error naming where.key. */
int rt_json_bool(const json_t *obj, const char *key, bool *out, const char *where, struct mctr_err *err);
int rt_json_str(const json_t *obj, const char *key, char **out, const char *where, struct mctr_err *err);
int rt_json_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out, bool *has,
                const char *where, struct mctr_err *err);
/* Fail naming the first of keys (NULL-terminated) that obj sets to
 * something other than null/false/0/""/[]/{}. */
int rt_json_refuse(const json_t *obj, const char *where, const char *const *keys, struct mctr_err *err);
bool rt_path_is_abs(const char *p);
/* "private", "rslave", ... -> MS_* (| MS_REC). */
bool rt_parse_propagation(const char *s, unsigned long *out);

/* Parse an OCI "process" object (rt_exec). */
int rt_process_parse(const json_t *proc, struct rt_process_spec *p, struct mctr_err *err);
void rt_process_free(struct rt_process_spec *p);

/* ---- the parent <-> child sync channel (sync.c) -------------------------- */

/* A SOCK_SEQPACKET socketpair; one message per send. */
enum rt_msg_type {
	RT_MSG_GO = 1,     /* parent -> child: in the cgroup, carry on */
	RT_MSG_ERROR,      /* child -> parent: setup failed (status, errnum, text) */
	RT_MSG_PTY,        /* child -> parent: the pty master, as SCM_RIGHTS */
	RT_MSG_PID,        /* exec's middle child -> parent: pid of the process */
	RT_MSG_EXEC,       /* child -> parent: about to execve (EOF follows) */
};

struct rt_msg {
	int32_t type;
	int32_t status;    /* RT_MSG_ERROR: 125, 126, 127 */
	int32_t errnum;
	int32_t pid;       /* RT_MSG_PID */
	char text[MCTR_ERR_MSG_MAX];
};

int rt_sync_pair(int fds[2], struct mctr_err *err);
int rt_sync_send(int fd, enum rt_msg_type type, int32_t pid, int passfd, struct mctr_err *err);
/* Report err (whose status says 125/126/127) to the parent; best effort. */
void rt_sync_send_error(int fd, const struct mctr_err *err);
/* Receive one message; *fd_out gets a passed fd (or -1).  Returns 1 for a
 * message, 0 for EOF. */
int rt_sync_recv(int fd, struct rt_msg *msg, int *fd_out, struct mctr_err *err);

/* ---- child setup steps ---------------------------------------------------- */

/* The child of rt_run (child.c): never returns. */
__attribute__((noreturn)) void rt_child_main(const struct rt_spec *spec, const struct rt_run_opts *o,
                                             int sync_fd, bool devices_restricted);

/* rootfs.c: make / private, mount the overlay (or bind the root onto
 * itself) and open it. */
int rt_rootfs_prepare(const struct rt_spec *spec, int *rootfd_out, struct mctr_err *err);
/* Switch the root to rootfd (pivot_root, or MS_MOVE+chroot on initramfs). */
int rt_rootfs_switch(int rootfd, struct mctr_err *err);
/* Remount "/" read-only (root.readonly), keeping its other flags. */
int rt_rootfs_make_readonly(struct mctr_err *err);
/* Mount overlayfs with the given layers at target (exposed for tests). */
int rt_overlay_mount(char *const *lower, const char *upper, const char *work, bool volatile_upper,
                     const char *target, struct mctr_err *err);

/* The mount(2) fallback for kernels without "lowerdir+" (< 6.8): layers
 * named relative to their common parent so more fit in the one page of
 * options (exposed for tests). */
int rt_overlay_mount_legacy(char *const *lower, const char *upper, const char *work, bool volatile_upper,
                            const char *target,
                            struct mctr_err *err);

/* mounts.c: every mount of the spec, destinations resolved in rootfd. */
int rt_mounts_apply(const struct rt_spec *spec, int rootfd, struct mctr_err *err);
/* Parse an OCI mount options list into flags/propagation/data. */
int rt_mount_parse_options(const json_t *opts, struct rt_mount *m, struct mctr_err *err);
/* Open (creating if missing) the mount point `dest` inside rootfd as an
 * O_PATH fd: a directory, or an empty file when dir is false. */
int rt_mount_target(int rootfd, const char *dest, bool dir, struct mctr_err *err);
/* Bind src_fd (any fd of the source) onto dest inside rootfd, creating it
 * as a directory or an empty file like the source; flags (MS_RDONLY,
 * MS_NOSUID, ...) and propagation are applied to the new mount(s), on top of
 * the flags the source already has. */
int rt_bind_into_root(int src_fd, int rootfd, const char *dest, bool recursive, unsigned long flags,
                      unsigned long propagation, struct mctr_err *err);
/* Recursively bind fd (path inside rootfd) onto itself with flags. */
int rt_bind_onto_itself(int rootfd, const char *path, int fd, unsigned long flags, struct mctr_err *err);
/* Remount the mount whose root is fd with flags (MS_RDONLY...), keeping
 * the flags it already has. */
int rt_remount_fd(int fd, unsigned long flags, bool recursive, struct mctr_err *err);

/* cgroupfs.c: /sys/fs/cgroup inside the container (after the cgroup ns). */
int rt_mount_cgroupfs(int target_fd, unsigned long flags, struct mctr_err *err);

/* devices.c: the default device nodes, symlinks and spec devices in /dev. */
int rt_devices_setup(const struct rt_spec *spec, int rootfd, struct mctr_err *err);

/* masks.c (after the root switch). */
int rt_mask_paths(char *const *paths, int rootfd, struct mctr_err *err);
int rt_readonly_paths(char *const *paths, int rootfd, struct mctr_err *err);

/* tty.c: a pty of the container's own devpts; the master goes to the parent
 * over sync_fd, the slave is returned (and bound onto /dev/console when
 * console is true). */
int rt_tty_create(int rootfd, int sync_fd, bool console, unsigned short rows, unsigned short cols, int *slave_out,
                  struct mctr_err *err);
/* In the process that will exec: new session, controlling tty, stdio. */
int rt_tty_attach(int slave, struct mctr_err *err);

/* net.c: bring up loopback in the current network namespace. */
int rt_net_loopback_up(struct mctr_err *err);

/* user.c: the container's passwd/group, parsed without NSS. */
struct rt_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups;   /* supplementary groups */
	size_t n_groups;
	char *home;      /* from passwd, or "/" */
};
void rt_user_free(struct rt_user *u);
/* Add g to the supplementary groups unless it is there already. */
void rt_user_add_group(struct rt_user *u, gid_t g);
/* Resolve spec ("app", "1000", "app:staff", "1000:50", ...) against the
 * passwd and group text (either may be NULL = missing file). */
int rt_user_resolve(const char *spec, const char *passwd, const char *group, struct rt_user *out,
                    struct mctr_err *err);
/* The same, reading /etc/passwd and /etc/group inside rootfd. */
int rt_user_resolve_in_root(int rootfd, const char *spec, struct rt_user *out, struct mctr_err *err);
/* HOME for a numeric uid from the container's passwd ("/" if none). */
char *rt_user_home_in_root(int rootfd, uid_t uid);

/* caps.c */
int rt_cap_from_name(const char *name, int *cap, struct mctr_err *err);
/* The uid/gid switch and capability sets, in the only safe order. */
int rt_caps_and_ids_apply(const struct rt_caps *caps, uid_t uid, gid_t gid, const gid_t *groups,
                          size_t n_groups, struct mctr_err *err);

/* process.c: everything between "the container is set up" and execve,
 * shared by rt_run's child and rt_exec's process.  With tty_slave >= 0 the
 * process becomes its session leader.  Never returns: on failure the error
 * goes to sync_fd and the process exits. */
struct rt_final {
	const struct rt_process_spec *process;
	int rootfd;          /* "/" of the container */
	int sync_fd;
	int tty_slave;       /* -1 without a terminal */
	bool init;           /* fork: stay as a tiny init, exec the command as its child */
	bool drop_mknod;     /* device rules unenforceable: CAP_MKNOD goes */
	bool die_with_parent; /* PR_SET_PDEATHSIG again after the uid switch */
};
__attribute__((noreturn)) void rt_finalize_and_exec(const struct rt_final *f);

/* init.c: the signals the init forwards (plus SIGCHLD), to be blocked
 * before it forks the command. */
void rt_init_signal_set(sigset_t *set);
/* PID 1 with the command as its child cmd: forward signals to the
 * command's process group, reap every child, return the command's exit
 * code (128 + signal when it was killed). */
int rt_init_loop(pid_t cmd, bool own_session);

/* Exit the child: report err to the parent first. */
__attribute__((noreturn)) void rt_child_fail(int sync_fd, struct mctr_err *err);

/* Move 0/1/2 from the given fds (-1: /dev/null) without clobbering. */
int rt_stdio_install(const struct rt_stdio *stdio, struct mctr_err *err);

/* Reset every signal disposition to default and unblock everything. */
void rt_signals_reset(void);

#endif
