/* Platforms and manifest selection from an index (see platform.h). */
#include "mctr/platform.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "mctr/jsonutil.h"
#include "mctr/mediatype.h"

/* Longest "(available: ...)" list put into an error message. */
#define AVAILABLE_MAX 600

static void copy_lower(char *dst, size_t len, const char *src, size_t n)
{
	size_t i;
	for (i = 0; i < n && i + 1 < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static void set(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

static bool str_in(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

void platform_normalize(struct platform *p)
{
	copy_lower(p->os, sizeof p->os, p->os, strlen(p->os));
	copy_lower(p->arch, sizeof p->arch, p->arch, strlen(p->arch));
	copy_lower(p->variant, sizeof p->variant, p->variant, strlen(p->variant));
	if (strcmp(p->os, "macos") == 0)
		set(p->os, sizeof p->os, "darwin");

	char *a = p->arch, *v = p->variant;
	if (str_in(a, (const char *const[]){ "i386", "i486", "i586", "i686", "x86", NULL })) {
		set(a, sizeof p->arch, "386");
		v[0] = '\0';
	} else if (str_in(a, (const char *const[]){ "x86_64", "x86-64", "amd64", NULL })) {
		set(a, sizeof p->arch, "amd64");
		if (strcmp(v, "v1") == 0)
			v[0] = '\0';
	} else if (str_in(a, (const char *const[]){ "aarch64", "arm64", NULL })) {
		set(a, sizeof p->arch, "arm64");
		if (str_in(v, (const char *const[]){ "", "8", "v8", "v8.0", NULL }))
			set(v, sizeof p->variant, "v8");
		else if (str_in(v, (const char *const[]){ "9", "9.0", "v9.0", NULL }))
			set(v, sizeof p->variant, "v9");
	} else if (strcmp(a, "armhf") == 0) {
		set(a, sizeof p->arch, "arm");
		set(v, sizeof p->variant, "v7");
	} else if (strcmp(a, "armel") == 0) {
		set(a, sizeof p->arch, "arm");
		set(v, sizeof p->variant, "v6");
	} else if (strcmp(a, "arm") == 0) {
		if (str_in(v, (const char *const[]){ "", "7", NULL }))
			set(v, sizeof p->variant, "v7");
		else if (str_in(v, (const char *const[]){ "5", "6", "8", NULL }))
			snprintf(v, sizeof p->variant, "v%c", v[0]);
	}
}

/* The architectures a lone "--platform ARCH" may name. */
static const char *const known_archs[] = {
	"386", "amd64", "arm", "arm64", "loong64", "mips", "mipsle", "mips64", "mips64le", "ppc64", "ppc64le",
	"riscv64", "s390x", NULL,
};

static const char *const known_oses[] = {
	"linux", "windows", "darwin", "freebsd", NULL,
};

static bool specifier_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

int platform_parse(const char *s, struct platform *out, struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	const char *part[3];
	size_t len[3], n = 0;
	const char *p = s;
	for (;;) {
		if (n == 3)
			return mctr_fail(err, 0, "invalid platform \"%.64s\": want os/arch[/variant]", s);
		size_t l = strcspn(p, "/");
		part[n] = p;
		len[n++] = l;
		if (p[l] == '\0')
			break;
		p += l + 1;
	}
	static const size_t cap[3] = { sizeof out->os, sizeof out->arch, sizeof out->variant };
	for (size_t i = 0; i < n; i++) {
		if (!specifier_valid(part[i], len[i]))
			return mctr_fail(err, 0, "invalid platform \"%.64s\": want os/arch[/variant] of [A-Za-z0-9_.-]",
			                 s);
		if (len[i] >= cap[n == 1 ? 1 : i])
			return mctr_fail(err, 0, "invalid platform \"%.64s\": component too long", s);
	}

	if (n == 1) {
		char one[32];
		copy_lower(one, sizeof one, part[0], len[0]);
		if (str_in(one, known_oses)) {
			platform_host(out);
			set(out->os, sizeof out->os, one);
			return 0;
		}
		set(out->os, sizeof out->os, "linux");
		set(out->arch, sizeof out->arch, one);
		platform_normalize(out);
		if (!str_in(out->arch, known_archs)) {
			memset(out, 0, sizeof *out);
			return mctr_fail(err, 0, "invalid platform \"%.64s\": unknown operating system or architecture",
			                 s);
		}
		return 0;
	}
	copy_lower(out->os, sizeof out->os, part[0], len[0]);
	copy_lower(out->arch, sizeof out->arch, part[1], len[1]);
	if (n == 3)
		copy_lower(out->variant, sizeof out->variant, part[2], len[2]);
	platform_normalize(out);
	return 0;
}

/* uname -m -> GOARCH (and GOARM / arm64 variant). */
void platform_from_machine(const char *m, struct platform *out)
{
	memset(out, 0, sizeof *out);
	set(out->os, sizeof out->os, "linux");
	static const struct {
		const char *machine, *arch, *variant;
	} map[] = {
		{ "x86_64", "amd64", "" },     { "amd64", "amd64", "" },     { "aarch64", "arm64", "v8" },
		{ "arm64", "arm64", "v8" },    { "armv8l", "arm", "v8" },    { "armv7l", "arm", "v7" },
		{ "armv7", "arm", "v7" },      { "armv6l", "arm", "v6" },    { "armv5tel", "arm", "v5" },
		{ "armv5tejl", "arm", "v5" },  { "i386", "386", "" },        { "i486", "386", "" },
		{ "i586", "386", "" },         { "i686", "386", "" },        { "ppc64le", "ppc64le", "" },
		{ "ppc64", "ppc64", "" },      { "s390x", "s390x", "" },     { "riscv64", "riscv64", "" },
		{ "loongarch64", "loong64", "" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strcmp(m, map[i].machine) == 0) {
			set(out->arch, sizeof out->arch, map[i].arch);
			set(out->variant, sizeof out->variant, map[i].variant);
			platform_normalize(out);
			return;
		}
	}
	if (strcmp(m, "mips64") == 0 || strcmp(m, "mips") == 0) {
		/* uname does not tell the byte order; the build does. */
		bool le = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
		snprintf(out->arch, sizeof out->arch, "%s%s", m, le ? "le" : "");
		return;
	}
	copy_lower(out->arch, sizeof out->arch, m, strlen(m));
	platform_normalize(out);
}

void platform_host(struct platform *out)
{
	struct utsname u;
	if (uname(&u) < 0) {
		/* Cannot happen on Linux; fall back to what we were built for. */
#if defined(__x86_64__)
		set(u.machine, sizeof u.machine, "x86_64");
#elif defined(__aarch64__)
		set(u.machine, sizeof u.machine, "aarch64");
#else
		set(u.machine, sizeof u.machine, "unknown");
#endif
	}
	platform_from_machine(u.machine, out);
}

void platform_format(const struct platform *p, char *buf, size_t len)
{
	if (p->variant[0] != '\0')
		snprintf(buf, len, "%s/%s/%s", p->os, p->arch, p->variant);
	else
		snprintf(buf, len, "%s/%s", p->os, p->arch);
}

static int copy_field(const json_t *obj, const char *key, bool required, char *dst, size_t len,
                      struct mctr_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL && !required) {
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return mctr_fail(err, 0, "platform: \"%s\" is %s", key, v == NULL ? "missing" : "not a string");
	size_t n = json_string_length(v);
	if (n >= len)
		return mctr_fail(err, 0, "platform: \"%s\" is longer than %zu characters", key, len - 1);
	memcpy(dst, json_string_value(v), n);
	dst[n] = '\0';
	return 0;
}

int platform_from_json(const json_t *obj, struct platform *out, struct mctr_err *err)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(obj))
		return mctr_fail(err, 0, "platform: not a JSON object");
	if (copy_field(obj, "os", true, out->os, sizeof out->os, err) < 0 ||
	    copy_field(obj, "architecture", true, out->arch, sizeof out->arch, err) < 0 ||
	    copy_field(obj, "variant", false, out->variant, sizeof out->variant, err) < 0) {
		memset(out, 0, sizeof *out);
		return -1;
	}
	platform_normalize(out);
	return 0;
}

/* "vN" -> N, or -1. */
static int arm_variant_number(const char *v)
{
	if (v[0] != 'v' || v[1] < '1' || v[1] > '9' || v[2] != '\0')
		return -1;
	return v[1] - '0';
}

bool platform_matches(const struct platform *want, const struct platform *have)
{
	struct platform w = *want, h = *have;
	platform_normalize(&w);
	platform_normalize(&h);
	if (strcmp(w.os, h.os) != 0 || strcmp(w.arch, h.arch) != 0)
		return false;
	if (strcmp(w.variant, h.variant) == 0)
		return true;
	if (strcmp(w.arch, "arm") != 0)
		return false;
	int wn = arm_variant_number(w.variant), hn = arm_variant_number(h.variant);
	return wn >= 5 && hn >= 5 && hn <= wn;
}

static bool is_attestation(const json_t *desc)
{
	const char *type = json_get_str(json_get_obj(desc, "annotations"), "vnd.docker.reference.type");
	if (type != NULL && strcmp(type, "attestation-manifest") == 0)
		return true;
	const json_t *p = json_get_obj(desc, "platform");
	const char *os = json_get_str(p, "os"), *arch = json_get_str(p, "architecture");
	return os != NULL && arch != NULL && strcmp(os, "unknown") == 0 && strcmp(arch, "unknown") == 0;
}

/* An entry that can be chosen: an image (not an attestation, not an
 * artifact of another type) with a readable platform. */
static bool candidate_platform(const json_t *desc, struct platform *out)
{
	if (!json_is_object(desc) || is_attestation(desc))
		return false;
	const char *mt = json_get_str(desc, "mediaType");
	if (mt != NULL && !mediatype_is_manifest(mt) && !mediatype_is_index(mt) && !mediatype_is_schema1(mt))
		return false;
	return platform_from_json(json_get_obj(desc, "platform"), out, NULL) == 0;
}

static void list_available(const json_t *manifests, char *buf, size_t len)
{
	size_t used = 0;
	size_t i;
	json_t *d;
	buf[0] = '\0';
	json_array_foreach(manifests, i, d) {
		struct platform p;
		if (!candidate_platform(d, &p))
			continue;
		char one[PLATFORM_STR_MAX];
		platform_format(&p, one, sizeof one);
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", one);
		if (n < 0 || (size_t)n >= len - used) {
			snprintf(buf + used, len - used, "%s...", used ? ", " : "");
			return;
		}
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, len, "none");
}

json_t *platform_select(const json_t *index, const struct platform *want, struct mctr_err *err)
{
	json_t *manifests = json_get_arr(index, "manifests");
	if (manifests == NULL) {
		mctr_fail(err, 0, "index has no \"manifests\" array");
		return NULL;
	}
	struct platform w = *want;
	platform_normalize(&w);

	/* Preference order of variants: the exact one, then (arm only) each
	 * older one down to v5. */
	char variants[8][sizeof w.variant];
	size_t nvariants = 0;
	set(variants[nvariants++], sizeof variants[0], w.variant);
	int wn = strcmp(w.arch, "arm") == 0 ? arm_variant_number(w.variant) : -1;
	for (int v = wn - 1; v >= 5; v--)
		snprintf(variants[nvariants++], sizeof variants[0], "v%d", v);

	for (size_t k = 0; k < nvariants; k++) {
		size_t i;
		json_t *d;
		json_array_foreach(manifests, i, d) {
			struct platform have;
			if (!candidate_platform(d, &have))
				continue;
			if (strcmp(have.os, w.os) == 0 && strcmp(have.arch, w.arch) == 0 &&
			    strcmp(have.variant, variants[k]) == 0)
				return d;
		}
	}

	char wanted[PLATFORM_STR_MAX], available[AVAILABLE_MAX];
	platform_format(&w, wanted, sizeof wanted);
	list_available(manifests, available, sizeof available);
	mctr_fail(err, 0, "no manifest for %s in index (available: %s)", wanted, available);
	return NULL;
}
