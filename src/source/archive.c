/* A docker-archive or OCI archive, read in ONE pass (it may be a pipe):
 * every regular file is staged as it streams by — small and JSON files in
 * memory, everything else hashed into a staged blob while a worker unpacks
 * it as a layer — and the format is interpreted afterwards. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"
#include "mctr/sha256.h"
#include "mctr/source.h"
#include "mctr/unpack.h"

#define ARCHIVE_BLOCK (1u << 20)
#define MAX_ALIAS_DEPTH 8

struct alias {
	char *path;
	char *target;
};

struct archive_source {
	struct image_source base;
	struct import_txn *txn;
	struct staged_blob **files; /* staged during the pass, owned by txn */
	size_t n_files;
	struct alias *aliases;
	size_t n_aliases;
};

static void archive_freep(struct archive **a)
{
	if (*a != NULL)
		archive_read_free(*a);
}

static struct staged_blob *find_file(struct archive_source *s, const char *path)
{
	for (int depth = 0; depth < MAX_ALIAS_DEPTH; depth++) {
		for (size_t i = 0; i < s->n_files; i++)
			if (strcmp(s->files[i]->path, path) == 0)
				return s->files[i];
		const char *next = NULL;
		for (size_t i = 0; i < s->n_aliases; i++)
			if (strcmp(s->aliases[i].path, path) == 0)
				next = s->aliases[i].target;
		if (next == NULL)
			return NULL;
		path = next;
	}
	return NULL;
}

static int archive_read_small(struct image_source *src, const char *path, char **buf, size_t *len,
                              struct mctr_err *err)
{
	struct archive_source *s = (struct archive_source *)src;
	struct staged_blob *b = find_file(s, path);
	if (b == NULL)
		return mctr_fail(err, ENOENT, "%s: no %s in the archive", src->what, path);
	if (b->data == NULL)
		return mctr_fail(err, EFBIG, "%s: %s is too large to be metadata", src->what, path);
	*buf = xmalloc(b->len + 1);
	memcpy(*buf, b->data, b->len + 1);
	*len = b->len;
	return 0;
}

static int archive_stage(struct image_source *src, struct import_txn *txn, const char *path,
                         const char *expected_digest, int64_t expected_size, bool as_layer,
                         const char *expected_diff_id, struct staged_blob **out, struct mctr_err *err)
{
	struct archive_source *s = (struct archive_source *)src;
	struct staged_blob *b = find_file(s, path);
	if (b == NULL)
		return mctr_fail(err, 0, "%s: %s is missing from the archive", src->what, path);
	if (expected_size >= 0 && b->size != expected_size)
		return mctr_fail(err, 0, "%s: %s has %lld bytes but its descriptor says %lld", src->what, path,
		                 (long long)b->size, (long long)expected_size);
	if (expected_digest != NULL && strcmp(b->digest, expected_digest) != 0)
		return mctr_fail(err, 0, "%s: %s does not match its digest %s (content is %s)", src->what, path,
		                 expected_digest, b->digest);
	if (as_layer) {
		_cleanup_free_ char *what = xasprintf("%s: layer %s", src->what, path);
		if (import_txn_unpack(txn, b, expected_diff_id, what, err) < 0)
			return -1;
	}
	*out = b;
	return 0;
}

static void archive_source_free(struct image_source *src)
{
	struct archive_source *s = (struct archive_source *)src;
	for (size_t i = 0; i < s->n_aliases; i++) {
		free(s->aliases[i].path);
		free(s->aliases[i].target);
	}
	free(s->aliases);
	free(s->files);
	free(s->base.what);
	free(s);
}

static const struct image_source_ops archive_ops = {
	.stage = archive_stage,
	.read_small = archive_read_small,
	.free = archive_source_free,
};

static bool looks_like_json(const void *buf, size_t len)
{
	const char *p = buf;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')
			continue;
		return p[i] == '{' || p[i] == '[';
	}
	return false;
}

/* A large file: hash it into a staged blob and, unless the store has it
 * already, unpack it as a layer while it streams.  A file that is not a
 * tar is kept as a plain blob with the reason noted. */
struct stream_state {
	struct staged_blob *b;
	struct layer_unpack *unpack;
	struct store *st;
	const char *what;
};

static void stream_drop_unpack(struct stream_state *ss, const char *reason)
{
	if (ss->unpack != NULL)
		layer_unpack_free(ss->unpack, true);
	ss->unpack = NULL;
	ss->b->layer_tmp[0] = '\0';
	free(ss->b->not_layer_reason);
	ss->b->not_layer_reason = xstrdup(reason);
}

static int stream_chunk(struct stream_state *ss, const void *buf, size_t len, struct mctr_err *err)
{
	if (blob_writer_write(ss->b->writer, buf, len, err) < 0)
		return -1;
	if (ss->unpack != NULL) {
		struct mctr_err uerr = { 0 };
		if (layer_unpack_feed(ss->unpack, buf, len, &uerr) < 0)
			stream_drop_unpack(ss, uerr.msg);
	}
	return 0;
}

static int stream_start(struct stream_state *ss, const char *hint_digest, struct mctr_err *err)
{
	struct staged_blob *b = ss->b;
	/* A file named blobs/sha256/<hex> must have that digest (OCI layout,
	 * new docker-archive); checked as it streams. */
	if (blob_writer_new(ss->st, hint_digest, b->size, ss->what, &b->writer, err) < 0)
		return -1;
	/* A blob the store already has was unpacked when it was stored. */
	if (blob_writer_in_store(b->writer))
		return 0;
	store_layer_tmpname(b->layer_tmp);
	struct layer_unpack_opts o = { .parent_dirfd = ss->st->layers_fd, .dirname = b->layer_tmp, .what = ss->what };
	if (layer_unpack_start(&o, &ss->unpack, err) < 0) {
		b->layer_tmp[0] = '\0';
		return -1;
	}
	return 0;
}

static int stream_finish(struct stream_state *ss, struct mctr_err *err)
{
	struct staged_blob *b = ss->b;
	if (blob_writer_verify(b->writer, b->digest, err) < 0)
		return -1;
	if (ss->unpack != NULL) {
		struct layer_stats stats;
		struct mctr_err uerr = { 0 };
		if (layer_unpack_finish(ss->unpack, b->diff_id, &stats, &uerr) < 0) {
			stream_drop_unpack(ss, uerr.msg);
		} else {
			layer_unpack_free(ss->unpack, false);
			ss->unpack = NULL;
			b->is_layer = true;
			b->compression = stats.compression;
		}
	}
	return 0;
}

static const char *hint_from_path(const char *path, char buf[DIGEST_LEN + 1])
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strncmp(path, "blobs/sha256/", 13) != 0 || !digest_hex_is_valid(base))
		return NULL;
	snprintf(buf, DIGEST_LEN + 1, "sha256:%s", base);
	return buf;
}

static int read_entry(struct archive_source *s, struct archive *a, struct staged_blob *b, struct mctr_err *err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	size_t cap = b->size <= (int64_t)SOURCE_SMALL_MAX ? (size_t)b->size : 0;
	_cleanup_free_ char *what = xasprintf("%s: %s", s->base.what, b->path);
	struct stream_state ss = { .b = b, .st = import_txn_store(s->txn), .what = what };
	char hint[DIGEST_LEN + 1];
	int64_t got = 0;
	bool decided = cap > 0 || b->size == 0;
	if (decided)
		b->data = xmalloc(cap + 1);
	int rc = 0;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = mctr_fail(err, 0, "%s: truncated or corrupt archive: %s", what, tar_error_string(a));
			goto out;
		}
		if (off != got) {
			rc = mctr_fail(err, 0, "%s: sparse entries are not supported in image archives", what);
			goto out;
		}
		if (!decided) {
			decided = true;
			if (looks_like_json(buf, len) && b->size <= (int64_t)MCTR_JSON_MAX) {
				b->data = xmalloc((size_t)b->size + 1);
				cap = (size_t)b->size;
			} else if ((rc = stream_start(&ss, hint_from_path(b->path, hint), err)) < 0) {
				goto out;
			}
		}
		if (b->data != NULL) {
			if ((int64_t)len > (int64_t)cap - got) {
				rc = mctr_fail(err, 0, "%s: more data than the entry's size", what);
				goto out;
			}
			memcpy(b->data + got, buf, len);
		} else if ((rc = stream_chunk(&ss, buf, len, err)) < 0) {
			goto out;
		}
		got += (int64_t)len;
	}
	if (got != b->size) {
		rc = mctr_fail(err, 0, "%s: truncated archive entry (%lld of %lld bytes)", what, (long long)got,
		               (long long)b->size);
		goto out;
	}
	if (b->data != NULL) {
		b->data[got] = '\0';
		b->len = (size_t)got;
		sha256_digest_buf(b->data, b->len, b->digest);
	} else {
		rc = stream_finish(&ss, err);
	}
out:
	if (ss.unpack != NULL)
		layer_unpack_free(ss.unpack, true), b->layer_tmp[0] = '\0';
	return rc;
}

static void add_alias(struct archive_source *s, char *path, char *target)
{
	s->aliases = xrealloc(s->aliases, (s->n_aliases + 1) * sizeof *s->aliases);
	s->aliases[s->n_aliases++] = (struct alias){ path, target };
}

static int scan_entry(struct archive_source *s, struct archive *a, struct archive_entry *e, struct mctr_err *err)
{
	const char *name = archive_entry_pathname(e);
	_cleanup_free_ char *what = xasprintf("%s: entry %s", s->base.what, name ? name : "(no name)");
	_cleanup_free_ char *path = source_clean_path(name ? name : "", what, err);
	if (path == NULL)
		return -1;
	const char *hardlink = archive_entry_hardlink(e);
	if (hardlink != NULL) {
		char *target = source_clean_path(hardlink, what, err);
		if (target == NULL)
			return -1;
		add_alias(s, steal_pointer(&path), target);
		return 0;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return 0;
	case AE_IFLNK: {
		char *target = source_resolve_link(path, archive_entry_symlink(e), what, err);
		if (target == NULL)
			return -1;
		add_alias(s, steal_pointer(&path), target);
		return 0;
	}
	case AE_IFREG:
		break;
	default:
		mctr_debug("%s: ignoring special file %s", s->base.what, path);
		return 0;
	}
	struct staged_blob *b = xcalloc(1, sizeof *b);
	b->path = steal_pointer(&path);
	b->size = archive_entry_size(e);
	import_txn_adopt(s->txn, b);
	s->files = xrealloc(s->files, (s->n_files + 1) * sizeof *s->files);
	s->files[s->n_files++] = b;
	return read_entry(s, a, b, err);
}

int source_archive_scan(struct import_txn *txn, int fd, const char *what, struct image_source **out,
                        struct mctr_err *err)
{
	_cleanup_(archive_freep) struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_none(a);
	if (archive_read_open_fd(a, fd, ARCHIVE_BLOCK) != ARCHIVE_OK)
		return mctr_fail(err, 0, "%s: not a tar archive: %s", what, tar_error_string(a));
	struct archive_source *s = xcalloc(1, sizeof *s);
	s->base.ops = &archive_ops;
	s->base.what = xstrdup(what);
	s->txn = txn;
	struct archive_entry *e;
	int r, entries = 0;
	while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN || (r == ARCHIVE_WARN && entries == 0)) {
			mctr_fail(err, 0, "%s: %s archive: %s", what, entries ? "truncated or corrupt" : "not a tar",
			          tar_error_string(a));
			archive_source_free(&s->base);
			return -1;
		}
		entries++;
		if (scan_entry(s, a, e, err) < 0) {
			archive_source_free(&s->base);
			return -1;
		}
	}
	if (entries == 0) {
		archive_source_free(&s->base);
		return mctr_fail(err, 0, "%s: empty archive", what);
	}
	*out = &s->base;
	return 0;
}

void source_free(struct image_source *src)
{
	if (src != NULL)
		src->ops->free(src);
}
