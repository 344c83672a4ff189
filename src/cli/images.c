/* mctr images: the table Docker prints, or Podman's JSON keys. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/ref.h"
#include "mctr/timeutil.h"

static const char usage[] = "Usage: mctr images [OPTIONS]\n\n"
                            "List images.\n\n"
                            "Options:\n"
                            "  -a, --all            accepted for Docker (mctr has no intermediate images)\n"
                            "  -q, --quiet          only show image IDs\n"
                            "      --no-trunc       show full image IDs\n"
                            "      --format json    print one JSON array (Podman's keys)\n";

/* Split a full stored name into Docker's REPOSITORY and TAG columns. */
static void split_name(const char *name, char **repo, char **tag)
{
	struct image_ref ref = { 0 };
	if (ref_parse(name, &ref, NULL) < 0) {
		*repo = xstrdup(name);
		*tag = xstrdup("<none>");
		return;
	}
	*repo = ref_familiar_name(&ref);
	*tag = xstrdup(ref.tag ? ref.tag : "<none>");
	ref_clear(&ref);
}

static json_t *image_json(const struct store_image *img, int containers)
{
	const char *created = json_get_str(img->config, "created");
	long long t = rfc3339_parse(created);
	json_t *labels = json_get_obj(json_get_obj(img->config, "config"), "Labels");
	json_t *tags = json_array(), *digests = json_array();
	for (char **p = img->names; *p != NULL; p++) {
		struct image_ref ref = { 0 };
		if (ref_parse(*p, &ref, NULL) < 0)
			continue;
		if (ref.tag != NULL)
			json_array_append_new(tags, json_string(*p));
		_cleanup_free_ char *repo = ref_repository(&ref);
		_cleanup_free_ char *with_digest = xasprintf("%s@%s", repo, img->name_digests[p - img->names]);
		json_array_append_new(digests, json_string(with_digest));
		ref_clear(&ref);
	}
	return json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:O?, s:i, s:o, s:s, s:o, s:I, s:s}",
	                 "Id", digest_hex(img->id), "ParentId", "",
	                 "RepoTags", json_array_size(tags) ? tags : (json_decref(tags), json_null()),
	                 "RepoDigests", digests, "Size", (json_int_t)img->size, "SharedSize", (json_int_t)0,
	                 "VirtualSize", (json_int_t)img->size, "Labels", labels, "Containers", containers,
	                 "Names", json_from_strv(img->names), "Digest", img->manifest_digest,
	                 "History", json_from_strv(img->names), "Created", (json_int_t)(t < 0 ? 0 : t),
	                 "CreatedAt", created ? created : "");
}

static void print_row(const struct store_image *img, const char *repo, const char *tag, bool no_trunc)
{
	char size[32], ago[64];
	cli_format_size((double)img->size, size, sizeof size);
	cli_format_ago(rfc3339_parse(json_get_str(img->config, "created")), ago, sizeof ago);
	printf("%-40s %-12s %-14.*s %-24s %s\n", repo, tag, no_trunc ? DIGEST_LEN : SHORT_ID_LEN,
	       no_trunc ? img->id : digest_hex(img->id), ago, size);
}

int cmd_images(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ "format", required_argument, NULL, 'f' },
		{ 0 },
	};
	struct cli_opts o = { usage, "qa", longopts };
	bool quiet = false, no_trunc = false, json = false;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'a':
			break; /* no intermediate images exist in mctr */
		case 'T':
			no_trunc = true;
			break;
		case 'f':
			if (cli_parse_format(optarg, &json, err) < 0)
				return -1;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 0, usage, err) < 0)
		return -1;
	struct store *st;
	if (cli_store(cli, &st, err) < 0)
		return -1;
	struct store_image **list;
	size_t n;
	if (store_image_list(st, &list, &n, err) < 0)
		return -1;
	if (json) {
		_cleanup_json_ json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			_cleanup_strv_ char **users = NULL;
			if (cli_image_users(cli, list[i]->id, &users, err) < 0) {
				store_image_list_free(list, n);
				return -1;
			}
			json_array_append_new(arr, image_json(list[i], (int)mctr_strv_len(users)));
		}
		cli_print_json(arr);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%.*s\n", no_trunc ? DIGEST_LEN : SHORT_ID_LEN,
			       no_trunc ? list[i]->id : digest_hex(list[i]->id));
	} else {
		printf("%-40s %-12s %-14s %-24s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
		for (size_t i = 0; i < n; i++) {
			if (list[i]->names[0] == NULL)
				print_row(list[i], "<none>", "<none>", no_trunc);
			for (char **p = list[i]->names; *p != NULL; p++) {
				_cleanup_free_ char *repo = NULL, *tag = NULL;
				split_name(*p, &repo, &tag);
				print_row(list[i], repo, tag, no_trunc);
			}
		}
	}
	store_image_list_free(list, n);
	return 0;
}
