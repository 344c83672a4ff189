/* mctr tag SOURCE TARGET */
#include <stdio.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/ref.h"

static const char usage[] = "Usage: mctr tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
                            "Give an image another name.\n";

int cmd_tag(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	struct cli_opts o = { usage, "", NULL };
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 2, 2, usage, err) < 0)
		return -1;
	_cleanup_ref_ struct image_ref target = { 0 };
	if (ref_parse(argv[optind + 1], &target, err) < 0)
		return -1;
	if (target.digest != NULL)
		return mctr_fail(err, 0, "cannot tag with a digest reference \"%s\"", argv[optind + 1]);
	struct store *st;
	struct store_image *img = NULL;
	if (cli_store(cli, &st, err) < 0 || store_lock(st, false, err) < 0 ||
	    store_image_lookup(st, argv[optind], &img, err) < 0)
		return -1;
	_cleanup_free_ char *name = ref_string(&target);
	json_t *desc = json_pack("{s:s, s:s, s:I}", "mediaType", img->manifest_media_type, "digest",
	                         img->manifest_digest, "size", (json_int_t)img->manifest_size);
	int rc = store_name_image(st, name, desc, err);
	json_decref(desc);
	store_image_free(img);
	return rc;
}
