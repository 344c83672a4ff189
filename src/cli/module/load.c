/* mctr load: docker-archive, OCI archive (file or stdin) or OCI layout
 * directory.  Everything is staged and verified first and committed
 * together, so a bad input leaves the store exactly as it was. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/ref.h"
#include "mctr/source.h"

static const char usage[] = "Usage: mctr load [OPTIONS]\n\n"
                            "Load images from a docker-archive (docker save), an OCI archive or an OCI\n"
                            "image layout directory.  Layers may be uncompressed, gzip or zstd.\n\n"
                            "Options:\n"
                            "  -i, --input FILE|DIR|-   read from FILE, a layout DIR, or stdin (default)\n"
                            "  -q, --quiet              print nothing\n";

static void print_loaded(struct import_txn *txn)
{
	size_t n;
	const struct imported_image *imgs = import_txn_images(txn, &n);
	for (size_t i = 0; i < n; i++) {
		bool named = false, seen = false;
		for (size_t k = 0; k < n; k++)
			if (strcmp(imgs[k].manifest_digest, imgs[i].manifest_digest) == 0) {
				named |= imgs[k].names[0] != NULL;
				seen |= k < i && imgs[k].names[0] == NULL && imgs[i].names[0] == NULL;
			}
		for (char **p = imgs[i].names; *p != NULL; p++) {
			struct image_ref ref = { 0 };
			if (ref_parse(*p, &ref, NULL) == 0) {
				_cleanup_free_ char *fam = ref_familiar(&ref);
				printf("Loaded image: %s\n", fam);
				ref_clear(&ref);
			}
		}
		if (!named && !seen)
			printf("Loaded image ID: %s\n", imgs[i].id);
	}
}

int mctr_cmd_load(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' }, { "quiet", no_argument, NULL, 'q' }, { 0 } };
	struct cli_opts o = { usage, "i:q", longopts };
	const char *input = "-";
	bool quiet = false;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'q':
			quiet = true;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 0, usage, err) < 0)
		return -1;
	bool from_stdin = strcmp(input, "-") == 0;
	if (from_stdin && isatty(0))
		return mctr_fail(err, 0, "refusing to read an archive from a terminal (use -i FILE or a pipe)");
	_cleanup_close_ int fd = from_stdin ? fcntl(0, F_DUPFD_CLOEXEC, 3) : open(input, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mctr_fail_errno(err, "open %s", input);
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return mctr_fail_errno(err, "stat %s", input);
	const char *what = from_stdin ? "stdin" : input;

	struct store *st;
	_cleanup_txn_ struct import_txn *txn = NULL;
	_cleanup_source_ struct image_source *src = NULL;
	if (cli_store(cli, &st, err) < 0 || import_txn_new(st, &txn, err) < 0)
		return -1;
	if (S_ISDIR(sb.st_mode)) {
		if (source_layout_dir_open(fd, what, &src, err) < 0)
			return -1;
	} else if (source_archive_scan(txn, fd, what, &src, err) < 0) {
		return -1;
	}
	int rc;
	if (source_is_docker_archive(src))
		rc = docker_archive_import(src, txn, err);
	else if (source_is_oci_layout(src))
		rc = oci_layout_import(src, txn, err);
	else
		rc = mctr_fail(err, 0, "%s: not a docker-archive or OCI image (no manifest.json or oci-layout)", what);
	if (rc < 0 || import_txn_commit(txn, err) < 0)
		return -1;
	if (!quiet)
		print_loaded(txn);
	return 0;
}
