/* Registry authentication, the parts without I/O: WWW-Authenticate parsing
 * (RFC 7235 / RFC 6750), the token request URL and answer of distribution's
 * token protocol (docs/spec/auth/token.md, scope.md), Basic credentials.
 * The client (registry.h) does the requests and caches the tokens. */
#ifndef MCTR_REGAUTH_H
#define MCTR_REGAUTH_H

#include <stddef.h>
#include <time.h>

#include "mctr/err.h"

/* One challenge of a WWW-Authenticate header.  The scheme is lowercased;
 * parameters other than these are ignored; absent ones are NULL. */
struct reg_challenge {
	char *scheme;  /* "bearer", "basic", ... */
	char *realm;
	char *service;
	char *scope;
	char *error;   /* "invalid_token", "insufficient_scope" */
};

/* Append the challenges of one header value to *v (n entries).  A header
 * may hold several challenges; quoted values may hold commas and escaped
 * quotes.  Fails on a malformed header (nothing is appended then). */
int regauth_parse_challenges(const char *header, struct reg_challenge **v, size_t *n, struct mctr_err *err);
void regauth_challenges_free(struct reg_challenge *v, size_t n);

/* The challenge to answer: Bearer (with a realm) before Basic; NULL when
 * there is neither. */
const struct reg_challenge *regauth_pick(const struct reg_challenge *v, size_t n);

/* "repository:NAME:pull" for a repository path ("library/alpine"). */
char *regauth_pull_scope(const char *repository);

/* realm?service=S&scope=A&scope=B, values %-encoded; appends with '&' when
 * the realm has a query already.  service and scopes may be NULL. */
char *regauth_token_url(const char *realm, const char *service, const char *const *scopes);

/* The token server's answer: "token" (preferred) or "access_token";
 * expires_in (at least 60 s, the default) counted from now. */
struct reg_token {
	char *token;
	time_t expires; /* when to stop using it (a little before the server's expiry) */
};
int regauth_parse_token(const char *body, size_t len, time_t now, struct reg_token *out, struct mctr_err *err);
void regauth_token_clear(struct reg_token *t);

/* "Basic base64(user:password)" (the Authorization header value). */
char *regauth_basic_value(const char *user, const char *password);

#endif
