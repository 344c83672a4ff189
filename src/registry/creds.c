/* Docker's config.json: credentials read, written and removed. */
#include "mctr/regcreds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"

/* ---- base64 ------------------------------------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *regcreds_base64_encode(const void *buf, size_t len)
{
	const unsigned char *in = buf;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = b64chars[(v >> 18) & 63];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64chars[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;
	return p ? (int)(p - b64chars) : -1;
}

char *regcreds_base64_decode(const char *s, size_t *len_out)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n % 4 != 0)
		return NULL;
	char *out = xmalloc(n / 4 * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64val(s[i + k])) < 0) {
				free(out);
				return NULL;
			}
		}
		unsigned x = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
		out[o++] = (char)(x >> 16);
		if (pad < 2)
			out[o++] = (char)(x >> 8);
		if (pad < 1)
			out[o++] = (char)x;
	}
	out[o] = '\0';
	if (len_out != NULL)
		*len_out = o;
	return out;
}

/* ---- keys ----------------------------------------------------------------------- */

char *regcreds_default_path(void)
{
	const char *dir = getenv("DOCKER_CONFIG");
	if (dir != NULL && dir[0] != '\0')
		return path_join(dir, "config.json");
	const char *home = getenv("HOME");
	if (home == NULL || home[0] == '\0') {
		struct passwd *pw = getpwuid(geteuid());
		home = pw != NULL ? pw->pw_dir : "/";
	}
	_cleanup_free_ char *d = path_join(home, ".docker");
	return path_join(d, "config.json");
}

char *regcreds_normalize_key(const char *key)
{
	const char *p = strstr(key, "://");
	p = p ? p + 3 : key;
	char *host = xstrndup(p, strcspn(p, "/"));
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strcmp(host, "index.docker.io") == 0 || strcmp(host, REG_DOCKER_HUB_API) == 0) {
		free(host);
		host = xstrdup("docker.io");
	}
	return host;
}

char *regcreds_key(const char *domain)
{
	_cleanup_free_ char *norm = regcreds_normalize_key(domain);
	if (strcmp(norm, "docker.io") == 0)
		return xstrdup(REGCREDS_DOCKER_HUB_KEY);
	return steal_pointer(&norm);
}

int regcreds_parse_pair(const char *s, struct reg_creds *out, struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	const char *colon = strchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == '\0')
		return mctr_fail(err, 0, "credentials must be USER:PASSWORD");
	out->username = xstrndup(s, (size_t)(colon - s));
	out->password = xstrdup(colon + 1);
	return 0;
}

void regcreds_clear(struct reg_creds *c)
{
	free(c->username);
	if (c->password != NULL) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	memset(c, 0, sizeof *c);
}

/* ---- the file ---------------------------------------------------------------------- */

/* The parsed file, or a new empty object when it does not exist. */
static json_t *load_config(const char *path, struct mctr_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (reg_read_file(path, MCTR_JSON_MAX, &buf, &len, err) < 0) {
		if (err != NULL && err->errnum == ENOENT) {
			mctr_err_clear(err);
			return json_object();
		}
		mctr_err_wrap(err, "credentials file");
		return NULL;
	}
	if (len == 0)
		return json_object();
	json_t *j = json_parse_buf(buf, len, path, err);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		mctr_fail(err, 0, "%s: expected a JSON object", path);
		return NULL;
	}
	return j;
}

static int decode_auth(const char *auth, const char *path, const char *key, struct reg_creds *out,
                       struct mctr_err *err)
{
	size_t len;
	_cleanup_free_ char *plain = regcreds_base64_decode(auth, &len);
	if (plain == NULL || strlen(plain) != len)
		return mctr_fail(err, 0, "%s: auths \"%s\": \"auth\" is not valid base64", path, key);
	int rc = regcreds_parse_pair(plain, out, err);
	explicit_bzero(plain, len);
	if (rc < 0)
		return mctr_fail(err, 0, "%s: auths \"%s\": \"auth\" is not base64 of USER:PASSWORD", path, key);
	return 0;
}

int regcreds_lookup(const char *path, const char *domain, struct reg_creds *out, bool *found, struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	*found = false;
	_cleanup_json_ json_t *cfg = load_config(path, err);
	if (cfg == NULL)
		return -1;
	_cleanup_free_ char *want = regcreds_normalize_key(domain);
	const char *key;
	json_t *entry;
	json_object_foreach(json_get_obj(cfg, "auths"), key, entry) {
		_cleanup_free_ char *k = regcreds_normalize_key(key);
		const char *auth = json_get_str(entry, "auth");
		if (strcmp(k, want) != 0 || auth == NULL || auth[0] == '\0')
			continue;
		if (decode_auth(auth, path, key, out, err) < 0)
			return -1;
		*found = true;
		return 0;
	}
	return 0;
}

/* Remove the entries for `want` from auths; true if any. */
static bool drop_entries(json_t *auths, const char *want)
{
	bool removed = false;
	const char *key;
	json_t *entry;
	void *tmp;
	json_object_foreach_safe(auths, tmp, key, entry) {
		_cleanup_free_ char *k = regcreds_normalize_key(key);
		if (strcmp(k, want) == 0) {
			json_object_del(auths, key);
			removed = true;
		}
	}
	return removed;
}

/* Write next to the real file (a symlinked config.json stays a symlink to
 * the updated file), mode 0600 whatever the umask. */
static int write_config(const char *path, const json_t *cfg, struct mctr_err *err)
{
	char real[PATH_MAX];
	const char *target = realpath(path, real) != NULL ? real : path;
	_cleanup_free_ char *dir = xstrdup(target);
	char *slash = strrchr(dir, '/');
	const char *name = target;
	if (slash != NULL) {
		*slash = '\0';
		name = target + (slash - dir) + 1;
		if (dir[0] != '\0' && mkdir_p_at(AT_FDCWD, dir, 0700, err) < 0)
			return mctr_err_wrap(err, "credentials file %s", path);
	}
	_cleanup_close_ int dfd = open(slash == NULL ? "." : (dir[0] ? dir : "/"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return mctr_fail_errno(err, "credentials file %s: open its directory", path);
	_cleanup_free_ char *text = json_dumps(cfg, JSON_INDENT(1));
	if (text == NULL)
		return mctr_fail(err, 0, "credentials file %s: cannot serialize", path);
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	if (file_write_atomic_at(dfd, name, text, len, 0600, err) < 0)
		return mctr_err_wrap(err, "credentials file %s", path);
	return 0;
}

int regcreds_save(const char *path, const char *domain, const struct reg_creds *c, struct mctr_err *err)
{
	_cleanup_json_ json_t *cfg = load_config(path, err);
	if (cfg == NULL)
		return -1;
	json_t *auths = json_get_obj(cfg, "auths");
	if (auths == NULL) {
		auths = json_object();
		json_object_set_new(cfg, "auths", auths);
	}
	_cleanup_free_ char *want = regcreds_normalize_key(domain);
	drop_entries(auths, want);
	_cleanup_free_ char *pair = xasprintf("%s:%s", c->username, c->password);
	_cleanup_free_ char *b64 = regcreds_base64_encode(pair, strlen(pair));
	explicit_bzero(pair, strlen(pair));
	_cleanup_free_ char *key = regcreds_key(domain);
	json_object_set_new(auths, key, json_pack("{s:s}", "auth", b64));
	return write_config(path, cfg, err);
}

int regcreds_remove(const char *path, const char *domain, bool *removed, struct mctr_err *err)
{
	*removed = false;
	_cleanup_json_ json_t *cfg = load_config(path, err);
	if (cfg == NULL)
		return -1;
	json_t *auths = json_get_obj(cfg, "auths");
	_cleanup_free_ char *want = regcreds_normalize_key(domain);
	if (auths == NULL || !drop_entries(auths, want))
		return 0;
	*removed = true;
	return write_config(path, cfg, err);
}
