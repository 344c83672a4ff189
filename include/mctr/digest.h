/* Digest strings ("sha256:" + 64 lowercase hex).  Validation lives in the
 * core because every digest is checked before it becomes a path; hashing
 * itself (OpenSSL) lives in sha256.h, in the image module. */
#ifndef MCTR_DIGEST_H
#define MCTR_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "mctr/err.h"

#define DIGEST_PREFIX "sha256:"
#define DIGEST_PREFIX_LEN 7
#define DIGEST_HEX_LEN 64
#define DIGEST_LEN (DIGEST_PREFIX_LEN + DIGEST_HEX_LEN) /* without NUL */
#define SHORT_ID_LEN 12

/* True if s is exactly "sha256:" followed by 64 lowercase hex digits. */
bool digest_is_valid(const char *s);

/* True if s is 64 lowercase hex digits. */
bool digest_hex_is_valid(const char *s);

/* Validate and return a pointer to the hex part, or fail with a message
 * naming `what` (e.g. "layer digest in manifest.json"). */
int digest_check(const char *s, const char *what, const char **hex_out, struct mctr_err *err);

/* The hex part of a valid digest (no checks). */
static inline const char *digest_hex(const char *d)
{
	return d + DIGEST_PREFIX_LEN;
}

#endif
