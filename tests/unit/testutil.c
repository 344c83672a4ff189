#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/err.h"
#include "mctr/fsutil.h"

char *test_mkdtemp(const char *tag)
{
	const char *base = getenv("MCTR_TEST_TMP");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	mkdir(base, 0755);
	char *path = xasprintf("%s/%s-XXXXXX", base, tag);
	if (mkdtemp(path) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

void test_rmtree(const char *path)
{
	struct mctr_err err = { 0 };
	if (rm_rf_at(AT_FDCWD, path, &err) < 0)
		fprintf(stderr, "cleanup %s: %s\n", path, err.msg);
}

int test_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
