/* Private interfaces of the unpack module (src/unpack/ only).
 *
 *   decompress.c  magic-byte detection, gzip/zstd/none as a step function
 *   pipe.c        bounded byte ring between the pipeline threads
 *   tarpath.c     tar name normalization, printable names, the path records
 *   tree.c        the layer directory: safe parent walk, records, final mtimes
 *   entry.c       one tar entry -> files, dirs, links, nodes, whiteouts
 *   unpack.c      the public layer_unpack_* API: threads and libarchive reader
 */
#ifndef MCTR_UNPACK_INTERNAL_H
#define MCTR_UNPACK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "mctr/err.h"
#include "mctr/unpack.h"

struct archive;
struct archive_entry;

/* ---- decompress.c ---------------------------------------------------------- */

/* Move bytes through d: consume input and produce output until the input is
 * used up or out is full.  When *produced == cap there may be more output
 * pending: call again (with len 0 if need be).  The first bytes decide the
 * format; they are held back until 4 have arrived or the input ends. */
int decompressor_run(struct decompressor *d, const void *in, size_t len, size_t *consumed, void *out, size_t cap,
                     size_t *produced, struct mctr_err *err);
/* No more input will come: decide the format if the stream was shorter than
 * the magic, so that decompressor_run() releases the held-back bytes. */
void decompressor_end_input(struct decompressor *d);
/* After the last output was taken: fail if the stream stopped mid-member or
 * mid-frame. */
int decompressor_check_end(struct decompressor *d, struct mctr_err *err);

/* ---- pipe.c ---------------------------------------------------------------- */

/* A single-producer, single-consumer bounded byte ring.  The consumer reads
 * in place (peek, then consume), so a region it holds is never overwritten;
 * abort wakes both sides for good. */
struct byte_pipe {
	pthread_mutex_t mu;
	pthread_cond_t readable;
	pthread_cond_t writable;
	unsigned char *buf;
	size_t cap;
	size_t head; /* first unread byte */
	size_t len;  /* unread bytes, including a region the consumer holds */
	bool eof;
	bool aborted;
};

void byte_pipe_init(struct byte_pipe *p, size_t cap);
void byte_pipe_destroy(struct byte_pipe *p);
/* Wait for free space; *ptr and *space give one contiguous free region.  -1 once aborted. */
int byte_pipe_reserve(struct byte_pipe *p, void **ptr, size_t *space);
void byte_pipe_commit(struct byte_pipe *p, size_t n);
int byte_pipe_write(struct byte_pipe *p, const void *buf, size_t len);
/* Never waits: 1 (nothing written) when fewer than len bytes are free. */
int byte_pipe_try_write(struct byte_pipe *p, const void *buf, size_t len);
/* Free bytes now (a snapshot: only the consumer makes more). */
size_t byte_pipe_room(struct byte_pipe *p);
/* The producer is done: readers see the end after the buffered bytes. */
void byte_pipe_close(struct byte_pipe *p);
/* Wait for data: *avail > 0 bytes at *ptr (at most max), or 0 at the end;
 * -1 once aborted.  The bytes stay valid until byte_pipe_consume(). */
int byte_pipe_peek(struct byte_pipe *p, size_t max, const void **ptr, size_t *avail);
void byte_pipe_consume(struct byte_pipe *p, size_t n);
void byte_pipe_abort(struct byte_pipe *p);

/* ---- tarpath.c ------------------------------------------------------------- */

/* A tar entry name split into components: "./usr//bin/" -> "usr/bin".
 * Buffers are reused from entry to entry. */
struct tar_path {
	char *joined;   /* "a/b/c" */
	size_t len;
	char *split;    /* "a\0b\0c\0" */
	size_t *start;  /* offset of component i in both joined and split */
	size_t ncomp;
	size_t cap;     /* of joined and split */
	size_t comp_cap;
};

/* Normalize raw into p.  On refusal returns -1 and sets *why to the reason
 * (absolute name, ".." component); an empty result is not refused here. */
int tar_path_parse(struct tar_path *p, const char *raw, const char **why);
void tar_path_free(struct tar_path *p);

static inline const char *tar_path_comp(const struct tar_path *p, size_t i)
{
	return p->split + p->start[i];
}

/* Length of "c0/c1/.../c(n-1)" in joined. */
static inline size_t tar_path_prefix_len(const struct tar_path *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n == p->ncomp)
		return p->len;
	return p->start[n] - 1;
}

/* A quoted, escaped, length-limited copy of a name for one-line messages. */
#define SHOWN_NAME_MAX 300
const char *shown_name(const char *raw, char buf[SHOWN_NAME_MAX]);

enum {
	REC_WHITEOUT = 1u << 0, /* a whiteout device this layer made */
	REC_DIR_TIMES = 1u << 1, /* a directory whose times are set at the end */
	REC_DIR_MODE = 1u << 2,  /* a directory whose mode is set at the end */
};

/* What the writer remembers about a path of the layer. */
struct path_rec {
	char *path;
	unsigned flags;
	mode_t mode;
	struct timespec times[2];
};

/* Paths by name, in the order they were first recorded. */
struct path_recs {
	struct path_rec *v;
	size_t n, cap;
	uint32_t *slots; /* open addressing: index + 1, 0 for empty */
	size_t nslots;
};

struct path_rec *path_recs_find(struct path_recs *r, const char *path, size_t len);
struct path_rec *path_recs_get(struct path_recs *r, const char *path, size_t len);
/* Clear the flags of path and of everything below it (it was removed). */
void path_recs_forget_tree(struct path_recs *r, const char *path, size_t len);
void path_recs_free(struct path_recs *r);

/* ---- tree.c / entry.c ------------------------------------------------------ */

/* One directory on the path from the layer root to the current parent. */
struct dir_level {
	char *name;
	int fd; /* O_PATH; level 0 is the layer root, not owned */
	gid_t gid;
	bool setgid;
};

struct layer_tree {
	int rootfd; /* the layer directory (O_RDONLY), not owned */
	bool rootless;
	const char *what; /* for warnings */
	uid_t euid;
	gid_t egid;
	mode_t umask;
	bool can_chown;       /* cleared after a rootless chown was refused */
	bool warned_xattr;
	uint64_t skipped_devices;
	const char *opaque_xattr;

	/* Directory fds from the root down to the last parent used: tar
	 * entries come grouped by directory, so most walks cost nothing. */
	struct dir_level *stack;
	size_t depth; /* levels in use, >= 1 */
	size_t stack_cap;

	struct path_recs recs;
	struct tar_path path;   /* the current entry */
	struct tar_path target; /* its hardlink target */
};

enum walk_mode {
	WALK_CREATE,   /* make missing parents; a whiteout in the way becomes an opaque dir */
	WALK_WHITEOUT, /* as CREATE, but skip (return 1) if a parent is not a directory */
	WALK_EXISTING, /* make nothing; skip (return 1) if a parent is missing or not a dir */
};

#define LAYER_MAX_DEPTH 256

int layer_tree_init(struct layer_tree *t, int rootfd, bool rootless, const char *what, struct mctr_err *err);
void layer_tree_free(struct layer_tree *t);

/* The directory holding p's first n components, walked from the layer root
 * one component at a time with O_NOFOLLOW: a symlink on the way is refused,
 * never followed.  Returns 0 with *level (valid until the next walk), 1 to
 * skip (see walk_mode) or -1.  shown names the entry in messages. */
int layer_tree_walk(struct layer_tree *t, const struct tar_path *p, size_t n, enum walk_mode mode,
                    const struct dir_level **level, const char *shown, struct mctr_err *err);

/* True if parentfd/name (path in the layer) is a whiteout this layer made. */
bool layer_tree_is_whiteout(struct layer_tree *t, const struct stat *st, const char *path, size_t len);
/* Remove an existing parentfd/name (st is its lstat) before replacing it. */
int layer_tree_remove(struct layer_tree *t, int parentfd, const char *name, const struct stat *st, const char *path,
                      size_t len, struct mctr_err *err);
/* Mark the directory dirfd (any fd, O_PATH included) opaque. */
int layer_tree_set_opaque(struct layer_tree *t, int dirfd, const char *shown, struct mctr_err *err);

/* Apply one tar entry (its data is read from a). */
int layer_tree_apply(struct layer_tree *t, struct archive *a, struct archive_entry *e, struct mctr_err *err);

/* After the last entry: directory mtimes (and deferred modes). */
int layer_tree_finish(struct layer_tree *t, struct mctr_err *err);

#endif
