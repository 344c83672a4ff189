/* /etc/mctr/config.json: mirrors, insecure registries, CA directories. */
#include "mctr/regconfig.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"

static const char *const default_certs_dirs[] = { "/etc/mctr/certs.d", "/etc/containers/certs.d",
	                                           "/etc/docker/certs.d", NULL };

void regconfig_init(struct reg_config *c)
{
	memset(c, 0, sizeof *c);
	c->mirrors = xcalloc(1, sizeof(char *));
	c->insecure = xcalloc(1, sizeof(char *));
	size_t n = sizeof default_certs_dirs / sizeof default_certs_dirs[0];
	c->certs_dirs = xcalloc(n, sizeof(char *));
	for (size_t i = 0; default_certs_dirs[i] != NULL; i++)
		c->certs_dirs[i] = xstrdup(default_certs_dirs[i]);
	c->max_downloads = REGCONFIG_DEFAULT_DOWNLOADS;
}

void regconfig_clear(struct reg_config *c)
{
	mctr_strv_free(c->mirrors);
	mctr_strv_free(c->insecure);
	mctr_strv_free(c->certs_dirs);
	memset(c, 0, sizeof *c);
}

static void lowercase(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* "https://host[:port][/]" -> "https://host:port" (lowercase host). */
static int normalize_mirror(const char *in, const char *what, char **out, struct mctr_err *err)
{
	const char *rest;
	if (strncmp(in, "https://", 8) == 0)
		rest = in + 8;
	else if (strncmp(in, "http://", 7) == 0)
		rest = in + 7;
	else
		return mctr_fail(err, 0, "%s: registry mirror \"%s\" must start with http:// or https://", what, in);
	size_t hl = strcspn(rest, "/?#@");
	if (hl == 0 || (rest[hl] != '\0' && strcmp(rest + hl, "/") != 0))
		return mctr_fail(err, 0, "%s: registry mirror \"%s\" must be a scheme and a host[:port], without path",
		                 what, in);
	*out = xstrndup(in, (size_t)(rest - in) + hl);
	lowercase(*out);
	return 0;
}

static int check_insecure_entry(const char *s, const char *what, struct mctr_err *err)
{
	if (strstr(s, "://") != NULL)
		return mctr_fail(err, 0, "%s: insecure registry \"%s\" must not contain a scheme", what, s);
	if (s[0] == '\0' || strpbrk(s, " \t?#@") != NULL)
		return mctr_fail(err, 0, "%s: invalid insecure registry \"%s\"", what, s);
	return 0;
}

static int strv_from(json_t *doc, const char *key, const char *what, char ***out, struct mctr_err *err)
{
	json_t *v = json_object_get(doc, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return mctr_fail(err, 0, "%s: \"%s\" must be an array of strings", what, key);
	_cleanup_free_ char *w = xasprintf("%s: \"%s\"", what, key);
	char **strs;
	if (json_to_strv(v, w, &strs, err) < 0)
		return -1;
	mctr_strv_free(*out);
	*out = strs;
	return 0;
}

int regconfig_parse(const char *buf, size_t len, const char *what, struct reg_config *out, struct mctr_err *err)
{
	regconfig_init(out);
	_cleanup_json_ json_t *doc = json_parse_buf(buf, len, what, err);
	if (doc == NULL)
		goto fail;
	if (!json_is_object(doc)) {
		mctr_fail(err, 0, "%s: expected a JSON object", what);
		goto fail;
	}
	if (strv_from(doc, "registry-mirrors", what, &out->mirrors, err) < 0 ||
	    strv_from(doc, "insecure-registries", what, &out->insecure, err) < 0 ||
	    strv_from(doc, "certs-dirs", what, &out->certs_dirs, err) < 0)
		goto fail;
	for (char **p = out->mirrors; *p != NULL; p++) {
		char *norm = NULL;
		if (normalize_mirror(*p, what, &norm, err) < 0)
			goto fail;
		free(*p);
		*p = norm;
	}
	for (char **p = out->insecure; *p != NULL; p++) {
		if (check_insecure_entry(*p, what, err) < 0)
			goto fail;
		lowercase(*p);
	}
	json_t *md = json_object_get(doc, "max-concurrent-downloads");
	if (md != NULL) {
		json_int_t v = json_is_integer(md) ? json_integer_value(md) : 0;
		if (v < 1 || v > REGCONFIG_MAX_DOWNLOADS) {
			mctr_fail(err, 0, "%s: \"max-concurrent-downloads\" must be an integer from 1 to %d", what,
			          REGCONFIG_MAX_DOWNLOADS);
			goto fail;
		}
		out->max_downloads = (int)v;
	}
	return 0;
fail:
	regconfig_clear(out);
	return -1;
}

int regconfig_load(const char *path, struct reg_config *out, struct mctr_err *err)
{
	if (path == NULL) {
		path = getenv("MCTR_CONFIG");
		if (path == NULL || path[0] == '\0')
			path = REGCONFIG_DEFAULT_PATH;
	}
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (reg_read_file(path, MCTR_JSON_MAX, &buf, &len, err) < 0) {
		if (err != NULL && err->errnum == ENOENT) {
			mctr_err_clear(err);
			regconfig_init(out);
			return 0;
		}
		return mctr_err_wrap(err, "configuration");
	}
	return regconfig_parse(buf, len, path, out, err);
}

char *reg_host_name(const char *host)
{
	if (host[0] == '[') {
		const char *end = strchr(host, ']');
		return end ? xstrndup(host + 1, (size_t)(end - host - 1)) : xstrdup(host);
	}
	const char *colon = strchr(host, ':');
	/* more than one ':' without brackets: a bare IPv6 literal */
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return xstrdup(host);
	return colon ? xstrndup(host, (size_t)(colon - host)) : xstrdup(host);
}

static bool cidr_contains(const char *cidr, const char *ip)
{
	const char *slash = strchr(cidr, '/');
	if (slash == NULL)
		return false;
	_cleanup_free_ char *net = xstrndup(cidr, (size_t)(slash - cidr));
	char *end;
	long bits = strtol(slash + 1, &end, 10);
	if (*end != '\0' || end == slash + 1 || bits < 0)
		return false;
	unsigned char a[16], b[16];
	size_t alen;
	if (inet_pton(AF_INET, net, a) == 1 && inet_pton(AF_INET, ip, b) == 1)
		alen = 4;
	else if (inet_pton(AF_INET6, net, a) == 1 && inet_pton(AF_INET6, ip, b) == 1)
		alen = 16;
	else
		return false;
	if ((size_t)bits > alen * 8)
		return false;
	for (size_t i = 0; i < alen && bits > 0; i++, bits -= 8) {
		unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
		if ((a[i] & mask) != (b[i] & mask))
			return false;
	}
	return true;
}

int reg_read_file(const char *path, size_t max, char **buf, size_t *len, struct mctr_err *err)
{
	/* A user's own file: symlinks are fine (file_read_at refuses them). */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mctr_fail_errno(err, "open %s", path);
	if (fd_read_all(fd, max, buf, len, err) < 0)
		return mctr_err_wrap(err, "%s", path);
	return 0;
}

bool regconfig_is_insecure(const struct reg_config *c, const char *host)
{
	if (c == NULL || c->insecure == NULL)
		return false;
	_cleanup_free_ char *lower = xstrdup(host);
	lowercase(lower);
	_cleanup_free_ char *name = reg_host_name(lower);
	for (char **p = c->insecure; *p != NULL; p++) {
		if (strcmp(*p, lower) == 0)
			return true;
		if (strchr(*p, '/') != NULL && cidr_contains(*p, name))
			return true;
	}
	return false;
}
