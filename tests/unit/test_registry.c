/* Unit tests for src/registry: challenge parsing, scopes and token URLs,
 * token answers, Docker config.json, /etc/mctr/config.json, endpoints and
 * the HTTP-fallback policy, registry error texts, Retry-After, base64. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/regauth.h"
#include "mctr/regconfig.h"
#include "mctr/regcreds.h"
#include "mctr/registry.h"
#include "testutil.h"

/* ---- WWW-Authenticate ---------------------------------------------------------- */

static const struct {
	const char *header;
	size_t n;
	const char *scheme, *realm, *service, *scope, *error; /* of the first challenge */
} challenge_cases[] = {
	{ "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\"", 1, "bearer",
	  "https://auth.docker.io/token", "registry.docker.io", NULL, NULL },
	{ "Bearer realm=\"https://r.example/token\",service=\"r\",scope=\"repository:a/b:pull,push\"", 1, "bearer",
	  "https://r.example/token", "r", "repository:a/b:pull,push", NULL },
	{ "BEARER Realm=\"https://x/t\" , Service = svc ,error=\"insufficient_scope\"", 1, "bearer", "https://x/t",
	  "svc", NULL, "insufficient_scope" },
	{ "Basic realm=\"Registry Realm\"", 1, "basic", "Registry Realm", NULL, NULL, NULL },
	{ "Basic realm=\"a\\\"b\"", 1, "basic", "a\"b", NULL, NULL, NULL },
	{ "Basic realm=\"r1\", Bearer realm=\"https://t/\",service=\"s\"", 2, "basic", "r1", NULL, NULL, NULL },
	{ "Negotiate abc123==, Basic realm=\"x\"", 2, "negotiate", NULL, NULL, NULL, NULL },
	{ "Bearer realm=\"https://t/\",scope=\"repository:localhost:5000/a:pull\"", 1, "bearer", "https://t/", NULL,
	  "repository:localhost:5000/a:pull", NULL },
};

START_TEST(challenges_parse)
{
	for (size_t i = 0; i < sizeof challenge_cases / sizeof challenge_cases[0]; i++) {
		struct reg_challenge *v = NULL;
		size_t n = 0;
		struct mctr_err err = { 0 };
		ck_assert_msg(regauth_parse_challenges(challenge_cases[i].header, &v, &n, &err) == 0, "case %zu: %s", i,
		              err.msg);
		ck_assert_uint_eq(n, challenge_cases[i].n);
		ck_assert_str_eq(v[0].scheme, challenge_cases[i].scheme);
		ck_assert_pstr_eq(v[0].realm, challenge_cases[i].realm);
		ck_assert_pstr_eq(v[0].service, challenge_cases[i].service);
		ck_assert_pstr_eq(v[0].scope, challenge_cases[i].scope);
		ck_assert_pstr_eq(v[0].error, challenge_cases[i].error);
		regauth_challenges_free(v, n);
	}
}
END_TEST

START_TEST(challenges_pick_and_reject)
{
	struct reg_challenge *v = NULL;
	size_t n = 0;
	struct mctr_err err = { 0 };
	ck_assert_int_eq(regauth_parse_challenges("Basic realm=\"r1\"", &v, &n, &err), 0);
	ck_assert_int_eq(regauth_parse_challenges("Bearer realm=\"https://t/\",service=\"s\"", &v, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	const struct reg_challenge *c = regauth_pick(v, n);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->scheme, "bearer"); /* Bearer first, whatever the order */
	/* malformed: nothing is appended */
	ck_assert_int_lt(regauth_parse_challenges("Bearer realm=\"unterminated", &v, &n, &err), 0);
	ck_assert(strstr(err.msg, "malformed WWW-Authenticate") != NULL);
	ck_assert_int_lt(regauth_parse_challenges("=x", &v, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	regauth_challenges_free(v, n);
	v = NULL;
	n = 0;
	ck_assert_int_eq(regauth_parse_challenges("Negotiate", &v, &n, &err), 0);
	ck_assert_ptr_null(regauth_pick(v, n));
	regauth_challenges_free(v, n);
}
END_TEST

/* ---- scopes, token URLs and answers ---------------------------------------------- */

START_TEST(scope_and_token_url)
{
	_cleanup_free_ char *s1 = regauth_pull_scope("library/alpine");
	ck_assert_str_eq(s1, "repository:library/alpine:pull");
	const char *scopes[] = { s1, "repository:a/b:pull,push", NULL };
	_cleanup_free_ char *u1 = regauth_token_url("https://auth.docker.io/token", "registry.docker.io", scopes);
	ck_assert_str_eq(u1, "https://auth.docker.io/token?service=registry.docker.io"
	                     "&scope=repository%3Alibrary%2Falpine%3Apull&scope=repository%3Aa%2Fb%3Apull%2Cpush");
	_cleanup_free_ char *u2 = regauth_token_url("https://t/token?account=x", NULL, scopes + 1);
	ck_assert_str_eq(u2, "https://t/token?account=x&scope=repository%3Aa%2Fb%3Apull%2Cpush");
	_cleanup_free_ char *u3 = regauth_token_url("https://t/token", "a b&c", NULL);
	ck_assert_str_eq(u3, "https://t/token?service=a%20b%26c");
}
END_TEST

START_TEST(token_answers)
{
	struct reg_token t;
	struct mctr_err err = { 0 };
	const char *both = "{\"token\":\"T1\",\"access_token\":\"A1\",\"expires_in\":300}";
	ck_assert_int_eq(regauth_parse_token(both, strlen(both), 1000, &t, &err), 0);
	ck_assert_str_eq(t.token, "T1");
	ck_assert_int_eq(t.expires, 1000 + 300 - 5);
	regauth_token_clear(&t);
	const char *access = "{\"access_token\":\"A2\",\"expires_in\":10}";
	ck_assert_int_eq(regauth_parse_token(access, strlen(access), 1000, &t, &err), 0);
	ck_assert_str_eq(t.token, "A2");
	ck_assert_int_eq(t.expires, 1000 + 60 - 5); /* at least 60 s */
	regauth_token_clear(&t);
	const char *none = "{\"expires_in\":10}";
	ck_assert_int_lt(regauth_parse_token(none, strlen(none), 1000, &t, &err), 0);
	ck_assert_str_eq(err.msg, "token server answer has no token");
	ck_assert_int_lt(regauth_parse_token("<html>", 6, 1000, &t, &err), 0);
}
END_TEST

START_TEST(basic_and_base64)
{
	_cleanup_free_ char *b = regauth_basic_value("mctr", "secret");
	ck_assert_str_eq(b, "Basic bWN0cjpzZWNyZXQ=");
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		_cleanup_free_ char *e = regcreds_base64_encode(plain[i], strlen(plain[i]));
		ck_assert_str_eq(e, enc[i]);
		size_t len;
		_cleanup_free_ char *d = regcreds_base64_decode(enc[i], &len);
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(len, strlen(plain[i]));
		ck_assert_str_eq(d, plain[i]);
	}
	ck_assert_ptr_null(regcreds_base64_decode("Zm9", NULL));
	ck_assert_ptr_null(regcreds_base64_decode("Zm=v", NULL));
	ck_assert_ptr_null(regcreds_base64_decode("Z!9v", NULL));
}
END_TEST

/* ---- Docker config.json ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text, mode_t mode)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

static int count_entries(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	return n;
}

START_TEST(creds_keys)
{
	static const struct {
		const char *in, *norm, *key;
	} cases[] = {
		{ "https://index.docker.io/v1/", "docker.io", REGCREDS_DOCKER_HUB_KEY },
		{ "index.docker.io", "docker.io", REGCREDS_DOCKER_HUB_KEY },
		{ "docker.io", "docker.io", REGCREDS_DOCKER_HUB_KEY },
		{ "registry-1.docker.io", "docker.io", REGCREDS_DOCKER_HUB_KEY },
		{ "http://Localhost:5000/v2/", "localhost:5000", "localhost:5000" },
		{ "127.0.0.1:5000", "127.0.0.1:5000", "127.0.0.1:5000" },
		{ "[::1]:5000", "[::1]:5000", "[::1]:5000" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		_cleanup_free_ char *n = regcreds_normalize_key(cases[i].in);
		_cleanup_free_ char *k = regcreds_key(cases[i].in);
		ck_assert_str_eq(n, cases[i].norm);
		ck_assert_str_eq(k, cases[i].key);
	}
	struct reg_creds c;
	struct mctr_err err = { 0 };
	ck_assert_int_eq(regcreds_parse_pair("u:p:with:colons", &c, &err), 0);
	ck_assert_str_eq(c.username, "u");
	ck_assert_str_eq(c.password, "p:with:colons");
	regcreds_clear(&c);
	ck_assert_int_lt(regcreds_parse_pair("nopassword", &c, &err), 0);
	ck_assert_int_lt(regcreds_parse_pair(":p", &c, &err), 0);
	ck_assert_int_lt(regcreds_parse_pair("u:", &c, &err), 0);
}
END_TEST

START_TEST(creds_read_write_remove)
{
	_cleanup_free_ char *dir = test_mkdtemp("creds");
	_cleanup_free_ char *sub = path_join(dir, "docker");
	_cleanup_free_ char *path = path_join(sub, "config.json");
	struct mctr_err err = { 0 };
	struct reg_creds c = { 0 };
	bool found = true;
	/* no file: nothing found, no error */
	ck_assert_int_eq(regcreds_lookup(path, "docker.io", &c, &found, &err), 0);
	ck_assert(!found);
	/* save creates the directory and the file, 0600 */
	umask(022);
	struct reg_creds hub = { .username = (char *)"hubuser", .password = (char *)"hubpass" };
	ck_assert_msg(regcreds_save(path, "docker.io", &hub, &err) == 0, "%s", err.msg);
	struct stat sb;
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	/* other keys and entries survive a save */
	const char *before = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHVidXNlcjpodWJwYXNz\"},"
	                     "\"other.example\":{\"auth\":\"bzpw\"},\"nocreds.example\":{}},"
	                     "\"credsStore\":\"desktop\",\"proxies\":{\"default\":{\"httpProxy\":\"x\"}}}";
	write_file(path, before, 0644);
	/* a hard link to the old file: a save that rewrote the file in place
	 * (not a temp file renamed over it) would change it too */
	_cleanup_free_ char *old_link = path_join(sub, "old.json");
	ck_assert_int_eq(link(path, old_link), 0);
	struct reg_creds local = { .username = (char *)"mctr", .password = (char *)"se:cret" };
	ck_assert_msg(regcreds_save(path, "127.0.0.1:5000", &local, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	_cleanup_free_ char *old_text = NULL;
	size_t old_len;
	ck_assert_int_eq(file_read_at(AT_FDCWD, old_link, 4096, &old_text, &old_len, &err), 0);
	ck_assert_str_eq(old_text, before);
	ck_assert_int_eq(unlink(old_link), 0);
	ck_assert_int_eq(count_entries(sub), 1); /* no temp file left behind */
	_cleanup_json_ json_t *j = json_load_at(AT_FDCWD, path, &err);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_get_str(j, "credsStore"), "desktop");
	ck_assert_ptr_nonnull(json_get_obj(json_get_obj(j, "proxies"), "default"));
	json_t *auths = json_get_obj(j, "auths");
	ck_assert_str_eq(json_get_str(json_get_obj(auths, "127.0.0.1:5000"), "auth"), "bWN0cjpzZTpjcmV0");
	ck_assert_str_eq(json_get_str(json_get_obj(auths, "other.example"), "auth"), "bzpw");
	/* lookups: by host, docker.io under its v1 key; an entry without auth is none */
	ck_assert_int_eq(regcreds_lookup(path, "docker.io", &c, &found, &err), 0);
	ck_assert(found);
	ck_assert_str_eq(c.username, "hubuser");
	ck_assert_str_eq(c.password, "hubpass");
	regcreds_clear(&c);
	ck_assert_int_eq(regcreds_lookup(path, "127.0.0.1:5000", &c, &found, &err), 0);
	ck_assert(found);
	ck_assert_str_eq(c.password, "se:cret");
	regcreds_clear(&c);
	ck_assert_int_eq(regcreds_lookup(path, "nocreds.example", &c, &found, &err), 0);
	ck_assert(!found);
	ck_assert_int_eq(regcreds_lookup(path, "127.0.0.1:5001", &c, &found, &err), 0);
	ck_assert(!found);
	/* remove: only that registry's entries go */
	bool removed;
	ck_assert_int_eq(regcreds_remove(path, "index.docker.io", &removed, &err), 0);
	ck_assert(removed);
	ck_assert_int_eq(regcreds_remove(path, "docker.io", &removed, &err), 0);
	ck_assert(!removed);
	json_decref(j);
	j = json_load_at(AT_FDCWD, path, &err);
	auths = json_get_obj(j, "auths");
	ck_assert_ptr_null(json_get_obj(auths, REGCREDS_DOCKER_HUB_KEY));
	ck_assert_ptr_nonnull(json_get_obj(auths, "127.0.0.1:5000"));
	ck_assert_str_eq(json_get_str(j, "credsStore"), "desktop");
	/* a symlinked config.json stays a symlink, to the updated file */
	_cleanup_free_ char *real = path_join(dir, "real.json");
	ck_assert_int_eq(rename(path, real), 0);
	ck_assert_int_eq(symlink(real, path), 0);
	ck_assert_msg(regcreds_save(path, "docker.io", &hub, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(lstat(path, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
	ck_assert_int_eq(regcreds_lookup(real, "docker.io", &c, &found, &err), 0);
	ck_assert(found);
	regcreds_clear(&c);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rename(real, path), 0);
	/* a broken file is an error naming it */
	write_file(path, "{\"auths\":{\"x\":{\"auth\":\"!!!\"}}}", 0600);
	ck_assert_int_lt(regcreds_lookup(path, "x", &c, &found, &err), 0);
	ck_assert(strstr(err.msg, "not valid base64") != NULL);
	write_file(path, "[1]", 0600);
	ck_assert_int_lt(regcreds_save(path, "x", &local, &err), 0);
	ck_assert(strstr(err.msg, path) != NULL);
	test_rmtree(dir);
}
END_TEST

/* ---- /etc/mctr/config.json ------------------------------------------------------------------ */

START_TEST(config_file)
{
	struct reg_config c;
	struct mctr_err err = { 0 };
	const char *doc = "{\"registry-mirrors\":[\"https://Mirror.Example:5000/\",\"http://127.0.0.1:6000\"],"
	                  "\"insecure-registries\":[\"reg.local:5000\",\"10.0.0.0/8\",\"fd00::/8\"],"
	                  "\"max-concurrent-downloads\":5,\"debug\":true}";
	ck_assert_msg(regconfig_parse(doc, strlen(doc), "cfg", &c, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(c.mirrors[0], "https://mirror.example:5000");
	ck_assert_str_eq(c.mirrors[1], "http://127.0.0.1:6000");
	ck_assert_ptr_null(c.mirrors[2]);
	ck_assert_int_eq(c.max_downloads, 5);
	/* the defaults: mctr's own, then where podman and Docker users keep CAs */
	ck_assert_str_eq(c.certs_dirs[0], "/etc/mctr/certs.d");
	ck_assert_str_eq(c.certs_dirs[1], "/etc/containers/certs.d");
	ck_assert_str_eq(c.certs_dirs[2], "/etc/docker/certs.d");
	ck_assert_ptr_null(c.certs_dirs[3]);
	ck_assert(regconfig_is_insecure(&c, "reg.local:5000"));
	ck_assert(regconfig_is_insecure(&c, "REG.local:5000"));
	ck_assert(!regconfig_is_insecure(&c, "reg.local"));
	ck_assert(!regconfig_is_insecure(&c, "reg.local:5001"));
	ck_assert(regconfig_is_insecure(&c, "10.1.2.3:5000"));
	ck_assert(!regconfig_is_insecure(&c, "11.1.2.3:5000"));
	ck_assert(regconfig_is_insecure(&c, "[fd12::1]:443"));
	ck_assert(!regconfig_is_insecure(&c, "ten.example"));
	regconfig_clear(&c);

	static const struct {
		const char *doc, *msg;
	} bad[] = {
		{ "{\"registry-mirrors\":[\"mirror.example\"]}", "must start with http:// or https://" },
		{ "{\"registry-mirrors\":[\"https://m.example/path\"]}", "without path" },
		{ "{\"registry-mirrors\":\"https://m\"}", "must be an array of strings" },
		{ "{\"insecure-registries\":[\"http://x:5000\"]}", "must not contain a scheme" },
		{ "{\"max-concurrent-downloads\":0}", "from 1 to" },
		{ "[]", "expected a JSON object" },
		{ "{", "cfg" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_lt(regconfig_parse(bad[i].doc, strlen(bad[i].doc), "cfg", &c, &err), 0);
		ck_assert_msg(strstr(err.msg, bad[i].msg) != NULL, "case %zu: %s", i, err.msg);
	}

	_cleanup_free_ char *dir = test_mkdtemp("regcfg");
	_cleanup_free_ char *path = path_join(dir, "config.json");
	ck_assert_int_eq(regconfig_load(path, &c, &err), 0); /* missing: defaults */
	ck_assert_ptr_null(c.mirrors[0]);
	ck_assert_int_eq(c.max_downloads, REGCONFIG_DEFAULT_DOWNLOADS);
	regconfig_clear(&c);
	write_file(path, "{\"certs-dirs\":[\"/x\"],\"insecure-registries\":[\"a:1\"]}", 0644);
	setenv("MCTR_CONFIG", path, 1);
	ck_assert_int_eq(regconfig_load(NULL, &c, &err), 0);
	unsetenv("MCTR_CONFIG");
	ck_assert_str_eq(c.certs_dirs[0], "/x");
	ck_assert_ptr_null(c.certs_dirs[1]);
	ck_assert(regconfig_is_insecure(&c, "a:1"));
	regconfig_clear(&c);
	test_rmtree(dir);
}
END_TEST

/* ---- endpoints and the HTTP-fallback policy ------------------------------------------------------ */

START_TEST(loopback_literals)
{
	static const struct {
		const char *host;
		bool loopback;
	} cases[] = {
		{ "localhost", true },     { "LOCALHOST:5000", true }, { "127.0.0.1", true },
		{ "127.0.0.1:5000", true }, { "127.255.1.2:80", true }, { "[::1]:5000", true },
		{ "::1", true },           { "[::1]", true },          { "128.0.0.1:5000", false },
		{ "localhost.example:5000", false },                    { "mylocalhost", false },
		{ "127.0.0.1.nip.io:5000", false },                     { "[::2]:5000", false },
		{ "10.0.0.1", false },     { "registry-1.docker.io", false }, { "0.0.0.0:5000", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(registry_is_loopback_literal(cases[i].host) == cases[i].loopback, "%s", cases[i].host);
}
END_TEST

START_TEST(endpoints_mapping)
{
	struct reg_config c;
	struct mctr_err err = { 0 };
	const char *doc = "{\"registry-mirrors\":[\"http://127.0.0.1:6000\",\"https://m.example\"],"
	                  "\"insecure-registries\":[\"m.example\",\"reg.local:5000\"]}";
	ck_assert_int_eq(regconfig_parse(doc, strlen(doc), "cfg", &c, &err), 0);
	ck_assert_str_eq(registry_api_host("docker.io"), "registry-1.docker.io");
	ck_assert_str_eq(registry_api_host("quay.io"), "quay.io");

	struct reg_endpoint *v;
	size_t n;
	ck_assert_int_eq(registry_endpoints("docker.io", &c, false, false, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0].host, "127.0.0.1:6000");
	ck_assert_str_eq(v[0].scheme, "http");
	ck_assert(v[0].mirror && v[0].scheme_fixed && v[0].loopback);
	ck_assert_str_eq(v[1].host, "m.example");
	ck_assert(v[1].mirror && v[1].insecure);
	ck_assert_str_eq(v[2].host, "registry-1.docker.io");
	ck_assert_str_eq(v[2].scheme, "https");
	ck_assert(!v[2].mirror && !v[2].insecure && !v[2].loopback && !v[2].scheme_fixed);
	registry_endpoints_free(v, n);

	/* mirrors are for docker.io only, and not for login */
	ck_assert_int_eq(registry_endpoints("quay.io", &c, false, false, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].host, "quay.io");
	registry_endpoints_free(v, n);
	ck_assert_int_eq(registry_endpoints("docker.io", &c, false, true, &v, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	registry_endpoints_free(v, n);

	ck_assert_int_eq(registry_endpoints("reg.local:5000", &c, false, false, &v, &n, &err), 0);
	ck_assert(v[0].insecure && !v[0].loopback);
	registry_endpoints_free(v, n);
	ck_assert_int_eq(registry_endpoints("127.0.0.1:5000", &c, false, false, &v, &n, &err), 0);
	ck_assert(!v[0].insecure && v[0].loopback);
	registry_endpoints_free(v, n);
	ck_assert_int_eq(registry_endpoints("other:5000", &c, true, false, &v, &n, &err), 0);
	ck_assert(v[0].insecure); /* --tls-verify=false */
	registry_endpoints_free(v, n);
	regconfig_clear(&c);

	/* a plain-HTTP mirror elsewhere than loopback needs insecure-registries */
	const char *bad = "{\"registry-mirrors\":[\"http://m.example:5000\"]}";
	ck_assert_int_eq(regconfig_parse(bad, strlen(bad), "cfg", &c, &err), 0);
	ck_assert_int_lt(registry_endpoints("docker.io", &c, false, false, &v, &n, &err), 0);
	ck_assert(strstr(err.msg, "plain HTTP is allowed only") != NULL);
	regconfig_clear(&c);
}
END_TEST

/* ---- errors ----------------------------------------------------------------------------------------- */

START_TEST(error_texts)
{
	static const struct {
		long status;
		const char *body, *text, *code;
	} cases[] = {
		{ 404, "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\",\"detail\":{}}]}",
		  "manifest unknown: manifest unknown", "MANIFEST_UNKNOWN" },
		{ 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}",
		  "unauthorized: authentication required", "UNAUTHORIZED" },
		{ 429, "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"You have reached\\nyour limit\"}]}",
		  "toomanyrequests: You have reached your limit", "TOOMANYREQUESTS" },
		{ 404, "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not known\"},"
		       "{\"code\":\"DENIED\"}]}",
		  "name unknown: repository name not known; denied", "NAME_UNKNOWN" },
		{ 502, "<html>Bad gateway</html>", "HTTP 502 Bad Gateway", NULL },
		{ 418, "", "HTTP 418", NULL },
		{ 400, "{\"details\":\"bad thing\"}", "bad thing", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		_cleanup_free_ char *t = registry_error_text(cases[i].status, cases[i].body, strlen(cases[i].body));
		_cleanup_free_ char *c = registry_error_code(cases[i].body, strlen(cases[i].body));
		ck_assert_str_eq(t, cases[i].text);
		ck_assert_pstr_eq(c, cases[i].code);
	}
}
END_TEST

START_TEST(retry_after)
{
	ck_assert_int_eq(registry_parse_retry_after("120", 0), 120);
	ck_assert_int_eq(registry_parse_retry_after(" 7\r\n", 0), 7);
	ck_assert_int_eq(registry_parse_retry_after(NULL, 0), -1);
	ck_assert_int_eq(registry_parse_retry_after("soon", 0), -1);
	ck_assert_int_eq(registry_parse_retry_after("5x", 0), -1);
	/* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
	ck_assert_int_eq(registry_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 30), 30);
	ck_assert_int_eq(registry_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 30), 0);
}
END_TEST

static Suite *registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, challenges_parse);
	tcase_add_test(tc, challenges_pick_and_reject);
	tcase_add_test(tc, scope_and_token_url);
	tcase_add_test(tc, token_answers);
	tcase_add_test(tc, basic_and_base64);
	tcase_add_test(tc, creds_keys);
	tcase_add_test(tc, creds_read_write_remove);
	tcase_add_test(tc, config_file);
	tcase_add_test(tc, loopback_literals);
	tcase_add_test(tc, endpoints_mapping);
	tcase_add_test(tc, error_texts);
	tcase_add_test(tc, retry_after);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(registry_suite());
}
