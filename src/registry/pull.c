/* mctr pull: a registry as an image source.
 *
 * The manifest (an index resolved to the platform asked for) and the config
 * are fetched whole and staged as bytes, exactly as received.  Layers the
 * store lacks are downloaded in parallel on one curl multi handle; each
 * stream is written to a resumable ingest/<hex>.partial (store/ingest/blob.c,
 * under the blob's lock) and fed to its own unpacker as it arrives, with
 * backpressure: a transfer pauses while its unpacker's buffer is full.  A
 * layer is staged (its blob verified, its directory unpacked under a temp
 * name and its diff_id checked) before anything is committed; the import
 * transaction then makes blobs, layers and the name visible together. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/log.h"
#include "mctr/mediatype.h"
#include "mctr/platform.h"
#include "mctr/pull.h"
#include "mctr/ref.h"
#include "mctr/regconfig.h"
#include "mctr/regcreds.h"
#include "mctr/registry.h"
#include "mctr/source.h"
#include "mctr/timeutil.h"

#define MAX_INDEX_DEPTH 4
#define LOOP_TIMEOUT_MS 100
#define LOCK_POLL_MS 50
#define PROGRESS_INTERVAL_MS 100
#define RATE_WINDOW_MS 500
/* curl hands over 16 KiB at a time; the bytes are gathered into chunks of
 * this size before they go to the unpacker and the partial file (fewer
 * wake-ups of the inflate thread, fewer writes).  A transfer pauses when a
 * full chunk finds no room in the unpacker, and resumes when it would. */
#define STAGE_SIZE (256u << 10)
/* A stalled download's staged bytes go to the partial file after this long,
 * so a pull killed during a stall resumes from everything it received. */
#define STAGE_IDLE_MS 20

enum layer_phase {
	PHASE_PENDING,     /* not started: lock to take */
	PHASE_LOCKED_OUT,  /* another mctr holds its lock: try again */
	PHASE_DOWNLOADING,
	PHASE_EXTRACTING,  /* all bytes in and verified: unpacker finishing */
	PHASE_DONE,
};

struct pull_layer {
	struct pull *p;
	size_t index;
	char digest[DIGEST_LEN + 1];
	int64_t size;
	const char *media_type;
	const char *diff_id;          /* from the config */
	struct staged_blob *sb;       /* owned by the transaction */
	struct layer_unpack *u;
	char *stage;                  /* received bytes not yet unpacked or written */
	size_t staged;
	long long last_data;          /* ms: when bytes last arrived */
	enum layer_phase phase;
	bool dup;                     /* same blob as an earlier layer */
	bool restarted_fresh;         /* a resumed download whose content proved wrong was redone */
	bool sink_failed;             /* the transfer failed on our side (bad data), not the network's */
	bool transfer_done;
	int transfer_rc;
	struct mctr_err transfer_err;
	struct pull_layer_progress pr;
	int64_t rate_bytes;
	long long rate_at;
};

struct pull {
	struct store *st;
	struct import_txn *txn;
	struct registry_client *client;
	struct registry_fetcher *fetcher;
	const struct pull_events *ev;
	struct pull_layer *layers;
	size_t n_layers;
	int max_downloads;
	long long last_progress;
	int config_lock; /* locks/blob-<config hex> while the config is ours to fetch */
};

/* Report a state change (or, with force, the state again). */
static void report_state(struct pull_layer *l, enum pull_layer_state s, bool force)
{
	struct pull *p = l->p;
	if (l->dup || (l->pr.state == s && !force))
		return;
	l->pr.state = s;
	if (p->ev != NULL && p->ev->layer != NULL)
		p->ev->layer(p->ev->arg, &l->pr, true);
}

static void set_state(struct pull_layer *l, enum pull_layer_state s)
{
	report_state(l, s, false);
}

/* ---- the unpacker side of a download ---------------------------------------- */

static int start_unpack(struct pull_layer *l, struct mctr_err *err)
{
	struct store *st = l->p->st;
	struct staged_blob *sb = l->sb;
	store_layer_tmpname(sb->layer_tmp);
	struct layer_unpack_opts o = { .parent_dirfd = st->layers_fd, .dirname = sb->layer_tmp, .what = l->digest };
	if (layer_unpack_start(&o, &l->u, err) < 0) {
		sb->layer_tmp[0] = '\0';
		return -1;
	}
	return 0;
}

static void stop_unpack(struct pull_layer *l)
{
	if (l->u == NULL)
		return;
	layer_unpack_free(l->u, true);
	l->u = NULL;
	l->sb->layer_tmp[0] = '\0';
}

static int replay_feed(void *arg, const void *buf, size_t len, struct mctr_err *err)
{
	struct pull_layer *l = arg;
	return layer_unpack_feed(l->u, buf, len, err);
}

/* ---- the fetcher's sink ---------------------------------------------------------- */

/* Hand the staged bytes to the unpacker and the partial file; without
 * wait, 1 when the unpacker has no room for them (nothing moved). */
static int flush_stage(struct pull_layer *l, bool wait, struct mctr_err *err)
{
	if (l->staged == 0)
		return 0;
	int r = wait ? layer_unpack_feed(l->u, l->stage, l->staged, err)
	             : layer_unpack_try_feed(l->u, l->stage, l->staged, err);
	if (r == 1)
		return 1;
	if (r < 0 || blob_writer_write(l->sb->writer, l->stage, l->staged, err) < 0) {
		l->sink_failed = true;
		return -1;
	}
	l->staged = 0;
	return 0;
}

static int64_t sink_have(void *arg)
{
	struct pull_layer *l = arg;
	return blob_writer_size(l->sb->writer) + (int64_t)l->staged;
}

static int sink_restart(void *arg, struct mctr_err *err)
{
	struct pull_layer *l = arg;
	stop_unpack(l);
	l->staged = 0;
	l->pr.done = 0;
	l->pr.resumed_from = 0;
	if (blob_writer_restart(l->sb->writer, err) < 0)
		return -1;
	return start_unpack(l, err);
}

static int sink_data(void *arg, const void *buf, size_t len, struct mctr_err *err)
{
	struct pull_layer *l = arg;
	if (l->staged + len > STAGE_SIZE) {
		int r = flush_stage(l, false, err);
		if (r != 0)
			return r; /* 1: no room, this chunk was not taken */
	}
	if (len > STAGE_SIZE) {
		/* never from curl (16 KiB); but if so, straight through */
		int r = layer_unpack_try_feed(l->u, buf, len, err);
		if (r == 1)
			return 1;
		if (r < 0 || blob_writer_write(l->sb->writer, buf, len, err) < 0) {
			l->sink_failed = true;
			return -1;
		}
	} else {
		memcpy(l->stage + l->staged, buf, len);
		l->staged += len;
	}
	l->last_data = monotonic_ms();
	l->pr.done += (int64_t)len;
	return 0;
}

static bool sink_room(void *arg)
{
	struct pull_layer *l = arg;
	return layer_unpack_room(l->u) >= l->staged;
}

static void sink_done(void *arg, int rc, const struct mctr_err *err)
{
	struct pull_layer *l = arg;
	l->transfer_done = true;
	l->transfer_rc = rc;
	if (rc < 0 && err != NULL)
		l->transfer_err = *err;
}

static const struct registry_blob_sink sink_ops = {
	.have = sink_have,
	.restart = sink_restart,
	.data = sink_data,
	.room = sink_room,
	.done = sink_done,
};

/* ---- one layer's steps ------------------------------------------------------------------ */

static int check_diff_id(struct pull_layer *l, struct mctr_err *err)
{
	if (strcmp(l->sb->diff_id, l->diff_id) != 0)
		return mctr_fail(err, 0, "layer %zu (%s) does not match diff_id %s in the config (content is %s)",
		                 l->index + 1, l->digest, l->diff_id, l->sb->diff_id);
	l->sb->is_layer = true;
	return 0;
}

/* The blob is in the store but its unpacked layer is not (or is not known
 * to be this blob's): unpack it from the stored blob. */
static int unpack_stored(struct pull_layer *l, struct mctr_err *err)
{
	struct store *st = l->p->st;
	set_state(l, PULL_LAYER_EXTRACTING);
	_cleanup_close_ int fd = store_blob_open(st, l->digest, err);
	if (fd < 0)
		return -1;
	store_layer_tmpname(l->sb->layer_tmp);
	struct layer_unpack_opts o = { .parent_dirfd = st->layers_fd, .dirname = l->sb->layer_tmp, .what = l->digest };
	struct layer_stats stats;
	if (layer_unpack_fd(&o, fd, l->sb->diff_id, &stats, err) < 0) {
		l->sb->layer_tmp[0] = '\0';
		return -1;
	}
	if (check_diff_id(l, err) < 0)
		return -1;
	l->pr.done = l->size;
	l->phase = PHASE_DONE;
	set_state(l, PULL_LAYER_DONE);
	return 0;
}

static struct staged_blob *new_staged(struct pull *p, struct pull_layer *l)
{
	struct staged_blob *sb = xcalloc(1, sizeof *sb);
	sb->path = xasprintf("layer %zu (%s)", l->index + 1, l->digest);
	memcpy(sb->digest, l->digest, sizeof sb->digest);
	sb->size = l->size;
	import_txn_adopt(p->txn, sb);
	return sb;
}

/* Before any download: layers the store has need nothing (or only an unpack). */
static int classify_layer(struct pull_layer *l, struct mctr_err *err)
{
	struct store *st = l->p->st;
	if (!store_blob_exists(st, l->digest))
		return 0;
	if (store_layer_exists(st, l->diff_id) && store_layer_pair_known(st, l->digest, l->diff_id)) {
		memcpy(l->sb->diff_id, l->diff_id, DIGEST_LEN + 1);
		l->sb->is_layer = true;
		l->pr.done = l->size;
		l->phase = PHASE_DONE;
		set_state(l, PULL_LAYER_EXISTS);
		return 0;
	}
	return unpack_stored(l, err);
}

/* A resumed download went wrong (its bytes do not unpack or verify): the
 * partial file may be what was wrong, so once more from byte 0.  Returns 1
 * when the download started again, 0 when that was tried already or nothing
 * was resumed (the error in err stands), -1 on a new error. */
static int retry_fresh(struct pull_layer *l, struct mctr_err *err)
{
	if (l->pr.resumed_from == 0 || l->restarted_fresh)
		return 0;
	mctr_warn("%s; downloading it again from the start", err->msg);
	mctr_err_clear(err);
	l->restarted_fresh = true;
	l->sink_failed = false;
	l->transfer_done = false;
	if (sink_restart(l, err) < 0)
		return -1;
	l->phase = PHASE_DOWNLOADING;
	set_state(l, PULL_LAYER_DOWNLOADING);
	return registry_fetcher_add(l->p->fetcher, l->digest, l->size, &sink_ops, l, err) < 0 ? -1 : 1;
}

/* Take the blob's lock and start its download (or find it done by another
 * mctr).  Returns 1 when another process holds the lock. */
static int start_layer(struct pull_layer *l, struct mctr_err *err)
{
	struct pull *p = l->p;
	struct blob_writer *w;
	int r = blob_writer_resume(p->st, l->digest, l->size, l->sb->path, false, &w, err);
	if (r != 0)
		return r;
	if (blob_writer_in_store(w)) {
		/* another mctr finished it while we waited */
		blob_writer_free(w);
		return classify_layer(l, err);
	}
	l->sb->writer = w;
	if (l->stage == NULL)
		l->stage = xmalloc(STAGE_SIZE); /* only while downloading: memory bounded by the parallelism */
	if (start_unpack(l, err) < 0)
		return -1;
	int64_t partial = blob_writer_partial_size(w);
	if (partial > 0) {
		l->pr.resumed_from = partial;
		mctr_info("%s: resuming a partial download at byte %lld", l->digest, (long long)partial);
	}
	l->phase = PHASE_DOWNLOADING;
	set_state(l, PULL_LAYER_DOWNLOADING);
	if (blob_writer_replay(w, replay_feed, l, err) < 0) {
		/* the unpacker refused the partial's bytes: retry_fresh starts the download */
		return retry_fresh(l, err) > 0 ? 0 : -1;
	}
	l->pr.done = blob_writer_size(w);
	if (blob_writer_size(w) == l->size) {
		/* the partial holds it all */
		l->transfer_done = true;
		l->transfer_rc = 0;
		return 0;
	}
	return registry_fetcher_add(p->fetcher, l->digest, l->size, &sink_ops, l, err);
}

/* Every byte arrived: verify, then let the unpacker finish. */
static int downloaded(struct pull_layer *l, struct mctr_err *err)
{
	l->transfer_done = false;
	if (l->transfer_rc < 0) {
		*err = l->transfer_err;
		return l->sink_failed && retry_fresh(l, err) > 0 ? 0 : -1;
	}
	if (flush_stage(l, true, err) < 0)
		return retry_fresh(l, err) > 0 ? 0 : -1;
	set_state(l, PULL_LAYER_VERIFYING);
	if (blob_writer_verify(l->sb->writer, NULL, err) < 0) {
		return retry_fresh(l, err) > 0 ? 0 : -1;
	}
	free(l->stage);
	l->stage = NULL;
	if (layer_unpack_close_input(l->u, err) < 0)
		return -1;
	/* The blob's fsync, now, while the unpacker finishes on its threads
	 * rather than in the commit after it. */
	if (blob_writer_sync(l->sb->writer, err) < 0)
		return -1;
	l->phase = PHASE_EXTRACTING;
	set_state(l, PULL_LAYER_EXTRACTING);
	return 0;
}

static int extracted(struct pull_layer *l, struct mctr_err *err)
{
	struct layer_stats stats;
	if (layer_unpack_finish(l->u, l->sb->diff_id, &stats, err) < 0)
		return -1;
	layer_unpack_free(l->u, false); /* the directory stays: the transaction owns it */
	l->u = NULL;
	l->sb->compression = stats.compression;
	enum mctr_compression claimed;
	if (mediatype_layer_compression(l->media_type, &claimed) && claimed != stats.compression)
		mctr_warn("layer %s: media type %s, but the blob is %s", l->digest, l->media_type,
		          compression_name(stats.compression));
	if (check_diff_id(l, err) < 0)
		return -1;
	l->phase = PHASE_DONE;
	set_state(l, PULL_LAYER_DONE);
	return 0;
}

/* ---- the download loop ---------------------------------------------------------------------- */

static void report_progress(struct pull *p, bool force)
{
	long long now = monotonic_ms();
	if (!force && now - p->last_progress < PROGRESS_INTERVAL_MS)
		return;
	p->last_progress = now;
	for (size_t i = 0; i < p->n_layers; i++) {
		struct pull_layer *l = &p->layers[i];
		if (l->dup || l->phase != PHASE_DOWNLOADING)
			continue;
		if (now - l->rate_at >= RATE_WINDOW_MS) {
			if (l->rate_at > 0)
				l->pr.rate = (double)(l->pr.done - l->rate_bytes) * 1000.0 / (double)(now - l->rate_at);
			l->rate_at = now;
			l->rate_bytes = l->pr.done;
		}
		if (p->ev != NULL && p->ev->layer != NULL)
			p->ev->layer(p->ev->arg, &l->pr, false);
	}
}

static int step_layers(struct pull *p, bool *all_done, bool *locked_out, struct mctr_err *err)
{
	*all_done = true;
	*locked_out = false;
	unsigned active = 0;
	for (size_t i = 0; i < p->n_layers; i++)
		active += p->layers[i].phase == PHASE_DOWNLOADING;
	for (size_t i = 0; i < p->n_layers; i++) {
		struct pull_layer *l = &p->layers[i];
		if (l->dup)
			continue;
		bool startable = l->phase == PHASE_PENDING || l->phase == PHASE_LOCKED_OUT;
		if (startable && active < (unsigned)p->max_downloads) {
			int r = start_layer(l, err);
			if (r < 0)
				return -1;
			if (r == 1) {
				if (l->phase != PHASE_LOCKED_OUT) {
					mctr_info("%s: another mctr is pulling it; waiting", l->digest);
					report_state(l, PULL_LAYER_WAITING, true);
				}
				l->phase = PHASE_LOCKED_OUT;
			} else if (l->phase == PHASE_DOWNLOADING) {
				active++;
			}
		}
		if (l->phase == PHASE_DOWNLOADING && !l->transfer_done && l->staged > 0 &&
		    monotonic_ms() - l->last_data >= STAGE_IDLE_MS) {
			/* A failure stays (failed unpacker, full disk): the transfer's
			 * next bytes meet it and end it, with the usual handling. */
			struct mctr_err ignored = { 0 };
			flush_stage(l, false, &ignored);
		}
		if (l->phase == PHASE_DOWNLOADING && l->transfer_done && downloaded(l, err) < 0)
			return -1;
		if (l->phase == PHASE_EXTRACTING && !layer_unpack_busy(l->u) && extracted(l, err) < 0)
			return -1;
		*all_done &= l->phase == PHASE_DONE;
		*locked_out |= l->phase == PHASE_LOCKED_OUT;
	}
	return 0;
}

static bool any_extracting(const struct pull *p)
{
	for (size_t i = 0; i < p->n_layers; i++)
		if (p->layers[i].phase == PHASE_EXTRACTING)
			return true;
	return false;
}

static int download_layers(struct pull *p, struct mctr_err *err)
{
	for (;;) {
		bool all_done, locked_out;
		if (step_layers(p, &all_done, &locked_out, err) < 0)
			return -1;
		report_progress(p, false);
		if (all_done)
			return 0;
		if (registry_fetcher_active(p->fetcher) > 0) {
			/* short waits while an unpacker finishes, so its end is seen soon */
			int t = any_extracting(p) || locked_out ? 10 : LOOP_TIMEOUT_MS;
			if (registry_fetcher_run(p->fetcher, t, err) < 0)
				return -1;
		} else {
			/* only unpackers finishing (or locks of other mctrs) to wait for */
			struct timespec ts = { 0, (locked_out ? LOCK_POLL_MS : 1) * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
}

static void free_layers(struct pull *p)
{
	for (size_t i = 0; i < p->n_layers; i++) {
		stop_unpack(&p->layers[i]);
		free(p->layers[i].stage);
	}
	free(p->layers);
	p->layers = NULL;
	p->n_layers = 0;
}

/* ---- manifests ------------------------------------------------------------------------------------- */

struct descriptor {
	const char *media_type;
	const char *digest;
	int64_t size;
};

static int read_descriptor(const json_t *d, const char *what, struct descriptor *out, struct mctr_err *err)
{
	out->media_type = json_get_str(d, "mediaType");
	out->digest = json_get_str(d, "digest");
	out->size = json_get_int(d, "size", -1);
	if (!json_is_object(d) || out->media_type == NULL || out->size < 0)
		return mctr_fail(err, 0, "%s: descriptor lacks mediaType or size", what);
	return digest_check(out->digest, what, NULL, err);
}

/* Follow indexes down to one platform's manifest. */
static int resolve_manifest(struct registry_client *c, const char *reference, const struct platform *want,
                            struct registry_manifest *m, char repo_digest[DIGEST_LEN + 1], struct mctr_err *err)
{
	if (registry_get_manifest(c, reference, -1, m, err) < 0)
		return -1;
	memcpy(repo_digest, m->digest, DIGEST_LEN + 1);
	for (int depth = 0; mediatype_is_index(m->media_type); depth++) {
		_cleanup_free_ char *what = xasprintf("%s: index %s", registry_client_host(c), m->digest);
		if (depth >= MAX_INDEX_DEPTH)
			return mctr_fail(err, 0, "%s: indexes nested too deep", what);
		_cleanup_json_ json_t *idx = json_parse_buf(m->body, m->len, what, err);
		if (idx == NULL)
			return -1;
		json_t *chosen = platform_select(idx, want, err);
		if (chosen == NULL)
			return mctr_err_wrap(err, "%s", what);
		struct descriptor d;
		if (read_descriptor(chosen, what, &d, err) < 0)
			return -1;
		_cleanup_free_ char *digest = xstrdup(d.digest);
		_cleanup_free_ char *mt = xstrdup(d.media_type);
		registry_manifest_clear(m);
		if (registry_get_manifest(c, digest, d.size, m, err) < 0)
			return -1;
		if (!mediatype_equal(m->media_type, mt))
			return mctr_fail(err, 0, "%s: manifest %s is a %s, but the index says %s", what, digest,
			                 m->media_type, mt);
	}
	return 0;
}

static int stage_config(struct pull *p, const struct descriptor *cd, struct staged_blob **out, json_t **cfg,
                        struct mctr_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (!store_blob_exists(p->st, cd->digest)) {
		/* Another mctr pulling the same image holds it until it commits:
		 * wait, then find the config (and the layers) in the store. */
		if (store_lock_digest(p->st, cd->digest, true, &p->config_lock, err) < 0)
			return -1;
	}
	if (store_blob_exists(p->st, cd->digest)) {
		_cleanup_close_ int fd = store_blob_open(p->st, cd->digest, err);
		if (fd < 0 || fd_read_all(fd, MCTR_JSON_MAX, &buf, &len, err) < 0)
			return -1;
	} else if (registry_get_blob(p->client, cd->digest, cd->size, MCTR_JSON_MAX, &buf, &len, err) < 0) {
		return -1;
	}
	struct staged_blob *sb = import_txn_stage_bytes(p->txn, "config", buf, len);
	if (strcmp(sb->digest, cd->digest) != 0 || sb->size != cd->size)
		return mctr_fail(err, 0, "config %s: stored content does not match", cd->digest);
	_cleanup_free_ char *what = xasprintf("config %s", cd->digest);
	*cfg = json_parse_buf(buf, len, what, err);
	if (*cfg == NULL)
		return -1;
	if (!json_is_object(*cfg)) {
		json_decref(*cfg);
		*cfg = NULL;
		return mctr_fail(err, 0, "%s: expected a JSON object", what);
	}
	*out = sb;
	return 0;
}

static void warn_platform(const json_t *cfg, const struct platform *want)
{
	struct platform have;
	struct mctr_err e = { 0 };
	if (platform_from_json(cfg, &have, &e) < 0 || platform_matches(want, &have))
		return;
	char a[PLATFORM_STR_MAX], b[PLATFORM_STR_MAX];
	platform_format(&have, a, sizeof a);
	platform_format(want, b, sizeof b);
	mctr_warn("the image's platform (%s) does not match the one asked for (%s)", a, b);
}

static int plan_layers(struct pull *p, const json_t *layers, char **diff_ids, struct mctr_err *err)
{
	size_t n = json_array_size(layers);
	p->layers = xcalloc(n ? n : 1, sizeof *p->layers);
	p->n_layers = n;
	for (size_t i = 0; i < n; i++) {
		struct pull_layer *l = &p->layers[i];
		struct descriptor d;
		_cleanup_free_ char *what = xasprintf("manifest layer %zu", i + 1);
		if (read_descriptor(json_array_get(layers, i), what, &d, err) < 0)
			return -1;
		if (!mediatype_is_layer(d.media_type))
			return mctr_fail(err, 0, "layer %zu (%s) has unsupported media type %s", i + 1, d.digest,
			                 d.media_type);
		l->p = p;
		l->index = i;
		snprintf(l->digest, sizeof l->digest, "%s", d.digest);
		l->size = d.size;
		l->media_type = d.media_type;
		l->diff_id = diff_ids[i];
		l->pr.index = i;
		l->pr.digest = l->digest;
		l->pr.size = l->size;
		l->pr.state = PULL_LAYER_WAITING;
		for (size_t k = 0; k < i; k++) {
			if (strcmp(p->layers[k].digest, l->digest) != 0)
				continue;
			if (strcmp(p->layers[k].diff_id, l->diff_id) != 0)
				return mctr_fail(err, 0, "layers %zu and %zu: same blob %s, different diff_ids", k + 1,
				                 i + 1, l->digest);
			l->dup = true;
			l->sb = p->layers[k].sb;
			l->phase = PHASE_DONE;
			break;
		}
		if (!l->dup)
			l->sb = new_staged(p, l);
	}
	for (size_t i = 0; i < n; i++)
		if (!p->layers[i].dup && p->ev != NULL && p->ev->layer != NULL)
			p->ev->layer(p->ev->arg, &p->layers[i].pr, true);
	for (size_t i = 0; i < n; i++)
		if (!p->layers[i].dup && classify_layer(&p->layers[i], err) < 0)
			return -1;
	return 0;
}

/* ---- the pull ---------------------------------------------------------------------------------------- */

/* The image config and its layers, for the platform manifest m; then the commit. */
static int pull_manifest(struct pull *p, const struct image_ref *ref, const struct platform *want,
                         const struct registry_manifest *m, struct pull_result *res, struct mctr_err *err)
{
	const char *reference = ref->digest ? ref->digest : ref->tag;
	_cleanup_free_ char *what = xasprintf("manifest %s", m->digest);
	_cleanup_json_ json_t *man = json_parse_buf(m->body, m->len, what, err);
	if (man == NULL)
		return -1;
	if (json_get_str(man, "artifactType") != NULL)
		return mctr_fail(err, 0, "%s: an artifact (%s), not an image", what, json_get_str(man, "artifactType"));
	struct descriptor cd;
	json_t *layers = json_get_arr(man, "layers");
	if (layers == NULL)
		return mctr_fail(err, 0, "%s: no layers array", what);
	if (read_descriptor(json_get_obj(man, "config"), what, &cd, err) < 0)
		return -1;
	if (!mediatype_is_config(cd.media_type))
		return mctr_fail(err, 0, "%s: config media type %s is not an image config", what, cd.media_type);
	if (p->ev != NULL && p->ev->resolved != NULL)
		p->ev->resolved(p->ev->arg, reference, ref->path, json_array_size(layers));
	struct staged_blob *config = NULL;
	_cleanup_json_ json_t *cfg = NULL;
	if (stage_config(p, &cd, &config, &cfg, err) < 0)
		return -1;
	_cleanup_free_ char *cfg_what = xasprintf("config %s", cd.digest);
	_cleanup_strv_ char **diff_ids = NULL;
	if (format_config_diff_ids(cfg, json_array_size(layers), cfg_what, &diff_ids, err) < 0)
		return -1;
	warn_platform(cfg, want);
	struct staged_blob *manifest = import_txn_stage_bytes(p->txn, "manifest", m->body, m->len);
	if (plan_layers(p, layers, diff_ids, err) < 0 || registry_fetcher_new(p->client, &p->fetcher, err) < 0 ||
	    download_layers(p, err) < 0)
		return -1;
	_cleanup_free_ struct staged_blob **staged = xcalloc(p->n_layers + 1, sizeof *staged);
	for (size_t i = 0; i < p->n_layers; i++)
		staged[i] = p->layers[i].sb;
	res->name = ref_string(ref);
	char *names[] = { res->name, NULL };
	if (import_txn_add_image(p->txn, manifest, m->media_type, config, staged, p->n_layers, names, err) < 0)
		return -1;
	size_t n_imgs;
	const struct imported_image *imgs = import_txn_images(p->txn, &n_imgs);
	json_object_set_new(imgs[n_imgs - 1].desc, "annotations",
	                    json_pack("{s:s}", PULL_ANNOTATION_REPO_DIGEST, res->digest));
	struct store_image *old = NULL;
	struct mctr_err ignored = { 0 };
	if (store_image_lookup(p->st, res->name, &old, &ignored) == 0) {
		res->up_to_date = strcmp(old->manifest_digest, m->digest) == 0;
		store_image_free(old);
	}
	if (import_txn_commit(p->txn, err) < 0)
		return -1;
	memcpy(res->id, cd.digest, DIGEST_LEN + 1);
	return 0;
}

static int pull_image(struct pull *p, const struct image_ref *ref, const struct platform *want,
                      struct pull_result *res, struct mctr_err *err)
{
	const char *reference = ref->digest ? ref->digest : ref->tag;
	struct registry_manifest m = { 0 };
	int rc = resolve_manifest(p->client, reference, want, &m, res->digest, err);
	if (rc == 0) {
		memcpy(res->manifest_digest, m.digest, DIGEST_LEN + 1);
		rc = pull_manifest(p, ref, want, &m, res, err);
	}
	registry_manifest_clear(&m);
	return rc;
}

void pull_result_clear(struct pull_result *r)
{
	free(r->name);
	memset(r, 0, sizeof *r);
}

int registry_pull(struct store *st, const char *refstr, const struct pull_opts *o, const struct pull_events *ev,
                  struct pull_result *res, struct mctr_err *err)
{
	memset(res, 0, sizeof *res);
	_cleanup_ref_ struct image_ref ref = { 0 };
	if (ref_parse(refstr, &ref, err) < 0)
		return -1;
	_cleanup_free_ char *full = ref_string(&ref);
	struct platform want;
	if (o->platform != NULL) {
		if (platform_parse(o->platform, &want, err) < 0)
			return mctr_err_wrap(err, "--platform");
	} else {
		platform_host(&want);
	}
	struct reg_config cfg;
	if (regconfig_load(NULL, &cfg, err) < 0)
		return -1;
	struct reg_creds creds = { 0 };
	struct registry_client_opts co = { .config = &cfg, .tls_verify_off = o->tls_verify_off };
	struct pull p = { .st = st, .ev = ev, .max_downloads = cfg.max_downloads, .config_lock = -1 };
	int rc = -1;
	if (o->creds != NULL) {
		if (regcreds_parse_pair(o->creds, &creds, err) < 0) {
			mctr_err_wrap(err, "--creds");
			goto out;
		}
		co.creds = &creds;
	}
	if (registry_client_new(ref.domain, ref.path, &co, &p.client, err) < 0 || import_txn_new(st, &p.txn, err) < 0)
		goto out;
	rc = pull_image(&p, &ref, &want, res, err);
out:
	if (rc < 0) {
		mctr_err_wrap(err, "pull %s", full);
		pull_result_clear(res);
	}
	registry_fetcher_free(p.fetcher);
	free_layers(&p);
	import_txn_free(p.txn);
	if (p.config_lock >= 0)
		close(p.config_lock);
	registry_client_free(p.client);
	regcreds_clear(&creds);
	regconfig_clear(&cfg);
	return rc;
}
