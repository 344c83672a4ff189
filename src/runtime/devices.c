/* /dev of the container (after the spec's mounts, so usually on its /dev
 * tmpfs): the nodes every container gets (runtime-spec "Default Devices"),
 * the spec's linux.devices, and the standard symlinks.  Nodes are made with
 * mknod; where that is refused (a user namespace, a nodev mount) the host's
 * node is bind-mounted onto an empty file instead. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

static const struct {
	const char *name;
	unsigned major, minor;
} default_devices[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
	const char *name, *target;
} dev_symlinks[] = {
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};

/* The parent directory of path inside rootfd (created) and the last name. */
static int open_parent(int rootfd, const char *path, const char **base, struct mctr_err *err)
{
	const char *slash = strrchr(path, '/');
	*base = slash + 1;
	if ((*base)[0] == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		return mctr_fail(err, EINVAL, "%s is not a file name", path);
	_cleanup_free_ char *dir = xstrndup(path, (size_t)(slash - path));
	return mkdir_in_root(rootfd, dir[0] ? dir : "/", 0755, err);
}

/* Bind the host's node with the same numbers onto an empty file. */
static int bind_host_node(int rootfd, const char *path, mode_t type, dev_t dev, struct mctr_err *err)
{
	char host[64];
	snprintf(host, sizeof host, "/dev/%s/%u:%u", S_ISBLK(type) ? "block" : "char", major(dev), minor(dev));
	_cleanup_close_ int src = open(host, O_PATH | O_CLOEXEC);
	if (src < 0)
		return mctr_fail_errno(err, "mknod %s refused and no host node %s to bind", path, host);
	return rt_bind_into_root(src, rootfd, path, false, 0, 0, err);
}

/* The node base in dir, which is path's parent inside rootfd. */
static int make_node_at(int rootfd, int dir, const char *base, const char *path, mode_t type, mode_t perm,
                        dev_t dev, uid_t uid, gid_t gid, struct mctr_err *err)
{
	/* Whatever the image has there (a file, a symlink) goes. */
	if (unlinkat(dir, base, 0) < 0 && errno != ENOENT && errno != EISDIR)
		return mctr_fail_errno(err, "remove %s", path);
	if (mknodat(dir, base, type | perm, dev) < 0) {
		if (errno != EPERM || S_ISFIFO(type))
			return mctr_fail_errno(err, "mknod %s", path);
		return bind_host_node(rootfd, path, type, dev, err);
	}
	/* mknod honours the umask; chmod does not. */
	if (fchmodat(dir, base, perm, 0) < 0)
		return mctr_fail_errno(err, "chmod %s", path);
	if (fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return mctr_fail_errno(err, "chown %s", path);
	return 0;
}

static int make_node(int rootfd, const char *path, mode_t type, mode_t perm, dev_t dev, uid_t uid, gid_t gid,
                     struct mctr_err *err)
{
	const char *base;
	_cleanup_close_ int dir = open_parent(rootfd, path, &base, err);
	if (dir < 0)
		return -1;
	return make_node_at(rootfd, dir, base, path, type, perm, dev, uid, gid, err);
}

static int make_symlink(int devfd, const char *name, const char *target, struct mctr_err *err)
{
	if (symlinkat(target, devfd, name) == 0)
		return 0;
	if (errno != EEXIST)
		return mctr_fail_errno(err, "symlink /dev/%s", name);
	/* An image's own /dev/ptmx node or old link is replaced. */
	struct stat st;
	if (fstatat(devfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (unlinkat(devfd, name, 0) < 0 || symlinkat(target, devfd, name) < 0)
		return mctr_fail_errno(err, "symlink /dev/%s", name);
	return 0;
}

int rt_devices_setup(const struct rt_spec *spec, int rootfd, struct mctr_err *err)
{
	/* /dev is resolved once for the default nodes and the symlinks. */
	_cleanup_close_ int dev = mkdir_in_root(rootfd, "/dev", 0755, err);
	if (dev < 0)
		return -1;
	char path[64];
	for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++) {
		snprintf(path, sizeof path, "/dev/%s", default_devices[i].name);
		dev_t nr = makedev(default_devices[i].major, default_devices[i].minor);
		if (make_node_at(rootfd, dev, default_devices[i].name, path, S_IFCHR, 0666, nr, 0, 0, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct rt_device *d = &spec->devices[i];
		mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
		dev_t nr = makedev(d->major, d->minor);
		if (make_node(rootfd, d->path, type, d->mode & 07777, nr, d->uid, d->gid, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof dev_symlinks / sizeof dev_symlinks[0]; i++)
		if (make_symlink(dev, dev_symlinks[i].name, dev_symlinks[i].target, err) < 0)
			return -1;
	return 0;
}
