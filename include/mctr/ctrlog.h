/* Container logs: ctr.log holds one JSON object per line, as Docker's
 * json-file driver: {"log":"text\n","stream":"stdout","time":"RFC 3339"}.
 * Output is cut into entries at newlines (or every 16 KiB). */
#ifndef MCTR_CTRLOG_H
#define MCTR_CTRLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mctr/err.h"

#define CTRLOG_NAME "ctr.log"

struct ctrlog_writer;

/* Append to dirfd/ctr.log. */
int ctrlog_open(int dirfd, struct ctrlog_writer **out, struct mctr_err *err);
/* Add output of stream 1 (stdout) or 2 (stderr). */
int ctrlog_write(struct ctrlog_writer *w, int stream, const char *buf, size_t len, struct mctr_err *err);
/* Flush partial lines and close. */
void ctrlog_close(struct ctrlog_writer *w);

/* Print the log of the container in dirfd: the last `tail` entries (-1:
 * all), with timestamps if asked; with follow, keep printing new entries
 * until still_running() says false. */
struct ctrlog_read_opts {
	FILE *out, *err; /* where each stream goes; NULL: stdout, stderr */
	long tail;
	bool timestamps;
	bool follow;
	bool (*still_running)(void *arg);
	void *arg;
};
int ctrlog_print(int dirfd, const struct ctrlog_read_opts *o, struct mctr_err *err);

#endif
