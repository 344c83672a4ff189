/* The layer unpacking pipeline:
 *
 *   caller --feed--> [in pipe] --> inflate thread --> [out pipe] --> tar thread
 *                                  (decompress,                     (libarchive reader,
 *                                   hash = diff_id)                  layer_tree_apply)
 *
 * Inflating and hashing run beside extraction (mostly kernel time), so a
 * compressed layer costs about as much as an uncompressed one.  The first
 * error of any stage is kept and aborts both pipes, which wakes every thread;
 * layer_unpack_feed() then returns that error. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"
#include "mctr/sha256.h"

enum {
	IN_PIPE_SIZE = 4 << 20,
	OUT_PIPE_SIZE = 4 << 20,
	PIPE_READ_MAX = 1 << 20, /* per read from a pipe, so the ring keeps flowing */
	FD_READ_CHUNK = 1 << 20,
};

struct layer_unpack {
	char *what;
	char *dirname;
	int parent_dirfd; /* our dup */
	int rootfd;

	struct byte_pipe in, out;
	struct decompressor *dec;
	struct sha256 *hash;
	struct layer_tree tree;

	pthread_t inflate_thread, tar_thread;
	bool inflate_started, tar_started;
	bool input_closed, finished, joined;
	unsigned exited; /* worker threads that have returned (under mu) */

	pthread_mutex_t mu;
	bool failed;
	struct mctr_err werr; /* the first failure of any thread */

	uint64_t compressed_bytes;
	uint64_t uncompressed_bytes; /* inflate thread */
	uint64_t entries;            /* tar thread */
	size_t tar_held;             /* bytes of the out pipe lent to libarchive */
	char diff_id[DIGEST_LEN + 1];
};

/* Keep the first error and stop everything. */
static void unpack_fail(struct layer_unpack *u, const struct mctr_err *err)
{
	pthread_mutex_lock(&u->mu);
	if (!u->failed) {
		u->failed = true;
		u->werr = *err;
		mctr_err_wrap(&u->werr, "layer %s", u->what);
	}
	pthread_mutex_unlock(&u->mu);
	byte_pipe_abort(&u->in);
	byte_pipe_abort(&u->out);
}

static int unpack_error(struct layer_unpack *u, struct mctr_err *err)
{
	pthread_mutex_lock(&u->mu);
	if (u->failed && err != NULL)
		*err = u->werr;
	else
		mctr_fail(err, ECANCELED, "layer %s: unpacking was stopped", u->what);
	pthread_mutex_unlock(&u->mu);
	return -1;
}

/* ---- inflate thread ---------------------------------------------------------- */

static int inflate_chunk(struct layer_unpack *u, const unsigned char *in, size_t len, struct mctr_err *err)
{
	size_t off = 0;
	for (;;) {
		void *out;
		size_t space, used, made;
		if (byte_pipe_reserve(&u->out, &out, &space) < 0)
			return mctr_fail(err, ECANCELED, "stopped");
		if (decompressor_run(u->dec, in + off, len - off, &used, out, space, &made, err) < 0)
			return -1;
		sha256_update(u->hash, out, made);
		byte_pipe_commit(&u->out, made);
		u->uncompressed_bytes += made;
		off += used;
		if (off == len && made < space)
			return 0;
	}
}

static int inflate_loop(struct layer_unpack *u, struct mctr_err *err)
{
	for (;;) {
		const void *in;
		size_t len;
		if (byte_pipe_peek(&u->in, PIPE_READ_MAX, &in, &len) < 0)
			return mctr_fail(err, ECANCELED, "stopped");
		if (len == 0)
			decompressor_end_input(u->dec);
		if (inflate_chunk(u, in, len, err) < 0)
			return -1;
		byte_pipe_consume(&u->in, len);
		if (len == 0)
			break;
	}
	if (decompressor_check_end(u->dec, err) < 0)
		return -1;
	sha256_final(u->hash, u->diff_id);
	byte_pipe_close(&u->out);
	return 0;
}

static void thread_exited(struct layer_unpack *u)
{
	pthread_mutex_lock(&u->mu);
	u->exited++;
	pthread_mutex_unlock(&u->mu);
}

static void *inflate_main(void *arg)
{
	struct layer_unpack *u = arg;
	struct mctr_err err = { 0 };
	if (inflate_loop(u, &err) < 0)
		unpack_fail(u, &err);
	thread_exited(u);
	return NULL;
}

/* ---- tar thread ---------------------------------------------------------------- */

static la_ssize_t tar_read(struct archive *a, void *arg, const void **buf)
{
	struct layer_unpack *u = arg;
	byte_pipe_consume(&u->out, u->tar_held);
	u->tar_held = 0;
	size_t n;
	if (byte_pipe_peek(&u->out, PIPE_READ_MAX, buf, &n) < 0) {
		archive_set_error(a, ECANCELED, "layer stream stopped");
		return -1;
	}
	u->tar_held = n;
	return (la_ssize_t)n;
}

static void archive_freep(struct archive **a)
{
	if (*a != NULL)
		archive_read_free(*a);
}

/* libarchive reads only the bytes we hand it, so its errors are about the
 * tar, not the system: no errno (a format error's EILSEQ would append
 * "Invalid or incomplete multibyte or wide character"). */
static int tar_fail(struct archive *a, const char *what, struct mctr_err *err)
{
	return mctr_fail(err, 0, "%s: %s", what, tar_error_string(a));
}

static int tar_entries(struct layer_unpack *u, struct archive *a, struct mctr_err *err)
{
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return tar_fail(a, u->entries == 0 ? "not a tar archive" : "reading tar", err);
		u->entries++;
		if (layer_tree_apply(&u->tree, a, e, err) < 0)
			return -1;
	}
}

static int tar_loop(struct layer_unpack *u, struct mctr_err *err)
{
	_cleanup_(archive_freep) struct archive *a = archive_read_new();
	if (a == NULL)
		abort();
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a); /* a zero-byte layer is an empty one */
	if (archive_read_open(a, u, NULL, tar_read, NULL) != ARCHIVE_OK)
		return tar_fail(a, "not a tar archive", err);
	if (tar_entries(u, a, err) < 0 || layer_tree_finish(&u->tree, err) < 0)
		return -1;
	archive_read_free(steal_pointer(&a));
	/* the diff_id covers every byte: padding after the end marker too */
	for (;;) {
		byte_pipe_consume(&u->out, u->tar_held);
		const void *buf;
		if (byte_pipe_peek(&u->out, SIZE_MAX, &buf, &u->tar_held) < 0)
			return mctr_fail(err, ECANCELED, "stopped");
		if (u->tar_held == 0)
			return 0;
	}
}

static void *tar_main(void *arg)
{
	struct layer_unpack *u = arg;
	struct mctr_err err = { 0 };
	if (tar_loop(u, &err) < 0)
		unpack_fail(u, &err);
	thread_exited(u);
	return NULL;
}

/* ---- public API ---------------------------------------------------------------- */

static int make_layer_dir(struct layer_unpack *u, const struct layer_unpack_opts *opts, struct mctr_err *err)
{
	u->parent_dirfd = fcntl(opts->parent_dirfd, F_DUPFD_CLOEXEC, 3);
	if (u->parent_dirfd < 0)
		return mctr_fail_errno(err, "layer %s: dup directory fd", u->what);
	if (mkdirat(u->parent_dirfd, opts->dirname, 0755) < 0)
		return mctr_fail_errno(err, "layer %s: create directory %s", u->what, opts->dirname);
	u->dirname = xstrdup(opts->dirname);
	u->rootfd = openat(u->parent_dirfd, opts->dirname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->rootfd < 0)
		return mctr_fail_errno(err, "layer %s: open directory %s", u->what, opts->dirname);
	/* 0755 whatever the umask; a "./" entry may change it */
	if (fchmod(u->rootfd, 0755) < 0)
		return mctr_fail_errno(err, "layer %s: chmod directory %s", u->what, opts->dirname);
	return 0;
}

static int start_thread(struct layer_unpack *u, pthread_t *th, void *(*fn)(void *), bool *started,
                        struct mctr_err *err)
{
	int e = pthread_create(th, NULL, fn, u);
	if (e != 0)
		return mctr_fail(err, e, "layer %s: start thread", u->what);
	*started = true;
	return 0;
}

int layer_unpack_start(const struct layer_unpack_opts *opts, struct layer_unpack **out, struct mctr_err *err)
{
	struct layer_unpack *u = xcalloc(1, sizeof *u);
	u->what = xstrdup(opts->what != NULL ? opts->what : opts->dirname);
	u->parent_dirfd = u->rootfd = -1;
	pthread_mutex_init(&u->mu, NULL);
	byte_pipe_init(&u->in, IN_PIPE_SIZE);
	byte_pipe_init(&u->out, OUT_PIPE_SIZE);
	u->dec = decompressor_new(NULL, NULL);
	u->hash = sha256_new();
	if (make_layer_dir(u, opts, err) < 0)
		goto fail;
	if (layer_tree_init(&u->tree, u->rootfd, opts->rootless, u->what, err) < 0) {
		mctr_err_wrap(err, "layer %s", u->what);
		goto fail;
	}
	if (start_thread(u, &u->inflate_thread, inflate_main, &u->inflate_started, err) < 0 ||
	    start_thread(u, &u->tar_thread, tar_main, &u->tar_started, err) < 0)
		goto fail;
	*out = u;
	return 0;
fail:
	layer_unpack_free(u, u->dirname != NULL);
	return -1;
}

int layer_unpack_feed(struct layer_unpack *u, const void *buf, size_t len, struct mctr_err *err)
{
	if (u->input_closed)
		return mctr_fail(err, EINVAL, "layer %s: data after the end", u->what);
	if (byte_pipe_write(&u->in, buf, len) < 0)
		return unpack_error(u, err);
	u->compressed_bytes += len;
	return 0;
}

int layer_unpack_try_feed(struct layer_unpack *u, const void *buf, size_t len, struct mctr_err *err)
{
	if (u->input_closed)
		return mctr_fail(err, EINVAL, "layer %s: data after the end", u->what);
	if (len > u->in.cap)
		return mctr_fail(err, EINVAL, "layer %s: %zu bytes at once is more than the buffer holds", u->what,
		                 len);
	int r = byte_pipe_try_write(&u->in, buf, len);
	if (r < 0)
		return unpack_error(u, err);
	if (r == 0)
		u->compressed_bytes += len;
	return r;
}

size_t layer_unpack_room(struct layer_unpack *u)
{
	return byte_pipe_room(&u->in);
}

int layer_unpack_close_input(struct layer_unpack *u, struct mctr_err *err)
{
	if (u->input_closed)
		return 0;
	u->input_closed = true;
	byte_pipe_close(&u->in);
	pthread_mutex_lock(&u->mu);
	bool failed = u->failed;
	pthread_mutex_unlock(&u->mu);
	return failed ? unpack_error(u, err) : 0;
}

bool layer_unpack_busy(struct layer_unpack *u)
{
	unsigned want = (unsigned)u->inflate_started + (unsigned)u->tar_started;
	pthread_mutex_lock(&u->mu);
	bool busy = u->exited < want;
	pthread_mutex_unlock(&u->mu);
	return busy;
}

static void join_threads(struct layer_unpack *u)
{
	if (u->joined)
		return;
	if (u->inflate_started)
		pthread_join(u->inflate_thread, NULL);
	if (u->tar_started)
		pthread_join(u->tar_thread, NULL);
	u->joined = true;
}

int layer_unpack_finish(struct layer_unpack *u, char diff_id[DIGEST_LEN + 1], struct layer_stats *stats,
                        struct mctr_err *err)
{
	if (u->finished)
		return mctr_fail(err, EINVAL, "layer %s: finished twice", u->what);
	u->finished = true;
	if (!u->input_closed) {
		u->input_closed = true;
		byte_pipe_close(&u->in);
	}
	join_threads(u);
	if (u->failed)
		return unpack_error(u, err);
	if (diff_id != NULL)
		memcpy(diff_id, u->diff_id, sizeof u->diff_id);
	if (stats != NULL) {
		stats->compressed_bytes = u->compressed_bytes;
		stats->uncompressed_bytes = u->uncompressed_bytes;
		stats->entries = u->entries;
		stats->compression = decompressor_kind(u->dec);
	}
	return 0;
}

void layer_unpack_free(struct layer_unpack *u, bool remove_dir)
{
	if (u == NULL)
		return;
	byte_pipe_abort(&u->in);
	byte_pipe_abort(&u->out);
	join_threads(u);
	layer_tree_free(&u->tree);
	if (u->rootfd >= 0)
		close(u->rootfd);
	if (remove_dir && u->dirname != NULL) {
		struct mctr_err err = { 0 };
		if (rm_rf_at(u->parent_dirfd, u->dirname, &err) < 0)
			mctr_warn("layer %s: remove %s: %s", u->what, u->dirname, err.msg);
	}
	if (u->parent_dirfd >= 0)
		close(u->parent_dirfd);
	byte_pipe_destroy(&u->in);
	byte_pipe_destroy(&u->out);
	decompressor_free(u->dec);
	sha256_free(u->hash);
	pthread_mutex_destroy(&u->mu);
	free(u->dirname);
	free(u->what);
	free(u);
}

int layer_unpack_fd(const struct layer_unpack_opts *opts, int fd, char diff_id[DIGEST_LEN + 1],
                    struct layer_stats *stats, struct mctr_err *err)
{
	struct layer_unpack *u;
	if (layer_unpack_start(opts, &u, err) < 0)
		return -1;
	for (;;) {
		/* read straight into the ring: no copy */
		void *buf;
		size_t space;
		if (byte_pipe_reserve(&u->in, &buf, &space) < 0) {
			unpack_error(u, err);
			goto fail;
		}
		ssize_t n = read(fd, buf, space < FD_READ_CHUNK ? space : FD_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mctr_fail_errno(err, "layer %s: read", u->what);
			goto fail;
		}
		if (n == 0)
			break;
		byte_pipe_commit(&u->in, (size_t)n);
		u->compressed_bytes += (uint64_t)n;
	}
	if (layer_unpack_finish(u, diff_id, stats, err) < 0)
		goto fail;
	layer_unpack_free(u, false);
	return 0;
fail:
	layer_unpack_free(u, true);
	return -1;
}
