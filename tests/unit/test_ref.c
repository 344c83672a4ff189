/* Unit tests for src/image/ref.c: Docker-compatible reference parsing. */
#include <stdlib.h>
#include <string.h>

#include "mctr/cleanup.h"
#include "mctr/err.h"
#include "mctr/fsutil.h"
#include "mctr/ref.h"
#include "testutil.h"

#define HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DIG "sha256:" HEX

static const struct {
	const char *in, *full, *familiar, *domain, *path;
} valid[] = {
	{ "alpine", "docker.io/library/alpine:latest", "alpine:latest", "docker.io", "library/alpine" },
	{ "alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19", "docker.io", "library/alpine" },
	{ "user/app", "docker.io/user/app:latest", "user/app:latest", "docker.io", "user/app" },
	{ "user/app:1", "docker.io/user/app:1", "user/app:1", "docker.io", "user/app" },
	{ "docker.io/alpine", "docker.io/library/alpine:latest", "alpine:latest", "docker.io", "library/alpine" },
	{ "docker.io/library/alpine:edge", "docker.io/library/alpine:edge", "alpine:edge", "docker.io",
	  "library/alpine" },
	{ "index.docker.io/library/alpine", "docker.io/library/alpine:latest", "alpine:latest", "docker.io",
	  "library/alpine" },
	{ "index.docker.io/alpine", "docker.io/library/alpine:latest", "alpine:latest", "docker.io",
	  "library/alpine" },
	/* familiarizeName keeps library/ when more than one component follows */
	{ "docker.io/library/foo/bar", "docker.io/library/foo/bar:latest", "library/foo/bar:latest", "docker.io",
	  "library/foo/bar" },
	{ "localhost/foo", "localhost/foo:latest", "localhost/foo:latest", "localhost", "foo" },
	{ "localhost:5000/foo:1", "localhost:5000/foo:1", "localhost:5000/foo:1", "localhost:5000", "foo" },
	{ "127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest", "127.0.0.1:5000/a/b:latest", "127.0.0.1:5000", "a/b" },
	{ "[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest", "[::1]:5000", "x" },
	{ "[2001:db8::1]/ns/x:v2", "[2001:db8::1]/ns/x:v2", "[2001:db8::1]/ns/x:v2", "[2001:db8::1]", "ns/x" },
	{ "reg.example.com/ns/img@" DIG, "reg.example.com/ns/img@" DIG, "reg.example.com/ns/img@" DIG,
	  "reg.example.com", "ns/img" },
	{ "alpine:3@" DIG, "docker.io/library/alpine@" DIG, "alpine@" DIG, "docker.io", "library/alpine" },
	{ "alpine@" DIG, "docker.io/library/alpine@" DIG, "alpine@" DIG, "docker.io", "library/alpine" },
	{ "Foo/bar", "Foo/bar:latest", "Foo/bar:latest", "Foo", "bar" },
	{ "foo_bar", "docker.io/library/foo_bar:latest", "foo_bar:latest", "docker.io", "library/foo_bar" },
	{ "foo__bar", "docker.io/library/foo__bar:latest", "foo__bar:latest", "docker.io", "library/foo__bar" },
	{ "foo---bar.baz", "docker.io/library/foo---bar.baz:latest", "foo---bar.baz:latest", "docker.io",
	  "library/foo---bar.baz" },
	/* no '/': the first component is never a domain */
	{ "example.com", "docker.io/library/example.com:latest", "example.com:latest", "docker.io",
	  "library/example.com" },
	/* upstream quirk: image "localhost" with tag "5000" */
	{ "localhost:5000", "docker.io/library/localhost:5000", "localhost:5000", "docker.io", "library/localhost" },
	{ "my-registry.io:443/a/b/c/d:V1.0-rc_1", "my-registry.io:443/a/b/c/d:V1.0-rc_1",
	  "my-registry.io:443/a/b/c/d:V1.0-rc_1", "my-registry.io:443", "a/b/c/d" },
	{ "ns/img:_x", "docker.io/ns/img:_x", "ns/img:_x", "docker.io", "ns/img" },
	{ "a1/b2", "docker.io/a1/b2:latest", "a1/b2:latest", "docker.io", "a1/b2" },
};

static const struct {
	const char *in, *want;
} invalid[] = {
	{ "", "empty reference" },
	{ "foo/Bar", "repository name must be lowercase" },
	{ "UPPER", "repository name must be lowercase" },
	{ "UPPER:tag", "repository name must be lowercase" },
	{ "alpine@sha256:abc", "invalid sha256 digest" },
	{ "alpine@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	  "invalid sha256 digest" },
	{ "alpine@sha256:" HEX "0", "invalid sha256 digest" },
	{ "alpine@sha512:" HEX HEX, "unsupported digest algorithm \"sha512\"" },
	{ "alpine@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm \"md5\"" },
	{ "alpine@", "invalid digest format" },
	{ "alpine@" HEX, "invalid digest format" },
	{ "alpine@sha256:" HEX "@x", "invalid sha256 digest" },
	{ HEX, "cannot specify 64-byte hexadecimal strings" },
	{ "a//b", "empty path component" },
	{ "-foo", "invalid path component \"-foo\"" },
	{ "foo-", "invalid path component \"foo-\"" },
	{ "a:b:c", "invalid tag \"b:c\"" },
	{ "alpine/", "empty path component" },
	{ "example.com/", "empty path component" },
	{ "/alpine", "empty path component" },
	{ "foo___bar", "invalid path component \"foo___bar\"" },
	{ "foo-_bar", "invalid path component \"foo-_bar\"" },
	{ "foo..bar", "invalid path component" },
	{ "foo.", "invalid path component" },
	{ "a b", "invalid path component" },
	{ "alpine:", "empty tag" },
	{ "alpine:.x", "invalid tag \".x\"" },
	{ "alpine:-x", "invalid tag \"-x\"" },
	{ "alpine:a+b", "invalid tag \"a+b\"" },
	{ "foo:bar/baz", "invalid registry domain \"foo:bar\"" },
	{ "-bad.com/x", "invalid registry domain \"-bad.com\"" },
	{ "bad-.com/x", "invalid registry domain" },
	{ "a..com/x", "invalid registry domain" },
	{ "host:/x", "invalid registry domain" },
	{ "[zz]:5000/x", "invalid registry domain" },
	{ "[zz]/x", "invalid path component \"[zz]\"" }, /* no '.' or ':': not a domain */
	{ "[]:5000/x", "invalid registry domain" },
	{ "[::1/x", "invalid registry domain" },
	{ "[::1]x/y", "invalid registry domain" },
	{ "foo_bar.com/x", "invalid registry domain" },
	{ "user@host.com/x", "invalid registry domain" },
};

START_TEST(valid_references)
{
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		struct mctr_err err = { 0 };
		_cleanup_ref_ struct image_ref r = { 0 };
		int rc = ref_parse(valid[i].in, &r, &err);
		ck_assert_msg(rc == 0, "\"%s\": %s", valid[i].in, err.msg);
		_cleanup_free_ char *full = ref_string(&r);
		_cleanup_free_ char *fam = ref_familiar(&r);
		ck_assert_msg(strcmp(full, valid[i].full) == 0, "\"%s\": full %s, want %s", valid[i].in, full,
		              valid[i].full);
		ck_assert_msg(strcmp(fam, valid[i].familiar) == 0, "\"%s\": familiar %s, want %s", valid[i].in, fam,
		              valid[i].familiar);
		ck_assert_str_eq(r.domain, valid[i].domain);
		ck_assert_str_eq(r.path, valid[i].path);
		/* a tag xor a digest, always */
		ck_assert((r.tag == NULL) != (r.digest == NULL));
		/* the normalized string parses back to itself */
		_cleanup_ref_ struct image_ref again = { 0 };
		ck_assert_int_eq(ref_parse(full, &again, &err), 0);
		_cleanup_free_ char *full2 = ref_string(&again);
		ck_assert_str_eq(full2, full);
	}
}
END_TEST

START_TEST(invalid_references)
{
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		struct mctr_err err = { 0 };
		struct image_ref r;
		int rc = ref_parse(invalid[i].in, &r, &err);
		ck_assert_msg(rc < 0, "\"%s\" parsed, want error containing \"%s\"", invalid[i].in, invalid[i].want);
		ck_assert_msg(strstr(err.msg, invalid[i].want) != NULL, "\"%s\": error \"%s\" lacks \"%s\"",
		              invalid[i].in, err.msg, invalid[i].want);
		ck_assert_msg(strncmp(err.msg, "invalid reference \"", 19) == 0, "\"%s\": %s", invalid[i].in, err.msg);
		ck_assert(r.domain == NULL && r.path == NULL && r.tag == NULL && r.digest == NULL);
	}
}
END_TEST

START_TEST(error_message_is_one_line_and_quotes_input)
{
	struct mctr_err err = { 0 };
	struct image_ref r;
	ck_assert_int_lt(ref_parse("foo/Bar", &r, &err), 0);
	ck_assert_str_eq(err.msg, "invalid reference \"foo/Bar\": repository name must be lowercase");
	ck_assert_int_eq(err.errnum, 0);

	ck_assert_int_lt(ref_parse("evil\nname\x1b[31m", &r, &err), 0);
	ck_assert(strchr(err.msg, '\n') == NULL && strchr(err.msg, '\x1b') == NULL);
	ck_assert(strstr(err.msg, "\"evil?name?[31m\"") != NULL);

	/* a huge input is cut in the message */
	char big[2000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_lt(ref_parse(big, &r, &err), 0);
	ck_assert(strstr(err.msg, "...\"") != NULL);
	ck_assert(strstr(err.msg, "must not be more than 255 characters") != NULL);
}
END_TEST

START_TEST(length_limits)
{
	struct mctr_err err = { 0 };
	struct image_ref r;

	/* tag: 128 characters is the maximum */
	char tag128[200], tag129[200];
	snprintf(tag128, sizeof tag128, "alpine:%0128d", 7);
	snprintf(tag129, sizeof tag129, "alpine:%0129d", 7);
	ck_assert_msg(ref_parse(tag128, &r, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(strlen(r.tag), 128);
	ref_clear(&r);
	ck_assert_int_lt(ref_parse(tag129, &r, &err), 0);
	ck_assert_msg(strstr(err.msg, "tag is longer than 128 characters") != NULL, "%s", err.msg);

	/* name: domain "/" path at most 255, counted after normalization */
	_cleanup_free_ char *a237 = xmalloc(238), *a238 = xmalloc(239), *a256 = xmalloc(257);
	memset(a237, 'a', 237), a237[237] = '\0';
	memset(a238, 'a', 238), a238[238] = '\0';
	memset(a256, 'a', 256), a256[256] = '\0';
	ck_assert_msg(ref_parse(a237, &r, &err) == 0, "%s", err.msg);
	_cleanup_free_ char *repo = ref_repository(&r);
	ck_assert_int_eq(strlen(repo), 255); /* "docker.io/library/" + 237 */
	ref_clear(&r);
	ck_assert_int_lt(ref_parse(a238, &r, &err), 0);
	ck_assert(strstr(err.msg, "repository name must not be more than 255 characters") != NULL);
	ck_assert_int_lt(ref_parse(a256, &r, &err), 0);
	ck_assert(strstr(err.msg, "repository name must not be more than 255 characters") != NULL);

	/* a 256-character name with an explicit registry */
	_cleanup_free_ char *named = xasprintf("example.com/%.244s", a256);
	ck_assert_int_eq(strlen(named), 256);
	ck_assert_int_lt(ref_parse(named, &r, &err), 0);
	ck_assert(strstr(err.msg, "repository name must not be more than 255 characters") != NULL);
	named[strlen(named) - 1] = '\0';
	ck_assert_msg(ref_parse(named, &r, &err) == 0, "%s", err.msg);
	ref_clear(&r);
}
END_TEST

START_TEST(repository_and_familiar_name)
{
	struct mctr_err err = { 0 };
	_cleanup_ref_ struct image_ref r = { 0 };
	ck_assert_int_eq(ref_parse("alpine:3.19", &r, &err), 0);
	_cleanup_free_ char *repo = ref_repository(&r), *name = ref_familiar_name(&r);
	ck_assert_str_eq(repo, "docker.io/library/alpine");
	ck_assert_str_eq(name, "alpine");
	ck_assert_str_eq(r.tag, "3.19");
	ck_assert_ptr_null(r.digest);

	_cleanup_ref_ struct image_ref d = { 0 };
	ck_assert_int_eq(ref_parse("alpine:3@" DIG, &d, &err), 0);
	ck_assert_ptr_null(d.tag);
	ck_assert_str_eq(d.digest, DIG);

	/* clearing twice is harmless */
	ref_clear(&d);
	ref_clear(&d);
}
END_TEST

START_TEST(full_reference_vs_bare_tag)
{
	ck_assert(!ref_is_full_reference("latest"));
	ck_assert(!ref_is_full_reference("v1"));
	ck_assert(!ref_is_full_reference("3.19"));
	ck_assert(!ref_is_full_reference(""));
	ck_assert(!ref_is_full_reference(NULL));
	ck_assert(ref_is_full_reference("alpine:3"));
	ck_assert(ref_is_full_reference("docker.io/library/alpine:latest"));
	ck_assert(ref_is_full_reference("user/app"));
	ck_assert(ref_is_full_reference("localhost:5000/x@" DIG));
	ck_assert(!ref_is_full_reference("foo/Bar"));
	ck_assert(!ref_is_full_reference("a:b:c"));
}
END_TEST

static Suite *ref_suite(void)
{
	Suite *s = suite_create("ref");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, valid_references);
	tcase_add_test(tc, invalid_references);
	tcase_add_test(tc, error_message_is_one_line_and_quotes_input);
	tcase_add_test(tc, length_limits);
	tcase_add_test(tc, repository_and_familiar_name);
	tcase_add_test(tc, full_reference_vs_bare_tag);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(ref_suite());
}
