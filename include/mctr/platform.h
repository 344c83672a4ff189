/* Platforms (os/arch/variant, Go names as in OCI descriptors) and the choice
 * of one manifest from an OCI image index or Docker manifest list.
 *
 * Platforms are kept normalized (containerd's rules, except that arm64's
 * variant is spelled out): lowercase; x86_64/x86-64 -> amd64, aarch64 ->
 * arm64, i386/i686 -> 386, armhf -> arm/v7, armel -> arm/v6; arm64 without a
 * variant (or "8", "v8.0") is arm64/v8; arm without a variant (or "7") is
 * arm/v7; amd64/v1 is plain amd64. */
#ifndef MCTR_PLATFORM_H
#define MCTR_PLATFORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mctr/err.h"

struct platform {
	char os[32];
	char arch[32];
	char variant[16]; /* "" when none */
};

/* Longest string platform_format writes, NUL included. */
#define PLATFORM_STR_MAX (32 + 32 + 16)

/* Parse "os/arch[/variant]" ("linux/arm64/v8", "linux/amd64"), or a lone
 * "os" (the host's architecture) or known "arch" (os linux), and normalize. */
int platform_parse(const char *s, struct platform *out, struct mctr_err *err);

/* The host platform, from uname(2): linux/<Go arch>[/variant]. */
void platform_host(struct platform *out);

/* linux/<Go arch>[/variant] for a uname machine string ("x86_64" ->
 * linux/amd64, "armv7l" -> linux/arm/v7); what platform_host uses. */
void platform_from_machine(const char *machine, struct platform *out);

/* "linux/amd64", "linux/arm64/v8". */
void platform_format(const struct platform *p, char *buf, size_t len);

/* Read os/architecture/variant from a JSON object: a descriptor's
 * "platform" or an image config (both use these keys).  Fails when os or
 * architecture is missing, not a string or too long. */
int platform_from_json(const json_t *obj, struct platform *out, struct mctr_err *err);

/* Normalize p in place (see top of file). */
void platform_normalize(struct platform *p);

/* Can an image built for `have` run where `want` was asked for?  Same os and
 * arch; same variant, except that arm accepts older variants (arm/v7 runs
 * arm/v6 and arm/v5).  Both are normalized first. */
bool platform_matches(const struct platform *want, const struct platform *have);

/* Choose the manifest descriptor for `want` from an OCI index or Docker
 * manifest list (a JSON object with "manifests").  Attestation entries
 * (platform unknown/unknown, or annotation vnd.docker.reference.type =
 * attestation-manifest) and entries without a platform are skipped.  The
 * exact variant is preferred; arm then falls back v7 -> v6 -> v5; among equal
 * candidates the first wins.  Returns the borrowed descriptor, or NULL with
 * "no manifest for linux/s390x in index (available: linux/amd64, ...)". */
json_t *platform_select(const json_t *index, const struct platform *want, struct mctr_err *err);

#endif
