/* Shared CLI plumbing: store opening, option parsing, module loading, and
 * the human formats of sizes and times. */
#include "cli.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mctr/container.h"
#include "mctr/fsutil.h"

int cli_store(struct cli *cli, struct store **out, struct mctr_err *err)
{
	if (cli->store == NULL && store_open(cli->root, &cli->store, err) < 0)
		return -1;
	*out = cli->store;
	return 0;
}

int cli_ctr_store(struct cli *cli, struct ctr_store **out, struct mctr_err *err)
{
	struct store *st;
	if (cli->ctrs == NULL && (cli_store(cli, &st, err) < 0 || ctr_store_open(cli->root, st->root_fd, &cli->ctrs, err) < 0))
		return -1;
	*out = cli->ctrs;
	return 0;
}

void cli_close(struct cli *cli)
{
	ctr_store_close(cli->ctrs);
	store_close(cli->store);
	cli->ctrs = NULL;
	cli->store = NULL;
}

/* What the last '?' of cli_getopt was about, for cli_bad_option. */
static char bad_option[256];

int cli_getopt(int argc, char **argv, const struct cli_opts *o)
{
	static const struct option none[] = { { 0 } };
	const struct option *lo = o->longopts ? o->longopts : none;
	size_t n = 0;
	while (lo[n].name != NULL)
		n++;
	struct option all[n + 2];
	memcpy(all, lo, n * sizeof *lo);
	all[n] = (struct option){ "help", no_argument, NULL, CLI_HELP };
	all[n + 1] = (struct option){ 0 };
	char shortopts[128];
	const char *own = o->shortopts ? o->shortopts : "";
	bool h_is_help = strchr(own, 'h') == NULL;
	bad_option[0] = '\0';
	snprintf(shortopts, sizeof shortopts, "+:%s%s", h_is_help ? "h" : "", own);
	int c = getopt_long(argc, argv, shortopts, all, NULL);
	if (c == 'h' && h_is_help)
		c = CLI_HELP;
	if (c == CLI_HELP) {
		fputs(o->usage, stdout);
	} else if (c == ':') {
		snprintf(bad_option, sizeof bad_option, "%s: option %s needs a value (see --help)", argv[0],
		         argv[optind - 1]);
		c = '?';
	} else if (c == '?') {
		if (optopt != 0)
			snprintf(bad_option, sizeof bad_option, "%s: unknown option -%c (see --help)", argv[0], optopt);
		else
			snprintf(bad_option, sizeof bad_option, "%s: unknown option %s (see --help)", argv[0],
			         argv[optind - 1]);
	}
	return c;
}

int cli_bad_option(struct mctr_err *err)
{
	return mctr_fail(err, 0, "%s", bad_option[0] ? bad_option : "bad option (see --help)");
}

int cli_want_operands(int argc, int optind_, int min, int max, const char *usage, struct mctr_err *err)
{
	int n = argc - optind_;
	if (n < min || (max >= 0 && n > max)) {
		const char *end = strchr(usage, '\n');
		int len = end ? (int)(end - usage) : (int)strlen(usage);
		return mctr_fail(err, 0, "wrong number of arguments (%.*s)", len, usage);
	}
	return 0;
}

/* The modules, in load order: the image module (libarchive, libcrypto, ...)
 * and the registry module (libcurl), which builds on the image module's
 * import pipeline, so the image module is loaded first and globally. */
static const char *const module_files[] = { "mctr-image.so", "mctr-registry.so" };
static void *module_handles[2];

static void *module_open(size_t which, struct mctr_err *err)
{
	if (module_handles[which] != NULL)
		return module_handles[which];
	if (which > 0 && module_open(which - 1, err) == NULL)
		return NULL;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char candidates[2][PATH_MAX + 32];
	int k = 0;
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL)
			*slash = '\0';
		snprintf(candidates[k++], sizeof candidates[0], "%s/%s", exe, module_files[which]);
	}
	snprintf(candidates[k++], sizeof candidates[0], "%s/%s", MCTR_MODULE_DIR, module_files[which]);
	const char *last = NULL;
	for (int i = 0; i < k; i++) {
		if (access(candidates[i], R_OK) != 0)
			continue;
		module_handles[which] = dlopen(candidates[i], RTLD_NOW | RTLD_GLOBAL);
		if (module_handles[which] != NULL)
			return module_handles[which];
		last = dlerror();
	}
	mctr_fail(err, 0, "cannot load the module %s (looked next to the binary and in %s)%s%s",
	          module_files[which], MCTR_MODULE_DIR, last ? ": " : "", last ? last : "");
	return NULL;
}

void *cli_module_symbol(const char *symbol, struct mctr_err *err)
{
	/* Commands that need libcurl live in the second module. */
	for (size_t i = 0; i < sizeof module_files / sizeof *module_files; i++) {
		void *h = module_open(i, err);
		if (h == NULL)
			return NULL;
		void *sym = dlsym(h, symbol);
		if (sym != NULL)
			return sym;
	}
	mctr_fail(err, 0, "no module has %s", symbol);
	return NULL;
}

cli_cmd_fn cli_module_command(const char *symbol, struct mctr_err *err)
{
	void *sym = cli_module_symbol(symbol, err);
	cli_cmd_fn fn = NULL;
	if (sym != NULL)
		memcpy(&fn, &sym, sizeof fn); /* object to function pointer, the POSIX way */
	return fn;
}

int cli_for_each_operand(struct cli *cli, int argc, char **argv, cli_operand_fn fn, void *arg, struct mctr_err *err)
{
	int rc = 0;
	struct mctr_err first = { 0 };
	for (int i = optind; i < argc; i++) {
		if (fn(cli, argv[i], arg, err) == 0)
			continue;
		if (rc == 0)
			first = *err;
		else
			fprintf(stderr, "mctr: %s\n", err->msg);
		rc = -1;
		mctr_err_clear(err);
	}
	if (rc < 0)
		*err = first;
	return rc;
}

int cli_parse_format(const char *value, bool *json, struct mctr_err *err)
{
	if (strcmp(value, "json") != 0)
		return mctr_fail(err, 0, "unsupported --format \"%s\" (only json)", value);
	*json = true;
	return 0;
}

void cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(4));
	printf("%s\n", s ? s : "null");
	free(s);
}

void cli_format_size(double bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	int u = 0;
	while (bytes >= 1000 && u < 4) {
		bytes /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f%s", bytes, units[u]);
	else
		snprintf(buf, len, "%.3g%s", bytes, units[u]);
}

void cli_format_ago(long long then, char *buf, size_t len)
{
	if (then <= 0) {
		snprintf(buf, len, "N/A");
		return;
	}
	long long d = (long long)time(NULL) - then;
	if (d < 0)
		d = 0;
	struct {
		long long secs;
		const char *unit;
	} steps[] = { { 365LL * 86400, "year" }, { 30LL * 86400, "month" }, { 7 * 86400, "week" },
		      { 86400, "day" }, { 3600, "hour" }, { 60, "minute" }, { 1, "second" } };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		long long v = d / steps[i].secs;
		if (v >= 1 || steps[i].secs == 1) {
			if (v <= 1 && steps[i].secs == 1)
				snprintf(buf, len, "Less than a second ago");
			else if (v == 1)
				snprintf(buf, len, "1 %s ago", steps[i].unit);
			else
				snprintf(buf, len, "%lld %ss ago", v, steps[i].unit);
			return;
		}
	}
}
