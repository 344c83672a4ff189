/* Streaming SHA-256 (OpenSSL EVP).  Part of the image module: the core binary
 * never hashes, so it does not load libcrypto. */
#ifndef MCTR_SHA256_H
#define MCTR_SHA256_H

#include <stddef.h>

#include "mctr/cleanup.h"
#include "mctr/digest.h"

struct sha256;

struct sha256 *sha256_new(void);
void sha256_update(struct sha256 *h, const void *buf, size_t len);
/* Writes "sha256:<64 hex>" and resets the context for reuse. */
void sha256_final(struct sha256 *h, char out[DIGEST_LEN + 1]);
void sha256_free(struct sha256 *h);

/* One-shot digest of a buffer. */
void sha256_digest_buf(const void *buf, size_t len, char out[DIGEST_LEN + 1]);

static inline void sha256_freep(struct sha256 **h)
{
	sha256_free(*h);
}
#define _cleanup_sha256_ _cleanup_(sha256_freep)

#endif
