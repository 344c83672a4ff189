/* /sys/fs/cgroup inside the container.  The child mounts it after it has
 * entered its cgroup and unshared its cgroup namespace, so every hierarchy
 * shows the container's own cgroup as its root ("/" in /proc/self/cgroup).
 *
 *   v2:        one cgroup2 mount;
 *   v1/hybrid: a tmpfs holding one mount per hierarchy the host has under
 *              /sys/fs/cgroup (same directory names and controller options,
 *              the host's symlinks such as cpu -> cpu,cpuacct copied), as
 *              Docker shows it;
 *   none:      nothing (the directory stays as it is).
 *
 * Read-only unless the spec says "rw". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

#define HOST_CGROUP_DIR "/sys/fs/cgroup/"

/* Keep the options that select the hierarchy (controllers, name=). */
static void hierarchy_options(const char *super, char *out, size_t size)
{
	_cleanup_free_ char *copy = xstrdup(super);
	size_t len = 0;
	out[0] = '\0';
	char *save = NULL;
	for (char *o = strtok_r(copy, ",", &save); o != NULL; o = strtok_r(NULL, ",", &save)) {
		if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0 || (strchr(o, '=') && strncmp(o, "name=", 5) != 0))
			continue;
		int n = snprintf(out + len, size - len, "%s%s", len ? "," : "", o);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
}

static int mount_one_hierarchy(int tmpfs, const char *name, const char *fstype, const char *opts,
                               unsigned long flags, struct mctr_err *err)
{
	if (mkdirat(tmpfs, name, 0555) < 0 && errno != EEXIST)
		return mctr_fail_errno(err, "mkdir %s", name);
	_cleanup_close_ int sub = openat(tmpfs, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return mctr_fail_errno(err, "open %s", name);
	char p[64];
	fd_path(sub, p);
	if (mount(fstype, p, fstype, flags, opts[0] ? opts : NULL) < 0)
		return mctr_fail_errno(err, "mount the %s hierarchy %s", fstype, opts[0] ? opts : name);
	return 0;
}

/* One mount per cgroup hierarchy mounted directly under /sys/fs/cgroup. */
static int mount_hierarchies(int tmpfs, unsigned long flags, struct mctr_err *err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return mctr_fail_errno(err, "open /proc/self/mountinfo");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *sep = strstr(line, " - ");
		if (sep == NULL)
			continue;
		char mp[4096], fstype[64], source[256], super[1024];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%63s %255s %1023s", fstype, source, super) != 3)
			continue;
		if (strncmp(mp, HOST_CGROUP_DIR, strlen(HOST_CGROUP_DIR)) != 0)
			continue;
		const char *name = mp + strlen(HOST_CGROUP_DIR);
		if (name[0] == '\0' || strchr(name, '/') != NULL || name[0] == '.')
			continue;
		char opts[1024];
		if (strcmp(fstype, "cgroup") == 0)
			hierarchy_options(super, opts, sizeof opts);
		else if (strcmp(fstype, "cgroup2") == 0)
			opts[0] = '\0';
		else
			continue;
		if (mount_one_hierarchy(tmpfs, name, fstype, opts, flags, err) < 0)
			return -1;
	}
	return 0;
}

static int copy_host_symlinks(int tmpfs, struct mctr_err *err)
{
	_cleanup_closedir_ DIR *d = opendir(HOST_CGROUP_DIR);
	if (d == NULL)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_LNK)
			continue;
		char target[256];
		ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
		if (n <= 0 || memchr(target, '/', (size_t)n) != NULL)
			continue; /* only sibling links (cpu -> cpu,cpuacct) */
		target[n] = '\0';
		if (symlinkat(target, tmpfs, de->d_name) < 0 && errno != EEXIST)
			return mctr_fail_errno(err, "symlink %s", de->d_name);
	}
	return 0;
}

static int mount_v1(int target_fd, unsigned long flags, struct mctr_err *err)
{
	_cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return mctr_fail_errno(err, "fsopen tmpfs (Linux >= 5.2 is needed)");
	if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return mctr_fail_errno(err, "create the tmpfs");
	_cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return mctr_fail_errno(err, "fsmount the tmpfs");
	if (move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return mctr_fail_errno(err, "attach the tmpfs");
	if (mount_hierarchies(mnt, flags, err) < 0 || copy_host_symlinks(mnt, err) < 0)
		return -1;
	if ((flags & MS_RDONLY) && rt_remount_fd(mnt, MS_RDONLY, false, err) < 0)
		return -1;
	return 0;
}

int rt_mount_cgroupfs(int target_fd, unsigned long flags, struct mctr_err *err)
{
	flags = (flags & ~(MS_BIND | MS_REC)) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	switch (cgroup_detect_mode(NULL)) {
	case CGROUP_MODE_V2: {
		char p[64];
		fd_path(target_fd, p);
		if (mount("cgroup2", p, "cgroup2", flags, NULL) < 0)
			return mctr_fail_errno(err, "mount cgroup2");
		return 0;
	}
	case CGROUP_MODE_V1:
	case CGROUP_MODE_HYBRID:
		return mount_v1(target_fd, flags, err);
	default:
		return 0;
	}
}
