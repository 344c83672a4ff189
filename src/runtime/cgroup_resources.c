/* struct cgroup_resources: construction, validation, device rules and the
 * unit conversions between what users say (Docker/OCI) and what the v1 and
 * v2 knobs take. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_internal.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"

#define CPU_SHARES_MIN 2
#define CPU_SHARES_MAX 262144
#define CPU_WEIGHT_MAX 10000
#define CFS_PERIOD_DEFAULT 100000
#define CFS_QUOTA_MIN 1000
#define CFS_PERIOD_MIN 1000
#define CFS_PERIOD_MAX 1000000
#define NANOCPUS_PER_CPU INT64_C(1000000000)

void cgroup_resources_init(struct cgroup_resources *res)
{
	memset(res, 0, sizeof *res);
}

void cgroup_resources_free(struct cgroup_resources *res)
{
	if (res == NULL)
		return;
	free(res->cpuset_cpus);
	free(res->cpuset_mems);
	free(res->devices);
	cgroup_resources_init(res);
}

/* ---- device rules ------------------------------------------------------- */

static int validate_rule(const struct cgroup_device_rule *r, struct mctr_err *err)
{
	if (r->type != 'a' && r->type != 'c' && r->type != 'b')
		return mctr_fail(err, EINVAL, "device rule type '%c' is not one of a, c, b", r->type);
	if (r->major < CGROUP_DEV_ANY || r->minor < CGROUP_DEV_ANY || r->major > UINT32_MAX ||
	    r->minor > UINT32_MAX)
		return mctr_fail(err, EINVAL, "device rule %" PRId64 ":%" PRId64 " has an invalid number",
		                 r->major, r->minor);
	size_t len = strnlen(r->access, sizeof r->access);
	if (len == 0 || len == sizeof r->access)
		return mctr_fail(err, EINVAL, "device rule access must be a non-empty subset of rwm");
	for (size_t i = 0; i < len; i++) {
		if (strchr("rwm", r->access[i]) == NULL || memchr(r->access, r->access[i], i) != NULL)
			return mctr_fail(err, EINVAL, "device rule access \"%s\" is not a subset of rwm",
			                 r->access);
	}
	return 0;
}

int cgroup_resources_add_device(struct cgroup_resources *res, const struct cgroup_device_rule *rule,
                                struct mctr_err *err)
{
	if (validate_rule(rule, err) < 0)
		return -1;
	res->devices = xrealloc(res->devices, (res->n_devices + 1) * sizeof *res->devices);
	res->devices[res->n_devices++] = *rule;
	res->has_devices = true;
	return 0;
}

void cgroup_resources_set_default_devices(struct cgroup_resources *res)
{
	static const struct cgroup_device_rule defaults[] = {
		{ false, 'a', CGROUP_DEV_ANY, CGROUP_DEV_ANY, "rwm" },
		{ true, 'c', CGROUP_DEV_ANY, CGROUP_DEV_ANY, "m" },
		{ true, 'b', CGROUP_DEV_ANY, CGROUP_DEV_ANY, "m" },
		{ true, 'c', 1, 3, "rwm" },   /* null */
		{ true, 'c', 1, 5, "rwm" },   /* zero */
		{ true, 'c', 1, 7, "rwm" },   /* full */
		{ true, 'c', 1, 8, "rwm" },   /* random */
		{ true, 'c', 1, 9, "rwm" },   /* urandom */
		{ true, 'c', 5, 0, "rwm" },   /* tty */
		{ true, 'c', 5, 1, "rwm" },   /* console */
		{ true, 'c', 5, 2, "rwm" },   /* ptmx */
		{ true, 'c', 136, CGROUP_DEV_ANY, "rwm" }, /* pts/N */
	};
	free(res->devices);
	res->n_devices = sizeof defaults / sizeof defaults[0];
	res->devices = xmalloc(sizeof defaults);
	memcpy(res->devices, defaults, sizeof defaults);
	res->has_devices = true;
}

static int parse_dev_number(const char *s, size_t len, int64_t *out)
{
	if (len == 1 && s[0] == '*') {
		*out = CGROUP_DEV_ANY;
		return 0;
	}
	if (len == 0 || len > 10)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = v;
	return 0;
}

int cgroup_device_rule_parse(const char *text, bool allow, struct cgroup_device_rule *rule,
                             struct mctr_err *err)
{
	struct cgroup_device_rule r = { .allow = allow, .major = CGROUP_DEV_ANY, .minor = CGROUP_DEV_ANY };
	strcpy(r.access, "rwm");
	const char *p = text;
	while (*p == ' ')
		p++;
	r.type = *p;
	if (r.type == '\0' || (p[1] != '\0' && p[1] != ' '))
		return mctr_fail(err, EINVAL, "device rule \"%s\": expected TYPE MAJOR:MINOR ACCESS", text);
	p++;
	while (*p == ' ')
		p++;
	if (*p != '\0') {
		const char *colon = strchr(p, ':');
		const char *end = p + strcspn(p, " ");
		if (colon == NULL || colon > end || parse_dev_number(p, (size_t)(colon - p), &r.major) < 0 ||
		    parse_dev_number(colon + 1, (size_t)(end - colon - 1), &r.minor) < 0)
			return mctr_fail(err, EINVAL, "device rule \"%s\": bad MAJOR:MINOR", text);
		p = end;
		while (*p == ' ')
			p++;
		if (*p != '\0') {
			size_t len = strcspn(p, " ");
			if (len >= sizeof r.access || p[len + strspn(p + len, " ")] != '\0')
				return mctr_fail(err, EINVAL, "device rule \"%s\": bad ACCESS", text);
			memcpy(r.access, p, len);
			r.access[len] = '\0';
		}
	}
	if (validate_rule(&r, err) < 0)
		return mctr_err_wrap(err, "device rule \"%s\"", text);
	*rule = r;
	return 0;
}

void cgroup_device_rule_format(const struct cgroup_device_rule *rule, char buf[64])
{
	if (rule->type == 'a' && rule->major == CGROUP_DEV_ANY && rule->minor == CGROUP_DEV_ANY &&
	    strlen(rule->access) == 3) {
		strcpy(buf, "a");
		return;
	}
	char maj[16] = "*", min[16] = "*";
	if (rule->major != CGROUP_DEV_ANY)
		snprintf(maj, sizeof maj, "%" PRId64, rule->major);
	if (rule->minor != CGROUP_DEV_ANY)
		snprintf(min, sizeof min, "%" PRId64, rule->minor);
	snprintf(buf, 64, "%c %s:%s %s", rule->type, maj, min, rule->access);
}

/* ---- validation --------------------------------------------------------- */

static bool cpuset_list_ok(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) && *p != ',' && *p != '-')
			return false;
	}
	return true;
}

int cgroup_resources_validate(const struct cgroup_resources *res, struct mctr_err *err)
{
	if (res->has_memory && res->memory < CGROUP_UNLIMITED)
		return mctr_fail(err, EINVAL, "memory limit %" PRId64 " is negative", res->memory);
	if (res->has_memory_swap) {
		int64_t swap_max;
		if (res->memory_swap < CGROUP_UNLIMITED)
			return mctr_fail(err, EINVAL, "memory+swap limit %" PRId64 " is negative",
			                 res->memory_swap);
		if (cgroup_memory_swap_to_v2(res->has_memory, res->memory, res->memory_swap, &swap_max, err) < 0)
			return -1;
	}
	if (res->has_cpu_shares && res->cpu_shares == 0)
		return mctr_fail(err, EINVAL, "cpu shares must be at least 1");
	if (res->has_cpu_quota && res->cpu_quota != CGROUP_UNLIMITED && res->cpu_quota < CFS_QUOTA_MIN)
		return mctr_fail(err, EINVAL, "cpu quota %" PRId64 " us is below the kernel's minimum of %d us",
		                 res->cpu_quota, CFS_QUOTA_MIN);
	if (res->has_cpu_period && (res->cpu_period < CFS_PERIOD_MIN || res->cpu_period > CFS_PERIOD_MAX))
		return mctr_fail(err, EINVAL, "cpu period %" PRIu64 " us is outside %d..%d", res->cpu_period,
		                 CFS_PERIOD_MIN, CFS_PERIOD_MAX);
	if (res->has_pids_limit && res->pids_limit < CGROUP_UNLIMITED)
		return mctr_fail(err, EINVAL, "pids limit %" PRId64 " is negative", res->pids_limit);
	if (res->cpuset_cpus != NULL && !cpuset_list_ok(res->cpuset_cpus))
		return mctr_fail(err, EINVAL, "cpuset cpus \"%s\" is not a list like 0-3,6", res->cpuset_cpus);
	if (res->cpuset_mems != NULL && !cpuset_list_ok(res->cpuset_mems))
		return mctr_fail(err, EINVAL, "cpuset mems \"%s\" is not a list like 0-1", res->cpuset_mems);
	for (size_t i = 0; i < res->n_devices; i++) {
		if (validate_rule(&res->devices[i], err) < 0)
			return mctr_err_wrap(err, "device rule %zu", i);
	}
	return 0;
}

/* ---- conversions -------------------------------------------------------- */

int cgroup_parse_cpus(const char *text, int64_t *nanocpus, struct mctr_err *err)
{
	const char *p = text;
	int64_t whole = 0, frac = 0;
	int frac_digits = 0;
	if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
		return mctr_fail(err, EINVAL, "--cpus \"%s\" is not a decimal number like 1.5", text);
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > 1000000)
			return mctr_fail(err, ERANGE, "--cpus \"%s\" is too large", text);
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (++frac_digits > 9)
				return mctr_fail(err, EINVAL, "--cpus \"%s\" has more than 9 decimals", text);
			frac = frac * 10 + (*p - '0');
		}
	}
	if (*p != '\0')
		return mctr_fail(err, EINVAL, "--cpus \"%s\" is not a decimal number like 1.5", text);
	for (int i = frac_digits; i < 9; i++)
		frac *= 10;
	*nanocpus = whole * NANOCPUS_PER_CPU + frac;
	return 0;
}

int cgroup_resources_set_cpus(struct cgroup_resources *res, int64_t nanocpus, struct mctr_err *err)
{
	/* Docker: quota = NanoCPUs * period / 1e9. */
	if (nanocpus < 0 || nanocpus > INT64_MAX / CFS_PERIOD_DEFAULT)
		return mctr_fail(err, ERANGE, "cpus %" PRId64 "e-9 out of range", nanocpus);
	int64_t quota = nanocpus * CFS_PERIOD_DEFAULT / NANOCPUS_PER_CPU;
	if (quota < CFS_QUOTA_MIN)
		return mctr_fail(err, EINVAL, "cpus %" PRId64 ".%09" PRId64 " is below the minimum of 0.01",
		                 nanocpus / NANOCPUS_PER_CPU, nanocpus % NANOCPUS_PER_CPU);
	res->has_cpu_quota = true;
	res->cpu_quota = quota;
	res->has_cpu_period = true;
	res->cpu_period = CFS_PERIOD_DEFAULT;
	return 0;
}

/* log2 and 10^y without libm (the core links no libm).  The argument ranges
 * are small: x in [3, 262143], y in (0, 4).  The results agree with libm's to
 * ~1e-15 relative; cgroup_cpu_shares_to_weight() needs ~1e-9 (every input
 * except 1024 lands at least 2e-6 from an integer before ceil, and 1024 is
 * computed exactly below). */
static double log2_u64(uint64_t x)
{
	static const double ln2 = 0.69314718055994530942;
	int e = 63 - __builtin_clzll(x);
	double m = (double)x / (double)(1ULL << e); /* [1, 2), exact for x < 2^53 */
	if (m == 1.0)
		return e;
	/* ln m = 2 atanh(t), t = (m-1)/(m+1) in (0, 1/3): the series converges by 1/9 a term. */
	double t = (m - 1.0) / (m + 1.0), t2 = t * t, term = t, sum = 0.0;
	for (int k = 0; k < 30; k++) {
		sum += term / (2 * k + 1);
		term *= t2;
	}
	return e + 2.0 * sum / ln2;
}

static double pow10_small(double y)
{
	static const double ln10 = 2.30258509299404568402;
	int n = (int)y;
	double f = y - n, r = 1.0;
	for (int i = 0; i < n; i++)
		r *= 10.0;
	if (f == 0.0)
		return r;
	/* e^(f ln 10) by Taylor: f ln 10 < 2.31 and every term is positive. */
	double x = f * ln10, term = 1.0, sum = 1.0;
	for (int k = 1; k < 40; k++) {
		term *= x / k;
		sum += term;
	}
	return r * sum;
}

uint64_t cgroup_cpu_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares <= CPU_SHARES_MIN)
		return 1;
	if (shares >= CPU_SHARES_MAX)
		return CPU_WEIGHT_MAX;
	/* A quadratic in log2(shares) through (2, 1), (1024, 100), (262144, 10000). */
	double l = log2_u64(shares);
	double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
	double w = pow10_small(exponent);
	uint64_t iw = (uint64_t)w;
	return (double)iw < w ? iw + 1 : iw;
}

int cgroup_memory_swap_to_v2(bool has_memory, int64_t memory, int64_t memory_swap, int64_t *swap_max,
                             struct mctr_err *err)
{
	if (memory_swap == CGROUP_UNLIMITED) {
		*swap_max = CGROUP_UNLIMITED;
		return 0;
	}
	if (!has_memory || memory == CGROUP_UNLIMITED)
		return mctr_fail(err, EINVAL, "a memory+swap limit (%" PRId64 ") needs a memory limit", memory_swap);
	if (memory_swap < memory)
		return mctr_fail(err, EINVAL,
		                 "memory+swap limit %" PRId64 " is smaller than the memory limit %" PRId64,
		                 memory_swap, memory);
	*swap_max = memory_swap - memory;
	return 0;
}
