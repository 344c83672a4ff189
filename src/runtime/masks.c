/* linux.maskedPaths and linux.readonlyPaths, resolved inside the container
 * root like every mount destination.  Paths the container does not have
 * are skipped (the lists are written for every kernel).
 *
 *   masked file:      /dev/null of the container bound over it;
 *   masked directory: an empty read-only tmpfs over it;
 *   read-only path:   bound onto itself, recursively, read-only; the
 *                     mount keeps its nosuid/nodev/noexec. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "rt_internal.h"

/* O_PATH fd of path in the root, or -1 with *missing set when absent. */
static int open_existing(int rootfd, const char *path, bool *missing, struct mctr_err *err)
{
	*missing = false;
	int fd = open_in_root(rootfd, path, O_PATH, 0, err);
	if (fd < 0 && (err->errnum == ENOENT || err->errnum == ENOTDIR))
		*missing = true;
	return fd;
}

static int mask_dir(int fd, const char *path, struct mctr_err *err)
{
	char p[64];
	fd_path(fd, p);
	if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "nr_inodes=1,mode=755") <
	    0)
		return mctr_fail_errno(err, "mask %s", path);
	return 0;
}

int rt_mask_paths(char *const *paths, int rootfd, struct mctr_err *err)
{
	_cleanup_close_ int null = -1;
	for (; paths != NULL && *paths != NULL; paths++) {
		bool missing;
		_cleanup_close_ int fd = open_existing(rootfd, *paths, &missing, err);
		if (fd < 0) {
			if (missing)
				continue;
			return mctr_err_wrap(err, "mask");
		}
		struct stat st;
		if (fstat(fd, &st) < 0)
			return mctr_fail_errno(err, "stat %s", *paths);
		if (S_ISDIR(st.st_mode)) {
			if (mask_dir(fd, *paths, err) < 0)
				return -1;
			continue;
		}
		if (null < 0 && (null = open_in_root(rootfd, "/dev/null", O_PATH, 0, err)) < 0)
			return mctr_err_wrap(err, "mask %s", *paths);
		char src[64], dst[64];
		fd_path(null, src);
		fd_path(fd, dst);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			return mctr_fail_errno(err, "mask %s", *paths);
	}
	return 0;
}

int rt_readonly_paths(char *const *paths, int rootfd, struct mctr_err *err)
{
	for (; paths != NULL && *paths != NULL; paths++) {
		bool missing;
		_cleanup_close_ int fd = open_existing(rootfd, *paths, &missing, err);
		if (fd < 0) {
			if (missing)
				continue;
			return mctr_err_wrap(err, "read-only path");
		}
		if (rt_bind_onto_itself(rootfd, *paths, fd, MS_RDONLY, err) < 0)
			return mctr_err_wrap(err, "read-only path %s", *paths);
	}
	return 0;
}
