/* The registry client: endpoints tried in order, ping and authentication,
 * the token cache, blocking requests with retries, manifests and small blobs. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"
#include "mctr/mediatype.h"
#include "mctr/sha256.h"
#include "mctr/timeutil.h"

/* Longest Retry-After we wait for; a longer one fails the request at once. */
#define RETRY_AFTER_MAX 60
#define TOKEN_ANSWER_MAX (1u << 20)

/* ---- lifetime ----------------------------------------------------------------------- */

int registry_client_new(const char *domain, const char *repository, const struct registry_client_opts *o,
                        struct registry_client **out, struct mctr_err *err)
{
	struct registry_client *c = xcalloc(1, sizeof *c);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c->domain = xstrdup(domain);
	c->repository = repository ? xstrdup(repository) : NULL;
	if (o->config != NULL) {
		c->cfg = o->config;
	} else {
		regconfig_init(&c->own_cfg);
		c->cfg = &c->own_cfg;
	}
	c->easy = curl_easy_init();
	if (c->easy == NULL) {
		mctr_fail(err, 0, "libcurl: cannot create a handle");
		goto fail;
	}
	if (registry_endpoints(domain, c->cfg, o->tls_verify_off, o->no_mirrors, &c->eps, &c->n_eps, err) < 0)
		goto fail;
	c->ep_state = xcalloc(c->n_eps, sizeof *c->ep_state);
	if (o->creds != NULL) {
		c->creds.username = xstrdup(o->creds->username);
		c->creds.password = xstrdup(o->creds->password);
		c->have_creds = c->creds_explicit = true;
	} else {
		_cleanup_free_ char *path = o->auth_file ? xstrdup(o->auth_file) : regcreds_default_path();
		if (regcreds_lookup(path, domain, &c->creds, &c->have_creds, err) < 0)
			goto fail;
		if (c->have_creds)
			mctr_debug("registry %s: credentials of %s from %s", domain, c->creds.username, path);
	}
	*out = c;
	return 0;
fail:
	registry_client_free(c);
	return -1;
}

void registry_client_free(struct registry_client *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_tokens; i++) {
		free(c->tokens[i].host);
		free(c->tokens[i].scope);
		regauth_token_clear(&c->tokens[i].tok);
	}
	free(c->tokens);
	for (size_t i = 0; i < c->n_tls; i++) {
		free(c->tls[i].key);
		free(c->tls[i].ca);
		free(c->tls[i].cert);
		free(c->tls[i].cert_key);
	}
	free(c->tls);
	free(c->system_ca);
	for (size_t i = 0; c->ep_state != NULL && i < c->n_eps; i++) {
		free(c->ep_state[i].auth_scheme);
		free(c->ep_state[i].realm);
		free(c->ep_state[i].service);
	}
	free(c->ep_state);
	registry_endpoints_free(c->eps, c->n_eps);
	regcreds_clear(&c->creds);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	if (c->cfg == &c->own_cfg)
		regconfig_clear(&c->own_cfg);
	free(c->domain);
	free(c->repository);
	free(c);
	curl_global_cleanup();
}

const char *registry_client_host(const struct registry_client *c)
{
	return c->eps[c->cur].host;
}

const struct reg_endpoint *reg_client_endpoint(struct registry_client *c)
{
	return &c->eps[c->cur];
}

char *reg_client_blob_url(struct registry_client *c, const char *digest)
{
	const struct reg_endpoint *ep = &c->eps[c->cur];
	return xasprintf("%s://%s/v2/%s/blobs/%s", ep->scheme, ep->host, c->repository, digest);
}

long reg_backoff(int attempt, long retry_after)
{
	if (retry_after >= 0)
		return (retry_after > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : retry_after) * 1000L;
	long ms = 500L << (attempt > 5 ? 4 : attempt - 1);
	return ms > 8000 ? 8000 : ms;
}

long reg_retry_delay(int attempt, long status, const char *retry_after)
{
	if (attempt >= REGISTRY_MAX_ATTEMPTS)
		return -1;
	switch (status) {
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		break;
	default:
		return -1;
	}
	long ra = registry_parse_retry_after(retry_after, time(NULL));
	return ra > RETRY_AFTER_MAX ? -1 : reg_backoff(attempt, ra);
}

/* One GET, repeated with backoff while the connection breaks or the answer
 * says to come back later (reg_retry_delay): at most REGISTRY_MAX_ATTEMPTS. */
static int get_retrying(struct registry_client *c, const struct reg_endpoint *ep, const char *url,
                        const char *auth, const char *accept, struct reg_http_resp *r, struct mctr_err *err)
{
	for (int attempt = 1;; attempt++) {
		CURLcode code;
		long wait;
		if (reg_http_get(c, ep, url, auth, accept, r, &code, err) < 0) {
			if (!reg_curl_transient(code) || attempt >= REGISTRY_MAX_ATTEMPTS)
				return -1;
			wait = reg_backoff(attempt, -1);
			mctr_debug("%s; retrying in %ld ms", err->msg, wait);
		} else {
			wait = reg_retry_delay(attempt, r->status, r->retry_after);
			if (wait < 0)
				return 0;
			mctr_debug("%s: HTTP %ld; retrying in %ld ms", ep->host, r->status, wait);
		}
		sleep_ms(wait);
	}
}

/* ---- ping -------------------------------------------------------------------------------- */

static int record_challenge(struct reg_ep_state *st, char **www_auth, size_t n, const char *host,
                            struct mctr_err *err)
{
	struct reg_challenge *v = NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (regauth_parse_challenges(www_auth[i], &v, &k, err) < 0) {
			regauth_challenges_free(v, k);
			return mctr_err_wrap(err, "%s", host);
		}
	const struct reg_challenge *ch = regauth_pick(v, k);
	if (ch == NULL) {
		regauth_challenges_free(v, k);
		return mctr_fail(err, 0, "%s: asks for authentication without a Bearer or Basic challenge", host);
	}
	free(st->auth_scheme);
	free(st->realm);
	free(st->service);
	st->auth_scheme = xstrdup(ch->scheme);
	st->realm = ch->realm ? xstrdup(ch->realm) : NULL;
	st->service = ch->service ? xstrdup(ch->service) : NULL;
	regauth_challenges_free(v, k);
	return 0;
}

static int ping_once(struct registry_client *c, struct reg_endpoint *ep, struct reg_http_resp *r, CURLcode *code,
                     struct mctr_err *err)
{
	_cleanup_free_ char *url = xasprintf("%s://%s/v2/", ep->scheme, ep->host);
	return reg_http_get(c, ep, url, NULL, NULL, r, code, err);
}

static int ping(struct registry_client *c, size_t i, struct mctr_err *err)
{
	struct reg_endpoint *ep = &c->eps[i];
	struct reg_ep_state *st = &c->ep_state[i];
	if (st->pinged)
		return 0;
	struct reg_http_resp r = { 0 };
	CURLcode code;
	if (ep->loopback && !ep->insecure && !ep->scheme_fixed && strcmp(ep->scheme, "https") == 0) {
		/* A loopback literal whose port does not speak TLS is used over
		 * plain HTTP; one that does is verified like any other. */
		bool tls;
		if (reg_probe_tls(c, ep, &tls, err) < 0)
			return -1;
		if (!tls) {
			mctr_debug("registry %s: the HTTPS port does not speak TLS; plain HTTP (loopback)", ep->host);
			free(ep->scheme);
			ep->scheme = xstrdup("http");
		}
	}
	int rc = ping_once(c, ep, &r, &code, err);
	if (rc < 0 && !ep->scheme_fixed && strcmp(ep->scheme, "https") == 0 && ep->insecure) {
		/* An insecure registry: the one fallback to HTTP there is. */
		char first[MCTR_ERR_MSG_MAX];
		snprintf(first, sizeof first, "%s", err ? err->msg : "");
		mctr_debug("registry %s: HTTPS failed (%s); trying plain HTTP", ep->host, first);
		free(ep->scheme);
		ep->scheme = xstrdup("http");
		rc = ping_once(c, ep, &r, &code, err);
		if (rc < 0) {
			free(ep->scheme);
			ep->scheme = xstrdup("https");
			mctr_err_wrap(err, "%s; over plain HTTP", first);
		}
	}
	if (rc == 0) {
		if (r.status == 200) {
			st->auth_scheme = xstrdup("");
		} else if (r.status == 401) {
			rc = record_challenge(st, r.www_auth, r.n_www_auth, ep->host, err);
		} else {
			_cleanup_free_ char *text = registry_error_text(r.status, r.body, r.len);
			rc = mctr_fail(err, 0, "%s: /v2/ answered %s: not a registry (v2 API)", ep->host, text);
		}
	}
	reg_http_resp_clear(&r);
	if (rc == 0) {
		st->pinged = true;
		mctr_debug("registry %s: %s, auth %s", ep->host, ep->scheme,
		           st->auth_scheme[0] ? st->auth_scheme : "none");
	}
	return rc;
}

/* ---- tokens ---------------------------------------------------------------------------------- */

static struct reg_cached_token *token_find(struct registry_client *c, const char *host, const char *scope)
{
	for (size_t i = 0; i < c->n_tokens; i++)
		if (strcmp(c->tokens[i].host, host) == 0 && strcmp(c->tokens[i].scope, scope) == 0)
			return &c->tokens[i];
	return NULL;
}

static bool sends_creds(struct registry_client *c)
{
	return c->have_creds && !c->eps[c->cur].mirror;
}

static int fetch_token(struct registry_client *c, const char *scope, struct reg_token *out, struct mctr_err *err)
{
	const struct reg_endpoint *ep = &c->eps[c->cur];
	const struct reg_ep_state *st = &c->ep_state[c->cur];
	bool creds = sends_creds(c);
	bool realm_https = strncasecmp(st->realm, "https://", 8) == 0;
	if (!realm_https && strncasecmp(st->realm, "http://", 7) != 0)
		return mctr_fail(err, 0, "%s: token realm \"%s\" is not an http(s) URL", ep->host, st->realm);
	if (!realm_https && !ep->insecure && strcmp(ep->scheme, "http") != 0)
		return mctr_fail(err, 0, "%s: refusing the plain-HTTP token realm %s of a TLS registry", ep->host,
		                 st->realm);
	const char *scopes[2] = { scope[0] ? scope : NULL, NULL };
	_cleanup_free_ char *url = regauth_token_url(st->realm, st->service, scopes);
	_cleanup_free_ char *basic = creds ? regauth_basic_value(c->creds.username, c->creds.password) : NULL;
	struct reg_http_resp r = { .max = TOKEN_ANSWER_MAX };
	int rc = get_retrying(c, ep, url, basic, "application/json", &r, err);
	if (basic != NULL)
		explicit_bzero(basic, strlen(basic));
	_cleanup_free_ char *realm_host = reg_url_host(st->realm);
	if (rc < 0) {
		mctr_err_wrap(err, "token for %s", ep->host);
	} else if (r.status == 401 && creds) {
		rc = mctr_fail(err, 0, "%s: unauthorized: incorrect username or password (token server %s)", ep->host,
		               realm_host);
	} else if (r.status != 200) {
		_cleanup_free_ char *text = registry_error_text(r.status, r.body, r.len);
		rc = mctr_fail(err, 0, "%s: token server %s refused: %s", ep->host, realm_host, text);
	} else if (regauth_parse_token(r.body, r.len, time(NULL), out, err) < 0) {
		rc = mctr_err_wrap(err, "%s: token server %s", ep->host, realm_host);
	}
	reg_http_resp_clear(&r);
	return rc;
}

static int bearer_token(struct registry_client *c, const char *scope, const char **token, struct mctr_err *err)
{
	const char *host = c->eps[c->cur].host;
	struct reg_cached_token *t = token_find(c, host, scope);
	if (t != NULL && t->tok.expires > time(NULL)) {
		*token = t->tok.token;
		return 0;
	}
	struct reg_token fresh;
	if (fetch_token(c, scope, &fresh, err) < 0)
		return -1;
	if (t == NULL) {
		c->tokens = xrealloc(c->tokens, (c->n_tokens + 1) * sizeof *c->tokens);
		t = &c->tokens[c->n_tokens++];
		t->host = xstrdup(host);
		t->scope = xstrdup(scope);
	} else {
		regauth_token_clear(&t->tok);
	}
	t->tok = fresh;
	mctr_debug("registry %s: token for \"%s\"", host, scope);
	*token = t->tok.token;
	return 0;
}

int reg_client_auth(struct registry_client *c, char **value, struct mctr_err *err)
{
	*value = NULL;
	const struct reg_ep_state *st = &c->ep_state[c->cur];
	if (st->auth_scheme == NULL || st->auth_scheme[0] == '\0')
		return 0;
	if (strcmp(st->auth_scheme, "basic") == 0) {
		if (sends_creds(c))
			*value = regauth_basic_value(c->creds.username, c->creds.password);
		return 0;
	}
	_cleanup_free_ char *scope = c->repository ? regauth_pull_scope(c->repository) : xstrdup("");
	const char *token;
	if (bearer_token(c, scope, &token, err) < 0)
		return -1;
	*value = xasprintf("Bearer %s", token);
	return 0;
}

void reg_client_auth_failed(struct registry_client *c, const struct reg_http_resp *r)
{
	const char *host = c->eps[c->cur].host;
	for (size_t i = 0; i < c->n_tokens; i++)
		if (strcmp(c->tokens[i].host, host) == 0)
			c->tokens[i].tok.expires = 0;
	/* The registry may name another realm now; a host it redirected to may not. */
	struct mctr_err ignored = { 0 };
	if (r->n_www_auth > 0 && r->effective_host != NULL && strcasecmp(r->effective_host, host) == 0)
		record_challenge(&c->ep_state[c->cur], r->www_auth, r->n_www_auth, host, &ignored);
}

static void free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* GET url on the current endpoint, authenticated, retried as get_retrying
 * does, and once more with a new token after a 401. */
static int request(struct registry_client *c, const char *url, const char *accept, size_t max,
                   struct reg_http_resp *r, struct mctr_err *err)
{
	r->max = max;
	for (bool renewed = false;; renewed = true) {
		char *auth = NULL;
		if (reg_client_auth(c, &auth, err) < 0)
			return -1;
		int rc = get_retrying(c, &c->eps[c->cur], url, auth, accept, r, err);
		bool bearer = auth != NULL && strncmp(auth, "Bearer ", 7) == 0;
		free_secret(&auth);
		if (rc < 0 || r->status != 401 || !bearer || renewed)
			return rc;
		reg_client_auth_failed(c, r);
	}
}

/* ---- errors ------------------------------------------------------------------------------------- */

static int http_error(struct registry_client *c, const char *thing, const struct reg_http_resp *r,
                      struct mctr_err *err)
{
	const char *host = c->eps[c->cur].host;
	_cleanup_free_ char *text = registry_error_text(r->status, r->body, r->len);
	_cleanup_free_ char *code = registry_error_code(r->body, r->len);
	switch (r->status) {
	case 401:
	case 403:
		if (c->have_creds && !c->eps[c->cur].mirror)
			return mctr_fail(err, 0, "%s: access to %s denied with the credentials of %s (%s)", host,
			                 thing, c->creds.username, text);
		return mctr_fail(err, 0, "%s: pull access denied for %s, repository does not exist or may require "
		                 "'mctr login' (%s)", host, c->repository ? c->repository : thing, text);
	case 404:
		if (code != NULL && strcmp(code, "NAME_UNKNOWN") == 0)
			return mctr_fail(err, 0, "%s: repository %s not found (%s)", host, c->repository, text);
		return mctr_fail(err, 0, "%s: %s not found (%s)", host, thing, text);
	case 429: {
		long ra = registry_parse_retry_after(r->retry_after, time(NULL));
		if (ra >= 0)
			return mctr_fail(err, 0, "%s: rate limited (%s); retry after %ld s", host, text, ra);
		return mctr_fail(err, 0, "%s: rate limited (%s)", host, text);
	}
	default:
		return mctr_fail(err, 0, "%s: %s: %s", host, thing, text);
	}
}

/* ---- manifests ------------------------------------------------------------------------------------ */

void registry_manifest_clear(struct registry_manifest *m)
{
	free(m->body);
	free(m->media_type);
	memset(m, 0, sizeof *m);
}

static char *base_type(const char *ct)
{
	if (ct == NULL)
		return NULL;
	char *t = xstrndup(ct, mediatype_base_len(ct));
	for (char *p = t; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return t;
}

static bool known_manifest_type(const char *t)
{
	return t != NULL && (mediatype_is_index(t) || mediatype_is_manifest(t) || mediatype_is_schema1(t));
}

static int check_manifest(struct registry_client *c, const char *thing, const char *reference,
                          int64_t expected_size, struct reg_http_resp *r, struct registry_manifest *out,
                          struct mctr_err *err)
{
	const char *host = c->eps[c->cur].host;
	_cleanup_free_ char *ct = base_type(r->content_type);
	_cleanup_free_ char *what = xasprintf("%s: manifest %s", host, thing);
	json_t *j = json_loadb(r->body ? r->body : "", r->len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return mctr_fail(err, 0, "%s: not a JSON object", what);
	}
	const char *body_mt = json_get_str(j, "mediaType");
	_cleanup_free_ char *mt = NULL;
	if (known_manifest_type(ct)) {
		if (body_mt != NULL && !mediatype_equal(body_mt, ct)) {
			mctr_fail(err, 0, "%s: mediaType %s does not match its Content-Type %s", what, body_mt, ct);
			json_decref(j);
			return -1;
		}
		mt = xstrdup(ct);
	} else if (body_mt != NULL) {
		mt = xstrdup(body_mt);
	} else if (json_get_int(j, "schemaVersion", 0) == 1) {
		mt = xstrdup(MEDIATYPE_DOCKER_SCHEMA1);
	} else if (json_get_arr(j, "manifests") != NULL) {
		mt = xstrdup(MEDIATYPE_OCI_INDEX);
	} else if (json_get_obj(j, "config") != NULL) {
		mt = xstrdup(MEDIATYPE_OCI_MANIFEST);
	}
	json_decref(j);
	if (mt == NULL)
		return mctr_fail(err, 0, "%s: unknown document (Content-Type %s, no mediaType)", what,
		                 ct ? ct : "none");
	if (mediatype_check_manifest(mt, what, err) < 0)
		return -1;
	sha256_digest_buf(r->body ? r->body : "", r->len, out->digest);
	if (r->docker_digest != NULL && strncmp(r->docker_digest, DIGEST_PREFIX, DIGEST_PREFIX_LEN) == 0 &&
	    strcmp(r->docker_digest, out->digest) != 0)
		return mctr_fail(err, 0, "%s: content %s does not match its Docker-Content-Digest %s", what,
		                 out->digest, r->docker_digest);
	if (strncmp(reference, DIGEST_PREFIX, DIGEST_PREFIX_LEN) == 0 && strcmp(reference, out->digest) != 0)
		return mctr_fail(err, 0, "%s: content does not match the digest (content is %s)", what, out->digest);
	if (expected_size >= 0 && (int64_t)r->len != expected_size)
		return mctr_fail(err, 0, "%s: %zu bytes, but its descriptor says %lld", what, r->len,
		                 (long long)expected_size);
	out->body = steal_pointer(&r->body);
	out->len = r->len;
	out->media_type = steal_pointer(&mt);
	return 0;
}

int registry_get_manifest(struct registry_client *c, const char *reference, int64_t expected_size,
                          struct registry_manifest *out, struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	bool by_digest = strncmp(reference, DIGEST_PREFIX, DIGEST_PREFIX_LEN) == 0;
	_cleanup_free_ char *thing = xasprintf("%s%s%s", c->repository, by_digest ? "@" : ":", reference);
	size_t first = c->cur_locked ? c->cur : 0, last = c->cur_locked ? c->cur + 1 : c->n_eps;
	int rc = -1;
	for (size_t i = first; i < last; i++) {
		c->cur = i;
		const struct reg_endpoint *ep = &c->eps[i];
		bool more = i + 1 < last;
		struct reg_http_resp r = { 0 };
		rc = ping(c, i, err);
		if (rc == 0) {
			_cleanup_free_ char *url = xasprintf("%s://%s/v2/%s/manifests/%s", ep->scheme, ep->host,
			                                     c->repository, reference);
			rc = request(c, url, MEDIATYPE_MANIFEST_ACCEPT, REGISTRY_MANIFEST_MAX, &r, err);
			if (rc == 0 && r.status != 200)
				rc = http_error(c, thing, &r, err);
			else if (rc == 0)
				rc = check_manifest(c, thing, reference, expected_size, &r, out, err);
		}
		reg_http_resp_clear(&r);
		if (rc == 0) {
			c->cur_locked = true;
			return 0;
		}
		if (ep->mirror && more)
			mctr_info("mirror %s: %s; trying the next", ep->host, err ? err->msg : "failed");
		else
			break;
	}
	return rc;
}

/* ---- small blobs and login ----------------------------------------------------------------------------- */

int registry_get_blob(struct registry_client *c, const char *digest, int64_t size, size_t max, char **buf,
                      size_t *len, struct mctr_err *err)
{
	const char *host = c->eps[c->cur].host;
	if (size > (int64_t)max)
		return mctr_fail(err, 0, "%s: blob %s: %lld bytes, more than the %zu allowed", host, digest,
		                 (long long)size, max);
	if (ping(c, c->cur, err) < 0)
		return -1;
	_cleanup_free_ char *url = reg_client_blob_url(c, digest);
	_cleanup_free_ char *thing = xasprintf("blob %s", digest);
	struct reg_http_resp r = { 0 };
	int rc = request(c, url, NULL, max, &r, err);
	if (rc == 0 && r.status != 200)
		rc = http_error(c, thing, &r, err);
	if (rc == 0) {
		char got[DIGEST_LEN + 1];
		sha256_digest_buf(r.body ? r.body : "", r.len, got);
		if (size >= 0 && (int64_t)r.len != size)
			rc = mctr_fail(err, 0, "%s: blob %s: %zu bytes, but its descriptor says %lld", host, digest,
			               r.len, (long long)size);
		else if (strcmp(got, digest) != 0)
			rc = mctr_fail(err, 0, "%s: blob %s: content does not match its digest (content is %s)", host,
			               digest, got);
	}
	if (rc == 0) {
		*len = r.len;
		*buf = r.body ? steal_pointer(&r.body) : xstrdup("");
	}
	reg_http_resp_clear(&r);
	return rc;
}

int registry_check_login(struct registry_client *c, struct mctr_err *err)
{
	c->cur = c->n_eps - 1; /* the registry itself, never a mirror */
	if (ping(c, c->cur, err) < 0)
		return -1;
	const struct reg_endpoint *ep = &c->eps[c->cur];
	const struct reg_ep_state *st = &c->ep_state[c->cur];
	if (st->auth_scheme[0] == '\0')
		return 0; /* asks for nothing: Docker calls that a successful login too */
	if (!c->have_creds)
		return mctr_fail(err, 0, "%s: credentials needed", ep->host);
	_cleanup_free_ char *url = xasprintf("%s://%s/v2/", ep->scheme, ep->host);
	struct reg_http_resp r = { 0 };
	int rc = request(c, url, NULL, REG_ERROR_BODY_MAX, &r, err);
	if (rc == 0 && r.status == 401)
		rc = mctr_fail(err, 0, "%s: unauthorized: incorrect username or password", ep->host);
	else if (rc == 0 && r.status != 200)
		rc = http_error(c, "/v2/", &r, err);
	reg_http_resp_clear(&r);
	return rc;
}
