/* File-system helpers shared by the store and the runtime.  Everything is
 * dirfd-relative so callers never build paths that a symlink could redirect,
 * and every descriptor is opened O_CLOEXEC. */
#ifndef MCTR_FSUTIL_H
#define MCTR_FSUTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mctr/err.h"

/* malloc-or-abort helpers: out of memory is not a recoverable condition for
 * a short-lived CLI. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write all of buf, retrying on EINTR and short writes. */
int fd_write_all(int fd, const void *buf, size_t len, struct mctr_err *err);

/* Read the whole of fd into a NUL-terminated buffer; fail if it holds more
 * than max bytes. */
int fd_read_all(int fd, size_t max, char **out, size_t *len_out, struct mctr_err *err);

/* Open dirfd/path read-only (no symlink at the last component) and read it
 * whole, as fd_read_all. */
int file_read_at(int dirfd, const char *path, size_t max, char **out, size_t *len_out, struct mctr_err *err);

/* Replace dirfd/name atomically: write a temp file in the same directory,
 * fsync it, rename it over name and fsync the directory.  Readers see the old
 * or the new content, never a mix; a crash leaves at most a ".tmp-" file that
 * fs_remove_temp_files() collects. */
int file_write_atomic_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                         struct mctr_err *err);

/* fsync a directory (after a rename or link inside it). */
int fsync_dir(int dirfd, struct mctr_err *err);

/* mkdir -p relative to dirfd; never follows a symlink.  Existing directories
 * are fine. */
int mkdir_p_at(int dirfd, const char *path, mode_t mode, struct mctr_err *err);

/* Open (and create if missing) directory dirfd/name, no symlinks followed. */
int open_dir_at(int dirfd, const char *name, bool create, mode_t mode, struct mctr_err *err);

/* rm -rf dirfd/name: never follows symlinks, copes with directories of mode
 * 000 (overlayfs work/work) and with a missing name. */
int rm_rf_at(int dirfd, const char *name, struct mctr_err *err);

/* A stream listing the directory dirfd from its start, dirfd itself left
 * open and usable: the stream reads a duplicate, rewound because a duplicate
 * shares dirfd's offset, which an earlier listing may have left at the end.
 * NULL + err on failure. */
DIR *fs_opendir_at(int dirfd, struct mctr_err *err);

/* Remove every entry of dirfd whose name starts with prefix (temp debris of
 * an interrupted writer). */
int fs_remove_prefixed(int dirfd, const char *prefix, struct mctr_err *err);

/* Open `path` as seen from inside the tree rooted at rootfd: ".." and
 * symlinks, absolute ones included, are resolved as if rootfd were "/", so the
 * result can never be outside the tree (openat2 RESOLVE_IN_ROOT, with a
 * userspace walk where the kernel lacks it).  flags may include O_CREAT for the
 * last component. */
int open_in_root(int rootfd, const char *path, int flags, mode_t mode, struct mctr_err *err);

/* Open dirfd/path refusing any symlink on the way and any escape from dirfd
 * (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, with a component-by-component
 * O_NOFOLLOW walk where the kernel lacks it).  ELOOP tells a symlink was met. */
int open_beneath(int dirfd, const char *path, int flags, struct mctr_err *err);

/* mkdir -p `path` inside the tree at rootfd, resolving as open_in_root; the
 * returned fd (O_PATH|O_DIRECTORY... opened O_RDONLY) is the final directory. */
int mkdir_in_root(int rootfd, const char *path, mode_t mode, struct mctr_err *err);

/* "/proc/self/fd/N" for fd (for mount(2) targets and similar). */
void fd_path(int fd, char buf[64]);

/* Join two path parts with one '/'. */
char *path_join(const char *a, const char *b);

#endif
