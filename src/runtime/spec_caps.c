/* process.capabilities as Docker computes them: the 14 defaults of moby
 * daemon/pkg/oci/caps/defaults.go, tweaked by --cap-add/--cap-drop with
 * TweakCapabilities() semantics, everything for --privileged, and
 * effective/permitted only for root (SetCapabilities). */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "spec_internal.h"

const char *const spec_default_caps[] = {
	"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",           "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",  "CAP_SETFCAP",          "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",          "CAP_SYS_CHROOT", "CAP_KILL",          "CAP_AUDIT_WRITE",
	NULL,
};

#define N_CAPS (CAP_LAST_CAP + 1)

/* Canonical names, built once from libcap's table: "cap_chown" -> "CAP_CHOWN".
 * A number libcap has no name for stays "" (unknown). */
static char cap_names[N_CAPS][32];
static pthread_once_t cap_names_once = PTHREAD_ONCE_INIT;

static void cap_names_init(void)
{
	for (int i = 0; i < N_CAPS; i++) {
		char *n = cap_to_name(i);
		if (n == NULL)
			continue;
		if (!isdigit((unsigned char)n[0]) && strlen(n) < sizeof cap_names[i])
			for (size_t k = 0; n[k] != '\0'; k++)
				cap_names[i][k] = (char)toupper((unsigned char)n[k]);
		cap_free(n);
	}
}

const char *spec_cap_name(int cap)
{
	pthread_once(&cap_names_once, cap_names_init);
	if (cap < 0 || cap >= N_CAPS || cap_names[cap][0] == '\0')
		return NULL;
	return cap_names[cap];
}

int spec_cap_from_name(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int i = 0; i < N_CAPS; i++) {
		const char *n = spec_cap_name(i);
		if (n != NULL && strcasecmp(n + 4, name) == 0)
			return i;
	}
	return -1;
}

/* What "ALL" means: the capabilities this process has in its effective set
 * and the kernel knows (moby asks containerd's cap.Current(), which reads
 * CapEff).  If the set cannot be read, every capability the kernel knows. */
static uint64_t caps_available(void)
{
	int max = cap_max_bits();
	if (max <= 0 || max > N_CAPS)
		max = N_CAPS;
	uint64_t kernel = max >= 64 ? UINT64_MAX : (UINT64_C(1) << max) - 1;
	cap_t cur = cap_get_proc();
	if (cur == NULL)
		return kernel;
	uint64_t eff = 0;
	for (int i = 0; i < max; i++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (cap_get_flag(cur, i, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
			eff |= UINT64_C(1) << i;
	}
	cap_free(cur);
	return eff & kernel;
}

/* A --cap-add/--cap-drop list, normalised as moby NormalizeLegacyCapabilities:
 * upper case, CAP_ prefix, "ALL" kept apart.  order[] keeps the given order
 * (Docker appends added caps in that order). */
struct cap_list {
	bool all;
	uint64_t mask;
	int order[N_CAPS];
	int n;
};

static int cap_list_parse(char *const *names, const char *flag, uint64_t available, struct cap_list *out,
                          struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	for (char *const *p = names; p != NULL && *p != NULL; p++) {
		if (strcasecmp(*p, "ALL") == 0) {
			out->all = true;
			continue;
		}
		int cap = spec_cap_from_name(*p);
		if (cap < 0) {
			bool prefixed = strncasecmp(*p, "CAP_", 4) == 0;
			_cleanup_free_ char *canon = xasprintf("%s%s", prefixed ? "" : "CAP_", *p);
			for (char *c = canon; *c != '\0'; c++)
				*c = (char)toupper((unsigned char)*c);
			return mctr_fail(err, 0, "%s: unknown capability: \"%s\"", flag, canon);
		}
		if (!(available & (UINT64_C(1) << cap)))
			return mctr_fail(err, 0, "%s: capability not supported by your kernel or not available "
			                 "in the current environment: \"%s\"", flag, spec_cap_name(cap));
		if (!(out->mask & (UINT64_C(1) << cap)))
			out->order[out->n++] = cap;
		out->mask |= UINT64_C(1) << cap;
	}
	return 0;
}

static void append_cap(json_t *arr, uint64_t *have, int cap)
{
	if (*have & (UINT64_C(1) << cap))
		return;
	*have |= UINT64_C(1) << cap;
	json_array_append_new(arr, json_string(spec_cap_name(cap)));
}

static void append_all(json_t *arr, uint64_t *have, uint64_t set)
{
	for (int i = 0; i < N_CAPS; i++)
		if ((set & (UINT64_C(1) << i)) && spec_cap_name(i) != NULL)
			append_cap(arr, have, i);
}

/* moby TweakCapabilities(): privileged = all; add ALL = all minus drops;
 * drop ALL = just the adds; else defaults minus drops, then the adds. */
static int caps_tweak(const struct spec_options *o, json_t *list, struct mctr_err *err)
{
	uint64_t available = caps_available(), have = 0;
	if (o->privileged) {
		append_all(list, &have, available);
		return 0;
	}
	struct cap_list add, drop;
	if (cap_list_parse(o->cap_drop, "--cap-drop", available, &drop, err) < 0 ||
	    cap_list_parse(o->cap_add, "--cap-add", available, &add, err) < 0)
		return -1;
	if (add.all) {
		append_all(list, &have, available & ~drop.mask);
		return 0;
	}
	if (!drop.all) {
		for (const char *const *c = spec_default_caps; *c != NULL; c++) {
			int cap = spec_cap_from_name(*c);
			if (cap >= 0 && !(drop.mask & (UINT64_C(1) << cap)))
				append_cap(list, &have, cap);
		}
	}
	for (int i = 0; i < add.n; i++)
		append_cap(list, &have, add.order[i]);
	return 0;
}

int spec_caps_build(const struct spec_options *o, bool root_user, json_t **out, struct mctr_err *err)
{
	_cleanup_json_ json_t *list = json_array();
	if (caps_tweak(o, list, err) < 0)
		return -1;
	json_t *caps = json_object();
	json_object_set(caps, "bounding", list);
	/* moby SetCapabilities: a non-root user gets no effective or permitted
	 * capabilities, which is what execve would leave it with anyway. */
	json_object_set_new(caps, "effective", root_user ? json_copy(list) : json_array());
	json_object_set_new(caps, "permitted", root_user ? json_copy(list) : json_array());
	/* Inheritable stays empty since CVE-2022-24769; ambient was never set. */
	json_object_set_new(caps, "inheritable", json_array());
	json_object_set_new(caps, "ambient", json_array());
	*out = caps;
	return 0;
}
