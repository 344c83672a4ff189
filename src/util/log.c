#include "mctr/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

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
	/* One write per line so lines from concurrent processes do not interleave.
	 * Debug lines carry the time since the process started (CLOCK_MONOTONIC
	 * at the first log call is close enough): --debug shows where time goes. */
	if (level == MCTR_LOG_DEBUG) {
		static struct timespec t0;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (t0.tv_sec == 0 && t0.tv_nsec == 0)
			t0 = now;
		double ms = (double)(now.tv_sec - t0.tv_sec) * 1e3 + (double)(now.tv_nsec - t0.tv_nsec) / 1e6;
		fprintf(stderr, "mctr: debug: [%d +%.3f ms] %s\n", (int)getpid(), ms, line);
	} else {
		fprintf(stderr, "mctr: %s: %s\n", prefix[level], line);
	}
	errno = saved;
}
