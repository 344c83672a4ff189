/* Garbage collection: mark every blob and layer reachable from index.json,
 * sweep the rest.  Runs under the exclusive store lock, so no writer is
 * between storing a blob and naming its image. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"
#include "mctr/store.h"

/* Partial downloads are kept for resuming a pull; past this age they go. */
#define GC_PARTIAL_MAX_AGE (24 * 3600)
#define GC_MAX_DEPTH 4

struct hexset {
	char **v;
	size_t n, cap;
	bool sorted;
};

static void hexset_add(struct hexset *s, const char *digest)
{
	if (!digest_is_valid(digest))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = xstrdup(digest_hex(digest));
	s->sorted = false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool hexset_has(struct hexset *s, const char *hex)
{
	if (s->n == 0)
		return false;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof *s->v, cmp_str);
		s->sorted = true;
	}
	return bsearch(&hex, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

static void hexset_free(struct hexset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

struct marks {
	struct hexset blobs;
	struct hexset layers;
};

static void mark_manifest(struct store *st, struct marks *m, const char *digest, int depth)
{
	hexset_add(&m->blobs, digest);
	if (depth > GC_MAX_DEPTH)
		return;
	struct mctr_err err = { 0 };
	_cleanup_json_ json_t *man = store_blob_json(st, digest, &err);
	if (man == NULL) {
		mctr_warn("gc: %s", err.msg);
		return;
	}
	size_t i;
	json_t *d;
	json_array_foreach(json_get_arr(man, "manifests"), i, d)
		mark_manifest(st, m, json_get_str(d, "digest"), depth + 1);
	const char *cfg = json_get_str(json_get_obj(man, "config"), "digest");
	if (cfg != NULL) {
		hexset_add(&m->blobs, cfg);
		_cleanup_json_ json_t *config = store_blob_json(st, cfg, &err);
		if (config == NULL)
			mctr_warn("gc: %s", err.msg);
		json_array_foreach(json_get_arr(json_get_obj(config, "rootfs"), "diff_ids"), i, d)
			hexset_add(&m->layers, json_string_value(d));
	}
	json_array_foreach(json_get_arr(man, "layers"), i, d)
		hexset_add(&m->blobs, json_get_str(d, "digest"));
}

static uint64_t entry_size(int dirfd, const char *name)
{
	struct stat sb;
	return fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? (uint64_t)sb.st_size : 0;
}

typedef bool (*sweep_keep_fn)(int dirfd, const char *name, void *arg);

static int sweep_dir(int dirfd, sweep_keep_fn keep, void *arg, unsigned *removed, uint64_t *bytes,
                     struct mctr_err *err)
{
	_cleanup_closedir_ DIR *d = fs_opendir_at(dirfd, err);
	if (d == NULL)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (keep(dirfd, de->d_name, arg))
			continue;
		uint64_t size = entry_size(dirfd, de->d_name);
		if (rm_rf_at(dirfd, de->d_name, err) < 0)
			return -1;
		(*removed)++;
		*bytes += size;
	}
	return 0;
}

static bool keep_marked(int dirfd, const char *name, void *arg)
{
	return digest_hex_is_valid(name) && hexset_has(arg, name);
}

static bool keep_ingest(int dirfd, const char *name, void *arg)
{
	size_t n = strlen(name);
	if (n < 8 || strcmp(name + n - 8, ".partial") != 0)
		return false;
	struct stat sb;
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return time(NULL) - sb.st_mtime < GC_PARTIAL_MAX_AGE;
}

static bool keep_lock(int dirfd, const char *name, void *arg)
{
	/* store.lock and index.lock are held outside the store lock. */
	return strcmp(name, "store.lock") == 0 || strcmp(name, "index.lock") == 0;
}

int store_gc(struct store *st, struct store_gc_stats *stats, struct mctr_err *err)
{
	struct store_gc_stats local = { 0 };
	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof *stats);
	if (store_lock(st, true, err) < 0)
		return -1;
	struct marks m = { 0 };
	int rc = -1;
	json_t *idx = store_index_read(st, err);
	if (idx == NULL)
		goto out;
	size_t i;
	json_t *d;
	json_array_foreach(json_get_arr(idx, "manifests"), i, d)
		mark_manifest(st, &m, json_get_str(d, "digest"), 0);
	json_decref(idx);

	unsigned temps = 0;
	uint64_t ignored = 0;
	if (sweep_dir(st->blobs_fd, keep_marked, &m.blobs, &stats->blobs_removed, &stats->bytes_freed, err) < 0 ||
	    sweep_dir(st->layers_fd, keep_marked, &m.layers, &stats->layers_removed, &ignored, err) < 0 ||
	    sweep_dir(st->ingest_fd, keep_ingest, NULL, &temps, &ignored, err) < 0 ||
	    sweep_dir(st->locks_fd, keep_lock, NULL, &temps, &ignored, err) < 0 ||
	    fs_remove_prefixed(st->oci_fd, ".tmp-", err) < 0)
		goto out;
	stats->temps_removed = temps;
	rc = 0;
out:
	if (rc < 0)
		mctr_err_wrap(err, "garbage collection");
	hexset_free(&m.blobs);
	hexset_free(&m.layers);
	store_unlock(st);
	return rc;
}
