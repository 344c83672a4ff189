/* `mctr system check`: verify the store (image module: it hashes). */
#ifndef MCTR_CHECK_H
#define MCTR_CHECK_H

#include <stdbool.h>

#include "mctr/err.h"
#include "mctr/store.h"

struct store_check {
	bool repair;
	void (*on_problem)(void *arg, const char *line);
	void *arg;
	/* results */
	unsigned blobs_checked;
	unsigned images_checked;
	unsigned problems;
	unsigned repaired;
};

/* Re-hash every blob, check every image's blobs and layers; with repair,
 * remove damage, re-unpack missing layers from intact blobs, drop images
 * that cannot be whole, then collect garbage. */
int store_check(struct store *st, struct store_check *c, struct mctr_err *err);

#endif
