/* Unit tests for src/util and src/crypto: errors, digests, fs helpers. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/digest.h"
#include "mctr/err.h"
#include "mctr/fsutil.h"
#include "mctr/sha256.h"
#include "mctr/timeutil.h"
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

/* Make openat2(2) fail with ENOSYS in this process, as on kernels before
 * 5.6, so open_in_root/open_beneath take their userspace walks. */
static int deny_openat2(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -1;
	return syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) < 0 && errno == ENOSYS ? 0 : -1;
}

/* 0 if fd is dirfd/path (same inode), else -1. */
static int same_file(int fd, int dirfd, const char *path)
{
	struct stat a, b;
	return fd >= 0 && fstat(fd, &a) == 0 && fstatat(dirfd, path, &b, 0) == 0 && a.st_ino == b.st_ino &&
	               a.st_dev == b.st_dev
	       ? 0
	       : -1;
}

/* The checks of the fallback walks; a message for the first that fails. */
static const char *fallback_checks(int root)
{
	static char why[MCTR_ERR_MSG_MAX + 64];
	struct mctr_err err = { 0 };
	if (deny_openat2() < 0)
		return "cannot make openat2 fail with ENOSYS";
	/* Links in the middle and, alone, at the end of the path. */
	const char *paths[] = { "abs/passwd", "rel/passwd", "/../../etc/passwd", "abs/../etc/passwd", "pwlink",
		                "relpw", "etc/pwlink" };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		int fd = open_in_root(root, paths[i], O_RDONLY, 0, &err);
		int rc = same_file(fd, root, "etc/passwd");
		if (fd >= 0)
			close(fd);
		if (rc < 0) {
			snprintf(why, sizeof why, "open_in_root %s: %s", paths[i], fd < 0 ? err.msg : "another file");
			return why;
		}
	}
	int fd = open_in_root(root, "pwlink/", O_RDONLY, 0, &err);
	if (fd >= 0 || errno != ENOTDIR)
		return "open_in_root pwlink/: a link to a file with a trailing slash must fail with ENOTDIR";
	fd = open_beneath(root, "etc/passwd", O_RDONLY, &err);
	if (same_file(fd, root, "etc/passwd") < 0)
		return "open_beneath etc/passwd";
	close(fd);
	const char *outside[] = { "abs/passwd", "pwlink", "../x", "etc/../../x" };
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
		if (open_beneath(root, outside[i], O_RDONLY, &err) >= 0) {
			snprintf(why, sizeof why, "open_beneath %s must fail", outside[i]);
			return why;
		}
	fd = mkdir_in_root(root, "abs/walked/deep", 0755, &err);
	if (fd < 0 || same_file(fd, root, "etc/walked/deep") < 0)
		return "mkdir_in_root abs/walked/deep";
	close(fd);
	return NULL;
}

START_TEST(open_in_root_without_openat2)
{
	_cleanup_free_ char *dir = test_mkdtemp("inroot-walk");
	_cleanup_close_ int root = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(root, 0);
	ck_assert_int_eq(mkdirat(root, "etc", 0755), 0);
	int fd = openat(root, "etc/passwd", O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(symlinkat("/etc", root, "abs"), 0);
	ck_assert_int_eq(symlinkat("../../../../etc", root, "rel"), 0);
	ck_assert_int_eq(symlinkat("/etc/passwd", root, "pwlink"), 0);
	ck_assert_int_eq(symlinkat("etc/passwd", root, "relpw"), 0);
	ck_assert_int_eq(symlinkat("../pwlink", root, "etc/pwlink"), 0);
	/* The seccomp filter stays with the process: a child of our own. */
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		const char *why = fallback_checks(root);
		if (why != NULL)
			(void)!write(pipefd[1], why, strlen(why));
		_exit(why != NULL);
	}
	close(pipefd[1]);
	char why[MCTR_ERR_MSG_MAX + 64] = "";
	ssize_t n = read(pipefd[0], why, sizeof why - 1);
	close(pipefd[0]);
	why[n > 0 ? n : 0] = '\0';
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", why[0] ? why : "the child died");
	test_rmtree(dir);
}
END_TEST

START_TEST(rfc3339_parse_checks_the_whole_string)
{
	static const struct {
		const char *s;
		long long want;
	} cases[] = {
		{ "2023-11-14T22:13:20Z", 1700000000 },
		{ "2023-11-14T22:13:20.123456789Z", 1700000000 },
		{ "2023-11-14T23:43:20+01:30", 1700000000 },
		{ "2023-11-14T20:43:20.5-01:30", 1700000000 },
		{ "2023-11-14T22:13:20", -1 },
		{ "2023-11-14T22:13:20+1:30", -1 },
		{ "2023-11-14T22:13:20+01:3", -1 },
		{ "2023-11-14T22:13:20+01", -1 },
		{ "2023-11-14T22:13:20+0130", -1 },
		{ "2023-11-14T22:13:20+01:30x", -1 },
		{ "2023-11-14T22:13:20Zx", -1 },
		{ "yesterday", -1 },
	};
	ck_assert_int_eq(rfc3339_parse(NULL), -1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		/* A heap copy of the exact length, so AddressSanitizer sees a read past its end. */
		_cleanup_free_ char *s = xstrdup(cases[i].s);
		ck_assert_msg(rfc3339_parse(s) == cases[i].want, "%s: got %lld, want %lld", s, rfc3339_parse(s),
		              cases[i].want);
	}
	char buf[64];
	rfc3339_format(1700000000, 5, buf, sizeof buf);
	ck_assert_str_eq(buf, "2023-11-14T22:13:20.000000005Z");
	ck_assert_int_eq(rfc3339_parse(buf), 1700000000);
}
END_TEST

START_TEST(atomic_write_leaves_no_temp_file_on_failure)
{
	_cleanup_free_ char *dir = test_mkdtemp("atomic-fail");
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct mctr_err err = { 0 };
	/* A directory where the file should go: the rename fails. */
	ck_assert_int_eq(mkdirat(dfd, "d", 0755), 0);
	ck_assert_int_eq(mkdirat(dfd, "d/x", 0755), 0);
	ck_assert_int_lt(file_write_atomic_at(dfd, "d", "x", 1, 0600, &err), 0);
	ck_assert_msg(strstr(err.msg, "rename into d") != NULL, "%s", err.msg);
	_cleanup_closedir_ DIR *d = fdopendir(dup(dfd));
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		ck_assert_msg(strncmp(de->d_name, ".tmp-", 5) != 0, "left %s", de->d_name);
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
	tcase_add_test(tc, open_in_root_without_openat2);
	tcase_add_test(tc, rfc3339_parse_checks_the_whole_string);
	tcase_add_test(tc, atomic_write_leaves_no_temp_file_on_failure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(util_suite());
}
