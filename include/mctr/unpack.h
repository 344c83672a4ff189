/* Layer unpacking: a layer blob (tar, tar+gzip or tar+zstd, told apart by
 * magic bytes) becomes a directory ready to serve as an overlayfs lower layer.
 *
 * The producer pushes the blob's bytes as they arrive (from an archive, a
 * file or the network) into a bounded buffer; one worker thread decompresses
 * them and hashes the uncompressed stream (the layer's diff_id), a second one
 * parses the tar (libarchive reader) and applies the entries with
 * dirfd-relative calls.  Reading, inflating and extracting overlap, so a
 * gzip layer costs about what an uncompressed one does.
 *
 * Layer application rules (OCI image-spec layer.md, overlay form):
 *  - `.wh.NAME` becomes a 0:0 character device NAME (an overlayfs whiteout);
 *    `DIR/.wh..wh..opq` sets trusted.overlay.opaque=y on DIR, whether it comes
 *    before or after DIR's own entry; other `.wh..wh.*` entries are ignored.
 *    A whiteout never hides an entry of its own layer: if NAME exists, it
 *    stays (a directory becomes opaque, as the lower one is still deleted); a
 *    later entry below a whiteout turns it into an opaque directory; a
 *    whiteout below a whited-out directory is dropped.  `.wh.`, `.wh..` and
 *    `.wh...` are refused.
 *  - No entry may create, overwrite or link anything outside the layer
 *    directory: names with a `..` component or a leading `/` are refused, no
 *    path is resolved through a symlink (one the layer itself created: the
 *    entry is refused), and hardlink targets must be earlier entries of the
 *    same layer (not whiteouts).  Symlink targets are stored verbatim.
 *  - Owners (numeric only, no NSS lookups), modes (setuid included), mtimes
 *    (directories' at the end), xattrs, hardlinks, symlinks, FIFOs and device
 *    nodes are kept; sockets are skipped; xattrs named trusted.overlay.* or
 *    user.overlay.* are dropped so an image cannot forge whiteouts.  An xattr
 *    the filesystem does not support is dropped with one warning.
 *  - Parent directories missing from the tar are created (0755, root).
 *  - A later entry with the same name replaces the earlier one, except that a
 *    directory over a directory keeps its content (and opaque xattr) and
 *    takes the new attributes.  An entry "./" gives the layer directory its
 *    attributes; other names that are empty after normalization are refused.
 *  - Every message of a refused layer is one line, "layer WHAT: entry
 *    \"NAME\": reason", or "layer WHAT: truncated gzip stream" and the like.
 *
 * The unpacker writes only below its own directory and never syncs: the store
 * syncs once (syncfs) and renames the directory into place after the diff_id
 * checks out (see store.h). */
#ifndef MCTR_UNPACK_H
#define MCTR_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mctr/digest.h"
#include "mctr/err.h"

enum mctr_compression {
	MCTR_COMPRESSION_NONE,
	MCTR_COMPRESSION_GZIP,
	MCTR_COMPRESSION_ZSTD,
};

/* Detect the compression from the first bytes of a blob (needs >= 4 bytes
 * to tell; fewer are taken as uncompressed). */
enum mctr_compression compression_detect(const void *buf, size_t len);
const char *compression_name(enum mctr_compression c);

struct archive;
/* libarchive's message for the last failure reading a; it leaves none for
 * some truncated archives (EOF right after a pax header). */
const char *tar_error_string(struct archive *a);

struct layer_unpack_opts {
	int parent_dirfd;    /* directory in which the layer directory is made */
	const char *dirname; /* its name; must not exist yet */
	/* Rootless: opaque dirs get user.overlay.opaque; device nodes are
	 * skipped (one warning per layer); chown is tried and, if refused (no
	 * mapping, no CAP_CHOWN), given up for the layer: files keep our owner. */
	bool rootless;
	/* Optional name of the blob, for error messages ("layer sha256:ab12..."). */
	const char *what;
};

struct layer_stats {
	uint64_t compressed_bytes;   /* bytes pushed */
	uint64_t uncompressed_bytes; /* bytes of tar */
	uint64_t entries;
	enum mctr_compression compression;
};

struct layer_unpack;

/* Create the layer directory (mode 0755; it must not exist) and start the
 * workers.  Every started unpack must end with layer_unpack_free(). */
int layer_unpack_start(const struct layer_unpack_opts *opts, struct layer_unpack **out, struct mctr_err *err);

/* Push the next bytes of the blob.  Blocks while the worker is behind (a
 * bounded buffer); fails at once if the worker has failed (bad tar, unsafe
 * entry, decompression error), with the worker's message. */
int layer_unpack_feed(struct layer_unpack *u, const void *buf, size_t len, struct mctr_err *err);

/* The same without ever waiting, for an event loop (pull): 1 when the
 * buffer has not room for all of buf (nothing taken), 0 when taken, -1 when
 * the worker failed.  len must not exceed the buffer (4 MiB). */
int layer_unpack_try_feed(struct layer_unpack *u, const void *buf, size_t len, struct mctr_err *err);
/* Free bytes in the buffer now. */
size_t layer_unpack_room(struct layer_unpack *u);

/* End of blob without waiting (fails if a worker has failed already);
 * layer_unpack_busy() tells when layer_unpack_finish() would not wait. */
int layer_unpack_close_input(struct layer_unpack *u, struct mctr_err *err);
bool layer_unpack_busy(struct layer_unpack *u);

/* End of blob (unless closed already): wait for the workers.  On success the directory is complete
 * and diff_id holds "sha256:..." of the uncompressed tar stream (all of it,
 * trailing padding included).  On failure err holds the first error of any
 * stage; free the unpack with remove_dir.  diff_id and stats may be NULL. */
int layer_unpack_finish(struct layer_unpack *u, char diff_id[DIGEST_LEN + 1], struct layer_stats *stats,
                        struct mctr_err *err);

/* Stop the workers if running (safe at any point, mid-stream too) and free.
 * With remove_dir, remove the layer directory (an aborted or rejected layer);
 * NULL is fine. */
void layer_unpack_free(struct layer_unpack *u, bool remove_dir);

/* Convenience: unpack everything readable from fd (read straight into the
 * buffer); on failure the layer directory is removed. */
int layer_unpack_fd(const struct layer_unpack_opts *opts, int fd, char diff_id[DIGEST_LEN + 1],
                    struct layer_stats *stats, struct mctr_err *err);

/* A decompressing reader, shared with the parts that need the uncompressed
 * tar (docker-archive save, rootfs import): push compressed bytes, get
 * uncompressed ones through a callback. */
struct decompressor;
typedef int (*decompress_sink_fn)(void *arg, const void *buf, size_t len, struct mctr_err *err);
struct decompressor *decompressor_new(decompress_sink_fn sink, void *arg);
/* Push compressed bytes; the first 4 bytes (over any number of calls) decide
 * the format.  Concatenated gzip members and zstd frames are one stream;
 * anything else after a gzip member is an error ("corrupt gzip stream"). */
int decompressor_feed(struct decompressor *d, const void *buf, size_t len, struct mctr_err *err);
/* Flush; fails on a truncated stream. */
int decompressor_finish(struct decompressor *d, struct mctr_err *err);
enum mctr_compression decompressor_kind(const struct decompressor *d);
void decompressor_free(struct decompressor *d);

#endif
