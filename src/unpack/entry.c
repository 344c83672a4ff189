/* One tar entry applied to the layer directory with dirfd-relative calls.
 *
 * Not archive_write_disk(): it re-walks every path (~6 openat per entry on a
 * Debian layer) and follows symlinks in ways an image store cannot allow.
 * Here an entry costs its creating call, its data, futimens and close, plus a
 * chown/chmod only when the kernel did not already give the right owner and
 * mode.  Order matters: chown clears setuid/setgid and file capabilities, and
 * writing data clears capabilities too, so it is create, write, chown, chmod,
 * xattrs, times. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

struct entry {
	struct archive_entry *e;
	char shown[SHOWN_NAME_MAX];
	const struct dir_level *parent;
	const char *base;
	mode_t mode; /* permission bits, setuid/setgid/sticky included */
	uid_t uid;
	gid_t gid;
	struct timespec times[2];
};

/* Names as stored: with a C locale libarchive cannot turn a UTF-8 pax name
 * into a "local" one and returns NULL; its UTF-8 form is the stored bytes. */
static const char *entry_pathname(struct archive_entry *e)
{
	const char *s = archive_entry_pathname(e);
	return s != NULL ? s : archive_entry_pathname_utf8(e);
}

static const char *entry_symlink(struct archive_entry *e)
{
	const char *s = archive_entry_symlink(e);
	return s != NULL ? s : archive_entry_symlink_utf8(e);
}

static const char *entry_hardlink(struct archive_entry *e)
{
	const char *s = archive_entry_hardlink(e);
	return s != NULL ? s : archive_entry_hardlink_utf8(e);
}

static int entry_attrs(struct entry *en, struct mctr_err *err)
{
	struct archive_entry *e = en->e;
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	/* (uid_t)-1 would mean "leave unchanged" to chown */
	if (uid < 0 || uid >= (la_int64_t)UINT32_MAX || gid < 0 || gid >= (la_int64_t)UINT32_MAX)
		return mctr_fail(err, 0, "entry %s: owner %lld:%lld out of range", en->shown, (long long)uid,
		                 (long long)gid);
	en->uid = (uid_t)uid;
	en->gid = (gid_t)gid;
	en->mode = archive_entry_perm(e) & 07777;
	en->times[1].tv_sec = archive_entry_mtime(e);
	en->times[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		en->times[0].tv_sec = archive_entry_atime(e);
		en->times[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		en->times[0] = en->times[1];
	}
	return 0;
}

/* Would the kernel already give a new inode here the entry's owner? */
static bool needs_chown(const struct layer_tree *t, const struct entry *en)
{
	gid_t made_gid = en->parent->setgid ? en->parent->gid : t->egid;
	return en->uid != t->euid || en->gid != made_gid;
}

/* 1 if changed, 0 if rootless and not permitted (kept as ours), -1 on error. */
static int chown_entry(struct layer_tree *t, const struct entry *en, int fd, struct mctr_err *err)
{
	if (!t->can_chown)
		return 0;
	int r = fd >= 0 ? fchown(fd, en->uid, en->gid)
	                : fchownat(en->parent->fd, en->base, en->uid, en->gid, AT_SYMLINK_NOFOLLOW);
	if (r == 0)
		return 1;
	if (t->rootless && (errno == EPERM || errno == EINVAL)) {
		mctr_debug("layer %s: cannot chown (%s); files keep our owner", t->what, strerror(errno));
		t->can_chown = false;
		return 0;
	}
	return mctr_fail_errno(err, "entry %s: chown to %u:%u", en->shown, (unsigned)en->uid, (unsigned)en->gid);
}

/* umask or special bits may have changed what the create call gave. */
static bool needs_chmod(const struct layer_tree *t, const struct entry *en)
{
	return (en->mode & 07000) != 0 || (en->mode & t->umask) != 0;
}

static bool xattr_dropped(const char *name)
{
	/* an image must not forge whiteouts, opaque dirs or redirects */
	return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

/* On fd, or (fd < 0) on parent/base without following it. */
static int apply_xattrs(struct layer_tree *t, const struct entry *en, int fd, struct mctr_err *err)
{
	if (archive_entry_xattr_reset(en->e) == 0)
		return 0;
	char proc[64 + NAME_MAX];
	if (fd < 0)
		snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", en->parent->fd, en->base);
	bool reg_or_dir = S_ISREG(archive_entry_filetype(en->e)) || S_ISDIR(archive_entry_filetype(en->e));
	const char *name;
	const void *value;
	size_t size;
	while (archive_entry_xattr_next(en->e, &name, &value, &size) == ARCHIVE_OK) {
		if (name == NULL || xattr_dropped(name))
			continue;
		int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(proc, name, value, size, 0);
		if (r == 0)
			continue;
		/* user.* is refused on symlinks and nodes, trusted.* when rootless */
		if (errno == ENOTSUP || (errno == EPERM && (t->rootless || !reg_or_dir))) {
			if (!t->warned_xattr)
				mctr_warn("layer %s: entry %s: xattr %s: %s; dropping the xattrs refused here",
				          t->what, en->shown, name, strerror(errno));
			t->warned_xattr = true;
			continue;
		}
		return mctr_fail_errno(err, "entry %s: set xattr %s", en->shown, name);
	}
	return 0;
}

/* A duplicate name in one tar: the later entry wins. */
static int remove_existing(struct layer_tree *t, const struct entry *en, struct mctr_err *err)
{
	struct stat st;
	if (fstatat(en->parent->fd, en->base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return mctr_fail_errno(err, "entry %s: stat existing", en->shown);
	if (layer_tree_remove(t, en->parent->fd, en->base, &st, t->path.joined, t->path.len, err) < 0)
		return mctr_err_wrap(err, "entry %s: replace existing", en->shown);
	return 0;
}

const char *tar_error_string(struct archive *a)
{
	const char *s = archive_error_string(a);
	return s != NULL ? s : "truncated or damaged tar archive";
}

static int write_data(struct archive *a, const struct entry *en, int fd, struct mctr_err *err)
{
	la_int64_t pos = 0;
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return mctr_fail(err, 0, "entry %s: read data: %s", en->shown, tar_error_string(a));
		if (off != pos && lseek(fd, off, SEEK_SET) < 0) /* a hole in a sparse file */
			return mctr_fail_errno(err, "entry %s: seek", en->shown);
		if (fd_write_all(fd, buf, size, err) < 0)
			return mctr_err_wrap(err, "entry %s", en->shown);
		pos = off + (la_int64_t)size;
	}
	la_int64_t want = archive_entry_size(en->e);
	if (pos < want && ftruncate(fd, want) < 0) /* sparse file ending in a hole */
		return mctr_fail_errno(err, "entry %s: set size", en->shown);
	return 0;
}

static int apply_regular(struct layer_tree *t, struct archive *a, const struct entry *en, struct mctr_err *err)
{
	const int flags = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC;
	_cleanup_close_ int fd = openat(en->parent->fd, en->base, flags, en->mode);
	if (fd < 0 && errno == EEXIST) {
		if (remove_existing(t, en, err) < 0)
			return -1;
		fd = openat(en->parent->fd, en->base, flags, en->mode);
	}
	if (fd < 0)
		return mctr_fail_errno(err, "entry %s: create", en->shown);
	if (write_data(a, en, fd, err) < 0)
		return -1;
	if (needs_chown(t, en) && chown_entry(t, en, fd, err) < 0)
		return -1;
	if (needs_chmod(t, en) && fchmod(fd, en->mode) < 0)
		return mctr_fail_errno(err, "entry %s: chmod", en->shown);
	if (apply_xattrs(t, en, fd, err) < 0)
		return -1;
	if (futimens(fd, en->times) < 0)
		return mctr_fail_errno(err, "entry %s: set times", en->shown);
	if (close(steal_fd(&fd)) < 0 && errno != EINTR)
		return mctr_fail_errno(err, "entry %s: close", en->shown);
	return 0;
}

static void remember_dir(struct layer_tree *t, const struct entry *en, bool defer_mode)
{
	struct path_rec *rec = path_recs_get(&t->recs, t->path.joined, t->path.len);
	rec->flags |= REC_DIR_TIMES;
	rec->times[0] = en->times[0];
	rec->times[1] = en->times[1];
	rec->flags &= ~(unsigned)REC_DIR_MODE;
	if (defer_mode) {
		rec->flags |= REC_DIR_MODE;
		rec->mode = en->mode;
	}
}

/* A directory that denies us rwx gets its mode at the end, so its children
 * can still be made without CAP_DAC_OVERRIDE. */
static bool defer_dir_mode(mode_t mode)
{
	return (mode & 0700) != 0700;
}

static int apply_dir(struct layer_tree *t, const struct entry *en, struct mctr_err *err)
{
	int pfd = en->parent->fd;
	bool defer = defer_dir_mode(en->mode);
	mode_t now = defer ? (en->mode | 0700) : en->mode;
	bool existed = false, opaque = false;
	if (mkdirat(pfd, en->base, now & 01777) < 0) {
		struct stat st;
		if (errno != EEXIST || fstatat(pfd, en->base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return mctr_fail_errno(err, "entry %s: mkdir", en->shown);
		if (S_ISDIR(st.st_mode)) {
			existed = true; /* a dir over a dir keeps its content and xattrs */
		} else {
			/* lower layers' directory was whited out: this new one must not merge with it */
			opaque = layer_tree_is_whiteout(t, &st, t->path.joined, t->path.len);
			if (remove_existing(t, en, err) < 0)
				return -1;
			if (mkdirat(pfd, en->base, now & 01777) < 0)
				return mctr_fail_errno(err, "entry %s: mkdir", en->shown);
		}
	}
	mode_t made = ((now & 01777) & ~t->umask) | (en->parent->setgid ? S_ISGID : 0);
	if ((existed || needs_chown(t, en)) && chown_entry(t, en, -1, err) < 0)
		return -1;
	/* base is the directory just made or checked, not a symlink */
	if ((existed || made != now) && fchmodat(pfd, en->base, now, 0) < 0)
		return mctr_fail_errno(err, "entry %s: chmod", en->shown);
	if (opaque) {
		_cleanup_close_ int dfd = openat(pfd, en->base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			return mctr_fail_errno(err, "entry %s: open", en->shown);
		if (layer_tree_set_opaque(t, dfd, en->shown, err) < 0)
			return -1;
	}
	if (apply_xattrs(t, en, -1, err) < 0)
		return -1;
	remember_dir(t, en, defer);
	return 0;
}

/* "./" or ".": the attributes of the layer directory itself. */
static int apply_root(struct layer_tree *t, struct entry *en, struct mctr_err *err)
{
	struct dir_level *root = &t->stack[0];
	en->parent = root;
	bool defer = defer_dir_mode(en->mode);
	mode_t now = defer ? (en->mode | 0700) : en->mode;
	if ((en->uid != t->euid || en->gid != root->gid) && t->can_chown) {
		if (fchown(t->rootfd, en->uid, en->gid) == 0)
			root->gid = en->gid;
		else if (!(t->rootless && (errno == EPERM || errno == EINVAL)))
			return mctr_fail_errno(err, "entry %s: chown layer directory", en->shown);
	}
	if (fchmod(t->rootfd, now) < 0)
		return mctr_fail_errno(err, "entry %s: chmod layer directory", en->shown);
	root->setgid = (now & S_ISGID) != 0;
	if (apply_xattrs(t, en, t->rootfd, err) < 0)
		return -1;
	remember_dir(t, en, defer);
	return 0;
}

static int apply_symlink(struct layer_tree *t, const struct entry *en, struct mctr_err *err)
{
	/* stored verbatim: absolute or "..", it is never followed here */
	const char *target = entry_symlink(en->e);
	if (target == NULL || target[0] == '\0')
		return mctr_fail(err, 0, "entry %s: symlink without a target", en->shown);
	int r = symlinkat(target, en->parent->fd, en->base);
	if (r < 0 && errno == EEXIST) {
		if (remove_existing(t, en, err) < 0)
			return -1;
		r = symlinkat(target, en->parent->fd, en->base);
	}
	if (r < 0)
		return mctr_fail_errno(err, "entry %s: symlink", en->shown);
	if (needs_chown(t, en) && chown_entry(t, en, -1, err) < 0)
		return -1;
	if (apply_xattrs(t, en, -1, err) < 0)
		return -1;
	if (utimensat(en->parent->fd, en->base, en->times, AT_SYMLINK_NOFOLLOW) < 0)
		return mctr_fail_errno(err, "entry %s: set times", en->shown);
	return 0;
}

static int apply_node(struct layer_tree *t, const struct entry *en, mode_t type, struct mctr_err *err)
{
	if (type != S_IFIFO && t->rootless) {
		t->skipped_devices++;
		return 0;
	}
	dev_t rdev = type == S_IFIFO ? 0 : makedev(archive_entry_rdevmajor(en->e), archive_entry_rdevminor(en->e));
	int r = mknodat(en->parent->fd, en->base, type | en->mode, rdev);
	if (r < 0 && errno == EEXIST) {
		if (remove_existing(t, en, err) < 0)
			return -1;
		r = mknodat(en->parent->fd, en->base, type | en->mode, rdev);
	}
	if (r < 0)
		return mctr_fail_errno(err, "entry %s: mknod", en->shown);
	if (needs_chown(t, en) && chown_entry(t, en, -1, err) < 0)
		return -1;
	/* base is the node just made, not a symlink */
	if (needs_chmod(t, en) && fchmodat(en->parent->fd, en->base, en->mode, 0) < 0)
		return mctr_fail_errno(err, "entry %s: chmod", en->shown);
	if (apply_xattrs(t, en, -1, err) < 0)
		return -1;
	if (utimensat(en->parent->fd, en->base, en->times, AT_SYMLINK_NOFOLLOW) < 0)
		return mctr_fail_errno(err, "entry %s: set times", en->shown);
	return 0;
}

/* Open the first n components of p below the layer root, following no
 * symlink; for a hardlink target, which must already exist. */
static int open_link_target_dir(struct layer_tree *t, const struct tar_path *p, size_t n)
{
	/* the target's directory is often one the walk holds */
	if (n < t->depth) {
		size_t i = 0;
		while (i < n && strcmp(t->stack[i + 1].name, tar_path_comp(p, i)) == 0)
			i++;
		if (i == n)
			return fcntl(t->stack[n].fd, F_DUPFD_CLOEXEC, 3);
	}
	_cleanup_free_ char *dir = xstrndup(p->joined, tar_path_prefix_len(p, n));
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, t->rootfd, n == 0 ? "." : dir, &how, sizeof how);
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
	/* no openat2 (or a seccomp filter refusing it): one component at a time */
	fd = fcntl(t->rootfd, F_DUPFD_CLOEXEC, 3);
	for (size_t i = 0; i < n && fd >= 0; i++) {
		int next = openat(fd, tar_path_comp(p, i), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		fd = next;
		errno = e;
	}
	return fd;
}

static int apply_hardlink(struct layer_tree *t, const struct entry *en, const char *raw, struct mctr_err *err)
{
	char shown[SHOWN_NAME_MAX];
	const char *why = NULL;
	shown_name(raw, shown);
	struct tar_path *tp = &t->target;
	if (tar_path_parse(tp, raw, &why) < 0)
		return mctr_fail(err, 0, "entry %s: hardlink target %s: %s", en->shown, shown, why);
	if (tp->ncomp == 0)
		return mctr_fail(err, 0, "entry %s: hardlink target %s: empty name", en->shown, shown);
	struct path_rec *rec = path_recs_find(&t->recs, tp->joined, tp->len);
	if (rec != NULL && (rec->flags & REC_WHITEOUT))
		return mctr_fail(err, 0, "entry %s: hardlink target %s is not in this layer", en->shown, shown);
	_cleanup_close_ int tfd = open_link_target_dir(t, tp, tp->ncomp - 1);
	if (tfd < 0 && errno == ELOOP)
		return mctr_fail(err, 0, "entry %s: hardlink target %s: path goes through a symlink", en->shown,
		                 shown);
	if (tfd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return mctr_fail(err, 0, "entry %s: hardlink target %s is not in this layer", en->shown, shown);
	if (tfd < 0)
		return mctr_fail_errno(err, "entry %s: hardlink target %s", en->shown, shown);
	const char *tbase = tar_path_comp(tp, tp->ncomp - 1);
	/* flags 0: a symlink target is linked itself, never followed */
	int r = linkat(tfd, tbase, en->parent->fd, en->base, 0);
	if (r < 0 && errno == EEXIST) {
		if (remove_existing(t, en, err) < 0)
			return -1;
		r = linkat(tfd, tbase, en->parent->fd, en->base, 0);
	}
	if (r < 0 && errno == ENOENT)
		return mctr_fail(err, 0, "entry %s: hardlink target %s is not in this layer", en->shown, shown);
	if (r < 0)
		return mctr_fail_errno(err, "entry %s: hardlink to %s", en->shown, shown);
	return 0;
}

static int apply_whiteout(struct layer_tree *t, struct entry *en, const char *name, struct mctr_err *err)
{
	int pfd = en->parent->fd;
	if (mknodat(pfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0) {
		struct stat st;
		if (errno != EEXIST || fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return mctr_fail_errno(err, "entry %s: create whiteout", en->shown);
		/* A real entry of this layer stays.  If it is a directory, the
		 * lower layers' one is still deleted: hide its content. */
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int dfd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (dfd < 0)
				return mctr_fail_errno(err, "entry %s: open", en->shown);
			return layer_tree_set_opaque(t, dfd, en->shown, err);
		}
		return 0;
	}
	size_t dirlen = tar_path_prefix_len(&t->path, t->path.ncomp - 1);
	_cleanup_free_ char *path = dirlen ? xasprintf("%.*s/%s", (int)dirlen, t->path.joined, name) : xstrdup(name);
	path_recs_get(&t->recs, path, strlen(path))->flags |= REC_WHITEOUT;
	en->base = name;
	if (needs_chown(t, en) && chown_entry(t, en, -1, err) < 0)
		return -1;
	return 0;
}

/* .wh.NAME, .wh..wh..opq and AUFS metadata.  1 if the name is no whiteout. */
static int apply_whiteout_name(struct layer_tree *t, struct entry *en, struct mctr_err *err)
{
	const char *base = en->base;
	if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) != 0)
		return 1;
	const struct tar_path *p = &t->path;
	if (strcmp(base, WHITEOUT_OPAQUE) == 0) {
		/* the marker may come before its directory's entry: make it now,
		 * the entry keeps the xattr */
		int r = layer_tree_walk(t, p, p->ncomp - 1, WALK_CREATE, &en->parent, en->shown, err);
		return r < 0 ? -1 : layer_tree_set_opaque(t, en->parent->fd, en->shown, err);
	}
	if (strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
		return 0; /* .wh..wh.plnk, .wh..wh.aufs: AUFS bookkeeping */
	const char *name = base + strlen(WHITEOUT_PREFIX);
	if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return mctr_fail(err, 0, "entry %s: invalid whiteout name", en->shown);
	int r = layer_tree_walk(t, p, p->ncomp - 1, WALK_WHITEOUT, &en->parent, en->shown, err);
	if (r != 0)
		return r < 0 ? -1 : 0; /* its directory is gone already */
	return apply_whiteout(t, en, name, err);
}

static int apply_by_type(struct layer_tree *t, struct archive *a, struct entry *en, struct mctr_err *err)
{
	const char *link = entry_hardlink(en->e);
	if (link != NULL)
		return apply_hardlink(t, en, link, err);
	mode_t type = archive_entry_filetype(en->e);
	switch (type) {
	case AE_IFREG:
		return apply_regular(t, a, en, err);
	case AE_IFDIR:
		return apply_dir(t, en, err);
	case AE_IFLNK:
		return apply_symlink(t, en, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return apply_node(t, en, type, err);
	case AE_IFSOCK:
		return 0; /* a socket is only meaningful to the process that bound it */
	default:
		return mctr_fail(err, 0, "entry %s: unsupported file type 0%o", en->shown, (unsigned)type);
	}
}

int layer_tree_apply(struct layer_tree *t, struct archive *a, struct archive_entry *e, struct mctr_err *err)
{
	struct entry en = { .e = e };
	const char *raw = entry_pathname(e);
	if (raw == NULL)
		return mctr_fail(err, 0, "entry with an unreadable name");
	shown_name(raw, en.shown);
	const char *why = NULL;
	struct tar_path *p = &t->path;
	if (tar_path_parse(p, raw, &why) < 0)
		return mctr_fail(err, 0, "entry %s: %s", en.shown, why);
	if (entry_attrs(&en, err) < 0)
		return -1;
	if (p->ncomp == 0) {
		if (raw[0] == '\0' || archive_entry_filetype(e) != AE_IFDIR || entry_hardlink(e) != NULL)
			return mctr_fail(err, 0, "entry %s: empty name", en.shown);
		return apply_root(t, &en, err);
	}
	for (size_t i = 0; i + 1 < p->ncomp; i++) {
		const char *c = tar_path_comp(p, i);
		if (strncmp(c, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
			return 0; /* inside AUFS bookkeeping (.wh..wh.plnk/...) */
		if (strncmp(c, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
			return mctr_fail(err, 0, "entry %s: whiteout name used as a directory", en.shown);
	}
	en.base = tar_path_comp(p, p->ncomp - 1);
	int r = apply_whiteout_name(t, &en, err);
	if (r <= 0)
		return r;
	if (layer_tree_walk(t, p, p->ncomp - 1, WALK_CREATE, &en.parent, en.shown, err) < 0)
		return -1;
	return apply_by_type(t, a, &en, err);
}
