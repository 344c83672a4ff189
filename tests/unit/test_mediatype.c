/* Unit tests for src/image/mediatype.c. */
#include <string.h>

#include "mctr/err.h"
#include "mctr/mediatype.h"
#include "testutil.h"

START_TEST(classifiers)
{
	ck_assert(mediatype_is_index(MEDIATYPE_OCI_INDEX));
	ck_assert(mediatype_is_index(MEDIATYPE_DOCKER_MANIFEST_LIST));
	ck_assert(!mediatype_is_index(MEDIATYPE_OCI_MANIFEST));

	ck_assert(mediatype_is_manifest(MEDIATYPE_OCI_MANIFEST));
	ck_assert(mediatype_is_manifest(MEDIATYPE_DOCKER_MANIFEST));
	ck_assert(!mediatype_is_manifest(MEDIATYPE_DOCKER_SCHEMA1));
	ck_assert(!mediatype_is_manifest(MEDIATYPE_OCI_INDEX));

	ck_assert(mediatype_is_schema1("application/vnd.docker.distribution.manifest.v1+json"));
	ck_assert(mediatype_is_schema1("application/vnd.docker.distribution.manifest.v1+prettyjws"));
	ck_assert(!mediatype_is_schema1(MEDIATYPE_DOCKER_MANIFEST));

	ck_assert(mediatype_is_config(MEDIATYPE_OCI_CONFIG));
	ck_assert(mediatype_is_config(MEDIATYPE_DOCKER_CONFIG));
	ck_assert(!mediatype_is_config(MEDIATYPE_OCI_EMPTY));

	/* parameters and case do not matter (an HTTP Content-Type) */
	ck_assert(mediatype_is_manifest("application/vnd.oci.image.manifest.v1+json; charset=utf-8"));
	ck_assert(mediatype_is_index("Application/VND.OCI.Image.Index.v1+JSON"));
	ck_assert(mediatype_is_index("application/vnd.oci.image.index.v1+json ;x=y"));
	/* but prefixes and suffixes do */
	ck_assert(!mediatype_is_manifest("application/vnd.oci.image.manifest.v1+json2"));
	ck_assert(!mediatype_is_manifest("application/vnd.oci.image.manifest.v1"));
	ck_assert(!mediatype_is_manifest(NULL));
	ck_assert(!mediatype_is_layer(""));
	ck_assert_uint_eq(mediatype_base_len("a/b ; c=d"), 3);
	ck_assert(mediatype_equal("a/b;x", "A/B"));
	ck_assert(!mediatype_equal("a/b", NULL));
}
END_TEST

START_TEST(layers_and_compression)
{
	static const struct {
		const char *type;
		enum mctr_compression compression;
		bool nondistributable;
	} layers[] = {
		{ "application/vnd.oci.image.layer.v1.tar", MCTR_COMPRESSION_NONE, false },
		{ "application/vnd.oci.image.layer.v1.tar+gzip", MCTR_COMPRESSION_GZIP, false },
		{ "application/vnd.oci.image.layer.v1.tar+zstd", MCTR_COMPRESSION_ZSTD, false },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar", MCTR_COMPRESSION_NONE, true },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", MCTR_COMPRESSION_GZIP, true },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", MCTR_COMPRESSION_ZSTD, true },
		{ "application/vnd.docker.image.rootfs.diff.tar", MCTR_COMPRESSION_NONE, false },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip", MCTR_COMPRESSION_GZIP, false },
		{ "application/vnd.docker.image.rootfs.diff.tar.zstd", MCTR_COMPRESSION_ZSTD, false },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar", MCTR_COMPRESSION_NONE, true },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", MCTR_COMPRESSION_GZIP, true },
	};
	for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
		enum mctr_compression c = (enum mctr_compression)-1;
		ck_assert_msg(mediatype_is_layer(layers[i].type), "%s", layers[i].type);
		ck_assert_msg(mediatype_layer_compression(layers[i].type, &c), "%s", layers[i].type);
		ck_assert_msg(c == layers[i].compression, "%s: compression %d", layers[i].type, (int)c);
		ck_assert(mediatype_is_nondistributable(layers[i].type) == layers[i].nondistributable);
		ck_assert(!mediatype_is_manifest(layers[i].type) && !mediatype_is_config(layers[i].type));
	}
	static const char *not_layers[] = {
		MEDIATYPE_OCI_EMPTY, MEDIATYPE_OCI_CONFIG, MEDIATYPE_OCI_MANIFEST, "application/vnd.in-toto+json",
		"application/vnd.oci.image.layer.v1.tar+bzip2", "application/octet-stream",
	};
	for (size_t i = 0; i < sizeof not_layers / sizeof not_layers[0]; i++) {
		enum mctr_compression c = MCTR_COMPRESSION_ZSTD;
		ck_assert_msg(!mediatype_is_layer(not_layers[i]), "%s", not_layers[i]);
		ck_assert(!mediatype_layer_compression(not_layers[i], &c));
		ck_assert(c == MCTR_COMPRESSION_ZSTD); /* untouched */
	}
}
END_TEST

START_TEST(check_manifest)
{
	struct mctr_err err = { 0 };
	ck_assert_int_eq(mediatype_check_manifest(MEDIATYPE_OCI_INDEX, "m", &err), 0);
	ck_assert_int_eq(mediatype_check_manifest(MEDIATYPE_DOCKER_MANIFEST, "m", &err), 0);

	ck_assert_int_lt(mediatype_check_manifest(MEDIATYPE_DOCKER_SCHEMA1_SIGNED, "manifest docker.io/x/y:1", &err),
	                 0);
	ck_assert(strncmp(err.msg,
	                  "manifest docker.io/x/y:1: Docker image manifest schema 1 "
	                  "(application/vnd.docker.distribution.manifest.v1+prettyjws) is deprecated and not supported",
	                  strlen("manifest docker.io/x/y:1: Docker image manifest schema 1 "
	                         "(application/vnd.docker.distribution.manifest.v1+prettyjws) is deprecated and not "
	                         "supported")) == 0);

	ck_assert_int_lt(mediatype_check_manifest("application/vnd.oci.empty.v1+json", "blob", &err), 0);
	ck_assert_str_eq(err.msg,
	                 "blob: unsupported media type \"application/vnd.oci.empty.v1+json\" (not an image index or "
	                 "manifest)");
	ck_assert_int_lt(mediatype_check_manifest(NULL, "blob", &err), 0);
	ck_assert_str_eq(err.msg, "blob: no mediaType");

	/* the Accept header names all four v2 types and no schema 1 */
	ck_assert(strstr(MEDIATYPE_MANIFEST_ACCEPT, MEDIATYPE_OCI_INDEX) != NULL);
	ck_assert(strstr(MEDIATYPE_MANIFEST_ACCEPT, MEDIATYPE_DOCKER_MANIFEST_LIST) != NULL);
	ck_assert(strstr(MEDIATYPE_MANIFEST_ACCEPT, "distribution.manifest.v1") == NULL);
}
END_TEST

static Suite *mediatype_suite(void)
{
	Suite *s = suite_create("mediatype");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, classifiers);
	tcase_add_test(tc, layers_and_compression);
	tcase_add_test(tc, check_manifest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(mediatype_suite());
}
