#include "mctr/digest.h"

#include <string.h>

bool digest_hex_is_valid(const char *s)
{
	if (s == NULL)
		return false;
	size_t i;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		if (i >= DIGEST_HEX_LEN)
			return false;
	}
	return i == DIGEST_HEX_LEN;
}

bool digest_is_valid(const char *s)
{
	if (s == NULL || strncmp(s, DIGEST_PREFIX, DIGEST_PREFIX_LEN) != 0)
		return false;
	return digest_hex_is_valid(s + DIGEST_PREFIX_LEN);
}

int digest_check(const char *s, const char *what, const char **hex_out, struct mctr_err *err)
{
	if (!digest_is_valid(s)) {
		if (s != NULL && strncmp(s, DIGEST_PREFIX, DIGEST_PREFIX_LEN) != 0 && strchr(s, ':') != NULL)
			return mctr_fail(err, 0, "%s: unsupported digest algorithm in \"%.80s\" (only sha256)", what, s);
		return mctr_fail(err, 0, "%s: invalid digest \"%.80s\" (want sha256: and 64 lowercase hex digits)", what,
		                 s ? s : "(missing)");
	}
	if (hex_out != NULL)
		*hex_out = s + DIGEST_PREFIX_LEN;
	return 0;
}
