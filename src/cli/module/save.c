/* mctr save: images as a docker-archive in the layout of Docker 25 (also a
 * valid OCI layout), readable by `docker load` and `podman load`: layers
 * uncompressed under blobs/sha256/<diff_id>, manifest.json with RepoTags. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/mediatype.h"
#include "mctr/ref.h"
#include "mctr/sha256.h"
#include "mctr/unpack.h"

static const char usage[] = "Usage: mctr save [OPTIONS] IMAGE [IMAGE...]\n\n"
                            "Save images to a docker-archive (to stdout unless -o).\n\n"
                            "Options:\n"
                            "  -o, --output FILE   write to FILE (replaced atomically)\n";

#define COPY_CHUNK (1u << 20)

struct written {
	char *path;
	int64_t size;
};

struct saver {
	struct archive *a;
	struct store *st;
	struct written *written; /* entries already in the archive */
	size_t n_written;
	json_t *manifest_json;
	json_t *index_json;
};

static const struct written *find_written(const struct saver *s, const char *path)
{
	for (size_t i = 0; i < s->n_written; i++)
		if (strcmp(s->written[i].path, path) == 0)
			return &s->written[i];
	return NULL;
}

static void note_written(struct saver *s, const char *path, int64_t size)
{
	s->written = xrealloc(s->written, (s->n_written + 1) * sizeof *s->written);
	s->written[s->n_written++] = (struct written){ xstrdup(path), size };
}

static int write_header(struct saver *s, const char *path, int64_t size, struct mctr_err *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, 0, 0);
	int r = archive_write_header(s->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return mctr_fail(err, 0, "write archive entry %s: %s", path, archive_error_string(s->a));
	return 0;
}

static int write_data(struct saver *s, const void *buf, size_t len, struct mctr_err *err)
{
	if (len > 0 && archive_write_data(s->a, buf, len) != (la_ssize_t)len)
		return mctr_fail(err, 0, "write archive: %s", archive_error_string(s->a));
	return 0;
}

static int write_bytes(struct saver *s, const char *path, const void *buf, size_t len, struct mctr_err *err)
{
	if (find_written(s, path) != NULL)
		return 0;
	note_written(s, path, (int64_t)len);
	if (write_header(s, path, (int64_t)len, err) < 0)
		return -1;
	return write_data(s, buf, len, err);
}

/* Decompression sinks: count and hash (first pass: the size for the tar
 * header, and proof that the archive gets exactly the layer the config
 * names), then write (second pass). */
struct layer_pass {
	struct saver *s;
	struct sha256 *h; /* first pass */
	uint64_t bytes;
};

static int pass_sink(void *arg, const void *buf, size_t len, struct mctr_err *err)
{
	struct layer_pass *p = arg;
	p->bytes += len;
	if (p->h != NULL) {
		sha256_update(p->h, buf, len);
		return 0;
	}
	return write_data(p->s, buf, len, err);
}

static int layer_pass(struct saver *s, const char *blob, struct layer_pass *p, struct mctr_err *err)
{
	_cleanup_close_ int fd = store_blob_open(s->st, blob, err);
	if (fd < 0)
		return -1;
	struct decompressor *d = decompressor_new(pass_sink, p);
	_cleanup_free_ char *buf = xmalloc(COPY_CHUNK);
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = mctr_fail_errno(err, "read blob %s", blob);
			break;
		}
		if (n == 0 || (rc = decompressor_feed(d, buf, (size_t)n, err)) < 0)
			break;
	}
	if (rc == 0)
		rc = decompressor_finish(d, err);
	decompressor_free(d);
	return rc;
}

static int write_layer(struct saver *s, const char *blob, const char *diff_id, int64_t *size,
                       struct mctr_err *err)
{
	_cleanup_free_ char *path = xasprintf("blobs/sha256/%s", digest_hex(diff_id));
	/* The same diff_id (an image sharing a base layer) is in the archive
	 * once, checked and sized the first time. */
	const struct written *w = find_written(s, path);
	if (w != NULL) {
		*size = w->size;
		return 0;
	}
	_cleanup_sha256_ struct sha256 *h = sha256_new();
	char got[DIGEST_LEN + 1];
	struct layer_pass count = { .s = s, .h = h };
	if (layer_pass(s, blob, &count, err) < 0)
		return -1;
	sha256_final(h, got);
	if (strcmp(got, diff_id) != 0)
		return mctr_fail(err, 0, "layer %s in the store does not match diff_id %s (run mctr system check)", blob,
		                 diff_id);
	*size = (int64_t)count.bytes;
	note_written(s, path, *size);
	if (write_header(s, path, *size, err) < 0)
		return -1;
	struct layer_pass out = { .s = s };
	if (layer_pass(s, blob, &out, err) < 0)
		return -1;
	if ((int64_t)out.bytes != *size)
		return mctr_fail(err, 0, "layer %s changed while it was saved", blob);
	return 0;
}

/* The OCI manifest of the saved form: the same config, layers as
 * uncompressed tars named by their diff_ids. */
static int write_saved_manifest(struct saver *s, const struct store_image *img, json_t *oci_layers,
                                char digest[DIGEST_LEN + 1], size_t *len, struct mctr_err *err)
{
	_cleanup_json_ json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
	                                     MEDIATYPE_OCI_MANIFEST, "config", "mediaType", MEDIATYPE_OCI_CONFIG,
	                                     "digest", img->id, "size",
	                                     json_get_int(json_get_obj(img->manifest, "config"), "size", 0),
	                                     "layers", oci_layers);
	_cleanup_free_ char *bytes = json_dump_canonical(m, len);
	sha256_digest_buf(bytes, *len, digest);
	_cleanup_free_ char *path = xasprintf("blobs/sha256/%s", digest_hex(digest));
	return write_bytes(s, path, bytes, *len, err);
}

/* Names to save: the one the user gave, or every name when saved by ID. */
static json_t *saved_names(const char *arg, const struct store_image *img)
{
	json_t *names = json_array();
	struct image_ref ref = { 0 };
	_cleanup_free_ char *given = NULL;
	if (ref_parse(arg, &ref, NULL) == 0 && ref.tag != NULL)
		given = ref_string(&ref);
	ref_clear(&ref);
	for (char **p = img->names; *p != NULL; p++) {
		bool tagged = strchr(*p, '@') == NULL;
		if (tagged && (given == NULL || strcmp(given, *p) == 0))
			json_array_append_new(names, json_string(*p));
	}
	return names;
}

static int save_image(struct saver *s, const char *arg, const struct store_image *img, struct mctr_err *err)
{
	_cleanup_close_ int cfd = store_blob_open(s->st, img->id, err);
	_cleanup_free_ char *cfg = NULL;
	size_t cfg_len;
	if (cfd < 0 || fd_read_all(cfd, MCTR_JSON_MAX, &cfg, &cfg_len, err) < 0)
		return -1;
	_cleanup_free_ char *cfg_path = xasprintf("blobs/sha256/%s", digest_hex(img->id));
	if (write_bytes(s, cfg_path, cfg, cfg_len, err) < 0)
		return -1;
	json_t *layers = json_get_arr(img->manifest, "layers");
	_cleanup_json_ json_t *layer_paths = json_array();
	_cleanup_json_ json_t *oci_layers = json_array();
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *blob = json_get_str(json_array_get(layers, i), "digest");
		int64_t size = 0;
		if (write_layer(s, blob, img->diff_ids[i], &size, err) < 0)
			return -1;
		_cleanup_free_ char *p = xasprintf("blobs/sha256/%s", digest_hex(img->diff_ids[i]));
		json_array_append_new(layer_paths, json_string(p));
		json_array_append_new(oci_layers, json_pack("{s:s, s:s, s:I}", "mediaType", MEDIATYPE_OCI_LAYER,
		                                            "digest", img->diff_ids[i], "size", (json_int_t)size));
	}
	char mdigest[DIGEST_LEN + 1];
	size_t mlen;
	if (write_saved_manifest(s, img, oci_layers, mdigest, &mlen, err) < 0)
		return -1;
	_cleanup_json_ json_t *names = saved_names(arg, img);
	_cleanup_json_ json_t *tags = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n) {
		struct image_ref r = { 0 };
		if (ref_parse(json_string_value(n), &r, NULL) < 0)
			continue;
		_cleanup_free_ char *fam = ref_familiar(&r);
		json_array_append_new(tags, json_string(fam));
		json_array_append_new(json_get_arr(s->index_json, "manifests"),
		                      json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", MEDIATYPE_OCI_MANIFEST,
		                                "digest", mdigest, "size", (json_int_t)mlen, "annotations",
		                                "io.containerd.image.name", json_string_value(n),
		                                MCTR_ANNOTATION_REF_NAME, r.tag));
		ref_clear(&r);
	}
	if (json_array_size(names) == 0)
		json_array_append_new(json_get_arr(s->index_json, "manifests"),
		                      json_pack("{s:s, s:s, s:I}", "mediaType", MEDIATYPE_OCI_MANIFEST, "digest", mdigest,
		                                "size", (json_int_t)mlen));
	json_array_append_new(s->manifest_json, json_pack("{s:s, s:O, s:O}", "Config", cfg_path, "RepoTags", tags,
	                                                  "Layers", layer_paths));
	return 0;
}

static int write_json_file(struct saver *s, const char *path, const json_t *j, struct mctr_err *err)
{
	size_t len;
	_cleanup_free_ char *bytes = json_dump_canonical(j, &len);
	return write_bytes(s, path, bytes, len, err);
}

static int save_all(struct saver *s, struct store_image **imgs, char **args, int n, struct mctr_err *err)
{
	for (int i = 0; i < n; i++)
		if (save_image(s, args[i], imgs[i], err) < 0)
			return -1;
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (write_json_file(s, "manifest.json", s->manifest_json, err) < 0 ||
	    write_json_file(s, "index.json", s->index_json, err) < 0 ||
	    write_bytes(s, "oci-layout", layout, sizeof layout - 1, err) < 0)
		return -1;
	if (archive_write_close(s->a) != ARCHIVE_OK)
		return mctr_fail(err, 0, "finish archive: %s", archive_error_string(s->a));
	return 0;
}

int mctr_cmd_save(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	static const struct option longopts[] = { { "output", required_argument, NULL, 'o' }, { 0 } };
	struct cli_opts o = { usage, "o:", longopts };
	const char *output = NULL;
	int c;
	while ((c = cli_getopt(argc, argv, &o)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, -1, usage, err) < 0)
		return -1;
	if (output == NULL && isatty(1))
		return mctr_fail(err, 0, "refusing to write an archive to a terminal (use -o FILE or redirect)");
	struct store *st;
	if (cli_store(cli, &st, err) < 0 || store_lock(st, false, err) < 0)
		return -1;
	int n = argc - optind;
	struct store_image **imgs = xcalloc((size_t)n, sizeof *imgs);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		rc = store_image_lookup(st, argv[optind + i], &imgs[i], err);
	_cleanup_free_ char *tmp = output ? xasprintf("%s.tmp-%ld", output, (long)getpid()) : NULL;
	_cleanup_close_ int fd = -1;
	if (rc == 0) {
		fd = output ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : fcntl(1, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			rc = mctr_fail_errno(err, "create %s", output ? output : "stdout");
	}
	struct saver s = { .st = st, .manifest_json = json_array(),
			   .index_json = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
						   MEDIATYPE_OCI_INDEX, "manifests") };
	if (rc == 0) {
		s.a = archive_write_new();
		archive_write_set_format_pax_restricted(s.a);
		archive_write_set_bytes_in_last_block(s.a, 1);
		if (archive_write_open_fd(s.a, fd) != ARCHIVE_OK)
			rc = mctr_fail(err, 0, "write archive: %s", archive_error_string(s.a));
		else
			rc = save_all(&s, imgs, argv + optind, n, err);
		archive_write_free(s.a);
	}
	if (rc == 0 && output != NULL && (fsync(fd) < 0 || rename(tmp, output) < 0))
		rc = mctr_fail_errno(err, "write %s", output);
	if (rc < 0 && output != NULL && fd >= 0)
		unlink(tmp);
	for (int i = 0; i < n; i++)
		store_image_free(imgs[i]);
	free(imgs);
	for (size_t i = 0; i < s.n_written; i++)
		free(s.written[i].path);
	free(s.written);
	json_decref(s.manifest_json);
	json_decref(s.index_json);
	return rc;
}
