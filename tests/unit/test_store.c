/* Unit tests for store/ and store/ingest: the blob writer (verify before a
 * blob gets its name), resumable partial downloads under the per-digest
 * lock, index.json names, garbage collection and `system check`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mctr/check.h"
#include "mctr/cleanup.h"
#include "mctr/err.h"
#include "mctr/fsutil.h"
#include "mctr/ingest.h"
#include "mctr/jsonutil.h"
#include "mctr/sha256.h"
#include "mctr/store.h"
#include "testutil.h"

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"

static char *dir;
static struct store *st;

static void setup(void)
{
	dir = test_mkdtemp("mctr-store");
	_cleanup_free_ char *root = path_join(dir, "root");
	struct mctr_err err = { 0 };
	ck_assert_msg(store_open(root, &st, &err) == 0, "%s", err.msg);
}

static void teardown(void)
{
	store_close(st);
	test_rmtree(dir);
	free(dir);
}

/* Entries of a store directory, "." and ".." left out. */
static unsigned count_entries(int dirfd)
{
	_cleanup_closedir_ DIR *d = fdopendir(fcntl(dirfd, F_DUPFD_CLOEXEC, 3));
	ck_assert_ptr_nonnull(d);
	rewinddir(d);
	unsigned n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	return n;
}

static bool exists_at(int dirfd, const char *name)
{
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static void put(const char *s, char digest[DIGEST_LEN + 1])
{
	struct mctr_err err = { 0 };
	ck_assert_msg(store_put_blob(st, s, strlen(s), NULL, digest, NULL, &err) == 0, "%s", err.msg);
}

/* A manifest + config for an image whose layers are the given blobs and
 * diff_ids (n of each); returns the manifest descriptor. */
static json_t *make_image(const char *tag, char **layer_blobs, char **diff_ids, size_t n)
{
	json_t *ids = json_array(), *layers = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(ids, json_string(diff_ids[i]));
		json_array_append_new(layers, json_pack("{s:s, s:s, s:i}", "mediaType",
		                                        "application/vnd.oci.image.layer.v1.tar", "digest",
		                                        layer_blobs[i], "size", 1));
	}
	_cleanup_json_ json_t *cfg = json_pack("{s:s, s:{s:s, s:o}}", "tag", tag, "rootfs", "type", "layers",
	                                       "diff_ids", ids);
	size_t len;
	_cleanup_free_ char *cfg_bytes = json_dump_canonical(cfg, &len);
	char cfg_digest[DIGEST_LEN + 1], m_digest[DIGEST_LEN + 1];
	put(cfg_bytes, cfg_digest);
	_cleanup_json_ json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
	                                     MT_MANIFEST, "config", "mediaType",
	                                     "application/vnd.oci.image.config.v1+json", "digest", cfg_digest, "size",
	                                     (json_int_t)len, "layers", layers);
	_cleanup_free_ char *m_bytes = json_dump_canonical(m, &len);
	put(m_bytes, m_digest);
	return json_pack("{s:s, s:s, s:I}", "mediaType", MT_MANIFEST, "digest", m_digest, "size", (json_int_t)len);
}

START_TEST(blob_writer_verifies_before_the_blob_has_a_name)
{
	struct mctr_err err = { 0 };
	char good[DIGEST_LEN + 1];
	sha256_digest_buf("hello", 5, good);

	/* Wrong content under the right size: refused at verify, never linked. */
	struct blob_writer *w;
	ck_assert_int_eq(blob_writer_new(st, good, 5, "test blob", &w, &err), 0);
	ck_assert_int_eq(blob_writer_write(w, "hellO", 5, &err), 0);
	ck_assert_int_lt(blob_writer_commit(w, NULL, &err), 0);
	ck_assert_msg(strstr(err.msg, "does not match digest") != NULL, "%s", err.msg);
	blob_writer_free(w);
	ck_assert_uint_eq(count_entries(st->blobs_fd), 0);
	ck_assert_uint_eq(count_entries(st->ingest_fd), 0);

	/* More bytes than the descriptor gives: refused at the write itself. */
	ck_assert_int_eq(blob_writer_new(st, good, 5, "test blob", &w, &err), 0);
	ck_assert_int_lt(blob_writer_write(w, "hello!", 6, &err), 0);
	ck_assert_msg(strstr(err.msg, "more data than") != NULL, "%s", err.msg);
	blob_writer_free(w);
	ck_assert_uint_eq(count_entries(st->blobs_fd), 0);

	/* Good content: read-only under its digest; a second copy is not written. */
	bool created = false;
	ck_assert_int_eq(store_put_blob(st, "hello", 5, good, NULL, &created, &err), 0);
	ck_assert(created);
	struct stat a, b;
	ck_assert_int_eq(fstatat(st->blobs_fd, digest_hex(good), &a, 0), 0);
	ck_assert_int_eq(a.st_mode & 07777, 0444);
	ck_assert_int_eq(store_put_blob(st, "hello", 5, good, NULL, &created, &err), 0);
	ck_assert(!created);
	ck_assert_int_eq(fstatat(st->blobs_fd, digest_hex(good), &b, 0), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_uint_eq(count_entries(st->ingest_fd), 0);
}
END_TEST

START_TEST(per_digest_lock_is_exclusive)
{
	struct mctr_err err = { 0 };
	char digest[DIGEST_LEN + 1];
	sha256_digest_buf("abc", 3, digest);
	int fd = -1, fd2 = -1;
	ck_assert_int_eq(store_lock_digest(st, digest, true, &fd, &err), 0);
	ck_assert_int_ge(fd, 0);
	/* flock is per open file: a second open, even in this process, is refused. */
	ck_assert_int_eq(store_lock_digest(st, digest, false, &fd2, &err), 1);
	struct blob_writer *w = NULL;
	ck_assert_int_eq(blob_writer_resume(st, digest, 3, "test blob", false, &w, &err), 1);
	ck_assert_ptr_null(w);
	close(fd);
	ck_assert_int_eq(store_lock_digest(st, digest, false, &fd2, &err), 0);
	close(fd2);
	ck_assert_int_lt(store_lock_digest(st, "sha256:../../etc", true, &fd2, &err), 0);
}
END_TEST

START_TEST(partial_download_is_resumed_or_thrown_away)
{
	struct mctr_err err = { 0 };
	const char data[] = "0123456789";
	char digest[DIGEST_LEN + 1];
	sha256_digest_buf(data, 10, digest);
	char partial[DIGEST_HEX_LEN + 16];
	snprintf(partial, sizeof partial, "%s.partial", digest_hex(digest));

	/* Interrupted after 4 bytes: the partial file stays, nothing in blobs/. */
	struct blob_writer *w;
	ck_assert_int_eq(blob_writer_resume(st, digest, 10, "test blob", true, &w, &err), 0);
	ck_assert_int_eq(blob_writer_partial_size(w), 0);
	ck_assert_int_eq(blob_writer_write(w, data, 4, &err), 0);
	blob_writer_free(w);
	ck_assert(exists_at(st->ingest_fd, partial));
	ck_assert(!store_blob_exists(st, digest));

	/* The next writer replays the 4 bytes and adds the rest. */
	ck_assert_int_eq(blob_writer_resume(st, digest, 10, "test blob", true, &w, &err), 0);
	ck_assert_int_eq(blob_writer_partial_size(w), 4);
	ck_assert_int_lt(blob_writer_write(w, data + 4, 6, &err), 0); /* replay first */
	ck_assert_int_eq(blob_writer_replay(w, NULL, NULL, &err), 0);
	ck_assert_int_eq(blob_writer_write(w, data + 4, 6, &err), 0);
	bool created = false;
	ck_assert_msg(blob_writer_commit(w, &created, &err) == 0, "%s", err.msg);
	ck_assert(created);
	blob_writer_free(w);
	ck_assert(store_blob_exists(st, digest));
	ck_assert(!exists_at(st->ingest_fd, partial));

	/* A partial whose content proves wrong is removed, not resumed. */
	char other[DIGEST_LEN + 1];
	sha256_digest_buf("abcdefghij", 10, other);
	snprintf(partial, sizeof partial, "%s.partial", digest_hex(other));
	ck_assert_int_eq(blob_writer_resume(st, other, 10, "test blob", true, &w, &err), 0);
	ck_assert_int_eq(blob_writer_write(w, data, 10, &err), 0);
	ck_assert_int_lt(blob_writer_verify(w, NULL, &err), 0);
	blob_writer_free(w);
	ck_assert(!exists_at(st->ingest_fd, partial));
	ck_assert(!store_blob_exists(st, other));
}
END_TEST

static size_t entries_for(json_t *idx, const char *digest, const char *name)
{
	size_t i, n = 0;
	json_t *d;
	json_array_foreach(json_get_arr(idx, "manifests"), i, d) {
		const char *nm = json_get_str(json_get_obj(d, "annotations"), MCTR_ANNOTATION_REF_NAME);
		if (strcmp(json_get_str(d, "digest"), digest) == 0 &&
		    (name == NULL ? nm == NULL : nm != NULL && strcmp(nm, name) == 0))
			n++;
	}
	return n;
}

START_TEST(index_names_move_and_leave_dangling_images)
{
	struct mctr_err err = { 0 };
	_cleanup_json_ json_t *a = make_image("a", NULL, NULL, 0);
	_cleanup_json_ json_t *b = make_image("b", NULL, NULL, 0);
	const char *da = json_get_str(a, "digest"), *db = json_get_str(b, "digest");
	const char *name = "docker.io/library/x:1";

	ck_assert_int_eq(store_add_unnamed(st, a, &err), 0);
	ck_assert_int_eq(store_add_unnamed(st, a, &err), 0); /* once only */
	ck_assert_int_eq(store_name_image(st, name, a, &err), 0);
	_cleanup_json_ json_t *idx = store_index_read(st, &err);
	ck_assert_uint_eq(json_array_size(json_get_arr(idx, "manifests")), 1);
	ck_assert_uint_eq(entries_for(idx, da, name), 1);

	/* The name moves to b; a stays, unnamed (Docker's dangling image). */
	ck_assert_int_eq(store_name_image(st, name, b, &err), 0);
	json_decref(idx);
	idx = store_index_read(st, &err);
	ck_assert_uint_eq(json_array_size(json_get_arr(idx, "manifests")), 2);
	ck_assert_uint_eq(entries_for(idx, da, NULL), 1);
	ck_assert_uint_eq(entries_for(idx, db, name), 1);

	/* Removing b's last name keeps it unnamed only when asked. */
	ck_assert_int_eq(store_remove_name(st, name, true, &err), 0);
	json_decref(idx);
	idx = store_index_read(st, &err);
	ck_assert_uint_eq(entries_for(idx, db, NULL), 1);
	ck_assert_int_lt(store_remove_name(st, name, false, &err), 0);
	ck_assert_msg(strstr(err.msg, "no such image") != NULL, "%s", err.msg);
	ck_assert_int_eq(store_remove_image(st, db, false, &err), 0);
	ck_assert_int_eq(store_remove_image(st, da, false, &err), 0);
	json_decref(idx);
	idx = store_index_read(st, &err);
	ck_assert_uint_eq(json_array_size(json_get_arr(idx, "manifests")), 0);

	/* The store is a valid OCI layout. */
	_cleanup_free_ char *layout = NULL;
	size_t len;
	ck_assert_int_eq(file_read_at(st->oci_fd, "oci-layout", 4096, &layout, &len, &err), 0);
	ck_assert_str_eq(layout, "{\"imageLayoutVersion\":\"1.0.0\"}");
}
END_TEST

static void touch_at(int dirfd, const char *name, time_t age)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct timespec t[2] = { { .tv_sec = time(NULL) - age }, { .tv_sec = time(NULL) - age } };
	ck_assert_int_eq(utimensat(dirfd, name, t, 0), 0);
}

START_TEST(gc_sweeps_what_no_image_reaches)
{
	struct mctr_err err = { 0 };
	char layer[DIGEST_LEN + 1], stray[DIGEST_LEN + 1], diff_id[DIGEST_LEN + 1], other_layer[DIGEST_LEN + 1];
	put("layer blob", layer);
	put("no image uses this", stray);
	sha256_digest_buf("diff", 4, diff_id);
	sha256_digest_buf("other", 5, other_layer);
	char *blobs[] = { layer }, *ids[] = { diff_id };
	_cleanup_json_ json_t *desc = make_image("kept", blobs, ids, 1);
	ck_assert_int_eq(store_name_image(st, "docker.io/library/kept:latest", desc, &err), 0);
	_cleanup_json_ json_t *config = NULL;
	{
		_cleanup_json_ json_t *m = store_blob_json(st, json_get_str(desc, "digest"), &err);
		config = json_incref(json_get_obj(m, "config"));
	}
	ck_assert_int_eq(mkdirat(st->layers_fd, digest_hex(diff_id), 0755), 0);
	ck_assert_int_eq(mkdirat(st->layers_fd, digest_hex(other_layer), 0755), 0);
	ck_assert_int_eq(mkdirat(st->layers_fd, ".tmp-1-0000000000000000", 0755), 0);
	touch_at(st->ingest_fd, "fresh.partial", 60);
	touch_at(st->ingest_fd, "old.partial", 2 * 24 * 3600);
	touch_at(st->ingest_fd, ".tmp-1-0000000000000000", 0);
	touch_at(st->locks_fd, "blob-0000", 0);
	touch_at(st->locks_fd, "store.lock", 0);
	touch_at(st->oci_fd, ".tmp-index.json-1", 0);

	struct store_gc_stats stats;
	ck_assert_msg(store_gc(st, &stats, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(stats.blobs_removed, 1);
	ck_assert_uint_eq(stats.layers_removed, 2);
	ck_assert(store_blob_exists(st, json_get_str(desc, "digest")));
	ck_assert(store_blob_exists(st, json_get_str(config, "digest")));
	ck_assert(store_blob_exists(st, layer));
	ck_assert(!store_blob_exists(st, stray));
	ck_assert(store_layer_exists(st, diff_id));
	ck_assert(!store_layer_exists(st, other_layer));
	ck_assert_uint_eq(count_entries(st->layers_fd), 1);
	ck_assert(exists_at(st->ingest_fd, "fresh.partial"));
	ck_assert_uint_eq(count_entries(st->ingest_fd), 1);
	ck_assert(!exists_at(st->locks_fd, "blob-0000"));
	ck_assert(exists_at(st->locks_fd, "store.lock"));
	ck_assert(!exists_at(st->oci_fd, ".tmp-index.json-1"));
	ck_assert_int_eq(st->lock_mode, 0); /* released */
}
END_TEST

static unsigned lines;
static void count_line(void *arg, const char *text)
{
	(void)arg;
	(void)text;
	lines++;
}

START_TEST(system_check_counts_each_image_once_and_repairs)
{
	struct mctr_err err = { 0 };
	_cleanup_json_ json_t *desc = make_image("checked", NULL, NULL, 0);
	ck_assert_int_eq(store_name_image(st, "docker.io/library/c:1", desc, &err), 0);
	ck_assert_int_eq(store_name_image(st, "docker.io/library/c:2", desc, &err), 0);

	struct store_check c = { .problems = { .line = count_line } };
	ck_assert_msg(store_check(st, &c, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(c.images_checked, 1);
	ck_assert_uint_eq(c.blobs_checked, 2);
	ck_assert_uint_eq(c.problems.count, 0);

	/* Damage the config: one problem for the blob, one for the image (not
	 * one per name); --repair removes blob and image, GC the manifest. */
	_cleanup_json_ json_t *m = store_blob_json(st, json_get_str(desc, "digest"), &err);
	const char *cfg = json_get_str(json_get_obj(m, "config"), "digest");
	ck_assert_int_eq(fchmodat(st->blobs_fd, digest_hex(cfg), 0644, 0), 0);
	int fd = openat(st->blobs_fd, digest_hex(cfg), O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{}", 2), 2);
	close(fd);

	lines = 0;
	c = (struct store_check){ .problems = { .line = count_line } };
	ck_assert_msg(store_check(st, &c, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(c.problems.count, 2);
	ck_assert_uint_eq(lines, 2);
	ck_assert_uint_eq(count_entries(st->blobs_fd), 2); /* nothing removed without repair */

	c = (struct store_check){ .repair = true };
	ck_assert_msg(store_check(st, &c, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(c.problems.count, 2);
	ck_assert_uint_eq(count_entries(st->blobs_fd), 0);
	_cleanup_json_ json_t *idx = store_index_read(st, &err);
	ck_assert_uint_eq(json_array_size(json_get_arr(idx, "manifests")), 0);

	c = (struct store_check){ 0 };
	ck_assert_int_eq(store_check(st, &c, &err), 0);
	ck_assert_uint_eq(c.problems.count, 0);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, blob_writer_verifies_before_the_blob_has_a_name);
	tcase_add_test(tc, per_digest_lock_is_exclusive);
	tcase_add_test(tc, partial_download_is_resumed_or_thrown_away);
	tcase_add_test(tc, index_names_move_and_leave_dangling_images);
	tcase_add_test(tc, gc_sweeps_what_no_image_reaches);
	tcase_add_test(tc, system_check_counts_each_image_once_and_repairs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(store_suite());
}
