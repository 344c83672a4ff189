/* Which hosts serve a reference, over what, and how their errors read. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"

bool registry_is_loopback_literal(const char *host)
{
	_cleanup_free_ char *name = reg_host_name(host);
	if (strcasecmp(name, "localhost") == 0)
		return true;
	unsigned char a[16];
	if (inet_pton(AF_INET, name, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, name, a) == 1) {
		static const unsigned char one[16] = { [15] = 1 };
		return memcmp(a, one, 16) == 0;
	}
	return false;
}

const char *registry_api_host(const char *domain)
{
	return strcmp(domain, "docker.io") == 0 ? REG_DOCKER_HUB_API : domain;
}

void registry_endpoints_free(struct reg_endpoint *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].host);
		free(v[i].scheme);
	}
	free(v);
}

static struct reg_endpoint *push(struct reg_endpoint **v, size_t *n)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	struct reg_endpoint *e = &(*v)[(*n)++];
	memset(e, 0, sizeof *e);
	return e;
}

int registry_endpoints(const char *domain, const struct reg_config *cfg, bool tls_verify_off, bool no_mirrors,
                       struct reg_endpoint **out, size_t *n, struct mctr_err *err)
{
	struct reg_endpoint *v = NULL;
	size_t k = 0;
	if (domain == NULL || domain[0] == '\0')
		return mctr_fail(err, 0, "no registry given");
	bool hub = strcmp(domain, "docker.io") == 0;
	for (char **m = cfg && hub && !no_mirrors ? cfg->mirrors : NULL; m != NULL && *m != NULL; m++) {
		const char *sep = strstr(*m, "://");
		struct reg_endpoint *e = push(&v, &k);
		e->scheme = xstrndup(*m, (size_t)(sep - *m));
		e->host = xstrdup(sep + 3);
		e->mirror = true;
		e->scheme_fixed = true;
		e->insecure = regconfig_is_insecure(cfg, e->host);
		e->loopback = registry_is_loopback_literal(e->host);
		if (strcmp(e->scheme, "http") == 0 && !e->insecure && !e->loopback) {
			registry_endpoints_free(v, k);
			return mctr_fail(err, 0, "registry mirror %s: plain HTTP is allowed only for a loopback "
			                 "address or an insecure registry (insecure-registries)", *m);
		}
	}
	struct reg_endpoint *e = push(&v, &k);
	e->host = xstrdup(registry_api_host(domain));
	for (char *c = e->host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	e->scheme = xstrdup("https");
	e->insecure = tls_verify_off || regconfig_is_insecure(cfg, domain) || regconfig_is_insecure(cfg, e->host);
	e->loopback = registry_is_loopback_literal(e->host);
	*out = v;
	*n = k;
	return 0;
}

/* ---- errors --------------------------------------------------------------------- */

char *registry_error_code(const char *body, size_t len)
{
	if (body == NULL || len == 0)
		return NULL;
	json_t *j = json_loadb(body, len, 0, NULL);
	if (j == NULL)
		return NULL;
	const char *code = json_get_str(json_array_get(json_get_arr(j, "errors"), 0), "code");
	char *out = code ? xstrdup(code) : NULL;
	json_decref(j);
	return out;
}

static void lower_code(char *dst, size_t cap, const char *code)
{
	size_t i = 0;
	for (; code[i] && i + 1 < cap; i++)
		dst[i] = code[i] == '_' ? ' ' : (char)tolower((unsigned char)code[i]);
	dst[i] = '\0';
}

/* One line from a text that may hold newlines and control characters. */
static void append_clean(char **buf, size_t *len, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		n = max;
	*buf = xrealloc(*buf, *len + n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		(*buf)[(*len)++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	(*buf)[*len] = '\0';
}

static const char *status_reason(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return NULL;
	}
}

char *registry_error_text(long status, const char *body, size_t len)
{
	char *out = NULL;
	size_t olen = 0;
	json_t *j = body != NULL && len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *errors = json_get_arr(j, "errors");
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e) {
		const char *code = json_get_str(e, "code");
		const char *msg = json_get_str(e, "message");
		if (code == NULL && msg == NULL)
			continue;
		if (olen > 0)
			append_clean(&out, &olen, "; ", 2);
		if (code != NULL) {
			char lc[64];
			lower_code(lc, sizeof lc, code);
			append_clean(&out, &olen, lc, 64);
		}
		if (msg != NULL && msg[0] != '\0') {
			if (code != NULL)
				append_clean(&out, &olen, ": ", 2);
			append_clean(&out, &olen, msg, 300);
		}
		if (i >= 2)
			break;
	}
	/* Some servers answer {"details": "..."} or {"message": "..."}. */
	if (olen == 0 && json_get_str(j, "message") != NULL)
		append_clean(&out, &olen, json_get_str(j, "message"), 300);
	if (olen == 0 && json_get_str(j, "details") != NULL)
		append_clean(&out, &olen, json_get_str(j, "details"), 300);
	json_decref(j);
	if (olen == 0) {
		const char *reason = status_reason(status);
		char head[64];
		snprintf(head, sizeof head, "HTTP %ld%s%s", status, reason ? " " : "", reason ? reason : "");
		append_clean(&out, &olen, head, sizeof head);
	}
	return out;
}

long registry_parse_retry_after(const char *value, time_t now)
{
	if (value == NULL)
		return -1;
	while (*value == ' ')
		value++;
	if (isdigit((unsigned char)*value)) {
		char *end;
		long v = strtol(value, &end, 10);
		while (*end == ' ' || *end == '\r' || *end == '\n')
			end++;
		return *end == '\0' && v >= 0 ? v : -1;
	}
	/* IMF-fixdate: "Wed, 21 Oct 2015 07:28:00 GMT" */
	struct tm tm = { 0 };
	const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL)
		return -1;
	time_t when = timegm(&tm);
	return when > now ? (long)(when - now) : 0;
}
