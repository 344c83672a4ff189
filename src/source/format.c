/* What the image formats share: JSON blobs read from a source and checked,
 * config checks, layers staged and matched against their diff_ids. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/mediatype.h"
#include "mctr/ref.h"

bool source_is_docker_archive(struct image_source *src)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct mctr_err err = { 0 };
	return src->ops->read_small(src, "manifest.json", &buf, &len, &err) == 0;
}

bool source_is_oci_layout(struct image_source *src)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct mctr_err err = { 0 };
	return src->ops->read_small(src, "oci-layout", &buf, &len, &err) == 0;
}

int format_stage_json(struct image_source *src, struct import_txn *txn, const char *path,
                      const char *expected_digest, int64_t expected_size, struct staged_blob **staged,
                      json_t **parsed, struct mctr_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (src->ops->read_small(src, path, &buf, &len, err) < 0)
		return -1;
	struct staged_blob *b = import_txn_stage_bytes(txn, path, buf, len);
	if (expected_size >= 0 && (int64_t)len != expected_size)
		return mctr_fail(err, 0, "%s: %s has %zu bytes but its descriptor says %lld", src->what, path, len,
		                 (long long)expected_size);
	if (expected_digest != NULL && strcmp(expected_digest, b->digest) != 0)
		return mctr_fail(err, 0, "%s: %s does not match its digest %s (content is %s)", src->what, path,
		                 expected_digest, b->digest);
	_cleanup_free_ char *what = xasprintf("%s: %s", src->what, path);
	json_t *j = json_parse_buf(buf, len, what, err);
	if (j == NULL)
		return -1;
	if (!json_is_object(j)) {
		json_decref(j);
		return mctr_fail(err, 0, "%s: expected a JSON object", what);
	}
	*staged = b;
	*parsed = j;
	return 0;
}

int format_config_diff_ids(const json_t *config, size_t n_layers, const char *what, char ***diff_ids,
                           struct mctr_err *err)
{
	json_t *rootfs = json_get_obj(config, "rootfs");
	const char *type = json_get_str(rootfs, "type");
	if (type == NULL || strcmp(type, "layers") != 0)
		return mctr_fail(err, 0, "%s: rootfs.type must be \"layers\" (got %s%s%s)", what, type ? "\"" : "",
		                 type ? type : "nothing", type ? "\"" : "");
	json_t *ids = json_get_arr(rootfs, "diff_ids");
	if (ids == NULL)
		return mctr_fail(err, 0, "%s: rootfs.diff_ids is missing", what);
	if (json_array_size(ids) != n_layers)
		return mctr_fail(err, 0, "%s: %zu diff_ids for %zu layers", what, json_array_size(ids), n_layers);
	if (json_to_strv(ids, what, diff_ids, err) < 0)
		return -1;
	for (size_t i = 0; i < n_layers; i++)
		if (digest_check((*diff_ids)[i], what, NULL, err) < 0)
			return -1;
	return 0;
}

int format_stage_layer(struct image_source *src, struct import_txn *txn, const char *path,
                       const char *expected_digest, int64_t expected_size, const char *diff_id, size_t index,
                       struct staged_blob **out, struct mctr_err *err)
{
	struct staged_blob *b;
	if (src->ops->stage(src, txn, path, expected_digest, expected_size, true, diff_id, &b, err) < 0)
		return -1;
	if (strcmp(b->diff_id, diff_id) != 0)
		return mctr_fail(err, 0, "%s: layer %zu (%s) does not match diff_id %s in the config (content is %s)",
		                 src->what, index + 1, path, diff_id, b->diff_id);
	*out = b;
	return 0;
}

int format_normalize_name(const char *name, const char *what, char **out, struct mctr_err *err)
{
	_cleanup_ref_ struct image_ref ref = { 0 };
	if (ref_parse(name, &ref, err) < 0)
		return mctr_err_wrap(err, "%s", what);
	*out = ref_string(&ref);
	return 0;
}

const char *format_layer_media_type(struct staged_blob *b, struct mctr_err *err)
{
	unsigned char head[4] = { 0 };
	size_t n = 0;
	if (b->data != NULL) {
		n = b->len < 4 ? b->len : 4;
		memcpy(head, b->data, n);
	} else {
		_cleanup_close_ int fd = blob_writer_reopen(b->writer, err);
		if (fd < 0)
			return NULL;
		ssize_t r = read(fd, head, sizeof head);
		n = r > 0 ? (size_t)r : 0;
	}
	switch (compression_detect(head, n)) {
	case MCTR_COMPRESSION_GZIP:
		return MEDIATYPE_OCI_LAYER_GZIP;
	case MCTR_COMPRESSION_ZSTD:
		return MEDIATYPE_OCI_LAYER_ZSTD;
	default:
		return MEDIATYPE_OCI_LAYER;
	}
}
