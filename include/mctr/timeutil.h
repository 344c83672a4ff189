/* RFC 3339 timestamps, as image configs and container state use them. */
#ifndef MCTR_TIMEUTIL_H
#define MCTR_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Seconds since the epoch, or -1 if s is not RFC 3339
 * ("2024-05-01T10:20:30Z", fractions and +hh:mm offsets accepted). */
long long rfc3339_parse(const char *s);

/* "2024-05-01T10:20:30.123456789Z" (UTC) for seconds+nanoseconds. */
void rfc3339_format(long long secs, long nsecs, char *buf, size_t len);

/* The current time in that form. */
void rfc3339_now(char *buf, size_t len);

/* Milliseconds on the monotonic clock, for deadlines and intervals. */
int64_t monotonic_ms(void);

/* Sleep ms milliseconds; a signal handled meanwhile does not cut it short. */
void sleep_ms(long ms);

#endif
