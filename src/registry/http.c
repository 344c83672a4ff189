/* One curl easy handle set up for a registry endpoint: TLS with the
 * endpoint's CA directories, redirect rules, timeouts; and one blocking GET. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"

#define CA_FILE_MAX (8u << 20)
#define SYSTEM_CA_FALLBACK "/etc/ssl/certs/ca-certificates.crt"
#define CONNECT_TIMEOUT 30L
/* A transfer that moves nothing for this long is broken (a paused one is
 * not checked by libcurl). */
#define LOW_SPEED_TIME 60L

void reg_http_resp_clear(struct reg_http_resp *r)
{
	free(r->body);
	free(r->content_type);
	free(r->docker_digest);
	free(r->retry_after);
	free(r->content_range);
	mctr_strv_free(r->www_auth);
	free(r->effective_host);
	size_t max = r->max;
	memset(r, 0, sizeof *r);
	r->max = max;
}

static char *header_value(const char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);
	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	const char *v = line + nl + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return xstrndup(v, (size_t)(end - v));
}

static void set_field(char **slot, char *v)
{
	if (v == NULL)
		return;
	free(*slot);
	*slot = v;
}

size_t reg_http_header_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct reg_http_resp *r = arg;
	size_t len = size * n;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or a 100): forget the last one. */
		reg_http_resp_clear(r);
		const char *sp = memchr(buf, ' ', len);
		if (sp != NULL)
			r->status = strtol(sp + 1, NULL, 10);
		return len;
	}
	set_field(&r->content_type, header_value(buf, len, "Content-Type"));
	set_field(&r->docker_digest, header_value(buf, len, "Docker-Content-Digest"));
	set_field(&r->retry_after, header_value(buf, len, "Retry-After"));
	set_field(&r->content_range, header_value(buf, len, "Content-Range"));
	char *wa = header_value(buf, len, "WWW-Authenticate");
	if (wa != NULL) {
		r->www_auth = xrealloc(r->www_auth, (r->n_www_auth + 2) * sizeof(char *));
		r->www_auth[r->n_www_auth++] = wa;
		r->www_auth[r->n_www_auth] = NULL;
	}
	return len;
}

char *reg_url_host(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/?#");
	const char *at = memchr(p, '@', n);
	if (at != NULL) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	return xstrndup(p, n);
}

/* ---- TLS material ------------------------------------------------------------------ */

static void append_buf(char **buf, size_t *len, const char *add, size_t n)
{
	*buf = xrealloc(*buf, *len + n + 2);
	memcpy(*buf + *len, add, n);
	*len += n;
	if (n > 0 && add[n - 1] != '\n')
		(*buf)[(*len)++] = '\n';
	(*buf)[*len] = '\0';
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a > b && strcmp(s + a - b, suf) == 0;
}

/* Add the *.crt of dir/host/ to the bundle, and take its client.cert/key. */
static void scan_certs_dir(const char *dir, const char *host, struct reg_tls *t, char **extra, size_t *extra_len)
{
	_cleanup_free_ char *d = path_join(dir, host);
	_cleanup_closedir_ DIR *dh = opendir(d);
	if (dh == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = path_join(d, de->d_name);
		if (has_suffix(de->d_name, ".crt")) {
			_cleanup_free_ char *buf = NULL;
			size_t len = 0;
			struct mctr_err err = { 0 };
			if (reg_read_file(p, CA_FILE_MAX, &buf, &len, &err) < 0) {
				mctr_warn("%s", err.msg);
				continue;
			}
			append_buf(extra, extra_len, buf, len);
			mctr_debug("registry %s: CA %s", host, p);
		} else if (has_suffix(de->d_name, ".cert") && t->cert == NULL) {
			_cleanup_free_ char *key = xasprintf("%.*s.key", (int)(strlen(p) - 5), p);
			if (access(key, R_OK) == 0) {
				t->cert = xstrdup(p);
				t->cert_key = steal_pointer(&key);
			} else {
				mctr_warn("registry %s: client certificate %s has no %s", host, p, key);
			}
		}
	}
}

static void read_system_ca(struct registry_client *c)
{
	if (c->system_ca_read)
		return;
	c->system_ca_read = true;
	char *path = NULL;
	if (curl_easy_getinfo(c->easy, CURLINFO_CAINFO, &path) != CURLE_OK || path == NULL)
		path = (char *)SYSTEM_CA_FALLBACK;
	struct mctr_err err = { 0 };
	if (reg_read_file(path, CA_FILE_MAX, &c->system_ca, &c->system_ca_len, &err) < 0)
		mctr_debug("system CA bundle: %s", err.msg);
}

static struct reg_tls *tls_for(struct registry_client *c, const char *url_host, const char *ep_host)
{
	_cleanup_free_ char *key = xasprintf("%s|%s", url_host, ep_host);
	for (size_t i = 0; i < c->n_tls; i++)
		if (strcmp(c->tls[i].key, key) == 0)
			return &c->tls[i];
	c->tls = xrealloc(c->tls, (c->n_tls + 1) * sizeof *c->tls);
	struct reg_tls *t = &c->tls[c->n_tls++];
	memset(t, 0, sizeof *t);
	t->key = steal_pointer(&key);
	char *extra = NULL;
	size_t extra_len = 0;
	for (char **d = c->cfg->certs_dirs; d != NULL && *d != NULL; d++) {
		scan_certs_dir(*d, url_host, t, &extra, &extra_len);
		/* The registry's CA also vouches for the token realm it names. */
		if (strcmp(url_host, ep_host) != 0)
			scan_certs_dir(*d, ep_host, t, &extra, &extra_len);
	}
	if (extra != NULL) {
		read_system_ca(c);
		append_buf(&t->ca, &t->ca_len, c->system_ca ? c->system_ca : "", c->system_ca_len);
		append_buf(&t->ca, &t->ca_len, extra, extra_len);
		free(extra);
	}
	return t;
}

/* ---- setup ---------------------------------------------------------------------------- */

#define SETOPT(h, opt, val)                                                                                      \
	do {                                                                                                     \
		CURLcode rc_ = curl_easy_setopt((h), (opt), (val));                                               \
		if (rc_ != CURLE_OK)                                                                               \
			return mctr_fail(err, 0, "libcurl: cannot set %s: %s", #opt, curl_easy_strerror(rc_));   \
	} while (0)

int reg_http_setup(struct registry_client *c, CURL *h, const struct reg_endpoint *ep, const char *url,
                   struct curl_slist **headers, const char *auth, const char *accept, struct mctr_err *err)
{
	_cleanup_free_ char *url_host = reg_url_host(url);
	bool https = strncasecmp(url, "https://", 8) == 0;
	bool insecure = ep->insecure;
	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 1L);
	SETOPT(h, CURLOPT_MAXREDIRS, 10L);
	/* Redirects stay on HTTPS unless the registry is allowed plain HTTP. */
	SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, insecure || !https ? "http,https" : "https");
	/* Never re-send Authorization to another host (the default, said twice). */
	SETOPT(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	SETOPT(h, CURLOPT_USERAGENT, REG_USER_AGENT);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	SETOPT(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	SETOPT(h, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_ACCEPT_ENCODING, NULL);
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
	if (!insecure) {
		struct reg_tls *t = tls_for(c, url_host, ep->host);
		if (t->ca != NULL) {
			struct curl_blob blob = { .data = t->ca, .len = t->ca_len, .flags = CURL_BLOB_COPY };
			SETOPT(h, CURLOPT_CAINFO_BLOB, &blob);
		}
		if (t->cert != NULL) {
			SETOPT(h, CURLOPT_SSLCERT, t->cert);
			SETOPT(h, CURLOPT_SSLKEY, t->cert_key);
		}
	}
	struct curl_slist *l = NULL;
	if (accept != NULL) {
		_cleanup_free_ char *a = xasprintf("Accept: %s", accept);
		l = curl_slist_append(l, a);
	}
	if (auth != NULL) {
		_cleanup_free_ char *a = xasprintf("Authorization: %s", auth);
		l = curl_slist_append(l, a);
		explicit_bzero(a, strlen(a));
	}
	*headers = l;
	if (l != NULL)
		SETOPT(h, CURLOPT_HTTPHEADER, l);
	return 0;
}

/* ---- errors ------------------------------------------------------------------------------ */

int reg_curl_fail(CURLcode rc, const char *errbuf, const char *host, struct mctr_err *err)
{
	const char *detail = errbuf != NULL && errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		return mctr_fail(err, 0, "TLS failure with %s: certificate not trusted (%s); add its CA as "
		                 "/etc/mctr/certs.d/%s/ca.crt, or use --tls-verify=false", host, detail, host);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return mctr_fail(err, 0, "TLS failure with %s: %s", host, detail);
	case CURLE_COULDNT_RESOLVE_HOST:
		return mctr_fail(err, 0, "cannot resolve %s: %s", host, detail);
	case CURLE_COULDNT_CONNECT:
		return mctr_fail(err, 0, "cannot connect to %s: %s", host, detail);
	case CURLE_OPERATION_TIMEDOUT:
		return mctr_fail(err, 0, "%s: timed out: %s", host, detail);
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return mctr_fail(err, 0, "%s: refused redirect: %s", host, detail);
	default:
		return mctr_fail(err, 0, "%s: %s", host, detail);
	}
}

bool reg_curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

bool reg_curl_not_tls(CURLcode rc)
{
	return rc == CURLE_SSL_CONNECT_ERROR;
}

/* ---- does the port speak TLS? ----------------------------------------------------------- */

int reg_probe_tls(struct registry_client *c, const struct reg_endpoint *ep, bool *speaks_tls, struct mctr_err *err)
{
	CURL *h = c->easy;
	curl_easy_reset(h);
	_cleanup_free_ char *url = xasprintf("https://%s/", ep->host);
	char errbuf[CURL_ERROR_SIZE] = "";
	/* Handshake only: no request is sent, so not verifying here gives
	 * nothing away; it spares loading the CA bundle (~20 ms) for a
	 * port that turns out to speak plain HTTP.  A TLS port is then
	 * pinged again, verified. */
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
		return mctr_fail(err, 0, "libcurl: cannot set up a TLS probe");
	CURLcode rc = curl_easy_perform(h);
	curl_easy_reset(h);
	*speaks_tls = rc == CURLE_OK;
	if (rc == CURLE_OK || reg_curl_not_tls(rc))
		return 0;
	return reg_curl_fail(rc, errbuf, ep->host, err);
}

/* ---- one blocking GET ------------------------------------------------------------------- */

static size_t body_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct reg_http_resp *r = arg;
	size_t len = size * n;
	if (r->len + len > r->max) {
		r->too_big = true;
		return 0;
	}
	r->body = xrealloc(r->body, r->len + len + 1);
	memcpy(r->body + r->len, buf, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

int reg_http_get(struct registry_client *c, const struct reg_endpoint *ep, const char *url, const char *auth,
                 const char *accept, struct reg_http_resp *r, CURLcode *code, struct mctr_err *err)
{
	CURL *h = c->easy;
	curl_easy_reset(h);
	reg_http_resp_clear(r);
	if (r->max == 0)
		r->max = REG_ERROR_BODY_MAX;
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	*code = CURLE_OK;
	int ret = reg_http_setup(c, h, ep, url, &headers, auth, accept, err);
	if (ret == 0 && (curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb) != CURLE_OK ||
	                 curl_easy_setopt(h, CURLOPT_WRITEDATA, r) != CURLE_OK ||
	                 curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, reg_http_header_cb) != CURLE_OK ||
	                 curl_easy_setopt(h, CURLOPT_HEADERDATA, r) != CURLE_OK ||
	                 curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK))
		ret = mctr_fail(err, 0, "libcurl: cannot set up a request");
	if (ret == 0) {
		mctr_debug("GET %s", url);
		CURLcode rc = curl_easy_perform(h);
		char *eff = NULL;
		if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff != NULL)
			r->effective_host = reg_url_host(eff);
		*code = rc;
		if (rc == CURLE_WRITE_ERROR && r->too_big) {
			ret = mctr_fail(err, 0, "%s: answer larger than %zu bytes", url, r->max);
		} else if (rc != CURLE_OK) {
			_cleanup_free_ char *host = reg_url_host(url);
			ret = reg_curl_fail(rc, errbuf, r->effective_host ? r->effective_host : host, err);
		} else {
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		}
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	return ret;
}
