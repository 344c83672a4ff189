/* The spec's mounts, in order, inside the container's mount namespace.
 *
 * Every destination is resolved inside the container root (open_in_root:
 * symlinks, absolute ones too, and ".." stay in the root) and created there
 * if missing; the mount then goes onto that exact dentry through its
 * /proc/self/fd/N path (or the fd itself with the new mount API).  No host
 * path is ever built from a container path, so an image that makes /etc a
 * symlink to the host's /etc cannot redirect a mount (CVE-2021-30465).
 * Bind sources are host paths chosen by the spec's author and used as
 * they are. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

/* The mount flags a bind remount can change per mount point. */
#define PER_MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | \
                         MS_RELATIME | MS_STRICTATIME)

int rt_mount_target(int rootfd, const char *dest, bool dir, struct mctr_err *err)
{
	if (dir)
		return mkdir_in_root(rootfd, dest, 0755, err);
	int fd = open_in_root(rootfd, dest, O_PATH, 0, err);
	if (fd >= 0 || err->errnum != ENOENT)
		return fd;
	/* Create an empty file to mount a file onto. */
	_cleanup_free_ char *parent = xstrdup(dest);
	char *slash = strrchr(parent, '/');
	const char *base = dest + (slash - parent) + 1;
	*slash = '\0';
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return mctr_fail(err, EINVAL, "mount destination %s is not a file name", dest);
	_cleanup_close_ int pfd = mkdir_in_root(rootfd, parent[0] ? parent : "/", 0755, err);
	if (pfd < 0)
		return -1;
	int f = openat(pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (f < 0 && errno != EEXIST)
		return mctr_fail_errno(err, "create %s inside the container root", dest);
	if (f >= 0)
		close(f);
	return open_in_root(rootfd, dest, O_PATH, 0, err);
}

static unsigned long statvfs_to_ms(unsigned long f)
{
	unsigned long ms = 0;
	if (f & ST_RDONLY)
		ms |= MS_RDONLY;
	if (f & ST_NOSUID)
		ms |= MS_NOSUID;
	if (f & ST_NODEV)
		ms |= MS_NODEV;
	if (f & ST_NOEXEC)
		ms |= MS_NOEXEC;
	if (f & ST_NOATIME)
		ms |= MS_NOATIME;
	if (f & ST_NODIRATIME)
		ms |= MS_NODIRATIME;
	if (f & ST_RELATIME)
		ms |= MS_RELATIME;
	return ms;
}

static bool flags_to_attr(unsigned long flags, unsigned long propagation, struct mount_attr *a)
{
	memset(a, 0, sizeof *a);
	if (flags & MS_RDONLY)
		a->attr_set |= MOUNT_ATTR_RDONLY;
	if (flags & MS_NOSUID)
		a->attr_set |= MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		a->attr_set |= MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		a->attr_set |= MOUNT_ATTR_NOEXEC;
	if (flags & MS_NODIRATIME)
		a->attr_set |= MOUNT_ATTR_NODIRATIME;
	if (flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) {
		a->attr_clr |= MOUNT_ATTR__ATIME;
		a->attr_set |= (flags & MS_NOATIME)       ? MOUNT_ATTR_NOATIME
		               : (flags & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME
		                                          : MOUNT_ATTR_RELATIME;
	}
	a->propagation = propagation & ~MS_REC;
	return a->attr_set != 0 || a->attr_clr != 0 || a->propagation != 0;
}

int rt_remount_fd(int fd, unsigned long flags, bool recursive, struct mctr_err *err)
{
	struct mount_attr a;
	flags_to_attr(flags, 0, &a);
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) == 0)
		return 0;
	if (errno != ENOSYS)
		return mctr_fail_errno(err, "change the mount flags");
	/* Old kernels: a bind remount of the top mount only, which must
	 * repeat the flags the mount already has (nosuid, nodev, ...): a
	 * remount that would clear a locked flag fails with EPERM. */
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		return mctr_fail_errno(err, "statvfs");
	char p[64];
	fd_path(fd, p);
	if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | (flags & PER_MOUNT_FLAGS) | statvfs_to_ms(sv.f_flag), NULL) < 0)
		return mctr_fail_errno(err, "remount");
	return 0;
}

/* Bind src_fd onto target_fd (dest inside rootfd, for the old-kernel path
 * that has to look the new mount up again). */
static int bind_fd(int src_fd, int rootfd, const char *dest, int target_fd, bool recursive, unsigned long flags,
                   unsigned long propagation, struct mctr_err *err)
{
	struct mount_attr a;
	bool attrs = flags_to_attr(flags, propagation, &a);
	unsigned rec = recursive ? AT_RECURSIVE : 0;
	_cleanup_close_ int tree = open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
	if (tree >= 0) {
		/* Set the flags on the detached copy: it is never visible
		 * writable, and the whole tree gets them. */
		if (attrs && mount_setattr(tree, "", AT_EMPTY_PATH | rec, &a, sizeof a) < 0)
			return mctr_fail_errno(err, "set the flags of the bind mount on %s", dest);
		if (move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return mctr_fail_errno(err, "bind mount on %s", dest);
		return 0;
	}
	if (errno != ENOSYS)
		return mctr_fail_errno(err, "clone the mount for %s", dest);
	char sp[64], tp[64];
	fd_path(src_fd, sp);
	fd_path(target_fd, tp);
	if (mount(sp, tp, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
		return mctr_fail_errno(err, "bind mount on %s", dest);
	if (!attrs)
		return 0;
	/* The fd still names the covered dentry: look the new mount up. */
	_cleanup_close_ int fd = open_in_root(rootfd, dest, O_PATH, 0, err);
	if (fd < 0)
		return -1;
	if ((flags & PER_MOUNT_FLAGS) && rt_remount_fd(fd, flags, recursive, err) < 0)
		return mctr_err_wrap(err, "%s", dest);
	fd_path(fd, tp);
	if (propagation && mount(NULL, tp, NULL, propagation, NULL) < 0)
		return mctr_fail_errno(err, "set the propagation of %s", dest);
	return 0;
}

int rt_bind_into_root(int src_fd, int rootfd, const char *dest, bool recursive, unsigned long flags,
                      unsigned long propagation, struct mctr_err *err)
{
	struct stat st;
	if (fstat(src_fd, &st) < 0)
		return mctr_fail_errno(err, "stat the source of %s", dest);
	_cleanup_close_ int target = rt_mount_target(rootfd, dest, S_ISDIR(st.st_mode), err);
	if (target < 0)
		return -1;
	return bind_fd(src_fd, rootfd, dest, target, recursive, flags, propagation, err);
}

int rt_bind_onto_itself(int rootfd, const char *path, int fd, unsigned long flags, struct mctr_err *err)
{
	return bind_fd(fd, rootfd, path, fd, true, flags, 0, err);
}

static int mount_bind(const struct rt_mount *m, int rootfd, struct mctr_err *err)
{
	_cleanup_close_ int src = open(m->source, O_PATH | O_CLOEXEC);
	if (src < 0)
		return mctr_fail_errno(err, "bind source %s", m->source);
	return rt_bind_into_root(src, rootfd, m->destination, (m->flags & MS_REC) != 0, m->flags, m->propagation, err);
}

/* A fresh filesystem (proc, tmpfs, devpts, mqueue, sysfs, ...). */
static int mount_fs(const struct rt_mount *m, int rootfd, struct mctr_err *err)
{
	_cleanup_close_ int target = rt_mount_target(rootfd, m->destination, true, err);
	if (target < 0)
		return -1;
	char tp[64];
	fd_path(target, tp);
	if (mount(m->source, tp, m->type, m->flags & ~(MS_BIND | MS_REC), m->data) < 0)
		return mctr_fail_errno(err, "mount %s (%s%s%s)", m->destination, m->type, m->data ? " " : "",
		                       m->data ? m->data : "");
	if (m->propagation == 0)
		return 0;
	_cleanup_close_ int fd = open_in_root(rootfd, m->destination, O_PATH, 0, err);
	if (fd < 0)
		return -1;
	fd_path(fd, tp);
	if (mount(NULL, tp, NULL, m->propagation, NULL) < 0)
		return mctr_fail_errno(err, "set the propagation of %s", m->destination);
	return 0;
}

/* sysfs shows the network devices of the mounting process's network
 * namespace; sharing the host's, the container gets a read-only recursive
 * bind of the host's /sys instead (as runc does). */
static int mount_host_sysfs(const struct rt_mount *m, int rootfd, struct mctr_err *err)
{
	_cleanup_close_ int src = open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		return mctr_fail_errno(err, "open /sys");
	return rt_bind_into_root(src, rootfd, m->destination, true, m->flags | MS_RDONLY, 0, err);
}

int rt_mounts_apply(const struct rt_spec *spec, int rootfd, struct mctr_err *err)
{
	bool own_net = spec->ns_new[RT_NS_NET] || spec->ns_path[RT_NS_NET] != NULL;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct rt_mount *m = &spec->mounts[i];
		int rc;
		if (m->flags & MS_BIND) {
			rc = mount_bind(m, rootfd, err);
		} else if (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0) {
			_cleanup_close_ int target = rt_mount_target(rootfd, m->destination, true, err);
			rc = target < 0 ? -1 : rt_mount_cgroupfs(target, m->flags, err);
			if (rc < 0)
				mctr_err_wrap(err, "mount %s", m->destination);
		} else if (strcmp(m->type, "sysfs") == 0 && !own_net) {
			rc = mount_host_sysfs(m, rootfd, err);
		} else {
			rc = mount_fs(m, rootfd, err);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}
