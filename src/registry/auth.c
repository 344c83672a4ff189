/* WWW-Authenticate challenges, token URLs and answers, Basic credentials. */
#include "mctr/regauth.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/regcreds.h"

/* Docker's minimum token lifetime: a shorter or missing expires_in means 60 s. */
#define TOKEN_MIN_LIFETIME 60
/* Stop using a token this long before it expires, so a request does not
 * start with a token that dies on the way. */
#define TOKEN_MARGIN 5

/* ---- WWW-Authenticate --------------------------------------------------------- */

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A quoted-string at p (after the opening quote); *end is past the closing one. */
static char *quoted(const char *p, const char **end)
{
	size_t cap = strlen(p) + 1, n = 0;
	char *out = xmalloc(cap);
	for (; *p != '"'; p++) {
		if (*p == '\0') {
			free(out);
			return NULL;
		}
		if (*p == '\\' && p[1] != '\0')
			p++;
		out[n++] = *p;
	}
	out[n] = '\0';
	*end = p + 1;
	return out;
}

static void set_param(struct reg_challenge *c, const char *name, size_t nlen, char *value)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{ "realm", offsetof(struct reg_challenge, realm) },
		{ "service", offsetof(struct reg_challenge, service) },
		{ "scope", offsetof(struct reg_challenge, scope) },
		{ "error", offsetof(struct reg_challenge, error) },
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (strlen(known[i].name) == nlen && strncasecmp(known[i].name, name, nlen) == 0) {
			char **slot = (char **)((char *)c + known[i].off);
			free(*slot);
			*slot = value;
			return;
		}
	}
	free(value);
}

static void challenge_clear(struct reg_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof *c);
}

void regauth_challenges_free(struct reg_challenge *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		challenge_clear(&v[i]);
	free(v);
}

int regauth_parse_challenges(const char *header, struct reg_challenge **v, size_t *n, struct mctr_err *err)
{
	size_t n0 = *n;
	struct reg_challenge *cur = NULL;
	bool after_scheme = false; /* only blanks since the scheme: a token68 may follow */
	const char *p = header;
	for (;;) {
		const char *q = skip_ws(p);
		if (*q == ',') {
			after_scheme = false;
			p = q + 1;
			continue;
		}
		if (*q == '\0')
			break;
		const char *tok = q;
		while (is_tchar(*q))
			q++;
		size_t tlen = (size_t)(q - tok);
		if (tlen == 0)
			goto malformed;
		const char *r = skip_ws(q);
		if (*r == '=' && after_scheme && (r[1] == '=' || r[1] == '\0' || r[1] == ',' || r[1] == ' ')) {
			/* token68 ("Basic abc==") */
			while (*r == '=')
				r++;
			p = r;
			after_scheme = false;
			continue;
		}
		if (*r == '=') {
			if (cur == NULL)
				goto malformed;
			r = skip_ws(r + 1);
			char *value;
			if (*r == '"') {
				value = quoted(r + 1, &r);
				if (value == NULL)
					goto malformed;
			} else {
				const char *vs = r;
				while (is_tchar(*r) || *r == '/' || *r == ':')
					r++;
				value = xstrndup(vs, (size_t)(r - vs));
			}
			set_param(cur, tok, tlen, value);
			after_scheme = false;
			p = r;
			r = skip_ws(p);
			if (*r != '\0' && *r != ',')
				goto malformed;
			continue;
		}
		if (after_scheme) {
			/* a token68 without padding */
			after_scheme = false;
			p = q;
			continue;
		}
		*v = xrealloc(*v, (*n + 1) * sizeof **v);
		cur = &(*v)[(*n)++];
		memset(cur, 0, sizeof *cur);
		cur->scheme = xstrndup(tok, tlen);
		for (char *c = cur->scheme; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		after_scheme = true;
		p = q;
	}
	return 0;
malformed:
	for (size_t i = n0; i < *n; i++)
		challenge_clear(&(*v)[i]);
	*n = n0;
	return mctr_fail(err, 0, "malformed WWW-Authenticate header: %.200s", header);
}

const struct reg_challenge *regauth_pick(const struct reg_challenge *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].scheme, "bearer") == 0 && v[i].realm != NULL && v[i].realm[0] != '\0')
			return &v[i];
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].scheme, "basic") == 0)
			return &v[i];
	return NULL;
}

/* ---- tokens --------------------------------------------------------------------- */

char *regauth_pull_scope(const char *repository)
{
	return xasprintf("repository:%s:pull", repository);
}

/* %-encode everything but RFC 3986 unreserved characters. */
static void append_encoded(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	*buf = xrealloc(*buf, *len + 3 * n + 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			(*buf)[(*len)++] = (char)c;
		} else {
			snprintf(*buf + *len, 4, "%%%02X", c);
			*len += 3;
		}
	}
	(*buf)[*len] = '\0';
}

static void append_raw(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

char *regauth_token_url(const char *realm, const char *service, const char *const *scopes)
{
	char *url = NULL;
	size_t len = 0;
	append_raw(&url, &len, realm);
	char sep = strchr(realm, '?') != NULL ? '&' : '?';
	if (service != NULL && service[0] != '\0') {
		append_raw(&url, &len, sep == '?' ? "?service=" : "&service=");
		append_encoded(&url, &len, service);
		sep = '&';
	}
	for (size_t i = 0; scopes != NULL && scopes[i] != NULL; i++) {
		append_raw(&url, &len, sep == '?' ? "?scope=" : "&scope=");
		append_encoded(&url, &len, scopes[i]);
		sep = '&';
	}
	return url;
}

int regauth_parse_token(const char *body, size_t len, time_t now, struct reg_token *out, struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	_cleanup_json_ json_t *j = json_parse_buf(body, len, "token server answer", err);
	if (j == NULL)
		return -1;
	const char *tok = json_get_str(j, "token");
	if (tok == NULL || tok[0] == '\0')
		tok = json_get_str(j, "access_token");
	if (tok == NULL || tok[0] == '\0')
		return mctr_fail(err, 0, "token server answer has no token");
	json_int_t expires_in = json_get_int(j, "expires_in", 0);
	if (expires_in < TOKEN_MIN_LIFETIME)
		expires_in = TOKEN_MIN_LIFETIME;
	if (expires_in > 365 * 86400)
		expires_in = 365 * 86400;
	out->token = xstrdup(tok);
	out->expires = now + (time_t)expires_in - TOKEN_MARGIN;
	return 0;
}

void regauth_token_clear(struct reg_token *t)
{
	free(t->token);
	memset(t, 0, sizeof *t);
}

char *regauth_basic_value(const char *user, const char *password)
{
	_cleanup_free_ char *pair = xasprintf("%s:%s", user, password);
	_cleanup_free_ char *b64 = regcreds_base64_encode(pair, strlen(pair));
	explicit_bzero(pair, strlen(pair));
	return xasprintf("Basic %s", b64);
}
