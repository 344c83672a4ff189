/* Media type classification (see mediatype.h). */
#include "mctr/mediatype.h"

#include <string.h>
#include <strings.h>

size_t mediatype_base_len(const char *mt)
{
	if (mt == NULL)
		return 0;
	size_t n = strcspn(mt, ";");
	while (n > 0 && (mt[n - 1] == ' ' || mt[n - 1] == '\t'))
		n--;
	return n;
}

bool mediatype_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return false;
	size_t n = mediatype_base_len(a);
	return n == mediatype_base_len(b) && strncasecmp(a, b, n) == 0;
}

static bool is_one_of(const char *mt, const char *const *types, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (mediatype_equal(mt, types[i]))
			return true;
	return false;
}

#define IS_ONE_OF(mt, ...)                                                                                            \
	is_one_of((mt), (const char *const[]){ __VA_ARGS__ },                                                        \
	          sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

bool mediatype_is_index(const char *mt)
{
	return IS_ONE_OF(mt, MEDIATYPE_OCI_INDEX, MEDIATYPE_DOCKER_MANIFEST_LIST);
}

bool mediatype_is_manifest(const char *mt)
{
	return IS_ONE_OF(mt, MEDIATYPE_OCI_MANIFEST, MEDIATYPE_DOCKER_MANIFEST);
}

bool mediatype_is_schema1(const char *mt)
{
	return IS_ONE_OF(mt, MEDIATYPE_DOCKER_SCHEMA1, MEDIATYPE_DOCKER_SCHEMA1_SIGNED);
}

bool mediatype_is_config(const char *mt)
{
	return IS_ONE_OF(mt, MEDIATYPE_OCI_CONFIG, MEDIATYPE_DOCKER_CONFIG);
}

static const struct {
	const char *type;
	enum mctr_compression compression;
	bool nondistributable;
} layer_types[] = {
	{ MEDIATYPE_OCI_LAYER, MCTR_COMPRESSION_NONE, false },
	{ MEDIATYPE_OCI_LAYER_GZIP, MCTR_COMPRESSION_GZIP, false },
	{ MEDIATYPE_OCI_LAYER_ZSTD, MCTR_COMPRESSION_ZSTD, false },
	{ MEDIATYPE_OCI_LAYER_ND, MCTR_COMPRESSION_NONE, true },
	{ MEDIATYPE_OCI_LAYER_ND_GZIP, MCTR_COMPRESSION_GZIP, true },
	{ MEDIATYPE_OCI_LAYER_ND_ZSTD, MCTR_COMPRESSION_ZSTD, true },
	{ MEDIATYPE_DOCKER_LAYER, MCTR_COMPRESSION_NONE, false },
	{ MEDIATYPE_DOCKER_LAYER_GZIP, MCTR_COMPRESSION_GZIP, false },
	{ MEDIATYPE_DOCKER_LAYER_ZSTD, MCTR_COMPRESSION_ZSTD, false },
	{ MEDIATYPE_DOCKER_FOREIGN_LAYER, MCTR_COMPRESSION_NONE, true },
	{ MEDIATYPE_DOCKER_FOREIGN_LAYER_GZIP, MCTR_COMPRESSION_GZIP, true },
};

static int layer_type_index(const char *mt)
{
	for (size_t i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++)
		if (mediatype_equal(mt, layer_types[i].type))
			return (int)i;
	return -1;
}

bool mediatype_is_layer(const char *mt)
{
	return layer_type_index(mt) >= 0;
}

bool mediatype_is_nondistributable(const char *mt)
{
	int i = layer_type_index(mt);
	return i >= 0 && layer_types[i].nondistributable;
}

bool mediatype_layer_compression(const char *mt, enum mctr_compression *out)
{
	int i = layer_type_index(mt);
	if (i < 0)
		return false;
	*out = layer_types[i].compression;
	return true;
}

int mediatype_check_manifest(const char *mt, const char *what, struct mctr_err *err)
{
	if (mediatype_is_index(mt) || mediatype_is_manifest(mt))
		return 0;
	if (mt == NULL)
		return mctr_fail(err, 0, "%s: no mediaType", what);
	int n = (int)(mediatype_base_len(mt) > 200 ? 200 : mediatype_base_len(mt));
	if (mediatype_is_schema1(mt))
		return mctr_fail(err, 0,
		                 "%s: Docker image manifest schema 1 (%.*s) is deprecated and not supported; "
		                 "push the image again with a current Docker or convert it to schema 2 / OCI",
		                 what, n, mt);
	return mctr_fail(err, 0, "%s: unsupported media type \"%.*s\" (not an image index or manifest)", what, n, mt);
}
