/* Unit tests for src/image/platform.c: parsing, host mapping, matching and
 * manifest selection from an index. */
#include <string.h>
#include <sys/utsname.h>

#include "mctr/cleanup.h"
#include "mctr/err.h"
#include "mctr/jsonutil.h"
#include "mctr/platform.h"
#include "testutil.h"

static const char *fmt(const struct platform *p)
{
	static char buf[PLATFORM_STR_MAX];
	platform_format(p, buf, sizeof buf);
	return buf;
}

START_TEST(parse_good)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "linux/amd64", "linux/amd64" },
		{ "linux/amd64/v1", "linux/amd64" },
		{ "linux/amd64/v3", "linux/amd64/v3" },
		{ "Linux/X86_64", "linux/amd64" },
		{ "linux/x86-64", "linux/amd64" },
		{ "linux/arm64/v8", "linux/arm64/v8" },
		{ "linux/arm64", "linux/arm64/v8" },
		{ "linux/aarch64", "linux/arm64/v8" },
		{ "linux/arm64/8", "linux/arm64/v8" },
		{ "linux/arm64/v9.0", "linux/arm64/v9" },
		{ "linux/arm", "linux/arm/v7" },
		{ "linux/arm/v7", "linux/arm/v7" },
		{ "linux/arm/6", "linux/arm/v6" },
		{ "linux/arm/v5", "linux/arm/v5" },
		{ "linux/armhf", "linux/arm/v7" },
		{ "linux/armel", "linux/arm/v6" },
		{ "linux/i686", "linux/386" },
		{ "linux/386", "linux/386" },
		{ "linux/s390x", "linux/s390x" },
		{ "linux/ppc64le", "linux/ppc64le" },
		{ "linux/riscv64", "linux/riscv64" },
		{ "windows/amd64", "windows/amd64" },
		{ "arm64", "linux/arm64/v8" },
		{ "amd64", "linux/amd64" },
		{ "s390x", "linux/s390x" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mctr_err err = { 0 };
		struct platform p;
		ck_assert_msg(platform_parse(cases[i].in, &p, &err) == 0, "%s: %s", cases[i].in, err.msg);
		ck_assert_msg(strcmp(fmt(&p), cases[i].want) == 0, "%s: got %s, want %s", cases[i].in, fmt(&p),
		              cases[i].want);
	}

	/* a lone OS takes the host's architecture */
	struct platform p, host;
	struct mctr_err err = { 0 };
	ck_assert_int_eq(platform_parse("linux", &p, &err), 0);
	platform_host(&host);
	ck_assert_str_eq(p.arch, host.arch);
	ck_assert_str_eq(p.variant, host.variant);
	ck_assert_str_eq(p.os, "linux");
}
END_TEST

START_TEST(parse_bad)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "", "want os/arch[/variant]" },
		{ "/", "want os/arch[/variant]" },
		{ "linux/", "want os/arch[/variant]" },
		{ "/amd64", "want os/arch[/variant]" },
		{ "linux//v7", "want os/arch[/variant]" },
		{ "linux/arm/v7/extra", "want os/arch[/variant]" },
		{ "linux/amd 64", "want os/arch[/variant]" },
		{ "linux/amd64\n", "want os/arch[/variant]" },
		{ "foo", "unknown operating system or architecture" },
		{ "linux/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "component too long" },
		{ "linux/arm/vvvvvvvvvvvvvvvvvvvvvvvv", "component too long" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mctr_err err = { 0 };
		struct platform p;
		ck_assert_msg(platform_parse(cases[i].in, &p, &err) < 0, "\"%s\" parsed as %s", cases[i].in, fmt(&p));
		ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "\"%s\": %s", cases[i].in, err.msg);
		ck_assert(strncmp(err.msg, "invalid platform \"", 18) == 0);
	}
}
END_TEST

START_TEST(host_mapping)
{
	static const struct {
		const char *machine, *want;
	} cases[] = {
		{ "x86_64", "linux/amd64" },   { "aarch64", "linux/arm64/v8" }, { "armv7l", "linux/arm/v7" },
		{ "armv6l", "linux/arm/v6" },  { "armv8l", "linux/arm/v8" },    { "i686", "linux/386" },
		{ "i386", "linux/386" },       { "ppc64le", "linux/ppc64le" },  { "s390x", "linux/s390x" },
		{ "riscv64", "linux/riscv64" }, { "loongarch64", "linux/loong64" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct platform p;
		platform_from_machine(cases[i].machine, &p);
		ck_assert_msg(strcmp(fmt(&p), cases[i].want) == 0, "%s: got %s, want %s", cases[i].machine, fmt(&p),
		              cases[i].want);
	}

	struct utsname u;
	ck_assert_int_eq(uname(&u), 0);
	struct platform host, mapped;
	platform_host(&host);
	platform_from_machine(u.machine, &mapped);
	ck_assert(memcmp(&host, &mapped, sizeof host) == 0);
	ck_assert_str_eq(host.os, "linux");
	ck_assert(host.arch[0] != '\0');
#if defined(__x86_64__)
	ck_assert_str_eq(fmt(&host), "linux/amd64");
#elif defined(__aarch64__)
	ck_assert_str_eq(fmt(&host), "linux/arm64/v8");
#endif
}
END_TEST

START_TEST(from_json_and_matches)
{
	struct mctr_err err = { 0 };
	struct platform p;
	_cleanup_json_ json_t *cfg = json_pack("{s:s, s:s, s:{}}", "architecture", "aarch64", "os", "linux", "config");
	ck_assert_int_eq(platform_from_json(cfg, &p, &err), 0);
	ck_assert_str_eq(fmt(&p), "linux/arm64/v8");

	_cleanup_json_ json_t *no_os = json_pack("{s:s}", "architecture", "amd64");
	ck_assert_int_lt(platform_from_json(no_os, &p, &err), 0);
	ck_assert_str_eq(err.msg, "platform: \"os\" is missing");
	_cleanup_json_ json_t *bad_variant = json_pack("{s:s, s:s, s:i}", "architecture", "arm", "os", "linux",
	                                               "variant", 7);
	ck_assert_int_lt(platform_from_json(bad_variant, &p, &err), 0);
	ck_assert_str_eq(err.msg, "platform: \"variant\" is not a string");
	ck_assert_int_lt(platform_from_json(NULL, &p, &err), 0);

	struct platform v7, v6, a64, a64bare = { "linux", "arm64", "" }, amd;
	ck_assert_int_eq(platform_parse("linux/arm/v7", &v7, &err), 0);
	ck_assert_int_eq(platform_parse("linux/arm/v6", &v6, &err), 0);
	ck_assert_int_eq(platform_parse("linux/arm64", &a64, &err), 0);
	ck_assert_int_eq(platform_parse("linux/amd64", &amd, &err), 0);
	ck_assert(platform_matches(&v7, &v6));  /* a v7 CPU runs v6 code */
	ck_assert(!platform_matches(&v6, &v7)); /* but not the other way round */
	ck_assert(platform_matches(&a64, &a64bare));
	ck_assert(platform_matches(&a64bare, &a64));
	ck_assert(!platform_matches(&amd, &a64));
}
END_TEST

/* An index as BuildKit pushes it: images, attestation manifests, arm
 * variants out of preference order, an arm64 entry without a variant
 * ahead of one with v8. */
static const char index_json[] = "{"
	"\"schemaVersion\": 2,"
	"\"mediaType\": \"application/vnd.oci.image.index.v1+json\","
	"\"manifests\": ["
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:amd64\", \"size\": 1,"
	" \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:att-amd64\", \"size\": 1,"
	" \"platform\": {\"architecture\": \"unknown\", \"os\": \"unknown\"},"
	" \"annotations\": {\"vnd.docker.reference.type\": \"attestation-manifest\","
	"                   \"vnd.docker.reference.digest\": \"sha256:amd64\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:armv6\", \"size\": 1,"
	" \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": \"v6\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:armv7\", \"size\": 1,"
	" \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": \"v7\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:arm64-bare\","
	" \"size\": 1,"
	" \"platform\": {\"architecture\": \"arm64\", \"os\": \"linux\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:arm64-v8\", \"size\": 1,"
	" \"platform\": {\"architecture\": \"arm64\", \"os\": \"linux\", \"variant\": \"v8\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:ppc\", \"size\": 1,"
	" \"platform\": {\"architecture\": \"ppc64le\", \"os\": \"linux\"}},"
	/* an attestation marked only by its annotation must not be chosen */
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:att-s390x\", \"size\": 1,"
	" \"platform\": {\"architecture\": \"s390x\", \"os\": \"linux\"},"
	" \"annotations\": {\"vnd.docker.reference.type\": \"attestation-manifest\"}},"
	/* nor an artifact of another type, nor an entry without a platform */
	"{\"mediaType\": \"application/vnd.oci.empty.v1+json\", \"digest\": \"sha256:empty\", \"size\": 2,"
	" \"platform\": {\"architecture\": \"riscv64\", \"os\": \"linux\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:noplat\", \"size\": 1},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:win\", \"size\": 1,"
	" \"platform\": {\"architecture\": \"amd64\", \"os\": \"windows\", \"os.version\": \"10.0.17763.1\"}}"
	"]}";

static const char *select_digest(const json_t *index, const char *want, struct mctr_err *err)
{
	struct platform p;
	ck_assert_msg(platform_parse(want, &p, err) == 0, "%s: %s", want, err->msg);
	json_t *d = platform_select(index, &p, err);
	return d == NULL ? NULL : json_get_str(d, "digest");
}

START_TEST(select_from_index)
{
	struct mctr_err err = { 0 };
	_cleanup_json_ json_t *index = json_parse_buf(index_json, strlen(index_json), "index", &err);
	ck_assert_msg(index != NULL, "%s", err.msg);

	static const struct {
		const char *want, *digest;
	} cases[] = {
		{ "linux/amd64", "sha256:amd64" },
		{ "linux/arm64/v8", "sha256:arm64-bare" }, /* missing variant == v8; first match wins */
		{ "linux/arm64", "sha256:arm64-bare" },
		{ "linux/arm/v7", "sha256:armv7" },        /* exact variant beats the earlier v6 */
		{ "linux/arm/v6", "sha256:armv6" },
		{ "linux/arm/v8", "sha256:armv7" },        /* v8 falls back to v7 */
		{ "linux/ppc64le", "sha256:ppc" },
		{ "windows/amd64", "sha256:win" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = select_digest(index, cases[i].want, &err);
		ck_assert_msg(got != NULL, "%s: %s", cases[i].want, err.msg);
		ck_assert_msg(strcmp(got, cases[i].digest) == 0, "%s: chose %s, want %s", cases[i].want, got,
		              cases[i].digest);
	}

	/* a hand-made arm64 platform without a variant matches too */
	struct platform bare = { "linux", "arm64", "" };
	json_t *d = platform_select(index, &bare, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(json_get_str(d, "digest"), "sha256:arm64-bare");

	static const char *available = "(available: linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8, "
	                               "linux/arm64/v8, linux/ppc64le, windows/amd64)";
	const char *nomatch[][2] = {
		{ "linux/s390x", "no manifest for linux/s390x in index " },
		{ "linux/riscv64", "no manifest for linux/riscv64 in index " },
		{ "linux/arm/v5", "no manifest for linux/arm/v5 in index " },
		{ "linux/amd64/v3", "no manifest for linux/amd64/v3 in index " },
	};
	for (size_t i = 0; i < sizeof nomatch / sizeof nomatch[0]; i++) {
		ck_assert_ptr_null(select_digest(index, nomatch[i][0], &err));
		char want[512];
		snprintf(want, sizeof want, "%s%s", nomatch[i][1], available);
		ck_assert_str_eq(err.msg, want);
	}
}
END_TEST

START_TEST(select_from_docker_list)
{
	/* Docker manifest list, arm variants in ascending order: arm/v7 picks
	 * v6 (closest older), not the first arm entry. */
	static const char list_json[] = "{\"schemaVersion\": 2,"
		"\"mediaType\": \"application/vnd.docker.distribution.manifest.list.v2+json\","
		"\"manifests\": ["
		"{\"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\", \"digest\": \"sha256:v5\","
		" \"size\": 1, \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": \"v5\"}},"
		"{\"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\", \"digest\": \"sha256:v6\","
		" \"size\": 1, \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": \"v6\"}}"
		"]}";
	struct mctr_err err = { 0 };
	_cleanup_json_ json_t *list = json_parse_buf(list_json, strlen(list_json), "list", &err);
	ck_assert_ptr_nonnull(list);
	ck_assert_str_eq(select_digest(list, "linux/arm/v7", &err), "sha256:v6");
	ck_assert_str_eq(select_digest(list, "linux/arm/v5", &err), "sha256:v5");
	ck_assert_ptr_null(select_digest(list, "linux/amd64", &err));
	ck_assert_str_eq(err.msg, "no manifest for linux/amd64 in index (available: linux/arm/v5, linux/arm/v6)");

	_cleanup_json_ json_t *empty = json_pack("{s:[]}", "manifests");
	ck_assert_ptr_null(select_digest(empty, "linux/amd64", &err));
	ck_assert_str_eq(err.msg, "no manifest for linux/amd64 in index (available: none)");

	_cleanup_json_ json_t *notindex = json_pack("{s:i}", "schemaVersion", 2);
	ck_assert_ptr_null(select_digest(notindex, "linux/amd64", &err));
	ck_assert_str_eq(err.msg, "index has no \"manifests\" array");
}
END_TEST

static Suite *platform_suite(void)
{
	Suite *s = suite_create("platform");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, parse_good);
	tcase_add_test(tc, parse_bad);
	tcase_add_test(tc, host_mapping);
	tcase_add_test(tc, from_json_and_matches);
	tcase_add_test(tc, select_from_index);
	tcase_add_test(tc, select_from_docker_list);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(platform_suite());
}
