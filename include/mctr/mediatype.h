/* OCI and Docker media types (image-spec media-types.md, Docker manifest
 * v2 schema 2) and classifiers for them.
 *
 * The classifiers compare the type without parameters, case-insensitively
 * (RFC 9110 media types), so an HTTP Content-Type such as
 * "application/vnd.oci.image.manifest.v1+json; charset=utf-8" classifies
 * too.  Manifests are expected to carry the exact strings below. */
#ifndef MCTR_MEDIATYPE_H
#define MCTR_MEDIATYPE_H

#include <stdbool.h>
#include <stddef.h>

#include "mctr/err.h"
#include "mctr/unpack.h" /* enum mctr_compression */

/* Indexes (multi-platform). */
#define MEDIATYPE_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIATYPE_DOCKER_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

/* Single-platform manifests. */
#define MEDIATYPE_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIATYPE_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

/* Docker schema 1: deprecated, refused. */
#define MEDIATYPE_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MEDIATYPE_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* Image configs. */
#define MEDIATYPE_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIATYPE_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

/* Layers. */
#define MEDIATYPE_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIATYPE_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MEDIATYPE_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MEDIATYPE_OCI_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define MEDIATYPE_OCI_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define MEDIATYPE_OCI_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define MEDIATYPE_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define MEDIATYPE_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MEDIATYPE_DOCKER_LAYER_ZSTD "application/vnd.docker.image.rootfs.diff.tar.zstd"
#define MEDIATYPE_DOCKER_FOREIGN_LAYER "application/vnd.docker.image.rootfs.foreign.diff.tar"
#define MEDIATYPE_DOCKER_FOREIGN_LAYER_GZIP "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* Other OCI types met in indexes and artifacts. */
#define MEDIATYPE_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define MEDIATYPE_OCI_LAYOUT_HEADER "application/vnd.oci.layout.header.v1+json"

/* The Accept header for manifest GET/HEAD: v2 types only, so a registry
 * never falls back to schema 1. */
#define MEDIATYPE_MANIFEST_ACCEPT                                                                                     \
	MEDIATYPE_OCI_INDEX ", " MEDIATYPE_OCI_MANIFEST ", " MEDIATYPE_DOCKER_MANIFEST_LIST ", "                  \
	MEDIATYPE_DOCKER_MANIFEST

/* Length of mt without parameters and trailing blanks ("a/b; x=y" -> 3). */
size_t mediatype_base_len(const char *mt);

/* True when a and b name the same type, ignoring parameters and case. */
bool mediatype_equal(const char *a, const char *b);

bool mediatype_is_index(const char *mt);    /* OCI index or Docker manifest list */
bool mediatype_is_manifest(const char *mt); /* OCI or Docker schema 2 manifest */
bool mediatype_is_schema1(const char *mt);  /* Docker schema 1 (+json or +prettyjws) */
bool mediatype_is_config(const char *mt);   /* OCI or Docker image config */
bool mediatype_is_layer(const char *mt);    /* any layer type listed above */

/* OCI nondistributable layers and Docker foreign layers: their blobs may
 * live at the descriptor's "urls" rather than in the registry. */
bool mediatype_is_nondistributable(const char *mt);

/* The compression a layer media type claims.  False (and *out untouched)
 * when mt is not a layer type.  The unpacker still goes by magic bytes;
 * this is for cross-checking and for choosing what to write. */
bool mediatype_layer_compression(const char *mt, enum mctr_compression *out);

/* Accept an index or a manifest media type, `what` naming the document in
 * the error (e.g. "manifest docker.io/library/alpine:latest").  Schema 1
 * gets its own message; anything else is "unsupported media type".
 * NULL (a document without mediaType) is refused too: callers that allow it
 * (old Docker manifest lists, OCI manifests) decide before calling. */
int mediatype_check_manifest(const char *mt, const char *what, struct mctr_err *err);

#endif
