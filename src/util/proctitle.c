#include "mctr/proctitle.h"

#include <string.h>

static char *area;
static size_t area_len;

void proctitle_init(int argc, char **argv)
{
	if (argc <= 0 || argv == NULL || argv[0] == NULL)
		return;
	/* The argv strings are contiguous: from argv[0] to the end of the last. */
	char *end = argv[argc - 1] + strlen(argv[argc - 1]);
	area = argv[0];
	area_len = (size_t)(end - area);
}

void proctitle_set(const char *title)
{
	if (area == NULL || area_len == 0)
		return;
	memset(area, 0, area_len + 1);
	size_t n = strlen(title);
	memcpy(area, title, n < area_len ? n : area_len);
}
