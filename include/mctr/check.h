/* `mctr system check`: verify the store (image module: it hashes). */
#ifndef MCTR_CHECK_H
#define MCTR_CHECK_H

#include <stdbool.h>

#include "mctr/err.h"
#include "mctr/report.h"
#include "mctr/store.h"

struct store_check {
	bool repair;
	struct mctr_report problems; /* one line per problem, counted */
	/* results */
	unsigned blobs_checked;
	unsigned images_checked;
	unsigned repaired;
};

/* Re-hash every blob, check every image's blobs and layers; with repair,
 * remove damage, re-unpack missing layers from intact blobs, drop images
 * that cannot be whole, then collect garbage. */
int store_check(struct store *st, struct store_check *c, struct mctr_err *err);

#endif
