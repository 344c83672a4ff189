/* Internal to src/source: helpers the format readers share. */
#ifndef MCTR_SOURCE_FORMAT_H
#define MCTR_SOURCE_FORMAT_H

#include <jansson.h>

#include "mctr/source.h"

/* Read a JSON file of the source, stage its bytes, check digest and size
 * (when given) and parse it (must be an object). */
int format_stage_json(struct image_source *src, struct import_txn *txn, const char *path,
                      const char *expected_digest, int64_t expected_size, struct staged_blob **staged,
                      json_t **parsed, struct mctr_err *err);


/* Stage layer `index` and check that its content has the config's diff_id. */
int format_stage_layer(struct image_source *src, struct import_txn *txn, const char *path,
                       const char *expected_digest, int64_t expected_size, const char *diff_id, size_t index,
                       struct staged_blob **out, struct mctr_err *err);

/* Docker's normalization of a name found in an archive. */
int format_normalize_name(const char *name, const char *what, char **out, struct mctr_err *err);



/* The OCI layer media type for a staged layer blob, from its first bytes. */
const char *format_layer_media_type(struct staged_blob *b, struct mctr_err *err);
#endif
