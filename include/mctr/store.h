/* The content-addressed store.
 *
 *   <root>/                 0700: layers hold setuid files and device nodes
 *     oci/                  a valid OCI image layout (skopeo/umoci can read it)
 *       oci-layout          {"imageLayoutVersion":"1.0.0"}
 *       index.json          one manifest descriptor per image name, with the
 *                           annotation org.opencontainers.image.ref.name set to
 *                           the full normalized name; an image without a name
 *                           has one descriptor without the annotation
 *       blobs/sha256/<hex>  manifests, configs and layer blobs, read-only
 *     layers/<hex>          unpacked layers keyed by diff_id, overlay-ready
 *     ingest/               temp files of writers (same filesystem)
 *     locks/                flock files: store.lock, index.lock, per digest
 *
 * Writers (load, pull, tag) hold store.lock shared; garbage collection holds
 * it exclusive, so a blob just written and not yet named is never collected.
 * index.json is rewritten atomically under index.lock.
 *
 * This part of the store is in the core binary and never hashes; writing
 * blobs (which hashes) is in store/ingest (the image module). */
#ifndef MCTR_STORE_H
#define MCTR_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "mctr/digest.h"
#include "mctr/err.h"

#define MCTR_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
/* On a pulled image's index.json entries: the registry's digest of what the
 * reference named (an index's, for a multi-platform image): Docker's
 * RepoDigest. */
#define MCTR_ANNOTATION_REPO_DIGEST "io.mctr.image.repo-digest"
#define MCTR_DEFAULT_ROOT "/var/lib/mctr"

struct store {
	char *root;
	int root_fd;
	int oci_fd;
	int blobs_fd;  /* oci/blobs/sha256 */
	int layers_fd;
	int ingest_fd;
	int locks_fd;
	int lock_fd;   /* store.lock while held, else -1 */
	int lock_mode; /* 0, LOCK_SH or LOCK_EX */
};

/* Open (creating on first use) the store at root. */
int store_open(const char *root, struct store **out, struct mctr_err *err);
void store_close(struct store *st);

/* Writers take the store lock shared, garbage collection exclusive.  A
 * process may upgrade by unlocking first.  Idempotent. */
int store_lock(struct store *st, bool exclusive, struct mctr_err *err);
void store_unlock(struct store *st);

/* Hold an exclusive flock on locks/<name> (e.g. "blob-<hex>"); returns the
 * fd to close to release. */
int store_lock_named(struct store *st, const char *name, struct mctr_err *err);
/* The per-digest lock locks/blob-<hex> (one writer of a blob at a time).
 * 0: held, *fd_out is the fd to close to release it; 1: another process
 * holds it (only when !wait); -1: error. */
int store_lock_digest(struct store *st, const char *digest, bool wait, int *fd_out, struct mctr_err *err);

/* ---- blobs (read side) ---------------------------------------------------- */

bool store_blob_exists(struct store *st, const char *digest);
/* Open a blob read-only; fails with "blob sha256:... not in the store". */
int store_blob_open(struct store *st, const char *digest, struct mctr_err *err);
/* Read and parse a JSON blob (manifest, config, index). */
json_t *store_blob_json(struct store *st, const char *digest, struct mctr_err *err);

/* ---- unpacked layers ------------------------------------------------------ */

bool store_layer_exists(struct store *st, const char *diff_id);
/* "<root>/layers/<hex>" (malloc'd). */
char *store_layer_path(struct store *st, const char *diff_id);
/* A fresh name for an unpacked layer under construction in layers/. */
void store_layer_tmpname(char buf[64]);
/* Make the finished layer tmpname visible as layers/<hex of diff_id>: flush
 * the file system once (syncfs), rename, fsync the directory.  If another
 * writer got there first, ours is removed. */
int store_layer_commit(struct store *st, const char *tmpname, const char *diff_id, struct mctr_err *err);
/* The same without the flushes, for a caller that did one syncfs before and
 * fsyncs layers/ after a batch.  *created: false if it was there already. */
int store_layer_rename(struct store *st, const char *tmpname, const char *diff_id, bool *created,
                       struct mctr_err *err);
/* Flush the store's file system (one call for a whole batch). */
int store_sync(struct store *st, struct mctr_err *err);

/* ---- index.json ------------------------------------------------------------ */

/* Read oci/index.json (an empty index if absent).  New reference. */
json_t *store_index_read(struct store *st, struct mctr_err *err);

/* Read-modify-write index.json under locks/index.lock; fn edits the index in
 * place; the new index is written atomically if fn succeeds. */
typedef int (*store_index_fn)(json_t *index, void *arg, struct mctr_err *err);
int store_index_update(struct store *st, store_index_fn fn, void *arg, struct mctr_err *err);

/* Point `name` (full normalized reference, e.g. docker.io/library/busybox:latest)
 * at the manifest descriptor desc (mediaType, digest, size).  The image that
 * had the name before keeps an unnamed entry if it has no other name. */
int store_name_image(struct store *st, const char *name, const json_t *desc, struct mctr_err *err);
/* Record an image with no name (unless it already has an entry). */
int store_add_unnamed(struct store *st, const json_t *desc, struct mctr_err *err);
/* Remove one name; the image goes away with its last name unless keep_unnamed. */
int store_remove_name(struct store *st, const char *name, bool keep_unnamed, struct mctr_err *err);
/* Remove every entry of the image with this manifest digest (keep_unnamed:
 * leave one unnamed entry). */
int store_remove_image(struct store *st, const char *manifest_digest, bool keep_unnamed, struct mctr_err *err);

/* ---- images ------------------------------------------------------------------ */

struct store_image {
	char manifest_digest[DIGEST_LEN + 1];
	char id[DIGEST_LEN + 1];   /* config digest */
	char *manifest_media_type;
	int64_t manifest_size;
	char **names;              /* full names, NULL-terminated (maybe empty) */
	char **name_digests;       /* for names[i]: the registry's digest it was pulled
	                            * by, else the manifest digest (Docker's RepoDigest) */
	json_t *manifest;
	json_t *config;
	char **diff_ids;           /* NULL-terminated */
	size_t n_layers;
	int64_t size;              /* bytes of config + layer blobs */
};

/* Find an image by name (any form Docker accepts: alpine, alpine:3,
 * name@sha256:...) or by ID (sha256:<hex>, <hex>, or a unique prefix). */
int store_image_lookup(struct store *st, const char *name_or_id, struct store_image **out, struct mctr_err *err);
/* Every image in the store (one entry per manifest digest), in index order. */
int store_image_list(struct store *st, struct store_image ***out, size_t *n_out, struct mctr_err *err);
void store_image_free(struct store_image *img);
void store_image_list_free(struct store_image **list, size_t n);
/* Load manifest + config for a manifest descriptor digest. */
int store_image_load(struct store *st, const char *manifest_digest, struct store_image **out, struct mctr_err *err);

/* Does some image in the store have a layer blob `blob_digest` whose
 * diff_id is `diff_id`?  (Then an existing unpacked layer may be reused for
 * that blob without unpacking it again; an uncompressed blob is its own
 * diff_id.) */
bool store_layer_pair_known(struct store *st, const char *blob_digest, const char *diff_id);

/* ---- garbage collection ------------------------------------------------------- */

struct store_gc_stats {
	unsigned blobs_removed;
	unsigned layers_removed;
	unsigned temps_removed;
	uint64_t bytes_freed;
};

/* Remove every blob and unpacked layer that no image in index.json reaches,
 * and the debris of interrupted writers.  Takes the store lock exclusive
 * (drops any lock held before, and releases it when done). */
int store_gc(struct store *st, struct store_gc_stats *stats, struct mctr_err *err);

#endif
