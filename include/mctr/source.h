/* Image sources and the import transaction (image module).
 *
 * An image arrives from a source (docker-archive or OCI archive read in one
 * streaming pass, OCI layout directory, rootfs tarball, later a registry).
 * Every file the source gives is *staged*: hashed, written to an anonymous
 * temp file in the store and, for layers, unpacked into a temp layer
 * directory — nothing is visible yet.  An import transaction collects the
 * staged blobs of all images being imported and commits them together once
 * every digest, size and diff_id has checked out; on any failure nothing of
 * it stays in the store. */
#ifndef MCTR_SOURCE_H
#define MCTR_SOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "mctr/digest.h"
#include "mctr/err.h"
#include "mctr/ingest.h"
#include "mctr/store.h"
#include "mctr/unpack.h"

/* Files up to this size are kept in memory while staging. */
#define SOURCE_SMALL_MAX (64u * 1024)

struct staged_blob {
	char *path;                    /* where it was in the source */
	char digest[DIGEST_LEN + 1];
	int64_t size;
	char *data;                    /* small files and JSON: the bytes */
	size_t len;
	struct blob_writer *writer;    /* large files: the staged blob */
	bool is_layer;                 /* unpacked into layer_tmp (or already in the store) */
	char layer_tmp[64];            /* temp dir in layers/, "" if none */
	char diff_id[DIGEST_LEN + 1];
	enum mctr_compression compression;
	char *not_layer_reason;        /* why it could not be unpacked */
	bool used;                     /* an image of the transaction refers to it */
	bool committed;
};

struct import_txn;

struct image_source;
struct image_source_ops {
	/* Stage the file at path (relative to the source).  expected_digest /
	 * expected_size (NULL / -1 when unknown) are checked; with as_layer the
	 * blob is also unpacked, unless the store already has expected_diff_id. */
	int (*stage)(struct image_source *src, struct import_txn *txn, const char *path,
	             const char *expected_digest, int64_t expected_size, bool as_layer,
	             const char *expected_diff_id, struct staged_blob **out, struct mctr_err *err);
	/* Read a small file (JSON) whole; NULL with ENOENT in err->errnum if absent. */
	int (*read_small)(struct image_source *src, const char *path, char **buf, size_t *len,
	                  struct mctr_err *err);
	void (*free)(struct image_source *src);
};

struct image_source {
	const struct image_source_ops *ops;
	char *what; /* the input as named by the user, for messages */
};

/* ---- the transaction ------------------------------------------------------ */

struct imported_image {
	char manifest_digest[DIGEST_LEN + 1];
	char id[DIGEST_LEN + 1];
	json_t *desc;   /* manifest descriptor for index.json */
	char **names;   /* full names (NULL-terminated, maybe empty) */
};

int import_txn_new(struct store *st, struct import_txn **out, struct mctr_err *err);
struct store *import_txn_store(struct import_txn *txn);
/* Take ownership of a staged blob (freed with the transaction). */
void import_txn_adopt(struct import_txn *txn, struct staged_blob *b);
/* Stage in-memory bytes (a manifest or config we read or wrote). */
struct staged_blob *import_txn_stage_bytes(struct import_txn *txn, const char *path, const void *buf, size_t len);
/* Unpack a staged blob as a layer if not done yet (from memory or from the
 * staged file), unless the store already has expected_diff_id. */
int import_txn_unpack(struct import_txn *txn, struct staged_blob *b, const char *expected_diff_id,
                      const char *what, struct mctr_err *err);
/* Stream fd into b (whose path and size, -1 if unknown, the caller set):
 * hashed into a staged blob and, with unpack, unpacked as a layer while it
 * streams. */
int import_txn_stage_fd(struct import_txn *txn, int fd, struct staged_blob *b, const char *expected_digest,
                        bool unpack, struct mctr_err *err);
/* Record an image: manifest blob, config blob and layer blobs must be staged
 * blobs of this transaction.  names are full references. */
int import_txn_add_image(struct import_txn *txn, struct staged_blob *manifest, const char *manifest_media_type,
                         struct staged_blob *config, struct staged_blob **layers, size_t n_layers,
                         char **names, struct mctr_err *err);
/* Make everything visible: blobs, then layers, then names.  On failure the
 * blobs and layers this call added are removed again. */
int import_txn_commit(struct import_txn *txn, struct mctr_err *err);
/* The images recorded (valid after commit). */
const struct imported_image *import_txn_images(struct import_txn *txn, size_t *n);
/* Abort (if not committed) and free: temp files and dirs are removed. */
void import_txn_free(struct import_txn *txn);

static inline void import_txn_freep(struct import_txn **t)
{
	import_txn_free(*t);
}
#define _cleanup_txn_ _cleanup_(import_txn_freep)

void staged_blob_free(struct staged_blob *b, struct store *st);

/* ---- sources ------------------------------------------------------------------ */

/* A tar archive (docker-archive or OCI archive; the outer file may itself be
 * gzip/zstd/xz compressed), read in one pass from fd.  Every regular file is
 * staged during the pass, layers unpacked while they stream. */
int source_archive_scan(struct import_txn *txn, int fd, const char *what, struct image_source **out,
                        struct mctr_err *err);
/* An OCI image layout directory, read safely (blobs must be regular files
 * inside the layout, no larger than their descriptors). */
int source_layout_dir_open(int dirfd, const char *what, struct image_source **out, struct mctr_err *err);
void source_free(struct image_source *src);

static inline void source_freep(struct image_source **s)
{
	source_free(*s);
}
#define _cleanup_source_ _cleanup_(source_freep)

/* ---- formats ------------------------------------------------------------------- */

/* Does the source hold a docker-archive (manifest.json) or an OCI layout? */
bool source_is_docker_archive(struct image_source *src);
bool source_is_oci_layout(struct image_source *src);

/* Stage every image of a docker-archive / OCI layout into txn. */
int docker_archive_import(struct image_source *src, struct import_txn *txn, struct mctr_err *err);
int oci_layout_import(struct image_source *src, struct import_txn *txn, struct mctr_err *err);

/* Stage a rootfs tarball read from fd as a one-layer image with a config
 * made from the host platform and Dockerfile-style changes. */
int rootfs_import(struct import_txn *txn, int fd, const char *what, char **changes, const char *message,
                  char **names, char id_out[DIGEST_LEN + 1], struct mctr_err *err);

/* An image config's rootfs: type "layers" and one valid diff_id per layer
 * (shared by the archive readers and the registry pull). */
int format_config_diff_ids(const json_t *config, size_t n_layers, const char *what, char ***diff_ids,
                           struct mctr_err *err);

/* Normalize a path inside an archive or layout ("./a//b" -> "a/b"); refuse
 * absolute paths and ".." components.  malloc'd result or NULL + err. */
char *source_clean_path(const char *path, const char *what, struct mctr_err *err);
/* Resolve a link target found at entry_path (relative to the entry's
 * directory; ".." allowed but never above the root). */
char *source_resolve_link(const char *entry_path, const char *target, const char *what, struct mctr_err *err);

#endif
