/* An OCI image layout directory as a source.  The layout comes from the
 * user and may be hostile: every file is opened without following a symlink
 * and must be a regular file inside the layout, no larger than its
 * descriptor says. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/source.h"

struct layout_source {
	struct image_source base;
	int dirfd;
	struct staged_blob **staged; /* owned by the transaction */
	size_t n_staged;
};

/* Open path inside the layout; must be a regular file. */
static int layout_open(struct layout_source *s, const char *path, struct stat *sb, struct mctr_err *err)
{
	_cleanup_free_ char *clean = source_clean_path(path, s->base.what, err);
	if (clean == NULL)
		return -1;
	struct mctr_err oerr = { 0 };
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	_cleanup_close_ int fd = open_beneath(s->dirfd, clean, O_RDONLY | O_NONBLOCK, &oerr);
	if (fd < 0) {
		if (oerr.errnum == ELOOP)
			return mctr_fail(err, ELOOP, "%s: %s is a symlink or leaves the layout (not allowed)",
			                 s->base.what, clean);
		if (oerr.errnum == ENOENT)
			return mctr_fail(err, ENOENT, "%s: %s is missing", s->base.what, clean);
		return mctr_fail(err, oerr.errnum, "%s: %s", s->base.what, oerr.msg);
	}
	if (fstat(fd, sb) < 0)
		return mctr_fail_errno(err, "%s: stat %s", s->base.what, clean);
	if (!S_ISREG(sb->st_mode))
		return mctr_fail(err, 0, "%s: %s is not a regular file", s->base.what, clean);
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return steal_fd(&fd);
}

static int layout_read_small(struct image_source *src, const char *path, char **buf, size_t *len,
                             struct mctr_err *err)
{
	struct layout_source *s = (struct layout_source *)src;
	struct stat sb;
	_cleanup_close_ int fd = layout_open(s, path, &sb, err);
	if (fd < 0)
		return -1;
	if (fd_read_all(fd, MCTR_JSON_MAX, buf, len, err) < 0)
		return mctr_err_wrap(err, "%s: %s", s->base.what, path);
	return 0;
}

static int layout_stage(struct image_source *src, struct import_txn *txn, const char *path,
                        const char *expected_digest, int64_t expected_size, bool as_layer,
                        const char *expected_diff_id, struct staged_blob **out, struct mctr_err *err)
{
	struct layout_source *s = (struct layout_source *)src;
	for (size_t i = 0; i < s->n_staged; i++) {
		if (strcmp(s->staged[i]->path, path) != 0)
			continue;
		if (as_layer) {
			_cleanup_free_ char *what = xasprintf("%s: layer %s", src->what, path);
			if (import_txn_unpack(txn, s->staged[i], expected_diff_id, what, err) < 0)
				return -1;
		}
		*out = s->staged[i];
		return 0;
	}
	struct stat sb;
	_cleanup_close_ int fd = layout_open(s, path, &sb, err);
	if (fd < 0)
		return -1;
	if (expected_size >= 0 && sb.st_size != expected_size)
		return mctr_fail(err, 0, "%s: %s has %lld bytes but its descriptor says %lld", src->what, path,
		                 (long long)sb.st_size, (long long)expected_size);
	struct staged_blob *b = xcalloc(1, sizeof *b);
	b->path = xstrdup(path);
	b->size = sb.st_size;
	import_txn_adopt(txn, b);
	s->staged = xrealloc(s->staged, (s->n_staged + 1) * sizeof *s->staged);
	s->staged[s->n_staged++] = b;
	struct store *st = import_txn_store(txn);
	bool have_layer = expected_diff_id != NULL && store_layer_exists(st, expected_diff_id) &&
	                  store_layer_pair_known(st, expected_digest, expected_diff_id);
	if (import_txn_stage_fd(txn, fd, b, expected_digest, as_layer && !have_layer, err) < 0)
		return mctr_err_wrap(err, "%s", src->what);
	if (as_layer && have_layer) {
		snprintf(b->diff_id, sizeof b->diff_id, "%s", expected_diff_id);
		b->is_layer = true;
	}
	*out = b;
	return 0;
}

static void layout_free(struct image_source *src)
{
	struct layout_source *s = (struct layout_source *)src;
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->staged);
	free(s->base.what);
	free(s);
}

static const struct image_source_ops layout_ops = {
	.stage = layout_stage,
	.read_small = layout_read_small,
	.free = layout_free,
};

int source_layout_dir_open(int dirfd, const char *what, struct image_source **out, struct mctr_err *err)
{
	struct layout_source *s = xcalloc(1, sizeof *s);
	s->base.ops = &layout_ops;
	s->base.what = xstrdup(what);
	s->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (s->dirfd < 0) {
		layout_free(&s->base);
		return mctr_fail_errno(err, "%s", what);
	}
	*out = &s->base;
	return 0;
}
