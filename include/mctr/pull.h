/* Pulling an image from a registry into the store (image module).
 *
 * ref -> manifest (an index or manifest list is resolved to the requested
 * platform) -> config -> layers.  Everything is staged into one import
 * transaction (source.h), as `load` does, and committed all or nothing.
 * Blobs the store has are not requested; a layer whose blob and unpacked
 * directory are both there is not touched.  Layers are downloaded in
 * parallel (curl multi), each hashed, written to a resumable
 * ingest/<hex>.partial under an exclusive per-digest lock and unpacked while
 * it streams; a pull killed at any point leaves no partial blob or layer
 * visible, and the next pull resumes the partial download with a Range
 * request.  Another mctr pulling the same blob is waited for.
 *
 * `mctr run --pull` reaches mctr_pull_image() (src/cli/module/pull.c) by
 * dlsym; it prints like `mctr pull`. */
#ifndef MCTR_PULL_H
#define MCTR_PULL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mctr/digest.h"
#include "mctr/err.h"
#include "mctr/store.h"

struct pull_opts {
	const char *platform;  /* "os/arch[/variant]"; NULL: the host's */
	const char *creds;     /* "user:password" (--creds); NULL: the Docker config file */
	bool tls_verify_off;   /* --tls-verify=false */
	bool quiet;            /* print only the image name at the end */
	FILE *out;             /* progress and status lines; NULL: stdout */
	char *id_out;          /* NULL, or DIGEST_LEN + 1 bytes for the image ID */
};

/* ---- progress (the CLI prints; the library never does) ----------------------- */

enum pull_layer_state {
	PULL_LAYER_WAITING,     /* queued, or another mctr is pulling the same blob */
	PULL_LAYER_DOWNLOADING, /* bytes arriving (and being unpacked as they come) */
	PULL_LAYER_VERIFYING,   /* every byte in: checking the digest */
	PULL_LAYER_EXTRACTING,  /* the unpacker finishes and the diff_id is checked */
	PULL_LAYER_DONE,        /* pull complete */
	PULL_LAYER_EXISTS,      /* blob and unpacked layer were in the store */
};

struct pull_layer_progress {
	size_t index;           /* in the manifest, from 0 */
	const char *digest;
	int64_t size;
	int64_t done;           /* bytes of the blob held */
	int64_t resumed_from;   /* bytes a partial download had (0 if none) */
	double rate;            /* bytes per second, recent */
	enum pull_layer_state state;
};

struct pull_events {
	/* The manifest is known: "TAG: Pulling from REPOSITORY". */
	void (*resolved)(void *arg, const char *tag_or_digest, const char *repository, size_t n_layers);
	/* A layer changed state (state_changed) or got bytes. */
	void (*layer)(void *arg, const struct pull_layer_progress *p, bool state_changed);
	void *arg;
};

struct pull_result {
	char digest[DIGEST_LEN + 1];          /* the registry's digest of what the reference names
	                                         (the index's for a multi-platform image): Docker's Digest: */
	char manifest_digest[DIGEST_LEN + 1]; /* the platform manifest stored */
	char id[DIGEST_LEN + 1];              /* config digest */
	char *name;                           /* full normalized reference (malloc'd) */
	bool up_to_date;                      /* the name pointed at this manifest already */
};

/* Pull ref ("alpine", "127.0.0.1:5000/busybox:1", "x@sha256:...") into st. */
int registry_pull(struct store *st, const char *ref, const struct pull_opts *o, const struct pull_events *ev,
                  struct pull_result *res, struct mctr_err *err);
void pull_result_clear(struct pull_result *r);

/* Annotation on the store's index.json entry of a pulled image: the
 * registry's digest of the reference (the index's, for an index), i.e.
 * Docker's RepoDigest. */
#define PULL_ANNOTATION_REPO_DIGEST MCTR_ANNOTATION_REPO_DIGEST

/* The command behind `mctr pull` and `mctr run --pull` (exported by the
 * image module; struct cli is in src/cli/cli.h). */
struct cli;
int mctr_pull_image(struct cli *cli, const char *ref, const struct pull_opts *o, struct mctr_err *err);

#endif
