/* Image references ("alpine", "localhost:5000/app:1", "reg.io/ns/img@sha256:...")
 * parsed and normalized exactly as Docker does (distribution/reference
 * ParseNormalizedNamed + ParseDockerRef):
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component { "/" path-component }
 *
 *  - The first component is the domain only when it contains '.' or ':', is
 *    "localhost", or has an uppercase letter; otherwise the domain is
 *    docker.io.  "index.docker.io" is rewritten to "docker.io", and a
 *    single-component docker.io path gets the "library/" prefix.
 *  - Path components are lowercase [a-z0-9]+ joined by '.', '_', '__' or
 *    runs of '-'; domain "/" path is at most 255 characters.
 *  - A tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.  Only sha256 digests (64
 *    lowercase hex digits) are accepted.
 *  - No tag and no digest means tag "latest"; with both, the digest wins and
 *    the tag is dropped.
 *  - 64 hex digits alone is an image ID, not a name, and is refused.
 *  - Upstream quirk kept on purpose: "localhost:5000" (no '/') is the image
 *    docker.io/library/localhost with tag "5000". */
#ifndef MCTR_REF_H
#define MCTR_REF_H

#include <stdbool.h>

#include "mctr/err.h"

#define REF_DEFAULT_DOMAIN "docker.io"
#define REF_LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define REF_OFFICIAL_PREFIX "library/"
#define REF_DEFAULT_TAG "latest"
#define REF_NAME_TOTAL_LENGTH_MAX 255
#define REF_TAG_LENGTH_MAX 128

struct image_ref {
	char *domain; /* "docker.io", "localhost:5000", "[::1]:5000", "127.0.0.1:5000" */
	char *path;   /* "library/alpine" */
	char *tag;    /* "latest"; NULL when the reference has a digest */
	char *digest; /* "sha256:<64 hex>" or NULL */
};

/* Parse and normalize s into out (all fields malloc'd; free with ref_clear).
 * On failure out is left zeroed and err reads
 * `invalid reference "INPUT": REASON`. */
int ref_parse(const char *s, struct image_ref *out, struct mctr_err *err);

/* "docker.io/library/alpine:latest" or "docker.io/library/alpine@sha256:...". */
char *ref_string(const struct image_ref *r);

/* "docker.io/library/alpine" (no tag, no digest). */
char *ref_repository(const struct image_ref *r);

/* What Docker shows: "alpine:latest", "user/app:1", "localhost:5000/x:1",
 * "alpine@sha256:...". */
char *ref_familiar(const struct image_ref *r);

/* The familiar repository alone: "alpine", "user/app", "localhost:5000/x". */
char *ref_familiar_name(const struct image_ref *r);

/* Free the fields and zero r (safe on a zeroed or already cleared ref). */
void ref_clear(struct image_ref *r);

static inline void ref_clearp(struct image_ref *r)
{
	ref_clear(r);
}
#define _cleanup_ref_ __attribute__((cleanup(ref_clearp)))

/* A bare tag such as "latest" or "v1", as found in the OCI
 * org.opencontainers.image.ref.name annotation, is not a full reference:
 * true only when s contains '/' or ':' and parses as a reference. */
bool ref_is_full_reference(const char *s);

#endif
