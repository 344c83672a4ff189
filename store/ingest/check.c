/* Store verification: every blob re-hashed against its name, every image's
 * blobs and unpacked layers present.  With repair, damaged blobs are
 * removed, missing layers re-unpacked from intact blobs, and images that can
 * no longer be complete are dropped from the index. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mctr/check.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/sha256.h"
#include "mctr/unpack.h"

#define HASH_CHUNK (1u << 20)

static int hash_fd(int fd, char out[DIGEST_LEN + 1], struct mctr_err *err)
{
	_cleanup_sha256_ struct sha256 *h = sha256_new();
	_cleanup_free_ char *buf = xmalloc(HASH_CHUNK);
	for (;;) {
		ssize_t n = read(fd, buf, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mctr_fail_errno(err, "read");
		if (n == 0)
			break;
		sha256_update(h, buf, (size_t)n);
	}
	sha256_final(h, out);
	return 0;
}

static int check_blobs(struct store *st, struct store_check *c, struct mctr_err *err)
{
	_cleanup_closedir_ DIR *d = fs_opendir_at(st->blobs_fd, err);
	if (d == NULL)
		return mctr_err_wrap(err, "open blobs directory");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		c->blobs_checked++;
		if (!digest_hex_is_valid(de->d_name)) {
			mctr_report(&c->problems, "blob directory holds a stray file %s", de->d_name);
			if (c->repair && rm_rf_at(st->blobs_fd, de->d_name, err) < 0)
				return -1;
			continue;
		}
		_cleanup_close_ int bfd = openat(st->blobs_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char got[DIGEST_LEN + 1];
		struct mctr_err rerr = { 0 };
		if (bfd < 0 || hash_fd(bfd, got, &rerr) < 0) {
			mctr_report(&c->problems, "blob sha256:%s cannot be read", de->d_name);
			continue;
		}
		if (strcmp(digest_hex(got), de->d_name) == 0)
			continue;
		mctr_report(&c->problems, "blob sha256:%s is damaged (content hashes to %s)%s", de->d_name, got,
		       c->repair ? ": removed" : "");
		if (c->repair && unlinkat(st->blobs_fd, de->d_name, 0) < 0)
			return mctr_fail_errno(err, "remove damaged blob %s", de->d_name);
	}
	return 0;
}

/* Re-create a missing unpacked layer from its (intact) blob. */
static int reunpack_layer(struct store *st, const char *blob, const char *diff_id, struct mctr_err *err)
{
	_cleanup_close_ int fd = store_blob_open(st, blob, err);
	if (fd < 0)
		return -1;
	char tmp[64], got[DIGEST_LEN + 1];
	store_layer_tmpname(tmp);
	struct layer_unpack_opts o = { .parent_dirfd = st->layers_fd, .dirname = tmp, .what = blob };
	struct layer_stats stats;
	if (layer_unpack_fd(&o, fd, got, &stats, err) < 0)
		return -1;
	if (strcmp(got, diff_id) != 0) {
		rm_rf_at(st->layers_fd, tmp, err);
		return mctr_fail(err, 0, "blob %s unpacks to %s, not %s", blob, got, diff_id);
	}
	return store_layer_commit(st, tmp, diff_id, err);
}

/* An image is whole when its manifest, config and layer blobs and its
 * unpacked layers are all there. */
static bool check_image(struct store *st, struct store_check *c, const char *manifest_digest)
{
	struct mctr_err err = { 0 };
	struct store_image *img = NULL;
	if (store_image_load(st, manifest_digest, &img, &err) < 0) {
		mctr_report(&c->problems, "image %s: %s", manifest_digest, err.msg);
		return false;
	}
	bool whole = true;
	json_t *layers = json_get_arr(img->manifest, "layers");
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *blob = json_get_str(json_array_get(layers, i), "digest");
		bool have_blob = store_blob_exists(st, blob);
		if (!have_blob) {
			mctr_report(&c->problems, "image %s: layer blob %s is missing", manifest_digest, blob ? blob : "?");
			whole = false;
		}
		if (store_layer_exists(st, img->diff_ids[i]))
			continue;
		if (c->repair && have_blob && reunpack_layer(st, blob, img->diff_ids[i], &err) == 0) {
			mctr_report(&c->problems, "image %s: unpacked layer %s was missing: unpacked again", manifest_digest,
			       img->diff_ids[i]);
			c->repaired++;
			continue;
		}
		mctr_report(&c->problems, "image %s: unpacked layer %s is missing", manifest_digest, img->diff_ids[i]);
		whole = false;
	}
	store_image_free(img);
	return whole;
}

static bool entry_seen_before(const json_t *idx, size_t i, const char *digest)
{
	json_t *manifests = json_get_arr(idx, "manifests");
	for (size_t k = 0; k < i; k++) {
		const char *dg = json_get_str(json_array_get(manifests, k), "digest");
		if (dg != NULL && strcmp(dg, digest) == 0)
			return true;
	}
	return false;
}

int store_check(struct store *st, struct store_check *c, struct mctr_err *err)
{
	if (store_lock(st, true, err) < 0)
		return -1;
	int rc = check_blobs(st, c, err);
	_cleanup_json_ json_t *idx = rc == 0 ? store_index_read(st, err) : NULL;
	if (idx == NULL)
		rc = -1;
	size_t i;
	json_t *d;
	_cleanup_strv_ char **broken = xcalloc(json_array_size(json_get_arr(idx, "manifests")) + 1, sizeof(char *));
	size_t n_broken = 0;
	json_array_foreach(json_get_arr(idx, "manifests"), i, d) {
		const char *digest = json_get_str(d, "digest");
		/* An image with several names has an entry per name: check it once. */
		if (digest == NULL || entry_seen_before(idx, i, digest))
			continue;
		c->images_checked++;
		if (!check_image(st, c, digest))
			broken[n_broken++] = xstrdup(digest);
	}
	/* Under the exclusive lock nobody else edits the index: each broken
	 * image is still there to remove. */
	for (size_t k = 0; rc == 0 && c->repair && k < n_broken; k++) {
		if (store_remove_image(st, broken[k], false, err) < 0)
			rc = -1;
		else
			c->repaired++;
	}
	store_unlock(st);
	if (rc == 0 && c->repair) {
		struct store_gc_stats stats;
		rc = store_gc(st, &stats, err);
		c->repaired += stats.temps_removed;
	}
	return rc;
}
