/* OCI image layout (a directory or an oci-archive): index.json names
 * manifests (or nested indexes, resolved to the host platform) whose
 * blobs live at blobs/sha256/<hex>.  Manifests and configs are stored
 * byte for byte, so their digests stay the image's own. */
#include <string.h>

#include "format.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"
#include "mctr/mediatype.h"
#include "mctr/platform.h"
#include "mctr/ref.h"

#define MAX_INDEX_DEPTH 4
#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

struct descriptor {
	const char *media_type;
	const char *digest;
	int64_t size;
	char path[DIGEST_LEN + 16];
};

static int read_descriptor(const json_t *d, const char *what, struct descriptor *out, struct mctr_err *err)
{
	const char *hex;
	out->media_type = json_get_str(d, "mediaType");
	out->digest = json_get_str(d, "digest");
	out->size = json_get_int(d, "size", -1);
	if (!json_is_object(d) || out->media_type == NULL || out->size < 0)
		return mctr_fail(err, 0, "%s: descriptor lacks mediaType or size", what);
	if (digest_check(out->digest, what, &hex, err) < 0)
		return -1;
	snprintf(out->path, sizeof out->path, "blobs/sha256/%s", hex);
	return 0;
}

/* Names of an index.json entry: containerd's full name, else the OCI
 * ref.name when it is a full reference (a bare tag like "latest" names
 * nothing: the image loads unnamed). */
static int entry_names(const json_t *d, const char *what, char ***names, struct mctr_err *err)
{
	json_t *ann = json_get_obj(d, "annotations");
	const char *name = json_get_str(ann, ANNOTATION_CONTAINERD_NAME);
	if (name == NULL || !ref_is_full_reference(name))
		name = json_get_str(ann, MCTR_ANNOTATION_REF_NAME);
	*names = xcalloc(2, sizeof(char *));
	if (name == NULL || !ref_is_full_reference(name))
		return 0;
	return format_normalize_name(name, what, &(*names)[0], err);
}

static int import_manifest(struct image_source *src, struct import_txn *txn, const struct descriptor *desc,
                           char **names, struct mctr_err *err)
{
	_cleanup_free_ char *what = xasprintf("%s: manifest %s", src->what, desc->digest);
	struct staged_blob *manifest;
	_cleanup_json_ json_t *m = NULL;
	if (format_stage_json(src, txn, desc->path, desc->digest, desc->size, &manifest, &m, err) < 0)
		return -1;
	const char *inner = json_get_str(m, "mediaType");
	if (inner != NULL && !mediatype_equal(inner, desc->media_type))
		return mctr_fail(err, 0, "%s: mediaType %s does not match its descriptor's %s", what, inner,
		                 desc->media_type);
	if (json_get_str(m, "artifactType") != NULL)
		return mctr_fail(err, 0, "%s: an artifact (%s), not an image", what, json_get_str(m, "artifactType"));
	struct descriptor cd;
	json_t *layers = json_get_arr(m, "layers");
	if (layers == NULL)
		return mctr_fail(err, 0, "%s: no layers array", what);
	if (read_descriptor(json_get_obj(m, "config"), what, &cd, err) < 0)
		return -1;
	if (!mediatype_is_config(cd.media_type))
		return mctr_fail(err, 0, "%s: config media type %s is not an image config", what, cd.media_type);
	struct staged_blob *config;
	_cleanup_json_ json_t *cfg = NULL;
	if (format_stage_json(src, txn, cd.path, cd.digest, cd.size, &config, &cfg, err) < 0)
		return -1;
	size_t n = json_array_size(layers);
	_cleanup_free_ char *cfg_what = xasprintf("%s: config %s", src->what, cd.digest);
	_cleanup_strv_ char **diff_ids = NULL;
	if (format_config_diff_ids(cfg, n, cfg_what, &diff_ids, err) < 0)
		return -1;
	_cleanup_free_ struct staged_blob **staged = xcalloc(n + 1, sizeof *staged);
	for (size_t i = 0; i < n; i++) {
		struct descriptor ld;
		if (read_descriptor(json_array_get(layers, i), what, &ld, err) < 0)
			return -1;
		if (!mediatype_is_layer(ld.media_type))
			return mctr_fail(err, 0, "%s: layer %zu has unsupported media type %s", what, i + 1,
			                 ld.media_type);
		if (format_stage_layer(src, txn, ld.path, ld.digest, ld.size, diff_ids[i], i, &staged[i], err) < 0)
			return -1;
	}
	return import_txn_add_image(txn, manifest, desc->media_type, config, staged, n, names, err);
}

static int import_descriptor(struct image_source *src, struct import_txn *txn, const json_t *d, char **names,
                             int depth, struct mctr_err *err)
{
	_cleanup_free_ char *what = xasprintf("%s: index.json", src->what);
	struct descriptor desc;
	if (read_descriptor(d, what, &desc, err) < 0)
		return -1;
	if (mediatype_is_schema1(desc.media_type))
		return mediatype_check_manifest(desc.media_type, what, err);
	if (mediatype_is_manifest(desc.media_type))
		return import_manifest(src, txn, &desc, names, err);
	if (!mediatype_is_index(desc.media_type)) {
		/* The spec: an unknown media type in an index is not an error. */
		mctr_debug("%s: skipping %s of type %s", src->what, desc.digest, desc.media_type);
		return 0;
	}
	if (depth >= MAX_INDEX_DEPTH)
		return mctr_fail(err, 0, "%s: indexes nested too deep", what);
	struct staged_blob *staged;
	_cleanup_json_ json_t *idx = NULL;
	if (format_stage_json(src, txn, desc.path, desc.digest, desc.size, &staged, &idx, err) < 0)
		return -1;
	struct platform host;
	platform_host(&host);
	_cleanup_free_ char *iwhat = xasprintf("%s: index %s", src->what, desc.digest);
	json_t *chosen = platform_select(idx, &host, err);
	json_t *entries = json_get_arr(idx, "manifests");
	if (chosen == NULL && json_array_size(entries) == 1 &&
	    mediatype_is_index(json_get_str(json_array_get(entries, 0), "mediaType"))) {
		/* An index wrapping another index (no platform on the way). */
		mctr_err_clear(err);
		chosen = json_array_get(entries, 0);
	}
	if (chosen == NULL)
		return mctr_err_wrap(err, "%s", iwhat);
	return import_descriptor(src, txn, chosen, names, depth + 1, err);
}

int oci_layout_import(struct image_source *src, struct import_txn *txn, struct mctr_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	_cleanup_free_ char *lwhat = xasprintf("%s: oci-layout", src->what);
	if (src->ops->read_small(src, "oci-layout", &buf, &len, err) < 0)
		return -1;
	_cleanup_json_ json_t *layout = json_parse_buf(buf, len, lwhat, err);
	if (layout == NULL)
		return -1;
	const char *version = json_get_str(layout, "imageLayoutVersion");
	if (version == NULL || strncmp(version, "1.", 2) != 0)
		return mctr_fail(err, 0, "%s: unsupported imageLayoutVersion %s", lwhat, version ? version : "(none)");
	free(buf);
	buf = NULL;
	_cleanup_free_ char *iwhat = xasprintf("%s: index.json", src->what);
	if (src->ops->read_small(src, "index.json", &buf, &len, err) < 0)
		return -1;
	_cleanup_json_ json_t *idx = json_parse_buf(buf, len, iwhat, err);
	if (idx == NULL)
		return -1;
	json_t *manifests = json_get_arr(idx, "manifests");
	if (!json_is_object(idx) || manifests == NULL)
		return mctr_fail(err, 0, "%s: not an image index (no manifests array)", iwhat);
	if (json_array_size(manifests) == 0)
		return mctr_fail(err, 0, "%s: lists no image", iwhat);
	size_t i;
	json_t *d;
	json_array_foreach(manifests, i, d) {
		_cleanup_strv_ char **names = NULL;
		if (entry_names(d, iwhat, &names, err) < 0 || import_descriptor(src, txn, d, names, 0, err) < 0)
			return -1;
	}
	return 0;
}
