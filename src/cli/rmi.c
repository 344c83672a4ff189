/* mctr rmi and mctr image prune: drop names, then collect what no image
 * uses any more.  Both run under the exclusive store lock, so a concurrent
 * `run` (which holds it shared while it pins its image) is never robbed. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/ref.h"

static const char rmi_usage[] = "Usage: mctr rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
                                "Remove images.  An image goes with its last name.\n\n"
                                "Options:\n"
                                "  -f, --force   remove an image with several names, or untag one that\n"
                                "                containers use (it stays, unnamed, until they are gone)\n";

void cli_print_untagged(const char *full_name)
{
	struct image_ref ref = { 0 };
	if (ref_parse(full_name, &ref, NULL) < 0) {
		printf("Untagged: %s\n", full_name);
		return;
	}
	_cleanup_free_ char *fam = ref_familiar(&ref);
	printf("Untagged: %s\n", fam);
	ref_clear(&ref);
}

/* The stored name `arg` designates, if it was given as a name. */
static const char *matching_name(const struct store_image *img, const char *arg)
{
	struct image_ref ref = { 0 };
	if (ref_parse(arg, &ref, NULL) < 0)
		return NULL;
	_cleanup_free_ char *full = ref_string(&ref);
	ref_clear(&ref);
	for (char **p = img->names; *p != NULL; p++)
		if (strcmp(*p, full) == 0)
			return *p;
	return NULL;
}

static int remove_one(struct cli *cli, const char *arg, void *forcep, struct mctr_err *err)
{
	bool force = *(bool *)forcep;
	struct store *st = cli->store;
	struct store_image *img = NULL;
	if (store_image_lookup(st, arg, &img, err) < 0)
		return -1;
	int rc = -1;
	_cleanup_strv_ char **users = NULL;
	const char *name = matching_name(img, arg);
	size_t n_names = mctr_strv_len(img->names);
	if (name != NULL && n_names > 1) {
		/* One of several names: untag only. */
		if (store_remove_name(st, name, true, err) < 0)
			goto out;
		cli_print_untagged(name);
		rc = 0;
		goto out;
	}
	if (name == NULL && n_names > 1 && !force) {
		rc = mctr_fail(err, 0, "unable to delete %.12s (must be forced): image is referenced in %zu names",
		               digest_hex(img->id), n_names);
		goto out;
	}
	if (cli_image_users(cli, img->id, &users, err) < 0)
		goto out;
	if (users[0] != NULL && !force) {
		rc = mctr_fail(err, 0, "unable to remove image %s: container %s is using it (use -f to untag it anyway)",
		               arg, users[0]);
		goto out;
	}
	for (char **p = img->names; *p != NULL; p++)
		cli_print_untagged(*p);
	if (store_remove_image(st, img->manifest_digest, users[0] != NULL, err) < 0)
		goto out;
	if (users[0] == NULL)
		printf("Deleted: %s\n", img->id);
	rc = 0;
out:
	store_image_free(img);
	return rc;
}

int cmd_rmi(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	struct cli_opts o = { rmi_usage, "f", longopts };
	bool force = false;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, -1, rmi_usage, err) < 0)
		return -1;
	struct store *st;
	if (cli_store(cli, &st, err) < 0 || store_lock(st, true, err) < 0)
		return -1;
	int rc = cli_for_each_operand(cli, argc, argv, remove_one, &force, err);
	struct mctr_err gc_err = { 0 };
	if (store_gc(st, NULL, &gc_err) < 0 && rc == 0) {
		*err = gc_err;
		return -1;
	}
	return rc;
}

static const char prune_usage[] = "Usage: mctr image prune [OPTIONS]\n\n"
                                  "Remove images without a name (with -a: every image) that no container uses,\n"
                                  "and everything in the store that no image needs.\n\n"
                                  "Options:\n"
                                  "  -a, --all     remove all unused images, not just unnamed ones\n"
                                  "  -f, --force   do not ask (mctr never asks; accepted for Docker scripts)\n";

int cmd_image_prune(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' }, { "force", no_argument, NULL, 'f' }, { 0 } };
	struct cli_opts o = { prune_usage, "af", longopts };
	bool all = false;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'f':
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 0, 0, prune_usage, err) < 0)
		return -1;
	struct store *st;
	struct store_image **list;
	size_t n;
	if (cli_store(cli, &st, err) < 0 || store_lock(st, true, err) < 0 || store_image_list(st, &list, &n, err) < 0)
		return -1;
	int rc = 0;
	bool header = false;
	for (size_t i = 0; i < n; i++) {
		if (!all && list[i]->names[0] != NULL)
			continue;
		_cleanup_strv_ char **users = NULL;
		if ((rc = cli_image_users(cli, list[i]->id, &users, err)) < 0)
			break;
		if (users[0] != NULL)
			continue;
		if ((rc = store_remove_image(st, list[i]->manifest_digest, false, err)) < 0)
			break;
		if (!header)
			printf("Deleted Images:\n");
		header = true;
		for (char **p = list[i]->names; *p != NULL; p++)
			cli_print_untagged(*p);
		printf("deleted: %s\n", list[i]->id);
	}
	store_image_list_free(list, n);
	struct store_gc_stats stats;
	if (rc < 0 || store_gc(st, &stats, err) < 0)
		return -1;
	char size[32];
	cli_format_size((double)stats.bytes_freed, size, sizeof size);
	printf("Total reclaimed space: %s\n", size);
	return 0;
}
