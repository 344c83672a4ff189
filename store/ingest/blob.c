/* Blob ingest: hash while streaming, verify, fsync, link into place. */
#include "mctr/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/sha256.h"

struct blob_writer {
	struct store *st;
	char *what;
	char expected[DIGEST_LEN + 1]; /* "" when unknown */
	int64_t expected_size;
	int64_t size;
	int fd;          /* O_TMPFILE, or -1 when the blob already exists */
	char tmpname[64]; /* named temp file where O_TMPFILE is unsupported */
	bool exists;     /* the expected blob is in the store already */
	bool verified;
	bool synced;     /* read-only and on disk already (blob_writer_sync) */
	bool committed;
	struct sha256 *hash;
	char digest[DIGEST_LEN + 1];

	/* Resumable mode (blob_writer_resume): a named ingest/<hex>.partial
	 * under the lock locks/blob-<hex>, kept for the next try unless its
	 * content proved wrong. */
	char partial[DIGEST_HEX_LEN + 16];
	int lock_fd;
	int64_t replay_len; /* bytes in the file not hashed yet (replay pending) */
	bool bad;           /* failed verification: the partial goes */
};

static int open_tmpfile(struct store *st, char tmpname[64], struct mctr_err *err)
{
	tmpname[0] = '\0';
	int fd = openat(st->ingest_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return mctr_fail_errno(err, "create temp file in %s/ingest", st->root);
	/* No O_TMPFILE on this file system: a named temp file that GC removes
	 * if we are killed. */
	store_layer_tmpname(tmpname);
	fd = openat(st->ingest_fd, tmpname, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return mctr_fail_errno(err, "create temp file in %s/ingest", st->root);
	return fd;
}

int blob_writer_new(struct store *st, const char *expected_digest, int64_t expected_size, const char *what,
                    struct blob_writer **out, struct mctr_err *err)
{
	if (expected_digest != NULL && digest_check(expected_digest, what, NULL, err) < 0)
		return -1;
	struct blob_writer *w = xcalloc(1, sizeof *w);
	w->st = st;
	w->what = xstrdup(what);
	w->expected_size = expected_size;
	w->hash = sha256_new();
	w->fd = -1;
	w->lock_fd = -1;
	if (expected_digest != NULL) {
		snprintf(w->expected, sizeof w->expected, "%s", expected_digest);
		w->exists = store_blob_exists(st, expected_digest);
	}
	if (!w->exists) {
		w->fd = open_tmpfile(st, w->tmpname, err);
		if (w->fd < 0) {
			blob_writer_free(w);
			return -1;
		}
	}
	*out = w;
	return 0;
}

int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct mctr_err *err)
{
	if (w->replay_len > 0)
		return mctr_fail(err, EINVAL, "%s: write before the partial download was replayed", w->what);
	if (w->expected_size >= 0 && w->size + (int64_t)len > w->expected_size)
		return mctr_fail(err, 0, "%s: more data than the %lld bytes its descriptor gives", w->what,
		                 (long long)w->expected_size);
	sha256_update(w->hash, buf, len);
	if (w->fd >= 0 && fd_write_all(w->fd, buf, len, err) < 0)
		return mctr_err_wrap(err, "%s: store blob", w->what);
	w->size += (int64_t)len;
	return 0;
}

int blob_writer_verify(struct blob_writer *w, char digest_out[DIGEST_LEN + 1], struct mctr_err *err)
{
	if (!w->verified) {
		sha256_final(w->hash, w->digest);
		if (w->expected_size >= 0 && w->size != w->expected_size) {
			w->bad = true;
			return mctr_fail(err, 0, "%s: size %lld does not match the %lld bytes its descriptor gives",
			                 w->what, (long long)w->size, (long long)w->expected_size);
		}
		if (w->expected[0] != '\0' && strcmp(w->expected, w->digest) != 0) {
			w->bad = true;
			return mctr_fail(err, 0, "%s: content does not match digest %s (got %s)", w->what, w->expected,
			                 w->digest);
		}
		if (w->expected[0] == '\0' && w->fd >= 0 && store_blob_exists(w->st, w->digest))
			w->exists = true; /* learned the digest only now: the store has it already */
		w->verified = true;
	}
	if (digest_out != NULL)
		memcpy(digest_out, w->digest, DIGEST_LEN + 1);
	return 0;
}

/* Give the (durable) content its name; dir_sync: make the name durable too. */
static int link_into_place(struct blob_writer *w, bool dir_sync, bool *created, struct mctr_err *err)
{
	if (created != NULL)
		*created = false;
	if (w->committed || w->exists || w->fd < 0) {
		w->committed = true;
		return 0;
	}
	char path[64];
	fd_path(w->fd, path);
	const char *named = w->partial[0] ? w->partial : w->tmpname;
	int rc = named[0] ? linkat(w->st->ingest_fd, named, w->st->blobs_fd, digest_hex(w->digest), 0)
	                  : linkat(AT_FDCWD, path, w->st->blobs_fd, digest_hex(w->digest), AT_SYMLINK_FOLLOW);
	if (rc < 0) {
		if (errno != EEXIST)
			return mctr_fail_errno(err, "%s: link blob %s into the store", w->what, w->digest);
	} else {
		if (dir_sync && fsync_dir(w->st->blobs_fd, err) < 0)
			return -1;
		if (created != NULL)
			*created = true;
	}
	/* The blob has its name: the partial download is done with. */
	if (w->partial[0] != '\0' && unlinkat(w->st->ingest_fd, w->partial, 0) == 0)
		w->partial[0] = '\0';
	w->committed = true;
	return 0;
}

int blob_writer_commit(struct blob_writer *w, bool *created, struct mctr_err *err)
{
	if (blob_writer_sync(w, err) < 0)
		return -1;
	return link_into_place(w, true, created, err);
}

int blob_writer_seal(struct blob_writer *w, struct mctr_err *err)
{
	if (blob_writer_verify(w, NULL, err) < 0)
		return -1;
	if (w->synced || w->exists || w->fd < 0)
		return 0;
	if (fchmod(w->fd, 0444) < 0)
		return mctr_fail_errno(err, "%s: make blob read-only", w->what);
	return 0;
}

int blob_writer_link(struct blob_writer *w, bool *created, struct mctr_err *err)
{
	w->synced = true; /* the caller's syncfs */
	return link_into_place(w, false, created, err);
}

int blob_writer_sync(struct blob_writer *w, struct mctr_err *err)
{
	if (blob_writer_verify(w, NULL, err) < 0)
		return -1;
	if (w->synced || w->exists || w->fd < 0)
		return 0;
	if (fchmod(w->fd, 0444) < 0 || fsync(w->fd) < 0)
		return mctr_fail_errno(err, "%s: flush blob", w->what);
	w->synced = true;
	return 0;
}

int64_t blob_writer_size(const struct blob_writer *w)
{
	return w->size;
}

const char *blob_writer_digest(const struct blob_writer *w)
{
	return w->verified ? w->digest : NULL;
}

int blob_writer_reopen(struct blob_writer *w, struct mctr_err *err)
{
	if (w->fd < 0) {
		const char *d = w->verified ? w->digest : w->expected;
		return store_blob_open(w->st, d, err);
	}
	char path[64];
	fd_path(w->fd, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mctr_fail_errno(err, "%s: reopen staged blob", w->what);
	return fd;
}

void blob_writer_free(struct blob_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmpname[0] != '\0')
		unlinkat(w->st->ingest_fd, w->tmpname, 0);
	/* Still under the lock: a partial that proved wrong must not be resumed. */
	if (w->partial[0] != '\0' && w->bad)
		unlinkat(w->st->ingest_fd, w->partial, 0);
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	sha256_free(w->hash);
	free(w->what);
	free(w);
}

/* ---- resumable downloads -------------------------------------------------------- */

int blob_writer_resume(struct store *st, const char *digest, int64_t size, const char *what, bool wait,
                       struct blob_writer **out, struct mctr_err *err)
{
	const char *hex;
	if (digest_check(digest, what, &hex, err) < 0)
		return -1;
	if (size < 0)
		return mctr_fail(err, EINVAL, "%s: a resumable download needs the blob's size", what);
	int lock_fd = -1;
	int rc = store_lock_digest(st, digest, wait, &lock_fd, err);
	if (rc != 0)
		return rc < 0 ? mctr_err_wrap(err, "%s", what) : rc;
	struct blob_writer *w = xcalloc(1, sizeof *w);
	w->st = st;
	w->what = xstrdup(what);
	w->expected_size = size;
	w->hash = sha256_new();
	w->fd = -1;
	w->lock_fd = lock_fd;
	snprintf(w->expected, sizeof w->expected, "%s", digest);
	/* Checked under the lock: whoever held it may have finished the blob. */
	w->exists = store_blob_exists(st, digest);
	if (w->exists) {
		/* a writer killed between linking the blob and removing its partial */
		char stale[DIGEST_HEX_LEN + 16];
		snprintf(stale, sizeof stale, "%s.partial", hex);
		unlinkat(st->ingest_fd, stale, 0);
	} else {
		snprintf(w->partial, sizeof w->partial, "%s.partial", hex);
		w->fd = openat(st->ingest_fd, w->partial, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->fd < 0 && errno == EACCES && fchmodat(st->ingest_fd, w->partial, 0600, 0) == 0)
			/* made read-only by blob_writer_sync, then the writer was killed */
			w->fd = openat(st->ingest_fd, w->partial, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		struct stat sb;
		if (w->fd < 0 || fstat(w->fd, &sb) < 0) {
			mctr_fail_errno(err, "%s: open %s/ingest/%s", what, st->root, w->partial);
			w->partial[0] = '\0';
			blob_writer_free(w);
			return -1;
		}
		w->replay_len = sb.st_size;
		if (!S_ISREG(sb.st_mode) || sb.st_size > size) {
			/* not ours to resume */
			if (ftruncate(w->fd, 0) < 0) {
				mctr_fail_errno(err, "%s: truncate %s", what, w->partial);
				blob_writer_free(w);
				return -1;
			}
			w->replay_len = 0;
		}
		if (lseek(w->fd, 0, SEEK_END) < 0) {
			mctr_fail_errno(err, "%s: seek %s", what, w->partial);
			blob_writer_free(w);
			return -1;
		}
	}
	*out = w;
	return 0;
}

bool blob_writer_in_store(const struct blob_writer *w)
{
	return w->exists;
}

int64_t blob_writer_partial_size(const struct blob_writer *w)
{
	return w->replay_len > 0 ? w->replay_len : w->size;
}

int blob_writer_replay(struct blob_writer *w, blob_replay_fn fn, void *arg, struct mctr_err *err)
{
	if (w->replay_len == 0)
		return 0;
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	int64_t off = 0;
	while (off < w->replay_len) {
		size_t want = w->replay_len - off < CHUNK ? (size_t)(w->replay_len - off) : CHUNK;
		ssize_t n = pread(w->fd, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return mctr_fail(err, n < 0 ? errno : EIO, "%s: read %s", w->what, w->partial);
		sha256_update(w->hash, buf, (size_t)n);
		if (fn != NULL && fn(arg, buf, (size_t)n, err) < 0)
			return -1;
		off += n;
		w->size = off;
	}
	w->replay_len = 0;
	return 0;
}

int blob_writer_restart(struct blob_writer *w, struct mctr_err *err)
{
	if (w->fd < 0)
		return 0;
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return mctr_fail_errno(err, "%s: truncate %s", w->what, w->partial);
	sha256_free(w->hash);
	w->hash = sha256_new();
	w->size = 0;
	w->replay_len = 0;
	w->verified = w->bad = w->synced = false;
	return 0;
}

int store_put_blob(struct store *st, const void *buf, size_t len, const char *expected_digest,
                   char digest_out[DIGEST_LEN + 1], bool *created, struct mctr_err *err)
{
	_cleanup_blob_writer_ struct blob_writer *w = NULL;
	if (blob_writer_new(st, expected_digest, expected_digest ? (int64_t)len : -1, "blob", &w, err) < 0 ||
	    blob_writer_write(w, buf, len, err) < 0 || blob_writer_verify(w, digest_out, err) < 0 ||
	    blob_writer_commit(w, created, err) < 0)
		return -1;
	return 0;
}

int store_blob_remove(struct store *st, const char *digest, struct mctr_err *err)
{
	const char *hex;
	if (digest_check(digest, "blob", &hex, err) < 0)
		return -1;
	if (unlinkat(st->blobs_fd, hex, 0) < 0 && errno != ENOENT)
		return mctr_fail_errno(err, "remove blob %s", digest);
	return 0;
}
