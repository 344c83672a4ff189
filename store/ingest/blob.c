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
	bool committed;
	struct sha256 *hash;
	char digest[DIGEST_LEN + 1];
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
		if (w->expected_size >= 0 && w->size != w->expected_size)
			return mctr_fail(err, 0, "%s: size %lld does not match the %lld bytes its descriptor gives",
			                 w->what, (long long)w->size, (long long)w->expected_size);
		if (w->expected[0] != '\0' && strcmp(w->expected, w->digest) != 0)
			return mctr_fail(err, 0, "%s: content does not match digest %s (got %s)", w->what, w->expected,
			                 w->digest);
		if (w->expected[0] == '\0' && w->fd >= 0 && store_blob_exists(w->st, w->digest))
			w->exists = true; /* learned the digest only now: the store has it already */
		w->verified = true;
	}
	if (digest_out != NULL)
		memcpy(digest_out, w->digest, DIGEST_LEN + 1);
	return 0;
}

int blob_writer_commit(struct blob_writer *w, bool *created, struct mctr_err *err)
{
	if (created != NULL)
		*created = false;
	if (blob_writer_verify(w, NULL, err) < 0)
		return -1;
	if (w->committed || w->exists || w->fd < 0) {
		w->committed = true;
		return 0;
	}
	if (fchmod(w->fd, 0444) < 0 || fsync(w->fd) < 0)
		return mctr_fail_errno(err, "%s: flush blob", w->what);
	char path[64];
	fd_path(w->fd, path);
	int rc = w->tmpname[0] ? linkat(w->st->ingest_fd, w->tmpname, w->st->blobs_fd, digest_hex(w->digest), 0)
	                       : linkat(AT_FDCWD, path, w->st->blobs_fd, digest_hex(w->digest), AT_SYMLINK_FOLLOW);
	if (rc < 0) {
		if (errno != EEXIST)
			return mctr_fail_errno(err, "%s: link blob %s into the store", w->what, w->digest);
	} else {
		if (fsync_dir(w->st->blobs_fd, err) < 0)
			return -1;
		if (created != NULL)
			*created = true;
	}
	w->committed = true;
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
	sha256_free(w->hash);
	free(w->what);
	free(w);
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
