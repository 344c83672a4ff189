/* Docker-compatible reference parsing: a hand-written recognizer for the
 * distribution/reference grammar plus Docker's normalization (see ref.h). */
#include "mctr/ref.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mctr/cleanup.h"
#include "mctr/digest.h"
#include "mctr/fsutil.h"

/* Longest part of the input quoted in an error message. */
#define QUOTE_MAX 160

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c);
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* Go regexp \w. */
static bool is_word(char c)
{
	return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool has_upper(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	return false;
}

/* Copy at most max bytes of s, cut with "..." when longer. */
static void quote_input(const char *s, char *buf, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n > max)
		snprintf(buf, max + 4, "%.*s...", (int)max, s);
	else
		memcpy(buf, s, n + 1);
}

/* `invalid reference "INPUT": REASON`, with control bytes (from the input,
 * which may be quoted in the reason too) turned into '?' so the message
 * stays on one line and cannot drive a terminal. */
__attribute__((format(printf, 3, 4))) static int ref_fail(struct mctr_err *err, const char *input, const char *fmt,
                                                          ...)
{
	char reason[MCTR_ERR_MSG_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	char quoted[QUOTE_MAX + 4];
	quote_input(input, quoted, QUOTE_MAX);
	char msg[MCTR_ERR_MSG_MAX];
	snprintf(msg, sizeof msg, "invalid reference \"%s\": %s", quoted, reason);
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return mctr_fail(err, 0, "%s", msg);
}

/* ^[a-f0-9]{64}$: an image ID. */
static bool is_image_id(const char *s)
{
	return digest_hex_is_valid(s);
}

/* path-component := [a-z0-9]+ ( ( [_.] | __ | [-]+ ) [a-z0-9]+ )* */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	for (;;) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n || !is_lower_alnum(s[i]))
			return false;
	}
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 * Returns the length consumed, 0 if none. */
static size_t domain_component_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (is_alnum(s[i]) || s[i] == '-'))
		i++;
	if (i == 0 || s[0] == '-' || s[i - 1] == '-')
		return 0;
	return i;
}

/* domain := ( domain-component { "." domain-component } | "[" [a-fA-F0-9:]+ "]" ) [ ":" [0-9]+ ] */
static bool domain_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n > 0 && s[0] == '[') {
		i = 1;
		while (i < n && (is_hex(s[i]) || s[i] == ':'))
			i++;
		if (i == 1 || i == n || s[i] != ']')
			return false;
		i++;
	} else {
		for (;;) {
			size_t c = domain_component_len(s + i, n - i);
			if (c == 0)
				return false;
			i += c;
			if (i < n && s[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i == n)
		return true;
	if (s[i] != ':' || ++i == n)
		return false;
	for (; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* splitDockerDomain: is the first component of a multi-component name a
 * registry rather than a docker.io namespace? */
static bool looks_like_domain(const char *s, size_t n)
{
	return memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
	       (n == strlen("localhost") && memcmp(s, "localhost", n) == 0) || has_upper(s, n);
}

static int check_path(const char *input, const char *path, size_t n, struct mctr_err *err)
{
	if (has_upper(path, n))
		return ref_fail(err, input, "repository name must be lowercase");
	const char *p = path, *end = path + n;
	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *stop = slash ? slash : end;
		size_t len = (size_t)(stop - p);
		if (len == 0)
			return ref_fail(err, input, "empty path component in repository name");
		if (!path_component_valid(p, len))
			return ref_fail(err, input,
			                "invalid path component \"%.*s\" "
			                "(want [a-z0-9] runs joined by '.', '_', '__' or '-')",
			                (int)(len > 64 ? 64 : len), p);
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

/* tag := [\w][\w.-]{0,127} */
static int check_tag(const char *input, const char *tag, size_t n, struct mctr_err *err)
{
	if (n == 0)
		return ref_fail(err, input, "empty tag");
	if (n > REF_TAG_LENGTH_MAX)
		return ref_fail(err, input, "tag is longer than %d characters", REF_TAG_LENGTH_MAX);
	if (!is_word(tag[0]))
		return ref_fail(err, input, "invalid tag \"%.*s\" (must start with a letter, digit or '_')", (int)n,
		                tag);
	for (size_t i = 1; i < n; i++)
		if (!is_word(tag[i]) && tag[i] != '.' && tag[i] != '-')
			return ref_fail(err, input, "invalid tag \"%.*s\" (allowed: letters, digits, '_', '.', '-')",
			                (int)n, tag);
	return 0;
}

/* algorithm := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )* */
static bool digest_algorithm_valid(const char *s, size_t n)
{
	size_t i = 0;
	for (;;) {
		if (i == n || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
		while (i < n && is_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		if (strchr("-_+.", s[i]) == NULL)
			return false;
		i++;
	}
}

static int check_digest(const char *input, const char *d, struct mctr_err *err)
{
	const char *colon = strchr(d, ':');
	if (colon == NULL || !digest_algorithm_valid(d, (size_t)(colon - d)))
		return ref_fail(err, input, "invalid digest format (want sha256:<64 lowercase hex digits>)");
	size_t alg_len = (size_t)(colon - d);
	if (alg_len != DIGEST_PREFIX_LEN - 1 || memcmp(d, DIGEST_PREFIX, alg_len) != 0)
		return ref_fail(err, input, "unsupported digest algorithm \"%.*s\" (only sha256)",
		                (int)(alg_len > 32 ? 32 : alg_len), d);
	if (!digest_is_valid(d))
		return ref_fail(err, input, "invalid sha256 digest (want 64 lowercase hex digits)");
	return 0;
}

/* Split the domain off s as Docker's splitDockerDomain does.  *rest points
 * at the remainder; the domain is returned malloc'd. */
static char *split_domain(const char *s, const char **rest)
{
	const char *slash = strchr(s, '/');
	if (slash == NULL || !looks_like_domain(s, (size_t)(slash - s))) {
		*rest = s;
		return xstrdup(REF_DEFAULT_DOMAIN);
	}
	*rest = slash + 1;
	if ((size_t)(slash - s) == strlen(REF_LEGACY_DEFAULT_DOMAIN) &&
	    memcmp(s, REF_LEGACY_DEFAULT_DOMAIN, (size_t)(slash - s)) == 0)
		return xstrdup(REF_DEFAULT_DOMAIN);
	return xstrndup(s, (size_t)(slash - s));
}

int ref_parse(const char *s, struct image_ref *out, struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	if (s == NULL || s[0] == '\0')
		return ref_fail(err, "", "empty reference");
	if (is_image_id(s))
		return ref_fail(err, s, "cannot specify 64-byte hexadecimal strings (that is an image ID, not a name)");

	const char *rest;
	_cleanup_free_ char *domain = split_domain(s, &rest);
	if (!domain_valid(domain, strlen(domain)))
		return ref_fail(err, s, "invalid registry domain \"%.*s\"", 128, domain);

	/* Path components hold neither ':' nor '@', so the name ends at the
	 * first of them; the tag runs to '@', the digest to the end. */
	size_t name_len = strcspn(rest, ":@");
	const char *tag = NULL, *digest = NULL;
	size_t tag_len = 0;
	if (rest[name_len] == ':') {
		tag = rest + name_len + 1;
		tag_len = strcspn(tag, "@");
		if (tag[tag_len] == '@')
			digest = tag + tag_len + 1;
	} else if (rest[name_len] == '@') {
		digest = rest + name_len + 1;
	}

	if (check_path(s, rest, name_len, err) < 0)
		return -1;
	bool official = strcmp(domain, REF_DEFAULT_DOMAIN) == 0 && memchr(rest, '/', name_len) == NULL;
	_cleanup_free_ char *path = xasprintf("%s%.*s", official ? REF_OFFICIAL_PREFIX : "", (int)name_len, rest);
	if (strlen(domain) + 1 + strlen(path) > REF_NAME_TOTAL_LENGTH_MAX)
		return ref_fail(err, s, "repository name must not be more than %d characters",
		                REF_NAME_TOTAL_LENGTH_MAX);
	if (tag != NULL && check_tag(s, tag, tag_len, err) < 0)
		return -1;
	if (digest != NULL && check_digest(s, digest, err) < 0)
		return -1;

	out->domain = steal_pointer(&domain);
	out->path = steal_pointer(&path);
	if (digest != NULL)
		out->digest = xstrdup(digest); /* ParseDockerRef: the digest wins, the tag is dropped */
	else if (tag != NULL)
		out->tag = xstrndup(tag, tag_len);
	else
		out->tag = xstrdup(REF_DEFAULT_TAG);
	return 0;
}

static char *with_tag_or_digest(const char *name, const struct image_ref *r)
{
	if (r->digest != NULL)
		return xasprintf("%s@%s", name, r->digest);
	if (r->tag != NULL)
		return xasprintf("%s:%s", name, r->tag);
	return xstrdup(name);
}

char *ref_repository(const struct image_ref *r)
{
	return xasprintf("%s/%s", r->domain, r->path);
}

char *ref_string(const struct image_ref *r)
{
	_cleanup_free_ char *repo = ref_repository(r);
	return with_tag_or_digest(repo, r);
}

/* familiarizeName: drop "docker.io/", then "library/" when what is left has
 * a single component. */
char *ref_familiar_name(const struct image_ref *r)
{
	if (strcmp(r->domain, REF_DEFAULT_DOMAIN) != 0)
		return ref_repository(r);
	const char *p = r->path;
	size_t plen = strlen(REF_OFFICIAL_PREFIX);
	if (strncmp(p, REF_OFFICIAL_PREFIX, plen) == 0 && strchr(p + plen, '/') == NULL)
		p += plen;
	return xstrdup(p);
}

char *ref_familiar(const struct image_ref *r)
{
	_cleanup_free_ char *name = ref_familiar_name(r);
	return with_tag_or_digest(name, r);
}

void ref_clear(struct image_ref *r)
{
	if (r == NULL)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof *r);
}

bool ref_is_full_reference(const char *s)
{
	if (s == NULL || strpbrk(s, "/:") == NULL)
		return false;
	struct image_ref r;
	if (ref_parse(s, &r, NULL) < 0)
		return false;
	ref_clear(&r);
	return true;
}
