/* The container's root: made in the child's own mount namespace (so the
 * kernel removes every mount with the namespace, whatever happens to mctr),
 * then switched to.
 *
 *   1. "/" gets the spec's propagation (rprivate by default) before any
 *      mount, so nothing propagates back to the host;
 *   2. the overlay of the image layers is mounted on root.path, or
 *      root.path is bound onto itself so that it is a mount point;
 *   3. after the mounts: pivot_root the way runc does it (pivot_root(".",
 *      ".") stacks the old root on the new one, which is then detached),
 *      or MS_MOVE + chroot where the host root cannot be pivoted away
 *      (initramfs). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

/* ---- overlay ------------------------------------------------------------- */

/* The kernel's own explanation of a failed fsconfig (fs_context log). */
static void append_fs_log(int fs, struct mctr_err *err)
{
	char buf[256];
	ssize_t n = read(fs, buf, sizeof buf - 1);
	if (n <= 2)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	mctr_err_wrap(err, "%s", buf + 2); /* skip the "e " severity prefix */
}

/* The new mount API: one fsconfig per layer, no length limit.  Returns 1
 * when the kernel lacks "lowerdir+" (< 6.8) and the caller should fall
 * back. */
static int overlay_fsconfig(char *const *lower, const char *upper, const char *work, bool volatile_upper,
                            const char *target, struct mctr_err *err)
{
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0) {
		if (errno == ENOSYS)
			return 1;
		return mctr_fail_errno(err, "fsopen overlay");
	}
	for (size_t i = 0; lower[i] != NULL; i++) {
		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lower[i], 0) == 0)
			continue;
		if (i == 0 && errno == EINVAL)
			return 1;
		mctr_fail_errno(err, "overlay lower layer %s", lower[i]);
		append_fs_log(fs, err);
		return -1;
	}
	if (upper != NULL && (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
	                      fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)) {
		mctr_fail_errno(err, "overlay upperdir %s / workdir %s", upper, work);
		append_fs_log(fs, err);
		return -1;
	}
	/* Layers are shared between containers: no index tying them to one
	 * upper dir (Docker passes the same). */
	fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0);
	/* A throwaway upper layer: unmounting must not sync it (that costs
	 * milliseconds on a journaled file system at every --rm exit). */
	if (upper != NULL && volatile_upper)
		fsconfig(fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0);
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		mctr_fail_errno(err, "create the overlay");
		append_fs_log(fs, err);
		return -1;
	}
	_cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		return mctr_fail_errno(err, "fsmount the overlay");
	if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return mctr_fail_errno(err, "mount the overlay on %s", target);
	return 0;
}

/* Length of the directory prefix (ending in '/') all paths share. */
static size_t common_dir_prefix(char *const *paths)
{
	size_t len = strlen(paths[0]);
	for (size_t i = 1; paths[i] != NULL; i++) {
		size_t k = 0;
		while (k < len && paths[i][k] == paths[0][k])
			k++;
		len = k;
	}
	while (len > 0 && paths[0][len - 1] != '/')
		len--;
	return len;
}

/* mount(2): the options must fit in one page, so the layers are named
 * relative to their common parent directory, which becomes the cwd for the
 * call. */
int rt_overlay_mount_legacy(char *const *lower, const char *upper, const char *work, bool volatile_upper,
                            const char *target, struct mctr_err *err)
{
	size_t pre = common_dir_prefix(lower);
	size_t cap = 80 + (upper ? strlen(upper) + strlen(work) : 0);
	for (size_t i = 0; lower[i] != NULL; i++)
		cap += strlen(lower[i]) + 1;
	_cleanup_free_ char *data = xmalloc(cap);
	size_t len = (size_t)sprintf(data, "index=off,lowerdir=");
	for (size_t i = 0; lower[i] != NULL; i++)
		len += (size_t)sprintf(data + len, "%s%s", i ? ":" : "", lower[i] + pre);
	if (upper != NULL)
		len += (size_t)sprintf(data + len, ",upperdir=%s,workdir=%s%s", upper, work,
		                       volatile_upper ? ",volatile" : "");
	long page = sysconf(_SC_PAGESIZE);
	if (len >= (size_t)page)
		return mctr_fail(err, E2BIG, "overlay options are %zu bytes, more than a page (%ld): too many layers "
		                 "for this kernel (Linux >= 6.8 has no limit)", len, page);
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *dir = pre ? xstrndup(lower[0], pre) : xstrdup("/");
	if (cwd < 0 || chdir(dir) < 0)
		return mctr_fail_errno(err, "chdir %s", dir);
	int rc = mount("overlay", target, "overlay", 0, data);
	int saved = errno;
	if (fchdir(cwd) < 0 && rc == 0)
		return mctr_fail_errno(err, "fchdir back");
	if (rc < 0)
		return mctr_fail(err, saved, "mount the overlay on %s", target);
	return 0;
}

static int bind_readonly(const char *src, const char *target, struct mctr_err *err)
{
	if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return mctr_fail_errno(err, "bind %s", src);
	_cleanup_close_ int fd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mctr_fail_errno(err, "open %s", target);
	return rt_remount_fd(fd, MS_RDONLY, false, err);
}

int rt_overlay_mount(char *const *lower, const char *upper, const char *work, bool volatile_upper,
                     const char *target, struct mctr_err *err)
{
	if (lower == NULL || lower[0] == NULL)
		return mctr_fail(err, EINVAL, "overlay without lower layers");
	/* overlayfs wants two layers when there is no upper dir. */
	if (upper == NULL && lower[1] == NULL)
		return bind_readonly(lower[0], target, err);
	int rc = overlay_fsconfig(lower, upper, work, volatile_upper, target, err);
	if (rc == 1)
		rc = rt_overlay_mount_legacy(lower, upper, work, volatile_upper, target, err);
	return rc;
}

/* ---- preparing and switching ------------------------------------------- */

int rt_rootfs_prepare(const struct rt_spec *spec, int *rootfd_out, struct mctr_err *err)
{
	if (mount(NULL, "/", NULL, spec->root_propagation, NULL) < 0)
		return mctr_fail_errno(err, "make / private in the container's mount namespace");
	if (spec->overlay_lower != NULL) {
		if (rt_overlay_mount(spec->overlay_lower, spec->overlay_upper, spec->overlay_work, spec->overlay_volatile,
		                     spec->root_path, err) < 0)
			return mctr_err_wrap(err, "root filesystem");
	} else if (mount(spec->root_path, spec->root_path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return mctr_fail_errno(err, "bind the root filesystem %s", spec->root_path);
	}
	int fd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mctr_fail_errno(err, "open the root filesystem %s", spec->root_path);
	*rootfd_out = fd;
	return 0;
}

static int switch_by_chroot(int rootfd, struct mctr_err *err)
{
	char p[64];
	fd_path(rootfd, p);
	if (fchdir(rootfd) < 0)
		return mctr_fail_errno(err, "chdir to the root filesystem");
	if (mount(p, "/", NULL, MS_MOVE, NULL) < 0)
		return mctr_fail_errno(err, "move the root filesystem onto /");
	if (chroot(".") < 0 || chdir("/") < 0)
		return mctr_fail_errno(err, "chroot");
	return 0;
}

int rt_rootfs_switch(int rootfd, struct mctr_err *err)
{
	_cleanup_close_ int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		return mctr_fail_errno(err, "open /");
	if (fchdir(rootfd) < 0)
		return mctr_fail_errno(err, "chdir to the root filesystem");
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		if (errno == EINVAL && strcmp(rt_root_switch_method(), "chroot") == 0)
			return switch_by_chroot(rootfd, err);
		return mctr_fail_errno(err, "pivot_root");
	}
	/* The old root is now stacked on "/": make it a slave so detaching
	 * it cannot propagate an unmount anywhere, then detach it. */
	if (fchdir(oldroot) < 0)
		return mctr_fail_errno(err, "chdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return mctr_fail_errno(err, "make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return mctr_fail_errno(err, "detach the old root");
	if (chdir("/") < 0)
		return mctr_fail_errno(err, "chdir /");
	return 0;
}

int rt_rootfs_make_readonly(struct mctr_err *err)
{
	_cleanup_close_ int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mctr_fail_errno(err, "open /");
	if (rt_remount_fd(fd, MS_RDONLY, false, err) < 0)
		return mctr_err_wrap(err, "make the root filesystem read-only");
	return 0;
}

const char *rt_root_switch_method(void)
{
	static const char *method;
	if (method != NULL)
		return method;
	method = "pivot_root";
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return method;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	char root_fstype[64] = "";
	while (getline(&line, &cap, f) > 0) {
		char mp[4096], fstype[64];
		char *sep = strstr(line, " - ");
		if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(mp, "/") == 0)
			snprintf(root_fstype, sizeof root_fstype, "%s", fstype); /* the last one is on top */
	}
	/* The initial ramfs/tmpfs root cannot be unmounted, so it cannot be
	 * pivoted away from. */
	if (strcmp(root_fstype, "rootfs") == 0)
		method = "chroot";
	return method;
}
