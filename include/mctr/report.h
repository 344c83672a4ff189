/* Findings of a check (`mctr system check`): each one a line handed to the
 * caller, counted.  Library code reports through this and never prints. */
#ifndef MCTR_REPORT_H
#define MCTR_REPORT_H

struct mctr_report {
	void (*line)(void *arg, const char *text); /* may be NULL: only count */
	void *arg;
	unsigned count;
};

void mctr_report(struct mctr_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
