/* The one place mctr prints diagnostics.  Library code reports failures
 * through struct mctr_err; it uses these only for warnings that do not stop
 * the operation (and for --debug traces). */
#ifndef MCTR_LOG_H
#define MCTR_LOG_H

enum mctr_log_level {
	MCTR_LOG_ERROR = 0,
	MCTR_LOG_WARN = 1,
	MCTR_LOG_INFO = 2,
	MCTR_LOG_DEBUG = 3,
};

void mctr_log_set_level(enum mctr_log_level level);
enum mctr_log_level mctr_log_get_level(void);

void mctr_log(enum mctr_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define mctr_warn(...) mctr_log(MCTR_LOG_WARN, __VA_ARGS__)
#define mctr_info(...) mctr_log(MCTR_LOG_INFO, __VA_ARGS__)
#define mctr_debug(...) mctr_log(MCTR_LOG_DEBUG, __VA_ARGS__)

#endif
