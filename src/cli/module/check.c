/* mctr system check [--repair] */
#include <stdio.h>

#include "cli.h"
#include "mctr/check.h"
#include "mctr/container.h"

static const char usage[] = "Usage: mctr system check [OPTIONS]\n\n"
                            "Verify every blob's digest and every image's blobs and unpacked layers, and\n"
                            "find containers whose monitor died, and cgroups or names left behind.\n"
                            "Exits 1 when problems are found (and not repaired).\n\n"
                            "Options:\n"
                            "  -r, --repair   remove damaged blobs, unpack missing layers again, drop images\n"
                            "                 that cannot be made whole, remove leftovers of killed writers,\n"
                            "                 stop orphaned containers and remove stray cgroups and names\n";

static void print_problem(void *arg, const char *line)
{
	printf("%s\n", line);
}

int mctr_cmd_system_check(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "repair", no_argument, NULL, 'r' }, { 0 } };
	struct cli_opts o = { usage, "r", longopts };
	struct store_check c = { .problems = { .line = print_problem } };
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
	struct ctr_store *cs;
	/* Containers first: a repaired one may release an image.  One report
	 * counts the problems of both. */
	if (cli_ctr_store(cli, &cs, err) < 0 || ctr_check(cs, c.repair, &c.problems, err) < 0 ||
	    cli_store(cli, &st, err) < 0 || store_check(st, &c, err) < 0)
		return -1;
	unsigned total = c.problems.count;
	printf("checked %u blobs, %u images and the containers: %u problem%s%s\n", c.blobs_checked, c.images_checked,
	       total, total == 1 ? "" : "s", c.repair && total ? " (repaired)" : "");
	return total > 0 && !c.repair ? 1 : 0;
}
