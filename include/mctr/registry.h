/* Registry v2 client over libcurl (distribution-spec "Pull"): endpoints and
 * mirrors, TLS, authentication, manifests, blobs, errors.
 *
 * Endpoints.  docker.io is served by registry-1.docker.io; the configured
 * mirrors (regconfig.h) are tried before it, for docker.io only.  Every
 * other domain is its own endpoint.
 *
 * TLS is always verified, loopback included, against the system CAs plus
 * the *.crt files of CERTS_DIR/HOST:PORT/ (CERTS_DIR from the configuration:
 * /etc/mctr/certs.d, /etc/containers/certs.d, /etc/docker/certs.d); a
 * client.cert/client.key pair there is presented.  An insecure registry
 * (insecure-registries, or --tls-verify=false) is not verified and may fall
 * back to plain HTTP.  Plain HTTP is otherwise a fallback only for a literal
 * "localhost", 127.0.0.0/8 or ::1 registry whose HTTPS port does not speak
 * TLS: never for a name that merely resolves there, never after a
 * certificate was refused.
 *
 * Authentication.  The client pings /v2/ and answers the WWW-Authenticate
 * challenge: Bearer (a token from the realm, anonymous or with Basic
 * credentials, cached per endpoint and scope, renewed when it expires or a
 * request gets 401) or Basic.  Credentials (--creds, else the Docker config
 * file) go only to the registry itself and to the token realm its challenge
 * names, over HTTPS unless the registry is insecure; never to a mirror, and
 * never along a redirect to another host (libcurl drops Authorization there).
 *
 * Requests are retried with backoff when the registry answers 429 (honouring
 * Retry-After up to a minute) or 500/502/503/504, or the connection breaks; a
 * broken blob download resumes with a Range request.  Errors are one line:
 * the registry's error JSON turned into words, the host at fault named. */
#ifndef MCTR_REGISTRY_H
#define MCTR_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mctr/digest.h"
#include "mctr/err.h"
#include "mctr/regconfig.h"
#include "mctr/regcreds.h"

#define REGISTRY_DOCKER_HUB_HOST "registry-1.docker.io"
#define REGISTRY_MANIFEST_MAX (4u << 20)
#define REGISTRY_MAX_ATTEMPTS 5

/* ---- endpoints and policy (no I/O) ----------------------------------------- */

struct reg_endpoint {
	char *host;        /* "registry-1.docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char *scheme;      /* "https" or "http"; a mirror URL fixes it */
	bool mirror;       /* never gets credentials */
	bool insecure;     /* TLS not verified, HTTP fallback allowed */
	bool loopback;     /* literal loopback: HTTP fallback when HTTPS does not speak TLS */
	bool scheme_fixed; /* no fallback: the mirror URL named the scheme */
};

/* True for "localhost", an IPv4 literal in 127.0.0.0/8 or "::1" ("[::1]"),
 * each with or without ":port".  Names are never resolved. */
bool registry_is_loopback_literal(const char *host);

/* The host that serves a reference domain: docker.io -> registry-1.docker.io. */
const char *registry_api_host(const char *domain);

/* Endpoints to try for a domain, in order: mirrors (docker.io only, unless
 * no_mirrors), then the origin.  tls_verify_off makes the origin insecure. */
int registry_endpoints(const char *domain, const struct reg_config *cfg, bool tls_verify_off, bool no_mirrors,
                       struct reg_endpoint **out, size_t *n, struct mctr_err *err);
void registry_endpoints_free(struct reg_endpoint *v, size_t n);

/* The registry's error answer in words, without the host: "manifest
 * unknown: manifest unknown", "unauthorized: authentication required",
 * "HTTP 502 Bad Gateway".  Tolerates bodies that are not JSON (malloc'd). */
char *registry_error_text(long status, const char *body, size_t len);

/* First error code of a registry error body ("MANIFEST_UNKNOWN"), or NULL
 * (malloc'd). */
char *registry_error_code(const char *body, size_t len);

/* Retry-After: delta-seconds or an HTTP-date; seconds from now (>= 0), or
 * -1 when it cannot be read. */
long registry_parse_retry_after(const char *value, time_t now);

/* ---- the client ---------------------------------------------------------------- */

struct registry_client_opts {
	const struct reg_config *config;  /* NULL: defaults */
	const struct reg_creds *creds;    /* --creds; NULL: from auth_file */
	const char *auth_file;            /* Docker config.json; NULL: regcreds_default_path() */
	bool tls_verify_off;              /* --tls-verify=false: the registry is insecure */
	bool no_mirrors;                  /* talk to the registry itself (login) */
};

struct registry_client;

/* A client for one repository (path "library/alpine") of a reference
 * domain.  Nothing is sent yet. */
int registry_client_new(const char *domain, const char *repository, const struct registry_client_opts *o,
                        struct registry_client **out, struct mctr_err *err);
void registry_client_free(struct registry_client *c);

/* The endpoint requests go to now ("127.0.0.1:5000"), for messages. */
const char *registry_client_host(const struct registry_client *c);

struct registry_manifest {
	char *body;        /* exactly as received */
	size_t len;
	char *media_type;  /* from Content-Type (parameters dropped), else the body's mediaType */
	char digest[DIGEST_LEN + 1];
};

/* GET /v2/<repo>/manifests/<reference> (a tag or a digest) with the v2
 * Accept types.  The body must match Docker-Content-Digest when the
 * registry sends one, the reference when it is a digest, and expected_size
 * (if >= 0); its mediaType field must agree with Content-Type.  With
 * mirrors, the first endpoint that has the manifest serves the rest of the
 * pull; a mirror's failure moves on to the next. */
int registry_get_manifest(struct registry_client *c, const char *reference, int64_t expected_size,
                          struct registry_manifest *out, struct mctr_err *err);
void registry_manifest_clear(struct registry_manifest *m);

/* GET a small blob (an image config) into memory, checked against its
 * digest and size (at most max bytes). */
int registry_get_blob(struct registry_client *c, const char *digest, int64_t size, size_t max, char **buf,
                      size_t *len, struct mctr_err *err);

/* Check that the registry accepts the client's credentials (login): ping,
 * then a token or a Basic-authenticated /v2/. */
int registry_check_login(struct registry_client *c, struct mctr_err *err);

/* ---- parallel blob downloads (curl multi) ------------------------------------------ */

/* Where a download's bytes go.  The sink owns what it received; the fetcher
 * asks it where to resume. */
struct registry_blob_sink {
	/* Bytes of the blob held already: the request asks for the rest. */
	int64_t (*have)(void *arg);
	/* The server sent the whole blob (200, not 206): drop what is held. */
	int (*restart)(void *arg, struct mctr_err *err);
	/* Body bytes.  0: taken; 1: no room now, nothing taken (the transfer
	 * pauses until room() says yes); -1: failed (err set). */
	int (*data)(void *arg, const void *buf, size_t len, struct mctr_err *err);
	bool (*room)(void *arg);
	/* The download ended: rc 0 when every byte arrived (checking them is
	 * the sink's job), else -1 with err. */
	void (*done)(void *arg, int rc, const struct mctr_err *err);
};

struct registry_fetcher;

int registry_fetcher_new(struct registry_client *c, struct registry_fetcher **out, struct mctr_err *err);
void registry_fetcher_free(struct registry_fetcher *f);

/* Start downloading a blob of `size` bytes into sink (from sink->have()). */
int registry_fetcher_add(struct registry_fetcher *f, const char *digest, int64_t size,
                         const struct registry_blob_sink *sink, void *arg, struct mctr_err *err);

/* Move the transfers on for at most timeout_ms: receive, unpause, retry,
 * call done() for those that ended.  Returns the number still going
 * (waiting to retry included), or -1 when curl itself fails. */
int registry_fetcher_run(struct registry_fetcher *f, int timeout_ms, struct mctr_err *err);

/* Transfers going (waiting to retry included). */
unsigned registry_fetcher_active(const struct registry_fetcher *f);

#endif
