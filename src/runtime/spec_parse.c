/* The `mctr run` option parsers that follow Docker's exactly: --memory sizes
 * (go-units RAMInBytes), --ulimit (go-units ParseUlimit), -v (moby's linux
 * volume parser); and the lexical path cleaning they share with the spec
 * builder. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "spec_internal.h"

/* ---- paths ------------------------------------------------------------------- */

char *spec_path_clean(const char *abs_path)
{
	size_t len = 0;
	char *out = xmalloc(strlen(abs_path) + 2);
	out[len++] = '/';
	for (const char *s = abs_path; *s != '\0';) {
		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (len > 1 && out[len - 1] != '/')
				len--;
			if (len > 1)
				len--;
		} else if (!(n == 1 && s[0] == '.')) {
			if (len > 1)
				out[len++] = '/';
			memcpy(out + len, s, n);
			len += n;
		}
		s = e;
	}
	out[len] = '\0';
	return out;
}

int spec_path_depth(const char *clean)
{
	int n = 0;
	for (; *clean != '\0'; clean++)
		n += *clean == '/';
	return n;
}

/* ---- sizes ---------------------------------------------------------------------- */

/* The number part of a size: digits with an optional fraction ("1.5",
 * ".5", "5."), as strconv.ParseFloat reads them minus exponents and
 * specials.  Fraction digits past the 18th cannot change the byte count and
 * are dropped. */
static int parse_decimal(const char *s, size_t len, unsigned __int128 *whole, unsigned __int128 *frac,
                         unsigned __int128 *frac_div)
{
	size_t i = 0, digits = 0;
	*whole = 0;
	*frac = 0;
	*frac_div = 1;
	if (i < len && s[i] == '+')
		i++;
	for (; i < len && isdigit((unsigned char)s[i]); i++, digits++) {
		*whole = *whole * 10 + (unsigned)(s[i] - '0');
		if (*whole > (unsigned __int128)INT64_MAX)
			return -ERANGE;
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && isdigit((unsigned char)s[i]); i++, digits++) {
			if (*frac_div < (unsigned __int128)1000000000000000000ULL) {
				*frac = *frac * 10 + (unsigned)(s[i] - '0');
				*frac_div *= 10;
			}
		}
	}
	return digits > 0 && i == len ? 0 : -EINVAL;
}

/* The unit after the number: "", b, k|kb|kib, m|mb|mib, ... (case-insensitive). */
static int parse_unit(const char *sfx, unsigned __int128 *mult)
{
	static const char units[] = "kmgtp";
	size_t n = strlen(sfx);
	*mult = 1;
	if (n == 0)
		return 0;
	if (n > 3)
		return -1;
	char c = (char)tolower((unsigned char)sfx[0]);
	if (c == 'b')
		return n == 1 ? 0 : -1;
	const char *u = strchr(units, c);
	if (u == NULL)
		return -1;
	if (n == 2 && tolower((unsigned char)sfx[1]) != 'b')
		return -1;
	if (n == 3 && (tolower((unsigned char)sfx[1]) != 'i' || tolower((unsigned char)sfx[2]) != 'b'))
		return -1;
	*mult = (unsigned __int128)1 << (10 * (u - units + 1));
	return 0;
}

int spec_parse_size(const char *s, int64_t *bytes, struct mctr_err *err)
{
	/* go-units: the number ends at the last digit, '.' or ' '; one space may
	 * separate it from the unit. */
	const char *sep = NULL;
	for (const char *p = s; *p != '\0'; p++)
		if (isdigit((unsigned char)*p) || *p == '.' || *p == ' ')
			sep = p;
	if (sep == NULL)
		return mctr_fail(err, 0, "invalid size \"%s\"", s);
	size_t num_len = (size_t)(sep - s) + (*sep == ' ' ? 0 : 1);
	const char *sfx = sep + 1;
	if (s[0] == '-')
		return mctr_fail(err, 0, "invalid size \"%s\": sizes cannot be negative", s);
	unsigned __int128 whole, frac, frac_div, mult;
	int r = parse_decimal(s, num_len, &whole, &frac, &frac_div);
	if (r == -ERANGE)
		return mctr_fail(err, 0, "size \"%s\" is too large", s);
	if (r < 0)
		return mctr_fail(err, 0, "invalid size \"%s\"", s);
	if (parse_unit(sfx, &mult) < 0)
		return mctr_fail(err, 0, "invalid size \"%s\": unknown unit \"%s\" (b, k, m, g, t or p)", s, sfx);
	unsigned __int128 total = whole * mult + frac * mult / frac_div;
	if (total > (unsigned __int128)INT64_MAX)
		return mctr_fail(err, 0, "size \"%s\" is too large", s);
	*bytes = (int64_t)total;
	return 0;
}

/* ---- ulimits ---------------------------------------------------------------------- */

static const struct {
	const char *name;
	int resource;
	const char *type;
} ulimit_names[] = {
	{ "core", RLIMIT_CORE, "RLIMIT_CORE" },
	{ "cpu", RLIMIT_CPU, "RLIMIT_CPU" },
	{ "data", RLIMIT_DATA, "RLIMIT_DATA" },
	{ "fsize", RLIMIT_FSIZE, "RLIMIT_FSIZE" },
	{ "locks", RLIMIT_LOCKS, "RLIMIT_LOCKS" },
	{ "memlock", RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK" },
	{ "msgqueue", RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE" },
	{ "nice", RLIMIT_NICE, "RLIMIT_NICE" },
	{ "nofile", RLIMIT_NOFILE, "RLIMIT_NOFILE" },
	{ "nproc", RLIMIT_NPROC, "RLIMIT_NPROC" },
	{ "rss", RLIMIT_RSS, "RLIMIT_RSS" },
	{ "rtprio", RLIMIT_RTPRIO, "RLIMIT_RTPRIO" },
	{ "rttime", RLIMIT_RTTIME, "RLIMIT_RTTIME" },
	{ "sigpending", RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING" },
	{ "stack", RLIMIT_STACK, "RLIMIT_STACK" },
};
#define N_ULIMIT_NAMES (sizeof ulimit_names / sizeof ulimit_names[0])

const char *spec_rlimit_type(int resource)
{
	for (size_t i = 0; i < N_ULIMIT_NAMES; i++)
		if (ulimit_names[i].resource == resource)
			return ulimit_names[i].type;
	return NULL;
}

/* One limit value: a decimal int64, where -1 means unlimited (Docker turns
 * it into uint64(-1) = RLIM_INFINITY); other negative values are refused. */
static int parse_limit(const char *text, const char *s, size_t len, uint64_t *out, struct mctr_err *err)
{
	if (len == 2 && s[0] == '-' && s[1] == '1') {
		*out = RLIM_INFINITY;
		return 0;
	}
	uint64_t v = 0;
	size_t i = s[0] == '+' ? 1 : 0;
	if (i == len)
		return mctr_fail(err, 0, "ulimit %s: invalid value \"%.*s\"", text, (int)len, s);
	for (; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return mctr_fail(err, 0, "ulimit %s: invalid value \"%.*s\" (a number, or -1 for unlimited)",
			                 text, (int)len, s);
		uint64_t digit = (uint64_t)(s[i] - '0');
		if (v > ((uint64_t)INT64_MAX - digit) / 10)
			return mctr_fail(err, 0, "ulimit %s: value \"%.*s\" is out of range", text, (int)len, s);
		v = v * 10 + digit;
	}
	*out = v;
	return 0;
}

static void format_limit(uint64_t v, char buf[32])
{
	if (v == RLIM_INFINITY)
		snprintf(buf, 32, "unlimited");
	else
		snprintf(buf, 32, "%" PRIu64, v);
}

int spec_ulimit_check_host(const char *text, const struct spec_ulimit *u, bool can_raise, uint64_t host_hard,
                           uint64_t nr_open, struct mctr_err *err)
{
	char buf[32];
	/* The runtime sets rlimits in the container's init with the caller's
	 * privileges: an unprivileged one can only lower its hard limits. */
	if (u->hard > host_hard && !can_raise) {
		format_limit(host_hard, buf);
		return mctr_fail(err, 0, "ulimit %s: above the host's hard limit %s "
		                 "(raising it needs CAP_SYS_RESOURCE)", text, buf);
	}
	/* Not even CAP_SYS_RESOURCE raises RLIMIT_NOFILE above fs.nr_open. */
	if (u->resource == RLIMIT_NOFILE && nr_open > 0 && u->hard > nr_open)
		return mctr_fail(err, 0, "ulimit %s: above the kernel's limit of %" PRIu64 " open files "
		                 "(fs.nr_open)", text, nr_open);
	return 0;
}

static bool have_cap_sys_resource(void)
{
	cap_t cur = cap_get_proc();
	if (cur == NULL)
		return false;
	cap_flag_value_t v = CAP_CLEAR;
	bool set = cap_get_flag(cur, CAP_SYS_RESOURCE, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET;
	cap_free(cur);
	return set;
}

static uint64_t read_nr_open(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	uint64_t v = 0;
	if (f == NULL || fscanf(f, "%" SCNu64, &v) != 1)
		return 0;
	return v;
}

int spec_parse_ulimit(const char *s, struct spec_ulimit *out, struct mctr_err *err)
{
	const char *eq = strchr(s, '=');
	if (eq == NULL)
		return mctr_fail(err, 0, "invalid ulimit argument \"%s\" (expected NAME=SOFT[:HARD])", s);
	size_t k = 0;
	while (k < N_ULIMIT_NAMES && (strlen(ulimit_names[k].name) != (size_t)(eq - s) ||
	                              strncmp(ulimit_names[k].name, s, (size_t)(eq - s)) != 0))
		k++;
	if (k == N_ULIMIT_NAMES)
		return mctr_fail(err, 0, "invalid ulimit type \"%.*s\" in \"%s\"", (int)(eq - s), s, s);
	const char *vals = eq + 1, *colon = strchr(vals, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return mctr_fail(err, 0, "ulimit %s: too many values, can only have up to two, soft[:hard]", s);
	struct spec_ulimit u = { .resource = ulimit_names[k].resource };
	size_t soft_len = colon != NULL ? (size_t)(colon - vals) : strlen(vals);
	if (parse_limit(s, vals, soft_len, &u.soft, err) < 0)
		return -1;
	u.hard = u.soft;
	if (colon != NULL && parse_limit(s, colon + 1, strlen(colon + 1), &u.hard, err) < 0)
		return -1;
	if (u.soft > u.hard)
		return mctr_fail(err, 0, "ulimit %s: the soft limit must be less than or equal to the hard limit",
		                 s);
	struct rlimit rl;
	if (getrlimit(u.resource, &rl) < 0)
		return mctr_fail_errno(err, "ulimit %s: getrlimit", s);
	if (spec_ulimit_check_host(s, &u, have_cap_sys_resource(), rl.rlim_max,
	                           u.resource == RLIMIT_NOFILE ? read_nr_open() : 0, err) < 0)
		return -1;
	*out = u;
	return 0;
}

/* ---- volumes ------------------------------------------------------------------------ */

enum mode_class { MODE_RW, MODE_LABEL, MODE_PROPAGATION, MODE_COPY, MODE_CONSISTENCY, N_MODE_CLASSES };

static const struct {
	const char *name;
	enum mode_class cls;
} volume_modes[] = {
	{ "rw", MODE_RW },           { "ro", MODE_RW },
	{ "z", MODE_LABEL },         { "Z", MODE_LABEL },
	{ "private", MODE_PROPAGATION }, { "rprivate", MODE_PROPAGATION },
	{ "shared", MODE_PROPAGATION },  { "rshared", MODE_PROPAGATION },
	{ "slave", MODE_PROPAGATION },   { "rslave", MODE_PROPAGATION },
	{ "nocopy", MODE_COPY },
	{ "consistent", MODE_CONSISTENCY }, { "cached", MODE_CONSISTENCY }, { "delegated", MODE_CONSISTENCY },
};
#define N_VOLUME_MODES (sizeof volume_modes / sizeof volume_modes[0])

/* moby linuxValidMountMode(): every word known, at most one per class.  On
 * success *readonly and *propagation (a static string or NULL) are set. */
static bool volume_mode_valid(const char *mode, bool *readonly, const char **propagation)
{
	int count[N_MODE_CLASSES] = { 0 };
	*readonly = false;
	*propagation = NULL;
	if (mode == NULL || mode[0] == '\0')
		return true;
	for (const char *w = mode;; w++) {
		const char *e = strchrnul(w, ',');
		size_t len = (size_t)(e - w), k = 0;
		while (k < N_VOLUME_MODES && (strlen(volume_modes[k].name) != len ||
		                              strncmp(volume_modes[k].name, w, len) != 0))
			k++;
		if (k == N_VOLUME_MODES || ++count[volume_modes[k].cls] > 1)
			return false;
		if (strcmp(volume_modes[k].name, "ro") == 0)
			*readonly = true;
		if (volume_modes[k].cls == MODE_PROPAGATION)
			*propagation = volume_modes[k].name;
		if (*e == '\0')
			return true;
		w = e;
	}
}

void spec_volume_free(struct spec_volume *v)
{
	if (v == NULL)
		return;
	free(v->source);
	free(v->destination);
	v->source = v->destination = NULL;
}

int spec_parse_volume(const char *s, struct spec_volume *out, struct mctr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *part[4] = { NULL };
	int n = 0;
	/* strings.SplitN(raw, ":", 4) */
	for (char *p = copy; n < 4; n++) {
		part[n] = p;
		char *c = n < 3 ? strchr(p, ':') : NULL;
		if (c == NULL) {
			n++;
			break;
		}
		*c = '\0';
		p = c + 1;
	}
	if (part[0][0] == '\0' || n == 4)
		return mctr_fail(err, 0, "invalid volume specification: '%s'", s);
	if (n == 1)
		return mctr_fail(err, 0, "invalid volume specification: '%s': anonymous volumes are not "
		                 "supported (use -v HOST_DIR:%s)", s, s);
	bool readonly;
	const char *propagation;
	/* "/foo:rw" is a destination with a mode, which a volume cannot have. */
	if (n == 2 && volume_mode_valid(part[1], &readonly, &propagation))
		return mctr_fail(err, 0, "invalid volume specification: '%s'", s);
	if (!volume_mode_valid(n == 3 ? part[2] : NULL, &readonly, &propagation))
		return mctr_fail(err, 0, "invalid volume specification: '%s': invalid mode: %s", s, part[2]);
	if (part[0][0] != '/')
		return mctr_fail(err, 0, "invalid volume specification: '%s': named volumes are not "
		                 "supported (the host path must be absolute)", s);
	if (part[1][0] != '/')
		return mctr_fail(err, 0, "invalid volume specification: '%s': mount path '%s' must be absolute",
		                 s, part[1]);
	_cleanup_free_ char *dest = spec_path_clean(part[1]);
	if (strcmp(dest, "/") == 0)
		return mctr_fail(err, 0, "invalid volume specification: '%s': destination can't be '/'", s);
	out->source = spec_path_clean(part[0]);
	out->destination = steal_pointer(&dest);
	out->readonly = readonly;
	out->propagation = propagation;
	return 0;
}
