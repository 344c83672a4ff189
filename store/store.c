/* Opening the store, its locks, and read access to blobs and layers. */
#include "mctr/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"

static const char OCI_LAYOUT_CONTENT[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

static int store_init_layout(struct store *st, struct mctr_err *err)
{
	if (faccessat(st->oci_fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		if (file_write_atomic_at(st->oci_fd, "oci-layout", OCI_LAYOUT_CONTENT, sizeof OCI_LAYOUT_CONTENT - 1,
		                         0644, err) < 0)
			return -1;
	}
	return 0;
}

int store_open(const char *root, struct store **out, struct mctr_err *err)
{
	struct store *st = xcalloc(1, sizeof *st);
	st->root_fd = st->oci_fd = st->blobs_fd = st->layers_fd = st->ingest_fd = st->locks_fd = st->lock_fd = -1;
	st->root = xstrdup(root);

	/* The root is closed to other users: layers hold setuid binaries and
	 * device nodes an unprivileged host user must never reach. */
	if (mkdir(root, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		store_close(st);
		return mctr_fail(err, e, "create store root %s", root);
	}
	st->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->root_fd < 0) {
		int e = errno;
		store_close(st);
		return mctr_fail(err, e, "open store root %s", root);
	}
	struct stat sb;
	if (fstat(st->root_fd, &sb) == 0 && (sb.st_mode & 0077) != 0 && sb.st_uid == geteuid())
		fchmod(st->root_fd, sb.st_mode & 0700);

	if ((st->oci_fd = open_dir_at(st->root_fd, "oci", true, 0755, err)) < 0 ||
	    ((st->blobs_fd = openat(st->oci_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0 &&
	     (mkdir_p_at(st->oci_fd, "blobs/sha256", 0755, err) < 0 ||
	      (st->blobs_fd = open_dir_at(st->oci_fd, "blobs/sha256", false, 0755, err)) < 0)) ||
	    (st->layers_fd = open_dir_at(st->root_fd, "layers", true, 0700, err)) < 0 ||
	    (st->ingest_fd = open_dir_at(st->root_fd, "ingest", true, 0700, err)) < 0 ||
	    (st->locks_fd = open_dir_at(st->root_fd, "locks", true, 0700, err)) < 0 ||
	    store_init_layout(st, err) < 0) {
		store_close(st);
		return mctr_err_wrap(err, "store %s", root);
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	int *fds[] = { &st->root_fd, &st->oci_fd, &st->blobs_fd, &st->layers_fd,
		       &st->ingest_fd, &st->locks_fd, &st->lock_fd };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free(st->root);
	free(st);
}

/* 0: locked (*fd_out holds it); 1: held elsewhere (only with LOCK_NB);
 * -1: error. */
static int lock_fd_at(int dirfd, const char *name, int op, int *fd_out, struct mctr_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return mctr_fail_errno(err, "open lock %s", name);
	while (flock(fd, op) < 0) {
		if (errno == EWOULDBLOCK && (op & LOCK_NB))
			return 1;
		if (errno != EINTR)
			return mctr_fail_errno(err, "lock %s", name);
	}
	*fd_out = steal_fd(&fd);
	return 0;
}

int store_lock(struct store *st, bool exclusive, struct mctr_err *err)
{
	int mode = exclusive ? LOCK_EX : LOCK_SH;
	if (st->lock_mode == mode)
		return 0;
	store_unlock(st);
	if (lock_fd_at(st->locks_fd, "store.lock", mode, &st->lock_fd, err) < 0)
		return -1;
	st->lock_mode = mode;
	return 0;
}

void store_unlock(struct store *st)
{
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
	st->lock_mode = 0;
}

int store_lock_named(struct store *st, const char *name, struct mctr_err *err)
{
	int fd = -1;
	return lock_fd_at(st->locks_fd, name, LOCK_EX, &fd, err) < 0 ? -1 : fd;
}

int store_lock_digest(struct store *st, const char *digest, bool wait, int *fd_out, struct mctr_err *err)
{
	const char *hex;
	if (digest_check(digest, "lock", &hex, err) < 0)
		return -1;
	char name[DIGEST_HEX_LEN + 8];
	snprintf(name, sizeof name, "blob-%s", hex);
	return lock_fd_at(st->locks_fd, name, LOCK_EX | (wait ? 0 : LOCK_NB), fd_out, err);
}

bool store_blob_exists(struct store *st, const char *digest)
{
	if (!digest_is_valid(digest))
		return false;
	struct stat sb;
	return fstatat(st->blobs_fd, digest_hex(digest), &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
}

int store_blob_open(struct store *st, const char *digest, struct mctr_err *err)
{
	const char *hex;
	if (digest_check(digest, "blob", &hex, err) < 0)
		return -1;
	int fd = openat(st->blobs_fd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return mctr_fail(err, 0, "blob %s not in the store", digest);
		return mctr_fail_errno(err, "open blob %s", digest);
	}
	return fd;
}

json_t *store_blob_json(struct store *st, const char *digest, struct mctr_err *err)
{
	_cleanup_close_ int fd = store_blob_open(st, digest, err);
	if (fd < 0)
		return NULL;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (fd_read_all(fd, MCTR_JSON_MAX, &buf, &len, err) < 0) {
		mctr_err_wrap(err, "blob %s", digest);
		return NULL;
	}
	char what[DIGEST_LEN + 8];
	snprintf(what, sizeof what, "blob %s", digest);
	return json_parse_buf(buf, len, what, err);
}

bool store_layer_exists(struct store *st, const char *diff_id)
{
	if (!digest_is_valid(diff_id))
		return false;
	struct stat sb;
	return fstatat(st->layers_fd, digest_hex(diff_id), &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
}

char *store_layer_path(struct store *st, const char *diff_id)
{
	return xasprintf("%s/layers/%s", st->root, digest_hex(diff_id));
}

void store_layer_tmpname(char buf[64])
{
	unsigned long long r = 0;
	if (getrandom(&r, sizeof r, 0) != sizeof r)
		r = (unsigned long long)getpid() * 2654435761u;
	snprintf(buf, 64, ".tmp-%ld-%016llx", (long)getpid(), r);
}

int store_sync(struct store *st, struct mctr_err *err)
{
	if (syncfs(st->root_fd) < 0)
		return mctr_fail_errno(err, "flush the store's file system");
	return 0;
}

int store_layer_rename(struct store *st, const char *tmpname, const char *diff_id, bool *created,
                       struct mctr_err *err)
{
	const char *hex;
	*created = false;
	if (digest_check(diff_id, "layer diff_id", &hex, err) < 0)
		return -1;
	if (renameat(st->layers_fd, tmpname, st->layers_fd, hex) == 0) {
		*created = true;
		return 0;
	}
	if (errno != EEXIST && errno != ENOTEMPTY)
		return mctr_fail_errno(err, "rename layer %s into place", diff_id);
	/* Another writer committed the same layer first: same content. */
	return rm_rf_at(st->layers_fd, tmpname, err);
}

int store_layer_commit(struct store *st, const char *tmpname, const char *diff_id, struct mctr_err *err)
{
	bool created;
	/* One flush for the whole tree instead of an fsync per file. */
	if (store_sync(st, err) < 0 || store_layer_rename(st, tmpname, diff_id, &created, err) < 0)
		return -1;
	return created ? fsync_dir(st->layers_fd, err) : 0;
}
