/* spec_build(): image config + `mctr run` flags -> OCI runtime-spec
 * config.json, the way dockerd builds it (moby daemon/commit.go merge(),
 * daemon/container.go newContainer(), container.CreateDaemonEnvironment(),
 * daemon/oci_linux.go createSpec()).  The process part (argv, env, user,
 * cwd) lives here; capabilities, mounts and resources in spec_*.c. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mctr/cgroup.h"
#include "mctr/cleanup.h"
#include "mctr/fsutil.h"
#include "mctr/jsonutil.h"
#include "mctr/runtime.h"
#include "spec_internal.h"

#define SPEC_OCI_VERSION "1.0.2"
#define SPEC_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SPEC_HOSTNAME_MAX 64 /* the kernel's HOST_NAME_MAX */

/* jansson refuses strings that are not UTF-8 (json_string() gives NULL and
 * the value silently goes missing from the document: a user annotation
 * lost means running as root).  Refuse them up front. */
static int utf8_check(const char *what, const char *s, struct mctr_err *err)
{
	if (s == NULL)
		return 0;
	json_t *j = json_string(s);
	if (j == NULL)
		return mctr_fail(err, 0, "%s \"%s\" is not valid UTF-8", what, s);
	json_decref(j);
	return 0;
}

/* ---- argv ------------------------------------------------------------------------- */

int spec_merge_args(const json_t *image_config, const struct spec_options *o, char ***argv, struct mctr_err *err)
{
	_cleanup_strv_ char **img_ep = NULL, **img_cmd = NULL;
	if (json_to_strv(json_object_get(image_config, "Entrypoint"), "image config: Entrypoint", &img_ep, err) < 0 ||
	    json_to_strv(json_object_get(image_config, "Cmd"), "image config: Cmd", &img_cmd, err) < 0)
		return -1;
	char *const *ep, *const *cmd;
	if (o->entrypoint_set) {
		/* Any --entrypoint, "" included, replaces the image's Entrypoint AND
		 * drops its Cmd: merge() only takes the image's Cmd when the user
		 * gave no Entrypoint (the CLI sends [""] for --entrypoint ""). */
		ep = o->entrypoint;
		cmd = o->args;
	} else {
		ep = img_ep;
		cmd = mctr_strv_len(o->args) > 0 ? o->args : img_cmd;
	}
	/* mergeAndVerifyConfig(): an Entrypoint of exactly [""] means none. */
	if (mctr_strv_len(ep) == 1 && ep[0][0] == '\0')
		ep = NULL;
	size_t n_ep = mctr_strv_len(ep), n_cmd = mctr_strv_len(cmd);
	if (n_ep + n_cmd == 0)
		return mctr_fail(err, 0, "no command specified");
	char **v = xcalloc(n_ep + n_cmd + 1, sizeof *v);
	for (size_t i = 0; i < n_ep; i++)
		v[i] = xstrdup(ep[i]);
	for (size_t i = 0; i < n_cmd; i++)
		v[n_ep + i] = xstrdup(cmd[i]);
	*argv = v;
	return 0;
}

/* ---- user --------------------------------------------------------------------------- */

struct spec_user {
	bool by_name;      /* resolved by the runtime in the container's /etc/passwd */
	uint32_t uid, gid; /* when !by_name */
};

/* A uid or gid: decimal, below (uint32_t)-1 which means "no change" to
 * setresuid.  1 = numeric and fine, 0 = not numeric, -1 = out of range. */
static int parse_id(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v >= UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 1;
}

static int user_parse(const char *user, struct spec_user *u, struct mctr_err *err)
{
	memset(u, 0, sizeof *u);
	if (user == NULL || user[0] == '\0') {
		u->by_name = true; /* root, with the groups /etc/group gives it */
		return 0;
	}
	const char *colon = strchr(user, ':');
	if (user[0] == ':' || (colon != NULL && (colon[1] == '\0' || strchr(colon + 1, ':') != NULL)))
		return mctr_fail(err, 0, "invalid user \"%s\" (expected NAME|UID[:GROUP|GID])", user);
	for (const char *c = user; *c != '\0'; c++)
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c) || *c == '/')
			return mctr_fail(err, 0, "invalid user \"%s\": bad character", user);
	size_t ulen = colon != NULL ? (size_t)(colon - user) : strlen(user);
	int ru = parse_id(user, ulen, &u->uid);
	int rg = colon != NULL ? parse_id(colon + 1, strlen(colon + 1), &u->gid) : 1;
	if (ru < 0 || rg < 0)
		return mctr_fail(err, 0, "invalid user \"%s\": id out of range", user);
	if (ru == 0 || rg == 0 || colon == NULL) {
		/* A name somewhere, or no group: only the container's
		 * /etc/passwd and /etc/group can say what it means (Docker
		 * looks a bare uid up too: its gid, HOME and supplementary
		 * groups come from there). */
		u->by_name = true;
		u->uid = u->gid = 0;
	}
	return 0;
}

/* ---- env ------------------------------------------------------------------------------ */

static size_t env_key_len(const char *e)
{
	const char *eq = strchr(e, '=');
	return eq != NULL ? (size_t)(eq - e) : strlen(e);
}

static bool env_same_key(const char *a, const char *b)
{
	size_t la = env_key_len(a);
	return la == env_key_len(b) && strncmp(a, b, la) == 0;
}

/* merge(): the user's -e entries, then the image's Env entries whose key the
 * user did not give. */
static int env_merge_user_image(const json_t *image_config, const struct spec_options *o, json_t *out,
                                struct mctr_err *err)
{
	_cleanup_strv_ char **img = NULL;
	if (json_to_strv(json_object_get(image_config, "Env"), "image config: Env", &img, err) < 0)
		return -1;
	for (char **e = o->env; e != NULL && *e != NULL; e++) {
		if ((*e)[0] == '=' || (*e)[0] == '\0')
			return mctr_fail(err, 0, "invalid environment variable \"%s\"", *e);
		json_array_append_new(out, json_string(*e));
	}
	for (char **ie = img; *ie != NULL; ie++) {
		if ((*ie)[0] == '=')
			return mctr_fail(err, 0, "image config: Env entry \"%s\" has no name", *ie);
		bool found = false;
		for (char **e = o->env; e != NULL && *e != NULL && !found; e++)
			found = env_same_key(*ie, *e);
		if (!found)
			json_array_append_new(out, json_string(*ie));
	}
	return 0;
}

/* container.ReplaceOrAppendEnvValues(): an override replaces the default
 * with its key, or is appended; "KEY" without '=' removes the default. */
static void env_replace_or_append(json_t *env, const json_t *overrides)
{
	size_t n_defaults = json_array_size(env), i;
	json_t *ov;
	json_array_foreach(overrides, i, ov) {
		const char *value = json_string_value(ov);
		size_t hit = SIZE_MAX;
		for (size_t k = 0; k < n_defaults; k++)
			if (env_same_key(json_string_value(json_array_get(env, k)), value))
				hit = k;
		if (strchr(value, '=') == NULL) {
			if (hit != SIZE_MAX)
				json_array_set_new(env, hit, json_string(""));
			continue;
		}
		if (hit != SIZE_MAX)
			json_array_set(env, hit, ov);
		else
			json_array_append(env, ov);
	}
	for (size_t k = json_array_size(env); k-- > 0;)
		if (json_string_value(json_array_get(env, k))[0] == '\0')
			json_array_remove(env, k);
}

static bool env_has(const json_t *env, const char *key)
{
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) {
		if (env_same_key(json_string_value(v), key))
			return true;
	}
	return false;
}

static int env_build(const json_t *image_config, const struct spec_options *o, const char *hostname,
                     const struct spec_user *u, json_t **out, struct mctr_err *err)
{
	_cleanup_json_ json_t *merged = json_array();
	if (env_merge_user_image(image_config, o, merged, err) < 0)
		return -1;
	_cleanup_json_ json_t *env = json_array();
	json_array_append_new(env, json_string(SPEC_DEFAULT_PATH));
	json_array_append_new(env, json_sprintf("HOSTNAME=%s", hostname));
	if (o->tty)
		json_array_append_new(env, json_string("TERM=xterm"));
	env_replace_or_append(env, merged);
	/* runc sets HOME from the passwd entry when it is unset.  A name is
	 * resolved by the runtime, which does the same; for a number we know
	 * root's and use "/" (runc's answer for a uid passwd lacks) otherwise. */
	if (!u->by_name && !env_has(env, "HOME"))
		json_array_append_new(env, json_string(u->uid == 0 ? "HOME=/root" : "HOME=/"));
	*out = steal_pointer(&env);
	return 0;
}

/* ---- cwd, hostname, identity ----------------------------------------------------------- */

static int cwd_build(const json_t *image_config, const struct spec_options *o, char **out, struct mctr_err *err)
{
	const char *wd = o->workdir;
	if (wd == NULL || wd[0] == '\0')
		wd = json_get_str(image_config, "WorkingDir");
	if (wd == NULL || wd[0] == '\0') {
		*out = xstrdup("/");
		return 0;
	}
	if (wd[0] != '/')
		return mctr_fail(err, 0, "the working directory \"%s\" is invalid: the working directory must be "
		                 "absolute", wd);
	*out = spec_path_clean(wd);
	return 0;
}

static bool id_valid(const char *id)
{
	if (id == NULL || !isalnum((unsigned char)id[0]) || strlen(id) > 128)
		return false;
	for (const char *c = id; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.' && *c != '-')
			return false;
	return true;
}

/* -h, else the host's name with --network host (moby newContainer()), else
 * the first 12 characters of the container ID. */
static int hostname_build(const struct spec_options *o, char **out, struct mctr_err *err)
{
	char buf[SPEC_HOSTNAME_MAX + 2];
	const char *h = o->hostname;
	if (h == NULL || h[0] == '\0') {
		if (o->network == SPEC_NET_HOST) {
			if (gethostname(buf, sizeof buf - 1) < 0)
				return mctr_fail_errno(err, "failed to retrieve hostname");
			buf[sizeof buf - 1] = '\0';
		} else {
			snprintf(buf, sizeof buf, "%.12s", o->container_id);
		}
		h = buf;
	}
	if (utf8_check("hostname", h, err) < 0)
		return -1;
	if (strlen(h) > SPEC_HOSTNAME_MAX)
		return mctr_fail(err, 0, "invalid hostname \"%s\": longer than %d characters", h, SPEC_HOSTNAME_MAX);
	for (const char *c = h; *c != '\0'; c++)
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c) || *c == '/')
			return mctr_fail(err, 0, "invalid hostname \"%s\": bad character", h);
	*out = xstrdup(h);
	return 0;
}

/* ---- process ------------------------------------------------------------------------------ */

static int process_build(const json_t *image_config, const struct spec_options *o, const char *hostname,
                         json_t *annotations, json_t **out, struct mctr_err *err)
{
	/* merge(): -u, else the image's User. */
	const char *user = o->user != NULL && o->user[0] != '\0' ? o->user : json_get_str(image_config, "User");
	struct spec_user u;
	_cleanup_strv_ char **argv = NULL;
	_cleanup_free_ char *cwd = NULL;
	_cleanup_json_ json_t *env = NULL, *caps = NULL, *rlimits = NULL;
	if (spec_merge_args(image_config, o, &argv, err) < 0 || user_parse(user, &u, err) < 0 ||
	    env_build(image_config, o, hostname, &u, &env, err) < 0 || cwd_build(image_config, o, &cwd, err) < 0 ||
	    /* A name may be root: its effective set is the runtime's to clear
	     * once it knows the uid, as moby does after resolving it. */
	    spec_caps_build(o, u.by_name || u.uid == 0, &caps, err) < 0 ||
	    spec_rlimits_build(o, &rlimits, err) < 0)
		return -1;
	if (u.by_name)
		json_object_set_new(annotations, RT_ANN_USER, json_string(user && user[0] ? user : "0"));
	json_t *p = json_object();
	json_object_set_new(p, "terminal", json_boolean(o->tty));
	json_object_set_new(p, "user", json_pack("{s:I, s:I}", "uid", (json_int_t)u.uid, "gid", (json_int_t)u.gid));
	json_object_set_new(p, "args", json_from_strv(argv));
	json_object_set_new(p, "env", steal_pointer(&env));
	json_object_set_new(p, "cwd", json_string(cwd));
	json_object_set_new(p, "capabilities", steal_pointer(&caps));
	if (rlimits != NULL)
		json_object_set_new(p, "rlimits", steal_pointer(&rlimits));
	json_object_set_new(p, "noNewPrivileges", json_boolean(o->no_new_privileges));
	*out = p;
	return 0;
}

/* ---- root and annotations ------------------------------------------------------------------- */

static int overlay_annotations(const struct spec_options *o, json_t *annotations, struct mctr_err *err)
{
	size_t n = mctr_strv_len(o->lowerdirs);
	if (n == 0)
		return 0;
	/* overlayfs takes them as "lowerdir=a:b,upperdir=...". */
	if (strpbrk(o->bundle, ":,") != NULL)
		return mctr_fail(err, 0, "bundle %s: an overlay cannot use a path containing ':' or ','", o->bundle);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *d = o->lowerdirs[i];
		if (d[0] != '/' || strpbrk(d, ":,") != NULL)
			return mctr_fail(err, 0, "layer directory \"%s\": an overlay lower dir must be an absolute "
			                 "path without ':' or ','", d);
		len += strlen(d) + 1;
	}
	_cleanup_free_ char *lower = xmalloc(len);
	lower[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(lower, ":");
		strcat(lower, o->lowerdirs[i]);
	}
	_cleanup_free_ char *upper = path_join(o->bundle, "upper"), *work = path_join(o->bundle, "work");
	json_object_set_new(annotations, RT_ANN_OVERLAY_LOWER, json_string(lower));
	json_object_set_new(annotations, RT_ANN_OVERLAY_UPPER, json_string(upper));
	json_object_set_new(annotations, RT_ANN_OVERLAY_WORK, json_string(work));
	return 0;
}

/* ---- linux ----------------------------------------------------------------------------------- */

static json_t *namespaces_json(const struct spec_options *o)
{
	/* DefaultLinuxSpec()'s order, plus a private cgroup namespace (Docker's
	 * default on cgroup v2).  SPEC_NET_NONE is an own namespace too. */
	json_t *arr = json_array();
	static const char *const types[] = { "mount", "network", "uts", "pid", "ipc", "cgroup", NULL };
	for (const char *const *t = types; *t != NULL; t++) {
		if (strcmp(*t, "network") == 0 && o->network == SPEC_NET_HOST)
			continue;
		json_array_append_new(arr, json_pack("{s:s}", "type", *t));
	}
	return arr;
}

/* moby userns.RunningInUserNS(): the initial namespace maps all 2^32 ids. */
static bool running_in_userns(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long a, b, c;
	if (f == NULL || fscanf(f, "%lu %lu %lu", &a, &b, &c) != 3)
		return false;
	return !(a == 0 && b == 0 && c == 4294967295UL);
}

/* withCommonOptions(): with a network namespace of its own, let any user
 * ping and bind low ports, as the default capabilities allow root anyway.
 * Only the sysctls this kernel has; no ping groups inside a userns. */
static json_t *sysctl_json(const struct spec_options *o)
{
	json_t *s = json_object();
	if (o->network == SPEC_NET_HOST)
		return s;
	if (!running_in_userns() && access("/proc/sys/net/ipv4/ping_group_range", F_OK) == 0)
		json_object_set_new(s, "net.ipv4.ping_group_range", json_string("0 2147483647"));
	if (access("/proc/sys/net/ipv4/ip_unprivileged_port_start", F_OK) == 0)
		json_object_set_new(s, "net.ipv4.ip_unprivileged_port_start", json_string("0"));
	return s;
}

static int linux_build(const struct spec_options *o, const char *rootfs_propagation, json_t **out,
                       struct mctr_err *err)
{
	json_t *res = NULL;
	if (spec_resources_build(o, &res, err) < 0)
		return -1;
	json_t *lx = json_object();
	json_object_set_new(lx, "namespaces", namespaces_json(o));
	/* --privileged: nothing masked, nothing read-only. */
	json_object_set_new(lx, "maskedPaths", o->privileged ? json_array() : spec_masked_paths("/sys"));
	json_object_set_new(lx, "readonlyPaths", o->privileged ? json_array() : spec_readonly_paths());
	json_object_set_new(lx, "resources", res);
	json_object_set_new(lx, "cgroupsPath", json_sprintf("%s/%s", CGROUP_DEFAULT_PARENT, o->container_id));
	json_t *sysctl = sysctl_json(o);
	if (json_object_size(sysctl) > 0)
		json_object_set_new(lx, "sysctl", sysctl);
	else
		json_decref(sysctl);
	if (rootfs_propagation != NULL)
		json_object_set_new(lx, "rootfsPropagation", json_string(rootfs_propagation));
	*out = lx;
	return 0;
}

/* ---- the document ------------------------------------------------------------------------------ */

static int utf8_check_strv(const char *what, char *const *v, struct mctr_err *err)
{
	for (; v != NULL && *v != NULL; v++)
		if (utf8_check(what, *v, err) < 0)
			return -1;
	return 0;
}

static int options_utf8_check(const struct spec_options *o, struct mctr_err *err)
{
	if (utf8_check_strv("argument", o->args, err) < 0 || utf8_check_strv("--entrypoint", o->entrypoint, err) < 0 ||
	    utf8_check_strv("environment variable", o->env, err) < 0 || utf8_check("-w", o->workdir, err) < 0 ||
	    utf8_check("-u", o->user, err) < 0 ||
	    utf8_check_strv("--tmpfs", o->tmpfs, err) < 0 || utf8_check("--hostname", o->hostname, err) < 0 ||
	    utf8_check("bundle", o->bundle, err) < 0 || utf8_check_strv("layer directory", o->lowerdirs, err) < 0)
		return -1;
	for (size_t i = 0; i < o->n_volumes; i++)
		if (utf8_check("-v", o->volumes[i].source, err) < 0 ||
		    utf8_check("-v", o->volumes[i].destination, err) < 0)
			return -1;
	return 0;
}

static int options_check(const json_t *image_config, const struct spec_options *o, struct mctr_err *err)
{
	if (options_utf8_check(o, err) < 0)
		return -1;
	if (image_config != NULL && !json_is_object(image_config) && !json_is_null(image_config))
		return mctr_fail(err, 0, "image config: \"config\" is not an object");
	if (!id_valid(o->container_id))
		return mctr_fail(err, 0, "invalid container ID \"%s\"", o->container_id ? o->container_id : "");
	if (o->bundle == NULL || o->bundle[0] != '/')
		return mctr_fail(err, 0, "bundle \"%s\" is not an absolute path", o->bundle ? o->bundle : "");
	return 0;
}

int spec_build(const json_t *image_config, const struct spec_options *o, json_t **out, struct mctr_err *err)
{
	if (options_check(image_config, o, err) < 0)
		return -1;
	if (json_is_null(image_config))
		image_config = NULL;
	_cleanup_free_ char *hostname = NULL, *rootfs = NULL;
	_cleanup_json_ json_t *spec = json_object(), *annotations = json_object();
	json_t *process = NULL, *mounts = NULL, *lx = NULL;
	const char *rootfs_propagation = NULL;
	if (hostname_build(o, &hostname, err) < 0 ||
	    process_build(image_config, o, hostname, annotations, &process, err) < 0)
		return -1;
	json_object_set_new(spec, "ociVersion", json_string(SPEC_OCI_VERSION));
	json_object_set_new(spec, "process", process);
	rootfs = path_join(o->bundle, "rootfs");
	json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", rootfs, "readonly", o->read_only));
	json_object_set_new(spec, "hostname", json_string(hostname));
	if (spec_mounts_build(o, &mounts, &rootfs_propagation, err) < 0)
		return -1;
	json_object_set_new(spec, "mounts", mounts);
	if (overlay_annotations(o, annotations, err) < 0)
		return -1;
	if (o->init)
		json_object_set_new(annotations, RT_ANN_INIT, json_string("true"));
	if (o->volatile_upper && o->lowerdirs != NULL && o->lowerdirs[0] != NULL)
		json_object_set_new(annotations, RT_ANN_OVERLAY_VOLATILE, json_string("true"));
	if (linux_build(o, rootfs_propagation, &lx, err) < 0)
		return -1;
	json_object_set_new(spec, "linux", lx);
	json_object_set(spec, "annotations", annotations);
	*out = steal_pointer(&spec);
	return 0;
}
