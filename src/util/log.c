#include "mctr/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static enum mctr_log_level current_level = MCTR_LOG_WARN;

void mctr_log_set_level(enum mctr_log_level level)
{
	current_level = level;
}

enum mctr_log_level mctr_log_get_level(void)
{
	return current_level;
}

void mctr_log(enum mctr_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error", "warning", "info", "debug" };
	if (level > current_level)
		return;
	int saved = errno;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* One write per line so lines from concurrent processes do not interleave. */
	fprintf(stderr, "mctr: %s: %s\n", prefix[level], line);
	errno = saved;
}
