/* mctr import: a rootfs tarball becomes a one-layer image. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/ref.h"
#include "mctr/source.h"

static const char usage[] = "Usage: mctr import [OPTIONS] FILE|- [REPOSITORY[:TAG]]\n\n"
                            "Import a rootfs tarball (plain, gzip or zstd) as a one-layer image.\n\n"
                            "Options:\n"
                            "  -c, --change INSTR    apply a Dockerfile instruction to the config, e.g.\n"
                            "                        'CMD [\"sh\"]', 'ENV A=1', 'WORKDIR /app' (repeatable)\n"
                            "  -m, --message TEXT    commit message in the image history\n"
                            "  -q, --quiet           do not print the image ID\n";

int mctr_cmd_import(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = {
		{ "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 },
	};
	struct cli_opts o = { usage, "c:m:q", longopts };
	_cleanup_free_ char **changes = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t n_changes = 0;
	const char *message = NULL;
	bool quiet = false;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'c':
			changes[n_changes++] = optarg;
			break;
		case 'm':
			message = optarg;
			break;
		case 'q':
			quiet = true;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, 2, usage, err) < 0)
		return -1;
	const char *input = argv[optind];
	_cleanup_strv_ char **names = xcalloc(2, sizeof(char *));
	if (optind + 1 < argc) {
		struct image_ref ref = { 0 };
		if (ref_parse(argv[optind + 1], &ref, err) < 0)
			return -1;
		names[0] = ref_string(&ref);
		bool digest = ref.digest != NULL;
		ref_clear(&ref);
		if (digest)
			return mctr_fail(err, 0, "cannot import as a digest reference \"%s\"", argv[optind + 1]);
	}
	bool from_stdin = strcmp(input, "-") == 0;
	if (from_stdin && isatty(0))
		return mctr_fail(err, 0, "refusing to read a tarball from a terminal");
	_cleanup_close_ int fd = from_stdin ? fcntl(0, F_DUPFD_CLOEXEC, 3) : open(input, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mctr_fail_errno(err, "open %s", input);
	struct store *st;
	_cleanup_txn_ struct import_txn *txn = NULL;
	char id[DIGEST_LEN + 1];
	if (cli_store(cli, &st, err) < 0 || import_txn_new(st, &txn, err) < 0 ||
	    rootfs_import(txn, fd, from_stdin ? "stdin" : input, changes, message, names, id, err) < 0 ||
	    import_txn_commit(txn, err) < 0)
		return -1;
	if (!quiet)
		printf("%s\n", id);
	return 0;
}
