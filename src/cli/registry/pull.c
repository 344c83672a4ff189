/* mctr pull (and the pull of `mctr run --pull`): progress as Docker shows
 * it.  On a terminal one line per layer is redrawn in place (state, bytes,
 * rate); otherwise one line per event; -q prints only the name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/pull.h"
#include "mctr/ref.h"

static const char usage[] = "Usage: mctr pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
                            "Download an image from a registry.  Short names (alpine) come from Docker Hub\n"
                            "(or its mirrors in /etc/mctr/config.json).\n\n"
                            "Options:\n"
                            "      --platform OS/ARCH[/VARIANT]  the platform of a multi-platform image\n"
                            "                                    (default: this host's)\n"
                            "      --creds USER:PASSWORD         credentials (default: ~/.docker/config.json)\n"
                            "      --tls-verify=false            do not verify TLS; allow plain HTTP\n"
                            "  -q, --quiet                       print only the image name\n";

/* ---- the progress view ---------------------------------------------------------- */

struct view_layer {
	char id[16];
	struct pull_layer_progress pr;
	bool seen;
};

struct view {
	FILE *out;
	bool tty;
	bool quiet;
	struct view_layer *layers;
	size_t n;
	size_t drawn; /* lines of the table on screen */
};

static const char *state_text(enum pull_layer_state s)
{
	switch (s) {
	case PULL_LAYER_WAITING:
		return "Waiting";
	case PULL_LAYER_DOWNLOADING:
		return "Downloading";
	case PULL_LAYER_VERIFYING:
		return "Verifying Checksum";
	case PULL_LAYER_EXTRACTING:
		return "Extracting";
	case PULL_LAYER_DONE:
		return "Pull complete";
	case PULL_LAYER_EXISTS:
		return "Already exists";
	}
	return "?";
}

static struct view_layer *view_layer(struct view *v, const struct pull_layer_progress *p)
{
	if (p->index >= v->n) {
		v->layers = xrealloc(v->layers, (p->index + 1) * sizeof *v->layers);
		memset(v->layers + v->n, 0, (p->index + 1 - v->n) * sizeof *v->layers);
		v->n = p->index + 1;
	}
	struct view_layer *l = &v->layers[p->index];
	snprintf(l->id, sizeof l->id, "%.12s", p->digest + DIGEST_PREFIX_LEN);
	return l;
}

static void draw_line(struct view *v, const struct view_layer *l)
{
	char done[32], size[32], rate[32];
	fprintf(v->out, "\033[2K%s: %-18s", l->id, state_text(l->pr.state));
	if (l->pr.state == PULL_LAYER_DOWNLOADING || l->pr.state == PULL_LAYER_VERIFYING) {
		cli_format_size((double)l->pr.done, done, sizeof done);
		cli_format_size((double)l->pr.size, size, sizeof size);
		enum { WIDTH = 30 };
		char bar[WIDTH + 1];
		int fill = l->pr.size > 0 ? (int)(WIDTH * l->pr.done / l->pr.size) : 0;
		for (int i = 0; i < WIDTH; i++)
			bar[i] = i < fill - 1 || fill == WIDTH ? '=' : i == fill - 1 ? '>' : ' ';
		bar[WIDTH] = '\0';
		fprintf(v->out, " [%s] %8s/%-8s", bar, done, size);
		if (l->pr.rate > 0) {
			cli_format_size(l->pr.rate, rate, sizeof rate);
			fprintf(v->out, " %s/s", rate);
		}
		if (l->pr.resumed_from > 0)
			fprintf(v->out, " (resumed)");
	}
	fputc('\n', v->out);
}

static void redraw(struct view *v)
{
	if (v->drawn > 0)
		fprintf(v->out, "\033[%zuA", v->drawn);
	v->drawn = 0;
	for (size_t i = 0; i < v->n; i++) {
		if (!v->layers[i].seen)
			continue;
		draw_line(v, &v->layers[i]);
		v->drawn++;
	}
	fflush(v->out);
}

static void on_resolved(void *arg, const char *tag_or_digest, const char *repository, size_t n_layers)
{
	struct view *v = arg;
	if (v->quiet)
		return;
	fprintf(v->out, "%s: Pulling from %s\n", tag_or_digest, repository);
	fflush(v->out);
}

static void on_layer(void *arg, const struct pull_layer_progress *p, bool state_changed)
{
	struct view *v = arg;
	if (v->quiet)
		return;
	struct view_layer *l = view_layer(v, p);
	bool first = !l->seen;
	l->seen = true;
	l->pr = *p;
	if (v->tty) {
		redraw(v);
		return;
	}
	if (!state_changed)
		return;
	if (first && p->state == PULL_LAYER_WAITING) {
		fprintf(v->out, "%s: Pulling fs layer\n", l->id);
	} else if (p->state == PULL_LAYER_DOWNLOADING && p->resumed_from > 0) {
		fprintf(v->out, "%s: Downloading (resuming at byte %lld of %lld)\n", l->id, (long long)p->resumed_from,
		        (long long)p->size);
	} else {
		fprintf(v->out, "%s: %s\n", l->id, state_text(p->state));
		if (p->state == PULL_LAYER_VERIFYING)
			fprintf(v->out, "%s: Download complete\n", l->id);
	}
	fflush(v->out);
}

/* ---- the command ------------------------------------------------------------------------ */

static bool has_tag_or_digest(const char *ref)
{
	const char *slash = strrchr(ref, '/');
	const char *last = slash ? slash + 1 : ref;
	return strchr(last, ':') != NULL || strchr(ref, '@') != NULL;
}

int mctr_pull_image(struct cli *cli, const char *ref, const struct pull_opts *o, struct mctr_err *err)
{
	struct store *st;
	if (cli_store(cli, &st, err) < 0)
		return -1;
	struct view v = { .out = o->out ? o->out : stdout, .quiet = o->quiet };
	v.tty = !v.quiet && isatty(fileno(v.out));
	if (!v.quiet && !has_tag_or_digest(ref))
		fprintf(v.out, "Using default tag: %s\n", REF_DEFAULT_TAG);
	struct pull_events ev = { .resolved = on_resolved, .layer = on_layer, .arg = &v };
	struct pull_result res;
	int rc = registry_pull(st, ref, o, &ev, &res, err);
	if (v.tty && v.drawn > 0)
		redraw(&v);
	free(v.layers);
	if (rc < 0)
		return -1;
	_cleanup_ref_ struct image_ref parsed = { 0 };
	_cleanup_free_ char *familiar = NULL;
	if (ref_parse(res.name, &parsed, NULL) == 0)
		familiar = ref_familiar(&parsed);
	if (!v.quiet) {
		fprintf(v.out, "Digest: %s\n", res.digest);
		fprintf(v.out, "Status: %s for %s\n", res.up_to_date ? "Image is up to date" : "Downloaded newer image",
		        familiar ? familiar : res.name);
	}
	fprintf(v.out, "%s\n", res.name);
	fflush(v.out);
	if (o->id_out != NULL)
		memcpy(o->id_out, res.id, DIGEST_LEN + 1);
	pull_result_clear(&res);
	return 0;
}

int cli_parse_tls_verify(const char *arg, bool *off, struct mctr_err *err)
{
	if (arg == NULL || strcmp(arg, "true") == 0 || strcmp(arg, "1") == 0) {
		*off = false;
		return 0;
	}
	if (strcmp(arg, "false") == 0 || strcmp(arg, "0") == 0) {
		*off = true;
		return 0;
	}
	return mctr_fail(err, 0, "invalid --tls-verify value \"%s\" (true or false)", arg);
}

int mctr_cmd_pull(struct cli *cli, int argc, char **argv, struct mctr_err *err)
{
	enum { OPT_PLATFORM = 0x100, OPT_CREDS, OPT_TLS_VERIFY };
	static const struct option longopts[] = {
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "creds", required_argument, NULL, OPT_CREDS },
		{ "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 },
	};
	struct cli_opts co = { usage, "q", longopts };
	struct pull_opts o = { 0 };
	int c;
	while ((c = cli_getopt(argc, argv, &co)) != -1) {
		switch (c) {
		case OPT_PLATFORM:
			o.platform = optarg;
			break;
		case OPT_CREDS:
			o.creds = optarg;
			break;
		case OPT_TLS_VERIFY:
			if (cli_parse_tls_verify(optarg, &o.tls_verify_off, err) < 0)
				return -1;
			break;
		case 'q':
			o.quiet = true;
			break;
			CLI_OPT_COMMON_CASES(err);
		}
	}
	if (cli_want_operands(argc, optind, 1, 1, usage, err) < 0)
		return -1;
	return mctr_pull_image(cli, argv[optind], &o, err);
}
