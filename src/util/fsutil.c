#include "mctr/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mctr/cleanup.h"

static void oom(void)
{
	static const char msg[] = "mctr: out of memory\n";
	(void)!write(2, msg, sizeof msg - 1);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (p == NULL)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (p == NULL)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return s;
}

int fd_write_all(int fd, const void *buf, size_t len, struct mctr_err *err)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mctr_fail_errno(err, "write");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fd_read_all(int fd, size_t max, char **out, size_t *len_out, struct mctr_err *err)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > max)
				return mctr_fail(err, EFBIG, "file larger than %zu bytes", max);
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mctr_fail_errno(err, "read");
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return mctr_fail(err, EFBIG, "file larger than %zu bytes", max);
	}
	buf[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	*out = steal_pointer(&buf);
	return 0;
}

int file_read_at(int dirfd, const char *path, size_t max, char **out, size_t *len_out, struct mctr_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return mctr_fail_errno(err, "open %s", path);
	if (fd_read_all(fd, max, out, len_out, err) < 0)
		return mctr_err_wrap(err, "%s", path);
	return 0;
}

int fsync_dir(int dirfd, struct mctr_err *err)
{
	if (fsync(dirfd) < 0 && errno != EINVAL)
		return mctr_fail_errno(err, "fsync directory");
	return 0;
}

int file_write_atomic_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                         struct mctr_err *err)
{
	char tmp[256];
	if (snprintf(tmp, sizeof tmp, ".tmp-%.180s-%ld", name, (long)getpid()) >= (int)sizeof tmp)
		return mctr_fail(err, ENAMETOOLONG, "%s", name);
	_cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return mctr_fail_errno(err, "create %s", tmp);
	int rc = 0;
	if (fchmod(fd, mode) < 0)
		rc = mctr_fail_errno(err, "chmod %s", tmp);
	else if (fd_write_all(fd, buf, len, err) < 0)
		rc = -1;
	else if (fsync(fd) < 0)
		rc = mctr_fail_errno(err, "fsync %s", tmp);
	if (rc < 0) {
		unlinkat(dirfd, tmp, 0);
		return mctr_err_wrap(err, "%s", name);
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return mctr_fail(err, e, "rename into %s", name);
	}
	return fsync_dir(dirfd, err);
}

int open_dir_at(int dirfd, const char *name, bool create, mode_t mode, struct mctr_err *err)
{
	/* Open first: the directory exists on every run but the first. */
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
			return mctr_fail_errno(err, "mkdir %s", name);
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return mctr_fail_errno(err, "open directory %s", name);
	return fd;
}

int mkdir_p_at(int dirfd, const char *path, mode_t mode, struct mctr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	/* An absolute path starts at "/", whatever dirfd is (as mkdirat). */
	_cleanup_close_ int cur = path[0] == '/' ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
	                          : dirfd == AT_FDCWD ? open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)
	                                              : fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return mctr_fail_errno(err, "mkdir %s", path);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0)
			return mctr_fail(err, EINVAL, "mkdir %s: \"..\" not allowed", path);
		int next = open_dir_at(cur, c, true, mode, err);
		if (next < 0)
			return mctr_err_wrap(err, "mkdir %s", path);
		close(cur);
		cur = next;
	}
	return 0;
}

static int rm_tree_fd(int dfd, struct mctr_err *err);

static int rm_entry(int dirfd, const char *name, struct mctr_err *err)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return mctr_fail_errno(err, "remove %s", name);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == EACCES) {
		/* overlayfs leaves work/work with mode 000 */
		if (fchmodat(dirfd, name, 0700, 0) == 0)
			fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return mctr_fail_errno(err, "open %s", name);
	}
	if (rm_tree_fd(fd, err) < 0)
		return mctr_err_wrap(err, "%s", name);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return mctr_fail_errno(err, "remove directory %s", name);
	return 0;
}

/* Empties the directory dfd; takes ownership of dfd. */
static int rm_tree_fd(int dfd, struct mctr_err *err)
{
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (d == NULL) {
		int e = errno;
		close(dfd);
		return mctr_fail(err, e, "fdopendir");
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_entry(dirfd(d), de->d_name, err) < 0)
			return -1;
	}
	if (errno != 0)
		return mctr_fail_errno(err, "readdir");
	return 0;
}

int rm_rf_at(int dirfd, const char *name, struct mctr_err *err)
{
	return rm_entry(dirfd, name, err);
}

DIR *fs_opendir_at(int dirfd, struct mctr_err *err)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		mctr_fail_errno(err, "dup");
		return NULL;
	}
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int e = errno;
		close(fd);
		mctr_fail(err, e, "fdopendir");
		return NULL;
	}
	rewinddir(d);
	return d;
}

int fs_remove_prefixed(int dirfd, const char *prefix, struct mctr_err *err)
{
	_cleanup_closedir_ DIR *d = fs_opendir_at(dirfd, err);
	if (d == NULL)
		return -1;
	size_t plen = strlen(prefix);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		if (rm_rf_at(dirfd, de->d_name, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- resolution inside a root ------------------------------------------ */

static int openat2_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Resolve path component by component as if rootfd were "/" (symlinks,
 * absolute ones included, and ".." never leave it): RESOLVE_IN_ROOT in
 * userspace, for kernels without openat2 and for mkdir_in_root, which also
 * creates missing directories on the way (through symlinks too: a link to a
 * missing directory gets its target made inside the root, as runc does). */
static int walk_in_root(int rootfd, const char *path, int flags, mode_t mode, bool mkdirs)
{
	enum { MAX_LINKS = 40 };
	_cleanup_free_ char *rest = xstrdup(path);
	int links = 0;
	_cleanup_close_ int cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -1;
	/* A stack of the directories walked through, so ".." can go back up
	 * without ever leaving the root. */
	int stack[256];
	int depth = 0;
	int result = -1;

	char *p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0') {
			result = openat(cur, ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
			break;
		}
		char *slash = strchr(p, '/');
		bool last = slash == NULL;
		if (slash != NULL)
			*slash = '\0';
		char *comp = p;
		p = last ? p + strlen(p) : slash + 1;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (depth > 0) {
				close(cur);
				cur = stack[--depth];
			}
			continue;
		}
		struct stat st;
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && last && (flags & O_CREAT)) {
				result = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
				break;
			}
			if (errno != ENOENT || !mkdirs)
				break;
			if (mkdirat(cur, comp, mode) < 0 && errno != EEXIST)
				break;
			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
				break;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > MAX_LINKS) {
				errno = ELOOP;
				break;
			}
			char target[4096];
			ssize_t n = readlinkat(cur, comp, target, sizeof target - 1);
			if (n < 0)
				break;
			target[n] = '\0';
			/* A link at the last component stays the last component:
			 * "target/" would demand a directory. */
			char *joined = last ? xstrdup(target) : xasprintf("%s/%s", target, p);
			free(rest);
			rest = joined;
			p = rest;
			if (target[0] == '/') {
				while (depth > 0)
					close(stack[--depth]);
				close(cur);
				cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (cur < 0)
					break;
			}
			continue;
		}
		if (last) {
			result = openat(cur, comp, (flags & ~O_CREAT) | O_NOFOLLOW | O_CLOEXEC);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			break;
		}
		if (depth == (int)(sizeof stack / sizeof stack[0])) {
			errno = ENAMETOOLONG;
			break;
		}
		int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			break;
		stack[depth++] = cur;
		cur = next;
	}
	int saved = errno;
	while (depth > 0)
		close(stack[--depth]);
	errno = saved;
	return result;
}

int open_in_root(int rootfd, const char *path, int flags, mode_t mode, struct mctr_err *err)
{
	static int have_openat2 = -1;
	int fd = -1;
	if (have_openat2 != 0) {
		fd = openat2_in_root(rootfd, path, flags, mode);
		if (fd < 0 && errno == ENOSYS)
			have_openat2 = 0;
		else
			have_openat2 = 1;
	}
	if (have_openat2 == 0)
		fd = walk_in_root(rootfd, path, flags, mode, false);
	if (fd < 0)
		return mctr_fail_errno(err, "open %s inside the container root", path);
	return fd;
}

static int walk_beneath(int dirfd, const char *path, int flags)
{
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_close_ int cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -1;
	char *save = NULL;
	char *c = strtok_r(copy, "/", &save);
	while (c != NULL) {
		char *next = strtok_r(NULL, "/", &save);
		if (strcmp(c, "..") == 0) {
			errno = EXDEV;
			return -1;
		}
		if (next == NULL)
			return openat(cur, c, flags | O_NOFOLLOW | O_CLOEXEC);
		int fd = openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -1;
		close(cur);
		cur = fd;
		c = next;
	}
	return openat(cur, ".", flags | O_CLOEXEC);
}

int open_beneath(int dirfd, const char *path, int flags, struct mctr_err *err)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS)
		fd = walk_beneath(dirfd, path, flags);
	if (fd < 0) {
		if (errno == ELOOP || errno == EXDEV)
			return mctr_fail(err, ELOOP, "%s: symlink or path outside the directory", path);
		return mctr_fail_errno(err, "open %s", path);
	}
	return fd;
}

int mkdir_in_root(int rootfd, const char *path, mode_t mode, struct mctr_err *err)
{
	int fd = walk_in_root(rootfd, path, O_PATH | O_DIRECTORY, mode, true);
	if (fd < 0)
		return mctr_fail_errno(err, "mkdir %s inside the container root", path);
	return fd;
}

void fd_path(int fd, char buf[64])
{
	snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return xasprintf("%.*s/%s", (int)la, a, b);
}
