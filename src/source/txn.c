/* The import transaction: staged blobs and layers of one load/import/pull,
 * committed together or not at all. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"
#include "mctr/sha256.h"
#include "mctr/source.h"

struct import_txn {
	struct store *st;
	struct staged_blob **blobs;
	size_t n_blobs;
	struct imported_image *images;
	size_t n_images;
	bool committed;
};

int import_txn_new(struct store *st, struct import_txn **out, struct mctr_err *err)
{
	/* Held until the transaction is freed: GC cannot collect what we stage. */
	if (store_lock(st, false, err) < 0)
		return -1;
	struct import_txn *txn = xcalloc(1, sizeof *txn);
	txn->st = st;
	*out = txn;
	return 0;
}

struct store *import_txn_store(struct import_txn *txn)
{
	return txn->st;
}

void staged_blob_free(struct staged_blob *b, struct store *st)
{
	if (b == NULL)
		return;
	if (b->layer_tmp[0] != '\0' && st != NULL) {
		struct mctr_err err = { 0 };
		if (rm_rf_at(st->layers_fd, b->layer_tmp, &err) < 0)
			mctr_warn("remove temp layer: %s", err.msg);
	}
	blob_writer_free(b->writer);
	free(b->path);
	free(b->data);
	free(b->not_layer_reason);
	free(b);
}

void import_txn_adopt(struct import_txn *txn, struct staged_blob *b)
{
	txn->blobs = xrealloc(txn->blobs, (txn->n_blobs + 1) * sizeof *txn->blobs);
	txn->blobs[txn->n_blobs++] = b;
}

struct staged_blob *import_txn_stage_bytes(struct import_txn *txn, const char *path, const void *buf, size_t len)
{
	struct staged_blob *b = xcalloc(1, sizeof *b);
	b->path = xstrdup(path);
	b->data = xmalloc(len + 1);
	memcpy(b->data, buf, len);
	b->data[len] = '\0';
	b->len = len;
	b->size = (int64_t)len;
	sha256_digest_buf(buf, len, b->digest);
	import_txn_adopt(txn, b);
	return b;
}

static int unpack_from_fd(struct import_txn *txn, struct staged_blob *b, int fd, const char *what,
                          struct mctr_err *err)
{
	struct layer_unpack_opts o = { .parent_dirfd = txn->st->layers_fd, .dirname = b->layer_tmp, .what = what };
	struct layer_stats stats;
	store_layer_tmpname(b->layer_tmp);
	if (layer_unpack_fd(&o, fd, b->diff_id, &stats, err) < 0) {
		b->layer_tmp[0] = '\0'; /* layer_unpack_fd removed it */
		return -1;
	}
	b->compression = stats.compression;
	return 0;
}

int import_txn_unpack(struct import_txn *txn, struct staged_blob *b, const char *expected_diff_id,
                      const char *what, struct mctr_err *err)
{
	if (b->is_layer)
		return 0;
	if (b->not_layer_reason != NULL) /* already names the blob */
		return mctr_fail(err, 0, "%s", b->not_layer_reason);
	if (expected_diff_id != NULL && store_layer_exists(txn->st, expected_diff_id) &&
	    store_layer_pair_known(txn->st, b->digest, expected_diff_id)) {
		/* Unpacked before, by an earlier import: keep that one. */
		snprintf(b->diff_id, sizeof b->diff_id, "%s", expected_diff_id);
		b->is_layer = true;
		return 0;
	}
	_cleanup_close_ int fd = -1;
	if (b->data != NULL) {
		/* A small layer kept in memory: unpack it from a pipe-free memfd. */
		fd = memfd_create("mctr-layer", MFD_CLOEXEC);
		if (fd < 0 || fd_write_all(fd, b->data, b->len, err) < 0 || lseek(fd, 0, SEEK_SET) < 0)
			return mctr_fail_errno(err, "%s: memfd", what);
	} else {
		fd = blob_writer_reopen(b->writer, err);
		if (fd < 0)
			return -1;
	}
	if (unpack_from_fd(txn, b, fd, what, err) < 0)
		return -1;
	b->is_layer = true;
	return 0;
}

#define READ_CHUNK (1u << 20)

static int stream_fd(int fd, struct staged_blob *b, struct layer_unpack *u, struct mctr_err *err)
{
	_cleanup_free_ char *buf = xmalloc(READ_CHUNK);
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mctr_fail_errno(err, "read %s", b->path);
		}
		if (n == 0)
			return 0;
		if (blob_writer_write(b->writer, buf, (size_t)n, err) < 0)
			return -1;
		if (u != NULL && layer_unpack_feed(u, buf, (size_t)n, err) < 0)
			return -1;
	}
}

int import_txn_stage_fd(struct import_txn *txn, int fd, struct staged_blob *b, const char *expected_digest,
                        bool unpack, struct mctr_err *err)
{
	struct store *st = txn->st;
	if (blob_writer_new(st, expected_digest, b->size, b->path, &b->writer, err) < 0)
		return -1;
	struct layer_unpack *u = NULL;
	if (unpack) {
		store_layer_tmpname(b->layer_tmp);
		struct layer_unpack_opts o = { .parent_dirfd = st->layers_fd, .dirname = b->layer_tmp, .what = b->path };
		if (layer_unpack_start(&o, &u, err) < 0) {
			b->layer_tmp[0] = '\0';
			return -1;
		}
	}
	int rc = stream_fd(fd, b, u, err);
	if (rc == 0)
		rc = blob_writer_verify(b->writer, b->digest, err);
	if (rc == 0 && u != NULL) {
		struct layer_stats stats;
		rc = layer_unpack_finish(u, b->diff_id, &stats, err);
		b->compression = stats.compression;
		b->is_layer = rc == 0;
	}
	if (u != NULL) {
		layer_unpack_free(u, rc < 0);
		if (rc < 0)
			b->layer_tmp[0] = '\0';
	}
	return rc;
}

int import_txn_add_image(struct import_txn *txn, struct staged_blob *manifest, const char *manifest_media_type,
                         struct staged_blob *config, struct staged_blob **layers, size_t n_layers, char **names,
                         struct mctr_err *err)
{
	manifest->used = config->used = true;
	for (size_t i = 0; i < n_layers; i++) {
		if (!layers[i]->is_layer)
			return mctr_fail(err, 0, "%s: not unpacked as a layer", layers[i]->path);
		layers[i]->used = true;
	}
	txn->images = xrealloc(txn->images, (txn->n_images + 1) * sizeof *txn->images);
	struct imported_image *img = &txn->images[txn->n_images++];
	memset(img, 0, sizeof *img);
	memcpy(img->manifest_digest, manifest->digest, sizeof img->manifest_digest);
	memcpy(img->id, config->digest, sizeof img->id);
	img->desc = json_pack("{s:s, s:s, s:I}", "mediaType", manifest_media_type, "digest", manifest->digest,
	                      "size", (json_int_t)manifest->size);
	size_t n = 0;
	while (names != NULL && names[n] != NULL)
		n++;
	img->names = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		img->names[i] = xstrdup(names[i]);
	return 0;
}

/* What this commit made visible, so the directories that changed are
 * fsynced.  Nothing is ever taken back: once linked, a verified blob or layer
 * may already serve a concurrent load that found it present.  After a later
 * failure it stays without a name until the next GC. */
struct linked {
	bool blobs;
	bool layers;
};

/* Phase 1 of the commit: every blob to add is in a sealed (read-only,
 * verified) temp file; in-memory ones (manifests, configs) are written out. */
static int seal_blob(struct import_txn *txn, struct staged_blob *b, struct mctr_err *err)
{
	if (b->writer == NULL && b->data != NULL) {
		if (blob_writer_new(txn->st, b->digest, (int64_t)b->len, b->path, &b->writer, err) < 0 ||
		    blob_writer_write(b->writer, b->data, b->len, err) < 0)
			return -1;
	}
	return b->writer != NULL ? blob_writer_seal(b->writer, err) : 0;
}

/* Phase 3: names for what the one syncfs made durable. */
static int link_blob(struct import_txn *txn, struct staged_blob *b, struct linked *l, struct mctr_err *err)
{
	bool created = false;
	if (b->writer != NULL && blob_writer_link(b->writer, &created, err) < 0)
		return -1;
	l->blobs |= created;
	if (b->is_layer && b->layer_tmp[0] != '\0') {
		if (store_layer_rename(txn->st, b->layer_tmp, b->diff_id, &created, err) < 0)
			return -1;
		b->layer_tmp[0] = '\0';
		l->layers |= created;
	}
	b->committed = true;
	return 0;
}

static bool needs_commit(const struct staged_blob *b)
{
	/* An archive may hold files no image refers to: not stored. */
	return b->used && !b->committed;
}

/* Blobs, then layers, made visible with one file-system flush: seal all,
 * syncfs, link/rename all, fsync the two directories. */
static int commit_blobs(struct import_txn *txn, struct mctr_err *err)
{
	for (size_t i = 0; i < txn->n_blobs; i++)
		if (needs_commit(txn->blobs[i]) && seal_blob(txn, txn->blobs[i], err) < 0)
			return mctr_err_wrap(err, "%s", txn->blobs[i]->path);
	if (store_sync(txn->st, err) < 0)
		return -1;
	struct linked l = { 0 };
	for (size_t i = 0; i < txn->n_blobs; i++)
		if (needs_commit(txn->blobs[i]) && link_blob(txn, txn->blobs[i], &l, err) < 0)
			return -1;
	if ((l.blobs && fsync_dir(txn->st->blobs_fd, err) < 0) || (l.layers && fsync_dir(txn->st->layers_fd, err) < 0))
		return -1;
	return 0;
}

int import_txn_commit(struct import_txn *txn, struct mctr_err *err)
{
	if (commit_blobs(txn, err) < 0)
		return -1;
	/* Names written so far point at complete images: a failure keeps them. */
	for (size_t i = 0; i < txn->n_images; i++) {
		struct imported_image *img = &txn->images[i];
		int rc = img->names[0] == NULL ? store_add_unnamed(txn->st, img->desc, err) : 0;
		for (char **p = img->names; rc == 0 && *p != NULL; p++)
			rc = store_name_image(txn->st, *p, img->desc, err);
		if (rc < 0)
			return -1;
	}
	txn->committed = true;
	return 0;
}

const struct imported_image *import_txn_images(struct import_txn *txn, size_t *n)
{
	*n = txn->n_images;
	return txn->images;
}

void import_txn_free(struct import_txn *txn)
{
	if (txn == NULL)
		return;
	for (size_t i = 0; i < txn->n_blobs; i++)
		staged_blob_free(txn->blobs[i], txn->st);
	free(txn->blobs);
	for (size_t i = 0; i < txn->n_images; i++) {
		json_decref(txn->images[i].desc);
		mctr_strv_free(txn->images[i].names);
	}
	free(txn->images);
	store_unlock(txn->st);
	free(txn);
}
