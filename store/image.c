/* Images as the rest of mctr sees them: a manifest in index.json, its config,
 * its layers' diff_ids, its names; found by name or by ID (prefix). */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/ref.h"
#include "mctr/store.h"

void store_image_free(struct store_image *img)
{
	if (img == NULL)
		return;
	free(img->manifest_media_type);
	mctr_strv_free(img->name_digests);
	mctr_strv_free(img->names);
	mctr_strv_free(img->diff_ids);
	json_decref(img->manifest);
	json_decref(img->config);
	free(img);
}

void store_image_list_free(struct store_image **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_image_free(list[i]);
	free(list);
}

static void image_freep(struct store_image **p)
{
	store_image_free(*p);
}
#define _cleanup_image_ _cleanup_(image_freep)

/* Check a config's rootfs against the manifest and copy its diff_ids. */
static int image_read_layers(struct store_image *img, struct mctr_err *err)
{
	json_t *rootfs = json_get_obj(img->config, "rootfs");
	const char *type = json_get_str(rootfs, "type");
	if (type == NULL || strcmp(type, "layers") != 0)
		return mctr_fail(err, 0, "image config %s: rootfs.type is not \"layers\"", img->id);
	json_t *ids = json_get_arr(rootfs, "diff_ids");
	json_t *layers = json_get_arr(img->manifest, "layers");
	if (ids == NULL || layers == NULL || json_array_size(ids) != json_array_size(layers))
		return mctr_fail(err, 0, "image %s: %zu layers in the manifest but %zu diff_ids in the config",
		                 img->manifest_digest, json_array_size(layers), json_array_size(ids));
	if (json_to_strv(ids, "rootfs.diff_ids", &img->diff_ids, err) < 0)
		return -1;
	img->n_layers = json_array_size(ids);
	for (size_t i = 0; i < img->n_layers; i++)
		if (digest_check(img->diff_ids[i], "config diff_id", NULL, err) < 0)
			return -1;
	size_t i;
	json_t *l;
	img->size = json_get_int(json_get_obj(img->manifest, "config"), "size", 0);
	json_array_foreach(layers, i, l)
		img->size += json_get_int(l, "size", 0);
	return 0;
}

int store_image_load(struct store *st, const char *manifest_digest, struct store_image **out, struct mctr_err *err)
{
	_cleanup_image_ struct store_image *img = xcalloc(1, sizeof *img);
	if (digest_check(manifest_digest, "manifest", NULL, err) < 0)
		return -1;
	snprintf(img->manifest_digest, sizeof img->manifest_digest, "%s", manifest_digest);
	img->names = xcalloc(1, sizeof(char *));
	img->name_digests = xcalloc(1, sizeof(char *));
	img->manifest = store_blob_json(st, manifest_digest, err);
	if (img->manifest == NULL)
		return mctr_err_wrap(err, "image manifest");
	json_t *cfg = json_get_obj(img->manifest, "config");
	const char *cfg_digest = json_get_str(cfg, "digest");
	if (cfg == NULL || json_get_arr(img->manifest, "layers") == NULL)
		return mctr_fail(err, 0, "manifest %s is not an image manifest", manifest_digest);
	if (digest_check(cfg_digest, "config digest in manifest", NULL, err) < 0)
		return -1;
	snprintf(img->id, sizeof img->id, "%s", cfg_digest);
	img->config = store_blob_json(st, cfg_digest, err);
	if (img->config == NULL)
		return mctr_err_wrap(err, "image config");
	if (image_read_layers(img, err) < 0)
		return -1;
	*out = steal_pointer(&img);
	return 0;
}

static void strv_append(char ***v, const char *s)
{
	size_t n = 0;
	while ((*v)[n] != NULL)
		n++;
	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

/* Record index.json entry d, one of img's: its name (with the digest it was
 * pulled by) and, from the first, the descriptor's media type and size. */
static void image_add_index_entry(struct store_image *img, json_t *d)
{
	if (img->manifest_media_type == NULL) {
		const char *mt = json_get_str(d, "mediaType");
		img->manifest_media_type = xstrdup(mt ? mt : "");
		img->manifest_size = json_get_int(d, "size", 0);
	}
	json_t *ann = json_get_obj(d, "annotations");
	const char *name = json_get_str(ann, MCTR_ANNOTATION_REF_NAME);
	if (name != NULL) {
		const char *repo = json_get_str(ann, MCTR_ANNOTATION_REPO_DIGEST);
		strv_append(&img->names, name);
		strv_append(&img->name_digests, repo && digest_is_valid(repo) ? repo : img->manifest_digest);
	}
}

static int image_list_from_index(struct store *st, json_t *manifests, struct store_image ***out, size_t *n_out,
                                 struct mctr_err *err)
{
	size_t n = 0;
	struct store_image **list = xcalloc(json_array_size(manifests) + 1, sizeof *list);
	size_t i;
	json_t *d;
	json_array_foreach(manifests, i, d) {
		const char *digest = json_get_str(d, "digest");
		struct store_image *img = NULL;
		for (size_t k = 0; k < n; k++)
			if (digest && strcmp(list[k]->manifest_digest, digest) == 0)
				img = list[k];
		if (img == NULL) {
			if (store_image_load(st, digest, &img, err) < 0) {
				store_image_list_free(list, n);
				return -1;
			}
			list[n++] = img;
		}
		image_add_index_entry(img, d);
	}
	*out = list;
	*n_out = n;
	return 0;
}

int store_image_list(struct store *st, struct store_image ***out, size_t *n_out, struct mctr_err *err)
{
	_cleanup_json_ json_t *idx = store_index_read(st, err);
	if (idx == NULL)
		return -1;
	return image_list_from_index(st, json_get_arr(idx, "manifests"), out, n_out, err);
}

static bool is_hex_prefix(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DIGEST_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

static int lookup_by_id(struct store_image **list, size_t n, const char *prefix, const char *input,
                        struct store_image **found, struct mctr_err *err)
{
	*found = NULL;
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(digest_hex(list[i]->id), prefix, plen) != 0)
			continue;
		if (*found != NULL && strcmp((*found)->id, list[i]->id) != 0)
			return mctr_fail(err, 0, "image ID %s is ambiguous: more than one image matches", input);
		*found = list[i];
	}
	return 0;
}

/* The manifest digest of the index.json entry ref names (a name, or
 * name@digest: a name of this repository whose manifest is, or was pulled
 * by, that digest), or NULL.  Names need no blob read. */
static const char *index_find_ref(json_t *manifests, const struct image_ref *ref)
{
	_cleanup_free_ char *full = ref_string(ref);
	_cleanup_free_ char *repo = ref_repository(ref);
	size_t rlen = strlen(repo);
	size_t i;
	json_t *d;
	json_array_foreach(manifests, i, d) {
		const char *digest = json_get_str(d, "digest");
		json_t *ann = json_get_obj(d, "annotations");
		const char *name = json_get_str(ann, MCTR_ANNOTATION_REF_NAME);
		if (digest == NULL || name == NULL)
			continue;
		if (ref->digest == NULL) {
			if (strcmp(name, full) == 0)
				return digest;
			continue;
		}
		const char *pulled_by = json_get_str(ann, MCTR_ANNOTATION_REPO_DIGEST);
		bool digest_matches =
		        strcmp(digest, ref->digest) == 0 || (pulled_by != NULL && strcmp(pulled_by, ref->digest) == 0);
		if (digest_matches && strncmp(name, repo, rlen) == 0 && (name[rlen] == ':' || name[rlen] == '@'))
			return digest;
	}
	return NULL;
}

/* The image of manifest digest, with every name index.json gives it. */
static int image_load_indexed(struct store *st, json_t *manifests, const char *digest, struct store_image **out,
                              struct mctr_err *err)
{
	_cleanup_image_ struct store_image *img = NULL;
	if (store_image_load(st, digest, &img, err) < 0)
		return -1;
	size_t i;
	json_t *d;
	json_array_foreach(manifests, i, d) {
		const char *dg = json_get_str(d, "digest");
		if (dg != NULL && strcmp(dg, digest) == 0)
			image_add_index_entry(img, d);
	}
	*out = steal_pointer(&img);
	return 0;
}

/* By ID (prefix): the IDs are config digests, so every image is loaded. */
static int image_lookup_id(struct store *st, json_t *manifests, const char *prefix, const char *input,
                           struct store_image **out, struct mctr_err *err)
{
	struct store_image **list = NULL;
	size_t n = 0;
	if (image_list_from_index(st, manifests, &list, &n, err) < 0)
		return -1;
	struct store_image *found = NULL;
	int rc = lookup_by_id(list, n, prefix, input, &found, err);
	if (rc == 0 && found == NULL)
		rc = mctr_fail(err, 0, "no such image: %s", input);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			if (list[i] == found)
				list[i] = NULL;
		*out = found;
	}
	store_image_list_free(list, n);
	return rc;
}

int store_image_lookup(struct store *st, const char *name_or_id, struct store_image **out, struct mctr_err *err)
{
	_cleanup_json_ json_t *idx = store_index_read(st, err);
	if (idx == NULL)
		return -1;
	json_t *manifests = json_get_arr(idx, "manifests");
	const char *s = name_or_id;
	if (strncmp(s, DIGEST_PREFIX, DIGEST_PREFIX_LEN) == 0) {
		if (!is_hex_prefix(s + DIGEST_PREFIX_LEN))
			return mctr_fail(err, 0, "invalid image ID \"%s\"", s);
		return image_lookup_id(st, manifests, s + DIGEST_PREFIX_LEN, s, out, err);
	}
	/* A name is found in index.json alone; only its own image is read. */
	struct image_ref ref = { 0 };
	struct mctr_err ref_err = { 0 };
	if (ref_parse(s, &ref, &ref_err) == 0) {
		const char *digest = index_find_ref(manifests, &ref);
		ref_clear(&ref);
		if (digest != NULL)
			return image_load_indexed(st, manifests, digest, out, err);
	}
	if (is_hex_prefix(s))
		return image_lookup_id(st, manifests, s, s, out, err);
	if (ref_err.msg[0] != '\0')
		return mctr_fail(err, 0, "%s", ref_err.msg);
	return mctr_fail(err, 0, "no such image: %s", name_or_id);
}

bool store_layer_pair_known(struct store *st, const char *blob_digest, const char *diff_id)
{
	if (blob_digest == NULL || diff_id == NULL)
		return false;
	if (strcmp(blob_digest, diff_id) == 0)
		return true;
	struct store_image **list = NULL;
	size_t n = 0;
	struct mctr_err err = { 0 };
	if (store_image_list(st, &list, &n, &err) < 0)
		return false;
	bool found = false;
	for (size_t i = 0; i < n && !found; i++) {
		json_t *layers = json_get_arr(list[i]->manifest, "layers");
		for (size_t k = 0; k < list[i]->n_layers && !found; k++) {
			const char *d = json_get_str(json_array_get(layers, k), "digest");
			found = d != NULL && strcmp(d, blob_digest) == 0 && strcmp(list[i]->diff_ids[k], diff_id) == 0;
		}
	}
	store_image_list_free(list, n);
	return found;
}
