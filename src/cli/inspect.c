/* mctr inspect: images as JSON (Docker's field names where it has them). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/ref.h"

static const char usage[] = "Usage: mctr inspect [OPTIONS] NAME|ID [NAME|ID...]\n\n"
                            "Show details of images as one JSON array.\n\n"
                            "Options:\n"
                            "  -t, --type image   only look for images\n";

json_t *cli_image_inspect_json(const struct store_image *img);

json_t *cli_image_inspect_json(const struct store_image *img)
{
	json_t *tags = json_array(), *digests = json_array();
	for (char **p = img->names; *p != NULL; p++) {
		struct image_ref ref = { 0 };
		if (ref_parse(*p, &ref, NULL) < 0)
			continue;
		_cleanup_free_ char *fam = ref_familiar(&ref);
		_cleanup_free_ char *repo = ref_familiar_name(&ref);
		_cleanup_free_ char *rd = xasprintf("%s@%s", repo, img->manifest_digest);
		if (ref.tag != NULL)
			json_array_append_new(tags, json_string(fam));
		json_array_append_new(digests, json_string(rd));
		ref_clear(&ref);
	}
	const json_t *cfg = img->config;
	json_t *layers = json_deep_copy(json_get_arr(img->manifest, "layers"));
	return json_pack("{s:s, s:o, s:o, s:s, s:o, s:s, s:s, s:s?, s:O?, s:I, s:{s:s, s:o}, s:{s:s, s:s, s:I, s:O, s:o}}",
	                 "Id", img->id, "RepoTags", tags, "RepoDigests", digests,
	                 "Created", json_get_str(cfg, "created") ? json_get_str(cfg, "created") : "",
	                 "Names", json_from_strv(img->names),
	                 "Architecture", json_get_str(cfg, "architecture") ? json_get_str(cfg, "architecture") : "",
	                 "Os", json_get_str(cfg, "os") ? json_get_str(cfg, "os") : "",
	                 "Variant", json_get_str(cfg, "variant"),
	                 "Config", json_get_obj(cfg, "config"), "Size", (json_int_t)img->size,
	                 "RootFS", "Type", "layers", "Layers", json_from_strv(img->diff_ids),
	                 "Manifest", "Digest", img->manifest_digest, "MediaType", img->manifest_media_type ?
	                 img->manifest_media_type : "", "Size", (json_int_t)img->manifest_size,
	                 "Config", json_get_obj(img->manifest, "config"), "Layers", layers);
}

int cmd_inspect(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "type", required_argument, NULL, 't' }, { 0 } };
	struct cli_opts o = { usage, "t:", longopts };
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 't':
			if (strcmp(optarg, "image") != 0)
				return mctr_fail(err, 0, "unsupported --type \"%s\"", optarg);
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, -1, usage, err) < 0)
		return -1;
	struct store *st;
	if (cli_store(cli, &st, err) < 0)
		return -1;
	_cleanup_json_ json_t *out = json_array();
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct store_image *img = NULL;
		if (store_image_lookup(st, argv[i], &img, err) < 0) {
			rc = -1;
			break;
		}
		json_array_append_new(out, cli_image_inspect_json(img));
		store_image_free(img);
	}
	/* Docker prints what it found, then fails for what it did not. */
	char *s = json_dumps(out, JSON_INDENT(4));
	printf("%s\n", s);
	free(s);
	return rc;
}
