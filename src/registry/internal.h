/* Private interfaces of the registry module (src/registry/ only).
 *
 *   config.c    /etc/mctr/config.json
 *   creds.c     Docker's config.json, base64
 *   auth.c      WWW-Authenticate, token URL and answer, Basic
 *   endpoint.c  docker.io mapping, mirrors, the HTTP-fallback policy, error texts
 *   http.c      one curl easy handle set up for an endpoint: TLS, CAs, redirects
 *   client.c    ping, authentication, token cache, manifests, small blobs
 *   fetch.c     parallel blob downloads (curl multi) with pause and retry
 */
#ifndef MCTR_REGISTRY_INTERNAL_H
#define MCTR_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mctr/err.h"
#include "mctr/regauth.h"
#include "mctr/registry.h"

#define REG_DOCKER_HUB_API REGISTRY_DOCKER_HUB_HOST
#define REG_USER_AGENT "mctr/" MCTR_VERSION
#define REG_ERROR_BODY_MAX (64u << 10)

/* The host part of "host", "host:port", "[v6]:port" (malloc'd, no brackets). */
char *reg_host_name(const char *host);

/* Read a whole file a user named (symlinks followed). */
int reg_read_file(const char *path, size_t max, char **buf, size_t *len, struct mctr_err *err);

/* ---- http.c ------------------------------------------------------------------- */

/* The response of one request. */
struct reg_http_resp {
	long status;
	char *body;
	size_t len;
	size_t max;          /* body beyond this fails the request */
	bool too_big;
	char *content_type;
	char *docker_digest; /* Docker-Content-Digest */
	char *retry_after;
	char *content_range;
	char **www_auth;     /* every WWW-Authenticate header */
	size_t n_www_auth;
	char *effective_host; /* host:port that answered (after redirects) */
};
void reg_http_resp_clear(struct reg_http_resp *r);

/* Header callback filling a reg_http_resp (resets it on each new response
 * of a redirect chain). */
size_t reg_http_header_cb(char *buf, size_t size, size_t n, void *arg);

struct registry_client;

/* Set up h for a request to url on endpoint ep: TLS verification and CAs
 * (of the URL's own host and of the endpoint), redirects (HTTPS only
 * unless the endpoint is insecure), timeouts, user agent.  auth is the
 * Authorization value or NULL. */
int reg_http_setup(struct registry_client *c, CURL *h, const struct reg_endpoint *ep, const char *url,
                   struct curl_slist **headers, const char *auth, const char *accept, struct mctr_err *err);

/* One blocking GET (body into r, at most r->max bytes); *code tells the
 * curl result (CURLE_OK when the request was made). */
int reg_http_get(struct registry_client *c, const struct reg_endpoint *ep, const char *url, const char *auth,
                 const char *accept, struct reg_http_resp *r, CURLcode *code, struct mctr_err *err);

/* Does the endpoint's HTTPS port complete a TLS handshake?  (A loopback
 * registry that does not may be used over plain HTTP.)  Sends no request. */
int reg_probe_tls(struct registry_client *c, const struct reg_endpoint *ep, bool *speaks_tls, struct mctr_err *err);

/* "TLS failure with HOST: ..." and the like, for a failed curl request. */
int reg_curl_fail(CURLcode rc, const char *errbuf, const char *host, struct mctr_err *err);

/* Is a curl failure worth retrying (connection broke, timed out)? */
bool reg_curl_transient(CURLcode rc);

/* Did the HTTPS attempt fail because the server does not speak TLS (so a
 * plain-HTTP fallback may be tried)? */
bool reg_curl_not_tls(CURLcode rc);

/* The host:port of a URL ("https://a:5000/x" -> "a:5000"), malloc'd. */
char *reg_url_host(const char *url);

/* ---- client.c ------------------------------------------------------------------ */

/* What the ping of an endpoint found. */
struct reg_ep_state {
	bool pinged;
	char *auth_scheme;  /* "", "bearer" or "basic" */
	char *realm;
	char *service;
};

struct reg_cached_token {
	char *host;
	char *scope;
	struct reg_token tok;
};

/* CA bundle and client certificate for one (URL host, endpoint host). */
struct reg_tls {
	char *key;
	char *ca;          /* system CAs + certs.d *.crt; NULL: curl's default */
	size_t ca_len;
	char *cert, *cert_key;
};

struct registry_client {
	char *domain;
	char *repository;  /* NULL for login */
	struct reg_config own_cfg;
	const struct reg_config *cfg;
	struct reg_creds creds;
	bool have_creds;
	bool creds_explicit;
	struct reg_endpoint *eps;
	struct reg_ep_state *ep_state;
	size_t n_eps;
	size_t cur;
	bool cur_locked;   /* an endpoint served the manifest: stay with it */
	struct reg_cached_token *tokens;
	size_t n_tokens;
	struct reg_tls *tls;
	size_t n_tls;
	char *system_ca;
	size_t system_ca_len;
	bool system_ca_read;
	CURL *easy;        /* reused for the blocking requests */
};

/* The endpoint in use and its URL prefix ("https://host/v2/REPO"). */
const struct reg_endpoint *reg_client_endpoint(struct registry_client *c);
char *reg_client_blob_url(struct registry_client *c, const char *digest);
/* The Authorization value for the repository's pull scope (NULL: none). */
int reg_client_auth(struct registry_client *c, char **value, struct mctr_err *err);
/* A request was refused with 401 (r: that answer): forget the endpoint's
 * tokens so the next reg_client_auth fetches new ones.  The answer's
 * challenges replace the recorded ones only when the endpoint itself sent
 * them: a redirect target (a CDN) never names where credentials go. */
void reg_client_auth_failed(struct registry_client *c, const struct reg_http_resp *r);
/* Milliseconds to wait before retry `attempt` (1...), given a Retry-After
 * in seconds (-1: none, exponential backoff). */
long reg_backoff(int attempt, long retry_after);
/* Milliseconds to wait before retrying an answer with this status (429,
 * 500, 502, 503, 504) that was attempt `attempt` (1...), or -1 when it is
 * not retried: another status, the last attempt, or a Retry-After longer
 * than a minute (the caller reports the rate limit). */
long reg_retry_delay(int attempt, long status, const char *retry_after);

#endif
