#include <stdio.h>
#include <string.h>

#include "mctr/err.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("mctr version %s\n", MCTR_VERSION);
		return 0;
	}
	fprintf(stderr, "mctr: not implemented yet\n");
	return MCTR_EXIT_ERROR;
}
