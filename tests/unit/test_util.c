/* Unit tests for src/util and src/crypto: errors, digests, fs helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/digest.h"
#include "mctr/err.h"
#include "mctr/fsutil.h"
#include "mctr/sha256.h"
#include "testutil.h"

START_TEST(err_wrap_adds_context)
{
	struct mctr_err err = { 0 };
	ck_assert_int_eq(mctr_fail(&err, ENOENT, "open %s", "x"), -1);
	ck_assert_str_eq(err.msg, "open x: No such file or directory");
	ck_assert_int_eq(err.errnum, ENOENT);
	mctr_err_wrap(&err, "loading %s", "img.tar");
	ck_assert_str_eq(err.msg, "loading img.tar: open x: No such file or directory");
	ck_assert_int_eq(mctr_err_exit_status(&err), 125);
}
END_TEST

START_TEST(digest_validation)
{
	const char *ok = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	ck_assert(digest_is_valid(ok));
	ck_assert(!digest_is_valid("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
	ck_assert(!digest_is_valid("sha256:e3b0"));
	ck_assert(!digest_is_valid("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	ck_assert(!digest_is_valid("sha256:../../../../etc/passwd00000000000000000000000000000000000000000"));
	ck_assert(!digest_is_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550"));
	struct mctr_err err = { 0 };
	ck_assert_int_lt(digest_check("md5:abc", "config digest", NULL, &err), 0);
	ck_assert(strstr(err.msg, "unsupported digest algorithm") != NULL);
}
END_TEST

START_TEST(sha256_known_vectors)
{
	char d[DIGEST_LEN + 1];
	sha256_digest_buf("", 0, d);
	ck_assert_str_eq(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	struct sha256 *h = sha256_new();
	sha256_update(h, "a", 1);
	sha256_update(h, "bc", 2);
	sha256_final(h, d);
	ck_assert_str_eq(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_free(h);
}
END_TEST

START_TEST(open_in_root_stays_inside)
{
	_cleanup_free_ char *dir = test_mkdtemp("inroot");
	_cleanup_close_ int root = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(root, 0);
	ck_assert_int_eq(mkdirat(root, "etc", 0755), 0);
	int fd = openat(root, "etc/passwd", O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(symlinkat("/etc", root, "abs"), 0);
	ck_assert_int_eq(symlinkat("../../../../etc", root, "rel"), 0);
	struct mctr_err err = { 0 };
	/* Both links resolve to <root>/etc, never to the host's /etc. */
	const char *paths[] = { "abs/passwd", "rel/passwd", "/../../etc/passwd" };
	for (size_t i = 0; i < 3; i++) {
		_cleanup_close_ int f = open_in_root(root, paths[i], O_RDONLY, 0, &err);
		ck_assert_msg(f >= 0, "%s: %s", paths[i], err.msg);
		struct stat a, b;
		ck_assert_int_eq(fstat(f, &a), 0);
		ck_assert_int_eq(fstatat(root, "etc/passwd", &b, 0), 0);
		ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	}
	/* mkdir_in_root through an absolute symlink creates inside the root. */
	_cleanup_close_ int d = mkdir_in_root(root, "abs/new/deep", 0755, &err);
	ck_assert_msg(d >= 0, "%s", err.msg);
	struct stat st;
	ck_assert_int_eq(fstatat(root, "etc/new/deep", &st, 0), 0);
	/* A dangling link gets its target made inside the root (as runc does). */
	ck_assert_int_eq(symlinkat("/var/tmp/not-on-the-host", root, "dangling"), 0);
	_cleanup_close_ int d2 = mkdir_in_root(root, "/dangling/sub", 0755, &err);
	ck_assert_msg(d2 >= 0, "%s", err.msg);
	ck_assert_int_eq(fstatat(root, "var/tmp/not-on-the-host/sub", &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_ne(access("/var/tmp/not-on-the-host", F_OK), 0);
	test_rmtree(dir);
}
END_TEST

START_TEST(atomic_write_and_rm_rf)
{
	_cleanup_free_ char *dir = test_mkdtemp("atomic");
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct mctr_err err = { 0 };
	ck_assert_int_eq(file_write_atomic_at(dfd, "f", "hello", 5, 0600, &err), 0);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	ck_assert_int_eq(file_read_at(dfd, "f", 100, &buf, &len, &err), 0);
	ck_assert_str_eq(buf, "hello");
	ck_assert_int_lt(file_read_at(dfd, "f", 3, &buf, &len, &err), 0);
	ck_assert_int_eq(mkdir_p_at(dfd, "a/b/c", 0755, &err), 0);
	ck_assert_int_eq(fchmodat(dfd, "a/b", 0, 0), 0);
	ck_assert_int_eq(symlinkat("/etc", dfd, "a/link"), 0);
	ck_assert_int_eq(rm_rf_at(dfd, "a", &err), 0);
	ck_assert_int_lt(faccessat(dfd, "a", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(access("/etc/passwd", F_OK), 0);
	test_rmtree(dir);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, err_wrap_adds_context);
	tcase_add_test(tc, digest_validation);
	tcase_add_test(tc, sha256_known_vectors);
	tcase_add_test(tc, open_in_root_stays_inside);
	tcase_add_test(tc, atomic_write_and_rm_rf);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(util_suite());
}
