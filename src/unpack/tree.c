/* The layer directory being written: walking to an entry's parent without
 * ever following a symlink, removing what a duplicate entry replaces, and the
 * directory times set once all children exist.
 *
 * The walk keeps the fds of every directory from the layer root down to the
 * last parent used.  Tar entries come depth-first, so an entry's parent is
 * almost always that directory or one a single openat() away; there are no
 * path re-walks.  Each openat() resolves one component with O_NOFOLLOW and no
 * name can be "..", so nothing outside the layer is ever reached; this is
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS done one step at a time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"

static mode_t read_umask(void)
{
	/* umask(2) cannot be read without writing it, which would race with
	 * other threads; /proc says it since Linux 4.7.  Unknown: assume every
	 * bit is masked, so every mode gets an explicit chmod. */
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned int m;
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "Umask: %o", &m) == 1)
			return (mode_t)m;
	}
	return 07777;
}

static void set_level(struct dir_level *lv, const char *name, int fd, const struct stat *st)
{
	lv->name = name ? xstrdup(name) : NULL;
	lv->fd = fd;
	lv->gid = st->st_gid;
	lv->setgid = (st->st_mode & S_ISGID) != 0;
}

int layer_tree_init(struct layer_tree *t, int rootfd, bool rootless, const char *what, struct mctr_err *err)
{
	memset(t, 0, sizeof *t);
	t->rootfd = rootfd;
	t->rootless = rootless;
	t->what = what;
	t->euid = geteuid();
	t->egid = getegid();
	t->umask = read_umask();
	t->can_chown = true;
	t->opaque_xattr = rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
	struct stat st;
	if (fstat(rootfd, &st) < 0)
		return mctr_fail_errno(err, "stat layer directory");
	t->stack_cap = 32;
	t->stack = xcalloc(t->stack_cap, sizeof *t->stack);
	set_level(&t->stack[0], NULL, rootfd, &st);
	t->depth = 1;
	return 0;
}

static void truncate_stack(struct layer_tree *t, size_t depth)
{
	while (t->depth > depth) {
		struct dir_level *lv = &t->stack[--t->depth];
		close(lv->fd);
		free(lv->name);
	}
}

void layer_tree_free(struct layer_tree *t)
{
	if (t->stack == NULL)
		return;
	truncate_stack(t, 1);
	free(t->stack);
	t->stack = NULL;
	path_recs_free(&t->recs);
	tar_path_free(&t->path);
	tar_path_free(&t->target);
}

bool layer_tree_is_whiteout(struct layer_tree *t, const struct stat *st, const char *path, size_t len)
{
	if (!S_ISCHR(st->st_mode) || st->st_rdev != makedev(0, 0))
		return false;
	struct path_rec *rec = path_recs_find(&t->recs, path, len);
	return rec != NULL && (rec->flags & REC_WHITEOUT);
}

int layer_tree_remove(struct layer_tree *t, int parentfd, const char *name, const struct stat *st, const char *path,
                      size_t len, struct mctr_err *err)
{
	if (S_ISDIR(st->st_mode)) {
		if (rm_rf_at(parentfd, name, err) < 0)
			return -1;
	} else if (unlinkat(parentfd, name, 0) < 0) {
		return mctr_fail_errno(err, "remove");
	}
	path_recs_forget_tree(&t->recs, path, len);
	return 0;
}

int layer_tree_set_opaque(struct layer_tree *t, int dirfd, const char *shown, struct mctr_err *err)
{
	char proc[64];
	fd_path(dirfd, proc); /* works for O_PATH fds too */
	if (setxattr(proc, t->opaque_xattr, "y", 1, 0) < 0)
		return mctr_fail_errno(err, "entry %s: set %s", shown, t->opaque_xattr);
	return 0;
}

/* A component on the way is not a directory we can enter: tell why, or turn
 * a whiteout of this layer into an opaque directory (a later entry of the
 * same layer lives below it; lower layers' content stays hidden). */
static int open_blocked(struct layer_tree *t, const struct tar_path *p, size_t i, enum walk_mode mode, int *fd_out,
                        const char *shown, struct mctr_err *err)
{
	int parent = t->stack[t->depth - 1].fd;
	const char *name = tar_path_comp(p, i);
	int plen = (int)tar_path_prefix_len(p, i + 1);
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return mctr_fail_errno(err, "entry %s: stat %.*s", shown, plen, p->joined);
	if (S_ISLNK(st.st_mode))
		return mctr_fail(err, 0, "entry %s: %.*s is a symlink; refusing to write through it", shown, plen,
		                 p->joined);
	if (mode != WALK_CREATE)
		return 1;
	if (!layer_tree_is_whiteout(t, &st, p->joined, (size_t)plen))
		return mctr_fail(err, ENOTDIR, "entry %s: %.*s", shown, plen, p->joined);
	if (layer_tree_remove(t, parent, name, &st, p->joined, (size_t)plen, err) < 0)
		return mctr_err_wrap(err, "entry %s: replace whiteout %.*s", shown, plen, p->joined);
	if (mkdirat(parent, name, 0755) < 0 || ((t->umask & 0755) && fchmodat(parent, name, 0755, 0) < 0))
		return mctr_fail_errno(err, "entry %s: replace whiteout %.*s", shown, plen, p->joined);
	int fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mctr_fail_errno(err, "entry %s: open %.*s", shown, plen, p->joined);
	if (layer_tree_set_opaque(t, fd, shown, err) < 0) {
		close(fd);
		return -1;
	}
	*fd_out = fd;
	return 0;
}

/* Open (making it if allowed) component i below the top of the stack.
 * 0 with *fd_out, 1 to skip, -1 on error. */
static int open_component(struct layer_tree *t, const struct tar_path *p, size_t i, enum walk_mode mode,
                          int *fd_out, const char *shown, struct mctr_err *err)
{
	int parent = t->stack[t->depth - 1].fd;
	const char *name = tar_path_comp(p, i);
	int plen = (int)tar_path_prefix_len(p, i + 1);
	int fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
		return open_blocked(t, p, i, mode, fd_out, shown, err);
	if (fd < 0 && errno == ENOENT) {
		if (mode == WALK_EXISTING)
			return 1;
		/* a parent the tar does not list: 0755, owned by us */
		if (mkdirat(parent, name, 0755) < 0 || ((t->umask & 0755) && fchmodat(parent, name, 0755, 0) < 0))
			return mctr_fail_errno(err, "entry %s: create parent %.*s", shown, plen, p->joined);
		fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return mctr_fail_errno(err, "entry %s: open %.*s", shown, plen, p->joined);
	*fd_out = fd;
	return 0;
}

static int push_level(struct layer_tree *t, const char *name, int fd, struct mctr_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return mctr_fail(err, e, "stat directory %s", name);
	}
	if (t->depth == t->stack_cap) {
		t->stack_cap *= 2;
		t->stack = xrealloc(t->stack, t->stack_cap * sizeof *t->stack);
	}
	set_level(&t->stack[t->depth++], name, fd, &st);
	return 0;
}

int layer_tree_walk(struct layer_tree *t, const struct tar_path *p, size_t n, enum walk_mode mode,
                    const struct dir_level **level, const char *shown, struct mctr_err *err)
{
	if (n >= LAYER_MAX_DEPTH)
		return mctr_fail(err, 0, "entry %s: nested deeper than %d directories", shown, LAYER_MAX_DEPTH);
	size_t same = 0;
	while (same < n && same + 1 < t->depth && strcmp(t->stack[same + 1].name, tar_path_comp(p, same)) == 0)
		same++;
	truncate_stack(t, same + 1);
	for (size_t i = same; i < n; i++) {
		int fd = -1;
		int r = open_component(t, p, i, mode, &fd, shown, err);
		if (r != 0)
			return r;
		if (push_level(t, tar_path_comp(p, i), fd, err) < 0)
			return -1;
	}
	*level = &t->stack[t->depth - 1];
	return 0;
}

/* ---- after the last entry -------------------------------------------------- */

static int finish_one(struct layer_tree *t, const struct path_rec *rec, unsigned what, struct mctr_err *err)
{
	char shown[SHOWN_NAME_MAX];
	const char *why = NULL;
	if (tar_path_parse(&t->path, rec->path, &why) < 0)
		return mctr_fail(err, 0, "directory %s: %s", shown_name(rec->path, shown), why);
	shown_name(rec->path, shown);
	if (t->path.ncomp == 0) {
		if (what == REC_DIR_TIMES && futimens(t->rootfd, rec->times) < 0)
			return mctr_fail_errno(err, "set times of the layer directory");
		if (what == REC_DIR_MODE && fchmod(t->rootfd, rec->mode) < 0)
			return mctr_fail_errno(err, "set mode of the layer directory");
		return 0;
	}
	const struct dir_level *parent;
	int r = layer_tree_walk(t, &t->path, t->path.ncomp - 1, WALK_EXISTING, &parent, shown, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	const char *base = tar_path_comp(&t->path, t->path.ncomp - 1);
	if (what == REC_DIR_TIMES && utimensat(parent->fd, base, rec->times, AT_SYMLINK_NOFOLLOW) < 0)
		return mctr_fail_errno(err, "directory %s: set times", shown);
	/* the record is cleared if the directory was replaced, so base is still
	 * the directory we made, not a symlink */
	if (what == REC_DIR_MODE && fchmodat(parent->fd, base, rec->mode, 0) < 0)
		return mctr_fail_errno(err, "directory %s: set mode", shown);
	return 0;
}

int layer_tree_finish(struct layer_tree *t, struct mctr_err *err)
{
	struct path_recs *r = &t->recs;
	for (size_t i = 0; i < r->n; i++) {
		if ((r->v[i].flags & REC_DIR_TIMES) && finish_one(t, &r->v[i], REC_DIR_TIMES, err) < 0)
			return -1;
	}
	/* modes without u+rwx last, deepest (latest) first, so a walk never
	 * needs to enter a directory already closed to us */
	for (size_t i = r->n; i-- > 0;) {
		if ((r->v[i].flags & REC_DIR_MODE) && finish_one(t, &r->v[i], REC_DIR_MODE, err) < 0)
			return -1;
	}
	truncate_stack(t, 1);
	if (t->skipped_devices > 0)
		mctr_warn("layer %s: skipped %llu device node(s): cannot create them rootless", t->what,
		          (unsigned long long)t->skipped_devices);
	return 0;
}
