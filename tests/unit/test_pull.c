/* Unit tests for the store side of pull: the resumable, lock-protected blob
 * writer (store/ingest/blob.c) and the unpacker's non-blocking feed. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/ingest.h"
#include "mctr/sha256.h"
#include "mctr/store.h"
#include "mctr/unpack.h"
#include "testutil.h"

#define BLOB_LEN 300000

static char *make_blob(char digest[DIGEST_LEN + 1])
{
	char *b = xmalloc(BLOB_LEN);
	for (size_t i = 0; i < BLOB_LEN; i++)
		b[i] = (char)(i * 131 + i / 7);
	sha256_digest_buf(b, BLOB_LEN, digest);
	return b;
}

static bool file_exists_at(int dirfd, const char *name)
{
	struct stat sb;
	return fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

struct collected {
	char *buf;
	size_t len;
};

static int collect(void *arg, const void *buf, size_t len, struct mctr_err *err)
{
	struct collected *c = arg;
	c->buf = xrealloc(c->buf, c->len + len);
	memcpy(c->buf + c->len, buf, len);
	c->len += len;
	return 0;
}

START_TEST(resume_after_interruption)
{
	_cleanup_free_ char *dir = test_mkdtemp("pullstore");
	struct store *st;
	struct mctr_err err = { 0 };
	ck_assert_msg(store_open(dir, &st, &err) == 0, "%s", err.msg);
	char digest[DIGEST_LEN + 1];
	_cleanup_free_ char *blob = make_blob(digest);
	char partial[DIGEST_HEX_LEN + 16];
	snprintf(partial, sizeof partial, "%s.partial", digest_hex(digest));

	/* first try: 100000 bytes, then "killed" (freed without commit) */
	struct blob_writer *w;
	ck_assert_int_eq(blob_writer_resume(st, digest, BLOB_LEN, "layer", false, &w, &err), 0);
	ck_assert(!blob_writer_in_store(w));
	ck_assert_int_eq(blob_writer_partial_size(w), 0);
	ck_assert_int_eq(blob_writer_write(w, blob, 100000, &err), 0);
	blob_writer_free(w);
	ck_assert(file_exists_at(st->ingest_fd, partial));
	ck_assert(!store_blob_exists(st, digest));

	/* second try: the partial is replayed, the rest written */
	ck_assert_int_eq(blob_writer_resume(st, digest, BLOB_LEN, "layer", false, &w, &err), 0);
	ck_assert_int_eq(blob_writer_partial_size(w), 100000);
	ck_assert_int_lt(blob_writer_write(w, blob, 10, &err), 0); /* not before the replay */
	struct collected c = { 0 };
	ck_assert_int_eq(blob_writer_replay(w, collect, &c, &err), 0);
	ck_assert_uint_eq(c.len, 100000);
	ck_assert_int_eq(memcmp(c.buf, blob, 100000), 0);
	free(c.buf);
	ck_assert_int_eq(blob_writer_size(w), 100000);
	ck_assert_int_eq(blob_writer_write(w, blob + 100000, BLOB_LEN - 100000, &err), 0);
	ck_assert_int_lt(blob_writer_write(w, "x", 1, &err), 0); /* more than the size */
	ck_assert_int_eq(blob_writer_verify(w, NULL, &err), 0);
	bool created;
	ck_assert_int_eq(blob_writer_commit(w, &created, &err), 0);
	ck_assert(created);
	blob_writer_free(w);
	ck_assert(store_blob_exists(st, digest));
	ck_assert(!file_exists_at(st->ingest_fd, partial));
	struct stat sb;
	ck_assert_int_eq(fstatat(st->blobs_fd, digest_hex(digest), &sb, 0), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0444);

	/* a third writer finds it in the store */
	ck_assert_int_eq(blob_writer_resume(st, digest, BLOB_LEN, "layer", false, &w, &err), 0);
	ck_assert(blob_writer_in_store(w));
	blob_writer_free(w);
	ck_assert(!file_exists_at(st->ingest_fd, partial));
	store_close(st);
	test_rmtree(dir);
}
END_TEST

START_TEST(lock_wrong_content_restart)
{
	_cleanup_free_ char *dir = test_mkdtemp("pullstore");
	struct store *st;
	struct mctr_err err = { 0 };
	ck_assert_int_eq(store_open(dir, &st, &err), 0);
	char digest[DIGEST_LEN + 1];
	_cleanup_free_ char *blob = make_blob(digest);
	char partial[DIGEST_HEX_LEN + 16];
	snprintf(partial, sizeof partial, "%s.partial", digest_hex(digest));

	struct blob_writer *w, *w2 = NULL;
	ck_assert_int_eq(blob_writer_resume(st, digest, BLOB_LEN, "layer", false, &w, &err), 0);
	/* the lock: a second writer of the same blob is told to wait */
	ck_assert_int_eq(blob_writer_resume(st, digest, BLOB_LEN, "layer", false, &w2, &err), 1);
	ck_assert_ptr_null(w2);

	/* restart drops what was written */
	ck_assert_int_eq(blob_writer_write(w, "garbage", 7, &err), 0);
	ck_assert_int_eq(blob_writer_restart(w, &err), 0);
	ck_assert_int_eq(blob_writer_size(w), 0);
	ck_assert_int_eq(blob_writer_partial_size(w), 0);

	/* wrong content of the right size: verify names the digest; the partial goes */
	char *wrong = xmalloc(BLOB_LEN);
	memcpy(wrong, blob, BLOB_LEN);
	wrong[BLOB_LEN / 2] ^= 1;
	ck_assert_int_eq(blob_writer_write(w, wrong, BLOB_LEN, &err), 0);
	free(wrong);
	ck_assert_int_lt(blob_writer_verify(w, NULL, &err), 0);
	ck_assert(strstr(err.msg, digest) != NULL);
	ck_assert(file_exists_at(st->ingest_fd, partial));
	blob_writer_free(w);
	ck_assert(!file_exists_at(st->ingest_fd, partial));
	ck_assert(!store_blob_exists(st, digest));

	/* lock released: the next writer gets it; a too-big partial is not resumed */
	int fd = openat(st->ingest_fd, partial, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, BLOB_LEN + 5), 0);
	close(fd);
	ck_assert_int_eq(blob_writer_resume(st, digest, BLOB_LEN, "layer", false, &w, &err), 0);
	ck_assert_int_eq(blob_writer_partial_size(w), 0);
	blob_writer_free(w);
	store_close(st);
	test_rmtree(dir);
}
END_TEST

START_TEST(synced_then_killed)
{
	_cleanup_free_ char *dir = test_mkdtemp("pullstore");
	struct store *st;
	struct mctr_err err = { 0 };
	ck_assert_int_eq(store_open(dir, &st, &err), 0);
	char digest[DIGEST_LEN + 1];
	_cleanup_free_ char *blob = make_blob(digest);
	char partial[DIGEST_HEX_LEN + 16];
	snprintf(partial, sizeof partial, "%s.partial", digest_hex(digest));
	/* verified and synced ahead of the commit, then killed before it */
	struct blob_writer *w;
	ck_assert_int_eq(blob_writer_resume(st, digest, BLOB_LEN, "layer", false, &w, &err), 0);
	ck_assert_int_eq(blob_writer_write(w, blob, BLOB_LEN, &err), 0);
	ck_assert_int_eq(blob_writer_sync(w, &err), 0);
	blob_writer_free(w);
	struct stat sb;
	ck_assert_int_eq(fstatat(st->ingest_fd, partial, &sb, 0), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0444);
	ck_assert_int_eq(sb.st_size, BLOB_LEN);
	/* the next writer has it all: replay, verify, commit, no byte written */
	ck_assert_int_eq(blob_writer_resume(st, digest, BLOB_LEN, "layer", false, &w, &err), 0);
	ck_assert_int_eq(blob_writer_partial_size(w), BLOB_LEN);
	ck_assert_int_eq(blob_writer_replay(w, NULL, NULL, &err), 0);
	bool created;
	ck_assert_int_eq(blob_writer_commit(w, &created, &err), 0);
	ck_assert(created);
	blob_writer_free(w);
	ck_assert(store_blob_exists(st, digest));
	ck_assert(!file_exists_at(st->ingest_fd, partial));
	store_close(st);
	test_rmtree(dir);
}
END_TEST

/* ---- non-blocking unpacker feed ---------------------------------------------------- */

static la_ssize_t tar_cb(struct archive *a, void *arg, const void *p, size_t n)
{
	collect(arg, p, n, NULL);
	return (la_ssize_t)n;
}

static void small_tar(struct collected *out)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open(a, out, NULL, tar_cb, NULL);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "hello.txt");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 5);
	archive_write_header(a, e);
	archive_write_data(a, "hello", 5);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

START_TEST(try_feed_close_busy)
{
	_cleanup_free_ char *dir = test_mkdtemp("tryfeed");
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct collected tar = { 0 };
	small_tar(&tar);
	struct layer_unpack_opts o = { .parent_dirfd = dfd, .dirname = "layer", .what = "test" };
	struct layer_unpack *u;
	struct mctr_err err = { 0 };
	ck_assert_int_eq(layer_unpack_start(&o, &u, &err), 0);
	ck_assert_uint_gt(layer_unpack_room(u), tar.len);
	static char huge[(4 << 20) + 1];
	ck_assert_int_lt(layer_unpack_try_feed(u, huge, sizeof huge, &err), 0);
	ck_assert_int_eq(layer_unpack_try_feed(u, tar.buf, tar.len, &err), 0);
	ck_assert_int_eq(layer_unpack_close_input(u, &err), 0);
	ck_assert_int_lt(layer_unpack_try_feed(u, tar.buf, 1, &err), 0); /* after the end */
	for (int i = 0; i < 5000 && layer_unpack_busy(u); i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	ck_assert(!layer_unpack_busy(u));
	char diff_id[DIGEST_LEN + 1], want[DIGEST_LEN + 1];
	ck_assert_msg(layer_unpack_finish(u, diff_id, NULL, &err) == 0, "%s", err.msg);
	sha256_digest_buf(tar.buf, tar.len, want);
	ck_assert_str_eq(diff_id, want);
	layer_unpack_free(u, false);
	ck_assert_int_eq(faccessat(dfd, "layer/hello.txt", F_OK, 0), 0);
	free(tar.buf);
	test_rmtree(dir);
}
END_TEST

static Suite *pull_suite(void)
{
	Suite *s = suite_create("pull");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, resume_after_interruption);
	tcase_add_test(tc, lock_wrong_content_restart);
	tcase_add_test(tc, synced_then_killed);
	tcase_add_test(tc, try_feed_close_busy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(pull_suite());
}
