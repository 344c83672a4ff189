/* A plain rootfs tarball (optionally gzip/zstd) as a one-layer image, as
 * `docker import` makes it. */
#include <string.h>

#include "format.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/imageconfig.h"
#include "mctr/jsonutil.h"
#include "mctr/mediatype.h"
#include "mctr/platform.h"
#include "mctr/timeutil.h"

static json_t *rootfs_config(const char *diff_id, char **changes, const char *message, struct mctr_err *err)
{
	struct platform host;
	platform_host(&host);
	char now[64];
	rfc3339_now(now, sizeof now);
	json_t *inner = json_object();
	for (char **c = changes; c != NULL && *c != NULL; c++) {
		if (imageconfig_apply_change(inner, *c, err) < 0) {
			json_decref(inner);
			return NULL;
		}
	}
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:[s]}, s:[{s:s, s:s, s:s}]}", "architecture",
	                        host.arch, "os", host.os, "created", now, "config", inner, "rootfs", "type", "layers",
	                        "diff_ids", diff_id, "history", "created", now, "created_by", "mctr import",
	                        "comment", message ? message : "");
	if (host.variant[0] != '\0')
		json_object_set_new(cfg, "variant", json_string(host.variant));
	return cfg;
}

int rootfs_import(struct import_txn *txn, int fd, const char *what, char **changes, const char *message,
                  char **names, char id_out[DIGEST_LEN + 1], struct mctr_err *err)
{
	struct staged_blob *layer = xcalloc(1, sizeof *layer);
	layer->path = xstrdup(what);
	layer->size = -1;
	import_txn_adopt(txn, layer);
	if (import_txn_stage_fd(txn, fd, layer, NULL, true, err) < 0)
		return -1;
	layer->size = blob_writer_size(layer->writer);
	_cleanup_json_ json_t *cfg = rootfs_config(layer->diff_id, changes, message, err);
	if (cfg == NULL)
		return -1;
	size_t len;
	_cleanup_free_ char *cfg_bytes = json_dump_canonical(cfg, &len);
	struct staged_blob *config = import_txn_stage_bytes(txn, "config (generated)", cfg_bytes, len);
	const char *mt = format_layer_media_type(layer, err);
	if (mt == NULL)
		return -1;
	_cleanup_json_ json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2,
	                                     "mediaType", MEDIATYPE_OCI_MANIFEST, "config", "mediaType",
	                                     MEDIATYPE_OCI_CONFIG, "digest", config->digest, "size",
	                                     (json_int_t)config->size, "layers", "mediaType", mt, "digest",
	                                     layer->digest, "size", (json_int_t)layer->size);
	_cleanup_free_ char *m_bytes = json_dump_canonical(m, &len);
	struct staged_blob *manifest = import_txn_stage_bytes(txn, "manifest (generated)", m_bytes, len);
	memcpy(id_out, config->digest, DIGEST_LEN + 1);
	return import_txn_add_image(txn, manifest, MEDIATYPE_OCI_MANIFEST, config, &layer, 1, names, err);
}
