/* Shared helpers for the Check unit tests. */
#ifndef MCTR_TESTUTIL_H
#define MCTR_TESTUTIL_H

#include <check.h>

/* A fresh empty directory under $MCTR_TEST_TMP (or /tmp); malloc'd path. */
char *test_mkdtemp(const char *tag);

/* rm -rf of a test directory. */
void test_rmtree(const char *path);

/* Run a suite and return the process exit status. */
int test_run_suite(Suite *s);

#endif
