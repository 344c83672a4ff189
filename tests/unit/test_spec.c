/* Unit tests for src/runtime/spec*.c: image config + run flags -> OCI
 * config.json, checked against Docker's rules (moby merge(),
 * CreateDaemonEnvironment(), DefaultLinuxSpec(), withMounts(),
 * TweakCapabilities(), verifyPlatformContainerResources()) and against the
 * runtime's own reader of the document (spec_load.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/runtime.h"
#include "mctr/spec.h"
#include "testutil.h"

#include "../../src/runtime/rt_internal.h"
#include "../../src/runtime/spec_internal.h"

#define BUNDLE "/var/lib/mctr/containers/0123456789abcdef0123456789abcdef"
#define CTR_ID "0123456789abcdef0123456789abcdef"
#define MiB (1024 * 1024)

/* ---- helpers --------------------------------------------------------------------------- */

static char *lowers[] = { "/var/lib/mctr/layers/b", "/var/lib/mctr/layers/a", NULL };

static struct spec_options opts_default(void)
{
	return (struct spec_options){
		.bundle = BUNDLE,
		.container_id = CTR_ID,
		.lowerdirs = lowers,
	};
}

static json_t *img(const char *text)
{
	if (text == NULL)
		return NULL;
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	ck_assert_msg(j != NULL, "bad test JSON %s: %s", text, je.text);
	return j;
}

static json_t *build_ok(const char *image_json, const struct spec_options *o)
{
	_cleanup_json_ json_t *cfg = img(image_json);
	struct mctr_err err = { 0 };
	json_t *spec = NULL;
	int rc = spec_build(cfg, o, &spec, &err);
	ck_assert_msg(rc == 0, "spec_build failed: %s", err.msg);
	ck_assert_ptr_nonnull(spec);
	return spec;
}

static void build_fails(const char *image_json, const struct spec_options *o, const char *want)
{
	_cleanup_json_ json_t *cfg = img(image_json);
	struct mctr_err err = { 0 };
	json_t *spec = NULL;
	int rc = spec_build(cfg, o, &spec, &err);
	ck_assert_msg(rc < 0, "spec_build succeeded, expected an error with \"%s\"", want);
	ck_assert_ptr_null(spec);
	ck_assert_msg(strstr(err.msg, want) != NULL, "error \"%s\" does not contain \"%s\"", err.msg, want);
}

/* NULL-terminated expected strings vs a JSON array of strings. */
static void assert_strv(const json_t *arr, const char *const *want, const char *what)
{
	ck_assert_msg(json_is_array(arr), "%s: not an array", what);
	size_t n = 0;
	while (want[n] != NULL)
		n++;
	_cleanup_free_ char *got = json_dumps(arr, JSON_COMPACT);
	ck_assert_msg(json_array_size(arr) == n, "%s: %zu entries, want %zu: %s", what, json_array_size(arr), n, got);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strcmp(json_string_value(json_array_get(arr, i)), want[i]) == 0,
		              "%s[%zu] = %s, want %s (all: %s)", what, i, json_string_value(json_array_get(arr, i)),
		              want[i], got);
}

static bool strv_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

static json_t *jget(json_t *root, const char *a, const char *b, const char *c)
{
	json_t *j = json_object_get(root, a);
	if (b != NULL)
		j = json_object_get(j, b);
	if (c != NULL)
		j = json_object_get(j, c);
	return j;
}

static json_t *find_mount(json_t *spec, const char *dest)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(spec, "mounts"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
			return m;
	}
	return NULL;
}

static uint64_t caps_mask(const json_t *arr)
{
	uint64_t mask = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		int cap = spec_cap_from_name(json_string_value(v));
		ck_assert_msg(cap >= 0, "unknown capability %s in the spec", json_string_value(v));
		mask |= UINT64_C(1) << cap;
	}
	return mask;
}

static bool have_cap(cap_value_t cap)
{
	cap_t c = cap_get_proc();
	ck_assert_ptr_nonnull(c);
	cap_flag_value_t v = CAP_CLEAR;
	ck_assert_int_eq(cap_get_flag(c, cap, CAP_EFFECTIVE, &v), 0);
	cap_free(c);
	return v == CAP_SET;
}

/* The capabilities this test process has: what "ALL" means to spec_build. */
static int effective_cap_count(void)
{
	cap_t c = cap_get_proc();
	ck_assert_ptr_nonnull(c);
	int n = 0;
	for (int i = 0; i < (int)cap_max_bits() && i <= CAP_LAST_CAP; i++) {
		cap_flag_value_t v;
		if (cap_get_flag(c, i, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET)
			n++;
	}
	cap_free(c);
	return n;
}

static bool is_abs_str(const json_t *j)
{
	return json_is_string(j) && json_string_value(j)[0] == '/';
}

static void assert_str_array(const json_t *arr, const char *what, bool absolute)
{
	ck_assert_msg(json_is_array(arr), "%s: not an array", what);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		ck_assert_msg(json_is_string(v), "%s[%zu]: not a string", what, i);
		if (absolute)
			ck_assert_msg(is_abs_str(v), "%s[%zu] = %s: not absolute", what, i, json_string_value(v));
	}
}

/* What runtime-spec config.md / config-linux.md require of the document, as
 * far as mctr fills it. */
static void assert_valid_oci(json_t *spec)
{
	ck_assert_str_eq(json_string_value(json_object_get(spec, "ociVersion")), "1.0.2");
	json_t *p = json_object_get(spec, "process");
	ck_assert(json_is_object(p));
	ck_assert(json_is_boolean(json_object_get(p, "terminal")));
	ck_assert(json_is_boolean(json_object_get(p, "noNewPrivileges")));
	json_t *args = json_object_get(p, "args");
	assert_str_array(args, "process.args", false);
	ck_assert_int_gt(json_array_size(args), 0);
	ck_assert_str_ne(json_string_value(json_array_get(args, 0)), "");
	assert_str_array(json_object_get(p, "env"), "process.env", false);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(p, "env"), i, v) {
		const char *e = json_string_value(v);
		ck_assert_msg(strchr(e, '=') != NULL && e[0] != '=', "process.env: %s is not NAME=VALUE", e);
	}
	ck_assert(is_abs_str(json_object_get(p, "cwd")));
	json_t *user = json_object_get(p, "user");
	const char *ids[] = { "uid", "gid" };
	for (size_t k = 0; k < 2; k++) {
		json_t *id = json_object_get(user, ids[k]);
		ck_assert(json_is_integer(id) && json_integer_value(id) >= 0);
	}
	const char *sets[] = { "bounding", "effective", "permitted", "inheritable", "ambient" };
	for (size_t k = 0; k < 5; k++) {
		json_t *set = jget(p, "capabilities", sets[k], NULL);
		assert_str_array(set, sets[k], false);
		caps_mask(set);
	}
	json_t *rl = json_object_get(p, "rlimits");
	if (rl != NULL) {
		json_array_foreach(rl, i, v) {
			ck_assert(strncmp(json_string_value(json_object_get(v, "type")), "RLIMIT_", 7) == 0);
			ck_assert(json_integer_value(json_object_get(v, "soft")) <=
			          json_integer_value(json_object_get(v, "hard")));
		}
	}
	ck_assert(is_abs_str(jget(spec, "root", "path", NULL)));
	ck_assert(json_is_boolean(jget(spec, "root", "readonly", NULL)));
	ck_assert(json_is_string(json_object_get(spec, "hostname")));
	json_array_foreach(json_object_get(spec, "mounts"), i, v) {
		ck_assert(is_abs_str(json_object_get(v, "destination")));
		ck_assert(json_is_string(json_object_get(v, "type")));
		ck_assert(json_is_string(json_object_get(v, "source")));
		assert_str_array(json_object_get(v, "options"), "mount options", false);
	}
	json_t *lx = json_object_get(spec, "linux");
	const char *ns_ok[] = { "mount", "network", "uts", "pid", "ipc", "cgroup" };
	uint32_t seen = 0;
	json_array_foreach(json_object_get(lx, "namespaces"), i, v) {
		const char *t = json_string_value(json_object_get(v, "type"));
		size_t k = 0;
		while (k < 6 && strcmp(ns_ok[k], t) != 0)
			k++;
		ck_assert_msg(k < 6, "namespace type %s", t);
		ck_assert_msg(!(seen & (1u << k)), "namespace %s twice", t);
		seen |= 1u << k;
	}
	assert_str_array(json_object_get(lx, "maskedPaths"), "maskedPaths", true);
	assert_str_array(json_object_get(lx, "readonlyPaths"), "readonlyPaths", true);
	json_array_foreach(jget(lx, "resources", "devices", NULL), i, v) {
		ck_assert(json_is_boolean(json_object_get(v, "allow")));
		ck_assert(json_is_string(json_object_get(v, "access")));
	}
	ck_assert(json_is_string(json_object_get(lx, "cgroupsPath")));
	const char *key;
	json_object_foreach(json_object_get(spec, "annotations"), key, v)
		ck_assert_msg(json_is_string(v), "annotation %s is not a string", key);
}

/* ---- argv -------------------------------------------------------------------------------------- */

struct merge_case {
	const char *image;
	bool ep_set;
	const char *ep[3];
	const char *args[4];
	const char *want[5]; /* NULL-terminated; want[0] == NULL: an error is expected */
};

START_TEST(merge_args_table)
{
	static const struct merge_case cases[] = {
		/* alpine: Cmd only */
		{ "{\"Cmd\":[\"/bin/sh\"]}", false, { NULL }, { NULL }, { "/bin/sh" } },
		{ "{\"Cmd\":[\"/bin/sh\"]}", false, { NULL }, { "sh" }, { "sh" } },
		{ "{\"Cmd\":[\"/bin/sh\"]}", false, { NULL }, { "echo", "a b" }, { "echo", "a b" } },
		/* Entrypoint + Cmd */
		{ "{\"Entrypoint\":[\"/e.sh\"],\"Cmd\":[\"run\"]}", false, { NULL }, { NULL }, { "/e.sh", "run" } },
		{ "{\"Entrypoint\":[\"/e.sh\"],\"Cmd\":[\"run\"]}", false, { NULL }, { "x", "y" },
		  { "/e.sh", "x", "y" } },
		/* --entrypoint: image Cmd ignored */
		{ "{\"Entrypoint\":[\"/e.sh\"],\"Cmd\":[\"run\"]}", true, { "/bin/bash" }, { NULL }, { "/bin/bash" } },
		{ "{\"Entrypoint\":[\"/e.sh\"],\"Cmd\":[\"run\"]}", true, { "/bin/bash" }, { "-c", "id" },
		  { "/bin/bash", "-c", "id" } },
		/* --entrypoint "": image Entrypoint cleared, Cmd ignored too */
		{ "{\"Entrypoint\":[\"/e.sh\"],\"Cmd\":[\"run\"]}", true, { "" }, { "ls" }, { "ls" } },
		{ "{\"Entrypoint\":[\"/e.sh\"],\"Cmd\":[\"run\"]}", true, { NULL }, { "ls", "-l" }, { "ls", "-l" } },
		{ "{\"Entrypoint\":[\"/e.sh\"],\"Cmd\":[\"run\"]}", true, { "" }, { NULL }, { NULL } },
		{ "{\"Cmd\":[\"/bin/sh\"]}", true, { "" }, { NULL }, { NULL } },
		/* an image Entrypoint of [""] means none */
		{ "{\"Entrypoint\":[\"\"],\"Cmd\":[\"echo\",\"hi\"]}", false, { NULL }, { NULL }, { "echo", "hi" } },
		{ "{\"Entrypoint\":null,\"Cmd\":null}", false, { NULL }, { NULL }, { NULL } },
		{ "{}", false, { NULL }, { NULL }, { NULL } },
		{ NULL, false, { NULL }, { "true" }, { "true" } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct merge_case *c = &cases[i];
		struct spec_options o = opts_default();
		o.entrypoint_set = c->ep_set;
		o.entrypoint = c->ep[0] != NULL ? (char **)c->ep : NULL;
		o.args = c->args[0] != NULL ? (char **)c->args : NULL;
		_cleanup_json_ json_t *cfg = img(c->image);
		_cleanup_strv_ char **argv = NULL;
		struct mctr_err err = { 0 };
		int rc = spec_merge_args(cfg, &o, &argv, &err);
		if (c->want[0] == NULL) {
			ck_assert_msg(rc < 0, "case %zu: expected an error", i);
			ck_assert_str_eq(err.msg, "no command specified");
			continue;
		}
		ck_assert_msg(rc == 0, "case %zu: %s", i, err.msg);
		size_t n = 0;
		for (; c->want[n] != NULL; n++)
			ck_assert_msg(argv[n] != NULL && strcmp(argv[n], c->want[n]) == 0,
			              "case %zu: argv[%zu] = %s, want %s", i, n, argv[n] ? argv[n] : "(null)",
			              c->want[n]);
		ck_assert_msg(argv[n] == NULL, "case %zu: extra argv[%zu] %s", i, n, argv[n]);
	}
	/* The merged argv is process.args, and a bad image config is named. */
	struct spec_options o = opts_default();
	_cleanup_json_ json_t *spec = build_ok("{\"Entrypoint\":[\"/e.sh\"],\"Cmd\":[\"run\"]}", &o);
	assert_strv(jget(spec, "process", "args", NULL), (const char *[]){ "/e.sh", "run", NULL }, "args");
	build_fails("{\"Cmd\":\"sh\"}", &o, "image config: Cmd");
	build_fails("{\"Cmd\":[1]}", &o, "image config: Cmd");
	build_fails("{\"Cmd\":[]}", &o, "no command specified");
}
END_TEST

/* ---- env ------------------------------------------------------------------------------------------ */

START_TEST(env_override_order)
{
	const char *image = "{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/img/bin\",\"A=img\",\"B=img\"]}";
	char *user_env[] = { "A=user", "C=user", NULL };
	struct spec_options o = opts_default();
	o.env = user_env;
	o.tty = true;
	_cleanup_json_ json_t *s1 = build_ok(image, &o);
	/* defaults, replaced in place by key; then the user's entries, then the
	 * image's the user did not override; HOME comes from the runtime's
	 * passwd lookup. */
	assert_strv(jget(s1, "process", "env", NULL),
	            (const char *[]){ "PATH=/img/bin", "HOSTNAME=0123456789ab", "TERM=xterm", "A=user", "C=user",
	                              "B=img", NULL },
	            "env");
	ck_assert(json_is_true(jget(s1, "process", "terminal", NULL)));

	/* No image Env, no tty: Docker's PATH, no TERM. */
	struct spec_options o2 = opts_default();
	_cleanup_json_ json_t *s2 = build_ok("{\"Cmd\":[\"sh\"]}", &o2);
	assert_strv(jget(s2, "process", "env", NULL),
	            (const char *[]){ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	                              "HOSTNAME=0123456789ab", NULL },
	            "env");
	ck_assert(json_is_false(jget(s2, "process", "terminal", NULL)));

	/* -e beats the image, "NAME" without '=' unsets a default, HOME kept. */
	char *env3[] = { "PATH=/user", "HOSTNAME", "HOME=/home/x", NULL };
	struct spec_options o3 = opts_default();
	o3.env = env3;
	_cleanup_json_ json_t *s3 = build_ok(image, &o3);
	assert_strv(jget(s3, "process", "env", NULL),
	            (const char *[]){ "PATH=/user", "HOME=/home/x", "A=img", "B=img", NULL }, "env");

	char *bad[] = { "=x", NULL };
	o3.env = bad;
	build_fails(image, &o3, "invalid environment variable \"=x\"");
	struct spec_options o4 = opts_default();
	build_fails("{\"Cmd\":[\"sh\"],\"Env\":[\"=x\"]}", &o4, "image config: Env entry \"=x\"");
}
END_TEST

/* ---- user ------------------------------------------------------------------------------------------ */

struct user_case {
	const char *flag, *image_user;
	int64_t uid, gid;
	const char *annotation; /* RT_ANN_USER, or NULL */
	const char *home;       /* HOME set by spec_build, or NULL */
	bool root_caps;         /* effective == permitted == bounding */
};

START_TEST(user_forms_table)
{
	static const struct user_case cases[] = {
		/* Without a group the runtime looks the user up in the image's
		 * /etc/passwd (gid, HOME, supplementary groups), as Docker. */
		{ NULL, NULL, 0, 0, "0", NULL, true },
		{ "0", NULL, 0, 0, "0", NULL, true },
		{ "0:0", NULL, 0, 0, NULL, "HOME=/root", true },
		{ "1000", NULL, 0, 0, "1000", NULL, true },
		{ "1000:1001", NULL, 1000, 1001, NULL, "HOME=/", false },
		{ "app", NULL, 0, 0, "app", NULL, true },
		{ "app:staff", NULL, 0, 0, "app:staff", NULL, true },
		{ "1000:staff", NULL, 0, 0, "1000:staff", NULL, true },
		{ "app:50", NULL, 0, 0, "app:50", NULL, true },
		{ NULL, "nobody", 0, 0, "nobody", NULL, true },
		{ NULL, "65534:65534", 65534, 65534, NULL, "HOME=/", false },
		{ "0", "nobody", 0, 0, "0", NULL, true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct user_case *c = &cases[i];
		struct spec_options o = opts_default();
		o.user = c->flag;
		_cleanup_free_ char *image = c->image_user
		                                     ? xasprintf("{\"Cmd\":[\"id\"],\"User\":\"%s\"}", c->image_user)
		                                     : xstrdup("{\"Cmd\":[\"id\"]}");
		_cleanup_json_ json_t *s = build_ok(image, &o);
		ck_assert_int_eq(json_integer_value(jget(s, "process", "user", "uid")), c->uid);
		ck_assert_int_eq(json_integer_value(jget(s, "process", "user", "gid")), c->gid);
		json_t *ann = jget(s, "annotations", RT_ANN_USER, NULL);
		if (c->annotation != NULL)
			ck_assert_msg(ann != NULL && strcmp(json_string_value(ann), c->annotation) == 0, "case %zu", i);
		else
			ck_assert_msg(ann == NULL, "case %zu: unexpected user annotation", i);
		json_t *env = jget(s, "process", "env", NULL);
		bool has_home = false;
		size_t k;
		json_t *v;
		json_array_foreach(env, k, v) {
			if (strncmp(json_string_value(v), "HOME=", 5) == 0) {
				has_home = true;
				ck_assert_msg(c->home != NULL && strcmp(json_string_value(v), c->home) == 0,
				              "case %zu: %s", i, json_string_value(v));
			}
		}
		ck_assert_msg(has_home == (c->home != NULL), "case %zu: HOME", i);
		json_t *caps = jget(s, "process", "capabilities", NULL);
		ck_assert_int_eq(json_array_size(json_object_get(caps, "bounding")), SPEC_N_DEFAULT_CAPS);
		size_t want = c->root_caps ? SPEC_N_DEFAULT_CAPS : 0;
		ck_assert_msg(json_array_size(json_object_get(caps, "effective")) == want, "case %zu: effective", i);
		ck_assert_msg(json_array_size(json_object_get(caps, "permitted")) == want, "case %zu: permitted", i);
	}
	static const struct {
		const char *user, *want;
	} bad[] = {
		{ ":1000", "invalid user \":1000\"" },
		{ "1000:", "invalid user \"1000:\"" },
		{ "a:b:c", "invalid user \"a:b:c\"" },
		{ "a b", "bad character" },
		{ "99999999999", "out of range" },
		{ "1:4294967295", "out of range" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct spec_options o = opts_default();
		o.user = bad[i].user;
		build_fails("{\"Cmd\":[\"id\"]}", &o, bad[i].want);
	}
}
END_TEST

/* ---- cwd and hostname --------------------------------------------------------------------------------- */

START_TEST(cwd_rules)
{
	static const struct {
		const char *flag, *image_wd, *want;
	} cases[] = {
		{ NULL, NULL, "/" },
		{ "", "", "/" },
		{ "/app", NULL, "/app" },
		{ NULL, "/srv/", "/srv" },
		{ "/w", "/srv", "/w" },
		{ "/a//b/../c/.", NULL, "/a/c" },
		{ "/..", NULL, "/" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct spec_options o = opts_default();
		o.workdir = cases[i].flag;
		const char *wd = cases[i].image_wd;
		_cleanup_free_ char *image = wd ? xasprintf("{\"Cmd\":[\"pwd\"],\"WorkingDir\":\"%s\"}", wd)
		                                : xstrdup("{\"Cmd\":[\"pwd\"]}");
		_cleanup_json_ json_t *s = build_ok(image, &o);
		ck_assert_str_eq(json_string_value(jget(s, "process", "cwd", NULL)), cases[i].want);
	}
	struct spec_options o = opts_default();
	o.workdir = "app";
	build_fails("{\"Cmd\":[\"pwd\"]}", &o, "working directory must be absolute");
	o.workdir = NULL;
	build_fails("{\"Cmd\":[\"pwd\"],\"WorkingDir\":\"rel/dir\"}", &o, "\"rel/dir\"");
}
END_TEST

START_TEST(hostname_rules)
{
	struct spec_options o = opts_default();
	_cleanup_json_ json_t *s1 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert_str_eq(json_string_value(json_object_get(s1, "hostname")), "0123456789ab");

	o.hostname = "web1";
	_cleanup_json_ json_t *s2 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert_str_eq(json_string_value(json_object_get(s2, "hostname")), "web1");
	ck_assert(strv_has(jget(s2, "process", "env", NULL), "HOSTNAME=web1"));

	/* --network host and no -h: the host's name (moby newContainer()). */
	struct spec_options o3 = opts_default();
	o3.network = SPEC_NET_HOST;
	char host[256] = "";
	ck_assert_int_eq(gethostname(host, sizeof host), 0);
	_cleanup_json_ json_t *s3 = build_ok("{\"Cmd\":[\"sh\"]}", &o3);
	ck_assert_str_eq(json_string_value(json_object_get(s3, "hostname")), host);

	o.hostname = "a-name-that-is-longer-than-the-sixty-four-characters-sethostname-takes";
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "longer than 64");
	o.hostname = "two\nlines";
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "bad character");
}
END_TEST

/* ---- mounts ---------------------------------------------------------------------------------------------- */

START_TEST(default_mounts_in_order)
{
	struct spec_options o = opts_default();
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	static const struct {
		const char *dest, *type, *source;
		const char *opts[8];
	} want[] = {
		{ "/proc", "proc", "proc", { "nosuid", "noexec", "nodev" } },
		{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" } },
		{ "/dev/pts", "devpts", "devpts",
		  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
		{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" } },
		{ "/sys/fs/cgroup", "cgroup", "cgroup", { "ro", "nosuid", "noexec", "nodev" } },
		{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" } },
		{ "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
		{ "/etc/resolv.conf", "bind", BUNDLE "/resolv.conf", { "rbind", "rprivate" } },
		{ "/etc/hostname", "bind", BUNDLE "/hostname", { "rbind", "rprivate" } },
		{ "/etc/hosts", "bind", BUNDLE "/hosts", { "rbind", "rprivate" } },
	};
	json_t *mounts = json_object_get(s, "mounts");
	ck_assert_int_eq(json_array_size(mounts), sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		json_t *m = json_array_get(mounts, i);
		ck_assert_str_eq(json_string_value(json_object_get(m, "destination")), want[i].dest);
		ck_assert_str_eq(json_string_value(json_object_get(m, "type")), want[i].type);
		ck_assert_str_eq(json_string_value(json_object_get(m, "source")), want[i].source);
		assert_strv(json_object_get(m, "options"), want[i].opts, want[i].dest);
	}
	ck_assert_str_eq(json_string_value(jget(s, "root", "path", NULL)), BUNDLE "/rootfs");
	ck_assert(json_is_false(jget(s, "root", "readonly", NULL)));
}
END_TEST

static const char *mount_dest_at(json_t *s, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(s, "mounts"), i), "destination"));
}

START_TEST(user_mounts_tmpfs_and_volumes)
{
	struct spec_volume vols[] = {
		{ "/srv/data", "/a/b/c", false, NULL },
		{ "/srv/conf", "/a", true, NULL },
		{ "/srv/shared", "/mnt/sh", false, "rshared" },
	};
	char *tmpfs[] = { "/z/y", "/run", "/tmp:size=64m,exec", NULL };
	struct spec_options o = opts_default();
	o.volumes = vols;
	o.n_volumes = 3;
	o.tmpfs = tmpfs;
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	/* 7 defaults, then parents first, ties in moby's order: tmpfs, -v,
	 * network files. */
	const char *order[] = { "/run", "/tmp", "/a", "/z/y", "/mnt/sh", "/etc/resolv.conf", "/etc/hostname",
		                "/etc/hosts", "/a/b/c" };
	ck_assert_int_eq(json_array_size(json_object_get(s, "mounts")), 7 + 9);
	for (size_t i = 0; i < 9; i++)
		ck_assert_msg(strcmp(mount_dest_at(s, 7 + i), order[i]) == 0, "mount %zu is %s, want %s", 7 + i,
		              mount_dest_at(s, 7 + i), order[i]);
	/* --tmpfs: Docker's noexec,nosuid,nodev,rprivate, user options merged. */
	assert_strv(json_object_get(find_mount(s, "/run"), "options"),
	            (const char *[]){ "noexec", "nosuid", "nodev", "rprivate", NULL }, "/run");
	assert_strv(json_object_get(find_mount(s, "/tmp"), "options"),
	            (const char *[]){ "nosuid", "nodev", "rprivate", "size=64m", "exec", NULL }, "/tmp");
	ck_assert_str_eq(json_string_value(json_object_get(find_mount(s, "/tmp"), "type")), "tmpfs");
	/* -v */
	json_t *a = find_mount(s, "/a");
	ck_assert_str_eq(json_string_value(json_object_get(a, "source")), "/srv/conf");
	ck_assert_str_eq(json_string_value(json_object_get(a, "type")), "bind");
	assert_strv(json_object_get(a, "options"), (const char *[]){ "rbind", "ro", "rprivate", NULL }, "/a");
	assert_strv(json_object_get(find_mount(s, "/a/b/c"), "options"), (const char *[]){ "rbind", "rprivate", NULL },
	            "/a/b/c");
	assert_strv(json_object_get(find_mount(s, "/mnt/sh"), "options"), (const char *[]){ "rbind", "rshared", NULL },
	            "/mnt/sh");
	ck_assert_str_eq(json_string_value(jget(s, "linux", "rootfsPropagation", NULL)), "shared");
}
END_TEST

START_TEST(user_mounts_replace_defaults)
{
	/* A -v on /etc/hosts replaces the bundle's file; on /dev/shm the default;
	 * on /dev every /dev/... default. */
	struct spec_volume vols[] = {
		{ "/h/hosts", "/etc/hosts", true, NULL },
		{ "/h/shm", "/dev/shm", false, NULL },
	};
	struct spec_options o = opts_default();
	o.volumes = vols;
	o.n_volumes = 2;
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert_str_eq(json_string_value(json_object_get(find_mount(s, "/etc/hosts"), "source")), "/h/hosts");
	ck_assert_str_eq(json_string_value(json_object_get(find_mount(s, "/dev/shm"), "type")), "bind");
	ck_assert_int_eq(json_array_size(json_object_get(s, "mounts")), 10);

	struct spec_volume dev = { "/dev", "/dev", false, NULL };
	o.volumes = &dev;
	o.n_volumes = 1;
	_cleanup_json_ json_t *s2 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert_ptr_null(find_mount(s2, "/dev/pts"));
	ck_assert_ptr_null(find_mount(s2, "/dev/shm"));
	ck_assert_ptr_null(find_mount(s2, "/dev/mqueue"));
	ck_assert_str_eq(json_string_value(json_object_get(find_mount(s2, "/dev"), "type")), "bind");

	/* --tmpfs and -v on one path: the tmpfs wins (moby setupMounts). */
	struct spec_volume v1 = { "/h", "/data", false, NULL };
	char *tmpfs[] = { "/data:size=1m", NULL };
	o.volumes = &v1;
	o.tmpfs = tmpfs;
	_cleanup_json_ json_t *s3 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert_str_eq(json_string_value(json_object_get(find_mount(s3, "/data"), "type")), "tmpfs");
	ck_assert_int_eq(json_array_size(json_object_get(s3, "mounts")), 11);
}
END_TEST

START_TEST(user_mounts_errors)
{
	struct spec_options o = opts_default();
	struct spec_volume dup[] = { { "/h1", "/data", false, NULL }, { "/h2", "/data/", false, NULL } };
	o.volumes = dup;
	o.n_volumes = 2;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "duplicate mount point: /data");
	struct spec_volume rel = { "/h1", "data", false, NULL };
	o.volumes = &rel;
	o.n_volumes = 1;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "must be absolute");
	struct spec_volume root = { "/h1", "/.", false, NULL };
	o.volumes = &root;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "can't be \"/\"");
	struct spec_volume relsrc = { "h1", "/x", false, NULL };
	o.volumes = &relsrc;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "host path must be absolute");
	o.volumes = NULL;
	o.n_volumes = 0;
	static const struct {
		const char *tmpfs, *want;
	} bad[] = {
		{ "/t:size=1m,bogus", "invalid tmpfs option \"bogus\"" },
		{ "/t:foo=bar", "invalid tmpfs option \"foo=bar\"" },
		{ "/t:size=1m,,mode=1777", "invalid tmpfs option \"\"" },
		{ "/", "can't be \"/\"" },
		{ "tmp", "must be absolute" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *t[] = { (char *)bad[i].tmpfs, NULL };
		o.tmpfs = t;
		build_fails("{\"Cmd\":[\"sh\"]}", &o, bad[i].want);
	}
}
END_TEST

START_TEST(tmpfs_options_merge)
{
	static const struct {
		const char *data;
		const char *want[8];
	} cases[] = {
		{ NULL, { "noexec", "nosuid", "nodev", "rprivate" } },
		{ "exec", { "nosuid", "nodev", "rprivate", "exec" } },
		{ "size=1m,size=2m,mode=700", { "noexec", "nosuid", "nodev", "rprivate", "size=2m", "mode=700" } },
		{ "rshared,defaults,ro,rw", { "noexec", "nosuid", "nodev", "rshared", "rw" } },
		{ "suid,dev,uid=1000,gid=1000", { "noexec", "rprivate", "suid", "dev", "uid=1000", "gid=1000" } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		_cleanup_json_ json_t *out = NULL;
		struct mctr_err err = { 0 };
		ck_assert_msg(spec_tmpfs_options("/t", cases[i].data, &out, &err) == 0, "%s", err.msg);
		assert_strv(out, cases[i].want, cases[i].data ? cases[i].data : "(none)");
	}
}
END_TEST

START_TEST(read_only_rootfs)
{
	struct spec_volume v = { "/h", "/data", false, NULL };
	struct spec_options o = opts_default();
	o.read_only = true;
	o.volumes = &v;
	o.n_volumes = 1;
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert(json_is_true(jget(s, "root", "readonly", NULL)));
	/* The bundle's files become read-only, the tmpfs mounts and -v stay as
	 * given, and nothing gets "ro" twice. */
	const char *ro[] = { "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/sys", "/sys/fs/cgroup" };
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(strv_has(json_object_get(find_mount(s, ro[i]), "options"), "ro"), "%s", ro[i]);
	assert_strv(json_object_get(find_mount(s, "/sys"), "options"),
	            (const char *[]){ "nosuid", "noexec", "nodev", "ro", NULL }, "/sys");
	const char *rw[] = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/data" };
	for (size_t i = 0; i < 6; i++)
		ck_assert_msg(!strv_has(json_object_get(find_mount(s, rw[i]), "options"), "ro"), "%s", rw[i]);
	assert_strv(json_object_get(find_mount(s, "/etc/hosts"), "options"),
	            (const char *[]){ "rbind", "ro", "rprivate", NULL }, "/etc/hosts");
}
END_TEST

/* ---- masked paths, namespaces, sysctls ------------------------------------------------------------------ */

START_TEST(masked_and_readonly_paths)
{
	struct spec_options o = opts_default();
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	json_t *masked = jget(s, "linux", "maskedPaths", NULL);
	const char *base[] = { "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		               "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
		               "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware" };
	ck_assert_int_ge(json_array_size(masked), 12);
	for (size_t i = 0; i < 12; i++)
		ck_assert_str_eq(json_string_value(json_array_get(masked, i)), base[i]);
	for (size_t i = 12; i < json_array_size(masked); i++)
		ck_assert(strstr(json_string_value(json_array_get(masked, i)), "/thermal_throttle") != NULL);
	assert_strv(jget(s, "linux", "readonlyPaths", NULL),
	            (const char *[]){ "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL },
	            "readonlyPaths");

	/* The thermal_throttle dirs that exist, in CPU order (not glob order). */
	_cleanup_free_ char *root = test_mkdtemp("sysfs");
	const char *dirs[] = { "devices/system/cpu/cpu10/thermal_throttle", "devices/system/cpu/cpu2/thermal_throttle",
		               "devices/system/cpu/cpu0/thermal_throttle", "devices/system/cpu/cpu1",
		               "devices/system/cpu/cpufreq/thermal_throttle" };
	_cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct mctr_err err = { 0 };
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(mkdir_p_at(rfd, dirs[i], 0755, &err) == 0, "%s", err.msg);
	_cleanup_json_ json_t *fake = spec_masked_paths(root);
	ck_assert_int_eq(json_array_size(fake), 15);
	ck_assert_str_eq(json_string_value(json_array_get(fake, 12)), "/sys/devices/system/cpu/cpu0/thermal_throttle");
	ck_assert_str_eq(json_string_value(json_array_get(fake, 13)), "/sys/devices/system/cpu/cpu2/thermal_throttle");
	ck_assert_str_eq(json_string_value(json_array_get(fake, 14)), "/sys/devices/system/cpu/cpu10/thermal_throttle");
	test_rmtree(root);
}
END_TEST

START_TEST(namespaces_and_sysctls)
{
	struct spec_options o = opts_default();
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	json_t *ns = jget(s, "linux", "namespaces", NULL);
	const char *want[] = { "mount", "network", "uts", "pid", "ipc", "cgroup" };
	ck_assert_int_eq(json_array_size(ns), 6);
	for (size_t i = 0; i < 6; i++)
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ns, i), "type")), want[i]);
	ck_assert_str_eq(json_string_value(jget(s, "linux", "cgroupsPath", NULL)), "mctr/" CTR_ID);
	json_t *sysctl = jget(s, "linux", "sysctl", NULL);
	if (access("/proc/sys/net/ipv4/ip_unprivileged_port_start", F_OK) == 0)
		ck_assert_str_eq(json_string_value(json_object_get(sysctl, "net.ipv4.ip_unprivileged_port_start")),
		                 "0");

	o.network = SPEC_NET_NONE;
	_cleanup_json_ json_t *s2 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert_int_eq(json_array_size(jget(s2, "linux", "namespaces", NULL)), 6);

	o.network = SPEC_NET_HOST;
	_cleanup_json_ json_t *s3 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	json_t *ns3 = jget(s3, "linux", "namespaces", NULL);
	ck_assert_int_eq(json_array_size(ns3), 5);
	size_t i;
	json_t *v;
	json_array_foreach(ns3, i, v)
		ck_assert_str_ne(json_string_value(json_object_get(v, "type")), "network");
	ck_assert_ptr_null(jget(s3, "linux", "sysctl", NULL));
}
END_TEST

/* ---- capabilities ------------------------------------------------------------------------------------------ */

START_TEST(caps_default_set)
{
	struct spec_options o = opts_default();
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	json_t *caps = jget(s, "process", "capabilities", NULL);
	assert_strv(json_object_get(caps, "bounding"), (const char *const *)spec_default_caps, "bounding");
	assert_strv(json_object_get(caps, "effective"), (const char *const *)spec_default_caps, "effective");
	assert_strv(json_object_get(caps, "permitted"), (const char *const *)spec_default_caps, "permitted");
	ck_assert(json_is_array(json_object_get(caps, "inheritable")));
	ck_assert_int_eq(json_array_size(json_object_get(caps, "inheritable")), 0);
	ck_assert(json_is_array(json_object_get(caps, "ambient")));
	ck_assert_int_eq(json_array_size(json_object_get(caps, "ambient")), 0);
	/* /proc/<pid>/status CapEff of a Docker container. */
	ck_assert_uint_eq(caps_mask(json_object_get(caps, "effective")), 0xa80425fbULL);
	uint64_t m = 0;
	for (const char *const *c = spec_default_caps; *c != NULL; c++)
		m |= UINT64_C(1) << spec_cap_from_name(*c);
	ck_assert_uint_eq(m, 0xa80425fbULL);
	ck_assert_ptr_null(spec_default_caps[SPEC_N_DEFAULT_CAPS]);

	ck_assert_int_eq(spec_cap_from_name("chown"), 0);
	ck_assert_int_eq(spec_cap_from_name("CAP_CHOWN"), 0);
	ck_assert_int_eq(spec_cap_from_name("Cap_Net_Raw"), 13);
	ck_assert_int_eq(spec_cap_from_name("sys_admin"), 21);
	ck_assert_int_eq(spec_cap_from_name("CAP_AUDIT_WRITE"), 29);
	ck_assert_int_eq(spec_cap_from_name("checkpoint_restore"), 40);
	ck_assert_int_eq(spec_cap_from_name("bogus"), -1);
	ck_assert_int_eq(spec_cap_from_name("ALL"), -1);
	ck_assert_int_eq(spec_cap_from_name("CAP_"), -1);
	ck_assert_str_eq(spec_cap_name(31), "CAP_SETFCAP");
	ck_assert_ptr_null(spec_cap_name(CAP_LAST_CAP + 1));
	ck_assert(json_is_false(jget(s, "process", "noNewPrivileges", NULL)));
	o.no_new_privileges = true;
	_cleanup_json_ json_t *s2 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert(json_is_true(jget(s2, "process", "noNewPrivileges", NULL)));
}
END_TEST

struct cap_case {
	const char *add[3], *drop[3];
	int count;          /* -1: "all available" + delta in all_delta */
	int all_delta;
	const char *has[3];
	const char *lacks[3];
	const char *error;
};

START_TEST(caps_add_drop_table)
{
	int all = effective_cap_count();
	static const struct cap_case cases[] = {
		{ { "NET_ADMIN" }, { NULL }, 15, 0, { "CAP_NET_ADMIN", "CAP_CHOWN" }, { NULL }, NULL },
		{ { "cap_sys_admin" }, { NULL }, 15, 0, { "CAP_SYS_ADMIN" }, { NULL }, NULL },
		{ { "chown" }, { NULL }, 14, 0, { "CAP_CHOWN" }, { NULL }, NULL },
		{ { NULL }, { "MKNOD", "net_raw" }, 12, 0, { "CAP_KILL" }, { "CAP_MKNOD", "CAP_NET_RAW" }, NULL },
		{ { "NET_BIND_SERVICE" }, { "ALL" }, 1, 0, { "CAP_NET_BIND_SERVICE" }, { "CAP_CHOWN" }, NULL },
		{ { NULL }, { "all" }, 0, 0, { NULL }, { "CAP_CHOWN" }, NULL },
		{ { "ALL" }, { "NET_RAW" }, -1, -1, { "CAP_SYS_ADMIN", "CAP_CHOWN" }, { "CAP_NET_RAW" }, NULL },
		{ { "ALL" }, { NULL }, -1, 0, { "CAP_SYS_ADMIN" }, { NULL }, NULL },
		/* the add wins when a cap is both added and dropped */
		{ { "KILL" }, { "KILL" }, 14, 0, { "CAP_KILL" }, { NULL }, NULL },
		{ { "bogus" }, { NULL }, 0, 0, { NULL }, { NULL }, "--cap-add: unknown capability: \"CAP_BOGUS\"" },
		{ { NULL }, { "cap_foo" }, 0, 0, { NULL }, { NULL }, "--cap-drop: unknown capability: \"CAP_FOO\"" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct cap_case *c = &cases[i];
		struct spec_options o = opts_default();
		o.cap_add = c->add[0] ? (char **)c->add : NULL;
		o.cap_drop = c->drop[0] ? (char **)c->drop : NULL;
		if (c->error != NULL) {
			build_fails("{\"Cmd\":[\"sh\"]}", &o, c->error);
			continue;
		}
		_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
		json_t *b = jget(s, "process", "capabilities", "bounding");
		int want = c->count >= 0 ? c->count : all + c->all_delta;
		ck_assert_msg((int)json_array_size(b) == want, "case %zu: %zu caps, want %d", i, json_array_size(b),
		              want);
		/* no duplicates */
		ck_assert_int_eq(__builtin_popcountll(caps_mask(b)), want);
		for (size_t k = 0; k < 3 && c->has[k]; k++)
			ck_assert_msg(strv_has(b, c->has[k]), "case %zu: no %s", i, c->has[k]);
		for (size_t k = 0; k < 3 && c->lacks[k]; k++)
			ck_assert_msg(!strv_has(b, c->lacks[k]), "case %zu: has %s", i, c->lacks[k]);
		ck_assert(json_equal(b, jget(s, "process", "capabilities", "effective")));
	}
}
END_TEST

START_TEST(privileged)
{
	struct spec_options o = opts_default();
	o.privileged = true;
	char *drop[] = { "ALL", NULL };
	o.cap_drop = drop; /* ignored with --privileged, as in Docker */
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	json_t *b = jget(s, "process", "capabilities", "bounding");
	ck_assert_int_eq(json_array_size(b), effective_cap_count());
	ck_assert(strv_has(b, "CAP_SYS_ADMIN"));
	ck_assert_int_eq(json_array_size(jget(s, "linux", "maskedPaths", NULL)), 0);
	ck_assert_int_eq(json_array_size(jget(s, "linux", "readonlyPaths", NULL)), 0);
	json_t *devs = jget(s, "linux", "resources", "devices");
	ck_assert_int_eq(json_array_size(devs), 1);
	_cleanup_json_ json_t *all = json_pack("{s:b, s:s}", "allow", 1, "access", "rwm");
	ck_assert(json_equal(json_array_get(devs, 0), all));
	ck_assert(!strv_has(json_object_get(find_mount(s, "/sys"), "options"), "ro"));
	ck_assert(!strv_has(json_object_get(find_mount(s, "/sys/fs/cgroup"), "options"), "ro"));
	/* A non-root user keeps the bounding set only. */
	o.user = "1000:1000";
	_cleanup_json_ json_t *s2 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert_int_eq(json_array_size(jget(s2, "process", "capabilities", "bounding")), effective_cap_count());
	ck_assert_int_eq(json_array_size(jget(s2, "process", "capabilities", "effective")), 0);
}
END_TEST

/* ---- resources and rlimits ---------------------------------------------------------------------------------- */

static json_t *resources_of(const struct spec_options *o, json_t **spec_out)
{
	*spec_out = build_ok("{\"Cmd\":[\"sh\"]}", o);
	return jget(*spec_out, "linux", "resources", NULL);
}

START_TEST(resources_json)
{
	_cleanup_json_ json_t *s = NULL;
	struct spec_options o = opts_default();
	json_t *r = resources_of(&o, &s);
	/* Docker's device rules: deny all first, then the standard nodes. */
	json_t *devs = json_object_get(r, "devices");
	ck_assert_int_eq(json_array_size(devs), 12);
	_cleanup_json_ json_t *deny_all = json_pack("{s:b, s:s}", "allow", 0, "access", "rwm");
	ck_assert(json_equal(json_array_get(devs, 0), deny_all));
	_cleanup_json_ json_t *null_dev = json_pack("{s:b, s:s, s:i, s:i, s:s}", "allow", 1, "type", "c", "major", 1,
	                                             "minor", 3, "access", "rwm");
	_cleanup_json_ json_t *pts = json_pack("{s:b, s:s, s:i, s:s}", "allow", 1, "type", "c", "major", 136, "access",
	                                        "rwm");
	bool have_null = false, have_pts = false;
	size_t i;
	json_t *v;
	json_array_foreach(devs, i, v) {
		have_null |= json_equal(v, null_dev);
		have_pts |= json_equal(v, pts);
	}
	ck_assert(have_null && have_pts);
	ck_assert_ptr_null(json_object_get(r, "memory"));
	ck_assert_ptr_null(json_object_get(r, "cpu"));
	ck_assert_ptr_null(json_object_get(r, "pids"));

	/* --memory 64m: swap defaults to twice the memory. */
	_cleanup_json_ json_t *s1 = NULL;
	o.has_memory = true;
	o.memory = 64 * MiB;
	r = resources_of(&o, &s1);
	ck_assert_int_eq(json_integer_value(jget(r, "memory", "limit", NULL)), 67108864);
	ck_assert_int_eq(json_integer_value(jget(r, "memory", "swap", NULL)), 134217728);
	/* --memory-swap -1: unlimited, not written. */
	_cleanup_json_ json_t *s2 = NULL;
	o.has_memory_swap = true;
	o.memory_swap = -1;
	r = resources_of(&o, &s2);
	ck_assert_int_eq(json_integer_value(jget(r, "memory", "limit", NULL)), 67108864);
	ck_assert_ptr_null(jget(r, "memory", "swap", NULL));
	_cleanup_json_ json_t *s3 = NULL;
	o.memory_swap = 100 * MiB;
	r = resources_of(&o, &s3);
	ck_assert_int_eq(json_integer_value(jget(r, "memory", "swap", NULL)), 100 * MiB);
	/* no swap accounting on the host: dropped */
	_cleanup_json_ json_t *s4 = NULL;
	o.swap_limit_unsupported = true;
	r = resources_of(&o, &s4);
	ck_assert_ptr_null(jget(r, "memory", "swap", NULL));
	o.swap_limit_unsupported = false;
	o.memory_swap = 32 * MiB;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "must be at least the memory limit");
	o.has_memory = false;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "needs a --memory limit");
	o.has_memory = true;
	o.has_memory_swap = false;
	o.memory = 1 * MiB;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "minimum memory limit allowed is 6MB");
	o.memory = -5;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "cannot be negative");

	/* --cpus 1.5 (needs 2 usable CPUs, as dockerd checks), shares, pids */
	struct spec_options oc = opts_default();
	cpu_set_t set;
	ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
	int ncpu = CPU_COUNT(&set);
	struct mctr_err err = { 0 };
	oc.has_cpus = true;
	ck_assert_int_eq(cgroup_parse_cpus(ncpu >= 2 ? "1.5" : "0.5", &oc.nanocpus, &err), 0);
	oc.has_cpu_shares = true;
	oc.cpu_shares = 512;
	oc.has_pids_limit = true;
	oc.pids_limit = 100;
	_cleanup_json_ json_t *s5 = NULL;
	r = resources_of(&oc, &s5);
	ck_assert_int_eq(json_integer_value(jget(r, "cpu", "quota", NULL)), ncpu >= 2 ? 150000 : 50000);
	ck_assert_int_eq(json_integer_value(jget(r, "cpu", "period", NULL)), 100000);
	ck_assert_int_eq(json_integer_value(jget(r, "cpu", "shares", NULL)), 512);
	ck_assert_int_eq(json_integer_value(jget(r, "pids", "limit", NULL)), 100);
	ck_assert_int_eq(json_object_size(json_object_get(r, "cpu")), 3);
	/* Docker: pids 0 or -1 = unlimited; shares 0 = unset */
	_cleanup_json_ json_t *s6 = NULL;
	oc.pids_limit = 0;
	oc.cpu_shares = 0;
	oc.has_cpus = false;
	r = resources_of(&oc, &s6);
	ck_assert_ptr_null(json_object_get(r, "pids"));
	ck_assert_ptr_null(json_object_get(r, "cpu"));
	_cleanup_json_ json_t *s7 = NULL;
	oc.pids_limit = -1;
	r = resources_of(&oc, &s7);
	ck_assert_ptr_null(json_object_get(r, "pids"));
	oc.has_cpus = true;
	oc.nanocpus = (int64_t)(ncpu + 1) * 1000000000;
	build_fails("{\"Cmd\":[\"sh\"]}", &oc, "range of CPUs is from 0.01 to");
	oc.nanocpus = 5000000; /* 0.005 */
	build_fails("{\"Cmd\":[\"sh\"]}", &oc, "below the minimum of 0.01");
}
END_TEST

START_TEST(rlimits_json)
{
	struct spec_options o = opts_default();
	_cleanup_json_ json_t *s0 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	ck_assert_ptr_null(jget(s0, "process", "rlimits", NULL));
	struct spec_ulimit u[] = {
		{ RLIMIT_NOFILE, 1024, 2048 },
		{ RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY },
		{ RLIMIT_NOFILE, 512, 512 }, /* the last one wins */
	};
	o.ulimits = u;
	o.n_ulimits = 3;
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	_cleanup_json_ json_t *want = json_pack("[{s:s, s:i, s:i}, {s:s, s:I, s:I}]", "type", "RLIMIT_NOFILE", "soft",
	                                        512, "hard", 512, "type", "RLIMIT_CORE", "soft", (json_int_t)INT64_MAX,
	                                        "hard", (json_int_t)INT64_MAX);
	_cleanup_free_ char *got = json_dumps(jget(s, "process", "rlimits", NULL), JSON_COMPACT);
	ck_assert_msg(json_equal(jget(s, "process", "rlimits", NULL), want), "rlimits %s", got);
	struct spec_ulimit bad = { RLIMIT_NOFILE, 10, 5 };
	o.ulimits = &bad;
	o.n_ulimits = 1;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "soft limit is above the hard limit");
	struct spec_ulimit as = { RLIMIT_AS, 10, 10 };
	o.ulimits = &as;
	build_fails("{\"Cmd\":[\"sh\"]}", &o, "unknown resource");
}
END_TEST

/* ---- parsers ---------------------------------------------------------------------------------------------------- */

START_TEST(parse_size_table)
{
	static const struct {
		const char *in;
		int64_t want;
	} good[] = {
		{ "64m", 67108864 },      { "64M", 67108864 },       { "64mb", 67108864 },   { "64MiB", 67108864 },
		{ "64 m", 67108864 },     { "1g", 1073741824 },      { "1.5g", 1610612736 }, { "512k", 524288 },
		{ "1000", 1000 },         { "1000b", 1000 },         { "0", 0 },             { "0.5k", 512 },
		{ "0.1k", 102 },          { "2t", 2199023255552LL }, { "1p", 1125899906842624LL },
		{ ".5m", 524288 },        { "7.", 7 },               { "100 ", 100 },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int64_t v = -2;
		struct mctr_err err = { 0 };
		ck_assert_msg(spec_parse_size(good[i].in, &v, &err) == 0, "%s: %s", good[i].in, err.msg);
		ck_assert_msg(v == good[i].want, "%s = %" PRId64 ", want %" PRId64, good[i].in, v, good[i].want);
	}
	static const struct {
		const char *in, *want;
	} bad[] = {
		{ "", "invalid size \"\"" },
		{ "m", "invalid size \"m\"" },
		{ "-1", "cannot be negative" },
		{ "-64m", "cannot be negative" },
		{ "64x", "unknown unit \"x\"" },
		{ "64mbb", "unknown unit \"mbb\"" },
		{ "64bb", "unknown unit \"bb\"" },
		{ "64mib2", "invalid size" },
		{ "1.2.3m", "invalid size" },
		{ "abc", "invalid size" },
		{ "1e3", "invalid size \"1e3\"" },
		{ "6 4m", "invalid size" },
		{ "99999999999999999999", "too large" },
		{ "9999999999g", "too large" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t v = -2;
		struct mctr_err err = { 0 };
		ck_assert_msg(spec_parse_size(bad[i].in, &v, &err) < 0, "%s parsed as %" PRId64, bad[i].in, v);
		ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "%s: \"%s\" lacks \"%s\"", bad[i].in, err.msg,
		              bad[i].want);
	}
}
END_TEST

START_TEST(parse_ulimit_table)
{
	struct rlimit nofile;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &nofile), 0);
	static const struct {
		const char *in;
		int resource;
		uint64_t soft, hard;
	} good[] = {
		{ "nofile=1024:2048", RLIMIT_NOFILE, 1024, 2048 },
		{ "nofile=1024", RLIMIT_NOFILE, 1024, 1024 },
		{ "nproc=100:200", RLIMIT_NPROC, 100, 200 },
		{ "core=0", RLIMIT_CORE, 0, 0 },
		{ "stack=8192:-1", RLIMIT_STACK, 8192, RLIM_INFINITY },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		/* Hard limits above ours need CAP_SYS_RESOURCE: skip what this
		 * process could not set. */
		struct rlimit cur;
		ck_assert_int_eq(getrlimit(good[i].resource, &cur), 0);
		if (good[i].hard > cur.rlim_max && !have_cap(CAP_SYS_RESOURCE))
			continue;
		struct spec_ulimit u = { 0 };
		struct mctr_err err = { 0 };
		ck_assert_msg(spec_parse_ulimit(good[i].in, &u, &err) == 0, "%s: %s", good[i].in, err.msg);
		ck_assert_int_eq(u.resource, good[i].resource);
		ck_assert_uint_eq(u.soft, good[i].soft);
		ck_assert_uint_eq(u.hard, good[i].hard);
	}
	static const struct {
		const char *in, *want;
	} bad[] = {
		{ "nofile", "invalid ulimit argument \"nofile\"" },
		{ "bogus=1", "invalid ulimit type \"bogus\"" },
		{ "NOFILE=1", "invalid ulimit type \"NOFILE\"" },
		{ "nofile=", "invalid value \"\"" },
		{ "nofile=a", "invalid value \"a\"" },
		{ "nofile=1:2:3", "too many values" },
		{ "nofile=2048:1024", "soft limit must be less than or equal to the hard limit" },
		{ "nofile=-1:1024", "soft limit must be less than or equal to the hard limit" },
		{ "nofile=-5", "invalid value \"-5\"" },
		{ "nofile=99999999999999999999", "out of range" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct spec_ulimit u = { 0 };
		struct mctr_err err = { 0 };
		ck_assert_msg(spec_parse_ulimit(bad[i].in, &u, &err) < 0, "%s parsed", bad[i].in);
		ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "%s: \"%s\" lacks \"%s\"", bad[i].in, err.msg,
		              bad[i].want);
	}
	/* Unlimited open files: never possible (fs.nr_open), and without
	 * CAP_SYS_RESOURCE not even above our own hard limit. */
	struct spec_ulimit u = { 0 };
	struct mctr_err err = { 0 };
	ck_assert_int_lt(spec_parse_ulimit("nofile=-1", &u, &err), 0);
	const char *want_msg = have_cap(CAP_SYS_RESOURCE) ? "fs.nr_open" : "above the host's hard limit";
	ck_assert_msg(strstr(err.msg, want_msg) != NULL, "%s", err.msg);

	/* The host check, with the host's state given. */
	u = (struct spec_ulimit){ RLIMIT_NOFILE, 1024, 99999 };
	ck_assert_int_lt(spec_ulimit_check_host("nofile=1024:99999", &u, false, 20000, 1048576, &err), 0);
	ck_assert_str_eq(err.msg, "ulimit nofile=1024:99999: above the host's hard limit 20000 "
	                          "(raising it needs CAP_SYS_RESOURCE)");
	ck_assert_int_eq(spec_ulimit_check_host("nofile=1024:99999", &u, true, 20000, 1048576, &err), 0);
	ck_assert_int_eq(spec_ulimit_check_host("nofile=1024:99999", &u, false, RLIM_INFINITY, 0, &err), 0);
	ck_assert_int_lt(spec_ulimit_check_host("nofile=1024:99999", &u, true, RLIM_INFINITY, 65536, &err), 0);
	ck_assert(strstr(err.msg, "above the kernel's limit of 65536 open files (fs.nr_open)") != NULL);
	struct spec_ulimit mem = { RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY };
	ck_assert_int_lt(spec_ulimit_check_host("memlock=-1", &mem, false, 65536, 0, &err), 0);
	ck_assert(strstr(err.msg, "above the host's hard limit 65536") != NULL);
	ck_assert_int_eq(spec_ulimit_check_host("memlock=-1", &mem, false, RLIM_INFINITY, 0, &err), 0);

	/* And for real: without CAP_SYS_RESOURCE (dropped from this forked test
	 * process only) the hard limit cannot go up. */
	const char *fork_mode = getenv("CK_FORK");
	if (nofile.rlim_max != RLIM_INFINITY && (fork_mode == NULL || strcmp(fork_mode, "no") != 0)) {
		cap_t c = cap_get_proc();
		cap_value_t res = CAP_SYS_RESOURCE;
		ck_assert_int_eq(cap_set_flag(c, CAP_EFFECTIVE, 1, &res, CAP_CLEAR), 0);
		ck_assert_int_eq(cap_set_proc(c), 0);
		cap_free(c);
		_cleanup_free_ char *text = xasprintf("nofile=1024:%llu", (unsigned long long)nofile.rlim_max + 1);
		_cleanup_free_ char *want = xasprintf("above the host's hard limit %llu "
		                                      "(raising it needs CAP_SYS_RESOURCE)",
		                                      (unsigned long long)nofile.rlim_max);
		ck_assert_int_lt(spec_parse_ulimit(text, &u, &err), 0);
		ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
		_cleanup_free_ char *same = xasprintf("nofile=1024:%llu", (unsigned long long)nofile.rlim_max);
		ck_assert_msg(spec_parse_ulimit(same, &u, &err) == 0, "%s", err.msg);
	}
}
END_TEST

START_TEST(parse_volume_table)
{
	static const struct {
		const char *in, *src, *dst;
		bool ro;
		const char *prop;
	} good[] = {
		{ "/h:/c", "/h", "/c", false, NULL },
		{ "/h:/c:ro", "/h", "/c", true, NULL },
		{ "/h:/c:rw", "/h", "/c", false, NULL },
		{ "/h/../x//:/c/./d/", "/x", "/c/d", false, NULL },
		{ "/h:/c:ro,z", "/h", "/c", true, NULL },
		{ "/h:/c:Z,rslave,nocopy", "/h", "/c", false, "rslave" },
		{ "/h:/c:rshared", "/h", "/c", false, "rshared" },
		{ "/h:/c:cached", "/h", "/c", false, NULL },
		{ "/h:/c:", "/h", "/c", false, NULL },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct spec_volume v = { 0 };
		struct mctr_err err = { 0 };
		ck_assert_msg(spec_parse_volume(good[i].in, &v, &err) == 0, "%s: %s", good[i].in, err.msg);
		ck_assert_str_eq(v.source, good[i].src);
		ck_assert_str_eq(v.destination, good[i].dst);
		ck_assert_msg(v.readonly == good[i].ro, "%s: readonly", good[i].in);
		if (good[i].prop == NULL)
			ck_assert_ptr_null(v.propagation);
		else
			ck_assert_str_eq(v.propagation, good[i].prop);
		spec_volume_free(&v);
		ck_assert_ptr_null(v.source);
	}
	static const struct {
		const char *in, *want;
	} bad[] = {
		{ "/data", "anonymous volumes are not supported" },
		{ "name:/c", "named volumes are not supported" },
		{ "/h:c", "mount path 'c' must be absolute" },
		{ "/h:/", "destination can't be '/'" },
		{ "/h:/x/..", "destination can't be '/'" },
		{ "/h:/c:rx", "invalid mode: rx" },
		{ "/h:/c:ro,rw", "invalid mode: ro,rw" },
		{ "/h:/c:z,Z", "invalid mode: z,Z" },
		{ "/h:/c:ro,", "invalid mode: ro," },
		{ ":/c", "invalid volume specification: ':/c'" },
		{ "/a:/b:/c:ro", "invalid volume specification: '/a:/b:/c:ro'" },
		{ "/c:rw", "invalid volume specification: '/c:rw'" },
		{ "", "invalid volume specification: ''" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct spec_volume v = { 0 };
		struct mctr_err err = { 0 };
		ck_assert_msg(spec_parse_volume(bad[i].in, &v, &err) < 0, "%s parsed", bad[i].in);
		ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "%s: \"%s\" lacks \"%s\"", bad[i].in, err.msg,
		              bad[i].want);
		ck_assert_ptr_null(v.source);
	}
}
END_TEST

START_TEST(path_clean)
{
	static const char *const cases[][2] = {
		{ "/", "/" },       { "//", "/" },         { "/a/", "/a" },        { "/a//b", "/a/b" },
		{ "/a/./b", "/a/b" }, { "/a/../b", "/b" }, { "/../../a", "/a" },   { "/a/b/../..", "/" },
		{ "/a/b/..", "/a" }, { "/.a/..b/...", "/.a/..b/..." },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		_cleanup_free_ char *c = spec_path_clean(cases[i][0]);
		ck_assert_msg(strcmp(c, cases[i][1]) == 0, "clean(%s) = %s, want %s", cases[i][0], c, cases[i][1]);
	}
	ck_assert_int_eq(spec_path_depth("/"), 1);
	ck_assert_int_eq(spec_path_depth("/a"), 1);
	ck_assert_int_eq(spec_path_depth("/a/b/c"), 3);
}
END_TEST

/* ---- the whole document ---------------------------------------------------------------------------------------- */

START_TEST(annotations_and_identity)
{
	struct spec_options o = opts_default();
	o.init = true;
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	json_t *ann = json_object_get(s, "annotations");
	ck_assert_str_eq(json_string_value(json_object_get(ann, RT_ANN_OVERLAY_LOWER)),
	                 "/var/lib/mctr/layers/b:/var/lib/mctr/layers/a");
	ck_assert_str_eq(json_string_value(json_object_get(ann, RT_ANN_OVERLAY_UPPER)), BUNDLE "/upper");
	ck_assert_str_eq(json_string_value(json_object_get(ann, RT_ANN_OVERLAY_WORK)), BUNDLE "/work");
	ck_assert_str_eq(json_string_value(json_object_get(ann, RT_ANN_INIT)), "true");

	struct spec_options o2 = opts_default();
	o2.lowerdirs = NULL;
	o2.user = "0:0";
	_cleanup_json_ json_t *s2 = build_ok("{\"Cmd\":[\"sh\"]}", &o2);
	ck_assert_int_eq(json_object_size(json_object_get(s2, "annotations")), 0);

	char *bad_lower[] = { "/l/a:b", NULL };
	o2.lowerdirs = bad_lower;
	build_fails("{\"Cmd\":[\"sh\"]}", &o2, "layer directory \"/l/a:b\"");
	char *rel_lower[] = { "l/a", NULL };
	o2.lowerdirs = rel_lower;
	build_fails("{\"Cmd\":[\"sh\"]}", &o2, "absolute path");
	struct spec_options o3 = opts_default();
	o3.bundle = "containers/x";
	build_fails("{\"Cmd\":[\"sh\"]}", &o3, "bundle \"containers/x\" is not an absolute path");
	o3.bundle = "/c:x";
	build_fails("{\"Cmd\":[\"sh\"]}", &o3, "containing ':' or ','");
	struct spec_options o4 = opts_default();
	o4.container_id = "../etc";
	build_fails("{\"Cmd\":[\"sh\"]}", &o4, "invalid container ID \"../etc\"");
	o4.container_id = NULL;
	build_fails("{\"Cmd\":[\"sh\"]}", &o4, "invalid container ID");
	struct spec_options o5 = opts_default();
	build_fails("[1]", &o5, "image config: \"config\" is not an object");
	/* Not UTF-8: refused rather than silently left out of the JSON. */
	o5.user = "\xff\xfe";
	build_fails("{\"Cmd\":[\"sh\"]}", &o5, "-u \"\xff\xfe\" is not valid UTF-8");
	o5.user = NULL;
	char *bad_args[] = { "echo", "caf\xe9", NULL };
	o5.args = bad_args;
	build_fails("{\"Cmd\":[\"sh\"]}", &o5, "is not valid UTF-8");
	o5.args = NULL;
	/* A short ID is the hostname whole. */
	o5.container_id = "abc";
	_cleanup_json_ json_t *s5 = build_ok("{\"Cmd\":[\"sh\"]}", &o5);
	ck_assert_str_eq(json_string_value(json_object_get(s5, "hostname")), "abc");
}
END_TEST

static struct spec_options full_options(void)
{
	static char *args[] = { "-c", "echo hi", NULL };
	static char *ep[] = { "/bin/sh", NULL };
	static char *env[] = { "A=1", NULL };
	static char *tmpfs[] = { "/run:size=8m", NULL };
	static char *add[] = { "NET_ADMIN", NULL };
	static char *drop[] = { "MKNOD", NULL };
	static struct spec_volume vols[] = { { "/srv/data", "/data", true, NULL } };
	static struct spec_ulimit ul[] = { { RLIMIT_NOFILE, 1024, 2048 }, { RLIMIT_CORE, 0, RLIM_INFINITY } };
	struct spec_options o = opts_default();
	o.args = args;
	o.entrypoint = ep;
	o.entrypoint_set = true;
	o.env = env;
	o.workdir = "/data";
	o.tty = true;
	o.init = true;
	o.no_new_privileges = true;
	o.cap_add = add;
	o.cap_drop = drop;
	o.volumes = vols;
	o.n_volumes = 1;
	o.tmpfs = tmpfs;
	o.hostname = "box";
	o.has_memory = true;
	o.memory = 64 * MiB;
	o.has_cpu_shares = true;
	o.cpu_shares = 512;
	o.has_pids_limit = true;
	o.pids_limit = 64;
	o.ulimits = ul;
	o.n_ulimits = 2;
	return o;
}

START_TEST(oci_structure)
{
	struct spec_options variants[4];
	variants[0] = opts_default();
	variants[1] = full_options();
	variants[2] = full_options();
	variants[2].privileged = true;
	variants[2].read_only = true;
	variants[2].user = "app:staff";
	variants[3] = opts_default();
	variants[3].user = "1000:1000";
	variants[3].network = SPEC_NET_HOST;
	for (size_t i = 0; i < 4; i++) {
		_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"],\"Env\":[\"X=y\"],\"User\":\"\"}", &variants[i]);
		assert_valid_oci(s);
		/* It serialises and parses back to the same document. */
		_cleanup_free_ char *text = json_dumps(s, JSON_COMPACT);
		_cleanup_json_ json_t *back = json_loads(text, 0, NULL);
		ck_assert(json_equal(s, back));
	}
}
END_TEST

/* The runtime's reader (spec_load.c) accepts what the builder writes, and
 * reads the same values back. */
START_TEST(roundtrip_through_runtime_loader)
{
	struct spec_options o = full_options();
	_cleanup_json_ json_t *s = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	struct rt_spec rs;
	struct mctr_err err = { 0 };
	int rc = rt_spec_parse(s, BUNDLE, &rs, &err);
	ck_assert_msg(rc == 0, "rt_spec_parse: %s", err.msg);
	ck_assert_str_eq(rs.process.args[0], "/bin/sh");
	ck_assert_str_eq(rs.process.cwd, "/data");
	ck_assert(rs.process.terminal && rs.process.no_new_privileges && rs.init);
	uint64_t want = (0xa80425fbULL & ~(UINT64_C(1) << 27)) | (UINT64_C(1) << 12); /* -MKNOD +NET_ADMIN */
	ck_assert_uint_eq(rs.process.caps.bounding, want);
	ck_assert_uint_eq(rs.process.caps.effective, want);
	ck_assert_uint_eq(rs.process.n_rlimits, 2);
	ck_assert_uint_eq(rs.process.rlimits[1].hard, RLIM_INFINITY);
	ck_assert_str_eq(rs.cgroups_path, "mctr/" CTR_ID);
	ck_assert_str_eq(rs.root_path, BUNDLE "/rootfs");
	ck_assert_str_eq(rs.overlay_lower[0], "/var/lib/mctr/layers/b");
	ck_assert_str_eq(rs.overlay_lower[1], "/var/lib/mctr/layers/a");
	ck_assert(rs.resources.has_memory && rs.resources.memory == 64 * MiB);
	ck_assert(rs.resources.has_memory_swap && rs.resources.memory_swap == 128 * MiB);
	ck_assert(rs.resources.has_pids_limit && rs.resources.pids_limit == 64);
	ck_assert(rs.ns_new[RT_NS_NET] && rs.ns_new[RT_NS_CGROUP]);
	ck_assert_str_eq(rs.process.user_name, "0"); /* root, looked up for its groups */
	rt_spec_free(&rs);

	/* a named user and --privileged, --network host */
	o.user = "app";
	o.privileged = true;
	o.network = SPEC_NET_HOST;
	_cleanup_json_ json_t *s2 = build_ok("{\"Cmd\":[\"sh\"]}", &o);
	rc = rt_spec_parse(s2, BUNDLE, &rs, &err);
	ck_assert_msg(rc == 0, "rt_spec_parse: %s", err.msg);
	ck_assert_str_eq(rs.process.user_name, "app");
	ck_assert(!rs.ns_new[RT_NS_NET]);
	ck_assert_ptr_null(rs.masked_paths[0]);
	rt_spec_free(&rs);
}
END_TEST

static Suite *spec_suite(void)
{
	Suite *s = suite_create("spec");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, merge_args_table);
	tcase_add_test(tc, env_override_order);
	tcase_add_test(tc, user_forms_table);
	tcase_add_test(tc, cwd_rules);
	tcase_add_test(tc, hostname_rules);
	tcase_add_test(tc, default_mounts_in_order);
	tcase_add_test(tc, user_mounts_tmpfs_and_volumes);
	tcase_add_test(tc, user_mounts_replace_defaults);
	tcase_add_test(tc, user_mounts_errors);
	tcase_add_test(tc, tmpfs_options_merge);
	tcase_add_test(tc, read_only_rootfs);
	tcase_add_test(tc, masked_and_readonly_paths);
	tcase_add_test(tc, namespaces_and_sysctls);
	tcase_add_test(tc, caps_default_set);
	tcase_add_test(tc, caps_add_drop_table);
	tcase_add_test(tc, privileged);
	tcase_add_test(tc, resources_json);
	tcase_add_test(tc, rlimits_json);
	tcase_add_test(tc, parse_size_table);
	tcase_add_test(tc, parse_ulimit_table);
	tcase_add_test(tc, parse_volume_table);
	tcase_add_test(tc, path_clean);
	tcase_add_test(tc, annotations_and_identity);
	tcase_add_test(tc, oci_structure);
	tcase_add_test(tc, roundtrip_through_runtime_loader);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(spec_suite());
}
