#include "mctr/err.h"

#include <stdio.h>
#include <string.h>

int mctr_fail(struct mctr_err *err, int errnum, const char *fmt, ...)
{
	if (err == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		err->msg[0] = '\0';
	size_t len = strlen(err->msg);
	if (errnum != 0 && len < sizeof err->msg)
		snprintf(err->msg + len, sizeof err->msg - len, ": %s", strerror(errnum));
	err->errnum = errnum;
	return -1;
}

int mctr_err_wrap(struct mctr_err *err, const char *fmt, ...)
{
	if (err == NULL)
		return -1;
	char joined[2 * MCTR_ERR_MSG_MAX + 2];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(joined, MCTR_ERR_MSG_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	size_t len = strlen(joined);
	if (err->msg[0] != '\0') {
		memcpy(joined + len, ": ", 2);
		len += 2;
		size_t old = strnlen(err->msg, MCTR_ERR_MSG_MAX - 1);
		memcpy(joined + len, err->msg, old);
		len += old;
	}
	if (len >= MCTR_ERR_MSG_MAX)
		len = MCTR_ERR_MSG_MAX - 1;
	memcpy(err->msg, joined, len);
	err->msg[len] = '\0';
	return -1;
}

void mctr_err_clear(struct mctr_err *err)
{
	if (err == NULL)
		return;
	err->errnum = 0;
	err->status = 0;
	err->msg[0] = '\0';
}

int mctr_err_exit_status(const struct mctr_err *err)
{
	if (err == NULL || err->status == 0)
		return MCTR_EXIT_ERROR;
	return err->status;
}
