/* jansson helpers: bounded loads with one-line errors naming the file,
 * cleanup attributes, and typed getters that fail with a message. */
#ifndef MCTR_JSONUTIL_H
#define MCTR_JSONUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "mctr/cleanup.h"
#include "mctr/err.h"

/* The largest JSON document mctr accepts (manifests, configs, index.json). */
#define MCTR_JSON_MAX (8u * 1024 * 1024)

static inline void mctr_json_decrefp(json_t **j)
{
	if (*j != NULL)
		json_decref(*j);
}
#define _cleanup_json_ _cleanup_(mctr_json_decrefp)

/* Parse buf (not NUL-terminated needed); `what` names the input in errors. */
json_t *json_parse_buf(const char *buf, size_t len, const char *what, struct mctr_err *err);

/* Read and parse dirfd/path (max MCTR_JSON_MAX bytes). */
json_t *json_load_at(int dirfd, const char *path, struct mctr_err *err);

/* Serialize compactly with sorted keys (a stable byte form for digests).
 * Returns a malloc'd string. */
char *json_dump_canonical(const json_t *j, size_t *len_out);

/* Serialize and replace dirfd/name atomically (see file_write_atomic_at). */
int json_write_atomic_at(int dirfd, const char *name, const json_t *j, mode_t mode, struct mctr_err *err);

/* Getters: NULL / default when absent or of another type. */
const char *json_get_str(const json_t *obj, const char *key);
json_int_t json_get_int(const json_t *obj, const char *key, json_int_t dflt);
json_t *json_get_obj(const json_t *obj, const char *key);
json_t *json_get_arr(const json_t *obj, const char *key);

/* Turn a JSON array of strings into a NULL-terminated vector (NULL array
 * gives an empty vector).  Fails if an element is not a string. */
int json_to_strv(const json_t *arr, const char *what, char ***out, struct mctr_err *err);

/* The reverse. */
json_t *json_from_strv(char *const *v);

#endif
