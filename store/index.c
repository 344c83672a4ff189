/* oci/index.json: the store's names.  Every change is a read-modify-write
 * under locks/index.lock, written to a temp file and renamed, so concurrent
 * mctr processes never lose an update and readers never see half a file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/store.h"

#define OCI_INDEX_MEDIA_TYPE "application/vnd.oci.image.index.v1+json"

static json_t *index_new_empty(void)
{
	return json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", OCI_INDEX_MEDIA_TYPE, "manifests");
}

json_t *store_index_read(struct store *st, struct mctr_err *err)
{
	if (faccessat(st->oci_fd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return index_new_empty();
	json_t *idx = json_load_at(st->oci_fd, "index.json", err);
	if (idx == NULL) {
		mctr_err_wrap(err, "store index");
		return NULL;
	}
	if (!json_is_object(idx) || json_get_arr(idx, "manifests") == NULL) {
		json_decref(idx);
		mctr_fail(err, 0, "store index %s/oci/index.json: not an OCI image index", st->root);
		return NULL;
	}
	return idx;
}

int store_index_update(struct store *st, store_index_fn fn, void *arg, struct mctr_err *err)
{
	_cleanup_close_ int lock = store_lock_named(st, "index.lock", err);
	if (lock < 0)
		return -1;
	_cleanup_json_ json_t *idx = store_index_read(st, err);
	if (idx == NULL)
		return -1;
	if (fn(idx, arg, err) < 0)
		return -1;
	if (json_write_atomic_at(st->oci_fd, "index.json", idx, 0644, err) < 0)
		return mctr_err_wrap(err, "write store index");
	return 0;
}

static const char *entry_name(const json_t *desc)
{
	return json_get_str(json_get_obj(desc, "annotations"), MCTR_ANNOTATION_REF_NAME);
}

static size_t count_digest(const json_t *manifests, const char *digest)
{
	size_t i, n = 0;
	json_t *d;
	json_array_foreach(manifests, i, d) {
		const char *dg = json_get_str(d, "digest");
		if (dg != NULL && strcmp(dg, digest) == 0)
			n++;
	}
	return n;
}

/* Remove entries matching (digest, name): name NULL matches unnamed entries
 * only, name "*" matches any. */
static void remove_entries(json_t *manifests, const char *digest, const char *name)
{
	for (size_t i = json_array_size(manifests); i-- > 0;) {
		json_t *d = json_array_get(manifests, i);
		const char *dg = json_get_str(d, "digest");
		const char *nm = entry_name(d);
		if (digest != NULL && (dg == NULL || strcmp(dg, digest) != 0))
			continue;
		bool match = strcmp(name ? name : "", "*") == 0 || (name == NULL ? nm == NULL : nm && !strcmp(nm, name));
		if (match)
			json_array_remove(manifests, i);
	}
}

static json_t *descriptor_copy(const json_t *desc, const char *name)
{
	json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", json_get_str(desc, "mediaType"), "digest",
	                      json_get_str(desc, "digest"), "size", json_get_int(desc, "size", 0));
	json_t *ann = json_get_obj(desc, "annotations");
	json_t *copy = ann ? json_deep_copy(ann) : json_object();
	json_object_del(copy, MCTR_ANNOTATION_REF_NAME);
	if (name != NULL)
		json_object_set_new(copy, MCTR_ANNOTATION_REF_NAME, json_string(name));
	if (json_object_size(copy) > 0)
		json_object_set_new(d, "annotations", copy);
	else
		json_decref(copy);
	return d;
}

static int check_descriptor(const json_t *desc, struct mctr_err *err)
{
	if (json_get_str(desc, "mediaType") == NULL || json_get_int(desc, "size", -1) < 0)
		return mctr_fail(err, 0, "manifest descriptor lacks mediaType or size");
	return digest_check(json_get_str(desc, "digest"), "manifest descriptor", NULL, err);
}

struct name_arg {
	const char *name;
	const json_t *desc;
	bool keep_unnamed;
};

static int do_name_image(json_t *idx, void *arg, struct mctr_err *err)
{
	struct name_arg *a = arg;
	json_t *manifests = json_get_arr(idx, "manifests");
	const char *digest = json_get_str(a->desc, "digest");
	/* The image that held the name so far stays in the store, unnamed,
	 * if this was its last name (Docker's dangling image). */
	for (size_t i = 0; i < json_array_size(manifests); i++) {
		json_t *d = json_array_get(manifests, i);
		const char *nm = entry_name(d);
		const char *old = json_get_str(d, "digest");
		if (nm == NULL || strcmp(nm, a->name) != 0 || old == NULL)
			continue;
		if (strcmp(old, digest) == 0)
			return 0; /* already so */
		_cleanup_free_ char *old_digest = xstrdup(old);
		json_t *keep = descriptor_copy(d, NULL);
		json_array_remove(manifests, i);
		if (count_digest(manifests, old_digest) == 0)
			json_array_append(manifests, keep);
		json_decref(keep);
		break;
	}
	remove_entries(manifests, digest, NULL);
	json_array_append_new(manifests, descriptor_copy(a->desc, a->name));
	(void)err;
	return 0;
}

int store_name_image(struct store *st, const char *name, const json_t *desc, struct mctr_err *err)
{
	if (check_descriptor(desc, err) < 0)
		return -1;
	struct name_arg a = { .name = name, .desc = desc };
	return store_index_update(st, do_name_image, &a, err);
}

static int do_add_unnamed(json_t *idx, void *arg, struct mctr_err *err)
{
	struct name_arg *a = arg;
	json_t *manifests = json_get_arr(idx, "manifests");
	if (count_digest(manifests, json_get_str(a->desc, "digest")) == 0)
		json_array_append_new(manifests, descriptor_copy(a->desc, NULL));
	(void)err;
	return 0;
}

int store_add_unnamed(struct store *st, const json_t *desc, struct mctr_err *err)
{
	if (check_descriptor(desc, err) < 0)
		return -1;
	struct name_arg a = { .desc = desc };
	return store_index_update(st, do_add_unnamed, &a, err);
}

static int do_remove_name(json_t *idx, void *arg, struct mctr_err *err)
{
	struct name_arg *a = arg;
	json_t *manifests = json_get_arr(idx, "manifests");
	for (size_t i = 0; i < json_array_size(manifests); i++) {
		json_t *d = json_array_get(manifests, i);
		const char *nm = entry_name(d);
		if (nm == NULL || strcmp(nm, a->name) != 0)
			continue;
		_cleanup_free_ char *digest = xstrdup(json_get_str(d, "digest"));
		json_t *keep = descriptor_copy(d, NULL);
		json_array_remove(manifests, i);
		if (a->keep_unnamed && count_digest(manifests, digest) == 0)
			json_array_append(manifests, keep);
		json_decref(keep);
		return 0;
	}
	return mctr_fail(err, 0, "no such image: %s", a->name);
}

int store_remove_name(struct store *st, const char *name, bool keep_unnamed, struct mctr_err *err)
{
	struct name_arg a = { .name = name, .keep_unnamed = keep_unnamed };
	return store_index_update(st, do_remove_name, &a, err);
}

static int do_remove_image(json_t *idx, void *arg, struct mctr_err *err)
{
	struct name_arg *a = arg;
	json_t *manifests = json_get_arr(idx, "manifests");
	const char *digest = a->name;
	json_t *keep = NULL;
	for (size_t i = 0; i < json_array_size(manifests); i++) {
		json_t *d = json_array_get(manifests, i);
		const char *dg = json_get_str(d, "digest");
		if (dg != NULL && strcmp(dg, digest) == 0) {
			keep = descriptor_copy(d, NULL);
			break;
		}
	}
	if (keep == NULL)
		return mctr_fail(err, 0, "no such image: %s", digest);
	remove_entries(manifests, digest, "*");
	if (a->keep_unnamed)
		json_array_append(manifests, keep);
	json_decref(keep);
	return 0;
}

int store_remove_image(struct store *st, const char *manifest_digest, bool keep_unnamed, struct mctr_err *err)
{
	struct name_arg a = { .name = manifest_digest, .keep_unnamed = keep_unnamed };
	return store_index_update(st, do_remove_image, &a, err);
}
