#include "mctr/report.h"

#include <stdarg.h>
#include <stdio.h>

void mctr_report(struct mctr_report *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	r->count++;
	if (r->line != NULL)
		r->line(r->arg, line);
}
