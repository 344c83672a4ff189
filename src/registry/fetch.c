/* Parallel blob downloads on one curl multi handle.
 *
 * Each transfer writes into its sink; a sink with no room (its unpacker is
 * behind) makes the write callback return CURL_WRITEFUNC_PAUSE without
 * taking the bytes, and the transfer is resumed when room() says so: the
 * network never runs ahead of extraction by more than the unpacker's
 * buffer.  A transfer that breaks (connection reset, timeout, 429, 5xx) is
 * retried with backoff from where the sink stands, with a Range request; a
 * 401 (or 403, as an expired CDN URL gives) renews the token once. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/log.h"
#include "mctr/timeutil.h"

#define BUFFER_SIZE (256L << 10)
/* While a transfer is paused its socket is not watched: look again this often. */
#define PAUSED_POLL_MS 2

struct xfer {
	struct registry_fetcher *f;
	char digest[DIGEST_LEN + 1];
	int64_t size;
	const struct registry_blob_sink *sink;
	void *arg;

	CURL *h;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	struct reg_http_resp resp; /* headers; the body of an error answer */
	int64_t requested_from;
	bool body_started;
	bool paused;
	bool sink_failed;
	struct mctr_err sink_err;

	int attempt;
	bool renewed;
	bool waiting;      /* for retry_at */
	long long retry_at; /* ms, monotonic */
};

struct registry_fetcher {
	struct registry_client *c;
	CURLM *m;
	struct xfer **v;
	size_t n;
};

int registry_fetcher_new(struct registry_client *c, struct registry_fetcher **out, struct mctr_err *err)
{
	struct registry_fetcher *f = xcalloc(1, sizeof *f);
	f->c = c;
	f->m = curl_multi_init();
	if (f->m == NULL) {
		free(f);
		return mctr_fail(err, 0, "libcurl: cannot create a multi handle");
	}
	*out = f;
	return 0;
}

static void xfer_stop(struct xfer *x)
{
	if (x->h != NULL) {
		curl_multi_remove_handle(x->f->m, x->h);
		curl_easy_cleanup(x->h);
		x->h = NULL;
	}
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	reg_http_resp_clear(&x->resp);
}

static void xfer_free(struct xfer *x)
{
	xfer_stop(x);
	free(x);
}

void registry_fetcher_free(struct registry_fetcher *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++)
		xfer_free(f->v[i]);
	free(f->v);
	curl_multi_cleanup(f->m);
	free(f);
}

unsigned registry_fetcher_active(const struct registry_fetcher *f)
{
	return (unsigned)f->n;
}

/* ---- the write side ------------------------------------------------------------ */

/* "bytes START-END/TOTAL" must start where we asked. */
static int check_range(struct xfer *x, struct mctr_err *err)
{
	const char *cr = x->resp.content_range;
	long long start = -1;
	if (cr == NULL || sscanf(cr, "bytes %lld-", &start) != 1 || start != x->requested_from)
		return mctr_fail(err, 0, "%s: blob %s: partial answer from byte %lld, asked for byte %lld",
		                 registry_client_host(x->f->c), x->digest, start, (long long)x->requested_from);
	return 0;
}

static size_t xfer_write(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	long status = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 300 && status < 400)
		return len; /* the body of a redirect being followed */
	if (status != 200 && status != 206) {
		/* an error answer: keep (a bounded part of) its body for the message */
		size_t room = REG_ERROR_BODY_MAX - x->resp.len;
		size_t k = len < room ? len : room;
		x->resp.body = xrealloc(x->resp.body, x->resp.len + k + 1);
		memcpy(x->resp.body + x->resp.len, buf, k);
		x->resp.len += k;
		x->resp.body[x->resp.len] = '\0';
		return len;
	}
	if (!x->body_started) {
		x->body_started = true;
		if (status == 206 && check_range(x, &x->sink_err) < 0)
			goto failed;
		if (status == 200 && x->sink->have(x->arg) > 0) {
			mctr_debug("blob %s: the server ignored the Range request; starting over", x->digest);
			if (x->sink->restart(x->arg, &x->sink_err) < 0)
				goto failed;
		}
	}
	int r = x->sink->data(x->arg, buf, len, &x->sink_err);
	if (r == 1) {
		x->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (r == 0)
		return len;
failed:
	x->sink_failed = true;
	return 0;
}

/* ---- requests ------------------------------------------------------------------------ */

static int xfer_start(struct xfer *x, struct mctr_err *err)
{
	struct registry_client *c = x->f->c;
	xfer_stop(x);
	x->body_started = x->paused = x->waiting = false;
	x->errbuf[0] = '\0';
	x->requested_from = x->sink->have(x->arg);
	x->attempt++;
	_cleanup_free_ char *url = reg_client_blob_url(c, x->digest);
	char *auth = NULL;
	if (reg_client_auth(c, &auth, err) < 0)
		return -1;
	x->h = curl_easy_init();
	if (x->h == NULL) {
		free(auth);
		return mctr_fail(err, 0, "libcurl: cannot create a handle");
	}
	int rc = reg_http_setup(c, x->h, reg_client_endpoint(c), url, &x->headers, auth, NULL, err);
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (rc < 0)
		return -1;
	char range[64];
	snprintf(range, sizeof range, "%" PRId64 "-", x->requested_from);
	x->resp.max = REG_ERROR_BODY_MAX;
	if ((x->requested_from > 0 && curl_easy_setopt(x->h, CURLOPT_RANGE, range) != CURLE_OK) ||
	    curl_easy_setopt(x->h, CURLOPT_BUFFERSIZE, BUFFER_SIZE) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, xfer_write) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, reg_http_header_cb) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_HEADERDATA, &x->resp) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_PRIVATE, x) != CURLE_OK)
		return mctr_fail(err, 0, "libcurl: cannot set up a blob request");
	mctr_debug("GET %s%s%s", url, x->requested_from > 0 ? " Range: bytes=" : "",
	           x->requested_from > 0 ? range : "");
	CURLMcode mc = curl_multi_add_handle(x->f->m, x->h);
	if (mc != CURLM_OK)
		return mctr_fail(err, 0, "libcurl: %s", curl_multi_strerror(mc));
	return 0;
}

int registry_fetcher_add(struct registry_fetcher *f, const char *digest, int64_t size,
                         const struct registry_blob_sink *sink, void *arg, struct mctr_err *err)
{
	struct xfer *x = xcalloc(1, sizeof *x);
	x->f = f;
	snprintf(x->digest, sizeof x->digest, "%s", digest);
	x->size = size;
	x->sink = sink;
	x->arg = arg;
	if (xfer_start(x, err) < 0) {
		xfer_free(x);
		return -1;
	}
	f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
	f->v[f->n++] = x;
	return 0;
}

static void xfer_retry_later(struct xfer *x, long delay_ms)
{
	xfer_stop(x);
	x->waiting = true;
	x->retry_at = monotonic_ms() + delay_ms;
}

/* The transfer is over for good: tell the sink, forget it. */
static void xfer_finish(struct registry_fetcher *f, struct xfer *x, int rc, const struct mctr_err *err)
{
	xfer_stop(x);
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i] == x) {
			memmove(&f->v[i], &f->v[i + 1], (f->n - i - 1) * sizeof *f->v);
			f->n--;
			break;
		}
	x->sink->done(x->arg, rc, err);
	free(x);
}

static void xfer_fail(struct registry_fetcher *f, struct xfer *x, struct mctr_err *err)
{
	xfer_finish(f, x, -1, err);
}

/* A transfer ended (CURLMSG_DONE): done, retried, or failed. */
static void xfer_ended(struct registry_fetcher *f, struct xfer *x, CURLcode rc)
{
	struct mctr_err err = { 0 };
	const char *host = registry_client_host(f->c);
	long status = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	char *eff = NULL;
	if (curl_easy_getinfo(x->h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff != NULL)
		x->resp.effective_host = reg_url_host(eff);
	bool more = x->attempt < REGISTRY_MAX_ATTEMPTS;
	if (x->sink_failed) {
		xfer_fail(f, x, &x->sink_err);
		return;
	}
	if (rc != CURLE_OK) {
		reg_curl_fail(rc, x->errbuf, host, &err);
		mctr_err_wrap(&err, "blob %s", x->digest);
		if (reg_curl_transient(rc) && more) {
			mctr_info("%s; retrying", err.msg);
			xfer_retry_later(x, reg_backoff(x->attempt, -1));
			return;
		}
		xfer_fail(f, x, &err);
		return;
	}
	if (status == 200 || status == 206) {
		int64_t have = x->sink->have(x->arg);
		if (have >= x->size) {
			xfer_finish(f, x, 0, NULL);
			return;
		}
		/* the connection ended early without an error: resume */
		mctr_fail(&err, 0, "%s: blob %s: the answer ended after %lld of %lld bytes", host, x->digest,
		          (long long)have, (long long)x->size);
		if (more) {
			mctr_info("%s; retrying", err.msg);
			xfer_retry_later(x, reg_backoff(x->attempt, -1));
		} else {
			xfer_fail(f, x, &err);
		}
		return;
	}
	/* 401: the token expired.  403 after a redirect: a signed CDN URL
	 * expired.  Either way, once more from the registry with a new token. */
	if ((status == 401 || status == 403) && !x->renewed) {
		x->renewed = true;
		reg_client_auth_failed(f->c, &x->resp);
		xfer_retry_later(x, 0);
		return;
	}
	if (status == 416 && x->requested_from > 0 && x->sink->restart(x->arg, &err) == 0 && more) {
		xfer_retry_later(x, 0);
		return;
	}
	long wait = reg_retry_delay(x->attempt, status, x->resp.retry_after);
	if (wait >= 0) {
		mctr_info("%s: blob %s: HTTP %ld; retrying", host, x->digest, status);
		xfer_retry_later(x, wait);
		return;
	}
	long ra = registry_parse_retry_after(x->resp.retry_after, time(NULL));
	_cleanup_free_ char *text = registry_error_text(status, x->resp.body, x->resp.len);
	if (status == 429 && ra >= 0)
		mctr_fail(&err, 0, "%s: blob %s: rate limited (%s); retry after %ld s", host, x->digest, text, ra);
	else
		mctr_fail(&err, 0, "%s: blob %s: %s", host, x->digest, text);
	xfer_fail(f, x, &err);
}

/* Handle the transfers curl reports ended; how many. */
static int collect_done(struct registry_fetcher *f)
{
	CURLMsg *msg;
	int left, n = 0;
	while ((msg = curl_multi_info_read(f->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			xfer_ended(f, x, msg->data.result);
		n++;
	}
	return n;
}

int registry_fetcher_run(struct registry_fetcher *f, int timeout_ms, struct mctr_err *err)
{
	long long now = monotonic_ms();
	bool any_paused = false;
	long long next_retry = -1;
	/* Copy: xfer_fail and done() may change f->v. */
	size_t n = f->n;
	_cleanup_free_ struct xfer **v = xmalloc((n + 1) * sizeof *v);
	memcpy(v, f->v, n * sizeof *v);
	for (size_t i = 0; i < n; i++) {
		struct xfer *x = v[i];
		if (x->waiting && x->retry_at <= now) {
			struct mctr_err e = { 0 };
			if (xfer_start(x, &e) < 0)
				xfer_fail(f, x, &e);
			continue;
		}
		if (x->waiting) {
			if (next_retry < 0 || x->retry_at < next_retry)
				next_retry = x->retry_at;
			continue;
		}
		if (x->paused && x->sink->room(x->arg)) {
			x->paused = false;
			/* the data curl held back may end the transfer, which only
			 * a later perform notices: do not sleep long before it */
			any_paused = true;
			/* may call xfer_write at once, which may pause again */
			curl_easy_pause(x->h, CURLPAUSE_CONT);
		}
		any_paused |= x->paused;
	}
	int running = 0;
	CURLMcode mc = curl_multi_perform(f->m, &running);
	/* Transfers that ended in that perform are handled before any wait. */
	if (mc == CURLM_OK && collect_done(f) > 0)
		return (int)f->n;
	/* A transfer paused in that perform is not polled: come back soon. */
	for (size_t i = 0; i < f->n; i++)
		any_paused |= f->v[i]->paused;
	if (mc == CURLM_OK) {
		int t = timeout_ms;
		if (any_paused && t > PAUSED_POLL_MS)
			t = PAUSED_POLL_MS;
		if (next_retry >= 0 && next_retry - now < t)
			t = next_retry > now ? (int)(next_retry - now) : 0;
		mc = curl_multi_poll(f->m, NULL, 0, t, NULL);
	}
	if (mc == CURLM_OK)
		mc = curl_multi_perform(f->m, &running);
	if (mc != CURLM_OK)
		return mctr_fail(err, 0, "libcurl: %s", curl_multi_strerror(mc));
	collect_done(f);
	return (int)f->n;
}
