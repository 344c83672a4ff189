/* Writing blobs into the store (image module side: it hashes).
 *
 * A blob is written to an anonymous temp file in <root>/ingest (O_TMPFILE,
 * so a killed writer leaves nothing behind), hashed as it streams, and only
 * on commit checked against the expected digest and size, fsynced, made
 * read-only and linked into oci/blobs/sha256/<hex>.  A blob that fails
 * verification never becomes visible.  An existing blob is never rewritten:
 * the bytes are still hashed (to check the input) but not stored twice. */
#ifndef MCTR_INGEST_H
#define MCTR_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "mctr/digest.h"
#include "mctr/err.h"
#include "mctr/store.h"

struct blob_writer;

/* expected_digest may be NULL (learned at commit), expected_size -1 if
 * unknown.  `what` names the blob in errors ("layer 2 of busybox.tar").
 * If the store has expected_digest already, blob_writer_in_store() is true
 * and the bytes are only hashed. */
int blob_writer_new(struct store *st, const char *expected_digest, int64_t expected_size, const char *what,
                    struct blob_writer **out, struct mctr_err *err);
/* Fails as soon as more bytes arrive than expected_size. */
int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct mctr_err *err);
/* Finish hashing and check digest and size; the blob is not visible yet.
 * digest_out (may be NULL) receives the computed digest. */
int blob_writer_verify(struct blob_writer *w, char digest_out[DIGEST_LEN + 1], struct mctr_err *err);
/* Make a verified blob read-only and durable now, ahead of the commit
 * (which then has only the link to do); e.g. while a layer unpacks. */
int blob_writer_sync(struct blob_writer *w, struct mctr_err *err);
/* Make a verified blob visible under its digest (durably).  *created tells
 * whether this call added it (false: it was there already). */
int blob_writer_commit(struct blob_writer *w, bool *created, struct mctr_err *err);

/* Batched commit of many blobs (an import transaction): seal each (verify,
 * read-only, no fsync), flush the whole file system once (syncfs), then
 * link each without syncing (blob_writer_link), then fsync the blob
 * directory once.  One flush instead of two fsyncs per blob. */
int blob_writer_seal(struct blob_writer *w, struct mctr_err *err);
/* After the syncfs that followed blob_writer_seal: link it into place. */
int blob_writer_link(struct blob_writer *w, bool *created, struct mctr_err *err);
/* Bytes written so far, and the computed digest after verify. */
int64_t blob_writer_size(const struct blob_writer *w);
const char *blob_writer_digest(const struct blob_writer *w);
/* A read-only fd on the content written so far (the temp file, or the
 * existing blob), positioned at 0; for re-reading a staged blob. */
int blob_writer_reopen(struct blob_writer *w, struct mctr_err *err);
void blob_writer_free(struct blob_writer *w);

static inline void blob_writer_freep(struct blob_writer **w)
{
	blob_writer_free(*w);
}
#define _cleanup_blob_writer_ _cleanup_(blob_writer_freep)

/* ---- resumable downloads (pull) ------------------------------------------------------
 *
 * A blob known by digest and size is written to <root>/ingest/<hex>.partial
 * under an exclusive flock of <root>/locks/blob-<hex>, held until the writer
 * is freed, so two mctr processes never download the same blob at once.  A
 * writer freed before commit keeps the partial file (a killed pull does
 * too) and the next one resumes it: blob_writer_replay() hashes the bytes
 * already there (handing them to the unpacker) and the caller asks the
 * server for the rest.  A partial whose content fails verification is
 * removed.  Commit links the partial into blobs/ (after verify and fsync)
 * and removes it; GC removes partials older than 24 hours. */

/* 0: opened; 1: another process holds the blob's lock (only when !wait);
 * -1: error.  If the blob is in the store (maybe just finished by that other
 * process), blob_writer_in_store() is true and nothing need be written. */
int blob_writer_resume(struct store *st, const char *digest, int64_t size, const char *what, bool wait,
                       struct blob_writer **out, struct mctr_err *err);
bool blob_writer_in_store(const struct blob_writer *w);
/* Bytes the partial file holds (what a Range request can skip). */
int64_t blob_writer_partial_size(const struct blob_writer *w);
/* Hash the partial file's bytes, passing each chunk to fn (may be NULL);
 * required before the first blob_writer_write of a resumed blob. */
typedef int (*blob_replay_fn)(void *arg, const void *buf, size_t len, struct mctr_err *err);
int blob_writer_replay(struct blob_writer *w, blob_replay_fn fn, void *arg, struct mctr_err *err);
/* Drop every byte and start over (the server sent the whole blob again). */
int blob_writer_restart(struct blob_writer *w, struct mctr_err *err);

/* Store a small in-memory blob (manifest, config) in one call. */
int store_put_blob(struct store *st, const void *buf, size_t len, const char *expected_digest,
                   char digest_out[DIGEST_LEN + 1], bool *created, struct mctr_err *err);

/* Remove a blob this process added (undo of a failed multi-blob import). */
int store_blob_remove(struct store *st, const char *digest, struct mctr_err *err);

#endif
