/* mctr system check [--repair] */
#include <stdio.h>

#include "cli.h"
#include "mctr/check.h"

static const char usage[] = "Usage: mctr system check [OPTIONS]\n\n"
                            "Verify every blob's digest and every image's blobs and unpacked layers.\n"
                            "Exits 1 when problems are found (and not repaired).\n\n"
                            "Options:\n"
                            "  -r, --repair   remove damaged blobs, unpack missing layers again, drop images\n"
                            "                 that cannot be made whole, remove leftovers of killed writers\n";

static void print_problem(void *arg, const char *line)
{
	printf("%s\n", line);
}

int mctr_cmd_system_check(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "repair", no_argument, NULL, 'r' }, { 0 } };
	struct cli_opts o = { usage, "r", longopts };
	struct store_check c = { .on_problem = print_problem };
	int opt;
	while ((opt = cli_getopt(argc, argv, &o)) != -1) {
		switch (opt) {
		case 'r':
			c.repair = true;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 0, usage, err) < 0)
		return -1;
	struct store *st;
	if (cli_store(cli, &st, err) < 0 || store_check(st, &c, err) < 0)
		return -1;
	printf("checked %u blobs and %u images: %u problem%s%s\n", c.blobs_checked, c.images_checked, c.problems,
	       c.problems == 1 ? "" : "s", c.repair && c.problems ? " (repaired)" : "");
	return c.problems > 0 && !c.repair ? 1 : 0;
}
