/* The one error convention of mctr.
 *
 * Every fallible function takes a trailing `struct mctr_err *err` and returns a
 * negative value on failure after filling `err` with a one-line message and the
 * errno that caused it (0 when none).  Callers add context on the way up with
 * mctr_err_wrap(); only main() prints the message and picks the exit status.
 * Library code never prints and never exits. */
#ifndef MCTR_ERR_H
#define MCTR_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define MCTR_ERR_MSG_MAX 1024

/* Exit statuses shared with Docker. */
enum {
	MCTR_EXIT_ERROR = 125,   /* mctr itself failed */
	MCTR_EXIT_CANNOT_EXEC = 126,
	MCTR_EXIT_NOT_FOUND = 127,
};

struct mctr_err {
	int errnum;  /* errno of the failure, 0 if it was not a system error */
	int status;  /* exit status to report, 0 means MCTR_EXIT_ERROR */
	char msg[MCTR_ERR_MSG_MAX];
};

/* Fill err with "MESSAGE: strerror(errnum)" (or just MESSAGE if errnum is 0)
 * and return -1.  err may be NULL. */
int mctr_fail(struct mctr_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same as mctr_fail(errno, ...) but reads errno first. */
#define mctr_fail_errno(err, ...) mctr_fail((err), errno, __VA_ARGS__)

/* Prefix the existing message with context: "CONTEXT: old message".
 * Returns -1 so it can be used as `return mctr_err_wrap(err, "...")`. */
int mctr_err_wrap(struct mctr_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset err to "no error". */
void mctr_err_clear(struct mctr_err *err);

/* Exit status for a failed command (err->status or 125). */
int mctr_err_exit_status(const struct mctr_err *err);

#endif
