#include "mctr/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mctr/fsutil.h"

struct sha256 {
	EVP_MD_CTX *ctx;
};

struct sha256 *sha256_new(void)
{
	struct sha256 *h = xmalloc(sizeof *h);
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		abort();
	return h;
}

void sha256_update(struct sha256 *h, const void *buf, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(h->ctx, buf, len) != 1)
		abort();
}

void sha256_final(struct sha256 *h, char out[DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int n = 0;
	static const char hex[] = "0123456789abcdef";
	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
		abort();
	memcpy(out, DIGEST_PREFIX, DIGEST_PREFIX_LEN);
	for (unsigned i = 0; i < 32; i++) {
		out[DIGEST_PREFIX_LEN + 2 * i] = hex[md[i] >> 4];
		out[DIGEST_PREFIX_LEN + 2 * i + 1] = hex[md[i] & 15];
	}
	out[DIGEST_LEN] = '\0';
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		abort();
}

void sha256_free(struct sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void sha256_digest_buf(const void *buf, size_t len, char out[DIGEST_LEN + 1])
{
	struct sha256 *h = sha256_new();
	sha256_update(h, buf, len);
	sha256_final(h, out);
	sha256_free(h);
}
