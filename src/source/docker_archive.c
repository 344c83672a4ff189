/* docker-archive (`docker save`): manifest.json lists each image's config
 * file, layer files and RepoTags.  Both the legacy layout (<id>/layer.tar,
 * <hex>.json) and Docker 25's (blobs/sha256/<hex>) are read through the same
 * source; the store keeps an OCI manifest written for the image. */
#include <string.h>

#include "format.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/mediatype.h"
#include "mctr/sha256.h"

/* Build and stage the OCI manifest for a config and its layers. */
static struct staged_blob *stage_manifest(struct import_txn *txn, struct staged_blob *config,
                                          struct staged_blob **layers, size_t n, struct mctr_err *err)
{
	_cleanup_json_ json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *mt = format_layer_media_type(layers[i], err);
		if (mt == NULL)
			return NULL;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", layers[i]->digest,
		                                     "size", (json_int_t)layers[i]->size));
	}
	_cleanup_json_ json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
	                                     MEDIATYPE_OCI_MANIFEST, "config", "mediaType", MEDIATYPE_OCI_CONFIG,
	                                     "digest", config->digest, "size", (json_int_t)config->size, "layers",
	                                     arr);
	size_t len;
	_cleanup_free_ char *bytes = json_dump_canonical(m, &len);
	return import_txn_stage_bytes(txn, "manifest (generated)", bytes, len);
}

/* A config file named by its digest must have that digest. */
static int check_config_name(struct image_source *src, const char *path, const struct staged_blob *b,
                             struct mctr_err *err)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char hex[DIGEST_HEX_LEN + 1];
	snprintf(hex, sizeof hex, "%.64s", base);
	if (!digest_hex_is_valid(hex) || (base[64] != '\0' && strcmp(base + 64, ".json") != 0))
		return 0;
	if (strcmp(digest_hex(b->digest), hex) != 0)
		return mctr_fail(err, 0, "%s: config %s does not match its name (content is %s)", src->what, path,
		                 b->digest);
	return 0;
}

static int import_entry(struct image_source *src, struct import_txn *txn, json_t *entry, size_t idx,
                        struct mctr_err *err)
{
	_cleanup_free_ char *what = xasprintf("%s: manifest.json entry %zu", src->what, idx + 1);
	const char *cfg_path = json_get_str(entry, "Config");
	json_t *layer_paths = json_get_arr(entry, "Layers");
	if (!json_is_object(entry) || cfg_path == NULL || layer_paths == NULL)
		return mctr_fail(err, 0, "%s: needs Config and Layers", what);
	json_t *tags = json_object_get(entry, "RepoTags");
	if (tags != NULL && !json_is_array(tags) && !json_is_null(tags))
		return mctr_fail(err, 0, "%s: RepoTags must be an array", what);

	struct staged_blob *config;
	_cleanup_json_ json_t *cfg = NULL;
	if (format_stage_json(src, txn, cfg_path, NULL, -1, &config, &cfg, err) < 0 ||
	    check_config_name(src, cfg_path, config, err) < 0)
		return -1;
	size_t n = json_array_size(layer_paths);
	_cleanup_free_ char *cfg_what = xasprintf("%s: config %s", src->what, cfg_path);
	_cleanup_strv_ char **diff_ids = NULL;
	if (format_config_diff_ids(cfg, n, cfg_what, &diff_ids, err) < 0)
		return -1;
	_cleanup_free_ struct staged_blob **layers = xcalloc(n + 1, sizeof *layers);
	for (size_t i = 0; i < n; i++) {
		const char *p = json_string_value(json_array_get(layer_paths, i));
		if (p == NULL)
			return mctr_fail(err, 0, "%s: Layers[%zu] is not a string", what, i);
		if (format_stage_layer(src, txn, p, NULL, -1, diff_ids[i], i, &layers[i], err) < 0)
			return -1;
	}
	struct staged_blob *manifest = stage_manifest(txn, config, layers, n, err);
	if (manifest == NULL)
		return -1;
	size_t nt = json_is_array(tags) ? json_array_size(tags) : 0;
	_cleanup_strv_ char **names = xcalloc(nt + 1, sizeof(char *));
	for (size_t i = 0; i < nt; i++) {
		const char *t = json_string_value(json_array_get(tags, i));
		if (t == NULL)
			return mctr_fail(err, 0, "%s: RepoTags[%zu] is not a string", what, i);
		if (format_normalize_name(t, what, &names[i], err) < 0)
			return -1;
	}
	return import_txn_add_image(txn, manifest, MEDIATYPE_OCI_MANIFEST, config, layers, n, names, err);
}

int docker_archive_import(struct image_source *src, struct import_txn *txn, struct mctr_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (src->ops->read_small(src, "manifest.json", &buf, &len, err) < 0)
		return -1;
	_cleanup_free_ char *what = xasprintf("%s: manifest.json", src->what);
	_cleanup_json_ json_t *m = json_parse_buf(buf, len, what, err);
	if (m == NULL)
		return -1;
	if (json_is_null(m))
		return mctr_fail(err, 0, "%s: cannot be null (an empty list is [])", what);
	if (!json_is_array(m))
		return mctr_fail(err, 0, "%s: expected a JSON array of images", what);
	if (json_array_size(m) == 0)
		return mctr_fail(err, 0, "%s: lists no image", what);
	size_t i;
	json_t *entry;
	json_array_foreach(m, i, entry) {
		if (import_entry(src, txn, entry, i, err) < 0)
			return -1;
	}
	return 0;
}
